//! Block assembly and proof of work (Core's `node/miner.cpp` and `GenerateBlock`).
//!
//! The coinbase is shaped as Core's miner shapes it: version 2, BIP34 height push (followed
//! by `OP_0` up to height 16 so the scriptSig is at least two bytes), sequence 0xfffffffe,
//! lock time height − 1, one output paying subsidy plus fees, then the BIP141 witness
//! commitment output with a 32-byte zero witness reserved value. The header's time is the
//! larger of the median time past + 1 and the caller's clock; the nonce is ground until the
//! hash meets nBits 0x207fffff (on average two tries).

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::Hash;
use bitcoin::opcodes::OP_0;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    absolute, Amount, Block, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Witness,
};

use super::mempool::Mempool;
use super::params;
use super::policy::FeeRate;

/// Weight Core's miner keeps free for the header and coinbase (`DEFAULT_BLOCK_RESERVED_WEIGHT`).
const BLOCK_RESERVED_WEIGHT: u64 = 8_000;
/// Sigops Core's miner keeps free for the coinbase.
const COINBASE_RESERVED_SIGOPS: u64 = 400;
/// `-blockmintxfee` default: 1 sat/kvB.
const BLOCK_MIN_TX_FEE: FeeRate = FeeRate(1);

/// The coinbase of a block at `height` paying `reward` to `script` (no commitment yet).
pub(crate) fn coinbase(height: u32, script: &ScriptBuf, reward: Amount) -> Transaction {
    let mut builder = Builder::new().push_int(i64::from(height));
    if height <= 16 {
        builder = builder.push_opcode(OP_0);
    }
    Transaction {
        version: TxVersion::TWO,
        lock_time: absolute::LockTime::from_consensus(height.saturating_sub(1)),
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: builder.into_script(),
            sequence: Sequence::ENABLE_LOCKTIME_NO_RBF,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: reward,
            script_pubkey: script.clone(),
        }],
    }
}

/// Adds the witness commitment output and the witness reserved value to the block's coinbase
/// (Core's `GenerateCoinbaseCommitment`, which always adds it while segwit is active).
pub(crate) fn add_witness_commitment(block: &mut Block) {
    let reserved = [0u8; 32];
    let Some(witness_root) = block.witness_root() else {
        return;
    };
    let commitment = Block::compute_witness_commitment(&witness_root, &reserved);
    let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    script.extend_from_slice(commitment.as_byte_array());
    if let Some(coinbase) = block.txdata.first_mut() {
        coinbase.output.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_bytes(script),
        });
        coinbase.input[0].witness = Witness::from_slice(&[reserved]);
    }
}

/// Builds and grinds a block on `prev` at `height` holding `txs` after the coinbase.
/// `fees` is the sum of their fees; `time` the header time to use.
pub(crate) fn assemble(
    prev: BlockHash,
    height: u32,
    time: u32,
    script: &ScriptBuf,
    txs: Vec<Transaction>,
    fees: Amount,
) -> Block {
    let reward = params::block_subsidy(height) + fees;
    let mut txdata = Vec::with_capacity(txs.len() + 1);
    txdata.push(coinbase(height, script, reward));
    txdata.extend(txs);
    let mut block = Block {
        header: Header {
            version: Version::from_consensus(params::block_version(height)),
            prev_blockhash: prev,
            merkle_root: bitcoin::TxMerkleNode::all_zeros(),
            time,
            bits: params::pow_limit_bits(),
            nonce: 0,
        },
        txdata,
    };
    add_witness_commitment(&mut block);
    if let Some(root) = block.compute_merkle_root() {
        block.header.merkle_root = root;
    }
    grind(&mut block.header);
    block
}

/// Increments the nonce until the header meets its target.
pub(crate) fn grind(header: &mut Header) {
    let target = header.target();
    while !target.is_met_by(header.block_hash()) {
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            // Every nonce failed (never on regtest in practice): move the time on.
            header.time = header.time.wrapping_add(1);
        }
    }
}

/// The header time of the next block (Core's `UpdateTime` / `GetMinimumTime`): the caller's
/// clock, but at least the median time past + 1 and, on the first block of each 144-block
/// difficulty period, no more than ten minutes before the previous block (BIP94's timewarp
/// rule, which Core's miner honours on every network).
pub(crate) fn next_block_time(prev_mtp: u32, prev_time: u32, height: u32, now: u64) -> u32 {
    const DIFFICULTY_ADJUSTMENT_INTERVAL: u32 = 144;
    const MAX_TIMEWARP: u32 = 600;
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    let mut min_time = prev_mtp.saturating_add(1);
    if height.is_multiple_of(DIFFICULTY_ADJUSTMENT_INTERVAL) {
        min_time = min_time.max(prev_time.saturating_sub(MAX_TIMEWARP));
    }
    now.max(min_time)
}

