//! The properties the onion fuzz targets check (`fuzz/fuzz_targets/onion_*.rs`), shared with
//! the corpus replay of `tests/wire_spec.rs` so that plain `cargo test` runs every committed
//! input through them. Each panics when a property fails, which is what a fuzzer looks for.
//!
//! The fixed key and secrets are those of the BOLT 4 test vectors, so the vectors seed the
//! corpora with inputs that get past every HMAC.

use std::sync::OnceLock;

use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};

use super::crypto::{apply_stream, hmac};
use super::{
    decode_failure, peel, peel_raw, shared_secret, FailureError, FailureMessage, HopPayload,
    PeelError, SharedSecret, HOP_PAYLOADS_LEN, ONION_VERSION, PACKET_LEN,
};

/// The node key [`check_peel`] peels with: the first hop's key in BOLT 4's `onion-test.json`.
pub const FUZZ_NODE_KEY: [u8; 32] = [0x41; 32];
/// The associated data [`check_peel`] uses: the vector's.
pub const FUZZ_ASSOCIATED_DATA: [u8; 32] = [0x42; 32];
/// The ephemeral secret of the packets [`check_peel`] authenticates itself.
const FUZZ_EPHEMERAL: [u8; 32] = [0x43; 32];

/// The route's shared secrets [`check_failure`] decodes with: those of BOLT 4's
/// `onion-error-test.json`, first hop first.
pub const FUZZ_SHARED_SECRETS: [[u8; 32]; 5] = [
    hex32("53eb63ea8a3fec3b3cd433b85cd62a4b145e1dda09391b348c4e1cd36a03ea66"),
    hex32("a6519e98832a0b179f62123b3567c106db99ee37bef036e783263602f3488fae"),
    hex32("3a6b412548762f0dbccce5c7ae7bb8147d1caf9b5471c34120b30bc9c04891cc"),
    hex32("21e13c2d7cfe7e18836df50872466117a295783ab8aab0e7ecc8c725503ad02d"),
    hex32("b5756b9b542727dbafc6765a49488b023a725d631af688fc031217e90770c328"),
];

/// 64 hex digits as bytes, at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    const fn digit(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let bytes = s.as_bytes();
    assert!(bytes.len() == 64, "need 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (digit(bytes[2 * i]) << 4) | digit(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

fn secp() -> &'static Secp256k1<All> {
    static SECP: OnceLock<Secp256k1<All>> = OnceLock::new();
    SECP.get_or_init(Secp256k1::new)
}

fn key(bytes: [u8; 32]) -> SecretKey {
    SecretKey::from_slice(&bytes).expect("the fixed keys are valid")
}

/// A packet for the holder of `node_key` whose `hop_payloads` decrypt to `plaintext`, with a
/// valid HMAC: lets tests and the fuzzer reach everything after the HMAC check.
pub(crate) fn sealed_packet(
    ephemeral: &SecretKey,
    node_id: &PublicKey,
    plaintext: &[u8; HOP_PAYLOADS_LEN],
    associated_data: &[u8; 32],
) -> Box<[u8; PACKET_LEN]> {
    let secret = shared_secret(ephemeral, node_id);
    let mut hop_payloads = *plaintext;
    apply_stream(&secret.rho_key(), &mut hop_payloads);
    let mac = hmac(&secret.mu_key(), &[&hop_payloads, associated_data]);
    let mut packet = Box::new([0u8; PACKET_LEN]);
    packet[0] = ONION_VERSION;
    packet[1..34].copy_from_slice(&PublicKey::from_secret_key(secp(), ephemeral).serialize());
    packet[34..34 + HOP_PAYLOADS_LEN].copy_from_slice(&hop_payloads);
    packet[34 + HOP_PAYLOADS_LEN..].copy_from_slice(&mac);
    packet
}

/// `data` cut or zero-padded to `N` bytes.
fn fixed<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = data.len().min(N);
    out[..n].copy_from_slice(&data[..n]);
    out
}

