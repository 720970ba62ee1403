//! Mutual close negotiated between two cores, message by message, with the final transaction
//! checked by Bitcoin's script interpreter.

use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{Network, ScriptBuf};

use super::*;
use crate::channel::FundingState;
use crate::channel::StoredChannel;
use crate::funding::tests::pending_pair;
use crate::funding::PendingChannel;
use crate::keys::ChannelSecrets;
use crate::store::Counters;

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

const WHEN: When = When {
    time: 1,
    height: 200,
};

fn p2wpkh(byte: u8) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_raw_hash(
        bitcoin::hashes::Hash::from_byte_array([byte; 20]),
    ))
}

/// The close state a step writes.
fn written(step: &CloseStep) -> CloseState {
    step.close.clone().expect("the step writes the close state")
}

struct Side {
    channel: StoredChannel,
    secrets: ChannelSecrets,
}

impl Side {
    fn apply(&mut self, step: &CloseStep) {
        self.channel.close = written(step);
    }
}

fn sides(secp: &Secp256k1<All>) -> (Side, Side) {
    let (a, b) = pending_pair();
    let secrets =
        |byte| ChannelSecrets::from_node_seed(secp, &[byte; 32], Network::Regtest, 0).unwrap();
    (
        Side {
            channel: stored(&a),
            secrets: secrets(1),
        },
        Side {
            channel: stored(&b),
            secrets: secrets(2),
        },
    )
}

fn messages(step: &CloseStep) -> (Option<Shutdown>, Option<ClosingSigned>) {
    let mut shutdown = None;
    let mut closing = None;
    for msg in &step.send {
        match msg {
            Message::Shutdown(s) => shutdown = Some(s.clone()),
            Message::ClosingSigned(c) => closing = Some(c.clone()),
            other => panic!("unexpected {}", other.name()),
        }
    }
    (shutdown, closing)
}

