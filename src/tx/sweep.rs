//! Sweeps: transactions that take channel funds home from a commitment or HTLC transaction
//! on chain (BOLT 5 "Unilateral Close Handling", "Revoked Transaction Close Handling"), with
//! the witnesses of BOLT 3 "Commitment Transaction Outputs" and "HTLC-Timeout and
//! HTLC-Success Transactions".
//!
//! A sweep spends any mix of [`SweepInput`]s to one destination script, paying
//! `feerate * expected_weight / 1000` where the weight is counted as BOLT 3 Appendix A does
//! ([`super::weight::expected_weight`], 73-byte signatures). Justice transactions are sweeps
//! of revoked outputs ([`super::revoked_outputs`]).

use bitcoin::absolute::LockTime;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::htlc::{Htlc, HtlcDirection, PaymentPreimage};
use super::script::to_local_script;
use super::signature::{push_signature, sign_p2wpkh, sign_p2wsh};
use super::weight::{expected_weight, MAX_SIGNATURE_LEN, PUBKEY_LEN};
use super::TxError;
use crate::keys::CommitmentKeys;
use crate::units::FeeratePerKw;

/// How a sweep input spends its output, and so which witness it gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// A [`to_local_script`] output of our own commitment or of our HTLC-timeout /
    /// HTLC-success transaction, after `to_self_delay`: nSequence `to_self_delay`, witness
    /// `<local_delayedsig> <>`. Signed with our delayed payment key.
    Delayed {
        /// The output's witness script.
        witness_script: ScriptBuf,
        /// The delay in the script.
        to_self_delay: u16,
    },
    /// A [`to_local_script`] output of a revoked commitment or of a revoked HTLC transaction:
    /// witness `<revocation_sig> 1`. Signed with the revocation private key.
    Revoked {
        /// The output's witness script.
        witness_script: ScriptBuf,
    },
    /// An HTLC output of a revoked commitment: witness `<revocation_sig> <revocationpubkey>`.
    /// Signed with the revocation private key.
    RevokedHtlc {
        /// The output's witness script.
        witness_script: ScriptBuf,
        /// `revocationpubkey` of that commitment.
        revocation_pubkey: PublicKey,
    },
    /// An HTLC the counterparty offered on its own commitment, claimed with the preimage:
    /// witness `<remotehtlcsig> <payment_preimage>`. Signed with our HTLC key for that
    /// commitment.
    HtlcPreimage {
        /// The output's witness script.
        witness_script: ScriptBuf,
        /// The payment preimage.
        preimage: PaymentPreimage,
    },
    /// An HTLC we offered, on the counterparty's commitment, after it timed out: transaction
    /// locktime at least `cltv_expiry`, witness `<remotehtlcsig> <>`. Signed with our HTLC key
    /// for that commitment.
    HtlcTimeout {
        /// The output's witness script.
        witness_script: ScriptBuf,
        /// The HTLC's `cltv_expiry`.
        cltv_expiry: u32,
    },
    /// Our `to_remote` P2WPKH output on the counterparty's commitment: witness
    /// `<sig> <remotepubkey>`. Signed with our payment basepoint secret.
    ToRemote {
        /// `remotepubkey`: our `payment_basepoint`.
        pubkey: PublicKey,
    },
}

/// One output to sweep: where it is, its value, and how to claim it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepInput {
    /// The output being spent.
    pub outpoint: OutPoint,
    /// Its value.
    pub amount: Amount,
    /// How it is claimed.
    pub claim: Claim,
}

impl SweepInput {
    /// Our `to_local` output (keys of our commitment), or the output of our HTLC transaction
    /// (same keys, since HTLC transactions pay to the same script), after `to_self_delay`
    /// (BOLT 5 "Unilateral Close Handling: Local Commitment Transaction").
    pub fn delayed(
        outpoint: OutPoint,
        amount: Amount,
        keys: &CommitmentKeys,
        to_self_delay: u16,
    ) -> SweepInput {
        let witness_script = to_local_script(
            &keys.revocation_pubkey,
            to_self_delay,
            &keys.local_delayedpubkey,
        );
        SweepInput {
            outpoint,
            amount,
            claim: Claim::Delayed {
                witness_script,
                to_self_delay,
            },
        }
    }

    /// The cheater's `to_local` output, or the output of its HTLC transaction, on a revoked
    /// commitment whose keys are `keys` (BOLT 5 "Revoked Transaction Close Handling").
    pub fn revoked_to_local(
        outpoint: OutPoint,
        amount: Amount,
        keys: &CommitmentKeys,
        to_self_delay: u16,
    ) -> SweepInput {
        let witness_script = to_local_script(
            &keys.revocation_pubkey,
            to_self_delay,
            &keys.local_delayedpubkey,
        );
        SweepInput {
            outpoint,
            amount,
            claim: Claim::Revoked { witness_script },
        }
    }

