//! A Petrel node (a real `petrel node` process) and an LDK node (in the test process) on one
//! `petrel regtest` chain, connected, with the steps the channel-update interop tests share:
//! Petrel opens a channel and both sides call it ready, both views of it are read, Petrel is
//! restarted with a crash point armed (`PETREL_CRASH_AT`, `src/crash.rs`) and again without,
//! and `channel_reestablish` is awaited.
//!
//! Test files include it by path next to `common` and `ldk`
//! (`#[path = "common/ldk/pair.rs"] mod pair;`): it needs `common`, which not every test binary
//! that includes `ldk` declares, so `ldk/mod.rs` does not list it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bitcoin::secp256k1::PublicKey;
use lightning::events::{ClosureReason, Event};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::types::ChannelId as LdkChannelId;
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

/// A Petrel node and an LDK node on one regtest chain, Petrel's wallet holding a mature
/// coinbase, connected (Petrel dialled).
pub struct Pair {
    /// The chain.
    pub chain: RegtestProcess,
    /// The Petrel node.
    pub petrel: NodeProcess,
    /// Its node id.
    pub petrel_id: PublicKey,
    /// The LDK node.
    pub ldk: Arc<LdkNode>,
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
        let chain = RegtestProcess::start();
        let petrel = NodeProcess::start(&chain, &[]);
        let petrel_id: PublicKey = petrel.node_id.parse().unwrap();
        let ldk = LdkNode::start(seed, chain.rpc(), user_config(MINIMUM_DEPTH)).await;

        let address = petrel_ok(&petrel, &["newaddress"])["address"]
            .as_str()
            .unwrap()
            .to_string();
        chain.mine_to(1, &address).await;
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

        let target = format!("{}@{}", ldk.node_id, ldk.listen);
        petrel_ok(&petrel, &["connect", &target]);
        wait_for("LDK to list Petrel as a peer", DEADLINE, || async {
            ldk.peers.peer_by_node_id(&petrel_id).map(|_| ())
        })
        .await;
        let htlc_processor = tokio::spawn(process_htlcs(Arc::downgrade(&ldk)));
        Pair {
            chain,
            petrel,
            petrel_id,
            ldk,
            htlc_processor,
        }
    }

    /// `petrel open` to LDK, then the funding mined to its depth: returns the channel id once
    /// Petrel calls the channel ready and LDK calls it usable.
    pub async fn open_ready(&self, funding_sat: u64, push_msat: u64) -> String {
        let opened = petrel_ok(
            &self.petrel,
            &[
                "open",
                &self.ldk.node_id.to_string(),
                &funding_sat.to_string(),
                "--push-msat",
                &push_msat.to_string(),
            ],
        );
        let channel_id = opened["channel_id"].as_str().unwrap().to_string();
        let ldk = &self.ldk;
        wait_for("LDK's ChannelPending event", DEADLINE, || async {
            ldk.events_where(|e| match e {
                Event::ChannelPending { channel_id: id, .. } if id.to_string() == channel_id => {
                    Some(())
                }
                _ => None,
            })
            .into_iter()
            .next()
        })
        .await;
        self.chain.mine(MINIMUM_DEPTH).await;
        wait_for("Petrel's channel to be ready", DEADLINE, || async {
            self.petrel_channel(&channel_id)
                .filter(|c| c["state"] == "ready")
        })
        .await;
        wait_for("LDK to call the channel usable", DEADLINE, || async {
            self.ldk_channel(&channel_id).filter(|c| c.is_usable)
        })
        .await;
        channel_id
    }

    /// Petrel's view of the channel (`petrel channels`), if it lists it.
    pub fn petrel_channel(&self, channel_id: &str) -> Option<Value> {
        tokio::task::block_in_place(|| self.petrel.channels())
            .into_iter()
            .find(|c| c["channel_id"] == channel_id)
    }

    /// LDK's view of the channel, if it lists it.
    pub fn ldk_channel(&self, channel_id: &str) -> Option<ChannelDetails> {
        self.ldk
            .manager
            .list_channels()
            .into_iter()
            .find(|c| c.channel_id.to_string() == channel_id)
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
