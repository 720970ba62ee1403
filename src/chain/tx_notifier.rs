//! [`TxNotifier`]: the backend-free core of the chain notifier. It matches blocks against
//! registrations and undoes what reorgs take back; it does no IO.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use bitcoin::hashes::Hash as _;
use bitcoin::{Block, BlockHash, OutPoint, Script, ScriptBuf, Transaction, Txid};

use super::event::{ConfEvent, Confirmation, SpendDetails, SpendEvent};
use super::{BlockRef, ChainError};
use crate::units::BlockHeight;

/// Names one subscription inside the notifier; chosen by the caller, unique among live ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// A request to follow a transaction's confirmations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfRequest {
    /// The transaction to watch.
    pub txid: Txid,
    /// One of its output scripts, whose index is reported in [`Confirmation::output_index`].
    pub script: ScriptBuf,
    /// The depth the subscriber waits for; the stream lasts at least until it is reached.
    pub num_confs: u32,
    /// The lowest height at which the transaction can be in a block.
    pub height_hint: BlockHeight,
}

/// A request to learn when an outpoint is spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendRequest {
    /// The outpoint to watch.
    pub outpoint: OutPoint,
    /// Its output script (for script-matching backends; unused by block scanning).
    pub script: ScriptBuf,
    /// The lowest height at which the spend can be in a block.
    pub height_hint: BlockHeight,
}

/// An event the shell must deliver to one subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The subscription to deliver to.
    pub id: SubscriptionId,
    /// What to deliver.
    pub kind: NotificationKind,
}

/// The payload of a [`Notification`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotificationKind {
    /// An event for a confirmation subscription.
    Conf(ConfEvent),
    /// An event for a spend subscription.
    Spend(SpendEvent),
    /// The subscription is complete (its outcome is deeper than the reorg-safety depth): close
    /// its stream. The core has already forgotten it.
    Final,
}

/// One confirmation subscriber.
#[derive(Debug)]
struct ConfSub {
    /// Who to tell.
    id: SubscriptionId,
    /// The script whose output index it wants.
    script: ScriptBuf,
    /// Its depth target.
    num_confs: u32,
}

/// Where a watched transaction was found.
#[derive(Debug, Clone)]
struct Inclusion {
    /// The including block.
    block: BlockRef,
    /// Position in the block.
    tx_index: u32,
    /// The transaction.
    tx: Arc<Transaction>,
}

/// Everything watched about one txid.
#[derive(Debug, Default)]
struct ConfTarget {
    /// Subscribers, in registration order.
    subs: Vec<ConfSub>,
    /// Where it is in the current best chain, if anywhere.
    inclusion: Option<Inclusion>,
}

/// Everything watched about one outpoint.
#[derive(Debug, Default)]
struct SpendTarget {
    /// Subscribers, in registration order.
    subs: Vec<SubscriptionId>,
    /// The spend in the current best chain, if any.
    spend: Option<SpendDetails>,
}

/// What a subscription watches, to find it again on cancellation.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// A confirmation subscription.
    Conf(Txid),
    /// A spend subscription.
    Spend(OutPoint),
}

