//! The initiator (funder) side of single-funded channel establishment (BOLT 2 "Channel
//! Establishment v1"): `open_channel` → `accept_channel` → funding transaction →
//! `funding_created` → `funding_signed`.
//!
//! Each state is its own type and each transition consumes it, so a message handled in the
//! wrong state does not compile; the peer actor keeps the current state in a
//! [`super::Reservation`].

use bitcoin::constants::ChainHash;
use bitcoin::secp256k1::{PublicKey, Secp256k1, Signing, Verification};
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction};

use super::checks::{check_announced, Announced};
use super::config::{LocalConfig, Policy, STATIC_REMOTEKEY_CHANNEL_TYPE};
use super::{FundingError, PendingChannel};
use crate::channel::commitments::{
    local_commitment, remote_commitment, sign_commitment, verify_commitment_signature, Balances,
};
use crate::channel::{ChannelParams, CommitmentState, Party, PartyParams, Role};
use crate::keys::{ChannelSecrets, CommitmentNumber};
use crate::tx::FundingOutput;
use crate::units::{FeeratePerKw, Msat};
use crate::wire::{
    AcceptChannel, ChannelId, Extension, FundingCreated, FundingSigned, OpenChannel,
    OpenChannelTlvs,
};

/// What the node decided about a channel it opens.
#[derive(Clone, Debug)]
pub struct OpenRequest {
    /// The peer's node id.
    pub peer: PublicKey,
    /// A `temporary_channel_id` unique among this peer's channels (random, from the shell).
    pub temporary_channel_id: ChannelId,
    /// The chain the channel lives on.
    pub chain_hash: ChainHash,
    /// `funding_satoshis`.
    pub funding: Amount,
    /// `push_msat`.
    pub push: Msat,
    /// The commitment `feerate_per_kw` (the chain's estimate, floored by the shell).
    pub feerate: FeeratePerKw,
    /// The BIP32 index of the channel's keys (see [`ChannelSecrets::from_node_seed`]).
    pub channel_index: u32,
    /// Our announced parameters.
    pub config: LocalConfig,
    /// Whether the peer negotiated `option_shutdown_anysegwit` (widens valid upfront scripts).
    pub anysegwit: bool,
    /// Confirmations we want before sending `channel_ready`, if more than the responder's
    /// `minimum_depth` (BOLT 2 leaves the opener free to choose its own).
    pub min_depth: Option<u32>,
}

/// Sent `open_channel`; waiting for `accept_channel`.
#[derive(Clone, Debug)]
pub struct AwaitingAccept {
    request: OpenRequest,
    local: PartyParams,
}

/// Got an acceptable `accept_channel`; waiting for the wallet to build the funding
/// transaction paying [`AwaitingFundingTx::funding_script`].
#[derive(Clone, Debug)]
pub struct AwaitingFundingTx {
    request: OpenRequest,
    local: PartyParams,
    remote: PartyParams,
    remote_first_point: PublicKey,
    minimum_depth: u32,
}

/// Sent `funding_created`; waiting for `funding_signed`. The funding transaction must not be
/// broadcast before it arrives (BOLT 2).
#[derive(Clone, Debug)]
pub struct AwaitingFundingSigned {
    params: ChannelParams,
    funding_tx: Transaction,
    remote_first_point: PublicKey,
    feerate: FeeratePerKw,
}

pub(super) fn balances_at_open(
    funding: Amount,
    push: Msat,
    feerate: FeeratePerKw,
) -> Result<Balances, FundingError> {
    let total = Msat::from_amount(funding).ok_or(FundingError::PushExceedsFunding)?;
    let ours = total
        .checked_sub(push)
        .ok_or(FundingError::PushExceedsFunding)?;
    Ok(Balances {
        ours,
        theirs: push,
        feerate,
        htlcs: Vec::new(),
    })
}

