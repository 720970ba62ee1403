//! Closing with HTLCs in flight (BOLT 2 "Channel Close"): `shutdown` first, HTLCs settle,
//! then `closing_signed`; and the timeouts and refusals around it.

use super::pair::{closing_script, Pair, Who};
use crate::channel::Command;
use crate::units::FeeratePerKw;
use crate::wire::Message;

fn closing_signed_sent(p: &Pair, who: Who) -> usize {
    p.sent_names(who)
        .iter()
        .filter(|n| **n == "closing_signed")
        .count()
}

#[test]
fn shutdown_waits_for_htlcs_to_settle() {
    let mut p = Pair::new();
    let id = p.add(Who::A, 30_000_000, 4);
    p.drive();
    let now = p.now;
    p.a.ch
        .handle_close(&closing_script(Who::A), FeeratePerKw(2_500), now)
        .unwrap();
    p.process(Who::A);
    p.drive();
    // Both shutdowns went by, but an HTLC is pending: no closing_signed yet.
    assert!(p.sent_names(Who::B).contains(&"shutdown"));
    assert_eq!(closing_signed_sent(&p, Who::A), 0);
    // New HTLCs are refused from now on.
    assert!(p
        .command(
            Who::B,
            Command::AddHtlc(super::pair::htlc(1_000_000, 5, 400))
        )
        .is_err());
    // B settles it; then the funder proposes and the close completes.
    p.fulfill(Who::B, id, 4);
    p.drive();
    assert!(closing_signed_sent(&p, Who::A) >= 1);
    let a_tx = p.a.ch.record().close.closing_tx.clone().expect("A agreed");
    let b_tx = p.b.ch.record().close.closing_tx.clone().expect("B agreed");
    assert_eq!(a_tx.compute_txid(), b_tx.compute_txid());
    // B's output holds what it had plus the fulfilled HTLC.
    let b_out = a_tx
        .output
        .iter()
        .find(|o| o.script_pubkey == closing_script(Who::B))
        .unwrap();
    assert_eq!(b_out.value.to_sat(), 300_000 + 30_000);
}

#[test]
fn closing_signed_before_quiet_fails_the_channel() {
    let mut p = Pair::new();
    p.add(Who::A, 30_000_000, 4);
    p.drive();
    let now = p.now;
    p.a.ch
        .handle_close(&closing_script(Who::A), FeeratePerKw(2_500), now)
        .unwrap();
    p.process(Who::A);
    p.drive();
    let msg = Message::ClosingSigned(crate::wire::ClosingSigned {
        channel_id: p.a.ch.id(),
        fee_satoshis: bitcoin::Amount::from_sat(1_000),
        signature: p.b.ch.record().commitment.local.signature,
        tlvs: crate::wire::ClosingSignedTlvs::default(),
    });
    p.b.inbox.push_back(msg);
    assert!(p.deliver_one(Who::B));
    assert!(p.failed(Who::B));
}

#[test]
fn unanswered_closing_signed_fails_the_channel() {
    let mut p = Pair::new();
    let now = p.now;
    p.a.ch
        .handle_close(&closing_script(Who::A), FeeratePerKw(2_500), now)
        .unwrap();
    p.process(Who::A);
    // B answers the shutdown; A proposes; B never answers the proposal.
    assert!(p.deliver_one(Who::B));
    assert!(p.deliver_one(Who::A));
    assert_eq!(closing_signed_sent(&p, Who::A), 1);
    p.b.inbox.clear();
    p.now.time += 60;
    let now = p.now;
    p.a.ch.handle_tick(now);
    p.process(Who::A);
    assert!(!p.failed(Who::A), "too early");
    p.now.time += 120;
    let now = p.now;
    p.a.ch.handle_tick(now);
    p.process(Who::A);
    assert!(p.failed(Who::A));
}

#[test]
fn our_shutdown_waits_until_our_updates_are_committed() {
    // BOLT 2: "if there are updates pending on the receiving node's commitment transaction:
    // MUST NOT send a `shutdown`". B has signed one HTLC and, awaiting A's revoke_and_ack,
    // offers another that no commitment holds yet when A's shutdown arrives.
    let mut p = Pair::new();
    p.add(Who::B, 2_000_000, 1);
    p.add(Who::B, 3_000_000, 2);
    assert_eq!(p.sent_names(Who::B).last(), Some(&"update_add_htlc"));
    let now = p.now;
    p.a.ch
        .handle_close(&closing_script(Who::A), FeeratePerKw(2_500), now)
        .unwrap();
    p.process(Who::A);
    // A's shutdown reaches B first.
    let shutdown = p.b.inbox.pop_back().unwrap();
    assert!(matches!(shutdown, Message::Shutdown(_)));
    p.b.inbox.push_front(shutdown);
    assert!(p.deliver_one(Who::B));
    assert!(
        !p.sent_names(Who::B).contains(&"shutdown"),
        "B replied too early"
    );
    p.drive();
    // B's reply came after the commitment_signed holding its second HTLC (its second).
    let names = p.sent_names(Who::B);
    let reply = names
        .iter()
        .position(|n| *n == "shutdown")
        .unwrap_or_else(|| panic!("B never replied: {names:?} {:?}", p.errors(Who::A)));
    let signed_before = names[..reply]
        .iter()
        .filter(|n| **n == "commitment_signed")
        .count();
    assert!(signed_before >= 2, "{names:?}");
    assert!(!p.failed(Who::A) && !p.failed(Who::B));
    p.assert_consistent();
}
