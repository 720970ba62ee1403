//! Crash and restart: nodes killed with SIGKILL (or aborting at a crash point between a
//! durable write and the send it guards) come back and finish what they started, without
//! losing or duplicating anything.
#![allow(clippy::disallowed_methods)]

mod common;

use common::procs::{ChainProcess, NodeProcess, RegtestProcess};
use common::{wait_for_blocking, DEADLINE};
use serde_json::{json, Value};

fn fund(chain: &RegtestProcess, node: &NodeProcess, coins: u32) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chain.mine_to(coins, &node.address()));
    rt.block_on(chain.mine(100));
    let want = u64::from(coins) * 5_000_000_000;
    wait_for_blocking("the wallet to see its coins", DEADLINE, || {
        (node.ok(&["balance"])["confirmed_sat"].as_u64()? >= want).then_some(())
    });
}

fn mine(chain: &RegtestProcess, n: u32) {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(chain.mine(n));
}

fn wait_state(node: &NodeProcess, channel_id: &str, state: &str) {
    wait_for_blocking(&format!("{channel_id} to be {state}"), DEADLINE, || {
        node.channels()
            .iter()
            .any(|c| c["channel_id"] == channel_id && c["state"] == state)
            .then_some(())
    });
}

fn wait_connected(a: &NodeProcess, b: &NodeProcess) {
    wait_for_blocking("the nodes to reconnect", DEADLINE, || {
        a.ok(&["peers"])
            .as_array()?
            .iter()
            .any(|p| p["node_id"] == b.node_id.as_str() && p["connected"] == true)
            .then_some(())
    });
}

/// The transaction as the chain knows it (`getrawtransaction` verbose).
fn chain_tx(chain: &RegtestProcess, txid: &str) -> Value {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(
        chain
            .rpc()
            .call("getrawtransaction", &[json!(txid), json!(1)]),
    )
    .expect("transaction on chain")
}

/// A opens to B and aborts right after its channel is durable, before broadcasting (the
/// `funder_stored` crash point); the open never answers. Returns A (exited), B, and B's view of
/// the channel (B stored it before sending `funding_signed`).
fn funder_dies_after_storing(chain: &RegtestProcess) -> (NodeProcess, NodeProcess, Value) {
    let mut a = NodeProcess::start_crashing_at(chain, &[], Some("funder_stored"));
    let b = NodeProcess::start(chain, &[]);
    fund(chain, &a, 1);
    a.ok(&["connect", &b.target()]);
    let (ok, _) = a.cli(&["open", &b.node_id, "1000000"]);
    assert!(!ok);
    assert!(a.wait_exit());
    let on_b = b.channels();
    assert_eq!(on_b.len(), 1);
    let channel = on_b[0].clone();
    (a, b, channel)
}

#[test]
fn both_nodes_killed_after_funding_signed_come_back_and_the_channel_becomes_ready() {
    let chain = RegtestProcess::start();
    let mut a = NodeProcess::start(&chain, &[]);
    let mut b = NodeProcess::start(&chain, &[]);
    fund(&chain, &a, 2);
    a.ok(&["connect", &b.target()]);
    let opened = a.ok(&["open", &b.node_id, "1500000", "--push-msat", "1000000"]);
    let id = opened["channel_id"].as_str().unwrap().to_string();
    let txid = opened["funding_txid"].as_str().unwrap().to_string();
    let balance_before = a.ok(&["balance"]);

    // SIGKILL both before any confirmation.
    a.kill();
    b.kill();
    b.restart();
    a.restart();
    wait_connected(&a, &b);
    for node in [&a, &b] {
        wait_state(node, &id, "pending");
    }
    mine(&chain, 3);
    for node in [&a, &b] {
        wait_state(node, &id, "ready");
    }

    // One channel each, funded by the one transaction we were told about.
    assert_eq!(a.channels().len(), 1);
    assert_eq!(b.channels().len(), 1);
    let funding = chain_tx(&chain, &txid);
    assert!(funding["confirmations"].as_u64().unwrap() >= 3);
    // Nothing lost: what left A's wallet is exactly the channel plus the funding fee (the
    // wallet's unconfirmed view from before the crash is now confirmed).
    let after = a.ok(&["balance"]);
    let total = |b: &Value| {
        b["confirmed_sat"].as_u64().unwrap()
            + b["unconfirmed_sat"].as_u64().unwrap()
            + b["locked_sat"].as_u64().unwrap()
    };
    assert_eq!(total(&after), total(&balance_before));
    assert_eq!(after["unconfirmed_sat"], 0);
}

