//! The embedded regtest chain: Petrel's default chain backend for development, tests and
//! scenarios, as strict as Bitcoin Core's regtest where it matters to a Lightning node.
//!
//! A real chain: blocks with regtest proof of work (nBits 0x207fffff), correct merkle roots,
//! witness commitments and cumulative chainwork, BIP34 coinbases, a UTXO set and a mempool,
//! persisted in redb so a restarted `petrel regtest --datadir D` continues the same chain.
//! A transaction enters the mempool only if Core v31 would take it: scripts verified through
//! libbitcoinconsensus, no double spend, coinbase maturity, BIP65/BIP68/BIP112/BIP113 locks,
//! standardness, dust, size and weight limits, the minimum relay fee, full-RBF replacement.
//! Rejections carry Core's reason strings ([`TxReject`]).
//!
//! Two ways to use it:
//! - in process: [`Regtest`] is a synchronous handle (no tokio, no sockets); every method
//!   that depends on time takes `now` (Unix seconds) as an argument, so tests are
//!   deterministic;
//! - over JSON-RPC: [`server`] serves a bitcoind-compatible subset on loopback with cookie
//!   authentication (`petrel regtest`), so several nodes share one chain exactly as they
//!   would share a Bitcoin Core node.
//!
//! Known differences from Core, by necessity: libbitcoinconsensus predates taproot, so taproot
//! script-path spends are refused (key-path spends are verified here); policy script flags
//! libbitcoinconsensus lacks are checked only where decidable without an interpreter (see
//! [`validation`]); the text inside `mempool-script-verify-flag-failed (…)` is a best guess;
//! the RBF feerate-diagram check linearizes only the evicted transactions; package
//! acceptance (`submitpackage`, multi-transaction `testmempoolaccept`) is not offered.

mod admission;
mod chain;
mod chainstate;
mod json;
pub mod mempool;
mod mining;
mod params;
mod policy;
mod query;
mod reject;
mod render;
mod replacement;
pub mod rpc;
pub mod server;
mod store;
mod truc;
mod utxo;
mod validation;

use std::path::Path;
use std::sync::Arc;

use bitcoin::{Amount, Block, BlockHash, OutPoint, ScriptBuf, Transaction, TxOut, Txid, Wtxid};

pub use admission::MempoolOptions;
pub use chainstate::TxLocation;
pub use policy::FeeRate;
pub use reject::{BlockReject, RejectClass, TxReject};
pub use store::StoreError;

use admission::{AdmissionMode, ChainView};
use chainstate::{Chainstate, Reorg};
use mempool::Mempool;

/// File name of the chain database inside the data directory.
pub const DATABASE_FILE: &str = "regtest.redb";

/// Settings of a regtest chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegtestConfig {
    /// Mempool policy (minimum relay fee, incremental relay fee).
    pub mempool: MempoolOptions,
    /// What `estimatesmartfee` answers; `None` answers like a fresh Core node ("Insufficient
    /// data or no feerate found").
    pub fee_estimate: Option<FeeRate>,
}

/// Errors of the regtest chain.
#[derive(Debug, thiserror::Error)]
pub enum RegtestError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No block with that hash is known (RPC -5 "Block not found").
    #[error("Block not found")]
    BlockNotFound,
    /// A block failed validation (generateblock's `TestBlockValidity`).
    #[error("TestBlockValidity failed: {0}")]
    BlockRejected(BlockReject),
}

/// Why `sendrawtransaction` did not take a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The mempool refused it.
    #[error("{0}")]
    Rejected(TxReject),
    /// Its outputs are already in the UTXO set: it is confirmed (RPC -27).
    #[error("Transaction outputs already in utxo set")]
    AlreadyInUtxoSet,
    /// It would be accepted, but pays more than the caller's maximum fee rate (RPC -25).
    #[error("Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)")]
    MaxFeeExceeded,
}

/// A transaction `testmempoolaccept` would take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// Its txid.
    pub txid: Txid,
    /// Its wtxid.
    pub wtxid: Wtxid,
    /// Sigop-adjusted virtual size.
    pub vsize: u64,
    /// Fee paid.
    pub fee: Amount,
}

/// An unspent output as `gettxout` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutInfo {
    /// The output.
    pub output: TxOut,
    /// Confirmations (0 for a mempool output).
    pub confirmations: u32,
    /// Whether it is a coinbase output.
    pub coinbase: bool,
}

