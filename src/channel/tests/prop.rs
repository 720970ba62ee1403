//! Random interleavings (proptest): adds, fulfills, fails and fee updates from both sides,
//! messages delivered a few at a time either way, disconnections, restarts from the store
//! and crashes right after a write. Between honest nodes nothing may ever fail the channel;
//! once everything is settled both sides agree on every commitment and the money adds up to
//! the msat.

use proptest::prelude::*;

use super::pair::{preimage, Pair, Who};
use crate::channel::{ChannelEvent, Command, Party};
use crate::units::FeeratePerKw;

#[derive(Clone, Debug)]
enum Step {
    Add { from: Who, amount: u64 },
    Fulfill { by: Who, nth: usize },
    Fail { by: Who, nth: usize },
    Fee { rate: u32 },
    Deliver { to: Who, n: u8 },
    DeliverAll,
    Reconnect,
    Restart { who: Who },
    Crash { who: Who },
    Close { by: Who },
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![Just(Who::A), Just(Who::B)]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (who(), 1_000u64..40_000_000).prop_map(|(from, amount)| Step::Add { from, amount }),
        3 => (who(), 0usize..4).prop_map(|(by, nth)| Step::Fulfill { by, nth }),
        2 => (who(), 0usize..4).prop_map(|(by, nth)| Step::Fail { by, nth }),
        1 => (253u32..20_000).prop_map(|rate| Step::Fee { rate }),
        6 => (who(), 1u8..4).prop_map(|(to, n)| Step::Deliver { to, n }),
        2 => Just(Step::DeliverAll),
        1 => Just(Step::Reconnect),
        1 => who().prop_map(|who| Step::Restart { who }),
        1 => who().prop_map(|who| Step::Crash { who }),
        1 => who().prop_map(|by| Step::Close { by }),
    ]
}

/// The peer's HTLCs `by` holds, committed and not being removed, by id.
fn removable(p: &Pair, by: Who) -> Vec<u64> {
    let node = match by {
        Who::A => &p.a,
        Who::B => &p.b,
    };
    let c = &node.ch.record().commitment;
    c.ledger
        .htlcs
        .values()
        .filter(|h| h.key.offerer == Party::Remote && h.removal.is_none() && c.is_committed(h))
        .map(|h| h.key.id)
        .collect()
}

/// Which preimage an HTLC of `offerer` with `id` was made with (tests number them).
fn preimage_of(p: &Pair, holder: Who, id: u64) -> Option<u64> {
    let node = match holder {
        Who::A => &p.a,
        Who::B => &p.b,
    };
    let h = node.ch.record().commitment.ledger.htlc(Party::Remote, id)?;
    (0..10_000u64).find(|n| preimage(*n).payment_hash() == h.payment_hash)
}

fn run(p: &mut Pair, step: &Step, counter: &mut u64) {
    match *step {
        Step::Add { from, amount } => {
            *counter += 1;
            let expiry = p.now.height + 500;
            let _ = p.command(
                from,
                Command::AddHtlc(super::pair::htlc(amount, *counter, expiry)),
            );
        }
        Step::Fulfill { by, nth } | Step::Fail { by, nth } => {
            let ids = removable(p, by);
            let Some(&id) = ids.get(nth % ids.len().max(1)) else {
                return;
            };
            let cmd = match step {
                Step::Fulfill { .. } => match preimage_of(p, by, id) {
                    Some(n) => Command::Fulfill {
                        id,
                        preimage: preimage(n),
                    },
                    None => return,
                },
                _ => Command::Fail {
                    id,
                    reason: vec![0x42; 8],
                },
            };
            let _ = p.command(by, cmd);
        }
        Step::Fee { rate } => {
            let _ = p.command(Who::A, Command::UpdateFee(FeeratePerKw(rate)));
        }
        Step::Deliver { to, n } => {
            for _ in 0..n {
                p.deliver_one(to);
            }
        }
        Step::DeliverAll => p.drive(),
        Step::Reconnect => {
            p.disconnect();
            p.reconnect_only();
        }
        Step::Restart { who } => {
            p.disconnect();
            p.restart(who);
            p.reconnect_only();
        }
        Step::Crash { who } => p.crash_after_next_persist(who),
        Step::Close { by } => {
            let now = p.now;
            let script = super::pair::closing_script(by);
            let result = p
                .node(by)
                .ch
                .handle_close(&script, FeeratePerKw(2_500), now);
            p.process(by);
            let _ = result;
        }
    }
    if !p.connected {
        // A crash dropped the connection.
        p.reconnect_only();
    }
}

/// Fulfills or fails everything still in flight, both ways, until nothing is left.
fn settle(p: &mut Pair) {
    p.disconnect();
    p.reconnect();
    for round in 0..50 {
        let closing = p.a.ch.record().close.local_script.is_some()
            || p.b.ch.record().close.local_script.is_some();
        // A side that holds the agreed closing transaction has broadcast it; the other
        // learns of it from the chain if the connection dropped before its copy arrived.
        let closed = p.a.ch.record().close.closing_tx.is_some()
            || p.b.ch.record().close.closing_tx.is_some();
        if p.quiet() && (!closing || closed) {
            return;
        }
        for by in [Who::A, Who::B] {
            for (i, id) in removable(p, by).into_iter().enumerate() {
                let cmd = match preimage_of(p, by, id) {
                    Some(n) if (i + round) % 2 == 0 => Command::Fulfill {
                        id,
                        preimage: preimage(n),
                    },
                    _ => Command::Fail {
                        id,
                        reason: vec![1],
                    },
                };
                let _ = p.command(by, cmd);
            }
        }
        p.drive();
    }
    panic!("the channel never settled");
}

fn failures(p: &Pair, who: Who) -> Vec<String> {
    let node = match who {
        Who::A => &p.a,
        Who::B => &p.b,
    };
    node.events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Failed { reason } => Some(reason.clone()),
            _ => None,
        })
        .chain(p.errors(who))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_interleavings_settle_in_agreement(steps in prop::collection::vec(step(), 1..40)) {
        let mut p = Pair::new();
        let mut counter = 0;
        for step in &steps {
            run(&mut p, step, &mut counter);
            prop_assert!(failures(&p, Who::A).is_empty(), "A: {:?} after {step:?}", failures(&p, Who::A));
            prop_assert!(failures(&p, Who::B).is_empty(), "B: {:?} after {step:?}", failures(&p, Who::B));
        }
        settle(&mut p);
        prop_assert!(failures(&p, Who::A).is_empty(), "A: {:?}", failures(&p, Who::A));
        prop_assert!(failures(&p, Who::B).is_empty(), "B: {:?}", failures(&p, Who::B));
        p.assert_consistent();
        prop_assert!(p.quiet());
        // A close that started ends with a closing transaction, the same on both sides when
        // both hold one.
        let (a, b) = (&p.a.ch.record().close, &p.b.ch.record().close);
        if a.local_script.is_some() || b.local_script.is_some() {
            let (ta, tb) = (a.closing_tx.as_ref(), b.closing_tx.as_ref());
            prop_assert!(ta.is_some() || tb.is_some(), "the close did not finish");
            if let (Some(ta), Some(tb)) = (ta, tb) {
                prop_assert_eq!(ta.compute_txid(), tb.compute_txid());
            }
        }
        // What the stores hold is what the cores hold.
        prop_assert_eq!(&p.a.stored().commitment, &p.a.ch.record().commitment);
        prop_assert_eq!(&p.b.stored().commitment, &p.b.ch.record().commitment);
    }
}
