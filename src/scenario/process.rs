//! The processes a run starts (`petrel regtest`, `petrel node`), each behind a guard that
//! kills it with SIGKILL and reaps it when dropped, so nothing outlives the runner, whether
//! the run passes, fails, panics or is interrupted.
//!
//! Every child gets its own process group: a Ctrl-C in the terminal then reaches only the
//! runner, which decides how to stop its children instead of racing their own shutdown.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running child process; SIGKILLed and reaped on drop.
#[derive(Debug)]
pub struct Proc {
    /// The child, until it has been reaped.
    child: Option<Child>,
    /// Its process id.
    pid: u32,
}

impl Proc {
    /// Starts `command` in a new process group, stdin and stdout closed, stderr appended to
    /// `log`.
    pub fn spawn(mut command: Command, log: &Path) -> io::Result<Proc> {
        let log: File = OpenOptions::new().create(true).append(true).open(log)?;
        let child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Proc {
            pid: child.id(),
            child: Some(child),
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `Some(status)` once the process has exited (it is then reaped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            Ok(None) | Err(_) => None,
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    /// Polls for the process to exit by itself, up to `timeout`; returns whether it did.
    pub async fn wait_exit(&mut self, timeout: Duration) -> bool {
        let start = Instant::now();
        loop {
            if !self.running() {
                return true;
            }
            if start.elapsed() >= timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, then reap. Does nothing if it already exited.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether process `pid` exists (a zombie counts as gone: it runs nothing). Linux `/proc`.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_guard_kills_and_reaps_its_child() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let mut command = Command::new("sleep");
        command.arg("600");
        let mut proc = Proc::spawn(command, &log).unwrap();
        let pid = proc.pid();
        assert!(proc.running());
        assert!(alive(pid));
        assert!(!proc.wait_exit(Duration::from_millis(50)).await);
        drop(proc);
        assert!(!alive(pid), "the child survived its guard");
    }

    #[tokio::test]
    async fn an_exited_child_is_reported_and_reaped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sh.log");
        let mut command = Command::new("sh");
        command.args(["-c", "echo oops >&2; exit 3"]);
        let mut proc = Proc::spawn(command, &log).unwrap();
        assert!(proc.wait_exit(Duration::from_secs(10)).await);
        assert!(!alive(proc.pid()));
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "oops\n");
    }
}
