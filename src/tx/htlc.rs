//! HTLCs in commitment transactions and their second-stage HTLC-timeout / HTLC-success
//! transactions (BOLT 3 "Offered HTLC Outputs", "Received HTLC Outputs", "HTLC-Timeout and
//! HTLC-Success Transactions").

use core::fmt;

use bitcoin::absolute::LockTime;
use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness};

use super::script::{offered_htlc_script, received_htlc_script, to_local_script};
use super::signature::{push_signature, sign_p2wsh, verify_p2wsh};
use super::weight::{HTLC_SUCCESS_WEIGHT, HTLC_TIMEOUT_WEIGHT};
use super::TxError;
use crate::keys::CommitmentKeys;
use crate::units::{FeeratePerKw, Msat};

/// A `payment_hash`: the SHA256 of the payment preimage (BOLT 2 `update_add_htlc`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PaymentHash(pub [u8; 32]);

/// A `payment_preimage` (BOLT 2 `update_fulfill_htlc`). `Debug` does not print it: until
/// the payment settles it is as good as money.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PaymentPreimage(pub [u8; 32]);

impl PaymentPreimage {
    /// The payment hash this preimage unlocks: `SHA256(payment_preimage)` (BOLT 2
    /// `update_add_htlc`; BOLT 3 HTLC scripts).
    pub fn payment_hash(&self) -> PaymentHash {
        PaymentHash(sha256::Hash::hash(&self.0).to_byte_array())
    }
}

impl fmt::Debug for PaymentPreimage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaymentPreimage(..)")
    }
}

/// Which way an HTLC goes, seen from the owner of the commitment transaction it is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HtlcDirection {
    /// Offered by the owner (BOLT 3 "Offered HTLC Outputs"); timed out through an
    /// HTLC-timeout transaction.
    Offered,
    /// Received by the owner (BOLT 3 "Received HTLC Outputs"); claimed through an
    /// HTLC-success transaction.
    Received,
}

impl HtlcDirection {
    /// The same HTLC seen from the other side's commitment.
    #[must_use]
    pub fn flipped(self) -> HtlcDirection {
        match self {
            HtlcDirection::Offered => HtlcDirection::Received,
            HtlcDirection::Received => HtlcDirection::Offered,
        }
    }
}

/// One committed HTLC, as it enters a commitment transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Htlc {
    /// Offered or received, from the commitment owner's side.
    pub direction: HtlcDirection,
    /// `amount_msat`; the output is this rounded down to satoshis.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// `cltv_expiry`, an absolute block height.
    pub cltv_expiry: u32,
}

impl Htlc {
    /// The second-stage transaction fee at `feerate`: `feerate_per_kw * 663 / 1000` for an
    /// offered HTLC (HTLC-timeout), `* 703 / 1000` for a received one (HTLC-success), rounded
    /// down (BOLT 3 "Fee Calculation").
    pub fn htlc_tx_fee(&self, feerate: FeeratePerKw) -> Amount {
        feerate.fee_for_weight(match self.direction {
            HtlcDirection::Offered => HTLC_TIMEOUT_WEIGHT,
            HtlcDirection::Received => HTLC_SUCCESS_WEIGHT,
        })
    }

    /// Whether the HTLC is trimmed from a commitment built with `dust_limit` (the owner's
    /// `dust_limit_satoshis`) at `feerate`: its amount minus its HTLC transaction fee is below
    /// the dust limit (BOLT 3 "Trimmed Outputs").
    pub fn is_trimmed(&self, feerate: FeeratePerKw, dust_limit: Amount) -> bool {
        let amount = self.amount.to_amount_floor();
        // A peer-chosen dust limit near `u64::MAX` must not overflow (and panic): such a
        // threshold trims everything.
        dust_limit
            .checked_add(self.htlc_tx_fee(feerate))
            .is_none_or(|threshold| amount < threshold)
    }

    /// The witness script of this HTLC's output in the commitment with `keys`
    /// ([`offered_htlc_script`] or [`received_htlc_script`]; BOLT 3 "Offered HTLC Outputs",
    /// "Received HTLC Outputs").
    pub fn witness_script(&self, keys: &CommitmentKeys) -> ScriptBuf {
        match self.direction {
            HtlcDirection::Offered => offered_htlc_script(keys, &self.payment_hash),
            HtlcDirection::Received => {
                received_htlc_script(keys, &self.payment_hash, self.cltv_expiry)
            }
        }
    }
}

