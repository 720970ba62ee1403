//! A logger for LDK test nodes: prints LDK's warnings and errors (everything with
//! `PETREL_LDK_LOG=trace`), and counts the log lines the tests use as an oracle for what LDK
//! received (LDK logs every message it reads at trace level).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use lightning::util::logger::{Level, Logger, Record};

/// How many of LDK's most recent log lines a failing test prints.
const KEPT_LINES: usize = 200;

/// LDK's logger in the tests.
#[derive(Debug)]
pub struct TestLogger {
    /// A name printed before every line (which LDK node, when there are several).
    name: String,
    /// Whether to print every line, not only warnings and errors.
    verbose: bool,
    /// How many `pong`s LDK has read.
    pongs_received: AtomicUsize,
    /// The last lines, oldest first, for failure messages.
    recent: Mutex<Vec<String>>,
}

impl TestLogger {
    /// A logger whose lines start with `name`.
    pub fn new(name: &str) -> TestLogger {
        TestLogger {
            name: name.to_string(),
            verbose: std::env::var("PETREL_LDK_LOG").is_ok_and(|v| v == "trace"),
            pongs_received: AtomicUsize::new(0),
            recent: Mutex::new(Vec::new()),
        }
    }

    /// How many `pong` messages LDK has read so far.
    pub fn pongs_received(&self) -> usize {
        self.pongs_received.load(Ordering::SeqCst)
    }

    /// LDK's last log lines, one per line.
    pub fn tail(&self) -> String {
        self.recent.lock().unwrap().join("\n")
    }
}

impl Logger for TestLogger {
    fn log(&self, record: Record) {
        let line = format!("{} {}: {}", self.name, record.level, record.args);
        // `PeerManager` logs "Received message Pong { byteslen: N } from <node id>" for every
        // pong it reads (lightning 0.2.7, `ln/peer_handler.rs`), and nothing else that way.
        if record.level == Level::Trace && line.contains("Received message Pong") {
            self.pongs_received.fetch_add(1, Ordering::SeqCst);
        }
        if self.verbose || record.level >= Level::Warn {
            eprintln!("{line}");
        }
        if record.level >= Level::Debug {
            let mut recent = self.recent.lock().unwrap();
            if recent.len() >= KEPT_LINES {
                recent.remove(0);
            }
            recent.push(line);
        }
    }
}
