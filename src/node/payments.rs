//! The node's part in payments: the verbs (`invoice`, `decodeinvoice`, `pay`, `keysend`,
//! `payments`, `invoices`) and the outcomes of the HTLCs we sent (the HTLCs that arrive for
//! us are `receive.rs`'s). Decisions are the payment layer's ([`crate::payment`]); this file feeds it, runs
//! its writes before anything that depends on them leaves, and answers the waiting callers.
#![allow(clippy::disallowed_methods)] // actor code: clocks, randomness, timers

use std::collections::{HashMap, HashSet};

use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::secp256k1::rand::{thread_rng, RngCore};
use bitcoin::secp256k1::{PublicKey, SecretKey};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::actor::{unix_now, NodeActor, NodeCmd};
use super::commands::{failed, parse_node_id};
use crate::chain::ChainSource;
use crate::channel::{
    Action, ChannelEvent, ChannelStatus, Command, CommandOutput, Party, Resolution,
};
use crate::crash::crash_point;
use crate::invoice::{self, InvoiceRequest, RouteHintHop};
use crate::onion::SharedSecret;
use crate::payment::send::{self, Candidate, PayKind, Target};
use crate::payment::{
    Attempt, AttemptStatus, Book, HtlcRef, InvoiceKind, InvoiceRecord, InvoiceStatus,
    PaymentRecord, PaymentStatus,
};
use crate::rpc::{opt_param, param, RpcError};
use crate::store::{Batch, Op};
use crate::tx::{PaymentHash, PaymentPreimage};
use crate::units::Msat;
use crate::wire::ChannelId;

type Reply = oneshot::Sender<Result<Value, RpcError>>;

/// `min_final_cltv_expiry_delta` of our invoices, and the least we accept on a keysend
/// (BOLT 11's default).
pub(crate) const MIN_FINAL_CLTV_EXPIRY_DELTA: u16 = 18;
/// The final expiry delta our keysends give the payee (no invoice says what it wants): 40,
/// as LDK and lnd use, since LDK refuses final HTLCs expiring within 40 blocks.
const KEYSEND_FINAL_CLTV_EXPIRY_DELTA: u32 = 40;
/// How long a payment waits for a channel to the payee that is reestablishing.
const PARK_SECS: u64 = 30;
/// Default wait of `pay` and `keysend`.
const DEFAULT_PAY_TIMEOUT_SECS: u64 = 60;
/// Route hints in our invoices use these for the peer's side (its `channel_update` is not
/// kept yet): the BOLT 7 defaults lnd and LDK use.
const HINT_FEE_BASE_MSAT: u32 = 1_000;
const HINT_FEE_PROPORTIONAL: u32 = 1;
const HINT_CLTV_EXPIRY_DELTA: u16 = 40;

/// What the payment side of the node keeps between events.
#[derive(Default)]
pub(crate) struct PayState {
    /// Every invoice and payment.
    pub(crate) book: Book,
    /// Callers waiting for a payment's outcome, each with an id for its timeout.
    waiters: HashMap<PaymentHash, Vec<(u64, Reply)>>,
    next_waiter: u64,
    /// What is needed to try a payment again on another channel, and the channels tried.
    targets: HashMap<PaymentHash, (Target, HashSet<ChannelId>)>,
    /// Payments waiting for a channel to the payee to reestablish, with when they give up.
    parked: HashMap<PaymentHash, u64>,
    /// Failed attempts recorded with their channel's write, waiting for the channel's
    /// `HtlcFailed` event to decide what comes next.
    verdicts: HashMap<HtlcRef, send::Verdict>,
}

fn random32() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    thread_rng().fill_bytes(&mut bytes);
    bytes
}

/// What `keysend NODE_ID AMOUNT_MSAT` pays: a fresh preimage, carried in the onion.
fn keysend_target(params: &Value) -> Result<Target, RpcError> {
    let payee = parse_node_id(&param::<String>(params, "node_id")?)?;
    let amount: u64 = param(params, "amount_msat")?;
    let preimage = PaymentPreimage(random32());
    Ok(Target {
        payee,
        amount: Msat(amount),
        payment_hash: preimage.payment_hash(),
        min_final_cltv_expiry_delta: KEYSEND_FINAL_CLTV_EXPIRY_DELTA,
        kind: PayKind::Keysend { preimage },
    })
}

