//! Onion tests: BOLT 4's vectors byte for byte, every way a packet, payload or failure can be
//! bad, and random routes built and peeled end to end (proptest).

mod cases;
mod failures;
mod prop;
mod vectors;
