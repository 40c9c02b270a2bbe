//! Training sets from labelled captures, and the detector's model.
//!
//! Each capture is metered on its own (flows never span two files) and each
//! flow gets a class from the capture's labels. To keep training balanced
//! and memory bounded, at most `max_per_class` flows per class and capture
//! are kept, chosen by a seeded reservoir sample (deterministic).
//!
//! Whole-capture labels are approximate: attack captures also hold benign
//! background (ARP, DNS, NTP, the victim's own traffic). Labelling all
//! their flows as the attack teaches the model some benign flows as
//! attacks; `docs/labelling.md` explains when to prefer a labels CSV or
//! rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_flow::Flow;
use netlens_ml::model::{Hyper, ModelKind, Output, TrainSpec, TrainedModel};
use netlens_ml::select::{FeatureSelection, LabelMapping};
use netlens_ml::table::{Column, ColumnData, Table};
use netlens_pipeline::RunConfig;

use crate::error::{DetectError, Result};
use crate::features::{ContextRow, FeatureSet, HostContext, refs_to_table_with};
use crate::labels::FlowLabels;

/// Where a capture's labels come from.
#[derive(Debug)]
pub enum CaptureLabels {
    /// A labels CSV matched by 5-tuple; `None` = unlabelled flows are skipped.
    Csv(FlowLabels, Option<String>),
    /// Every flow of the capture has this class.
    Whole(String),
}

/// One labelled capture.
#[derive(Debug)]
pub struct LabelledCapture {
    /// The capture file.
    pub path: PathBuf,
    /// Its labels.
    pub labels: CaptureLabels,
}

/// Flows kept from one capture.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureSummary {
    /// The capture file.
    pub path: PathBuf,
    /// Flows metered.
    pub flows: u64,
    /// Flows per class before sampling.
    pub per_class: BTreeMap<String, u64>,
    /// Flows kept per class after sampling.
    pub kept: BTreeMap<String, u64>,
    /// Flows without a label (skipped).
    pub unlabelled: u64,
}

/// Deterministic xorshift64* generator for the reservoir (not worth a dependency).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// Meter one capture and return its sampled labelled flows as a table
/// (features + identity columns + `label`).
pub fn capture_table(
    cap: &LabelledCapture,
    set: FeatureSet,
    max_per_class: usize,
    seed: u64,
) -> Result<(Table, CaptureSummary)> {
    let mut reader = CaptureReader::open(
        &[Input::from_arg(&cap.path.to_string_lossy())],
        &ReadOptions { sort_by_time: true },
    )?;
    let cfg = RunConfig {
        meter: set.meter_config(),
        ..RunConfig::default()
    };
    let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1);
    let mut reservoirs: BTreeMap<String, (u64, Vec<(Flow, ContextRow)>)> = BTreeMap::new();
    // Host context sees every flow of the capture in meter order, as in `detect`.
    let mut context = HostContext::default();
    let mut unlabelled = 0u64;
    let max = max_per_class.max(1);
    let report = netlens_pipeline::run::<DetectError>(
        &mut reader,
        &cfg,
        &mut [],
        &mut |flows| {
            for f in flows {
                if f.end_reason == netlens_flow::EndReason::Early {
                    // A snapshot duplicates a flow's final record: train on each flow once.
                    continue;
                }
                let ctx = if set.context {
                    context.observe(f)
                } else {
                    ContextRow::default()
                };
                let class = match &cap.labels {
                    CaptureLabels::Whole(c) => Some(c.as_str()),
                    CaptureLabels::Csv(l, default) => l.class_of(f).or(default.as_deref()),
                };
                let Some(class) = class else {
                    unlabelled += 1;
                    continue;
                };
                let (seen, res) = reservoirs.entry(class.to_string()).or_default();
                *seen += 1;
                if res.len() < max {
                    res.push((f.clone(), ctx));
                } else {
                    let j = rng.next() % *seen;
                    if let Some(slot) = usize::try_from(j).ok().and_then(|j| res.get_mut(j)) {
                        *slot = (f.clone(), ctx);
                    }
                }
            }
            Ok(())
        },
        &mut |_| {},
    )?;
    let mut flows: Vec<Flow> = Vec::new();
    let mut ctx_rows: Vec<ContextRow> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut per_class = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (class, (seen, res)) in reservoirs {
        per_class.insert(class.clone(), seen);
        kept.insert(class.clone(), res.len() as u64);
        labels.extend(std::iter::repeat_n(class, res.len()));
        for (f, c) in res {
            flows.push(f);
            ctx_rows.push(c);
        }
    }
    let refs: Vec<&Flow> = flows.iter().collect();
    let mut table = refs_to_table_with(&refs, set, Some(&ctx_rows));
    table.columns.push(Column {
        name: "label".into(),
        data: ColumnData::Str(labels),
    });
    Ok((
        table,
        CaptureSummary {
            path: cap.path.clone(),
            flows: report.flows,
            per_class,
            kept,
            unlabelled,
        },
    ))
}

