//! BOLT 3 Appendix C: every commitment and HTLC transaction vector, one test per named case.
//!
//! Each case rebuilds the commitment from the appendix's parameters, checks fees, output
//! amounts and witness scripts against the appendix's comments, reproduces both funding
//! signatures byte for byte (RFC 6979), serializes the signed transaction, and does the same
//! for every HTLC-timeout / HTLC-success transaction in signature order.

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint, Txid};

use super::appendix_c::{der, htlc_expectations};
use super::*;
use crate::keys::vectors::{hex, hex32, parse_pubkey, parse_secret, Case, Fields, Vectors};
use crate::keys::{
    derive_privkey, ChannelBasepoints, CommitmentKeys, CommitmentNumber, ObscuringFactor,
    PerCommitmentPoint, PerCommitmentSecret,
};
use crate::tx::PaymentPreimage;

const APPENDIX_C: &str =
    include_str!("../../../wire-spec/vectors/bolt03-appendix-c-commitments.txt");

/// The appendix's shared parameters and keys, checked against each other.
struct Setup {
    secp: Secp256k1<All>,
    funding: FundingOutput,
    obscuring_factor: ObscuringFactor,
    commitment_number: CommitmentNumber,
    to_self_delay: u16,
    dust_limit: Amount,
    keys: CommitmentKeys,
    local_funding_key: SecretKey,
    remote_funding_key: SecretKey,
    local_htlc_key: SecretKey,
    remote_htlc_key: SecretKey,
    /// HTLCs 0 to 6 of the appendix, seen from local (the owner), with their preimages.
    htlcs: Vec<(Htlc, PaymentPreimage)>,
}

