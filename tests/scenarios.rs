//! `petrel scenario run` end to end, through the real binary: every bundled scenario passes;
//! a broken one fails with the step, what was seen and the log lines; an invalid file starts
//! nothing; Ctrl-C stops the run. In every case, no process the runner started survives it
//! (checked by the process ids the report lists, and by the runner's children seen live).
#![allow(clippy::disallowed_methods)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{wait_for_blocking, DEADLINE};
use petrel::scenario::library::BUNDLED;
use petrel::scenario::process::alive;
use petrel::scenario::report::{Outcome, Report, StepStatus};
use petrel::scenario::step::OpenSpec;
use petrel::scenario::{Check, Scenario, Step};

fn petrel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_petrel"))
}

/// Runs `petrel scenario run FILE --json --run-dir RUN [extra]`.
fn run(file: &Path, run_dir: &Path, extra: &[&str]) -> Output {
    petrel()
        .args(["scenario", "run"])
        .arg(file)
        .args(["--json", "--run-dir"])
        .arg(run_dir)
        .args(extra)
        .output()
        .expect("run petrel scenario")
}

fn report_of(out: &Output) -> Report {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a report ({e}):\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Every process the run started is gone: each one the report lists, and (not trusting
/// the report) any live process whose command line names the run directory, as every
/// `petrel regtest` and `petrel node` of the run does through its `--datadir`.
fn assert_all_stopped(report: &Report) {
    assert!(
        report.processes.iter().any(|p| p.name == "regtest"),
        "the report lists the processes: {:?}",
        report.processes
    );
    for p in &report.processes {
        assert!(!alive(p.pid), "{} (pid {}) survived the run", p.name, p.pid);
    }
    let left = processes_naming(&report.run_dir);
    assert!(left.is_empty(), "still running after the run: {left:?}");
}

/// Live processes whose command line contains `text` (Linux `/proc`), with that line.
fn processes_naming(text: &str) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        if line.contains(text) && alive(pid) {
            out.push((pid, line));
        }
    }
    out
}

fn scenario_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("broken.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The state the scenario's last `wait` or `assert` expects of `channel`: a check of the
/// channel itself, or a count of one of its ends' channels in some state.
fn last_checked_state<'a>(scenario: &'a Scenario, channel: &OpenSpec) -> &'a str {
    scenario
        .steps
        .iter()
        .rev()
        .flat_map(|s| match &s.step {
            Step::Wait { checks, .. } | Step::Assert { checks } => checks.as_slice(),
            _ => &[],
        })
        .find_map(|c| match c {
            Check::ChannelState {
                channel: name,
                state,
                ..
            } if *name == channel.name => Some(state.as_str()),
            Check::NumChannels {
                node,
                state: Some(state),
                ..
            } if *node == channel.from || *node == channel.to => Some(state.as_str()),
            _ => None,
        })
        .unwrap_or_else(|| {
            panic!(
                "{}: nothing checks the state of {}",
                scenario.name, channel.name
            )
        })
}

