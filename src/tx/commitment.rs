//! Commitment transactions for `option_static_remotekey` channels without anchors (BOLT 3
//! "Commitment Transaction", "Commitment Transaction Outputs", "Trimmed Outputs", "Fees",
//! "Commitment Transaction Construction").

use bitcoin::transaction::Version;
use bitcoin::{Amount, ScriptBuf, Transaction, TxIn, TxOut, Txid, Witness};

use super::htlc::{build_htlc_tx, Htlc, HtlcDirection, HtlcTx};
use super::script::{to_local_script, to_remote_script_pubkey};
use super::weight::commitment_weight;
use super::{FundingOutput, TxError};
use crate::keys::{CommitmentKeys, CommitmentNumber, ObscuringFactor};
use crate::units::{FeeratePerKw, Msat};

/// One side of a commitment transaction: `Local` is its owner (the side that can broadcast
/// it, "local" in BOLT 3's scripts), `Remote` the counterparty.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The commitment's owner.
    Local,
    /// The owner's counterparty.
    Remote,
}

/// Everything that determines one commitment transaction, seen from its owner.
///
/// Calling contract (the channel state machine builds both sides' commitments with it):
///
/// | field              | our commitment                  | their commitment                 |
/// |--------------------|---------------------------------|----------------------------------|
/// | `keys`             | derived from our point, `CommitmentKeys::derive(point, ours, theirs)` | from their point, `derive(point, theirs, ours)` |
/// | `to_self_delay`    | the delay *they* asked of us    | the delay *we* asked of them     |
/// | `dust_limit`       | our `dust_limit_satoshis`       | theirs                           |
/// | `funder`           | `Local` if we opened the channel| `Remote` if we opened it         |
/// | `to_local`         | our balance                     | their balance                    |
/// | `htlcs[].direction`| `Offered` for HTLCs we offered  | `Offered` for HTLCs they offered |
///
/// `funding`, `obscuring_factor`, `commitment_number` and `feerate` are the same for both
/// sides at the same state. Balances exclude HTLC amounts and the fee: `to_local + to_remote +
/// sum(htlcs)` must equal the funding amount.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentSpec {
    /// The funding output the commitment spends.
    pub funding: FundingOutput,
    /// The channel's commitment number obscuring factor.
    pub obscuring_factor: ObscuringFactor,
    /// This commitment's number.
    pub commitment_number: CommitmentNumber,
    /// The owner's per-commitment keys.
    pub keys: CommitmentKeys,
    /// The `to_self_delay` the counterparty imposed on the owner (in blocks).
    pub to_self_delay: u16,
    /// The owner's `dust_limit_satoshis`.
    pub dust_limit: Amount,
    /// `feerate_per_kw`.
    pub feerate: FeeratePerKw,
    /// Which side opened the channel, and so pays the commitment fee.
    pub funder: Side,
    /// The owner's balance, before the fee.
    pub to_local: Msat,
    /// The counterparty's balance, before the fee.
    pub to_remote: Msat,
    /// Every committed HTLC, trimmed or not, in any order.
    pub htlcs: Vec<Htlc>,
}

/// An untrimmed HTLC's output in a commitment transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HtlcOutput {
    /// The HTLC.
    pub htlc: Htlc,
    /// Its position in [`CommitmentSpec::htlcs`].
    pub index: usize,
    /// Its output index in the commitment transaction.
    pub vout: u32,
    /// The output's witness script.
    pub witness_script: ScriptBuf,
}

