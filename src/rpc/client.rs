//! The client side of the control API, used by the CLI verbs and by tests.

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::Request;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use super::{Cookie, NodeAddresses, RpcError, COOKIE_FILE};

/// A connection to one node's control API.
pub struct RpcClient {
    url: String,
    cookie: Cookie,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl RpcClient {
    /// Finds the node through its datadir: `node.json` for the address, `rpc.cookie` for the
    /// secret (the way lncli uses `--lnddir`).
    pub fn from_datadir(datadir: &Path) -> Result<RpcClient, RpcError> {
        let addresses = NodeAddresses::read(datadir)?;
        let cookie_path = datadir.join(COOKIE_FILE);
        let cookie = Cookie::read(&cookie_path).map_err(|e| RpcError::NodeNotFound {
            path: cookie_path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(RpcClient::new(&addresses.rpc, cookie))
    }

    /// A client for the API at `host:port`.
    pub fn new(addr: &str, cookie: Cookie) -> RpcClient {
        RpcClient {
            url: format!("http://{addr}/"),
            cookie,
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Calls `method` with `params` (a JSON object) and returns the `result`.
    pub async fn call(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let body = json!({ "method": method, "params": params }).to_string();
        let req = Request::post(&self.url)
            .header(AUTHORIZATION, self.cookie.authorization())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| RpcError::Transport(e.to_string()))?;
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| RpcError::Transport(e.to_string()))?
            .to_bytes();
        let answer: Value = serde_json::from_slice(&bytes)
            .map_err(|e| RpcError::Transport(format!("not JSON: {e}")))?;
        if let Some(err) = answer.get("error") {
            let code = err.get("code").and_then(Value::as_str).unwrap_or("failed");
            let message = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            return Err(RpcError::from_wire(code, message));
        }
        answer
            .get("result")
            .cloned()
            .ok_or_else(|| RpcError::Transport("answer has neither result nor error".into()))
    }
}
