//! One channel's static keys: the funding key, the four basepoints and the per-commitment
//! seed (BOLT 2 `open_channel` / `accept_channel` fields; BOLT 3 "Key Derivation"), derived
//! from the node seed through BIP32.

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use bitcoin::Network;

use super::{
    derive_privkey, derive_revocation_privkey, CommitmentNumber, CommitmentSeed, KeysError,
    PerCommitmentPoint, PerCommitmentSecret,
};

/// The BIP32 purpose under which Petrel derives channel keys: `m/1017'/...`. (1017 is the
/// purpose lnd also uses for Lightning keys; Petrel's layout below it is its own, so a seed
/// is not portable between the two.)
pub const LIGHTNING_PURPOSE: u32 = 1017;

/// The `key_family'` level of the BIP32 path, one per static channel key.
#[derive(Clone, Copy)]
enum KeyFamily {
    Funding = 0,
    Revocation = 1,
    Payment = 2,
    DelayedPayment = 3,
    Htlc = 4,
    CommitmentSeed = 5,
}

/// The public half of a channel side's static keys, as sent in `open_channel` /
/// `accept_channel` (BOLT 2) and used by BOLT 3 "Key Derivation".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChannelBasepoints {
    /// `funding_pubkey`: this side's key in the 2-of-2 funding output.
    pub funding_pubkey: PublicKey,
    /// `revocation_basepoint`: combined with the *other* side's per-commitment points.
    pub revocation_basepoint: PublicKey,
    /// `payment_basepoint`: with `option_static_remotekey`, the key of this side's `to_remote`
    /// output on the other side's commitment, unchanged per commitment.
    pub payment_basepoint: PublicKey,
    /// `delayed_payment_basepoint`: base of this side's `local_delayedpubkey`.
    pub delayed_payment_basepoint: PublicKey,
    /// `htlc_basepoint`: base of this side's htlcpubkeys.
    pub htlc_basepoint: PublicKey,
}

/// The secret half of our static keys for one channel (BOLT 2 `open_channel` fields; BOLT 3
/// "Key Derivation" and "Per-commitment Secret Requirements").
///
/// `Debug` reveals nothing: secp256k1 prints secret keys as a hash and [`CommitmentSeed`]
/// redacts itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSecrets {
    /// Private key of `funding_pubkey`.
    pub funding_key: SecretKey,
    /// Secret of `revocation_basepoint`.
    pub revocation_basepoint_secret: SecretKey,
    /// Secret of `payment_basepoint` (spends our `to_remote` outputs directly).
    pub payment_basepoint_secret: SecretKey,
    /// Secret of `delayed_payment_basepoint`.
    pub delayed_payment_basepoint_secret: SecretKey,
    /// Secret of `htlc_basepoint`.
    pub htlc_basepoint_secret: SecretKey,
    /// Seed of our per-commitment secrets.
    pub commitment_seed: CommitmentSeed,
}

impl ChannelSecrets {
    /// Derives the keys of channel number `channel_index` from the node seed, so that a node
    /// restored from its seed regenerates every channel's keys given the channel indices
    /// (the BOLT 2 `open_channel` keys; the per-commitment seed of BOLT 3 "Per-commitment
    /// Secret Requirements", unguessable and never revealed).
    ///
    /// BIP32 path (every level hardened, so one leaked child key reveals no sibling):
    ///
    /// ```text
    /// m / 1017' / coin_type' / channel_index' / key_family'
    /// ```
    ///
    /// - `coin_type`: 0 on Bitcoin mainnet, 1 on every test network (SLIP-44);
    /// - `channel_index`: the channel's number, allocated by the node in order (below 2^31);
    /// - `key_family`: 0 funding key, 1 revocation basepoint, 2 payment basepoint,
    ///   3 delayed payment basepoint, 4 HTLC basepoint, 5 per-commitment seed (the 32 bytes
    ///   of that child's private key).
    ///
    /// The seed is an argument (16 to 64 bytes, as BIP32 requires): nothing here stores it.
    pub fn from_node_seed<C: Signing>(
        secp: &Secp256k1<C>,
        node_seed: &[u8],
        network: Network,
        channel_index: u32,
    ) -> Result<ChannelSecrets, KeysError> {
        let coin_type: u32 = match network {
            Network::Bitcoin => 0,
            _ => 1,
        };
        let hardened = |i: u32| {
            ChildNumber::from_hardened_idx(i).map_err(|_| KeysError::ChannelIndexTooLarge(i))
        };
        // BIP32: "a seed byte sequence S of a chosen length (between 128 and 512 bits)".
        if !(16..=64).contains(&node_seed.len()) {
            return Err(KeysError::InvalidSeed);
        }
        let master = Xpriv::new_master(network, node_seed).map_err(|_| KeysError::InvalidSeed)?;
        let channel_path = [
            hardened(LIGHTNING_PURPOSE)?,
            hardened(coin_type)?,
            hardened(channel_index)?,
        ];
        let channel = master
            .derive_priv(secp, &channel_path)
            .map_err(|_| KeysError::InvalidDerivedKey)?;
        let key = |family: KeyFamily| -> Result<SecretKey, KeysError> {
            let child = channel
                .derive_priv(secp, &[hardened(family as u32)?])
                .map_err(|_| KeysError::InvalidDerivedKey)?;
            Ok(child.private_key)
        };
        Ok(ChannelSecrets {
            funding_key: key(KeyFamily::Funding)?,
            revocation_basepoint_secret: key(KeyFamily::Revocation)?,
            payment_basepoint_secret: key(KeyFamily::Payment)?,
            delayed_payment_basepoint_secret: key(KeyFamily::DelayedPayment)?,
            htlc_basepoint_secret: key(KeyFamily::Htlc)?,
            commitment_seed: CommitmentSeed::from_bytes(
                key(KeyFamily::CommitmentSeed)?.secret_bytes(),
            ),
        })
    }

