//! Closing channels with LDK (issue #7): a real `petrel regtest` and `petrel node`, and an LDK
//! node (`lightning` 0.2.7) in the test process, fed the regtest chain's blocks
//! (`tests/common/ldk/node.rs`).
//!
//! - Mutual closes (BOLT 2 `shutdown` + legacy `closing_signed`) started by LDK and by Petrel,
//!   each on a channel LDK funded and one Petrel funded, so that both sides play both
//!   negotiation roles (the funder proposes, the non-funder answers inside its range).
//! - LDK force-closes: its commitment reaches the chain, Petrel calls it a remote force close
//!   and sweeps its `to_remote` at once (BOLT 5).
//! - Petrel force-closes: LDK sees its channel closed by the confirmed commitment and claims
//!   its own output.
//! - LDK sends `error` for a channel: Petrel fails the channel by broadcasting its commitment
//!   (BOLT 1), and sweeps its `to_local` after LDK's `to_self_delay`.
//!
//! Every test ends with everything swept into both wallets (LDK sweeps what it reports
//! spendable with its own `spend_spendable_outputs`) and checks that the two wallets' total
//! equals the total at the start minus the fees of every transaction mined since, read from
//! the chain's blocks.
#![allow(clippy::disallowed_methods)]

mod common;
#[path = "common/ldk/mod.rs"]
mod ldk;
#[path = "common/ldk/pair.rs"]
mod pair;

use bitcoin::Transaction;
use common::procs::ChainProcess;
use common::{wait_for, DEADLINE};
use lightning::events::{ClosureReason, Event};
use pair::{petrel_ok, petrel_total, Dialler, Pair, Setup};
use petrel::chain::ChainSource as _;
use petrel::units::BlockHeight;
use serde_json::{json, Value};

/// LDK reports a close's outputs spendable once the closing transaction is this deep
/// (`ANTI_REORG_DELAY`); Petrel's watcher calls a channel closed at the same depth.
const ANTI_REORG_DELAY: u32 = 6;

/// The `to_self_delay` each side imposes on the other here: LDK's default
/// (`our_to_self_delay`) and Petrel's (`LocalConfig::default`) are both 144 blocks.
const TO_SELF_DELAY: u32 = 144;

/// The pair every test here starts from: both wallets with one mature coinbase, Petrel
/// dialling; its start totals are what the conservation checks count from.
const SETUP: Setup = Setup {
    seed: [0x2e; 32],
    fund_ldk: true,
    dialler: Dialler::Petrel,
};

/// What only the closing tests do with the shared [`Pair`].
impl Pair {
    async fn fee_of_txid(&self, txid: &str) -> u64 {
        let tx = self
            .chain
            .rpc()
            .raw_transaction(txid.parse().unwrap())
            .await
            .expect("getrawtransaction")
            .expect("the transaction is known");
        self.fee_of(&tx).await
    }

    /// The fees of every transaction in the blocks mined since the start, from the chain.
    async fn fees_since_start(&self) -> u64 {
        let rpc = self.chain.rpc();
        let tip = u32::try_from(self.chain.height().await).unwrap();
        let mut fees = 0;
        for height in self.start_height + 1..=tip {
            let (_, block) = rpc
                .block_at(BlockHeight(height))
                .await
                .expect("getblock")
                .expect("a block at every height up to the tip");
            for tx in block.txdata.iter().filter(|tx| !tx.is_coinbase()) {
                fees += self.fee_of(tx).await;
            }
        }
        fees
    }

    /// Sweeps what LDK reported spendable (waiting until it has reported `outputs` outputs)
    /// into its wallet; returns the sweep once the chain accepted it.
    async fn ldk_sweeps(&self, outputs: usize) -> Transaction {
        let ldk = &self.ldk;
        wait_for("LDK's SpendableOutputs", DEADLINE, || async {
            (ldk.spendable.lock().unwrap().len() >= outputs).then_some(())
        })
        .await;
        let sweep = ldk.sweep_spendable().expect("something to sweep");
        let txid = sweep.compute_txid();
        wait_for("the chain to accept LDK's sweep", DEADLINE, || async {
            ldk.broadcaster.accepted(txid).then_some(())
        })
        .await;
        sweep
    }

