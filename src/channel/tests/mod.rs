//! Channel core tests, on the socket-free [`pair::Pair`] harness: the flows, every BOLT 2
//! requirement of the table in `channel/mod.rs`, retransmission and restarts, closing with
//! HTLCs, random interleavings (proptest), the BOLT 3 Appendix C vectors through the core's
//! own builder, and the bytes written per update.

mod bytes;
mod closing;
mod flow;
pub(crate) mod pair;
mod prop;
mod reestablish;
mod revocation;
mod rules;
mod vectors;

/// Every test the requirements table of `channel/mod.rs` names exists.
#[test]
fn the_requirements_table_names_real_tests() {
    let table = include_str!("../mod.rs");
    let sources = [
        ("bytes", include_str!("bytes.rs")),
        ("closing", include_str!("closing.rs")),
        ("flow", include_str!("flow.rs")),
        ("prop", include_str!("prop.rs")),
        ("reestablish", include_str!("reestablish.rs")),
        ("revocation", include_str!("revocation.rs")),
        ("rules", include_str!("rules.rs")),
        ("vectors", include_str!("vectors.rs")),
    ];
    let mut named = 0;
    for row in table
        .lines()
        .filter(|l| l.starts_with("//! | ") && l.contains('`'))
    {
        let tests = row.rsplit('|').nth(1).unwrap_or_default();
        for name in tests.split('`').skip(1).step_by(2) {
            let (file, test) = name.split_once("::").expect("file::test");
            let (_, source) = sources
                .iter()
                .find(|(f, _)| *f == file)
                .unwrap_or_else(|| panic!("no test file {file} for {name}"));
            if test != "*" {
                assert!(
                    source.contains(&format!("fn {test}(")),
                    "the table names {name}, which does not exist"
                );
            }
            named += 1;
        }
    }
    assert!(named >= 35, "only {named} tests named");
}
