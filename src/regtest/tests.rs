//! In-process tests of the regtest chain: every rejection rule with a transaction that would
//! be valid but for that one fault, replacement, reorganisation and persistence.

use bitcoin::hashes::Hash;
use bitcoin::key::{Keypair, TapTweak};
use bitcoin::opcodes::all::{OP_CHECKSIG, OP_CSV, OP_DROP};
use bitcoin::script::Builder;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::transaction::Version;
use bitcoin::{absolute, CompressedPublicKey, Sequence, TxIn, Witness};

use super::*;

/// Start of the tests' virtual clock.
const T0: u64 = 1_700_000_000;

/// A wallet key and the chain it funds.
pub(super) struct Fixture {
    pub(super) regtest: Regtest,
    pub(super) key: SecretKey,
    /// The key's P2WPKH script.
    pub(super) script: ScriptBuf,
    /// Virtual clock, one second per block.
    pub(super) now: u64,
}

impl Fixture {
    /// A chain of `blocks` blocks, all paying the fixture key.
    pub(super) fn new(blocks: u32) -> Fixture {
        let regtest = Regtest::in_memory(RegtestConfig::default()).unwrap();
        let key = SecretKey::from_slice(&[7u8; 32]).unwrap();
        let secp = Secp256k1::new();
        let pubkey = CompressedPublicKey(key.public_key(&secp));
        let script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
        let mut fixture = Fixture {
            regtest,
            key,
            script,
            now: T0,
        };
        fixture.mine(blocks);
        fixture
    }

    pub(super) fn mine(&mut self, blocks: u32) -> Vec<BlockHash> {
        let mut hashes = Vec::new();
        for _ in 0..blocks {
            self.now += 1;
            let script = self.script.clone();
            hashes.extend(self.regtest.generate(1, &script, self.now).unwrap());
        }
        hashes
    }

    /// The coinbase output of the block at `height`.
    pub(super) fn coinbase(&self, height: u32) -> (OutPoint, TxOut) {
        let hash = self.regtest.block_hash(height).unwrap();
        let block = self.regtest.block(&hash).unwrap();
        let tx = &block.txdata[0];
        (
            OutPoint {
                txid: tx.compute_txid(),
                vout: 0,
            },
            tx.output[0].clone(),
        )
    }

    /// A signed P2WPKH spend of `prev` paying `outputs`.
    pub(super) fn spend(&self, prev: (OutPoint, TxOut), outputs: Vec<TxOut>) -> Transaction {
        self.spend_with(
            prev,
            outputs,
            Version::TWO,
            absolute::LockTime::ZERO,
            Sequence::MAX,
        )
    }

    #[allow(clippy::needless_pass_by_value)] // call sites read better with owned tuples
    fn spend_with(
        &self,
        prev: (OutPoint, TxOut),
        outputs: Vec<TxOut>,
        version: Version,
        lock_time: absolute::LockTime,
        sequence: Sequence,
    ) -> Transaction {
        let mut tx = Transaction {
            version,
            lock_time,
            input: vec![TxIn {
                previous_output: prev.0,
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output: outputs,
        };
        let secp = Secp256k1::new();
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(
                0,
                &prev.1.script_pubkey,
                prev.1.value,
                EcdsaSighashType::All,
            )
            .unwrap();
        let signature = secp.sign_ecdsa(&Message::from_digest(sighash.to_byte_array()), &self.key);
        let signature = bitcoin::ecdsa::Signature {
            signature,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&signature, &self.key.public_key(&secp));
        tx
    }

    /// One output to our own key of `sats`.
    pub(super) fn pay(&self, sats: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sats),
            script_pubkey: self.script.clone(),
        }
    }

    pub(super) fn submit(&mut self, tx: &Transaction) -> Result<Txid, SubmitError> {
        self.regtest.submit_transaction(tx.clone(), self.now)
    }

    pub(super) fn reject(&self, tx: &Transaction) -> TxReject {
        self.regtest
            .test_accept(tx, self.now)
            .expect_err("transaction should be refused")
    }
}

pub(super) const FIFTY_BTC: u64 = 5_000_000_000;

