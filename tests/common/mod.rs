//! Shared set-up for integration tests that run real processes: `petrel regtest`, `petrel
//! node`, and (when `BITCOIND_EXE` is set) Bitcoin Core. Every process binds 127.0.0.1 port 0,
//! lives in its own temporary directory, and is killed when its guard drops. Waits poll a
//! condition against a deadline; nothing sleeps blindly.
#![allow(dead_code)] // each test binary uses a different part of this module
#![allow(clippy::disallowed_methods)] // tests read clocks and spawn processes

pub mod procs;
pub mod two_nodes;

use std::future::Future;
use std::time::{Duration, Instant};

/// How long any single expected condition may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Polls `f` until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The blocking twin of [`wait_for`].
pub fn wait_for_blocking<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
