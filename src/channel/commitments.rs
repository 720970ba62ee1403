//! Building, signing and checking either side's commitment transaction from a channel's
//! parameters (BOLT 3 "Commitment Transaction"), seen from our node.

use bitcoin::secp256k1::{ecdsa::Signature, PublicKey, Secp256k1, Signing, Verification};
use bitcoin::Transaction;

use super::params::ChannelParams;
use super::ChannelError;
use crate::keys::{ChannelSecrets, CommitmentKeys, CommitmentNumber, PerCommitmentPoint};
use crate::tx::{build_commitment, CommitmentSpec, CommitmentTx, Htlc};
use crate::units::{FeeratePerKw, Msat};

/// Balances and fee of one state of the channel, from our point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balances {
    /// Our balance (HTLCs and fee excluded).
    pub ours: Msat,
    /// The peer's balance.
    pub theirs: Msat,
    /// `feerate_per_kw`.
    pub feerate: FeeratePerKw,
    /// HTLCs, as we see them (`Offered` = offered by us).
    pub htlcs: Vec<Htlc>,
}

/// Our commitment number `number`, built with our per-commitment point for it (BOLT 3; the
/// `CommitmentSpec` contract: our keys, the delay *they* imposed, *our* dust limit).
pub fn local_commitment<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    secrets: &ChannelSecrets,
    number: CommitmentNumber,
    balances: &Balances,
) -> Result<CommitmentTx, ChannelError> {
    let point = secrets.per_commitment_point(secp, number)?;
    let keys = CommitmentKeys::derive(
        secp,
        &point,
        &params.local.basepoints,
        &params.remote.basepoints,
    )?;
    Ok(build_commitment(&CommitmentSpec {
        funding: params.funding_output(),
        obscuring_factor: params.obscuring_factor(),
        commitment_number: number,
        keys,
        to_self_delay: params.remote.to_self_delay,
        dust_limit: params.local.dust_limit,
        feerate: balances.feerate,
        funder: params.funder_on(true),
        to_local: balances.ours,
        to_remote: balances.theirs,
        htlcs: balances.htlcs.clone(),
    })?)
}

/// The peer's commitment number `number`, built with its per-commitment point (the mirror
/// image of [`local_commitment`]: their keys, the delay *we* imposed, *their* dust limit, HTLC
/// directions flipped).
pub fn remote_commitment<C: Verification>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    number: CommitmentNumber,
    their_point: &PublicKey,
    balances: &Balances,
) -> Result<CommitmentTx, ChannelError> {
    let keys = CommitmentKeys::derive(
        secp,
        &PerCommitmentPoint(*their_point),
        &params.remote.basepoints,
        &params.local.basepoints,
    )?;
    let htlcs = balances
        .htlcs
        .iter()
        .map(|h| Htlc {
            direction: h.direction.flipped(),
            ..*h
        })
        .collect();
    Ok(build_commitment(&CommitmentSpec {
        funding: params.funding_output(),
        obscuring_factor: params.obscuring_factor(),
        commitment_number: number,
        keys,
        to_self_delay: params.local.to_self_delay,
        dust_limit: params.remote.dust_limit,
        feerate: balances.feerate,
        funder: params.funder_on(false),
        to_local: balances.theirs,
        to_remote: balances.ours,
        htlcs,
    })?)
}

/// Our signature on the peer's commitment (`funding_created` / `funding_signed` /
/// `commitment_signed` `signature`).
pub fn sign_commitment<C: Signing>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    secrets: &ChannelSecrets,
    commitment: &Transaction,
) -> Result<Signature, ChannelError> {
    Ok(params
        .funding_output()
        .sign(secp, commitment, &secrets.funding_key)?)
}

/// Checks the peer's signature on our commitment (BOLT 2: "if `signature` is incorrect OR
/// non-compliant with LOW-S-standard rule ... fail").
pub fn verify_commitment_signature<C: Verification>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    commitment: &Transaction,
    signature: &Signature,
) -> Result<(), ChannelError> {
    params
        .funding_output()
        .verify(
            secp,
            commitment,
            signature,
            &params.remote.basepoints.funding_pubkey,
        )
        .map_err(|_| ChannelError::BadCommitmentSignature)
}

/// Our commitment with both signatures in its witness: what a force close broadcasts.
pub fn signed_local_commitment<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    params: &ChannelParams,
    secrets: &ChannelSecrets,
    number: CommitmentNumber,
    balances: &Balances,
    their_signature: &Signature,
) -> Result<Transaction, ChannelError> {
    let commitment = local_commitment(secp, params, secrets, number, balances)?;
    let funding = params.funding_output();
    let ours = funding.sign(secp, &commitment.tx, &secrets.funding_key)?;
    Ok(funding.into_signed(
        commitment.tx,
        (&params.local.basepoints.funding_pubkey, &ours),
        (&params.remote.basepoints.funding_pubkey, their_signature),
    )?)
}
