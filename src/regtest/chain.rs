//! The block tree and the active chain (Core's `BlockManager` index and `CChain`).
//!
//! Every block ever accepted stays in the tree with its height, cumulative chainwork, median
//! time past and failure flags; the active chain is a vector of hashes indexed by height, so
//! height lookups, confirmations and ancestor checks on it are O(1). Choosing the best chain
//! (after `invalidateblock` / `reconsiderblock`) is the only operation that scans the tree.

use std::collections::HashMap;

use bitcoin::block::Header;
use bitcoin::pow::Work;
use bitcoin::BlockHash;

/// Number of past blocks whose median time is the median time past (BIP113).
const MEDIAN_TIME_SPAN: usize = 11;

/// One block of the tree (Core's `CBlockIndex`).
#[derive(Clone, Debug)]
pub(crate) struct BlockIndex {
    /// The block's hash.
    pub hash: BlockHash,
    /// Its header.
    pub header: Header,
    /// Its height (genesis = 0).
    pub height: u32,
    /// Cumulative work of the chain ending here (`nChainWork`).
    pub chainwork: Work,
    /// Median of the times of this block and its ten predecessors (`GetMedianTimePast`).
    pub median_time_past: u32,
    /// Number of transactions in the block (`nTx`).
    pub n_tx: u32,
    /// Order in which blocks were received; the earlier wins a chainwork tie.
    pub sequence: u64,
    /// Marked invalid itself (`BLOCK_FAILED_VALID`): `invalidateblock` or a failed connect.
    pub failed: bool,
}

/// The tree of known blocks plus the active chain.
#[derive(Clone, Debug, Default)]
pub(crate) struct ChainIndex {
    /// Every known block by hash.
    entries: HashMap<BlockHash, BlockIndex>,
    /// The active chain: `active[h]` is the hash at height `h`.
    active: Vec<BlockHash>,
    /// Next receive sequence number.
    next_sequence: u64,
}

impl ChainIndex {
    /// An empty index.
    pub(crate) fn new() -> ChainIndex {
        ChainIndex::default()
    }

    /// Adds a block whose parent is already known (or the genesis block). Returns the new
    /// entry. `sequence` restores the stored order on load; `None` assigns the next one.
    pub(crate) fn insert(
        &mut self,
        header: Header,
        n_tx: u32,
        sequence: Option<u64>,
        failed: bool,
    ) -> Option<&BlockIndex> {
        let hash = header.block_hash();
        let (height, prev_work) = if header.prev_blockhash
            == BlockHash::from_raw_hash(bitcoin::hashes::Hash::all_zeros())
        {
            (0, None)
        } else {
            let parent = self.entries.get(&header.prev_blockhash)?;
            (parent.height + 1, Some(parent.chainwork))
        };
        let chainwork = match prev_work {
            Some(work) => work + header.work(),
            None => header.work(),
        };
        let median_time_past = self.median_time_of(header.time, header.prev_blockhash);
        let sequence = sequence.unwrap_or(self.next_sequence);
        self.next_sequence = self.next_sequence.max(sequence + 1);
        let entry = BlockIndex {
            hash,
            header,
            height,
            chainwork,
            median_time_past,
            n_tx,
            sequence,
            failed,
        };
        self.entries.insert(hash, entry);
        self.entries.get(&hash)
    }

    /// Median of `time` and the times of up to ten ancestors starting at `prev`.
    fn median_time_of(&self, time: u32, mut prev: BlockHash) -> u32 {
        let mut times = Vec::with_capacity(MEDIAN_TIME_SPAN);
        times.push(time);
        while times.len() < MEDIAN_TIME_SPAN {
            let Some(entry) = self.entries.get(&prev) else {
                break;
            };
            times.push(entry.header.time);
            prev = entry.header.prev_blockhash;
        }
        times.sort_unstable();
        times[times.len() / 2]
    }

    /// The entry for `hash`.
    pub(crate) fn get(&self, hash: &BlockHash) -> Option<&BlockIndex> {
        self.entries.get(hash)
    }

    /// The active chain's tip.
    pub(crate) fn tip(&self) -> Option<&BlockIndex> {
        self.active.last().and_then(|h| self.entries.get(h))
    }

    /// The active chain's height (-1 before genesis).
    pub(crate) fn height(&self) -> i64 {
        i64::try_from(self.active.len()).unwrap_or(i64::MAX) - 1
    }

