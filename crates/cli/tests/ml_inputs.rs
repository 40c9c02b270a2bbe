//! CLI tests of the ML commands' input handling: Parquet written by
//! `netlens flows`, labels the model never saw or that are missing, label
//! mappings that leave one class, re-scoring, output formats and options
//! that do not apply.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap")
}

fn netlens(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(args)
        .output()
        .expect("run netlens")
}

/// `netlens train TABLE --label Label --model tree --test-split 0 -o MODEL --format json`.
fn train_tree(table: &Path, model: &Path) -> Output {
    netlens(&[
        "train",
        s(table),
        "--label",
        "Label",
        "--model",
        "tree",
        "--test-split",
        "0",
        "-o",
        s(model),
        "--format",
        "json",
    ])
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "stderr: {err}");
    err
}

fn fail(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    ok(out);
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

/// The sample's flows (with timestamps and splt lists) as CSV and Parquet.
fn flows(dir: &Path) -> (PathBuf, PathBuf) {
    let (csv, pq) = (dir.join("f.csv"), dir.join("f.parquet"));
    for p in [&csv, &pq] {
        ok(&netlens(&[
            "flows",
            s(&sample()),
            "--features",
            "all",
            "--splt",
            "3",
            "-q",
            "-o",
            s(p),
        ]));
    }
    (csv, pq)
}

/// A small labelled CSV: `a` decides the label; `Label` may be empty.
fn write(dir: &Path, name: &str, rows: &[(u32, &str)]) -> PathBuf {
    let mut s = String::from("a,b,Label\n");
    for (i, (a, l)) in rows.iter().enumerate() {
        s.push_str(&format!("{a},{},{l}\n", i % 5));
    }
    let p = dir.join(name);
    std::fs::write(&p, s).unwrap();
    p
}

#[test]
fn parquet_from_flows_reads_like_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, pq) = flows(dir.path());
    let mut features = Vec::new();
    for (t, m) in [(&csv, "c.nlm"), (&pq, "p.nlm")] {
        let model = dir.path().join(m);
        let out = netlens(&[
            "train",
            s(t),
            "--label",
            "protocol",
            "--model",
            "tree",
            "--test-split",
            "0",
            "--keep-identifiers",
            "-o",
            s(&model),
            "--format",
            "json",
        ]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            err.contains("left out list columns") && err.contains("splt_ps"),
            "{err}"
        );
        features.push(json(&out)["features"].clone());
    }
    assert_eq!(
        features[0], features[1],
        "same model inputs from CSV and Parquet"
    );
    // Scoring the Parquet and the CSV with the CSV-trained model gives the
    // same output, byte for byte (timestamps and lists spelled as in the CSV).
    let model = dir.path().join("c.nlm");
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    ok(&netlens(&[
        "predict",
        s(&csv),
        "--model",
        s(&model),
        "-o",
        s(&a),
    ]));
    ok(&netlens(&[
        "predict",
        s(&pq),
        "--model",
        s(&model),
        "-o",
        s(&b),
    ]));
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert!(a == b, "predictions of the Parquet differ from the CSV's");
    // `label` and `evaluate` read it too.
    let rules = dir.path().join("r.toml");
    std::fs::write(
        &rules,
        "default_label = \"benign\"\n[[rule]]\nlabel = \"udp\"\nprotocol = [17]\n",
    )
    .unwrap();
    let lab = dir.path().join("lab.parquet");
    ok(&netlens(&[
        "label",
        s(&pq),
        "--rules",
        s(&rules),
        "-q",
        "-o",
        s(&lab),
    ]));
    let e = json(&netlens(&[
        "evaluate",
        s(&pq),
        "--model",
        s(&model),
        "--format",
        "json",
    ]));
    assert_eq!(e["metrics"]["accuracy"], 1.0);
}

#[test]
fn evaluate_counts_labels_the_model_never_saw_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let train: Vec<(u32, &str)> = (0..60)
        .map(|i| (i % 2, ["p", "q"][i as usize % 2]))
        .collect();
    let test: Vec<(u32, &str)> = (0..60)
        .map(|i| (i % 3, ["p", "q", "new"][i as usize % 3]))
        .collect();
    let (tr, te) = (
        write(dir.path(), "tr.csv", &train),
        write(dir.path(), "te.csv", &test),
    );
    let model = dir.path().join("m.nlm");
    ok(&train_tree(&tr, &model));
    let out = netlens(&["evaluate", s(&te), "--model", s(&model), "--format", "json"]);
    let err = ok(&out);
    assert!(
        err.contains("20 row(s) have labels the model never saw (new)"),
        "{err}"
    );
    let e: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(e["rows"], 60);
    assert_eq!(e["metrics"]["n"], 60);
    let acc = e["metrics"]["accuracy"].as_f64().unwrap();
    assert!((acc - 40.0 / 60.0).abs() < 1e-12, "{acc}");
}

