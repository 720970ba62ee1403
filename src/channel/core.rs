//! [`Channel`]: one channel's protocol state machine, pure (quinn-proto's shape).

use bitcoin::secp256k1::{All, Secp256k1};

use super::action::{Action, Actions, ChannelEvent};
use super::establish::When;
use super::ledger::{NewHtlc, Party};
use super::record::{self, StoredChannel};
use super::{close, ChannelError, ChannelStatus, Reaction};
use crate::keys::ChannelSecrets;
use crate::store::Op;
use crate::units::FeeratePerKw;
use crate::wire::{ChannelId, Extension, Message};

/// The limits a channel applies to what the peer proposes and what we send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelConfig {
    /// Lowest `feerate_per_kw` accepted in (and sent with) `update_fee`.
    pub min_feerate: FeeratePerKw,
    /// Highest `feerate_per_kw` accepted in `update_fee`.
    pub max_feerate: FeeratePerKw,
    /// Seconds to wait for the peer's answer to our `closing_signed` before failing the
    /// channel (BOLT 2: "if it does not receive a `closing_signed` in response ... MUST fail
    /// the channel" — after a reasonable time).
    pub closing_timeout_secs: u64,
    /// Blocks past an offered HTLC's `cltv_expiry` after which, still unresolved, it is
    /// taken on chain (the channel is failed).
    pub offered_expiry_grace: u32,
}

impl Default for ChannelConfig {
    fn default() -> Self {
        ChannelConfig {
            min_feerate: FeeratePerKw(253),
            max_feerate: FeeratePerKw(100_000),
            closing_timeout_secs: 120,
            offered_expiry_grace: 3,
        }
    }
}

/// Whether the peer is there to talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Link {
    /// No connection.
    Down,
    /// Connected; our `channel_reestablish` went out, the peer's has not arrived.
    Reestablishing,
    /// Both `channel_reestablish` went by (or the channel was funded on this connection).
    Up,
}

/// A request from our side (the user, the payment layer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Offer an HTLC (`update_add_htlc`).
    AddHtlc(NewHtlc),
    /// Fulfill the peer's HTLC `id` (`update_fulfill_htlc`).
    Fulfill {
        /// The peer's HTLC.
        id: u64,
        /// Its preimage.
        preimage: crate::tx::PaymentPreimage,
    },
    /// Fail the peer's HTLC `id` (`update_fail_htlc`).
    Fail {
        /// The peer's HTLC.
        id: u64,
        /// The encrypted failure (BOLT 4).
        reason: Vec<u8>,
    },
    /// Fail the peer's HTLC `id` as malformed (`update_fail_malformed_htlc`).
    FailMalformed {
        /// The peer's HTLC.
        id: u64,
        /// SHA256 of the onion we could not read.
        sha256_of_onion: [u8; 32],
        /// A BOLT 4 failure code with the BADONION bit.
        failure_code: u16,
    },
    /// Change the commitment feerate (`update_fee`; funder only).
    UpdateFee(FeeratePerKw),
}

/// What a command produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandOutput {
    /// Done.
    Done,
    /// The HTLC was offered with this `id`.
    HtlcAdded(u64),
}

/// One channel's protocol state machine: funding confirmations and `channel_ready`,
/// `channel_reestablish` and retransmission, HTLC and fee updates with the
/// `commitment_signed` / `revoke_and_ack` dance, and the mutual close (BOLT 2), with the
/// transactions of BOLT 3.
///
/// Pure: no IO, no clock, no store. Time and chain height come in as arguments ([`When`]);
/// everything to do comes out as [`Action`]s.
///
/// # Calling protocol
///
/// - **Construction**: [`Channel::new`] from what the store holds ([`StoredChannel`]) and the
///   channel's keys. After a restart the channel resumes from exactly that.
/// - **Inputs** (`handle_*`), in the order events happen:
///   - [`Channel::handle_connected`] when a connection to the peer is up (sends our
///     `channel_reestablish`), [`Channel::handle_funded_here`] when the channel was funded on
///     the current connection (no reestablish is due), [`Channel::handle_disconnected`] when
///     it drops (the peer's uncommitted updates are reversed);
///   - [`Channel::handle_message`] for every message the peer sends for this channel;
///   - [`Channel::handle_command`] for what our side wants ([`Command`]);
///   - [`Channel::handle_funding_depth`] / [`Channel::handle_funding_reorged`] as the funding
///     transaction confirms, [`Channel::handle_block`] on every new tip,
///     [`Channel::handle_tick`] now and then (timeouts);
///   - the close family: [`Channel::handle_close`], [`Channel::handle_force_close`].
/// - **Outputs**: after each input, [`Channel::poll_actions`] drains the ordered actions. The
///   shell runs them in order and starts nothing that follows an [`Action::Persist`] before
///   that write is durable. If a write fails, the shell must drop this value and rebuild
///   it from the store (the core has moved ahead of the disk).
/// - **Getters**: [`Channel::record`] (everything as it would be stored), [`Channel::id`],
///   [`Channel::status`].
///
/// A peer that breaks a rule gets the BOLT reaction of [`ChannelError::reaction`] from the
/// core itself: a `warning` (and maybe a disconnect), or an `error` and the channel failed,
/// the force close durable before the `error` leaves.
pub struct Channel {
    pub(super) secp: Secp256k1<All>,
    pub(super) secrets: ChannelSecrets,
    pub(super) rec: StoredChannel,
    pub(super) config: ChannelConfig,
    pub(super) link: Link,
    pub(super) out: Actions,
    /// When our last `closing_signed` went out unanswered (unix seconds).
    pub(super) closing_sent_at: Option<u64>,
    /// Where our side of a mutual close pays and the feerate we aim at, given by the shell
    /// before a `shutdown` from the peer (see [`Channel::set_closing_preferences`]).
    pub(super) closing_preferences: Option<(bitcoin::ScriptBuf, FeeratePerKw)>,
    /// Whether the peer negotiated `option_shutdown_anysegwit` on this connection.
    pub(super) anysegwit: bool,
    /// The current input's time and height.
    pub(super) now: When,
}

