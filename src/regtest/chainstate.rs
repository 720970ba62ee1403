//! The chain state: block tree, stored blocks, UTXO set, transaction index and their
//! persistence, plus block validation and reorganisation (Core's `Chainstate`:
//! `CheckBlock`, `ContextualCheckBlock(Header)`, `ConnectBlock`, `DisconnectBlock`,
//! `ActivateBestChain`, `InvalidateBlock`, `ResetBlockFailureFlags`).
//!
//! Mutations queue [`StoreOp`]s; [`Chainstate::flush`] writes them as one redb transaction.
//! The mempool is not touched here: callers get the connected and disconnected blocks back
//! and update it themselves.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bitcoin::{Block, BlockHash, OutPoint, Transaction, TxOut, Txid};

use super::chain::{BlockIndex, ChainIndex};
use super::params::{self, MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_WEIGHT, MAX_FUTURE_BLOCK_TIME};
use super::reject::BlockReject;
use super::store::{IndexRecord, Loaded, Store, StoreError, StoreOp};
use super::utxo::{BlockUndo, Coin, CoinChange, UtxoSet};
use super::validation::{self, ScriptRules};

/// What a best-chain activation changed.
#[derive(Debug, Default)]
pub(crate) struct Reorg {
    /// Blocks removed from the active chain, tip first.
    pub disconnected: Vec<Arc<Block>>,
    /// Blocks added to the active chain, oldest first.
    pub connected: Vec<Arc<Block>>,
}

/// Where a confirmed transaction is: its block and position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// The block holding it.
    pub block: BlockHash,
    /// Its index in the block.
    pub position: u32,
}

/// The regtest node's chain state.
pub(crate) struct Chainstate {
    /// Block tree and active chain.
    index: ChainIndex,
    /// Every stored block.
    blocks: HashMap<BlockHash, Arc<Block>>,
    /// Undo data of connected blocks.
    undo: HashMap<BlockHash, BlockUndo>,
    /// Unspent outputs of the active chain.
    utxo: UtxoSet,
    /// Active-chain transactions by txid (Core with `-txindex=1`).
    txindex: HashMap<Txid, TxLocation>,
    /// The database.
    store: Store,
    /// Writes not yet flushed.
    pending: Vec<StoreOp>,
}

impl Chainstate {
    /// Loads the chain from `store`, creating the genesis block on an empty database.
    /// Returns the chain state and the saved mempool transactions.
    pub(crate) fn load(store: Store) -> Result<(Chainstate, Vec<Transaction>), StoreError> {
        let Loaded {
            blocks,
            coins,
            tip,
            mempool,
        } = store.load()?;
        let mut state = Chainstate {
            index: ChainIndex::new(),
            blocks: HashMap::new(),
            undo: HashMap::new(),
            utxo: UtxoSet::new(),
            txindex: HashMap::new(),
            store,
            pending: Vec::new(),
        };
        if blocks.is_empty() {
            let genesis = params::genesis();
            let hash = genesis.block_hash();
            let record = IndexRecord {
                height: 0,
                sequence: 0,
                failed: false,
            };
            state
                .pending
                .push(StoreOp::PutBlock(Box::new(genesis.clone()), record));
            state.add_block(Arc::new(genesis), record);
            state.index.push_active(hash);
            state.pending.push(StoreOp::SetTip(hash));
            state.flush()?;
            return Ok((state, mempool));
        }
        for (block, record) in blocks {
            state.add_block(Arc::new(block), record);
        }
        for (outpoint, coin) in coins {
            state.utxo.insert(outpoint, coin);
        }
        let tip = tip.ok_or(StoreError::Corrupt("no tip"))?;
        let mut path = Vec::new();
        let mut cursor = state.index.get(&tip);
        while let Some(entry) = cursor {
            path.push(entry.hash);
            cursor = state.index.get(&entry.header.prev_blockhash);
        }
        for hash in path.into_iter().rev() {
            state.index.push_active(hash);
            state.index_block_txs(&hash, true);
        }
        Ok((state, mempool))
    }

    /// Registers a block in memory and in the tree (no validation, no persistence).
    fn add_block(&mut self, block: Arc<Block>, record: IndexRecord) {
        let n_tx = u32::try_from(block.txdata.len()).unwrap_or(u32::MAX);
        let hash = block.block_hash();
        self.index
            .insert(block.header, n_tx, Some(record.sequence), record.failed);
        self.blocks.insert(hash, block);
    }