/// `amount_msat` as `invoice` takes it: a number, or "any".
fn amount_param(params: &Value) -> Result<Option<Msat>, RpcError> {
    match params.get("amount_msat") {
        None | Some(Value::Null) => Err(RpcError::InvalidParams(
            "missing `amount_msat` (a number, or \"any\")".into(),
        )),
        Some(Value::String(s)) if s == "any" => Ok(None),
        Some(Value::String(s)) => s
            .parse::<u64>()
            .map(|a| Some(Msat(a)))
            .map_err(|e| RpcError::InvalidParams(format!("`amount_msat` `{s}`: {e}"))),
        Some(v) => v
            .as_u64()
            .map(|a| Some(Msat(a)))
            .ok_or_else(|| RpcError::InvalidParams("`amount_msat`: not a number".into())),
    }
}

impl<S: ChainSource + Clone> NodeActor<S> {
    /// After a restart: the payment records, and the attempts that no channel holds any
    /// more marked failed.
    pub(crate) async fn recover_payments(&mut self) {
        let store = self.store();
        let loaded =
            tokio::task::spawn_blocking(move || store.read(crate::payment::record::load_all)).await;
        match loaded {
            Ok(Ok(loaded)) => self.pay.book = Book::from_loaded(loaded),
            Ok(Err(e)) => tracing::error!("cannot read the payment records: {e}"),
            Err(e) => tracing::error!("cannot read the payment records: {e}"),
        }
        let channels = &self.channels;
        let live = |h: HtlcRef| {
            channels.get(&h.channel_id).is_some_and(|c| {
                c.record()
                    .commitment
                    .ledger
                    .htlc(Party::Local, h.htlc_id)
                    .is_some()
            })
        };
        let (ops, stranded) = self.pay.book.reconcile(live, unix_now());
        if !stranded.is_empty() {
            tracing::info!(
                count = stranded.len(),
                "payments interrupted by the restart failed"
            );
        }
        if let Err(e) = self.persist(Batch { ops }).await {
            tracing::error!("cannot record the reconciled payments: {e}");
        }
    }

