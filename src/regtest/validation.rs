//! Consensus rules for one transaction: context-free checks, finality (BIP113 absolute
//! locktime), relative locktimes (BIP68), input amounts and coinbase maturity, and script
//! verification (Core's `consensus/tx_check.cpp`, `consensus/tx_verify.cpp` and
//! `CheckInputScripts`).
//!
//! Scripts run through libbitcoinconsensus (Core 25.1's script interpreter, `bitcoin`'s
//! `bitcoinconsensus` feature) with every consensus flag it knows: P2SH, DERSIG, NULLDUMMY,
//! CHECKLOCKTIMEVERIFY, CHECKSEQUENCEVERIFY, WITNESS. That library predates taproot, so BIP341
//! key-path spends are verified here with `secp256k1` Schnorr checks, and script-path spends
//! are refused (documented limitation). It also accepts no policy flags; the ones that matter
//! for ordinary spends (`LOW_S`, STRICTENC hash types, `WITNESS_PUBKEYTYPE`, upgradable witness
//! programs) are checked here on top. All functions are pure: heights and times are arguments.

use std::collections::HashSet;

use bitcoin::consensus::encode;
use bitcoin::hashes::Hash;
use bitcoin::script::Instruction;
use bitcoin::secp256k1::{self, Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{Annex, Prevouts, SighashCache, TapSighashType};
use bitcoin::{Amount, Script, Transaction, TxOut, WitnessVersion};

use super::params::{self, LOCKTIME_THRESHOLD, MAX_BLOCK_WEIGHT, WITNESS_SCALE_FACTOR};
use super::reject::{RejectClass, TxReject};
use super::utxo::Coin;

/// BIP68: the sequence's disable bit.
const SEQUENCE_LOCKTIME_DISABLE_FLAG: u32 = 1 << 31;
/// BIP68: the sequence's time-based flag.
const SEQUENCE_LOCKTIME_TYPE_FLAG: u32 = 1 << 22;
/// BIP68: the bits holding the relative lock value.
const SEQUENCE_LOCKTIME_MASK: u32 = 0x0000_ffff;
/// BIP68: time-based locks count units of 512 seconds.
const SEQUENCE_LOCKTIME_GRANULARITY: u32 = 9;
/// BIP341 annex marker.
const ANNEX_TAG: u8 = 0x50;

/// Which script rules apply: consensus only (blocks) or consensus plus policy (mempool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScriptRules {
    /// Block validation (`GetBlockScriptFlags`): failures read `block-script-verify-flag-failed`.
    Consensus,
    /// Mempool acceptance (`STANDARD_SCRIPT_VERIFY_FLAGS`): failures read
    /// `mempool-script-verify-flag-failed`.
    Standard,
}

/// Context-free checks (Core's `CheckTransaction`).
pub(crate) fn check_transaction(tx: &Transaction) -> Result<(), TxReject> {
    let consensus = |reason: &str| Err(TxReject::new(RejectClass::Consensus, reason));
    if tx.input.is_empty() {
        return consensus("bad-txns-vin-empty");
    }
    if tx.output.is_empty() {
        return consensus("bad-txns-vout-empty");
    }
    if (tx.base_size() as u64) * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT {
        return consensus("bad-txns-oversize");
    }
    let mut total: u64 = 0;
    for output in &tx.output {
        let value = output.value.to_sat();
        // Core's nValue is signed: a value with the top bit set reads as negative.
        if i64::try_from(value).is_err() {
            return consensus("bad-txns-vout-negative");
        }
        if !params::money_range(value) {
            return consensus("bad-txns-vout-toolarge");
        }
        total = total.saturating_add(value);
        if !params::money_range(total) {
            return consensus("bad-txns-txouttotal-toolarge");
        }
    }
    let mut seen = HashSet::with_capacity(tx.input.len());
    for input in &tx.input {
        if !seen.insert(input.previous_output) {
            return consensus("bad-txns-inputs-duplicate");
        }
    }
    if tx.is_coinbase() {
        let len = tx.input[0].script_sig.len();
        if !(2..=100).contains(&len) {
            return consensus("bad-cb-length");
        }
    } else if tx.input.iter().any(|i| i.previous_output.is_null()) {
        return consensus("bad-txns-prevout-null");
    }
    Ok(())
}