#[test]
fn fresh_chain_starts_at_genesis() {
    let regtest = Regtest::in_memory(RegtestConfig::default()).unwrap();
    assert_eq!(regtest.tip_height(), 0);
    assert_eq!(regtest.tip_hash(), params::genesis().block_hash());
}

#[test]
fn valid_spend_is_accepted_mined_and_confirmed() {
    let mut f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let accepted = f.regtest.test_accept(&tx, f.now).unwrap();
    assert_eq!(accepted.fee, Amount::from_sat(1_000));
    let txid = f.submit(&tx).unwrap();
    assert!(f.regtest.mempool().get(&txid).is_some());
    // Resubmitting a mempool transaction is a no-op success, as in Core.
    assert_eq!(f.submit(&tx), Ok(txid));
    let hash = f.mine(1)[0];
    assert!(f.regtest.mempool().is_empty());
    let (_, block) = f.regtest.transaction(&txid).unwrap();
    assert_eq!(block, Some(hash));
    // The coinbase collects the fee.
    let coinbase = &f.regtest.block(&hash).unwrap().txdata[0];
    assert_eq!(
        coinbase.output[0].value,
        Amount::from_sat(FIFTY_BTC + 1_000)
    );
    // Confirmed: a resubmission is "already in utxo set".
    assert_eq!(f.submit(&tx), Err(SubmitError::AlreadyInUtxoSet));
    assert_eq!(f.reject(&tx).reason, "txn-already-known");
}

#[test]
fn bad_signature_is_refused() {
    let f = Fixture::new(101);
    let mut tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    // Sign, then change the amount: the signature no longer commits to the transaction.
    tx.output[0].value = Amount::from_sat(FIFTY_BTC - 2_000);
    let reject = f.reject(&tx);
    assert!(
        reject
            .reason
            .starts_with("mempool-script-verify-flag-failed ("),
        "{reject}"
    );
    assert_eq!(reject.class, RejectClass::NotStandard);
}

#[test]
fn double_spend_of_confirmed_output_is_refused() {
    let mut f = Fixture::new(101);
    let first = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    f.submit(&first).unwrap();
    f.mine(1);
    let second = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 5_000)]);
    let reject = f.reject(&second);
    assert_eq!(reject.reason, "bad-txns-inputs-missingorspent");
    assert_eq!(reject.class, RejectClass::MissingInputs);
}

#[test]
fn spending_unknown_output_is_refused() {
    let f = Fixture::new(101);
    let (_, output) = f.coinbase(1);
    let unknown = OutPoint {
        txid: Txid::from_byte_array([9; 32]),
        vout: 0,
    };
    let tx = f.spend((unknown, output), vec![f.pay(FIFTY_BTC - 1_000)]);
    let reject = f.reject(&tx);
    assert_eq!(reject.reason, "bad-txns-inputs-missingorspent");
    assert_eq!(reject.class, RejectClass::MissingInputs);
}

#[test]
fn immature_coinbase_is_refused_until_100_deep() {
    let mut f = Fixture::new(100);
    // Tip 100: a spend of block 1's coinbase would enter block 101 at depth 100... but the
    // coinbase of block 2 is only 99 deep there.
    let tx = f.spend(f.coinbase(2), vec![f.pay(FIFTY_BTC - 1_000)]);
    let reject = f.reject(&tx);
    assert_eq!(reject.reason, "bad-txns-premature-spend-of-coinbase");
    assert_eq!(reject.details, "tried to spend coinbase at depth 99");
    f.mine(1);
    f.submit(&tx).unwrap();
}

