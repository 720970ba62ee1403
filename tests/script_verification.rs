//! Every kind of BOLT 3 transaction Petrel builds, signed with both parties' keys where
//! needed, checked by Bitcoin Core's own script interpreter (libbitcoinconsensus through
//! `bitcoin`'s `bitcoinconsensus` feature) against the output it spends.
//!
//! Consensus script checks compare CSV and CLTV against the spending transaction's own
//! nSequence and nLockTime, so "too early" below means a sequence or locktime smaller than
//! what the script demands, signed correctly so that only the timelock fails. Each positive
//! check has negative twins: wrong key, too-early timelock, swapped signatures.

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::ecdsa::Signature;
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey};
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, WPubkeyHash,
    Witness,
};
use petrel::keys::{
    ChannelBasepoints, ChannelSecrets, CommitmentKeys, CommitmentNumber, ObscuringFactor,
};
use petrel::tx::{
    build_closing, build_commitment, build_sweep, revoked_htlc_tx_output, revoked_outputs,
    ClosingSpec, CommitmentSpec, CommitmentTx, FundingOutput, Htlc, HtlcDirection, HtlcTx,
    HtlcTxKind, PaymentHash, PaymentPreimage, Side, Sweep, SweepInput, TxError,
};
use petrel::units::{FeeratePerKw, Msat};

/// The script flags of Core's standard policy that consensus verification exposes: P2SH,
/// DERSIG, NULLDUMMY, CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY, WITNESS.
const FLAGS: u32 = bitcoinconsensus::VERIFY_P2SH
    | bitcoinconsensus::VERIFY_DERSIG
    | bitcoinconsensus::VERIFY_NULLDUMMY
    | bitcoinconsensus::VERIFY_CHECKLOCKTIMEVERIFY
    | bitcoinconsensus::VERIFY_CHECKSEQUENCEVERIFY
    | bitcoinconsensus::VERIFY_WITNESS;

const FEERATE: FeeratePerKw = FeeratePerKw(2500);
/// The delay Bob imposes on Alice (applies to Alice's commitment).
const ALICE_DELAY: u16 = 144;
/// The delay Alice imposes on Bob (applies to Bob's commitment).
const BOB_DELAY: u16 = 6;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Alice,
    Bob,
}

struct Party {
    secrets: ChannelSecrets,
    points: ChannelBasepoints,
    dust_limit: Amount,
    /// The `to_self_delay` this party's own commitments carry.
    to_self_delay: u16,
}

/// A channel Alice opened to Bob, with HTLCs in flight both ways and one dust HTLC.
struct Channel {
    secp: Secp256k1<All>,
    alice: Party,
    bob: Party,
    funding: FundingOutput,
    factor: ObscuringFactor,
    /// HTLCs with directions seen from Alice, and their preimages.
    htlcs: Vec<(Htlc, PaymentPreimage)>,
    alice_balance: Msat,
    bob_balance: Msat,
}

fn htlc(
    direction: HtlcDirection,
    msat: u64,
    cltv_expiry: u32,
    byte: u8,
) -> (Htlc, PaymentPreimage) {
    let preimage = PaymentPreimage([byte; 32]);
    let htlc = Htlc {
        direction,
        amount: Msat(msat),
        payment_hash: preimage.payment_hash(),
        cltv_expiry,
    };
    (htlc, preimage)
}

/// Position of each HTLC in `Channel::htlcs`.
const ALICE_OFFERED: usize = 0;
const ALICE_DUST: usize = 1;
const BOB_OFFERED: usize = 2;