/// Which second-stage transaction spends an HTLC output of the owner's commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HtlcTxKind {
    /// Spends an offered HTLC after `cltv_expiry` (locktime `cltv_expiry`).
    Timeout,
    /// Spends a received HTLC with the payment preimage (locktime 0).
    Success,
}

/// An unsigned HTLC-timeout or HTLC-success transaction and what it takes to sign and
/// complete it (BOLT 3 "HTLC-Timeout and HTLC-Success Transactions").
///
/// Both sides sign it with `SIGHASH_ALL`: the counterparty sends its signature in
/// `commitment_signed` (`htlc_signature`), the owner adds its own and, for a success, the
/// preimage, then broadcasts. Its output pays the owner after `to_self_delay`, or the
/// counterparty with the revocation key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtlcTx {
    /// Timeout or success.
    pub kind: HtlcTxKind,
    /// The HTLC it resolves.
    pub htlc: Htlc,
    /// The unsigned transaction (empty witness).
    pub tx: Transaction,
    /// Witness script of the commitment output it spends.
    pub witness_script: ScriptBuf,
    /// Value of the commitment output it spends (what the signatures commit to).
    pub input_amount: Amount,
    /// Witness script of its own output ([`to_local_script`]), for sweeping or punishing it.
    pub output_script: ScriptBuf,
}

/// Builds the HTLC-timeout (offered HTLC) or HTLC-success (received HTLC) transaction that
/// spends output `vout` of the commitment `commitment_txid` owned by the side whose keys are
/// `keys` (BOLT 3 "HTLC-Timeout and HTLC-Success Transactions"): version 2, one input with
/// sequence 0, locktime `cltv_expiry` (timeout) or 0 (success), one P2WSH [`to_local_script`]
/// output of the HTLC amount minus the fee at `feerate`.
///
/// `to_self_delay` is the delay the counterparty imposed on the owner. Fails if the HTLC is
/// worth less than the fee (such an HTLC is trimmed and has no output to spend).
pub fn build_htlc_tx(
    commitment_txid: Txid,
    vout: u32,
    htlc: &Htlc,
    keys: &CommitmentKeys,
    to_self_delay: u16,
    feerate: FeeratePerKw,
) -> Result<HtlcTx, TxError> {
    let input_amount = htlc.amount.to_amount_floor();
    let fee = htlc.htlc_tx_fee(feerate);
    let value = input_amount.checked_sub(fee).ok_or(TxError::HtlcBelowFee {
        amount: input_amount,
        fee,
    })?;
    let (kind, lock_time) = match htlc.direction {
        HtlcDirection::Offered => (
            HtlcTxKind::Timeout,
            LockTime::from_consensus(htlc.cltv_expiry),
        ),
        HtlcDirection::Received => (HtlcTxKind::Success, LockTime::ZERO),
    };
    let output_script = to_local_script(
        &keys.revocation_pubkey,
        to_self_delay,
        &keys.local_delayedpubkey,
    );
    let tx = Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn {
            previous_output: OutPoint::new(commitment_txid, vout),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ZERO,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value,
            script_pubkey: output_script.to_p2wsh(),
        }],
    };
    Ok(HtlcTx {
        kind,
        htlc: *htlc,
        tx,
        witness_script: htlc.witness_script(keys),
        input_amount,
        output_script,
    })
}

