//! The content of a monitoring report, independent of how it is drawn.
//!
//! Invariants: every number shown in the HTML page is a field of
//! [`ReportData`] (the page and `report.json` cannot disagree); optional
//! sections are `None`/empty when the input does not have that information
//! (a series CSV has no protocol mix), and `status` strings say why a
//! section is missing (too short to forecast, ...).

use std::collections::BTreeMap;

use netlens_pipeline::summary::protocol_name;
use netlens_timeseries::anomaly::{self, AnomalyOptions};
use netlens_timeseries::capacity::{ValueUnit, check_capacity};
use netlens_timeseries::forecast::{self, ForecastOptions, SeasonChoice};
use netlens_timeseries::series::format_time;
use netlens_timeseries::units::Threshold;
use netlens_timeseries::{Series, units};
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::collect::{Collected, DURATION_BOUNDS_S, PACKET_SIZE_BOUNDS, RunFacts, TcpCounters};
use crate::error::{Error, Result};

/// Interval ladder for the throughput series, seconds.
pub const INTERVAL_LADDER: [i64; 12] =
    [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800, 21600, 86400];
/// Most points of the auto-chosen throughput series.
pub const MAX_POINTS: usize = 720;
/// Fewest points for anomaly detection.
pub const MIN_ANOMALY_POINTS: usize = 32;
/// The season used for forecasting: one day.
pub const SEASON_S: i64 = 86_400;
/// Fewest points (after aggregation) for a short-term, non-seasonal forecast
/// of an input shorter than two days.
pub const MIN_SHORT_FORECAST_POINTS: usize = 24;
/// Points a short input is aggregated to before a short-term forecast (per-second
/// traffic is too bursty to extrapolate point by point).
pub const SHORT_FORECAST_POINTS: usize = 60;
/// Default link capacity for capacity dates when none is given: 1 Gbit/s.
pub const DEFAULT_CAPACITY_BPS: f64 = 1e9;

/// Settings of [`build_report`].
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Page title.
    pub title: String,
    /// Input descriptions for the header.
    pub inputs: Vec<InputInfo>,
    /// Rows of the top-talker and top-port tables.
    pub top_n: usize,
    /// Throughput interval in seconds (None: the smallest of
    /// [`INTERVAL_LADDER`] giving at most [`MAX_POINTS`] points).
    pub interval_s: Option<i64>,
    /// Anomaly score threshold (see the timeseries crate).
    pub anomaly_threshold: f64,
    /// Forecast horizon in seconds (default one season).
    pub horizon_s: Option<i64>,
    /// Link capacity in bit/s for capacity dates (None: no capacity check).
    pub capacity_bps: Option<f64>,
    /// When the forecast counts as "full": a fraction of the capacity or a rate.
    pub capacity_threshold: Threshold,
    /// The capacity is a default, not the user's (the report says so).
    pub capacity_assumed: bool,
    /// What a series input's values measure; `None` guesses from the
    /// column name (bit/s when it mentions bits or bps, else plain values).
    pub value_unit: Option<netlens_timeseries::capacity::ValueUnit>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            title: "netlens traffic report".into(),
            inputs: Vec::new(),
            top_n: 10,
            interval_s: None,
            anomaly_threshold: 8.0,
            horizon_s: None,
            capacity_bps: None,
            capacity_threshold: Threshold::Fraction(0.8),
            capacity_assumed: false,
            value_unit: None,
        }
    }
}

/// One input of the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct InputInfo {
    /// File name as given.
    pub name: String,
    /// `capture`, `flow table` or `series`.
    pub kind: String,
    /// Reading remarks (truncation, bad rows, ...).
    pub notes: Vec<String>,
}