/// Runs a whole mutual close started by `a_starts`; returns the final transaction and the
/// number of closing_signed messages exchanged.
fn negotiate(a_starts: bool) -> (Transaction, usize, StoredChannel) {
    let secp = Secp256k1::new();
    let (mut a, mut b) = sides(&secp);
    let (starter, other) = if a_starts {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let step = initiate(
        &secp,
        &starter.channel,
        &starter.channel.close,
        &starter.secrets,
        &p2wpkh(1),
        FeeratePerKw(2_000),
        WHEN,
    )
    .unwrap();
    starter.apply(&step);
    let (shutdown, first) = messages(&step);
    assert!(
        first.is_none(),
        "no closing_signed before the peer's shutdown"
    );
    let reply = on_shutdown(
        &secp,
        &other.channel,
        &other.channel.close,
        &other.secrets,
        &shutdown.unwrap(),
        Some((&p2wpkh(2), FeeratePerKw(2_000))),
        false,
        WHEN,
    )
    .unwrap();
    other.apply(&reply);
    let (their_shutdown, maybe_closing) = messages(&reply);
    let step = on_shutdown(
        &secp,
        &starter.channel,
        &starter.channel.close,
        &starter.secrets,
        &their_shutdown.unwrap(),
        Some((&p2wpkh(1), FeeratePerKw(2_000))),
        false,
        WHEN,
    )
    .unwrap();
    starter.apply(&step);
    // The funder (A) proposes once it has both shutdowns, whoever started: its proposal goes
    // to B. Queue entries are (delivered to A?, message).
    let (_, from_starter) = messages(&step);
    let mut queue: Vec<(bool, ClosingSigned)> = maybe_closing
        .into_iter()
        .chain(from_starter)
        .map(|c| (false, c))
        .collect();
    assert_eq!(
        queue.len(),
        1,
        "exactly one first proposal, from the funder"
    );
    let mut count = queue.len();
    let mut final_tx = None;
    let mut rounds = 0;
    while let Some((to_a, msg)) = queue.pop() {
        rounds += 1;
        assert!(rounds < 10, "negotiation does not converge");
        let side = if to_a { &mut a } else { &mut b };
        let step = on_closing_signed(
            &secp,
            &side.channel,
            &side.channel.close,
            &side.secrets,
            &msg,
            WHEN,
        )
        .unwrap();
        side.apply(&step);
        if let Some(tx) = step.broadcast.clone() {
            final_tx.get_or_insert(tx);
        }
        for m in &step.send {
            if let Message::ClosingSigned(c) = m {
                queue.push((!to_a, c.clone()));
                count += 1;
            }
        }
    }
    (final_tx.expect("a closing transaction"), count, a.channel)
}

#[test]
fn a_mutual_close_started_by_the_funder_ends_in_a_valid_transaction() {
    let (tx, messages, a) = negotiate(true);
    let funding = a.params.funding_output().tx_out();
    let outpoint = a.params.funding_outpoint;
    tx.verify(|op| (*op == outpoint).then(|| funding.clone()))
        .expect("valid closing tx");
    assert_eq!(tx.lock_time.to_consensus_u32(), 0);
    assert_eq!(tx.input[0].sequence, bitcoin::Sequence::MAX);
    // Two closing_signed with fee_range: the funder's proposal, the fundee's acceptance.
    assert_eq!(messages, 2);
    // The fundee (B) got its push in full; the funder paid the fee.
    let b_out = tx
        .output
        .iter()
        .find(|o| o.script_pubkey == p2wpkh(2))
        .unwrap();
    assert_eq!(b_out.value, a.commitment.balances().1.to_amount_floor());
}

#[test]
fn a_mutual_close_started_by_the_fundee_ends_in_a_valid_transaction() {
    let (tx, _, a) = negotiate(false);
    let funding = a.params.funding_output().tx_out();
    let outpoint = a.params.funding_outpoint;
    tx.verify(|op| (*op == outpoint).then(|| funding.clone()))
        .expect("valid closing tx");
}

#[test]
fn a_closing_signed_with_a_bad_signature_fails() {
    let secp = Secp256k1::new();
    let (mut a, b) = sides(&secp);
    a.channel.close.local_script = Some(p2wpkh(1));
    a.channel.close.remote_script = Some(p2wpkh(2));
    let msg = ClosingSigned {
        channel_id: b.channel.params.channel_id,
        fee_satoshis: Amount::from_sat(1_000),
        signature: a.channel.commitment.local.signature,
        tlvs: ClosingSignedTlvs::default(),
    };
    assert_eq!(
        on_closing_signed(&secp, &a.channel, &a.channel.close, &a.secrets, &msg, WHEN).map(|_| ()),
        Err(CloseError::BadSignature)
    );
}

#[test]
fn a_fee_outside_the_ranges_fails_the_close() {
    let secp = Secp256k1::new();
    let (mut a, mut b) = sides(&secp);
    for side in [&mut a, &mut b] {
        side.channel.close.local_script =
            Some(p2wpkh(if side.channel.params.role == Role::Initiator {
                1
            } else {
                2
            }));
        side.channel.close.remote_script =
            Some(p2wpkh(if side.channel.params.role == Role::Initiator {
                2
            } else {
                1
            }));
    }
    // B (not the funder) proposes a fee far above what A offered to pay.
    a.channel.close.last_sent_fee = Some(Amount::from_sat(500));
    a.channel.close.last_sent_range = Some((Amount::from_sat(200), Amount::from_sat(1_000)));
    let fee = Amount::from_sat(50_000);
    let tx = closing_tx(&b.channel, &p2wpkh(2), &p2wpkh(1), fee, true).unwrap();
    let sig = b
        .channel
        .params
        .funding_output()
        .sign(&secp, &tx, &b.secrets.funding_key)
        .unwrap();
    let msg = ClosingSigned {
        channel_id: b.channel.params.channel_id,
        fee_satoshis: fee,
        signature: sig,
        tlvs: ClosingSignedTlvs {
            fee_range: Some(FeeRange {
                min_fee_satoshis: fee,
                max_fee_satoshis: fee,
            }),
            unknown: vec![],
        },
    };
    assert!(matches!(
        on_closing_signed(&secp, &a.channel, &a.channel.close, &a.secrets, &msg, WHEN),
        Err(CloseError::FeeOutOfRange { .. })
    ));
}

#[test]
fn shutdown_scripts_are_checked() {
    let secp = Secp256k1::new();
    let (a, _) = sides(&secp);
    let bad = Shutdown {
        channel_id: a.channel.params.channel_id,
        scriptpubkey: ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::from_raw_hash(
            bitcoin::hashes::Hash::all_zeros(),
        ))
        .to_bytes(),
        tlvs: Extension::default(),
    };
    assert!(matches!(
        on_shutdown(
            &secp,
            &a.channel,
            &a.channel.close,
            &a.secrets,
            &bad,
            Some((&p2wpkh(1), FeeratePerKw(2_000))),
            false,
            WHEN
        ),
        Err(CloseError::InvalidScript(_))
    ));
    // A second, different shutdown is refused; the same one again (a retransmission) is not.
    let good = Shutdown {
        scriptpubkey: p2wpkh(9).to_bytes(),
        ..bad.clone()
    };
    let step = on_shutdown(
        &secp,
        &a.channel,
        &a.channel.close,
        &a.secrets,
        &good,
        Some((&p2wpkh(1), FeeratePerKw(2_000))),
        false,
        WHEN,
    )
    .unwrap();
    let mut after = a.channel.clone();
    after.close = written(&step);
    after.status = ChannelStatus::Closing;
    assert!(on_shutdown(
        &secp,
        &after,
        &after.close,
        &a.secrets,
        &good,
        Some((&p2wpkh(1), FeeratePerKw(2_000))),
        false,
        WHEN
    )
    .is_ok());
    let other = Shutdown {
        scriptpubkey: p2wpkh(8).to_bytes(),
        ..bad
    };
    assert_eq!(
        on_shutdown(
            &secp,
            &after,
            &after.close,
            &a.secrets,
            &other,
            Some((&p2wpkh(1), FeeratePerKw(2_000))),
            false,
            WHEN
        )
        .map(|_| ()),
        Err(CloseError::ScriptMismatch)
    );
}

