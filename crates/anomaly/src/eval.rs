//! Score separation of detectors on labelled captures.
//!
//! Helpers to run each detector over whole captures and compute ROC-AUC of
//! attack scores against benign scores (via `netlens-ml`'s metrics), and
//! the benign corpus of the shared test data split by file into training,
//! validation (threshold calibration) and hold-out parts. Used by the tests
//! and the benchmark.
//!
//! Every capture is processed on its own: per-host statistics (flow
//! context, Kitsune tables and clock) start fresh at each file, since the
//! files were recorded years and networks apart.

use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, PacketRef, ReadOptions};
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{PacketObserver, RunConfig, run};
use netlens_wire::{DissectError, PacketSummary};

use crate::error::{AnomalyError, Result};
use crate::iforest::{IforestConfig, IforestModel, IforestTrainer};
use crate::kitsune::Kitsune;

/// Path fragments of captures left out of the benign corpus: fuzzed,
/// truncated, malformed or evasion test files, and crafted TCP flag
/// permutations (`esnet/tcp-control`), which are not normal traffic.
pub const NOT_BENIGN: &[&str] = &[
    "fuzz",
    "garbage",
    "broken",
    "trunc",
    "malformed",
    "evasion",
    "corrupt",
    "invalid",
    "tcp-control",
];

/// Which part of the benign corpus a file belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// Model fitting (60 % of files).
    Train,
    /// Threshold calibration (20 %).
    Validation,
    /// Measuring false positives and ROC-AUC (20 %).
    Holdout,
}

/// The part of `rel` (path relative to the data root): CRC-32 of the
/// path modulo 10, 0–5 train, 6–7 validation, 8–9 hold-out. A file is in
/// exactly one part whatever else is in the corpus.
pub fn part_of(rel: &str) -> Part {
    match crc32fast::hash(rel.as_bytes()) % 10 {
        0..=5 => Part::Train,
        6 | 7 => Part::Validation,
        _ => Part::Holdout,
    }
}

