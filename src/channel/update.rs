//! HTLC and fee updates, both ways (BOLT 2 "Adding an HTLC", "Removing an HTLC", "Updating
//! Fees"): the peer's `update_*` messages are checked against every receiving rule, our
//! commands against every sending rule, and both land in the ledger. Nothing here is
//! persisted: updates become durable with the `commitment_signed` that includes them
//! (BOLT 2 "Message Retransmission": "the receiving node only needs to store updates upon
//! receipt of `commitment_signed`").

use bitcoin::Amount;

use super::core::{Channel, Link};
use super::ledger::{HtlcKey, NewHtlc, Party, Position, Resolution, View};
use super::ledger::{HtlcRecord, Update};
use super::{ChannelError, ChannelStatus};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{
    ChannelId, Message, UpdateAddHtlc, UpdateAddHtlcTlvs, UpdateFailHtlc, UpdateFailHtlcTlvs,
    UpdateFailMalformedHtlc, UpdateFee, UpdateFulfillHtlc, UpdateFulfillHtlcTlvs,
};

/// BOLT 2: `cltv_expiry` at or above this would be a time, not a height.
pub const MAX_CLTV_EXPIRY: u32 = 500_000_000;

/// BOLT 4: the BADONION bit every `update_fail_malformed_htlc` failure code carries (the
/// onion module's, where the other failure flags are).
pub use crate::onion::BADONION;

/// The party whose balance pays the commitment fee.
pub(super) fn funder(ch: &Channel) -> Party {
    ch.rec.commitment.ledger.funder
}

/// The reserve `party` must keep: the `channel_reserve_satoshis` the *other* side asked for.
pub(super) fn reserve_of(ch: &Channel, party: Party) -> Msat {
    let reserve = match party {
        Party::Local => ch.rec.params.remote.channel_reserve,
        Party::Remote => ch.rec.params.local.channel_reserve,
    };
    Msat::from_amount(reserve).unwrap_or(Msat(u64::MAX))
}

/// The dust limit of `owner`'s commitment.
fn dust_limit(ch: &Channel, owner: Party) -> Amount {
    match owner {
        Party::Local => ch.rec.params.local.dust_limit,
        Party::Remote => ch.rec.params.remote.dust_limit,
    }
}

/// What `party` has left on `owner`'s commitment at `view`: its balance, minus the
/// commitment fee if it is the funder (`None` if it cannot even pay that).
pub(super) fn spendable(ch: &Channel, view: &View, owner: Party, party: Party) -> Option<Msat> {
    let balance = view.balance(party);
    if party != funder(ch) {
        return Some(balance);
    }
    let (_, fee) = view.untrimmed_and_fee(owner, dust_limit(ch, owner));
    balance.checked_sub(Msat::from_amount(fee)?)
}

/// The position of the next commitment the peer will sign for us: every update it sent,
/// and ours that it has acknowledged.
fn next_local_position(ch: &Channel) -> Position {
    let c = &ch.rec.commitment;
    Position {
        local: c.remote.current.pos.local,
        remote: c.ledger.next_seq.remote,
    }
}

fn fail(what: impl Into<String>) -> ChannelError {
    ChannelError::Protocol(what.into())
}

/// Updates are for channels in normal operation (or closing, for removals and fees).
fn check_operating(ch: &Channel, what: &'static str, closing_ok: bool) -> Result<(), ChannelError> {
    match ch.rec.status {
        ChannelStatus::Ready => Ok(()),
        ChannelStatus::Closing if closing_ok && !ch.is_settling_on_chain() => Ok(()),
        other => Err(fail(format!(
            "{what} while the channel is {}",
            other.as_str()
        ))),
    }
}

// --- the peer's updates ---------------------------------------------------------------------

