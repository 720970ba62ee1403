//! Failure messages and the return path: every constructor against its BOLT 4 layout, decoding
//! cut-short data, corrupted return packets, and attribution along a route.

use super::super::roundtrip::{check_failure, FUZZ_SHARED_SECRETS};
use super::super::*;
use crate::units::Msat;
use crate::wire::DecodeReason;

fn route() -> Vec<SharedSecret> {
    FUZZ_SHARED_SECRETS.map(SharedSecret).to_vec()
}

/// Every constructor: its code, name, layout and description.
#[test]
fn constructors_encode_their_bolt4_layout() {
    let update = Some(vec![0xab; 3]);
    let cases: Vec<(FailureMessage, u16, &str, &str)> = vec![
        (
            FailureMessage::temporary_node_failure(),
            0x2002,
            "temporary_node_failure",
            "",
        ),
        (
            FailureMessage::permanent_node_failure(),
            0x6002,
            "permanent_node_failure",
            "",
        ),
        (
            FailureMessage::required_node_feature_missing(),
            0x6003,
            "required_node_feature_missing",
            "",
        ),
        (
            FailureMessage::temporary_channel_failure(update.clone()),
            0x1007,
            "temporary_channel_failure",
            "0003ababab",
        ),
        (
            FailureMessage::temporary_channel_failure(None),
            0x1007,
            "temporary_channel_failure",
            "0000",
        ),
        (
            FailureMessage::permanent_channel_failure(),
            0x4008,
            "permanent_channel_failure",
            "",
        ),
        (
            FailureMessage::required_channel_feature_missing(),
            0x4009,
            "required_channel_feature_missing",
            "",
        ),
        (
            FailureMessage::unknown_next_peer(),
            0x400a,
            "unknown_next_peer",
            "",
        ),
        (
            FailureMessage::amount_below_minimum(Msat(1), None),
            0x100b,
            "amount_below_minimum",
            "00000000000000010000",
        ),
        (
            FailureMessage::fee_insufficient(Msat(2), update.clone()),
            0x100c,
            "fee_insufficient",
            "00000000000000020003ababab",
        ),
        (
            FailureMessage::incorrect_cltv_expiry(3, None),
            0x100d,
            "incorrect_cltv_expiry",
            "000000030000",
        ),
        (
            FailureMessage::expiry_too_soon(None),
            0x100e,
            "expiry_too_soon",
            "0000",
        ),
        (
            FailureMessage::incorrect_or_unknown_payment_details(Msat(100), 800_000),
            0x400f,
            "incorrect_or_unknown_payment_details",
            "0000000000000064000c3500",
        ),
        (
            FailureMessage::final_incorrect_cltv_expiry(500),
            18,
            "final_incorrect_cltv_expiry",
            "000001f4",
        ),
        (
            FailureMessage::final_incorrect_htlc_amount(Msat(7)),
            19,
            "final_incorrect_htlc_amount",
            "0000000000000007",
        ),
        (
            FailureMessage::channel_disabled(None),
            0x1014,
            "channel_disabled",
            "00000000",
        ),
        (FailureMessage::expiry_too_far(), 21, "expiry_too_far", ""),
        (
            FailureMessage::invalid_onion_payload(0x1_0000, 7),
            0x4016,
            "invalid_onion_payload",
            "fe000100000007",
        ),
        (FailureMessage::mpp_timeout(), 23, "mpp_timeout", ""),
    ];
    for (message, code, name, data) in cases {
        assert_eq!(message.code, code, "{name}");
        assert_eq!(message.name(), name);
        assert_eq!(
            bitcoin::hex::DisplayHex::to_lower_hex_string(&message.data[..]),
            data,
            "{name}"
        );
        let encoded = message.encode();
        assert_eq!(encoded[..2], code.to_be_bytes());
        assert_eq!(
            FailureMessage::decode(&encoded),
            Ok(message.clone()),
            "{name}"
        );
        let described = message.describe();
        assert_eq!(described["code"], code, "{name}");
        assert_eq!(described["name"], name);
        assert!(described.get("error").is_none(), "{name}: {described}");
    }
}

#[test]
fn describe_names_fields_and_flags() {
    let d = FailureMessage::incorrect_or_unknown_payment_details(Msat(100), 800_000).describe();
    assert_eq!(d["htlc_msat"], 100);
    assert_eq!(d["height"], 800_000);
    assert_eq!(d["flags"], serde_json::json!(["PERM"]));
    let d = FailureMessage::invalid_onion_payload(2, 6).describe();
    assert_eq!(
        (d["type"].as_u64(), d["offset"].as_u64()),
        (Some(2), Some(6))
    );
    let d = FailureMessage::fee_insufficient(Msat(5), Some(vec![1, 2])).describe();
    assert_eq!(d["channel_update"], "0102");
    assert_eq!(d["flags"], serde_json::json!(["UPDATE"]));
    let unknown = FailureMessage {
        code: 0x7777,
        data: vec![1],
    };
    assert_eq!(unknown.name(), "unknown");
    assert_eq!(unknown.describe()["extra"], "01");
    // Fields cut short are described, not panicked on.
    let short = FailureMessage {
        code: 0x400f,
        data: vec![0; 9],
    };
    let d = short.describe();
    assert_eq!(d["data"], "000000000000000000");
    assert!(d["error"].as_str().unwrap().contains("height"));
    assert!(FailureMessage::permanent_node_failure().is_permanent());
    assert!(FailureMessage::permanent_node_failure().is_node_failure());
    assert!(!FailureMessage::mpp_timeout().is_permanent());
}

