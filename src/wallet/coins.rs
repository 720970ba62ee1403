//! The coins a funding transaction may spend, and the largest-first choice among them.
//!
//! bdk answers "which outputs are unspent" by canonicalizing its whole transaction graph, and
//! checking each confirmation walks its chain of checkpoints: with a thousand coins, a
//! thousand blocks and a thousand pending opens that is tens of milliseconds per question.
//! The wallet asks once per change of its view and keeps the answer here; its own funding
//! broadcasts update the answer in place instead of invalidating it.

use std::collections::HashSet;

use bdk_wallet::chain::ChainPosition;
use bdk_wallet::KeychainKind;
use bitcoin::{Amount, FeeRate, OutPoint, Transaction, TxOut, Weight};

use super::{OnchainWallet, WalletError};

/// Confirmations a coinbase output needs before it can be spent (Core's
/// `COINBASE_MATURITY`): a coinbase of height `h` can be spent in block `h + 100`.
const COINBASE_MATURITY: u32 = 100;

/// Whether an output confirmed at `height` can be spent in the block after `tip`: always,
/// unless it is a coinbase less than [`COINBASE_MATURITY`] blocks deep by then.
pub(super) fn spendable_after(coinbase: bool, height: u32, tip: u32) -> bool {
    !coinbase || (tip + 1).saturating_sub(height) >= COINBASE_MATURITY
}

/// A confirmed wallet output, with what it takes to spend it.
#[derive(Clone, Debug)]
pub(super) struct Coin {
    /// Where it is.
    pub(super) outpoint: OutPoint,
    /// Its value and P2WPKH script.
    pub(super) txout: TxOut,
    /// Receiving or change address.
    pub(super) keychain: KeychainKind,
    /// The address index within `keychain`.
    pub(super) index: u32,
    /// The height of the block that confirmed it.
    pub(super) height: u32,
    /// Whether it is a coinbase output (spendable only once mature).
    pub(super) coinbase: bool,
}

/// The weight of a funding transaction with `inputs` P2WPKH inputs, one P2WSH output and,
/// if `change`, one P2WPKH change output, with every signature at its 72-byte maximum.
pub(super) fn funding_weight(inputs: usize, change: bool) -> Weight {
    let inputs = u64::try_from(inputs).unwrap_or(u64::MAX / 1024);
    let outputs = if change { 2 } else { 1 };
    // version, locktime, input and output counts (one byte each below 253 entries).
    let count_len = |n: u64| if n < 253 { 1 } else { 3 };
    let base = 4 + 4 + count_len(inputs) + count_len(outputs) + 41 * inputs
        + 43 // P2WSH output: value, script length, 34-byte script
        + if change { 31 } else { 0 }; // P2WPKH output: value, length, 22-byte script
                                       // Segwit marker and flag; per input: item count, 72-byte signature, 33-byte key.
    Weight::from_wu(4 * base + 2 + 108 * inputs)
}

/// `feerate` times `weight`, rounded up to the next satoshi.
pub(super) fn fee(feerate: FeeRate, weight: Weight) -> Amount {
    let millisats = u128::from(feerate.to_sat_per_kwu()) * u128::from(weight.to_wu());
    Amount::from_sat(u64::try_from(millisats.div_ceil(1000)).unwrap_or(u64::MAX))
}

impl OnchainWallet {
    /// Every confirmed unspent wallet output, mature or not, locked or not: computed from
    /// bdk's view on first use after a change.
    pub(super) fn coins(&mut self) -> &[Coin] {
        if self.coins.is_none() {
            let coins = self
                .wallet
                .list_unspent()
                .filter_map(|utxo| match utxo.chain_position {
                    ChainPosition::Confirmed { anchor, .. } => Some(Coin {
                        outpoint: utxo.outpoint,
                        coinbase: self
                            .wallet
                            .tx_graph()
                            .get_tx(utxo.outpoint.txid)
                            .is_some_and(|tx| tx.is_coinbase()),
                        txout: utxo.txout,
                        keychain: utxo.keychain,
                        index: utxo.derivation_index,
                        height: anchor.block_id.height,
                    }),
                    ChainPosition::Unconfirmed { .. } => None,
                })
                .collect();
            self.coins = Some(coins);
        }
        self.coins.as_deref().unwrap_or_default()
    }

    /// Forgets the cached coins: the wallet's view changed (a block, a reorg, a transaction
    /// from outside).
    pub(super) fn invalidate_coins(&mut self) {
        self.coins = None;
    }

    /// Updates the cached coins for a transaction of ours now in the wallet as unconfirmed:
    /// its inputs are spent; its outputs are unconfirmed, so never coins.
    pub(super) fn spend_coins(&mut self, tx: &Transaction) {
        if let Some(coins) = &mut self.coins {
            let spent: HashSet<OutPoint> = tx.input.iter().map(|i| i.previous_output).collect();
            coins.retain(|coin| !spent.contains(&coin.outpoint));
        }
    }

    /// Largest-first coin selection over confirmed, mature, unlocked coins: the fewest that
    /// pay `amount` plus the fee of the funding transaction without change at `feerate`.
    /// O(n log n) in the number of coins.
    pub(super) fn select_coins(
        &mut self,
        amount: Amount,
        feerate: FeeRate,
    ) -> Result<Vec<Coin>, WalletError> {
        let tip = self.wallet.latest_checkpoint().height();
        let mut candidates: Vec<Coin> = self
            .coins()
            .iter()
            .filter(|c| spendable_after(c.coinbase, c.height, tip))
            .cloned()
            .collect();
        let locked = self.locks.locked_set();
        candidates.retain(|c| !locked.contains(&c.outpoint));
        candidates.sort_by(|a, b| (b.txout.value, a.outpoint).cmp(&(a.txout.value, b.outpoint)));
        let available: Amount = candidates.iter().map(|c| c.txout.value).sum();
        let mut sum = Amount::ZERO;
        let mut count = 0;
        for coin in &candidates {
            sum += coin.txout.value;
            count += 1;
            if sum >= amount + fee(feerate, funding_weight(count, false)) {
                candidates.truncate(count);
                return Ok(candidates);
            }
        }
        Err(WalletError::InsufficientFunds {
            needed: amount + fee(feerate, funding_weight(count.max(1), false)),
            available,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimate matches a real serialization: 41 bytes per input, 43 and 31 per output.
    #[test]
    fn funding_weight_counts_bytes_as_bitcoin_does() {
        // 1 input, 1 P2WSH output: 94 base bytes, 376 + 2 + 108 weight units.
        assert_eq!(funding_weight(1, false), Weight::from_wu(486));
        assert_eq!(funding_weight(1, true), Weight::from_wu(486 + 124));
        assert_eq!(
            funding_weight(2, true).to_wu() - funding_weight(1, true).to_wu(),
            164 + 108
        );
    }

    #[test]
    fn fee_rounds_up() {
        let one_sat_vb = FeeRate::from_sat_per_vb_u32(1);
        assert_eq!(fee(one_sat_vb, Weight::from_wu(486)), Amount::from_sat(122));
        assert_eq!(fee(one_sat_vb, Weight::from_wu(484)), Amount::from_sat(121));
    }
}
