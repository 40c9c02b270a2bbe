//! Series-extraction overhead: what extracting the per-interval series costs
//! on top of `netlens flows` (capture → dissect → meter → Parquet file), in
//! one process, on the same capture, in CPU seconds (user + system: the
//! machine is shared, so wall time says more about the neighbours).
//!
//! ```text
//! netlens-ts-overhead CAPTURE OUT.parquet [ROUNDS (default 3)] [INTERVAL_S (default 60)]
//! ```
//!
//! Modes, run in turn in every round (so load changes hit all of them):
//! - `flows`: what `netlens flows CAPTURE -o OUT.parquet` does with its
//!   defaults (basic features, 1 thread).
//! - `flows+accumulator`: the same plus the timeseries `IntervalAccumulator`
//!   fed from a packet observer (every packet) and from the flow sink (one
//!   `on_flow` per flow), then `finish` and `to_series`: the series
//!   extraction alone.
//! - `flows+collector`: the same plus the report crate's `Collector`, what
//!   `netlens series` and `netlens analyze` run (accumulator, whole-input
//!   traffic summary, histograms, per-second throughput, application bytes).
//!
//! With `NL_BREAKDOWN` set, two more modes split the accumulator's cost into
//! its packet callbacks and its flow callbacks.
//!
//! Prints a Markdown table: per mode the minimum and median CPU seconds over
//! the rounds, packets per CPU second and the ratio to `flows`.

use std::cell::RefCell;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr};
use std::process::ExitCode;
use std::time::Instant;

use netlens_capture::{CaptureReader, Input, PacketRef, ReadOptions};
use netlens_flow::{Flow, MeterConfig, Selection};
use netlens_pipeline::{PacketObserver, RunConfig, run};
use netlens_report::collect::Collector;
use netlens_timeseries::IntervalAccumulator;
use netlens_wire::{DissectError, PacketSummary};

#[path = "../../../common/cpu.rs"]
mod cpu;
use cpu::cpu_s;

/// Feeds packets to an accumulator the way the report collector does
/// (non-IP frames under the unspecified address and protocol 0).
struct AccObserver<'a>(&'a RefCell<IntervalAccumulator>);

impl PacketObserver for AccObserver<'_> {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        let Ok(mut acc) = self.0.try_borrow_mut() else {
            return;
        };
        let bytes = u64::from(pkt.wire_len);
        match dissected {
            Ok(s) => {
                let flags = if s.protocol == 6 { s.tcp.flags } else { 0 };
                acc.on_packet(pkt.ts_ns, bytes, s.src_ip, s.dst_ip, s.protocol, flags);
            }
            Err(_) => {
                let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                acc.on_packet(pkt.ts_ns, bytes, none, none, 0, 0);
            }
        }
    }
}

/// Lends the report collector to the pipeline.
struct CollectorObserver<'a>(&'a RefCell<Collector>);

impl PacketObserver for CollectorObserver<'_> {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        if let Ok(mut c) = self.0.try_borrow_mut() {
            c.on_packet(pkt, dissected);
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Flows,
    Accumulator,
    AccPackets,
    AccFlows,
    Collector,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Flows => "flows",
            Mode::Accumulator => "flows+accumulator",
            Mode::AccPackets => "flows+accumulator (packet callbacks only)",
            Mode::AccFlows => "flows+accumulator (flow callbacks only)",
            Mode::Collector => "flows+collector",
        }
    }
}

