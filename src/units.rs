//! Units the whole node shares: millisatoshi amounts, commitment feerates and block heights.
//!
//! On-chain amounts use [`bitcoin::Amount`]; these newtypes cover what `bitcoin` has no type
//! for, so that a satoshi value can never be passed where millisatoshis are expected, nor a
//! feerate where a height is (STYLE.md: typed money).

use core::fmt;
use core::ops::{Add, Sub};

use bitcoin::Amount;

/// An amount in millisatoshis (1/1000 of a satoshi), the unit of channel balances and HTLCs
/// (BOLT 2 `*_msat` fields).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Msat(pub u64);

impl Msat {
    /// Zero millisatoshis.
    pub const ZERO: Msat = Msat(0);

    /// The millisatoshi value of a whole-satoshi amount; `None` on overflow.
    pub fn from_amount(amount: Amount) -> Option<Msat> {
        amount.to_sat().checked_mul(1000).map(Msat)
    }

    /// Rounds down to whole satoshis, as BOLT 3 does when building outputs.
    pub fn to_amount_floor(self) -> Amount {
        Amount::from_sat(self.0 / 1000)
    }

    /// Checked addition.
    pub fn checked_add(self, other: Msat) -> Option<Msat> {
        self.0.checked_add(other.0).map(Msat)
    }

    /// Checked subtraction; `None` if `other` is larger.
    pub fn checked_sub(self, other: Msat) -> Option<Msat> {
        self.0.checked_sub(other.0).map(Msat)
    }
}

impl fmt::Display for Msat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} msat", self.0)
    }
}

impl Add for Msat {
    type Output = Msat;
    /// Panics on overflow in debug builds, like `u64`; use [`Msat::checked_add`] on peer data.
    fn add(self, rhs: Msat) -> Msat {
        Msat(self.0 + rhs.0)
    }
}

impl Sub for Msat {
    type Output = Msat;
    /// Panics on underflow in debug builds, like `u64`; use [`Msat::checked_sub`] on peer data.
    fn sub(self, rhs: Msat) -> Msat {
        Msat(self.0 - rhs.0)
    }
}

/// A commitment feerate in satoshis per 1000 weight units (BOLT 2 `feerate_per_kw`).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct FeeratePerKw(pub u32);

impl FeeratePerKw {
    /// The fee for `weight` weight units, rounded down as BOLT 3 specifies
    /// (`fee = feerate_per_kw * weight / 1000`).
    pub fn fee_for_weight(self, weight: u64) -> Amount {
        Amount::from_sat(u64::from(self.0) * weight / 1000)
    }
}

impl FeeratePerKw {
    /// An on-chain feerate (a fee estimate) in sat per 1000 weight units, saturating.
    pub fn from_fee_rate(rate: bitcoin::FeeRate) -> FeeratePerKw {
        FeeratePerKw(u32::try_from(rate.to_sat_per_kwu()).unwrap_or(u32::MAX))
    }
}

impl fmt::Display for FeeratePerKw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sat/kw", self.0)
    }
}

/// A block height on the chain, counted from genesis = 0.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct BlockHeight(pub u32);

impl fmt::Display for BlockHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msat_amount_conversions_round_down() {
        assert_eq!(Msat::from_amount(Amount::from_sat(2)), Some(Msat(2000)));
        assert_eq!(Msat(2999).to_amount_floor(), Amount::from_sat(2));
        assert_eq!(Msat::from_amount(Amount::from_sat(u64::MAX)), None);
    }

    #[test]
    fn fee_for_weight_rounds_down() {
        // BOLT 3 Appendix C: 15000 sat/kw on a 724-weight commitment pays 10860 sat.
        assert_eq!(
            FeeratePerKw(15000).fee_for_weight(724),
            Amount::from_sat(10860)
        );
        assert_eq!(FeeratePerKw(1).fee_for_weight(999), Amount::ZERO);
    }
}
