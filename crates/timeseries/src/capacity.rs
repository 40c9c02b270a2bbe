//! Capacity planning: when does a forecast (and its upper bound) first
//! cross a utilisation threshold?
//!
//! Units: capacities are bits per second. Series values are converted with
//! [`ValueUnit`]: a series of bits or bytes *per interval* (e.g. the Cortez
//! data: bits per hour) is divided by the interval length. A forecast point
//! at time `t` covers `[t, t + interval)`; the crossing time reported is `t`.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::forecast::ForecastResult;
use crate::series::format_time_human;
use crate::units::{Threshold, format_duration, format_rate};

/// What the series values measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValueUnit {
    /// Bits per second (e.g. `bits_per_s` from the accumulator).
    #[default]
    BitsPerSecond,
    /// Bits per interval.
    BitsPerInterval,
    /// Bytes per interval.
    BytesPerInterval,
}

impl ValueUnit {
    /// Parses `bps`, `bits`, `bytes`.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "bps" | "bit/s" => Ok(ValueUnit::BitsPerSecond),
            "bits" => Ok(ValueUnit::BitsPerInterval),
            "bytes" => Ok(ValueUnit::BytesPerInterval),
            _ => Err(Error::Argument {
                input: s.into(),
                message: "expected bps, bits or bytes".into(),
            }),
        }
    }

    /// Converts a value to bit/s.
    pub fn to_bps(self, v: f64, interval_s: i64) -> f64 {
        let i = interval_s.max(1) as f64;
        match self {
            ValueUnit::BitsPerSecond => v,
            ValueUnit::BitsPerInterval => v / i,
            ValueUnit::BytesPerInterval => v * 8.0 / i,
        }
    }
}

/// Result of a capacity check.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityReport {
    /// Capacity, bit/s.
    pub capacity_bps: f64,
    /// Threshold, bit/s.
    pub threshold_bps: f64,
    /// Threshold as a fraction of capacity.
    pub threshold_fraction: f64,
    /// First time the point forecast reaches the threshold.
    pub point_crossing: Option<i64>,
    /// First time the upper bound reaches the threshold.
    pub upper_crossing: Option<i64>,
    /// Peak of the point forecast, bit/s.
    pub peak_point_bps: f64,
    /// Peak of the upper bound, bit/s.
    pub peak_upper_bps: f64,
    /// The plain-language summary.
    pub message: String,
}

/// Checks a forecast against `capacity_bps` and `threshold`. `now` is the
/// time of the last observation (for "in 2 days 3 hours").
pub fn check_capacity(
    f: &ForecastResult,
    unit: ValueUnit,
    capacity_bps: f64,
    threshold: Threshold,
    now: i64,
) -> Result<CapacityReport> {
    if !(capacity_bps.is_finite() && capacity_bps > 0.0) {
        return Err(Error::Invalid("capacity must be > 0".into()));
    }
    let threshold_bps = match threshold {
        Threshold::Fraction(x) => x * capacity_bps,
        Threshold::Rate(r) => r,
    };
    let fraction = threshold_bps / capacity_bps;
    let time = |i: usize| f.start.saturating_add(f.interval.saturating_mul(i as i64));
    let first = |v: &[f64]| {
        v.iter()
            .position(|x| unit.to_bps(*x, f.interval) >= threshold_bps)
            .map(time)
    };
    let point_crossing = first(&f.point);
    let upper_crossing = first(&f.upper);
    let peak = |v: &[f64]| {
        v.iter()
            .map(|x| unit.to_bps(*x, f.interval))
            .fold(0.0, f64::max)
    };
    let horizon = format_duration(f.interval.saturating_mul(f.point.len() as i64));
    let what = if (fraction - 1.0).abs() < 1e-9 {
        format_rate(capacity_bps)
    } else {
        format!(
            "{} % of {}",
            fmt_pct(fraction * 100.0),
            format_rate(capacity_bps)
        )
    };
    let pct = fmt_pct(f.level * 100.0);
    let when = |t: i64| {
        format!(
            "on {} (in {})",
            format_time_human(t),
            format_duration(t.saturating_sub(now).max(0))
        )
    };
    let message = match (upper_crossing, point_crossing) {
        (None, _) => format!(
            "Neither the forecast nor its upper {pct} % bound exceeds {what} within the {horizon} horizon (peak upper bound {}).",
            format_rate(peak(&f.upper))
        ),
        (Some(u), None) => format!(
            "The upper {pct} % bound first exceeds {what} {}; the point forecast does not cross it within the {horizon} horizon.",
            when(u)
        ),
        (Some(u), Some(p)) => format!(
            "The upper {pct} % bound first exceeds {what} {}; the point forecast crosses it {}.",
            when(u),
            when(p)
        ),
    };
    Ok(CapacityReport {
        capacity_bps,
        threshold_bps,
        threshold_fraction: fraction,
        point_crossing,
        upper_crossing,
        peak_point_bps: peak(&f.point),
        peak_upper_bps: peak(&f.upper),
        message,
    })
}

fn fmt_pct(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::{ModelKind, SeasonInfo};

    fn fc(point: Vec<f64>, upper: Vec<f64>) -> ForecastResult {
        ForecastResult {
            model: ModelKind::Naive,
            season: SeasonInfo {
                period: None,
                detected: false,
                candidates: vec![],
            },
            start: 1_122_724_800, // 2005-07-30 12:00 UTC
            interval: 3600,
            lower: point.clone(),
            point,
            upper,
            level: 0.95,
            backtest: vec![],
            backtest_horizon: 0,
            notes: vec![],
        }
    }

    #[test]
    fn crossing_message() {
        // bits per hour: 9e9 bit/s * 3600 = threshold at 80 % of 10 Gbit/s = 8e9 bit/s
        let f = fc(
            vec![1e13; 24],
            (0..24).map(|i| if i >= 2 { 3e13 } else { 1e13 }).collect(),
        );
        let r = check_capacity(
            &f,
            ValueUnit::BitsPerInterval,
            10e9,
            Threshold::Fraction(0.8),
            1_122_724_800 - 3600,
        )
        .expect("ok");
        assert_eq!(r.upper_crossing, Some(1_122_724_800 + 7200));
        assert_eq!(r.point_crossing, None);
        assert_eq!(
            r.message,
            "The upper 95 % bound first exceeds 80 % of 10 Gbit/s on 2005-07-30 14:00 UTC (in 3 hours); the point forecast does not cross it within the 1 day horizon."
        );
        let r = check_capacity(
            &f,
            ValueUnit::BitsPerSecond,
            1e15,
            Threshold::Fraction(0.8),
            0,
        )
        .expect("ok");
        assert!(r.message.starts_with("Neither"));
        assert!(
            check_capacity(
                &f,
                ValueUnit::BitsPerSecond,
                0.0,
                Threshold::Fraction(0.8),
                0
            )
            .is_err()
        );
    }
}