/// The chain notifier's core: a model of the best chain's last blocks plus the registrations,
/// with no IO.
///
/// Calling contract (the shell, [`ChainNotifier`](super::ChainNotifier), follows it):
///
/// 1. Create it at the backend's tip with [`TxNotifier::new`].
/// 2. Register with [`TxNotifier::register_confirmations`] / [`TxNotifier::register_spend`];
///    both return the notifications already known (a target confirmed in a block the core
///    has seen).
/// 3. If [`TxNotifier::pending_rescan`] returns a height, feed every best-chain block from
///    there to the tip, in order, to [`TxNotifier::rescan_block`], then call
///    [`TxNotifier::finish_rescan`]. This finds what happened before the registrations.
/// 4. For every change of the best chain, call [`TxNotifier::disconnect_tip`] for each block
///    leaving it (tip first), then [`TxNotifier::connect_tip`] for each block joining it
///    (lowest first).
/// 5. Deliver every returned [`Notification`] in order; when a subscriber is gone, call
///    [`TxNotifier::cancel`].
///
/// Cost: connecting a block costs one hash-map lookup per transaction and per input (plus the
/// txid computation), independent of the number of registrations; then one update per
/// subscriber of a transaction confirmed in the last blocks.
///
/// Reorgs: the core remembers the hashes of the last `reorg_safety_depth + 1` blocks, so it
/// can disconnect up to `reorg_safety_depth` blocks; a subscription ends
/// ([`NotificationKind::Final`]) once its outcome is buried deeper than that.
#[derive(Debug)]
pub struct TxNotifier {
    /// The deepest reorg (in blocks disconnected) the core can undo.
    reorg_safety_depth: u32,
    /// Height of the tip.
    tip_height: BlockHeight,
    /// Hashes of the last blocks, oldest first; the last one is the tip.
    recent: VecDeque<BlockHash>,
    /// Watched transactions.
    confs: HashMap<Txid, ConfTarget>,
    /// Watched outpoints.
    spends: HashMap<OutPoint, SpendTarget>,
    /// Watched transactions that are confirmed, by the height of their block.
    confirmed_at: BTreeMap<BlockHeight, Vec<Txid>>,
    /// Watched outpoints that are spent, by the height of the spending block.
    spent_at: BTreeMap<BlockHeight, Vec<OutPoint>>,
    /// Every live subscription and what it watches.
    subs: HashMap<SubscriptionId, Target>,
    /// Lowest height hint among registrations not yet checked against past blocks.
    rescan_from: Option<BlockHeight>,
}

impl TxNotifier {
    /// A core whose best chain ends at `tip`. `reorg_safety_depth` is clamped to at least 1.
    pub fn new(tip: BlockRef, reorg_safety_depth: u32) -> TxNotifier {
        let mut recent = VecDeque::new();
        recent.push_back(tip.hash);
        TxNotifier {
            reorg_safety_depth: reorg_safety_depth.max(1),
            tip_height: tip.height,
            recent,
            confs: HashMap::new(),
            spends: HashMap::new(),
            confirmed_at: BTreeMap::new(),
            spent_at: BTreeMap::new(),
            subs: HashMap::new(),
            rescan_from: None,
        }
    }

    /// The tip of the core's best chain.
    pub fn tip(&self) -> BlockRef {
        BlockRef {
            hash: self
                .recent
                .back()
                .copied()
                .unwrap_or_else(BlockHash::all_zeros),
            height: self.tip_height,
        }
    }

    /// The deepest reorg the core can undo, in blocks.
    pub fn reorg_safety_depth(&self) -> u32 {
        self.reorg_safety_depth
    }

    /// The hash of the best-chain block at `height`, if it is among the blocks the core
    /// remembers (the last `reorg_safety_depth + 1`).
    pub fn hash_at(&self, height: BlockHeight) -> Option<BlockHash> {
        let below_tip = self.tip_height.0.checked_sub(height.0)?;
        let below_tip = usize::try_from(below_tip).ok()?;
        let index = self.recent.len().checked_sub(1)?.checked_sub(below_tip)?;
        self.recent.get(index).copied()
    }

    /// The number of live subscriptions.
    pub fn subscriptions(&self) -> usize {
        self.subs.len()
    }

    /// The number of distinct transactions and outpoints watched.
    pub fn targets(&self) -> (usize, usize) {
        (self.confs.len(), self.spends.len())
    }

