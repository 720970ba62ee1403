//! [`Subscription`]: the receiving end of a notifier stream, and the reason it ended.
//!
//! A subscription is a bounded `mpsc` channel plus one shared byte in which the actor writes
//! why it closed the stream, just before dropping its sender. The byte is written once by one
//! task and read by one other: no lock, no web of shared state.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// Why a subscription's stream ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StreamEnd {
    /// The outcome is buried under the reorg-safety depth: nothing more will be reported.
    Final,
    /// The subscriber let its buffer fill up for longer than the lag timeout and was dropped;
    /// register again to resume.
    Lagged,
    /// The notifier stopped (node shutdown or a fatal error).
    Stopped,
    /// The notifier cannot serve this registration (a `best_known` block the backend does not
    /// know); registering again the same way will not help.
    Rejected,
}

/// End codes stored in the shared byte; 0 = not ended (or ended without a word: stopped).
const END_NONE: u8 = 0;
const END_FINAL: u8 = 1;
const END_LAGGED: u8 = 2;
const END_REJECTED: u8 = 3;

/// The receiving end of a notifier stream. Drop it to cancel.
#[derive(Debug)]
pub struct Subscription<E> {
    /// Events, in order.
    rx: mpsc::Receiver<E>,
    /// Why the stream ended, written by the actor before it drops the sender.
    end: Arc<AtomicU8>,
}

impl<E> Subscription<E> {
    /// The next event; `None` once the stream has ended and every buffered event was read
    /// (then [`Subscription::end_reason`] says why).
    pub async fn recv(&mut self) -> Option<E> {
        self.rx.recv().await
    }

    /// The next event if one is buffered, without waiting.
    pub fn try_recv(&mut self) -> Option<E> {
        self.rx.try_recv().ok()
    }

    /// Why the stream ended, or `None` while it is still open.
    pub fn end_reason(&self) -> Option<StreamEnd> {
        if !self.rx.is_closed() {
            return None;
        }
        Some(match self.end.load(Ordering::Acquire) {
            END_FINAL => StreamEnd::Final,
            END_LAGGED => StreamEnd::Lagged,
            END_REJECTED => StreamEnd::Rejected,
            _ => StreamEnd::Stopped,
        })
    }
}

/// The actor's end of a subscription.
#[derive(Debug)]
pub(crate) struct Sink<E> {
    /// Where events go.
    pub(crate) tx: mpsc::Sender<E>,
    /// Shared with the [`Subscription`].
    end: Arc<AtomicU8>,
}

impl<E> Sink<E> {
    /// Records why the stream ends; the caller then drops the sink, which closes it.
    pub(crate) fn set_end(&self, reason: StreamEnd) {
        let code = match reason {
            StreamEnd::Final => END_FINAL,
            StreamEnd::Lagged => END_LAGGED,
            StreamEnd::Rejected => END_REJECTED,
            StreamEnd::Stopped => END_NONE,
        };
        self.end.store(code, Ordering::Release);
    }

    /// True once the subscriber dropped its [`Subscription`].
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A new subscription channel of `capacity` events (at least 1).
pub(crate) fn channel<E>(capacity: usize) -> (Sink<E>, Subscription<E>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let end = Arc::new(AtomicU8::new(END_NONE));
    (
        Sink {
            tx,
            end: Arc::clone(&end),
        },
        Subscription { rx, end },
    )
}
