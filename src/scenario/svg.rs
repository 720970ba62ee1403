//! The picture of the network after a step: nodes on a circle, channels as bars between them.
//!
//! Each channel is drawn from its initiator to its responder and split where the balance
//! splits: the part next to a node, in that node's colour, is what that node holds. Several
//! channels between one pair run side by side. Pending channels are dashed, closing ones
//! dotted, closed or abandoned ones grey; a node whose process is down is drawn hollow.
//! Hovering shows the details (SVG `<title>`), so the page needs no script.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write;

use super::report::{ChannelSnapshot, Snapshot};
use super::step::group;

const WIDTH: f64 = 560.0;
const NODE_RADIUS: f64 = 27.0;
/// Distance between side-by-side channels of one pair.
const LANE: f64 = 15.0;
const GREY: &str = "#a0aec0";

/// Node colours, by declaration order.
const PALETTE: &[&str] = &[
    "#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568",
];

/// The colour of the `i`-th declared node.
pub fn node_colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An amount of sat, short: `12.50 BTC`, `1.5M sat`, `250k sat`, `900 sat`.
pub fn compact_sat(sat: u64) -> String {
    if sat >= 100_000_000 {
        format!(
            "{}.{:02} BTC",
            sat / 100_000_000,
            sat % 100_000_000 / 1_000_000
        )
    } else if sat >= 1_000_000 {
        let tenths = sat % 1_000_000 / 100_000;
        if tenths == 0 {
            format!("{}M sat", sat / 1_000_000)
        } else {
            format!("{}.{tenths}M sat", sat / 1_000_000)
        }
    } else if sat >= 1_000 {
        format!("{}k sat", sat / 1_000)
    } else {
        format!("{sat} sat")
    }
}

/// `part / whole` in thousandths (0 when `whole` is 0), without overflow.
fn permille(part: u64, whole: u64) -> u32 {
    if whole == 0 {
        return 0;
    }
    u32::try_from(u128::from(part) * 1000 / u128::from(whole)).unwrap_or(1000)
}

fn as_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// A point.
#[derive(Clone, Copy)]
struct P {
    x: f64,
    y: f64,
}

impl P {
    fn lerp(self, to: P, t: f64) -> P {
        P {
            x: self.x + (to.x - self.x) * t,
            y: self.y + (to.y - self.y) * t,
        }
    }
}

/// The picture's height: two nodes sit on one line and need less.
fn height(n: usize) -> f64 {
    if n <= 2 {
        190.0
    } else {
        350.0
    }
}

/// Where each node sits: on an ellipse as wide as the picture, the first at the left,
/// clockwise.
fn layout(n: usize) -> Vec<P> {
    let (cx, cy) = (WIDTH / 2.0, height(n) / 2.0 - 12.0);
    let (rx, ry) = match n {
        0 | 1 => (0.0, 0.0),
        2 => (170.0, 0.0),
        _ => (205.0, 118.0),
    };
    (0..n)
        .map(|i| {
            let angle = PI + 2.0 * PI * as_f64(i) / as_f64(n);
            P {
                x: cx + rx * angle.cos(),
                y: cy + ry * angle.sin(),
            }
        })
        .collect()
}

