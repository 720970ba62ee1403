//! Keys of the channel tables: the 32-byte `channel_id`, then a big-endian suffix, so one
//! channel's rows sort together and in order (see [`super::Table`]).

use crate::wire::ChannelId;

/// The key of a one-row-per-channel column.
pub fn channel(id: &ChannelId) -> Vec<u8> {
    id.0.to_vec()
}

/// `channel_id ++ n` (big-endian): rows numbered per channel (commitment or sequence
/// numbers).
pub fn channel_u64(id: &ChannelId, n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(&id.0);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// `channel_id ++ tag ++ n` (big-endian): rows keyed by a one-byte kind and a number (an
/// HTLC's offerer and id, a shachain bucket).
pub fn channel_tagged(id: &ChannelId, tag: u8, n: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(41);
    key.extend_from_slice(&id.0);
    key.push(tag);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// The number at the end of a key made by [`channel_u64`] or [`channel_tagged`].
pub fn suffix_u64(key: &[u8]) -> Option<u64> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(u64::from_be_bytes(tail))
}

/// The tag byte of a key made by [`channel_tagged`].
pub fn tag(key: &[u8]) -> Option<u8> {
    key.get(32).copied()
}
