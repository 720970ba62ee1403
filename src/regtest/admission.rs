//! Mempool admission: the checks Bitcoin Core runs in `MemPoolAccept` (`PreChecks`,
//! `ReplacementChecks`, cluster limits, `PolicyScriptChecks`), in Core's order, so that the
//! first failing rule — and so the reject reason — is the one Core would report.
//!
//! Pure: the chain tip, the UTXO set, the mempool and the current time come in as arguments;
//! the result is an entry to insert plus the transactions it replaces, or a [`TxReject`].

use std::sync::Arc;

use bitcoin::{OutPoint, Transaction, TxOut, Txid};

use super::chain::ChainIndex;
use super::mempool::{Mempool, MempoolEntry};
use super::policy::{self, FeeRate};
use super::reject::{RejectClass, TxReject};
use super::replacement;
use super::truc;
use super::utxo::{Coin, UtxoSet};
use super::validation::{self, ScriptRules};

/// Most transactions in one mempool cluster (`DEFAULT_CLUSTER_LIMIT`).
const CLUSTER_LIMIT: usize = 64;
/// Largest cluster virtual size (`DEFAULT_CLUSTER_SIZE_LIMIT_KVB` × 1000).
const CLUSTER_SIZE_LIMIT: u64 = 101_000;

/// The mempool's policy settings (Core's `MemPoolOptions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MempoolOptions {
    /// `-minrelaytxfee`: below it a transaction is refused (`min relay fee not met`).
    pub min_relay: FeeRate,
    /// `-incrementalrelayfee`: what a replacement must add per vbyte (RBF rule 4).
    pub incremental_relay: FeeRate,
}

impl Default for MempoolOptions {
    fn default() -> MempoolOptions {
        MempoolOptions {
            min_relay: FeeRate::DEFAULT_MIN_RELAY,
            incremental_relay: FeeRate::DEFAULT_INCREMENTAL_RELAY,
        }
    }
}

/// What the chain looks like to a transaction aiming at the next block.
#[derive(Clone, Copy)]
pub(crate) struct ChainView<'a> {
    /// Block tree and active chain (tip height and median time pasts).
    pub index: &'a ChainIndex,
    /// Unspent outputs of the active chain.
    pub utxo: &'a UtxoSet,
}

impl ChainView<'_> {
    /// Height of the active tip.
    fn tip_height(&self) -> u32 {
        u32::try_from(self.index.height()).unwrap_or(0)
    }

    /// Median time past of the active block at `height`.
    fn mtp_at(&self, height: u32) -> i64 {
        self.index
            .at(height)
            .map_or(0, |e| i64::from(e.median_time_past))
    }
}

/// How to run admission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AdmissionMode {
    /// Skip fee-rate minimums (transactions returning from disconnected blocks).
    pub bypass_limits: bool,
}

/// A transaction that passed every check.
#[derive(Clone, Debug)]
pub(crate) struct Admission {
    /// The entry to insert.
    pub entry: MempoolEntry,
    /// Mempool transactions it replaces (to remove first), in dependency order.
    pub replaced: Vec<Txid>,
}

