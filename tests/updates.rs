//! Channel updates between two real Petrel nodes (issue #13): `update_fee` and an HTLC go
//! through the whole `commitment_signed` / `revoke_and_ack` dance over BOLT 8 on loopback,
//! and a node killed right after each durable write of that dance (the crash points of
//! `src/crash.rs`) comes back and finishes it through `channel_reestablish`, with balances
//! and commitments agreeing on both sides and nothing force-closed.
#![allow(clippy::disallowed_methods)]

mod common;

use common::procs::{ChainProcess, NodeProcess, RegtestProcess};
use common::two_nodes::{
    assert_ready_and_open, channel, height, mine, ready_pair, wait_connected, wait_settled,
};
use common::{wait_for_blocking, DEADLINE};
use serde_json::Value;

/// Both sides' current commitments are at `feerate` (the dance is under way or over: a
/// settled state seen before it started would say nothing).
fn wait_feerate(a: &NodeProcess, b: &NodeProcess, id: &str, feerate: u64) {
    for node in [a, b] {
        wait_for_blocking("the new feerate on both sides", DEADLINE, || {
            (channel(node, id)["feerate_sat_per_kw"] == feerate).then_some(())
        });
    }
}

fn add_htlc(a: &NodeProcess, id: &str, chain_height: u64) -> bool {
    let (ok, _) = a.cli(&[
        "addhtlc",
        id,
        "20000000",
        &"ab".repeat(32),
        &(chain_height + 100).to_string(),
    ]);
    ok
}

#[test]
fn update_fee_and_an_htlc_go_through_the_commitment_dance() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    let id = ready_pair(&chain, &a, &b);
    let start = channel(&a, &id);

    a.ok(&["updatefee", &id, "--feerate", "5000"]);
    wait_feerate(&a, &b, &id, 5000);
    let (ca, _) = wait_settled(&a, &b, &id);
    assert_eq!(ca["feerate_sat_per_kw"], 5000);
    assert_eq!(ca["commitment_number"]["local"], 1);
    // The fundee may not send update_fee.
    let (ok, refused) = b.cli(&["updatefee", &id, "--feerate", "6000"]);
    assert!(!ok, "{refused}");

    // An HTLC whose onion B cannot read (random bytes): B fails it back as malformed.
    assert!(add_htlc(&a, &id, height(&chain)));
    wait_for_blocking("A to hear the HTLC failed", DEADLINE, || {
        let log = std::fs::read_to_string(a.datadir.join("node.log")).ok()?;
        log.contains("our HTLC failed").then_some(())
    });
    let (ca, cb) = wait_settled(&a, &b, &id);
    assert_eq!(ca["local_balance_msat"], start["local_balance_msat"]);
    assert!(ca["commitment_number"]["local"].as_u64().unwrap() >= 3);
    assert!(cb["commitment_number"]["local"].as_u64().unwrap() >= 3);
    for node in [&a, &b] {
        assert_eq!(channel(node, &id)["state"], "ready");
    }
}

/// Each durable write of the HTLC dance, on the node that offers it (A) and on the one that
/// fails it back (B): the node, restarted with the crash point once the channel is ready,
/// aborts right after the write, before what it guards goes out; restarted again, it
/// reestablishes and the dance completes.
#[test]
fn a_node_killed_after_each_write_of_the_dance_finishes_it_after_restart() {
    let points: [(bool, &str); 12] = [
        (true, "stored_before_commitment_signed#1"),
        (true, "stored#1"),
        (true, "stored_before_revoke_and_ack#1"),
        (true, "stored_before_revoke_and_ack#2"),
        (true, "stored_before_commitment_signed#2"),
        (true, "stored#2"),
        (false, "stored_before_revoke_and_ack#1"),
        (false, "stored_before_commitment_signed#1"),
        (false, "stored#1"),
        (false, "stored_before_commitment_signed#2"),
        (false, "stored#2"),
        (false, "stored_before_revoke_and_ack#2"),
    ];
    let chain = RegtestProcess::start();
    for (on_a, point) in points {
        eprintln!("crash point {point} on {}", if on_a { "A" } else { "B" });
        let mut a = NodeProcess::start(&chain, &[]);
        let mut b = NodeProcess::start(&chain, &[]);
        let id = ready_pair(&chain, &a, &b);
        let start = channel(&a, &id);
        {
            let crashing = if on_a { &mut a } else { &mut b };
            crashing.restart_crashing_at(Some(point));
        }
        wait_connected(&a, &b);
        add_htlc(&a, &id, height(&chain));
        let crashed = if on_a { &mut a } else { &mut b };
        assert!(crashed.wait_exit(), "{point}: the node did not reach it");
        crashed.restart();
        let (ca, _) = wait_settled(&a, &b, &id);
        assert_eq!(
            ca["local_balance_msat"], start["local_balance_msat"],
            "{point}: the HTLC went back"
        );
        assert_ready_and_open(&a, &b, &id, point);
    }
}

/// The funder keeps the commitment feerate near the chain's estimate (BOLT 2: the funder
/// "SHOULD send `update_fee`"): when the estimate moves well above the channel's feerate,
/// the next block makes it send `update_fee`, and both sides commit it.
#[test]
fn the_funder_follows_the_chains_fee_estimate() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    let id = ready_pair(&chain, &a, &b);
    assert_eq!(channel(&a, &id)["feerate_sat_per_kw"], 2500);
    // 20,000 sat/kvB is 5,000 sat per 1000 weight units.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(
        chain
            .rpc()
            .call::<Value>("setfeeestimate", &[serde_json::json!(20_000)]),
    )
    .expect("setfeeestimate");
    mine(&chain, 1);
    wait_feerate(&a, &b, &id, 5000);
    let (ca, _) = wait_settled(&a, &b, &id);
    assert_eq!(ca["feerate_sat_per_kw"], 5000, "{ca}");
    assert!(ca["commitment_number"]["local"].as_u64() >= Some(1), "{ca}");
}