/// Totals of the whole input.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Totals {
    /// Packets (0 for a series input).
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Flows.
    pub flows: u64,
    /// Non-IP frames.
    pub non_ip_packets: u64,
    /// Malformed or truncated packets (captures only).
    pub malformed_packets: u64,
    /// First packet / point, RFC 3339 UTC.
    pub first: Option<String>,
    /// Last packet / point, RFC 3339 UTC.
    pub last: Option<String>,
    /// Span in seconds.
    pub duration_s: f64,
    /// Mean throughput over the span, bit/s.
    pub mean_bits_per_s: f64,
    /// Highest interval throughput, bit/s.
    pub peak_bits_per_s: f64,
}

/// The throughput (or series value) over time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Throughput {
    /// What the values are (`bits_per_s` or a series column name).
    pub name: String,
    /// Unit label for axes.
    pub unit: String,
    /// First interval start, Unix s.
    pub start: i64,
    /// Interval, s.
    pub interval_s: i64,
    /// One value per interval.
    pub values: Vec<f64>,
}

/// A share of traffic.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MixRow {
    /// Protocol or application name.
    pub name: String,
    /// Packets (protocols) or flows (applications).
    pub count: u64,
    /// Bytes.
    pub bytes: u64,
    /// Share of the bytes, %.
    pub share_pct: f64,
}

/// A top talker.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TalkerRow {
    /// Source address.
    pub host: String,
    /// Packets sent.
    pub packets: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Share of all bytes, %.
    pub share_pct: f64,
}

/// A top service port.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PortRow {
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Port (the lower of the two ports of a packet).
    pub port: u16,
    /// Guessed service name ("" when unknown).
    pub service: String,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Share of all bytes, %.
    pub share_pct: f64,
}

/// A histogram.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Histogram {
    /// What is counted (`packets`, `flows`).
    pub counts_what: String,
    /// Bin labels.
    pub labels: Vec<String>,
    /// Count per bin.
    pub counts: Vec<u64>,
}

/// TCP health: the collector's counters (their keys inline in the JSON)
/// and remarks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TcpHealth {
    /// Flows, SYN/SYN-ACK/RST packets, unanswered and rejected flows,
    /// flows by Zeek-style state.
    #[serde(flatten)]
    pub counts: TcpCounters,
    /// Remarks (e.g. that retransmissions are not measured).
    pub notes: Vec<String>,
}

/// An anomaly in the throughput series.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AnomalyRow {
    /// First flagged interval, RFC 3339.
    pub start: String,
    /// Last flagged interval, RFC 3339.
    pub end: String,
    /// Interval of the highest score, RFC 3339.
    pub peak: String,
    /// Index of the first flagged point.
    pub start_index: usize,
    /// Index of the last flagged point.
    pub end_index: usize,
    /// Index of the peak.
    pub peak_index: usize,
    /// Value at the peak.
    pub peak_value: f64,
    /// Score (robust z-score of the residual).
    pub score: f64,
}

/// Anomaly section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Anomalies {
    /// What was done, or why not.
    pub status: String,
    /// Score threshold.
    pub threshold: f64,
    /// Events found.
    pub events: Vec<AnomalyRow>,
}

/// Forecast section.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ForecastSection {
    /// Whether a forecast was made.
    pub available: bool,
    /// What was done, or why not (e.g. too short).
    pub status: String,
    /// Model used.
    pub model: String,
    /// Season in points.
    pub season_points: Option<usize>,
    /// First forecast time, Unix s.
    pub start: i64,
    /// Interval, s.
    pub interval_s: i64,
    /// Point forecast.
    pub point: Vec<f64>,
    /// Lower bound.
    pub lower: Vec<f64>,
    /// Upper bound.
    pub upper: Vec<f64>,
    /// Interval level.
    pub level: f64,
    /// Backtest MASE of the chosen model, if backtested.
    pub mase: Option<f64>,
    /// The history the model saw when it is coarser than the throughput
    /// series (short inputs are aggregated first); empty otherwise.
    pub history: Vec<f64>,
    /// First time of `history`, Unix s.
    pub history_start: i64,
    /// Interval of `history`, s.
    pub history_interval_s: i64,
    /// Capacity check of the forecast, when a capacity was given.
    pub capacity: Option<CapacitySection>,
}

