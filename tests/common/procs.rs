//! Real processes for integration tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use petrel::chain::{BitcoindRpc, RpcAuth, RpcConfig};
use serde_json::{json, Value};

use super::{wait_for_blocking, DEADLINE};

/// A running `petrel regtest`, killed when dropped.
pub struct RegtestProcess {
    child: Option<Child>,
    /// Its data directory.
    pub datadir: PathBuf,
    /// The JSON-RPC port it bound.
    pub port: u16,
    _tmp: Option<tempfile::TempDir>,
}

impl RegtestProcess {
    /// Starts `petrel regtest` in a fresh temporary directory.
    pub fn start() -> RegtestProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut p = RegtestProcess::start_in(tmp.path());
        p._tmp = Some(tmp);
        p
    }

    /// Starts (or restarts) `petrel regtest` on `datadir`.
    pub fn start_in(datadir: &Path) -> RegtestProcess {
        let _ = std::fs::remove_file(datadir.join("rpc.port"));
        let log = std::fs::File::create(datadir.join("regtest.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_petrel"))
            .args(["regtest", "--datadir"])
            .arg(datadir)
            .args(["--rpc-bind", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn petrel regtest");
        let port_file = datadir.join("rpc.port");
        let port = wait_for_blocking("petrel regtest to bind", DEADLINE, || {
            std::fs::read_to_string(&port_file)
                .ok()?
                .trim()
                .parse()
                .ok()
        });
        RegtestProcess {
            child: Some(child),
            datadir: datadir.to_owned(),
            port,
            _tmp: None,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The cookie file.
    pub fn cookie(&self) -> PathBuf {
        self.datadir.join(".cookie")
    }

    /// A JSON-RPC client (the code under test).
    pub fn rpc(&self) -> BitcoindRpc {
        BitcoindRpc::new(RpcConfig::new(
            self.url(),
            RpcAuth::CookieFile(self.cookie()),
        ))
        .expect("rpc client")
    }

    /// Mines `n` blocks to `address`.
    pub async fn mine_to(&self, n: u32, address: &str) -> Vec<String> {
        self.rpc()
            .call("generatetoaddress", &[json!(n), json!(address)])
            .await
            .expect("generatetoaddress")
    }

    /// Mines `n` blocks to a throwaway address.
    pub async fn mine(&self, n: u32) -> Vec<String> {
        // P2WSH of `OP_TRUE`: no test wallet watches it.
        let address = bitcoin::Address::p2wsh(
            &bitcoin::ScriptBuf::from(vec![0x51]),
            bitcoin::Network::Regtest,
        );
        self.mine_to(n, &address.to_string()).await
    }

    /// `getblockcount`.
    pub async fn height(&self) -> u64 {
        let v: Value = self
            .rpc()
            .call("getblockcount", &[])
            .await
            .expect("getblockcount");
        v.as_u64().expect("height")
    }

    /// Kills the process (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RegtestProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
