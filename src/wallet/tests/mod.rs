//! Wallet tests on synthetic regtest chains: blocks built with the `bitcoin` crate, applied
//! as the chain notifier would deliver them, with redb in memory or in a temporary file.

mod balance;
mod funding;
mod reorg;
mod storage;

use std::collections::HashMap;
use std::sync::Arc;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::blockdata::constants::genesis_block;
use bitcoin::hashes::Hash;
use bitcoin::script::Builder;
use bitcoin::transaction::Version;
use bitcoin::{
    Amount, Block, CompactTarget, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Txid, WScriptHash, Witness,
};
use redb::backends::InMemoryBackend;
use redb::Database;

use super::OnchainWallet;
use crate::units::BlockHeight;

/// The node seed every test wallet uses unless it needs a second one.
const SEED: [u8; 32] = [0x42; 32];

/// A redb database in memory.
fn memory_db() -> Arc<Database> {
    Arc::new(
        Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .unwrap(),
    )
}

/// A regtest wallet on an in-memory database.
fn memory_wallet() -> OnchainWallet {
    OnchainWallet::open(&SEED, Network::Regtest, memory_db()).unwrap()
}

/// A script nobody in these tests owns (bare `OP_TRUE`), for coinbases of filler blocks.
fn anyone() -> ScriptBuf {
    Builder::new()
        .push_opcode(bitcoin::opcodes::OP_TRUE)
        .into_script()
}

/// A P2WSH script standing in for a channel's 2-of-2 funding script.
fn funding_script(tag: u8) -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array([tag; 32]))
}

/// A synthetic regtest chain: `blocks[h]` is the block at height `h`, from Core's regtest
/// genesis. Proof of work is not checked by the wallet, so blocks are not mined.
#[derive(Clone)]
struct Chain {
    /// The blocks by height.
    blocks: Vec<Block>,
    /// Distinguishes this branch's coinbases (and so its block hashes) from a sibling fork's.
    branch: u8,
    /// Counter for fresh faucet outpoints.
    faucet: u8,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            blocks: vec![genesis_block(Network::Regtest)],
            branch: 0,
            faucet: 0,
        }
    }

    fn tip(&self) -> BlockHeight {
        BlockHeight(u32::try_from(self.blocks.len() - 1).unwrap())
    }

    fn block(&self, height: u32) -> &Block {
        &self.blocks[height as usize]
    }

    /// A sibling branch that shares blocks up to `height` and then differs.
    fn fork_at(&self, height: u32, branch: u8) -> Chain {
        Chain {
            blocks: self.blocks[..=height as usize].to_vec(),
            branch,
            faucet: self.faucet,
        }
    }

    /// Appends a block whose coinbase pays `coinbase_outputs` and which confirms `txs`.
    fn mine(&mut self, coinbase_outputs: Vec<TxOut>, txs: Vec<Transaction>) -> &Block {
        let height = self.tip().0 + 1;
        let coinbase = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                // BIP34 height, then the branch tag so that forks get distinct txids.
                script_sig: Builder::new()
                    .push_int(i64::from(height))
                    .push_int(i64::from(self.branch))
                    .into_script(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: coinbase_outputs,
        };
        let prev = self.blocks.last().unwrap().block_hash();
        let mut block = Block {
            header: Header {
                version: BlockVersion::TWO,
                prev_blockhash: prev,
                merkle_root: TxMerkleNode::all_zeros(),
                time: 1_700_000_000 + height,
                bits: CompactTarget::from_consensus(0x207f_ffff),
                nonce: 0,
            },
            txdata: std::iter::once(coinbase).chain(txs).collect(),
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        self.blocks.push(block);
        self.blocks.last().unwrap()
    }

    /// Appends `n` blocks paying nobody we know.
    fn mine_empty(&mut self, n: u32) {
        for _ in 0..n {
            self.mine(vec![pay(anyone(), 50_000)], vec![]);
        }
    }

    /// A transaction from outside the wallet paying `outputs`, spending a fresh outpoint.
    fn faucet_tx(&mut self, outputs: Vec<TxOut>) -> Transaction {
        self.faucet += 1;
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array([self.faucet; 32]),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: outputs,
        }
    }

    /// Every output of every block in the chain, for checking a spend against it.
    fn outputs(&self) -> HashMap<OutPoint, TxOut> {
        let mut outputs = HashMap::new();
        for tx in self.blocks.iter().flat_map(|block| &block.txdata) {
            let txid = tx.compute_txid();
            for (vout, out) in (0u32..).zip(&tx.output) {
                outputs.insert(OutPoint { txid, vout }, out.clone());
            }
        }
        outputs
    }

    /// Feeds every block from `from` to the tip to `wallet`.
    fn feed(&self, wallet: &mut OnchainWallet, from: u32) {
        for height in from..=self.tip().0 {
            wallet
                .apply_block(self.block(height), BlockHeight(height))
                .unwrap();
        }
    }
}

/// An output of `sat` satoshis to `script`.
fn pay(script: ScriptBuf, sat: u64) -> TxOut {
    TxOut {
        value: Amount::from_sat(sat),
        script_pubkey: script,
    }
}

/// Pays each of `amounts` to a fresh wallet address in one faucet transaction, confirms it
/// in a new block, feeds the block, and returns the paid outpoints.
fn fund(wallet: &mut OnchainWallet, chain: &mut Chain, amounts: &[u64]) -> Vec<OutPoint> {
    let outputs = amounts
        .iter()
        .map(|&sat| pay(wallet.next_address().unwrap().script_pubkey(), sat))
        .collect();
    let tx = chain.faucet_tx(outputs);
    let txid = tx.compute_txid();
    chain.mine(vec![pay(anyone(), 50_000)], vec![tx]);
    wallet
        .apply_block(chain.block(chain.tip().0), chain.tip())
        .unwrap();
    (0..amounts.len())
        .map(|vout| OutPoint {
            txid,
            vout: u32::try_from(vout).unwrap(),
        })
        .collect()
}

/// A wallet on an in-memory database with confirmed outputs of `amounts` satoshis, and the
/// chain that paid them.
fn funded_wallet(amounts: &[u64]) -> (OnchainWallet, Chain, Vec<OutPoint>) {
    let mut wallet = memory_wallet();
    let mut chain = Chain::new();
    chain.mine_empty(1);
    chain.feed(&mut wallet, 1);
    let outpoints = fund(&mut wallet, &mut chain, amounts);
    (wallet, chain, outpoints)
}

/// The wallet actor moves the wallet into a tokio task: it must be `Send`.
#[test]
fn wallet_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<OnchainWallet>();
}

fn sat(n: u64) -> Amount {
    Amount::from_sat(n)
}
