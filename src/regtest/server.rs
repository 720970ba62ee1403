//! The `petrel regtest` process: a bitcoind-compatible JSON-RPC server over HTTP/1.1 on
//! loopback (hyper), in front of one actor task that owns the [`Regtest`] chain.
//!
//! Start-up, in order: create the data directory, open the chain, bind the listener, write
//! the cookie file `D/.cookie` (`__cookie__:<64 hex digits>`, bitcoind's format), then write
//! the port actually bound to `D/rpc.port` (atomically, via rename) so that a test that bound
//! port 0 can find it: once `rpc.port` exists the server accepts requests. Every request needs
//! HTTP Basic auth with the cookie (else 401 with `WWW-Authenticate: Basic realm="jsonrpc"`),
//! must be a POST (else 405), and is answered by [`rpc::handle_body`]. Keep-alive is on.
//!
//! Shutdown (the `stop` method, or the caller's token): stop accepting, finish open
//! connections, save the mempool, delete the cookie and port files.

#![allow(clippy::disallowed_methods)] // the actor shell reads the clock and spawns tasks

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bitcoin::base64::Engine as _;
use bitcoin::hex::DisplayHex;
use bitcoin::secp256k1::rand::{thread_rng, RngCore};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::rpc::{self, RpcContext, RpcReply};
use super::{Regtest, RegtestConfig, RegtestError, DATABASE_FILE};

/// Name of the cookie file in the data directory (bitcoind's `.cookie`).
pub const COOKIE_FILE: &str = ".cookie";
/// Name of the file holding the bound RPC port.
pub const PORT_FILE: &str = "rpc.port";
/// User name of cookie authentication (bitcoind's `__cookie__`).
pub const COOKIE_USER: &str = "__cookie__";
/// Largest request body accepted (a `generateblock` with many transactions fits).
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Requests queued for the chain actor before HTTP handlers wait.
const MAILBOX: usize = 64;

/// Errors of the regtest server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The bind address is not a loopback address.
    #[error("refusing to serve RPC on non-loopback address {0}")]
    NotLoopback(SocketAddr),
    /// File or socket I/O failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The chain could not be opened.
    #[error(transparent)]
    Chain(#[from] RegtestError),
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let context = context.into();
    move |source| ServerError::Io { context, source }
}

/// Server settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Data directory (chain database, cookie, port file).
    pub datadir: PathBuf,
    /// Loopback address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Chain settings.
    pub regtest: RegtestConfig,
}

/// Current Unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A request for the chain actor.
struct Job {
    /// The HTTP body.
    body: Bytes,
    /// Where the reply goes.
    reply: oneshot::Sender<RpcReply>,
}

/// Runs the server until `stop` is called or `shutdown` is cancelled.
pub async fn run(config: ServerConfig, shutdown: CancellationToken) -> Result<(), ServerError> {
    if !config.bind.ip().is_loopback() {
        return Err(ServerError::NotLoopback(config.bind));
    }
    let datadir = config.datadir.clone();
    std::fs::create_dir_all(&datadir).map_err(io_error(format!("create {}", datadir.display())))?;
    let started = unix_now();
    let regtest = Regtest::open(&datadir, config.regtest, started)?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(io_error(format!("bind {}", config.bind)))?;
    let local = listener.local_addr().map_err(io_error("local address"))?;
    let cookie = write_cookie(&datadir)?;
    write_atomically(
        &datadir.join(PORT_FILE),
        format!("{}\n", local.port()).as_bytes(),
    )?;
    tracing::info!(addr = %local, datadir = %datadir.display(), "regtest RPC listening");

    let tracker = TaskTracker::new();
    let (jobs, mailbox) = mpsc::channel::<Job>(MAILBOX);
    let actor = tracker.spawn(chain_actor(
        regtest,
        mailbox,
        datadir.clone(),
        started,
        shutdown.clone(),
    ));
    let expected_auth = Arc::new(format!(
        "Basic {}",
        bitcoin::base64::engine::general_purpose::STANDARD.encode(cookie.as_bytes())
    ));

    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else { continue };
                let jobs = jobs.clone();
                let auth = expected_auth.clone();
                let stop = shutdown.clone();
                tracker.spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        handle_http(req, jobs.clone(), auth.clone())
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        () = stop.cancelled() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    drop(jobs);
    tracker.close();
    tracker.wait().await;
    let result = actor.await.unwrap_or(Ok(()));
    let _ = std::fs::remove_file(datadir.join(COOKIE_FILE));
    let _ = std::fs::remove_file(datadir.join(PORT_FILE));
    result
}

/// The chain actor: owns the chain, answers requests one at a time, saves the mempool when
/// it ends.
async fn chain_actor(
    mut regtest: Regtest,
    mut mailbox: mpsc::Receiver<Job>,
    datadir: PathBuf,
    started: u64,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    loop {
        let job = tokio::select! {
            job = mailbox.recv() => job,
            () = shutdown.cancelled() => None,
        };
        let Some(job) = job else { break };
        let ctx = RpcContext {
            now: unix_now(),
            started,
            size_on_disk: std::fs::metadata(datadir.join(DATABASE_FILE)).map_or(0, |m| m.len()),
        };
        let reply = rpc::handle_body(&mut regtest, &job.body, &ctx);
        let stop = reply.stop;
        let _ = job.reply.send(reply);
        if stop {
            shutdown.cancel();
            break;
        }
    }
    regtest.save_mempool()?;
    Ok(())
}

/// One HTTP request: method and auth checks, then the chain actor.
async fn handle_http(
    req: Request<Incoming>,
    jobs: mpsc::Sender<Job>,
    expected_auth: Arc<String>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        return Ok(plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "JSONRPC server handles only POST requests",
        ));
    }
    let authorized = req
        .headers()
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected_auth.as_bytes());
    if !authorized {
        let mut response = plain(StatusCode::UNAUTHORIZED, "");
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"jsonrpc\""),
        );
        return Ok(response);
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::PAYLOAD_TOO_LARGE, "request too large")),
    };
    let (reply_tx, reply_rx) = oneshot::channel();
    if jobs
        .send(Job {
            body,
            reply: reply_tx,
        })
        .await
        .is_err()
    {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    }
    let Ok(reply) = reply_rx.await else {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Full::new(Bytes::from(reply.body.unwrap_or_default())));
    *response.status_mut() = status;
    if status != StatusCode::NO_CONTENT {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}

/// Writes a fresh `__cookie__:<secret>` file (mode 0600) and returns its content.
fn write_cookie(datadir: &Path) -> Result<String, ServerError> {
    let mut secret = [0u8; 32];
    thread_rng().fill_bytes(&mut secret);
    let cookie = format!("{COOKIE_USER}:{}", secret.to_lower_hex_string());
    write_atomically(&datadir.join(COOKIE_FILE), cookie.as_bytes())?;
    Ok(cookie)
}

/// Writes `path` through a temporary file and a rename, so readers never see half a file.
fn write_atomically(path: &Path, content: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o600);
        }
        let mut file = options
            .open(&tmp)
            .map_err(io_error(format!("write {}", tmp.display())))?;
        file.write_all(content)
            .map_err(io_error(format!("write {}", tmp.display())))?;
        file.sync_all()
            .map_err(io_error(format!("sync {}", tmp.display())))?;
    }
    std::fs::rename(&tmp, path).map_err(io_error(format!("rename to {}", path.display())))
}
