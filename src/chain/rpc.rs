//! [`BitcoindRpc`]: a thin JSON-RPC client of Bitcoin Core (and of `petrel regtest`, which
//! speaks the same subset), over `hyper` with keep-alive connections.
//!
//! Wire format, as Bitcoin Core serves it: HTTP/1.1 `POST` of a JSON-RPC 1.0 request
//! `{"jsonrpc":"1.0","id":N,"method":"...","params":[...]}` with Basic auth, either from the
//! cookie file (`__cookie__:SECRET`, rewritten at every start of the server) or from
//! `-rpcuser`/`-rpcpassword`. The answer is `{"result":...,"error":null,"id":N}`; on failure
//! `error` is `{"code":C,"message":"..."}` and Core sets HTTP 500 (404 for an unknown
//! method), while a refused login is a bare HTTP 401. Blocks and transactions are asked for
//! as hex and decoded here from consensus bytes; JSON fields are trusted only for what the
//! bytes do not carry (a block's height).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bitcoin::base64::engine::general_purpose::STANDARD as BASE64;
use bitcoin::base64::Engine as _;
use bitcoin::consensus::encode::{deserialize, serialize_hex};
use bitcoin::hex::FromHex as _;
use bitcoin::{Block, BlockHash, FeeRate, Transaction, Txid};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{BlockInfo, ChainError, ChainSource};
use crate::units::BlockHeight;

/// Bitcoin Core's RPC error codes (`src/rpc/protocol.h`): what this client meets, and what
/// the embedded regtest chain's server answers with.
pub mod rpc_code {
    /// A generic failure, e.g. a block whose data was pruned.
    pub const MISC_ERROR: i64 = -1;
    /// A parameter of the wrong JSON type.
    pub const TYPE_ERROR: i64 = -3;
    /// Unknown block, transaction or address ("not found" for lookups).
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    /// Invalid parameter, e.g. `getblockhash` above the tip.
    pub const INVALID_PARAMETER: i64 = -8;
    /// The node's database failed.
    pub const DATABASE_ERROR: i64 = -20;
    /// The transaction cannot be deserialised.
    pub const DESERIALIZATION_ERROR: i64 = -22;
    /// The transaction failed verification (e.g. missing or spent inputs, fee above the maximum).
    pub const VERIFY_ERROR: i64 = -25;
    /// The mempool rejected the transaction (policy, fee, conflict).
    pub const VERIFY_REJECTED: i64 = -26;
    /// The transaction's outputs are already in the UTXO set (Core's current name for -27).
    pub const VERIFY_ALREADY_IN_UTXO_SET: i64 = -27;
    /// The transaction is already in the chain (Core's older name for -27).
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = VERIFY_ALREADY_IN_UTXO_SET;
    /// The server is still starting (loading the block index).
    pub const IN_WARMUP: i64 = -28;
    /// The request is not a valid JSON-RPC request.
    pub const INVALID_REQUEST: i64 = -32600;
    /// The method does not exist.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The request body is not valid JSON.
    pub const PARSE_ERROR: i64 = -32700;
}

/// The largest response body the client reads: a 4 MB block is 8 MB of hex, plus framing.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// How long an idle keep-alive connection is kept; below Core's `-rpcservertimeout` (30 s by
/// default) so the client does not reuse a socket the server is closing.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// How the client proves who it is to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcAuth {
    /// Bitcoin Core's cookie file (`<datadir>/.cookie`, `<datadir>/regtest/.cookie` on
    /// regtest), read lazily and again after a 401, since the server rewrites it at start.
    CookieFile(PathBuf),
    /// Fixed credentials (`-rpcuser`/`-rpcpassword` or an `-rpcauth` entry).
    UserPass {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

/// Where and how to reach the JSON-RPC server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcConfig {
    /// `http://host:port` (Core's regtest default is `http://127.0.0.1:18443`); a path such as
    /// `/wallet/name` is kept.
    pub url: String,
    /// Credentials.
    pub auth: RpcAuth,
    /// Deadline for one call, connection included.
    pub timeout: Duration,
}