/// A built, unsigned commitment transaction and the map of its outputs.
///
/// Sign it with [`FundingOutput::sign`] and complete it with [`FundingOutput::into_signed`].
/// Its HTLC transactions, in the order of `htlc_signature`s (BOLT 2 `commitment_signed`), come
/// from [`CommitmentTx::htlc_txs`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentTx {
    /// The transaction, with an empty witness.
    pub tx: Transaction,
    /// Output index of `to_local`, if not trimmed.
    pub to_local_vout: Option<u32>,
    /// Output index of `to_remote`, if not trimmed.
    pub to_remote_vout: Option<u32>,
    /// Untrimmed HTLC outputs, in output order.
    pub htlc_outputs: Vec<HtlcOutput>,
    /// Positions in [`CommitmentSpec::htlcs`] of the HTLCs trimmed as dust.
    pub trimmed: Vec<usize>,
    /// The base fee the funder paid (BOLT 3 "Fee Calculation").
    pub base_fee: Amount,
    /// The actual fee: the funding amount minus all outputs (base fee plus trimmed amounts
    /// and rounding).
    pub fee: Amount,
    /// The witness script of `to_local` (the [`to_local_script`] for these keys).
    pub to_local_script: ScriptBuf,
    keys: CommitmentKeys,
    to_self_delay: u16,
    feerate: FeeratePerKw,
}

/// What an output of the commitment is, while sorting.
enum OutputKind {
    ToLocal,
    ToRemote,
    Htlc(usize),
}

/// Builds the owner's commitment transaction (BOLT 3 "Commitment Transaction Construction"):
///
/// 1. version 2, the funding input, locktime and sequence carrying the obscured commitment
///    number;
/// 2. trims HTLCs whose amount minus their HTLC transaction fee is below `dust_limit`;
/// 3. computes the base fee `feerate * (724 + 172 * untrimmed) / 1000` and takes it from the
///    funder's balance (down to zero, not below: the "fee greater than funder amount" case);
/// 4. adds offered and received HTLC outputs, then `to_local` and `to_remote` if each is at
///    least `dust_limit`;
/// 5. sorts outputs by value, then `scriptPubKey`, then `cltv_expiry` (BOLT 3 "Transaction
///    Output Ordering").
///
/// Fails if the balances and HTLCs do not add up to the funding amount.
pub fn build_commitment(spec: &CommitmentSpec) -> Result<CommitmentTx, TxError> {
    check_balances(spec)?;

    let (trimmed, untrimmed): (Vec<usize>, Vec<usize>) = (0..spec.htlcs.len())
        .partition(|i| spec.htlcs[*i].is_trimmed(spec.feerate, spec.dust_limit));
    let base_fee = spec
        .feerate
        .fee_for_weight(commitment_weight(untrimmed.len()));

    let mut to_local = spec.to_local.to_amount_floor();
    let mut to_remote = spec.to_remote.to_amount_floor();
    let funder = match spec.funder {
        Side::Local => &mut to_local,
        Side::Remote => &mut to_remote,
    };
    *funder = funder.checked_sub(base_fee).unwrap_or(Amount::ZERO);

    let keys = &spec.keys;
    let to_local_script = to_local_script(
        &keys.revocation_pubkey,
        spec.to_self_delay,
        &keys.local_delayedpubkey,
    );

    // (output, cltv tie-break, kind); offered HTLCs first, then received, then the balances,
    // in the spec's order of steps, though only the sort below decides the final order.
    let mut outputs: Vec<(TxOut, u32, OutputKind)> = Vec::new();
    for direction in [HtlcDirection::Offered, HtlcDirection::Received] {
        for &i in &untrimmed {
            let htlc = &spec.htlcs[i];
            if htlc.direction == direction {
                let out = TxOut {
                    value: htlc.amount.to_amount_floor(),
                    script_pubkey: htlc.witness_script(keys).to_p2wsh(),
                };
                outputs.push((out, htlc.cltv_expiry, OutputKind::Htlc(i)));
            }
        }
    }
    if to_local >= spec.dust_limit {
        let out = TxOut {
            value: to_local,
            script_pubkey: to_local_script.to_p2wsh(),
        };
        outputs.push((out, 0, OutputKind::ToLocal));
    }
    if to_remote >= spec.dust_limit {
        let out = TxOut {
            value: to_remote,
            script_pubkey: to_remote_script_pubkey(&keys.remotepubkey),
        };
        outputs.push((out, 0, OutputKind::ToRemote));
    }
    // BIP 69 + CLTV: value, then scriptPubKey bytes (a shorter common prefix sorts first, as
    // slice ordering does), then cltv_expiry for HTLC outputs. The sort is stable, so equal
    // outputs (same HTLC amount, hash and expiry) keep their relative order.
    outputs.sort_by(|(a, a_cltv, _), (b, b_cltv, _)| {
        a.value
            .cmp(&b.value)
            .then_with(|| a.script_pubkey.as_bytes().cmp(b.script_pubkey.as_bytes()))
            .then_with(|| a_cltv.cmp(b_cltv))
    });

    let mut to_local_vout = None;
    let mut to_remote_vout = None;
    let mut htlc_outputs = Vec::with_capacity(untrimmed.len());
    let mut tx_outputs = Vec::with_capacity(outputs.len());
    for (vout, (out, _, kind)) in (0u32..).zip(outputs) {
        match kind {
            OutputKind::ToLocal => to_local_vout = Some(vout),
            OutputKind::ToRemote => to_remote_vout = Some(vout),
            OutputKind::Htlc(index) => {
                let htlc = spec.htlcs[index];
                htlc_outputs.push(HtlcOutput {
                    htlc,
                    index,
                    vout,
                    witness_script: htlc.witness_script(keys),
                });
            }
        }
        tx_outputs.push(out);
    }
    let paid: u64 = tx_outputs.iter().map(|o| o.value.to_sat()).sum();
    let fee = Amount::from_sat(spec.funding.amount.to_sat().saturating_sub(paid));

    let (lock_time, sequence) = spec
        .obscuring_factor
        .lock_time_and_sequence(spec.commitment_number);
    let tx = Transaction {
        version: Version::TWO,
        lock_time,
        input: vec![TxIn {
            previous_output: spec.funding.outpoint,
            script_sig: ScriptBuf::new(),
            sequence,
            witness: Witness::new(),
        }],
        output: tx_outputs,
    };
    Ok(CommitmentTx {
        tx,
        to_local_vout,
        to_remote_vout,
        htlc_outputs,
        trimmed,
        base_fee,
        fee,
        to_local_script,
        keys: spec.keys.clone(),
        to_self_delay: spec.to_self_delay,
        feerate: spec.feerate,
    })
}

