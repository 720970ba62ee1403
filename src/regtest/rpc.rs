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

use bitcoin::address::NetworkUnchecked;
use bitcoin::consensus::encode;
use bitcoin::hashes::Hash;
use bitcoin::hex::{DisplayHex, FromHex};
use bitcoin::{Address, BlockHash, Network, OutPoint, ScriptBuf, Transaction, Txid};
use serde_json::Value;

use super::json::Json;
use super::mempool::MempoolEntry;
use super::policy::FeeRate;
use super::reject::RejectClass;
use super::{Regtest, RegtestError, SubmitError};

/// `RPC_MISC_ERROR`.
const MISC_ERROR: i64 = -1;
/// `RPC_TYPE_ERROR`.
const TYPE_ERROR: i64 = -3;
/// `RPC_INVALID_ADDRESS_OR_KEY` (also "not found").
const INVALID_ADDRESS_OR_KEY: i64 = -5;
/// `RPC_INVALID_PARAMETER`.
const INVALID_PARAMETER: i64 = -8;
/// `RPC_DATABASE_ERROR`.
const DATABASE_ERROR: i64 = -20;
/// `RPC_DESERIALIZATION_ERROR`.
const DESERIALIZATION_ERROR: i64 = -22;
/// `RPC_VERIFY_ERROR` (transaction error, missing inputs, max fee).
const VERIFY_ERROR: i64 = -25;
/// `RPC_VERIFY_REJECTED` (mempool rejection).
const VERIFY_REJECTED: i64 = -26;
/// `RPC_VERIFY_ALREADY_IN_UTXO_SET`.
const VERIFY_ALREADY_IN_UTXO_SET: i64 = -27;
/// `RPC_INVALID_REQUEST`.
const INVALID_REQUEST: i64 = -32600;
/// `RPC_METHOD_NOT_FOUND`.
const METHOD_NOT_FOUND: i64 = -32601;
/// `RPC_PARSE_ERROR`.
const PARSE_ERROR: i64 = -32700;

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

/// Positional parameters with Core's type checks.
pub(super) struct Params<'a> {
    values: Vec<Value>,
    method: &'a str,
}

/// `UniValue`'s type names (`uvTypeName`).
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_error(value: &Value, expected: &str) -> RpcError {
    RpcError::new(
        TYPE_ERROR,
        format!(
            "JSON value of type {} is not of expected type {expected}",
            type_name(value)
        ),
    )
}

impl Params<'_> {
    /// The value at `i`, if present and not null.
    pub(super) fn get(&self, i: usize) -> Option<&Value> {
        self.values.get(i).filter(|v| !v.is_null())
    }

    fn required(&self, i: usize, name: &str) -> Result<&Value, RpcError> {
        self.get(i).ok_or_else(|| {
            RpcError::new(
                MISC_ERROR,
                format!("{}: missing required parameter '{name}'", self.method),
            )
        })
    }

    pub(super) fn str(&self, i: usize, name: &str) -> Result<&str, RpcError> {
        let value = self.required(i, name)?;
        value.as_str().ok_or_else(|| type_error(value, "string"))
    }

    pub(super) fn int(&self, i: usize, name: &str) -> Result<i64, RpcError> {
        let value = self.required(i, name)?;
        value.as_i64().ok_or_else(|| type_error(value, "number"))
    }

    pub(super) fn opt_bool(&self, i: usize) -> Result<Option<bool>, RpcError> {
        match self.get(i) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(type_error(v, "bool")),
        }
    }

    /// Core's `ParseVerbosity` (booleans allowed: true = 1).
    pub(super) fn verbosity(&self, i: usize, default: i64) -> Result<i64, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(i64::from(*b)),
            Some(v) => v.as_i64().ok_or_else(|| type_error(v, "number")),
        }
    }

    /// Core's `ParseHashV`.
    fn hash(&self, i: usize, name: &str) -> Result<[u8; 32], RpcError> {
        let s = self.str(i, name)?;
        if s.len() != 64 {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                format!("{name} must be of length 64 (not {}, for '{s}')", s.len()),
            ));
        }
        let mut bytes = <[u8; 32]>::from_hex(s).map_err(|_| {
            RpcError::new(
                INVALID_PARAMETER,
                format!("{name} must be hexadecimal string (not '{s}')"),
            )
        })?;
        // Hashes are displayed byte-reversed.
        bytes.reverse();
        Ok(bytes)
    }

    pub(super) fn block_hash(&self, i: usize, name: &str) -> Result<BlockHash, RpcError> {
        self.hash(i, name).map(BlockHash::from_byte_array)
    }

    pub(super) fn txid(&self, i: usize, name: &str) -> Result<Txid, RpcError> {
        self.hash(i, name).map(Txid::from_byte_array)
    }

    /// A fee rate in BTC/kvB (`maxfeerate`), as sat/kvB.
    fn fee_rate(&self, i: usize) -> Result<Option<FeeRate>, RpcError> {
        let Some(value) = self.get(i) else {
            return Ok(None);
        };
        let sats = amount_from_value(value)?;
        if sats >= 100_000_000 {
            return Err(RpcError::new(
                INVALID_PARAMETER,
                "Fee rates larger than or equal to 1BTC/kvB are not accepted",
            ));
        }
        Ok(Some(FeeRate(sats)))
    }
}

