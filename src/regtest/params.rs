//! The regtest chain's consensus parameters, as Bitcoin Core's `CRegTestParams` fixes them.
//!
//! Every soft fork is active from the start (BIP34/65/66 and CSV at height 1, segwit at 0,
//! taproot always), proof of work never retargets (`nBits` 0x207fffff), and the subsidy halves
//! every 150 blocks.

use bitcoin::blockdata::constants::genesis_block;
use bitcoin::{Amount, Block, CompactTarget, Network};

/// Blocks a coinbase output must wait before it may be spent (`COINBASE_MATURITY`).
pub(crate) const COINBASE_MATURITY: u32 = 100;
/// Blocks between subsidy halvings on regtest (`nSubsidyHalvingInterval`).
pub(crate) const SUBSIDY_HALVING_INTERVAL: u32 = 150;
/// The fixed regtest difficulty (`powLimit` in compact form).
pub(crate) const POW_LIMIT_BITS: u32 = 0x207f_ffff;
/// Consensus limit on a block's weight (`MAX_BLOCK_WEIGHT`).
pub(crate) const MAX_BLOCK_WEIGHT: u64 = 4_000_000;
/// Consensus limit on a block's signature-operation cost (`MAX_BLOCK_SIGOPS_COST`).
pub(crate) const MAX_BLOCK_SIGOPS_COST: u64 = 80_000;
/// The largest amount any output or sum may hold (`MAX_MONEY`).
pub(crate) const MAX_MONEY: u64 = 21_000_000 * 100_000_000;
/// Lock times below this are block heights, at or above it Unix times (`LOCKTIME_THRESHOLD`).
pub(crate) const LOCKTIME_THRESHOLD: u32 = 500_000_000;
/// How far in the future a block's time may lie (`MAX_FUTURE_BLOCK_TIME`, two hours).
pub(crate) const MAX_FUTURE_BLOCK_TIME: i64 = 2 * 60 * 60;
/// Witness bytes count a quarter of base bytes (`WITNESS_SCALE_FACTOR`).
pub(crate) const WITNESS_SCALE_FACTOR: u64 = 4;

/// Versionbits period and threshold of the regtest `testdummy` deployment (bit 28).
const TESTDUMMY_PERIOD: u32 = 144;

/// The regtest genesis block (hash `0f9188f1…2206`).
pub(crate) fn genesis() -> Block {
    genesis_block(Network::Regtest)
}

/// The compact difficulty every regtest block carries.
pub(crate) fn pow_limit_bits() -> CompactTarget {
    CompactTarget::from_consensus(POW_LIMIT_BITS)
}

/// The block subsidy at `height` (`GetBlockSubsidy`): 50 BTC halved every 150 blocks.
pub(crate) fn block_subsidy(height: u32) -> Amount {
    let halvings = height / SUBSIDY_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000u64) >> halvings)
}

/// The `nVersion` Bitcoin Core's miner gives a block at `height` on a chain it mined itself.
///
/// Regtest defines the BIP9 `testdummy` deployment on bit 28 (start 0, period 144, threshold
/// 108): it is DEFINED for the first period, STARTED (signalled) in the second, `LOCKED_IN`
/// (still signalled) in the third and ACTIVE from height 432, so blocks 144..432 carry
/// 0x30000000 and all others 0x20000000.
pub(crate) fn block_version(height: u32) -> i32 {
    const TOP_BITS: i32 = 0x2000_0000;
    const TESTDUMMY_BIT: i32 = 1 << 28;
    if (TESTDUMMY_PERIOD..3 * TESTDUMMY_PERIOD).contains(&height) {
        TOP_BITS | TESTDUMMY_BIT
    } else {
        TOP_BITS
    }
}

/// Whether `value` (in satoshis) is a valid money amount (`MoneyRange`).
pub(crate) fn money_range(value: u64) -> bool {
    value <= MAX_MONEY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_matches_core() {
        assert_eq!(
            genesis().block_hash().to_string(),
            "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206"
        );
    }

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(block_subsidy(1), Amount::from_btc(50.0).unwrap());
        assert_eq!(block_subsidy(149), Amount::from_btc(50.0).unwrap());
        assert_eq!(block_subsidy(150), Amount::from_btc(25.0).unwrap());
        assert_eq!(block_subsidy(150 * 64), Amount::ZERO);
    }

    #[test]
    fn version_follows_testdummy_deployment() {
        assert_eq!(block_version(1), 0x2000_0000);
        assert_eq!(block_version(143), 0x2000_0000);
        assert_eq!(block_version(144), 0x3000_0000);
        assert_eq!(block_version(431), 0x3000_0000);
        assert_eq!(block_version(432), 0x2000_0000);
    }
}
