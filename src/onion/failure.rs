//! Failure messages (BOLT 4 "Failure Messages"): the `failuremsg` an erring node puts in the
//! return packet, its codes and flags, and a JSON description for logs and the RPC.

// BOLT 4 writes every code as flags | a decimal number (`PERM|22`); the constants below do the
// same so they can be checked against the spec by eye.
#![allow(clippy::decimal_bitwise_operands)]

use serde_json::{json, Map, Value};
use thiserror::Error;

use crate::units::Msat;
use crate::wire::{read_bigsize, write_bigsize, DecodeReason, Reader};

/// Flag: the onion was unparsable by the sending peer (only in `update_fail_malformed_htlc`).
pub const BADONION: u16 = 0x8000;
/// Flag: a permanent failure (otherwise transient).
pub const PERM: u16 = 0x4000;
/// Flag: a node failure (otherwise a channel failure).
pub const NODE: u16 = 0x2000;
/// Flag: a channel forwarding parameter was violated.
pub const UPDATE: u16 = 0x1000;

// The codes BOLT 4 defines, written as the spec writes them (flags | decimal number).
/// `temporary_node_failure` (NODE | 2).
pub const TEMPORARY_NODE_FAILURE: u16 = NODE | 2;
/// `permanent_node_failure` (PERM | NODE | 2).
pub const PERMANENT_NODE_FAILURE: u16 = PERM | NODE | 2;
/// `required_node_feature_missing` (PERM | NODE | 3).
pub const REQUIRED_NODE_FEATURE_MISSING: u16 = PERM | NODE | 3;
/// `invalid_onion_version` (BADONION | PERM | 4).
pub const INVALID_ONION_VERSION: u16 = BADONION | PERM | 4;
/// `invalid_onion_hmac` (BADONION | PERM | 5).
pub const INVALID_ONION_HMAC: u16 = BADONION | PERM | 5;
/// `invalid_onion_key` (BADONION | PERM | 6).
pub const INVALID_ONION_KEY: u16 = BADONION | PERM | 6;
/// `temporary_channel_failure` (UPDATE | 7).
pub const TEMPORARY_CHANNEL_FAILURE: u16 = UPDATE | 7;
/// `permanent_channel_failure` (PERM | 8).
pub const PERMANENT_CHANNEL_FAILURE: u16 = PERM | 8;
/// `required_channel_feature_missing` (PERM | 9).
pub const REQUIRED_CHANNEL_FEATURE_MISSING: u16 = PERM | 9;
/// `unknown_next_peer` (PERM | 10).
pub const UNKNOWN_NEXT_PEER: u16 = PERM | 10;
/// `amount_below_minimum` (UPDATE | 11).
pub const AMOUNT_BELOW_MINIMUM: u16 = UPDATE | 11;
/// `fee_insufficient` (UPDATE | 12).
pub const FEE_INSUFFICIENT: u16 = UPDATE | 12;
/// `incorrect_cltv_expiry` (UPDATE | 13).
pub const INCORRECT_CLTV_EXPIRY: u16 = UPDATE | 13;
/// `expiry_too_soon` (UPDATE | 14).
pub const EXPIRY_TOO_SOON: u16 = UPDATE | 14;
/// `incorrect_or_unknown_payment_details` (PERM | 15).
pub const INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS: u16 = PERM | 15;
/// `final_incorrect_cltv_expiry` (18).
pub const FINAL_INCORRECT_CLTV_EXPIRY: u16 = 18;
/// `final_incorrect_htlc_amount` (19).
pub const FINAL_INCORRECT_HTLC_AMOUNT: u16 = 19;
/// `channel_disabled` (UPDATE | 20).
pub const CHANNEL_DISABLED: u16 = UPDATE | 20;
/// `expiry_too_far` (21).
pub const EXPIRY_TOO_FAR: u16 = 21;
/// `invalid_onion_payload` (PERM | 22).
pub const INVALID_ONION_PAYLOAD: u16 = PERM | 22;
/// `mpp_timeout` (23).
pub const MPP_TIMEOUT: u16 = 23;
/// `invalid_onion_blinding` (BADONION | PERM | 24).
pub const INVALID_ONION_BLINDING: u16 = BADONION | PERM | 24;