impl HtlcTx {
    /// Signs the transaction with an HTLC key (`SIGHASH_ALL`, RFC 6979, low-S; BOLT 3
    /// "HTLC-Timeout and HTLC-Success Transactions"): the owner's
    /// `local_htlcpubkey` key or, producing `htlc_signature`, the counterparty's
    /// `remote_htlcpubkey` key.
    pub fn sign<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        key: &SecretKey,
    ) -> Result<Signature, TxError> {
        sign_p2wsh(
            secp,
            &self.tx,
            0,
            &self.witness_script,
            self.input_amount,
            key,
        )
    }

    /// Checks a signature by `pubkey` over this transaction (e.g. a received `htlc_signature`
    /// against `remote_htlcpubkey`; BOLT 2 `commitment_signed`, low-S).
    pub fn verify<C: Verification>(
        &self,
        secp: &Secp256k1<C>,
        signature: &Signature,
        pubkey: &PublicKey,
    ) -> Result<(), TxError> {
        verify_p2wsh(
            secp,
            &self.tx,
            0,
            &self.witness_script,
            self.input_amount,
            signature,
            pubkey,
        )
    }

    /// The broadcastable transaction (BOLT 3 "HTLC-Timeout and HTLC-Success Transactions"):
    /// witness `0 <remotehtlcsig> <localhtlcsig> <>` for a
    /// timeout, `0 <remotehtlcsig> <localhtlcsig> <payment_preimage>` for a success.
    ///
    /// `preimage` is required for (and checked against) a success and ignored for a timeout.
    /// The signatures are not checked here; use [`HtlcTx::verify`] on received ones.
    pub fn into_signed(
        self,
        remote_sig: &Signature,
        local_sig: &Signature,
        preimage: Option<&PaymentPreimage>,
    ) -> Result<Transaction, TxError> {
        let last: &[u8] = match self.kind {
            HtlcTxKind::Timeout => &[],
            HtlcTxKind::Success => {
                let preimage = preimage.ok_or(TxError::WrongPreimage)?;
                if preimage.payment_hash() != self.htlc.payment_hash {
                    return Err(TxError::WrongPreimage);
                }
                &preimage.0
            }
        };
        let mut witness = Witness::new();
        witness.push([]);
        push_signature(&mut witness, remote_sig);
        push_signature(&mut witness, local_sig);
        witness.push(last);
        witness.push(self.witness_script.as_bytes());
        let mut tx = self.tx;
        tx.input.first_mut().ok_or(TxError::NoSuchInput(0))?.witness = witness;
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn htlc(direction: HtlcDirection, msat: u64) -> Htlc {
        Htlc {
            direction,
            amount: Msat(msat),
            payment_hash: PaymentPreimage([1; 32]).payment_hash(),
            cltv_expiry: 500,
        }
    }

    #[test]
    fn trimming_threshold_follows_the_fee_calculation_example() {
        // BOLT 3 "Fee Calculation" example: 5000 sat/kw, dust limit 546; HTLC-timeout fee
        // 3315, HTLC-success fee 3515.
        let feerate = FeeratePerKw(5000);
        let dust = Amount::from_sat(546);
        let offered = htlc(HtlcDirection::Offered, 5_000_000);
        assert_eq!(offered.htlc_tx_fee(feerate), Amount::from_sat(3315));
        assert!(!offered.is_trimmed(feerate, dust));
        assert!(htlc(HtlcDirection::Offered, 1_000_000).is_trimmed(feerate, dust));
        let received = htlc(HtlcDirection::Received, 7_000_000);
        assert_eq!(received.htlc_tx_fee(feerate), Amount::from_sat(3515));
        assert!(!received.is_trimmed(feerate, dust));
        assert!(htlc(HtlcDirection::Received, 800_000).is_trimmed(feerate, dust));
        // Exactly at the threshold is kept; one satoshi below (msat are dropped) is trimmed.
        assert!(!htlc(HtlcDirection::Received, 4_061_000).is_trimmed(feerate, dust));
        assert!(htlc(HtlcDirection::Received, 4_060_999).is_trimmed(feerate, dust));
    }

    #[test]
    fn absurd_dust_limits_trim_instead_of_overflowing() {
        let h = htlc(HtlcDirection::Offered, u64::MAX);
        assert!(h.is_trimmed(FeeratePerKw(u32::MAX), Amount::from_sat(u64::MAX)));
    }

    #[test]
    fn htlc_below_its_fee_has_no_htlc_tx_and_preimages_are_redacted() {
        let secp = bitcoin::secp256k1::Secp256k1::new();
        let key = |b: u8| SecretKey::from_slice(&[b; 32]).unwrap().public_key(&secp);
        let keys = CommitmentKeys {
            per_commitment_point: crate::keys::PerCommitmentPoint(key(1)),
            revocation_pubkey: key(2),
            local_htlcpubkey: key(3),
            remote_htlcpubkey: key(4),
            local_delayedpubkey: key(5),
            remotepubkey: key(6),
        };
        let small = htlc(HtlcDirection::Offered, 1_000_000);
        assert_eq!(
            build_htlc_tx(Txid::all_zeros(), 0, &small, &keys, 144, FeeratePerKw(5000)),
            Err(TxError::HtlcBelowFee {
                amount: Amount::from_sat(1000),
                fee: Amount::from_sat(3315)
            })
        );
        assert_eq!(
            format!("{:?}", PaymentPreimage([9; 32])),
            "PaymentPreimage(..)"
        );
    }
}