/// Whether `tx` may be included in a block at `height` whose lock-time cutoff (median time
/// past of its parent, BIP113) is `time` (Core's `IsFinalTx`).
pub(crate) fn is_final_tx(tx: &Transaction, height: i64, time: i64) -> bool {
    let lock_time = i64::from(tx.lock_time.to_consensus_u32());
    if lock_time == 0 {
        return true;
    }
    let limit = if lock_time < i64::from(LOCKTIME_THRESHOLD) {
        height
    } else {
        time
    };
    if lock_time < limit {
        return true;
    }
    tx.input
        .iter()
        .all(|i| i.sequence.to_consensus_u32() == u32::MAX)
}

/// The BIP68 constraints of a transaction: the last invalid height and time, in nLockTime
/// semantics (-1 means none). Core's `CalculateSequenceLocks`.
///
/// `prev_heights[i]` is the height of the block holding input `i`'s coin (the next block's
/// height for mempool coins); `mtp_at(h)` is the median time past of the block at height `h`
/// on the chain being extended.
pub(crate) fn sequence_locks(
    tx: &Transaction,
    prev_heights: &[u32],
    mtp_at: impl Fn(u32) -> i64,
) -> (i64, i64) {
    let mut min_height: i64 = -1;
    let mut min_time: i64 = -1;
    if tx.version.0 < 2 {
        return (min_height, min_time);
    }
    for (input, &coin_height) in tx.input.iter().zip(prev_heights) {
        let sequence = input.sequence.to_consensus_u32();
        if sequence & SEQUENCE_LOCKTIME_DISABLE_FLAG != 0 {
            continue;
        }
        let value = i64::from(sequence & SEQUENCE_LOCKTIME_MASK);
        if sequence & SEQUENCE_LOCKTIME_TYPE_FLAG != 0 {
            // Time locks count from the median time past of the block before the coin's.
            let coin_time = mtp_at(coin_height.saturating_sub(1));
            min_time = min_time.max(coin_time + (value << SEQUENCE_LOCKTIME_GRANULARITY) - 1);
        } else {
            min_height = min_height.max(i64::from(coin_height) + value - 1);
        }
    }
    (min_height, min_time)
}

/// Whether BIP68 locks are met by a block at `height` whose parent's median time past is
/// `prev_mtp` (Core's `EvaluateSequenceLocks`).
pub(crate) fn sequence_locks_met(locks: (i64, i64), height: u32, prev_mtp: i64) -> bool {
    locks.0 < i64::from(height) && locks.1 < prev_mtp
}

/// Amount checks on the spent coins (Core's `Consensus::CheckTxInputs`, after the coins were
/// found): coinbase maturity at `spend_height`, value ranges, and inputs covering outputs.
/// Returns the fee.
pub(crate) fn check_tx_inputs(
    tx: &Transaction,
    coins: &[Coin],
    spend_height: u32,
) -> Result<Amount, TxReject> {
    let mut value_in: u64 = 0;
    for coin in coins {
        if coin.is_coinbase {
            let depth = i64::from(spend_height) - i64::from(coin.height);
            if depth < i64::from(params::COINBASE_MATURITY) {
                return Err(TxReject::with_details(
                    RejectClass::PrematureSpend,
                    "bad-txns-premature-spend-of-coinbase",
                    format!("tried to spend coinbase at depth {depth}"),
                ));
            }
        }
        let value = coin.output.value.to_sat();
        value_in = value_in.saturating_add(value);
        if !params::money_range(value) || !params::money_range(value_in) {
            return Err(TxReject::new(
                RejectClass::Consensus,
                "bad-txns-inputvalues-outofrange",
            ));
        }
    }
    let value_out: u64 = tx.output.iter().map(|o| o.value.to_sat()).sum();
    if value_in < value_out {
        return Err(TxReject::with_details(
            RejectClass::Consensus,
            "bad-txns-in-belowout",
            format!(
                "value in ({}) < value out ({})",
                format_money(value_in),
                format_money(value_out)
            ),
        ));
    }
    Ok(Amount::from_sat(value_in - value_out))
}

