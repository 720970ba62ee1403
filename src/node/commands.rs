//! The control API's verbs, answered by the node actor. Long-running ones (`open`,
//! `connect`) are handed to background tasks so the actor never waits on a peer.
#![allow(clippy::disallowed_methods)] // actor code: spawns tasks

use std::net::SocketAddr;

use bitcoin::secp256k1::PublicKey;
use bitcoin::Amount;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::actor::{NodeActor, NodeCmd};
use crate::chain::ChainSource;
use crate::channel::{ChannelStatus, Command, CommandOutput, NewHtlc, Party, StoredChannel};
use crate::rpc::{opt_param, param, BoxFuture, RpcError, RpcHandler};
use crate::tx::PaymentHash;
use crate::units::{FeeratePerKw, Msat};
use crate::wire::ChannelId;

type Reply = oneshot::Sender<Result<Value, RpcError>>;

/// The [`RpcHandler`] the control API server calls: it forwards each request to the node
/// actor's mailbox.
pub(crate) struct RpcAdapter {
    pub(crate) cmds: tokio::sync::mpsc::Sender<NodeCmd>,
}

impl RpcHandler for RpcAdapter {
    fn handle(&self, method: String, params: Value) -> BoxFuture<'_, Result<Value, RpcError>> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            self.cmds
                .send(NodeCmd::Rpc {
                    method,
                    params,
                    reply,
                })
                .await
                .map_err(|_| RpcError::Failed("the node is shutting down".into()))?;
            answer
                .await
                .map_err(|_| RpcError::Failed("the node is shutting down".into()))?
        })
    }
}

pub(super) fn parse_node_id(text: &str) -> Result<PublicKey, RpcError> {
    text.parse()
        .map_err(|e| RpcError::InvalidParams(format!("node id `{text}`: {e}")))
}

pub(super) fn failed(e: impl std::fmt::Display) -> RpcError {
    RpcError::Failed(e.to_string())
}

impl<S: ChainSource + Clone> NodeActor<S> {
    pub(crate) async fn on_rpc(&mut self, method: String, params: Value, reply: Reply) {
        let Some(reply) = self.on_payment_rpc(&method, &params, reply).await else {
            return;
        };
        let result = match method.as_str() {
            "getinfo" => Ok(self.getinfo().await),
            "newaddress" => match self.wallet().new_address().await {
                Ok(address) => Ok(json!({ "address": address.to_string() })),
                Err(e) => Err(failed(e)),
            },
            "balance" => match self.wallet().balance().await {
                Ok(b) => Ok(json!({
                    "confirmed_sat": b.confirmed.to_sat(),
                    "unconfirmed_sat": b.unconfirmed.to_sat(),
                    "locked_sat": b.locked.to_sat(),
                    "immature_sat": b.immature.to_sat(),
                })),
                Err(e) => Err(failed(e)),
            },
            "connect" => return self.connect(&params, reply),
            "peers" => Ok(self.peers_json()),
            "disconnect" => self.disconnect(&params).await,
            "open" => return self.open(&params, reply),
            "channels" => Ok(self.channels_json()),
            "abandon" => self.abandon(&params).await,
            "updatefee" => self.update_fee(&params).await,
            "addhtlc" => self.add_htlc(&params).await,
            "close" => self.rpc_close(&params).await,
            "history" => self.history(&params).await,
            "stop" => {
                self.stop.cancel();
                Ok(json!({ "stopping": true }))
            }
            other => Err(RpcError::UnknownMethod(other.to_string())),
        };
        let _ = reply.send(result);
    }

    async fn getinfo(&self) -> Value {
        let height = self
            .ctx
            .notifier
            .best_block()
            .await
            .map_or(self.tip, |b| b.height.0);
        json!({
            "node_id": self.node_id.to_string(),
            "listen": self.listen.to_string(),
            "network": self.config.network.to_string(),
            "block_height": height,
            "num_peers": self.peers.len(),
            "num_channels": self.channels.values().filter(|c| c.status() != ChannelStatus::Abandoned).count(),
        })
    }