/// Settings of [`train_detector`].
#[derive(Debug, Clone)]
pub struct DetectorSpec {
    /// Feature set.
    pub set: FeatureSet,
    /// Trees in the forest.
    pub trees: usize,
    /// Maximum tree depth.
    pub max_depth: Option<usize>,
    /// Random seed (sampling and forest).
    pub seed: u64,
    /// Flows kept per class and capture.
    pub max_per_class: usize,
    /// Feature columns left out of the model (on top of the set's own exclusions).
    pub exclude: Vec<String>,
    /// Minimum share of benign rows in the training set, in (0, 1): attack
    /// rows are subsampled (smallest classes kept whole) until benign flows
    /// make up at least this share. `None` keeps every row.
    pub benign_share: Option<f64>,
    /// Target false-positive rate on benign flows: the attack-score
    /// threshold is chosen by cross-validation grouped by capture file.
    /// `None` keeps the argmax decision.
    pub target_fpr: Option<f64>,
    /// Folds of that cross-validation (at most the number of benign captures).
    pub cv_folds: usize,
}

impl Default for DetectorSpec {
    fn default() -> Self {
        DetectorSpec {
            set: FeatureSet::full(),
            trees: 50,
            max_depth: Some(24),
            seed: 7,
            max_per_class: 5000,
            exclude: Vec::new(),
            benign_share: None,
            target_fpr: None,
            cv_folds: 4,
        }
    }
}

/// Flows of one class in the cross-validation and how many scored at or
/// above the threshold.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ClassCount {
    /// Out-of-fold flows of the class.
    pub flows: u64,
    /// Of which with attack score ≥ threshold.
    pub alerted: u64,
}

/// How the decision threshold was chosen ([`DetectorSpec::target_fpr`]).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ThresholdChoice {
    /// Target false-positive rate on benign flows.
    pub target_fpr: f64,
    /// Folds (groups of whole capture files).
    pub folds: usize,
    /// Chosen threshold on the attack score 1 − P(benign).
    pub threshold: f64,
    /// Out-of-fold flows per class at that threshold (benign: false positives).
    pub per_class: BTreeMap<String, ClassCount>,
    /// Out-of-fold false-positive rate at the argmax decision, for comparison.
    pub argmax_fpr: f64,
}

/// What [`train_detector`] did besides fitting the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainingReport {
    /// Per capture: flows metered and kept.
    pub captures: Vec<CaptureSummary>,
    /// Training rows per class after balancing ([`DetectorSpec::benign_share`]).
    pub rows_per_class: BTreeMap<String, u64>,
    /// The threshold choice, when a target false-positive rate was given.
    pub threshold: Option<ThresholdChoice>,
}

