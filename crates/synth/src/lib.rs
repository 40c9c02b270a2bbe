//! Deterministic generator of realistic, labelled sample captures.
//!
//! # Brief overview
//!
//! [`generate`] writes an Ethernet pcap and a labels CSV from a [`SynthConfig`].
//! The same seed gives byte-identical files on every machine.
//!
//! ```no_run
//! use netlens_synth::{SynthConfig, generate};
//! let mut cfg = SynthConfig::new("sample.pcap");
//! cfg.seed = 7;
//! let out = generate(&cfg)?;
//! println!("{} packets, {} flows ({} attack)", out.packets, out.flows, out.attack_flows);
//! # Ok::<(), netlens_synth::SynthError>(())
//! ```
//!
//! # What is in the capture
//!
//! A small office network seen from a tap on its uplink:
//! - 20 IPv4 clients (10.0.0.10–29), 4 IPv6 clients (2001:db8::10–13) and
//!   6 clients on 802.1Q VLAN 100 (10.0.100.10–15);
//! - TCP sessions with a full handshake (MSS, SACK-permitted, window scale),
//!   correct seq/ack numbers, delayed ACKs, FIN teardown from either side
//!   and some RST endings: HTTP/1.1 on port 80 (real request/response text
//!   with Host and User-Agent), TLS 1.3 on 443 (ClientHello with SNI and
//!   ALPN, ServerHello, encrypted records), SSH on 22 (banners, binary packets);
//! - DNS over UDP (usually just before the session to the name it resolves),
//!   NTP, ICMP and ICMPv6 echo;
//! - labelled attacks: a SYN port scan (`portscan`) of 10.0.0.5 from
//!   10.0.0.66, a spoofed SYN flood on 10.0.0.5:80 (`synflood`) and a DNS
//!   amplification burst at 10.0.0.12 (`dns_amplification`).
//!
//! Sessions arrive as a Poisson process whose rate follows a diurnal curve
//! (lowest around 04:00 UTC, highest around 16:00), so long captures
//! (`duration` of days) have a daily pattern for forecasting. Captures up to
//! an hour long get each attack once (at 30 %, 55 % and 80 % of the
//! duration); longer ones get one attack episode every ~3 hours.
//!
//! # Labels
//!
//! One CSV row per conversation, oriented from its initiator:
//! `src_ip,src_port,dst_ip,dst_port,protocol,first_seen_ms,last_seen_ms,label,attack_type`
//! with `protocol` the IP protocol number (6, 17, 1, 58), ports 0 for ICMP,
//! times in Unix milliseconds, `label` `benign` or `attack` and `attack_type`
//! empty for benign rows. A DNS amplification row is oriented from the
//! reflector (the spoofed request is not seen at the victim's tap).
//!
//! # Invariants
//!
//! Output is streamed: only conversations in progress are held in memory.
//! Packets are written in non-decreasing time order with µs timestamps.

#![deny(missing_docs)]

mod apps;
mod net;
mod rng;
mod scenario;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// Writing an output file failed.
    #[error("write error: {0}")]
    Io(String),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A packet could not be built (a bug: report it).
    #[error("packet build error: {0}")]
    Build(String),
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// RNG seed: the same seed gives byte-identical output.
    pub seed: u64,
    /// Capture time span (default 10 minutes). Conversations start within it;
    /// the last ones may end a few seconds later.
    pub duration: Duration,
    /// Time of the first conversation, ns since the Unix epoch (default 2026-03-02 13:00:00 UTC).
    pub start_time_ns: i64,
    /// Output pcap path (`.gz` suffix: gzip-compressed).
    pub output: PathBuf,
    /// Labels CSV path; `None`: the pcap path with `.labels.csv` instead of `.pcap`.
    pub labels: Option<PathBuf>,
    /// Multiplier of the benign session rate (1.0 ≈ 0.25 sessions/s at the
    /// daily peak, a few thousand packets in 10 minutes). Must be in (0, 1000].
    pub scale: f64,
    /// Include the labelled attacks (default true).
    pub attacks: bool,
}

