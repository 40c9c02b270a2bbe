//! Series anomaly detection for monitoring, and window-level evaluation.
//!
//! Scores (causal: a point is judged only from the past, as a live monitor
//! would): the expected value of point `t` is the median of the same phase in
//! the previous `seasons` seasons (`y[t-m]`, `y[t-2m]`, …) when a season `m`
//! is known and enough history exists, else the median of the previous
//! `window` points. The residual `r_t = y_t − expected` is scored against the
//! previous `window` residuals: `score = |r_t − median| / (1.4826·MAD)`
//! (MAD floored at 1e-9 of the mean |y| so flat series do not divide by
//! zero). The first scored point is `window + window/2` at the latest (the
//! residual needs `window` points of history, its scale `window/2`
//! residuals).
//!
//! Alerts ([`detect`]), in three documented steps, none of them fitted to
//! labels:
//! 1. **Probation** (NAB's convention: the first 15 % of a series is for
//!    learning): the first `probation` fraction of the series' points,
//!    counted from the first scored point, raise no alert, and a later
//!    score must exceed `margin ×` the largest probation score, so
//!    behaviour that was already there while learning (a daily backup
//!    spike, a noisy link) is normal by definition.
//! 2. **Novelty** (`novelty: true`): a point alerts only if its score is
//!    above `margin ×` every score of the previous `memory` points
//!    (default: as many points as the probation, at least `window`): a
//!    recurring pattern alerts once, not at every repetition, and a level
//!    shift alerts at its onset only. Cost: after a large anomaly, a
//!    smaller one within `memory` points is not reported.
//!
//! Every alert also needs `score >= threshold`. The margin (default
//! `1 + 2·1.16/√window`, see [`AnomalyOptions::margin`]) absorbs the
//! sampling noise of the MAD scale, so that the same event scored twice
//! does not count as new.
//! 3. **Merging**: alerting points at most `merge_gap` points apart form one
//!    [`AnomalyEvent`] (peak = highest score).
//!
//! With `probation: 0.0` and `novelty: false` this is the plain threshold
//! detector ([`AnomalyOptions::plain`]).
//!
//! Evaluation ([`evaluate_windows`]): a labelled window is detected when an
//! event's peak time falls inside it; an event whose peak lies outside every
//! window is a false positive. precision = events inside windows / events;
//! recall = detected windows / windows.

use serde::Serialize;

use crate::error::{Error, Result};

/// Detector settings.
#[derive(Debug, Clone, Copy)]
pub struct AnomalyOptions {
    /// Season length in points (None: level only).
    pub season: Option<usize>,
    /// Seasons used for the seasonal median.
    pub seasons: usize,
    /// Trailing window (points) for the level median and residual MAD.
    pub window: usize,
    /// Score at or above which a point is flagged.
    pub threshold: f64,
    /// Flags at most this many points apart form one event.
    pub merge_gap: usize,
    /// Fraction of the points (0 to 0.5), counted from the first scored
    /// point, that calibrate the threshold and raise no alert.
    pub probation: f64,
    /// Alert only on scores above every score of the previous `memory`
    /// points.
    pub novelty: bool,
    /// Memory of the novelty rule in points (None: the probation length, at
    /// least `window`).
    pub memory: Option<usize>,
    /// Factor by which a score must exceed behaviour already seen (None:
    /// derived from the window, see [`AnomalyOptions::margin`]).
    pub novelty_margin: Option<f64>,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        Self {
            season: None,
            seasons: 3,
            window: 288,
            threshold: 8.0,
            merge_gap: 12,
            probation: 0.15,
            novelty: true,
            memory: None,
            novelty_margin: None,
        }
    }
}

impl AnomalyOptions {
    /// The plain threshold detector (no probation, no novelty rule): every
    /// point scoring at least `threshold` alerts.
    pub fn plain() -> Self {
        Self {
            probation: 0.0,
            novelty: false,
            ..Self::default()
        }
    }

