//! Finding what a revoked commitment, or the HTLC transactions spending it, leave to the
//! revocation key (BOLT 5 "Revoked Transaction Close Handling"). The justice transaction
//! itself is a [`build_sweep`](super::build_sweep) of these inputs, signed with
//! [`Sweep::sign_all`](super::Sweep::sign_all) and the revocation private key.

use std::collections::HashMap;

use bitcoin::{OutPoint, ScriptBuf, Transaction};

use super::htlc::Htlc;
use super::script::to_local_script;
use super::sweep::{Claim, SweepInput};
use crate::keys::CommitmentKeys;

/// The outputs of the revoked commitment transaction `commitment` that the revocation key
/// can spend: the cheater's `to_local` and every HTLC output, in output order, each found by
/// its script (BOLT 5: "MUST *resolve* the _remote node's main output_ [...] the _remote
/// node's offered HTLCs_ [...] the _local node's offered HTLCs_ [...] using the revocation
/// private key").
///
/// `keys` are that commitment's keys (owner: the cheater, point: derived from the secret it
/// revealed), `to_self_delay` the delay imposed on the cheater, `htlcs` the HTLCs of that
/// state, directions seen from the cheater. Outputs matching no script (our own `to_remote`,
/// trimmed or unknown HTLCs) are left out; our `to_remote` can be added with
/// [`SweepInput::to_remote`].
pub fn revoked_outputs(
    commitment: &Transaction,
    keys: &CommitmentKeys,
    to_self_delay: u16,
    htlcs: &[Htlc],
) -> Vec<SweepInput> {
    let to_local = to_local_script(
        &keys.revocation_pubkey,
        to_self_delay,
        &keys.local_delayedpubkey,
    );
    let to_local_spk = to_local.to_p2wsh();
    let htlc_scripts: HashMap<ScriptBuf, ScriptBuf> = htlcs
        .iter()
        .map(|htlc| {
            let script = htlc.witness_script(keys);
            (script.to_p2wsh(), script)
        })
        .collect();
    let txid = commitment.compute_txid();
    (0u32..)
        .zip(&commitment.output)
        .filter_map(|(vout, out)| {
            let claim = if out.script_pubkey == to_local_spk {
                Claim::Revoked {
                    witness_script: to_local.clone(),
                }
            } else {
                Claim::RevokedHtlc {
                    witness_script: htlc_scripts.get(&out.script_pubkey)?.clone(),
                    revocation_pubkey: keys.revocation_pubkey,
                }
            };
            Some(SweepInput {
                outpoint: OutPoint::new(txid, vout),
                amount: out.value,
                claim,
            })
        })
        .collect()
}

/// The output of the cheater's HTLC-timeout or HTLC-success transaction `htlc_tx` that spent
/// an HTLC of the revoked commitment with `keys`: it pays the [`to_local_script`] of those
/// keys, spendable at once with the revocation key (BOLT 5: "MUST *resolve* the _remote
/// node's HTLC-timeout transaction_ by spending it using the revocation private key").
/// `None` if `htlc_tx` has no such output.
pub fn revoked_htlc_tx_output(
    htlc_tx: &Transaction,
    keys: &CommitmentKeys,
    to_self_delay: u16,
) -> Option<SweepInput> {
    let script = to_local_script(
        &keys.revocation_pubkey,
        to_self_delay,
        &keys.local_delayedpubkey,
    );
    let spk = script.to_p2wsh();
    let (vout, out) = (0u32..)
        .zip(&htlc_tx.output)
        .find(|(_, out)| out.script_pubkey == spk)?;
    Some(SweepInput {
        outpoint: OutPoint::new(htlc_tx.compute_txid(), vout),
        amount: out.value,
        claim: Claim::Revoked {
            witness_script: script,
        },
    })
}
