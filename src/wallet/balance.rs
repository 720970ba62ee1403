//! The wallet balance as the RPC `balance` reports it.

use bitcoin::Amount;

/// The wallet's funds, split so that the four parts add up to everything it owns.
///
/// Each wallet output counts in exactly one field: `locked` first (whatever its
/// confirmation), then `immature`, `confirmed` or `unconfirmed` by its chain position.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Balance {
    /// Confirmed, mature and unlocked: what a new funding transaction can spend.
    pub confirmed: Amount,
    /// Outputs of unconfirmed transactions, ours (change) or others' (incoming payments);
    /// bdk's trusted plus untrusted pending.
    pub unconfirmed: Amount,
    /// Outputs held by a pending funding reservation ("limbo").
    pub locked: Amount,
    /// Coinbase outputs with fewer than 100 confirmations (not spendable yet).
    pub immature: Amount,
}

impl Balance {
    /// Everything the wallet owns.
    pub fn total(&self) -> Amount {
        self.confirmed + self.unconfirmed + self.locked + self.immature
    }
}
