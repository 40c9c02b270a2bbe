//! `netlens synth`: generate the deterministic sample capture.

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;

use crate::common;

/// Generate a realistic, labelled sample capture (pcap + labels CSV),
/// byte-identical for the same seed: TCP sessions (HTTP, TLS, SSH), DNS,
/// NTP, ICMP, IPv6, a VLAN, and labelled attacks (port scan, SYN flood, ...).
#[derive(Parser, Debug)]
pub struct Args {
    /// Output pcap (`.gz` for gzip).
    #[arg(short, long, default_value = "sample.pcap")]
    pub output: PathBuf,
    /// Labels CSV (default: next to the pcap, `.labels.csv`).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Capture time span (e.g. 10m, 2h, 7d).
    #[arg(long, default_value = "10m")]
    pub duration: String,
    /// Traffic rate multiplier.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Leave out the labelled attacks.
    #[arg(long)]
    pub no_attacks: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let mut cfg = netlens_synth::SynthConfig::new(a.output.clone());
    cfg.seed = a.seed;
    cfg.duration = std::time::Duration::from_secs_f64(common::parse_seconds(&a.duration)?);
    cfg.scale = a.scale;
    cfg.attacks = !a.no_attacks;
    if let Some(l) = &a.labels {
        // The labels CSV would overwrite the capture it describes.
        if l == &a.output {
            anyhow::bail!(
                "--labels and -o name the same file ({}); give the labels CSV its own name",
                l.display()
            );
        }
        // Create the folders first: a missing one failed after the capture
        // was started, leaving a header-only pcap behind.
        if let Some(dir) = l.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
    }
    cfg.labels = a.labels;
    let out = netlens_synth::generate(&cfg)?;
    eprintln!(
        "netlens: wrote {} and {}",
        out.pcap.display(),
        out.labels.display()
    );
    Ok(())
}