/// Core's `AmountFromValue`: a number or numeric string in BTC, as satoshis.
fn amount_from_value(value: &Value) -> Result<u64, RpcError> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => {
            return Err(RpcError::new(
                TYPE_ERROR,
                "Amount is not a number or string",
            ))
        }
    };
    let invalid = || RpcError::new(TYPE_ERROR, "Invalid amount");
    let (whole, frac) = text.split_once('.').unwrap_or((text.as_str(), ""));
    if frac.len() > 8 || whole.starts_with('-') {
        return Err(invalid());
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| invalid())?
    };
    let frac_sats: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<8}").parse().map_err(|_| invalid())?
    };
    let sats = whole
        .checked_mul(100_000_000)
        .and_then(|w| w.checked_add(frac_sats))
        .ok_or_else(invalid)?;
    if sats > super::params::MAX_MONEY {
        return Err(RpcError::new(TYPE_ERROR, "Amount out of range"));
    }
    Ok(sats)
}

/// Decodes a hex transaction (Core's `DecodeHexTx`).
fn decode_tx(hex: &str) -> Option<Transaction> {
    let bytes = Vec::<u8>::from_hex(hex).ok()?;
    encode::deserialize(&bytes).ok()
}

/// A regtest address's script (`DecodeDestination` + `IsValidDestination`).
fn parse_address(address: &str) -> Option<ScriptBuf> {
    let parsed: Address<NetworkUnchecked> = address.parse().ok()?;
    parsed
        .require_network(Network::Regtest)
        .ok()
        .map(|a| a.script_pubkey())
}

fn send_raw_transaction(regtest: &mut Regtest, p: &Params<'_>, now: u64) -> Result<Json, RpcError> {
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
    let txid = tx.compute_txid();
    if regtest.mempool().get(&txid).is_none() && max_fee_rate.0 > 0 {
        // Core first test-accepts to compare the fee with maxfeerate.
        let vsize = tx.weight().to_wu().div_ceil(4);
        match regtest.test_accept(&tx, now) {
            Ok(accepted) if accepted.fee > max_fee_rate.fee(vsize) => {
                return Err(RpcError::new(
                    VERIFY_ERROR,
                    "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
                ));
            }
            _ => {}
        }
    }
    match regtest.submit_transaction(tx, now) {
        Ok(txid) => Ok(Json::from(txid.to_string())),
        Err(SubmitError::AlreadyInUtxoSet) => Err(RpcError::new(
            VERIFY_ALREADY_IN_UTXO_SET,
            "Transaction outputs already in utxo set",
        )),
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

fn test_mempool_accept(regtest: &Regtest, p: &Params<'_>, now: u64) -> Result<Json, RpcError> {
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

fn raw_mempool(regtest: &Regtest, verbose: bool, sequence: bool) -> Result<Json, RpcError> {
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
fn mempool_entry(regtest: &Regtest, entry: &MempoolEntry) -> Json {
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

fn fee_rate_json(rate: FeeRate) -> Json {
    Json::Amount(i64::try_from(rate.0).unwrap_or(i64::MAX))
}

fn mempool_info(regtest: &Regtest) -> Json {
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

fn estimate_smart_fee(regtest: &Regtest, p: &Params<'_>) -> Result<Json, RpcError> {
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

#[cfg(test)]
mod tests;
