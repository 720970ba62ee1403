//! TLV streams (BOLT 1 "Type-Length-Value Format") and message extensions.
//!
//! [`TlvReader`] enforces the stream rules every generated stream shares: canonical BigSize
//! types and lengths, strictly increasing types, lengths within the input. What a known type
//! means, and rejecting unknown even types, is the generated stream's job; unknown odd records
//! are kept as [`UnknownRecord`]s so a message re-encodes to exactly the bytes it came from
//! (BOLT 1 Appendix C: "Nodes should store the extension bytes even if they don't understand
//! them").

use bytes::BufMut;
use serde_json::{Map, Value};

use super::error::{DecodeError, DecodeReason, EncodeError};
use super::integers::{bigsize_len, read_bigsize, write_bigsize};
use super::reader::Reader;
use super::sample::Sampler;

/// One record as it sits in the stream: its type and its value bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawRecord<'a> {
    /// The record type.
    pub type_num: u64,
    /// The value bytes (exactly `length` of them).
    pub value: &'a [u8],
}

/// Walks the records of a stream, checking the rules common to every stream.
pub struct TlvReader<'a> {
    r: Reader<'a>,
    previous: Option<u64>,
}

impl<'a> TlvReader<'a> {
    /// A reader over a whole stream (a stream always runs to the end of its container).
    pub fn new(stream: &'a [u8]) -> Self {
        TlvReader {
            r: Reader::new(stream),
            previous: None,
        }
    }

    /// The next record, `None` at the end of the stream ("if zero bytes remain before parsing
    /// a type: MUST stop parsing").
    pub fn next_record(&mut self) -> Result<Option<RawRecord<'a>>, DecodeReason> {
        if self.r.is_empty() {
            return Ok(None);
        }
        let type_num = read_bigsize(&mut self.r)?;
        if let Some(previous) = self.previous {
            if type_num <= previous {
                return Err(DecodeReason::TlvNotIncreasing {
                    previous,
                    found: type_num,
                });
            }
        }
        self.previous = Some(type_num);
        let length = read_bigsize(&mut self.r)?;
        let available = self.r.remaining();
        let value = usize::try_from(length)
            .ok()
            .filter(|len| *len <= available)
            .ok_or(DecodeReason::TlvLengthExceedsInput { length, available })?;
        let value = self.r.take(value)?;
        Ok(Some(RawRecord { type_num, value }))
    }
}

/// An odd-typed record no stream definition knows, kept for re-encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownRecord {
    /// The record type (always odd).
    pub type_num: u64,
    /// The value bytes.
    pub value: Vec<u8>,
}

impl UnknownRecord {
    /// Encoded size: type, length and value.
    pub fn encoded_len(&self) -> usize {
        bigsize_len(self.type_num) + bigsize_len(self.value.len() as u64) + self.value.len()
    }

    /// Writes the record.
    pub fn write<B: BufMut>(&self, out: &mut B) {
        write_bigsize(out, self.type_num);
        write_bigsize(out, self.value.len() as u64);
        out.put_slice(&self.value);
    }
}

/// Checks that unknown records could have come off the wire: odd, strictly increasing, and
/// none of the stream's known types.
pub(crate) fn check_unknown(
    message: &'static str,
    unknown: &[UnknownRecord],
    known: &[u64],
) -> Result<(), EncodeError> {
    let mut previous = None;
    for record in unknown {
        let t = record.type_num;
        if t % 2 == 0 || previous.is_some_and(|p| t <= p) || known.contains(&t) {
            return Err(EncodeError::InvalidUnknownTlv {
                message,
                type_num: t,
            });
        }
        previous = Some(t);
    }
    Ok(())
}

/// Writes the unknown records whose type is below `bound` (all of them for `u64::MAX`),
/// advancing `next` past them, so they interleave with known records in type order.
pub(crate) fn write_unknown_below<B: BufMut>(
    unknown: &[UnknownRecord],
    next: &mut usize,
    bound: Option<u64>,
    out: &mut B,
) {
    while let Some(record) = unknown.get(*next) {
        if bound.is_some_and(|b| record.type_num >= b) {
            break;
        }
        record.write(out);
        *next += 1;
    }
}

/// Writes a known record's type and length header.
pub(crate) fn write_header<B: BufMut>(out: &mut B, type_num: u64, len: usize) {
    write_bigsize(out, type_num);
    write_bigsize(out, len as u64);
}

/// JSON for unknown records: `{"<type>": "<hex>"}`.
pub(crate) fn unknown_json(unknown: &[UnknownRecord]) -> Value {
    let mut map = Map::new();
    for record in unknown {
        map.insert(
            record.type_num.to_string(),
            super::field::json_bytes(&record.value),
        );
    }
    Value::Object(map)
}

