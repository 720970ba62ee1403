//! The node's part in a channel's life after funding: recovery after a restart, funding
//! confirmations, blocks and timeouts, connections coming and going, and the one dispatcher
//! for every message of a funded channel. Decisions are the channel core's
//! ([`crate::channel::Channel`]); this file feeds it and runs the actions it returns, in
//! order, persisting before it sends.
#![allow(clippy::disallowed_methods)] // actor code: tasks and clocks

use bitcoin::secp256k1::PublicKey;

use super::actor::{unix_now, NodeActor};
use crate::chain::{BlockEvent, ChainSource, ConfEvent};
use crate::channel::establish::{self, When};
use crate::channel::{Action, ChannelEvent, ChannelStatus, Command, FundingConfirmation};
use crate::crash::crash_point;
use crate::wire::{ChannelId, Message, ShortChannelId};

impl<S: ChainSource + Clone> NodeActor<S> {
    pub(crate) fn when(&self) -> When {
        When {
            time: unix_now(),
            height: self.tip,
        }
    }

    /// After a restart: load every channel, rebroadcast our unconfirmed funding
    /// transactions, resume waiting for confirmations, and redial peers with live channels.
    pub(crate) async fn recover(&mut self) {
        let store = self.store();
        let loaded = tokio::task::spawn_blocking(move || {
            (crate::channel::record::load_all(&store), store.peers())
        })
        .await;
        let (channels, peers) = match loaded {
            Ok((Ok(c), Ok(p))) => (c, p),
            Ok((Err(e), _) | (_, Err(e))) => {
                tracing::error!("cannot read the store: {e}");
                (Vec::new(), Vec::new())
            }
            Err(e) => {
                tracing::error!("cannot read the store: {e}");
                (Vec::new(), Vec::new())
            }
        };
        if let Ok(tip) = self.ctx.notifier.best_block().await {
            self.tip = tip.height.0;
        }
        for channel in channels {
            let id = channel.params.channel_id;
            let pending = channel.status == ChannelStatus::Pending;
            if pending {
                if let Some(tx) = channel.funding.funding_tx.clone() {
                    if channel.funding.confirmed.is_none() {
                        if let Err(e) = self
                            .wallet()
                            .apply_unconfirmed(tx.clone(), unix_now())
                            .await
                        {
                            tracing::warn!(channel = %id, "wallet did not take the funding tx: {e}");
                        }
                        self.rebroadcast(&tx).await;
                    }
                }
            }
            let live = matches!(
                channel.status,
                ChannelStatus::Pending | ChannelStatus::Ready | ChannelStatus::Closing
            );
            let Some(core) = self.core_for(channel) else {
                tracing::error!(channel = %id, "cannot derive the channel keys");
                continue;
            };
            self.channels.insert(id, core);
            if pending {
                self.watch_funding(id).await;
            }
            if live {
                self.watch.watch(id).await;
            }
        }
        self.recover_payments().await;
        for peer in peers {
            if let Ok(address) = peer.address.parse() {
                self.redial.insert(peer.node_id, address);
                if self.has_live_channels(&peer.node_id) {
                    self.dial(peer.node_id, address, std::time::Duration::ZERO, None);
                }
            }
        }
    }

    async fn rebroadcast(&self, tx: &bitcoin::Transaction) {
        if let Err(e) = self.chain().broadcast(tx).await {
            // Already in the mempool or confirmed is the usual case after a restart.
            tracing::debug!(txid = %tx.compute_txid(), "rebroadcast: {e}");
        }
    }

