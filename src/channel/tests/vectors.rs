//! BOLT 3 Appendix C through the channel core: every named case, its commitment and every
//! HTLC transaction, produced by Ledger → View → Balances → `channel::commitments`, not by
//! calling `tx::build_commitment` directly (that is `tx/commitment/tests.rs`).
//!
//! Appendix C only gives the per-commitment secret of its *local* node (the funder, owner of
//! the commitment), and a core derives its own points from its seed. So our core plays the
//! appendix's *remote* node (the fundee, [`Role::Responder`]) and the appendix's commitment is
//! the peer's, built with [`remote_commitment`] and the appendix's `local_per_commitment_point`
//! as the peer's point. Everything flips to our side: the appendix's `to_local` is `theirs`,
//! `to_remote` is `ours`, an HTLC `local->remote` is offered by [`Party::Remote`] in our
//! ledger, `remote_signature` is ours ([`sign_commitment`]) and `remote_htlc_signature` is ours
//! (our HTLC key, as `commitment_signed` makes it). The peer's signatures come from the
//! appendix's local keys. Appendix C lists no failure cases; "fee greater than funder amount"
//! is a success case and is here with the others.

use std::collections::HashMap;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, OutPoint, Txid};

use crate::channel::commitments::{
    remote_commitment, sign_commitment, verify_commitment_signature,
};
use crate::channel::ledger::{Base, Ledger, ONION_LEN};
use crate::channel::{ChannelParams, HtlcKey, NewHtlc, Party, PartyParams, Role};
use crate::funding::STATIC_REMOTEKEY_CHANNEL_TYPE;
use crate::keys::vectors::{hex, hex32, parse_pubkey, parse_secret, Case, Fields, Vectors};
use crate::keys::{
    ChannelBasepoints, ChannelSecrets, CommitmentNumber, CommitmentSeed, PerCommitmentPoint,
    PerCommitmentSecret,
};
use crate::tx::appendix_c::{der, htlc_expectations};
use crate::tx::{CommitmentTx, HtlcDirection, PaymentPreimage};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::ChannelId;

const APPENDIX_C: &str =
    include_str!("../../../wire-spec/vectors/bolt03-appendix-c-commitments.txt");

/// The feerate the ledger starts at; each case's feerate then arrives as the funder's
/// `update_fee`.
const OPENING_FEERATE: FeeratePerKw = FeeratePerKw(253);

/// One HTLC of the appendix's header, seen from our node.
struct AppendixHtlc {
    offerer: Party,
    amount: Msat,
    cltv_expiry: u32,
    preimage: PaymentPreimage,
}

/// Our core's channel, set up as the appendix's remote node, and the peer's keys.
struct Setup {
    secp: Secp256k1<All>,
    params: ChannelParams,
    secrets: ChannelSecrets,
    number: CommitmentNumber,
    /// The appendix's `local_per_commitment_point`: the peer's point for this commitment.
    their_point: PublicKey,
    /// The appendix's `local_funding_privkey`.
    their_funding_key: SecretKey,
    /// The appendix's `local_privkey` (its HTLC key in this commitment).
    their_htlc_key: SecretKey,
    /// HTLCs 0 to 6 of the appendix.
    htlcs: Vec<AppendixHtlc>,
}