/// Starts a reservation as initiator: our keys and limits go into `open_channel`.
///
/// Checks our own request against BOLT 2's sender rules (funding below 2^24, push not above
/// the funding, the funder able to pay the commitment fee and the reserve) so we never send
/// what a compliant peer must refuse.
pub fn open<C: Signing>(
    secp: &Secp256k1<C>,
    secrets: &ChannelSecrets,
    request: OpenRequest,
) -> Result<(AwaitingAccept, OpenChannel), FundingError> {
    super::checks_sender(&request)?;
    let basepoints = secrets.basepoints(secp);
    let first_point = secrets.per_commitment_point(secp, CommitmentNumber::ZERO)?;
    let config = &request.config;
    // The reserve we ask of the responder; their dust limit is unknown yet, so it is
    // checked against ours (and they must keep theirs at or below it, BOLT 2).
    let reserve = config.reserve_for(request.funding, config.dust_limit, config.dust_limit);
    let local = PartyParams {
        dust_limit: config.dust_limit,
        max_htlc_value_in_flight: Msat::from_amount(request.funding).unwrap_or(Msat(u64::MAX)),
        channel_reserve: reserve,
        htlc_minimum: config.htlc_minimum,
        to_self_delay: config.to_self_delay,
        max_accepted_htlcs: config.max_accepted_htlcs,
        basepoints,
        shutdown_script: None,
    };
    let msg = OpenChannel {
        chain_hash: request.chain_hash,
        temporary_channel_id: request.temporary_channel_id,
        funding_satoshis: request.funding,
        push_msat: request.push,
        dust_limit_satoshis: local.dust_limit,
        max_htlc_value_in_flight_msat: local.max_htlc_value_in_flight,
        channel_reserve_satoshis: local.channel_reserve,
        htlc_minimum_msat: local.htlc_minimum,
        feerate_per_kw: request.feerate,
        to_self_delay: local.to_self_delay,
        max_accepted_htlcs: local.max_accepted_htlcs,
        funding_pubkey: basepoints.funding_pubkey,
        revocation_basepoint: basepoints.revocation_basepoint,
        payment_basepoint: basepoints.payment_basepoint,
        delayed_payment_basepoint: basepoints.delayed_payment_basepoint,
        htlc_basepoint: basepoints.htlc_basepoint,
        first_per_commitment_point: first_point.0,
        // Unannounced: Petrel does no gossip (BOLT 7).
        channel_flags: 0,
        tlvs: OpenChannelTlvs {
            // BOLT 2: "if it includes open_channel_tlvs: MUST include upfront_shutdown_script"
            // (zero-length: no commitment to a closing script).
            upfront_shutdown_script: Some(Vec::new()),
            channel_type: Some(STATIC_REMOTEKEY_CHANNEL_TYPE.to_vec()),
            unknown: Vec::new(),
        },
    };
    Ok((AwaitingAccept { request, local }, msg))
}

impl AwaitingAccept {
    /// The reservation's `temporary_channel_id`.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.request.temporary_channel_id
    }

    /// The peer's answer: checks it against BOLT 2's `accept_channel` receiver rules and our
    /// policy.
    pub fn handle_accept_channel(
        self,
        msg: &AcceptChannel,
        policy: &Policy,
    ) -> Result<AwaitingFundingTx, FundingError> {
        if msg.temporary_channel_id != self.request.temporary_channel_id {
            return Err(FundingError::WrongTemporaryChannelId);
        }
        let announced = Announced::from(msg);
        // "if channel_type does not match the channel_type from open_channel: MUST fail".
        if let Some(t) = &announced.channel_type {
            if t.as_slice() != STATIC_REMOTEKEY_CHANNEL_TYPE {
                return Err(FundingError::ChannelTypeMismatch(t.clone()));
            }
        }
        check_announced(
            &announced,
            self.request.funding,
            policy,
            self.request.anysegwit,
        )?;
        // "if channel_reserve_satoshis is less than dust_limit_satoshis within the
        // open_channel message: MUST fail".
        if announced.channel_reserve < self.local.dust_limit {
            return Err(FundingError::ReserveBelowPeerDustLimit {
                reserve: announced.channel_reserve,
                dust_limit: self.local.dust_limit,
            });
        }
        // "if channel_reserve_satoshis from the open_channel message is less than
        // dust_limit_satoshis: MUST fail".
        if self.local.channel_reserve < announced.dust_limit {
            return Err(FundingError::ReserveBelowPeerDustLimit {
                reserve: self.local.channel_reserve,
                dust_limit: announced.dust_limit,
            });
        }
        // Our policy: the funder (us) must afford the commitment fee and the reserve the
        // responder asks of us, or the channel starts unusable.
        let total =
            Msat::from_amount(self.request.funding).ok_or(FundingError::PushExceedsFunding)?;
        let funder_balance = total
            .checked_sub(self.request.push)
            .ok_or(FundingError::PushExceedsFunding)?;
        let fee = self
            .request
            .feerate
            .fee_for_weight(crate::tx::weight::commitment_weight(0));
        if funder_balance
            < Msat::from_amount(fee + announced.channel_reserve).unwrap_or(Msat(u64::MAX))
        {
            return Err(FundingError::FunderCannotPayFeeAndReserve {
                funder_balance,
                fee,
                reserve: announced.channel_reserve,
            });
        }
        if msg.minimum_depth > policy.max_minimum_depth {
            return Err(FundingError::MinimumDepthTooLarge {
                got: msg.minimum_depth,
                max: policy.max_minimum_depth,
            });
        }
        Ok(AwaitingFundingTx {
            remote: announced.party_params(),
            remote_first_point: announced.first_per_commitment_point,
            minimum_depth: msg.minimum_depth.max(self.request.min_depth.unwrap_or(0)),
            request: self.request,
            local: self.local,
        })
    }
}