/// When the throughput forecast reaches a link's capacity.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CapacitySection {
    /// Link capacity, bit/s.
    pub capacity_bps: f64,
    /// The capacity is a default, not given by the user.
    pub assumed: bool,
    /// Threshold that counts as full, bit/s.
    pub threshold_bps: f64,
    /// First time the point forecast reaches the threshold (RFC 3339).
    pub point_crossing: Option<String>,
    /// First time the upper bound of the interval reaches it (RFC 3339).
    pub upper_crossing: Option<String>,
    /// Peak of the upper bound within the horizon, bit/s.
    pub peak_upper_bps: f64,
    /// The answer in one plain sentence.
    pub message: String,
}

/// An alert (filled by `netlens analyze`; empty otherwise).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertRow {
    /// Time, RFC 3339.
    pub time: String,
    /// Severity (`info`, `warning`, `critical`).
    pub severity: String,
    /// Kind (e.g. `portscan`).
    pub kind: String,
    /// Subject (host, flow).
    pub subject: String,
    /// Human-readable detail.
    pub detail: String,
}

/// Everything a report shows (see module docs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReportData {
    /// Page title.
    pub title: String,
    /// Tool and version that made it.
    pub generator: String,
    /// Inputs.
    pub inputs: Vec<InputInfo>,
    /// Totals.
    pub totals: Totals,
    /// Throughput over time.
    pub throughput: Throughput,
    /// Protocol mix by bytes.
    pub protocols: Vec<MixRow>,
    /// Application mix by bytes.
    pub applications: Vec<MixRow>,
    /// How applications were determined.
    pub application_method: String,
    /// Top talkers by bytes sent.
    pub top_talkers: Vec<TalkerRow>,
    /// Top service ports by bytes.
    pub top_ports: Vec<PortRow>,
    /// Packet-size distribution.
    pub packet_sizes: Option<Histogram>,
    /// Flow-duration distribution.
    pub flow_durations: Option<Histogram>,
    /// TCP health.
    pub tcp: Option<TcpHealth>,
    /// Anomalies in the throughput series.
    pub anomalies: Anomalies,
    /// Forecast of the throughput series.
    pub forecast: ForecastSection,
    /// Alerts (optional section, empty unless a detector fills it).
    pub alerts: Vec<AlertRow>,
    /// General remarks.
    pub notes: Vec<String>,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Chooses the interval: the given one, else the smallest of the ladder
/// giving at most [`MAX_POINTS`] points over `span_s`.
pub fn choose_interval(span_s: i64, given: Option<i64>) -> i64 {
    if let Some(i) = given {
        return i.max(1);
    }
    for i in INTERVAL_LADDER {
        if span_s / i <= MAX_POINTS as i64 {
            return i;
        }
    }
    INTERVAL_LADDER[INTERVAL_LADDER.len() - 1]
}

/// Re-bins per-second bytes into bits/s per `interval` (epoch-aligned).
fn rebin(per_second: &BTreeMap<i64, u64>, interval: i64) -> Result<(i64, Vec<f64>)> {
    let (Some(first), Some(last)) = (per_second.keys().next(), per_second.keys().next_back())
    else {
        return Ok((0, Vec::new()));
    };
    let k0 = first.div_euclid(interval);
    let k1 = last.div_euclid(interval);
    let n = usize::try_from(k1 - k0 + 1).unwrap_or(usize::MAX);
    if n > 2_000_000 {
        return Err(Error::Limit(format!(
            "{n} throughput intervals: timestamps too far apart for a {interval} s interval"
        )));
    }
    let mut v = vec![0.0; n];
    for (s, b) in per_second {
        let i = (s.div_euclid(interval) - k0) as usize;
        if let Some(x) = v.get_mut(i) {
            *x += *b as f64 * 8.0;
        }
    }
    for x in v.iter_mut() {
        *x /= interval as f64;
    }
    Ok((k0 * interval, v))
}

