//! Classifying a funding spend and planning the sweeps it calls for (BOLT 5 "Unilateral Close
//! Handling", "Revoked Transaction Close Handling", "Mutual Close Handling").
//!
//! Pure: the stored channel, our secrets and the spending transaction in; a [`SpendKind`] and
//! the sweeps to build out. The order of the checks is the issue's: our commitment, the peer's
//! current one, the mutual close, a revoked one, anything else.

use bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey, Signing, Verification};
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction};

use super::state::{SpendKind, SweepKind};
use super::WatchError;
use crate::channel::commitments::{local_commitment, remote_commitment};
use crate::channel::StoredChannel;
use crate::keys::{ChannelSecrets, CommitmentKeys, CommitmentNumber, PerCommitmentPoint};
use crate::tx::{build_sweep, revoked_outputs, Htlc, SweepInput};
use crate::units::FeeratePerKw;

/// What `tx` (which spends the channel's funding output) is.
pub fn classify<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
    tx: &Transaction,
) -> SpendKind {
    let txid = tx.compute_txid();
    let c = &channel.commitment;
    let number = channel.params.obscuring_factor().commitment_number_of(tx);
    // 1. Our own commitment.
    if let Some(n) = number.filter(|n| n.value() == c.local.number) {
        if let Ok(view) = c.local_view() {
            if local_commitment(secp, &channel.params, secrets, n, &view.balances())
                .is_ok_and(|ours| ours.tx.compute_txid() == txid)
            {
                return SpendKind::LocalCommitment { number: n.value() };
            }
        }
    }
    // 2. The peer's current commitment (or its next one, signed by us but not yet revoked
    //    into by the peer).
    if let Some(n) = number {
        let mut candidates = vec![(c.remote.current, Some(c.remote.current_point))];
        if let Some(pending) = c.remote.pending {
            candidates.push((pending, c.remote.next_point));
        }
        for (commitment, point) in candidates {
            let Some(point) = point.filter(|_| n.value() == commitment.number) else {
                continue;
            };
            let Ok(view) = c.ledger.view(commitment.pos) else {
                continue;
            };
            if remote_commitment(secp, &channel.params, n, &point, &view.balances())
                .is_ok_and(|theirs| theirs.tx.compute_txid() == txid)
            {
                return SpendKind::RemoteCommitment { number: n.value() };
            }
        }
    }
    // 3. The mutual close: the transaction we agreed on, or the legacy closing shape (locktime
    //    0, final sequence) paying the shutdown scripts.
    if channel
        .close
        .closing_tx
        .as_ref()
        .is_some_and(|agreed| agreed.compute_txid() == txid)
    {
        return SpendKind::Cooperative;
    }
    let closing_shape = tx.lock_time.to_consensus_u32() == 0
        && tx.input.len() == 1
        && tx.input[0].sequence == Sequence::MAX;
    let scripts: Vec<&ScriptBuf> = [&channel.close.local_script, &channel.close.remote_script]
        .into_iter()
        .flatten()
        .collect();
    if closing_shape
        && !scripts.is_empty()
        && tx
            .output
            .iter()
            .all(|o| scripts.contains(&&o.script_pubkey))
    {
        return SpendKind::Cooperative;
    }
    // 4. A revoked commitment of the peer's: its number is behind the peer's current one and
    //    we hold the secret it revealed for it.
    if let Some(n) = number.filter(|n| n.value() < c.remote.current.number) {
        if c.their_secrets.get(n.secret_index()).is_some() {
            return SpendKind::RevokedCommitment { number: n.value() };
        }
    }
    SpendKind::Unknown
}

/// A sweep to build, with the key that signs each input.
#[derive(Clone, Debug)]
pub struct PlannedSweep {
    /// What it sweeps.
    pub kind: SweepKind,
    /// The outputs it spends.
    pub inputs: Vec<SweepInput>,
    /// The key for each input, in order.
    pub keys: Vec<SecretKey>,
    /// The first block height in which it can confirm (CSV delays).
    pub valid_from: u32,
}

impl PlannedSweep {
    /// The total value it spends.
    pub fn amount(&self) -> Amount {
        self.inputs.iter().map(|i| i.amount).sum()
    }
}

/// Our `to_remote` output on any commitment of the peer's: with `option_static_remotekey`
/// it pays our `payment_basepoint` directly, so we find it by script whatever the state.
fn to_remote_input(
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
    tx: &Transaction,
) -> Option<(SweepInput, SecretKey)> {
    let pubkey = channel.params.local.basepoints.payment_basepoint;
    let script = ScriptBuf::new_p2wpkh(&bitcoin::CompressedPublicKey(pubkey).wpubkey_hash());
    let txid = tx.compute_txid();
    (0u32..).zip(&tx.output).find_map(|(vout, out)| {
        (out.script_pubkey == script).then(|| {
            (
                SweepInput::to_remote(OutPoint::new(txid, vout), out.value, pubkey),
                secrets.payment_basepoint_secret,
            )
        })
    })
}

