//! A full LDK node in the test process: `ChannelManager`, `ChainMonitor` (in-memory
//! persister), `KeysManager`, `PeerManager` over lightning-net-tokio, a one-key wallet, and a
//! driver task that feeds it the blocks of a `petrel regtest` process, sends what it
//! broadcasts there, delivers its messages, and answers its events the way a simple node
//! would: it accepts every inbound channel, funds every outbound one from its wallet, and
//! claims every payment it has the preimage for. Its router ([`DirectRouter`]) pays only its
//! channel peers, in one hop.
//!
//! Every event is also kept ([`LdkNode::events`]) for the test to assert on, the chain
//! monitor's too. The outputs LDK reports as spendable after a close (`SpendableOutputs`) are
//! kept until the test sweeps them into the wallet ([`LdkNode::sweep_spendable`]), so that
//! the test decides when (a delayed output is only valid after its CSV delay).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::{self, PublicKey, Secp256k1};
use bitcoin::{BlockHash, Network, Transaction};
use lightning::blinded_path::payment::{BlindedPaymentPath, ReceiveTlvs};
use lightning::chain::chainmonitor::{ChainMonitor, Persist};
use lightning::chain::channelmonitor::{ChannelMonitor, ChannelMonitorUpdate};
use lightning::chain::{BestBlock, ChannelMonitorUpdateStatus, Filter, Listen as _};
use lightning::events::{Event, EventsProvider as _, ReplayEvent};
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{ChainParameters, ChannelManager};
use lightning::ln::peer_handler::{IgnoringMessageHandler, MessageHandler, PeerManager};
use lightning::onion_message::messenger::NullMessageRouter;
use lightning::routing::router::{
    InFlightHtlcs, Path, Payee, Route, RouteHop, RouteParameters, Router,
};
use lightning::sign::{
    InMemorySigner, KeysManager, NodeSigner as _, OutputSpender as _, Recipient,
    SpendableOutputDescriptor,
};
use lightning::types::features::{ChannelFeatures, NodeFeatures};
use lightning::util::config::UserConfig;
use lightning::util::persist::MonitorName;
use lightning::util::ser::Writeable as _;
use lightning_net_tokio::SocketDescriptor;
use petrel::chain::{BitcoindRpc, ChainSource as _};
use petrel::units::BlockHeight;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::chain::{QueueBroadcaster, TestFees};
use super::logger::TestLogger;
use super::wallet::P2wpkhWallet;

/// How often the driver looks for new blocks, messages and events.
const DRIVER_INTERVAL: Duration = Duration::from_millis(10);

/// Keeps every channel monitor LDK asks to persist, serialized, in memory.
#[derive(Debug, Default)]
pub struct MemoryPersister {
    /// The latest serialization of each monitor, by name.
    pub monitors: Mutex<HashMap<String, Vec<u8>>>,
}

impl Persist<InMemorySigner> for MemoryPersister {
    fn persist_new_channel(
        &self,
        name: MonitorName,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        self.monitors
            .lock()
            .unwrap()
            .insert(name.to_string(), monitor.encode());
        ChannelMonitorUpdateStatus::Completed
    }

    fn update_persisted_channel(
        &self,
        name: MonitorName,
        _update: Option<&ChannelMonitorUpdate>,
        monitor: &ChannelMonitor<InMemorySigner>,
    ) -> ChannelMonitorUpdateStatus {
        self.persist_new_channel(name, monitor)
    }

    fn archive_persisted_channel(&self, name: MonitorName) {
        self.monitors.lock().unwrap().remove(&name.to_string());
    }
}

/// The test node's router. It knows no graph, only LDK's own channels (`first_hops`): it
/// routes a payment in one hop over a usable channel whose counterparty is the payee, the
/// whole amount delivered there with the payee's final CLTV delta and no fee. With
/// [`DirectRouter::split_next`] set, the next route it finds is split into that many equal
/// parts (the last takes the remainder), each over such a channel (the same one more than
/// once if need be), for a multi-part payment. Anything else (a payee that is not a peer, a
/// blinded payee) is an error.
#[derive(Debug, Default)]
pub struct DirectRouter {
    /// How many parts the next route is split into (0 or 1: one path).
    split: AtomicU64,
}