/// Peels `data` (cut or padded to a packet) with [`FUZZ_NODE_KEY`], then peels a packet whose
/// decrypted `hop_payloads` are `data`: neither may panic, the second always passes the HMAC
/// check, and what it yields is exactly the payload and next HMAC `data` holds.
///
/// # Panics
///
/// When the property fails: that is the finding.
pub fn check_peel(data: &[u8]) {
    let secp = secp();
    let node_key = key(FUZZ_NODE_KEY);
    let _ = peel(
        secp,
        &node_key,
        &fixed::<PACKET_LEN>(data),
        &FUZZ_ASSOCIATED_DATA,
    );

    let plaintext = fixed::<HOP_PAYLOADS_LEN>(data);
    let node_id = PublicKey::from_secret_key(secp, &node_key);
    let packet = sealed_packet(
        &key(FUZZ_EPHEMERAL),
        &node_id,
        &plaintext,
        &FUZZ_ASSOCIATED_DATA,
    );
    match peel_raw(secp, &node_key, &packet, &FUZZ_ASSOCIATED_DATA) {
        Ok(raw) => {
            let prefixed = super::encode_payload_with_length(&raw.payload_bytes);
            assert_eq!(&plaintext[..prefixed.len()], &prefixed[..], "payload bytes");
            let hmac_at = prefixed.len();
            let next_hmac = &plaintext[hmac_at..hmac_at + 32];
            match &raw.next {
                None => assert!(next_hmac.iter().all(|b| *b == 0), "final only on zero hmac"),
                Some(next) => assert_eq!(&next[PACKET_LEN - 32..], next_hmac, "next hmac"),
            }
            let peeled = peel(secp, &node_key, &packet, &FUZZ_ASSOCIATED_DATA);
            match (HopPayload::decode(&raw.payload_bytes), peeled) {
                (Ok(payload), Ok(peeled)) => assert_eq!(payload, peeled.payload),
                (Err(_), Err(PeelError::Payload { .. })) => {}
                (decoded, peeled) => panic!("peel and decode disagree: {decoded:?} {peeled:?}"),
            }
        }
        Err(PeelError::Payload { error, .. }) => check_failure_encodes(&error.failure()),
        Err(PeelError::Malformed { failure_code }) => {
            panic!("an authenticated packet came out malformed ({failure_code:#06x})")
        }
    }
}

/// Decodes `data` as a payload TLV stream: an accepted payload re-encodes to exactly `data`
/// (decode accepts only canonical encodings), and a rejection yields an encodable failure.
///
/// # Panics
///
/// When the property fails: that is the finding.
pub fn check_payload(data: &[u8]) {
    match HopPayload::decode(data) {
        Ok(payload) => {
            let encoded = payload.encode();
            assert_eq!(encoded, data, "accepted payload re-encodes differently");
        }
        Err(error) => check_failure_encodes(&error.failure()),
    }
}

/// Failure bytes three ways: as a `failuremsg`, as a return packet for the fixed route, and
/// as a `failuremsg` that hop `data[0] % 5` authenticates and the route obfuscates, which
/// [`decode_failure`] must attribute to that hop.
///
/// # Panics
///
/// When the property fails: that is the finding.
pub fn check_failure(data: &[u8]) {
    if let Ok(message) = FailureMessage::decode(data) {
        assert_eq!(message.encode(), data, "failuremsg re-encodes differently");
        let _ = message.describe();
    }
    let secrets: Vec<SharedSecret> = FUZZ_SHARED_SECRETS
        .iter()
        .copied()
        .map(SharedSecret)
        .collect();
    if let Ok(decoded) = decode_failure(&secrets, data) {
        let _ = decoded.message.describe();
    }

    let Some((first, message)) = data.split_first() else {
        return;
    };
    if message.len() > usize::from(u16::MAX) {
        return;
    }
    let hop = usize::from(*first) % secrets.len();
    let mut reason = super::reply::return_packet(&secrets[hop], message, super::FAILURE_PAD_TO);
    for secret in secrets[..=hop].iter().rev() {
        reason = super::wrap_failure(secret, &reason);
    }
    match decode_failure(&secrets, &reason) {
        Ok(decoded) => {
            assert_eq!(decoded.hop, hop, "attributed to the wrong hop");
            assert_eq!(
                decoded.message.encode(),
                message,
                "message changed on the way"
            );
        }
        Err(FailureError::BadMessage { hop: found, .. }) => assert_eq!(found, hop),
        Err(other) => panic!("an authenticated failure was not attributed: {other}"),
    }
}

/// A failure we would send decodes back to itself.
fn check_failure_encodes(failure: &FailureMessage) {
    assert_eq!(
        FailureMessage::decode(&failure.encode()).as_ref(),
        Ok(failure),
        "our own failure does not decode"
    );
}
