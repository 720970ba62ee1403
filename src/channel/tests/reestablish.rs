//! `channel_reestablish` and retransmission (BOLT 2 "Message Retransmission"): messages lost
//! at every point of the dance come back in the right order, restarts resume from the
//! store, impossible numbers fail the channel, and a node that lost state never broadcasts.

use super::pair::{Pair, PairConfig, Who};
use crate::channel::{ChannelStatus, Command};
use crate::units::FeeratePerKw;
use crate::wire::{ChannelReestablish, Message};

/// Delivers `n` messages to `who`.
fn deliver(p: &mut Pair, who: Who, n: usize) {
    for _ in 0..n {
        assert!(p.deliver_one(who), "nothing to deliver to {who:?}");
    }
}

/// After a reconnection, everything settles and both sides agree.
fn settles(p: &mut Pair) {
    p.reconnect();
    assert!(
        !p.failed(Who::A) && !p.failed(Who::B),
        "A sent {:?} {:?}\nB sent {:?} {:?}",
        p.sent_names(Who::A),
        p.errors(Who::A),
        p.sent_names(Who::B),
        p.errors(Who::B),
    );
    p.assert_consistent();
}

#[test]
fn lost_messages_are_retransmitted_in_order() {
    // A adds an HTLC: add, commitment_signed → B; B: revoke_and_ack, commitment_signed → A;
    // A: revoke_and_ack → B. Cut the connection after each of those deliveries, and also
    // lose what was queued.
    for cut in 0..=5 {
        let mut p = Pair::new();
        let id = p.add(Who::A, 20_000_000, 1);
        let steps = [Who::B, Who::B, Who::A, Who::A, Who::B];
        for who in steps.iter().take(cut) {
            deliver(&mut p, *who, 1);
        }
        p.disconnect();
        settles(&mut p);
        p.fulfill(Who::B, id, 1);
        p.drive();
        p.assert_consistent();
        assert!(p.quiet(), "cut {cut}: not settled");
    }
}

#[test]
fn both_directions_in_flight_are_retransmitted_in_the_order_first_sent() {
    // Both sides add at once, then messages are lost at each point.
    for cut in 0..8 {
        let mut p = Pair::new();
        p.add(Who::A, 1_000_000, 1);
        p.add(Who::B, 2_000_000, 2);
        let mut delivered = 0;
        'outer: for _ in 0..10 {
            for who in [Who::A, Who::B] {
                if delivered == cut {
                    break 'outer;
                }
                if p.deliver_one(who) {
                    delivered += 1;
                }
            }
        }
        p.disconnect();
        settles(&mut p);
        assert!(p.quiet() || p.a.ch.record().commitment.ledger.htlcs.len() == 2);
    }
}

#[test]
fn restarts_at_every_point_resume_from_the_store() {
    for cut in 0..=5 {
        for who in [Who::A, Who::B] {
            let mut p = Pair::new();
            p.command(Who::A, Command::UpdateFee(FeeratePerKw(3_000)))
                .unwrap();
            let steps = [Who::B, Who::B, Who::A, Who::A, Who::B];
            for w in steps.iter().take(cut) {
                deliver(&mut p, *w, 1);
            }
            p.disconnect();
            p.restart(who);
            settles(&mut p);
            assert!(p.quiet(), "cut {cut}, restart {who:?}");
            assert_eq!(p.a.ch.record().commitment.feerate(), FeeratePerKw(3_000));
        }
    }
}

#[test]
fn crashes_right_after_each_write_lose_nothing() {
    // A crash between a write and the sends it covers: the node restarts from its store,
    // reconnects, and the channel goes on.
    for point in 0..6 {
        for who in [Who::A, Who::B] {
            let mut p = Pair::new();
            let id = p.add(Who::A, 5_000_000, 7);
            let mut seen = 0;
            let mut crashed = false;
            for _ in 0..20 {
                for w in [Who::A, Who::B] {
                    if !crashed && w == who && seen == point {
                        p.crash_after_next_persist(who);
                        crashed = true;
                    }
                    if p.deliver_one(w) && w == who {
                        seen += 1;
                    }
                }
            }
            p.disconnect();
            settles(&mut p);
            p.fulfill(Who::B, id, 7);
            p.drive();
            p.assert_consistent();
            assert!(p.quiet(), "point {point}, {who:?}");
        }
    }
}

#[test]
fn uncommitted_updates_are_reversed() {
    let mut p = Pair::new();
    p.add(Who::A, 3_000_000, 1);
    // B gets the add, not the commitment_signed.
    deliver(&mut p, Who::B, 1);
    assert_eq!(p.b.ch.record().commitment.ledger.htlcs.len(), 1);
    p.disconnect();
    assert!(p.b.ch.record().commitment.ledger.htlcs.is_empty());
    assert_eq!(p.b.ch.record().commitment.ledger.next_id.remote, 0);
    settles(&mut p);
    assert_eq!(p.b.ch.record().commitment.ledger.htlcs.len(), 1);
}

