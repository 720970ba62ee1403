//! Payments between two real Petrel nodes (issue #14): invoices and keysend over one
//! channel, through the CLI; a paid invoice is not paid twice; what must be refused is refused
//! before anything is sent; and a node killed at each durable write of a payment's life comes
//! back with the payment ended as exactly one success or one failure, never paid twice, and
//! `pay` of the same invoice answering that outcome.
#![allow(clippy::disallowed_methods)]

mod common;

use common::procs::{NodeProcess, RegtestProcess};
use common::two_nodes::{self, assert_ready_and_open, channel, ready_pair, wait_connected};
use common::{wait_for_blocking, DEADLINE};
use serde_json::Value;

/// Waits until both sides agree (see [`two_nodes::wait_settled`]); A's local balance.
fn wait_settled(a: &NodeProcess, b: &NodeProcess, id: &str) -> u64 {
    let (ca, _) = two_nodes::wait_settled(a, b, id);
    ca["local_balance_msat"].as_u64().expect("a balance")
}

fn invoice(node: &NodeProcess, amount: &str) -> Value {
    node.ok(&["invoice", amount, "--description", "test"])
}

fn list(node: &NodeProcess, verb: &str) -> Vec<Value> {
    node.ok(&[verb]).as_array().cloned().unwrap_or_default()
}

#[test]
fn invoices_and_keysend_move_money_both_ways_and_a_paid_invoice_is_not_paid_twice() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    let id = ready_pair(&chain, &a, &b);
    let start = wait_settled(&a, &b, &id);

    // A pays B's invoice.
    let inv = invoice(&b, "25000000");
    let bolt11 = inv["bolt11"].as_str().unwrap();
    let decoded = a.ok(&["decodeinvoice", bolt11]);
    assert_eq!(decoded["payee"], b.node_id.as_str());
    assert_eq!(decoded["amount_msat"], 25_000_000);
    assert_eq!(decoded["payment_hash"], inv["payment_hash"]);
    let paid = a.ok(&["pay", bolt11]);
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["payment_hash"], inv["payment_hash"]);
    assert_eq!(paid["amount_msat"], 25_000_000);
    assert_eq!(paid["fee_msat"], 0);
    assert_eq!(paid["route"][0]["node_id"], b.node_id.as_str());
    let preimage = paid["preimage"].as_str().unwrap().to_string();
    assert_eq!(wait_settled(&a, &b, &id), start - 25_000_000);

    // Paying it again answers the earlier result and moves nothing.
    let again = a.ok(&["pay", bolt11]);
    assert_eq!(again["status"], "succeeded");
    assert_eq!(again["preimage"], preimage.as_str());
    assert_eq!(wait_settled(&a, &b, &id), start - 25_000_000);
    let b_invoices = list(&b, "invoices");
    assert_eq!(b_invoices.len(), 1);
    assert_eq!(b_invoices[0]["status"], "paid");
    assert_eq!(b_invoices[0]["received_msat"], 25_000_000);

    // Keysend both ways; an amountless invoice paid with the amount given.
    let ks = b.ok(&["keysend", &a.node_id, "7000000"]);
    assert_eq!(ks["status"], "succeeded", "{ks}");
    let ks = a.ok(&["keysend", &b.node_id, "1234567"]);
    assert_eq!(ks["status"], "succeeded", "{ks}");
    let any = invoice(&a, "any");
    let (ok, refused) = b.cli(&["pay", any["bolt11"].as_str().unwrap()]);
    assert!(!ok, "an amountless invoice needs --amount-msat: {refused}");
    let paid = b.ok(&[
        "pay",
        any["bolt11"].as_str().unwrap(),
        "--amount-msat",
        "3000000",
    ]);
    assert_eq!(paid["status"], "succeeded", "{paid}");
    let expected = start - 25_000_000 + 7_000_000 - 1_234_567 + 3_000_000;
    assert_eq!(wait_settled(&a, &b, &id), expected);

    // The lists, newest first.
    let a_payments = list(&a, "payments");
    assert_eq!(a_payments.len(), 2);
    assert!(a_payments.iter().all(|p| p["status"] == "succeeded"));
    assert_eq!(a_payments[0]["amount_msat"], 1_234_567);
    let a_invoices = list(&a, "invoices");
    assert_eq!(a_invoices.len(), 2, "the invoice and the keysend received");
    assert!(a_invoices.iter().all(|i| i["status"] == "paid"));
    assert_eq!(list(&b, "payments").len(), 2);
}

