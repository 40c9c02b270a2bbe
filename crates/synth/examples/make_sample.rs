//! Regenerate the sample shipped in the repository:
//! `cargo run -p netlens-synth --example make_sample` writes
//! `data/sample/sample.pcap` and `data/sample/sample.labels.csv` (seed 1, 10 minutes).
//! Optional arguments: `[DIR [SEED [DURATION_SECONDS [SCALE]]]]`, e.g.
//! `make_sample /tmp/long 7 259200 0.2` for three days at a fifth of the rate.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample"));
    let seed = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let secs = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(600);
    let scale = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1.0);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut cfg = netlens_synth::SynthConfig::new(dir.join("sample.pcap"));
    cfg.seed = seed;
    cfg.duration = std::time::Duration::from_secs(secs);
    cfg.scale = scale;
    match netlens_synth::generate(&cfg) {
        Ok(o) => {
            println!(
                "{}: {} packets, {} frame bytes, {} flows ({} attack); labels in {}",
                o.pcap.display(),
                o.packets,
                o.bytes,
                o.flows,
                o.attack_flows,
                o.labels.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