/// Selects mempool transactions for a block: best ancestor-package fee rate first, parents
/// before children, within the weight and sigop budgets (a simplified `BlockAssembler`).
/// Returns the transactions in block order (selection order) and their total fee.
pub(crate) fn select_transactions(mempool: &Mempool) -> (Vec<Transaction>, Amount) {
    let mut packages: Vec<(Vec<bitcoin::Txid>, u64, Amount)> = mempool
        .entries()
        .map(|e| {
            let ancestors = mempool.ancestors(&e.txid);
            let (_, size, fee) = mempool.totals(&ancestors);
            (ancestors, size, fee)
        })
        .collect();
    // Highest package fee rate first; ties by entry order so the result is deterministic.
    packages.sort_by(|a, b| {
        let lhs = u128::from(b.2.to_sat()) * u128::from(a.1);
        let rhs = u128::from(a.2.to_sat()) * u128::from(b.1);
        lhs.cmp(&rhs)
    });
    let mut chosen: Vec<bitcoin::Txid> = Vec::new();
    let mut chosen_set = std::collections::HashSet::new();
    let mut weight = BLOCK_RESERVED_WEIGHT;
    let mut sigops = COINBASE_RESERVED_SIGOPS;
    let mut fees = Amount::ZERO;
    for (ancestors, _, _) in packages {
        let missing: Vec<bitcoin::Txid> = ancestors
            .into_iter()
            .filter(|t| !chosen_set.contains(t))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let (_, size, fee) = mempool.totals(&missing);
        if fee < BLOCK_MIN_TX_FEE.fee(size) {
            continue;
        }
        let (add_weight, add_sigops) = missing
            .iter()
            .filter_map(|t| mempool.get(t))
            .fold((0, 0), |(w, s), e| (w + e.weight, s + e.sigop_cost));
        if weight + add_weight > params::MAX_BLOCK_WEIGHT
            || sigops + add_sigops > params::MAX_BLOCK_SIGOPS_COST
        {
            continue;
        }
        weight += add_weight;
        sigops += add_sigops;
        fees += fee;
        // Packages go into the block in the order they were selected, best fee rate first,
        // as Core's `addChunks` adds chunks; inside a package parents come first (entry
        // order guarantees it). Found by the differential test: the block used to be sorted
        // by entry order as a whole, so a high-fee transaction submitted after a low-fee one
        // came second here and first in Core, and the merkle roots differed.
        let mut missing = missing;
        missing.sort_by_key(|t| mempool.get(t).map_or(0, |e| e.sequence));
        for t in missing {
            chosen_set.insert(t);
            chosen.push(t);
        }
    }
    let txs = chosen
        .iter()
        .filter_map(|t| mempool.get(t))
        .map(|e| (*e.tx).clone())
        .collect();
    (txs, fees)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coinbase_script_sig_is_bip34_and_long_enough() {
        let script = ScriptBuf::new();
        let low = coinbase(1, &script, Amount::ZERO);
        assert_eq!(low.input[0].script_sig.as_bytes(), &[0x51, 0x00]);
        let high = coinbase(300, &script, Amount::ZERO);
        assert_eq!(high.input[0].script_sig.as_bytes(), &[0x02, 0x2c, 0x01]);
        assert_eq!(high.lock_time.to_consensus_u32(), 299);
    }

    #[test]
    fn block_time_rules() {
        // The clock wins when it is ahead of the median time past.
        assert_eq!(next_block_time(100, 100, 5, 1_000), 1_000);
        // Never at or below the median time past.
        assert_eq!(next_block_time(2_000, 2_000, 5, 1_000), 2_001);
        // Period starts stay within ten minutes of the previous block.
        assert_eq!(next_block_time(1_500, 5_000, 144, 1_000), 4_400);
    }

    #[test]
    fn assembled_block_meets_target_and_commits_witnesses() {
        let genesis = params::genesis();
        let block = assemble(
            genesis.block_hash(),
            1,
            genesis.header.time + 1,
            &ScriptBuf::new(),
            Vec::new(),
            Amount::ZERO,
        );
        assert!(block.header.target().is_met_by(block.block_hash()));
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        assert_eq!(
            block.txdata[0].input[0].script_sig.as_bytes(),
            &[0x51, 0x00]
        );
    }
}
