//! `channel_reestablish` and retransmission (BOLT 2 "Message Retransmission").
//!
//! On every connection each side says which commitment it expects next and which
//! `revoke_and_ack`; the other resends what was lost, in the order it was first sent:
//!
//! - the peer expects the `revoke_and_ack` we already sent → resend it;
//! - the peer expects the `commitment_signed` we already sent → resend the updates it
//!   covered and it (signatures are deterministic: the same message);
//! - both → in the order of the first transmission ([`LocalCommitment::revoked_while_awaiting`]);
//! - then our updates no commitment holds yet, and a `commitment_signed` for them.
//!
//! Numbers that cannot be fail the channel; a peer that proves it is ahead of us (a valid
//! `your_last_per_commitment_secret` for a state we do not know, `option_data_loss_protect`)
//! means our commitment may be revoked: we never broadcast it, and ask the peer to close.
//!
//! [`LocalCommitment::revoked_while_awaiting`]: super::state::LocalCommitment::revoked_while_awaiting

use super::commit::{number, our_revoke_and_ack, pending_commitment_signed, sign_if_needed};
use super::core::{Channel, Link};
use super::establish::channel_ready;
use super::update::our_updates;
use super::ChannelError;
use crate::wire::{ChannelReestablish, ChannelReestablishTlvs, Message};

/// Our `channel_reestablish`: `next_commitment_number` is one past our current commitment,
/// `next_revocation_number` the peer's current commitment (the next one it will revoke),
/// with the last secret it gave us (zeros before any) and our current point.
pub(super) fn our_reestablish(ch: &Channel) -> Result<ChannelReestablish, ChannelError> {
    let c = &ch.rec.commitment;
    let point = ch
        .secrets
        .per_commitment_point(&ch.secp, number(c.local.number)?)?;
    let last_secret = match c.remote.current.number.checked_sub(1) {
        None => [0; 32],
        Some(n) => c
            .their_secrets
            .get(number(n)?.secret_index())
            .map(crate::keys::PerCommitmentSecret::to_bytes)
            .ok_or_else(|| ChannelError::Internal(format!("no secret for commitment {n}")))?,
    };
    Ok(ChannelReestablish {
        channel_id: ch.id(),
        next_commitment_number: c.local.number + 1,
        next_revocation_number: c.remote.current.number,
        your_last_per_commitment_secret: last_secret,
        my_current_per_commitment_point: point.0,
        tlvs: ChannelReestablishTlvs::default(),
    })
}

/// The peer's HTLCs that are irrevocably committed and that we have not started to remove.
fn undecided_htlcs(ch: &Channel) -> Vec<super::ChannelEvent> {
    let c = &ch.rec.commitment;
    c.ledger
        .htlcs
        .values()
        .filter(|h| h.key.offerer == super::Party::Remote && h.removal.is_none())
        .filter(|h| c.is_committed(h))
        .map(super::ChannelEvent::received)
        .collect()
}

/// What the peer's `channel_reestablish` asks us to resend.
#[derive(Debug, PartialEq, Eq)]
struct Resend {
    revoke_and_ack: bool,
    commitment_signed: bool,
}

fn what_to_resend(ch: &Channel, m: &ChannelReestablish) -> Result<Resend, ChannelError> {
    let c = &ch.rec.commitment;
    let local = c.local.number;
    let latest = c.remote.latest();
    let mismatch = || ChannelError::ReestablishMismatch {
        their_next_commitment: m.next_commitment_number,
        their_next_revocation: m.next_revocation_number,
        our_next_commitment: latest.number + 1,
        our_local_number: local,
    };
    let r = m.next_revocation_number;
    if r > local {
        // The peer has revocations from us we do not remember: if it proves it with our
        // secret for `r - 1`, we lost state (option_data_loss_protect).
        let ours = ch.secrets.per_commitment_secret(number(r - 1)?).to_bytes();
        if m.your_last_per_commitment_secret == ours {
            return Err(ChannelError::Behind {
                their_next_revocation: r,
                our_local_number: local,
            });
        }
        return Err(mismatch());
    }
    let revoke_and_ack = if r == local {
        false
    } else if r + 1 == local {
        true
    } else {
        return Err(mismatch());
    };
    let expected_secret = match r.checked_sub(1) {
        None => [0; 32],
        Some(n) => ch.secrets.per_commitment_secret(number(n)?).to_bytes(),
    };
    if m.your_last_per_commitment_secret != expected_secret {
        return Err(ChannelError::Protocol(
            "channel_reestablish your_last_per_commitment_secret is not the last secret we sent"
                .into(),
        ));
    }
    let n = m.next_commitment_number;
    let commitment_signed = if n == latest.number + 1 {
        false
    } else if n == latest.number && c.remote.pending.is_some() {
        true
    } else {
        return Err(mismatch());
    };
    Ok(Resend {
        revoke_and_ack,
        commitment_signed,
    })
}

/// The peer's `channel_reestablish`: check it, resend what it lacks, then carry on.
pub(super) fn on_reestablish(ch: &mut Channel, m: &ChannelReestablish) -> Result<(), ChannelError> {
    if !ch.is_live() || ch.rec.close.behind {
        return Ok(());
    }
    if m.next_commitment_number == 0 {
        // "MUST immediately fail the channel and broadcast any relevant latest commitment".
        return Err(ChannelError::ReestablishZero);
    }
    if ch.link == Link::Up {
        return Err(ChannelError::Protocol(
            "a second channel_reestablish on the same connection".into(),
        ));
    }
    let resend = what_to_resend(ch, m)?;
    ch.link = Link::Up;
    if ch.rec.commitment.local.number == 0
        && m.next_commitment_number == 1
        && ch.rec.funding.channel_ready_sent
    {
        // "if next_commitment_number is 1 in both the channel_reestablish it sent and
        // received: MUST retransmit channel_ready".
        let ready = channel_ready(&ch.secp, ch.id(), &ch.secrets)?;
        ch.send(Message::ChannelReady(ready));
    }
    let mut first = if resend.revoke_and_ack {
        vec![Message::RevokeAndAck(our_revoke_and_ack(ch)?)]
    } else {
        Vec::new()
    };
    let mut then = if resend.commitment_signed {
        let c = &ch.rec.commitment;
        let current = c.remote.current.pos.local;
        let pending = c.remote.latest().pos.local;
        let mut msgs = our_updates(ch, current, pending);
        msgs.push(Message::CommitmentSigned(pending_commitment_signed(ch)?));
        msgs
    } else {
        Vec::new()
    };
    let c = &ch.rec.commitment;
    if c.remote
        .pending
        .is_some_and(|p| c.local.revoked_while_awaiting == Some(p.number))
    {
        // That commitment_signed went out before the revoke_and_ack.
        std::mem::swap(&mut first, &mut then);
    }
    for msg in first.into_iter().chain(then) {
        ch.send(msg);
    }
    // Our updates that no commitment holds: the peer forgot them on disconnection.
    let c = &ch.rec.commitment;
    for msg in our_updates(ch, c.remote.latest().pos.local, c.ledger.next_seq.local) {
        ch.send(msg);
    }
    sign_if_needed(ch)?;
    // The peer's HTLCs still waiting for our decision: the node may have died between
    // learning of them and deciding (nothing of a decision is durable before it is
    // committed), so it hears of them again.
    for event in undecided_htlcs(ch) {
        ch.out.event(event);
    }
    super::shutdown::on_reestablished(ch)
}