impl Channel {
    /// A channel resuming from its stored state, with its keys.
    pub fn new(
        secp: Secp256k1<All>,
        secrets: ChannelSecrets,
        rec: StoredChannel,
        config: ChannelConfig,
    ) -> Channel {
        Channel {
            secp,
            secrets,
            rec,
            config,
            link: Link::Down,
            out: Actions::new(),
            closing_sent_at: None,
            closing_preferences: None,
            anysegwit: false,
            now: When { time: 0, height: 0 },
        }
    }

    // --- getters ---------------------------------------------------------------------------

    /// The channel id.
    pub fn id(&self) -> ChannelId {
        self.rec.params.channel_id
    }

    /// Its stage of life.
    pub fn status(&self) -> ChannelStatus {
        self.rec.status
    }

    /// Everything about it, as stored (and as the store will hold once the pending actions
    /// are persisted).
    pub fn record(&self) -> &StoredChannel {
        &self.rec
    }

    /// Whether both `channel_reestablish` messages went by on the current connection.
    pub fn is_linked(&self) -> bool {
        self.link == Link::Up
    }

    /// The onion of the peer's live HTLC `id` (to process it, or to name it in
    /// `update_fail_malformed_htlc`).
    pub fn htlc_onion(&self, id: u64) -> Option<Box<[u8; super::ledger::ONION_LEN]>> {
        self.rec
            .commitment
            .ledger
            .htlc(Party::Remote, id)
            .map(|h| h.onion.clone())
    }

    /// The actions produced since the last call, in order.
    pub fn poll_actions(&mut self) -> Vec<Action> {
        self.out.take()
    }

    // --- inputs ----------------------------------------------------------------------------

    /// A connection to the peer is up: send our `channel_reestablish` (BOLT 2: "MUST
    /// transmit `channel_reestablish` for each channel") unless the channel is over.
    pub fn handle_connected(&mut self, anysegwit: bool, now: When) {
        self.now = now;
        self.anysegwit = anysegwit;
        self.link = Link::Down;
        if !self.is_live() {
            return;
        }
        match super::reestablish::our_reestablish(self) {
            Ok(msg) => {
                self.link = Link::Reestablishing;
                self.out.send(Message::ChannelReestablish(msg));
            }
            Err(e) => tracing::error!(channel = %self.id(), "channel_reestablish: {e}"),
        }
    }

    /// The channel was funded on the current connection: messages may flow at once.
    pub fn handle_funded_here(&mut self, anysegwit: bool) {
        self.anysegwit = anysegwit;
        self.link = Link::Up;
    }

    /// The connection dropped: the peer's uncommitted updates are reversed (BOLT 2 "upon
    /// disconnection: MUST reverse any uncommitted updates sent by the other side").
    pub fn handle_disconnected(&mut self) {
        self.link = Link::Down;
        self.closing_sent_at = None;
        let c = &mut self.rec.commitment;
        c.ledger
            .reverse_remote_uncommitted(c.local.pos.remote, c.local.next_remote_id);
    }

    /// A message from the peer for this channel. Protocol violations are answered here (see
    /// [`ChannelError::reaction`]); the error is returned for the shell's log.
    pub fn handle_message(&mut self, msg: Message, now: When) -> Result<(), ChannelError> {
        self.now = now;
        let result = self.dispatch(msg);
        if let Err(e) = &result {
            self.react(e);
        }
        result
    }

