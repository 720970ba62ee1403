//! Every receiving rule of BOLT 2 "Normal Operation" the core enforces, one test each: the
//! peer (a hand-crafted message in the inbox) breaks exactly one rule, and the receiver
//! fails the channel (its commitment recorded, then an `error`, then the broadcast) or
//! reacts as the table in `channel/mod.rs` says. Plus our own sending rules.

use bitcoin::secp256k1::ecdsa::Signature;

use super::pair::{htlc, preimage, Pair, PairConfig, Who};
use crate::channel::{Action, ChannelError, Command, NewHtlc};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{
    ChannelId, Message, RevokeAndAck, Sha256, UpdateAddHtlc, UpdateAddHtlcTlvs,
    UpdateFailMalformedHtlc, UpdateFee, UpdateFulfillHtlc,
};

fn id(p: &Pair) -> ChannelId {
    p.a.ch.id()
}

fn add_msg(p: &Pair, htlc_id: u64, amount: u64, expiry: u32) -> Message {
    Message::UpdateAddHtlc(UpdateAddHtlc {
        channel_id: id(p),
        id: htlc_id,
        amount_msat: Msat(amount),
        payment_hash: Sha256(preimage(htlc_id).payment_hash().0),
        cltv_expiry: expiry,
        onion_routing_packet: Box::new([0; 1366]),
        tlvs: UpdateAddHtlcTlvs::default(),
    })
}

/// Hands `msg` to `to` as if its peer had sent it.
fn inject(p: &mut Pair, to: Who, msg: Message) {
    p.node(to).inbox.push_back(msg);
    assert!(p.deliver_one(to));
}

/// `who` failed the channel: the force close stored before the `error`, which came before
/// the broadcast.
fn assert_failed(p: &Pair, who: Who) {
    let node = match who {
        Who::A => &p.a,
        Who::B => &p.b,
    };
    assert!(p.failed(who), "{who:?} did not fail the channel");
    assert!(
        matches!(node.sent.last(), Some(Message::Error(_))),
        "{who:?} sent no error: {:?}",
        p.sent_names(who)
    );
    assert_eq!(node.broadcasts.len(), 1, "{who:?} broadcast its commitment");
    let stored = node.stored();
    assert!(
        stored.close.force_closed.is_some(),
        "the force close is durable"
    );
}

