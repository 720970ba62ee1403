//! Mutual close: `shutdown`, then the legacy `closing_signed` fee negotiation (BOLT 2
//! "Channel Close", "Legacy Closing Negotiation"; BOLT 3 "Legacy Closing Transaction").
//!
//! Pure: each function takes the stored channel, its [`CloseState`] and an input, and returns
//! a `CloseStep`: the new close state and status, what to persist, then what to send, then
//! what to broadcast, in that order. The channel core ([`super::Channel`]) applies it and
//! turns it into [`super::Action`]s.
//! Petrel does not negotiate `option_simple_close`, so `closing_complete`/`closing_sig` are
//! never used.
//!
//! Fee policy: the funder proposes `feerate × weight` with a `fee_range` from the relay floor
//! to three times that; the non-funder accepts any proposal at or above the floor (it does not
//! pay), answering inside the funder's range, so negotiation ends after two or three messages.

use bitcoin::secp256k1::{ecdsa::Signature, Secp256k1, Signing, Verification};
use bitcoin::{Amount, ScriptBuf, Transaction};
use serde::{Deserialize, Serialize};

use super::establish::When;
use super::record::{self, StoredChannel};
use super::{ChannelStatus, Role};
use crate::funding::is_valid_shutdown_script;
use crate::keys::ChannelSecrets;
use crate::store::{Batch, EventKind, Op};
use crate::tx::{build_closing, ClosingSpec, Side};
use crate::units::FeeratePerKw;
use crate::wire::{
    ChannelId, ClosingSigned, ClosingSignedTlvs, Extension, FeeRange, Message, Shutdown,
};

/// The witness of a closing transaction's funding input, in weight units: item count, the
/// empty item, two 73-byte signatures and the 71-byte 2-of-2 script, each with its length.
const CLOSING_WITNESS_WEIGHT: u64 = 1 + 1 + (1 + 73) * 2 + 1 + 71;

/// The lowest feerate we ever sign a closing transaction at (about 1 sat/vB).
pub const CLOSING_FEERATE_FLOOR: FeeratePerKw = FeeratePerKw(253);

/// A channel's mutual-close progress, stored in its own column.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseState {
    /// The `scriptpubkey` of the `shutdown` we sent.
    pub local_script: Option<ScriptBuf>,
    /// The `scriptpubkey` of the `shutdown` the peer sent.
    pub remote_script: Option<ScriptBuf>,
    /// The feerate we aim the closing transaction at.
    pub feerate: FeeratePerKw,
    /// The `fee_satoshis` of our last `closing_signed`.
    pub last_sent_fee: Option<Amount>,
    /// The `fee_range` of our last `closing_signed`.
    pub last_sent_range: Option<(Amount, Amount)>,
    /// The `fee_satoshis` of the peer's last `closing_signed`.
    pub last_received_fee: Option<Amount>,
    /// The fully signed closing transaction, once agreed (and broadcast).
    pub closing_tx: Option<Transaction>,
    /// Set when we broadcast our own commitment instead (force close): its txid and why.
    pub force_closed: Option<ForceClose>,
    /// Set when the peer proved, in `channel_reestablish`, that our state is stale
    /// (`option_data_loss_protect`): our commitment may be revoked and is never broadcast;
    /// we wait for the peer to close.
    #[serde(default)]
    pub behind: bool,
}

/// A unilateral close we started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForceClose {
    /// Our commitment transaction, as broadcast.
    pub commitment: Transaction,
    /// Why (the user asked, or the peer sent `error`).
    pub reason: String,
}

/// What to do: take the new close state and status, persist `batch`, then send `send`,
/// then broadcast `broadcast`.
#[derive(Clone, Debug, Default)]
pub(super) struct CloseStep {
    /// The close column as written, if it changed.
    pub close: Option<CloseState>,
    /// The status as written, if it changed.
    pub status: Option<ChannelStatus>,
    /// Writes to make durable first.
    pub batch: Batch,
    /// Messages to send after.
    pub send: Vec<Message>,
    /// A transaction to broadcast last.
    pub broadcast: Option<Transaction>,
}

impl CloseStep {
    /// Writes the close column and remembers it.
    fn set_close(&mut self, id: &ChannelId, close: &CloseState) {
        self.batch.push(record::close_row(id, close));
        self.close = Some(close.clone());
    }

