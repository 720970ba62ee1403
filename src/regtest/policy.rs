//! Relay policy: standard output types, standard transactions, dust, input and witness
//! standardness, and fee rates (Core's `policy/policy.cpp`, `script/solver.cpp`,
//! `policy/feerate.cpp`). Regtest requires standardness (`-acceptnonstdtxn` is off), so every
//! rule here applies to the mempool; none applies to blocks.

use bitcoin::opcodes::all::{OP_CHECKMULTISIG, OP_CHECKSIG, OP_PUSHNUM_1, OP_PUSHNUM_16};
use bitcoin::script::Instruction;
use bitcoin::{Amount, Script, Transaction, TxOut, WitnessVersion};

use super::reject::{RejectClass, TxReject};
use super::utxo::Coin;
use super::validation;

/// Highest standard transaction version (`TX_MAX_STANDARD_VERSION`, TRUC is version 3).
const TX_MAX_STANDARD_VERSION: i32 = 3;
/// Largest standard transaction weight (`MAX_STANDARD_TX_WEIGHT`).
pub(crate) const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Smallest standard non-witness size (`MIN_STANDARD_TX_NONWITNESS_SIZE`, CVE-2017-12842).
pub(crate) const MIN_STANDARD_TX_NONWITNESS_SIZE: usize = 65;
/// Largest standard scriptSig (`MAX_STANDARD_SCRIPTSIG_SIZE`).
const MAX_STANDARD_SCRIPTSIG_SIZE: usize = 1650;
/// Largest sigop cost of a standard transaction (`MAX_STANDARD_TX_SIGOPS_COST`).
pub(crate) const MAX_STANDARD_TX_SIGOPS_COST: u64 = 16_000;
/// Largest legacy sigop count of a standard transaction (`MAX_TX_LEGACY_SIGOPS`, BIP54).
const MAX_TX_LEGACY_SIGOPS: usize = 2_500;
/// Largest sigop count of a standard P2SH redeem script (`MAX_P2SH_SIGOPS`).
const MAX_P2SH_SIGOPS: usize = 15;
/// Largest standard P2WSH witness script (`MAX_STANDARD_P2WSH_SCRIPT_SIZE`).
const MAX_STANDARD_P2WSH_SCRIPT_SIZE: usize = 3600;
/// Most standard P2WSH stack items (`MAX_STANDARD_P2WSH_STACK_ITEMS`).
const MAX_STANDARD_P2WSH_STACK_ITEMS: usize = 100;
/// Largest standard P2WSH stack item (`MAX_STANDARD_P2WSH_STACK_ITEM_SIZE`).
const MAX_STANDARD_P2WSH_STACK_ITEM_SIZE: usize = 80;
/// Largest standard tapscript stack item (`MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE`).
const MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE: usize = 80;
/// Default `-datacarriersize`: `OP_RETURN` bytes per transaction (`MAX_OP_RETURN_RELAY`).
const MAX_OP_RETURN_RELAY: usize = 100_000;
/// Dust outputs a standard transaction may carry (`MAX_DUST_OUTPUTS_PER_TX`, ephemeral dust).
const MAX_DUST_OUTPUTS_PER_TX: usize = 1;
/// Weight units counted per signature operation in the virtual size (`-bytespersigop`).
const BYTES_PER_SIGOP: u64 = 20;

/// A fee rate in satoshis per 1000 virtual bytes (Core's `CFeeRate`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct FeeRate(pub u64);

impl FeeRate {
    /// Core's default `-minrelaytxfee` in v31: 100 sat/kvB.
    pub const DEFAULT_MIN_RELAY: FeeRate = FeeRate(100);
    /// Core's default `-incrementalrelayfee`: 100 sat/kvB.
    pub const DEFAULT_INCREMENTAL_RELAY: FeeRate = FeeRate(100);
    /// Core's `-dustrelayfee` (`DUST_RELAY_TX_FEE`): 3000 sat/kvB.
    pub const DUST_RELAY: FeeRate = FeeRate(3000);

    /// The fee for `vsize` virtual bytes, rounded up (`CFeeRate::GetFee`).
    pub fn fee(self, vsize: u64) -> Amount {
        Amount::from_sat((self.0.saturating_mul(vsize)).div_ceil(1000))
    }

