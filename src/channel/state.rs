//! A channel's changing state: the current commitments, and where it is in its life.

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{BlockHash, Transaction};
use serde::{Deserialize, Serialize};

use super::ledger::{Base, HtlcRecord, Ledger, Overdrawn, Party, Position, View};
use crate::keys::{CommitmentNumber, SecretStore};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::ShortChannelId;

/// Our current commitment: the one we could broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCommitment {
    /// Its commitment number.
    pub number: u64,
    /// Which updates it includes.
    pub pos: Position,
    /// The peer's next HTLC id as of this commitment (every update the peer sent before
    /// signing it is in it): where its ids resume after a reconnection.
    pub next_remote_id: u64,
    /// The number of the peer's commitment we had signed and that was still unanswered when
    /// the `revoke_and_ack` for this commitment went out: if both are retransmitted, that
    /// `commitment_signed` goes first (BOLT 2 "Message Retransmission": "in the same relative
    /// order as initially transmitted"). A commitment signed later went out after it.
    pub revoked_while_awaiting: Option<u64>,
    /// The peer's signature on it: with ours, it makes it broadcastable.
    pub signature: Signature,
    /// The peer's signatures on its HTLC transactions, in output order.
    pub htlc_signatures: Vec<Signature>,
}

/// One of the peer's commitments that we signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteCommitment {
    /// Its commitment number.
    pub number: u64,
    /// Which updates it includes.
    pub pos: Position,
    /// Our next HTLC id as of this commitment (every update we sent before signing it is in
    /// it).
    pub next_local_id: u64,
}

/// The peer's commitments that are not revoked: the current one, and the one we signed
/// since, while its `revoke_and_ack` is awaited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteCommitments {
    /// The peer's current commitment (it revoked every older one).
    pub current: RemoteCommitment,
    /// The commitment we signed after it, until the peer revokes `current`.
    pub pending: Option<RemoteCommitment>,
    /// The peer's per-commitment point of `current`.
    pub current_point: PublicKey,
    /// The peer's point for `current.number + 1` (`channel_ready`'s
    /// `second_per_commitment_point`, then each `revoke_and_ack`'s), once received.
    pub next_point: Option<PublicKey>,
}

impl RemoteCommitments {
    /// The latest commitment we signed: the pending one, or the current one.
    pub fn latest(&self) -> RemoteCommitment {
        self.pending.unwrap_or(self.current)
    }
}

/// The channel's changing state (BOLT 2 "Normal Operation"): both sides' commitments, the
/// ledger of updates they are built from, and the peer's revealed secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentState {
    /// Our current commitment.
    pub local: LocalCommitment,
    /// The peer's live commitments.
    pub remote: RemoteCommitments,
    /// Every update in flight, and the folded balances.
    pub ledger: Ledger,
    /// The per-commitment secrets the peer revealed in `revoke_and_ack`.
    pub their_secrets: SecretStore,
}

impl CommitmentState {
    /// The state right after funding: commitment 0 on both sides, signed by the peer with
    /// `signature`, holding `ours` and `theirs` at `feerate`.
    pub fn initial(
        funder: Party,
        balances: (Msat, Msat),
        feerate: FeeratePerKw,
        signature: Signature,
        remote_first_point: PublicKey,
    ) -> CommitmentState {
        let remote = RemoteCommitment {
            number: 0,
            pos: Position::default(),
            next_local_id: 0,
        };
        CommitmentState {
            local: LocalCommitment {
                number: 0,
                pos: Position::default(),
                next_remote_id: 0,
                revoked_while_awaiting: None,
                signature,
                htlc_signatures: Vec::new(),
            },
            remote: RemoteCommitments {
                current: remote,
                pending: None,
                current_point: remote_first_point,
                next_point: None,
            },
            ledger: Ledger::new(
                funder,
                Base {
                    ours: balances.0,
                    theirs: balances.1,
                    feerate,
                },
            ),
            their_secrets: SecretStore::new(),
        }
    }

    /// What our current commitment holds.
    pub fn local_view(&self) -> Result<View, Overdrawn> {
        self.ledger.view(self.local.pos)
    }

    /// What the peer's current commitment holds.
    pub fn remote_view(&self) -> Result<View, Overdrawn> {
        self.ledger.view(self.remote.current.pos)
    }

    /// Our balance and the peer's on our current commitment (HTLCs and fee excluded); zeros
    /// for a ledger that cannot be (a damaged store).
    pub fn balances(&self) -> (Msat, Msat) {
        self.local_view()
            .map_or((Msat::ZERO, Msat::ZERO), |v| (v.ours, v.theirs))
    }

    /// The feerate of our current commitment.
    pub fn feerate(&self) -> FeeratePerKw {
        self.ledger.feerate_at(self.local.pos)
    }

    /// The number of our current commitment, typed.
    pub fn local_commitment_number(&self) -> CommitmentNumber {
        CommitmentNumber::new(self.local.number).unwrap_or(CommitmentNumber::ZERO)
    }

    /// The number of the peer's current commitment, typed.
    pub fn remote_commitment_number(&self) -> CommitmentNumber {
        CommitmentNumber::new(self.remote.current.number).unwrap_or(CommitmentNumber::ZERO)
    }

    /// Whether both current commitments hold `h`'s add (BOLT 2: the HTLC is irrevocably
    /// committed, and may now be removed).
    pub fn is_committed(&self, h: &HtlcRecord) -> bool {
        let offerer = h.key.offerer;
        h.add_seq < self.local.pos.of(offerer) && h.add_seq < self.remote.current.pos.of(offerer)
    }

    /// Whether nothing is in flight: no HTLC, no fee update, every update in every
    /// commitment, no `revoke_and_ack` awaited (BOLT 2: the condition for `closing_signed`).
    pub fn is_quiet(&self) -> bool {
        self.remote.pending.is_none()
            && self
                .ledger
                .is_quiet(&[self.local.pos, self.remote.current.pos])
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
