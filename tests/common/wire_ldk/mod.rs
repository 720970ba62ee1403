//! Pairs of Petrel and LDK (`lightning` 0.2.7) message types, for `tests/wire_ldk.rs`.
//!
//! Each BOLT 1/2 message implements [`Pair`]: which LDK struct is the same message, how to
//! compare the two field by field (`same_<message>`), how to narrow a Petrel sample to what both
//! the BOLT and LDK accept (`restrict`), and how to build varied LDK values (`ldk_<message>`).
//! The messages are grouped by the BOLT section that defines them, one file per group.
//!
//! LDK is an oracle here only: nothing in this directory is (or may be) copied into Petrel.

pub mod close;
pub mod establish;
pub mod interactive;
pub mod setup;
pub mod splice;
pub mod update;

use core::fmt::Debug;

use lightning::ln::wire::Type;
use lightning::util::ser::{LengthReadable, Writeable};
use petrel::wire::{Sampler, WireMessage};

/// Which optional TLV records an LDK builder sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tlvs {
    /// None of them.
    None,
    /// Every one LDK can write.
    All,
    /// Each with probability one half.
    Random,
}

impl Tlvs {
    /// Whether the next optional record is present.
    pub fn pick(self, s: &mut Sampler) -> bool {
        match self {
            Tlvs::None => false,
            Tlvs::All => true,
            Tlvs::Random => s.coin(),
        }
    }

    /// `Some(value())` if the next optional record is present.
    pub fn maybe<T>(self, s: &mut Sampler, value: impl FnOnce(&mut Sampler) -> T) -> Option<T> {
        if self.pick(s) {
            Some(value(s))
        } else {
            None
        }
    }
}

/// A Petrel message type and the LDK struct for the same BOLT message.
pub trait Pair: WireMessage + PartialEq + Debug + Clone {
    /// LDK's struct for this message.
    type Ldk: LengthReadable + Writeable + Type + Debug;

    /// Compares every field; panics naming the first one that differs.
    fn same(petrel: &Self, ldk: &Self::Ldk);

    /// Narrows a Petrel sample to values the BOLT allows and LDK can represent. The default
    /// keeps the sample as it is; each override says which LDK difference it steps around.
    fn restrict(_petrel: &mut Self, _s: &mut Sampler) {}

    /// Whether LDK, having decoded `petrel`'s bytes, may legitimately write different bytes
    /// back (a documented LDK behaviour, e.g. zeroing `ping`'s `ignored`). Default: never.
    fn ldk_rewrites(_petrel: &Self) -> bool {
        false
    }

    /// A varied LDK value, built with LDK's own constructors where its fields are public.
    fn ldk_build(s: &mut Sampler, tlvs: Tlvs) -> Self::Ldk;
}

/// Panics with the message and field name unless the two values are equal.
#[track_caller]
pub fn check<T: PartialEq + Debug>(message: &str, field: &str, petrel: T, ldk: T) {
    assert!(
        petrel == ldk,
        "{message}.{field}: Petrel has {petrel:?}, LDK has {ldk:?}"
    );
}

/// Decodes a payload with LDK, requiring that it consumes every byte.
pub fn ldk_decode<T: LengthReadable>(payload: &[u8]) -> Result<T, String> {
    let mut reader = payload;
    let value = T::read_from_fixed_length_buffer(&mut reader).map_err(|e| format!("{e:?}"))?;
    if reader.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes left unread", reader.len()))
    }
}

/// Petrel's payload encoding of a message.
pub fn petrel_payload<T: WireMessage>(message: &T) -> Vec<u8> {
    let mut out = Vec::new();
    message
        .encode_payload(&mut out)
        .unwrap_or_else(|e| panic!("{}: {e}", T::NAME));
    out
}

/// A whole LDK-encoded message: LDK's type number, then LDK's payload.
pub fn ldk_message<T: Writeable + Type>(message: &T) -> Vec<u8> {
    let mut out = message.type_id().to_be_bytes().to_vec();
    out.extend_from_slice(&message.encode());
    out
}

/// An integer biased towards the edges, where codecs break.
pub fn int(s: &mut Sampler) -> u64 {
    match s.below(5) {
        0 => 0,
        1 => u64::MAX,
        2 => s.below(1 << 16),
        _ => s.u64(),
    }
}

/// [`int`], truncated to 32 bits.
#[allow(clippy::cast_possible_truncation)]
pub fn int32(s: &mut Sampler) -> u32 {
    (int(s) >> (32 * s.below(2))) as u32
}

/// [`int`], truncated to 16 bits.
#[allow(clippy::cast_possible_truncation)]
pub fn int16(s: &mut Sampler) -> u16 {
    (int(s) >> (48 * s.below(2))) as u16
}

/// A valid compact ECDSA signature.
pub fn signature(s: &mut Sampler) -> bitcoin::secp256k1::ecdsa::Signature {
    loop {
        if let Ok(sig) = bitcoin::secp256k1::ecdsa::Signature::from_compact(&s.signature_bytes()) {
            return sig;
        }
    }
}

/// A random txid.
pub fn txid(s: &mut Sampler) -> bitcoin::Txid {
    use bitcoin::hashes::Hash;
    bitcoin::Txid::from_byte_array(s.array())
}

/// LDK's channel id type from random bytes.
pub fn channel_id(s: &mut Sampler) -> lightning::ln::types::ChannelId {
    lightning::ln::types::ChannelId(s.array())
}

/// `n` random bytes where `n` is a sampled length.
pub fn some_bytes(s: &mut Sampler) -> Vec<u8> {
    let n = s.length();
    s.bytes(n)
}

/// A script of sampled length (LDK treats scripts as opaque bytes on the wire).
pub fn script(s: &mut Sampler) -> bitcoin::ScriptBuf {
    bitcoin::ScriptBuf::from(some_bytes(s))
}

/// A channel type's bits in wire (big-endian) order (LDK stores them little-endian).
pub fn be_features(features: &lightning::types::features::ChannelTypeFeatures) -> Vec<u8> {
    features.le_flags().iter().rev().copied().collect()
}

/// A channel type of sampled length in wire order.
pub fn channel_type(s: &mut Sampler) -> lightning::types::features::ChannelTypeFeatures {
    lightning::types::features::ChannelTypeFeatures::from_be_bytes(some_bytes(s))
}
