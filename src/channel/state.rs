//! A channel's changing state: the current commitments, and where it is in its life.

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{BlockHash, Transaction};
use serde::{Deserialize, Serialize};

use crate::keys::CommitmentNumber;
use crate::units::{FeeratePerKw, Msat};
use crate::wire::ShortChannelId;

/// The current commitment transactions of both sides (BOLT 2 "Normal Operation"), with what
/// we need to broadcast ours and to build theirs.
///
/// Balances exclude HTLCs and fees (BOLT 3 `to_local` / `to_remote` before the fee).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitmentState {
    /// The number of the commitment we hold (and could broadcast).
    pub local_number: u64,
    /// The number of the peer's current commitment.
    pub remote_number: u64,
    /// Our balance.
    pub to_local: Msat,
    /// The peer's balance.
    pub to_remote: Msat,
    /// `feerate_per_kw` of the current commitments.
    pub feerate: FeeratePerKw,
    /// The peer's signature on our current commitment: with ours, it makes it broadcastable.
    pub remote_signature: Signature,
    /// The peer's per-commitment point for its current commitment.
    pub remote_current_point: PublicKey,
    /// The peer's point for its next commitment (`channel_ready`'s
    /// `second_per_commitment_point` at first), once received.
    pub remote_next_point: Option<PublicKey>,
}

impl CommitmentState {
    /// The balances both current commitments are built from (no HTLCs are supported yet).
    pub fn balances(&self) -> super::Balances {
        super::Balances {
            ours: self.to_local,
            theirs: self.to_remote,
            feerate: self.feerate,
            htlcs: Vec::new(),
        }
    }

    /// The number of our current commitment, typed.
    pub fn local_commitment_number(&self) -> CommitmentNumber {
        CommitmentNumber::new(self.local_number).unwrap_or(CommitmentNumber::ZERO)
    }

    /// The number of the peer's current commitment, typed.
    pub fn remote_commitment_number(&self) -> CommitmentNumber {
        CommitmentNumber::new(self.remote_number).unwrap_or(CommitmentNumber::ZERO)
    }
}

/// Where the funding transaction is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingState {
    /// The funding transaction, kept when we built it (we funded), to rebroadcast it.
    pub funding_tx: Option<Transaction>,
    /// The tip height when the channel was stored, the hint for confirmation scans and the
    /// start of the fundee's 2016-block patience.
    pub opened_at_height: u32,
    /// Set once the funding transaction is in a block.
    pub confirmed: Option<FundingConfirmation>,
    /// Whether we sent `channel_ready`.
    pub channel_ready_sent: bool,
    /// Whether the peer sent `channel_ready`.
    pub channel_ready_received: bool,
}

/// The block that confirmed the funding transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingConfirmation {
    /// Its height.
    pub height: u32,
    /// Its hash.
    pub block_hash: BlockHash,
    /// The short channel id: height, index of the funding tx in the block, output index.
    pub short_channel_id: ShortChannelId,
}

/// A channel's stage of life, as `petrel channels` shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    /// Funded but not yet usable: waiting for confirmations and `channel_ready`.
    Pending,
    /// Both sides sent `channel_ready`: in normal operation.
    Ready,
    /// A close has started (shutdown, or a commitment or closing transaction seen).
    Closing,
    /// Closed and settled on chain.
    Closed,
    /// Forgotten or abandoned before its funding confirmed.
    Abandoned,
}

impl ChannelStatus {
    /// The word `petrel channels` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelStatus::Pending => "pending",
            ChannelStatus::Ready => "ready",
            ChannelStatus::Closing => "closing",
            ChannelStatus::Closed => "closed",
            ChannelStatus::Abandoned => "abandoned",
        }
    }
}
