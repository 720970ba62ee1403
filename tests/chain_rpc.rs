//! `BitcoindRpc` over real HTTP on loopback: bitcoind's wire format (JSON-RPC 1.0 requests,
//! Basic auth from the cookie, error objects behind HTTP 500/404, bare 401s), keep-alive,
//! timeouts and hostile answers; then the whole conformance suite through the client against
//! a stand-in server backed by the in-memory chain.
#![allow(clippy::disallowed_methods)] // tests spawn servers and read clocks freely

mod chain_support;

use std::time::Duration;

use bitcoin::consensus::encode::serialize_hex;
use bitcoin::hashes::Hash as _;
use bitcoin::BlockHash;
use chain_support::mem_chain::MemChain;
use chain_support::rpc_chain::RpcChain;
use chain_support::rpc_server::{scripted, RpcServer};
use chain_support::{mine, suite};
use petrel::chain::{
    rpc_code, BitcoindRpc, ChainError, ChainSource, NotifierConfig, RpcAuth, RpcConfig,
};
use petrel::units::BlockHeight;
use serde_json::{json, Value};
use tokio::net::TcpListener;

fn client(url: &str, auth: RpcAuth) -> BitcoindRpc {
    BitcoindRpc::new(RpcConfig::new(url, auth)).unwrap()
}

async fn cookie_client() -> (RpcServer, BitcoindRpc) {
    let server = RpcServer::start(MemChain::new()).await;
    let rpc = client(&server.url, RpcAuth::CookieFile(server.cookie.clone()));
    (server, rpc)
}

fn config() -> NotifierConfig {
    NotifierConfig {
        poll_interval: Duration::from_millis(20),
        ..NotifierConfig::regtest()
    }
}

#[tokio::test]
async fn requests_are_json_rpc_1_0_with_positional_params() {
    let (server, rpc) = cookie_client().await;
    mine(&server.chain, 1).await;
    let tip = rpc.best_block().await.unwrap();
    rpc.block(tip.hash).await.unwrap().unwrap();
    rpc.raw_transaction(bitcoin::Txid::all_zeros())
        .await
        .unwrap();
    rpc.block_hash(BlockHeight(1)).await.unwrap();
    rpc.estimate_fee(6).await.unwrap();
    let requests = server.requests();
    let shapes: Vec<(String, Value)> = requests
        .iter()
        .map(|r| {
            assert_eq!(r["jsonrpc"], "1.0");
            assert!(r["id"].is_u64());
            (
                r["method"].as_str().unwrap().to_owned(),
                r["params"].clone(),
            )
        })
        .collect();
    let hash = tip.hash.to_string();
    assert_eq!(
        shapes,
        vec![
            ("getbestblockhash".into(), json!([])),
            ("getblockheader".into(), json!([hash, true])),
            ("getblock".into(), json!([hash, 0])),
            (
                "getrawtransaction".into(),
                json!([bitcoin::Txid::all_zeros().to_string(), false])
            ),
            ("getblockhash".into(), json!([1])),
            ("estimatesmartfee".into(), json!([6])),
        ]
    );
    let ids: Vec<u64> = requests.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "fresh id per request: {ids:?}"
    );
}

