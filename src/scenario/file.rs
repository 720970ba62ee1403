//! The scenario file (`scenarios/*.toml`): parsed with spans and validated into a
//! [`Scenario`] before anything is started, so a typo costs a line-and-column message, not a
//! half-run network.
//!
//! ```toml
//! description = "Two nodes open a channel"
//!
//! [nodes.alice]
//! [nodes.bob]
//! minimum-depth = 3          # any per-node petrel.toml setting the runner does not own
//!
//! [[step]]
//! do = "fund"
//! node = "alice"
//! sat = 2_000_000
//!
//! [[step]]
//! do = "open"
//! from = "alice"
//! to = "bob"
//! sat = 1_000_000
//! ```
//!
//! The shape is read in two passes, the way mini-redis separates framing from meaning: serde
//! reads a flat `RawStep` (every key any step may take, each with its byte span), then the
//! validator turns it into a typed [`Step`], rejecting keys that do not apply, missing keys,
//! unknown nodes and channels that no earlier step opens.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use self::raw::{keys_of, RawFile, RawNode, RawStep};
use super::step::{NodeSettings, NodeSpec, Scenario, Step, StepSpec};

/// The steps a file may use, for error messages.
pub const STEP_KINDS: &[&str] = &[
    "fund",
    "connect",
    "disconnect",
    "open",
    "mine",
    "wait",
    "assert",
    "restart",
    "close",
    "invoice",
    "pay",
];

/// How long a `wait` waits when the file does not say.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// One problem in a scenario file, located by line and column (both 1-based, columns in
/// characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The text of the offending line, for the snippet.
    source_line: String,
    /// How many characters to underline from `column`.
    width: usize,
}

