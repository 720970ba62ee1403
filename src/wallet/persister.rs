//! bdk's [`WalletPersister`] over a redb table: an append-only log of changesets.
//!
//! Each persist appends one entry (key: a `u64` sequence number, value: the changeset as
//! JSON), so a new block writes only its own delta (DESIGN.md: "columns, not blobs"). Loading
//! merges the entries in key order, which is what bdk's [`Merge`] contract asks for: later
//! changes override earlier ones. [`RedbPersister::compact`] folds the log into one entry.
//!
//! Durability: every append is its own redb write transaction, committed (redb's default
//! `Durability::Immediate`) before `persist` returns.

use std::sync::Arc;

use bdk_wallet::chain::Merge;
use bdk_wallet::{ChangeSet, WalletPersister};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError,
};

use super::WalletError;

/// The changeset log: sequence number → JSON-encoded [`ChangeSet`].
const CHANGESETS: TableDefinition<u64, &[u8]> = TableDefinition::new("wallet_changesets");

/// Persists a bdk wallet into a redb database shared with the rest of the node.
///
/// The database is opened by the caller; this type only owns the `wallet_changesets` table.
#[derive(Clone, Debug)]
pub(super) struct RedbPersister {
    /// The node's database.
    db: Arc<Database>,
}

/// Maps any redb error into the wallet's storage variant.
fn storage(error: impl Into<redb::Error>) -> WalletError {
    WalletError::Storage(error.into())
}

impl RedbPersister {
    /// A persister over `db`. Creates nothing until [`WalletPersister::initialize`].
    pub(super) fn new(db: Arc<Database>) -> RedbPersister {
        RedbPersister { db }
    }

    /// Every stored changeset merged in sequence order; empty if the table is absent.
    pub(super) fn load(&self) -> Result<ChangeSet, WalletError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = match txn.open_table(CHANGESETS) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(ChangeSet::default()),
            Err(error) => return Err(storage(error)),
        };
        let mut merged = ChangeSet::default();
        for entry in table.iter().map_err(storage)? {
            let (seq, bytes) = entry.map_err(storage)?;
            merged.merge(decode(seq.value(), bytes.value())?);
        }
        Ok(merged)
    }

    /// Appends `changeset` as the next log entry, committed before returning. Empty
    /// changesets write nothing.
    pub(super) fn append(&self, changeset: &ChangeSet) -> Result<(), WalletError> {
        if changeset.is_empty() {
            return Ok(());
        }
        let bytes = encode(changeset)?;
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(CHANGESETS).map_err(storage)?;
            let next = match table.last().map_err(storage)? {
                Some((seq, _)) => seq.value() + 1,
                None => 0,
            };
            table.insert(next, bytes.as_slice()).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// Replaces the whole log by one entry holding its merge, in one write transaction (a
    /// crash leaves either the old log or the compacted one).
    pub(super) fn compact(&self) -> Result<(), WalletError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(CHANGESETS).map_err(storage)?;
            let mut merged = ChangeSet::default();
            let mut last = None;
            for entry in table.iter().map_err(storage)? {
                let (seq, bytes) = entry.map_err(storage)?;
                merged.merge(decode(seq.value(), bytes.value())?);
                last = Some(seq.value());
            }
            // Keep the last sequence number so that numbers only ever grow.
            if let Some(last) = last {
                table.retain(|_, _| false).map_err(storage)?;
                table
                    .insert(last, encode(&merged)?.as_slice())
                    .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)
    }

    /// The number of entries in the log (1 right after a compaction).
    pub(super) fn log_len(&self) -> Result<u64, WalletError> {
        let txn = self.db.begin_read().map_err(storage)?;
        match txn.open_table(CHANGESETS) {
            Ok(table) => table.len().map_err(storage),
            Err(TableError::TableDoesNotExist(_)) => Ok(0),
            Err(error) => Err(storage(error)),
        }
    }
}

/// JSON-encodes a changeset.
fn encode(changeset: &ChangeSet) -> Result<Vec<u8>, WalletError> {
    serde_json::to_vec(changeset).map_err(|source| WalletError::ChangesetCodec {
        seq: u64::MAX,
        source,
    })
}

/// Decodes log entry `seq`.
fn decode(seq: u64, bytes: &[u8]) -> Result<ChangeSet, WalletError> {
    serde_json::from_slice(bytes).map_err(|source| WalletError::ChangesetCodec { seq, source })
}

impl WalletPersister for RedbPersister {
    type Error = WalletError;

    /// Creates the table if needed and returns the merged log.
    fn initialize(persister: &mut Self) -> Result<ChangeSet, WalletError> {
        let txn = persister.db.begin_write().map_err(storage)?;
        txn.open_table(CHANGESETS).map_err(storage)?;
        txn.commit().map_err(storage)?;
        persister.load()
    }

    fn persist(persister: &mut Self, changeset: &ChangeSet) -> Result<(), WalletError> {
        persister.append(changeset)
    }
}
