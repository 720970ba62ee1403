//! Petrel's BOLT 3 keys and transactions checked against an independent implementation, LDK
//! (`lightning::ln::chan_utils`, dev-dependency only), on random inputs (proptest).
//!
//! - Commitment transactions: random channels (value, keys from random node seeds, delays,
//!   dust limits), random HTLC sets (both directions, dust and non-dust, duplicate hashes and
//!   amounts), random feerates, either side as funder and either side's commitment: Petrel's
//!   transaction equals LDK's `CommitmentTransaction` (txid and bytes), and its HTLC
//!   transactions equal LDK's `build_htlc_transaction`.
//!
//!   LDK's public `CommitmentTransaction::new` takes the HTLCs left after trimming and the
//!   balances after the fee (its trimming code is crate-private), so the test computes those
//!   from the BOLT 3 text, using LDK's own HTLC transaction weights; Appendix C pins the same
//!   fee and trimming rules with the spec's numbers.
//! - Per-commitment secrets: `build_commitment_secret`, and the secret store against
//!   `CounterpartyCommitmentSecrets`, including corrupted secret chains.
//! - Key derivation and the obscuring factor against LDK's.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::{Amount, Network, Txid};
use lightning::ln::chan_utils::{
    build_commitment_secret, build_htlc_transaction, derive_private_key,
    derive_private_revocation_key, get_commitment_transaction_number_obscure_factor,
    htlc_success_tx_weight, htlc_timeout_tx_weight, ChannelPublicKeys,
    ChannelTransactionParameters, CommitmentTransaction, CounterpartyChannelTransactionParameters,
    CounterpartyCommitmentSecrets, HTLCOutputInCommitment, TxCreationKeys,
};
use lightning::ln::channel_keys::{
    DelayedPaymentBasepoint, DelayedPaymentKey, HtlcBasepoint, HtlcKey, RevocationBasepoint,
    RevocationKey,
};
use lightning::types::features::ChannelTypeFeatures;
use petrel::keys::{
    derive_privkey, derive_pubkey, derive_revocation_privkey, derive_revocation_pubkey,
    ChannelBasepoints, ChannelSecrets, CommitmentKeys, CommitmentNumber, CommitmentSeed,
    ObscuringFactor, PerCommitmentPoint, SecretIndex, SecretStore,
};
use petrel::tx::{
    build_commitment, CommitmentSpec, FundingOutput, Htlc, HtlcDirection, PaymentPreimage, Side,
};
use petrel::units::{FeeratePerKw, Msat};
use proptest::prelude::*;

/// One random channel state, before it is turned into either side's commitment.
#[derive(Debug, Clone)]
struct Case {
    alice_seed: [u8; 32],
    bob_seed: [u8; 32],
    channel_value_sat: u64,
    /// `to_self_delay` of Alice's commitments (chosen by Bob) and of Bob's (chosen by Alice).
    delays: (u16, u16),
    /// `dust_limit_satoshis` of Alice and of Bob.
    dust_limits: (u64, u64),
    feerate: u32,
    alice_is_funder: bool,
    /// Build Alice's commitment (`true`) or Bob's.
    alice_owns: bool,
    commitment_number: u64,
    /// HTLCs: offered by Alice?, amount in msat, cltv_expiry, preimage byte, and, if set, an
    /// offset in satoshis from the trimming threshold of the commitment being built (the
    /// amount's sub-satoshi part is kept), to probe the boundary.
    htlcs: Vec<(bool, u64, u32, u8, Option<i64>)>,
    /// Alice's share of what the HTLCs leave, in 1/1000.
    alice_share_permille: u64,
    funding_txid: [u8; 32],
    funding_vout: u16,
}

fn htlc_strategy() -> impl Strategy<Value = (bool, u64, u32, u8, Option<i64>)> {
    (
        any::<bool>(),
        // Amounts from far below any dust limit to large; a few fixed values make equal
        // outputs likely, exercising the CLTV tie-break.
        prop_oneof![
            1_000u64..3_000_000,
            3_000_000u64..400_000_000,
            Just(5_000_000u64),
            Just(5_000_999u64),
        ],
        // cltv_expiry: a few values so that equal outputs differ only by expiry.
        prop_oneof![400_000u32..900_000, Just(500_000u32), Just(500_001u32)],
        // Preimage: 4 values, so payment hashes repeat.
        0u8..4,
        prop_oneof![3 => Just(None), 1 => (-1i64..=1).prop_map(Some)],
    )
}