#[tokio::test]
async fn sequential_calls_reuse_one_keep_alive_connection() {
    let (server, rpc) = cookie_client().await;
    for _ in 0..20 {
        rpc.best_block_hash().await.unwrap();
    }
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn cookie_is_reread_when_the_server_restarts_with_a_new_one() {
    let (server, rpc) = cookie_client().await;
    rpc.best_block_hash().await.unwrap();
    server.rewrite_cookie();
    rpc.best_block_hash().await.unwrap();
    assert_eq!(
        server.requests().len(),
        2,
        "the refused attempt never reached dispatch"
    );
}

#[tokio::test]
async fn wrong_credentials_are_a_401() {
    let server = RpcServer::start(MemChain::new()).await;
    let rpc = client(
        &server.url,
        RpcAuth::UserPass {
            user: "__cookie__".into(),
            password: "wrong".into(),
        },
    );
    let error = rpc.best_block_hash().await.unwrap_err();
    assert!(
        matches!(error, ChainError::HttpStatus { status: 401 }),
        "{error}"
    );
    // A user/password client reads no file; a cookie client whose file vanished says so.
    let missing = client(
        &server.url,
        RpcAuth::CookieFile(server.cookie.with_extension("gone")),
    );
    assert!(matches!(
        missing.best_block_hash().await,
        Err(ChainError::CookieRead { .. })
    ));
    // With the right user/password it works.
    let secret = std::fs::read_to_string(&server.cookie).unwrap();
    let (user, password) = secret.split_once(':').unwrap();
    let rpc = client(
        &server.url,
        RpcAuth::UserPass {
            user: user.into(),
            password: password.into(),
        },
    );
    rpc.best_block_hash().await.unwrap();
}

#[tokio::test]
async fn rpc_errors_keep_their_code_and_message() {
    let (_server, rpc) = cookie_client().await;
    let error = rpc.call::<Value>("nosuchmethod", &[]).await.unwrap_err();
    assert_eq!(
        error.rpc_code(),
        Some(rpc_code::METHOD_NOT_FOUND),
        "{error}"
    );
    let error = rpc
        .call::<Value>("sendrawtransaction", &[json!("00")])
        .await
        .unwrap_err();
    let ChainError::Rpc { code, message } = error else {
        panic!("{error}");
    };
    assert_eq!(code, rpc_code::DESERIALIZATION_ERROR);
    assert_eq!(message, "TX decode failed");
}

#[tokio::test]
async fn not_found_is_none_not_an_error() {
    let (server, rpc) = cookie_client().await;
    mine(&server.chain, 2).await;
    assert_eq!(rpc.block_hash(BlockHeight(3)).await.unwrap(), None);
    assert!(rpc.block_hash(BlockHeight(2)).await.unwrap().is_some());
    let unknown = BlockHash::from_byte_array([7; 32]);
    assert_eq!(rpc.block(unknown).await.unwrap(), None);
    assert_eq!(rpc.block_info(unknown).await.unwrap(), None);
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        // Accept and never answer.
        let (socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(socket);
    });
    let mut config = RpcConfig::new(
        url,
        RpcAuth::UserPass {
            user: "u".into(),
            password: "p".into(),
        },
    );
    config.timeout = Duration::from_millis(200);
    let rpc = BitcoindRpc::new(config).unwrap();
    let error = rpc.best_block_hash().await.unwrap_err();
    assert!(
        matches!(&error, ChainError::Timeout { method } if method == "getbestblockhash"),
        "{error}"
    );
    hold.abort();
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let rpc = client(
        &url,
        RpcAuth::UserPass {
            user: "u".into(),
            password: "p".into(),
        },
    );
    assert!(matches!(
        rpc.best_block_hash().await,
        Err(ChainError::Http(_))
    ));
}

