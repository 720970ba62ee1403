//! Runs a validated [`Scenario`]: starts the network, executes the steps in order, records
//! each one (duration, what it did, the network after it, the events it caused), stops every
//! process whatever happens, and writes the report.
//!
//! Step 0 is the start of the network (`petrel regtest` and one `petrel node` per declared
//! node). The first failing step ends the run; the steps after it are recorded as skipped.
//! Cancelling `stop` (Ctrl-C) ends the run at once: every process is SIGKILLed and the
//! report still written.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use super::network::{Network, POLL};
use super::progress::Progress;
use super::report::{
    ChainInfo, Failure, LogExcerpt, NodeInfo, Outcome, PaymentStats, Report, Snapshot, StepRecord,
    StepStatus,
};
use super::step::{Check, Scenario, Step};
use super::{html, pay, ScenarioError};

/// How many log lines a failure shows per process.
const LOG_LINES: usize = 20;

/// How to run a scenario.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The `petrel` executable to start the chain and nodes with (the CLI passes its own).
    pub exe: PathBuf,
    /// The scenario file as the user named it, for messages and the report.
    pub file: String,
    /// Keep the datadirs after the run.
    pub keep: bool,
    /// The run directory to create (must be absent or empty); a fresh one under the
    /// system's temporary directory when `None`.
    pub run_dir: Option<PathBuf>,
}

/// Where a finished run left its report.
#[derive(Clone, Debug)]
pub struct RunResult {
    /// The report (also written as `report.json`).
    pub report: Report,
    /// `RUN/report.html`.
    pub html: PathBuf,
    /// `RUN/report.json`.
    pub json: PathBuf,
}

/// The records of a run in progress, kept outside the step future so an interruption can
/// still read them.
struct Record {
    steps: Vec<StepRecord>,
    /// The step running now and when it started.
    current: Option<(usize, Instant)>,
    failure: Option<Failure>,
}

