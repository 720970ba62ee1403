//! Crash injection for tests: with `PETREL_CRASH_AT=<name>` in the environment, the process
//! aborts at the named point (no destructors, no flushing: as close to pulling the plug as a
//! test can get). `<name>#<k>` aborts at the k-th time the point is reached (from 1).
//!
//! The points sit between a durable store write and what it guards (a send, a broadcast).
//! The named points:
//!
//! | point | where |
//! |---|---|
//! | `fundee_stored` | the fundee stored the channel, `funding_signed` not sent |
//! | `funder_stored` | the funder stored the channel, funding not broadcast |
//! | `stored_before_<message>` | a channel step was stored, `<message>` not sent (e.g. `stored_before_commitment_signed`, `stored_before_revoke_and_ack`, `stored_before_shutdown`, `stored_before_closing_signed`, `stored_before_channel_ready`) |
//! | `stored_before_broadcast` | a close was stored, its transaction not broadcast |
//! | `stored` | a channel step with nothing to send after it was stored (e.g. a `revoke_and_ack` received) |
#![allow(clippy::disallowed_methods)] // reads the environment, aborts the process

use std::collections::HashMap;
use std::sync::Mutex;

static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);

/// Aborts the process if `PETREL_CRASH_AT` names this point (and occurrence).
pub fn crash_point(name: &str) {
    let Ok(wanted) = std::env::var("PETREL_CRASH_AT") else {
        return;
    };
    let (point, occurrence) = match wanted.split_once('#') {
        Some((p, k)) => (p.to_string(), k.parse::<u64>().unwrap_or(1)),
        None => (wanted.clone(), 1),
    };
    if point != name {
        return;
    }
    let count = {
        let mut seen = SEEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let map = seen.get_or_insert_with(HashMap::new);
        let count = map.entry(point).or_insert(0);
        *count += 1;
        *count
    };
    if count == occurrence {
        tracing::error!("PETREL_CRASH_AT={wanted}: aborting");
        std::process::abort();
    }
}