/// Meter every capture, build one training table and fit a random forest;
/// with [`DetectorSpec::target_fpr`], also choose and store its decision
/// threshold (`TrainedModel::threshold`, read by [`crate::Detector`]).
pub fn train_detector(
    caps: &[LabelledCapture],
    spec: &DetectorSpec,
) -> Result<(TrainedModel, TrainingReport)> {
    let mut tables = Vec::with_capacity(caps.len());
    let mut summaries = Vec::with_capacity(caps.len());
    let mut groups: Vec<usize> = Vec::new();
    for (i, c) in caps.iter().enumerate() {
        let (t, s) = capture_table(
            c,
            spec.set,
            spec.max_per_class,
            spec.seed.wrapping_add(i as u64),
        )?;
        groups.extend(std::iter::repeat_n(i, t.n_rows));
        tables.push(t);
        summaries.push(s);
    }
    let table = Table::concat(tables)?;
    let labels = label_column(&table)?.clone();
    let all: Vec<usize> = (0..table.n_rows).collect();
    let rows = balance_rows(&labels, &all, spec.benign_share, spec.seed)?;
    let mut rows_per_class = BTreeMap::new();
    for &r in &rows {
        if let Some(l) = labels.get(r) {
            *rows_per_class.entry(l.clone()).or_insert(0u64) += 1;
        }
    }
    let mut model = fit_rows(&table, &rows, spec)?;
    let threshold = match spec.target_fpr {
        Some(target) => {
            let choice = choose_threshold(&table, &labels, &groups, spec, target)?;
            model.threshold = Some(choice.threshold);
            Some(choice)
        }
        None => None,
    };
    Ok((
        model,
        TrainingReport {
            captures: summaries,
            rows_per_class,
            threshold,
        },
    ))
}

fn label_column(table: &Table) -> Result<&Vec<String>> {
    match table.column("label").map(|c| &c.data) {
        Ok(ColumnData::Str(v)) => Ok(v),
        _ => Err(DetectError::Invalid(
            "training table has no text 'label' column".into(),
        )),
    }
}

/// Seeded shuffle of `v` (Fisher–Yates).
fn shuffle<T>(v: &mut [T], rng: &mut Rng) {
    for i in (1..v.len()).rev() {
        let j = usize::try_from(rng.next() % (i as u64 + 1)).unwrap_or(0);
        v.swap(i, j);
    }
}

/// The rows of `rows` to train on so that benign rows are at least
/// `benign_share` of them: every benign row is kept and the attack classes
/// share the remaining budget by water-filling (a class smaller than its
/// fair share is kept whole, the larger ones get equal seeded random samples).
/// Undersampling rather than weighting because the forest takes no sample
/// weights; attack captures are floods and scans of near-identical flows,
/// so dropping some of them loses little.
pub fn balance_rows(
    labels: &[String],
    rows: &[usize],
    benign_share: Option<f64>,
    seed: u64,
) -> Result<Vec<usize>> {
    let Some(share) = benign_share else {
        return Ok(rows.to_vec());
    };
    if !(share > 0.0 && share < 1.0) {
        return Err(DetectError::Invalid(format!(
            "benign share must be in (0, 1), got {share}"
        )));
    }
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        if let Some(l) = labels.get(r) {
            by_class.entry(l.as_str()).or_default().push(r);
        }
    }
    let benign = by_class.remove("benign").unwrap_or_default();
    let budget = (benign.len() as f64 * (1.0 - share) / share).floor() as usize;
    let attack_total: usize = by_class.values().map(Vec::len).sum();
    let mut out = benign;
    if attack_total <= budget {
        out.extend(by_class.into_values().flatten());
        out.sort_unstable();
        return Ok(out);
    }
    let mut classes: Vec<Vec<usize>> = by_class.into_values().collect();
    classes.sort_by_key(Vec::len);
    let mut left = budget;
    let mut rng = Rng(seed ^ 0xD1B5_4A32_D192_ED03 | 1);
    let n = classes.len();
    for (i, mut c) in classes.into_iter().enumerate() {
        let cap = left / (n - i).max(1);
        if c.len() > cap {
            shuffle(&mut c, &mut rng);
            c.truncate(cap.max(1));
        }
        left = left.saturating_sub(c.len());
        out.extend(c);
    }
    out.sort_unstable();
    Ok(out)
}