    /// The rate of `fee` over `vsize`, per 1000 vbytes, rounded down (`GetFeePerK`).
    pub fn of(fee: Amount, vsize: u64) -> FeeRate {
        if vsize == 0 {
            return FeeRate(0);
        }
        FeeRate(fee.to_sat().saturating_mul(1000) / vsize)
    }
}

/// Output script classes (Core's `TxoutType`), named as `scriptPubKey.type` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputType {
    /// Anything else.
    NonStandard,
    /// `<pubkey> OP_CHECKSIG`.
    PubKey,
    /// P2PKH.
    PubKeyHash,
    /// P2SH.
    ScriptHash,
    /// Bare `m <keys> n OP_CHECKMULTISIG` (up to 3 keys to be standard).
    Multisig,
    /// `OP_RETURN` followed by pushes only.
    NullData,
    /// P2WPKH.
    WitnessV0KeyHash,
    /// P2WSH.
    WitnessV0ScriptHash,
    /// P2TR.
    WitnessV1Taproot,
    /// Pay-to-anchor (`OP_1 <0x4e73>`).
    Anchor,
    /// A witness program of a version not yet defined.
    WitnessUnknown,
}

impl OutputType {
    /// Core's name (`GetTxnOutputType`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            OutputType::NonStandard => "nonstandard",
            OutputType::PubKey => "pubkey",
            OutputType::PubKeyHash => "pubkeyhash",
            OutputType::ScriptHash => "scripthash",
            OutputType::Multisig => "multisig",
            OutputType::NullData => "nulldata",
            OutputType::WitnessV0KeyHash => "witness_v0_keyhash",
            OutputType::WitnessV0ScriptHash => "witness_v0_scripthash",
            OutputType::WitnessV1Taproot => "witness_v1_taproot",
            OutputType::Anchor => "anchor",
            OutputType::WitnessUnknown => "witness_unknown",
        }
    }
}

/// Whether `script` is a pay-to-anchor output (`OP_1 OP_PUSHBYTES_2 4e73`).
pub(crate) fn is_pay_to_anchor(script: &Script) -> bool {
    script.as_bytes() == [0x51, 0x02, 0x4e, 0x73]
}

/// Classifies an output script (Core's `Solver`).
pub(crate) fn classify(script: &Script) -> OutputType {
    if script.is_p2sh() {
        return OutputType::ScriptHash;
    }
    if let Some(version) = script.witness_version() {
        let program_len = script.len() - 2;
        return match (version, program_len) {
            (WitnessVersion::V0, 20) => OutputType::WitnessV0KeyHash,
            (WitnessVersion::V0, 32) => OutputType::WitnessV0ScriptHash,
            (WitnessVersion::V1, 32) => OutputType::WitnessV1Taproot,
            _ if is_pay_to_anchor(script) => OutputType::Anchor,
            (WitnessVersion::V0, _) => OutputType::NonStandard,
            _ => OutputType::WitnessUnknown,
        };
    }
    let bytes = script.as_bytes();
    if bytes.first() == Some(&0x6a) && Script::from_bytes(&bytes[1..]).is_push_only() {
        return OutputType::NullData;
    }
    if is_p2pk(bytes) {
        return OutputType::PubKey;
    }
    if script.is_p2pkh() {
        return OutputType::PubKeyHash;
    }
    if multisig_counts(script).is_some() {
        return OutputType::Multisig;
    }
    OutputType::NonStandard
}

/// `<33 or 65 byte key> OP_CHECKSIG` with a plausible key prefix (`CPubKey::ValidSize`).
fn is_p2pk(bytes: &[u8]) -> bool {
    let valid = |key: &[u8]| match key.first() {
        Some(2 | 3) => key.len() == 33,
        Some(4 | 6 | 7) => key.len() == 65,
        _ => false,
    };
    match bytes.len() {
        35 => bytes[0] == 33 && bytes[34] == OP_CHECKSIG.to_u8() && valid(&bytes[1..34]),
        67 => bytes[0] == 65 && bytes[66] == OP_CHECKSIG.to_u8() && valid(&bytes[1..66]),
        _ => false,
    }
}

