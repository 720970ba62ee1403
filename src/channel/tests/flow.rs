//! The happy paths: HTLCs both ways, fee updates, commitments moving in step.

use super::pair::{Pair, Who};
use crate::channel::{ChannelEvent, Command};
use crate::units::{FeeratePerKw, Msat};

#[test]
fn an_htlc_goes_across_and_is_fulfilled() {
    let mut p = Pair::new();
    let before_a = p.balances(Who::A);
    let id = p.add(Who::A, 50_000_000, 1);
    p.drive();
    p.assert_consistent();
    assert!(p
        .b
        .events
        .iter()
        .any(|e| matches!(e, ChannelEvent::HtlcReceived { id: 0, .. })));
    p.fulfill(Who::B, id, 1);
    p.drive();
    p.assert_consistent();
    assert!(p.quiet());
    let after_a = p.balances(Who::A);
    assert_eq!(after_a.0, Msat(before_a.0 .0 - 50_000_000));
    assert_eq!(after_a.1, Msat(before_a.1 .0 + 50_000_000));
    assert!(p
        .a
        .events
        .iter()
        .any(|e| matches!(e, ChannelEvent::HtlcFulfilled { id: 0, .. })));
    // Two full dances: each side at commitment 4? At least both moved.
    assert!(p.a.ch.record().commitment.local.number >= 2);
}

#[test]
fn a_failed_htlc_returns_the_money() {
    let mut p = Pair::new();
    let before = p.balances(Who::B);
    let id = p.add(Who::B, 10_000_000, 2);
    p.drive();
    p.command(
        Who::A,
        Command::Fail {
            id,
            reason: vec![1, 2, 3],
        },
    )
    .unwrap();
    p.drive();
    p.assert_consistent();
    assert!(p.quiet());
    assert_eq!(p.balances(Who::B), before);
    assert!(p
        .b
        .events
        .iter()
        .any(|e| matches!(e, ChannelEvent::HtlcFailed { id: 0, .. })));
}

#[test]
fn the_funder_updates_the_fee() {
    let mut p = Pair::new();
    p.command(Who::A, Command::UpdateFee(FeeratePerKw(5_000)))
        .unwrap();
    p.drive();
    p.assert_consistent();
    assert!(p.quiet());
    assert_eq!(p.a.ch.record().commitment.feerate(), FeeratePerKw(5_000));
    assert_eq!(p.b.ch.record().commitment.feerate(), FeeratePerKw(5_000));
    assert!(p.b.events.contains(&ChannelEvent::FeerateChanged {
        feerate: FeeratePerKw(5_000)
    }));
}

#[test]
fn many_htlcs_both_ways_settle() {
    let mut p = Pair::new();
    let mut a_ids = Vec::new();
    let mut b_ids = Vec::new();
    for n in 0..5 {
        a_ids.push((p.add(Who::A, 1_000_000 + n * 1000, 100 + n), 100 + n));
        b_ids.push((p.add(Who::B, 2_000_000 + n * 1000, 200 + n), 200 + n));
    }
    p.drive();
    p.assert_consistent();
    for (id, n) in a_ids {
        p.fulfill(Who::B, id, n);
    }
    for (id, _) in b_ids {
        p.command(
            Who::A,
            Command::Fail {
                id,
                reason: vec![9],
            },
        )
        .unwrap();
    }
    p.drive();
    p.assert_consistent();
    assert!(p.quiet());
}

#[test]
fn a_restart_resumes_from_the_store() {
    let mut p = Pair::new();
    let id = p.add(Who::A, 5_000_000, 3);
    p.drive();
    p.disconnect();
    p.restart(Who::A);
    p.restart(Who::B);
    p.reconnect();
    p.assert_consistent();
    p.fulfill(Who::B, id, 3);
    p.drive();
    p.assert_consistent();
    assert!(p.quiet());
}

#[test]
fn an_offered_htlc_past_its_expiry_fails_the_channel() {
    // BOLT 2 "Forwarding HTLCs": an HTLC we offered must be resolved on chain before the
    // incoming side could time out; a peer that never settles it leaves us that choice.
    let mut p = Pair::new();
    let expiry = p.now.height + 200;
    p.add(Who::A, 5_000_000, 9);
    p.drive();
    p.now.height = expiry + 2;
    let now = p.now;
    p.a.ch.handle_block(now);
    p.process(Who::A);
    assert!(!p.failed(Who::A), "within the grace period");
    p.now.height = expiry + 3;
    let now = p.now;
    p.a.ch.handle_block(now);
    p.process(Who::A);
    assert!(p.failed(Who::A));
    assert_eq!(p.a.broadcasts.len(), 1);
}
