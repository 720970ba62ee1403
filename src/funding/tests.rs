//! Reservation tests on a socket-free pair: an initiator and a responder core, messages passed
//! by hand, each BOLT 2 requirement exercised by breaking exactly one field.

use bitcoin::absolute::LockTime;
use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{ecdsa::Signature, All, PublicKey, Secp256k1, SecretKey};
use bitcoin::transaction::Version;
use bitcoin::{Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::*;
use crate::channel::commitments::signed_local_commitment;
use crate::keys::CommitmentNumber;
use crate::wire::{AcceptChannel, ChannelId, OpenChannel};

struct Side {
    secrets: ChannelSecrets,
    node_id: PublicKey,
}

fn side(seed_byte: u8, secp: &Secp256k1<All>) -> Side {
    let seed = [seed_byte; 32];
    let secrets = ChannelSecrets::from_node_seed(secp, &seed, Network::Regtest, 0).unwrap();
    let node_key = SecretKey::from_slice(&[seed_byte; 32]).unwrap();
    Side {
        secrets,
        node_id: PublicKey::from_secret_key(secp, &node_key),
    }
}

fn open_request(peer: PublicKey) -> OpenRequest {
    OpenRequest {
        peer,
        temporary_channel_id: ChannelId([7; 32]),
        chain_hash: ChainHash::REGTEST,
        funding: Amount::from_sat(1_000_000),
        push: Msat(10_000_000),
        feerate: FeeratePerKw(2_500),
        channel_index: 0,
        config: LocalConfig::default(),
        anysegwit: false,
        min_depth: None,
    }
}

fn accept_request(peer: PublicKey) -> AcceptRequest {
    AcceptRequest {
        peer,
        chain_hash: ChainHash::REGTEST,
        channel_index: 0,
        config: LocalConfig::default(),
        anysegwit: false,
    }
}

/// A funding transaction paying `script` (what the wallet would build; its input is fake,
/// which the cores cannot tell).
pub(crate) fn funding_tx(script: ScriptBuf, amount: Amount) -> Transaction {
    Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(
                bitcoin::Txid::from_raw_hash(bitcoin::hashes::Hash::all_zeros()),
                0,
            ),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
            witness: Witness::new(),
        }],
        output: vec![
            TxOut {
                value: Amount::from_sat(50_000),
                script_pubkey: ScriptBuf::new_op_return([1, 2, 3]),
            },
            TxOut {
                value: amount,
                script_pubkey: script,
            },
        ],
    }
}

struct Pair {
    secp: Secp256k1<All>,
    a: Side,
    b: Side,
    policy: Policy,
}

impl Pair {
    fn new() -> Pair {
        let secp = Secp256k1::new();
        let a = side(1, &secp);
        let b = side(2, &secp);
        Pair {
            secp,
            a,
            b,
            policy: Policy::default(),
        }
    }

    fn open_msg(&self) -> (AwaitingAccept, OpenChannel) {
        open(&self.secp, &self.a.secrets, open_request(self.b.node_id)).unwrap()
    }

    fn respond(
        &self,
        msg: &OpenChannel,
    ) -> Result<(AwaitingFundingCreated, AcceptChannel), FundingError> {
        process_single_contribution(
            &self.secp,
            &self.b.secrets,
            msg,
            &accept_request(self.a.node_id),
            &self.policy,
        )
    }

    /// Runs the whole workflow; returns both pending channels and the `channel_ready`s.
    fn run(&self) -> (PendingChannel, PendingChannel) {
        let (awaiting, open_msg) = self.open_msg();
        let (responder, accept) = self.respond(&open_msg).unwrap();
        let awaiting = awaiting
            .handle_accept_channel(&accept, &self.policy)
            .unwrap();
        let tx = funding_tx(awaiting.funding_script(), awaiting.funding_amount());
        let (awaiting, created) = awaiting
            .handle_funding_tx(&self.secp, &self.a.secrets, tx, 1)
            .unwrap();
        let (b_channel, signed) = responder
            .complete_single_contribution(&self.secp, &self.b.secrets, &created)
            .unwrap();
        let a_channel = awaiting
            .handle_funding_signed(&self.secp, &self.a.secrets, &signed)
            .unwrap();
        (a_channel, b_channel)
    }
}

