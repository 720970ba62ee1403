//! A Petrel node (a real `petrel node` process) and an LDK node (in the test process) on one
//! `petrel regtest` chain, funded and connected, with the steps the LDK interop tests
//! (`interop_open.rs`, `interop_close.rs`, `interop_update.rs`) share: running Petrel's CLI off
//! the async workers, either side opening a channel and both calling it ready, reading both
//! views of a channel, restarting Petrel with a crash point armed (`PETREL_CRASH_AT`,
//! `src/crash.rs`) and again without, and awaiting `channel_reestablish`. What only one test
//! file checks stays in that file, some of it in an `impl Pair` block of its own.
//!
//! Test files include it by path next to `common` and `ldk`
//! (`#[path = "common/ldk/pair.rs"] mod pair;`): it needs `common`, which not every test binary
//! that includes `ldk` declares, so `ldk/mod.rs` does not list it.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::sync::{Arc, Weak};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, OutPoint, Transaction, Txid};
use lightning::events::{ClosureReason, Event};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId as LdkChannelId;
use petrel::chain::ChainSource as _;
use serde_json::Value;

use crate::common::procs::{ChainProcess, NodeProcess, RegtestProcess};
use crate::common::{wait_for, DEADLINE};
use crate::ldk::node::{user_config, LdkNode};

/// Confirmations each side asks for before `channel_ready` (Petrel's default is 3 too).
pub const MINIMUM_DEPTH: u32 = 3;

/// How often the test plays LDK's background processor and hands LDK's pending HTLCs to
/// `process_pending_htlc_forwards`.
const HTLC_PROCESSING_INTERVAL: Duration = Duration::from_millis(20);

/// Runs a Petrel CLI verb that must succeed, off the async workers.
pub fn petrel_ok(node: &NodeProcess, args: &[&str]) -> Value {
    tokio::task::block_in_place(|| node.ok(args))
}

/// Runs a Petrel CLI verb that may fail (or lose its node mid-call), off the async workers:
/// whether it succeeded and what it printed.
pub fn petrel_cli(node: &NodeProcess, args: &[&str]) -> (bool, Value) {
    tokio::task::block_in_place(|| node.cli(args))
}

/// Everything Petrel's wallet holds, confirmed or not.
pub fn petrel_total(node: &NodeProcess) -> u64 {
    let balance = petrel_ok(node, &["balance"]);
    [
        "confirmed_sat",
        "unconfirmed_sat",
        "locked_sat",
        "immature_sat",
    ]
    .iter()
    .map(|k| balance[k].as_u64().expect("balance field"))
    .sum()
}

/// Who opens the connection between the two nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialler {
    /// `petrel connect` to LDK's listener.
    Petrel,
    /// LDK's `connect_outbound` to Petrel's listener.
    Ldk,
}

/// How [`Pair::start_with`] sets a pair up.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// LDK's keys (and its wallet's key) come from it.
    pub seed: [u8; 32],
    /// Whether LDK's wallet gets a mature coinbase too, for the channels LDK opens; Petrel's
    /// always does.
    pub fund_ldk: bool,
    /// Who opens the connection.
    pub dialler: Dialler,
}

/// A Petrel node and an LDK node on one regtest chain, Petrel's wallet (and LDK's, if the
/// [`Setup`] says so) holding a mature coinbase, connected, and what the two wallets held
/// together at that point.
pub struct Pair {
    /// The chain.
    pub chain: RegtestProcess,
    /// The Petrel node.
    pub petrel: NodeProcess,
    /// Its node id.
    pub petrel_id: PublicKey,
    /// The LDK node.
    pub ldk: Arc<LdkNode>,
    /// The chain's height once both nodes had every block, when the totals were taken.
    pub start_height: u32,
    /// Petrel's wallet plus LDK's, at `start_height`.
    pub start_total: u64,
    /// The task that plays LDK's background processor for HTLCs.
    htlc_processor: tokio::task::JoinHandle<()>,
}

impl Drop for Pair {
    fn drop(&mut self) {
        self.htlc_processor.abort();
    }
}

