//! The node actor: one task that owns the peer table and the core of every stored channel
//! ([`crate::channel::Channel`]), and routes between the control API, the peer actors, the
//! chain notifier and the watcher.
//!
//! It holds no protocol rule: channel decisions are made by the channel cores, reservations
//! by the peer actors. It runs the actions a core returns in order, persisting before it
//! sends.
#![allow(clippy::disallowed_methods)] // an actor: tasks, timers and clocks

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::{PublicKey, SecretKey};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::NodeConfig;
use crate::chain::{BlockFeed, ChainSource, ConfEvent};
use crate::channel::Channel;
use crate::peer::{self, Connection, PeerContext, PeerEvent, PeerHandle};
use crate::rpc::RpcError;
use crate::store::PeerRecord;
use crate::wire::ChannelId;

/// A request to the node actor (from the control API and the connection tasks).
#[derive(Debug)]
pub(crate) enum NodeCmd {
    /// A control API call: method and parameters.
    Rpc {
        method: String,
        params: serde_json::Value,
        reply: oneshot::Sender<Result<serde_json::Value, RpcError>>,
    },
    /// A connection finished its handshake and `init`.
    Connected {
        conn: Box<Connection>,
        reply: Option<oneshot::Sender<Result<serde_json::Value, RpcError>>>,
    },
    /// A `pay` / `keysend` caller's wait is over.
    PayTimeout {
        hash: crate::tx::PaymentHash,
        waiter: u64,
    },
    /// An outbound connection attempt failed.
    ConnectFailed {
        node_id: PublicKey,
        error: String,
        reply: Option<oneshot::Sender<Result<serde_json::Value, RpcError>>>,
    },
}

/// A connected peer.
pub(crate) struct PeerEntry {
    pub(crate) handle: PeerHandle,
    pub(crate) address: SocketAddr,
    /// Whether the peer negotiated `option_shutdown_anysegwit`.
    pub(crate) anysegwit: bool,
}

/// The node actor's state.
pub(crate) struct NodeActor<S> {
    pub(crate) config: NodeConfig,
    pub(crate) node_id: PublicKey,
    pub(crate) node_key: SecretKey,
    pub(crate) listen: SocketAddr,
    pub(crate) ctx: PeerContext<S>,
    pub(crate) peers: HashMap<PublicKey, PeerEntry>,
    /// Every stored channel's core.
    pub(crate) channels: HashMap<ChannelId, Channel>,
    /// Channels whose funding confirmations we are subscribed to.
    pub(crate) watching: HashSet<ChannelId>,
    pub(crate) tip: u32,
    pub(crate) next_conn_id: u64,
    pub(crate) tasks: TaskTracker,
    pub(crate) stop: CancellationToken,
    pub(crate) cmd_tx: mpsc::Sender<NodeCmd>,
    pub(crate) conf_tx: mpsc::Sender<(ChannelId, ConfEvent)>,
    /// Peers we dial again when the connection drops (we have channels and an address).
    pub(crate) redial: HashMap<PublicKey, SocketAddr>,
    /// The limits every channel core applies.
    pub(crate) channel_config: crate::channel::ChannelConfig,
    /// The chain watcher.
    pub(crate) watch: crate::watch::WatchHandle,
    /// Invoices, payments and the callers waiting on them.
    pub(crate) pay: super::payments::PayState,
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The mailboxes the actor reads.
pub(crate) struct Inboxes {
    pub(crate) cmds: mpsc::Receiver<NodeCmd>,
    pub(crate) peer_events: mpsc::Receiver<PeerEvent>,
    pub(crate) confs: mpsc::Receiver<(ChannelId, ConfEvent)>,
    pub(crate) blocks: BlockFeed,
    /// Channels the chain watcher changed (reload them).
    pub(crate) changed: mpsc::Receiver<ChannelId>,
    /// Timeouts (the closing negotiation's).
    pub(crate) ticks: tokio::time::Interval,
}

impl<S: ChainSource + Clone> NodeActor<S> {
    /// Runs until `stop` fires.
    pub(crate) async fn run(mut self, mut inboxes: Inboxes) {
        self.recover().await;
        loop {
            // Biased: what peers and the watcher reported goes before the next command, so a
            // command sees every event sent before it was issued (an `open` answers after its
            // channel's event is queued, so `channels` right after it lists the channel).
            tokio::select! {
                biased;
                () = self.stop.cancelled() => break,
                Some(event) = inboxes.peer_events.recv() => self.on_peer_event(event).await,
                Some((id, event)) = inboxes.confs.recv() => self.on_conf(id, event).await,
                Some(id) = inboxes.changed.recv() => self.refresh_from_watcher(&id).await,
                _ = inboxes.ticks.tick() => self.on_tick().await,
                Some(cmd) = inboxes.cmds.recv() => self.on_cmd(cmd).await,
                // Last, so that catching up on many blocks does not hold up commands.
                event = inboxes.blocks.recv() => {
                    if let Some(event) = event {
                        self.on_block(event).await;
                    } else {
                        tracing::error!("the chain notifier stopped; shutting down");
                        self.stop.cancel();
                    }
                }
            }
        }
        for entry in self.peers.values() {
            entry.handle.disconnect().await;
        }
    }