fn setup(header: &Fields) -> Setup {
    let secp = Secp256k1::new();
    let pubkey = |k: &str| parse_pubkey(header.get(k));
    let secret = |k: &str| parse_secret(header.get(k));
    let public = |k: &SecretKey| PublicKey::from_secret_key(&secp, k);

    let local_funding_key = secret("local_funding_privkey");
    let remote_funding_key = secret("remote_funding_privkey");
    assert_eq!(public(&local_funding_key), pubkey("local_funding_pubkey"));
    assert_eq!(public(&remote_funding_key), pubkey("remote_funding_pubkey"));
    let funding_txid: Txid = header.get("funding_tx_id").parse().unwrap();
    let funding = FundingOutput::new(
        OutPoint::new(
            funding_txid,
            header.get("funding_output_index").parse().unwrap(),
        ),
        Amount::from_sat(header.get("funding_amount_satoshi").parse().unwrap()),
        public(&local_funding_key),
        public(&remote_funding_key),
    );
    assert_eq!(
        funding.witness_script().as_bytes(),
        &hex(header.get("funding wscript"))[..]
    );

    // Basepoints: the appendix uses the payment basepoints as HTLC basepoints too.
    let local_payment_secret = secret("local_payment_basepoint_secret");
    let remote_payment_secret = secret("remote_payment_basepoint_secret");
    assert_eq!(
        public(&local_payment_secret),
        pubkey("local_payment_basepoint")
    );
    assert_eq!(
        public(&remote_payment_secret),
        pubkey("remote_payment_basepoint")
    );
    assert_eq!(
        pubkey("local_htlc_basepoint"),
        pubkey("local_payment_basepoint")
    );
    assert_eq!(
        pubkey("remote_htlc_basepoint"),
        pubkey("remote_payment_basepoint")
    );
    assert_eq!(
        public(&secret("remote_revocation_basepoint_secret")),
        pubkey("remote_revocation_basepoint")
    );
    assert_eq!(
        public(&secret("local_delayed_payment_basepoint_secret")),
        pubkey("local_delayed_payment_basepoint")
    );
    let local = ChannelBasepoints {
        funding_pubkey: funding.pubkeys()[0],
        // Not part of the local commitment; the appendix does not give it.
        revocation_basepoint: pubkey("local_payment_basepoint"),
        payment_basepoint: pubkey("local_payment_basepoint"),
        delayed_payment_basepoint: pubkey("local_delayed_payment_basepoint"),
        htlc_basepoint: pubkey("local_htlc_basepoint"),
    };
    let remote = ChannelBasepoints {
        funding_pubkey: pubkey("remote_funding_pubkey"),
        revocation_basepoint: pubkey("remote_revocation_basepoint"),
        payment_basepoint: pubkey("remote_payment_basepoint"),
        // Not part of the local commitment; the appendix does not give it.
        delayed_payment_basepoint: pubkey("remote_payment_basepoint"),
        htlc_basepoint: pubkey("remote_htlc_basepoint"),
    };

    let per_commitment_secret =
        PerCommitmentSecret::from_bytes(secret("x_local_per_commitment_secret").secret_bytes());
    let point = PerCommitmentPoint(pubkey("local_per_commitment_point"));
    assert_eq!(per_commitment_secret.point(&secp).unwrap(), point);
    let keys = CommitmentKeys::derive(&secp, &point, &local, &remote).unwrap();
    assert_eq!(keys.local_htlcpubkey, pubkey("local_htlcpubkey"));
    assert_eq!(keys.remote_htlcpubkey, pubkey("remote_htlcpubkey"));
    assert_eq!(keys.local_delayedpubkey, pubkey("local_delayedpubkey"));
    assert_eq!(keys.revocation_pubkey, pubkey("local_revocation_pubkey"));
    assert_eq!(keys.remotepubkey, pubkey("remote_payment_basepoint"));

    // HTLC keys: derived from the basepoint secrets, matching the appendix's local_privkey
    // (local payment = HTLC basepoint) and INTERNAL remote_privkey.
    let local_htlc_key = derive_privkey(&secp, &local_payment_secret, &point).unwrap();
    let remote_htlc_key = derive_privkey(&secp, &remote_payment_secret, &point).unwrap();
    assert_eq!(local_htlc_key, secret("local_privkey"));
    assert_eq!(remote_htlc_key, secret("remote_privkey"));
    assert_eq!(public(&local_htlc_key), keys.local_htlcpubkey);
    assert_eq!(public(&remote_htlc_key), keys.remote_htlcpubkey);
    let delayed = derive_privkey(
        &secp,
        &secret("local_delayed_payment_basepoint_secret"),
        &point,
    );
    assert_eq!(delayed.unwrap(), secret("local_delayed_privkey"));

    let htlcs = (0..7)
        .map(|n| {
            let field = |f: &str| header.get(&format!("htlc {n} {f}"));
            let preimage = PaymentPreimage(hex32(field("payment_preimage")));
            let direction = match field("direction") {
                "local->remote" => HtlcDirection::Offered,
                "remote->local" => HtlcDirection::Received,
                other => panic!("htlc {n}: direction {other}"),
            };
            let htlc = Htlc {
                direction,
                amount: Msat(field("amount_msat").parse().unwrap()),
                payment_hash: preimage.payment_hash(),
                cltv_expiry: field("expiry").parse().unwrap(),
            };
            (htlc, preimage)
        })
        .collect();

    Setup {
        funding,
        obscuring_factor: ObscuringFactor::new(
            &pubkey("local_payment_basepoint"),
            &pubkey("remote_payment_basepoint"),
        ),
        commitment_number: CommitmentNumber::new(header.get("commitment_number").parse().unwrap())
            .unwrap(),
        to_self_delay: header.get("local_delay").parse().unwrap(),
        dust_limit: Amount::from_sat(header.get("local_dust_limit_satoshi").parse().unwrap()),
        keys,
        local_funding_key,
        remote_funding_key,
        local_htlc_key,
        remote_htlc_key,
        htlcs,
        secp,
    }
}

/// The appendix's comment lines `to_local amount A wscript S` and `HTLC #n offered amount A
/// wscript S`: each must be an output of the built commitment.
fn check_output_comments(case: &Case, setup: &Setup, ids: &[usize], built: &CommitmentTx) {
    let amount_of = |vout: u32| built.tx.output[vout as usize].value.to_sat();
    for line in &case.lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["to_local", "amount", amount, "wscript", script] => {
                let vout = built.to_local_vout.expect("to_local present");
                assert_eq!(amount_of(vout).to_string(), *amount);
                assert_eq!(built.to_local_script.as_bytes(), &hex(script)[..]);
            }
            ["to_remote", "amount", amount, remote] => {
                let vout = built.to_remote_vout.expect("to_remote present");
                assert_eq!(amount_of(vout).to_string(), *amount);
                let key = remote.trim_start_matches("P2WPKH(").trim_end_matches(')');
                assert_eq!(setup.keys.remotepubkey, parse_pubkey(key));
            }
            ["HTLC", id, direction, "amount", amount, "wscript", script] => {
                let id: usize = id.trim_start_matches('#').parse().unwrap();
                let out = built
                    .htlc_outputs
                    .iter()
                    .find(|o| ids[o.index] == id)
                    .unwrap_or_else(|| panic!("HTLC #{id} not in the commitment"));
                let expect_direction = match *direction {
                    "offered" => HtlcDirection::Offered,
                    _ => HtlcDirection::Received,
                };
                assert_eq!(out.htlc.direction, expect_direction);
                assert_eq!(amount_of(out.vout).to_string(), *amount);
                assert_eq!(out.witness_script.as_bytes(), &hex(script)[..]);
            }
            _ => {}
        }
    }
    if built.to_local_vout.is_none() {
        assert!(!case.lines.iter().any(|l| l.starts_with("to_local amount")));
    }
}

