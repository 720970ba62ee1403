//! `wait` and `assert`: the checks a step's keys ask for, validated against the channels and
//! nodes declared so far.

use std::ops::Range;
use std::time::Duration;

use super::{RawStep, Validator, DEFAULT_WAIT};
use crate::scenario::step::{Check, Step, CHANNEL_STATES, CLOSE_KINDS};

impl Validator<'_> {
    /// `wait` and `assert`: one or more checks from the keys present.
    pub(super) fn checks(&mut self, raw: &RawStep) -> Option<Step> {
        let kind = raw.kind.get_ref().as_str();
        let channel = match &raw.channel {
            Some(c) => Some(self.channel(c)?),
            None => None,
        };
        let node = match &raw.node {
            Some(n) => Some((self.node(n)?, n.span())),
            None => None,
        };
        let mut checks = Vec::new();
        // The nodes whose view of the channel counts: `node` if given (an end), else both.
        let ends = |v: &mut Self| -> Option<Vec<String>> {
            let (name, from, to) = channel.clone()?;
            match &node {
                Some((n, span)) if n != &from && n != &to => {
                    v.error(
                        span.clone(),
                        format!("`{n}` is not an end of `{name}` ({from}, {to})"),
                    );
                    None
                }
                Some((n, _)) => Some(vec![n.clone()]),
                None => Some(vec![from, to]),
            }
        };
        let need_channel = |v: &mut Self, key: &str, span: Range<usize>| {
            v.error(span, format!("`{key}` needs `channel`"));
        };
        if let Some(state) = &raw.state {
            if !CHANNEL_STATES.contains(&state.get_ref().as_str()) {
                self.error(
                    state.span(),
                    format!(
                        "unknown channel state `{}` (states: {})",
                        state.get_ref(),
                        CHANNEL_STATES.join(", ")
                    ),
                );
                return None;
            }
            if raw.num_channels.is_none() {
                if channel.is_none() {
                    self.error(state.span(), "`state` needs `channel` or `num-channels`");
                    return None;
                }
                checks.push(Check::ChannelState {
                    channel: channel.clone()?.0,
                    on: ends(self)?,
                    state: state.get_ref().clone(),
                });
            }
        }
        if let Some(usable) = &raw.usable {
            if channel.is_none() {
                need_channel(self, "usable", usable.span());
                return None;
            }
            checks.push(Check::ChannelUsable {
                channel: channel.clone()?.0,
                on: ends(self)?,
                usable: *usable.get_ref(),
            });
        }
        if let Some(event) = &raw.event {
            if channel.is_none() {
                need_channel(self, "event", event.span());
                return None;
            }
            checks.push(Check::ChannelEvent {
                channel: channel.clone()?.0,
                on: ends(self)?,
                event: event.get_ref().clone(),
            });
        }
        if let Some(how) = &raw.how {
            let Some((name, _, _)) = channel.clone() else {
                need_channel(self, "how", how.span());
                return None;
            };
            let kind = how.get_ref().as_str();
            if !CLOSE_KINDS.contains(&kind) {
                self.error(
                    how.span(),
                    format!(
                        "unknown way to close `{kind}` (ways: {})",
                        CLOSE_KINDS.join(", ")
                    ),
                );
                return None;
            }
            // Which commitment went on chain differs by end: one end's "local" is the other's
            // "remote".
            if kind.ends_with("_force_close") && node.is_none() {
                self.error(
                    how.span(),
                    format!("`how = \"{kind}\"` is one end's view: say which with `node`"),
                );
                return None;
            }
            checks.push(Check::ClosedHow {
                channel: name,
                on: ends(self)?,
                how: kind.to_string(),
            });
        }
        if let Some(balances) = &raw.balance_msat {
            let Some((name, from, to)) = channel.clone() else {
                need_channel(self, "balance-msat", balances.span());
                return None;
            };
            if balances.get_ref().is_empty() {
                self.error(balances.span(), "`balance-msat` is empty");
                return None;
            }
            let mut msat = Vec::new();
            for (n, v) in balances.get_ref() {
                if n.get_ref() != &from && n.get_ref() != &to {
                    self.error(
                        n.span(),
                        format!("`{}` is not an end of `{name}` ({from}, {to})", n.get_ref()),
                    );
                    return None;
                }
                msat.push((n.get_ref().clone(), *v));
            }
            checks.push(Check::ChannelBalance {
                channel: name,
                msat,
            });
        }
        let need_node = |v: &mut Self, key: &str, span: Range<usize>| {
            v.error(span, format!("`{key}` needs `node`"));
        };
        if let Some(count) = &raw.num_channels {
            let Some((n, _)) = &node else {
                need_node(self, "num-channels", count.span());
                return None;
            };
            if let Some(c) = &raw.channel {
                self.error(
                    c.span(),
                    "`num-channels` counts a node's channels; drop `channel`",
                );
                return None;
            }
            checks.push(Check::NumChannels {
                node: n.clone(),
                count: *count.get_ref(),
                state: raw.state.as_ref().map(|s| s.get_ref().clone()),
            });
        }
        let tolerance = raw.tolerance_sat.as_ref().map_or(0, |t| *t.get_ref());
        if let Some(t) = &raw.tolerance_sat {
            if raw.wallet_sat.is_none() && raw.spent_sat.is_none() {
                self.error(
                    t.span(),
                    "`tolerance-sat` goes with `wallet-sat` or `spent-sat`",
                );
                return None;
            }
        }
        for (key, value, spent) in [
            ("wallet-sat", &raw.wallet_sat, false),
            ("spent-sat", &raw.spent_sat, true),
        ] {
            let Some(value) = value else { continue };
            let Some((n, _)) = &node else {
                need_node(self, key, value.span());
                return None;
            };
            let (node, sat) = (n.clone(), *value.get_ref());
            checks.push(if spent {
                Check::Spent {
                    node,
                    sat,
                    tolerance,
                }
            } else {
                Check::Wallet {
                    node,
                    sat,
                    tolerance,
                }
            });
        }
        match (&raw.connected, &raw.peer) {
            (Some(connected), Some(peer)) => {
                let Some((n, _)) = &node else {
                    need_node(self, "connected", connected.span());
                    return None;
                };
                let peer_name = self.node(peer)?;
                if &peer_name == n {
                    self.error(peer.span(), "a node is not its own peer");
                    return None;
                }
                checks.push(Check::Connected {
                    node: n.clone(),
                    peer: peer_name,
                    connected: *connected.get_ref(),
                });
            }
            (Some(connected), None) => {
                self.error(connected.span(), "`connected` needs `peer`");
                return None;
            }
            (None, Some(peer)) => {
                self.error(peer.span(), "`peer` goes with `connected`");
                return None;
            }
            (None, None) => {}
        }
        if let Some(count) = &raw.mempool_txs {
            checks.push(Check::Mempool {
                count: *count.get_ref(),
            });
        }
        self.count_checks(raw, node.as_ref().map(|(n, _)| n.as_str()), &mut checks)?;
        if checks.is_empty() {
            self.error(
                raw.kind.span(),
                format!(
                    "`{kind}` needs something to check: state, usable, event, how, \
                     balance-msat, num-channels, wallet-sat, spent-sat, connected, \
                     mempool-txs, payments-STATUS or invoices-STATUS"
                ),
            );
            return None;
        }
        if kind == "assert" {
            return Some(Step::Assert { checks });
        }
        let timeout = match &raw.timeout_secs {
            Some(t) if !(1..=3600).contains(t.get_ref()) => {
                self.error(t.span(), "`timeout-secs` must be between 1 and 3600");
                return None;
            }
            Some(t) => Duration::from_secs(*t.get_ref()),
            None => DEFAULT_WAIT,
        };
        Some(Step::Wait { checks, timeout })
    }

    /// `payments-succeeded` and the other counts of a node's payments and invoices.
    fn count_checks(
        &mut self,
        raw: &RawStep,
        node: Option<&str>,
        checks: &mut Vec<Check>,
    ) -> Option<()> {
        let counts = [
            ("payments-succeeded", &raw.payments_succeeded),
            ("payments-failed", &raw.payments_failed),
            ("payments-pending", &raw.payments_pending),
            ("invoices-open", &raw.invoices_open),
            ("invoices-paid", &raw.invoices_paid),
            ("invoices-expired", &raw.invoices_expired),
        ];
        for (key, value) in counts {
            let Some(value) = value else { continue };
            let Some(node) = node else {
                self.error(value.span(), format!("`{key}` needs `node`"));
                return None;
            };
            let (node, count) = (node.to_string(), *value.get_ref());
            checks.push(match key.split_once('-') {
                Some(("payments", status)) => Check::Payments {
                    node,
                    status: status.to_string(),
                    count,
                },
                Some((_, status)) => Check::Invoices {
                    node,
                    status: status.to_string(),
                    count,
                },
                None => continue,
            });
        }
        Some(())
    }
}
