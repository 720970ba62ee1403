//! The node's part in closing channels: the `close` verb, `shutdown` / `closing_signed` from
//! the peer, force closes (asked for, or forced by the peer's `error`), and retransmitting
//! `shutdown` after a reconnection. Decisions come from [`crate::channel::close`].
#![allow(clippy::disallowed_methods)] // actor code

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;
use serde_json::{json, Value};

use super::actor::{unix_now, NodeActor};
use crate::chain::ChainSource;
use crate::channel::close::{self, CloseStep};
use crate::channel::establish::When;
use crate::channel::ChannelStatus;
use crate::rpc::{opt_param, param, RpcError};
use crate::store::{Batch, EventKind, Op, StoredChannel};
use crate::units::FeeratePerKw;
use crate::wire::{ChannelId, ClosingSigned, Shutdown};

impl<S: ChainSource + Clone> NodeActor<S> {
    fn when(&self) -> When {
        When {
            time: unix_now(),
            height: self.tip,
        }
    }

    /// Persist, then send, then broadcast.
    pub(crate) async fn execute_close(
        &mut self,
        channel: &StoredChannel,
        step: CloseStep,
    ) -> Result<(), String> {
        let id = channel.params.channel_id;
        self.persist(step.batch).await.map_err(|e| e.to_string())?;
        self.reload(&id).await;
        if let Some(handle) = self.handle_of(&channel.params.peer) {
            for msg in step.send {
                if handle.send(msg).await.is_err() {
                    break;
                }
            }
        }
        if let Some(tx) = step.broadcast {
            let txid = tx.compute_txid();
            match self.chain().broadcast(&tx).await {
                Ok(_) => tracing::info!(channel = %id, %txid, "broadcast"),
                Err(e) => {
                    tracing::warn!(channel = %id, %txid, "broadcast failed (the watcher rebroadcasts): {e}");
                }
            }
        }
        self.ctx_watch().watch(id).await;
        Ok(())
    }

    /// A script of our wallet for a closing output.
    async fn closing_script(&self) -> Result<ScriptBuf, String> {
        self.wallet()
            .new_address()
            .await
            .map(|a| a.script_pubkey())
            .map_err(|e| e.to_string())
    }

    /// The closing feerate: the user's, or the backend's estimate, or 2,500 sat/kw.
    async fn closing_feerate(&self, asked: Option<u32>) -> FeeratePerKw {
        if let Some(rate) = asked {
            return FeeratePerKw(rate);
        }
        match self.chain().estimate_fee(6).await {
            Ok(Some(rate)) => {
                FeeratePerKw(u32::try_from(rate.to_sat_per_kwu()).unwrap_or(u32::MAX))
            }
            _ => FeeratePerKw(2_500),
        }
    }

    /// `close CHANNEL_ID [force] [feerate_per_kw]`.
    pub(crate) async fn rpc_close(&mut self, params: &Value) -> Result<Value, RpcError> {
        let text: String = param(params, "channel_id")?;
        let id: ChannelId = text
            .parse()
            .map_err(|e| RpcError::InvalidParams(format!("channel id `{text}`: {e}")))?;
        let force: bool = opt_param(params, "force")?.unwrap_or(false);
        let feerate: Option<u32> = opt_param(params, "feerate_per_kw")?;
        let channel = self
            .channels
            .get(&id)
            .cloned()
            .ok_or_else(|| RpcError::Failed(format!("no channel {id}")))?;
        if force {
            return self
                .force_close(&channel, "requested by the user")
                .await
                .map_err(RpcError::Failed)
                .map(|txid| json!({ "channel_id": id.to_string(), "commitment_txid": txid, "state": "closing" }));
        }
        if self.handle_of(&channel.params.peer).is_none() {
            return Err(RpcError::Failed(
                "the peer is not connected: a mutual close needs it (use --force to close alone)"
                    .into(),
            ));
        }
        close::can_initiate(&channel, &channel.close)
            .map_err(|e| RpcError::Failed(e.to_string()))?;
        let secrets = self
            .secrets_of(&channel)
            .ok_or_else(|| RpcError::Failed("cannot derive the channel keys".into()))?;
        let script = self.closing_script().await.map_err(RpcError::Failed)?;
        let feerate = self.closing_feerate(feerate).await;
        let step = close::initiate(
            &self.ctx.secp,
            &channel,
            &channel.close,
            &secrets,
            &script,
            feerate,
            self.when(),
        )
        .map_err(|e| RpcError::Failed(e.to_string()))?;
        self.execute_close(&channel, step)
            .await
            .map_err(RpcError::Failed)?;
        Ok(json!({ "channel_id": id.to_string(), "state": "closing" }))
    }

