//! The watcher's shell: subscriptions, the store, the wallet and broadcasts. Decisions come
//! from [`super::classify`].
#![allow(clippy::disallowed_methods)] // an actor: tasks and clocks

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::{All, Secp256k1};
use bitcoin::{Network, Transaction};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::classify::{build_signed_sweep, classify, plan_sweeps, PlannedSweep};
use super::state::{SpendKind, SpendRecord, SweepRecord, WatchState};
use crate::chain::{BlockEvent, BlockFeed, ChainNotifierHandle, ChainSource, SpendEvent};
use crate::channel::establish::When;
use crate::channel::ChannelStatus;
use crate::channel::{record, StoredChannel};
use crate::keys::ChannelSecrets;
use crate::keys::NodeSeed;
use crate::store::{Batch, Event, EventKind, Op, Store, Table};
use crate::units::{BlockHeight, FeeratePerKw};
use crate::wallet::WalletHandle;
use crate::wire::ChannelId;

/// Tunables of the watcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchConfig {
    /// Confirmations after which the funding spend and the sweeps count as final.
    pub final_depth: u32,
    /// Blocks a sweep may stay unconfirmed before it is replaced with a higher fee.
    pub rbf_after_blocks: u32,
    /// The sweep feerate when the backend has no estimate.
    pub fallback_feerate: FeeratePerKw,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            final_depth: 6,
            rbf_after_blocks: 6,
            fallback_feerate: FeeratePerKw(2_500),
        }
    }
}

/// The node's way to the watcher.
#[derive(Clone, Debug)]
pub struct WatchHandle {
    tx: mpsc::Sender<ChannelId>,
}

impl WatchHandle {
    /// Starts watching a stored channel (idempotent).
    pub async fn watch(&self, id: ChannelId) {
        let _ = self.tx.send(id).await;
    }
}

/// The watcher.
pub struct WatchActor<S> {
    store: Store,
    notifier: ChainNotifierHandle,
    chain: S,
    wallet: WalletHandle,
    secp: Secp256k1<All>,
    seed: Arc<NodeSeed>,
    network: Network,
    config: WatchConfig,
    /// Where "this channel changed" goes (the node reloads it).
    changed: mpsc::Sender<ChannelId>,
    /// Watched channels and the watcher's own column for each.
    watched: HashMap<ChannelId, WatchState>,
    spend_tx: mpsc::Sender<(ChannelId, SpendEvent)>,
    tip: u32,
    tasks: TaskTracker,
    stop: CancellationToken,
}

