//! Closing channels between two real nodes on a real `petrel regtest`: mutual closes started
//! by either side, local and remote force closes swept home, a crash between the force close
//! and the sweep, and a reorg of the force close. In every test the wallets' total at the end
//! equals the total at the start minus the fees actually paid on chain, computed from the
//! chain's own transactions.
#![allow(clippy::disallowed_methods)]

mod common;

use common::procs::{ChainProcess, NodeProcess, RegtestProcess};
use common::{wait_for_blocking, DEADLINE};
use serde_json::{json, Value};

struct Net {
    chain: RegtestProcess,
    a: NodeProcess,
    b: NodeProcess,
    rt: tokio::runtime::Runtime,
}

impl Net {
    /// Two connected nodes; A has two mature coinbases.
    fn new() -> Net {
        let chain = RegtestProcess::start();
        let a = NodeProcess::start(&chain, &[]);
        let b = NodeProcess::start(&chain, &[]);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(chain.mine_to(2, &a.address()));
        rt.block_on(chain.mine(100));
        wait_for_blocking("A's coins", DEADLINE, || {
            (a.ok(&["balance"])["confirmed_sat"].as_u64()? >= 2 * 5_000_000_000).then_some(())
        });
        a.ok(&["connect", &b.target()]);
        Net { chain, a, b, rt }
    }

    fn mine(&self, n: u32) -> Vec<String> {
        self.rt.block_on(self.chain.mine(n))
    }