    /// Waits until the mempool is empty, LDK has every block and Petrel's wallet holds no
    /// unconfirmed coin, then checks that the two wallets hold what they held at the start
    /// minus every fee paid on chain since; returns Petrel's and LDK's wallet totals.
    async fn check_conservation(&self) -> (u64, u64) {
        let rpc = self.chain.rpc();
        let mempool: Value = rpc.call("getrawmempool", &[]).await.unwrap();
        assert_eq!(mempool, json!([]), "everything broadcast was mined");
        let tip = u32::try_from(self.chain.height().await).unwrap();
        let ldk = &self.ldk;
        wait_for("LDK to sync to the tip", DEADLINE, || async {
            (ldk.synced_height() == tip).then_some(())
        })
        .await;
        wait_for("Petrel's wallet to settle", DEADLINE, || async {
            let b = petrel_ok(&self.petrel, &["balance"]);
            (b["unconfirmed_sat"] == 0 && b["locked_sat"] == 0).then_some(())
        })
        .await;
        let petrel = petrel_total(&self.petrel);
        let ldk_total = ldk.wallet.lock().unwrap().spendable().to_sat();
        let fees = self.fees_since_start().await;
        assert_eq!(
            petrel + ldk_total,
            self.start_total - fees,
            "Petrel {petrel} + LDK {ldk_total} != start {} - fees {fees}",
            self.start_total
        );
        (petrel, ldk_total)
    }

    /// The kinds of the channel's events in Petrel's log.
    fn petrel_history(&self, channel_id: &str) -> Vec<String> {
        petrel_ok(&self.petrel, &["history", channel_id])
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect()
    }
}

/// A mutual close of one ready channel, started by LDK (`close_channel`) or by Petrel
/// (`petrel close`): the closing transaction reaches the mempool, and once mined Petrel calls
/// the channel closed cooperatively with that transaction, and LDK reports a cooperative
/// closure started by the right side. Returns the closing transaction.
async fn close_mutually(pair: &Pair, channel_id: &str, ldk_starts: bool) -> Transaction {
    let funding = pair.funding_outpoint(channel_id);
    if ldk_starts {
        pair.ldk
            .manager
            .close_channel(&pair.ldk_channel_id(channel_id), &pair.petrel_id)
            .expect("LDK starts the close");
    } else {
        let answer = petrel_ok(&pair.petrel, &["close", channel_id]);
        assert_eq!(answer["state"], "closing");
    }
    let closing = pair.wait_spender_in_mempool(funding).await;
    assert_eq!(closing.input.len(), 1);
    let reason = pair.wait_ldk_closed(channel_id).await;
    let expected = if ldk_starts {
        ClosureReason::LocallyInitiatedCooperativeClosure
    } else {
        ClosureReason::CounterpartyInitiatedCooperativeClosure
    };
    assert_eq!(reason, expected, "{}", pair.ldk.logger.tail());
    closing
}

/// After the closing transactions are mined: Petrel lists each channel closed cooperatively
/// with its closing transaction and no sweep, and its event log has the negotiation.
async fn check_petrel_closed_cooperatively(pair: &Pair, channel_id: &str, closing: &Transaction) {
    let c = pair.wait_petrel_state(channel_id, "closed").await;
    assert_eq!(c["close"]["how"], "cooperative");
    assert_eq!(
        c["close"]["closing_txid"],
        closing.compute_txid().to_string()
    );
    assert_eq!(c["close"]["sweeps"], json!([]));
    let history = pair.petrel_history(channel_id);
    for expected in [
        "shutdown_sent",
        "shutdown_received",
        "closing_agreed",
        "spend_seen",
        "closed",
    ] {
        assert!(
            history.iter().any(|k| k == expected),
            "{expected} missing: {history:?}"
        );
    }
}