#[test]
fn mempool_double_spend_needs_more_fee_and_feerate() {
    let mut f = Fixture::new(101);
    let original = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let original_txid = f.submit(&original).unwrap();
    // Same fee: rule 3 holds (not less) but rule 4 (pay for own relay) fails.
    let same_fee = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000), f.pay(1_000)]);
    let same_fee = {
        let mut outs = same_fee.output.clone();
        outs[0].value = Amount::from_sat(FIFTY_BTC - 2_000);
        f.spend(f.coinbase(1), outs)
    };
    assert_eq!(f.reject(&same_fee).reason, "insufficient fee");
    // Lower fee: rule 3 fails.
    let lower = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 500)]);
    let reject = f.reject(&lower);
    assert_eq!(reject.reason, "insufficient fee");
    assert!(
        reject.details.contains("less fees than conflicting txs"),
        "{reject}"
    );
    // Higher fee and rate: replaces.
    let better = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 5_000)]);
    let txid = f.submit(&better).unwrap();
    assert!(f.regtest.mempool().get(&original_txid).is_none());
    assert!(f.regtest.mempool().get(&txid).is_some());
    assert_eq!(f.regtest.mempool().len(), 1);
}

#[test]
fn replacement_evicts_descendants_too() {
    let mut f = Fixture::new(101);
    let parent = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let parent_txid = f.submit(&parent).unwrap();
    let child = f.spend(
        (
            OutPoint {
                txid: parent_txid,
                vout: 0,
            },
            parent.output[0].clone(),
        ),
        vec![f.pay(FIFTY_BTC - 2_000)],
    );
    f.submit(&child).unwrap();
    assert_eq!(f.regtest.mempool().len(), 2);
    // Must beat parent + child fees (2,000 sat) plus its own relay.
    let replacement = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 10_000)]);
    f.submit(&replacement).unwrap();
    assert_eq!(f.regtest.mempool().len(), 1);
}

#[test]
fn relative_locktime_not_met_is_refused() {
    let mut f = Fixture::new(101);
    let funding = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let funding_txid = f.submit(&funding).unwrap();
    f.mine(1);
    let prev = (
        OutPoint {
            txid: funding_txid,
            vout: 0,
        },
        funding.output[0].clone(),
    );
    // BIP68: 5 blocks relative; the coin has 1 confirmation.
    let tx = f.spend_with(
        prev.clone(),
        vec![f.pay(FIFTY_BTC - 2_000)],
        Version::TWO,
        absolute::LockTime::ZERO,
        Sequence::from_height(5),
    );
    assert_eq!(f.reject(&tx).reason, "non-BIP68-final");
    // Version 1 disables BIP68: the same sequence is no lock at all.
    let v1 = f.spend_with(
        prev,
        vec![f.pay(FIFTY_BTC - 2_000)],
        Version::ONE,
        absolute::LockTime::ZERO,
        Sequence::from_height(5),
    );
    f.regtest.test_accept(&v1, f.now).unwrap();
    // Four more blocks: the spend would enter at 5 confirmations' height.
    f.mine(3);
    assert_eq!(f.reject(&tx).reason, "non-BIP68-final");
    f.mine(1);
    f.submit(&tx).unwrap();
}

#[test]
fn checksequenceverify_script_enforces_the_sequence() {
    let mut f = Fixture::new(101);
    let secp = Secp256k1::new();
    let pubkey = bitcoin::PublicKey::new(f.key.public_key(&secp));
    let witness_script = Builder::new()
        .push_int(3)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_key(&pubkey)
        .push_opcode(OP_CHECKSIG)
        .into_script();
    let p2wsh = TxOut {
        value: Amount::from_sat(FIFTY_BTC - 1_000),
        script_pubkey: ScriptBuf::new_p2wsh(&witness_script.wscript_hash()),
    };
    let funding = f.spend(f.coinbase(1), vec![p2wsh.clone()]);
    let funding_txid = f.submit(&funding).unwrap();
    f.mine(5);
    let sign = |sequence: Sequence| {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: funding_txid,
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence,
                witness: Witness::new(),
            }],
            output: vec![f.pay(FIFTY_BTC - 2_000)],
        };
        let sighash = SighashCache::new(&tx)
            .p2wsh_signature_hash(0, &witness_script, p2wsh.value, EcdsaSighashType::All)
            .unwrap();
        let sig = secp.sign_ecdsa(&Message::from_digest(sighash.to_byte_array()), &f.key);
        let sig = bitcoin::ecdsa::Signature {
            signature: sig,
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::from_slice(&[sig.to_vec(), witness_script.to_bytes()]);
        tx
    };
    // Sequence 2 < the script's 3: BIP68 is satisfied (5 confirmations) but OP_CSV fails,
    // in Core's words (the differential test against Core v31 found the old guess wrong).
    let short = sign(Sequence::from_height(2));
    let reject = f.reject(&short);
    assert_eq!(
        reject.reason,
        "mempool-script-verify-flag-failed (Locktime requirement not satisfied)"
    );
    assert_eq!(
        reject.details,
        format!(
            "input 0 of {} (wtxid {}), spending {funding_txid}:0",
            short.compute_txid(),
            short.compute_wtxid()
        )
    );
    f.submit(&sign(Sequence::from_height(3))).unwrap();
}

