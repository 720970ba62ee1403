//! `petrel disconnect NODE_ID` between two real nodes: the connection goes down on both
//! sides, the verb refuses a peer that is not connected, and the two can connect again.
#![allow(clippy::disallowed_methods)]

mod common;

use common::procs::{NodeProcess, RegtestProcess};
use common::{wait_for_blocking, DEADLINE};
use serde_json::Value;

/// Whether `node` lists `peer` as connected now.
fn connected(node: &NodeProcess, peer: &NodeProcess) -> bool {
    node.ok(&["peers"]).as_array().is_some_and(|list| {
        list.iter()
            .any(|p| p["node_id"] == peer.node_id.as_str() && p["connected"] == true)
    })
}

fn wait_connected(node: &NodeProcess, peer: &NodeProcess, want: bool) {
    let what = format!(
        "{} to list {} as {}",
        &node.node_id[..8],
        &peer.node_id[..8],
        if want { "connected" } else { "not connected" }
    );
    wait_for_blocking(&what, DEADLINE, || {
        (connected(node, peer) == want).then_some(())
    });
}

#[test]
fn a_disconnected_peer_is_no_longer_connected_on_either_side() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &[]);
    let b = NodeProcess::start(&chain, &[]);
    a.ok(&["connect", &b.target()]);
    wait_connected(&a, &b, true);
    wait_connected(&b, &a, true);

    let answer = a.ok(&["disconnect", &b.node_id]);
    assert_eq!(answer["node_id"], b.node_id.as_str());
    assert_eq!(answer["disconnected"], true);
    // The dialer's entry is gone before the verb answers; the other side sees the socket close.
    assert!(!connected(&a, &b), "{}", a.ok(&["peers"]));
    wait_connected(&b, &a, false);
    assert_eq!(a.ok(&["getinfo"])["num_peers"], 0);
    assert_eq!(b.ok(&["getinfo"])["num_peers"], 0);

    // Nothing left to disconnect; a malformed id is the caller's mistake.
    let (ok, again) = a.cli(&["disconnect", &b.node_id]);
    assert!(!ok);
    assert!(
        again["error"]
            .as_str()
            .is_some_and(|e| e.contains("not connected")),
        "{again}"
    );
    let (ok, bad) = a.cli(&["disconnect", "02zz"]);
    assert!(!ok);
    assert_eq!(bad["code"], "invalid_params", "{bad}");

    // The two can connect again, and the side that was dialed can disconnect too.
    a.ok(&["connect", &b.target()]);
    wait_connected(&a, &b, true);
    wait_connected(&b, &a, true);
    let answer: Value = b.ok(&["disconnect", &a.node_id]);
    assert_eq!(answer["disconnected"], true);
    assert!(!connected(&b, &a));
    wait_connected(&a, &b, false);
}
