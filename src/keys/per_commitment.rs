//! Per-commitment secrets and points (BOLT 3 "Per-commitment Secret Requirements").
//!
//! One [`CommitmentSeed`] per channel generates up to 2^48 secrets; the secret for commitment
//! `n` has index `2^48 - 1 - n` ([`super::CommitmentNumber::secret_index`]). Its point is sent
//! ahead (`per_commitment_point` in `open_channel`, `accept_channel`, `revoke_and_ack`,
//! `channel_ready`), the secret itself only to revoke that commitment.

use core::fmt;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};

use super::{KeysError, SecretIndex};

/// The 256-bit seed from which one channel's per-commitment secrets are generated
/// (BOLT 3 "Per-commitment Secret Requirements": MUST be unguessable, MUST NOT be revealed).
///
/// `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct CommitmentSeed([u8; 32]);

impl CommitmentSeed {
    /// Wraps 32 seed bytes (BOLT 3 "Per-commitment Secret Requirements").
    pub fn from_bytes(bytes: [u8; 32]) -> CommitmentSeed {
        CommitmentSeed(bytes)
    }

    /// The seed bytes, to persist them; never send them (BOLT 3 "Per-commitment Secret
    /// Requirements": MUST NOT reveal the seed).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The secret with index `index`: BOLT 3 `generate_from_seed(seed, I)`.
    pub fn secret(&self, index: SecretIndex) -> PerCommitmentSecret {
        PerCommitmentSecret(derive_secret(self.0, 48, index.value()))
    }
}

impl fmt::Debug for CommitmentSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CommitmentSeed(..)")
    }
}

/// BOLT 3 `derive_secret(base, bits, I)`: from the secret `base` whose index shares bits
/// `bits..47` with `index`, derive the secret at `index` by flipping and hashing, from bit
/// `bits - 1` down to 0. With `bits = 48` and the seed as `base`, this is `generate_from_seed`.
pub(crate) fn derive_secret(base: [u8; 32], bits: u32, index: u64) -> [u8; 32] {
    let mut p = base;
    for b in (0..bits).rev() {
        if index >> b & 1 == 1 {
            // flip(B): the (B mod 8) bit of the (B div 8) byte. `b < 48`, so `b / 8 < 6`.
            p[(b / 8) as usize] ^= 1 << (b % 8);
            p = sha256::Hash::hash(&p).to_byte_array();
        }
    }
    p
}

/// A per-commitment secret (BOLT 3 "Per-commitment Secret Requirements"): revealed in
/// `revoke_and_ack` to revoke the commitment it belongs to.
///
/// `Debug` does not print it: until revoked, it guards our own commitment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PerCommitmentSecret([u8; 32]);

impl PerCommitmentSecret {
    /// Wraps 32 bytes, e.g. the `per_commitment_secret` of a received `revoke_and_ack`
    /// (BOLT 2; BOLT 3 "Per-commitment Secret Requirements").
    pub fn from_bytes(bytes: [u8; 32]) -> PerCommitmentSecret {
        PerCommitmentSecret(bytes)
    }

    /// The secret bytes, as carried in `revoke_and_ack` (BOLT 2).
    pub fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// The secret as a secp256k1 scalar (BOLT 3 "`revocationpubkey` Derivation"); fails if
    /// the bytes are zero or not below the curve order (a peer can send such bytes; a seed
    /// generates them with negligible probability).
    pub fn to_secret_key(self) -> Result<SecretKey, KeysError> {
        SecretKey::from_slice(&self.0).map_err(|_| KeysError::InvalidSecretKey)
    }

    /// `per_commitment_point = per_commitment_secret * G` (BOLT 3 "`revocationpubkey`
    /// Derivation").
    pub fn point<C: Signing>(self, secp: &Secp256k1<C>) -> Result<PerCommitmentPoint, KeysError> {
        Ok(PerCommitmentPoint(PublicKey::from_secret_key(
            secp,
            &self.to_secret_key()?,
        )))
    }
}

impl fmt::Debug for PerCommitmentSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PerCommitmentSecret(..)")
    }
}

/// A per-commitment point, `per_commitment_secret * G` (BOLT 3 "Key Derivation"): the public
/// input from which every key of one commitment transaction is derived.
///
/// A distinct type from basepoints so that the two arguments of a derivation cannot be
/// swapped by mistake (the hash order differs between them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PerCommitmentPoint(pub PublicKey);

impl PerCommitmentPoint {
    /// The point as a public key (BOLT 3 "Key Derivation").
    pub fn public_key(&self) -> &PublicKey {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::vectors::{hex32, Vectors};

    const APPENDIX_D: &str = include_str!("../../wire-spec/vectors/bolt03-appendix-d-secrets.txt");

    /// Runs one Appendix D "Generation Tests" case.
    fn generation_case(name: &str) {
        let vectors = Vectors::parse(APPENDIX_D);
        let case = vectors.case(name);
        let seed = CommitmentSeed::from_bytes(hex32(case.get("seed")));
        let i = case.get("I");
        let index = match i.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
            None => i.parse().unwrap(),
        };
        let secret = seed.secret(SecretIndex::new(index).unwrap());
        assert_eq!(secret.to_bytes(), hex32(case.get("output")), "{name}");
    }

    #[test]
    fn bolt3_d_generate_from_seed_0_final_node() {
        generation_case("generate_from_seed 0 final node");
    }

    #[test]
    fn bolt3_d_generate_from_seed_ff_final_node() {
        generation_case("generate_from_seed FF final node");
    }

    #[test]
    fn bolt3_d_generate_from_seed_ff_alternate_bits_1() {
        generation_case("generate_from_seed FF alternate bits 1");
    }

    #[test]
    fn bolt3_d_generate_from_seed_ff_alternate_bits_2() {
        generation_case("generate_from_seed FF alternate bits 2");
    }

    #[test]
    fn bolt3_d_generate_from_seed_01_last_nontrivial_node() {
        generation_case("generate_from_seed 01 last nontrivial node");
    }

    #[test]
    fn flip_matches_the_spec_examples() {
        // "flip(0) in e3b0..." is "e2b0...", and "flip(10) in e3b0..." is "e3b4...": checked
        // through derive_secret with a single set bit and no hash (compare before hashing).
        let mut p = [0u8; 32];
        p[0] = 0xe3;
        p[1] = 0xb0;
        let flipped = derive_secret(p, 1, 1);
        let mut expect = p;
        expect[0] = 0xe2;
        assert_eq!(flipped, sha256::Hash::hash(&expect).to_byte_array());
        let flipped = derive_secret(p, 11, 1 << 10);
        let mut expect = p;
        expect[1] = 0xb4;
        assert_eq!(flipped, sha256::Hash::hash(&expect).to_byte_array());
    }

    #[test]
    fn secrets_debug_is_redacted() {
        let seed = CommitmentSeed::from_bytes([7; 32]);
        assert_eq!(format!("{seed:?}"), "CommitmentSeed(..)");
        let secret = seed.secret(SecretIndex::FIRST);
        assert_eq!(format!("{secret:?}"), "PerCommitmentSecret(..)");
    }

    #[test]
    fn invalid_secret_bytes_are_an_error() {
        let secp = Secp256k1::new();
        assert_eq!(
            PerCommitmentSecret::from_bytes([0; 32]).point(&secp),
            Err(KeysError::InvalidSecretKey)
        );
        assert_eq!(
            PerCommitmentSecret::from_bytes([0xff; 32]).to_secret_key(),
            Err(KeysError::InvalidSecretKey)
        );
    }
}
