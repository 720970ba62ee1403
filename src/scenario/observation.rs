//! What the runner reads from the nodes' control APIs, as typed data: channel lists, wallet
//! balances, peer lists and channel histories, plus the names that tie node and channel ids
//! back to the scenario's words.
//!
//! The runner fills an [`Observation`] (only what a check [`Need`]s while it waits; everything
//! after each step, for the report); [`super::check`] and [`super::report`] read it without
//! any IO.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One channel as `petrel channels` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelView {
    /// The BOLT 2 `channel_id`, hex.
    pub channel_id: String,
    /// The peer's node id, hex.
    pub peer: String,
    /// `pending`, `ready`, `closing`, `closed`, `abandoned`.
    pub state: String,
    /// `initiator` or `responder`.
    #[serde(default)]
    pub role: String,
    /// `funding_satoshis`.
    #[serde(default)]
    pub capacity_sat: u64,
    /// This node's balance.
    #[serde(default)]
    pub local_balance_msat: u64,
    /// The peer's balance.
    #[serde(default)]
    pub remote_balance_msat: u64,
    /// Whether payments can use it now (ready, the peer connected and reestablished), if
    /// the node reports it.
    #[serde(default)]
    pub usable: Option<bool>,
    /// The funding confirmations this node counts.
    #[serde(default)]
    pub confirmations: u64,
    /// `HEIGHTxINDEXxOUTPUT` once confirmed.
    #[serde(default)]
    pub short_channel_id: Option<String>,
    /// How the channel is closing or closed; `None` while it is open.
    #[serde(default)]
    pub close: Option<CloseView>,
}

/// The `close` object of a channel in `petrel channels`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseView {
    /// How the funding output was spent (`cooperative`, `local_force_close`...), once the
    /// node saw the spend.
    #[serde(default)]
    pub how: Option<String>,
    /// The transaction that spent the funding output.
    #[serde(default)]
    pub closing_txid: Option<String>,
}

/// `petrel balance`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletView {
    /// Confirmed and spendable.
    #[serde(default)]
    pub confirmed_sat: u64,
    /// Unconfirmed (our own change included).
    #[serde(default)]
    pub unconfirmed_sat: u64,
    /// Locked by opens in progress.
    #[serde(default)]
    pub locked_sat: u64,
    /// Coinbases not yet 100 blocks deep.
    #[serde(default)]
    pub immature_sat: u64,
}

impl WalletView {
    /// Everything the wallet holds.
    pub fn total(&self) -> u64 {
        self.confirmed_sat
            .saturating_add(self.unconfirmed_sat)
            .saturating_add(self.locked_sat)
            .saturating_add(self.immature_sat)
    }
}

/// One entry of `petrel peers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    /// The peer's node id, hex.
    pub node_id: String,
    /// Whether a connection is up now.
    #[serde(default)]
    pub connected: bool,
}

/// One entry of `petrel history`: the kind, when, and whatever else the node recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    /// `opened`, `funding_confirmed`, `ready`, `closed`...
    pub event: String,
    /// Unix seconds.
    #[serde(default)]
    pub time: u64,
    /// The node's tip when it was recorded.
    #[serde(default)]
    pub height: Option<u32>,
    /// The other fields, as recorded.
    #[serde(flatten)]
    pub details: Map<String, Value>,
}

/// One payment we sent, as `petrel payments` lists it (the fields the runner reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    /// `succeeded`, `failed` or `pending`.
    pub status: String,
    /// Its payment hash, hex.
    #[serde(default)]
    pub payment_hash: String,
    /// What the payee gets.
    #[serde(default)]
    pub amount_msat: u64,
    /// What the route charged on top.
    #[serde(default)]
    pub fee_msat: u64,
    /// Why it failed, if it did (the node's words).
    #[serde(default)]
    pub failure: Option<Value>,
}

/// One invoice of ours (keysends received included), as `petrel invoices` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    /// Its payment hash, hex.
    #[serde(default)]
    pub payment_hash: String,
    /// `bolt11` or `keysend`.
    #[serde(default)]
    pub kind: String,
    /// `open`, `paid` or `expired`.
    pub status: String,
    /// What it asks (`None`: any amount).
    #[serde(default)]
    pub amount_msat: Option<u64>,
    /// What was received for it.
    #[serde(default)]
    pub received_msat: u64,
}

/// What a check has to read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// The node's channel list.
    Channels(String),
    /// The node's wallet balance.
    Wallet(String),
    /// The node's peer list.
    Peers(String),
    /// The payments the node sent.
    Payments(String),
    /// The node's invoices.
    Invoices(String),
    /// The history of a channel (scenario name) on a node.
    History(String, String),
    /// The regtest chain's mempool.
    Mempool,
}

/// A read that may have failed (node down, RPC error): the error is kept as text so a
/// timeout can say what it last saw.
pub type Read<T> = Result<T, String>;

/// Answers read from the nodes, keyed by scenario node name (and channel name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    /// `channels` per node.
    pub channels: BTreeMap<String, Read<Vec<ChannelView>>>,
    /// `balance` per node.
    pub wallets: BTreeMap<String, Read<WalletView>>,
    /// `peers` per node.
    pub peers: BTreeMap<String, Read<Vec<PeerView>>>,
    /// `history` per (node name, channel id).
    pub histories: BTreeMap<(String, String), Read<Vec<EventView>>>,
    /// `payments` per node.
    pub payments: BTreeMap<String, Read<Vec<PaymentView>>>,
    /// `invoices` per node.
    pub invoices: BTreeMap<String, Read<Vec<InvoiceView>>>,
    /// The txids in the regtest chain's mempool, if read.
    pub mempool: Option<Read<Vec<String>>>,
}

/// The ids behind the scenario's names, learned as the run goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    /// Node name to node id (hex).
    pub node_ids: BTreeMap<String, String>,
    /// Channel name to `channel_id` (hex), once its `open` answered.
    pub channel_ids: BTreeMap<String, String>,
    /// Channel name to its (initiator, responder).
    pub channel_ends: BTreeMap<String, (String, String)>,
    /// What each node's `fund` steps gave it, in sat.
    pub funded_sat: BTreeMap<String, u64>,
    /// Invoice name to its BOLT 11 text, once its `invoice` step answered.
    pub invoices: BTreeMap<String, String>,
}

impl Names {
    /// The scenario name of a node id, if it is one of ours.
    pub fn node_name(&self, node_id: &str) -> Option<&str> {
        self.node_ids
            .iter()
            .find(|(_, id)| id.as_str() == node_id)
            .map(|(name, _)| name.as_str())
    }

    /// The scenario name of a channel id, if a step opened it.
    pub fn channel_name(&self, channel_id: &str) -> Option<&str> {
        self.channel_ids
            .iter()
            .find(|(_, id)| id.as_str() == channel_id)
            .map(|(name, _)| name.as_str())
    }
}