    /// The hash at `height` on the active chain.
    pub(crate) fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.active.get(height as usize).copied()
    }

    /// The entry at `height` on the active chain.
    pub(crate) fn at(&self, height: u32) -> Option<&BlockIndex> {
        self.hash_at(height).and_then(|h| self.entries.get(&h))
    }

    /// Whether `hash` is on the active chain.
    pub(crate) fn contains(&self, hash: &BlockHash) -> bool {
        self.entries
            .get(hash)
            .is_some_and(|e| self.hash_at(e.height) == Some(*hash))
    }

    /// Appends `hash` (a child of the tip) to the active chain.
    pub(crate) fn push_active(&mut self, hash: BlockHash) {
        self.active.push(hash);
    }

    /// Removes the tip from the active chain.
    pub(crate) fn pop_active(&mut self) -> Option<BlockHash> {
        self.active.pop()
    }

    /// The ancestor of `hash` at `height` (walks parents; O(depth) off the active chain).
    pub(crate) fn ancestor(&self, hash: &BlockHash, height: u32) -> Option<&BlockIndex> {
        let mut entry = self.entries.get(hash)?;
        if entry.height < height {
            return None;
        }
        if self.contains(hash) {
            return self.at(height);
        }
        while entry.height > height {
            entry = self.entries.get(&entry.header.prev_blockhash)?;
        }
        Some(entry)
    }

    /// Whether `hash` or one of its ancestors is marked failed.
    pub(crate) fn is_failed_or_descends_from_failed(&self, hash: &BlockHash) -> bool {
        let mut cursor = self.entries.get(hash);
        while let Some(entry) = cursor {
            if entry.failed {
                return true;
            }
            // Blocks on the active chain were all connected successfully.
            if self.contains(&entry.hash) {
                return false;
            }
            cursor = self.entries.get(&entry.header.prev_blockhash);
        }
        false
    }

    /// Marks `hash` failed or clears the mark.
    pub(crate) fn set_failed(&mut self, hash: &BlockHash, failed: bool) {
        if let Some(entry) = self.entries.get_mut(hash) {
            entry.failed = failed;
        }
    }

    /// Clears the failure marks of `hash`, its ancestors and its descendants (Core's
    /// `ResetBlockFailureFlags`). Returns the hashes whose mark changed.
    pub(crate) fn reset_failure(&mut self, hash: &BlockHash) -> Vec<BlockHash> {
        let Some(target) = self.entries.get(hash).map(|e| (e.hash, e.height)) else {
            return Vec::new();
        };
        let mut changed = Vec::new();
        let hashes: Vec<BlockHash> = self.entries.keys().copied().collect();
        for candidate in hashes {
            let related = self
                .ancestor(&candidate, target.1)
                .is_some_and(|a| a.hash == target.0)
                || self
                    .ancestor(&target.0, self.entries[&candidate].height)
                    .map(|a| a.hash)
                    == Some(candidate);
            if related && self.entries[&candidate].failed {
                self.set_failed(&candidate, false);
                changed.push(candidate);
            }
        }
        changed
    }

    /// The valid block with the most work (ties go to the earliest received): the tip the
    /// active chain should move to. Scans the tree.
    pub(crate) fn best_candidate(&self) -> Option<BlockHash> {
        let mut best: Option<&BlockIndex> = None;
        for entry in self.entries.values() {
            let better = match best {
                None => true,
                Some(b) => {
                    entry.chainwork > b.chainwork
                        || (entry.chainwork == b.chainwork && entry.sequence < b.sequence)
                }
            };
            if better && !self.is_failed_or_descends_from_failed(&entry.hash) {
                best = Some(entry);
            }
        }
        best.map(|e| e.hash)
    }

    /// The last common block of the active chain and the branch ending at `hash`.
    pub(crate) fn fork_point(&self, hash: &BlockHash) -> Option<&BlockIndex> {
        let mut entry = self.entries.get(hash)?;
        while !self.contains(&entry.hash) {
            entry = self.entries.get(&entry.header.prev_blockhash)?;
        }
        Some(entry)
    }

    /// The branch from just after the fork point up to `hash`, oldest first.
    pub(crate) fn branch_to(&self, hash: &BlockHash) -> Vec<BlockHash> {
        let mut branch = Vec::new();
        let mut cursor = self.entries.get(hash);
        while let Some(entry) = cursor {
            if self.contains(&entry.hash) {
                break;
            }
            branch.push(entry.hash);
            cursor = self.entries.get(&entry.header.prev_blockhash);
        }
        branch.reverse();
        branch
    }
}
