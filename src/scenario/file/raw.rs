//! The file as serde reads it (every key any step may take, each with its byte span), and
//! which keys each step takes: the first of the two passes of [`super::parse`].

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

/// The file as serde reads it: nothing checked but types and key names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) name: Option<Spanned<String>>,
    pub(super) description: Option<String>,
    pub(super) nodes: Spanned<BTreeMap<Spanned<String>, RawNode>>,
    #[serde(default)]
    pub(super) step: Vec<RawStep>,
}

/// `[nodes.NAME]`: the settings a scenario may choose for a node.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawNode {
    pub(super) minimum_depth: Option<u32>,
    pub(super) max_pending_per_peer: Option<u64>,
    pub(super) max_pending_total: Option<u64>,
    pub(super) reservation_timeout_secs: Option<u64>,
    pub(super) chain_poll_ms: Option<u64>,
}

/// One `[[step]]` table: every key any step takes. Which ones apply depends on `do`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawStep {
    #[serde(rename = "do")]
    pub(super) kind: Spanned<String>,
    pub(super) note: Option<Spanned<String>>,
    pub(super) node: Option<Spanned<String>>,
    pub(super) nodes: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) from: Option<Spanned<String>>,
    pub(super) to: Option<Spanned<String>>,
    pub(super) peer: Option<Spanned<String>>,
    pub(super) by: Option<Spanned<String>>,
    pub(super) channel: Option<Spanned<String>>,
    pub(super) channels: Option<Spanned<Vec<Spanned<RawOpen>>>>,
    pub(super) sat: Option<Spanned<u64>>,
    pub(super) push_msat: Option<Spanned<u64>>,
    pub(super) min_depth: Option<Spanned<u32>>,
    pub(super) coins: Option<Spanned<u32>>,
    pub(super) blocks: Option<Spanned<u32>>,
    pub(super) state: Option<Spanned<String>>,
    pub(super) event: Option<Spanned<String>>,
    pub(super) how: Option<Spanned<String>>,
    pub(super) balance_msat: Option<Spanned<BTreeMap<Spanned<String>, u64>>>,
    pub(super) num_channels: Option<Spanned<u64>>,
    pub(super) wallet_sat: Option<Spanned<u64>>,
    pub(super) spent_sat: Option<Spanned<u64>>,
    pub(super) tolerance_sat: Option<Spanned<u64>>,
    pub(super) connected: Option<Spanned<bool>>,
    pub(super) mempool_txs: Option<Spanned<u64>>,
    pub(super) timeout_secs: Option<Spanned<u64>>,
    pub(super) kill: Option<Spanned<bool>>,
    pub(super) force: Option<Spanned<bool>>,
    pub(super) feerate: Option<Spanned<u32>>,
}

/// One entry of an `open` step's `channels = [...]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RawOpen {
    pub(super) channel: Option<Spanned<String>>,
    pub(super) from: Option<Spanned<String>>,
    pub(super) to: Option<Spanned<String>>,
    pub(super) sat: Option<Spanned<u64>>,
    pub(super) push_msat: Option<Spanned<u64>>,
    pub(super) min_depth: Option<Spanned<u32>>,
}

impl RawStep {
    /// The optional keys present, with their spans, in declaration order of the struct.
    pub(super) fn present(&self) -> Vec<(&'static str, Range<usize>)> {
        fn s<T>(v: Option<&Spanned<T>>) -> Option<Range<usize>> {
            v.map(Spanned::span)
        }
        let all = [
            ("node", s(self.node.as_ref())),
            ("nodes", s(self.nodes.as_ref())),
            ("from", s(self.from.as_ref())),
            ("to", s(self.to.as_ref())),
            ("peer", s(self.peer.as_ref())),
            ("by", s(self.by.as_ref())),
            ("channel", s(self.channel.as_ref())),
            ("channels", s(self.channels.as_ref())),
            ("sat", s(self.sat.as_ref())),
            ("push-msat", s(self.push_msat.as_ref())),
            ("min-depth", s(self.min_depth.as_ref())),
            ("coins", s(self.coins.as_ref())),
            ("blocks", s(self.blocks.as_ref())),
            ("state", s(self.state.as_ref())),
            ("event", s(self.event.as_ref())),
            ("how", s(self.how.as_ref())),
            ("balance-msat", s(self.balance_msat.as_ref())),
            ("num-channels", s(self.num_channels.as_ref())),
            ("wallet-sat", s(self.wallet_sat.as_ref())),
            ("spent-sat", s(self.spent_sat.as_ref())),
            ("tolerance-sat", s(self.tolerance_sat.as_ref())),
            ("connected", s(self.connected.as_ref())),
            ("mempool-txs", s(self.mempool_txs.as_ref())),
            ("timeout-secs", s(self.timeout_secs.as_ref())),
            ("kill", s(self.kill.as_ref())),
            ("force", s(self.force.as_ref())),
            ("feerate", s(self.feerate.as_ref())),
        ];
        all.into_iter()
            .filter_map(|(k, span)| span.map(|s| (k, s)))
            .collect()
    }
}

/// The keys each step takes besides `do` and `note`.
pub(super) fn keys_of(kind: &str) -> &'static [&'static str] {
    const CHECKS: &[&str] = &[
        "channel",
        "node",
        "peer",
        "state",
        "event",
        "how",
        "balance-msat",
        "num-channels",
        "wallet-sat",
        "spent-sat",
        "tolerance-sat",
        "connected",
        "mempool-txs",
    ];
    const WAIT: &[&str] = &[
        "channel",
        "node",
        "peer",
        "state",
        "event",
        "how",
        "balance-msat",
        "num-channels",
        "wallet-sat",
        "spent-sat",
        "tolerance-sat",
        "connected",
        "mempool-txs",
        "timeout-secs",
    ];
    match kind {
        "fund" => &["node", "nodes", "sat", "coins"],
        "connect" => &["from", "to"],
        "disconnect" => &["node", "peer"],
        "open" => &[
            "channel",
            "from",
            "to",
            "sat",
            "push-msat",
            "min-depth",
            "channels",
        ],
        "mine" => &["blocks"],
        "wait" => WAIT,
        "assert" => CHECKS,
        "restart" => &["node", "kill"],
        "close" => &["channel", "by", "force", "feerate"],
        _ => &[],
    }
}
