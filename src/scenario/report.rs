//! The run's record: what each step did, how long it took, the network after it, and the
//! channel events it caused. Written as `report.json` (this type, serialized) and rendered
//! as `report.html` by [`super::html`]. Built by the runner; nothing here does IO.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::observation::{Names, Observation};
use super::step::group;

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every step succeeded.
    Passed,
    /// A step failed (or the network could not start); later steps were skipped.
    Failed,
    /// Ctrl-C (or SIGTERM/SIGHUP) stopped the run.
    Interrupted,
}

impl Outcome {
    /// The word shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// How one step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// It did what it says.
    Ok,
    /// It failed; the run stopped here.
    Failed,
    /// The run was interrupted during it.
    Interrupted,
    /// An earlier step failed, so it never ran.
    Skipped,
}

/// Everything about one run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The scenario's name.
    pub scenario: String,
    /// Its one-line description.
    pub description: String,
    /// The file it came from.
    pub file: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it did not pass.
    pub failure: Option<Failure>,
    /// Unix time of the start, milliseconds.
    pub started_unix_ms: u64,
    /// Wall time of the whole run, milliseconds.
    pub duration_ms: u64,
    /// The run directory (reports, logs, and with `--keep` the datadirs).
    pub run_dir: String,
    /// Whether the datadirs were kept.
    pub datadirs_kept: bool,
    /// The regtest chain's datadir and log.
    pub chain: ChainInfo,
    /// The nodes.
    pub nodes: Vec<NodeInfo>,
    /// Every process the runner started, restarts included, so anyone can check that none
    /// is left.
    pub processes: Vec<ProcessRecord>,
    /// The steps, index 0 being the start of the network.
    pub steps: Vec<StepRecord>,
}

/// Where the chain lived.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainInfo {
    /// Its datadir.
    pub datadir: String,
    /// Its log file.
    pub log: String,
    /// Its JSON-RPC URL.
    pub url: String,
}

/// One node of the run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// Its scenario name.
    pub name: String,
    /// Its node id (hex), once it started.
    pub node_id: Option<String>,
    /// Its Lightning listener.
    pub listen: Option<String>,
    /// Its datadir.
    pub datadir: String,
    /// Its log file.
    pub log: String,
}

/// A process the runner started.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// `regtest` or the node's name.
    pub name: String,
    /// Its process id.
    pub pid: u32,
    /// The step that started it (0: the start of the network).
    pub step: usize,
}

/// Why a run did not pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// The failed step's index.
    pub step: usize,
    /// Its line in the file (none for the start of the network).
    pub line: Option<usize>,
    /// Its title.
    pub title: String,
    /// What went wrong.
    pub message: String,
    /// The last lines of the logs of the nodes involved.
    pub logs: Vec<LogExcerpt>,
}

/// The tail of one process's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExcerpt {
    /// `regtest` or the node's name.
    pub name: String,
    /// The log file.
    pub path: String,
    /// Its last lines.
    pub lines: Vec<String>,
}

/// One step of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// 0 for the start of the network, then 1, 2, ... in file order.
    pub index: usize,
    /// The step's line in the file.
    pub line: Option<usize>,
    /// `fund`, `open`, ... (`start` for index 0).
    pub kind: String,
    /// The one-line title.
    pub title: String,
    /// The file's `note`, if any.
    pub note: Option<String>,
    /// How it ended.
    pub status: StepStatus,
    /// How long it took, milliseconds.
    pub duration_ms: u64,
    /// What it did, in a line (`alice got 1 coin, 5_000_000_000 sat`).
    pub detail: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// Channel events that appeared during the step.
    pub events: Vec<TimelineEvent>,
    /// The network right after it.
    pub snapshot: Option<Snapshot>,
    /// What a `pay` step's payments did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payments: Option<PaymentStats>,
}