    /// An HTLC output of a revoked commitment whose keys are `keys`, either direction
    /// (BOLT 5 "Revoked Transaction Close Handling").
    pub fn revoked_htlc(
        outpoint: OutPoint,
        amount: Amount,
        keys: &CommitmentKeys,
        htlc: &Htlc,
    ) -> SweepInput {
        SweepInput {
            outpoint,
            amount,
            claim: Claim::RevokedHtlc {
                witness_script: htlc.witness_script(keys),
                revocation_pubkey: keys.revocation_pubkey,
            },
        }
    }

    /// An HTLC the counterparty offered (`htlc.direction` is `Offered`, seen from the
    /// counterparty, the owner of `keys`), claimed with its preimage (BOLT 5 "HTLC Output
    /// Handling: Remote Commitment, Remote Offers").
    pub fn htlc_preimage(
        outpoint: OutPoint,
        amount: Amount,
        keys: &CommitmentKeys,
        htlc: &Htlc,
        preimage: PaymentPreimage,
    ) -> Result<SweepInput, TxError> {
        if htlc.direction != HtlcDirection::Offered {
            return Err(TxError::WrongHtlcDirection);
        }
        if preimage.payment_hash() != htlc.payment_hash {
            return Err(TxError::WrongPreimage);
        }
        Ok(SweepInput {
            outpoint,
            amount,
            claim: Claim::HtlcPreimage {
                witness_script: htlc.witness_script(keys),
                preimage,
            },
        })
    }

    /// An HTLC we offered (`htlc.direction` is `Received`, seen from the counterparty, the
    /// owner of `keys`), claimed after `cltv_expiry` (BOLT 5 "HTLC Output Handling: Remote
    /// Commitment, Local Offers").
    pub fn htlc_timeout(
        outpoint: OutPoint,
        amount: Amount,
        keys: &CommitmentKeys,
        htlc: &Htlc,
    ) -> Result<SweepInput, TxError> {
        if htlc.direction != HtlcDirection::Received {
            return Err(TxError::WrongHtlcDirection);
        }
        Ok(SweepInput {
            outpoint,
            amount,
            claim: Claim::HtlcTimeout {
                witness_script: htlc.witness_script(keys),
                cltv_expiry: htlc.cltv_expiry,
            },
        })
    }

    /// Our `to_remote` output on the counterparty's commitment (P2WPKH to our
    /// `payment_basepoint`, BOLT 3 "`to_remote` Output").
    pub fn to_remote(
        outpoint: OutPoint,
        amount: Amount,
        payment_basepoint: PublicKey,
    ) -> SweepInput {
        SweepInput {
            outpoint,
            amount,
            claim: Claim::ToRemote {
                pubkey: payment_basepoint,
            },
        }
    }

    /// Lengths of the witness items, signatures at their 73-byte maximum (Appendix A).
    fn witness_item_lens(&self) -> Vec<usize> {
        let sig = MAX_SIGNATURE_LEN;
        match &self.claim {
            Claim::Delayed { witness_script, .. } | Claim::HtlcTimeout { witness_script, .. } => {
                vec![sig, 0, witness_script.len()]
            }
            Claim::Revoked { witness_script } => vec![sig, 1, witness_script.len()],
            Claim::RevokedHtlc { witness_script, .. } => {
                vec![sig, PUBKEY_LEN, witness_script.len()]
            }
            Claim::HtlcPreimage { witness_script, .. } => vec![sig, 32, witness_script.len()],
            Claim::ToRemote { .. } => vec![sig, PUBKEY_LEN],
        }
    }

    /// The input's nSequence: `to_self_delay` for a CSV-locked claim (BOLT 3: "spent by an
    /// input with `nSequence` field set to `to_self_delay`"), otherwise non-final and
    /// replaceable so that a timeout claim's locktime is enforced and fees can be bumped.
    fn sequence(&self) -> Sequence {
        match self.claim {
            Claim::Delayed { to_self_delay, .. } => Sequence::from_height(to_self_delay),
            _ => Sequence::ENABLE_RBF_NO_LOCKTIME,
        }
    }
}

/// A sweep transaction under construction: built unsigned by [`build_sweep`], then each
/// input is signed with [`Sweep::sign_input`] (or all with one key by [`Sweep::sign_all`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep {
    /// The transaction; an input's witness is empty until signed.
    pub tx: Transaction,
    /// The inputs, in transaction order.
    pub inputs: Vec<SweepInput>,
    /// The fee paid.
    pub fee: Amount,
    /// The weight the fee was computed for (an upper bound of the signed weight).
    pub expected_weight: u64,
}