impl DirectRouter {
    /// Splits the next route found into `parts` paths.
    pub fn split_next(&self, parts: u64) {
        self.split.store(parts, Ordering::SeqCst);
    }
}

impl Router for DirectRouter {
    fn find_route(
        &self,
        _payer: &PublicKey,
        params: &RouteParameters,
        first_hops: Option<&[&ChannelDetails]>,
        _inflight: InFlightHtlcs,
    ) -> Result<Route, &'static str> {
        let Payee::Clear {
            node_id,
            final_cltv_expiry_delta,
            ..
        } = &params.payment_params.payee
        else {
            return Err("the LDK test node pays only node ids it has a channel with");
        };
        let channels: Vec<&ChannelDetails> = first_hops
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|c| c.counterparty.node_id == *node_id && c.is_usable)
            .collect();
        if channels.is_empty() {
            return Err("no usable channel with the payee");
        }
        let parts = self.split.swap(0, Ordering::SeqCst).max(1);
        let total = params.final_value_msat;
        let mut paths = Vec::new();
        for part in 0..parts {
            let amount = if part + 1 == parts {
                total - (total / parts) * (parts - 1)
            } else {
                total / parts
            };
            let index = usize::try_from(part).unwrap() % channels.len();
            let channel = channels[index];
            let scid = channel
                .get_outbound_payment_scid()
                .ok_or("the channel has no short channel id yet")?;
            paths.push(Path {
                hops: vec![RouteHop {
                    pubkey: *node_id,
                    node_features: NodeFeatures::empty(),
                    short_channel_id: scid,
                    channel_features: ChannelFeatures::empty(),
                    fee_msat: amount,
                    cltv_expiry_delta: *final_cltv_expiry_delta,
                    maybe_announced_channel: false,
                }],
                blinded_tail: None,
            });
        }
        Ok(Route {
            paths,
            route_params: Some(params.clone()),
        })
    }

    fn create_blinded_payment_paths<T: secp256k1::Signing + secp256k1::Verification>(
        &self,
        _recipient: PublicKey,
        _first_hops: Vec<ChannelDetails>,
        _tlvs: ReceiveTlvs,
        _amount_msats: Option<u64>,
        _secp: &Secp256k1<T>,
    ) -> Result<Vec<BlindedPaymentPath>, ()> {
        Err(())
    }
}

/// The chain monitor of the test node.
pub type Monitor = ChainMonitor<
    InMemorySigner,
    Arc<dyn Filter + Send + Sync>,
    Arc<QueueBroadcaster>,
    Arc<TestFees>,
    Arc<TestLogger>,
    Arc<MemoryPersister>,
    Arc<KeysManager>,
>;

/// The channel manager of the test node.
pub type Manager = ChannelManager<
    Arc<Monitor>,
    Arc<QueueBroadcaster>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<KeysManager>,
    Arc<TestFees>,
    Arc<DirectRouter>,
    Arc<NullMessageRouter>,
    Arc<TestLogger>,
>;

/// The peer manager of the test node: channel messages go to the channel manager, gossip and
/// onion messages are ignored.
pub type NodePeerManager = PeerManager<
    SocketDescriptor,
    Arc<Manager>,
    Arc<IgnoringMessageHandler>,
    Arc<IgnoringMessageHandler>,
    Arc<TestLogger>,
    Arc<IgnoringMessageHandler>,
    Arc<KeysManager>,
    Arc<IgnoringMessageHandler>,
>;

/// The configuration Petrel can work with: no anchors (Petrel supports only the
/// `option_static_remotekey` channel type), inbound channels accepted by the driver (so the
/// test sees `OpenChannelRequest`), and a 1% reserve asked of the peer.
pub fn user_config(minimum_depth: u32) -> UserConfig {
    let mut config = UserConfig::default();
    config
        .channel_handshake_config
        .negotiate_anchors_zero_fee_htlc_tx = false;
    config
        .channel_handshake_config
        .negotiate_anchor_zero_fee_commitments = false;
    config.channel_handshake_config.minimum_depth = minimum_depth;
    config
        .channel_handshake_config
        .their_channel_reserve_proportional_millionths = 10_000;
    config.channel_handshake_config.announce_for_forwarding = false;
    config.manually_accept_inbound_channels = true;
    config
}

