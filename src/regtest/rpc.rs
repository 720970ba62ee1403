//! JSON-RPC dispatch: bitcoind's request shapes, method names, parameters, results and error
//! codes over a [`Regtest`] (Core's `httprpc.cpp` `ExecuteHTTPRPC`, `rpc/request.cpp`, and
//! the method bodies in `rpc/*.cpp`).
//!
//! Pure and synchronous: a request body and the current time in, an HTTP status and body
//! out. The HTTP server ([`super::server`]) only moves bytes. JSON-RPC 1.0 style requests
//! (no `jsonrpc` field) answer errors with HTTP 500 (404 for unknown methods, 400 for
//! invalid requests) and always carry both `result` and `error`; JSON-RPC 2.0 requests
//! answer HTTP 200 with only one of them; notifications (2.0 without `id`) get 204; batches
//! get an array.

use bitcoin::consensus::encode;
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::{OutPoint, ScriptBuf, Txid};
use serde_json::Value;

use self::mempool::{
    estimate_smart_fee, fee_rate_json, mempool_entry, mempool_info, raw_mempool,
    send_raw_transaction, test_mempool_accept,
};
use self::params::{decode_tx, parse_address, type_error, Params};
use super::json::Json;
use super::policy::FeeRate;
use super::{Regtest, RegtestError};

use crate::chain::rpc_code::{
    DATABASE_ERROR, DESERIALIZATION_ERROR, INVALID_ADDRESS_OR_KEY, INVALID_PARAMETER,
    INVALID_REQUEST, METHOD_NOT_FOUND, MISC_ERROR, PARSE_ERROR, TYPE_ERROR,
    VERIFY_ALREADY_IN_UTXO_SET, VERIFY_ERROR, VERIFY_REJECTED,
};

/// Default `maxfeerate` of `sendrawtransaction` / `testmempoolaccept`: 0.10 BTC/kvB.
const DEFAULT_MAX_FEE_RATE: FeeRate = FeeRate(10_000_000);
/// Highest `conf_target` `estimatesmartfee` accepts.
const MAX_CONF_TARGET: i64 = 1008;
/// The protocol version reported by `getnetworkinfo`.
const PROTOCOL_VERSION: i64 = 70016;

/// The methods served, with their positional parameter names (for named-parameter calls).
pub const METHODS: &[(&str, &[&str])] = &[
    ("getblockchaininfo", &[]),
    ("getblockcount", &[]),
    ("getbestblockhash", &[]),
    ("getblockhash", &["height"]),
    ("getblockheader", &["blockhash", "verbose"]),
    ("getblock", &["blockhash", "verbosity"]),
    ("getrawtransaction", &["txid", "verbose", "blockhash"]),
    ("gettxout", &["txid", "n", "include_mempool"]),
    (
        "sendrawtransaction",
        &["hexstring", "maxfeerate", "maxburnamount"],
    ),
    ("testmempoolaccept", &["rawtxs", "maxfeerate"]),
    ("getrawmempool", &["verbose", "mempool_sequence"]),
    ("getmempoolentry", &["txid"]),
    ("getmempoolinfo", &[]),
    ("estimatesmartfee", &["conf_target", "estimate_mode"]),
    ("setfeeestimate", &["sat_per_kvb"]),
    ("generatetoaddress", &["nblocks", "address", "maxtries"]),
    ("generateblock", &["output", "transactions", "submit"]),
    ("invalidateblock", &["blockhash"]),
    ("reconsiderblock", &["blockhash"]),
    ("getnetworkinfo", &[]),
    ("uptime", &[]),
    ("stop", &["wait"]),
];

/// A JSON-RPC error: Core's code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// Core's `RPCErrorCode`.
    pub code: i64,
    /// The message.
    pub message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    fn to_json(&self) -> Json {
        Json::object()
            .with("code", self.code)
            .with("message", self.message.clone())
    }
}