fn setup(header: &Fields) -> Setup {
    let secp = Secp256k1::new();
    let pubkey = |k: &str| parse_pubkey(header.get(k));
    let secret = |k: &str| parse_secret(header.get(k));
    let num = |k: &str| -> u64 { header.get(k).parse().unwrap() };

    // Our secrets: the appendix's remote keys (its payment basepoint doubles as the HTLC
    // basepoint). The delayed basepoint and the seed are not in the appendix and not used
    // by the peer's commitment.
    let secrets = ChannelSecrets {
        funding_key: secret("remote_funding_privkey"),
        revocation_basepoint_secret: secret("remote_revocation_basepoint_secret"),
        payment_basepoint_secret: secret("remote_payment_basepoint_secret"),
        delayed_payment_basepoint_secret: SecretKey::from_slice(&[0x55; 32]).unwrap(),
        htlc_basepoint_secret: secret("remote_payment_basepoint_secret"),
        commitment_seed: CommitmentSeed::from_bytes([0x66; 32]),
    };
    let ours = secrets.basepoints(&secp);
    assert_eq!(ours.funding_pubkey, pubkey("remote_funding_pubkey"));
    assert_eq!(
        ours.revocation_basepoint,
        pubkey("remote_revocation_basepoint")
    );
    assert_eq!(ours.payment_basepoint, pubkey("remote_payment_basepoint"));
    assert_eq!(ours.htlc_basepoint, pubkey("remote_htlc_basepoint"));

    // The peer's basepoints: the appendix's local ones. Its revocation basepoint only
    // enters *our* commitments, and the appendix does not give it.
    let their_funding_key = secret("local_funding_privkey");
    let theirs = ChannelBasepoints {
        funding_pubkey: pubkey("local_funding_pubkey"),
        revocation_basepoint: pubkey("local_payment_basepoint"),
        payment_basepoint: pubkey("local_payment_basepoint"),
        delayed_payment_basepoint: pubkey("local_delayed_payment_basepoint"),
        htlc_basepoint: pubkey("local_htlc_basepoint"),
    };
    assert_eq!(
        PublicKey::from_secret_key(&secp, &their_funding_key),
        theirs.funding_pubkey
    );

    let funding_txid: Txid = header.get("funding_tx_id").parse().unwrap();
    let funding_index: u16 = header.get("funding_output_index").parse().unwrap();
    // The limits the peer's commitment must use: the delay *we* impose (`local_delay`), the
    // peer's own dust limit. Ours are deliberately different, so that a commitment built
    // with the wrong side's would not match the appendix.
    let party = |basepoints, dust_limit, to_self_delay| PartyParams {
        dust_limit: Amount::from_sat(dust_limit),
        max_htlc_value_in_flight: Msat(10_000_000_000),
        channel_reserve: Amount::from_sat(10_000),
        htlc_minimum: Msat(1),
        to_self_delay,
        max_accepted_htlcs: 483,
        basepoints,
        shutdown_script: None,
    };
    let params = ChannelParams {
        channel_id: ChannelId::from_funding_outpoint(&funding_txid, funding_index),
        temporary_channel_id: ChannelId([0x7e; 32]),
        peer: theirs.funding_pubkey,
        role: Role::Responder,
        channel_index: 0,
        channel_type: STATIC_REMOTEKEY_CHANNEL_TYPE.to_vec(),
        channel_flags: 0,
        funding_outpoint: OutPoint::new(funding_txid, u32::from(funding_index)),
        funding_amount: Amount::from_sat(num("funding_amount_satoshi")),
        push: Msat::ZERO,
        minimum_depth: 3,
        local: party(ours, 2_000, num("local_delay").try_into().unwrap()),
        remote: party(theirs, num("local_dust_limit_satoshi"), 720),
    };
    assert_eq!(
        params.funding_output().witness_script().as_bytes(),
        &hex(header.get("funding wscript"))[..]
    );

    let their_point = pubkey("local_per_commitment_point");
    let x_secret =
        PerCommitmentSecret::from_bytes(secret("x_local_per_commitment_secret").secret_bytes());
    assert_eq!(
        x_secret.point(&secp).unwrap(),
        PerCommitmentPoint(their_point)
    );
    // Our HTLC key in the peer's commitment is the appendix's INTERNAL remote_privkey.
    assert_eq!(
        secrets
            .htlc_key(&secp, &PerCommitmentPoint(their_point))
            .unwrap(),
        secret("remote_privkey")
    );

    let htlcs = (0..7)
        .map(|n| {
            let field = |f: &str| header.get(&format!("htlc {n} {f}"));
            AppendixHtlc {
                offerer: match field("direction") {
                    "local->remote" => Party::Remote,
                    "remote->local" => Party::Local,
                    other => panic!("htlc {n}: direction {other}"),
                },
                amount: Msat(field("amount_msat").parse().unwrap()),
                cltv_expiry: field("expiry").parse().unwrap(),
                preimage: PaymentPreimage(hex32(field("payment_preimage"))),
            }
        })
        .collect();

    Setup {
        params,
        secrets,
        number: CommitmentNumber::new(num("commitment_number")).unwrap(),
        their_point,
        their_funding_key,
        their_htlc_key: secret("local_privkey"),
        htlcs,
        secp,
    }
}

