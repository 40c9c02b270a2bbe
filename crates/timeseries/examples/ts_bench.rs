//! Benchmarks and real-data checks for netlens-timeseries; prints the
//! numbers recorded in bench/timeseries/RESULTS.md.
//!
//! Run: `cargo run --release -p netlens-timeseries --example ts_bench`
//! (data from ../shared/data or NETLENS_SHARED_DATA).

use std::path::PathBuf;
use std::time::Instant;

use netlens_timeseries::forecast::{ForecastOptions, ModelChoice, SeasonChoice, forecast};
use netlens_timeseries::{ReadOptions, read_series_csv};

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[path = "../../../bench/common/cpu.rs"]
mod cpu;
use cpu::cpu_s;

fn print_scores(r: &netlens_timeseries::forecast::ForecastResult) {
    println!("| model | MAE | RMSE | MAPE % | sMAPE % | MASE |\n|---|---|---|---|---|---|");
    for s in &r.backtest {
        println!(
            "| {}{} | {:.4e} | {:.4e} | {:.2} | {:.2} | {:.3} |",
            s.model.name(),
            if s.model == r.model { " (chosen)" } else { "" },
            s.mae,
            s.rmse,
            s.mape,
            s.smape,
            s.mase
        );
    }
    println!(
        "origins {}, backtest horizon {}, season {:?} (candidates {:?})\n",
        r.backtest.first().map_or(0, |s| s.origins),
        r.backtest_horizon,
        r.season.period,
        r.season
            .candidates
            .iter()
            .map(|c| (c.period, (c.acf * 1000.0).round() / 1000.0))
            .collect::<Vec<_>>()
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = data_dir().join("timeseries");
    let path = dir.join("cortez-isp-traffic/internet-traffic-eu-transatlantic-hourly.csv");
    let (s, rep) = read_series_csv(&path, &ReadOptions::default())?;
    let col = s.pick(None)?;
    println!(
        "## Cortez ISP transatlantic (hourly, {} points; read report {:?})\n",
        s.len(),
        rep
    );
    for (label, season) in [
        ("season 24 h", SeasonChoice::Fixed(24)),
        ("season auto", SeasonChoice::Auto),
    ] {
        let opts = ForecastOptions {
            horizon: 24,
            season,
            model: ModelChoice::Auto,
            origins: 20,
            ..Default::default()
        };
        let (t, c) = (Instant::now(), cpu_s());
        let r = forecast(&col.values, s.start, s.interval, &opts)?;
        println!(
            "### {label}: rolling origin, 20 origins, horizon 24 h ({:.1} ms wall, {:.2} CPU s)\n",
            t.elapsed().as_secs_f64() * 1e3,
            cpu_s() - c
        );
        print_scores(&r);
    }

    // A year of hourly data: daily + weekly cycles, trend, noise.
    let n = 8760;
    let mut st = 99u64;
    let y: Vec<f64> = (0..n)
        .map(|i| {
            st = st
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = (st >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            let h = (i % 24) as f64;
            let dow = (i / 24) % 7;
            let week = if dow >= 5 { 0.7 } else { 1.0 };
            (5e8 + 2e4 * i as f64)
                * week
                * (1.0 + 0.5 * (std::f64::consts::TAU * (h - 6.0) / 24.0).sin())
                * (1.0 + 0.1 * u)
        })
        .collect();
    let opts = ForecastOptions {
        horizon: 24,
        ..Default::default()
    };
    let (t, c) = (Instant::now(), cpu_s());
    let r = forecast(&y, 1_600_000_000 - 1_600_000_000 % 3600, 3600, &opts)?;
    let el = t.elapsed();
    let cpu = cpu_s() - c;
    println!(
        "## Synthetic year, 8,760 hourly points: auto model + 10-origin backtest in {:.3} s wall, {cpu:.2} CPU s\n",
        el.as_secs_f64()
    );
    print_scores(&r);
    nab(&dir)?;
    Ok(())
}

fn f1(e: &netlens_timeseries::anomaly::WindowEval) -> f64 {
    let (p, r) = (e.precision(), e.recall());
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// NAB AWS CloudWatch series: window-level precision/recall/F1 of several
/// detector settings, all with the same parameters for every series (no
/// per-series tuning). Windows and the probation are NAB's.
fn nab(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    use netlens_timeseries::anomaly::{
        AnomalyOptions, WindowEval, detect_with_info, evaluate_windows, nab_windows,
    };
    let nab = dir.join("nab-aws-cloudwatch");
    let json = std::fs::read_to_string(nab.join("combined_windows.json"))?;
    let files = [
        "ec2_network_in_257a54.csv",
        "ec2_network_in_5abac7.csv",
        "elb_request_count_8c0756.csv",
        "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv",
    ];
    let threshold: f64 = std::env::var("NL_THRESHOLD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8.0);
    let base = AnomalyOptions {
        threshold,
        ..AnomalyOptions::default()
    };
    let plain = AnomalyOptions {
        threshold,
        ..AnomalyOptions::plain()
    };
    // (label, options, seasonal 1-day baseline)
    let variants: Vec<(&str, AnomalyOptions, bool)> = vec![
        ("old: plain threshold", plain, false),
        ("old: plain threshold, seasonal baseline", plain, true),
        (
            "probation only",
            AnomalyOptions {
                novelty: false,
                ..base
            },
            false,
        ),
        (
            "novelty only",
            AnomalyOptions {
                probation: 0.0,
                ..base
            },
            false,
        ),
        ("**new default: probation + novelty**", base, false),
        (
            "new default, merge gap 288 (1 day)",
            AnomalyOptions {
                merge_gap: 288,
                ..base
            },
            false,
        ),
        ("new default, seasonal baseline", base, true),
        (
            "new default, window 96 (8 h; shorter warm-up)",
            AnomalyOptions { window: 96, ..base },
            false,
        ),
    ];
    let mut series = Vec::new();
    for f in files {
        let (s, _) = read_series_csv(&nab.join(f), &ReadOptions::default())?;
        let w = nab_windows(&json, &format!("realAWSCloudwatch/{f}"))?;
        series.push((f, s, w));
    }
    let mut per_series: Vec<Vec<(WindowEval, f64, usize)>> = Vec::new();
    let mut totals = Vec::new();
    for (_, o, seasonal) in &variants {
        let mut tot = WindowEval::default();
        let mut rows = Vec::new();
        for (_, s, w) in &series {
            let season = seasonal.then(|| (86400 / s.interval.max(1)) as usize);
            let o = AnomalyOptions { season, ..*o };
            let d = detect_with_info(&s.pick(None)?.values, &o)?;
            let peaks: Vec<i64> = d.events.iter().map(|e| s.time(e.peak)).collect();
            let r = evaluate_windows(&peaks, w);
            tot.windows += r.windows;
            tot.detected += r.detected;
            tot.events += r.events;
            tot.false_positives += r.false_positives;
            rows.push((r, d.threshold, d.first_alert));
        }
        per_series.push(rows);
        totals.push(tot);
    }
    println!(
        "## NAB AWS CloudWatch: series anomaly detection, window level (threshold {threshold}, window 288 unless said, same parameters for every series)\n"
    );
    println!(
        "| detector | windows | detected | events | false positives | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|"
    );
    for ((label, _, _), t) in variants.iter().zip(&totals) {
        println!(
            "| {label} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
            t.windows,
            t.detected,
            t.events,
            t.false_positives,
            t.precision(),
            t.recall(),
            f1(t)
        );
    }
    for (k, (label, _, _)) in variants.iter().enumerate() {
        if k != 0 && k != 4 {
            continue;
        }
        println!("\n### Per series: {label}\n");
        println!(
            "| series | points | first alert | threshold used | windows | detected | events | false positives | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for ((f, s, _), (r, thr, first)) in series.iter().zip(&per_series[k]) {
            println!(
                "| {f} | {} | {first} | {thr:.1} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} |",
                s.len(),
                r.windows,
                r.detected,
                r.events,
                r.false_positives,
                r.precision(),
                r.recall(),
                f1(r)
            );
        }
    }
    println!();
    Ok(())
}
