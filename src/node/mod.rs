//! The node: configuration, the seed, and the wiring of actors (store, wallet, chain
//! notifier, peers, chain watcher, control API), start-up and recovery after a restart.

pub mod config;
pub mod seed;

pub use config::{ConfigError, FileConfig, NodeConfig};
pub use seed::{NodeSeed, SeedError};