#[test]
fn single_funded_workflow_produces_matching_channels() {
    let pair = Pair::new();
    let (a, b) = pair.run();
    assert_eq!(a.params.channel_id, b.params.channel_id);
    assert_eq!(a.params.funding_outpoint, b.params.funding_outpoint);
    assert_eq!(a.params.funding_outpoint.vout, 1);
    assert_eq!(a.params.role, crate::channel::Role::Initiator);
    assert_eq!(b.params.role, crate::channel::Role::Responder);
    // Balances mirror each other: B got the push.
    assert_eq!(
        a.commitment.balances(),
        (Msat(990_000_000), Msat(10_000_000))
    );
    assert_eq!(b.commitment.balances().0, a.commitment.balances().1);
    assert_eq!(b.commitment.balances().1, a.commitment.balances().0);
    assert!(a.funding_tx.is_some() && b.funding_tx.is_none());
    // Each side's own commitment #0, with the peer's signature, is valid Bitcoin: script
    // verification against the funding output.
    for (c, secrets) in [(&a, &pair.a.secrets), (&b, &pair.b.secrets)] {
        let tx = signed_local_commitment(
            &pair.secp,
            &c.params,
            secrets,
            CommitmentNumber::ZERO,
            &c.commitment.local_view().unwrap().balances(),
            &c.commitment.local.signature,
        )
        .unwrap();
        let funding = c.params.funding_output().tx_out();
        tx.verify(|op| (*op == c.params.funding_outpoint).then(|| funding.clone()))
            .expect("commitment #0 spends the funding output");
    }
}

#[test]
fn channel_ready_carries_the_point_for_commitment_one() {
    let pair = Pair::new();
    let (a, b) = pair.run();
    let tx = a.funding_tx.clone().unwrap();
    let ready_a = a
        .finalize_reservation(&pair.secp, &pair.a.secrets, &tx)
        .unwrap();
    let ready_b = b
        .finalize_reservation(&pair.secp, &pair.b.secrets, &tx)
        .unwrap();
    assert_eq!(ready_a.channel_id, a.params.channel_id);
    let one = CommitmentNumber::ZERO.next().unwrap();
    assert_eq!(
        ready_b.second_per_commitment_point,
        pair.b
            .secrets
            .per_commitment_point(&pair.secp, one)
            .unwrap()
            .0
    );
}

#[test]
fn finalize_rejects_wrong_funding_output() {
    let pair = Pair::new();
    let (_, b) = pair.run();
    let mut tx = funding_tx(
        b.params.funding_output().tx_out().script_pubkey,
        Amount::from_sat(999_999),
    );
    tx.output.swap(0, 1);
    assert_eq!(
        b.finalize_reservation(&pair.secp, &pair.b.secrets, &tx),
        Err(FundingError::FundingOutputMismatch)
    );
}

/// Opens with `f` applied to `open_channel`; returns the responder's verdict.
fn open_with(f: impl FnOnce(&mut OpenChannel)) -> Result<(), FundingError> {
    let pair = Pair::new();
    let (_, mut msg) = pair.open_msg();
    f(&mut msg);
    pair.respond(&msg).map(|_| ())
}

#[test]
fn open_accepts_the_default_request() {
    assert_eq!(open_with(|_| {}), Ok(()));
}

#[test]
fn open_rejects_unknown_chain() {
    assert!(matches!(
        open_with(|m| m.chain_hash = ChainHash::BITCOIN),
        Err(FundingError::UnknownChain(_))
    ));
}

#[test]
fn open_rejects_announce_channel_but_ignores_undefined_flags() {
    assert_eq!(
        open_with(|m| m.channel_flags = 1),
        Err(FundingError::AnnounceChannelUnsupported)
    );
    assert_eq!(
        open_with(|m| m.channel_flags = 0xff),
        Err(FundingError::AnnounceChannelUnsupported)
    );
    // BOLT 2: "ignore undefined bits in channel_flags".
    assert_eq!(open_with(|m| m.channel_flags = 0xfe), Ok(()));
}