/// Builds a report from a finished collection.
pub fn build_report(c: &Collected, facts: &RunFacts, opts: &ReportOptions) -> Result<ReportData> {
    let mut d = ReportData {
        title: opts.title.clone(),
        generator: format!("netlens {}", env!("CARGO_PKG_VERSION")),
        inputs: opts.inputs.clone(),
        application_method: apps::METHOD.into(),
        ..Default::default()
    };
    let (first_s, last_s) = match (c.first_ns, c.last_ns) {
        (Some(a), Some(b)) => (a.div_euclid(1_000_000_000), b.div_euclid(1_000_000_000)),
        _ => {
            d.notes
                .push("The input holds no packets: nothing to chart.".into());
            d.anomalies.status = "No data.".into();
            d.forecast.status = "No data.".into();
            return Ok(d);
        }
    };
    let duration_s = match (c.first_ns, c.last_ns) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    // Throughput: from the per-second map at the chosen interval, else the
    // interval table.
    let interval = choose_interval(last_s - first_s + 1, opts.interval_s);
    let (start, values) = match &c.per_second {
        Some(ps) => rebin(ps, interval)?,
        None => (
            c.table.rows.first().map_or(0, |r| r.start),
            c.table.rows.iter().map(|r| r.bits_per_s).collect(),
        ),
    };
    let interval = if c.per_second.is_some() {
        interval
    } else {
        c.interval_s
    };
    d.totals = Totals {
        packets: c.packets,
        bytes: c.bytes,
        flows: c.flows,
        non_ip_packets: c.non_ip.packets,
        malformed_packets: facts.malformed,
        first: Some(format_time(first_s)),
        last: Some(format_time(last_s)),
        duration_s,
        mean_bits_per_s: if duration_s > 0.0 {
            c.bytes as f64 * 8.0 / duration_s
        } else {
            0.0
        },
        peak_bits_per_s: values.iter().copied().fold(0.0, f64::max),
    };
    d.throughput = Throughput {
        name: "bits_per_s".into(),
        unit: "bit/s".into(),
        start,
        interval_s: interval,
        values,
    };
    // Protocol mix (IP packets by inner protocol, plus non-IP).
    let mut protos: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (p, cnt) in &c.summary.protocols() {
        let e = protos.entry(protocol_name(*p)).or_default();
        e.0 += cnt.packets;
        e.1 += cnt.bytes;
    }
    if c.non_ip.packets > 0 {
        protos.insert("non-ip", (c.non_ip.packets, c.non_ip.bytes));
    }
    d.protocols = protos
        .into_iter()
        .map(|(n, (p, b))| MixRow {
            name: n.into(),
            count: p,
            bytes: b,
            share_pct: pct(b, c.bytes),
        })
        .collect();
    d.protocols
        .sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    let app_total: u64 = c.apps.values().map(|v| v.bytes).sum();
    d.applications = c
        .apps
        .iter()
        .map(|(n, v)| MixRow {
            name: n.clone(),
            count: v.packets,
            bytes: v.bytes,
            share_pct: pct(v.bytes, app_total),
        })
        .collect();
    d.applications
        .sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    d.top_talkers = c
        .summary
        .top_talkers(opts.top_n)
        .into_iter()
        .map(|(ip, k)| TalkerRow {
            host: ip.to_string(),
            packets: k.packets,
            bytes: k.bytes,
            share_pct: pct(k.bytes, c.bytes),
        })
        .collect();
    d.top_ports = c
        .summary
        .top_ports(opts.top_n)
        .into_iter()
        .map(|((p, port), k)| PortRow {
            protocol: protocol_name(p).into(),
            port,
            service: apps::service_name(p, port).into(),
            packets: k.packets,
            bytes: k.bytes,
            share_pct: pct(k.bytes, c.bytes),
        })
        .collect();
    let mut size_labels = Vec::new();
    let mut lo = 0u64;
    for b in PACKET_SIZE_BOUNDS {
        size_labels.push(if lo == 0 {
            format!("≤{b}")
        } else {
            format!("{}–{b}", lo + 1)
        });
        lo = b;
    }
    size_labels.push(format!(">{lo}"));
    d.packet_sizes = Some(Histogram {
        counts_what: "packets".into(),
        labels: size_labels,
        counts: c.packet_sizes.clone(),
    });
    if c.flows > 0 {
        let mut labels = vec!["1 packet".to_string()];
        let mut lo = 0.0;
        for b in DURATION_BOUNDS_S {
            labels.push(if lo == 0.0 {
                format!("<{}", dur_label(b))
            } else {
                format!("{}–{}", dur_label(lo), dur_label(b))
            });
            lo = b;
        }
        labels.push(format!("≥{}", dur_label(lo)));
        let mut counts = vec![c.single_packet_flows];
        counts.extend(c.durations.iter().copied());
        d.flow_durations = Some(Histogram {
            counts_what: "flows".into(),
            labels,
            counts,
        });
        d.tcp = Some(TcpHealth {
            counts: c.tcp.clone(),
            notes: vec![
                "Retransmissions are not measured: the flow meter does not track TCP sequence numbers.".into(),
            ],
        });
    }
    if facts.malformed > 0 {
        d.notes.push(format!(
            "{} malformed or truncated packets were counted in the totals but not decoded.",
            facts.malformed
        ));
    }
    analyse_series(&mut d, opts);
    Ok(d)
}

