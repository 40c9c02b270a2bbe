//! `netlens label`: attach labels to a flow table by rules (docs/labelling.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;
use netlens_detect::rules::RuleSet;
use netlens_ml::table::{CsvOptions, Table};

/// Label the flows of a netlens flow table (CSV or Parquet) by rules:
/// time windows, addresses/CIDR prefixes, ports and protocol, optionally in
/// either direction. First matching rule wins; the rest get the default label.
#[derive(Parser, Debug)]
#[command(
    after_help = "Example:\n  netlens flows day.pcap -o flows.csv\n  netlens label flows.csv --rules rules.toml -o labelled.csv\n\nRule file format: docs/labelling.md"
)]
pub struct Args {
    /// Flow table written by `netlens flows` (CSV or Parquet).
    pub flows: PathBuf,
    /// Rule file (TOML).
    #[arg(long)]
    pub rules: PathBuf,
    /// Output table (`-` = stdout; `.gz` names are gzip-compressed).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Output format (default from the extension, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<super::predict::OutFormat>,
    /// No per-rule counts on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let rules = RuleSet::load(&a.rules)?;
    let mut table = Table::from_path(&a.flows, &CsvOptions::default())
        .with_context(|| format!("reading {}", a.flows.display()))?;
    let report = rules.apply(&mut table)?;
    super::predict::write_table(&table, std::path::Path::new(&a.output), a.format)
        .with_context(|| format!("writing {}", a.output))?;
    if !a.quiet {
        for (name, label, n) in &report.per_rule {
            eprintln!("netlens: rule '{name}' -> {label}: {n} flows");
        }
        eprintln!(
            "netlens: {} flows unmatched -> {}{}",
            report.unmatched,
            rules.default_label,
            if report.unreadable > 0 {
                format!(
                    "; {} rows with unreadable address/port/time -> {}",
                    report.unreadable, rules.default_label
                )
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
