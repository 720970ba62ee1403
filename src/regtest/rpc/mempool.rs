//! The transaction-relay RPC methods: `sendrawtransaction`, `testmempoolaccept`,
//! `getrawmempool`, `getmempoolentry`, `getmempoolinfo`, `estimatesmartfee` (Core's
//! `rpc/mempool.cpp` and `rpc/fees.cpp`).

use serde_json::Value;

use super::params::{amount_from_value, decode_tx, type_error, Params};
use super::{
    RpcError, DEFAULT_MAX_FEE_RATE, DESERIALIZATION_ERROR, INVALID_PARAMETER, MAX_CONF_TARGET,
    VERIFY_ALREADY_IN_UTXO_SET, VERIFY_ERROR, VERIFY_REJECTED,
};
use crate::regtest::json::Json;
use crate::regtest::mempool::MempoolEntry;
use crate::regtest::policy::FeeRate;
use crate::regtest::reject::RejectClass;
use crate::regtest::{Regtest, SubmitError};

pub(super) fn send_raw_transaction(
    regtest: &mut Regtest,
    p: &Params<'_>,
    now: u64,
) -> Result<Json, RpcError> {
    let hex = p.str(0, "hexstring")?;
    let max_fee_rate = p.fee_rate(1)?.unwrap_or(DEFAULT_MAX_FEE_RATE);
    let max_burn = match p.get(2) {
        Some(v) => amount_from_value(v)?,
        None => 0,
    };
    let tx = decode_tx(hex).ok_or_else(|| {
        RpcError::new(
            DESERIALIZATION_ERROR,
            "TX decode failed. Make sure the tx has at least one input.",
        )
    })?;
    for output in &tx.output {
        if output.script_pubkey.is_op_return() && output.value.to_sat() > max_burn {
            return Err(RpcError::new(
                VERIFY_ERROR,
                "Unspendable output exceeds maximum configured by user (maxburnamount)",
            ));
        }
    }
    // A zero maxfeerate means no cap.
    let cap = (max_fee_rate.0 > 0).then_some(max_fee_rate);
    match regtest.submit_transaction_capped(tx, now, cap) {
        Ok(txid) => Ok(Json::from(txid.to_string())),
        Err(SubmitError::AlreadyInUtxoSet) => Err(RpcError::new(
            VERIFY_ALREADY_IN_UTXO_SET,
            "Transaction outputs already in utxo set",
        )),
        Err(e @ SubmitError::MaxFeeExceeded) => Err(RpcError::new(VERIFY_ERROR, e.to_string())),
        Err(SubmitError::Rejected(reject)) => {
            let code = if reject.class == RejectClass::MissingInputs {
                VERIFY_ERROR
            } else {
                VERIFY_REJECTED
            };
            Err(RpcError::new(code, reject.to_string()))
        }
    }
}

pub(super) fn test_mempool_accept(
    regtest: &Regtest,
    p: &Params<'_>,
    now: u64,
) -> Result<Json, RpcError> {
    let raw = p.required(0, "rawtxs")?;
    let Value::Array(raw) = raw else {
        return Err(type_error(raw, "array"));
    };
    if raw.len() != 1 {
        // Packages (several transactions) are not supported; Core's bounds are 1..=25.
        return Err(RpcError::new(
            INVALID_PARAMETER,
            "Array must contain between 1 and 25 transactions.",
        ));
    }
    let max_fee_rate = p.fee_rate(1)?.unwrap_or(DEFAULT_MAX_FEE_RATE);
    let hex = raw[0]
        .as_str()
        .ok_or_else(|| type_error(&raw[0], "string"))?;
    let tx = decode_tx(hex).ok_or_else(|| {
        RpcError::new(
            DESERIALIZATION_ERROR,
            format!("TX decode failed: {hex} Make sure the tx has at least one input."),
        )
    })?;
    let mut result = Json::object()
        .with("txid", tx.compute_txid().to_string())
        .with("wtxid", tx.compute_wtxid().to_string());
    match regtest.test_accept(&tx, now) {
        Ok(accepted) => {
            if max_fee_rate.0 > 0 && accepted.fee > max_fee_rate.fee(accepted.vsize) {
                result.push("allowed", false);
                result.push("reject-reason", "max-fee-exceeded");
            } else {
                result.push("allowed", true);
                result.push("vsize", accepted.vsize);
                let rate = FeeRate::of(accepted.fee, accepted.vsize);
                result.push(
                    "fees",
                    Json::object()
                        .with("base", Json::amount(accepted.fee))
                        .with(
                            "effective-feerate",
                            Json::Amount(i64::try_from(rate.0).unwrap_or(0)),
                        )
                        .with(
                            "effective-includes",
                            vec![Json::from(accepted.wtxid.to_string())],
                        ),
                );
            }
        }
        Err(reject) => {
            result.push("allowed", false);
            if reject.class == RejectClass::MissingInputs {
                result.push("reject-reason", "missing-inputs");
            } else {
                result.push("reject-reason", reject.reason.clone());
                result.push("reject-details", reject.to_string());
            }
        }
    }
    Ok(Json::Array(vec![result]))
}