    /// Broadcasts our latest commitment (BOLT 5 "Failing a Channel"); returns its txid.
    pub(crate) async fn force_close(
        &mut self,
        channel: &StoredChannel,
        reason: &str,
    ) -> Result<String, String> {
        let secrets = self
            .secrets_of(channel)
            .ok_or("cannot derive the channel keys")?;
        let step = close::force_close(
            &self.ctx.secp,
            channel,
            &channel.close,
            &secrets,
            reason,
            self.when(),
        )
        .map_err(|e| e.to_string())?;
        let txid = step
            .broadcast
            .as_ref()
            .map(|tx| tx.compute_txid().to_string())
            .unwrap_or_default();
        tracing::warn!(channel = %channel.params.channel_id, %txid, "force closing: {reason}");
        self.execute_close(channel, step).await?;
        Ok(txid)
    }

    pub(crate) async fn on_shutdown(
        &mut self,
        channel: &StoredChannel,
        msg: &Shutdown,
        anysegwit: bool,
    ) {
        let Some(secrets) = self.secrets_of(channel) else {
            tracing::error!(channel = %channel.params.channel_id, "cannot derive the channel keys");
            return;
        };
        // A retransmitted shutdown (after a reconnection) finds ours already sent: it is
        // answered with the same script, so no new address or fee estimate is needed.
        let (script, feerate) = match &channel.close.local_script {
            Some(script) => (script.clone(), channel.close.feerate),
            None => match self.closing_script().await {
                Ok(script) => (script, self.closing_feerate(None).await),
                Err(e) => {
                    tracing::error!("no wallet address for the closing output: {e}");
                    return;
                }
            },
        };
        let result = close::on_shutdown(
            &self.ctx.secp,
            channel,
            &channel.close,
            &secrets,
            msg,
            &script,
            anysegwit,
            feerate,
            self.when(),
        );
        self.run_close_step(channel, result).await;
    }

    pub(crate) async fn on_closing_signed(&mut self, channel: &StoredChannel, msg: &ClosingSigned) {
        let Some(secrets) = self.secrets_of(channel) else {
            return;
        };
        let result = close::on_closing_signed(
            &self.ctx.secp,
            channel,
            &channel.close,
            &secrets,
            msg,
            self.when(),
        );
        self.run_close_step(channel, result).await;
    }

    async fn run_close_step(
        &mut self,
        channel: &StoredChannel,
        result: Result<CloseStep, close::CloseError>,
    ) {
        let id = channel.params.channel_id;
        match result {
            Ok(step) => {
                if let Err(e) = self.execute_close(channel, step).await {
                    tracing::error!(channel = %id, "close step failed: {e}");
                }
            }
            Err(close::CloseError::InvalidScript(_)) => {
                // BOLT 2: a `shutdown` whose scriptpubkey is not one of the allowed forms
                // "SHOULD send a `warning`": the shutdown is ignored, the channel stays.
                tracing::warn!(channel = %id, "ignoring a shutdown with an invalid script");
                if let Some(handle) = self.handle_of(&channel.params.peer) {
                    let text = "shutdown scriptpubkey is not an allowed form; ignored";
                    let _ = handle.send(super::channels::warning_msg(id, text)).await;
                }
            }
            Err(close::CloseError::ScriptMismatch) => {
                // BOLT 2: a script other than the upfront one "MAY send a `warning`", "MUST
                // fail the connection": warn and disconnect; the channel stays.
                tracing::warn!(channel = %id, "shutdown script differs from the upfront one");
                if let Some(handle) = self.handle_of(&channel.params.peer) {
                    let text = "shutdown scriptpubkey differs from upfront_shutdown_script";
                    let _ = handle.send(super::channels::warning_msg(id, text)).await;
                    handle.disconnect().await;
                }
            }
            Err(e) => {
                // BOLT 2: a bad closing signature or fee is a protocol failure: send `error`
                // and fail the channel (our commitment goes on chain).
                tracing::warn!(channel = %id, "mutual close failed: {e}");
                if let Some(handle) = self.handle_of(&channel.params.peer) {
                    let _ = handle
                        .send(super::channels::error_msg(id, &e.to_string()))
                        .await;
                }
                if channel.status != ChannelStatus::Closed {
                    let _ = self
                        .force_close(channel, &format!("mutual close failed: {e}"))
                        .await;
                }
            }
        }
    }

