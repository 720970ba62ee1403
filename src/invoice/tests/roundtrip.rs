//! What [`create`] writes, [`decode`] reads back; what must not be paid is refused.

use core::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use bitcoin::Network;
use lightning_invoice::{
    Currency, InvoiceBuilder, PaymentSecret, RawBolt11Invoice, RawTaggedField,
    SignedRawBolt11Invoice, TaggedField,
};

use super::spec_key;
use crate::invoice::*;
use crate::tx::PaymentPreimage;
use crate::units::Msat;
use crate::wire::{Features, ShortChannelId};

/// The caller's clock, unix seconds.
const NOW: u64 = 1_700_000_000;

fn node_key() -> SecretKey {
    SecretKey::from_slice(&[0x42; 32]).unwrap()
}

fn node_id() -> PublicKey {
    PublicKey::from_secret_key(&Secp256k1::signing_only(), &node_key())
}

fn peer(i: u8) -> PublicKey {
    let key = SecretKey::from_slice(&[i; 32]).unwrap();
    PublicKey::from_secret_key(&Secp256k1::signing_only(), &key)
}

fn hint(i: u8) -> RouteHintHop {
    RouteHintHop {
        node_id: peer(i),
        short_channel_id: ShortChannelId::new(100 + u32::from(i), u32::from(i), 1).unwrap(),
        fee_base_msat: 1000,
        fee_proportional_millionths: 100 * u32::from(i),
        cltv_expiry_delta: 40 + u16::from(i),
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
    }
}

fn request(amount: Option<Msat>) -> InvoiceRequest {
    InvoiceRequest {
        network: Network::Regtest,
        amount,
        description: "coffee".to_owned(),
        expiry_secs: 3600,
        min_final_cltv_expiry_delta: 18,
        payment_hash: PaymentPreimage([7; 32]).payment_hash(),
        payment_secret: [9; 32],
        timestamp: NOW,
        route_hints: Vec::new(),
    }
}

fn roundtrip(req: &InvoiceRequest) -> DecodedInvoice {
    let bolt11 = create(req, &node_key()).unwrap();
    let invoice = decode(&bolt11).unwrap();
    assert_eq!(invoice.bolt11, bolt11);
    invoice
}

/// `bolt11` with `tamper` applied to its contents and its old signature kept.
fn tampered(bolt11: &str, tamper: impl FnOnce(&mut RawBolt11Invoice)) -> String {
    let signed: SignedRawBolt11Invoice = bolt11.parse().unwrap();
    let (mut raw, _, signature) = signed.into_parts();
    tamper(&mut raw);
    raw.sign::<_, ()>(|_| Ok(signature.0)).unwrap().to_string()
}

/// `bolt11` with `change` applied to its contents, signed again by the spec key.
fn resigned(bolt11: &str, change: impl FnOnce(&mut RawBolt11Invoice)) -> String {
    let signed: SignedRawBolt11Invoice = bolt11.parse().unwrap();
    let (mut raw, _, _) = signed.into_parts();
    change(&mut raw);
    raw.sign::<_, ()>(|message| {
        Ok(Secp256k1::signing_only().sign_ecdsa_recoverable(message, &spec_key()))
    })
    .unwrap()
    .to_string()
}

fn regtest_invoice() -> String {
    create(&request(Some(Msat(1000))), &spec_key()).unwrap()
}

#[test]
fn amount_route_hints_and_expiry_round_trip() {
    let with_limits = RouteHintHop {
        htlc_minimum_msat: Some(Msat(1)),
        htlc_maximum_msat: Some(Msat(5_000_000)),
        ..hint(2)
    };
    let req = InvoiceRequest {
        amount: Some(Msat(123_456_789)),
        expiry_secs: 7200,
        min_final_cltv_expiry_delta: 144,
        route_hints: vec![hint(1), with_limits],
        ..request(None)
    };
    let invoice = roundtrip(&req);
    assert!(invoice.bolt11.starts_with("lnbcrt1234567890p1"));
    assert_eq!(
        invoice,
        DecodedInvoice {
            bolt11: invoice.bolt11.clone(),
            network: Network::Regtest,
            amount: Some(Msat(123_456_789)),
            timestamp: NOW,
            expiry_secs: 7200,
            payee: node_id(),
            payment_hash: req.payment_hash,
            payment_secret: Some([9; 32]),
            description: Some("coffee".to_owned()),
            description_hash: None,
            min_final_cltv_expiry_delta: 144,
            // HTLC limits have no place in an invoice.
            route_hints: vec![vec![hint(1)], vec![hint(2)]],
            fallbacks: Vec::new(),
            features: Features::empty().with(8).with(14).with(17),
            payment_metadata: None,
        }
    );
    assert_eq!(invoice.expires_at(), NOW + 7200);
    invoice.check_payable(Network::Regtest, NOW + 7200).unwrap();
    assert_eq!(invoice.amount_to_pay(None), Ok(Msat(123_456_789)));
}

