//! redb persistence of the regtest chain: one table per kind of record.
//!
//! | table     | key                 | value                                          |
//! |-----------|---------------------|------------------------------------------------|
//! | `blocks`  | block hash (32)     | consensus-serialized block                     |
//! | `index`   | block hash (32)     | height u32, sequence u64, failed u8 (LE)       |
//! | `utxos`   | outpoint (36)       | [`Coin::to_bytes`]                             |
//! | `undo`    | block hash (32)     | [`BlockUndo::to_bytes`]                        |
//! | `meta`    | name                | active tip hash                                |
//! | `mempool` | entry order u64     | consensus-serialized transaction               |
//!
//! Every public mutation of the chain is written as one redb write transaction (a batch of
//! [`StoreOp`]s), so a crash leaves either the state before or after it, never a mix: the
//! UTXO set, undo data and tip always agree. The mempool is saved on clean shutdown, as Core's
//! `mempool.dat` is.

use std::path::Path;

use bitcoin::consensus::encode;
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash, OutPoint, Transaction};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::utxo::{outpoint_from_key, outpoint_key, BlockUndo, Coin};

const BLOCKS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("blocks");
const INDEX: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("index");
const UTXOS: TableDefinition<&[u8; 36], &[u8]> = TableDefinition::new("utxos");
const UNDO: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("undo");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const MEMPOOL: TableDefinition<u64, &[u8]> = TableDefinition::new("mempool");

/// Meta key of the active tip.
const TIP_KEY: &str = "tip";

/// Errors of the regtest store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (I/O, corruption, lock held by another process).
    #[error("regtest database: {0}")]
    Database(#[from] redb::Error),
    /// A stored record does not decode.
    #[error("regtest database record is corrupt: {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    fn db(e: impl Into<redb::Error>) -> StoreError {
        StoreError::Database(e.into())
    }
}

/// Index metadata stored beside a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IndexRecord {
    /// The block's height.
    pub height: u32,
    /// Its receive order.
    pub sequence: u64,
    /// Whether it is marked invalid.
    pub failed: bool,
}

impl IndexRecord {
    fn to_bytes(self) -> [u8; 13] {
        let mut out = [0u8; 13];
        out[0..4].copy_from_slice(&self.height.to_le_bytes());
        out[4..12].copy_from_slice(&self.sequence.to_le_bytes());
        out[12] = u8::from(self.failed);
        out
    }

    fn from_bytes(bytes: &[u8]) -> Option<IndexRecord> {
        Some(IndexRecord {
            height: u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?),
            sequence: u64::from_le_bytes(bytes.get(4..12)?.try_into().ok()?),
            failed: *bytes.get(12)? != 0,
        })
    }
}

/// One write to replay in a batch.
#[derive(Clone, Debug)]
pub(crate) enum StoreOp {
    /// Store a block and its index record.
    PutBlock(Box<Block>, IndexRecord),
    /// Update a block's index record.
    PutIndex(BlockHash, IndexRecord),
    /// Add an unspent output.
    PutCoin(OutPoint, Coin),
    /// Remove an unspent output.
    DeleteCoin(OutPoint),
    /// Store a block's undo data.
    PutUndo(BlockHash, BlockUndo),
    /// Remove a block's undo data.
    DeleteUndo(BlockHash),
    /// Set the active tip.
    SetTip(BlockHash),
}

/// Everything read back at start-up.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// Blocks with their index records, in height order.
    pub blocks: Vec<(Block, IndexRecord)>,
    /// The UTXO set.
    pub coins: Vec<(OutPoint, Coin)>,
    /// The active tip, if any block was ever stored.
    pub tip: Option<BlockHash>,
    /// Saved mempool transactions in entry order.
    pub mempool: Vec<Transaction>,
}

/// The regtest chain's database.
pub(crate) struct Store {
    /// The redb database (a file, or memory for in-process tests).
    db: Database,
}

