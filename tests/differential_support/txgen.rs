//! The transaction generator of the differential test: keys, the coins they can spend, and a
//! builder that signs every input, so each case can make a valid transaction and then break
//! exactly one rule of it.
//!
//! Signatures are RFC 6979 (deterministic) and low-S, so a transaction built once is the
//! same bytes on both chains; it is submitted as is to each.

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::script::Builder;
use bitcoin::opcodes::all::{OP_CHECKMULTISIG, OP_CSV, OP_PUSHNUM_2};
use bitcoin::secp256k1::{All, Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    Address, Amount, CompressedPublicKey, KnownHrp, OutPoint, PublicKey, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Witness,
};

/// What it takes to spend a coin.
#[derive(Clone, Debug)]
pub enum Spend {
    /// P2WPKH with this key.
    P2wpkh(SecretKey),
    /// P2WSH `OP_2 <a> <b> OP_2 OP_CHECKMULTISIG`, signed by `a` then `b`.
    Multisig2of2 {
        /// First key of the script.
        a: SecretKey,
        /// Second key of the script.
        b: SecretKey,
    },
    /// P2WSH `<blocks> OP_CHECKSEQUENCEVERIFY`: anyone may spend once the input's sequence
    /// carries a relative lock of at least `blocks`.
    Csv(u16),
}

/// An output the generator can spend.
#[derive(Clone, Debug)]
pub struct Coin {
    /// Where it is.
    pub outpoint: OutPoint,
    /// What it holds.
    pub output: TxOut,
    /// How to spend it.
    pub spend: Spend,
}

/// Keys and signing.
pub struct Signer {
    secp: Secp256k1<All>,
    /// The key of [`Signer::address`], which the funding coinbases pay.
    pub key: SecretKey,
}

impl Default for Signer {
    fn default() -> Signer {
        Signer::new()
    }
}

impl Signer {
    /// A signer with a fixed key: runs are reproducible.
    pub fn new() -> Signer {
        let key = SecretKey::from_slice(&[0x11; 32]).expect("valid key");
        Signer {
            secp: Secp256k1::new(),
            key,
        }
    }

    /// A further fixed key, one per `tag`.
    pub fn key(tag: u8) -> SecretKey {
        SecretKey::from_slice(&[tag.max(1); 32]).expect("valid key")
    }

    /// The compressed public key of `key`.
    pub fn public(&self, key: &SecretKey) -> PublicKey {
        PublicKey::new(key.public_key(&self.secp))
    }

    /// The P2WPKH address of `key`.
    pub fn address(&self, key: &SecretKey) -> Address {
        Address::p2wpkh(
            &CompressedPublicKey(key.public_key(&self.secp)),
            KnownHrp::Regtest,
        )
    }

    /// The witness script of a spend kind (P2WSH kinds only).
    pub fn witness_script(&self, spend: &Spend) -> Option<ScriptBuf> {
        match spend {
            Spend::P2wpkh(_) => None,
            Spend::Multisig2of2 { a, b } => Some(
                Builder::new()
                    .push_opcode(OP_PUSHNUM_2)
                    .push_key(&self.public(a))
                    .push_key(&self.public(b))
                    .push_opcode(OP_PUSHNUM_2)
                    .push_opcode(OP_CHECKMULTISIG)
                    .into_script(),
            ),
            Spend::Csv(blocks) => Some(
                Builder::new()
                    .push_int(i64::from(*blocks))
                    .push_opcode(OP_CSV)
                    .into_script(),
            ),
        }
    }

    /// The output script paying to a spend kind.
    pub fn script_pubkey(&self, spend: &Spend) -> ScriptBuf {
        match spend {
            Spend::P2wpkh(key) => self.address(key).script_pubkey(),
            other => {
                ScriptBuf::new_p2wsh(&self.witness_script(other).expect("p2wsh").wscript_hash())
            }
        }
    }

