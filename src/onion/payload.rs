//! The per-hop `payload` TLV stream (BOLT 4 "`payload` format") and the reader's rules for it.
//!
//! A payload is what the origin tells one hop: how much to forward and with which CLTV, over
//! which channel (intermediate hops), or the payment secret, metadata and keysend preimage
//! (the final hop). Blinded paths are not supported: a payload using them is rejected, which
//! BOLT 4 answers with `invalid_onion_payload` like any other payload the node cannot use.

use thiserror::Error;

use super::failure::FailureMessage;
use crate::tx::PaymentPreimage;
use crate::units::Msat;
use crate::wire::{
    bigsize_len, read_truncated, truncated_len, write_bigsize, write_truncated, DecodeReason,
    ShortChannelId, TlvReader,
};

/// `amt_to_forward` (tu64).
pub const TLV_AMT_TO_FORWARD: u64 = 2;
/// `outgoing_cltv_value` (tu32).
pub const TLV_OUTGOING_CLTV_VALUE: u64 = 4;
/// `short_channel_id` of the outgoing channel.
pub const TLV_SHORT_CHANNEL_ID: u64 = 6;
/// `payment_data`: `payment_secret` and `total_msat`.
pub const TLV_PAYMENT_DATA: u64 = 8;
/// `encrypted_recipient_data` (route blinding, unsupported).
pub const TLV_ENCRYPTED_RECIPIENT_DATA: u64 = 10;
/// `current_path_key` (route blinding, unsupported).
pub const TLV_CURRENT_PATH_KEY: u64 = 12;
/// `payment_metadata` from the invoice.
pub const TLV_PAYMENT_METADATA: u64 = 16;
/// `total_amount_msat`, defined only for the final hop of a blinded path (unsupported).
pub const TLV_TOTAL_AMOUNT_MSAT: u64 = 18;
/// The keysend preimage (spontaneous payments; the type every implementation uses).
pub const TLV_KEYSEND_PREIMAGE: u64 = 5_482_373_484;

/// The final hop's `payment_data` record: proof the payer saw the invoice, and the total of a
/// (possibly multi-part) payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentData {
    /// The invoice's `payment_secret`.
    pub payment_secret: [u8; 32],
    /// The total amount of the payment, over all its parts.
    pub total_msat: Msat,
}

/// One hop's decoded `payload` TLV stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HopPayload {
    /// Type 2: the amount to forward (or, at the final hop, to receive).
    pub amt_to_forward: Msat,
    /// Type 4: the CLTV expiry the outgoing (or final) HTLC must carry.
    pub outgoing_cltv_value: u32,
    /// Type 6: the outgoing channel; present exactly for non-final hops.
    pub short_channel_id: Option<ShortChannelId>,
    /// Type 8: the final hop's payment secret and total amount.
    pub payment_data: Option<PaymentData>,
    /// Type 16: the invoice's `payment_metadata`, returned to the payee.
    pub payment_metadata: Option<Vec<u8>>,
    /// Type 5482373484: the preimage of a keysend payment.
    pub keysend_preimage: Option<PaymentPreimage>,
    /// Odd records this node does not know, kept in stream order so the payload re-encodes to
    /// the bytes it came from ("it's ok to be odd"). [`HopPayload::encode`] writes them among
    /// the known records by type; they must be odd, increasing and not a known type.
    pub unknown_odd: Vec<(u64, Vec<u8>)>,
}

/// Why a hop's payload is unusable. Each names the TLV type and the byte offset BOLT 4's
/// `invalid_onion_payload` reports (see [`PayloadError::failure`]); offsets count from the
/// start of the TLV stream for [`HopPayload::decode`] and from the start of the decrypted
/// `hop_payloads` (the length prefix) for [`super::peel`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PayloadError {
    /// The payload's BigSize length prefix is not canonical.
    #[error("payload length is not a canonical bigsize")]
    LengthNotCanonical,
    /// A length of 0 (the legacy format) or 1 (reserved): no TLV payload is that short.
    #[error("payload length {0} is reserved: a tlv payload is at least 2 bytes")]
    LengthReserved(u64),
    /// A length that leaves no room for the next HMAC within `hop_payloads`.
    #[error("payload length {0} runs past the end of hop_payloads")]
    LengthTooLong(u64),
    /// The stream breaks a TLV rule: a bad BigSize, a length past the end, a type not above
    /// the one before it.
    #[error("tlv stream at offset {offset}: {reason}")]
    Stream {
        /// The type involved, when one could be read (the out-of-order type), else 0.
        type_num: u64,
        /// Where the failing record starts.
        offset: u16,
        /// What was wrong.
        reason: DecodeReason,
    },
    /// A known record whose value does not decode (wrong size, non-minimal integer).
    #[error("tlv type {type_num} at offset {offset}: {reason}")]
    Record {
        /// The record's type.
        type_num: u64,
        /// Where the record starts.
        offset: u16,
        /// What was wrong with its value.
        reason: DecodeReason,
    },
    /// An even type this node does not understand ("it's not ok to be even").
    #[error("unknown even tlv type {type_num} at offset {offset}")]
    UnknownEven {
        /// The record's type.
        type_num: u64,
        /// Where the record starts.
        offset: u16,
    },
    /// A route blinding record (`encrypted_recipient_data`, `current_path_key`,
    /// `total_amount_msat`): Petrel does not support blinded paths.
    #[error("tlv type {type_num} at offset {offset}: blinded paths are not supported")]
    Blinded {
        /// The record's type.
        type_num: u64,
        /// Where the record starts.
        offset: u16,
    },
    /// `amt_to_forward` or `outgoing_cltv_value` is absent.
    #[error("required tlv type {type_num} is missing")]
    Missing {
        /// The missing record's type.
        type_num: u64,
    },
}