#[test]
fn what_cannot_be_paid_is_refused_before_anything_is_sent() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    let id = ready_pair(&chain, &a, &b);
    let start = wait_settled(&a, &b, &id);

    // Expired.
    let expired = b.ok(&["invoice", "1000", "--expiry", "1"]);
    wait_for_blocking("the invoice to expire", DEADLINE, || {
        (b.ok(&["invoices"])[0]["status"] == "expired").then_some(())
    });
    let (ok, refused) = a.cli(&["pay", expired["bolt11"].as_str().unwrap()]);
    assert!(!ok, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("expired"),
        "{refused}"
    );

    // Another network (a mainnet invoice from BOLT 11's examples).
    let mainnet = "lnbc2500u1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpu9qrsgquk0rl77nj30yxdy8j9vdx85fkpmdla2087ne0xh8nhedh8w27kyke0lp53ut353s06fv3qfegext0eh0ymjpf39tuven09sam30g4vgpfna3rh";
    let (ok, refused) = a.cli(&["pay", mainnet]);
    assert!(!ok, "{refused}");

    // Our own invoice, and more than the channel holds.
    let own = invoice(&a, "1000");
    let (ok, refused) = a.cli(&["pay", own["bolt11"].as_str().unwrap()]);
    assert!(!ok, "{refused}");
    let (ok, failed) = a.cli(&["keysend", &b.node_id, "2000000000"]);
    assert!(!ok, "{failed}");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["failure"]["reason"].is_string(), "{failed}");

    assert_eq!(wait_settled(&a, &b, &id), start, "nothing moved");
    let c = channel(&a, &id);
    assert_eq!(
        c["commitment_number"]["local"], 0,
        "no HTLC was ever offered: {c}"
    );
}

/// Where the payer (A) or the payee (B) dies in a payment's life: A's write of the attempt
/// before `update_add_htlc`, A's and B's writes of the commitment dance, B's write of the
/// settled invoice before `update_fulfill_htlc`, A's write of the success.
#[test]
fn a_payment_killed_at_each_write_ends_once_and_pay_answers_its_outcome() {
    let points: [(bool, &str); 9] = [
        (true, "payment_attempt_stored"),
        (true, "stored_before_commitment_signed#1"),
        (true, "stored_before_revoke_and_ack#1"),
        (true, "payment_succeeded_stored"),
        (true, "stored_before_revoke_and_ack#2"),
        (false, "stored_before_revoke_and_ack#1"),
        (false, "stored_before_commitment_signed#1"),
        (false, "invoice_settled_stored"),
        (false, "stored_before_revoke_and_ack#2"),
    ];
    let chain = RegtestProcess::start();
    for (on_a, point) in points {
        eprintln!("crash point {point} on {}", if on_a { "A" } else { "B" });
        let mut a = NodeProcess::start(&chain, &[]);
        let mut b = NodeProcess::start(&chain, &[]);
        let id = ready_pair(&chain, &a, &b);
        let start = wait_settled(&a, &b, &id);
        let inv = invoice(&b, "40000000");
        let bolt11 = inv["bolt11"].as_str().unwrap().to_string();
        {
            let crashing = if on_a { &mut a } else { &mut b };
            crashing.restart_crashing_at(Some(point));
        }
        wait_connected(&a, &b);
        let (_, first) = a.cli(&["pay", &bolt11, "--timeout-secs", "20"]);
        let crashed = if on_a { &mut a } else { &mut b };
        assert!(
            crashed.wait_exit(),
            "{point}: the node did not reach it: {first}"
        );
        crashed.restart();
        wait_connected(&a, &b);

        let after = wait_settled(&a, &b, &id);
        let outcome = a.ok(&["pay", &bolt11, "--timeout-secs", "30"]);
        let payments = list(&a, "payments");
        assert_eq!(
            payments.len(),
            1,
            "{point}: one payment record: {payments:?}"
        );
        let settled = wait_settled(&a, &b, &id);
        let invoices = list(&b, "invoices");
        match outcome["status"].as_str() {
            Some("succeeded") => {
                assert_eq!(settled, start - 40_000_000, "{point}: paid exactly once");
                assert_eq!(invoices[0]["status"], "paid", "{point}");
                assert_eq!(invoices[0]["received_msat"], 40_000_000, "{point}");
                assert_eq!(payments[0]["status"], "succeeded", "{point}");
            }
            other => panic!(
                "{point}: {other:?} after restart: {outcome}\n(before: {first}, balance {after})"
            ),
        }
        assert_ready_and_open(&a, &b, &id, point);
    }
}

