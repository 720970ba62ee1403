//! BOLT 3 scripts and transactions for `option_static_remotekey` channels (no anchors).
//!
//! What this module owns:
//!
//! - [`FundingOutput`]: the 2-of-2 P2WSH funding output and the witness that spends it
//!   (BOLT 3 "Funding Transaction Output");
//! - [`build_commitment`]: either side's commitment transaction from a [`CommitmentSpec`]
//!   (BOLT 3 "Commitment Transaction Construction"), with its HTLC-timeout / HTLC-success
//!   second-stage transactions ([`HtlcTx`], BOLT 3 "HTLC-Timeout and HTLC-Success
//!   Transactions");
//! - [`build_closing`]: the legacy `closing_signed` mutual close (BOLT 3 "Legacy Closing
//!   Transaction");
//! - [`build_sweep`] and [`revoked_outputs`]: transactions that take funds home from a
//!   commitment or HTLC transaction on chain, including the justice transaction that spends a
//!   revoked commitment with revocation keys (BOLT 5);
//! - [`sign_p2wsh`] / [`verify_p2wsh`] and friends: `SIGHASH_ALL` signatures, deterministic
//!   (RFC 6979) and low-S, as BOLT 3 Appendix B/C and BOLT 2 require;
//! - [`weight`]: the expected weights of BOLT 3 Appendix A that every fee is computed from.
//!
//! Contract: pure functions of their arguments: no IO, no clock, no randomness. Fee rates,
//! heights, keys and destination scripts are parameters. Amounts are `bitcoin::Amount` on
//! chain and [`Msat`](crate::units::Msat) for channel balances; HTLC amounts are rounded down
//! to whole satoshis only when an output is built, as BOLT 3 says.

mod closing;
mod commitment;
mod funding;
mod htlc;
mod justice;
mod script;
mod signature;
mod sweep;
pub mod weight;

pub use closing::{build_closing, ClosingSpec};
#[cfg(test)]
pub(crate) use commitment::appendix_c;
pub use commitment::{build_commitment, CommitmentSpec, CommitmentTx, HtlcOutput, Side};
pub use funding::FundingOutput;
pub use htlc::{
    build_htlc_tx, Htlc, HtlcDirection, HtlcTx, HtlcTxKind, PaymentHash, PaymentPreimage,
};
pub use justice::{revoked_htlc_tx_output, revoked_outputs};
pub use script::{
    funding_script, offered_htlc_script, received_htlc_script, to_local_script,
    to_remote_script_pubkey,
};
pub use signature::{sign_p2wpkh, sign_p2wsh, verify_p2wsh};
pub use sweep::{build_sweep, Claim, Sweep, SweepInput};

use bitcoin::Amount;

use crate::keys::KeysError;

/// What can go wrong building or signing a BOLT 3 transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The commitment's balances and HTLCs do not add up to the funding amount: the channel
    /// state handed to the builder is inconsistent.
    #[error("balances and HTLCs total {committed_msat} msat, funding is {funding_msat} msat")]
    BalanceMismatch {
        /// The funding amount, in millisatoshis.
        funding_msat: u64,
        /// `to_local + to_remote + sum(htlcs)`, in millisatoshis (saturated on overflow).
        committed_msat: u64,
    },
    /// An HTLC is worth less than its second-stage transaction fee, so no HTLC transaction
    /// can pay it out (such an HTLC is trimmed from commitments).
    #[error("HTLC of {amount} is below its HTLC transaction fee of {fee}")]
    HtlcBelowFee {
        /// The HTLC amount, rounded down to satoshis.
        amount: Amount,
        /// The HTLC transaction fee at the commitment's feerate.
        fee: Amount,
    },
    /// The claim does not apply to an HTLC in this direction (e.g. a preimage claim of an
    /// HTLC the claimer offered itself).
    #[error("claim does not apply to an HTLC in this direction")]
    WrongHtlcDirection,
    /// The payment preimage does not hash to the HTLC's payment hash.
    #[error("payment preimage does not match the payment hash")]
    WrongPreimage,
    /// The closing fee is larger than the funder's balance.
    #[error("closing fee {fee} exceeds the funder's balance {balance}")]
    ClosingFeeTooHigh {
        /// The `fee_satoshis` of `closing_signed`.
        fee: Amount,
        /// The funder's balance, rounded down to satoshis.
        balance: Amount,
    },
    /// Every output of the closing transaction is below the dust limit.
    #[error("closing transaction has no output above the dust limit")]
    ClosingWithoutOutputs,
    /// A sweep was asked to spend nothing.
    #[error("sweep has no inputs")]
    SweepWithoutInputs,
    /// After paying its fee, a sweep's output would be dust (or negative).
    #[error("sweep of {total} pays {fee} in fees, leaving less than the dust threshold {dust}")]
    SweepBelowDust {
        /// Total value of the swept outputs.
        total: Amount,
        /// The fee at the requested feerate.
        fee: Amount,
        /// The destination script's dust threshold.
        dust: Amount,
    },
    /// An input index past the end of the transaction.
    #[error("transaction has no input {0}")]
    NoSuchInput(usize),
    /// A signature or public key does not belong to this spend: wrong key, wrong
    /// transaction, or a high-S signature (BOLT 2 requires low-S).
    #[error("invalid signature")]
    InvalidSignature,
    /// A public key given for a 2-of-2 funding spend is not one of the funding keys.
    #[error("public key is not a funding key of this channel")]
    NotAFundingKey,
    /// The signing key of a P2WPKH spend does not match the output's public key.
    #[error("key does not match the output being spent")]
    KeyMismatch,
    /// A key derivation failed (see [`KeysError`]).
    #[error(transparent)]
    Keys(#[from] KeysError),
}