/// The "inputs missing" rejection as `CheckTxInputs` words it.
pub(crate) fn missing_inputs() -> TxReject {
    TxReject::with_details(
        RejectClass::MissingInputs,
        "bad-txns-inputs-missingorspent",
        "CheckTxInputs: inputs missing/spent",
    )
}

/// Core's `FormatMoney`: at least two decimals, trailing zeros beyond them trimmed.
pub(crate) fn format_money(sats: u64) -> String {
    let mut s = format!("{}.{:08}", sats / 100_000_000, sats % 100_000_000);
    while s.ends_with('0') && s.len() - s.find('.').unwrap_or(0) > 3 {
        s.pop();
    }
    s
}

/// The transaction's signature-operation cost (Core's `GetTransactionSigOpCost`).
pub(crate) fn sigop_cost(tx: &Transaction, spent: &[TxOut]) -> u64 {
    let lookup = |outpoint: &bitcoin::OutPoint| {
        tx.input
            .iter()
            .position(|i| i.previous_output == *outpoint)
            .and_then(|idx| spent.get(idx).cloned())
    };
    tx.total_sigop_cost(lookup) as u64
}

/// Verifies every input script. On failure returns Core's reject reason,
/// `{mempool,block}-script-verify-flag-failed (<script error>)`, and Core's debug message
/// (`CScriptCheck`'s `input N of TXID (wtxid WTXID), spending PREVTXID:VOUT`).
pub(crate) fn verify_scripts(
    tx: &Transaction,
    spent: &[TxOut],
    rules: ScriptRules,
) -> Result<(), TxReject> {
    let fail = |detail: &str, index: usize| {
        let (class, prefix) = match rules {
            ScriptRules::Standard => (RejectClass::NotStandard, "mempool"),
            ScriptRules::Consensus => (RejectClass::Consensus, "block"),
        };
        let prevout = tx.input[index].previous_output;
        Err(TxReject::with_details(
            class,
            format!("{prefix}-script-verify-flag-failed ({detail})"),
            format!(
                "input {index} of {} (wtxid {}), spending {}:{}",
                tx.compute_txid(),
                tx.compute_wtxid(),
                prevout.txid,
                prevout.vout
            ),
        ))
    };
    let serialized = encode::serialize(tx);
    for (index, (input, prevout)) in tx.input.iter().zip(spent).enumerate() {
        let spk = &prevout.script_pubkey;
        if spk.is_p2tr() {
            if let Err(detail) = verify_taproot(tx, index, spent) {
                return fail(detail, index);
            }
            continue;
        }
        if let Err(_e) = bitcoin::consensus::validation::verify_script_with_flags(
            spk,
            index,
            prevout.value,
            &serialized,
            bitcoinconsensus_flags(),
        ) {
            return fail(script_error(&serialized, index, prevout, input), index);
        }
        if rules == ScriptRules::Standard {
            if let Err(detail) = policy_script_checks(input, spk) {
                return fail(detail, index);
            }
        }
    }
    Ok(())
}

/// libbitcoinconsensus's `VERIFY_P2SH`.
const VERIFY_P2SH: u32 = 1 << 0;
/// libbitcoinconsensus's `VERIFY_DERSIG` (BIP66).
const VERIFY_DERSIG: u32 = 1 << 2;
/// libbitcoinconsensus's `VERIFY_NULLDUMMY` (BIP147).
const VERIFY_NULLDUMMY: u32 = 1 << 4;
/// libbitcoinconsensus's `VERIFY_CHECKLOCKTIMEVERIFY` (BIP65).
const VERIFY_CHECKLOCKTIMEVERIFY: u32 = 1 << 9;
/// libbitcoinconsensus's `VERIFY_CHECKSEQUENCEVERIFY` (BIP112).
const VERIFY_CHECKSEQUENCEVERIFY: u32 = 1 << 10;
/// libbitcoinconsensus's `VERIFY_WITNESS` (BIP141/143).
const VERIFY_WITNESS: u32 = 1 << 11;

/// Every consensus flag libbitcoinconsensus 25.1 supports (its `VERIFY_ALL`).
fn bitcoinconsensus_flags() -> u32 {
    VERIFY_P2SH
        | VERIFY_DERSIG
        | VERIFY_NULLDUMMY
        | VERIFY_CHECKLOCKTIMEVERIFY
        | VERIFY_CHECKSEQUENCEVERIFY
        | VERIFY_WITNESS
}

