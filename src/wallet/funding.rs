//! Funding transactions: coin selection, change, fee, signing, and the input locks that keep
//! concurrent reservations apart (BOLT 2 "The `funding_created` Message").

use bdk_wallet::coin_selection::InsufficientFunds;
use bdk_wallet::error::CreateTxError;
use bdk_wallet::{KeychainKind, SignOptions};
use bitcoin::psbt::{Psbt, SigningKeys};
use bitcoin::{Amount, FeeRate, Script, Transaction, Txid};

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
    /// selection is bdk's branch-and-bound (a changeless match when one exists) with a
    /// single-random-draw fallback; change goes to a fresh internal address, and change below
    /// its dust limit goes to the fee. The fee is `feerate` times the estimated weight
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
        let feerate = feerate.max(FeeRate::BROADCAST_MIN);
        let mut psbt = {
            let mut builder = self.wallet.build_tx();
            builder
                .add_recipient(script_pubkey.to_owned(), amount)
                .fee_rate(feerate);
            for outpoint in self.locks.outpoints() {
                builder.add_unspendable(outpoint);
            }
            // After the locks: this adds the unconfirmed outputs to the same exclusion set.
            builder.exclude_unconfirmed();
            builder
                .finish()
                .map_err(|error| create_error(error, amount))?
        };
        // `finish` revealed and marked used the change address, if there is change.
        let change = psbt
            .unsigned_tx
            .output
            .iter()
            .enumerate()
            .find_map(
                |(i, out)| match self.wallet.derivation_of_spk(out.script_pubkey.clone()) {
                    Some((KeychainKind::Internal, index)) => Some((i, index)),
                    _ => None,
                },
            );
        let signed = self.sign(&mut psbt).and_then(|fee| {
            let output_index = psbt
                .unsigned_tx
                .output
                .iter()
                .position(|out| {
                    out.script_pubkey.as_script() == script_pubkey && out.value == amount
                })
                .and_then(|i| u16::try_from(i).ok())
                .ok_or(WalletError::MissingFundingOutput)?;
            let tx = psbt.extract_tx().map_err(Box::new)?;
            Ok((tx, output_index, fee))
        });
        let (tx, output_index, fee) = match signed.and_then(|ok| self.persist().map(|()| ok)) {
            Ok(ok) => ok,
            Err(error) => {
                // Hand the unused change address to the next reservation: no gap grows.
                if let Some((_, index)) = change {
                    self.wallet.unmark_used(KeychainKind::Internal, index);
                }
                return Err(error);
            }
        };
        self.locks.insert(
            lock,
            Lock {
                tx: tx.clone(),
                change_derivation_index: change.map(|(_, index)| index),
            },
        );
        Ok(FundingTx {
            tx,
            output_index,
            fee,
            change_output_index: change.and_then(|(i, _)| u16::try_from(i).ok()),
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
        self.apply_unconfirmed(tx, seen_at)?;
        self.locks.remove(lock);
        Ok(txid)
    }

    /// Checks that every input spends a segwit output, signs every input with the master
    /// key along its BIP84 path, and finalizes the witnesses. Returns the fee.
    fn sign(&self, psbt: &mut Psbt) -> Result<Amount, WalletError> {
        for (txin, input) in psbt.unsigned_tx.input.iter().zip(&psbt.inputs) {
            let segwit = input
                .witness_utxo
                .as_ref()
                .is_some_and(|prevout| prevout.script_pubkey.is_witness_program());
            if !segwit {
                return Err(WalletError::NonSegwitInput(txin.previous_output));
            }
        }
        let fee = psbt.fee()?;
        let signed = match psbt.sign(&self.keys.master, self.wallet.secp_ctx()) {
            Ok(signed) => signed,
            Err((_, errors)) => {
                let input = errors.keys().next().copied().unwrap_or_default();
                return Err(WalletError::Signing { input });
            }
        };
        for input in 0..psbt.inputs.len() {
            let has_key =
                matches!(signed.get(&input), Some(SigningKeys::Ecdsa(keys)) if !keys.is_empty());
            if !has_key {
                return Err(WalletError::Signing { input });
            }
        }
        if !self.wallet.finalize_psbt(psbt, SignOptions::default())? {
            return Err(WalletError::NotFinalized);
        }
        Ok(fee)
    }
}

/// Maps bdk's transaction-building errors to ours.
fn create_error(error: CreateTxError, amount: Amount) -> WalletError {
    match error {
        CreateTxError::CoinSelection(InsufficientFunds { needed, available }) => {
            WalletError::InsufficientFunds { needed, available }
        }
        CreateTxError::OutputBelowDustLimit(_) => WalletError::AmountBelowDust(amount),
        other => WalletError::CreateTx(Box::new(other)),
    }
}