/// What a `pay` step did: its payments' outcomes, what they moved, how fast, and the
/// balances of its two nodes' channels right after it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentStats {
    /// The paying node.
    pub from: String,
    /// The node paid.
    pub to: String,
    /// Payments made.
    pub count: u64,
    /// How many succeeded.
    pub succeeded: u64,
    /// How many failed.
    pub failed: u64,
    /// How many were still pending when their time was up.
    pub pending: u64,
    /// What the succeeded payments delivered, msat.
    pub amount_msat: u64,
    /// What their routes charged on top, msat.
    pub fee_msat: u64,
    /// Wall time from the first call to the last answer, milliseconds.
    pub elapsed_ms: u64,
    /// Every channel with `from` or `to` at an end, after the step.
    pub balances: Vec<BalanceAfter>,
}

/// One channel's balances after a `pay` step.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceAfter {
    /// The channel's scenario name.
    pub channel: String,
    /// The initiator.
    pub from: String,
    /// The responder.
    pub to: String,
    /// The initiator's balance.
    pub from_msat: u64,
    /// The responder's balance.
    pub to_msat: u64,
}

impl PaymentStats {
    /// Payments per second in tenths (`779` is 77.9/s): an integer keeps the report `Eq`.
    pub fn rate_tenths(&self) -> u64 {
        self.count.saturating_mul(10_000) / self.elapsed_ms.max(1)
    }

    /// `77.9/s`.
    pub fn rate(&self) -> String {
        let t = self.rate_tenths();
        format!("{}.{}/s", t / 10, t % 10)
    }

    /// Takes the balances of the channels `from` or `to` is an end of from `snapshot`.
    pub fn fill_balances(&mut self, snapshot: &Snapshot) {
        let touches = |c: &&ChannelSnapshot| {
            [&c.from, &c.to]
                .iter()
                .any(|n| **n == self.from || **n == self.to)
        };
        self.balances = snapshot
            .channels
            .iter()
            .filter(touches)
            .map(|c| BalanceAfter {
                channel: c.name.clone(),
                from: c.from.clone(),
                to: c.to.clone(),
                from_msat: c.from_msat,
                to_msat: c.to_msat,
            })
            .collect();
    }

    /// One line: outcomes, amount, pace, balances after.
    pub fn summary(&self) -> String {
        let mut line = format!("{} succeeded, {} failed", self.succeeded, self.failed);
        if self.pending > 0 {
            let _ = write!(line, ", {} pending", self.pending);
        }
        let _ = write!(
            line,
            " of {}; {} msat (fees {}) in {}, {}",
            self.count,
            group(self.amount_msat),
            group(self.fee_msat),
            super::html::seconds(self.elapsed_ms),
            self.rate()
        );
        for b in &self.balances {
            let _ = write!(
                line,
                "; {} {} {} / {} {} msat",
                b.channel,
                b.from,
                group(b.from_msat),
                b.to,
                group(b.to_msat)
            );
        }
        line
    }
}

/// One channel event, as a node recorded it, placed in the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// The step during which it appeared.
    pub step: usize,
    /// The node that recorded it.
    pub node: String,
    /// The channel's scenario name.
    pub channel: String,
    /// Its kind (`opened`, `ready`, ...).
    pub event: String,
    /// Unix seconds, the node's clock.
    pub time: u64,
    /// The node's tip height then.
    pub height: Option<u32>,
    /// The event's other fields.
    pub details: Map<String, Value>,
}

/// The network at one moment: what the picture draws.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The chain's height.
    pub height: Option<u64>,
    /// Every node, in declaration order.
    pub nodes: Vec<NodeState>,
    /// Every channel any node lists.
    pub channels: Vec<ChannelSnapshot>,
}

/// A node at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    /// Its scenario name.
    pub name: String,
    /// Whether its process was running.
    pub up: bool,
    /// Its wallet total, if read.
    pub wallet_sat: Option<u64>,
    /// The peers (scenario names) it is connected to.
    pub connected: Vec<String>,
}

