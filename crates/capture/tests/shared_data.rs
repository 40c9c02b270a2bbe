//! Reads every file of the shared test data and compares packet counts with
//! tshark's (INDEX.csv `packets` column). Run with `--nocapture` to see the tally.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use netlens_capture::{CaptureError, CaptureReader, Input, ReadOptions};

fn data_root() -> PathBuf {
    match std::env::var_os("NETLENS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// path (relative) -> (file_type, packets, read_warnings)
fn index(root: &Path) -> HashMap<String, (String, Option<u64>, String)> {
    let mut rdr = csv::Reader::from_path(root.join("INDEX.csv")).expect("INDEX.csv readable");
    let hdr = rdr.headers().expect("header").clone();
    let col = |name: &str| hdr.iter().position(|h| h == name).expect("column present");
    let (c_path, c_type, c_pk, c_warn) = (
        col("path"),
        col("file_type"),
        col("packets"),
        col("read_warnings"),
    );
    let mut m = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.expect("INDEX.csv row");
        let get = |i: usize| rec.get(i).unwrap_or("").to_string();
        m.insert(
            get(c_path),
            (get(c_type), get(c_pk).parse().ok(), get(c_warn)),
        );
    }
    m
}

#[test]
fn every_shared_file_reads_and_counts_match_tshark() {
    let root = data_root();
    if !root.join("INDEX.csv").exists() {
        panic!(
            "shared data not found at {} (set NETLENS_SHARED_DATA)",
            root.display()
        );
    }
    let idx = index(&root);
    let mut files = Vec::new();
    for sub in ["pcap", "pcap-expected", "labeled"] {
        for e in walkdir::WalkDir::new(root.join(sub)).sort_by_file_name() {
            let e = e.expect("walk");
            if e.file_type().is_file() {
                files.push(e.into_path());
            }
        }
    }
    assert!(files.len() > 1000, "only {} files found", files.len());

    let (mut captures, mut agree, mut non_captures, mut differ_allowed) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .replace('\\', "/");
        let (ftype, tshark_packets, tshark_warn) = idx.get(&rel).cloned().unwrap_or_default();
        let is_capture = !ftype.is_empty();
        match CaptureReader::open(&[Input::Path(f.clone())], &ReadOptions::default()) {
            Err(e) => {
                let named = e.to_string().contains(&*f.to_string_lossy());
                if is_capture {
                    failures.push(format!(
                        "{rel}: capture (tshark: {ftype}) failed to open: {e}"
                    ));
                } else if !named {
                    failures.push(format!("{rel}: error does not name the file: {e}"));
                } else if !matches!(e, CaptureError::NotACapture { .. }) {
                    failures.push(format!("{rel}: unexpected error kind: {e}"));
                } else {
                    non_captures += 1;
                }
            }
            Ok(mut r) => {
                let mut n = 0u64;
                while r.next_packet().is_some() {
                    n += 1;
                }
                let warnings: Vec<String> =
                    r.take_warnings().iter().map(|w| w.to_string()).collect();
                if !is_capture {
                    failures.push(format!(
                        "{rel}: not a capture per INDEX but opened ({n} packets)"
                    ));
                    continue;
                }
                captures += 1;
                match tshark_packets {
                    Some(t) if t == n => agree += 1,
                    other => {
                        let msg = format!(
                            "{rel}: netlens {n} packets, tshark {other:?}; our warnings: {warnings:?}; tshark: {tshark_warn:?}"
                        );
                        if tshark_warn.is_empty() {
                            failures.push(msg);
                        } else {
                            differ_allowed += 1;
                            println!("allowed difference (tshark could not read fully): {msg}");
                        }
                    }
                }
            }
        }
    }
    println!(
        "shared data: {} files; {captures} captures opened, {agree} agree with tshark's packet count, \
         {differ_allowed} differ on files tshark flagged; {non_captures} non-captures rejected with a named error",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
