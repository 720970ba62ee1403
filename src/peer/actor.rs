//! The peer actor: one task per connection. It decodes, calls the pure cores, and executes
//! what they return in order; no protocol rule lives here.
#![allow(clippy::disallowed_methods)] // an actor: it owns the socket, timers and clocks

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitcoin::secp256k1::rand::{thread_rng, RngCore};
use bitcoin::secp256k1::PublicKey;
use bitcoin::{FeeRate, Transaction};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use super::ping::{our_ping, PingAction, PingGuard};
use super::route::{route, Route};
use super::{Connection, Opened, PeerCmd, PeerContext, PeerError, PeerEvent};
use crate::chain::ChainSource;
use crate::channel::establish::When;
use crate::channel::{record, FundingState};
use crate::funding::{
    self, AcceptRequest, FundingError, OpenRequest, PendingChannel, Reservation, Reservations,
};
use crate::keys::ChannelSecrets;
use crate::store::{Batch, EventKind, Op};
use crate::transport::WireCodec;
use crate::units::{FeeratePerKw, Msat};
use crate::wallet::LockId;
use crate::wire::{
    AcceptChannel, ChannelId, Extension, FundingCreated, FundingSigned, Message, OpenChannel,
};

/// Ping the peer this often when nothing else keeps the connection busy.
const PING_INTERVAL: Duration = Duration::from_mins(1);

/// The commitment feerate when the backend has no estimate (10 sat/vB).
const FALLBACK_COMMITMENT_FEERATE: FeeratePerKw = FeeratePerKw(2_500);

/// What a reservation carries besides its protocol state.
struct Extra {
    secrets: ChannelSecrets,
    /// Wallet inputs locked for our funding transaction (initiator, once built).
    lock: Option<LockId>,
    /// The `open` request waiting for the outcome (initiator).
    reply: Option<oneshot::Sender<Result<Opened, PeerError>>>,
    /// The node-wide pending-reservation permit, released when the reservation ends.
    _permit: OwnedSemaphorePermit,
}

struct Actor<S> {
    ctx: PeerContext<S>,
    node_id: PublicKey,
    conn_id: u64,
    anysegwit: bool,
    framed: Framed<TcpStream, WireCodec>,
    reservations: Reservations,
    extras: HashMap<ChannelId, Extra>,
    /// `channel_id` → `temporary_channel_id` for reservations awaiting `funding_signed`.
    by_channel_id: HashMap<ChannelId, ChannelId>,
    pings: PingGuard,
    awaiting_pong: bool,
    started: Instant,
}

/// Why the actor stopped.
enum Stop {
    /// The node or the peer closed the connection cleanly.
    Closed(String),
    /// An error ended the connection.
    Failed(PeerError),
}

use crate::crash::crash_point;

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs one peer connection until it closes, `stop` fires, or every handle is dropped.
pub async fn run<S: ChainSource + Clone>(
    ctx: PeerContext<S>,
    connection: Connection,
    conn_id: u64,
    mut rx: mpsc::Receiver<PeerCmd>,
    stop: CancellationToken,
) {
    let node_id = connection.node_id;
    let mut actor = Actor {
        reservations: Reservations::new(ctx.limits),
        ctx,
        node_id,
        conn_id,
        anysegwit: connection.init.anysegwit(),
        framed: connection.framed,
        extras: HashMap::new(),
        by_channel_id: HashMap::new(),
        pings: PingGuard::default(),
        awaiting_pong: false,
        started: Instant::now(),
    };
    let reason = actor.run_loop(&mut rx, &stop).await;
    actor.abandon_all("connection closed").await;
    let reason = match reason {
        Stop::Closed(why) => why,
        Stop::Failed(e) => {
            tracing::info!(peer = %node_id, "connection ended: {e}");
            e.to_string()
        }
    };
    let _ = actor
        .ctx
        .events
        .send(PeerEvent::Disconnected {
            node_id,
            conn_id,
            reason,
        })
        .await;
}

