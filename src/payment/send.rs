//! Paying: the route (one hop for now: the payee is a peer), the onion for it, and what a
//! failure coming back means. Pure: keys, heights and the channels to choose from come in
//! as arguments.

use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use serde_json::{json, Value};

use crate::channel::{NewHtlc, Resolution};
use crate::onion::{self, FailureMessage, HopPayload, PaymentData, SharedSecret};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;
use crate::wire::{ChannelId, ShortChannelId};

use super::record::RouteHop;

/// Blocks added to the payee's `min_final_cltv_expiry_delta`, so that a block or two found
/// while the HTLC travels does not make it too near for the payee.
pub const FINAL_CLTV_BUFFER: u32 = 3;

/// What is being paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayKind {
    /// A BOLT 11 invoice: its secret (and metadata) go in the onion.
    Invoice {
        /// `payment_secret`.
        payment_secret: [u8; 32],
        /// `payment_metadata`, echoed back if the invoice had one.
        payment_metadata: Option<Vec<u8>>,
    },
    /// Keysend: the preimage goes in the onion.
    Keysend {
        /// The preimage we chose.
        preimage: PaymentPreimage,
    },
}

/// A payment to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The payee.
    pub payee: PublicKey,
    /// What the payee gets.
    pub amount: Msat,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// The payee's `min_final_cltv_expiry_delta`.
    pub min_final_cltv_expiry_delta: u32,
    /// Invoice or keysend.
    pub kind: PayKind,
}

/// A channel the payment could go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The channel.
    pub channel_id: ChannelId,
    /// Its peer.
    pub peer: PublicKey,
    /// Its short id, once confirmed.
    pub short_channel_id: Option<ShortChannelId>,
    /// What we could send through it now (our balance less the reserve; the core has the
    /// final word).
    pub outbound: Msat,
}

/// The channels to the payee that could carry `amount`, the roomiest first.
pub fn order_candidates(
    mut all: Vec<Candidate>,
    payee: &PublicKey,
    amount: Msat,
) -> Vec<Candidate> {
    all.retain(|c| &c.peer == payee && c.outbound >= amount);
    all.sort_by(|a, b| {
        b.outbound
            .cmp(&a.outbound)
            .then(a.channel_id.cmp(&b.channel_id))
    });
    all
}

/// An HTLC ready to offer, with what is needed to read its failure.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The HTLC for the channel core.
    pub htlc: NewHtlc,
    /// The onion's shared secrets (first hop first).
    pub shared_secrets: Vec<SharedSecret>,
    /// The route it takes.
    pub route: Vec<RouteHop>,
}

/// Why an attempt could not be prepared.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the onion: {0}")]
pub struct PrepareError(String);

/// The final hop's payload for `target`, expiring at `expiry`.
pub fn final_payload(target: &Target, expiry: u32) -> HopPayload {
    let (payment_data, payment_metadata, keysend_preimage) = match &target.kind {
        PayKind::Invoice {
            payment_secret,
            payment_metadata,
        } => (
            Some(PaymentData {
                payment_secret: *payment_secret,
                total_msat: target.amount,
            }),
            payment_metadata.clone(),
            None,
        ),
        PayKind::Keysend { preimage } => (None, None, Some(*preimage)),
    };
    HopPayload {
        amt_to_forward: target.amount,
        outgoing_cltv_value: expiry,
        short_channel_id: None,
        payment_data,
        payment_metadata,
        keysend_preimage,
        unknown_odd: Vec::new(),
    }
}

/// The HTLC paying `target` directly through `via` (a channel with the payee), at chain
/// height `height`, with the onion built from `session_key`.
pub fn prepare(
    secp: &Secp256k1<All>,
    session_key: &SecretKey,
    via: &Candidate,
    target: &Target,
    height: u32,
) -> Result<Prepared, PrepareError> {
    let expiry = height
        .saturating_add(target.min_final_cltv_expiry_delta)
        .saturating_add(FINAL_CLTV_BUFFER);
    let payload = final_payload(target, expiry);
    let (packet, shared_secrets) = onion::build_packet(
        secp,
        session_key,
        &[(target.payee, payload.encode())],
        &target.payment_hash.0,
    )
    .map_err(|e| PrepareError(e.to_string()))?;
    let route = vec![RouteHop {
        node_id: target.payee,
        channel_id: via.channel_id,
        short_channel_id: via.short_channel_id.map(|s| s.to_string()),
        amount_msat: target.amount.0,
        expiry,
    }];
    Ok(Prepared {
        htlc: NewHtlc {
            amount: target.amount,
            payment_hash: target.payment_hash,
            cltv_expiry: expiry,
            onion: packet,
            path_key: None,
        },
        shared_secrets,
        route,
    })
}

/// What a failed attempt means for the payment.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// The failure as `pay` prints it.
    pub failure: Value,
    /// Whether another route (here: another channel) may succeed.
    pub retry: bool,
}

/// Whether a failure from hop `hop` of an `hops`-hop route leaves hope on another route:
/// the channel or node was busy (UPDATE, temporary failures), not the payee's final word.
fn retryable(code: u16, hop: usize, hops: usize) -> bool {
    let final_hop = hop + 1 == hops;
    let temporary = code & onion::PERM == 0;
    !final_hop && (temporary || code & onion::UPDATE != 0)
        || final_hop && code == onion::TEMPORARY_CHANNEL_FAILURE
}

/// Reads the failure of an attempt over `route` whose onion had `shared_secrets`.
pub fn interpret(
    resolution: &Resolution,
    shared_secrets: &[SharedSecret],
    route: &[RouteHop],
) -> Verdict {
    let node = |hop: usize| route.get(hop).map(|h| h.node_id.to_string());
    match resolution {
        Resolution::Fulfilled { .. } => Verdict {
            failure: Value::Null,
            retry: false,
        },
        Resolution::Malformed {
            failure_code,
            sha256_of_onion,
        } => Verdict {
            failure: json!({
                "hop": 0,
                "node_id": node(0),
                "code": failure_code,
                "name": FailureMessage { code: *failure_code, data: Vec::new() }.name(),
                "sha256_of_onion": sha256_of_onion.to_lower_hex_string(),
                "malformed": true,
            }),
            retry: false,
        },
        Resolution::Failed { reason } => match onion::decode_failure(shared_secrets, reason) {
            Ok(decoded) => {
                let mut failure = decoded.message.describe();
                if let Value::Object(map) = &mut failure {
                    map.insert("hop".into(), json!(decoded.hop));
                    map.insert("node_id".into(), json!(node(decoded.hop)));
                }
                Verdict {
                    retry: retryable(decoded.message.code, decoded.hop, route.len()),
                    failure,
                }
            }
            Err(e) => Verdict {
                failure: json!({ "reason": format!("unreadable failure: {e}") }),
                retry: false,
            },
        },
    }
}

/// A failure that never left the node (no channel, a channel refusing the HTLC).
pub fn local_failure(reason: impl Into<String>) -> Value {
    json!({ "reason": reason.into() })
}

#[cfg(test)]
#[path = "send_tests.rs"]
mod tests;
