//! The payer's side: the onion it builds is what the payee reads, and failures come back
//! decoded.

use super::*;
use crate::onion::{failure_onion, peel};

fn key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn candidate(byte: u8, outbound: u64, peer: PublicKey) -> Candidate {
    Candidate {
        channel_id: ChannelId([byte; 32]),
        peer,
        short_channel_id: ShortChannelId::new(100, 1, 0),
        outbound: Msat(outbound),
    }
}

fn target(payee: PublicKey, kind: PayKind) -> Target {
    let preimage = PaymentPreimage([6; 32]);
    Target {
        payee,
        amount: Msat(42_000),
        payment_hash: preimage.payment_hash(),
        min_final_cltv_expiry_delta: 18,
        kind,
    }
}

#[test]
fn channels_to_the_payee_with_room_come_roomiest_first() {
    let secp = Secp256k1::new();
    let payee = PublicKey::from_secret_key(&secp, &key(1));
    let other = PublicKey::from_secret_key(&secp, &key(2));
    let ordered = order_candidates(
        vec![
            candidate(1, 50_000, payee),
            candidate(2, 90_000, payee),
            candidate(3, 10_000, payee),
            candidate(4, 900_000, other),
        ],
        &payee,
        Msat(42_000),
    );
    let ids: Vec<u8> = ordered.iter().map(|c| c.channel_id.0[0]).collect();
    assert_eq!(ids, vec![2, 1]);
}

#[test]
fn the_payee_peels_what_the_payer_built() {
    let secp = Secp256k1::new();
    let payee_key = key(1);
    let payee = PublicKey::from_secret_key(&secp, &payee_key);
    let t = target(
        payee,
        PayKind::Invoice {
            payment_secret: [9; 32],
            payment_metadata: None,
        },
    );
    let prepared = prepare(&secp, &key(7), &candidate(1, 100_000, payee), &t, 500).unwrap();
    assert_eq!(prepared.htlc.cltv_expiry, 500 + 18 + FINAL_CLTV_BUFFER);
    assert_eq!(prepared.htlc.amount, Msat(42_000));
    let peeled = peel(&secp, &payee_key, &prepared.htlc.onion, &t.payment_hash.0).unwrap();
    assert!(
        peeled.next.is_none(),
        "one hop: the payee is the final node"
    );
    assert_eq!(peeled.payload, final_payload(&t, prepared.htlc.cltv_expiry));
    assert_eq!(peeled.payload.payment_data.unwrap().payment_secret, [9; 32]);
    assert_eq!(peeled.shared_secret, prepared.shared_secrets[0]);
}

#[test]
fn a_keysend_onion_carries_the_preimage() {
    let secp = Secp256k1::new();
    let payee_key = key(1);
    let payee = PublicKey::from_secret_key(&secp, &payee_key);
    let preimage = PaymentPreimage([6; 32]);
    let t = target(payee, PayKind::Keysend { preimage });
    let prepared = prepare(&secp, &key(7), &candidate(1, 100_000, payee), &t, 500).unwrap();
    let peeled = peel(&secp, &payee_key, &prepared.htlc.onion, &t.payment_hash.0).unwrap();
    assert_eq!(peeled.payload.keysend_preimage, Some(preimage));
    assert!(peeled.payload.payment_data.is_none());
}

#[test]
fn the_payees_failure_comes_back_decoded_and_final() {
    let secp = Secp256k1::new();
    let payee_key = key(1);
    let payee = PublicKey::from_secret_key(&secp, &payee_key);
    let t = target(
        payee,
        PayKind::Invoice {
            payment_secret: [9; 32],
            payment_metadata: None,
        },
    );
    let prepared = prepare(&secp, &key(7), &candidate(1, 100_000, payee), &t, 500).unwrap();
    let peeled = peel(&secp, &payee_key, &prepared.htlc.onion, &t.payment_hash.0).unwrap();
    let failure = FailureMessage::incorrect_or_unknown_payment_details(Msat(42_000), 500);
    let reason = failure_onion(&peeled.shared_secret, &failure);
    let verdict = interpret(
        &Resolution::Failed { reason },
        &prepared.shared_secrets,
        &prepared.route,
    );
    assert!(!verdict.retry);
    assert_eq!(verdict.failure["hop"], 0);
    assert_eq!(
        verdict.failure["name"],
        "incorrect_or_unknown_payment_details"
    );
    assert_eq!(verdict.failure["node_id"], payee.to_string());

    let garbage = interpret(
        &Resolution::Failed {
            reason: vec![0; 292],
        },
        &prepared.shared_secrets,
        &prepared.route,
    );
    assert!(!garbage.retry);
    assert!(garbage.failure["reason"].is_string());
}

#[test]
fn a_malformed_answer_names_the_badonion_code() {
    let verdict = interpret(
        &Resolution::Malformed {
            sha256_of_onion: [1; 32],
            failure_code: 0x8000 | 0x4000 | 5,
        },
        &[],
        &[],
    );
    assert_eq!(verdict.failure["name"], "invalid_onion_hmac");
    assert!(!verdict.retry);
}
