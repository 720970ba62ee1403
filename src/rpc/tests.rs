//! The control API over real loopback HTTP, with a stand-in handler.

use std::sync::Arc;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;

struct Echo;

impl RpcHandler for Echo {
    fn handle(&self, method: String, params: Value) -> BoxFuture<'_, Result<Value, RpcError>> {
        Box::pin(async move {
            match method.as_str() {
                "echo" => Ok(params),
                "need" => {
                    let n: u64 = param(&params, "n")?;
                    Ok(json!({ "n": n }))
                }
                "fail" => Err(RpcError::Failed("no route".into())),
                other => Err(RpcError::UnknownMethod(other.into())),
            }
        })
    }
}

async fn start(cookie: Cookie) -> (RpcServer, CancellationToken, TaskTracker) {
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let server = serve(
        "127.0.0.1:0".parse().unwrap(),
        cookie,
        Arc::new(Echo),
        tasks.clone(),
        stop.clone(),
    )
    .await
    .unwrap();
    (server, stop, tasks)
}

#[tokio::test]
async fn calls_results_and_errors() {
    let cookie = Cookie::generate();
    let (server, stop, tasks) = start(cookie.clone()).await;
    let client = RpcClient::new(&server.local_addr.to_string(), cookie);
    assert_eq!(
        client.call("echo", json!({"a": 1})).await.unwrap(),
        json!({"a": 1})
    );
    assert_eq!(
        client.call("need", json!({"n": 7})).await.unwrap(),
        json!({"n": 7})
    );
    assert!(matches!(
        client.call("need", json!({})).await,
        Err(RpcError::InvalidParams(m)) if m.contains("`n`")
    ));
    assert!(matches!(
        client.call("need", json!({"n": "x"})).await,
        Err(RpcError::InvalidParams(_))
    ));
    assert_eq!(
        client.call("fail", json!({})).await,
        Err(RpcError::Failed("no route".into()))
    );
    assert!(matches!(
        client.call("nope", json!({})).await,
        Err(RpcError::UnknownMethod(_))
    ));
    stop.cancel();
    tasks.close();
    tasks.wait().await;
}

#[tokio::test]
async fn requests_without_the_cookie_are_refused() {
    let (server, stop, tasks) = start(Cookie::generate()).await;
    let wrong = RpcClient::new(&server.local_addr.to_string(), Cookie::generate());
    assert_eq!(
        wrong.call("echo", json!({})).await,
        Err(RpcError::Unauthorized)
    );
    stop.cancel();
    tasks.close();
    tasks.wait().await;
}

#[test]
fn client_finds_the_node_through_the_datadir() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        RpcClient::from_datadir(dir.path()),
        Err(RpcError::NodeNotFound { .. })
    ));
    let addresses = NodeAddresses {
        node_id: "02aa".into(),
        listen: "127.0.0.1:1".into(),
        rpc: "127.0.0.1:2".into(),
    };
    addresses.write(dir.path()).unwrap();
    assert_eq!(NodeAddresses::read(dir.path()).unwrap(), addresses);
    Cookie::generate()
        .write(&dir.path().join(COOKIE_FILE))
        .unwrap();
    assert!(RpcClient::from_datadir(dir.path()).is_ok());
}

/// Stops the server from inside a request, as the node's `stop` method does.
struct Stopper(CancellationToken);

impl RpcHandler for Stopper {
    fn handle(&self, _method: String, _params: Value) -> BoxFuture<'_, Result<Value, RpcError>> {
        Box::pin(async move {
            self.0.cancel();
            // The node answers after its actor saw the cancellation: the server notices the
            // stop while this request is still in flight.
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            Ok(json!({ "stopping": true }))
        })
    }
}

#[tokio::test]
async fn a_request_that_stops_the_server_still_gets_its_answer() {
    let cookie = Cookie::generate();
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();
    let server = serve(
        "127.0.0.1:0".parse().unwrap(),
        cookie.clone(),
        Arc::new(Stopper(stop.clone())),
        tasks.clone(),
        stop.clone(),
    )
    .await
    .unwrap();
    let client = RpcClient::new(&server.local_addr.to_string(), cookie);
    assert_eq!(
        client.call("stop", json!({})).await.unwrap(),
        json!({ "stopping": true })
    );
    tasks.close();
    tasks.wait().await;
}