/// Two channels to the payee: the roomier one cannot carry the payment without going under
/// the reserve B asks of A (1% of a 10,000,000 sat channel, 100,000 sat), so the core
/// refuses it there and the payment goes through the other one.
#[test]
fn a_channel_that_refuses_the_htlc_is_passed_over_for_the_next() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    two_nodes::fund(&chain, &a);
    a.ok(&["connect", &b.target()]);
    // The roomier channel: A keeps 250,000 sat of 10,000,000.
    let big = a.ok(&["open", &b.node_id, "10000000", "--push-msat", "9750000000"]);
    two_nodes::mine(&chain, 3);
    // The smaller one: A keeps all of 200,000 sat.
    let small = wait_for_blocking("the second open", DEADLINE, || {
        let (ok, v) = a.cli(&["open", &b.node_id, "200000"]);
        ok.then_some(v)
    });
    two_nodes::mine(&chain, 3);
    let ids: Vec<String> = [&big, &small]
        .iter()
        .map(|o| o["channel_id"].as_str().unwrap().to_string())
        .collect();
    wait_connected(&a, &b);
    let before: Vec<u64> = ids
        .iter()
        .map(|id| channel(&a, id)["local_balance_msat"].as_u64().unwrap())
        .collect();
    assert!(
        before[0] > before[1],
        "the big channel is the roomier: {before:?}"
    );

    let inv = invoice(&b, "180000000");
    let paid = a.ok(&["pay", inv["bolt11"].as_str().unwrap()]);
    assert_eq!(paid["status"], "succeeded", "{paid}");
    assert_eq!(paid["route"][0]["channel_id"], ids[1].as_str(), "{paid}");
    assert_eq!(paid["attempts"], 1, "the refusal sent nothing: {paid}");
    let log = std::fs::read_to_string(a.datadir.join("node.log")).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains("HTLC refused") && l.contains(&ids[0][..16])),
        "the big channel was tried first and refused it:\n{}",
        a.log_tail()
    );
    assert_eq!(wait_settled(&a, &b, &ids[1]), before[1] - 180_000_000);
    assert_eq!(
        wait_settled(&a, &b, &ids[0]),
        before[0],
        "the big channel moved nothing"
    );
}

/// While the payee is down, and right after the payer restarted, the channel waits for the
/// peer's `channel_reestablish`: a `pay` made then waits for the channel (up to 30 s) instead
/// of failing for want of one, and goes through once the payee is back.
#[test]
fn a_payment_made_while_the_channel_reestablishes_waits_for_it() {
    let chain = RegtestProcess::start();
    let mut a = NodeProcess::start(&chain, &[]);
    let mut b = NodeProcess::start(&chain, &[]);
    let id = ready_pair(&chain, &a, &b);
    let start = wait_settled(&a, &b, &id);
    let inv = invoice(&b, "5000000");
    b.kill();
    a.restart();
    let paid = std::thread::scope(|s| {
        let payer = s.spawn(|| a.cli(&["pay", inv["bolt11"].as_str().unwrap()]));
        wait_for_blocking("A to wait for the channel", DEADLINE, || {
            let log = std::fs::read_to_string(a.datadir.join("node.log")).ok()?;
            log.contains("waiting for a channel to the payee to reestablish")
                .then_some(())
        });
        b.restart();
        payer.join().expect("the payer thread")
    });
    assert!(paid.0, "{}", paid.1);
    assert_eq!(paid.1["status"], "succeeded", "{}", paid.1);
    assert_eq!(paid.1["attempts"], 1, "{}", paid.1);
    assert_eq!(wait_settled(&a, &b, &id), start - 5_000_000);
}