    /// Registers subscription `id` for the confirmations of `request.txid`.
    ///
    /// Returns what is already known: if the core has seen the transaction in a block, a
    /// [`ConfEvent::Confirmed`] with its current depth (and [`NotificationKind::Final`] if
    /// that depth already completes the subscription). If the height hint is at or below the
    /// tip and the transaction is not known to be confirmed, a rescan becomes pending.
    pub fn register_confirmations(
        &mut self,
        id: SubscriptionId,
        request: &ConfRequest,
    ) -> Result<Vec<Notification>, ChainError> {
        if request.num_confs == 0 {
            return Err(ChainError::InvalidRegistration {
                reason: "num_confs must be at least 1",
            });
        }
        self.claim_id(id, Target::Conf(request.txid))?;
        let sub = ConfSub {
            id,
            script: request.script.clone(),
            num_confs: request.num_confs,
        };
        let mut out = Vec::new();
        // A target only keeps an inclusion while it has subscribers, so joining one that is
        // confirmed never leaves an empty target behind.
        let known = self
            .confs
            .get(&request.txid)
            .and_then(|target| target.inclusion.clone());
        if let Some(inclusion) = known {
            let depth = depth(self.tip_height, inclusion.block.height);
            let safety = self.reorg_safety_depth;
            if !notify_conf(
                &sub,
                &inclusion,
                depth,
                safety,
                ConfEvent::Confirmed,
                &mut out,
            ) {
                self.subs.remove(&id);
                return Ok(out);
            }
        } else {
            self.want_rescan(request.height_hint);
        }
        self.confs.entry(request.txid).or_default().subs.push(sub);
        Ok(out)
    }

    /// Registers subscription `id` for the spend of `request.outpoint`.
    ///
    /// Returns what is already known: a [`SpendEvent::Spent`] if the core has seen the spend
    /// (plus [`NotificationKind::Final`] if it is already deeper than the reorg-safety depth).
    /// Otherwise, if the height hint is at or below the tip, a rescan becomes pending.
    pub fn register_spend(
        &mut self,
        id: SubscriptionId,
        request: &SpendRequest,
    ) -> Result<Vec<Notification>, ChainError> {
        self.claim_id(id, Target::Spend(request.outpoint))?;
        let mut out = Vec::new();
        let known = self
            .spends
            .get(&request.outpoint)
            .and_then(|target| target.spend.clone());
        if let Some(spend) = known {
            let deep = depth(self.tip_height, spend.block.height) > self.reorg_safety_depth;
            out.push(Notification {
                id,
                kind: NotificationKind::Spend(SpendEvent::Spent(spend)),
            });
            if deep {
                out.push(final_for(id));
                self.subs.remove(&id);
                return Ok(out);
            }
        } else {
            self.want_rescan(request.height_hint);
        }
        self.spends
            .entry(request.outpoint)
            .or_default()
            .subs
            .push(id);
        Ok(out)
    }

    /// Forgets subscription `id` (its receiver was dropped). Unknown ids are ignored.
    pub fn cancel(&mut self, id: SubscriptionId) {
        match self.subs.remove(&id) {
            Some(Target::Conf(txid)) => {
                if let Some(target) = self.confs.get_mut(&txid) {
                    target.subs.retain(|sub| sub.id != id);
                    if target.subs.is_empty() {
                        self.drop_conf_target(txid);
                    }
                }
            }
            Some(Target::Spend(outpoint)) => {
                if let Some(target) = self.spends.get_mut(&outpoint) {
                    target.subs.retain(|sub| *sub != id);
                    if target.subs.is_empty() {
                        self.drop_spend_target(outpoint);
                    }
                }
            }
            None => {}
        }
    }

    /// The height from which past blocks must be fed to [`TxNotifier::rescan_block`], if any
    /// registration asks for history. The rescan runs from there to the tip.
    pub fn pending_rescan(&self) -> Option<BlockHeight> {
        self.rescan_from.filter(|from| *from <= self.tip_height)
    }

    /// Scans a past block of the best chain, at or below the tip, for any watched
    /// transaction or outpoint not yet known to be confirmed or spent. Blocks are fed in
    /// height order; feeding a block twice is harmless.
    ///
    /// Fails with [`ChainError::RescanMismatch`] if `height` is above the tip or the core
    /// remembers a different block at that height (the caller raced a reorg and must retry).
    pub fn rescan_block(
        &mut self,
        block: &Block,
        height: BlockHeight,
    ) -> Result<Vec<Notification>, ChainError> {
        let hash = block.block_hash();
        if height > self.tip_height || self.hash_at(height).is_some_and(|known| known != hash) {
            return Err(ChainError::RescanMismatch { height });
        }
        let mut out = Vec::new();
        self.scan(block, BlockRef { hash, height }, &mut out);
        self.finish_deep(&mut out);
        Ok(out)
    }

