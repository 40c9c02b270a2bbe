//! Measure the Parquet export alone, on real flows held in memory.
//!
//! ```text
//! parquet_bench CAPTURE [MAX_FLOWS (default 1000000)] [FEATURES (default basic)]
//! ```
//! Meters the capture once (flows kept in memory, up to MAX_FLOWS), then
//! times, per flow and per CPU-second: building the Arrow batches alone, and
//! writing Parquet (to memory) under several writer settings, with the
//! output size. Used to choose the defaults in `ParquetOptions`. With
//! `PARQUET_BENCH_OUT=PATH` the flows are also written there with the
//! default settings; with `PARQUET_BENCH_COLUMNS=1` the time spent reading
//! each column's values (`Column::values`) is printed first, costliest first;
//! with `PARQUET_BENCH_ARROW_ONLY=1` only batch building is timed (five more
//! times, 16 Ki rows a batch with buffers recycled as the writer does), to
//! profile it.

use std::process::ExitCode;
use std::time::Instant;

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_export::{BatchBuilder, Compression, EnabledStatistics, ParquetOptions};
use netlens_flow::{Flow, FlowMeter, MeterConfig, Selection};
use netlens_wire::PacketSummary;

#[path = "../../../bench/common/cpu.rs"]
mod cpu;
use cpu::cpu_s;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!("usage: parquet_bench CAPTURE [MAX_FLOWS] [FEATURES]");
        return ExitCode::FAILURE;
    };
    let max: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let spec = args.get(2).map(String::as_str).unwrap_or("basic");
    match run(path, max, spec) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parquet_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn meter(path: &str, max: usize, sel: &Selection) -> Result<Vec<Flow>, String> {
    let mut r = CaptureReader::open(&[Input::from_arg(path)], &ReadOptions::default())
        .map_err(|e| e.to_string())?;
    let cfg = MeterConfig {
        statistics: sel.needs_statistics(),
        app: sel.needs_app(),
        cic: sel.needs_cic(),
        ..MeterConfig::default()
    };
    let mut m = FlowMeter::new(cfg);
    let mut s = PacketSummary::default();
    let mut flows = Vec::new();
    let mut index = 0u64;
    while let Some(p) = r.next_packet() {
        s.clear();
        if netlens_wire::dissect(p.linktype, p.data, &mut s).is_ok() {
            m.process_with_payload(p.ts_ns, p.wire_len, index, &s, s.payload(p.data));
        }
        index += 1;
        if index.is_multiple_of(8192) {
            m.drain(&mut flows);
            if flows.len() >= max {
                break;
            }
        }
    }
    m.finish();
    m.drain(&mut flows);
    flows.truncate(max);
    for (i, f) in flows.iter_mut().enumerate() {
        f.id = i as u64;
    }
    Ok(flows)
}

