//! Tests of the invoice module: the spec's examples, and what Petrel writes read back.

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::PublicKey;

mod vectors;

fn hex32(hex: &str) -> [u8; 32] {
    <[u8; 32]>::from_hex(hex).unwrap()
}

/// The examples' payee, the public key of the key they are all signed with.
fn spec_payee() -> PublicKey {
    "03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad"
        .parse()
        .unwrap()
}
