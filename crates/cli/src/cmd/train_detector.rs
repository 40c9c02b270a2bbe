//! `netlens train-detector`: labelled captures in, a ready detector model out.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_detect::FeatureSet;
use netlens_detect::labels::FlowLabels;
use netlens_detect::training::{CaptureLabels, DetectorSpec, LabelledCapture, train_detector};

/// Train a flow detector (random forest) from labelled captures in one step.
///
/// Labels come from a labels CSV next to each capture (`CAPTURE:LABELS.csv`,
/// 5-tuple + label + attack_type, matched in either direction), or from a
/// whole-capture label (`--attack-capture FILE[:type]`, `--benign-capture FILE`).
/// Whole-capture labels also mark the benign background inside attack
/// captures as attack; see docs/labelling.md.
///
/// For few false positives on real traffic (docs/detection.md): give many
/// benign captures, `--benign-share 0.5` so floods with thousands of
/// near-identical flows do not outvote the benign class, and
/// `--target-fpr 0.01` to choose the alert threshold on the attack score
/// (1 − P(benign)) by cross-validation grouped by capture file (needs ≥ 2
/// benign and ≥ 2 attack captures; the threshold is stored in the model and
/// used by `netlens detect`).
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens train-detector data/sample/sample.pcap:data/sample/sample.labels.csv -o detector.nlm\n  netlens train-detector --attack-capture scan.pcap:portscan --benign-capture office.pcap -o d.nlm\n  netlens train-detector --attack-capture a.pcap:scan --attack-capture b.pcap:flood --benign-capture c1.pcap --benign-capture c2.pcap --benign-share 0.5 --target-fpr 0.01 -o d.nlm"
)]
pub struct Args {
    /// Captures with a labels CSV: `CAPTURE:LABELS.csv`.
    pub labelled: Vec<String>,
    /// A capture whose every flow is an attack: `FILE[:type]` (type defaults to `attack`).
    #[arg(long)]
    pub attack_capture: Vec<String>,
    /// A capture whose every flow is benign.
    #[arg(long)]
    pub benign_capture: Vec<PathBuf>,
    /// Label for flows of labelled captures that the labels CSV does not list (default: skip them).
    #[arg(long)]
    pub unlabelled_as: Option<String>,
    /// Early detection: train on the first N packets of each flow only.
    #[arg(long, default_value_t = 0)]
    pub early: u16,
    /// Add host-context features: decayed counts of recent flows to the same destination,
    /// from the same source and between the same pair, and their one-way share (what makes
    /// a flood or a scan, which single flows do not show). A flow from B to A while A's
    /// recent two-way flows to B still count (a peer connecting back, the RSTs after a
    /// closed connection) is "related": it is not counted as fan-in or fan-out, and
    /// `ctx_related` reports it. `detect` computes them over its whole input stream.
    /// Full-flow models only.
    #[arg(long)]
    pub context: bool,
    /// Trees in the forest.
    #[arg(long, default_value_t = 50)]
    pub trees: usize,
    /// Maximum tree depth.
    #[arg(long, default_value_t = 24)]
    pub max_depth: usize,
    /// Flows kept per class and capture (seeded random sample).
    #[arg(long, default_value_t = 5000)]
    pub max_per_class: usize,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Leave a feature out of the model (repeatable; `*` matches any text, e.g. `cic_*_init_win`).
    #[arg(long = "exclude-feature", value_name = "NAME")]
    pub exclude_feature: Vec<String>,
    /// Minimum share of benign flows in the training rows, in (0, 1): attack flows are
    /// subsampled (small classes kept whole) until benign flows are at least this share.
    #[arg(long)]
    pub benign_share: Option<f64>,
    /// Choose the alert threshold on the attack score so that at most this fraction of
    /// benign flows alert, by cross-validation grouped by capture file (e.g. 0.01).
    /// Without it a flow alerts when its most probable class is not benign.
    #[arg(long)]
    pub target_fpr: Option<f64>,
    /// Folds of the cross-validation of --target-fpr (at most the number of benign captures).
    #[arg(long, default_value_t = 4)]
    pub cv_folds: usize,
    /// Output model file; a `.json` note of what it was trained on is written beside it.
    #[arg(short, long)]
    pub output: PathBuf,
    /// No summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Split `FILE:type`; a suffix containing '/' or '.' is part of the path.
fn split_suffix(s: &str) -> (&str, Option<&str>) {
    match s.rsplit_once(':') {
        Some((f, t)) if !f.is_empty() && !t.is_empty() && !t.contains(['/', '.']) => (f, Some(t)),
        _ => (s, None),
    }
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let mut caps = Vec::new();
    for l in &a.labelled {
        let (cap, labels) = match l.rsplit_once(':') {
            Some((c, csv)) if csv.ends_with(".csv") => (c, csv),
            _ => bail!(
                "'{l}': expected CAPTURE:LABELS.csv (or use --attack-capture / --benign-capture)"
            ),
        };
        let fl = FlowLabels::from_csv(std::path::Path::new(labels))?;
        if fl.bad_rows > 0 && !a.quiet {
            eprintln!(
                "netlens: warning: {labels}: {} unreadable rows skipped",
                fl.bad_rows
            );
        }
        caps.push(LabelledCapture {
            path: PathBuf::from(cap),
            labels: CaptureLabels::Csv(fl, a.unlabelled_as.clone()),
        });
    }
    for s in &a.attack_capture {
        let (f, t) = split_suffix(s);
        let t = t.unwrap_or("attack");
        if t == "benign" {
            bail!("'{s}': an attack capture cannot have type 'benign' (use --benign-capture)");
        }
        caps.push(LabelledCapture {
            path: PathBuf::from(f),
            labels: CaptureLabels::Whole(t.to_string()),
        });
    }
    for b in &a.benign_capture {
        caps.push(LabelledCapture {
            path: b.clone(),
            labels: CaptureLabels::Whole("benign".into()),
        });
    }
    if caps.is_empty() {
        bail!("no training captures given");
    }
    if a.context && a.early > 0 {
        bail!("--context needs full flows; it cannot be combined with --early");
    }
    // Zero would be clamped to one inside, while the summary and the
    // model's .json said zero.
    if a.trees == 0 || a.max_per_class == 0 {
        bail!("--trees and --max-per-class must be at least 1");
    }
    if let Some(f) = a.target_fpr
        && !(f > 0.0 && f < 1.0)
    {
        bail!("--target-fpr must be between 0 and 1 (e.g. 0.01)");
    }
    let spec = DetectorSpec {
        set: if a.early > 0 {
            FeatureSet::early(a.early)
        } else {
            FeatureSet::full().with_context(a.context)
        },
        trees: a.trees,
        max_depth: Some(a.max_depth.max(1)),
        seed: a.seed,
        max_per_class: a.max_per_class,
        exclude: a.exclude_feature.clone(),
        benign_share: a.benign_share,
        target_fpr: a.target_fpr,
        cv_folds: a.cv_folds.max(2),
    };
    let start = std::time::Instant::now();
    let (model, report) = train_detector(&caps, &spec)?;
    let summaries = &report.captures;
    model
        .save(&a.output)
        .with_context(|| format!("writing {}", a.output.display()))?;
    // Feature importances (mean decrease in impurity), highest first: shows
    // whether a capture-identifying feature (e.g. a tool's TCP window) dominates.
    let mut importances: Vec<(String, f64)> = match &model.estimator {
        netlens_ml::model::Estimator::Forest(f) => model
            .pipeline
            .feature_names
            .iter()
            .cloned()
            .zip(f.importances.iter().copied())
            .collect(),
        _ => Vec::new(),
    };
    importances.sort_by(|a, b| b.1.total_cmp(&a.1));
    let note = serde_json::json!({
        "model": a.output.file_name().map(|n| n.to_string_lossy().into_owned()),
        "kind": "random_forest",
        "classes": model.classes,
        "early_packets": a.early,
        "host_context": a.context,
        "features": model.pipeline.feature_names,
        "trees": a.trees,
        "max_depth": a.max_depth,
        "max_per_class": a.max_per_class,
        "seed": a.seed,
        "train_rows": model.meta.train_rows,
        "excluded_features": a.exclude_feature,
        "benign_share": a.benign_share,
        "rows_per_class": report.rows_per_class,
        "threshold": report.threshold,
        "importances": importances,
        "captures": summaries,
    });
    let mut note_path = a.output.clone().into_os_string();
    note_path.push(".json");
    std::fs::write(&note_path, serde_json::to_string_pretty(&note)? + "\n")
        .with_context(|| format!("writing {}", PathBuf::from(&note_path).display()))?;
    if !a.quiet {
        for s in summaries {
            let kept: Vec<String> = s.kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprintln!(
                "netlens: {}: {} flows, kept {}{}",
                s.path.display(),
                s.flows,
                kept.join(" "),
                if s.unlabelled > 0 {
                    format!(", {} unlabelled skipped", s.unlabelled)
                } else {
                    String::new()
                }
            );
        }
        eprintln!(
            "netlens: trained a {}-tree forest on {} flows, {} features, classes {:?} in {:.1} s -> {}",
            a.trees,
            model.meta.train_rows,
            model.pipeline.feature_names.len(),
            model.classes,
            start.elapsed().as_secs_f64(),
            a.output.display()
        );
        let rows: Vec<String> = report
            .rows_per_class
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        eprintln!("netlens: training rows per class: {}", rows.join(" "));
        if let Some(t) = &report.threshold {
            let per: Vec<String> = t
                .per_class
                .iter()
                .map(|(k, c)| format!("{k} {}/{}", c.alerted, c.flows))
                .collect();
            eprintln!(
                "netlens: threshold {:.4} on the attack score for a {:.2} % false-positive target ({}-fold cross-validation by capture; argmax would give {:.2} %); out-of-fold alerted/flows: {}",
                t.threshold,
                t.target_fpr * 100.0,
                t.folds,
                t.argmax_fpr * 100.0,
                per.join(", ")
            );
        }
    }
    // Said even with -q: such a detector never alerts.
    if let Some(t) = &report.threshold
        && t.threshold > 1.0
    {
        eprintln!(
            "netlens: warning: to keep false positives under {:.2} % the threshold had to go above every possible score ({:.4}): this detector will never alert. Raise --target-fpr or add benign captures that resemble the ones scored highest.",
            t.target_fpr * 100.0,
            t.threshold
        );
    } else if let Some(t) = &report.threshold {
        // The benign class comes first in the model's classes.
        let missed = mostly_missed(t, model.classes.first().map_or("", String::as_str));
        if !missed.is_empty() {
            eprintln!(
                "netlens: warning: at threshold {:.4} (for a {:.2} % false-positive target) cross-validation alerts on under 1 in {MOSTLY_MISSED_BELOW} flows of: {}. The detector will miss most of these attacks; raise --target-fpr or add attack captures like them.",
                t.threshold,
                t.target_fpr * 100.0,
                missed.join(", ")
            );
        }
    }
    Ok(())
}

/// An attack class is reported as mostly missed when fewer than one in this
/// many of its out-of-fold flows reach the threshold.
const MOSTLY_MISSED_BELOW: u64 = 10;

/// Attack classes (all but `benign`) the threshold lets through almost
/// entirely out of fold, as `class alerted/flows`.
fn mostly_missed(t: &netlens_detect::training::ThresholdChoice, benign: &str) -> Vec<String> {
    t.per_class
        .iter()
        .filter(|(k, c)| k.as_str() != benign && c.flows > 0)
        .filter(|(_, c)| c.alerted.saturating_mul(MOSTLY_MISSED_BELOW) < c.flows)
        .map(|(k, c)| format!("{k} {}/{}", c.alerted, c.flows))
        .collect()
}

#[cfg(test)]
mod tests {
    use netlens_detect::training::{ClassCount, ThresholdChoice};

    /// A class caught in under 1 of 10 out-of-fold flows is named; benign
    /// (false positives) and well-caught classes are not.
    #[test]
    fn names_mostly_missed_attack_classes() {
        let count = |alerted, flows| ClassCount { flows, alerted };
        let t = ThresholdChoice {
            target_fpr: 0.01,
            folds: 2,
            threshold: 0.9,
            per_class: [
                ("benign".to_string(), count(0, 500)),
                ("ddos".to_string(), count(300, 300)),
                ("scan".to_string(), count(0, 2030)),
                ("brute".to_string(), count(10, 100)),
            ]
            .into_iter()
            .collect(),
            argmax_fpr: 0.02,
        };
        assert_eq!(super::mostly_missed(&t, "benign"), ["scan 0/2030"]);
    }
}
