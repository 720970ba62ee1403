//! The running network of one scenario: the regtest chain process, one node process per
//! declared node, their control API clients, and the reads and actions the steps are made
//! of. It holds no scenario logic beyond "how to do X to a node".
//!
//! Layout of the run directory:
//!
//! ```text
//! RUN/report.json, RUN/report.html
//! RUN/logs/regtest.log, RUN/logs/NODE.log
//! RUN/chain/            petrel regtest --datadir
//! RUN/nodes/NODE/       petrel node --datadir
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use bitcoin::Address;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::observation::{ChannelView, EventView, Names, Need, Observation, PeerView, Read};
use super::process::Proc;
use super::report::{ProcessRecord, TimelineEvent};
use super::step::{NodeSpec, OpenSpec};
use super::ScenarioError;
use crate::chain::{BitcoindRpc, RpcAuth, RpcConfig};
use crate::rpc::{NodeAddresses, RpcClient};

/// How long a process may take to come up.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one control API or chain call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often conditions are polled.
pub(crate) const POLL: Duration = Duration::from_millis(50);
/// Blocks after which a coinbase may be spent (Core's `COINBASE_MATURITY`).
pub(crate) const COINBASE_MATURITY: u32 = 100;

/// A node of the run.
struct NodeProc {
    /// Its declaration.
    spec: NodeSpec,
    /// `RUN/nodes/NAME`.
    datadir: PathBuf,
    /// `RUN/logs/NAME.log`.
    log: PathBuf,
    /// The process, while it runs.
    proc: Option<Proc>,
    /// Its control API, once `node.json` appeared.
    client: Option<RpcClient>,
    /// The Lightning listener it bound (kept across restarts).
    listen: Option<String>,
}

/// The chain and nodes of one run.
pub struct Network {
    /// The `petrel` executable.
    exe: PathBuf,
    /// `RUN/chain`.
    chain_dir: PathBuf,
    /// `RUN/logs/regtest.log`.
    chain_log: PathBuf,
    /// The regtest process.
    chain: Option<Proc>,
    /// Its JSON-RPC URL, once bound.
    chain_url: Option<String>,
    /// Its JSON-RPC client, once bound.
    chain_rpc: Option<BitcoindRpc>,
    /// The nodes, in declaration order.
    nodes: Vec<NodeProc>,
    /// Every process started, restarts included.
    pub processes: Vec<ProcessRecord>,
    /// The ids behind the scenario's names.
    pub names: Names,
    /// How many history entries of each (node, channel id) the timeline has taken.
    seen_events: BTreeMap<(String, String), usize>,
}

fn io_error(what: String) -> impl FnOnce(std::io::Error) -> ScenarioError {
    move |source| ScenarioError::Io { what, source }
}

impl Network {
    /// A network with nothing started, laid out under `run_dir`.
    pub fn new(exe: PathBuf, run_dir: &Path, nodes: &[NodeSpec]) -> Result<Network, ScenarioError> {
        let logs = run_dir.join("logs");
        for dir in [&logs, &run_dir.join("chain"), &run_dir.join("nodes")] {
            std::fs::create_dir_all(dir)
                .map_err(io_error(format!("creating {}", dir.display())))?;
        }
        Ok(Network {
            exe,
            chain_dir: run_dir.join("chain"),
            chain_log: logs.join("regtest.log"),
            chain: None,
            chain_url: None,
            chain_rpc: None,
            nodes: nodes
                .iter()
                .map(|spec| NodeProc {
                    spec: spec.clone(),
                    datadir: run_dir.join("nodes").join(&spec.name),
                    log: logs.join(format!("{}.log", spec.name)),
                    proc: None,
                    client: None,
                    listen: None,
                })
                .collect(),
            processes: Vec::new(),
            names: Names::default(),
            seen_events: BTreeMap::new(),
        })
    }

    /// The chain's datadir, log and URL.
    pub fn chain_paths(&self) -> (&Path, &Path, Option<&str>) {
        (&self.chain_dir, &self.chain_log, self.chain_url.as_deref())
    }

    /// Each node's name, datadir, log and listener, in declaration order.
    pub fn node_paths(&self) -> impl Iterator<Item = (&str, &Path, &Path, Option<&str>)> {
        self.nodes.iter().map(|n| {
            (
                n.spec.name.as_str(),
                n.datadir.as_path(),
                n.log.as_path(),
                n.listen.as_deref(),
            )
        })
    }