    /// Factor by which a score must exceed the largest score already seen
    /// (probation, novelty memory). Default `1 + 2·1.16/√window`: the
    /// MAD's relative standard error is about `1.16/√n` for normal data
    /// (37 % efficiency of the SD's `1/√(2n)`), so the same event scored
    /// twice differs by a few per cent from the noise in the scale alone;
    /// two standard errors keep such repetitions quiet (1.14 at 288).
    pub fn margin(&self) -> f64 {
        match self.novelty_margin {
            Some(m) if m.is_finite() && m >= 1.0 => m,
            _ => 1.0 + 2.0 * 1.16 / (self.window.max(1) as f64).sqrt(),
        }
    }

    /// One sentence describing the alert rule, for reports.
    pub fn describe(&self) -> String {
        let mut s = format!("score ≥ {}", self.threshold);
        if self.probation > 0.0 {
            s.push_str(&format!(
                " and {:.2}× above every score of the first {:.0} % of scored points (probation, no alerts there)",
                self.margin(),
                self.probation.clamp(0.0, 0.5) * 100.0
            ));
        }
        if self.novelty {
            s.push_str(&format!(
                " and {:.2}× above every score of the preceding {}",
                self.margin(),
                match self.memory {
                    Some(m) => format!("{m} intervals"),
                    None => "probation-length span".to_string(),
                }
            ));
        }
        s.push_str(&format!(
            "; alerts at most {} intervals apart are merged",
            self.merge_gap
        ));
        s
    }
}

/// What [`detect_with_info`] found, with the calibration it used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Events, in time order.
    pub events: Vec<AnomalyEvent>,
    /// Threshold after probation calibration: `max(threshold, margin ×
    /// largest probation score)`.
    pub threshold: f64,
    /// First index that may alert (end of warm-up and probation).
    pub first_alert: usize,
    /// Memory of the novelty rule, points (0 when off).
    pub memory: usize,
}

/// A run of anomalous points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnomalyEvent {
    /// Index of the first flagged point.
    pub start: usize,
    /// Index of the last flagged point.
    pub end: usize,
    /// Index of the highest score.
    pub peak: usize,
    /// Highest score.
    pub score: f64,
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(m).copied().unwrap_or(0.0)
    } else {
        (v.get(m - 1).copied().unwrap_or(0.0) + v.get(m).copied().unwrap_or(0.0)) / 2.0
    }
}

/// Scores every point (0 for the warm-up where history is too short).
pub fn scores(y: &[f64], o: &AnomalyOptions) -> Result<Vec<f64>> {
    if o.window < 8 {
        return Err(Error::Invalid("anomaly window must be >= 8 points".into()));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!("value {i} is not finite")));
    }
    if y.len() < o.window + 2 {
        return Err(Error::TooShort {
            what: "anomaly detection".into(),
            needed: o.window + 2,
            got: y.len(),
        });
    }
    let mut resid = vec![f64::NAN; y.len()];
    let mut buf = Vec::with_capacity(o.window.max(o.seasons));
    for t in 0..y.len() {
        buf.clear();
        match o.season {
            Some(m) if m >= 2 && t >= m * o.seasons.max(1) => {
                buf.extend((1..=o.seasons.max(1)).filter_map(|k| y.get(t - k * m).copied()));
            }
            _ if t >= o.window => {
                buf.extend(y.get(t - o.window..t).unwrap_or(&[]).iter().copied());
            }
            _ => continue,
        }
        let exp = median(&mut buf);
        if let (Some(r), Some(v)) = (resid.get_mut(t), y.get(t)) {
            *r = v - exp;
        }
    }
    let mut out = vec![0.0; y.len()];
    for t in 0..y.len() {
        let Some(&r) = resid.get(t) else { continue };
        if r.is_nan() || t < o.window {
            continue;
        }
        buf.clear();
        buf.extend(
            resid
                .get(t - o.window..t)
                .unwrap_or(&[])
                .iter()
                .copied()
                .filter(|v| !v.is_nan()),
        );
        if buf.len() < o.window / 2 {
            continue;
        }
        let med = median(&mut buf);
        for v in buf.iter_mut() {
            *v = (*v - med).abs();
        }
        let mad = median(&mut buf);
        let lvl = y.get(t - o.window..t).map_or(1.0, |w| {
            w.iter().map(|v| v.abs()).sum::<f64>() / w.len().max(1) as f64
        });
        let s = (r - med).abs() / (1.4826 * mad).max(1e-9 * lvl.max(1e-12));
        if let Some(x) = out.get_mut(t) {
            *x = s;
        }
    }
    Ok(out)
}

