//! The end-to-end workflow: choose columns, fit preprocessing and a model,
//! predict, evaluate, and save/load self-describing model files.
//!
//! Invariants: a [`TrainedModel`] carries everything needed to score a raw
//! table (label mapping, class names, fitted pipeline, estimator), so
//! prediction never refits anything. Model files are
//! `MAGIC | format version (u32 LE) | payload length (u64 LE) | CRC-32 (u32 LE) | postcard payload`;
//! loading checks all four before decoding, then validates the estimator
//! against the pipeline, so a corrupted, truncated, foreign or
//! future-version file is rejected with an error, never a panic. Decoding
//! is plain data (postcard + serde): no code is ever deserialised.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::forest::{Forest, ForestParams};
use crate::gbt::{Gbt, GbtParams};
use crate::iforest::IsolationForest;
use crate::linear::{KMeans, LinearRegression, LogisticRegression};
use crate::matrix::Matrix;
use crate::metrics::{self, ClassificationMetrics, RegressionMetrics};
use crate::preprocess::{FitReport, Pipeline, PreprocessConfig, Scaling};
use crate::select::{self, FeatureSelection, GroupResolver, LabelMapping};
use crate::split::{self, SplitMethod};
use crate::table::{ColumnData, Table};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"NLMODEL\x01";
/// Model file format version written by this build.
pub const FORMAT_VERSION: u32 = 1;
/// Largest model payload accepted (1 GiB).
pub const MAX_PAYLOAD: u64 = 1 << 30;

/// The model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelKind {
    /// Ordinary least squares (regression).
    Linear,
    /// Ridge regression.
    Ridge,
    /// Logistic regression (binary or multinomial).
    Logistic,
    /// One CART decision tree.
    Tree,
    /// Random forest.
    RandomForest,
    /// Gradient-boosted trees.
    Gbt,
    /// Isolation forest (unsupervised anomaly score).
    IsolationForest,
    /// k-means clustering.
    KMeans,
}

impl ModelKind {
    /// Whether the model needs a label column.
    pub fn supervised(self) -> bool {
        !matches!(self, ModelKind::IsolationForest | ModelKind::KMeans)
    }
    /// Whether the model predicts a number.
    pub fn regression(self) -> bool {
        matches!(self, ModelKind::Linear | ModelKind::Ridge)
    }
    /// Scaling used when the caller does not choose one.
    pub fn default_scaling(self) -> Scaling {
        match self {
            ModelKind::Linear | ModelKind::Ridge => Scaling::None,
            ModelKind::Logistic | ModelKind::KMeans => Scaling::Standard,
            _ => Scaling::None,
        }
    }
}

/// Hyper-parameters (each model reads the ones it uses).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hyper {
    /// Trees (forest, isolation forest).
    pub n_trees: usize,
    /// Maximum depth (trees; boosting uses `gbt_depth`).
    pub max_depth: Option<usize>,
    /// Features per split (random forest; None = floor(sqrt(p)), as scikit-learn).
    pub max_features: Option<usize>,
    /// Boosting rounds.
    pub iterations: usize,
    /// Boosting learning rate.
    pub learning_rate: f32,
    /// Boosting tree depth.
    pub gbt_depth: usize,
    /// Ridge / logistic L2 penalty.
    pub alpha: f64,
    /// Clusters (k-means).
    pub k: usize,
    /// Rows per isolation tree.
    pub sample_size: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for Hyper {
    fn default() -> Self {
        Hyper {
            n_trees: 100,
            max_depth: None,
            max_features: None,
            iterations: 100,
            learning_rate: 0.1,
            gbt_depth: 6,
            alpha: 1.0,
            k: 8,
            sample_size: 256,
            seed: 0,
        }
    }
}

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainSpec {
    /// Model family.
    pub kind: ModelKind,
    /// Label column (required for supervised models; optional otherwise,
    /// where it is only used for evaluation).
    pub label: Option<String>,
    /// Label → class mapping.
    pub mapping: LabelMapping,
    /// Feature columns.
    pub features: FeatureSelection,
    /// Column ordering rows in time (excluded from features).
    pub time_column: Option<String>,
    /// Preprocessing (None = defaults with the model's default scaling).
    pub preprocess: Option<PreprocessConfig>,
    /// Hyper-parameters.
    pub hyper: Hyper,
    /// Decision threshold on the positive-class score (binary tasks and
    /// isolation forest).
    pub threshold: Option<f64>,
}

/// A fitted estimator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Estimator {
    /// OLS / ridge.
    Linear(LinearRegression),
    /// Logistic regression.
    Logistic(LogisticRegression),
    /// Tree or random forest.
    Forest(Forest),
    /// Gradient boosting.
    Gbt(Gbt),
    /// Isolation forest.
    IsolationForest(IsolationForest),
    /// k-means.
    KMeans(KMeans),
}

/// Metadata recorded at training time.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingMeta {
    /// netlens-ml version that wrote the model.
    pub version: String,
    /// Seconds since the Unix epoch.
    pub created_unix: u64,
    /// Training rows used.
    pub train_rows: usize,
    /// Wall-clock training seconds.
    pub train_seconds: f64,
    /// Hyper-parameters.
    pub hyper: Hyper,
    /// Preprocessing report.
    pub report: FitReport,
}

/// Everything needed to score a raw table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedModel {
    /// Model family.
    pub kind: ModelKind,
    /// Label column used in training.
    pub label: Option<String>,
    /// Label → class mapping.
    pub mapping: LabelMapping,
    /// Class names (empty for regression and clustering).
    pub classes: Vec<String>,
    /// Decision threshold on the positive-class score (binary only).
    pub threshold: Option<f64>,
    /// Fitted preprocessing.
    pub pipeline: Pipeline,
    /// Fitted estimator.
    pub estimator: Estimator,
    /// Training metadata.
    pub meta: TrainingMeta,
}

