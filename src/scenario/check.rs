//! Deciding whether a [`Check`] holds, from an [`Observation`]: no IO, so every rule is a unit
//! test. A check that does not hold says what it saw, which is what a failed `assert` or a
//! timed-out `wait` prints.

use super::observation::{ChannelView, Names, Need, Observation};
use super::step::{group, Check};

impl Check {
    /// What the runner must read to decide this check.
    pub fn needs(&self) -> Vec<Need> {
        match self {
            Check::ChannelState { on, .. }
            | Check::ChannelUsable { on, .. }
            | Check::ClosedHow { on, .. } => on.iter().cloned().map(Need::Channels).collect(),
            Check::ChannelBalance { msat, .. } => msat
                .iter()
                .map(|(n, _)| Need::Channels(n.clone()))
                .collect(),
            Check::ChannelEvent { channel, on, .. } => on
                .iter()
                .map(|n| Need::History(n.clone(), channel.clone()))
                .collect(),
            Check::NumChannels { node, .. } => vec![Need::Channels(node.clone())],
            Check::Wallet { node, .. } | Check::Spent { node, .. } => {
                vec![Need::Wallet(node.clone())]
            }
            Check::Connected { node, .. } => vec![Need::Peers(node.clone())],
            Check::Mempool { .. } => vec![Need::Mempool],
            Check::Payments { node, .. } => vec![Need::Payments(node.clone())],
            Check::Invoices { node, .. } => vec![Need::Invoices(node.clone())],
        }
    }