#[test]
fn benign_values_matching_nothing_and_missing_labels() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<(u32, &str)> = (0..60)
        .map(|i| {
            (
                i % 2,
                if i % 10 == 9 {
                    ""
                } else {
                    ["BENIGN", "DDoS"][i as usize % 2]
                },
            )
        })
        .collect();
    let t = write(dir.path(), "t.csv", &rows);
    let model = dir.path().join("m.nlm");
    let err = fail(&netlens(&[
        "train",
        s(&t),
        "--label",
        "Label",
        "--benign",
        "benign",
        "-o",
        s(&model),
    ]));
    assert!(
        err.contains("benign values [\"benign\"]") && err.contains("\"BENIGN\", \"DDoS\""),
        "{err}"
    );
    let out = netlens(&[
        "train",
        s(&t),
        "--label",
        "Label",
        "--benign",
        "BENIGN",
        "--model",
        "tree",
        "--test-split",
        "0",
        "-o",
        s(&model),
        "--format",
        "json",
    ]);
    let err = ok(&out);
    assert!(
        err.contains("left out 6 row(s) with no value in the label column"),
        "{err}"
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(j["train_rows"], 54);
    let out = train_tree(&t, &model);
    ok(&out);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["classes"],
        serde_json::json!(["BENIGN", "DDoS"]),
        "no class \"\""
    );
}

#[test]
fn rescoring_replaces_columns_and_label_writes_the_requested_format() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<(u32, &str)> = (0..40)
        .map(|i| (i % 2, ["x", "y"][i as usize % 2]))
        .collect();
    let t = write(dir.path(), "t.csv", &rows);
    let model = dir.path().join("m.nlm");
    ok(&train_tree(&t, &model));
    let once = dir.path().join("once.csv");
    ok(&netlens(&[
        "predict",
        s(&t),
        "--model",
        s(&model),
        "-o",
        s(&once),
    ]));
    let twice = dir.path().join("twice.parquet");
    let err = ok(&netlens(&[
        "predict",
        s(&once),
        "--model",
        s(&model),
        "-o",
        s(&twice),
    ]));
    assert!(err.contains("already has prediction and score"), "{err}");
    let back = dir.path().join("back.csv");
    ok(&netlens(&[
        "predict",
        s(&twice),
        "--model",
        s(&model),
        "-o",
        s(&back),
    ]));
    let header = std::fs::read_to_string(&back).unwrap();
    assert_eq!(header.lines().next().unwrap(), "a,b,Label,prediction,score");

    // `label` follows -o's extension or --format.
    let (csv, _) = flows(dir.path());
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "[[rule]]\nlabel = \"tcp\"\nprotocol = [6]\n").unwrap();
    let pq = dir.path().join("l.parquet");
    ok(&netlens(&[
        "label",
        s(&csv),
        "--rules",
        s(&rules),
        "-q",
        "-o",
        s(&pq),
    ]));
    assert_eq!(&std::fs::read(&pq).unwrap()[..4], b"PAR1");
    let jl = dir.path().join("l.out");
    ok(&netlens(&[
        "label",
        s(&csv),
        "--rules",
        s(&rules),
        "-q",
        "--format",
        "jsonl",
        "-o",
        s(&jl),
    ]));
    let first = std::fs::read_to_string(&jl).unwrap();
    let v: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
    assert!(v.get("label").is_some(), "{v}");
}

#[test]
fn options_that_cannot_apply_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<(u32, &str)> = (0..40)
        .map(|i| ((i % 4) as u32, ["x", "y"][(i % 4 / 2) as usize]))
        .collect();
    let t = write(dir.path(), "t.csv", &rows);
    let err = fail(&netlens(&["train", s(&t), "--label", "Label", "-o", "-"]));
    assert!(err.contains("binary file"), "{err}");
    assert!(!Path::new("-").exists());
    let model = dir.path().join("m.nlm");
    ok(&netlens(&[
        "train",
        s(&t),
        "--label",
        "Label",
        "--benign",
        "x",
        "--model",
        "logreg",
        "--test-split",
        "0",
        "-o",
        s(&model),
        "--format",
        "json",
    ]));
    let err = fail(&netlens(&[
        "evaluate",
        s(&t),
        "--model",
        s(&model),
        "--benign",
        "x",
        "--trees",
        "5",
    ]));
    assert!(
        err.contains("--benign, --trees apply to --cv only"),
        "{err}"
    );
    let err = fail(&netlens(&[
        "evaluate",
        s(&t),
        "--model",
        s(&model),
        "--label",
        "Nope",
    ]));
    assert!(err.contains("--label \"Nope\""), "{err}");
    let fpr = |th: &str| {
        let e = json(&netlens(&[
            "evaluate",
            s(&t),
            "--model",
            s(&model),
            "--threshold",
            th,
            "--format",
            "json",
        ]));
        e["metrics"]["fpr"].as_f64().unwrap()
    };
    assert_eq!(
        fpr("0.0"),
        1.0,
        "every benign row is flagged at threshold 0"
    );
    assert!(fpr("1.0") < 1.0);
}
