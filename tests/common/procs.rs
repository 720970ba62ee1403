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

/// A running `petrel node`, killed when dropped.
pub struct NodeProcess {
    child: Option<Child>,
    /// Its data directory.
    pub datadir: PathBuf,
    /// The node id (hex).
    pub node_id: String,
    /// Its Lightning listener, `127.0.0.1:PORT`.
    pub listen: String,
    chain_url: String,
    chain_cookie: PathBuf,
    extra: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
}

impl NodeProcess {
    /// Starts a node in a fresh temporary directory against `chain`.
    pub fn start(chain: &RegtestProcess, extra: &[&str]) -> NodeProcess {
        NodeProcess::start_crashing_at(chain, extra, None)
    }

    /// Starts a node that aborts at the crash point `crash_at` (`PETREL_CRASH_AT`); a restart
    /// runs without it.
    pub fn start_crashing_at(
        chain: &RegtestProcess,
        extra: &[&str],
        crash_at: Option<&str>,
    ) -> NodeProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut node = NodeProcess::spawn(
            tmp.path(),
            &chain.url(),
            &chain.cookie(),
            "127.0.0.1:0",
            extra,
            crash_at,
        );
        node._tmp = Some(tmp);
        node
    }

    /// Starts (or restarts) a node on `datadir`, listening on `listen`.
    pub fn start_in(
        datadir: &Path,
        chain_url: &str,
        chain_cookie: &Path,
        listen: &str,
        extra: &[&str],
    ) -> NodeProcess {
        NodeProcess::spawn(datadir, chain_url, chain_cookie, listen, extra, None)
    }

    fn spawn(
        datadir: &Path,
        chain_url: &str,
        chain_cookie: &Path,
        listen: &str,
        extra: &[&str],
        crash_at: Option<&str>,
    ) -> NodeProcess {
        let _ = std::fs::remove_file(datadir.join("node.json"));
        std::fs::create_dir_all(datadir).expect("datadir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(datadir.join("node.log"))
            .expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_petrel"));
        if let Some(point) = crash_at {
            command.env("PETREL_CRASH_AT", point);
        }
        let child = command
            .arg("--datadir")
            .arg(datadir)
            .args([
                "node",
                "--listen",
                listen,
                "--rpc-bind",
                "127.0.0.1:0",
                "--chain-rpc",
                chain_url,
                "--chain-cookie",
            ])
            .arg(chain_cookie)
            .args(["--chain-poll-ms", "20"])
            .args(extra)
            .env("RUST_LOG", "petrel=debug")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn petrel node");
        let info: Value = wait_for_blocking("petrel node to start", DEADLINE, || {
            serde_json::from_slice(&std::fs::read(datadir.join("node.json")).ok()?).ok()
        });
        NodeProcess {
            child: Some(child),
            datadir: datadir.to_owned(),
            node_id: info["node_id"].as_str().expect("node_id").to_string(),
            listen: info["listen"].as_str().expect("listen").to_string(),
            chain_url: chain_url.to_string(),
            chain_cookie: chain_cookie.to_owned(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            _tmp: None,
        }
    }

    /// Runs a CLI verb against the node; returns (exit success, parsed JSON output).
    pub fn cli(&self, args: &[&str]) -> (bool, Value) {
        let out = Command::new(env!("CARGO_BIN_EXE_petrel"))
            .arg("--datadir")
            .arg(&self.datadir)
            .args(args)
            .output()
            .expect("run petrel client");
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "petrel {args:?}: not JSON ({e}): {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.success(), value)
    }

    /// Runs a CLI verb that must succeed.
    pub fn ok(&self, args: &[&str]) -> Value {
        let (ok, value) = self.cli(args);
        assert!(
            ok,
            "petrel {args:?} failed: {value}\n--- node log tail ---\n{}",
            self.log_tail()
        );
        value
    }

    /// A fresh wallet address.
    pub fn address(&self) -> String {
        self.ok(&["newaddress"])["address"]
            .as_str()
            .expect("address")
            .to_string()
    }

    /// `node_id@listen`.
    pub fn target(&self) -> String {
        format!("{}@{}", self.node_id, self.listen)
    }

    /// The last lines of the node's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.datadir.join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Waits for the process to exit by itself (a crash point); returns whether it did.
    pub fn wait_exit(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        let exited = wait_for_blocking("the node to exit", DEADLINE, || match child.try_wait() {
            Ok(Some(_)) => Some(true),
            Ok(None) => None,
            Err(_) => Some(false),
        });
        self.child = None;
        exited
    }

    /// Kills the node with SIGKILL (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills and restarts the node on the same datadir and listening port.
    pub fn restart(&mut self) {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let tmp = self._tmp.take();
        let mut again = NodeProcess::start_in(
            &self.datadir,
            &self.chain_url,
            &self.chain_cookie,
            &self.listen,
            &extra,
        );
        // Take the child over, so dropping `again` kills nothing.
        self.child = again.child.take();
        self._tmp = tmp;
    }

    /// Channels as the node lists them.
    pub fn channels(&self) -> Vec<Value> {
        self.ok(&["channels"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
