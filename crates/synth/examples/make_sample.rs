//! Regenerate the sample shipped in the repository:
//! `cargo run -p netlens-synth --example make_sample` writes
//! `data/sample/sample.pcap` and `data/sample/sample.labels.csv` (seed 1, 10 minutes).
//! An optional argument gives another output directory.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample"));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut cfg = netlens_synth::SynthConfig::new(dir.join("sample.pcap"));
    cfg.seed = 1;
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
