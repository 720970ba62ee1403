//! One actor per peer connection: it owns the encrypted stream, answers pings, drives the
//! channel-opening reservations with that peer, and hands everything about funded channels
//! to the node.
//!
//! Contract:
//! - [`connect`] / [`accept`] produce a [`Connection`] (handshake and `init` done); the node
//!   gives it to [`run`] with a mailbox, and keeps the [`PeerHandle`].
//! - The actor executes each reservation step in order and starts nothing after a store
//!   write until that write is durable (persist before send): the responder stores the
//!   channel before sending `funding_signed`, the funder before broadcasting.
//! - Every message the peer sends goes through one dispatcher, [`route::route`]: the
//!   connection keeps ping, pong and warnings; a channel being opened goes to its
//!   reservation; a funded channel's messages go to its channel core in the node, which
//!   answers violations itself ([`crate::channel::ChannelError::reaction`]).
//! - A reservation that fails gets an `error` for its channel id and the connection stays up;
//!   a message that does not decode gets a `warning` and the connection is closed. Nothing a
//!   peer sends can panic the actor or touch another peer.
//! - When the connection ends, every pending reservation is dropped and its wallet inputs
//!   released; stored channels are untouched.

mod actor;
mod connect;
mod init;
mod ping;
pub mod route;

use std::sync::Arc;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use bitcoin::{Amount, Network, Txid};
use tokio::sync::{mpsc, oneshot, Semaphore};

pub(crate) use actor::printable;
pub use actor::run;
pub use connect::{accept, accept_stream, connect, Connection, DEFAULT_CONNECT_TIMEOUT};
pub use init::{check_peer_init, our_features, our_init, InitError, PeerInit, KNOWN_REQUIRED};
pub use ping::{PingAction, PingGuard, MAX_PINGS_PER_WINDOW, PING_WINDOW_SECS};

use crate::chain::{ChainError, ChainNotifierHandle};
use crate::funding::{FundingError, LocalConfig, Policy, ReservationLimits};
use crate::keys::NodeSeed;
use crate::store::{Store, StoreError};
use crate::transport::{ConnectionError, WireCodecError};
use crate::units::Msat;
use crate::wallet::{WalletError, WalletHandle};
use crate::wire::{ChannelId, Message};

