//! Message-level tests: BOLT 1 Appendix C, round trips of every message, truncation, errors.

use bitcoin::hex::FromHex;
use proptest::prelude::*;

use super::*;

const APPENDIX_C: &str = include_str!("../../wire-spec/vectors/bolt01-appendix-c-extension.txt");

/// BOLT 1 Appendix C: valid extensions decode (and odd records survive re-encoding), invalid
/// ones are rejected.
#[test]
fn bolt1_appendix_c_message_extension() {
    let mut seen = 0;
    for line in APPENDIX_C.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('|').collect();
        let bytes = Vec::from_hex(cols[1]).unwrap();
        let result = Message::decode(&bytes);
        match cols[0] {
            "valid" => {
                let msg = result.unwrap_or_else(|e| panic!("{}: {e}", cols[2]));
                assert!(matches!(msg, Message::Init(_)));
                assert_eq!(msg.encode_to_vec().unwrap(), bytes, "{}", cols[2]);
            }
            "invalid" => {
                let err = result.expect_err(cols[2]);
                assert_eq!(err.message, "init", "{err}");
            }
            other => panic!("bad kind {other}"),
        }
        seen += 1;
    }
    assert_eq!(seen, 5);
}

#[test]
fn bolt1_appendix_c_unknown_odd_records_are_kept() {
    let bytes = Vec::from_hex("001000000000c9012acb0104").unwrap();
    let Message::Init(init) = Message::decode(&bytes).unwrap() else {
        panic!("not init");
    };
    let types: Vec<u64> = init.tlvs.unknown.iter().map(|r| r.type_num).collect();
    assert_eq!(types, [0xc9, 0xcb]);
}

#[test]
fn unknown_message_types_follow_it_is_ok_to_be_odd() {
    // Odd unknown: kept whole.
    let msg = Message::decode(&[0x80, 0x01, 0xaa]).unwrap();
    assert_eq!(
        msg,
        Message::Unknown(UnknownMessage {
            type_num: 0x8001,
            payload: vec![0xaa]
        })
    );
    assert_eq!(msg.encode_to_vec().unwrap(), [0x80, 0x01, 0xaa]);
    // Even unknown: an error that says so.
    let err = Message::decode(&[0x80, 0x00]).unwrap_err();
    assert_eq!(err.reason, DecodeReason::UnknownEvenMessage(0x8000));
    // No type at all.
    assert_eq!(
        Message::decode(&[0x00]).unwrap_err().reason,
        DecodeReason::MissingType
    );
}

#[test]
fn bolt7_gossip_types_are_known_and_kept_whole() {
    // A `channel_update` (258, even) as a peer sends it for a private channel: BOLT 7 lets it,
    // so it must not close the connection the way an unknown even type does.
    let mut channel_update = vec![0x01, 0x02];
    channel_update.extend_from_slice(&[0x33; 64]); // signature
    channel_update.extend_from_slice(&[0x06; 32]); // chain_hash
    channel_update.extend_from_slice(&[0, 0, 0x67, 0, 0, 0x01, 0, 0]); // short_channel_id
    channel_update.extend_from_slice(&[0x65, 0, 0, 0, 0x03, 0x01, 0, 0x48]);
    channel_update.extend_from_slice(&[0; 8 + 4 + 4 + 8]);
    let msg = Message::decode(&channel_update).unwrap();
    let Message::Unknown(unknown) = &msg else {
        panic!("channel_update decoded to {msg:?}");
    };
    assert_eq!(unknown.type_num, 258);
    assert_eq!(msg.encode_to_vec().unwrap(), channel_update);
    for type_num in GOSSIP_MESSAGE_TYPES {
        let bytes = type_num.to_be_bytes();
        assert!(
            matches!(Message::decode(&bytes), Ok(Message::Unknown(m)) if m.type_num == type_num),
            "type {type_num}"
        );
    }
    // Even types BOLT 7 does not define, in the routing range and past it, still close.
    for type_num in [260u16, 266, 510] {
        assert_eq!(
            Message::decode(&type_num.to_be_bytes()).unwrap_err().reason,
            DecodeReason::UnknownEvenMessage(type_num)
        );
    }
}

#[test]
fn every_bolt_message_type_is_generated() {
    let names: Vec<&str> = MESSAGE_TYPES.iter().map(|(_, n)| *n).collect();
    for required in [
        "init",
        "error",
        "warning",
        "ping",
        "pong",
        "peer_storage",
        "peer_storage_retrieval",
        "open_channel",
        "accept_channel",
        "funding_created",
        "funding_signed",
        "channel_ready",
        "shutdown",
        "closing_signed",
        "closing_complete",
        "closing_sig",
        "update_add_htlc",
        "update_fulfill_htlc",
        "update_fail_htlc",
        "update_fail_malformed_htlc",
        "commitment_signed",
        "revoke_and_ack",
        "update_fee",
        "channel_reestablish",
        "stfu",
        "start_batch",
        "tx_add_input",
        "tx_add_output",
        "tx_remove_input",
        "tx_remove_output",
        "tx_complete",
        "tx_signatures",
        "tx_init_rbf",
        "tx_ack_rbf",
        "tx_abort",
        "open_channel2",
        "accept_channel2",
        "splice_init",
        "splice_ack",
        "splice_locked",
    ] {
        assert!(names.contains(&required), "{required} missing");
    }
    assert_eq!(names.len(), 40);
}

