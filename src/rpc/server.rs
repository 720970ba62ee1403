//! The HTTP side of the control API: accept, authenticate, parse, dispatch, answer.
#![allow(clippy::disallowed_methods)] // an actor shell: it owns sockets and spawns tasks

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Cookie, RpcError, RpcHandler};

/// Largest request body accepted; control requests are tiny.
const MAX_BODY: usize = 64 * 1024;

/// A running control API server.
pub struct RpcServer {
    /// The address it really bound (useful with port 0).
    pub local_addr: SocketAddr,
}

/// How long a connection may take to finish its request in flight once the node stops.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Binds `addr` and serves requests until `stop` is cancelled. Connections run on `tasks`,
/// so the node can wait for them at shutdown.
pub async fn serve(
    addr: SocketAddr,
    cookie: Cookie,
    handler: Arc<dyn RpcHandler>,
    tasks: TaskTracker,
    stop: CancellationToken,
) -> std::io::Result<RpcServer> {
    let listener = TcpListener::bind(addr).await?;
    let local_addr = listener.local_addr()?;
    let cookie = Arc::new(cookie);
    let inner_tasks = tasks.clone();
    tasks.spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                () = stop.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!("rpc accept failed: {e}");
                        continue;
                    }
                },
            };
            let cookie = Arc::clone(&cookie);
            let handler = Arc::clone(&handler);
            let stop = stop.clone();
            inner_tasks.spawn(async move {
                let service = service_fn(move |req| {
                    let cookie = Arc::clone(&cookie);
                    let handler = Arc::clone(&handler);
                    async move { Ok::<_, std::convert::Infallible>(answer(req, &cookie, handler).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                tokio::select! {
                    result = conn.as_mut() => {
                        if let Err(e) = result {
                            tracing::debug!("rpc connection ended: {e}");
                        }
                    }
                    () = stop.cancelled() => {
                        // Finish the request in flight (the `stop` call's own answer among
                        // them), then close: graceful shutdown needs the connection polled.
                        conn.as_mut().graceful_shutdown();
                        let drained = tokio::time::timeout(SHUTDOWN_GRACE, conn.as_mut()).await;
                        if let Ok(Err(e)) = drained {
                            tracing::debug!("rpc connection ended: {e}");
                        }
                    }
                }
            });
        }
    });
    Ok(RpcServer { local_addr })
}

fn reply(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error_reply(e: &RpcError) -> Response<Full<Bytes>> {
    reply(
        e.status(),
        &json!({"error": {"code": e.code(), "message": e.to_string()}}),
    )
}

async fn answer(
    req: Request<Incoming>,
    cookie: &Cookie,
    handler: Arc<dyn RpcHandler>,
) -> Response<Full<Bytes>> {
    let auth = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !cookie.matches(auth) {
        return error_reply(&RpcError::Unauthorized);
    }
    if req.method() != Method::POST {
        return error_reply(&RpcError::InvalidParams("use POST".into()));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => return error_reply(&RpcError::InvalidParams(format!("body: {e}"))),
    };
    let request: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error_reply(&RpcError::InvalidParams(format!("not JSON: {e}"))),
    };
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return error_reply(&RpcError::InvalidParams("missing `method`".into()));
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => json!({}),
        Some(p @ Value::Object(_)) => p.clone(),
        Some(_) => {
            return error_reply(&RpcError::InvalidParams(
                "`params` must be an object".into(),
            ))
        }
    };
    match handler.handle(method.to_string(), params).await {
        Ok(result) => reply(200, &json!({ "result": result })),
        Err(e) => error_reply(&e),
    }
}