impl Store {
    /// Opens or creates the database file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Store, StoreError> {
        let db = Database::create(path).map_err(StoreError::db)?;
        Store::init(db)
    }

    /// A database held in memory (in-process tests).
    pub(crate) fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(StoreError::db)?;
        Store::init(db)
    }

    fn init(db: Database) -> Result<Store, StoreError> {
        let txn = db.begin_write().map_err(StoreError::db)?;
        {
            txn.open_table(BLOCKS).map_err(StoreError::db)?;
            txn.open_table(INDEX).map_err(StoreError::db)?;
            txn.open_table(UTXOS).map_err(StoreError::db)?;
            txn.open_table(UNDO).map_err(StoreError::db)?;
            txn.open_table(META).map_err(StoreError::db)?;
            txn.open_table(MEMPOOL).map_err(StoreError::db)?;
        }
        txn.commit().map_err(StoreError::db)?;
        Ok(Store { db })
    }

    /// Applies a batch atomically.
    pub(crate) fn apply(&self, ops: &[StoreOp]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(StoreError::db)?;
        {
            let mut blocks = txn.open_table(BLOCKS).map_err(StoreError::db)?;
            let mut index = txn.open_table(INDEX).map_err(StoreError::db)?;
            let mut utxos = txn.open_table(UTXOS).map_err(StoreError::db)?;
            let mut undo = txn.open_table(UNDO).map_err(StoreError::db)?;
            let mut meta = txn.open_table(META).map_err(StoreError::db)?;
            for op in ops {
                match op {
                    StoreOp::PutBlock(block, record) => {
                        let hash = block.block_hash().to_byte_array();
                        let bytes = encode::serialize(block.as_ref());
                        blocks
                            .insert(&hash, bytes.as_slice())
                            .map_err(StoreError::db)?;
                        index
                            .insert(&hash, record.to_bytes().as_slice())
                            .map_err(StoreError::db)?;
                    }
                    StoreOp::PutIndex(hash, record) => {
                        index
                            .insert(&hash.to_byte_array(), record.to_bytes().as_slice())
                            .map_err(StoreError::db)?;
                    }
                    StoreOp::PutCoin(outpoint, coin) => {
                        let bytes = coin.to_bytes();
                        utxos
                            .insert(&outpoint_key(outpoint), bytes.as_slice())
                            .map_err(StoreError::db)?;
                    }
                    StoreOp::DeleteCoin(outpoint) => {
                        utxos
                            .remove(&outpoint_key(outpoint))
                            .map_err(StoreError::db)?;
                    }
                    StoreOp::PutUndo(hash, data) => {
                        let bytes = data.to_bytes();
                        undo.insert(&hash.to_byte_array(), bytes.as_slice())
                            .map_err(StoreError::db)?;
                    }
                    StoreOp::DeleteUndo(hash) => {
                        undo.remove(&hash.to_byte_array()).map_err(StoreError::db)?;
                    }
                    StoreOp::SetTip(hash) => {
                        meta.insert(TIP_KEY, hash.to_byte_array().as_slice())
                            .map_err(StoreError::db)?;
                    }
                }
            }
        }
        txn.commit().map_err(StoreError::db)
    }

    /// Reads a block's undo data.
    pub(crate) fn undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let table = txn.open_table(UNDO).map_err(StoreError::db)?;
        let Some(value) = table.get(&hash.to_byte_array()).map_err(StoreError::db)? else {
            return Ok(None);
        };
        BlockUndo::from_bytes(value.value())
            .map(Some)
            .ok_or(StoreError::Corrupt("undo"))
    }

    /// Replaces the saved mempool.
    pub(crate) fn save_mempool(&self, txs: &[Transaction]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::db)?;
        {
            let mut table = txn.open_table(MEMPOOL).map_err(StoreError::db)?;
            table.retain(|_, _| false).map_err(StoreError::db)?;
            for (i, tx) in txs.iter().enumerate() {
                let bytes = encode::serialize(tx);
                table
                    .insert(i as u64, bytes.as_slice())
                    .map_err(StoreError::db)?;
            }
        }
        txn.commit().map_err(StoreError::db)
    }

    /// Reads everything needed to rebuild the in-memory chain.
    pub(crate) fn load(&self) -> Result<Loaded, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::db)?;
        let mut loaded = Loaded::default();
        let blocks = txn.open_table(BLOCKS).map_err(StoreError::db)?;
        let index = txn.open_table(INDEX).map_err(StoreError::db)?;
        let mut records =
            Vec::with_capacity(usize::try_from(index.len().map_err(StoreError::db)?).unwrap_or(0));
        for row in index.iter().map_err(StoreError::db)? {
            let (key, value) = row.map_err(StoreError::db)?;
            let record =
                IndexRecord::from_bytes(value.value()).ok_or(StoreError::Corrupt("index"))?;
            records.push((*key.value(), record));
        }
        records.sort_by_key(|(_, r)| (r.height, r.sequence));
        for (hash, record) in records {
            let value = blocks
                .get(&hash)
                .map_err(StoreError::db)?
                .ok_or(StoreError::Corrupt("block missing for index entry"))?;
            let block: Block =
                encode::deserialize(value.value()).map_err(|_| StoreError::Corrupt("block"))?;
            loaded.blocks.push((block, record));
        }
        let utxos = txn.open_table(UTXOS).map_err(StoreError::db)?;
        for row in utxos.iter().map_err(StoreError::db)? {
            let (key, value) = row.map_err(StoreError::db)?;
            let outpoint = outpoint_from_key(key.value()).ok_or(StoreError::Corrupt("outpoint"))?;
            let coin = Coin::from_bytes(value.value()).ok_or(StoreError::Corrupt("coin"))?;
            loaded.coins.push((outpoint, coin));
        }
        let meta = txn.open_table(META).map_err(StoreError::db)?;
        if let Some(value) = meta.get(TIP_KEY).map_err(StoreError::db)? {
            let bytes: [u8; 32] = value
                .value()
                .try_into()
                .map_err(|_| StoreError::Corrupt("tip"))?;
            loaded.tip = Some(BlockHash::from_byte_array(bytes));
        }
        let mempool = txn.open_table(MEMPOOL).map_err(StoreError::db)?;
        for row in mempool.iter().map_err(StoreError::db)? {
            let (_, value) = row.map_err(StoreError::db)?;
            let tx: Transaction =
                encode::deserialize(value.value()).map_err(|_| StoreError::Corrupt("mempool"))?;
            loaded.mempool.push(tx);
        }
        Ok(loaded)
    }
}