impl FileError {
    fn at(text: &str, span: Range<usize>, message: String) -> FileError {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let source_line = text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let width = text[start..end.min(line_end).max(start)]
            .chars()
            .count()
            .max(1);
        FileError {
            line,
            column,
            message,
            source_line,
            width,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Every problem found in one file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileErrors {
    /// The file's path as given (for `path:line:column`).
    pub origin: String,
    /// The problems.
    pub errors: Vec<FileError>,
}

impl fmt::Display for FileErrors {
    /// rustc's shape: `error: message`, ` --> path:line:column`, then the line underlined.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let gutter = " ".repeat(e.line.to_string().len());
            writeln!(f, "error: {}", e.message)?;
            writeln!(f, "{gutter}--> {}:{}:{}", self.origin, e.line, e.column)?;
            writeln!(f, "{gutter} |")?;
            writeln!(f, "{} | {}", e.line, e.source_line)?;
            write!(
                f,
                "{gutter} | {}{}",
                " ".repeat(e.column - 1),
                "^".repeat(e.width)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for FileErrors {}

/// Parses and validates a scenario file. `origin` names it in messages; `default_name` is
/// used when the file has no `name` (the runner passes the file stem).
pub fn parse(text: &str, origin: &str, default_name: &str) -> Result<Scenario, FileErrors> {
    let fail = |errors| FileErrors {
        origin: origin.to_string(),
        errors,
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        fail(vec![FileError::at(text, span, toml_message(e.message()))])
    })?;
    let mut v = Validator {
        text,
        errors: Vec::new(),
        nodes: Vec::new(),
        channels: HashMap::new(),
        invoices: HashMap::new(),
    };
    let scenario = v.file(raw, default_name);
    if v.errors.is_empty() {
        Ok(scenario)
    } else {
        v.errors.sort_by_key(|e| (e.line, e.column));
        Err(fail(v.errors))
    }
}

/// Rewrites serde's "unknown field `x`, expected one of ..." into a short message with a
/// suggestion; other messages pass through.
fn toml_message(message: &str) -> String {
    let message = message.trim();
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_string();
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match suggest(unknown, &known) {
        Some(s) => format!("unknown key `{unknown}`; did you mean `{s}`?"),
        None => format!("unknown key `{unknown}` (keys here: {})", known.join(", ")),
    }
}

/// The closest of `known` to `word`, if it is close enough to be a typo.
fn suggest<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// A channel known to the validator: its ends and the line that opened it.
struct KnownChannel {
    from: String,
    to: String,
    line: usize,
}

struct Validator<'a> {
    text: &'a str,
    errors: Vec<FileError>,
    /// Declared node names.
    nodes: Vec<String>,
    /// Channels opened by earlier steps, by name.
    channels: HashMap<String, KnownChannel>,
    /// Invoices made by earlier steps, by name.
    invoices: HashMap<String, pay::KnownInvoice>,
}

impl Validator<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.errors
            .push(FileError::at(self.text, span, message.into()));
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.text[..span.start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn file(&mut self, raw: RawFile, default_name: &str) -> Scenario {
        let name = match raw.name {
            Some(n) => {
                if !is_name(n.get_ref()) {
                    self.error(n.span(), NAME_RULE);
                }
                n.into_inner()
            }
            None => default_name.to_string(),
        };
        let nodes_span = raw.nodes.span();
        let mut declared: Vec<(Spanned<String>, RawNode)> =
            raw.nodes.into_inner().into_iter().collect();
        // The file's order, not the map's: the picture lays nodes out in it.
        declared.sort_by_key(|(n, _)| n.span().start);
        if declared.is_empty() {
            self.error(nodes_span, "declare at least one node: `[nodes.alice]`");
        }
        let mut nodes = Vec::new();
        for (node, settings) in declared {
            if !is_name(node.get_ref()) {
                self.error(node.span(), NAME_RULE);
            }
            self.nodes.push(node.get_ref().clone());
            nodes.push(NodeSpec {
                name: node.into_inner(),
                settings: NodeSettings {
                    minimum_depth: settings.minimum_depth,
                    max_pending_per_peer: settings.max_pending_per_peer,
                    max_pending_total: settings.max_pending_total,
                    reservation_timeout_secs: settings.reservation_timeout_secs,
                    chain_poll_ms: settings.chain_poll_ms,
                },
            });
        }
        if raw.step.is_empty() {
            self.error(
                self.text.len()..self.text.len(),
                "a scenario needs at least one `[[step]]`",
            );
        }
        let steps = raw.step.iter().filter_map(|s| self.step(s)).collect();
        Scenario {
            name,
            description: raw.description.unwrap_or_default(),
            nodes,
            steps,
        }
    }

    fn step(&mut self, raw: &RawStep) -> Option<StepSpec> {
        let kind = raw.kind.get_ref().as_str();
        let at = raw.kind.span();
        if !STEP_KINDS.contains(&kind) {
            let message = match suggest(kind, STEP_KINDS) {
                Some(s) => format!("unknown step `{kind}`; did you mean `{s}`?"),
                None => format!("unknown step `{kind}` (steps: {})", STEP_KINDS.join(", ")),
            };
            self.error(at, message);
            return None;
        }
        let allowed = keys_of(kind);
        let mut ok = true;
        for (key, span) in raw.present() {
            if !allowed.contains(&key) {
                self.error(
                    span,
                    format!(
                        "`{key}` does not apply to `{kind}` (it takes: {})",
                        allowed.join(", ")
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let step = match kind {
            "fund" => self.fund(raw),
            "connect" => self.connect(raw),
            "disconnect" => self.disconnect(raw),
            "open" => self.open(raw),
            "mine" => self.mine(raw),
            "wait" | "assert" => self.checks(raw),
            "restart" => self.restart(raw),
            "invoice" => self.invoice(raw),
            "pay" => self.pay(raw),
            _ => self.close(raw),
        }?;
        Some(StepSpec {
            line: self.line_of(&at),
            note: raw.note.as_ref().map(|n| n.get_ref().clone()),
            step,
        })
    }

    /// Reports a missing key at the step's `do`.
    fn missing<T>(&mut self, raw: &RawStep, key: &str) -> Option<T> {
        self.error(
            raw.kind.span(),
            format!("`{}` needs `{key}`", raw.kind.get_ref()),
        );
        None
    }

    fn node(&mut self, name: &Spanned<String>) -> Option<String> {
        if self.nodes.iter().any(|n| n == name.get_ref()) {
            Some(name.get_ref().clone())
        } else {
            let message = format!(
                "unknown node `{}` (declared: {})",
                name.get_ref(),
                self.nodes.join(", ")
            );
            self.error(name.span(), message);
            None
        }
    }

    fn channel(&mut self, name: &Spanned<String>) -> Option<(String, String, String)> {
        if let Some(c) = self.channels.get(name.get_ref()) {
            return Some((name.get_ref().clone(), c.from.clone(), c.to.clone()));
        }
        let mut known: Vec<&str> = self.channels.keys().map(String::as_str).collect();
        known.sort_unstable();
        let message = if known.is_empty() {
            format!(
                "unknown channel `{}`: no earlier `open` step opens a channel",
                name.get_ref()
            )
        } else {
            format!(
                "unknown channel `{}`: no earlier `open` step names it (opened so far: {})",
                name.get_ref(),
                known.join(", ")
            )
        };
        self.error(name.span(), message);
        None
    }

    fn fund(&mut self, raw: &RawStep) -> Option<Step> {
        let names: Vec<&Spanned<String>> = match (&raw.node, &raw.nodes) {
            (Some(n), None) => vec![n],
            (None, Some(list)) if !list.get_ref().is_empty() => list.get_ref().iter().collect(),
            (None, Some(list)) => {
                self.error(list.span(), "`nodes` is empty");
                return None;
            }
            (Some(_), Some(list)) => {
                self.error(list.span(), "give `node` or `nodes`, not both");
                return None;
            }
            (None, None) => return self.missing(raw, "node` or `nodes"),
        };
        let mut nodes = Vec::new();
        for n in names {
            let node = self.node(n)?;
            if nodes.contains(&node) {
                self.error(n.span(), format!("`{node}` is listed twice"));
                return None;
            }
            nodes.push(node);
        }
        let Some(sat) = &raw.sat else {
            return self.missing(raw, "sat");
        };
        if *sat.get_ref() == 0 {
            self.error(sat.span(), "`sat` must be above 0");
            return None;
        }
        let coins = raw.coins.as_ref().map_or(1, |c| *c.get_ref());
        if let Some(c) = &raw.coins {
            if !(1..=100).contains(c.get_ref()) {
                self.error(c.span(), "`coins` must be between 1 and 100");
                return None;
            }
        }
        Some(Step::Fund {
            nodes,
            sat: *sat.get_ref(),
            coins,
        })
    }

    fn connect(&mut self, raw: &RawStep) -> Option<Step> {
        let (from, to) = self.two_nodes(
            raw,
            [("from", &raw.from), ("to", &raw.to)],
            "a node cannot connect to itself",
        )?;
        Some(Step::Connect { from, to })
    }

    fn disconnect(&mut self, raw: &RawStep) -> Option<Step> {
        let (node, peer) = self.two_nodes(
            raw,
            [("node", &raw.node), ("peer", &raw.peer)],
            "a node is not its own peer",
        )?;
        Some(Step::Disconnect { node, peer })
    }

    /// The two distinct declared nodes a step names under two keys; reports a missing key,
    /// an unknown node, or the same node twice (`same`).
    fn two_nodes(
        &mut self,
        raw: &RawStep,
        [(first_key, first), (second_key, second)]: [(&str, &Option<Spanned<String>>); 2],
        same: &str,
    ) -> Option<(String, String)> {
        let (Some(first), Some(second)) = (first, second) else {
            let key = if first.is_none() {
                first_key
            } else {
                second_key
            };
            return self.missing(raw, key);
        };
        let (first_name, second_name) = (self.node(first), self.node(second));
        let (first_name, second_name) = (first_name?, second_name?);
        if first_name == second_name {
            self.error(second.span(), same);
            return None;
        }
        Some((first_name, second_name))
    }

    fn mine(&mut self, raw: &RawStep) -> Option<Step> {
        let Some(blocks) = &raw.blocks else {
            return self.missing(raw, "blocks");
        };
        if !(1..=1000).contains(blocks.get_ref()) {
            self.error(blocks.span(), "`blocks` must be between 1 and 1000");
            return None;
        }
        Some(Step::Mine {
            blocks: *blocks.get_ref(),
        })
    }

    fn restart(&mut self, raw: &RawStep) -> Option<Step> {
        let Some(node) = &raw.node else {
            return self.missing(raw, "node");
        };
        Some(Step::Restart {
            node: self.node(node)?,
            kill: raw.kill.as_ref().is_some_and(|k| *k.get_ref()),
        })
    }

    fn close(&mut self, raw: &RawStep) -> Option<Step> {
        let Some(channel) = &raw.channel else {
            return self.missing(raw, "channel");
        };
        let (name, from, to) = self.channel(channel)?;
        let by = match &raw.by {
            Some(b) => {
                let by = self.node(b)?;
                if by != from && by != to {
                    self.error(
                        b.span(),
                        format!("`{by}` is not an end of `{name}` ({from}, {to})"),
                    );
                    return None;
                }
                by
            }
            None => from,
        };
        if let Some(rate) = &raw.feerate {
            if *rate.get_ref() == 0 {
                self.error(rate.span(), "`feerate` must be above 0");
                return None;
            }
        }
        Some(Step::Close {
            channel: name,
            by,
            force: raw.force.as_ref().is_some_and(|f| *f.get_ref()),
            feerate: raw.feerate.as_ref().map(|r| *r.get_ref()),
        })
    }
}

const NAME_RULE: &str = "names are 1 to 32 letters, digits, `-` or `_`";

/// Node, channel and scenario names: short, and safe in paths, HTML and SVG.
fn is_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

mod checks;
mod open;
mod pay;
mod raw;
#[cfg(test)]
mod tests;
