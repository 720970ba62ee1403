//! Opens many channels between two real nodes and reports the time until all are ready on
//! both sides (`cargo bench --bench open_many`; `PETREL_BENCH_CHANNELS` sets how many, 1,000
//! by default).
//!
//! Set-up (not timed): `petrel regtest`, two `petrel node`s, one mature coinbase per channel
//! mined to A (the wallet funds each open from a confirmed coin), the nodes connected. Timed:
//! every `open` sent at once through the control API, each answered once its funding is
//! stored and broadcast; then blocks are mined as the funding transactions arrive, until every
//! channel is `ready` on A and on B.
#![allow(clippy::disallowed_methods)] // a benchmark reads the clock by definition

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use petrel::chain::{BitcoindRpc, RpcAuth, RpcConfig};
use petrel::rpc::RpcClient;
use serde_json::{json, Value};

struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_file(path: &Path) -> String {
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return text;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn node(dir: &Path, chain_url: &str, cookie: &Path, n: usize) -> (Guard, RpcClient, Value) {
    std::fs::create_dir_all(dir).unwrap();
    let log = std::fs::File::create(dir.join("node.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .arg("--datadir")
        .arg(dir)
        .args([
            "node",
            "--listen",
            "127.0.0.1:0",
            "--rpc-bind",
            "127.0.0.1:0",
            "--chain-rpc",
            chain_url,
        ])
        .arg("--chain-cookie")
        .arg(cookie)
        .args(["--chain-poll-ms", "20"])
        .args([
            "--max-pending-per-peer",
            &n.to_string(),
            "--max-pending-total",
            &n.to_string(),
        ])
        .env("RUST_LOG", "petrel=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("petrel node");
    let info: Value = serde_json::from_str(&wait_file(&dir.join("node.json"))).unwrap();
    (Guard(child), RpcClient::from_datadir(dir).unwrap(), info)
}

async fn ready_count(client: &RpcClient, ids: &[String]) -> usize {
    let channels = client.call("channels", json!({})).await.unwrap();
    channels
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["state"] == "ready" && ids.iter().any(|id| c["channel_id"] == id.as_str()))
        .count()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let n: usize = std::env::var("PETREL_BENCH_CHANNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let tmp = tempfile::tempdir().unwrap();
    let root: PathBuf = tmp.path().into();
    let rt = tokio::runtime::Runtime::new().unwrap();

    let chain_dir = root.join("chain");
    std::fs::create_dir_all(&chain_dir).unwrap();
    let _chain = Guard(
        Command::new(env!("CARGO_BIN_EXE_petrel"))
            .arg("--datadir")
            .arg(&chain_dir)
            .args(["regtest", "--rpc-bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let port = wait_file(&chain_dir.join("rpc.port"));
    let url = format!("http://127.0.0.1:{}", port.trim());
    let cookie = chain_dir.join(".cookie");
    let chain = BitcoindRpc::new(RpcConfig::new(
        url.clone(),
        RpcAuth::CookieFile(cookie.clone()),
    ))
    .unwrap();
    let (_a, a, _) = node(&root.join("a"), &url, &cookie, n);
    let (_b, b, b_info) = node(&root.join("b"), &url, &cookie, n);

    rt.block_on(async {
        let mine = |count: u32, address: String| {
            let chain = chain.clone();
            async move {
                let _: Value = chain
                    .call("generatetoaddress", &[json!(count), json!(address)])
                    .await
                    .unwrap();
            }
        };
        let address = a.call("newaddress", json!({})).await.unwrap()["address"]
            .as_str()
            .unwrap()
            .to_string();
        let burn = bitcoin::Address::p2wsh(&bitcoin::ScriptBuf::from(vec![0x51]), bitcoin::Network::Regtest).to_string();
        mine(u32::try_from(n).unwrap(), address).await;
        mine(100, burn.clone()).await;
        loop {
            let balance = a.call("balance", json!({})).await.unwrap();
            if balance["immature_sat"] == 0 && balance["confirmed_sat"].as_u64().unwrap() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let target = format!("{}@{}", b_info["node_id"].as_str().unwrap(), b_info["listen"].as_str().unwrap());
        a.call("connect", json!({ "target": target })).await.unwrap();
        let b_id = b_info["node_id"].as_str().unwrap().to_string();

        eprintln!("opening {n} channels...");
        let start = Instant::now();
        let opens = (0..n).map(|_| {
            let a = &a;
            let b_id = b_id.clone();
            async move {
                a.call("open", json!({ "node_id": b_id, "amount_sat": 100_000 })).await
            }
        });
        let results = futures_util::future::join_all(opens).await;
        let ids: Vec<String> = results
            .into_iter()
            .map(|r| r.expect("open")["channel_id"].as_str().unwrap().to_string())
            .collect();
        let opened = start.elapsed();
        eprintln!("all {n} opens answered in {opened:.2?}");
        let mut blocks = 0;
        loop {
            mine(1, burn.clone()).await;
            blocks += 1;
            let (on_a, on_b) = (ready_count(&a, &ids).await, ready_count(&b, &ids).await);
            if on_a == n && on_b == n {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(600), "stuck at {on_a}/{on_b} ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let total = start.elapsed();
        println!(
            "open_many: {n} channels: opens answered in {opened:.2?}; all ready on both sides in {total:.2?} ({blocks} blocks mined)"
        );
    });
}
