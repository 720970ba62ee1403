//! Bytes written per commitment update (the target: at most 256 bytes of values per
//! update without HTLCs). Counts, over many `update_fee` rounds between two cores, the value
//! bytes of every write each node makes, and the growth of their redb files.

use super::pair::{Pair, PairConfig, Who};
use crate::channel::Command;
use crate::units::FeeratePerKw;

/// Value bytes one node may write per commitment update (one `update_fee` round: both
/// commitments signed and the old ones revoked).
const TARGET: u64 = 256;

fn rounds(p: &mut Pair, n: u32) {
    for i in 0..n {
        // Alternate between two rates so every round changes the commitments.
        let rate = if i % 2 == 0 { 2_600 } else { 2_500 };
        p.command(Who::A, Command::UpdateFee(FeeratePerKw(rate)))
            .unwrap();
        p.drive();
    }
}

#[test]
fn an_update_without_htlcs_writes_at_most_256_bytes() {
    const UPDATES: u32 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let config = PairConfig {
        on_disk: Some(dir.path().to_path_buf()),
        ..PairConfig::default()
    };
    let mut p = Pair::with(&config);
    let file = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().len();
    let (a0, b0) = (p.a.bytes, p.b.bytes);
    let (fa0, fb0) = (file("a.redb"), file("b.redb"));
    rounds(&mut p, UPDATES);
    p.assert_consistent();
    assert_eq!(
        p.a.ch.record().commitment.local.number,
        u64::from(UPDATES),
        "every round is one commitment update"
    );
    let per = |n: u64| n / u64::from(UPDATES);
    let (a, b) = (per(p.a.bytes - a0), per(p.b.bytes - b0));
    let (fa, fb) = (
        file("a.redb").saturating_sub(fa0),
        file("b.redb").saturating_sub(fb0),
    );
    eprintln!(
        "over {UPDATES} updates without HTLCs: values written per update: funder {a} bytes, \
         fundee {b} bytes; redb file growth: funder {fa} bytes ({} per update), fundee {fb} \
         bytes ({} per update)",
        per(fa),
        per(fb)
    );
    assert!(a <= TARGET, "the funder writes {a} bytes per update");
    assert!(b <= TARGET, "the fundee writes {b} bytes per update");
    // redb writes pages copy-on-write and reuses freed ones: the files grow by far less than
    // a page per update.
    assert!(
        per(fa) <= 1_024 && per(fb) <= 1_024,
        "the files grow {fa} and {fb} bytes"
    );
}
