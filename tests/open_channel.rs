//! Two real `petrel node` processes on a real `petrel regtest`: fund both wallets, connect,
//! open three channels at once (two A→B, one B→A), mine, and check that all six channel views
//! reach "ready" with matching funding outpoints and mirrored balances. The same test runs
//! with the nodes' `--chain-rpc` pointed at Bitcoin Core when `BITCOIND_EXE` is set (issue #9).
#![allow(clippy::disallowed_methods)]

mod common;

use std::collections::BTreeMap;
use std::thread;

use common::procs::{BitcoindProcess, ChainProcess, NodeProcess, RegtestProcess};
use common::{wait_for_blocking, DEADLINE};
use serde_json::Value;

/// Mines three coinbases to each node, then 100 blocks so they mature: concurrent opens need
/// one confirmed coin each (a funding transaction never spends unconfirmed change).
fn fund(chain: &impl ChainProcess, nodes: &[&NodeProcess]) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for node in nodes {
        rt.block_on(chain.mine_to(3, &node.address()));
    }
    rt.block_on(chain.mine(100));
    for node in nodes {
        wait_for_blocking("the wallet to see its coinbases mature", DEADLINE, || {
            let balance = node.ok(&["balance"]);
            (balance["confirmed_sat"].as_u64()? >= 3 * 5_000_000_000).then_some(())
        });
    }
}

fn by_id(channels: &[Value]) -> BTreeMap<String, Value> {
    channels
        .iter()
        .map(|c| (c["channel_id"].as_str().unwrap().to_string(), c.clone()))
        .collect()
}

#[test]
fn three_concurrent_opens_reach_ready_on_both_sides() {
    let chain = RegtestProcess::start();
    three_concurrent_opens(&chain);
}

/// The same two nodes and three opens with Bitcoin Core as the nodes' chain backend.
#[test]
fn three_concurrent_opens_reach_ready_on_bitcoind() {
    let Some(chain) = BitcoindProcess::start("three_concurrent_opens_reach_ready_on_bitcoind")
    else {
        return;
    };
    three_concurrent_opens(&chain);
}

fn three_concurrent_opens(chain: &impl ChainProcess) {
    let a = NodeProcess::start(chain, &[]);
    let b = NodeProcess::start(chain, &[]);
    fund(chain, &[&a, &b]);

    let connected = a.ok(&["connect", &b.target()]);
    assert_eq!(connected["node_id"], b.node_id.as_str());
    wait_for_blocking("B to see A connected", DEADLINE, || {
        let peers = b.ok(&["peers"]);
        peers
            .as_array()?
            .iter()
            .any(|p| p["node_id"] == a.node_id.as_str() && p["connected"] == true)
            .then_some(())
    });

    // Three opens at once, from two processes, over one connection.
    let opens: Vec<(bool, Value)> = thread::scope(|s| {
        let from_a_1 = s.spawn(|| a.cli(&["open", &b.node_id, "1000000"]));
        let from_a_2 =
            s.spawn(|| a.cli(&["open", &b.node_id, "2000000", "--push-msat", "50000000"]));
        let from_b = s.spawn(|| b.cli(&["open", &a.node_id, "3000000"]));
        vec![
            from_a_1.join().unwrap(),
            from_a_2.join().unwrap(),
            from_b.join().unwrap(),
        ]
    });
    for (ok, result) in &opens {
        assert!(
            ok,
            "open failed: {result}\nA:\n{}\nB:\n{}",
            a.log_tail(),
            b.log_tail()
        );
    }
    let ids: Vec<String> = opens
        .iter()
        .map(|(_, r)| r["channel_id"].as_str().unwrap().to_string())
        .collect();
    // Three distinct funding transactions: the wallet locked disjoint inputs.
    let txids: std::collections::BTreeSet<&str> = opens
        .iter()
        .map(|(_, r)| r["funding_txid"].as_str().unwrap())
        .collect();
    assert_eq!(txids.len(), 3);

    // Pending on both sides before any confirmation.
    for node in [&a, &b] {
        let channels = by_id(&node.channels());
        for id in &ids {
            assert_eq!(channels[id]["state"], "pending", "{id} on {}", node.node_id);
        }
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chain.mine(3));
    for node in [&a, &b] {
        wait_for_blocking("all channels ready", DEADLINE, || {
            let channels = by_id(&node.channels());
            ids.iter()
                .all(|id| channels.get(id).is_some_and(|c| c["state"] == "ready"))
                .then_some(())
        });
    }

    let on_a = by_id(&a.channels());
    let on_b = by_id(&b.channels());
    assert_eq!(on_a.len(), 3);
    assert_eq!(on_b.len(), 3);
    for id in &ids {
        let (x, y) = (&on_a[id], &on_b[id]);
        assert_eq!(x["funding_outpoint"], y["funding_outpoint"]);
        assert_eq!(x["capacity_sat"], y["capacity_sat"]);
        assert_eq!(x["local_balance_msat"], y["remote_balance_msat"]);
        assert_eq!(x["remote_balance_msat"], y["local_balance_msat"]);
        assert_eq!(x["short_channel_id"], y["short_channel_id"]);
        assert!(x["confirmations"].as_u64().unwrap() >= 3);
        assert_ne!(x["role"], y["role"]);
    }
    // The push went where it was sent.
    let pushed = &on_a[&ids[1]];
    assert_eq!(pushed["local_balance_msat"], 1_950_000_000u64);
    assert_eq!(pushed["remote_balance_msat"], 50_000_000u64);
    // B funded the third channel.
    assert_eq!(on_b[&ids[2]]["role"], "initiator");
    assert_eq!(on_b[&ids[2]]["local_balance_msat"], 3_000_000_000u64);

    // The event log tells the story.
    let history = a.ok(&["history", &ids[0]]);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for expected in [
        "opened",
        "funding_broadcast",
        "funding_confirmed",
        "channel_ready_sent",
        "ready",
    ] {
        assert!(
            kinds.contains(&expected),
            "{expected} missing from {kinds:?}"
        );
    }
    let info = a.ok(&["getinfo"]);
    assert_eq!(info["num_channels"], 3);
    assert_eq!(info["num_peers"], 1);
}

#[test]
fn a_refused_open_reports_the_peer_reason_and_unlocks_the_funds() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    // B asks more confirmations than A accepts to wait (A's policy allows at most 144).
    let b = NodeProcess::start(&chain, &["--minimum-depth", "500"]);
    fund(&chain, &[&a]);
    a.ok(&["connect", &b.target()]);
    let (ok, result) = a.cli(&["open", &b.node_id, "1000000"]);
    assert!(!ok, "the open should fail: {result}");
    assert!(
        result["error"].as_str().unwrap().contains("minimum_depth"),
        "{result}"
    );
    // Nothing stays locked and no channel is stored.
    let balance = a.ok(&["balance"]);
    assert_eq!(balance["locked_sat"], 0);
    assert!(a.channels().is_empty());
    // Below the peer's minimum funding: refused by B with its reason.
    let (ok, result) = a.cli(&["open", &b.node_id, "10000"]);
    assert!(!ok);
    assert!(
        result["error"]
            .as_str()
            .unwrap()
            .contains("below our minimum"),
        "{result}"
    );
}