/// Every prefix of every known failure with fields: an error below the fields' size, never a
/// panic; extra bytes after the fields are kept.
#[test]
fn cut_short_failures_are_errors() {
    assert_eq!(FailureMessage::decode(&[]), Err(FailureError::NoCode));
    assert_eq!(FailureMessage::decode(&[0x40]), Err(FailureError::NoCode));
    let full = [
        FailureMessage::incorrect_or_unknown_payment_details(Msat(1), 2),
        FailureMessage::fee_insufficient(Msat(3), Some(vec![9; 10])),
        FailureMessage::invalid_onion_payload(70_000, 3),
        FailureMessage::channel_disabled(Some(vec![1])),
        FailureMessage::final_incorrect_htlc_amount(Msat(4)),
    ];
    for message in full {
        let encoded = message.encode();
        for cut in 2..encoded.len() {
            let err = FailureMessage::decode(&encoded[..cut]).unwrap_err();
            assert!(
                matches!(
                    err,
                    FailureError::Field {
                        reason: DecodeReason::ShortRead { .. },
                        ..
                    }
                ),
                "{} cut at {cut}: {err:?}",
                message.name()
            );
        }
        let mut longer = encoded.clone();
        longer.extend_from_slice(&[1, 2, 3]);
        let decoded = FailureMessage::decode(&longer).unwrap();
        assert_eq!(decoded.encode(), longer);
    }
    // A non-canonical BigSize in invalid_onion_payload's type.
    let err = FailureMessage::decode(&[0x40, 0x16, 0xfd, 0, 1, 0, 0]).unwrap_err();
    assert!(matches!(
        err,
        FailureError::Field {
            reason: DecodeReason::NonCanonicalBigSize,
            ..
        }
    ));
}

/// A failure from each hop of the route is attributed to that hop.
#[test]
fn each_hop_is_attributed() {
    let secrets = route();
    for hop in 0..secrets.len() {
        let message = FailureMessage::final_incorrect_cltv_expiry(u32::try_from(hop).unwrap());
        let mut reason = failure_onion(&secrets[hop], &message);
        assert_eq!(reason.len(), 32 + 2 + 256 + 2, "padded to 256");
        for secret in secrets[..hop].iter().rev() {
            reason = wrap_failure(secret, &reason);
        }
        let decoded = decode_failure(&secrets, &reason).unwrap();
        assert_eq!(decoded, DecodedFailure { hop, message });
    }
}

#[test]
fn corrupted_or_short_reasons_are_errors() {
    let secrets = route();
    let message = FailureMessage::temporary_channel_failure(None);
    let mut reason = failure_onion(&secrets[2], &message);
    reason = wrap_failure(&secrets[1], &reason);
    reason = wrap_failure(&secrets[0], &reason);
    for byte in [0, 31, 32, 100, reason.len() - 1] {
        let mut bad = reason.clone();
        bad[byte] ^= 0x80;
        assert_eq!(
            decode_failure(&secrets, &bad),
            Err(FailureError::NoHopMatched),
            "byte {byte}"
        );
    }
    // An extra layer from the first hop: no hop matches.
    assert_eq!(
        decode_failure(&secrets, &wrap_failure(&secrets[0], &reason)),
        Err(FailureError::NoHopMatched)
    );
    // No route, or a route without the erring hop.
    assert_eq!(
        decode_failure(&[], &reason),
        Err(FailureError::NoHopMatched)
    );
    assert_eq!(
        decode_failure(&secrets[..2], &reason),
        Err(FailureError::NoHopMatched)
    );
    for len in [0, 1, 33] {
        assert_eq!(
            decode_failure(&secrets, &reason[..len]),
            Err(FailureError::PacketTooShort(len))
        );
    }
    // Cut packets fail the HMAC.
    assert_eq!(
        decode_failure(&secrets, &reason[..40]),
        Err(FailureError::NoHopMatched)
    );
}

/// An authenticated packet whose content is bad still names its hop.
#[test]
fn authenticated_garbage_names_its_hop() {
    let secrets = route();
    // The fuzz property builds exactly such packets; run it on a few inputs.
    for data in [
        &[3u8][..],
        &[1, 0x40],
        &[4, 0x40, 0x0f, 1],
        &[0, 0x20, 0x02],
    ] {
        check_failure(data);
    }
    // failure_len larger than the packet, authenticated by hop 1.
    let mut body = vec![0xff, 0xff, 0x20, 0x02];
    body.resize(258, 0);
    let mac = super::super::crypto::hmac(&secrets[1].um_key(), &[&body]);
    let mut reason = mac.to_vec();
    reason.extend_from_slice(&body);
    reason = wrap_failure(&secrets[1], &reason);
    reason = wrap_failure(&secrets[0], &reason);
    assert_eq!(
        decode_failure(&secrets, &reason),
        Err(FailureError::BadLength {
            hop: 1,
            len: u16::MAX
        })
    );
}

#[test]
fn long_failures_are_not_padded_further() {
    let secret = route()[4];
    let mut message = FailureMessage::temporary_node_failure();
    message.data = vec![7; 300];
    let reason = failure_onion(&secret, &message);
    assert_eq!(reason.len(), 32 + 2 + 302 + 2);
    assert_eq!(decode_failure(&[secret], &reason).unwrap().message, message);
}
