//! `netlens analyze`: the main job. Captures in; one report folder out with
//! monitoring (traffic summary and charts), security (alerts) and planning
//! (forecast and capacity), plus the flow table for further work.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_flow::{Flow, Selection};
use netlens_pipeline::{PacketObserver, RunConfig};
use netlens_report::collect::RunFacts;
use netlens_report::data::InputInfo;
use netlens_report::{Collector, ReportOptions, build_report, render};
use netlens_timeseries::units;

use crate::common;

/// Analyse captures end to end and write a report folder: traffic summary
/// and charts, alerts, a forecast with capacity dates when the capture is
/// long enough, and the flow table as Parquet and CSV. With no input it
/// analyses the sample capture that ships with netlens.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens analyze\n  netlens analyze capture.pcap -o report/\n  netlens analyze day1.pcap.gz day2.pcap.gz --threads 2"
)]
pub struct Args {
    /// Capture files or directories (`-` = stdin); default: the bundled sample.
    pub inputs: Vec<String>,
    /// Live capture (`-i IFACE`; ends at --duration or Ctrl-C, then the report is built).
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// Output folder.
    #[arg(short, long, default_value = "netlens-report")]
    pub output: String,
    /// Flow-metering threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Throughput interval of the report (default: automatic).
    #[arg(long)]
    pub interval: Option<String>,
    /// Link capacity for capacity dates, e.g. `10Gbit/s` (default: 1Gbit/s, said so in the report).
    #[arg(long, value_name = "RATE")]
    pub capacity: Option<String>,
    /// When the link counts as full: a share of the capacity (`80%`) or a rate.
    #[arg(long, value_name = "SHARE|RATE", default_value = "80%")]
    pub capacity_threshold: String,
    /// Detector model (default: the bundled models/detector.nlm).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Skip attack detection (both detectors).
    #[arg(long)]
    pub no_detect: bool,
    /// Skip the unsupervised detector (a second pass over the captures).
    #[arg(long)]
    pub no_unsupervised: bool,
    /// Page title.
    #[arg(long, default_value = "netlens analysis")]
    pub title: String,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The sample capture: `data/sample/sample.pcap` under the current
/// directory, else in the source tree the binary was built from.
fn sample_path() -> Option<PathBuf> {
    let here = PathBuf::from("data/sample/sample.pcap");
    if here.is_file() {
        return Some(here);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let built = built.canonicalize().ok()?;
    // Shown in the report: relative to the working directory when inside it.
    match std::env::current_dir() {
        Ok(cwd) => match built.strip_prefix(&cwd) {
            Ok(rel) => Some(rel.to_path_buf()),
            Err(_) => Some(built),
        },
        Err(_) => Some(built),
    }
}

/// The last component of `p`, for notes inside the report folder.
pub(crate) fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

struct Shared<'a>(&'a RefCell<Collector>);

impl PacketObserver for Shared<'_> {
    fn on_packet(
        &mut self,
        pkt: &netlens_capture::PacketRef<'_>,
        dissected: Result<&netlens_wire::PacketSummary, netlens_wire::DissectError>,
    ) {
        if let Ok(mut c) = self.0.try_borrow_mut() {
            c.on_packet(pkt, dissected);
        }
    }
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let started = Instant::now();
    let live = a.live.interface.is_some();
    let inputs: Vec<String> = if let Some(i) = &a.live.interface {
        vec![format!("live:{i}")]
    } else if a.inputs.is_empty() {
        let s = sample_path().context(
            "no input given and the bundled sample data/sample/sample.pcap was not found (run from the repository, or name a capture)",
        )?;
        vec![s.to_string_lossy().into_owned()]
    } else {
        a.inputs.clone()
    };
    let interval = a
        .interval
        .as_deref()
        .map(units::parse_duration)
        .transpose()
        .context("invalid --interval")?;
    let out = PathBuf::from(&a.output);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let say = |msg: &str| {
        if !a.quiet {
            eprintln!("netlens: {msg}");
        }
    };

    // The detector (security): the bundled model unless told otherwise.
    let detector = if a.no_detect {
        None
    } else {
        match a.model.clone().or_else(crate::cmd::detect::bundled_model) {
            Some(p) => Some(
                netlens_detect::Detector::load(&p, Some(netlens_detect::FeatureSet::full()))
                    .map_err(|e| match e {
                        // The error's hint names detect's --early, which analyze lacks.
                        netlens_detect::DetectError::MissingFeatures {
                            needs_early: Some(_),
                            ..
                        } => {
                            anyhow::anyhow!(
                                "{} is an early-flow model; analyze scores whole flows (use it with `netlens detect --early N` or `netlens serve`)",
                                p.display()
                            )
                        }
                        e => anyhow::Error::new(e)
                            .context(format!("loading detector {}", p.display())),
                    })?,
            ),
            None => {
                say(
                    "warning: no detector model found (models/detector.nlm); skipping attack detection",
                );
                None
            }
        }
    };
    let alerts_path = out.join("alerts.jsonl");
    // Without a detector no alerts file is written (and an earlier run's
    // is removed, so it cannot pass for this run's).
    let mut alerts_out = match &detector {
        Some(_) => Some(common::open_output(
            alerts_path.to_str().unwrap_or("alerts.jsonl"),
        )?),
        None => {
            remove_stale(&alerts_path)?;
            None
        }
    };
    let mut alerts = super::analyze_alerts::AlertSummary::default();

