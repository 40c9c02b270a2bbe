//! `netlens forecast`: forecast a series from CSV, backtest models, check a
//! capacity, draw a chart.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args as ClapArgs, ValueEnum};
use netlens_timeseries::capacity::{ValueUnit, check_capacity};
use netlens_timeseries::chart::{
    CapacityLine, ChartForecast, ChartHistory, ChartLabels, render_forecast_chart,
};
use netlens_timeseries::forecast::{
    ForecastOptions, ForecastResult, ModelChoice, SeasonChoice, forecast,
};
use netlens_timeseries::series::{format_time, format_time_human};
use netlens_timeseries::units::{
    Threshold, format_rate, parse_duration, parse_rate, parse_threshold,
};
use netlens_timeseries::{ReadOptions, read_series_csv};

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Human-readable report on stdout; CSV forecast file with -o.
    Csv,
    /// One JSON document (report and forecast).
    Json,
}

/// Forecast a time series CSV (time column + value columns).
#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Series CSV: a time column (RFC 3339, `YYYY-MM-DD HH:MM:SS` UTC, or Unix s/ms) and value columns.
    pub series: PathBuf,
    /// How far ahead: 1m, 5m, 1h, 24h, 7d, ...
    #[arg(long, default_value = "24h")]
    pub horizon: String,
    /// Value column (default: `bits_per_s` when the series has one and
    /// `--unit` is bps, as `netlens series` output does; else the first
    /// value column).
    #[arg(long)]
    pub column: Option<String>,
    /// auto, linear, holt-winters, hw-add, hw-mul, seasonal-naive, naive.
    #[arg(long, default_value = "auto")]
    pub model: String,
    /// Season: auto, none, a number of intervals (24) or a duration (1d).
    #[arg(long, default_value = "auto")]
    pub season: String,
    /// Link capacity, e.g. 10Gbit/s, 500Mbit/s, 1e9 (bit/s).
    #[arg(long)]
    pub capacity: Option<String>,
    /// Utilisation threshold: 80% of --capacity, or a rate like 8Gbit/s.
    #[arg(long, default_value = "100%")]
    pub threshold: String,
    /// What the values measure: bps (bit/s), bits or bytes per interval.
    #[arg(long, default_value = "bps")]
    pub unit: String,
    /// Print the per-model rolling-origin backtest table (always run for --model auto).
    #[arg(long)]
    pub backtest: bool,
    /// Prediction interval level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    /// Write the forecast here (CSV or JSON per --format; `-` = stdout, the
    /// summary then goes to stderr).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
    /// Write a chart: .svg or .png (both are written if the name has no extension).
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