#[test]
fn channel_ready_is_retransmitted_at_commitment_one() {
    let mut p = Pair::pending(&PairConfig::default());
    p.disconnect();
    // Both see the funding deep enough while apart: channel_ready is not delivered.
    p.confirm();
    assert_eq!(p.a.ch.status(), ChannelStatus::Pending);
    p.reconnect();
    assert_eq!(p.a.ch.status(), ChannelStatus::Ready);
    assert_eq!(p.b.ch.status(), ChannelStatus::Ready);
    assert!(p.sent_names(Who::A).contains(&"channel_ready"));
}

fn reestablish_from(p: &mut Pair, who: Who) -> ChannelReestablish {
    p.disconnect();
    p.connected = true;
    let now = p.now;
    p.node(who).ch.handle_connected(false, now);
    let actions = p.node(who).ch.poll_actions();
    actions
        .into_iter()
        .find_map(|a| match a {
            crate::channel::Action::Send(Message::ChannelReestablish(m)) => Some(m),
            _ => None,
        })
        .unwrap()
}

fn fails_with(p: &mut Pair, to: Who, msg: ChannelReestablish) {
    let now = p.now;
    p.node(to).ch.handle_connected(false, now);
    p.process(to);
    p.node(to).inbox.clear();
    p.node(to).inbox.push_back(Message::ChannelReestablish(msg));
    assert!(p.deliver_one(to));
    assert!(p.failed(to), "{to:?} did not fail the channel");
    assert_eq!(p.node(to).broadcasts.len(), 1);
}

#[test]
fn next_commitment_number_zero_fails_and_broadcasts() {
    let mut p = Pair::new();
    let mut msg = reestablish_from(&mut p, Who::A);
    msg.next_commitment_number = 0;
    fails_with(&mut p, Who::B, msg);
}

#[test]
fn impossible_numbers_fail_the_channel() {
    let mut p = Pair::new();
    p.command(Who::A, Command::UpdateFee(FeeratePerKw(3_000)))
        .unwrap();
    p.drive();
    let good = reestablish_from(&mut p, Who::A);
    let mut ahead = good.clone();
    ahead.next_commitment_number += 5;
    fails_with(&mut p, Who::B, ahead);
    let mut p = Pair::new();
    for rate in [3_000, 4_000] {
        p.command(Who::A, Command::UpdateFee(FeeratePerKw(rate)))
            .unwrap();
        p.drive();
    }
    let mut behind = reestablish_from(&mut p, Who::A);
    behind.next_revocation_number = 0;
    behind.your_last_per_commitment_secret = [0; 32];
    // B holds commitment 2: a peer two revocations behind lost data.
    fails_with(&mut p, Who::B, behind);
}

#[test]
fn wrong_last_secret_fails_the_channel() {
    let mut p = Pair::new();
    p.command(Who::A, Command::UpdateFee(FeeratePerKw(3_000)))
        .unwrap();
    p.drive();
    let mut msg = reestablish_from(&mut p, Who::A);
    msg.your_last_per_commitment_secret = [7; 32];
    fails_with(&mut p, Who::B, msg);
}

#[test]
fn a_node_behind_never_broadcasts() {
    let mut p = Pair::new();
    // B's state after one update, kept aside (a backup).
    p.command(Who::A, Command::UpdateFee(FeeratePerKw(3_000)))
        .unwrap();
    p.drive();
    let backup = p.b.stored();
    for rate in [4_000, 5_000] {
        p.command(Who::A, Command::UpdateFee(FeeratePerKw(rate)))
            .unwrap();
        p.drive();
    }
    p.disconnect();
    // B comes back from the backup.
    p.b.ch = crate::channel::Channel::new(
        bitcoin::secp256k1::Secp256k1::new(),
        p.b.secrets.clone(),
        backup,
        crate::channel::ChannelConfig::default(),
    );
    p.reconnect();
    // B learned it is behind: an error, never its commitment; A fails the channel.
    assert!(p.b.broadcasts.is_empty(), "B broadcast a stale commitment");
    assert!(p.b.ch.record().close.behind);
    assert!(p.b.stored().close.behind, "durable");
    assert!(p.sent_names(Who::B).contains(&"error"));
    assert!(p.failed(Who::A));
    // Even asked to, B does not broadcast.
    let now = p.now;
    assert!(p.b.ch.handle_force_close("user", now).is_err());
}

#[test]
fn undecided_htlcs_are_announced_again_after_a_restart() {
    let mut p = Pair::new();
    p.add(Who::A, 4_000_000, 3);
    p.drive();
    let received = |p: &Pair| {
        p.b.events
            .iter()
            .filter(|e| matches!(e, crate::channel::ChannelEvent::HtlcReceived { id: 0, .. }))
            .count()
    };
    assert_eq!(received(&p), 1);
    // B dies before deciding; after the restart and reestablish it hears of the HTLC again.
    p.disconnect();
    p.restart(Who::B);
    p.reconnect();
    assert_eq!(received(&p), 2);
    // Once a removal has started, it is not announced again.
    p.fulfill(Who::B, 0, 3);
    p.disconnect();
    p.reconnect();
    assert_eq!(received(&p), 2);
    p.assert_consistent();
}
