//! What we announce when opening or accepting a channel, and what we accept from peers.

use bitcoin::Amount;

use crate::units::{FeeratePerKw, Msat};

/// The channel type Petrel supports: `option_static_remotekey` alone (feature bit 12), as the
/// smallest big-endian bitmap (BOLT 2 "Defined Channel Types", BOLT 9).
pub const STATIC_REMOTEKEY_CHANNEL_TYPE: [u8; 2] = [0x10, 0x00];

/// BOLT 2: `dust_limit_satoshis` below 354 makes outputs non-standard (BOLT 3 "Dust Limits").
pub const MIN_DUST_LIMIT: Amount = Amount::from_sat(354);

/// BOLT 2: at most 483 HTLCs each way, so a commitment with all of them stays standard.
pub const MAX_ACCEPTED_HTLCS: u16 = 483;

/// BOLT 2: without `option_support_large_channel` (which Petrel does not advertise),
/// `funding_satoshis` must stay below 2^24.
pub const MAX_FUNDING: Amount = Amount::from_sat((1 << 24) - 1);

/// The parameters we announce in `open_channel` / `accept_channel` (our side of
/// [`crate::channel::PartyParams`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalConfig {
    /// Our `dust_limit_satoshis` (lowered to the peer's reserve when we accept, never below
    /// [`MIN_DUST_LIMIT`]).
    pub dust_limit: Amount,
    /// The reserve we ask of the peer, as a fraction of the funding in millionths (1% is
    /// 10,000); never below `min_reserve` nor either dust limit.
    pub reserve_ppm: u32,
    /// The smallest reserve we ask of the peer.
    pub min_reserve: Amount,
    /// Our `htlc_minimum_msat`.
    pub htlc_minimum: Msat,
    /// The `to_self_delay` we impose on the peer's to-self outputs.
    pub to_self_delay: u16,
    /// Our `max_accepted_htlcs`.
    pub max_accepted_htlcs: u16,
    /// The `minimum_depth` we ask for when we accept a channel.
    pub minimum_depth: u32,
}

impl Default for LocalConfig {
    fn default() -> Self {
        LocalConfig {
            dust_limit: Amount::from_sat(546),
            reserve_ppm: 10_000,
            min_reserve: Amount::from_sat(1_000),
            htlc_minimum: Msat(1),
            to_self_delay: 144,
            max_accepted_htlcs: MAX_ACCEPTED_HTLCS,
            minimum_depth: 3,
        }
    }
}

impl LocalConfig {
    /// The reserve we ask of the peer for a channel of `funding`: `reserve_ppm` of it, at
    /// least `min_reserve` and both dust limits (BOLT 2: the reserve must not be dust for
    /// either side).
    pub fn reserve_for(&self, funding: Amount, their_dust: Amount, our_dust: Amount) -> Amount {
        let share = funding.to_sat().saturating_mul(u64::from(self.reserve_ppm)) / 1_000_000;
        Amount::from_sat(share)
            .max(self.min_reserve)
            .max(their_dust)
            .max(our_dust)
    }
}

/// The limits under which we accept a peer's `open_channel` or `accept_channel` (the BOLT 2
/// "MAY fail" and "unreasonable" judgements).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Smallest `funding_satoshis` we accept.
    pub min_funding: Amount,
    /// Largest `to_self_delay` a peer may impose on us.
    pub max_to_self_delay: u16,
    /// Lowest `feerate_per_kw` (253 is 1 sat/vB rounded up, the relay floor).
    pub min_feerate: FeeratePerKw,
    /// Highest `feerate_per_kw`, beyond which the fee would eat the channel.
    pub max_feerate: FeeratePerKw,
    /// Largest `dust_limit_satoshis` (larger ones let the peer burn HTLCs as fees).
    pub max_dust_limit: Amount,
    /// Largest `minimum_depth` we wait for.
    pub max_minimum_depth: u32,
    /// Largest reserve the peer may ask of us, in millionths of the funding.
    pub max_reserve_ppm: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_funding: Amount::from_sat(20_000),
            max_to_self_delay: 2016,
            min_feerate: FeeratePerKw(253),
            max_feerate: FeeratePerKw(100_000),
            max_dust_limit: Amount::from_sat(20_000),
            max_minimum_depth: 144,
            max_reserve_ppm: 200_000,
        }
    }
}