/// Core's `ScriptErrorString` for a failed input. libbitcoinconsensus only says "invalid", so
/// the rule is found in two steps:
/// - flag bisection, which is exact: when the script passes with one rule's flag dropped,
///   that rule failed (`NULLDUMMY`, `CHECKSEQUENCEVERIFY`/`CHECKLOCKTIMEVERIFY`, `DERSIG`);
/// - otherwise the shape of the spend (stack too short for a multisig witness script, empty
///   witness, key hash mismatch, a signature present or not), approximate by nature.
///
/// Found by the differential test against Core v31: a CSV script spent with too small a
/// sequence read "finished with a false/empty top stack element" here and "Locktime
/// requirement not satisfied" in Core.
fn script_error(
    serialized: &[u8],
    index: usize,
    prevout: &TxOut,
    input: &bitcoin::TxIn,
) -> &'static str {
    let spk = &prevout.script_pubkey;
    let passes_without = |flag: u32| {
        bitcoin::consensus::validation::verify_script_with_flags(
            spk,
            index,
            prevout.value,
            serialized,
            bitcoinconsensus_flags() & !flag,
        )
        .is_ok()
    };
    if passes_without(VERIFY_NULLDUMMY) {
        return "Dummy CHECKMULTISIG argument must be zero";
    }
    if passes_without(VERIFY_CHECKSEQUENCEVERIFY) || passes_without(VERIFY_CHECKLOCKTIMEVERIFY) {
        return "Locktime requirement not satisfied";
    }
    if passes_without(VERIFY_DERSIG) {
        return "Non-canonical DER signature";
    }
    if multisig_stack_too_short(input, spk) {
        return "Operation not valid with the current stack size";
    }
    likely_script_error(input, spk)
}

/// Whether a P2WSH multisig witness script (`m <keys> n OP_CHECKMULTISIG`) gets fewer stack
/// items than its `m` signatures plus the dummy: Core's `OP_CHECKMULTISIG` then fails with
/// `SCRIPT_ERR_INVALID_STACK_OPERATION` before checking any signature.
fn multisig_stack_too_short(input: &bitcoin::TxIn, spk: &Script) -> bool {
    if !spk.is_p2wsh() {
        return false;
    }
    let Some(script) = input.witness.last() else {
        return false;
    };
    let script = Script::from_bytes(script);
    if bitcoin::hashes::sha256::Hash::hash(script.as_bytes()).as_byte_array()[..]
        != spk.as_bytes()[2..]
    {
        return false;
    }
    let Some((required, _)) = super::policy::multisig_counts(script) else {
        return false;
    };
    input.witness.len() - 1 < usize::from(required) + 1
}

/// The script error Core would most likely print for the common shapes of a failed spend
/// (approximate by nature; the reject reason prefix, which is what callers classify on, is
/// exact).
fn likely_script_error(input: &bitcoin::TxIn, spk: &Script) -> &'static str {
    // Core's `VerifyWitnessProgram`: an empty stack is its own error for P2WSH only; a P2WPKH
    // stack of any size but two (empty included) is a program mismatch. (Found by the
    // differential test: an empty P2WPKH witness read "empty witness" here.)
    if spk.is_p2wsh() && input.witness.is_empty() {
        return "Witness program was passed an empty witness";
    }
    if spk.is_p2wpkh() {
        if input.witness.len() != 2 {
            return "Witness program hash mismatch";
        }
        let pubkey = input.witness.nth(1).unwrap_or_default();
        if bitcoin::PubkeyHash::hash(pubkey).as_byte_array()[..] != spk.as_bytes()[2..] {
            return "Script failed an OP_EQUALVERIFY operation";
        }
    }
    if spk.is_p2wsh() {
        let script = input.witness.last().unwrap_or_default();
        let hash = bitcoin::hashes::sha256::Hash::hash(script);
        if hash.as_byte_array()[..] != spk.as_bytes()[2..] {
            return "Witness program hash mismatch";
        }
    }
    let has_signature = input.witness.iter().any(looks_like_signature)
        || pushes(&input.script_sig)
            .iter()
            .any(|p| looks_like_signature(p));
    if has_signature {
        "Signature must be zero for failed CHECK(MULTI)SIG operation"
    } else {
        "Script evaluated without error but finished with a false/empty top stack element"
    }
}