    /// The public basepoints to send in `open_channel` / `accept_channel` (BOLT 2; BOLT 3
    /// "Key Derivation").
    pub fn basepoints<C: Signing>(&self, secp: &Secp256k1<C>) -> ChannelBasepoints {
        let public = |k: &SecretKey| PublicKey::from_secret_key(secp, k);
        ChannelBasepoints {
            funding_pubkey: public(&self.funding_key),
            revocation_basepoint: public(&self.revocation_basepoint_secret),
            payment_basepoint: public(&self.payment_basepoint_secret),
            delayed_payment_basepoint: public(&self.delayed_payment_basepoint_secret),
            htlc_basepoint: public(&self.htlc_basepoint_secret),
        }
    }

    /// Our per-commitment secret for commitment `number`, revealed to revoke it (BOLT 3
    /// "Per-commitment Secret Requirements").
    pub fn per_commitment_secret(&self, number: CommitmentNumber) -> PerCommitmentSecret {
        self.commitment_seed.secret(number.secret_index())
    }

    /// Our per-commitment point for commitment `number` (BOLT 3 "Key Derivation";
    /// `first_per_commitment_point` is
    /// number 0's; `revoke_and_ack` carries the one two ahead of the revoked commitment).
    pub fn per_commitment_point<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        number: CommitmentNumber,
    ) -> Result<PerCommitmentPoint, KeysError> {
        self.per_commitment_secret(number).point(secp)
    }

    /// Private key of our htlcpubkey in the commitment with `per_commitment_point` (ours or
    /// theirs): signs HTLC transactions and HTLC claims (BOLT 3 "Key Derivation").
    pub fn htlc_key<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        per_commitment_point: &PerCommitmentPoint,
    ) -> Result<SecretKey, KeysError> {
        derive_privkey(secp, &self.htlc_basepoint_secret, per_commitment_point)
    }

    /// Private key of our `local_delayedpubkey` in our commitment with `per_commitment_point`:
    /// sweeps `to_local` and HTLC-transaction outputs after `to_self_delay` (BOLT 3 "Key
    /// Derivation").
    pub fn delayed_payment_key<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        per_commitment_point: &PerCommitmentPoint,
    ) -> Result<SecretKey, KeysError> {
        derive_privkey(
            secp,
            &self.delayed_payment_basepoint_secret,
            per_commitment_point,
        )
    }

    /// Private key of the `revocationpubkey` of the counterparty's commitment they revoked by
    /// revealing `their_secret`: spends every output of that commitment that pays them
    /// (BOLT 3 "`revocationpubkey` Derivation").
    pub fn revocation_key<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        their_secret: &PerCommitmentSecret,
    ) -> Result<SecretKey, KeysError> {
        derive_revocation_privkey(secp, &self.revocation_basepoint_secret, their_secret)
    }
}

#[cfg(test)]
mod tests {
    use core::str::FromStr;