/// Model output for a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Regression values.
    Values(Vec<f64>),
    /// Class probabilities, row-major `n × classes`.
    Proba(Vec<f64>),
    /// Anomaly scores in (0, 1].
    Anomaly(Vec<f64>),
    /// Cluster id and distance to its centroid.
    Clusters(Vec<(u32, f64)>),
}

/// One row's prediction as text plus a score.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Predicted class / value / cluster as text.
    pub prediction: Vec<String>,
    /// Score: P(predicted class), P(positive) for binary tasks, anomaly
    /// score, value, or centroid distance.
    pub score: Vec<f64>,
}

fn class_ids(labels: &[String], classes: &[String]) -> Vec<u32> {
    labels
        .iter()
        .map(|l| {
            classes
                .iter()
                .position(|c| c == l)
                .map_or(u32::MAX, |i| i as u32)
        })
        .collect()
}

fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl TrainSpec {
    /// Rejects option values that would train a degenerate model silently:
    /// a threshold outside [0, 1] (every prediction one class), zero depth,
    /// trees, iterations or clusters, a learning rate or ridge alpha that is
    /// not a positive (alpha: non-negative) finite number. The message names
    /// the option as the Python API spells it (the CLI's flags are the same
    /// words with dashes).
    pub fn check_options(&self) -> Result<()> {
        let h = &self.hyper;
        let bad = |what: String| Err(MlError::InvalidParameter(what));
        if let Some(t) = self.threshold
            && !(0.0..=1.0).contains(&t)
        {
            return bad(format!(
                "threshold must be a probability / anomaly score from 0 to 1, got {t}"
            ));
        }
        let at_least_one = [
            ("max_depth", h.max_depth.unwrap_or(1)),
            ("max_features", h.max_features.unwrap_or(1)),
            ("gbt_depth", h.gbt_depth),
            ("iterations", h.iterations),
            ("n_trees", h.n_trees),
            ("k", h.k),
            ("sample_size", h.sample_size),
        ];
        if let Some((name, v)) = at_least_one.iter().find(|(_, v)| *v == 0) {
            return bad(format!("{name} must be at least 1, got {v}"));
        }
        if !(h.learning_rate.is_finite() && h.learning_rate > 0.0) {
            return bad(format!(
                "learning_rate must be a positive number, got {}",
                h.learning_rate
            ));
        }
        if !(h.alpha.is_finite() && h.alpha >= 0.0) {
            return bad(format!(
                "alpha must be a non-negative number, got {}",
                h.alpha
            ));
        }
        Ok(())
    }
}

/// Fits `spec` on all rows of `table`.
pub fn train(table: &Table, spec: &TrainSpec, groups: GroupResolver<'_>) -> Result<TrainedModel> {
    let all: Vec<usize> = (0..table.n_rows).collect();
    train_rows(table, &all, spec, groups)
}

