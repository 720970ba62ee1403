//! Funding transactions: coin selection, change, fee, signing, and the input locks that keep
//! concurrent reservations apart (BOLT 2 "The `funding_created` Message").

use bdk_wallet::KeychainKind;
use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::Message;
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::{
    ecdsa, transaction, Amount, CompressedPublicKey, FeeRate, Script, ScriptBuf, Sequence,
    Transaction, TxIn, TxOut, Txid, Witness,
};

use super::coins::{fee, funding_weight, Coin};
use super::lock::Lock;
use super::{LockId, OnchainWallet, WalletError};

/// A signed funding transaction, ready for `funding_created` and, once the peer's
/// `funding_signed` is persisted, for broadcast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FundingTx {
    /// The signed transaction. Its inputs are locked until `confirm_lock` or `release`.
    pub tx: Transaction,
    /// The index of the funding output (BOLT 2 `funding_output_index`).
    pub output_index: u16,
    /// The fee it pays (inputs minus outputs).
    pub fee: Amount,
    /// The index of the change output, if change was worth an output (not dust).
    pub change_output_index: Option<u16>,
}

impl FundingTx {
    /// The funding transaction's id (BOLT 2 `funding_txid`).
    pub fn txid(&self) -> Txid {
        self.tx.compute_txid()
    }
}

