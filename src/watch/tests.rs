//! Classification and sweeps on a real funded channel pair (no network): every kind of spend
//! is recognised, and every sweep it calls for passes Bitcoin's script interpreter against the
//! outputs it spends, with the CSV delay enforced.

use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{Amount, Network, ScriptBuf, Transaction, TxOut};

use super::classify::{build_signed_sweep, classify, plan_sweeps};
use super::{SpendKind, SweepKind};
use crate::channel::close::CloseState;
use crate::channel::commitments::{remote_commitment, signed_local_commitment};
use crate::channel::StoredChannel;
use crate::channel::{ChannelStatus, FundingState};
use crate::funding::tests::pending_pair;
use crate::funding::PendingChannel;
use crate::keys::{ChannelSecrets, CommitmentNumber, SecretStore};
use crate::store::Counters;
use crate::units::FeeratePerKw;

fn secrets(seed_byte: u8, secp: &Secp256k1<All>) -> ChannelSecrets {
    ChannelSecrets::from_node_seed(secp, &[seed_byte; 32], Network::Regtest, 0).unwrap()
}

fn stored(p: &PendingChannel) -> StoredChannel {
    StoredChannel {
        params: p.params.clone(),
        funding: FundingState {
            funding_tx: p.funding_tx.clone(),
            opened_at_height: 100,
            confirmed: None,
            channel_ready_sent: true,
            channel_ready_received: true,
        },
        commitment: p.commitment.clone(),
        status: ChannelStatus::Ready,
        counters: Counters::default(),
        close: CloseState::default(),
        watch: None,
    }
}

/// A's (seed 1) and B's (seed 2) views of one channel, as the funding tests build it.
fn pair(secp: &Secp256k1<All>) -> (StoredChannel, ChannelSecrets, StoredChannel, ChannelSecrets) {
    let (a, b) = pending_pair();
    (stored(&a), secrets(1, secp), stored(&b), secrets(2, secp))
}

fn commitment_of(secp: &Secp256k1<All>, c: &StoredChannel, s: &ChannelSecrets) -> Transaction {
    signed_local_commitment(
        secp,
        &c.params,
        s,
        CommitmentNumber::ZERO,
        &c.commitment.local_view().unwrap().balances(),
        &c.commitment.local.signature,
    )
    .unwrap()
}

/// Verifies `sweep` against the outputs of `parent` it spends, with libbitcoinconsensus.
fn verify(sweep: &Transaction, parent: &Transaction) {
    let txid = parent.compute_txid();
    sweep
        .verify(|op| {
            (op.txid == txid)
                .then(|| parent.output.get(op.vout as usize).cloned())
                .flatten()
        })
        .expect("the sweep spends its outputs validly");
}

fn destination() -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ))
}

#[test]
fn our_own_commitment_is_a_local_force_close_with_a_delayed_sweep() {
    let secp = Secp256k1::new();
    let (a, sa, _, _) = pair(&secp);
    let tx = commitment_of(&secp, &a, &sa);
    let kind = classify(&secp, &a, &sa, &tx);
    assert_eq!(kind, SpendKind::LocalCommitment { number: 0 });
    let plans = plan_sweeps(&secp, &a, &sa, kind, &tx, 200, &[]).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].kind, SweepKind::ToLocal);
    // B imposed to_self_delay 144 on A.
    assert_eq!(plans[0].valid_from, 200 + 144);
    let (sweep, fee) =
        build_signed_sweep(&secp, &plans[0], destination(), FeeratePerKw(2_500)).unwrap();
    assert_eq!(sweep.output[0].value + fee, plans[0].amount());
    verify(&sweep, &tx);
    // One block short of the delay: the script refuses (CSV).
    let mut early = sweep.clone();
    early.input[0].sequence = bitcoin::Sequence::from_height(143);
    let txid = tx.compute_txid();
    assert!(early
        .verify(|op| (op.txid == txid).then(|| tx.output[op.vout as usize].clone()))
        .is_err());
}

