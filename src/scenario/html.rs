//! `report.html`: one self-contained page (inline CSS, one inline SVG per step, no script,
//! no external asset), so it opens offline and can be attached to a bug report.
//!
//! Top to bottom: the outcome, the failure with its log lines, the nodes, one card per step
//! (title, duration, what it did, the network after it, the events it caused), and the
//! timeline of every channel event.

use std::fmt::Write;

use super::report::{Outcome, PaymentStats, Report, StepRecord, StepStatus, TimelineEvent};
use super::step::group;
use super::svg::{self, escape};

const STYLE: &str = r"
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a202c;background:#f7fafc}
header,main{max-width:1200px;margin:0 auto;padding:16px 24px}
header{background:#fff;border-bottom:1px solid #e2e8f0;max-width:none}
h1{margin:0 0 4px;font-size:22px}h2{font-size:17px;margin:24px 0 8px}
.desc{color:#4a5568;margin:0 0 8px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.passed{background:#2f855a}.failed{background:#c53030}.interrupted{background:#b7791f}
.ok{color:#2f855a}.bad{color:#c53030}.skip{color:#718096}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#1a202c;color:#e2e8f0;padding:10px;border-radius:6px;overflow-x:auto;margin:4px 0 12px}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border-bottom:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#edf2f7;font-weight:600}
.failure{background:#fff5f5;border:1px solid #feb2b2;border-radius:8px;padding:12px 16px;margin:16px 0}
.steps{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:16px}
.step{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 14px}
.step.failed{border-color:#fc8181}.step.skipped{opacity:.6}
.step h3{margin:0;font-size:15px}.step .meta{color:#718096;font-size:12px}
.step ul{margin:4px 0;padding-left:18px;font-size:12.5px}
table.pay{margin:4px 0 8px;font-size:12.5px}table.pay td{font-variant-numeric:tabular-nums}
svg.net{width:100%;height:auto;background:#fbfdff;border:1px solid #edf2f7;border-radius:6px}
svg .name{font:bold 12px sans-serif;fill:#fff;text-anchor:middle}
svg .name.down{fill:inherit}
svg .wallet{font:11px sans-serif;fill:#4a5568;text-anchor:middle;paint-order:stroke;stroke:#fbfdff;stroke-width:3px}
svg .label{font:10.5px sans-serif;fill:#2d3748;text-anchor:middle;paint-order:stroke;stroke:#fbfdff;stroke-width:3px}
svg .meta{font:10px sans-serif;fill:#718096}
";

/// Renders the whole page.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let outcome = report.outcome.as_str();
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} — {outcome} — petrel scenario</title><style>{STYLE}</style></head><body>",
        escape(&report.scenario)
    );
    header(&mut out, report);
    out.push_str("<main>");
    if let Some(f) = &report.failure {
        let _ = write!(
            out,
            "<section class=\"failure\"><h2>Step {} failed{}: {}</h2><pre>{}</pre>",
            f.step,
            f.line.map(|l| format!(" (line {l})")).unwrap_or_default(),
            escape(&f.title),
            escape(&f.message)
        );
        for log in &f.logs {
            let _ = write!(
                out,
                "<div>last lines of <b>{}</b>'s log <span class=\"mono\">{}</span></div><pre>{}</pre>",
                escape(&log.name),
                escape(&log.path),
                escape(&log.lines.join("\n"))
            );
        }
        out.push_str("</section>");
    }
    nodes(&mut out, report);
    out.push_str("<h2>Steps</h2><div class=\"steps\">");
    for step in &report.steps {
        step_card(&mut out, step, report.started_unix_ms);
    }
    out.push_str("</div>");
    timeline(&mut out, report);
    out.push_str("</main></body></html>\n");
    out
}

fn header(out: &mut String, r: &Report) {
    let ran = r.steps.iter().filter(|s| s.index > 0).count();
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"desc\">{}</p><p><span class=\"badge {}\">{}</span> \
         {} steps in {} · file <code>{}</code> · run directory <code>{}</code>{}</p></header>",
        escape(&r.scenario),
        escape(&r.description),
        r.outcome.as_str(),
        r.outcome.as_str(),
        ran,
        seconds(r.duration_ms),
        escape(&r.file),
        escape(&r.run_dir),
        if r.datadirs_kept {
            " (datadirs kept)"
        } else {
            ""
        }
    );
}

fn nodes(out: &mut String, r: &Report) {
    out.push_str(
        "<h2>Nodes</h2><table><tr><th></th><th>name</th><th>node id</th><th>listen</th>\
         <th>processes</th><th>log</th></tr>",
    );
    for (i, n) in r.nodes.iter().enumerate() {
        let pids: Vec<String> = r
            .processes
            .iter()
            .filter(|p| p.name == n.name)
            .map(|p| format!("{} (step {})", p.pid, p.step))
            .collect();
        let _ = write!(
            out,
            "<tr><td><svg width=\"14\" height=\"14\"><circle cx=\"7\" cy=\"7\" r=\"6\" fill=\"{}\"/></svg></td>\
             <td><b>{}</b></td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            svg::node_colour(i),
            escape(&n.name),
            escape(n.node_id.as_deref().unwrap_or("-")),
            escape(n.listen.as_deref().unwrap_or("-")),
            escape(&pids.join(", ")),
            escape(&n.log)
        );
    }
    let chain_pids: Vec<String> = r
        .processes
        .iter()
        .filter(|p| p.name == "regtest")
        .map(|p| p.pid.to_string())
        .collect();
    let _ = write!(
        out,
        "<tr><td></td><td>regtest chain</td><td class=\"mono\">{}</td><td></td><td>{}</td><td class=\"mono\">{}</td></tr></table>",
        escape(&r.chain.url),
        escape(&chain_pids.join(", ")),
        escape(&r.chain.log)
    );
}

fn step_card(out: &mut String, s: &StepRecord, started_unix_ms: u64) {
    let (class, mark) = match s.status {
        StepStatus::Ok => ("ok", "<span class=\"ok\">✔</span>"),
        StepStatus::Failed => ("failed", "<span class=\"bad\">✘</span>"),
        StepStatus::Interrupted => ("failed", "<span class=\"bad\">■ interrupted</span>"),
        StepStatus::Skipped => ("skipped", "<span class=\"skip\">skipped</span>"),
    };
    let _ = write!(
        out,
        "<article class=\"step {class}\" id=\"step-{}\"><h3>{} · {} {mark}</h3><div class=\"meta\">{}{}</div>",
        s.index,
        s.index,
        escape(&s.title),
        s.line.map(|l| format!("line {l} · ")).unwrap_or_default(),
        if s.status == StepStatus::Skipped {
            String::new()
        } else {
            seconds(s.duration_ms)
        }
    );
    if let Some(note) = &s.note {
        let _ = write!(out, "<p><i>{}</i></p>", escape(note));
    }
    if let Some(detail) = &s.detail {
        let _ = write!(out, "<p>{}</p>", escape(detail));
    }
    if let Some(error) = &s.error {
        let _ = write!(out, "<pre>{}</pre>", escape(error));
    }
    if let Some(p) = &s.payments {
        payments(out, p);
    }
    if let Some(snap) = &s.snapshot {
        out.push_str(&svg::render(snap));
    }
    if !s.events.is_empty() {
        out.push_str("<ul>");
        for e in &s.events {
            let _ = write!(
                out,
                "<li>{} <b>{}</b> on {}{}</li>",
                escape(&e.channel),
                escape(&e.event),
                escape(&e.node),
                at(e, started_unix_ms)
            );
        }
        out.push_str("</ul>");
    }
    out.push_str("</article>");
}

/// A `pay` step's tally, then the balances it left.
fn payments(out: &mut String, p: &PaymentStats) {
    let _ = write!(
        out,
        "<table class=\"pay\"><tr><th>payments {} → {}</th><th>succeeded</th><th>failed</th>\
         <th>pending</th><th>amount (msat)</th><th>fees (msat)</th><th>time</th><th>rate</th></tr>\
         <tr><td>{}</td><td class=\"ok\">{}</td><td{}>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td></tr></table>",
        escape(&p.from),
        escape(&p.to),
        p.count,
        p.succeeded,
        if p.failed > 0 { " class=\"bad\"" } else { "" },
        p.failed,
        p.pending,
        group(p.amount_msat),
        group(p.fee_msat),
        seconds(p.elapsed_ms),
        p.rate()
    );
    if p.balances.is_empty() {
        return;
    }
    out.push_str("<table class=\"pay\"><tr><th>channel after</th><th>initiator (msat)</th><th>responder (msat)</th></tr>");
    for b in &p.balances {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{} {}</td><td>{} {}</td></tr>",
            escape(&b.channel),
            escape(&b.from),
            group(b.from_msat),
            escape(&b.to),
            group(b.to_msat)
        );
    }
    out.push_str("</table>");
}

fn timeline(out: &mut String, r: &Report) {
    out.push_str(
        "<h2>Timeline</h2><table><tr><th>step</th><th>t</th><th>height</th><th>node</th>\
         <th>channel</th><th>event</th><th>details</th></tr>",
    );
    for s in &r.steps {
        let _ = write!(
            out,
            "<tr><td><a href=\"#step-{}\">{}</a></td><td colspan=\"6\"><b>{}</b> {}</td></tr>",
            s.index,
            s.index,
            escape(&s.title),
            match s.status {
                StepStatus::Ok =>
                    format!("<span class=\"ok\">ok</span> in {}", seconds(s.duration_ms)),
                StepStatus::Failed => "<span class=\"bad\">failed</span>".to_string(),
                StepStatus::Interrupted => "<span class=\"bad\">interrupted</span>".to_string(),
                StepStatus::Skipped => "<span class=\"skip\">skipped</span>".to_string(),
            }
        );
        for e in &s.events {
            let details: Vec<String> = e
                .details
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            let _ = write!(
                out,
                "<tr><td></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
                relative(e.time, r.started_unix_ms),
                e.height.map(|h| h.to_string()).unwrap_or_default(),
                escape(&e.node),
                escape(&e.channel),
                escape(&e.event),
                escape(&details.join(" "))
            );
        }
    }
    out.push_str("</table>");
    if r.outcome == Outcome::Passed {
        out.push_str("<p class=\"ok\">Every step passed.</p>");
    }
}

/// ` at +3s, height 104`.
fn at(e: &TimelineEvent, started_unix_ms: u64) -> String {
    let mut s = format!(" at {}", relative(e.time, started_unix_ms));
    if let Some(h) = e.height {
        let _ = write!(s, ", height {h}");
    }
    s
}

/// Seconds since the run started (the node's clock has second resolution).
fn relative(unix_secs: u64, started_unix_ms: u64) -> String {
    format!("+{}s", unix_secs.saturating_sub(started_unix_ms / 1000))
}

/// `0.41 s`, `12.3 s`.
pub fn seconds(ms: u64) -> String {
    if ms < 10_000 {
        format!("{}.{:02} s", ms / 1000, ms % 1000 / 10)
    } else {
        format!("{}.{} s", ms / 1000, ms % 1000 / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::report::{
        ChainInfo, Failure, LogExcerpt, NodeInfo, NodeState, ProcessRecord, Snapshot,
    };

    fn report() -> Report {
        let snapshot = Snapshot {
            height: Some(101),
            nodes: vec![NodeState {
                name: "alice".into(),
                up: true,
                wallet_sat: Some(5_000_000_000),
                connected: vec![],
            }],
            channels: vec![],
        };
        Report {
            scenario: "demo<1>".into(),
            description: "shows & tells".into(),
            file: "scenarios/demo.toml".into(),
            outcome: Outcome::Failed,
            failure: Some(Failure {
                step: 1,
                line: Some(7),
                title: "assert alice wallet 1 sat ±0".into(),
                message: "alice's wallet holds 50 sat".into(),
                logs: vec![LogExcerpt {
                    name: "alice".into(),
                    path: "/tmp/x/logs/alice.log".into(),
                    lines: vec!["WARN <something>".into()],
                }],
            }),
            started_unix_ms: 1_000_000,
            duration_ms: 4_200,
            run_dir: "/tmp/x".into(),
            datadirs_kept: false,
            chain: ChainInfo::default(),
            nodes: vec![NodeInfo {
                name: "alice".into(),
                node_id: Some("02aa".into()),
                ..NodeInfo::default()
            }],
            processes: vec![ProcessRecord {
                name: "alice".into(),
                pid: 4242,
                step: 0,
            }],
            steps: vec![
                StepRecord {
                    index: 0,
                    line: None,
                    kind: "start".into(),
                    title: "start regtest and 1 node".into(),
                    note: None,
                    status: StepStatus::Ok,
                    duration_ms: 800,
                    detail: None,
                    error: None,
                    events: vec![],
                    snapshot: Some(snapshot),
                    payments: None,
                },
                StepRecord {
                    index: 1,
                    line: Some(7),
                    kind: "assert".into(),
                    title: "assert alice wallet 1 sat ±0".into(),
                    note: Some("a note".into()),
                    status: StepStatus::Failed,
                    duration_ms: 12,
                    detail: None,
                    error: Some("alice's wallet holds 50 sat".into()),
                    events: vec![TimelineEvent {
                        step: 1,
                        node: "alice".into(),
                        channel: "ab".into(),
                        event: "opened".into(),
                        time: 1_003,
                        height: Some(101),
                        details: serde_json::Map::new(),
                    }],
                    snapshot: None,
                    payments: None,
                },
                StepRecord {
                    index: 2,
                    line: Some(9),
                    kind: "mine".into(),
                    title: "mine 1 block".into(),
                    note: None,
                    status: StepStatus::Skipped,
                    duration_ms: 0,
                    detail: None,
                    error: None,
                    events: vec![],
                    snapshot: None,
                    payments: None,
                },
            ],
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let html = render(&report());
        assert!(html.starts_with("<!doctype html>"));
        // No external asset and no script: it opens offline.
        for banned in ["<script", "src=", "href=\"http", "<link", "@import"] {
            assert!(!html.contains(banned), "{banned}");
        }
        assert!(html.contains("demo&lt;1&gt;"));
        assert!(html.contains("shows &amp; tells"));
        assert!(html.contains("WARN &lt;something&gt;"));
        assert_eq!(html.matches("<svg xmlns").count(), 1);
        assert!(html.contains("Step 1 failed (line 7)"));
        assert!(html.contains("4242 (step 0)"));
        assert!(html.contains("<span class=\"badge failed\">failed</span>"));
        assert!(html.contains("ab <b>opened</b> on alice at +3s, height 101"));
        assert!(html.contains("skipped"));
    }

    #[test]
    fn a_pay_step_shows_its_tally_and_the_balances_after() {
        let mut r = report();
        r.steps[1].payments = Some(PaymentStats {
            from: "alice".into(),
            to: "bob<".into(),
            count: 250,
            succeeded: 250,
            amount_msat: 50_000_750,
            elapsed_ms: 3_210,
            balances: vec![crate::scenario::report::BalanceAfter {
                channel: "alice-bob".into(),
                from: "alice".into(),
                to: "bob".into(),
                from_msat: 949_999_250,
                to_msat: 50_000_750,
            }],
            ..PaymentStats::default()
        });
        let html = render(&r);
        assert!(html.contains("payments alice → bob&lt;"), "{html}");
        assert!(html.contains("<td>50_000_750</td>"));
        assert!(html.contains("<td>3.21 s</td><td>77.8/s</td>"));
        assert!(
            html.contains("<td>alice-bob</td><td>alice 949_999_250</td><td>bob 50_000_750</td>")
        );
        assert_eq!(
            html.matches("<svg xmlns").count(),
            1,
            "no picture of its own"
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(seconds(412), "0.41 s");
        assert_eq!(seconds(9_999), "9.99 s");
        assert_eq!(seconds(12_345), "12.3 s");
    }
}
