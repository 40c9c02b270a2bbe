//! Feeding the dashboard: the pipeline run (capture → flows → detector) on
//! a background thread, paced replay of captures, and the periodic
//! throughput forecast.
//!
//! Invariants: the state lock is held only for short updates (one packet,
//! one batch of flows or alerts, one copy of the series), never while
//! sleeping, detecting or forecasting; the pacer never sleeps for packets
//! that are already late, so a slow consumer catches up instead of drifting.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use netlens_capture::{CaptureReader, PacketRef};
use netlens_detect::Detector;
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{PacketObserver, RunConfig, RunReport};
use netlens_timeseries::forecast::{ForecastOptions, ModelChoice, SeasonChoice, forecast};
use netlens_wire::{DissectError, PacketSummary};

use crate::error::WebError;
use crate::state::{Dashboard, ForecastView};

/// The state shared by the pipeline thread and the HTTP handlers.
pub type SharedState = Arc<Mutex<Dashboard>>;

/// Locks the state; a panic elsewhere while holding the lock does not make
/// the dashboard unusable (the data is plain counters).
pub fn lock(state: &SharedState) -> MutexGuard<'_, Dashboard> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Settings of a replay.
#[derive(Clone, Debug)]
pub struct ReplayConfig {
    /// Speed factor: 1 = the capture's own pace, 10 = ten times faster,
    /// 0 = as fast as possible.
    pub speed: f64,
    /// Flow meter settings (the detector's feature set decides them).
    pub meter: MeterConfig,
    /// Packets between hand-overs of ended flows (small = alerts sooner).
    pub batch_packets: usize,
}

/// Releases each packet at its capture time relative to the first packet,
/// scaled by the speed factor.
///
/// Written here because the pipeline's own paced source is not available
/// yet; it is a few lines of clock arithmetic.
struct Pacer<'a> {
    speed: f64,
    origin: Option<(i64, Instant)>,
    stop: &'a AtomicBool,
}

/// The longest single wait, so a stop request is seen promptly.
const MAX_SLEEP: Duration = Duration::from_millis(200);

impl PacketObserver for Pacer<'_> {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, _: Result<&PacketSummary, DissectError>) {
        if !(self.speed > 0.0 && self.speed.is_finite()) {
            return;
        }
        let (t0, w0) = *self.origin.get_or_insert((pkt.ts_ns, Instant::now()));
        let ahead_s = (pkt.ts_ns.saturating_sub(t0)) as f64 / 1e9 / self.speed;
        if ahead_s <= 0.0 {
            return;
        }
        // Bounded: a gap of years does not overflow Duration.
        let target = w0 + Duration::from_secs_f64(ahead_s.min(1e9));
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return;
            }
            let now = Instant::now();
            if now >= target {
                return;
            }
            std::thread::sleep((target - now).min(MAX_SLEEP));
        }
    }
}

struct StateObserver<'a>(&'a SharedState);

impl PacketObserver for StateObserver<'_> {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        lock(self.0).on_packet(pkt, dissected);
    }
}

/// Replays `reader` into `state`: paced packets, flows metered and handed
/// to `detector`, alerts recorded. Marks the state finished (or failed) at
/// the end. `stop` makes the pacer stop waiting (the rest of the input is
/// then read as fast as possible).
pub fn replay(
    reader: &mut CaptureReader,
    cfg: &ReplayConfig,
    detector: Option<&Detector>,
    state: &SharedState,
    stop: &AtomicBool,
) -> Result<RunReport, WebError> {
    let run_cfg = RunConfig {
        meter: cfg.meter.clone(),
        batch_packets: cfg.batch_packets.max(1),
        threads: 1,
    };
    let mut pacer = Pacer {
        speed: cfg.speed,
        origin: None,
        stop,
    };
    let mut obs = StateObserver(state);
    let res = {
        let mut observers: [&mut dyn PacketObserver; 2] = [&mut pacer, &mut obs];
        netlens_pipeline::run::<WebError>(
            reader,
            &run_cfg,
            &mut observers,
            &mut |flows: &[Flow]| {
                let alerts = match detector {
                    Some(d) => d.alerts(flows)?,
                    None => Vec::new(),
                };
                let mut st = lock(state);
                st.on_flows(flows);
                st.on_alerts(alerts);
                Ok(())
            },
            &mut |_| {},
        )
    };
    let warnings: Vec<String> = reader
        .take_warnings()
        .into_iter()
        .map(|w| w.to_string())
        .collect();
    let mut st = lock(state);
    for w in warnings {
        st.warn(w);
    }
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
        Ok(r) => {
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
                // Throughput is never negative.
                point: r.point.iter().map(|v| v.max(0.0)).collect(),
                lower: r.lower.iter().map(|v| v.max(0.0)).collect(),
                upper: r.upper.iter().map(|v| v.max(0.0)).collect(),
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
