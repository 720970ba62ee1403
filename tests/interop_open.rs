//! Channel opening interop with LDK (issue #6): a real `petrel regtest` and `petrel node`, and
//! an LDK node (`lightning` 0.2.7) in the test process, fed the regtest chain's blocks by the
//! test (`tests/common/ldk/node.rs`).
//!
//! - Petrel opens a channel to LDK, and LDK opens one to Petrel; in each, both sides reach
//!   `channel_ready` (LDK's `ChannelReady` event, Petrel's channel state "ready"), the funding
//!   outpoints and short channel ids agree, the balances agree once LDK's reserve accounting
//!   is taken into account, and the connection survives the `channel_update` LDK sends next.
//! - `channel_reestablish` after LDK drops the connection and after Petrel restarts (ready
//!   channels), and after a drop while the funding is unconfirmed.
//! - A public channel is refused with the reason; LDK's `update_fee` is committed, and a
//!   mutual close afterwards completes.
#![allow(clippy::disallowed_methods)]

mod common;
#[path = "common/ldk/mod.rs"]
mod ldk;
#[path = "common/ldk/pair.rs"]
mod pair;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use common::{wait_for, DEADLINE};
use ldk::node::user_config;
use lightning::events::{ClosureReason, Event};
use lightning::ln::channel_state::ChannelDetails;
use lightning::types::features::ChannelTypeFeatures;
use pair::{Dialler, Pair, Setup, MINIMUM_DEPTH};
use petrel::funding::LocalConfig;
use serde_json::Value;

/// The pair every test here starts from: both wallets with a mature coinbase (LDK opens
/// channels too), Petrel dialling.
const SETUP: Setup = Setup {
    seed: [0x1d; 32],
    fund_ldk: true,
    dialler: Dialler::Petrel,
};

/// What only the opening tests do with the shared [`Pair`].
impl Pair {
    /// Mines `MINIMUM_DEPTH` blocks, then waits for LDK's `ChannelReady` for `channel_id` and
    /// for Petrel to call the channel "ready".
    async fn confirm_and_wait_ready(&self, channel_id: &str) -> (Value, ChannelDetails) {
        self.mine(MINIMUM_DEPTH).await;
        let ldk = &self.ldk;
        let ready = wait_for("LDK's ChannelReady event", DEADLINE, || async {
            let ready = ldk.events_where(|e| match e {
                Event::ChannelReady {
                    channel_id: id,
                    counterparty_node_id,
                    channel_type,
                    ..
                } if id.to_string() == channel_id => {
                    Some((*counterparty_node_id, channel_type.clone()))
                }
                _ => None,
            });
            ready.into_iter().next()
        })
        .await;
        assert_eq!(ready.0, self.petrel_id);
        assert_eq!(ready.1, ChannelTypeFeatures::only_static_remote_key());
        let petrel_view = self.wait_petrel_state(channel_id, "ready").await;
        let details = self.ldk_channel(channel_id).expect("LDK lists the channel");
        assert!(
            details.is_channel_ready && details.is_usable,
            "{details:?}\n--- Petrel log ---\n{}\n--- LDK log ---\n{}",
            self.petrel.log_tail(),
            ldk.logger.tail()
        );
        (petrel_view, details)
    }

    /// Once the channel is ready, LDK sends Petrel a `channel_update` for it (BOLT 7 lets a
    /// node tell its channel peer the parameters of an unannounced channel; type 258, even).
    /// Petrel must not close the connection over it: a ping LDK queues after it still gets
    /// Petrel's pong, and neither side saw a disconnection.
    async fn check_connection_survives_channel_update(&self) {
        let ldk = &self.ldk;
        wait_for("LDK to send its channel_update", DEADLINE, || async {
            (ldk.logger.count("Handling SendChannelUpdate event") > 0).then_some(())
        })
        .await;
        let pongs = ldk.logger.pongs_received();
        ldk.peers.timer_tick_occurred();
        wait_for(
            "Petrel's pong after the channel_update",
            DEADLINE,
            || async { (ldk.logger.pongs_received() > pongs).then_some(()) },
        )
        .await;
        assert!(ldk.peers.peer_by_node_id(&self.petrel_id).is_some());
        let log = std::fs::read_to_string(self.petrel.datadir.join("node.log")).unwrap();
        assert!(
            !log.contains("peer disconnected"),
            "Petrel dropped LDK:\n{}",
            self.petrel.log_tail()
        );
    }

