//! Channel keys: BOLT 3 "Keys" and "Per-commitment Secret Requirements".
//!
//! This module owns everything secret or derived about a channel's keys:
//!
//! - [`ChannelSecrets`] / [`ChannelBasepoints`]: the funding key, the four basepoints and the
//!   per-commitment seed of one channel, regenerated from the node seed through BIP32 (the path
//!   is documented on [`ChannelSecrets::from_node_seed`]) so that a restored seed recovers them;
//! - [`CommitmentSeed`] → [`PerCommitmentSecret`] → [`PerCommitmentPoint`]: the per-commitment
//!   secret chain (`generate_from_seed`);
//! - [`SecretStore`]: the receiver's O(log n) storage of the counterparty's revealed secrets
//!   (BOLT 3 "Efficient Per-commitment Secret Storage", a.k.a. shachain), which rejects any
//!   secret that does not derive the ones received before it;
//! - [`derive_pubkey`], [`derive_privkey`], [`derive_revocation_pubkey`],
//!   [`derive_revocation_privkey`] and [`CommitmentKeys`]: the per-commitment keys
//!   (BOLT 3 "Key Derivation");
//! - [`NodeSeed`]: the node key and every channel's keys from the node seed;
//! - [`CommitmentNumber`] and [`ObscuringFactor`]: the 48-bit commitment number and its
//!   obscured encoding in a commitment transaction's locktime and sequence.
//!
//! Contract: pure functions, no IO, no clock, no randomness. Every seed and secret is an
//! argument; nothing is stored here. Secp256k1 contexts are arguments too, so the caller owns
//! the (possibly randomised) context and these functions stay deterministic.

mod channel_keys;
mod commitment_number;
mod derivation;
mod node_seed;
mod per_commitment;
mod shachain;
#[cfg(test)]
pub(crate) mod vectors;

pub use channel_keys::{ChannelBasepoints, ChannelSecrets, LIGHTNING_PURPOSE};
pub use commitment_number::{CommitmentNumber, ObscuringFactor, SecretIndex};
pub use derivation::{
    derive_privkey, derive_pubkey, derive_revocation_privkey, derive_revocation_pubkey,
    CommitmentKeys,
};
pub use node_seed::NodeSeed;
pub use per_commitment::{CommitmentSeed, PerCommitmentPoint, PerCommitmentSecret};
pub use shachain::SecretStore;

/// What can go wrong in key derivation and secret storage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// A commitment number or secret index does not fit in 48 bits (BOLT 3 allows
    /// at most 2^48 - 1 commitments).
    #[error("{0} does not fit in 48 bits")]
    Above48Bits(u64),
    /// A received per-commitment secret was offered out of order: secrets are revealed
    /// one at a time, in descending index order starting at 2^48 - 1.
    #[error("secret index {got} is not the next expected index {expected}")]
    UnexpectedIndex {
        /// The index the store expected next.
        expected: u64,
        /// The index that was offered.
        got: u64,
    },
    /// A received per-commitment secret does not derive a secret received earlier: the
    /// counterparty is not revealing secrets from one seed (BOLT 3 `insert_secret` error).
    #[error("secret for index {index} does not derive the earlier secret at {earlier}")]
    SecretMismatch {
        /// Index of the rejected secret.
        index: u64,
        /// Index of the earlier secret it failed to derive.
        earlier: u64,
    },
    /// All 2^48 secrets have been received; the store is full.
    #[error("all per-commitment secrets have already been received")]
    StoreExhausted,
    /// A serialized [`SecretStore`] is malformed or inconsistent.
    #[error("malformed secret store encoding")]
    MalformedStore,
    /// 32 bytes that should be a secp256k1 secret key are zero or not below the curve order.
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// A tweak in key derivation produced an invalid key (the point at infinity or a zero
    /// scalar); only possible with negligible probability or with adversarial inputs.
    #[error("key derivation produced an invalid key")]
    InvalidDerivedKey,
    /// A BIP32 channel index must be below 2^31 (it is used as a hardened child number).
    #[error("channel index {0} is not below 2^31")]
    ChannelIndexTooLarge(u32),
    /// The node seed is not accepted by BIP32 (it must be 16 to 64 bytes).
    #[error("node seed rejected by BIP32")]
    InvalidSeed,
}
