//! A validated scenario: the nodes it declares and the steps it runs, in order.
//!
//! Everything here has been checked against the file (names exist, channels are opened before
//! they are used, every step has what it needs), so the runner never meets a dangling name.

use std::fmt::{self, Write as _};
use std::time::Duration;

/// A scenario, ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// A short name (the file's `name`, or its stem).
    pub name: String,
    /// One line saying what the story shows (`petrel scenario list` prints it).
    pub description: String,
    /// The nodes, in the order the file declares them.
    pub nodes: Vec<NodeSpec>,
    /// The steps, run one after another.
    pub steps: Vec<StepSpec>,
}

impl Scenario {
    /// The declared node names, in order.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|n| n.name.as_str())
    }

    /// Every channel the scenario opens, in the order it opens them.
    pub fn channels(&self) -> impl Iterator<Item = &OpenSpec> {
        self.steps.iter().flat_map(|s| match &s.step {
            Step::Open { channels } => channels.as_slice(),
            _ => &[],
        })
    }
}

/// One declared node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Its name in the scenario (`alice`).
    pub name: String,
    /// Settings written to its `petrel.toml`.
    pub settings: NodeSettings,
}

/// The per-node settings a scenario may choose: the `petrel.toml` keys that do not decide
/// where the node listens or which chain it uses (the runner owns those).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeSettings {
    /// `minimum-depth`: confirmations the node asks of channels opened to it.
    pub minimum_depth: Option<u32>,
    /// `max-pending-per-peer`: the most opens pending with one peer.
    pub max_pending_per_peer: Option<u64>,
    /// `max-pending-total`: the most opens pending in total.
    pub max_pending_total: Option<u64>,
    /// `reservation-timeout-secs`: how long an unfinished open may wait.
    pub reservation_timeout_secs: Option<u64>,
    /// `chain-poll-ms`: how often the node polls the chain (the runner's default is 20).
    pub chain_poll_ms: Option<u64>,
}

impl NodeSettings {
    /// The `petrel.toml` text for these settings (empty when none are set).
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let mut line = |key: &str, value: Option<u64>| {
            if let Some(v) = value {
                let _ = writeln!(out, "{key} = {v}");
            }
        };
        line("minimum-depth", self.minimum_depth.map(u64::from));
        line("max-pending-per-peer", self.max_pending_per_peer);
        line("max-pending-total", self.max_pending_total);
        line("reservation-timeout-secs", self.reservation_timeout_secs);
        line("chain-poll-ms", self.chain_poll_ms);
        out
    }
}

/// A step with where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepSpec {
    /// The 1-based line of the step's `do = ...` in the file.
    pub line: usize,
    /// Free text from the step's `note`, shown in progress and the report.
    pub note: Option<String>,
    /// What to do.
    pub step: Step,
}

/// What a step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Mine coinbases to each node's wallet until it received at least `sat` in at least
    /// `coins` coins, then 100 blocks so they mature.
    Fund {
        /// The nodes to fund.
        nodes: Vec<String>,
        /// The least each node receives.
        sat: u64,
        /// The least number of coins each node receives (concurrent opens from one node
        /// need one confirmed coin each).
        coins: u32,
    },
    /// `from` connects to `to`; done when both list each other as connected.
    Connect {
        /// The dialing node.
        from: String,
        /// The node dialed.
        to: String,
    },
    /// `node` drops its connection to `peer` (the `disconnect` verb); done when `node` no
    /// longer lists `peer` as connected. The peer notices when its socket closes, and dials
    /// back by itself if it dialed before and shares a live channel: `wait` for what matters.
    Disconnect {
        /// The node that disconnects.
        node: String,
        /// The peer it drops.
        peer: String,
    },
    /// Open one or more channels at once; done when every `open` has answered (funding
    /// transaction stored and broadcast).
    Open {
        /// The channels, opened concurrently.
        channels: Vec<OpenSpec>,
    },
    /// Mine blocks to an address no node watches; done when every running node has seen
    /// the new tip.
    Mine {
        /// How many.
        blocks: u32,
    },
    /// Poll until every check holds, or fail after `timeout`.
    Wait {
        /// What must hold.
        checks: Vec<Check>,
        /// How long to wait.
        timeout: Duration,
    },
    /// Every check must hold now.
    Assert {
        /// What must hold.
        checks: Vec<Check>,
    },
    /// Stop a node (gracefully, or with SIGKILL) and start it again on the same datadir and
    /// listening port, so peers that redial its stored address find it.
    Restart {
        /// The node.
        node: String,
        /// SIGKILL instead of the `stop` verb.
        kill: bool,
    },
    /// Close a channel with the node's `close` verb.
    Close {
        /// The channel's scenario name.
        channel: String,
        /// The node that asks for the close.
        by: String,
        /// Broadcast our commitment instead of negotiating (`--force`).
        force: bool,
        /// The closing transaction's feerate in sat per 1000 weight (`--feerate`), if any.
        feerate: Option<u32>,
    },
    /// `node` creates a BOLT 11 invoice (the `invoice` verb); the runner keeps it under
    /// `name` for later `pay` steps.
    Invoice {
        /// The node that will be paid.
        node: String,
        /// The name later steps use for it.
        name: String,
        /// What it asks, or `None` for an invoice of any amount (`amount-msat = "any"`).
        amount_msat: Option<u64>,
        /// Its description, if given.
        description: Option<String>,
    },
    /// One or more payments; done when every one has its outcome.
    Pay(PaySpec),
}

