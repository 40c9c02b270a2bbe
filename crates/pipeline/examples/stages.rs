//! Measure the packet pipeline stage by stage on one capture, in one process:
//! (a) read only, (b) read + dissect, read + dissect + flow metering
//! (no export) with 1 and more threads, and (c) read + dissect + meter +
//! Parquet (basic columns, file discarded) with 1 thread, and with 2
//! metering threads plus the Parquet encoder thread.
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

#[path = "../../../bench/common/cpu.rs"]
mod cpu;
use cpu::cpu_s;

fn open(path: &str) -> Result<CaptureReader, String> {
    CaptureReader::open(&[Input::from_arg(path)], &ReadOptions::default())
        .map_err(|e| e.to_string())
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

    let (t, c) = (Instant::now(), cpu_s());
    let mut r = open(path)?;
    let (mut n, mut touch) = (0u64, 0u64);
    while let Some(p) = r.next_packet() {
        n += 1;
        touch = touch.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
    }
    let read_s = t.elapsed().as_secs_f64();
    let read_c = cpu_s() - c;
    std::hint::black_box(touch);

    let (t, c) = (Instant::now(), cpu_s());
    let mut r = open(path)?;
    let mut s = PacketSummary::default();
    let mut ok = 0u64;
    while let Some(p) = r.next_packet() {
        if netlens_wire::dissect(p.linktype, p.data, &mut s).is_ok() {
            ok += 1;
        }
    }
    let dissect_s = t.elapsed().as_secs_f64();
    let dissect_c = cpu_s() - c;
    println!("stage,threads,packets,wall_s,cpu_s,packets_per_wall_s,packets_per_cpu_s");
    println!(
        "read,1,{n},{read_s:.3},{read_c:.2},{:.0},{:.0}",
        n as f64 / read_s,
        n as f64 / read_c.max(0.01)
    );
    println!(
        "read+dissect,1,{n},{dissect_s:.3},{dissect_c:.2},{:.0},{:.0}",
        n as f64 / dissect_s,
        n as f64 / dissect_c.max(0.01)
    );
    for th in threads {
        let (t, c) = (Instant::now(), cpu_s());
        let mut r = open(path)?;
        let cfg = RunConfig {
            meter: MeterConfig::default(),
            threads: th,
            ..Default::default()
        };
        let mut flows = 0u64;
        let rep = run::<std::convert::Infallible>(
            &mut r,
            &cfg,
            &mut [],
            &mut |f| {
                flows += f.len() as u64;
                Ok(())
            },
            &mut |_| {},
        )
        .unwrap_or_else(|e| match e {});
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_s() - c;
        println!(
            "read+dissect+meter,{th},{},{secs:.3},{cpu:.2},{:.0},{:.0}   # {flows} flows, {ok} IP packets, peak {} active flows",
            rep.packets,
            rep.packets as f64 / secs,
            rep.packets as f64 / cpu.max(0.01),
            rep.meter.peak_active
        );
    }
    // (c) in process: meter and write the basic columns to Parquet (the
    // file is discarded): 1 thread, then 2 metering threads with the Parquet
    // encoder on a thread of its own.
    for (th, background) in [(1, false), (2, true)] {
        let (t, c) = (Instant::now(), cpu_s());
        let mut r = open(path)?;
        let sel = netlens_flow::Selection::parse("basic").map_err(|e| e.to_string())?;
        let mut w = netlens_export::open_writer_with(
            netlens_export::Format::Parquet,
            Box::new(std::io::sink()),
            &sel,
            netlens_export::WriterOptions {
                background,
                ..Default::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let cfg = RunConfig {
            threads: th,
            ..RunConfig::default()
        };
        let rep = run::<netlens_export::ExportError>(
            &mut r,
            &cfg,
            &mut [],
            &mut |f| w.write(f),
            &mut |_| {},
        )
        .map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_s() - c;
        println!(
            "read+dissect+meter+parquet,{th},{},{secs:.3},{cpu:.2},{:.0},{:.0}   # {} flows{}",
            rep.packets,
            rep.packets as f64 / secs,
            rep.packets as f64 / cpu.max(0.01),
            rep.flows,
            if background {
                ", Parquet encoder thread"
            } else {
                ""
            }
        );
    }
    per_flow_memory();
    Ok(())
}

/// Anonymous resident memory of this process, bytes (excludes the capture's
/// file-backed memory map, which the kernel can drop at any time).
fn rss_anon() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        * 1024
}

/// Memory per active flow: hold 1 M concurrent flows (basic features) in a
/// meter and divide the growth of anonymous memory by the flow count.
fn per_flow_memory() {
    use std::net::{IpAddr, Ipv4Addr};
    let n: u32 = 1_000_000;
    let before = rss_anon();
    let mut m = netlens_flow::FlowMeter::new(MeterConfig::default());
    let mut s = PacketSummary {
        ip_version: 4,
        protocol: 17,
        ports_known: true,
        ip_len: 60,
        ip_header_len: 20,
        l4_header_len: 8,
        ..Default::default()
    };
    for i in 0..n {
        let b = i.to_be_bytes();
        s.src_ip = IpAddr::V4(Ipv4Addr::new(10, b[1], b[2], b[3]));
        s.dst_ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        s.src_port = 40_000;
        s.dst_port = 53;
        m.process(1_000_000_000 + i64::from(i), 74, u64::from(i), &s);
    }
    let after = rss_anon();
    println!(
        "# memory: {} active flows, {:.0} bytes of anonymous memory per active flow (flow table incl. hash index and LRU links)",
        m.active_flows(),
        after.saturating_sub(before) as f64 / f64::from(n)
    );
}