/// Time and process facts the RPC answers depend on.
#[derive(Clone, Copy, Debug)]
pub struct RpcContext {
    /// Current Unix time in seconds.
    pub now: u64,
    /// Unix time the server started (for `uptime`).
    pub started: u64,
    /// Size of the database file (for `size_on_disk`).
    pub size_on_disk: u64,
}

/// What to send back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcReply {
    /// HTTP status code.
    pub status: u16,
    /// Body (JSON text with a trailing newline), if any.
    pub body: Option<String>,
    /// Whether `stop` was called: the server should shut down after replying.
    pub stop: bool,
}

/// Which JSON-RPC dialect a request used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Version {
    /// 1.0/1.1: HTTP errors, both `result` and `error` present.
    Legacy,
    /// 2.0: HTTP 200, `jsonrpc` field, only one of `result`/`error`.
    V2,
}

/// Handles one HTTP request body.
pub fn handle_body(regtest: &mut Regtest, body: &[u8], ctx: &RpcContext) -> RpcReply {
    let mut stop = false;
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        let error = RpcError::new(PARSE_ERROR, "Parse error");
        return legacy_error_reply(&error, None, stop);
    };
    match request {
        Value::Object(_) => {
            let parsed = match parse_request(&request) {
                Ok(p) => p,
                Err((error, id)) => return legacy_error_reply(&error, id, stop),
            };
            let outcome = execute(regtest, &parsed.method, parsed.params, ctx, &mut stop);
            if parsed.version == Version::V2 && parsed.id.is_none() {
                return RpcReply {
                    status: 204,
                    body: None,
                    stop,
                };
            }
            match outcome {
                Ok(result) => reply(
                    200,
                    &reply_object(parsed.version, Ok(result), parsed.id),
                    stop,
                ),
                Err(error) if parsed.version == Version::Legacy => {
                    legacy_error_reply(&error, parsed.id, stop)
                }
                Err(error) => reply(200, &reply_object(Version::V2, Err(error), parsed.id), stop),
            }
        }
        Value::Array(requests) => {
            let mut replies = Vec::new();
            for request in &requests {
                match parse_request(request) {
                    Ok(parsed) => {
                        let outcome =
                            execute(regtest, &parsed.method, parsed.params, ctx, &mut stop);
                        if parsed.version == Version::V2 && parsed.id.is_none() {
                            continue;
                        }
                        replies.push(reply_object(parsed.version, outcome, parsed.id));
                    }
                    Err((error, id)) => {
                        replies.push(reply_object(Version::Legacy, Err(error), id));
                    }
                }
            }
            if replies.is_empty() && !requests.is_empty() {
                return RpcReply {
                    status: 204,
                    body: None,
                    stop,
                };
            }
            reply(200, &Json::Array(replies), stop)
        }
        _ => legacy_error_reply(
            &RpcError::new(PARSE_ERROR, "Top-level object parse error"),
            None,
            stop,
        ),
    }
}

struct Parsed {
    method: String,
    params: Vec<Value>,
    id: Option<Json>,
    version: Version,
}