fn case_strategy() -> impl Strategy<Value = Case> {
    (
        (any::<[u8; 32]>(), any::<[u8; 32]>(), 100_000u64..20_000_000),
        ((1u16..2016, 1u16..2016), (354u64..20_000, 354u64..20_000)),
        (
            prop_oneof![Just(0u32), Just(253u32), 253u32..60_000],
            any::<bool>(),
            any::<bool>(),
            0u64..(1 << 48),
        ),
        (
            proptest::collection::vec(htlc_strategy(), 0..24),
            0u64..=1000,
            any::<[u8; 32]>(),
            any::<u16>(),
        ),
    )
        .prop_map(|(a, b, c, d)| Case {
            alice_seed: a.0,
            bob_seed: a.1,
            channel_value_sat: a.2,
            delays: b.0,
            dust_limits: b.1,
            feerate: c.0,
            alice_is_funder: c.1,
            alice_owns: c.2,
            commitment_number: c.3,
            htlcs: d.0,
            alice_share_permille: d.1,
            funding_txid: d.2,
            funding_vout: d.3,
        })
}

fn ldk_pubkeys(points: &ChannelBasepoints) -> ChannelPublicKeys {
    ChannelPublicKeys {
        funding_pubkey: points.funding_pubkey,
        revocation_basepoint: RevocationBasepoint(points.revocation_basepoint),
        payment_point: points.payment_basepoint,
        delayed_payment_basepoint: DelayedPaymentBasepoint(points.delayed_payment_basepoint),
        htlc_basepoint: HtlcBasepoint(points.htlc_basepoint),
    }
}

