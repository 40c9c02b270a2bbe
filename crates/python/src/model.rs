//! netlens models from Python: train on Arrow tables, load/save the CLI's
//! model files, predict, score and evaluate.
//!
//! Invariant: the model file format is the ml crate's (`TrainedModel::
//! to_bytes`/`from_bytes`), so files written here load in `netlens predict`
//! and the other way round; training options mirror `netlens train`'s flags
//! and their defaults.

use netlens_ml::model::{self, Hyper, ModelKind, Output, TrainSpec, TrainedModel};
use netlens_ml::preprocess::{Encoding, IpMode, NonFinite, PreprocessConfig, Scaling};
use netlens_ml::select::{self, FeatureSelection, LabelMapping};
use netlens_ml::table::Table;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use pyo3_arrow::PyTable;

use crate::convert::batches_to_table;
use crate::error::{Error, Result};

/// Model family from its CLI name (`rf`, `gbt`, `logreg`, `tree`, `linear`, `ridge`, `iforest`, `kmeans`).
pub fn parse_kind(s: &str) -> Result<ModelKind> {
    Ok(match s {
        "rf" | "random_forest" => ModelKind::RandomForest,
        "gbt" => ModelKind::Gbt,
        "logreg" | "logistic" => ModelKind::Logistic,
        "tree" => ModelKind::Tree,
        "linear" => ModelKind::Linear,
        "ridge" => ModelKind::Ridge,
        "iforest" | "isolation_forest" => ModelKind::IsolationForest,
        "kmeans" => ModelKind::KMeans,
        other => {
            return Err(Error::Invalid(format!(
                "unknown model '{other}' (rf, gbt, logreg, tree, linear, ridge, iforest, kmeans)"
            )));
        }
    })
}

fn kind_name(k: ModelKind) -> &'static str {
    match k {
        ModelKind::RandomForest => "rf",
        ModelKind::Gbt => "gbt",
        ModelKind::Logistic => "logreg",
        ModelKind::Tree => "tree",
        ModelKind::Linear => "linear",
        ModelKind::Ridge => "ridge",
        ModelKind::IsolationForest => "iforest",
        ModelKind::KMeans => "kmeans",
    }
}

fn to_table(t: PyTable) -> Result<Table> {
    let (batches, schema) = t.into_inner();
    batches_to_table(&schema, &batches)
}

/// A trained netlens model (the contents of a `.nlm` model file).
#[pyclass(module = "netlens._netlens", frozen)]
pub struct Model {
    inner: TrainedModel,
}

