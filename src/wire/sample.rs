//! Deterministic pseudo-random instances of every message.
//!
//! Property tests, the LDK cross-check, the fuzz seed corpus and the benchmarks all need
//! varied but *valid* messages (valid points, in-range signatures, lengths that fit their
//! prefixes). Each generated message type has a `sample(&mut Sampler)` constructor driven by
//! this seeded generator, so a failing case is reproduced from its seed alone.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, SignOnly};

/// A seeded source of sample values (SplitMix64), plus the knobs a caller may want.
pub struct Sampler {
    state: u64,
    secp: Secp256k1<SignOnly>,
    /// Largest length the sampler picks for a variable-length field.
    pub max_len: usize,
    /// Whether TLV streams get unknown odd records (LDK drops them, so its cross-check
    /// turns this off).
    pub unknown_tlvs: bool,
}

impl Sampler {
    /// A sampler seeded with `seed`, variable fields up to 64 elements, unknown TLVs on.
    pub fn new(seed: u64) -> Sampler {
        Sampler {
            state: seed,
            secp: Secp256k1::signing_only(),
            max_len: 64,
            unknown_tlvs: true,
        }
    }

    /// The next 64 pseudo-random bits.
    pub fn u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.u64() % n.max(1)
    }

    /// True with probability one half.
    pub fn coin(&mut self) -> bool {
        self.u64() & 1 == 1
    }

    /// A length in `0..=max_len`, biased towards short and edge values.
    pub fn length(&mut self) -> usize {
        let max = self.max_len as u64;
        let picked = match self.below(4) {
            0 => 0,
            1 => max,
            _ => self.below(max + 1),
        };
        usize::try_from(picked).unwrap_or(0)
    }

    /// `n` pseudo-random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A fixed-size array of pseudo-random bytes.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let word = self.u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        out
    }

    /// A valid secp256k1 point.
    pub fn point(&mut self) -> PublicKey {
        loop {
            if let Ok(secret) = SecretKey::from_slice(&self.array::<32>()) {
                return PublicKey::from_secret_key(&self.secp, &secret);
            }
        }
    }

    /// 64 bytes that parse as a compact ECDSA signature (both scalars below the group order;
    /// high-S values included, since decoders must accept them).
    pub fn signature_bytes(&mut self) -> [u8; 64] {
        let mut sig = self.array::<64>();
        // The group order starts with 0xff..fe, so a first byte below 0xff keeps each scalar
        // in range.
        sig[0] %= 0xff;
        sig[32] %= 0xff;
        sig
    }
}
