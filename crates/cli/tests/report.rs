//! Integration tests of `netlens series` and `netlens report` on the
//! bundled sample and real captures from ../shared/data, and on bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap")
}

fn netlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
}

fn run_ok(cmd: &mut Command) -> String {
    let o = cmd.output().expect("run netlens");
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `netlens stats --format json` totals (packets, bytes).
fn stats(path: &Path) -> (u64, u64) {
    let out = run_ok(
        netlens()
            .arg("stats")
            .arg(path)
            .args(["--format", "json", "-q"]),
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("stats json");
    (
        v["packets"].as_u64().expect("packets"),
        v["bytes"].as_u64().expect("bytes"),
    )
}

/// Packets and wire bytes per epoch-aligned interval, counted directly.
fn direct_counts(path: &Path, interval_s: i64) -> BTreeMap<i64, (u64, u64)> {
    let mut r = netlens_capture::CaptureReader::open(
        &[netlens_capture::Input::from_arg(
            path.to_str().expect("utf8 path"),
        )],
        &netlens_capture::ReadOptions { sort_by_time: true },
    )
    .expect("open capture");
    let mut m: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    while let Some(p) = r.next_packet() {
        let k = p.ts_ns.div_euclid(interval_s * 1_000_000_000) * interval_s;
        let e = m.entry(k).or_default();
        e.0 += 1;
        e.1 += u64::from(p.wire_len);
    }
    m
}

/// Series CSV rows as (unix start, packets, bytes).
fn series_rows(csv_text: &str) -> Vec<(i64, u64, u64)> {
    // No cell of these columns contains a comma or a quote.
    let mut lines = csv_text.lines();
    let h: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |n: &str| {
        h.iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("column {n}"))
    };
    let (t, p, b) = (col("timestamp"), col("packets"), col("bytes"));
    lines
        .map(|l| {
            let r: Vec<&str> = l.split(',').collect();
            let ts = chrono_parse(r[t]);
            (
                ts,
                r[p].parse::<f64>().expect("p") as u64,
                r[b].parse::<f64>().expect("b") as u64,
            )
        })
        .collect()
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` to Unix seconds (days-from-civil).
fn chrono_parse(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().expect("num");
    let (y, mo, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (h, mi, se) = (n(11, 13), n(14, 16), n(17, 19));
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    days * 86400 + h * 3600 + mi * 60 + se
}

fn check_series_against_capture(path: &Path, interval: &str, interval_s: i64) {
    let out = run_ok(
        netlens()
            .arg("series")
            .arg(path)
            .args(["--interval", interval, "-q"]),
    );
    let rows = series_rows(&out);
    let (sp, sb) = stats(path);
    assert_eq!(
        rows.iter().map(|r| r.1).sum::<u64>(),
        sp,
        "packets vs stats"
    );
    assert_eq!(rows.iter().map(|r| r.2).sum::<u64>(), sb, "bytes vs stats");
    let direct = direct_counts(path, interval_s);
    let nonempty: BTreeMap<i64, (u64, u64)> = rows
        .iter()
        .filter(|r| r.1 > 0)
        .map(|r| (r.0, (r.1, r.2)))
        .collect();
    assert_eq!(
        nonempty, direct,
        "per-interval counts differ from a direct count"
    );
    assert!(rows.windows(2).all(|w| w[1].0 - w[0].0 == interval_s));
}

#[test]
fn series_on_sample_matches_stats_and_direct_count() {
    check_series_against_capture(&sample(), "1m", 60);
    // Columns the issue asks for are present, with flows and SYN-only counts.
    let out = run_ok(
        netlens()
            .arg("series")
            .arg(sample())
            .args(["--interval", "1m", "-q"]),
    );
    let header = out.lines().next().expect("header");
    for c in [
        "bits_per_s",
        "mean_packet_size",
        "new_flows",
        "active_flows",
        "new_tcp_flows",
        "syn_only_flows",
        "src_hosts",
        "dst_hosts",
        "tcp_bytes",
        "udp_bytes",
        "top_talkers",
    ] {
        assert!(header.split(',').any(|h| h == c), "missing {c}: {header}");
    }
    assert!(header.contains("app:dns"), "{header}");
    let i = header
        .split(',')
        .position(|x| x == "syn_only_flows")
        .expect("col");
    let syn_only: f64 = out
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(i)
                .expect("cell")
                .parse::<f64>()
                .expect("f")
        })
        .sum();
    assert!(
        syn_only > 10.0,
        "the sample's SYN flood/port scan gives unanswered SYNs: {syn_only}"
    );
}

#[test]
fn series_on_real_captures_matches_direct_count() {
    let d = data_dir();
    check_series_against_capture(&d.join("pcap/ndpi/netflix.pcap"), "10s", 10);
    // Non-IP frames (ARP poisoning) are counted too.
    check_series_against_capture(
        &d.join("labeled/attack-pcap/chrissanders/arppoison.pcapng"),
        "5s",
        5,
    );
}

#[test]
fn series_formats_and_flow_table_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let pq = dir.path().join("s.parquet");
    run_ok(
        netlens()
            .arg("series")
            .arg(sample())
            .args(["--interval", "30s", "-q", "-o"])
            .arg(&pq),
    );
    let bytes = std::fs::read(&pq).expect("parquet");
    assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"));
    let json = run_ok(netlens().arg("series").arg(sample()).args([
        "--interval",
        "1m",
        "--format",
        "json",
        "-q",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["rows"].as_array().map(|r| r.len()), Some(10));
    // Flow table in: totals equal the capture's.
    let flows = dir.path().join("f.csv");
    run_ok(
        netlens()
            .arg("flows")
            .arg(sample())
            .args(["-q", "-o"])
            .arg(&flows),
    );
    let out = run_ok(
        netlens()
            .arg("series")
            .arg(&flows)
            .args(["--interval", "1m", "-q"]),
    );
    let rows = series_rows(&out);
    let cap = series_rows(&run_ok(netlens().arg("series").arg(sample()).args([
        "--interval",
        "1m",
        "-q",
    ])));
    let ip_bytes: u64 = rows.iter().map(|r| r.2).sum();
    let (_, all_bytes) = stats(&sample());
    assert!(
        ip_bytes <= all_bytes && ip_bytes * 100 >= all_bytes * 99,
        "{ip_bytes} vs {all_bytes}"
    );
    assert_eq!(rows.len(), cap.len());
    // netlens's own series re-binned to 5 minutes keeps its totals: counts
    // are summed, not averaged.
    let one_min = dir.path().join("1m.csv");
    std::fs::write(
        &one_min,
        run_ok(netlens().arg("series").arg(sample()).args(["-q"])),
    )
    .expect("w");
    let coarse = series_rows(&run_ok(netlens().arg("series").arg(&one_min).args([
        "--interval",
        "5m",
        "-q",
    ])));
    let sum = |r: &[(i64, u64, u64)]| r.iter().fold((0, 0), |a, x| (a.0 + x.1, a.1 + x.2));
    assert_eq!(coarse.len(), cap.len().div_ceil(5));
    assert_eq!(sum(&coarse), sum(&cap));
    // A series CSV is re-binned by mean.
    let s = d_series();
    let out = run_ok(
        netlens()
            .arg("series")
            .arg(&s)
            .args(["--interval", "1d", "-q"]),
    );
    assert!(out.lines().count() > 30, "{out}");
}

fn d_series() -> PathBuf {
    data_dir().join("timeseries/cortez-isp-traffic/internet-traffic-eu-transatlantic-hourly.csv")
}

#[test]
fn report_on_sample_has_page_charts_and_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("rep");
    run_ok(
        netlens()
            .arg("report")
            .arg(sample())
            .arg("-q")
            .arg("-o")
            .arg(&out),
    );
    for f in [
        "index.html",
        "report.json",
        "throughput.svg",
        "throughput.png",
        "protocols.png",
        "applications.svg",
        "packet_sizes.png",
        "flow_durations.svg",
    ] {
        let p = out.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 200).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json"))
            .expect("parse");
    let (p, b) = stats(&sample());
    assert_eq!(v["totals"]["packets"].as_u64(), Some(p));
    assert_eq!(v["totals"]["bytes"].as_u64(), Some(b));
    let tp: f64 = v["throughput"]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(|x| x.as_f64())
        .sum();
    let iv = v["throughput"]["interval_s"].as_f64().expect("iv");
    assert!(
        (tp * iv / 8.0 - b as f64).abs() < 1.0,
        "throughput integrates to the bytes"
    );
    assert!(v["tcp"]["unanswered_syn_flows"].as_u64().unwrap_or(0) > 10);
    // Ten minutes: a short-term forecast without season, and no capacity
    // check unless --capacity is given.
    assert_eq!(v["forecast"]["available"].as_bool(), Some(true));
    assert_eq!(v["forecast"]["season_points"], serde_json::Value::Null);
    assert!(v["forecast"]["capacity"].is_null());
    assert!(v["alerts"].as_array().is_some_and(|a| a.is_empty()));
    let html = std::fs::read_to_string(out.join("index.html")).expect("html");
    assert!(
        html.contains("short-term and without season"),
        "forecast section must say what kind of forecast it is"
    );
    assert!(html.contains("<img src=\"throughput.svg\""));
    let talker = v["top_talkers"][0]["host"].as_str().expect("talker");
    assert!(html.contains(talker));
}

#[test]
fn report_on_series_forecasts() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("rep");
    run_ok(
        netlens()
            .arg("report")
            .arg(d_series())
            .arg("-q")
            .arg("-o")
            .arg(&out),
    );
    assert!(out.join("forecast.svg").exists() && out.join("forecast.png").exists());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).expect("json"))
            .expect("parse");
    assert_eq!(v["forecast"]["available"].as_bool(), Some(true));
    assert_eq!(v["forecast"]["point"].as_array().map(|a| a.len()), Some(24));
}

#[test]
fn bad_and_hostile_input() {
    let dir = tempfile::tempdir().expect("tmp");
    // Not a capture (binary garbage).
    let junk = dir.path().join("junk.bin");
    std::fs::write(&junk, [0u8, 1, 2, 3, 250, 251, 252, 0, 9, 9, 9, 9]).expect("write");
    let o = netlens().arg("series").arg(&junk).output().expect("run");
    assert!(!o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("error"));
    // Text that is neither a flow table nor a series.
    let txt = dir.path().join("notes.csv");
    std::fs::write(&txt, "hello,world\nfoo,bar\n").expect("write");
    let o = netlens()
        .arg("report")
        .arg(&txt)
        .arg("-o")
        .arg(dir.path().join("r1"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("error"));
    // An empty capture: series refuses clearly, report says so.
    let empty = dir.path().join("empty.pcap");
    let mut hdr = vec![0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    hdr.extend([0u8; 8]);
    hdr.extend([0xff, 0xff, 0, 0, 1, 0, 0, 0]);
    std::fs::write(&empty, &hdr).expect("write");
    let o = netlens().arg("series").arg(&empty).output().expect("run");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no packets"));
    let r = dir.path().join("r2");
    run_ok(
        netlens()
            .arg("report")
            .arg(&empty)
            .arg("-q")
            .arg("-o")
            .arg(&r),
    );
    let html = std::fs::read_to_string(r.join("index.html")).expect("html");
    assert!(html.contains("no packets"));
    // Timestamps 4 years apart (real capture): the series refuses with a
    // clear limit error at 1 s, the report still renders.
    let sites = data_dir().join("pcap/ndpi/sites.pcapng");
    let o = netlens()
        .arg("series")
        .arg(&sites)
        .args(["--interval", "1s"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("interval"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    run_ok(
        netlens()
            .arg("report")
            .arg(&sites)
            .arg("-q")
            .arg("-o")
            .arg(dir.path().join("r3")),
    );
}

#[test]
fn series_keeps_an_earlier_output_when_it_fails_and_warns_even_when_quiet() {
    let dir = tempfile::tempdir().expect("tmp");
    let keep = dir.path().join("keep.csv");
    std::fs::write(&keep, "timestamp,packets\n").expect("write");
    // Not a capture: the run fails before anything is written.
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, "hello, not a capture").expect("write");
    let o = netlens()
        .args(["series", junk.to_str().unwrap_or_default(), "-o"])
        .arg(&keep)
        .output()
        .expect("run");
    assert!(!o.status.success());
    // Named as a capture, it gets the capture reader's error.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not a capture file"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&keep).unwrap_or_default(),
        "timestamp,packets\n",
        "a failed run must not truncate the output"
    );
    // A truncated capture: the warning (with the byte offset) is printed
    // with -q too, which only silences progress.
    let bytes = std::fs::read(sample()).expect("sample");
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, bytes.get(..100_000).unwrap_or(&bytes)).expect("write");
    for cmd in ["series", "stats"] {
        let o = netlens()
            .args([cmd, cut.to_str().unwrap_or_default(), "-q", "-o"])
            .arg(dir.path().join(format!("{cmd}.out")))
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{cmd}: {err}");
        assert!(
            err.contains("truncated") && err.contains("byte offset"),
            "{cmd}: {err}"
        );
    }
    // JSON Lines is not a series format: refused, not written as CSV.
    let o = netlens()
        .args(["series", sample().to_str().unwrap_or_default(), "-o"])
        .arg(dir.path().join("s.jsonl"))
        .output()
        .expect("run");
    assert!(!o.status.success());
    // `stats -o x.json.gz` is JSON, gzip-compressed.
    let gz = dir.path().join("st.json.gz");
    run_ok(
        netlens()
            .args(["stats", sample().to_str().unwrap_or_default(), "-q", "-o"])
            .arg(&gz),
    );
    let mut text = String::new();
    use std::io::Read as _;
    flate2::read::GzDecoder::new(std::fs::File::open(&gz).expect("open"))
        .read_to_string(&mut text)
        .expect("gunzip");
    let v: serde_json::Value = serde_json::from_str(&text).expect("stats JSON");
    assert_eq!(v["packets"], 6953);
}

#[test]
fn syn_flood_service_port_is_its_target() {
    let cap = data_dir().join("labeled/attack-pcap/stopddos/pkt.TCP.synflood.spoofed.pcap");
    assert!(cap.is_file(), "missing {}", cap.display());
    let out = run_ok(netlens().args([
        "stats",
        cap.to_str().unwrap_or_default(),
        "--format",
        "json",
        "-q",
    ]));
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ports = v["top_ports"].as_array().cloned().unwrap_or_default();
    let first = ports.first().cloned().unwrap_or_default();
    assert_eq!(first["port"], 25565, "{ports:?}");
    assert_eq!(
        first["packets"], v["packets"],
        "every SYN goes to port 25565: {ports:?}"
    );
}
