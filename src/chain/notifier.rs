//! [`ChainNotifier`]: the actor that keeps a [`TxNotifier`] in step with a [`ChainSource`]
//! and delivers its notifications.
//!
//! The actor holds no matching or reorg rule. It polls the backend's best block hash, finds
//! the fork point when the tip moved (comparing the hashes the core remembers with the
//! backend's `getblockhash`), disconnects and connects blocks in the core, and sends what the
//! core returns to the subscribers. Historical scans for height hints and replays for block
//! subscribers read blocks through the same [`ChainSource`].
//!
//! Delivery policy: every subscription is a bounded channel. An event goes in with
//! `try_send`; if the channel is full the actor waits up to
//! [`NotifierConfig::lag_timeout`] for room, then drops the subscription with
//! [`StreamEnd::Lagged`]. So a stuck subscriber delays the others at most once, by that
//! timeout, and never forever.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bitcoin::BlockHash;
use tokio::sync::mpsc::error::{SendTimeoutError, TrySendError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::event::{BlockEvent, ConfEvent, SpendEvent};
use super::subscription::{Sink, StreamEnd};
use super::tx_notifier::{
    ConfRequest, Notification, NotificationKind, SpendRequest, SubscriptionId, TxNotifier,
};
use super::{BlockRef, ChainError, ChainNotifierHandle, ChainSource};
use crate::units::BlockHeight;

/// How many commands the actor takes from its mailbox before it runs the rescans they need.
const COMMAND_BATCH: usize = 256;

/// Tunables of the notifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifierConfig {
    /// How often the backend's best block hash is polled.
    pub poll_interval: Duration,
    /// The deepest reorg the notifier can undo, in blocks; streams end once their outcome is
    /// buried deeper. lnd uses 144 (one day of blocks).
    pub reorg_safety_depth: u32,
    /// Events buffered per subscription before the subscriber counts as slow.
    pub subscription_capacity: usize,
    /// How long a full subscription is waited for before it is dropped as lagged.
    pub lag_timeout: Duration,
    /// How often subscriptions whose receiver was dropped are swept out.
    pub sweep_interval: Duration,
    /// Commands buffered in the actor's mailbox.
    pub mailbox_capacity: usize,
}

impl Default for NotifierConfig {
    /// Settings for a real network: poll every second, undo reorgs up to 144 blocks.
    fn default() -> NotifierConfig {
        NotifierConfig {
            poll_interval: Duration::from_secs(1),
            reorg_safety_depth: 144,
            subscription_capacity: 1024,
            lag_timeout: Duration::from_secs(10),
            sweep_interval: Duration::from_secs(30),
            mailbox_capacity: 256,
        }
    }
}

impl NotifierConfig {
    /// Settings for regtest and tests: poll every 100 ms so mined blocks show up at once.
    pub fn regtest() -> NotifierConfig {
        NotifierConfig {
            poll_interval: Duration::from_millis(100),
            ..NotifierConfig::default()
        }
    }
}

/// What a [`ChainNotifierHandle`] asks of the actor.
#[derive(Debug)]
pub(crate) enum Command {
    /// Watch a transaction's confirmations.
    Confirmations {
        /// What to watch.
        request: ConfRequest,
        /// Where events go.
        sink: Sink<ConfEvent>,
    },
    /// Watch an outpoint's spend.
    Spend {
        /// What to watch.
        request: SpendRequest,
        /// Where events go.
        sink: Sink<SpendEvent>,
    },
    /// Stream blocks, replaying from `best_known`.
    Blocks {
        /// The subscriber's last block, if any.
        best_known: Option<BlockRef>,
        /// Where events go.
        sink: Sink<BlockEvent>,
    },
    /// Report the notifier's tip.
    BestBlock {
        /// Where the answer goes.
        reply: oneshot::Sender<BlockRef>,
    },
}

/// The chain notifier actor, before it runs. Create it with [`ChainNotifier::new`], spawn
/// [`ChainNotifier::run`] on the node's task tracker, and use the returned
/// [`ChainNotifierHandle`].
#[derive(Debug)]
pub struct ChainNotifier<S> {
    /// The backend.
    source: S,
    /// Tunables.
    config: NotifierConfig,
    /// Commands from handles.
    mailbox: mpsc::Receiver<Command>,
}

