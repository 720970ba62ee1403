//! The chain: where blocks come from ([`ChainSource`]) and who tells the node what happened in
//! them ([`ChainNotifierHandle`]).
//!
//! This module owns the node's view of the Bitcoin chain. It holds no keys and builds no
//! transactions: the funding flow, the wallet and the chain-watching actor (BOLT 5) ask it to
//! watch transactions, outpoints and blocks, and it answers with streams of events that stay
//! correct across reorganisations. It never trusts a block height or a transaction it did not
//! decode itself from consensus bytes.
//!
//! # Layout
//!
//! - [`ChainSource`] (this file): the contract of a chain backend. One implementation,
//!   [`BitcoindRpc`] (`rpc.rs`), speaks Bitcoin Core's JSON-RPC and works unchanged against a
//!   real `bitcoind` and against the embedded `petrel regtest` chain.
//! - [`TxNotifier`] (`tx_notifier.rs`): the backend-free core, fed by
//!   [`TxNotifier::connect_tip`] / [`TxNotifier::disconnect_tip`]; it holds every matching and
//!   reorg rule and returns the notifications to deliver (lnd's `chainntnfs/txnotifier.go` is
//!   the model).
//! - [`ChainNotifier`] (`notifier.rs`): the actor. It polls a [`ChainSource`], walks back to the
//!   fork point on a reorg, feeds the core and delivers to subscribers. No matching rule lives
//!   there.
//! - [`ChainNotifierHandle`] (this file): the cheap, cloneable mailbox handle the rest of the
//!   node uses; its methods fix the notifier's semantics.
//!
//! # What a backend must offer
//!
//! [`BitcoindRpc`] calls exactly these Bitcoin Core RPCs (JSON-RPC 1.0 over HTTP, Basic auth):
//! `getbestblockhash`, `getblockhash <height>`, `getblockheader <hash> true` (fields `hash`,
//! `height`, `previousblockhash`), `getblock <hash> 0`, `getrawtransaction <txid> false`,
//! `sendrawtransaction <hex>`, `estimatesmartfee <blocks>`. Bitcoin Core 0.21 or later run
//! with `-regtest -server` (or on any network with `-server`) serves all of them; `-txindex`
//! is **not** required, because the notifier finds past confirmations and spends by scanning
//! blocks from the caller's height hint. Without `-txindex`,
//! [`ChainSource::raw_transaction`] only finds mempool transactions, as Core documents. A
//! pruned node (`-prune`) works as long as it still holds the blocks from the lowest height
//! hint and from the subscribers' `best_known` blocks; until it can serve them the notifier
//! retries at every poll and delivers nothing newer, so that history and live blocks are never
//! reported out of order.
//!
//! The regtest conformance suite (`tests/chain_support/suite.rs`) also drives the chain with
//! `generatetoaddress` and `invalidateblock` and relies on Core's behaviour there: the first
//! generated block takes the mempool, and `invalidateblock` returns the disconnected blocks'
//! transactions to the mempool while `getblockheader`/`getblock` still serve the stale blocks.
//!
//! # Never
//!
//! The core never does IO, reads a clock or spawns; the actor never decides whether something
//! matched; nothing here panics on what a backend sends.

mod block_feed;
mod error;
mod event;
mod notifier;
mod rpc;
mod subscription;
mod tx_notifier;

use core::future::Future;

use bitcoin::{Block, BlockHash, FeeRate, OutPoint, ScriptBuf, Transaction, Txid};
use tokio::sync::{mpsc, oneshot};

pub use block_feed::BlockFeed;
pub use error::ChainError;
pub use event::{BlockEvent, ConfEvent, Confirmation, SpendDetails, SpendEvent};
pub use notifier::{ChainNotifier, NotifierConfig};
pub use rpc::{rpc_code, BitcoindRpc, RpcAuth, RpcConfig};
pub use subscription::{StreamEnd, Subscription};
pub use tx_notifier::{
    ConfRequest, Notification, NotificationKind, SpendRequest, SubscriptionId, TxNotifier,
};

use crate::units::BlockHeight;
use notifier::Command;

/// A block named by its hash and its height in the chain that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// The block's hash.
    pub hash: BlockHash,
    /// Its height, genesis = 0.
    pub height: BlockHeight,
}

/// What a backend knows about a block besides its bytes: where it sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The block's hash.
    pub hash: BlockHash,
    /// Its height (also reported for blocks no longer in the best chain).
    pub height: BlockHeight,
    /// Its parent; `None` only for the genesis block.
    pub prev_hash: Option<BlockHash>,
}