    /// Writes the status and remembers it.
    fn set_status(&mut self, id: &ChannelId, status: ChannelStatus) {
        self.batch.push(record::status_row(id, status));
        self.status = Some(status);
    }
}

/// Why a mutual close cannot go on. The caller answers with a BOLT 1 `error` (failing the
/// channel) or, for local mistakes, only reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CloseError {
    /// The channel is not in a state that can close cooperatively.
    #[error("channel is {0}; only ready channels close cooperatively")]
    NotReady(&'static str),
    /// We already sent `shutdown`.
    #[error("a close is already under way")]
    AlreadyClosing,
    /// The peer's `scriptpubkey` is not one of the `shutdown` forms.
    #[error("invalid shutdown scriptpubkey {0:02x?}")]
    InvalidScript(Vec<u8>),
    /// The peer's `shutdown` differs from its upfront script, or from an earlier `shutdown`.
    #[error("shutdown scriptpubkey differs from the one committed to")]
    ScriptMismatch,
    /// `closing_signed` before both `shutdown`s.
    #[error("closing_signed before shutdown")]
    ClosingBeforeShutdown,
    /// The signature fits neither variant of the closing transaction (or is high-S).
    #[error("closing_signed signature does not verify")]
    BadSignature,
    /// The fee ranges do not overlap, or the proposal is outside the overlap.
    #[error("closing fee {fee} is outside the acceptable range {min}..={max}")]
    FeeOutOfRange {
        /// The proposed fee.
        fee: Amount,
        /// The lowest acceptable.
        min: Amount,
        /// The highest acceptable.
        max: Amount,
    },
    /// The non-funder changed its fee after answering (BOLT 2: MUST fail the channel).
    #[error("the peer changed its closing fee after agreeing")]
    FeeChanged,
    /// An output of the proposed closing transaction is dust, or ours is missing or short.
    #[error("closing transaction output is dust or does not pay us our balance")]
    BadOutputs,
    /// `closing_signed` while HTLCs or updates are still pending.
    #[error("closing_signed while HTLCs or updates are pending")]
    NotQuiet,
    /// Our state is stale (the peer proved it): we never broadcast it.
    #[error("our channel state is stale; waiting for the peer to close")]
    Behind,
    /// Building or signing failed.
    #[error(transparent)]
    Channel(#[from] super::ChannelError),
}

fn funder_side(channel: &StoredChannel) -> Side {
    match channel.params.role {
        Role::Initiator => Side::Local,
        Role::Responder => Side::Remote,
    }
}

/// The unsigned closing transaction as `signer` builds it (with the signer's own dust limit).
fn closing_tx(
    channel: &StoredChannel,
    local_script: &ScriptBuf,
    remote_script: &ScriptBuf,
    fee: Amount,
    signer_is_us: bool,
) -> Result<Transaction, CloseError> {
    let (ours, theirs) = channel.commitment.balances();
    let spec = if signer_is_us {
        ClosingSpec {
            funding: channel.params.funding_output(),
            local_balance: ours,
            remote_balance: theirs,
            local_script: local_script.clone(),
            remote_script: remote_script.clone(),
            funder: funder_side(channel),
            fee,
            dust_limit: channel.params.local.dust_limit,
        }
    } else {
        ClosingSpec {
            funding: channel.params.funding_output(),
            local_balance: theirs,
            remote_balance: ours,
            local_script: remote_script.clone(),
            remote_script: local_script.clone(),
            funder: match funder_side(channel) {
                Side::Local => Side::Remote,
                Side::Remote => Side::Local,
            },
            fee,
            dust_limit: channel.params.remote.dust_limit,
        }
    };
    Ok(build_closing(&spec).map_err(super::ChannelError::from)?)
}

/// The weight of the signed closing transaction with both outputs, which closing fees are
/// priced on (`feerate.fee_for_weight(closing_weight(..))`).
fn closing_weight(
    channel: &StoredChannel,
    local_script: &ScriptBuf,
    remote_script: &ScriptBuf,
) -> u64 {
    closing_tx(channel, local_script, remote_script, Amount::ZERO, true)
        .map_or(900, |tx| tx.weight().to_wu() + CLOSING_WITNESS_WEIGHT)
}

/// The funder's balance in whole satoshis (the most a closing fee can take).
fn funder_balance(channel: &StoredChannel) -> Amount {
    let (ours, theirs) = channel.commitment.balances();
    match channel.params.role {
        Role::Initiator => ours.to_amount_floor(),
        Role::Responder => theirs.to_amount_floor(),
    }
}

/// Whether `initiate` would start a mutual close: the channel is ready and we have not
/// sent `shutdown` yet. Lets the caller check before it asks the wallet for an address.
pub fn can_initiate(channel: &StoredChannel, close: &CloseState) -> Result<(), CloseError> {
    if channel.status != ChannelStatus::Ready {
        return Err(CloseError::NotReady(channel.status.as_str()));
    }
    if close.local_script.is_some() {
        return Err(CloseError::AlreadyClosing);
    }
    Ok(())
}

/// Starts a mutual close: our `shutdown` with `our_script` (a fresh wallet address).
pub(super) fn initiate<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
    our_script: &ScriptBuf,
    feerate: FeeratePerKw,
    when: When,
) -> Result<CloseStep, CloseError> {
    can_initiate(channel, close)?;
    let id = channel.params.channel_id;
    let mut close = close.clone();
    close.local_script = Some(our_script.clone());
    close.feerate = feerate.max(CLOSING_FEERATE_FLOOR);
    let mut step = CloseStep::default();
    step.send.push(shutdown(channel, our_script));
    if let Some(proposal) = maybe_propose_first(channel, &mut close) {
        step.send.push(proposal);
    }
    finish_signatures(secp, channel, &close, secrets, &mut step)?;
    step.set_close(&id, &close);
    step.set_status(&id, ChannelStatus::Closing);
    step.batch
        .push(Op::Event(id, when.event(EventKind::ShutdownSent)));
    Ok(step)
}

