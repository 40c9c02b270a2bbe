//! The unsupervised part of `netlens analyze`: a second pass over the
//! captures with the Kitsune-style online detector (crates/anomaly), which
//! needs no labels. It trains on the first fifth of the IP packets (at least
//! [`MIN_TRAIN`], at most [`MAX_TRAIN`]), which it assumes to be clean, takes
//! its alert threshold from the scores of the next half as many packets
//! (also assumed clean, no alerts there), and scores everything after.
//!
//! A second pass rather than a second observer in the first pass: the
//! training length depends on the packet count, which is only known once the
//! input has been read. The read and decode cost of the second pass is small
//! next to the detector's own.
//!
//! Invariant: every alert the detector writes lands in `anomalies.jsonl`;
//! the report rows are a bounded summary of that file (grouped by
//! destination host), never the only copy.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result};
use netlens_anomaly::alert::AlertWriter;
use netlens_anomaly::kitsune::{Kitsune, KitsuneConfig, KitsuneObserver};
use netlens_pipeline::{PacketObserver, RunConfig};
use netlens_report::AlertRow;

use crate::common;

/// Fewest training packets.
pub const MIN_TRAIN: u64 = 1_000;
/// Most training packets.
pub const MAX_TRAIN: u64 = 200_000;
/// Most destination groups summarised in the report.
const MAX_ROWS: usize = 10;
/// Most destination groups tracked while summarising.
const MAX_GROUPS: usize = 100_000;

/// What the unsupervised pass did.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether the detector ran.
    pub ran: bool,
    /// One sentence for the report and the terminal.
    pub status: String,
    /// Alerts written to the file.
    pub alerts: u64,
    /// Destination hosts with alerts.
    pub hosts: usize,
    /// Report rows, strongest first.
    pub rows: Vec<AlertRow>,
}

/// Train-then-score length for `ip_packets` IP packets (None: too few).
pub fn train_packets(ip_packets: u64) -> Option<u64> {
    let t = (ip_packets / 5).clamp(MIN_TRAIN, MAX_TRAIN);
    (ip_packets >= 2 * t).then_some(t)
}

/// Packets after training whose scores set the threshold.
fn calibrate_packets(train: u64) -> u64 {
    train / 2
}