/// Checks `to_local + to_remote + sum(htlcs) == funding amount`, in millisatoshis.
fn check_balances(spec: &CommitmentSpec) -> Result<(), TxError> {
    let committed = spec
        .htlcs
        .iter()
        .try_fold(spec.to_local.checked_add(spec.to_remote), |sum, htlc| {
            Some(sum.and_then(|s| s.checked_add(htlc.amount)))
        })
        .flatten()
        .map_or(u64::MAX, |m| m.0);
    let funding = Msat::from_amount(spec.funding.amount).map_or(u64::MAX, |m| m.0);
    if committed != funding {
        return Err(TxError::BalanceMismatch {
            funding_msat: funding,
            committed_msat: committed,
        });
    }
    Ok(())
}

impl CommitmentTx {
    /// The commitment's txid (BOLT 3 "Commitment Transaction"; signatures do not change it:
    /// segwit).
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }

    /// The owner's keys this commitment was built with (BOLT 3 "Key Derivation").
    pub fn keys(&self) -> &CommitmentKeys {
        &self.keys
    }

    /// The owner's `to_self_delay` this commitment was built with (BOLT 3 "`to_local`
    /// Output").
    pub fn to_self_delay(&self) -> u16 {
        self.to_self_delay
    }

    /// The HTLC-timeout / HTLC-success transactions of every untrimmed HTLC, in output order:
    /// the order of `htlc_signature`s in `commitment_signed` (BOLT 2).
    pub fn htlc_txs(&self) -> Result<Vec<HtlcTx>, TxError> {
        let txid = self.txid();
        self.htlc_outputs
            .iter()
            .map(|out| {
                build_htlc_tx(
                    txid,
                    out.vout,
                    &out.htlc,
                    &self.keys,
                    self.to_self_delay,
                    self.feerate,
                )
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod appendix_c;
#[cfg(test)]
mod tests;