impl Step {
    /// The word the file uses for this step (`do = "..."`).
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Fund { .. } => "fund",
            Step::Connect { .. } => "connect",
            Step::Disconnect { .. } => "disconnect",
            Step::Open { .. } => "open",
            Step::Mine { .. } => "mine",
            Step::Wait { .. } => "wait",
            Step::Assert { .. } => "assert",
            Step::Restart { .. } => "restart",
            Step::Close { .. } => "close",
            Step::Invoice { .. } => "invoice",
            Step::Pay(_) => "pay",
        }
    }

    /// The nodes a step acts on or looks at (whose logs matter when it fails).
    pub fn nodes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = match self {
            Step::Fund { nodes, .. } => nodes.iter().map(String::as_str).collect(),
            Step::Connect { from, to } => vec![from, to],
            Step::Disconnect { node, peer } => vec![node, peer],
            Step::Open { channels } => channels
                .iter()
                .flat_map(|c| [c.from.as_str(), c.to.as_str()])
                .collect(),
            Step::Mine { .. } => Vec::new(),
            Step::Wait { checks, .. } | Step::Assert { checks } => {
                checks.iter().flat_map(Check::nodes).collect()
            }
            Step::Restart { node, .. } | Step::Invoice { node, .. } => vec![node],
            Step::Close { by, .. } => vec![by],
            Step::Pay(pay) => vec![&pay.from, &pay.to],
        };
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|n| seen.insert(*n));
        out
    }
}

impl fmt::Display for Step {
    /// The one-line title shown in progress output and the report.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Fund { nodes, sat, coins } => {
                write!(f, "fund {} with {} sat", nodes.join(", "), group(*sat))?;
                if *coins > 1 {
                    write!(f, " in {coins}+ coins")?;
                }
                Ok(())
            }
            Step::Connect { from, to } => write!(f, "connect {from} -> {to}"),
            Step::Disconnect { node, peer } => write!(f, "disconnect {node} from {peer}"),
            Step::Open { channels } => {
                if let [one] = channels.as_slice() {
                    write!(f, "open {one}")
                } else {
                    write!(f, "open {} channels at once", channels.len())
                }
            }
            Step::Mine { blocks } => {
                write!(
                    f,
                    "mine {blocks} block{}",
                    if *blocks == 1 { "" } else { "s" }
                )
            }
            Step::Wait { checks, timeout } => {
                write!(f, "wait ")?;
                join(f, checks)?;
                write!(f, " (up to {}s)", timeout.as_secs())
            }
            Step::Assert { checks } => {
                write!(f, "assert ")?;
                join(f, checks)
            }
            Step::Restart { node, kill } => {
                write!(f, "restart {node}")?;
                if *kill {
                    write!(f, " (SIGKILL)")?;
                }
                Ok(())
            }
            Step::Close {
                channel,
                by,
                force,
                feerate,
            } => {
                let how = if *force { "force-close" } else { "close" };
                write!(f, "{how} {channel} by {by}")?;
                if let Some(rate) = feerate {
                    write!(f, " at {rate} sat/kw")?;
                }
                Ok(())
            }
            Step::Invoice {
                node,
                name,
                amount_msat,
                ..
            } => {
                write!(f, "invoice {name} by {node} for ")?;
                match amount_msat {
                    Some(msat) => write!(f, "{} msat", group(*msat)),
                    None => write!(f, "any amount"),
                }
            }
            Step::Pay(pay) => write!(f, "{pay}"),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, checks: &[Check]) -> fmt::Result {
    for (i, check) in checks.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{check}")?;
    }
    Ok(())
}

