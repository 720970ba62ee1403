//! The mempool: accepted unconfirmed transactions with their fees, sizes and in-mempool
//! parent/child links (Core's `CTxMemPool`). The rules deciding what may enter live in
//! [`super::admission`]; this file only keeps the set consistent.
//!
//! Lookups by txid, wtxid and spent outpoint are hash-map O(1); ancestor, descendant and
//! cluster walks touch only the transactions involved.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid, Wtxid};

/// One mempool transaction (Core's `CTxMemPoolEntry`).
#[derive(Clone, Debug)]
pub struct MempoolEntry {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Fee paid (inputs minus outputs).
    pub fee: Amount,
    /// Sigop-adjusted virtual size, the size fees are charged on.
    pub vsize: u64,
    /// BIP141 weight.
    pub weight: u64,
    /// Signature-operation cost.
    pub sigop_cost: u64,
    /// Unix time it entered the mempool.
    pub time: u64,
    /// Chain height when it entered.
    pub height: u32,
    /// Entry order; parents always have smaller numbers than their children.
    pub sequence: u64,
    /// Whether an input spends a coinbase output.
    pub spends_coinbase: bool,
    /// In-mempool transactions it spends from.
    pub parents: BTreeSet<Txid>,
    /// In-mempool transactions spending from it.
    pub children: BTreeSet<Txid>,
}

/// The set of unconfirmed transactions.
#[derive(Clone, Debug, Default)]
pub struct Mempool {
    /// Entries by txid.
    entries: HashMap<Txid, MempoolEntry>,
    /// Txid by wtxid.
    by_wtxid: HashMap<Wtxid, Txid>,
    /// Which mempool transaction spends each outpoint.
    spenders: HashMap<OutPoint, Txid>,
    /// Txids in entry order.
    order: BTreeMap<u64, Txid>,
    /// Next entry sequence number.
    next_sequence: u64,
    /// Sum of virtual sizes.
    total_vsize: u64,
    /// Sum of fees.
    total_fee: Amount,
}

