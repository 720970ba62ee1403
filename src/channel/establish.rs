//! After funding: `channel_ready` both ways, and `channel_reestablish` on every reconnection
//! (BOLT 2 "The `channel_ready` Message", "Message Retransmission").
//!
//! Pure: each function takes the stored channel and an input, and returns what to persist
//! (a [`Batch`]) and what to send, in that order. The caller persists first.

use bitcoin::secp256k1::{Secp256k1, Signing};
use bitcoin::Transaction;

use super::{ChannelError, ChannelStatus, FundingConfirmation};
use crate::keys::{ChannelSecrets, CommitmentNumber, KeysError};
use crate::store::{Batch, Event, EventKind, Op, StoredChannel};
use crate::wire::{
    ChannelId, ChannelReady, ChannelReadyTlvs, ChannelReestablish, ChannelReestablishTlvs, Message,
};

/// When a fundee forgets a channel whose funding never confirmed (BOLT 2: "SHOULD forget the
/// channel if it does not see the correct funding transaction after a timeout of 2016
/// blocks").
pub const FUNDEE_PATIENCE_BLOCKS: u32 = 2016;

/// What to do: persist `batch` (if not empty), then send `send`.
#[derive(Clone, Debug, Default)]
pub struct Step {
    /// Writes to make durable first.
    pub batch: Batch,
    /// Messages to send after.
    pub send: Vec<Message>,
    /// The channel became usable (both `channel_ready`s exchanged) in this step.
    pub became_ready: bool,
}

/// The depth the funding transaction must reach before we send `channel_ready`: the
/// `minimum_depth` of `accept_channel` (the responder's own, or the one it asked of us), at
/// least 1 (we never trust unconfirmed funding).
pub fn required_depth(channel: &StoredChannel) -> u32 {
    channel.params.minimum_depth.max(1)
}

/// Our `channel_ready`: it carries the point of commitment #1, the one after the initial
/// commitment (BOLT 2 `second_per_commitment_point`).
pub fn channel_ready<C: Signing>(
    secp: &Secp256k1<C>,
    channel_id: ChannelId,
    secrets: &ChannelSecrets,
) -> Result<ChannelReady, KeysError> {
    Ok(ChannelReady {
        channel_id,
        second_per_commitment_point: secrets.per_commitment_point(secp, CommitmentNumber::ONE)?.0,
        tlvs: ChannelReadyTlvs::default(),
    })
}

/// When a step happens: wall-clock time for the event log, and the chain tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct When {
    /// Unix time in seconds.
    pub time: u64,
    /// The tip height.
    pub height: u32,
}

impl When {
    /// The event-log entry for `kind`, stamped with this time and height.
    pub fn event(self, kind: EventKind) -> Event {
        Event {
            time: self.time,
            height: Some(self.height),
            kind,
        }
    }
}

/// The funding transaction `tx` is in block `conf` with `depth` confirmations. Once deep enough, and if we have not yet, build our `channel_ready` (the
/// seed's `finalize_reservation`), after checking the output pays the channel.
pub fn on_funding_depth<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
    tx: &Transaction,
    conf: FundingConfirmation,
    depth: u32,
    when: When,
) -> Result<Step, ChannelError> {
    let id = channel.params.channel_id;
    let mut step = Step::default();
    let mut funding = channel.funding.clone();
    if funding.confirmed != Some(conf) {
        funding.confirmed = Some(conf);
        step.batch.push(Op::Event(
            id,
            when.event(EventKind::FundingConfirmed {
                block_height: conf.height,
                block_hash: conf.block_hash,
            }),
        ));
    }
    if depth >= required_depth(channel)
        && !funding.channel_ready_sent
        && channel.status == ChannelStatus::Pending
    {
        let ready = crate::funding::finalize(secp, &channel.params, secrets, tx)
            .map_err(|_| ChannelError::FundingOutputMismatch)?;
        funding.channel_ready_sent = true;
        step.batch
            .push(Op::Event(id, when.event(EventKind::ChannelReadySent)));
        if funding.channel_ready_received {
            step.batch.push(Op::Status(id, ChannelStatus::Ready));
            step.batch.push(Op::Event(id, when.event(EventKind::Ready)));
            step.became_ready = true;
        }
        step.send.push(Message::ChannelReady(ready));
    }
    if funding != channel.funding {
        step.batch.ops.insert(0, Op::Funding(id, funding));
    }
    Ok(step)
}

/// The block holding the funding transaction left the chain.
pub fn on_funding_reorged(channel: &StoredChannel, when: When) -> Step {
    let id = channel.params.channel_id;
    let mut funding = channel.funding.clone();
    funding.confirmed = None;
    Step {
        batch: Batch::new()
            .with(Op::Funding(id, funding))
            .with(Op::Event(id, when.event(EventKind::FundingReorged))),
        ..Step::default()
    }
}