impl Channel {
    fn new() -> Channel {
        let secp = Secp256k1::new();
        let party = |seed: u8, index: u32, dust: u64, delay: u16| {
            let secrets =
                ChannelSecrets::from_node_seed(&secp, &[seed; 32], Network::Regtest, index)
                    .unwrap();
            Party {
                points: secrets.basepoints(&secp),
                secrets,
                dust_limit: Amount::from_sat(dust),
                to_self_delay: delay,
            }
        };
        let alice = party(0xa1, 0, 546, ALICE_DELAY);
        let bob = party(0xb0, 3, 354, BOB_DELAY);
        // Any transaction paying the funding output will do: only its txid matters here.
        let funding_txid = Txid::from_byte_array([0x11; 32]);
        let funding = FundingOutput::new(
            OutPoint::new(funding_txid, 1),
            Amount::from_sat(1_000_000),
            alice.points.funding_pubkey,
            bob.points.funding_pubkey,
        );
        let factor = ObscuringFactor::new(
            &alice.points.payment_basepoint,
            &bob.points.payment_basepoint,
        );
        let htlcs = vec![
            htlc(HtlcDirection::Offered, 50_000_000, 600, 1),
            htlc(HtlcDirection::Offered, 1_000_000, 605, 2),
            htlc(HtlcDirection::Received, 80_000_000, 610, 3),
        ];
        Channel {
            secp,
            alice,
            bob,
            funding,
            factor,
            htlcs,
            alice_balance: Msat(549_000_000),
            bob_balance: Msat(320_000_000),
        }
    }

    fn party(&self, who: Who) -> &Party {
        match who {
            Who::Alice => &self.alice,
            Who::Bob => &self.bob,
        }
    }

    fn other(who: Who) -> Who {
        match who {
            Who::Alice => Who::Bob,
            Who::Bob => Who::Alice,
        }
    }

    /// The keys of `owner`'s commitment number `n`.
    fn keys(&self, owner: Who, n: CommitmentNumber) -> CommitmentKeys {
        let (me, them) = (self.party(owner), self.party(Self::other(owner)));
        let point = me.secrets.per_commitment_point(&self.secp, n).unwrap();
        CommitmentKeys::derive(&self.secp, &point, &me.points, &them.points).unwrap()
    }

    /// `owner`'s commitment number `n`, following the calling contract of `CommitmentSpec`.
    fn commitment(&self, owner: Who, n: CommitmentNumber) -> CommitmentTx {
        let me = self.party(owner);
        let (to_local, to_remote, funder) = match owner {
            Who::Alice => (self.alice_balance, self.bob_balance, Side::Local),
            Who::Bob => (self.bob_balance, self.alice_balance, Side::Remote),
        };
        let htlcs = self
            .htlcs
            .iter()
            .map(|(h, _)| match owner {
                Who::Alice => *h,
                Who::Bob => Htlc {
                    direction: match h.direction {
                        HtlcDirection::Offered => HtlcDirection::Received,
                        HtlcDirection::Received => HtlcDirection::Offered,
                    },
                    ..*h
                },
            })
            .collect();
        build_commitment(&CommitmentSpec {
            funding: self.funding,
            obscuring_factor: self.factor,
            commitment_number: n,
            keys: self.keys(owner, n),
            to_self_delay: me.to_self_delay,
            dust_limit: me.dust_limit,
            feerate: FEERATE,
            funder,
            to_local,
            to_remote,
            htlcs,
        })
        .unwrap()
    }

    /// `owner`'s commitment `n`, signed by both funding keys: what `owner` would broadcast.
    fn signed_commitment(&self, owner: Who, n: CommitmentNumber) -> (CommitmentTx, Transaction) {
        let built = self.commitment(owner, n);
        let (a, b) = (&self.alice, &self.bob);
        let sig_a = self
            .funding
            .sign(&self.secp, &built.tx, &a.secrets.funding_key)
            .unwrap();
        let sig_b = self
            .funding
            .sign(&self.secp, &built.tx, &b.secrets.funding_key)
            .unwrap();
        self.funding
            .verify(&self.secp, &built.tx, &sig_b, &b.points.funding_pubkey)
            .unwrap();
        let signed = self
            .funding
            .into_signed(
                built.tx.clone(),
                (&a.points.funding_pubkey, &sig_a),
                (&b.points.funding_pubkey, &sig_b),
            )
            .unwrap();
        (built, signed)
    }