/// The sweeps a classified spend confirmed at `height` calls for (empty for a mutual close,
/// whose output already pays our wallet). `revoked_htlcs` are the HTLCs of a revoked state
/// (from the revocation log), directions seen from the peer that broadcast it.
pub fn plan_sweeps<C: Signing + Verification>(
    secp: &Secp256k1<C>,
    channel: &StoredChannel,
    secrets: &ChannelSecrets,
    kind: SpendKind,
    tx: &Transaction,
    height: u32,
    revoked_htlcs: &[Htlc],
) -> Result<Vec<PlannedSweep>, WatchError> {
    let txid = tx.compute_txid();
    let mut plans = Vec::new();
    match kind {
        SpendKind::LocalCommitment { number } => {
            // Our delayed to_local, spendable `to_self_delay` blocks after confirmation (the
            // delay the peer imposed on us).
            let n = CommitmentNumber::new(number).map_err(|_| WatchError::BadCommitmentNumber)?;
            let view = channel
                .commitment
                .local_view()
                .map_err(|_| WatchError::BadCommitmentNumber)?;
            let ours = local_commitment(secp, &channel.params, secrets, n, &view.balances())?;
            if let Some(vout) = ours.to_local_vout {
                let point = secrets.per_commitment_point(secp, n)?;
                let delay = channel.params.remote.to_self_delay;
                let amount = tx
                    .output
                    .get(usize::try_from(vout).unwrap_or(usize::MAX))
                    .map_or(Amount::ZERO, |o| o.value);
                plans.push(PlannedSweep {
                    kind: SweepKind::ToLocal,
                    inputs: vec![SweepInput::delayed(
                        OutPoint::new(txid, vout),
                        amount,
                        ours.keys(),
                        delay,
                    )],
                    keys: vec![secrets.delayed_payment_key(secp, &point)?],
                    valid_from: height + u32::from(delay),
                });
            }
        }
        SpendKind::RemoteCommitment { .. } | SpendKind::Unknown => {
            // Our to_remote, spendable at once (also from a commitment we do not recognise:
            // a peer broadcasting a state we lost still pays our static key).
            if let Some((input, key)) = to_remote_input(channel, secrets, tx) {
                plans.push(PlannedSweep {
                    kind: SweepKind::ToRemote,
                    inputs: vec![input],
                    keys: vec![key],
                    valid_from: height,
                });
            }
        }
        SpendKind::RevokedCommitment { number } => {
            let n = CommitmentNumber::new(number).map_err(|_| WatchError::BadCommitmentNumber)?;
            let secret = channel
                .commitment
                .their_secrets
                .get(n.secret_index())
                .ok_or(WatchError::MissingSecret)?;
            let point: PublicKey = secret.point(secp)?.0;
            let keys = CommitmentKeys::derive(
                secp,
                &PerCommitmentPoint(point),
                &channel.params.remote.basepoints,
                &channel.params.local.basepoints,
            )?;
            let revocation_key = secrets.revocation_key(secp, &secret)?;
            let mut inputs =
                revoked_outputs(tx, &keys, channel.params.local.to_self_delay, revoked_htlcs);
            let mut input_keys = vec![revocation_key; inputs.len()];
            if let Some((input, key)) = to_remote_input(channel, secrets, tx) {
                inputs.push(input);
                input_keys.push(key);
            }
            if !inputs.is_empty() {
                plans.push(PlannedSweep {
                    kind: SweepKind::Justice,
                    inputs,
                    keys: input_keys,
                    valid_from: height,
                });
            }
        }
        SpendKind::Cooperative => {}
    }
    Ok(plans)
}

/// Builds and signs `plan` paying `destination` at `feerate`; returns the transaction and its
/// fee.
pub fn build_signed_sweep<C: Signing>(
    secp: &Secp256k1<C>,
    plan: &PlannedSweep,
    destination: ScriptBuf,
    feerate: FeeratePerKw,
) -> Result<(Transaction, Amount), WatchError> {
    let mut sweep = build_sweep(plan.inputs.clone(), destination, feerate)?;
    for (index, key) in plan.keys.iter().enumerate() {
        sweep.sign_input(secp, index, key)?;
    }
    Ok((sweep.tx, sweep.fee))
}