    /// Adds or removes a block's transactions in the transaction index.
    fn index_block_txs(&mut self, hash: &BlockHash, add: bool) {
        let Some(block) = self.blocks.get(hash).cloned() else {
            return;
        };
        for (position, tx) in block.txdata.iter().enumerate() {
            let txid = tx.compute_txid();
            if add {
                let position = u32::try_from(position).unwrap_or(u32::MAX);
                self.txindex.insert(
                    txid,
                    TxLocation {
                        block: *hash,
                        position,
                    },
                );
            } else if self.txindex.get(&txid).is_some_and(|l| l.block == *hash) {
                self.txindex.remove(&txid);
            }
        }
    }

    /// Writes queued changes in one database transaction.
    pub(crate) fn flush(&mut self) -> Result<(), StoreError> {
        let ops = std::mem::take(&mut self.pending);
        self.store.apply(&ops)
    }

    /// The database (for mempool saves).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The block tree and active chain.
    pub(crate) fn index(&self) -> &ChainIndex {
        &self.index
    }

    /// The UTXO set.
    pub(crate) fn utxo(&self) -> &UtxoSet {
        &self.utxo
    }

    /// The active tip.
    pub(crate) fn tip(&self) -> &BlockIndex {
        // The active chain always holds at least the genesis block.
        self.index
            .tip()
            .unwrap_or_else(|| unreachable!("active chain is never empty"))
    }

    /// A stored block.
    pub(crate) fn block(&self, hash: &BlockHash) -> Option<&Arc<Block>> {
        self.blocks.get(hash)
    }

    /// Undo data of a connected block (the coins it spent), for fee and prevout display.
    pub(crate) fn block_undo(&self, hash: &BlockHash) -> Option<BlockUndo> {
        if let Some(undo) = self.undo.get(hash) {
            return Some(undo.clone());
        }
        self.store.undo(hash).ok().flatten()
    }

    /// Where an active-chain transaction is.
    pub(crate) fn locate_tx(&self, txid: &Txid) -> Option<TxLocation> {
        self.txindex.get(txid).copied()
    }

