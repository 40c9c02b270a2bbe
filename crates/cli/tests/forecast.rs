//! Integration tests of `netlens forecast` on the real Cortez series and on
//! bad input.

use std::path::PathBuf;
use std::process::Command;

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn cortez() -> PathBuf {
    data_dir().join("timeseries/cortez-isp-traffic/internet-traffic-eu-transatlantic-hourly.csv")
}

fn netlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
}

#[test]
fn forecast_cortez_with_backtest_capacity_and_chart() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("f.csv");
    let chart = dir.path().join("f.svg");
    let o = netlens()
        .arg("forecast")
        .arg(cortez())
        .args([
            "--horizon",
            "24h",
            "--season",
            "24",
            "--backtest",
            "--unit",
            "bits",
        ])
        .args(["--capacity", "30Mbit/s", "--threshold", "80%"])
        .arg("-o")
        .arg(&out)
        .arg("--chart")
        .arg(&chart)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for m in [
        "naive",
        "seasonal-naive",
        "linear",
        "holt-winters-add",
        "holt-winters-mul",
        "<- chosen",
    ] {
        assert!(stdout.contains(m), "missing {m}: {stdout}");
    }
    // 80 % of 30 Mbit/s = 8.64e10 bits/hour; the link peaks near 1e11 bits/hour,
    // so the upper bound must cross within the day.
    assert!(
        stdout.contains("first exceeds 80 % of 30 Mbit/s on 2005-07-"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&out).expect("forecast csv");
    assert_eq!(csv.lines().count(), 25);
    assert!(csv.starts_with("timestamp,forecast,lower,upper\n2005-07-28T14:00:00Z,"));
    let svg = std::fs::read_to_string(&chart).expect("svg");
    assert!(svg.contains("<svg"));
}

#[test]
fn forecast_json_is_machine_readable() {
    let o = netlens()
        .arg("forecast")
        .arg(cortez())
        .args(["--horizon", "7d", "--format", "json", "--model", "linear"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["forecast"]["model"], "linear");
    assert_eq!(
        v["forecast"]["point"].as_array().map(|a| a.len()),
        Some(168)
    );
    assert_eq!(v["forecast"]["season"]["period"], 24);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "time,v\n2020-01-01 00:00:00,1\n2020-01-01 01:00:00,abc\n",
    )
    .expect("write");
    let o = netlens().arg("forecast").arg(&bad).output().expect("run");
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("line 3") && err.contains("not a number"),
        "{err}"
    );
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "time,v\n0,1\n").expect("write");
    let o = netlens().arg("forecast").arg(&short).output().expect("run");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("too short"));
    let o = netlens()
        .arg("forecast")
        .arg(cortez())
        .args(["--horizon", "5x"])
        .output()
        .expect("run");
    assert!(!o.status.success());
}

