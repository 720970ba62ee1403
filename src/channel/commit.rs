//! Committing updates: `commitment_signed` both ways and `revoke_and_ack` (BOLT 2
//! "Committing Updates So Far", "Completing the Transition to the Updated State"), with what
//! each step writes before anything leaves:
//!
//! - we sign the peer's next commitment: the commitment and the updates it takes from us are
//!   stored, then `commitment_signed` goes out;
//! - the peer signs ours: the new commitment, its signatures and the peer's updates are
//!   stored, then `revoke_and_ack` goes out (revealing the previous commitment's secret);
//! - the peer revokes: its secret (one shachain bucket), the revocation log entry of the
//!   revoked state and the new point are stored.
//!
//! After each step the ledger folds what every live commitment agrees on, and the node
//! hears of HTLCs that became irrevocable.

use bitcoin::secp256k1::PublicKey;

use super::action::ChannelEvent;
use super::commitments::{local_commitment, remote_commitment, sign_commitment};
use super::core::{Channel, Link};
use super::ledger::{HtlcKey, Party, Position, Resolution, View};
use super::record::{self, RevokedState};
use super::state::{LocalCommitment, RemoteCommitment};
use super::{ChannelError, ChannelStatus};
use crate::keys::{CommitmentNumber, PerCommitmentPoint, PerCommitmentSecret, SecretStore};
use crate::tx::CommitmentTx;
use crate::wire::{CommitmentSigned, CommitmentSignedTlvs, Message, RevokeAndAck};

fn fail(what: impl Into<String>) -> ChannelError {
    ChannelError::Protocol(what.into())
}

/// A commitment number from the state, checked to fit 48 bits.
pub(super) fn number(n: u64) -> Result<CommitmentNumber, ChannelError> {
    CommitmentNumber::new(n).map_err(ChannelError::Keys)
}

/// The HTLC keys of a commitment's HTLC outputs, in output order.
fn output_keys(tx: &CommitmentTx, view: &View) -> Vec<HtlcKey> {
    tx.htlc_outputs
        .iter()
        .filter_map(|out| view.htlcs.get(out.index).map(|(k, _)| *k))
        .collect()
}

