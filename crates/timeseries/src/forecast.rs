//! Forecasting: naive, seasonal-naive, linear regression (lags, calendar
//! Fourier terms, trend) and Holt-Winters (additive and multiplicative),
//! rolling-origin backtests and automatic model choice.
//!
//! Invariants and rules:
//! - Input values are finite; a model that needs more data than given is
//!   skipped with a note (never a panic); if no model can run, the result is
//!   [`Error::TooShort`].
//! - Season: the autocorrelation of the linearly detrended series is
//!   measured at candidate periods (1 h, 1 day, 1 week expressed in
//!   intervals, each needing at least 3 full cycles); the largest wins, a
//!   longer period only if it beats a shorter one by more than 0.1; none if
//!   the best is below 0.2. `SeasonChoice::Fixed` overrides.
//! - Linear model: ridge least squares by Householder QR (see `linalg`),
//!   direct strategy: one regression per step j = 1..=min(season, 24) on lags
//!   j and j+1, the first seasonal lags at or after j, the weekly lag (when
//!   the data hold 3 weeks), Fourier terms of hour-of-day (4 pairs) and
//!   day-of-week (3 pairs) from the UTC timestamps, and a linear trend; later
//!   steps repeat the value one week (or season) earlier plus the fitted
//!   drift, so long planning horizons extrapolate the trend. Fitted on the
//!   last 3,000 points, on log(y) when every value is > 0.
//! - Holt-Winters: additive trend with additive or multiplicative
//!   seasonality; α, β, γ in (0, 1) minimise the in-sample one-step SSE by
//!   Nelder-Mead on logit-transformed parameters. Needs 2 full seasons;
//!   multiplicative needs all values > 0.
//! - Backtest: rolling origin. Origins are `horizon` apart, the last one at
//!   `n - horizon`; each origin refits every model on the data before it.
//!   MASE is scaled per origin by the in-sample MAE of the seasonal-naive
//!   forecast (lag = season, or 1 without season) and averaged over origins.
//!   MAPE skips zero actuals. The automatic choice is the lowest MASE (MAE if
//!   MASE is undefined).
//! - Prediction intervals: empirical quantiles of the chosen model's
//!   backtest errors at the same step (pooled over ±2 steps); past the
//!   backtested horizon the width grows with √(h / H). Without a backtest,
//!   in-sample one-step residual quantiles scaled by √h.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::linalg::ridge_qr;
use crate::optim::nelder_mead;

/// The forecasting models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// Last value repeated.
    Naive,
    /// Value one season earlier.
    SeasonalNaive,
    /// Ridge regression on lags, calendar and trend.
    Linear,
    /// Holt-Winters with additive seasonality.
    HoltWintersAdditive,
    /// Holt-Winters with multiplicative seasonality.
    HoltWintersMultiplicative,
}

impl ModelKind {
    /// All models, in report order.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::Naive,
        ModelKind::SeasonalNaive,
        ModelKind::Linear,
        ModelKind::HoltWintersAdditive,
        ModelKind::HoltWintersMultiplicative,
    ];

    /// Short name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Naive => "naive",
            ModelKind::SeasonalNaive => "seasonal-naive",
            ModelKind::Linear => "linear",
            ModelKind::HoltWintersAdditive => "holt-winters-add",
            ModelKind::HoltWintersMultiplicative => "holt-winters-mul",
        }
    }
}

/// Which models to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    /// Backtest all that apply and pick the best.
    Auto,
    /// Both Holt-Winters variants; the better in backtest (or SSE) wins.
    HoltWinters,
    /// One model.
    Only(ModelKind),
}

impl ModelChoice {
    /// Parses `auto`, `linear`, `holt-winters`, `hw-add`, `hw-mul`,
    /// `seasonal-naive`, `naive`.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "auto" => ModelChoice::Auto,
            "linear" => ModelChoice::Only(ModelKind::Linear),
            "holt-winters" | "hw" => ModelChoice::HoltWinters,
            "holt-winters-add" | "hw-add" => ModelChoice::Only(ModelKind::HoltWintersAdditive),
            "holt-winters-mul" | "hw-mul" => {
                ModelChoice::Only(ModelKind::HoltWintersMultiplicative)
            }
            "seasonal-naive" | "snaive" => ModelChoice::Only(ModelKind::SeasonalNaive),
            "naive" => ModelChoice::Only(ModelKind::Naive),
            _ => {
                return Err(Error::Argument {
                    input: s.to_string(),
                    message: "expected auto, linear, holt-winters, hw-add, hw-mul, seasonal-naive or naive".into(),
                });
            }
        })
    }

    fn kinds(self) -> Vec<ModelKind> {
        match self {
            ModelChoice::Auto => ModelKind::ALL.to_vec(),
            ModelChoice::HoltWinters => vec![
                ModelKind::HoltWintersAdditive,
                ModelKind::HoltWintersMultiplicative,
            ],
            ModelChoice::Only(k) => vec![k],
        }
    }
}

