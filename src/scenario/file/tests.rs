use super::*;
use crate::scenario::step::{Check, Expect, PaySpec, PayWhat};

fn errors(text: &str) -> Vec<(usize, usize, String)> {
    match parse(text, "t.toml", "t") {
        Ok(s) => panic!("expected errors, parsed {s:?}"),
        Err(e) => e
            .errors
            .into_iter()
            .map(|e| (e.line, e.column, e.message))
            .collect(),
    }
}

fn one_error(text: &str) -> (usize, usize, String) {
    let mut all = errors(text);
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

const NODES: &str = "[nodes.alice]\n[nodes.bob]\n";

#[test]
fn a_full_file_becomes_typed_steps() {
    let text = r#"
name = "demo"
description = "what it shows"

[nodes.zed]
[nodes.alice]
minimum-depth = 6

[[step]]
do = "fund"
nodes = ["zed", "alice"]
sat = 3_000_000
coins = 2

[[step]]
do = "connect"
from = "zed"
to = "alice"

[[step]]
do = "open"
from = "zed"
to = "alice"
sat = 1_000_000
push-msat = 10_000
note = "the first one"

[[step]]
do = "open"
channels = [
  { channel = "b", from = "alice", to = "zed", sat = 500_000 },
  { channel = "c", from = "alice", to = "zed", sat = 600_000, min-depth = 4 },
]

[[step]]
do = "mine"
blocks = 3

[[step]]
do = "wait"
channel = "zed-alice"
state = "ready"
timeout-secs = 20

[[step]]
do = "assert"
channel = "zed-alice"
node = "alice"
event = "ready"
balance-msat = { zed = 999_990_000, alice = 10_000 }

[[step]]
do = "assert"
node = "zed"
num-channels = 3
state = "ready"
spent-sat = 1_000_000
tolerance-sat = 1_000

[[step]]
do = "wait"
node = "alice"
peer = "zed"
connected = true

[[step]]
do = "restart"
node = "alice"
kill = true

[[step]]
do = "close"
channel = "b"
force = true
"#;
    let s = parse(text, "demo.toml", "ignored").unwrap();
    assert_eq!(s.name, "demo");
    assert_eq!(s.description, "what it shows");
    // File order, not alphabetical.
    let names: Vec<&str> = s.node_names().collect();
    assert_eq!(names, ["zed", "alice"]);
    assert_eq!(s.nodes[1].settings.minimum_depth, Some(6));
    assert_eq!(s.steps.len(), 11);
    assert_eq!(s.steps[0].line, 10);
    assert_eq!(
        s.steps[0].step,
        Step::Fund {
            nodes: vec!["zed".into(), "alice".into()],
            sat: 3_000_000,
            coins: 2
        }
    );
    assert_eq!(s.steps[2].note.as_deref(), Some("the first one"));
    let Step::Open { channels } = &s.steps[2].step else {
        panic!()
    };
    assert_eq!(channels[0].name, "zed-alice");
    assert_eq!(channels[0].push_msat, 10_000);
    let Step::Open { channels } = &s.steps[3].step else {
        panic!()
    };
    assert_eq!(channels.len(), 2);
    assert_eq!(channels[1].min_depth, Some(4));
    assert_eq!(
        s.steps[5].step,
        Step::Wait {
            checks: vec![Check::ChannelState {
                channel: "zed-alice".into(),
                on: vec!["zed".into(), "alice".into()],
                state: "ready".into()
            }],
            timeout: Duration::from_secs(20)
        }
    );
    assert_eq!(
        s.steps[6].step,
        Step::Assert {
            checks: vec![
                Check::ChannelEvent {
                    channel: "zed-alice".into(),
                    on: vec!["alice".into()],
                    event: "ready".into()
                },
                Check::ChannelBalance {
                    channel: "zed-alice".into(),
                    msat: vec![("alice".into(), 10_000), ("zed".into(), 999_990_000)]
                }
            ]
        }
    );
    assert_eq!(
        s.steps[7].step,
        Step::Assert {
            checks: vec![
                Check::NumChannels {
                    node: "zed".into(),
                    count: 3,
                    state: Some("ready".into())
                },
                Check::Spent {
                    node: "zed".into(),
                    sat: 1_000_000,
                    tolerance: 1_000
                }
            ]
        }
    );
    assert_eq!(
        s.steps[10].step,
        Step::Close {
            channel: "b".into(),
            by: "alice".into(),
            force: true,
            feerate: None
        }
    );
    assert_eq!(s.channels().count(), 3);
}

#[test]
fn the_name_defaults_to_the_file_stem() {
    let text = format!("{NODES}[[step]]\ndo = \"mine\"\nblocks = 1\n");
    assert_eq!(parse(&text, "x.toml", "stem").unwrap().name, "stem");
}

#[test]
fn an_unknown_step_is_named_with_a_suggestion() {
    let text = format!("{NODES}\n[[step]]\ndo = \"fnud\"\nnode = \"alice\"\n");
    assert_eq!(
        one_error(&text),
        (5, 6, "unknown step `fnud`; did you mean `fund`?".into())
    );
    let text = format!("{NODES}\n[[step]]\ndo = \"dance\"\n");
    let (_, _, message) = one_error(&text);
    assert!(message.contains("steps: fund, connect"), "{message}");
}

/// Two invoices by bob (1_000 msat and any amount), then `steps` (TOML text).
fn with_invoices(steps: &str) -> String {
    format!(
        "{NODES}[[step]]\ndo = \"invoice\"\nnode = \"bob\"\nname = \"coffee\"\namount-msat = 1_000\n\
         [[step]]\ndo = \"invoice\"\nnode = \"bob\"\nname = \"tip\"\namount-msat = \"any\"\n{steps}"
    )
}

#[test]
fn invoices_and_payments_become_typed_steps() {
    let text = with_invoices(
        r#"[[step]]
do = "pay"
from = "alice"
invoice = "coffee"

[[step]]
do = "pay"
from = "alice"
invoice = "tip"
amount-msat = 5_000

[[step]]
do = "pay"
from = "bob"
to = "alice"
amount-msat = 100_001
count = 250
expect = "failure"
timeout-secs = 5

[[step]]
do = "wait"
node = "alice"
payments-succeeded = 2
payments-failed = 0
invoices-paid = 1

[[step]]
do = "assert"
channel = "alice-bob"
usable = true
"#,
    )
    .replace("[[step]]\ndo = \"assert\"", OPEN_AB);
    let s = parse(&text, "t.toml", "t").unwrap();
    assert_eq!(
        s.steps[1].step,
        Step::Invoice {
            node: "bob".into(),
            name: "tip".into(),
            amount_msat: None,
            description: None
        }
    );
    assert_eq!(
        s.steps[0].step.to_string(),
        "invoice coffee by bob for 1_000 msat"
    );
    assert_eq!(
        s.steps[1].step.to_string(),
        "invoice tip by bob for any amount"
    );
    let pay = |i: usize| match &s.steps[i].step {
        Step::Pay(p) => p.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        pay(2),
        PaySpec {
            from: "alice".into(),
            to: "bob".into(),
            what: PayWhat::Invoice {
                name: "coffee".into(),
                amount_msat: None
            },
            count: 1,
            expect: Expect::Success,
            timeout_secs: 60,
        }
    );
    assert_eq!(
        s.steps[2].step.to_string(),
        "pay invoice coffee alice -> bob"
    );
    assert_eq!(
        s.steps[3].step.to_string(),
        "pay invoice tip alice -> bob 5_000 msat"
    );
    let keysends = pay(4);
    assert_eq!(
        keysends.what,
        PayWhat::Keysend {
            amount_msat: 100_001
        }
    );
    assert_eq!(
        (keysends.count, keysends.expect, keysends.timeout_secs),
        (250, Expect::Failure, 5)
    );
    assert_eq!(
        s.steps[4].step.to_string(),
        "250 keysends bob -> alice of 100_001 msat, expecting failure"
    );
    assert_eq!(s.steps[4].step.nodes(), ["bob", "alice"]);
    let Step::Wait { checks, .. } = &s.steps[5].step else {
        panic!()
    };
    let titles: Vec<String> = checks.iter().map(ToString::to_string).collect();
    assert_eq!(
        titles,
        [
            "alice has 2 payments succeeded",
            "alice has 0 payments failed",
            "alice has 1 invoice paid"
        ]
    );
    assert_eq!(
        s.steps.last().unwrap().step,
        Step::Assert {
            checks: vec![Check::ChannelUsable {
                channel: "alice-bob".into(),
                on: vec!["alice".into(), "bob".into()],
                usable: true
            }]
        }
    );
}

/// An open of `alice-bob` before an assert, for tests that check a channel.
const OPEN_AB: &str =
    "[[step]]\ndo = \"open\"\nfrom = \"alice\"\nto = \"bob\"\nsat = 100_000\n[[step]]\ndo = \"assert\"";

#[test]
fn a_bad_pay_step_is_located_and_explained() {
    // (the pay step's keys after `do = "pay"` and `from = "alice"`, line, message)
    let cases: &[(&str, usize, &str)] = &[
        ("", 14, "`pay` needs `invoice` or `to`"),
        (
            "invoice = \"coffee\"\nto = \"bob\"",
            17,
            "give `invoice` (pay it) or `to` (keysend), not both",
        ),
        (
            "invoice = \"cofee\"",
            16,
            "unknown invoice `cofee`; did you mean `coffee`?",
        ),
        (
            "invoice = \"latte\"",
            16,
            "unknown invoice `latte`: no earlier `invoice` step names it (named so far: coffee, tip)",
        ),
        (
            "invoice = \"coffee\"\namount-msat = 1_000",
            17,
            "`coffee` asks 1_000 msat: `amount-msat` is for invoices of any amount",
        ),
        (
            "invoice = \"tip\"",
            16,
            "`tip` is for any amount: give `amount-msat`",
        ),
        (
            "invoice = \"tip\"\namount-msat = \"any\"",
            17,
            "`amount-msat` is a number of msat above 0",
        ),
        ("to = \"bob\"", 14, "`pay` needs `amount-msat`"),
        (
            "to = \"bob\"\namount-msat = 0",
            17,
            "`amount-msat` is a number of msat above 0",
        ),
        (
            "to = \"alice\"\namount-msat = 1",
            16,
            "a node cannot pay itself",
        ),
        ("to = \"carol\"\namount-msat = 1", 16, "unknown node `carol` (declared: alice, bob)"),
        (
            "to = \"bob\"\namount-msat = 1\ncount = 0",
            18,
            "`count` must be between 1 and 100_000",
        ),
        (
            "to = \"bob\"\namount-msat = 1\nexpect = \"sucess\"",
            18,
            "unknown outcome `sucess`; did you mean `success`?",
        ),
        (
            "to = \"bob\"\namount-msat = 1\nsat = 1",
            18,
            "`sat` does not apply to `pay` (it takes: from, invoice, to, amount-msat, count, \
             expect, timeout-secs)",
        ),
        (
            "to = \"bob\"\nammount-msat = 1",
            17,
            "unknown key `ammount-msat`; did you mean `amount-msat`?",
        ),
    ];
    for (keys, line, message) in cases {
        let text = with_invoices(&format!(
            "[[step]]\ndo = \"pay\"\nfrom = \"alice\"\n{keys}\n"
        ));
        let (l, _, m) = one_error(&text);
        assert_eq!((l, m.as_str()), (*line, *message), "{keys}");
    }
}

#[test]
fn an_invoice_is_paid_once_and_not_by_its_maker() {
    let text = with_invoices(
        "[[step]]\ndo = \"pay\"\nfrom = \"alice\"\ninvoice = \"coffee\"\ncount = 2\n",
    );
    let (line, _, message) = one_error(&text);
    assert_eq!(line, 17);
    assert!(message.starts_with("an invoice is paid once"), "{message}");
    let text = with_invoices("[[step]]\ndo = \"pay\"\nfrom = \"bob\"\ninvoice = \"coffee\"\n");
    assert_eq!(
        one_error(&text),
        (
            16,
            11,
            "`bob` made `coffee`: a node cannot pay itself".into()
        )
    );
    // An invoice named by a later step is not known yet.
    let text = format!(
        "{NODES}[[step]]\ndo = \"pay\"\nfrom = \"alice\"\ninvoice = \"coffee\"\n\
         [[step]]\ndo = \"invoice\"\nnode = \"bob\"\nname = \"coffee\"\namount-msat = 1\n"
    );
    assert_eq!(
        one_error(&text).2,
        "unknown invoice `coffee`: no earlier `invoice` step"
    );
}

#[test]
fn a_bad_invoice_step_is_located_and_explained() {
    let invoice =
        |keys: &str| format!("{NODES}[[step]]\ndo = \"invoice\"\nnode = \"bob\"\n{keys}\n");
    assert_eq!(
        one_error(&invoice("amount-msat = 1")),
        (4, 6, "`invoice` needs `name`".into())
    );
    assert_eq!(
        one_error(&invoice("name = \"x\"")),
        (4, 6, "`invoice` needs `amount-msat`".into())
    );
    assert_eq!(
        one_error(&invoice("name = \"x\"\namount-msat = \"some\"")).2,
        "`amount-msat` is a number of msat above 0, or \"any\""
    );
    assert_eq!(
        one_error(&invoice("name = \"a b\"\namount-msat = 1")).2,
        NAME_RULE
    );
    let twice = with_invoices(
        "[[step]]\ndo = \"invoice\"\nnode = \"alice\"\nname = \"tip\"\namount-msat = 1\n",
    );
    assert_eq!(
        one_error(&twice),
        (16, 8, "invoice name `tip` is already used (line 9)".into())
    );
}

#[test]
fn payment_counts_need_a_node_and_usable_a_channel() {
    let text = format!("{NODES}[[step]]\ndo = \"wait\"\npayments-failed = 0\n");
    assert_eq!(
        one_error(&text),
        (5, 19, "`payments-failed` needs `node`".into())
    );
    let text = format!("{NODES}[[step]]\ndo = \"assert\"\nnode = \"bob\"\nusable = true\n");
    assert_eq!(one_error(&text), (6, 10, "`usable` needs `channel`".into()));
    let text = format!("{NODES}[[step]]\ndo = \"assert\"\nnode = \"bob\"\ninvoices-opne = 1\n");
    assert_eq!(
        one_error(&text).2,
        "unknown key `invoices-opne`; did you mean `invoices-open`?"
    );
}

#[test]
fn disconnect_names_a_node_and_its_peer() {
    let text = format!("{NODES}[[step]]\ndo = \"disconnect\"\nnode = \"alice\"\npeer = \"bob\"\n");
    let s = parse(&text, "t.toml", "t").unwrap();
    assert_eq!(
        s.steps[0].step,
        Step::Disconnect {
            node: "alice".into(),
            peer: "bob".into()
        }
    );
    assert_eq!(s.steps[0].step.to_string(), "disconnect alice from bob");
    let cases = [
        ("node = \"alice\"\n", "`disconnect` needs `peer`"),
        ("peer = \"bob\"\n", "`disconnect` needs `node`"),
        (
            "node = \"alice\"\npeer = \"alice\"\n",
            "a node is not its own peer",
        ),
        (
            "node = \"alice\"\npeer = \"carol\"\n",
            "unknown node `carol`",
        ),
        (
            "from = \"alice\"\nto = \"bob\"\n",
            "`from` does not apply to `disconnect` (it takes: node, peer)",
        ),
    ];
    for (extra, expected) in cases {
        let text = format!("{NODES}[[step]]\ndo = \"disconnect\"\n{extra}");
        let (_, _, message) = errors(&text).remove(0);
        assert!(message.contains(expected), "{extra:?}: {message}");
    }
}

#[test]
fn how_a_channel_closed_is_checked_per_end() {
    let base = format!(
        "{NODES}[[step]]\ndo = \"open\"\nfrom = \"alice\"\nto = \"bob\"\nsat = 100_000\n[[step]]\ndo = \"close\"\nchannel = \"alice-bob\"\nforce = true\nfeerate = 1_000\n[[step]]\ndo = \"wait\"\n"
    );
    let text = format!("{base}channel = \"alice-bob\"\nhow = \"cooperative\"\n");
    let s = parse(&text, "t.toml", "t").unwrap();
    assert_eq!(
        s.steps[1].step,
        Step::Close {
            channel: "alice-bob".into(),
            by: "alice".into(),
            force: true,
            feerate: Some(1_000)
        }
    );
    assert_eq!(
        s.steps[2].step,
        Step::Wait {
            checks: vec![Check::ClosedHow {
                channel: "alice-bob".into(),
                on: vec!["alice".into(), "bob".into()],
                how: "cooperative".into()
            }],
            timeout: DEFAULT_WAIT
        }
    );
    let text =
        format!("{base}channel = \"alice-bob\"\nnode = \"bob\"\nhow = \"remote_force_close\"\n");
    let s = parse(&text, "t.toml", "t").unwrap();
    assert_eq!(
        s.steps[2].step.to_string(),
        "wait alice-bob closed as remote_force_close on bob (up to 30s)"
    );
    let cases = [
        ("how = \"cooperative\"\n", "`how` needs `channel`"),
        (
            "channel = \"alice-bob\"\nhow = \"politely\"\n",
            "unknown way to close `politely` (ways: cooperative, local_force_close",
        ),
        (
            "channel = \"alice-bob\"\nhow = \"local_force_close\"\n",
            "is one end's view: say which with `node`",
        ),
    ];
    for (extra, expected) in cases {
        let (_, _, message) = one_error(&format!("{base}{extra}"));
        assert!(message.contains(expected), "{extra:?}: {message}");
    }
    // A feerate must fit the node's 32-bit sat/kw.
    let text = base.replace("feerate = 1_000", "feerate = 5_000_000_000");
    let (line, column, message) = one_error(&format!(
        "{text}channel = \"alice-bob\"\nstate = \"closed\"\n"
    ));
    assert_eq!((line, column), (12, 11), "{message}");
}

#[test]
fn an_unknown_node_points_at_the_name() {
    let text = format!("{NODES}[[step]]\ndo = \"connect\"\nfrom = \"alice\"\nto = \"carol\"\n");
    assert_eq!(
        one_error(&text),
        (6, 6, "unknown node `carol` (declared: alice, bob)".into())
    );
}

#[test]
fn a_missing_key_points_at_the_step() {
    let text = format!("{NODES}[[step]]\ndo = \"open\"\nfrom = \"alice\"\nto = \"bob\"\n");
    assert_eq!(one_error(&text), (4, 6, "`open` needs `sat`".into()));
    let text = format!("{NODES}[[step]]\ndo = \"mine\"\n");
    assert_eq!(one_error(&text), (4, 6, "`mine` needs `blocks`".into()));
}

#[test]
fn a_missing_do_is_a_toml_error_with_a_position() {
    let text = format!("{NODES}[[step]]\nblocks = 1\n");
    let (line, _, message) = one_error(&text);
    assert!(line >= 3, "{line}");
    assert!(message.contains("missing field `do`"), "{message}");
}

#[test]
fn a_key_that_does_not_apply_is_refused() {
    let text = format!("{NODES}[[step]]\ndo = \"mine\"\nblocks = 1\nkill = true\n");
    let (line, column, message) = one_error(&text);
    assert_eq!((line, column), (6, 8));
    assert_eq!(
        message,
        "`kill` does not apply to `mine` (it takes: blocks)"
    );
}

#[test]
fn a_misspelt_key_gets_a_suggestion() {
    let text = format!("{NODES}[[step]]\ndo = \"mine\"\nblokcs = 1\n");
    let (line, column, message) = one_error(&text);
    assert_eq!((line, column), (5, 1));
    assert_eq!(message, "unknown key `blokcs`; did you mean `blocks`?");
    let text = "[nodes.a]\nminimum_depth = 3\n[[step]]\ndo = \"mine\"\nblocks = 1\n";
    let (line, _, message) = one_error(text);
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "unknown key `minimum_depth`; did you mean `minimum-depth`?"
    );
}

