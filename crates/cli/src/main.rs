//! `netlens`: the command-line front end. Thin: every command parses its
//! arguments, calls the library crates and prints; no analysis logic lives
//! here.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Network traffic analysis with machine learning.
#[derive(Parser, Debug)]
#[command(name = "netlens", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand; each wraps the `Args` of its module in `cmd`.
#[derive(Subcommand, Debug)]
enum Command {
    // Register new subcommands here (one line each) and in `run` below.
    /// Forecast a time series CSV: backtest models, capacity check, chart.
    Forecast(cmd::forecast::Args),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // One arm per subcommand.
        Command::Forecast(a) => cmd::forecast::run(a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (e.g. `netlens flows x.pcap | head`) is not a failure.
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("netlens: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