/// Up to two unknown odd records with types from 1001 upwards (above every type the BOLTs
/// define today), for samples.
pub(crate) fn sample_unknown(s: &mut Sampler, known: &[u64]) -> Vec<UnknownRecord> {
    if !s.unknown_tlvs {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut next = 1001 + 2 * s.below(500);
    for _ in 0..s.below(3) {
        if !known.contains(&next) {
            let len = usize::try_from(s.below(20)).unwrap_or(0);
            out.push(UnknownRecord {
                type_num: next,
                value: s.bytes(len),
            });
        }
        next += 2 * (1 + s.below(1000));
    }
    out
}

/// The extension stream of a message whose BOLT defines no TLV records: only unknown odd
/// records are allowed (BOLT 1 "Lightning Message Format", `extension`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extension {
    /// Odd records we do not understand, kept for re-encoding.
    pub unknown: Vec<UnknownRecord>,
}

impl Extension {
    pub(crate) fn read_stream(
        r: &mut Reader<'_>,
        message: &'static str,
    ) -> Result<Self, DecodeError> {
        let mut stream = TlvReader::new(r.rest());
        let mut unknown = Vec::new();
        let err = |reason| DecodeError::new(message, "tlvs", reason);
        while let Some(record) = stream.next_record().map_err(err)? {
            if record.type_num % 2 == 0 {
                return Err(err(DecodeReason::UnknownEvenTlv(record.type_num)));
            }
            unknown.push(UnknownRecord {
                type_num: record.type_num,
                value: record.value.to_vec(),
            });
        }
        Ok(Extension { unknown })
    }

    pub(crate) fn write_stream<B: BufMut>(
        &self,
        out: &mut B,
        message: &'static str,
    ) -> Result<(), EncodeError> {
        check_unknown(message, &self.unknown, &[])?;
        let mut next = 0;
        write_unknown_below(&self.unknown, &mut next, None, out);
        Ok(())
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut map = Map::new();
        if !self.unknown.is_empty() {
            map.insert("unknown".into(), unknown_json(&self.unknown));
        }
        Value::Object(map)
    }