/// Policy rules libbitcoinconsensus cannot apply, checked on the shapes where they are
/// decidable without an interpreter: `LOW_S` and STRICTENC hash types on every pushed
/// signature, `WITNESS_PUBKEYTYPE` on P2WPKH keys, `DISCOURAGE_UPGRADABLE_WITNESS_PROGRAM` on
/// P2SH-wrapped future witness versions.
fn policy_script_checks(input: &bitcoin::TxIn, spk: &Script) -> Result<(), &'static str> {
    let witness_items: Vec<&[u8]> = if spk.is_p2wsh() {
        // The last item is the witness script, not a signature.
        let n = input.witness.len().saturating_sub(1);
        input.witness.iter().take(n).collect()
    } else {
        input.witness.iter().collect()
    };
    let script_sig_pushes = pushes(&input.script_sig);
    for item in witness_items
        .iter()
        .copied()
        .chain(script_sig_pushes.iter().map(Vec::as_slice))
    {
        if !looks_like_signature(item) {
            continue;
        }
        let (der, hash_type) = item.split_at(item.len() - 1);
        let base = hash_type[0] & !0x80;
        if !(1..=3).contains(&base) {
            return Err("Signature hash type missing or not understood");
        }
        if let Ok(sig) = secp256k1::ecdsa::Signature::from_der(der) {
            let mut normalized = sig;
            normalized.normalize_s();
            if normalized != sig {
                return Err("Non-canonical signature: S value is unnecessarily high");
            }
        }
    }
    let redeem = if spk.is_p2sh() {
        script_sig_pushes.last().cloned()
    } else {
        None
    };
    let program = redeem.as_deref().map_or(spk, Script::from_bytes);
    if program.is_p2wpkh() {
        if let Some(pubkey) = input.witness.nth(1) {
            if pubkey.len() != 33 || !(pubkey[0] == 2 || pubkey[0] == 3) {
                return Err("Using non-compressed keys in segwit");
            }
        }
    }
    if redeem.is_some() {
        if let Some(version) = program.witness_version() {
            if version != WitnessVersion::V0 {
                return Err("Witness version reserved for soft-fork upgrades");
            }
        }
    }
    Ok(())
}

/// The data pushes of a script (empty on a parse error).
fn pushes(script: &Script) -> Vec<Vec<u8>> {
    script
        .instructions()
        .filter_map(|i| match i {
            Ok(Instruction::PushBytes(p)) => Some(p.as_bytes().to_vec()),
            _ => None,
        })
        .collect()
}

/// Whether `item` is a strictly DER-encoded ECDSA signature followed by a hash type byte
/// (BIP66 `IsValidSignatureEncoding`).
pub(crate) fn looks_like_signature(item: &[u8]) -> bool {
    let len = item.len();
    if !(9..=73).contains(&len) || item[0] != 0x30 || usize::from(item[1]) != len - 3 {
        return false;
    }
    let len_r = usize::from(item[3]);
    if 5 + len_r >= len {
        return false;
    }
    let len_s = usize::from(item[5 + len_r]);
    if len_r + len_s + 7 != len {
        return false;
    }
    if item[2] != 0x02 || len_r == 0 || item[4] & 0x80 != 0 {
        return false;
    }
    if len_r > 1 && item[4] == 0 && item[5] & 0x80 == 0 {
        return false;
    }
    if item[len_r + 4] != 0x02 || len_s == 0 || item[len_r + 6] & 0x80 != 0 {
        return false;
    }
    !(len_s > 1 && item[len_r + 6] == 0 && item[len_r + 7] & 0x80 == 0)
}