/// Our `commitment_signed` for the peer's commitment `number` at `pos`, with `point` (our
/// signatures on it and its HTLC transactions), and the state it holds.
fn sign_remote(
    ch: &Channel,
    number_: u64,
    pos: Position,
    point: &PublicKey,
) -> Result<(CommitmentSigned, View), ChannelError> {
    let view = ch
        .rec
        .commitment
        .ledger
        .view(pos)
        .map_err(|e| ChannelError::Internal(e.to_string()))?;
    let n = number(number_)?;
    let tx = remote_commitment(&ch.secp, &ch.rec.params, n, point, &view.balances())?;
    let signature = sign_commitment(&ch.secp, &ch.rec.params, &ch.secrets, &tx.tx)?;
    let htlc_key = ch.secrets.htlc_key(&ch.secp, &PerCommitmentPoint(*point))?;
    let htlc_signature = tx
        .htlc_txs()?
        .iter()
        .map(|h| h.sign(&ch.secp, &htlc_key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((
        CommitmentSigned {
            channel_id: ch.id(),
            signature,
            htlc_signature,
            // BOLT 2: "MUST set `funding_txid` to the funding transaction spent by this
            // commitment transaction".
            tlvs: CommitmentSignedTlvs {
                funding_txid: Some(ch.rec.params.funding_outpoint.txid),
                unknown: Vec::new(),
            },
        },
        view,
    ))
}

/// Whether we have something the peer's commitment does not hold yet: our updates, or the
/// peer's that we acknowledged.
pub(super) fn has_unsigned_changes(ch: &Channel) -> bool {
    let c = &ch.rec.commitment;
    let latest = c.remote.latest().pos;
    c.ledger.next_seq.local > latest.local || c.local.pos.remote > latest.remote
}

/// Signs the peer's next commitment if there is anything to sign and we may (connected, not
/// awaiting a `revoke_and_ack`, the peer's next point known): stores it, then sends
/// `commitment_signed`.
pub(super) fn sign_if_needed(ch: &mut Channel) -> Result<(), ChannelError> {
    if ch.link != Link::Up
        || ch.rec.commitment.remote.pending.is_some()
        || !has_unsigned_changes(ch)
        || !matches!(ch.rec.status, ChannelStatus::Ready | ChannelStatus::Closing)
        || ch.is_settling_on_chain()
    {
        return Ok(());
    }
    let Some(point) = ch.rec.commitment.remote.next_point else {
        return Ok(());
    };
    let c = &ch.rec.commitment;
    let previous = c.remote.current;
    let pos = Position {
        local: c.ledger.next_seq.local,
        remote: c.local.pos.remote,
    };
    let n = previous.number + 1;
    let (msg, view) = sign_remote(ch, n, pos, &point)?;
    let previous_view = ch
        .rec
        .commitment
        .ledger
        .view(previous.pos)
        .map_err(|e| ChannelError::Internal(e.to_string()))?;
    let id = ch.id();
    let ledger = &mut ch.rec.commitment.ledger;
    // Our updates this commitment takes (the peer's it takes were stored when they came).
    let mut ops = record::update_rows(
        &id,
        &ledger.updates_of(Party::Local, previous.pos.local..pos.local),
    );
    // Spans: the HTLCs entering the peer's commitments with this one, and leaving them.
    let now_in: Vec<HtlcKey> = view.htlcs.iter().map(|(k, _)| *k).collect();
    let was_in: Vec<HtlcKey> = previous_view.htlcs.iter().map(|(k, _)| *k).collect();
    let entering = now_in
        .iter()
        .filter(|k| !was_in.contains(k))
        .map(|k| (*k, true));
    let leaving = was_in
        .iter()
        .filter(|k| !now_in.contains(k))
        .map(|k| (*k, false));
    for (key, enters) in entering.chain(leaving) {
        if let Some(h) = ledger.htlcs.get_mut(&key) {
            if enters {
                h.remote_first = Some(n);
            } else {
                h.remote_last = Some(n - 1);
            }
            ops.push(record::htlc_span_row(&id, h));
        }
    }
    let next_local_id = ch.rec.commitment.ledger.next_id.local;
    ch.rec.commitment.remote.pending = Some(RemoteCommitment {
        number: n,
        pos,
        next_local_id,
    });
    ops.push(record::remote_commitments_row(
        &id,
        &ch.rec.commitment.remote,
    ));
    for op in ops {
        ch.persist(op);
    }
    ch.send(Message::CommitmentSigned(msg));
    Ok(())
}

/// The peer's `commitment_signed`: every update it sent and ours it acknowledged, checked
/// (signature, one valid HTLC signature per HTLC output), stored, then our `revoke_and_ack`,
/// then our own `commitment_signed` for whatever we now owe the peer.
pub(super) fn on_commitment_signed(
    ch: &mut Channel,
    m: &CommitmentSigned,
) -> Result<(), ChannelError> {
    if !matches!(ch.rec.status, ChannelStatus::Ready | ChannelStatus::Closing)
        || ch.is_settling_on_chain()
    {
        return Err(fail(format!(
            "commitment_signed while the channel is {}",
            ch.rec.status.as_str()
        )));
    }
    let c = &ch.rec.commitment;
    let old = c.local.clone();
    let pos = Position {
        local: c.remote.current.pos.local,
        remote: c.ledger.next_seq.remote,
    };
    if pos == old.pos {
        return Err(fail("commitment_signed without any update"));
    }
    let n = old.number + 1;
    let view = c
        .ledger
        .view(pos)
        .map_err(|e| fail(format!("commitment_signed for an impossible state: {e}")))?;
    let tx = local_commitment(
        &ch.secp,
        &ch.rec.params,
        &ch.secrets,
        number(n)?,
        &view.balances(),
    )?;
    super::commitments::verify_commitment_signature(
        &ch.secp,
        &ch.rec.params,
        &tx.tx,
        &m.signature,
    )?;
    let htlc_txs = tx.htlc_txs()?;
    if m.htlc_signature.len() != htlc_txs.len() {
        return Err(fail(format!(
            "commitment_signed has {} HTLC signatures for {} HTLC outputs",
            m.htlc_signature.len(),
            htlc_txs.len()
        )));
    }
    let their_htlc_key = tx.keys().remote_htlcpubkey;
    for (i, (htlc_tx, sig)) in htlc_txs.iter().zip(&m.htlc_signature).enumerate() {
        htlc_tx
            .verify(&ch.secp, sig, &their_htlc_key)
            .map_err(|_| fail(format!("HTLC signature {i} does not verify")))?;
    }
    let floor_before = floor(ch);
    let id = ch.id();
    let local = LocalCommitment {
        number: n,
        pos,
        next_remote_id: ch.rec.commitment.ledger.next_id.remote,
        revoked_while_awaiting: ch.rec.commitment.remote.pending.map(|p| p.number),
        signature: m.signature,
        htlc_signatures: m.htlc_signature.clone(),
    };
    // The peer's updates this commitment takes (ours in it were stored when we signed them).
    let mut ops = vec![record::local_commitment_row(&id, &local)];
    ops.extend(record::update_rows(
        &id,
        &ch.rec
            .commitment
            .ledger
            .updates_of(Party::Remote, old.pos.remote..pos.remote),
    ));
    ch.rec.commitment.local = local;
    for op in ops {
        ch.persist(op);
    }
    after_change(ch, floor_before);
    let revoke = our_revoke_and_ack(ch)?;
    ch.send(Message::RevokeAndAck(revoke));
    sign_if_needed(ch)?;
    super::shutdown::progress(ch)
}

/// Our `revoke_and_ack` for our current commitment: the previous one's secret and the point
/// of the next (sent when the peer signs, and again when it is retransmitted).
pub(super) fn our_revoke_and_ack(ch: &Channel) -> Result<RevokeAndAck, ChannelError> {
    let n = ch.rec.commitment.local.number;
    let revoked = n
        .checked_sub(1)
        .ok_or_else(|| ChannelError::Internal("no revoked commitment".into()))?;
    Ok(RevokeAndAck {
        channel_id: ch.id(),
        per_commitment_secret: ch
            .secrets
            .per_commitment_secret(number(revoked)?)
            .to_bytes(),
        next_per_commitment_point: ch.secrets.per_commitment_point(&ch.secp, number(n + 1)?)?.0,
        tlvs: crate::wire::Extension::default(),
    })
}

/// Our `commitment_signed` for the pending commitment of the peer's, to retransmit it
/// (deterministic signatures: it is the same message).
pub(super) fn pending_commitment_signed(ch: &Channel) -> Result<CommitmentSigned, ChannelError> {
    let c = &ch.rec.commitment;
    let pending = c
        .remote
        .pending
        .ok_or_else(|| ChannelError::Internal("no pending commitment".into()))?;
    let point = c
        .remote
        .next_point
        .ok_or_else(|| ChannelError::Internal("no point for the pending commitment".into()))?;
    Ok(sign_remote(ch, pending.number, pending.pos, &point)?.0)
}

/// The peer's `revoke_and_ack`: its secret must match the point of the commitment it
/// revokes and fit the shachain; the revoked state goes to the revocation log.
pub(super) fn on_revoke_and_ack(ch: &mut Channel, m: &RevokeAndAck) -> Result<(), ChannelError> {
    let c = &ch.rec.commitment;
    let Some(pending) = c.remote.pending else {
        return Err(fail("revoke_and_ack without a commitment_signed to answer"));
    };
    let revoked = c.remote.current;
    let secret = PerCommitmentSecret::from_bytes(m.per_commitment_secret);
    let point = secret
        .point(&ch.secp)
        .map_err(|_| fail("revoke_and_ack secret is not a valid key"))?;
    if point.0 != c.remote.current_point {
        return Err(fail(format!(
            "revoke_and_ack secret does not match commitment {}'s point",
            revoked.number
        )));
    }
    let index = number(revoked.number)?.secret_index();
    let mut secrets = c.their_secrets.clone();
    secrets
        .insert(index, secret)
        .map_err(|e| fail(format!("revoke_and_ack secret rejected: {e}")))?;
    let revoked_state = revoked_state(ch, revoked, &c.remote.current_point)?;
    let floor_before = floor(ch);
    let id = ch.id();
    let bucket = SecretStore::bucket_of(index);
    let (bucket_index, bucket_secret) = secrets
        .entry(bucket)
        .ok_or_else(|| ChannelError::Internal("shachain bucket empty after insert".into()))?;
    let c = &mut ch.rec.commitment;
    c.their_secrets = secrets;
    let new_point = c
        .remote
        .next_point
        .ok_or_else(|| ChannelError::Internal("pending commitment without a point".into()))?;
    c.remote.current = pending;
    c.remote.pending = None;
    c.remote.current_point = new_point;
    c.remote.next_point = Some(m.next_per_commitment_point);
    let ops = [
        record::remote_commitments_row(&id, &c.remote),
        record::remote_point_row(&id, pending.number + 1, &m.next_per_commitment_point),
        record::delete_remote_point(&id, revoked.number),
        record::secret_row(&id, bucket, bucket_index, &bucket_secret),
        record::revoked_state_row(&id, &revoked_state),
    ];
    for op in ops {
        ch.persist(op);
    }
    after_change(ch, floor_before);
    sign_if_needed(ch)?;
    super::shutdown::progress(ch)
}

/// Where each output of the peer's commitment `c` (with `point`) is, for the revocation log.
fn revoked_state(
    ch: &Channel,
    c: RemoteCommitment,
    point: &PublicKey,
) -> Result<RevokedState, ChannelError> {
    let view = ch
        .rec
        .commitment
        .ledger
        .view(c.pos)
        .map_err(|e| ChannelError::Internal(e.to_string()))?;
    let tx = remote_commitment(
        &ch.secp,
        &ch.rec.params,
        number(c.number)?,
        point,
        &view.balances(),
    )?;
    let to_local = tx.to_local_vout.and_then(|vout| {
        let out = tx.tx.output.get(usize::try_from(vout).ok()?)?;
        Some((vout, out.value))
    });
    let keys = output_keys(&tx, &view);
    Ok(RevokedState {
        number: c.number,
        to_local,
        htlcs: tx.htlc_outputs.iter().map(|o| o.vout).zip(keys).collect(),
    })
}

/// The oldest position any live commitment is at: what is below it is agreed by all.
fn floor(ch: &Channel) -> Position {
    let c = &ch.rec.commitment;
    c.local.pos.min(c.remote.current.pos)
}

/// After a commitment moved: tell the node of the peer's HTLCs that became irrevocable,
/// fold what every commitment agrees on (telling the node of our HTLCs that failed for
/// good), and record the folds.
fn after_change(ch: &mut Channel, before: Position) {
    let after = floor(ch);
    let id = ch.id();
    let received: Vec<ChannelEvent> = ch
        .rec
        .commitment
        .ledger
        .htlcs
        .values()
        .filter(|h| {
            h.key.offerer == Party::Remote && (before.remote..after.remote).contains(&h.add_seq)
        })
        .map(ChannelEvent::received)
        .collect();
    for event in received {
        ch.out.event(event);
    }
    let ledger = &mut ch.rec.commitment.ledger;
    let base_before = ledger.base;
    let folded = ledger.fold(after);
    let base_after = ledger.base;
    let mut ops = Vec::new();
    for h in &folded.htlcs {
        ops.push(record::delete_htlc_state(&id, h.key));
    }
    for f in &folded.fees {
        ops.push(record::delete_fee_update(&id, f.seq));
    }
    if base_after != base_before {
        ops.push(record::base_row(&id, &base_after));
    }
    for op in ops {
        ch.persist(op);
    }
    for h in folded.htlcs {
        if h.key.offerer != Party::Local {
            continue;
        }
        if let Some(removal) = h.removal {
            if !matches!(removal.resolution, Resolution::Fulfilled { .. }) {
                ch.out.event(ChannelEvent::HtlcFailed {
                    id: h.key.id,
                    resolution: removal.resolution,
                });
            }
        }
    }
    if base_after.feerate != base_before.feerate {
        ch.out.event(ChannelEvent::FeerateChanged {
            feerate: base_after.feerate,
        });
    }
}
