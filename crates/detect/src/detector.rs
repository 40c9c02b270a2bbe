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

use std::path::Path;
use std::sync::Mutex;

use hashbrown::HashSet;
use netlens_export::time::rfc3339_us;
use netlens_flow::{EndReason, Flow, FlowKey};
use netlens_ml::matrix::Matrix;
use netlens_ml::model::{Estimator, Output, TrainedModel};
use netlens_ml::table::{ColumnData, Table};

use crate::alert::{Alert, AlertLine, AlertLineWriter, TopFeature, json_string};
use crate::error::{DetectError, Result};
use crate::features::{
    CONTEXT_FEATURES, ContextRow, DirectFeatures, FeatureSet, HostContext, fill_table,
};

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
    /// `detector_name()` as a JSON string (escaped once, not per alert).
    name_json: String,
    /// The alert labels ([`Detector::alert_labels`]) as JSON strings.
    labels_json: Vec<String>,
    /// `top` as JSON strings.
    top_json: Vec<String>,
    /// Feature columns of the set the model never reads (sorted; see [`unread_columns`]).
    unread: Vec<String>,
    /// The model input computed straight from flows, when its preprocessing allows.
    direct: Option<DirectFeatures>,
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
        // No snapshot in flight nor in this batch (every batch of a run
        // without `--early`): every record is a final one to classify, and
        // nothing needs hashing.
        if self.open.is_empty() && !batch.iter().any(|f| f.end_reason == EndReason::Early) {
            self.finals_classified += batch.len() as u64;
            return batch.iter().collect();
        }
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
                needs_early: needed.filter(|&n| n > set.early),
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
        let mut labels_json: Vec<String> = model.classes.iter().map(|c| json_string(c)).collect();
        labels_json.push(json_string(ATTACK));
        let unread = unread_columns(&model, &have, &top);
        let direct = DirectFeatures::new(set, &model.pipeline, &unread, &top);
        Ok(Detector {
            unread,
            direct,
            name_json: json_string(&format!("model:{name}")),
            labels_json,
            top_json: top.iter().map(|t| json_string(t)).collect(),
            model,
            name,
            set,
            benign,
            top,
            context: Mutex::new(HostContext::default()),
        })
    }

    /// The labels alerts can carry, in the order of
    /// [`DetectBuffers::alerts_per_label`]: the model's classes (its benign
    /// class never alerts), then `"attack"` (a model whose only class is
    /// benign).
    pub fn alert_labels(&self) -> Vec<&str> {
        self.model
            .classes
            .iter()
            .map(String::as_str)
            .chain([ATTACK])
            .collect()
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
        let mut buf = DetectBuffers::default();
        self.verdicts(&refs, &mut buf)?;
        Ok(buf
            .verdicts
            .iter()
            .map(|&(v, score)| (self.label_of(v).to_string(), score))
            .collect())
    }

    /// The label of a verdict.
    fn label_of(&self, v: u32) -> &str {
        if v == BENIGN {
            return "benign";
        }
        self.model
            .classes
            .get(v as usize)
            .map_or(ATTACK, String::as_str)
    }

    /// Fill `buf.matrix` with the model input of `flows` and `buf.top_raw`
    /// with the raw values of the top features, updating the stream's host
    /// context (once per flow).
    fn inputs(&self, flows: &[&Flow], buf: &mut DetectBuffers) -> Result<()> {
        buf.context.clear();
        if self.set.context {
            // A poisoned lock only means another thread panicked mid-update;
            // the counts are still usable.
            let mut ctx = self.context.lock().unwrap_or_else(|e| e.into_inner());
            buf.context.extend(flows.iter().map(|f| ctx.observe(f)));
        }
        if let Some(d) = &self.direct {
            d.fill(flows, &buf.context, &mut buf.matrix, &mut buf.top_raw);
            return Ok(());
        }
        let context = self.set.context.then_some(&buf.context[..]);
        fill_table(
            flows,
            self.set,
            context,
            false,
            &self.unread,
            &mut buf.table,
        );
        self.model
            .pipeline
            .transform_into(&buf.table, &mut buf.matrix)?;
        buf.top_raw.resize_with(self.top.len(), Vec::new);
        for (name, col) in self.top.iter().zip(buf.top_raw.iter_mut()) {
            col.clear();
            if let Ok(ColumnData::Num(v)) = buf.table.column(name).map(|c| &c.data) {
                col.extend_from_slice(v);
            }
        }
        Ok(())
    }

    /// Classify `flows` into `buf.verdicts` (one per flow: [`BENIGN`], a
    /// class index, or the class count for "attack"), leaving the raw
    /// values of the top features in `buf.top_raw`.
    fn verdicts(&self, flows: &[&Flow], buf: &mut DetectBuffers) -> Result<()> {
        buf.verdicts.clear();
        if flows.is_empty() {
            return Ok(());
        }
        self.inputs(flows, buf)?;
        let k = self.model.classes.len().max(1);
        let Output::Proba(p) = self.model.output(&buf.matrix)? else {
            return Err(DetectError::UnusableModel {
                model: self.name.clone(),
                msg: "it does not output class probabilities".into(),
            });
        };
        // Binary models always carry one (0.5 by default); multi-class ones
        // only when train-detector chose it (--target-fpr).
        let threshold = self.model.threshold;
        buf.verdicts.extend(p.chunks(k).map(|row| {
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
            let verdict = if !attack {
                BENIGN
            } else {
                // The most probable non-benign class.
                let mut best: Option<(usize, f64)> = None;
                for (i, v) in row.iter().enumerate() {
                    if i != self.benign && best.is_none_or(|(_, b)| *v > b) {
                        best = Some((i, *v));
                    }
                }
                best.filter(|(i, _)| *i < self.model.classes.len())
                    .map_or(self.model.classes.len() as u32, |(i, _)| i as u32)
            };
            (verdict, score)
        }));
        Ok(())
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
        let mut buf = DetectBuffers::default();
        self.verdicts(flows, &mut buf)?;
        let top_cols = &buf.top_raw;
        let mut out = Vec::new();
        for (i, (f, &(verdict, score))) in flows.iter().zip(&buf.verdicts).enumerate() {
            if verdict == BENIGN {
                continue;
            }
            let top_features = self
                .top
                .iter()
                .zip(top_cols)
                .map(|(n, v)| TopFeature {
                    name: n.clone(),
                    value: v.get(i).copied().filter(|x| x.is_finite()),
                })
                .collect();
            out.push(Alert {
                detector: self.detector_name(),
                ts_start: rfc3339_us(f.first_ns.div_euclid(1000)),
                ts_end: rfc3339_us(f.last_ns.div_euclid(1000)),
                src_ip: f.src_ip().to_string(),
                src_port: f.src.port,
                dst_ip: f.dst_ip().to_string(),
                dst_port: f.dst.port,
                protocol: f.protocol,
                vlan_id: f.vlan_id,
                label: self.label_of(verdict).to_string(),
                score,
                flow_id: Some(f.id),
                early: f.end_reason == EndReason::Early,
                packets: f.packets(),
                top_features,
            });
        }
        Ok(out)
    }

    /// [`Detector::alerts_once`] written straight to JSON Lines: appends
    /// to `out` the lines [`crate::alert::AlertWriter`] would write for the
    /// alerts `alerts_once` returns (same bytes, same order), without
    /// building them, and counts them in `buf.alerts_per_label`. `buf`
    /// keeps its buffers from batch to batch (use one per stream). Returns
    /// the number of alerts.
    pub fn write_alerts_once(
        &self,
        flows: &[Flow],
        seen: &mut EarlyDecisions,
        buf: &mut DetectBuffers,
        out: &mut Vec<u8>,
    ) -> Result<usize> {
        let picked = seen.select(flows);
        let labels = self.labels_json.len();
        if buf.alerts_per_label.len() != labels {
            buf.alerts_per_label.resize(labels, 0);
        }
        let mut values = Vec::with_capacity(self.top.len());
        let mut n = 0;
        // In chunks, so that a chunk's input matrix (CHUNK × inputs) is
        // still in cache when the model reads it back.
        for chunk in picked.chunks(CHUNK) {
            self.verdicts(chunk, buf)?;
            for (i, (f, &(verdict, score))) in chunk.iter().zip(&buf.verdicts).enumerate() {
                if verdict == BENIGN {
                    continue;
                }
                let v = (verdict as usize).min(labels.saturating_sub(1));
                if let Some(c) = buf.alerts_per_label.get_mut(v) {
                    *c += 1;
                }
                values.clear();
                values.extend(
                    buf.top_raw
                        .iter()
                        .map(|c| c.get(i).copied().unwrap_or(f64::NAN)),
                );
                buf.lines.push(
                    out,
                    &AlertLine {
                        detector_json: &self.name_json,
                        ts_start_us: f.first_ns.div_euclid(1000),
                        ts_end_us: f.last_ns.div_euclid(1000),
                        src_ip: f.src_ip(),
                        src_port: f.src.port,
                        dst_ip: f.dst_ip(),
                        dst_port: f.dst.port,
                        protocol: f.protocol,
                        vlan_id: f.vlan_id,
                        label_json: self.labels_json.get(v).map_or("\"attack\"", String::as_str),
                        score,
                        flow_id: Some(f.id),
                        early: f.end_reason == EndReason::Early,
                        packets: f.packets(),
                        top_names_json: &self.top_json,
                        top_values: &values,
                    },
                );
                n += 1;
            }
        }
        Ok(n)
    }
}

