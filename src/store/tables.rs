//! The redb tables: one per column of a channel, keyed by `channel_id`, plus the peers, the
//! event log and node metadata. A change writes only the columns it touches.

use redb::TableDefinition;

/// Static parameters ([`crate::channel::ChannelParams`]), written once.
pub(crate) const PARAMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_params");
/// Funding transaction and confirmation ([`crate::channel::FundingState`]).
pub(crate) const FUNDING: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_funding");
/// The current commitments ([`crate::channel::CommitmentState`]).
pub(crate) const COMMITMENT: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("channel_commitment");
/// The channel's stage of life ([`crate::channel::ChannelStatus`]).
pub(crate) const STATUS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_status");
/// Our per-commitment seed reference: the BIP32 channel index (the seed itself is never
/// stored here).
pub(crate) const SEED_REF: TableDefinition<&[u8], u32> = TableDefinition::new("channel_seed_ref");
/// The peer's revealed per-commitment secrets ([`crate::keys::SecretStore`] encoding).
pub(crate) const REVOCATIONS: TableDefinition<&[u8], &[u8]> =
    TableDefinition::new("channel_revocations");
/// Statistics: totals sent and received, number of updates.
pub(crate) const COUNTERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_counters");
/// The mutual-close negotiation and force-close record ([`crate::channel::CloseState`]).
pub(crate) const CLOSE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_close");
/// The chain watcher's progress ([`crate::watch::WatchState`]): the funding spend and sweeps.
pub(crate) const WATCH: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_watch");
/// The event log: key = `channel_id ++ sequence (u64 big-endian)`, append-only.
pub(crate) const EVENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("channel_events");
/// Peers: key = 33-byte node id, value = their last known address.
pub(crate) const PEERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("peers");
/// Node-wide counters and markers, by name.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// `META` key of the next BIP32 channel index to hand out.
pub(crate) const NEXT_CHANNEL_INDEX: &str = "next_channel_index";
