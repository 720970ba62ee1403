//! The Sphinx primitives of BOLT 4: shared secrets, key generation, the ChaCha20 byte stream,
//! HMACs and ephemeral key blinding.
//!
//! Everything here is a pure function of its arguments; the packet and failure code builds on
//! these and never calls secp256k1, HMAC or ChaCha20 directly.

use bitcoin::hashes::{sha256, Hash, HashEngine, Hmac, HmacEngine};
use bitcoin::secp256k1::{ecdh, PublicKey, Scalar, SecretKey};
use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;

/// The secret a hop shares with the origin of an onion: SHA256 of the compressed ECDH point
/// (BOLT 4 "Shared Secret"). Every per-hop key (rho, mu, um, ammag, pad) derives from it, and a
/// forwarding node keeps it with the HTLC to obfuscate any failure it passes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedSecret(pub [u8; 32]);

impl SharedSecret {
    /// The _rho_ key: keys the stream that obfuscates `hop_payloads`.
    pub fn rho_key(&self) -> [u8; 32] {
        generate_key(b"rho", &self.0)
    }

    /// The _mu_ key: keys the HMAC over `hop_payloads` and the associated data.
    pub fn mu_key(&self) -> [u8; 32] {
        generate_key(b"mu", &self.0)
    }

    /// The _um_ key: keys the HMAC of a failure message this hop originates.
    pub fn um_key(&self) -> [u8; 32] {
        generate_key(b"um", &self.0)
    }

    /// The _ammag_ key: keys the stream that obfuscates a returning failure at this hop.
    pub fn ammag_key(&self) -> [u8; 32] {
        generate_key(b"ammag", &self.0)
    }
}

/// ECDH between a node key and an ephemeral point, as a receiving hop computes it (the origin
/// computes the same value with the ephemeral secret and the hop's node id).
pub fn shared_secret(node_key: &SecretKey, ephemeral: &PublicKey) -> SharedSecret {
    // secp256k1's ECDH hashes the compressed point with SHA256: exactly BOLT 4's definition.
    SharedSecret(ecdh::SharedSecret::new(ephemeral, node_key).secret_bytes())
}

/// BOLT 4 "Key Generation": HMAC-SHA256 keyed with the key type's ASCII name (no NUL), over
/// the 32-byte secret.
pub(crate) fn generate_key(key_type: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    hmac(key_type, &[secret])
}

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut engine = HmacEngine::<sha256::Hash>::new(key);
    for part in parts {
        engine.input(part);
    }
    Hmac::<sha256::Hash>::from_engine(engine).to_byte_array()
}

/// XORs `buf` with the BOLT 4 pseudo-random byte stream for `key`: ChaCha20 over zero bytes
/// with a 96-bit zero nonce, starting at block 0.
pub(crate) fn apply_stream(key: &[u8; 32], buf: &mut [u8]) {
    let mut cipher = ChaCha20::new(key.into(), &[0u8; 12].into());
    cipher.apply_keystream(buf);
}

/// Compares two MACs in time independent of where they differ (BOLT 4: "MUST use a constant
/// time comparison").
pub(crate) fn macs_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The blinding factor for the next hop's ephemeral key: `SHA256(epk || ss)` (BOLT 4
/// "Blinding Ephemeral Onion Keys"). `None` in the negligible case that the hash is not a valid
/// scalar.
pub(crate) fn blinding_factor(ephemeral: &PublicKey, secret: &SharedSecret) -> Option<Scalar> {
    let mut engine = sha256::Hash::engine();
    engine.input(&ephemeral.serialize());
    engine.input(&secret.0);
    Scalar::from_be_bytes(sha256::Hash::from_engine(engine).to_byte_array()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 section 2.4.2's key with a zero nonce is not given, but the all-zero key's
    /// first block is (RFC 8439 A.1 test vector 1): the stream must be raw ChaCha20 from
    /// counter 0.
    #[test]
    fn stream_is_raw_chacha20_from_block_zero() {
        let mut buf = [0u8; 16];
        apply_stream(&[0u8; 32], &mut buf);
        assert_eq!(
            buf,
            [
                0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90, 0x40, 0x5d, 0x6a, 0xe5, 0x53, 0x86,
                0xbd, 0x28
            ]
        );
    }

    #[test]
    fn macs_equal_compares_every_byte() {
        let a = [7u8; 32];
        let mut b = a;
        assert!(macs_equal(&a, &b));
        b[31] ^= 1;
        assert!(!macs_equal(&a, &b));
    }
}