    /// `Ok` if the check holds in `seen`; otherwise what was seen instead.
    pub fn evaluate(&self, seen: &Observation, names: &Names) -> Result<(), String> {
        match self {
            Check::ChannelState { channel, on, state } => {
                for node in on {
                    let view = channel_view(seen, names, node, channel)?;
                    if &view.state != state {
                        return Err(format!(
                            "{channel} is {} on {node} (want {state})",
                            view.state
                        ));
                    }
                }
                Ok(())
            }
            Check::ChannelUsable {
                channel,
                on,
                usable,
            } => {
                for node in on {
                    let view = channel_view(seen, names, node, channel)?;
                    match view.usable {
                        Some(u) if u == *usable => {}
                        Some(u) => {
                            let word = if u { "usable" } else { "not usable" };
                            return Err(format!(
                                "{channel} is {word} on {node} ({})",
                                view.state
                            ));
                        }
                        None => {
                            return Err(format!(
                                "{node} does not say whether {channel} is usable (no `usable` in `channels`)"
                            ))
                        }
                    }
                }
                Ok(())
            }
            Check::ClosedHow { channel, on, how } => {
                for node in on {
                    let view = channel_view(seen, names, node, channel)?;
                    let seen_how = view.close.as_ref().and_then(|c| c.how.as_deref());
                    if seen_how != Some(how.as_str()) {
                        return Err(match seen_how {
                            Some(other) => {
                                format!("{channel} closed {other} on {node} (want {how})")
                            }
                            None => format!(
                                "{channel} is {} on {node}, no spend of its funding seen (want {how})",
                                view.state
                            ),
                        });
                    }
                }
                Ok(())
            }
            Check::ChannelBalance { channel, msat } => {
                for (node, want) in msat {
                    let view = channel_view(seen, names, node, channel)?;
                    if view.local_balance_msat != *want {
                        return Err(format!(
                            "{node} holds {} msat in {channel} (want {})",
                            group(view.local_balance_msat),
                            group(*want)
                        ));
                    }
                }
                Ok(())
            }
            Check::ChannelEvent { channel, on, event } => {
                let id = names
                    .channel_ids
                    .get(channel)
                    .ok_or_else(|| format!("{channel} was never opened"))?;
                for node in on {
                    let history = seen
                        .histories
                        .get(&(node.clone(), id.clone()))
                        .ok_or_else(|| format!("history of {channel} on {node} not read"))?
                        .as_ref()
                        .map_err(|e| format!("history of {channel} on {node}: {e}"))?;
                    if !history.iter().any(|e| &e.event == event) {
                        let kinds: Vec<&str> = history.iter().map(|e| e.event.as_str()).collect();
                        return Err(format!(
                            "no `{event}` in the history of {channel} on {node} (it has: {})",
                            if kinds.is_empty() {
                                "nothing".to_string()
                            } else {
                                kinds.join(", ")
                            }
                        ));
                    }
                }
                Ok(())
            }
            Check::NumChannels { node, count, state } => {
                let list = channels(seen, node)?;
                let n = list
                    .iter()
                    .filter(|c| c.state != "abandoned")
                    .filter(|c| state.as_ref().is_none_or(|s| &c.state == s))
                    .count() as u64;
                if n == *count {
                    return Ok(());
                }
                let states: Vec<&str> = list.iter().map(|c| c.state.as_str()).collect();
                Err(format!(
                    "{node} has {n} channel{}{} (want {count}; states: {})",
                    if n == 1 { "" } else { "s" },
                    state.as_ref().map(|s| format!(" {s}")).unwrap_or_default(),
                    if states.is_empty() {
                        "none".to_string()
                    } else {
                        states.join(", ")
                    }
                ))
            }
            Check::Wallet {
                node,
                sat,
                tolerance,
            } => {
                let total = wallet_total(seen, node)?;
                within(total, *sat, *tolerance)
                    .then_some(())
                    .ok_or_else(|| {
                        format!(
                            "{node}'s wallet holds {} sat (want {} ±{})",
                            group(total),
                            group(*sat),
                            group(*tolerance)
                        )
                    })
            }
            Check::Spent {
                node,
                sat,
                tolerance,
            } => {
                let total = wallet_total(seen, node)?;
                let funded = names.funded_sat.get(node).copied().unwrap_or(0);
                // Negative when the wallet grew (a sweep home bigger than what was spent).
                let spent = i128::from(funded) - i128::from(total);
                let ok = (spent - i128::from(*sat)).unsigned_abs() <= u128::from(*tolerance);
                ok.then_some(()).ok_or_else(|| {
                    format!(
                        "{node} spent {spent} sat of the {} it was funded with (want {} ±{})",
                        group(funded),
                        group(*sat),
                        group(*tolerance)
                    )
                })
            }
            Check::Connected {
                node,
                peer,
                connected,
            } => {
                let peer_id = names
                    .node_ids
                    .get(peer)
                    .ok_or_else(|| format!("{peer} has no node id yet"))?;
                let list = seen
                    .peers
                    .get(node)
                    .ok_or_else(|| format!("peers of {node} not read"))?
                    .as_ref()
                    .map_err(|e| format!("peers of {node}: {e}"))?;
                let up = list.iter().any(|p| &p.node_id == peer_id && p.connected);
                if up == *connected {
                    Ok(())
                } else if up {
                    Err(format!("{node} is connected to {peer}"))
                } else {
                    Err(format!("{node} is not connected to {peer}"))
                }
            }
            Check::Mempool { count } => {
                let txids = seen
                    .mempool
                    .as_ref()
                    .ok_or("the mempool not read")?
                    .as_ref()
                    .map_err(|e| format!("the mempool: {e}"))?;
                if txids.len() as u64 == *count {
                    Ok(())
                } else {
                    Err(format!(
                        "the mempool holds {} transaction{} (want {count})",
                        txids.len(),
                        if txids.len() == 1 { "" } else { "s" }
                    ))
                }
            }
            Check::Payments {
                node,
                status,
                count,
            } => {
                let list = read(&seen.payments, node, "payments")?;
                tally(
                    list.iter().map(|p| p.status.as_str()),
                    node,
                    "payment",
                    status,
                    *count,
                )
            }
            Check::Invoices {
                node,
                status,
                count,
            } => {
                let list = read(&seen.invoices, node, "invoices")?;
                tally(
                    list.iter().map(|i| i.status.as_str()),
                    node,
                    "invoice",
                    status,
                    *count,
                )
            }
        }
    }
}

/// The list `what` read from `node`, or why there is none.
fn read<'a, T>(
    reads: &'a std::collections::BTreeMap<String, super::observation::Read<Vec<T>>>,
    node: &str,
    what: &str,
) -> Result<&'a [T], String> {
    reads
        .get(node)
        .ok_or_else(|| format!("{what} of {node} not read"))?
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| format!("{what} of {node}: {e}"))
}

