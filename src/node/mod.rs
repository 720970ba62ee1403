//! The node: configuration, the seed, and the wiring of actors (store, wallet, chain
//! notifier, peers, control API), start-up and recovery after a restart.
//!
//! [`run`] owns the shutdown: one `CancellationToken` for every task, one `TaskTracker` to
//! wait for them (mini-redis's shape). Start-up order matters: the store and wallet first,
//! then the chain notifier (the wallet replays blocks it missed), then the listeners, and
//! only then `node.json`, so a tool that finds the file finds a node that answers.
#![allow(clippy::disallowed_methods)] // the node's shell: it spawns the actors

mod actor;
mod channels;
mod closing;
mod commands;
pub mod config;
mod payments;
mod receive;
pub mod seed;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bitcoin::secp256k1::Secp256k1;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::{ConfigError, FileConfig, NodeConfig};
pub use seed::{load_or_create as load_or_create_seed, NodeSeed, SeedError};

use crate::chain::{
    BitcoindRpc, BlockEvent, BlockFeed, BlockRef, ChainNotifier, NotifierConfig, RpcAuth, RpcConfig,
};
use crate::peer::{self, PeerContext};
use crate::rpc::{self, Cookie, NodeAddresses, COOKIE_FILE};
use crate::store::Store;
use crate::wallet::{self, OnchainWallet};
use actor::{Inboxes, NodeActor, NodeCmd};

