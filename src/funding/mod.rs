//! Single-funded channel establishment: the reservation workflow (BOLT 2 "Channel
//! Establishment v1").
//!
//! A *reservation* is a channel being negotiated: nothing is stored until both commitment
//! signatures exist. The initiator contributes all the funds; the responder contributes only
//! keys, its first per-commitment point, and signatures.
//!
//! # Calling order
//!
//! Initiator (funder), one type per state, each transition consuming the last:
//!
//! 1. [`open`] → [`AwaitingAccept`] + `open_channel` to send;
//! 2. [`AwaitingAccept::handle_accept_channel`] → [`AwaitingFundingTx`]; the shell asks the
//!    wallet for a transaction paying [`AwaitingFundingTx::funding_script`] (inputs locked);
//! 3. [`AwaitingFundingTx::handle_funding_tx`] → [`AwaitingFundingSigned`] + `funding_created`;
//! 4. [`AwaitingFundingSigned::handle_funding_signed`] → [`PendingChannel`]: the shell
//!    **persists it, then broadcasts** the funding transaction.
//!
//! Responder (fundee), the seed's three calls:
//!
//! 1. [`process_single_contribution`]`(open_channel)` → [`AwaitingFundingCreated`] +
//!    `accept_channel`;
//! 2. [`AwaitingFundingCreated::complete_single_contribution`]`(funding_created)` →
//!    [`PendingChannel`] + `funding_signed`: the shell **persists, then sends**;
//! 3. [`PendingChannel::finalize_reservation`] once the funding output has the required
//!    confirmations → `channel_ready`; the finished channel is handed on (to the chain
//!    watcher).
//!
//! The initiator also calls `finalize_reservation` at its own depth. Calls out of order do not
//! compile; a message for a reservation in another state is routed by [`Reservations`],
//! which answers with a typed error.
//!
//! # BOLT 2 requirements and the tests that cover them
//!
//! Every "MUST fail the channel" of the receiver (and the "MAY" we choose to enforce), with
//! the error it gives and its test in `funding/tests.rs`:
//!
//! | requirement (message) | error | test |
//! |---|---|---|
//! | `chain_hash` unknown (open) | [`FundingError::UnknownChain`] | `open_rejects_unknown_chain` |
//! | `announce_channel` set, while we cannot send BOLT 7 `announcement_signatures` (open) | [`FundingError::AnnounceChannelUnsupported`] | `open_rejects_announce_channel_but_ignores_undefined_flags` |
//! | `funding_satoshis` too small, MAY (open) | [`FundingError::FundingTooSmall`] | `open_rejects_small_funding` |
//! | `funding_satoshis` ≥ 2^24 without large channels (open) | [`FundingError::FundingTooLarge`] | `open_rejects_large_funding` |
//! | `push_msat` > `funding_satoshis` × 1000 (open) | [`FundingError::PushExceedsFunding`] | `open_rejects_push_above_funding` |
//! | `to_self_delay` unreasonably large (open, accept) | [`FundingError::ToSelfDelayTooLarge`] | `open_rejects_large_to_self_delay`, `accept_rejects_large_to_self_delay` |
//! | `max_accepted_htlcs` > 483 (open, accept) | [`FundingError::MaxAcceptedHtlcsTooLarge`] | `open_rejects_too_many_htlcs` |
//! | `max_accepted_htlcs` too small (0), MAY | [`FundingError::MaxAcceptedHtlcsZero`] | `open_rejects_zero_htlcs` |
//! | `feerate_per_kw` too small (open) | [`FundingError::FeerateTooLow`] | `open_rejects_low_feerate` |
//! | `feerate_per_kw` unreasonably large (open) | [`FundingError::FeerateTooHigh`] | `open_rejects_high_feerate` |
//! | invalid basepoints or per-commitment point (open, accept) | `wire::DecodeReason::InvalidPoint` (never reaches this module) | `wire::tests::invalid_point_and_signature_are_named`, `funding::tests::open_with_invalid_point_does_not_decode` |
//! | `dust_limit_satoshis` > `channel_reserve_satoshis` (open, accept) | [`FundingError::DustLimitAboveReserve`] | `open_rejects_dust_above_reserve` |
//! | `dust_limit_satoshis` < 354 (open, accept) | [`FundingError::DustLimitTooSmall`] | `open_rejects_dust_below_354`, `accept_rejects_dust_below_354` |
//! | `dust_limit_satoshis` too large, MAY (open, accept) | [`FundingError::DustLimitTooLarge`] | `open_rejects_large_dust_limit` |
//! | funder cannot pay the fee (and, by our policy, the reserve) (open, accept) | [`FundingError::FunderCannotPayFeeAndReserve`] | `open_rejects_funder_unable_to_pay_fee`, `open_rejects_funder_unable_to_pay_reserve`, `accept_rejects_reserve_funder_cannot_keep` |
//! | both balances ≤ `channel_reserve_satoshis` (open) | [`FundingError::BothBalancesAtOrBelowReserve`] | `open_rejects_both_balances_below_reserve` |
//! | `channel_reserve_satoshis` too large, MAY (open, accept) | [`FundingError::ReserveTooLarge`] | `open_rejects_large_reserve` |
//! | `htlc_minimum_msat` too large, MAY | [`FundingError::HtlcMinimumTooLarge`] | `open_rejects_huge_htlc_minimum` |
//! | `max_htlc_value_in_flight_msat` too small (0), MAY | [`FundingError::MaxHtlcValueInFlightZero`] | `open_rejects_zero_max_in_flight` |
//! | no `channel_type` (open, accept) | [`FundingError::MissingChannelType`] | `open_rejects_missing_channel_type`, `accept_rejects_missing_channel_type` |
//! | `channel_type` not suitable (open) | [`FundingError::UnsupportedChannelType`] | `open_rejects_anchors_channel_type`, `open_rejects_zeroconf_channel_type` |
//! | `channel_type` differs from `open_channel`'s (accept) | [`FundingError::ChannelTypeMismatch`] | `accept_rejects_other_channel_type` |
//! | accept's reserve < open's dust limit, or open's reserve < accept's dust limit (accept) | [`FundingError::ReserveBelowPeerDustLimit`] | `accept_rejects_reserve_below_our_dust`, `accept_rejects_dust_above_our_reserve` |
//! | `minimum_depth` unreasonably large, MAY (accept) | [`FundingError::MinimumDepthTooLarge`] | `accept_rejects_large_minimum_depth` |
//! | upfront `shutdown_scriptpubkey` not a valid form | [`FundingError::InvalidShutdownScript`] | `open_rejects_p2pkh_upfront_script` |
//! | `temporary_channel_id` reused with the same peer | [`FundingError::TemporaryChannelIdInUse`] | `reservations_reject_reused_temporary_id` |
//! | `funding_created` `signature` incorrect or high-S | [`FundingError::BadSignature`] | `funding_created_with_bad_signature_fails`, `funding_created_with_high_s_signature_fails` |
//! | `funding_signed` `signature` incorrect | [`FundingError::BadSignature`] | `funding_signed_with_bad_signature_fails` |
//! | `channel_ready` only if the outpoint pays `funding_satoshis` to the funding script | [`FundingError::FundingOutputMismatch`] | `finalize_rejects_wrong_funding_output` |
//! | messages in the wrong state or for an unknown reservation | [`FundingError::UnexpectedMessage`], [`FundingError::UnknownReservation`] | `reservations_reject_out_of_order_messages` |
//! | too many pending reservations (our abuse limit) | [`FundingError::TooManyReservations`] | `reservations_enforce_limits` |
//! | reservation timeout (our abuse limit) | (expired by [`Reservations::expire`]) | `reservations_expire` |
//!
//! Pure: no IO, no clock (timeouts take `now` as an argument), no randomness (temporary
//! channel ids and channel indices come from the shell).