#[test]
fn a_wrong_type_is_located() {
    let text = format!("{NODES}[[step]]\ndo = \"mine\"\nblocks = \"three\"\n");
    let (line, column, message) = one_error(&text);
    assert_eq!((line, column), (5, 10));
    assert!(message.contains("invalid type"), "{message}");
}

#[test]
fn a_syntax_error_is_located() {
    let text = "[nodes.alice]\n[[step]]\ndo = \"mine\nblocks = 1\n";
    let (line, _, message) = one_error(text);
    assert_eq!(line, 3);
    assert!(!message.is_empty());
}

#[test]
fn a_channel_must_be_opened_by_an_earlier_step() {
    let text = format!(
        "{NODES}[[step]]\ndo = \"wait\"\nchannel = \"ab\"\nstate = \"ready\"\n\
         [[step]]\ndo = \"open\"\nchannel = \"ab\"\nfrom = \"alice\"\nto = \"bob\"\nsat = 1\n"
    );
    assert_eq!(
        one_error(&text),
        (
            5,
            11,
            "unknown channel `ab`: no earlier `open` step opens a channel".into()
        )
    );
}

#[test]
fn a_reused_default_channel_name_asks_for_a_name() {
    let open = "[[step]]\ndo = \"open\"\nfrom = \"alice\"\nto = \"bob\"\nsat = 100_000\n";
    let text = format!("{NODES}{open}{open}");
    let (line, _, message) = one_error(&text);
    assert_eq!(line, 9);
    assert!(
        message.contains("`alice-bob` is already used (line 4); name this one"),
        "{message}"
    );
    // Within one concurrent step as well.
    let text = format!(
        "{NODES}[[step]]\ndo = \"open\"\nchannels = [\n  {{ from = \"alice\", to = \"bob\", sat = 1 }},\n  {{ from = \"alice\", to = \"bob\", sat = 2 }},\n]\n"
    );
    let (line, column, message) = one_error(&text);
    assert_eq!((line, column), (7, 3));
    assert!(message.contains("already used"), "{message}");
}

