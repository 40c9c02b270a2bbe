//! Integration tests of the packet-side commands (`flows`, `stats`,
//! `features`, `synth`) against the real binary, on the bundled sample and
//! on every file of `../shared/data`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netlens"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/data"))
}

fn sample() -> PathBuf {
    repo().join("data/sample/sample.pcap")
}

fn netlens(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run netlens: {e}"))
}

/// Run with a time limit; `None` when it had to be killed (a hang).
fn netlens_timed(args: &[&std::ffi::OsStr], limit: Duration) -> Option<Output> {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run netlens: {e}"));
    let start = Instant::now();
    // Drain pipes on threads so a large output cannot block the child.
    let (Some(mut so), Some(mut se)) = (child.stdout.take(), child.stderr.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let stdout = t_out.join().unwrap_or_default();
                let stderr = t_err.join().unwrap_or_default();
                return Some(Output {
                    status,
                    stdout,
                    stderr,
                });
            }
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(_) => return None,
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn is_capture_magic(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut m = [0u8; 4];
    if std::io::Read::read_exact(&mut f, &mut m).is_err() {
        return false;
    }
    matches!(
        m,
        [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d]
            | [0x34, 0xcd, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xcd, 0x34]
            | [0x0a, 0x0d, 0x0d, 0x0a]
    ) || m[..2] == [0x1f, 0x8b]
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn flows_runs_on_every_shared_file_without_panic_or_hang() {
    let mut files = Vec::new();
    for sub in ["pcap", "pcap-expected", "labeled"] {
        walk(&data_dir().join(sub), &mut files);
    }
    assert!(
        files.len() > 1500,
        "shared data not found under {}",
        data_dir().display()
    );
    let (mut captures, mut rejected, mut flows_total) = (0, 0, 0usize);
    let mut failures = Vec::new();
    for f in &files {
        let args = [
            f.as_os_str(),
            "--features".as_ref(),
            "all".as_ref(),
            "--splt".as_ref(),
            "5".as_ref(),
            "-q".as_ref(),
        ];
        let mut full: Vec<&std::ffi::OsStr> = vec!["flows".as_ref()];
        full.extend_from_slice(&args);
        let Some(out) = netlens_timed(&full, Duration::from_secs(60)) else {
            failures.push(format!("{}: hang (killed after 60 s)", f.display()));
            continue;
        };
        let err = text(&out.stderr);
        if err.contains("panicked") {
            failures.push(format!("{}: panic: {err}", f.display()));
            continue;
        }
        if is_capture_magic(f) {
            captures += 1;
            if !out.status.success() {
                failures.push(format!(
                    "{}: exit {:?}: {err}",
                    f.display(),
                    out.status.code()
                ));
            }
            flows_total += text(&out.stdout).lines().count().saturating_sub(1);
        } else {
            rejected += 1;
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if out.status.success() || !err.contains(name) || err.lines().count() != 1 {
                failures.push(format!(
                    "{}: non-capture not rejected with a one-line error naming it: {err}",
                    f.display()
                ));
            }
        }
    }
    println!(
        "flows over shared data: {captures} captures read ({flows_total} flows), {rejected} non-capture files rejected"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(captures > 1000);
}

#[test]
fn sample_flows_in_all_formats_agree() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = sample();
    let s = s.to_str().unwrap_or_default();
    let csv = dir.path().join("f.csv");
    let jsonl = dir.path().join("f.jsonl");
    let pq = dir.path().join("f.parquet");
    for p in [&csv, &jsonl, &pq] {
        let out = netlens(&[
            "flows",
            s,
            "--features",
            "all",
            "--splt",
            "4",
            "-q",
            "-o",
            p.to_str().unwrap_or_default(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let csv_text = std::fs::read_to_string(&csv).unwrap_or_default();
    let header: Vec<&str> = csv_text
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .collect();
    assert_eq!(header[0], "id");
    assert!(header.contains(&"bidirectional_stddev_piat_ms") && header.contains(&"splt_ps"));
    let rows = csv_text.lines().count() - 1;
    let json_lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect();
    assert_eq!(json_lines.len(), rows);
    assert!(
        rows > 1000,
        "sample should have thousands of flows, got {rows}"
    );
    let pq_bytes = std::fs::read(&pq).unwrap_or_default();
    assert_eq!(&pq_bytes[..4], b"PAR1");
    assert_eq!(&pq_bytes[pq_bytes.len() - 4..], b"PAR1");
    // Packets add up to what stats counts.
    let packets: u64 = json_lines
        .iter()
        .filter_map(|v| v["bidirectional_packets"].as_u64())
        .sum();
    let st = netlens(&["stats", s, "--format", "json", "-q"]);
    let st: serde_json::Value = serde_json::from_slice(&st.stdout).unwrap_or_default();
    assert_eq!(Some(packets), st["ip_packets"].as_u64());
    assert_eq!(st["packets"].as_u64(), Some(6953));
}

#[test]
fn gz_outputs_and_parquet_codecs_read_back_the_same() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = sample();
    let s = s.to_str().unwrap_or_default();
    let flows = |out: &Path, extra: &[&str]| {
        let mut args = vec!["flows", s, "-q", "-o", out.to_str().unwrap_or_default()];
        args.extend_from_slice(extra);
        netlens(&args)
    };
    let gunzip = |p: &Path| {
        let raw = std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(
            raw.get(..2),
            Some(&[0x1f, 0x8b][..]),
            "{} is gzip",
            p.display()
        );
        let mut v = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut v)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        v
    };
    // Text tables: `x.csv.gz` / `x.jsonl.gz` hold exactly the plain table, gzip-compressed.
    for ext in ["csv", "jsonl"] {
        let plain = dir.path().join(format!("f.{ext}"));
        let gz = dir.path().join(format!("f.{ext}.gz"));
        for p in [&plain, &gz] {
            let out = flows(p, &[]);
            assert!(out.status.success(), "{}", text(&out.stderr));
        }
        let want = std::fs::read(&plain).unwrap_or_default();
        assert!(want.len() > 100_000);
        assert_eq!(gunzip(&gz), want, "{ext}.gz");
    }
    // Parquet codecs: the same table whatever the codec.
    let read = |p: &Path| {
        netlens_ml::table::Table::from_path(p, &Default::default())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let base = dir.path().join("snappy.parquet");
    let out = flows(&base, &["--features", "nfstream"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let want = read(&base);
    let mut sizes = Vec::new();
    for codec in ["zstd", "zstd:9", "lz4", "gzip", "none"] {
        let p = dir
            .path()
            .join(format!("{}.parquet", codec.replace(':', "-")));
        let out = flows(&p, &["--features", "nfstream", "--compression", codec]);
        assert!(out.status.success(), "{codec}: {}", text(&out.stderr));
        let got = read(&p);
        assert_eq!(got.n_rows, want.n_rows, "{codec}");
        for (a, b) in got.columns.iter().zip(&want.columns) {
            assert_eq!(a.name, b.name, "{codec}");
            match (&a.data, &b.data) {
                // NaN never equals itself: compare the bits.
                (netlens_ml::table::ColumnData::Num(x), netlens_ml::table::ColumnData::Num(y)) => {
                    let bits = |v: &Vec<f64>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(x), bits(y), "{codec} {}", a.name);
                }
                (x, y) => assert_eq!(x, y, "{codec} {}", a.name),
            }
        }
        sizes.push((codec, std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0)));
    }
    let size = |c: &str| sizes.iter().find(|x| x.0 == c).map_or(0, |x| x.1);
    assert!(size("zstd") < size("none"), "{sizes:?}");
    // Clear errors for what cannot work.
    for (out, extra, says) in [
        (
            "x.csv",
            &["--compression", "zstd"][..],
            "--compression sets the Parquet codec",
        ),
        (
            "x.parquet.gz",
            &[][..],
            "Parquet is compressed inside the file",
        ),
        (
            "x.parquet",
            &["--compression", "brotli"][..],
            "unknown compression 'brotli'",
        ),
        (
            "x.parquet",
            &["--compression", "zstd:99"][..],
            "from 1 to 22",
        ),
    ] {
        let o = flows(&dir.path().join(out), extra);
        assert!(!o.status.success(), "{out} {extra:?}");
        assert!(
            text(&o.stderr).contains(says),
            "{out} {extra:?}: {}",
            text(&o.stderr)
        );
    }
}

#[test]
fn stdin_gzip_and_truncated_inputs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(sample()).unwrap_or_default();
    // stdin
    let mut child = Command::new(bin())
        .args(["flows", "-", "-q"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(&bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success());
    let from_stdin = text(&out.stdout);
    let from_file = text(&netlens(&["flows", sample().to_str().unwrap_or_default(), "-q"]).stdout);
    assert_eq!(from_stdin, from_file);
    // truncated in the middle of a record: packets before it, a warning with the offset
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap_or_else(|e| panic!("{e}"));
    let out = netlens(&[
        "stats",
        cut.to_str().unwrap_or_default(),
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("cut.pcap") && err.contains("offset"),
        "warning should name file and offset: {err}"
    );
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let n = st["packets"].as_u64().unwrap_or(0);
    assert!(n > 3000 && n < 6953, "packets before the damage: {n}");
}

#[test]
fn non_capture_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "hello world, not a capture").unwrap_or_else(|e| panic!("{e}"));
    let out = netlens(&["flows", p.to_str().unwrap_or_default()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not a capture"),
        "{err}"
    );
    let out = netlens(&["flows", "/nonexistent/x.pcap"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("/nonexistent/x.pcap"), "{err}");
    // One line, the reason said once (not "…: No such file…: No such file…").
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn features_doc_is_generated_from_the_registry() {
    let out = netlens(&["features", "--markdown"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo().join("docs/features.md")).unwrap_or_default();
    assert_eq!(
        text(&out.stdout),
        committed,
        "docs/features.md is out of date: regenerate with `cargo run -p netlens -- features --markdown > docs/features.md`"
    );
}

#[test]
fn synth_is_deterministic_and_matches_the_shipped_sample() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("s.pcap");
    let out = netlens(&["synth", "-o", p.to_str().unwrap_or_default(), "--seed", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read(&p).ok(),
        std::fs::read(sample()).ok(),
        "the shipped sample must be `netlens synth --seed 1`"
    );
}

/// `--threads 2` (sharded metering, Parquet encoded on a second thread)
/// writes the same file as one thread.
#[test]
fn flows_parquet_is_identical_for_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let inputs = [
        sample(),
        data_dir().join("pcap/ndpi/1kxun.pcap"),
        data_dir().join("pcap/nfstream/skype.pcap"),
    ];
    for input in inputs.iter().filter(|p| p.exists()) {
        let mut files = Vec::new();
        for threads in ["1", "2"] {
            let out = dir.path().join(format!("t{threads}.parquet"));
            let o = netlens(&[
                "flows",
                &input.to_string_lossy(),
                "--features",
                "all",
                "--threads",
                threads,
                "-q",
                "-o",
                &out.to_string_lossy(),
            ]);
            assert!(
                o.status.success(),
                "{}: {}",
                input.display(),
                String::from_utf8_lossy(&o.stderr)
            );
            files.push(std::fs::read(&out).unwrap_or_else(|e| panic!("{e}")));
        }
        assert!(files[0].len() > 1000, "{}: tiny file", input.display());
        assert!(
            files[0] == files[1],
            "{}: --threads 2 wrote a different Parquet file",
            input.display()
        );
    }
}

/// Parquet is not written to a terminal: the command says to use -o. Run
/// under `script` (util-linux), which gives the command a pseudo-terminal.
#[test]
fn parquet_to_a_terminal_is_refused() {
    let Ok(script) = which_script() else {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    };
    let cmd = format!(
        "{} flows {} --format parquet -q",
        bin().display(),
        sample().display()
    );
    let out = Command::new(script)
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = text(&out.stdout);
    assert!(!out.status.success(), "{shown}");
    assert!(shown.contains("Parquet is binary"), "{shown}");
    assert!(!shown.contains("PAR1"), "binary reached the terminal");
    // Redirected, the same command writes Parquet.
    let piped = netlens(&[
        "flows",
        sample().to_str().unwrap_or(""),
        "--format",
        "parquet",
        "-q",
    ]);
    assert!(piped.status.success() && piped.stdout.starts_with(b"PAR1"));
}

fn which_script() -> Result<PathBuf, ()> {
    ["/usr/bin/script", "/bin/script"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or(())
}

#[test]
fn no_merge_meters_an_older_input_on_its_own_clock() {
    // Read one after another, the second (older) capture used to have its
    // timestamps clamped to the first's last time: wrong times, zero
    // durations, flows merged across files. Now each input read after a
    // later one is metered on its own: the flows are those of the two
    // captures metered apart, for 1 and 2 threads alike.
    let newer = sample();
    let older = data_dir().join("pcap/ndpi/ethereum.pcap");
    assert!(older.is_file(), "missing {}", older.display());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rows = |inputs: &[&Path], threads: &str, name: &str| -> Vec<String> {
        let out = dir.path().join(name);
        let mut args: Vec<&std::ffi::OsStr> = vec!["flows".as_ref()];
        args.extend(inputs.iter().map(|p| p.as_os_str()));
        args.extend(["--no-merge", "-q", "--threads", threads, "-o"].map(std::ffi::OsStr::new));
        args.push(out.as_os_str());
        let o = Command::new(bin())
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", text(&o.stderr));
        let csv = std::fs::read_to_string(&out).unwrap_or_default();
        let mut lines: Vec<String> = csv
            .lines()
            .skip(1)
            // Without the id column (numbering depends on the run).
            .map(|l| l.split_once(',').map_or("", |x| x.1).to_string())
            .collect();
        lines.sort();
        lines
    };
    let both = rows(&[&newer, &older], "1", "both1.csv");
    assert_eq!(both, rows(&[&newer, &older], "2", "both2.csv"));
    let mut apart = rows(&[&newer], "1", "newer.csv");
    apart.extend(rows(&[&older], "1", "older.csv"));
    apart.sort();
    assert_eq!(both.len(), 2204 + 74);
    assert_eq!(both, apart);
}

#[test]
fn synth_refuses_to_write_labels_over_its_capture() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let p = dir.path().join("y.pcap");
    let ps = p.to_str().unwrap_or_default();
    let out = netlens(&["synth", "-o", ps, "--labels", ps, "--duration", "5s"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("same file"),
        "{}",
        text(&out.stderr)
    );
    assert!(!p.exists(), "nothing is written");
    let labels = dir.path().join("new/dir/y.csv");
    let out = netlens(&[
        "synth",
        "-o",
        ps,
        "--labels",
        labels.to_str().unwrap_or_default(),
        "--duration",
        "5s",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(labels.is_file() && p.is_file());
}