/// `update_add_htlc` from the peer.
pub(super) fn on_update_add_htlc(ch: &mut Channel, m: UpdateAddHtlc) -> Result<(), ChannelError> {
    // Our own `shutdown` does not stop the peer's adds sent before it arrived (BOLT 2 only
    // forbids them after the peer's `shutdown`; we will fail them back).
    check_operating(ch, "update_add_htlc", true)?;
    if ch.rec.close.remote_script.is_some() {
        return Err(fail("update_add_htlc after the peer's shutdown"));
    }
    let expected = ch.rec.commitment.ledger.next_id.remote;
    if m.id < expected {
        // BOLT 2: "if the sender did not previously acknowledge the commitment of that
        // HTLC: MUST ignore a repeated `id` value after a reconnection".
        if let Some(known) = ch.rec.commitment.ledger.htlc(Party::Remote, m.id) {
            if known.amount == m.amount_msat
                && known.payment_hash.0 == m.payment_hash.0
                && known.cltv_expiry == m.cltv_expiry
            {
                return Ok(());
            }
        }
        return Err(fail(format!(
            "update_add_htlc id {} repeats an earlier id (next is {expected})",
            m.id
        )));
    }
    if m.id > expected {
        return Err(fail(format!(
            "update_add_htlc id {} skips ids (next is {expected})",
            m.id
        )));
    }
    let params = &ch.rec.params;
    if m.amount_msat.0 == 0 || m.amount_msat < params.local.htlc_minimum {
        return Err(fail(format!(
            "update_add_htlc of {} is below our htlc_minimum_msat {}",
            m.amount_msat, params.local.htlc_minimum
        )));
    }
    if m.cltv_expiry >= MAX_CLTV_EXPIRY {
        return Err(fail(format!(
            "update_add_htlc cltv_expiry {} is not a block height",
            m.cltv_expiry
        )));
    }
    let (max_count, max_value) = (
        params.local.max_accepted_htlcs,
        params.local.max_htlc_value_in_flight,
    );
    ch.rec.commitment.ledger.add_htlc(
        Party::Remote,
        NewHtlc {
            amount: m.amount_msat,
            payment_hash: PaymentHash(m.payment_hash.0),
            cltv_expiry: m.cltv_expiry,
            onion: m.onion_routing_packet,
            path_key: m.tlvs.blinded_path,
        },
    );
    let latest = ch
        .rec
        .commitment
        .ledger
        .latest()
        .map_err(|_| unaffordable())?;
    let (count, total) = latest.offered_by(Party::Remote);
    if count > usize::from(max_count) {
        return Err(fail(format!(
            "the peer offers {count} HTLCs, above our max_accepted_htlcs {max_count}"
        )));
    }
    if total > max_value {
        return Err(fail(format!(
            "the peer offers {total} in HTLCs, above our max_htlc_value_in_flight_msat {max_value}"
        )));
    }
    // BOLT 2: the sender must afford the HTLC (and, as funder, the fee) on our commitment
    // while keeping its reserve.
    let view = ch
        .rec
        .commitment
        .ledger
        .view(next_local_position(ch))
        .map_err(|_| unaffordable())?;
    let left = spendable(ch, &view, Party::Local, Party::Remote).ok_or_else(unaffordable)?;
    if left < reserve_of(ch, Party::Remote) {
        return Err(unaffordable());
    }
    Ok(())
}

fn unaffordable() -> ChannelError {
    fail("the peer cannot afford the HTLC while keeping its channel reserve")
}

/// The live HTLC `key` that may be removed now: BOLT 2 "until the corresponding HTLC is
/// irrevocably committed in both sides' commitment transactions: MUST NOT send
/// `update_fulfill_htlc`, `update_fail_htlc`, or `update_fail_malformed_htlc`".
fn removable(ch: &Channel, key: HtlcKey) -> Result<(), ChannelError> {
    let c = &ch.rec.commitment;
    let who = match key.offerer {
        Party::Local => "our",
        Party::Remote => "the peer's",
    };
    let record = c
        .ledger
        .htlcs
        .get(&key)
        .ok_or_else(|| fail(format!("no HTLC {} of {who}", key.id)))?;
    if record.removal.is_some() {
        return Err(fail(format!(
            "{who} HTLC {} is already being removed",
            key.id
        )));
    }
    if !c.is_committed(record) {
        return Err(fail(format!(
            "{who} HTLC {} is not irrevocably committed yet",
            key.id
        )));
    }
    Ok(())
}

/// `update_fulfill_htlc` from the peer: the preimage must match.
pub(super) fn on_update_fulfill_htlc(
    ch: &mut Channel,
    m: &UpdateFulfillHtlc,
) -> Result<(), ChannelError> {
    check_operating(ch, "update_fulfill_htlc", true)?;
    let key = HtlcKey {
        offerer: Party::Local,
        id: m.id,
    };
    removable(ch, key)?;
    let preimage = PaymentPreimage(m.payment_preimage);
    let hash = ch
        .rec
        .commitment
        .ledger
        .htlc(Party::Local, m.id)
        .map(|h| h.payment_hash);
    if hash != Some(preimage.payment_hash()) {
        return Err(fail(format!(
            "update_fulfill_htlc preimage does not match HTLC {}",
            m.id
        )));
    }
    ch.rec
        .commitment
        .ledger
        .remove_htlc(key, Resolution::Fulfilled { preimage });
    ch.out
        .event(super::ChannelEvent::HtlcFulfilled { id: m.id, preimage });
    Ok(())
}