    /// `owner`'s HTLC transactions for its commitment, signed by both HTLC keys (the
    /// counterparty's `htlc_signature` checked first), with preimages for successes.
    fn signed_htlc_txs(&self, owner: Who, built: &CommitmentTx) -> Vec<(HtlcTx, Transaction)> {
        let point = built.keys().per_commitment_point;
        let me = &self.party(owner).secrets;
        let them = &self.party(Self::other(owner)).secrets;
        built
            .htlc_txs()
            .unwrap()
            .into_iter()
            .map(|htlc_tx| {
                let remote_sig = htlc_tx
                    .sign(&self.secp, &them.htlc_key(&self.secp, &point).unwrap())
                    .unwrap();
                htlc_tx
                    .verify(&self.secp, &remote_sig, &built.keys().remote_htlcpubkey)
                    .unwrap();
                let local_sig = htlc_tx
                    .sign(&self.secp, &me.htlc_key(&self.secp, &point).unwrap())
                    .unwrap();
                let preimage = self.preimage_of(&htlc_tx.htlc.payment_hash);
                let signed = htlc_tx
                    .clone()
                    .into_signed(&remote_sig, &local_sig, Some(&preimage))
                    .unwrap();
                (htlc_tx, signed)
            })
            .collect()
    }

    fn preimage_of(&self, hash: &PaymentHash) -> PaymentPreimage {
        self.htlcs
            .iter()
            .find(|(h, _)| h.payment_hash == *hash)
            .map(|(_, p)| *p)
            .unwrap()
    }
}

/// Verifies every input of `tx` against the outputs in `spent` with Core's interpreter.
fn verify(tx: &Transaction, spent: &[(OutPoint, TxOut)]) -> Result<(), String> {
    tx.verify_with_flags(
        |outpoint| {
            spent
                .iter()
                .find(|(o, _)| o == outpoint)
                .map(|(_, out)| out.clone())
        },
        FLAGS,
    )
    .map_err(|e| format!("{e:?}"))
}

/// The outputs of `tx`, as `spent` entries.
fn outputs_of(tx: &Transaction) -> Vec<(OutPoint, TxOut)> {
    let txid = tx.compute_txid();
    (0u32..)
        .zip(&tx.output)
        .map(|(vout, out)| (OutPoint::new(txid, vout), out.clone()))
        .collect()
}

fn destination(byte: u8) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array([byte; 20]))
}

fn key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

/// The funding witness with the two signatures in the wrong order.
fn swapped_funding_witness(
    funding: &FundingOutput,
    first: &Signature,
    second: &Signature,
) -> Witness {
    let mut witness = Witness::new();
    witness.push([]);
    witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature::sighash_all(*second));
    witness.push_ecdsa_signature(&bitcoin::ecdsa::Signature::sighash_all(*first));
    witness.push(funding.witness_script().as_bytes());
    witness
}

fn n(value: u64) -> CommitmentNumber {
    CommitmentNumber::new(value).unwrap()
}

#[test]
fn commitments_of_both_sides_spend_the_funding_output() {
    let ch = Channel::new();
    let funding = [(ch.funding.outpoint, ch.funding.tx_out())];
    for owner in [Who::Alice, Who::Bob] {
        let (built, signed) = ch.signed_commitment(owner, n(7));
        verify(&signed, &funding).unwrap();
        // The chain watcher reads the commitment number back.
        assert_eq!(ch.factor.commitment_number_of(&signed), Some(n(7)));
        // The dust HTLC is trimmed on both sides; the other two have outputs.
        assert_eq!(built.trimmed, vec![ALICE_DUST]);
        assert_eq!(built.htlc_outputs.len(), 2);
    }
}