/// `1234567` as `1_234_567`, the way the file writes amounts.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

/// One channel to open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenSpec {
    /// The name later steps use for it (`channel = "..."`); `FROM-TO` unless given.
    pub name: String,
    /// The initiator (it funds the channel).
    pub from: String,
    /// The responder.
    pub to: String,
    /// `funding_satoshis`.
    pub sat: u64,
    /// `push_msat`: given to the responder at opening.
    pub push_msat: u64,
    /// Confirmations to wait for, if not the responder's `minimum_depth`.
    pub min_depth: Option<u32>,
}

impl fmt::Display for OpenSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} -> {} {} sat",
            self.name,
            self.from,
            self.to,
            group(self.sat)
        )?;
        if self.push_msat > 0 {
            write!(f, " (push {} msat)", group(self.push_msat))?;
        }
        Ok(())
    }
}

/// A `pay` step: `count` payments from `from`, each expected to end as `expect` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaySpec {
    /// The paying node.
    pub from: String,
    /// The node paid: the keysend's `to`, or the node that made the invoice.
    pub to: String,
    /// What is paid.
    pub what: PayWhat,
    /// How many payments (each a new one: keysends only, an invoice is paid once).
    pub count: u32,
    /// The outcome every payment must have.
    pub expect: Expect,
    /// How long each payment may take (`pay`'s `timeout_secs`); one still pending after it
    /// fails the step.
    pub timeout_secs: u64,
}

/// What a `pay` step pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayWhat {
    /// An invoice an earlier `invoice` step made.
    Invoice {
        /// Its name in the scenario.
        name: String,
        /// The amount to pay, for an invoice of any amount only.
        amount_msat: Option<u64>,
    },
    /// A spontaneous payment to `to` (BOLT keysend: the preimage travels in the onion).
    Keysend {
        /// The amount of each payment.
        amount_msat: u64,
    },
}

/// The outcome a `pay` step expects of each payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// `status = "succeeded"`.
    Success,
    /// `status = "failed"`: the node tried and gave up (no route, the payee refused...).
    Failure,
}

impl Expect {
    /// The word the file uses (`expect = "..."`).
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Success => "success",
            Expect::Failure => "failure",
        }
    }

    /// The payment `status` that meets it.
    pub fn status(self) -> &'static str {
        match self {
            Expect::Success => "succeeded",
            Expect::Failure => "failed",
        }
    }
}

/// The words `expect` takes.
pub const EXPECTS: &[&str] = &["success", "failure"];

impl fmt::Display for PaySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (from, to) = (&self.from, &self.to);
        match &self.what {
            PayWhat::Invoice { name, amount_msat } => {
                write!(f, "pay invoice {name} {from} -> {to}")?;
                if let Some(msat) = amount_msat {
                    write!(f, " {} msat", group(*msat))?;
                }
            }
            PayWhat::Keysend { amount_msat } => {
                let n = self.count;
                write!(
                    f,
                    "{n} keysend{} {from} -> {to} of {} msat",
                    if n == 1 { "" } else { "s" },
                    group(*amount_msat)
                )?;
            }
        }
        if self.expect == Expect::Failure {
            write!(f, ", expecting failure")?;
        }
        Ok(())
    }
}