/// Checks one case: Petrel's commitment (and HTLC transactions) against LDK's.
fn check_commitment(secp: &Secp256k1<All>, case: &Case) -> Result<(), TestCaseError> {
    let alice =
        ChannelSecrets::from_node_seed(secp, &case.alice_seed, Network::Regtest, 0).unwrap();
    let bob = ChannelSecrets::from_node_seed(secp, &case.bob_seed, Network::Regtest, 1).unwrap();
    let (alice_points, bob_points) = (alice.basepoints(secp), bob.basepoints(secp));

    let features = ChannelTypeFeatures::only_static_remote_key();
    let feerate = u64::from(case.feerate);
    let dust_limit = if case.alice_owns {
        case.dust_limits.0
    } else {
        case.dust_limits.1
    };
    // BOLT 3 "Trimmed Outputs": the threshold of an HTLC offered (HTLC-timeout) or received
    // (HTLC-success) by the owner, with LDK's HTLC transaction weights.
    let threshold = |owner_offered: bool| {
        let weight = if owner_offered {
            htlc_timeout_tx_weight(&features)
        } else {
            htlc_success_tx_weight(&features)
        };
        dust_limit + feerate * weight / 1000
    };

    // Balances: the HTLCs that fit, then the rest split by Alice's share.
    let total_msat = case.channel_value_sat * 1000;
    let mut htlcs_alice_view = Vec::new();
    let mut htlc_sum = 0;
    for &(alice_offered, amount, cltv, preimage, boundary) in &case.htlcs {
        let amount = match boundary {
            None => amount,
            Some(offset) => {
                let sat = threshold(alice_offered == case.alice_owns).saturating_add_signed(offset);
                sat * 1000 + amount % 1000
            }
        };
        if htlc_sum + amount > total_msat {
            continue;
        }
        htlc_sum += amount;
        let direction = if alice_offered {
            HtlcDirection::Offered
        } else {
            HtlcDirection::Received
        };
        htlcs_alice_view.push(Htlc {
            direction,
            amount: Msat(amount),
            payment_hash: PaymentPreimage([preimage; 32]).payment_hash(),
            cltv_expiry: cltv,
        });
    }
    let rest = total_msat - htlc_sum;
    let alice_msat =
        rest / 1000 * case.alice_share_permille + rest % 1000 * case.alice_share_permille / 1000;
    let bob_msat = rest - alice_msat;

    // The owner's view, following CommitmentSpec's calling contract.
    let (owner_secrets, owner_points, other_points) = if case.alice_owns {
        (&alice, &alice_points, &bob_points)
    } else {
        (&bob, &bob_points, &alice_points)
    };
    let flip = |h: &Htlc| Htlc {
        direction: match h.direction {
            HtlcDirection::Offered => HtlcDirection::Received,
            HtlcDirection::Received => HtlcDirection::Offered,
        },
        ..*h
    };
    let htlcs: Vec<Htlc> = if case.alice_owns {
        htlcs_alice_view.clone()
    } else {
        htlcs_alice_view.iter().map(flip).collect()
    };
    let (to_local, to_remote) = if case.alice_owns {
        (alice_msat, bob_msat)
    } else {
        (bob_msat, alice_msat)
    };
    let owner_is_funder = case.alice_owns == case.alice_is_funder;
    let to_self_delay = if case.alice_owns {
        case.delays.0
    } else {
        case.delays.1
    };
    let number = CommitmentNumber::new(case.commitment_number).unwrap();
    let point = owner_secrets.per_commitment_point(secp, number).unwrap();
    let keys = CommitmentKeys::derive(secp, &point, owner_points, other_points).unwrap();
    let funding_txid = Txid::from_byte_array(case.funding_txid);
    let funding = FundingOutput::new(
        bitcoin::OutPoint::new(funding_txid, u32::from(case.funding_vout)),
        Amount::from_sat(case.channel_value_sat),
        alice_points.funding_pubkey,
        bob_points.funding_pubkey,
    );
    let (initiator, responder) = if case.alice_is_funder {
        (&alice_points, &bob_points)
    } else {
        (&bob_points, &alice_points)
    };
    let spec = CommitmentSpec {
        funding,
        obscuring_factor: ObscuringFactor::new(
            &initiator.payment_basepoint,
            &responder.payment_basepoint,
        ),
        commitment_number: number,
        keys: keys.clone(),
        to_self_delay,
        dust_limit: Amount::from_sat(dust_limit),
        feerate: FeeratePerKw(case.feerate),
        funder: if owner_is_funder {
            Side::Local
        } else {
            Side::Remote
        },
        to_local: Msat(to_local),
        to_remote: Msat(to_remote),
        htlcs: htlcs.clone(),
    };
    let petrel = build_commitment(&spec).unwrap();

    // LDK: holder = Alice, counterparty = Bob.
    let params = ChannelTransactionParameters {
        holder_pubkeys: ldk_pubkeys(&alice_points),
        // The delay Alice selected applies to Bob's commitments.
        holder_selected_contest_delay: case.delays.1,
        is_outbound_from_holder: case.alice_is_funder,
        counterparty_parameters: Some(CounterpartyChannelTransactionParameters {
            pubkeys: ldk_pubkeys(&bob_points),
            selected_contest_delay: case.delays.0,
        }),
        funding_outpoint: Some(lightning::chain::transaction::OutPoint {
            txid: funding_txid,
            index: case.funding_vout,
        }),
        splice_parent_funding_txid: None,
        channel_type_features: features.clone(),
        channel_value_satoshis: case.channel_value_sat,
    };
    let directed = if case.alice_owns {
        params.as_holder_broadcastable()
    } else {
        params.as_counterparty_broadcastable()
    };

    // BOLT 3 "Trimmed Outputs" and "Fee Payment".
    let nondust: Vec<HTLCOutputInCommitment> = htlcs
        .iter()
        .filter(|h| h.amount.0 / 1000 >= threshold(h.direction == HtlcDirection::Offered))
        .map(|h| HTLCOutputInCommitment {
            offered: h.direction == HtlcDirection::Offered,
            amount_msat: h.amount.0,
            cltv_expiry: h.cltv_expiry,
            payment_hash: lightning::types::payment::PaymentHash(h.payment_hash.0),
            transaction_output_index: None,
        })
        .collect();
    let fee = feerate * (724 + 172 * nondust.len() as u64) / 1000;
    let mut to_broadcaster = to_local / 1000;
    let mut to_countersignatory = to_remote / 1000;
    if owner_is_funder {
        to_broadcaster = to_broadcaster.saturating_sub(fee);
    } else {
        to_countersignatory = to_countersignatory.saturating_sub(fee);
    }
    let above_dust = |v: u64| if v >= dust_limit { v } else { 0 };
    let ldk = CommitmentTransaction::new(
        number.secret_index().value(),
        point.public_key(),
        above_dust(to_broadcaster),
        above_dust(to_countersignatory),
        case.feerate,
        nondust,
        &directed,
        secp,
    );
    let trusted = ldk.trust();
    let ldk_keys = trusted.keys();
    prop_assert_eq!(
        ldk_keys.revocation_key.to_public_key(),
        keys.revocation_pubkey
    );
    prop_assert_eq!(
        ldk_keys.broadcaster_htlc_key.to_public_key(),
        keys.local_htlcpubkey
    );
    prop_assert_eq!(
        ldk_keys.countersignatory_htlc_key.to_public_key(),
        keys.remote_htlcpubkey
    );
    prop_assert_eq!(
        ldk_keys.broadcaster_delayed_payment_key.to_public_key(),
        keys.local_delayedpubkey
    );
    prop_assert_eq!(petrel.txid(), trusted.txid());
    prop_assert_eq!(&petrel.tx, &trusted.built_transaction().transaction);

    // HTLC transactions, matched by output index.
    let petrel_htlc_txs = petrel.htlc_txs().unwrap();
    prop_assert_eq!(petrel_htlc_txs.len(), ldk.nondust_htlcs().len());
    for (ours, out) in petrel_htlc_txs.iter().zip(&petrel.htlc_outputs) {
        let theirs = ldk
            .nondust_htlcs()
            .iter()
            .find(|h| h.transaction_output_index == Some(out.vout))
            .expect("LDK has the same HTLC outputs");
        prop_assert_eq!(theirs.amount_msat, out.htlc.amount.0);
        let ldk_tx = build_htlc_transaction(
            &trusted.txid(),
            case.feerate,
            to_self_delay,
            theirs,
            &features,
            &ldk_keys.broadcaster_delayed_payment_key,
            &ldk_keys.revocation_key,
        );
        prop_assert_eq!(&ours.tx, &ldk_tx);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn commitment_and_htlc_txs_match_ldk(case in case_strategy()) {
        let secp = Secp256k1::new();
        check_commitment(&secp, &case)?;
    }

    #[test]
    fn per_commitment_secrets_match_ldk(seed in any::<[u8; 32]>(), index in 0u64..(1 << 48)) {
        let ours = CommitmentSeed::from_bytes(seed).secret(SecretIndex::new(index).unwrap());
        prop_assert_eq!(ours.to_bytes(), build_commitment_secret(&seed, index));
    }

    /// Inserts a chain of secrets, possibly with one secret from another seed, into both
    /// stores: they must accept and reject the same inserts and return the same secrets.
    #[test]
    fn secret_store_matches_ldk(
        seed in any::<[u8; 32]>(),
        other_seed in any::<[u8; 32]>(),
        length in 1u64..600,
        corrupt_at in proptest::option::of(0u64..600),
    ) {
        let good = CommitmentSeed::from_bytes(seed);
        let bad = CommitmentSeed::from_bytes(other_seed);
        let mut ours = SecretStore::new();
        let mut theirs = CounterpartyCommitmentSecrets::new();
        let first = SecretIndex::FIRST.value();
        let mut received = Vec::new();
        for step in 0..length {
            let index = SecretIndex::new(first - step).unwrap();
            let source = if corrupt_at == Some(step) { &bad } else { &good };
            let secret = source.secret(index);
            let our_result = ours.insert(index, secret);
            let their_result = theirs.provide_secret(index.value(), secret.to_bytes());
            prop_assert_eq!(our_result.is_ok(), their_result.is_ok(), "step {}", step);
            if our_result.is_err() {
                break;
            }
            received.push(index);
        }
        for index in &received {
            let ours = ours.get(*index).map(|s| s.to_bytes());
            prop_assert_eq!(ours, theirs.get_secret(index.value()));
        }
        if let Some(next) = ours.next_index() {
            prop_assert_eq!(ours.get(next), None);
        }
    }

    #[test]
    fn key_derivation_matches_ldk(base in any::<[u8; 32]>(), secret in any::<[u8; 32]>()) {
        let secp = Secp256k1::new();
        let (Ok(base_secret), Ok(pc_secret)) = (SecretKey::from_slice(&base), SecretKey::from_slice(&secret)) else {
            return Ok(());
        };
        let basepoint = PublicKey::from_secret_key(&secp, &base_secret);
        let point = PerCommitmentPoint(PublicKey::from_secret_key(&secp, &pc_secret));
        let pc = petrel::keys::PerCommitmentSecret::from_bytes(secret);

        prop_assert_eq!(
            derive_pubkey(&secp, &basepoint, &point).unwrap(),
            HtlcKey::from_basepoint(&secp, &HtlcBasepoint(basepoint), &point.0).to_public_key()
        );
        prop_assert_eq!(
            derive_pubkey(&secp, &basepoint, &point).unwrap(),
            DelayedPaymentKey::from_basepoint(&secp, &DelayedPaymentBasepoint(basepoint), &point.0).to_public_key()
        );
        prop_assert_eq!(
            derive_privkey(&secp, &base_secret, &point).unwrap(),
            derive_private_key(&secp, &point.0, &base_secret)
        );
        prop_assert_eq!(
            derive_revocation_pubkey(&secp, &basepoint, &point).unwrap(),
            RevocationKey::from_basepoint(&secp, &RevocationBasepoint(basepoint), &point.0).to_public_key()
        );
        prop_assert_eq!(
            derive_revocation_privkey(&secp, &base_secret, &pc).unwrap(),
            derive_private_revocation_key(&secp, &pc_secret, &base_secret)
        );
        // LDK's TxCreationKeys agree with CommitmentKeys for the same basepoints.
        let points = ChannelBasepoints {
            funding_pubkey: basepoint,
            revocation_basepoint: basepoint,
            payment_basepoint: basepoint,
            delayed_payment_basepoint: basepoint,
            htlc_basepoint: basepoint,
        };
        let ours = CommitmentKeys::derive(&secp, &point, &points, &points).unwrap();
        let theirs = TxCreationKeys::from_channel_static_keys(&point.0, &ldk_pubkeys(&points), &ldk_pubkeys(&points), &secp);
        prop_assert_eq!(theirs.revocation_key.to_public_key(), ours.revocation_pubkey);
        prop_assert_eq!(theirs.broadcaster_delayed_payment_key.to_public_key(), ours.local_delayedpubkey);
    }

    #[test]
    fn obscuring_factor_matches_ldk(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let secp = Secp256k1::new();
        let (Ok(a), Ok(b)) = (SecretKey::from_slice(&a), SecretKey::from_slice(&b)) else {
            return Ok(());
        };
        let (a, b) = (PublicKey::from_secret_key(&secp, &a), PublicKey::from_secret_key(&secp, &b));
        // LDK takes (broadcaster, countersignatory, broadcaster is the opener).
        prop_assert_eq!(
            ObscuringFactor::new(&a, &b).value(),
            get_commitment_transaction_number_obscure_factor(&a, &b, true)
        );
        prop_assert_eq!(
            ObscuringFactor::new(&a, &b).value(),
            get_commitment_transaction_number_obscure_factor(&b, &a, false)
        );
    }
}

/// A fixed case with many HTLCs of equal value and hash but different expiries, on both
/// sides as owner and funder, so that the CLTV tie-break is certainly exercised.
#[test]
fn equal_htlc_outputs_order_like_ldk() {
    let secp = Secp256k1::new();
    for (alice_owns, alice_is_funder) in
        [(true, true), (true, false), (false, true), (false, false)]
    {
        let case = Case {
            alice_seed: [1; 32],
            bob_seed: [2; 32],
            channel_value_sat: 5_000_000,
            delays: (144, 720),
            dust_limits: (546, 354),
            feerate: 253,
            alice_is_funder,
            alice_owns,
            commitment_number: 42,
            htlcs: vec![
                (true, 5_000_000, 506, 5, None),
                (true, 5_000_001, 505, 5, None),
                (false, 5_000_000, 507, 5, None),
                (false, 5_000_500, 504, 5, None),
                (true, 5_000_000, 503, 6, None),
                (true, 2_000, 503, 6, None),
                (false, 123, 503, 7, Some(0)),
                (true, 999, 503, 7, Some(-1)),
            ],
            alice_share_permille: 400,
            funding_txid: [9; 32],
            funding_vout: 3,
        };
        check_commitment(&secp, &case).unwrap();
    }
}
