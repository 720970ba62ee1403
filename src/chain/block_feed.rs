//! [`BlockFeed`]: a block stream that outlives lagging.
//!
//! The notifier drops a block subscriber that lets its buffer stay full past the lag timeout
//! (see [`NotifierConfig::lag_timeout`](super::NotifierConfig)), so that one slow reader
//! cannot hold up the others. A node catching up on thousands of blocks at once is such a
//! reader for a while, and must neither stop nor miss a block: the feed subscribes again from
//! the last block it delivered, and the notifier's replay fills the gap.

use std::collections::VecDeque;

use super::ChainError;
use super::{BlockEvent, BlockRef, ChainNotifierHandle, StreamEnd, Subscription};

/// Delivered blocks remembered for finding the tip again after a disconnection: as deep as
/// any reorg the notifier undoes (lnd's 144) with room to spare.
const HISTORY: usize = 256;

/// Every block connected to and disconnected from the best chain, in chain order, for as
/// long as the notifier runs: see [`ChainNotifierHandle::register_blocks`].
#[derive(Debug)]
pub struct BlockFeed {
    notifier: ChainNotifierHandle,
    stream: Subscription<BlockEvent>,
    /// The blocks of the subscriber's chain, tip last (at most [`HISTORY`]).
    delivered: VecDeque<BlockRef>,
    /// Where the feed started, if it was given a tip.
    start: Option<BlockRef>,
}

impl BlockFeed {
    /// Subscribes, replaying from `best_known` (the last block the subscriber processed) as
    /// [`ChainNotifierHandle::register_blocks`] does.
    pub async fn new(
        notifier: ChainNotifierHandle,
        best_known: Option<BlockRef>,
    ) -> Result<BlockFeed, ChainError> {
        let stream = notifier.register_blocks(best_known).await?;
        Ok(BlockFeed {
            notifier,
            stream,
            delivered: VecDeque::new(),
            start: best_known,
        })
    }

    /// The next block event; `None` once the notifier has stopped.
    pub async fn recv(&mut self) -> Option<BlockEvent> {
        loop {
            if let Some(event) = self.stream.recv().await {
                self.note(&event);
                return Some(event);
            }
            if self.stream.end_reason() != Some(StreamEnd::Lagged) {
                return None;
            }
            let tip = self.tip();
            tracing::warn!(
                tip = ?tip.map(|b| b.height),
                "block stream lagged behind the chain; subscribing again from the last block"
            );
            self.stream = self.notifier.register_blocks(tip).await.ok()?;
        }
    }

    /// The last block the subscriber has been given, as best known to the notifier.
    fn tip(&self) -> Option<BlockRef> {
        self.delivered.back().copied().or(self.start)
    }

    fn note(&mut self, event: &BlockEvent) {
        match event {
            BlockEvent::Connected { .. } => {
                if self.delivered.len() == HISTORY {
                    self.delivered.pop_front();
                }
                self.delivered.push_back(event.block_ref());
            }
            BlockEvent::Disconnected(block) => {
                while self
                    .delivered
                    .back()
                    .is_some_and(|b| b.height >= block.height)
                {
                    self.delivered.pop_back();
                }
                if self.delivered.is_empty() {
                    // Deeper than remembered: resume from the disconnected block itself; the
                    // replay disconnects it again (subscribers ignore what they no longer have)
                    // and connects the new branch.
                    self.start = Some(*block);
                }
            }
        }
    }
}
