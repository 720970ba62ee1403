//! [`ChainError`]: everything that can fail in the chain module, from reading a cookie file to
//! a reorg deeper than the notifier can undo.

use std::path::PathBuf;

use bitcoin::BlockHash;

use crate::units::BlockHeight;

/// An error of the chain backend, the notifier core or the notifier actor.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The RPC cookie file (`<datadir>/regtest/.cookie`) could not be read; the backend may not
    /// have started yet.
    #[error("cannot read RPC cookie file {path}: {source}")]
    CookieRead {
        /// The cookie file's path.
        path: PathBuf,
        /// What the filesystem said.
        #[source]
        source: std::io::Error,
    },
    /// The cookie file does not hold `user:password` on its first line.
    #[error("RPC cookie file {path} is not `user:password`")]
    CookieFormat {
        /// The cookie file's path.
        path: PathBuf,
    },
    /// The RPC endpoint is not a usable `http://host:port[/path]` URL.
    #[error("invalid RPC URL {url:?}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
    },
    /// The HTTP exchange failed: connection refused, reset, or closed mid-request.
    #[error("RPC transport error: {0}")]
    Http(#[from] hyper_util::client::legacy::Error),
    /// The response body could not be read to the end.
    #[error("RPC response body error: {0}")]
    Body(#[from] hyper::Error),
    /// The response body was longer than the client accepts (a block is at most 4 MB, 8 MB
    /// in hex); the client stops reading rather than allocate without bound.
    #[error("RPC response larger than {limit} bytes")]
    ResponseTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The server answered with an HTTP status and no JSON-RPC body: 401 means wrong
    /// credentials, 403 a disallowed client address, 503 a server still starting.
    #[error("RPC server answered HTTP {status} without a JSON-RPC body")]
    HttpStatus {
        /// The HTTP status code.
        status: u16,
    },
    /// No answer within the client's timeout.
    #[error("RPC {method} timed out")]
    Timeout {
        /// The RPC method that timed out.
        method: String,
    },
    /// The response was not the JSON the method documents.
    #[error("malformed RPC response: {0}")]
    Json(#[from] serde_json::Error),
    /// The server executed the call and returned a JSON-RPC error object; `code` is Bitcoin
    /// Core's `RPCErrorCode` (see [`rpc_code`](super::rpc_code)).
    #[error("RPC error {code}: {message}")]
    Rpc {
        /// Bitcoin Core's error code, e.g. -26 for a transaction the mempool rejected.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// A block or transaction came back as invalid hex.
    #[error("invalid hex from RPC: {0}")]
    Hex(#[from] bitcoin::hex::HexToBytesError),
    /// A block or transaction did not decode from its consensus bytes.
    #[error("undecodable block or transaction from RPC: {0}")]
    Consensus(#[from] bitcoin::consensus::encode::Error),
    /// The backend returned an object other than the one asked for (its hash differs).
    #[error("backend returned a different {what} than requested")]
    Mismatch {
        /// What was asked for: "block" or "transaction".
        what: &'static str,
    },
    /// A block the backend itself named cannot be found any more, or a subscriber's
    /// `best_known` block is unknown to the backend.
    #[error("unknown block {hash}")]
    UnknownBlock {
        /// The block's hash.
        hash: BlockHash,
    },
    /// The notifier actor has stopped (shut down, or failed); no command can be served.
    #[error("chain notifier has stopped")]
    NotifierStopped,
    /// A registration the notifier cannot honour.
    #[error("invalid registration: {reason}")]
    InvalidRegistration {
        /// Why.
        reason: &'static str,
    },
    /// A block was offered to the notifier core at a height other than the next one.
    #[error("block at height {got} offered, expected height {expected}")]
    UnexpectedHeight {
        /// The height given.
        got: BlockHeight,
        /// The height the core expects.
        expected: BlockHeight,
    },
    /// A block offered as the next tip does not build on the current tip.
    #[error("block {hash} does not build on the tip {tip}")]
    BlockDoesNotConnect {
        /// The offered block.
        hash: BlockHash,
        /// The core's tip.
        tip: BlockHash,
    },
    /// A reorg reaches below the blocks the notifier remembers, so it cannot undo what it
    /// reported; the node must stop and resynchronise.
    #[error("reorg deeper than the reorg-safety depth of {limit} blocks")]
    ReorgTooDeep {
        /// The notifier's reorg-safety depth.
        limit: u32,
    },
    /// A block given to a historical scan is not the core's block at that height, or lies
    /// above the tip.
    #[error("historical scan block at height {height} is not in the notifier's chain")]
    RescanMismatch {
        /// The block's height.
        height: BlockHeight,
    },
}

impl ChainError {
    /// Bitcoin Core's RPC error code if this is an RPC error object.
    pub fn rpc_code(&self) -> Option<i64> {
        match self {
            ChainError::Rpc { code, .. } => Some(*code),
            _ => None,
        }
    }
}