fn parse_request(request: &Value) -> Result<Parsed, (RpcError, Option<Json>)> {
    let Value::Object(map) = request else {
        return Err((
            RpcError::new(INVALID_REQUEST, "Invalid Request object"),
            None,
        ));
    };
    let id = map.get("id").map(to_json);
    let invalid = |msg: &str| Err((RpcError::new(INVALID_REQUEST, msg), id.clone()));
    let version = match map.get("jsonrpc") {
        None | Some(Value::Null) => Version::Legacy,
        Some(Value::String(s)) if s == "1.0" => Version::Legacy,
        Some(Value::String(s)) if s == "2.0" => Version::V2,
        Some(Value::String(_)) => return invalid("JSON-RPC version not supported"),
        Some(_) => return invalid("jsonrpc field must be a string"),
    };
    let method = match map.get("method") {
        None | Some(Value::Null) => return invalid("Missing method"),
        Some(Value::String(m)) => m.clone(),
        Some(_) => return invalid("Method must be a string"),
    };
    let params = match map.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(named)) => {
            let names = METHODS
                .iter()
                .find(|(m, _)| *m == method)
                .map_or(&[][..], |(_, n)| *n);
            let mut positional = Vec::new();
            for (key, value) in named {
                let Some(pos) = names.iter().position(|n| n == key) else {
                    return Err((
                        RpcError::new(INVALID_PARAMETER, format!("Unknown named parameter {key}")),
                        id,
                    ));
                };
                if positional.len() <= pos {
                    positional.resize(pos + 1, Value::Null);
                }
                positional[pos] = value.clone();
            }
            positional
        }
        Some(_) => return invalid("Params must be an array or object"),
    };
    Ok(Parsed {
        method,
        params,
        id,
        version,
    })
}

fn reply_object(version: Version, outcome: Result<Json, RpcError>, id: Option<Json>) -> Json {
    let mut json = Json::object();
    if version == Version::V2 {
        json.push("jsonrpc", "2.0");
    }
    match outcome {
        Ok(result) => {
            json.push("result", result);
            if version == Version::Legacy {
                json.push("error", Json::Null);
            }
        }
        Err(error) => {
            if version == Version::Legacy {
                json.push("result", Json::Null);
            }
            json.push("error", error.to_json());
        }
    }
    if let Some(id) = id {
        json.push("id", id);
    }
    json
}

fn legacy_error_reply(error: &RpcError, id: Option<Json>, stop: bool) -> RpcReply {
    let status = match error.code {
        INVALID_REQUEST => 400,
        METHOD_NOT_FOUND => 404,
        _ => 500,
    };
    reply(
        status,
        &reply_object(Version::Legacy, Err(error.clone()), id),
        stop,
    )
}

fn reply(status: u16, json: &Json, stop: bool) -> RpcReply {
    RpcReply {
        status,
        body: Some(format!("{}\n", json.write())),
        stop,
    }
}

/// Converts a request value back into a reply value (for `id`).
fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Json::Float(n.as_f64().unwrap_or(0.0)), Json::Int),
        Value::String(s) => Json::Str(s.clone()),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// Runs one method.