    /// Both views of one channel agree: capacity, funding outpoint, short channel id, channel
    /// type, and balances (LDK reports capacities net of the reserve each side must keep).
    fn check_agreement(&self, petrel: &Value, details: &ChannelDetails, funding_sat: u64) {
        assert_eq!(petrel["capacity_sat"], funding_sat);
        assert_eq!(details.channel_value_satoshis, funding_sat);
        assert_eq!(details.counterparty.node_id, self.petrel_id);
        assert_eq!(
            details.channel_type,
            Some(ChannelTypeFeatures::only_static_remote_key())
        );
        let funding_txo = details.funding_txo.expect("LDK knows the funding outpoint");
        assert_eq!(
            petrel["funding_outpoint"],
            format!("{}:{}", funding_txo.txid, funding_txo.index)
        );
        let scid = details
            .short_channel_id
            .expect("LDK knows the short channel id");
        assert_eq!(
            petrel["short_channel_id"],
            format!(
                "{}x{}x{}",
                scid >> 40,
                (scid >> 16) & 0xff_ffff,
                scid & 0xffff
            )
        );
        assert!(details.confirmations.unwrap() >= MINIMUM_DEPTH);
        assert!(petrel["confirmations"].as_u64().unwrap() >= u64::from(MINIMUM_DEPTH));

        let petrel_local = petrel["local_balance_msat"].as_u64().unwrap();
        let petrel_remote = petrel["remote_balance_msat"].as_u64().unwrap();
        assert_eq!(petrel_local + petrel_remote, funding_sat * 1_000);
        // The reserve Petrel asks of LDK (its default config: 1% of the funding, at least its
        // minimum and both dust limits, which are far lower here), as LDK recorded it.
        let config = LocalConfig::default();
        let petrel_reserve = config
            .reserve_for(
                Amount::from_sat(funding_sat),
                Amount::ZERO,
                config.dust_limit,
            )
            .to_sat();
        assert_eq!(details.unspendable_punishment_reserve, Some(petrel_reserve));
        // The reserve LDK asks of Petrel: 1% (`user_config`), at least 1,000 sat.
        let ldk_reserve = (funding_sat / 100).max(1_000);
        // LDK's balance is Petrel's remote balance; LDK can send all of it but the reserve,
        // and receive all of Petrel's balance but the reserve it asked of Petrel.
        assert_eq!(
            details.outbound_capacity_msat,
            petrel_remote.saturating_sub(petrel_reserve * 1_000)
        );
        assert_eq!(
            details.inbound_capacity_msat,
            petrel_local.saturating_sub(ldk_reserve * 1_000)
        );
    }

    /// `petrel open` to LDK: LDK sees the request (its driver accepts it), both sides store
    /// the channel as pending with the funding Petrel broadcast. Returns the channel id.
    async fn petrel_opens_checked(&self, funding_sat: u64, push_msat: u64) -> String {
        let requests_before = self.open_requests().len();
        let opened = self.petrel_open(funding_sat, push_msat);
        let channel_id = opened["channel_id"].as_str().unwrap().to_string();
        let requests = self.open_requests();
        assert_eq!(
            requests[requests_before..],
            [(
                self.petrel_id,
                funding_sat,
                ChannelTypeFeatures::only_static_remote_key()
            )]
        );
        let pending = self.wait_ldk_pending(&channel_id).await;
        assert_eq!(pending.txid.to_string(), opened["funding_txid"]);
        assert_eq!(u64::from(pending.vout), opened["funding_output_index"]);
        // `open` answers once the channel is stored; the node's `channels` list catches up
        // when the node actor has handled the peer actor's report.
        let stored = self.wait_petrel_lists(&channel_id).await;
        assert_eq!(stored["state"], "pending");
        assert_eq!(stored["role"], "initiator");
        channel_id
    }

    /// The `OpenChannelRequest` events LDK produced: (peer, funding, channel type).
    fn open_requests(&self) -> Vec<(PublicKey, u64, ChannelTypeFeatures)> {
        self.ldk.events_where(|e| match e {
            Event::OpenChannelRequest {
                counterparty_node_id,
                funding_satoshis,
                channel_type,
                ..
            } => Some((
                *counterparty_node_id,
                *funding_satoshis,
                channel_type.clone(),
            )),
            _ => None,
        })
    }

    /// LDK's `create_channel` to Petrel: the driver funds it from LDK's wallet, LDK broadcasts
    /// once Petrel has signed, and Petrel stores the channel as pending. Returns the channel
    /// id.
    async fn ldk_opens_checked(&self, funding_sat: u64, push_msat: u64) -> String {
        let (channel_id, _) = self
            .ldk
            .open_to(self.petrel_id, funding_sat, push_msat)
            .await;
        let stored = self.wait_petrel_lists(&channel_id).await;
        assert_eq!(stored["state"], "pending");
        assert_eq!(stored["role"], "responder");
        channel_id
    }

