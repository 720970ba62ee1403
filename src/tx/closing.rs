//! The mutual close negotiated with `closing_signed` (BOLT 3 "Legacy Closing Transaction").

use bitcoin::absolute::LockTime;
use bitcoin::transaction::Version;
use bitcoin::{Amount, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};

use super::{FundingOutput, Side, TxError};
use crate::units::Msat;

/// The inputs of a legacy closing transaction, seen from the node offering a signature
/// (`Local`): each node builds the transaction with its own `dust_limit_satoshis`, so the two
/// peers' variants can differ, and a received signature may have to be checked against the
/// variant built with the peer's dust limit (BOLT 3 "Legacy Closing Transaction" rationale).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosingSpec {
    /// The funding output being spent.
    pub funding: FundingOutput,
    /// The signer's final balance.
    pub local_balance: Msat,
    /// The other node's final balance.
    pub remote_balance: Msat,
    /// The signer's `scriptpubkey` from its `shutdown`.
    pub local_script: ScriptBuf,
    /// The other node's `scriptpubkey` from its `shutdown`.
    pub remote_script: ScriptBuf,
    /// Which side opened the channel, and so pays `fee`.
    pub funder: Side,
    /// `fee_satoshis` of `closing_signed`.
    pub fee: Amount,
    /// The signer's `dust_limit_satoshis`.
    pub dust_limit: Amount,
}

/// Builds the unsigned legacy closing transaction (BOLT 3 "Legacy Closing Transaction"):
/// version 2, locktime 0, the funding input with sequence `0xFFFFFFFF`, each balance rounded
/// down to satoshis, the fee taken from the funder, outputs below `dust_limit` removed, the
/// rest in BIP 69 order. Sign it with [`FundingOutput::sign`].
///
/// Fails if the balances do not add up to the funding amount (no HTLC may be pending at
/// close), if the fee exceeds the funder's balance, or if no output is left.
pub fn build_closing(spec: &ClosingSpec) -> Result<Transaction, TxError> {
    let funding_msat = Msat::from_amount(spec.funding.amount).map_or(u64::MAX, |m| m.0);
    let committed = spec
        .local_balance
        .checked_add(spec.remote_balance)
        .map_or(u64::MAX, |m| m.0);
    if committed != funding_msat {
        return Err(TxError::BalanceMismatch {
            funding_msat,
            committed_msat: committed,
        });
    }
    let mut local = spec.local_balance.to_amount_floor();
    let mut remote = spec.remote_balance.to_amount_floor();
    let funder = match spec.funder {
        Side::Local => &mut local,
        Side::Remote => &mut remote,
    };
    *funder = funder
        .checked_sub(spec.fee)
        .ok_or(TxError::ClosingFeeTooHigh {
            fee: spec.fee,
            balance: *funder,
        })?;

    let mut outputs: Vec<TxOut> = [(local, &spec.local_script), (remote, &spec.remote_script)]
        .into_iter()
        .filter(|(value, _)| *value >= spec.dust_limit && *value > Amount::ZERO)
        .map(|(value, script)| TxOut {
            value,
            script_pubkey: script.clone(),
        })
        .collect();
    if outputs.is_empty() {
        return Err(TxError::ClosingWithoutOutputs);
    }
    outputs.sort_by(|a, b| {
        a.value
            .cmp(&b.value)
            .then_with(|| a.script_pubkey.as_bytes().cmp(b.script_pubkey.as_bytes()))
    });
    Ok(Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: spec.funding.outpoint,
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: outputs,
    })
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};
    use bitcoin::OutPoint;

    use super::*;

    fn spec() -> ClosingSpec {
        let secp = Secp256k1::new();
        let a = SecretKey::from_slice(&[1; 32]).unwrap().public_key(&secp);
        let b = SecretKey::from_slice(&[2; 32]).unwrap().public_key(&secp);
        ClosingSpec {
            funding: FundingOutput::new(OutPoint::null(), Amount::from_sat(1_000_000), a, b),
            local_balance: Msat(700_000_500),
            remote_balance: Msat(299_999_500),
            local_script: ScriptBuf::from_bytes(vec![0x00, 0x14, 1, 2, 3]),
            remote_script: ScriptBuf::from_bytes(vec![0x00, 0x14, 9, 9, 9]),
            funder: Side::Local,
            fee: Amount::from_sat(1000),
            dust_limit: Amount::from_sat(546),
        }
    }

    #[test]
    fn funder_pays_rounded_down_and_outputs_are_sorted() {
        let tx = build_closing(&spec()).unwrap();
        assert_eq!(tx.input[0].sequence, Sequence::MAX);
        assert_eq!(tx.lock_time, LockTime::ZERO);
        assert_eq!(tx.output.len(), 2);
        assert_eq!(tx.output[0].value, Amount::from_sat(299_999));
        assert_eq!(tx.output[0].script_pubkey, spec().remote_script);
        assert_eq!(tx.output[1].value, Amount::from_sat(700_000 - 1000));
        let remote_pays = build_closing(&ClosingSpec {
            funder: Side::Remote,
            ..spec()
        })
        .unwrap();
        assert_eq!(
            remote_pays.output[0].value,
            Amount::from_sat(299_999 - 1000)
        );
    }

    #[test]
    fn dust_outputs_are_removed_per_signer_dust_limit() {
        let s = ClosingSpec {
            local_balance: Msat(999_500_000),
            remote_balance: Msat(500_000),
            ..spec()
        };
        let tx = build_closing(&s).unwrap();
        assert_eq!(tx.output.len(), 1);
        assert_eq!(tx.output[0].script_pubkey, s.local_script);
        // With a lower dust limit (the other node's variant) the 500 sat output stays.
        let lower = build_closing(&ClosingSpec {
            dust_limit: Amount::from_sat(354),
            ..s
        })
        .unwrap();
        assert_eq!(lower.output.len(), 2);
    }

    #[test]
    fn impossible_closes_are_errors() {
        assert_eq!(
            build_closing(&ClosingSpec {
                fee: Amount::from_sat(800_000),
                ..spec()
            }),
            Err(TxError::ClosingFeeTooHigh {
                fee: Amount::from_sat(800_000),
                balance: Amount::from_sat(700_000)
            })
        );
        assert!(matches!(
            build_closing(&ClosingSpec {
                local_balance: Msat(1),
                ..spec()
            }),
            Err(TxError::BalanceMismatch { .. })
        ));
        assert_eq!(
            build_closing(&ClosingSpec {
                dust_limit: Amount::from_sat(2_000_000),
                ..spec()
            }),
            Err(TxError::ClosingWithoutOutputs)
        );
    }
}
