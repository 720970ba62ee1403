//! Progress on standard error: one line per step with its duration; on a terminal, the line
//! of the running step is redrawn with a spinner while it waits. Plain lines otherwise, so
//! CI logs stay readable. Standard output is left to the caller (`--json`).

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::html::seconds;
use super::report::{Outcome, Report, StepRecord, StepStatus};

/// Redrawn lines are cut here: a line that wraps cannot be cleared with `\r`.
const REDRAW_WIDTH: usize = 100;

/// `line`, cut to [`REDRAW_WIDTH`] characters.
fn fit(line: &str) -> String {
    if line.chars().count() <= REDRAW_WIDTH {
        return line.to_string();
    }
    let mut cut: String = line.chars().take(REDRAW_WIDTH - 1).collect();
    cut.push('…');
    cut
}

const SPINNER: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Where progress goes and how.
pub struct Progress {
    /// Redraw lines (a terminal) or print finished lines only.
    terminal: bool,
    /// Colour the outcome words.
    colour: bool,
    /// Steps in the run, for `[i/n]`.
    total: usize,
    /// The spinner's frame.
    frame: usize,
}

impl Progress {
    /// Progress on stderr; redrawing and colour only when stderr is a terminal (and colour
    /// only without `NO_COLOR`).
    pub fn stderr(total: usize) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        Progress {
            terminal,
            colour: terminal && std::env::var_os("NO_COLOR").is_none(),
            total,
            frame: 0,
        }
    }

    fn write(text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    fn paint(&self, code: &str, word: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{word}\x1b[0m")
        } else {
            word.to_string()
        }
    }

    /// A free line (what the run is doing, where things are).
    pub fn info(&self, text: &str) {
        Self::write(&format!("{text}\n"));
    }

    /// A step starts.
    pub fn begin(&mut self, index: usize, title: &str) {
        if self.terminal {
            let line = fit(&format!("  [{index}/{}] {title} …", self.total));
            Self::write(&format!("\r\x1b[2K{line}"));
        }
    }

    /// A step is still waiting: redraw its line with the spinner, the time spent, and what
    /// it last saw. Nothing when not on a terminal.
    pub fn tick(
        &mut self,
        index: usize,
        title: &str,
        elapsed: Duration,
        limit: Duration,
        seen: &str,
    ) {
        if !self.terminal {
            return;
        }
        self.frame = (self.frame + 1) % SPINNER.len();
        let line = fit(&format!(
            "{} [{index}/{}] {:.1}s/{}s {title} ({seen})",
            SPINNER[self.frame],
            self.total,
            elapsed.as_secs_f64(),
            limit.as_secs(),
        ));
        Self::write(&format!("\r\x1b[2K{line}"));
    }

    /// A step ended: its final line.
    pub fn end(&mut self, record: &StepRecord) {
        let word = match record.status {
            StepStatus::Ok => self.paint("32", "ok"),
            StepStatus::Failed => self.paint("31;1", "FAILED"),
            StepStatus::Interrupted => self.paint("33;1", "interrupted"),
            StepStatus::Skipped => return,
        };
        let detail = record
            .detail
            .as_ref()
            .map(|d| format!(" — {d}"))
            .unwrap_or_default();
        let clear = if self.terminal { "\r\x1b[2K" } else { "" };
        Self::write(&format!(
            "{clear}  [{}/{}] {} ... {word} ({}){detail}\n",
            record.index,
            self.total,
            record.title,
            seconds(record.duration_ms)
        ));
    }

    /// The end of the run: the outcome, the failure with its log lines, where the report is.
    pub fn summary(&self, report: &Report, html: &str) {
        let mut text = String::new();
        if let Some(f) = &report.failure {
            let line = f
                .line
                .map(|l| format!(" ({}:{l})", report.file))
                .unwrap_or_default();
            let _ = writeln!(
                text,
                "\n{} step {}{line}: {}",
                self.paint("31;1", "failed at"),
                f.step,
                f.title
            );
            for l in f.message.lines() {
                let _ = writeln!(text, "  {l}");
            }
            for log in &f.logs {
                let _ = writeln!(text, "\n--- last lines of {} ({}) ---", log.name, log.path);
                for l in &log.lines {
                    let _ = writeln!(text, "  {l}");
                }
            }
        }
        let ran = report
            .steps
            .iter()
            .filter(|s| s.index > 0 && s.status != StepStatus::Skipped)
            .count();
        let word = match report.outcome {
            Outcome::Passed => self.paint("32;1", "passed"),
            Outcome::Failed => self.paint("31;1", "failed"),
            Outcome::Interrupted => self.paint("33;1", "interrupted"),
        };
        let _ = writeln!(
            text,
            "\n{}: {word} after {ran} of {} steps in {}",
            report.scenario,
            report.steps.len().saturating_sub(1),
            seconds(report.duration_ms)
        );
        if report.datadirs_kept {
            let _ = writeln!(
                text,
                "datadirs kept: {0}/chain and {0}/nodes/<name>",
                report.run_dir
            );
        } else if report.outcome != Outcome::Passed {
            text.push_str("(rerun with --keep to keep the nodes' datadirs)\n");
        }
        let _ = writeln!(text, "logs:   {}/logs\nreport: {html}", report.run_dir);
        Self::write(&text);
    }
}