/// `(required, keys)` of a bare multisig script (Core's `MatchMultisig`), if it is one.
pub(crate) fn multisig_counts(script: &Script) -> Option<(u8, u8)> {
    let bytes = script.as_bytes();
    if bytes.last() != Some(&OP_CHECKMULTISIG.to_u8()) {
        return None;
    }
    let small_int = |op: u8| {
        (OP_PUSHNUM_1.to_u8()..=OP_PUSHNUM_16.to_u8())
            .contains(&op)
            .then(|| op - OP_PUSHNUM_1.to_u8() + 1)
    };
    let mut instructions = script.instructions();
    let required = match instructions.next()? {
        Ok(Instruction::Op(op)) => small_int(op.to_u8())?,
        _ => return None,
    };
    let mut keys: u8 = 0;
    let mut rest = Vec::new();
    for instruction in instructions {
        match instruction {
            Ok(Instruction::PushBytes(p)) if p.len() == 33 || p.len() == 65 => {
                if !rest.is_empty() {
                    return None;
                }
                keys = keys.checked_add(1)?;
            }
            Ok(Instruction::Op(op)) => rest.push(op.to_u8()),
            _ => return None,
        }
    }
    // What follows the keys must be exactly `n OP_CHECKMULTISIG`.
    if rest.len() != 2 || small_int(rest[0]) != Some(keys) || required > keys {
        return None;
    }
    Some((required, keys))
}

/// The dust threshold of an output at `dust_relay` (Core's `GetDustThreshold`).
pub(crate) fn dust_threshold(output: &TxOut, dust_relay: FeeRate) -> Amount {
    if output.script_pubkey.is_op_return() {
        return Amount::ZERO;
    }
    let mut size = bitcoin::consensus::encode::serialize(output).len() as u64;
    size += if output.script_pubkey.is_witness_program() {
        32 + 4 + 1 + (107 / 4) + 4
    } else {
        32 + 4 + 1 + 107 + 4
    };
    dust_relay.fee(size)
}

/// Whether `output` is dust (`IsDust`).
pub(crate) fn is_dust(output: &TxOut, dust_relay: FeeRate) -> bool {
    output.value < dust_threshold(output, dust_relay)
}

/// Number of dust outputs of `tx`.
pub(crate) fn dust_count(tx: &Transaction) -> usize {
    tx.output
        .iter()
        .filter(|o| is_dust(o, FeeRate::DUST_RELAY))
        .count()
}

/// Core's `IsStandardTx`: version, weight, scriptSig size and shape, output types, `OP_RETURN`
/// budget, dust count.
pub(crate) fn check_standard_tx(tx: &Transaction) -> Result<(), TxReject> {
    let not_standard = |reason: &str| Err(TxReject::new(RejectClass::NotStandard, reason));
    if tx.version.0 > TX_MAX_STANDARD_VERSION || tx.version.0 < 1 {
        return not_standard("version");
    }
    if tx.weight().to_wu() > MAX_STANDARD_TX_WEIGHT {
        return not_standard("tx-size");
    }
    for input in &tx.input {
        if input.script_sig.len() > MAX_STANDARD_SCRIPTSIG_SIZE {
            return not_standard("scriptsig-size");
        }
        if !input.script_sig.is_push_only() {
            return not_standard("scriptsig-not-pushonly");
        }
    }
    let mut datacarrier_left = MAX_OP_RETURN_RELAY;
    for output in &tx.output {
        match classify(&output.script_pubkey) {
            OutputType::NonStandard => return not_standard("scriptpubkey"),
            OutputType::Multisig => {
                let (m, n) = multisig_counts(&output.script_pubkey).unwrap_or((0, 0));
                if !(1..=3).contains(&n) || m < 1 || m > n {
                    return not_standard("scriptpubkey");
                }
            }
            OutputType::NullData => {
                let size = output.script_pubkey.len();
                if size > datacarrier_left {
                    return not_standard("datacarrier");
                }
                datacarrier_left -= size;
            }
            _ => {}
        }
    }
    if dust_count(tx) > MAX_DUST_OUTPUTS_PER_TX {
        return not_standard("dust");
    }
    Ok(())
}

