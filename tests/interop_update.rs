//! Channel updates with LDK: a real `petrel regtest` and `petrel node`, and an LDK node
//! (`lightning` 0.2.7) in the test process (`tests/common/ldk/`), on a channel Petrel funds.
//!
//! - Petrel's `update_fee` is committed by both sides (`updatefee`).
//! - An HTLC Petrel offers with an onion nobody can read (`addhtlc`) is committed by both
//!   sides, then failed back by LDK with `update_fail_malformed_htlc` and removed by both
//!   (BOLT 2 "Normal Operation": two full `commitment_signed` / `revoke_and_ack` rounds).
//! - Petrel aborted after each store write of that exchange (`PETREL_CRASH_AT`) comes back,
//!   reestablishes the channel with LDK (BOLT 2 "Message Retransmission"), and the exchange
//!   completes as if nothing had happened.
//! - An HTLC LDK offers, with Petrel aborted once it is irrevocably committed but before it
//!   decided on it, is still failed back after the restart.
//!
//! Every test ends with both sides agreeing (feerate, balances, no HTLC, a reconnection LDK
//! accepts, which it only does when the commitment numbers match its own) and nothing closed.
#![allow(clippy::disallowed_methods)]

mod common;
#[path = "common/ldk/mod.rs"]
mod ldk;
#[path = "common/ldk/pair.rs"]
mod pair;

use std::ops::RangeInclusive;

use common::{wait_for, DEADLINE};
use lightning::events::Event;
use lightning::ln::channelmanager::{PaymentId, RecipientOnionFields};
use lightning::routing::router::{Path, Route, RouteHop};
use lightning::types::features::{ChannelFeatures, NodeFeatures};
use lightning::types::payment::{PaymentHash, PaymentSecret};
use pair::{petrel_cli, petrel_ok, Pair};
use serde_json::Value;

/// The channels Petrel opens here, in satoshis (nothing pushed: all of it is Petrel's).
const FUNDING_SAT: u64 = 1_000_000;

/// The HTLCs offered here: above both sides' dust thresholds at the channel's feerate, so the
/// HTLC has an output on both commitments and every `commitment_signed` that holds it carries
/// an HTLC signature.
const HTLC_MSAT: u64 = 10_000_000;

/// The feerate Petrel moves to with `update_fee`, and LDK's estimate meanwhile. LDK, the
/// fundee, counts the commitment fee above its own estimate as dust exposure and closes the
/// channel over an `update_fee` that takes it past its cap, as 5,000 sat/kW does against its
/// default estimate (253).
const NEW_FEERATE: u32 = 5_000;

/// LDK's log line for each `update_fail_malformed_htlc` it sends (its `PeerManager` logs
/// every message it queues, with the message's `Debug` form).
const LDK_SENDS_FAIL_MALFORMED: &str = "Enqueueing message UpdateFailMalformedHTLC";

/// A point where Petrel is aborted in the HTLC exchange (`src/crash.rs`), and how many
/// `commitment_signed` and `revoke_and_ack` LDK has received from Petrel in the exchange
/// once it has seen the connection drop: exactly what Petrel had sent before the store
/// write, except that a message queued just before the write may not have left the process.
struct CrashPoint {
    /// `PETREL_CRASH_AT`.
    name: &'static str,
    /// The `commitment_signed` LDK received.
    commitment_signed: RangeInclusive<usize>,
    /// The `revoke_and_ack` LDK received.
    revoke_and_ack: RangeInclusive<usize>,
}