impl<S: ChainSource> ChainNotifier<S> {
    /// An actor over `source` and the handle that talks to it.
    pub fn new(source: S, config: NotifierConfig) -> (ChainNotifier<S>, ChainNotifierHandle) {
        let (tx, mailbox) = mpsc::channel(config.mailbox_capacity.max(1));
        let handle = ChainNotifierHandle {
            tx,
            capacity: config.subscription_capacity,
        };
        let notifier = ChainNotifier {
            source,
            config,
            mailbox,
        };
        (notifier, handle)
    }

    /// Runs the actor until `stop` is cancelled, or every handle and subscription is gone.
    ///
    /// It first reads the backend's tip (retrying every poll interval while the backend is
    /// unreachable), then serves commands and polls. Backend errors are logged and retried at
    /// the next poll; only a reorg deeper than the reorg-safety depth ends it with
    /// [`ChainError::ReorgTooDeep`], since it can no longer undo what it reported. When it
    /// ends, every open stream ends with [`StreamEnd::Stopped`].
    pub async fn run(self, stop: CancellationToken) -> Result<(), ChainError> {
        let ChainNotifier {
            source,
            config,
            mut mailbox,
        } = self;
        let tip = loop {
            let answer = tokio::select! {
                () = stop.cancelled() => return Ok(()),
                answer = source.best_block() => answer,
            };
            match answer {
                Ok(tip) => break tip,
                Err(error) => tracing::warn!(%error, "chain notifier: cannot read the tip"),
            }
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = tokio::time::sleep(config.poll_interval) => {}
            }
        };
        tracing::debug!(height = %tip.height, hash = %tip.hash, "chain notifier started");
        let mut actor = Actor {
            core: TxNotifier::new(tip, config.reorg_safety_depth),
            source,
            config,
            next_id: 0,
            conf_sinks: HashMap::new(),
            spend_sinks: HashMap::new(),
            block_subs: Vec::new(),
        };
        actor.run(&mut mailbox, &stop).await
    }
}

/// A block subscriber.
#[derive(Debug)]
struct BlockSub {
    /// Where events go.
    sink: Sink<BlockEvent>,
    /// The last block it was told about, while it still has to catch up with the core's tip;
    /// `None` once it is live.
    behind: Option<BlockRef>,
}

/// What became of one delivery.
enum Delivery {
    /// The event is in the subscriber's channel.
    Sent,
    /// The subscriber is gone (dropped its receiver, or lagged and was dropped).
    Gone,
}

/// The running actor: the core plus the subscribers' channels.
struct Actor<S> {
    /// The pure core.
    core: TxNotifier,
    /// The backend.
    source: S,
    /// Tunables.
    config: NotifierConfig,
    /// The next subscription id.
    next_id: u64,
    /// Confirmation subscribers by id.
    conf_sinks: HashMap<SubscriptionId, Sink<ConfEvent>>,
    /// Spend subscribers by id.
    spend_sinks: HashMap<SubscriptionId, Sink<SpendEvent>>,
    /// Block subscribers.
    block_subs: Vec<BlockSub>,
}