/// Season selection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeasonChoice {
    /// Detect from the autocorrelation.
    Auto,
    /// No seasonality.
    None,
    /// This many intervals per season (>= 2).
    Fixed(usize),
}

/// Options of [`forecast`].
#[derive(Debug, Clone)]
pub struct ForecastOptions {
    /// Steps to forecast (>= 1).
    pub horizon: usize,
    /// Models to run.
    pub model: ModelChoice,
    /// Season.
    pub season: SeasonChoice,
    /// Prediction interval level, e.g. 0.95.
    pub level: f64,
    /// Run the rolling-origin backtest (always done for `ModelChoice::Auto`
    /// or several models).
    pub backtest: bool,
    /// Number of backtest origins (default 10).
    pub origins: usize,
    /// Backtest horizon; default `min(horizon, 2 seasons or 48)`.
    pub backtest_horizon: Option<usize>,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        Self {
            horizon: 24,
            model: ModelChoice::Auto,
            season: SeasonChoice::Auto,
            level: 0.95,
            backtest: true,
            origins: 10,
            backtest_horizon: None,
        }
    }
}

/// Autocorrelation at one candidate period.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonCandidate {
    /// Period in intervals.
    pub period: usize,
    /// Autocorrelation of the detrended series at that lag.
    pub acf: f64,
}

/// Result of season detection.
#[derive(Debug, Clone, Serialize)]
pub struct SeasonInfo {
    /// The season used (None = no seasonality).
    pub period: Option<usize>,
    /// Whether it was detected (false = given).
    pub detected: bool,
    /// Candidates considered.
    pub candidates: Vec<SeasonCandidate>,
}

/// Backtest errors of one model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelScore {
    /// The model.
    pub model: ModelKind,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute percentage error, % (zero actuals skipped).
    pub mape: f64,
    /// Symmetric MAPE, % (0..200).
    pub smape: f64,
    /// Mean absolute scaled error (seasonal-naive in-sample MAE = 1).
    pub mase: f64,
    /// Backtest origins used.
    pub origins: usize,
    /// Forecast points compared.
    pub points: usize,
    /// Errors (actual − forecast) by step, over origins.
    #[serde(skip)]
    pub errors_by_step: Vec<Vec<f64>>,
}

/// A forecast with its interval and the evidence for the model choice.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastResult {
    /// Model used for `point`.
    pub model: ModelKind,
    /// Season information.
    pub season: SeasonInfo,
    /// Time of the first forecast point (Unix s).
    pub start: i64,
    /// Interval, s.
    pub interval: i64,
    /// Point forecasts.
    pub point: Vec<f64>,
    /// Lower interval bound.
    pub lower: Vec<f64>,
    /// Upper interval bound.
    pub upper: Vec<f64>,
    /// Interval level (e.g. 0.95).
    pub level: f64,
    /// Backtest scores, one per model that could run.
    pub backtest: Vec<ModelScore>,
    /// Backtest horizon in steps (0 = no backtest).
    pub backtest_horizon: usize,
    /// Models skipped and why, and other remarks.
    pub notes: Vec<String>,
}

impl ForecastResult {
    /// Clamps the point forecast and both bounds at zero, for quantities
    /// that cannot be negative (traffic, counts): a symmetric interval
    /// around a low level otherwise reaches below zero.
    pub fn clip_at_zero(&mut self) {
        for v in [&mut self.point, &mut self.lower, &mut self.upper] {
            for x in v.iter_mut() {
                *x = x.max(0.0);
            }
        }
    }
}

/// Time context for calendar features.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    start: i64,
    interval: i64,
    season: Option<usize>,
}

