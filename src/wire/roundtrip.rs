//! The round-trip properties every decoder must satisfy, shared by the fuzz targets and by
//! `cargo test` (which replays the fuzz corpora through these same functions).
//!
//! Decoding is strict (canonical BigSize, minimal truncated integers, compressed points,
//! compact signatures, ordered TLVs, unknown odd records kept), so the property is the
//! strongest one available: whatever decodes re-encodes to *exactly* the input bytes, and
//! those decode to an equal value. A violation panics, which is what a fuzzer looks for.

use core::fmt::Debug;

use super::message::{Message, WireMessage};

/// Checks one message type's payload decoder on arbitrary bytes.
///
/// # Panics
/// If the decoder accepts `data` but the value does not re-encode to `data`.
pub fn check_payload<T: WireMessage + PartialEq + Debug>(data: &[u8]) {
    let Ok(decoded) = T::decode_payload(data) else {
        return;
    };
    let mut out = Vec::with_capacity(data.len());
    if let Err(e) = decoded.encode_payload(&mut out) {
        panic!("{}: decoded value does not re-encode: {e}", T::NAME);
    }
    assert_eq!(out, data, "{}: re-encoding differs from the input", T::NAME);
    match T::decode_payload(&out) {
        Ok(again) => assert_eq!(again, decoded, "{}: decode is not stable", T::NAME),
        Err(e) => panic!("{}: re-encoded bytes do not decode: {e}", T::NAME),
    }
}

/// Checks [`Message::decode`] on arbitrary bytes (type + payload).
///
/// # Panics
/// If a decoded message does not re-encode to `data`.
pub fn check_message(data: &[u8]) {
    let Ok(decoded) = Message::decode(data) else {
        return;
    };
    let mut out = Vec::with_capacity(data.len());
    if let Err(e) = decoded.encode(&mut out) {
        panic!(
            "{}: decoded message does not re-encode: {e}",
            decoded.name()
        );
    }
    assert_eq!(out, data, "{}: re-encoding differs", decoded.name());
    // The JSON view must never panic either.
    let _ = decoded.to_json();
}

/// Checks every TLV stream definition on arbitrary bytes; returns how many accepted them.
///
/// # Panics
/// If a stream accepts `data` but does not re-encode it exactly.
pub fn check_tlv_stream(data: &[u8]) -> usize {
    match super::message::stream_roundtrips(data) {
        Ok(accepted) => accepted,
        Err(e) => panic!("{e}"),
    }
}