/// Runs `scenario` to its end, its first failure, or `stop`; always stops the processes
/// and writes `report.json` and `report.html` into the run directory. Errors only when the
/// run directory or the report cannot be written.
pub async fn run(
    scenario: &Scenario,
    options: &RunOptions,
    stop: CancellationToken,
) -> Result<RunResult, ScenarioError> {
    let started = Instant::now();
    let started_unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let run_dir = create_run_dir(options.run_dir.as_deref(), &scenario.name)?;
    let mut progress = Progress::stderr(scenario.steps.len());
    progress.info(&format!(
        "scenario {} ({}): {} node{}, {} steps; run directory {}",
        scenario.name,
        options.file,
        scenario.nodes.len(),
        if scenario.nodes.len() == 1 { "" } else { "s" },
        scenario.steps.len(),
        run_dir.display()
    ));
    let mut net = Network::new(options.exe.clone(), &run_dir, &scenario.nodes)?;
    let mut record = Record {
        steps: Vec::new(),
        current: None,
        failure: None,
    };
    let outcome = tokio::select! {
        passed = run_steps(scenario, &mut net, &mut record, &mut progress) => {
            if passed { Outcome::Passed } else { Outcome::Failed }
        }
        () = stop.cancelled() => Outcome::Interrupted,
    };
    if outcome == Outcome::Interrupted {
        net.kill_all();
        if let Some((index, since)) = record.current.take() {
            let (line, kind, title, note) = describe(scenario, index);
            let interrupted = StepRecord {
                index,
                line,
                kind,
                title: title.clone(),
                note,
                status: StepStatus::Interrupted,
                duration_ms: millis(since.elapsed()),
                detail: None,
                error: Some("interrupted".into()),
                events: Vec::new(),
                snapshot: None,
                payments: None,
            };
            progress.end(&interrupted);
            record.steps.push(interrupted);
            record.failure = Some(Failure {
                step: index,
                line,
                title,
                message: "interrupted (Ctrl-C or SIGTERM); every process was killed".into(),
                logs: Vec::new(),
            });
        }
    } else {
        // Graceful, unless a second Ctrl-C asks for haste.
        tokio::select! {
            () = net.shutdown() => {}
            () = stop.cancelled() => {}
        }
        net.kill_all();
    }
    // The story as the file tells it: what never ran is shown as skipped.
    for index in record.steps.len()..=scenario.steps.len() {
        let (line, kind, title, note) = describe(scenario, index);
        record.steps.push(StepRecord {
            index,
            line,
            kind,
            title,
            note,
            status: StepStatus::Skipped,
            duration_ms: 0,
            detail: None,
            error: None,
            events: Vec::new(),
            snapshot: None,
            payments: None,
        });
    }
    if !options.keep {
        for dir in ["chain", "nodes"] {
            let _ = std::fs::remove_dir_all(run_dir.join(dir));
        }
    }
    let (chain_dir, chain_log, chain_url) = net.chain_paths();
    let report = Report {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        file: options.file.clone(),
        outcome,
        failure: record.failure,
        started_unix_ms,
        duration_ms: millis(started.elapsed()),
        run_dir: run_dir.display().to_string(),
        datadirs_kept: options.keep,
        chain: ChainInfo {
            datadir: chain_dir.display().to_string(),
            log: chain_log.display().to_string(),
            url: chain_url.unwrap_or_default().to_string(),
        },
        nodes: net
            .node_paths()
            .map(|(name, datadir, log, listen)| NodeInfo {
                name: name.to_string(),
                node_id: net.names.node_ids.get(name).cloned(),
                listen: listen.map(str::to_string),
                datadir: datadir.display().to_string(),
                log: log.display().to_string(),
            })
            .collect(),
        processes: net.processes.clone(),
        steps: record.steps,
    };
    let json = run_dir.join("report.json");
    let html_path = run_dir.join("report.html");
    let text = serde_json::to_string_pretty(&report).map_err(|e| ScenarioError::Io {
        what: "encoding the report".into(),
        source: e.into(),
    })?;
    write(&json, &text)?;
    write(&html_path, &html::render(&report))?;
    progress.summary(&report, &html_path.display().to_string());
    Ok(RunResult {
        report,
        html: html_path,
        json,
    })
}