#[test]
fn flat_open_keys_do_not_mix_with_channels() {
    let text = format!(
        "{NODES}[[step]]\ndo = \"open\"\nsat = 5\nchannels = [{{ from = \"alice\", to = \"bob\", sat = 1 }}]\n"
    );
    let (line, _, message) = one_error(&text);
    assert_eq!(line, 5);
    assert!(
        message.contains("inside each `channels` entry"),
        "{message}"
    );
}

#[test]
fn checks_need_their_context() {
    let base = format!(
        "{NODES}[[step]]\ndo = \"open\"\nfrom = \"alice\"\nto = \"bob\"\nsat = 100_000\n[[step]]\ndo = \"assert\"\n"
    );
    let cases = [
        (
            "state = \"ready\"\n",
            "`state` needs `channel` or `num-channels`",
        ),
        (
            "channel = \"alice-bob\"\nstate = \"redy\"\n",
            "unknown channel state `redy`",
        ),
        ("event = \"ready\"\n", "`event` needs `channel`"),
        ("wallet-sat = 5\n", "`wallet-sat` needs `node`"),
        (
            "node = \"alice\"\ntolerance-sat = 5\n",
            "`tolerance-sat` goes with",
        ),
        (
            "node = \"alice\"\nconnected = true\n",
            "`connected` needs `peer`",
        ),
        (
            "node = \"alice\"\npeer = \"bob\"\n",
            "`peer` goes with `connected`",
        ),
        ("node = \"alice\"\n", "`assert` needs something to check"),
        (
            "channel = \"alice-bob\"\nbalance-msat = { carol = 1 }\n",
            "`carol` is not an end of `alice-bob`",
        ),
        (
            "timeout-secs = 3\n",
            "`timeout-secs` does not apply to `assert`",
        ),
    ];
    for (extra, expected) in cases {
        let text = format!("{base}{extra}");
        let (_, _, message) = one_error(&text);
        assert!(message.contains(expected), "{extra:?}: {message}");
    }
}

