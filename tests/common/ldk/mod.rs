//! LDK (`lightning` 0.2.7) test nodes for the interop tests, and what they need around them.
//!
//! - [`bare`]: LDK's `PeerManager` alone (BOLT 8 + BOLT 1), for connection-layer tests;
//! - [`petrel_peer`]: Petrel's real peer actor in the test process, without a chain;
//! - [`logger`]: LDK's logger, counting what the tests use as an oracle;
//! - [`node`]: a full LDK node (channel manager, chain monitor, peer manager) driven by its
//!   own task, fed blocks from `petrel regtest`, with [`chain`] (fees, broadcaster) and
//!   [`wallet`] (a one-key P2WPKH wallet that funds its channels);
//! - [`payments`]: that node's invoices and payments, through LDK's own API.
//!
//! LDK is an oracle here only: nothing in this directory is (or may be) copied into Petrel.
#![allow(dead_code)] // each test binary uses a different part of this module
#![allow(clippy::disallowed_methods)] // tests read clocks and spawn tasks

pub mod bare;
pub mod chain;
pub mod logger;
pub mod node;
pub mod payments;
pub mod petrel_peer;
pub mod wallet;