/// `update_fail_htlc` from the peer.
pub(super) fn on_update_fail_htlc(ch: &mut Channel, m: UpdateFailHtlc) -> Result<(), ChannelError> {
    check_operating(ch, "update_fail_htlc", true)?;
    let key = HtlcKey {
        offerer: Party::Local,
        id: m.id,
    };
    removable(ch, key)?;
    ch.rec
        .commitment
        .ledger
        .remove_htlc(key, Resolution::Failed { reason: m.reason });
    Ok(())
}

/// `update_fail_malformed_htlc` from the peer: "if the BADONION bit in `failure_code` is
/// not set: MUST send a warning and close the connection, or send an error and fail the
/// channel".
pub(super) fn on_update_fail_malformed_htlc(
    ch: &mut Channel,
    m: &UpdateFailMalformedHtlc,
) -> Result<(), ChannelError> {
    check_operating(ch, "update_fail_malformed_htlc", true)?;
    if m.failure_code & BADONION == 0 {
        return Err(fail(format!(
            "update_fail_malformed_htlc failure_code {:#06x} lacks the BADONION bit",
            m.failure_code
        )));
    }
    let key = HtlcKey {
        offerer: Party::Local,
        id: m.id,
    };
    removable(ch, key)?;
    ch.rec.commitment.ledger.remove_htlc(
        key,
        Resolution::Malformed {
            sha256_of_onion: m.sha256_of_onion.0,
            failure_code: m.failure_code,
        },
    );
    Ok(())
}

/// `update_fee` from the peer: only the funder may send it, within our bounds, and it must
/// afford the new fee on our commitment.
pub(super) fn on_update_fee(ch: &mut Channel, m: &UpdateFee) -> Result<(), ChannelError> {
    check_operating(ch, "update_fee", true)?;
    if funder(ch) != Party::Remote {
        return Err(fail("update_fee from the peer, which does not pay the fee"));
    }
    let rate = m.feerate_per_kw;
    if rate < ch.config.min_feerate || rate > ch.config.max_feerate {
        return Err(fail(format!(
            "update_fee {rate} is outside {}..={}",
            ch.config.min_feerate, ch.config.max_feerate
        )));
    }
    ch.rec.commitment.ledger.update_fee(rate);
    let view = ch
        .rec
        .commitment
        .ledger
        .view(next_local_position(ch))
        .map_err(|_| fail("update_fee leaves the funder overdrawn"))?;
    if spendable(ch, &view, Party::Local, Party::Remote).is_none() {
        return Err(fail(format!(
            "the peer cannot afford update_fee {rate} on our commitment"
        )));
    }
    Ok(())
}

// --- our updates -----------------------------------------------------------------------------

/// Why we cannot do what was asked (the channel is not failed: nothing was sent).
fn refuse(what: impl Into<String>) -> ChannelError {
    ChannelError::Refused(what.into())
}

fn check_can_send(ch: &Channel) -> Result<(), ChannelError> {
    if ch.link != Link::Up {
        return Err(refuse("the peer is not connected"));
    }
    Ok(())
}