/// Detects the season (see module docs).
pub fn detect_season(y: &[f64], interval: i64) -> SeasonInfo {
    let n = y.len();
    let mut candidates = Vec::new();
    if interval > 0 && n > 3 {
        // Detrend by least squares on time.
        let tm = (n as f64 - 1.0) / 2.0;
        let ym = y.iter().sum::<f64>() / n as f64;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, v) in y.iter().enumerate() {
            sxy += (i as f64 - tm) * (v - ym);
            sxx += (i as f64 - tm).powi(2);
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        let r: Vec<f64> = y
            .iter()
            .enumerate()
            .map(|(i, v)| v - ym - slope * (i as f64 - tm))
            .collect();
        let var: f64 = r.iter().map(|v| v * v).sum();
        for secs in [3600_i64, 86400, 604800] {
            if secs % interval != 0 {
                continue;
            }
            let p = (secs / interval) as usize;
            if p < 2 || n < 3 * p {
                continue;
            }
            let acf = if var > 0.0 {
                r.iter()
                    .zip(r.iter().skip(p))
                    .map(|(a, b)| a * b)
                    .sum::<f64>()
                    / var
            } else {
                0.0
            };
            candidates.push(SeasonCandidate { period: p, acf });
        }
    }
    let mut best: Option<&SeasonCandidate> = None;
    for c in &candidates {
        best = match best {
            None => Some(c),
            Some(b) if c.acf > b.acf + 0.1 => Some(c),
            Some(b) => Some(b),
        };
    }
    let period = best.filter(|b| b.acf >= 0.2).map(|b| b.period);
    SeasonInfo {
        period,
        detected: true,
        candidates,
    }
}

/// Point forecast plus in-sample one-step residuals of one fitted model.
struct Fitted {
    point: Vec<f64>,
    residuals: Vec<f64>,
}

fn min_len(kind: ModelKind, ctx: &Ctx) -> std::result::Result<usize, String> {
    let m = ctx.season.unwrap_or(0);
    match kind {
        ModelKind::Naive => Ok(2),
        ModelKind::SeasonalNaive
        | ModelKind::HoltWintersAdditive
        | ModelKind::HoltWintersMultiplicative
            if m < 2 =>
        {
            Err("needs a season".into())
        }
        ModelKind::SeasonalNaive => Ok(m + 1),
        ModelKind::HoltWintersAdditive | ModelKind::HoltWintersMultiplicative => Ok(2 * m + 2),
        ModelKind::Linear => Ok(max_lag_needed(ctx) + 30),
    }
}

fn fit_predict(kind: ModelKind, y: &[f64], ctx: &Ctx, horizon: usize) -> Result<Fitted> {
    let need = min_len(kind, ctx).map_err(Error::Invalid)?;
    if y.len() < need {
        return Err(Error::TooShort {
            what: kind.name().to_string(),
            needed: need,
            got: y.len(),
        });
    }
    let last = y.last().copied().unwrap_or(0.0);
    match kind {
        ModelKind::Naive => Ok(Fitted {
            point: vec![last; horizon],
            residuals: y.windows(2).map(|w| w[1] - w[0]).collect(),
        }),
        ModelKind::SeasonalNaive => {
            let m = ctx.season.unwrap_or(1).max(1);
            let n = y.len();
            let point = (0..horizon)
                .map(|h| y.get(n - m + (h % m)).copied().unwrap_or(last))
                .collect();
            let residuals = y.iter().skip(m).zip(y).map(|(a, b)| a - b).collect();
            Ok(Fitted { point, residuals })
        }
        ModelKind::Linear => linear(y, ctx, horizon),
        ModelKind::HoltWintersAdditive => holt_winters(y, ctx.season.unwrap_or(2), false, horizon),
        ModelKind::HoltWintersMultiplicative => {
            if y.iter().any(|v| *v <= 0.0) {
                return Err(Error::Invalid(
                    "multiplicative seasonality needs values > 0".into(),
                ));
            }
            holt_winters(y, ctx.season.unwrap_or(2), true, horizon)
        }
    }
}

/// Most direct-strategy models fitted (steps beyond reuse the last one
/// recursively).
const MAX_DIRECT: usize = 24;
/// Most recent rows used to fit the linear model (traffic regimes change;
/// also bounds the cost).
const LINEAR_WINDOW: usize = 3000;

fn weekly_period(ctx: &Ctx) -> Option<usize> {
    if ctx.interval > 0 && 604800 % ctx.interval == 0 {
        let w = (604800 / ctx.interval) as usize;
        (w > ctx.season.unwrap_or(0)).then_some(w)
    } else {
        None
    }
}

/// Lags used by the direct model of step `j` (all >= j, so every feature
/// is observed at the forecast origin).
fn lags(ctx: &Ctx, n: usize, j: usize) -> Vec<usize> {
    let j = j.max(1);
    let mut l = vec![j, j + 1];
    let up = |p: usize| j.div_ceil(p) * p;
    if let Some(m) = ctx.season {
        let s = up(m);
        l.push(s);
        l.push(s + m);
    }
    if let Some(w) = weekly_period(ctx)
        && ctx.season.is_some()
        && n >= 3 * w + j
    {
        l.push(up(w));
    }
    l.sort_unstable();
    l.dedup();
    l
}

fn max_lag_needed(ctx: &Ctx) -> usize {
    let m = ctx.season.unwrap_or(1);
    let d = MAX_DIRECT.min(m.max(1));
    lags(ctx, 0, d).into_iter().max().unwrap_or(2)
}

