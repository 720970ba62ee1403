//! Node configuration: `<datadir>/petrel.toml`, overridden by command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use bitcoin::Network;
use serde::Deserialize;

use crate::funding::{LocalConfig, Policy, ReservationLimits};

/// The name of the configuration file inside the datadir.
pub const CONFIG_FILE: &str = "petrel.toml";

/// Settings as they appear in `petrel.toml` (every key optional; flags override them).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// `regtest` (the default), `testnet`, `signet` or `bitcoin`.
    pub network: Option<String>,
    /// Lightning listener, `host:port` (port 0: the OS picks).
    pub listen: Option<String>,
    /// Control API, `host:port` on loopback.
    pub rpc_bind: Option<String>,
    /// The chain backend's JSON-RPC URL (`petrel regtest` or bitcoind).
    pub chain_rpc: Option<String>,
    /// The chain backend's cookie file.
    pub chain_cookie: Option<PathBuf>,
    /// Milliseconds between polls of the chain backend for new blocks.
    pub chain_poll_ms: Option<u64>,
    /// The `minimum_depth` we ask for when accepting channels.
    pub minimum_depth: Option<u32>,
    /// The most reservations pending with one peer.
    pub max_pending_per_peer: Option<usize>,
    /// The most reservations pending in total.
    pub max_pending_total: Option<usize>,
    /// Seconds a reservation may stay unfinished.
    pub reservation_timeout_secs: Option<u64>,
    /// Blocks a sweep may stay unconfirmed before it is replaced with a higher fee.
    pub sweep_rbf_blocks: Option<u32>,
}

impl FileConfig {
    /// Reads `<datadir>/petrel.toml`; a missing file is an empty configuration.
    pub fn load(datadir: &Path) -> Result<FileConfig, ConfigError> {
        let path = datadir.join(CONFIG_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::File {
                path,
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileConfig::default()),
            Err(e) => Err(ConfigError::File {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// `self` with every key that `flags` sets replaced.
    #[must_use]
    pub fn overridden_by(self, flags: FileConfig) -> FileConfig {
        FileConfig {
            network: flags.network.or(self.network),
            listen: flags.listen.or(self.listen),
            rpc_bind: flags.rpc_bind.or(self.rpc_bind),
            chain_rpc: flags.chain_rpc.or(self.chain_rpc),
            chain_cookie: flags.chain_cookie.or(self.chain_cookie),
            chain_poll_ms: flags.chain_poll_ms.or(self.chain_poll_ms),
            minimum_depth: flags.minimum_depth.or(self.minimum_depth),
            max_pending_per_peer: flags.max_pending_per_peer.or(self.max_pending_per_peer),
            max_pending_total: flags.max_pending_total.or(self.max_pending_total),
            reservation_timeout_secs: flags
                .reservation_timeout_secs
                .or(self.reservation_timeout_secs),
            sweep_rbf_blocks: flags.sweep_rbf_blocks.or(self.sweep_rbf_blocks),
        }
    }
}

/// A bad configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read or parsed.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// A value that does not parse.
    #[error("{key}: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A required setting with no value.
    #[error("{0} is required (flag or petrel.toml)")]
    Missing(&'static str),
}

/// The resolved configuration the node runs with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Where everything is stored.
    pub datadir: PathBuf,
    /// The chain.
    pub network: Network,
    /// Lightning listener.
    pub listen: SocketAddr,
    /// Control API.
    pub rpc_bind: SocketAddr,
    /// Chain backend URL.
    pub chain_rpc: String,
    /// Chain backend cookie file.
    pub chain_cookie: PathBuf,
    /// Chain poll interval.
    pub chain_poll: std::time::Duration,
    /// What we announce in channel opens.
    pub channel_config: LocalConfig,
    /// What we accept from peers.
    pub policy: Policy,
    /// Per-peer reservation limits.
    pub reservation_limits: ReservationLimits,
    /// Node-wide pending reservation limit.
    pub max_pending_total: usize,
    /// The chain watcher's tunables.
    pub watch: crate::watch::WatchConfig,
}

fn parse_addr(
    key: &'static str,
    value: Option<&str>,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    value
        .unwrap_or(default)
        .parse()
        .map_err(|e: std::net::AddrParseError| ConfigError::Invalid {
            key,
            reason: e.to_string(),
        })
}

impl NodeConfig {
    /// Resolves the file plus flags into a configuration, with defaults for the rest.
    pub fn resolve(datadir: PathBuf, settings: FileConfig) -> Result<NodeConfig, ConfigError> {
        let network = match settings.network.as_deref().unwrap_or("regtest") {
            "regtest" => Network::Regtest,
            "testnet" => Network::Testnet,
            "signet" => Network::Signet,
            "bitcoin" | "mainnet" => Network::Bitcoin,
            other => {
                return Err(ConfigError::Invalid {
                    key: "network",
                    reason: format!("unknown network `{other}`"),
                })
            }
        };
        let chain_rpc = settings
            .chain_rpc
            .ok_or(ConfigError::Missing("chain-rpc"))?;
        let chain_cookie = settings
            .chain_cookie
            .ok_or(ConfigError::Missing("chain-cookie"))?;
        let mut channel_config = LocalConfig::default();
        if let Some(depth) = settings.minimum_depth {
            channel_config.minimum_depth = depth;
        }
        let defaults = ReservationLimits::default();
        Ok(NodeConfig {
            listen: parse_addr("listen", settings.listen.as_deref(), "127.0.0.1:9735")?,
            rpc_bind: parse_addr("rpc-bind", settings.rpc_bind.as_deref(), "127.0.0.1:9736")?,
            datadir,
            network,
            chain_rpc,
            chain_cookie,
            chain_poll: std::time::Duration::from_millis(settings.chain_poll_ms.unwrap_or(100)),
            channel_config,
            policy: Policy::default(),
            reservation_limits: ReservationLimits {
                max_per_peer: settings
                    .max_pending_per_peer
                    .unwrap_or(defaults.max_per_peer),
                timeout_secs: settings
                    .reservation_timeout_secs
                    .unwrap_or(defaults.timeout_secs),
            },
            max_pending_total: settings.max_pending_total.unwrap_or(200),
            watch: crate::watch::WatchConfig {
                rbf_after_blocks: settings
                    .sweep_rbf_blocks
                    .unwrap_or(crate::watch::WatchConfig::default().rbf_after_blocks),
                ..crate::watch::WatchConfig::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "listen = \"127.0.0.1:1\"\nchain-rpc = \"http://127.0.0.1:2\"\nchain-cookie = \"/c\"\n",
        )
        .unwrap();
        let file = FileConfig::load(dir.path()).unwrap();
        let flags = FileConfig {
            listen: Some("127.0.0.1:0".into()),
            ..FileConfig::default()
        };
        let config = NodeConfig::resolve(dir.path().into(), file.overridden_by(flags)).unwrap();
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.chain_rpc, "http://127.0.0.1:2");
        assert_eq!(config.network, Network::Regtest);
    }

    #[test]
    fn unknown_keys_and_missing_backend_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), "lisen = 1\n").unwrap();
        assert!(matches!(
            FileConfig::load(dir.path()),
            Err(ConfigError::File { .. })
        ));
        assert!(matches!(
            NodeConfig::resolve(dir.path().into(), FileConfig::default()),
            Err(ConfigError::Missing("chain-rpc"))
        ));
    }
}
