//! A channel's static parameters: fixed when `funding_signed` is exchanged, never changed.

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, OutPoint, ScriptBuf};
use serde::{Deserialize, Serialize};

use crate::keys::{ChannelBasepoints, ObscuringFactor};
use crate::tx::{FundingOutput, Side};
use crate::units::Msat;
use crate::wire::ChannelId;

/// Our role in the channel's opening (BOLT 2 "Channel Establishment"): the initiator sent
/// `open_channel` and, single-funded, put in all the funds and pays the commitment fees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// We sent `open_channel` (the funder).
    Initiator,
    /// We sent `accept_channel` (the fundee).
    Responder,
}

impl Role {
    /// `initiator` or `responder`, as events and `petrel channels` print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Initiator => "initiator",
            Role::Responder => "responder",
        }
    }
}

/// What one side announced in its `open_channel` or `accept_channel`: its keys, and the
/// limits it imposes on the *other* side (BOLT 2 field meanings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyParams {
    /// `dust_limit_satoshis`: below it, outputs of this side's own commitment are trimmed.
    pub dust_limit: Amount,
    /// `max_htlc_value_in_flight_msat`: cap on the HTLCs the other side may offer to this one.
    pub max_htlc_value_in_flight: Msat,
    /// `channel_reserve_satoshis`: what the other side must keep as a direct payment.
    pub channel_reserve: Amount,
    /// `htlc_minimum_msat`: the smallest HTLC this side accepts.
    pub htlc_minimum: Msat,
    /// `to_self_delay`: how long the *other* side's to-self outputs are delayed.
    pub to_self_delay: u16,
    /// `max_accepted_htlcs`: how many HTLCs the other side may offer to this one.
    pub max_accepted_htlcs: u16,
    /// `funding_pubkey` and the four basepoints.
    pub basepoints: ChannelBasepoints,
    /// `upfront_shutdown_script`, if a non-empty one was given.
    pub shutdown_script: Option<ScriptBuf>,
}

/// Everything about a channel that is fixed once it is funded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelParams {
    /// `channel_id`: the funding txid XOR the output index (BOLT 2).
    pub channel_id: ChannelId,
    /// The `temporary_channel_id` it was opened under.
    pub temporary_channel_id: ChannelId,
    /// The peer's node id.
    pub peer: PublicKey,
    /// Whether we opened (and funded) it.
    pub role: Role,
    /// Which BIP32 child of the node seed holds our keys for this channel (see
    /// [`crate::keys::ChannelSecrets::from_node_seed`]): the only reference to our secrets that
    /// is stored.
    pub channel_index: u32,
    /// The negotiated `channel_type` feature bits.
    pub channel_type: Vec<u8>,
    /// `channel_flags` of `open_channel`.
    pub channel_flags: u8,
    /// The funding outpoint.
    pub funding_outpoint: OutPoint,
    /// `funding_satoshis`.
    pub funding_amount: Amount,
    /// `push_msat`: what the initiator gave the responder at opening.
    pub push: Msat,
    /// `minimum_depth` from `accept_channel`.
    pub minimum_depth: u32,
    /// What we announced.
    pub local: PartyParams,
    /// What the peer announced.
    pub remote: PartyParams,
}

impl ChannelParams {
    /// The funding output both commitments spend.
    pub fn funding_output(&self) -> FundingOutput {
        FundingOutput::new(
            self.funding_outpoint,
            self.funding_amount,
            self.local.basepoints.funding_pubkey,
            self.remote.basepoints.funding_pubkey,
        )
    }

    /// The commitment-number obscuring factor: the initiator's payment basepoint first.
    pub fn obscuring_factor(&self) -> ObscuringFactor {
        let (initiator, responder) = match self.role {
            Role::Initiator => (&self.local, &self.remote),
            Role::Responder => (&self.remote, &self.local),
        };
        ObscuringFactor::new(
            &initiator.basepoints.payment_basepoint,
            &responder.basepoints.payment_basepoint,
        )
    }

    /// The funder, as seen from the owner of `our` (true) or `their` (false) commitment.
    pub fn funder_on(&self, our_commitment: bool) -> Side {
        match (self.role, our_commitment) {
            (Role::Initiator, true) | (Role::Responder, false) => Side::Local,
            (Role::Initiator, false) | (Role::Responder, true) => Side::Remote,
        }
    }
}