fn calendar(ctx: &Ctx, t: usize, n_train: usize, out: &mut Vec<f64>) {
    let ts = ctx
        .start
        .saturating_add(ctx.interval.saturating_mul(t as i64));
    let tau = std::f64::consts::TAU;
    if ctx.interval < 86400 && 86400 / ctx.interval >= 3 {
        let ph = ts.rem_euclid(86400) as f64 / 86400.0;
        let k_max = (86400 / ctx.interval / 2).clamp(1, 4);
        for k in 1..=k_max {
            out.push((tau * k as f64 * ph).sin());
            out.push((tau * k as f64 * ph).cos());
        }
    }
    if ctx.interval <= 86400 {
        let ph = ts.rem_euclid(604800) as f64 / 604800.0;
        for k in 1..=3 {
            out.push((tau * k as f64 * ph).sin());
            out.push((tau * k as f64 * ph).cos());
        }
    }
    out.push(t as f64 / n_train.max(1) as f64);
}

/// Linear model, direct strategy: one ridge regression per step `j` in
/// `1..=D` (D = min(season, 24), or 1 without season) whose lags are all at
/// least j; a step beyond D repeats the value one week (or one season)
/// earlier plus the fitted drift. Fitted on log(y) when all y > 0.
fn linear(y_all: &[f64], ctx: &Ctx, horizon: usize) -> Result<Fitted> {
    let skip = y_all.len().saturating_sub(LINEAR_WINDOW);
    let y = y_all.get(skip..).unwrap_or(y_all);
    let ctx = Ctx {
        start: ctx
            .start
            .saturating_add(ctx.interval.saturating_mul(skip as i64)),
        ..*ctx
    };
    let n = y.len();
    let use_log = y.iter().all(|v| *v > 0.0);
    let z: Vec<f64> = if use_log {
        y.iter().map(|v| v.ln()).collect()
    } else {
        y.to_vec()
    };
    let back = |v: f64| if use_log { v.exp() } else { v };
    let d = ctx
        .season
        .map_or(1, |m| m.min(MAX_DIRECT))
        .min(horizon)
        .max(1);
    let row = |buf: &[f64], t: usize, lag_set: &[usize], out: &mut Vec<f64>| {
        out.clear();
        for &l in lag_set {
            out.push(buf.get(t.wrapping_sub(l)).copied().unwrap_or(0.0));
        }
        calendar(&ctx, t, n, out);
    };
    let (lo, hi) = z.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |a, v| {
        (a.0.min(*v), a.1.max(*v))
    });
    let span = (hi - lo).abs().max(1e-9);
    let mut models = Vec::with_capacity(d);
    let mut residuals = Vec::new();
    let mut tmp = Vec::new();
    for j in 1..=d {
        let lag_set = lags(&ctx, n, j);
        let max_lag = lag_set.iter().max().copied().unwrap_or(1);
        if n < max_lag + 30 {
            return Err(Error::TooShort {
                what: "linear".into(),
                needed: max_lag + 30,
                got: n,
            });
        }
        let mut xs = Vec::with_capacity(n - max_lag);
        let mut ys = Vec::with_capacity(n - max_lag);
        for t in max_lag..n {
            row(&z, t, &lag_set, &mut tmp);
            xs.push(tmp.clone());
            ys.push(z.get(t).copied().unwrap_or(0.0));
        }
        let fit = ridge_qr(&xs, &ys, 1e-3 * xs.len() as f64)?;
        if j == 1 {
            residuals = xs
                .iter()
                .zip(&ys)
                .map(|(x, t)| back(*t) - back(fit.predict(x)))
                .collect();
        }
        models.push((lag_set, fit));
    }
    // Long-run drift per step: least-squares slope of the (log) series.
    let slope = {
        let tm = (n as f64 - 1.0) / 2.0;
        let zm = z.iter().sum::<f64>() / n as f64;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, v) in z.iter().enumerate() {
            sxy += (i as f64 - tm) * (v - zm);
            sxx += (i as f64 - tm).powi(2);
        }
        if sxx > 0.0 { sxy / sxx } else { 0.0 }
    };
    // Beyond the direct steps: repeat one period earlier (the week when the
    // data hold 3 weeks, else the season) plus the drift. Stable for any
    // horizon, unlike feeding the direct models their own output.
    let period = weekly_period(&ctx)
        .filter(|w| ctx.season.is_some() && n >= 3 * w)
        .or(ctx.season)
        .unwrap_or(d);
    let mut buf = z;
    let mut point = Vec::with_capacity(horizon);
    for h in 1..=horizon {
        let t = n + h - 1;
        let Some((lag_set, fit)) = models.get(h.min(d) - 1) else {
            return Err(Error::Numerical("missing direct model".into()));
        };
        let raw = if h <= d {
            row(&buf, t, lag_set, &mut tmp);
            fit.predict(&tmp)
        } else {
            buf.get(t - period).copied().unwrap_or(hi) + slope * period as f64
        };
        // Bound so a runaway value cannot overflow.
        let p = raw.clamp(lo - 5.0 * span, hi + 5.0 * span);
        buf.push(p);
        point.push(back(p));
    }
    if point.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical("linear forecast is not finite".into()));
    }
    Ok(Fitted { point, residuals })
}