/// Why the node could not start (or stopped).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// A filesystem or socket operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// The seed could not be read or created.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The wallet failed.
    #[error(transparent)]
    Wallet(#[from] crate::wallet::WalletError),
    /// The chain backend failed.
    #[error(transparent)]
    Chain(#[from] crate::chain::ChainError),
    /// Deriving the node key failed.
    #[error("node key: {0}")]
    Key(#[from] bitcoin::bip32::Error),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Io { what, source }
}

/// Runs a node until `stop` is cancelled (by a signal, or the `stop` RPC).
pub async fn run(config: NodeConfig, stop: CancellationToken) -> Result<(), NodeError> {
    let datadir = config.datadir.clone();
    std::fs::create_dir_all(&datadir).map_err(io(format!("creating {}", datadir.display())))?;
    let seed = Arc::new(seed::load_or_create(&datadir)?);
    let secp = Secp256k1::new();
    let node_key = seed.node_key(&secp, config.network)?;
    let node_id = seed.node_id(&secp, config.network)?;
    let store = Store::open(&datadir.join("petrel.redb"))?;
    let tasks = TaskTracker::new();

    // The chain: JSON-RPC client and notifier.
    let chain = BitcoindRpc::new(RpcConfig::new(
        config.chain_rpc.clone(),
        RpcAuth::CookieFile(config.chain_cookie.clone()),
    ))?;
    let notifier_config = NotifierConfig {
        poll_interval: config.chain_poll,
        ..NotifierConfig::regtest()
    };
    let (notifier, notifier_handle) = ChainNotifier::new(chain.clone(), notifier_config);
    {
        let stop = stop.clone();
        tasks.spawn(async move {
            if let Err(e) = notifier.run(stop.clone()).await {
                tracing::error!("chain notifier stopped: {e}");
                stop.cancel();
            }
        });
    }

    // The wallet, fed every block from the last one it saw.
    let wallet = OnchainWallet::open(seed.as_bytes(), config.network, store.database())?;
    let (wallet_handle, _wallet_thread) =
        wallet::spawn(wallet).map_err(io("starting the wallet thread"))?;
    let (tip_height, tip_hash) = wallet_handle.tip().await?;
    let mut wallet_blocks = BlockFeed::new(
        notifier_handle.clone(),
        Some(BlockRef {
            hash: tip_hash,
            height: tip_height,
        }),
    )
    .await?;
    {
        let wallet = wallet_handle.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            loop {
                let event = tokio::select! {
                    () = stop.cancelled() => break,
                    event = wallet_blocks.recv() => event,
                };
                let result = match event {
                    Some(BlockEvent::Connected { block, height }) => {
                        wallet.block_connected(block, height).await
                    }
                    Some(BlockEvent::Disconnected(b)) => {
                        wallet.block_disconnected(b.height, b.hash).await
                    }
                    None => break,
                };
                if let Err(e) = result {
                    tracing::error!("wallet block update failed: {e}");
                }
            }
        });
    }
    let node_blocks = BlockFeed::new(notifier_handle.clone(), None).await?;

    // Listeners.
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(io(format!("binding {}", config.listen)))?;
    let listen = listener.local_addr().map_err(io("listener address"))?;
    let cookie = Cookie::generate();
    cookie
        .write(&datadir.join(COOKIE_FILE))
        .map_err(io("writing the RPC cookie"))?;
    let (cmd_tx, cmd_rx) = mpsc::channel(1024);
    let rpc_server = rpc::serve(
        config.rpc_bind,
        cookie,
        Arc::new(commands::RpcAdapter {
            cmds: cmd_tx.clone(),
        }),
        tasks.clone(),
        stop.clone(),
    )
    .await
    .map_err(io(format!("binding the RPC server on {}", config.rpc_bind)))?;

    let (peer_tx, peer_rx) = mpsc::channel(1024);
    let (conf_tx, conf_rx) = mpsc::channel(1024);
    let ctx = PeerContext {
        secp: secp.clone(),
        seed: Arc::clone(&seed),
        network: config.network,
        chain_hash: bitcoin::constants::ChainHash::using_genesis_block(config.network),
        store: store.clone(),
        wallet: wallet_handle.clone(),
        chain: chain.clone(),
        notifier: notifier_handle.clone(),
        events: peer_tx,
        channel_config: config.channel_config.clone(),
        policy: config.policy.clone(),
        limits: config.reservation_limits,
        pending_total: Arc::new(Semaphore::new(config.max_pending_total)),
    };

    // Inbound connections: handshake and init on their own tasks, then to the actor.
    {
        let cmds = cmd_tx.clone();
        let stop = stop.clone();
        let chain_hash = ctx.chain_hash;
        let inner = tasks.clone();
        tasks.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => accepted,
                };
                let Ok((stream, _)) = accepted else {
                    continue;
                };
                let cmds = cmds.clone();
                inner.spawn(async move {
                    match peer::accept_stream(
                        stream,
                        &node_key,
                        chain_hash,
                        peer::DEFAULT_CONNECT_TIMEOUT,
                    )
                    .await
                    {
                        Ok(conn) => {
                            let _ = cmds
                                .send(NodeCmd::Connected {
                                    conn: Box::new(conn),
                                    reply: None,
                                })
                                .await;
                        }
                        Err(e) => tracing::debug!("inbound connection failed: {e}"),
                    }
                });
            }
        });
    }

    NodeAddresses {
        node_id: node_id.to_string(),
        listen: listen.to_string(),
        rpc: rpc_server.local_addr.to_string(),
    }
    .write(&datadir)
    .map_err(io("writing node.json"))?;
    tracing::info!(%node_id, %listen, rpc = %rpc_server.local_addr, "node started");

    let (changed_tx, changed_rx) = mpsc::channel(1024);
    let (watcher, watch_handle, watch_inboxes) = crate::watch::WatchActor::new(
        store.clone(),
        notifier_handle.clone(),
        chain.clone(),
        wallet_handle.clone(),
        Arc::clone(&seed),
        config.network,
        config.watch,
        changed_tx,
        tasks.clone(),
        stop.clone(),
    )
    .await?;
    tasks.spawn(watcher.run(watch_inboxes));

    let channel_config = crate::channel::ChannelConfig {
        min_feerate: config.policy.min_feerate,
        max_feerate: config.policy.max_feerate,
        ..crate::channel::ChannelConfig::default()
    };
    let actor = NodeActor {
        channel_config,
        config,
        node_id,
        node_key,
        listen,
        ctx,
        peers: HashMap::new(),
        channels: HashMap::new(),
        watching: HashSet::new(),
        tip: 0,
        next_conn_id: 0,
        tasks: tasks.clone(),
        stop: stop.clone(),
        cmd_tx,
        conf_tx,
        redial: HashMap::new(),
        watch: watch_handle,
        pay: payments::PayState::default(),
    };
    // Boxed: the actor's future is large (it holds the whole node state across awaits).
    Box::pin(actor.run(Inboxes {
        cmds: cmd_rx,
        peer_events: peer_rx,
        confs: conf_rx,
        blocks: node_blocks,
        changed: changed_rx,
        ticks: tokio::time::interval(std::time::Duration::from_secs(5)),
    }))
    .await;

    stop.cancel();
    tasks.close();
    if tokio::time::timeout(std::time::Duration::from_secs(10), tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("some tasks did not stop within 10 s");
    }
    let _ = std::fs::remove_file(datadir.join(rpc::ADDRESSES_FILE));
    Ok(())
}