/// Attack scores (1 − P(benign)) of `rows` under `model`.
fn attack_scores(model: &TrainedModel, table: &Table, rows: &[usize]) -> Result<Vec<f64>> {
    let x = model.features(&table.take_rows(rows))?;
    let k = model.classes.len().max(1);
    let Output::Proba(p) = model.output(&x)? else {
        return Err(DetectError::Invalid(
            "the model does not output class probabilities".into(),
        ));
    };
    let benign = model.classes.iter().position(|c| c == "benign");
    let scores: Vec<f64> = p
        .chunks(k)
        .map(|r| 1.0 - benign.and_then(|b| r.get(b).copied()).unwrap_or(0.0))
        .collect();
    if scores.len() != rows.len() {
        return Err(DetectError::Invalid(format!(
            "model scored {} of {} rows",
            scores.len(),
            rows.len()
        )));
    }
    Ok(scores)
}

/// The threshold on the attack score that keeps at most `target` of the
/// benign scores at or above it: just above the (⌊target·n⌋+1)-th highest
/// benign score (all scores are in \[0, 1\]; above 1 nothing alerts).
pub fn threshold_for_fpr(benign_scores: &[f64], target: f64) -> f64 {
    let mut s: Vec<f64> = benign_scores
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    if s.is_empty() {
        return 0.5;
    }
    s.sort_by(|a, b| b.total_cmp(a));
    let allowed = (target.clamp(0.0, 1.0) * s.len() as f64).floor() as usize;
    match s.get(allowed) {
        // Strictly above the first benign score that must not alert; scores
        // are averages of leaf frequencies, so 1e-9 separates them.
        Some(&v) => (v + 1e-9).min(1.0 + 1e-9),
        None => 0.0,
    }
}

