//! The node's on-chain wallet: BIP84 keys from the node seed, UTXOs tracked from the blocks
//! the chain notifier delivers, balances, and the signed funding transactions of BOLT 2
//! channel opens, whose inputs stay locked while their reservation is pending.
//!
//! # Keys
//!
//! The master key is BIP32's `m` of the 32-byte node seed. The wallet is the BIP84 account
//! `m/84'/coin'/0'` (native segwit P2WPKH), `coin` = 0 on mainnet and 1 on testnet, signet
//! and regtest; receiving addresses are `m/84'/coin'/0'/0/i`, change `m/84'/coin'/0'/1/i`.
//! A wallet restored from the same seed on a fresh database re-finds the same funds once it
//! is fed the same blocks (addresses up to 100 past the last used one are watched). The
//! channel keys live under `m/1017'/…` of the same master; the subtrees share no key. The
//! wallet never stores the seed.
//!
//! # Storage
//!
//! bdk's `Wallet` (from `bdk_wallet`, without its sqlite or file-store backends) keeps its
//! state as mergeable changesets. They are appended to the redb table `wallet_changesets`
//! (sequence number → JSON changeset) in the database the node owns and passes in, one
//! committed write transaction per change, so a block writes only its own delta;
//! [`OnchainWallet::compact`] folds the log into one entry.
//!
//! # Locks
//!
//! [`OnchainWallet::build_funding`] locks the inputs it spends under the caller's
//! [`LockId`] until [`OnchainWallet::confirm_lock`] or [`OnchainWallet::release`]. Locks are
//! memory only: a reservation does not survive a restart.
//!
//! # What it must never do
//!
//! Spend an unconfirmed or non-segwit output in a funding transaction; reuse an input held by
//! another lock; report success for a change it has not committed to redb. It does no
//! network or clock IO: blocks, transactions and times are arguments.

mod actor;
mod balance;
mod coins;
mod descriptor;
mod error;
mod funding;
mod lock;
mod onchain;
mod persister;

pub use actor::{spawn, WalletHandle};
pub use balance::Balance;
pub use error::WalletError;
pub use funding::FundingTx;
pub use lock::LockId;
pub use onchain::OnchainWallet;

#[cfg(test)]
mod tests;