/// Every store write Petrel makes in the HTLC exchange, in the order it makes them, each
/// with the next message (if any) not sent yet.
const DANCE_CRASH_POINTS: [CrashPoint; 6] = [
    // `addhtlc`: `update_add_htlc` queued, LDK's next commitment stored, its
    // `commitment_signed` not sent.
    CrashPoint {
        name: "stored_before_commitment_signed#1",
        commitment_signed: 0..=0,
        revoke_and_ack: 0..=0,
    },
    // LDK's `revoke_and_ack` for it stored (nothing to send).
    CrashPoint {
        name: "stored#1",
        commitment_signed: 1..=1,
        revoke_and_ack: 0..=0,
    },
    // LDK's `commitment_signed` with the HTLC stored, our `revoke_and_ack` not sent.
    CrashPoint {
        name: "stored_before_revoke_and_ack#1",
        commitment_signed: 1..=1,
        revoke_and_ack: 0..=0,
    },
    // LDK's `update_fail_malformed_htlc` and `commitment_signed` without the HTLC stored,
    // our `revoke_and_ack` not sent.
    CrashPoint {
        name: "stored_before_revoke_and_ack#2",
        commitment_signed: 1..=1,
        revoke_and_ack: 1..=1,
    },
    // Then LDK's next commitment, without the HTLC, stored: its `commitment_signed` not
    // sent, our `revoke_and_ack` queued just before.
    CrashPoint {
        name: "stored_before_commitment_signed#2",
        commitment_signed: 1..=1,
        revoke_and_ack: 1..=2,
    },
    // LDK's last `revoke_and_ack` stored: the HTLC is gone for good.
    CrashPoint {
        name: "stored#2",
        commitment_signed: 2..=2,
        revoke_and_ack: 2..=2,
    },
];

/// LDK's log line for each message of type `name` it reads (its `PeerManager` logs every
/// message it reads, with the message's `Debug` form).
fn ldk_received(pair: &Pair, name: &str) -> usize {
    pair.ldk.logger.count(&format!("Received message {name}("))
}

/// LDK pays [`HTLC_MSAT`] to Petrel over the channel, along a one-hop route it is handed (the
/// test node has no router), with `cltv_expiry_delta` 40. Petrel cannot read onions yet and
/// fails every HTLC it receives back as malformed.
///
/// LDK counts the commitment fee above its own feerate estimate as dust exposure, which it
/// caps: at its default estimate (253 sat/kW, against the channel's feerate) it would refuse
/// the HTLC, so its estimate is raised to the channel's feerate first.
fn ldk_pays_petrel(pair: &Pair, channel_id: &str, view: &Value, payment: u8) {
    let feerate = view["feerate_sat_per_kw"].as_u64().unwrap();
    pair.ldk.fees.set(u32::try_from(feerate).unwrap());
    let details = pair.ldk_channel(channel_id).expect("LDK lists the channel");
    let hop = RouteHop {
        pubkey: pair.petrel_id,
        node_features: NodeFeatures::empty(),
        short_channel_id: details.short_channel_id.expect("a confirmed channel"),
        channel_features: ChannelFeatures::empty(),
        fee_msat: HTLC_MSAT,
        cltv_expiry_delta: 40,
        maybe_announced_channel: false,
    };
    let route = Route {
        paths: vec![Path {
            hops: vec![hop],
            blinded_tail: None,
        }],
        route_params: None,
    };
    pair.ldk
        .manager
        .send_payment_with_route(
            route,
            PaymentHash([payment; 32]),
            RecipientOnionFields::secret_only(PaymentSecret([payment; 32])),
            PaymentId([payment; 32]),
        )
        .expect("LDK sends the HTLC");
}

/// A `commitment_number` of Petrel's channel view: `local` or `remote`.
fn number(view: &Value, side: &str) -> u64 {
    view["commitment_number"][side]
        .as_u64()
        .unwrap_or_else(|| panic!("no commitment_number.{side} in {view}"))
}

/// `addhtlc` of [`HTLC_MSAT`] on `channel_id`, expiring 100 blocks above the tip, with the
/// node's default onion (version 0, then random bytes no node can decrypt). Returns the
/// CLI's outcome: a node that aborts while handling it never answers.
///
/// Right after a reconnection Petrel may not have LDK's `channel_reestablish` yet (LDK calls
/// the channel usable once it has Petrel's), and refuses the HTLC until it has: that refusal
/// is retried.
async fn offer_unreadable_htlc(pair: &Pair, channel_id: &str) -> (bool, Value) {
    let expiry = pair.chain.height().await + 100;
    let payment_hash = "42".repeat(32);
    let args = [
        "addhtlc",
        channel_id,
        &HTLC_MSAT.to_string(),
        &payment_hash,
        &expiry.to_string(),
    ];
    wait_for("Petrel to take the HTLC", DEADLINE, || async {
        let (ok, answer) = petrel_cli(&pair.petrel, &args);
        let not_up_yet = !ok
            && answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("peer is not connected"));
        (!not_up_yet).then_some((ok, answer))
    })
    .await
}

