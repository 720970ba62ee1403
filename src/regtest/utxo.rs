//! The UTXO set: every unspent output of the active chain, with the height and coinbase flag
//! that coinbase maturity and BIP68 need (Core's `Coin` and `CCoinsView`).
//!
//! Held in memory as a hash map (lookups are O(1) whatever the chain length) and mirrored into
//! redb by the store, one table row per coin. Connecting a block spends coins and returns the
//! spent ones as undo data; disconnecting it puts them back.

use std::collections::HashMap;

use bitcoin::consensus::{encode, Decodable, Encodable};
use bitcoin::{Amount, Block, OutPoint, ScriptBuf, Transaction, TxOut};

/// An unspent output and where it was created (Core's `Coin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Coin {
    /// The output itself (value and scriptPubKey).
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u32,
    /// Whether it is a coinbase output (subject to maturity).
    pub is_coinbase: bool,
}

impl Coin {
    /// Serializes as `height:u32 LE | coinbase:u8 | value:u64 LE | script (consensus bytes)`.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(13 + self.output.script_pubkey.len() + 3);
        out.extend_from_slice(&self.height.to_le_bytes());
        out.push(u8::from(self.is_coinbase));
        out.extend_from_slice(&self.output.value.to_sat().to_le_bytes());
        // Writing into a Vec cannot fail.
        let _ = self.output.script_pubkey.consensus_encode(&mut out);
        out
    }

    /// Parses [`Coin::to_bytes`]; `None` on malformed bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<Coin> {
        let height = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
        let is_coinbase = *bytes.get(4)? != 0;
        let value = u64::from_le_bytes(bytes.get(5..13)?.try_into().ok()?);
        let mut rest = bytes.get(13..)?;
        let script = ScriptBuf::consensus_decode(&mut rest).ok()?;
        Some(Coin {
            output: TxOut {
                value: Amount::from_sat(value),
                script_pubkey: script,
            },
            height,
            is_coinbase,
        })
    }
}

/// The coins one block spent, in input order over its non-coinbase transactions (Core's
/// `CBlockUndo`); enough to disconnect the block again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BlockUndo {
    /// Spent coins, transaction by transaction, input by input.
    pub spent: Vec<Coin>,
}

