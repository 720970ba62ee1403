//! BOLT 4 onion routing for payments: building the Sphinx `onion_packet` for a route, peeling
//! one layer as a hop, the per-hop `payload` TLV, and failure messages with their encrypted
//! return path.
//!
//! Contract:
//! - [`build_packet`] turns a route (node ids and payload TLV streams) into the 1,366-byte
//!   packet for `update_add_htlc` and the per-hop [`SharedSecret`]s the origin keeps to read
//!   failures with [`decode_failure`].
//! - [`peel`] is what a receiving hop does: [`PeelError::Malformed`] for packets to answer with
//!   `update_fail_malformed_htlc`, [`PeelError::Payload`] for authentic packets whose payload we
//!   cannot use (answer with [`failure_onion`] of [`PayloadError::failure`]), else our
//!   [`HopPayload`] and, unless we are the final node, the next hop's packet.
//! - [`failure_onion`] / [`wrap_failure`] / [`decode_failure`] carry a [`FailureMessage`] back.
//! - Nothing panics on any input, and nothing allocates from an unchecked length.
//!
//! This module is a pure core: no IO, no clocks; the session key (the only randomness) is an
//! argument. Route blinding and `attribution_data` are not supported.

mod crypto;
mod failure;
mod packet;
mod payload;
mod reply;
pub mod roundtrip;

pub use crypto::{shared_secret, SharedSecret};
pub use failure::*;
pub use packet::{
    build_packet, encode_payload_with_length, peel, peel_raw, sha256_of_onion, BuildError,
    PeelError, Peeled, RawPeeled, HOP_PAYLOADS_LEN, ONION_VERSION, PACKET_LEN,
};
pub use payload::{
    HopPayload, PayloadError, PaymentData, TLV_AMT_TO_FORWARD, TLV_CURRENT_PATH_KEY,
    TLV_ENCRYPTED_RECIPIENT_DATA, TLV_KEYSEND_PREIMAGE, TLV_OUTGOING_CLTV_VALUE, TLV_PAYMENT_DATA,
    TLV_PAYMENT_METADATA, TLV_SHORT_CHANNEL_ID, TLV_TOTAL_AMOUNT_MSAT,
};
pub use reply::{decode_failure, failure_onion, wrap_failure, DecodedFailure, FAILURE_PAD_TO};

#[cfg(test)]
mod tests;
