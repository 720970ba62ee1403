//! The payment steps against the running network: `invoice` asks a node for a BOLT 11
//! invoice and keeps it by name; `pay` makes a step's payments, several in flight at once
//! over the payer's control API, and tallies their outcomes.
//!
//! Each `pay`/`keysend` call waits for its payment's outcome (or the step's `timeout-secs`,
//! after which the node answers `pending`), so the call itself is allowed that long plus
//! [`CALL_MARGIN`]. A refused call (a bad invoice, a node down) fails the step at once,
//! whatever `expect` says: `expect = "failure"` is about payments the node tried.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};

use super::network::Network;
use super::observation::PaymentView;
use super::report::PaymentStats;
use super::step::{group, PaySpec, PayWhat};
use super::ScenarioError;

/// How many payments of one step are in flight at once: enough to keep a channel's
/// commitment dance busy, far below any `max_accepted_htlcs`.
pub const IN_FLIGHT: usize = 8;

/// What a `pay` call may take beyond the payment's own timeout (the node answers at the
/// timeout at the latest; this covers its queue and the loopback).
pub const CALL_MARGIN: Duration = Duration::from_secs(30);

/// `invoice`: `node` makes an invoice for `amount_msat` (any amount if `None`), kept as
/// `name` in the network's names. Returns a line saying what was made.
pub async fn invoice(
    net: &mut Network,
    node: &str,
    name: &str,
    amount_msat: Option<u64>,
    description: Option<&str>,
) -> Result<String, ScenarioError> {
    let amount = amount_msat.map_or_else(|| json!("any"), |a| json!(a));
    let mut params = json!({ "amount_msat": amount });
    if let Some(d) = description {
        params["description"] = json!(d);
    }
    let answer = net.call(node, "invoice", params).await?;
    let bolt11 = answer["bolt11"]
        .as_str()
        .ok_or_else(|| ScenarioError::Rpc {
            node: node.into(),
            method: "invoice".into(),
            error: format!("no `bolt11` in the answer: {answer}"),
        })?
        .to_string();
    let line = format!(
        "{node} made {name}: {}…",
        bolt11.chars().take(24).collect::<String>()
    );
    net.names.invoices.insert(name.to_string(), bolt11);
    Ok(line)
}

/// `pay`: makes the step's payments, [`IN_FLIGHT`] at a time, and tallies them. Fails at the
/// first refused call, or after the last answer if any outcome is not the expected one.
pub async fn pay(net: &Network, spec: &PaySpec) -> Result<PaymentStats, ScenarioError> {
    let (method, params) = request(net, spec)?;
    let limit = Duration::from_secs(spec.timeout_secs) + CALL_MARGIN;
    let started = Instant::now();
    let mut calls = futures_util::stream::iter(0..spec.count)
        .map(|_| net.call_within(&spec.from, method, params.clone(), limit))
        .buffer_unordered(IN_FLIGHT);
    let mut stats = PaymentStats {
        from: spec.from.clone(),
        to: spec.to.clone(),
        count: u64::from(spec.count),
        ..PaymentStats::default()
    };
    let mut other: Option<String> = None;
    let mut answered = 0u64;
    while let Some(answer) = calls.next().await {
        let answer = answer.map_err(|e| {
            ScenarioError::Check(format!(
                "after {answered} of {} answers ({} succeeded, {} failed): {e}",
                stats.count, stats.succeeded, stats.failed
            ))
        })?;
        answered += 1;
        let payment: PaymentView = serde_json::from_value(answer)
            .map_err(|e| ScenarioError::Check(format!("`{method}` answer: {e}")))?;
        match payment.status.as_str() {
            "succeeded" => {
                stats.succeeded += 1;
                stats.amount_msat += payment.amount_msat;
                stats.fee_msat += payment.fee_msat;
            }
            "failed" => stats.failed += 1,
            "pending" => stats.pending += 1,
            s => {
                return Err(ScenarioError::Check(format!(
                    "`{method}` answered an unknown status `{s}`"
                )))
            }
        }
        if payment.status != spec.expect.status() && other.is_none() {
            other = Some(describe(&payment));
        }
    }
    stats.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    settle(net, &spec.from).await;
    match other {
        None => Ok(stats),
        Some(first) => Err(ScenarioError::Check(format!(
            "{}; want every one {}; the first that was not: {first}",
            stats.summary(),
            spec.expect.status()
        ))),
    }
}

/// How long [`settle`] waits for the payer's channels to have no HTLC left.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits (up to [`SETTLE_TIMEOUT`]) until `node`'s channels hold no HTLC: a payment is over
/// for the payer when the preimage arrives, a little before the commitments without its HTLC
/// are signed, and the balances the report shows after the step should be the settled ones.
async fn settle(net: &Network, node: &str) {
    let start = Instant::now();
    while start.elapsed() < SETTLE_TIMEOUT {
        let Ok(channels) = net.call(node, "channels", serde_json::json!({})).await else {
            return;
        };
        let busy = channels.as_array().is_some_and(|list| {
            list.iter()
                .any(|c| c["htlcs"].as_array().is_some_and(|h| !h.is_empty()))
        });
        if !busy {
            return;
        }
        tokio::time::sleep(super::network::POLL).await;
    }
}

/// The verb and parameters of every payment of `spec` (a keysend draws a new preimage per
/// call, so the same parameters make new payments).
fn request(net: &Network, spec: &PaySpec) -> Result<(&'static str, Value), ScenarioError> {
    let timeout = spec.timeout_secs;
    match &spec.what {
        PayWhat::Keysend { amount_msat } => {
            let node_id = net
                .names
                .node_ids
                .get(&spec.to)
                .ok_or_else(|| ScenarioError::Check(format!("{} never started", spec.to)))?;
            let params = json!({
                "node_id": node_id,
                "amount_msat": amount_msat,
                "timeout_secs": timeout,
            });
            Ok(("keysend", params))
        }
        PayWhat::Invoice { name, amount_msat } => {
            let bolt11 =
                net.names.invoices.get(name).ok_or_else(|| {
                    ScenarioError::Check(format!("invoice {name} was never made"))
                })?;
            let mut params = json!({ "bolt11": bolt11, "timeout_secs": timeout });
            if let Some(a) = amount_msat {
                params["amount_msat"] = json!(a);
            }
            Ok(("pay", params))
        }
    }
}

/// `3f2a9c01… failed (no route)`, for the first payment whose outcome was not expected.
fn describe(p: &PaymentView) -> String {
    let hash: String = p.payment_hash.chars().take(8).collect();
    let mut line = format!("{hash}… of {} msat {}", group(p.amount_msat), p.status);
    match &p.failure {
        Some(Value::String(s)) => {
            let _ = write!(line, " ({s})");
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            let _ = write!(line, " ({other})");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_unexpected_payment_is_described_with_its_failure() {
        let p = PaymentView {
            status: "failed".into(),
            payment_hash: "3f2a9c0144".into(),
            amount_msat: 1_000,
            fee_msat: 0,
            failure: Some(json!("no route to the payee")),
        };
        assert_eq!(
            describe(&p),
            "3f2a9c01… of 1_000 msat failed (no route to the payee)"
        );
        let pending = PaymentView {
            status: "pending".into(),
            failure: None,
            ..p
        };
        assert_eq!(describe(&pending), "3f2a9c01… of 1_000 msat pending");
    }
}
