//! Every way a packet or a payload can be bad, and what the reader answers.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

use super::super::roundtrip::sealed_packet;
use super::super::*;
use crate::tx::PaymentPreimage;
use crate::units::Msat;
use crate::wire::{write_bigsize, DecodeReason, ShortChannelId};

const AD: [u8; 32] = [0x42; 32];

fn key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn payload(amt: u64, cltv: u32) -> HopPayload {
    HopPayload {
        amt_to_forward: Msat(amt),
        outgoing_cltv_value: cltv,
        short_channel_id: None,
        payment_data: None,
        payment_metadata: None,
        keysend_preimage: None,
        unknown_odd: Vec::new(),
    }
}

/// A one-hop onion for `key(1)` carrying `tlv`.
fn one_hop(tlv: &[u8]) -> Box<[u8; PACKET_LEN]> {
    let secp = Secp256k1::new();
    let hop = (PublicKey::from_secret_key(&secp, &key(1)), tlv.to_vec());
    build_packet(&secp, &key(9), &[hop], &AD).unwrap().0
}

/// A packet for `key(1)` whose decrypted `hop_payloads` start with `plaintext`.
fn sealed(plaintext: &[u8]) -> Box<[u8; PACKET_LEN]> {
    let secp = Secp256k1::new();
    let mut hop_payloads = [0u8; HOP_PAYLOADS_LEN];
    hop_payloads[..plaintext.len()].copy_from_slice(plaintext);
    let node_id = PublicKey::from_secret_key(&secp, &key(1));
    sealed_packet(&key(9), &node_id, &hop_payloads, &AD)
}

fn peel_err(packet: &[u8; PACKET_LEN]) -> PeelError {
    peel(&Secp256k1::new(), &key(1), packet, &AD).unwrap_err()
}

fn payload_err(packet: &[u8; PACKET_LEN]) -> PayloadError {
    match peel_err(packet) {
        PeelError::Payload { error, .. } => error,
        other @ PeelError::Malformed { .. } => panic!("expected a payload error, got {other:?}"),
    }
}

#[test]
fn final_hop_packet_peels_to_its_payload() {
    let p = payload(1000, 144);
    let packet = one_hop(&p.encode());
    let peeled = peel(&Secp256k1::new(), &key(1), &packet, &AD).unwrap();
    assert_eq!(peeled.payload, p);
    assert!(peeled.next.is_none());
    // The sealed helper agrees with the builder on what the reader sees.
    let mut plain = encode_payload_with_length(&p.encode());
    plain.extend_from_slice(&[0; 32]);
    let peeled = peel(&Secp256k1::new(), &key(1), &sealed(&plain), &AD).unwrap();
    assert_eq!(peeled.payload, p);
}

#[test]
fn any_flipped_bit_is_an_invalid_hmac() {
    let packet = one_hop(&payload(1, 1).encode());
    for byte in [34, 500, PACKET_LEN - 33, PACKET_LEN - 1] {
        let mut bad = packet.clone();
        bad[byte] ^= 1;
        assert_eq!(
            peel_err(&bad),
            PeelError::Malformed {
                failure_code: INVALID_ONION_HMAC
            },
            "byte {byte}"
        );
    }
    // Other associated data (another payment hash) or another node key: the same.
    let secp = Secp256k1::new();
    let err = peel(&secp, &key(1), &packet, &[0; 32]).unwrap_err();
    assert_eq!(
        err,
        PeelError::Malformed {
            failure_code: INVALID_ONION_HMAC
        }
    );
    let err = peel(&secp, &key(2), &packet, &AD).unwrap_err();
    assert_eq!(
        err,
        PeelError::Malformed {
            failure_code: INVALID_ONION_HMAC
        }
    );
}

#[test]
fn a_version_other_than_zero_is_refused() {
    let mut packet = one_hop(&payload(1, 1).encode());
    packet[0] = 1;
    assert_eq!(
        peel_err(&packet),
        PeelError::Malformed {
            failure_code: INVALID_ONION_VERSION
        }
    );
}

#[test]
fn an_invalid_ephemeral_point_is_refused() {
    let mut packet = one_hop(&payload(1, 1).encode());
    packet[1] = 0x04; // not a compressed point prefix
    assert_eq!(
        peel_err(&packet),
        PeelError::Malformed {
            failure_code: INVALID_ONION_KEY
        }
    );
    packet[1..34].fill(0);
    assert_eq!(
        peel_err(&packet),
        PeelError::Malformed {
            failure_code: INVALID_ONION_KEY
        }
    );
}