/// A chain backend: the handful of queries a Lightning node needs from a full node.
///
/// Implementations answer from the backend's *current* best chain, which may change between
/// two calls (a reorg can land at any time); callers that need a consistent view check parent
/// hashes, as [`ChainNotifier`] does. "Not found" is a normal answer (`Ok(None)`), never an
/// error, so that callers can tell a missing block from a broken backend.
///
/// Methods return `Send` futures so the notifier can run on a multi-threaded runtime. The
/// trait is not object-safe; the node is generic over its backend (one type, [`BitcoindRpc`],
/// serves both Bitcoin Core and `petrel regtest`).
pub trait ChainSource: Send + Sync + 'static {
    /// The hash of the tip of the best chain (`getbestblockhash`). Cheap: the notifier polls it.
    fn best_block_hash(&self) -> impl Future<Output = Result<BlockHash, ChainError>> + Send;

    /// Height and parent of a block the backend knows, in the best chain or not
    /// (`getblockheader <hash> true`); `None` if it never saw that hash.
    fn block_info(
        &self,
        hash: BlockHash,
    ) -> impl Future<Output = Result<Option<BlockInfo>, ChainError>> + Send;

    /// The hash of the best-chain block at `height` (`getblockhash`); `None` above the tip.
    fn block_hash(
        &self,
        height: BlockHeight,
    ) -> impl Future<Output = Result<Option<BlockHash>, ChainError>> + Send;

    /// The full block with this hash (`getblock <hash> 0`, decoded from consensus bytes);
    /// `None` if unknown. Stale blocks the backend still stores are returned too.
    fn block(
        &self,
        hash: BlockHash,
    ) -> impl Future<Output = Result<Option<Block>, ChainError>> + Send;

    /// A transaction by id (`getrawtransaction <txid> false`); `None` if the backend cannot
    /// find it. Bitcoin Core finds mempool transactions always and confirmed ones only with
    /// `-txindex`; the notifier never relies on this call.
    fn raw_transaction(
        &self,
        txid: Txid,
    ) -> impl Future<Output = Result<Option<Transaction>, ChainError>> + Send;

    /// Submits a transaction to the backend's mempool and relays it (`sendrawtransaction`).
    /// Rejections come back as [`ChainError::Rpc`] with Core's code (see [`rpc_code`]); a
    /// transaction already in the mempool is accepted again and returns its txid.
    fn broadcast(&self, tx: &Transaction) -> impl Future<Output = Result<Txid, ChainError>> + Send;

    /// The feerate expected to confirm within `conf_target` blocks (`estimatesmartfee`).
    /// `None` when the backend has no estimate yet (always the case on a fresh regtest
    /// chain): the caller applies its own floor.
    fn estimate_fee(
        &self,
        conf_target: u16,
    ) -> impl Future<Output = Result<Option<FeeRate>, ChainError>> + Send;

    /// Hash and height of the best block, read consistently (the height is the one of the
    /// returned hash, even if the tip moves between the two RPCs).
    fn best_block(&self) -> impl Future<Output = Result<BlockRef, ChainError>> + Send {
        async move {
            let hash = self.best_block_hash().await?;
            let info = self
                .block_info(hash)
                .await?
                .ok_or(ChainError::UnknownBlock { hash })?;
            Ok(BlockRef {
                hash,
                height: info.height,
            })
        }
    }

    /// The best-chain block at `height` with its hash; `None` above the tip.
    fn block_at(
        &self,
        height: BlockHeight,
    ) -> impl Future<Output = Result<Option<(BlockHash, Block)>, ChainError>> + Send {
        async move {
            let Some(hash) = self.block_hash(height).await? else {
                return Ok(None);
            };
            Ok(self.block(hash).await?.map(|block| (hash, block)))
        }
    }
}

/// The handle to a running [`ChainNotifier`]: register interest in transactions, outpoints and
/// blocks, and receive a [`Subscription`] that streams what happens to them.
///
/// Semantics shared by every `register_*` method:
///
/// - **Reorgs.** Every event that a reorg undoes is followed by an event that says so
///   (`ReorgedOut`, [`BlockEvent::Disconnected`]); what the new branch does is then reported
///   as fresh events. A stream ends ([`StreamEnd::Final`]) only once its outcome is buried
///   under more than [`NotifierConfig::reorg_safety_depth`] blocks; a reorg deeper than that
///   stops the notifier ([`ChainError::ReorgTooDeep`]).
/// - **Height hints.** `height_hint` is the lowest height at which the target can appear (for
///   a funding transaction, the height when it was built). If it is at or below the notifier's
///   tip, the notifier scans the blocks from the hint to the tip through the [`ChainSource`]
///   before reporting, so past confirmations and spends are found without `-txindex`. A hint
///   that is too high can miss history; a hint of 0 scans the whole chain.
/// - **Many subscribers.** Any number of subscriptions may watch the same target; each gets
///   every event, and each one's stream ends on its own terms (its own `num_confs`).
/// - **Buffering.** Each subscription is a bounded channel of
///   [`NotifierConfig::subscription_capacity`] events. A subscriber that lets it fill up is
///   waited for at most [`NotifierConfig::lag_timeout`], then dropped with
///   [`StreamEnd::Lagged`] so it cannot stall the others; it registers again to resume
///   (block subscribers lose nothing by passing their last block as `best_known`).
/// - **Cancellation.** Drop the [`Subscription`]. The notifier forgets it the next time it has
///   an event for it, or at its next sweep ([`NotifierConfig::sweep_interval`]).
///
/// Registering only enqueues a command: the returned subscription is live at once, and an
/// error means the notifier has stopped.
#[derive(Clone, Debug)]
pub struct ChainNotifierHandle {
    /// The actor's mailbox.
    tx: mpsc::Sender<Command>,
    /// Capacity of each subscription channel the handle creates.
    capacity: usize,
}