impl Mempool {
    /// An empty mempool.
    pub fn new() -> Mempool {
        Mempool::default()
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the mempool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sum of virtual sizes (`bytes` in `getmempoolinfo`).
    pub fn total_vsize(&self) -> u64 {
        self.total_vsize
    }

    /// Sum of fees (`total_fee` in `getmempoolinfo`).
    pub fn total_fee(&self) -> Amount {
        self.total_fee
    }

    /// The entry for `txid`.
    pub fn get(&self, txid: &Txid) -> Option<&MempoolEntry> {
        self.entries.get(txid)
    }

    /// Whether a transaction with this wtxid is present.
    pub fn contains_wtxid(&self, wtxid: &Wtxid) -> bool {
        self.by_wtxid.contains_key(wtxid)
    }

    /// The mempool transaction spending `outpoint`, if any.
    pub fn spender(&self, outpoint: &OutPoint) -> Option<Txid> {
        self.spenders.get(outpoint).copied()
    }

    /// The output `outpoint` if it was created by a mempool transaction.
    pub fn output(&self, outpoint: &OutPoint) -> Option<&TxOut> {
        self.entries
            .get(&outpoint.txid)?
            .tx
            .output
            .get(outpoint.vout as usize)
    }

    /// Txids in entry order (parents before children).
    pub fn txids(&self) -> Vec<Txid> {
        self.order.values().copied().collect()
    }

    /// Entries in entry order.
    pub fn entries(&self) -> impl Iterator<Item = &MempoolEntry> {
        self.order.values().filter_map(|t| self.entries.get(t))
    }

    /// The sequence number the next entry will get.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Adds an entry whose parents are already present; links parents and children.
    pub fn insert(&mut self, mut entry: MempoolEntry) {
        entry.sequence = self.next_sequence;
        self.next_sequence += 1;
        entry.parents = entry
            .tx
            .input
            .iter()
            .map(|i| i.previous_output.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect();
        entry.children.clear();
        for parent in &entry.parents {
            if let Some(p) = self.entries.get_mut(parent) {
                p.children.insert(entry.txid);
            }
        }
        for input in &entry.tx.input {
            self.spenders.insert(input.previous_output, entry.txid);
        }
        self.by_wtxid.insert(entry.wtxid, entry.txid);
        self.order.insert(entry.sequence, entry.txid);
        self.total_vsize += entry.vsize;
        self.total_fee += entry.fee;
        self.entries.insert(entry.txid, entry);
    }

    /// Removes one transaction (not its descendants), unlinking it from parents and
    /// children. Used when it confirms: its children now spend confirmed outputs.
    pub fn remove_one(&mut self, txid: &Txid) -> Option<MempoolEntry> {
        let entry = self.entries.remove(txid)?;
        for input in &entry.tx.input {
            if self.spenders.get(&input.previous_output) == Some(txid) {
                self.spenders.remove(&input.previous_output);
            }
        }
        for parent in &entry.parents {
            if let Some(p) = self.entries.get_mut(parent) {
                p.children.remove(txid);
            }
        }
        for child in &entry.children {
            if let Some(c) = self.entries.get_mut(child) {
                c.parents.remove(txid);
            }
        }
        self.by_wtxid.remove(&entry.wtxid);
        self.order.remove(&entry.sequence);
        self.total_vsize -= entry.vsize;
        self.total_fee -= entry.fee;
        Some(entry)
    }

    /// Removes a transaction and all its descendants; returns the removed txids.
    pub fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<Txid> {
        let doomed = self.descendants(txid);
        for t in &doomed {
            self.remove_one(t);
        }
        doomed
    }

    /// `txid` and every in-mempool descendant, parents before children.
    pub fn descendants(&self, txid: &Txid) -> Vec<Txid> {
        self.walk(txid, |e| &e.children)
    }

    /// `txid` and every in-mempool ancestor.
    pub fn ancestors(&self, txid: &Txid) -> Vec<Txid> {
        self.walk(txid, |e| &e.parents)
    }

    /// The connected component (cluster) containing `txid`.
    pub fn cluster(&self, txid: &Txid) -> Vec<Txid> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([*txid]);
        while let Some(t) = queue.pop_front() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            if !seen.insert(t) {
                continue;
            }
            queue.extend(entry.parents.iter().chain(entry.children.iter()).copied());
        }
        let mut out: Vec<Txid> = seen.into_iter().collect();
        out.sort_by_key(|t| self.entries.get(t).map_or(0, |e| e.sequence));
        out
    }

    fn walk(&self, txid: &Txid, next: impl Fn(&MempoolEntry) -> &BTreeSet<Txid>) -> Vec<Txid> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([*txid]);
        while let Some(t) = queue.pop_front() {
            let Some(entry) = self.entries.get(&t) else {
                continue;
            };
            if !seen.insert(t) {
                continue;
            }
            queue.extend(next(entry).iter().copied());
        }
        let mut out: Vec<Txid> = seen.into_iter().collect();
        out.sort_by_key(|t| self.entries.get(t).map_or(0, |e| e.sequence));
        out
    }

    /// Sum of (count, vsize, fee) over a set of txids.
    pub fn totals(&self, txids: &[Txid]) -> (usize, u64, Amount) {
        let mut vsize = 0;
        let mut fee = Amount::ZERO;
        for t in txids {
            if let Some(e) = self.entries.get(t) {
                vsize += e.vsize;
                fee += e.fee;
            }
        }
        (txids.len(), vsize, fee)
    }

    /// Removes every transaction of a newly connected block, then every mempool transaction
    /// that conflicts with one of them (and its descendants). Returns the txids removed as
    /// conflicts.
    pub fn remove_for_block(&mut self, block: &bitcoin::Block) -> Vec<Txid> {
        for tx in &block.txdata {
            self.remove_one(&tx.compute_txid());
        }
        let mut conflicts = Vec::new();
        for tx in &block.txdata {
            for input in &tx.input {
                if let Some(spender) = self.spenders.get(&input.previous_output).copied() {
                    conflicts.extend(self.remove_with_descendants(&spender));
                }
            }
        }
        conflicts
    }

    /// Empties the mempool, returning its transactions in entry order.
    pub fn drain(&mut self) -> Vec<Arc<Transaction>> {
        let txs = self.entries().map(|e| e.tx.clone()).collect();
        *self = Mempool {
            next_sequence: self.next_sequence,
            ..Mempool::default()
        };
        txs
    }
}