    /// An ECDSA signature (with the sighash byte) of input `index` spending `coin`.
    fn sign(&self, tx: &Transaction, index: usize, coin: &Coin, key: &SecretKey) -> Vec<u8> {
        let mut cache = SighashCache::new(tx);
        let sighash = match &coin.spend {
            Spend::P2wpkh(_) => cache
                .p2wpkh_signature_hash(
                    index,
                    &coin.output.script_pubkey,
                    coin.output.value,
                    EcdsaSighashType::All,
                )
                .expect("p2wpkh sighash"),
            other => cache
                .p2wsh_signature_hash(
                    index,
                    &self.witness_script(other).expect("p2wsh"),
                    coin.output.value,
                    EcdsaSighashType::All,
                )
                .expect("p2wsh sighash"),
        };
        let signature = self.secp.sign_ecdsa(&Message::from(sighash), key);
        bitcoin::ecdsa::Signature {
            signature,
            sighash_type: EcdsaSighashType::All,
        }
        .to_vec()
    }

    /// Fills in the witness of every input of `tx`, which spends `coins` in order.
    pub fn sign_all(&self, tx: &mut Transaction, coins: &[&Coin]) {
        for (index, coin) in coins.iter().enumerate() {
            let witness = match &coin.spend {
                Spend::P2wpkh(key) => {
                    let sig = self.sign(tx, index, coin, key);
                    let mut w = Witness::new();
                    w.push(sig);
                    w.push(self.public(key).to_bytes());
                    w
                }
                Spend::Multisig2of2 { a, b } => {
                    let sig_a = self.sign(tx, index, coin, a);
                    let sig_b = self.sign(tx, index, coin, b);
                    let script = self.witness_script(&coin.spend).expect("p2wsh");
                    Witness::from_slice(&[Vec::new(), sig_a, sig_b, script.to_bytes()])
                }
                Spend::Csv(_) => {
                    let script = self.witness_script(&coin.spend).expect("p2wsh");
                    Witness::from_slice(&[script.to_bytes()])
                }
            };
            tx.input[index].witness = witness;
        }
    }
}

/// An unsigned transaction under construction.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The coins spent, in input order.
    pub coins: Vec<Coin>,
    /// The transaction (witnesses empty until [`Draft::signed`]).
    pub tx: Transaction,
}

impl Draft {
    /// Version 2, lock time 0, every input signalling nothing (`0xfffffffd`: RBF irrelevant
    /// under full RBF, lock time enabled).
    pub fn new(coins: &[&Coin], outputs: Vec<TxOut>) -> Draft {
        let input = coins
            .iter()
            .map(|c| TxIn {
                previous_output: c.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            })
            .collect();
        Draft {
            coins: coins.iter().map(|c| (*c).clone()).collect(),
            tx: Transaction {
                version: Version::TWO,
                lock_time: LockTime::ZERO,
                input,
                output: outputs,
            },
        }
    }

    /// Total value of the coins spent.
    pub fn value_in(&self) -> Amount {
        self.coins.iter().map(|c| c.output.value).sum()
    }

    /// The signed transaction.
    pub fn signed(&self, signer: &Signer) -> Transaction {
        let mut tx = self.tx.clone();
        let coins: Vec<&Coin> = self.coins.iter().collect();
        signer.sign_all(&mut tx, &coins);
        tx
    }

    /// The signed transaction with its last output lowered so the fee is `fee(vsize)`, the
    /// virtual size being the signed transaction's own (re-signed until it settles, since a
    /// signature's length depends on what it signs).
    pub fn signed_with_fee(&self, signer: &Signer, fee: impl Fn(u64) -> Amount) -> Transaction {
        let mut draft = self.clone();
        let others: Amount = draft.tx.output.iter().rev().skip(1).map(|o| o.value).sum();
        let mut vsize = draft.signed(signer).vsize() as u64;
        for _ in 0..10 {
            let change = draft.value_in() - others - fee(vsize);
            if let Some(last) = draft.tx.output.last_mut() {
                last.value = change;
            }
            let tx = draft.signed(signer);
            let now = tx.vsize() as u64;
            if now == vsize {
                return tx;
            }
            vsize = now;
        }
        panic!("virtual size never settled");
    }
}

/// A fee of `rate` sat/kvB on `vsize`, rounded up as Core's `CFeeRate::GetFee` does.
pub fn fee_at(rate_sat_per_kvb: u64, vsize: u64) -> Amount {
    Amount::from_sat((rate_sat_per_kvb * vsize).div_ceil(1000))
}

/// An output of `sats` to `script`.
pub fn out(sats: u64, script: ScriptBuf) -> TxOut {
    TxOut {
        value: Amount::from_sat(sats),
        script_pubkey: script,
    }
}
