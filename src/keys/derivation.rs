//! Per-commitment key derivation (BOLT 3 "Key Derivation").
//!
//! Every key in a commitment transaction's scripts, except the funding keys and the static
//! `remotepubkey`, changes with each commitment: it is derived from a basepoint (sent once in
//! `open_channel` / `accept_channel`) and the commitment's [`PerCommitmentPoint`].

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, Secp256k1, SecretKey, Signing, Verification};

use super::{ChannelBasepoints, KeysError, PerCommitmentPoint, PerCommitmentSecret};

/// `SHA256(first || second)` as a scalar. Fails only if the hash is not below the curve order.
fn hash_tweak(first: &PublicKey, second: &PublicKey) -> Result<Scalar, KeysError> {
    let mut engine = sha256::Hash::engine();
    engine.input(&first.serialize());
    engine.input(&second.serialize());
    Scalar::from_be_bytes(sha256::Hash::from_engine(engine).to_byte_array())
        .map_err(|_| KeysError::InvalidDerivedKey)
}

/// `pubkey = basepoint + SHA256(per_commitment_point || basepoint) * G` (BOLT 3 "`localpubkey`,
/// `local_htlcpubkey`, `remote_htlcpubkey`, `local_delayedpubkey`, and `remote_delayedpubkey`
/// Derivation"): the `htlc_basepoint` gives an htlcpubkey, the `delayed_payment_basepoint` a
/// delayedpubkey.
pub fn derive_pubkey<C: Verification>(
    secp: &Secp256k1<C>,
    basepoint: &PublicKey,
    per_commitment_point: &PerCommitmentPoint,
) -> Result<PublicKey, KeysError> {
    let tweak = hash_tweak(&per_commitment_point.0, basepoint)?;
    basepoint
        .add_exp_tweak(secp, &tweak)
        .map_err(|_| KeysError::InvalidDerivedKey)
}

/// `privkey = basepoint_secret + SHA256(per_commitment_point || basepoint)` (BOLT 3 "Key
/// Derivation"): the private key of [`derive_pubkey`]'s result, for our own basepoints.
pub fn derive_privkey<C: Signing>(
    secp: &Secp256k1<C>,
    basepoint_secret: &SecretKey,
    per_commitment_point: &PerCommitmentPoint,
) -> Result<SecretKey, KeysError> {
    let basepoint = PublicKey::from_secret_key(secp, basepoint_secret);
    let tweak = hash_tweak(&per_commitment_point.0, &basepoint)?;
    basepoint_secret
        .add_tweak(&tweak)
        .map_err(|_| KeysError::InvalidDerivedKey)
}

/// `revocationpubkey = revocation_basepoint * SHA256(revocation_basepoint ||
/// per_commitment_point) + per_commitment_point * SHA256(per_commitment_point ||
/// revocation_basepoint)` (BOLT 3 "`revocationpubkey` Derivation").
///
/// The revocation basepoint is the one of the side that does NOT own the commitment; the
/// per-commitment point is the owner's. Neither side alone knows the private key.
pub fn derive_revocation_pubkey<C: Verification>(
    secp: &Secp256k1<C>,
    revocation_basepoint: &PublicKey,
    per_commitment_point: &PerCommitmentPoint,
) -> Result<PublicKey, KeysError> {
    let point = &per_commitment_point.0;
    let base_part = revocation_basepoint
        .mul_tweak(secp, &hash_tweak(revocation_basepoint, point)?)
        .map_err(|_| KeysError::InvalidDerivedKey)?;
    let point_part = point
        .mul_tweak(secp, &hash_tweak(point, revocation_basepoint)?)
        .map_err(|_| KeysError::InvalidDerivedKey)?;
    base_part
        .combine(&point_part)
        .map_err(|_| KeysError::InvalidDerivedKey)
}