mod checks;
mod config;
mod initiator;
mod registry;
mod responder;
#[cfg(test)]
pub(crate) mod tests;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{Secp256k1, Signing};
use bitcoin::{Amount, Transaction};

pub use checks::is_valid_shutdown_script;
pub use config::{
    LocalConfig, Policy, MAX_ACCEPTED_HTLCS, MAX_FUNDING, MIN_DUST_LIMIT,
    STATIC_REMOTEKEY_CHANNEL_TYPE,
};
pub use initiator::{open, AwaitingAccept, AwaitingFundingSigned, AwaitingFundingTx, OpenRequest};
pub use registry::{Reservation, ReservationLimits, Reservations};
pub use responder::{process_single_contribution, AcceptRequest, AwaitingFundingCreated};

use crate::channel::{ChannelError, ChannelParams, CommitmentState};
use crate::keys::{ChannelSecrets, KeysError};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{ChannelId, ChannelReady};

/// Why a reservation failed. Each variant is a BOLT 2 requirement (see the table in the
/// module docs) or one of our limits; the peer actor turns it into an `error` for the
/// channel.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FundingError {
    /// `chain_hash` names a chain we are not on.
    #[error("unknown chain {0}")]
    UnknownChain(ChainHash),
    /// `funding_satoshis` below our minimum.
    #[error("funding {got} is below our minimum {min}")]
    FundingTooSmall {
        /// The offered funding.
        got: Amount,
        /// Our minimum.
        min: Amount,
    },
    /// `funding_satoshis` at or above 2^24 without `option_support_large_channel`.
    #[error("funding {got} is above {max} (no option_support_large_channel)")]
    FundingTooLarge {
        /// The offered funding.
        got: Amount,
        /// The largest allowed.
        max: Amount,
    },
    /// `push_msat` exceeds the funding.
    #[error("push_msat exceeds funding_satoshis * 1000")]
    PushExceedsFunding,
    /// `to_self_delay` longer than we accept to wait.
    #[error("to_self_delay {got} is above our maximum {max}")]
    ToSelfDelayTooLarge {
        /// The delay asked of us.
        got: u16,
        /// Our maximum.
        max: u16,
    },
    /// `max_accepted_htlcs` above 483.
    #[error("max_accepted_htlcs {0} is above 483")]
    MaxAcceptedHtlcsTooLarge(u16),
    /// `max_accepted_htlcs` of zero: no HTLC could ever be added.
    #[error("max_accepted_htlcs is zero")]
    MaxAcceptedHtlcsZero,
    /// `feerate_per_kw` too low to confirm.
    #[error("feerate {got} is below the minimum {min}")]
    FeerateTooLow {
        /// The offered feerate.
        got: FeeratePerKw,
        /// Our floor.
        min: FeeratePerKw,
    },
    /// `feerate_per_kw` unreasonably high.
    #[error("feerate {got} is above the maximum {max}")]
    FeerateTooHigh {
        /// The offered feerate.
        got: FeeratePerKw,
        /// Our ceiling.
        max: FeeratePerKw,
    },
    /// A side's dust limit above its own reserve requirement.
    #[error("dust_limit_satoshis {dust_limit} is above channel_reserve_satoshis {reserve}")]
    DustLimitAboveReserve {
        /// The announced dust limit.
        dust_limit: Amount,
        /// The announced reserve.
        reserve: Amount,
    },
    /// `dust_limit_satoshis` below 354 (BOLT 3 "Dust Limits").
    #[error("dust_limit_satoshis {0} is below 354")]
    DustLimitTooSmall(Amount),
    /// `dust_limit_satoshis` above our policy's maximum.
    #[error("dust_limit_satoshis {got} is above our maximum {max}")]
    DustLimitTooLarge {
        /// The announced dust limit.
        got: Amount,
        /// Our maximum.
        max: Amount,
    },
    /// A reserve one side asks is below the other side's dust limit (BOLT 2 `accept_channel`).
    #[error("channel reserve {reserve} is below the other side's dust limit {dust_limit}")]
    ReserveBelowPeerDustLimit {
        /// The reserve.
        reserve: Amount,
        /// The dust limit it must reach.
        dust_limit: Amount,
    },
    /// The funder's balance cannot pay the commitment fee plus the reserve asked of it.
    #[error("funder balance {funder_balance} cannot pay fee {fee} and reserve {reserve}")]
    FunderCannotPayFeeAndReserve {
        /// The funder's balance at opening.
        funder_balance: Msat,
        /// Commitment #0's fee.
        fee: Amount,
        /// The reserve asked of the funder.
        reserve: Amount,
    },
    /// Both initial balances at or below the reserve: nothing at stake for either side.
    #[error("both initial balances are at or below the channel reserve")]
    BothBalancesAtOrBelowReserve,
    /// The reserve asked of us is above our policy's share of the funding.
    #[error("channel reserve {got} is above our maximum {max}")]
    ReserveTooLarge {
        /// The reserve asked of us.
        got: Amount,
        /// Our maximum for this funding.
        max: Amount,
    },
    /// `htlc_minimum_msat` so large that no HTLC could ever be added.
    #[error("htlc_minimum_msat {0} is at or above the channel capacity")]
    HtlcMinimumTooLarge(Msat),
    /// `max_htlc_value_in_flight_msat` of zero.
    #[error("max_htlc_value_in_flight_msat is zero")]
    MaxHtlcValueInFlightZero,
    /// No `channel_type` TLV.
    #[error("no channel_type")]
    MissingChannelType,
    /// A `channel_type` we do not support (we support `option_static_remotekey` alone).
    #[error("unsupported channel_type {0:02x?}")]
    UnsupportedChannelType(Vec<u8>),
    /// `accept_channel`'s `channel_type` differs from the one we sent.
    #[error("accept_channel channel_type {0:02x?} differs from ours")]
    ChannelTypeMismatch(Vec<u8>),
    /// `minimum_depth` longer than we are willing to wait.
    #[error("minimum_depth {got} is above our maximum {max}")]
    MinimumDepthTooLarge {
        /// The depth asked.
        got: u32,
        /// Our maximum.
        max: u32,
    },
    /// An upfront `shutdown_scriptpubkey` that is not a valid `shutdown` form.
    #[error("invalid upfront shutdown script {0:02x?}")]
    InvalidShutdownScript(Vec<u8>),
    /// `open_channel` with `announce_channel` set: BOLT 7 would oblige us to send
    /// `announcement_signatures`, which Petrel cannot sign yet.
    #[error("announce_channel is set, but this node does not announce channels yet")]
    AnnounceChannelUnsupported,
    /// A commitment signature that does not verify (or is high-S).
    #[error("the commitment signature does not verify")]
    BadSignature,
    /// The funding output does not pay `funding_satoshis` to the 2-of-2 script.
    #[error("the funding output does not pay the funding amount to the funding script")]
    FundingOutputMismatch,
    /// The funding output index does not fit the 2 bytes of `funding_created`.
    #[error("funding output index above 65535")]
    FundingOutputIndexTooLarge,
    /// A message for another reservation's `temporary_channel_id`.
    #[error("temporary_channel_id does not match the reservation")]
    WrongTemporaryChannelId,
    /// `funding_signed` for another `channel_id`.
    #[error("channel_id does not match the funding outpoint")]
    WrongChannelId,
    /// `open_channel` reusing a `temporary_channel_id` still in use with this peer.
    #[error("temporary_channel_id {0} is already in use with this peer")]
    TemporaryChannelIdInUse(ChannelId),
    /// A funding message for no reservation we have.
    #[error("no reservation with temporary_channel_id {0}")]
    UnknownReservation(ChannelId),
    /// A funding message the reservation is not waiting for.
    #[error("unexpected {message} in reservation state {state}")]
    UnexpectedMessage {
        /// The message's BOLT name.
        message: &'static str,
        /// The state the reservation was in.
        state: &'static str,
    },
    /// Too many reservations pending (per peer or in total).
    #[error("too many pending reservations (limit {limit})")]
    TooManyReservations {
        /// The limit that was hit.
        limit: usize,
    },
    /// Building a transaction failed.
    #[error(transparent)]
    Channel(#[from] ChannelError),
}

