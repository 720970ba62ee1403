//! `MemChain`: an in-memory chain that behaves like a regtest bitcoind as far as the
//! [`ChainSource`] contract and the suite's driving RPCs go: a best chain, stale blocks kept
//! after `invalidateblock`, a mempool that takes back the transactions of invalidated blocks
//! and feeds the next mined block. No proof of work and no script checks: it is a fake whose
//! tip the tests move.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash as _;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, FeeRate, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use petrel::chain::{rpc_code, BlockInfo, ChainError, ChainSource};
use petrel::units::BlockHeight;

use super::TestChain;

/// The block subsidy of every fake block (regtest's first halving period).
pub const SUBSIDY: Amount = Amount::from_sat(50 * 100_000_000);

/// A shared, cloneable in-memory chain.
#[derive(Clone, Debug)]
pub struct MemChain {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// Every block ever mined, stale ones included, with its height.
    blocks: HashMap<BlockHash, (Arc<Block>, u32)>,
    /// The best chain, by height.
    active: Vec<BlockHash>,
    /// Transactions waiting for the next block.
    mempool: Vec<Transaction>,
    /// Makes every block unique.
    salt: u32,
    /// While set, every `ChainSource` call fails as a warming-up bitcoind would.
    failing: bool,
    /// `ChainSource` calls served (failed ones included).
    calls: u64,
}

impl Default for MemChain {
    fn default() -> Self {
        MemChain::new()
    }
}

impl MemChain {
    /// A chain holding only a genesis block.
    pub fn new() -> MemChain {
        let mut state = State {
            blocks: HashMap::new(),
            active: Vec::new(),
            mempool: Vec::new(),
            salt: 0,
            failing: false,
            calls: 0,
        };
        let genesis = state.make_block(BlockHash::all_zeros(), 0, ScriptBuf::new(), Vec::new());
        let hash = genesis.block_hash();
        state.blocks.insert(hash, (Arc::new(genesis), 0));
        state.active.push(hash);
        MemChain {
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Mines one block on the tip holding exactly `txs` (the mempool is left alone).
    pub fn mine_with(&self, txs: Vec<Transaction>) -> BlockHash {
        let mut state = self.lock();
        state.mine(ScriptBuf::new(), txs)
    }

    /// Mines one block on `parent` (which may be stale, to build a competing branch) and
    /// makes the longest branch the best chain, as bitcoind does with the most work.
    pub fn mine_on(&self, parent: BlockHash, txs: Vec<Transaction>) -> BlockHash {
        let mut state = self.lock();
        let height = state.blocks[&parent].1 + 1;
        let block = state.make_block(parent, height, ScriptBuf::new(), txs);
        let hash = block.block_hash();
        state.blocks.insert(hash, (Arc::new(block), height));
        if usize::try_from(height).unwrap() >= state.active.len() {
            // The new branch has more work: switch to it.
            let mut branch = vec![hash];
            let mut cursor = parent;
            while state.active.get(state.height_of(cursor)) != Some(&cursor) {
                branch.push(cursor);
                cursor = state.blocks[&cursor].0.header.prev_blockhash;
            }
            let fork = state.height_of(cursor);
            state.active.truncate(fork + 1);
            state.active.extend(branch.into_iter().rev());
        }
        hash
    }

    /// Makes every `ChainSource` call fail (RPC error -28, "loading block index") or work again.
    pub fn set_failing(&self, failing: bool) {
        self.lock().failing = failing;
    }

    /// How many `ChainSource` calls were served.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    /// The block at `height` in the best chain.
    pub fn block_at_height(&self, height: u32) -> Arc<Block> {
        let state = self.lock();
        let hash = state.active[usize::try_from(height).unwrap()];
        Arc::clone(&state.blocks[&hash].0)
    }

    /// Counts a call and fails it if the chain is set to fail.
    fn enter(&self) -> Result<MutexGuard<'_, State>, ChainError> {
        let mut state = self.lock();
        state.calls += 1;
        if state.failing {
            return Err(ChainError::Rpc {
                code: rpc_code::IN_WARMUP,
                message: "Loading block index...".into(),
            });
        }
        Ok(state)
    }
}

impl State {
    fn height_of(&self, hash: BlockHash) -> usize {
        usize::try_from(self.blocks[&hash].1).unwrap()
    }

    fn tip(&self) -> BlockHash {
        *self.active.last().unwrap()
    }

