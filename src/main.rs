//! The `petrel` command: a thin clap front over the library.
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use petrel::node::{FileConfig, NodeConfig};
use petrel::regtest::server::{self, ServerConfig};
use petrel::regtest::{FeeRate, MempoolOptions, RegtestConfig};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// Petrel, a Lightning Network node.
#[derive(Parser)]
#[command(name = "petrel", version, about)]
struct Cli {
    /// Data directory: of the node (`petrel node`, and the node the client verbs talk to) or
    /// of the regtest chain (`petrel regtest`).
    #[arg(long, global = true, value_name = "DIR")]
    datadir: Option<PathBuf>,
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

/// Petrel's subcommands.
#[derive(Subcommand)]
enum Command {
    /// Run a Lightning node (settings also read from DATADIR/petrel.toml; flags win).
    ///
    /// Writes DATADIR/node.json with the addresses it really bound (port 0 lets the OS
    /// choose) and DATADIR/rpc.cookie, which the client verbs use.
    Node(NodeArgs),
    /// Show the node's id, addresses, chain height and counts.
    Getinfo,
    /// A fresh on-chain receiving address.
    Newaddress,
    /// On-chain balance: confirmed, unconfirmed, locked in pending opens, immature.
    Balance,
    /// Connect to a peer.
    Connect {
        /// NODEID@HOST:PORT
        target: String,
    },
    /// Peers: connected now, or known from earlier outbound connections.
    Peers,
    /// Drop the connection to a peer (its channels stay; they reestablish on reconnection).
    Disconnect {
        /// The peer's node id.
        node_id: String,
    },
    /// Open a channel to a connected peer, funded from the on-chain wallet.
    Open {
        /// The peer's node id.
        node_id: String,
        /// Channel capacity in satoshis.
        amount_sat: u64,
        /// Millisatoshis given to the peer at opening.
        #[arg(long)]
        push_msat: Option<u64>,
        /// Confirmations to wait for before the channel is usable (at least the peer's
        /// minimum_depth).
        #[arg(long)]
        min_depth: Option<u32>,
    },
    /// List channels.
    Channels,
    /// Close a channel: cooperatively (shutdown + closing_signed), or with --force by
    /// broadcasting our latest commitment transaction.
    Close {
        /// The channel id.
        channel_id: String,
        /// Broadcast our commitment instead of negotiating with the peer.
        #[arg(long)]
        force: bool,
        /// The closing transaction's feerate in sat per 1000 weight (default: the chain's
        /// estimate).
        #[arg(long, value_name = "SAT_PER_KW")]
        feerate: Option<u32>,
    },
    /// As funder, move a channel's commitment feerate (`update_fee`, then both commitments
    /// are signed again at the new rate).
    Updatefee {
        /// The channel id.
        channel_id: String,
        /// The new feerate in sat per 1000 weight (default: the chain's estimate).
        #[arg(long, value_name = "SAT_PER_KW")]
        feerate: Option<u32>,
    },
    /// Offer a raw HTLC to the channel's peer (a testing verb until payments exist: with no
    /// onion, the peer cannot read it and fails it back).
    Addhtlc {
        /// The channel id.
        channel_id: String,
        /// The amount in millisatoshis.
        amount_msat: u64,
        /// The payment hash, 64 hex digits.
        payment_hash: String,
        /// The absolute block height at which it expires.
        cltv_expiry: u32,
        /// The onion routing packet in hex (1366 bytes); default: random bytes.
        #[arg(long)]
        onion: Option<String>,
    },
    /// Make a BOLT 11 invoice: prints bolt11, payment_hash, payment_secret, expires_at.
    Invoice {
        /// The amount in millisatoshis, or `any` for an invoice without an amount.
        amount_msat: String,
        /// What it is for.
        #[arg(long)]
        description: Option<String>,
        /// Seconds until it expires (default 3600).
        #[arg(long, value_name = "SECS")]
        expiry: Option<u64>,
    },
    /// Print every field of a BOLT 11 invoice.
    Decodeinvoice {
        /// The invoice.
        bolt11: String,
    },
    /// Pay a BOLT 11 invoice and wait for the outcome (exit status 1 unless it succeeded).
    Pay {
        /// The invoice.
        bolt11: String,
        /// The amount, for an invoice without one.
        #[arg(long)]
        amount_msat: Option<u64>,
        /// Seconds to wait for the outcome (default 60); the payment goes on after it.
        #[arg(long)]
        timeout_secs: Option<u64>,
    },
    /// Send a spontaneous payment (keysend) and wait for the outcome (exit status 1 unless
    /// it succeeded).
    Keysend {
        /// The payee's node id.
        node_id: String,
        /// The amount in millisatoshis.
        amount_msat: u64,
        /// Seconds to wait for the outcome (default 60).
        #[arg(long)]
        timeout_secs: Option<u64>,
    },
    /// Payments sent, newest first.
    Payments,
    /// Invoices issued and keysend payments received, newest first.
    Invoices,
    /// Give up a pending channel whose funding will never confirm.
    Abandon {
        /// The channel id.
        channel_id: String,
    },
    /// Print a channel's event log.
    History {
        /// The channel id.
        channel_id: String,
    },
    /// Stop the node.
    Stop,
    /// Run the embedded regtest chain with a bitcoind-compatible JSON-RPC server on loopback.
    ///
    /// The chain is kept in DATADIR/regtest.redb; a restart with the same --datadir continues
    /// it. Clients authenticate with the cookie DATADIR/.cookie (`__cookie__:SECRET`, as
    /// bitcoind writes it); the port actually bound is written to DATADIR/rpc.port.
    Regtest(RegtestArgs),
    /// Scripted multi-node regtest scenarios: run one, list the bundled ones, check a file.
    #[command(subcommand)]
    Scenario(ScenarioCommand),
    /// Decode BOLT 1/2 messages given as hex (type + payload) and print each as one JSON line.
    ///
    /// With `-`, reads one hex message per line from standard input. Bad input prints an error
    /// naming the message, the field and the reason, and the exit status is 1.
    DecodeMsg {
        /// The message in hex (an optional 0x prefix and spaces are allowed), or `-` for stdin.
        hex: String,
    },
}

/// `petrel scenario ...`.
#[derive(Subcommand)]
enum ScenarioCommand {
    /// Run a scenario against real processes on a fresh regtest chain.
    ///
    /// Starts `petrel regtest` and one `petrel node` per declared node in a fresh run
    /// directory (OS-chosen ports), runs the steps in order with one progress line each,
    /// stops every process it started (on success, failure or Ctrl-C), and writes
    /// RUN/report.html and RUN/report.json. Exit status: 0 passed, 1 a step failed, 2 the
    /// file is invalid (nothing was started), 130 interrupted.
    Run {
        /// The scenario file (scenarios/*.toml), or the name of a bundled scenario.
        file: String,
        /// Keep the chain's and nodes' datadirs (printed at the end).
        #[arg(long)]
        keep: bool,
        /// Print the report as JSON on standard output (progress stays on standard error).
        #[arg(long)]
        json: bool,
        /// The run directory to use (absent or empty) instead of a fresh temporary one.
        #[arg(long, value_name = "DIR")]
        run_dir: Option<PathBuf>,
    },
    /// List the bundled scenarios with their descriptions.
    List,
    /// Validate a scenario file and print its steps, without running anything.
    Check {
        /// The scenario file, or the name of a bundled scenario.
        file: String,
    },
}

/// Flags of `petrel node` (each may also be set in DATADIR/petrel.toml, same name).
#[derive(clap::Args)]
struct NodeArgs {
    /// `regtest` (default), `testnet`, `signet` or `bitcoin`.
    #[arg(long)]
    network: Option<String>,
    /// Lightning listener, HOST:PORT (default 127.0.0.1:9735; port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// Control API, HOST:PORT on loopback (default 127.0.0.1:9736).
    #[arg(long, value_name = "ADDR:PORT")]
    rpc_bind: Option<String>,
    /// The chain backend's JSON-RPC URL: `petrel regtest` or bitcoind
    /// (e.g. http://127.0.0.1:18443).
    #[arg(long, value_name = "URL")]
    chain_rpc: Option<String>,
    /// The chain backend's cookie file (`petrel regtest`'s DATADIR/.cookie, or bitcoind's).
    #[arg(long, value_name = "PATH")]
    chain_cookie: Option<PathBuf>,
    /// Milliseconds between polls of the chain backend.
    #[arg(long, value_name = "MS")]
    chain_poll_ms: Option<u64>,
    /// The minimum_depth we ask of channels opened to us.
    #[arg(long)]
    minimum_depth: Option<u32>,
    /// The most channel opens pending with one peer.
    #[arg(long)]
    max_pending_per_peer: Option<usize>,
    /// The most channel opens pending in total.
    #[arg(long)]
    max_pending_total: Option<usize>,
    /// Blocks a sweep may stay unconfirmed before it is replaced with a higher fee (RBF).
    #[arg(long)]
    sweep_rbf_blocks: Option<u32>,
}

/// Flags of `petrel regtest` (with the global --datadir: chain database, `.cookie` and
/// `rpc.port` files).
#[derive(clap::Args)]
struct RegtestArgs {
    /// Loopback address and port of the JSON-RPC server (port 0 picks a free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:18443")]
    rpc_bind: SocketAddr,
    /// Minimum relay fee in sat/kvB (Bitcoin Core v31's -minrelaytxfee default: 100, i.e.
    /// 0.1 sat/vB; use 1000 for the classic 1 sat/vB).
    #[arg(long, value_name = "SAT_PER_KVB", default_value_t = FeeRate::DEFAULT_MIN_RELAY.0)]
    min_relay_fee: u64,
    /// Minimum fee-rate increase of a replacement in sat/kvB (-incrementalrelayfee).
    #[arg(long, value_name = "SAT_PER_KVB", default_value_t = FeeRate::DEFAULT_INCREMENTAL_RELAY.0)]
    incremental_relay_fee: u64,
    /// Make estimatesmartfee answer this fee rate in sat/kvB instead of "Insufficient data"
    /// (a fresh Bitcoin Core's answer).
    #[arg(long, value_name = "SAT_PER_KVB")]
    fee_estimate: Option<u64>,
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let datadir = cli.datadir;
    let need_datadir = || {
        datadir
            .clone()
            .ok_or_else(|| anyhow::anyhow!("--datadir is required"))
    };
    let call = |method: &str, params: serde_json::Value| client(need_datadir()?, method, params);
    let call_value =
        |method: &str, params: serde_json::Value| client_value(need_datadir()?, method, params);
    match cli.command {
        Command::Regtest(args) => run_regtest(need_datadir()?, args).map(|()| ExitCode::SUCCESS),
        Command::Node(args) => run_node(need_datadir()?, args).map(|()| ExitCode::SUCCESS),
        Command::DecodeMsg { hex } => decode_msg(&hex),
        Command::Scenario(command) => scenario(command),
        Command::Getinfo => call("getinfo", json!({})),
        Command::Newaddress => call("newaddress", json!({})),
        Command::Balance => call("balance", json!({})),
        Command::Connect { target } => call("connect", json!({ "target": target })),
        Command::Peers => call("peers", json!({})),
        Command::Disconnect { node_id } => call("disconnect", json!({ "node_id": node_id })),
        Command::Open {
            node_id,
            amount_sat,
            push_msat,
            min_depth,
        } => call(
            "open",
            json!({
                "node_id": node_id,
                "amount_sat": amount_sat,
                "push_msat": push_msat,
                "min_depth": min_depth,
            }),
        ),
        Command::Channels => call("channels", json!({})),
        Command::Close {
            channel_id,
            force,
            feerate,
        } => call(
            "close",
            json!({ "channel_id": channel_id, "force": force, "feerate_per_kw": feerate }),
        ),
        Command::Updatefee {
            channel_id,
            feerate,
        } => call(
            "updatefee",
            json!({ "channel_id": channel_id, "feerate_per_kw": feerate }),
        ),
        Command::Addhtlc {
            channel_id,
            amount_msat,
            payment_hash,
            cltv_expiry,
            onion,
        } => call(
            "addhtlc",
            json!({
                "channel_id": channel_id,
                "amount_msat": amount_msat,
                "payment_hash": payment_hash,
                "cltv_expiry": cltv_expiry,
                "onion": onion,
            }),
        ),
        Command::Invoice {
            amount_msat,
            description,
            expiry,
        } => call(
            "invoice",
            json!({ "amount_msat": amount_msat, "description": description, "expiry": expiry }),
        ),
        Command::Decodeinvoice { bolt11 } => call("decodeinvoice", json!({ "bolt11": bolt11 })),
        Command::Pay {
            bolt11,
            amount_msat,
            timeout_secs,
        } => payment_outcome(call_value(
            "pay",
            json!({ "bolt11": bolt11, "amount_msat": amount_msat, "timeout_secs": timeout_secs }),
        )),
        Command::Keysend {
            node_id,
            amount_msat,
            timeout_secs,
        } => payment_outcome(call_value(
            "keysend",
            json!({ "node_id": node_id, "amount_msat": amount_msat, "timeout_secs": timeout_secs }),
        )),
        Command::Payments => call("payments", json!({})),
        Command::Invoices => call("invoices", json!({})),
        Command::Abandon { channel_id } => call("abandon", json!({ "channel_id": channel_id })),
        Command::History { channel_id } => call("history", json!({ "channel_id": channel_id })),
        Command::Stop => call("stop", json!({})),
    }
}

/// `pay` and `keysend` exit with status 1 unless the payment succeeded.
fn payment_outcome(
    result: anyhow::Result<(ExitCode, Option<serde_json::Value>)>,
) -> anyhow::Result<ExitCode> {
    let (code, value) = result?;
    let succeeded = value.is_some_and(|v| v["status"] == "succeeded");
    Ok(if succeeded { code } else { ExitCode::from(1) })
}

/// Runs one control API call and prints its result as JSON; an error prints
/// `{"error": ...}` and exits with status 1.
fn client(datadir: PathBuf, method: &str, params: serde_json::Value) -> anyhow::Result<ExitCode> {
    client_value(datadir, method, params).map(|(code, _)| code)
}

/// [`client`], also handing back the answer.
fn client_value(
    datadir: PathBuf,
    method: &str,
    params: serde_json::Value,
) -> anyhow::Result<(ExitCode, Option<serde_json::Value>)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let client = petrel::rpc::RpcClient::from_datadir(&datadir)?;
        client.call(method, params).await
    });
    match result {
        // A closed stdout (`| head`) is not worth a panic.
        Ok(value) => {
            let _ = writeln!(io::stdout(), "{}", serde_json::to_string_pretty(&value)?);
            Ok((ExitCode::SUCCESS, Some(value)))
        }
        Err(e) => {
            let error = json!({ "error": e.to_string(), "code": e.code() });
            let _ = writeln!(io::stdout(), "{error}");
            Ok((ExitCode::from(1), None))
        }
    }
}

