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
use netlens_ml::model::{Hyper, ModelKind, TrainSpec, TrainedModel};
use netlens_ml::select::{FeatureSelection, LabelMapping};
use netlens_ml::table::{Column, ColumnData, Table};
use netlens_pipeline::RunConfig;

use crate::error::{DetectError, Result};
use crate::features::{FeatureSet, flows_to_table};
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
    let mut reservoirs: BTreeMap<String, (u64, Vec<Flow>)> = BTreeMap::new();
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
                    res.push(f.clone());
                } else {
                    let j = rng.next() % *seen;
                    if let Some(slot) = usize::try_from(j).ok().and_then(|j| res.get_mut(j)) {
                        *slot = f.clone();
                    }
                }
            }
            Ok(())
        },
        &mut |_| {},
    )?;
    let mut flows: Vec<Flow> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut per_class = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (class, (seen, res)) in reservoirs {
        per_class.insert(class.clone(), seen);
        kept.insert(class.clone(), res.len() as u64);
        labels.extend(std::iter::repeat_n(class, res.len()));
        flows.extend(res);
    }
    let mut table = flows_to_table(&flows, set);
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
}

impl Default for DetectorSpec {
    fn default() -> Self {
        DetectorSpec {
            set: FeatureSet::full(),
            trees: 50,
            max_depth: Some(24),
            seed: 7,
            max_per_class: 5000,
        }
    }
}

/// Meter every capture, build one training table and fit a random forest.
pub fn train_detector(
    caps: &[LabelledCapture],
    spec: &DetectorSpec,
) -> Result<(TrainedModel, Vec<CaptureSummary>)> {
    let mut tables = Vec::with_capacity(caps.len());
    let mut summaries = Vec::with_capacity(caps.len());
    for (i, c) in caps.iter().enumerate() {
        let (t, s) = capture_table(
            c,
            spec.set,
            spec.max_per_class,
            spec.seed.wrapping_add(i as u64),
        )?;
        tables.push(t);
        summaries.push(s);
    }
    let table = Table::concat(tables)?;
    let model = fit(&table, spec)?;
    Ok((model, summaries))
}

/// Fit the detector's random forest on a table with a `label` column.
pub fn fit(table: &Table, spec: &DetectorSpec) -> Result<TrainedModel> {
    let labels = match table.column("label").map(|c| &c.data) {
        Ok(ColumnData::Str(v)) => v,
        _ => {
            return Err(DetectError::Invalid(
                "training table has no text 'label' column".into(),
            ));
        }
    };
    if !labels.iter().any(|l| l == "benign") {
        return Err(DetectError::Invalid(
            "no benign flows in the training data: add --benign-capture or benign rows to the labels".into(),
        ));
    }
    if !labels.iter().any(|l| l != "benign") {
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
            exclude: Vec::new(),
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
    Ok(netlens_ml::model::train(table, &train_spec, &|_| None)?)
}

/// Whether a path looks like a capture netlens reads.
pub fn is_capture(p: &Path) -> bool {
    let n = p.to_string_lossy().to_ascii_lowercase();
    [".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"]
        .iter()
        .any(|e| n.ends_with(e))
}