    fn dispatch(&mut self, msg: Message) -> Result<(), ChannelError> {
        match msg {
            Message::ChannelReestablish(m) => super::reestablish::on_reestablish(self, &m),
            Message::Error(e) => {
                let text = crate::peer::printable(&e.data);
                self.on_peer_error(&text);
                Ok(())
            }
            Message::Warning(_) => Ok(()),
            // A channel settled or settling on chain has nothing more to say: late messages
            // (a repeated `closing_signed`, a peer catching up) are dropped quietly.
            _ if !self.is_live() => Ok(()),
            other if self.link != Link::Up => {
                // BOLT 2: "MUST wait to receive the other node's `channel_reestablish`
                // message before sending any other messages for that channel"; a peer
                // that does not is confused, and nothing it says can be trusted yet.
                Err(ChannelError::BeforeReestablish(other.name()))
            }
            Message::ChannelReady(m) => {
                super::establish::on_channel_ready(self, &m);
                Ok(())
            }
            Message::UpdateAddHtlc(m) => super::update::on_update_add_htlc(self, m),
            Message::UpdateFulfillHtlc(m) => super::update::on_update_fulfill_htlc(self, &m),
            Message::UpdateFailHtlc(m) => super::update::on_update_fail_htlc(self, m),
            Message::UpdateFailMalformedHtlc(m) => {
                super::update::on_update_fail_malformed_htlc(self, &m)
            }
            Message::UpdateFee(m) => super::update::on_update_fee(self, &m),
            Message::CommitmentSigned(m) => super::commit::on_commitment_signed(self, &m),
            Message::RevokeAndAck(m) => super::commit::on_revoke_and_ack(self, &m),
            Message::Shutdown(m) => super::shutdown::on_shutdown(self, &m),
            Message::ClosingSigned(m) => super::shutdown::on_closing_signed(self, &m),
            other => Err(ChannelError::Unsupported(other.name())),
        }
    }

    /// Something our side wants done.
    pub fn handle_command(
        &mut self,
        cmd: Command,
        now: When,
    ) -> Result<CommandOutput, ChannelError> {
        self.now = now;
        let output = match cmd {
            Command::AddHtlc(htlc) => {
                CommandOutput::HtlcAdded(super::update::add_htlc(self, htlc)?)
            }
            Command::Fulfill { id, preimage } => {
                super::update::fulfill_htlc(self, id, preimage)?;
                CommandOutput::Done
            }
            Command::Fail { id, reason } => {
                super::update::fail_htlc(self, id, super::ledger::Resolution::Failed { reason })?;
                CommandOutput::Done
            }
            Command::FailMalformed {
                id,
                sha256_of_onion,
                failure_code,
            } => {
                super::update::fail_htlc(
                    self,
                    id,
                    super::ledger::Resolution::Malformed {
                        sha256_of_onion,
                        failure_code,
                    },
                )?;
                CommandOutput::Done
            }
            Command::UpdateFee(rate) => {
                super::update::update_fee(self, rate)?;
                CommandOutput::Done
            }
        };
        super::commit::sign_if_needed(self)?;
        Ok(output)
    }

    /// A new chain tip: offered HTLCs past their deadline fail the channel (BOLT 2: they
    /// must be resolved on chain before the incoming side times out).
    pub fn handle_block(&mut self, now: When) {
        self.now = now;
        if !matches!(
            self.rec.status,
            ChannelStatus::Ready | ChannelStatus::Closing
        ) || self.is_settling_on_chain()
        {
            return;
        }
        let deadline = now.height.saturating_sub(self.config.offered_expiry_grace);
        let expired = self
            .rec
            .commitment
            .ledger
            .htlcs
            .values()
            .find(|h| {
                h.key.offerer == Party::Local && h.removal.is_none() && h.cltv_expiry <= deadline
            })
            .map(|h| (h.key.id, h.cltv_expiry));
        if let Some((id, expiry)) = expired {
            self.fail_channel(&format!(
                "our HTLC {id} expired at height {expiry} and is still unresolved"
            ));
        }
    }

    /// The chain watcher wrote the channel's status and its own column (a spend of the
    /// funding output was seen, or everything is swept): the core takes them as they are.
    pub fn handle_watcher_update(
        &mut self,
        status: ChannelStatus,
        watch: Option<crate::watch::WatchState>,
    ) {
        self.rec.status = status;
        self.rec.watch = watch;
    }

    /// Time passes: a `closing_signed` left unanswered too long fails the channel.
    pub fn handle_tick(&mut self, now: When) {
        self.now = now;
        if let Some(sent) = self.closing_sent_at {
            if now.time.saturating_sub(sent) >= self.config.closing_timeout_secs
                && self.rec.close.closing_tx.is_none()
            {
                self.closing_sent_at = None;
                self.fail_channel("no answer to our closing_signed");
            }
        }
    }

