//! The BOLT 1 convenience types that have no `bitcoin` equivalent.
//!
//! `chain_hash` is [`bitcoin::constants::ChainHash`], `point` is
//! [`bitcoin::secp256k1::PublicKey`], `signature` is
//! [`bitcoin::secp256k1::ecdsa::Signature`]; the rest live here.

use core::fmt;

use bitcoin::hashes::hex::DisplayHex;

/// A 32-byte channel identifier (BOLT 2 "Definition of `channel_id`"), or a temporary one
/// before the funding outpoint is known.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub [u8; 32]);

impl ChannelId {
    /// The all-zero id, which BOLT 1 `error`/`warning` use to mean "every channel".
    pub const ALL: ChannelId = ChannelId([0; 32]);

    /// The id of a channel funded by `funding_txid:output_index` (BOLT 2): the txid in wire
    /// (internal) byte order with its last two bytes XORed with the big-endian output index.
    pub fn from_funding_outpoint(funding_txid: &bitcoin::Txid, output_index: u16) -> ChannelId {
        use bitcoin::hashes::Hash;
        let mut id = funding_txid.to_byte_array();
        let index = output_index.to_be_bytes();
        id[30] ^= index[0];
        id[31] ^= index[1];
        ChannelId(id)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_hex())
    }
}

impl fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelId({})", self.0.as_hex())
    }
}

impl serde::Serialize for ChannelId {
    /// As 64 hex digits, like `Display`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ChannelId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl core::str::FromStr for ChannelId {
    type Err = bitcoin::hex::HexToArrayError;
    /// Parses 64 hex digits in wire order, as [`ChannelId`]'s `Display` prints them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        use bitcoin::hex::FromHex;
        <[u8; 32]>::from_hex(s).map(ChannelId)
    }
}

/// A SHA-256 digest carried on the wire (`sha256`), e.g. a `payment_hash`; in wire order.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256(pub [u8; 32]);

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.0.as_hex())
    }
}

/// A short channel id (BOLT 7): block height (3 bytes), transaction index (3 bytes) and output
/// index (2 bytes), packed big-endian into 8 bytes.
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
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    /// Packs the three parts; `None` if height or index do not fit in 24 bits.
    pub fn new(block: u32, tx_index: u32, output_index: u16) -> Option<ShortChannelId> {
        if block >= 1 << 24 || tx_index >= 1 << 24 {
            return None;
        }
        Some(ShortChannelId(
            (u64::from(block) << 40) | (u64::from(tx_index) << 16) | u64::from(output_index),
        ))
    }

    /// The block height of the funding transaction.
    pub fn block(self) -> u32 {
        // Masked to 24 bits, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let block = (self.0 >> 40) as u32;
        block
    }

    /// The funding transaction's index in its block.
    pub fn tx_index(self) -> u32 {
        #[allow(clippy::cast_possible_truncation)]
        let index = ((self.0 >> 16) & 0xff_ffff) as u32;
        index
    }

    /// The funding output's index in its transaction.
    pub fn output_index(self) -> u16 {
        #[allow(clippy::cast_possible_truncation)]
        let index = (self.0 & 0xffff) as u16;
        index
    }
}

impl fmt::Display for ShortChannelId {
    /// The `BLOCKxTXxOUTPUT` form used by every implementation's tools.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}x{}x{}",
            self.block(),
            self.tx_index(),
            self.output_index()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    #[test]
    fn short_channel_id_parts() {
        // BOLT 1 Appendix B writes 0x0000000000000226 as scid 0x0x550.
        let scid = ShortChannelId(0x226);
        assert_eq!(scid.to_string(), "0x0x550");
        let scid = ShortChannelId::new(539_268, 845, 1).unwrap();
        assert_eq!(scid.to_string(), "539268x845x1");
        assert_eq!(ShortChannelId::new(1 << 24, 0, 0), None);
    }

    #[test]
    fn channel_id_xors_output_index() {
        let txid = bitcoin::Txid::from_byte_array([0xff; 32]);
        let id = ChannelId::from_funding_outpoint(&txid, 0x0102);
        assert_eq!(id.0[29], 0xff);
        assert_eq!(id.0[30], 0xfe);
        assert_eq!(id.0[31], 0xfd);
        assert_eq!(id.to_string().parse::<ChannelId>().unwrap(), id);
    }
}
