//! Replacement by fee (full RBF, Core's `policy/rbf.cpp` and `ReplacementChecks`).
//!
//! Since Core 28 any unconfirmed transaction may be replaced, signalled or not. A replacement
//! must conflict with at most 100 clusters, pay at least the fees of everything it evicts
//! (rule 3), pay for its own relay on top at the incremental relay fee (rule 4), and strictly
//! improve the mempool's feerate diagram. Core computes that diagram over whole clusters with
//! its cluster linearizer; here the evicted set is linearized by ancestor feerate and compared
//! with the replacement as one chunk, which agrees with Core whenever the evicted transactions'
//! clusters contain nothing else (the usual case: a transaction and its descendants).

use bitcoin::{Amount, Transaction, Txid};

use super::mempool::Mempool;
use super::policy::{format_money, FeeRate};
use super::reject::{RejectClass, TxReject};

/// Most clusters a replacement may conflict with (`MAX_REPLACEMENT_CANDIDATES`).
const MAX_REPLACEMENT_CANDIDATES: usize = 100;

/// Checks a replacement and returns every mempool transaction it evicts (direct conflicts
/// and their descendants).
pub(crate) fn check_replacement(
    tx: &Transaction,
    fee: Amount,
    vsize: u64,
    direct_conflicts: &[Txid],
    mempool: &Mempool,
    incremental_relay: FeeRate,
) -> Result<Vec<Txid>, TxReject> {
    let txid = tx.compute_txid();
    let mut clusters: Vec<Vec<Txid>> = Vec::new();
    for conflict in direct_conflicts {
        if !clusters.iter().any(|c| c.contains(conflict)) {
            clusters.push(mempool.cluster(conflict));
        }
    }
    if clusters.len() > MAX_REPLACEMENT_CANDIDATES {
        return Err(TxReject::with_details(
            RejectClass::MempoolPolicy,
            "too many potential replacements",
            format!(
                "rejecting replacement {txid}; too many conflicting clusters ({} > {MAX_REPLACEMENT_CANDIDATES})",
                clusters.len()
            ),
        ));
    }
    let mut evicted: Vec<Txid> = Vec::new();
    for conflict in direct_conflicts {
        for t in mempool.descendants(conflict) {
            if !evicted.contains(&t) {
                evicted.push(t);
            }
        }
    }
    let (_, _, evicted_fee) = mempool.totals(&evicted);
    if fee < evicted_fee {
        return Err(insufficient(format!(
            "rejecting replacement {txid}, less fees than conflicting txs; {} < {}",
            format_money(fee.to_sat()),
            format_money(evicted_fee.to_sat())
        )));
    }
    let additional = fee - evicted_fee;
    let relay = incremental_relay.fee(vsize);
    if additional < relay {
        return Err(insufficient(format!(
            "rejecting replacement {txid}, not enough additional fees to relay; {} < {}",
            format_money(additional.to_sat()),
            format_money(relay.to_sat())
        )));
    }
    let old = chunks(&evicted, mempool);
    let new = vec![(vsize, fee.to_sat())];
    if !strictly_better(&new, &old) {
        return Err(TxReject::with_details(
            RejectClass::Reconsiderable,
            "replacement-failed",
            "insufficient feerate: does not improve feerate diagram",
        ));
    }
    Ok(evicted)
}

fn insufficient(details: String) -> TxReject {
    TxReject::with_details(RejectClass::Reconsiderable, "insufficient fee", details)
}

/// Linearizes `txids` by repeatedly taking the ancestor set (within `txids`) of best feerate,
/// then merges consecutive pieces into chunks of non-increasing feerate. Returns the chunks
/// as `(vsize, fee)`.
fn chunks(txids: &[Txid], mempool: &Mempool) -> Vec<(u64, u64)> {
    let mut remaining: Vec<Txid> = txids.to_vec();
    let mut pieces: Vec<(u64, u64)> = Vec::new();
    while !remaining.is_empty() {
        let mut best: Option<(Vec<Txid>, u64, u64)> = None;
        for t in &remaining {
            let set: Vec<Txid> = mempool
                .ancestors(t)
                .into_iter()
                .filter(|a| remaining.contains(a))
                .collect();
            let (_, size, fee) = mempool.totals(&set);
            let fee = fee.to_sat();
            let better = best.as_ref().is_none_or(|(_, bs, bf)| {
                u128::from(fee) * u128::from(*bs) > u128::from(*bf) * u128::from(size)
            });
            if better {
                best = Some((set, size, fee));
            }
        }
        let Some((set, size, fee)) = best else { break };
        remaining.retain(|t| !set.contains(t));
        pieces.push((size.max(1), fee));
        // Merge while the last piece pays a better rate than the one before it.
        while pieces.len() >= 2 {
            let (s2, f2) = pieces[pieces.len() - 1];
            let (s1, f1) = pieces[pieces.len() - 2];
            if u128::from(f2) * u128::from(s1) > u128::from(f1) * u128::from(s2) {
                pieces.pop();
                pieces.pop();
                pieces.push((s1 + s2, f1 + f2));
            } else {
                break;
            }
        }
    }
    pieces
}

/// The cumulative fee of a chunk diagram at size `x`, as a fraction `(num, den)`.
fn diagram_at(chunks: &[(u64, u64)], x: u64) -> (u128, u128) {
    let mut size = 0u64;
    let mut fee = 0u64;
    for &(s, f) in chunks {
        if x <= size + s {
            let num = u128::from(fee) * u128::from(s) + u128::from(x - size) * u128::from(f);
            return (num, u128::from(s.max(1)));
        }
        size += s;
        fee += f;
    }
    (u128::from(fee), 1)
}

/// Whether diagram `new` is at least `old` everywhere and above it somewhere (Core's
/// `CompareChunks` returning greater).
fn strictly_better(new: &[(u64, u64)], old: &[(u64, u64)]) -> bool {
    let mut points = Vec::new();
    for diagram in [new, old] {
        let mut size = 0;
        for &(s, _) in diagram {
            size += s;
            points.push(size);
        }
    }
    let mut better_somewhere = false;
    for x in points {
        let (an, ad) = diagram_at(new, x);
        let (bn, bd) = diagram_at(old, x);
        let (a, b) = (an * bd, bn * ad);
        if a < b {
            return false;
        }
        if a > b {
            better_somewhere = true;
        }
    }
    better_somewhere
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagram_comparison() {
        // Same size, more fee: better.
        assert!(strictly_better(&[(100, 200)], &[(100, 100)]));
        // Equal: not strictly better.
        assert!(!strictly_better(&[(100, 100)], &[(100, 100)]));
        // More total fee but a worse rate over a bigger size: worse at the old chunk's end.
        assert!(!strictly_better(&[(1000, 1100)], &[(100, 1000)]));
        // Old high-rate chunk then low-rate chunk; new must beat the first one at its size.
        assert!(!strictly_better(&[(200, 1100)], &[(100, 1000), (100, 50)]));
        assert!(strictly_better(&[(100, 1100)], &[(100, 1000), (100, 50)]));
    }
}