/// The peer's ledger for a case: both balances as they were before the HTLCs `ids` were
/// offered, the HTLCs added in appendix order, then the funder's `update_fee` to the case's
/// feerate. Returns it with each HTLC's key and appendix number.
fn ledger_for(case: &Case, s: &Setup, ids: &[usize]) -> (Ledger, HashMap<HtlcKey, usize>) {
    let msat = |k: &str| Msat(case.get(k).parse().unwrap());
    let offered_by = |party: Party| {
        ids.iter()
            .filter(|&&i| s.htlcs[i].offerer == party)
            .map(|&i| s.htlcs[i].amount)
            .fold(Msat::ZERO, |a, b| a.checked_add(b).unwrap())
    };
    let base = Base {
        ours: msat("to_remote_msat")
            .checked_add(offered_by(Party::Local))
            .unwrap(),
        theirs: msat("to_local_msat")
            .checked_add(offered_by(Party::Remote))
            .unwrap(),
        feerate: OPENING_FEERATE,
    };
    let mut ledger = Ledger::new(Party::Remote, base);
    let mut numbers = HashMap::new();
    for &i in ids {
        let h = &s.htlcs[i];
        let key = ledger.add_htlc(
            h.offerer,
            NewHtlc {
                amount: h.amount,
                payment_hash: h.preimage.payment_hash(),
                cltv_expiry: h.cltv_expiry,
                onion: Box::new([0; ONION_LEN]),
                path_key: None,
            },
        );
        numbers.insert(key, i);
    }
    ledger.update_fee(FeeratePerKw(
        case.get("local_feerate_per_kw").parse().unwrap(),
    ));
    (ledger, numbers)
}

/// The appendix's comment lines `to_local amount A wscript S`, `to_remote amount A ...` and
/// `HTLC #n offered amount A wscript S`: each must be an output of the built commitment (the
/// last case lists only its HTLC outputs).
fn check_output_comments(name: &str, case: &Case, numbers: &[usize], built: &CommitmentTx) {
    let amount_of = |vout: u32| built.tx.output[vout as usize].value.to_sat().to_string();
    for line in &case.lines {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["to_local", "amount", amount, "wscript", script] => {
                let vout = built.to_local_vout.expect("to_local present");
                assert_eq!(amount_of(vout), *amount, "{name}: to_local");
                assert_eq!(built.to_local_script.as_bytes(), &hex(script)[..]);
            }
            ["to_remote", "amount", amount, _] => {
                let vout = built.to_remote_vout.expect("to_remote present");
                assert_eq!(amount_of(vout), *amount, "{name}: to_remote");
            }
            ["HTLC", id, direction, "amount", amount, "wscript", script] => {
                let id: usize = id.trim_start_matches('#').parse().unwrap();
                let out = built
                    .htlc_outputs
                    .iter()
                    .find(|o| numbers[o.index] == id)
                    .unwrap_or_else(|| panic!("{name}: HTLC #{id} not in the commitment"));
                let direction = match *direction {
                    "offered" => HtlcDirection::Offered,
                    _ => HtlcDirection::Received,
                };
                assert_eq!(out.htlc.direction, direction, "{name}: HTLC #{id}");
                assert_eq!(amount_of(out.vout), *amount, "{name}: HTLC #{id}");
                assert_eq!(out.witness_script.as_bytes(), &hex(script)[..]);
            }
            _ => {}
        }
    }
}

