//! Integration tests of `netlens anomaly` (train/score/kitsune) on real
//! captures from `../shared/data`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_netlens"))
}

fn data(rel: &str) -> String {
    let d = std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = d.join(rel);
    assert!(p.exists(), "test data missing: {}", p.display());
    p.to_string_lossy().into_owned()
}

fn netlens(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run netlens: {e}"))
}

fn alerts(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The keys of every netlens alert (supervised and unsupervised detectors
/// write the same record), sorted.
const KEYS: [&str; 15] = [
    "detector",
    "dst_ip",
    "dst_port",
    "early",
    "flow_id",
    "label",
    "packets",
    "protocol",
    "score",
    "src_ip",
    "src_port",
    "top_features",
    "ts_end",
    "ts_start",
    "vlan_id",
];

fn check_keys(a: &serde_json::Value) {
    let mut k: Vec<&str> = a.as_object().unwrap().keys().map(|s| s.as_str()).collect();
    k.sort();
    assert_eq!(k, KEYS);
    assert_eq!(a["label"], "anomaly");
    assert_eq!(a["early"], false);
    assert!(a["packets"].as_u64().unwrap_or(0) >= 1);
    // The same record type as the supervised detector's alerts.
    let _: netlens_export::alert::Alert = serde_json::from_value(a.clone()).unwrap();
}

#[test]
fn iforest_train_then_score_flags_the_syn_scan() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("if.nlm");
    let m = model.to_str().unwrap();
    let o = netlens(&[
        "anomaly",
        "train",
        "--method",
        "iforest",
        "--trees",
        "50",
        "-q",
        &data("pcap/nfstream/skype.pcap"),
        &data("pcap/nfstream/pps.pcap"),
        "-o",
        m,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("alerts.jsonl");
    let o = netlens(&[
        "anomaly",
        "score",
        "--model",
        m,
        "-q",
        &data("labeled/attack-pcap/chrissanders/synscan.pcapng"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = alerts(&out);
    // The scan has ~1000 one-packet flows; most must be over the q0.995 threshold.
    assert!(a.len() > 500, "{} alerts", a.len());
    check_keys(&a[0]);
    assert_eq!(a[0]["detector"], "iforest");
    assert!(a[0]["flow_id"].is_u64());
    assert!(!a[0]["top_features"].as_array().unwrap().is_empty());

    // A benign capture the model never saw raises few alerts.
    let o = netlens(&[
        "anomaly",
        "score",
        "--model",
        m,
        "-q",
        &data("pcap/nfstream/instagram.pcap"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    let benign = alerts(&out).len();
    assert!(benign < 60, "{benign} alerts on benign traffic");

    // A corrupted model is a clear error.
    let mut bytes = std::fs::read(&model).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&model, &bytes).unwrap();
    let o = netlens(&[
        "anomaly",
        "score",
        "--model",
        m,
        &data("pcap/nfstream/skype.pcap"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("checksum"));
}

#[test]
fn kitsune_alerts_on_flood_after_benign_training() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("k.jsonl");
    // Inputs are merged by time: the benign capture (2013) precedes the flood (2019).
    let o = netlens(&[
        "anomaly",
        "kitsune",
        "--train-packets",
        "3000",
        "-q",
        &data("pcap/nfstream/skype.pcap"),
        &data("labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = alerts(&out);
    assert!(!a.is_empty());
    check_keys(&a[0]);
    assert_eq!(a[0]["detector"], "kitsune");
    assert!(a[0]["flow_id"].is_null());
    let attack = a
        .iter()
        .filter(|x| x["ts_start"].as_str().unwrap().starts_with("2019"))
        .count();
    assert!(
        attack * 2 > a.len(),
        "{attack} of {} alerts in the scan",
        a.len()
    );
}

#[test]
fn validation_and_calibration_set_the_thresholds() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("if.nlm");
    let m = model.to_str().unwrap();
    let o = netlens(&[
        "anomaly",
        "train",
        "--trees",
        "50",
        "--quantile",
        "0.99",
        &data("pcap/nfstream/skype.pcap"),
        "--validation",
        &data("pcap/nfstream/pps.pcap"),
        "-o",
        m,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("validation flows"), "{err}");

    // Kitsune: 2000 training packets, the next 1000 calibrate; the
    // calibration packets themselves never alert.
    let out = dir.path().join("k.jsonl");
    let o = netlens(&[
        "anomaly",
        "kitsune",
        "--train-packets",
        "2000",
        "--calibrate-packets",
        "1000",
        "--quantile",
        "0.99",
        &data("pcap/nfstream/skype.pcap"),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("threshold 0."), "{err}");
    // Fewer alerts than the 1 % of the ~280 packets after calibration would
    // allow, give or take the bucketing by second.
    assert!(alerts(&out).len() < 30, "{}", alerts(&out).len());
}