/// Fits `spec` on the rows `rows` of `table`.
pub fn train_rows(
    table: &Table,
    rows: &[usize],
    spec: &TrainSpec,
    groups: GroupResolver<'_>,
) -> Result<TrainedModel> {
    let start = std::time::Instant::now();
    let kind = spec.kind;
    spec.check_options()?;
    if kind.supervised() && spec.label.is_none() {
        return Err(MlError::InvalidInput(format!(
            "model {kind:?} needs a label column"
        )));
    }
    let mut reserved: Vec<&str> = Vec::new();
    if let Some(l) = &spec.label {
        table.column(l)?;
        reserved.push(l);
    }
    if let Some(t) = &spec.time_column {
        table.column(t)?;
        reserved.push(t);
    }
    let features = select::select_features(table, &spec.features, &reserved, groups)?;
    // Rows without a label value teach nothing: leave them out (callers
    // report the count with `select::missing_labels`).
    let labelled;
    let rows = match &spec.label {
        Some(l) if kind.supervised() && !kind.regression() => {
            labelled = select::labelled_rows(table, l, rows)?.0;
            if labelled.is_empty() {
                return Err(MlError::InvalidInput(format!(
                    "no training row has a value in the label column {l:?}"
                )));
            }
            &labelled[..]
        }
        _ => rows,
    };
    let train = table.take_rows(rows);
    let mut cfg = spec.preprocess.clone().unwrap_or_default();
    if spec.preprocess.is_none() {
        cfg.scaling = kind.default_scaling();
    }
    let (pipeline, keep) = Pipeline::fit(&train, &features, &cfg)?;
    let train = if keep.len() < train.n_rows {
        train.take_rows(&keep)
    } else {
        train
    };
    let x = pipeline.transform(&train)?;
    let h = &spec.hyper;
    let (classes, estimator) = if kind.regression() {
        let label = spec.label.as_deref().unwrap_or_default();
        let y = select::label_numbers(&train, label)?;
        let m = match kind {
            ModelKind::Ridge => LinearRegression::fit_ridge(&x, &y, h.alpha)?,
            _ => LinearRegression::fit_ols(&x, &y)?,
        };
        (Vec::new(), Estimator::Linear(m))
    } else {
        let classes: Vec<String> = match (&spec.label, &spec.mapping) {
            (None, _) => Vec::new(),
            (Some(_), LabelMapping::Benign(_) | LabelMapping::Positive(_)) => {
                select::BINARY_CLASSES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }
            (Some(l), LabelMapping::AsIs) => {
                let mut v = select::label_strings(&train, l, &spec.mapping)?;
                // A total order: equal labels end up next to each other.
                select::sort_classes(&mut v);
                v.dedup();
                v
            }
        };
        let y = match &spec.label {
            Some(l) => class_ids(&select::label_strings(&train, l, &spec.mapping)?, &classes),
            None => Vec::new(),
        };
        if kind.supervised() {
            // Count the classes that occur after the mapping: a binary
            // mapping always names two classes, but a `benign` value that
            // matches nothing leaves only one.
            let mut present = vec![false; classes.len()];
            for &c in &y {
                if let Some(p) = present.get_mut(c as usize) {
                    *p = true;
                }
            }
            let n_present = present.iter().filter(|p| **p).count();
            if n_present < 2 {
                let l = spec.label.as_deref().unwrap_or_default();
                return Err(one_class_error(&train, l, &spec.mapping, n_present));
            }
        }
        let k = classes.len();
        let est = match kind {
            ModelKind::Logistic => {
                Estimator::Logistic(LogisticRegression::fit(&x, &y, k, h.alpha)?)
            }
            ModelKind::Tree | ModelKind::RandomForest => {
                let mut p = if kind == ModelKind::Tree {
                    ForestParams::single_tree()
                } else {
                    let mut p = ForestParams::random_forest(x.n_cols);
                    p.n_trees = h.n_trees;
                    if h.max_features.is_some() {
                        p.max_features = h.max_features;
                    }
                    p
                };
                p.max_depth = h.max_depth;
                p.seed = h.seed;
                Estimator::Forest(Forest::fit(&x, &y, k, &p)?)
            }
            ModelKind::Gbt => Estimator::Gbt(Gbt::fit(
                &x,
                &y,
                k,
                &GbtParams {
                    iterations: h.iterations,
                    learning_rate: h.learning_rate,
                    max_depth: h.gbt_depth,
                    seed: h.seed,
                },
            )?),
            ModelKind::IsolationForest => Estimator::IsolationForest(IsolationForest::fit(
                &x,
                h.n_trees,
                h.sample_size,
                h.seed,
            )?),
            ModelKind::KMeans => Estimator::KMeans(KMeans::fit(&x, h.k, 100, h.seed)?),
            ModelKind::Linear | ModelKind::Ridge => unreachable_regression()?,
        };
        (classes, est)
    };
    let binary = classes.len() == 2 || kind == ModelKind::IsolationForest;
    Ok(TrainedModel {
        kind,
        label: spec.label.clone(),
        mapping: spec.mapping.clone(),
        classes,
        threshold: if binary {
            Some(spec.threshold.unwrap_or(0.5))
        } else {
            None
        },
        meta: TrainingMeta {
            version: env!("CARGO_PKG_VERSION").to_string(),
            created_unix: now_unix(),
            train_rows: x.n_rows,
            train_seconds: start.elapsed().as_secs_f64(),
            hyper: h.clone(),
            report: pipeline.report.clone(),
        },
        pipeline,
        estimator,
    })
}

