//! `netlens detect`: captures in, one JSON alert per flow a model classifies as an attack.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};
use netlens_detect::detector::DetectBuffers;
use netlens_detect::{DetectError, Detector, EarlyDecisions, FeatureSet};
use netlens_pipeline::{RunConfig, RunReport};

use crate::common;

/// Summary format on stderr.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SummaryFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object.
    Json,
}

/// Detect attacks in captures with a trained flow model.
///
/// Runs capture → flows → features → model and writes one JSON line per
/// flow classified as an attack, flushed as soon as the flow is decided.
/// Without `--model`, the bundled detector (models/detector.nlm) is used.
///
/// A model trained with `train-detector --target-fpr` alerts when its attack
/// score 1 − P(benign) reaches the threshold stored in it (otherwise: when the
/// most probable class is not benign); one trained with `--context` counts
/// recent flows per address over the whole input, all files together
/// (docs/detection.md).
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens detect capture.pcap -o alerts.jsonl\n  netlens detect --model my.nlm --early 8 dir/ --format json"
)]
pub struct Args {
    /// Capture files or directories; `-` reads stdin.
    #[arg(required_unless_present = "interface")]
    pub inputs: Vec<String>,
    /// Live capture (`-i IFACE`; alerts stream until --duration or Ctrl-C).
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// Model file from `netlens train-detector` (default: the bundled detector; env NETLENS_DETECTOR_MODEL overrides).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Alerts output, JSON Lines (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Summary format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub format: SummaryFormat,
    /// Classify flows on their first N packets (needs a model from `train-detector --early N`):
    /// a flow is decided when its Nth packet arrives (alert with "early": true), or at its
    /// end if it ends sooner; one decision per flow. Alerts are written once per batch of
    /// 8192 packets, so an early alert comes at most one batch after the Nth packet.
    #[arg(long)]
    pub early: Option<u16>,
    /// Idle timeout: a flow with no packet for this long ends (seconds, or 90s/2m/1h).
    #[arg(long, default_value = "120")]
    pub idle_timeout: String,
    /// Flow-metering threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Read several inputs one after another instead of merging them by
    /// timestamp. An input that starts before the previous one ended is
    /// metered on its own clock: the open flows end with the previous input.
    #[arg(long)]
    pub no_merge: bool,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Where the bundled detector is looked for.
pub fn bundled_model() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NETLENS_DETECTOR_MODEL") {
        return Some(PathBuf::from(p));
    }
    let mut cands = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        cands.push(dir.join("models/detector.nlm"));
        cands.push(dir.join("../share/netlens/detector.nlm"));
    }
    cands.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/detector.nlm"));
    cands.into_iter().find(|p| p.is_file())
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let model_path = match &a.model {
        Some(m) => m.clone(),
        None => bundled_model().context(
            "no --model given and the bundled detector (models/detector.nlm) was not found; set NETLENS_DETECTOR_MODEL",
        )?,
    };
    if a.early == Some(0) {
        bail!("--early needs N ≥ 1 packets");
    }
    // No --early: the model's own feature set (full-flow, or early when trained so).
    let det = Detector::load(&model_path, a.early.map(FeatureSet::early))
        .with_context(|| format!("loading detector {}", model_path.display()))?;
    let mut meter = det.feature_set().meter_config();
    // Early-flow model: decide each flow at its Nth packet, not at its end.
    meter.early_emit = det.feature_set().early;
    meter.idle_timeout_ns = common::secs_to_ns(common::parse_seconds(&a.idle_timeout)?);
    let cfg = RunConfig {
        meter,
        threads: a.threads.max(1),
        ..Default::default()
    };
    let mut reader = common::PacketInput::open(&a.inputs, !a.no_merge, &a.live)?;
    let stop = reader.stop_flag(&a.live)?;
    let mut out = common::open_output(&a.output)?;
    // One batch of alert lines, written with one call; the buffers keep
    // their capacity from batch to batch.
    let mut lines: Vec<u8> = Vec::new();
    let mut bufs = DetectBuffers::default();
    let mut alerts = 0u64;
    let mut decisions = EarlyDecisions::default();
    let start = std::time::Instant::now();
    let pb = common::packet_progress(a.quiet);
    let report = netlens_pipeline::run_source::<_, anyhow::Error>(
        &mut reader,
        &cfg,
        &mut [],
        &mut |flows| {
            lines.clear();
            let found = det
                .write_alerts_once(flows, &mut decisions, &mut bufs, &mut lines)
                .map_err(|e: DetectError| anyhow::Error::new(e))?;
            out.write_all(&lines)?;
            alerts += found as u64;
            // Streaming: alerts already decided survive a crash or Ctrl-C.
            out.flush()?;
            Ok(())
        },
        &mut |r: &RunReport| pb.set_message(format!("{} packets, {} flows", r.packets, r.flows)),
        stop,
    )
    .with_context(|| format!("writing {}", a.output))?;
    pb.finish_and_clear();
    out.flush()?;
    let mut per_label: BTreeMap<String, u64> = BTreeMap::new();
    for (l, n) in det.alert_labels().into_iter().zip(&bufs.alerts_per_label) {
        if *n > 0 {
            *per_label.entry(l.to_string()).or_insert(0) += n;
        }
    }
    // Flows, not records: an early snapshot and its final record are one flow.
    let flows = report.flows.saturating_sub(decisions.snapshots);
    reader.finish(flows, a.quiet);
    let secs = start.elapsed().as_secs_f64();
    if !a.quiet {
        match a.format {
            SummaryFormat::Json => {
                let s = serde_json::json!({
                    "detector": det.detector_name(),
                    "early_packets": det.feature_set().early,
                    "packets": report.packets,
                    "flows": flows,
                    "decided_early": decisions.snapshots,
                    "alerts": alerts,
                    "alerts_by_label": per_label,
                    "seconds": secs,
                });
                eprintln!("{s}");
            }
            SummaryFormat::Text => {
                eprintln!(
                    "netlens: {} packets, {} flows, {} alerts ({}) in {:.2} s",
                    report.packets,
                    flows,
                    alerts,
                    det.detector_name(),
                    secs
                );
                if decisions.snapshots > 0 {
                    eprintln!(
                        "netlens:   {} flows decided at packet {}",
                        decisions.snapshots,
                        det.feature_set().early
                    );
                }
                for (l, n) in &per_label {
                    eprintln!("netlens:   {l}: {n}");
                }
            }
        }
    }
    Ok(())
}