/// Detects anomalous events (see module docs).
pub fn detect(y: &[f64], o: &AnomalyOptions) -> Result<Vec<AnomalyEvent>> {
    Ok(detect_with_info(y, o)?.events)
}

/// Detects anomalous events and says which calibration was used.
pub fn detect_with_info(y: &[f64], o: &AnomalyOptions) -> Result<Detection> {
    if !(0.0..=0.5).contains(&o.probation) {
        return Err(Error::Invalid(format!(
            "probation must be a fraction in [0, 0.5], got {}",
            o.probation
        )));
    }
    if !o.threshold.is_finite() {
        return Err(Error::Invalid("anomaly threshold must be finite".into()));
    }
    let s = scores(y, o)?;
    let n = s.len();
    // The first scored point: scores are 0 during the warm-up (a real
    // score of exactly 0 is possible later and is harmless here).
    let first_scored = s.iter().position(|v| *v > 0.0).unwrap_or(n);
    // Truncation is intended: the probation is a whole number of points.
    let probation = (o.probation * n as f64) as usize;
    let first_alert = first_scored.saturating_add(probation).min(n);
    // Largest score of the warm-up and probation (0 without probation).
    let probation_max = if probation > 0 {
        s.get(..first_alert)
            .unwrap_or(&[])
            .iter()
            .copied()
            .fold(0.0, f64::max)
    } else {
        0.0
    };
    let margin = o.margin();
    let memory = if o.novelty {
        o.memory.unwrap_or(probation.max(o.window)).max(1)
    } else {
        0
    };
    // Sliding maximum of the previous `memory` scores (monotonic deque of
    // indices with decreasing scores): O(n) instead of O(n·memory).
    let mut window_max: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut events: Vec<AnomalyEvent> = Vec::new();
    for (t, &sc) in s.iter().enumerate() {
        if memory > 0 {
            while window_max.front().is_some_and(|&i| i + memory < t) {
                window_max.pop_front();
            }
        }
        let past_max = window_max
            .front()
            .and_then(|&i| s.get(i).copied())
            .unwrap_or(0.0);
        if memory > 0 {
            while window_max
                .back()
                .and_then(|&i| s.get(i))
                .is_some_and(|&v| v <= sc)
            {
                window_max.pop_back();
            }
            window_max.push_back(t);
        }
        // Behaviour already seen (probation, memory) must be exceeded by
        // the margin: a repetition of the same pattern does not alert again.
        let seen = if memory > 0 {
            probation_max.max(past_max)
        } else {
            probation_max
        };
        if t < first_alert || sc < o.threshold || sc <= margin * seen {
            continue;
        }
        match events.last_mut() {
            Some(e) if t <= e.end + o.merge_gap + 1 => {
                e.end = t;
                if sc > e.score {
                    e.score = sc;
                    e.peak = t;
                }
            }
            _ => events.push(AnomalyEvent {
                start: t,
                end: t,
                peak: t,
                score: sc,
            }),
        }
    }
    Ok(Detection {
        events,
        threshold: o.threshold.max(margin * probation_max),
        first_alert,
        memory,
    })
}

/// Window-level evaluation result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WindowEval {
    /// Labelled windows.
    pub windows: usize,
    /// Windows with at least one event peak inside.
    pub detected: usize,
    /// Events.
    pub events: usize,
    /// Events whose peak is outside every window.
    pub false_positives: usize,
}