/// The columns of `have` (a feature set's names) whose values cannot change
/// a prediction of `model` nor an alert: not read by its preprocessing, or,
/// for a forest behind a numeric-only pipeline, read only into a feature
/// no split tests (dropped constant or duplicate features, unused ones),
/// and not among the `top` features alerts list. Sorted. Detection fills
/// them with NaN rather than computing them per flow.
fn unread_columns(model: &TrainedModel, have: &[String], top: &[String]) -> Vec<String> {
    use netlens_ml::preprocess::Transform;
    let required = model.pipeline.required_columns();
    let used: Vec<&str> = model
        .pipeline
        .plans
        .iter()
        .filter(|p| !matches!(p.transform, Transform::Dropped(_)))
        .map(|p| p.column.as_str())
        .collect();
    let numeric = model.pipeline.plans.iter().all(|p| {
        matches!(
            p.transform,
            Transform::Numeric { .. } | Transform::Dropped(_)
        )
    });
    let read: Vec<&str> = match &model.estimator {
        Estimator::Forest(f) if numeric => {
            let mut r: Vec<&str> = top.iter().map(String::as_str).collect();
            for n in f.trees.iter().flat_map(|t| &t.nodes) {
                // A split's feature is a kept feature; with numeric plans
                // only, kept feature e is the e-th used plan's column.
                let col = usize::try_from(n.feature)
                    .ok()
                    .and_then(|j| model.pipeline.keep.get(j))
                    .and_then(|&e| used.get(e));
                if let Some(c) = col {
                    r.push(c);
                }
            }
            r
        }
        _ => required,
    };
    let mut out: Vec<String> = have
        .iter()
        .filter(|h| !read.contains(&h.as_str()))
        .cloned()
        .collect();
    out.sort();
    out
}

/// Flows classified together by [`Detector::write_alerts_once`]: the
/// input matrix of 512 flows × ~100 inputs (≈ 0.4 MB) stays in the L2
/// cache between being written and being read by the model.
const CHUNK: usize = 512;

/// Label of an alert whose model has no non-benign class.
const ATTACK: &str = "attack";

/// Verdict of a flow classified benign.
const BENIGN: u32 = u32::MAX;

/// Buffers one stream's batches are classified in
/// ([`Detector::write_alerts_once`]), kept from batch to batch so that
/// classifying a batch allocates little and touches no fresh pages.
#[derive(Debug, Default)]
pub struct DetectBuffers {
    table: Table,
    matrix: Matrix,
    context: Vec<ContextRow>,
    verdicts: Vec<(u32, f64)>,
    /// Raw values of the detector's top features, one column each.
    top_raw: Vec<Vec<f64>>,
    lines: AlertLineWriter,
    /// Alerts written per label, indexed like [`Detector::alert_labels`].
    pub alerts_per_label: Vec<u64>,
}
