//! Petrel's real per-peer actor (`peer::run`) in the test process, for connection-layer tests
//! that need no chain: a node seed, an in-memory store, a wallet on it, and a chain backend
//! that refuses every call (pinging, ponging and disconnecting never touch the chain, and a
//! test that did would fail loudly instead of hanging).

use std::sync::Arc;

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::{Block, BlockHash, FeeRate, Network, Transaction, Txid};
use petrel::chain::{BlockInfo, ChainError, ChainNotifier, ChainSource, NotifierConfig};
use petrel::funding::{LocalConfig, Policy, ReservationLimits};
use petrel::node::NodeSeed;
use petrel::peer::{Connection, PeerContext, PeerEvent, PeerHandle};
use petrel::store::Store;
use petrel::units::BlockHeight;
use petrel::wallet::{self, OnchainWallet};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// A chain backend that answers every query with an error.
#[derive(Clone, Debug)]
pub struct NoChain;

fn no_chain() -> ChainError {
    ChainError::Rpc {
        code: -1,
        message: "this test has no chain".into(),
    }
}

impl ChainSource for NoChain {
    async fn best_block_hash(&self) -> Result<BlockHash, ChainError> {
        Err(no_chain())
    }
    async fn block_info(&self, _hash: BlockHash) -> Result<Option<BlockInfo>, ChainError> {
        Err(no_chain())
    }
    async fn block_hash(&self, _height: BlockHeight) -> Result<Option<BlockHash>, ChainError> {
        Err(no_chain())
    }
    async fn block(&self, _hash: BlockHash) -> Result<Option<Block>, ChainError> {
        Err(no_chain())
    }
    async fn raw_transaction(&self, _txid: Txid) -> Result<Option<Transaction>, ChainError> {
        Err(no_chain())
    }
    async fn broadcast(&self, _tx: &Transaction) -> Result<Txid, ChainError> {
        Err(no_chain())
    }
    async fn estimate_fee(&self, _conf_target: u16) -> Result<Option<FeeRate>, ChainError> {
        Err(no_chain())
    }
}

/// One in-process Petrel node's identity and what its peer actors share.
pub struct PetrelPeer {
    /// The node key (the BOLT 8 static key).
    pub secret: SecretKey,
    /// The node id.
    pub node_id: PublicKey,
    /// What every peer actor of this node gets.
    pub ctx: PeerContext<NoChain>,
    /// What the actors report (`ChannelMessage`, `Disconnected`...).
    pub events: mpsc::Receiver<PeerEvent>,
    /// Stops every actor.
    pub stop: CancellationToken,
}

impl PetrelPeer {
    /// A node on regtest whose keys come from `seed`.
    pub fn new(seed: [u8; 32]) -> PetrelPeer {
        let secp = Secp256k1::new();
        let seed = Arc::new(NodeSeed::from_bytes(seed));
        let secret = seed.node_key(&secp, Network::Regtest).expect("node key");
        let node_id = seed.node_id(&secp, Network::Regtest).expect("node id");
        let store = Store::in_memory().expect("in-memory store");
        let onchain = OnchainWallet::open(seed.as_bytes(), Network::Regtest, store.database())
            .expect("wallet");
        let (wallet, _thread) = wallet::spawn(onchain).expect("wallet thread");
        // The notifier actor is never started: no peer actor here asks it anything.
        let (_notifier, notifier) = ChainNotifier::new(NoChain, NotifierConfig::regtest());
        let (events_tx, events) = mpsc::channel(64);
        let ctx = PeerContext {
            secp,
            seed,
            network: Network::Regtest,
            chain_hash: ChainHash::REGTEST,
            store,
            wallet,
            chain: NoChain,
            notifier,
            events: events_tx,
            channel_config: LocalConfig::default(),
            policy: Policy::default(),
            limits: ReservationLimits::default(),
            pending_total: Arc::new(Semaphore::new(16)),
        };
        PetrelPeer {
            secret,
            node_id,
            ctx,
            events,
            stop: CancellationToken::new(),
        }
    }

    /// Hands `connection` to a new peer actor (`peer::run`, as the node does) and returns its
    /// handle.
    pub fn run(&self, connection: Connection, conn_id: u64) -> PeerHandle {
        let (handle, rx) = PeerHandle::new(connection.node_id, conn_id);
        tokio::spawn(petrel::peer::run(
            self.ctx.clone(),
            connection,
            conn_id,
            rx,
            self.stop.clone(),
        ));
        handle
    }
}

impl Drop for PetrelPeer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
