//! Feature bit vectors (BOLT 9): `init`'s `features`, `channel_type`.
//!
//! Bits are numbered from the least significant bit of the *last* byte; pairs are
//! (even = required, odd = optional). "It's ok to be odd": a peer that requires (even bit)
//! a feature we do not know must be disconnected.

use core::fmt;

/// A feature bit vector in its wire form (big-endian, no leading zero bytes).
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Features(Vec<u8>);

/// BOLT 9 bits Petrel signals or understands.
pub mod bits {
    /// `option_data_loss_protect` (ASSUMED).
    pub const DATA_LOSS_PROTECT: usize = 0;
    /// `option_upfront_shutdown_script`.
    pub const UPFRONT_SHUTDOWN_SCRIPT: usize = 4;
    /// `gossip_queries`.
    pub const GOSSIP_QUERIES: usize = 6;
    /// `var_onion_optin` (ASSUMED).
    pub const VAR_ONION_OPTIN: usize = 8;
    /// `option_static_remotekey` (ASSUMED).
    pub const STATIC_REMOTEKEY: usize = 12;
    /// `payment_secret` (ASSUMED).
    pub const PAYMENT_SECRET: usize = 14;
    /// `basic_mpp`.
    pub const BASIC_MPP: usize = 16;
    /// `option_support_large_channel`.
    pub const LARGE_CHANNEL: usize = 18;
    /// `option_anchors`.
    pub const ANCHORS: usize = 22;
    /// `option_shutdown_anysegwit`.
    pub const SHUTDOWN_ANYSEGWIT: usize = 26;
    /// `option_channel_type` (ASSUMED).
    pub const CHANNEL_TYPE: usize = 44;
    /// `option_scid_alias`.
    pub const SCID_ALIAS: usize = 46;
    /// `option_zeroconf`.
    pub const ZEROCONF: usize = 50;
}

impl Features {
    /// No bits set.
    pub fn empty() -> Features {
        Features(Vec::new())
    }

    /// From the wire bytes (leading zero bytes allowed, as peers send them).
    pub fn from_bytes(bytes: &[u8]) -> Features {
        Features(bytes.to_vec())
    }

    /// The wire bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Whether `bit` is set.
    pub fn has(&self, bit: usize) -> bool {
        let byte = bit / 8;
        byte < self.0.len() && self.0[self.0.len() - 1 - byte] & (1 << (bit % 8)) != 0
    }

    /// Whether the feature of pair `even` (either bit) is set.
    pub fn supports(&self, even: usize) -> bool {
        self.has(even) || self.has(even | 1)
    }

    /// Sets `bit`, growing the vector as needed.
    #[must_use]
    pub fn with(mut self, bit: usize) -> Features {
        let byte = bit / 8;
        if byte >= self.0.len() {
            let mut grown = vec![0u8; byte + 1 - self.0.len()];
            grown.extend_from_slice(&self.0);
            self.0 = grown;
        }
        let len = self.0.len();
        self.0[len - 1 - byte] |= 1 << (bit % 8);
        self
    }

    /// Every set bit, lowest first.
    pub fn set_bits(&self) -> Vec<usize> {
        (0..self.0.len() * 8).filter(|b| self.has(*b)).collect()
    }

    /// The even (required) bits set that are not in `known`: BOLT 1 says a node receiving
    /// them MUST fail the connection.
    pub fn unknown_required(&self, known: &[usize]) -> Vec<usize> {
        self.set_bits()
            .into_iter()
            .filter(|b| b % 2 == 0 && !known.contains(b))
            .collect()
    }

    /// The union of two vectors (`init` merges `globalfeatures` into `features`).
    #[must_use]
    pub fn union(&self, other: &Features) -> Features {
        let len = self.0.len().max(other.0.len());
        let pad = |v: &[u8]| {
            let mut out = vec![0u8; len - v.len()];
            out.extend_from_slice(v);
            out
        };
        let (a, b) = (pad(&self.0), pad(&other.0));
        Features(a.iter().zip(&b).map(|(x, y)| x | y).collect())
    }
}

impl fmt::Debug for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Features{:?}", self.set_bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_numbering_follows_bolt9() {
        // option_static_remotekey alone is the channel type 0x1000.
        let f = Features::empty().with(bits::STATIC_REMOTEKEY);
        assert_eq!(f.as_bytes(), [0x10, 0x00]);
        assert!(f.has(12) && !f.has(13) && f.supports(12));
        let f = f.with(1);
        assert_eq!(f.as_bytes(), [0x10, 0x02]);
        assert_eq!(f.set_bits(), vec![1, 12]);
    }

    #[test]
    fn unknown_required_bits_are_found() {
        let f = Features::empty().with(12).with(21).with(100);
        assert_eq!(f.unknown_required(&[12]), vec![100]);
        assert!(f.unknown_required(&[12, 100]).is_empty());
    }

    #[test]
    fn union_pads_shorter_vectors() {
        let a = Features::from_bytes(&[0x01]);
        let b = Features::from_bytes(&[0x80, 0x00]);
        assert_eq!(a.union(&b).as_bytes(), [0x80, 0x01]);
    }
}