impl RpcConfig {
    /// A configuration with the default 30 s timeout.
    pub fn new(url: impl Into<String>, auth: RpcAuth) -> RpcConfig {
        RpcConfig {
            url: url.into(),
            auth,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A Bitcoin Core JSON-RPC client implementing [`ChainSource`]. Cheap to clone; clones share
/// the connection pool.
#[derive(Clone, Debug)]
pub struct BitcoindRpc {
    /// Shared state: pool, credentials, request counter.
    inner: Arc<Inner>,
}

/// The state clones of a [`BitcoindRpc`] share.
#[derive(Debug)]
struct Inner {
    /// The HTTP client and its keep-alive pool.
    client: Client<HttpConnector, Full<Bytes>>,
    /// The endpoint.
    uri: Uri,
    /// Where credentials come from.
    auth: RpcAuth,
    /// The `Authorization` header last built from `auth`.
    header: RwLock<Option<HeaderValue>>,
    /// Deadline for one call.
    timeout: Duration,
    /// The next JSON-RPC request id.
    next_id: AtomicU64,
}

/// A JSON-RPC reply envelope.
#[derive(Deserialize)]
struct Reply {
    /// The method's result; `null` on error.
    #[serde(default)]
    result: Value,
    /// The error object, if the call failed.
    #[serde(default)]
    error: Option<ErrorObject>,
}

/// A JSON-RPC error object as Bitcoin Core fills it.
#[derive(Deserialize)]
struct ErrorObject {
    /// Core's `RPCErrorCode`.
    code: i64,
    /// Human-readable reason.
    message: String,
}

/// The fields of `getblockheader <hash> true` the client uses.
#[derive(Deserialize)]
struct HeaderInfo {
    /// The block's hash.
    hash: BlockHash,
    /// Its height.
    height: u32,
    /// Its parent; absent for genesis.
    #[serde(default)]
    previousblockhash: Option<BlockHash>,
}

/// The answer of `estimatesmartfee`.
#[derive(Deserialize)]
struct SmartFee {
    /// BTC per kvB; absent when there is no estimate.
    #[serde(default)]
    feerate: Option<f64>,
}

impl BitcoindRpc {
    /// A client for `config`. Nothing is contacted (and no cookie read) until the first call.
    pub fn new(config: RpcConfig) -> Result<BitcoindRpc, ChainError> {
        let invalid = || ChainError::InvalidUrl {
            url: config.url.clone(),
        };
        let uri: Uri = config.url.parse().map_err(|_| invalid())?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(invalid());
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(BitcoindRpc {
            inner: Arc::new(Inner {
                client,
                uri,
                auth: config.auth,
                header: RwLock::new(None),
                timeout: config.timeout,
                next_id: AtomicU64::new(1),
            }),
        })
    }

    /// Calls `method` with positional `params` and decodes its result as `T`. Public so that
    /// tools and tests can reach RPCs outside [`ChainSource`] (`generatetoaddress`,
    /// `invalidateblock`).
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
    ) -> Result<T, ChainError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params});
        let body = Bytes::from(serde_json::to_vec(&request)?);
        let exchange = self.exchange(body);
        let (status, bytes) = tokio::time::timeout(self.inner.timeout, exchange)
            .await
            .map_err(|_| ChainError::Timeout {
                method: method.to_owned(),
            })??;
        let reply: Reply = match serde_json::from_slice(&bytes) {
            Ok(reply) => reply,
            Err(_) if status != StatusCode::OK => {
                return Err(ChainError::HttpStatus {
                    status: status.as_u16(),
                })
            }
            Err(error) => return Err(ChainError::Json(error)),
        };
        if let Some(error) = reply.error {
            return Err(ChainError::Rpc {
                code: error.code,
                message: error.message,
            });
        }
        Ok(serde_json::from_value(reply.result)?)
    }

    /// One POST, retried once with fresh cookie credentials if the server refuses the cached
    /// ones (the server restarted and wrote a new cookie).
    async fn exchange(&self, body: Bytes) -> Result<(StatusCode, Bytes), ChainError> {
        let header = self.auth_header(false)?;
        let (status, bytes) = self.post(body.clone(), header).await?;
        if status == StatusCode::UNAUTHORIZED && matches!(self.inner.auth, RpcAuth::CookieFile(_)) {
            let header = self.auth_header(true)?;
            return self.post(body, header).await;
        }
        Ok((status, bytes))
    }

    /// Sends one request and reads the whole response, up to [`MAX_RESPONSE_BYTES`].
    async fn post(
        &self,
        body: Bytes,
        header: HeaderValue,
    ) -> Result<(StatusCode, Bytes), ChainError> {
        let request = Request::post(self.inner.uri.clone())
            .header(AUTHORIZATION, header)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|_| ChainError::InvalidUrl {
                url: self.inner.uri.to_string(),
            })?;
        let response = self.inner.client.request(request).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                if bytes.len().saturating_add(data.len()) > MAX_RESPONSE_BYTES {
                    return Err(ChainError::ResponseTooLarge {
                        limit: MAX_RESPONSE_BYTES,
                    });
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok((status, Bytes::from(bytes)))
    }

    /// The `Authorization` header, from the cache unless `refresh` (then the cookie file is
    /// read again).
    fn auth_header(&self, refresh: bool) -> Result<HeaderValue, ChainError> {
        if !refresh {
            if let Ok(cached) = self.inner.header.read() {
                if let Some(header) = cached.as_ref() {
                    return Ok(header.clone());
                }
            }
        }
        let credentials = match &self.inner.auth {
            RpcAuth::UserPass { user, password } => format!("{user}:{password}"),
            RpcAuth::CookieFile(path) => read_cookie(path)?,
        };
        let header = HeaderValue::from_str(&format!("Basic {}", BASE64.encode(credentials)))
            .map_err(|_| ChainError::InvalidUrl {
                url: self.inner.uri.to_string(),
            })?;
        if let Ok(mut cached) = self.inner.header.write() {
            *cached = Some(header.clone());
        }
        Ok(header)
    }

    /// Calls `method`, mapping the RPC error `not_found` to `Ok(None)`.
    async fn call_optional<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
        not_found: i64,
    ) -> Result<Option<T>, ChainError> {
        match self.call(method, params).await {
            Ok(value) => Ok(Some(value)),
            Err(ChainError::Rpc { code, .. }) if code == not_found => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// Reads `user:password` from the first line of a cookie file.
fn read_cookie(path: &PathBuf) -> Result<String, ChainError> {
    let text = std::fs::read_to_string(path).map_err(|source| ChainError::CookieRead {
        path: path.clone(),
        source,
    })?;
    let line = text.lines().next().unwrap_or("").trim();
    if !line.contains(':') {
        return Err(ChainError::CookieFormat { path: path.clone() });
    }
    Ok(line.to_owned())
}

/// Decodes consensus bytes given as hex.
fn decode_hex<T: bitcoin::consensus::Decodable>(hex: &str) -> Result<T, ChainError> {
    let bytes = Vec::<u8>::from_hex(hex)?;
    Ok(deserialize(&bytes)?)
}

/// Converts Core's BTC/kvB estimate to a feerate, rounding up to whole sat per 1000 weight
/// units so the estimate is never undercut; `None` for a missing or non-positive estimate.
fn feerate_from_btc_per_kvb(btc_per_kvb: f64) -> Option<FeeRate> {
    // 21 million BTC per kvB is far above any real estimate; beyond it the value is garbage.
    if !btc_per_kvb.is_finite() || btc_per_kvb <= 0.0 || btc_per_kvb > 21e6 {
        return None;
    }
    let sat_per_kvb = (btc_per_kvb * 1e8).round();
    // In range by the check above: 0 < value <= 2.1e15 < 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let sat_per_kvb = sat_per_kvb as u64;
    // 1 vB = 4 weight units, so sat/kvB = 4 * sat/kwu.
    Some(FeeRate::from_sat_per_kwu(sat_per_kvb.div_ceil(4)))
}

impl ChainSource for BitcoindRpc {
    async fn best_block_hash(&self) -> Result<BlockHash, ChainError> {
        self.call("getbestblockhash", &[]).await
    }

    async fn block_info(&self, hash: BlockHash) -> Result<Option<BlockInfo>, ChainError> {
        let params = [json!(hash.to_string()), json!(true)];
        let Some(info) = self
            .call_optional::<HeaderInfo>(
                "getblockheader",
                &params,
                rpc_code::INVALID_ADDRESS_OR_KEY,
            )
            .await?
        else {
            return Ok(None);
        };
        if info.hash != hash {
            return Err(ChainError::Mismatch { what: "block" });
        }
        Ok(Some(BlockInfo {
            hash,
            height: BlockHeight(info.height),
            prev_hash: info.previousblockhash,
        }))
    }

    async fn block_hash(&self, height: BlockHeight) -> Result<Option<BlockHash>, ChainError> {
        self.call_optional(
            "getblockhash",
            &[json!(height.0)],
            rpc_code::INVALID_PARAMETER,
        )
        .await
    }

    async fn block(&self, hash: BlockHash) -> Result<Option<Block>, ChainError> {
        let params = [json!(hash.to_string()), json!(0)];
        let Some(hex) = self
            .call_optional::<String>("getblock", &params, rpc_code::INVALID_ADDRESS_OR_KEY)
            .await?
        else {
            return Ok(None);
        };
        let block: Block = decode_hex(&hex)?;
        if block.block_hash() != hash {
            return Err(ChainError::Mismatch { what: "block" });
        }
        Ok(Some(block))
    }

    async fn raw_transaction(&self, txid: Txid) -> Result<Option<Transaction>, ChainError> {
        let params = [json!(txid.to_string()), json!(false)];
        let Some(hex) = self
            .call_optional::<String>(
                "getrawtransaction",
                &params,
                rpc_code::INVALID_ADDRESS_OR_KEY,
            )
            .await?
        else {
            return Ok(None);
        };
        let tx: Transaction = decode_hex(&hex)?;
        if tx.compute_txid() != txid {
            return Err(ChainError::Mismatch {
                what: "transaction",
            });
        }
        Ok(Some(tx))
    }

    async fn broadcast(&self, tx: &Transaction) -> Result<Txid, ChainError> {
        let txid: Txid = self
            .call("sendrawtransaction", &[json!(serialize_hex(tx))])
            .await?;
        if txid != tx.compute_txid() {
            return Err(ChainError::Mismatch {
                what: "transaction",
            });
        }
        Ok(txid)
    }

    async fn estimate_fee(&self, conf_target: u16) -> Result<Option<FeeRate>, ChainError> {
        let estimate: SmartFee = self.call("estimatesmartfee", &[json!(conf_target)]).await?;
        Ok(estimate.feerate.and_then(feerate_from_btc_per_kvb))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feerates_round_up_to_sat_per_kwu() {
        // 1 sat/vB = 1000 sat/kvB = 0.00001 BTC/kvB = 250 sat/kwu.
        assert_eq!(
            feerate_from_btc_per_kvb(0.000_01),
            Some(FeeRate::from_sat_per_kwu(250))
        );
        // 1001 sat/kvB = 250.25 sat/kwu, rounded up.
        assert_eq!(
            feerate_from_btc_per_kvb(0.000_010_01),
            Some(FeeRate::from_sat_per_kwu(251))
        );
        // 0.00012345 BTC/kvB = 12345 sat/kvB = 3086.25 sat/kwu.
        assert_eq!(
            feerate_from_btc_per_kvb(0.000_123_45),
            Some(FeeRate::from_sat_per_kwu(3087))
        );
        assert_eq!(feerate_from_btc_per_kvb(-1.0), None);
        assert_eq!(feerate_from_btc_per_kvb(0.0), None);
        assert_eq!(feerate_from_btc_per_kvb(f64::NAN), None);
        assert_eq!(feerate_from_btc_per_kvb(1e300), None);
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        let auth = RpcAuth::UserPass {
            user: "u".into(),
            password: "p".into(),
        };
        for bad in [
            "",
            "127.0.0.1:18443",
            "https://127.0.0.1:18443",
            "/path",
            "http://",
        ] {
            let result = BitcoindRpc::new(RpcConfig::new(bad, auth.clone()));
            assert!(
                matches!(result, Err(ChainError::InvalidUrl { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(BitcoindRpc::new(RpcConfig::new("http://127.0.0.1:18443", auth.clone())).is_ok());
        assert!(BitcoindRpc::new(RpcConfig::new("http://localhost:1/wallet/w", auth)).is_ok());
    }

    #[test]
    fn cookie_files_hold_user_colon_password() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good");
        std::fs::write(&good, "__cookie__:abc123\n").unwrap();
        assert_eq!(read_cookie(&good).unwrap(), "__cookie__:abc123");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "no colon here").unwrap();
        assert!(matches!(
            read_cookie(&bad),
            Err(ChainError::CookieFormat { .. })
        ));
        assert!(matches!(
            read_cookie(&dir.path().join("missing")),
            Err(ChainError::CookieRead { .. })
        ));
    }
}
