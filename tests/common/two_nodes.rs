//! Two real Petrel nodes with a channel between them, on one `petrel regtest` chain: funding,
//! opening until both call the channel ready, reading a channel, and waiting until both sides
//! agree (`tests/updates.rs`, `tests/payments.rs`).

use serde_json::Value;

use super::procs::{ChainProcess, NodeProcess, RegtestProcess};
use super::{wait_for_blocking, DEADLINE};

/// Mines `n` blocks to nobody.
pub fn mine(chain: &RegtestProcess, n: u32) {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(chain.mine(n));
}

/// The chain's height.
pub fn height(chain: &RegtestProcess) -> u64 {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(chain.height())
}

/// Gives `node` one mature coinbase.
pub fn fund(chain: &RegtestProcess, node: &NodeProcess) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chain.mine_to(1, &node.address()));
    rt.block_on(chain.mine(100));
    wait_for_blocking("the wallet to see its coin", DEADLINE, || {
        (node.ok(&["balance"])["confirmed_sat"].as_u64()? > 0).then_some(())
    });
}

/// The channel `id` as `node` lists it.
pub fn channel(node: &NodeProcess, id: &str) -> Value {
    node.channels()
        .into_iter()
        .find(|c| c["channel_id"] == id)
        .unwrap_or_else(|| panic!("no channel {id}:\n{}", node.log_tail()))
}

/// A funds a 1,000,000 sat channel to B, pushing B 100,000 sat; both call it ready.
pub fn ready_pair(chain: &RegtestProcess, a: &NodeProcess, b: &NodeProcess) -> String {
    fund(chain, a);
    a.ok(&["connect", &b.target()]);
    let opened = a.ok(&["open", &b.node_id, "1000000", "--push-msat", "100000000"]);
    let id = opened["channel_id"].as_str().unwrap().to_string();
    mine(chain, 3);
    for node in [a, b] {
        wait_for_blocking("the channel to be ready", DEADLINE, || {
            (channel(node, &id)["state"] == "ready").then_some(())
        });
    }
    id
}

/// Both sides hold the same state: no HTLC, the same feerate, each side's commitment number
/// as the other counts it, mirrored balances. Returns both views.
pub fn wait_settled(a: &NodeProcess, b: &NodeProcess, id: &str) -> (Value, Value) {
    let mut last = (Value::Null, Value::Null);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for_blocking("both sides to settle in agreement", DEADLINE, || {
            let (ca, cb) = (channel(a, id), channel(b, id));
            last = (ca.clone(), cb.clone());
            let agree = ca["htlcs"].as_array()?.is_empty()
                && cb["htlcs"].as_array()?.is_empty()
                && ca["feerate_sat_per_kw"] == cb["feerate_sat_per_kw"]
                && ca["commitment_number"]["local"] == cb["commitment_number"]["remote"]
                && ca["commitment_number"]["remote"] == cb["commitment_number"]["local"]
                && ca["local_balance_msat"] == cb["remote_balance_msat"]
                && ca["remote_balance_msat"] == cb["local_balance_msat"];
            agree.then_some((ca, cb))
        })
    }));
    result.unwrap_or_else(|_| {
        panic!(
            "not settled:\nA {}\nB {}\n--- A log\n{}\n--- B log\n{}",
            last.0,
            last.1,
            a.log_tail(),
            b.log_tail()
        )
    })
}

/// Both nodes list each other as connected and every channel of theirs is usable again
/// (ready, and `channel_reestablish` went both ways).
pub fn wait_connected(a: &NodeProcess, b: &NodeProcess) {
    for (x, y) in [(a, b), (b, a)] {
        wait_for_blocking("the nodes to connect", DEADLINE, || {
            x.ok(&["peers"])
                .as_array()?
                .iter()
                .any(|p| p["node_id"] == y.node_id.as_str() && p["connected"] == true)
                .then_some(())
        });
    }
    wait_for_blocking("the channels to be usable", DEADLINE, || {
        let usable = [a, b].iter().all(|n| {
            n.channels()
                .iter()
                .all(|c| c["state"] == "ready" && c["usable"] == true)
        });
        usable.then_some(())
    });
}

/// Both sides still call the channel ready and neither closed it (`what` names the case in
/// the failure).
pub fn assert_ready_and_open(a: &NodeProcess, b: &NodeProcess, id: &str, what: &str) {
    for node in [a, b] {
        let c = channel(node, id);
        assert_eq!(c["state"], "ready", "{what}: {c}");
        assert!(c["close"].is_null(), "{what}: {c}");
    }
}
