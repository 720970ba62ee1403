//! A stand-in for bitcoind's HTTP JSON-RPC server, backed by a [`MemChain`]: HTTP/1.1 with
//! keep-alive on 127.0.0.1 port 0, Basic auth against a cookie file, and bitcoind's reply
//! shapes (HTTP 500 + error object for RPC errors, 404 for unknown methods, bare 401 for bad
//! credentials). It lets the suite run `BitcoindRpc` end to end without a bitcoind binary, and
//! records what the client sent so tests can check the wire format.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bitcoin::base64::engine::general_purpose::STANDARD as BASE64;
use bitcoin::base64::Engine as _;
use bitcoin::consensus::encode::{deserialize, serialize_hex};
use bitcoin::hex::FromHex as _;
use bitcoin::{Address, BlockHash, Network, Transaction, Txid};
use petrel::chain::{rpc_code, ChainError, ChainSource};
use petrel::units::BlockHeight;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::mem_chain::MemChain;
use super::TestChain;

/// A running stand-in server.
pub struct RpcServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The cookie file clients authenticate with.
    pub cookie: PathBuf,
    /// The chain behind it.
    pub chain: MemChain,
    shared: Arc<Shared>,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

struct Shared {
    /// The accepted `user:password`.
    credentials: Mutex<String>,
    /// TCP connections accepted so far.
    connections: AtomicUsize,
    /// Every JSON request body received, in order.
    requests: Mutex<Vec<Value>>,
}

impl Drop for RpcServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl RpcServer {
    /// Serves `chain` on a fresh loopback port with a fresh cookie.
    pub async fn start(chain: MemChain) -> RpcServer {
        let dir = tempfile::tempdir().unwrap();
        let cookie = dir.path().join(".cookie");
        let shared = Arc::new(Shared {
            credentials: Mutex::new(String::new()),
            connections: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let server = RpcServer {
            url,
            cookie,
            chain: chain.clone(),
            shared: Arc::clone(&shared),
            stop: stop.clone(),
            _dir: dir,
        };
        server.rewrite_cookie();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { return };
                        shared.connections.fetch_add(1, Ordering::SeqCst);
                        let (chain, shared, stop) = (chain.clone(), Arc::clone(&shared), stop.clone());
                        tokio::spawn(async move {
                            tokio::select! {
                                () = stop.cancelled() => {}
                                () = serve(stream, chain, shared) => {}
                            }
                        });
                    }
                }
            }
        });
        server
    }

    /// Writes a new cookie, as bitcoind does at every start; old credentials stop working.
    pub fn rewrite_cookie(&self) {
        let secret: [u8; 16] = bitcoin::secp256k1::rand::random();
        let credentials = format!(
            "__cookie__:{}",
            bitcoin::hex::DisplayHex::to_lower_hex_string(&secret[..])
        );
        std::fs::write(&self.cookie, &credentials).unwrap();
        *self.shared.credentials.lock().unwrap() = credentials;
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every JSON request body received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }
}

/// One HTTP request as the stand-in servers see it.
pub struct HttpRequest {
    /// `POST / HTTP/1.1`.
    pub request_line: String,
    /// The `Authorization` header's value.
    pub authorization: String,
    /// The body.
    pub body: Vec<u8>,
}

/// Reads one request from a keep-alive connection; `None` when the client closed it.
pub async fn read_request(stream: &mut BufReader<TcpStream>) -> Option<HttpRequest> {
    let mut request_line = String::new();
    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
        return None;
    }
    let mut length = 0usize;
    let mut authorization = String::new();
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or((line, ""));
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = value.trim().to_owned(),
            _ => {}
        }
    }
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(HttpRequest {
        request_line,
        authorization,
        body,
    })
}

/// Writes one response; false if the client is gone.
pub async fn write_response(stream: &mut BufReader<TcpStream>, status: u16, body: &[u8]) -> bool {
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    if status == 401 {
        head.push_str("WWW-Authenticate: Basic realm=\"jsonrpc\"\r\n");
    }
    head.push_str("\r\n");
    // One write: a head and a body in two small segments would wait on delayed ACKs.
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    stream.get_mut().write_all(&response).await.is_ok()
}

/// A server that answers every request with `handler(json body)`, no auth checked; for
/// staging malformed or hostile answers. Dropping the token stops it.
pub async fn scripted<F>(handler: F) -> (String, tokio_util::sync::DropGuard)
where
    F: Fn(&Value) -> (u16, Vec<u8>) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let stop = CancellationToken::new();
    let handler = Arc::new(handler);
    let token = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { return };
                    let (handler, token) = (Arc::clone(&handler), token.clone());
                    tokio::spawn(async move {
                        let mut stream = BufReader::new(stream);
                        loop {
                            let request = tokio::select! {
                                () = token.cancelled() => return,
                                request = read_request(&mut stream) => request,
                            };
                            let Some(request) = request else { return };
                            let json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                            let (status, body) = handler(&json);
                            if !write_response(&mut stream, status, &body).await {
                                return;
                            }
                        }
                    });
                }
            }
        }
    });
    (url, stop.drop_guard())
}