#[test]
fn commitment_with_a_wrong_or_swapped_signature_fails() {
    let ch = Channel::new();
    let funding = [(ch.funding.outpoint, ch.funding.tx_out())];
    let (built, _) = ch.signed_commitment(Who::Alice, n(7));
    let (a, b) = (&ch.alice, &ch.bob);
    let sig_a = ch
        .funding
        .sign(&ch.secp, &built.tx, &a.secrets.funding_key)
        .unwrap();
    let sig_b = ch
        .funding
        .sign(&ch.secp, &built.tx, &b.secrets.funding_key)
        .unwrap();

    // A signature by a key that is not Bob's funding key, slotted in as his.
    let wrong = ch.funding.sign(&ch.secp, &built.tx, &key(0x77)).unwrap();
    let bad = ch
        .funding
        .into_signed(
            built.tx.clone(),
            (&a.points.funding_pubkey, &sig_a),
            (&b.points.funding_pubkey, &wrong),
        )
        .unwrap();
    assert!(verify(&bad, &funding).is_err());
    assert_eq!(
        ch.funding
            .verify(&ch.secp, &built.tx, &wrong, &b.points.funding_pubkey),
        Err(TxError::InvalidSignature)
    );

    // The right signatures in the wrong order: OP_CHECKMULTISIG needs pubkey1's first.
    let [first_key, _] = ch.funding.pubkeys();
    let (first, second) = if first_key == a.points.funding_pubkey {
        (sig_a, sig_b)
    } else {
        (sig_b, sig_a)
    };
    let mut swapped = built.tx.clone();
    swapped.input[0].witness = swapped_funding_witness(&ch.funding, &first, &second);
    assert!(verify(&swapped, &funding).is_err());
    let mut right = built.tx.clone();
    right.input[0].witness = swapped_funding_witness(&ch.funding, &second, &first);
    verify(&right, &funding).unwrap();

    // A signature over a different commitment (another commitment number).
    let other = ch.commitment(Who::Alice, n(8));
    let stale = ch
        .funding
        .sign(&ch.secp, &other.tx, &b.secrets.funding_key)
        .unwrap();
    let bad = ch
        .funding
        .into_signed(
            built.tx,
            (&a.points.funding_pubkey, &sig_a),
            (&b.points.funding_pubkey, &stale),
        )
        .unwrap();
    assert!(verify(&bad, &funding).is_err());
}

#[test]
fn htlc_timeout_and_success_spend_the_commitment_htlc_outputs() {
    let ch = Channel::new();
    for owner in [Who::Alice, Who::Bob] {
        let (built, signed) = ch.signed_commitment(owner, n(7));
        let spent = outputs_of(&signed);
        let htlc_txs = ch.signed_htlc_txs(owner, &built);
        assert_eq!(htlc_txs.len(), 2);
        let kinds: Vec<HtlcTxKind> = htlc_txs.iter().map(|(h, _)| h.kind).collect();
        assert!(kinds.contains(&HtlcTxKind::Timeout) && kinds.contains(&HtlcTxKind::Success));
        for (htlc_tx, signed_htlc) in &htlc_txs {
            verify(signed_htlc, &spent)
                .unwrap_or_else(|e| panic!("{owner:?} {:?}: {e}", htlc_tx.kind));
            // Swapped signatures fail: the multisig wants the remote signature first.
            let mut swapped = signed_htlc.clone();
            let items: Vec<Vec<u8>> = swapped.input[0]
                .witness
                .iter()
                .map(<[u8]>::to_vec)
                .collect();
            let mut witness = Witness::new();
            for i in [0, 2, 1, 3, 4] {
                witness.push(&items[i]);
            }
            swapped.input[0].witness = witness;
            assert!(
                verify(&swapped, &spent).is_err(),
                "{owner:?} {:?} swapped",
                htlc_tx.kind
            );
            // A signature by a key that is not the owner's HTLC key fails.
            let wrong = htlc_tx.sign(&ch.secp, &key(0x55)).unwrap();
            let remote_sig = htlc_tx
                .sign(
                    &ch.secp,
                    &ch.party(Channel::other(owner))
                        .secrets
                        .htlc_key(&ch.secp, &built.keys().per_commitment_point)
                        .unwrap(),
                )
                .unwrap();
            let preimage = ch.preimage_of(&htlc_tx.htlc.payment_hash);
            let bad = htlc_tx
                .clone()
                .into_signed(&remote_sig, &wrong, Some(&preimage))
                .unwrap();
            assert!(
                verify(&bad, &spent).is_err(),
                "{owner:?} {:?} wrong key",
                htlc_tx.kind
            );
        }
    }
}