/// Runs Holt-Winters with given parameters; returns SSE, final state.
fn hw_run(
    y: &[f64],
    m: usize,
    mul: bool,
    a: f64,
    b: f64,
    g: f64,
) -> (f64, f64, f64, Vec<f64>, Vec<f64>) {
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len().max(1) as f64;
    let first = y.get(..m).unwrap_or(&[]);
    let second = y.get(m..2 * m).unwrap_or(&[]);
    let mut level = mean(first);
    let mut trend = (mean(second) - level) / m as f64;
    let mut seas: Vec<f64> = first
        .iter()
        .map(|v| if mul { v / level } else { v - level })
        .collect();
    let mut sse = 0.0;
    let mut resid = Vec::with_capacity(y.len());
    for (t, &v) in y.iter().enumerate() {
        let i = t % m;
        let s = seas.get(i).copied().unwrap_or(if mul { 1.0 } else { 0.0 });
        let fit = if mul {
            (level + trend) * s
        } else {
            level + trend + s
        };
        let e = v - fit;
        sse += e * e;
        resid.push(e);
        let new_level = if mul {
            a * (v / s) + (1.0 - a) * (level + trend)
        } else {
            a * (v - s) + (1.0 - a) * (level + trend)
        };
        trend = b * (new_level - level) + (1.0 - b) * trend;
        if let Some(sv) = seas.get_mut(i) {
            *sv = if mul {
                g * (v / new_level) + (1.0 - g) * s
            } else {
                g * (v - new_level) + (1.0 - g) * s
            };
        }
        level = new_level;
    }
    if !sse.is_finite() {
        sse = f64::INFINITY;
    }
    (sse, level, trend, seas, resid)
}

fn holt_winters(y_all: &[f64], m: usize, mul: bool, horizon: usize) -> Result<Fitted> {
    // Fit on a recent window (at least 3 seasons) to bound the cost of the
    // optimiser; forecasts are relative to the series end either way.
    let keep = LINEAR_WINDOW.max(3 * m);
    let y = y_all
        .get(y_all.len().saturating_sub(keep)..)
        .unwrap_or(y_all);
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let logit = |p: f64| (p / (1.0 - p)).ln();
    let x0 = [logit(0.3), logit(0.02), logit(0.2)];
    let (best, _) = nelder_mead(
        |p| {
            let (a, b, g) = (
                sig(p.first().copied().unwrap_or(0.0)),
                sig(p.get(1).copied().unwrap_or(0.0)),
                sig(p.get(2).copied().unwrap_or(0.0)),
            );
            hw_run(y, m, mul, a, b, g).0
        },
        &x0,
        1.0,
        200,
        1e-8,
    );
    let (a, b, g) = (
        sig(best.first().copied().unwrap_or(0.0)),
        sig(best.get(1).copied().unwrap_or(0.0)),
        sig(best.get(2).copied().unwrap_or(0.0)),
    );
    let (sse, level, trend, seas, resid) = hw_run(y, m, mul, a, b, g);
    if !sse.is_finite() {
        return Err(Error::Numerical("Holt-Winters fit diverged".into()));
    }
    let n = y.len();
    let point: Vec<f64> = (1..=horizon)
        .map(|h| {
            let s = seas
                .get((n + h - 1) % m)
                .copied()
                .unwrap_or(if mul { 1.0 } else { 0.0 });
            let base = level + h as f64 * trend;
            if mul { base * s } else { base + s }
        })
        .collect();
    if point.iter().any(|v| !v.is_finite()) {
        return Err(Error::Numerical(
            "Holt-Winters forecast is not finite".into(),
        ));
    }
    Ok(Fitted {
        point,
        residuals: resid.into_iter().skip(m).collect(),
    })
}

fn scale_mae(y: &[f64], m: usize) -> f64 {
    let m = m.max(1);
    let d: Vec<f64> = y
        .iter()
        .skip(m)
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .collect();
    if d.is_empty() {
        f64::NAN
    } else {
        d.iter().sum::<f64>() / d.len() as f64
    }
}