#[test]
fn reserved_and_overlong_lengths_are_payload_errors() {
    assert_eq!(payload_err(&sealed(&[0])), PayloadError::LengthReserved(0));
    assert_eq!(
        payload_err(&sealed(&[1, 2])),
        PayloadError::LengthReserved(1)
    );
    // 0xfd 0x00 0x10: 16 as a three-byte BigSize is not canonical.
    assert_eq!(
        payload_err(&sealed(&[0xfd, 0x00, 0x10])),
        PayloadError::LengthNotCanonical
    );
    // The longest payload that leaves room for its prefix and the HMAC: 1300 - 3 - 32.
    let mut plain = Vec::new();
    write_bigsize(&mut plain, 1266);
    assert_eq!(
        payload_err(&sealed(&plain)),
        PayloadError::LengthTooLong(1266)
    );
    let mut plain = Vec::new();
    write_bigsize(&mut plain, u64::MAX);
    assert_eq!(
        payload_err(&sealed(&plain)),
        PayloadError::LengthTooLong(u64::MAX)
    );
    // 1265 fits exactly; its zero bytes are not a valid stream (type 0, length 0 repeated).
    let mut plain = Vec::new();
    write_bigsize(&mut plain, 1265);
    let raw = peel_raw(&Secp256k1::new(), &key(1), &sealed(&plain), &AD).unwrap();
    assert_eq!(raw.payload_bytes.len(), 1265);
    assert!(raw.next.is_none());
}

#[test]
fn a_payload_error_carries_the_secret_and_the_failure() {
    let secp = Secp256k1::new();
    // Type 3 (unknown odd), then type 2 again: out of order, at stream offset 5.
    let tlv = [2, 1, 5, 3, 0, 2, 1, 1];
    let err = peel(&secp, &key(1), &one_hop(&tlv), &AD).unwrap_err();
    let PeelError::Payload {
        shared_secret: secret,
        error,
    } = err
    else {
        panic!("expected a payload error");
    };
    let node_id = PublicKey::from_secret_key(&secp, &key(1));
    assert_eq!(secret, shared_secret(&key(9), &node_id));
    // Offsets count from the start of hop_payloads: one byte of length prefix.
    assert_eq!(error.offset(), 5 + 1);
    assert_eq!(error.tlv_type(), 2);
    assert_eq!(error.failure(), FailureMessage::invalid_onion_payload(2, 6));
}

#[test]
fn missing_amount_or_cltv_is_refused() {
    // Only outgoing_cltv_value.
    assert_eq!(
        HopPayload::decode(&[4, 1, 9]),
        Err(PayloadError::Missing { type_num: 2 })
    );
    // Only amt_to_forward.
    assert_eq!(
        HopPayload::decode(&[2, 1, 9]),
        Err(PayloadError::Missing { type_num: 4 })
    );
    assert_eq!(
        HopPayload::decode(&[]),
        Err(PayloadError::Missing { type_num: 2 })
    );
    // Through a packet: the failure names the missing type at offset 0.
    let err = payload_err(&one_hop(&[4, 1, 9]));
    assert_eq!(err.failure(), FailureMessage::invalid_onion_payload(2, 0));
}

#[test]
fn unknown_even_types_are_refused_and_odd_ones_kept() {
    let base = payload(5, 6).encode();
    let mut even = base.clone();
    even.extend_from_slice(&[100, 1, 0xaa]);
    assert_eq!(
        HopPayload::decode(&even),
        Err(PayloadError::UnknownEven {
            type_num: 100,
            offset: u16::try_from(base.len()).unwrap()
        })
    );
    let mut odd = base.clone();
    odd.extend_from_slice(&[101, 1, 0xaa, 0xfd, 0x01, 0x01, 0]);
    let decoded = HopPayload::decode(&odd).unwrap();
    assert_eq!(decoded.unknown_odd, vec![(101, vec![0xaa]), (257, vec![])]);
    assert_eq!(decoded.encode(), odd);
    // Odd records below the known ones are written in type order too.
    let mut low = vec![1, 0];
    low.extend_from_slice(&base);
    let decoded = HopPayload::decode(&low).unwrap();
    assert_eq!(decoded.unknown_odd, vec![(1, vec![])]);
    assert_eq!(decoded.encode(), low);
}

#[test]
fn route_blinding_records_are_refused() {
    for (type_num, value) in [(10u8, vec![1, 2, 3]), (12, vec![2; 33]), (18, vec![1])] {
        let mut tlv = payload(5, 6).encode();
        let offset = u16::try_from(tlv.len()).unwrap();
        tlv.push(type_num);
        tlv.push(u8::try_from(value.len()).unwrap());
        tlv.extend_from_slice(&value);
        assert_eq!(
            HopPayload::decode(&tlv),
            Err(PayloadError::Blinded {
                type_num: u64::from(type_num),
                offset
            })
        );
    }
}