/// Renders the network as an inline `<svg>` element.
pub fn render(snapshot: &Snapshot) -> String {
    let positions = layout(snapshot.nodes.len());
    let full_height = height(snapshot.nodes.len());
    let index: BTreeMap<&str, usize> = snapshot
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {full_height}" role="img" class="net">"#
    );
    if let Some(h) = snapshot.height {
        let _ = write!(out, r#"<text x="8" y="16" class="meta">height {h}</text>"#);
    }
    // Channels under nodes. Lanes per unordered pair, so a->b and b->a sit side by side.
    let mut lanes: BTreeMap<(usize, usize), Vec<&ChannelSnapshot>> = BTreeMap::new();
    for c in &snapshot.channels {
        if let (Some(&a), Some(&b)) = (index.get(c.from.as_str()), index.get(c.to.as_str())) {
            lanes.entry((a.min(b), a.max(b))).or_default().push(c);
        }
    }
    let widest = snapshot
        .channels
        .iter()
        .map(|c| c.capacity_sat)
        .max()
        .unwrap_or(1)
        .max(1);
    for ((lo, hi), list) in &lanes {
        let (a, b) = (positions[*lo], positions[*hi]);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let normal = P {
            x: -dy / len,
            y: dx / len,
        };
        for (lane, channel) in list.iter().enumerate() {
            let offset = (as_f64(lane) - as_f64(list.len() - 1) / 2.0) * LANE;
            channel_bar(
                &mut out,
                channel,
                (index[channel.from.as_str()], index[channel.to.as_str()]),
                &positions,
                (normal, offset),
                widest,
            );
        }
    }
    for (i, node) in snapshot.nodes.iter().enumerate() {
        let p = positions[i];
        let colour = node_colour(i);
        let name = escape(&node.name);
        let wallet = node.wallet_sat.map(compact_sat).unwrap_or_default();
        let peers = if node.connected.is_empty() {
            "no peers".to_string()
        } else {
            format!("connected to {}", node.connected.join(", "))
        };
        let status = if node.up { "" } else { " (down)" };
        let _ = write!(
            out,
            r#"<g class="node"><title>{name}{status}: wallet {}; {}</title>"#,
            escape(&wallet),
            escape(&peers)
        );
        if node.up {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{NODE_RADIUS}" fill="{colour}" stroke="#1a202c" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" class="name">{name}</text>"##,
                p.x,
                p.y,
                p.x,
                p.y + 4.0
            );
        } else {
            let _ = write!(
                out,
                r##"<circle cx="{:.1}" cy="{:.1}" r="{NODE_RADIUS}" fill="#fff" stroke="{colour}" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" class="name down" fill="{colour}">{name}</text>"##,
                p.x,
                p.y,
                p.x,
                p.y + 4.0
            );
        }
        let below = if node.up {
            escape(&wallet)
        } else {
            "down".to_string()
        };
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{:.1}" class="wallet">{below}</text></g>"#,
            p.x,
            p.y + NODE_RADIUS + 14.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="8" y="{:.0}" class="meta">each side of a channel, in its node's colour, is that node's balance</text><text x="8" y="{:.0}" class="meta">solid: ready · dashed: pending · dotted: closing · grey: closed · hollow node: down</text>"#,
        full_height - 20.0,
        full_height - 7.0
    );
    out.push_str("</svg>");
    out
}