#[test]
fn htlc_success_needs_the_right_preimage() {
    let ch = Channel::new();
    let (built, signed) = ch.signed_commitment(Who::Alice, n(7));
    let spent = outputs_of(&signed);
    let (htlc_tx, good) = ch
        .signed_htlc_txs(Who::Alice, &built)
        .into_iter()
        .find(|(h, _)| h.kind == HtlcTxKind::Success)
        .unwrap();
    verify(&good, &spent).unwrap();
    // Builder refuses a wrong preimage; forced into the witness, the script refuses it too.
    let point = built.keys().per_commitment_point;
    let remote = htlc_tx
        .sign(
            &ch.secp,
            &ch.bob.secrets.htlc_key(&ch.secp, &point).unwrap(),
        )
        .unwrap();
    let local = htlc_tx
        .sign(
            &ch.secp,
            &ch.alice.secrets.htlc_key(&ch.secp, &point).unwrap(),
        )
        .unwrap();
    let wrong = PaymentPreimage([0xee; 32]);
    assert_eq!(
        htlc_tx.clone().into_signed(&remote, &local, Some(&wrong)),
        Err(TxError::WrongPreimage)
    );
    let mut forced = good;
    let items: Vec<Vec<u8>> = forced.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let mut witness = Witness::new();
    for (i, item) in items.iter().enumerate() {
        if i == 3 {
            witness.push(wrong.0);
        } else {
            witness.push(item);
        }
    }
    forced.input[0].witness = witness;
    assert!(verify(&forced, &spent).is_err());
}

/// Signs `sweep` with `key` after letting `tweak` change its transaction (e.g. a too-early
/// sequence), so that the signatures are valid for what is verified.
fn sign_with(
    ch: &Channel,
    mut sweep: Sweep,
    key: &SecretKey,
    tweak: impl FnOnce(&mut Transaction),
) -> Transaction {
    tweak(&mut sweep.tx);
    sweep.sign_all(&ch.secp, key).unwrap();
    // The fee covers the expected weight, which bounds the real one.
    assert!(sweep.tx.weight().to_wu() <= sweep.expected_weight);
    sweep.tx
}

#[test]
fn to_local_sweeps_only_after_to_self_delay() {
    let ch = Channel::new();
    for owner in [Who::Alice, Who::Bob] {
        let (built, signed) = ch.signed_commitment(owner, n(7));
        let spent = outputs_of(&signed);
        let vout = built.to_local_vout.unwrap();
        let delay = ch.party(owner).to_self_delay;
        let input = SweepInput::delayed(
            OutPoint::new(signed.compute_txid(), vout),
            signed.output[vout as usize].value,
            built.keys(),
            delay,
        );
        let sweep = build_sweep(vec![input], destination(1), FEERATE).unwrap();
        let point = built.keys().per_commitment_point;
        let delayed_key = ch
            .party(owner)
            .secrets
            .delayed_payment_key(&ch.secp, &point)
            .unwrap();

        verify(&sign_with(&ch, sweep.clone(), &delayed_key, |_| {}), &spent).unwrap();
        let early = sign_with(&ch, sweep.clone(), &delayed_key, |tx| {
            tx.input[0].sequence = Sequence::from_height(delay - 1);
        });
        assert!(
            verify(&early, &spent).is_err(),
            "{owner:?}: one block early"
        );
        let htlc_key = ch.party(owner).secrets.htlc_key(&ch.secp, &point).unwrap();
        assert!(verify(&sign_with(&ch, sweep, &htlc_key, |_| {}), &spent).is_err());
    }
}