#[test]
fn records_must_be_minimal_and_exactly_sized() {
    let cases: [(&[u8], u64, DecodeReason); 6] = [
        // amt_to_forward with a leading zero.
        (&[2, 2, 0, 1, 4, 0], 2, DecodeReason::NonMinimalTruncatedInt),
        // amt_to_forward of 9 bytes.
        (
            &[2, 9, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            2,
            DecodeReason::TlvRecordTooLong { extra: 1 },
        ),
        // outgoing_cltv_value of 5 bytes.
        (
            &[2, 0, 4, 5, 1, 1, 1, 1, 1],
            4,
            DecodeReason::TlvRecordTooLong { extra: 1 },
        ),
        // short_channel_id of 7 bytes.
        (
            &[2, 0, 4, 0, 6, 7, 1, 1, 1, 1, 1, 1, 1],
            6,
            DecodeReason::ShortRead {
                needed: 1,
                available: 7,
            },
        ),
        // payment_data without its secret.
        (
            &[2, 0, 4, 0, 8, 1, 1],
            8,
            DecodeReason::ShortRead {
                needed: 31,
                available: 1,
            },
        ),
        // payment_data whose total_msat has a leading zero.
        (
            &[
                2, 0, 4, 0, 8, 34, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0, 1,
            ],
            8,
            DecodeReason::NonMinimalTruncatedInt,
        ),
    ];
    for (tlv, type_num, reason) in cases {
        match HopPayload::decode(tlv) {
            Err(PayloadError::Record {
                type_num: t,
                reason: r,
                ..
            }) => {
                assert_eq!((t, &r), (type_num, &reason), "{tlv:02x?}");
            }
            other => panic!("{tlv:02x?}: {other:?}"),
        }
    }
}

#[test]
fn stream_rules_are_enforced_with_offsets() {
    // A length past the end, at offset 3.
    let err = HopPayload::decode(&[2, 1, 1, 4, 9, 1]).unwrap_err();
    assert!(matches!(
        err,
        PayloadError::Stream {
            offset: 3,
            reason: DecodeReason::TlvLengthExceedsInput { .. },
            ..
        }
    ));
    // A duplicate type.
    let err = HopPayload::decode(&[2, 1, 1, 2, 1, 1]).unwrap_err();
    assert_eq!(err.tlv_type(), 2);
    assert_eq!(err.offset(), 3);
    // A non-canonical type BigSize.
    let err = HopPayload::decode(&[0xfd, 0, 2, 1, 1]).unwrap_err();
    assert!(matches!(
        err,
        PayloadError::Stream {
            offset: 0,
            reason: DecodeReason::NonCanonicalBigSize,
            ..
        }
    ));
}

#[test]
fn keysend_and_payment_data_round_trip() {
    let mut p = payload(123_456_789, 800_000);
    p.keysend_preimage = Some(PaymentPreimage([0x11; 32]));
    let bytes = p.encode();
    // The keysend type, 5482373484 = 0x1_46c6_616c, is a nine-byte BigSize.
    assert!(bytes
        .windows(10)
        .any(|w| w == [0xff, 0, 0, 0, 1, 0x46, 0xc6, 0x61, 0x6c, 32]));
    assert_eq!(HopPayload::decode(&bytes), Ok(p.clone()));

    p.keysend_preimage = None;
    p.payment_data = Some(PaymentData {
        payment_secret: [0x22; 32],
        total_msat: Msat(0),
    });
    p.payment_metadata = Some(vec![1, 2, 3]);
    let decoded = HopPayload::decode(&p.encode()).unwrap();
    assert_eq!(decoded, p);
    // Zero amounts encode as empty truncated integers.
    let zero = payload(0, 0);
    assert_eq!(zero.encode(), vec![2, 0, 4, 0]);
    assert_eq!(HopPayload::decode(&[2, 0, 4, 0]), Ok(zero));

    let mut forward = payload(1, 2);
    forward.short_channel_id = ShortChannelId::new(700_000, 12, 1);
    assert_eq!(HopPayload::decode(&forward.encode()), Ok(forward));
}

#[test]
fn build_refuses_what_no_reader_would_take() {
    let secp = Secp256k1::new();
    let node = PublicKey::from_secret_key(&secp, &key(1));
    assert_eq!(
        build_packet(&secp, &key(9), &[], &AD).unwrap_err(),
        BuildError::NoHops
    );
    assert_eq!(
        build_packet(&secp, &key(9), &[(node, vec![2])], &AD).unwrap_err(),
        BuildError::PayloadTooShort { hop: 0, len: 1 }
    );
    // 1265 bytes fit exactly; one more does not.
    assert!(build_packet(&secp, &key(9), &[(node, vec![1; 1265])], &AD).is_ok());
    assert_eq!(
        build_packet(&secp, &key(9), &[(node, vec![1; 1266])], &AD).unwrap_err(),
        BuildError::TooLarge { needed: 1301 }
    );
    // 27 hops of the smallest payload (1 + 4 + 32 = 37 bytes each) fill 999 bytes.
    let hops: Vec<_> = (0..27).map(|_| (node, vec![2, 0, 4, 0])).collect();
    assert!(build_packet(&secp, &key(9), &hops, &AD).is_ok());
}

#[test]
fn sha256_of_onion_is_plain_sha256() {
    // SHA256 of the empty string.
    assert_eq!(sha256_of_onion(&[])[..4], [0xe3, 0xb0, 0xc4, 0x42]);
}