    /// The payment verbs; `None` if `method` is not one.
    pub(crate) async fn on_payment_rpc(
        &mut self,
        method: &str,
        params: &Value,
        reply: Reply,
    ) -> Option<Reply> {
        let result = match method {
            "invoice" => self.rpc_invoice(params).await,
            "decodeinvoice" => param::<String>(params, "bolt11")
                .and_then(|b| invoice::decode(&b).map_err(failed))
                .map(|d| d.to_json()),
            "pay" | "keysend" => {
                let target = if method == "pay" {
                    self.pay_target(params)
                } else {
                    keysend_target(params).map(|t| (t, None))
                };
                // A bad `timeout_secs` falls back to the default rather than refusing.
                let timeout = opt_param::<u64>(params, "timeout_secs")
                    .ok()
                    .flatten()
                    .unwrap_or(DEFAULT_PAY_TIMEOUT_SECS);
                match target {
                    Ok((target, bolt11)) => {
                        self.start_payment(target, bolt11, timeout, reply).await;
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
                return None;
            }
            "payments" => Ok(self.payments_json()),
            "invoices" => Ok(self.invoices_json()),
            _ => return Some(reply),
        };
        let _ = reply.send(result);
        None
    }

    fn payments_json(&self) -> Value {
        let mut list: Vec<&PaymentRecord> = self.pay.book.payments.values().collect();
        list.sort_by_key(|p| std::cmp::Reverse(p.seq));
        Value::Array(list.into_iter().map(PaymentRecord::to_json).collect())
    }

    fn invoices_json(&self) -> Value {
        let now = unix_now();
        let mut list: Vec<&InvoiceRecord> = self.pay.book.invoices.values().collect();
        list.sort_by_key(|i| std::cmp::Reverse(i.seq));
        Value::Array(list.into_iter().map(|i| i.to_json(now)).collect())
    }

    /// Route hints for our invoices: the peer's side of each ready, confirmed channel.
    fn route_hints(&self) -> Vec<RouteHintHop> {
        self.channels
            .values()
            .map(crate::channel::Channel::record)
            .filter(|c| c.status == ChannelStatus::Ready)
            .filter_map(|c| {
                let scid = c.funding.confirmed.as_ref()?.short_channel_id;
                Some(RouteHintHop {
                    node_id: c.params.peer,
                    short_channel_id: scid,
                    fee_base_msat: HINT_FEE_BASE_MSAT,
                    fee_proportional_millionths: HINT_FEE_PROPORTIONAL,
                    cltv_expiry_delta: HINT_CLTV_EXPIRY_DELTA,
                    htlc_minimum_msat: None,
                    htlc_maximum_msat: None,
                })
            })
            .collect()
    }

    /// `invoice AMOUNT_MSAT|any [--description TEXT] [--expiry SECS]`.
    async fn rpc_invoice(&mut self, params: &Value) -> Result<Value, RpcError> {
        let amount = amount_param(params)?;
        let description: String = opt_param(params, "description")?.unwrap_or_default();
        let expiry: u64 = opt_param(params, "expiry")?.unwrap_or(invoice::DEFAULT_EXPIRY_SECS);
        let preimage = PaymentPreimage(random32());
        let payment_secret = random32();
        let now = unix_now();
        let request = InvoiceRequest {
            network: self.config.network,
            amount,
            description: description.clone(),
            expiry_secs: expiry,
            min_final_cltv_expiry_delta: MIN_FINAL_CLTV_EXPIRY_DELTA,
            payment_hash: preimage.payment_hash(),
            payment_secret,
            timestamp: now,
            route_hints: self.route_hints(),
        };
        let bolt11 = invoice::create(&request, &self.node_key).map_err(failed)?;
        let record = InvoiceRecord {
            payment_hash: preimage.payment_hash().0,
            preimage: preimage.0,
            payment_secret: Some(payment_secret),
            kind: InvoiceKind::Bolt11,
            amount,
            description,
            bolt11: Some(bolt11.clone()),
            min_final_cltv_expiry_delta: MIN_FINAL_CLTV_EXPIRY_DELTA,
            created_at: now,
            expires_at: now.saturating_add(expiry),
            status: InvoiceStatus::Open,
            received: Msat(0),
            paid_at: None,
            htlcs: Vec::new(),
            seq: 0,
        };
        let op = self.pay.book.add_invoice(record);
        self.persist(Batch::new().with(op)).await.map_err(failed)?;
        Ok(json!({
            "bolt11": bolt11,
            "payment_hash": preimage.payment_hash().0.to_lower_hex_string(),
            "payment_secret": payment_secret.to_lower_hex_string(),
            "expires_at": now.saturating_add(expiry),
        }))
    }

    /// What `pay BOLT11 [--amount-msat N]` pays, checked before anything is sent, and the
    /// invoice.
    fn pay_target(&self, params: &Value) -> Result<(Target, Option<String>), RpcError> {
        let bolt11: String = param(params, "bolt11")?;
        let asked: Option<u64> = opt_param(params, "amount_msat")?;
        let decoded = invoice::decode(&bolt11).map_err(failed)?;
        decoded
            .check_payable(self.config.network, unix_now())
            .map_err(failed)?;
        let amount = decoded
            .amount_to_pay(asked.map(Msat))
            .map_err(|e| RpcError::InvalidParams(e.to_string()))?;
        let payment_secret = decoded
            .payment_secret
            .ok_or_else(|| RpcError::Failed("the invoice has no payment secret".into()))?;
        let target = Target {
            payee: decoded.payee,
            amount,
            payment_hash: decoded.payment_hash,
            min_final_cltv_expiry_delta: u32::try_from(decoded.min_final_cltv_expiry_delta)
                .unwrap_or(u32::MAX),
            kind: PayKind::Invoice {
                payment_secret,
                payment_metadata: decoded.payment_metadata,
            },
        };
        Ok((target, Some(bolt11)))
    }

    /// Registers a caller waiting for `hash`, answered at the outcome or after `timeout`
    /// seconds with where the payment stands.
    fn wait_for(&mut self, hash: PaymentHash, timeout: u64, reply: Reply) {
        let id = self.pay.next_waiter;
        self.pay.next_waiter += 1;
        self.pay.waiters.entry(hash).or_default().push((id, reply));
        let cmds = self.cmd_tx.clone();
        let stop = self.stop.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(std::time::Duration::from_secs(timeout)) => {
                    let _ = cmds.send(NodeCmd::PayTimeout { hash, waiter: id }).await;
                }
            }
        });
    }

    /// A waiter's time is up: it gets the payment as it stands (pending).
    pub(crate) fn pay_timeout(&mut self, hash: PaymentHash, waiter: u64) {
        let Some(list) = self.pay.waiters.get_mut(&hash) else {
            return;
        };
        if let Some(pos) = list.iter().position(|(id, _)| *id == waiter) {
            let (_, reply) = list.remove(pos);
            let answer = self
                .pay
                .book
                .payments
                .get(&hash)
                .map_or(Value::Null, PaymentRecord::to_json);
            let _ = reply.send(Ok(answer));
        }
    }

    /// Answers everyone waiting for `hash` if the payment is over.
    fn answer_waiters(&mut self, hash: PaymentHash) {
        let Some(payment) = self.pay.book.payments.get(&hash) else {
            return;
        };
        if payment.status == PaymentStatus::Pending {
            return;
        }
        self.pay.targets.remove(&hash);
        let answer = payment.to_json();
        for (_, reply) in self.pay.waiters.remove(&hash).unwrap_or_default() {
            let _ = reply.send(Ok(answer.clone()));
        }
    }

    async fn start_payment(
        &mut self,
        target: Target,
        bolt11: Option<String>,
        timeout: u64,
        reply: Reply,
    ) {
        let hash = target.payment_hash;
        if target.payee == self.node_id {
            let _ = reply.send(Err(RpcError::Failed("cannot pay ourselves".into())));
            return;
        }
        if let Some(existing) = self.pay.book.payments.get(&hash) {
            match existing.status {
                // Paid already: the answer is the earlier result.
                PaymentStatus::Succeeded => {
                    let _ = reply.send(Ok(existing.to_json()));
                    return;
                }
                PaymentStatus::Pending => {
                    self.wait_for(hash, timeout, reply);
                    return;
                }
                PaymentStatus::Failed => {}
            }
        }
        let record = PaymentRecord {
            payment_hash: hash.0,
            preimage: None,
            payee: target.payee,
            amount: target.amount,
            bolt11,
            keysend: matches!(target.kind, PayKind::Keysend { .. }),
            status: PaymentStatus::Pending,
            attempts: Vec::new(),
            failure: None,
            created_at: unix_now(),
            resolved_at: None,
            seq: 0,
        };
        let op = self.pay.book.start_payment(record);
        if let Err(e) = self.persist(Batch::new().with(op)).await {
            let _ = reply.send(Err(failed(e)));
            return;
        }
        self.pay.targets.insert(hash, (target, HashSet::new()));
        self.wait_for(hash, timeout, reply);
        self.try_next_channel(hash).await;
    }

    /// The channels to `payee` we could send `amount` through, roomiest first.
    fn candidates(&self, payee: &PublicKey, amount: Msat) -> Vec<Candidate> {
        let all = self
            .channels
            .values()
            .filter(|c| c.status() == ChannelStatus::Ready && c.is_linked())
            .map(|c| {
                let rec = c.record();
                Candidate {
                    channel_id: rec.params.channel_id,
                    peer: rec.params.peer,
                    short_channel_id: rec.funding.confirmed.as_ref().map(|f| f.short_channel_id),
                    outbound: rec.commitment.balances().0,
                }
            })
            .collect();
        send::order_candidates(all, payee, amount)
    }

    /// Whether a ready channel to `payee` that could carry `amount` is only waiting for its
    /// peer (disconnected, or `channel_reestablish` not yet exchanged).
    fn reconnecting_to(&self, payee: &PublicKey, amount: Msat) -> bool {
        self.channels.values().any(|c| {
            let rec = c.record();
            c.status() == ChannelStatus::Ready
                && !c.is_linked()
                && &rec.params.peer == payee
                && rec.commitment.balances().0 >= amount
        })
    }

    /// Payments waiting for a channel to `peer` try again now that one is usable.
    pub(crate) async fn retry_parked(&mut self, peer: PublicKey) {
        let ready: Vec<PaymentHash> = self
            .pay
            .parked
            .keys()
            .filter(|h| {
                self.pay
                    .targets
                    .get(h)
                    .is_some_and(|(t, _)| t.payee == peer)
            })
            .copied()
            .collect();
        for hash in ready {
            self.try_next_channel(hash).await;
        }
    }

    /// Payments that waited [`PARK_SECS`] for a channel give up.
    pub(crate) async fn expire_parked(&mut self) {
        let now = unix_now();
        let due: Vec<PaymentHash> = self
            .pay
            .parked
            .iter()
            .filter(|(_, deadline)| **deadline <= now)
            .map(|(h, _)| *h)
            .collect();
        for hash in due {
            self.try_next_channel(hash).await;
        }
    }

    /// Offers the payment's HTLC on the next channel not tried yet; with none left, the
    /// payment fails, unless a channel to the payee is reestablishing: then it waits for it
    /// (up to [`PARK_SECS`]).
    async fn try_next_channel(&mut self, hash: PaymentHash) {
        let Some((target, tried)) = self.pay.targets.get(&hash).cloned() else {
            self.pay.parked.remove(&hash);
            return;
        };
        let mut last_refusal = None;
        for via in self.candidates(&target.payee, target.amount) {
            if tried.contains(&via.channel_id) {
                continue;
            }
            if let Some((_, tried)) = self.pay.targets.get_mut(&hash) {
                tried.insert(via.channel_id);
            }
            let session_key = match SecretKey::from_slice(&random32()) {
                Ok(k) => k,
                Err(e) => {
                    last_refusal = Some(e.to_string());
                    continue;
                }
            };
            let prepared =
                match send::prepare(&self.ctx.secp, &session_key, &via, &target, self.tip) {
                    Ok(p) => p,
                    Err(e) => {
                        last_refusal = Some(e.to_string());
                        break;
                    }
                };
            let now = self.when();
            let Some(core) = self.channels.get_mut(&via.channel_id) else {
                continue;
            };
            let htlc_id = match core.handle_command(Command::AddHtlc(prepared.htlc.clone()), now) {
                Ok(CommandOutput::HtlcAdded(id)) => id,
                Ok(CommandOutput::Done) => continue,
                Err(e) => {
                    tracing::debug!(channel = %via.channel_id, "HTLC refused: {e}");
                    last_refusal = Some(e.to_string());
                    continue;
                }
            };
            let attempt = Attempt {
                htlc: HtlcRef {
                    channel_id: via.channel_id,
                    htlc_id,
                },
                route: prepared.route,
                amount: prepared.htlc.amount,
                shared_secrets: prepared
                    .shared_secrets
                    .iter()
                    .map(|s| s.0.to_lower_hex_string())
                    .collect(),
                status: AttemptStatus::InFlight,
                failure: None,
            };
            let ops = self.pay.book.add_attempt(hash, attempt);
            // Durable before the HTLC leaves: after a crash the attempt is known, and
            // reconciled against the channel.
            if let Err(e) = self.persist(Batch { ops }).await {
                tracing::error!("cannot record the payment attempt, not sending: {e}");
                self.reload(&via.channel_id).await;
                last_refusal = Some(e.to_string());
                break;
            }
            self.pay.parked.remove(&hash);
            crash_point("payment_attempt_stored");
            self.run_actions(via.channel_id).await;
            return;
        }
        if last_refusal.is_none() && self.reconnecting_to(&target.payee, target.amount) {
            // A channel that could carry it is waiting for its peer's channel_reestablish
            // (after a restart, a reconnection): wait for it, a while.
            let deadline = unix_now() + PARK_SECS;
            if *self.pay.parked.entry(hash).or_insert(deadline) > unix_now() {
                tracing::debug!(payment_hash = %hash.0.to_lower_hex_string(), "waiting for a channel to the payee to reestablish");
                return;
            }
        }
        self.pay.parked.remove(&hash);
        let reason = last_refusal.map_or_else(
            || "no ready channel to the payee with enough outbound capacity".to_string(),
            |r| format!("no channel to the payee took the HTLC (last: {r})"),
        );
        let failure = self
            .pay
            .book
            .payments
            .get(&hash)
            .and_then(|p| p.failure.clone())
            .unwrap_or_else(|| send::local_failure(reason));
        let ops = self.pay.book.payment_failed(hash, failure, unix_now());
        if let Err(e) = self.persist(Batch { ops }).await {
            tracing::error!("cannot record the failed payment: {e}");
        }
        self.answer_waiters(hash);
    }

    /// The preimage of our HTLC came back: the payment succeeded, durably, before anything
    /// else happens.
    pub(crate) async fn on_htlc_fulfilled(
        &mut self,
        channel_id: ChannelId,
        htlc_id: u64,
        preimage: PaymentPreimage,
    ) {
        let htlc = HtlcRef {
            channel_id,
            htlc_id,
        };
        let Some(outcome) = self.pay.book.attempt_fulfilled(htlc, preimage, unix_now()) else {
            return;
        };
        if let Err(e) = self.persist(Batch { ops: outcome.ops }).await {
            tracing::error!("cannot record the payment's success: {e}");
        }
        crash_point("payment_succeeded_stored");
        tracing::info!(payment_hash = %outcome.hash.0.to_lower_hex_string(), "payment succeeded");
        self.answer_waiters(outcome.hash);
    }

    /// Reads how our HTLC failed and records its attempt failed; the writes are returned
    /// for the caller to persist, and the verdict kept for [`Self::on_htlc_failed`].
    fn record_failed_attempt(&mut self, htlc: HtlcRef, resolution: &Resolution) -> Vec<Op> {
        let Some(payment) = self.pay.book.payment_of(htlc) else {
            return Vec::new();
        };
        let Some(attempt) = payment.attempts.iter().find(|a| a.htlc == htlc) else {
            return Vec::new();
        };
        let secrets: Vec<SharedSecret> = attempt
            .shared_secrets
            .iter()
            .filter_map(|s| <[u8; 32]>::from_hex(s).ok().map(SharedSecret))
            .collect();
        let verdict = send::interpret(resolution, &secrets, &attempt.route);
        let Some(outcome) = self.pay.book.attempt_failed(htlc, verdict.failure.clone()) else {
            return Vec::new();
        };
        tracing::info!(payment_hash = %outcome.hash.0.to_lower_hex_string(), failure = %verdict.failure, "payment attempt failed");
        self.pay.verdicts.insert(htlc, verdict);
        outcome.ops
    }

    /// Puts the record of each attempt a channel's actions fail (`HtlcFailed`) into the
    /// write that removes its HTLC from the channel, so the two land in one transaction.
    pub(crate) fn attach_payment_writes(&mut self, channel_id: ChannelId, actions: &mut [Action]) {
        let mut last_persist = None;
        for i in 0..actions.len() {
            let failed = match &actions[i] {
                Action::Persist(_) => {
                    last_persist = Some(i);
                    continue;
                }
                Action::Event(ChannelEvent::HtlcFailed { id, resolution }) => {
                    (*id, resolution.clone())
                }
                _ => continue,
            };
            let Some(at) = last_persist else {
                continue;
            };
            let htlc = HtlcRef {
                channel_id,
                htlc_id: failed.0,
            };
            let ops = self.record_failed_attempt(htlc, &failed.1);
            if let Some(Action::Persist(batch)) = actions.get_mut(at) {
                batch.ops.extend(ops);
            }
        }
    }

    /// Our HTLC failed irrevocably: try another channel or fail the payment. The attempt
    /// was recorded failed with the channel's write ([`Self::attach_payment_writes`]).
    pub(crate) async fn on_htlc_failed(
        &mut self,
        channel_id: ChannelId,
        htlc_id: u64,
        resolution: &Resolution,
    ) {
        let htlc = HtlcRef {
            channel_id,
            htlc_id,
        };
        let verdict = if let Some(v) = self.pay.verdicts.remove(&htlc) {
            v
        } else {
            // Not recorded with a channel write (no write came before the event).
            let ops = self.record_failed_attempt(htlc, resolution);
            if ops.is_empty() {
                return;
            }
            if let Err(e) = self.persist(Batch { ops }).await {
                tracing::error!("cannot record the failed attempt: {e}");
            }
            let Some(v) = self.pay.verdicts.remove(&htlc) else {
                return;
            };
            v
        };
        let Some(hash) = self.pay.book.payment_of(htlc).map(PaymentRecord::hash) else {
            return;
        };
        if verdict.retry && self.pay.targets.contains_key(&hash) {
            self.try_next_channel(hash).await;
            return;
        }
        let ops = self
            .pay
            .book
            .payment_failed(hash, verdict.failure, unix_now());
        if let Err(e) = self.persist(Batch { ops }).await {
            tracing::error!("cannot record the failed payment: {e}");
        }
        crash_point("payment_failed_stored");
        self.answer_waiters(hash);
    }
}