/// The regtest chain, usable in process.
///
/// Calling contract: queries (`tip_*`, `block*`, `transaction`, `tx_out`, `mempool`) never
/// change anything; each mutating call (`submit_transaction`, `generate*`,
/// `invalidate_block`, `reconsider_block`) validates, updates the chain and mempool, and
/// commits one redb transaction before returning.
pub struct Regtest {
    /// Blocks, UTXO set, indexes and the database.
    chainstate: Chainstate,
    /// Unconfirmed transactions.
    mempool: Mempool,
    /// Settings.
    config: RegtestConfig,
}

impl Regtest {
    /// Opens (or creates) the chain stored in `datadir`, reloading a mempool saved at the
    /// last clean shutdown.
    pub fn open(datadir: &Path, config: RegtestConfig, now: u64) -> Result<Regtest, RegtestError> {
        let store = store::Store::open(&datadir.join(DATABASE_FILE))?;
        Regtest::with_store(store, config, now)
    }

    /// A fresh chain held in memory (in-process tests).
    pub fn in_memory(config: RegtestConfig) -> Result<Regtest, RegtestError> {
        Regtest::with_store(store::Store::in_memory()?, config, 0)
    }

    fn with_store(
        store: store::Store,
        config: RegtestConfig,
        now: u64,
    ) -> Result<Regtest, RegtestError> {
        let (chainstate, saved) = Chainstate::load(store)?;
        let mut regtest = Regtest {
            chainstate,
            mempool: Mempool::new(),
            config,
        };
        for tx in saved {
            // A saved transaction that no longer fits (e.g. conflicts) is dropped, as Core's
            // LoadMempool drops it.
            let _ = regtest.admit_and_insert(Arc::new(tx), now, AdmissionMode::default());
        }
        Ok(regtest)
    }

    /// The settings.
    pub fn config(&self) -> &RegtestConfig {
        &self.config
    }

    /// Changes what `estimatesmartfee` answers (`None`: no estimate, as a fresh Core node).
    pub fn set_fee_estimate(&mut self, rate: Option<FeeRate>) {
        self.config.fee_estimate = rate;
    }

    /// Height of the active tip.
    pub fn tip_height(&self) -> u32 {
        self.chainstate.tip().height
    }

    /// Hash of the active tip.
    pub fn tip_hash(&self) -> BlockHash {
        self.chainstate.tip().hash
    }

    /// Hash of the active block at `height`.
    pub fn block_hash(&self, height: u32) -> Option<BlockHash> {
        self.chainstate.index().hash_at(height)
    }

    /// A stored block (active or not).
    pub fn block(&self, hash: &BlockHash) -> Option<&Arc<Block>> {
        self.chainstate.block(hash)
    }

    /// Confirmations of a block: depth on the active chain, -1 when off it.
    pub fn confirmations(&self, hash: &BlockHash) -> Option<i64> {
        let entry = self.chainstate.index().get(hash)?;
        if self.chainstate.index().contains(hash) {
            Some(i64::from(self.tip_height()) - i64::from(entry.height) + 1)
        } else {
            Some(-1)
        }
    }

    /// The mempool.
    pub fn mempool(&self) -> &mempool::Mempool {
        &self.mempool
    }

    /// A transaction from the mempool or the active chain, with its block if confirmed.
    pub fn transaction(&self, txid: &Txid) -> Option<(Arc<Transaction>, Option<BlockHash>)> {
        if let Some(entry) = self.mempool.get(txid) {
            return Some((entry.tx.clone(), None));
        }
        let location = self.chainstate.locate_tx(txid)?;
        let block = self.chainstate.block(&location.block)?;
        let tx = block.txdata.get(location.position as usize)?;
        Some((Arc::new(tx.clone()), Some(location.block)))
    }

    /// An unspent output (`gettxout`): with `include_mempool`, outputs spent in the mempool
    /// are gone and mempool outputs appear with 0 confirmations.
    pub fn tx_out(&self, outpoint: &OutPoint, include_mempool: bool) -> Option<TxOutInfo> {
        if include_mempool {
            if self.mempool.spender(outpoint).is_some() {
                return None;
            }
            if let Some(output) = self.mempool.output(outpoint) {
                return Some(TxOutInfo {
                    output: output.clone(),
                    confirmations: 0,
                    coinbase: false,
                });
            }
        }
        let coin = self.chainstate.utxo().get(outpoint)?;
        Some(TxOutInfo {
            output: coin.output.clone(),
            confirmations: self.tip_height() - coin.height + 1,
            coinbase: coin.is_coinbase,
        })
    }

