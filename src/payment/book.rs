//! [`Book`]: every invoice and payment the node has, in memory, and the writes that keep
//! the store in step with it. Pure: each change returns the [`Op`]s the node persists
//! (before it sends anything that depends on them).

use std::collections::HashMap;

use serde_json::Value;

use crate::store::Op;
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;

use super::receive::{Part, Receiver};
use super::record::{
    link_op, Attempt, AttemptStatus, HtlcRef, InvoiceKind, InvoiceRecord, InvoiceStatus, Loaded,
    PaymentRecord, PaymentStatus, Way,
};

/// The node's invoices and payments.
#[derive(Clone, Debug, Default)]
pub struct Book {
    /// Invoices (and keysend payments received), by payment hash.
    pub invoices: HashMap<PaymentHash, InvoiceRecord>,
    /// Payments sent, by payment hash.
    pub payments: HashMap<PaymentHash, PaymentRecord>,
    /// Which payment each of our HTLCs belongs to.
    out_links: HashMap<HtlcRef, PaymentHash>,
    /// HTLC sets being collected (multi-part payments to us).
    pub receiver: Receiver,
    /// The next `seq` of a new record.
    next_seq: u64,
}

/// What an HTLC outcome did to its payment.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The payment.
    pub hash: PaymentHash,
    /// The writes to persist.
    pub ops: Vec<Op>,
}

