//! Measure the packet pipeline stage by stage on one capture, in one process:
//! (a) read only, (b) read + dissect, (c) read + dissect + flow metering
//! (no export), with 1 and more threads for (c).
//!
//! ```text
//! stages FILE [THREADS...]
//! ```
//! Prints one line per stage: packets, seconds, packets/s, and the ratio to (b).

use std::process::ExitCode;
use std::time::Instant;

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_flow::MeterConfig;
use netlens_pipeline::{RunConfig, run};
use netlens_wire::PacketSummary;

fn open(path: &str) -> Result<CaptureReader, String> {
    CaptureReader::open(&[Input::from_arg(path)], &ReadOptions::default()).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: stages FILE [THREADS...]");
        return ExitCode::FAILURE;
    };
    let threads: Vec<usize> = args[1..].iter().filter_map(|s| s.parse().ok()).collect();
    match measure(path, if threads.is_empty() { vec![1] } else { threads }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stages: {e}");
            ExitCode::FAILURE
        }
    }
}

fn measure(path: &str, threads: Vec<usize>) -> Result<(), String> {
    // Warm the page cache.
    let mut r = open(path)?;
    while r.next_packet().is_some() {}

    let t = Instant::now();
    let mut r = open(path)?;
    let (mut n, mut touch) = (0u64, 0u64);
    while let Some(p) = r.next_packet() {
        n += 1;
        touch = touch.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
    }
    let read_s = t.elapsed().as_secs_f64();
    std::hint::black_box(touch);

    let t = Instant::now();
    let mut r = open(path)?;
    let mut s = PacketSummary::default();
    let mut ok = 0u64;
    while let Some(p) = r.next_packet() {
        if netlens_wire::dissect(p.linktype, p.data, &mut s).is_ok() {
            ok += 1;
        }
    }
    let dissect_s = t.elapsed().as_secs_f64();
    println!("stage,threads,packets,seconds,packets_per_s,ratio_to_read_dissect");
    println!("read,1,{n},{read_s:.3},{:.0},{:.2}", n as f64 / read_s, dissect_s / read_s);
    println!("read+dissect,1,{n},{dissect_s:.3},{:.0},1.00", n as f64 / dissect_s);
    for th in threads {
        let t = Instant::now();
        let mut r = open(path)?;
        let cfg = RunConfig { meter: MeterConfig::default(), threads: th, ..Default::default() };
        let mut flows = 0u64;
        let rep = run::<std::convert::Infallible>(&mut r, &cfg, &mut [], &mut |f| {
            flows += f.len() as u64;
            Ok(())
        }, &mut |_| {})
        .unwrap_or_else(|e| match e {});
        let secs = t.elapsed().as_secs_f64();
        println!(
            "read+dissect+meter,{th},{},{secs:.3},{:.0},{:.2}   # {flows} flows, {ok} IP packets, peak {} active flows",
            rep.packets,
            rep.packets as f64 / secs,
            dissect_s / secs,
            rep.meter.peak_active
        );
    }
    Ok(())
}