#[test]
fn amountless_round_trip() {
    let invoice = roundtrip(&request(None));
    assert!(invoice.bolt11.starts_with("lnbcrt1"));
    assert_eq!(invoice.amount, None);
    assert_eq!(invoice.payee, node_id());
    assert_eq!(
        invoice.amount_to_pay(None),
        Err(InvoiceError::AmountMissing)
    );
    assert_eq!(invoice.amount_to_pay(Some(Msat(42))), Ok(Msat(42)));
    assert!(matches!(
        invoice.amount_to_pay(Some(Msat(0))),
        Err(InvoiceError::InvalidAmount(_))
    ));
    assert_eq!(invoice.to_json()["amount_msat"], serde_json::Value::Null);
}

#[test]
fn amounts_round_trip_through_every_multiplier() {
    let amounts = [
        1,
        10,
        999,
        1000,
        250_000_000,
        100_000_000_000,
        1_000_000_000_000_000_000,
    ];
    for msat in amounts {
        let invoice = roundtrip(&request(Some(Msat(msat))));
        assert_eq!(invoice.amount, Some(Msat(msat)));
    }
}

#[test]
fn each_network_has_its_prefix() {
    let cases = [
        (Network::Bitcoin, "lnbc1", Network::Bitcoin),
        (Network::Testnet, "lntb1", Network::Testnet),
        (Network::Testnet4, "lntb1", Network::Testnet),
        (Network::Signet, "lntbs1", Network::Signet),
        (Network::Regtest, "lnbcrt1", Network::Regtest),
    ];
    for (network, prefix, decoded_as) in cases {
        let invoice = roundtrip(&InvoiceRequest {
            network,
            ..request(None)
        });
        assert!(invoice.bolt11.starts_with(prefix), "{network}");
        assert_eq!(invoice.network, decoded_as);
        invoice.check_payable(network, NOW).unwrap();
    }
}

#[test]
fn check_payable_refuses_other_networks() {
    let invoice = roundtrip(&request(None));
    assert_eq!(
        invoice.check_payable(Network::Bitcoin, NOW),
        Err(InvoiceError::WrongNetwork {
            invoice: Network::Regtest,
            ours: Network::Bitcoin
        })
    );
    let testnet = roundtrip(&InvoiceRequest {
        network: Network::Testnet4,
        ..request(None)
    });
    assert!(matches!(
        testnet.check_payable(Network::Signet, NOW),
        Err(InvoiceError::WrongNetwork { .. })
    ));
}

#[test]
fn check_payable_refuses_expired_invoices() {
    let invoice = roundtrip(&request(Some(Msat(1000))));
    invoice.check_payable(Network::Regtest, NOW + 3600).unwrap();
    assert!(!invoice.is_expired(NOW + 3600));
    assert!(invoice.is_expired(NOW + 3601));
    assert_eq!(
        invoice.check_payable(Network::Regtest, NOW + 3601),
        Err(InvoiceError::Expired {
            expires_at: NOW + 3600,
            now: NOW + 3601
        })
    );
    let forever = roundtrip(&InvoiceRequest {
        expiry_secs: u64::MAX,
        ..request(None)
    });
    assert_eq!(forever.expires_at(), u64::MAX);
    assert!(!forever.is_expired(u64::MAX));
}

#[test]
fn check_payable_refuses_no_secret_and_unknown_required_features() {
    let invoice = roundtrip(&request(None));
    let no_secret = DecodedInvoice {
        payment_secret: None,
        ..invoice.clone()
    };
    assert_eq!(
        no_secret.check_payable(Network::Regtest, NOW),
        Err(InvoiceError::MissingField("s"))
    );
    // Trampoline (56) is known to LDK, not to Petrel.
    let trampoline = DecodedInvoice {
        features: invoice.features.clone().with(56),
        ..invoice.clone()
    };
    assert_eq!(
        trampoline.check_payable(Network::Regtest, NOW),
        Err(InvoiceError::UnknownRequiredFeatures(vec![56]))
    );
    let odd = DecodedInvoice {
        features: invoice.features.clone().with(57),
        ..invoice
    };
    odd.check_payable(Network::Regtest, NOW).unwrap();
}

