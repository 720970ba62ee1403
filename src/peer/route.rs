//! The one dispatcher of a peer connection: where each message the peer sends goes. Every
//! message of every channel, funding included, passes here once: connection-level messages
//! stay in the peer actor, a channel being opened goes to its reservation (the pure
//! [`crate::funding`] state machines), and a funded channel's messages go to its channel core
//! ([`crate::channel::Channel`], in the node), which answers protocol violations itself with
//! the BOLT reaction of [`crate::channel::ChannelError::reaction`].

use crate::wire::{ChannelId, Message};

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The connection itself: `ping`, `pong`, a repeated `init`, a `warning`.
    Connection,
    /// A channel being opened: `open_channel`, `accept_channel`, `funding_created`,
    /// `funding_signed`, or an `error` for one of them.
    Reservation,
    /// Every reservation and every channel with the peer: an `error` with the all-zero
    /// `channel_id` (BOLT 1: "MUST fail all channels with the sending node").
    Everything,
    /// A funded channel's core: `channel_ready`, `channel_reestablish`, updates,
    /// commitments, `shutdown`, `closing_signed`, `error`, and anything else naming a
    /// channel (the core answers what it does not support).
    Channel(ChannelId),
    /// Nothing: unknown odd messages (BOLT 1: "MUST ignore"), and messages for no channel
    /// that Petrel does not use (gossip).
    Ignore,
}

/// Where `msg` goes; `is_reservation` tells whether a channel id (temporary, or final
/// once `funding_created` went by) belongs to a channel being opened.
pub fn route(msg: &Message, is_reservation: impl Fn(&ChannelId) -> bool) -> Route {
    match msg {
        Message::Ping(_) | Message::Pong(_) | Message::Init(_) | Message::Warning(_) => {
            Route::Connection
        }
        Message::OpenChannel(_)
        | Message::AcceptChannel(_)
        | Message::FundingCreated(_)
        | Message::FundingSigned(_) => Route::Reservation,
        Message::Error(e) if e.channel_id == ChannelId::ALL => Route::Everything,
        Message::Error(e) if is_reservation(&e.channel_id) => Route::Reservation,
        Message::Unknown(_) => Route::Ignore,
        other => other.channel_id().map_or(Route::Ignore, Route::Channel),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::FeeratePerKw;
    use crate::wire::{Extension, UpdateFee};

    fn error(id: ChannelId) -> Message {
        Message::Error(crate::wire::Error {
            channel_id: id,
            data: Vec::new(),
            tlvs: Extension::default(),
        })
    }

    #[test]
    fn every_message_has_one_destination() {
        let opening = ChannelId([1; 32]);
        let funded = ChannelId([2; 32]);
        let is_reservation = |id: &ChannelId| *id == opening;
        assert_eq!(route(&error(opening), is_reservation), Route::Reservation);
        assert_eq!(
            route(&error(funded), is_reservation),
            Route::Channel(funded)
        );
        assert_eq!(
            route(&error(ChannelId::ALL), is_reservation),
            Route::Everything
        );
        let fee = Message::UpdateFee(UpdateFee {
            channel_id: funded,
            feerate_per_kw: FeeratePerKw(300),
            tlvs: Extension::default(),
        });
        assert_eq!(route(&fee, is_reservation), Route::Channel(funded));
        let ping = Message::Ping(crate::wire::Ping {
            num_pong_bytes: 1,
            ignored: Vec::new(),
            tlvs: Extension::default(),
        });
        assert_eq!(route(&ping, is_reservation), Route::Connection);
    }
}