impl PayloadError {
    /// The TLV type to report in `invalid_onion_payload` (0 when no type is at fault).
    pub fn tlv_type(&self) -> u64 {
        match self {
            PayloadError::LengthNotCanonical
            | PayloadError::LengthReserved(_)
            | PayloadError::LengthTooLong(_) => 0,
            PayloadError::Stream { type_num, .. }
            | PayloadError::Record { type_num, .. }
            | PayloadError::UnknownEven { type_num, .. }
            | PayloadError::Blinded { type_num, .. }
            | PayloadError::Missing { type_num } => *type_num,
        }
    }

    /// The byte offset to report in `invalid_onion_payload` (0 when nothing is at fault in
    /// particular, e.g. a missing record).
    pub fn offset(&self) -> u16 {
        match self {
            PayloadError::Stream { offset, .. }
            | PayloadError::Record { offset, .. }
            | PayloadError::UnknownEven { offset, .. }
            | PayloadError::Blinded { offset, .. } => *offset,
            _ => 0,
        }
    }

    /// The failure to return for this payload: `invalid_onion_payload` with type and offset.
    pub fn failure(&self) -> FailureMessage {
        FailureMessage::invalid_onion_payload(self.tlv_type(), self.offset())
    }

    /// The same error with its offset moved `by` bytes further (from the TLV stream to the
    /// decrypted `hop_payloads`, past the length prefix).
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        if let PayloadError::Stream { offset, .. }
        | PayloadError::Record { offset, .. }
        | PayloadError::UnknownEven { offset, .. }
        | PayloadError::Blinded { offset, .. } = &mut self
        {
            *offset = clamp_offset(usize::from(*offset) + by);
        }
        self
    }
}

/// An offset as the failure's `u16` field, saturating for streams longer than any onion.
fn clamp_offset(offset: usize) -> u16 {
    u16::try_from(offset).unwrap_or(u16::MAX)
}

impl HopPayload {
    /// Encodes the TLV stream, without the BigSize length prefix the packet puts before it
    /// (see [`super::encode_payload_with_length`]).
    pub fn encode(&self) -> Vec<u8> {
        let mut records: Vec<(u64, Vec<u8>)> = Vec::with_capacity(6 + self.unknown_odd.len());
        let mut amt = Vec::new();
        write_truncated(&mut amt, self.amt_to_forward.0);
        records.push((TLV_AMT_TO_FORWARD, amt));
        let mut cltv = Vec::new();
        write_truncated(&mut cltv, u64::from(self.outgoing_cltv_value));
        records.push((TLV_OUTGOING_CLTV_VALUE, cltv));
        if let Some(scid) = self.short_channel_id {
            records.push((TLV_SHORT_CHANNEL_ID, scid.0.to_be_bytes().to_vec()));
        }
        if let Some(data) = &self.payment_data {
            let mut value = Vec::with_capacity(32 + truncated_len(data.total_msat.0));
            value.extend_from_slice(&data.payment_secret);
            write_truncated(&mut value, data.total_msat.0);
            records.push((TLV_PAYMENT_DATA, value));
        }
        if let Some(metadata) = &self.payment_metadata {
            records.push((TLV_PAYMENT_METADATA, metadata.clone()));
        }
        if let Some(preimage) = &self.keysend_preimage {
            records.push((TLV_KEYSEND_PREIMAGE, preimage.0.to_vec()));
        }
        records.extend(self.unknown_odd.iter().cloned());
        // Stable: records of one type keep their order (only a hand-built payload has any).
        records.sort_by_key(|(type_num, _)| *type_num);
        let len = records
            .iter()
            .map(|(t, v)| bigsize_len(*t) + bigsize_len(v.len() as u64) + v.len())
            .sum();
        let mut out = Vec::with_capacity(len);
        for (type_num, value) in records {
            write_bigsize(&mut out, type_num);
            write_bigsize(&mut out, value.len() as u64);
            out.extend_from_slice(&value);
        }
        out
    }

