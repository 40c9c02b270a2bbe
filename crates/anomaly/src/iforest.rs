//! Flow-level detector: isolation forest on [`crate::flowfeat`] features.
//!
//! Training collects the features of flows from traffic assumed clean
//! (reservoir-sampled to at most [`IforestConfig::max_rows`] rows), fits
//! the isolation forest of `netlens-ml`, and stores the
//! [`IforestConfig::quantile`] of the training scores as the default alert
//! threshold, together with per-feature means and deviations used to name
//! the features that make a flow unusual.
//!
//! Model file layout: `b"NLANOM\x00\x01" | version u32 LE | payload length
//! u64 LE | CRC-32 u32 LE | postcard payload`; loading checks every part
//! and validates the forest, so a damaged file is an error, never a panic.

use std::path::Path;

use netlens_flow::Flow;
use netlens_ml::iforest::IsolationForest;
use netlens_ml::matrix::Matrix;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, TopFeature};
use crate::error::{AnomalyError, Result};
use crate::flowfeat::{CONTEXT_NAMES, FlowContext, FlowFeatures, default_names};

/// First bytes of an anomaly model file.
pub const MAGIC: &[u8; 8] = b"NLANOM\x00\x01";
/// Format version written.
pub const VERSION: u32 = 1;
const MAX_PAYLOAD: u64 = 1 << 30;

/// Training settings.
#[derive(Clone, Debug)]
pub struct IforestConfig {
    /// Trees.
    pub n_trees: usize,
    /// Rows per tree.
    pub sample_size: usize,
    /// Quantile of the training scores used as the threshold.
    pub quantile: f64,
    /// Most training rows kept (reservoir sample beyond).
    pub max_rows: usize,
    /// Random seed.
    pub seed: u64,
    /// Append the per-host context features ([`FlowContext`]).
    pub context: bool,
    /// Most hosts tracked by the context.
    pub max_keys: usize,
}

impl Default for IforestConfig {
    fn default() -> Self {
        IforestConfig {
            n_trees: 200,
            sample_size: 256,
            quantile: 0.995,
            max_rows: 1_000_000,
            seed: 0,
            context: true,
            max_keys: 100_000,
        }
    }
}

/// A trained flow-level model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IforestModel {
    /// Flow column names (registry columns; see `context`).
    pub features: Vec<String>,
    /// Whether the [`CONTEXT_NAMES`] features follow the flow columns.
    pub context: bool,
    /// Most hosts tracked by the context.
    pub max_keys: usize,
    /// The forest.
    pub forest: IsolationForest,
    /// Default alert threshold (a quantile of training scores).
    pub threshold: f64,
    /// The quantile that gave `threshold`.
    pub quantile: f64,
    /// Training flows seen / used.
    pub train_flows: (u64, u64),
    /// Mean of each transformed feature in training.
    pub mean: Vec<f64>,
    /// Standard deviation of each transformed feature in training.
    pub std: Vec<f64>,
}

/// Transformed feature rows of a batch, with context.
fn rows(ff: &FlowFeatures, ctx: Option<&mut FlowContext>, flows: &[Flow]) -> Vec<Vec<f64>> {
    let mut ctx = ctx;
    flows
        .iter()
        .map(|f| {
            let mut r = Vec::with_capacity(ff.len() + CONTEXT_NAMES.len());
            ff.row(f, &mut r);
            if let Some(c) = ctx.as_deref_mut() {
                c.push(f, &mut r);
            }
            r
        })
        .collect()
}

/// Collects training rows.
pub struct IforestTrainer {
    ff: FlowFeatures,
    ctx: Option<FlowContext>,
    names: Vec<String>,
    rows: Vec<Vec<f64>>,
    seen: u64,
    cfg: IforestConfig,
    rng: StdRng,
}

impl IforestTrainer {
    /// A trainer on the default features.
    pub fn new(cfg: IforestConfig) -> Result<IforestTrainer> {
        let names = default_names();
        Ok(IforestTrainer {
            ff: FlowFeatures::new(&names)?,
            ctx: cfg.context.then(|| FlowContext::new(cfg.max_keys)),
            names,
            rows: Vec::new(),
            seen: 0,
            rng: StdRng::seed_from_u64(cfg.seed ^ 0x5eed),
            cfg,
        })
    }

    /// Start a new, unrelated capture: the per-host context starts fresh.
    pub fn new_capture(&mut self) {
        if self.ctx.is_some() {
            self.ctx = Some(FlowContext::new(self.cfg.max_keys));
        }
    }

    /// Add a batch of flows.
    pub fn add(&mut self, flows: &[Flow]) {
        for row in rows(&self.ff, self.ctx.as_mut(), flows) {
            self.seen += 1;
            if self.rows.len() < self.cfg.max_rows.max(2) {
                self.rows.push(row);
            } else {
                let j = self.rng.random_range(0..self.seen);
                if let Some(slot) = self.rows.get_mut(j as usize) {
                    *slot = row;
                }
            }
        }
    }

    /// Fit the forest and the threshold.
    pub fn fit(self) -> Result<IforestModel> {
        if self.rows.len() < 2 {
            return Err(AnomalyError::Training(format!(
                "{} flows in the training captures; at least 2 are needed",
                self.rows.len()
            )));
        }
        if self.names.is_empty() {
            return Err(AnomalyError::Training("no flow features".into()));
        }
        let x = Matrix::from_rows(&self.rows);
        let forest =
            IsolationForest::fit(&x, self.cfg.n_trees, self.cfg.sample_size, self.cfg.seed)?;
        let mut scores = forest.score(&x);
        let threshold = crate::kitsune::quantile(&mut scores, self.cfg.quantile);
        let n = self.rows.len() as f64;
        let p = self.rows.first().map_or(0, Vec::len);
        let mut mean = vec![0.0; p];
        let mut sq = vec![0.0; p];
        for r in &self.rows {
            for ((m, s), v) in mean.iter_mut().zip(sq.iter_mut()).zip(r) {
                *m += v;
                *s += v * v;
            }
        }
        for (m, s) in mean.iter_mut().zip(sq.iter_mut()) {
            *m /= n;
            *s = (*s / n - *m * *m).max(0.0).sqrt();
        }
        Ok(IforestModel {
            features: self.names,
            context: self.cfg.context,
            max_keys: self.cfg.max_keys,
            forest,
            threshold,
            quantile: self.cfg.quantile,
            train_flows: (self.seen, self.rows.len() as u64),
            mean,
            std: sq,
        })
    }
}