impl AwaitingFundingTx {
    /// The reservation's `temporary_channel_id`.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.request.temporary_channel_id
    }

    /// The amount the funding output must hold.
    pub fn funding_amount(&self) -> Amount {
        self.request.funding
    }

    /// The P2WSH `scriptPubKey` the funding output must pay (BOLT 3 "Funding Transaction
    /// Output"), for the wallet.
    pub fn funding_script(&self) -> ScriptBuf {
        FundingOutput::new(
            OutPoint::null(),
            self.request.funding,
            self.local.basepoints.funding_pubkey,
            self.remote.basepoints.funding_pubkey,
        )
        .tx_out()
        .script_pubkey
    }

    /// The wallet built (and signed, but did not broadcast) `funding_tx`, whose output
    /// `output_index` is the funding output: sign the responder's commitment #0 and say
    /// `funding_created`.
    pub fn handle_funding_tx<C: Signing + Verification>(
        self,
        secp: &Secp256k1<C>,
        secrets: &ChannelSecrets,
        funding_tx: Transaction,
        output_index: u32,
    ) -> Result<(AwaitingFundingSigned, FundingCreated), FundingError> {
        let index =
            u16::try_from(output_index).map_err(|_| FundingError::FundingOutputIndexTooLarge)?;
        let expected_script = self.funding_script();
        let pays = funding_tx
            .output
            .get(usize::from(index))
            .is_some_and(|o| o.value == self.request.funding && o.script_pubkey == expected_script);
        if !pays {
            return Err(FundingError::FundingOutputMismatch);
        }
        let funding_txid = funding_tx.compute_txid();
        let params = ChannelParams {
            channel_id: ChannelId::from_funding_outpoint(&funding_txid, index),
            temporary_channel_id: self.request.temporary_channel_id,
            peer: self.request.peer,
            role: Role::Initiator,
            channel_index: self.request.channel_index,
            channel_type: STATIC_REMOTEKEY_CHANNEL_TYPE.to_vec(),
            channel_flags: 0,
            funding_outpoint: OutPoint::new(funding_txid, output_index),
            funding_amount: self.request.funding,
            push: self.request.push,
            minimum_depth: self.minimum_depth,
            local: self.local,
            remote: self.remote,
        };
        let balances = balances_at_open(
            self.request.funding,
            self.request.push,
            self.request.feerate,
        )?;
        let theirs = remote_commitment(
            secp,
            &params,
            CommitmentNumber::ZERO,
            &self.remote_first_point,
            &balances,
        )?;
        let signature = sign_commitment(secp, &params, secrets, &theirs.tx)?;
        let msg = FundingCreated {
            temporary_channel_id: self.request.temporary_channel_id,
            funding_txid,
            funding_output_index: index,
            signature,
            tlvs: Extension::default(),
        };
        Ok((
            AwaitingFundingSigned {
                params,
                funding_tx,
                remote_first_point: self.remote_first_point,
                feerate: self.request.feerate,
            },
            msg,
        ))
    }
}

impl AwaitingFundingSigned {
    /// The reservation's `temporary_channel_id`.
    pub fn temporary_channel_id(&self) -> ChannelId {
        self.params.temporary_channel_id
    }

    /// The `channel_id` the peer's `funding_signed` must carry.
    pub fn channel_id(&self) -> ChannelId {
        self.params.channel_id
    }

    /// The funding transaction, so the shell can release its inputs if this reservation
    /// fails.
    pub fn funding_tx(&self) -> &Transaction {
        &self.funding_tx
    }

    /// The responder's signature on our commitment #0: once it verifies, the channel is
    /// ours to persist, and only then may the funding transaction be broadcast.
    pub fn handle_funding_signed<C: Signing + Verification>(
        self,
        secp: &Secp256k1<C>,
        secrets: &ChannelSecrets,
        msg: &FundingSigned,
    ) -> Result<PendingChannel, FundingError> {
        if msg.channel_id != self.params.channel_id {
            return Err(FundingError::WrongChannelId);
        }
        let balances =
            balances_at_open(self.params.funding_amount, self.params.push, self.feerate)?;
        let ours = local_commitment(
            secp,
            &self.params,
            secrets,
            CommitmentNumber::ZERO,
            &balances,
        )?;
        verify_commitment_signature(secp, &self.params, &ours.tx, &msg.signature)
            .map_err(|_| FundingError::BadSignature)?;
        Ok(PendingChannel {
            commitment: CommitmentState::initial(
                Party::Local,
                (balances.ours, balances.theirs),
                self.feerate,
                msg.signature,
                self.remote_first_point,
            ),
            params: self.params,
            funding_tx: Some(self.funding_tx),
        })
    }
}