/// Offers an HTLC: checks every sending rule of BOLT 2 "Adding an HTLC", then sends
/// `update_add_htlc`. Returns its id.
pub(super) fn add_htlc(ch: &mut Channel, htlc: NewHtlc) -> Result<u64, ChannelError> {
    if ch.rec.status != ChannelStatus::Ready || ch.is_settling_on_chain() {
        return Err(refuse(format!(
            "the channel is {}; HTLCs need a ready channel",
            ch.rec.status.as_str()
        )));
    }
    if ch.rec.close.local_script.is_some() || ch.rec.close.remote_script.is_some() {
        return Err(refuse("the channel is shutting down"));
    }
    check_can_send(ch)?;
    let params = &ch.rec.params;
    if htlc.amount.0 == 0 || htlc.amount < params.remote.htlc_minimum {
        return Err(refuse(format!(
            "{} is below the peer's htlc_minimum_msat {}",
            htlc.amount, params.remote.htlc_minimum
        )));
    }
    if htlc.cltv_expiry >= MAX_CLTV_EXPIRY {
        return Err(refuse("cltv_expiry must be a block height below 500000000"));
    }
    let (max_count, max_value) = (
        params.remote.max_accepted_htlcs,
        params.remote.max_htlc_value_in_flight,
    );
    // The latest state with the HTLC added (taken from our balance).
    let ledger = &ch.rec.commitment.ledger;
    let mut latest = ledger
        .latest()
        .map_err(|_| refuse("not enough balance for the HTLC"))?;
    latest.ours = latest
        .ours
        .checked_sub(htlc.amount)
        .ok_or_else(|| refuse("not enough balance for the HTLC"))?;
    let key = HtlcKey {
        offerer: Party::Local,
        id: ledger.next_id.local,
    };
    latest.htlcs.push((key, htlc.as_offered()));
    let (count, total) = latest.offered_by(Party::Local);
    if count > usize::from(max_count) {
        return Err(refuse(format!(
            "the peer accepts at most {max_count} HTLCs from us"
        )));
    }
    if total > max_value {
        return Err(refuse(format!(
            "HTLCs in flight would total {total}, above the peer's max_htlc_value_in_flight_msat {max_value}"
        )));
    }
    // Our balance after the HTLC, on both commitments, must keep our reserve. As funder we
    // also pay the fee, and keep BOLT 2's recommended "fee spike buffer": the fee at twice
    // the feerate with one more HTLC. As non-funder, the funder must still afford the fee.
    let we_fund = funder(ch) == Party::Local;
    for owner in [Party::Local, Party::Remote] {
        if we_fund {
            let mut view = latest.clone();
            view.feerate = FeeratePerKw(view.feerate.0.saturating_mul(2));
            let (untrimmed, _) = view.untrimmed_and_fee(owner, dust_limit(ch, owner));
            let fee = view
                .feerate
                .fee_for_weight(crate::tx::weight::commitment_weight(untrimmed + 1));
            let fee = Msat::from_amount(fee).unwrap_or(Msat(u64::MAX));
            if view
                .ours
                .checked_sub(fee)
                .is_none_or(|left| left < reserve_of(ch, Party::Local))
            {
                return Err(refuse(
                    "not enough balance for the HTLC, the commitment fee and our reserve",
                ));
            }
        } else {
            if latest.ours < reserve_of(ch, Party::Local) {
                return Err(refuse("not enough balance for the HTLC and our reserve"));
            }
            if spendable(ch, &latest, owner, Party::Remote).is_none() {
                return Err(refuse("the peer could not pay the commitment fee"));
            }
        }
    }
    let key = ch.rec.commitment.ledger.add_htlc(Party::Local, htlc);
    if let Some(h) = ch.rec.commitment.ledger.htlcs.get(&key) {
        let msg = add_message(ch.id(), h);
        ch.send(msg);
    }
    Ok(key.id)
}

/// Fulfills the peer's HTLC `id` with `preimage`.
pub(super) fn fulfill_htlc(
    ch: &mut Channel,
    id: u64,
    preimage: PaymentPreimage,
) -> Result<(), ChannelError> {
    check_operating(ch, "fulfill", true).map_err(|e| refuse(e.to_string()))?;
    let key = HtlcKey {
        offerer: Party::Remote,
        id,
    };
    removable(ch, key).map_err(|e| refuse(e.to_string()))?;
    if ch
        .rec
        .commitment
        .ledger
        .htlc(Party::Remote, id)
        .map(|h| h.payment_hash)
        != Some(preimage.payment_hash())
    {
        return Err(refuse(
            "the preimage does not match the HTLC's payment hash",
        ));
    }
    remove_theirs(ch, key, Resolution::Fulfilled { preimage });
    Ok(())
}

/// Fails the peer's HTLC `id` (`update_fail_htlc` or `update_fail_malformed_htlc`).
pub(super) fn fail_htlc(
    ch: &mut Channel,
    id: u64,
    resolution: Resolution,
) -> Result<(), ChannelError> {
    check_operating(ch, "fail", true).map_err(|e| refuse(e.to_string()))?;
    if let Resolution::Malformed { failure_code, .. } = resolution {
        if failure_code & BADONION == 0 {
            return Err(refuse(
                "a malformed-HTLC failure code needs the BADONION bit",
            ));
        }
    }
    let key = HtlcKey {
        offerer: Party::Remote,
        id,
    };
    removable(ch, key).map_err(|e| refuse(e.to_string()))?;
    remove_theirs(ch, key, resolution);
    Ok(())
}