/// Why a connection or a request on it failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// A socket operation failed.
    #[error("i/o: {0}")]
    Io(std::io::Error),
    /// Connecting, the handshake or `init` took too long.
    #[error("timed out")]
    Timeout,
    /// The BOLT 8 handshake failed.
    #[error("handshake: {0}")]
    Handshake(#[from] ConnectionError),
    /// The encrypted stream failed, or a message did not decode or encode.
    #[error("{0}")]
    Codec(String),
    /// The peer's `init` is unacceptable.
    #[error("init: {0}")]
    Init(#[from] InitError),
    /// The peer closed the connection.
    #[error("disconnected")]
    Disconnected,
    /// The peer pinged far more often than BOLT 1's "one ping per 30-second period".
    #[error("ping flood")]
    PingFlood,
    /// A channel reservation failed.
    #[error("funding: {0}")]
    Funding(#[from] FundingError),
    /// The peer sent `error` for the reservation.
    #[error("peer error: {0}")]
    Remote(String),
    /// The wallet failed.
    #[error("wallet: {0}")]
    Wallet(#[from] WalletError),
    /// The store failed: nothing that depended on the write was sent.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The chain backend failed.
    #[error("chain: {0}")]
    Chain(#[from] ChainError),
    /// Deriving keys from the seed failed.
    #[error("keys: {0}")]
    Keys(String),
    /// Too many reservations are pending node-wide.
    #[error("too many pending channel opens node-wide")]
    Busy,
    /// The peer actor has stopped.
    #[error("the peer connection is gone")]
    Gone,
}

impl PeerError {
    /// Wraps a codec failure.
    pub fn codec(e: &WireCodecError) -> PeerError {
        PeerError::Codec(e.to_string())
    }
}

/// What a successful `open` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The channel id (funding txid XOR output index).
    pub channel_id: ChannelId,
    /// The funding transaction, broadcast.
    pub funding_txid: Txid,
    /// The funding output index.
    pub funding_output_index: u32,
}

/// A request to a peer actor.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a mailbox item, moved once
pub enum PeerCmd {
    /// Open a channel as initiator; answers once the funding transaction is stored and
    /// broadcast.
    Open {
        /// `funding_satoshis`.
        funding: Amount,
        /// `push_msat`.
        push: Msat,
        /// Confirmations to wait for before `channel_ready`, beyond the peer's minimum.
        min_depth: Option<u32>,
        /// The answer.
        reply: oneshot::Sender<Result<Opened, PeerError>>,
    },
    /// Send a message (the node's channel logic speaking).
    Send(Message),
    /// Close the connection.
    Disconnect,
}

/// What a peer actor tells the node.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // a mailbox item, moved once
pub enum PeerEvent {
    /// A channel was funded and stored; the node watches it from now on.
    ChannelFunded {
        /// The peer.
        node_id: PublicKey,
        /// The channel.
        channel_id: ChannelId,
    },
    /// A message about a stored channel (`channel_ready`, `channel_reestablish`, `error`,
    /// closing messages...), or any other message the actor does not handle itself.
    ChannelMessage {
        /// The peer.
        node_id: PublicKey,
        /// The connection it came on.
        conn_id: u64,
        /// The message.
        msg: Message,
    },
    /// The connection ended.
    Disconnected {
        /// The peer.
        node_id: PublicKey,
        /// The connection that ended.
        conn_id: u64,
        /// Why.
        reason: String,
    },
}

/// A cheap handle on one peer connection.
#[derive(Clone, Debug)]
pub struct PeerHandle {
    /// The peer.
    pub node_id: PublicKey,
    /// Which connection (a peer reconnecting gets a new one).
    pub conn_id: u64,
    tx: mpsc::Sender<PeerCmd>,
}

impl PeerHandle {
    /// A handle and the mailbox its actor reads.
    pub fn new(node_id: PublicKey, conn_id: u64) -> (PeerHandle, mpsc::Receiver<PeerCmd>) {
        let (tx, rx) = mpsc::channel(256);
        (
            PeerHandle {
                node_id,
                conn_id,
                tx,
            },
            rx,
        )
    }

    /// Opens a channel of `funding` with `push` given to the peer.
    pub async fn open(
        &self,
        funding: Amount,
        push: Msat,
        min_depth: Option<u32>,
    ) -> Result<Opened, PeerError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(PeerCmd::Open {
                funding,
                push,
                min_depth,
                reply,
            })
            .await
            .map_err(|_| PeerError::Gone)?;
        answer.await.map_err(|_| PeerError::Gone)?
    }

    /// Queues a message for the peer.
    pub async fn send(&self, msg: Message) -> Result<(), PeerError> {
        self.tx
            .send(PeerCmd::Send(msg))
            .await
            .map_err(|_| PeerError::Gone)
    }

    /// Asks the actor to close the connection.
    pub async fn disconnect(&self) {
        let _ = self.tx.send(PeerCmd::Disconnect).await;
    }

    /// Whether the actor is still running.
    pub fn is_connected(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// Everything a peer actor needs from the node. Cloned for each connection.
#[derive(Clone)]
pub struct PeerContext<S> {
    /// A signing and verification context.
    pub secp: Secp256k1<All>,
    /// The node seed (channel keys are derived from it).
    pub seed: Arc<NodeSeed>,
    /// The chain's network.
    pub network: Network,
    /// The chain's genesis hash.
    pub chain_hash: ChainHash,
    /// The node's database.
    pub store: Store,
    /// The wallet.
    pub wallet: WalletHandle,
    /// The chain backend (fee estimates, broadcast).
    pub chain: S,
    /// The chain notifier (the tip height).
    pub notifier: ChainNotifierHandle,
    /// Where events go.
    pub events: mpsc::Sender<PeerEvent>,
    /// What we announce when opening or accepting.
    pub channel_config: LocalConfig,
    /// What we accept.
    pub policy: Policy,
    /// Per-peer reservation limits.
    pub limits: ReservationLimits,
    /// Node-wide pending reservation permits.
    pub pending_total: Arc<Semaphore>,
}