/// Rolling-origin backtest of `kinds` (see module docs). Models that cannot
/// run at some origin are left out of the result and noted.
fn backtest(
    y: &[f64],
    ctx: &Ctx,
    kinds: &[ModelKind],
    h: usize,
    origins: usize,
    notes: &mut Vec<String>,
) -> Vec<ModelScore> {
    let n = y.len();
    let mut out = Vec::new();
    let needs: usize = kinds
        .iter()
        .filter_map(|k| min_len(*k, ctx).ok())
        .max()
        .unwrap_or(2);
    let mut origin_list = Vec::new();
    for k in 0..origins {
        let Some(o) = n.checked_sub(h + k * h) else {
            break;
        };
        if o < needs || o == 0 {
            break;
        }
        origin_list.push(o);
    }
    if origin_list.is_empty() {
        notes.push(format!(
            "backtest skipped: {n} points are too few for a {h}-step backtest (need {})",
            needs + h
        ));
        return out;
    }
    for &kind in kinds {
        let mut errs_by_step = vec![Vec::new(); h];
        let (mut sae, mut sse, mut sape, mut nape, mut ssape, mut nsape, mut cnt) =
            (0.0, 0.0, 0.0, 0usize, 0.0, 0usize, 0usize);
        let mut mase_sum = 0.0;
        let mut mase_n = 0usize;
        let mut failed = None;
        for &o in &origin_list {
            let train = y.get(..o).unwrap_or(&[]);
            let test = y.get(o..o + h).unwrap_or(&[]);
            match fit_predict(kind, train, ctx, h) {
                Ok(f) => {
                    let mut origin_ae = 0.0;
                    for (step, (a, p)) in test.iter().zip(&f.point).enumerate() {
                        let e = a - p;
                        if let Some(v) = errs_by_step.get_mut(step) {
                            v.push(e);
                        }
                        sae += e.abs();
                        origin_ae += e.abs();
                        sse += e * e;
                        cnt += 1;
                        if *a != 0.0 {
                            sape += (e / a).abs() * 100.0;
                            nape += 1;
                        }
                        let den = a.abs() + p.abs();
                        if den > 0.0 {
                            ssape += 200.0 * e.abs() / den;
                            nsape += 1;
                        }
                    }
                    let sc = scale_mae(train, ctx.season.unwrap_or(1));
                    if sc > 0.0 && !test.is_empty() {
                        mase_sum += origin_ae / test.len() as f64 / sc;
                        mase_n += 1;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            notes.push(format!("{} skipped in backtest: {e}", kind.name()));
            continue;
        }
        let div = |a: f64, b: usize| if b > 0 { a / b as f64 } else { f64::NAN };
        out.push(ModelScore {
            model: kind,
            mae: div(sae, cnt),
            rmse: div(sse, cnt).sqrt(),
            mape: div(sape, nape),
            smape: div(ssape, nsape),
            mase: div(mase_sum, mase_n),
            origins: origin_list.len(),
            points: cnt,
            errors_by_step: errs_by_step,
        });
    }
    out
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let a = sorted.get(lo).copied().unwrap_or(0.0);
    let b = sorted.get(hi).copied().unwrap_or(a);
    a + (b - a) * (pos - lo as f64)
}

/// Forecasts `y` (values at `start + i * interval`) `opts.horizon` steps
/// ahead (see module docs).
pub fn forecast(
    y: &[f64],
    start: i64,
    interval: i64,
    opts: &ForecastOptions,
) -> Result<ForecastResult> {
    if interval <= 0 {
        return Err(Error::Invalid("interval must be > 0".into()));
    }
    if opts.horizon == 0 || opts.horizon > 10_000_000 {
        return Err(Error::Invalid(
            "horizon must be between 1 and 10,000,000 steps".into(),
        ));
    }
    if !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(Error::Invalid("interval level must be in (0, 1)".into()));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!("value {i} is not finite")));
    }
    if y.len() < 3 {
        return Err(Error::TooShort {
            what: "forecasting".into(),
            needed: 3,
            got: y.len(),
        });
    }
    let season = match opts.season {
        SeasonChoice::Auto => detect_season(y, interval),
        SeasonChoice::None => SeasonInfo {
            period: None,
            detected: false,
            candidates: Vec::new(),
        },
        SeasonChoice::Fixed(p) if p >= 2 => SeasonInfo {
            period: Some(p),
            detected: false,
            candidates: Vec::new(),
        },
        SeasonChoice::Fixed(p) => {
            return Err(Error::Invalid(format!("season must be >= 2, got {p}")));
        }
    };
    let ctx = Ctx {
        start,
        interval,
        season: season.period,
    };
    let mut notes = Vec::new();
    let mut kinds = Vec::new();
    for k in opts.model.kinds() {
        match min_len(k, &ctx) {
            Ok(need) if y.len() >= need => kinds.push(k),
            Ok(need) => notes.push(format!(
                "{} skipped: needs {need} points, have {}",
                k.name(),
                y.len()
            )),
            Err(why) => notes.push(format!("{} skipped: {why}", k.name())),
        }
    }
    if kinds.contains(&ModelKind::HoltWintersMultiplicative) && y.iter().any(|v| *v <= 0.0) {
        kinds.retain(|k| *k != ModelKind::HoltWintersMultiplicative);
        notes.push("holt-winters-mul skipped: needs values > 0".into());
    }
    if kinds.is_empty() {
        return Err(Error::TooShort {
            what: "any requested model".into(),
            needed: min_len(ModelKind::Naive, &ctx).unwrap_or(2).max(
                opts.model
                    .kinds()
                    .iter()
                    .filter_map(|k| min_len(*k, &ctx).ok())
                    .min()
                    .unwrap_or(2),
            ),
            got: y.len(),
        });
    }
    let bt_h = opts.backtest_horizon.unwrap_or_else(|| {
        let cap = season.period.map_or(48, |m| (2 * m).max(24));
        opts.horizon.min(cap)
    });
    let want_bt = opts.backtest || kinds.len() > 1;
    let scores = if want_bt && bt_h > 0 {
        backtest(y, &ctx, &kinds, bt_h, opts.origins.max(1), &mut notes)
    } else {
        Vec::new()
    };
    let key = |s: &ModelScore| if s.mase.is_finite() { s.mase } else { s.mae };
    let chosen = scores
        .iter()
        .filter(|s| key(s).is_finite())
        .min_by(|a, b| key(a).total_cmp(&key(b)))
        .map(|s| s.model);
    // Without a backtest, prefer richer models in this order.
    let order = [
        ModelKind::Linear,
        ModelKind::HoltWintersAdditive,
        ModelKind::HoltWintersMultiplicative,
        ModelKind::SeasonalNaive,
        ModelKind::Naive,
    ];
    let mut candidates: Vec<ModelKind> = chosen.into_iter().collect();
    candidates.extend(order.iter().copied().filter(|k| kinds.contains(k)));
    let mut last_err = None;
    for kind in candidates {
        match fit_predict(kind, y, &ctx, opts.horizon) {
            Ok(f) => {
                let (lower, upper) = intervals(&f, scores.iter().find(|s| s.model == kind), opts);
                return Ok(ForecastResult {
                    model: kind,
                    season,
                    start: start.saturating_add(interval.saturating_mul(y.len() as i64)),
                    interval,
                    point: f.point,
                    lower,
                    upper,
                    level: opts.level,
                    backtest: scores,
                    backtest_horizon: if want_bt { bt_h } else { 0 },
                    notes,
                });
            }
            Err(e) => {
                notes.push(format!("{} failed on the full series: {e}", kind.name()));
                last_err = Some(e);
            }
        }
    }
    Err(last_err.unwrap_or_else(|| Error::Invalid("no model could be fitted".into())))
}

