//! The `petrel` command: a thin clap front over the library.
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Petrel, a Lightning Network node.
#[derive(Parser)]
#[command(name = "petrel", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode BOLT 1/2 messages given as hex (type + payload) and print each as one JSON line.
    ///
    /// With `-`, reads one hex message per line from standard input. Bad input prints an error
    /// naming the message, the field and the reason, and the exit status is 1.
    DecodeMsg {
        /// The message in hex (an optional 0x prefix and spaces are allowed), or `-` for stdin.
        hex: String,
    },
}

fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::DecodeMsg { hex } => decode_msg(&hex),
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
