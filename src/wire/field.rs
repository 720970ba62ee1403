//! The `Field` trait: how one fundamental type is read, written, sized, shown and sampled.
//!
//! The generated message code (see [`super::message`]) is a sequence of calls to these
//! implementations, one per CSV field. Byte strings are special-cased by the generator (they
//! are copied as slices, not byte by byte), so the generic array impls here serve arrays of
//! other element types (`20*u32`, `210*truncated_sha256`, `num_htlcs*signature`).

use bitcoin::constants::ChainHash;
use bitcoin::hashes::Hash;
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::{ecdsa::Signature, PublicKey};
use bitcoin::{Amount, SignedAmount, Txid};
use bytes::BufMut;
use serde_json::Value;

use super::error::DecodeReason;
use super::integers::{bigsize_len, read_bigsize, write_bigsize, BigSize};
use super::reader::Reader;
use super::sample::Sampler;
use super::types::{ChannelId, Sha256, ShortChannelId};
use crate::units::{FeeratePerKw, Msat};

/// A value with a fixed wire layout.
pub(crate) trait Field: Sized {
    /// The fewest bytes an encoding can take; bounds allocations for counted arrays.
    const MIN_LEN: usize;
    /// Reads one value.
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason>;
    /// Writes one value.
    fn write<B: BufMut>(&self, out: &mut B);
    /// The exact length [`Field::write`] produces.
    fn encoded_len(&self) -> usize;
    /// The value as `petrel decode-msg` shows it.
    fn to_json(&self) -> Value;
    /// A pseudo-random valid value.
    fn sample(s: &mut Sampler) -> Self;
}

macro_rules! int_field {
    ($t:ty, $n:expr) => {
        impl Field for $t {
            const MIN_LEN: usize = $n;
            fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
                Ok(<$t>::from_be_bytes(r.array::<$n>()?))
            }
            fn write<B: BufMut>(&self, out: &mut B) {
                out.put_slice(&self.to_be_bytes());
            }
            fn encoded_len(&self) -> usize {
                $n
            }
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
            fn sample(s: &mut Sampler) -> Self {
                // Favour edge values: they are where codecs break.
                #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
                match s.below(8) {
                    0 => 0 as $t,
                    1 => <$t>::MAX,
                    2 => <$t>::MIN,
                    _ => s.u64() as $t,
                }
            }
        }
    };
}

int_field!(u8, 1);
int_field!(u16, 2);
int_field!(u32, 4);
int_field!(u64, 8);
int_field!(i8, 1);
int_field!(i16, 2);
int_field!(i32, 4);
int_field!(i64, 8);

/// Fixed-width newtypes over an integer field.
macro_rules! newtype_field {
    ($t:ty, $inner:ty, $n:expr, $wrap:expr, $unwrap:expr) => {
        impl Field for $t {
            const MIN_LEN: usize = $n;
            fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
                Ok($wrap(<$inner as Field>::read(r)?))
            }
            fn write<B: BufMut>(&self, out: &mut B) {
                <$inner as Field>::write(&$unwrap(self), out);
            }
            fn encoded_len(&self) -> usize {
                $n
            }
            fn to_json(&self) -> Value {
                <$inner as Field>::to_json(&$unwrap(self))
            }
            fn sample(s: &mut Sampler) -> Self {
                $wrap(<$inner as Field>::sample(s))
            }
        }
    };
}

newtype_field!(Msat, u64, 8, Msat, |v: &Msat| v.0);
newtype_field!(Amount, u64, 8, Amount::from_sat, |v: &Amount| v.to_sat());
newtype_field!(
    SignedAmount,
    i64,
    8,
    SignedAmount::from_sat,
    |v: &SignedAmount| v.to_sat()
);
newtype_field!(FeeratePerKw, u32, 4, FeeratePerKw, |v: &FeeratePerKw| v.0);
newtype_field!(
    ShortChannelId,
    u64,
    8,
    ShortChannelId,
    |v: &ShortChannelId| v.0
);

/// 32-byte values shown as hex in wire order.
macro_rules! bytes32_field {
    ($t:ty, $wrap:expr, $unwrap:expr) => {
        impl Field for $t {
            const MIN_LEN: usize = 32;
            fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
                Ok($wrap(r.array::<32>()?))
            }
            fn write<B: BufMut>(&self, out: &mut B) {
                out.put_slice(&$unwrap(self));
            }
            fn encoded_len(&self) -> usize {
                32
            }
            fn to_json(&self) -> Value {
                Value::from($unwrap(self).to_lower_hex_string())
            }
            fn sample(s: &mut Sampler) -> Self {
                $wrap(s.array::<32>())
            }
        }
    };
}

bytes32_field!(ChannelId, ChannelId, |v: &ChannelId| v.0);
bytes32_field!(Sha256, Sha256, |v: &Sha256| v.0);
bytes32_field!(ChainHash, ChainHash::from, |v: &ChainHash| v.to_bytes());

impl Field for Txid {
    const MIN_LEN: usize = 32;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        Ok(Txid::from_byte_array(r.array::<32>()?))
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        out.put_slice(self.as_byte_array());
    }
    fn encoded_len(&self) -> usize {
        32
    }
    /// Shown the way block explorers and `bitcoin-cli` show txids (reversed byte order), so a
    /// user can paste it into `getrawtransaction`.
    fn to_json(&self) -> Value {
        Value::from(self.to_string())
    }
    fn sample(s: &mut Sampler) -> Self {
        Txid::from_byte_array(s.array::<32>())
    }
}