/// `revocationprivkey = revocation_basepoint_secret * SHA256(revocation_basepoint ||
/// per_commitment_point) + per_commitment_secret * SHA256(per_commitment_point ||
/// revocation_basepoint)` (BOLT 3 "`revocationpubkey` Derivation"): computable once the
/// owner of a commitment revealed its `per_commitment_secret`, i.e. revoked it.
pub fn derive_revocation_privkey<C: Signing>(
    secp: &Secp256k1<C>,
    revocation_basepoint_secret: &SecretKey,
    per_commitment_secret: &PerCommitmentSecret,
) -> Result<SecretKey, KeysError> {
    let revocation_basepoint = PublicKey::from_secret_key(secp, revocation_basepoint_secret);
    let secret = per_commitment_secret.to_secret_key()?;
    let point = PublicKey::from_secret_key(secp, &secret);
    let base_part = revocation_basepoint_secret
        .mul_tweak(&hash_tweak(&revocation_basepoint, &point)?)
        .map_err(|_| KeysError::InvalidDerivedKey)?;
    let point_part = secret
        .mul_tweak(&hash_tweak(&point, &revocation_basepoint)?)
        .map_err(|_| KeysError::InvalidDerivedKey)?;
    base_part
        .add_tweak(&Scalar::from(point_part))
        .map_err(|_| KeysError::InvalidDerivedKey)
}

/// The public keys of one commitment transaction, named from the point of view of its owner
/// (the side that can broadcast it: "local" in BOLT 3's scripts) (BOLT 3 "Key Derivation").
///
/// For our own commitment, the owner is us and the point is our per-commitment point; for the
/// counterparty's commitment, the owner is them and the point is theirs. Both sides build the
/// same keys for the same commitment, which is what lets them sign each other's transactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentKeys {
    /// The owner's per-commitment point for this commitment.
    pub per_commitment_point: PerCommitmentPoint,
    /// `revocationpubkey`: from the counterparty's `revocation_basepoint`.
    pub revocation_pubkey: PublicKey,
    /// `local_htlcpubkey`: from the owner's `htlc_basepoint`.
    pub local_htlcpubkey: PublicKey,
    /// `remote_htlcpubkey`: from the counterparty's `htlc_basepoint`.
    pub remote_htlcpubkey: PublicKey,
    /// `local_delayedpubkey`: from the owner's `delayed_payment_basepoint`.
    pub local_delayedpubkey: PublicKey,
    /// `remotepubkey`: the counterparty's `payment_basepoint` itself, not derived
    /// (BOLT 3 "`remotepubkey` Derivation", `option_static_remotekey`).
    pub remotepubkey: PublicKey,
}

