//! The checks BOLT 2 requires of a received `open_channel` or `accept_channel`, shared by
//! both roles ("Other fields have the same requirements as their counterparts in
//! `open_channel`").

use bitcoin::secp256k1::PublicKey;
use bitcoin::{Amount, ScriptBuf};

use super::config::{Policy, MAX_ACCEPTED_HTLCS, MIN_DUST_LIMIT, STATIC_REMOTEKEY_CHANNEL_TYPE};
use super::FundingError;
use crate::channel::PartyParams;
use crate::keys::ChannelBasepoints;
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{AcceptChannel, OpenChannel};

/// The fields one side announces, lifted out of `open_channel` or `accept_channel`.
#[derive(Clone, Debug)]
pub(crate) struct Announced {
    pub(crate) dust_limit: Amount,
    pub(crate) max_htlc_value_in_flight: Msat,
    pub(crate) channel_reserve: Amount,
    pub(crate) htlc_minimum: Msat,
    pub(crate) to_self_delay: u16,
    pub(crate) max_accepted_htlcs: u16,
    pub(crate) basepoints: ChannelBasepoints,
    pub(crate) first_per_commitment_point: PublicKey,
    pub(crate) shutdown_script: Option<Vec<u8>>,
    pub(crate) channel_type: Option<Vec<u8>>,
}

/// Lifts the announced fields out of `open_channel` or `accept_channel`: both messages name
/// them alike (BOLT 2), so one body serves the two `From` impls below.
macro_rules! announced_from {
    ($msg:expr) => {{
        let msg = $msg;
        Announced {
            dust_limit: msg.dust_limit_satoshis,
            max_htlc_value_in_flight: msg.max_htlc_value_in_flight_msat,
            channel_reserve: msg.channel_reserve_satoshis,
            htlc_minimum: msg.htlc_minimum_msat,
            to_self_delay: msg.to_self_delay,
            max_accepted_htlcs: msg.max_accepted_htlcs,
            basepoints: ChannelBasepoints {
                funding_pubkey: msg.funding_pubkey,
                revocation_basepoint: msg.revocation_basepoint,
                payment_basepoint: msg.payment_basepoint,
                delayed_payment_basepoint: msg.delayed_payment_basepoint,
                htlc_basepoint: msg.htlc_basepoint,
            },
            first_per_commitment_point: msg.first_per_commitment_point,
            shutdown_script: msg.tlvs.upfront_shutdown_script.clone(),
            channel_type: msg.tlvs.channel_type.clone(),
        }
    }};
}

impl From<&OpenChannel> for Announced {
    fn from(msg: &OpenChannel) -> Announced {
        announced_from!(msg)
    }
}

impl From<&AcceptChannel> for Announced {
    fn from(msg: &AcceptChannel) -> Announced {
        announced_from!(msg)
    }
}

impl Announced {
    /// The static part, as stored with the channel (an empty upfront shutdown script means
    /// "none", BOLT 2 `0x0000`).
    pub(crate) fn party_params(&self) -> PartyParams {
        PartyParams {
            dust_limit: self.dust_limit,
            max_htlc_value_in_flight: self.max_htlc_value_in_flight,
            channel_reserve: self.channel_reserve,
            htlc_minimum: self.htlc_minimum,
            to_self_delay: self.to_self_delay,
            max_accepted_htlcs: self.max_accepted_htlcs,
            basepoints: self.basepoints,
            shutdown_script: self
                .shutdown_script
                .as_ref()
                .filter(|s| !s.is_empty())
                .map(|s| ScriptBuf::from_bytes(s.clone())),
        }
    }
}

