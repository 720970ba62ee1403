//! Channel core tests, on the socket-free [`pair::Pair`] harness: the flows, every BOLT 2
//! requirement of the table in `channel/mod.rs`, retransmission and restarts, closing with
//! HTLCs, random interleavings (proptest), the BOLT 3 Appendix C vectors through the core's
//! own builder, and the bytes written per update.

mod closing;
mod flow;
pub(crate) mod pair;
mod prop;
mod reestablish;
mod rules;
mod vectors;