impl<S: ChainSource + Clone> Actor<S> {
    fn now(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    async fn run_loop(
        &mut self,
        rx: &mut mpsc::Receiver<PeerCmd>,
        stop: &CancellationToken,
    ) -> Stop {
        let mut ping_timer = tokio::time::interval(PING_INTERVAL);
        ping_timer.tick().await; // the first tick is immediate
        loop {
            let deadline = self
                .reservations
                .next_deadline()
                .map(|d| self.started + Duration::from_secs(d));
            let expiry = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                () = stop.cancelled() => return Stop::Closed("node shutting down".into()),
                cmd = rx.recv() => match cmd {
                    None | Some(PeerCmd::Disconnect) => return Stop::Closed("disconnect requested".into()),
                    Some(cmd) => self.handle_cmd(cmd).await,
                },
                msg = self.framed.next() => match msg {
                    None => return Stop::Closed("peer closed the connection".into()),
                    Some(Err(e)) => {
                        // A frame that decrypted but did not decode: tell the peer, then close
                        // (BOLT 1: unknown even types and invalid extensions close the
                        // connection). A framing failure cannot be answered at all.
                        let error = PeerError::codec(&e);
                        if let PeerError::Codec(text) = &error {
                            if text.starts_with("message decode") {
                                let _ = self.framed.send(super::init::warning(text)).await;
                            }
                        }
                        return Stop::Failed(error);
                    }
                    Some(Ok(msg)) => self.handle_msg(msg).await,
                },
                () = expiry => {
                    self.expire().await;
                    Ok(())
                }
                _ = ping_timer.tick() => self.ping().await,
            };
            if let Err(stop) = step {
                return stop;
            }
        }
    }

    async fn send(&mut self, msg: Message) -> Result<(), Stop> {
        self.framed
            .send(msg)
            .await
            .map_err(|e| Stop::Failed(PeerError::codec(&e)))
    }

    async fn ping(&mut self) -> Result<(), Stop> {
        if self.awaiting_pong {
            // BOLT 1: a node that gets no pong MAY close the connection.
            return Err(Stop::Failed(PeerError::Timeout));
        }
        self.awaiting_pong = true;
        self.send(our_ping()).await
    }

    async fn handle_cmd(&mut self, cmd: PeerCmd) -> Result<(), Stop> {
        match cmd {
            PeerCmd::Open {
                funding,
                push,
                min_depth,
                reply,
            } => match self.start_open(funding, push, min_depth).await {
                Ok((temp_id, msg, extra)) => {
                    let mut extra = extra;
                    extra.reply = Some(reply);
                    self.extras.insert(temp_id, extra);
                    self.send(Message::OpenChannel(msg)).await?;
                }
                Err(e) => {
                    let _ = reply.send(Err(e));
                }
            },
            PeerCmd::Send(msg) => self.send(msg).await?,
            PeerCmd::Disconnect => return Err(Stop::Closed("disconnect requested".into())),
        }
        Ok(())
    }

    /// The peer's message, to where [`route`] sends it.
    async fn handle_msg(&mut self, msg: Message) -> Result<(), Stop> {
        if !matches!(msg, Message::Ping(_)) {
            self.pings.on_other_message();
        }
        match route(&msg, |id| self.is_reservation(id)) {
            Route::Connection => self.on_connection_msg(msg).await?,
            Route::Reservation => self.on_reservation_msg(msg).await?,
            Route::Everything => {
                if let Message::Error(e) = &msg {
                    let text = printable(&e.data);
                    tracing::warn!(peer = %self.node_id, "peer error for all channels: {text}");
                    let ids: Vec<ChannelId> = self.extras.keys().copied().collect();
                    for id in ids {
                        self.drop_reservation(id, PeerError::Remote(text.clone()))
                            .await;
                    }
                }
                self.forward(msg).await;
            }
            Route::Channel(_) => self.forward(msg).await,
            Route::Ignore => {
                tracing::debug!(peer = %self.node_id, "ignoring {}", msg.name());
            }
        }
        Ok(())
    }

