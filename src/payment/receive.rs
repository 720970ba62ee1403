//! Being paid: what the final node decides about each HTLC that arrives for it (BOLT 4
//! "Payload format" final-node requirements, "Basic Multi-Part Payments", "Failure
//! Messages"). Pure: the invoice, the height and the time come in as arguments.
//!
//! Parts of one payment (same hash, same secret) are held in an HTLC set until their
//! `amt_to_forward` add up to `total_msat`; then all are fulfilled together. A set that does
//! not complete within [`MPP_TIMEOUT_SECS`] fails as a whole with `mpp_timeout`.

use std::collections::HashMap;

use crate::onion::{FailureMessage, HopPayload, SharedSecret};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;

use super::record::{HtlcRef, InvoiceRecord, InvoiceStatus};

/// How long the parts of an incomplete multi-part payment are held (BOLT 4: "SHOULD wait
/// for at least 60 seconds after the initial HTLC").
pub const MPP_TIMEOUT_SECS: u64 = 60;

/// Held parts whose expiry comes within this many blocks are failed back, so that the peer
/// never has to go on chain to time them out.
pub const HELD_EXPIRY_MARGIN: u32 = 6;

/// An HTLC addressed to us, with what its onion said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The HTLC.
    pub htlc: HtlcRef,
    /// `amount_msat` of the HTLC.
    pub amount: Msat,
    /// `cltv_expiry` of the HTLC.
    pub cltv_expiry: u32,
    /// `payment_hash`.
    pub payment_hash: PaymentHash,
    /// The onion's shared secret with the payer (to encrypt a failure).
    pub shared_secret: SharedSecret,
}

/// What to do with one HTLC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Fulfill it with this preimage.
    Fulfill {
        /// The HTLC.
        part: Part,
        /// The preimage.
        preimage: PaymentPreimage,
    },
    /// Fail it back with this failure, encrypted with the part's shared secret.
    Fail {
        /// The HTLC.
        part: Part,
        /// The BOLT 4 failure.
        failure: FailureMessage,
    },
}

/// The payment an arriving part belongs to, as the node knows it.
#[derive(Clone, Copy, Debug)]
pub enum Known<'a> {
    /// One of our invoices has this hash.
    Invoice(&'a InvoiceRecord),
    /// Nothing of ours has this hash.
    Unknown,
}

/// An incomplete HTLC set.
#[derive(Clone, Debug)]
struct HtlcSet {
    /// `total_msat` every part promised.
    total: Msat,
    /// The preimage that settles it.
    preimage: PaymentPreimage,
    /// The parts so far, each with the `amt_to_forward` its onion gave.
    parts: Vec<(Part, Msat)>,
    /// When the first part arrived (unix seconds).
    first_at: u64,
}

/// The final node's HTLC sets.
#[derive(Clone, Debug, Default)]
pub struct Receiver {
    sets: HashMap<PaymentHash, HtlcSet>,
}

/// `incorrect_or_unknown_payment_details` for `part` at `height`.
fn unknown(part: &Part, height: u32) -> FailureMessage {
    FailureMessage::incorrect_or_unknown_payment_details(part.amount, height)
}

impl Receiver {
    /// An empty receiver.
    pub fn new() -> Receiver {
        Receiver::default()
    }

    /// How many parts are held.
    pub fn held(&self) -> usize {
        self.sets.values().map(|s| s.parts.len()).sum()
    }

    /// Whether `htlc` is held in a set.
    pub fn is_held(&self, htlc: HtlcRef) -> bool {
        self.sets
            .values()
            .any(|s| s.parts.iter().any(|(p, _)| p.htlc == htlc))
    }