#[test]
fn absolute_locktime_in_future_is_refused() {
    let mut f = Fixture::new(101);
    let height = f.regtest.tip_height();
    // Final in the next block only if lock_time < next height (102).
    let tx = f.spend_with(
        f.coinbase(1),
        vec![f.pay(FIFTY_BTC - 1_000)],
        Version::TWO,
        absolute::LockTime::from_height(height + 1).unwrap(),
        Sequence::ENABLE_LOCKTIME_NO_RBF,
    );
    assert_eq!(f.reject(&tx).reason, "non-final");
    f.mine(1);
    f.submit(&tx).unwrap();
    // A time lock is measured against the median time past.
    let future = f.spend_with(
        f.coinbase(2),
        vec![f.pay(FIFTY_BTC - 1_000)],
        Version::TWO,
        absolute::LockTime::from_time(u32::try_from(f.now).unwrap() + 3_600).unwrap(),
        Sequence::ENABLE_LOCKTIME_NO_RBF,
    );
    assert_eq!(f.reject(&future).reason, "non-final");
    // Sequence final on every input disables the lock time.
    let disabled = f.spend_with(
        f.coinbase(2),
        vec![f.pay(FIFTY_BTC - 1_000)],
        Version::TWO,
        absolute::LockTime::from_time(u32::try_from(f.now).unwrap() + 3_600).unwrap(),
        Sequence::MAX,
    );
    f.regtest.test_accept(&disabled, f.now).unwrap();
}

#[test]
fn dust_outputs_are_refused() {
    let f = Fixture::new(101);
    // One dust output with a fee: refused (ephemeral dust must pay no fee).
    let one = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_293), f.pay(293)]);
    let reject = f.reject(&one);
    assert_eq!(reject.reason, "dust");
    assert_eq!(reject.details, "tx with dust output must be 0-fee");
    // Two dust outputs: never standard.
    let two = f.spend(
        f.coinbase(1),
        vec![f.pay(FIFTY_BTC - 2_000), f.pay(100), f.pay(100)],
    );
    assert_eq!(f.reject(&two).reason, "dust");
    // At the threshold (294 sat for P2WPKH) it is not dust.
    let ok = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_294), f.pay(294)]);
    f.regtest.test_accept(&ok, f.now).unwrap();
}

#[test]
fn fee_below_min_relay_fee_is_refused() {
    let f = Fixture::new(101);
    // 110 vbytes at 100 sat/kvB needs 11 sat.
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 10)]);
    let reject = f.reject(&tx);
    assert_eq!(reject.reason, "min relay fee not met");
    assert_eq!(reject.class, RejectClass::Reconsiderable);
    let zero = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC)]);
    assert_eq!(f.reject(&zero).reason, "min relay fee not met");
    // A configured 1 sat/vB floor refuses what 0.1 sat/vB takes.
    let strict = Regtest::in_memory(RegtestConfig {
        mempool: MempoolOptions {
            min_relay: FeeRate(1000),
            ..MempoolOptions::default()
        },
        fee_estimate: None,
    });
    assert!(strict.is_ok());
    let cheap = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 50)]);
    f.regtest.test_accept(&cheap, f.now).unwrap();
}

#[test]
fn negative_fee_is_refused() {
    let f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC + 1)]);
    let reject = f.reject(&tx);
    assert_eq!(reject.reason, "bad-txns-in-belowout");
    assert_eq!(reject.details, "value in (50.00) < value out (50.00000001)");
}