impl WindowEval {
    /// Events inside windows / events (1 when there are no events).
    pub fn precision(&self) -> f64 {
        if self.events == 0 {
            1.0
        } else {
            (self.events - self.false_positives) as f64 / self.events as f64
        }
    }
    /// Detected windows / windows (1 when there are no windows).
    pub fn recall(&self) -> f64 {
        if self.windows == 0 {
            1.0
        } else {
            self.detected as f64 / self.windows as f64
        }
    }
}

/// Evaluates event peak times (Unix s) against windows `[start, end]`.
pub fn evaluate_windows(peaks: &[i64], windows: &[(i64, i64)]) -> WindowEval {
    let inside = |t: i64| windows.iter().any(|(a, b)| t >= *a && t <= *b);
    WindowEval {
        windows: windows.len(),
        detected: windows
            .iter()
            .filter(|(a, b)| peaks.iter().any(|t| t >= a && t <= b))
            .count(),
        events: peaks.len(),
        false_positives: peaks.iter().filter(|t| !inside(**t)).count(),
    }
}

/// Reads NAB `combined_windows.json` windows for one key such as
/// `realAWSCloudwatch/ec2_network_in_257a54.csv` as Unix seconds.
pub fn nab_windows(json: &str, key: &str) -> Result<Vec<(i64, i64)>> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let list = v
        .get(key)
        .and_then(|l| l.as_array())
        .ok_or_else(|| Error::Invalid(format!("no windows for '{key}'")))?;
    let mut out = Vec::new();
    for w in list {
        let pair = w
            .as_array()
            .ok_or_else(|| Error::Invalid("window is not a pair".into()))?;
        let t = |i: usize| {
            pair.get(i)
                .and_then(|x| x.as_str())
                .and_then(crate::series::parse_time)
                .ok_or_else(|| Error::Invalid(format!("bad window time in '{key}'")))
        };
        out.push((t(0)?, t(1)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_injected_spike() {
        let mut y: Vec<f64> = (0..2000)
            .map(|i| {
                100.0
                    + 20.0 * (std::f64::consts::TAU * i as f64 / 288.0).sin()
                    + ((i * 37) % 11) as f64
            })
            .collect();
        y[1500] += 400.0;
        let o = AnomalyOptions {
            season: Some(288),
            ..Default::default()
        };
        let ev = detect(&y, &o).expect("detect");
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].peak, 1500);
        assert!(detect(&y[..100], &o).is_err());
        let flat = vec![5.0; 1000];
        assert!(
            detect(&flat, &AnomalyOptions::default())
                .expect("flat")
                .is_empty()
        );
    }

    /// Deterministic noise in [-1, 1) (xorshift), so tests do not depend
    /// on a random-number crate or on run order.
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut x = seed.max(1);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn recurring_spike_train_alerts_only_on_a_new_larger_spike() {
        let mut y: Vec<f64> = noise(2000, 7).iter().map(|e| 100.0 + 5.0 * e).collect();
        for i in (25..2000).step_by(50) {
            y[i] += 200.0;
        }
        // The plain threshold detector alerts on every spike.
        let plain = detect(&y, &AnomalyOptions::plain()).expect("plain");
        assert!(plain.len() >= 20, "{}", plain.len());
        // Spikes already present in the probation are normal.
        let d = detect_with_info(&y, &AnomalyOptions::default()).expect("default");
        assert!(d.events.is_empty(), "{:?}", d.events);
        assert!(d.threshold > 8.0, "calibrated {}", d.threshold);
        // A spike ten times larger is new.
        y[1710] += 2000.0;
        let ev = detect(&y, &AnomalyOptions::default()).expect("default");
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert_eq!(ev[0].peak, 1710);
    }

    #[test]
    fn level_shift_alerts_once_at_its_onset() {
        let y: Vec<f64> = noise(3000, 11)
            .iter()
            .enumerate()
            .map(|(i, e)| if i < 2000 { 100.0 } else { 300.0 } + 5.0 * e)
            .collect();
        let ev = detect(&y, &AnomalyOptions::default()).expect("detect");
        assert_eq!(ev.len(), 1, "{ev:?}");
        assert!((2000..2012).contains(&ev[0].start), "{ev:?}");
        // The plain detector alerts again and again while the trailing
        // median catches up.
        let plain = detect(&y, &AnomalyOptions::plain()).expect("plain");
        assert!(
            plain.iter().map(|e| e.end - e.start + 1).sum::<usize>() > 50,
            "{plain:?}"
        );
    }

    #[test]
    fn noisy_flat_series_has_no_events() {
        // Sum of three uniforms: bell-shaped noise around a flat level.
        let (a, b, c) = (noise(6000, 3), noise(6000, 5), noise(6000, 9));
        let y: Vec<f64> = (0..6000)
            .map(|i| 1e6 + 1e5 * (a[i] + b[i] + c[i]))
            .collect();
        let d = detect_with_info(&y, &AnomalyOptions::default()).expect("detect");
        assert!(d.events.is_empty(), "{:?}", d.events);
        assert_eq!(d.first_alert, 432 + 900, "warm-up 1.5 windows, then 15 %");
        assert!(
            detect(&vec![7.0; 3000], &AnomalyOptions::default())
                .expect("flat")
                .is_empty()
        );
    }

    #[test]
    fn novelty_rule_matches_brute_force() {
        let mut y: Vec<f64> = noise(3000, 13).iter().map(|e| 50.0 + e).collect();
        for (k, i) in (400..3000).step_by(97).enumerate() {
            y[i] += 3.0 * (1 + k % 5) as f64;
        }
        let o = AnomalyOptions {
            window: 64,
            memory: Some(150),
            merge_gap: 0,
            threshold: 4.0,
            ..AnomalyOptions::default()
        };
        let d = detect_with_info(&y, &o).expect("detect");
        let s = scores(&y, &o).expect("scores");
        let prob_max = s[..d.first_alert].iter().copied().fold(0.0, f64::max);
        let m = o.margin();
        assert!((m - (1.0 + 2.32 / 8.0)).abs() < 1e-12);
        assert_eq!(d.threshold, o.threshold.max(m * prob_max));
        let want: Vec<usize> = (d.first_alert..s.len())
            .filter(|&t| {
                let past = s[t.saturating_sub(150)..t]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max);
                s[t] >= o.threshold && s[t] > m * past.max(prob_max)
            })
            .collect();
        assert!(!want.is_empty());
        // With merge_gap 0 an event is a run of consecutive alerting points.
        let got: Vec<usize> = d.events.iter().flat_map(|e| e.start..=e.end).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn bad_options_are_errors() {
        let y = vec![1.0; 1000];
        let o = AnomalyOptions {
            probation: 0.9,
            ..AnomalyOptions::default()
        };
        assert!(detect(&y, &o).is_err());
        assert!(!AnomalyOptions::default().describe().is_empty());
    }

    #[test]
    fn window_metrics() {
        let e = evaluate_windows(&[5, 50, 500], &[(0, 10), (100, 200)]);
        assert_eq!(
            e,
            WindowEval {
                windows: 2,
                detected: 1,
                events: 3,
                false_positives: 2
            }
        );
        assert!((e.precision() - 1.0 / 3.0).abs() < 1e-12);
        assert!((e.recall() - 0.5).abs() < 1e-12);
    }

    #[test]
    fn nab_labelled_windows_are_found() {
        let dir = crate::tests_support::data_dir().join("timeseries/nab-aws-cloudwatch");
        let json = std::fs::read_to_string(dir.join("combined_windows.json")).expect("json");
        let (s, _) =
            crate::read_series_csv(&dir.join("ec2_network_in_257a54.csv"), &Default::default())
                .expect("csv");
        let w = nab_windows(&json, "realAWSCloudwatch/ec2_network_in_257a54.csv").expect("windows");
        assert_eq!(w.len(), 1);
        let ev = detect(&s.columns[0].values, &AnomalyOptions::default()).expect("detect");
        let peaks: Vec<i64> = ev.iter().map(|e| s.time(e.peak)).collect();
        let r = evaluate_windows(&peaks, &w);
        assert_eq!(r.detected, 1, "{r:?} {ev:?}");
    }
}