impl SynthConfig {
    /// Defaults (seed 1, 10 minutes, scale 1, attacks on) writing to `output`.
    pub fn new(output: impl Into<PathBuf>) -> SynthConfig {
        SynthConfig {
            seed: 1,
            duration: Duration::from_secs(600),
            start_time_ns: 1_772_456_400_000_000_000,
            output: output.into(),
            labels: None,
            scale: 1.0,
            attacks: true,
        }
    }

    /// The labels path that will be used.
    pub fn labels_path(&self) -> PathBuf {
        match &self.labels {
            Some(p) => p.clone(),
            None => default_labels_path(&self.output),
        }
    }
}

/// `x.pcap` → `x.labels.csv`, `x.pcap.gz` → `x.labels.csv`.
fn default_labels_path(p: &Path) -> PathBuf {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".gz")
        .unwrap_or(&name)
        .trim_end_matches(".pcap")
        .to_string();
    p.with_file_name(format!("{stem}.labels.csv"))
}

/// What was generated.
#[derive(Debug, Clone)]
pub struct SynthOutput {
    /// The pcap written.
    pub pcap: PathBuf,
    /// The labels CSV written.
    pub labels: PathBuf,
    /// Packets written.
    pub packets: u64,
    /// Frame bytes written (without pcap headers).
    pub bytes: u64,
    /// Label rows (conversations) written.
    pub flows: u64,
    /// Label rows marked `attack`.
    pub attack_flows: u64,
    /// Timestamp of the first packet (ns).
    pub first_ts_ns: i64,
    /// Timestamp of the last packet (ns).
    pub last_ts_ns: i64,
}

/// Generate the capture and its labels as described in the crate docs.
///
/// Deterministic: the output depends only on `cfg` (not on the machine or
/// the time of day). Memory use is bounded by the conversations in progress,
/// so `duration` can be days.
pub fn generate(cfg: &SynthConfig) -> Result<SynthOutput, SynthError> {
    if !(cfg.scale > 0.0 && cfg.scale <= 1000.0) {
        return Err(SynthError::Config(format!(
            "scale must be in (0, 1000], got {}",
            cfg.scale
        )));
    }
    let dur_ns = i64::try_from(cfg.duration.as_nanos())
        .ok()
        .filter(|d| *d >= 1_000_000_000 && *d <= 366 * 86_400 * 1_000_000_000)
        .ok_or_else(|| SynthError::Config("duration must be between 1 s and 366 days".into()))?;
    if cfg.start_time_ns < 0 || cfg.start_time_ns > 4_000_000_000 * 1_000_000_000 - dur_ns {
        return Err(SynthError::Config(
            "start time must lie between 1970 and 2096".into(),
        ));
    }
    let labels = cfg.labels_path();
    let writer = netlens_capture::PcapWriter::create(&cfg.output, 1, 65_535, false)
        .map_err(|e| SynthError::Io(format!("{}: {e}", cfg.output.display())))?;
    let lw = csv::Writer::from_path(&labels)
        .map_err(|e| SynthError::Io(format!("{}: {e}", labels.display())))?;
    let sink = net::Sink::new(writer, lw)?;
    let sink = scenario::run(cfg, dur_ns, sink)?;
    let out = SynthOutput {
        pcap: cfg.output.clone(),
        labels,
        packets: sink.packets,
        bytes: sink.bytes,
        flows: sink.flows,
        attack_flows: sink.attack_flows,
        first_ts_ns: sink.first_ts.unwrap_or(cfg.start_time_ns),
        last_ts_ns: sink.last_ts,
    };
    sink.close()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_path_default() {
        assert_eq!(
            default_labels_path(Path::new("/a/s.pcap")),
            PathBuf::from("/a/s.labels.csv")
        );
        assert_eq!(
            default_labels_path(Path::new("s.pcap.gz")),
            PathBuf::from("s.labels.csv")
        );
    }

    #[test]
    fn bad_config_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = SynthConfig::new(dir.path().join("x.pcap"));
        c.scale = 0.0;
        assert!(matches!(generate(&c), Err(SynthError::Config(_))));
        c.scale = 1.0;
        c.duration = Duration::from_millis(10);
        assert!(matches!(generate(&c), Err(SynthError::Config(_))));
    }
}