    /// An HTLC for us arrived: decide on it (and maybe on the parts held with it). Nothing
    /// comes back while a set is incomplete.
    ///
    /// `min_final_cltv_expiry_delta` applies to keysend payments (an invoice carries its
    /// own).
    pub fn on_htlc(
        &mut self,
        part: Part,
        payload: &HopPayload,
        known: Known<'_>,
        height: u32,
        now: u64,
        min_final_cltv_expiry_delta: u16,
    ) -> Vec<Decision> {
        if self.is_held(part.htlc) {
            return Vec::new(); // announced again (after a reconnection): still waiting
        }
        let fail = |part: Part, failure: FailureMessage| vec![Decision::Fail { part, failure }];
        let total = payload
            .payment_data
            .as_ref()
            .map_or(payload.amt_to_forward, |d| d.total_msat);
        let (preimage, delta) = if let Some(preimage) = payload.keysend_preimage {
            if preimage.payment_hash() != part.payment_hash {
                return fail(part.clone(), unknown(&part, height));
            }
            (preimage, min_final_cltv_expiry_delta)
        } else {
            let Known::Invoice(invoice) = known else {
                return fail(part.clone(), unknown(&part, height));
            };
            if invoice.status == InvoiceStatus::Paid {
                // Announced again after it was settled: settle it again; anything else for a
                // paid invoice is refused (it would be paid twice).
                if invoice.htlcs.contains(&part.htlc) {
                    let preimage = invoice.preimage();
                    return vec![Decision::Fulfill { part, preimage }];
                }
                return fail(part.clone(), unknown(&part, height));
            }
            let secret_ok = matches!(
                (&payload.payment_data, invoice.payment_secret),
                (Some(d), Some(s)) if d.payment_secret == s
            );
            let amount_ok = invoice
                .amount
                .is_none_or(|a| total >= a && total.0 <= a.0.saturating_mul(2));
            if !secret_ok || !amount_ok || now > invoice.expires_at {
                return fail(part.clone(), unknown(&part, height));
            }
            (invoice.preimage(), invoice.min_final_cltv_expiry_delta)
        };
        if part.cltv_expiry < height.saturating_add(u32::from(delta)) {
            return fail(part.clone(), unknown(&part, height));
        }
        if part.cltv_expiry < payload.outgoing_cltv_value {
            let failure = FailureMessage::final_incorrect_cltv_expiry(part.cltv_expiry);
            return fail(part, failure);
        }
        if part.amount < payload.amt_to_forward {
            let failure = FailureMessage::final_incorrect_htlc_amount(part.amount);
            return fail(part, failure);
        }
        if payload.keysend_preimage.is_some() && total != payload.amt_to_forward {
            // Keysend is paid in one part here.
            return fail(part.clone(), unknown(&part, height));
        }
        self.add_part(part, payload.amt_to_forward, total, preimage, (height, now))
    }

    fn add_part(
        &mut self,
        part: Part,
        forwarded: Msat,
        total: Msat,
        preimage: PaymentPreimage,
        (height, now): (u32, u64),
    ) -> Vec<Decision> {
        let hash = part.payment_hash;
        let set = self.sets.entry(hash).or_insert_with(|| HtlcSet {
            total,
            preimage,
            parts: Vec::new(),
            first_at: now,
        });
        if set.total != total {
            // BOLT 4: "SHOULD fail the entire HTLC set if total_msat is not the same for all
            // HTLCs in the set".
            let mut parts: Vec<Part> = self
                .sets
                .remove(&hash)
                .map(|s| s.parts.into_iter().map(|(p, _)| p).collect())
                .unwrap_or_default();
            parts.push(part);
            return parts
                .into_iter()
                .map(|part| Decision::Fail {
                    failure: unknown(&part, height),
                    part,
                })
                .collect();
        }
        // BOLT 4 counts "the total `amt_to_forward` of this HTLC set"; an HTLC may carry more
        // than its onion forwards, which is ours to keep.
        set.parts.push((part, forwarded));
        let sum: u64 = set.parts.iter().map(|(_, f)| f.0).sum();
        if sum < set.total.0 {
            return Vec::new();
        }
        let set = self.sets.remove(&hash);
        set.map(|s| {
            s.parts
                .into_iter()
                .map(|(part, _)| Decision::Fulfill {
                    part,
                    preimage: s.preimage,
                })
                .collect()
        })
        .unwrap_or_default()
    }

    /// Time passed or a block came: sets older than [`MPP_TIMEOUT_SECS`], or with a part
    /// expiring within [`HELD_EXPIRY_MARGIN`] blocks, fail as a whole with `mpp_timeout`.
    pub fn on_tick(&mut self, now: u64, height: u32) -> Vec<Decision> {
        let due: Vec<PaymentHash> = self
            .sets
            .iter()
            .filter(|(_, s)| {
                now >= s.first_at.saturating_add(MPP_TIMEOUT_SECS)
                    || s.parts
                        .iter()
                        .any(|(p, _)| p.cltv_expiry <= height.saturating_add(HELD_EXPIRY_MARGIN))
            })
            .map(|(h, _)| *h)
            .collect();
        let mut out = Vec::new();
        for hash in due {
            if let Some(set) = self.sets.remove(&hash) {
                out.extend(set.parts.into_iter().map(|(part, _)| Decision::Fail {
                    part,
                    failure: FailureMessage::mpp_timeout(),
                }));
            }
        }
        out
    }

    /// Forgets the parts of a channel that is gone (closed or failed).
    pub fn forget_channel(&mut self, channel: &crate::wire::ChannelId) {
        for set in self.sets.values_mut() {
            set.parts.retain(|(p, _)| &p.htlc.channel_id != channel);
        }
        self.sets.retain(|_, s| !s.parts.is_empty());
    }
}

#[cfg(test)]
#[path = "receive_tests.rs"]
mod tests;