#[test]
fn every_bundled_scenario_passes() {
    for bundled in BUNDLED {
        let tmp = tempfile::tempdir().unwrap();
        let run_dir = tmp.path().join("run");
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(bundled.path);
        let out = run(&file, &run_dir, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{} failed:\n{stderr}", bundled.name);
        let report = report_of(&out);
        assert_eq!(report.outcome, Outcome::Passed);
        let steps = bundled.scenario().unwrap().steps.len();
        assert_eq!(report.steps.len(), steps + 1, "step 0 plus every step");
        for step in &report.steps {
            assert_eq!(step.status, StepStatus::Ok, "{}: {:?}", bundled.name, step);
            assert!(step.snapshot.is_some());
        }
        // One progress line per step, with its duration, and the report's path at the end.
        for index in 0..=steps {
            assert!(
                stderr.contains(&format!("[{index}/{steps}] ")),
                "no line for step {index}:\n{stderr}"
            );
        }
        let html = run_dir.join("report.html");
        assert!(
            stderr.contains(&format!("report: {}", html.display())),
            "{stderr}"
        );
        let page = std::fs::read_to_string(&html).unwrap();
        assert_eq!(page.matches("<svg xmlns").count(), steps + 1);
        assert!(!page.contains("<script"));
        let on_disk: Report =
            serde_json::from_slice(&std::fs::read(run_dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(on_disk, report);
        // Every channel the scenario opens is in the last picture, in the state the
        // scenario last checked for it, and the timeline saw it become ready on both ends.
        let last = report.steps.last().unwrap().snapshot.as_ref().unwrap();
        let events: Vec<_> = report.steps.iter().flat_map(|s| &s.events).collect();
        let scenario = bundled.scenario().unwrap();
        for channel in scenario.channels() {
            let drawn = last.channels.iter().find(|c| c.name == channel.name);
            assert_eq!(
                drawn.map(|c| c.state.as_str()),
                Some(last_checked_state(&scenario, channel)),
                "{}",
                channel.name
            );
            for node in [&channel.from, &channel.to] {
                assert!(
                    events.iter().any(|e| e.channel == channel.name
                        && &e.node == node
                        && e.event == "ready"),
                    "{}: no ready event on {node}",
                    channel.name
                );
            }
        }
        // Without --keep only the report and the logs stay.
        assert!(!run_dir.join("chain").exists());
        assert!(!run_dir.join("nodes").exists());
        assert!(run_dir.join("logs").join("regtest.log").exists());
        assert_all_stopped(&report);
    }
}

#[test]
fn a_broken_scenario_fails_with_the_step_what_it_saw_and_the_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(
        tmp.path(),
        r#"description = "opens a channel, then expects the wrong balance"
[nodes.alice]
[nodes.bob]

[[step]]
do = "fund"
node = "alice"
sat = 1_000_000

[[step]]
do = "connect"
from = "alice"
to = "bob"

[[step]]
do = "open"
from = "alice"
to = "bob"
sat = 500_000

[[step]]
do = "assert"
channel = "alice-bob"
balance-msat = { alice = 499_000_000 }

[[step]]
do = "mine"
blocks = 3
"#,
    );
    let run_dir = tmp.path().join("run");
    let out = run(&file, &run_dir, &["--keep"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The failed step, where it is in the file, what was seen, and the node's log lines.
    assert!(
        stderr.contains(&format!("failed at step 4 ({}:22)", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("alice holds 500_000_000 msat in alice-bob (want 499_000_000)"),
        "{stderr}"
    );
    assert!(stderr.contains("--- last lines of alice"), "{stderr}");
    assert!(stderr.contains("FAILED"), "{stderr}");
    let report = report_of(&out);
    assert_eq!(report.outcome, Outcome::Failed);
    let failure = report.failure.as_ref().unwrap();
    assert_eq!((failure.step, failure.line), (4, Some(22)));
    assert!(!failure.logs.is_empty() && !failure.logs[0].lines.is_empty());
    assert_eq!(report.steps[4].status, StepStatus::Failed);
    assert_eq!(report.steps[5].status, StepStatus::Skipped);
    // --keep kept the datadirs, not the processes.
    assert!(report.datadirs_kept);
    assert!(run_dir.join("chain").join("regtest.redb").exists());
    assert!(run_dir
        .join("nodes")
        .join("alice")
        .join("petrel.redb")
        .exists());
    let page = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(page.contains("Step 4 failed (line 22)"));
    assert_all_stopped(&report);
}

#[test]
fn a_step_the_node_refuses_fails_with_the_nodes_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(
        tmp.path(),
        r#"description = "a cooperative close needs the peer, and it was disconnected"
[nodes.alice]
[nodes.bob]

[[step]]
do = "fund"
node = "alice"
sat = 1_000_000

[[step]]
do = "connect"
from = "alice"
to = "bob"

[[step]]
do = "open"
from = "alice"
to = "bob"
sat = 500_000

[[step]]
do = "mine"
blocks = 3

[[step]]
do = "wait"
channel = "alice-bob"
state = "ready"

[[step]]
do = "disconnect"
node = "alice"
peer = "bob"

[[step]]
do = "close"
channel = "alice-bob"

[[step]]
do = "mine"
blocks = 6
"#,
    );
    let out = run(&file, &tmp.path().join("run"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("failed at step 7 ({}:36)", file.display())),
        "{stderr}"
    );
    assert!(
        stderr.contains("alice: `close` failed: the peer is not connected"),
        "{stderr}"
    );
    let report = report_of(&out);
    assert_eq!(report.steps[6].status, StepStatus::Ok, "the disconnect");
    assert_eq!(report.steps[7].status, StepStatus::Failed);
    assert_eq!(report.steps[8].status, StepStatus::Skipped);
    assert_all_stopped(&report);
}

#[test]
fn a_wait_that_times_out_says_what_it_last_saw() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(
        tmp.path(),
        r#"[nodes.alice]
[nodes.bob]
[[step]]
do = "wait"
node = "alice"
peer = "bob"
connected = true
timeout-secs = 1
"#,
    );
    let out = run(&file, &tmp.path().join("run"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("timed out after 1s; last seen: alice is not connected to bob"),
        "{stderr}"
    );
    assert_all_stopped(&report_of(&out));
}

#[test]
fn an_invalid_file_is_located_and_starts_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(
        tmp.path(),
        "[nodes.alice]\n[[step]]\ndo = \"connect\"\nfrom = \"alice\"\nto = \"carol\"\n",
    );
    let run_dir = tmp.path().join("run");
    let out = run(&file, &run_dir, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: unknown node `carol` (declared: alice)"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("--> {}:5:6", file.display())),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    assert!(!run_dir.exists(), "nothing may start for an invalid file");
    // `check` says the same without running.
    let checked = petrel()
        .args(["scenario", "check"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(checked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&checked.stderr).contains("unknown node `carol`"));
}

/// The process ids whose parent is `parent` (Linux `/proc`).
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After "(comm)": state, then the parent's pid.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            out.push(pid);
        }
    }
    out
}

#[test]
fn ctrl_c_stops_every_process_and_still_writes_the_report() {
    let tmp = tempfile::tempdir().unwrap();
    let file = scenario_file(
        tmp.path(),
        r#"[nodes.alice]
[nodes.bob]
[[step]]
do = "mine"
blocks = 1
[[step]]
do = "wait"
node = "alice"
peer = "bob"
connected = true
timeout-secs = 600
note = "never holds: nobody connects"
"#,
    );
    let run_dir = tmp.path().join("run");
    let mut runner = petrel()
        .args(["scenario", "run"])
        .arg(&file)
        .args(["--json", "--run-dir"])
        .arg(&run_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Step 1's line means step 2, the endless wait, is running.
    let mut stderr = BufReader::new(runner.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("[1/2]") {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "runner ended early:\n{seen}"
        );
        seen.push_str(&line);
    }
    let children = children_of(runner.id());
    assert_eq!(children.len(), 3, "regtest and two nodes: {children:?}");
    // The check `assert_all_stopped` makes after the run sees them (and the runner, whose
    // `--run-dir` names the directory too) while they run.
    let naming = processes_naming(&run_dir.display().to_string());
    let mut pids: Vec<u32> = naming.iter().map(|(pid, _)| *pid).collect();
    pids.sort_unstable();
    let mut expected = children.clone();
    expected.push(runner.id());
    expected.sort_unstable();
    assert_eq!(pids, expected, "{naming:?}");
    let status = Command::new("kill")
        .args(["-INT", &runner.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_for_blocking("the runner to exit", DEADLINE, || {
        runner.try_wait().unwrap()
    });
    assert_eq!(exit.code(), Some(130));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(rest.contains("interrupted"), "{rest}");
    let mut stdout = Vec::new();
    std::io::Read::read_to_end(&mut runner.stdout.take().unwrap(), &mut stdout).unwrap();
    let report: Report = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(report.outcome, Outcome::Interrupted);
    assert_eq!(report.steps[2].status, StepStatus::Interrupted);
    for pid in children {
        assert!(!alive(pid), "child {pid} survived Ctrl-C");
        assert!(
            report.processes.iter().any(|p| p.pid == pid),
            "{pid} not in the report"
        );
    }
    assert_all_stopped(&report);
    assert!(run_dir.join("report.html").exists());
}

#[test]
fn list_shows_the_bundled_scenarios() {
    let out = petrel().args(["scenario", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for bundled in BUNDLED {
        let line = text
            .lines()
            .find(|l| l.starts_with(bundled.name))
            .unwrap_or_else(|| panic!("{} missing:\n{text}", bundled.name));
        assert!(
            line.len() > bundled.name.len() + 10,
            "no description: {line}"
        );
    }
    // A bundled name works where a file is expected.
    let checked = petrel()
        .args(["scenario", "check", "open-channel"])
        .output()
        .unwrap();
    assert!(checked.status.success());
}
