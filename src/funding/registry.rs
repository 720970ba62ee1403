//! The reservations pending with one peer, keyed by `temporary_channel_id`, with the limits
//! that keep a peer from pinning our resources.

use std::collections::HashMap;

use super::{
    AwaitingAccept, AwaitingFundingCreated, AwaitingFundingSigned, AwaitingFundingTx, FundingError,
};
use crate::wire::ChannelId;

/// A reservation in whichever state it is in.
#[derive(Clone, Debug)]
pub enum Reservation {
    /// Initiator: sent `open_channel`.
    AwaitingAccept(AwaitingAccept),
    /// Initiator: the wallet is building the funding transaction.
    AwaitingFundingTx(AwaitingFundingTx),
    /// Initiator: sent `funding_created`.
    AwaitingFundingSigned(AwaitingFundingSigned),
    /// Responder: sent `accept_channel`.
    AwaitingFundingCreated(AwaitingFundingCreated),
}

impl Reservation {
    /// The state's name, for errors and logs.
    pub fn state_name(&self) -> &'static str {
        match self {
            Reservation::AwaitingAccept(_) => "awaiting_accept",
            Reservation::AwaitingFundingTx(_) => "awaiting_funding_tx",
            Reservation::AwaitingFundingSigned(_) => "awaiting_funding_signed",
            Reservation::AwaitingFundingCreated(_) => "awaiting_funding_created",
        }
    }

    /// Whether we are the initiator of this reservation.
    pub fn is_initiator(&self) -> bool {
        !matches!(self, Reservation::AwaitingFundingCreated(_))
    }
}

/// Abuse limits for one peer's reservations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservationLimits {
    /// Most reservations pending with one peer at once.
    pub max_per_peer: usize,
    /// Seconds a reservation may stay unfinished (default 10 minutes).
    pub timeout_secs: u64,
}

impl Default for ReservationLimits {
    fn default() -> Self {
        ReservationLimits {
            max_per_peer: 50,
            timeout_secs: 600,
        }
    }
}

/// One peer's pending reservations. Time is passed in (`now`, seconds on any monotonic
/// clock the shell chooses), so expiry is deterministic and testable.
#[derive(Debug, Default)]
pub struct Reservations {
    entries: HashMap<ChannelId, (Reservation, u64)>,
    limits: ReservationLimits,
}

macro_rules! take_state {
    ($name:ident, $variant:ident, $ty:ty) => {
        /// Takes the reservation out if it is in this state; otherwise it is dropped (the
        /// peer broke the protocol, BOLT 2 says fail the channel) and the error says why.
        pub fn $name(
            &mut self,
            id: ChannelId,
            message: &'static str,
        ) -> Result<($ty, u64), FundingError> {
            match self.entries.remove(&id) {
                Some((Reservation::$variant(state), expires)) => Ok((state, expires)),
                Some((other, _)) => Err(FundingError::UnexpectedMessage {
                    message,
                    state: other.state_name(),
                }),
                None => Err(FundingError::UnknownReservation(id)),
            }
        }
    };
}

impl Reservations {
    /// An empty table with these limits.
    pub fn new(limits: ReservationLimits) -> Self {
        Reservations {
            entries: HashMap::new(),
            limits,
        }
    }

    /// How many reservations are pending.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is pending.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a new reservation expiring `timeout_secs` after `now`. Refuses a
    /// `temporary_channel_id` already in use (BOLT 2: unique per peer) and more than
    /// `max_per_peer`.
    pub fn start(
        &mut self,
        id: ChannelId,
        reservation: Reservation,
        now: u64,
    ) -> Result<(), FundingError> {
        if self.entries.contains_key(&id) {
            return Err(FundingError::TemporaryChannelIdInUse(id));
        }
        if self.entries.len() >= self.limits.max_per_peer {
            return Err(FundingError::TooManyReservations {
                limit: self.limits.max_per_peer,
            });
        }
        self.entries.insert(
            id,
            (reservation, now.saturating_add(self.limits.timeout_secs)),
        );
        Ok(())
    }

    /// Puts a reservation back after a transition, keeping its original deadline.
    pub fn resume(&mut self, id: ChannelId, reservation: Reservation, expires: u64) {
        self.entries.insert(id, (reservation, expires));
    }

    /// Whether a reservation with this id is pending.
    pub fn contains(&self, id: &ChannelId) -> bool {
        self.entries.contains_key(id)
    }

    /// Drops a reservation (error, disconnect), returning it so the shell can release its
    /// wallet inputs.
    pub fn remove(&mut self, id: &ChannelId) -> Option<Reservation> {
        self.entries.remove(id).map(|(r, _)| r)
    }

    /// Drops every reservation (the connection is gone).
    pub fn drain(&mut self) -> Vec<(ChannelId, Reservation)> {
        self.entries.drain().map(|(id, (r, _))| (id, r)).collect()
    }

    /// Removes and returns the reservations whose deadline is at or before `now`.
    pub fn expire(&mut self, now: u64) -> Vec<(ChannelId, Reservation)> {
        let expired: Vec<ChannelId> = self
            .entries
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|(r, _)| (id, r)))
            .collect()
    }

    /// The earliest deadline, for the shell's timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.entries.values().map(|(_, d)| *d).min()
    }

    take_state!(take_awaiting_accept, AwaitingAccept, AwaitingAccept);
    take_state!(
        take_awaiting_funding_tx,
        AwaitingFundingTx,
        AwaitingFundingTx
    );
    take_state!(
        take_awaiting_funding_signed,
        AwaitingFundingSigned,
        AwaitingFundingSigned
    );
    take_state!(
        take_awaiting_funding_created,
        AwaitingFundingCreated,
        AwaitingFundingCreated
    );
}