/// Runs the Appendix C case `name` with the appendix's HTLCs `ids`.
fn run_case(name: &str, ids: &[usize]) {
    let vectors = Vectors::parse(APPENDIX_C);
    let s = setup(vectors.header());
    let case = vectors.case(name);
    let secp = &s.secp;

    let spec = CommitmentSpec {
        funding: s.funding,
        obscuring_factor: s.obscuring_factor,
        commitment_number: s.commitment_number,
        keys: s.keys.clone(),
        to_self_delay: s.to_self_delay,
        dust_limit: s.dust_limit,
        feerate: FeeratePerKw(case.get("local_feerate_per_kw").parse().unwrap()),
        funder: Side::Local,
        to_local: Msat(case.get("to_local_msat").parse().unwrap()),
        to_remote: Msat(case.get("to_remote_msat").parse().unwrap()),
        htlcs: ids.iter().map(|&i| s.htlcs[i].0).collect(),
    };
    let built = build_commitment(&spec).unwrap();

    if let Some(fee) = case.find("base commitment transaction fee") {
        assert_eq!(built.base_fee.to_sat().to_string(), fee, "{name}: base fee");
    }
    if let Some(fee) = case.find("actual commitment transaction fee") {
        assert_eq!(built.fee.to_sat().to_string(), fee, "{name}: actual fee");
    }
    check_output_comments(case, &s, ids, &built);
    assert_eq!(
        built.htlc_outputs.len().to_string(),
        case.get("num_htlcs"),
        "{name}: untrimmed HTLCs"
    );

    // Both funding signatures, reproduced byte for byte, then the signed transaction.
    let local_sig = s
        .funding
        .sign(secp, &built.tx, &s.local_funding_key)
        .unwrap();
    let remote_sig = s
        .funding
        .sign(secp, &built.tx, &s.remote_funding_key)
        .unwrap();
    assert_eq!(der(&local_sig), case.get("local_signature"));
    assert_eq!(der(&remote_sig), case.get("remote_signature"));
    let local_pub = PublicKey::from_secret_key(secp, &s.local_funding_key);
    let remote_pub = PublicKey::from_secret_key(secp, &s.remote_funding_key);
    s.funding
        .verify(secp, &built.tx, &remote_sig, &remote_pub)
        .unwrap();
    let signed = s
        .funding
        .into_signed(
            built.tx.clone(),
            (&local_pub, &local_sig),
            (&remote_pub, &remote_sig),
        )
        .unwrap();
    assert_eq!(
        serialize_hex(&signed),
        case.get("output commit_tx"),
        "{name}: commit_tx"
    );

    // HTLC transactions: the appendix lists them in output order, each as "signature for
    // output #v (htlc-success for htlc #n)", both signatures, then the signed transaction.
    let expected = htlc_expectations(case);
    let htlc_txs = built.htlc_txs().unwrap();
    assert_eq!(htlc_txs.len(), expected.len(), "{name}: HTLC transactions");
    for ((htlc_tx, out), e) in htlc_txs.iter().zip(&built.htlc_outputs).zip(&expected) {
        assert_eq!(out.vout, e.vout, "{name}: output of htlc #{}", e.id);
        assert_eq!(ids[out.index], e.id, "{name}: htlc at output #{}", e.vout);
        assert_eq!(htlc_tx.kind, e.kind, "{name}: kind of htlc #{}", e.id);
        let remote = htlc_tx.sign(secp, &s.remote_htlc_key).unwrap();
        let local = htlc_tx.sign(secp, &s.local_htlc_key).unwrap();
        assert_eq!(der(&remote), e.remote_sig, "{name} #{}", e.id);
        assert_eq!(der(&local), e.local_sig, "{name} #{}", e.id);
        htlc_tx
            .verify(secp, &remote, &s.keys.remote_htlcpubkey)
            .unwrap();
        let preimage = s.htlcs[e.id].1;
        let signed = htlc_tx
            .clone()
            .into_signed(&remote, &local, Some(&preimage))
            .unwrap();
        assert_eq!(serialize_hex(&signed), e.tx, "{name}: htlc #{} tx", e.id);
    }
}

