//! `netlens series`: captures or flow tables in, per-interval rows out.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_pipeline::RunConfig;
use netlens_report::input::{self, InputKind};
use netlens_report::seriesout::{self, SeriesFormat};
use netlens_timeseries::units;

use crate::common;

/// Turn captures or flow tables into a time series: one row per interval
/// with packets, bytes, bit/s, mean packet size, new/active flows, new TCP
/// flows, SYNs without answer, unique hosts, per-protocol and
/// per-application bytes and the top talkers.
///
/// Also reads an existing series (CSV with a time column and value columns,
/// e.g. SNMP link rates) and rewrites it at `--interval` when that is a
/// multiple of its own interval: a series `netlens series` wrote keeps its
/// meaning (counts summed, bit/s averaged, mean packet size recomputed,
/// hosts and active flows the largest value, a lower bound); the columns of
/// any other series are averaged. Applications are guessed from
/// well-known ports; an `app:<name>` column spreads each flow's bytes evenly
/// over the flow's lifetime (the flow is named when it ends), so per row it
/// can differ from `tcp_bytes`/`udp_bytes`, which count packets where they
/// fall; column totals agree.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens series capture.pcap --interval 1m -o series.csv\n  netlens series flows.csv --interval 10s --format json\n  netlens series link.csv --interval 1h -o hourly.parquet"
)]
pub struct Args {
    /// Capture files or directories (`-` = stdin), netlens flow CSVs, or one series CSV.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Interval length (e.g. 10s, 1m, 1h).
    #[arg(short, long, default_value = "1m")]
    pub interval: String,
    /// Output path (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// csv, json or parquet (default: from the output's extension, else csv).
    #[arg(long)]
    pub format: Option<String>,
    /// Top talkers per interval.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Resolves the series output format.
pub fn series_format(explicit: Option<&str>, output: &str) -> Result<SeriesFormat> {
    if let Some(f) = explicit {
        return SeriesFormat::parse(f)
            .with_context(|| format!("unknown format '{f}' (csv, json or parquet)"));
    }
    let inner = netlens_export::format_path(std::path::Path::new(output));
    let format = match inner.to_str().and_then(SeriesFormat::from_path) {
        Some(f) => f,
        None => {
            let ext = inner.extension().and_then(|e| e.to_str()).unwrap_or("");
            if matches!(ext, "jsonl" | "ndjson") {
                bail!("series are written as csv, json or parquet, not JSON Lines ({output})");
            }
            SeriesFormat::Csv
        }
    };
    if format == SeriesFormat::Parquet {
        common::check_parquet_name(output)?;
    }
    Ok(format)
}

/// Detects the kind shared by all inputs.
pub fn input_kind(inputs: &[String]) -> Result<InputKind> {
    let mut kinds = Vec::new();
    for i in inputs {
        kinds.push(input::detect(i).with_context(|| format!("cannot open {i}"))?);
    }
    let first = kinds.first().copied().unwrap_or(InputKind::Capture);
    if kinds.iter().any(|k| *k != first) {
        bail!("inputs mix captures, flow tables and series; give one kind at a time");
    }
    if first == InputKind::Series && inputs.len() > 1 {
        bail!("only one series CSV can be read at a time");
    }
    Ok(first)
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let interval = units::parse_duration(&a.interval)
        .with_context(|| format!("invalid interval '{}'", a.interval))?;
    let format = series_format(a.format.as_deref(), &a.output)?;
    if format == SeriesFormat::Parquet && a.output == "-" {
        bail!("Parquet output needs a file (-o FILE.parquet)");
    }
    let kind = input_kind(&a.inputs)?;
    // The output is opened (and an existing file truncated) only once the
    // input has been read: a failed run leaves an earlier file as it was.
    if kind == InputKind::Series {
        let path = a.inputs.first().map(String::as_str).unwrap_or("-");
        let (s, rep) =
            netlens_timeseries::read_series_csv(std::path::Path::new(path), &Default::default())
                .with_context(|| format!("reading series {path}"))?;
        if s.is_empty() {
            bail!("{path}: the series has no points");
        }
        let s = if interval == s.interval {
            s
        } else if interval > s.interval && interval % s.interval == 0 {
            seriesout::rebin(&s, (interval / s.interval) as usize)?
        } else {
            bail!(
                "{path}: the series has a {} interval; --interval must be a multiple of it",
                units::format_duration(s.interval)
            );
        };
        let mut out = common::open_output(&a.output)?;
        seriesout::write_series(&s, format, &mut out)?;
        out.flush()
            .with_context(|| format!("writing {}", a.output))?;
        if !a.quiet {
            eprintln!(
                "netlens: {} points of {} ({} rows read, {} values filled)",
                s.len(),
                units::format_duration(s.interval),
                rep.rows,
                rep.filled
            );
        }
        return Ok(());
    }
    let g = gather_with_progress(&a.inputs, kind, interval, a.top, a.quiet)?;
    let c = &g.collected;
    if c.packets == 0 {
        bail!("no packets in the input: nothing to put in a series");
    }
    let mut out = common::open_output(&a.output)?;
    seriesout::write_table(&c.table, format, &mut out)?;
    out.flush()
        .with_context(|| format!("writing {}", a.output))?;
    if !a.quiet {
        eprintln!(
            "netlens: {} intervals of {}, {} packets, {}, {} flows",
            c.table.rows.len(),
            units::format_duration(interval),
            c.packets,
            netlens_report::human_bytes(c.bytes),
            c.flows
        );
    }
    Ok(())
}

/// Collect captures or flow tables with a progress spinner, printing reader
/// warnings to stderr (shared by `series` and `report`).
pub fn gather_with_progress(
    inputs: &[String],
    kind: InputKind,
    interval_s: i64,
    top: usize,
    quiet: bool,
) -> Result<input::Gathered> {
    let pb = common::packet_progress(quiet);
    let unit = if kind == InputKind::Capture {
        "packets"
    } else {
        "flow rows"
    };
    let g = input::gather(
        inputs,
        kind,
        interval_s,
        top,
        &RunConfig::default(),
        &mut |n| pb.set_message(format!("{n} {unit}")),
    )?;
    pb.finish_and_clear();
    // Warnings (truncation, skipped files) are printed even with -q.
    for w in &g.warnings {
        eprintln!("netlens: warning: {w}");
    }
    Ok(g)
}