#[test]
fn open_rejects_small_funding() {
    assert!(matches!(
        open_with(|m| {
            m.funding_satoshis = Amount::from_sat(19_999);
            m.push_msat = Msat(0);
        }),
        Err(FundingError::FundingTooSmall { .. })
    ));
}

#[test]
fn open_rejects_large_funding() {
    assert!(matches!(
        open_with(|m| m.funding_satoshis = Amount::from_sat(1 << 24)),
        Err(FundingError::FundingTooLarge { .. })
    ));
    // 2^24 - 1 is still fine.
    assert_eq!(
        open_with(|m| m.funding_satoshis = Amount::from_sat((1 << 24) - 1)),
        Ok(())
    );
}

#[test]
fn open_rejects_push_above_funding() {
    assert_eq!(
        open_with(|m| m.push_msat = Msat(1_000_000_001)),
        Err(FundingError::PushExceedsFunding)
    );
}

#[test]
fn open_rejects_large_to_self_delay() {
    assert!(matches!(
        open_with(|m| m.to_self_delay = 2017),
        Err(FundingError::ToSelfDelayTooLarge {
            got: 2017,
            max: 2016
        })
    ));
    assert_eq!(open_with(|m| m.to_self_delay = 2016), Ok(()));
}

#[test]
fn open_rejects_too_many_htlcs() {
    assert_eq!(
        open_with(|m| m.max_accepted_htlcs = 484),
        Err(FundingError::MaxAcceptedHtlcsTooLarge(484))
    );
    assert_eq!(open_with(|m| m.max_accepted_htlcs = 483), Ok(()));
}

#[test]
fn open_rejects_zero_htlcs() {
    assert_eq!(
        open_with(|m| m.max_accepted_htlcs = 0),
        Err(FundingError::MaxAcceptedHtlcsZero)
    );
}

#[test]
fn open_rejects_low_feerate() {
    assert!(matches!(
        open_with(|m| m.feerate_per_kw = FeeratePerKw(252)),
        Err(FundingError::FeerateTooLow { .. })
    ));
}

#[test]
fn open_rejects_high_feerate() {
    assert!(matches!(
        open_with(|m| m.feerate_per_kw = FeeratePerKw(100_001)),
        Err(FundingError::FeerateTooHigh { .. })
    ));
}

#[test]
fn open_with_invalid_point_does_not_decode() {
    // Points are validated by the wire decoder, before any core sees the message.
    let pair = Pair::new();
    let (_, msg) = pair.open_msg();
    let mut bytes = Vec::new();
    crate::wire::WireMessage::encode_payload(&msg, &mut bytes).unwrap();
    // `revocation_basepoint` starts at 32+32+8*6+4+2+2+33 = 153; 0x04 is no compressed point.
    bytes[153] = 0x04;
    let err = <OpenChannel as crate::wire::WireMessage>::decode_payload(&bytes).unwrap_err();
    assert_eq!(err.field, "revocation_basepoint");
    assert_eq!(err.reason, crate::wire::DecodeReason::InvalidPoint);
}

#[test]
fn open_rejects_dust_above_reserve() {
    assert!(matches!(
        open_with(|m| {
            m.dust_limit_satoshis = Amount::from_sat(1_500);
            m.channel_reserve_satoshis = Amount::from_sat(1_000);
        }),
        Err(FundingError::DustLimitAboveReserve { .. })
    ));
}

#[test]
fn open_rejects_dust_below_354() {
    assert_eq!(
        open_with(|m| m.dust_limit_satoshis = Amount::from_sat(353)),
        Err(FundingError::DustLimitTooSmall(Amount::from_sat(353)))
    );
    assert_eq!(
        open_with(|m| m.dust_limit_satoshis = Amount::from_sat(354)),
        Ok(())
    );
}

