//! Payments and invoices: being paid (the final node's decisions, multi-part sets), paying
//! (route, onion, what a failure means), and the records of both with the writes that keep
//! them durable. Pure: the node actor ([`crate::node`]) feeds it channel events and runs
//! the writes before it sends anything that depends on them.
//!
//! - [`record`]: the stored records ([`InvoiceRecord`], [`PaymentRecord`] and its
//!   [`Attempt`]s, the HTLC links) and their tables.
//! - [`book`]: [`Book`], everything in memory, each change returning its writes.
//! - [`receive`]: [`Receiver`], the final node's rules (BOLT 4) and HTLC sets.
//! - [`send`]: the route (one hop: the payee is a peer), the onion, failures read back.

pub mod book;
pub mod receive;
pub mod record;
pub mod send;

pub use book::{Book, Outcome};
pub use receive::{Decision, Known, Part, Receiver};
pub use record::{
    Attempt, AttemptStatus, HtlcRef, InvoiceKind, InvoiceRecord, InvoiceStatus, PaymentRecord,
    PaymentStatus, RouteHop,
};
pub use send::{Candidate, PayKind, Target, Verdict};
