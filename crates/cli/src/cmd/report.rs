//! `netlens report`: a self-contained monitoring report folder.

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_report::input::InputKind;
use netlens_report::{ReportOptions, build_report, build_report_from_series, render};
use netlens_timeseries::units;

use crate::cmd::series::input_kind;

/// Write a monitoring report: index.html (inline CSS, charts referenced
/// relatively), report.json with the same numbers, and PNG + SVG charts:
/// throughput over time with anomalies, protocol and application mix, top
/// talkers and ports, packet-size and flow-duration histograms, TCP health,
/// and a forecast when the input spans at least two days.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens report capture.pcap -o report/\n  netlens report flows.csv -o report/\n  netlens report link.csv --column bits_in -o report/"
)]
pub struct Args {
    /// Capture files or directories (`-` = stdin), netlens flow CSVs, or one series CSV.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Output folder.
    #[arg(short, long, default_value = "report")]
    pub output: String,
    /// Throughput interval (default: automatic: the shortest of 1s, 5s, 10s,
    /// 30s, 1m, 5m, 15m, 30m, 1h, 3h, 6h, 1d giving at most 720 points; 1d
    /// beyond that, for inputs spanning more than two years).
    #[arg(long)]
    pub interval: Option<String>,
    /// Value column of a series input (default: the first).
    #[arg(long)]
    pub column: Option<String>,
    /// Rows of the top-talker and top-port tables.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Anomaly score threshold (robust z-score).
    #[arg(long, default_value_t = 8.0)]
    pub anomaly_threshold: f64,
    /// What a series CSV's values measure: bps (bit/s), bits or bytes per
    /// interval, converted to bit/s (default: bit/s when the column name
    /// mentions bits or bps, else plain values). Series input only.
    #[arg(long)]
    pub unit: Option<String>,
    /// Forecast horizon (default: one day when the input has the two days a
    /// daily season needs; else a fifth of the input's span).
    #[arg(long)]
    pub horizon: Option<String>,
    /// Link capacity for capacity dates, e.g. `10Gbit/s` (default: no capacity check).
    #[arg(long, value_name = "RATE")]
    pub capacity: Option<String>,
    /// When the link counts as full: a share of the capacity (`80%`) or a rate.
    #[arg(long, value_name = "SHARE|RATE", default_value = "80%")]
    pub capacity_threshold: String,
    /// Page title.
    #[arg(long, default_value = "netlens traffic report")]
    pub title: String,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let interval = a
        .interval
        .as_deref()
        .map(units::parse_duration)
        .transpose()
        .with_context(|| format!("invalid interval '{}'", a.interval.as_deref().unwrap_or("")))?;
    let horizon = a
        .horizon
        .as_deref()
        .map(units::parse_duration)
        .transpose()
        .context("invalid horizon")?;
    if !(a.anomaly_threshold.is_finite() && a.anomaly_threshold > 0.0) {
        bail!("--anomaly-threshold must be a positive number");
    }
    let kind = input_kind(&a.inputs)?;
    let mut opts = ReportOptions {
        title: a.title.clone(),
        top_n: a.top.clamp(1, 1000),
        interval_s: interval,
        anomaly_threshold: a.anomaly_threshold,
        horizon_s: horizon,
        capacity_bps: a
            .capacity
            .as_deref()
            .map(units::parse_rate)
            .transpose()
            .context("invalid --capacity")?,
        capacity_threshold: units::parse_threshold(&a.capacity_threshold)
            .context("invalid --capacity-threshold")?,
        value_unit: a
            .unit
            .as_deref()
            .map(netlens_timeseries::capacity::ValueUnit::parse)
            .transpose()
            .context("invalid --unit")?,
        ..ReportOptions::default()
    };
    if opts.value_unit.is_some() && kind != InputKind::Series {
        bail!("--unit applies to a series CSV; captures and flow tables are measured in bytes");
    }
    let data = if kind == InputKind::Series {
        let path = a.inputs.first().map(String::as_str).unwrap_or("-");
        let (s, rep) =
            netlens_timeseries::read_series_csv(std::path::Path::new(path), &Default::default())
                .with_context(|| format!("reading series {path}"))?;
        let s = match interval {
            Some(i) if i != s.interval && i > s.interval && i % s.interval == 0 => {
                netlens_report::seriesout::rebin(&s, (i / s.interval) as usize)?
            }
            Some(i) if i != s.interval => bail!(
                "--interval must be a multiple of the series interval ({} s)",
                s.interval
            ),
            _ => s,
        };
        opts.inputs = vec![netlens_report::data::InputInfo {
            name: path.into(),
            kind: "series".into(),
            notes: vec![format!(
                "{} rows read, {} values filled, {} missing slots, interval {}",
                rep.rows,
                rep.filled,
                rep.missing_slots,
                units::format_duration(s.interval)
            )],
        }];
        build_report_from_series(&s, a.column.as_deref(), &opts)?
    } else {
        // The throughput comes from per-second counts; the interval table
        // is only a fallback, so a coarse default keeps it small.
        let g = crate::cmd::series::gather_with_progress(
            &a.inputs,
            kind,
            interval.unwrap_or(3600),
            5,
            a.quiet,
        )?;
        opts.inputs = g.inputs.clone();
        build_report(&g.collected, &g.facts, &opts)?
    };
    let out = std::path::Path::new(&a.output);
    let r =
        render(&data, out).with_context(|| format!("writing the report to {}", out.display()))?;
    if !a.quiet {
        eprintln!(
            "netlens: report written to {} ({} charts, {} anomalies, forecast: {})",
            r.index.display(),
            r.charts.len(),
            data.anomalies.events.len(),
            if data.forecast.available {
                "yes"
            } else {
                "no, see the page"
            }
        );
    }
    Ok(())
}