    /// The log file of `regtest` or a node.
    pub fn log_of(&self, name: &str) -> Option<&Path> {
        if name == "regtest" {
            return Some(&self.chain_log);
        }
        self.nodes
            .iter()
            .find(|n| n.spec.name == name)
            .map(|n| n.log.as_path())
    }

    fn node(&self, name: &str) -> Result<&NodeProc, ScenarioError> {
        self.nodes
            .iter()
            .find(|n| n.spec.name == name)
            .ok_or_else(|| ScenarioError::Check(format!("no node `{name}`")))
    }

    fn node_mut(&mut self, name: &str) -> Result<&mut NodeProc, ScenarioError> {
        self.nodes
            .iter_mut()
            .find(|n| n.spec.name == name)
            .ok_or_else(|| ScenarioError::Check(format!("no node `{name}`")))
    }

    /// Starts `petrel regtest` on a free port and waits until it serves.
    pub async fn start_chain(&mut self, step: usize) -> Result<(), ScenarioError> {
        let port_file = self.chain_dir.join("rpc.port");
        let _ = std::fs::remove_file(&port_file);
        let mut command = Command::new(&self.exe);
        command
            .arg("--datadir")
            .arg(&self.chain_dir)
            .args(["regtest", "--rpc-bind", "127.0.0.1:0"])
            .env("NO_COLOR", "1");
        let proc = Proc::spawn(command, &self.chain_log).map_err(|e| ScenarioError::Start {
            name: "regtest".into(),
            reason: format!("cannot run {}: {e}", self.exe.display()),
        })?;
        self.processes.push(ProcessRecord {
            name: "regtest".into(),
            pid: proc.pid(),
            step,
        });
        let proc = self.chain.insert(proc);
        let cookie = self.chain_dir.join(".cookie");
        let port: u16 = wait_for_file(proc, "regtest", || {
            if !cookie.exists() {
                return None;
            }
            std::fs::read_to_string(&port_file)
                .ok()?
                .trim()
                .parse()
                .ok()
        })
        .await?;
        let url = format!("http://127.0.0.1:{port}");
        let rpc = BitcoindRpc::new(RpcConfig::new(url.clone(), RpcAuth::CookieFile(cookie)))
            .map_err(|e| ScenarioError::Start {
                name: "regtest".into(),
                reason: e.to_string(),
            })?;
        self.chain_url = Some(url);
        self.chain_rpc = Some(rpc);
        Ok(())
    }