impl Pair {
    /// Starts the chain and both nodes (LDK's keys from `seed`), matures a coinbase for
    /// Petrel, waits until LDK has every block, and connects Petrel to LDK.
    pub async fn start(seed: [u8; 32]) -> Pair {
        Pair::start_with(Setup {
            seed,
            fund_ldk: false,
            dialler: Dialler::Petrel,
        })
        .await
    }

    /// Starts the chain and both nodes as `setup` says, matures a coinbase for Petrel (and,
    /// with `fund_ldk`, one for LDK), waits until LDK has every block, connects the two, and
    /// takes the wallets' totals.
    pub async fn start_with(setup: Setup) -> Pair {
        let chain = RegtestProcess::start();
        let petrel = NodeProcess::start(&chain, &[]);
        let petrel_id: PublicKey = petrel.node_id.parse().unwrap();
        let ldk = LdkNode::start(setup.seed, chain.rpc(), user_config(MINIMUM_DEPTH)).await;

        let petrel_address = petrel_ok(&petrel, &["newaddress"])["address"]
            .as_str()
            .unwrap()
            .to_string();
        chain.mine_to(1, &petrel_address).await;
        if setup.fund_ldk {
            let ldk_address = ldk.wallet.lock().unwrap().address.to_string();
            chain.mine_to(1, &ldk_address).await;
        }
        chain.mine(100).await;
        let tip = u32::try_from(chain.height().await).unwrap();
        wait_for("Petrel's coinbase to mature", DEADLINE, || async {
            let balance = petrel_ok(&petrel, &["balance"]);
            (balance["confirmed_sat"].as_u64()? > 0).then_some(())
        })
        .await;
        wait_for("LDK to sync to the tip", DEADLINE, || async {
            (ldk.synced_height() == tip).then_some(())
        })
        .await;
        if setup.fund_ldk {
            assert!(ldk.wallet.lock().unwrap().spendable() > Amount::ZERO);
        }

        connect(&petrel, petrel_id, &ldk, setup.dialler).await;
        let start_total = petrel_total(&petrel) + ldk.wallet.lock().unwrap().spendable().to_sat();
        let htlc_processor = tokio::spawn(process_htlcs(Arc::downgrade(&ldk)));
        Pair {
            chain,
            petrel,
            petrel_id,
            ldk,
            start_height: tip,
            start_total,
            htlc_processor,
        }
    }

    /// Mines `n` blocks.
    pub async fn mine(&self, n: u32) {
        self.chain.mine(n).await;
    }

    /// `petrel open` to LDK: Petrel's answer (channel id, funding transaction), which it gives
    /// once it has stored the channel.
    pub fn petrel_open(&self, funding_sat: u64, push_msat: u64) -> Value {
        petrel_ok(
            &self.petrel,
            &[
                "open",
                &self.ldk.node_id.to_string(),
                &funding_sat.to_string(),
                "--push-msat",
                &push_msat.to_string(),
            ],
        )
    }

    /// `petrel open` to LDK; returns the channel id once LDK has it pending.
    pub async fn petrel_opens(&self, funding_sat: u64, push_msat: u64) -> String {
        let opened = self.petrel_open(funding_sat, push_msat);
        let channel_id = opened["channel_id"].as_str().unwrap().to_string();
        self.wait_ldk_pending(&channel_id).await;
        channel_id
    }

    /// LDK's `create_channel` to Petrel; returns the channel id once LDK has broadcast the
    /// funding and Petrel stored the channel.
    pub async fn ldk_opens(&self, funding_sat: u64, push_msat: u64) -> String {
        let (channel_id, _) = self
            .ldk
            .open_to(self.petrel_id, funding_sat, push_msat)
            .await;
        self.wait_petrel_lists(&channel_id).await;
        channel_id
    }

    /// Waits for LDK's `ChannelPending` event for the channel; returns the funding outpoint
    /// it names.
    pub async fn wait_ldk_pending(&self, channel_id: &str) -> OutPoint {
        wait_for("LDK's ChannelPending event", DEADLINE, || async {
            self.ldk
                .events_where(|e| match e {
                    Event::ChannelPending {
                        channel_id: id,
                        funding_txo,
                        ..
                    } if id.to_string() == channel_id => Some(*funding_txo),
                    _ => None,
                })
                .into_iter()
                .next()
        })
        .await
    }