impl Field for PublicKey {
    const MIN_LEN: usize = 33;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        let bytes = r.array::<33>()?;
        PublicKey::from_slice(&bytes).map_err(|_| DecodeReason::InvalidPoint)
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        out.put_slice(&self.serialize());
    }
    fn encoded_len(&self) -> usize {
        33
    }
    fn to_json(&self) -> Value {
        Value::from(self.serialize().to_lower_hex_string())
    }
    fn sample(s: &mut Sampler) -> Self {
        s.point()
    }
}

impl Field for Signature {
    const MIN_LEN: usize = 64;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        let bytes = r.array::<64>()?;
        Signature::from_compact(&bytes).map_err(|_| DecodeReason::InvalidSignature)
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        out.put_slice(&self.serialize_compact());
    }
    fn encoded_len(&self) -> usize {
        64
    }
    fn to_json(&self) -> Value {
        Value::from(self.serialize_compact().to_lower_hex_string())
    }
    fn sample(s: &mut Sampler) -> Self {
        loop {
            if let Ok(sig) = Signature::from_compact(&s.signature_bytes()) {
                return sig;
            }
        }
    }
}

impl Field for BigSize {
    const MIN_LEN: usize = 1;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        read_bigsize(r).map(BigSize)
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        write_bigsize(out, self.0);
    }
    fn encoded_len(&self) -> usize {
        bigsize_len(self.0)
    }
    fn to_json(&self) -> Value {
        Value::from(self.0)
    }
    fn sample(s: &mut Sampler) -> Self {
        BigSize(<u64 as Field>::sample(s) >> s.below(64))
    }
}

/// Four bytes of a SHA-256 digest (`sha256[..4]`), the truncated HMACs of BOLT 4 attribution
/// data carried by `update_fulfill_htlc` and `update_fail_htlc`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TruncatedSha256(pub [u8; 4]);

impl Field for TruncatedSha256 {
    const MIN_LEN: usize = 4;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        Ok(TruncatedSha256(r.array::<4>()?))
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        out.put_slice(&self.0);
    }
    fn encoded_len(&self) -> usize {
        4
    }
    fn to_json(&self) -> Value {
        Value::from(self.0.to_lower_hex_string())
    }
    fn sample(s: &mut Sampler) -> Self {
        TruncatedSha256(s.array::<4>())
    }
}

impl<T: Field + Copy + Default, const N: usize> Field for [T; N] {
    const MIN_LEN: usize = T::MIN_LEN * N;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        let mut out = [T::default(); N];
        for slot in &mut out {
            *slot = T::read(r)?;
        }
        Ok(out)
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        for v in self {
            v.write(out);
        }
    }
    fn encoded_len(&self) -> usize {
        self.iter().map(Field::encoded_len).sum()
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(Field::to_json).collect())
    }
    fn sample(s: &mut Sampler) -> Self {
        let mut out = [T::default(); N];
        for slot in &mut out {
            *slot = T::sample(s);
        }
        out
    }
}

impl<T: Field> Field for Box<T> {
    const MIN_LEN: usize = T::MIN_LEN;
    fn read(r: &mut Reader<'_>) -> Result<Self, DecodeReason> {
        T::read(r).map(Box::new)
    }
    fn write<B: BufMut>(&self, out: &mut B) {
        T::write(self, out);
    }
    fn encoded_len(&self) -> usize {
        T::encoded_len(self)
    }
    fn to_json(&self) -> Value {
        T::to_json(self)
    }
    fn sample(s: &mut Sampler) -> Self {
        Box::new(T::sample(s))
    }
}

/// Reads `count` elements after checking that they can fit in what is left, so a forged
/// count cannot make us allocate.
pub(crate) fn read_vec<T: Field>(r: &mut Reader<'_>, count: usize) -> Result<Vec<T>, DecodeReason> {
    r.ensure_fits(count, T::MIN_LEN.max(1))?;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        out.push(T::read(r)?);
    }
    Ok(out)
}

/// Reads elements until the input is exhausted (`...*type`).
pub(crate) fn read_rest<T: Field>(r: &mut Reader<'_>) -> Result<Vec<T>, DecodeReason> {
    let mut out = Vec::with_capacity(r.remaining() / T::MIN_LEN.max(1));
    while !r.is_empty() {
        out.push(T::read(r)?);
    }
    Ok(out)
}

/// Writes every element of a variable-length array (its length prefix, if any, is written by
/// the caller).
pub(crate) fn write_all<T: Field, B: BufMut>(items: &[T], out: &mut B) {
    for item in items {
        item.write(out);
    }
}

/// The encoded length of a variable-length array.
pub(crate) fn len_all<T: Field>(items: &[T]) -> usize {
    items.iter().map(Field::encoded_len).sum()
}

/// JSON for a variable-length array of non-byte elements.
pub(crate) fn json_all<T: Field>(items: &[T]) -> Value {
    Value::Array(items.iter().map(Field::to_json).collect())
}

/// `n` sampled elements.
pub(crate) fn sample_vec<T: Field>(s: &mut Sampler, n: usize) -> Vec<T> {
    (0..n).map(|_| T::sample(s)).collect()
}

/// JSON for a byte string: lower-case hex.
pub(crate) fn json_bytes(bytes: &[u8]) -> Value {
    Value::from(bytes.to_lower_hex_string())
}