    /// Starts the node `name` (listening on `listen`, or a free port) and waits until its
    /// control API answers.
    pub async fn start_node(
        &mut self,
        name: &str,
        listen: Option<&str>,
        step: usize,
    ) -> Result<(), ScenarioError> {
        let exe = self.exe.clone();
        let chain_url = self
            .chain_url
            .clone()
            .ok_or_else(|| ScenarioError::Check("the chain is not running".into()))?;
        let cookie = self.chain_dir.join(".cookie");
        let node = self.node_mut(name)?;
        std::fs::create_dir_all(&node.datadir)
            .map_err(io_error(format!("creating {}", node.datadir.display())))?;
        let settings = node.spec.settings.to_toml();
        if !settings.is_empty() {
            let path = node.datadir.join(crate::node::config::CONFIG_FILE);
            std::fs::write(&path, settings)
                .map_err(io_error(format!("writing {}", path.display())))?;
        }
        let addresses = node.datadir.join(crate::rpc::ADDRESSES_FILE);
        let _ = std::fs::remove_file(&addresses);
        let mut command = Command::new(&exe);
        command
            .arg("--datadir")
            .arg(&node.datadir)
            .args(["node", "--listen", listen.unwrap_or("127.0.0.1:0")])
            .args(["--rpc-bind", "127.0.0.1:0", "--chain-rpc", &chain_url])
            .arg("--chain-cookie")
            .arg(&cookie)
            .env("NO_COLOR", "1");
        if node.spec.settings.chain_poll_ms.is_none() {
            command.args(["--chain-poll-ms", "20"]);
        }
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "petrel=debug");
        }
        let proc = Proc::spawn(command, &node.log).map_err(|e| ScenarioError::Start {
            name: name.into(),
            reason: format!("cannot run {}: {e}", exe.display()),
        })?;
        let pid = proc.pid();
        let proc = node.proc.insert(proc);
        let datadir = node.datadir.clone();
        let found = wait_for_file(proc, name, || NodeAddresses::read(&datadir).ok()).await;
        self.processes.push(ProcessRecord {
            name: name.into(),
            pid,
            step,
        });
        let found = found?;
        let client = RpcClient::from_datadir(&datadir).map_err(|e| ScenarioError::Start {
            name: name.into(),
            reason: e.to_string(),
        })?;
        let node = self.node_mut(name)?;
        node.client = Some(client);
        node.listen = Some(found.listen);
        self.names.node_ids.insert(name.into(), found.node_id);
        Ok(())
    }

    /// Calls a control API verb of node `name`, allowing it [`CALL_TIMEOUT`].
    pub async fn call(
        &self,
        name: &str,
        method: &str,
        params: Value,
    ) -> Result<Value, ScenarioError> {
        self.call_within(name, method, params, CALL_TIMEOUT).await
    }

    /// Calls a control API verb of node `name`, allowing it `limit` (longer than the
    /// verb's own timeout for verbs that wait, such as `pay`). Calls may overlap: each is
    /// its own request.
    pub async fn call_within(
        &self,
        name: &str,
        method: &str,
        params: Value,
        limit: Duration,
    ) -> Result<Value, ScenarioError> {
        let rpc_error = |error: String| ScenarioError::Rpc {
            node: name.into(),
            method: method.into(),
            error,
        };
        let client = self
            .node(name)?
            .client
            .as_ref()
            .ok_or_else(|| rpc_error("the node is not running".into()))?;
        match tokio::time::timeout(limit, client.call(method, params)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(rpc_error(e.to_string())),
            Err(_) => Err(rpc_error(format!("no answer in {}s", limit.as_secs()))),
        }
    }

    pub(crate) async fn call_as<T: DeserializeOwned>(
        &self,
        name: &str,
        method: &str,
        params: Value,
    ) -> Read<T> {
        let value = self
            .call(name, method, params)
            .await
            .map_err(|e| e.to_string())?;
        serde_json::from_value(value).map_err(|e| format!("`{method}` answer: {e}"))
    }

    /// Calls the regtest chain.
    pub async fn chain_call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &[Value],
    ) -> Result<T, ScenarioError> {
        let chain_error = |error: String| ScenarioError::Chain {
            method: method.into(),
            error,
        };
        let rpc = self
            .chain_rpc
            .as_ref()
            .ok_or_else(|| chain_error("the chain is not running".into()))?;
        rpc.call(method, params)
            .await
            .map_err(|e| chain_error(e.to_string()))
    }

    /// The chain's height.
    pub async fn height(&self) -> Result<u64, ScenarioError> {
        self.chain_call("getblockcount", &[]).await
    }

    /// Mines `n` blocks to an address no wallet watches and waits until every running node
    /// has seen the new tip; returns it.
    pub async fn mine(&self, n: u32) -> Result<u64, ScenarioError> {
        // P2WSH of OP_TRUE: nobody's wallet.
        let nobody = Address::p2wsh(
            &bitcoin::ScriptBuf::from(vec![0x51]),
            bitcoin::Network::Regtest,
        );
        let _: Vec<String> = self
            .chain_call("generatetoaddress", &[json!(n), json!(nobody.to_string())])
            .await?;
        let tip = self.height().await?;
        self.wait_synced(tip).await?;
        Ok(tip)
    }

    /// Polls every running node's `getinfo` until its height reaches `tip`.
    async fn wait_synced(&self, tip: u64) -> Result<(), ScenarioError> {
        let start = Instant::now();
        for node in self.nodes.iter().filter(|n| n.client.is_some()) {
            let name = &node.spec.name;
            loop {
                let info = self.call(name, "getinfo", json!({})).await;
                let height = info.as_ref().ok().and_then(|i| i["block_height"].as_u64());
                if height.is_some_and(|h| h >= tip) {
                    break;
                }
                if start.elapsed() > START_TIMEOUT {
                    return Err(ScenarioError::Timeout {
                        secs: START_TIMEOUT.as_secs(),
                        last: format!("{name} at height {height:?}, chain at {tip}"),
                    });
                }
                tokio::time::sleep(POLL).await;
            }
        }
        Ok(())
    }

    /// `connect` from `from` to `to`'s listener.
    pub async fn connect(&self, from: &str, to: &str) -> Result<(), ScenarioError> {
        let target = {
            let node = self.node(to)?;
            let id = self.names.node_ids.get(to);
            match (id, &node.listen) {
                (Some(id), Some(listen)) => format!("{id}@{listen}"),
                _ => {
                    return Err(ScenarioError::Check(format!("{to} is not running")));
                }
            }
        };
        self.call(from, "connect", json!({ "target": target }))
            .await?;
        Ok(())
    }

    /// Opens every channel of `specs` at once and learns their ids. Returns one line per
    /// channel, or every failure.
    pub async fn open(&mut self, specs: &[OpenSpec]) -> Result<String, ScenarioError> {
        let calls = specs.iter().map(|spec| {
            let peer = self
                .names
                .node_ids
                .get(&spec.to)
                .cloned()
                .unwrap_or_default();
            let params = json!({
                "node_id": peer,
                "amount_sat": spec.sat,
                "push_msat": spec.push_msat,
                "min_depth": spec.min_depth,
            });
            self.call(&spec.from, "open", params)
        });
        let answers = futures_util::future::join_all(calls).await;
        let mut lines = Vec::new();
        let mut failures = Vec::new();
        for (spec, answer) in specs.iter().zip(answers) {
            match answer {
                Ok(v) => {
                    let id = v["channel_id"].as_str().unwrap_or_default().to_string();
                    let txid = v["funding_txid"].as_str().unwrap_or_default();
                    lines.push(format!(
                        "{} funding {}…",
                        spec.name,
                        txid.get(..16).unwrap_or(txid)
                    ));
                    self.names.channel_ids.insert(spec.name.clone(), id);
                    self.names
                        .channel_ends
                        .insert(spec.name.clone(), (spec.from.clone(), spec.to.clone()));
                }
                Err(e) => failures.push(format!("{}: {e}", spec.name)),
            }
        }
        if failures.is_empty() {
            Ok(lines.join("; "))
        } else {
            Err(ScenarioError::Check(failures.join("\n")))
        }
    }

    /// Asks `by` to close `channel` with the `close` verb: a cooperative close answers once
    /// `shutdown` is sent, a force close once the commitment is broadcast.
    pub async fn close(
        &self,
        channel: &str,
        by: &str,
        force: bool,
        feerate: Option<u32>,
    ) -> Result<String, ScenarioError> {
        let id = self.channel_id(channel)?;
        let params = json!({ "channel_id": id, "force": force, "feerate_per_kw": feerate });
        let answer = self.call(by, "close", params).await?;
        Ok(match answer["commitment_txid"].as_str() {
            Some(txid) => format!(
                "{by} broadcast its commitment {}…",
                txid.get(..16).unwrap_or(txid)
            ),
            None => format!("{by} sent shutdown"),
        })
    }

    /// `node` drops its connection to `peer`; done when `node` no longer lists it as
    /// connected (the verb removes it before answering, so this is checked at once).
    pub async fn disconnect(&self, node: &str, peer: &str) -> Result<(), ScenarioError> {
        let peer_id = self
            .names
            .node_ids
            .get(peer)
            .cloned()
            .ok_or_else(|| ScenarioError::Check(format!("{peer} never started")))?;
        self.call(node, "disconnect", json!({ "node_id": peer_id }))
            .await?;
        let peers: Vec<PeerView> = self
            .call_as(node, "peers", json!({}))
            .await
            .map_err(ScenarioError::Check)?;
        if peers.iter().any(|p| p.node_id == peer_id && p.connected) {
            return Err(ScenarioError::Check(format!(
                "{node} still lists {peer} as connected after `disconnect`"
            )));
        }
        Ok(())
    }

    fn channel_id(&self, channel: &str) -> Result<String, ScenarioError> {
        self.names
            .channel_ids
            .get(channel)
            .cloned()
            .ok_or_else(|| ScenarioError::Check(format!("{channel} was never opened")))
    }

    /// Stops node `name` (the `stop` verb, or SIGKILL) and starts it again on the same
    /// datadir and Lightning port: its peers redial the address they stored.
    pub async fn restart(
        &mut self,
        name: &str,
        kill: bool,
        step: usize,
    ) -> Result<String, ScenarioError> {
        let node = self.node(name)?;
        // The port to keep, as the node itself wrote it before going down.
        let listen = NodeAddresses::read(&node.datadir)
            .map(|a| a.listen)
            .ok()
            .or_else(|| node.listen.clone())
            .ok_or_else(|| ScenarioError::Check(format!("{name} never started")))?;
        let old_pid = node.proc.as_ref().map(Proc::pid);
        // The answer to `stop` may be lost as the node shuts its API down; its exit is what
        // counts.
        let stop_answer = if kill {
            None
        } else {
            Some(self.call(name, "stop", json!({})).await)
        };
        let node = self.node_mut(name)?;
        node.client = None;
        if let Some(mut proc) = node.proc.take() {
            if kill {
                proc.kill();
            } else if !proc.wait_exit(STOP_TIMEOUT).await {
                proc.kill();
                let answer = match stop_answer {
                    Some(Err(e)) => format!(" ({e})"),
                    _ => String::new(),
                };
                return Err(ScenarioError::Check(format!(
                    "{name} did not exit within {}s of `stop`{answer}; killed it",
                    STOP_TIMEOUT.as_secs()
                )));
            }
        }
        self.start_node(name, Some(&listen), step).await?;
        let new_pid = self.node(name)?.proc.as_ref().map(Proc::pid);
        let how = if kill { "killed (SIGKILL)" } else { "stopped" };
        Ok(format!(
            "{name} {how} (pid {}) and started again (pid {}) on {listen}",
            old_pid.map_or("-".into(), |p| p.to_string()),
            new_pid.map_or("-".into(), |p| p.to_string())
        ))
    }

    /// Reads what `needs` asks for.
    pub async fn observe(&self, needs: &[Need]) -> Observation {
        let mut needs = needs.to_vec();
        needs.sort();
        needs.dedup();
        let mut seen = Observation::default();
        for need in needs {
            match need {
                Need::Channels(n) => {
                    let read = self.call_as(&n, "channels", json!({})).await;
                    seen.channels.insert(n, read);
                }
                Need::Wallet(n) => {
                    let read = self.call_as(&n, "balance", json!({})).await;
                    seen.wallets.insert(n, read);
                }
                Need::Peers(n) => {
                    let read = self.call_as(&n, "peers", json!({})).await;
                    seen.peers.insert(n, read);
                }
                Need::Payments(n) => {
                    let read = self.call_as(&n, "payments", json!({})).await;
                    seen.payments.insert(n, read);
                }
                Need::Invoices(n) => {
                    let read = self.call_as(&n, "invoices", json!({})).await;
                    seen.invoices.insert(n, read);
                }
                Need::Mempool => {
                    let read = self
                        .chain_call("getrawmempool", &[])
                        .await
                        .map_err(|e| e.to_string());
                    seen.mempool = Some(read);
                }
                Need::History(n, channel) => {
                    // Keyed by channel id; a never-opened channel is the check's to report.
                    if let Some(id) = self.names.channel_ids.get(&channel) {
                        let read = self
                            .call_as(&n, "history", json!({ "channel_id": id }))
                            .await;
                        seen.histories.insert((n, id.clone()), read);
                    }
                }
            }
        }
        seen
    }

    /// Reads everything from every running node: channels, wallets, peers, and the history
    /// of every channel each node lists.
    pub async fn observe_all(&self) -> Observation {
        let mut needs = Vec::new();
        for node in self.nodes.iter().filter(|n| n.client.is_some()) {
            let n = node.spec.name.clone();
            needs.extend([
                Need::Channels(n.clone()),
                Need::Wallet(n.clone()),
                Need::Peers(n),
            ]);
        }
        let mut seen = self.observe(&needs).await;
        let lists: Vec<(String, Vec<ChannelView>)> = seen
            .channels
            .iter()
            .filter_map(|(n, list)| Some((n.clone(), list.as_ref().ok()?.clone())))
            .collect();
        for (node, list) in lists {
            for channel in list {
                let read: Read<Vec<EventView>> = self
                    .call_as(
                        &node,
                        "history",
                        json!({ "channel_id": channel.channel_id }),
                    )
                    .await;
                seen.histories
                    .insert((node.clone(), channel.channel_id), read);
            }
        }
        seen
    }

    /// The history entries in `seen` that no earlier call returned, as timeline events of
    /// `step`.
    pub fn new_events(&mut self, seen: &Observation, step: usize) -> Vec<TimelineEvent> {
        let mut out = Vec::new();
        for ((node, channel_id), read) in &seen.histories {
            let Ok(events) = read else { continue };
            let taken = self
                .seen_events
                .entry((node.clone(), channel_id.clone()))
                .or_default();
            let channel = self.names.channel_name(channel_id).map_or_else(
                || format!("ch-{}", channel_id.chars().take(8).collect::<String>()),
                str::to_string,
            );
            for e in events.iter().skip(*taken) {
                out.push(TimelineEvent {
                    step,
                    node: node.clone(),
                    channel: channel.clone(),
                    event: e.event.clone(),
                    time: e.time,
                    height: e.height,
                    details: e.details.clone(),
                });
            }
            *taken = (*taken).max(events.len());
        }
        out.sort_by_key(|e| (e.time, e.height));
        out
    }

    /// Which nodes' processes run now, by name.
    pub fn up(&mut self) -> BTreeMap<String, bool> {
        self.nodes
            .iter_mut()
            .map(|n| {
                let up = n.proc.as_mut().is_some_and(Proc::running);
                (n.spec.name.clone(), up)
            })
            .collect()
    }

    /// An error if a process that should run has exited by itself (a crash the steps did
    /// not ask for).
    pub fn check_alive(&mut self) -> Result<(), ScenarioError> {
        let mut procs: Vec<(&str, &mut Proc)> = Vec::new();
        if let Some(p) = self.chain.as_mut() {
            procs.push(("regtest", p));
        }
        for n in &mut self.nodes {
            if let Some(p) = n.proc.as_mut() {
                procs.push((n.spec.name.as_str(), p));
            }
        }
        for (name, proc) in procs {
            if let Some(status) = proc.exited() {
                return Err(ScenarioError::Exited {
                    name: name.to_string(),
                    status: status.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Stops everything gracefully (`stop` to each node, then to the chain), SIGKILLing
    /// whatever has not exited within the stop timeout.
    pub async fn shutdown(&mut self) {
        for i in 0..self.nodes.len() {
            let name = self.nodes[i].spec.name.clone();
            if self.nodes[i].proc.is_some() {
                let _ = tokio::time::timeout(
                    Duration::from_secs(2),
                    self.call(&name, "stop", json!({})),
                )
                .await;
            }
        }
        for node in &mut self.nodes {
            node.client = None;
            if let Some(mut proc) = node.proc.take() {
                if !proc.wait_exit(STOP_TIMEOUT).await {
                    proc.kill();
                }
            }
        }
        if self.chain.is_some() {
            let stop: Result<Value, _> = self.chain_call("stop", &[]).await;
            if let Some(mut proc) = self.chain.take() {
                if stop.is_err() || !proc.wait_exit(STOP_TIMEOUT).await {
                    proc.kill();
                }
            }
        }
        self.chain_rpc = None;
    }

    /// SIGKILLs every process now.
    pub fn kill_all(&mut self) {
        for node in &mut self.nodes {
            node.client = None;
            if let Some(mut p) = node.proc.take() {
                p.kill();
            }
        }
        if let Some(mut p) = self.chain.take() {
            p.kill();
        }
        self.chain_rpc = None;
    }
}

/// Polls `read` until it gives a value, failing early if `proc` exits and after
/// [`START_TIMEOUT`].
async fn wait_for_file<T>(
    proc: &mut Proc,
    name: &str,
    mut read: impl FnMut() -> Option<T>,
) -> Result<T, ScenarioError> {
    let start = Instant::now();
    loop {
        if let Some(v) = read() {
            return Ok(v);
        }
        if let Some(status) = proc.exited() {
            return Err(ScenarioError::Exited {
                name: name.into(),
                status: status.to_string(),
            });
        }
        if start.elapsed() > START_TIMEOUT {
            return Err(ScenarioError::Start {
                name: name.into(),
                reason: format!("did not come up within {}s", START_TIMEOUT.as_secs()),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