/// Waits until Petrel's channel has no HTLC left and both commitment numbers are two past
/// `before`'s (one commitment with the HTLC, one without); then its balances and feerate
/// must be `before`'s. Returns the view.
async fn wait_failed_back(pair: &Pair, channel_id: &str, before: &Value) -> Value {
    let view = wait_for(
        "Petrel to see its HTLC committed and failed back",
        DEADLINE,
        || async {
            pair.petrel_channel(channel_id).filter(|c| {
                c["htlcs"].as_array().is_some_and(Vec::is_empty)
                    && number(c, "local") == number(before, "local") + 2
                    && number(c, "remote") == number(before, "remote") + 2
            })
        },
    )
    .await;
    for field in [
        "local_balance_msat",
        "remote_balance_msat",
        "feerate_sat_per_kw",
        "state",
    ] {
        assert_eq!(view[field], before[field], "{field}: {view}");
    }
    view
}

/// LDK's view of the channel matches Petrel's `view`: usable, same feerate, no HTLC pending
/// either way, and (LDK reports capacities net of reserves) Petrel's balance, all of the
/// channel, is what LDK can receive plus the 1% reserve LDK asks of Petrel.
fn check_ldk_agrees(pair: &Pair, channel_id: &str, view: &Value) {
    let details = pair
        .ldk_channel(channel_id)
        .unwrap_or_else(|| panic!("LDK lists no channel {channel_id}"));
    assert!(details.is_usable, "{details:?}");
    assert_eq!(
        details.feerate_sat_per_1000_weight.map(u64::from),
        view["feerate_sat_per_kw"].as_u64(),
        "{details:?}\n{view}"
    );
    assert!(
        details.pending_inbound_htlcs.is_empty() && details.pending_outbound_htlcs.is_empty(),
        "{details:?}"
    );
    assert_eq!(view["remote_balance_msat"], 0, "{view}");
    let ldk_reserve_msat = (FUNDING_SAT / 100).max(1_000) * 1_000;
    assert_eq!(
        Some(details.inbound_capacity_msat + ldk_reserve_msat),
        view["local_balance_msat"].as_u64(),
        "{details:?}\n{view}"
    );
}

/// Petrel, the funder, moves the commitment feerate with `update_fee` and signs it in
/// (BOLT 2 "Updating Fees"): LDK takes it without a warning, both sides report the new
/// feerate, each commitment moved exactly one number, the balances did not move, and the
/// channel stays open, usable, and reestablishes with LDK at the new state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_updates_the_fee_and_ldk_commits_it() {
    let pair = Pair::start([0x3a; 32]).await;
    let channel_id = pair.open_ready(FUNDING_SAT, 0).await;
    let before = pair.petrel_channel(&channel_id).unwrap();
    assert_eq!(
        (number(&before, "local"), number(&before, "remote")),
        (0, 0)
    );
    assert_ne!(before["feerate_sat_per_kw"], NEW_FEERATE);

    pair.ldk.fees.set(NEW_FEERATE);
    let answer = petrel_ok(
        &pair.petrel,
        &[
            "updatefee",
            &channel_id,
            "--feerate",
            &NEW_FEERATE.to_string(),
        ],
    );
    assert_eq!(answer["feerate_sat_per_kw"], NEW_FEERATE, "{answer}");

    let view = wait_for("Petrel to commit the new feerate", DEADLINE, || async {
        pair.petrel_channel(&channel_id).filter(|c| {
            c["feerate_sat_per_kw"] == NEW_FEERATE
                && number(c, "local") >= 1
                && number(c, "remote") >= 1
        })
    })
    .await;
    assert_eq!((number(&view, "local"), number(&view, "remote")), (1, 1));
    for field in ["local_balance_msat", "remote_balance_msat", "state"] {
        assert_eq!(view[field], before[field], "{field}: {view}");
    }
    wait_for("LDK to report the new feerate", DEADLINE, || async {
        pair.ldk_channel(&channel_id)
            .filter(|c| c.feerate_sat_per_1000_weight == Some(NEW_FEERATE))
    })
    .await;
    assert_eq!(ldk_received(&pair, "UpdateFee"), 1);
    check_ldk_agrees(&pair, &channel_id, &view);
    pair.assert_quiet();

    pair.reconnect(&channel_id).await;
    check_ldk_agrees(&pair, &channel_id, &view);
    pair.assert_quiet();
    pair.assert_mempool_empty().await;
}