    /// Validates a block's transactions against the UTXO set as a child of the active tip
    /// (Core's `ConnectBlock` with `fJustCheck`): inputs, maturity, BIP68, sigops, scripts,
    /// coinbase amount. Nothing changes.
    pub(crate) fn check_connect(&self, block: &Block) -> Result<(), BlockReject> {
        let tip = self.tip();
        let height = tip.height + 1;
        let prev_mtp = i64::from(tip.median_time_past);
        // Outputs created and spent within the block, over the UTXO set.
        let mut overlay: HashMap<OutPoint, Option<Coin>> = HashMap::new();
        let mut fees = bitcoin::Amount::ZERO;
        let mut sigops: u64 = 0;
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            let mut coins = Vec::with_capacity(tx.input.len());
            if !tx.is_coinbase() {
                for input in &tx.input {
                    let coin = match overlay.get(&input.previous_output) {
                        Some(entry) => entry.clone(),
                        None => self.utxo.get(&input.previous_output).cloned(),
                    };
                    let Some(coin) = coin else {
                        return Err(BlockReject::from_tx(&validation::missing_inputs(), &txid));
                    };
                    coins.push(coin);
                }
                let fee = validation::check_tx_inputs(tx, &coins, height)
                    .map_err(|r| BlockReject::from_tx(&r, &txid))?;
                fees += fee;
                let prev_heights: Vec<u32> = coins.iter().map(|c| c.height).collect();
                let locks = validation::sequence_locks(tx, &prev_heights, |h| {
                    self.index
                        .at(h)
                        .map_or(0, |e| i64::from(e.median_time_past))
                });
                if !validation::sequence_locks_met(locks, height, prev_mtp) {
                    return Err(BlockReject::new(
                        "bad-txns-nonfinal",
                        format!("contains a non-BIP68-final transaction {txid}"),
                    ));
                }
            }
            let spent: Vec<TxOut> = coins.iter().map(|c| c.output.clone()).collect();
            sigops += validation::sigop_cost(tx, &spent);
            if sigops > MAX_BLOCK_SIGOPS_COST {
                return Err(BlockReject::new("bad-blk-sigops", "too many sigops"));
            }
            if !tx.is_coinbase() {
                validation::verify_scripts(tx, &spent, ScriptRules::Consensus)
                    .map_err(|r| BlockReject::new(r.reason, r.details))?;
                for input in &tx.input {
                    overlay.insert(input.previous_output, None);
                }
            }
            for (vout, output) in tx.output.iter().enumerate() {
                let Ok(vout) = u32::try_from(vout) else {
                    continue;
                };
                let coin = Coin {
                    output: output.clone(),
                    height,
                    is_coinbase: tx.is_coinbase(),
                };
                overlay.insert(OutPoint { txid, vout }, Some(coin));
            }
        }
        let reward = params::block_subsidy(height) + fees;
        let paid: bitcoin::Amount = block.txdata[0].output.iter().map(|o| o.value).sum();
        if paid > reward {
            return Err(BlockReject::new(
                "bad-cb-amount",
                format!(
                    "coinbase pays too much (actual={} vs limit={})",
                    paid.to_sat(),
                    reward.to_sat()
                ),
            ));
        }
        Ok(())
    }

    /// Stores a new block whose parent is known (no validation beyond the parent's
    /// existence). Returns its hash.
    pub(crate) fn store_block(&mut self, block: Block) -> Option<BlockHash> {
        let hash = block.block_hash();
        if self.index.get(&hash).is_some() {
            return Some(hash);
        }
        let n_tx = u32::try_from(block.txdata.len()).unwrap_or(u32::MAX);
        let entry = self.index.insert(block.header, n_tx, None, false)?;
        let record = IndexRecord {
            height: entry.height,
            sequence: entry.sequence,
            failed: false,
        };
        let block = Arc::new(block);
        self.pending
            .push(StoreOp::PutBlock(Box::new((*block).clone()), record));
        self.blocks.insert(hash, block);
        Some(hash)
    }

    /// Validates a new child of the tip, stores it and connects it: the common case of
    /// mining, with no scan of the block tree.
    pub(crate) fn connect_new_tip(
        &mut self,
        block: Block,
        now: u64,
    ) -> Result<Arc<Block>, BlockReject> {
        let tip = self.tip().clone();
        check_block(&block, &tip, now)?;
        self.check_connect(&block)?;
        let hash = self
            .store_block(block)
            .ok_or_else(|| BlockReject::new("prev-blk-not-found", ""))?;
        self.connect_tip(&hash)
            .ok_or_else(|| BlockReject::new("prev-blk-not-found", ""))
    }

    /// Connects a child of the tip, assumed validated by [`Chainstate::check_connect`].
    fn connect_tip(&mut self, hash: &BlockHash) -> Option<Arc<Block>> {
        let block = self.blocks.get(hash)?.clone();
        let height = u32::try_from(self.index.height() + 1).ok()?;
        let (undo, changes) = self.utxo.connect_block(&block, height);
        self.queue_coin_changes(changes);
        self.pending.push(StoreOp::PutUndo(*hash, undo.clone()));
        self.undo.insert(*hash, undo);
        self.index.push_active(*hash);
        self.index_block_txs(hash, true);
        self.pending.push(StoreOp::SetTip(*hash));
        Some(block)
    }

    /// Disconnects the tip (never the genesis block).
    fn disconnect_tip(&mut self) -> Result<Option<Arc<Block>>, StoreError> {
        let tip = self.tip().clone();
        if tip.height == 0 {
            return Ok(None);
        }
        let Some(block) = self.blocks.get(&tip.hash).cloned() else {
            return Ok(None);
        };
        let undo = if let Some(u) = self.undo.remove(&tip.hash) {
            u
        } else {
            self.flush()?;
            self.store
                .undo(&tip.hash)?
                .ok_or(StoreError::Corrupt("missing undo data"))?
        };
        let changes = self.utxo.disconnect_block(&block, &undo);
        self.queue_coin_changes(changes);
        self.pending.push(StoreOp::DeleteUndo(tip.hash));
        self.index_block_txs(&tip.hash, false);
        self.index.pop_active();
        self.pending
            .push(StoreOp::SetTip(tip.header.prev_blockhash));
        Ok(Some(block))
    }

    fn queue_coin_changes(&mut self, changes: Vec<CoinChange>) {
        for change in changes {
            self.pending.push(match change {
                CoinChange::Add(outpoint, coin) => StoreOp::PutCoin(outpoint, coin),
                CoinChange::Spend(outpoint) => StoreOp::DeleteCoin(outpoint),
            });
        }
    }

    fn mark_failed(&mut self, hash: &BlockHash) {
        self.index.set_failed(hash, true);
        self.persist_index(hash);
    }

    fn persist_index(&mut self, hash: &BlockHash) {
        if let Some(e) = self.index.get(hash) {
            let record = IndexRecord {
                height: e.height,
                sequence: e.sequence,
                failed: e.failed,
            };
            self.pending.push(StoreOp::PutIndex(*hash, record));
        }
    }

    /// Moves the active chain to the valid block with most work, validating each block it
    /// connects; a block that fails is marked invalid and the search repeats (Core's
    /// `ActivateBestChain`). `now` bounds future block times.
    pub(crate) fn activate_best_chain(&mut self, now: u64) -> Result<Reorg, StoreError> {
        let mut reorg = Reorg::default();
        while let Some(best) = self.index.best_candidate() {
            let tip = self.tip().clone();
            let best_entry = self.index.get(&best).cloned();
            let Some(best_entry) = best_entry else { break };
            if best == tip.hash || best_entry.chainwork <= tip.chainwork {
                break;
            }
            let fork = self.index.fork_point(&best).map(|e| e.hash);
            while Some(self.tip().hash) != fork {
                match self.disconnect_tip()? {
                    Some(block) => reorg.disconnected.push(block),
                    None => break,
                }
            }
            for hash in self.index.branch_to(&best) {
                let Some(block) = self.blocks.get(&hash).cloned() else {
                    break;
                };
                let prev = self.tip().clone();
                let valid =
                    check_block(&block, &prev, now).and_then(|()| self.check_connect(&block));
                if valid.is_err() {
                    self.mark_failed(&hash);
                    break;
                }
                if let Some(block) = self.connect_tip(&hash) {
                    reorg.connected.push(block);
                }
            }
        }
        Ok(reorg)
    }

    /// Marks `hash` invalid and disconnects it (and its descendants) from the active chain
    /// (Core's `InvalidateBlock`), then activates the best remaining chain.
    pub(crate) fn invalidate(&mut self, hash: &BlockHash, now: u64) -> Result<Reorg, StoreError> {
        let mut reorg = Reorg::default();
        if self.index.contains(hash) {
            while self.index.contains(hash) {
                match self.disconnect_tip()? {
                    Some(block) => reorg.disconnected.push(block),
                    None => break,
                }
            }
        }
        self.mark_failed(hash);
        let more = self.activate_best_chain(now)?;
        reorg.disconnected.extend(more.disconnected);
        reorg.connected.extend(more.connected);
        Ok(reorg)
    }

    /// Clears the invalid marks of `hash`, its ancestors and descendants, then activates the
    /// best chain (Core's `ReconsiderBlock`).
    pub(crate) fn reconsider(&mut self, hash: &BlockHash, now: u64) -> Result<Reorg, StoreError> {
        for changed in self.index.reset_failure(hash) {
            self.persist_index(&changed);
        }
        self.activate_best_chain(now)
    }
}