/// Core's `ValidateInputsStandardness`: the BIP54 legacy sigop budget, no spends of
/// non-standard or undefined-witness outputs, P2SH redeem scripts within 15 sigops.
pub(crate) fn check_inputs_standard(tx: &Transaction, coins: &[Coin]) -> Result<(), TxReject> {
    let reject = |details: String| {
        Err(TxReject::with_details(
            RejectClass::InputsNotStandard,
            "bad-txns-nonstandard-inputs",
            details,
        ))
    };
    let mut legacy_sigops = 0usize;
    for (input, coin) in tx.input.iter().zip(coins) {
        let spk = &coin.output.script_pubkey;
        legacy_sigops += input.script_sig.count_sigops();
        legacy_sigops += if spk.is_p2sh() {
            redeem_script(&input.script_sig).map_or(0, |r| r.count_sigops())
        } else {
            spk.count_sigops()
        };
        if legacy_sigops > MAX_TX_LEGACY_SIGOPS {
            return reject("non-witness sigops exceed bip54 limit".to_owned());
        }
    }
    for (i, (input, coin)) in tx.input.iter().zip(coins).enumerate() {
        match classify(&coin.output.script_pubkey) {
            OutputType::NonStandard => return reject(format!("input {i} script unknown")),
            OutputType::WitnessUnknown => {
                return reject(format!("input {i} witness program is undefined"));
            }
            OutputType::ScriptHash => {
                if !input.script_sig.is_push_only() {
                    return reject(format!(
                        "p2sh scriptsig malformed (input {i}: Only push operators allowed in signatures)"
                    ));
                }
                let Some(redeem) = redeem_script(&input.script_sig) else {
                    return reject(format!("input {i} P2SH redeemscript missing"));
                };
                let sigops = redeem.count_sigops();
                if sigops > MAX_P2SH_SIGOPS {
                    return reject(format!(
                        "p2sh redeemscript sigops exceed limit (input {i}: {sigops} > {MAX_P2SH_SIGOPS})"
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The last push of a scriptSig: the redeem script of a P2SH spend.
fn redeem_script(script_sig: &Script) -> Option<bitcoin::ScriptBuf> {
    let mut last = None;
    for instruction in script_sig.instructions() {
        match instruction {
            Ok(Instruction::PushBytes(p)) => last = Some(p.as_bytes().to_vec()),
            Ok(Instruction::Op(op)) => {
                // OP_0 .. OP_16 push small numbers; keep Core's stack view.
                let byte = op.to_u8();
                last = match byte {
                    0x4f => Some(vec![0x81]),
                    0x51..=0x60 => Some(vec![byte - 0x50]),
                    _ => None,
                };
            }
            Err(_) => return None,
        }
    }
    last.map(bitcoin::ScriptBuf::from_bytes)
}

/// Core's `IsWitnessStandard`: no witness on non-witness spends or anchors, P2WSH and
/// tapscript resource limits, no annex.
pub(crate) fn is_witness_standard(tx: &Transaction, coins: &[Coin]) -> bool {
    for (input, coin) in tx.input.iter().zip(coins) {
        if input.witness.is_empty() {
            continue;
        }
        let mut program = coin.output.script_pubkey.clone();
        if is_pay_to_anchor(&program) {
            return false;
        }
        let mut p2sh = false;
        if program.is_p2sh() {
            let Some(redeem) = redeem_script(&input.script_sig) else {
                return false;
            };
            program = redeem;
            p2sh = true;
        }
        let Some(version) = program.witness_version() else {
            return false;
        };
        let program_len = program.len() - 2;
        let items: Vec<&[u8]> = input.witness.iter().collect();
        if version == WitnessVersion::V0 && program_len == 32 {
            let Some((script, stack)) = items.split_last() else {
                return false;
            };
            if script.len() > MAX_STANDARD_P2WSH_SCRIPT_SIZE
                || stack.len() > MAX_STANDARD_P2WSH_STACK_ITEMS
                || stack
                    .iter()
                    .any(|i| i.len() > MAX_STANDARD_P2WSH_STACK_ITEM_SIZE)
            {
                return false;
            }
        }
        if version == WitnessVersion::V1 && program_len == 32 && !p2sh {
            let mut stack = items.as_slice();
            if stack.len() >= 2 && stack.last().is_some_and(|a| a.first() == Some(&0x50)) {
                return false;
            }
            if stack.len() >= 2 {
                let Some((control, rest)) = stack.split_last() else {
                    return false;
                };
                let Some((_script, args)) = rest.split_last() else {
                    return false;
                };
                if control.is_empty() {
                    return false;
                }
                if control[0] & 0xfe == 0xc0 {
                    stack = args;
                    if stack
                        .iter()
                        .any(|i| i.len() > MAX_STANDARD_TAPSCRIPT_STACK_ITEM_SIZE)
                    {
                        return false;
                    }
                }
            } else if stack.is_empty() {
                return false;
            }
        }
    }
    true
}

/// The virtual size Core charges fees on: weight or sigop cost × 20, whichever is larger,
/// over four, rounded up (`GetVirtualTransactionSize`).
pub(crate) fn virtual_size(weight: u64, sigop_cost: u64) -> u64 {
    weight.max(sigop_cost * BYTES_PER_SIGOP).div_ceil(4)
}

/// The rejection when a transaction's fee is below the minimum relay fee.
pub(crate) fn check_min_relay_fee(
    fee: Amount,
    vsize: u64,
    min_relay: FeeRate,
) -> Result<(), TxReject> {
    let required = min_relay.fee(vsize);
    if fee < required {
        return Err(TxReject::with_details(
            RejectClass::Reconsiderable,
            "min relay fee not met",
            format!("{} < {}", fee.to_sat(), required.to_sat()),
        ));
    }
    Ok(())
}

/// Core's `PreCheckEphemeralTx`: a transaction carrying dust must pay no fee, so that miners
/// only take it together with the child that sweeps the dust.
pub(crate) fn check_ephemeral_dust(tx: &Transaction, fee: Amount) -> Result<(), TxReject> {
    if fee > Amount::ZERO && dust_count(tx) > 0 {
        return Err(TxReject::with_details(
            RejectClass::NotStandard,
            "dust",
            "tx with dust output must be 0-fee",
        ));
    }
    Ok(())
}

/// Core's sigop-limit rejection for a standard transaction.
pub(crate) fn check_sigops(cost: u64) -> Result<(), TxReject> {
    if cost > MAX_STANDARD_TX_SIGOPS_COST {
        return Err(TxReject::with_details(
            RejectClass::NotStandard,
            "bad-txns-too-many-sigops",
            cost.to_string(),
        ));
    }
    Ok(())
}

/// Non-witness size check (`tx-size-small`).
pub(crate) fn check_min_size(tx: &Transaction) -> Result<(), TxReject> {
    if tx.base_size() < MIN_STANDARD_TX_NONWITNESS_SIZE {
        return Err(TxReject::new(RejectClass::NotStandard, "tx-size-small"));
    }
    Ok(())
}

/// Re-exported so callers format amounts the way the reasons do.
pub(crate) use validation::format_money;

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::ScriptBuf;

    fn out(value: u64, spk_hex: &str) -> TxOut {
        let bytes: Vec<u8> = (0..spk_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&spk_hex[i..i + 2], 16).unwrap())
            .collect();
        TxOut {
            value: Amount::from_sat(value),
            script_pubkey: ScriptBuf::from_bytes(bytes),
        }
    }

    #[test]
    fn dust_thresholds_match_core_comments() {
        // P2WPKH: 294 sat, P2PKH: 546 sat at 3000 sat/kvB.
        let p2wpkh = out(0, "0014751e76e8199196d454941c45d1b3a323f1433bd6");
        let p2pkh = out(0, "76a914751e76e8199196d454941c45d1b3a323f1433bd688ac");
        assert_eq!(
            dust_threshold(&p2wpkh, FeeRate::DUST_RELAY),
            Amount::from_sat(294)
        );
        assert_eq!(
            dust_threshold(&p2pkh, FeeRate::DUST_RELAY),
            Amount::from_sat(546)
        );
    }

    #[test]
    fn classify_common_scripts() {
        let cases = [
            (
                "0014751e76e8199196d454941c45d1b3a323f1433bd6",
                "witness_v0_keyhash",
            ),
            (
                "a914751e76e8199196d454941c45d1b3a323f1433bd687",
                "scripthash",
            ),
            ("6a0401020304", "nulldata"),
            ("51024e73", "anchor"),
            ("5202aaaa", "witness_unknown"),
            ("00", "nonstandard"),
        ];
        for (hex, name) in cases {
            assert_eq!(classify(&out(0, hex).script_pubkey).name(), name, "{hex}");
        }
    }

    #[test]
    fn fee_rounds_up() {
        assert_eq!(FeeRate(100).fee(141), Amount::from_sat(15));
        assert_eq!(FeeRate(1000).fee(141), Amount::from_sat(141));
        assert_eq!(FeeRate::of(Amount::from_sat(141), 141), FeeRate(1000));
    }
}