    fn make_block(
        &mut self,
        prev: BlockHash,
        height: u32,
        pay_to: ScriptBuf,
        txs: Vec<Transaction>,
    ) -> Block {
        self.salt += 1;
        // BIP 34: the coinbase starts with the height; the salt keeps blocks apart.
        let script_sig = bitcoin::script::Builder::new()
            .push_int(i64::from(height))
            .push_int(i64::from(self.salt))
            .into_script();
        let coinbase = Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig,
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: SUBSIDY,
                script_pubkey: pay_to,
            }],
        };
        let mut txdata = vec![coinbase];
        txdata.extend(txs);
        let mut block = Block {
            header: Header {
                version: Version::TWO,
                prev_blockhash: prev,
                merkle_root: TxMerkleNode::all_zeros(),
                time: 1_700_000_000 + self.salt,
                bits: CompactTarget::from_consensus(0x207f_ffff),
                nonce: self.salt,
            },
            txdata,
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        block
    }

    fn mine(&mut self, pay_to: ScriptBuf, txs: Vec<Transaction>) -> BlockHash {
        let prev = self.tip();
        let height = u32::try_from(self.active.len()).unwrap();
        let block = self.make_block(prev, height, pay_to, txs);
        let hash = block.block_hash();
        self.blocks.insert(hash, (Arc::new(block), height));
        self.active.push(hash);
        hash
    }

    /// Every outpoint spent in the best chain and the mempool.
    fn spent(&self) -> HashSet<OutPoint> {
        self.active
            .iter()
            .flat_map(|hash| self.blocks[hash].0.txdata.iter())
            .chain(self.mempool.iter())
            .filter(|tx| !tx.is_coinbase())
            .flat_map(|tx| tx.input.iter().map(|input| input.previous_output))
            .collect()
    }

    fn in_best_chain(&self, txid: Txid) -> bool {
        self.active.iter().any(|hash| {
            self.blocks[hash]
                .0
                .txdata
                .iter()
                .any(|tx| tx.compute_txid() == txid)
        })
    }
}

impl ChainSource for MemChain {
    async fn best_block_hash(&self) -> Result<BlockHash, ChainError> {
        Ok(self.enter()?.tip())
    }

    async fn block_info(&self, hash: BlockHash) -> Result<Option<BlockInfo>, ChainError> {
        let state = self.enter()?;
        Ok(state.blocks.get(&hash).map(|(block, height)| BlockInfo {
            hash,
            height: BlockHeight(*height),
            prev_hash: (*height > 0).then_some(block.header.prev_blockhash),
        }))
    }

    async fn block_hash(&self, height: BlockHeight) -> Result<Option<BlockHash>, ChainError> {
        let state = self.enter()?;
        Ok(state
            .active
            .get(usize::try_from(height.0).unwrap())
            .copied())
    }

    async fn block(&self, hash: BlockHash) -> Result<Option<Block>, ChainError> {
        let state = self.enter()?;
        Ok(state.blocks.get(&hash).map(|(block, _)| (**block).clone()))
    }

    async fn raw_transaction(&self, txid: Txid) -> Result<Option<Transaction>, ChainError> {
        // Like bitcoind without -txindex: the mempool only.
        let state = self.enter()?;
        Ok(state
            .mempool
            .iter()
            .find(|tx| tx.compute_txid() == txid)
            .cloned())
    }

    async fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        let mut state = self.enter()?;
        let txid = tx.compute_txid();
        if state.mempool.iter().any(|m| m.compute_txid() == txid) {
            return Ok(txid);
        }
        if state.in_best_chain(txid) {
            return Err(ChainError::Rpc {
                code: rpc_code::VERIFY_ALREADY_IN_CHAIN,
                message: "Transaction already in block chain".into(),
            });
        }
        let spent = state.spent();
        if tx
            .input
            .iter()
            .any(|input| spent.contains(&input.previous_output))
        {
            return Err(ChainError::Rpc {
                code: rpc_code::VERIFY_ERROR,
                message: "bad-txns-inputs-missingorspent".into(),
            });
        }
        state.mempool.push(tx.clone());
        Ok(txid)
    }

    async fn estimate_fee(&self, _conf_target: u16) -> Result<Option<FeeRate>, ChainError> {
        // A fresh regtest chain has no fee history.
        drop(self.enter()?);
        Ok(None)
    }
}

impl TestChain for MemChain {
    type Source = MemChain;

    fn source(&self) -> MemChain {
        self.clone()
    }

    async fn mine_to(&self, n: u32, pay_to: &bitcoin::Address) -> Vec<BlockHash> {
        let mut state = self.lock();
        (0..n)
            .map(|_| {
                let txs = std::mem::take(&mut state.mempool);
                state.mine(pay_to.script_pubkey(), txs)
            })
            .collect()
    }

    async fn invalidate(&self, hash: BlockHash) {
        let mut state = self.lock();
        let height = state.height_of(hash);
        assert_eq!(
            state.active[height], hash,
            "invalidating a block off the best chain"
        );
        // Like bitcoind: the invalidated blocks' transactions go back to the mempool, ahead of
        // what was there.
        let removed: Vec<BlockHash> = state.active.split_off(height);
        let mut back: Vec<Transaction> = removed
            .iter()
            .flat_map(|hash| state.blocks[hash].0.txdata.iter().skip(1).cloned())
            .collect();
        back.append(&mut state.mempool);
        state.mempool = back;
    }
}