/// BIP341 verification of a taproot input: key-path spends are checked; script-path spends
/// cannot be (no tapscript interpreter here) and are refused.
fn verify_taproot(tx: &Transaction, index: usize, spent: &[TxOut]) -> Result<(), &'static str> {
    let witness = &tx.input[index].witness;
    let mut items: Vec<&[u8]> = witness.iter().collect();
    let annex = if items.len() >= 2 && items.last().is_some_and(|a| a.first() == Some(&ANNEX_TAG)) {
        items.pop()
    } else {
        None
    };
    match items.len() {
        0 => return Err("Witness program was passed an empty witness"),
        1 => {}
        _ => return Err("taproot script-path spend (not verifiable by petrel regtest)"),
    }
    let sig = items[0];
    let (sig_bytes, hash_type) = match sig.len() {
        64 => (sig, TapSighashType::Default),
        65 => {
            let ht = sig[64];
            if ht == 0 {
                return Err("Invalid Schnorr signature hash type");
            }
            match TapSighashType::from_consensus_u8(ht) {
                Ok(t) => (&sig[..64], t),
                Err(_) => return Err("Invalid Schnorr signature hash type"),
            }
        }
        _ => return Err("Invalid Schnorr signature size"),
    };
    let Ok(signature) = secp256k1::schnorr::Signature::from_slice(sig_bytes) else {
        return Err("Invalid Schnorr signature");
    };
    let spk = spent[index].script_pubkey.as_bytes();
    let Ok(key) = XOnlyPublicKey::from_slice(&spk[2..34]) else {
        return Err("Invalid Schnorr signature");
    };
    let annex = match annex.map(Annex::new) {
        Some(Ok(a)) => Some(a),
        Some(Err(_)) => return Err("Invalid Schnorr signature"),
        None => None,
    };
    let mut cache = SighashCache::new(tx);
    let Ok(sighash) =
        cache.taproot_signature_hash(index, &Prevouts::All(spent), annex, None, hash_type)
    else {
        return Err("Invalid Schnorr signature hash type");
    };
    let msg = secp256k1::Message::from_digest(sighash.to_byte_array());
    Secp256k1::verification_only()
        .verify_schnorr(&signature, &msg, &key)
        .map_err(|_| "Invalid Schnorr signature")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_money_matches_core() {
        assert_eq!(format_money(0), "0.00");
        assert_eq!(format_money(5_000_000_000), "50.00");
        assert_eq!(format_money(123_456_789), "1.23456789");
        assert_eq!(format_money(10_000), "0.0001");
    }

    #[test]
    fn der_signature_shape() {
        let sig = hex_to_bytes(
            "3044022047ac8e878352d3ebbde1c94ce3a10d057c24175747116f8288e5d794d12d482f0220217f36a485cae903c713331d877c1f64677e3622ad4010726870540656fe9dcb01",
        );
        assert!(looks_like_signature(&sig));
        assert!(!looks_like_signature(&sig[1..]));
        assert!(!looks_like_signature(&[0x30; 40]));
    }

    /// A version 2 spend of one P2WSH (or other) output with the given witness.
    fn spending(spent: &TxOut, sequence: u32, witness: &[Vec<u8>]) -> Transaction {
        use bitcoin::{OutPoint, Sequence, TxIn, Txid, Witness};
        Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([3; 32]), 1),
                script_sig: bitcoin::ScriptBuf::new(),
                sequence: Sequence(sequence),
                witness: Witness::from_slice(witness),
            }],
            output: vec![TxOut {
                value: spent.value - Amount::from_sat(1_000),
                script_pubkey: bitcoin::ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::all_zeros()),
            }],
        }
    }

    fn reason(tx: &Transaction, spent: &TxOut) -> String {
        verify_scripts(tx, std::slice::from_ref(spent), ScriptRules::Standard)
            .unwrap_err()
            .reason
    }

    fn p2wsh(script: &bitcoin::ScriptBuf) -> TxOut {
        TxOut {
            value: Amount::from_sat(100_000),
            script_pubkey: bitcoin::ScriptBuf::new_p2wsh(&script.wscript_hash()),
        }
    }

    // Script errors in Core v31's words, each found by tests/differential_regtest.rs.

    #[test]
    fn failed_checksequenceverify_reads_locktime_requirement_not_satisfied() {
        let script = bitcoin::script::Builder::new()
            .push_int(5)
            .push_opcode(bitcoin::opcodes::all::OP_CSV)
            .into_script();
        let spent = p2wsh(&script);
        let tx = spending(&spent, 4, &[script.to_bytes()]);
        let reject =
            verify_scripts(&tx, std::slice::from_ref(&spent), ScriptRules::Standard).unwrap_err();
        assert_eq!(
            reject.reason,
            "mempool-script-verify-flag-failed (Locktime requirement not satisfied)"
        );
        assert_eq!(
            reject.details,
            format!(
                "input 0 of {} (wtxid {}), spending {}:1",
                tx.compute_txid(),
                tx.compute_wtxid(),
                bitcoin::Txid::from_byte_array([3; 32])
            )
        );
        let block =
            verify_scripts(&tx, std::slice::from_ref(&spent), ScriptRules::Consensus).unwrap_err();
        assert_eq!(
            block.reason,
            "block-script-verify-flag-failed (Locktime requirement not satisfied)"
        );
        assert!(verify_scripts(
            &spending(&spent, 5, &[script.to_bytes()]),
            &[spent],
            ScriptRules::Standard
        )
        .is_ok());
    }

    #[test]
    fn multisig_errors_read_as_core_words_them() {
        use bitcoin::secp256k1::{Message, SecretKey};
        use bitcoin::sighash::EcdsaSighashType;
        let secp = Secp256k1::new();
        let keys = [
            SecretKey::from_slice(&[1; 32]).unwrap(),
            SecretKey::from_slice(&[2; 32]).unwrap(),
        ];
        let script = bitcoin::script::Builder::new()
            .push_opcode(bitcoin::opcodes::all::OP_PUSHNUM_2)
            .push_key(&bitcoin::PublicKey::new(keys[0].public_key(&secp)))
            .push_key(&bitcoin::PublicKey::new(keys[1].public_key(&secp)))
            .push_opcode(bitcoin::opcodes::all::OP_PUSHNUM_2)
            .push_opcode(bitcoin::opcodes::all::OP_CHECKMULTISIG)
            .into_script();
        let spent = p2wsh(&script);
        let unsigned = spending(&spent, u32::MAX, &[]);
        let sigs: Vec<Vec<u8>> = keys
            .iter()
            .map(|key| {
                let sighash = SighashCache::new(&unsigned)
                    .p2wsh_signature_hash(0, &script, spent.value, EcdsaSighashType::All)
                    .unwrap();
                let signature = secp.sign_ecdsa(&Message::from(sighash), key);
                bitcoin::ecdsa::Signature {
                    signature,
                    sighash_type: EcdsaSighashType::All,
                }
                .to_vec()
            })
            .collect();
        let with = |items: Vec<Vec<u8>>| spending(&spent, u32::MAX, &items);
        let s = script.to_bytes();
        assert!(verify_scripts(
            &with(vec![vec![], sigs[0].clone(), sigs[1].clone(), s.clone()]),
            std::slice::from_ref(&spent),
            ScriptRules::Standard
        )
        .is_ok());
        assert_eq!(
            reason(
                &with(vec![vec![1], sigs[0].clone(), sigs[1].clone(), s.clone()]),
                &spent
            ),
            "mempool-script-verify-flag-failed (Dummy CHECKMULTISIG argument must be zero)"
        );
        assert_eq!(
            reason(&with(vec![vec![], sigs[0].clone(), s.clone()]), &spent),
            "mempool-script-verify-flag-failed (Operation not valid with the current stack size)"
        );
        assert_eq!(
            reason(&with(vec![vec![], sigs[1].clone(), sigs[0].clone(), s.clone()]), &spent),
            "mempool-script-verify-flag-failed (Signature must be zero for failed CHECK(MULTI)SIG operation)"
        );
        assert_eq!(
            reason(&with(Vec::new()), &spent),
            "mempool-script-verify-flag-failed (Witness program was passed an empty witness)"
        );
    }

    #[test]
    fn empty_p2wpkh_witness_is_a_program_mismatch() {
        let spent = TxOut {
            value: Amount::from_sat(100_000),
            script_pubkey: bitcoin::ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::all_zeros()),
        };
        assert_eq!(
            reason(&spending(&spent, u32::MAX, &[]), &spent),
            "mempool-script-verify-flag-failed (Witness program hash mismatch)"
        );
    }

    fn hex_to_bytes(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