/// The longest `failuremsg` [`super::failure_onion`] sends: its return packet (HMAC, two
/// lengths, message) must fit `update_fail_htlc.reason` inside one 65,535-byte BOLT 8 message
/// (type 2, channel id 32, id 8, length 2).
pub const MAX_FAILURE_MSG_LEN: usize = 65_535 - 2 - 32 - 8 - 2 - 32 - 2 - 2;

/// A failure message: the 2-byte `failure_code` and the data that follows it (the code's
/// fields, then an optional TLV stream or extra bytes, which origins ignore).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureMessage {
    /// The failure code, flags included.
    pub code: u16,
    /// Everything after the code.
    pub data: Vec<u8>,
}

/// Why failure bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FailureError {
    /// Fewer than 2 bytes: no failure code.
    #[error("failure message shorter than its 2-byte code")]
    NoCode,
    /// A known code whose fields are cut short or malformed.
    #[error("failure {name} ({code:#06x}): field {field}: {reason}")]
    Field {
        /// The failure code.
        code: u16,
        /// Its BOLT 4 name.
        name: &'static str,
        /// The field at fault.
        field: &'static str,
        /// What was wrong.
        reason: DecodeReason,
    },
    /// A return packet too short to hold an HMAC and a message length.
    #[error("failure packet of {0} bytes is too short")]
    PacketTooShort(usize),
    /// No hop's `um` HMAC matches: the packet was corrupted on the way, or a hop lied.
    #[error("no hop's hmac matches the failure packet")]
    NoHopMatched,
    /// Hop `hop` authenticated the packet, but its `failure_len` runs past the end.
    #[error("hop {hop}: failure_len {len} exceeds the packet")]
    BadLength {
        /// The hop whose HMAC matched.
        hop: usize,
        /// The `failure_len` it claims.
        len: u16,
    },
    /// Hop `hop` authenticated the packet, but its message does not decode.
    #[error("hop {hop}: {error}")]
    BadMessage {
        /// The hop whose HMAC matched: the failure is attributable to it.
        hop: usize,
        /// What was wrong with the message.
        error: Box<FailureError>,
    },
}