impl IforestModel {
    /// Resolved feature columns of this model.
    pub fn flow_features(&self) -> Result<FlowFeatures> {
        FlowFeatures::new(&self.features)
    }

    /// A fresh context for scoring a stream of flows (None without context features).
    pub fn new_context(&self) -> Option<FlowContext> {
        self.context.then(|| FlowContext::new(self.max_keys))
    }

    /// All feature names, context features last.
    pub fn feature_names(&self) -> Vec<String> {
        let mut v = self.features.clone();
        if self.context {
            v.extend(CONTEXT_NAMES.iter().map(|s| s.to_string()));
        }
        v
    }

    /// Feature rows and scores in (0, 1] of a batch of `flows` (in
    /// first-packet order; higher is more anomalous). `ctx` carries the
    /// per-host context from batch to batch.
    pub fn score(
        &self,
        ff: &FlowFeatures,
        ctx: Option<&mut FlowContext>,
        flows: &[Flow],
    ) -> (Vec<Vec<f64>>, Vec<f64>) {
        if flows.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let rows = rows(ff, ctx, flows);
        let s = self.forest.score(&Matrix::from_rows(&rows));
        (rows, s)
    }

    /// The alert for `flow` (feature row `row`, score `score`): top
    /// features by |z-score| against training.
    pub fn alert(&self, ff: &FlowFeatures, flow: &Flow, row: &[f64], score: f64) -> Alert {
        let names = self.feature_names();
        let mut z: Vec<(usize, f64)> = row
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let m = self.mean.get(i).copied().unwrap_or(0.0);
                let s = self.std.get(i).copied().unwrap_or(0.0).max(1e-3);
                (i, ((v - m) / s).abs())
            })
            .collect();
        z.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top_features = z
            .iter()
            .take(5)
            .map(|&(i, _)| TopFeature {
                name: names.get(i).cloned().unwrap_or_default(),
                value: if i < ff.len() {
                    ff.raw(i, flow)
                } else {
                    // Context features are stored as ln(1 + v).
                    row.get(i).map_or(f64::NAN, |v| v.exp_m1())
                },
            })
            .collect();
        Alert {
            detector: "iforest",
            ts_start_ns: flow.first_ns,
            ts_end_ns: flow.last_ns,
            src_ip: flow.src.ip(flow.ip_version),
            src_port: flow.src.port,
            dst_ip: flow.dst.ip(flow.ip_version),
            dst_port: flow.dst.port,
            protocol: flow.protocol,
            vlan_id: flow.vlan_id,
            score,
            flow_id: Some(flow.id),
            packets: flow.packets(),
            top_features,
        }
    }

    /// Serialise to the model file format.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = postcard::to_stdvec(self)
            .map_err(|e| AnomalyError::ModelFile(format!("encoding: {e}")))?;
        let mut out = Vec::with_capacity(payload.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Parse and validate model file bytes.
    pub fn from_bytes(b: &[u8]) -> Result<IforestModel> {
        let bad = |m: &str| AnomalyError::ModelFile(m.to_string());
        if b.get(..8) != Some(&MAGIC[..]) {
            return Err(bad("not a netlens anomaly model (wrong magic bytes)"));
        }
        let word = |r: std::ops::Range<usize>| b.get(r).ok_or_else(|| bad("truncated header"));
        let mut v4 = [0u8; 4];
        v4.copy_from_slice(word(8..12)?);
        let version = u32::from_le_bytes(v4);
        if version != VERSION {
            return Err(AnomalyError::ModelFile(format!(
                "format version {version}; this netlens reads version {VERSION}"
            )));
        }
        let mut v8 = [0u8; 8];
        v8.copy_from_slice(word(12..20)?);
        let len = u64::from_le_bytes(v8);
        v4.copy_from_slice(word(20..24)?);
        let crc = u32::from_le_bytes(v4);
        let payload = b.get(24..).unwrap_or(&[]);
        if len > MAX_PAYLOAD || len != payload.len() as u64 {
            return Err(bad("payload length does not match the file size"));
        }
        if crc32fast::hash(payload) != crc {
            return Err(bad("checksum mismatch (the file is corrupted)"));
        }
        let m: IforestModel = postcard::from_bytes(payload)
            .map_err(|e| AnomalyError::ModelFile(format!("decoding: {e}")))?;
        m.forest.validate()?;
        let p = m.features.len() + if m.context { CONTEXT_NAMES.len() } else { 0 };
        if m.forest.n_features != p || m.mean.len() != p || m.std.len() != p {
            return Err(bad("forest does not match the feature list"));
        }
        FlowFeatures::new(&m.features)?;
        Ok(m)
    }

    /// Write the model file.
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_bytes()?).map_err(|e| AnomalyError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<IforestModel> {
        let io = |e| AnomalyError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        if meta.len() > MAX_PAYLOAD + 24 {
            return Err(AnomalyError::ModelFile("file too large for a model".into()));
        }
        IforestModel::from_bytes(&std::fs::read(path).map_err(io)?)
    }
}
