//! The BOLT 1 / BOLT 2 wire codec: fundamental types, TLV streams and every message.
//!
//! The message layouts are data, not code: `wire-spec/bolt01.csv` and `wire-spec/bolt02.csv`
//! (extracted from the BOLT texts) are turned into Rust by `build.rs`, so the spec, the codec,
//! the fuzz targets and `petrel decode-msg` cannot drift apart.
//!
//! Contract:
//! - [`Message::decode`] takes the plaintext of one BOLT 8 frame (2-byte type + payload) and
//!   never panics, never allocates more than its input can back, and names the message, the
//!   field and the reason of every failure ([`DecodeError`]).
//! - Unknown odd message types, and the BOLT 7 gossip types Petrel does not decode yet
//!   ([`GOSSIP_MESSAGE_TYPES`]), decode to [`Message::Unknown`] (callers ignore them); other
//!   unknown even types are an error. Unknown odd TLV records are kept so messages re-encode byte for
//!   byte; unknown even ones are an error (BOLT 1 "it's ok to be odd").
//! - [`Message::encode`] writes what decodes back to an equal value; lengths are derived from
//!   the data and an overflow is an [`EncodeError`], never a silent truncation.
//!
//! This module is a pure core: no IO, no clocks, no randomness (the [`Sampler`] is seeded).

mod error;
pub mod features;
mod field;
mod hex_input;
mod integers;
#[macro_use]
mod message;
mod reader;
pub mod roundtrip;
mod sample;
mod tlv;
mod types;

pub use error::{DecodeError, DecodeReason, EncodeError};
pub use features::Features;
pub use field::TruncatedSha256;
pub use hex_input::{decode_hex_message, HexMessageError};
pub use integers::{
    bigsize_len, read_bigsize, read_truncated, truncated_len, write_bigsize, write_truncated,
    BigSize,
};
pub use message::*;
pub use reader::Reader;
pub use sample::Sampler;
pub use tlv::{Extension, RawRecord, TlvReader, UnknownRecord};
pub use types::{ChannelId, Sha256, ShortChannelId};

#[cfg(test)]
mod tests;