#[pymethods]
impl Model {
    /// Train on an Arrow table (anything with `__arrow_c_stream__`), with
    /// the options of `netlens train` (no held-out split: the whole table trains).
    #[staticmethod]
    #[pyo3(signature = (table, model = "rf", *, label = None, benign = Vec::new(), positive = Vec::new(),
        features = Vec::new(), exclude = Vec::new(), time_column = None, scaling = None,
        non_finite = "impute", encoding = "onehot", ip = "drop", n_trees = 100, max_depth = None,
        max_features = None, iterations = 100, learning_rate = 0.1, gbt_depth = 6, alpha = 1.0, k = 8,
        sample_size = 256, threshold = None, seed = 0, keep_identifiers = false))]
    #[allow(clippy::too_many_arguments)]
    fn train(
        py: Python<'_>,
        table: PyTable,
        model: &str,
        label: Option<String>,
        benign: Vec<String>,
        positive: Vec<String>,
        features: Vec<String>,
        exclude: Vec<String>,
        time_column: Option<String>,
        scaling: Option<&str>,
        non_finite: &str,
        encoding: &str,
        ip: &str,
        n_trees: usize,
        max_depth: Option<usize>,
        max_features: Option<usize>,
        iterations: usize,
        learning_rate: f32,
        gbt_depth: usize,
        alpha: f64,
        k: usize,
        sample_size: usize,
        threshold: Option<f64>,
        seed: u64,
        keep_identifiers: bool,
    ) -> PyResult<Model> {
        let kind = parse_kind(model)?;
        if !benign.is_empty() && !positive.is_empty() {
            return Err(Error::Invalid(
                "give either benign or positive label values, not both".into(),
            )
            .into());
        }
        let mapping = if !benign.is_empty() {
            LabelMapping::Benign(benign)
        } else if !positive.is_empty() {
            LabelMapping::Positive(positive)
        } else {
            LabelMapping::AsIs
        };
        let pre = PreprocessConfig {
            scaling: match scaling {
                None => kind.default_scaling(),
                Some("none") => Scaling::None,
                Some("standard") => Scaling::Standard,
                Some("minmax") => Scaling::MinMax,
                Some(o) => {
                    return Err(Error::Invalid(format!(
                        "unknown scaling '{o}' (none, standard, minmax)"
                    ))
                    .into());
                }
            },
            non_finite: match non_finite {
                "impute" => NonFinite::Impute,
                "drop" => NonFinite::DropRows,
                o => {
                    return Err(Error::Invalid(format!(
                        "unknown non_finite policy '{o}' (impute, drop)"
                    ))
                    .into());
                }
            },
            encoding: match encoding {
                "onehot" => Encoding::OneHot,
                "ordinal" => Encoding::Ordinal,
                o => {
                    return Err(Error::Invalid(format!(
                        "unknown encoding '{o}' (onehot, ordinal)"
                    ))
                    .into());
                }
            },
            ip: match ip {
                "drop" => IpMode::Drop,
                "octets" => IpMode::Octets,
                "subnet" => IpMode::Subnet,
                o => {
                    return Err(Error::Invalid(format!(
                        "unknown ip mode '{o}' (drop, octets, subnet)"
                    ))
                    .into());
                }
            },
            ..Default::default()
        };
        let mut spec = TrainSpec {
            kind,
            label,
            mapping,
            features: FeatureSelection {
                include: features,
                exclude,
            },
            time_column,
            preprocess: Some(pre),
            hyper: Hyper {
                n_trees,
                max_depth,
                max_features,
                iterations,
                learning_rate,
                gbt_depth,
                alpha,
                k,
                sample_size,
                seed,
            },
            threshold,
        };
        // The engine's option checks, as Python ValueErrors.
        spec.check_options()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let t = to_table(table)?;
        // The CLI's default exclusions (`netlens train` without --features):
        // identifier/time columns unless keep_identifiers, and list columns.
        if spec.features.include.is_empty() {
            let reserved: Vec<&str> = [spec.label.as_deref(), spec.time_column.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let ex = select::default_exclusions(&t, &reserved, keep_identifiers);
            spec.features.exclude.extend(ex.all().cloned());
        }
        if let Some(l) = &spec.label
            && kind.supervised()
            && !kind.regression()
        {
            let n = select::missing_labels(&t, l).map_err(Error::from)?;
            if n > 0 {
                let msg = std::ffi::CString::new(format!(
                    "left out {n} row(s) with no value in the label column {l:?}"
                ))
                .unwrap_or_default();
                PyErr::warn(
                    py,
                    &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                    &msg,
                    2,
                )?;
            }
        }
        let inner = py
            .detach(move || model::train(&t, &spec, &|_: &str| None))
            .map_err(Error::from)?;
        Ok(Model { inner })
    }

    /// Load a model file written by `netlens train` or `Model.save`.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Model> {
        Ok(Model {
            inner: TrainedModel::load(&path).map_err(Error::from)?,
        })
    }

    /// Parse the bytes of a model file.
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Model> {
        Ok(Model {
            inner: TrainedModel::from_bytes(data).map_err(Error::from)?,
        })
    }

    /// The model file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(
            py,
            &self.inner.to_bytes().map_err(Error::from)?,
        ))
    }

    /// Write the model file.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        Ok(self.inner.save(&path).map_err(Error::from)?)
    }

    /// Predicted class/value/cluster as text and the CLI's score column.
    fn predict(&self, py: Python<'_>, table: PyTable) -> PyResult<(Vec<String>, Vec<f64>)> {
        let t = to_table(table)?;
        let s = py.detach(|| self.inner.predict(&t)).map_err(Error::from)?;
        Ok((s.prediction, s.score))
    }

    /// Raw output: (kind, flat values, columns): `proba` (row-major n × classes),
    /// `value`, `anomaly` (score in (0, 1]) or `cluster` (id, distance pairs).
    fn output(&self, py: Python<'_>, table: PyTable) -> PyResult<(String, Vec<f64>, usize)> {
        let t = to_table(table)?;
        let out = py
            .detach(|| self.inner.features(&t).and_then(|x| self.inner.output(&x)))
            .map_err(Error::from)?;
        Ok(match out {
            Output::Proba(p) => ("proba".into(), p, self.inner.classes.len().max(1)),
            Output::Values(v) => ("value".into(), v, 1),
            Output::Anomaly(v) => ("anomaly".into(), v, 1),
            Output::Clusters(c) => (
                "cluster".into(),
                c.iter().flat_map(|(i, d)| [f64::from(*i), *d]).collect(),
                2,
            ),
        })
    }

    /// Evaluate on a labelled table; the CLI's evaluation JSON.
    #[pyo3(signature = (table, permutation = false))]
    fn evaluate_json(&self, py: Python<'_>, table: PyTable, permutation: bool) -> PyResult<String> {
        let t = to_table(table)?;
        let e = py
            .detach(|| self.inner.evaluate(&t, permutation))
            .map_err(Error::from)?;
        serde_json::to_string(&e).map_err(|e| Error::Invalid(e.to_string()).into())
    }

    /// Model family (CLI name).
    #[getter]
    fn kind(&self) -> &'static str {
        kind_name(self.inner.kind)
    }

    /// Class names (empty for regression and clustering).
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.inner.classes.clone()
    }

    /// Label column used in training.
    #[getter]
    fn label(&self) -> Option<String> {
        self.inner.label.clone()
    }

    /// Decision threshold on the positive-class / anomaly score.
    #[getter]
    fn threshold(&self) -> Option<f64> {
        self.inner.threshold
    }

    /// Input columns the model reads, in training order.
    #[getter]
    fn input_columns(&self) -> Vec<String> {
        self.inner
            .pipeline
            .required_columns()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// Feature names after preprocessing (one-hot levels expanded).
    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.inner.pipeline.feature_names.clone()
    }

    /// Training metadata and preprocessing report as JSON.
    fn info_json(&self) -> String {
        serde_json::json!({
            "model": self.inner.kind,
            "label": self.inner.label,
            "classes": self.inner.classes,
            "threshold": self.inner.threshold,
            "train_rows": self.inner.meta.train_rows,
            "train_seconds": self.inner.meta.train_seconds,
            "hyper": self.inner.meta.hyper,
            "preprocessing": self.inner.meta.report,
            "features": self.inner.pipeline.feature_names,
            "coefficients": self.inner.coefficients(),
        })
        .to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "<netlens Model {} label={:?} classes={:?} features={}>",
            kind_name(self.inner.kind),
            self.inner.label,
            self.inner.classes,
            self.inner.pipeline.feature_names.len()
        )
    }
}