fn write_forecast_csv<W: Write>(f: &ForecastResult, out: W) -> Result<()> {
    let mut w = out;
    writeln!(w, "timestamp,forecast,lower,upper")?;
    for i in 0..f.point.len() {
        let t = f.start + f.interval * i as i64;
        writeln!(
            w,
            "{},{},{},{}",
            format_time(t),
            f.point.get(i).copied().unwrap_or(f64::NAN),
            f.lower.get(i).copied().unwrap_or(f64::NAN),
            f.upper.get(i).copied().unwrap_or(f64::NAN)
        )?;
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: Args) -> Result<()> {
    let opts = ReadOptions {
        value_columns: args.column.clone().map(|c| vec![c]),
        ..ReadOptions::default()
    };
    // A capture or a flow table is not a series: say what to run instead
    // of failing on its first non-numeric column.
    if args.series.is_file()
        && let Some(arg) = args.series.to_str()
    {
        use netlens_report::input::{InputKind, detect};
        match detect(arg) {
            Ok(InputKind::Capture) => bail!(
                "{arg} is a capture, not a series: `netlens series {arg} -o series.csv` makes one (or use `netlens report`)"
            ),
            Ok(InputKind::FlowTable) => bail!(
                "{arg} is a flow table, not a series: `netlens series {arg} -o series.csv` makes one"
            ),
            Ok(InputKind::Series) => {}
            Err(e) => return Err(e).with_context(|| format!("reading {arg}")),
        }
    }
    let (series, report) = read_series_csv(&args.series, &opts)
        .with_context(|| format!("reading {}", args.series.display()))?;
    // A netlens series (or any table with a `bits_per_s` column) is
    // forecast on its bit rate unless told otherwise: its first column
    // counts packets, which a capacity in bit/s must not be compared with.
    let default_col =
        (args.column.is_none() && args.unit == "bps" && series.column("bits_per_s").is_some())
            .then_some("bits_per_s");
    let col = series.pick(args.column.as_deref().or(default_col))?;
    let horizon_s = parse_duration(&args.horizon)?;
    if horizon_s < series.interval {
        bail!(
            "horizon {} is shorter than the series interval ({} s)",
            args.horizon,
            series.interval
        );
    }
    let horizon = (horizon_s / series.interval) as usize;
    let season = match args.season.as_str() {
        "auto" => SeasonChoice::Auto,
        "none" => SeasonChoice::None,
        s => match s.parse::<usize>() {
            Ok(n) => SeasonChoice::Fixed(n),
            Err(_) => {
                let d = parse_duration(s)?;
                if d % series.interval != 0 {
                    bail!(
                        "season {s} is not a whole number of {} s intervals",
                        series.interval
                    );
                }
                SeasonChoice::Fixed((d / series.interval) as usize)
            }
        },
    };
    if !(args.level > 0.0 && args.level < 100.0) {
        bail!("--level must be between 0 and 100");
    }
    let unit = ValueUnit::parse(&args.unit)?;
    let opts = ForecastOptions {
        horizon,
        model: ModelChoice::parse(&args.model)?,
        season,
        level: args.level / 100.0,
        backtest: args.backtest,
        ..Default::default()
    };
    let mut f = forecast(&col.values, series.start, series.interval, &opts)?;
    if col.values.iter().all(|v| *v >= 0.0) {
        // Never negative so far (traffic, counts): neither is the forecast.
        f.clip_at_zero();
    }
    let last_time = series.time(series.len().saturating_sub(1));
    let cap = match &args.capacity {
        Some(c) => {
            let bps = parse_rate(c)?;
            let th = parse_threshold(&args.threshold)?;
            Some((bps, th, check_capacity(&f, unit, bps, th, last_time)?))
        }
        None => None,
    };
    if let Some(path) = &args.chart {
        let to_unit = |bps: f64| match unit {
            ValueUnit::BitsPerSecond => bps,
            ValueUnit::BitsPerInterval => bps * series.interval as f64,
            ValueUnit::BytesPerInterval => bps * series.interval as f64 / 8.0,
        };
        let mut lines = Vec::new();
        if let Some((bps, th, rep)) = &cap {
            lines.push(CapacityLine {
                value: to_unit(*bps),
                label: format!("capacity {}", format_rate(*bps)),
            });
            if !matches!(th, Threshold::Fraction(x) if (*x - 1.0).abs() < 1e-9) {
                lines.push(CapacityLine {
                    value: to_unit(rep.threshold_bps),
                    label: format!("threshold {}", format_rate(rep.threshold_bps)),
                });
            }
        }
        let y_label = match unit {
            ValueUnit::BitsPerSecond => format!("{} (bit/s)", col.name),
            ValueUnit::BitsPerInterval => format!("bits per {} s", series.interval),
            ValueUnit::BytesPerInterval => format!("bytes per {} s", series.interval),
        };
        let name: String = col.name.chars().take(40).collect();
        let labels = ChartLabels {
            title: format!(
                "Forecast of {name}: {} ahead, model {}",
                args.horizon,
                f.model.name()
            ),
            y_label,
        };
        // Show at most the last 10 horizons of history so the forecast is readable.
        let keep = (horizon * 10).max(96);
        let skip = col.values.len().saturating_sub(keep);
        let hist = ChartHistory {
            start: series.time(skip),
            interval: series.interval,
            values: col.values.get(skip..).unwrap_or(&[]),
        };
        let fc = ChartForecast {
            start: f.start,
            interval: f.interval,
            point: &f.point,
            lower: &f.lower,
            upper: &f.upper,
            level: f.level,
            model: f.model.name(),
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let (svg, png) = match ext.as_deref() {
            Some("svg") => (Some(path.clone()), None),
            Some("png") => (None, Some(path.clone())),
            _ => (
                Some(path.with_extension("svg")),
                Some(path.with_extension("png")),
            ),
        };
        render_forecast_chart(hist, fc, &lines, &labels, svg.as_deref(), png.as_deref())?;
    }
    match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "series": args.series.display().to_string(),
                "column": col.name,
                "read_report": report,
                "last_observation": format_time(last_time),
                "forecast": f,
                "forecast_start": format_time(f.start),
                "capacity": cap.as_ref().map(|c| &c.2),
            });
            match args.output.as_ref().filter(|p| p.as_os_str() != "-") {
                Some(p) => {
                    let file = std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?;
                    serde_json::to_writer_pretty(file, &doc)?;
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut lock = stdout.lock();
                    serde_json::to_writer_pretty(&mut lock, &doc)?;
                    writeln!(lock)?;
                }
            }
        }
        Format::Csv => {
            // With `-o -` stdout carries the forecast CSV alone and the
            // human-readable summary goes to stderr.
            let to_stdout = args.output.as_ref().is_some_and(|p| p.as_os_str() == "-");
            let mut o: Box<dyn Write> = if to_stdout {
                Box::new(std::io::stderr().lock())
            } else {
                Box::new(std::io::stdout().lock())
            };
            writeln!(
                o,
                "Series {} column '{}': {} points every {} s, {} to {}",
                args.series.display(),
                col.name,
                series.len(),
                series.interval,
                format_time_human(series.start),
                format_time_human(last_time)
            )?;
            if report.reordered + report.duplicates + report.filled + report.snapped > 0 {
                writeln!(
                    o,
                    "Input repaired: {} rows reordered, {} duplicate rows averaged, {} off-grid times snapped, {} values filled by interpolation ({} missing slots)",
                    report.reordered,
                    report.duplicates,
                    report.snapped,
                    report.filled,
                    report.missing_slots
                )?;
            }
            if !report.text_columns.is_empty() {
                writeln!(
                    o,
                    "Text columns left out: {}",
                    report.text_columns.join(", ")
                )?;
            }
            let season = match f.season.period {
                Some(p) => format!(
                    "{p} intervals ({})",
                    netlens_timeseries::units::format_duration(p as i64 * series.interval)
                ),
                None => "none".into(),
            };
            writeln!(
                o,
                "Season: {season}{}",
                if f.season.detected { " (detected)" } else { "" }
            )?;
            if !f.backtest.is_empty() {
                writeln!(
                    o,
                    "\nRolling-origin backtest: {} origins, {} steps ahead each (MASE < 1 beats the in-sample seasonal-naive error)",
                    f.backtest.first().map_or(0, |s| s.origins),
                    f.backtest_horizon
                )?;
                writeln!(
                    o,
                    "{:<18} {:>12} {:>12} {:>8} {:>8} {:>7}",
                    "model", "MAE", "RMSE", "MAPE%", "sMAPE%", "MASE"
                )?;
                for s in &f.backtest {
                    writeln!(
                        o,
                        "{:<18} {:>12.4e} {:>12.4e} {:>8.2} {:>8.2} {:>7.3}{}",
                        s.model.name(),
                        s.mae,
                        s.rmse,
                        s.mape,
                        s.smape,
                        s.mase,
                        if s.model == f.model {
                            "  <- chosen"
                        } else {
                            ""
                        }
                    )?;
                }
            }
            for n in &f.notes {
                writeln!(o, "note: {n}")?;
            }
            writeln!(
                o,
                "\nModel: {}; {} steps from {}; {} % interval",
                f.model.name(),
                f.point.len(),
                format_time_human(f.start),
                (f.level * 100.0).round()
            )?;
            if let Some((_, _, rep)) = &cap {
                writeln!(o, "{}", rep.message)?;
            }
            match &args.output {
                Some(_) if to_stdout => {
                    write_forecast_csv(&f, std::io::stdout().lock())?;
                }
                Some(p) => {
                    let file = std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?;
                    write_forecast_csv(&f, std::io::BufWriter::new(file))?;
                    writeln!(o, "Forecast written to {}", p.display())?;
                }
                None => {
                    writeln!(o)?;
                    write_forecast_csv(&f, &mut o)?;
                }
            }
        }
    }
    Ok(())
}
