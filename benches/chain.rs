//! The notifier core's block scan: one block of 3,000 transactions matched against 100,000
//! watched outpoints, with and without watched txids (issue #5 target: under 10 ms). Each
//! iteration connects the block and disconnects it again, so the figure is an upper bound for
//! a connect alone. The txid baseline shows what hashing the block's transactions costs by
//! itself.

use std::hint::black_box;

use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash as _;
use bitcoin::transaction::Version as TxVersion;
use bitcoin::{
    Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxMerkleNode, TxOut, Txid, Witness,
};
use criterion::{criterion_group, criterion_main, Criterion};
use petrel::chain::{BlockRef, ConfRequest, SpendRequest, SubscriptionId, TxNotifier};
use petrel::units::BlockHeight;

const TXS: u32 = 3_000;
const WATCHED: u32 = 100_000;
/// Watched outpoints that the block actually spends.
const MATCHES: u32 = 100;

/// A distinct, deterministic outpoint per index.
fn outpoint(i: u32) -> OutPoint {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    bytes[31] = 0xab;
    OutPoint {
        txid: Txid::from_byte_array(bytes),
        vout: i % 4,
    }
}

/// A distinct P2WSH output script per index.
fn output_script(i: u32) -> ScriptBuf {
    let mut bytes = [0u8; 32];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_byte_array(bytes))
}

/// A segwit transaction with two inputs and two outputs, about the median shape.
fn tx(i: u32, inputs: [OutPoint; 2]) -> Transaction {
    let mut witness = Witness::new();
    witness.push([0x30u8; 72]);
    witness.push([0x02u8; 33]);
    Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: inputs
            .iter()
            .map(|previous_output| TxIn {
                previous_output: *previous_output,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: witness.clone(),
            })
            .collect(),
        output: (0..2)
            .map(|o| TxOut {
                value: Amount::from_sat(10_000 + u64::from(i)),
                script_pubkey: output_script(i * 2 + o),
            })
            .collect(),
    }
}

fn block(prev: BlockHash) -> Block {
    let coinbase = Transaction {
        version: TxVersion::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: ScriptBuf::from(vec![1, 2, 3]),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(50),
            script_pubkey: ScriptBuf::new(),
        }],
    };
    let mut txdata = vec![coinbase];
    for i in 0..TXS {
        // Every 30th transaction spends one watched outpoint; the rest spend unwatched ones.
        let first = if i % (TXS / MATCHES) == 0 {
            outpoint(i / (TXS / MATCHES) * 997 % WATCHED)
        } else {
            outpoint(WATCHED + i)
        };
        txdata.push(tx(i, [first, outpoint(2 * WATCHED + i)]));
    }
    let mut block = Block {
        header: Header {
            version: Version::TWO,
            prev_blockhash: prev,
            merkle_root: TxMerkleNode::all_zeros(),
            time: 1,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 0,
        },
        txdata,
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    block
}

/// A core at height 800,000 watching `WATCHED` outpoints and `txids` transactions.
fn core(tip: BlockRef, txids: &[Txid]) -> TxNotifier {
    let mut core = TxNotifier::new(tip, 144);
    let hint = BlockHeight(tip.height.0 + 1);
    for i in 0..WATCHED {
        let request = SpendRequest {
            outpoint: outpoint(i),
            script: ScriptBuf::new(),
            height_hint: hint,
        };
        core.register_spend(SubscriptionId(u64::from(i)), &request)
            .unwrap();
    }
    for (i, txid) in (u64::from(WATCHED)..).zip(txids) {
        let request = ConfRequest {
            txid: *txid,
            script: ScriptBuf::new(),
            num_confs: 3,
            height_hint: hint,
        };
        core.register_confirmations(SubscriptionId(i), &request)
            .unwrap();
    }
    core
}

fn scan(c: &mut Criterion) {
    let tip = BlockRef {
        hash: BlockHash::from_byte_array([9; 32]),
        height: BlockHeight(800_000),
    };
    let block = block(tip.hash);
    let next = BlockHeight(800_001);
    // 1,000 watched txids, 10 of them in the block (a node always waits for some funding
    // transactions, and then every txid of the block must be computed).
    let txids: Vec<Txid> = (0..1_000u32)
        .map(|i| {
            if i < 10 {
                block.txdata[usize::try_from(1 + i * 7).unwrap()].compute_txid()
            } else {
                outpoint(3 * WATCHED + i).txid
            }
        })
        .collect();
    let cases = [
        (
            "connect_tip: 3,000 txs vs 100,000 watched outpoints",
            Vec::new(),
            MATCHES,
        ),
        (
            "connect_tip: 3,000 txs vs 100,000 watched outpoints + 1,000 txids",
            txids,
            MATCHES + 10,
        ),
    ];
    for (name, txids, expected) in cases {
        let mut core = core(tip, &txids);
        // Check the setup: the block wakes exactly the planned subscribers.
        let notes = core.connect_tip(&block, next).unwrap();
        assert_eq!(notes.len(), usize::try_from(expected).unwrap());
        core.disconnect_tip(next).unwrap();
        c.bench_function(name, |b| {
            b.iter(|| {
                let notes = core.connect_tip(black_box(&block), next).unwrap();
                let undone = core.disconnect_tip(next).unwrap();
                black_box((notes, undone))
            });
        });
    }
    c.bench_function("baseline: txids of 3,000 txs", |b| {
        b.iter(|| {
            black_box(&block)
                .txdata
                .iter()
                .map(Transaction::compute_txid)
                .fold(0u8, |acc, txid| acc ^ txid.to_byte_array()[0])
        });
    });
}

criterion_group!(benches, scan);
criterion_main!(benches);