/// "the HTLCs are not used for the first 'simple commitment tx with no HTLCs' test, and HTLCs
/// 5 and 6 are only used in the 'same amount and preimage' test" (Appendix C).
const FIVE_HTLCS: [usize; 5] = [0, 1, 2, 3, 4];

#[test]
fn bolt3_c_simple_commitment_tx_with_no_htlcs() {
    run_case("simple commitment tx with no HTLCs", &[]);
}

#[test]
fn bolt3_c_commitment_tx_with_all_five_htlcs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with all five HTLCs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_seven_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with seven outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_six_outputs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with six outputs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_six_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with six outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_five_outputs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with five outputs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_five_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with five outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_four_outputs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with four outputs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_four_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with four outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_three_outputs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with three outputs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_three_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with three outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_two_outputs_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with two outputs untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_two_outputs_untrimmed_maximum_feerate() {
    run_case(
        "commitment tx with two outputs untrimmed (maximum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_one_output_untrimmed_minimum_feerate() {
    run_case(
        "commitment tx with one output untrimmed (minimum feerate)",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_fee_greater_than_funder_amount() {
    run_case(
        "commitment tx with fee greater than funder amount",
        &FIVE_HTLCS,
    );
}

#[test]
fn bolt3_c_commitment_tx_with_3_htlc_outputs_2_offered_having_the_same_amount_and_preimage() {
    run_case(
        "commitment tx with 3 htlc outputs, 2 offered having the same amount and preimage",
        &[1, 5, 6],
    );
}

#[test]
fn every_appendix_c_case_has_a_test() {
    // 16 named cases, each with a test above.
    assert_eq!(Vectors::parse(APPENDIX_C).names().count(), 16);
}

#[test]
fn unbalanced_specs_are_rejected() {
    let vectors = Vectors::parse(APPENDIX_C);
    let s = setup(vectors.header());
    let spec = CommitmentSpec {
        funding: s.funding,
        obscuring_factor: s.obscuring_factor,
        commitment_number: s.commitment_number,
        keys: s.keys.clone(),
        to_self_delay: s.to_self_delay,
        dust_limit: s.dust_limit,
        feerate: FeeratePerKw(253),
        funder: Side::Local,
        to_local: Msat(7_000_000_000),
        to_remote: Msat(3_000_000_000),
        htlcs: vec![s.htlcs[0].0],
    };
    assert_eq!(
        build_commitment(&spec),
        Err(TxError::BalanceMismatch {
            funding_msat: 10_000_000_000,
            committed_msat: 10_001_000_000
        })
    );
    let overflow = CommitmentSpec {
        to_local: Msat(u64::MAX),
        ..spec
    };
    assert!(matches!(
        build_commitment(&overflow),
        Err(TxError::BalanceMismatch {
            committed_msat: u64::MAX,
            ..
        })
    ));
}

#[test]
fn remote_funder_pays_the_fee_and_trimmed_htlcs_are_listed() {
    let vectors = Vectors::parse(APPENDIX_C);
    let s = setup(vectors.header());
    let spec = CommitmentSpec {
        funding: s.funding,
        obscuring_factor: s.obscuring_factor,
        commitment_number: s.commitment_number,
        keys: s.keys.clone(),
        to_self_delay: s.to_self_delay,
        dust_limit: s.dust_limit,
        feerate: FeeratePerKw(2070),
        funder: Side::Remote,
        to_local: Msat(6_988_000_000),
        to_remote: Msat(3_000_000_000),
        htlcs: FIVE_HTLCS.iter().map(|&i| s.htlcs[i].0).collect(),
    };
    let built = build_commitment(&spec).unwrap();
    // Same trimming as the "five outputs untrimmed (minimum feerate)" case: HTLCs #0 and #1
    // (positions 0 and 1) are trimmed at 2070 sat/kw.
    assert_eq!(built.trimmed, vec![0, 1]);
    assert_eq!(built.base_fee, Amount::from_sat(2566));
    let value = |vout: Option<u32>| built.tx.output[vout.unwrap() as usize].value;
    assert_eq!(value(built.to_local_vout), Amount::from_sat(6_988_000));
    assert_eq!(
        value(built.to_remote_vout),
        Amount::from_sat(3_000_000 - 2566)
    );
}
