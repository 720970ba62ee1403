//! Durable storage in redb, laid out by column (the seed design's "chandler" storage).
//!
//! Each part of a channel lives in its own table keyed by `channel_id` (see [`Table`]):
//! static parameters, funding state, the current commitments, the live HTLCs and fee updates,
//! the peer's revealed secrets (one row per shachain bucket), the per-state revocation log,
//! status, counters, and an append-only event log. A change writes only the rows it touches,
//! so a commitment update writes a few hundred bytes whatever the channel's history.
//!
//! Contract:
//! - Writes come as a [`Batch`] and are applied in one redb write transaction with
//!   `Durability::Immediate`: when [`Store::apply`] returns `Ok`, the data survives a crash.
//!   This is what "persist before send" waits for.
//! - Reads see the last committed state.
//! - Values are bytes encoded by the module that owns them: the channel core
//!   ([`crate::channel`]) encodes its hot columns in a compact binary form and its cold ones
//!   as JSON; the chain watcher its own column. Keys are raw bytes ([`key`]).
//! - The `redb::Database` is shared with the wallet's persister ([`Store::database`]); the
//!   wallet uses its own tables.
//!
//! The store holds no node logic and knows nothing of channels, peers or the chain: it imports
//! neither the channel core nor the watcher.

mod events;
pub mod key;
mod tables;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bitcoin::secp256k1::PublicKey;
use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{de::DeserializeOwned, Deserialize, Serialize};

pub use events::{Event, EventKind};
pub use tables::Table;

use crate::units::Msat;
use crate::wire::ChannelId;
use tables::{META, NEXT_CHANNEL_INDEX, SEED_REF};

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

/// One write of a [`Batch`].
#[derive(Clone, Debug)]
pub enum Op {
    /// Sets `key` of `table` to `value`.
    Put {
        /// The table.
        table: Table,
        /// The key (see [`key`]).
        key: Vec<u8>,
        /// The encoded value.
        value: Vec<u8>,
    },
    /// Removes `key` from `table` (nothing if absent).
    Delete {
        /// The table.
        table: Table,
        /// The key.
        key: Vec<u8>,
    },
    /// A new channel's seed reference: the BIP32 index its keys come from.
    SeedRef(ChannelId, u32),
    /// An event appended to the channel's log.
    Event(ChannelId, Event),
    /// A peer's address.
    Peer(PeerRecord),
}

impl Op {
    /// A put.
    pub fn put(table: Table, key: Vec<u8>, value: Vec<u8>) -> Op {
        Op::Put { table, key, value }
    }

    /// A put of a channel-keyed column.
    pub fn put_channel(table: Table, id: &ChannelId, value: Vec<u8>) -> Op {
        Op::Put {
            table,
            key: key::channel(id),
            value,
        }
    }

    /// A put of a channel-keyed column encoded as JSON (the cold columns).
    pub fn put_json<T: Serialize>(table: Table, id: &ChannelId, value: &T) -> Op {
        Op::put_channel(table, id, encode(value))
    }

    /// A delete.
    pub fn delete(table: Table, key: Vec<u8>) -> Op {
        Op::Delete { table, key }
    }
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

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The bytes of values this batch writes (puts and events; keys and deletes excluded):
    /// the figure the "bytes per state" target is measured in.
    pub fn value_bytes(&self) -> u64 {
        self.ops
            .iter()
            .map(|op| match op {
                Op::Put { value, .. } => value.len() as u64,
                Op::SeedRef(..) => 4,
                Op::Event(_, event) => encode(event).len() as u64,
                Op::Peer(peer) => encode(peer).len() as u64,
                Op::Delete { .. } => 0,
            })
            .sum()
    }
}

/// A `(key, value)` row.
pub type Row = (Vec<u8>, Vec<u8>);

/// A consistent read of the store: every call sees the same committed state.
pub struct Reader {
    txn: redb::ReadTransaction,
}

