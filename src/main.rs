//! The `petrel` command: a thin clap front over the library.
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use petrel::regtest::server::{self, ServerConfig};
use petrel::regtest::{FeeRate, MempoolOptions, RegtestConfig};
use tokio_util::sync::CancellationToken;

/// Petrel, a Lightning Network node.
#[derive(Parser)]
#[command(name = "petrel", version, about)]
struct Cli {
    /// What to run.
    #[command(subcommand)]
    command: Command,
}

/// Petrel's subcommands.
#[derive(Subcommand)]
enum Command {
    /// Run the embedded regtest chain with a bitcoind-compatible JSON-RPC server on loopback.
    ///
    /// The chain is kept in DATADIR/regtest.redb; a restart with the same --datadir continues
    /// it. Clients authenticate with the cookie DATADIR/.cookie (`__cookie__:SECRET`, as
    /// bitcoind writes it); the port actually bound is written to DATADIR/rpc.port.
    Regtest(RegtestArgs),
    /// Decode BOLT 1/2 messages given as hex (type + payload) and print each as one JSON line.
    ///
    /// With `-`, reads one hex message per line from standard input. Bad input prints an error
    /// naming the message, the field and the reason, and the exit status is 1.
    DecodeMsg {
        /// The message in hex (an optional 0x prefix and spaces are allowed), or `-` for stdin.
        hex: String,
    },
}

/// Flags of `petrel regtest`.
#[derive(clap::Args)]
struct RegtestArgs {
    /// Data directory: chain database, `.cookie` and `rpc.port` files.
    #[arg(long, value_name = "DIR")]
    datadir: PathBuf,
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
    match cli.command {
        Command::Regtest(args) => run_regtest(args).map(|()| ExitCode::SUCCESS),
        Command::DecodeMsg { hex } => decode_msg(&hex),
    }
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

fn run_regtest(args: RegtestArgs) -> anyhow::Result<()> {
    init_logging();
    let config = ServerConfig {
        datadir: args.datadir,
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