/// Checks what the peer announced about itself, for a channel of `funding` (BOLT 2
/// `open_channel` receiver requirements, which `accept_channel` shares).
pub(crate) fn check_announced(
    peer: &Announced,
    funding: Amount,
    policy: &Policy,
    anysegwit: bool,
) -> Result<(), FundingError> {
    match peer.channel_type.as_deref() {
        None => return Err(FundingError::MissingChannelType),
        Some(t) if t == STATIC_REMOTEKEY_CHANNEL_TYPE => {}
        Some(t) => return Err(FundingError::UnsupportedChannelType(t.to_vec())),
    }
    if peer.to_self_delay > policy.max_to_self_delay {
        return Err(FundingError::ToSelfDelayTooLarge {
            got: peer.to_self_delay,
            max: policy.max_to_self_delay,
        });
    }
    if peer.max_accepted_htlcs > MAX_ACCEPTED_HTLCS {
        return Err(FundingError::MaxAcceptedHtlcsTooLarge(
            peer.max_accepted_htlcs,
        ));
    }
    if peer.max_accepted_htlcs == 0 {
        return Err(FundingError::MaxAcceptedHtlcsZero);
    }
    if peer.dust_limit < MIN_DUST_LIMIT {
        return Err(FundingError::DustLimitTooSmall(peer.dust_limit));
    }
    if peer.dust_limit > policy.max_dust_limit {
        return Err(FundingError::DustLimitTooLarge {
            got: peer.dust_limit,
            max: policy.max_dust_limit,
        });
    }
    if peer.dust_limit > peer.channel_reserve {
        return Err(FundingError::DustLimitAboveReserve {
            dust_limit: peer.dust_limit,
            reserve: peer.channel_reserve,
        });
    }
    let max_reserve = Amount::from_sat(
        funding
            .to_sat()
            .saturating_mul(u64::from(policy.max_reserve_ppm))
            / 1_000_000,
    );
    if peer.channel_reserve > max_reserve {
        return Err(FundingError::ReserveTooLarge {
            got: peer.channel_reserve,
            max: max_reserve,
        });
    }
    let funding_msat = Msat::from_amount(funding).unwrap_or(Msat(u64::MAX));
    if peer.htlc_minimum >= funding_msat {
        return Err(FundingError::HtlcMinimumTooLarge(peer.htlc_minimum));
    }
    if peer.max_htlc_value_in_flight == Msat::ZERO {
        return Err(FundingError::MaxHtlcValueInFlightZero);
    }
    if let Some(script) = peer.shutdown_script.as_deref() {
        if !script.is_empty() && !is_valid_shutdown_script(script, anysegwit, false) {
            return Err(FundingError::InvalidShutdownScript(script.to_vec()));
        }
    }
    Ok(())
}

/// Checks `feerate_per_kw` ("too small for timely processing or unreasonably large").
pub(crate) fn check_feerate(feerate: FeeratePerKw, policy: &Policy) -> Result<(), FundingError> {
    if feerate < policy.min_feerate {
        return Err(FundingError::FeerateTooLow {
            got: feerate,
            min: policy.min_feerate,
        });
    }
    if feerate > policy.max_feerate {
        return Err(FundingError::FeerateTooHigh {
            got: feerate,
            max: policy.max_feerate,
        });
    }
    Ok(())
}

/// BOLT 2 `shutdown` forms: P2WPKH or P2WSH; with `option_shutdown_anysegwit` negotiated,
/// also a witness program of version 1 to 16 (a single 2..=40 byte push); with
/// `option_simple_close`, also `OP_RETURN` and 6..=80 bytes of data.
pub fn is_valid_shutdown_script(script: &[u8], anysegwit: bool, simple_close: bool) -> bool {
    let s = bitcoin::Script::from_bytes(script);
    if s.is_p2wpkh() || s.is_p2wsh() {
        return true;
    }
    match script {
        [0x51..=0x60, len @ 2..=40, rest @ ..] if anysegwit => rest.len() == usize::from(*len),
        [0x6a, len @ 6..=75, rest @ ..] if simple_close => rest.len() == usize::from(*len),
        [0x6a, 0x4c, len @ 76..=80, rest @ ..] if simple_close => rest.len() == usize::from(*len),
        _ => false,
    }
}
