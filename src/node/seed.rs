//! The node seed file: 32 random bytes in `<datadir>/seed`, the root of every key the node
//! has. The derivations from it are pure and live in [`crate::keys::NodeSeed`].
//!
//! Back up the seed file: with it (and the chain) a node can find its funds again.

use std::io::Write;
use std::path::Path;

use bitcoin::secp256k1::rand::{thread_rng, RngCore};

pub use crate::keys::NodeSeed;

/// The seed file's name inside the datadir.
pub const SEED_FILE: &str = "seed";

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

/// Reads `<datadir>/seed`, creating it (mode 0600) with fresh randomness the first time.
pub fn load_or_create(datadir: &Path) -> Result<NodeSeed, SeedError> {
    let path = datadir.join(SEED_FILE);
    let io = |source| SeedError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(NodeSeed::from_bytes)
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
            Ok(NodeSeed::from_bytes(seed))
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::Secp256k1;
    use bitcoin::Network;

    use super::*;

    #[test]
    fn the_seed_is_created_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let b = load_or_create(dir.path()).unwrap();
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
            load_or_create(dir.path()),
            Err(SeedError::Malformed(_))
        ));
    }
}
