//! The responder (fundee) side of single-funded channel establishment, in the seed design's
//! three calls: [`process_single_contribution`] (`open_channel` → `accept_channel`),
//! [`AwaitingFundingCreated::complete_single_contribution`] (`funding_created` →
//! `funding_signed`), and [`super::PendingChannel::finalize_reservation`] (funding deep
//! enough → `channel_ready`). The responder never builds the funding transaction: it
//! contributes keys, its first per-commitment point, and signatures.

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, Signing, Verification};
use bitcoin::{Amount, OutPoint};

use super::checks::{check_announced, check_feerate, Announced};
use super::config::{
    LocalConfig, Policy, MAX_FUNDING, MIN_DUST_LIMIT, STATIC_REMOTEKEY_CHANNEL_TYPE,
};
use super::initiator::balances_at_open;
use super::{FundingError, PendingChannel};
use crate::channel::commitments::{
    local_commitment, remote_commitment, sign_commitment, verify_commitment_signature,
};
use crate::channel::{ChannelParams, CommitmentState, Party, PartyParams, Role};
use crate::keys::{ChannelSecrets, CommitmentNumber};
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{
    AcceptChannel, AcceptChannelTlvs, ChannelId, Extension, FundingCreated, FundingSigned,
    OpenChannel,
};

/// What the node decided about a channel a peer opens to it.
#[derive(Clone, Debug)]
pub struct AcceptRequest {
    /// The peer's node id.
    pub peer: PublicKey,
    /// The chain we are on (`open_channel`'s `chain_hash` must name it).
    pub chain_hash: ChainHash,
    /// The BIP32 index of the channel's keys.
    pub channel_index: u32,
    /// Our announced parameters.
    pub config: LocalConfig,
    /// Whether the peer negotiated `option_shutdown_anysegwit`.
    pub anysegwit: bool,
}

/// Sent `accept_channel`; waiting for `funding_created`.
#[derive(Clone, Debug)]
pub struct AwaitingFundingCreated {
    temporary_channel_id: ChannelId,
    peer: PublicKey,
    channel_index: u32,
    funding: Amount,
    push: Msat,
    feerate: FeeratePerKw,
    channel_flags: u8,
    minimum_depth: u32,
    local: PartyParams,
    remote: PartyParams,
    remote_first_point: PublicKey,
}

/// `announce_channel`, the one defined bit of `channel_flags` (BOLT 2 `open_channel`).
const ANNOUNCE_CHANNEL: u8 = 1;

/// The fee the funder pays on commitment #0 (no HTLCs: 724 weight, BOLT 3 "Fee Calculation").
fn initial_fee(feerate: FeeratePerKw) -> Amount {
    feerate.fee_for_weight(crate::tx::weight::commitment_weight(0))
}