#[test]
fn to_remote_sweeps_with_the_payment_basepoint_secret() {
    let ch = Channel::new();
    // Bob's to_remote output on Alice's commitment.
    let (built, signed) = ch.signed_commitment(Who::Alice, n(7));
    let spent = outputs_of(&signed);
    let vout = built.to_remote_vout.unwrap();
    let input = SweepInput::to_remote(
        OutPoint::new(signed.compute_txid(), vout),
        signed.output[vout as usize].value,
        ch.bob.points.payment_basepoint,
    );
    let sweep = build_sweep(vec![input], destination(2), FEERATE).unwrap();
    let tx = sign_with(
        &ch,
        sweep.clone(),
        &ch.bob.secrets.payment_basepoint_secret,
        |_| {},
    );
    verify(&tx, &spent).unwrap();
    // Any other key is refused before signing...
    let mut refused = sweep.clone();
    assert_eq!(
        refused.sign_input(&ch.secp, 0, &ch.bob.secrets.htlc_basepoint_secret),
        Err(TxError::KeyMismatch)
    );
    // ...and a forced wrong witness fails the script.
    let mut forced = tx;
    let items: Vec<Vec<u8>> = forced.input[0].witness.iter().map(<[u8]>::to_vec).collect();
    let other = PublicKey::from_secret_key(&ch.secp, &key(0x31));
    forced.input[0].witness = Witness::from_slice(&[items[0].clone(), other.serialize().to_vec()]);
    assert!(verify(&forced, &spent).is_err());
}

#[test]
fn htlc_claims_on_the_remote_commitment() {
    let ch = Channel::new();
    // Alice broadcast her commitment; Bob claims Alice's offered HTLC with its preimage and,
    // after its expiry, his own offered HTLC (received from Alice's side).
    let (built, signed) = ch.signed_commitment(Who::Alice, n(7));
    let spent = outputs_of(&signed);
    let txid = signed.compute_txid();
    let bob_htlc_key = ch
        .bob
        .secrets
        .htlc_key(&ch.secp, &built.keys().per_commitment_point)
        .unwrap();
    let output_of = |index: usize| {
        let out = built
            .htlc_outputs
            .iter()
            .find(|o| o.index == index)
            .unwrap();
        (
            OutPoint::new(txid, out.vout),
            signed.output[out.vout as usize].value,
        )
    };

    let (offered, preimage) = ch.htlcs[ALICE_OFFERED];
    let (outpoint, amount) = output_of(ALICE_OFFERED);
    let claim =
        SweepInput::htlc_preimage(outpoint, amount, built.keys(), &offered, preimage).unwrap();
    let sweep = build_sweep(vec![claim], destination(3), FEERATE).unwrap();
    verify(
        &sign_with(&ch, sweep.clone(), &bob_htlc_key, |_| {}),
        &spent,
    )
    .unwrap();
    assert!(verify(&sign_with(&ch, sweep, &key(0x42), |_| {}), &spent).is_err());
    assert_eq!(
        SweepInput::htlc_preimage(
            outpoint,
            amount,
            built.keys(),
            &offered,
            PaymentPreimage([0; 32])
        ),
        Err(TxError::WrongPreimage)
    );

    let (received, _) = ch.htlcs[BOB_OFFERED];
    let (outpoint, amount) = output_of(BOB_OFFERED);
    let claim = SweepInput::htlc_timeout(outpoint, amount, built.keys(), &received).unwrap();
    let sweep = build_sweep(vec![claim], destination(4), FEERATE).unwrap();
    assert_eq!(
        sweep.tx.lock_time,
        LockTime::from_consensus(received.cltv_expiry)
    );
    verify(
        &sign_with(&ch, sweep.clone(), &bob_htlc_key, |_| {}),
        &spent,
    )
    .unwrap();
    let early = sign_with(&ch, sweep, &bob_htlc_key, |tx| {
        tx.lock_time = LockTime::from_consensus(received.cltv_expiry - 1);
    });
    assert!(
        verify(&early, &spent).is_err(),
        "one block before cltv_expiry"
    );
    assert_eq!(
        SweepInput::htlc_timeout(outpoint, amount, built.keys(), &offered),
        Err(TxError::WrongHtlcDirection)
    );
}