/// Both mutual closes on a channel LDK funded and one Petrel funded, started by `ldk_starts`'s
/// side. Petrel's output in each closing transaction is its channel balance (less the fee
/// where it is the funder), and everything adds up.
async fn mutual_closes(ldk_starts: bool) {
    let pair = Pair::start_with(SETUP).await;
    let petrel_start = petrel_total(&pair.petrel);
    // LDK funds 1,000,000 and pushes Petrel 300,000 sat; Petrel funds 800,000 and pushes LDK
    // 100,000 sat.
    let ldk_funded = pair.ldk_opens(1_000_000, 300_000_000).await;
    let petrel_funded = pair.petrel_opens(800_000, 100_000_000).await;
    pair.confirm_ready(&[&ldk_funded, &petrel_funded]).await;

    let closing_a = close_mutually(&pair, &ldk_funded, ldk_starts).await;
    let closing_b = close_mutually(&pair, &petrel_funded, ldk_starts).await;
    pair.mine(ANTI_REORG_DELAY).await;
    check_petrel_closed_cooperatively(&pair, &ldk_funded, &closing_a).await;
    check_petrel_closed_cooperatively(&pair, &petrel_funded, &closing_b).await;

    // LDK's outputs go to its shutdown script; it reports them spendable and sweeps them home.
    let sweep = pair.ldk_sweeps(2).await;
    assert_eq!(
        sweep.input.len(),
        2,
        "one output of LDK's in each closing transaction"
    );
    pair.mine(1).await;
    let (petrel_end, _) = pair.check_conservation().await;

    // Petrel's share: the 300,000 pushed to it (LDK paid that closing fee), plus its 700,000
    // in the channel it funded minus that closing fee, minus what funding cost it.
    let petrel_funding_cost = 800_000
        + pair
            .fee_of_txid(
                pair.petrel_view(&petrel_funded)["funding_outpoint"]
                    .as_str()
                    .unwrap()
                    .split(':')
                    .next()
                    .unwrap(),
            )
            .await;
    let expected =
        petrel_start - petrel_funding_cost + 300_000 + 700_000 - pair.fee_of(&closing_b).await;
    assert_eq!(petrel_end, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_closes_cooperatively() {
    mutual_closes(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_closes_cooperatively() {
    mutual_closes(false).await;
}

/// Mines until the chain is `height` high.
async fn mine_to_height(pair: &Pair, height: u32) {
    let tip = u32::try_from(pair.chain.height().await).unwrap();
    assert!(
        tip <= height,
        "the chain is already at {tip}, past {height}"
    );
    if height > tip {
        pair.mine(height - tip).await;
    }
}

/// Waits for Petrel's first live sweep of `kind` for the channel; returns its txid.
async fn wait_petrel_sweep(pair: &Pair, channel_id: &str, kind: &str) -> String {
    wait_for(&format!("Petrel's {kind} sweep"), DEADLINE, || async {
        let c = pair.petrel_view(channel_id);
        c["close"]["sweeps"]
            .as_array()?
            .iter()
            .find(|s| s["kind"] == kind)
            .and_then(|s| s["txid"].as_str().map(str::to_string))
    })
    .await
}

/// LDK force-closes a channel it funded, broadcasting its commitment, which the chain
/// accepts. Petrel classifies the confirmed commitment as a remote force close and sweeps its
/// `to_remote` (BOLT 5: the peer's current commitment; with `option_static_remotekey` the
/// output pays our key directly, so there is nothing to wait for). LDK gets its `to_local`
/// after the 144 blocks Petrel imposed. Petrel's wallet ends with its channel balance minus
/// its sweep's fee.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_force_closes_and_petrel_sweeps_to_remote() {
    let pair = Pair::start_with(SETUP).await;
    let petrel_start = petrel_total(&pair.petrel);
    let channel_id = pair.ldk_opens(1_000_000, 400_000_000).await;
    pair.confirm_ready(&[&channel_id]).await;
    let funding = pair.funding_outpoint(&channel_id);

    // LDK also sends Petrel an `error` for the channel, which makes Petrel broadcast its own
    // commitment; both are valid and whichever reaches the mempool first wins. This test is
    // about LDK's, so LDK drops the connection first and its error goes nowhere; Petrel
    // redials a second later, long after LDK's commitment is in the mempool.
    let ldk = &pair.ldk;
    ldk.peers.disconnect_by_node_id(pair.petrel_id);
    ldk.manager
        .force_close_broadcasting_latest_txn(
            &pair.ldk_channel_id(&channel_id),
            &pair.petrel_id,
            "the test force-closes".into(),
        )
        .expect("LDK force-closes");
    let commitment = pair.wait_spender_in_mempool(funding).await;
    let commitment_txid = commitment.compute_txid();
    assert!(
        ldk.broadcaster.accepted(commitment_txid),
        "LDK's commitment"
    );
    let reason = pair.wait_ldk_closed(&channel_id).await;
    assert!(
        matches!(
            reason,
            ClosureReason::HolderForceClosed {
                broadcasted_latest_txn: Some(true),
                ..
            }
        ),
        "{reason:?}"
    );

    pair.mine(1).await;
    let confirmed_at = u32::try_from(pair.chain.height().await).unwrap();
    let sweep = wait_petrel_sweep(&pair, &channel_id, "to_remote").await;
    let c = pair.petrel_view(&channel_id);
    assert_eq!(c["close"]["how"], "remote_force_close");
    assert_eq!(c["close"]["closing_txid"], commitment_txid.to_string());
    pair.mine(ANTI_REORG_DELAY).await;
    pair.wait_petrel_state(&channel_id, "closed").await;
    let history = pair.petrel_history(&channel_id);
    for expected in ["spend_seen", "sweep_broadcast", "sweep_confirmed", "closed"] {
        assert!(
            history.iter().any(|k| k == expected),
            "{expected} missing: {history:?}"
        );
    }

    // LDK's own output waits for the CSV delay Petrel imposed on it.
    mine_to_height(&pair, confirmed_at + TO_SELF_DELAY - 1).await;
    let ldk_sweep = pair.ldk_sweeps(1).await;
    pair.mine(1).await;
    let (petrel_end, _) = pair.check_conservation().await;
    assert_eq!(
        petrel_end,
        petrel_start + 400_000 - pair.fee_of_txid(&sweep).await
    );
    assert!(pair.fee_of(&ldk_sweep).await > 0);
}

/// Petrel force-closes a channel it funded (`petrel close --force`): LDK learns it only from
/// the chain, reports the channel closed by a confirmed commitment, and claims its
/// `to_remote`; Petrel sweeps its `to_local` once the 144 blocks LDK imposed have passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_force_closes_and_ldk_sees_it() {
    let pair = Pair::start_with(SETUP).await;
    let petrel_start = petrel_total(&pair.petrel);
    let channel_id = pair.petrel_opens(800_000, 250_000_000).await;
    pair.confirm_ready(&[&channel_id]).await;
    let funding = pair.funding_outpoint(&channel_id);

    let forced = petrel_ok(&pair.petrel, &["close", &channel_id, "--force"]);
    assert_eq!(forced["state"], "closing");
    let commitment_txid = forced["commitment_txid"].as_str().unwrap().to_string();
    let commitment = pair.wait_spender_in_mempool(funding).await;
    assert_eq!(commitment.compute_txid().to_string(), commitment_txid);
    let ldk = &pair.ldk;
    assert!(
        ldk.events_where(|e| matches!(e, Event::ChannelClosed { .. }).then_some(()))
            .is_empty(),
        "LDK closed the channel before the commitment confirmed"
    );

    pair.mine(1).await;
    let confirmed_at = u32::try_from(pair.chain.height().await).unwrap();
    let reason = pair.wait_ldk_closed(&channel_id).await;
    assert_eq!(reason, ClosureReason::CommitmentTxConfirmed);
    assert!(pair.ldk_channel(&channel_id).is_none());
    wait_for("Petrel to see its force close", DEADLINE, || async {
        (pair.petrel_view(&channel_id)["close"]["how"] == "local_force_close").then_some(())
    })
    .await;

    // LDK's to_remote is spendable ANTI_REORG_DELAY deep.
    pair.mine(ANTI_REORG_DELAY - 1).await;
    let ldk_sweep = pair.ldk_sweeps(1).await;
    assert_eq!(
        ldk_sweep.input[0].previous_output.txid,
        commitment.compute_txid()
    );
    // Petrel's to_local is not sweepable one block before the delay LDK imposed ends.
    mine_to_height(&pair, confirmed_at + TO_SELF_DELAY - 2).await;
    assert_eq!(pair.petrel_view(&channel_id)["close"]["sweeps"], json!([]));
    pair.mine(1).await;
    let sweep = wait_petrel_sweep(&pair, &channel_id, "to_local").await;
    pair.mine(ANTI_REORG_DELAY).await;
    pair.wait_petrel_state(&channel_id, "closed").await;
    let (petrel_end, ldk_end) = pair.check_conservation().await;

    let funding_fee = pair.fee_of_txid(&funding.txid.to_string()).await;
    let commitment_fee = pair.fee_of(&commitment).await;
    assert_eq!(
        petrel_end,
        petrel_start - 800_000 - funding_fee + (550_000 - commitment_fee)
            - pair.fee_of_txid(&sweep).await
    );
    let _ = ldk_end;
}

/// LDK fails a channel with an `error` naming it (`force_close_broadcasting_latest_txn`
/// sends one). BOLT 1: the receiver "MUST fail the channel referred to by `channel_id`";
/// Petrel broadcasts its own commitment. LDK's own broadcast is held back so that Petrel's is
/// the one that confirms; Petrel sweeps its `to_local` after LDK's delay, LDK its
/// `to_remote`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_from_ldk_makes_petrel_force_close() {
    let pair = Pair::start_with(SETUP).await;
    let petrel_start = petrel_total(&pair.petrel);
    let channel_id = pair.ldk_opens(1_000_000, 400_000_000).await;
    pair.confirm_ready(&[&channel_id]).await;
    let funding = pair.funding_outpoint(&channel_id);

    let ldk = &pair.ldk;
    ldk.broadcaster.hold(true);
    ldk.manager
        .force_close_broadcasting_latest_txn(
            &pair.ldk_channel_id(&channel_id),
            &pair.petrel_id,
            "the test fails this channel".into(),
        )
        .expect("LDK force-closes");
    let commitment = pair.wait_spender_in_mempool(funding).await;
    let held = ldk.broadcaster.drop_queued();
    assert!(
        held.iter()
            .any(|tx| tx.compute_txid() != commitment.compute_txid()
                && tx.input[0].previous_output == funding),
        "LDK's own commitment was held back"
    );
    ldk.broadcaster.hold(false);
    let history = petrel_ok(&pair.petrel, &["history", &channel_id]);
    let events = history.as_array().unwrap();
    let peer_error = events
        .iter()
        .find(|e| e["event"] == "peer_error")
        .expect("Petrel logged LDK's error");
    assert!(
        peer_error["text"]
            .as_str()
            .unwrap()
            .contains("the test fails this channel"),
        "{peer_error}"
    );
    let force_close = events
        .iter()
        .find(|e| e["event"] == "force_close")
        .expect("Petrel logged its force close");
    assert_eq!(force_close["txid"], commitment.compute_txid().to_string());
    assert!(force_close["reason"]
        .as_str()
        .unwrap()
        .starts_with("peer error"));

    pair.mine(1).await;
    let confirmed_at = u32::try_from(pair.chain.height().await).unwrap();
    wait_for("Petrel to see its force close", DEADLINE, || async {
        (pair.petrel_view(&channel_id)["close"]["how"] == "local_force_close").then_some(())
    })
    .await;
    pair.mine(ANTI_REORG_DELAY - 1).await;
    pair.ldk_sweeps(1).await;
    mine_to_height(&pair, confirmed_at + TO_SELF_DELAY - 1).await;
    let sweep = wait_petrel_sweep(&pair, &channel_id, "to_local").await;
    pair.mine(ANTI_REORG_DELAY).await;
    pair.wait_petrel_state(&channel_id, "closed").await;
    let (petrel_end, _) = pair.check_conservation().await;
    assert_eq!(
        petrel_end,
        petrel_start + 400_000 - pair.fee_of_txid(&sweep).await
    );
}

/// An `error` with the all-zero `channel_id` fails every channel with the sender (BOLT 1:
/// "MUST fail all channels with the sending node"). LDK sends that form only as a `warning`,
/// so the test sends it itself, over a connection it dials to Petrel with LDK's node key
/// (Petrel's own transport as the dialler; Petrel replaces LDK's connection with it). Petrel
/// broadcasts its commitment for both channels, LDK sees both confirm and claims its outputs,
/// and Petrel sweeps both `to_local`s after LDK's delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_for_all_channels_makes_petrel_force_close_each() {
    use futures_util::SinkExt as _;
    use lightning::sign::NodeSigner as _;

    let pair = Pair::start_with(SETUP).await;
    let petrel_start = petrel_total(&pair.petrel);
    let ldk_funded = pair.ldk_opens(1_000_000, 400_000_000).await;
    let petrel_funded = pair.petrel_opens(800_000, 250_000_000).await;
    pair.confirm_ready(&[&ldk_funded, &petrel_funded]).await;
    let fundings = [
        pair.funding_outpoint(&ldk_funded),
        pair.funding_outpoint(&petrel_funded),
    ];

    let ldk = &pair.ldk;
    let as_ldk = petrel::peer::connect(
        pair.petrel.listen.parse().unwrap(),
        &pair.petrel_id,
        &ldk.keys.get_node_secret_key(),
        bitcoin::constants::ChainHash::REGTEST,
        DEADLINE,
    )
    .await
    .expect("the test connects to Petrel as LDK");
    assert_eq!(as_ldk.node_id, pair.petrel_id);
    assert_eq!(
        ldk.keys
            .get_node_id(lightning::sign::Recipient::Node)
            .unwrap(),
        ldk.node_id
    );
    let mut framed = as_ldk.framed;
    framed
        .send(petrel::wire::Message::Error(petrel::wire::Error {
            channel_id: petrel::wire::ChannelId::ALL,
            data: b"the test fails every channel".to_vec(),
            tlvs: petrel::wire::Extension::default(),
        }))
        .await
        .expect("send error");
    let mut commitments = Vec::new();
    for funding in fundings {
        commitments.push(pair.wait_spender_in_mempool(funding).await);
    }
    for (id, commitment) in [&ldk_funded, &petrel_funded].iter().zip(&commitments) {
        let history = petrel_ok(&pair.petrel, &["history", id]);
        let force_close = history
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "force_close")
            .cloned()
            .expect("Petrel logged its force close");
        assert_eq!(force_close["txid"], commitment.compute_txid().to_string());
        assert!(force_close["reason"]
            .as_str()
            .unwrap()
            .contains("the test fails every channel"));
    }
    drop(framed);

    pair.mine(1).await;
    let confirmed_at = u32::try_from(pair.chain.height().await).unwrap();
    for id in [&ldk_funded, &petrel_funded] {
        assert_eq!(
            pair.wait_ldk_closed(id).await,
            ClosureReason::CommitmentTxConfirmed
        );
    }
    pair.mine(ANTI_REORG_DELAY - 1).await;
    let ldk_sweep = pair.ldk_sweeps(2).await;
    assert_eq!(ldk_sweep.input.len(), 2);
    mine_to_height(&pair, confirmed_at + TO_SELF_DELAY - 1).await;
    let sweeps = [
        wait_petrel_sweep(&pair, &ldk_funded, "to_local").await,
        wait_petrel_sweep(&pair, &petrel_funded, "to_local").await,
    ];
    pair.mine(ANTI_REORG_DELAY).await;
    for id in [&ldk_funded, &petrel_funded] {
        let c = pair.wait_petrel_state(id, "closed").await;
        assert_eq!(c["close"]["how"], "local_force_close");
    }
    let (petrel_end, _) = pair.check_conservation().await;
    let funding_fee = pair.fee_of_txid(&fundings[1].txid.to_string()).await;
    let commitment_fee = pair.fee_of(&commitments[1]).await;
    assert_eq!(
        petrel_end,
        petrel_start + 400_000 - pair.fee_of_txid(&sweeps[0]).await - 800_000 - funding_fee
            + (550_000 - commitment_fee)
            - pair.fee_of_txid(&sweeps[1]).await
    );
}