#[test]
fn payee_is_our_node_id_and_tampering_changes_it() {
    let bolt11 = create(&request(Some(Msat(1000))), &node_key()).unwrap();
    assert_eq!(decode(&bolt11).unwrap().payee, node_id());
    // Without an `n` field, a changed invoice recovers to someone else: the payer would pay a
    // stranger's node id, which routing to our channel cannot reach.
    let raised = tampered(&bolt11, |raw| raw.hrp.raw_amount = Some(2));
    let invoice = decode(&raised).unwrap();
    assert_eq!(invoice.amount, Some(Msat(200)));
    assert_ne!(invoice.payee, node_id());
}

#[test]
fn tampered_invoice_with_payee_field_fails_the_signature_check() {
    let bolt11 = InvoiceBuilder::new(Currency::Regtest)
        .amount_milli_satoshis(1000)
        .description("coffee".to_owned())
        .payment_hash(sha256::Hash::from_byte_array([7; 32]))
        .payment_secret(PaymentSecret([9; 32]))
        .duration_since_epoch(Duration::from_secs(NOW))
        .min_final_cltv_expiry_delta(18)
        .payee_pub_key(node_id())
        .build_signed(|message| {
            Secp256k1::signing_only().sign_ecdsa_recoverable(message, &node_key())
        })
        .unwrap()
        .to_string();
    assert_eq!(decode(&bolt11).unwrap().payee, node_id());
    let raised = tampered(&bolt11, |raw| raw.hrp.raw_amount = Some(2));
    assert_eq!(decode(&raised), Err(InvoiceError::BadSignature));
    let signed_by_another = resigned(&bolt11, |_| {});
    assert_eq!(decode(&signed_by_another), Err(InvoiceError::BadSignature));
}

#[test]
fn field_rules_are_enforced() {
    let bolt11 = regtest_invoice();
    let fields = |raw: &mut RawBolt11Invoice| -> Vec<RawTaggedField> {
        core::mem::take(&mut raw.data.tagged_fields)
    };
    let without = |tag: fn(&TaggedField) -> bool| {
        resigned(&bolt11, |raw| {
            let kept = fields(raw)
                .into_iter()
                .filter(|f| !matches!(f, RawTaggedField::KnownSemantics(t) if tag(t)))
                .collect();
            raw.data.tagged_fields = kept;
        })
    };
    let doubled = |tag: fn(&TaggedField) -> bool| {
        resigned(&bolt11, |raw| {
            let mut all = fields(raw);
            let copy = all
                .iter()
                .find(|f| matches!(f, RawTaggedField::KnownSemantics(t) if tag(t)))
                .cloned()
                .unwrap();
            all.push(copy);
            raw.data.tagged_fields = all;
        })
    };
    let hash = |f: &TaggedField| matches!(f, TaggedField::PaymentHash(_));
    let secret = |f: &TaggedField| matches!(f, TaggedField::PaymentSecret(_));
    let description = |f: &TaggedField| matches!(f, TaggedField::Description(_));
    let features = |f: &TaggedField| matches!(f, TaggedField::Features(_));
    assert_eq!(decode(&without(hash)), Err(InvoiceError::MissingField("p")));
    assert_eq!(
        decode(&without(secret)),
        Err(InvoiceError::MissingField("s"))
    );
    assert_eq!(
        decode(&without(description)),
        Err(InvoiceError::MissingField("d"))
    );
    assert_eq!(
        decode(&doubled(hash)),
        Err(InvoiceError::DuplicateField("p"))
    );
    assert_eq!(
        decode(&doubled(secret)),
        Err(InvoiceError::DuplicateField("s"))
    );
    assert_eq!(
        decode(&doubled(description)),
        Err(InvoiceError::DuplicateField("d"))
    );
    let both = resigned(&bolt11, |raw| {
        raw.data.tagged_fields.push(RawTaggedField::KnownSemantics(
            TaggedField::DescriptionHash(lightning_invoice::Sha256(sha256::Hash::hash(b"x"))),
        ));
    });
    assert_eq!(decode(&both), Err(InvoiceError::BothDescriptions));
    // `var_onion_optin` and `payment_secret` are ASSUMED (BOLT 9): an `s` field and no `9`
    // field is a valid invoice, though LDK's own checks would refuse it.
    let invoice = decode(&without(features)).unwrap();
    assert_eq!(invoice.features, Features::empty());
    invoice.check_payable(Network::Regtest, NOW).unwrap();
}