#[test]
fn only_ready_channels_close_cooperatively_and_only_once() {
    let secp = Secp256k1::new();
    let (mut a, _) = sides(&secp);
    a.channel.status = ChannelStatus::Pending;
    assert_eq!(
        initiate(
            &secp,
            &a.channel,
            &a.channel.close,
            &a.secrets,
            &p2wpkh(1),
            FeeratePerKw(2_000),
            WHEN
        )
        .map(|_| ()),
        Err(CloseError::NotReady("pending"))
    );
    a.channel.status = ChannelStatus::Ready;
    let step = initiate(
        &secp,
        &a.channel,
        &a.channel.close,
        &a.secrets,
        &p2wpkh(1),
        FeeratePerKw(2_000),
        WHEN,
    )
    .unwrap();
    a.apply(&step);
    assert_eq!(
        initiate(
            &secp,
            &a.channel,
            &a.channel.close,
            &a.secrets,
            &p2wpkh(1),
            FeeratePerKw(2_000),
            WHEN
        )
        .map(|_| ()),
        Err(CloseError::AlreadyClosing)
    );
}

#[test]
fn force_close_signs_our_latest_commitment() {
    let secp = Secp256k1::new();
    let (a, _) = sides(&secp);
    let step = force_close(
        &secp,
        &a.channel,
        &a.channel.close,
        &a.secrets,
        "test",
        WHEN,
    )
    .unwrap();
    let tx = step.broadcast.clone().unwrap();
    let funding = a.channel.params.funding_output().tx_out();
    let outpoint = a.channel.params.funding_outpoint;
    tx.verify(|op| (*op == outpoint).then(|| funding.clone()))
        .expect("valid commitment");
    assert_eq!(written(&step).force_closed.unwrap().commitment, tx);
}
