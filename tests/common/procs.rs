//! Real processes for integration tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::base64::engine::general_purpose::STANDARD as BASE64;
use bitcoin::base64::Engine as _;

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
    /// Starts a node in a fresh temporary directory against `chain` (`petrel regtest` or
    /// Bitcoin Core).
    pub fn start(chain: &impl ChainProcess, extra: &[&str]) -> NodeProcess {
        NodeProcess::start_crashing_at(chain, extra, None)
    }

    /// Starts a node that aborts at the crash point `crash_at` (`PETREL_CRASH_AT`); a restart
    /// runs without it.
    pub fn start_crashing_at(
        chain: &impl ChainProcess,
        extra: &[&str],
        crash_at: Option<&str>,
    ) -> NodeProcess {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut node = NodeProcess::spawn(
            tmp.path(),
            &ChainProcess::url(chain),
            &ChainProcess::cookie(chain),
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
        self.restart_crashing_at(None);
    }

    /// Kills and restarts the node, aborting at the crash point `crash_at` this time.
    pub fn restart_crashing_at(&mut self, crash_at: Option<&str>) {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let tmp = self._tmp.take();
        let mut again = NodeProcess::spawn(
            &self.datadir,
            &self.chain_url,
            &self.chain_cookie,
            &self.listen,
            &extra,
            crash_at,
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

/// The address blocks that pay nobody in particular go to: P2WSH of `OP_TRUE`, which no
/// test wallet watches, the same on every chain.
pub fn nobody() -> bitcoin::Address {
    bitcoin::Address::p2wsh(
        &bitcoin::ScriptBuf::from(vec![0x51]),
        bitcoin::Network::Regtest,
    )
}

/// A chain backend process that `petrel node --chain-rpc` can point at: `petrel regtest` or
/// Bitcoin Core.
pub trait ChainProcess {
    /// `http://127.0.0.1:PORT` of its JSON-RPC server.
    fn url(&self) -> String;

    /// Its cookie file.
    fn cookie(&self) -> PathBuf;

    /// A JSON-RPC client (the code under test).
    fn rpc(&self) -> BitcoindRpc {
        BitcoindRpc::new(RpcConfig::new(
            self.url(),
            RpcAuth::CookieFile(self.cookie()),
        ))
        .expect("rpc client")
    }

    /// Mines `n` blocks to `address`.
    #[allow(async_fn_in_trait)] // test support: never used across threads by name
    async fn mine_to(&self, n: u32, address: &str) -> Vec<String> {
        self.rpc()
            .call("generatetoaddress", &[json!(n), json!(address)])
            .await
            .expect("generatetoaddress")
    }

    /// Mines `n` blocks to [`nobody`].
    #[allow(async_fn_in_trait)]
    async fn mine(&self, n: u32) -> Vec<String> {
        ChainProcess::mine_to(self, n, &nobody().to_string()).await
    }
}

impl ChainProcess for RegtestProcess {
    fn url(&self) -> String {
        RegtestProcess::url(self)
    }

    fn cookie(&self) -> PathBuf {
        RegtestProcess::cookie(self)
    }
}

/// The environment variable naming the `bitcoind` binary the Bitcoin Core tests run
/// (`scripts/bitcoind.sh` builds one and prints its path; `.ci/run` exports it).
pub const BITCOIND_EXE: &str = "BITCOIND_EXE";

/// The `bitcoind` to test against, or `None` after telling the test log why the caller skips.
///
/// The notice is written straight to the process's stderr, past the test harness's output
/// capture, so a skip is never silent. Under CI (`CI` set to anything but `false`), a missing
/// `BITCOIND_EXE` fails the test instead: CI always builds Core. A set but unusable path
/// always fails.
pub fn bitcoind_exe(test: &str) -> Option<PathBuf> {
    match std::env::var_os(BITCOIND_EXE) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "{BITCOIND_EXE}={} is not a file (build one with scripts/bitcoind.sh)",
                path.display()
            );
            Some(path)
        }
        _ => {
            let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
            assert!(
                !ci,
                "{test}: {BITCOIND_EXE} is not set under CI; .ci/run must export it"
            );
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {BITCOIND_EXE} not set, so there is no Bitcoin Core to test \
                 against (run `export {BITCOIND_EXE}=$(scripts/bitcoind.sh)` first)"
            );
            None
        }
    }
}

/// A JSON-RPC call to Bitcoin Core that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreRpcError {
    /// Core answered with an error object.
    Rpc {
        /// Core's `RPCErrorCode`.
        code: i64,
        /// Its message.
        message: String,
    },
    /// No usable answer (connection refused, HTTP error without a JSON body, ...).
    Transport(String),
}

/// A running `bitcoind -regtest -server -txindex` in its own temporary datadir, on free
/// loopback ports. Dropping it stops it with the `stop` RPC, and kills it if it has not
/// exited within a deadline.
pub struct BitcoindProcess {
    child: Option<Child>,
    /// Its `-datadir` (the chain lives in `regtest/` under it).
    pub datadir: PathBuf,
    /// Its `-rpcport`.
    pub rpc_port: u16,
    _tmp: Option<tempfile::TempDir>,
}

/// A free loopback port: bind port 0 and close. Bitcoin Core cannot report the port it
/// bound, so the test chooses; a race with another process taking it in between is
/// retried by [`BitcoindProcess::start_with`].
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

