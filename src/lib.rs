//! Petrel: a Lightning Network node.
//!
//! Two Petrel nodes, or Petrel and any BOLT-compliant node, connect over a Noise-encrypted TCP
//! transport (BOLT 8), exchange length-prefixed messages (BOLT 1), open single-funded channels
//! (BOLT 2), build and sign commitment transactions (BOLT 3) and watch the chain (BOLT 5).
//!
//! The crate is layered bottom-up, one module per subsystem; see `DESIGN.md`. Pure cores
//! (`wire`, `keys`, `tx`, `funding`, `channel`) do no IO: every secret, clock reading or block
//! height they need is an argument.
#![cfg_attr(not(any(test, fuzzing)), deny(missing_docs))]
#![deny(rustdoc::broken_intra_doc_links)]
#![warn(unreachable_pub)]
#![warn(clippy::pedantic)]
// Pedantic lints we do not follow, and why:
#![allow(
    // `wire::WireError` inside `wire` reads better than a stutter-free name nobody can grep.
    clippy::module_name_repetitions,
    // Every pure function would carry it; the signal drowns in noise.
    clippy::must_use_candidate,
    // Error types are documented variant by variant instead.
    clippy::missing_errors_doc,
    // Generated codecs and protocol state machines are long by nature.
    clippy::too_many_lines,
    // BOLT names (`htlc_minimum_msat`, `revocation_basepoint`) are similar by design.
    clippy::similar_names,
    // BOLT prose is full of protocol words (BigSize, Noise_XK, shachain) that are not code.
    clippy::doc_markdown
)]
pub mod chain;
pub mod channel;
pub mod crash;
pub mod funding;
pub mod invoice;
pub mod keys;
pub mod node;
pub mod onion;
pub mod payment;
pub mod peer;
pub mod regtest;
pub mod rpc;
pub mod scenario;
pub mod store;
pub mod transport;
pub mod tx;
pub mod units;
pub mod wallet;
pub mod watch;
pub mod wire;