impl Book {
    /// The book of what the store held.
    pub fn from_loaded(loaded: Loaded) -> Book {
        let mut book = Book::default();
        for invoice in loaded.invoices {
            book.next_seq = book.next_seq.max(invoice.seq + 1);
            book.invoices.insert(invoice.hash(), invoice);
        }
        for payment in loaded.payments {
            book.next_seq = book.next_seq.max(payment.seq + 1);
            for attempt in &payment.attempts {
                book.out_links.insert(attempt.htlc, payment.hash());
            }
            book.payments.insert(payment.hash(), payment);
        }
        book
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A new invoice.
    pub fn add_invoice(&mut self, mut invoice: InvoiceRecord) -> Op {
        invoice.seq = self.take_seq();
        let op = invoice.op();
        self.invoices.insert(invoice.hash(), invoice);
        op
    }

    /// A new payment, or a fresh start of a failed one (its old attempts are kept).
    pub fn start_payment(&mut self, mut payment: PaymentRecord) -> Op {
        payment.seq = self.take_seq();
        if let Some(old) = self.payments.get(&payment.hash()) {
            let mut attempts = old.attempts.clone();
            attempts.append(&mut payment.attempts);
            payment.attempts = attempts;
        }
        let op = payment.op();
        self.payments.insert(payment.hash(), payment);
        op
    }

    /// An HTLC is about to go out for `hash`.
    pub fn add_attempt(&mut self, hash: PaymentHash, attempt: Attempt) -> Vec<Op> {
        let Some(payment) = self.payments.get_mut(&hash) else {
            return Vec::new();
        };
        let htlc = attempt.htlc;
        payment.attempts.push(attempt);
        payment.status = PaymentStatus::Pending;
        payment.failure = None;
        payment.resolved_at = None;
        self.out_links.insert(htlc, hash);
        vec![link_op(Way::Out, htlc, hash), payment.op()]
    }

    /// The payment an HTLC of ours belongs to.
    pub fn payment_of(&self, htlc: HtlcRef) -> Option<&PaymentRecord> {
        self.out_links
            .get(&htlc)
            .and_then(|hash| self.payments.get(hash))
    }

    /// The preimage for our HTLC came back: its payment succeeded (whatever the channel
    /// does next). Nothing if the HTLC is no payment's or it was already recorded.
    pub fn attempt_fulfilled(
        &mut self,
        htlc: HtlcRef,
        preimage: PaymentPreimage,
        now: u64,
    ) -> Option<Outcome> {
        let hash = *self.out_links.get(&htlc)?;
        let payment = self.payments.get_mut(&hash)?;
        let attempt = payment.attempt_mut(htlc)?;
        if attempt.status == AttemptStatus::Succeeded {
            return None;
        }
        attempt.status = AttemptStatus::Succeeded;
        attempt.failure = None;
        payment.preimage = Some(preimage.0);
        payment.status = PaymentStatus::Succeeded;
        payment.failure = None;
        payment.resolved_at.get_or_insert(now);
        Some(Outcome {
            hash,
            ops: vec![payment.op()],
        })
    }

    /// Our HTLC failed with `failure`. The payment stays pending (the caller retries or
    /// calls [`Book::payment_failed`]) unless it had already succeeded.
    pub fn attempt_failed(&mut self, htlc: HtlcRef, failure: Value) -> Option<Outcome> {
        let hash = *self.out_links.get(&htlc)?;
        let payment = self.payments.get_mut(&hash)?;
        let attempt = payment.attempt_mut(htlc)?;
        if attempt.status != AttemptStatus::InFlight {
            return None;
        }
        attempt.status = AttemptStatus::Failed;
        attempt.failure = Some(failure.clone());
        if payment.status == PaymentStatus::Pending {
            payment.failure = Some(failure);
        }
        Some(Outcome {
            hash,
            ops: vec![payment.op()],
        })
    }

    /// No attempt is left for `hash`: it failed with `failure` (unless it succeeded or an
    /// attempt is still out).
    pub fn payment_failed(&mut self, hash: PaymentHash, failure: Value, now: u64) -> Vec<Op> {
        let Some(payment) = self.payments.get_mut(&hash) else {
            return Vec::new();
        };
        if payment.status != PaymentStatus::Pending || payment.in_flight() {
            return Vec::new();
        }
        payment.status = PaymentStatus::Failed;
        payment.failure = Some(failure);
        payment.resolved_at = Some(now);
        vec![payment.op()]
    }

    /// After a restart: attempts whose HTLC no channel holds any more failed (they never
    /// went out, or failed while the node was down: a fulfilled HTLC is recorded as such
    /// before it can leave a channel). Returns the writes and the payments left without
    /// an attempt in flight.
    pub fn reconcile(
        &mut self,
        live: impl Fn(HtlcRef) -> bool,
        now: u64,
    ) -> (Vec<Op>, Vec<PaymentHash>) {
        let mut ops = Vec::new();
        let mut stranded = Vec::new();
        for payment in self.payments.values_mut() {
            if payment.status != PaymentStatus::Pending {
                continue;
            }
            let mut changed = false;
            for attempt in &mut payment.attempts {
                if attempt.status == AttemptStatus::InFlight && !live(attempt.htlc) {
                    attempt.status = AttemptStatus::Failed;
                    attempt.failure = Some(super::send::local_failure(
                        "the HTLC was not in the channel after a restart",
                    ));
                    changed = true;
                }
            }
            if !payment.in_flight() {
                payment.status = PaymentStatus::Failed;
                payment.resolved_at = Some(now);
                if payment.failure.is_none() {
                    payment.failure = payment.attempts.last().and_then(|a| a.failure.clone());
                }
                if payment.failure.is_none() {
                    payment.failure = Some(super::send::local_failure(
                        "interrupted by a restart before any HTLC went out",
                    ));
                }
                changed = true;
                stranded.push(payment.hash());
            }
            if changed {
                ops.push(payment.op());
            }
        }
        (ops, stranded)
    }

    /// The invoice (or keysend) `parts` pay is settled by them: record it paid, durably,
    /// before any `update_fulfill_htlc` leaves. For keysend a record is made.
    pub fn settle(
        &mut self,
        hash: PaymentHash,
        preimage: PaymentPreimage,
        parts: &[Part],
        now: u64,
    ) -> Vec<Op> {
        let seq = if self.invoices.contains_key(&hash) {
            0
        } else {
            self.take_seq()
        };
        let record = self.invoices.entry(hash).or_insert_with(|| InvoiceRecord {
            payment_hash: hash.0,
            preimage: preimage.0,
            payment_secret: None,
            kind: InvoiceKind::Keysend,
            amount: None,
            description: String::new(),
            bolt11: None,
            min_final_cltv_expiry_delta: 0,
            created_at: now,
            expires_at: now,
            status: InvoiceStatus::Open,
            received: Msat(0),
            paid_at: None,
            htlcs: Vec::new(),
            seq,
        });
        let mut ops = Vec::new();
        for part in parts {
            if !record.htlcs.contains(&part.htlc) {
                record.htlcs.push(part.htlc);
                record.received = Msat(record.received.0.saturating_add(part.amount.0));
                ops.push(link_op(Way::In, part.htlc, hash));
            }
        }
        if record.status != InvoiceStatus::Paid {
            record.status = InvoiceStatus::Paid;
            record.paid_at = Some(now);
        }
        if !ops.is_empty() {
            ops.push(record.op());
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ChannelId;
    use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};

    fn htlc(id: u64) -> HtlcRef {
        HtlcRef {
            channel_id: ChannelId([3; 32]),
            htlc_id: id,
        }
    }

    fn payment() -> PaymentRecord {
        let secp = Secp256k1::new();
        PaymentRecord {
            payment_hash: [1; 32],
            preimage: None,
            payee: PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[2; 32]).unwrap()),
            amount: Msat(1_000),
            bolt11: None,
            keysend: true,
            status: PaymentStatus::Pending,
            attempts: Vec::new(),
            failure: None,
            created_at: 1,
            resolved_at: None,
            seq: 0,
        }
    }