/// Context-free and contextual checks of a block on top of `prev` (Core's `CheckBlock`,
/// `ContextualCheckBlockHeader`, `ContextualCheckBlock`). `now` bounds future times.
pub(crate) fn check_block(block: &Block, prev: &BlockIndex, now: u64) -> Result<(), BlockReject> {
    let height = prev.height + 1;
    let header = &block.header;
    if header.bits != params::pow_limit_bits() {
        return Err(BlockReject::new("bad-diffbits", "incorrect proof of work"));
    }
    if !header.target().is_met_by(block.block_hash()) {
        return Err(BlockReject::new("high-hash", "proof of work failed"));
    }
    if header.time <= prev.median_time_past {
        return Err(BlockReject::new(
            "time-too-old",
            "block's timestamp is too early",
        ));
    }
    if i64::from(header.time) > i64::try_from(now).unwrap_or(i64::MAX) + MAX_FUTURE_BLOCK_TIME {
        return Err(BlockReject::new(
            "time-too-new",
            "block timestamp too far in the future",
        ));
    }
    let version = header.version.to_consensus();
    if version < 4 {
        return Err(BlockReject::new(
            format!("bad-version(0x{version:08x})"),
            format!("rejected nVersion=0x{version:08x} block"),
        ));
    }
    if !block.check_merkle_root() {
        return Err(BlockReject::new(
            "bad-txnmrklroot",
            "hashMerkleRoot mismatch",
        ));
    }
    let mut txids = HashSet::with_capacity(block.txdata.len());
    if !block
        .txdata
        .iter()
        .all(|tx| txids.insert(tx.compute_txid()))
    {
        return Err(BlockReject::new(
            "bad-txns-duplicate",
            "duplicate transaction",
        ));
    }
    if block.txdata.is_empty()
        || (super::render::stripped_size(block) as u64) * 4 > MAX_BLOCK_WEIGHT
    {
        return Err(BlockReject::new("bad-blk-length", "size limits failed"));
    }
    if !block.txdata[0].is_coinbase() {
        return Err(BlockReject::new(
            "bad-cb-missing",
            "first tx is not coinbase",
        ));
    }
    if block.txdata.iter().skip(1).any(Transaction::is_coinbase) {
        return Err(BlockReject::new(
            "bad-cb-multiple",
            "more than one coinbase",
        ));
    }
    for tx in &block.txdata {
        if let Err(reject) = validation::check_transaction(tx) {
            return Err(BlockReject::new(
                reject.reason,
                format!("Transaction check failed (tx hash {}) ", tx.compute_txid()),
            ));
        }
    }
    let legacy: usize = block
        .txdata
        .iter()
        .map(|tx| {
            tx.input
                .iter()
                .map(|i| i.script_sig.count_sigops_legacy())
                .sum::<usize>()
                + tx.output
                    .iter()
                    .map(|o| o.script_pubkey.count_sigops_legacy())
                    .sum::<usize>()
        })
        .sum();
    if (legacy as u64) * 4 > MAX_BLOCK_SIGOPS_COST {
        return Err(BlockReject::new(
            "bad-blk-sigops",
            "out-of-bounds SigOpCount",
        ));
    }
    let lock_time_cutoff = i64::from(prev.median_time_past);
    for tx in &block.txdata {
        if !validation::is_final_tx(tx, i64::from(height), lock_time_cutoff) {
            return Err(BlockReject::new(
                "bad-txns-nonfinal",
                "non-final transaction",
            ));
        }
    }
    let expected = bitcoin::blockdata::script::Builder::new()
        .push_int(i64::from(height))
        .into_script();
    if !block.txdata[0].input[0]
        .script_sig
        .as_bytes()
        .starts_with(expected.as_bytes())
    {
        return Err(BlockReject::new(
            "bad-cb-height",
            "block height mismatch in coinbase",
        ));
    }
    check_witness_commitment(block)?;
    if block.weight().to_wu() > MAX_BLOCK_WEIGHT {
        return Err(BlockReject::new(
            "bad-blk-weight",
            "ContextualCheckBlock : weight limit failed",
        ));
    }
    Ok(())
}

