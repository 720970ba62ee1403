//! The events the notifier streams to its subscribers: confirmations, spends and blocks.
//!
//! Events carry what a subscriber needs to act without asking the backend again: the
//! transaction itself, its position in the block (for a BOLT 7 `short_channel_id`), the
//! spending transaction (for BOLT 5 classification of a funding spend).

use std::sync::Arc;

use bitcoin::{Block, OutPoint, Transaction, Txid};

use super::BlockRef;
use crate::units::BlockHeight;

/// Where a watched transaction sits in the best chain and how deep it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    /// The block that includes the transaction.
    pub block: BlockRef,
    /// The transaction's position in that block (0 is the coinbase).
    pub tx_index: u32,
    /// The transaction, decoded from the block.
    pub tx: Arc<Transaction>,
    /// The index of the first output paying to the registered script, if any.
    pub output_index: Option<u32>,
    /// The number of confirmations: 1 when `block` is the tip, +1 per block on top.
    pub confirmations: u32,
}

/// What happened to a transaction watched with
/// [`register_confirmations`](super::ChainNotifierHandle::register_confirmations).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfEvent {
    /// The transaction is in a block of the best chain: first sight, or again after a reorg.
    Confirmed(Confirmation),
    /// The transaction's depth changed while its block stayed in the best chain: a block was
    /// connected on top (one more confirmation), or a reorg disconnected blocks above it (its
    /// depth went down; the replacing blocks then count up again).
    Depth(Confirmation),
    /// The block that included the transaction was disconnected; it is unconfirmed again.
    ReorgedOut {
        /// The disconnected block.
        block: BlockRef,
    },
}

impl ConfEvent {
    /// The depth this event reports: 0 for [`ConfEvent::ReorgedOut`].
    pub fn confirmations(&self) -> u32 {
        match self {
            ConfEvent::Confirmed(c) | ConfEvent::Depth(c) => c.confirmations,
            ConfEvent::ReorgedOut { .. } => 0,
        }
    }
}

/// A confirmed spend of a watched outpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendDetails {
    /// The outpoint that was spent.
    pub outpoint: OutPoint,
    /// The spending transaction.
    pub spending_tx: Arc<Transaction>,
    /// Its txid.
    pub spending_txid: Txid,
    /// The index of the input that spends `outpoint`.
    pub input_index: u32,
    /// The block that includes the spending transaction.
    pub block: BlockRef,
}

/// What happened to an outpoint watched with
/// [`register_spend`](super::ChainNotifierHandle::register_spend).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SpendEvent {
    /// The outpoint was spent in a block of the best chain.
    Spent(SpendDetails),
    /// The block holding the spend was disconnected: the outpoint is unspent again (in the
    /// chain; the spending transaction may still be in mempools).
    ReorgedOut {
        /// The disconnected block.
        block: BlockRef,
    },
}

/// A change of the best chain, streamed by
/// [`register_blocks`](super::ChainNotifierHandle::register_blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockEvent {
    /// A block became the new tip.
    Connected {
        /// The block, shared by every subscriber.
        block: Arc<Block>,
        /// Its height.
        height: BlockHeight,
    },
    /// The tip was disconnected; its parent is the tip again.
    Disconnected(BlockRef),
}

impl BlockEvent {
    /// The block this event is about.
    pub fn block_ref(&self) -> BlockRef {
        match self {
            BlockEvent::Connected { block, height } => BlockRef {
                hash: block.block_hash(),
                height: *height,
            },
            BlockEvent::Disconnected(block) => *block,
        }
    }
}