    /// The peer sent `error` for this channel: BOLT 1 says fail it, which means broadcasting
    /// our commitment (BOLT 5), unless the channel is already settled or settling on chain.
    pub(crate) async fn on_peer_error(&mut self, channel: &StoredChannel, text: &str) {
        let id = channel.params.channel_id;
        let batch = Batch::new().with(Op::Event(
            id,
            self.when().event(EventKind::PeerError {
                text: text.to_string(),
            }),
        ));
        let _ = self.persist(batch).await;
        let already = channel.close.closing_tx.is_some()
            || channel.close.force_closed.is_some()
            || channel.watch.as_ref().is_some_and(|w| w.spend.is_some())
            || matches!(
                channel.status,
                ChannelStatus::Closed | ChannelStatus::Abandoned
            );
        if already {
            self.reload(&id).await;
            return;
        }
        if let Err(e) = self
            .force_close(channel, &format!("peer error: {text}"))
            .await
        {
            tracing::error!(channel = %id, "force close after peer error failed: {e}");
        }
    }

    /// The peer sent `error` with the all-zero `channel_id`: BOLT 1 says "MUST fail all
    /// channels with the sending node", so every one of its channels not yet settled or
    /// given up goes the way of [`Self::on_peer_error`].
    pub(crate) async fn on_peer_error_all(&mut self, node_id: PublicKey, text: &str) {
        let ids = failed_by_all_channels_error(
            self.channels
                .values()
                .map(|c| (c.params.channel_id, c.params.peer, c.status)),
            &node_id,
        );
        tracing::warn!(peer = %node_id, channels = ids.len(), "peer error for all channels: {text}");
        for id in ids {
            if let Some(channel) = self.channels.get(&id).cloned() {
                self.on_peer_error(&channel, text).await;
            }
        }
    }

    /// After `channel_reestablish`: resend `shutdown` (and restart fee negotiation) for a
    /// close in progress.
    pub(crate) async fn resume_close(&mut self, channel: &StoredChannel) {
        let Some(secrets) = self.secrets_of(channel) else {
            return;
        };
        match close::on_reconnect(&self.ctx.secp, channel, &channel.close, &secrets) {
            Ok(step) if !step.send.is_empty() => {
                let _ = self.execute_close(channel, step).await;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(channel = %channel.params.channel_id, "resuming the close: {e}");
            }
        }
    }
}

/// The channels an `error` with the all-zero `channel_id` from `sender` fails (BOLT 1): all
/// of the sender's, except those already closed and settled or abandoned (nothing is left to
/// fail there). Channels in "closing" are included: a mutual close not yet on chain is failed
/// by broadcasting our commitment like any other.
fn failed_by_all_channels_error(
    channels: impl IntoIterator<Item = (ChannelId, PublicKey, ChannelStatus)>,
    sender: &PublicKey,
) -> Vec<ChannelId> {
    channels
        .into_iter()
        .filter(|(_, peer, status)| {
            peer == sender && !matches!(status, ChannelStatus::Closed | ChannelStatus::Abandoned)
        })
        .map(|(id, _, _)| id)
        .collect()
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn node(byte: u8) -> PublicKey {
        SecretKey::from_slice(&[byte; 32])
            .unwrap()
            .public_key(&Secp256k1::new())
    }

    /// BOLT 1: "if `channel_id` is all zero: MUST fail all channels with the sending node";
    /// another node's channels, and channels already settled, are left alone.
    #[test]
    fn an_all_channels_error_fails_every_live_channel_of_the_sender_only() {
        let (sender, other) = (node(1), node(2));
        let channels = [
            (ChannelId([1; 32]), sender, ChannelStatus::Pending),
            (ChannelId([2; 32]), sender, ChannelStatus::Ready),
            (ChannelId([3; 32]), sender, ChannelStatus::Closing),
            (ChannelId([4; 32]), sender, ChannelStatus::Closed),
            (ChannelId([5; 32]), sender, ChannelStatus::Abandoned),
            (ChannelId([6; 32]), other, ChannelStatus::Ready),
        ];
        assert_eq!(
            failed_by_all_channels_error(channels, &sender),
            vec![ChannelId([1; 32]), ChannelId([2; 32]), ChannelId([3; 32])]
        );
        assert!(failed_by_all_channels_error(channels, &node(3)).is_empty());
    }
}