/// Builds a transaction spending `inputs` to `destination` at `feerate` (BOLT 5), version 2,
/// with locktime the largest `cltv_expiry` among [`Claim::HtlcTimeout`] inputs (0 if none).
///
/// The fee is `feerate * expected_weight / 1000`, the weight counted as BOLT 3 Appendix A
/// does. Fails without inputs, or if the output would be below the destination's dust
/// threshold after the fee.
pub fn build_sweep(
    inputs: Vec<SweepInput>,
    destination: ScriptBuf,
    feerate: FeeratePerKw,
) -> Result<Sweep, TxError> {
    if inputs.is_empty() {
        return Err(TxError::SweepWithoutInputs);
    }
    let witnesses: Vec<Vec<usize>> = inputs.iter().map(SweepInput::witness_item_lens).collect();
    let witness_refs: Vec<&[usize]> = witnesses.iter().map(Vec::as_slice).collect();
    let weight = expected_weight(&witness_refs, &[destination.len()]);
    let fee = feerate.fee_for_weight(weight);
    let total = inputs
        .iter()
        .try_fold(Amount::ZERO, |sum, input| sum.checked_add(input.amount))
        .unwrap_or(Amount::MAX_MONEY);
    let dust = destination.minimal_non_dust();
    let value = total
        .checked_sub(fee)
        .filter(|value| *value >= dust)
        .ok_or(TxError::SweepBelowDust { total, fee, dust })?;
    let lock_time = inputs
        .iter()
        .filter_map(|input| match input.claim {
            Claim::HtlcTimeout { cltv_expiry, .. } => Some(cltv_expiry),
            _ => None,
        })
        .max()
        .map_or(LockTime::ZERO, LockTime::from_consensus);
    let tx = Transaction {
        version: Version::TWO,
        lock_time,
        input: inputs
            .iter()
            .map(|input| TxIn {
                previous_output: input.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: input.sequence(),
                witness: Witness::new(),
            })
            .collect(),
        output: vec![TxOut {
            value,
            script_pubkey: destination,
        }],
    };
    Ok(Sweep {
        tx,
        inputs,
        fee,
        expected_weight: weight,
    })
}

impl Sweep {
    /// Signs input `index` with `key` (`SIGHASH_ALL`) and sets its witness as its
    /// [`Claim`] requires (the witnesses of BOLT 3 "Commitment Transaction Outputs"). For [`Claim::ToRemote`], `key` must match the output's key.
    pub fn sign_input<C: Signing>(
        &mut self,
        secp: &Secp256k1<C>,
        index: usize,
        key: &SecretKey,
    ) -> Result<(), TxError> {
        let input = self.inputs.get(index).ok_or(TxError::NoSuchInput(index))?;
        let mut witness = Witness::new();
        let (script, last): (&ScriptBuf, Vec<u8>) = match &input.claim {
            Claim::ToRemote { pubkey } => {
                if PublicKey::from_secret_key(secp, key) != *pubkey {
                    return Err(TxError::KeyMismatch);
                }
                let sig = sign_p2wpkh(secp, &self.tx, index, input.amount, key)?;
                push_signature(&mut witness, &sig);
                witness.push(pubkey.serialize());
                self.set_witness(index, witness)?;
                return Ok(());
            }
            Claim::Delayed { witness_script, .. } | Claim::HtlcTimeout { witness_script, .. } => {
                (witness_script, Vec::new())
            }
            Claim::Revoked { witness_script } => (witness_script, vec![1]),
            Claim::RevokedHtlc {
                witness_script,
                revocation_pubkey,
            } => (witness_script, revocation_pubkey.serialize().to_vec()),
            Claim::HtlcPreimage {
                witness_script,
                preimage,
            } => (witness_script, preimage.0.to_vec()),
        };
        let sig = sign_p2wsh(secp, &self.tx, index, script, input.amount, key)?;
        push_signature(&mut witness, &sig);
        witness.push(last);
        witness.push(script.as_bytes());
        self.set_witness(index, witness)
    }

    /// Signs every input with the same `key`, as in a justice transaction where every
    /// input is claimed with the one revocation key (BOLT 5 "Revoked Transaction Close
    /// Handling").
    pub fn sign_all<C: Signing>(
        &mut self,
        secp: &Secp256k1<C>,
        key: &SecretKey,
    ) -> Result<(), TxError> {
        for index in 0..self.inputs.len() {
            self.sign_input(secp, index, key)?;
        }
        Ok(())
    }

    fn set_witness(&mut self, index: usize, witness: Witness) -> Result<(), TxError> {
        self.tx
            .input
            .get_mut(index)
            .ok_or(TxError::NoSuchInput(index))?
            .witness = witness;
        Ok(())
    }
}
