//! A logger for LDK test nodes: prints LDK's warnings and errors (everything with
//! `PETREL_LDK_LOG=trace`) and keeps every line, because LDK logs each message it reads or
//! queues, and the tests use those lines as an oracle for what LDK received and sent.

use std::sync::Mutex;

use lightning::util::logger::{Level, Logger, Record};

/// How many of LDK's most recent log lines a failing test prints.
const TAIL_LINES: usize = 200;

/// LDK's logger in the tests.
#[derive(Debug)]
pub struct TestLogger {
    /// A name printed before every line (which LDK node, when there are several).
    name: String,
    /// Whether to print every line, not only warnings and errors.
    verbose: bool,
    /// Every line, oldest first.
    lines: Mutex<Vec<(Level, String)>>,
}

impl TestLogger {
    /// A logger whose lines start with `name`.
    pub fn new(name: &str) -> TestLogger {
        TestLogger {
            name: name.to_string(),
            verbose: std::env::var("PETREL_LDK_LOG").is_ok_and(|v| v == "trace"),
            lines: Mutex::new(Vec::new()),
        }
    }

    /// How many lines so far contain `text`.
    pub fn count(&self, text: &str) -> usize {
        let lines = self.lines.lock().unwrap();
        lines.iter().filter(|(_, line)| line.contains(text)).count()
    }

    /// How many `pong` messages LDK has read so far. `PeerManager` logs "Received message
    /// Pong { byteslen: N } from <node id>" for each (lightning 0.2.7, `ln/peer_handler.rs`).
    pub fn pongs_received(&self) -> usize {
        self.count("Received message Pong")
    }

    /// LDK's last debug-or-louder lines, one per line, for failure messages (without the one
    /// line per block fed, which would crowd out everything else).
    pub fn tail(&self) -> String {
        let lines = self.lines.lock().unwrap();
        let shown: Vec<&str> = lines
            .iter()
            .filter(|(level, line)| *level >= Level::Debug && !line.contains("New best block"))
            .map(|(_, line)| line.as_str())
            .collect();
        shown[shown.len().saturating_sub(TAIL_LINES)..].join("\n")
    }
}

impl Logger for TestLogger {
    fn log(&self, record: Record) {
        let line = format!("{} {}: {}", self.name, record.level, record.args);
        if self.verbose || record.level >= Level::Warn {
            eprintln!("{line}");
        }
        self.lines.lock().unwrap().push((record.level, line));
    }
}
