//! A saved model used as a flow detector.
//!
//! Invariants: a [`Detector`] is only built when every input column the
//! model's preprocessing reads is a column of the [`FeatureSet`] the run
//! produces (so prediction never fails on a missing column mid-stream), the
//! model is a classifier, and it has a `benign` class (score = 1 − P(benign)).
//!
//! Decision: a flow is an attack when its score reaches the model's stored
//! threshold (`TrainedModel::threshold`, chosen by `train-detector
//! --target-fpr` or 0.5 for binary models), otherwise when the most probable
//! class is not `benign`; an attack is labelled with its most probable
//! non-benign class.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;

use netlens_export::time::rfc3339_us;
use netlens_flow::{EndReason, Flow, FlowKey};
use netlens_ml::model::{Estimator, Output, TrainedModel};
use netlens_ml::table::ColumnData;

use crate::alert::{Alert, TopFeature};
use crate::error::{DetectError, Result};
use crate::features::{CONTEXT_FEATURES, FeatureSet, HostContext, refs_to_table_with};

/// Features listed per alert.
pub const TOP_FEATURES: usize = 5;

/// A model ready to classify flows.
#[derive(Debug)]
pub struct Detector {
    model: TrainedModel,
    name: String,
    set: FeatureSet,
    benign: usize,
    top: Vec<String>,
    /// Host-context state of the stream this detector classifies (used when
    /// the model reads host-context features; every classified flow updates it).
    context: Mutex<HostContext>,
}

/// The flows of a stream already decided on an early snapshot, so that
/// their final record is not classified again ([`Detector::alerts_once`]).
///
/// Invariant: holds one entry per flow whose snapshot was seen and whose
/// final record was not yet, so its size is bounded by the meter's table
/// capacity. A flow is identified by its key and the input index of its
/// first packet (unique in a run).
#[derive(Debug, Default)]
pub struct EarlyDecisions {
    open: HashSet<(u64, FlowKey)>,
    /// Early snapshots classified.
    pub snapshots: u64,
    /// Final records skipped because their snapshot was classified.
    pub finals_skipped: u64,
    /// Final records classified (flows that ended before N packets, or runs without snapshots).
    pub finals_classified: u64,
}

impl EarlyDecisions {
    /// Flows in progress with a decision (waiting for their final record).
    pub fn open(&self) -> usize {
        self.open.len()
    }

    /// The flows of `batch` to classify, in batch order: every snapshot, and
    /// the final records of flows without one.
    pub fn select<'a>(&mut self, batch: &'a [Flow]) -> Vec<&'a Flow> {
        let id = |f: &Flow| {
            (
                f.first_packet_index,
                FlowKey::new(
                    f.src,
                    f.dst,
                    f.protocol,
                    f.ip_version,
                    f.vlan_id,
                    f.tunnel_id,
                ),
            )
        };
        // Snapshots first, so a final record in the same batch finds its snapshot.
        for f in batch.iter().filter(|f| f.end_reason == EndReason::Early) {
            self.open.insert(id(f));
            self.snapshots += 1;
        }
        let mut out = Vec::with_capacity(batch.len());
        for f in batch {
            if f.end_reason == EndReason::Early {
                out.push(f);
            } else if self.open.remove(&id(f)) {
                self.finals_skipped += 1;
            } else {
                self.finals_classified += 1;
                out.push(f);
            }
        }
        out
    }
}

/// Smallest N such that a model reading `splt_*_k` columns needs `--early N`.
pub fn early_packets_needed(model: &TrainedModel) -> Option<u16> {
    let mut need: Option<u16> = None;
    for c in model.pipeline.required_columns() {
        if c == "early_packets" {
            need = need.or(Some(1));
        }
        for p in ["splt_direction_", "splt_ps_", "splt_piat_ms_"] {
            if let Some(k) = c.strip_prefix(p).and_then(|k| k.parse::<u16>().ok()) {
                let n = k.saturating_add(1);
                need = Some(need.map_or(n, |m| m.max(n)));
            }
        }
    }
    need
}

