//! Decode and encode errors of the wire codec.
//!
//! Every decode error names the message (or TLV stream), the field, and the reason, so that a
//! peer's bad message can be reported precisely (`petrel decode-msg`, BOLT 1 `warning` text).

use thiserror::Error;

/// What was wrong with the bytes, independent of where they were.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeReason {
    /// The input ended before the field did (BOLT 1: "insufficient length for the contents").
    #[error("truncated: needs {needed} more bytes, {available} left")]
    ShortRead {
        /// Bytes the field still needed.
        needed: usize,
        /// Bytes that were left in the input.
        available: usize,
    },
    /// A message shorter than its 2-byte type.
    #[error("message shorter than its 2-byte type")]
    MissingType,
    /// A BigSize that could have been encoded in fewer bytes (BOLT 1 Appendix A).
    #[error("bigsize is not canonical")]
    NonCanonicalBigSize,
    /// A truncated integer (`tu16`/`tu32`/`tu64`) with a leading zero byte.
    #[error("truncated integer is not minimally encoded")]
    NonMinimalTruncatedInt,
    /// A truncated integer longer than its type allows.
    #[error("truncated integer longer than {max} bytes")]
    TruncatedIntTooLong {
        /// The most bytes the type can take.
        max: usize,
    },
    /// 33 bytes that are not a valid compressed secp256k1 point.
    #[error("not a valid point")]
    InvalidPoint,
    /// 64 bytes that are not a valid compact ECDSA signature (r or s out of range).
    #[error("not a valid compact signature")]
    InvalidSignature,
    /// A TLV record whose type is not strictly greater than the one before it.
    #[error("tlv type {found} follows type {previous}: types must strictly increase")]
    TlvNotIncreasing {
        /// The type of the record before.
        previous: u64,
        /// The type that broke the order.
        found: u64,
    },
    /// A TLV record of an even type this stream does not know ("it's ok to be odd").
    #[error("unknown even tlv type {0}")]
    UnknownEvenTlv(u64),
    /// A TLV record whose length runs past the end of the stream.
    #[error("tlv length {length} exceeds the {available} bytes left")]
    TlvLengthExceedsInput {
        /// The record's declared length.
        length: u64,
        /// Bytes left after the length.
        available: usize,
    },
    /// A known TLV record with bytes left over after its fields ("greater than encoding
    /// length").
    #[error("{extra} bytes left over after the record's fields")]
    TlvRecordTooLong {
        /// How many bytes were not consumed.
        extra: usize,
    },
    /// A message type that is even and unknown: BOLT 1 says close the connection.
    #[error("unknown even message type {0}")]
    UnknownEvenMessage(u16),
}

/// A message that could not be decoded: where, and why.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("{message}: {field}: {reason}")]
pub struct DecodeError {
    /// The message (or TLV stream) being decoded, in the BOLT's words, e.g. `open_channel`.
    pub message: &'static str,
    /// The field at fault, e.g. `funding_pubkey` or `tlvs.channel_type.type`.
    pub field: &'static str,
    /// What was wrong.
    pub reason: DecodeReason,
}

impl DecodeError {
    /// Attaches a location to a reason.
    pub fn new(message: &'static str, field: &'static str, reason: DecodeReason) -> Self {
        DecodeError {
            message,
            field,
            reason,
        }
    }
}

/// A message that cannot be encoded as the BOLTs lay it out.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length field longer than its length prefix can count.
    #[error("{message}: {field}: {len} elements do not fit a {prefix_bits}-bit length")]
    LengthOverflow {
        /// The message being encoded.
        message: &'static str,
        /// The field that is too long.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The width of its length prefix.
        prefix_bits: u32,
    },
    /// Unknown TLV records that are even, out of order, or collide with a known type: they
    /// could never have been decoded, so they must not be sent.
    #[error("{message}: unknown tlv records must be odd, strictly increasing and not known types (type {type_num})")]
    InvalidUnknownTlv {
        /// The message being encoded.
        message: &'static str,
        /// The offending record type.
        type_num: u64,
    },
    /// An encoded message longer than BOLT 8 can carry (65,535 bytes).
    #[error("{message}: encoded length {len} exceeds 65535 bytes")]
    TooLong {
        /// The message being encoded.
        message: &'static str,
        /// Its encoded length.
        len: usize,
    },
}