    use bitcoin::bip32::DerivationPath;

    use super::*;
    use crate::keys::{derive_pubkey, derive_revocation_pubkey, CommitmentKeys};

    const SEED: [u8; 32] = [0x42; 32];

    #[test]
    fn keys_follow_the_documented_bip32_path() {
        let secp = Secp256k1::new();
        let secrets = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 7).unwrap();
        let master = Xpriv::new_master(Network::Regtest, &SEED).unwrap();
        let at = |path: &str| {
            let path = DerivationPath::from_str(path).unwrap();
            master.derive_priv(&secp, &path).unwrap().private_key
        };
        assert_eq!(secrets.funding_key, at("m/1017'/1'/7'/0'"));
        assert_eq!(secrets.revocation_basepoint_secret, at("m/1017'/1'/7'/1'"));
        assert_eq!(secrets.payment_basepoint_secret, at("m/1017'/1'/7'/2'"));
        assert_eq!(
            secrets.delayed_payment_basepoint_secret,
            at("m/1017'/1'/7'/3'")
        );
        assert_eq!(secrets.htlc_basepoint_secret, at("m/1017'/1'/7'/4'"));
        assert_eq!(
            secrets.commitment_seed.to_bytes(),
            at("m/1017'/1'/7'/5'").secret_bytes()
        );
        let mainnet = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Bitcoin, 7).unwrap();
        let main_master = Xpriv::new_master(Network::Bitcoin, &SEED).unwrap();
        let path = DerivationPath::from_str("m/1017'/0'/7'/0'").unwrap();
        assert_eq!(
            mainnet.funding_key,
            main_master.derive_priv(&secp, &path).unwrap().private_key
        );
    }

    #[test]
    fn restoring_the_seed_regenerates_the_keys_and_channels_differ() {
        let secp = Secp256k1::new();
        let a = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 0).unwrap();
        let again = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 0).unwrap();
        let b = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 1).unwrap();
        assert_eq!(a, again);
        assert_ne!(a.basepoints(&secp), b.basepoints(&secp));
        assert_ne!(a.commitment_seed, b.commitment_seed);
    }

    #[test]
    fn channel_index_and_seed_are_validated() {
        let secp = Secp256k1::new();
        assert_eq!(
            ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 1 << 31),
            Err(KeysError::ChannelIndexTooLarge(1 << 31))
        );
        assert_eq!(
            ChannelSecrets::from_node_seed(&secp, &[1; 8], Network::Regtest, 0),
            Err(KeysError::InvalidSeed)
        );
    }

    #[test]
    fn signing_keys_match_the_commitment_keys() {
        let secp = Secp256k1::new();
        let ours = ChannelSecrets::from_node_seed(&secp, &SEED, Network::Regtest, 3).unwrap();
        let theirs =
            ChannelSecrets::from_node_seed(&secp, &[0x24; 32], Network::Regtest, 9).unwrap();
        let (our_points, their_points) = (ours.basepoints(&secp), theirs.basepoints(&secp));
        let n = CommitmentNumber::new(5).unwrap();
        // Our commitment: our delayed and HTLC keys, their revocation key.
        let point = ours.per_commitment_point(&secp, n).unwrap();
        let keys = CommitmentKeys::derive(&secp, &point, &our_points, &their_points).unwrap();
        let public = |k: SecretKey| PublicKey::from_secret_key(&secp, &k);
        assert_eq!(
            public(ours.delayed_payment_key(&secp, &point).unwrap()),
            keys.local_delayedpubkey
        );
        assert_eq!(
            public(ours.htlc_key(&secp, &point).unwrap()),
            keys.local_htlcpubkey
        );
        assert_eq!(
            public(theirs.htlc_key(&secp, &point).unwrap()),
            keys.remote_htlcpubkey
        );
        assert_eq!(keys.remotepubkey, their_points.payment_basepoint);
        // Once we reveal our secret, they hold the revocation key of our commitment.
        let revealed = ours.per_commitment_secret(n);
        assert_eq!(
            public(theirs.revocation_key(&secp, &revealed).unwrap()),
            keys.revocation_pubkey
        );
        assert_eq!(
            derive_revocation_pubkey(&secp, &their_points.revocation_basepoint, &point).unwrap(),
            keys.revocation_pubkey
        );
        assert_eq!(
            derive_pubkey(&secp, &our_points.htlc_basepoint, &point).unwrap(),
            keys.local_htlcpubkey
        );
    }
}