fn shutdown(channel: &StoredChannel, script: &ScriptBuf) -> Message {
    Message::Shutdown(Shutdown {
        channel_id: channel.params.channel_id,
        scriptpubkey: script.to_bytes(),
        tlvs: Extension::default(),
    })
}

/// The funder signs the first `closing_signed` once both `shutdown`s are out (BOLT 2: "after
/// `shutdown` has been received ... SHOULD send a `closing_signed`"). Nothing for the
/// non-funder, or while a `shutdown` is missing.
fn maybe_propose_first(channel: &StoredChannel, close: &mut CloseState) -> Option<Message> {
    // BOLT 2: no `closing_signed` while HTLCs or updates are pending.
    if channel.params.role != Role::Initiator
        || close.last_sent_fee.is_some()
        || !channel.commitment.is_quiet()
    {
        return None;
    }
    let (Some(local), Some(remote)) = (close.local_script.clone(), close.remote_script.clone())
    else {
        return None;
    };
    let balance = funder_balance(channel);
    let weight = closing_weight(channel, &local, &remote);
    let floor = CLOSING_FEERATE_FLOOR.fee_for_weight(weight).min(balance);
    let fee = close.feerate.fee_for_weight(weight).clamp(floor, balance);
    let max = FeeratePerKw(close.feerate.0.saturating_mul(3))
        .fee_for_weight(weight)
        .clamp(fee, balance);
    Some(Message::ClosingSigned(sign_proposal(
        channel,
        close,
        fee,
        (floor, max),
    )))
}

/// Once both `shutdown`s are out and nothing is pending any more, the funder's first
/// `closing_signed` (nothing otherwise).
pub(super) fn propose_if_ready<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
) -> Result<CloseStep, CloseError> {
    let mut step = CloseStep::default();
    if close.closing_tx.is_some() || close.force_closed.is_some() || close.behind {
        return Ok(step);
    }
    let mut close = close.clone();
    if let Some(proposal) = maybe_propose_first(channel, &mut close) {
        step.send.push(proposal);
        step.set_close(&channel.params.channel_id, &close);
        finish_signatures(secp, channel, &close, secrets, &mut step)?;
    }
    Ok(step)
}