/// One run: (packets, flows, series rows, CPU s, wall s).
fn once(
    capture: &str,
    out: &str,
    mode: Mode,
    interval_s: i64,
) -> Result<(u64, u64, usize, f64, f64), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let (t0, c0) = (Instant::now(), cpu_s());
    let mut reader = CaptureReader::open(
        &[Input::from_arg(capture)],
        &ReadOptions { sort_by_time: true },
    )
    .map_err(|e| err(&e))?;
    let sel = Selection::parse("basic").map_err(|e| err(&e))?;
    let cfg = RunConfig {
        meter: MeterConfig {
            statistics: sel.needs_statistics(),
            cic: sel.needs_cic(),
            app: sel.needs_app(),
            ..MeterConfig::default()
        },
        threads: 1,
        ..Default::default()
    };
    let file = File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = netlens_export::open_writer(
        netlens_export::Format::Parquet,
        Box::new(BufWriter::new(file)),
        &sel,
    )
    .map_err(|e| err(&e))?;
    let acc = RefCell::new(IntervalAccumulator::new(interval_s).map_err(|e| err(&e))?);
    let col = RefCell::new(Collector::new(interval_s, 5).map_err(|e| err(&e))?);
    let mut acc_obs = AccObserver(&acc);
    let mut col_obs = CollectorObserver(&col);
    let mut observers: Vec<&mut dyn PacketObserver> = match mode {
        Mode::Flows => vec![],
        Mode::Accumulator | Mode::AccPackets => vec![&mut acc_obs],
        Mode::AccFlows => vec![],
        Mode::Collector => vec![&mut col_obs],
    };
    let mut sink = |flows: &[Flow]| -> Result<(), netlens_export::ExportError> {
        match mode {
            Mode::Flows | Mode::AccPackets => {}
            Mode::Accumulator | Mode::AccFlows => {
                if let Ok(mut a) = acc.try_borrow_mut() {
                    for f in flows {
                        let syn_only = f.protocol == 6
                            && matches!(f.tcp.conn_state(), "S0" | "REJ" | "RSTOS0" | "SH");
                        a.on_flow(f.first_ns, f.last_ns.max(f.first_ns), f.protocol, syn_only);
                    }
                }
            }
            Mode::Collector => {
                if let Ok(mut c) = col.try_borrow_mut() {
                    c.on_flows(flows);
                }
            }
        }
        w.write(flows)
    };
    let rep =
        run(&mut reader, &cfg, &mut observers, &mut sink, &mut |_| {}).map_err(|e| err(&e))?;
    drop(observers);
    w.finish().map_err(|e| err(&e))?;
    let rows = match mode {
        Mode::Flows => 0,
        Mode::Accumulator | Mode::AccPackets | Mode::AccFlows => {
            let t = acc.into_inner().finish().map_err(|e| err(&e))?;
            let s = t.to_series().map_err(|e| err(&e))?;
            s.len()
        }
        Mode::Collector => col
            .into_inner()
            .finish()
            .map_err(|e| err(&e))?
            .table
            .rows
            .len(),
    };
    Ok((
        rep.packets,
        rep.flows,
        rows,
        cpu_s() - c0,
        t0.elapsed().as_secs_f64(),
    ))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(capture), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: netlens-ts-overhead CAPTURE OUT.parquet [ROUNDS] [INTERVAL_S]");
        return ExitCode::FAILURE;
    };
    let rounds: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(3).max(1);
    let interval_s: i64 = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(60);
    let modes: Vec<Mode> = if std::env::var_os("NL_BREAKDOWN").is_some() {
        vec![
            Mode::Flows,
            Mode::Accumulator,
            Mode::AccPackets,
            Mode::AccFlows,
            Mode::Collector,
        ]
    } else {
        vec![Mode::Flows, Mode::Accumulator, Mode::Collector]
    };
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); modes.len()];
    let mut facts = (0u64, 0u64, 0usize);
    // Warm the page cache (not timed).
    if let Ok(mut r) = CaptureReader::open(&[Input::from_arg(capture)], &ReadOptions::default()) {
        while r.next_packet().is_some() {}
    }
    for round in 0..rounds {
        for (i, m) in modes.iter().enumerate() {
            match once(capture, out, *m, interval_s) {
                Ok((p, f, rows, c, wall)) => {
                    eprintln!(
                        "round {round} {}: {p} packets, {f} flows, {rows} rows, {c:.2} CPU s, {wall:.2} wall s",
                        m.name()
                    );
                    facts = (p, f, facts.2.max(rows));
                    if let Some(v) = cpu.get_mut(i) {
                        v.push(c);
                    }
                }
                Err(e) => {
                    eprintln!("{}: {e}", m.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let (packets, flows, rows) = facts;
    println!(
        "{packets} packets, {flows} flows, {rows} series rows of {interval_s} s, {rounds} rounds\n"
    );
    println!(
        "| mode | CPU s (min) | CPU s (median) | packets per CPU s (min) | ratio to flows (min) | ratio to flows (median) |\n|---|---|---|---|---|---|"
    );
    let base_min = cpu
        .first()
        .map(|v| v.iter().copied().fold(f64::INFINITY, f64::min));
    let base_med = cpu.first().map(|v| median(&mut v.clone()));
    for (m, v) in modes.iter().zip(cpu.iter()) {
        let mn = v.iter().copied().fold(f64::INFINITY, f64::min);
        let md = median(&mut v.clone());
        println!(
            "| {} | {mn:.2} | {md:.2} | {:.0} | {:.3} | {:.3} |",
            m.name(),
            packets as f64 / mn.max(0.01),
            mn / base_min.unwrap_or(f64::NAN),
            md / base_med.unwrap_or(f64::NAN)
        );
    }
    ExitCode::SUCCESS
}