fn dur_label(s: f64) -> String {
    if s < 1.0 {
        format!("{} ms", (s * 1000.0).round())
    } else if s < 60.0 {
        format!("{s} s")
    } else {
        format!("{} min", (s / 60.0).round())
    }
}

/// Builds a report from a series (e.g. SNMP link counters): throughput,
/// anomalies and forecast only. `column` picks the value column (default:
/// the first).
pub fn build_report_from_series(
    s: &Series,
    column: Option<&str>,
    opts: &ReportOptions,
) -> Result<ReportData> {
    let picked = s.pick(column)?;
    if picked.values.is_empty() {
        return Err(Error::Invalid("the series has no points".into()));
    }
    // Counters per interval (bits or bytes per hour, say) become bit/s.
    let converted;
    let col = match opts.value_unit {
        Some(u) => {
            converted = netlens_timeseries::series::Column {
                name: picked.name.clone(),
                values: picked
                    .values
                    .iter()
                    .map(|v| u.to_bps(*v, s.interval))
                    .collect(),
            };
            &converted
        }
        None => picked,
    };
    let n = col.values.len();
    let last = s.time(n - 1);
    let unit = if opts.value_unit.is_some() || col.name.contains("bit") || col.name.contains("bps")
    {
        "bit/s"
    } else {
        "value"
    };
    let mut d = ReportData {
        title: opts.title.clone(),
        generator: format!("netlens {}", env!("CARGO_PKG_VERSION")),
        inputs: opts.inputs.clone(),
        ..Default::default()
    };
    let finite: Vec<f64> = col
        .values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    d.totals = Totals {
        first: Some(format_time(s.start)),
        last: Some(format_time(last)),
        duration_s: (last - s.start + s.interval) as f64,
        mean_bits_per_s: mean,
        peak_bits_per_s: finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ..Default::default()
    };
    d.throughput = Throughput {
        name: col.name.clone(),
        unit: unit.into(),
        start: s.start,
        interval_s: s.interval,
        values: col.values.clone(),
    };
    d.notes.push(format!(
        "Input is a time series (column '{}'): protocol, application, talker and TCP sections need a capture or flow table.",
        col.name
    ));
    analyse_series(&mut d, opts);
    Ok(d)
}