impl<S: ChainSource> Actor<S> {
    /// The select loop: stop, commands, poll ticks, sweeps.
    async fn run(
        &mut self,
        mailbox: &mut mpsc::Receiver<Command>,
        stop: &CancellationToken,
    ) -> Result<(), ChainError> {
        let mut poll = tokio::time::interval(self.config.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sweep = tokio::time::interval(self.config.sweep_interval);
        sweep.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut mailbox_open = true;
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => return Ok(()),
                command = mailbox.recv(), if mailbox_open => match command {
                    Some(command) => {
                        self.handle(command).await;
                        for _ in 1..COMMAND_BATCH {
                            let Ok(command) = mailbox.try_recv() else { break };
                            self.handle(command).await;
                        }
                        self.catch_up().await;
                    }
                    None => mailbox_open = false,
                },
                _ = poll.tick() => {
                    if let Err(error) = self.sync().await {
                        if matches!(error, ChainError::ReorgTooDeep { .. }) {
                            tracing::error!(%error, "chain notifier: stopping");
                            return Err(error);
                        }
                        tracing::warn!(%error, "chain notifier: poll failed, will retry");
                    }
                    self.catch_up().await;
                }
                _ = sweep.tick() => self.sweep(),
            }
            let idle = self.conf_sinks.is_empty()
                && self.spend_sinks.is_empty()
                && self.block_subs.is_empty();
            if !mailbox_open && idle {
                return Ok(());
            }
        }
    }

    /// Serves one command. Registrations go into the core at once; their historical scans
    /// and replays run in [`Actor::catch_up`], once per batch of commands.
    async fn handle(&mut self, command: Command) {
        match command {
            Command::Confirmations { request, sink } => {
                let id = self.new_id();
                match self.core.register_confirmations(id, &request) {
                    Ok(notes) => {
                        self.conf_sinks.insert(id, sink);
                        self.deliver(notes).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "chain notifier: confirmation registration refused");
                        sink.set_end(StreamEnd::Rejected);
                    }
                }
            }
            Command::Spend { request, sink } => {
                let id = self.new_id();
                match self.core.register_spend(id, &request) {
                    Ok(notes) => {
                        self.spend_sinks.insert(id, sink);
                        self.deliver(notes).await;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "chain notifier: spend registration refused");
                        sink.set_end(StreamEnd::Rejected);
                    }
                }
            }
            Command::Blocks { best_known, sink } => {
                // Bring the core to the backend's tip first, so a subscriber that is ahead of
                // a lagging core is not told to disconnect blocks that are still good.
                if best_known.is_some() {
                    if let Err(error) = self.sync().await {
                        tracing::debug!(%error, "chain notifier: sync before replay failed");
                    }
                }
                self.block_subs.push(BlockSub {
                    sink,
                    behind: best_known,
                });
            }
            Command::BestBlock { reply } => {
                // The asker may have gone; nothing to do then.
                let _ = reply.send(self.core.tip());
            }
        }
    }

    /// Runs the pending historical scan and the pending block replays. Failures are logged
    /// and retried at the next poll.
    async fn catch_up(&mut self) {
        if let Err(error) = self.rescan().await {
            tracing::warn!(%error, "chain notifier: historical scan failed, will retry");
        }
        self.replay_blocks().await;
    }

    /// Follows the backend's best chain: finds the fork point, disconnects the core's blocks
    /// above it and connects the backend's. A rescan that is still pending runs first, so
    /// that history and live blocks are never interleaved.
    async fn sync(&mut self) -> Result<(), ChainError> {
        self.rescan().await?;
        let best = self.source.best_block_hash().await?;
        let tip = self.core.tip();
        if best == tip.hash {
            return Ok(());
        }
        let info = self
            .source
            .block_info(best)
            .await?
            .ok_or(ChainError::UnknownBlock { hash: best })?;
        let fork = if info.prev_hash == Some(tip.hash) {
            tip.height
        } else {
            self.fork_point(tip.height.min(info.height)).await?
        };
        while self.core.tip().height > fork {
            let gone = self.core.tip();
            let notes = self.core.disconnect_tip(gone.height)?;
            tracing::info!(height = %gone.height, hash = %gone.hash, "block disconnected");
            self.deliver(notes).await;
            self.deliver_blocks(&BlockEvent::Disconnected(gone)).await;
        }
        let mut height = fork;
        while height < info.height {
            height = BlockHeight(height.0 + 1);
            let Some((hash, block)) = self.source.block_at(height).await? else {
                break;
            };
            if block.header.prev_blockhash != self.core.tip().hash {
                // The backend reorged while we walked; the next poll starts over.
                break;
            }
            let notes = self.core.connect_tip(&block, height)?;
            tracing::debug!(%height, %hash, "block connected");
            self.deliver(notes).await;
            let event = BlockEvent::Connected {
                block: Arc::new(block),
                height,
            };
            self.deliver_blocks(&event).await;
        }
        Ok(())
    }

    /// The highest height at or below `start` where the core's block is also the backend's.
    async fn fork_point(&self, start: BlockHeight) -> Result<BlockHeight, ChainError> {
        let mut height = start;
        loop {
            let ours = self.core.hash_at(height).ok_or(ChainError::ReorgTooDeep {
                limit: self.core.reorg_safety_depth(),
            })?;
            if self.source.block_hash(height).await? == Some(ours) {
                return Ok(height);
            }
            height = BlockHeight(height.0.checked_sub(1).ok_or(ChainError::ReorgTooDeep {
                limit: self.core.reorg_safety_depth(),
            })?);
        }
    }

    /// Feeds the blocks from the pending rescan height to the tip to the core.
    async fn rescan(&mut self) -> Result<(), ChainError> {
        let Some(from) = self.core.pending_rescan() else {
            return Ok(());
        };
        let tip = self.core.tip().height;
        tracing::debug!(%from, %tip, "chain notifier: historical scan");
        for height in from.0..=tip.0 {
            let height = BlockHeight(height);
            let hash = self.chain_hash(height).await?;
            let block = self
                .source
                .block(hash)
                .await?
                .ok_or(ChainError::UnknownBlock { hash })?;
            let notes = self.core.rescan_block(&block, height)?;
            self.deliver(notes).await;
        }
        self.core.finish_rescan();
        Ok(())
    }

    /// The hash of the core's best-chain block at `height`: from the core's memory, or from
    /// the backend below it (blocks that deep do not reorg).
    async fn chain_hash(&self, height: BlockHeight) -> Result<BlockHash, ChainError> {
        if let Some(hash) = self.core.hash_at(height) {
            return Ok(hash);
        }
        self.source
            .block_hash(height)
            .await?
            .ok_or(ChainError::RescanMismatch { height })
    }

    /// Brings every block subscriber that is behind up to the core's tip.
    async fn replay_blocks(&mut self) {
        if self.block_subs.iter().all(|sub| sub.behind.is_none()) {
            return;
        }
        let subs = std::mem::take(&mut self.block_subs);
        for mut sub in subs {
            match self.replay(&mut sub).await {
                Ok(Delivery::Sent) => self.block_subs.push(sub),
                Ok(Delivery::Gone) => {}
                Err(ChainError::UnknownBlock { hash })
                    if sub.behind.is_some_and(|b| b.hash == hash) =>
                {
                    tracing::warn!(%hash, "chain notifier: block subscriber's best_known is unknown");
                    sub.sink.set_end(StreamEnd::Rejected);
                }
                Err(error) => {
                    tracing::warn!(%error, "chain notifier: block replay failed, will retry");
                    self.block_subs.push(sub);
                }
            }
        }
    }

    /// Replays to one subscriber: disconnects its blocks that left the best chain, then
    /// connects from the fork point to the tip. Progress is kept in `sub.behind`, so a failed
    /// replay resumes where it stopped.
    async fn replay(&self, sub: &mut BlockSub) -> Result<Delivery, ChainError> {
        let Some(mut cursor) = sub.behind else {
            return Ok(Delivery::Sent);
        };
        let tip = self.core.tip();
        // Walk the subscriber's branch back until it meets the core's chain.
        while cursor.height > tip.height || self.chain_hash(cursor.height).await? != cursor.hash {
            let info = self
                .source
                .block_info(cursor.hash)
                .await?
                .ok_or(ChainError::UnknownBlock { hash: cursor.hash })?;
            let parent_height = cursor.height.0.checked_sub(1);
            let (Some(prev), Some(parent_height), true) =
                (info.prev_hash, parent_height, info.height == cursor.height)
            else {
                // A genesis that differs, or a height that does not match the hash: the
                // subscriber's block is not one the backend can place.
                return Err(ChainError::UnknownBlock { hash: cursor.hash });
            };
            if let Delivery::Gone = self.send_block(sub, BlockEvent::Disconnected(cursor)).await {
                return Ok(Delivery::Gone);
            }
            cursor = BlockRef {
                hash: prev,
                height: BlockHeight(parent_height),
            };
            sub.behind = Some(cursor);
        }
        while cursor.height < tip.height {
            let height = BlockHeight(cursor.height.0 + 1);
            let hash = self.chain_hash(height).await?;
            let block = self
                .source
                .block(hash)
                .await?
                .ok_or(ChainError::UnknownBlock { hash })?;
            let event = BlockEvent::Connected {
                block: Arc::new(block),
                height,
            };
            if let Delivery::Gone = self.send_block(sub, event).await {
                return Ok(Delivery::Gone);
            }
            cursor = BlockRef { hash, height };
            sub.behind = Some(cursor);
        }
        sub.behind = None;
        Ok(Delivery::Sent)
    }

    /// Sends one block event to one subscriber.
    async fn send_block(&self, sub: &BlockSub, event: BlockEvent) -> Delivery {
        send(&sub.sink, event, self.config.lag_timeout).await
    }

    /// Sends a live block event to every block subscriber that is caught up.
    async fn deliver_blocks(&mut self, event: &BlockEvent) {
        let lag_timeout = self.config.lag_timeout;
        let mut kept = Vec::with_capacity(self.block_subs.len());
        for sub in std::mem::take(&mut self.block_subs) {
            if sub.behind.is_some() {
                kept.push(sub);
                continue;
            }
            if let Delivery::Sent = send(&sub.sink, event.clone(), lag_timeout).await {
                kept.push(sub);
            }
        }
        self.block_subs = kept;
    }

    /// Delivers the core's notifications in order, forgetting subscribers that are gone.
    async fn deliver(&mut self, notes: Vec<Notification>) {
        let lag_timeout = self.config.lag_timeout;
        for Notification { id, kind } in notes {
            let delivery = match kind {
                NotificationKind::Conf(event) => match self.conf_sinks.get(&id) {
                    Some(sink) => send(sink, event, lag_timeout).await,
                    None => continue,
                },
                NotificationKind::Spend(event) => match self.spend_sinks.get(&id) {
                    Some(sink) => send(sink, event, lag_timeout).await,
                    None => continue,
                },
                NotificationKind::Final => {
                    // The core already forgot the subscription; close its stream.
                    if let Some(sink) = self.conf_sinks.remove(&id) {
                        sink.set_end(StreamEnd::Final);
                    }
                    if let Some(sink) = self.spend_sinks.remove(&id) {
                        sink.set_end(StreamEnd::Final);
                    }
                    continue;
                }
            };
            if let Delivery::Gone = delivery {
                self.conf_sinks.remove(&id);
                self.spend_sinks.remove(&id);
                self.core.cancel(id);
            }
        }
    }

    /// Forgets subscriptions whose receiver was dropped.
    fn sweep(&mut self) {
        let closed: Vec<SubscriptionId> = self
            .conf_sinks
            .iter()
            .filter(|(_, sink)| sink.is_closed())
            .map(|(id, _)| *id)
            .chain(
                self.spend_sinks
                    .iter()
                    .filter(|(_, sink)| sink.is_closed())
                    .map(|(id, _)| *id),
            )
            .collect();
        for id in closed {
            self.conf_sinks.remove(&id);
            self.spend_sinks.remove(&id);
            self.core.cancel(id);
        }
        self.block_subs.retain(|sub| !sub.sink.is_closed());
    }

    /// A fresh subscription id.
    fn new_id(&mut self) -> SubscriptionId {
        self.next_id += 1;
        SubscriptionId(self.next_id)
    }
}

/// Puts `event` in `sink`, waiting at most `lag_timeout` for room; a subscriber that does not
/// make room in time is marked [`StreamEnd::Lagged`] and reported gone.
async fn send<E>(sink: &Sink<E>, event: E, lag_timeout: Duration) -> Delivery {
    match sink.tx.try_send(event) {
        Ok(()) => Delivery::Sent,
        Err(TrySendError::Closed(_)) => Delivery::Gone,
        Err(TrySendError::Full(event)) => match sink.tx.send_timeout(event, lag_timeout).await {
            Ok(()) => Delivery::Sent,
            Err(SendTimeoutError::Timeout(_)) => {
                tracing::warn!("chain notifier: dropping a subscriber that stopped reading");
                sink.set_end(StreamEnd::Lagged);
                Delivery::Gone
            }
            Err(SendTimeoutError::Closed(_)) => Delivery::Gone,
        },
    }
}
