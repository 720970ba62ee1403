//! The channel core: one pure state machine per funded channel ([`Channel`]), from
//! `channel_ready` through HTLC and fee updates to the mutual close (BOLT 2 "Normal
//! Operation", "Message Retransmission", "Channel Close"), with the commitment transactions
//! of BOLT 3.
//!
//! The funding workflow ([`crate::funding`]) produces a channel's first state; from then on
//! every message for it, every command for it and every block goes through its
//! [`Channel`], which answers with ordered [`Action`]s (persist, send, broadcast, event) for
//! the node's shell to run. Pure: no IO, no clock, no store; time and height are arguments.
//!
//! Files by phase: `ledger.rs` (the updates and views), `update.rs` (HTLC and fee updates),
//! `commit.rs` (`commitment_signed` / `revoke_and_ack`), `reestablish.rs`
//! (retransmission), `establish.rs` (`channel_ready`), `close.rs` and `shutdown.rs` (mutual
//! and force close), `record.rs` and `encoding.rs` (what is stored, by column),
//! `commitments.rs` (building either side's commitment), `core.rs` (the [`Channel`] type and
//! its calling protocol).
//!
//! # BOLT 2 requirements and the tests that prove them
//!
//! Every rule the core enforces on the peer (and the sending rules it keeps itself), with
//! its test in `channel/tests/` (run on the `Pair` harness: two cores, in-memory
//! queues, restarts from what was persisted):
//!
//! | requirement | reaction | test |
//! |---|---|---|
//! | `update_add_htlc` `amount_msat` 0 or below our `htlc_minimum_msat` | error, fail | `rules::add_below_minimum_fails_the_channel`, `rules::add_of_zero_fails_the_channel` |
//! | over our `max_htlc_value_in_flight_msat` | error, fail | `rules::add_over_max_in_flight_fails_the_channel` |
//! | over our `max_accepted_htlcs` | error, fail | `rules::add_over_max_accepted_fails_the_channel` |
//! | sender cannot afford it (reserve; funder: fee) | error, fail | `rules::unaffordable_add_fails_the_channel` |
//! | `cltv_expiry` ≥ 500,000,000 | error, fail | `rules::add_with_time_expiry_fails_the_channel` |
//! | `id` not the next one (skipped or reused) | error, fail | `rules::add_with_skipped_id_fails_the_channel`, `rules::add_reusing_an_id_fails_the_channel` |
//! | repeated `id` after reconnection (same HTLC) ignored | ignored | `rules::a_retransmitted_add_is_ignored` |
//! | `update_add_htlc` after the peer's `shutdown` | error, fail | `rules::add_after_shutdown_fails_the_channel` |
//! | removal of an unknown `id` | error, fail | `rules::fulfill_of_unknown_htlc_fails_the_channel` |
//! | removal before the HTLC is irrevocably committed | error, fail | `rules::fulfill_before_commitment_fails_the_channel` |
//! | `update_fulfill_htlc` preimage does not match | error, fail | `rules::fulfill_with_wrong_preimage_fails_the_channel` |
//! | `update_fail_malformed_htlc` without BADONION | error, fail | `rules::malformed_without_badonion_fails_the_channel` |
//! | `commitment_signed` bad signature (or high-S) | error, fail | `rules::bad_commitment_signature_fails_the_channel` |
//! | `commitment_signed` wrong number of HTLC signatures | error, fail | `rules::wrong_htlc_signature_count_fails_the_channel` |
//! | `commitment_signed` bad HTLC signature | error, fail | `rules::bad_htlc_signature_fails_the_channel` |
//! | `commitment_signed` with no changes | error, fail | `rules::commitment_without_changes_fails_the_channel` |
//! | `revoke_and_ack` secret does not match the point | error, fail | `rules::revoke_with_wrong_secret_fails_the_channel` |
//! | `revoke_and_ack` with nothing to revoke | error, fail | `rules::unexpected_revoke_fails_the_channel` |
//! | `update_fee` from the non-funder | error, fail | `rules::update_fee_from_non_funder_fails_the_channel` |
//! | `update_fee` too low or unreasonably high | error, fail | `rules::update_fee_out_of_bounds_fails_the_channel` |
//! | `update_fee` the funder cannot afford | error, fail | `rules::unaffordable_update_fee_fails_the_channel` |
//! | `channel_reestablish` `next_commitment_number` 0 | error, fail, broadcast | `reestablish::next_commitment_number_zero_fails_and_broadcasts` |
//! | `channel_reestablish` numbers that cannot be | error, fail | `reestablish::impossible_numbers_fail_the_channel` |
//! | `your_last_per_commitment_secret` wrong | error, fail | `reestablish::wrong_last_secret_fails_the_channel` |
//! | peer ahead with a valid secret (data loss protect) | error, never broadcast | `reestablish::a_node_behind_never_broadcasts` |
//! | retransmit `revoke_and_ack`, `commitment_signed` and its updates, in order | resent | `reestablish::lost_messages_are_retransmitted_in_order` |
//! | reverse the peer's uncommitted updates on disconnect | reversed | `reestablish::uncommitted_updates_are_reversed` |
//! | the peer's HTLCs awaiting our decision are announced again after a restart | event | `reestablish::undecided_htlcs_are_announced_again_after_a_restart` |
//! | `channel_ready` retransmitted when both at commitment 1 | resent | `reestablish::channel_ready_is_retransmitted_at_commitment_one` |
//! | `shutdown` with HTLCs pending: settle first, then `closing_signed` | negotiated after | `closing::shutdown_waits_for_htlcs_to_settle` |
//! | no `shutdown` of ours while our updates are not in a commitment of the peer's; the peer's adds sent before our `shutdown` arrived are taken | reply deferred | `closing::our_shutdown_waits_until_our_updates_are_committed` |
//! | `closing_signed` while updates are pending | error, fail | `closing::closing_signed_before_quiet_fails_the_channel` |
//! | `closing_signed` unanswered | error, fail | `closing::unanswered_closing_signed_fails_the_channel` |
//! | an HTLC we offered still unresolved past its `cltv_expiry` (plus a grace of 3 blocks) | fail, broadcast | `flow::an_offered_htlc_past_its_expiry_fails_the_channel` |
//! | a message before `channel_reestablish` | warning, disconnect | `rules::a_message_before_reestablish_is_refused` |
//! | our own sends: minimum, in-flight, count, reserve, fee spike buffer, expiry | refused | `rules::our_adds_keep_the_sending_rules` |
//! | nothing leaves before the state it commits to is persisted | order of actions | `rules::every_send_follows_its_persist`, `rules::failing_stores_the_force_close_before_the_error` |
//! | a revoked state's revocation log lets the watcher take every output (justice) | script-verified | `revocation::a_revoked_state_with_htlcs_is_punished_from_the_revocation_log` |
//! | at most 256 bytes written per update without HTLCs | measured | `bytes::an_update_without_htlcs_writes_at_most_256_bytes` |
//! | random interleavings: no failure, agreement, money conserved | property | `prop::random_interleavings_settle_in_agreement` |
//! | BOLT 3 Appendix C through the core's builder | vectors | `vectors::*` |

