//! [`OnchainWallet`]: bdk's wallet, persisted in redb, fed blocks by the chain notifier.

use std::fmt;
use std::sync::Arc;

use bdk_wallet::chain::local_chain;
use bdk_wallet::chain::{BlockId, ChainPosition};
use bdk_wallet::{
    ChangeSet, CreateWithPersistError, KeychainKind, LoadError, LoadWithPersistError,
    PersistedWallet, Wallet,
};
use bitcoin::secp256k1::Secp256k1;
use bitcoin::{Address, Block, BlockHash, Network, Transaction};
use redb::Database;

use super::coins::{spendable_after, Coin};
use super::descriptor::Bip84Keys;
use super::lock::Locks;
use super::persister::RedbPersister;
use super::{Balance, WalletError};
use crate::units::BlockHeight;

/// How many addresses past the last revealed one (per keychain) the wallet watches.
///
/// A restored wallet finds a payment only if its address is within this many of the last
/// address seen paid: BIP44 suggests 20; 100 leaves room for `newaddress` calls that were
/// never paid, at the cost of deriving 200 more scripts on open.
const LOOKAHEAD: u32 = 100;

/// The node's on-chain wallet: BIP84 keys from the node seed, UTXOs from the blocks the
/// chain notifier delivers, funding transactions with locked inputs.
///
/// Calling contract (the wallet actor is its only caller; nothing here is async):
/// - [`open`](Self::open) once at start-up with the node seed and the node's redb database.
/// - Feed every `BlockEvent` of the chain notifier, in order: `Connected` to
///   [`apply_block`](Self::apply_block), `Disconnected` to
///   [`disconnect_block`](Self::disconnect_block). Subscribe with
///   [`tip`](Self::tip) as the best known block, so the notifier replays what the wallet
///   missed. After start-up, re-insert unconfirmed funding transactions the node persisted
///   with [`apply_unconfirmed`](Self::apply_unconfirmed).
/// - Funding: [`build_funding`](Self::build_funding) locks inputs under a
///   [`LockId`](super::LockId); then exactly one of [`confirm_lock`](Self::confirm_lock)
///   (broadcast) or [`release`](Self::release) (cancelled).
///
/// Every method that changes wallet state commits its redb write before returning `Ok`.
pub struct OnchainWallet {
    /// bdk's wallet (keys are public only; signing uses `keys.master`).
    pub(super) wallet: PersistedWallet<RedbPersister>,
    /// The changeset log in the node's database.
    pub(super) persister: RedbPersister,
    /// The seed's master key and the descriptors bdk was created with.
    pub(super) keys: Bip84Keys,
    /// The chain this wallet lives on.
    network: Network,
    /// Inputs held by pending funding reservations (memory only).
    pub(super) locks: Locks,
    /// Confirmed unspent outputs as of the last change of bdk's view (`None`: ask bdk again).
    pub(super) coins: Option<Vec<Coin>>,
}