#[test]
fn oversized_transaction_is_refused() {
    let f = Fixture::new(101);
    let data = vec![0u8; 100_001];
    let big = TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::from_bytes(
            [vec![0x6a, 0x4e], (100_001u32).to_le_bytes().to_vec(), data].concat(),
        ),
    };
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 200_000), big]);
    assert_eq!(f.reject(&tx).reason, "tx-size");
}

#[test]
fn duplicate_submission_reasons() {
    let mut f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    f.submit(&tx).unwrap();
    assert_eq!(f.reject(&tx).reason, "txn-already-in-mempool");
}

#[test]
fn taproot_key_path_spends_are_verified() {
    let mut f = Fixture::new(101);
    let secp = Secp256k1::new();
    let keypair = Keypair::from_secret_key(&secp, &f.key);
    let (internal, _) = keypair.x_only_public_key();
    let p2tr = TxOut {
        value: Amount::from_sat(FIFTY_BTC - 1_000),
        script_pubkey: ScriptBuf::new_p2tr(&secp, internal, None),
    };
    let funding = f.spend(f.coinbase(1), vec![p2tr.clone()]);
    let funding_txid = f.submit(&funding).unwrap();
    let build = |value: u64, sign_value: u64| {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: funding_txid,
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![f.pay(sign_value)],
        };
        let sighash = SighashCache::new(&tx)
            .taproot_key_spend_signature_hash(
                0,
                &Prevouts::All(std::slice::from_ref(&p2tr)),
                TapSighashType::Default,
            )
            .unwrap();
        let tweaked = keypair.tap_tweak(&secp, None);
        let sig = secp.sign_schnorr_no_aux_rand(
            &Message::from_digest(sighash.to_byte_array()),
            &tweaked.to_keypair(),
        );
        tx.input[0].witness = Witness::from_slice(&[sig.as_ref().to_vec()]);
        tx.output[0].value = Amount::from_sat(value);
        tx
    };
    let forged = build(FIFTY_BTC - 3_000, FIFTY_BTC - 2_000);
    let reject = f.reject(&forged);
    assert_eq!(
        reject.reason,
        "mempool-script-verify-flag-failed (Invalid Schnorr signature)"
    );
    f.submit(&build(FIFTY_BTC - 2_000, FIFTY_BTC - 2_000))
        .unwrap();
}

#[test]
fn generateblock_validates_given_transactions() {
    let mut f = Fixture::new(101);
    let script = f.script.clone();
    let bad = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC + 1)]);
    let err = f
        .regtest
        .generate_block(&script, vec![bad], f.now + 1, true)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("TestBlockValidity failed: bad-txns-in-belowout"),
        "{err}"
    );
    let good = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let child = f.spend(
        (
            OutPoint {
                txid: good.compute_txid(),
                vout: 0,
            },
            good.output[0].clone(),
        ),
        vec![f.pay(FIFTY_BTC - 2_000)],
    );
    let block = f
        .regtest
        .generate_block(&script, vec![good, child], f.now + 1, true)
        .unwrap();
    assert_eq!(f.regtest.tip_hash(), block.block_hash());
    assert_eq!(
        block.txdata[0].output[0].value,
        Amount::from_sat(FIFTY_BTC + 2_000)
    );
    assert!(block.check_witness_commitment());
}

#[test]
fn invalidate_returns_transactions_to_mempool_and_reconsider_restores() {
    let mut f = Fixture::new(101);
    let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let txid = f.submit(&tx).unwrap();
    let mined = f.mine(2);
    assert!(f.regtest.mempool().is_empty());
    f.regtest.invalidate_block(&mined[0], f.now).unwrap();
    assert_eq!(f.regtest.tip_height(), 101);
    assert!(
        f.regtest.mempool().get(&txid).is_some(),
        "back in the mempool"
    );
    assert_eq!(f.regtest.confirmations(&mined[0]), Some(-1));
    f.regtest.reconsider_block(&mined[0], f.now).unwrap();
    assert_eq!(f.regtest.tip_hash(), mined[1]);
    assert!(f.regtest.mempool().is_empty());
    assert_eq!(f.regtest.transaction(&txid).unwrap().1, Some(mined[0]));
}