impl From<KeysError> for FundingError {
    fn from(e: KeysError) -> Self {
        FundingError::Channel(ChannelError::Keys(e))
    }
}

/// Checks our own `open_channel` before sending it (BOLT 2 sender rules), so we never ask a
/// compliant peer for what it must refuse.
fn checks_sender(request: &OpenRequest) -> Result<(), FundingError> {
    if request.funding > MAX_FUNDING {
        return Err(FundingError::FundingTooLarge {
            got: request.funding,
            max: MAX_FUNDING,
        });
    }
    let total = Msat::from_amount(request.funding).ok_or(FundingError::PushExceedsFunding)?;
    let funder = total
        .checked_sub(request.push)
        .ok_or(FundingError::PushExceedsFunding)?;
    let fee = request
        .feerate
        .fee_for_weight(crate::tx::weight::commitment_weight(0));
    if funder < Msat::from_amount(fee).unwrap_or(Msat(u64::MAX)) {
        return Err(FundingError::FunderCannotPayFeeAndReserve {
            funder_balance: funder,
            fee,
            reserve: Amount::ZERO,
        });
    }
    Ok(())
}

/// A channel both sides have signed: stored by the shell before anything else happens
/// (the responder before sending `funding_signed`, the initiator before broadcasting),
/// waiting for its funding transaction to confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChannel {
    /// The channel's static parameters.
    pub params: ChannelParams,
    /// Commitment #0 of both sides.
    pub commitment: CommitmentState,
    /// The funding transaction, if we built it (initiator): to broadcast, and rebroadcast.
    pub funding_tx: Option<Transaction>,
}