#[test]
fn open_rejects_large_dust_limit() {
    assert!(matches!(
        open_with(|m| {
            m.dust_limit_satoshis = Amount::from_sat(20_001);
            m.channel_reserve_satoshis = Amount::from_sat(30_000);
        }),
        Err(FundingError::DustLimitTooLarge { .. })
    ));
}

#[test]
fn open_rejects_funder_unable_to_pay_fee() {
    // Everything pushed: nothing left for the fee.
    assert!(matches!(
        open_with(|m| m.push_msat = Msat(1_000_000_000)),
        Err(FundingError::FunderCannotPayFeeAndReserve { .. })
    ));
}

#[test]
fn open_rejects_funder_unable_to_pay_reserve() {
    // Our reserve on a 1,000,000 sat channel is 10,000 sat; the fee at 2,500 sat/kw is 1,810.
    // A funder left with 11,000 sat can pay the fee but not fee + reserve.
    assert!(matches!(
        open_with(|m| m.push_msat = Msat(989_000_000)),
        Err(FundingError::FunderCannotPayFeeAndReserve { .. })
    ));
    assert_eq!(open_with(|m| m.push_msat = Msat(988_000_000)), Ok(()));
}

#[test]
fn open_rejects_both_balances_below_reserve() {
    // A tiny channel with a big reserve on both sides: after the fee, the funder keeps
    // exactly our reserve, and the push is below theirs.
    let pair = Pair::new();
    let (_, mut msg) = pair.open_msg();
    msg.funding_satoshis = Amount::from_sat(20_000);
    msg.max_htlc_value_in_flight_msat = Msat(20_000_000);
    msg.push_msat = Msat(0);
    msg.feerate_per_kw = FeeratePerKw(253);
    msg.channel_reserve_satoshis = Amount::from_sat(1_000);
    let fee = FeeratePerKw(253).fee_for_weight(724).to_sat();
    // Ask our node for a reserve equal to what the funder keeps after the fee.
    let mut request = accept_request(pair.a.node_id);
    request.config.min_reserve = Amount::from_sat(20_000 - fee);
    let mut policy = pair.policy.clone();
    policy.max_reserve_ppm = 1_000_000;
    assert_eq!(
        process_single_contribution(&pair.secp, &pair.b.secrets, &msg, &request, &policy)
            .map(|_| ()),
        Err(FundingError::BothBalancesAtOrBelowReserve)
    );
}

#[test]
fn open_rejects_large_reserve() {
    assert!(matches!(
        open_with(|m| m.channel_reserve_satoshis = Amount::from_sat(200_001)),
        Err(FundingError::ReserveTooLarge { .. })
    ));
}

#[test]
fn open_rejects_huge_htlc_minimum() {
    assert!(matches!(
        open_with(|m| m.htlc_minimum_msat = Msat(1_000_000_000)),
        Err(FundingError::HtlcMinimumTooLarge(_))
    ));
}

#[test]
fn open_rejects_zero_max_in_flight() {
    assert_eq!(
        open_with(|m| m.max_htlc_value_in_flight_msat = Msat(0)),
        Err(FundingError::MaxHtlcValueInFlightZero)
    );
}

#[test]
fn open_rejects_missing_channel_type() {
    assert_eq!(
        open_with(|m| m.tlvs.channel_type = None),
        Err(FundingError::MissingChannelType)
    );
}

#[test]
fn open_rejects_anchors_channel_type() {
    // option_anchors (22) + option_static_remotekey (12).
    assert!(matches!(
        open_with(|m| m.tlvs.channel_type = Some(vec![0x40, 0x10, 0x00])),
        Err(FundingError::UnsupportedChannelType(_))
    ));
}

#[test]
fn open_rejects_zeroconf_channel_type() {
    // option_zeroconf (50) + option_static_remotekey (12): we never trust unconfirmed funding.
    assert!(matches!(
        open_with(|m| m.tlvs.channel_type = Some(vec![0x04, 0, 0, 0, 0, 0x10, 0x00])),
        Err(FundingError::UnsupportedChannelType(_))
    ));
}