#[test]
fn second_stage_outputs_sweep_only_after_to_self_delay() {
    let ch = Channel::new();
    for owner in [Who::Alice, Who::Bob] {
        let (built, _) = ch.signed_commitment(owner, n(7));
        let delay = ch.party(owner).to_self_delay;
        let delayed_key = ch
            .party(owner)
            .secrets
            .delayed_payment_key(&ch.secp, &built.keys().per_commitment_point)
            .unwrap();
        for (_, signed_htlc) in ch.signed_htlc_txs(owner, &built) {
            let spent = outputs_of(&signed_htlc);
            let input = SweepInput::delayed(spent[0].0, spent[0].1.value, built.keys(), delay);
            let sweep = build_sweep(vec![input], destination(5), FEERATE).unwrap();
            verify(&sign_with(&ch, sweep.clone(), &delayed_key, |_| {}), &spent).unwrap();
            let early = sign_with(&ch, sweep, &delayed_key, |tx| {
                tx.input[0].sequence = Sequence::from_height(delay - 1);
            });
            assert!(verify(&early, &spent).is_err());
        }
    }
}

#[test]
fn justice_spends_every_revoked_output_with_the_revocation_key() {
    let ch = Channel::new();
    // Alice revoked her commitment 5 (Bob holds her secret) and broadcasts it anyway.
    let revoked = n(5);
    let (built, signed) = ch.signed_commitment(Who::Alice, revoked);
    let spent = outputs_of(&signed);
    let secret = ch.alice.secrets.per_commitment_secret(revoked);

    // Bob rebuilds the revoked commitment's keys from the secret alone.
    let point = secret.point(&ch.secp).unwrap();
    let keys = CommitmentKeys::derive(&ch.secp, &point, &ch.alice.points, &ch.bob.points).unwrap();
    assert_eq!(&keys, built.keys());
    assert_eq!(ch.factor.commitment_number_of(&signed), Some(revoked));
    let revocation_key = ch.bob.secrets.revocation_key(&ch.secp, &secret).unwrap();

    let htlcs: Vec<Htlc> = ch.htlcs.iter().map(|(h, _)| *h).collect();
    let inputs = revoked_outputs(&signed, &keys, ALICE_DELAY, &htlcs);
    // to_local and the two untrimmed HTLCs; Bob's own to_remote is not a revoked output.
    assert_eq!(inputs.len(), 3);
    let total: Amount = inputs.iter().map(|i| i.amount).sum();
    let justice = build_sweep(inputs, destination(6), FEERATE).unwrap();
    assert_eq!(justice.tx.output[0].value, total - justice.fee);
    verify(
        &sign_with(&ch, justice.clone(), &revocation_key, |_| {}),
        &spent,
    )
    .unwrap();

    // A revocation key for another state does not work.
    let other = ch.alice.secrets.per_commitment_secret(n(4));
    let wrong = ch.bob.secrets.revocation_key(&ch.secp, &other).unwrap();
    assert!(verify(&sign_with(&ch, justice, &wrong, |_| {}), &spent).is_err());

    // Alice also got her HTLC transactions confirmed: Bob takes their outputs at once.
    for (_, signed_htlc) in ch.signed_htlc_txs(Who::Alice, &built) {
        verify(&signed_htlc, &spent).unwrap();
        let input = revoked_htlc_tx_output(&signed_htlc, &keys, ALICE_DELAY).unwrap();
        let second = outputs_of(&signed_htlc);
        let sweep = build_sweep(vec![input], destination(7), FEERATE).unwrap();
        verify(
            &sign_with(&ch, sweep.clone(), &revocation_key, |_| {}),
            &second,
        )
        .unwrap();
        assert!(verify(&sign_with(&ch, sweep, &wrong, |_| {}), &second).is_err());
    }
}