/// Serves one keep-alive connection until the client closes it.
async fn serve(stream: TcpStream, chain: MemChain, shared: Arc<Shared>) {
    let mut stream = BufReader::new(stream);
    while let Some(request) = read_request(&mut stream).await {
        let expected = format!(
            "Basic {}",
            BASE64.encode(shared.credentials.lock().unwrap().as_bytes())
        );
        let (status, reply) = if !request.request_line.starts_with("POST ") {
            (405, String::new())
        } else if request.authorization != expected {
            (401, String::new())
        } else {
            let json: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            shared.requests.lock().unwrap().push(json.clone());
            let (status, reply) = dispatch(&chain, &json).await;
            (status, reply.to_string())
        };
        if !write_response(&mut stream, status, reply.as_bytes()).await {
            return;
        }
    }
}

/// Runs one JSON-RPC 1.0 request the way bitcoind answers it.
async fn dispatch(chain: &MemChain, request: &Value) -> (u16, Value) {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let method = request.get("method").and_then(Value::as_str).unwrap_or("");
    let params = request
        .get("params")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match call(chain, method, &params).await {
        Ok(result) => (200, json!({"result": result, "error": null, "id": id})),
        Err((code, message)) => {
            let status = if code == rpc_code::METHOD_NOT_FOUND {
                404
            } else {
                500
            };
            (
                status,
                json!({"result": null, "error": {"code": code, "message": message}, "id": id}),
            )
        }
    }
}

type RpcResult = Result<Value, (i64, String)>;

fn param<T: FromStr>(params: &[Value], index: usize) -> Result<T, (i64, String)> {
    let text = match params.get(index) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err((-1, format!("missing parameter {index}"))),
    };
    text.parse()
        .map_err(|_| (-8, format!("invalid parameter {index}")))
}

fn from_chain(error: ChainError) -> (i64, String) {
    match error {
        ChainError::Rpc { code, message } => (code, message),
        other => (-1, other.to_string()),
    }
}

async fn call(chain: &MemChain, method: &str, params: &[Value]) -> RpcResult {
    let not_found = |what: &str| {
        (
            rpc_code::INVALID_ADDRESS_OR_KEY,
            format!("{what} not found"),
        )
    };
    match method {
        "getbestblockhash" => {
            let hash = chain.best_block_hash().await.map_err(from_chain)?;
            Ok(json!(hash.to_string()))
        }
        "getblockhash" => {
            let height: u32 = param(params, 0)?;
            match chain
                .block_hash(BlockHeight(height))
                .await
                .map_err(from_chain)?
            {
                Some(hash) => Ok(json!(hash.to_string())),
                None => Err((
                    rpc_code::INVALID_PARAMETER,
                    "Block height out of range".into(),
                )),
            }
        }
        "getblockheader" => {
            let hash: BlockHash = param(params, 0)?;
            let info = chain
                .block_info(hash)
                .await
                .map_err(from_chain)?
                .ok_or_else(|| not_found("Block"))?;
            let mut header = json!({"hash": hash.to_string(), "height": info.height.0});
            if let Some(prev) = info.prev_hash {
                header["previousblockhash"] = json!(prev.to_string());
            }
            Ok(header)
        }
        "getblock" => {
            let hash: BlockHash = param(params, 0)?;
            let block = chain
                .block(hash)
                .await
                .map_err(from_chain)?
                .ok_or_else(|| not_found("Block"))?;
            Ok(json!(serialize_hex(&block)))
        }
        "getrawtransaction" => {
            let txid: Txid = param(params, 0)?;
            let tx = chain
                .raw_transaction(txid)
                .await
                .map_err(from_chain)?
                .ok_or_else(|| {
                    (
                        rpc_code::INVALID_ADDRESS_OR_KEY,
                        "No such mempool or blockchain transaction".into(),
                    )
                })?;
            Ok(json!(serialize_hex(&tx)))
        }
        "sendrawtransaction" => {
            let hex: String = param(params, 0)?;
            let bytes = Vec::<u8>::from_hex(&hex)
                .map_err(|_| (rpc_code::DESERIALIZATION_ERROR, "TX decode failed".into()))?;
            let tx: Transaction = deserialize(&bytes)
                .map_err(|_| (rpc_code::DESERIALIZATION_ERROR, "TX decode failed".into()))?;
            let txid = chain.broadcast(&tx).await.map_err(from_chain)?;
            Ok(json!(txid.to_string()))
        }
        "estimatesmartfee" => {
            let _target: u16 = param(params, 0)?;
            let blocks = chain.best_block().await.map_err(from_chain)?.height.0;
            Ok(
                json!({"errors": ["Insufficient data or no feerate found"], "blocks": blocks.min(2)}),
            )
        }
        "generatetoaddress" => {
            let n: u32 = param(params, 0)?;
            let address: String = param(params, 1)?;
            let address = Address::from_str(&address)
                .ok()
                .and_then(|a| a.require_network(Network::Regtest).ok())
                .ok_or((
                    rpc_code::INVALID_ADDRESS_OR_KEY,
                    "Error: Invalid address".to_owned(),
                ))?;
            let hashes = chain.mine_to(n, &address).await;
            Ok(json!(hashes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()))
        }
        "invalidateblock" => {
            let hash: BlockHash = param(params, 0)?;
            chain.invalidate(hash).await;
            Ok(Value::Null)
        }
        _ => Err((rpc_code::METHOD_NOT_FOUND, "Method not found".into())),
    }
}