impl OnchainWallet {
    /// Builds and signs a transaction paying `amount` to `script_pubkey` (the channel's
    /// P2WSH 2-of-2, BOLT 3 "Funding Transaction Output") at `feerate`, and locks its inputs
    /// under `lock`.
    ///
    /// Inputs are confirmed, mature, unlocked P2WPKH outputs only: BOLT 2 requires segwit
    /// funding inputs so that nobody can malleate the funding txid the commitment
    /// transactions spend, and an unconfirmed parent could be replaced under us. Coin
    /// selection is largest first (see `select_coins`); change goes to a fresh internal
    /// address, and change below its dust limit goes to the fee. The fee is `feerate` times the estimated weight
    /// (signatures counted at their 72-byte maximum), with a floor of 1 sat/vB, the relay
    /// minimum; Core rounds vsize up to a whole vbyte, so above the floor the fee may fall
    /// short of `feerate` times vsize by less than one vbyte's worth. Calls with distinct
    /// lock ids never share an input.
    ///
    /// The change address index is persisted before returning; the lock is not (see
    /// [`LockId`]).
    pub fn build_funding(
        &mut self,
        lock: LockId,
        script_pubkey: &Script,
        amount: Amount,
        feerate: FeeRate,
    ) -> Result<FundingTx, WalletError> {
        if self.locks.contains(lock) {
            return Err(WalletError::LockInUse(lock));
        }
        if !script_pubkey.is_p2wsh() {
            return Err(WalletError::FundingScriptNotP2wsh);
        }
        if amount < script_pubkey.minimal_non_dust() {
            return Err(WalletError::AmountBelowDust(amount));
        }
        let feerate = feerate.max(FeeRate::BROADCAST_MIN);
        let coins = self.select_coins(amount, feerate)?;
        let input_sum: Amount = coins.iter().map(|c| c.txout.value).sum();
        let change_info = self.wallet.next_unused_address(KeychainKind::Internal);
        let change_script = change_info.address.script_pubkey();
        // Change pays for its own output; below its dust limit it goes to the fee instead.
        let change_value = input_sum
            .checked_sub(amount + fee(feerate, funding_weight(coins.len(), true)))
            .filter(|value| *value >= change_script.minimal_non_dust());
        let mut output = vec![TxOut {
            value: amount,
            script_pubkey: script_pubkey.to_owned(),
        }];
        if let Some(value) = change_value {
            output.push(TxOut {
                value,
                script_pubkey: change_script,
            });
            self.wallet
                .mark_used(KeychainKind::Internal, change_info.index);
        }
        // BIP 69 order: deterministic, and it says nothing about which output is change.
        output.sort_by(|a, b| (a.value, &a.script_pubkey).cmp(&(b.value, &b.script_pubkey)));
        let mut coins = coins;
        coins.sort_by_key(|c| c.outpoint);
        let tip = self.wallet.latest_checkpoint().height();
        let mut tx = Transaction {
            version: transaction::Version::TWO,
            // Anti fee sniping, as Core does: valid in the next block, not in a rewritten one.
            lock_time: LockTime::from_height(tip).unwrap_or(LockTime::ZERO),
            input: coins
                .iter()
                .map(|c| TxIn {
                    previous_output: c.outpoint,
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output,
        };
        let change = change_value.map(|_| change_info.index);
        let signed = self.sign(&mut tx, &coins).and_then(|()| {
            let output_index = tx
                .output
                .iter()
                .position(|out| {
                    out.script_pubkey.as_script() == script_pubkey && out.value == amount
                })
                .and_then(|i| u16::try_from(i).ok())
                .ok_or(WalletError::MissingFundingOutput)?;
            let change_output_index = change_value.and_then(|value| {
                tx.output
                    .iter()
                    .position(|out| out.value == value && out.script_pubkey != *script_pubkey)
                    .and_then(|i| u16::try_from(i).ok())
            });
            let paid: Amount = tx.output.iter().map(|o| o.value).sum();
            Ok((output_index, change_output_index, input_sum - paid))
        });
        let (output_index, change_output_index, fee) =
            match signed.and_then(|ok| self.persist().map(|()| ok)) {
                Ok(ok) => ok,
                Err(error) => {
                    // Hand the unused change address to the next reservation: no gap grows.
                    if let Some(index) = change {
                        self.wallet.unmark_used(KeychainKind::Internal, index);
                    }
                    return Err(error);
                }
            };
        self.locks.insert(
            lock,
            Lock {
                tx: tx.clone(),
                change_derivation_index: change,
            },
        );
        Ok(FundingTx {
            tx,
            output_index,
            fee,
            change_output_index,
        })
    }

    /// Cancels reservation `lock` (timeout, error, disconnect): its inputs become spendable
    /// again and its change address goes to the next reservation. Returns whether `lock` was
    /// held; releasing twice is harmless.
    pub fn release(&mut self, lock: LockId) -> bool {
        match self.locks.remove(lock) {
            Some(released) => {
                if let Some(index) = released.change_derivation_index {
                    self.wallet.unmark_used(KeychainKind::Internal, index);
                }
                true
            }
            None => false,
        }
    }

    /// Completes reservation `lock`: the funding transaction is being broadcast. It enters
    /// the wallet as unconfirmed (seen at `seen_at`, Unix seconds), is persisted, and the
    /// lock is dropped, since bdk now sees its inputs spent and its change pending.
    ///
    /// On a storage error the lock stays, so the call can be retried.
    pub fn confirm_lock(&mut self, lock: LockId, seen_at: u64) -> Result<Txid, WalletError> {
        let tx = self
            .locks
            .get(lock)
            .ok_or(WalletError::UnknownLock(lock))?
            .tx
            .clone();
        let txid = tx.compute_txid();
        self.wallet.apply_unconfirmed_txs([(tx.clone(), seen_at)]);
        if let Err(error) = self.persist() {
            self.invalidate_coins();
            return Err(error);
        }
        // Our own transaction: the cached coins lose its inputs, nothing else changes.
        self.spend_coins(&tx);
        self.locks.remove(lock);
        Ok(txid)
    }

    /// Signs every input (P2WPKH, SIGHASH_ALL, low-R) with the key of its coin's address,
    /// after checking that key's script is the one the coin pays.
    fn sign(&self, tx: &mut Transaction, coins: &[Coin]) -> Result<(), WalletError> {
        let secp = self.wallet.secp_ctx();
        let mut witnesses = Vec::with_capacity(coins.len());
        let mut cache = SighashCache::new(&*tx);
        for (input, coin) in coins.iter().enumerate() {
            let secret = self.keys.secret_key(secp, coin.keychain, coin.index)?;
            let public = bitcoin::PublicKey::new(secret.public_key(secp));
            let key = CompressedPublicKey::try_from(public)
                .map_err(|_| WalletError::Signing { input })?;
            if ScriptBuf::new_p2wpkh(&key.wpubkey_hash()) != coin.txout.script_pubkey {
                return Err(WalletError::NonSegwitInput(coin.outpoint));
            }
            let sighash = cache
                .p2wpkh_signature_hash(
                    input,
                    &coin.txout.script_pubkey,
                    coin.txout.value,
                    EcdsaSighashType::All,
                )
                .map_err(|_| WalletError::Signing { input })?;
            let message = Message::from_digest(sighash.to_byte_array());
            let signature = ecdsa::Signature::sighash_all(secp.sign_ecdsa_low_r(&message, &secret));
            witnesses.push(Witness::p2wpkh(&signature, &key.0));
        }
        for (txin, witness) in tx.input.iter_mut().zip(witnesses) {
            txin.witness = witness;
        }
        Ok(())
    }
}
