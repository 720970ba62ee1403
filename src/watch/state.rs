//! What the chain watcher has learned and done for one channel, stored in its own column so
//! that a restart resumes exactly where it stopped.

use bitcoin::{Amount, BlockHash, Transaction, Txid};
use serde::{Deserialize, Serialize};

use crate::units::FeeratePerKw;

/// How the funding output was spent (BOLT 5 "General Nomenclature").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SpendKind {
    /// Our own commitment transaction: a local force close.
    LocalCommitment {
        /// Its commitment number.
        number: u64,
    },
    /// The peer's current commitment transaction: a remote force close.
    RemoteCommitment {
        /// Its commitment number.
        number: u64,
    },
    /// The agreed mutual closing transaction.
    Cooperative,
    /// A commitment of the peer's that it had revoked: a breach.
    RevokedCommitment {
        /// Its commitment number.
        number: u64,
    },
    /// Anything else.
    Unknown,
}

impl SpendKind {
    /// A short name for events and `petrel channels`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpendKind::LocalCommitment { .. } => "local_force_close",
            SpendKind::RemoteCommitment { .. } => "remote_force_close",
            SpendKind::Cooperative => "cooperative",
            SpendKind::RevokedCommitment { .. } => "breach",
            SpendKind::Unknown => "unknown",
        }
    }
}

/// What a sweep takes home.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepKind {
    /// Our delayed `to_local` output of our own commitment (after `to_self_delay`).
    ToLocal,
    /// Our `to_remote` output on the peer's commitment (P2WPKH, at once).
    ToRemote,
    /// Everything of a revoked commitment: the justice transaction.
    Justice,
}

impl SweepKind {
    /// A short name for events.
    pub fn as_str(self) -> &'static str {
        match self {
            SweepKind::ToLocal => "to_local",
            SweepKind::ToRemote => "to_remote",
            SweepKind::Justice => "justice",
        }
    }
}

/// The transaction that spent the funding output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRecord {
    /// Its txid.
    pub txid: Txid,
    /// The transaction.
    pub tx: Transaction,
    /// What it is.
    pub kind: SpendKind,
    /// The block holding it; `None` while it is (again) unconfirmed after a reorg.
    pub confirmed: Option<(u32, BlockHash)>,
}

/// One sweep we built and broadcast.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// What it sweeps.
    pub kind: SweepKind,
    /// The signed transaction.
    pub tx: Transaction,
    /// The total of the outputs it spends.
    pub amount: Amount,
    /// Its fee.
    pub fee: Amount,
    /// Its feerate.
    pub feerate: FeeratePerKw,
    /// The tip height when it was (last) broadcast.
    pub broadcast_at: u32,
    /// The height of the block holding it, once confirmed.
    pub confirmed_at: Option<u32>,
    /// Set when a higher-fee replacement superseded it.
    pub replaced_by: Option<Txid>,
}

impl SweepRecord {
    /// Its txid.
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }
}

/// The watcher's column for one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    /// The funding spend, once seen.
    pub spend: Option<SpendRecord>,
    /// Sweeps built so far (replaced ones included, for the record).
    pub sweeps: Vec<SweepRecord>,
    /// Everything of ours is settled deep enough: nothing left to watch.
    pub closed: bool,
    /// Why a person should look, if something was not understood.
    pub attention: Option<String>,
}

impl WatchState {
    /// The live (not replaced) sweep of `kind`, if built.
    pub fn live_sweep(&self, kind: SweepKind) -> Option<&SweepRecord> {
        self.sweeps
            .iter()
            .find(|s| s.kind == kind && s.replaced_by.is_none())
    }
}