#[test]
fn several_errors_are_reported_in_file_order() {
    let text = format!(
        "{NODES}[[step]]\ndo = \"connect\"\nfrom = \"carol\"\nto = \"dave\"\n[[step]]\ndo = \"mine\"\nblocks = 0\n"
    );
    let all = errors(&text);
    let lines: Vec<usize> = all.iter().map(|e| e.0).collect();
    assert_eq!(lines, [5, 6, 9]);
}

#[test]
fn errors_render_like_rustc() {
    let text = format!("{NODES}[[step]]\ndo = \"connect\"\nfrom = \"alice\"\nto = \"carol\"\n");
    let err = parse(&text, "scenarios/x.toml", "x").unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: unknown node `carol` (declared: alice, bob)\n \
         --> scenarios/x.toml:6:6\n  |\n6 | to = \"carol\"\n  |      ^^^^^^^"
    );
}

#[test]
fn names_are_checked() {
    let text = "[nodes.\"a b\"]\n[[step]]\ndo = \"mine\"\nblocks = 1\n";
    let (line, _, message) = one_error(text);
    assert_eq!(line, 1);
    assert_eq!(message, NAME_RULE);
}

#[test]
fn an_empty_file_asks_for_nodes() {
    let (line, _, message) = one_error("");
    assert_eq!(line, 1);
    assert!(message.contains("nodes"), "{message}");
}

#[test]
fn bad_input_never_panics() {
    for text in [
        "\u{feff}[nodes.é]",
        "[nodes]\n[[step]]\ndo=1",
        "nodes = 3",
        "[nodes.a]\n[[step]]\ndo = \"open\"\nchannels = []\n",
        "[nodes.a]\n[[step]]\ndo = \"wait\"\nnode = \"a\"\nnum-channels = -1\n",
    ] {
        let _ = parse(text, "t", "t");
    }
}