impl PendingChannel {
    /// Seed call 3 (both roles): the funding transaction has the confirmations we wait for.
    /// Checks that its output really pays `funding_satoshis` to the 2-of-2 script (BOLT 2
    /// `channel_ready`: "MUST NOT send channel_ready unless ...") and builds our
    /// `channel_ready` with the point for commitment #1.
    pub fn finalize_reservation<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        secrets: &ChannelSecrets,
        funding_tx: &Transaction,
    ) -> Result<ChannelReady, FundingError> {
        finalize(secp, &self.params, secrets, funding_tx)
    }
}

/// `channel_ready` for a stored channel whose funding `funding_tx` is deep enough (also used
/// after a restart, when the channel comes back from the store rather than from a
/// reservation).
pub fn finalize<C: Signing>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    secrets: &ChannelSecrets,
    funding_tx: &Transaction,
) -> Result<ChannelReady, FundingError> {
    let outpoint = params.funding_outpoint;
    let expected = params.funding_output().tx_out();
    let pays = funding_tx.compute_txid() == outpoint.txid
        && usize::try_from(outpoint.vout)
            .ok()
            .and_then(|i| funding_tx.output.get(i))
            .is_some_and(|o| *o == expected);
    if !pays {
        return Err(FundingError::FundingOutputMismatch);
    }
    Ok(crate::channel::establish::channel_ready(
        secp,
        params.channel_id,
        secrets,
    )?)
}