    // --- shared helpers ---------------------------------------------------------------------

    /// Whether the channel still needs the peer (not closed, not settling on chain).
    pub(super) fn is_live(&self) -> bool {
        matches!(
            self.rec.status,
            ChannelStatus::Pending | ChannelStatus::Ready | ChannelStatus::Closing
        ) && !self.is_settling_on_chain()
    }

    /// Whether a closing or commitment transaction is already out.
    pub(super) fn is_settling_on_chain(&self) -> bool {
        self.rec.close.closing_tx.is_some()
            || self.rec.close.force_closed.is_some()
            || self.rec.watch.as_ref().is_some_and(|w| w.spend.is_some())
    }

    /// Queues a message (dropped by the shell when not connected).
    pub(super) fn send(&mut self, msg: Message) {
        if self.link == Link::Up {
            self.out.send(msg);
        }
    }

    /// Queues a write.
    pub(super) fn persist(&mut self, op: Op) {
        self.out.persist(op);
    }

    /// Answers a protocol violation as BOLT 1/2 say.
    fn react(&mut self, e: &ChannelError) {
        tracing::warn!(channel = %self.id(), "{e}");
        match e.reaction() {
            Reaction::Ignore => {}
            Reaction::Warn => self.out.send(warning(self.id(), &e.to_string())),
            Reaction::WarnAndDisconnect => {
                self.out.send(warning(self.id(), &e.to_string()));
                self.out.disconnect();
            }
            Reaction::Fail => self.fail_channel(&e.to_string()),
            Reaction::ErrorWithoutBroadcast => {
                // We are behind: our commitment may be revoked. Record it, never broadcast,
                // ask the peer to close (BOLT 2, option_data_loss_protect).
                let mut close = self.rec.close.clone();
                if !close.behind {
                    close.behind = true;
                    self.persist(record::close_row(&self.id(), &close));
                    self.rec.close = close;
                }
                self.out.send(error(self.id(), &e.to_string()));
            }
        }
    }

    /// Whether our commitment may still go on chain: the channel is not over, not already
    /// settling on chain, and our state is not known to be stale.
    fn may_force_close(&self) -> bool {
        !(self.is_settling_on_chain()
            || self.rec.close.behind
            || matches!(
                self.rec.status,
                ChannelStatus::Closed | ChannelStatus::Abandoned
            ))
    }

    /// Records a force close for `reason` (its writes queued) and returns our commitment to
    /// broadcast once they are durable.
    fn record_force_close(&mut self, reason: &str) -> Option<bitcoin::Transaction> {
        match close::force_close(
            &self.secp,
            &self.rec,
            &self.rec.close,
            &self.secrets,
            reason,
            self.now,
        ) {
            Ok(mut step) => {
                let tx = step.broadcast.take();
                self.apply_close_step(step);
                tx
            }
            Err(e) => {
                tracing::error!(channel = %self.id(), "cannot force close: {e}");
                None
            }
        }
    }

    /// Fails the channel (BOLT 5 "Failing a Channel"): our latest commitment, recorded,
    /// then the `error`, then the broadcast. A channel already settling on chain only gets
    /// the `error`; one whose state we know to be stale is never broadcast.
    pub(super) fn fail_channel(&mut self, reason: &str) {
        let tx = if self.may_force_close() {
            self.record_force_close(reason)
        } else {
            None
        };
        self.out.send(error(self.id(), reason));
        if let Some(tx) = tx {
            self.out.broadcast(tx);
            self.failed(reason);
        }
    }

    /// Tells the node the channel failed.
    pub(super) fn failed(&mut self, reason: &str) {
        self.out.event(ChannelEvent::Failed {
            reason: reason.to_string(),
        });
    }

    /// The peer sent `error` for this channel: BOLT 1 says fail it.
    fn on_peer_error(&mut self, text: &str) {
        let id = self.id();
        self.persist(Op::Event(
            id,
            self.now.event(crate::store::EventKind::PeerError {
                text: text.to_string(),
            }),
        ));
        if self.may_force_close() {
            let reason = format!("peer error: {text}");
            if let Some(tx) = self.record_force_close(&reason) {
                self.out.broadcast(tx);
                self.failed(&reason);
            }
        }
    }
}

/// A BOLT 1 `warning` for a channel: something was wrong, nothing is failed.
pub fn warning(channel_id: ChannelId, text: &str) -> Message {
    Message::Warning(crate::wire::Warning {
        channel_id,
        data: text.as_bytes().to_vec(),
        tlvs: Extension::default(),
    })
}

/// A BOLT 1 `error` for a channel.
pub fn error(channel_id: ChannelId, text: &str) -> Message {
    Message::Error(crate::wire::Error {
        channel_id,
        data: text.as_bytes().to_vec(),
        tlvs: Extension::default(),
    })
}