/// Runs every mempool check on `tx`. Nothing is modified.
pub(crate) fn admit(
    tx: Arc<Transaction>,
    chain: ChainView<'_>,
    mempool: &Mempool,
    options: &MempoolOptions,
    now: u64,
    mode: AdmissionMode,
) -> Result<Admission, TxReject> {
    let txid = tx.compute_txid();
    let wtxid = tx.compute_wtxid();
    let next_height = chain.tip_height() + 1;
    let tip_mtp = chain.mtp_at(chain.tip_height());

    validation::check_transaction(&tx)?;
    if tx.is_coinbase() {
        return Err(TxReject::new(RejectClass::Consensus, "coinbase"));
    }
    policy::check_standard_tx(&tx)?;
    policy::check_min_size(&tx)?;
    if !validation::is_final_tx(&tx, i64::from(next_height), tip_mtp) {
        return Err(TxReject::new(RejectClass::PrematureSpend, "non-final"));
    }
    if mempool.contains_wtxid(&wtxid) {
        return Err(TxReject::new(
            RejectClass::Conflict,
            "txn-already-in-mempool",
        ));
    }
    if mempool.get(&txid).is_some() {
        return Err(TxReject::new(
            RejectClass::Conflict,
            "txn-same-nonwitness-data-in-mempool",
        ));
    }
    let mut conflicts: Vec<Txid> = Vec::new();
    for input in &tx.input {
        if let Some(spender) = mempool.spender(&input.previous_output) {
            if !conflicts.contains(&spender) {
                conflicts.push(spender);
            }
        }
    }

    // Gather the coins: confirmed ones from the UTXO set, unconfirmed ones from mempool
    // parents (counted at the next block's height, as Core's MEMPOOL_HEIGHT is).
    let mut coins: Vec<Coin> = Vec::with_capacity(tx.input.len());
    for input in &tx.input {
        if let Some(coin) = lookup_coin(&input.previous_output, chain, mempool, next_height) {
            coins.push(coin);
        } else {
            let known = (0..tx.output.len()).any(|vout| {
                u32::try_from(vout)
                    .is_ok_and(|vout| chain.utxo.get(&OutPoint { txid, vout }).is_some())
            });
            if known {
                return Err(TxReject::new(RejectClass::Conflict, "txn-already-known"));
            }
            return Err(TxReject::new(
                RejectClass::MissingInputs,
                "bad-txns-inputs-missingorspent",
            ));
        }
    }

    let prev_heights: Vec<u32> = coins.iter().map(|c| c.height).collect();
    let locks = validation::sequence_locks(&tx, &prev_heights, |h| chain.mtp_at(h));
    if !validation::sequence_locks_met(locks, next_height, tip_mtp) {
        return Err(TxReject::new(
            RejectClass::PrematureSpend,
            "non-BIP68-final",
        ));
    }
    let fee = validation::check_tx_inputs(&tx, &coins, next_height)?;
    policy::check_inputs_standard(&tx, &coins)?;
    if !policy::is_witness_standard(&tx, &coins) {
        return Err(TxReject::new(
            RejectClass::WitnessMutated,
            "bad-witness-nonstandard",
        ));
    }
    let spent: Vec<TxOut> = coins.iter().map(|c| c.output.clone()).collect();
    let sigop_cost = validation::sigop_cost(&tx, &spent);
    let weight = tx.weight().to_wu();
    let vsize = policy::virtual_size(weight, sigop_cost);
    policy::check_ephemeral_dust(&tx, fee)?;
    policy::check_sigops(sigop_cost)?;
    if !mode.bypass_limits {
        policy::check_min_relay_fee(fee, vsize, options.min_relay)?;
    }

    let mut sibling_eviction = false;
    if !mode.bypass_limits {
        if let Some(sibling) = truc::check_truc(&tx, vsize, mempool, &conflicts)? {
            conflicts.push(sibling);
            sibling_eviction = true;
        }
    }

    let replaced = if conflicts.is_empty() {
        Vec::new()
    } else {
        replacement::check_replacement(
            &tx,
            fee,
            vsize,
            &conflicts,
            mempool,
            options.incremental_relay,
        )
        .map_err(|mut reject| {
            // Core words a failed sibling eviction after the replacement rule that failed.
            if sibling_eviction && reject.reason != "replacement-failed" {
                reject.reason.push_str(" (including sibling eviction)");
            }
            reject
        })?
    };
    check_cluster_limits(&tx, vsize, mempool, &replaced)?;
    if !conflicts.is_empty() {
        check_spends_conflicting(&tx, txid, mempool, &conflicts)?;
    }
    check_ephemeral_spends(&tx, mempool)?;
    validation::verify_scripts(&tx, &spent, ScriptRules::Standard)?;

    let entry = MempoolEntry {
        txid,
        wtxid,
        fee,
        vsize,
        weight,
        sigop_cost,
        time: now,
        height: chain.tip_height(),
        sequence: 0,
        spends_coinbase: coins.iter().any(|c| c.is_coinbase),
        parents: std::collections::BTreeSet::new(),
        children: std::collections::BTreeSet::new(),
        tx,
    };
    Ok(Admission { entry, replaced })
}