    // Stage 1: one pass over the captures.
    let sel = Selection::parse("all")?;
    let meter = netlens_flow::MeterConfig {
        statistics: true,
        app: true,
        cic: true,
        splt: 0,
        ..Default::default()
    };
    let cfg = RunConfig {
        meter,
        threads: a.threads.max(1),
        ..Default::default()
    };
    let mut reader =
        common::PacketInput::open(if live { &a.inputs } else { &inputs }, true, &a.live)?;
    let stop = reader.stop_flag(&a.live)?;
    let pq_path = out.join("flows.parquet");
    let csv_path = out.join("flows.csv");
    let mut pq = netlens_export::open_writer(
        netlens_export::Format::Parquet,
        common::open_output(pq_path.to_str().unwrap_or("flows.parquet"))?,
        &sel,
    )?;
    let mut csv = netlens_export::open_writer(
        netlens_export::Format::Csv,
        common::open_output(csv_path.to_str().unwrap_or("flows.csv"))?,
        &sel,
    )?;
    // The interval table is the throughput fallback when the input has too
    // many distinct seconds; the report's own interval comes from the
    // per-second counts. An hour, as `report` uses, keeps captures spanning
    // years within the table's bounds (60 s failed past ~3.8 years).
    let collector = RefCell::new(Collector::new(interval.unwrap_or(3600), 5)?);
    let pb = common::packet_progress(a.quiet);
    pb.set_message("stage 1/4: reading, decoding and metering flows");
    let run_report = {
        let mut shared = Shared(&collector);
        let mut obs: [&mut dyn PacketObserver; 1] = [&mut shared];
        netlens_pipeline::run_source::<_, anyhow::Error>(
            &mut reader,
            &cfg,
            &mut obs,
            &mut |fs: &[Flow]| {
                if let Ok(mut c) = collector.try_borrow_mut() {
                    c.on_flows(fs);
                }
                pq.write(fs)?;
                csv.write(fs)?;
                if let (Some(det), Some(alerts_out)) = (&detector, alerts_out.as_mut()) {
                    for al in det.alerts(fs)? {
                        serde_json::to_writer(&mut *alerts_out, &al)?;
                        alerts_out.write_all(b"\n")?;
                        alerts.add(&al);
                    }
                    alerts_out.flush()?;
                }
                Ok(())
            },
            &mut |r| {
                pb.set_message(format!(
                    "stage 1/4: {} packets, {} flows",
                    r.packets, r.flows
                ))
            },
            stop,
        )?
    };
    pq.finish()?;
    csv.finish()?;
    if let Some(o) = alerts_out.as_mut() {
        o.flush()?;
    }
    pb.finish_and_clear();
    let warnings: Vec<String> = reader.warnings();
    reader.finish(run_report.flows, a.quiet);
    // Printed even with -q (which only silences progress).
    for w in &warnings {
        eprintln!("netlens: warning: {w}");
    }
    if run_report.packets == 0 {
        say("warning: the input holds no packets; the report says so");
    }

    // Stage 2: the report (monitoring + anomalies + forecast).
    // Stage 2: the unsupervised detector (second pass, no labels).
    let anomalies_path = out.join("anomalies.jsonl");
    // An earlier run's anomalies must not stand beside this run's report
    // when the unsupervised detector does not run now.
    remove_stale(&anomalies_path)?;
    let unsup = if a.no_detect || a.no_unsupervised {
        None
    } else if live {
        say("unsupervised detector skipped: it needs a second pass over stored captures");
        None
    } else {
        say("stage 2/4: unsupervised detector");
        Some(super::analyze_unsup::run(
            &inputs,
            run_report.ip_packets,
            &anomalies_path,
            a.quiet,
        )?)
    };