    /// Waits until LDK lists Petrel as connected again and calls every channel in `ids`
    /// usable: LDK clears a channel's "peer disconnected" state only once it has accepted the
    /// peer's `channel_reestablish`. Petrel must have logged no reestablish failure.
    async fn wait_all_reestablished(&self, ids: &[&str]) {
        wait_for(
            "LDK to have Petrel back with usable channels",
            DEADLINE,
            || async {
                self.ldk.peers.peer_by_node_id(&self.petrel_id)?;
                self.ldk_calls_usable(ids).then_some(())
            },
        )
        .await;
        let log = std::fs::read_to_string(self.petrel.datadir.join("node.log")).unwrap();
        assert!(
            !log.contains("channel_reestablish:"),
            "Petrel refused LDK's channel_reestablish:\n{}",
            self.petrel.log_tail()
        );
        for id in ids {
            assert_eq!(self.petrel_channel(id).unwrap()["state"], "ready");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn petrel_opens_a_channel_to_ldk() {
    let pair = Pair::start_with(SETUP).await;
    let (funding_sat, push_msat) = (1_000_000u64, 100_000_000u64);
    let channel_id = pair.petrel_opens_checked(funding_sat, push_msat).await;
    let (petrel_view, details) = pair.confirm_and_wait_ready(&channel_id).await;
    pair.check_connection_survives_channel_update().await;
    assert_eq!(petrel_view["role"], "initiator");
    assert!(!details.is_outbound);
    assert_eq!(petrel_view["remote_balance_msat"], push_msat);
    pair.check_agreement(&petrel_view, &details, funding_sat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldk_opens_a_channel_to_petrel() {
    // Over a connection LDK made to Petrel's listener (the other tests use one Petrel made).
    let pair = Pair::start_with(Setup {
        dialler: Dialler::Ldk,
        ..SETUP
    })
    .await;
    let (funding_sat, push_msat) = (1_500_000u64, 200_000_000u64);
    let channel_id = pair.ldk_opens_checked(funding_sat, push_msat).await;
    let (petrel_view, details) = pair.confirm_and_wait_ready(&channel_id).await;
    pair.check_connection_survives_channel_update().await;
    assert!(details.is_outbound);
    assert_eq!(petrel_view["local_balance_msat"], push_msat);
    pair.check_agreement(&petrel_view, &details, funding_sat);
}

/// Channels opened both ways come back after LDK drops the connection (Petrel redials) and
/// after Petrel is killed and restarted (it redials on recovery): `channel_reestablish` is
/// exchanged each time (BOLT 2 "Message Retransmission"), LDK accepts Petrel's, and every
/// channel is usable again on both sides with unchanged balances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_channels_reestablish_after_reconnect_and_restart() {
    let mut pair = Pair::start_with(SETUP).await;
    let outbound = pair.petrel_opens_checked(1_000_000, 0).await;
    let inbound = pair.ldk_opens_checked(800_000, 0).await;
    pair.confirm_and_wait_ready(&outbound).await;
    pair.confirm_and_wait_ready(&inbound).await;
    let before = (
        pair.petrel_channel(&outbound).unwrap(),
        pair.petrel_channel(&inbound).unwrap(),
    );
    let reestablished = pair.reestablishes_received();

    pair.ldk.peers.disconnect_by_node_id(pair.petrel_id);
    pair.wait_all_reestablished(&[&outbound, &inbound]).await;
    assert_eq!(
        pair.reestablishes_received(),
        reestablished + 2,
        "one channel_reestablish per channel"
    );

    // LDK may still list the killed connection for a moment: wait for the new reestablish
    // messages rather than for "usable", which the old connection also was.
    tokio::task::block_in_place(|| pair.petrel.restart());
    wait_for("the restarted Petrel to reestablish", DEADLINE, || async {
        (pair.reestablishes_received() >= reestablished + 4).then_some(())
    })
    .await;
    pair.wait_all_reestablished(&[&outbound, &inbound]).await;
    assert_eq!(pair.reestablishes_received(), reestablished + 4);
    for (id, old) in [(&outbound, &before.0), (&inbound, &before.1)] {
        let now = pair.petrel_channel(id).unwrap();
        for field in [
            "local_balance_msat",
            "remote_balance_msat",
            "funding_outpoint",
        ] {
            assert_eq!(now[field], old[field], "{field} of {id}");
        }
    }
}

/// A channel whose funding is still unconfirmed survives a reconnection: both sides
/// reestablish it (nothing to retransmit yet), and it reaches `channel_ready` once mined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_channel_reestablishes_and_then_confirms() {
    let pair = Pair::start_with(SETUP).await;
    let channel_id = pair.petrel_opens_checked(600_000, 0).await;
    let reestablished = pair.reestablishes_received();
    pair.ldk.peers.disconnect_by_node_id(pair.petrel_id);
    wait_for("Petrel to redial and reestablish", DEADLINE, || async {
        (pair.reestablishes_received() > reestablished).then_some(())
    })
    .await;
    let (petrel_view, details) = pair.confirm_and_wait_ready(&channel_id).await;
    pair.check_agreement(&petrel_view, &details, 600_000);
}

/// LDK asks for a public channel (`announce_channel`): Petrel refuses it with an `error`
/// naming the reason (BOLT 7 would oblige it to send `announcement_signatures`, which it
/// cannot yet), LDK closes its side, nothing is funded, and the connection stays up for a
/// private channel right after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_channel_from_ldk_is_refused_with_a_reason() {
    let pair = Pair::start_with(SETUP).await;
    let ldk = &pair.ldk;
    let mut public = user_config(MINIMUM_DEPTH);
    public.channel_handshake_config.announce_for_forwarding = true;
    let temporary = ldk
        .manager
        .create_channel(
            pair.petrel_id,
            700_000,
            0,
            ldk.user_channel_id(),
            None,
            Some(public),
        )
        .expect("LDK starts the open");
    let reason = wait_for("LDK to close the refused channel", DEADLINE, || async {
        ldk.events_where(|e| match e {
            Event::ChannelClosed {
                channel_id, reason, ..
            } if *channel_id == temporary => Some(reason.clone()),
            _ => None,
        })
        .into_iter()
        .next()
    })
    .await;
    let ClosureReason::CounterpartyForceClosed { peer_msg } = &reason else {
        panic!("LDK closed the channel for another reason: {reason:?}");
    };
    assert!(
        peer_msg.to_string().contains("announce_channel"),
        "{peer_msg}"
    );
    let funding_requests =
        ldk.events_where(|e| matches!(e, Event::FundingGenerationReady { .. }).then_some(()));
    assert!(funding_requests.is_empty(), "nothing was funded");
    assert!(tokio::task::block_in_place(|| pair.petrel.channels()).is_empty());

    assert!(ldk.peers.peer_by_node_id(&pair.petrel_id).is_some());
    let channel_id = pair.ldk_opens_checked(700_000, 0).await;
    pair.confirm_and_wait_ready(&channel_id).await;
}

/// LDK, the funder, raises the feerate with `update_fee` (and the `commitment_signed` that
/// follows): Petrel commits it (BOLT 2 "Updating Fees"), both sides report the new feerate,
/// nothing is failed, and a cooperative close afterwards completes (before, the uncommitted
/// `update_fee` made every `shutdown` impossible).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_fee_from_ldk_is_committed_and_a_mutual_close_follows() {
    let pair = Pair::start_with(SETUP).await;
    let ldk = &pair.ldk;
    let channel_id = pair.ldk_opens_checked(900_000, 0).await;
    pair.confirm_and_wait_ready(&channel_id).await;

    ldk.fees.set(5_000);
    ldk.manager.timer_tick_occurred();
    wait_for("LDK to send update_fee", DEADLINE, || async {
        (ldk.logger.count("Enqueueing message UpdateFee") > 0).then_some(())
    })
    .await;
    // Committed both ways: Petrel's commitment and LDK's moved past number 0.
    let view = wait_for("Petrel to commit the new feerate", DEADLINE, || async {
        pair.petrel_channel(&channel_id).filter(|c| {
            c["feerate_sat_per_kw"] == 5_000
                && c["commitment_number"]["local"].as_u64() >= Some(1)
                && c["commitment_number"]["remote"].as_u64() >= Some(1)
        })
    })
    .await;
    assert_eq!(view["state"], "ready");
    wait_for("LDK to report the new feerate", DEADLINE, || async {
        pair.ldk_channel(&channel_id)
            .filter(|c| c.feerate_sat_per_1000_weight == Some(5_000) && c.is_usable)
            .map(|_| ())
    })
    .await;
    assert_eq!(
        ldk.logger.count("Got warning message"),
        0,
        "{}",
        ldk.logger.tail()
    );
    let closed = ldk.events_where(|e| matches!(e, Event::ChannelClosed { .. }).then_some(()));
    assert!(closed.is_empty(), "LDK closed the channel");

    // LDK closes cooperatively; Petrel answers; the closing transaction confirms.
    ldk.manager
        .close_channel(&pair.ldk_channel_id(&channel_id), &pair.petrel_id)
        .expect("LDK starts the mutual close");
    wait_for("LDK's cooperative ChannelClosed", DEADLINE, || async {
        ldk.events_where(|e| match e {
            Event::ChannelClosed {
                channel_id: id,
                reason: ClosureReason::LocallyInitiatedCooperativeClosure,
                ..
            } if id.to_string() == channel_id => Some(()),
            _ => None,
        })
        .into_iter()
        .next()
    })
    .await;
    pair.mine(6).await;
    let closed = pair.wait_petrel_state(&channel_id, "closed").await;
    assert_eq!(closed["close"]["how"], "cooperative", "{closed}");
}