/// The coin at `outpoint`: a mempool output (not spent by another mempool transaction is not
/// required: replacements may re-spend it) or a confirmed unspent output.
fn lookup_coin(
    outpoint: &OutPoint,
    chain: ChainView<'_>,
    mempool: &Mempool,
    next_height: u32,
) -> Option<Coin> {
    if let Some(output) = mempool.output(outpoint) {
        return Some(Coin {
            output: output.clone(),
            height: next_height,
            is_coinbase: false,
        });
    }
    chain.utxo.get(outpoint).cloned()
}

/// Cluster limits (`too-large-cluster`): the new transaction joins the clusters of its
/// mempool parents, minus whatever it replaces.
fn check_cluster_limits(
    tx: &Transaction,
    vsize: u64,
    mempool: &Mempool,
    replaced: &[Txid],
) -> Result<(), TxReject> {
    let mut members: Vec<Txid> = Vec::new();
    for input in &tx.input {
        let parent = input.previous_output.txid;
        if mempool.get(&parent).is_none() || members.contains(&parent) {
            continue;
        }
        for t in mempool.cluster(&parent) {
            if !members.contains(&t) && !replaced.contains(&t) {
                members.push(t);
            }
        }
    }
    let (count, size, _) = mempool.totals(&members);
    if count + 1 > CLUSTER_LIMIT || size + vsize > CLUSTER_SIZE_LIMIT {
        return Err(TxReject::new(
            RejectClass::MempoolPolicy,
            "too-large-cluster",
        ));
    }
    Ok(())
}

/// A transaction may not spend an output of a transaction it replaces
/// (`bad-txns-spends-conflicting-tx`).
fn check_spends_conflicting(
    tx: &Transaction,
    txid: Txid,
    mempool: &Mempool,
    conflicts: &[Txid],
) -> Result<(), TxReject> {
    for input in &tx.input {
        let parent = input.previous_output.txid;
        if mempool.get(&parent).is_none() {
            continue;
        }
        for ancestor in mempool.ancestors(&parent) {
            if conflicts.contains(&ancestor) {
                return Err(TxReject::with_details(
                    RejectClass::Consensus,
                    "bad-txns-spends-conflicting-tx",
                    format!("{txid} spends conflicting transaction {ancestor}"),
                ));
            }
        }
    }
    Ok(())
}

/// Core's `CheckEphemeralSpends`: a child of a mempool transaction with a dust output must
/// spend that dust.
fn check_ephemeral_spends(tx: &Transaction, mempool: &Mempool) -> Result<(), TxReject> {
    let mut parents: Vec<Txid> = Vec::new();
    for input in &tx.input {
        if !parents.contains(&input.previous_output.txid) {
            parents.push(input.previous_output.txid);
        }
    }
    for parent in parents {
        let Some(entry) = mempool.get(&parent) else {
            continue;
        };
        for (vout, output) in entry.tx.output.iter().enumerate() {
            let Ok(vout) = u32::try_from(vout) else {
                continue;
            };
            let outpoint = OutPoint { txid: parent, vout };
            if policy::is_dust(output, FeeRate::DUST_RELAY)
                && !tx.input.iter().any(|i| i.previous_output == outpoint)
            {
                let txid = tx.compute_txid();
                let wtxid = tx.compute_wtxid();
                return Err(TxReject::with_details(
                    RejectClass::MempoolPolicy,
                    "missing-ephemeral-spends",
                    format!("tx {txid} (wtxid={wtxid}) did not spend parent's ephemeral dust"),
                ));
            }
        }
    }
    Ok(())
}