#[test]
fn add_below_minimum_fails_the_channel() {
    let mut config = PairConfig::default();
    config.b.htlc_minimum = Msat(5_000);
    let mut p = Pair::with(&config);
    let msg = add_msg(&p, 0, 4_999, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn add_of_zero_fails_the_channel() {
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 0, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn add_over_max_in_flight_fails_the_channel() {
    let mut p = Pair::new();
    p.b.ch.rec.params.local.max_htlc_value_in_flight = Msat(10_000_000);
    let first = add_msg(&p, 0, 6_000_000, 300);
    inject(&mut p, Who::B, first);
    assert!(!p.failed(Who::B));
    let second = add_msg(&p, 1, 6_000_000, 300);
    inject(&mut p, Who::B, second);
    assert_failed(&p, Who::B);
}

#[test]
fn add_over_max_accepted_fails_the_channel() {
    let mut config = PairConfig::default();
    config.b.max_accepted_htlcs = 2;
    let mut p = Pair::with(&config);
    for n in 0..2 {
        let msg = add_msg(&p, n, 1_000_000, 300);
        inject(&mut p, Who::B, msg);
        assert!(!p.failed(Who::B));
    }
    let msg = add_msg(&p, 2, 1_000_000, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn unaffordable_add_fails_the_channel() {
    // A holds 700,000 sat and must keep a 10,000 sat reserve plus the fee.
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 695_000_000, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn add_with_time_expiry_fails_the_channel() {
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 1_000_000, 500_000_000);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn add_with_skipped_id_fails_the_channel() {
    let mut p = Pair::new();
    let msg = add_msg(&p, 1, 1_000_000, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn add_reusing_an_id_fails_the_channel() {
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 1_000_000, 300);
    inject(&mut p, Who::B, msg);
    let reused = add_msg(&p, 0, 2_000_000, 300);
    inject(&mut p, Who::B, reused);
    assert_failed(&p, Who::B);
}

#[test]
fn a_retransmitted_add_is_ignored() {
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 1_000_000, 300);
    inject(&mut p, Who::B, msg.clone());
    inject(&mut p, Who::B, msg);
    assert!(!p.failed(Who::B));
    assert!(p.b.sent.is_empty() || !p.sent_names(Who::B).contains(&"error"));
}

#[test]
fn add_after_shutdown_fails_the_channel() {
    let mut p = Pair::new();
    let script = bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::from_byte_array([1; 20]),
    ));
    p.b.ch
        .set_closing_preferences(script.clone(), FeeratePerKw(2_500));
    let shutdown = Message::Shutdown(crate::wire::Shutdown {
        channel_id: id(&p),
        scriptpubkey: script.to_bytes(),
        tlvs: crate::wire::Extension::default(),
    });
    inject(&mut p, Who::B, shutdown);
    assert!(!p.failed(Who::B));
    let msg = add_msg(&p, 0, 1_000_000, 300);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn fulfill_of_unknown_htlc_fails_the_channel() {
    let mut p = Pair::new();
    let msg = Message::UpdateFulfillHtlc(UpdateFulfillHtlc {
        channel_id: id(&p),
        id: 5,
        payment_preimage: preimage(5).0,
        tlvs: crate::wire::UpdateFulfillHtlcTlvs::default(),
    });
    inject(&mut p, Who::A, msg);
    assert_failed(&p, Who::A);
}

#[test]
fn fulfill_before_commitment_fails_the_channel() {
    let mut p = Pair::new();
    p.add(Who::A, 1_000_000, 0);
    // B has the add, nothing is committed on A's side yet.
    let msg = Message::UpdateFulfillHtlc(UpdateFulfillHtlc {
        channel_id: id(&p),
        id: 0,
        payment_preimage: preimage(0).0,
        tlvs: crate::wire::UpdateFulfillHtlcTlvs::default(),
    });
    p.a.inbox.push_front(msg);
    assert!(p.deliver_one(Who::A));
    assert_failed(&p, Who::A);
}

#[test]
fn fulfill_with_wrong_preimage_fails_the_channel() {
    let mut p = Pair::new();
    p.add(Who::A, 1_000_000, 0);
    p.drive();
    let msg = Message::UpdateFulfillHtlc(UpdateFulfillHtlc {
        channel_id: id(&p),
        id: 0,
        payment_preimage: preimage(99).0,
        tlvs: crate::wire::UpdateFulfillHtlcTlvs::default(),
    });
    inject(&mut p, Who::A, msg);
    assert_failed(&p, Who::A);
}

#[test]
fn malformed_without_badonion_fails_the_channel() {
    let mut p = Pair::new();
    p.add(Who::A, 1_000_000, 0);
    p.drive();
    let msg = Message::UpdateFailMalformedHtlc(UpdateFailMalformedHtlc {
        channel_id: id(&p),
        id: 0,
        sha256_of_onion: Sha256([0; 32]),
        failure_code: 0x4000 | 5,
        tlvs: crate::wire::Extension::default(),
    });
    inject(&mut p, Who::A, msg);
    assert_failed(&p, Who::A);
}

/// A adds an HTLC; its `commitment_signed` to B is taken out of B's inbox and returned.
fn intercepted_commitment(p: &mut Pair) -> crate::wire::CommitmentSigned {
    p.add(Who::A, 10_000_000, 0);
    let add = p.b.inbox.pop_front().unwrap();
    let Some(Message::CommitmentSigned(cs)) = p.b.inbox.pop_front() else {
        panic!("A did not sign");
    };
    p.b.inbox.push_back(add);
    assert!(p.deliver_one(Who::B));
    cs
}

fn other_signature() -> Signature {
    let secp = bitcoin::secp256k1::Secp256k1::new();
    let key = bitcoin::secp256k1::SecretKey::from_slice(&[9; 32]).unwrap();
    secp.sign_ecdsa(&bitcoin::secp256k1::Message::from_digest([1; 32]), &key)
}

#[test]
fn bad_commitment_signature_fails_the_channel() {
    let mut p = Pair::new();
    let mut cs = intercepted_commitment(&mut p);
    cs.signature = other_signature();
    inject(&mut p, Who::B, Message::CommitmentSigned(cs));
    assert_failed(&p, Who::B);
}

#[test]
fn wrong_htlc_signature_count_fails_the_channel() {
    let mut p = Pair::new();
    let mut cs = intercepted_commitment(&mut p);
    assert_eq!(cs.htlc_signature.len(), 1);
    cs.htlc_signature.clear();
    inject(&mut p, Who::B, Message::CommitmentSigned(cs));
    assert_failed(&p, Who::B);
}

#[test]
fn bad_htlc_signature_fails_the_channel() {
    let mut p = Pair::new();
    let mut cs = intercepted_commitment(&mut p);
    cs.htlc_signature[0] = other_signature();
    inject(&mut p, Who::B, Message::CommitmentSigned(cs));
    assert_failed(&p, Who::B);
}

#[test]
fn commitment_without_changes_fails_the_channel() {
    let mut p = Pair::new();
    let msg = Message::CommitmentSigned(crate::wire::CommitmentSigned {
        channel_id: id(&p),
        signature: other_signature(),
        htlc_signature: Vec::new(),
        tlvs: crate::wire::CommitmentSignedTlvs::default(),
    });
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn revoke_with_wrong_secret_fails_the_channel() {
    let mut p = Pair::new();
    p.add(Who::A, 10_000_000, 0);
    // B answers A's commitment_signed; corrupt B's revoke_and_ack on its way to A.
    assert!(p.deliver_one(Who::B));
    assert!(p.deliver_one(Who::B));
    let pos =
        p.a.inbox
            .iter()
            .position(|m| matches!(m, Message::RevokeAndAck(_)))
            .unwrap();
    let Some(Message::RevokeAndAck(mut raa)) = p.a.inbox.remove(pos) else {
        unreachable!()
    };
    raa.per_commitment_secret = [3; 32];
    p.a.inbox.push_front(Message::RevokeAndAck(raa));
    assert!(p.deliver_one(Who::A));
    assert_failed(&p, Who::A);
}

#[test]
fn unexpected_revoke_fails_the_channel() {
    let mut p = Pair::new();
    let point = p.a.ch.record().commitment.remote.current_point;
    let msg = Message::RevokeAndAck(RevokeAndAck {
        channel_id: id(&p),
        per_commitment_secret: [1; 32],
        next_per_commitment_point: point,
        tlvs: crate::wire::Extension::default(),
    });
    inject(&mut p, Who::A, msg);
    assert_failed(&p, Who::A);
}

fn fee_msg(p: &Pair, rate: u32) -> Message {
    Message::UpdateFee(UpdateFee {
        channel_id: id(p),
        feerate_per_kw: FeeratePerKw(rate),
        tlvs: crate::wire::Extension::default(),
    })
}

#[test]
fn update_fee_from_non_funder_fails_the_channel() {
    let mut p = Pair::new();
    // B is the fundee; A receives its update_fee.
    let msg = fee_msg(&p, 3_000);
    inject(&mut p, Who::A, msg);
    assert_failed(&p, Who::A);
}

#[test]
fn update_fee_out_of_bounds_fails_the_channel() {
    for rate in [100, 1_000_000] {
        let mut p = Pair::new();
        let msg = fee_msg(&p, rate);
        inject(&mut p, Who::B, msg);
        assert_failed(&p, Who::B);
    }
}

#[test]
fn unaffordable_update_fee_fails_the_channel() {
    let config = PairConfig {
        push: Msat(985_000_000),
        ..PairConfig::default()
    };
    let mut p = Pair::with(&config);
    let msg = fee_msg(&p, 50_000);
    inject(&mut p, Who::B, msg);
    assert_failed(&p, Who::B);
}

#[test]
fn a_message_before_reestablish_is_refused() {
    let mut p = Pair::new();
    p.disconnect();
    p.connected = true;
    let now = p.now;
    p.b.ch.handle_connected(false, now);
    p.process(Who::B);
    let msg = fee_msg(&p, 3_000);
    inject(&mut p, Who::B, msg);
    assert!(p.b.disconnect_asked);
    assert!(!p.failed(Who::B));
    assert!(p.sent_names(Who::B).contains(&"warning"));
}

#[test]
fn our_adds_keep_the_sending_rules() {
    let mut config = PairConfig::default();
    config.b.htlc_minimum = Msat(5_000);
    config.b.max_accepted_htlcs = 3;
    let mut p = Pair::with(&config);
    let expiry = p.now.height + 100;
    let refused = |p: &mut Pair, h: NewHtlc| {
        matches!(
            p.command(Who::A, Command::AddHtlc(h)),
            Err(ChannelError::Refused(_))
        )
    };
    assert!(
        refused(&mut p, htlc(4_999, 1, expiry)),
        "below the peer's minimum"
    );
    assert!(refused(&mut p, htlc(0, 1, expiry)), "zero");
    assert!(refused(&mut p, htlc(10_000, 1, 500_000_000)), "time expiry");
    // A holds 700,000 sat, its reserve is 10,000 sat, and the fee spike buffer keeps twice
    // the fee of one more HTLC.
    assert!(
        refused(&mut p, htlc(689_000_000, 1, expiry)),
        "fee spike buffer"
    );
    for n in 0..3 {
        p.add(Who::A, 1_000_000, n);
    }
    assert!(
        refused(&mut p, htlc(1_000_000, 9, expiry)),
        "max_accepted_htlcs"
    );
    p.drive();
    p.b.ch.rec.params.local.max_htlc_value_in_flight = Msat(0);
    p.a.ch.rec.params.remote.max_htlc_value_in_flight = Msat(3_500_000);
    assert!(
        refused(&mut p, htlc(600_000, 9, expiry)),
        "max_htlc_value_in_flight"
    );
    // Nothing refused was sent.
    let adds =
        p.a.sent
            .iter()
            .filter(|m| matches!(m, Message::UpdateAddHtlc(_)))
            .count();
    assert_eq!(adds, 3);
    // The fundee keeps its reserve too.
    let b_balance = p.balances(Who::B).0;
    assert!(
        refused(&mut p, htlc(b_balance.0, 1, expiry)),
        "fundee reserve"
    );
}

#[test]
fn every_send_follows_its_persist() {
    // Each commitment_signed and revoke_and_ack comes right after the write that covers it.
    let mut p = Pair::new();
    p.add(Who::A, 1_000_000, 0);
    let mut pending: Vec<Action> = Vec::new();
    for _ in 0..20 {
        for who in [Who::A, Who::B] {
            let Some(msg) = p.node(who).inbox.pop_front() else {
                continue;
            };
            let now = p.now;
            let _ = p.node(who).ch.handle_message(msg, now);
            let actions = p.node(who).ch.poll_actions();
            let mut persisted = false;
            for a in &actions {
                match a {
                    Action::Persist(_) => persisted = true,
                    Action::Send(Message::CommitmentSigned(_) | Message::RevokeAndAck(_)) => {
                        assert!(persisted, "a commitment message before its write");
                    }
                    _ => {}
                }
            }
            pending.extend(actions.iter().cloned());
            // Put them back through the harness.
            for a in actions {
                match a {
                    Action::Persist(batch) => p.node(who).store.apply(&batch).unwrap(),
                    Action::Send(m) => p.node(who.other()).inbox.push_back(m),
                    _ => {}
                }
            }
        }
    }
    assert!(!pending.is_empty());
    p.assert_consistent();
}

#[test]
fn failing_stores_the_force_close_before_the_error() {
    // BOLT 5 "Failing a Channel", persist before send: the commitment about to be broadcast
    // is recorded, then the `error` leaves, then the broadcast.
    let mut p = Pair::new();
    let msg = add_msg(&p, 0, 0, 300);
    inject(&mut p, Who::B, msg);
    let log = &p.b.log;
    let error = log.iter().position(|l| l == "send error").unwrap();
    let broadcast = log.iter().position(|l| l == "broadcast").unwrap();
    assert_eq!(log[error - 1], "persist", "{log:?}");
    assert!(error < broadcast, "{log:?}");
}