    /// Runs every mempool check without adding the transaction (`testmempoolaccept`).
    pub fn test_accept(&self, tx: &Transaction, now: u64) -> Result<Accepted, TxReject> {
        let admission = admission::admit(
            Arc::new(tx.clone()),
            self.chain_view(),
            &self.mempool,
            &self.config.mempool,
            now,
            AdmissionMode::default(),
        )?;
        let entry = admission.entry;
        Ok(Accepted {
            txid: entry.txid,
            wtxid: entry.wtxid,
            vsize: entry.vsize,
            fee: entry.fee,
        })
    }

    /// Adds a transaction to the mempool (`sendrawtransaction`). A transaction already in
    /// the mempool (same txid) is accepted again without change, as Core does.
    pub fn submit_transaction(&mut self, tx: Transaction, now: u64) -> Result<Txid, SubmitError> {
        self.submit_transaction_capped(tx, now, None)
    }

    /// [`submit_transaction`](Self::submit_transaction), refusing a new transaction whose fee
    /// is above `max_fee_rate` times its vsize (`sendrawtransaction`'s `maxfeerate`). The
    /// transaction is checked once: Core checks twice but caches script results, which this
    /// chain does not.
    pub fn submit_transaction_capped(
        &mut self,
        tx: Transaction,
        now: u64,
        max_fee_rate: Option<FeeRate>,
    ) -> Result<Txid, SubmitError> {
        let txid = tx.compute_txid();
        let confirmed = (0..tx.output.len()).any(|vout| {
            u32::try_from(vout).is_ok_and(|vout| {
                self.chainstate
                    .utxo()
                    .get(&OutPoint { txid, vout })
                    .is_some()
            })
        });
        if confirmed {
            return Err(SubmitError::AlreadyInUtxoSet);
        }
        if self.mempool.get(&txid).is_some() {
            return Ok(txid);
        }
        let vsize = tx.weight().to_wu().div_ceil(4);
        let admission = admission::admit(
            Arc::new(tx),
            self.chain_view(),
            &self.mempool,
            &self.config.mempool,
            now,
            AdmissionMode::default(),
        )
        .map_err(SubmitError::Rejected)?;
        if max_fee_rate.is_some_and(|rate| admission.entry.fee > rate.fee(vsize)) {
            return Err(SubmitError::MaxFeeExceeded);
        }
        Ok(self.insert_admitted(admission))
    }