/// A field of a known failure's data, as BOLT 4 lays them out.
#[derive(Clone, Copy)]
enum Field {
    U16(&'static str),
    U32(&'static str),
    U64(&'static str),
    Sha256(&'static str),
    BigSize(&'static str),
    /// `u16 len` then `len*byte channel_update`.
    ChannelUpdate,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::U16(n)
            | Field::U32(n)
            | Field::U64(n)
            | Field::Sha256(n)
            | Field::BigSize(n) => n,
            Field::ChannelUpdate => "channel_update",
        }
    }

    /// Reads the field as a JSON value.
    fn read(self, r: &mut Reader<'_>) -> Result<Value, DecodeReason> {
        Ok(match self {
            Field::U16(_) => json!(r.u16()?),
            Field::U32(_) => json!(r.u32()?),
            Field::U64(_) => json!(r.u64()?),
            Field::Sha256(_) => json!(hex(&r.array::<32>()?)),
            Field::BigSize(_) => json!(read_bigsize(r)?),
            Field::ChannelUpdate => {
                let len = r.u16()?;
                json!(hex(r.take(usize::from(len))?))
            }
        })
    }
}

/// Decoded fields, by BOLT 4 name.
type NamedFields = Vec<(&'static str, Value)>;

const SHA: &[Field] = &[Field::Sha256("sha256_of_onion")];
const UPD: &[Field] = &[Field::ChannelUpdate];
const MSAT_UPD: &[Field] = &[Field::U64("htlc_msat"), Field::ChannelUpdate];

/// Every failure BOLT 4 defines: code, name, fields.
const FAILURES: &[(u16, &str, &[Field])] = &[
    (TEMPORARY_NODE_FAILURE, "temporary_node_failure", &[]),
    (PERMANENT_NODE_FAILURE, "permanent_node_failure", &[]),
    (
        REQUIRED_NODE_FEATURE_MISSING,
        "required_node_feature_missing",
        &[],
    ),
    (INVALID_ONION_VERSION, "invalid_onion_version", SHA),
    (INVALID_ONION_HMAC, "invalid_onion_hmac", SHA),
    (INVALID_ONION_KEY, "invalid_onion_key", SHA),
    (TEMPORARY_CHANNEL_FAILURE, "temporary_channel_failure", UPD),
    (PERMANENT_CHANNEL_FAILURE, "permanent_channel_failure", &[]),
    (
        REQUIRED_CHANNEL_FEATURE_MISSING,
        "required_channel_feature_missing",
        &[],
    ),
    (UNKNOWN_NEXT_PEER, "unknown_next_peer", &[]),
    (AMOUNT_BELOW_MINIMUM, "amount_below_minimum", MSAT_UPD),
    (FEE_INSUFFICIENT, "fee_insufficient", MSAT_UPD),
    (
        INCORRECT_CLTV_EXPIRY,
        "incorrect_cltv_expiry",
        &[Field::U32("cltv_expiry"), Field::ChannelUpdate],
    ),
    (EXPIRY_TOO_SOON, "expiry_too_soon", UPD),
    (
        INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS,
        "incorrect_or_unknown_payment_details",
        &[Field::U64("htlc_msat"), Field::U32("height")],
    ),
    (
        FINAL_INCORRECT_CLTV_EXPIRY,
        "final_incorrect_cltv_expiry",
        &[Field::U32("cltv_expiry")],
    ),
    (
        FINAL_INCORRECT_HTLC_AMOUNT,
        "final_incorrect_htlc_amount",
        &[Field::U64("incoming_htlc_amt")],
    ),
    (
        CHANNEL_DISABLED,
        "channel_disabled",
        &[Field::U16("disabled_flags"), Field::ChannelUpdate],
    ),
    (EXPIRY_TOO_FAR, "expiry_too_far", &[]),
    (
        INVALID_ONION_PAYLOAD,
        "invalid_onion_payload",
        &[Field::BigSize("type"), Field::U16("offset")],
    ),
    (MPP_TIMEOUT, "mpp_timeout", &[]),
    (INVALID_ONION_BLINDING, "invalid_onion_blinding", SHA),
];

fn lookup(code: u16) -> Option<(&'static str, &'static [Field])> {
    FAILURES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, name, fields)| (*name, *fields))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Appends `u16 len` and the channel update (empty when `None`, as BOLT 4 now recommends),
/// cut at 65,535 bytes (a real `channel_update` is about 136).
fn push_channel_update(data: &mut Vec<u8>, update: Option<Vec<u8>>) {
    let mut update = update.unwrap_or_default();
    update.truncate(usize::from(u16::MAX));
    let len = u16::try_from(update.len()).unwrap_or(u16::MAX);
    data.extend_from_slice(&len.to_be_bytes());
    data.append(&mut update);
}

impl FailureMessage {
    fn with(code: u16, data: Vec<u8>) -> Self {
        FailureMessage { code, data }
    }

    /// `temporary_node_failure` (NODE|2): a transient failure of this node.
    pub fn temporary_node_failure() -> Self {
        Self::with(TEMPORARY_NODE_FAILURE, Vec::new())
    }

    /// `permanent_node_failure` (PERM|NODE|2): this node cannot route.
    pub fn permanent_node_failure() -> Self {
        Self::with(PERMANENT_NODE_FAILURE, Vec::new())
    }

    /// `required_node_feature_missing` (PERM|NODE|3).
    pub fn required_node_feature_missing() -> Self {
        Self::with(REQUIRED_NODE_FEATURE_MISSING, Vec::new())
    }

    /// `temporary_channel_failure` (UPDATE|7): the outgoing channel cannot take this HTLC now
    /// (no capacity, peer offline). The `channel_update` is optional and discouraged.
    pub fn temporary_channel_failure(channel_update: Option<Vec<u8>>) -> Self {
        let mut data = Vec::new();
        push_channel_update(&mut data, channel_update);
        Self::with(TEMPORARY_CHANNEL_FAILURE, data)
    }

    /// `permanent_channel_failure` (PERM|8): the outgoing channel takes no HTLCs any more.
    pub fn permanent_channel_failure() -> Self {
        Self::with(PERMANENT_CHANNEL_FAILURE, Vec::new())
    }

    /// `required_channel_feature_missing` (PERM|9).
    pub fn required_channel_feature_missing() -> Self {
        Self::with(REQUIRED_CHANNEL_FEATURE_MISSING, Vec::new())
    }

    /// `unknown_next_peer` (PERM|10): no channel has the payload's `short_channel_id`.
    pub fn unknown_next_peer() -> Self {
        Self::with(UNKNOWN_NEXT_PEER, Vec::new())
    }

    /// `amount_below_minimum` (UPDATE|11): the HTLC is below the channel's minimum.
    pub fn amount_below_minimum(htlc_msat: Msat, channel_update: Option<Vec<u8>>) -> Self {
        let mut data = htlc_msat.0.to_be_bytes().to_vec();
        push_channel_update(&mut data, channel_update);
        Self::with(AMOUNT_BELOW_MINIMUM, data)
    }

    /// `fee_insufficient` (UPDATE|12): the HTLC leaves less fee than the channel asks.
    pub fn fee_insufficient(htlc_msat: Msat, channel_update: Option<Vec<u8>>) -> Self {
        let mut data = htlc_msat.0.to_be_bytes().to_vec();
        push_channel_update(&mut data, channel_update);
        Self::with(FEE_INSUFFICIENT, data)
    }

    /// `incorrect_cltv_expiry` (UPDATE|13): `cltv_expiry` does not leave the channel's
    /// `cltv_expiry_delta` above `outgoing_cltv_value`.
    pub fn incorrect_cltv_expiry(cltv_expiry: u32, channel_update: Option<Vec<u8>>) -> Self {
        let mut data = cltv_expiry.to_be_bytes().to_vec();
        push_channel_update(&mut data, channel_update);
        Self::with(INCORRECT_CLTV_EXPIRY, data)
    }

    /// `expiry_too_soon` (UPDATE|14): the HTLC expires too close to the current height.
    pub fn expiry_too_soon(channel_update: Option<Vec<u8>>) -> Self {
        let mut data = Vec::new();
        push_channel_update(&mut data, channel_update);
        Self::with(EXPIRY_TOO_SOON, data)
    }

    /// `incorrect_or_unknown_payment_details` (PERM|15): the final node does not know the
    /// payment hash, or secret, amount or expiry are wrong. `height` is our best block.
    pub fn incorrect_or_unknown_payment_details(htlc_msat: Msat, height: u32) -> Self {
        let mut data = htlc_msat.0.to_be_bytes().to_vec();
        data.extend_from_slice(&height.to_be_bytes());
        Self::with(INCORRECT_OR_UNKNOWN_PAYMENT_DETAILS, data)
    }

    /// `final_incorrect_cltv_expiry` (18): the HTLC's expiry is below the onion's value.
    pub fn final_incorrect_cltv_expiry(cltv_expiry: u32) -> Self {
        Self::with(
            FINAL_INCORRECT_CLTV_EXPIRY,
            cltv_expiry.to_be_bytes().to_vec(),
        )
    }

    /// `final_incorrect_htlc_amount` (19): the HTLC's amount is below the onion's value.
    pub fn final_incorrect_htlc_amount(incoming_htlc_amt: Msat) -> Self {
        Self::with(
            FINAL_INCORRECT_HTLC_AMOUNT,
            incoming_htlc_amt.0.to_be_bytes().to_vec(),
        )
    }

    /// `channel_disabled` (UPDATE|20); no `disabled_flags` are defined, so they are zero.
    pub fn channel_disabled(channel_update: Option<Vec<u8>>) -> Self {
        let mut data = vec![0, 0];
        push_channel_update(&mut data, channel_update);
        Self::with(CHANNEL_DISABLED, data)
    }

    /// `expiry_too_far` (21): the HTLC's expiry is too far in the future.
    pub fn expiry_too_far() -> Self {
        Self::with(EXPIRY_TOO_FAR, Vec::new())
    }

    /// `invalid_onion_payload` (PERM|22): the payload is not understood or incomplete, with
    /// the offending TLV `type` and its byte `offset` (see [`super::PayloadError::failure`]).
    pub fn invalid_onion_payload(tlv_type: u64, offset: u16) -> Self {
        let mut data = Vec::with_capacity(11);
        write_bigsize(&mut data, tlv_type);
        data.extend_from_slice(&offset.to_be_bytes());
        Self::with(INVALID_ONION_PAYLOAD, data)
    }

    /// `mpp_timeout` (23): the parts of a multi-part payment did not all arrive in time.
    pub fn mpp_timeout() -> Self {
        Self::with(MPP_TIMEOUT, Vec::new())
    }

    /// The BOLT 4 name of the code, or `"unknown"` for codes BOLT 4 does not define.
    pub fn name(&self) -> &'static str {
        lookup(self.code).map_or("unknown", |(name, _)| name)
    }

    /// Whether the PERM flag is set: retrying the same route cannot succeed.
    pub fn is_permanent(&self) -> bool {
        self.code & PERM != 0
    }

    /// Whether the NODE flag is set: the erring node itself, not one channel, failed.
    pub fn is_node_failure(&self) -> bool {
        self.code & NODE != 0
    }

    /// The `failuremsg` bytes: code, then data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.data.len());
        out.extend_from_slice(&self.code.to_be_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Reads a `failuremsg`. The fields of a known code must all be there; anything after
    /// them (a TLV stream, or bytes a newer node added) is kept and not checked, since an
    /// origin "MUST ignore any extra bytes". Unknown codes keep all their data.
    pub fn decode(bytes: &[u8]) -> Result<Self, FailureError> {
        let (code, data) = bytes.split_first_chunk::<2>().ok_or(FailureError::NoCode)?;
        let message = FailureMessage {
            code: u16::from_be_bytes(*code),
            data: data.to_vec(),
        };
        message.fields()?;
        Ok(message)
    }

    /// The known fields as `(name, value)` pairs and the extra bytes after them.
    fn fields(&self) -> Result<(NamedFields, &[u8]), FailureError> {
        let Some((name, fields)) = lookup(self.code) else {
            return Ok((Vec::new(), &self.data));
        };
        let mut r = Reader::new(&self.data);
        let mut out = Vec::with_capacity(fields.len());
        for field in fields {
            let value = field.read(&mut r).map_err(|reason| FailureError::Field {
                code: self.code,
                name,
                field: field.name(),
                reason,
            })?;
            out.push((field.name(), value));
        }
        Ok((out, r.rest()))
    }

    /// A JSON description for logs and the RPC: `code`, `name`, the flags, each field by its
    /// BOLT 4 name (amounts and heights as numbers, byte strings as hex), and `extra` (hex)
    /// when bytes follow the fields. Data that does not decode is shown as `data` (hex) with
    /// the `error`.
    pub fn describe(&self) -> Value {
        let mut map = Map::new();
        map.insert("code".into(), json!(self.code));
        map.insert("name".into(), json!(self.name()));
        let flags: Vec<&str> = [
            (BADONION, "BADONION"),
            (PERM, "PERM"),
            (NODE, "NODE"),
            (UPDATE, "UPDATE"),
        ]
        .iter()
        .filter(|(bit, _)| self.code & bit != 0)
        .map(|(_, name)| *name)
        .collect();
        map.insert("flags".into(), json!(flags));
        match self.fields() {
            Ok((fields, extra)) => {
                for (name, value) in fields {
                    map.insert(name.into(), value);
                }
                if !extra.is_empty() {
                    map.insert("extra".into(), json!(hex(extra)));
                }
            }
            Err(error) => {
                map.insert("data".into(), json!(hex(&self.data)));
                map.insert("error".into(), json!(error.to_string()));
            }
        }
        Value::Object(map)
    }
}