fn run_node(datadir: PathBuf, args: NodeArgs) -> anyhow::Result<()> {
    init_logging();
    let flags = FileConfig {
        network: args.network,
        listen: args.listen,
        rpc_bind: args.rpc_bind,
        chain_rpc: args.chain_rpc,
        chain_cookie: args.chain_cookie,
        chain_poll_ms: args.chain_poll_ms,
        minimum_depth: args.minimum_depth,
        max_pending_per_peer: args.max_pending_per_peer,
        max_pending_total: args.max_pending_total,
        reservation_timeout_secs: None,
        sweep_rbf_blocks: args.sweep_rbf_blocks,
    };
    std::fs::create_dir_all(&datadir)?;
    let file = FileConfig::load(&datadir)?;
    let config = NodeConfig::resolve(datadir, file.overridden_by(flags))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let stop = CancellationToken::new();
    cancel_on_signal(&runtime, stop.clone());
    runtime.block_on(petrel::node::run(config, stop))?;
    Ok(())
}

fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
}

/// Cancels `stop` on SIGINT or SIGTERM, so servers shut down cleanly.
fn cancel_on_signal(runtime: &tokio::runtime::Runtime, stop: CancellationToken) {
    runtime.spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let terminate = async {
            match term.as_mut() {
                Some(t) => {
                    t.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = terminate => {}
        }
        stop.cancel();
    });
}