fn execute(
    regtest: &mut Regtest,
    method: &str,
    params: Vec<Value>,
    ctx: &RpcContext,
    stop: &mut bool,
) -> Result<Json, RpcError> {
    let Some((_, names)) = METHODS.iter().find(|(m, _)| *m == method) else {
        return Err(RpcError::new(METHOD_NOT_FOUND, "Method not found"));
    };
    if params.len() > names.len() {
        return Err(RpcError::new(
            MISC_ERROR,
            format!("{method}: too many parameters (at most {})", names.len()),
        ));
    }
    let p = Params {
        values: params,
        method,
    };
    let now = ctx.now;
    match method {
        "getblockchaininfo" => Ok(super::query::blockchain_info(regtest, ctx)),
        "getblockcount" => Ok(Json::from(regtest.tip_height())),
        "getbestblockhash" => Ok(Json::from(regtest.tip_hash().to_string())),
        "getblockhash" => {
            let height = p.int(0, "height")?;
            u32::try_from(height)
                .ok()
                .and_then(|h| regtest.block_hash(h))
                .map(|h| Json::from(h.to_string()))
                .ok_or_else(|| RpcError::new(INVALID_PARAMETER, "Block height out of range"))
        }
        "getblockheader" => {
            let hash = p.block_hash(0, "hash")?;
            let verbose = p.opt_bool(1)?.unwrap_or(true);
            super::query::block_header(regtest, &hash, verbose)
        }
        "getblock" => {
            let hash = p.block_hash(0, "blockhash")?;
            let verbosity = p.verbosity(1, 1)?;
            super::query::block(regtest, &hash, verbosity)
        }
        "getrawtransaction" => {
            let txid = p.txid(0, "parameter 1")?;
            let verbosity = p.verbosity(1, 0)?;
            let block = match p.get(2) {
                Some(_) => Some(p.block_hash(2, "parameter 3")?),
                None => None,
            };
            super::query::raw_transaction(regtest, &txid, verbosity, block)
        }
        "gettxout" => {
            let txid = p.txid(0, "txid")?;
            let vout = u32::try_from(p.int(1, "n")?)
                .map_err(|_| RpcError::new(INVALID_PARAMETER, "n out of range"))?;
            let include_mempool = p.opt_bool(2)?.unwrap_or(true);
            Ok(super::query::tx_out(
                regtest,
                &OutPoint { txid, vout },
                include_mempool,
            ))
        }
        "sendrawtransaction" => send_raw_transaction(regtest, &p, now),
        "testmempoolaccept" => test_mempool_accept(regtest, &p, now),
        "getrawmempool" => {
            let verbose = p.opt_bool(0)?.unwrap_or(false);
            let sequence = p.opt_bool(1)?.unwrap_or(false);
            raw_mempool(regtest, verbose, sequence)
        }
        "getmempoolentry" => {
            let txid = p.txid(0, "txid")?;
            let entry = regtest.mempool().get(&txid).ok_or_else(|| {
                RpcError::new(INVALID_ADDRESS_OR_KEY, "Transaction not in mempool")
            })?;
            Ok(mempool_entry(regtest, entry))
        }
        "getmempoolinfo" => Ok(mempool_info(regtest)),
        "estimatesmartfee" => estimate_smart_fee(regtest, &p),
        // A Petrel extension (Core has no such call): lets tests and scenarios move the fee
        // estimate while nodes run. `null` removes it.
        "setfeeestimate" => {
            let rate = match p.get(0) {
                None | Some(serde_json::Value::Null) => None,
                Some(_) => Some(FeeRate(u64::try_from(p.int(0, "sat_per_kvb")?).map_err(
                    |_| RpcError::new(INVALID_PARAMETER, "sat_per_kvb must be positive"),
                )?)),
            };
            regtest.set_fee_estimate(rate);
            Ok(rate.map_or(Json::Null, |r| Json::from(r.0)))
        }
        "generatetoaddress" => {
            let count = p.int(0, "nblocks")?;
            let address = p.str(1, "address")?;
            let script = parse_address(address)
                .ok_or_else(|| RpcError::new(INVALID_ADDRESS_OR_KEY, "Error: Invalid address"))?;
            let count = u32::try_from(count.max(0)).unwrap_or(0);
            let hashes = regtest
                .generate(count, &script, now)
                .map_err(regtest_error)?;
            Ok(Json::Array(
                hashes.iter().map(|h| Json::from(h.to_string())).collect(),
            ))
        }
        "generateblock" => generate_block(regtest, &p, now),
        "invalidateblock" => {
            let hash = p.block_hash(0, "blockhash")?;
            regtest
                .invalidate_block(&hash, now)
                .map_err(regtest_error)?;
            Ok(Json::Null)
        }
        "reconsiderblock" => {
            let hash = p.block_hash(0, "blockhash")?;
            regtest
                .reconsider_block(&hash, now)
                .map_err(regtest_error)?;
            Ok(Json::Null)
        }
        "getnetworkinfo" => Ok(network_info(regtest)),
        "uptime" => Ok(Json::from(ctx.now.saturating_sub(ctx.started))),
        "stop" => {
            *stop = true;
            Ok(Json::from("Petrel regtest stopping"))
        }
        _ => Err(RpcError::new(METHOD_NOT_FOUND, "Method not found")),
    }
}