/// Choose the decision threshold by cross-validation grouped by capture:
/// whole captures go to folds (benign captures dealt round-robin after a
/// seeded shuffle, likewise the attack captures), each fold is scored by a
/// forest trained on the other folds (balanced like the final model), and
/// the threshold is taken from the pooled out-of-fold benign scores.
fn choose_threshold(
    table: &Table,
    labels: &[String],
    groups: &[usize],
    spec: &DetectorSpec,
    target: f64,
) -> Result<ThresholdChoice> {
    if !(0.0..1.0).contains(&target) {
        return Err(DetectError::Invalid(format!(
            "target false-positive rate must be in [0, 1), got {target}"
        )));
    }
    // A capture's stratum: benign when most of its rows are benign.
    let n_groups = groups.iter().copied().max().map_or(0, |m| m + 1);
    let mut benign_rows = vec![0usize; n_groups];
    let mut all_rows = vec![0usize; n_groups];
    for (&g, l) in groups.iter().zip(labels) {
        if let (Some(a), Some(b)) = (all_rows.get_mut(g), benign_rows.get_mut(g)) {
            *a += 1;
            if l == "benign" {
                *b += 1;
            }
        }
    }
    let (mut ben, mut att): (Vec<usize>, Vec<usize>) = (0..n_groups)
        .filter(|&g| all_rows.get(g).is_some_and(|&n| n > 0))
        .partition(|&g| {
            benign_rows.get(g).copied().unwrap_or(0) * 2 > all_rows.get(g).copied().unwrap_or(0)
        });
    let folds = spec.cv_folds.min(ben.len());
    if folds < 2 {
        return Err(DetectError::Invalid(format!(
            "choosing a threshold by cross-validation needs at least 2 benign captures (whole-capture or mostly benign); got {}",
            ben.len()
        )));
    }
    if att.len() < 2 {
        return Err(DetectError::Invalid(format!(
            "choosing a threshold by cross-validation needs at least 2 attack captures; got {}",
            att.len()
        )));
    }
    let mut rng = Rng(spec.seed ^ 0x94D0_49BB_1331_11EB | 1);
    shuffle(&mut ben, &mut rng);
    shuffle(&mut att, &mut rng);
    let mut fold_of = vec![0usize; n_groups];
    for (i, &g) in ben.iter().enumerate() {
        if let Some(f) = fold_of.get_mut(g) {
            *f = i % folds;
        }
    }
    for (i, &g) in att.iter().enumerate() {
        if let Some(f) = fold_of.get_mut(g) {
            *f = i % folds;
        }
    }
    let mut oof = vec![f64::NAN; table.n_rows];
    let mut argmax_fp = 0u64;
    for fold in 0..folds {
        let in_fold = |r: &usize| groups.get(*r).and_then(|g| fold_of.get(*g)) == Some(&fold);
        let (test, train): (Vec<usize>, Vec<usize>) = (0..table.n_rows).partition(in_fold);
        let train = balance_rows(labels, &train, spec.benign_share, spec.seed)?;
        let has = |benign: bool| {
            train
                .iter()
                .any(|&r| labels.get(r).is_some_and(|l| (l == "benign") == benign))
        };
        if test.is_empty() || !has(true) || !has(false) {
            continue;
        }
        let m = fit_rows(table, &train, spec)?;
        let scores = attack_scores(&m, table, &test)?;
        // Argmax decision of the fold model, for the comparison figure.
        let x = m.features(&table.take_rows(&test))?;
        if let Output::Proba(p) = m.output(&x)? {
            let k = m.classes.len().max(1);
            let b = m.classes.iter().position(|c| c == "benign");
            for (row, &r) in p.chunks(k).zip(&test) {
                let best = row
                    .iter()
                    .enumerate()
                    .fold(None::<(usize, f64)>, |acc, (i, &v)| match acc {
                        Some((_, bv)) if bv >= v => acc,
                        _ => Some((i, v)),
                    })
                    .map(|(i, _)| i);
                if labels.get(r).is_some_and(|l| l == "benign") && best != b {
                    argmax_fp += 1;
                }
            }
        }
        for (&r, s) in test.iter().zip(scores) {
            if let Some(o) = oof.get_mut(r) {
                *o = s;
            }
        }
    }
    let benign_scores: Vec<f64> = oof
        .iter()
        .zip(labels)
        .filter(|(s, l)| s.is_finite() && *l == "benign")
        .map(|(s, _)| *s)
        .collect();
    let threshold = threshold_for_fpr(&benign_scores, target);
    let mut per_class: BTreeMap<String, ClassCount> = BTreeMap::new();
    for (s, l) in oof.iter().zip(labels) {
        if !s.is_finite() {
            continue;
        }
        let c = per_class.entry(l.clone()).or_default();
        c.flows += 1;
        if *s >= threshold {
            c.alerted += 1;
        }
    }
    Ok(ThresholdChoice {
        target_fpr: target,
        folds,
        threshold,
        per_class,
        argmax_fpr: argmax_fp as f64 / benign_scores.len().max(1) as f64,
    })
}

/// Fit the detector's random forest on a table with a `label` column.
pub fn fit(table: &Table, spec: &DetectorSpec) -> Result<TrainedModel> {
    let all: Vec<usize> = (0..table.n_rows).collect();
    fit_rows(table, &all, spec)
}

