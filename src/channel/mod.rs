//! A funded channel: its static parameters, its commitment state, and how either side's
//! commitment transaction is built from them (BOLT 2 "Normal Operation", BOLT 3).
//!
//! The funding workflow ([`crate::funding`]) produces a channel; the store keeps its parts in
//! separate columns ([`ChannelParams`], [`CommitmentState`], [`FundingState`],
//! [`ChannelStatus`]); the peer actor and the chain watcher build transactions from them
//! with the functions of [`commitments`]. Pure: no IO, every key and height is an argument.

pub mod commitments;
mod params;
mod state;

pub use commitments::Balances;
pub use params::{ChannelParams, PartyParams, Role};
pub use state::{ChannelStatus, CommitmentState, FundingConfirmation, FundingState};

use crate::keys::KeysError;
use crate::tx::TxError;

/// What can go wrong building or checking a channel's transactions.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// Key derivation failed (an invalid point or tweak; negligibly rare with honest peers).
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// Building or signing a transaction failed.
    #[error(transparent)]
    Tx(#[from] TxError),
    /// The peer's signature on our commitment does not verify (or is not low-S).
    #[error("the peer's commitment signature does not verify")]
    BadCommitmentSignature,
}