    /// Marks the pending rescan as done (every block from [`TxNotifier::pending_rescan`] to
    /// the tip went through [`TxNotifier::rescan_block`]).
    pub fn finish_rescan(&mut self) {
        self.rescan_from = None;
    }

    /// Connects `block` as the new tip at `height` (the tip's height + 1; the block must build
    /// on the tip) and returns the notifications it causes: new confirmations and spends,
    /// one more confirmation for each watched transaction already confirmed, and the end of
    /// subscriptions now buried deep enough.
    pub fn connect_tip(
        &mut self,
        block: &Block,
        height: BlockHeight,
    ) -> Result<Vec<Notification>, ChainError> {
        let expected = BlockHeight(self.tip_height.0.saturating_add(1));
        if height != expected {
            return Err(ChainError::UnexpectedHeight {
                got: height,
                expected,
            });
        }
        let hash = block.block_hash();
        let tip = self.tip().hash;
        if block.header.prev_blockhash != tip {
            return Err(ChainError::BlockDoesNotConnect { hash, tip });
        }
        self.recent.push_back(hash);
        let keep = usize::try_from(self.reorg_safety_depth)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        while self.recent.len() > keep {
            self.recent.pop_front();
        }
        self.tip_height = height;

        let mut out = Vec::new();
        self.scan(block, BlockRef { hash, height }, &mut out);
        self.report_depths(height, false, &mut out);
        self.finish_deep(&mut out);
        Ok(out)
    }