/// BOLT 2, receiving `shutdown`: "if the `scriptpubkey` is not in one of the above forms:
/// SHOULD send a `warning`". Petrel warns and ignores it: the channel stays ready and nothing
/// goes on chain.
#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_with_an_invalid_script_gets_a_warning_and_changes_nothing() {
    use futures_util::{SinkExt as _, StreamExt as _};

    let pair = Pair::start_with(SETUP).await;
    let id = pair.ldk_opens(1_000_000, 0).await;
    pair.confirm_ready(&[&id]).await;
    let funding = pair.funding_outpoint(&id);

    let as_ldk = petrel::peer::connect(
        pair.petrel.listen.parse().unwrap(),
        &pair.petrel_id,
        &pair.ldk.keys.get_node_secret_key(),
        bitcoin::constants::ChainHash::REGTEST,
        DEADLINE,
    )
    .await
    .expect("the test connects to Petrel as LDK");
    let mut framed = as_ldk.framed;
    let channel_id: petrel::wire::ChannelId = id.parse().unwrap();
    // P2PKH: a standard script, but not one BOLT 2 allows in `shutdown`.
    let p2pkh = bitcoin::ScriptBuf::new_p2pkh(&{
        use bitcoin::hashes::Hash as _;
        bitcoin::PubkeyHash::from_byte_array([7; 20])
    });
    framed
        .send(petrel::wire::Message::Shutdown(petrel::wire::Shutdown {
            channel_id,
            scriptpubkey: p2pkh.to_bytes(),
            tlvs: petrel::wire::Extension::default(),
        }))
        .await
        .expect("send shutdown");
    let warning = tokio::time::timeout(DEADLINE, async {
        loop {
            match framed.next().await {
                Some(Ok(petrel::wire::Message::Warning(w))) => break w,
                Some(Ok(petrel::wire::Message::Error(e))) => {
                    panic!("Petrel sent an error: {}", String::from_utf8_lossy(&e.data))
                }
                Some(Ok(_)) => {}
                other => panic!("the connection ended: {other:?}"),
            }
        }
    })
    .await
    .expect("a warning in time");
    assert_eq!(warning.channel_id, channel_id);
    assert!(String::from_utf8_lossy(&warning.data).contains("shutdown"));
    drop(framed);

    // Nothing changed: still ready, no close recorded, the funding output unspent.
    let channel = pair.petrel_view(&id);
    assert_eq!(channel["state"], "ready", "{channel}");
    let history = petrel_ok(&pair.petrel, &["history", &id]);
    assert!(
        !history
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "force_close" || e["event"] == "closing_agreed"),
        "{history}"
    );
    let unspent: Value = pair
        .chain
        .rpc()
        .call(
            "gettxout",
            &[
                json!(funding.txid.to_string()),
                json!(funding.vout),
                json!(true),
            ],
        )
        .await
        .unwrap();
    assert!(!unspent.is_null(), "the funding output was spent");
}
