//! BOLT 1 integer encodings: BigSize, truncated unsigned integers and signed integers.
//!
//! BigSize (Appendix A) must be minimally encoded, as must truncated integers (`tu16`,
//! `tu32`, `tu64`: "leading zeros MUST be omitted"). Signed integers (Appendix D) are plain
//! big-endian two's complement, handled by [`super::field::Field`] for `i8`..`i64`.

use bytes::BufMut;

use super::error::DecodeReason;
use super::reader::Reader;

/// A BigSize-encoded unsigned integer (BOLT 1 Appendix A), as a field type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BigSize(pub u64);

/// Reads a BigSize, rejecting encodings that are not the shortest possible.
pub fn read_bigsize(r: &mut Reader<'_>) -> Result<u64, DecodeReason> {
    let first = r.u8()?;
    let (value, min) = match first {
        0xfd => (u64::from(r.u16()?), 0xfd),
        0xfe => (u64::from(r.u32()?), 0x1_0000),
        0xff => (r.u64()?, 0x1_0000_0000),
        small => return Ok(u64::from(small)),
    };
    if value < min {
        return Err(DecodeReason::NonCanonicalBigSize);
    }
    Ok(value)
}

/// The length of `value`'s BigSize encoding: 1, 3, 5 or 9 bytes.
pub fn bigsize_len(value: u64) -> usize {
    match value {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Writes `value` as a minimal BigSize.
#[allow(clippy::cast_possible_truncation)] // each arm's range fits the cast
pub fn write_bigsize<B: BufMut>(out: &mut B, value: u64) {
    match value {
        0..=0xfc => out.put_u8(value as u8),
        0xfd..=0xffff => {
            out.put_u8(0xfd);
            out.put_u16(value as u16);
        }
        0x1_0000..=0xffff_ffff => {
            out.put_u8(0xfe);
            out.put_u32(value as u32);
        }
        _ => {
            out.put_u8(0xff);
            out.put_u64(value);
        }
    }
}

/// Decodes a truncated integer that occupies all of `bytes` (it is always the last field of a
/// TLV record), at most `max_len` bytes, with no leading zero byte.
pub fn read_truncated(bytes: &[u8], max_len: usize) -> Result<u64, DecodeReason> {
    if bytes.len() > max_len {
        return Err(DecodeReason::TlvRecordTooLong {
            extra: bytes.len() - max_len,
        });
    }
    if bytes.first() == Some(&0) {
        return Err(DecodeReason::NonMinimalTruncatedInt);
    }
    Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The number of bytes `value` takes as a truncated integer (0 for zero).
pub fn truncated_len(value: u64) -> usize {
    8 - (value.leading_zeros() / 8) as usize
}

/// Writes `value` with its leading zero bytes omitted.
pub fn write_truncated<B: BufMut>(out: &mut B, value: u64) {
    let bytes = value.to_be_bytes();
    out.put_slice(&bytes[8 - truncated_len(value)..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hex::FromHex;
    use serde_json::Value;

    const APPENDIX_A: &str = include_str!("../../wire-spec/vectors/bolt01-appendix-a-bigsize.json");
    const APPENDIX_D: &str = include_str!("../../wire-spec/vectors/bolt01-appendix-d-signed.json");

    fn vectors(section: &str) -> Vec<Value> {
        let all: Value = serde_json::from_str(APPENDIX_A).unwrap();
        all[section].as_array().unwrap().clone()
    }

    /// BOLT 1 Appendix A, "BigSize Decoding Tests": every case, by name.
    #[test]
    fn bolt1_appendix_a_bigsize_decoding() {
        let cases = vectors("decoding");
        assert_eq!(cases.len(), 18);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let bytes = Vec::<u8>::from_hex(case["bytes"].as_str().unwrap()).unwrap();
            let mut r = Reader::new(&bytes);
            let got = read_bigsize(&mut r);
            match case.get("exp_error").and_then(Value::as_str) {
                None => {
                    assert_eq!(got, Ok(case["value"].as_u64().unwrap()), "{name}");
                    assert!(r.is_empty(), "{name}: trailing bytes");
                }
                Some("decoded bigsize is not canonical") => {
                    assert_eq!(got, Err(DecodeReason::NonCanonicalBigSize), "{name}");
                }
                Some("unexpected EOF" | "EOF") => {
                    assert!(
                        matches!(got, Err(DecodeReason::ShortRead { .. })),
                        "{name}: {got:?}"
                    );
                }
                Some(other) => panic!("{name}: unexpected vector error {other}"),
            }
        }
    }

    /// BOLT 1 Appendix A, "BigSize Encoding Tests".
    #[test]
    fn bolt1_appendix_a_bigsize_encoding() {
        let cases = vectors("encoding");
        assert_eq!(cases.len(), 8);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let value = case["value"].as_u64().unwrap();
            let bytes = Vec::<u8>::from_hex(case["bytes"].as_str().unwrap()).unwrap();
            let mut out = Vec::new();
            write_bigsize(&mut out, value);
            assert_eq!(out, bytes, "{name}");
            assert_eq!(bigsize_len(value), bytes.len(), "{name}");
        }
    }

    /// BOLT 1 Appendix D: each value in the narrowest signed type its encoding's width gives.
    #[test]
    fn bolt1_appendix_d_signed_integers() {
        use crate::wire::field::Field;
        fn check<T: Field + PartialEq + core::fmt::Debug + TryFrom<i64>>(value: i64, bytes: &[u8]) {
            let Ok(v) = T::try_from(value) else {
                panic!("{value} does not fit");
            };
            let mut out = Vec::new();
            v.write(&mut out);
            assert_eq!(out, bytes, "encoding {value}");
            let mut r = Reader::new(bytes);
            assert_eq!(T::read(&mut r).unwrap(), v, "decoding {value}");
        }
        let cases: Value = serde_json::from_str(APPENDIX_D).unwrap();
        let cases = cases.as_array().unwrap();
        assert_eq!(cases.len(), 23);
        for case in cases {
            let value = case["value"].as_i64().unwrap();
            let bytes = Vec::<u8>::from_hex(case["bytes"].as_str().unwrap()).unwrap();
            match bytes.len() {
                1 => check::<i8>(value, &bytes),
                2 => check::<i16>(value, &bytes),
                4 => check::<i32>(value, &bytes),
                8 => check::<i64>(value, &bytes),
                n => panic!("unexpected width {n}"),
            }
        }
    }

    #[test]
    fn truncated_integers_are_minimal() {
        for value in [0u64, 1, 0xff, 0x100, 0xffff_ffff, u64::MAX] {
            let mut out = Vec::new();
            write_truncated(&mut out, value);
            assert_eq!(out.len(), truncated_len(value));
            assert_eq!(read_truncated(&out, 8), Ok(value));
        }
        assert_eq!(
            read_truncated(&[0, 1], 8),
            Err(DecodeReason::NonMinimalTruncatedInt)
        );
        assert_eq!(
            read_truncated(&[1, 2, 3], 2),
            Err(DecodeReason::TlvRecordTooLong { extra: 1 })
        );
    }
}