impl BitcoindProcess {
    /// Starts Bitcoin Core as the issue prescribes (`-regtest -server -txindex
    /// -fallbackfee=0.0002`), or returns `None` (with a printed reason) when `BITCOIND_EXE`
    /// is not set.
    pub fn start(test: &str) -> Option<BitcoindProcess> {
        let exe = bitcoind_exe(test)?;
        Some(BitcoindProcess::start_with(&exe, &[]))
    }

    /// Starts `exe` in a fresh temporary datadir with extra arguments; waits until its RPC
    /// answers.
    pub fn start_with(exe: &Path, extra: &[&str]) -> BitcoindProcess {
        BitcoindProcess::spawn(exe, None, extra)
    }

    /// Starts (or restarts) `exe` on `datadir`, which the caller keeps.
    pub fn start_in(exe: &Path, datadir: &Path, extra: &[&str]) -> BitcoindProcess {
        BitcoindProcess::spawn(exe, Some(datadir), extra)
    }

    fn spawn(exe: &Path, datadir: Option<&Path>, extra: &[&str]) -> BitcoindProcess {
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let tmp = match datadir {
                Some(_) => None,
                None => Some(tempfile::tempdir().expect("tempdir")),
            };
            let datadir = datadir
                .map(Path::to_owned)
                .or_else(|| tmp.as_ref().map(|t| t.path().to_owned()))
                .expect("a datadir");
            let rpc_port = free_port();
            let stderr = std::fs::File::create(datadir.join("stderr.log")).expect("log file");
            let child = Command::new(exe)
                .arg(format!("-datadir={}", datadir.display()))
                .args([
                    "-regtest",
                    "-server",
                    "-txindex",
                    "-fallbackfee=0.0002",
                    "-listen=0",
                    "-connect=0",
                    "-dnsseed=0",
                    "-fixedseeds=0",
                    "-discover=0",
                    "-printtoconsole=0",
                    "-rpcbind=127.0.0.1",
                    "-rpcallowip=127.0.0.1",
                ])
                .arg(format!("-rpcport={rpc_port}"))
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
            let mut process = BitcoindProcess {
                child: Some(child),
                datadir,
                rpc_port,
                _tmp: tmp,
            };
            match process.wait_ready() {
                Ok(()) => return process,
                Err(error) => {
                    last_error = format!("{error}\n{}", process.log_tail());
                    process.kill();
                }
            }
        }
        panic!("bitcoind did not start: {last_error}");
    }

    /// Polls `getblockcount` until Core answers (it says -28 "warming up" while loading), the
    /// process exits, or the deadline passes.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("bitcoind exited during start-up: {status}"));
                }
            }
            match self.call("getblockcount", &[]) {
                Ok(_) => return Ok(()),
                Err(error) if start.elapsed() > DEADLINE => {
                    return Err(format!("no RPC answer within {DEADLINE:?}: {error:?}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// The cookie file Core writes at start (`<datadir>/regtest/.cookie`).
    pub fn cookie(&self) -> PathBuf {
        self.datadir.join("regtest").join(".cookie")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// A blocking JSON-RPC call over a fresh connection (usable outside a runtime and from
    /// `Drop`).
    pub fn call(&self, method: &str, params: &[Value]) -> Result<Value, CoreRpcError> {
        let transport = |e: std::io::Error| CoreRpcError::Transport(e.to_string());
        let credentials = std::fs::read_to_string(self.cookie()).map_err(transport)?;
        let body =
            json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.rpc_port)).map_err(transport)?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(transport)?;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Authorization: Basic {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            BASE64.encode(credentials.trim()),
            body.len()
        );
        stream.write_all(request.as_bytes()).map_err(transport)?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).map_err(transport)?;
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| CoreRpcError::Transport(format!("no HTTP response: {text:?}")))?;
        let reply: Value = serde_json::from_str(body).map_err(|_| {
            CoreRpcError::Transport(head.lines().next().unwrap_or_default().to_owned())
        })?;
        match reply.get("error") {
            Some(Value::Object(error)) => Err(CoreRpcError::Rpc {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            _ => Ok(reply.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// A blocking call that must succeed.
    pub fn ok(&self, method: &str, params: &[Value]) -> Value {
        self.call(method, params)
            .unwrap_or_else(|e| panic!("bitcoind {method} {params:?}: {e:?}"))
    }

    /// The version Core reports (`getnetworkinfo`'s `subversion`, e.g. `/Satoshi:31.99.0/`).
    pub fn subversion(&self) -> String {
        self.ok("getnetworkinfo", &[])["subversion"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The last lines of Core's `debug.log` and stderr, for failure messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for file in [
            self.datadir.join("stderr.log"),
            self.datadir.join("regtest").join("debug.log"),
        ] {
            let log = std::fs::read_to_string(&file).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            out.push_str(&format!("--- {} ---\n", file.display()));
            out.push_str(&lines[lines.len().saturating_sub(30)..].join("\n"));
            out.push('\n');
        }
        out
    }

    /// Stops Core: the `stop` RPC, then SIGKILL if it has not exited within the deadline.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) && self.call("stop", &[]).is_ok() {
            let start = Instant::now();
            while start.elapsed() < DEADLINE {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills Core with SIGKILL (no clean shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl ChainProcess for BitcoindProcess {
    fn url(&self) -> String {
        BitcoindProcess::url(self)
    }

    fn cookie(&self) -> PathBuf {
        BitcoindProcess::cookie(self)
    }
}

impl Drop for BitcoindProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