/// Maps chain errors to Core's codes.
fn regtest_error(error: RegtestError) -> RpcError {
    match error {
        RegtestError::BlockNotFound => RpcError::new(INVALID_ADDRESS_OR_KEY, "Block not found"),
        RegtestError::BlockRejected(reject) => {
            RpcError::new(VERIFY_ERROR, format!("TestBlockValidity failed: {reject}"))
        }
        RegtestError::Store(e) => RpcError::new(DATABASE_ERROR, e.to_string()),
    }
}

fn generate_block(regtest: &mut Regtest, p: &Params<'_>, now: u64) -> Result<Json, RpcError> {
    let output = p.str(0, "output")?;
    let script = parse_output_descriptor(output)
        .or_else(|| parse_address(output))
        .ok_or_else(|| {
            RpcError::new(
                INVALID_ADDRESS_OR_KEY,
                "Error: Invalid address or descriptor",
            )
        })?;
    let list = p.required(1, "transactions")?;
    let Value::Array(list) = list else {
        return Err(type_error(list, "array"));
    };
    let mut txs = Vec::with_capacity(list.len());
    for item in list {
        let s = item.as_str().ok_or_else(|| type_error(item, "string"))?;
        if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
            let Ok(txid) = s.parse::<Txid>() else {
                continue;
            };
            let entry = regtest.mempool().get(&txid).ok_or_else(|| {
                RpcError::new(
                    INVALID_ADDRESS_OR_KEY,
                    format!("Transaction {s} not in mempool."),
                )
            })?;
            txs.push((*entry.tx).clone());
        } else {
            txs.push(decode_tx(s).ok_or_else(|| {
                RpcError::new(
                    DESERIALIZATION_ERROR,
                    format!("Transaction decode failed for {s}. Make sure the tx has at least one input."),
                )
            })?);
        }
    }
    let submit = p.opt_bool(2)?.unwrap_or(true);
    let block = regtest
        .generate_block(&script, txs, now, submit)
        .map_err(regtest_error)?;
    let mut json = Json::object().with("hash", block.block_hash().to_string());
    if !submit {
        json.push("hex", encode::serialize(&block).to_lower_hex_string());
    }
    Ok(json)
}

/// `raw(HEX)` and `addr(ADDRESS)` output descriptors, checksum optional.
fn parse_output_descriptor(desc: &str) -> Option<ScriptBuf> {
    let body = desc.split_once('#').map_or(desc, |(b, _)| b);
    if let Some(hex) = body.strip_prefix("raw(").and_then(|r| r.strip_suffix(')')) {
        return Vec::<u8>::from_hex(hex).ok().map(ScriptBuf::from_bytes);
    }
    if let Some(address) = body.strip_prefix("addr(").and_then(|r| r.strip_suffix(')')) {
        return parse_address(address);
    }
    None
}

fn network_info(regtest: &Regtest) -> Json {
    let options = regtest.config().mempool;
    Json::object()
        .with("version", 310_000i64)
        .with(
            "subversion",
            format!("/Petrel:{}(regtest)/", env!("CARGO_PKG_VERSION")),
        )
        .with("protocolversion", PROTOCOL_VERSION)
        .with("localservices", "0000000000000000")
        .with("localservicesnames", Vec::<Json>::new())
        .with("localrelay", true)
        .with("timeoffset", 0i64)
        .with("networkactive", true)
        .with("connections", 0i64)
        .with("connections_in", 0i64)
        .with("connections_out", 0i64)
        .with("networks", Vec::<Json>::new())
        .with("relayfee", fee_rate_json(options.min_relay))
        .with("incrementalfee", fee_rate_json(options.incremental_relay))
        .with("localaddresses", Vec::<Json>::new())
        .with("warnings", Vec::<Json>::new())
}

/// The "not found" error (-5).
pub(super) fn not_found(message: &str) -> RpcError {
    RpcError::new(INVALID_ADDRESS_OR_KEY, message)
}

mod mempool;
mod params;
#[cfg(test)]
mod tests;