fn write(path: &Path, text: &str) -> Result<(), ScenarioError> {
    std::fs::write(path, text).map_err(|source| ScenarioError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Line, kind, title and note of step `index` (0: the start of the network).
fn describe(scenario: &Scenario, index: usize) -> (Option<usize>, String, String, Option<String>) {
    if let Some(s) = index.checked_sub(1).and_then(|i| scenario.steps.get(i)) {
        return (
            Some(s.line),
            s.step.kind().to_string(),
            s.step.to_string(),
            s.note.clone(),
        );
    }
    let n = scenario.nodes.len();
    (
        None,
        "start".to_string(),
        format!(
            "start regtest and {n} node{}",
            if n == 1 { "" } else { "s" }
        ),
        None,
    )
}

/// Runs step 0 and every step; returns whether all passed.
async fn run_steps(
    scenario: &Scenario,
    net: &mut Network,
    record: &mut Record,
    progress: &mut Progress,
) -> bool {
    for index in 0..=scenario.steps.len() {
        let (line, kind, title, note) = describe(scenario, index);
        progress.begin(index, &title);
        let since = Instant::now();
        record.current = Some((index, since));
        let step = index.checked_sub(1).map(|i| &scenario.steps[i].step);
        let result = match step {
            None => start(scenario, net).await.map(Done::said),
            Some(step) => execute(step, index, &title, net, progress).await,
        };
        let duration_ms = millis(since.elapsed());
        // A process that died on its own fails the step that saw it.
        let result = result.and_then(|detail| net.check_alive().map(|()| detail));
        let seen = net.observe_all().await;
        let up = net.up();
        let height = net.height().await.ok();
        let order: Vec<String> = scenario.node_names().map(str::to_string).collect();
        let snapshot = Snapshot::build(&seen, &net.names, &order, &up, height);
        let events = net.new_events(&seen, index);
        record.current = None;
        let (status, mut done, error) = match result {
            Ok(done) => (StepStatus::Ok, done, None),
            Err(e) => (StepStatus::Failed, Done::default(), Some(e.to_string())),
        };
        if let Some(stats) = done.payments.as_mut() {
            stats.fill_balances(&snapshot);
            done.detail = Some(stats.summary());
        }
        let done = StepRecord {
            index,
            line,
            kind,
            title: title.clone(),
            note,
            status,
            duration_ms,
            detail: done.detail,
            error: error.clone(),
            events,
            snapshot: Some(snapshot),
            payments: done.payments,
        };
        progress.end(&done);
        record.steps.push(done);
        if let Some(message) = error {
            let mut involved: Vec<String> = step
                .map(|s| s.nodes().into_iter().map(str::to_string).collect())
                .unwrap_or_default();
            if involved.is_empty() {
                involved = order;
                involved.push("regtest".into());
            }
            record.failure = Some(Failure {
                step: index,
                line,
                title,
                message,
                logs: involved
                    .iter()
                    .filter_map(|name| net.log_of(name).map(|p| log_tail(name, p)))
                    .collect(),
            });
            return false;
        }
    }
    true
}

/// Step 0: the chain, then every node.
async fn start(scenario: &Scenario, net: &mut Network) -> Result<Option<String>, ScenarioError> {
    net.start_chain(0).await?;
    for name in scenario.node_names() {
        net.start_node(name, None, 0).await?;
    }
    let ids: Vec<String> = scenario
        .node_names()
        .map(|n| {
            let id = net.names.node_ids.get(n).map_or("", String::as_str);
            format!("{n} {}", id.get(..8).unwrap_or(id))
        })
        .collect();
    Ok(Some(ids.join(", ")))
}

/// What a step did: a line for progress and the report, and a `pay` step's tally.
#[derive(Default)]
struct Done {
    detail: Option<String>,
    payments: Option<PaymentStats>,
}

impl Done {
    fn said(detail: Option<String>) -> Done {
        Done {
            detail,
            payments: None,
        }
    }
}

/// Does one step; `Ok` says what it did.
async fn execute(
    step: &Step,
    index: usize,
    title: &str,
    net: &mut Network,
    progress: &mut Progress,
) -> Result<Done, ScenarioError> {
    let detail = match step {
        Step::Fund { nodes, sat, coins } => net.fund(nodes, *sat, *coins).await.map(Some),
        Step::Connect { from, to } => {
            net.connect(from, to).await?;
            let both = [
                Check::Connected {
                    node: from.clone(),
                    peer: to.clone(),
                    connected: true,
                },
                Check::Connected {
                    node: to.clone(),
                    peer: from.clone(),
                    connected: true,
                },
            ];
            wait(&both, Duration::from_secs(30), index, title, net, progress).await?;
            Ok(None)
        }
        Step::Disconnect { node, peer } => {
            net.disconnect(node, peer).await?;
            Ok(None)
        }
        Step::Open { channels } => net.open(channels).await.map(Some),
        Step::Mine { blocks } => {
            let tip = net.mine(*blocks).await?;
            Ok(Some(format!("tip at height {tip}")))
        }
        Step::Wait { checks, timeout } => {
            let took = wait(checks, *timeout, index, title, net, progress).await?;
            Ok(Some(format!("held after {}", html::seconds(millis(took)))))
        }
        Step::Assert { checks } => {
            let needs: Vec<_> = checks.iter().flat_map(Check::needs).collect();
            let seen = net.observe(&needs).await;
            let failed: Vec<String> = checks
                .iter()
                .filter_map(|c| c.evaluate(&seen, &net.names).err())
                .collect();
            if failed.is_empty() {
                Ok(None)
            } else {
                Err(ScenarioError::Check(failed.join("\n")))
            }
        }
        Step::Restart { node, kill } => net.restart(node, *kill, index).await.map(Some),
        Step::Close {
            channel,
            by,
            force,
            feerate,
        } => net.close(channel, by, *force, *feerate).await.map(Some),
        Step::Invoice {
            node,
            name,
            amount_msat,
            description,
        } => pay::invoice(net, node, name, *amount_msat, description.as_deref())
            .await
            .map(Some),
        Step::Pay(spec) => {
            let stats = pay::pay(net, spec).await?;
            return Ok(Done {
                detail: None,
                payments: Some(stats),
            });
        }
    };
    detail.map(Done::said)
}

/// Polls until every check holds; the time it took, or a timeout naming what it last saw.
async fn wait(
    checks: &[Check],
    timeout: Duration,
    index: usize,
    title: &str,
    net: &Network,
    progress: &mut Progress,
) -> Result<Duration, ScenarioError> {
    let needs: Vec<_> = checks.iter().flat_map(Check::needs).collect();
    let start = Instant::now();
    loop {
        let seen = net.observe(&needs).await;
        let first_miss = checks
            .iter()
            .find_map(|c| c.evaluate(&seen, &net.names).err());
        let Some(miss) = first_miss else {
            return Ok(start.elapsed());
        };
        if start.elapsed() >= timeout {
            return Err(ScenarioError::Timeout {
                secs: timeout.as_secs(),
                last: miss,
            });
        }
        progress.tick(index, title, start.elapsed(), timeout, &miss);
        tokio::time::sleep(POLL).await;
    }
}

/// The last lines of a log, without terminal colour codes.
fn log_tail(name: &str, path: &Path) -> LogExcerpt {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    LogExcerpt {
        name: name.to_string(),
        path: path.display().to_string(),
        lines: lines[lines.len().saturating_sub(LOG_LINES)..]
            .iter()
            .map(|l| strip_ansi(l))
            .collect(),
    }
}

/// Removes `ESC [ ... letter` sequences.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Creates the run directory: `explicit` (absent or empty), or a fresh
/// `petrel-scenario-NAME-TIME-PID` under the temporary directory.
fn create_run_dir(explicit: Option<&Path>, name: &str) -> Result<PathBuf, ScenarioError> {
    let io = |what: String| move |source| ScenarioError::Io { what, source };
    if let Some(dir) = explicit {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        let mut entries =
            std::fs::read_dir(dir).map_err(io(format!("reading {}", dir.display())))?;
        if entries.next().is_some() {
            return Err(ScenarioError::Io {
                what: format!("using {} as the run directory", dir.display()),
                source: std::io::Error::other("it is not empty"),
            });
        }
        return Ok(dir.to_path_buf());
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = std::env::temp_dir();
    let pid = std::process::id();
    let mut attempt = 0u32;
    loop {
        let suffix = if attempt == 0 {
            String::new()
        } else {
            format!("-{attempt}")
        };
        let dir = base.join(format!("petrel-scenario-{name}-{stamp}-{pid}{suffix}"));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(io(format!("creating {}", dir.display()))(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped_from_log_lines() {
        assert_eq!(
            strip_ansi("\x1b[2m2025\x1b[0m \x1b[32m INFO\x1b[0m peer connected"),
            "2025  INFO peer connected"
        );
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn a_given_run_directory_must_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        assert_eq!(create_run_dir(Some(&run), "x").unwrap(), run);
        std::fs::write(run.join("f"), "").unwrap();
        assert!(create_run_dir(Some(&run), "x").is_err());
    }

    #[test]
    fn the_log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.log");
        let text = (0..50).fold(String::new(), |mut t, i| {
            t.push_str("line ");
            t.push_str(&i.to_string());
            t.push('\n');
            t
        });
        std::fs::write(&path, text).unwrap();
        let tail = log_tail("n", &path);
        assert_eq!(tail.lines.len(), LOG_LINES);
        assert_eq!(tail.lines.last().unwrap(), "line 49");
    }
}