    async fn on_connection_msg(&mut self, msg: Message) -> Result<(), Stop> {
        match msg {
            Message::Ping(ping) => match self.pings.on_ping(&ping, self.now()) {
                PingAction::Reply(pong) => self.send(pong).await?,
                PingAction::Ignore => {}
                PingAction::Flood => {
                    let _ = self.send(super::init::warning("ping flood")).await;
                    return Err(Stop::Failed(PeerError::PingFlood));
                }
            },
            Message::Pong(_) => self.awaiting_pong = false,
            Message::Init(_) => {
                tracing::debug!(peer = %self.node_id, "ignoring a second init");
            }
            Message::Warning(w) => {
                tracing::warn!(peer = %self.node_id, channel = %w.channel_id, "peer warning: {}", printable(&w.data));
            }
            _ => {}
        }
        Ok(())
    }

    async fn on_reservation_msg(&mut self, msg: Message) -> Result<(), Stop> {
        match msg {
            Message::OpenChannel(m) => self.on_open_channel(m).await,
            Message::AcceptChannel(m) => self.on_accept_channel(m).await,
            Message::FundingCreated(m) => self.on_funding_created(m).await,
            Message::FundingSigned(m) => self.on_funding_signed(m).await,
            Message::Error(e) => {
                let text = printable(&e.data);
                tracing::warn!(peer = %self.node_id, channel = %e.channel_id, "peer error: {text}");
                let id = self.temp_id_of(&e.channel_id);
                self.drop_reservation(id, PeerError::Remote(text)).await;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    async fn forward(&self, msg: Message) {
        let _ = self
            .ctx
            .events
            .send(PeerEvent::ChannelMessage {
                node_id: self.node_id,
                conn_id: self.conn_id,
                msg,
            })
            .await;
    }

    fn is_reservation(&self, id: &ChannelId) -> bool {
        self.extras.contains_key(id) || self.by_channel_id.contains_key(id)
    }

    fn temp_id_of(&self, id: &ChannelId) -> ChannelId {
        self.by_channel_id.get(id).copied().unwrap_or(*id)
    }

    /// The commitment feerate to propose: the backend's 6-block estimate, at least the relay
    /// floor our peers accept.
    async fn commitment_feerate(&self) -> FeeratePerKw {
        match self.ctx.chain.estimate_fee(6).await {
            Ok(Some(rate)) => FeeratePerKw::from_fee_rate(rate).max(self.ctx.policy.min_feerate),
            _ => FALLBACK_COMMITMENT_FEERATE,
        }
    }

    /// The funding transaction's feerate: the backend's estimate, or 2 sat/vB.
    async fn funding_feerate(&self) -> FeeRate {
        match self.ctx.chain.estimate_fee(6).await {
            Ok(Some(rate)) => rate.max(FeeRate::from_sat_per_vb_u32(1)),
            _ => FeeRate::from_sat_per_vb_u32(2),
        }
    }

    fn permit(&self) -> Result<OwnedSemaphorePermit, PeerError> {
        std::sync::Arc::clone(&self.ctx.pending_total)
            .try_acquire_owned()
            .map_err(|_| PeerError::Busy)
    }

    async fn new_secrets(&self) -> Result<(u32, ChannelSecrets), PeerError> {
        let store = self.ctx.store.clone();
        let index = tokio::task::spawn_blocking(move || store.allocate_channel_index())
            .await
            .map_err(|e| PeerError::Keys(e.to_string()))??;
        let secrets = self
            .ctx
            .seed
            .channel_secrets(&self.ctx.secp, self.ctx.network, index)
            .map_err(|e| PeerError::Keys(e.to_string()))?;
        Ok((index, secrets))
    }

    async fn start_open(
        &mut self,
        funding: bitcoin::Amount,
        push: Msat,
        min_depth: Option<u32>,
    ) -> Result<(ChannelId, OpenChannel, Extra), PeerError> {
        let permit = self.permit()?;
        let (index, secrets) = self.new_secrets().await?;
        let mut temp = [0u8; 32];
        thread_rng().fill_bytes(&mut temp);
        let temporary_channel_id = ChannelId(temp);
        let request = OpenRequest {
            peer: self.node_id,
            temporary_channel_id,
            chain_hash: self.ctx.chain_hash,
            funding,
            push,
            feerate: self.commitment_feerate().await,
            channel_index: index,
            config: self.ctx.channel_config.clone(),
            anysegwit: self.anysegwit,
            min_depth,
        };
        let (state, msg) = funding::open(&self.ctx.secp, &secrets, request)?;
        self.reservations.start(
            temporary_channel_id,
            Reservation::AwaitingAccept(state),
            self.now(),
        )?;
        Ok((
            temporary_channel_id,
            msg,
            Extra {
                secrets,
                lock: None,
                reply: None,
                _permit: permit,
            },
        ))
    }

    /// Ends a reservation: releases its wallet inputs, answers a waiting `open`.
    async fn drop_reservation(&mut self, temp_id: ChannelId, why: PeerError) {
        self.reservations.remove(&temp_id);
        self.by_channel_id.retain(|_, t| *t != temp_id);
        if let Some(extra) = self.extras.remove(&temp_id) {
            if let Some(lock) = extra.lock {
                self.ctx.wallet.release(lock).await;
            }
            if let Some(reply) = extra.reply {
                let _ = reply.send(Err(why));
            }
        }
    }

    /// Fails a reservation: BOLT 1 `error` for its channel (the temporary id until the
    /// funder sent `funding_created`), then cleans up. The connection stays.
    async fn fail(
        &mut self,
        error_channel_id: ChannelId,
        temp_id: ChannelId,
        error: FundingError,
    ) -> Result<(), Stop> {
        tracing::info!(peer = %self.node_id, channel = %error_channel_id, "channel open failed: {error}");
        let text = error.to_string();
        self.drop_reservation(temp_id, PeerError::Funding(error))
            .await;
        self.send(Message::Error(crate::wire::Error {
            channel_id: error_channel_id,
            data: text.into_bytes(),
            tlvs: Extension::default(),
        }))
        .await
    }

    async fn expire(&mut self) {
        for (id, _) in self.reservations.expire(self.now()) {
            let _ = self
                .fail(id, id, FundingError::UnknownReservation(id))
                .await;
        }
    }

    async fn abandon_all(&mut self, why: &str) {
        let ids: Vec<ChannelId> = self.extras.keys().copied().collect();
        for id in ids {
            self.drop_reservation(id, PeerError::Remote(why.to_string()))
                .await;
        }
        self.reservations.drain();
    }

    // --- responder -------------------------------------------------------------------

    async fn on_open_channel(&mut self, msg: OpenChannel) -> Result<(), Stop> {
        let temp_id = msg.temporary_channel_id;
        if self.reservations.contains(&temp_id) {
            // BOLT 2: temporary ids are unique per peer. Fail the new attempt without
            // touching the reservation that owns the id.
            return self
                .send_error(
                    temp_id,
                    &FundingError::TemporaryChannelIdInUse(temp_id).to_string(),
                )
                .await;
        }
        let permit = match self.permit() {
            Ok(p) => p,
            Err(e) => return self.send_error(temp_id, &e.to_string()).await,
        };
        let (index, secrets) = match self.new_secrets().await {
            Ok(s) => s,
            Err(e) => return self.send_error(temp_id, &e.to_string()).await,
        };
        let request = AcceptRequest {
            peer: self.node_id,
            chain_hash: self.ctx.chain_hash,
            channel_index: index,
            config: self.ctx.channel_config.clone(),
            anysegwit: self.anysegwit,
        };
        let result = funding::process_single_contribution(
            &self.ctx.secp,
            &secrets,
            &msg,
            &request,
            &self.ctx.policy,
        )
        .and_then(|(state, accept)| {
            self.reservations
                .start(
                    temp_id,
                    Reservation::AwaitingFundingCreated(state),
                    self.now(),
                )
                .map(|()| accept)
        });
        match result {
            Ok(accept) => {
                self.extras.insert(
                    temp_id,
                    Extra {
                        secrets,
                        lock: None,
                        reply: None,
                        _permit: permit,
                    },
                );
                self.send(Message::AcceptChannel(accept)).await
            }
            Err(e) => self.send_error(temp_id, &e.to_string()).await,
        }
    }

    async fn send_error(&mut self, channel_id: ChannelId, text: &str) -> Result<(), Stop> {
        tracing::info!(peer = %self.node_id, channel = %channel_id, "refusing channel: {text}");
        self.send(Message::Error(crate::wire::Error {
            channel_id,
            data: text.as_bytes().to_vec(),
            tlvs: Extension::default(),
        }))
        .await
    }

    async fn on_funding_created(&mut self, msg: FundingCreated) -> Result<(), Stop> {
        let temp_id = msg.temporary_channel_id;
        let (state, _) = match self
            .reservations
            .take_awaiting_funding_created(temp_id, "funding_created")
        {
            Ok(s) => s,
            Err(e) => return self.fail(temp_id, temp_id, e).await,
        };
        let Some(extra) = self.extras.get(&temp_id) else {
            return self
                .fail(temp_id, temp_id, FundingError::UnknownReservation(temp_id))
                .await;
        };
        let (pending, signed) =
            match state.complete_single_contribution(&self.ctx.secp, &extra.secrets, &msg) {
                Ok(done) => done,
                Err(e) => return self.fail(temp_id, temp_id, e).await,
            };
        // Persist before send: the channel is on disk before `funding_signed` leaves.
        if let Err(e) = self.persist_new_channel(&pending).await {
            tracing::error!(peer = %self.node_id, "storing channel failed: {e}");
            return self
                .fail(temp_id, temp_id, FundingError::UnknownReservation(temp_id))
                .await;
        }
        let channel_id = pending.params.channel_id;
        self.extras.remove(&temp_id);
        crash_point("fundee_stored");
        // The node hears of the channel before the funder can: once the funder's `open`
        // answers, both nodes list the channel.
        let _ = self
            .ctx
            .events
            .send(PeerEvent::ChannelFunded {
                node_id: self.node_id,
                channel_id,
            })
            .await;
        self.send(Message::FundingSigned(signed)).await?;
        Ok(())
    }

    // --- initiator -------------------------------------------------------------------

    async fn on_accept_channel(&mut self, msg: AcceptChannel) -> Result<(), Stop> {
        let temp_id = msg.temporary_channel_id;
        let (state, expires) = match self
            .reservations
            .take_awaiting_accept(temp_id, "accept_channel")
        {
            Ok(s) => s,
            Err(e) => return self.fail(temp_id, temp_id, e).await,
        };
        let next = match state.handle_accept_channel(&msg, &self.ctx.policy) {
            Ok(next) => next,
            Err(e) => return self.fail(temp_id, temp_id, e).await,
        };
        let Some(index) = self.extras.get(&temp_id).map(|_| ()) else {
            return self
                .fail(temp_id, temp_id, FundingError::UnknownReservation(temp_id))
                .await;
        };
        let () = index;
        // The lock id is the reservation's temporary id folded to 64 bits: unique among our
        // pending reservations.
        let lock = LockId(u64::from_be_bytes(
            temp_id.0[..8].try_into().unwrap_or([0; 8]),
        ));
        let feerate = self.funding_feerate().await;
        let built = self
            .ctx
            .wallet
            .build_funding(lock, next.funding_script(), next.funding_amount(), feerate)
            .await;
        let funding = match built {
            Ok(f) => f,
            Err(e) => {
                // Our own failure (no funds): tell the peer and the user.
                let text = format!("cannot fund the channel: {e}");
                self.drop_reservation(temp_id, PeerError::Wallet(e)).await;
                return self.send_error(temp_id, &text).await;
            }
        };
        if let Some(extra) = self.extras.get_mut(&temp_id) {
            extra.lock = Some(lock);
        }
        let secrets = match self.extras.get(&temp_id) {
            Some(extra) => extra.secrets.clone(),
            None => return Ok(()),
        };
        match next.handle_funding_tx(
            &self.ctx.secp,
            &secrets,
            funding.tx,
            u32::from(funding.output_index),
        ) {
            Ok((awaiting, created)) => {
                self.by_channel_id.insert(awaiting.channel_id(), temp_id);
                self.reservations.resume(
                    temp_id,
                    Reservation::AwaitingFundingSigned(awaiting),
                    expires,
                );
                self.send(Message::FundingCreated(created)).await
            }
            Err(e) => self.fail(temp_id, temp_id, e).await,
        }
    }

    async fn on_funding_signed(&mut self, msg: FundingSigned) -> Result<(), Stop> {
        let channel_id = msg.channel_id;
        let Some(temp_id) = self.by_channel_id.remove(&channel_id) else {
            return self
                .send_error(channel_id, "funding_signed for no channel we are opening")
                .await;
        };
        let (state, _) = match self
            .reservations
            .take_awaiting_funding_signed(temp_id, "funding_signed")
        {
            Ok(s) => s,
            Err(e) => return self.fail(channel_id, temp_id, e).await,
        };
        let Some(extra) = self.extras.remove(&temp_id) else {
            return Ok(());
        };
        let pending = match state.handle_funding_signed(&self.ctx.secp, &extra.secrets, &msg) {
            Ok(p) => p,
            Err(e) => {
                self.extras.insert(temp_id, extra);
                return self.fail(channel_id, temp_id, e).await;
            }
        };
        // Persist, then broadcast: a crash in between leaves a stored channel whose funding
        // the node rebroadcasts on start.
        if let Err(e) = self.persist_new_channel(&pending).await {
            let reply_error = PeerError::Store(e);
            tracing::error!(peer = %self.node_id, "storing channel failed: {reply_error}");
            self.extras.insert(temp_id, extra);
            self.drop_reservation(temp_id, reply_error).await;
            return self
                .send_error(channel_id, "internal error storing the channel")
                .await;
        }
        crash_point("funder_stored");
        let tx = pending.funding_tx.clone().unwrap_or_else(empty_tx);
        if let Err(e) = self.ctx.chain.broadcast(&tx).await {
            // Stored: the node rebroadcasts unconfirmed funding transactions on every block.
            tracing::warn!(channel = %channel_id, "funding broadcast failed, will retry: {e}");
        }
        if let Some(lock) = extra.lock {
            if let Err(e) = self.ctx.wallet.confirm_lock(lock, unix_now()).await {
                tracing::warn!(channel = %channel_id, "wallet did not record the funding tx: {e}");
            }
        }
        let _ = self
            .ctx
            .events
            .send(PeerEvent::ChannelFunded {
                node_id: self.node_id,
                channel_id,
            })
            .await;
        if let Some(reply) = extra.reply {
            let _ = reply.send(Ok(Opened {
                channel_id,
                funding_txid: pending.params.funding_outpoint.txid,
                funding_output_index: pending.params.funding_outpoint.vout,
            }));
        }
        Ok(())
    }

    /// Writes a newly signed channel, all columns, in one durable transaction.
    async fn persist_new_channel(
        &self,
        channel: &PendingChannel,
    ) -> Result<(), crate::store::StoreError> {
        let tip = self
            .ctx
            .notifier
            .best_block()
            .await
            .map_or(0, |b| b.height.0);
        let id = channel.params.channel_id;
        let when = When {
            time: unix_now(),
            height: tip,
        };
        let funding = FundingState {
            funding_tx: channel.funding_tx.clone(),
            opened_at_height: tip,
            confirmed: None,
            channel_ready_sent: false,
            channel_ready_received: false,
        };
        let mut batch = Batch {
            ops: record::new_channel(&channel.params, &funding, &channel.commitment),
        };
        batch.push(Op::Event(
            id,
            when.event(EventKind::Opened {
                role: channel.params.role.as_str().to_string(),
                capacity: channel.params.funding_amount,
                funding_txid: channel.params.funding_outpoint.txid,
            }),
        ));
        if let Some(tx) = &channel.funding_tx {
            batch.push(Op::Event(
                id,
                when.event(EventKind::FundingBroadcast {
                    txid: tx.compute_txid(),
                }),
            ));
        }
        let store = self.ctx.store.clone();
        tokio::task::spawn_blocking(move || store.apply(&batch))
            .await
            .map_err(|e| crate::store::StoreError::Corrupt {
                what: "task",
                key: id.to_string(),
                reason: e.to_string(),
            })?
    }
}

fn empty_tx() -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![],
        output: vec![],
    }
}

/// `data` as text if it is printable ASCII (BOLT 1: otherwise "SHOULD NOT print out data
/// verbatim"), else hex.
pub(crate) fn printable(data: &[u8]) -> String {
    if data.iter().all(|b| (32..=126).contains(b)) {
        String::from_utf8_lossy(data).into_owned()
    } else {
        bitcoin::hex::DisplayHex::to_lower_hex_string(data)
    }
}