#[test]
fn open_rejects_p2pkh_upfront_script() {
    let p2pkh = ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ));
    assert!(matches!(
        open_with(|m| m.tlvs.upfront_shutdown_script = Some(p2pkh.to_bytes())),
        Err(FundingError::InvalidShutdownScript(_))
    ));
    let p2wpkh = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ));
    assert_eq!(
        open_with(|m| m.tlvs.upfront_shutdown_script = Some(p2wpkh.to_bytes())),
        Ok(())
    );
}

/// Runs to `accept_channel`, applies `f` to it, and returns the initiator's verdict.
fn accept_with(f: impl FnOnce(&mut AcceptChannel)) -> Result<(), FundingError> {
    let pair = Pair::new();
    let (awaiting, open_msg) = pair.open_msg();
    let (_, mut accept) = pair.respond(&open_msg).unwrap();
    f(&mut accept);
    awaiting
        .handle_accept_channel(&accept, &pair.policy)
        .map(|_| ())
}

#[test]
fn accept_accepts_the_default_answer() {
    assert_eq!(accept_with(|_| {}), Ok(()));
}

#[test]
fn accept_rejects_missing_channel_type() {
    assert_eq!(
        accept_with(|m| m.tlvs.channel_type = None),
        Err(FundingError::MissingChannelType)
    );
}

#[test]
fn accept_rejects_other_channel_type() {
    assert!(matches!(
        accept_with(|m| m.tlvs.channel_type = Some(vec![0x40, 0x10, 0x00])),
        Err(FundingError::ChannelTypeMismatch(_))
    ));
}

#[test]
fn accept_rejects_large_to_self_delay() {
    assert!(matches!(
        accept_with(|m| m.to_self_delay = 5000),
        Err(FundingError::ToSelfDelayTooLarge { .. })
    ));
}

#[test]
fn accept_rejects_dust_below_354() {
    assert!(matches!(
        accept_with(|m| m.dust_limit_satoshis = Amount::from_sat(100)),
        Err(FundingError::DustLimitTooSmall(_))
    ));
}

#[test]
fn accept_rejects_reserve_below_our_dust() {
    // Our dust limit is 546: a reserve of 500 asked of us is below it.
    assert!(matches!(
        accept_with(|m| {
            m.channel_reserve_satoshis = Amount::from_sat(500);
            m.dust_limit_satoshis = Amount::from_sat(400);
        }),
        Err(FundingError::ReserveBelowPeerDustLimit { .. })
    ));
}

#[test]
fn accept_rejects_dust_above_our_reserve() {
    // We ask a reserve of 10,000; their dust limit of 10,001 (within their own reserve)
    // exceeds it.
    assert!(matches!(
        accept_with(|m| {
            m.dust_limit_satoshis = Amount::from_sat(10_001);
            m.channel_reserve_satoshis = Amount::from_sat(10_001);
        }),
        Err(FundingError::ReserveBelowPeerDustLimit { .. })
    ));
}

#[test]
fn accept_rejects_reserve_funder_cannot_keep() {
    // Asked to keep 199,000 sat while pushing everything but 1,000 away... here: keep more
    // than we have left after the push.
    let pair = Pair::new();
    let mut request = open_request(pair.b.node_id);
    request.push = Msat(900_000_000);
    let (awaiting, open_msg) = open(&pair.secp, &pair.a.secrets, request).unwrap();
    let (_, mut accept) = pair.respond(&open_msg).unwrap();
    accept.channel_reserve_satoshis = Amount::from_sat(150_000);
    assert!(matches!(
        awaiting.handle_accept_channel(&accept, &pair.policy),
        Err(FundingError::FunderCannotPayFeeAndReserve { .. })
    ));
}

#[test]
fn accept_rejects_large_minimum_depth() {
    assert!(matches!(
        accept_with(|m| m.minimum_depth = 145),
        Err(FundingError::MinimumDepthTooLarge { got: 145, max: 144 })
    ));
}