/// The peer's `channel_ready`: remember its next per-commitment point. A repeated one is
/// ignored (BOLT 2: "MUST ignore any redundant `channel_ready`").
pub fn on_channel_ready(channel: &StoredChannel, msg: &ChannelReady, when: When) -> Step {
    let id = channel.params.channel_id;
    if channel.funding.channel_ready_received || channel.status != ChannelStatus::Pending {
        return Step::default();
    }
    let mut funding = channel.funding.clone();
    funding.channel_ready_received = true;
    let mut commitment = channel.commitment.clone();
    commitment.remote_next_point = Some(msg.second_per_commitment_point);
    let mut step = Step {
        batch: Batch::new()
            .with(Op::Funding(id, funding))
            .with(Op::Commitment(id, Box::new(commitment)))
            .with(Op::Event(id, when.event(EventKind::ChannelReadyReceived))),
        ..Step::default()
    };
    if channel.funding.channel_ready_sent {
        step.batch.push(Op::Status(id, ChannelStatus::Ready));
        step.batch.push(Op::Event(id, when.event(EventKind::Ready)));
        step.became_ready = true;
    }
    step
}

/// Our `channel_reestablish` for a reconnection (BOLT 2 "Message Retransmission"):
/// `next_commitment_number` is the number of the next `commitment_signed` we expect, which
/// is one past our current commitment; `next_revocation_number` the number of the next
/// `revoke_and_ack`, which is the peer's current commitment number; the last secret we
/// received (zeros before any) and our current per-commitment point.
pub fn reestablish<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
) -> Result<ChannelReestablish, ChannelError> {
    let local = channel.commitment.local_commitment_number();
    let point = secrets.per_commitment_point(secp, local)?;
    Ok(ChannelReestablish {
        channel_id: channel.params.channel_id,
        next_commitment_number: local.value() + 1,
        next_revocation_number: channel.commitment.remote_number,
        // No revoke_and_ack has been received yet on any channel Petrel runs today, so this
        // is all zeros ("if next_revocation_number equals 0").
        your_last_per_commitment_secret: [0; 32],
        my_current_per_commitment_point: point.0,
        tlvs: ChannelReestablishTlvs::default(),
    })
}

/// The peer's `channel_reestablish`: checks its numbers against ours, and retransmits
/// `channel_ready` when both sides are still at commitment 1 ("if next_commitment_number is
/// 1 in both the channel_reestablish it sent and received: MUST retransmit channel_ready").
pub fn on_reestablish<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
    msg: &ChannelReestablish,
) -> Result<Step, ChannelError> {
    if msg.next_commitment_number == 0 {
        // "MUST immediately fail the channel and broadcast any relevant latest commitment".
        return Err(ChannelError::ReestablishZero);
    }
    let ours = reestablish(secp, channel, secrets)?;
    // The next commitment_signed we would send is the peer's current number + 1; a peer
    // that expects something else has lost state, or we have.
    let expected_by_peer = channel.commitment.remote_number + 1;
    if msg.next_commitment_number != expected_by_peer
        || msg.next_revocation_number != channel.commitment.local_number
    {
        return Err(ChannelError::ReestablishMismatch {
            their_next_commitment: msg.next_commitment_number,
            their_next_revocation: msg.next_revocation_number,
            our_next_commitment: expected_by_peer,
            our_local_number: channel.commitment.local_number,
        });
    }
    let mut step = Step::default();
    if ours.next_commitment_number == 1
        && msg.next_commitment_number == 1
        && channel.funding.channel_ready_sent
    {
        step.send.push(Message::ChannelReady(channel_ready(
            secp,
            channel.params.channel_id,
            secrets,
        )?));
    }
    Ok(step)
}

/// Whether a fundee should forget this pending channel at tip `height` (its funding never
/// confirmed within [`FUNDEE_PATIENCE_BLOCKS`]).
pub fn fundee_should_forget(channel: &StoredChannel, height: u32) -> bool {
    channel.params.role == super::Role::Responder
        && channel.status == ChannelStatus::Pending
        && channel.funding.confirmed.is_none()
        && height
            >= channel
                .funding
                .opened_at_height
                .saturating_add(FUNDEE_PATIENCE_BLOCKS)
}

/// The funding state a forgotten or abandoned channel is left with, and its events.
pub fn abandon(channel: &StoredChannel, reason: &str, when: When) -> Batch {
    let id = channel.params.channel_id;
    Batch::new()
        .with(Op::Status(id, ChannelStatus::Abandoned))
        .with(Op::Event(
            id,
            when.event(EventKind::Abandoned {
                reason: reason.to_string(),
            }),
        ))
}