/// Run the detector over `inputs` (already read once, `ip_packets` IP
/// packets), writing alerts to `path`.
pub fn run(inputs: &[String], ip_packets: u64, path: &Path, quiet: bool) -> Result<Outcome> {
    if inputs.iter().any(|i| i == "-") {
        return Ok(Outcome {
            status: "Unsupervised detector not run: standard input can be read only once.".into(),
            ..Outcome::default()
        });
    }
    let Some(train) = train_packets(ip_packets) else {
        return Ok(Outcome {
            status: format!(
                "Unsupervised detector not run: {ip_packets} IP packets; it trains on the first {MIN_TRAIN} and needs as many again to score."
            ),
            ..Outcome::default()
        });
    };
    let mut reader = common::open_inputs(inputs, true)?;
    let file = common::open_output(path.to_str().unwrap_or("anomalies.jsonl"))?;
    let mut kcfg = KitsuneConfig::with_train_packets(train);
    // Threshold from packets scored *after* training (still assumed clean):
    // on the sample this cut benign alerts from 681 to 214 against the
    // scores of the training stretch itself, which the model has fitted.
    kcfg.calibrate_packets = calibrate_packets(train);
    let mut obs = KitsuneObserver::new(Kitsune::new(kcfg), AlertWriter::new(file));
    // Flows are not needed here: the cheapest meter settings.
    let cfg = RunConfig {
        meter: netlens_flow::MeterConfig {
            statistics: false,
            app: false,
            cic: false,
            splt: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    let pb = common::packet_progress(quiet);
    pb.set_message("stage 2/4: unsupervised detector");
    {
        let mut o: [&mut dyn PacketObserver; 1] = [&mut obs];
        netlens_pipeline::run::<std::convert::Infallible>(
            &mut reader,
            &cfg,
            &mut o,
            &mut |_| Ok(()),
            &mut |r| {
                pb.set_message(format!(
                    "stage 2/4: unsupervised detector, {} packets",
                    r.packets
                ))
            },
        )
        .unwrap_or_else(|e| match e {});
    }
    pb.finish_and_clear();
    let written = obs
        .finish()
        .with_context(|| format!("writing {}", path.display()))?;
    let threshold = obs.det.threshold();
    let (rows, hosts) = summarise(path)?;
    let status = format!(
        "Unsupervised (Kitsune-style, no labels): trained on the first {train} IP packets and calibrated on the next {}, both assumed clean; threshold {}; {} later packets scored above it, {written} alerts on {hosts} destination hosts in {} (the {} strongest are listed; new benign hosts also score high on short captures).",
        calibrate_packets(train),
        threshold.map_or("-".into(), |t| format!("{t:.4}")),
        obs.anomalous_packets,
        super::analyze::file_name(path),
        rows.len()
    );
    Ok(Outcome {
        ran: true,
        status,
        alerts: written,
        hosts,
        rows,
    })
}

/// Per destination host: alerts, sources, first time, strongest score.
#[derive(Default)]
struct Group {
    alerts: u64,
    sources: Vec<String>,
    more_sources: bool,
    first: String,
    max_score: f64,
    top: String,
    /// Every destination port (at most 65,536 per group; was capped at
    /// 1,000, which the report then gave as the count).
    ports: std::collections::BTreeSet<u16>,
}

/// Groups the alert file by destination host for the report: the strongest
/// [`MAX_ROWS`] groups and the number of groups.
fn summarise(path: &Path) -> Result<(Vec<AlertRow>, usize)> {
    let f = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut groups: HashMap<String, Group> = HashMap::new();
    for line in std::io::BufReader::new(f).lines() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let dst = v["dst_ip"].as_str().unwrap_or("?").to_string();
        if !groups.contains_key(&dst) && groups.len() >= MAX_GROUPS {
            continue;
        }
        let g = groups.entry(dst).or_default();
        g.alerts += 1;
        let src = v["src_ip"].as_str().unwrap_or("?");
        if !g.sources.iter().any(|s| s == src) {
            if g.sources.len() < 1000 {
                g.sources.push(src.to_string());
            } else {
                g.more_sources = true;
            }
        }
        let ts = v["ts_start"].as_str().unwrap_or("");
        if g.first.is_empty() || ts < g.first.as_str() {
            g.first = ts.to_string();
        }
        if let Some(p) = v["dst_port"].as_u64().and_then(|p| u16::try_from(p).ok()) {
            g.ports.insert(p);
        }
        let score = v["score"].as_f64().unwrap_or(0.0);
        if score > g.max_score {
            g.max_score = score;
            g.top = v["top_features"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .take(3)
                        .filter_map(|t| t["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
        }
    }
    let mut v: Vec<(String, Group)> = groups.into_iter().collect();
    v.sort_by(|a, b| b.1.max_score.total_cmp(&a.1.max_score).then(a.0.cmp(&b.0)));
    let hosts = v.len();
    let rows = v
        .into_iter()
        .take(MAX_ROWS)
        .map(|(dst, g)| {
            let src = if g.sources.len() == 1 && !g.more_sources {
                g.sources[0].clone()
            } else {
                format!(
                    "{}{} sources",
                    g.sources.len(),
                    if g.more_sources { "+" } else { "" }
                )
            };
            let ports = crate::common::ports_text(g.ports.iter().map(|&p| u64::from(p)));
            AlertRow {
                time: g.first,
                severity: "warning".into(),
                kind: "anomaly (unsupervised)".into(),
                subject: format!("{src} → {dst}"),
                detail: format!(
                    "{} alerts (per second and 5-tuple), destination ports {ports}; max score {:.3}; top features: {}",
                    g.alerts, g.max_score, g.top
                ),
            }
        })
        .collect();
    Ok((rows, hosts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_destination_port_is_counted() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.jsonl");
        let lines: Vec<String> = (1..=1500)
            .map(|p| {
                format!(
                    r#"{{"src_ip":"10.0.0.1","dst_ip":"10.0.0.2","dst_port":{p},"ts_start":"2020-01-01T00:00:00Z","score":0.9}}"#
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap_or_else(|e| panic!("{e}"));
        let (rows, hosts) = summarise(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hosts, 1);
        let detail = &rows[0].detail;
        assert!(detail.contains("1500 distinct ports (1–1500)"), "{detail}");
    }

    #[test]
    fn training_length() {
        assert_eq!(train_packets(1_999), None);
        assert_eq!(train_packets(2_000), Some(1_000));
        assert_eq!(train_packets(6_953), Some(1_390));
        assert_eq!(train_packets(10_000_000), Some(MAX_TRAIN));
    }
}