impl ChainNotifierHandle {
    /// Watches `txid` until it is `num_confs` deep (and at least the reorg-safety depth).
    ///
    /// The stream carries [`ConfEvent::Confirmed`] when the transaction enters a block of the
    /// best chain (with the depth it has then: 1 for a new block, more when found in past
    /// blocks), [`ConfEvent::Depth`] each time its depth changes (every block connected on
    /// top; blocks above it disconnected by a reorg), and [`ConfEvent::ReorgedOut`] if its own
    /// block is disconnected (after which `Confirmed` comes again if another block includes
    /// it). The last event received is always the current truth. The stream ends with
    /// [`StreamEnd::Final`] after the event whose depth reaches `num_confs` and exceeds
    /// `reorg_safety_depth`.
    ///
    /// `script` is an output script of the transaction (the funding output's P2WSH): the
    /// notifier matches on `txid` and reports the index of the first output paying to
    /// `script` in [`Confirmation::output_index`], which the funding flow needs for its
    /// `short_channel_id`.
    pub async fn register_confirmations(
        &self,
        txid: Txid,
        script: ScriptBuf,
        num_confs: u32,
        height_hint: BlockHeight,
    ) -> Result<Subscription<ConfEvent>, ChainError> {
        if num_confs == 0 {
            return Err(ChainError::InvalidRegistration {
                reason: "num_confs must be at least 1",
            });
        }
        let (sink, subscription) = subscription::channel(self.capacity);
        let request = ConfRequest {
            txid,
            script,
            num_confs,
            height_hint,
        };
        self.send(Command::Confirmations { request, sink }).await?;
        Ok(subscription)
    }

    /// Watches `outpoint` for a spend in the best chain.
    ///
    /// The stream carries [`SpendEvent::Spent`] with the spending transaction and its block,
    /// and [`SpendEvent::ReorgedOut`] if that block is disconnected; a later spend (the same
    /// transaction in another block, or a different one) is reported as a new `Spent`. It
    /// ends with [`StreamEnd::Final`] once the spend is deeper than `reorg_safety_depth`.
    /// Mempool spends are not reported.
    ///
    /// `script` is the output script of `outpoint`, kept for backends that match scripts
    /// (compact filters); this notifier matches on the outpoint itself.
    pub async fn register_spend(
        &self,
        outpoint: OutPoint,
        script: ScriptBuf,
        height_hint: BlockHeight,
    ) -> Result<Subscription<SpendEvent>, ChainError> {
        let (sink, subscription) = subscription::channel(self.capacity);
        let request = SpendRequest {
            outpoint,
            script,
            height_hint,
        };
        self.send(Command::Spend { request, sink }).await?;
        Ok(subscription)
    }

    /// Streams every block connected to and disconnected from the notifier's best chain, in
    /// chain order.
    ///
    /// With `best_known` (the last block the subscriber processed, e.g. the wallet's
    /// persisted tip) the stream first replays what the subscriber missed: a
    /// [`BlockEvent::Disconnected`] for each of its blocks that left the best chain while it
    /// was away, then a [`BlockEvent::Connected`] for every block from the fork point to the
    /// tip. Then it goes on live, so a subscriber that restarts misses nothing. With `None`
    /// it starts with the next block. The stream never ends on its own.
    pub async fn register_blocks(
        &self,
        best_known: Option<BlockRef>,
    ) -> Result<Subscription<BlockEvent>, ChainError> {
        let (sink, subscription) = subscription::channel(self.capacity);
        self.send(Command::Blocks { best_known, sink }).await?;
        Ok(subscription)
    }

    /// The tip of the notifier's view of the chain (the last block it has processed), once it
    /// has read the backend at least once.
    pub async fn best_block(&self) -> Result<BlockRef, ChainError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::BestBlock { reply }).await?;
        answer.await.map_err(|_| ChainError::NotifierStopped)
    }

    /// Puts a command in the mailbox; fails only if the actor has stopped.
    async fn send(&self, command: Command) -> Result<(), ChainError> {
        self.tx
            .send(command)
            .await
            .map_err(|_| ChainError::NotifierStopped)
    }
}
