//! The control API: JSON over HTTP on loopback, guarded by a cookie file in the datadir.
//!
//! Requests are `POST /` with `{"method": "<verb>", "params": {...}}`; the answer is
//! `{"result": ...}` with status 200, or `{"error": {"code": "...", "message": "..."}}` with a
//! 4xx/5xx status. Every request carries HTTP Basic auth `__cookie__:<secret>`, the secret
//! being the contents of `<datadir>/rpc.cookie` (written at start with mode 0600, like
//! bitcoind's `.cookie` and lnd's macaroons: whoever can read the datadir may control the
//! node). Anything else gets 401.
//!
//! The server knows no node logic: it authenticates, parses, and hands `(method, params)` to
//! an [`RpcHandler`]. The CLI verbs (`petrel --datadir D getinfo`...) use [`RpcClient`], which
//! finds the node through the datadir ([`NodeAddresses`], written by the node once it has
//! bound its sockets).

mod client;
mod cookie;
mod server;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

pub use client::RpcClient;
pub use cookie::{Cookie, COOKIE_USER};
pub use server::{serve, RpcServer};

/// The file, in the datadir, where the node writes the addresses it really bound.
pub const ADDRESSES_FILE: &str = "node.json";
/// The file, in the datadir, that holds the RPC cookie.
pub const COOKIE_FILE: &str = "rpc.cookie";

/// What the node writes into `<datadir>/node.json` after binding, so tools (the CLI, tests,
/// the scenario runner) can find it even when it was started with port 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddresses {
    /// The node's public key, hex.
    pub node_id: String,
    /// The Lightning (BOLT 8) listener, `host:port`.
    pub listen: String,
    /// The control API, `host:port`.
    pub rpc: String,
}

impl NodeAddresses {
    /// Writes the file atomically (temporary file, then rename), so a reader never sees half.
    pub fn write(&self, datadir: &Path) -> std::io::Result<()> {
        let tmp = datadir.join(format!("{ADDRESSES_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, datadir.join(ADDRESSES_FILE))
    }

    /// Reads the file a node wrote.
    pub fn read(datadir: &Path) -> Result<NodeAddresses, RpcError> {
        let path = datadir.join(ADDRESSES_FILE);
        let bytes = std::fs::read(&path).map_err(|e| RpcError::NodeNotFound {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| RpcError::NodeNotFound {
            path: path.display().to_string(),
            reason: e.to_string(),
        })
    }
}

/// A failed control request, as the client sees it and as the handler reports it.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RpcError {
    /// The request named a method the node does not have.
    #[error("unknown method `{0}`")]
    UnknownMethod(String),
    /// The parameters were missing, of the wrong type or out of range.
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    /// The node understood the request but could not do it (no route to peer, no funds...).
    #[error("{0}")]
    Failed(String),
    /// The caller did not present the cookie.
    #[error("unauthorized: wrong or missing cookie")]
    Unauthorized,
    /// The client could not find a running node through the datadir.
    #[error("no node found ({path}: {reason}); is `petrel node` running with this --datadir?")]
    NodeNotFound {
        /// The file the client looked at.
        path: String,
        /// Why it could not be used.
        reason: String,
    },
    /// The connection to the node failed or it answered something that is not our protocol.
    #[error("transport: {0}")]
    Transport(String),
}

impl RpcError {
    /// A stable machine-readable code for the error object.
    pub fn code(&self) -> &'static str {
        match self {
            RpcError::UnknownMethod(_) => "unknown_method",
            RpcError::InvalidParams(_) => "invalid_params",
            RpcError::Failed(_) => "failed",
            RpcError::Unauthorized => "unauthorized",
            RpcError::NodeNotFound { .. } => "node_not_found",
            RpcError::Transport(_) => "transport",
        }
    }

    /// The HTTP status the server answers with.
    fn status(&self) -> u16 {
        match self {
            RpcError::UnknownMethod(_) => 404,
            RpcError::InvalidParams(_) => 400,
            RpcError::Unauthorized => 401,
            _ => 500,
        }
    }

    /// Rebuilds an error from the `{"code", "message"}` object the server sent.
    fn from_wire(code: &str, message: String) -> RpcError {
        match code {
            "unknown_method" => RpcError::UnknownMethod(message),
            "invalid_params" => RpcError::InvalidParams(message),
            "unauthorized" => RpcError::Unauthorized,
            _ => RpcError::Failed(message),
        }
    }
}

/// A boxed future, so handlers can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the server calls for every authenticated request. The node implements it.
pub trait RpcHandler: Send + Sync + 'static {
    /// Runs `method` with `params` (a JSON object, `{}` when none were given).
    fn handle(&self, method: String, params: Value) -> BoxFuture<'_, Result<Value, RpcError>>;
}

/// Reads a required parameter, with an error naming it.
pub fn param<T: serde::de::DeserializeOwned>(params: &Value, name: &str) -> Result<T, RpcError> {
    let value = params
        .get(name)
        .ok_or_else(|| RpcError::InvalidParams(format!("missing `{name}`")))?;
    serde_json::from_value(value.clone())
        .map_err(|e| RpcError::InvalidParams(format!("`{name}`: {e}")))
}

/// Reads an optional parameter (absent or null gives `None`).
pub fn opt_param<T: serde::de::DeserializeOwned>(
    params: &Value,
    name: &str,
) -> Result<Option<T>, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => param(params, name).map(Some),
    }
}

#[cfg(test)]
mod tests;