/// The error for a label with fewer than two classes after mapping, naming
/// the raw values that exist.
fn one_class_error(table: &Table, label: &str, mapping: &LabelMapping, n: usize) -> MlError {
    let mut values: Vec<String> = table
        .column(label)
        .map(|c| {
            (0..table.n_rows)
                .map(|i| c.data.text(i).trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    values.sort();
    values.dedup();
    let total = values.len();
    values.truncate(20);
    let seen = format!(
        "{}{}",
        values
            .iter()
            .map(|v| format!("{v:?}"))
            .collect::<Vec<_>>()
            .join(", "),
        if total > values.len() {
            format!(", … ({total} values)")
        } else {
            String::new()
        }
    );
    let mapped = match mapping {
        LabelMapping::AsIs => None,
        LabelMapping::Benign(v) => Some(("benign", "attack", v)),
        LabelMapping::Positive(v) => Some(("positive", "benign", v)),
    };
    let why = match mapped {
        None => String::new(),
        Some((kind, other, v)) if values.iter().any(|x| v.contains(x)) => {
            format!(" (every value is one of the {kind} values {v:?}, so there is no {other} row)")
        }
        Some((kind, _, v)) => format!(
            " (no value is one of the {kind} values {v:?}; values are compared exactly, case included)"
        ),
    };
    MlError::InvalidInput(format!(
        "the label {label:?} has {n} class(es) in the training rows after mapping; need at least 2{why}; values present: {seen}"
    ))
}

fn unreachable_regression() -> Result<Estimator> {
    Err(MlError::InvalidParameter(
        "regression model in the classification path".into(),
    ))
}

impl TrainedModel {
    /// Preprocessed feature matrix of a raw table.
    pub fn features(&self, table: &Table) -> Result<Matrix> {
        self.pipeline.transform(table)
    }

    /// Raw model output for a preprocessed matrix.
    pub fn output(&self, x: &Matrix) -> Result<Output> {
        Ok(match &self.estimator {
            Estimator::Linear(m) => Output::Values(m.predict(x)),
            Estimator::Logistic(m) => Output::Proba(m.predict_proba(x)),
            Estimator::Forest(m) => Output::Proba(m.predict_proba(x)),
            Estimator::Gbt(m) => Output::Proba(m.predict_proba(x)?),
            Estimator::IsolationForest(m) => Output::Anomaly(m.score(x)),
            Estimator::KMeans(m) => Output::Clusters(m.assign(x)),
        })
    }

    /// Predicted class ids (classification/anomaly) from an output.
    fn class_predictions(&self, out: &Output) -> Vec<u32> {
        let t = self.threshold.unwrap_or(0.5);
        let k = self.classes.len().max(1);
        match out {
            Output::Proba(p) if k == 2 => p
                .chunks(2)
                .map(|r| u32::from(r.get(1).is_some_and(|v| *v >= t)))
                .collect(),
            Output::Proba(p) => p.chunks(k).map(|r| argmax(r) as u32).collect(),
            Output::Anomaly(s) => s.iter().map(|v| u32::from(*v >= t)).collect(),
            _ => Vec::new(),
        }
    }

    /// Predictions and scores for a raw table.
    pub fn predict(&self, table: &Table) -> Result<Scored> {
        let x = self.features(table)?;
        let out = self.output(&x)?;
        let k = self.classes.len().max(1);
        Ok(match &out {
            Output::Values(v) => Scored {
                prediction: v.iter().map(|x| crate::table::fmt_num(*x)).collect(),
                score: v.clone(),
            },
            Output::Proba(p) => {
                let ids = self.class_predictions(&out);
                let score = if k == 2 {
                    p.chunks(2)
                        .map(|r| r.get(1).copied().unwrap_or(0.0))
                        .collect()
                } else {
                    p.chunks(k)
                        .zip(&ids)
                        .map(|(r, &c)| r.get(c as usize).copied().unwrap_or(0.0))
                        .collect()
                };
                Scored {
                    prediction: ids
                        .iter()
                        .map(|&c| self.classes.get(c as usize).cloned().unwrap_or_default())
                        .collect(),
                    score,
                }
            }
            Output::Anomaly(s) => {
                let ids = self.class_predictions(&out);
                let names = if self.classes.len() == 2 {
                    self.classes.clone()
                } else {
                    vec!["normal".to_string(), "anomaly".to_string()]
                };
                Scored {
                    prediction: ids
                        .iter()
                        .map(|&c| names.get(c as usize).cloned().unwrap_or_default())
                        .collect(),
                    score: s.clone(),
                }
            }
            Output::Clusters(c) => Scored {
                prediction: c.iter().map(|(id, _)| id.to_string()).collect(),
                score: c.iter().map(|(_, d)| *d).collect(),
            },
        })
    }

    /// Evaluates on a labelled table (all its rows).
    pub fn evaluate(&self, table: &Table, with_permutation: bool) -> Result<Evaluation> {
        let x = self.features(table)?;
        self.evaluate_matrix(table, &x, with_permutation)
    }

    fn evaluate_matrix(
        &self,
        table: &Table,
        x: &Matrix,
        with_permutation: bool,
    ) -> Result<Evaluation> {
        let label = self.label.as_deref().ok_or_else(|| {
            MlError::InvalidInput(
                "model was trained without a label; nothing to evaluate against".into(),
            )
        })?;
        let out = self.output(x)?;
        let truth = if matches!(out, Output::Proba(_) | Output::Anomaly(_)) {
            self.truth(table, label)?
        } else {
            Truth::all(table.n_rows)
        };
        let metrics = self.score_output(table, label, &truth, &out)?;
        let impurity = match &self.estimator {
            Estimator::Forest(f) => Some(f.importances.clone()),
            Estimator::Gbt(g) => Some(g.importances.clone()),
            _ => None,
        };
        let permutation = if with_permutation && !matches!(metrics, Metrics::Clustering { .. }) {
            Some(self.permutation_importance(table, label, &truth, x, &metrics)?)
        } else {
            None
        };
        let importance = self
            .pipeline
            .feature_names
            .iter()
            .enumerate()
            .map(|(i, n)| FeatureImportance {
                feature: n.clone(),
                impurity: impurity.as_ref().and_then(|v| v.get(i).copied()),
                permutation: permutation.as_ref().and_then(|v| v.get(i).copied()),
            })
            .collect();
        Ok(Evaluation {
            model: self.kind,
            rows: truth.rows.len(),
            unseen_label_rows: truth.unseen_rows,
            unseen_labels: truth.unseen,
            unlabelled_rows: truth.unlabelled,
            metrics,
            importance,
        })
    }

    /// The true classes of a labelled table: rows without a label value are
    /// left out; labels the model never saw become extra classes after the
    /// model's own (so those rows count as misclassified).
    fn truth(&self, table: &Table, label: &str) -> Result<Truth> {
        let all: Vec<usize> = (0..table.n_rows).collect();
        let (rows, unlabelled) = select::labelled_rows(table, label, &all)?;
        let col = table.column(label)?;
        let names: Vec<String> = rows
            .iter()
            .map(|&i| self.mapping.map(&col.data.text(i)))
            .collect();
        let mut unseen: Vec<String> = names
            .iter()
            .filter(|n| !self.classes.contains(n))
            .cloned()
            .collect();
        unseen.sort();
        unseen.dedup();
        let classes: Vec<String> = self.classes.iter().chain(&unseen).cloned().collect();
        let ids = class_ids(&names, &classes);
        let unseen_rows = ids
            .iter()
            .filter(|&&c| c as usize >= self.classes.len())
            .count();
        Ok(Truth {
            rows,
            ids,
            classes,
            unseen,
            unseen_rows,
            unlabelled,
        })
    }

    fn score_output(
        &self,
        table: &Table,
        label: &str,
        truth: &Truth,
        out: &Output,
    ) -> Result<Metrics> {
        let k = self.classes.len();
        let classify = |p: &[f64]| -> Metrics {
            let all_pred = self.class_predictions(out);
            let pred: Vec<u32> = truth
                .rows
                .iter()
                .map(|&r| all_pred.get(r).copied().unwrap_or(u32::MAX))
                .collect();
            let scores: Vec<f64> = truth
                .rows
                .iter()
                .flat_map(|&r| p.get(r * k..(r + 1) * k).unwrap_or(&[]).iter().copied())
                .collect();
            if truth.unseen.is_empty() {
                return Metrics::Classification(metrics::classification(
                    &self.classes,
                    &truth.ids,
                    &pred,
                    Some(&scores),
                    self.threshold,
                ));
            }
            // Every row counts (rows of unseen classes are errors); the
            // ranking metrics need one score per class, so they cover the
            // rows whose class the model knows.
            let mut m =
                metrics::classification(&truth.classes, &truth.ids, &pred, None, self.threshold);
            let known: Vec<usize> = (0..truth.ids.len())
                .filter(|&i| (truth.ids[i] as usize) < k)
                .collect();
            let known_scores: Vec<f64> = known
                .iter()
                .flat_map(|&i| {
                    scores
                        .get(i * k..(i + 1) * k)
                        .unwrap_or(&[])
                        .iter()
                        .copied()
                })
                .collect();
            let km = metrics::classification(
                &self.classes,
                &known.iter().map(|&i| truth.ids[i]).collect::<Vec<_>>(),
                &known.iter().map(|&i| pred[i]).collect::<Vec<_>>(),
                Some(&known_scores),
                self.threshold,
            );
            m.roc_auc = km.roc_auc;
            m.pr_auc = km.pr_auc;
            Metrics::Classification(m)
        };
        Ok(match out {
            Output::Values(v) => Metrics::Regression(metrics::regression(
                &select::label_numbers(table, label)?,
                v,
            )),
            Output::Proba(p) => classify(p),
            Output::Anomaly(s) => {
                if self.classes.len() != 2 {
                    return Err(MlError::InvalidInput(
                        "evaluating an isolation forest needs a binary label mapping (--benign/--positive)".into(),
                    ));
                }
                let p: Vec<f64> = s.iter().flat_map(|v| [1.0 - v, *v]).collect();
                classify(&p)
            }
            Output::Clusters(c) => {
                let inertia = c.iter().map(|(_, d)| d * d).sum::<f64>();
                Metrics::Clustering {
                    inertia,
                    n: c.len(),
                }
            }
        })
    }

    /// Drop in the headline metric (accuracy or R²) when one feature's
    /// column is shuffled (mean of 3 shuffles).
    fn permutation_importance(
        &self,
        table: &Table,
        label: &str,
        truth: &Truth,
        x: &Matrix,
        base: &Metrics,
    ) -> Result<Vec<f64>> {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let headline = |m: &Metrics| match m {
            Metrics::Regression(r) => r.r2,
            Metrics::Classification(c) => c.accuracy,
            Metrics::Clustering { .. } => 0.0,
        };
        let b = headline(base);
        let mut rng = rand::rngs::StdRng::seed_from_u64(12345);
        let mut out = Vec::with_capacity(x.n_cols);
        let mut xp = x.clone();
        for c in 0..x.n_cols {
            let mut drop = 0.0;
            for _ in 0..3 {
                let s = c * x.n_rows;
                if let Some(col) = xp.data.get_mut(s..s + x.n_rows) {
                    col.shuffle(&mut rng);
                }
                let m = self.score_output(table, label, truth, &self.output(&xp)?)?;
                drop += b - headline(&m);
            }
            if let (Some(dst), Some(src)) = (
                xp.data.get_mut(c * x.n_rows..(c + 1) * x.n_rows),
                x.data.get(c * x.n_rows..(c + 1) * x.n_rows),
            ) {
                dst.copy_from_slice(src);
            }
            out.push(drop / 3.0);
        }
        Ok(out)
    }

    /// Coefficients of a linear model as (name, value), intercept first.
    pub fn coefficients(&self) -> Option<Vec<(String, f64)>> {
        match &self.estimator {
            Estimator::Linear(m) => Some(
                std::iter::once(("(intercept)".to_string(), m.intercept))
                    .chain(
                        self.pipeline
                            .feature_names
                            .iter()
                            .cloned()
                            .zip(m.coef.iter().copied()),
                    )
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Serialises to the model file format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload =
            postcard::to_stdvec(self).map_err(|e| MlError::ModelFile(format!("encoding: {e}")))?;
        let mut out = Vec::with_capacity(payload.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Parses and validates a model file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<TrainedModel> {
        let bad = |m: &str| MlError::ModelFile(m.to_string());
        let magic = bytes
            .get(..8)
            .ok_or_else(|| bad("file too short to be a netlens model"))?;
        if magic != MAGIC {
            return Err(bad("not a netlens model file (wrong magic bytes)"));
        }
        let word = |r: std::ops::Range<usize>| bytes.get(r).ok_or_else(|| bad("truncated header"));
        let version = u32::from_le_bytes(word(8..12)?.try_into().map_err(|_| bad("header"))?);
        if version != FORMAT_VERSION {
            return Err(MlError::ModelFile(format!(
                "model file format version {version}; this netlens reads version {FORMAT_VERSION}"
            )));
        }
        let len = u64::from_le_bytes(word(12..20)?.try_into().map_err(|_| bad("header"))?);
        let crc = u32::from_le_bytes(word(20..24)?.try_into().map_err(|_| bad("header"))?);
        if len > MAX_PAYLOAD || len != (bytes.len() - 24) as u64 {
            return Err(bad(
                "payload length does not match the file size (truncated or padded file)",
            ));
        }
        let payload = &bytes[24..];
        if crc32fast::hash(payload) != crc {
            return Err(bad("checksum mismatch (the file is corrupted)"));
        }
        let m: TrainedModel = postcard::from_bytes(payload)
            .map_err(|e| MlError::ModelFile(format!("decoding: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    /// Structural checks of a decoded model.
    pub fn validate(&self) -> Result<()> {
        let p = self.pipeline.feature_names.len();
        if self.pipeline.keep.len() != p {
            return Err(MlError::ModelFile("pipeline is inconsistent".into()));
        }
        let k = self.classes.len();
        let ok = match &self.estimator {
            Estimator::Linear(m) => m.coef.len() == p,
            Estimator::Logistic(m) => {
                m.validate()?;
                m.n_features == p && m.n_classes == k
            }
            Estimator::Forest(f) => {
                f.validate()?;
                f.n_features == p && f.n_classes == k
            }
            Estimator::Gbt(g) => g.n_features == p && g.n_classes == k && g.load().is_ok(),
            Estimator::IsolationForest(f) => {
                f.validate()?;
                f.n_features == p
            }
            Estimator::KMeans(m) => {
                m.validate()?;
                m.n_features == p
            }
        };
        if ok {
            Ok(())
        } else {
            Err(MlError::ModelFile(
                "estimator does not match the pipeline".into(),
            ))
        }
    }

    /// Writes the model file.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()?).map_err(|e| MlError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Reads and validates a model file.
    pub fn load(path: &Path) -> Result<TrainedModel> {
        let io = |e| MlError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_PAYLOAD + 24 {
            return Err(MlError::ModelFile(
                "file larger than any model netlens writes".into(),
            ));
        }
        TrainedModel::from_bytes(&std::fs::read(path).map_err(io)?)
    }
}

/// Metrics of one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Metrics {
    /// Regression.
    Regression(RegressionMetrics),
    /// Classification (also anomaly detection against binary labels).
    Classification(ClassificationMetrics),
    /// Clustering.
    Clustering {
        /// Sum of squared distances to the nearest centroid.
        inertia: f64,
        /// Rows.
        n: usize,
    },
}

/// Importance of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureImportance {
    /// Feature name.
    pub feature: String,
    /// Impurity (trees) or total-gain (boosting) importance.
    pub impurity: Option<f64>,
    /// Permutation importance (drop in accuracy or R²).
    pub permutation: Option<f64>,
}

/// The true classes of the evaluated rows (see `TrainedModel::truth`).
struct Truth {
    /// Rows evaluated (those with a label value).
    rows: Vec<usize>,
    /// Class id of each evaluated row, into `classes`.
    ids: Vec<u32>,
    /// The model's classes, then the unseen labels.
    classes: Vec<String>,
    /// Labels of the table the model never saw (sorted).
    unseen: Vec<String>,
    /// Rows with an unseen label.
    unseen_rows: usize,
    /// Rows without a label value (not evaluated).
    unlabelled: usize,
}

impl Truth {
    /// Every row, no class information (regression, clustering).
    fn all(n: usize) -> Truth {
        Truth {
            rows: (0..n).collect(),
            ids: Vec::new(),
            classes: Vec::new(),
            unseen: Vec::new(),
            unseen_rows: 0,
            unlabelled: 0,
        }
    }
}

/// Result of evaluating a model on a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Model family.
    pub model: ModelKind,
    /// Rows evaluated: every row with a label value (rows whose label the
    /// model never saw included, as errors).
    pub rows: usize,
    /// Evaluated rows whose label is not a model class; they count as
    /// misclassified (ROC/PR AUC cover the other rows).
    #[serde(default)]
    pub unseen_label_rows: usize,
    /// The labels the model never saw, as extra classes in the metrics.
    #[serde(default)]
    pub unseen_labels: Vec<String>,
    /// Rows without a label value, left out of the evaluation.
    #[serde(default)]
    pub unlabelled_rows: usize,
    /// Metrics.
    pub metrics: Metrics,
    /// Per-feature importances.
    pub importance: Vec<FeatureImportance>,
}

/// How to hold out test rows.
#[derive(Debug, Clone)]
pub struct SplitSpec {
    /// Fraction of rows in the test set.
    pub test_fraction: f64,
    /// Split method.
    pub method: SplitMethod,
    /// Seed.
    pub seed: u64,
}

/// Class ids for stratification and a time-order key, when needed.
type SplitKeys = (Option<Vec<u32>>, Option<Vec<f64>>);

fn split_keys(table: &Table, spec: &TrainSpec, method: SplitMethod) -> Result<SplitKeys> {
    let labels = match (&spec.label, method) {
        (Some(l), SplitMethod::Stratified) if !spec.kind.regression() => {
            let s = select::label_strings(table, l, &spec.mapping)?;
            let mut classes = s.clone();
            classes.sort();
            classes.dedup();
            Some(class_ids(&s, &classes))
        }
        _ => None,
    };
    let order = match method {
        SplitMethod::Time => {
            let t = spec.time_column.as_deref().ok_or_else(|| {
                MlError::InvalidParameter("a time split needs a time column".into())
            })?;
            let col = table.column(t)?;
            Some(match &col.data {
                ColumnData::Num(v) => v.clone(),
                // Text timestamps are parsed (RFC 3339, `YYYY-MM-DD HH:MM:SS`,
                // CIC-IDS `M/D/YYYY H:MM[:SS] [AM|PM]`, ...), never
                // compared as text: `7/20/2017` sorts before `7/3/2017`.
                ColumnData::Str(v) => crate::time::parse_time_column(v).map_err(|row| {
                    MlError::InvalidInput(format!(
                        "time column {t:?}: cannot read {:?} (row {}) as a timestamp; accepted: RFC 3339 / ISO 8601 (2017-07-07T08:59:00Z, 2017-07-07 08:59:00), M/D/YYYY or D/M/YYYY H:MM[:SS] [AM|PM], or Unix time as a number",
                        v.get(row).map_or("", String::as_str),
                        row + 1
                    ))
                })?,
            })
        }
        _ => None,
    };
    Ok((labels, order))
}

/// Trains on a split of `table` and evaluates on the held-out rows.
pub fn train_test(
    table: &Table,
    spec: &TrainSpec,
    split_spec: &SplitSpec,
    groups: GroupResolver<'_>,
    with_permutation: bool,
) -> Result<(TrainedModel, Evaluation)> {
    let (labels, order) = split_keys(table, spec, split_spec.method)?;
    let (train_idx, test_idx) = split::train_test(
        table.n_rows,
        split_spec.test_fraction,
        split_spec.method,
        split_spec.seed,
        labels.as_deref(),
        order.as_deref(),
    );
    if train_idx.is_empty() || test_idx.is_empty() {
        return Err(MlError::InvalidInput(
            "split left an empty train or test set".into(),
        ));
    }
    let model = train_rows(table, &train_idx, spec, groups)?;
    let test = table.take_rows(&test_idx);
    let eval = model.evaluate(&test, with_permutation)?;
    Ok((model, eval))
}

/// k-fold cross-validation (stratified for classification).
pub fn cross_validate(
    table: &Table,
    spec: &TrainSpec,
    k: usize,
    seed: u64,
    groups: GroupResolver<'_>,
) -> Result<Vec<Evaluation>> {
    let (labels, _) = split_keys(table, spec, SplitMethod::Stratified)?;
    let folds = split::kfold(table.n_rows, k, seed, labels.as_deref());
    folds
        .iter()
        .map(|(tr, te)| {
            let m = train_rows(table, tr, spec, groups)?;
            m.evaluate(&table.take_rows(te), false)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::table::CsvOptions;

    #[test]
    fn degenerate_options_are_rejected_before_training() {
        let ok = spec(ModelKind::RandomForest);
        assert!(ok.check_options().is_ok());
        let mut cases = Vec::new();
        for t in [2.0, -0.1, f64::NAN] {
            cases.push(TrainSpec {
                threshold: Some(t),
                ..ok.clone()
            });
        }
        let hyper = |f: &dyn Fn(&mut Hyper)| {
            let mut s = ok.clone();
            f(&mut s.hyper);
            s
        };
        cases.push(hyper(&|h| h.max_depth = Some(0)));
        cases.push(hyper(&|h| h.n_trees = 0));
        cases.push(hyper(&|h| h.learning_rate = 0.0));
        cases.push(hyper(&|h| h.alpha = f64::INFINITY));
        for c in cases {
            assert!(
                c.check_options().is_err(),
                "{:?} {:?}",
                c.threshold,
                c.hyper
            );
        }
    }

    fn table() -> Table {
        let mut s = String::from("a,b,proto,ip,Label\n");
        for i in 0..300 {
            let a = (i * 7919 % 100) as f64 / 10.0;
            let b = (i * 104_729 % 50) as f64;
            let proto = ["tcp", "udp", "icmp"][i % 3];
            let lab = if a + if proto == "udp" { 5.0 } else { 0.0 } > 6.0 {
                "attack"
            } else {
                "normal"
            };
            s.push_str(&format!(
                "{a},{b},{proto},10.0.{}.{},{lab}\n",
                i % 7,
                i % 200
            ));
        }
        Table::from_csv_reader(s.as_bytes(), Path::new("t"), &CsvOptions::default()).unwrap()
    }

    fn spec(kind: ModelKind) -> TrainSpec {
        TrainSpec {
            kind,
            label: Some("Label".into()),
            mapping: LabelMapping::Benign(vec!["normal".into()]),
            features: FeatureSelection::default(),
            time_column: None,
            preprocess: None,
            hyper: Hyper {
                n_trees: 20,
                iterations: 20,
                ..Hyper::default()
            },
            threshold: None,
        }
    }

    #[test]
    fn every_classifier_round_trips_through_a_file() {
        let t = table();
        let none = |_: &str| None;
        for kind in [
            ModelKind::Logistic,
            ModelKind::Tree,
            ModelKind::RandomForest,
            ModelKind::Gbt,
            ModelKind::IsolationForest,
        ] {
            let m = train(&t, &spec(kind), &none).unwrap();
            let bytes = m.to_bytes().unwrap();
            let back = TrainedModel::from_bytes(&bytes).unwrap();
            assert_eq!(
                m.predict(&t).unwrap(),
                back.predict(&t).unwrap(),
                "{kind:?}"
            );
            if kind != ModelKind::IsolationForest {
                let e = m.evaluate(&t, false).unwrap();
                let Metrics::Classification(c) = e.metrics else {
                    panic!()
                };
                assert!(c.accuracy > 0.9, "{kind:?} {}", c.accuracy);
            }
        }
    }

    #[test]
    fn corrupted_foreign_and_truncated_files_are_rejected() {
        let t = table();
        let m = train(&t, &spec(ModelKind::RandomForest), &|_: &str| None).unwrap();
        let good = m.to_bytes().unwrap();
        let msg = |b: &[u8]| TrainedModel::from_bytes(b).unwrap_err().to_string();
        assert!(msg(b"PAR1 not a model").contains("not a netlens model"));
        assert!(msg(&good[..good.len() / 2]).contains("length"));
        let mut flipped = good.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        assert!(msg(&flipped).contains("checksum"));
        let mut v2 = good.clone();
        v2[8] = 2;
        assert!(msg(&v2).contains("version 2"));
        // Every single-byte truncation point and a sweep of bit flips: errors, never panics.
        for cut in (0..good.len()).step_by(97) {
            assert!(TrainedModel::from_bytes(&good[..cut]).is_err());
        }
        // A structurally bad payload with a valid checksum is caught by validation.
        let mut bad = m.clone();
        bad.pipeline.feature_names.pop();
        assert!(TrainedModel::from_bytes(&bad.to_bytes().unwrap()).is_err());
    }

    fn csv(s: &str) -> Table {
        Table::from_csv_reader(s.as_bytes(), Path::new("t"), &CsvOptions::default()).unwrap()
    }

    #[test]
    fn a_benign_value_matching_no_row_is_an_error_naming_the_values() {
        let t = table();
        let mut sp = spec(ModelKind::RandomForest);
        sp.mapping = LabelMapping::Benign(vec!["Normal".into()]);
        let e = train(&t, &sp, &|_: &str| None).unwrap_err().to_string();
        assert!(
            e.contains("1 class") && e.contains("\"normal\"") && e.contains("\"attack\""),
            "{e}"
        );
        sp.mapping = LabelMapping::Positive(vec!["normal".into(), "attack".into()]);
        let e = train(&t, &sp, &|_: &str| None).unwrap_err().to_string();
        assert!(e.contains("no benign row"), "{e}");
    }

    #[test]
    fn rows_without_a_label_are_left_out_of_training_and_evaluation() {
        let mut s = String::from("a,Label\n");
        for i in 0..60 {
            let lab = match i % 3 {
                0 => "x",
                1 => "y",
                _ if i % 2 == 0 => "",
                _ => "y",
            };
            s.push_str(&format!("{},{lab}\n", i % 3));
        }
        let t = csv(&s);
        let mut sp = spec(ModelKind::Tree);
        sp.mapping = LabelMapping::AsIs;
        let m = train(&t, &sp, &|_: &str| None).unwrap();
        assert_eq!(m.classes, ["x", "y"]);
        assert_eq!(m.meta.train_rows, 50);
        sp.mapping = LabelMapping::Benign(vec!["x".into()]);
        let m = train(&t, &sp, &|_: &str| None).unwrap();
        assert_eq!(m.meta.train_rows, 50, "unlabelled rows are not `attack`");
        let e = m.evaluate(&t, false).unwrap();
        assert_eq!((e.rows, e.unlabelled_rows), (50, 10));
    }

    #[test]
    fn evaluation_counts_rows_of_unseen_labels_as_errors() {
        let mut tr = String::from("a,Label\n");
        let mut te = String::from("a,Label\n");
        for i in 0..40 {
            tr.push_str(&format!("{},{}\n", i % 2, ["p", "q"][i % 2]));
            te.push_str(&format!("{},{}\n", i % 3, ["p", "q", "new"][i % 3]));
        }
        let mut sp = spec(ModelKind::Tree);
        sp.mapping = LabelMapping::AsIs;
        let m = train(&csv(&tr), &sp, &|_: &str| None).unwrap();
        let e = m.evaluate(&csv(&te), false).unwrap();
        assert_eq!(e.rows, 40);
        assert_eq!(e.unseen_labels, ["new"]);
        assert_eq!(e.unseen_label_rows, 13);
        let Metrics::Classification(c) = e.metrics else {
            panic!()
        };
        assert_eq!(c.n, 40);
        assert!((c.accuracy - 27.0 / 40.0).abs() < 1e-12, "{}", c.accuracy);
        assert_eq!(c.per_class.len(), 3);
        assert_eq!(c.per_class[2].support, 13);
        assert!(c.roc_auc.is_some());
    }

    #[test]
    fn time_split_orders_cic_style_text_dates_by_time() {
        let mut s = String::from("a,ts,Label\n");
        for day in 1..=20 {
            for h in 0..10 {
                let lab = if day >= 15 { "late" } else { "early" };
                s.push_str(&format!("{h},7/{day}/2017 {}:05,{lab}\n", h + 1));
            }
        }
        let t = csv(&s);
        let mut sp = spec(ModelKind::Tree);
        sp.mapping = LabelMapping::AsIs;
        sp.time_column = Some("ts".into());
        let split = SplitSpec {
            test_fraction: 0.2,
            method: SplitMethod::Time,
            seed: 1,
        };
        let (_, e) = train_test(&t, &sp, &split, &|_: &str| None, false).unwrap();
        let Metrics::Classification(c) = e.metrics else {
            panic!()
        };
        let late = c.per_class.iter().find(|m| m.class == "late").unwrap();
        assert_eq!(late.support, 40, "the held-out rows are the last four days");
        let bad = csv("a,ts,Label\n1,soon,x\n2,later,y\n");
        let e = train_test(&bad, &sp, &split, &|_: &str| None, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"soon\"") && e.contains("timestamp"), "{e}");
    }

    #[test]
    fn regression_split_and_cv() {
        let mut s = String::from("x1,x2,y,t\n");
        for i in 0..200 {
            let x1 = (i % 17) as f64;
            let x2 = (i * 31 % 23) as f64;
            s.push_str(&format!(
                "{x1},{x2},{},{}\n",
                2.0 * x1 - 3.0 * x2 + 1.0,
                200 - i
            ));
        }
        let t =
            Table::from_csv_reader(s.as_bytes(), Path::new("r"), &CsvOptions::default()).unwrap();
        let mut sp = spec(ModelKind::Linear);
        sp.label = Some("y".into());
        sp.mapping = LabelMapping::AsIs;
        sp.time_column = Some("t".into());
        let none = |_: &str| None;
        let (m, e) = train_test(
            &t,
            &sp,
            &SplitSpec {
                test_fraction: 0.25,
                method: SplitMethod::Time,
                seed: 1,
            },
            &none,
            true,
        )
        .unwrap();
        let Metrics::Regression(r) = e.metrics else {
            panic!()
        };
        assert!(r.r2 > 0.999_999 && r.rmse < 1e-6, "{r:?}");
        let c = m.coefficients().unwrap();
        assert!(
            (c[0].1 - 1.0).abs() < 1e-9
                && (c[1].1 - 2.0).abs() < 1e-9
                && (c[2].1 + 3.0).abs() < 1e-9
        );
        assert!(e.importance.iter().all(|f| f.permutation.unwrap() > 0.0));
        let folds = cross_validate(&t, &sp, 4, 2, &none).unwrap();
        assert_eq!(folds.len(), 4);
    }
}