/// An HTLC Petrel offers with an onion LDK cannot decrypt goes through both
/// `commitment_signed` / `revoke_and_ack` rounds: LDK commits it, finds the onion unreadable
/// and fails it back with `update_fail_malformed_htlc` (BOLT 4: an onion it cannot parse),
/// which Petrel commits in turn. Both commitments end two numbers further on, without the
/// HTLC, with the balances of the start; nothing is closed and nobody warned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_htlc_ldk_cannot_read_goes_back_malformed() {
    let pair = Pair::start([0x3b; 32]).await;
    let channel_id = pair.open_ready(FUNDING_SAT, 0).await;
    let before = pair.petrel_channel(&channel_id).unwrap();

    let (ok, added) = offer_unreadable_htlc(&pair, &channel_id).await;
    assert!(ok, "addhtlc failed: {added}\n{}", pair.petrel.log_tail());
    assert_eq!(added["htlc_id"], 0, "{added}");
    wait_for(
        "LDK to send update_fail_malformed_htlc",
        DEADLINE,
        || async { (pair.ldk.logger.count(LDK_SENDS_FAIL_MALFORMED) > 0).then_some(()) },
    )
    .await;
    let view = wait_failed_back(&pair, &channel_id, &before).await;
    assert_eq!((number(&view, "local"), number(&view, "remote")), (2, 2));
    assert_eq!(ldk_received(&pair, "UpdateAddHTLC"), 1);
    assert_eq!(pair.ldk.logger.count(LDK_SENDS_FAIL_MALFORMED), 1);
    check_ldk_agrees(&pair, &channel_id, &view);
    pair.assert_quiet();

    pair.reconnect(&channel_id).await;
    check_ldk_agrees(&pair, &channel_id, &view);
    pair.assert_quiet();
    pair.assert_mempool_empty().await;
}