/// Fit the detector's random forest on the rows `rows` of a table with a `label` column.
pub fn fit_rows(table: &Table, rows: &[usize], spec: &DetectorSpec) -> Result<TrainedModel> {
    let labels = label_column(table)?;
    let in_rows = || rows.iter().filter_map(|&r| labels.get(r));
    if !in_rows().any(|l| l == "benign") {
        return Err(DetectError::Invalid(
            "no benign flows in the training data: add --benign-capture or benign rows to the labels".into(),
        ));
    }
    if !in_rows().any(|l| l != "benign") {
        return Err(DetectError::Invalid(
            "no attack flows in the training data".into(),
        ));
    }
    let train_spec = TrainSpec {
        kind: ModelKind::RandomForest,
        label: Some("label".into()),
        mapping: LabelMapping::AsIs,
        features: FeatureSelection {
            include: spec.set.feature_names(),
            exclude: spec.exclude.clone(),
        },
        time_column: None,
        preprocess: None,
        hyper: Hyper {
            n_trees: spec.trees.max(1),
            max_depth: spec.max_depth,
            seed: spec.seed,
            ..Hyper::default()
        },
        threshold: None,
    };
    Ok(netlens_ml::model::train_rows(
        table,
        rows,
        &train_spec,
        &|_| None,
    )?)
}

/// Whether a path looks like a capture netlens reads.
pub fn is_capture(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
        .iter()
        .any(|e| n.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(spec: &[(&str, usize)]) -> Vec<String> {
        spec.iter()
            .flat_map(|(l, n)| std::iter::repeat_n(l.to_string(), *n))
            .collect()
    }

    fn count(labels: &[String], rows: &[usize], class: &str) -> usize {
        rows.iter().filter(|&&r| labels[r] == class).count()
    }

    #[test]
    fn balance_keeps_benign_and_small_classes_and_caps_big_ones() {
        let l = labels(&[
            ("benign", 100),
            ("ddos", 1000),
            ("exploit", 10),
            ("scan", 300),
        ]);
        let all: Vec<usize> = (0..l.len()).collect();
        assert_eq!(balance_rows(&l, &all, None, 1).unwrap(), all);
        let rows = balance_rows(&l, &all, Some(0.5), 1).unwrap();
        assert_eq!(count(&l, &rows, "benign"), 100);
        assert_eq!(count(&l, &rows, "exploit"), 10);
        // Budget 100 attack rows: exploit keeps 10, the other two get 45 each.
        assert_eq!(count(&l, &rows, "scan"), 45);
        assert_eq!(count(&l, &rows, "ddos"), 45);
        assert!(
            rows.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        // Deterministic for a seed, different for another.
        assert_eq!(rows, balance_rows(&l, &all, Some(0.5), 1).unwrap());
        assert_ne!(rows, balance_rows(&l, &all, Some(0.5), 2).unwrap());
        // A small attack side is left alone.
        let few = labels(&[("benign", 100), ("scan", 20)]);
        let all: Vec<usize> = (0..few.len()).collect();
        assert_eq!(balance_rows(&few, &all, Some(0.5), 1).unwrap(), all);
        assert!(balance_rows(&l, &all, Some(1.0), 1).is_err());
        assert!(balance_rows(&l, &all, Some(f64::NAN), 1).is_err());
    }

    #[test]
    fn threshold_keeps_benign_alerts_within_the_target() {
        let scores: Vec<f64> = (0..200).map(|i| f64::from(i) / 200.0).collect();
        for target in [0.0, 0.01, 0.05, 0.5] {
            let t = threshold_for_fpr(&scores, target);
            let fp = scores.iter().filter(|&&s| s >= t).count();
            assert!(
                fp as f64 <= target * 200.0,
                "target {target}: {fp} alerts at {t}"
            );
            // And it is the lowest such threshold (one more benign score would alert).
            assert!(fp as f64 > target * 200.0 - 1.0, "target {target}: {fp}");
        }
        // Ties: a block of equal scores alerts together or not at all.
        let tied = [0.9, 0.9, 0.9, 0.1];
        let t = threshold_for_fpr(&tied, 0.5);
        assert!(t > 0.9);
        assert!(threshold_for_fpr(&[], 0.01) == 0.5);
        assert!(threshold_for_fpr(&[f64::NAN, 0.2], 0.0) > 0.2);
    }
}