pub(super) fn raw_mempool(
    regtest: &Regtest,
    verbose: bool,
    sequence: bool,
) -> Result<Json, RpcError> {
    let mempool = regtest.mempool();
    if verbose {
        if sequence {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                "Verbose results cannot contain mempool sequence values.",
            ));
        }
        let fields = mempool
            .entries()
            .map(|e| (e.txid.to_string(), mempool_entry(regtest, e)))
            .collect();
        return Ok(Json::Object(fields));
    }
    let txids: Vec<Json> = mempool
        .entries()
        .map(|e| Json::from(e.txid.to_string()))
        .collect();
    if sequence {
        return Ok(Json::object()
            .with("txids", txids)
            .with("mempool_sequence", mempool.next_sequence()));
    }
    Ok(Json::Array(txids))
}

/// Core's `entryToJSON`. The chunk is approximated by the ancestor set when it pays a
/// lower rate than the transaction alone (child pays for parent), else the transaction.
pub(super) fn mempool_entry(regtest: &Regtest, entry: &MempoolEntry) -> Json {
    let mempool = regtest.mempool();
    let ancestors = mempool.ancestors(&entry.txid);
    let descendants = mempool.descendants(&entry.txid);
    let (a_count, a_size, a_fee) = mempool.totals(&ancestors);
    let (d_count, d_size, d_fee) = mempool.totals(&descendants);
    let own_rate = u128::from(entry.fee.to_sat()) * u128::from(a_size);
    let anc_rate = u128::from(a_fee.to_sat()) * u128::from(entry.vsize);
    let (chunk_weight, chunk_fee) = if anc_rate < own_rate {
        (
            ancestors
                .iter()
                .filter_map(|t| mempool.get(t))
                .map(|e| e.weight)
                .sum(),
            a_fee,
        )
    } else {
        (entry.weight, entry.fee)
    };
    let depends: Vec<Json> = entry
        .parents
        .iter()
        .map(|t| Json::from(t.to_string()))
        .collect();
    let spent_by: Vec<Json> = entry
        .children
        .iter()
        .map(|t| Json::from(t.to_string()))
        .collect();
    Json::object()
        .with("vsize", entry.vsize)
        .with("weight", entry.weight)
        .with("time", entry.time)
        .with("height", entry.height)
        .with("descendantcount", d_count)
        .with("descendantsize", d_size)
        .with("ancestorcount", a_count)
        .with("ancestorsize", a_size)
        .with("wtxid", entry.wtxid.to_string())
        .with("chunkweight", chunk_weight)
        .with(
            "fees",
            Json::object()
                .with("base", Json::amount(entry.fee))
                .with("modified", Json::amount(entry.fee))
                .with("ancestor", Json::amount(a_fee))
                .with("descendant", Json::amount(d_fee))
                .with("chunk", Json::amount(chunk_fee)),
        )
        .with("depends", depends)
        .with("spentby", spent_by)
        .with("unbroadcast", true)
}

pub(super) fn fee_rate_json(rate: FeeRate) -> Json {
    Json::Amount(i64::try_from(rate.0).unwrap_or(i64::MAX))
}

pub(super) fn mempool_info(regtest: &Regtest) -> Json {
    let mempool = regtest.mempool();
    let options = regtest.config().mempool;
    Json::object()
        .with("loaded", true)
        .with("size", mempool.len())
        .with("bytes", mempool.total_vsize())
        .with("usage", mempool.total_vsize() * 4)
        .with("total_fee", Json::amount(mempool.total_fee()))
        .with("maxmempool", 300_000_000u64)
        .with("mempoolminfee", fee_rate_json(options.min_relay))
        .with("minrelaytxfee", fee_rate_json(options.min_relay))
        .with(
            "incrementalrelayfee",
            fee_rate_json(options.incremental_relay),
        )
        .with("unbroadcastcount", mempool.len())
        .with("permitbaremultisig", true)
        .with("maxdatacarriersize", 100_000u64)
        .with("limitclustercount", 64u64)
        .with("limitclustersize", 101_000u64)
        .with("optimal", true)
}

pub(super) fn estimate_smart_fee(regtest: &Regtest, p: &Params<'_>) -> Result<Json, RpcError> {
    let target = p.int(0, "conf_target")?;
    if !(1..=MAX_CONF_TARGET).contains(&target) {
        return Err(RpcError::new(
            INVALID_PARAMETER,
            format!("Invalid conf_target, must be between 1 and {MAX_CONF_TARGET}"),
        ));
    }
    if let Some(mode) = p.get(1) {
        let mode = mode.as_str().ok_or_else(|| type_error(mode, "string"))?;
        if !["unset", "economical", "conservative"].contains(&mode.to_ascii_lowercase().as_str()) {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                r#"Invalid estimate_mode parameter, must be one of: "unset", "economical", "conservative""#,
            ));
        }
    }
    Ok(match regtest.config().fee_estimate {
        Some(rate) => Json::object()
            .with(
                "feerate",
                fee_rate_json(rate.max(regtest.config().mempool.min_relay)),
            )
            .with("blocks", target),
        None => Json::object()
            .with(
                "errors",
                vec![Json::from("Insufficient data or no feerate found")],
            )
            .with("blocks", 0i64),
    })
}