#[test]
fn funding_created_with_bad_signature_fails() {
    let pair = Pair::new();
    let (awaiting, open_msg) = pair.open_msg();
    let (responder, accept) = pair.respond(&open_msg).unwrap();
    let awaiting = awaiting
        .handle_accept_channel(&accept, &pair.policy)
        .unwrap();
    let tx = funding_tx(awaiting.funding_script(), awaiting.funding_amount());
    let (_, mut created) = awaiting
        .handle_funding_tx(&pair.secp, &pair.a.secrets, tx, 1)
        .unwrap();
    // A valid signature, but over another funding output.
    created.funding_output_index = 0;
    assert!(matches!(
        responder.complete_single_contribution(&pair.secp, &pair.b.secrets, &created),
        Err(FundingError::BadSignature)
    ));
}

#[test]
fn funding_created_with_high_s_signature_fails() {
    let pair = Pair::new();
    let (awaiting, open_msg) = pair.open_msg();
    let (responder, accept) = pair.respond(&open_msg).unwrap();
    let awaiting = awaiting
        .handle_accept_channel(&accept, &pair.policy)
        .unwrap();
    let tx = funding_tx(awaiting.funding_script(), awaiting.funding_amount());
    let (_, mut created) = awaiting
        .handle_funding_tx(&pair.secp, &pair.a.secrets, tx, 1)
        .unwrap();
    // The same signature with s replaced by n - s: mathematically valid, but high-S, which
    // BOLT 2 says to refuse.
    let low = created.signature.serialize_compact();
    let mut high = low;
    let order: [u8; 32] = bitcoin::secp256k1::constants::CURVE_ORDER;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(order[i]) - i16::from(low[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        high[32 + i] = u8::try_from(d.rem_euclid(256)).unwrap();
    }
    created.signature = Signature::from_compact(&high).unwrap();
    assert_ne!(created.signature.serialize_compact(), low);
    assert!(matches!(
        responder.complete_single_contribution(&pair.secp, &pair.b.secrets, &created),
        Err(FundingError::BadSignature)
    ));
}

#[test]
fn funding_signed_with_bad_signature_fails() {
    let pair = Pair::new();
    let (awaiting, open_msg) = pair.open_msg();
    let (responder, accept) = pair.respond(&open_msg).unwrap();
    let awaiting = awaiting
        .handle_accept_channel(&accept, &pair.policy)
        .unwrap();
    let tx = funding_tx(awaiting.funding_script(), awaiting.funding_amount());
    let (awaiting, created) = awaiting
        .handle_funding_tx(&pair.secp, &pair.a.secrets, tx, 1)
        .unwrap();
    let (_, mut signed) = responder
        .complete_single_contribution(&pair.secp, &pair.b.secrets, &created)
        .unwrap();
    // The initiator's own signature instead of the responder's.
    signed.signature = created.signature;
    assert_eq!(
        awaiting
            .handle_funding_signed(&pair.secp, &pair.a.secrets, &signed)
            .map(|_| ()),
        Err(FundingError::BadSignature)
    );
}

#[test]
fn initiator_refuses_a_funding_tx_that_does_not_pay_the_channel() {
    let pair = Pair::new();
    let (awaiting, open_msg) = pair.open_msg();
    let (_, accept) = pair.respond(&open_msg).unwrap();
    let awaiting = awaiting
        .handle_accept_channel(&accept, &pair.policy)
        .unwrap();
    let tx = funding_tx(awaiting.funding_script(), Amount::from_sat(1));
    assert!(matches!(
        awaiting.handle_funding_tx(&pair.secp, &pair.a.secrets, tx, 1),
        Err(FundingError::FundingOutputMismatch)
    ));
}

#[test]
fn we_never_send_what_a_compliant_peer_must_refuse() {
    let pair = Pair::new();
    let mut request = open_request(pair.b.node_id);
    request.funding = Amount::from_sat(1 << 24);
    assert!(matches!(
        open(&pair.secp, &pair.a.secrets, request),
        Err(FundingError::FundingTooLarge { .. })
    ));
    let mut request = open_request(pair.b.node_id);
    request.push = Msat(1_000_000_000);
    assert!(open(&pair.secp, &pair.a.secrets, request).is_err());
}

#[test]
fn reservations_reject_reused_temporary_id() {
    let pair = Pair::new();
    let (awaiting, _) = pair.open_msg();
    let id = awaiting.temporary_channel_id();
    let mut table = Reservations::new(ReservationLimits::default());
    table
        .start(id, Reservation::AwaitingAccept(awaiting.clone()), 0)
        .unwrap();
    assert_eq!(
        table.start(id, Reservation::AwaitingAccept(awaiting), 0),
        Err(FundingError::TemporaryChannelIdInUse(id))
    );
}

#[test]
fn reservations_reject_out_of_order_messages() {
    let pair = Pair::new();
    let (awaiting, _) = pair.open_msg();
    let id = awaiting.temporary_channel_id();
    let mut table = Reservations::new(ReservationLimits::default());
    table
        .start(id, Reservation::AwaitingAccept(awaiting), 0)
        .unwrap();
    // funding_signed while we wait for accept_channel: refused, and the reservation is gone.
    assert!(matches!(
        table.take_awaiting_funding_signed(id, "funding_signed"),
        Err(FundingError::UnexpectedMessage {
            message: "funding_signed",
            state: "awaiting_accept"
        })
    ));
    assert!(table.is_empty());
    assert_eq!(
        table.take_awaiting_accept(id, "accept_channel").map(|_| ()),
        Err(FundingError::UnknownReservation(id))
    );
}

#[test]
fn reservations_enforce_limits() {
    let pair = Pair::new();
    let (awaiting, _) = pair.open_msg();
    let mut table = Reservations::new(ReservationLimits {
        max_per_peer: 2,
        timeout_secs: 10,
    });
    for i in 0..2u8 {
        table
            .start(
                ChannelId([i; 32]),
                Reservation::AwaitingAccept(awaiting.clone()),
                0,
            )
            .unwrap();
    }
    assert_eq!(
        table.start(ChannelId([9; 32]), Reservation::AwaitingAccept(awaiting), 0),
        Err(FundingError::TooManyReservations { limit: 2 })
    );
}

#[test]
fn reservations_expire() {
    let pair = Pair::new();
    let (awaiting, _) = pair.open_msg();
    let mut table = Reservations::new(ReservationLimits {
        max_per_peer: 10,
        timeout_secs: 600,
    });
    table
        .start(
            ChannelId([1; 32]),
            Reservation::AwaitingAccept(awaiting.clone()),
            100,
        )
        .unwrap();
    table
        .start(
            ChannelId([2; 32]),
            Reservation::AwaitingAccept(awaiting),
            200,
        )
        .unwrap();
    assert_eq!(table.next_deadline(), Some(700));
    assert!(table.expire(699).is_empty());
    let expired = table.expire(700);
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].0, ChannelId([1; 32]));
    assert_eq!(table.len(), 1);
    assert_eq!(table.next_deadline(), Some(800));
}

#[test]
fn shutdown_script_forms() {
    let p2wpkh = [&[0x00, 0x14][..], &[0u8; 20]].concat();
    let p2wsh = [&[0x00, 0x20][..], &[0u8; 32]].concat();
    let taproot = [&[0x51, 0x20][..], &[0u8; 32]].concat();
    let op_return = [&[0x6a, 0x06][..], &[0u8; 6]].concat();
    assert!(is_valid_shutdown_script(&p2wpkh, false, false));
    assert!(is_valid_shutdown_script(&p2wsh, false, false));
    assert!(!is_valid_shutdown_script(&taproot, false, false));
    assert!(is_valid_shutdown_script(&taproot, true, false));
    assert!(!is_valid_shutdown_script(&op_return, true, false));
    assert!(is_valid_shutdown_script(&op_return, false, true));
    assert!(!is_valid_shutdown_script(
        &[0x6a, 0x05, 1, 2, 3, 4, 5],
        false,
        true
    ));
}

/// Two stored-ready channels (initiator's, responder's) for other modules' tests.
pub(crate) fn pending_pair() -> (PendingChannel, PendingChannel) {
    Pair::new().run()
}