/// The commands chain through gzip-compressed tables: flows → series →
/// forecast, and a report from `flows.csv.gz` equals the one from `flows.csv`.
/// `series` writes a `top_talkers` text column, which `forecast` leaves out.
#[test]
fn flows_series_forecast_chain_through_gzip_tables() {
    let dir = tempfile::tempdir().expect("tmp");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let run = |args: &[&std::ffi::OsStr]| {
        let o = netlens().args(args).output().expect("run netlens");
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    let p = |name: &str| dir.path().join(name).into_os_string();
    let s = sample.as_os_str();
    run(&[
        "flows".as_ref(),
        s,
        "-q".as_ref(),
        "-o".as_ref(),
        &p("f.csv"),
    ]);
    run(&[
        "flows".as_ref(),
        s,
        "-q".as_ref(),
        "-o".as_ref(),
        &p("f.csv.gz"),
    ]);
    run(&[
        "series".as_ref(),
        &p("f.csv.gz"),
        "-q".as_ref(),
        "-o".as_ref(),
        &p("s.csv.gz"),
    ]);
    run(&[
        "series".as_ref(),
        &p("f.csv"),
        "-q".as_ref(),
        "-o".as_ref(),
        &p("s.csv"),
    ]);
    let plain = std::fs::read(dir.path().join("s.csv")).expect("s.csv");
    assert!(
        String::from_utf8_lossy(&plain)
            .lines()
            .next()
            .unwrap_or("")
            .contains("top_talkers")
    );
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(
            std::fs::File::open(dir.path().join("s.csv.gz")).expect("s.csv.gz"),
        ),
        &mut unzipped,
    )
    .expect("gzip");
    assert_eq!(
        unzipped, plain,
        "series from flows.csv.gz = series from flows.csv"
    );
    let o = run(&[
        "forecast".as_ref(),
        &p("s.csv.gz"),
        "--column".as_ref(),
        "bits_per_s".as_ref(),
        "--horizon".as_ref(),
        "5m".as_ref(),
        "--format".as_ref(),
        "json".as_ref(),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["column"], "bits_per_s");
    let o = run(&[
        "forecast".as_ref(),
        &p("s.csv"),
        "--horizon".as_ref(),
        "5m".as_ref(),
    ]);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Text columns left out: top_talkers"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    run(&[
        "report".as_ref(),
        &p("f.csv"),
        "-q".as_ref(),
        "-o".as_ref(),
        &p("r1"),
    ]);
    run(&[
        "report".as_ref(),
        &p("f.csv.gz"),
        "-q".as_ref(),
        "-o".as_ref(),
        &p("r2"),
    ]);
    let load = |d: &str| {
        let mut v: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(d).join("report.json")).expect("report.json"),
        )
        .expect("json");
        if let Some(m) = v.as_object_mut() {
            m.remove("inputs");
            m.remove("generated");
        }
        v
    };
    assert_eq!(load("r1"), load("r2"));
}

#[test]
fn forecast_reads_netlens_series_output_by_its_bit_rate() {
    let dir = tempfile::tempdir().expect("tmp");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let series = dir.path().join("s.csv");
    let o = netlens()
        .args([
            "series",
            sample.to_str().unwrap_or_default(),
            "-i",
            "10s",
            "-q",
            "-o",
        ])
        .arg(&series)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // `-o -`: the forecast CSV alone on stdout, the summary on stderr; the
    // column is bits_per_s (not the first column, packets) and no bound of
    // a never-negative series goes below zero.
    let o = netlens()
        .args([
            "forecast",
            series.to_str().unwrap_or_default(),
            "--horizon",
            "2m",
        ])
        .args(["--capacity", "1Gbit/s", "-o", "-"])
        .output()
        .expect("run");
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "{err}");
    assert!(err.contains("column 'bits_per_s'"), "{err}");
    assert!(!dir.path().join("-").exists() && !PathBuf::from("-").exists());
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some("timestamp,forecast,lower,upper"),
        "{out}"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 12, "{out}");
    assert!(
        rows.iter()
            .all(|r| r.len() == 3 && r.iter().all(|x| *x >= 0.0)),
        "{out}"
    );
}

#[test]
fn captures_and_headerless_tables_get_a_hint_not_a_parse_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let o = netlens()
        .arg("forecast")
        .arg(&sample)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("is a capture") && err.contains("netlens series"),
        "{err}"
    );
    let headerless = dir.path().join("web.csv");
    std::fs::write(&headerless, "0,0.38\n1,0.35\n2,0.31\n").expect("write");
    let o = netlens()
        .arg("forecast")
        .arg(&headerless)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(err.contains("not column names"), "{err}");
}

#[test]
fn report_converts_a_counter_series_with_unit() {
    // Cortez: bits per hour. As bits per interval the mean is ~12.7 Mbit/s;
    // read as bit/s it would be ~45.7 Gbit/s.
    let dir = tempfile::tempdir().expect("tmp");
    let rep = dir.path().join("r");
    let o = netlens()
        .arg("report")
        .arg(cortez())
        .args(["--unit", "bits", "-q", "-o"])
        .arg(&rep)
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rep.join("report.json")).unwrap_or_default())
            .expect("json");
    let mean = v["totals"]["mean_bits_per_s"].as_f64().unwrap_or(0.0);
    assert!((10e6..16e6).contains(&mean), "{mean}");
    assert_eq!(v["throughput"]["unit"], "bit/s");
}