impl fmt::Debug for OnchainWallet {
    /// Shows where the wallet stands, never its keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnchainWallet")
            .field("network", &self.network)
            .field("tip", &self.tip())
            .field("locks", &self.locks.ids().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl OnchainWallet {
    /// Opens the wallet stored in `db`, or creates it there on first use.
    ///
    /// `seed` is the node seed (the node stores it; the wallet never writes it). A database
    /// that already holds a wallet of another seed or network is refused with
    /// [`WalletError::StoredWalletMismatch`]: two wallets never share a table.
    pub fn open(
        seed: &[u8; 32],
        network: Network,
        db: Arc<Database>,
    ) -> Result<OnchainWallet, WalletError> {
        let keys = Bip84Keys::from_seed(&Secp256k1::signing_only(), seed, network)?;
        let mut persister = RedbPersister::new(db);
        let wallet = match load(&mut persister, &keys, network)? {
            Some(wallet) => wallet,
            None => Wallet::create(keys.external.clone(), keys.internal.clone())
                .network(network)
                .lookahead(LOOKAHEAD)
                .create_wallet(&mut persister)
                .map_err(|error| match error {
                    CreateWithPersistError::Persist(error) => error,
                    CreateWithPersistError::Descriptor(error) => WalletError::Descriptor(error),
                    CreateWithPersistError::DataAlreadyExists(_) => WalletError::CreateRace,
                })?,
        };
        Ok(OnchainWallet {
            wallet,
            persister,
            keys,
            network,
            locks: Locks::default(),
            coins: None,
        })
    }

    /// The chain this wallet lives on.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Reveals the next unused-index receiving address (BIP84 `…/0/i`) and persists the new
    /// index, so that a restart never hands out the same address twice.
    pub fn next_address(&mut self) -> Result<Address, WalletError> {
        let info = self.wallet.reveal_next_address(KeychainKind::External);
        self.persist()?;
        Ok(info.address)
    }

    /// The derivation index the next [`next_address`](Self::next_address) will reveal.
    pub fn next_address_index(&self) -> u32 {
        self.wallet.next_derivation_index(KeychainKind::External)
    }

    /// Whether `script_pubkey` belongs to this wallet (either keychain, within the lookahead).
    pub fn is_mine(&self, script_pubkey: &bitcoin::Script) -> bool {
        self.wallet.is_mine(script_pubkey.to_owned())
    }

    /// The wallet's block at the tip of its chain: the notifier's "best known" block.
    pub fn tip(&self) -> (BlockHeight, BlockHash) {
        let tip = self.wallet.latest_checkpoint();
        (BlockHeight(tip.height()), tip.hash())
    }

    /// The balance, split into confirmed, unconfirmed, locked and immature (see [`Balance`]).
    pub fn balance(&self) -> Balance {
        let tip = self.wallet.latest_checkpoint().height();
        let mut balance = Balance::default();
        let locked = self.locks.locked_set();
        for utxo in self.wallet.list_unspent() {
            let value = utxo.txout.value;
            if locked.contains(&utxo.outpoint) {
                balance.locked += value;
                continue;
            }
            match utxo.chain_position {
                ChainPosition::Confirmed { anchor, .. } => {
                    // The raw graph lookup: `Wallet::get_tx` canonicalizes the whole graph on
                    // every call.
                    let coinbase = self
                        .wallet
                        .tx_graph()
                        .get_tx(utxo.outpoint.txid)
                        .is_some_and(|tx| tx.is_coinbase());
                    if spendable_after(coinbase, anchor.block_id.height, tip) {
                        balance.confirmed += value;
                    } else {
                        balance.immature += value;
                    }
                }
                ChainPosition::Unconfirmed { .. } => balance.unconfirmed += value,
            }
        }
        balance
    }

    /// Connects `block` at `height` (a notifier `Connected` event) and persists what it
    /// changed: the block hash, and any transaction paying or spending the wallet.
    ///
    /// A block at a height the wallet already has, with another hash, replaces the wallet's
    /// block there and every block above it (a reorg), provided its parent is the wallet's
    /// block at `height - 1`. Transactions of the replaced blocks count as unconfirmed again
    /// (Core returns them to its mempool) unless the new branch confirms a conflict; their
    /// coinbases vanish. A block whose parent the wallet does not have is refused with
    /// [`WalletError::BlockNotConnected`]: deliver the blocks in between first.
    pub fn apply_block(&mut self, block: &Block, height: BlockHeight) -> Result<(), WalletError> {
        let hash = block.block_hash();
        let connected_to = match height.0.checked_sub(1) {
            Some(parent) => BlockId {
                height: parent,
                hash: block.header.prev_blockhash,
            },
            None => BlockId { height: 0, hash },
        };
        self.wallet
            .apply_block_connected_to(block, height.0, connected_to)
            .map_err(|_| WalletError::BlockNotConnected { height, hash })?;
        self.invalidate_coins();
        self.persist()
    }

    /// Disconnects the wallet's block `hash` at `height` and every block above it (a notifier
    /// `Disconnected` event). Transactions confirmed only there count as unconfirmed again
    /// (as Core returns them to its mempool) unless a conflict confirms; their coinbases
    /// vanish.
    ///
    /// Returns `false` (and changes nothing) if the wallet has no such block. bdk has no
    /// in-place disconnect, so this appends the removal to the log and reloads the wallet from
    /// it: costly, but reorgs are rare and the next `Connected` block alone would also
    /// replace the stale one.
    pub fn disconnect_block(
        &mut self,
        height: BlockHeight,
        hash: BlockHash,
    ) -> Result<bool, WalletError> {
        let ours = self.wallet.local_chain().get(height.0).map(|cp| cp.hash());
        if ours != Some(hash) {
            return Ok(false);
        }
        if height.0 == 0 {
            return Err(WalletError::DisconnectGenesis);
        }
        self.persist()?;
        let mut removal = local_chain::ChangeSet::default();
        for checkpoint in self.wallet.checkpoints() {
            if checkpoint.height() < height.0 {
                break;
            }
            removal.blocks.insert(checkpoint.height(), None);
        }
        self.persister.append(&ChangeSet {
            local_chain: removal,
            ..ChangeSet::default()
        })?;
        self.reload()?;
        Ok(true)
    }

    /// Adds a transaction we broadcast ourselves (a funding transaction, a sweep) as
    /// unconfirmed, seen at `seen_at` (Unix seconds; bdk prefers the later of two conflicting
    /// unconfirmed transactions). Irrelevant transactions are ignored.
    pub fn apply_unconfirmed(&mut self, tx: Transaction, seen_at: u64) -> Result<(), WalletError> {
        self.wallet.apply_unconfirmed_txs([(tx, seen_at)]);
        self.invalidate_coins();
        self.persist()
    }

    /// Folds the changeset log into one entry. Run it now and then (at start-up, say): the
    /// log grows by one entry per block.
    pub fn compact(&mut self) -> Result<(), WalletError> {
        self.persist()?;
        self.persister.compact()
    }

    /// The number of entries in the changeset log, for deciding when to
    /// [`compact`](Self::compact).
    pub fn changeset_log_len(&self) -> Result<u64, WalletError> {
        self.persister.log_len()
    }

    /// Writes bdk's staged changes, if any, in one committed redb transaction.
    pub(super) fn persist(&mut self) -> Result<(), WalletError> {
        self.wallet.persist(&mut self.persister).map(|_| ())
    }

    /// Rebuilds bdk's wallet from the log, keeping the in-memory locks: the change addresses
    /// of pending reservations stay marked used.
    fn reload(&mut self) -> Result<(), WalletError> {
        self.invalidate_coins();
        self.wallet = load(&mut self.persister, &self.keys, self.network)?
            .ok_or(WalletError::StoreEmptied)?;
        let ids: Vec<_> = self.locks.ids().collect();
        for id in ids {
            if let Some(index) = self.locks.change_derivation_index(id) {
                self.wallet.mark_used(KeychainKind::Internal, index);
            }
        }
        Ok(())
    }
}

/// Loads the wallet stored in `persister`, checking it was made from `keys` for `network`;
/// `None` if the table is empty.
fn load(
    persister: &mut RedbPersister,
    keys: &Bip84Keys,
    network: Network,
) -> Result<Option<PersistedWallet<RedbPersister>>, WalletError> {
    Wallet::load()
        .descriptor(KeychainKind::External, Some(keys.external.clone()))
        .descriptor(KeychainKind::Internal, Some(keys.internal.clone()))
        .check_network(network)
        .lookahead(LOOKAHEAD)
        .load_wallet(persister)
        .map_err(|error| match error {
            LoadWithPersistError::Persist(error) => error,
            LoadWithPersistError::InvalidChangeSet(LoadError::Mismatch(mismatch)) => {
                WalletError::StoredWalletMismatch(mismatch)
            }
            LoadWithPersistError::InvalidChangeSet(error) => {
                WalletError::InvalidStoredWallet(error)
            }
        })
}