/// One channel: two segments split at the balance, a label, and a tooltip.
fn channel_bar(
    out: &mut String,
    c: &ChannelSnapshot,
    (from, to): (usize, usize),
    positions: &[P],
    (normal, offset): (P, f64),
    widest: u64,
) {
    let shift = |p: P| P {
        x: p.x + normal.x * offset,
        y: p.y + normal.y * offset,
    };
    let (tail, head) = (shift(positions[from]), shift(positions[to]));
    let len = ((head.x - tail.x).powi(2) + (head.y - tail.y).powi(2))
        .sqrt()
        .max(1.0);
    let inset = (NODE_RADIUS + 2.0) / len;
    let (start, end) = (tail.lerp(head, inset), tail.lerp(head, 1.0 - inset));
    let capacity_msat = c.capacity_sat.saturating_mul(1000).max(1);
    let from_share = permille(c.from_msat.min(capacity_msat), capacity_msat);
    let split = start.lerp(end, f64::from(from_share) / 1000.0);
    let width = 3.0 + 6.0 * f64::from(permille(c.capacity_sat.min(widest), widest)) / 1000.0;
    let (dash, opacity, grey) = match c.state.as_str() {
        "ready" => ("", 1.0, false),
        "pending" => (r#" stroke-dasharray="8 5""#, 0.85, false),
        "closing" => (r#" stroke-dasharray="2 4""#, 0.85, false),
        _ => ("", 0.55, true),
    };
    let (from_colour, to_colour) = if grey {
        (GREY, GREY)
    } else {
        (node_colour(from), node_colour(to))
    };
    let states: Vec<String> = c.states.iter().map(|(n, s)| format!("{n}: {s}")).collect();
    let _ = write!(
        out,
        r#"<g class="channel"><title>{} ({} -> {}), {} sat, {}; {} holds {} msat, {} holds {} msat{}</title>"#,
        escape(&c.name),
        escape(&c.from),
        escape(&c.to),
        group(c.capacity_sat),
        escape(&states.join(", ")),
        escape(&c.from),
        group(c.from_msat),
        escape(&c.to),
        group(c.to_msat),
        c.short_channel_id
            .as_ref()
            .map(|s| format!(", scid {}", escape(s)))
            .unwrap_or_default()
    );
    for (p, q, colour) in [(start, split, from_colour), (split, end, to_colour)] {
        let _ = write!(
            out,
            r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="{width:.1}" stroke-opacity="{opacity}"{dash}/>"#,
            p.x, p.y, q.x, q.y
        );
    }
    // The label runs along the bar, never upside down, on the side its lane leans to (above
    // a lone bar), so side-by-side channels keep their labels apart.
    let mut angle = (end.y - start.y).atan2(end.x - start.x).to_degrees();
    if angle > 90.0 {
        angle -= 180.0;
    } else if angle < -90.0 {
        angle += 180.0;
    }
    let up = P {
        x: angle.to_radians().sin(),
        y: -angle.to_radians().cos(),
    };
    let toward = if offset == 0.0 {
        up
    } else {
        let sign = offset.signum();
        P {
            x: normal.x * sign,
            y: normal.y * sign,
        }
    };
    let above = toward.x * up.x + toward.y * up.y >= 0.0;
    // Baseline distance from the bar's centre: just clear of it above, one line below.
    let distance = width / 2.0 + if above { 3.0 } else { 11.0 };
    let mid = start.lerp(end, 0.5);
    let at = P {
        x: mid.x + toward.x * distance,
        y: mid.y + toward.y * distance,
    };
    // The state is the bar's style (and in the tooltip); the label stays short enough for
    // the shortest bars.
    let _ = write!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" class="label" transform="rotate({angle:.1} {x:.1} {y:.1})">{name} · {capacity}</text></g>"#,
        x = at.x,
        y = at.y,
        name = escape(&c.name),
        capacity = escape(&compact_sat(c.capacity_sat)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::report::NodeState;

    fn node(name: &str, up: bool) -> NodeState {
        NodeState {
            name: name.into(),
            up,
            wallet_sat: Some(4_999_000_000),
            connected: vec![],
        }
    }

    fn channel(name: &str, from: &str, to: &str, state: &str, from_msat: u64) -> ChannelSnapshot {
        ChannelSnapshot {
            name: name.into(),
            channel_id: "00".into(),
            from: from.into(),
            to: to.into(),
            capacity_sat: 1_000_000,
            state: state.into(),
            states: BTreeMap::new(),
            from_msat,
            to_msat: 1_000_000_000u64.saturating_sub(from_msat),
            short_channel_id: Some("102x1x1".into()),
        }
    }

    #[test]
    fn amounts_are_short() {
        assert_eq!(compact_sat(5_000_000_000), "50.00 BTC");
        assert_eq!(compact_sat(4_998_999_695), "49.98 BTC");
        assert_eq!(compact_sat(1_000_000), "1M sat");
        assert_eq!(compact_sat(1_500_000), "1.5M sat");
        assert_eq!(compact_sat(250_000), "250k sat");
        assert_eq!(compact_sat(999), "999 sat");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_balance_split_is_drawn_in_each_owner_colour() {
        let snap = Snapshot {
            height: Some(104),
            nodes: vec![node("alice", true), node("bob", false)],
            channels: vec![
                channel("ab", "alice", "bob", "ready", 900_000_000),
                channel("ba", "bob", "alice", "pending", 1_000_000_000),
            ],
        };
        let svg = render(&snap);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("height 104"));
        // Two bars, each two segments, in alice's and bob's colours.
        assert_eq!(svg.matches("<line ").count(), 4);
        assert!(svg.contains(node_colour(0)) && svg.contains(node_colour(1)));
        // Pending is dashed; bob is down and drawn hollow.
        assert_eq!(svg.matches("stroke-dasharray=\"8 5\"").count(), 2);
        assert!(svg.contains("class=\"name down\""));
        assert!(
            svg.contains("alice holds 900_000_000 msat, bob holds 100_000_000 msat, scid 102x1x1")
        );
        assert!(svg.contains(">ab · 1M sat<"));
        assert!(svg.contains(">ba · 1M sat<"));
        assert!(svg.contains("49.99 BTC"));
    }

    #[test]
    fn side_by_side_channels_do_not_overlap() {
        let snap = Snapshot {
            height: None,
            nodes: vec![node("a", true), node("b", true)],
            channels: vec![
                channel("x", "a", "b", "ready", 1),
                channel("y", "b", "a", "ready", 1),
            ],
        };
        let svg = render(&snap);
        let ys: Vec<&str> = svg
            .split("<line ")
            .skip(1)
            .map(|l| l.split("y1=\"").nth(1).unwrap().split('"').next().unwrap())
            .collect();
        assert_eq!(ys.len(), 4);
        assert_ne!(ys[0], ys[2], "two lanes at different heights: {ys:?}");
    }

    #[test]
    fn closed_channels_are_grey_and_odd_balances_do_not_panic() {
        let mut closed = channel("c", "a", "b", "closed", u64::MAX);
        closed.capacity_sat = 0;
        let snap = Snapshot {
            height: None,
            nodes: vec![node("a", true), node("b", true), node("c", true)],
            channels: vec![closed, channel("d", "a", "zz", "ready", 0)],
        };
        let svg = render(&snap);
        assert_eq!(svg.matches(GREY).count(), 2);
        // The channel to an unknown node is left out, not drawn to nowhere.
        assert_eq!(svg.matches("<line ").count(), 2);
    }
}