impl CommitmentKeys {
    /// Derives the keys of the commitment owned by `owner` from the owner's
    /// `per_commitment_point` (BOLT 3 "Key Derivation").
    pub fn derive<C: Verification>(
        secp: &Secp256k1<C>,
        per_commitment_point: &PerCommitmentPoint,
        owner: &ChannelBasepoints,
        counterparty: &ChannelBasepoints,
    ) -> Result<CommitmentKeys, KeysError> {
        Ok(CommitmentKeys {
            per_commitment_point: *per_commitment_point,
            revocation_pubkey: derive_revocation_pubkey(
                secp,
                &counterparty.revocation_basepoint,
                per_commitment_point,
            )?,
            local_htlcpubkey: derive_pubkey(secp, &owner.htlc_basepoint, per_commitment_point)?,
            remote_htlcpubkey: derive_pubkey(
                secp,
                &counterparty.htlc_basepoint,
                per_commitment_point,
            )?,
            local_delayedpubkey: derive_pubkey(
                secp,
                &owner.delayed_payment_basepoint,
                per_commitment_point,
            )?,
            remotepubkey: counterparty.payment_basepoint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::vectors::{hex32, parse_pubkey, parse_secret, Vectors};

    const APPENDIX_E: &str = include_str!("../../wire-spec/vectors/bolt03-appendix-e-keys.txt");

    /// The shared inputs of Appendix E, checked for consistency with each other.
    struct Inputs {
        base_secret: SecretKey,
        base_point: PublicKey,
        per_commitment_secret: PerCommitmentSecret,
        per_commitment_point: PerCommitmentPoint,
    }

    fn inputs(secp: &Secp256k1<bitcoin::secp256k1::All>, vectors: &Vectors) -> Inputs {
        let header = vectors.header();
        let base_secret = parse_secret(header.get("base_secret"));
        let base_point = parse_pubkey(header.get("base_point"));
        assert_eq!(PublicKey::from_secret_key(secp, &base_secret), base_point);
        let per_commitment_secret =
            PerCommitmentSecret::from_bytes(hex32(header.get("per_commitment_secret")));
        let per_commitment_point =
            PerCommitmentPoint(parse_pubkey(header.get("per_commitment_point")));
        assert_eq!(
            per_commitment_secret.point(secp).unwrap(),
            per_commitment_point
        );
        Inputs {
            base_secret,
            base_point,
            per_commitment_secret,
            per_commitment_point,
        }
    }

    #[test]
    fn bolt3_e_derivation_of_pubkey_from_basepoint_and_per_commitment_point() {
        let secp = Secp256k1::new();
        let vectors = Vectors::parse(APPENDIX_E);
        let i = inputs(&secp, &vectors);
        let case = vectors.case("derivation of pubkey from basepoint and per_commitment_point");
        let derived = derive_pubkey(&secp, &i.base_point, &i.per_commitment_point).unwrap();
        assert_eq!(derived, parse_pubkey(case.get("localpubkey")));
    }

    #[test]
    fn bolt3_e_derivation_of_private_key_from_basepoint_secret_and_per_commitment_secret() {
        let secp = Secp256k1::new();
        let vectors = Vectors::parse(APPENDIX_E);
        let i = inputs(&secp, &vectors);
        let case = vectors
            .case("derivation of private key from basepoint secret and per_commitment_secret");
        let derived = derive_privkey(&secp, &i.base_secret, &i.per_commitment_point).unwrap();
        assert_eq!(derived, parse_secret(case.get("localprivkey")));
        // And it is the private key of the derived public key.
        let pubkey = derive_pubkey(&secp, &i.base_point, &i.per_commitment_point).unwrap();
        assert_eq!(PublicKey::from_secret_key(&secp, &derived), pubkey);
    }

    #[test]
    fn bolt3_e_derivation_of_revocation_pubkey_from_basepoint_and_per_commitment_point() {
        let secp = Secp256k1::new();
        let vectors = Vectors::parse(APPENDIX_E);
        let i = inputs(&secp, &vectors);
        let case =
            vectors.case("derivation of revocation pubkey from basepoint and per_commitment_point");
        let derived =
            derive_revocation_pubkey(&secp, &i.base_point, &i.per_commitment_point).unwrap();
        assert_eq!(derived, parse_pubkey(case.get("revocationpubkey")));
    }

    #[test]
    fn bolt3_e_derivation_of_revocation_secret_from_basepoint_secret_and_per_commitment_secret() {
        let secp = Secp256k1::new();
        let vectors = Vectors::parse(APPENDIX_E);
        let i = inputs(&secp, &vectors);
        let case = vectors.case(
            "derivation of revocation secret from basepoint_secret and per_commitment_secret",
        );
        let derived =
            derive_revocation_privkey(&secp, &i.base_secret, &i.per_commitment_secret).unwrap();
        assert_eq!(derived, parse_secret(case.get("revocationprivkey")));
        let pubkey =
            derive_revocation_pubkey(&secp, &i.base_point, &i.per_commitment_point).unwrap();
        assert_eq!(PublicKey::from_secret_key(&secp, &derived), pubkey);
    }

    #[test]
    fn every_appendix_e_case_has_a_test() {
        assert_eq!(Vectors::parse(APPENDIX_E).names().count(), 4);
    }
}