/// One LDK node, driven by its own task until dropped.
pub struct LdkNode {
    /// Its node id.
    pub node_id: PublicKey,
    /// Its Lightning listener.
    pub listen: SocketAddr,
    /// The channel manager.
    pub manager: Arc<Manager>,
    /// The chain monitor.
    pub monitor: Arc<Monitor>,
    /// The router the channel manager finds its payments' routes with.
    pub router: Arc<DirectRouter>,
    /// Its keys (which sign the sweeps of what a closed channel left it).
    pub keys: Arc<KeysManager>,
    /// Outputs LDK reported spendable and the test has not swept yet.
    pub spendable: Mutex<Vec<SpendableOutputDescriptor>>,
    /// The peer manager.
    pub peers: Arc<NodePeerManager>,
    /// Its logger.
    pub logger: Arc<TestLogger>,
    /// Its fee estimator.
    pub fees: Arc<TestFees>,
    /// What it broadcast, and the chain's answers.
    pub broadcaster: Arc<QueueBroadcaster>,
    /// Its on-chain wallet.
    pub wallet: Mutex<P2wpkhWallet>,
    /// Every event LDK produced, in order.
    pub events: Mutex<Vec<Event>>,
    /// The last block fed to LDK.
    synced: Mutex<(u32, BlockHash)>,
    rpc: BitcoindRpc,
    next_user_channel_id: AtomicU64,
    stop: CancellationToken,
}