/// `Ok` if exactly `want` of `statuses` are `status`; otherwise the count of each status.
fn tally<'a>(
    statuses: impl Iterator<Item = &'a str>,
    node: &str,
    noun: &str,
    status: &str,
    want: u64,
) -> Result<(), String> {
    let mut by_status: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for s in statuses {
        *by_status.entry(s).or_default() += 1;
    }
    let n = by_status.get(status).copied().unwrap_or(0);
    if n == want {
        return Ok(());
    }
    let all: Vec<String> = by_status.iter().map(|(s, c)| format!("{c} {s}")).collect();
    Err(format!(
        "{node} has {n} {noun}{} {status} (want {want}; all: {})",
        if n == 1 { "" } else { "s" },
        if all.is_empty() {
            "none".to_string()
        } else {
            all.join(", ")
        }
    ))
}

fn within(got: u64, want: u64, tolerance: u64) -> bool {
    got.abs_diff(want) <= tolerance
}

fn channels<'a>(seen: &'a Observation, node: &str) -> Result<&'a [ChannelView], String> {
    seen.channels
        .get(node)
        .ok_or_else(|| format!("channels of {node} not read"))?
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| format!("channels of {node}: {e}"))
}

fn channel_view<'a>(
    seen: &'a Observation,
    names: &Names,
    node: &str,
    channel: &str,
) -> Result<&'a ChannelView, String> {
    let id = names
        .channel_ids
        .get(channel)
        .ok_or_else(|| format!("{channel} was never opened"))?;
    channels(seen, node)?
        .iter()
        .find(|c| &c.channel_id == id)
        .ok_or_else(|| format!("{node} does not list {channel}"))
}