    pub(crate) fn sample(s: &mut Sampler) -> Self {
        Extension {
            unknown: sample_unknown(s, &[]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::message::{N1, N2};
    use bitcoin::hex::FromHex;

    const APPENDIX_B: &str = include_str!("../../wire-spec/vectors/bolt01-appendix-b-tlv.txt");

    struct Vector {
        valid: bool,
        namespaces: Vec<&'static str>,
        bytes: Vec<u8>,
        text: &'static str,
    }

    fn vectors() -> Vec<Vector> {
        APPENDIX_B
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let cols: Vec<&str> = l.split('|').collect();
                Vector {
                    valid: cols[0] == "valid",
                    namespaces: cols[1].split('+').collect(),
                    bytes: Vec::from_hex(cols[2]).unwrap(),
                    text: cols[3],
                }
            })
            .collect()
    }

    fn decode(ns: &str, bytes: &[u8]) -> Result<Vec<u8>, DecodeError> {
        // Decode, then re-encode: valid streams must come back byte for byte.
        let mut out = Vec::new();
        match ns {
            "n1" => N1::read_stream(&mut Reader::new(bytes), "test")?
                .write_stream(&mut out, "test")
                .unwrap(),
            "n2" => N2::read_stream(&mut Reader::new(bytes), "test")?
                .write_stream(&mut out, "test")
                .unwrap(),
            other => panic!("unknown namespace {other}"),
        }
        Ok(out)
    }

    /// The reason a vector gives, mapped to the error we must report for it.
    fn expected_reason(text: &str, got: &DecodeReason) -> bool {
        let t = text.to_ascii_lowercase();
        match got {
            DecodeReason::ShortRead { .. } => {
                t.contains("truncated") || t.contains("missing length") || t.contains("less than")
            }
            DecodeReason::TlvLengthExceedsInput { .. } => {
                t.contains("missing value") || t.contains("value truncated")
            }
            DecodeReason::NonCanonicalBigSize => t.contains("not minimally encoded"),
            DecodeReason::UnknownEvenTlv(_) => t.contains("unknown even"),
            DecodeReason::TlvRecordTooLong { .. } => t.contains("greater than encoding length"),
            DecodeReason::NonMinimalTruncatedInt => t.contains("is not minimal"),
            DecodeReason::InvalidPoint => t.contains("not a valid point"),
            DecodeReason::TlvNotIncreasing { .. } => {
                t.contains("invalid ordering") || t.contains("duplicate")
            }
            _ => false,
        }
    }

    /// BOLT 1 Appendix B, "TLV Decoding Failures" and "TLV Stream Decoding Failure": every
    /// invalid stream fails in every namespace it names, for the reason the spec gives.
    #[test]
    fn bolt1_appendix_b_decoding_failures() {
        let mut checked = 0;
        for v in vectors().into_iter().filter(|v| !v.valid) {
            for ns in &v.namespaces {
                let err = decode(ns, &v.bytes).expect_err(v.text);
                assert!(
                    expected_reason(v.text, &err.reason),
                    "{ns} {:x?}: spec says `{}`, we said `{err}`",
                    v.bytes,
                    v.text
                );
                // Errors about a record name it (`n1`s `tlv3`...).
                if let Some(record) = ["tlv1", "tlv2", "tlv3", "tlv4"]
                    .iter()
                    .find(|r| v.text.contains(&format!("`{r}`")))
                {
                    assert!(err.field.contains(record), "{err} should name {record}");
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 13 * 2 + 20 + 4 + 1);
    }

    /// BOLT 1 Appendix B, "TLV Decoding Successes": each valid stream decodes (to the values
    /// the spec gives) and re-encodes to the same bytes.
    #[test]
    fn bolt1_appendix_b_decoding_successes() {
        let mut checked = 0;
        for v in vectors().into_iter().filter(|v| v.valid) {
            for ns in &v.namespaces {
                let out = decode(ns, &v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.text));
                assert_eq!(out, v.bytes, "{}: re-encoding", v.text);
                checked += 1;
            }
        }
        assert_eq!(checked, 7 * 2 + 12);
    }

    /// The values of the `n1` successes, field by field.
    #[test]
    fn bolt1_appendix_b_n1_values() {
        for v in vectors()
            .into_iter()
            .filter(|v| v.valid && v.namespaces == ["n1"])
        {
            let s = N1::read_stream(&mut Reader::new(&v.bytes), "test").unwrap();
            let shown = s.to_json().to_string();
            // The spec writes `tlv1` `amount_msat`=0 etc.; check each `name`=value pair.
            for pair in v.text.split(' ').filter(|p| p.contains('=')) {
                let (name, value) = pair.split_once('=').unwrap();
                let name = name.trim_matches('`');
                let expected = match name {
                    "scid" => {
                        let scid = s.tlv2.unwrap();
                        assert_eq!(scid.to_string(), value);
                        continue;
                    }
                    "node_id" => format!("\"{name}\":\"{value}\""),
                    _ => format!("\"{name}\":{value}"),
                };
                assert!(shown.contains(&expected), "{shown} lacks {expected}");
            }
        }
    }

    /// Appendix B, "Any appending of an invalid stream to a valid stream should trigger a
    /// decoding failure. Any appending of a higher-numbered valid stream to a lower-numbered
    /// valid stream should not."
    #[test]
    fn bolt1_appendix_b_appending() {
        let all = vectors();
        let valid_n1: Vec<&Vector> = all
            .iter()
            .filter(|v| v.valid && v.namespaces.contains(&"n1") && !v.bytes.is_empty())
            .collect();
        let first_type = |b: &[u8]| read_bigsize(&mut Reader::new(b)).unwrap();
        for a in &valid_n1 {
            for b in &valid_n1 {
                let mut joined = a.bytes.clone();
                joined.extend_from_slice(&b.bytes);
                let ok = decode("n1", &joined).is_ok();
                assert_eq!(
                    ok,
                    first_type(&b.bytes) > first_type(&a.bytes),
                    "{} ++ {}",
                    a.text,
                    b.text
                );
            }
            for bad in all
                .iter()
                .filter(|v| !v.valid && v.namespaces.contains(&"n1"))
            {
                let mut joined = a.bytes.clone();
                joined.extend_from_slice(&bad.bytes);
                assert!(decode("n1", &joined).is_err(), "{} ++ {}", a.text, bad.text);
            }
        }
    }

    #[test]
    fn unknown_records_must_be_odd_and_increasing_to_encode() {
        let rec = |t| UnknownRecord {
            type_num: t,
            value: vec![],
        };
        assert!(check_unknown("m", &[rec(3), rec(5)], &[]).is_ok());
        assert!(check_unknown("m", &[rec(4)], &[]).is_err());
        assert!(check_unknown("m", &[rec(5), rec(3)], &[]).is_err());
        assert!(check_unknown("m", &[rec(3)], &[3]).is_err());
    }
}
