//! Being paid: every HTLC that reaches us is peeled, decided by the payment layer's
//! [`crate::payment::Receiver`] (settle, hold, fail), and answered: the invoice stored paid
//! before `update_fulfill_htlc` leaves, a failure encrypted for the payer, or
//! `update_fail_malformed_htlc` for an onion we cannot read.
#![allow(clippy::disallowed_methods)] // actor code: clocks

use std::collections::HashMap;

use super::actor::{unix_now, NodeActor};
use super::payments::MIN_FINAL_CLTV_EXPIRY_DELTA;
use crate::chain::ChainSource;
use crate::channel::Command;
use crate::crash::crash_point;
use crate::onion::{self, FailureMessage, PeelError, SharedSecret};
use crate::payment::{Decision, HtlcRef, InvoiceKind, InvoiceStatus, Known, Part};
use crate::store::Batch;
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;
use crate::wire::ChannelId;

impl<S: ChainSource + Clone> NodeActor<S> {
    /// An HTLC was irrevocably committed to us: peel its onion and decide.
    pub(crate) async fn on_htlc_received(
        &mut self,
        channel_id: ChannelId,
        htlc_id: u64,
        amount: Msat,
        payment_hash: PaymentHash,
        cltv_expiry: u32,
    ) {
        let Some(packet) = self
            .channels
            .get(&channel_id)
            .and_then(|c| c.htlc_onion(htlc_id))
        else {
            return;
        };
        let htlc = HtlcRef {
            channel_id,
            htlc_id,
        };
        let peeled = onion::peel(&self.ctx.secp, &self.node_key, &packet, &payment_hash.0);
        let peeled = match peeled {
            Ok(p) => p,
            Err(PeelError::Malformed { failure_code }) => {
                let cmd = Command::FailMalformed {
                    id: htlc_id,
                    sha256_of_onion: onion::sha256_of_onion(&packet[..]),
                    failure_code,
                };
                self.htlc_command(channel_id, cmd).await;
                return;
            }
            Err(PeelError::Payload {
                shared_secret,
                error,
            }) => {
                tracing::info!(channel = %channel_id, htlc = htlc_id, "unreadable payload: {error}");
                self.fail_htlc(htlc, &shared_secret, &error.failure()).await;
                return;
            }
        };
        if peeled.next.is_some() {
            // Forwarding comes with the forwarding issue: no next hop is known yet.
            self.fail_htlc(
                htlc,
                &peeled.shared_secret,
                &FailureMessage::unknown_next_peer(),
            )
            .await;
            return;
        }
        let part = Part {
            htlc,
            amount,
            cltv_expiry,
            payment_hash,
            shared_secret: peeled.shared_secret,
        };
        let book = &mut self.pay.book;
        // A keysend record only matters once paid (it settles its own HTLCs again).
        let known = book
            .invoices
            .get(&payment_hash)
            .filter(|i| i.kind == InvoiceKind::Bolt11 || i.status == InvoiceStatus::Paid)
            .map_or(Known::Unknown, Known::Invoice);
        let decisions = book.receiver.on_htlc(
            part,
            &peeled.payload,
            known,
            self.tip,
            unix_now(),
            MIN_FINAL_CLTV_EXPIRY_DELTA,
        );
        self.apply_decisions(decisions).await;
    }

    /// Settles (durably, then `update_fulfill_htlc`) or fails back what the receiver decided.
    pub(crate) async fn apply_decisions(&mut self, decisions: Vec<Decision>) {
        let mut fulfills: HashMap<PaymentHash, (PaymentPreimage, Vec<Part>)> = HashMap::new();
        for decision in decisions {
            match decision {
                Decision::Fulfill { part, preimage } => {
                    fulfills
                        .entry(part.payment_hash)
                        .or_insert_with(|| (preimage, Vec::new()))
                        .1
                        .push(part);
                }
                Decision::Fail { part, failure } => {
                    tracing::info!(channel = %part.htlc.channel_id, htlc = part.htlc.htlc_id, failure = failure.name(), "failing an HTLC back");
                    self.fail_htlc(part.htlc, &part.shared_secret, &failure)
                        .await;
                }
            }
        }
        for (hash, (preimage, parts)) in fulfills {
            let ops = self.pay.book.settle(hash, preimage, &parts, unix_now());
            if let Err(e) = self.persist(Batch { ops }).await {
                tracing::error!("cannot record the payment received, not fulfilling: {e}");
                continue;
            }
            crash_point("invoice_settled_stored");
            for part in parts {
                let cmd = Command::Fulfill {
                    id: part.htlc.htlc_id,
                    preimage,
                };
                self.htlc_command(part.htlc.channel_id, cmd).await;
            }
        }
    }

    async fn fail_htlc(&mut self, htlc: HtlcRef, secret: &SharedSecret, failure: &FailureMessage) {
        let reason = onion::failure_onion(secret, failure);
        let cmd = Command::Fail {
            id: htlc.htlc_id,
            reason,
        };
        self.htlc_command(htlc.channel_id, cmd).await;
    }

    async fn htlc_command(&mut self, channel_id: ChannelId, cmd: Command) {
        let now = self.when();
        if let Some(core) = self.channels.get_mut(&channel_id) {
            if let Err(e) = core.handle_command(cmd, now) {
                tracing::warn!(channel = %channel_id, "HTLC command refused: {e}");
            }
        }
        self.run_actions(channel_id).await;
    }

    /// Payments that waited too long for a channel give up; held parts that timed out or
    /// near their expiry are failed back.
    pub(crate) async fn payments_tick(&mut self) {
        self.expire_parked().await;
        let decisions = self.pay.book.receiver.on_tick(unix_now(), self.tip);
        if !decisions.is_empty() {
            self.apply_decisions(decisions).await;
        }
    }
}