    async fn on_cmd(&mut self, cmd: NodeCmd) {
        match cmd {
            NodeCmd::Rpc {
                method,
                params,
                reply,
            } => self.on_rpc(method, params, reply).await,
            NodeCmd::Connected { conn, reply } => {
                let node_id = conn.node_id;
                self.on_connected(*conn).await;
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(serde_json::json!({ "node_id": node_id.to_string() })));
                }
            }
            NodeCmd::PayTimeout { hash, waiter } => self.pay_timeout(hash, waiter),
            NodeCmd::ConnectFailed {
                node_id,
                error,
                reply,
            } => {
                tracing::info!(peer = %node_id, "connection attempt failed: {error}");
                if let Some(reply) = reply {
                    let _ = reply.send(Err(RpcError::Failed(format!("connect failed: {error}"))));
                } else {
                    self.schedule_redial(node_id, Duration::from_secs(5));
                }
            }
        }
    }

    /// Dials `node_id` at `address` in the background; the result comes back as a command.
    pub(crate) fn dial(
        &self,
        node_id: PublicKey,
        address: SocketAddr,
        delay: Duration,
        reply: Option<oneshot::Sender<Result<serde_json::Value, RpcError>>>,
    ) {
        let key = self.node_key;
        let chain = self.ctx.chain_hash;
        let cmds = self.cmd_tx.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let result = peer::connect(
                address,
                &node_id,
                &key,
                chain,
                peer::DEFAULT_CONNECT_TIMEOUT,
            )
            .await;
            let cmd = match result {
                Ok(conn) => NodeCmd::Connected {
                    conn: Box::new(conn),
                    reply,
                },
                Err(e) => NodeCmd::ConnectFailed {
                    node_id,
                    error: e.to_string(),
                    reply,
                },
            };
            let _ = cmds.send(cmd).await;
        });
    }

    fn schedule_redial(&self, node_id: PublicKey, delay: Duration) {
        // Only peers we still share a live channel with are worth chasing.
        if self.peers.contains_key(&node_id) || !self.has_live_channels(&node_id) {
            return;
        }
        if let Some(address) = self.redial.get(&node_id) {
            self.dial(node_id, *address, delay, None);
        }
    }

    /// A new connection: replace any older one to the same peer (BOLT 1: one connection per
    /// peer), start its actor, and reestablish every live channel with it.
    async fn on_connected(&mut self, conn: Connection) {
        let node_id = conn.node_id;
        if let Some(old) = self.peers.remove(&node_id) {
            old.handle.disconnect().await;
            self.channels_disconnected(node_id);
        }
        self.next_conn_id += 1;
        let conn_id = self.next_conn_id;
        let (handle, rx) = PeerHandle::new(node_id, conn_id);
        let address = conn.address;
        let anysegwit = conn.init.anysegwit();
        // A redial to the same address would write the same record again: skip it.
        if conn.outbound && self.redial.insert(node_id, address) != Some(address) {
            let record = PeerRecord {
                node_id,
                address: address.to_string(),
            };
            let batch = crate::store::Batch::new().with(crate::store::Op::Peer(record));
            if let Err(e) = self.persist(batch).await {
                tracing::warn!("storing peer address failed: {e}");
            }
        }
        let ctx = self.ctx.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(peer::run(ctx, conn, conn_id, rx, stop));
        self.peers.insert(
            node_id,
            PeerEntry {
                handle: handle.clone(),
                address,
                anysegwit,
            },
        );
        tracing::info!(peer = %node_id, %address, "peer connected");
        self.channels_connected(node_id, anysegwit).await;
    }

    async fn on_peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Disconnected {
                node_id,
                conn_id,
                reason,
            } => {
                let current = self.peers.get(&node_id).map(|p| p.handle.conn_id);
                if current == Some(conn_id) {
                    self.peers.remove(&node_id);
                    self.channels_disconnected(node_id);
                    tracing::info!(peer = %node_id, "peer disconnected: {reason}");
                    if self.has_live_channels(&node_id) {
                        self.schedule_redial(node_id, Duration::from_secs(1));
                    }
                }
            }
            PeerEvent::ChannelFunded {
                node_id,
                channel_id,
            } => self.on_channel_funded(node_id, channel_id).await,
            PeerEvent::ChannelMessage {
                node_id,
                conn_id,
                msg,
            } => self.on_channel_message(node_id, conn_id, msg).await,
        }
    }

    pub(crate) fn has_live_channels(&self, node_id: &PublicKey) -> bool {
        self.channels.values().any(|c| {
            c.record().params.peer == *node_id
                && matches!(
                    c.status(),
                    crate::channel::ChannelStatus::Pending
                        | crate::channel::ChannelStatus::Ready
                        | crate::channel::ChannelStatus::Closing
                )
        })
    }

    /// The handle of `node_id`'s current connection.
    pub(crate) fn handle_of(&self, node_id: &PublicKey) -> Option<PeerHandle> {
        self.peers.get(node_id).map(|p| p.handle.clone())
    }

    /// A core for a stored channel, with its keys.
    pub(crate) fn core_for(&self, rec: crate::channel::StoredChannel) -> Option<Channel> {
        let secrets = self
            .ctx
            .seed
            .channel_secrets(&self.ctx.secp, self.ctx.network, rec.params.channel_index)
            .ok()?;
        Some(Channel::new(
            self.ctx.secp.clone(),
            secrets,
            rec,
            self.channel_config.clone(),
        ))
    }

    /// Applies a batch durably (on the blocking pool).
    pub(crate) async fn persist(
        &self,
        batch: crate::store::Batch,
    ) -> Result<(), crate::store::StoreError> {
        if batch.ops.is_empty() {
            return Ok(());
        }
        let store = self.ctx.store.clone();
        match tokio::task::spawn_blocking(move || store.apply(&batch)).await {
            Ok(result) => result,
            Err(e) => Err(crate::store::StoreError::Corrupt {
                what: "task",
                key: String::new(),
                reason: e.to_string(),
            }),
        }
    }

    /// Reads a channel back from the store.
    pub(crate) async fn load(&self, id: &ChannelId) -> Option<crate::channel::StoredChannel> {
        let store = self.ctx.store.clone();
        let id = *id;
        match tokio::task::spawn_blocking(move || crate::channel::record::load(&store, &id)).await {
            Ok(Ok(rec)) => rec,
            Ok(Err(e)) => {
                tracing::error!(channel = %id, "cannot read the channel: {e}");
                None
            }
            Err(_) => None,
        }
    }

    /// Rebuilds a channel's core from the store (after a failed write: the core had moved
    /// ahead of the disk).
    pub(crate) async fn reload(&mut self, id: &ChannelId) {
        if let Some(rec) = self.load(id).await {
            if let Some(core) = self.core_for(rec) {
                self.channels.insert(*id, core);
            }
        }
    }

    /// The watcher wrote a channel's `watch` column or status: the core takes them.
    pub(crate) async fn refresh_from_watcher(&mut self, id: &ChannelId) {
        let Some(rec) = self.load(id).await else {
            return;
        };
        if let Some(core) = self.channels.get_mut(id) {
            core.handle_watcher_update(rec.status, rec.watch);
        } else if let Some(core) = self.core_for(rec) {
            self.channels.insert(*id, core);
        }
    }

    /// Keeps the shared context alive for helpers that need `Arc` access.
    pub(crate) fn store(&self) -> crate::store::Store {
        self.ctx.store.clone()
    }

    pub(crate) fn wallet(&self) -> crate::wallet::WalletHandle {
        self.ctx.wallet.clone()
    }

    pub(crate) fn chain(&self) -> &S {
        &self.ctx.chain
    }
}