/// A channel at one moment, merged from both ends' views.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSnapshot {
    /// Its scenario name (`ch-<id prefix>` if no step named it).
    pub name: String,
    /// Its `channel_id`.
    pub channel_id: String,
    /// The initiator's scenario name.
    pub from: String,
    /// The responder's scenario name.
    pub to: String,
    /// `funding_satoshis`.
    pub capacity_sat: u64,
    /// The initiator's view of the state (the responder's if the initiator is down).
    pub state: String,
    /// Each viewing node's state, when they differ or for the tooltip.
    pub states: BTreeMap<String, String>,
    /// The initiator's balance.
    pub from_msat: u64,
    /// The responder's balance.
    pub to_msat: u64,
    /// The short channel id, once confirmed.
    pub short_channel_id: Option<String>,
}

impl Snapshot {
    /// Merges every node's view in `seen` into one picture. `order` is the declared node
    /// order; `up` says whose process runs; a node missing from `seen` is shown without
    /// wallet or peers.
    pub fn build(
        seen: &Observation,
        names: &Names,
        order: &[String],
        up: &BTreeMap<String, bool>,
        height: Option<u64>,
    ) -> Snapshot {
        let nodes = order
            .iter()
            .map(|name| NodeState {
                name: name.clone(),
                up: up.get(name).copied().unwrap_or(false),
                wallet_sat: seen
                    .wallets
                    .get(name)
                    .and_then(|w| w.as_ref().ok())
                    .map(super::observation::WalletView::total),
                connected: seen
                    .peers
                    .get(name)
                    .and_then(|p| p.as_ref().ok())
                    .map(|peers| {
                        peers
                            .iter()
                            .filter(|p| p.connected)
                            .map(|p| {
                                names
                                    .node_name(&p.node_id)
                                    .map_or_else(|| short(&p.node_id), str::to_string)
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        let mut channels: BTreeMap<String, ChannelSnapshot> = BTreeMap::new();
        for viewer in order {
            let Some(Ok(list)) = seen.channels.get(viewer) else {
                continue;
            };
            for view in list {
                let peer = names
                    .node_name(&view.peer)
                    .map_or_else(|| short(&view.peer), str::to_string);
                let name = names
                    .channel_name(&view.channel_id)
                    .map_or_else(|| format!("ch-{}", short(&view.channel_id)), str::to_string);
                let (from, to) = names.channel_ends.get(&name).cloned().unwrap_or_else(|| {
                    if view.role == "responder" {
                        (peer.clone(), viewer.clone())
                    } else {
                        (viewer.clone(), peer.clone())
                    }
                });
                let entry = channels.entry(view.channel_id.clone()).or_default();
                let first = entry.channel_id.is_empty();
                let viewer_is_from = viewer == &from;
                if first || viewer_is_from {
                    let (from_msat, to_msat) = if viewer_is_from {
                        (view.local_balance_msat, view.remote_balance_msat)
                    } else {
                        (view.remote_balance_msat, view.local_balance_msat)
                    };
                    entry.name.clone_from(&name);
                    entry.channel_id.clone_from(&view.channel_id);
                    entry.from.clone_from(&from);
                    entry.to.clone_from(&to);
                    entry.capacity_sat = view.capacity_sat;
                    entry.state.clone_from(&view.state);
                    entry.from_msat = from_msat;
                    entry.to_msat = to_msat;
                    entry.short_channel_id.clone_from(&view.short_channel_id);
                }
                entry.states.insert(viewer.clone(), view.state.clone());
            }
        }
        let mut channels: Vec<ChannelSnapshot> = channels.into_values().collect();
        channels.sort_by(|a, b| a.name.cmp(&b.name));
        Snapshot {
            height,
            nodes,
            channels,
        }
    }
}

/// The first 8 hex digits of an id, for labels.
fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::observation::{ChannelView, PeerView, WalletView};

    fn view(id: &str, peer: &str, role: &str, state: &str, local: u64) -> ChannelView {
        ChannelView {
            channel_id: id.into(),
            peer: peer.into(),
            state: state.into(),
            role: role.into(),
            capacity_sat: 1_000,
            local_balance_msat: local,
            remote_balance_msat: 1_000_000 - local,
            usable: None,
            confirmations: 0,
            short_channel_id: None,
            close: None,
        }
    }

    #[test]
    fn both_views_merge_into_one_channel_from_the_initiator() {
        let mut names = Names::default();
        names.node_ids.insert("a".into(), "02aa".into());
        names.node_ids.insert("b".into(), "02bb".into());
        names.channel_ids.insert("ab".into(), "c1".into());
        names
            .channel_ends
            .insert("ab".into(), ("a".into(), "b".into()));
        let mut seen = Observation::default();
        seen.channels.insert(
            "a".into(),
            Ok(vec![view("c1", "02bb", "initiator", "ready", 700_000)]),
        );
        seen.channels.insert(
            "b".into(),
            Ok(vec![
                view("c1", "02aa", "responder", "pending", 300_000),
                // A channel no step opened (say, from an outside node).
                view("ffeeddccbbaa", "03cc", "responder", "pending", 0),
            ]),
        );
        seen.wallets.insert(
            "a".into(),
            Ok(WalletView {
                confirmed_sat: 10,
                immature_sat: 5,
                ..WalletView::default()
            }),
        );
        seen.peers.insert(
            "a".into(),
            Ok(vec![PeerView {
                node_id: "02bb".into(),
                connected: true,
            }]),
        );
        let up = BTreeMap::from([("a".to_string(), true), ("b".to_string(), false)]);
        let snap = Snapshot::build(&seen, &names, &["a".into(), "b".into()], &up, Some(103));
        assert_eq!(snap.height, Some(103));
        assert_eq!(snap.nodes[0].wallet_sat, Some(15));
        assert_eq!(snap.nodes[0].connected, ["b"]);
        assert!(!snap.nodes[1].up);
        assert_eq!(snap.channels.len(), 2);
        let ab = &snap.channels[0];
        assert_eq!(
            (ab.name.as_str(), ab.from.as_str(), ab.to.as_str()),
            ("ab", "a", "b")
        );
        assert_eq!(ab.state, "ready");
        assert_eq!((ab.from_msat, ab.to_msat), (700_000, 300_000));
        assert_eq!(ab.states["b"], "pending");
        let other = &snap.channels[1];
        assert_eq!(other.name, "ch-ffeeddcc");
        assert_eq!((other.from.as_str(), other.to.as_str()), ("03cc", "b"));
        assert_eq!(other.to_msat, 0);
    }

    #[test]
    fn a_pay_step_sums_up_its_payments_and_the_balances_it_left() {
        let channel = |name: &str, from: &str, to: &str, from_msat| ChannelSnapshot {
            name: name.into(),
            from: from.into(),
            to: to.into(),
            from_msat,
            to_msat: 1_000_000 - from_msat,
            ..ChannelSnapshot::default()
        };
        let snapshot = Snapshot {
            channels: vec![
                channel("ab", "a", "b", 949_750),
                channel("cd", "c", "d", 1),
                channel("cb", "c", "b", 7),
            ],
            ..Snapshot::default()
        };
        let mut stats = PaymentStats {
            from: "b".into(),
            to: "a".into(),
            count: 250,
            succeeded: 249,
            failed: 1,
            pending: 0,
            amount_msat: 50_250,
            fee_msat: 0,
            elapsed_ms: 3_210,
            balances: Vec::new(),
        };
        stats.fill_balances(&snapshot);
        let names: Vec<&str> = stats.balances.iter().map(|b| b.channel.as_str()).collect();
        assert_eq!(names, ["ab", "cb"], "the channels of a or b only");
        assert_eq!(stats.rate(), "77.8/s");
        assert_eq!(
            stats.summary(),
            "249 succeeded, 1 failed of 250; 50_250 msat (fees 0) in 3.21 s, 77.8/s; \
             ab a 949_750 / b 50_250 msat; cb c 7 / b 999_993 msat"
        );
        stats.elapsed_ms = 0;
        assert_eq!(stats.rate(), "250000.0/s", "no division by zero");
    }
}