/// A `Write` into a shared byte counter (the file is not kept).
struct Count(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl std::io::Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .fetch_add(b.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn run(path: &str, max: usize, spec: &str) -> Result<(), String> {
    let sel = Selection::parse(spec).map_err(|e| e.to_string())?;
    let flows = meter(path, max, &sel)?;
    let n = flows.len() as f64;
    println!("# {} flows, {} columns ({spec})", flows.len(), sel.len());
    if std::env::var_os("PARQUET_BENCH_COLUMNS").is_some() {
        let cols: Vec<_> = sel.columns().collect();
        let mut ns = vec![0u128; cols.len()];
        let mut vals = Vec::new();
        for chunk in flows.chunks(1024) {
            for (i, c) in cols.iter().enumerate() {
                let t = Instant::now();
                c.values(chunk, &mut vals);
                std::hint::black_box(&vals);
                ns[i] += t.elapsed().as_nanos();
            }
        }
        let total: u128 = ns.iter().sum();
        println!("# reading values: {:.0} ns per flow", total as f64 / n);
        let mut order: Vec<usize> = (0..cols.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ns[i]));
        for &i in order.iter().take(12) {
            println!("#   {:>6.1} ns  {}", ns[i] as f64 / n, cols[i].name);
        }
    }
    println!("variant,cpu_s,wall_s,ns_per_flow,flows_per_cpu_s,bytes");

    // Batch building alone, in the chunks the pipeline hands over.
    let (t, c) = (Instant::now(), cpu_s());
    let mut bb = BatchBuilder::new(&sel, 65_536);
    let mut rows = 0usize;
    for chunk in flows.chunks(2_700) {
        bb.append_flows(chunk);
        if bb.len() >= 65_536 {
            rows += bb.finish().map_err(|e| e.to_string())?.num_rows();
        }
    }
    rows += bb.finish().map_err(|e| e.to_string())?.num_rows();
    report("arrow-batches-only", t, c, n, 0);
    if rows != flows.len() {
        return Err(format!("{rows} rows for {} flows", flows.len()));
    }
    if std::env::var_os("PARQUET_BENCH_ARROW_ONLY").is_some() {
        // Batch building again, 5 times, and no Parquet: for profiling it.
        for _ in 0..5 {
            let (t, c) = (Instant::now(), cpu_s());
            for chunk in flows.chunks(2_700) {
                bb.append_flows(chunk);
                if bb.len() >= 16_384 {
                    let b = bb.finish().map_err(|e| e.to_string())?;
                    bb.recycle(b);
                }
            }
            let b = bb.finish().map_err(|e| e.to_string())?;
            bb.recycle(b);
            report("arrow-batches-recycled", t, c, n, 0);
        }
        return Ok(());
    }

    let base = ParquetOptions::default();
    let variants: Vec<(&str, ParquetOptions)> = vec![
        ("default", base.clone()),
        (
            "uncompressed",
            ParquetOptions {
                compression: Compression::UNCOMPRESSED,
                ..base.clone()
            },
        ),
        (
            "zstd1",
            ParquetOptions {
                compression: Compression::ZSTD(Default::default()),
                ..base.clone()
            },
        ),
        (
            "text-stats",
            ParquetOptions {
                text_statistics: true,
                ..base.clone()
            },
        ),
        (
            "plain-integers",
            ParquetOptions {
                delta_integers: false,
                ..base.clone()
            },
        ),
        (
            "chunk-stats",
            ParquetOptions {
                statistics: EnabledStatistics::Chunk,
                ..base.clone()
            },
        ),
        (
            "no-dictionary",
            ParquetOptions {
                dictionary: false,
                ..base.clone()
            },
        ),
        (
            "background",
            ParquetOptions {
                background: true,
                ..base.clone()
            },
        ),
    ];
    for (name, opts) in variants {
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (t, c) = (Instant::now(), cpu_s());
        let mut w = netlens_export::open_parquet(Box::new(Count(bytes.clone())), &sel, opts)
            .map_err(|e| e.to_string())?;
        for chunk in flows.chunks(2_700) {
            w.write(chunk).map_err(|e| e.to_string())?;
        }
        w.finish().map_err(|e| e.to_string())?;
        report(
            name,
            t,
            c,
            n,
            bytes.load(std::sync::atomic::Ordering::Relaxed),
        );
    }
    // With PARQUET_BENCH_OUT set, also keep a default-settings file there
    // (to check that other tools read it).
    if let Some(p) = std::env::var_os("PARQUET_BENCH_OUT") {
        let f = std::fs::File::create(&p).map_err(|e| e.to_string())?;
        let mut w = netlens_export::open_parquet(
            Box::new(std::io::BufWriter::new(f)),
            &sel,
            ParquetOptions::default(),
        )
        .map_err(|e| e.to_string())?;
        w.write(&flows).map_err(|e| e.to_string())?;
        w.finish().map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn report(name: &str, t: Instant, c: f64, n: f64, bytes: u64) {
    let wall = t.elapsed().as_secs_f64();
    let cpu = (cpu_s() - c).max(0.01);
    println!(
        "{name},{cpu:.2},{wall:.3},{:.0},{:.0},{bytes}",
        cpu * 1e9 / n,
        n / cpu
    );
}