    /// Decodes a payload TLV stream (without its length prefix) as a BOLT 4 reader outside a
    /// blinded route must: TLV rules (canonical BigSize, increasing types, lengths within the
    /// stream), minimal truncated integers, exact record sizes, no unknown even type, no route
    /// blinding record, and both `amt_to_forward` and `outgoing_cltv_value` present. Whether
    /// `short_channel_id` / `payment_data` suit the hop's position is the caller's check: only
    /// it knows whether there is a next hop.
    pub fn decode(tlv_stream: &[u8]) -> Result<HopPayload, PayloadError> {
        let mut reader = TlvReader::new(tlv_stream);
        let mut amt = None;
        let mut cltv = None;
        let mut payload = HopPayload {
            amt_to_forward: Msat(0),
            outgoing_cltv_value: 0,
            short_channel_id: None,
            payment_data: None,
            payment_metadata: None,
            keysend_preimage: None,
            unknown_odd: Vec::new(),
        };
        // Where the next record starts: the reader only accepts canonical BigSizes, so each
        // record's size follows from its type and value.
        let mut start = 0usize;
        loop {
            let record = match reader.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(reason) => {
                    let type_num = match reason {
                        DecodeReason::TlvNotIncreasing { found, .. } => found,
                        _ => 0,
                    };
                    return Err(PayloadError::Stream {
                        type_num,
                        offset: clamp_offset(start),
                        reason,
                    });
                }
            };
            let type_num = record.type_num;
            let value = record.value;
            let offset = clamp_offset(start);
            start += bigsize_len(type_num) + bigsize_len(value.len() as u64) + value.len();
            let bad = |reason| PayloadError::Record {
                type_num,
                offset,
                reason,
            };
            match type_num {
                TLV_AMT_TO_FORWARD => amt = Some(read_truncated(value, 8).map_err(bad)?),
                TLV_OUTGOING_CLTV_VALUE => {
                    let v = read_truncated(value, 4).map_err(bad)?;
                    // At most 4 bytes were read, so the value fits.
                    cltv = Some(u32::try_from(v).unwrap_or(u32::MAX));
                }
                TLV_SHORT_CHANNEL_ID => {
                    let bytes = exact::<8>(value).map_err(bad)?;
                    payload.short_channel_id = Some(ShortChannelId(u64::from_be_bytes(bytes)));
                }
                TLV_PAYMENT_DATA => {
                    let Some((secret, total)) = value.split_first_chunk::<32>() else {
                        return Err(bad(short(32, value.len())));
                    };
                    let total = read_truncated(total, 8).map_err(bad)?;
                    payload.payment_data = Some(PaymentData {
                        payment_secret: *secret,
                        total_msat: Msat(total),
                    });
                }
                TLV_PAYMENT_METADATA => payload.payment_metadata = Some(value.to_vec()),
                TLV_KEYSEND_PREIMAGE => {
                    let bytes = exact::<32>(value).map_err(bad)?;
                    payload.keysend_preimage = Some(PaymentPreimage(bytes));
                }
                TLV_ENCRYPTED_RECIPIENT_DATA | TLV_CURRENT_PATH_KEY | TLV_TOTAL_AMOUNT_MSAT => {
                    return Err(PayloadError::Blinded { type_num, offset });
                }
                t if t % 2 == 0 => return Err(PayloadError::UnknownEven { type_num, offset }),
                _ => payload.unknown_odd.push((type_num, value.to_vec())),
            }
        }
        payload.amt_to_forward = Msat(amt.ok_or(PayloadError::Missing {
            type_num: TLV_AMT_TO_FORWARD,
        })?);
        payload.outgoing_cltv_value = cltv.ok_or(PayloadError::Missing {
            type_num: TLV_OUTGOING_CLTV_VALUE,
        })?;
        Ok(payload)
    }
}

/// A fixed-size record value, or why it is not one.
fn exact<const N: usize>(value: &[u8]) -> Result<[u8; N], DecodeReason> {
    match <[u8; N]>::try_from(value) {
        Ok(bytes) => Ok(bytes),
        Err(_) if value.len() < N => Err(short(N, value.len())),
        Err(_) => Err(DecodeReason::TlvRecordTooLong {
            extra: value.len() - N,
        }),
    }
}

/// A record value shorter than its fields.
fn short(needed: usize, available: usize) -> DecodeReason {
    DecodeReason::ShortRead {
        needed: needed - available,
        available,
    }
}