#[tokio::test]
async fn hostile_answers_are_errors_not_panics() {
    let auth = RpcAuth::UserPass {
        user: "u".into(),
        password: "p".into(),
    };
    // Not JSON, with a success status.
    let (url, _guard) = scripted(|_| (200, b"<html>hello</html>".to_vec())).await;
    assert!(matches!(
        client(&url, auth.clone()).best_block_hash().await,
        Err(ChainError::Json(_))
    ));
    // Not JSON, with an error status: the status is what is reported.
    let (url, _guard) = scripted(|_| (503, b"Work queue depth exceeded".to_vec())).await;
    assert!(matches!(
        client(&url, auth.clone()).best_block_hash().await,
        Err(ChainError::HttpStatus { status: 503 })
    ));
    // JSON of the wrong type.
    let (url, _guard) = scripted(|_| (200, br#"{"result":42,"error":null,"id":1}"#.to_vec())).await;
    assert!(matches!(
        client(&url, auth.clone()).best_block_hash().await,
        Err(ChainError::Json(_))
    ));
    // Bad hex and truncated consensus bytes for a block.
    let (url, _guard) =
        scripted(|_| (200, br#"{"result":"zz","error":null,"id":1}"#.to_vec())).await;
    let hash = BlockHash::from_byte_array([1; 32]);
    assert!(matches!(
        client(&url, auth.clone()).block(hash).await,
        Err(ChainError::Hex(_))
    ));
    let (url, _guard) =
        scripted(|_| (200, br#"{"result":"0100","error":null,"id":1}"#.to_vec())).await;
    assert!(matches!(
        client(&url, auth.clone()).block(hash).await,
        Err(ChainError::Consensus(_))
    ));
    // A well-formed block, but not the one asked for.
    let chain = MemChain::new();
    let genesis = serialize_hex(&*chain.block_at_height(0));
    let (url, _guard) = scripted(move |_| {
        (
            200,
            json!({"result": genesis, "error": null, "id": 1})
                .to_string()
                .into_bytes(),
        )
    })
    .await;
    assert!(matches!(
        client(&url, auth.clone()).block(hash).await,
        Err(ChainError::Mismatch { what: "block" })
    ));
    // An endless body is cut off instead of filling memory.
    let (url, _guard) = scripted(|_| (200, vec![b' '; 33 * 1024 * 1024])).await;
    assert!(matches!(
        client(&url, auth).best_block_hash().await,
        Err(ChainError::ResponseTooLarge { .. })
    ));
}

#[tokio::test]
async fn estimatesmartfee_without_data_is_none_and_with_data_is_a_feerate() {
    let (url, _guard) = scripted(|request| {
        let reply = if request["params"][0] == 2 {
            json!({"result": {"feerate": 0.000_123_45, "blocks": 2}, "error": null, "id": 1})
        } else {
            json!({"result": {"errors": ["Insufficient data or no feerate found"], "blocks": 0}, "error": null, "id": 1})
        };
        (200, reply.to_string().into_bytes())
    })
    .await;
    let rpc = client(
        &url,
        RpcAuth::UserPass {
            user: "u".into(),
            password: "p".into(),
        },
    );
    assert_eq!(rpc.estimate_fee(6).await.unwrap(), None);
    // 12,345 sat/kvB = 3,086.25 sat/kwu, rounded up.
    assert_eq!(
        rpc.estimate_fee(2).await.unwrap(),
        Some(bitcoin::FeeRate::from_sat_per_kwu(3087))
    );
}

/// The stand-in server with a cookie client, as a suite backend.
async fn backend() -> (RpcServer, RpcChain) {
    let (server, rpc) = cookie_client().await;
    (server, RpcChain { rpc })
}

#[tokio::test]
async fn suite_source_answers_like_bitcoind() {
    let (_server, chain) = backend().await;
    suite::source_answers_like_bitcoind(&chain).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_1_block_reorg() {
    let (_server, chain) = backend().await;
    suite::confirmations_follow_reorgs(&chain, config(), 1).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_2_block_reorg() {
    let (_server, chain) = backend().await;
    suite::confirmations_follow_reorgs(&chain, config(), 2).await;
}

#[tokio::test]
async fn suite_confirmations_follow_a_6_block_reorg() {
    let (_server, chain) = backend().await;
    suite::confirmations_follow_reorgs(&chain, config(), 6).await;
}

#[tokio::test]
async fn suite_spends_follow_a_6_block_reorg() {
    let (_server, chain) = backend().await;
    suite::spends_follow_reorgs(&chain, config(), 6).await;
}

#[tokio::test]
async fn suite_blocks_stream_with_replay() {
    let (_server, chain) = backend().await;
    suite::blocks_stream_with_replay(&chain, config()).await;
}

#[tokio::test]
async fn suite_height_hints_find_history() {
    let (_server, chain) = backend().await;
    suite::height_hints_find_history(&chain, config()).await;
}

#[tokio::test]
async fn suite_many_subscribers_and_dropped_ones() {
    let (_server, chain) = backend().await;
    suite::many_subscribers_and_dropped_ones(&chain, config()).await;
}