    /// Waits until Petrel lists the channel (`petrel channels`); returns its view.
    pub async fn wait_petrel_lists(&self, channel_id: &str) -> Value {
        wait_for("Petrel to list the channel", DEADLINE, || async {
            self.petrel_channel(channel_id)
        })
        .await
    }

    /// Waits until Petrel's channel is in `state`; returns its view.
    pub async fn wait_petrel_state(&self, channel_id: &str, state: &str) -> Value {
        wait_for(
            &format!("Petrel's channel to be {state}"),
            DEADLINE,
            || async {
                self.petrel_channel(channel_id)
                    .filter(|c| c["state"] == state)
            },
        )
        .await
    }

    /// Mines the funding deep enough and waits until both sides call every channel ready:
    /// Petrel's state "ready", LDK's "usable".
    pub async fn confirm_ready(&self, ids: &[&str]) {
        self.mine(MINIMUM_DEPTH).await;
        for id in ids {
            self.wait_petrel_state(id, "ready").await;
        }
        wait_for("LDK to call the channels usable", DEADLINE, || async {
            self.ldk_calls_usable(ids).then_some(())
        })
        .await;
    }

    /// `petrel open` to LDK, then the funding mined to its depth: returns the channel id once
    /// Petrel calls the channel ready and LDK calls it usable.
    pub async fn open_ready(&self, funding_sat: u64, push_msat: u64) -> String {
        let channel_id = self.petrel_opens(funding_sat, push_msat).await;
        self.confirm_ready(&[&channel_id]).await;
        channel_id
    }

    /// Petrel's view of the channel (`petrel channels`), if it lists it.
    pub fn petrel_channel(&self, channel_id: &str) -> Option<Value> {
        tokio::task::block_in_place(|| self.petrel.channels())
            .into_iter()
            .find(|c| c["channel_id"] == channel_id)
    }

    /// Petrel's view of a channel it must list.
    pub fn petrel_view(&self, channel_id: &str) -> Value {
        self.petrel_channel(channel_id)
            .unwrap_or_else(|| panic!("Petrel has no channel {channel_id}"))
    }

