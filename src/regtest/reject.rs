//! Why a transaction or block was refused, in Bitcoin Core's words.
//!
//! Core reports a rejection as a class (`TxValidationResult`), a short reason string
//! (`bad-txns-inputs-missingorspent`, `non-BIP68-final`, …) and an optional debug message; the
//! RPC layer derives the error code from the class and prints `reason, debug`. Petrel keeps the
//! same three parts so that its answers can be compared with Core's one for one.

use std::fmt;

/// The class of a transaction rejection (Core's `TxValidationResult`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectClass {
    /// Invalid by consensus rules.
    Consensus,
    /// Valid but not standard (relay policy).
    NotStandard,
    /// An input is neither in the UTXO set nor in the mempool.
    MissingInputs,
    /// Spends a coinbase too early or is not final yet (locktime, BIP68).
    PrematureSpend,
    /// The witness is non-standard or malleated.
    WitnessMutated,
    /// Already known (in the mempool or in the chain).
    Conflict,
    /// Violates a mempool policy (cluster limits, replacement rules other than fees).
    MempoolPolicy,
    /// Fails for fee reasons only; could pass in a package (`TX_RECONSIDERABLE`).
    Reconsiderable,
    /// An input spends a non-standard output.
    InputsNotStandard,
}

/// A refused transaction: class, Core reason string and debug detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxReject {
    /// The class, which decides the RPC error code.
    pub class: RejectClass,
    /// Core's reject reason (`reject-reason` in `testmempoolaccept`).
    pub reason: String,
    /// Core's debug message (may be empty).
    pub details: String,
}

impl TxReject {
    /// A rejection with a reason and no detail.
    pub fn new(class: RejectClass, reason: impl Into<String>) -> TxReject {
        TxReject {
            class,
            reason: reason.into(),
            details: String::new(),
        }
    }

    /// A rejection with a reason and a debug detail.
    pub fn with_details(
        class: RejectClass,
        reason: impl Into<String>,
        details: impl Into<String>,
    ) -> TxReject {
        TxReject {
            class,
            reason: reason.into(),
            details: details.into(),
        }
    }
}

impl fmt::Display for TxReject {
    /// `reason, details` as Core's `ValidationState::ToString` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.details.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}, {}", self.reason, self.details)
        }
    }
}

/// A refused block (Core's `BlockValidationState`): reason string and debug detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockReject {
    /// Core's reject reason (`bad-txns-inputs-missingorspent`, `bad-cb-amount`, …).
    pub reason: String,
    /// Core's debug message (may be empty).
    pub details: String,
}

impl BlockReject {
    /// A block rejection with a reason and a debug detail.
    pub fn new(reason: impl Into<String>, details: impl Into<String>) -> BlockReject {
        BlockReject {
            reason: reason.into(),
            details: details.into(),
        }
    }

    /// The block-level form of a transaction failure inside a block, as `ConnectBlock` words it.
    pub fn from_tx(reject: &TxReject, txid: &bitcoin::Txid) -> BlockReject {
        BlockReject {
            reason: reject.reason.clone(),
            details: format!("{} in transaction {txid}", reject.details),
        }
    }
}

impl fmt::Display for BlockReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.details.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}, {}", self.reason, self.details)
        }
    }
}