    /// `connect NODEID@HOST:PORT`: answers once the connection is up (or failed).
    fn connect(&mut self, params: &Value, reply: Reply) {
        let target: String = match param(params, "target") {
            Ok(t) => t,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let parsed = target
            .split_once('@')
            .ok_or_else(|| RpcError::InvalidParams("expected NODEID@HOST:PORT".into()))
            .and_then(|(id, addr)| {
                let node_id = parse_node_id(id)?;
                let address: SocketAddr = addr
                    .parse()
                    .map_err(|e| RpcError::InvalidParams(format!("address `{addr}`: {e}")))?;
                Ok((node_id, address))
            });
        match parsed {
            Ok((node_id, address)) if node_id == self.node_id => {
                let _ = reply.send(Err(RpcError::InvalidParams(format!(
                    "{node_id}@{address} is this node"
                ))));
            }
            Ok((node_id, _)) if self.peers.contains_key(&node_id) => {
                let _ = reply.send(Ok(
                    json!({ "node_id": node_id.to_string(), "already_connected": true }),
                ));
            }
            Ok((node_id, address)) => {
                self.dial(node_id, address, std::time::Duration::ZERO, Some(reply));
            }
            Err(e) => {
                let _ = reply.send(Err(e));
            }
        }
    }

    /// `disconnect NODE_ID`: drops the connection to a connected peer. Its channels stay as
    /// they are (BOLT 2 reestablishes them on the next connection). The entry goes before the
    /// peer actor reports the drop, so this node does not redial on its own; the peer may
    /// dial back, and a restart redials peers we share live channels with.
    async fn disconnect(&mut self, params: &Value) -> Result<Value, RpcError> {
        let node_id = parse_node_id(&param::<String>(params, "node_id")?)?;
        let Some(entry) = self.peers.remove(&node_id) else {
            return Err(RpcError::Failed(format!("not connected to {node_id}")));
        };
        entry.handle.disconnect().await;
        tracing::info!(peer = %node_id, "peer disconnected: requested over the control API");
        Ok(json!({ "node_id": node_id.to_string(), "disconnected": true }))
    }

    fn peers_json(&self) -> Value {
        let mut list: Vec<Value> = self
            .peers
            .iter()
            .map(|(id, p)| {
                json!({
                    "node_id": id.to_string(),
                    "address": p.address.to_string(),
                    "connected": true,
                })
            })
            .collect();
        for (id, address) in &self.redial {
            if !self.peers.contains_key(id) {
                list.push(json!({
                    "node_id": id.to_string(),
                    "address": address.to_string(),
                    "connected": false,
                }));
            }
        }
        Value::Array(list)
    }

    /// `open NODEID AMOUNT_SAT [push_msat]`: answers once the funding transaction is stored
    /// and broadcast (or the peer refused).
    fn open(&mut self, params: &Value, reply: Reply) {
        let request = (|| {
            let node_id = parse_node_id(&param::<String>(params, "node_id")?)?;
            let amount: u64 = param(params, "amount_sat")?;
            let push: u64 = opt_param(params, "push_msat")?.unwrap_or(0);
            let min_depth: Option<u32> = opt_param(params, "min_depth")?;
            Ok::<_, RpcError>((node_id, Amount::from_sat(amount), Msat(push), min_depth))
        })();
        let (node_id, amount, push, min_depth) = match request {
            Ok(r) => r,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let Some(handle) = self.handle_of(&node_id) else {
            let _ = reply.send(Err(RpcError::Failed(format!(
                "not connected to {node_id}; connect first"
            ))));
            return;
        };
        self.tasks.spawn(async move {
            let result = handle.open(amount, push, min_depth).await;
            let _ = reply.send(
                result
                    .map(|opened| {
                        json!({
                            "channel_id": opened.channel_id.to_string(),
                            "funding_txid": opened.funding_txid.to_string(),
                            "funding_output_index": opened.funding_output_index,
                        })
                    })
                    .map_err(failed),
            );
        });
    }

    fn channel_json(&self, c: &StoredChannel) -> Value {
        let confirmations = c
            .funding
            .confirmed
            .map_or(0, |conf| self.tip.saturating_sub(conf.height) + 1);
        let (ours, theirs) = c.commitment.balances();
        let usable = self
            .channels
            .get(&c.params.channel_id)
            .is_some_and(|core| c.status == ChannelStatus::Ready && core.is_linked());
        json!({
            "channel_id": c.params.channel_id.to_string(),
            "peer": c.params.peer.to_string(),
            "state": c.status.as_str(),
            "usable": usable,
            "role": c.params.role,
            "capacity_sat": c.params.funding_amount.to_sat(),
            "local_balance_msat": ours.0,
            "remote_balance_msat": theirs.0,
            "feerate_sat_per_kw": c.commitment.feerate().0,
            "commitment_number": {
                "local": c.commitment.local.number,
                "remote": c.commitment.remote.current.number,
            },
            "htlcs": htlcs_json(c),
            "funding_outpoint": c.params.funding_outpoint.to_string(),
            "confirmations": confirmations,
            "short_channel_id": c.funding.confirmed.map(|conf| conf.short_channel_id.to_string()),
            "close": close_json(c),
        })
    }

    fn channels_json(&self) -> Value {
        let mut list: Vec<&StoredChannel> = self
            .channels
            .values()
            .map(crate::channel::Channel::record)
            .collect();
        list.sort_by_key(|c| (c.funding.opened_at_height, c.params.channel_id));
        Value::Array(list.into_iter().map(|c| self.channel_json(c)).collect())
    }

    fn channel_id_param(params: &Value) -> Result<ChannelId, RpcError> {
        let text: String = param(params, "channel_id")?;
        text.parse()
            .map_err(|e| RpcError::InvalidParams(format!("channel id `{text}`: {e}")))
    }

    fn channel_param(&self, params: &Value) -> Result<StoredChannel, RpcError> {
        let id = Self::channel_id_param(params)?;
        self.channels
            .get(&id)
            .map(|c| c.record().clone())
            .ok_or_else(|| RpcError::Failed(format!("no channel {id}")))
    }

    /// `abandon CHANNEL_ID`: gives up a pending channel whose funding will never confirm.
    async fn abandon(&mut self, params: &Value) -> Result<Value, RpcError> {
        let channel = self.channel_param(params)?;
        if channel.status != ChannelStatus::Pending || channel.funding.confirmed.is_some() {
            return Err(RpcError::Failed(format!(
                "channel {} is {} with confirmed funding: only unconfirmed pending channels can be abandoned",
                channel.params.channel_id,
                channel.status.as_str()
            )));
        }
        let id = channel.params.channel_id;
        let now = self.when();
        if let Some(core) = self.channels.get_mut(&id) {
            core.handle_abandon("abandoned by the user", now);
        }
        self.run_actions(id).await;
        Ok(json!({ "channel_id": id.to_string(), "state": "abandoned" }))
    }

    /// `updatefee CHANNEL_ID [FEERATE_PER_KW]`: as funder, moves the commitment feerate to the
    /// given one, or to the chain's estimate (`update_fee`, then the commitment dance).
    async fn update_fee(&mut self, params: &Value) -> Result<Value, RpcError> {
        let id = Self::channel_id_param(params)?;
        let asked: Option<u32> = opt_param(params, "feerate_per_kw")?;
        let feerate = match asked {
            Some(rate) => FeeratePerKw(rate),
            None => self.closing_feerate(None).await,
        };
        self.command(id, Command::UpdateFee(feerate)).await?;
        Ok(json!({ "channel_id": id.to_string(), "feerate_sat_per_kw": feerate.0 }))
    }

    /// `addhtlc CHANNEL_ID AMOUNT_MSAT PAYMENT_HASH CLTV_EXPIRY [ONION_HEX]`: offers a raw
    /// HTLC to the peer (a testing verb until payments exist: without a real onion the peer
    /// fails it back).
    async fn add_htlc(&mut self, params: &Value) -> Result<Value, RpcError> {
        let id = Self::channel_id_param(params)?;
        let amount: u64 = param(params, "amount_msat")?;
        let hash_hex: String = param(params, "payment_hash")?;
        let expiry: u32 = param(params, "cltv_expiry")?;
        let onion_hex: Option<String> = opt_param(params, "onion")?;
        let hash: [u8; 32] = bitcoin::hex::FromHex::from_hex(&hash_hex)
            .map_err(|e| RpcError::InvalidParams(format!("payment hash: {e}")))?;
        let mut onion = Box::new([0u8; crate::channel::ledger::ONION_LEN]);
        if let Some(hex) = onion_hex {
            let bytes: Vec<u8> = bitcoin::hex::FromHex::from_hex(&hex)
                .map_err(|e| RpcError::InvalidParams(format!("onion: {e}")))?;
            if bytes.len() != onion.len() {
                return Err(RpcError::InvalidParams(format!(
                    "onion must be {} bytes, got {}",
                    onion.len(),
                    bytes.len()
                )));
            }
            onion.copy_from_slice(&bytes);
        } else {
            // Version 0, then bytes no node can decrypt: the peer fails it back as malformed.
            bitcoin::secp256k1::rand::RngCore::fill_bytes(
                &mut bitcoin::secp256k1::rand::thread_rng(),
                &mut onion[1..],
            );
        }
        let htlc = NewHtlc {
            amount: Msat(amount),
            payment_hash: PaymentHash(hash),
            cltv_expiry: expiry,
            onion,
            path_key: None,
        };
        match self.command(id, Command::AddHtlc(htlc)).await? {
            CommandOutput::HtlcAdded(htlc_id) => {
                Ok(json!({ "channel_id": id.to_string(), "htlc_id": htlc_id }))
            }
            CommandOutput::Done => Ok(json!({ "channel_id": id.to_string() })),
        }
    }

    /// Runs a command on a channel's core and its actions.
    async fn command(&mut self, id: ChannelId, cmd: Command) -> Result<CommandOutput, RpcError> {
        let now = self.when();
        let result = match self.channels.get_mut(&id) {
            Some(core) => core.handle_command(cmd, now),
            None => return Err(RpcError::Failed(format!("no channel {id}"))),
        };
        self.run_actions(id).await;
        result.map_err(failed)
    }

    /// `history CHANNEL_ID`: the channel's event log.
    async fn history(&self, params: &Value) -> Result<Value, RpcError> {
        let channel = self.channel_param(params)?;
        let store = self.store();
        let id = channel.params.channel_id;
        let events = tokio::task::spawn_blocking(move || store.events(&id))
            .await
            .map_err(failed)?
            .map_err(failed)?;
        serde_json::to_value(events).map_err(failed)
    }
}

/// The HTLCs of a channel's latest state (`petrel channels`), both directions.
fn htlcs_json(c: &StoredChannel) -> Value {
    let list: Vec<Value> = c
        .commitment
        .ledger
        .htlcs
        .values()
        .map(|h| {
            let committed = c.commitment.is_committed(h);
            let state = match (&h.removal, committed) {
                (Some(r), _) => match r.resolution {
                    crate::channel::Resolution::Fulfilled { .. } => "fulfilling",
                    _ => "failing",
                },
                (None, true) => "committed",
                (None, false) => "adding",
            };
            json!({
                "id": h.key.id,
                "direction": match h.key.offerer {
                    Party::Local => "offered",
                    Party::Remote => "received",
                },
                "amount_msat": h.amount.0,
                "payment_hash": bitcoin::hex::DisplayHex::to_lower_hex_string(&h.payment_hash.0[..]),
                "expiry": h.cltv_expiry,
                "state": state,
            })
        })
        .collect();
    Value::Array(list)
}

/// How a closing or closed channel ended and where its funds went.
fn close_json(c: &StoredChannel) -> Value {
    let watch = c.watch.as_ref();
    let spend = watch.and_then(|w| w.spend.as_ref());
    if spend.is_none() && c.close.local_script.is_none() && c.close.remote_script.is_none() {
        return Value::Null;
    }
    let sweeps: Vec<Value> = watch
        .map(|w| {
            w.sweeps
                .iter()
                .filter(|s| s.replaced_by.is_none())
                .map(|s| {
                    json!({
                        "kind": s.kind.as_str(),
                        "txid": s.txid().to_string(),
                        "amount_sat": (s.amount - s.fee).to_sat(),
                        "fee_sat": s.fee.to_sat(),
                        "confirmed_at": s.confirmed_at,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "how": spend.map(|s| s.kind.as_str()),
        "closing_txid": spend.map(|s| s.txid.to_string()),
        "closing_height": spend.and_then(|s| s.confirmed.map(|(h, _)| h)),
        "sweeps": sweeps,
        "attention": watch.and_then(|w| w.attention.clone()),
    })
}