/// Something `wait` and `assert` check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    /// The channel is in `state` as seen by each node of `on`.
    ChannelState {
        /// The channel's scenario name.
        channel: String,
        /// The nodes whose view counts (one end, or both).
        on: Vec<String>,
        /// `pending`, `ready`, `closing`, `closed` or `abandoned`.
        state: String,
    },
    /// Whether each node of `on` can send and receive over the channel now: ready, its peer
    /// connected and both `channel_reestablish` sent (`petrel channels`' `usable`).
    ChannelUsable {
        /// The channel's scenario name.
        channel: String,
        /// The nodes whose view counts.
        on: Vec<String>,
        /// Whether it must be usable.
        usable: bool,
    },
    /// The channel's funding output was spent this way, as seen by each node of `on`
    /// (`petrel channels`' `close.how`).
    ClosedHow {
        /// The channel's scenario name.
        channel: String,
        /// The nodes whose view counts.
        on: Vec<String>,
        /// One of [`CLOSE_KINDS`].
        how: String,
    },
    /// Each listed end holds exactly this balance in the channel (its `local_balance_msat`).
    ChannelBalance {
        /// The channel's scenario name.
        channel: String,
        /// `(node, msat)` per listed end.
        msat: Vec<(String, u64)>,
    },
    /// The channel's history on each node of `on` holds an event of this kind.
    ChannelEvent {
        /// The channel's scenario name.
        channel: String,
        /// The nodes whose history counts.
        on: Vec<String>,
        /// The event's name as `petrel history` prints it (`funding_confirmed`).
        event: String,
    },
    /// The node lists this many channels (abandoned ones excluded), optionally only those
    /// in `state`.
    NumChannels {
        /// The node.
        node: String,
        /// How many.
        count: u64,
        /// Count only channels in this state.
        state: Option<String>,
    },
    /// The node's wallet holds `sat` (confirmed + unconfirmed + locked + immature), give or
    /// take `tolerance`.
    Wallet {
        /// The node.
        node: String,
        /// Expected total.
        sat: u64,
        /// Allowed difference either way (fees).
        tolerance: u64,
    },
    /// What the node's `fund` steps gave it minus what its wallet holds now is `sat`, give
    /// or take `tolerance`: the money that left the wallet (channels, fees).
    Spent {
        /// The node.
        node: String,
        /// Expected outflow.
        sat: u64,
        /// Allowed difference either way (fees).
        tolerance: u64,
    },
    /// `node` lists `peer` as connected (or not).
    Connected {
        /// The node whose list is read.
        node: String,
        /// The peer.
        peer: String,
        /// Whether it must be connected.
        connected: bool,
    },
    /// The regtest chain's mempool holds exactly `count` transactions: what a step waits for
    /// before mining, since a node records a transaction before it broadcasts it (persist
    /// before send) and a block mined in between would leave it out.
    Mempool {
        /// How many.
        count: u64,
    },
    /// The node lists exactly `count` payments it sent (`petrel payments`) in `status`.
    Payments {
        /// The node.
        node: String,
        /// One of [`PAYMENT_STATUSES`].
        status: String,
        /// How many.
        count: u64,
    },
    /// The node lists exactly `count` invoices (`petrel invoices`, keysends received
    /// included) in `status`.
    Invoices {
        /// The node.
        node: String,
        /// One of [`INVOICE_STATUSES`].
        status: String,
        /// How many.
        count: u64,
    },
}