#[test]
fn the_peers_current_commitment_is_a_remote_force_close_swept_at_once() {
    let secp = Secp256k1::new();
    let (a, sa, b, sb) = pair(&secp);
    // B broadcasts its commitment; A classifies it.
    let tx = commitment_of(&secp, &b, &sb);
    let kind = classify(&secp, &a, &sa, &tx);
    assert_eq!(kind, SpendKind::RemoteCommitment { number: 0 });
    let plans = plan_sweeps(&secp, &a, &sa, kind, &tx, 200, &[]).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].kind, SweepKind::ToRemote);
    assert_eq!(plans[0].valid_from, 200);
    // On B's commitment A is "remote" and still the funder: its to_remote output is its
    // balance minus the commitment fee, spendable at once with its payment basepoint key.
    let (sweep, _) =
        build_signed_sweep(&secp, &plans[0], destination(), FeeratePerKw(2_500)).unwrap();
    verify(&sweep, &tx);
}

#[test]
fn the_agreed_closing_transaction_is_cooperative_with_nothing_to_sweep() {
    let secp = Secp256k1::new();
    let (mut a, sa, _, _) = pair(&secp);
    let ours = destination();
    let theirs = ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ));
    a.close.local_script = Some(ours.clone());
    a.close.remote_script = Some(theirs.clone());
    let closing = crate::tx::build_closing(&crate::tx::ClosingSpec {
        funding: a.params.funding_output(),
        local_balance: a.commitment.balances().0,
        remote_balance: a.commitment.balances().1,
        local_script: ours,
        remote_script: theirs,
        funder: crate::tx::Side::Local,
        fee: Amount::from_sat(500),
        dust_limit: Amount::from_sat(546),
    })
    .unwrap();
    let kind = classify(&secp, &a, &sa, &closing);
    assert_eq!(kind, SpendKind::Cooperative);
    assert!(plan_sweeps(&secp, &a, &sa, kind, &closing, 200, &[])
        .unwrap()
        .is_empty());
}

#[test]
fn a_revoked_commitment_is_a_breach_answered_by_a_justice_transaction() {
    let secp = Secp256k1::new();
    let (mut a, sa, b, sb) = pair(&secp);
    // Pretend the channel moved on: B revoked commitment 0 (revealing its secret) and A now
    // holds B's commitment 1. B broadcasts the old one.
    let mut store = SecretStore::new();
    let zero = CommitmentNumber::ZERO;
    store
        .insert(zero.secret_index(), sb.per_commitment_secret(zero))
        .unwrap();
    a.commitment.their_secrets = store;
    a.commitment.remote.current.number = 1;
    let revoked = commitment_of(&secp, &b, &sb);
    let kind = classify(&secp, &a, &sa, &revoked);
    assert_eq!(kind, SpendKind::RevokedCommitment { number: 0 });
    let plans = plan_sweeps(&secp, &a, &sa, kind, &revoked, 200, &[]).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].kind, SweepKind::Justice);
    // Everything B had (its to_local, by revocation) and A's own to_remote.
    let total: Amount = revoked.output.iter().map(|o| o.value).sum();
    assert_eq!(plans[0].amount(), total);
    let (justice, _) =
        build_signed_sweep(&secp, &plans[0], destination(), FeeratePerKw(2_500)).unwrap();
    // No waiting: the revocation path has no delay.
    assert_eq!(plans[0].valid_from, 200);
    verify(&justice, &revoked);
}

#[test]
fn anything_else_is_unknown_yet_our_static_to_remote_is_still_swept() {
    let secp = Secp256k1::new();
    let (a, sa, _, sb) = pair(&secp);
    // A commitment of B's that A does not know (B claims state 7): unknown, but it pays A's
    // static remote key, which A can always take.
    let point = sb
        .per_commitment_point(&secp, CommitmentNumber::new(7).unwrap())
        .unwrap()
        .0;
    let future = remote_commitment(
        &secp,
        &a.params,
        CommitmentNumber::new(7).unwrap(),
        &point,
        &a.commitment.local_view().unwrap().balances(),
    )
    .unwrap()
    .tx;
    let kind = classify(&secp, &a, &sa, &future);
    assert_eq!(kind, SpendKind::Unknown);
    let plans = plan_sweeps(&secp, &a, &sa, kind, &future, 200, &[]).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].kind, SweepKind::ToRemote);
    // A stranger's transaction: unknown, nothing of ours in it.
    let mut stranger = future.clone();
    stranger.output = vec![TxOut {
        value: Amount::from_sat(1_000),
        script_pubkey: destination(),
    }];
    let kind = classify(&secp, &a, &sa, &stranger);
    assert_eq!(kind, SpendKind::Unknown);
    assert!(plan_sweeps(&secp, &a, &sa, kind, &stranger, 200, &[])
        .unwrap()
        .is_empty());
}
