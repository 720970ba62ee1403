//! Scripted multi-node regtest scenarios: `petrel scenario run FILE`.
//!
//! A scenario file (`scenarios/*.toml`, format in [`file`](mod@file)) declares nodes and tells a story
//! in steps: fund, connect, disconnect, open, mine, wait, assert, restart, close, invoice,
//! pay. The runner starts `petrel regtest` and one `petrel node` per declared node, each a
//! real process in a fresh run directory with OS-chosen ports, runs the steps in order, and
//! writes a report a person can look at: `report.json` and a self-contained `report.html`
//! with a picture of the network after every step, each payment step's tally and the
//! balances it left, and a timeline of channel events.
//!
//! # Layout
//!
//! Pure parts (no IO, no clock), unit-tested: [`file`](mod@file) (parse and validate, errors with line
//! and column), [`step`] (the validated model), [`check`] (does a condition hold in an
//! [`observation::Observation`]), [`report`] (the record), [`svg`] and [`html`] (rendering).
//!
//! The shell: [`process`] (child guards: own process group, SIGKILL on drop), [`network`]
//! (the running chain and nodes, their control APIs), [`fund`] (coinbases to a wallet),
//! [`pay`] (invoices by name, payments several in flight),
//! [`runner`] (step execution,
//! interruption, teardown), [`progress`] (terminal output). It reads clocks and spawns
//! processes, hence the lint exception below.
//!
//! # Never
//!
//! Start anything before the whole file is valid; leave a process running after `run`
//! returns (or after the runner is interrupted); decide a check anywhere but [`check`].
#![allow(clippy::disallowed_methods)] // the shell reads clocks and spawns processes

pub mod check;
pub mod file;
pub mod fund;
pub mod html;
pub mod library;
pub mod network;
pub mod observation;
pub mod pay;
pub mod process;
pub mod progress;
pub mod report;
pub mod runner;
pub mod step;
pub mod svg;

use std::path::Path;

pub use file::{parse, FileError, FileErrors};
pub use report::{Outcome, Report};
pub use runner::{run, RunOptions, RunResult};
pub use step::{Check, Scenario, Step};

/// What can go wrong in a scenario: a bad file, a runner that cannot write its directory, or
/// a step that fails (its message is what the user sees).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The scenario file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a valid scenario (every problem, located).
    #[error("{0}")]
    File(#[from] FileErrors),
    /// A file operation of the runner failed (run directory, report).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
    /// A process could not be started or did not come up.
    #[error("{name}: {reason}")]
    Start {
        /// `regtest` or the node's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A process exited though no step asked it to.
    #[error("{name} exited unexpectedly ({status}); see its log")]
    Exited {
        /// `regtest` or the node's name.
        name: String,
        /// Its exit status.
        status: String,
    },
    /// A control API call failed.
    #[error("{node}: `{method}` failed: {error}")]
    Rpc {
        /// The node.
        node: String,
        /// The verb.
        method: String,
        /// The node's answer or the transport error.
        error: String,
    },
    /// A call to the regtest chain failed.
    #[error("regtest `{method}` failed: {error}")]
    Chain {
        /// The JSON-RPC method.
        method: String,
        /// The error.
        error: String,
    },
    /// A check did not hold, or a step could not do what it says.
    #[error("{0}")]
    Check(String),
    /// A wait ran out of time.
    #[error("timed out after {secs}s; last seen: {last}")]
    Timeout {
        /// The limit.
        secs: u64,
        /// The first check that did not hold, the last time it was read.
        last: String,
    },
}

/// Reads and validates a scenario: `path` names a file, or a bundled scenario when no such
/// file exists (`open-channel`).
pub fn load(path: &str) -> Result<Scenario, ScenarioError> {
    let file = Path::new(path);
    if !file.exists() {
        if let Some(bundled) = library::find(path) {
            return Ok(bundled.scenario()?);
        }
    }
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Read {
        path: path.to_string(),
        source,
    })?;
    let stem = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    Ok(parse(&text, path, stem)?)
}