impl Check {
    /// The nodes this check reads.
    pub fn nodes(&self) -> Vec<&str> {
        match self {
            Check::ChannelState { on, .. }
            | Check::ChannelUsable { on, .. }
            | Check::ChannelEvent { on, .. }
            | Check::ClosedHow { on, .. } => on.iter().map(String::as_str).collect(),
            Check::ChannelBalance { msat, .. } => msat.iter().map(|(n, _)| n.as_str()).collect(),
            Check::NumChannels { node, .. }
            | Check::Wallet { node, .. }
            | Check::Spent { node, .. }
            | Check::Payments { node, .. }
            | Check::Invoices { node, .. } => vec![node],
            Check::Connected { node, peer, .. } => vec![node, peer],
            Check::Mempool { .. } => Vec::new(),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::ChannelState { channel, on, state } => {
                write!(f, "{channel} {state} on {}", on.join("+"))
            }
            Check::ClosedHow { channel, on, how } => {
                write!(f, "{channel} closed as {how} on {}", on.join("+"))
            }
            Check::ChannelUsable {
                channel,
                on,
                usable,
            } => {
                let word = if *usable { "usable" } else { "not usable" };
                write!(f, "{channel} {word} on {}", on.join("+"))
            }
            Check::ChannelBalance { channel, msat } => {
                write!(f, "{channel} balances ")?;
                for (i, (node, v)) in msat.iter().enumerate() {
                    if i > 0 {
                        write!(f, "/")?;
                    }
                    write!(f, "{node}={} msat", group(*v))?;
                }
                Ok(())
            }
            Check::ChannelEvent { channel, on, event } => {
                write!(f, "{channel} event {event} on {}", on.join("+"))
            }
            Check::NumChannels { node, count, state } => {
                write!(
                    f,
                    "{node} has {count} channel{}",
                    if *count == 1 { "" } else { "s" }
                )?;
                if let Some(s) = state {
                    write!(f, " {s}")?;
                }
                Ok(())
            }
            Check::Wallet {
                node,
                sat,
                tolerance,
            } => write!(
                f,
                "{node} wallet {} sat ±{}",
                group(*sat),
                group(*tolerance)
            ),
            Check::Spent {
                node,
                sat,
                tolerance,
            } => write!(f, "{node} spent {} sat ±{}", group(*sat), group(*tolerance)),
            Check::Connected {
                node,
                peer,
                connected,
            } => {
                let word = if *connected {
                    "connected"
                } else {
                    "not connected"
                };
                write!(f, "{node} {word} to {peer}")
            }
            Check::Mempool { count } => write!(
                f,
                "{count} transaction{} in the mempool",
                if *count == 1 { "" } else { "s" }
            ),
            Check::Payments {
                node,
                status,
                count,
            } => write!(
                f,
                "{node} has {count} payment{} {status}",
                if *count == 1 { "" } else { "s" }
            ),
            Check::Invoices {
                node,
                status,
                count,
            } => write!(
                f,
                "{node} has {count} invoice{} {status}",
                if *count == 1 { "" } else { "s" }
            ),
        }
    }
}

/// The channel states `petrel channels` reports.
pub const CHANNEL_STATES: &[&str] = &["pending", "ready", "closing", "closed", "abandoned"];

/// The statuses `petrel payments` reports, as the file spells them after `payments-`.
pub const PAYMENT_STATUSES: &[&str] = &["succeeded", "failed", "pending"];

/// The statuses `petrel invoices` reports, as the file spells them after `invoices-`.
pub const INVOICE_STATUSES: &[&str] = &["open", "paid", "expired"];

/// How a funding output can be spent, as `petrel channels` reports it in `close.how`: by
/// the closing transaction both signed, by this node's commitment, by the peer's, or by a
/// revoked commitment of the peer's (BOLT 5).
pub const CLOSE_KINDS: &[&str] = &[
    "cooperative",
    "local_force_close",
    "remote_force_close",
    "breach",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_grouped_like_toml_literals() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1_000");
        assert_eq!(group(1_000_000), "1_000_000");
        assert_eq!(group(12_345_678), "12_345_678");
    }

    #[test]
    fn settings_become_petrel_toml() {
        let s = NodeSettings {
            minimum_depth: Some(6),
            chain_poll_ms: Some(50),
            ..NodeSettings::default()
        };
        assert_eq!(s.to_toml(), "minimum-depth = 6\nchain-poll-ms = 50\n");
        let parsed: crate::node::FileConfig = toml::from_str(&s.to_toml()).unwrap();
        assert_eq!(parsed.minimum_depth, Some(6));
        assert_eq!(parsed.chain_poll_ms, Some(50));
    }

    #[test]
    fn step_titles_read_as_sentences() {
        let open = Step::Open {
            channels: vec![OpenSpec {
                name: "ab".into(),
                from: "alice".into(),
                to: "bob".into(),
                sat: 1_000_000,
                push_msat: 5_000,
                min_depth: None,
            }],
        };
        assert_eq!(
            open.to_string(),
            "open ab alice -> bob 1_000_000 sat (push 5_000 msat)"
        );
        let wait = Step::Wait {
            checks: vec![Check::ChannelState {
                channel: "ab".into(),
                on: vec!["alice".into(), "bob".into()],
                state: "ready".into(),
            }],
            timeout: Duration::from_secs(30),
        };
        assert_eq!(wait.to_string(), "wait ab ready on alice+bob (up to 30s)");
        assert_eq!(wait.nodes(), vec!["alice", "bob"]);
    }
}