/// Seed call 1: checks `open_channel` against every BOLT 2 receiver rule and our policy, and
/// answers with our contribution (`accept_channel`: keys, limits, first per-commitment
/// point).
pub fn process_single_contribution<C: Signing>(
    secp: &Secp256k1<C>,
    secrets: &ChannelSecrets,
    msg: &OpenChannel,
    request: &AcceptRequest,
    policy: &Policy,
) -> Result<(AwaitingFundingCreated, AcceptChannel), FundingError> {
    if msg.chain_hash != request.chain_hash {
        return Err(FundingError::UnknownChain(msg.chain_hash));
    }
    // BOLT 7: for a channel opened with `announce_channel` set, each side "MUST send the
    // `announcement_signatures` message" once it is six blocks deep. Petrel does not sign
    // channel announcements yet, so accepting such a channel would break that rule. Other
    // bits of `channel_flags` are undefined and ignored (BOLT 2).
    if msg.channel_flags & ANNOUNCE_CHANNEL != 0 {
        return Err(FundingError::AnnounceChannelUnsupported);
    }
    let funding = msg.funding_satoshis;
    if funding > MAX_FUNDING {
        return Err(FundingError::FundingTooLarge {
            got: funding,
            max: MAX_FUNDING,
        });
    }
    if funding < policy.min_funding {
        return Err(FundingError::FundingTooSmall {
            got: funding,
            min: policy.min_funding,
        });
    }
    let total = Msat::from_amount(funding).ok_or(FundingError::PushExceedsFunding)?;
    if msg.push_msat > total {
        return Err(FundingError::PushExceedsFunding);
    }
    check_feerate(msg.feerate_per_kw, policy)?;
    let announced = Announced::from(msg);
    check_announced(&announced, funding, policy, request.anysegwit)?;

    // Our dust limit must not exceed the reserve they ask of us (BOLT 2 `accept_channel`
    // sender rule), and never below the standardness floor.
    let our_dust = request.config.dust_limit.min(msg.channel_reserve_satoshis);
    if our_dust < MIN_DUST_LIMIT {
        return Err(FundingError::ReserveBelowPeerDustLimit {
            reserve: msg.channel_reserve_satoshis,
            dust_limit: MIN_DUST_LIMIT,
        });
    }
    let our_reserve = request
        .config
        .reserve_for(funding, msg.dust_limit_satoshis, our_dust);

    // The funder must afford the commitment fee and the reserve we ask of it.
    let funder_balance = total - msg.push_msat;
    let fee = initial_fee(msg.feerate_per_kw);
    let needed = Msat::from_amount(fee + our_reserve).unwrap_or(Msat(u64::MAX));
    if funder_balance < needed {
        return Err(FundingError::FunderCannotPayFeeAndReserve {
            funder_balance,
            fee,
            reserve: our_reserve,
        });
    }
    // "both to_local and to_remote amounts for the initial commitment transaction are less
    // than or equal to channel_reserve_satoshis".
    let funder_after_fee = funder_balance.to_amount_floor() - fee;
    if funder_after_fee <= our_reserve
        && msg.push_msat.to_amount_floor() <= msg.channel_reserve_satoshis
    {
        return Err(FundingError::BothBalancesAtOrBelowReserve);
    }

    let basepoints = secrets.basepoints(secp);
    let first_point = secrets.per_commitment_point(secp, CommitmentNumber::ZERO)?;
    let config = &request.config;
    let local = PartyParams {
        dust_limit: our_dust,
        max_htlc_value_in_flight: total,
        channel_reserve: our_reserve,
        htlc_minimum: config.htlc_minimum,
        to_self_delay: config.to_self_delay,
        max_accepted_htlcs: config.max_accepted_htlcs,
        basepoints,
        shutdown_script: None,
    };
    let accept = AcceptChannel {
        temporary_channel_id: msg.temporary_channel_id,
        dust_limit_satoshis: local.dust_limit,
        max_htlc_value_in_flight_msat: local.max_htlc_value_in_flight,
        channel_reserve_satoshis: local.channel_reserve,
        htlc_minimum_msat: local.htlc_minimum,
        minimum_depth: config.minimum_depth,
        to_self_delay: local.to_self_delay,
        max_accepted_htlcs: local.max_accepted_htlcs,
        funding_pubkey: basepoints.funding_pubkey,
        revocation_basepoint: basepoints.revocation_basepoint,
        payment_basepoint: basepoints.payment_basepoint,
        delayed_payment_basepoint: basepoints.delayed_payment_basepoint,
        htlc_basepoint: basepoints.htlc_basepoint,
        first_per_commitment_point: first_point.0,
        tlvs: AcceptChannelTlvs {
            upfront_shutdown_script: Some(Vec::new()),
            // "MUST set channel_type to the channel_type from open_channel".
            channel_type: Some(STATIC_REMOTEKEY_CHANNEL_TYPE.to_vec()),
            unknown: Vec::new(),
        },
    };
    Ok((
        AwaitingFundingCreated {
            temporary_channel_id: msg.temporary_channel_id,
            peer: request.peer,
            channel_index: request.channel_index,
            funding,
            push: msg.push_msat,
            feerate: msg.feerate_per_kw,
            channel_flags: msg.channel_flags,
            minimum_depth: config.minimum_depth,
            local,
            remote: announced.party_params(),
            remote_first_point: announced.first_per_commitment_point,
        },
        accept,
    ))
}

impl AwaitingFundingCreated {
    /// The reservation's `temporary_channel_id`.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.temporary_channel_id
    }

    /// Seed call 2: the funder's outpoint and signature. Verifies the signature on our
    /// commitment #0 and signs theirs. The caller persists the returned channel, and only
    /// then sends `funding_signed` (persist before send).
    pub fn complete_single_contribution<C: Signing + Verification>(
        self,
        secp: &Secp256k1<C>,
        secrets: &ChannelSecrets,
        msg: &FundingCreated,
    ) -> Result<(PendingChannel, FundingSigned), FundingError> {
        if msg.temporary_channel_id != self.temporary_channel_id {
            return Err(FundingError::WrongTemporaryChannelId);
        }
        let params = ChannelParams {
            channel_id: ChannelId::from_funding_outpoint(
                &msg.funding_txid,
                msg.funding_output_index,
            ),
            temporary_channel_id: self.temporary_channel_id,
            peer: self.peer,
            role: Role::Responder,
            channel_index: self.channel_index,
            channel_type: STATIC_REMOTEKEY_CHANNEL_TYPE.to_vec(),
            channel_flags: self.channel_flags,
            funding_outpoint: OutPoint::new(msg.funding_txid, u32::from(msg.funding_output_index)),
            funding_amount: self.funding,
            push: self.push,
            minimum_depth: self.minimum_depth,
            local: self.local,
            remote: self.remote,
        };
        // From our side, the funder's balance is theirs and the push is ours.
        let at_open = balances_at_open(self.funding, self.push, self.feerate)?;
        let balances = crate::channel::Balances {
            ours: at_open.theirs,
            theirs: at_open.ours,
            ..at_open
        };
        let ours = local_commitment(secp, &params, secrets, CommitmentNumber::ZERO, &balances)?;
        verify_commitment_signature(secp, &params, &ours.tx, &msg.signature)
            .map_err(|_| FundingError::BadSignature)?;
        let theirs = remote_commitment(
            secp,
            &params,
            CommitmentNumber::ZERO,
            &self.remote_first_point,
            &balances,
        )?;
        let signature = sign_commitment(secp, &params, secrets, &theirs.tx)?;
        let reply = FundingSigned {
            channel_id: params.channel_id,
            signature,
            tlvs: Extension::default(),
        };
        Ok((
            PendingChannel {
                commitment: CommitmentState::initial(
                    Party::Remote,
                    (balances.ours, balances.theirs),
                    self.feerate,
                    msg.signature,
                    self.remote_first_point,
                ),
                params,
                funding_tx: None,
            },
            reply,
        ))
    }
}