/// Petrel aborted (no clean shutdown) right after each store write of the HTLC exchange of
/// [`an_htlc_ldk_cannot_read_goes_back_malformed`] ([`DANCE_CRASH_POINTS`]), then restarted:
/// it reestablishes the channel with LDK, retransmits what LDK is missing, and the exchange
/// completes. Each time the HTLC ends failed back, the balances are those of the start,
/// both commitments moved exactly two numbers, LDK agrees (and accepts a further
/// reconnection), and nothing was closed. The points run one after the other on one
/// channel, so each also starts from the state the previous recovery left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_petrel_crash_in_the_middle_of_the_dance_resumes_through_reestablish() {
    let mut pair = Pair::start([0x3c; 32]).await;
    let channel_id = pair.open_ready(FUNDING_SAT, 0).await;
    for point in &DANCE_CRASH_POINTS {
        let before = pair.petrel_channel(&channel_id).unwrap();
        let failed_before = pair.ldk.logger.count(LDK_SENDS_FAIL_MALFORMED);

        let reestablished = pair.reestablishes_received();
        pair.restart_crashing_at(point.name);
        pair.wait_reestablished(&channel_id, reestablished).await;
        assert!(
            !pair.petrel_aborted_at(point.name),
            "Petrel reached {} before the HTLC was offered:\n{}",
            point.name,
            pair.petrel.log_tail()
        );
        let received_before = (
            ldk_received(&pair, "CommitmentSigned"),
            ldk_received(&pair, "RevokeAndACK"),
        );
        // Aborting inside `addhtlc` (the first point) leaves the call unanswered; the HTLC
        // was stored, so it is offered all the same.
        let (ok, added) = offer_unreadable_htlc(&pair, &channel_id).await;
        assert!(
            ok || point.name == DANCE_CRASH_POINTS[0].name,
            "addhtlc failed: {added}"
        );
        pair.wait_petrel_aborted(point.name);
        wait_for("LDK to see Petrel gone", DEADLINE, || async {
            pair.ldk
                .peers
                .peer_by_node_id(&pair.petrel_id)
                .is_none()
                .then_some(())
        })
        .await;
        let received = (
            ldk_received(&pair, "CommitmentSigned") - received_before.0,
            ldk_received(&pair, "RevokeAndACK") - received_before.1,
        );
        assert!(
            point.commitment_signed.contains(&received.0)
                && point.revoke_and_ack.contains(&received.1),
            "at {}, LDK had received {} commitment_signed and {} revoke_and_ack",
            point.name,
            received.0,
            received.1
        );

        let reestablished = pair.reestablishes_received();
        pair.restart_petrel();
        pair.wait_reestablished(&channel_id, reestablished).await;
        let view = wait_failed_back(&pair, &channel_id, &before).await;
        assert!(
            pair.ldk.logger.count(LDK_SENDS_FAIL_MALFORMED) > failed_before,
            "{}: LDK never failed the HTLC back",
            point.name
        );
        check_ldk_agrees(&pair, &channel_id, &view);
        pair.assert_quiet();

        pair.reconnect(&channel_id).await;
        check_ldk_agrees(&pair, &channel_id, &view);
        pair.assert_quiet();
        pair.assert_mempool_empty().await;
    }
}

/// An HTLC LDK offers is failed back by Petrel even when Petrel aborts right after storing
/// the `revoke_and_ack` that makes it irrevocably committed (`stored#1` of the receiving
/// exchange: LDK's `update_add_htlc` + `commitment_signed`, our `revoke_and_ack` +
/// `commitment_signed`, LDK's `revoke_and_ack`), before it has decided on the HTLC. After the
/// restart and `channel_reestablish` Petrel still owes LDK the failure: LDK's payment fails,
/// both commitments end two numbers further on without the HTLC, and nothing is closed.
///
/// Petrel decides on a received HTLC when its core reports it (`HtlcReceived`), an in-memory
/// event that follows that store write. Before the core reported undecided HTLCs again after
/// each `channel_reestablish`, the HTLC stayed committed until it expired and LDK
/// force-closed the channel (`HTLCsTimedOut`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_htlc_from_ldk_is_failed_back_after_a_petrel_crash_once_irrevocable() {
    let mut pair = Pair::start([0x3d; 32]).await;
    // Half the channel pushed to LDK, for it to pay from.
    let channel_id = pair.open_ready(FUNDING_SAT, FUNDING_SAT * 1_000 / 2).await;
    let before = pair.petrel_channel(&channel_id).unwrap();

    let reestablished = pair.reestablishes_received();
    pair.restart_crashing_at("stored#1");
    pair.wait_reestablished(&channel_id, reestablished).await;
    ldk_pays_petrel(&pair, &channel_id, &before, 1);
    pair.wait_petrel_aborted("stored#1");
    let reestablished = pair.reestablishes_received();
    pair.restart_petrel();
    pair.wait_reestablished(&channel_id, reestablished).await;

    wait_for("LDK's PaymentFailed", DEADLINE, || async {
        pair.ldk
            .events_where(|e| matches!(e, Event::PaymentFailed { .. }).then_some(()))
            .into_iter()
            .next()
    })
    .await;
    let view = wait_failed_back(&pair, &channel_id, &before).await;
    let details = pair.ldk_channel(&channel_id).unwrap();
    assert!(details.is_usable, "{details:?}");
    assert_eq!(
        details.feerate_sat_per_1000_weight.map(u64::from),
        view["feerate_sat_per_kw"].as_u64()
    );
    pair.assert_quiet();
    pair.assert_mempool_empty().await;
}