/// Our `closing_signed` for `fee`, recorded in `close`. (Signing is deterministic, so the
/// signature itself is recomputed when needed rather than stored.)
fn sign_proposal(
    channel: &StoredChannel,
    close: &mut CloseState,
    fee: Amount,
    range: (Amount, Amount),
) -> ClosingSigned {
    close.last_sent_fee = Some(fee);
    close.last_sent_range = Some(range);
    ClosingSigned {
        channel_id: channel.params.channel_id,
        fee_satoshis: fee,
        // Filled in by `finish_signatures` before the step leaves this module.
        signature: placeholder_signature(),
        tlvs: ClosingSignedTlvs {
            fee_range: Some(FeeRange {
                min_fee_satoshis: range.0,
                max_fee_satoshis: range.1,
            }),
            unknown: Vec::new(),
        },
    }
}

fn placeholder_signature() -> Signature {
    // A syntactically valid compact signature (r = s = 1), replaced before sending.
    let mut bytes = [0u8; 64];
    bytes[31] = 1;
    bytes[63] = 1;
    Signature::from_compact(&bytes).unwrap_or_else(|_| unreachable!("r = s = 1 is in range"))
}

/// Signs every `closing_signed` of `step` over our variant of the closing transaction.
fn finish_signatures<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
    step: &mut CloseStep,
) -> Result<(), CloseError> {
    let (Some(local), Some(remote)) = (&close.local_script, &close.remote_script) else {
        return Ok(());
    };
    for msg in &mut step.send {
        if let Message::ClosingSigned(cs) = msg {
            if cs.signature == placeholder_signature() {
                let tx = closing_tx(channel, local, remote, cs.fee_satoshis, true)?;
                cs.signature = channel
                    .params
                    .funding_output()
                    .sign(secp, &tx, &secrets.funding_key)
                    .map_err(super::ChannelError::from)?;
            }
        }
    }
    Ok(())
}

/// The peer's `shutdown`. `reply` is the address and feerate we answer with if we have not
/// sent `shutdown` yet, or `None` while our own updates are not all in a commitment of the
/// peer's (BOLT 2: then we "MUST NOT send a `shutdown`"; the caller replies later);
/// `anysegwit` whether `option_shutdown_anysegwit` was negotiated.
#[allow(clippy::too_many_arguments)] // a pure core: keys, state and context all come in
pub(super) fn on_shutdown<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
    msg: &Shutdown,
    reply: Option<(&ScriptBuf, FeeratePerKw)>,
    anysegwit: bool,
    when: When,
) -> Result<CloseStep, CloseError> {
    if !matches!(
        channel.status,
        ChannelStatus::Ready | ChannelStatus::Pending | ChannelStatus::Closing
    ) {
        return Err(CloseError::NotReady(channel.status.as_str()));
    }
    let script = ScriptBuf::from_bytes(msg.scriptpubkey.clone());
    if !is_valid_shutdown_script(script.as_bytes(), anysegwit, false) {
        return Err(CloseError::InvalidScript(msg.scriptpubkey.clone()));
    }
    if let Some(upfront) = &channel.params.remote.shutdown_script {
        if *upfront != script {
            return Err(CloseError::ScriptMismatch);
        }
    }
    let id = channel.params.channel_id;
    let mut close = close.clone();
    let mut step = CloseStep::default();
    match &close.remote_script {
        // A retransmission after reconnecting: same script, nothing new.
        Some(known) if *known == script => {}
        Some(_) => return Err(CloseError::ScriptMismatch),
        None => {
            close.remote_script = Some(script);
            step.batch
                .push(Op::Event(id, when.event(EventKind::ShutdownReceived)));
        }
    }
    if let (None, Some((our_script, feerate))) = (&close.local_script, reply) {
        close.local_script = Some(our_script.clone());
        close.feerate = feerate.max(CLOSING_FEERATE_FLOOR);
        step.send.push(shutdown(channel, our_script));
        step.batch
            .push(Op::Event(id, when.event(EventKind::ShutdownSent)));
    }
    if let Some(proposal) = maybe_propose_first(channel, &mut close) {
        step.send.push(proposal);
    }
    finish_signatures(secp, channel, &close, secrets, &mut step)?;
    let events = std::mem::take(&mut step.batch);
    step.set_close(&id, &close);
    if channel.status != ChannelStatus::Closing {
        step.set_status(&id, ChannelStatus::Closing);
    }
    step.batch.ops.extend(events.ops);
    Ok(step)
}

