//! A one-key P2WPKH wallet for the LDK test node: it learns its coins from the blocks the node
//! is fed, and builds and signs funding transactions (one input, the funding output, change).

use bitcoin::secp256k1::{All, Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Address, Amount, Block, CompressedPublicKey, KnownHrp, OutPoint, ScriptBuf,
    Sequence, Transaction, TxIn, TxOut, Witness,
};

/// BIP 34 / consensus: a coinbase output is spendable 100 blocks after its own.
const COINBASE_MATURITY: u32 = 100;

/// The flat fee of a funding transaction (one P2WPKH input, two outputs: about 140 vbytes,
/// so about 7 sat/vB: above every relay floor).
pub const FUNDING_FEE: Amount = Amount::from_sat(1_000);

/// One unspent output of ours.
#[derive(Clone, Debug)]
struct Coin {
    outpoint: OutPoint,
    output: TxOut,
    height: u32,
    coinbase: bool,
}

/// The wallet.
#[derive(Debug)]
pub struct P2wpkhWallet {
    secp: Secp256k1<All>,
    key: SecretKey,
    /// The wallet's one address.
    pub address: Address,
    coins: Vec<Coin>,
    tip: u32,
}

impl P2wpkhWallet {
    /// A wallet whose key is `secret`.
    pub fn new(secret: [u8; 32]) -> P2wpkhWallet {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&secret).expect("valid key");
        let address = Address::p2wpkh(
            &CompressedPublicKey(key.public_key(&secp)),
            KnownHrp::Regtest,
        );
        P2wpkhWallet {
            secp,
            key,
            address,
            coins: Vec::new(),
            tip: 0,
        }
    }

    /// Takes in a block of the best chain at `height`: forgets spent coins, learns new ones.
    pub fn block_connected(&mut self, block: &Block, height: u32) {
        let ours = self.address.script_pubkey();
        for tx in &block.txdata {
            let spent: Vec<OutPoint> = tx.input.iter().map(|i| i.previous_output).collect();
            self.coins.retain(|c| !spent.contains(&c.outpoint));
            let txid = tx.compute_txid();
            for (vout, output) in tx.output.iter().enumerate() {
                if output.script_pubkey == ours {
                    self.coins.push(Coin {
                        outpoint: OutPoint::new(txid, u32::try_from(vout).unwrap()),
                        output: output.clone(),
                        height,
                        coinbase: tx.is_coinbase(),
                    });
                }
            }
        }
        self.tip = height;
    }

    /// The spendable balance at the tip (mature coinbases and everything else confirmed).
    pub fn spendable(&self) -> Amount {
        self.coins
            .iter()
            .filter(|c| self.is_mature(c))
            .map(|c| c.output.value)
            .sum()
    }

    fn is_mature(&self, coin: &Coin) -> bool {
        !coin.coinbase || self.tip + 1 >= coin.height + COINBASE_MATURITY
    }

    /// A signed transaction paying `value` to `script` (output 0) and the rest, minus
    /// [`FUNDING_FEE`], back to us; the coin it spends is no longer ours to spend.
    pub fn fund(&mut self, script: ScriptBuf, value: Amount) -> Transaction {
        let index = self
            .coins
            .iter()
            .position(|c| self.is_mature(c) && c.output.value >= value + FUNDING_FEE * 2)
            .expect("the LDK wallet has no coin large enough");
        let coin = self.coins.remove(index);
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: coin.outpoint,
                script_sig: ScriptBuf::new(),
                sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                witness: Witness::new(),
            }],
            output: vec![
                TxOut {
                    value,
                    script_pubkey: script,
                },
                TxOut {
                    value: coin.output.value - value - FUNDING_FEE,
                    script_pubkey: self.address.script_pubkey(),
                },
            ],
        };
        let sighash = SighashCache::new(&tx)
            .p2wpkh_signature_hash(
                0,
                &coin.output.script_pubkey,
                coin.output.value,
                EcdsaSighashType::All,
            )
            .expect("sighash");
        let signature = bitcoin::ecdsa::Signature {
            signature: self.secp.sign_ecdsa(&Message::from(sighash), &self.key),
            sighash_type: EcdsaSighashType::All,
        };
        tx.input[0].witness = Witness::p2wpkh(&signature, &self.key.public_key(&self.secp));
        tx
    }
}