impl Reader {
    /// The value at `key` of `table`.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self
            .txn
            .open_table(table.definition())
            .map_err(StoreError::redb)?;
        Ok(t.get(key)
            .map_err(StoreError::redb)?
            .map(|v| v.value().to_vec()))
    }

    /// Every `(key, value)` of `table` whose key starts with `prefix`, in key order.
    pub fn scan(&self, table: Table, prefix: &[u8]) -> Result<Vec<Row>, StoreError> {
        let t = self
            .txn
            .open_table(table.definition())
            .map_err(StoreError::redb)?;
        let mut out = Vec::new();
        for entry in t.range(prefix..).map_err(StoreError::redb)? {
            let (k, v) = entry.map_err(StoreError::redb)?;
            if !k.value().starts_with(prefix) {
                break;
            }
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// A channel's seed reference.
    pub fn seed_ref(&self, id: &ChannelId) -> Result<Option<u32>, StoreError> {
        let t = self.txn.open_table(SEED_REF).map_err(StoreError::redb)?;
        Ok(t.get(&id.0[..])
            .map_err(StoreError::redb)?
            .map(|v| v.value()))
    }
}

/// The node's database. Cheap to clone (one shared redb handle, which serializes writers
/// itself).
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    /// Value bytes written since the store was opened (see [`Batch::value_bytes`]).
    written: Arc<AtomicU64>,
}

/// JSON encoding of the cold columns and the event log.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing our own plain data types to JSON cannot fail (no maps with non-string
    // keys, no custom serializers that error).
    serde_json::to_vec(value).unwrap_or_default()
}

/// Decodes a JSON column; `what` and `key` name it in the error.
pub fn decode<T: DeserializeOwned>(
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

fn event_key(id: &ChannelId, seq: u64) -> Vec<u8> {
    key::channel_u64(id, seq)
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
            for table in Table::ALL {
                txn.open_table(table.definition())
                    .map_err(StoreError::redb)?;
            }
            txn.open_table(SEED_REF).map_err(StoreError::redb)?;
            txn.open_table(META).map_err(StoreError::redb)?;
        }
        txn.commit().map_err(StoreError::redb)?;
        Ok(Store {
            db: Arc::new(db),
            written: Arc::new(AtomicU64::new(0)),
        })
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
                    Op::Put { table, key, value } => {
                        txn.open_table(table.definition())
                            .map_err(StoreError::redb)?
                            .insert(&key[..], &value[..])
                            .map_err(StoreError::redb)?;
                    }
                    Op::Delete { table, key } => {
                        txn.open_table(table.definition())
                            .map_err(StoreError::redb)?
                            .remove(&key[..])
                            .map_err(StoreError::redb)?;
                    }
                    Op::SeedRef(id, index) => {
                        txn.open_table(SEED_REF)
                            .map_err(StoreError::redb)?
                            .insert(&id.0[..], *index)
                            .map_err(StoreError::redb)?;
                    }
                    Op::Event(id, event) => {
                        let mut table = txn
                            .open_table(Table::Events.definition())
                            .map_err(StoreError::redb)?;
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
                        txn.open_table(Table::Peers.definition())
                            .map_err(StoreError::redb)?
                            .insert(&peer.node_id.serialize()[..], &encode(peer)[..])
                            .map_err(StoreError::redb)?;
                    }
                }
            }
        }
        txn.commit().map_err(StoreError::redb)?;
        self.written
            .fetch_add(batch.value_bytes(), Ordering::Relaxed);
        Ok(())
    }

    /// Value bytes written by [`Store::apply`] since the store was opened.
    pub fn value_bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// A consistent read: `f` sees one committed state of the store.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&Reader) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        f(&Reader { txn })
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
        let table = txn
            .open_table(Table::Params.definition())
            .map_err(StoreError::redb)?;
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

    /// A channel's event log, oldest first.
    pub fn events(&self, id: &ChannelId) -> Result<Vec<Event>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::redb)?;
        let table = txn
            .open_table(Table::Events.definition())
            .map_err(StoreError::redb)?;
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
        let table = txn
            .open_table(Table::Peers.definition())
            .map_err(StoreError::redb)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(StoreError::redb)? {
            let (k, v) = entry.map_err(StoreError::redb)?;
            out.push(decode("peer", k.value(), v.value())?);
        }
        Ok(out)
    }
}