    say("stage 3/4: building the report");
    let collected = collector.into_inner().finish()?;
    let facts = RunFacts::from_run(&run_report);
    let infos: Vec<InputInfo> = reader
        .describe()
        .into_iter()
        .map(|(name, kind, note)| InputInfo {
            name,
            kind,
            notes: vec![note],
        })
        .collect();
    let opts = ReportOptions {
        title: a.title.clone(),
        inputs: infos,
        interval_s: interval,
        capacity_bps: Some(match a.capacity.as_deref() {
            Some(c) => units::parse_rate(c).context("invalid --capacity")?,
            None => netlens_report::DEFAULT_CAPACITY_BPS,
        }),
        capacity_assumed: a.capacity.is_none(),
        capacity_threshold: units::parse_threshold(&a.capacity_threshold)
            .context("invalid --capacity-threshold")?,
        ..ReportOptions::default()
    };
    let mut data = build_report(&collected, &facts, &opts)?;
    for w in &warnings {
        data.notes.push(format!("Input warning: {w}"));
    }
    data.alerts = alerts.rows();
    match &detector {
        Some(det) => data.notes.push(format!(
            "Security: {} flows flagged by {} ({}); all alerts are in {} in this folder{}.",
            alerts.total,
            det.detector_name(),
            if alerts.total == 0 {
                "none".to_string()
            } else {
                alerts.label_text()
            },
            file_name(&alerts_path),
            if alerts.ungrouped > 0 {
                format!(
                    "; the table groups them by class and destination, and {} alerts beyond its first 200 groups are only in the file",
                    alerts.ungrouped
                )
            } else {
                String::new()
            }
        )),
        None => data
            .notes
            .push("Security: attack detection was skipped.".into()),
    }
    data.notes.push(format!(
        "Flow table: {} ({} flows, all feature groups) and {}, in this folder.",
        file_name(&pq_path),
        run_report.flows,
        file_name(&csv_path)
    ));

    // Stage 3: write it.
    if let Some(u) = &unsup {
        data.alerts.extend(u.rows.iter().cloned());
        data.notes.push(u.status.clone());
    }
    say("stage 4/4: rendering charts and the HTML page");
    let rendered =
        render(&data, &out).with_context(|| format!("writing the report to {}", out.display()))?;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        let span = match (run_report.first_ts_ns, run_report.last_ts_ns) {
            (Some(f), Some(l)) => (l - f) as f64 / 1e9,
            _ => 0.0,
        };
        let bold = |s: &str| {
            if std::io::stderr().is_terminal() {
                format!("\x1b[1m{s}\x1b[0m")
            } else {
                s.to_string()
            }
        };
        eprintln!();
        eprintln!("{}", bold("netlens analysis"));
        eprintln!(
            "  input       {} ({} packets, {}, {:.0} s of traffic)",
            inputs.join(", "),
            run_report.packets,
            netlens_report::human_bytes(run_report.wire_bytes),
            span
        );
        eprintln!(
            "  flows       {} ({} malformed packets skipped, {} non-IP)",
            run_report.flows,
            run_report.malformed(),
            run_report.skipped.get("non_ip").copied().unwrap_or(0)
        );
        eprintln!(
            "  anomalies   {} in the throughput series",
            data.anomalies.events.len()
        );
        eprintln!(
            "  alerts      {}",
            match (&detector, alerts.total) {
                (None, _) => "none: attack detection was skipped".to_string(),
                (Some(_), 0) => "0".to_string(),
                (Some(_), n) => format!("{n} ({})", alerts.label_text()),
            }
        );
        eprintln!(
            "  forecast    {}",
            if data.forecast.available {
                let f = &data.forecast;
                format!(
                    "{} ahead, model {}{}",
                    units::format_duration(f.interval_s.saturating_mul(f.point.len() as i64)),
                    f.model,
                    if f.season_points.is_none() && !f.history.is_empty() {
                        " (short-term trend: the capture is shorter than two days)"
                    } else {
                        ""
                    }
                )
            } else {
                format!("none: {}", data.forecast.status)
            }
        );
        if let Some(c) = &data.forecast.capacity {
            eprintln!("  capacity    {}", c.message);
        }
        if let Some(u) = &unsup {
            eprintln!(
                "  kitsune     {}",
                if u.ran {
                    format!(
                        "{} unsupervised alerts on {} destination hosts",
                        u.alerts, u.hosts
                    )
                } else {
                    u.status.clone()
                }
            );
        }
        eprintln!(
            "  written     {} (report), {}, {}{}{}",
            rendered.index.display(),
            pq_path.display(),
            csv_path.display(),
            match &detector {
                Some(_) => format!(", {}", alerts_path.display()),
                None => String::new(),
            },
            match &unsup {
                Some(u) if u.ran => format!(", {}", anomalies_path.display()),
                _ => String::new(),
            }
        );
        eprintln!("  took        {secs:.1} s");
    }
    if run_report.packets == 0 && run_report.flows == 0 && rendered.charts.is_empty() {
        bail!("nothing to analyse in {}", inputs.join(", "));
    }
    Ok(())
}

/// Removes a file an earlier run left in the output folder (absent is fine).
fn remove_stale(path: &std::path::Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", path.display()))
        }
        _ => Ok(()),
    }
}
