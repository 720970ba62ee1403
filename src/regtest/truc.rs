//! TRUC (topologically restricted until confirmation, BIP431) policy for version 3
//! transactions, Core's `SingleTRUCChecks`: a version 3 transaction and its unconfirmed
//! parents and children must all be version 3, it may have at most one unconfirmed parent
//! and one unconfirmed child, it must stay under 10,000 vbytes, and under 1,000 vbytes if it
//! has an unconfirmed parent. A second child of a TRUC parent may evict the first ("sibling
//! eviction") if it pays enough under the replacement rules.

use bitcoin::{Transaction, Txid};

use super::mempool::Mempool;
use super::reject::{RejectClass, TxReject};

/// The version TRUC applies to.
const TRUC_VERSION: i32 = 3;
/// Largest TRUC transaction (`TRUC_MAX_VSIZE`).
const TRUC_MAX_VSIZE: u64 = 10_000;
/// Largest TRUC transaction with an unconfirmed parent (`TRUC_CHILD_MAX_VSIZE`).
const TRUC_CHILD_MAX_VSIZE: u64 = 1_000;
/// Ancestor and descendant limits, the transaction included.
const TRUC_LIMIT: usize = 2;

/// Checks the TRUC rules. `Ok(Some(sibling))` means the transaction may pass only by
/// evicting `sibling` under the replacement rules.
pub(crate) fn check_truc(
    tx: &Transaction,
    vsize: u64,
    mempool: &Mempool,
    direct_conflicts: &[Txid],
) -> Result<Option<Txid>, TxReject> {
    let txid = tx.compute_txid();
    let wtxid = tx.compute_wtxid();
    let violation = |details: String| {
        Err(TxReject::with_details(
            RejectClass::MempoolPolicy,
            "TRUC-violation",
            details,
        ))
    };
    let mut parents: Vec<Txid> = Vec::new();
    for input in &tx.input {
        let parent = input.previous_output.txid;
        if mempool.get(&parent).is_some() && !parents.contains(&parent) {
            parents.push(parent);
        }
    }
    let is_truc = tx.version.0 == TRUC_VERSION;
    for parent in &parents {
        let Some(entry) = mempool.get(parent) else {
            continue;
        };
        let parent_truc = entry.tx.version.0 == TRUC_VERSION;
        if is_truc != parent_truc {
            let (child_kind, parent_kind) = if is_truc {
                ("version=3", "non-version=3")
            } else {
                ("non-version=3", "version=3")
            };
            return violation(format!(
                "{child_kind} tx {txid} (wtxid={wtxid}) cannot spend from {parent_kind} tx {} (wtxid={})",
                entry.txid, entry.wtxid
            ));
        }
    }
    if !is_truc {
        return Ok(None);
    }
    if vsize > TRUC_MAX_VSIZE {
        return violation(format!(
            "version=3 tx {txid} (wtxid={wtxid}) is too big: {vsize} > {TRUC_MAX_VSIZE} virtual bytes"
        ));
    }
    let too_many_ancestors = || format!("tx {txid} (wtxid={wtxid}) would have too many ancestors");
    if parents.len() + 1 > TRUC_LIMIT {
        return violation(too_many_ancestors());
    }
    let Some(parent) = parents.first() else {
        return Ok(None);
    };
    if mempool.ancestors(parent).len() + 1 > TRUC_LIMIT {
        return violation(too_many_ancestors());
    }
    if vsize > TRUC_CHILD_MAX_VSIZE {
        return violation(format!(
            "version=3 child tx {txid} (wtxid={wtxid}) is too big: {vsize} > {TRUC_CHILD_MAX_VSIZE} virtual bytes"
        ));
    }
    let descendants = mempool.descendants(parent);
    let children: Vec<Txid> = descendants
        .iter()
        .copied()
        .filter(|t| t != parent)
        .collect();
    let child_will_be_replaced = children.iter().any(|c| direct_conflicts.contains(c));
    if descendants.len() + 1 > TRUC_LIMIT && !child_will_be_replaced {
        let sibling = match children.as_slice() {
            [only] if mempool.ancestors(only).len() == 2 => Some(*only),
            _ => None,
        };
        let Some(entry) = mempool.get(parent) else {
            return Ok(None);
        };
        let details = format!(
            "tx {} (wtxid={}) would exceed descendant count limit",
            entry.txid, entry.wtxid
        );
        return match sibling {
            Some(sibling) => Ok(Some(sibling)),
            None => violation(details),
        };
    }
    Ok(None)
}