fn analyse_series(d: &mut ReportData, opts: &ReportOptions) {
    let t = &d.throughput;
    let n = t.values.len();
    let iv = t.interval_s.max(1);
    let season = usize::try_from(SEASON_S / iv)
        .ok()
        .filter(|m| *m >= 2 && SEASON_S % iv == 0);
    // Anomalies.
    d.anomalies.threshold = opts.anomaly_threshold;
    if n < MIN_ANOMALY_POINTS {
        d.anomalies.status = format!(
            "Too short for anomaly detection: {n} intervals of {}, at least {MIN_ANOMALY_POINTS} needed.",
            units::format_duration(iv)
        );
    } else {
        let window = (n / 4).clamp(8, 288);
        let seasonal = season.filter(|m| n >= 4 * m);
        // Probation (15 % calibration without alerts) only when the input
        // is long enough to spare it: on a short capture the warm-up window
        // already takes a quarter, and probation would silence half of it.
        let probation = if n >= 8 * window {
            AnomalyOptions::default().probation
        } else {
            0.0
        };
        let o = AnomalyOptions {
            season: seasonal,
            window,
            threshold: opts.anomaly_threshold,
            probation,
            ..AnomalyOptions::default()
        };
        match anomaly::detect_with_info(&t.values, &o) {
            Ok(det) => {
                let first = det.first_alert.min(n);
                d.anomalies.status = format!(
                    "Causal robust detector on {} per {} ({} intervals; expected value from the {}; trailing window {window} intervals; alert when {}; calibrated threshold {:.1}; the first {} intervals ({}) are warm-up and calibration and raise no alerts).",
                    t.name,
                    units::format_duration(iv),
                    n,
                    if seasonal.is_some() {
                        "same time of day on the previous 3 days"
                    } else {
                        "median of the trailing window"
                    },
                    o.describe(),
                    det.threshold,
                    first,
                    units::format_duration(first as i64 * iv),
                );
                let ev = det.events;
                d.anomalies.events = ev
                    .iter()
                    .map(|e| AnomalyRow {
                        start: format_time(t.start + e.start as i64 * iv),
                        end: format_time(t.start + e.end as i64 * iv),
                        peak: format_time(t.start + e.peak as i64 * iv),
                        start_index: e.start,
                        end_index: e.end,
                        peak_index: e.peak,
                        peak_value: t.values.get(e.peak).copied().unwrap_or(0.0),
                        score: e.score,
                    })
                    .collect();
            }
            Err(e) => d.anomalies.status = format!("Anomaly detection not run: {e}"),
        }
    }
    // Forecast: daily-seasonal with two days or more of data; a short-term
    // non-seasonal forecast of an aggregated series otherwise.
    let f = &mut d.forecast;
    f.interval_s = iv;
    let daily = season.filter(|m| n >= 2 * m);
    let (values, start, fiv, fo, what) = if let Some(m) = daily {
        let horizon = opts
            .horizon_s
            .map_or(m, |h| usize::try_from(h / iv).unwrap_or(m).max(1));
        let fo = ForecastOptions {
            horizon,
            season: SeasonChoice::Fixed(m),
            ..ForecastOptions::default()
        };
        (
            t.values.clone(),
            t.start,
            iv,
            fo,
            format!("daily season of {m} intervals"),
        )
    } else {
        // A round aggregation interval from the ladder (10 s rather than 9 s).
        let target = (n as i64).saturating_mul(iv) / SHORT_FORECAST_POINTS as i64;
        let k = INTERVAL_LADDER
            .iter()
            .find(|l| **l >= target && **l % iv == 0)
            .map_or((n / SHORT_FORECAST_POINTS).max(1), |l| {
                usize::try_from(l / iv).unwrap_or(1).max(1)
            });
        let agg: Vec<f64> = t
            .values
            .chunks(k)
            .filter(|c| c.len() == k)
            .map(|c| c.iter().sum::<f64>() / k as f64)
            .collect();
        let fiv = iv.saturating_mul(k as i64);
        if agg.len() < MIN_SHORT_FORECAST_POINTS {
            let why = match season {
                None => format!(
                    "the interval ({}) does not divide a day",
                    units::format_duration(iv)
                ),
                Some(m) => format!(
                    "it spans {} ({n} intervals), a daily-seasonal forecast needs two days ({} intervals of {})",
                    units::format_duration((n as i64) * iv),
                    2 * m,
                    units::format_duration(iv)
                ),
            };
            f.status = format!(
                "The input is too short to forecast: {why}, and a short-term forecast needs at least {MIN_SHORT_FORECAST_POINTS} intervals."
            );
            return;
        }
        let horizon = opts.horizon_s.map_or((agg.len() / 5).max(4), |h| {
            usize::try_from(h / fiv).unwrap_or(1).clamp(1, agg.len())
        });
        let fo = ForecastOptions {
            horizon,
            season: SeasonChoice::None,
            ..ForecastOptions::default()
        };
        f.history_start = t.start;
        f.history_interval_s = fiv;
        f.history = agg.clone();
        (
            agg,
            t.start,
            fiv,
            fo,
            match season {
                Some(_) => format!(
                    "short-term and without season: the input spans {}, less than the two days a daily season needs, so this extrapolates the level and trend of {} means (a trend, not a plan)",
                    units::format_duration((n as i64) * iv),
                    units::format_duration(fiv)
                ),
                None => format!(
                    "short-term and without season: at {} per point there is no daily season to model (the interval must divide a day into at least two parts), so this extrapolates the level and trend of {} means (a trend, not a plan)",
                    units::format_duration(iv),
                    units::format_duration(fiv)
                ),
            },
        )
    };
    f.interval_s = fiv;
    let horizon = fo.horizon;
    match forecast::forecast(&values, start, fiv, &fo) {
        Ok(r) => {
            f.available = true;
            f.model = r.model.name().into();
            f.season_points = r.season.period;
            f.start = r.start;
            f.mase = r
                .backtest
                .iter()
                .find(|s| s.model == r.model)
                .map(|s| s.mase)
                .filter(|v| v.is_finite());
            f.status = format!(
                "{} ahead with model {} (chosen by rolling-origin backtest), {what}, {:.0} % interval.",
                units::format_duration(horizon as i64 * fiv),
                f.model,
                r.level * 100.0
            );
            if let Some(cap) = opts.capacity_bps.filter(|_| t.unit == "bit/s") {
                let now = start.saturating_add(fiv.saturating_mul(values.len() as i64));
                match check_capacity(
                    &r,
                    ValueUnit::BitsPerSecond,
                    cap,
                    opts.capacity_threshold,
                    now,
                ) {
                    Ok(c) => {
                        f.capacity = Some(CapacitySection {
                            capacity_bps: c.capacity_bps,
                            assumed: opts.capacity_assumed,
                            threshold_bps: c.threshold_bps,
                            point_crossing: c.point_crossing.map(format_time),
                            upper_crossing: c.upper_crossing.map(format_time),
                            peak_upper_bps: c.peak_upper_bps,
                            message: c.message,
                        })
                    }
                    Err(e) => d.notes.push(format!("Capacity check not run: {e}")),
                }
            }
            // Traffic cannot be negative: clip the bounds of a rate at zero.
            let mut r = r;
            if t.unit == "bit/s" {
                r.clip_at_zero();
            }
            let f = &mut d.forecast;
            f.point = r.point;
            f.lower = r.lower;
            f.upper = r.upper;
            f.level = r.level;
        }
        Err(e) => f.status = format!("Forecast failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_health_json_keeps_its_flat_keys() {
        let mut h = TcpHealth {
            notes: vec!["n".into()],
            ..TcpHealth::default()
        };
        h.counts.flows = 3;
        h.counts.rejected_flows = 1;
        h.counts.conn_states.insert("REJ".into(), 1);
        let text = serde_json::to_string(&h).expect("json");
        assert_eq!(
            text,
            "{\"flows\":3,\"syn_packets\":0,\"synack_packets\":0,\"rst_packets\":0,\
             \"rst_flows\":0,\"unanswered_syn_flows\":0,\"rejected_flows\":1,\
             \"conn_states\":{\"REJ\":1},\"notes\":[\"n\"]}"
        );
        let back: TcpHealth = serde_json::from_str(&text).expect("read back");
        assert_eq!(back.counts, h.counts);
        assert_eq!(back.notes, h.notes);
    }

    #[test]
    fn interval_choice() {
        assert_eq!(choose_interval(600, None), 1);
        assert_eq!(choose_interval(3600, None), 5);
        assert_eq!(choose_interval(2 * 86400, None), 300);
        assert_eq!(choose_interval(60 * 86400, None), 10800);
        assert_eq!(choose_interval(600, Some(60)), 60);
    }

    #[test]
    fn rebin_keeps_bytes() {
        let mut ps = BTreeMap::new();
        ps.insert(100, 10u64);
        ps.insert(101, 20);
        ps.insert(117, 30);
        let (start, v) = rebin(&ps, 10).expect("rebin");
        assert_eq!(start, 100);
        assert_eq!(v.len(), 2);
        assert!((v.iter().sum::<f64>() * 10.0 / 8.0 - 60.0).abs() < 1e-9);
    }

    #[test]
    fn series_report_forecasts_cortez_and_flags_short_series() {
        let p = crate::tests_support::data_dir()
            .join("timeseries/cortez-isp-traffic/internet-traffic-eu-transatlantic-hourly.csv");
        let (s, _) = netlens_timeseries::read_series_csv(&p, &Default::default()).expect("cortez");
        let d = build_report_from_series(&s, None, &ReportOptions::default()).expect("report");
        assert!(d.forecast.available, "{}", d.forecast.status);
        assert_eq!(d.forecast.point.len(), 24);
        assert_eq!(d.forecast.season_points, Some(24));
        let short = Series::new(
            0,
            60,
            vec![netlens_timeseries::series::Column {
                name: "v".into(),
                values: vec![1.0; 20],
            }],
        )
        .expect("s");
        let d = build_report_from_series(&short, None, &ReportOptions::default()).expect("report");
        assert!(!d.forecast.available);
        assert!(
            d.forecast.status.contains("too short"),
            "{}",
            d.forecast.status
        );
        assert!(d.anomalies.status.contains("Too short"));
    }

    #[test]
    fn short_input_gets_a_short_term_forecast_and_capacity_dates() {
        // Ten minutes of 1 s throughput rising by 1 kbit/s per second.
        let values: Vec<f64> = (0..600).map(|i| 1e5 + 1e3 * f64::from(i)).collect();
        let s = Series::new(
            1_000_000,
            1,
            vec![netlens_timeseries::series::Column {
                name: "bits_per_s".into(),
                values,
            }],
        )
        .expect("s");
        let opts = ReportOptions {
            capacity_bps: Some(1e6),
            capacity_threshold: Threshold::Fraction(0.8),
            ..ReportOptions::default()
        };
        let d = build_report_from_series(&s, None, &opts).expect("report");
        let f = &d.forecast;
        assert!(f.available, "{}", f.status);
        assert!(f.status.contains("short-term"), "{}", f.status);
        assert_eq!(f.season_points, None);
        // Aggregated to 10 s means (60 points), forecast 12 of them ahead.
        assert_eq!(f.interval_s, 10);
        assert_eq!(f.history.len(), 60);
        assert_eq!(f.point.len(), 12);
        assert!(f.lower.iter().all(|v| *v >= 0.0));
        // The trend reaches 800 kbit/s at t0 + 700 s (13:58:20), inside the
        // horizon; the model's estimate may be a bucket or two early.
        let c = f.capacity.as_ref().expect("capacity checked");
        assert!((c.threshold_bps - 8e5).abs() < 1e-6);
        let when = c.point_crossing.as_deref().expect("point crossing");
        assert!(
            ("1970-01-12T13:57:00Z"..="1970-01-12T13:58:20Z").contains(&when),
            "{when}: {}",
            c.message
        );
        assert!(c.message.contains("80 % of 1 Mbit/s"), "{}", c.message);
    }
}
