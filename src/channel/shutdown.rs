//! The core's part in closing: our `close` and force close, the peer's `shutdown` and
//! `closing_signed`, and moving the negotiation on once HTLCs are settled. The fee rules are
//! in [`super::close`].

use bitcoin::{ScriptBuf, Txid};

use super::close::{self, CloseError, CloseStep};
use super::commit::sign_if_needed;
use super::core::{Channel, Link};
use super::ChannelError;
use crate::units::FeeratePerKw;
use crate::wire::{ClosingSigned, Message, Shutdown};

impl Channel {
    /// Where our side of a mutual close pays, and at what feerate we aim: the shell fetches
    /// a wallet address before handing the core a `shutdown` (the core does no IO).
    pub fn set_closing_preferences(&mut self, script: ScriptBuf, feerate: FeeratePerKw) {
        self.closing_preferences = Some((script, feerate));
    }

    /// Whether a `shutdown` from the peer needs [`Channel::set_closing_preferences`] first
    /// (we have not sent ours).
    pub fn needs_closing_preferences(&self) -> bool {
        self.rec.close.local_script.is_none()
    }

    /// Starts a mutual close: our `shutdown` paying `our_script`, the funder's first
    /// `closing_signed` once HTLCs are settled.
    pub fn handle_close(
        &mut self,
        our_script: &ScriptBuf,
        feerate: FeeratePerKw,
        now: crate::channel::establish::When,
    ) -> Result<(), ChannelError> {
        self.now = now;
        if self.link != Link::Up {
            return Err(ChannelError::Refused(
                "the peer is not connected: a mutual close needs it".into(),
            ));
        }
        close::can_initiate(&self.rec, &self.rec.close)
            .map_err(|e| ChannelError::Refused(e.to_string()))?;
        // BOLT 2: "if there are updates pending on the receiving node's commitment
        // transaction: MUST NOT send a `shutdown`": commit ours first.
        sign_if_needed(self)?;
        let c = &self.rec.commitment;
        if c.ledger.next_seq.local > c.remote.latest().pos.local {
            return Err(ChannelError::Refused(
                "our updates are not committed yet; try again in a moment".into(),
            ));
        }
        let step = close::initiate(
            &self.secp,
            &self.rec,
            &self.rec.close,
            &self.secrets,
            our_script,
            feerate,
            now,
        )
        .map_err(|e| ChannelError::Refused(e.to_string()))?;
        self.apply_close_step(step);
        Ok(())
    }

    /// Broadcasts our latest commitment (BOLT 5 "Failing a Channel"), recorded first;
    /// returns its txid.
    pub fn handle_force_close(
        &mut self,
        reason: &str,
        now: crate::channel::establish::When,
    ) -> Result<Txid, ChannelError> {
        self.now = now;
        let step = close::force_close(
            &self.secp,
            &self.rec,
            &self.rec.close,
            &self.secrets,
            reason,
            now,
        )
        .map_err(|e| ChannelError::Refused(e.to_string()))?;
        let txid = step
            .broadcast
            .as_ref()
            .map(bitcoin::Transaction::compute_txid)
            .ok_or_else(|| ChannelError::Internal("force close without a commitment".into()))?;
        self.apply_close_step(step);
        self.failed(reason);
        Ok(txid)
    }

    /// Applies a close step: the new state, its writes, its messages, its broadcast.
    pub(super) fn apply_close_step(&mut self, step: CloseStep) {
        if let Some(close) = step.close {
            self.rec.close = close;
        }
        if let Some(status) = step.status {
            self.rec.status = status;
        }
        self.out.persist_all(step.batch.ops);
        let mut proposed = false;
        for msg in step.send {
            proposed |= matches!(msg, Message::ClosingSigned(_));
            self.send(msg);
        }
        if let Some(tx) = step.broadcast {
            self.out.broadcast(tx);
        }
        if self.rec.close.closing_tx.is_some() || self.rec.close.force_closed.is_some() {
            self.closing_sent_at = None;
        } else if proposed {
            self.closing_sent_at = Some(self.now.time);
        }
    }
}

/// The peer's `shutdown`.
pub(super) fn on_shutdown(ch: &mut Channel, m: &Shutdown) -> Result<(), ChannelError> {
    let (script, feerate) = match (&ch.rec.close.local_script, &ch.closing_preferences) {
        (Some(script), _) => (script.clone(), ch.rec.close.feerate),
        (None, Some((script, feerate))) => (script.clone(), *feerate),
        (None, None) => {
            return Err(ChannelError::Internal(
                "shutdown without closing preferences".into(),
            ))
        }
    };
    // Our own updates go into a commitment before our `shutdown` leaves (BOLT 2: "if there
    // are updates pending on the receiving node's commitment transaction: MUST NOT send a
    // `shutdown`"); while a `revoke_and_ack` is awaited they cannot, and the reply waits
    // (see [`progress`]).
    sign_if_needed(ch)?;
    let c = &ch.rec.commitment;
    let clean = c.ledger.next_seq.local <= c.remote.latest().pos.local;
    let step = close::on_shutdown(
        &ch.secp,
        &ch.rec,
        &ch.rec.close,
        &ch.secrets,
        m,
        clean.then_some((&script, feerate)),
        ch.anysegwit,
        ch.now,
    )?;
    ch.apply_close_step(step);
    Ok(())
}

/// The peer's `closing_signed`.
pub(super) fn on_closing_signed(ch: &mut Channel, m: &ClosingSigned) -> Result<(), ChannelError> {
    let step = close::on_closing_signed(&ch.secp, &ch.rec, &ch.rec.close, &ch.secrets, m, ch.now)?;
    if ch.closing_sent_at.is_some() && step.send.is_empty() {
        ch.closing_sent_at = None;
    }
    ch.apply_close_step(step);
    Ok(())
}

/// After a commitment changed: a `shutdown` reply that waited for our updates to be
/// committed goes out; once both `shutdown`s are out and nothing is pending, the funder opens
/// the fee negotiation.
pub(super) fn progress(ch: &mut Channel) -> Result<(), ChannelError> {
    // A `shutdown` of ours that waited for our updates to be committed.
    if let (Some(theirs), None) = (&ch.rec.close.remote_script, &ch.rec.close.local_script) {
        let c = &ch.rec.commitment;
        if c.ledger.next_seq.local <= c.remote.latest().pos.local
            && ch.closing_preferences.is_some()
        {
            let again = Shutdown {
                channel_id: ch.id(),
                scriptpubkey: theirs.to_bytes(),
                tlvs: crate::wire::Extension::default(),
            };
            on_shutdown(ch, &again)?;
        }
    }
    let step = close::propose_if_ready(&ch.secp, &ch.rec, &ch.rec.close, &ch.secrets)?;
    ch.apply_close_step(step);
    Ok(())
}

/// After `channel_reestablish`: resend our `shutdown` (BOLT 2: "if it has sent a previous
/// `shutdown`: MUST retransmit `shutdown`"), and restart the fee negotiation.
pub(super) fn on_reestablished(ch: &mut Channel) -> Result<(), ChannelError> {
    let step = close::on_reconnect(&ch.secp, &ch.rec, &ch.rec.close, &ch.secrets)?;
    ch.apply_close_step(step);
    Ok(())
}

impl From<CloseError> for ChannelError {
    fn from(e: CloseError) -> ChannelError {
        match e {
            CloseError::Channel(inner) => inner,
            other => ChannelError::Close(Box::new(other)),
        }
    }
}
