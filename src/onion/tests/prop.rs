//! Random routes of 1 to 20 hops with random payloads, built and peeled end to end; random
//! payloads and bytes through the fuzz properties.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use proptest::prelude::*;

use super::super::roundtrip::{check_failure, check_payload, check_peel};
use super::super::*;
use crate::tx::PaymentPreimage;
use crate::units::Msat;
use crate::wire::ShortChannelId;

fn any_payload(forwarding: bool) -> impl Strategy<Value = HopPayload> {
    (
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
        proptest::option::of((any::<[u8; 32]>(), any::<u64>())),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
        proptest::option::of(any::<[u8; 32]>()),
        proptest::collection::vec(
            (0u64..40, proptest::collection::vec(any::<u8>(), 0..4)),
            0..3,
        ),
    )
        .prop_map(move |(amt, cltv, scid, data, metadata, keysend, unknown)| {
            let mut unknown: Vec<(u64, Vec<u8>)> = unknown
                .into_iter()
                .map(|(t, v)| (2 * t + 21, v)) // odd, above the known small types
                .collect();
            unknown.sort_by_key(|(t, _)| *t);
            unknown.dedup_by_key(|(t, _)| *t);
            HopPayload {
                amt_to_forward: Msat(amt),
                outgoing_cltv_value: cltv,
                short_channel_id: forwarding.then_some(ShortChannelId(scid)),
                payment_data: data.filter(|_| !forwarding).map(|(payment_secret, total)| {
                    PaymentData {
                        payment_secret,
                        total_msat: Msat(total),
                    }
                }),
                payment_metadata: metadata.filter(|_| !forwarding),
                keysend_preimage: keysend.filter(|_| !forwarding).map(PaymentPreimage),
                unknown_odd: unknown,
            }
        })
}

/// A route of `hops` nodes: keys and payloads (the last one final).
fn any_route(hops: usize) -> impl Strategy<Value = Vec<(u8, HopPayload)>> {
    let forwarding = proptest::collection::vec((1u8..=254, any_payload(true)), hops - 1);
    (forwarding, (1u8..=254, any_payload(false))).prop_map(|(mut route, last)| {
        route.push(last);
        route
    })
}

fn routes() -> impl Strategy<Value = Vec<(u8, HopPayload)>> {
    (1usize..=20).prop_flat_map(any_route)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_routes_peel_end_to_end(route in routes(), session in 1u8..=254, ad in any::<[u8; 32]>()) {
        let secp = Secp256k1::new();
        let keys: Vec<SecretKey> = route
            .iter()
            .map(|(k, _)| SecretKey::from_slice(&[*k; 32]).unwrap())
            .collect();
        let hops: Vec<(PublicKey, Vec<u8>)> = route
            .iter()
            .zip(&keys)
            .map(|((_, p), k)| (PublicKey::from_secret_key(&secp, k), p.encode()))
            .collect();
        let session_key = SecretKey::from_slice(&[session; 32]).unwrap();
        let needed: usize = hops
            .iter()
            .map(|(_, p)| encode_payload_with_length(p).len() + 32)
            .sum();
        let built = build_packet(&secp, &session_key, &hops, &ad);
        if needed > HOP_PAYLOADS_LEN {
            prop_assert_eq!(built.unwrap_err(), BuildError::TooLarge { needed });
            return Ok(());
        }
        let (mut packet, secrets) = built.unwrap();
        for (i, ((_, payload), key)) in route.iter().zip(&keys).enumerate() {
            let peeled = peel(&secp, key, &packet, &ad).unwrap();
            prop_assert_eq!(&peeled.payload, payload);
            prop_assert_eq!(peeled.shared_secret, secrets[i]);
            if let Some(next) = peeled.next {
                prop_assert!(i + 1 < route.len());
                packet = next;
            } else {
                prop_assert_eq!(i + 1, route.len());
            }
        }
        // A failure from the final hop travels back and is attributed to it.
        let last = route.len() - 1;
        let failure = FailureMessage::incorrect_or_unknown_payment_details(Msat(1), 2);
        let mut reason = failure_onion(&secrets[last], &failure);
        for secret in secrets[..last].iter().rev() {
            reason = wrap_failure(secret, &reason);
        }
        let decoded = decode_failure(&secrets, &reason).unwrap();
        prop_assert_eq!(decoded, DecodedFailure { hop: last, message: failure });
    }

    #[test]
    fn random_payloads_round_trip(payload in any_payload(false)) {
        let bytes = payload.encode();
        prop_assert_eq!(HopPayload::decode(&bytes), Ok(payload));
        check_payload(&bytes);
    }

    #[test]
    fn random_bytes_keep_the_fuzz_properties(data in proptest::collection::vec(any::<u8>(), 0..1400)) {
        check_payload(&data);
        check_failure(&data);
        check_peel(&data);
    }
}