#[test]
fn amounts_that_cannot_be_paid_are_refused() {
    let bolt11 = regtest_invoice();
    let with_amount = |raw_amount| {
        resigned(&bolt11, |raw| {
            raw.hrp.raw_amount = Some(raw_amount);
            raw.hrp.si_prefix = None;
        })
    };
    assert!(matches!(
        decode(&with_amount(u64::MAX)),
        Err(InvoiceError::InvalidAmount(_))
    ));
    assert!(matches!(
        decode(&with_amount(0)),
        Err(InvoiceError::InvalidAmount(_))
    ));
    assert_eq!(
        decode(&with_amount(21)).unwrap().amount,
        Some(Msat(2_100_000_000_000))
    );
}

#[test]
fn create_refuses_what_cannot_be_written() {
    let key = node_key();
    let long = InvoiceRequest {
        description: "x".repeat(640),
        ..request(None)
    };
    assert_eq!(
        create(&long, &key),
        Err(InvoiceError::DescriptionTooLong(640))
    );
    let longest = InvoiceRequest {
        description: "x".repeat(639),
        ..request(None)
    };
    assert_eq!(roundtrip(&longest).description.map(|d| d.len()), Some(639));
    assert!(matches!(
        create(&request(Some(Msat(0))), &key),
        Err(InvoiceError::InvalidAmount(_))
    ));
    assert!(matches!(
        create(&request(Some(Msat(u64::MAX))), &key),
        Err(InvoiceError::InvalidAmount(_))
    ));
    let future = InvoiceRequest {
        timestamp: 1 << 35,
        ..request(None)
    };
    assert_eq!(
        create(&future, &key),
        Err(InvoiceError::TimestampOutOfRange(1 << 35))
    );
    let crowded = InvoiceRequest {
        route_hints: (0..100).map(|i| hint(i % 50 + 1)).collect(),
        ..request(None)
    };
    assert!(matches!(
        create(&crowded, &key),
        Err(InvoiceError::TooLong(_))
    ));
}

#[test]
fn decode_accepts_a_scheme_and_white_space_and_refuses_garbage() {
    let bolt11 = regtest_invoice();
    let wrapped = format!("  LIGHTNING:{}\n", bolt11.to_uppercase());
    assert_eq!(decode(&wrapped).unwrap().bolt11, bolt11);
    let mut flipped = bolt11.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'q' { b'p' } else { b'q' };
    let flipped = String::from_utf8(flipped).unwrap();
    let long = "q".repeat(MAX_INVOICE_LENGTH + 1);
    let garbage = [
        "",
        " ",
        "lightning:",
        "ln",
        "lnbc",
        "lnbc1",
        "1",
        "lnbc1qqqqqqqqqqqqqq",
        "lnsb1",
        "ナンセンス",
        "lnbc1ナ",
        &long,
        &flipped,
    ];
    for input in garbage {
        assert!(
            matches!(decode(input), Err(InvoiceError::Parse(_))),
            "{input}"
        );
    }
}

#[test]
fn json_names_every_field() {
    let req = InvoiceRequest {
        amount: Some(Msat(5000)),
        route_hints: vec![hint(3)],
        ..request(None)
    };
    let json = roundtrip(&req).to_json();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "bolt11",
            "network",
            "amount_msat",
            "timestamp",
            "expiry",
            "expires_at",
            "payee",
            "payment_hash",
            "payment_secret",
            "description",
            "description_hash",
            "min_final_cltv_expiry_delta",
            "route_hints",
            "fallbacks",
            "features",
            "payment_metadata",
        ]
    );
    assert_eq!(json["network"], "regtest");
    assert_eq!(json["amount_msat"], 5000);
    assert_eq!(json["expires_at"], NOW + 3600);
    assert_eq!(json["payee"], node_id().to_string());
    assert_eq!(
        json["payment_hash"],
        "4bb06f8e4e3a7715d201d573d0aa423762e55dabd61a2c02278fa56cc6d294e0"
    );
    assert_eq!(json["payment_secret"], "09".repeat(32));
    assert_eq!(json["description_hash"], serde_json::Value::Null);
    assert_eq!(json["route_hints"][0][0]["short_channel_id"], "103x3x1");
    assert_eq!(json["route_hints"][0][0]["node_id"], peer(3).to_string());
    assert_eq!(
        json["route_hints"][0][0]["fee_proportional_millionths"],
        300
    );
    assert_eq!(json["features"]["14"]["name"], "payment_secret");
    assert_eq!(json["features"]["14"]["is_required"], true);
    assert_eq!(json["features"]["17"]["name"], "basic_mpp");
    assert_eq!(json["features"]["17"]["is_required"], false);
}