/// BIP141 witness commitment rules (`ContextualCheckBlock`).
fn check_witness_commitment(block: &Block) -> Result<(), BlockReject> {
    const MAGIC: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    let coinbase = &block.txdata[0];
    let commitment_pos = coinbase
        .output
        .iter()
        .rposition(|o| o.script_pubkey.len() >= 38 && o.script_pubkey.as_bytes()[..6] == MAGIC);
    if let Some(pos) = commitment_pos {
        let witness = &coinbase.input[0].witness;
        if witness.len() != 1 || witness.nth(0).map(<[u8]>::len) != Some(32) {
            return Err(BlockReject::new(
                "bad-witness-nonce-size",
                "CheckWitnessMalleation : invalid witness reserved value size",
            ));
        }
        let reserved = witness.nth(0).unwrap_or_default();
        let Some(root) = block.witness_root() else {
            return Err(BlockReject::new(
                "bad-witness-merkle-match",
                "witness merkle commitment mismatch",
            ));
        };
        let expected = Block::compute_witness_commitment(&root, reserved);
        let found = &coinbase.output[pos].script_pubkey.as_bytes()[6..38];
        if found != bitcoin::hashes::Hash::as_byte_array(&expected).as_slice() {
            return Err(BlockReject::new(
                "bad-witness-merkle-match",
                "CheckWitnessMalleation : witness merkle commitment mismatch",
            ));
        }
        return Ok(());
    }
    if block
        .txdata
        .iter()
        .any(|tx| tx.input.iter().any(|i| !i.witness.is_empty()))
    {
        return Err(BlockReject::new(
            "unexpected-witness",
            "CheckWitnessMalleation : unexpected witness data found",
        ));
    }
    Ok(())
}
