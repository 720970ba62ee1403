//! A funded channel: its static parameters, its commitment state, and how either side's
//! commitment transaction is built from them (BOLT 2 "Normal Operation", BOLT 3).
//!
//! The funding workflow ([`crate::funding`]) produces a channel; the store keeps its parts in
//! separate columns ([`ChannelParams`], [`CommitmentState`], [`FundingState`],
//! [`ChannelStatus`]); the peer actor and the chain watcher build transactions from them
//! with the functions of [`commitments`]. Pure: no IO, every key and height is an argument.

pub mod close;
pub mod commitments;
pub mod establish;
mod params;
mod state;

pub use close::{CloseError, CloseState, CloseStep, ForceClose};
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
    /// The confirmed funding output does not pay the channel's amount to its 2-of-2 script.
    #[error("the funding output does not pay the channel")]
    FundingOutputMismatch,
    /// `channel_reestablish` with `next_commitment_number` 0: BOLT 2 says fail the channel.
    #[error("channel_reestablish with next_commitment_number 0")]
    ReestablishZero,
    /// `channel_reestablish` numbers that do not match our state: one side lost data.
    #[error(
        "channel_reestablish mismatch: peer expects commitment {their_next_commitment} and \
         revocation {their_next_revocation}; we would send commitment {our_next_commitment} \
         and hold commitment {our_local_number}"
    )]
    ReestablishMismatch {
        /// The peer's `next_commitment_number`.
        their_next_commitment: u64,
        /// The peer's `next_revocation_number`.
        their_next_revocation: u64,
        /// The number of the next `commitment_signed` we would send.
        our_next_commitment: u64,
        /// Our current commitment number.
        our_local_number: u64,
    },
}
