//! Tests of the invoice module: the spec's examples, and what Petrel writes read back.

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{PublicKey, SecretKey};

mod roundtrip;
mod vectors;

/// The key every BOLT 11 example is signed with.
const SPEC_KEY: &str = "e126f68f7eafcc8b74f54d269fe206be715000f94dac067d1c04a8ca3b2db734";

fn hex32(hex: &str) -> [u8; 32] {
    <[u8; 32]>::from_hex(hex).unwrap()
}

fn spec_key() -> SecretKey {
    SecretKey::from_slice(&hex32(SPEC_KEY)).unwrap()
}

/// The examples' payee, the public key of [`SPEC_KEY`].
fn spec_payee() -> PublicKey {
    "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad"
        .parse()
        .unwrap()
}
