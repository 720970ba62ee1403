//! The redb tables: one per column of a channel, plus the peers, the event log, the payment
//! records and node metadata. A change writes only the columns it touches.
//!
//! Keys of channel tables start with the 32-byte `channel_id`; tables with many rows per
//! channel add a big-endian suffix (a commitment number, a sequence number, an HTLC key), so
//! one channel's rows are contiguous and in order.

use redb::TableDefinition;

/// A byte-keyed, byte-valued table.
pub(crate) type BytesTable = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// The tables a [`super::Batch`] can write. Values are whatever the owning module encodes
/// (the channel core, the chain watcher): the store only keeps bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Table {
    /// Static parameters, written once (key: channel id).
    Params,
    /// Funding transaction and confirmation (key: channel id).
    Funding,
    /// The channel's stage of life (key: channel id).
    Status,
    /// Statistics: totals sent and received, number of updates (key: channel id).
    Counters,
    /// The mutual-close negotiation and force-close record (key: channel id).
    Close,
    /// The chain watcher's progress (key: channel id).
    Watch,
    /// Our current commitment: number, position, the peer's signatures (key: channel id).
    LocalCommitment,
    /// The peer's current and pending commitments (key: channel id).
    RemoteCommitments,
    /// The peer's per-commitment points we hold (key: channel id ++ commitment number).
    RemotePoints,
    /// The folded balances and feerate of the update ledger (key: channel id).
    LedgerBase,
    /// Live fee updates (key: channel id ++ sequence number).
    FeeUpdates,
    /// Every HTLC the channel ever carried, written once (key: channel id ++ HTLC key).
    Htlcs,
    /// Live HTLCs' changing part: removal (key: channel id ++ HTLC key).
    HtlcStates,
    /// The peer commitments each HTLC is in, kept for the revocation log (key: channel id
    /// ++ HTLC key).
    HtlcSpans,
    /// The peer's revealed secrets, one row per shachain bucket (key: channel id ++ bucket).
    Secrets,
    /// What a justice transaction needs for each revoked state of the peer's (key: channel
    /// id ++ commitment number).
    RevocationLog,
    /// The event log (key: channel id ++ sequence number).
    Events,
    /// Peers (key: 33-byte node id).
    Peers,
    /// Invoices we issued and keysend payments we received (key: payment hash).
    Invoices,
    /// Payments we sent, with their attempts (key: payment hash).
    Payments,
    /// The link from an HTLC to its payment or invoice (key: channel id ++ direction tag ++
    /// HTLC id).
    PaymentHtlcs,
}

impl Table {
    /// Every table, for creation at start-up.
    pub(crate) const ALL: [Table; 21] = [
        Table::Params,
        Table::Funding,
        Table::Status,
        Table::Counters,
        Table::Close,
        Table::Watch,
        Table::LocalCommitment,
        Table::RemoteCommitments,
        Table::RemotePoints,
        Table::LedgerBase,
        Table::FeeUpdates,
        Table::Htlcs,
        Table::HtlcStates,
        Table::HtlcSpans,
        Table::Secrets,
        Table::RevocationLog,
        Table::Events,
        Table::Peers,
        Table::Invoices,
        Table::Payments,
        Table::PaymentHtlcs,
    ];

    /// The redb table behind it.
    pub(crate) fn definition(self) -> BytesTable {
        TableDefinition::new(self.name())
    }

    /// The table's name in the database file.
    pub fn name(self) -> &'static str {
        match self {
            Table::Params => "channel_params",
            Table::Funding => "channel_funding",
            Table::Status => "channel_status",
            Table::Counters => "channel_counters",
            Table::Close => "channel_close",
            Table::Watch => "channel_watch",
            Table::LocalCommitment => "channel_local_commitment",
            Table::RemoteCommitments => "channel_remote_commitments",
            Table::RemotePoints => "channel_remote_points",
            Table::LedgerBase => "channel_ledger_base",
            Table::FeeUpdates => "channel_fee_updates",
            Table::Htlcs => "channel_htlcs",
            Table::HtlcStates => "channel_htlc_states",
            Table::HtlcSpans => "channel_htlc_spans",
            Table::Secrets => "channel_secrets",
            Table::RevocationLog => "channel_revocation_log",
            Table::Events => "channel_events",
            Table::Peers => "peers",
            Table::Invoices => "invoices",
            Table::Payments => "payments",
            Table::PaymentHtlcs => "payment_htlcs",
        }
    }
}

/// Our per-commitment seed reference: the BIP32 channel index (the seed itself is never
/// stored here).
pub(crate) const SEED_REF: TableDefinition<&[u8], u32> = TableDefinition::new("channel_seed_ref");
/// Node-wide counters and markers, by name.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// `META` key of the next BIP32 channel index to hand out.
pub(crate) const NEXT_CHANNEL_INDEX: &str = "next_channel_index";