    fn rpc(&self, method: &str, params: &[Value]) -> Value {
        self.rt
            .block_on(self.chain.rpc().call(method, params))
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    /// The fee a confirmed or mempool transaction paid: inputs minus outputs, from the chain.
    fn fee(&self, txid: &str) -> u64 {
        let tx = self.rpc("getrawtransaction", &[json!(txid), json!(1)]);
        let out: u64 = tx["vout"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| sat(&o["value"]))
            .sum();
        let mut inp = 0;
        for vin in tx["vin"].as_array().unwrap() {
            let prev = self.rpc("getrawtransaction", &[vin["txid"].clone(), json!(1)]);
            let n = usize::try_from(vin["vout"].as_u64().unwrap()).unwrap();
            inp += sat(&prev["vout"][n]["value"]);
        }
        inp - out
    }

    /// Opens a 1,000,000 sat channel A→B pushing `push_msat`, mines it to ready.
    fn open(&self, push_msat: u64) -> (String, String) {
        let opened = self.a.ok(&[
            "open",
            &self.b.node_id,
            "1000000",
            "--push-msat",
            &push_msat.to_string(),
        ]);
        let id = opened["channel_id"].as_str().unwrap().to_string();
        let funding = opened["funding_txid"].as_str().unwrap().to_string();
        self.mine(3);
        for node in [&self.a, &self.b] {
            wait_state(node, &id, "ready");
        }
        (id, funding)
    }
}

fn sat(btc: &Value) -> u64 {
    // Amounts come as JSON numbers with 8 decimals; round to the satoshi.
    (btc.as_f64().unwrap() * 100_000_000.0).round() as u64
}

fn total(node: &NodeProcess) -> u64 {
    let b = node.ok(&["balance"]);
    [
        "confirmed_sat",
        "unconfirmed_sat",
        "locked_sat",
        "immature_sat",
    ]
    .iter()
    .map(|k| b[k].as_u64().unwrap())
    .sum()
}

fn channel(node: &NodeProcess, id: &str) -> Value {
    node.channels()
        .into_iter()
        .find(|c| c["channel_id"] == id)
        .unwrap_or_else(|| panic!("no channel {id}"))
}

fn wait_state(node: &NodeProcess, id: &str, state: &str) {
    wait_for_blocking(&format!("{id} {state}"), DEADLINE, || {
        (channel(node, id)["state"] == state).then_some(())
    });
}

/// Waits until the node's wallet has no unconfirmed funds and returns its total.
fn settled_total(node: &NodeProcess) -> u64 {
    wait_for_blocking("the wallet to settle", DEADLINE, || {
        let b = node.ok(&["balance"]);
        (b["unconfirmed_sat"] == 0 && b["locked_sat"] == 0).then_some(())
    });
    total(node)
}

/// Mutual close started by `closer`: both sides end "closed/cooperative"; the wallets lost only
/// the funding and closing fees.
fn mutual_close(started_by_a: bool) {
    let net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(200_000_000);
    let closer = if started_by_a { &net.a } else { &net.b };
    let answer = closer.ok(&["close", &id]);
    assert_eq!(answer["state"], "closing");
    // The closing transaction reaches the mempool once both sides agreed.
    let closing = wait_for_blocking("a closing transaction", DEADLINE, || {
        let mempool = net.rpc("getrawmempool", &[]);
        mempool.as_array()?.first()?.as_str().map(str::to_string)
    });
    net.mine(6);
    for node in [&net.a, &net.b] {
        wait_state(node, &id, "closed");
        let c = channel(node, &id);
        assert_eq!(c["close"]["how"], "cooperative");
        assert_eq!(c["close"]["closing_txid"], closing.as_str());
        assert!(c["close"]["sweeps"].as_array().unwrap().is_empty());
    }
    // B got the push (no fee: the funder pays it), A the rest minus fees.
    assert_eq!(settled_total(&net.b), 200_000);
    let fees = net.fee(&funding) + net.fee(&closing);
    assert_eq!(settled_total(&net.a) + settled_total(&net.b), start - fees);
    let history = net.a.ok(&["history", &id]);
    let kinds: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for expected in [
        "shutdown_sent",
        "shutdown_received",
        "closing_agreed",
        "spend_seen",
        "closed",
    ] {
        assert!(kinds.contains(&expected), "{expected} missing: {kinds:?}");
    }
}

#[test]
fn mutual_close_started_by_the_funder() {
    mutual_close(true);
}

#[test]
fn mutual_close_started_by_the_fundee() {
    mutual_close(false);
}

#[test]
fn local_force_close_sweeps_to_local_after_to_self_delay() {
    let net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(300_000_000);
    let forced = net.a.ok(&["close", &id, "--force"]);
    let commitment = forced["commitment_txid"].as_str().unwrap().to_string();
    net.mine(1);
    wait_for_blocking("the force close seen", DEADLINE, || {
        (channel(&net.a, &id)["close"]["how"] == "local_force_close").then_some(())
    });
    // B's to_remote is swept at once; A's to_local waits for the 144 blocks B imposed.
    assert_eq!(channel(&net.b, &id)["close"]["how"], "remote_force_close");
    net.mine(142);
    assert!(
        channel(&net.a, &id)["close"]["sweeps"]
            .as_array()
            .unwrap()
            .is_empty(),
        "to_local is not sweepable before to_self_delay"
    );
    net.mine(1);
    let sweep = wait_for_blocking("A's to_local sweep", DEADLINE, || {
        let sweeps = channel(&net.a, &id)["close"]["sweeps"].as_array()?.clone();
        let s = sweeps.first()?;
        (s["kind"] == "to_local").then(|| s["txid"].as_str().unwrap().to_string())
    });
    net.mine(6);
    for node in [&net.a, &net.b] {
        wait_state(node, &id, "closed");
    }
    let b_sweep = channel(&net.b, &id)["close"]["sweeps"][0]["txid"]
        .as_str()
        .unwrap()
        .to_string();
    let fees = net.fee(&funding) + net.fee(&commitment) + net.fee(&sweep) + net.fee(&b_sweep);
    let (a_end, b_end) = (settled_total(&net.a), settled_total(&net.b));
    assert_eq!(a_end + b_end, start - fees);
    // B's wallet holds exactly its channel balance minus its sweep's fee.
    assert_eq!(b_end, 300_000 - net.fee(&b_sweep));
}

#[test]
fn remote_force_close_sweeps_to_remote_at_once() {
    let net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(400_000_000);
    // B force-closes: A's balance is A's to_remote on B's commitment.
    let forced = net.b.ok(&["close", &id, "--force"]);
    let commitment = forced["commitment_txid"].as_str().unwrap().to_string();
    net.mine(1);
    let sweep = wait_for_blocking("A's to_remote sweep", DEADLINE, || {
        let c = channel(&net.a, &id);
        (c["close"]["how"] == "remote_force_close")
            .then(|| c["close"]["sweeps"][0]["txid"].as_str().map(str::to_string))
            .flatten()
    });
    net.mine(6);
    wait_state(&net.a, &id, "closed");
    let a_sweep_fee = net.fee(&sweep);
    // B's own to_local needs 144 blocks; let it finish too so the totals balance.
    net.mine(140);
    let b_sweep = wait_for_blocking("B's to_local sweep", DEADLINE, || {
        channel(&net.b, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    net.mine(6);
    wait_state(&net.b, &id, "closed");
    let fees = net.fee(&funding) + net.fee(&commitment) + a_sweep_fee + net.fee(&b_sweep);
    assert_eq!(settled_total(&net.a) + settled_total(&net.b), start - fees);
}

#[test]
fn a_node_killed_after_its_force_close_confirms_still_sweeps() {
    let mut net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(0);
    let forced = net.b.ok(&["close", &id, "--force"]);
    let commitment = forced["commitment_txid"].as_str().unwrap().to_string();
    // A is killed before the commitment even confirms: it learns of it after the restart.
    net.a.kill();
    net.mine(1);
    net.a.restart();
    let sweep = wait_for_blocking("A's to_remote sweep after restart", DEADLINE, || {
        channel(&net.a, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    // Kill it again between the sweep's broadcast and its confirmation: the restart
    // rebroadcasts (the sweep is in the store), no second sweep is made.
    net.a.kill();
    net.a.restart();
    net.mine(6);
    wait_state(&net.a, &id, "closed");
    let sweeps = channel(&net.a, &id)["close"]["sweeps"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sweeps.len(), 1);
    assert_eq!(sweeps[0]["txid"], sweep.as_str());
    // B pushed nothing to itself: its commitment has no to_local, so nothing for B to sweep.
    wait_state(&net.b, &id, "closed");
    assert!(channel(&net.b, &id)["close"]["sweeps"]
        .as_array()
        .unwrap()
        .is_empty());
    let fees = net.fee(&funding) + net.fee(&commitment) + net.fee(&sweep);
    assert_eq!(settled_total(&net.a) + settled_total(&net.b), start - fees);
    assert_eq!(settled_total(&net.b), 0);
}

#[test]
fn killed_after_its_force_close_confirms_and_before_the_sweep_the_node_sweeps_after_restart() {
    let mut net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(0);
    let forced = net.a.ok(&["close", &id, "--force"]);
    let commitment = forced["commitment_txid"].as_str().unwrap().to_string();
    net.mine(1);
    wait_for_blocking("A to record its force close", DEADLINE, || {
        (channel(&net.a, &id)["close"]["how"] == "local_force_close").then_some(())
    });
    // SIGKILL, and the delay passes while A is down.
    net.a.kill();
    net.mine(150);
    net.a.restart();
    let sweep = wait_for_blocking("A's to_local sweep after restart", DEADLINE, || {
        channel(&net.a, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    net.mine(6);
    wait_state(&net.a, &id, "closed");
    wait_state(&net.b, &id, "closed");
    let fees = net.fee(&funding) + net.fee(&commitment) + net.fee(&sweep);
    assert_eq!(settled_total(&net.a) + settled_total(&net.b), start - fees);
}

#[test]
fn a_reorged_force_close_ends_with_one_confirmed_sweep() {
    let net = Net::new();
    let start = total(&net.a) + total(&net.b);
    let (id, funding) = net.open(500_000_000);
    let forced = net.b.ok(&["close", &id, "--force"]);
    let commitment = forced["commitment_txid"].as_str().unwrap().to_string();
    let blocks = net.mine(1);
    let first_sweep = wait_for_blocking("A's sweep", DEADLINE, || {
        channel(&net.a, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    // The commitment's block goes away; its transactions return to the mempool.
    net.rpc("invalidateblock", &[json!(blocks[0])]);
    wait_for_blocking("A to see the spend reorged out", DEADLINE, || {
        (channel(&net.a, &id)["close"]["closing_height"].is_null()).then_some(())
    });
    // Re-mined on another branch.
    net.mine(7);
    wait_state(&net.a, &id, "closed");
    let sweeps = channel(&net.a, &id)["close"]["sweeps"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sweeps.len(), 1, "one sweep: {sweeps:?}");
    assert!(sweeps[0]["confirmed_at"].is_u64());
    assert_eq!(sweeps[0]["txid"], first_sweep.as_str());
    let history = net.a.ok(&["history", &id]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "spend_reorged"));
    net.mine(140);
    let b_sweep = wait_for_blocking("B's to_local sweep", DEADLINE, || {
        channel(&net.b, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    net.mine(6);
    wait_state(&net.b, &id, "closed");
    let fees = net.fee(&funding) + net.fee(&commitment) + net.fee(&first_sweep) + net.fee(&b_sweep);
    assert_eq!(settled_total(&net.a) + settled_total(&net.b), start - fees);
}

#[test]
fn a_sweep_left_unconfirmed_is_replaced_with_a_higher_fee() {
    let chain = RegtestProcess::start();
    let a = NodeProcess::start(&chain, &["--sweep-rbf-blocks", "3"]);
    let b = NodeProcess::start(&chain, &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(chain.mine_to(1, &a.address()));
    rt.block_on(chain.mine(100));
    wait_for_blocking("A's coin", DEADLINE, || {
        (a.ok(&["balance"])["confirmed_sat"].as_u64()? > 0).then_some(())
    });
    a.ok(&["connect", &b.target()]);
    let id = a.ok(&["open", &b.node_id, "1000000"])["channel_id"]
        .as_str()
        .unwrap()
        .to_string();
    rt.block_on(chain.mine(3));
    wait_state(&a, &id, "ready");
    b.ok(&["close", &id, "--force"]);
    rt.block_on(chain.mine(1));
    let first = wait_for_blocking("A's sweep", DEADLINE, || {
        channel(&a, &id)["close"]["sweeps"][0]["txid"]
            .as_str()
            .map(str::to_string)
    });
    let first_fee = channel(&a, &id)["close"]["sweeps"][0]["fee_sat"]
        .as_u64()
        .unwrap();
    // Empty blocks: the sweep stays in the mempool while the chain moves on.
    let burn = common::procs::nobody();
    for _ in 0..3 {
        let _: Value = rt
            .block_on(
                chain
                    .rpc()
                    .call("generateblock", &[json!(burn.to_string()), json!([])]),
            )
            .unwrap();
    }
    let replacement = wait_for_blocking("a replacement sweep", DEADLINE, || {
        let sweeps = channel(&a, &id)["close"]["sweeps"].as_array()?.clone();
        let live = sweeps.first()?;
        (live["txid"] != first.as_str()).then(|| {
            (
                live["txid"].as_str().unwrap().to_string(),
                live["fee_sat"].as_u64().unwrap(),
            )
        })
    });
    assert!(
        replacement.1 > first_fee,
        "{} <= {first_fee}",
        replacement.1
    );
    let mempool: Value = rt.block_on(chain.rpc().call("getrawmempool", &[])).unwrap();
    let mempool: Vec<&str> = mempool
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(mempool.contains(&replacement.0.as_str()));
    assert!(
        !mempool.contains(&first.as_str()),
        "the replaced sweep left the mempool"
    );
    rt.block_on(chain.mine(6));
    wait_state(&a, &id, "closed");
    let history = a.ok(&["history", &id]);
    assert!(history
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["event"] == "sweep_replaced"));
}
