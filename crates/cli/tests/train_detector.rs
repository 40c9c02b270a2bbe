//! `netlens train-detector` options for real traffic (`--benign-share`,
//! `--target-fpr`, `--context`) on captures of the shared data set.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

fn run(args: &[String]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn cap(rel: &str) -> String {
    data().join(rel).to_string_lossy().into_owned()
}

const BENIGN: [&str; 5] = [
    "pcap/chrissanders/http_espn.pcapng",
    "pcap/chrissanders/dns_lab.pcapng",
    "pcap/zeek/wikipedia.pcap",
    "pcap/ndpi/EAQ.pcap",
    "pcap/ndpi/avast.pcap",
];

fn train_args(benign: &[&str], out: &Path, extra: &[&str]) -> Vec<String> {
    let mut a = vec!["train-detector".to_string()];
    for b in benign {
        a.push("--benign-capture".into());
        a.push(cap(b));
    }
    for (f, c) in [
        ("labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap", "scan"),
        (
            "labeled/attack-pcap/chrissanders/activeosfingerprinting.pcapng",
            "scan",
        ),
        ("labeled/attack-pcap/stopddos/amp.UDP.isakmp.pcap", "ddos"),
    ] {
        a.push("--attack-capture".into());
        a.push(format!("{}:{c}", cap(f)));
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(["--max-per-class", "300", "--trees", "10", "-o"].map(String::from));
    a.push(out.to_string_lossy().into_owned());
    a
}

#[test]
fn threshold_balance_and_context_are_trained_recorded_and_used() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let model = dir.path().join("d.nlm");
    let out = run(&train_args(
        &BENIGN,
        &model,
        &[
            "--benign-share",
            "0.5",
            "--target-fpr",
            "0.05",
            "--cv-folds",
            "3",
            "--context",
        ],
    ));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("threshold"), "{err}");
    let note: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("d.nlm.json")).unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(note["host_context"], true);
    let features = note["features"].as_array().cloned().unwrap_or_default();
    assert!(
        features.iter().any(|f| f == "ctx_dst_flows"),
        "{features:?}"
    );
    let t = &note["threshold"];
    assert_eq!(t["folds"], 3);
    assert_eq!(t["target_fpr"], 0.05);
    let thr = t["threshold"].as_f64().unwrap_or(-1.0);
    assert!(thr > 0.0 && thr <= 1.0 + 1e-6, "{t}");
    // The chosen threshold keeps the out-of-fold benign alerts within the target.
    let b = &t["per_class"]["benign"];
    let (flows, alerted) = (
        b["flows"].as_u64().unwrap_or(0),
        b["alerted"].as_u64().unwrap_or(u64::MAX),
    );
    assert!(flows > 50, "{t}");
    assert!(alerted as f64 <= 0.05 * flows as f64, "{t}");
    // Balancing: attack rows at most the benign rows.
    let rows = note["rows_per_class"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let benign = rows.get("benign").and_then(|v| v.as_u64()).unwrap_or(0);
    let attack: u64 = rows
        .iter()
        .filter(|(k, _)| *k != "benign")
        .filter_map(|(_, v)| v.as_u64())
        .sum();
    assert!(benign > 0 && attack <= benign, "{rows:?}");

    // detect reads the threshold and the context from the model: the
    // masscan capture it was trained on is flagged almost entirely.
    let out = run(&[
        "detect".into(),
        "--model".into(),
        model.to_string_lossy().into_owned(),
        "--format".into(),
        "json".into(),
        cap("labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let s: serde_json::Value =
        serde_json::from_str(err.lines().last().unwrap_or_default()).unwrap_or_default();
    let (f, a) = (
        s["flows"].as_u64().unwrap_or(0),
        s["alerts"].as_u64().unwrap_or(0),
    );
    assert!(f > 900 && a as f64 >= 0.9 * f as f64, "{err}");
    // Every alert scores at least the threshold.
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let al: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        assert!(al["score"].as_f64().unwrap_or(-1.0) >= thr, "{line}");
    }
}

#[test]
fn bad_combinations_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let model = dir.path().join("d.nlm");
    // One benign capture cannot be cross-validated by capture.
    let out = run(&train_args(&BENIGN[..1], &model, &["--target-fpr", "0.01"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("at least 2 benign captures"), "{err}");
    let out = run(&train_args(&BENIGN, &model, &["--benign-share", "1.5"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("benign share"), "{err}");
    let out = run(&train_args(&BENIGN, &model, &["--context", "--early", "4"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--context"), "{err}");
    // Values that were clamped silently (the summary said 0 trees).
    for extra in [
        ["--trees", "0"],
        ["--max-per-class", "0"],
        ["--target-fpr", "1.5"],
    ] {
        let out = run(&train_args(&BENIGN, &model, &extra));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?}");
        assert!(err.contains(extra[0]), "{extra:?}: {err}");
    }
}