    /// Disconnects the tip at `height` (it must be the tip's height) and returns a
    /// `ReorgedOut` for every subscriber of a transaction or spend it contained, and the new,
    /// lower depth of every watched transaction confirmed below it.
    ///
    /// Fails with [`ChainError::ReorgTooDeep`] when the core no longer remembers the parent,
    /// i.e. the reorg goes deeper than `reorg_safety_depth`.
    pub fn disconnect_tip(&mut self, height: BlockHeight) -> Result<Vec<Notification>, ChainError> {
        if height != self.tip_height {
            return Err(ChainError::UnexpectedHeight {
                got: height,
                expected: self.tip_height,
            });
        }
        if self.recent.len() < 2 || height.0 == 0 {
            return Err(ChainError::ReorgTooDeep {
                limit: self.reorg_safety_depth,
            });
        }
        let hash = self.recent.pop_back().unwrap_or_else(BlockHash::all_zeros);
        self.tip_height = BlockHeight(height.0 - 1);
        let block = BlockRef { hash, height };

        let mut out = Vec::new();
        for txid in self.confirmed_at.remove(&height).unwrap_or_default() {
            if let Some(target) = self.confs.get_mut(&txid) {
                target.inclusion = None;
                for sub in &target.subs {
                    out.push(Notification {
                        id: sub.id,
                        kind: NotificationKind::Conf(ConfEvent::ReorgedOut { block }),
                    });
                }
            }
        }
        // Transactions confirmed below the disconnected block are one confirmation shallower.
        self.report_depths(self.tip_height, true, &mut out);
        for outpoint in self.spent_at.remove(&height).unwrap_or_default() {
            if let Some(target) = self.spends.get_mut(&outpoint) {
                target.spend = None;
                for id in &target.subs {
                    out.push(Notification {
                        id: *id,
                        kind: NotificationKind::Spend(SpendEvent::ReorgedOut { block }),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Matches one block of the best chain at `at` against every watched transaction and
    /// outpoint not yet confirmed or spent: one lookup per transaction and per input.
    fn scan(&mut self, block: &Block, at: BlockRef, out: &mut Vec<Notification>) {
        let tip_height = self.tip_height;
        let safety = self.reorg_safety_depth;
        let Self {
            confs,
            spends,
            confirmed_at,
            spent_at,
            subs,
            ..
        } = self;
        let mut finished: Vec<Txid> = Vec::new();
        for (index, tx) in block.txdata.iter().enumerate() {
            let Ok(tx_index) = u32::try_from(index) else {
                break;
            };
            let mut shared: Option<(Arc<Transaction>, Txid)> = None;
            if !spends.is_empty() && !tx.is_coinbase() {
                for (input_index, input) in tx.input.iter().enumerate() {
                    let Some(target) = spends.get_mut(&input.previous_output) else {
                        continue;
                    };
                    if target.spend.is_some() {
                        continue;
                    }
                    let Ok(input_index) = u32::try_from(input_index) else {
                        continue;
                    };
                    let (spending_tx, spending_txid) = shared
                        .get_or_insert_with(|| (Arc::new(tx.clone()), tx.compute_txid()))
                        .clone();
                    let details = SpendDetails {
                        outpoint: input.previous_output,
                        spending_tx,
                        spending_txid,
                        input_index,
                        block: at,
                    };
                    for id in &target.subs {
                        out.push(Notification {
                            id: *id,
                            kind: NotificationKind::Spend(SpendEvent::Spent(details.clone())),
                        });
                    }
                    target.spend = Some(details);
                    spent_at
                        .entry(at.height)
                        .or_default()
                        .push(input.previous_output);
                }
            }
            if confs.is_empty() {
                continue;
            }
            let txid = match &shared {
                Some((_, txid)) => *txid,
                None => tx.compute_txid(),
            };
            let Some(target) = confs.get_mut(&txid) else {
                continue;
            };
            if target.inclusion.is_some() {
                continue;
            }
            let tx = match shared {
                Some((tx, _)) => tx,
                None => Arc::new(tx.clone()),
            };
            let inclusion = Inclusion {
                block: at,
                tx_index,
                tx,
            };
            let depth = depth(tip_height, at.height);
            target.subs.retain(|sub| {
                let stays = notify_conf(sub, &inclusion, depth, safety, ConfEvent::Confirmed, out);
                if !stays {
                    subs.remove(&sub.id);
                }
                stays
            });
            if target.subs.is_empty() {
                finished.push(txid);
            } else {
                target.inclusion = Some(inclusion);
                confirmed_at.entry(at.height).or_default().push(txid);
            }
        }
        for txid in finished {
            confs.remove(&txid);
        }
    }

    /// Tells every subscriber of a confirmed transaction its depth under the tip at
    /// `tip_height`, and ends those that reached their limit. The tip's own block is included
    /// only when `including_tip` (after a disconnect; after a connect its transactions were
    /// just reported as `Confirmed`).
    fn report_depths(
        &mut self,
        tip_height: BlockHeight,
        including_tip: bool,
        out: &mut Vec<Notification>,
    ) {
        let range = if including_tip {
            self.confirmed_at.range(..=tip_height)
        } else {
            self.confirmed_at.range(..tip_height)
        };
        let safety = self.reorg_safety_depth;
        let mut emptied: Vec<Txid> = Vec::new();
        for (height, txids) in range {
            let depth = depth(tip_height, *height);
            for txid in txids {
                let Some(target) = self.confs.get_mut(txid) else {
                    continue;
                };
                let Some(inclusion) = &target.inclusion else {
                    continue;
                };
                let subs = &mut self.subs;
                target.subs.retain(|sub| {
                    let stays = notify_conf(sub, inclusion, depth, safety, ConfEvent::Depth, out);
                    if !stays {
                        subs.remove(&sub.id);
                    }
                    stays
                });
                if target.subs.is_empty() {
                    emptied.push(*txid);
                }
            }
        }
        for txid in emptied {
            self.drop_conf_target(txid);
        }
    }

    /// Ends every spend subscription whose spend is now deeper than the reorg-safety depth.
    fn finish_deep(&mut self, out: &mut Vec<Notification>) {
        while let Some((&height, _)) = self.spent_at.first_key_value() {
            if depth(self.tip_height, height) <= self.reorg_safety_depth {
                break;
            }
            for outpoint in self.spent_at.remove(&height).unwrap_or_default() {
                if let Some(target) = self.spends.remove(&outpoint) {
                    for id in target.subs {
                        self.subs.remove(&id);
                        out.push(final_for(id));
                    }
                }
            }
        }
    }

    /// Records that subscription `id` watches `target`; ids must be unique.
    fn claim_id(&mut self, id: SubscriptionId, target: Target) -> Result<(), ChainError> {
        if self.subs.contains_key(&id) {
            return Err(ChainError::InvalidRegistration {
                reason: "subscription id already in use",
            });
        }
        self.subs.insert(id, target);
        Ok(())
    }

    /// Lowers the pending rescan to `height_hint` if it is at or below the tip.
    fn want_rescan(&mut self, height_hint: BlockHeight) {
        if height_hint <= self.tip_height {
            self.rescan_from = Some(self.rescan_from.map_or(height_hint, |h| h.min(height_hint)));
        }
    }

    /// Forgets a watched transaction and its place in `confirmed_at`.
    fn drop_conf_target(&mut self, txid: Txid) {
        let Some(target) = self.confs.remove(&txid) else {
            return;
        };
        if let Some(inclusion) = target.inclusion {
            remove_from(&mut self.confirmed_at, inclusion.block.height, &txid);
        }
    }

    /// Forgets a watched outpoint and its place in `spent_at`.
    fn drop_spend_target(&mut self, outpoint: OutPoint) {
        let Some(target) = self.spends.remove(&outpoint) else {
            return;
        };
        if let Some(spend) = target.spend {
            remove_from(&mut self.spent_at, spend.block.height, &outpoint);
        }
    }
}

/// Removes `item` from the list at `height`, and the list if it empties.
fn remove_from<T: PartialEq>(
    index: &mut BTreeMap<BlockHeight, Vec<T>>,
    height: BlockHeight,
    item: &T,
) {
    if let Some(items) = index.get_mut(&height) {
        items.retain(|x| x != item);
        if items.is_empty() {
            index.remove(&height);
        }
    }
}

/// Tells `sub` where its transaction stands (`make`: `Confirmed` when first found, `Depth`
/// after each block) and, once the depth reaches its limit, that nothing more will come.
/// Returns whether the subscription stays.
fn notify_conf(
    sub: &ConfSub,
    inclusion: &Inclusion,
    depth: u32,
    safety: u32,
    make: fn(Confirmation) -> ConfEvent,
    out: &mut Vec<Notification>,
) -> bool {
    out.push(Notification {
        id: sub.id,
        kind: NotificationKind::Conf(make(confirmation(inclusion, &sub.script, depth))),
    });
    if depth >= conf_limit(sub, safety) {
        out.push(final_for(sub.id));
        false
    } else {
        true
    }
}

/// Confirmations of a block at `height` when the tip is at `tip` (`tip >= height`).
fn depth(tip: BlockHeight, height: BlockHeight) -> u32 {
    tip.0.saturating_sub(height.0).saturating_add(1)
}

/// The depth at which a confirmation subscription is complete: its own target, and deeper
/// than any reorg the core can undo.
fn conf_limit(sub: &ConfSub, safety: u32) -> u32 {
    sub.num_confs.max(safety.saturating_add(1))
}

/// A subscriber's view of an inclusion at `depth`.
fn confirmation(inclusion: &Inclusion, script: &Script, depth: u32) -> Confirmation {
    Confirmation {
        block: inclusion.block,
        tx_index: inclusion.tx_index,
        tx: Arc::clone(&inclusion.tx),
        output_index: output_index(&inclusion.tx, script),
        confirmations: depth,
    }
}

/// The index of the first output of `tx` paying to `script`.
fn output_index(tx: &Transaction, script: &Script) -> Option<u32> {
    tx.output
        .iter()
        .position(|out| out.script_pubkey.as_script() == script)
        .and_then(|i| u32::try_from(i).ok())
}

/// The end-of-stream notification for `id`.
fn final_for(id: SubscriptionId) -> Notification {
    Notification {
        id,
        kind: NotificationKind::Final,
    }
}

#[cfg(test)]
mod tests;