    /// Subscribes to the funding transaction's confirmations; events arrive on the node's
    /// confirmation mailbox.
    pub(crate) async fn watch_funding(&mut self, id: ChannelId) {
        if !self.watching.insert(id) {
            return;
        }
        let Some(channel) = self.channels.get(&id).map(crate::channel::Channel::record) else {
            return;
        };
        let txid = channel.params.funding_outpoint.txid;
        let script = channel.params.funding_output().tx_out().script_pubkey;
        let depth = establish::required_depth(channel);
        let hint = crate::units::BlockHeight(channel.funding.opened_at_height.saturating_sub(1));
        let sub = self
            .ctx
            .notifier
            .register_confirmations(txid, script, depth, hint)
            .await;
        let mut sub = match sub {
            Ok(sub) => sub,
            Err(e) => {
                tracing::error!(channel = %id, "cannot watch the funding transaction: {e}");
                self.watching.remove(&id);
                return;
            }
        };
        let tx = self.conf_tx.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    event = sub.recv() => match event {
                        Some(event) => {
                            if tx.send((id, event)).await.is_err() {
                                break;
                            }
                        }
                        None => break,
                    },
                }
            }
        });
    }

    pub(crate) async fn on_channel_funded(&mut self, node_id: PublicKey, id: ChannelId) {
        let Some(rec) = self.load(&id).await else {
            return;
        };
        let Some(mut core) = self.core_for(rec) else {
            return;
        };
        // Funded on this very connection: no reestablish is due for it.
        if let Some(entry) = self.peers.get(&node_id) {
            core.handle_funded_here(entry.anysegwit);
        }
        self.channels.insert(id, core);
        tracing::info!(channel = %id, peer = %node_id, "channel funded");
        self.watch_funding(id).await;
        self.watch.watch(id).await;
    }

    /// Runs what a channel's core asked for, in order: a write is durable before anything
    /// after it starts. A failed write rebuilds the core from the store and drops the
    /// connection (the peer retransmits; nothing unstored went out). Events are handled once
    /// the whole list has run, so that what they trigger (a command to the same core) goes
    /// out after everything the core produced before it.
    pub(crate) async fn run_actions(&mut self, id: ChannelId) {
        let mut events = Vec::new();
        self.run_actions_once(id, &mut events).await;
        for event in events {
            Box::pin(self.on_channel_event(id, event)).await;
        }
    }

    async fn run_actions_once(&mut self, id: ChannelId, events: &mut Vec<ChannelEvent>) {
        let Some(core) = self.channels.get_mut(&id) else {
            return;
        };
        let mut actions = core.poll_actions();
        let peer = core.record().params.peer;
        self.attach_payment_writes(id, &mut actions);
        let mut actions = actions.into_iter().peekable();
        while let Some(action) = actions.next() {
            match action {
                Action::Persist(batch) => {
                    if let Err(e) = self.persist(batch).await {
                        tracing::error!(channel = %id, "store write failed, nothing sent: {e}");
                        self.reload(&id).await;
                        if let Some(handle) = self.handle_of(&peer) {
                            handle.disconnect().await;
                        }
                        return;
                    }
                    match actions.peek() {
                        Some(Action::Send(msg)) => {
                            crash_point(&format!("stored_before_{}", msg.name()));
                        }
                        Some(Action::Broadcast(_)) => crash_point("stored_before_broadcast"),
                        _ => crash_point("stored"),
                    }
                }
                Action::Send(msg) => {
                    if let Some(handle) = self.handle_of(&peer) {
                        if handle.send(msg).await.is_err() {
                            tracing::debug!(channel = %id, "peer gone while sending");
                        }
                    }
                }
                Action::Broadcast(tx) => {
                    let txid = tx.compute_txid();
                    match self.chain().broadcast(&tx).await {
                        Ok(_) => tracing::info!(channel = %id, %txid, "broadcast"),
                        Err(e) => tracing::warn!(
                            channel = %id, %txid,
                            "broadcast failed (the watcher rebroadcasts): {e}"
                        ),
                    }
                    self.watch.watch(id).await;
                }
                Action::Event(event) => events.push(event),
                Action::Disconnect => {
                    if let Some(handle) = self.handle_of(&peer) {
                        handle.disconnect().await;
                    }
                }
            }
        }
    }

    async fn on_channel_event(&mut self, id: ChannelId, event: ChannelEvent) {
        match event {
            ChannelEvent::Ready => tracing::info!(channel = %id, "channel ready"),
            ChannelEvent::HtlcReceived {
                id: htlc_id,
                amount,
                payment_hash,
                cltv_expiry,
            } => {
                self.on_htlc_received(id, htlc_id, amount, payment_hash, cltv_expiry)
                    .await;
            }
            ChannelEvent::HtlcFulfilled {
                id: htlc_id,
                preimage,
            } => self.on_htlc_fulfilled(id, htlc_id, preimage).await,
            ChannelEvent::HtlcFailed {
                id: htlc_id,
                resolution,
            } => {
                tracing::info!(channel = %id, htlc = htlc_id, "our HTLC failed");
                self.on_htlc_failed(id, htlc_id, &resolution).await;
            }
            ChannelEvent::FeerateChanged { feerate } => {
                tracing::info!(channel = %id, %feerate, "commitment feerate changed");
            }
            ChannelEvent::Failed { reason } => {
                tracing::warn!(channel = %id, "channel failed: {reason}");
                self.pay.book.receiver.forget_channel(&id);
                self.watch.watch(id).await;
            }
        }
    }

    pub(crate) async fn on_conf(&mut self, id: ChannelId, event: ConfEvent) {
        let now = self.when();
        let Some(core) = self.channels.get_mut(&id) else {
            return;
        };
        if !matches!(core.status(), ChannelStatus::Pending | ChannelStatus::Ready) {
            return;
        }
        match event {
            ConfEvent::Confirmed(conf) | ConfEvent::Depth(conf) => {
                let vout = core.record().params.funding_outpoint.vout;
                let Some(scid) = ShortChannelId::new(
                    conf.block.height.0,
                    conf.tx_index,
                    u16::try_from(vout).unwrap_or(u16::MAX),
                ) else {
                    return;
                };
                let confirmation = FundingConfirmation {
                    height: conf.block.height.0,
                    block_hash: conf.block.hash,
                    short_channel_id: scid,
                };
                if let Err(e) =
                    core.handle_funding_depth(&conf.tx, confirmation, conf.confirmations, now)
                {
                    tracing::error!(channel = %id, "funding confirmation refused: {e}");
                }
            }
            ConfEvent::ReorgedOut { .. } => core.handle_funding_reorged(now),
        }
        self.run_actions(id).await;
    }

    pub(crate) async fn on_block(&mut self, event: BlockEvent) {
        match event {
            BlockEvent::Connected { height, .. } => self.tip = height.0,
            BlockEvent::Disconnected(block) => self.tip = block.height.0.saturating_sub(1),
        }
        let now = self.when();
        let ids: Vec<ChannelId> = self.channels.keys().copied().collect();
        for id in ids {
            let Some(core) = self.channels.get_mut(&id) else {
                continue;
            };
            let rec = core.record();
            if rec.status == ChannelStatus::Pending && rec.funding.confirmed.is_none() {
                if establish::fundee_should_forget(rec, self.tip) {
                    tracing::info!(channel = %id, "forgetting: funding never confirmed in 2016 blocks");
                    core.handle_abandon("funding not confirmed within 2016 blocks", now);
                } else if let Some(tx) = rec.funding.funding_tx.clone() {
                    // Ours and still unconfirmed: keep it in mempools.
                    self.rebroadcast(&tx).await;
                    continue;
                }
            } else {
                core.handle_block(now);
            }
            self.run_actions(id).await;
        }
        self.payments_tick().await;
        self.follow_fee_estimate().await;
    }

    /// As funder, keeps each ready channel's commitment feerate near the chain's estimate
    /// (BOLT 2: the funder "SHOULD send `update_fee` to ensure the current fee rate is
    /// sufficient"): up when the estimate is more than a quarter above it, down when it is
    /// below half of it. Nothing without an estimate (a fresh regtest chain has none).
    async fn follow_fee_estimate(&mut self) {
        let ours: Vec<ChannelId> = self
            .channels
            .values()
            .filter(|c| {
                let rec = c.record();
                rec.status == ChannelStatus::Ready
                    && rec.params.role == crate::channel::Role::Initiator
                    && c.is_linked()
                    && rec.close.local_script.is_none()
                    && rec.close.remote_script.is_none()
            })
            .map(crate::channel::Channel::id)
            .collect();
        if ours.is_empty() {
            return;
        }
        let Ok(Some(estimate)) = self.chain().estimate_fee(6).await else {
            return;
        };
        let target = crate::units::FeeratePerKw::from_fee_rate(estimate).clamp(
            self.channel_config.min_feerate,
            self.channel_config.max_feerate,
        );
        let now = self.when();
        for id in ours {
            let Some(core) = self.channels.get_mut(&id) else {
                continue;
            };
            let current = core.record().commitment.ledger.latest().map(|v| v.feerate);
            let Ok(current) = current else {
                continue;
            };
            let too_low = u64::from(target.0) * 4 > u64::from(current.0) * 5;
            let too_high = u64::from(target.0) * 2 < u64::from(current.0);
            if !(too_low || too_high) {
                continue;
            }
            match core.handle_command(Command::UpdateFee(target), now) {
                Ok(_) => {
                    tracing::info!(channel = %id, from = %current, to = %target, "following the fee estimate");
                }
                Err(e) => tracing::debug!(channel = %id, "no update_fee to {target}: {e}"),
            }
            self.run_actions(id).await;
        }
    }

    /// Timeouts of every channel (an unanswered `closing_signed`).
    pub(crate) async fn on_tick(&mut self) {
        self.payments_tick().await;
        let now = self.when();
        let ids: Vec<ChannelId> = self.channels.keys().copied().collect();
        for id in ids {
            if let Some(core) = self.channels.get_mut(&id) {
                core.handle_tick(now);
            }
            self.run_actions(id).await;
        }
    }

    /// A connection to `node_id` is up: every live channel with it sends
    /// `channel_reestablish` (BOLT 2: "MUST transmit channel_reestablish for each channel").
    pub(crate) async fn channels_connected(&mut self, node_id: PublicKey, anysegwit: bool) {
        let now = self.when();
        let ids: Vec<ChannelId> = self
            .channels
            .values()
            .filter(|c| c.record().params.peer == node_id)
            .map(crate::channel::Channel::id)
            .collect();
        for id in ids {
            if let Some(core) = self.channels.get_mut(&id) {
                core.handle_connected(anysegwit, now);
            }
            self.run_actions(id).await;
        }
    }

    /// The connection to `node_id` dropped.
    pub(crate) fn channels_disconnected(&mut self, node_id: PublicKey) {
        for core in self.channels.values_mut() {
            if core.record().params.peer == node_id {
                core.handle_disconnected();
                // Nothing to run: a disconnection only forgets the peer's uncommitted
                // updates.
                let _ = core.poll_actions();
            }
        }
    }

    /// The one dispatcher for every message of a funded channel.
    pub(crate) async fn on_channel_message(
        &mut self,
        node_id: PublicKey,
        conn_id: u64,
        msg: Message,
    ) {
        let Some(handle) = self.handle_of(&node_id).filter(|h| h.conn_id == conn_id) else {
            return;
        };
        let Some(id) = msg.channel_id() else {
            tracing::debug!(peer = %node_id, "ignoring {}", msg.name());
            return;
        };
        if let Message::Error(e) = &msg {
            if e.channel_id == ChannelId::ALL {
                let text = crate::peer::printable(&e.data);
                self.on_peer_error_all(node_id, &text).await;
                return;
            }
        }
        let known = self
            .channels
            .get(&id)
            .is_some_and(|c| c.record().params.peer == node_id);
        if !known {
            if let Message::Error(_) | Message::Warning(_) = msg {
                return; // BOLT 1: "if no existing channel is referred to: MUST ignore"
            }
            // BOLT 1: "SHOULD send error with the unknown channel_id in reply to messages of
            // type 32-255 related to unknown channels".
            let _ = handle
                .send(crate::channel::error(id, "unknown channel"))
                .await;
            return;
        }
        if let Message::Shutdown(_) = &msg {
            if self
                .channels
                .get(&id)
                .is_some_and(crate::channel::Channel::needs_closing_preferences)
            {
                match self.closing_script().await {
                    Ok(script) => {
                        let feerate = self.closing_feerate(None).await;
                        if let Some(core) = self.channels.get_mut(&id) {
                            core.set_closing_preferences(script, feerate);
                        }
                    }
                    Err(e) => {
                        tracing::error!("no wallet address for the closing output: {e}");
                        return;
                    }
                }
            }
        }
        let now = self.when();
        let mut linked_now = false;
        if let Some(core) = self.channels.get_mut(&id) {
            let was_linked = core.is_linked();
            if let Err(e) = core.handle_message(msg, now) {
                tracing::debug!(channel = %id, "{e}");
            }
            linked_now = !was_linked && core.is_linked();
        }
        self.run_actions(id).await;
        if linked_now {
            self.retry_parked(node_id).await;
        }
    }
}
