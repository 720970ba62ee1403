//! The chain-watching actor: one task for every channel, from funding until all of our funds
//! in it are back in the wallet (BOLT 5).
//!
//! For each watched channel it registers the spend of the funding outpoint with the chain
//! notifier. When the spend confirms it classifies the spending transaction
//! ([`classify::classify`]: our commitment, the peer's current commitment, the mutual close, a
//! revoked commitment, anything else), plans the sweeps that case calls for
//! ([`classify::plan_sweeps`]), and on every block builds the sweeps that have become valid
//! (after `to_self_delay` for our own `to_local`), rebroadcasts the unconfirmed ones, replaces
//! them with a higher fee (RBF) when they linger, and marks the channel closed once the spend
//! and every sweep are [`WatchConfig::final_depth`] deep.
//!
//! Contract:
//! - Each step is persisted (the channel's `watch` column and its event log) before the next
//!   action: the spend's classification before any sweep is built, a sweep before it is
//!   broadcast. On start-up the node re-registers every unfinished channel and the watcher
//!   rebroadcasts its unconfirmed sweeps.
//! - Reorgs: a spend whose block is reorged out is marked unconfirmed (and reclassified if a
//!   different transaction confirms instead); a sweep whose block goes is unconfirmed again
//!   and rebroadcast.
//! - The watcher only writes the `watch` column, the status (`closing`, `closed`) and events;
//!   it tells the node which channels changed.

mod actor;
pub mod classify;
mod state;
#[cfg(test)]
mod tests;

pub use actor::{WatchActor, WatchConfig, WatchHandle};
pub use state::{SpendKind, SpendRecord, SweepKind, SweepRecord, WatchState};

use crate::channel::ChannelError;
use crate::keys::KeysError;
use crate::tx::TxError;

/// What can go wrong while resolving a closed channel.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// A commitment number out of range (a corrupted store).
    #[error("commitment number out of range")]
    BadCommitmentNumber,
    /// A breach of a state whose secret we do not hold.
    #[error("no revocation secret for the revoked commitment")]
    MissingSecret,
    /// Key derivation failed.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// Building or signing a transaction failed.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// Rebuilding a commitment failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
}
