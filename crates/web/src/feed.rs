//! Feeding the dashboard: the pipeline run (capture → flows → detector) on
//! a background thread, paced replay of captures, and the periodic
//! throughput forecast.
//!
//! Invariants: the state lock is held only for short updates (one packet,
//! one batch of flows or alerts, one copy of the series), never while
//! waiting for packets, detecting or forecasting. Pacing is the pipeline's
//! [`PacedReplay`]: its idle ticks hand out flows that time out during
//! quiet stretches of a capture, so alerts appear when they would live.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netlens_capture::{CaptureReader, PacketRef};
use netlens_detect::Detector;
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{PacedReplay, PacketObserver, PacketSource, RunConfig, RunReport};
use netlens_timeseries::forecast::{ForecastOptions, ModelChoice, SeasonChoice, forecast};
use netlens_wire::{DissectError, PacketSummary};

use crate::state::{Dashboard, ForecastView};

/// The state shared by the pipeline thread and the HTTP handlers.
pub type SharedState = Arc<Mutex<Dashboard>>;

/// Locks the state; a panic elsewhere while holding the lock does not make
/// the dashboard unusable (the data is plain counters).
pub fn lock(state: &SharedState) -> MutexGuard<'_, Dashboard> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Settings of a feed.
#[derive(Clone, Debug)]
pub struct FeedConfig {
    /// Flow meter settings (the detector's feature set decides them).
    pub meter: MeterConfig,
    /// Packets between hand-overs of ended flows (small = alerts sooner).
    pub batch_packets: usize,
}

struct StateObserver<'a>(&'a SharedState);

impl PacketObserver for StateObserver<'_> {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        lock(self.0).on_packet(pkt, dissected);
    }
}

/// Runs `source` (a capture, a [`netlens_pipeline::PacedReplay`] of one, or
/// a live interface) into `state`: packets counted, flows metered and handed
/// to `detector`, alerts recorded. Marks the state finished (or failed) at
/// the end; `stop` ends the run cleanly (open flows flushed). A detector
/// failure on a batch is shown as a warning and the run goes on.
pub fn run_feed<S>(
    source: &mut S,
    cfg: &FeedConfig,
    detector: Option<&Detector>,
    state: &SharedState,
    stop: &AtomicBool,
) -> Result<RunReport, S::Error>
where
    S: PacketSource + ?Sized,
    S::Error: std::fmt::Display,
{
    let run_cfg = RunConfig {
        meter: cfg.meter.clone(),
        batch_packets: cfg.batch_packets.max(1),
        threads: 1,
    };
    let mut obs = StateObserver(state);
    let mut detect_failures = 0u64;
    let res = {
        let mut observers: [&mut dyn PacketObserver; 1] = [&mut obs];
        netlens_pipeline::run_source::<S, S::Error>(
            source,
            &run_cfg,
            &mut observers,
            &mut |flows: &[Flow]| {
                let alerts = match detector.map(|d| d.alerts(flows)) {
                    Some(Ok(a)) => a,
                    Some(Err(e)) => {
                        detect_failures += 1;
                        if detect_failures <= 3 {
                            lock(state).warn(format!("detector failed on a batch: {e}"));
                        }
                        Vec::new()
                    }
                    None => Vec::new(),
                };
                let mut st = lock(state);
                st.on_flows(flows);
                st.on_alerts(alerts);
                Ok(())
            },
            &mut |_| {},
            Some(stop),
        )
    };
    let mut st = lock(state);
    match res {
        Ok(report) => {
            st.finish(&report);
            Ok(report)
        }
        Err(e) => {
            st.fail(e.to_string());
            Err(e)
        }
    }
}

/// Replays capture files into `state` at `speed` × their own pace (0 = as
/// fast as possible), through the pipeline's paced replay, then records the
/// reader's warnings.
pub fn replay(
    reader: CaptureReader,
    speed: f64,
    cfg: &FeedConfig,
    detector: Option<&Detector>,
    state: &SharedState,
    stop: &AtomicBool,
) -> RunReport {
    let (report, mut reader) = if speed > 0.0 && speed.is_finite() {
        let mut paced = PacedReplay::new(reader, speed);
        let r = run_feed(&mut paced, cfg, detector, state, stop);
        (r, paced.into_inner())
    } else {
        let mut reader = reader;
        let r = run_feed(&mut reader, cfg, detector, state, stop);
        (r, reader)
    };
    let mut st = lock(state);
    for w in reader.take_warnings() {
        st.warn(w.to_string());
    }
    // Both sources are infallible (damage in files is a warning).
    match report {
        Ok(r) => r,
        Err(e) => match e {},
    }
}

/// Fewest complete seconds before a forecast is attempted.
pub const MIN_FORECAST_POINTS: usize = 30;
/// Most seconds of history a forecast is fitted on (keeps a refit cheap).
pub const MAX_FORECAST_HISTORY: usize = 900;

/// Recomputes the throughput forecast from the complete seconds so far
/// (outside the lock) and stores it.
pub fn refresh_forecast(state: &SharedState) {
    let (start, bytes) = lock(state).complete_seconds();
    let view = compute_forecast(start, &bytes);
    lock(state).set_forecast(view);
}

/// Forecast of bit/s from per-second bytes starting at Unix second `start`.
pub fn compute_forecast(start: i64, bytes_per_s: &[f64]) -> ForecastView {
    if bytes_per_s.len() < MIN_FORECAST_POINTS {
        return ForecastView::waiting(&format!(
            "needs {MIN_FORECAST_POINTS} s of traffic, has {} s",
            bytes_per_s.len()
        ));
    }
    let skip = bytes_per_s.len().saturating_sub(MAX_FORECAST_HISTORY);
    let y: Vec<f64> = bytes_per_s.iter().skip(skip).map(|b| b * 8.0).collect();
    let horizon = (y.len() / 4).clamp(10, 120);
    let opts = ForecastOptions {
        horizon,
        model: ModelChoice::Auto,
        season: SeasonChoice::Auto,
        level: 0.9,
        backtest: true,
        origins: 5,
        backtest_horizon: None,
    };
    match forecast(&y, start + skip as i64, 1, &opts) {
        Ok(mut r) => {
            // Throughput is never negative.
            r.clip_at_zero();
            let mae = r
                .backtest
                .iter()
                .find(|s| s.model == r.model)
                .map(|s| s.mae)
                .filter(|m| m.is_finite());
            ForecastView {
                available: true,
                note: r.notes.join("; "),
                model: r.model.name().to_string(),
                start: r.start,
                interval_s: r.interval,
                point: r.point,
                lower: r.lower,
                upper: r.upper,
                level: r.level,
                history_points: y.len(),
                backtest_mae: mae,
            }
        }
        Err(e) => ForecastView::waiting(&format!("forecast failed: {e}")),
    }
}

/// Refreshes the forecast every `period` until `stop` is set; after the
/// input has ended it computes one last forecast and returns.
pub fn run_forecaster(state: &SharedState, period: Duration, stop: &AtomicBool) {
    let mut last = (u64::MAX, false);
    loop {
        let (finished, packets) = {
            let st = lock(state);
            (st.finished(), st.packets())
        };
        if (packets, finished) != last {
            refresh_forecast(state);
            last = (packets, finished);
        }
        if finished || stop.load(Ordering::Relaxed) {
            return;
        }
        let until = Instant::now() + period;
        while Instant::now() < until {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