/// Runs the Appendix C case `name` with the appendix's HTLCs `ids` through the core.
fn run_case(name: &str, ids: &[usize]) {
    let vectors = Vectors::parse(APPENDIX_C);
    let s = setup(vectors.header());
    let case = vectors.case(name);
    let secp = &s.secp;

    // Ledger → View → Balances.
    let (ledger, numbers) = ledger_for(case, &s, ids);
    let view = ledger.view(ledger.next_seq).unwrap();
    assert_eq!(
        view.theirs.0.to_string(),
        case.get("to_local_msat"),
        "{name}"
    );
    assert_eq!(
        view.ours.0.to_string(),
        case.get("to_remote_msat"),
        "{name}"
    );
    assert_eq!(
        view.feerate.0.to_string(),
        case.get("local_feerate_per_kw"),
        "{name}"
    );
    assert_eq!(view.htlcs.len(), ids.len(), "{name}: HTLCs in the view");
    // Appendix number of each HTLC, by its position in the view (= in the balances).
    let view_numbers: Vec<usize> = view.htlcs.iter().map(|(k, _)| numbers[k]).collect();

    // The core's own fee estimate for the peer's commitment (what its affordability checks
    // use) agrees with the appendix.
    let (untrimmed, base_fee) = view.untrimmed_and_fee(Party::Remote, s.params.remote.dust_limit);
    assert_eq!(untrimmed.to_string(), case.get("num_htlcs"), "{name}");
    if let Some(fee) = case.find("base commitment transaction fee") {
        assert_eq!(
            base_fee.to_sat().to_string(),
            fee,
            "{name}: view's base fee"
        );
    }

    // channel::commitments: the peer's commitment, with its point.
    let built =
        remote_commitment(secp, &s.params, s.number, &s.their_point, &view.balances()).unwrap();
    let header = vectors.header();
    let keys = built.keys();
    assert_eq!(
        keys.local_htlcpubkey,
        parse_pubkey(header.get("local_htlcpubkey"))
    );
    assert_eq!(
        keys.remote_htlcpubkey,
        parse_pubkey(header.get("remote_htlcpubkey"))
    );
    assert_eq!(
        keys.local_delayedpubkey,
        parse_pubkey(header.get("local_delayedpubkey"))
    );
    assert_eq!(
        keys.revocation_pubkey,
        parse_pubkey(header.get("local_revocation_pubkey"))
    );
    assert_eq!(
        keys.remotepubkey,
        parse_pubkey(header.get("remote_payment_basepoint"))
    );
    if let Some(fee) = case.find("base commitment transaction fee") {
        assert_eq!(built.base_fee.to_sat().to_string(), fee, "{name}: base fee");
    }
    if let Some(fee) = case.find("actual commitment transaction fee") {
        assert_eq!(built.fee.to_sat().to_string(), fee, "{name}: actual fee");
    }
    check_output_comments(name, case, &view_numbers, &built);
    assert_eq!(
        built.htlc_outputs.len().to_string(),
        case.get("num_htlcs"),
        "{name}: untrimmed HTLCs"
    );

    // Our signature as `commitment_signed` makes it, the peer's with the appendix's local
    // funding key, then the signed transaction.
    let ours = sign_commitment(secp, &s.params, &s.secrets, &built.tx).unwrap();
    assert_eq!(
        der(&ours),
        case.get("remote_signature"),
        "{name}: our signature"
    );
    let funding = s.params.funding_output();
    let theirs = funding.sign(secp, &built.tx, &s.their_funding_key).unwrap();
    assert_eq!(
        der(&theirs),
        case.get("local_signature"),
        "{name}: their signature"
    );
    // The peer's signature checks against the funding key the core holds for it.
    verify_commitment_signature(secp, &s.params, &built.tx, &theirs).unwrap();
    let signed = funding
        .into_signed(
            built.tx.clone(),
            (&s.params.local.basepoints.funding_pubkey, &ours),
            (&s.params.remote.basepoints.funding_pubkey, &theirs),
        )
        .unwrap();
    assert_eq!(
        serialize_hex(&signed),
        case.get("output commit_tx"),
        "{name}: commit_tx"
    );

    // HTLC transactions in signature order: ours with our HTLC key for the peer's point (the
    // `htlc_signature`s of `commitment_signed`), the peer's with the appendix's local key.
    let our_htlc_key = s
        .secrets
        .htlc_key(secp, &PerCommitmentPoint(s.their_point))
        .unwrap();
    let expected = htlc_expectations(case);
    let htlc_txs = built.htlc_txs().unwrap();
    assert_eq!(htlc_txs.len(), expected.len(), "{name}: HTLC transactions");
    for ((htlc_tx, out), e) in htlc_txs.iter().zip(&built.htlc_outputs).zip(&expected) {
        let id = e.id;
        assert_eq!(out.vout, e.vout, "{name}: output of htlc #{id}");
        assert_eq!(
            view_numbers[out.index], id,
            "{name}: htlc at output #{}",
            e.vout
        );
        assert_eq!(htlc_tx.kind, e.kind, "{name}: kind of htlc #{id}");
        let ours = htlc_tx.sign(secp, &our_htlc_key).unwrap();
        let theirs = htlc_tx.sign(secp, &s.their_htlc_key).unwrap();
        assert_eq!(der(&ours), e.remote_sig, "{name}: our sig, htlc #{id}");
        assert_eq!(der(&theirs), e.local_sig, "{name}: their sig, htlc #{id}");
        htlc_tx
            .verify(secp, &ours, &keys.remote_htlcpubkey)
            .unwrap();
        htlc_tx
            .verify(secp, &theirs, &keys.local_htlcpubkey)
            .unwrap();
        let signed = htlc_tx
            .clone()
            .into_signed(&ours, &theirs, Some(&s.htlcs[id].preimage))
            .unwrap();
        assert_eq!(serialize_hex(&signed), e.tx, "{name}: htlc #{id} tx");
    }
}

