//! The revocation log on real revoked states: the peer's commitment, signed by us, holding
//! HTLCs both ways, later revoked; what the log and the HTLC rows hold for it lets the
//! watcher recognise it and build a justice transaction that takes every output, checked by
//! Bitcoin's script interpreter.

use bitcoin::{Amount, ScriptBuf, Transaction};

use super::pair::{Pair, Who};
use crate::channel::commitments::local_commitment;
use crate::channel::{record, Command, Party};
use crate::units::FeeratePerKw;
use crate::watch::classify::{build_signed_sweep, classify, plan_sweeps};
use crate::watch::{SpendKind, SweepKind};

/// B's current commitment transaction, as B would broadcast it (unsigned: the witness does
/// not change its txid or outputs).
fn b_commitment(p: &Pair) -> (u64, Transaction) {
    let rec = p.b.ch.record();
    let c = &rec.commitment;
    let tx = local_commitment(
        &p.secp,
        &rec.params,
        &p.b.secrets,
        c.local_commitment_number(),
        &c.local_view().unwrap().balances(),
    )
    .unwrap();
    (c.local.number, tx.tx)
}

#[test]
fn a_revoked_state_with_htlcs_is_punished_from_the_revocation_log() {
    let mut p = Pair::new();
    let ours = p.add(Who::A, 30_000_000, 1);
    let theirs = p.add(Who::B, 20_000_000, 2);
    p.drive();
    let (n, revoked) = b_commitment(&p);
    assert_eq!(revoked.output.len(), 4, "to_local, to_remote and two HTLCs");
    // The channel moves on: B revokes that state.
    p.fulfill(Who::B, ours, 1);
    p.command(
        Who::A,
        Command::Fail {
            id: theirs,
            reason: vec![7],
        },
    )
    .unwrap();
    p.drive();
    p.command(Who::A, Command::UpdateFee(FeeratePerKw(3_000)))
        .unwrap();
    p.drive();
    assert!(p.a.ch.record().commitment.remote.current.number > n);

    // What A stored of that state.
    let id = p.a.ch.id();
    let state = record::revoked_state(&p.a.store, &id, n).unwrap().unwrap();
    assert_eq!(state.htlcs.len(), 2);
    assert!(state.to_local.is_some());
    let mut htlcs = Vec::new();
    for (vout, key) in &state.htlcs {
        let h = record::stored_htlc(&p.a.store, &id, *key).unwrap().unwrap();
        let (first, last) = (h.remote_first.unwrap(), h.remote_last.unwrap());
        assert!(
            first <= n && n <= last,
            "the span of HTLC {key:?} holds state {n}"
        );
        assert_eq!(
            revoked.output[*vout as usize].value,
            h.amount.to_amount_floor()
        );
        let seen = h.as_htlc();
        htlcs.push(crate::tx::Htlc {
            direction: seen.direction.flipped(),
            ..seen
        });
    }
    assert!(htlcs
        .iter()
        .any(|h| h.direction == crate::tx::HtlcDirection::Received));
    assert_eq!(
        state
            .htlcs
            .iter()
            .filter(|(_, k)| k.offerer == Party::Local)
            .count(),
        1
    );

    // The watcher's view: a breach, answered by one justice transaction taking everything.
    let rec = p.a.stored();
    let kind = classify(&p.secp, &rec, &p.a.secrets, &revoked);
    assert_eq!(kind, SpendKind::RevokedCommitment { number: n });
    let plans = plan_sweeps(&p.secp, &rec, &p.a.secrets, kind, &revoked, 500, &htlcs).unwrap();
    assert_eq!(plans.len(), 1);
    assert_eq!(plans[0].kind, SweepKind::Justice);
    let total: Amount = revoked.output.iter().map(|o| o.value).sum();
    assert_eq!(plans[0].amount(), total, "every output is taken");
    let destination = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ));
    let (justice, _) =
        build_signed_sweep(&p.secp, &plans[0], destination, FeeratePerKw(2_500)).unwrap();
    let txid = revoked.compute_txid();
    justice
        .verify(|op| {
            (op.txid == txid)
                .then(|| revoked.output.get(op.vout as usize).cloned())
                .flatten()
        })
        .expect("the justice transaction spends every output validly");
}
