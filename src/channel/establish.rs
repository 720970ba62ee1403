//! After funding: confirmations, `channel_ready` both ways (BOLT 2 "The `channel_ready`
//! Message"), and giving up on a funding that never confirms.

use bitcoin::secp256k1::{Secp256k1, Signing};
use bitcoin::Transaction;

use super::action::ChannelEvent;
use super::core::Channel;
use super::record::{self, StoredChannel};
use super::{ChannelError, ChannelStatus, FundingConfirmation};
use crate::keys::{ChannelSecrets, CommitmentNumber, KeysError};
use crate::store::{Event, EventKind, Op};
use crate::wire::{ChannelId, ChannelReady, ChannelReadyTlvs, Message};

/// When a fundee forgets a channel whose funding never confirmed (BOLT 2: "SHOULD forget the
/// channel if it does not see the correct funding transaction after a timeout of 2016
/// blocks").
pub const FUNDEE_PATIENCE_BLOCKS: u32 = 2016;

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

impl Channel {
    /// The funding transaction `tx` is in block `conf` with `depth` confirmations. Once deep
    /// enough, and if we have not yet, send our `channel_ready` (the seed's
    /// `finalize_reservation`), after checking the output pays the channel.
    pub fn handle_funding_depth(
        &mut self,
        tx: &Transaction,
        conf: FundingConfirmation,
        depth: u32,
        now: When,
    ) -> Result<(), ChannelError> {
        self.now = now;
        let id = self.id();
        let mut funding = self.rec.funding.clone();
        let mut ops = Vec::new();
        if funding.confirmed != Some(conf) {
            funding.confirmed = Some(conf);
            ops.push(Op::Event(
                id,
                now.event(EventKind::FundingConfirmed {
                    block_height: conf.height,
                    block_hash: conf.block_hash,
                }),
            ));
        }
        let mut send = None;
        let mut ready = false;
        if depth >= required_depth(&self.rec)
            && !funding.channel_ready_sent
            && self.rec.status == ChannelStatus::Pending
        {
            let msg = crate::funding::finalize(&self.secp, &self.rec.params, &self.secrets, tx)
                .map_err(|_| ChannelError::FundingOutputMismatch)?;
            funding.channel_ready_sent = true;
            ops.push(Op::Event(id, now.event(EventKind::ChannelReadySent)));
            if funding.channel_ready_received {
                ops.push(record::status_row(&id, ChannelStatus::Ready));
                ops.push(Op::Event(id, now.event(EventKind::Ready)));
                ready = true;
            }
            send = Some(Message::ChannelReady(msg));
        }
        if funding != self.rec.funding {
            self.persist(record::funding_row(&id, &funding));
            self.rec.funding = funding;
        }
        for op in ops {
            self.persist(op);
        }
        if ready {
            self.rec.status = ChannelStatus::Ready;
            self.out.event(ChannelEvent::Ready);
        }
        if let Some(msg) = send {
            // Sent after channel_reestablish instead, if the link is not up (it retransmits
            // channel_ready).
            self.send(msg);
        }
        Ok(())
    }

    /// The block holding the funding transaction left the chain.
    pub fn handle_funding_reorged(&mut self, now: When) {
        self.now = now;
        let id = self.id();
        self.rec.funding.confirmed = None;
        self.persist(record::funding_row(&id, &self.rec.funding));
        self.persist(Op::Event(id, now.event(EventKind::FundingReorged)));
    }

    /// Gives up a channel whose funding will never confirm (the user's `abandon`, or the
    /// fundee's 2016-block patience).
    pub fn handle_abandon(&mut self, reason: &str, now: When) {
        self.now = now;
        let id = self.id();
        self.rec.status = ChannelStatus::Abandoned;
        self.persist(record::status_row(&id, ChannelStatus::Abandoned));
        self.persist(Op::Event(
            id,
            now.event(EventKind::Abandoned {
                reason: reason.to_string(),
            }),
        ));
    }
}

/// The peer's `channel_ready`: remember its next per-commitment point. A repeated one is
/// ignored (BOLT 2: "MUST ignore any redundant `channel_ready`").
pub(super) fn on_channel_ready(ch: &mut Channel, msg: &ChannelReady) {
    let id = ch.id();
    if ch.rec.funding.channel_ready_received || ch.rec.status != ChannelStatus::Pending {
        return;
    }
    ch.rec.funding.channel_ready_received = true;
    let number = ch.rec.commitment.remote.current.number + 1;
    ch.rec.commitment.remote.next_point = Some(msg.second_per_commitment_point);
    ch.persist(record::funding_row(&id, &ch.rec.funding));
    ch.persist(record::remote_point_row(
        &id,
        number,
        &msg.second_per_commitment_point,
    ));
    ch.persist(Op::Event(id, ch.now.event(EventKind::ChannelReadyReceived)));
    if ch.rec.funding.channel_ready_sent {
        ch.rec.status = ChannelStatus::Ready;
        ch.persist(record::status_row(&id, ChannelStatus::Ready));
        ch.persist(Op::Event(id, ch.now.event(EventKind::Ready)));
        ch.out.event(ChannelEvent::Ready);
    }
}