fn intervals(
    f: &Fitted,
    score: Option<&ModelScore>,
    opts: &ForecastOptions,
) -> (Vec<f64>, Vec<f64>) {
    let ql = (1.0 - opts.level) / 2.0;
    let qu = 1.0 - ql;
    let mut lower = Vec::with_capacity(f.point.len());
    let mut upper = Vec::with_capacity(f.point.len());
    let bt = score
        .map(|s| &s.errors_by_step)
        .filter(|e| e.iter().any(|v| !v.is_empty()));
    let mut resid: Vec<f64> = f
        .residuals
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    resid.sort_by(|a, b| a.total_cmp(b));
    let (r_lo, r_hi) = (quantile(&resid, ql), quantile(&resid, qu));
    // Per-step bounds from the backtest, pooled over neighbouring steps.
    let step_bounds: Vec<(f64, f64)> = match bt {
        Some(e) => (0..e.len())
            .map(|s| {
                let mut pool: Vec<f64> = e
                    .iter()
                    .skip(s.saturating_sub(2))
                    .take(5)
                    .flatten()
                    .copied()
                    .collect();
                pool.sort_by(|a, b| a.total_cmp(b));
                (quantile(&pool, ql), quantile(&pool, qu))
            })
            .collect(),
        None => Vec::new(),
    };
    for (h, p) in f.point.iter().enumerate() {
        let (lo, hi) = match step_bounds.get(h) {
            Some(b) => *b,
            None => match step_bounds.last() {
                Some(&(l, u)) => {
                    let g = ((h + 1) as f64 / step_bounds.len() as f64).sqrt();
                    (l * g, u * g)
                }
                None => {
                    let g = ((h + 1) as f64).sqrt();
                    (r_lo * g, r_hi * g)
                }
            },
        };
        lower.push(p + lo.min(0.0));
        upper.push(p + hi.max(0.0));
    }
    (lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synth(n: usize, noise: f64) -> Vec<f64> {
        // daily cycle + trend + deterministic pseudo-noise (LCG)
        let mut s = 12345u64;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                100.0
                    + 0.05 * i as f64
                    + 30.0 * (std::f64::consts::TAU * i as f64 / 24.0).sin()
                    + noise * u
            })
            .collect()
    }

    #[test]
    fn detects_daily_season() {
        let y = synth(24 * 30, 5.0);
        let s = detect_season(&y, 3600);
        assert_eq!(s.period, Some(24), "{s:?}");
        let flat = vec![7.0; 200];
        assert!(detect_season(&flat, 3600).period.is_none());
    }

    #[test]
    fn naive_models_are_exact() {
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ctx = Ctx {
            start: 0,
            interval: 60,
            season: Some(2),
        };
        let f = fit_predict(ModelKind::Naive, &y, &ctx, 3).expect("naive");
        assert_eq!(f.point, vec![5.0; 3]);
        let f = fit_predict(ModelKind::SeasonalNaive, &y, &ctx, 3).expect("snaive");
        assert_eq!(f.point, vec![4.0, 5.0, 4.0]);
    }

    #[test]
    fn models_beat_naive_on_seasonal_data() {
        let y = synth(24 * 40, 4.0);
        let r = forecast(&y, 0, 3600, &ForecastOptions::default()).expect("forecast");
        assert_eq!(r.season.period, Some(24));
        assert_eq!(r.point.len(), 24);
        let naive = r
            .backtest
            .iter()
            .find(|s| s.model == ModelKind::Naive)
            .expect("naive");
        let best = r
            .backtest
            .iter()
            .find(|s| s.model == r.model)
            .expect("best");
        assert!(best.mase < naive.mase, "{:?}", r.backtest);
        assert!(best.mase < 1.0, "{:?}", r.backtest);
        for s in &r.backtest {
            assert!(s.mae.is_finite() && s.smape.is_finite(), "{s:?}");
        }
        for ((l, p), u) in r.lower.iter().zip(&r.point).zip(&r.upper) {
            assert!(l <= p && p <= u);
        }
        // The truth continues the generator: the forecast should be close.
        let truth = synth(24 * 41, 0.0);
        let mae: f64 = r
            .point
            .iter()
            .zip(&truth[24 * 40..])
            .map(|(a, b)| (a - b).abs())
            .sum::<f64>()
            / 24.0;
        assert!(mae < 3.0, "mae {mae}");
    }

    #[test]
    fn holt_winters_recovers_clean_seasonal_series() {
        let y = synth(24 * 20, 0.0);
        let f = holt_winters(&y, 24, false, 24).expect("hw");
        let truth = synth(24 * 21, 0.0);
        for (p, t) in f.point.iter().zip(&truth[24 * 20..]) {
            assert!((p - t).abs() < 1.0, "{p} vs {t}");
        }
        let f = holt_winters(&y, 24, true, 24).expect("hw mul");
        assert!(f.point.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn short_and_bad_input_errors() {
        let o = ForecastOptions::default();
        assert!(matches!(
            forecast(&[1.0, 2.0], 0, 60, &o),
            Err(Error::TooShort { .. })
        ));
        assert!(forecast(&[1.0, f64::NAN, 3.0], 0, 60, &o).is_err());
        assert!(forecast(&[1.0, 2.0, 3.0], 0, 0, &o).is_err());
        // Few points: only the naive model can run, no panic.
        let r = forecast(&[1.0, 2.0, 3.0, 4.0], 0, 3600, &o).expect("naive fallback");
        assert_eq!(r.model, ModelKind::Naive);
        let hw = ForecastOptions {
            model: ModelChoice::HoltWinters,
            season: SeasonChoice::Fixed(24),
            ..o.clone()
        };
        assert!(forecast(&[1.0; 30], 0, 3600, &hw).is_err());
        // Zeros: multiplicative skipped, no panic.
        let y: Vec<f64> = (0..24 * 10)
            .map(|i| ((i % 24) as f64 - 5.0).max(0.0))
            .collect();
        let r = forecast(&y, 0, 3600, &o).expect("zeros ok");
        assert!(
            r.backtest
                .iter()
                .all(|s| s.model != ModelKind::HoltWintersMultiplicative)
        );
    }
}
