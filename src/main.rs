//! The `petrel` command: a thin clap front over the library.
use clap::Parser;

/// Petrel, a Lightning Network node.
#[derive(Parser)]
#[command(name = "petrel", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
