//! BOLT 1 `ping` / `pong` policy: answer pings, ignore the ones that ask for 65,532 bytes or
//! more, and cut off a peer that pings far more than "one ping per 30-second period".
//!
//! Pure: time is an argument (seconds on the actor's monotonic clock).

use crate::wire::{Extension, Message, Ping, Pong};

/// The flood window, in seconds (BOLT 1 speaks of 30-second periods).
pub const PING_WINDOW_SECS: u64 = 30;

/// How many pings one window may hold before we disconnect. BOLT 1 asks for "significantly
/// in excess of one ping per 30-second period" before failing; 10 leaves room for bursts
/// (LDK and lnd ping on their own timers, and tests ping on demand).
pub const MAX_PINGS_PER_WINDOW: u32 = 10;

/// A ping that arrives after at least this many other messages since the previous one does
/// not count toward [`MAX_PINGS_PER_WINDOW`]: it rides on real traffic, as LDK's do (it
/// pings after every 32 messages it sends, to keep its send buffer in check), and a flood is
/// pings with little else between them.
pub(crate) const TRAFFIC_MESSAGES_PER_PING: u32 = 32;

/// What to do about a received ping.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // short-lived; boxing would only add an allocation
pub enum PingAction {
    /// Send this pong.
    Reply(Message),
    /// Say nothing (`num_pong_bytes` ≥ 65,532: BOLT 1 "MUST ignore the ping").
    Ignore,
    /// The peer is flooding us: disconnect.
    Flood,
}

/// Counts pings per window.
#[derive(Clone, Debug, Default)]
pub struct PingGuard {
    window_start: u64,
    count: u32,
    /// Messages other than pings since the last ping.
    since_ping: u32,
}

impl PingGuard {
    /// Another message than a ping arrived.
    pub fn on_other_message(&mut self) {
        self.since_ping = self.since_ping.saturating_add(1);
    }

    /// Judges one received ping at `now`.
    pub fn on_ping(&mut self, ping: &Ping, now: u64) -> PingAction {
        if now >= self.window_start + PING_WINDOW_SECS {
            self.window_start = now;
            self.count = 0;
        }
        let amid_traffic = self.since_ping >= TRAFFIC_MESSAGES_PER_PING;
        self.since_ping = 0;
        if !amid_traffic {
            self.count += 1;
        }
        if self.count > MAX_PINGS_PER_WINDOW {
            return PingAction::Flood;
        }
        if ping.num_pong_bytes >= 65_532 {
            return PingAction::Ignore;
        }
        PingAction::Reply(Message::Pong(Pong {
            ignored: vec![0; usize::from(ping.num_pong_bytes)],
            tlvs: Extension::default(),
        }))
    }
}

/// Our own ping: no padding, a one-byte pong asked for.
pub(crate) fn our_ping() -> Message {
    Message::Ping(Ping {
        num_pong_bytes: 1,
        ignored: Vec::new(),
        tlvs: Extension::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ping(n: u16) -> Ping {
        Ping {
            num_pong_bytes: n,
            ignored: vec![],
            tlvs: Extension::default(),
        }
    }

    #[test]
    fn pongs_carry_the_asked_length() {
        let mut guard = PingGuard::default();
        let PingAction::Reply(Message::Pong(pong)) = guard.on_ping(&ping(12), 0) else {
            panic!("no pong");
        };
        assert_eq!(pong.ignored.len(), 12);
    }

    #[test]
    fn pings_asking_65532_bytes_or_more_are_ignored() {
        let mut guard = PingGuard::default();
        assert_eq!(guard.on_ping(&ping(65_532), 0), PingAction::Ignore);
        assert_eq!(guard.on_ping(&ping(65_535), 0), PingAction::Ignore);
        assert!(matches!(
            guard.on_ping(&ping(65_531), 0),
            PingAction::Reply(_)
        ));
    }

    #[test]
    fn pings_amid_traffic_do_not_count_but_pings_alone_do() {
        let mut guard = PingGuard::default();
        // A ping after every 32 messages, far more often than the window allows, as LDK
        // does while payments stream.
        for _ in 0..5 * MAX_PINGS_PER_WINDOW {
            for _ in 0..TRAFFIC_MESSAGES_PER_PING {
                guard.on_other_message();
            }
            assert!(matches!(guard.on_ping(&ping(0), 1), PingAction::Reply(_)));
        }
        // A few messages between pings do not hide a flood.
        for _ in 0..MAX_PINGS_PER_WINDOW {
            guard.on_other_message();
            assert!(matches!(guard.on_ping(&ping(0), 2), PingAction::Reply(_)));
        }
        guard.on_other_message();
        assert_eq!(guard.on_ping(&ping(0), 2), PingAction::Flood);
    }

    #[test]
    fn a_flood_is_cut_off_but_a_steady_pinger_is_not() {
        let mut guard = PingGuard::default();
        for _ in 0..MAX_PINGS_PER_WINDOW {
            assert!(matches!(guard.on_ping(&ping(0), 5), PingAction::Reply(_)));
        }
        assert_eq!(guard.on_ping(&ping(0), 6), PingAction::Flood);
        // One ping every 10 seconds for an hour is fine.
        let mut guard = PingGuard::default();
        for i in 0..360 {
            assert!(matches!(
                guard.on_ping(&ping(0), i * 10),
                PingAction::Reply(_)
            ));
        }
    }
}
