//! Series anomaly detection for monitoring, and window-level evaluation.
//!
//! Detector (causal: a point is judged only from the past, as a live monitor
//! would): the expected value of point `t` is the median of the same phase in
//! the previous `seasons` seasons (`y[t-m]`, `y[t-2m]`, …) when a season `m`
//! is known and enough history exists, else the median of the previous
//! `window` points. The residual `r_t = y_t − expected` is scored against the
//! previous `window` residuals: `score = |r_t − median| / (1.4826·MAD)`
//! (MAD floored at 1e-9 of the median |y| so flat series do not divide by
//! zero). A point is flagged when `score >= threshold`; flags closer than
//! `merge_gap` points are merged into one [`AnomalyEvent`].
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
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        Self {
            season: None,
            seasons: 3,
            window: 288,
            threshold: 8.0,
            merge_gap: 12,
        }
    }
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
    let s = scores(y, o)?;
    let mut events: Vec<AnomalyEvent> = Vec::new();
    for (t, &sc) in s.iter().enumerate() {
        if sc < o.threshold {
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
    Ok(events)
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