impl LdkNode {
    /// Starts a node whose keys come from `seed`, synced to `rpc`'s current tip, listening on
    /// a fresh loopback port, with its driver running.
    pub async fn start(seed: [u8; 32], rpc: BitcoindRpc, config: UserConfig) -> Arc<LdkNode> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let keys = Arc::new(KeysManager::new(
            &seed,
            now.as_secs(),
            now.subsec_nanos(),
            true,
        ));
        let node_id = keys.get_node_id(Recipient::Node).expect("node id");
        let logger = Arc::new(TestLogger::new("LDK"));
        let fees = Arc::new(TestFees::default());
        let broadcaster = Arc::new(QueueBroadcaster::default());
        let persister = Arc::new(MemoryPersister::default());
        let monitor = Arc::new(ChainMonitor::new(
            None,
            Arc::clone(&broadcaster),
            Arc::clone(&logger),
            Arc::clone(&fees),
            persister,
            Arc::clone(&keys),
            keys.get_peer_storage_key(),
        ));
        let tip = rpc.best_block().await.expect("chain tip");
        let height = tip.height.0;
        let router = Arc::new(DirectRouter::default());
        let manager = Arc::new(ChannelManager::new(
            Arc::clone(&fees),
            Arc::clone(&monitor),
            Arc::clone(&broadcaster),
            Arc::clone(&router),
            Arc::new(NullMessageRouter {}),
            Arc::clone(&logger),
            Arc::clone(&keys),
            Arc::clone(&keys),
            Arc::clone(&keys),
            config,
            ChainParameters {
                network: Network::Regtest,
                best_block: BestBlock::new(tip.hash, height),
            },
            u32::try_from(now.as_secs()).unwrap(),
        ));
        let ignoring = Arc::new(IgnoringMessageHandler {});
        let handlers = MessageHandler {
            chan_handler: Arc::clone(&manager),
            route_handler: Arc::clone(&ignoring),
            onion_message_handler: Arc::clone(&ignoring),
            custom_message_handler: Arc::clone(&ignoring),
            send_only_message_handler: ignoring,
        };
        let mut ephemeral = [0u8; 32];
        ephemeral[..8].copy_from_slice(&now.as_nanos().to_be_bytes()[8..]);
        let peers = Arc::new(PeerManager::new(
            handlers,
            u32::try_from(now.as_secs()).unwrap(),
            &ephemeral,
            Arc::clone(&logger),
            Arc::clone(&keys),
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let listen = listener.local_addr().unwrap();
        let mut wallet_key = seed;
        wallet_key[0] ^= 0xff;
        let node = Arc::new(LdkNode {
            node_id,
            listen,
            manager,
            monitor,
            router,
            keys,
            spendable: Mutex::new(Vec::new()),
            peers,
            logger,
            fees,
            broadcaster,
            wallet: Mutex::new(P2wpkhWallet::new(wallet_key)),
            events: Mutex::new(Vec::new()),
            synced: Mutex::new((height, tip.hash)),
            rpc,
            next_user_channel_id: AtomicU64::new(1),
            stop: CancellationToken::new(),
        });
        tokio::spawn(accept_loop(Arc::clone(&node), listener));
        tokio::spawn(drive(Arc::clone(&node)));
        node
    }

    /// Dials `node_id` at `address`.
    pub async fn connect(&self, node_id: PublicKey, address: SocketAddr) {
        let connected =
            lightning_net_tokio::connect_outbound(Arc::clone(&self.peers), node_id, address)
                .await
                .expect("LDK connects");
        drop(connected);
    }

    /// LDK's `create_channel` to `peer`: returns the channel id and funding outpoint once LDK
    /// has funded it (the driver funds from LDK's wallet) and broadcast the funding, which
    /// LDK does after the peer's `funding_signed`.
    pub async fn open_to(
        &self,
        peer: PublicKey,
        funding_sat: u64,
        push_msat: u64,
    ) -> (String, bitcoin::OutPoint) {
        let temporary = self
            .manager
            .create_channel(
                peer,
                funding_sat,
                push_msat,
                self.user_channel_id(),
                None,
                None,
            )
            .expect("LDK starts the open");
        // Polled (the driver task delivers LDK's events), for at most a minute.
        let give_up = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let pending = self.events_where(|e| match e {
                Event::ChannelPending {
                    channel_id,
                    former_temporary_channel_id,
                    funding_txo,
                    ..
                } if *former_temporary_channel_id == Some(temporary) => {
                    Some((channel_id.to_string(), *funding_txo))
                }
                _ => None,
            });
            if let Some(found) = pending.into_iter().next() {
                if self.broadcaster.accepted(found.1.txid) {
                    return found;
                }
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "LDK never funded and broadcast the channel"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A fresh `user_channel_id`.
    pub fn user_channel_id(&self) -> u128 {
        u128::from(self.next_user_channel_id.fetch_add(1, Ordering::SeqCst))
    }

    /// The height of the last block fed to LDK.
    pub fn synced_height(&self) -> u32 {
        self.synced.lock().unwrap().0
    }

    /// The events so far that `pick` selects.
    pub fn events_where<T>(&self, pick: impl FnMut(&Event) -> Option<T>) -> Vec<T> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(pick)
            .collect()
    }

    /// Feeds LDK every block from the one after its last to the chain's tip.
    async fn sync(&self) {
        let Ok(tip) = self.rpc.best_block().await else {
            return;
        };
        loop {
            let (height, hash) = *self.synced.lock().unwrap();
            if height >= tip.height.0 {
                return;
            }
            let next = height + 1;
            let Ok(Some((next_hash, block))) = self.rpc.block_at(BlockHeight(next)).await else {
                return;
            };
            assert_eq!(
                block.header.prev_blockhash, hash,
                "the chain reorganised under the LDK node; these tests mine without reorgs"
            );
            self.manager.block_connected(&block, next);
            self.monitor.block_connected(&block, next);
            self.wallet.lock().unwrap().block_connected(&block, next);
            *self.synced.lock().unwrap() = (next, next_hash);
        }
    }

    /// Sweeps every output LDK reported spendable into its wallet with LDK's own
    /// `spend_spendable_outputs` (at the fee estimator's rate), hands the transaction to the
    /// broadcaster, and returns it; `None` if there was nothing to sweep.
    pub fn sweep_spendable(&self) -> Option<Transaction> {
        let outputs = std::mem::take(&mut *self.spendable.lock().unwrap());
        if outputs.is_empty() {
            return None;
        }
        let descriptors: Vec<&SpendableOutputDescriptor> = outputs.iter().collect();
        let destination = self.wallet.lock().unwrap().address.script_pubkey();
        let rate = lightning::chain::chaininterface::FeeEstimator::get_est_sat_per_1000_weight(
            &*self.fees,
            lightning::chain::chaininterface::ConfirmationTarget::OutputSpendingFee,
        );
        let tx = self
            .keys
            .spend_spendable_outputs(
                &descriptors,
                Vec::new(),
                destination,
                rate,
                None,
                &Secp256k1::new(),
            )
            .expect("LDK sweeps its spendable outputs");
        lightning::chain::chaininterface::BroadcasterInterface::broadcast_transactions(
            &*self.broadcaster,
            &[&tx],
        );
        Some(tx)
    }

    /// Takes LDK's pending events, keeps them, and answers the ones a node must answer.
    fn handle_events(&self) {
        let fresh = std::cell::RefCell::new(Vec::new());
        self.manager.process_pending_events(&|event: Event| {
            fresh.borrow_mut().push(event);
            Ok::<(), ReplayEvent>(())
        });
        // The chain monitor's events (`SpendableOutputs` after a close) come separately.
        self.monitor.process_pending_events(&|event: Event| {
            fresh.borrow_mut().push(event);
            Ok::<(), ReplayEvent>(())
        });
        let fresh = fresh.into_inner();
        for event in &fresh {
            match event {
                Event::OpenChannelRequest {
                    temporary_channel_id,
                    counterparty_node_id,
                    ..
                } => {
                    self.manager
                        .accept_inbound_channel(
                            temporary_channel_id,
                            counterparty_node_id,
                            self.user_channel_id(),
                            None,
                        )
                        .expect("LDK accepts the channel");
                }
                Event::FundingGenerationReady {
                    temporary_channel_id,
                    counterparty_node_id,
                    channel_value_satoshis,
                    output_script,
                    ..
                } => {
                    let tx = self.wallet.lock().unwrap().fund(
                        output_script.clone(),
                        bitcoin::Amount::from_sat(*channel_value_satoshis),
                    );
                    self.manager
                        .funding_transaction_generated(
                            *temporary_channel_id,
                            *counterparty_node_id,
                            tx,
                        )
                        .expect("LDK takes the funding transaction");
                }
                // A payment to us: claimed with the preimage LDK has for it (an invoice of its
                // own, or the one a keysend carried); one whose preimage it lacks (an invoice
                // made for a hash it was only given) is failed back, as
                // incorrect_or_unknown_payment_details.
                Event::PaymentClaimable {
                    purpose,
                    payment_hash,
                    ..
                } => match purpose.preimage() {
                    Some(preimage) => self.manager.claim_funds(preimage),
                    None => self.manager.fail_htlc_backwards(payment_hash),
                },
                Event::SpendableOutputs { outputs, .. } => {
                    self.spendable
                        .lock()
                        .unwrap()
                        .extend(outputs.iter().cloned());
                }
                _ => {}
            }
        }
        self.events.lock().unwrap().extend(fresh);
    }
}

impl Drop for LdkNode {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Hands every inbound connection to LDK.
async fn accept_loop(node: Arc<LdkNode>, listener: TcpListener) {
    let stop = node.stop.clone();
    let peers = Arc::clone(&node.peers);
    drop(node); // the loop must not keep the node alive
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        if let Ok((stream, _)) = accepted {
            drop(lightning_net_tokio::setup_inbound(
                Arc::clone(&peers),
                stream.into_std().unwrap(),
            ));
        }
    }
}

/// The node's driver: blocks in, broadcasts out, events answered, messages sent.
async fn drive(node: Arc<LdkNode>) {
    let stop = node.stop.clone();
    let node = Arc::downgrade(&node);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(DRIVER_INTERVAL) => {}
        }
        let Some(node) = node.upgrade() else {
            return;
        };
        node.sync().await;
        node.handle_events();
        node.peers.process_events();
        node.broadcaster.send_all(&node.rpc).await;
    }
}
