//! The node seed: 32 random bytes in `<datadir>/seed`, the root of every key the node has.
//!
//! Derivations (BIP32, all hardened):
//! - node key (BOLT 8 static key, the node id): `m/9735'/coin_type'/0'`;
//! - channel keys: `m/1017'/coin_type'/channel_index'/family'` (see
//!   [`crate::keys::ChannelSecrets::from_node_seed`]);
//! - the on-chain wallet: BIP84 (`m/84'/coin_type'/0'`), see [`crate::wallet`].
//!
//! Back up the seed file: with it (and the chain) a node can find its funds again.

use std::io::Write;
use std::path::Path;

use bitcoin::bip32::{ChildNumber, Xpriv};
use bitcoin::secp256k1::rand::{thread_rng, RngCore};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing};
use bitcoin::Network;

/// The seed file's name inside the datadir.
pub const SEED_FILE: &str = "seed";

/// The node seed (redacted in `Debug`).
#[derive(Clone)]
pub struct NodeSeed([u8; 32]);

impl std::fmt::Debug for NodeSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeSeed(..)")
    }
}

/// Why the seed could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// Reading or writing the file failed.
    #[error("seed file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not 32 bytes.
    #[error("seed file {0} is not 32 bytes")]
    Malformed(String),
}

impl NodeSeed {
    /// Reads `<datadir>/seed`, creating it (mode 0600) with fresh randomness the first time.
    pub fn load_or_create(datadir: &Path) -> Result<NodeSeed, SeedError> {
        let path = datadir.join(SEED_FILE);
        let io = |source| SeedError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read(&path) {
            Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
                .map(NodeSeed)
                .map_err(|_| SeedError::Malformed(path.display().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut seed = [0u8; 32];
                thread_rng().fill_bytes(&mut seed);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(&path).map_err(io)?;
                file.write_all(&seed).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(NodeSeed(seed))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A seed from known bytes (tests, restores).
    pub fn from_bytes(bytes: [u8; 32]) -> NodeSeed {
        NodeSeed(bytes)
    }

    /// The raw seed, for the derivations that take it.
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = NodeSeed::load_or_create(dir.path()).unwrap();
        let b = NodeSeed::load_or_create(dir.path()).unwrap();
        assert_eq!(a.as_bytes(), b.as_bytes());
        let secp = Secp256k1::new();
        assert_eq!(
            a.node_id(&secp, Network::Regtest).unwrap(),
            b.node_id(&secp, Network::Regtest).unwrap()
        );
        assert_ne!(
            a.node_id(&secp, Network::Regtest).unwrap(),
            a.node_id(&secp, Network::Bitcoin).unwrap()
        );
        std::fs::write(dir.path().join(SEED_FILE), [0u8; 5]).unwrap();
        assert!(matches!(
            NodeSeed::load_or_create(dir.path()),
            Err(SeedError::Malformed(_))
        ));
    }
}
