//! The node's part in a channel's life after funding: waiting for confirmations, exchanging
//! `channel_ready`, reestablishing on reconnection, rebroadcasting our funding, forgetting
//! channels whose funding never came, and recovery after a restart.
#![allow(clippy::disallowed_methods)] // actor code: tasks and clocks

use bitcoin::secp256k1::PublicKey;

use super::actor::{unix_now, NodeActor};
use crate::chain::{BlockEvent, ChainSource, ConfEvent};
use crate::channel::establish::{self, Step, When};
use crate::channel::{ChannelStatus, FundingConfirmation};
use crate::wire::{ChannelId, Extension, Message, ShortChannelId};

impl<S: ChainSource + Clone> NodeActor<S> {
    /// After a restart: load every channel, rebroadcast our unconfirmed funding
    /// transactions, resume waiting for confirmations, and redial peers with live channels.
    pub(crate) async fn recover(&mut self) {
        let store = self.store();
        let loaded =
            tokio::task::spawn_blocking(move || (store.load_channels(), store.peers())).await;
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
            self.channels.insert(id, channel);
            if pending {
                self.watch_funding(id).await;
            }
            if live {
                self.watch.watch(id).await;
            }
        }
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
            tracing::debug!(txid = %tx.compute_txid(), "funding rebroadcast: {e}");
        }
    }

    /// Subscribes to the funding transaction's confirmations; events arrive on the node's
    /// confirmation mailbox.
    pub(crate) async fn watch_funding(&mut self, id: ChannelId) {
        if !self.watching.insert(id) {
            return;
        }
        let Some(channel) = self.channels.get(&id) else {
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
        self.reload(&id).await;
        // Funded on this very connection: no reestablish is due for it.
        if let Some(entry) = self.peers.get_mut(&node_id) {
            entry.reestablished.insert(id);
        }
        tracing::info!(channel = %id, peer = %node_id, "channel funded");
        self.watch_funding(id).await;
        self.watch.watch(id).await;
    }

    /// Executes a step: persist, then send (if the channel's peer is connected and
    /// reestablished), then refresh the runtime view.
    async fn execute(&mut self, id: ChannelId, step: Step) {
        let peer = match self.channels.get(&id) {
            Some(c) => c.params.peer,
            None => return,
        };
        if let Err(e) = self.persist(step.batch).await {
            tracing::error!(channel = %id, "store write failed, nothing sent: {e}");
            return;
        }
        self.reload(&id).await;
        if step.became_ready {
            tracing::info!(channel = %id, "channel ready");
        }
        let Some(entry) = self.peers.get(&peer) else {
            return;
        };
        if !entry.reestablished.contains(&id) {
            // Sent after channel_reestablish instead (it retransmits channel_ready).
            return;
        }
        for msg in step.send {
            if entry.handle.send(msg).await.is_err() {
                break;
            }
        }
    }

    pub(crate) async fn on_conf(&mut self, id: ChannelId, event: ConfEvent) {
        let Some(channel) = self.channels.get(&id).cloned() else {
            return;
        };
        if channel.status != ChannelStatus::Pending && channel.status != ChannelStatus::Ready {
            return;
        }
        let time = unix_now();
        match event {
            ConfEvent::Confirmed(conf) | ConfEvent::Depth(conf) => {
                let vout = channel.params.funding_outpoint.vout;
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
                let Some(secrets) = self.secrets_of(&channel) else {
                    return;
                };
                match establish::on_funding_depth(
                    &self.ctx.secp,
                    &channel,
                    &secrets,
                    &conf.tx,
                    confirmation,
                    conf.confirmations,
                    When {
                        time,
                        height: self.tip,
                    },
                ) {
                    Ok(step) => self.execute(id, step).await,
                    Err(e) => tracing::error!(channel = %id, "funding confirmation refused: {e}"),
                }
            }
            ConfEvent::ReorgedOut { .. } => {
                let step = establish::on_funding_reorged(
                    &channel,
                    When {
                        time,
                        height: self.tip,
                    },
                );
                self.execute(id, step).await;
            }
        }
    }

    pub(crate) async fn on_block(&mut self, event: BlockEvent) {
        match event {
            BlockEvent::Connected { height, .. } => self.tip = height.0,
            BlockEvent::Disconnected(block) => self.tip = block.height.0.saturating_sub(1),
        }
        let time = unix_now();
        let pending: Vec<_> = self
            .channels
            .values()
            .filter(|c| c.status == ChannelStatus::Pending && c.funding.confirmed.is_none())
            .cloned()
            .collect();
        for channel in pending {
            let id = channel.params.channel_id;
            if establish::fundee_should_forget(&channel, self.tip) {
                tracing::info!(channel = %id, "forgetting: funding never confirmed in 2016 blocks");
                let batch = establish::abandon(
                    &channel,
                    "funding not confirmed within 2016 blocks",
                    When {
                        time,
                        height: self.tip,
                    },
                );
                if self.persist(batch).await.is_ok() {
                    self.reload(&id).await;
                }
            } else if let Some(tx) = &channel.funding.funding_tx {
                // Ours and still unconfirmed: keep it in mempools.
                self.rebroadcast(tx).await;
            }
        }
    }

    /// Sends `channel_reestablish` for every live channel with the peer (BOLT 2: "MUST
    /// transmit channel_reestablish for each channel").
    pub(crate) async fn reestablish_all(&mut self, handle: &crate::peer::PeerHandle) {
        let live: Vec<_> = self
            .channels
            .values()
            .filter(|c| {
                c.params.peer == handle.node_id
                    && matches!(c.status, ChannelStatus::Pending | ChannelStatus::Ready)
            })
            .cloned()
            .collect();
        for channel in live {
            let Some(secrets) = self.secrets_of(&channel) else {
                continue;
            };
            match establish::reestablish(&self.ctx.secp, &channel, &secrets) {
                Ok(msg) => {
                    let _ = handle.send(Message::ChannelReestablish(msg)).await;
                }
                Err(e) => tracing::error!(channel = %channel.params.channel_id, "reestablish: {e}"),
            }
        }
    }

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
        let channel = self
            .channels
            .get(&id)
            .filter(|c| c.params.peer == node_id)
            .cloned();
        let Some(channel) = channel else {
            if let Message::Error(_) | Message::Warning(_) = msg {
                return; // BOLT 1: "if no existing channel is referred to: MUST ignore"
            }
            // BOLT 1: "SHOULD send error with the unknown channel_id in reply to messages of
            // type 32-255 related to unknown channels".
            let _ = handle.send(error_msg(id, "unknown channel")).await;
            return;
        };
        let time = unix_now();
        match msg {
            Message::ChannelReestablish(m) => {
                let Some(secrets) = self.secrets_of(&channel) else {
                    return;
                };
                match establish::on_reestablish(&self.ctx.secp, &channel, &secrets, &m) {
                    Ok(step) => {
                        if let Some(entry) = self.peers.get_mut(&node_id) {
                            entry.reestablished.insert(id);
                        }
                        self.execute(id, step).await;
                        if let Some(channel) = self.channels.get(&id).cloned() {
                            self.resume_close(&channel).await;
                        }
                    }
                    Err(e) => {
                        tracing::error!(channel = %id, "channel_reestablish: {e}");
                        let _ = handle.send(error_msg(id, &e.to_string())).await;
                    }
                }
            }
            Message::ChannelReady(m) => {
                let step = establish::on_channel_ready(
                    &channel,
                    &m,
                    When {
                        time,
                        height: self.tip,
                    },
                );
                if let Some(entry) = self.peers.get_mut(&node_id) {
                    // A peer that sends channel_ready has reestablished (or just funded).
                    entry.reestablished.insert(id);
                }
                self.execute(id, step).await;
            }
            Message::Error(e) => {
                let text = crate::peer::printable(&e.data);
                tracing::warn!(channel = %id, "peer error: {text}");
                self.on_peer_error(&channel, &text).await;
            }
            Message::Shutdown(m) => {
                let anysegwit = self.peers.get(&node_id).is_some_and(|p| p.anysegwit);
                self.on_shutdown(&channel, &m, anysegwit).await;
            }
            Message::ClosingSigned(m) => self.on_closing_signed(&channel, &m).await,
            other => {
                let text = format!("{} is not supported yet", other.name());
                let _ = handle.send(warning_msg(id, &text)).await;
            }
        }
    }
}

/// A BOLT 1 `warning` for a channel: something was wrong, nothing is failed.
pub(crate) fn warning_msg(channel_id: ChannelId, text: &str) -> Message {
    Message::Warning(crate::wire::Warning {
        channel_id,
        data: text.as_bytes().to_vec(),
        tlvs: Extension::default(),
    })
}

/// A BOLT 1 `error` for a channel.
pub(crate) fn error_msg(channel_id: ChannelId, text: &str) -> Message {
    Message::Error(crate::wire::Error {
        channel_id,
        data: text.as_bytes().to_vec(),
        tlvs: Extension::default(),
    })
}
