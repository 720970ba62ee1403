//! Durable storage in redb, laid out by column (the seed design's "chandler" storage).
//!
//! Each part of a channel lives in its own table keyed by `channel_id` (see `tables.rs`):
//! static parameters, funding state, current commitment, status, our seed reference, the
//! peer's revocation secrets, counters, and an append-only event log. A change writes only
//! the columns it touches, so bumping a counter never re-serializes a whole channel.
//!
//! Contract:
//! - Writes come as a [`Batch`] and are applied in one redb write transaction with
//!   `Durability::Immediate`: when [`Store::apply`] returns `Ok`, the data survives a crash.
//!   This is what "persist before send" waits for.
//! - Reads see the last committed state.
//! - Values are JSON (small, and readable when debugging a datadir); keys are raw bytes.
//! - The `redb::Database` is shared with the wallet's persister ([`Store::database`]); the
//!   wallet uses its own tables.
//!
//! The store holds no node logic and knows nothing of peers or the chain.

mod events;
mod tables;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub use events::{Event, EventKind};

use crate::channel::{ChannelParams, ChannelStatus, CloseState, CommitmentState, FundingState};
use crate::units::Msat;
use crate::watch::WatchState;
use crate::wire::ChannelId;
use tables::{
    CLOSE, COMMITMENT, COUNTERS, EVENTS, FUNDING, META, NEXT_CHANNEL_INDEX, PARAMS, PEERS,
    REVOCATIONS, SEED_REF, STATUS, WATCH,
};

/// A storage failure. Any of them is fatal for the operation that hit it: nothing that
/// depended on the write may be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// redb failed (IO, corruption, a transaction error).
    #[error("database: {0}")]
    Database(#[from] redb::Error),
    /// A stored value did not decode (a bug or a damaged file).
    #[error("stored {what} for {key} does not decode: {reason}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// Which key.
        key: String,
        /// The decoder's complaint.
        reason: String,
    },
}

impl StoreError {
    fn redb(e: impl Into<redb::Error>) -> StoreError {
        StoreError::Database(e.into())
    }
}

/// Statistics of one channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Total we paid through the channel.
    pub total_sent: Msat,
    /// Total we were paid.
    pub total_received: Msat,
    /// Number of commitment updates.
    pub updates: u64,
}

/// What we know of a peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRecord {
    /// Its node id.
    pub node_id: PublicKey,
    /// Its last known `host:port`, for reconnecting.
    pub address: String,
}

/// One column write (or the log append) of a [`Batch`].
#[derive(Clone, Debug)]
pub enum Op {
    /// A new channel: its static parameters and seed reference.
    NewChannel(Box<ChannelParams>),
    /// The funding state column.
    Funding(ChannelId, FundingState),
    /// The commitment column.
    Commitment(ChannelId, Box<CommitmentState>),
    /// The status column.
    Status(ChannelId, ChannelStatus),
    /// The peer's revealed secrets (encoded [`crate::keys::SecretStore`]).
    Revocations(ChannelId, Vec<u8>),
    /// The counters column.
    Counters(ChannelId, Counters),
    /// The mutual-close column.
    Close(ChannelId, Box<CloseState>),
    /// The chain watcher's column.
    Watch(ChannelId, Box<WatchState>),
    /// An event appended to the channel's log.
    Event(ChannelId, Event),
    /// A peer's address.
    Peer(PeerRecord),
}

/// Writes that must land together, in one durable transaction.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// The writes, applied in order.
    pub ops: Vec<Op>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a write.
    #[must_use]
    pub fn with(mut self, op: Op) -> Batch {
        self.ops.push(op);
        self
    }

    /// Adds a write in place.
    pub fn push(&mut self, op: Op) {
        self.ops.push(op);
    }
}

/// Everything stored about one channel, read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredChannel {
    /// Static parameters.
    pub params: ChannelParams,
    /// Funding state.
    pub funding: FundingState,
    /// Current commitments.
    pub commitment: CommitmentState,
    /// Stage of life.
    pub status: ChannelStatus,
    /// Statistics.
    pub counters: Counters,
    /// The peer's revealed secrets, encoded.
    pub revocations: Option<Vec<u8>>,
    /// The mutual-close negotiation (default: none started).
    pub close: CloseState,
    /// The chain watcher's progress, once it has seen anything.
    pub watch: Option<WatchState>,
}

