//! Throughput of the embedded regtest chain on the paths later scenarios lean on (many
//! channel opens batched into few blocks): admitting a transaction, filling and mining a
//! block of 200 spends, mining an empty block, and `getblock` verbosity 2 over JSON-RPC.

use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    absolute, transaction, Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Witness,
};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use petrel::regtest::rpc::{handle_body, RpcContext};
use petrel::regtest::{Regtest, RegtestConfig};

const T0: u64 = 1_700_000_000;
const FAN_OUT: usize = 200;

struct Wallet {
    key: SecretKey,
    script: ScriptBuf,
}

impl Wallet {
    fn new() -> Wallet {
        let key = SecretKey::from_slice(&[5u8; 32]).unwrap();
        let pubkey = CompressedPublicKey(key.public_key(&Secp256k1::new()));
        Wallet {
            key,
            script: ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash()),
        }
    }

    fn spend(&self, outpoint: OutPoint, value: Amount, outputs: Vec<TxOut>) -> Transaction {
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: outputs,
        };
        let secp = Secp256k1::new();
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(0, &self.script, value, EcdsaSighashType::All)
            .unwrap();
        let signature = secp.sign_ecdsa(&Message::from_digest(sighash.to_byte_array()), &self.key);
        let signature = bitcoin::ecdsa::Signature {
            signature,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&signature, &self.key.public_key(&secp));
        tx
    }
}

/// A chain with `FAN_OUT` confirmed outputs to the wallet, and one signed spend of each.
fn setup(wallet: &Wallet) -> (Regtest, Vec<Transaction>, u64) {
    let mut regtest = Regtest::in_memory(RegtestConfig::default()).unwrap();
    let mut now = T0;
    for _ in 0..101 {
        now += 1;
        regtest.generate(1, &wallet.script, now).unwrap();
    }
    let coinbase = regtest
        .block(&regtest.block_hash(1).unwrap())
        .unwrap()
        .txdata[0]
        .clone();
    let each = Amount::from_sat((coinbase.output[0].value.to_sat() - 100_000) / FAN_OUT as u64);
    let outputs = vec![
        TxOut {
            value: each,
            script_pubkey: wallet.script.clone()
        };
        FAN_OUT
    ];
    let fan = wallet.spend(
        OutPoint {
            txid: coinbase.compute_txid(),
            vout: 0,
        },
        coinbase.output[0].value,
        outputs,
    );
    let fan_txid = regtest.submit_transaction(fan, now).unwrap();
    now += 1;
    regtest.generate(1, &wallet.script, now).unwrap();
    let spends = (0..FAN_OUT)
        .map(|vout| {
            let outpoint = OutPoint {
                txid: fan_txid,
                vout: u32::try_from(vout).unwrap(),
            };
            let out = TxOut {
                value: each - Amount::from_sat(500),
                script_pubkey: wallet.script.clone(),
            };
            wallet.spend(outpoint, each, vec![out])
        })
        .collect();
    (regtest, spends, now)
}

fn benches(c: &mut Criterion) {
    let wallet = Wallet::new();
    let (mut regtest, spends, now) = setup(&wallet);

    c.bench_function("regtest/test_accept_p2wpkh_spend", |b| {
        b.iter(|| regtest.test_accept(&spends[0], now).unwrap());
    });

    let mut group = c.benchmark_group("regtest/block");
    group.sample_size(10);
    group.bench_function("submit_200_spends_and_mine", |b| {
        b.iter_batched(
            || setup(&wallet),
            |(mut chain, txs, now)| {
                for tx in txs {
                    chain.submit_transaction(tx, now).unwrap();
                }
                chain.generate(1, &wallet.script, now + 1).unwrap();
                chain
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();

    let mut tick = now;
    c.bench_function("regtest/generate_empty_block", |b| {
        b.iter(|| {
            tick += 1;
            regtest.generate(1, &wallet.script, tick).unwrap()
        });
    });

    for tx in &spends {
        regtest.submit_transaction(tx.clone(), tick).unwrap();
    }
    tick += 1;
    let full = regtest.generate(1, &wallet.script, tick).unwrap()[0];
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"getblock","params":["{full}",2]}}"#);
    let ctx = RpcContext {
        now: tick,
        started: T0,
        size_on_disk: 0,
    };
    c.bench_function("regtest/getblock_verbosity2_201_txs", |b| {
        b.iter(|| handle_body(&mut regtest, body.as_bytes(), &ctx));
    });
}

criterion_group!(regtest_benches, benches);
criterion_main!(regtest_benches);