/// Removes the peer's HTLC `key` as `resolution` says and sends the message that tells the
/// peer (`update_fulfill_htlc`, `update_fail_htlc` or `update_fail_malformed_htlc`).
fn remove_theirs(ch: &mut Channel, key: HtlcKey, resolution: Resolution) {
    ch.rec.commitment.ledger.remove_htlc(key, resolution);
    if let Some(msg) = ch
        .rec
        .commitment
        .ledger
        .htlcs
        .get(&key)
        .and_then(|h| removal_message(ch.id(), h))
    {
        ch.send(msg);
    }
}

/// Changes the commitment feerate (funder only), if we can afford it on both commitments.
pub(super) fn update_fee(ch: &mut Channel, rate: FeeratePerKw) -> Result<(), ChannelError> {
    check_operating(ch, "update_fee", true).map_err(|e| refuse(e.to_string()))?;
    if ch.rec.close.closing_tx.is_some() || ch.rec.close.last_sent_fee.is_some() {
        return Err(refuse("the closing negotiation has started"));
    }
    if funder(ch) != Party::Local {
        return Err(refuse("only the funder sends update_fee"));
    }
    check_can_send(ch)?;
    if rate < ch.config.min_feerate || rate > ch.config.max_feerate {
        return Err(refuse(format!(
            "{rate} is outside {}..={}",
            ch.config.min_feerate, ch.config.max_feerate
        )));
    }
    // The latest state at the new feerate.
    let mut latest = ch
        .rec
        .commitment
        .ledger
        .latest()
        .map_err(|_| refuse("the ledger is overdrawn"))?;
    latest.feerate = rate;
    for owner in [Party::Local, Party::Remote] {
        let left = spendable(ch, &latest, owner, Party::Local);
        if left.is_none_or(|l| l < reserve_of(ch, Party::Local)) {
            return Err(refuse(format!(
                "we cannot afford {rate} while keeping our reserve"
            )));
        }
    }
    ch.rec.commitment.ledger.update_fee(rate);
    ch.send(fee_message(ch.id(), rate));
    Ok(())
}

// --- messages from the ledger ----------------------------------------------------------------

/// The `update_add_htlc` of our HTLC `h`.
fn add_message(channel_id: ChannelId, h: &HtlcRecord) -> Message {
    Message::UpdateAddHtlc(UpdateAddHtlc {
        channel_id,
        id: h.key.id,
        amount_msat: h.amount,
        payment_hash: crate::wire::Sha256(h.payment_hash.0),
        cltv_expiry: h.cltv_expiry,
        onion_routing_packet: h.onion.clone(),
        tlvs: UpdateAddHtlcTlvs {
            blinded_path: h.path_key,
            unknown: Vec::new(),
        },
    })
}

/// The removal message of the peer's HTLC `h`, as we sent it (`None` before a removal).
fn removal_message(channel_id: ChannelId, h: &HtlcRecord) -> Option<Message> {
    let id = h.key.id;
    Some(match &h.removal.as_ref()?.resolution {
        Resolution::Fulfilled { preimage } => Message::UpdateFulfillHtlc(UpdateFulfillHtlc {
            channel_id,
            id,
            payment_preimage: preimage.0,
            tlvs: UpdateFulfillHtlcTlvs::default(),
        }),
        Resolution::Failed { reason } => Message::UpdateFailHtlc(UpdateFailHtlc {
            channel_id,
            id,
            reason: reason.clone(),
            tlvs: UpdateFailHtlcTlvs::default(),
        }),
        Resolution::Malformed {
            sha256_of_onion,
            failure_code,
        } => Message::UpdateFailMalformedHtlc(UpdateFailMalformedHtlc {
            channel_id,
            id,
            sha256_of_onion: crate::wire::Sha256(*sha256_of_onion),
            failure_code: *failure_code,
            tlvs: crate::wire::Extension::default(),
        }),
    })
}

/// An `update_fee` to `rate`.
fn fee_message(channel_id: ChannelId, rate: FeeratePerKw) -> Message {
    Message::UpdateFee(UpdateFee {
        channel_id,
        feerate_per_kw: rate,
        tlvs: crate::wire::Extension::default(),
    })
}

/// Our updates with sequence numbers in `from..to`, as messages, in the order we sent them
/// (to retransmit them).
pub(super) fn our_updates(ch: &Channel, from: u64, to: u64) -> Vec<Message> {
    let id = ch.id();
    ch.rec
        .commitment
        .ledger
        .updates_of(Party::Local, from..to)
        .into_iter()
        .filter_map(|(_, update)| match update {
            Update::Add(h) => Some(add_message(id, h)),
            Update::Removal(h) => removal_message(id, h),
            Update::Fee(f) => Some(fee_message(id, f.feerate)),
        })
        .collect()
}