/// The node's database. Cheap to clone (one shared redb handle, which serializes writers
/// itself).
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail (no maps with non-string
    // keys, no custom serializers that error).
    serde_json::to_vec(value).unwrap_or_default()
}

fn decode<T: DeserializeOwned>(
    what: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what,
        key: bitcoin::hex::DisplayHex::to_lower_hex_string(key),
        reason: e.to_string(),
    })
}

fn event_key(id: &ChannelId, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(&id.0);
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

impl Store {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(StoreError::redb)?;
        Store::init(db)
    }

    /// A store on redb's in-memory backend, for tests.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(StoreError::redb)?;
        Store::init(db)
    }

    fn init(db: Database) -> Result<Store, StoreError> {
        let txn = db.begin_write().map_err(StoreError::redb)?;
        {
            for table in [
                PARAMS,
                FUNDING,
                COMMITMENT,
                STATUS,
                REVOCATIONS,
                COUNTERS,
                CLOSE,
                WATCH,
                EVENTS,
                PEERS,
            ] {
                txn.open_table(table).map_err(StoreError::redb)?;
            }
            txn.open_table(SEED_REF).map_err(StoreError::redb)?;
            txn.open_table(META).map_err(StoreError::redb)?;
        }
        txn.commit().map_err(StoreError::redb)?;
        Ok(Store { db: Arc::new(db) })
    }

    /// The shared redb handle (for the wallet's persister, which keeps its own tables).
    pub fn database(&self) -> Arc<Database> {
        Arc::clone(&self.db)
    }

    /// Applies a batch in one durable transaction.
    pub fn apply(&self, batch: &Batch) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::redb)?;
        {
            for op in &batch.ops {
                match op {
                    Op::NewChannel(params) => {
                        let key = params.channel_id.0;
                        txn.open_table(PARAMS)
                            .map_err(StoreError::redb)?
                            .insert(&key[..], &encode(params.as_ref())[..])
                            .map_err(StoreError::redb)?;
                        txn.open_table(SEED_REF)
                            .map_err(StoreError::redb)?
                            .insert(&key[..], params.channel_index)
                            .map_err(StoreError::redb)?;
                    }
                    Op::Funding(id, v) => put(&txn, FUNDING, id, &encode(v))?,
                    Op::Commitment(id, v) => put(&txn, COMMITMENT, id, &encode(v.as_ref()))?,
                    Op::Status(id, v) => put(&txn, STATUS, id, &encode(v))?,
                    Op::Revocations(id, v) => put(&txn, REVOCATIONS, id, v)?,
                    Op::Counters(id, v) => put(&txn, COUNTERS, id, &encode(v))?,
                    Op::Close(id, v) => put(&txn, CLOSE, id, &encode(v.as_ref()))?,
                    Op::Watch(id, v) => put(&txn, WATCH, id, &encode(v.as_ref()))?,
                    Op::Event(id, event) => {
                        let mut table = txn.open_table(EVENTS).map_err(StoreError::redb)?;
                        // The next sequence number is one past the channel's last event.
                        let next = table
                            .range(&event_key(id, 0)[..]..=&event_key(id, u64::MAX)[..])
                            .map_err(StoreError::redb)?
                            .next_back()
                            .transpose()
                            .map_err(StoreError::redb)?
                            .map_or(0, |(k, _)| {
                                let mut seq = [0u8; 8];
                                seq.copy_from_slice(&k.value()[32..40]);
                                u64::from_be_bytes(seq) + 1
                            });
                        table
                            .insert(&event_key(id, next)[..], &encode(event)[..])
                            .map_err(StoreError::redb)?;
                    }
                    Op::Peer(peer) => {
                        txn.open_table(PEERS)
                            .map_err(StoreError::redb)?
                            .insert(&peer.node_id.serialize()[..], &encode(peer)[..])
                            .map_err(StoreError::redb)?;
                    }
                }
            }
        }
        txn.commit().map_err(StoreError::redb)
    }

    /// Hands out the next BIP32 channel index, durably, so no two channels ever share keys
    /// even across crashes (an index lost to a crash is simply skipped).
    pub fn allocate_channel_index(&self) -> Result<u32, StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::redb)?;
        let index = {
            let mut meta = txn.open_table(META).map_err(StoreError::redb)?;
            let next = meta
                .get(NEXT_CHANNEL_INDEX)
                .map_err(StoreError::redb)?
                .map_or(0, |v| v.value());
            meta.insert(NEXT_CHANNEL_INDEX, next + 1)
                .map_err(StoreError::redb)?;
            next
        };
        txn.commit().map_err(StoreError::redb)?;
        u32::try_from(index).map_err(|_| StoreError::Corrupt {
            what: "meta",
            key: NEXT_CHANNEL_INDEX.into(),
            reason: "channel index overflow".into(),
        })
    }

    /// Every stored channel's id.
    pub fn channel_ids(&self) -> Result<Vec<ChannelId>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        let table = txn.open_table(PARAMS).map_err(StoreError::redb)?;
        let mut ids = Vec::new();
        for entry in table.iter().map_err(StoreError::redb)? {
            let (k, _) = entry.map_err(StoreError::redb)?;
            let mut id = [0u8; 32];
            if k.value().len() == 32 {
                id.copy_from_slice(k.value());
                ids.push(ChannelId(id));
            }
        }
        Ok(ids)
    }

    /// Reads one channel back, all columns.
    pub fn load_channel(&self, id: &ChannelId) -> Result<Option<StoredChannel>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        let key = &id.0[..];
        let get = |table: TableDefinition| -> Result<Option<Vec<u8>>, StoreError> {
            let t = txn.open_table(table).map_err(StoreError::redb)?;
            Ok(t.get(key)
                .map_err(StoreError::redb)?
                .map(|v| v.value().to_vec()))
        };
        let Some(params) = get(PARAMS)? else {
            return Ok(None);
        };
        let missing = |what: &'static str| StoreError::Corrupt {
            what,
            key: id.to_string(),
            reason: "missing".into(),
        };
        Ok(Some(StoredChannel {
            params: decode("params", key, &params)?,
            funding: decode(
                "funding",
                key,
                &get(FUNDING)?.ok_or_else(|| missing("funding"))?,
            )?,
            commitment: decode(
                "commitment",
                key,
                &get(COMMITMENT)?.ok_or_else(|| missing("commitment"))?,
            )?,
            status: decode(
                "status",
                key,
                &get(STATUS)?.ok_or_else(|| missing("status"))?,
            )?,
            counters: match get(COUNTERS)? {
                Some(bytes) => decode("counters", key, &bytes)?,
                None => Counters::default(),
            },
            revocations: get(REVOCATIONS)?,
            close: match get(CLOSE)? {
                Some(bytes) => decode("close", key, &bytes)?,
                None => CloseState::default(),
            },
            watch: match get(WATCH)? {
                Some(bytes) => Some(decode("watch", key, &bytes)?),
                None => None,
            },
        }))
    }

    /// Every stored channel.
    pub fn load_channels(&self) -> Result<Vec<StoredChannel>, StoreError> {
        let mut out = Vec::new();
        for id in self.channel_ids()? {
            if let Some(channel) = self.load_channel(&id)? {
                out.push(channel);
            }
        }
        Ok(out)
    }

    /// A channel's event log, oldest first.
    pub fn events(&self, id: &ChannelId) -> Result<Vec<Event>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        let table = txn.open_table(EVENTS).map_err(StoreError::redb)?;
        let mut out = Vec::new();
        for entry in table
            .range(&event_key(id, 0)[..]..=&event_key(id, u64::MAX)[..])
            .map_err(StoreError::redb)?
        {
            let (k, v) = entry.map_err(StoreError::redb)?;
            out.push(decode("event", k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Every known peer.
    pub fn peers(&self) -> Result<Vec<PeerRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        let table = txn.open_table(PEERS).map_err(StoreError::redb)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::redb)? {
            let (k, v) = entry.map_err(StoreError::redb)?;
            out.push(decode("peer", k.value(), v.value())?);
        }
        Ok(out)
    }
}

type TableDefinition = redb::TableDefinition<'static, &'static [u8], &'static [u8]>;

fn put(
    txn: &redb::WriteTransaction,
    table: TableDefinition,
    id: &ChannelId,
    value: &[u8],
) -> Result<(), StoreError> {
    txn.open_table(table)
        .map_err(StoreError::redb)?
        .insert(&id.0[..], value)
        .map_err(StoreError::redb)?;
    Ok(())
}