#[test]
fn legacy_closing_transaction_spends_the_funding_output() {
    let ch = Channel::new();
    let funding = [(ch.funding.outpoint, ch.funding.tx_out())];
    let total = Msat(1_000_000_000);
    let spec = ClosingSpec {
        funding: ch.funding,
        local_balance: Msat(600_000_500),
        remote_balance: Msat(total.0 - 600_000_500),
        local_script: destination(8),
        remote_script: destination(9),
        funder: Side::Local,
        fee: Amount::from_sat(700),
        dust_limit: ch.alice.dust_limit,
    };
    let tx = build_closing(&spec).unwrap();
    let sig_a = ch
        .funding
        .sign(&ch.secp, &tx, &ch.alice.secrets.funding_key)
        .unwrap();
    let sig_b = ch
        .funding
        .sign(&ch.secp, &tx, &ch.bob.secrets.funding_key)
        .unwrap();
    let signed = ch
        .funding
        .into_signed(
            tx.clone(),
            (&ch.alice.points.funding_pubkey, &sig_a),
            (&ch.bob.points.funding_pubkey, &sig_b),
        )
        .unwrap();
    verify(&signed, &funding).unwrap();
    let wrong = ch.funding.sign(&ch.secp, &tx, &key(0x21)).unwrap();
    let bad = ch
        .funding
        .into_signed(
            tx,
            (&ch.alice.points.funding_pubkey, &sig_a),
            (&ch.bob.points.funding_pubkey, &wrong),
        )
        .unwrap();
    assert!(verify(&bad, &funding).is_err());
}

#[test]
fn one_sweep_can_mix_claims_and_still_verify() {
    // Bob, on Alice's (current) commitment: his to_remote, Alice's offered HTLC with the
    // preimage and his own timed-out HTLC, all in one transaction with per-input keys.
    let ch = Channel::new();
    let (built, signed) = ch.signed_commitment(Who::Alice, n(9));
    let spent = outputs_of(&signed);
    let txid = signed.compute_txid();
    let value = |vout: u32| signed.output[vout as usize].value;
    let vout_of = |index: usize| {
        built
            .htlc_outputs
            .iter()
            .find(|o| o.index == index)
            .unwrap()
            .vout
    };
    let to_remote = built.to_remote_vout.unwrap();
    let (offered, preimage) = ch.htlcs[ALICE_OFFERED];
    let (received, _) = ch.htlcs[BOB_OFFERED];
    let inputs = vec![
        SweepInput::to_remote(
            OutPoint::new(txid, to_remote),
            value(to_remote),
            ch.bob.points.payment_basepoint,
        ),
        SweepInput::htlc_preimage(
            OutPoint::new(txid, vout_of(ALICE_OFFERED)),
            value(vout_of(ALICE_OFFERED)),
            built.keys(),
            &offered,
            preimage,
        )
        .unwrap(),
        SweepInput::htlc_timeout(
            OutPoint::new(txid, vout_of(BOB_OFFERED)),
            value(vout_of(BOB_OFFERED)),
            built.keys(),
            &received,
        )
        .unwrap(),
    ];
    let mut sweep = build_sweep(inputs, destination(10), FEERATE).unwrap();
    let htlc_key = ch
        .bob
        .secrets
        .htlc_key(&ch.secp, &built.keys().per_commitment_point)
        .unwrap();
    sweep
        .sign_input(&ch.secp, 0, &ch.bob.secrets.payment_basepoint_secret)
        .unwrap();
    sweep.sign_input(&ch.secp, 1, &htlc_key).unwrap();
    sweep.sign_input(&ch.secp, 2, &htlc_key).unwrap();
    verify(&sweep.tx, &spent).unwrap();
    assert!(sweep.tx.weight().to_wu() <= sweep.expected_weight);
    // The fee pays at least the feerate on the real weight.
    assert!(sweep.fee >= FEERATE.fee_for_weight(sweep.tx.weight().to_wu()));
}

#[test]
fn sweeps_refuse_dust_and_emptiness() {
    let ch = Channel::new();
    let keys = ch.keys(Who::Alice, n(1));
    let tiny = SweepInput::delayed(OutPoint::null(), Amount::from_sat(500), &keys, ALICE_DELAY);
    assert!(matches!(
        build_sweep(vec![tiny], destination(1), FEERATE),
        Err(TxError::SweepBelowDust { .. })
    ));
    assert_eq!(
        build_sweep(Vec::new(), destination(1), FEERATE),
        Err(TxError::SweepWithoutInputs)
    );
    // An unrelated transaction (wrong version, no commitment tags) has no commitment number.
    let unrelated = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn::default()],
        output: vec![],
    };
    assert_eq!(ch.factor.commitment_number_of(&unrelated), None);
}
