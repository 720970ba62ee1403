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
    let mut p = Pair::new();
    let (a0, b0) = (p.a.bytes, p.b.bytes);
    rounds(&mut p, UPDATES);
    p.assert_consistent();
    assert_eq!(
        p.a.ch.record().commitment.local.number,
        u64::from(UPDATES),
        "every round is one commitment update"
    );
    let a = (p.a.bytes - a0) / u64::from(UPDATES);
    let b = (p.b.bytes - b0) / u64::from(UPDATES);
    eprintln!("bytes per update over {UPDATES} updates (values written): funder {a}, fundee {b}");
    assert!(a <= TARGET, "the funder writes {a} bytes per update");
    assert!(b <= TARGET, "the fundee writes {b} bytes per update");
}

#[test]
fn the_redb_file_grows_by_a_bounded_amount_per_update() {
    const UPDATES: u32 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let config = PairConfig {
        on_disk: Some(dir.path().to_path_buf()),
        ..PairConfig::default()
    };
    let mut p = Pair::with(&config);
    let size = || std::fs::metadata(dir.path().join("b.redb")).unwrap().len();
    rounds(&mut p, 100);
    let before = size();
    rounds(&mut p, UPDATES);
    let after = size();
    let growth = after.saturating_sub(before) / u64::from(UPDATES);
    eprintln!(
        "redb file growth over {UPDATES} updates: {} bytes ({growth} bytes per update); file {after} bytes",
        after - before.min(after)
    );
    // redb writes pages copy-on-write and reuses freed ones: the file grows by far less
    // than a page per update once warm.
    assert!(growth <= 4_096, "the file grows {growth} bytes per update");
}
