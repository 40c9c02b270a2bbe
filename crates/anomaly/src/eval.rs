//! Score separation of detectors on labelled captures.
//!
//! Helpers to run each detector over whole captures and compute ROC-AUC of
//! attack scores against benign scores (via `netlens-ml`'s metrics). Used
//! by the tests and the benchmark.

use std::path::PathBuf;

use netlens_capture::{CaptureReader, Input, PacketRef, ReadOptions};
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{PacketObserver, RunConfig, run};
use netlens_wire::{DissectError, PacketSummary};

use crate::error::{AnomalyError, Result};
use crate::iforest::{IforestConfig, IforestModel, IforestTrainer};
use crate::kitsune::Kitsune;

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

/// Train an isolation forest on the flows of `paths`.
pub fn train_iforest(paths: &[PathBuf], cfg: IforestConfig) -> Result<IforestModel> {
    let mut t = IforestTrainer::new(cfg)?;
    for_flows(paths, &mut [], &mut |b| t.add(b))?;
    t.fit()
}

/// Flow scores of `paths` under `m`.
pub fn iforest_scores(m: &IforestModel, paths: &[PathBuf]) -> Result<Vec<f64>> {
    let ff = m.flow_features()?;
    let mut ctx = m.new_context();
    let mut out = Vec::new();
    for_flows(paths, &mut [], &mut |b| {
        out.extend(m.score(&ff, ctx.as_mut(), b).1)
    })?;
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

/// Run `det` over `paths` (in one pass with flow metering); returns the
/// scores of the packets scored.
pub fn kitsune_scores(det: &mut Kitsune, paths: &[PathBuf]) -> Result<Vec<f64>> {
    let mut c = ScoreCollector {
        det,
        scores: Vec::new(),
    };
    for_flows(paths, &mut [&mut c], &mut |_| {})?;
    Ok(c.scores)
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
