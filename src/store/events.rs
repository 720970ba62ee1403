//! The per-channel event log: an append-only record of what happened to each channel, for
//! `petrel history`, the RPC and debugging.

use bitcoin::{Amount, BlockHash, Txid};
use serde::{Deserialize, Serialize};

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
        /// Whether we opened it: `initiator` or `responder`.
        role: String,
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
    /// We sent `shutdown`.
    ShutdownSent,
    /// The peer sent `shutdown`.
    ShutdownReceived,
    /// Both sides signed the closing transaction at this fee; it was broadcast.
    ClosingAgreed {
        /// The closing transaction.
        txid: Txid,
        /// Its fee.
        fee: Amount,
    },
    /// We broadcast our commitment transaction (force close).
    ForceClose {
        /// Our commitment transaction.
        txid: Txid,
        /// Why.
        reason: String,
    },
    /// The peer sent a BOLT 1 `error` for the channel.
    PeerError {
        /// Its text (printable ASCII, or hex).
        text: String,
    },
    /// A transaction spending the funding output confirmed, and what it is.
    SpendSeen {
        /// The spending transaction.
        txid: Txid,
        /// How it closed the channel.
        kind: String,
        /// Its block height.
        block_height: u32,
    },
    /// The block holding the funding spend was reorged out.
    SpendReorged {
        /// The spending transaction.
        txid: Txid,
    },
    /// A sweep of our funds was broadcast.
    SweepBroadcast {
        /// The sweep.
        txid: Txid,
        /// What it sweeps.
        kind: String,
        /// What it moves to the wallet.
        amount: Amount,
        /// Its fee.
        fee: Amount,
    },
    /// A sweep was replaced by one paying more fee (RBF).
    SweepReplaced {
        /// The replaced sweep.
        old: Txid,
        /// The replacement.
        new: Txid,
        /// The replacement's fee.
        fee: Amount,
    },
    /// A sweep confirmed.
    SweepConfirmed {
        /// The sweep.
        txid: Txid,
        /// Its block height.
        block_height: u32,
    },
    /// Everything of ours in the channel is settled on chain.
    Closed {
        /// How the channel closed.
        how: String,
    },
    /// A spend we could not classify: a person should look.
    NeedsAttention {
        /// What was seen.
        reason: String,
    },
    /// Something worth keeping that fits no other kind.
    Note {
        /// Free text.
        text: String,
    },
}