/// "the HTLCs are not used for the first 'simple commitment tx with no HTLCs' test, and HTLCs
/// 5 and 6 are only used in the 'same amount and preimage' test" (Appendix C).
const FIVE_HTLCS: &[usize] = &[0, 1, 2, 3, 4];

/// One test per named case, and the list of the names they cover.
macro_rules! appendix_c {
    ($($test:ident: $name:literal, $ids:expr;)*) => {
        $(
            #[test]
            fn $test() {
                run_case($name, $ids);
            }
        )*
        const CASES: &[&str] = &[$($name),*];
    };
}

appendix_c! {
    bolt3_c_simple_commitment_tx_with_no_htlcs:
        "simple commitment tx with no HTLCs", &[];
    bolt3_c_commitment_tx_with_all_five_htlcs_untrimmed_minimum_feerate:
        "commitment tx with all five HTLCs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_seven_outputs_untrimmed_maximum_feerate:
        "commitment tx with seven outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_six_outputs_untrimmed_minimum_feerate:
        "commitment tx with six outputs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_six_outputs_untrimmed_maximum_feerate:
        "commitment tx with six outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_five_outputs_untrimmed_minimum_feerate:
        "commitment tx with five outputs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_five_outputs_untrimmed_maximum_feerate:
        "commitment tx with five outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_four_outputs_untrimmed_minimum_feerate:
        "commitment tx with four outputs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_four_outputs_untrimmed_maximum_feerate:
        "commitment tx with four outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_three_outputs_untrimmed_minimum_feerate:
        "commitment tx with three outputs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_three_outputs_untrimmed_maximum_feerate:
        "commitment tx with three outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_two_outputs_untrimmed_minimum_feerate:
        "commitment tx with two outputs untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_two_outputs_untrimmed_maximum_feerate:
        "commitment tx with two outputs untrimmed (maximum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_one_output_untrimmed_minimum_feerate:
        "commitment tx with one output untrimmed (minimum feerate)", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_fee_greater_than_funder_amount:
        "commitment tx with fee greater than funder amount", FIVE_HTLCS;
    bolt3_c_commitment_tx_with_3_htlc_outputs_2_offered_having_the_same_amount_and_preimage:
        "commitment tx with 3 htlc outputs, 2 offered having the same amount and preimage",
        &[1, 5, 6];
}

#[test]
fn every_appendix_c_case_has_a_test() {
    let vectors = Vectors::parse(APPENDIX_C);
    assert_eq!(vectors.names().collect::<Vec<_>>(), CASES);
}