#[test]
fn reorg_drops_spends_of_coinbases_that_become_immature() {
    let mut f = Fixture::new(101);
    // Spend block 2's coinbase (exactly 100 deep in block 102), then roll the tip back.
    let tx = f.spend(f.coinbase(2), vec![f.pay(FIFTY_BTC - 1_000)]);
    f.submit(&tx).unwrap();
    let tip = f.regtest.tip_hash();
    f.regtest.invalidate_block(&tip, f.now).unwrap();
    assert!(
        f.regtest.mempool().is_empty(),
        "immature again after the reorg"
    );
}

#[test]
fn chain_and_mempool_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::from_slice(&[7u8; 32]).unwrap();
    let secp = Secp256k1::new();
    let script = ScriptBuf::new_p2wpkh(&CompressedPublicKey(key.public_key(&secp)).wpubkey_hash());
    let (tip, txid) = {
        let regtest = Regtest::open(dir.path(), RegtestConfig::default(), T0).unwrap();
        let mut f = Fixture {
            regtest,
            key,
            script: script.clone(),
            now: T0,
        };
        f.mine(101);
        let tx = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
        f.submit(&tx).unwrap();
        f.mine(1);
        let pending = f.spend(f.coinbase(2), vec![f.pay(FIFTY_BTC - 1_000)]);
        let pending_txid = f.submit(&pending).unwrap();
        f.regtest.save_mempool().unwrap();
        (f.regtest.tip_hash(), pending_txid)
    };
    let mut regtest = Regtest::open(dir.path(), RegtestConfig::default(), T0 + 200).unwrap();
    assert_eq!(regtest.tip_hash(), tip);
    assert_eq!(regtest.tip_height(), 102);
    assert!(regtest.mempool().get(&txid).is_some());
    // The UTXO set came back: block 3's coinbase is spendable, block 1's is gone.
    let block1 = regtest
        .block(&regtest.block_hash(1).unwrap())
        .unwrap()
        .txdata[0]
        .compute_txid();
    assert!(regtest
        .tx_out(
            &OutPoint {
                txid: block1,
                vout: 0
            },
            false
        )
        .is_none());
    let block3 = regtest
        .block(&regtest.block_hash(3).unwrap())
        .unwrap()
        .txdata[0]
        .compute_txid();
    assert!(regtest
        .tx_out(
            &OutPoint {
                txid: block3,
                vout: 0
            },
            false
        )
        .is_some());
    // And the chain continues.
    regtest.generate(1, &script, T0 + 300).unwrap();
    assert_eq!(regtest.tip_height(), 103);
    assert!(regtest.mempool().is_empty());
}

#[test]
fn chainwork_and_mtp_are_tracked() {
    let f = Fixture::new(20);
    let tip = f.regtest.chainstate().tip();
    // Regtest blocks carry 2 units of work each, genesis included.
    let mut expected = [0u8; 32];
    expected[31] = 42;
    assert_eq!(tip.chainwork.to_be_bytes(), expected);
    // Times are T0+1..T0+20: the median of the last eleven is T0+15.
    assert_eq!(u64::from(tip.median_time_past), T0 + 15);
}