/// Encodes a sample, decodes it, and checks equality and byte stability.
fn roundtrip_sample<T: WireMessage + PartialEq + core::fmt::Debug>(seed: u64) {
    let msg = T::sample(&mut Sampler::new(seed));
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload).unwrap();
    let decoded = T::decode_payload(&payload).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert_eq!(decoded, msg, "seed {seed}");
    roundtrip::check_payload::<T>(&payload);
    // Whole message through the enum, with the JSON view.
    let whole = msg.into_message();
    let bytes = whole.encode_to_vec().unwrap();
    assert_eq!(bytes[..2], T::TYPE.to_be_bytes());
    assert_eq!(Message::decode(&bytes).unwrap(), whole);
    assert_eq!(whole.to_json()["type"], T::NAME);
}

/// Every strict prefix of a valid payload fails to decode (or, where the message ends in a
/// TLV stream, decodes to fewer records), and none panics.
fn truncations<T: WireMessage + PartialEq + core::fmt::Debug>(seed: u64) {
    let mut s = Sampler::new(seed);
    s.unknown_tlvs = false;
    let msg = T::sample(&mut s);
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload).unwrap();
    for cut in 0..payload.len() {
        if let Ok(shorter) = T::decode_payload(&payload[..cut]) {
            assert_ne!(
                shorter,
                msg,
                "{}: prefix {cut} decoded to the same value",
                T::NAME
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_message_round_trips(seed in any::<u64>()) {
        macro_rules! check { ($t:ident) => { roundtrip_sample::<$t>(seed); }; }
        for_each_message!(check);
    }

    #[test]
    fn every_message_rejects_or_shrinks_on_truncation(seed in any::<u64>()) {
        macro_rules! check { ($t:ident) => { truncations::<$t>(seed); }; }
        for_each_message!(check);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        roundtrip::check_message(&bytes);
        roundtrip::check_tlv_stream(&bytes);
        macro_rules! check { ($t:ident) => { roundtrip::check_payload::<$t>(&bytes); }; }
        for_each_message!(check);
    }
}

#[test]
fn truncated_open_channel_names_the_field() {
    let msg = OpenChannel::sample(&mut Sampler::new(7));
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload).unwrap();
    // Cut inside `funding_pubkey` (offset 32+32+8*6+4+2+2 = 120, a 33-byte point).
    let err = OpenChannel::decode_payload(&payload[..130]).unwrap_err();
    assert_eq!(err.message, "open_channel");
    assert_eq!(err.field, "funding_pubkey");
    assert!(matches!(
        err.reason,
        DecodeReason::ShortRead {
            needed: 33,
            available: 10
        }
    ));
    assert_eq!(
        err.to_string(),
        "open_channel: funding_pubkey: truncated: needs 33 more bytes, 10 left"
    );
}

#[test]
fn invalid_point_and_signature_are_named() {
    let msg = FundingSigned::sample(&mut Sampler::new(1));
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload).unwrap();
    payload[32..96].fill(0xff);
    let err = FundingSigned::decode_payload(&payload).unwrap_err();
    assert_eq!(
        (err.field, err.reason),
        ("signature", DecodeReason::InvalidSignature)
    );

    let msg = ChannelReady::sample(&mut Sampler::new(1));
    let mut payload = Vec::new();
    msg.encode_payload(&mut payload).unwrap();
    payload[32] = 0x05;
    let err = ChannelReady::decode_payload(&payload).unwrap_err();
    assert_eq!(
        (err.field, err.reason),
        ("second_per_commitment_point", DecodeReason::InvalidPoint)
    );
}

#[test]
fn forged_counts_do_not_allocate() {
    // commitment_signed claiming 65535 signatures with none present must fail before
    // reserving 65535 * 64 bytes.
    let mut payload = vec![0u8; 32 + 64];
    payload[32] = 0x01; // a valid-looking signature scalar (r = 1 << 248)
    payload[64] = 0x01;
    payload.extend_from_slice(&[0xff, 0xff]);
    let err = CommitmentSigned::decode_payload(&payload).unwrap_err();
    assert_eq!(err.field, "htlc_signature");
    assert!(matches!(err.reason, DecodeReason::ShortRead { .. }));
}

#[test]
fn oversized_fields_are_an_encode_error_not_a_truncation() {
    let msg = Message::Error(Error {
        channel_id: ChannelId::ALL,
        data: vec![0; 70_000],
        tlvs: Extension::default(),
    });
    assert!(matches!(
        msg.encode_to_vec(),
        Err(EncodeError::LengthOverflow {
            field: "data",
            prefix_bits: 16,
            ..
        })
    ));
    // Fits its prefix, but not a BOLT 8 frame.
    let msg = Message::Pong(Pong {
        ignored: vec![0; 65_535],
        tlvs: Extension::default(),
    });
    assert!(matches!(
        msg.encode_to_vec(),
        Err(EncodeError::TooLong { .. })
    ));
}

#[test]
fn json_uses_bolt_field_names() {
    let bytes = Vec::from_hex("001000000000c9012acb0104").unwrap();
    let json = Message::decode(&bytes).unwrap().to_json();
    assert_eq!(
        json.to_string(),
        r#"{"type":"init","type_id":16,"fields":{"gflen":0,"globalfeatures":"","flen":0,"features":"","tlvs":{"unknown":{"201":"2a","203":"04"}}}}"#
    );
}
