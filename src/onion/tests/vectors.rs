//! BOLT 4's test vectors, byte for byte: `onion-test.json` (construction, then peeling at every
//! hop), `onion-error-test.json` (a failure from the last hop) and the "Returning Errors" trace
//! of 04-onion-routing.md (every hop's ammag key, stream and error packet).

use bitcoin::hex::FromHex;
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use serde_json::Value;

use super::super::crypto::apply_stream;
use super::super::reply::return_packet;
use super::super::roundtrip::FUZZ_SHARED_SECRETS;
use super::super::*;
use crate::units::Msat;
use crate::wire::{read_bigsize, Reader};

const ONION_TEST: &str = include_str!("../../../wire-spec/vectors/bolt04-onion-test.json");
const ERROR_TEST: &str = include_str!("../../../wire-spec/vectors/bolt04-onion-error-test.json");
const RETURNING_ERRORS: &str =
    include_str!("../../../wire-spec/vectors/bolt04-returning-errors.txt");

fn bytes(value: &Value) -> Vec<u8> {
    Vec::from_hex(value.as_str().expect("a hex string")).expect("valid hex")
}

fn bytes32(value: &Value) -> [u8; 32] {
    bytes(value).try_into().expect("32 bytes")
}

/// The vector's payloads carry their BigSize length; the builder takes the bare TLV stream.
fn strip_length(prefixed: &[u8]) -> Vec<u8> {
    let mut r = Reader::new(prefixed);
    let len = read_bigsize(&mut r).expect("length prefix");
    let tlv = r.rest();
    assert_eq!(tlv.len() as u64, len, "vector payload length");
    tlv.to_vec()
}

struct OnionVector {
    session_key: SecretKey,
    associated_data: [u8; 32],
    hops: Vec<(PublicKey, Vec<u8>)>,
    onion: Vec<u8>,
    node_keys: Vec<SecretKey>,
}

fn onion_vector() -> OnionVector {
    let v: Value = serde_json::from_str(ONION_TEST).unwrap();
    let g = &v["generate"];
    let hops = g["hops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hop| {
            let pubkey = PublicKey::from_slice(&bytes(&hop["pubkey"])).unwrap();
            (pubkey, strip_length(&bytes(&hop["payload"])))
        })
        .collect();
    OnionVector {
        session_key: SecretKey::from_slice(&bytes(&g["session_key"])).unwrap(),
        associated_data: bytes32(&g["associated_data"]),
        hops,
        onion: bytes(&v["onion"]),
        node_keys: v["decode"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| SecretKey::from_slice(&bytes(k)).unwrap())
            .collect(),
    }
}

#[test]
fn onion_test_json_builds_byte_for_byte() {
    let v = onion_vector();
    assert_eq!(v.hops.len(), 5);
    let secp = Secp256k1::new();
    let (packet, secrets) =
        build_packet(&secp, &v.session_key, &v.hops, &v.associated_data).unwrap();
    assert_eq!(packet.len(), PACKET_LEN);
    assert_eq!(&packet[..], &v.onion[..]);
    // The same route and session key as onion-error-test.json: the same shared secrets.
    let expected: Vec<SharedSecret> = FUZZ_SHARED_SECRETS.map(SharedSecret).to_vec();
    assert_eq!(secrets, expected);
}

#[test]
fn onion_test_json_peels_at_every_hop() {
    let v = onion_vector();
    let secp = Secp256k1::new();
    assert_eq!(v.node_keys.len(), v.hops.len());
    let mut packet: Box<[u8; PACKET_LEN]> = Box::new(v.onion.as_slice().try_into().unwrap());
    for (i, (node_key, (node_id, payload))) in v.node_keys.iter().zip(&v.hops).enumerate() {
        assert_eq!(
            PublicKey::from_secret_key(&secp, node_key),
            *node_id,
            "hop {i}"
        );
        let raw = peel_raw(&secp, node_key, &packet, &v.associated_data).unwrap();
        assert_eq!(&raw.payload_bytes, payload, "hop {i} payload");
        assert_eq!(
            raw.shared_secret.0, FUZZ_SHARED_SECRETS[i],
            "hop {i} secret"
        );
        // Every payload is a valid non-blinded payload: amounts and expiries as given.
        let peeled = peel(&secp, node_key, &packet, &v.associated_data).unwrap();
        assert_eq!(peeled.payload.encode(), *payload, "hop {i} re-encodes");
        assert_eq!(peeled.next, raw.next);
        match raw.next {
            Some(next) => {
                assert!(i + 1 < v.hops.len(), "hop {i} is the last, yet forwards");
                assert_eq!(
                    peeled.payload.short_channel_id.map(|s| s.0),
                    Some(i as u64 + 1)
                );
                packet = next;
            }
            None => assert_eq!(i + 1, v.hops.len(), "hop {i} is not the last"),
        }
    }
}

/// The hops' decoded payloads, read off the vector by hand.
#[test]
fn onion_test_json_payloads_decode_to_their_fields() {
    let v = onion_vector();
    let first = HopPayload::decode(&v.hops[0].1).unwrap();
    assert_eq!(first.amt_to_forward, Msat(15_000));
    assert_eq!(first.outgoing_cltv_value, 1500);
    assert!(first.unknown_odd.is_empty());
    // Hop 1 carries an unknown odd record (type 513, 60 bytes): kept, in place.
    let second = HopPayload::decode(&v.hops[1].1).unwrap();
    assert_eq!(second.unknown_odd.len(), 1);
    assert_eq!(second.unknown_odd[0].0, 513);
    assert_eq!(second.unknown_odd[0].1.len(), 60);
    // The last hop: payment_data and a long unknown odd record.
    let last = HopPayload::decode(&v.hops[4].1).unwrap();
    assert_eq!(last.short_channel_id, None);
    let data = last.payment_data.unwrap();
    assert_eq!(data.total_msat, Msat(10_000));
    assert_eq!(last.unknown_odd.len(), 1);
}