    fn chain_view(&self) -> ChainView<'_> {
        ChainView {
            index: self.chainstate.index(),
            utxo: self.chainstate.utxo(),
        }
    }

    fn admit_and_insert(
        &mut self,
        tx: Arc<Transaction>,
        now: u64,
        mode: AdmissionMode,
    ) -> Result<Txid, TxReject> {
        let admission = admission::admit(
            tx,
            self.chain_view(),
            &self.mempool,
            &self.config.mempool,
            now,
            mode,
        )?;
        Ok(self.insert_admitted(admission))
    }

    /// Puts an admitted transaction in the mempool, evicting what it replaces.
    fn insert_admitted(&mut self, admission: admission::Admission) -> Txid {
        for replaced in &admission.replaced {
            self.mempool.remove_one(replaced);
        }
        let txid = admission.entry.txid;
        self.mempool.insert(admission.entry);
        txid
    }

    /// Mines `count` blocks paying `script`, each holding what fits of the mempool
    /// (`generatetoaddress`). Returns their hashes.
    pub fn generate(
        &mut self,
        count: u32,
        script: &ScriptBuf,
        now: u64,
    ) -> Result<Vec<BlockHash>, RegtestError> {
        let mut hashes = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (txs, fees) = mining::select_transactions(&self.mempool);
            let block = self.assemble(script, txs, fees, now);
            hashes.push(self.connect_new_block(block, now)?);
        }
        self.chainstate.flush()?;
        Ok(hashes)
    }

    /// Mines one block holding exactly `txs` after the coinbase (`generateblock`). The
    /// block is validated as Core's `TestBlockValidity` does; with `submit` false it is
    /// returned without being added to the chain.
    pub fn generate_block(
        &mut self,
        script: &ScriptBuf,
        txs: Vec<Transaction>,
        now: u64,
        submit: bool,
    ) -> Result<Block, RegtestError> {
        let fees = self.block_fees(&txs);
        let block = self.assemble(script, txs, fees, now);
        if submit {
            self.connect_new_block(block.clone(), now)?;
            self.chainstate.flush()?;
        } else {
            let tip = self.chainstate.tip().clone();
            chainstate::check_block(&block, &tip, now)
                .and_then(|()| self.chainstate.check_connect(&block))
                .map_err(RegtestError::BlockRejected)?;
        }
        Ok(block)
    }

    /// Fees of `txs` spent from the UTXO set, earlier `txs` and the mempool; unknown inputs
    /// count as zero (validation then rejects the block).
    fn block_fees(&self, txs: &[Transaction]) -> Amount {
        let mut created: std::collections::HashMap<OutPoint, Amount> =
            std::collections::HashMap::new();
        let mut fees = Amount::ZERO;
        for tx in txs {
            let txid = tx.compute_txid();
            let mut value_in = Amount::ZERO;
            for input in &tx.input {
                let op = &input.previous_output;
                let value = created
                    .get(op)
                    .copied()
                    .or_else(|| self.chainstate.utxo().get(op).map(|c| c.output.value))
                    .unwrap_or(Amount::ZERO);
                value_in += value;
            }
            let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
            fees += value_in.checked_sub(value_out).unwrap_or(Amount::ZERO);
            for (vout, output) in tx.output.iter().enumerate() {
                if let Ok(vout) = u32::try_from(vout) {
                    created.insert(OutPoint { txid, vout }, output.value);
                }
            }
        }
        fees
    }

    fn assemble(&self, script: &ScriptBuf, txs: Vec<Transaction>, fees: Amount, now: u64) -> Block {
        let tip = self.chainstate.tip();
        let time =
            mining::next_block_time(tip.median_time_past, tip.header.time, tip.height + 1, now);
        mining::assemble(tip.hash, tip.height + 1, time, script, txs, fees)
    }

    /// Validates a block on the tip, stores it and makes it the tip.
    fn connect_new_block(&mut self, block: Block, now: u64) -> Result<BlockHash, RegtestError> {
        let connected = self
            .chainstate
            .connect_new_tip(block, now)
            .map_err(RegtestError::BlockRejected)?;
        self.mempool.remove_for_block(&connected);
        Ok(connected.block_hash())
    }

    /// Marks a block invalid and reorganises away from it (`invalidateblock`); transactions
    /// of disconnected blocks return to the mempool when still valid.
    pub fn invalidate_block(&mut self, hash: &BlockHash, now: u64) -> Result<(), RegtestError> {
        if self.chainstate.index().get(hash).is_none() {
            return Err(RegtestError::BlockNotFound);
        }
        let reorg = self.chainstate.invalidate(hash, now)?;
        self.update_mempool(&reorg, now);
        self.chainstate.flush()?;
        Ok(())
    }

    /// Clears a block's invalid mark and reorganises to the best chain (`reconsiderblock`).
    pub fn reconsider_block(&mut self, hash: &BlockHash, now: u64) -> Result<(), RegtestError> {
        if self.chainstate.index().get(hash).is_none() {
            return Err(RegtestError::BlockNotFound);
        }
        let reorg = self.chainstate.reconsider(hash, now)?;
        self.update_mempool(&reorg, now);
        self.chainstate.flush()?;
        Ok(())
    }

    /// Saves the mempool so the next start reloads it (Core's `mempool.dat`).
    pub fn save_mempool(&self) -> Result<(), RegtestError> {
        let txs: Vec<Transaction> = self.mempool.entries().map(|e| (*e.tx).clone()).collect();
        self.chainstate.store().save_mempool(&txs)?;
        Ok(())
    }

    /// Brings the mempool in line with a reorganisation: confirmed transactions and their
    /// conflicts leave; after a disconnect, the disconnected blocks' transactions and the
    /// old mempool are re-admitted (fee minimums bypassed), so whatever became invalid
    /// (immature coinbase spends, unmet locks, double spends) drops out.
    fn update_mempool(&mut self, reorg: &Reorg, now: u64) {
        for block in &reorg.connected {
            self.mempool.remove_for_block(block);
        }
        if reorg.disconnected.is_empty() {
            return;
        }
        let mut candidates: Vec<Arc<Transaction>> = Vec::new();
        for block in reorg.disconnected.iter().rev() {
            for tx in block.txdata.iter().skip(1) {
                candidates.push(Arc::new(tx.clone()));
            }
        }
        candidates.extend(self.mempool.drain());
        let mode = AdmissionMode {
            bypass_limits: true,
        };
        for tx in candidates {
            let _ = self.admit_and_insert(tx, now, mode);
        }
    }

    /// The chain state (read-only), for the RPC layer.
    fn chainstate(&self) -> &Chainstate {
        &self.chainstate
    }
}

#[cfg(test)]
mod tests;
