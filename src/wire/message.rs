//! The message types, generated from `wire-spec/*.csv` by `wire-spec/codegen.rs`.
//!
//! One struct per BOLT 1/2 message with the BOLT's field names, one struct per TLV stream,
//! the [`Message`] enum over all of them, and [`WireMessage`], the calling interface each
//! message shares. Length fields (`len`, `num_htlcs`...) are not stored: they are implied by
//! the field they count and written from it.
#![allow(
    clippy::needless_borrow,
    clippy::identity_op,
    clippy::redundant_closure_for_method_calls,
    clippy::cast_lossless,
    clippy::unnecessary_cast,
    clippy::too_many_arguments,
    clippy::match_same_arms,
    clippy::needless_borrows_for_generic_args,
    clippy::borrow_deref_ref,
    clippy::double_parens,
    clippy::useless_format,
    clippy::useless_conversion,
    clippy::doc_markdown,
    unused_parens,
    // The generated code uses a different subset of these imports as the CSV changes.
    unused_imports
)]

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{Amount, SignedAmount, Txid};
use bytes::BufMut;
use serde_json::{Map, Value};

use super::error::{DecodeError, DecodeReason, EncodeError};
use super::field::{
    json_all, json_bytes, len_all, read_rest, read_vec, sample_vec, write_all, Field,
    TruncatedSha256,
};
use super::integers::{
    bigsize_len, read_bigsize, read_truncated, truncated_len, write_bigsize, write_truncated,
    BigSize,
};
use super::reader::Reader;
use super::sample::Sampler;
use super::tlv::{
    check_unknown, sample_unknown, unknown_json, write_header, write_unknown_below, Extension,
    TlvReader, UnknownRecord,
};
use super::types::{ChannelId, Sha256, ShortChannelId};
use crate::units::{FeeratePerKw, Msat};

/// What every message type offers: its type number and name, payload codec, JSON view and
/// samples. `Message` dispatches to these.
pub trait WireMessage: Sized {
    /// The 2-byte message type.
    const TYPE: u16;
    /// The BOLT's name for it, e.g. `open_channel`.
    const NAME: &'static str;
    /// Decodes the payload (the bytes after the type), extension TLVs included.
    fn decode_payload(payload: &[u8]) -> Result<Self, DecodeError>;
    /// Writes the payload (without the type).
    fn encode_payload<B: BufMut>(&self, out: &mut B) -> Result<(), EncodeError>;
    /// The fields as a JSON object, named as in the BOLT.
    fn fields_json(&self) -> Value;
    /// A pseudo-random valid instance (see [`Sampler`]).
    fn sample(s: &mut Sampler) -> Self;
    /// Wraps the message in the [`Message`] enum.
    fn into_message(self) -> Message;
}

/// A message of a type we do not decode, kept whole: an unknown odd type, or one of the BOLT 7
/// gossip messages ([`GOSSIP_MESSAGE_TYPES`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownMessage {
    /// Its type (odd, or a BOLT 7 type: any other even type fails to decode).
    pub type_num: u16,
    /// Everything after the type.
    pub payload: Vec<u8>,
}

/// The message types BOLT 7 defines: `channel_announcement` (256), `node_announcement` (257),
/// `channel_update` (258), `announcement_signatures` (259), `query_short_channel_ids` (261),
/// `reply_short_channel_ids_end` (262), `query_channel_range` (263), `reply_channel_range`
/// (264) and `gossip_timestamp_filter` (265).
///
/// Petrel takes no part in gossip yet, but these types are not *unknown*: BOLT 7 lets a node
/// send `channel_update` for an unannounced channel to its channel peer ("MAY create a
/// `channel_update` to communicate the channel parameters to the channel peer"; LDK does,
/// right after `channel_ready`), and `channel_update` is even. BOLT 1's "MUST close the
/// connection" is for even types the receiver does not know; applying it to BOLT 7 messages
/// would drop every peer that gossips. They decode to [`Message::Unknown`], kept whole, and
/// the reader ignores them (BOLT 7 asks nothing of a receiver that does not track the
/// network beyond "SHOULD accept `channel_update`s for its own channels").
pub const GOSSIP_MESSAGE_TYPES: [u16; 9] = [256, 257, 258, 259, 261, 262, 263, 264, 265];

impl Message {
    /// Decodes a whole message: 2-byte type, then payload. Unknown odd types and the BOLT 7
    /// gossip types ([`GOSSIP_MESSAGE_TYPES`]) decode to [`Message::Unknown`] (the reader of
    /// the stream ignores them); other unknown even types are an error (BOLT 1: "MUST close
    /// the connection").
    pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
        let Some((type_bytes, payload)) = bytes.split_first_chunk::<2>() else {
            return Err(DecodeError::new(
                "message",
                "type",
                DecodeReason::MissingType,
            ));
        };
        let type_num = u16::from_be_bytes(*type_bytes);
        if GOSSIP_MESSAGE_TYPES.contains(&type_num) {
            return Ok(Message::Unknown(UnknownMessage {
                type_num,
                payload: payload.to_vec(),
            }));
        }
        Message::decode_typed(type_num, payload)
    }

    /// Writes the whole message (type, then payload).
    pub fn encode<B: BufMut>(&self, out: &mut B) -> Result<(), EncodeError> {
        out.put_u16(self.type_num());
        self.encode_payload(out)
    }

    /// The whole message as bytes, refusing anything longer than a BOLT 8 frame can carry.
    pub fn encode_to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(256);
        self.encode(&mut out)?;
        if out.len() > usize::from(u16::MAX) {
            return Err(EncodeError::TooLong {
                message: self.name(),
                len: out.len(),
            });
        }
        Ok(out)
    }

    /// `{"type": "open_channel", "type_id": 32, "fields": {...}}`, the line
    /// `petrel decode-msg` prints.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), Value::from(self.name()));
        m.insert("type_id".into(), Value::from(self.type_num()));
        m.insert("fields".into(), self.fields_json());
        Value::Object(m)
    }
}

include!(concat!(env!("OUT_DIR"), "/wire_messages.rs"));
