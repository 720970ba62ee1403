//! The node seed and what is derived from it (BIP32, every level hardened):
//!
//! - the node key (BOLT 8 static key; its public key is the node id): `m/9735'/coin_type'/0'`;
//! - each channel's keys: `m/1017'/coin_type'/channel_index'/family'` (see
//!   [`ChannelSecrets::from_node_seed`]);
//! - the on-chain wallet: BIP84 (`m/84'/coin_type'/0'`), see [`crate::wallet`].
//!
//! Pure: the seed is a value here; reading and writing the seed file is the node's
//! (`crate::node::seed`).

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use bitcoin::Network;

use super::{ChannelSecrets, KeysError};

/// The node seed (redacted in `Debug`).
#[derive(Clone)]
pub struct NodeSeed([u8; 32]);

impl std::fmt::Debug for NodeSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeSeed(..)")
    }
}

impl NodeSeed {
    /// A seed from known bytes (the seed file, tests, restores).
    pub fn from_bytes(bytes: [u8; 32]) -> NodeSeed {
        NodeSeed(bytes)
    }

    /// The raw seed, for the derivations that take it (the wallet's descriptors).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The node's static key (`m/9735'/coin_type'/0'`); its public key is the node id.
    pub fn node_key<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        network: Network,
    ) -> Result<SecretKey, bitcoin::bip32::Error> {
        let coin = u32::from(network != Network::Bitcoin);
        let path = [9735, coin, 0].map(|index| ChildNumber::Hardened { index });
        Ok(Xpriv::new_master(network, &self.0)?
            .derive_priv(secp, &path)?
            .private_key)
    }

    /// The node id (public key of [`NodeSeed::node_key`]).
    pub fn node_id<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        network: Network,
    ) -> Result<PublicKey, bitcoin::bip32::Error> {
        Ok(PublicKey::from_secret_key(
            secp,
            &self.node_key(secp, network)?,
        ))
    }

    /// The keys of channel number `channel_index` (see [`ChannelSecrets::from_node_seed`]).
    pub fn channel_secrets<C: Signing>(
        &self,
        secp: &Secp256k1<C>,
        network: Network,
        channel_index: u32,
    ) -> Result<ChannelSecrets, KeysError> {
        ChannelSecrets::from_node_seed(secp, &self.0, network, channel_index)
    }
}