/// Benign captures of the shared data folder `data`: every capture file
/// under `pcap/` that is not listed in `labeled/ATTACK_LABELS.csv` and
/// does not match [`NOT_BENIGN`], as paths relative to `data`, sorted.
pub fn benign_captures(data: &Path) -> Result<Vec<String>> {
    let labels = data.join("labeled/ATTACK_LABELS.csv");
    let text = std::fs::read_to_string(&labels).map_err(|e| AnomalyError::Io {
        path: labels.clone(),
        source: e,
    })?;
    let attacks: std::collections::HashSet<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let mut out = Vec::new();
    let mut stack = vec![data.join("pcap")];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| AnomalyError::Io {
            path: dir.clone(),
            source: e,
        })?;
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let Ok(rel) = p.strip_prefix(data) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let ext_ok = [".pcap", ".pcapng", ".cap"]
                .iter()
                .any(|x| rel.ends_with(x));
            if ext_ok
                && !attacks.contains(rel.as_str())
                && !NOT_BENIGN.iter().any(|n| rel.contains(n))
            {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The benign captures of `data` in part `part`, as full paths.
pub fn benign_part(data: &Path, part: Part) -> Result<Vec<PathBuf>> {
    Ok(benign_captures(data)?
        .into_iter()
        .filter(|r| part_of(r) == part)
        .map(|r| data.join(r))
        .collect())
}

/// IP packets (dissectable) in `paths`; unreadable files count 0.
pub fn count_ip_packets(paths: &[PathBuf]) -> u64 {
    let mut n = 0;
    let mut s = PacketSummary::default();
    for p in paths {
        let Ok(mut r) = open(std::slice::from_ref(p)) else {
            continue;
        };
        while let Some(pkt) = r.next_packet() {
            s.clear();
            if netlens_wire::dissect(pkt.linktype, pkt.data, &mut s).is_ok() {
                n += 1;
            }
        }
    }
    n
}

/// Flow meter settings the flow detector uses (statistics on).
pub fn meter_config() -> MeterConfig {
    MeterConfig {
        statistics: true,
        ..MeterConfig::default()
    }
}

fn open(paths: &[PathBuf]) -> Result<CaptureReader> {
    let inputs: Vec<Input> = paths.iter().map(|p| Input::Path(p.clone())).collect();
    CaptureReader::open(
        &inputs,
        &ReadOptions {
            sort_by_time: false,
        },
    )
    .map_err(|e| AnomalyError::Config(format!("cannot open captures: {e}")))
}

/// Run the flow pipeline over `paths`, calling `sink` with each batch.
pub fn for_flows(
    paths: &[PathBuf],
    observers: &mut [&mut dyn PacketObserver],
    sink: &mut dyn FnMut(&[Flow]),
) -> Result<netlens_pipeline::RunReport> {
    let mut r = open(paths)?;
    let cfg = RunConfig {
        meter: meter_config(),
        ..RunConfig::default()
    };
    let rep = run::<std::convert::Infallible>(
        &mut r,
        &cfg,
        observers,
        &mut |b| {
            sink(b);
            Ok(())
        },
        &mut |_| {},
    );
    match rep {
        Ok(rep) => Ok(rep),
        Err(e) => match e {},
    }
}

/// Train an isolation forest on the flows of `paths` (each file on its
/// own; unreadable files are skipped).
pub fn train_iforest(paths: &[PathBuf], cfg: IforestConfig) -> Result<IforestModel> {
    let mut t = IforestTrainer::new(cfg)?;
    for p in paths {
        t.new_capture();
        // A file the reader rejects is skipped, like a corrupt record.
        let _ = for_flows(std::slice::from_ref(p), &mut [], &mut |b| t.add(b));
    }
    t.fit()
}

/// Flow scores of `paths` under `m` (each file with a fresh context;
/// unreadable files are skipped).
pub fn iforest_scores(m: &IforestModel, paths: &[PathBuf]) -> Result<Vec<f64>> {
    let ff = m.flow_features()?;
    let mut out = Vec::new();
    for p in paths {
        let mut ctx = m.new_context();
        let _ = for_flows(std::slice::from_ref(p), &mut [], &mut |b| {
            out.extend(m.score(&ff, ctx.as_mut(), b).1)
        });
    }
    Ok(out)
}

/// Feeds packets to a Kitsune detector and keeps the scores.
pub struct ScoreCollector<'a> {
    /// The detector.
    pub det: &'a mut Kitsune,
    /// Scores of scored packets.
    pub scores: Vec<f64>,
}

impl PacketObserver for ScoreCollector<'_> {
    fn on_packet(
        &mut self,
        pkt: &PacketRef<'_>,
        d: std::result::Result<&PacketSummary, DissectError>,
    ) {
        if let Ok(p) = d
            && let Some(s) = self.det.process(pkt.ts_ns, pkt.wire_len, p)
        {
            self.scores.push(s);
        }
    }
}

/// Run `det` over `paths` (each file with fresh statistics, in one pass
/// with flow metering; unreadable files are skipped); returns the scores
/// of the packets scored.
pub fn kitsune_scores(det: &mut Kitsune, paths: &[PathBuf]) -> Result<Vec<f64>> {
    let mut c = ScoreCollector {
        det,
        scores: Vec::new(),
    };
    for p in paths {
        c.det.new_capture();
        let _ = for_flows(std::slice::from_ref(p), &mut [&mut c], &mut |_| {});
    }
    Ok(c.scores)
}

/// Share of `scores` strictly above `th`.
pub fn alert_rate(scores: &[f64], th: f64) -> f64 {
    scores.iter().filter(|s| **s > th).count() as f64 / scores.len().max(1) as f64
}

/// ROC-AUC of `attack` scores against `benign` scores (None when either is empty).
pub fn auc(benign: &[f64], attack: &[f64]) -> Option<f64> {
    let truth: Vec<bool> = benign
        .iter()
        .map(|_| false)
        .chain(attack.iter().map(|_| true))
        .collect();
    let scores: Vec<f64> = benign.iter().chain(attack).copied().collect();
    netlens_ml::metrics::roc_auc(&truth, &scores)
}