mod action;
pub mod close;
mod commit;
pub mod commitments;
mod core;
pub mod encoding;
pub mod establish;
pub mod ledger;
mod params;
pub mod record;
mod reestablish;
mod shutdown;
mod state;
#[cfg(test)]
mod tests;
mod update;

pub use action::{Action, Actions, ChannelEvent};
pub use close::{CloseError, CloseState, ForceClose};
pub use commitments::Balances;
pub use core::{error, warning, Channel, ChannelConfig, Command, CommandOutput};
pub use ledger::{HtlcKey, HtlcRecord, NewHtlc, Party, Position, Resolution, View};
pub use params::{ChannelParams, PartyParams, Role};
pub use record::{RevokedState, StoredChannel};
pub use state::{
    ChannelStatus, CommitmentState, FundingConfirmation, FundingState, LocalCommitment,
    RemoteCommitment, RemoteCommitments,
};
pub use update::{BADONION, MAX_CLTV_EXPIRY};

use crate::keys::KeysError;
use crate::tx::TxError;

/// How the core answers a [`ChannelError`] (BOLT 1 "The `error` and `warning` Messages").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reaction {
    /// Nothing to tell the peer (our own mistake, or a refused command).
    Ignore,
    /// A `warning`; the channel and connection stay.
    Warn,
    /// A `warning`, then the connection is closed; the channel stays.
    WarnAndDisconnect,
    /// Our commitment stored as broadcast, an `error`, the broadcast: the channel is failed.
    Fail,
    /// An `error` only: our state is stale and our commitment must never be broadcast.
    ErrorWithoutBroadcast,
}

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
    /// The peer proved it is ahead of us (`option_data_loss_protect`): we lost state.
    #[error(
        "the peer expects revocation {their_next_revocation} but we hold commitment \
         {our_local_number}: our state is stale"
    )]
    Behind {
        /// The peer's `next_revocation_number`.
        their_next_revocation: u64,
        /// Our current commitment number.
        our_local_number: u64,
    },
    /// The peer broke a BOLT 2 rule.
    #[error("{0}")]
    Protocol(String),
    /// A command we cannot carry out (nothing was sent).
    #[error("{0}")]
    Refused(String),
    /// Our own state is inconsistent (a bug or a damaged store).
    #[error("internal: {0}")]
    Internal(String),
    /// A channel message before `channel_reestablish` on this connection.
    #[error("{0} before channel_reestablish")]
    BeforeReestablish(&'static str),
    /// A message we do not support.
    #[error("{0} is not supported")]
    Unsupported(&'static str),
    /// The mutual close failed.
    #[error(transparent)]
    Close(Box<CloseError>),
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

impl ChannelError {
    /// How the core answers it (see [`Reaction`]): a peer's broken rule fails the channel,
    /// a close script we do not accept gets a `warning`, our own refusals tell the peer
    /// nothing.
    pub fn reaction(&self) -> Reaction {
        match self {
            ChannelError::Refused(_)
            | ChannelError::Internal(_)
            | ChannelError::FundingOutputMismatch => Reaction::Ignore,
            ChannelError::Unsupported(_) => Reaction::Warn,
            ChannelError::BeforeReestablish(_) => Reaction::WarnAndDisconnect,
            ChannelError::Behind { .. } => Reaction::ErrorWithoutBroadcast,
            ChannelError::Close(e) => match e.as_ref() {
                CloseError::InvalidScript(_) | CloseError::NotReady(_) => Reaction::Warn,
                CloseError::ScriptMismatch => Reaction::WarnAndDisconnect,
                CloseError::AlreadyClosing | CloseError::Behind => Reaction::Ignore,
                _ => Reaction::Fail,
            },
            ChannelError::Keys(_)
            | ChannelError::Tx(_)
            | ChannelError::BadCommitmentSignature
            | ChannelError::ReestablishZero
            | ChannelError::ReestablishMismatch { .. }
            | ChannelError::Protocol(_) => Reaction::Fail,
        }
    }
}
