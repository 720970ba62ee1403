//! What the channel core asks its shell to do, in order.

use bitcoin::Transaction;

use super::ledger::Resolution;
use crate::store::{Batch, Op};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::Message;

/// One thing for the shell to do. The shell runs a list of actions in order and starts
/// nothing after a [`Action::Persist`] until its write is durable: a `Persist` always comes
/// before the sends and broadcasts that depend on it.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // moved once, from the core to the shell
pub enum Action {
    /// Make these writes durable (one store transaction).
    Persist(Batch),
    /// Send a message to the peer (dropped if the peer is not connected: the core
    /// retransmits what matters after `channel_reestablish`).
    Send(Message),
    /// Broadcast a transaction.
    Broadcast(Transaction),
    /// Tell the node something happened.
    Event(ChannelEvent),
    /// Close the connection to the peer (after a `warning`).
    Disconnect,
}

/// What the node hears from a channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelEvent {
    /// Both `channel_ready`s exchanged: the channel is usable.
    Ready,
    /// The peer's HTLC is irrevocably committed on both sides: it may now be fulfilled or
    /// failed (BOLT 2 "Removing an HTLC"). Told again after each `channel_reestablish` while
    /// no removal has started, so a decision lost in a crash is made again.
    HtlcReceived {
        /// Its `id`.
        id: u64,
        /// `amount_msat`.
        amount: Msat,
        /// `payment_hash`.
        payment_hash: PaymentHash,
        /// `cltv_expiry`.
        cltv_expiry: u32,
    },
    /// The peer fulfilled one of our HTLCs: the preimage is ours to use at once.
    HtlcFulfilled {
        /// Our HTLC's `id`.
        id: u64,
        /// The preimage.
        preimage: PaymentPreimage,
    },
    /// One of our HTLCs was failed, irrevocably.
    HtlcFailed {
        /// Our HTLC's `id`.
        id: u64,
        /// How.
        resolution: Resolution,
    },
    /// Both commitments are at a new feerate.
    FeerateChanged {
        /// The feerate.
        feerate: FeeratePerKw,
    },
    /// The channel failed: our commitment was broadcast.
    Failed {
        /// Why.
        reason: String,
    },
}

impl ChannelEvent {
    /// [`ChannelEvent::HtlcReceived`] for the peer's HTLC `h`.
    pub(super) fn received(h: &super::HtlcRecord) -> ChannelEvent {
        ChannelEvent::HtlcReceived {
            id: h.key.id,
            amount: h.amount,
            payment_hash: h.payment_hash,
            cltv_expiry: h.cltv_expiry,
        }
    }
}

/// An ordered list of actions being built.
#[derive(Clone, Debug, Default)]
pub struct Actions(Vec<Action>);

impl Actions {
    /// No actions.
    pub fn new() -> Actions {
        Actions::default()
    }

    /// A write, merged with the persist right before it if there is one (so that one store
    /// transaction covers a whole step).
    pub fn persist(&mut self, op: Op) {
        if let Some(Action::Persist(batch)) = self.0.last_mut() {
            batch.push(op);
        } else {
            self.0.push(Action::Persist(Batch::new().with(op)));
        }
    }

    /// Several writes.
    pub fn persist_all(&mut self, ops: impl IntoIterator<Item = Op>) {
        for op in ops {
            self.persist(op);
        }
    }

    /// A message for the peer.
    pub fn send(&mut self, msg: Message) {
        self.0.push(Action::Send(msg));
    }

    /// A transaction to broadcast.
    pub fn broadcast(&mut self, tx: Transaction) {
        self.0.push(Action::Broadcast(tx));
    }

    /// An event for the node.
    pub fn event(&mut self, event: ChannelEvent) {
        self.0.push(Action::Event(event));
    }

    /// Closing the connection.
    pub fn disconnect(&mut self) {
        self.0.push(Action::Disconnect);
    }

    /// Appends `other`'s actions after these.
    pub fn extend(&mut self, other: Actions) {
        for action in other.0 {
            match action {
                Action::Persist(batch) => self.persist_all(batch.ops),
                other => self.0.push(other),
            }
        }
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages to send, in order (for callers and tests that only look at those).
    pub fn sent(&self) -> impl Iterator<Item = &Message> {
        self.0.iter().filter_map(|a| match a {
            Action::Send(m) => Some(m),
            _ => None,
        })
    }

    /// The actions, in order.
    pub fn as_slice(&self) -> &[Action] {
        &self.0
    }

    /// Takes the actions out.
    pub fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.0)
    }

    /// The actions, consumed.
    pub fn into_vec(self) -> Vec<Action> {
        self.0
    }
}