/// Checks the peer's signature against the variants it may have signed (its own dust limit;
/// with or without its own output) and returns the transaction it signed.
fn verify_peer_signature<C: Verification>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    local: &ScriptBuf,
    remote: &ScriptBuf,
    fee: Amount,
    signature: &Signature,
) -> Result<Transaction, CloseError> {
    let funding = channel.params.funding_output();
    let theirs = closing_tx(channel, local, remote, fee, false)?;
    let mut without_theirs = theirs.clone();
    without_theirs.output.retain(|o| o.script_pubkey != *remote);
    for candidate in [theirs, without_theirs] {
        if candidate.output.is_empty() {
            continue;
        }
        if funding
            .verify(
                secp,
                &candidate,
                signature,
                &channel.params.remote.basepoints.funding_pubkey,
            )
            .is_ok()
        {
            return Ok(candidate);
        }
    }
    Err(CloseError::BadSignature)
}

/// BOLT 2: the tx must pay us what we are owed (unless our output is dust for us), and no
/// output may be dust for its script.
fn check_outputs(
    channel: &StoredChannel,
    tx: &Transaction,
    local: &ScriptBuf,
    fee: Amount,
) -> Result<(), CloseError> {
    if tx
        .output
        .iter()
        .any(|o| o.value < o.script_pubkey.minimal_non_dust())
    {
        return Err(CloseError::BadOutputs);
    }
    let mut ours = channel.commitment.balances().0.to_amount_floor();
    if channel.params.role == Role::Initiator {
        ours = ours.checked_sub(fee).ok_or(CloseError::BadOutputs)?;
    }
    let paid = tx
        .output
        .iter()
        .filter(|o| o.script_pubkey == *local)
        .map(|o| o.value)
        .sum::<Amount>();
    if paid < ours && ours >= channel.params.local.dust_limit {
        return Err(CloseError::BadOutputs);
    }
    Ok(())
}

/// The peer's `closing_signed`: negotiate, and once the fee is agreed, sign the exact
/// transaction the peer signed and broadcast it.
pub(super) fn on_closing_signed<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
    msg: &ClosingSigned,
    when: When,
) -> Result<CloseStep, CloseError> {
    let (Some(local), Some(remote)) = (close.local_script.clone(), close.remote_script.clone())
    else {
        return Err(CloseError::ClosingBeforeShutdown);
    };
    if close.closing_tx.is_some() {
        // Already agreed and broadcast: a late duplicate is harmless.
        return Ok(CloseStep::default());
    }
    if !channel.commitment.is_quiet() {
        // BOLT 2: `closing_signed` only once no HTLC or update is pending.
        return Err(CloseError::NotQuiet);
    }
    let fee = msg.fee_satoshis;
    let signed_by_peer =
        verify_peer_signature(secp, channel, &local, &remote, fee, &msg.signature)?;
    check_outputs(channel, &signed_by_peer, &local, fee)?;
    let id = channel.params.channel_id;
    let mut close = close.clone();
    close.last_received_fee = Some(fee);
    let we_fund = channel.params.role == Role::Initiator;
    let floor = CLOSING_FEERATE_FLOOR
        .fee_for_weight(closing_weight(channel, &local, &remote))
        .min(funder_balance(channel));

    // Decide: agree on `fee`, or counter-propose.
    let agree = match (msg.tlvs.fee_range.as_ref(), close.last_sent_fee) {
        (Some(range), sent) => {
            let (their_min, their_max) = (range.min_fee_satoshis, range.max_fee_satoshis);
            let (our_min, our_max) = if we_fund {
                close
                    .last_sent_range
                    .unwrap_or((floor, funder_balance(channel)))
            } else {
                // The non-funder pays nothing: anything from the floor up to their maximum.
                (floor, their_max.max(floor))
            };
            let (min, max) = (their_min.max(our_min), their_max.min(our_max));
            if min > max || fee < min || fee > max {
                return Err(CloseError::FeeOutOfRange { fee, min, max });
            }
            if !we_fund && sent.is_some_and(|s| s != fee) {
                return Err(CloseError::FeeChanged);
            }
            true
        }
        (None, None) => fee >= floor || !we_fund,
        (None, Some(sent)) => {
            if fee == sent {
                true
            } else if we_fund {
                // Without ranges: accept anything up to what we offered.
                fee <= sent
            } else {
                fee >= sent.min(floor)
            }
        }
    };
    let mut step = CloseStep::default();
    if !agree {
        // Propose strictly between the two last fees (the legacy rule).
        let sent = close.last_sent_fee.unwrap_or(floor);
        let mid = Amount::from_sat(u64::midpoint(sent.to_sat(), fee.to_sat()));
        let counter = if mid == sent || mid == fee { fee } else { mid };
        let range = close
            .last_sent_range
            .unwrap_or((floor, funder_balance(channel)));
        let proposal = sign_proposal(channel, &mut close, counter, range);
        step.send.push(Message::ClosingSigned(proposal));
        step.set_close(&id, &close);
        finish_signatures(secp, channel, &close, secrets, &mut step)?;
        return Ok(step);
    }
    // Agreed: answer with the same fee if we have not sent it, then sign the peer's variant.
    if close.last_sent_fee != Some(fee) {
        let range = close.last_sent_range.unwrap_or((floor, fee.max(floor)));
        let reply = sign_proposal(channel, &mut close, fee, range);
        step.send.push(Message::ClosingSigned(reply));
    }
    let funding = channel.params.funding_output();
    let ours = funding
        .sign(secp, &signed_by_peer, &secrets.funding_key)
        .map_err(super::ChannelError::from)?;
    let final_tx = funding
        .into_signed(
            signed_by_peer,
            (&channel.params.local.basepoints.funding_pubkey, &ours),
            (
                &channel.params.remote.basepoints.funding_pubkey,
                &msg.signature,
            ),
        )
        .map_err(super::ChannelError::from)?;
    close.closing_tx = Some(final_tx.clone());
    step.set_close(&id, &close);
    step.batch.push(Op::Event(
        id,
        when.event(EventKind::ClosingAgreed {
            txid: final_tx.compute_txid(),
            fee,
        }),
    ));
    step.broadcast = Some(final_tx);
    finish_signatures(secp, channel, &close, secrets, &mut step)?;
    Ok(step)
}