fn wallet_total(seen: &Observation, node: &str) -> Result<u64, String> {
    seen.wallets
        .get(node)
        .ok_or_else(|| format!("wallet of {node} not read"))?
        .as_ref()
        .map(super::observation::WalletView::total)
        .map_err(|e| format!("wallet of {node}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::observation::{EventView, PeerView, WalletView};

    fn view(id: &str, state: &str, local: u64) -> ChannelView {
        ChannelView {
            channel_id: id.into(),
            peer: "02bb".into(),
            state: state.into(),
            role: "initiator".into(),
            capacity_sat: 1_000,
            local_balance_msat: local,
            remote_balance_msat: 1_000_000 - local,
            usable: None,
            confirmations: 0,
            short_channel_id: None,
            close: None,
        }
    }

    fn names() -> Names {
        let mut n = Names::default();
        n.node_ids.insert("a".into(), "02aa".into());
        n.node_ids.insert("b".into(), "02bb".into());
        n.channel_ids.insert("ab".into(), "c1".into());
        n.funded_sat.insert("a".into(), 5_000);
        n
    }

    fn state(on: &[&str], want: &str) -> Check {
        Check::ChannelState {
            channel: "ab".into(),
            on: on.iter().map(ToString::to_string).collect(),
            state: want.into(),
        }
    }

    #[test]
    fn channel_state_must_hold_on_every_listed_end() {
        let mut seen = Observation::default();
        seen.channels
            .insert("a".into(), Ok(vec![view("c1", "ready", 900_000)]));
        seen.channels
            .insert("b".into(), Ok(vec![view("c1", "pending", 100_000)]));
        assert_eq!(state(&["a"], "ready").evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            state(&["a", "b"], "ready").evaluate(&seen, &names()),
            Err("ab is pending on b (want ready)".into())
        );
        assert_eq!(
            state(&["a"], "ready").needs(),
            vec![Need::Channels("a".into())]
        );
    }

    #[test]
    fn a_missing_channel_or_a_down_node_is_a_mismatch_not_a_panic() {
        let mut seen = Observation::default();
        seen.channels.insert("a".into(), Ok(vec![]));
        seen.channels
            .insert("b".into(), Err("connection refused".into()));
        assert_eq!(
            state(&["a"], "ready").evaluate(&seen, &names()),
            Err("a does not list ab".into())
        );
        assert_eq!(
            state(&["b"], "ready").evaluate(&seen, &names()),
            Err("channels of b: connection refused".into())
        );
        let unopened = Check::ChannelState {
            channel: "zz".into(),
            on: vec!["a".into()],
            state: "ready".into(),
        };
        assert_eq!(
            unopened.evaluate(&seen, &names()),
            Err("zz was never opened".into())
        );
    }

    #[test]
    fn how_a_channel_closed_is_each_ends_own_view() {
        let closed = |how: &str| {
            let mut v = view("c1", "closed", 1);
            v.close = Some(crate::scenario::observation::CloseView {
                how: Some(how.into()),
                closing_txid: Some("ff".into()),
            });
            v
        };
        let mut seen = Observation::default();
        seen.channels
            .insert("a".into(), Ok(vec![closed("local_force_close")]));
        seen.channels
            .insert("b".into(), Ok(vec![view("c1", "closing", 1)]));
        let check = |on: &str, how: &str| Check::ClosedHow {
            channel: "ab".into(),
            on: vec![on.into()],
            how: how.into(),
        };
        assert_eq!(
            check("a", "local_force_close").evaluate(&seen, &names()),
            Ok(())
        );
        assert_eq!(
            check("a", "cooperative").evaluate(&seen, &names()),
            Err("ab closed local_force_close on a (want cooperative)".into())
        );
        assert_eq!(
            check("b", "remote_force_close").evaluate(&seen, &names()),
            Err(
                "ab is closing on b, no spend of its funding seen (want remote_force_close)".into()
            )
        );
        assert_eq!(
            check("b", "cooperative").needs(),
            vec![Need::Channels("b".into())]
        );
    }

    #[test]
    fn balances_compare_exactly() {
        let mut seen = Observation::default();
        seen.channels
            .insert("a".into(), Ok(vec![view("c1", "ready", 900_000)]));
        let check = |msat| Check::ChannelBalance {
            channel: "ab".into(),
            msat: vec![("a".into(), msat)],
        };
        assert_eq!(check(900_000).evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            check(900_001).evaluate(&seen, &names()),
            Err("a holds 900_000 msat in ab (want 900_001)".into())
        );
    }

    #[test]
    fn events_are_looked_up_by_kind() {
        let mut seen = Observation::default();
        let event = |kind: &str| EventView {
            event: kind.into(),
            time: 1,
            height: Some(101),
            details: serde_json::Map::new(),
        };
        seen.histories.insert(
            ("a".into(), "c1".into()),
            Ok(vec![event("opened"), event("ready")]),
        );
        let check = |kind: &str| Check::ChannelEvent {
            channel: "ab".into(),
            on: vec!["a".into()],
            event: kind.into(),
        };
        assert_eq!(check("ready").evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            check("closed").evaluate(&seen, &names()),
            Err("no `closed` in the history of ab on a (it has: opened, ready)".into())
        );
    }

    #[test]
    fn channel_counts_skip_abandoned_and_filter_by_state() {
        let mut seen = Observation::default();
        seen.channels.insert(
            "a".into(),
            Ok(vec![
                view("c1", "ready", 1),
                view("c2", "pending", 1),
                view("c3", "abandoned", 1),
            ]),
        );
        let count = |n, state: Option<&str>| Check::NumChannels {
            node: "a".into(),
            count: n,
            state: state.map(str::to_string),
        };
        assert_eq!(count(2, None).evaluate(&seen, &names()), Ok(()));
        assert_eq!(count(1, Some("ready")).evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            count(2, Some("ready")).evaluate(&seen, &names()),
            Err("a has 1 channel ready (want 2; states: ready, pending, abandoned)".into())
        );
    }

    #[test]
    fn wallet_and_spent_allow_the_tolerance_either_way() {
        let mut seen = Observation::default();
        seen.wallets.insert(
            "a".into(),
            Ok(WalletView {
                confirmed_sat: 3_000,
                unconfirmed_sat: 900,
                locked_sat: 0,
                immature_sat: 0,
            }),
        );
        let wallet = |sat, tolerance| Check::Wallet {
            node: "a".into(),
            sat,
            tolerance,
        };
        assert_eq!(wallet(3_900, 0).evaluate(&seen, &names()), Ok(()));
        assert_eq!(wallet(4_000, 100).evaluate(&seen, &names()), Ok(()));
        assert_eq!(wallet(3_800, 100).evaluate(&seen, &names()), Ok(()));
        assert!(wallet(4_001, 100).evaluate(&seen, &names()).is_err());
        // Funded 5_000, holds 3_900: spent 1_100.
        let spent = |sat, tolerance| Check::Spent {
            node: "a".into(),
            sat,
            tolerance,
        };
        assert_eq!(spent(1_100, 0).evaluate(&seen, &names()), Ok(()));
        assert_eq!(spent(1_000, 100).evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            spent(1_000, 99).evaluate(&seen, &names()),
            Err("a spent 1100 sat of the 5_000 it was funded with (want 1_000 ±99)".into())
        );
    }

    #[test]
    fn the_mempool_count_is_exact() {
        let check = Check::Mempool { count: 1 };
        assert_eq!(check.needs(), vec![Need::Mempool]);
        let mut seen = Observation::default();
        assert_eq!(
            check.evaluate(&seen, &names()),
            Err("the mempool not read".into())
        );
        seen.mempool = Some(Ok(vec![]));
        assert_eq!(
            check.evaluate(&seen, &names()),
            Err("the mempool holds 0 transactions (want 1)".into())
        );
        seen.mempool = Some(Ok(vec!["ab".into()]));
        assert_eq!(check.evaluate(&seen, &names()), Ok(()));
        seen.mempool = Some(Err("connection refused".into()));
        assert_eq!(
            check.evaluate(&seen, &names()),
            Err("the mempool: connection refused".into())
        );
    }

    #[test]
    fn connected_reads_the_peer_list() {
        let mut seen = Observation::default();
        seen.peers.insert(
            "a".into(),
            Ok(vec![PeerView {
                node_id: "02bb".into(),
                connected: false,
            }]),
        );
        let check = |connected| Check::Connected {
            node: "a".into(),
            peer: "b".into(),
            connected,
        };
        assert_eq!(
            check(true).evaluate(&seen, &names()),
            Err("a is not connected to b".into())
        );
        assert_eq!(check(false).evaluate(&seen, &names()), Ok(()));
    }

    #[test]
    fn payments_and_invoices_are_counted_by_status() {
        use crate::scenario::observation::{InvoiceView, PaymentView};
        let payment = |status: &str| PaymentView {
            status: status.into(),
            payment_hash: String::new(),
            amount_msat: 1,
            fee_msat: 0,
            failure: None,
        };
        let mut seen = Observation::default();
        seen.payments.insert(
            "a".into(),
            Ok(vec![
                payment("succeeded"),
                payment("failed"),
                payment("succeeded"),
            ]),
        );
        let payments = |status: &str, count| Check::Payments {
            node: "a".into(),
            status: status.into(),
            count,
        };
        assert_eq!(
            payments("succeeded", 2).needs(),
            vec![Need::Payments("a".into())]
        );
        assert_eq!(payments("succeeded", 2).evaluate(&seen, &names()), Ok(()));
        assert_eq!(payments("pending", 0).evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            payments("failed", 0).evaluate(&seen, &names()),
            Err("a has 1 payment failed (want 0; all: 1 failed, 2 succeeded)".into())
        );
        let invoices = Check::Invoices {
            node: "a".into(),
            status: "paid".into(),
            count: 1,
        };
        assert_eq!(
            invoices.evaluate(&seen, &names()),
            Err("invoices of a not read".into())
        );
        seen.invoices.insert(
            "a".into(),
            Ok(vec![InvoiceView {
                payment_hash: String::new(),
                kind: "keysend".into(),
                status: "paid".into(),
                amount_msat: None,
                received_msat: 5,
            }]),
        );
        assert_eq!(invoices.evaluate(&seen, &names()), Ok(()));
        seen.invoices.insert("a".into(), Ok(vec![]));
        assert_eq!(
            invoices.evaluate(&seen, &names()),
            Err("a has 0 invoices paid (want 1; all: none)".into())
        );
    }

    #[test]
    fn usable_needs_the_nodes_word_for_it() {
        let mut seen = Observation::default();
        let mut up = view("c1", "ready", 1);
        up.usable = Some(true);
        seen.channels.insert("a".into(), Ok(vec![up]));
        seen.channels
            .insert("b".into(), Ok(vec![view("c1", "ready", 1)]));
        let check = |on: &str, usable| Check::ChannelUsable {
            channel: "ab".into(),
            on: vec![on.into()],
            usable,
        };
        assert_eq!(check("a", true).evaluate(&seen, &names()), Ok(()));
        assert_eq!(
            check("a", false).evaluate(&seen, &names()),
            Err("ab is usable on a (ready)".into())
        );
        assert_eq!(
            check("b", true).evaluate(&seen, &names()),
            Err("b does not say whether ab is usable (no `usable` in `channels`)".into())
        );
    }
}