#[test]
fn a_funder_crashing_between_storing_and_broadcasting_broadcasts_on_restart() {
    let chain = RegtestProcess::start();
    let (mut a, b, on_b) = funder_dies_after_storing(&chain);
    let id = on_b["channel_id"].as_str().unwrap().to_string();
    let outpoint = on_b["funding_outpoint"].as_str().unwrap().to_string();
    let txid = outpoint.split(':').next().unwrap().to_string();
    // The funding transaction was never broadcast.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let seen: Result<Value, _> = rt.block_on(
        chain
            .rpc()
            .call("getrawtransaction", &[json!(txid), json!(1)]),
    );
    assert!(
        seen.is_err(),
        "the funding tx must not be out before the restart: {seen:?}"
    );

    a.restart();
    wait_state(&a, &id, "pending");
    wait_for_blocking("A to rebroadcast the funding tx", DEADLINE, || {
        let mempool: Value = rt.block_on(chain.rpc().call("getrawmempool", &[])).ok()?;
        mempool
            .as_array()?
            .iter()
            .any(|t| t == txid.as_str())
            .then_some(())
    });
    wait_connected(&a, &b);
    mine(&chain, 3);
    wait_state(&a, &id, "ready");
    wait_state(&b, &id, "ready");
}

#[test]
fn a_fundee_crashing_before_funding_signed_costs_the_funder_nothing() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let mut b = NodeProcess::start_crashing_at(&chain, &[], Some("fundee_stored"));
    fund(&chain, &a, 1);
    let before = a.ok(&["balance"]);
    a.ok(&["connect", &b.target()]);
    let (ok, result) = a.cli(&["open", &b.node_id, "1000000"]);
    assert!(!ok, "no funding_signed came: {result}");
    assert!(b.wait_exit());
    // A never broadcast, stored nothing, and released its inputs.
    assert!(a.channels().is_empty());
    wait_for_blocking("A's inputs to be released", DEADLINE, || {
        let balance = a.ok(&["balance"]);
        (balance["locked_sat"] == 0 && balance["confirmed_sat"] == before["confirmed_sat"])
            .then_some(())
    });
    // B stored a channel whose funding will never appear: it can be abandoned.
    b.restart();
    let on_b = b.channels();
    assert_eq!(on_b.len(), 1);
    assert_eq!(on_b[0]["state"], "pending");
    let id = on_b[0]["channel_id"].as_str().unwrap().to_string();
    let abandoned = b.ok(&["abandon", &id]);
    assert_eq!(abandoned["state"], "abandoned");
    wait_state(&b, &id, "abandoned");
    let history = b.ok(&["history", &id]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "abandoned"));
}

#[test]
fn a_fundee_forgets_a_channel_whose_funding_never_confirms_within_2016_blocks() {
    // BOLT 2: the fundee "SHOULD forget the channel if it does not see the correct funding
    // transaction after a timeout of 2016 blocks". A crashes after storing, before it
    // broadcasts, and never comes back: B is left with a funding that never appears.
    let chain = RegtestProcess::start();
    let (_a, b, on_b) = funder_dies_after_storing(&chain);
    assert_eq!(on_b["state"], "pending");
    let id = on_b["channel_id"].as_str().unwrap().to_string();
    let opened_at = b.ok(&["getinfo"])["block_height"].as_u64().unwrap();

    let wait_height = |height: u64| {
        wait_for_blocking(&format!("B at height {height}"), DEADLINE, || {
            (b.ok(&["getinfo"])["block_height"].as_u64()? == height).then_some(())
        });
    };
    // One block short of the timeout: still waiting.
    mine(&chain, 2015);
    wait_height(opened_at + 2015);
    assert_eq!(b.channels()[0]["state"], "pending");
    // The 2016th block: forgotten, with the reason in the history.
    mine(&chain, 1);
    wait_height(opened_at + 2016);
    wait_state(&b, &id, "abandoned");
    let history = b.ok(&["history", &id]);
    assert!(
        history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "abandoned"
                && e.to_string().contains("not confirmed within 2016 blocks")),
        "{history}"
    );
}