#[test]
fn onion_error_test_json_round_trip() {
    let v: Value = serde_json::from_str(ERROR_TEST).unwrap();
    let g = &v["generate"];
    let hops = g["hops"].as_array().unwrap();
    let secrets: Vec<SharedSecret> = hops
        .iter()
        .map(|h| SharedSecret(bytes32(&h["hop_shared_secret"])))
        .collect();
    // Shared secrets from the route itself.
    let secp = Secp256k1::new();
    let session_key = SecretKey::from_slice(&bytes(&g["session_key"])).unwrap();
    let route: Vec<(PublicKey, Vec<u8>)> = hops
        .iter()
        .map(|h| {
            (
                PublicKey::from_slice(&bytes(&h["pubkey"])).unwrap(),
                vec![0; 2],
            )
        })
        .collect();
    let (_, built) = build_packet(&secp, &session_key, &route, &[0; 32]).unwrap();
    assert_eq!(built, secrets);
    for (hop, secret) in hops.iter().zip(&secrets) {
        assert_eq!(secret.ammag_key(), bytes32(&hop["ammag_key"]));
    }
    let last = &hops[4];
    assert_eq!(secrets[4].um_key(), bytes32(&last["um_key"]));

    let message = FailureMessage::decode(&bytes(&g["failure_message"])).unwrap();
    assert_eq!(message, FailureMessage::temporary_node_failure());
    // The vector's payload is the return packet without its HMAC.
    let raw = return_packet(&secrets[4], &message.encode(), FAILURE_PAD_TO);
    assert_eq!(&raw[32..], &bytes(&last["payload"])[..]);

    let mut reason = failure_onion(&secrets[4], &message);
    for secret in secrets[..4].iter().rev() {
        reason = wrap_failure(secret, &reason);
    }
    assert_eq!(reason, bytes(&v["errorpacket"]));
    let decoded = decode_failure(&secrets, &reason).unwrap();
    assert_eq!(decoded.hop, 4);
    assert_eq!(decoded.message, message);
}

/// The values of one `name = hex` (or `name: hex`) line of the trace, in order.
fn trace_values(name: &str) -> Vec<Vec<u8>> {
    RETURNING_ERRORS
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix(name)?;
            let value = line.rsplit(' ').next()?;
            Some(Vec::from_hex(value).expect("trace hex"))
        })
        .collect()
}

/// The "Returning Errors" trace: node 4 fails with `incorrect_or_unknown_payment_details`
/// plus a 300-byte TLV, padded to 1024 bytes; every hop's stream and packet on the way back.
#[test]
fn returning_errors_trace() {
    let mut message = FailureMessage::incorrect_or_unknown_payment_details(Msat(100), 800_000);
    // tlv type 34001, length 300, 300 bytes of 128.
    message
        .data
        .extend_from_slice(&[0xfd, 0x84, 0xd1, 0xfd, 0x01, 0x2c]);
    message.data.extend_from_slice(&[128; 300]);
    let encoded = &trace_values("encoded_failure_message")[0];
    assert_eq!(&encoded[..message.encode().len()], &message.encode()[..]);

    let secrets: Vec<SharedSecret> = trace_values("shared_secret")
        .into_iter()
        .map(|s| SharedSecret(s.try_into().unwrap()))
        .collect();
    // The trace lists node 4 first, then each hop on the way back.
    assert_eq!(secrets.len(), 6);
    assert_eq!(secrets[0], secrets[1], "node 4 builds and forwards");
    let route: Vec<SharedSecret> = secrets[1..].iter().rev().copied().collect();
    assert_eq!(route, FUZZ_SHARED_SECRETS.map(SharedSecret).to_vec());
    assert_eq!(secrets[0].um_key().to_vec(), trace_values("um_key")[0]);

    let mut packet = return_packet(&secrets[0], &message.encode(), 1024);
    assert_eq!(packet, trace_values("raw_error_packet")[0]);
    assert_eq!(&packet[32..], &trace_values("payload")[0][..]);

    let ammags = trace_values("ammag_key");
    let streams = trace_values("stream");
    let packets = trace_values("error packet for node");
    assert_eq!(packets.len(), 5);
    for (i, secret) in secrets[1..].iter().enumerate() {
        assert_eq!(secret.ammag_key().to_vec(), ammags[i], "ammag {i}");
        let mut stream = vec![0u8; packet.len()];
        apply_stream(&secret.ammag_key(), &mut stream);
        assert_eq!(stream, streams[i], "stream {i}");
        packet = wrap_failure(secret, &packet);
        assert_eq!(packet, packets[i], "error packet for node {}", 4 - i);
    }

    let decoded = decode_failure(&route, &packet).unwrap();
    assert_eq!(decoded.hop, 4);
    assert_eq!(decoded.message, message);
    let described = decoded.message.describe();
    assert_eq!(described["name"], "incorrect_or_unknown_payment_details");
    assert_eq!(described["htlc_msat"], 100);
    assert_eq!(described["height"], 800_000);
    assert!(described["extra"]
        .as_str()
        .unwrap()
        .starts_with("fd84d1fd012c8080"));
}