#[test]
fn truc_rules_apply_to_version_3() {
    let mut f = Fixture::new(103);
    let v3 = Version(3);
    let none = absolute::LockTime::ZERO;
    let parent = f.spend_with(
        f.coinbase(1),
        vec![f.pay(FIFTY_BTC - 1_000)],
        v3,
        none,
        Sequence::MAX,
    );
    let parent_txid = f.submit(&parent).unwrap();
    let parent_out = (
        OutPoint {
            txid: parent_txid,
            vout: 0,
        },
        parent.output[0].clone(),
    );
    // A version 2 child of a TRUC parent is refused.
    let v2_child = f.spend(parent_out.clone(), vec![f.pay(FIFTY_BTC - 2_000)]);
    let reject = f.reject(&v2_child);
    assert_eq!(reject.reason, "TRUC-violation");
    assert!(reject.details.starts_with("non-version=3 tx"), "{reject}");
    // A version 3 child is fine; a second one must evict it by paying more.
    let child = f.spend_with(
        parent_out.clone(),
        vec![f.pay(FIFTY_BTC - 2_000)],
        v3,
        none,
        Sequence::MAX,
    );
    let child_txid = f.submit(&child).unwrap();
    // Re-spending the same output would be a plain conflict; use a second output instead.
    let parent2 = f.spend_with(
        f.coinbase(2),
        vec![f.pay(FIFTY_BTC / 2), f.pay(FIFTY_BTC / 2 - 1_000)],
        v3,
        none,
        Sequence::MAX,
    );
    let parent2_txid = f.submit(&parent2).unwrap();
    let first = f.spend_with(
        (
            OutPoint {
                txid: parent2_txid,
                vout: 0,
            },
            parent2.output[0].clone(),
        ),
        vec![f.pay(FIFTY_BTC / 2 - 1_000)],
        v3,
        none,
        Sequence::MAX,
    );
    let first_txid = f.submit(&first).unwrap();
    let cheap_sibling = f.spend_with(
        (
            OutPoint {
                txid: parent2_txid,
                vout: 1,
            },
            parent2.output[1].clone(),
        ),
        vec![f.pay(FIFTY_BTC / 2 - 1_500)],
        v3,
        none,
        Sequence::MAX,
    );
    assert_eq!(
        f.reject(&cheap_sibling).reason,
        "insufficient fee (including sibling eviction)"
    );
    let rich_sibling = f.spend_with(
        (
            OutPoint {
                txid: parent2_txid,
                vout: 1,
            },
            parent2.output[1].clone(),
        ),
        vec![f.pay(FIFTY_BTC / 2 - 5_000)],
        v3,
        none,
        Sequence::MAX,
    );
    f.submit(&rich_sibling).unwrap();
    assert!(
        f.regtest.mempool().get(&first_txid).is_none(),
        "sibling evicted"
    );
    assert!(f.regtest.mempool().get(&child_txid).is_some());
    // A version 3 transaction over 10,000 vbytes is refused.
    let data = vec![0u8; 11_000];
    let big_data = TxOut {
        value: Amount::ZERO,
        script_pubkey: ScriptBuf::from_bytes(
            [vec![0x6a, 0x4d], 11_000u16.to_le_bytes().to_vec(), data].concat(),
        ),
    };
    let big = f.spend_with(
        f.coinbase(3),
        vec![f.pay(FIFTY_BTC - 20_000), big_data],
        v3,
        none,
        Sequence::MAX,
    );
    let reject = f.reject(&big);
    assert_eq!(reject.reason, "TRUC-violation");
    assert!(reject.details.contains("is too big"), "{reject}");
}

/// Found by the differential test against Core v31: blocks list packages best fee rate first
/// (Core's `addChunks` order), not in mempool entry order, so a block with the same
/// transactions has the same merkle root as Core's.
#[test]
fn blocks_order_transactions_by_fee_rate_parents_first() {
    let mut f = Fixture::new(102);
    let low = f.spend(f.coinbase(1), vec![f.pay(FIFTY_BTC - 1_000)]);
    let high = f.spend(f.coinbase(2), vec![f.pay(FIFTY_BTC - 20_000)]);
    let child = f.spend(
        (
            OutPoint {
                txid: low.compute_txid(),
                vout: 0,
            },
            low.output[0].clone(),
        ),
        vec![f.pay(FIFTY_BTC - 1_000 - 10_000)],
    );
    for tx in [&low, &high, &child] {
        f.submit(tx).unwrap();
    }
    let hash = f.mine(1)[0];
    let order: Vec<Txid> = f.regtest.block(&hash).unwrap().txdata[1..]
        .iter()
        .map(Transaction::compute_txid)
        .collect();
    assert_eq!(
        order,
        vec![
            high.compute_txid(),
            low.compute_txid(),
            child.compute_txid()
        ]
    );
}