    /// The funding outpoint of Petrel's channel.
    pub fn funding_outpoint(&self, channel_id: &str) -> OutPoint {
        self.petrel_view(channel_id)["funding_outpoint"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// LDK's view of the channel, if it lists it.
    pub fn ldk_channel(&self, channel_id: &str) -> Option<ChannelDetails> {
        self.ldk
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id.to_string() == channel_id)
    }

    /// LDK's id for a channel it must list, which Petrel calls `channel_id`.
    pub fn ldk_channel_id(&self, channel_id: &str) -> LdkChannelId {
        self.ldk_channel(channel_id)
            .unwrap_or_else(|| panic!("LDK has no channel {channel_id}"))
            .channel_id
    }

    /// Whether LDK lists every channel in `ids` and calls each usable.
    pub fn ldk_calls_usable(&self, ids: &[&str]) -> bool {
        let channels = self.ldk.manager.list_channels();
        ids.iter().all(|id| {
            channels
                .iter()
                .any(|c| c.channel_id.to_string() == *id && c.is_usable)
        })
    }

    /// Every `ChannelClosed` LDK reported so far.
    pub fn ldk_closes(&self) -> Vec<(LdkChannelId, ClosureReason)> {
        self.ldk.events_where(|e| match e {
            Event::ChannelClosed {
                channel_id, reason, ..
            } => Some((*channel_id, reason.clone())),
            _ => None,
        })
    }

    /// Neither side closed or failed a channel, and neither warned the other: LDK reported
    /// no `ChannelClosed` and read no `warning`; Petrel's log (every run of it) shows no
    /// `warning` or `error` from LDK and no failed channel (`src/peer/actor.rs`,
    /// `src/node/channels.rs`).
    pub fn assert_quiet(&self) {
        let closes = self.ldk_closes();
        assert!(
            closes.is_empty(),
            "LDK closed channels: {closes:?}\n--- Petrel log ---\n{}\n--- LDK log ---\n{}",
            self.petrel.log_tail(),
            self.ldk.logger.tail()
        );
        assert_eq!(
            self.ldk.logger.count("Got warning message"),
            0,
            "LDK read a warning:\n{}",
            self.ldk.logger.tail()
        );
        let log = std::fs::read_to_string(self.petrel.datadir.join("node.log")).unwrap();
        for what in ["peer warning:", "peer error:", "channel failed:"] {
            assert!(
                !log.contains(what),
                "Petrel logged {what:?}:\n{}",
                self.petrel.log_tail()
            );
        }
    }

    /// Nothing is waiting in the mempool: neither side broadcast a commitment (a force
    /// close) or anything else since the last block.
    pub async fn assert_mempool_empty(&self) {
        let mempool: Value = self
            .chain
            .rpc()
            .call("getrawmempool", &[])
            .await
            .expect("getrawmempool");
        assert_eq!(mempool, Value::Array(Vec::new()), "something was broadcast");
    }

    /// Waits for LDK's `ChannelClosed` event for the channel; returns its reason.
    pub async fn wait_ldk_closed(&self, channel_id: &str) -> ClosureReason {
        let ldk = &self.ldk;
        wait_for("LDK's ChannelClosed event", DEADLINE, || async {
            ldk.events_where(|e| match e {
                Event::ChannelClosed {
                    channel_id: id,
                    reason,
                    ..
                } if id.to_string() == channel_id => Some(reason.clone()),
                _ => None,
            })
            .into_iter()
            .next()
        })
        .await
    }

    /// The mempool transaction spending `outpoint`, once there is one.
    pub async fn wait_spender_in_mempool(&self, outpoint: OutPoint) -> Transaction {
        let rpc = self.chain.rpc();
        wait_for(&format!("a spend of {outpoint}"), DEADLINE, || async {
            let mempool: Value = rpc.call("getrawmempool", &[]).await.ok()?;
            for txid in mempool.as_array()? {
                let txid: Txid = txid.as_str()?.parse().ok()?;
                let tx = rpc.raw_transaction(txid).await.ok()??;
                if tx.input.iter().any(|i| i.previous_output == outpoint) {
                    return Some(tx);
                }
            }
            None
        })
        .await
    }

    /// The fee `tx` paid: its inputs (looked up on the chain) minus its outputs.
    pub async fn fee_of(&self, tx: &Transaction) -> u64 {
        let rpc = self.chain.rpc();
        let mut inputs = Amount::ZERO;
        for input in &tx.input {
            let prev = rpc
                .raw_transaction(input.previous_output.txid)
                .await
                .expect("getrawtransaction")
                .expect("the spent transaction is known");
            let index = usize::try_from(input.previous_output.vout).unwrap();
            inputs += prev.output[index].value;
        }
        let outputs: Amount = tx.output.iter().map(|o| o.value).sum();
        (inputs - outputs).to_sat()
    }

    /// How many `channel_reestablish` LDK has received so far.
    pub fn reestablishes_received(&self) -> usize {
        self.ldk.logger.count("Received message ChannelReestablish")
    }

    /// Waits until LDK has received more than `before` `channel_reestablish` and calls the
    /// channel usable again with Petrel connected: LDK clears a channel's "peer disconnected"
    /// state only once it has accepted the peer's `channel_reestablish`, whose commitment
    /// numbers it checks against its own. Petrel must call the channel ready.
    pub async fn wait_reestablished(&self, channel_id: &str, before: usize) {
        wait_for(
            "Petrel's channel_reestablish to reach LDK",
            DEADLINE,
            || async { (self.reestablishes_received() > before).then_some(()) },
        )
        .await;
        wait_for(
            "LDK to have Petrel back with the channel usable",
            DEADLINE,
            || async {
                self.ldk.peers.peer_by_node_id(&self.petrel_id)?;
                self.ldk_channel(channel_id)
                    .filter(|c| c.is_usable)
                    .map(|_| ())
            },
        )
        .await;
        let state = self.petrel_channel(channel_id).map(|c| c["state"].clone());
        assert_eq!(
            state,
            Some(Value::from("ready")),
            "{}",
            self.petrel.log_tail()
        );
    }

    /// LDK drops the connection; Petrel redials and both sides reestablish the channel. LDK
    /// refuses a `channel_reestablish` whose commitment numbers are not the ones it expects,
    /// so a usable channel afterwards means both sides agree on every commitment.
    pub async fn reconnect(&self, channel_id: &str) {
        let before = self.reestablishes_received();
        self.ldk.peers.disconnect_by_node_id(self.petrel_id);
        self.wait_reestablished(channel_id, before).await;
    }

    /// Stops Petrel (SIGKILL, between two steps) and starts it again on its datadir and
    /// listener with `PETREL_CRASH_AT=point`.
    pub fn restart_crashing_at(&mut self, point: &str) {
        tokio::task::block_in_place(|| self.petrel.restart_crashing_at(Some(point)));
    }

    /// Whether Petrel has logged that it aborts at `point` (`src/crash.rs` logs it just
    /// before `abort`), in any run so far.
    pub fn petrel_aborted_at(&self, point: &str) -> bool {
        std::fs::read_to_string(self.petrel.datadir.join("node.log"))
            .unwrap_or_default()
            .contains(&format!("PETREL_CRASH_AT={point}: aborting"))
    }

    /// Waits for Petrel to exit by itself, and checks that it aborted at `point`.
    pub fn wait_petrel_aborted(&mut self, point: &str) {
        let exited = tokio::task::block_in_place(|| self.petrel.wait_exit());
        assert!(
            exited && self.petrel_aborted_at(point),
            "Petrel did not abort at {point}:\n{}",
            self.petrel.log_tail()
        );
    }

    /// Starts Petrel again, without a crash point (it redials LDK on recovery).
    pub fn restart_petrel(&mut self) {
        tokio::task::block_in_place(|| self.petrel.restart());
    }
}

/// Connects the two nodes, `dialler` dialling, and waits until each lists the other (LDK
/// with the connection's direction right).
async fn connect(petrel: &NodeProcess, petrel_id: PublicKey, ldk: &LdkNode, dialler: Dialler) {
    match dialler {
        Dialler::Petrel => {
            let target = format!("{}@{}", ldk.node_id, ldk.listen);
            let connected = petrel_ok(petrel, &["connect", &target]);
            assert_eq!(connected["node_id"], ldk.node_id.to_string());
        }
        Dialler::Ldk => {
            ldk.connect(petrel_id, petrel.listen.parse().unwrap()).await;
            wait_for("Petrel to list LDK as a peer", DEADLINE, || async {
                let peers = petrel_ok(petrel, &["peers"]);
                peers
                    .as_array()?
                    .iter()
                    .any(|p| p["node_id"] == ldk.node_id.to_string() && p["connected"] == true)
                    .then_some(())
            })
            .await;
        }
    }
    wait_for("LDK to list Petrel as a peer", DEADLINE, || async {
        let peer = ldk.peers.peer_by_node_id(&petrel_id)?;
        (peer.is_inbound_connection == (dialler == Dialler::Petrel)).then_some(())
    })
    .await;
}

/// The HTLC step of LDK's background processor, which the test node's driver leaves out: an
/// HTLC the peer has irrevocably committed waits in LDK until `process_pending_htlc_forwards`
/// decodes its onion (and fails it back, for the unreadable onions of these tests). Ends
/// when the LDK node is dropped.
async fn process_htlcs(ldk: Weak<LdkNode>) {
    loop {
        tokio::time::sleep(HTLC_PROCESSING_INTERVAL).await;
        let Some(ldk) = ldk.upgrade() else {
            return;
        };
        if ldk.manager.needs_pending_htlc_processing() {
            ldk.manager.process_pending_htlc_forwards();
        }
    }
}