/// What to resend after a reconnection (BOLT 2: "if it has sent a previous `shutdown`: MUST
/// retransmit `shutdown`"; negotiation restarts, so the funder proposes again).
pub(super) fn on_reconnect<C: Signing>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
) -> Result<CloseStep, CloseError> {
    let mut step = CloseStep::default();
    let Some(local) = &close.local_script else {
        return Ok(step);
    };
    if close.closing_tx.is_some() || close.force_closed.is_some() {
        return Ok(step);
    }
    step.send.push(shutdown(channel, local));
    let mut restarted = close.clone();
    restarted.last_sent_fee = None;
    restarted.last_sent_range = None;
    restarted.last_received_fee = None;
    if let Some(proposal) = maybe_propose_first(channel, &mut restarted) {
        step.send.push(proposal);
    }
    step.set_close(&channel.params.channel_id, &restarted);
    finish_signatures(secp, channel, &restarted, secrets, &mut step)?;
    Ok(step)
}

/// Our latest commitment, fully signed, to broadcast in a force close (BOLT 5 "Failing a
/// Channel"): recorded before it leaves.
pub(super) fn force_close<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    close: &CloseState,
    secrets: &ChannelSecrets,
    reason: &str,
    when: When,
) -> Result<CloseStep, CloseError> {
    if matches!(
        channel.status,
        ChannelStatus::Closed | ChannelStatus::Abandoned
    ) {
        return Err(CloseError::NotReady(channel.status.as_str()));
    }
    if close.behind {
        return Err(CloseError::Behind);
    }
    let c = &channel.commitment;
    let view = c
        .local_view()
        .map_err(|e| super::ChannelError::Internal(e.to_string()))?;
    let commitment = super::commitments::signed_local_commitment(
        secp,
        &channel.params,
        secrets,
        c.local_commitment_number(),
        &view.balances(),
        &c.local.signature,
    )?;
    let id = channel.params.channel_id;
    let mut close = close.clone();
    close.force_closed = Some(ForceClose {
        commitment: commitment.clone(),
        reason: reason.to_string(),
    });
    let mut step = CloseStep::default();
    step.set_close(&id, &close);
    step.set_status(&id, ChannelStatus::Closing);
    step.batch.push(Op::Event(
        id,
        when.event(EventKind::ForceClose {
            txid: commitment.compute_txid(),
            reason: reason.to_string(),
        }),
    ));
    step.broadcast = Some(commitment);
    Ok(step)
}

#[cfg(test)]
#[path = "close_tests.rs"]
mod tests;