impl Detector {
    /// Load a model file and check it against the features of `set`
    /// (`set = None`: full-flow features, or early features when the model
    /// was trained on them).
    pub fn load(path: &Path, set: Option<FeatureSet>) -> Result<Detector> {
        let model = TrainedModel::load(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Detector::new(model, name, set)
    }

    /// Check `model` against `set` (see [`Detector::load`]).
    pub fn new(model: TrainedModel, name: String, set: Option<FeatureSet>) -> Result<Detector> {
        let unusable = |msg: &str| DetectError::UnusableModel {
            model: name.clone(),
            msg: msg.to_string(),
        };
        if !model.kind.supervised() || model.kind.regression() {
            return Err(unusable("it is not a supervised classifier"));
        }
        let benign = model
            .classes
            .iter()
            .position(|c| c == "benign")
            .ok_or_else(|| unusable("it has no 'benign' class"))?;
        let needed = early_packets_needed(&model);
        let set = set.unwrap_or(match needed {
            Some(n) => FeatureSet::early(n),
            None => FeatureSet::full(),
        });
        // A model trained with host context needs it; one without does not.
        let needs_context = model
            .pipeline
            .required_columns()
            .iter()
            .any(|c| CONTEXT_FEATURES.contains(c));
        let set = set.with_context(needs_context);
        let have = set.feature_names();
        let missing: Vec<&str> = model
            .pipeline
            .required_columns()
            .into_iter()
            .filter(|c| !have.iter().any(|h| h == c))
            .collect();
        if !missing.is_empty() {
            let shown: Vec<&str> = missing.iter().take(8).copied().collect();
            let more = if missing.len() > shown.len() {
                format!(" and {} more", missing.len() - shown.len())
            } else {
                String::new()
            };
            let hint = match (needed, set.early) {
                (Some(n), 0) => format!(" (the model was trained on early-flow features: use --early {n})"),
                (Some(n), e) if n > e => format!(" (the model needs the first {n} packets: use --early {n})"),
                (None, e) if e > 0 => " (the model was trained on full-flow features: drop --early)".to_string(),
                _ => " (was it trained on a table with other columns, e.g. with netlens train on a CSV?)".to_string(),
            };
            return Err(DetectError::MissingFeatures {
                model: name,
                missing: format!("{}{more}", shown.join(", ")),
                hint,
            });
        }
        let top = match &model.estimator {
            Estimator::Forest(f) => {
                let mut idx: Vec<(usize, f64)> =
                    f.importances.iter().copied().enumerate().collect();
                idx.sort_by(|a, b| b.1.total_cmp(&a.1));
                idx.into_iter()
                    .filter(|(_, v)| *v > 0.0)
                    .filter_map(|(i, _)| model.pipeline.feature_names.get(i).cloned())
                    .filter(|n| have.iter().any(|h| h == n))
                    .take(TOP_FEATURES)
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Detector {
            model,
            name,
            set,
            benign,
            top,
            context: Mutex::new(HostContext::default()),
        })
    }

    /// The feature set this detector reads (meter the run with its `meter_config`).
    pub fn feature_set(&self) -> FeatureSet {
        self.set
    }

    /// The `detector` field of its alerts.
    pub fn detector_name(&self) -> String {
        format!("model:{}", self.name)
    }

    /// The underlying model.
    pub fn model(&self) -> &TrainedModel {
        &self.model
    }

    /// Predicted class and attack score (1 − P(benign)) of each flow.
    pub fn classify(&self, flows: &[Flow]) -> Result<Vec<(String, f64)>> {
        let refs: Vec<&Flow> = flows.iter().collect();
        self.classify_refs(&refs)
    }

    fn classify_refs(&self, flows: &[&Flow]) -> Result<Vec<(String, f64)>> {
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let table = self.table(flows);
        self.classify_table(&table)
    }

    /// The feature table of `flows`, updating the stream's host context.
    fn table(&self, flows: &[&Flow]) -> netlens_ml::table::Table {
        if !self.set.context {
            return refs_to_table_with(flows, self.set, None);
        }
        // A poisoned lock only means another thread panicked mid-update;
        // the counts are still usable.
        let mut ctx = self.context.lock().unwrap_or_else(|e| e.into_inner());
        let rows: Vec<_> = flows.iter().map(|f| ctx.observe(f)).collect();
        refs_to_table_with(flows, self.set, Some(&rows))
    }

    fn classify_table(&self, table: &netlens_ml::table::Table) -> Result<Vec<(String, f64)>> {
        if table.n_rows == 0 {
            return Ok(Vec::new());
        }
        let x = self.model.features(table)?;
        let k = self.model.classes.len().max(1);
        let Output::Proba(p) = self.model.output(&x)? else {
            return Err(DetectError::UnusableModel {
                model: self.name.clone(),
                msg: "it does not output class probabilities".into(),
            });
        };
        // Binary models always carry one (0.5 by default); multi-class ones
        // only when train-detector chose it (--target-fpr).
        let threshold = self.model.threshold;
        Ok(p.chunks(k)
            .map(|row| {
                let pb = row.get(self.benign).copied().unwrap_or(1.0);
                let score = (1.0 - pb).clamp(0.0, 1.0);
                let attack = match threshold {
                    Some(t) => score >= t,
                    None => {
                        // Argmax over classes (first wins ties, like the model's own predict).
                        let mut best = 0;
                        for (i, v) in row.iter().enumerate() {
                            if row.get(best).is_some_and(|b| v > b) {
                                best = i;
                            }
                        }
                        best != self.benign
                    }
                };
                let label = if !attack {
                    "benign".to_string()
                } else {
                    // The most probable non-benign class.
                    let mut best: Option<(usize, f64)> = None;
                    for (i, v) in row.iter().enumerate() {
                        if i != self.benign && best.is_none_or(|(_, b)| *v > b) {
                            best = Some((i, *v));
                        }
                    }
                    best.and_then(|(i, _)| self.model.classes.get(i).cloned())
                        .unwrap_or_else(|| "attack".into())
                };
                (label, score)
            })
            .collect())
    }

    /// Alerts for the flows classified as attacks (in input order). Every
    /// flow is classified, early snapshots included; a stream with
    /// snapshots should use [`Detector::alerts_once`].
    pub fn alerts(&self, flows: &[Flow]) -> Result<Vec<Alert>> {
        let refs: Vec<&Flow> = flows.iter().collect();
        self.alerts_refs(&refs)
    }

    /// Alerts for one batch of a stream, at most one decision per flow:
    /// an early snapshot ([`EndReason::Early`]) is classified, and the same
    /// flow's final record is then skipped (it has the same early features,
    /// hence the same verdict); flows that ended before reaching N packets
    /// are classified on their final record. Batches must be passed in
    /// order with the same `seen` (the meter outputs a snapshot before its
    /// final record; within a batch, order does not matter).
    pub fn alerts_once(&self, flows: &[Flow], seen: &mut EarlyDecisions) -> Result<Vec<Alert>> {
        let picked = seen.select(flows);
        self.alerts_refs(&picked)
    }

    fn alerts_refs(&self, flows: &[&Flow]) -> Result<Vec<Alert>> {
        if flows.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.table(flows);
        let classes = self.classify_table(&t)?;
        // Columns looked up by name once per batch, not once per alert.
        let top_cols: Vec<(&String, Option<&[f64]>)> = self
            .top
            .iter()
            .map(|n| {
                let v = match t.column(n).map(|c| &c.data) {
                    Ok(ColumnData::Num(v)) => Some(&v[..]),
                    _ => None,
                };
                (n, v)
            })
            .collect();
        let text = |name: &str| match t.column(name).map(|c| &c.data) {
            Ok(ColumnData::Str(s)) => Some(&s[..]),
            _ => None,
        };
        let (src_col, dst_col) = (text("src_ip"), text("dst_ip"));
        let mut out = Vec::new();
        for (i, (f, (label, score))) in flows.iter().zip(classes).enumerate() {
            if label == "benign" {
                continue;
            }
            let top_features = top_cols
                .iter()
                .map(|(n, v)| TopFeature {
                    name: (*n).clone(),
                    value: v.and_then(|v| v.get(i).copied()).filter(|x| x.is_finite()),
                })
                .collect();
            let (src_ip, dst_ip) = match (src_col, dst_col) {
                (Some(s), Some(d)) => (
                    s.get(i).cloned().unwrap_or_default(),
                    d.get(i).cloned().unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            out.push(Alert {
                detector: self.detector_name(),
                ts_start: rfc3339_us(f.first_ns.div_euclid(1000)),
                ts_end: rfc3339_us(f.last_ns.div_euclid(1000)),
                src_ip,
                src_port: f.src.port,
                dst_ip,
                dst_port: f.dst.port,
                protocol: f.protocol,
                vlan_id: f.vlan_id,
                label,
                score,
                flow_id: Some(f.id),
                early: f.end_reason == EndReason::Early,
                packets: f.packets(),
                top_features,
            });
        }
        Ok(out)
    }
}