    fn attempt(id: u64) -> Attempt {
        Attempt {
            htlc: htlc(id),
            route: Vec::new(),
            amount: Msat(1_000),
            shared_secrets: Vec::new(),
            status: AttemptStatus::InFlight,
            failure: None,
        }
    }

    const HASH: PaymentHash = PaymentHash([1; 32]);

    #[test]
    fn a_fulfilled_attempt_succeeds_its_payment_once() {
        let mut book = Book::default();
        book.start_payment(payment());
        assert_eq!(book.add_attempt(HASH, attempt(0)).len(), 2);
        let out = book
            .attempt_fulfilled(htlc(0), PaymentPreimage([9; 32]), 5)
            .unwrap();
        assert_eq!(out.hash, HASH);
        assert_eq!(book.payments[&HASH].status, PaymentStatus::Succeeded);
        assert!(book
            .attempt_fulfilled(htlc(0), PaymentPreimage([9; 32]), 6)
            .is_none());
        // A failure reported after the success changes nothing.
        assert!(book.attempt_failed(htlc(0), Value::Null).is_none());
        assert!(book.payment_failed(HASH, Value::Null, 7).is_empty());
        assert_eq!(book.payments[&HASH].status, PaymentStatus::Succeeded);
    }

    #[test]
    fn a_payment_fails_only_when_no_attempt_is_out() {
        let mut book = Book::default();
        book.start_payment(payment());
        book.add_attempt(HASH, attempt(0));
        book.add_attempt(HASH, attempt(1));
        book.attempt_failed(htlc(0), serde_json::json!({"code": 1}))
            .unwrap();
        assert!(book.payment_failed(HASH, Value::Null, 3).is_empty());
        book.attempt_failed(htlc(1), serde_json::json!({"code": 2}))
            .unwrap();
        assert_eq!(book.payment_failed(HASH, Value::Null, 3).len(), 1);
        assert_eq!(book.payments[&HASH].status, PaymentStatus::Failed);
    }

    #[test]
    fn after_a_restart_attempts_missing_from_their_channel_fail() {
        let mut book = Book::default();
        book.start_payment(payment());
        book.add_attempt(HASH, attempt(0));
        let (ops, stranded) = book.reconcile(|h| h.htlc_id == 0, 9);
        assert!(ops.is_empty() && stranded.is_empty());
        let (ops, stranded) = book.reconcile(|_| false, 9);
        assert_eq!((ops.len(), stranded), (1, vec![HASH]));
        assert_eq!(book.payments[&HASH].status, PaymentStatus::Failed);
    }

    #[test]
    fn settling_twice_writes_once() {
        let mut book = Book::default();
        let part = Part {
            htlc: htlc(4),
            amount: Msat(700),
            cltv_expiry: 100,
            payment_hash: HASH,
            shared_secret: crate::onion::SharedSecret([0; 32]),
        };
        let ops = book.settle(
            HASH,
            PaymentPreimage([1; 32]),
            std::slice::from_ref(&part),
            3,
        );
        assert_eq!(ops.len(), 2);
        assert!(book
            .settle(HASH, PaymentPreimage([1; 32]), &[part], 4)
            .is_empty());
        let inv = &book.invoices[&HASH];
        assert_eq!(
            (inv.kind, inv.status, inv.received),
            (InvoiceKind::Keysend, InvoiceStatus::Paid, Msat(700))
        );
    }
}