/// The mailboxes the watcher reads.
pub struct WatchInboxes {
    cmds: mpsc::Receiver<ChannelId>,
    spends: mpsc::Receiver<(ChannelId, SpendEvent)>,
    blocks: BlockFeed,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl<S: ChainSource + Clone> WatchActor<S> {
    /// A watcher and its handle. Run it with [`WatchActor::run`].
    #[allow(clippy::too_many_arguments)]
    pub async fn new(
        store: Store,
        notifier: ChainNotifierHandle,
        chain: S,
        wallet: WalletHandle,
        seed: Arc<NodeSeed>,
        network: Network,
        config: WatchConfig,
        changed: mpsc::Sender<ChannelId>,
        tasks: TaskTracker,
        stop: CancellationToken,
    ) -> Result<(WatchActor<S>, WatchHandle, WatchInboxes), crate::chain::ChainError> {
        let (cmd_tx, cmds) = mpsc::channel(1024);
        let (spend_tx, spends) = mpsc::channel(1024);
        let blocks = BlockFeed::new(notifier.clone(), None).await?;
        let tip = notifier.best_block().await.map_or(0, |b| b.height.0);
        Ok((
            WatchActor {
                store,
                notifier,
                chain,
                wallet,
                secp: Secp256k1::new(),
                seed,
                network,
                config,
                changed,
                watched: HashMap::new(),
                spend_tx,
                tip,
                tasks,
                stop,
            },
            WatchHandle { tx: cmd_tx },
            WatchInboxes {
                cmds,
                spends,
                blocks,
            },
        ))
    }

    /// Runs until `stop` fires.
    pub async fn run(mut self, mut inboxes: WatchInboxes) {
        loop {
            tokio::select! {
                () = self.stop.cancelled() => break,
                Some(id) = inboxes.cmds.recv() => self.watch(id).await,
                Some((id, event)) = inboxes.spends.recv() => self.on_spend(id, event).await,
                event = inboxes.blocks.recv() => match event {
                    Some(event) => self.on_block(event).await,
                    None => break,
                },
            }
        }
    }

    async fn load(&self, id: ChannelId) -> Option<StoredChannel> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || record::load(&store, &id)).await {
            Ok(Ok(channel)) => channel,
            Ok(Err(e)) => {
                tracing::error!(channel = %id, "watcher cannot read the channel: {e}");
                None
            }
            Err(_) => None,
        }
    }

    async fn persist(&self, batch: Batch) -> bool {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.apply(&batch)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::error!("watcher store write failed, nothing sent: {e}");
                false
            }
            Err(_) => false,
        }
    }

    /// The HTLCs of the peer's revoked commitment `number`, from the revocation log, with
    /// their directions as the peer's commitment sees them.
    async fn revoked_htlcs(&self, id: ChannelId, number: u64) -> Vec<crate::tx::Htlc> {
        let store = self.store.clone();
        let found = tokio::task::spawn_blocking(move || {
            let Some(state) = record::revoked_state(&store, &id, number)? else {
                return Ok(Vec::new());
            };
            let mut htlcs = Vec::new();
            for (_, key) in state.htlcs {
                if let Some(h) = record::stored_htlc(&store, &id, key)? {
                    let ours = h.as_htlc();
                    htlcs.push(crate::tx::Htlc {
                        direction: ours.direction.flipped(),
                        ..ours
                    });
                }
            }
            Ok::<_, crate::store::StoreError>(htlcs)
        })
        .await;
        match found {
            Ok(Ok(htlcs)) => htlcs,
            Ok(Err(e)) => {
                tracing::error!(channel = %id, "cannot read the revocation log: {e}");
                Vec::new()
            }
            Err(_) => Vec::new(),
        }
    }

    fn secrets(&self, channel: &StoredChannel) -> Option<ChannelSecrets> {
        self.seed
            .channel_secrets(&self.secp, self.network, channel.params.channel_index)
            .ok()
    }

    fn event(&self, kind: EventKind) -> Event {
        When {
            time: unix_now(),
            height: self.tip,
        }
        .event(kind)
    }

    async fn watch(&mut self, id: ChannelId) {
        if self.watched.contains_key(&id) {
            return;
        }
        let Some(channel) = self.load(id).await else {
            return;
        };
        let state = channel.watch.clone().unwrap_or_default();
        if state.closed || channel.status == ChannelStatus::Abandoned {
            return;
        }
        let outpoint = channel.params.funding_outpoint;
        let script = channel.params.funding_output().tx_out().script_pubkey;
        let hint = BlockHeight(channel.funding.opened_at_height.saturating_sub(1));
        let mut sub = match self.notifier.register_spend(outpoint, script, hint).await {
            Ok(sub) => sub,
            Err(e) => {
                tracing::error!(channel = %id, "cannot watch the funding output: {e}");
                return;
            }
        };
        let tx = self.spend_tx.clone();
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
        self.watched.insert(id, state);
        // After a restart: rebroadcast what is still unconfirmed, build what became due.
        self.advance(id).await;
    }

    async fn on_spend(&mut self, id: ChannelId, event: SpendEvent) {
        let Some(mut state) = self.watched.get(&id).cloned() else {
            return;
        };
        let Some(channel) = self.load(id).await else {
            return;
        };
        let mut batch = Batch::new();
        match event {
            SpendEvent::Spent(details) => {
                let block = (details.block.height.0, details.block.hash);
                let txid = details.spending_txid;
                match &mut state.spend {
                    Some(known) if known.txid == txid => {
                        if known.confirmed == Some(block) {
                            return;
                        }
                        known.confirmed = Some(block);
                    }
                    _ => {
                        let Some(secrets) = self.secrets(&channel) else {
                            return;
                        };
                        let tx: Transaction = (*details.spending_tx).clone();
                        let kind = classify(&self.secp, &channel, &secrets, &tx);
                        tracing::info!(channel = %id, %txid, kind = kind.as_str(), "funding output spent");
                        // A different transaction than before: earlier sweeps spent outputs
                        // that no longer exist.
                        state.sweeps.clear();
                        state.spend = Some(SpendRecord {
                            txid,
                            tx,
                            kind,
                            confirmed: Some(block),
                        });
                        batch.push(Op::Event(
                            id,
                            self.event(EventKind::SpendSeen {
                                txid,
                                kind: kind.as_str().to_string(),
                                block_height: block.0,
                            }),
                        ));
                        if kind == SpendKind::Unknown {
                            let reason =
                                format!("unknown transaction {txid} spent the funding output");
                            tracing::error!(channel = %id, "NEEDS ATTENTION: {reason}");
                            state.attention = Some(reason.clone());
                            batch.push(Op::Event(
                                id,
                                self.event(EventKind::NeedsAttention { reason }),
                            ));
                        }
                        if channel.status != ChannelStatus::Closing {
                            batch.push(record::status_row(&id, ChannelStatus::Closing));
                        }
                    }
                }
            }
            SpendEvent::ReorgedOut { .. } => {
                let Some(spend) = state.spend.as_mut() else {
                    return;
                };
                spend.confirmed = None;
                let txid = spend.txid;
                tracing::warn!(channel = %id, %txid, "funding spend reorged out");
                batch.push(Op::Event(id, self.event(EventKind::SpendReorged { txid })));
            }
        }
        batch.ops.insert(0, Op::put_json(Table::Watch, &id, &state));
        if self.persist(batch).await {
            self.watched.insert(id, state);
            let _ = self.changed.send(id).await;
            self.advance(id).await;
        }
    }

    async fn on_block(&mut self, event: BlockEvent) {
        let mut touched = Vec::new();
        match &event {
            BlockEvent::Connected { block, height } => {
                self.tip = height.0;
                let txids: std::collections::HashSet<_> =
                    block.txdata.iter().map(Transaction::compute_txid).collect();
                for (id, state) in &mut self.watched {
                    for sweep in state.sweeps.iter_mut().filter(|s| s.confirmed_at.is_none()) {
                        if txids.contains(&sweep.txid()) {
                            sweep.confirmed_at = Some(height.0);
                            touched.push((*id, Some((sweep.txid(), height.0))));
                        }
                    }
                }
            }
            BlockEvent::Disconnected(block) => {
                self.tip = block.height.0.saturating_sub(1);
                for (id, state) in &mut self.watched {
                    for sweep in &mut state.sweeps {
                        if sweep.confirmed_at == Some(block.height.0) {
                            sweep.confirmed_at = None;
                            touched.push((*id, None));
                        }
                    }
                }
            }
        }
        for (id, confirmed) in touched {
            let Some(state) = self.watched.get(&id).cloned() else {
                continue;
            };
            let mut batch = Batch::new().with(Op::put_json(Table::Watch, &id, &state));
            if let Some((txid, block_height)) = confirmed {
                batch.push(Op::Event(
                    id,
                    self.event(EventKind::SweepConfirmed { txid, block_height }),
                ));
            }
            self.persist(batch).await;
        }
        let ids: Vec<ChannelId> = self.watched.keys().copied().collect();
        for id in ids {
            self.advance(id).await;
        }
    }

    async fn feerate(&self) -> FeeratePerKw {
        match self.chain.estimate_fee(6).await {
            Ok(Some(rate)) => FeeratePerKw::from_fee_rate(rate).max(FeeratePerKw(253)),
            _ => self.config.fallback_feerate,
        }
    }

    /// Builds due sweeps, replaces stale ones, rebroadcasts the rest, and closes the channel
    /// once everything is final.
    async fn advance(&mut self, id: ChannelId) {
        let Some(state) = self.watched.get(&id).cloned() else {
            return;
        };
        let Some(spend) = state.spend.clone() else {
            return;
        };
        let Some((height, _)) = spend.confirmed else {
            // Unconfirmed again after a reorg: keep it in mempools.
            let _ = self.chain.broadcast(&spend.tx).await;
            return;
        };
        let Some(channel) = self.load(id).await else {
            return;
        };
        let Some(secrets) = self.secrets(&channel) else {
            return;
        };
        let revoked_htlcs = match spend.kind {
            SpendKind::RevokedCommitment { number } => self.revoked_htlcs(id, number).await,
            _ => Vec::new(),
        };
        let plans = match plan_sweeps(
            &self.secp,
            &channel,
            &secrets,
            spend.kind,
            &spend.tx,
            height,
            &revoked_htlcs,
        ) {
            Ok(plans) => plans,
            Err(e) => {
                tracing::error!(channel = %id, "cannot plan sweeps: {e}");
                return;
            }
        };
        for plan in &plans {
            self.advance_sweep(id, plan).await;
        }
        // Final?
        let Some(state) = self.watched.get(&id).cloned() else {
            return;
        };
        let deep = |h: u32| self.tip + 1 >= h + self.config.final_depth;
        let swept = plans.iter().all(|p| {
            state
                .live_sweep(p.kind)
                .and_then(|s| s.confirmed_at)
                .is_some_and(deep)
        });
        if deep(height) && swept {
            let mut done = state.clone();
            done.closed = true;
            let how = spend.kind.as_str().to_string();
            let mut batch = Batch::new().with(Op::put_json(Table::Watch, &id, &done));
            if spend.kind == SpendKind::Unknown && plans.is_empty() {
                // Nothing we know to do: leave it "closing", flagged for a person.
                tracing::error!(channel = %id, "funding spent by an unknown transaction; nothing to sweep");
            } else {
                batch.push(record::status_row(&id, ChannelStatus::Closed));
                batch.push(Op::Event(id, self.event(EventKind::Closed { how })));
            }
            if self.persist(batch).await {
                tracing::info!(channel = %id, "channel closed and settled");
                self.watched.remove(&id);
                let _ = self.changed.send(id).await;
            }
        }
    }

    async fn advance_sweep(&mut self, id: ChannelId, plan: &PlannedSweep) {
        let Some(state) = self.watched.get(&id).cloned() else {
            return;
        };
        match state.live_sweep(plan.kind).cloned() {
            None => {
                // BIP 68: a CSV-locked input is valid in the block at `valid_from`, so the
                // mempool takes it once the tip is one below.
                if self.tip + 1 < plan.valid_from {
                    return;
                }
                let destination = match self.wallet.new_address().await {
                    Ok(address) => address.script_pubkey(),
                    Err(e) => {
                        tracing::error!(channel = %id, "no wallet address for the sweep: {e}");
                        return;
                    }
                };
                let feerate = self.feerate().await;
                self.publish(id, plan, destination, feerate, None).await;
            }
            Some(live) if live.confirmed_at.is_none() => {
                if self.tip >= live.broadcast_at + self.config.rbf_after_blocks {
                    // Replace it with a higher fee (BIP 125: more in total and per vbyte; the
                    // same inputs, the same destination).
                    let bumped = FeeratePerKw(
                        (live.feerate.0.saturating_mul(5) / 4)
                            .max(live.feerate.0.saturating_add(253)),
                    );
                    let destination = live
                        .tx
                        .output
                        .first()
                        .map_or_else(bitcoin::ScriptBuf::new, |o| o.script_pubkey.clone());
                    self.publish(id, plan, destination, bumped, Some(live))
                        .await;
                } else if let Err(e) = self.chain.broadcast(&live.tx).await {
                    tracing::debug!(channel = %id, txid = %live.txid(), "sweep rebroadcast: {e}");
                }
            }
            Some(_) => {}
        }
    }

    /// Builds, records (durably), then broadcasts a sweep, replacing `old` if given.
    async fn publish(
        &mut self,
        id: ChannelId,
        plan: &PlannedSweep,
        destination: bitcoin::ScriptBuf,
        feerate: FeeratePerKw,
        old: Option<SweepRecord>,
    ) {
        let (tx, fee) = match build_signed_sweep(&self.secp, plan, destination, feerate) {
            Ok(built) => built,
            Err(e) => {
                tracing::warn!(channel = %id, kind = plan.kind.as_str(), "cannot build sweep: {e}");
                return;
            }
        };
        let Some(mut state) = self.watched.get(&id).cloned() else {
            return;
        };
        let txid = tx.compute_txid();
        let record = SweepRecord {
            kind: plan.kind,
            tx: tx.clone(),
            amount: plan.amount(),
            fee,
            feerate,
            broadcast_at: self.tip,
            confirmed_at: None,
            replaced_by: None,
        };
        let mut batch = Batch::new();
        if let Some(old) = &old {
            if let Some(previous) = state
                .sweeps
                .iter_mut()
                .find(|s| s.txid() == old.txid() && s.replaced_by.is_none())
            {
                previous.replaced_by = Some(txid);
            }
            batch.push(Op::Event(
                id,
                self.event(EventKind::SweepReplaced {
                    old: old.txid(),
                    new: txid,
                    fee,
                }),
            ));
        } else {
            batch.push(Op::Event(
                id,
                self.event(EventKind::SweepBroadcast {
                    txid,
                    kind: plan.kind.as_str().to_string(),
                    amount: plan.amount(),
                    fee,
                }),
            ));
        }
        state.sweeps.push(record);
        batch.ops.insert(0, Op::put_json(Table::Watch, &id, &state));
        if !self.persist(batch).await {
            return;
        }
        self.watched.insert(id, state);
        match self.chain.broadcast(&tx).await {
            Ok(_) => {
                tracing::info!(channel = %id, %txid, kind = plan.kind.as_str(), %fee, "sweep broadcast");
            }
            Err(e) => {
                tracing::warn!(channel = %id, %txid, "sweep broadcast failed, will retry: {e}");
            }
        }
        if let Err(e) = self.wallet.apply_unconfirmed(tx, unix_now()).await {
            tracing::debug!("wallet did not take the sweep: {e}");
        }
        let _ = self.changed.send(id).await;
    }
}