impl BlockUndo {
    /// Serializes as a count followed by length-prefixed coins.
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(
            &u32::try_from(self.spent.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        for coin in &self.spent {
            let bytes = coin.to_bytes();
            out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        out
    }

    /// Parses [`BlockUndo::to_bytes`]; `None` on malformed bytes.
    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<BlockUndo> {
        let count = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
        let mut pos = 4usize;
        // Never trust a stored count for the allocation: grow as coins actually parse.
        let mut spent = Vec::new();
        for _ in 0..count {
            let len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
            pos += 4;
            spent.push(Coin::from_bytes(bytes.get(pos..pos.checked_add(len)?)?)?);
            pos += len;
        }
        Some(BlockUndo { spent })
    }
}

/// Encodes an outpoint as the 36-byte store key (txid bytes, then vout LE).
pub(crate) fn outpoint_key(outpoint: &OutPoint) -> [u8; 36] {
    let mut key = [0u8; 36];
    let bytes = encode::serialize(outpoint);
    key.copy_from_slice(&bytes);
    key
}

/// Decodes [`outpoint_key`].
pub(crate) fn outpoint_from_key(key: &[u8; 36]) -> Option<OutPoint> {
    encode::deserialize(key).ok()
}

/// A change to the UTXO set, as the store must replay it.
#[derive(Clone, Debug)]
pub(crate) enum CoinChange {
    /// The coin now exists.
    Add(OutPoint, Coin),
    /// The coin is gone.
    Spend(OutPoint),
}

/// The unspent outputs of the active chain.
#[derive(Clone, Debug, Default)]
pub(crate) struct UtxoSet {
    /// Every unspent output by outpoint.
    coins: HashMap<OutPoint, Coin>,
}

impl UtxoSet {
    /// An empty set.
    pub(crate) fn new() -> UtxoSet {
        UtxoSet::default()
    }

    /// The coin at `outpoint`, if unspent.
    pub(crate) fn get(&self, outpoint: &OutPoint) -> Option<&Coin> {
        self.coins.get(outpoint)
    }

    /// Inserts a coin (used when loading from the store).
    pub(crate) fn insert(&mut self, outpoint: OutPoint, coin: Coin) {
        self.coins.insert(outpoint, coin);
    }

    /// Spends the inputs and adds the outputs of an already validated block at `height`.
    /// Returns the undo data and the list of changes for the store.
    ///
    /// Unspendable outputs (`OP_RETURN`) never enter the set, as in Core (`AddCoin`).
    pub(crate) fn connect_block(
        &mut self,
        block: &Block,
        height: u32,
    ) -> (BlockUndo, Vec<CoinChange>) {
        let mut undo = BlockUndo::default();
        let mut changes = Vec::new();
        for tx in &block.txdata {
            self.connect_tx(tx, height, &mut undo, &mut changes);
        }
        (undo, changes)
    }

    fn connect_tx(
        &mut self,
        tx: &Transaction,
        height: u32,
        undo: &mut BlockUndo,
        changes: &mut Vec<CoinChange>,
    ) {
        let is_coinbase = tx.is_coinbase();
        if !is_coinbase {
            for input in &tx.input {
                if let Some(coin) = self.coins.remove(&input.previous_output) {
                    undo.spent.push(coin);
                    changes.push(CoinChange::Spend(input.previous_output));
                }
            }
        }
        let txid = tx.compute_txid();
        for (vout, output) in tx.output.iter().enumerate() {
            if output.script_pubkey.is_op_return() {
                continue;
            }
            let Ok(vout) = u32::try_from(vout) else {
                continue;
            };
            let outpoint = OutPoint { txid, vout };
            let coin = Coin {
                output: output.clone(),
                height,
                is_coinbase,
            };
            self.coins.insert(outpoint, coin.clone());
            changes.push(CoinChange::Add(outpoint, coin));
        }
    }

    /// Reverses [`UtxoSet::connect_block`]: removes the block's outputs and restores the coins
    /// it spent. Returns the changes for the store.
    pub(crate) fn disconnect_block(&mut self, block: &Block, undo: &BlockUndo) -> Vec<CoinChange> {
        let mut changes = Vec::new();
        // Walk the spent coins backwards in step with the transactions, last one first.
        let mut spent = undo.spent.iter().rev();
        for tx in block.txdata.iter().rev() {
            let txid = tx.compute_txid();
            for vout in 0..tx.output.len() {
                let Ok(vout) = u32::try_from(vout) else {
                    continue;
                };
                let outpoint = OutPoint { txid, vout };
                if self.coins.remove(&outpoint).is_some() {
                    changes.push(CoinChange::Spend(outpoint));
                }
            }
            if tx.is_coinbase() {
                continue;
            }
            for input in tx.input.iter().rev() {
                if let Some(coin) = spent.next() {
                    self.coins.insert(input.previous_output, coin.clone());
                    changes.push(CoinChange::Add(input.previous_output, coin.clone()));
                }
            }
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coin_and_undo_round_trip() {
        let coin = Coin {
            output: TxOut {
                value: Amount::from_sat(1234),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
            },
            height: 77,
            is_coinbase: true,
        };
        assert_eq!(Coin::from_bytes(&coin.to_bytes()), Some(coin.clone()));
        let undo = BlockUndo {
            spent: vec![coin.clone(), coin],
        };
        assert_eq!(BlockUndo::from_bytes(&undo.to_bytes()), Some(undo));
        assert_eq!(Coin::from_bytes(&[1, 2, 3]), None);
        assert_eq!(BlockUndo::from_bytes(&[5, 0, 0, 0]), None);
    }
}
