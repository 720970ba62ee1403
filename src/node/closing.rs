//! The node's part in closing channels: the `close` verb (mutual or forced) and the peer's
//! `error` for all channels. The protocol (`shutdown`, `closing_signed`, failing a channel
//! on the peer's `error`) is the channel core's.
#![allow(clippy::disallowed_methods)] // actor code

use bitcoin::secp256k1::PublicKey;
use bitcoin::ScriptBuf;
use serde_json::{json, Value};

use super::actor::NodeActor;
use crate::chain::ChainSource;
use crate::channel::{close, ChannelStatus};
use crate::rpc::{opt_param, param, RpcError};
use crate::units::FeeratePerKw;
use crate::wire::ChannelId;

impl<S: ChainSource + Clone> NodeActor<S> {
    /// A script of our wallet for a closing output.
    pub(crate) async fn closing_script(&self) -> Result<ScriptBuf, String> {
        self.wallet()
            .new_address()
            .await
            .map(|a| a.script_pubkey())
            .map_err(|e| e.to_string())
    }

    /// The closing feerate: the user's, or the backend's estimate, or 2,500 sat/kw.
    pub(crate) async fn closing_feerate(&self, asked: Option<u32>) -> FeeratePerKw {
        if let Some(rate) = asked {
            return FeeratePerKw(rate);
        }
        match self.chain().estimate_fee(6).await {
            Ok(Some(rate)) => FeeratePerKw::from_fee_rate(rate),
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
        let Some(core) = self.channels.get(&id) else {
            return Err(RpcError::Failed(format!("no channel {id}")));
        };
        if force {
            return self
                .force_close(id, "requested by the user")
                .await
                .map_err(RpcError::Failed)
                .map(|txid| json!({ "channel_id": id.to_string(), "commitment_txid": txid, "state": "closing" }));
        }
        if self.handle_of(&core.record().params.peer).is_none() {
            return Err(RpcError::Failed(
                "the peer is not connected: a mutual close needs it (use --force to close alone)"
                    .into(),
            ));
        }
        close::can_initiate(core.record(), &core.record().close)
            .map_err(|e| RpcError::Failed(e.to_string()))?;
        let script = self.closing_script().await.map_err(RpcError::Failed)?;
        let feerate = self.closing_feerate(feerate).await;
        let now = self.when();
        let result = match self.channels.get_mut(&id) {
            Some(core) => core.handle_close(&script, feerate, now),
            None => return Err(RpcError::Failed(format!("no channel {id}"))),
        };
        self.run_actions(id).await;
        result.map_err(|e| RpcError::Failed(e.to_string()))?;
        Ok(json!({ "channel_id": id.to_string(), "state": "closing" }))
    }

    /// Broadcasts our latest commitment (BOLT 5 "Failing a Channel"); returns its txid.
    pub(crate) async fn force_close(
        &mut self,
        id: ChannelId,
        reason: &str,
    ) -> Result<String, String> {
        let now = self.when();
        let result = match self.channels.get_mut(&id) {
            Some(core) => core.handle_force_close(reason, now),
            None => return Err(format!("no channel {id}")),
        };
        let txid = result.map_err(|e| e.to_string())?;
        tracing::warn!(channel = %id, %txid, "force closing: {reason}");
        self.run_actions(id).await;
        Ok(txid.to_string())
    }

    /// The peer sent `error` with the all-zero `channel_id`: BOLT 1 says "MUST fail all
    /// channels with the sending node": each of its channels not yet settled or given up
    /// takes the `error` as its own.
    pub(crate) async fn on_peer_error_all(&mut self, node_id: PublicKey, text: &str) {
        let ids = failed_by_all_channels_error(
            self.channels.values().map(|c| {
                let rec = c.record();
                (rec.params.channel_id, rec.params.peer, rec.status)
            }),
            &node_id,
        );
        tracing::warn!(peer = %node_id, channels = ids.len(), "peer error for all channels: {text}");
        let now = self.when();
        for id in ids {
            if let Some(core) = self.channels.get_mut(&id) {
                let error = crate::wire::Error {
                    channel_id: id,
                    data: text.as_bytes().to_vec(),
                    tlvs: crate::wire::Extension::default(),
                };
                let _ = core.handle_message(crate::wire::Message::Error(error), now);
            }
            self.run_actions(id).await;
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
