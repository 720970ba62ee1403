//! The wallet's error type: everything that can fail in [`OnchainWallet`](super::OnchainWallet).

use bdk_wallet::{LoadError, LoadMismatch};
use bitcoin::{bip32, Amount, BlockHash, OutPoint};

use super::LockId;
use crate::units::BlockHeight;

/// What went wrong in the on-chain wallet.
///
/// Storage and codec failures are fatal for the operation (nothing was half-applied in memory
/// that is not also staged for the next persist); funding failures leave no lock behind.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// BIP32 refused the seed or a derivation step (a master key out of range: probability
    /// about 2^-127, so in practice a corrupted seed).
    #[error("BIP32 key derivation failed: {0}")]
    KeyDerivation(#[from] bip32::Error),

    /// The descriptor built from the seed did not parse (a bug in our derivation, never user
    /// input).
    #[error("wallet descriptor rejected: {0}")]
    Descriptor(#[from] bdk_wallet::descriptor::DescriptorError),

    /// The database already holds a wallet made from another seed or for another network.
    /// The node must not silently start a second wallet over the first one's funds.
    #[error("the stored wallet does not match this seed or network: {0}")]
    StoredWalletMismatch(LoadMismatch),

    /// The stored changesets do not form a loadable wallet (missing network, descriptor or
    /// genesis block): a corrupted or foreign table.
    #[error("the stored wallet is invalid: {0}")]
    InvalidStoredWallet(LoadError),

    /// Another opener created a wallet in the same table between our load and our create
    /// (two wallets opened concurrently on one database).
    #[error("a wallet was created concurrently in the same database")]
    CreateRace,

    /// The wallet table was emptied while the wallet was running (another user of the
    /// database deleted it); the in-memory wallet cannot be rebuilt from it.
    #[error("the wallet table was emptied under a running wallet")]
    StoreEmptied,

    /// redb failed to open, read, write or commit the wallet table.
    #[error("wallet storage: {0}")]
    Storage(#[from] redb::Error),

    /// A stored changeset did not decode, or one could not be encoded.
    #[error("wallet changeset {seq} (de)serialization: {source}")]
    ChangesetCodec {
        /// The changeset's sequence number in the log (`u64::MAX` when encoding a new one).
        seq: u64,
        /// The JSON error.
        source: serde_json::Error,
    },

    /// A block whose parent is not the wallet's block at `height - 1`: the caller skipped
    /// blocks. Deliver the missing ones (or the fork's blocks from the fork point) first.
    #[error("block {hash} at height {height} does not connect to the wallet's chain")]
    BlockNotConnected {
        /// The block's height.
        height: BlockHeight,
        /// The block's hash.
        hash: BlockHash,
    },

    /// The genesis block cannot be disconnected.
    #[error("the genesis block cannot be disconnected")]
    DisconnectGenesis,

    /// Not enough confirmed, unlocked funds for the funding output plus its fee.
    #[error("insufficient funds: {needed} needed, {available} available")]
    InsufficientFunds {
        /// Funds the transaction needs (outputs and fee).
        needed: Amount,
        /// Confirmed, mature, unlocked funds the wallet could use.
        available: Amount,
    },

    /// The funding amount is below the dust limit of its script: no node would relay it.
    #[error("funding amount {0} is below the dust limit")]
    AmountBelowDust(Amount),

    /// The funding script is not P2WSH, which BOLT 3 requires of a funding output.
    #[error("the funding script_pubkey is not P2WSH")]
    FundingScriptNotP2wsh,

    /// A reservation already holds inputs under this lock id.
    #[error("lock {0:?} is already held")]
    LockInUse(LockId),

    /// No reservation holds inputs under this lock id (released, confirmed or never made).
    #[error("no lock {0:?}")]
    UnknownLock(LockId),

    /// A coin to spend is not the P2WPKH output of our key at its address index. BOLT 2
    /// requires segwit funding inputs so that the funding txid cannot be malleated.
    #[error("input {0} is not a segwit output")]
    NonSegwitInput(OutPoint),

    /// Our key did not sign every input of the funding transaction.
    #[error("signing failed for input {input}")]
    Signing {
        /// The first input that got no signature.
        input: usize,
    },

    /// The built transaction does not carry the requested funding output (a bug guard).
    #[error("the built transaction lacks the funding output")]
    MissingFundingOutput,

    /// The wallet actor has stopped (the node is shutting down).
    #[error("the wallet has stopped")]
    Stopped,
}
