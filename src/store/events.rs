//! The per-channel event log: an append-only record of what happened to each channel, for
//! `petrel history`, the RPC and debugging.

use bitcoin::{Amount, BlockHash, Txid};
use serde::{Deserialize, Serialize};

use crate::channel::Role;

/// One entry of a channel's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Unix time in seconds, from the actor that recorded it.
    pub time: u64,
    /// The chain tip height when it was recorded, if known.
    pub height: Option<u32>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened to a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// Both commitment #0 signatures exchanged; the channel was stored.
    Opened {
        /// Whether we opened it.
        role: Role,
        /// `funding_satoshis`.
        capacity: Amount,
        /// The funding transaction.
        funding_txid: Txid,
    },
    /// We broadcast (or rebroadcast) our funding transaction.
    FundingBroadcast {
        /// The funding transaction.
        txid: Txid,
    },
    /// The funding transaction was seen in a block.
    FundingConfirmed {
        /// The block's height.
        block_height: u32,
        /// The block's hash.
        block_hash: BlockHash,
    },
    /// A block holding the funding transaction was reorged out.
    FundingReorged,
    /// We sent `channel_ready`.
    ChannelReadySent,
    /// The peer sent `channel_ready`.
    ChannelReadyReceived,
    /// Both sides sent `channel_ready`: the channel is usable.
    Ready,
    /// The channel was given up before its funding confirmed.
    Abandoned {
        /// Why (`petrel abandon`, or the fundee's 2016-block timeout).
        reason: String,
    },
    /// Something worth keeping that fits no other kind.
    Note {
        /// Free text.
        text: String,
    },
}
