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
    pub(super) usable: Option<Spanned<bool>>,
    pub(super) name: Option<Spanned<String>>,
    pub(super) description: Option<Spanned<String>>,
    pub(super) invoice: Option<Spanned<String>>,
    /// A number, or `"any"` for an invoice: read as any TOML value so a wrong one gets a
    /// message of ours.
    pub(super) amount_msat: Option<Spanned<toml::Value>>,
    pub(super) count: Option<Spanned<u64>>,
    pub(super) expect: Option<Spanned<String>>,
    pub(super) payments_succeeded: Option<Spanned<u64>>,
    pub(super) payments_failed: Option<Spanned<u64>>,
    pub(super) payments_pending: Option<Spanned<u64>>,
    pub(super) invoices_open: Option<Spanned<u64>>,
    pub(super) invoices_paid: Option<Spanned<u64>>,
    pub(super) invoices_expired: Option<Spanned<u64>>,
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
            ("usable", s(self.usable.as_ref())),
            ("name", s(self.name.as_ref())),
            ("description", s(self.description.as_ref())),
            ("invoice", s(self.invoice.as_ref())),
            ("amount-msat", s(self.amount_msat.as_ref())),
            ("count", s(self.count.as_ref())),
            ("expect", s(self.expect.as_ref())),
            ("payments-succeeded", s(self.payments_succeeded.as_ref())),
            ("payments-failed", s(self.payments_failed.as_ref())),
            ("payments-pending", s(self.payments_pending.as_ref())),
            ("invoices-open", s(self.invoices_open.as_ref())),
            ("invoices-paid", s(self.invoices_paid.as_ref())),
            ("invoices-expired", s(self.invoices_expired.as_ref())),
        ];
        all.into_iter()
            .filter_map(|(k, span)| span.map(|s| (k, s)))
            .collect()
    }
}

/// The keys each step takes besides `do` and `note`.
pub(super) fn keys_of(kind: &str) -> &'static [&'static str] {
    /// The check keys of `wait` and `assert`, then `$extra`.
    macro_rules! check_keys {
        ($($extra:literal),*) => {
            &[
                "channel",
                "node",
                "peer",
                "state",
                "event",
                "how",
                "usable",
                "balance-msat",
                "num-channels",
                "wallet-sat",
                "spent-sat",
                "tolerance-sat",
                "connected",
                "mempool-txs",
                "payments-succeeded",
                "payments-failed",
                "payments-pending",
                "invoices-open",
                "invoices-paid",
                "invoices-expired",
                $($extra),*
            ]
        };
    }
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
        "wait" => check_keys!("timeout-secs"),
        "assert" => check_keys!(),
        "restart" => &["node", "kill"],
        "close" => &["channel", "by", "force", "feerate"],
        "invoice" => &["node", "name", "amount-msat", "description"],
        "pay" => &[
            "from",
            "invoice",
            "to",
            "amount-msat",
            "count",
            "expect",
            "timeout-secs",
        ],
        _ => &[],
    }
}
