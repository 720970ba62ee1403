//! Input locks ("limbo"): the wallet outputs a pending funding reservation has spent in a
//! transaction it has not broadcast yet.
//!
//! A lock lives from [`build_funding`](super::OnchainWallet::build_funding) until the
//! reservation completes ([`confirm_lock`](super::OnchainWallet::confirm_lock): the
//! transaction is handed to bdk, which then sees the inputs spent) or is cancelled
//! ([`release`](super::OnchainWallet::release): timeout, error, disconnect). Locks are kept in
//! memory only: a reservation does not survive a restart, so neither does its lock; a funding
//! transaction the node has persisted comes back through
//! [`apply_unconfirmed`](super::OnchainWallet::apply_unconfirmed).

use std::collections::{BTreeMap, HashSet};

use bitcoin::{OutPoint, Transaction};

/// Names one reservation's hold on wallet inputs (the node uses its reservation or channel
/// counter). Chosen by the caller so it can release the lock without keeping wallet state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LockId(pub u64);

/// One reservation's locked inputs and the transaction that spends them.
#[derive(Clone, Debug)]
pub(super) struct Lock {
    /// The signed funding transaction; its inputs are the locked outpoints.
    pub(super) tx: Transaction,
    /// The change output's derivation index on the internal keychain, if it has change, so a
    /// cancelled reservation can hand the unused change address to the next one.
    pub(super) change_derivation_index: Option<u32>,
}

impl Lock {
    /// The outpoints this lock holds.
    pub(super) fn inputs(&self) -> impl Iterator<Item = OutPoint> + '_ {
        self.tx.input.iter().map(|input| input.previous_output)
    }
}

/// Every held lock, by id.
#[derive(Clone, Debug, Default)]
pub(super) struct Locks {
    /// The locks, ordered by id for stable iteration.
    by_id: BTreeMap<LockId, Lock>,
}

impl Locks {
    /// Whether `id` holds a lock.
    pub(super) fn contains(&self, id: LockId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// Every locked outpoint, as a set: a membership test per coin costs O(1), not a scan
    /// of every lock (a thousand pending opens hold a thousand inputs).
    pub(super) fn locked_set(&self) -> HashSet<OutPoint> {
        self.outpoints().collect()
    }

    /// Every locked outpoint.
    pub(super) fn outpoints(&self) -> impl Iterator<Item = OutPoint> + '_ {
        self.by_id.values().flat_map(Lock::inputs)
    }

    /// Records a new lock; the caller has checked that `id` is free.
    pub(super) fn insert(&mut self, id: LockId, lock: Lock) {
        self.by_id.insert(id, lock);
    }

    /// Drops lock `id`, returning it.
    pub(super) fn remove(&mut self, id: LockId) -> Option<Lock> {
        self.by_id.remove(&id)
    }

    /// The change derivation index of lock `id`'s transaction, if it has change.
    pub(super) fn change_derivation_index(&self, id: LockId) -> Option<u32> {
        self.by_id
            .get(&id)
            .and_then(|lock| lock.change_derivation_index)
    }

    /// Lock `id`, if held.
    pub(super) fn get(&self, id: LockId) -> Option<&Lock> {
        self.by_id.get(&id)
    }

    /// The ids currently held.
    pub(super) fn ids(&self) -> impl Iterator<Item = LockId> + '_ {
        self.by_id.keys().copied()
    }
}