fn run_regtest(datadir: PathBuf, args: RegtestArgs) -> anyhow::Result<()> {
    init_logging();
    let config = ServerConfig {
        datadir,
        bind: args.rpc_bind,
        regtest: RegtestConfig {
            mempool: MempoolOptions {
                min_relay: FeeRate(args.min_relay_fee),
                incremental_relay: FeeRate(args.incremental_relay_fee),
            },
            fee_estimate: args.fee_estimate.map(FeeRate),
        },
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let shutdown = CancellationToken::new();
    // SIGINT or SIGTERM stop the server cleanly (mempool saved, cookie removed).
    cancel_on_signal(&runtime, shutdown.clone());
    runtime.block_on(server::run(config, shutdown))?;
    Ok(())
}

fn scenario(command: ScenarioCommand) -> anyhow::Result<ExitCode> {
    use petrel::scenario::{self, Outcome, RunOptions};
    match command {
        ScenarioCommand::List => {
            let mut out = io::stdout().lock();
            for bundled in scenario::library::BUNDLED {
                let description = bundled
                    .scenario()
                    .map(|s| s.description)
                    .unwrap_or_else(|e| format!("(invalid: {e})"));
                let _ = writeln!(out, "{:<22}{description}", bundled.name);
            }
            let _ = writeln!(
                out,
                "\nRun one with `petrel scenario run scenarios/NAME.toml` (or just NAME)."
            );
            Ok(ExitCode::SUCCESS)
        }
        ScenarioCommand::Check { file } => match scenario::load(&file) {
            Ok(s) => {
                let mut out = io::stdout().lock();
                // A closed stdout (`| head`) is not worth an error.
                let _ = writeln!(
                    out,
                    "{file}: ok, {} nodes, {} steps",
                    s.nodes.len(),
                    s.steps.len()
                );
                for (i, step) in s.steps.iter().enumerate() {
                    let _ = writeln!(out, "  [{}] line {}: {}", i + 1, step.line, step.step);
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(2))
            }
        },
        ScenarioCommand::Run {
            file,
            keep,
            json,
            run_dir,
        } => {
            // Nothing starts before the whole file is valid.
            let parsed = match scenario::load(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(ExitCode::from(2));
                }
            };
            let options = RunOptions {
                exe: std::env::current_exe()?,
                file,
                keep,
                run_dir,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let stop = CancellationToken::new();
            cancel_on_signal(&runtime, stop.clone());
            let result = runtime.block_on(scenario::run(&parsed, &options, stop))?;
            if json {
                let _ = writeln!(
                    io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&result.report)?
                );
            }
            Ok(match result.report.outcome {
                Outcome::Passed => ExitCode::SUCCESS,
                Outcome::Failed => ExitCode::from(1),
                Outcome::Interrupted => ExitCode::from(130),
            })
        }
    }
}

fn decode_msg(arg: &str) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    let mut decode_line = |line: &str, label: Option<usize>| -> anyhow::Result<()> {
        match petrel::wire::decode_hex_message(line) {
            Ok(msg) => writeln!(out, "{}", msg.to_json())?,
            Err(e) => {
                failed = true;
                match label {
                    Some(n) => eprintln!("error: line {n}: {e}"),
                    None => eprintln!("error: {e}"),
                }
            }
        }
        Ok(())
    };
    if arg == "-" {
        for (i, line) in io::stdin().lock().lines().enumerate() {
            let line = line?;
            if !line.trim().is_empty() {
                decode_line(&line, Some(i + 1))?;
            }
        }
    } else {
        decode_line(arg, None)?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
