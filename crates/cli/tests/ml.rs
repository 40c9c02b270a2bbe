//! CLI tests of `netlens train`, `evaluate` and `predict` on small subsets
//! of the shared real datasets.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn netlens(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(args)
        .output()
        .expect("run netlens")
}

/// The first `n` lines of a file (a small, fast subset for debug-mode tests).
fn head(src: &Path, n: usize, dst: &Path) {
    let text = std::fs::read_to_string(src).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    std::fs::write(dst, lines.join("\n") + "\n").unwrap();
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON summary")
}

#[test]
fn nsl_kdd_train_evaluate_predict_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let kdd = data().join("labeled/flows/nsl-kdd");
    let train = dir.path().join("train.csv");
    let test = dir.path().join("test.csv");
    head(&kdd.join("KDDTrain+_20Percent.txt"), 3000, &train);
    head(&kdd.join("KDDTest+.txt"), 2000, &test);
    let fields = kdd.join("Field_Names.csv");
    let model = dir.path().join("m.nlm");
    // Field_Names.csv has the 41 features; the label and difficulty get
    // default names c41/c42.
    let out = netlens(&[
        "train",
        train.to_str().unwrap(),
        "--no-header",
        "--columns-file",
        fields.to_str().unwrap(),
        "--label",
        "c41",
        "--exclude",
        "c42",
        "--benign",
        "normal",
        "--model",
        "rf",
        "--trees",
        "30",
        "--test-split",
        "0",
        "-o",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let j = json(&out);
    let features = j["features"].as_array().unwrap();
    assert!(
        features.iter().any(|f| f == "protocol_type=tcp"),
        "one-hot protocol"
    );
    let evaluate = [
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        test.to_str().unwrap(),
        "--no-header",
        "--columns-file",
        fields.to_str().unwrap(),
    ];
    let out = netlens(&[&evaluate[..], &["--format", "json"]].concat());
    let e = json(&out);
    // A reader that goes away (`netlens evaluate ... | head -0`) ends the
    // command quietly: no panic, exit status 0.
    let mut child = Command::new(env!("CARGO_BIN_EXE_netlens"))
        .args(evaluate)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let closed = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&closed.stderr);
    assert!(
        closed.status.success() && !err.contains("panicked"),
        "{err}"
    );
    let acc = e["metrics"]["accuracy"].as_f64().unwrap();
    // Majority class of this subset is far below; published full-data RF is ~0.77–0.81.
    assert!(acc > 0.72, "accuracy {acc}");
    assert!(e["metrics"]["roc_auc"].as_f64().unwrap() > 0.85);
    let pred = dir.path().join("pred.csv");
    let out = netlens(&[
        "predict",
        test.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--no-header",
        "--columns-file",
        fields.to_str().unwrap(),
        "-o",
        pred.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&pred).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().ends_with("prediction,score"));
    assert_eq!(lines.count(), 2000);
    // Parquet output (chosen by the extension): the same table, readable
    // again by netlens, scoring to the same accuracy.
    let pq = dir.path().join("pred.parquet");
    let out = netlens(&[
        "predict",
        test.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--no-header",
        "--columns-file",
        fields.to_str().unwrap(),
        "-o",
        pq.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read(&pq).unwrap().starts_with(b"PAR1"));
    let again = dir.path().join("again.csv");
    let out = netlens(&[
        "predict",
        pq.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Re-scoring replaces the stored prediction/score columns (no duplicates).
    let again = std::fs::read_to_string(&again).unwrap();
    let mut rows = again.lines();
    let header = rows.next().unwrap();
    assert!(header.ends_with(",prediction,score"), "{header}");
    assert_eq!(header.matches("prediction").count(), 1, "{header}");
    let first: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.rsplitn(3, ',').map(str::to_string).collect())
        .collect();
    let mut n = 0;
    for (a, b) in rows.zip(&first) {
        let f: Vec<&str> = a.rsplitn(3, ',').collect();
        // Re-predicted from the Parquet and the CSV run's: equal.
        assert_eq!((f[1], f[0]), (b[1].as_str(), b[0].as_str()));
        n += 1;
    }
    assert_eq!(n, 2000);
    // A corrupted model is rejected with a one-line reason.
    let mut bytes = std::fs::read(&model).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    let bad = dir.path().join("bad.nlm");
    std::fs::write(&bad, &bytes).unwrap();
    let out = netlens(&[
        "predict",
        test.to_str().unwrap(),
        "--model",
        bad.to_str().unwrap(),
        "--no-header",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum"));
    // A foreign file too.
    let out = netlens(&[
        "evaluate",
        "--model",
        fields.to_str().unwrap(),
        test.to_str().unwrap(),
        "--no-header",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a netlens model"));
}

#[test]
fn cicids2017_multiclass_stratified_split() {
    let dir = tempfile::tempdir().unwrap();
    let cic = data().join("labeled/flows/cicids2017-improved-sampled");
    let mut inputs = Vec::new();
    for f in [
        "BENIGN_2500.csv",
        "DDoS_2500.csv",
        "Portscan_2500.csv",
        "SSH-Patator_2500.csv",
        "DoS_Hulk_2500.csv",
    ] {
        let p = dir.path().join(f);
        head(&cic.join(f), 401, &p);
        inputs.push(p);
    }
    let model = dir.path().join("cic.nlm");
    let mut args: Vec<&str> = vec!["train"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend([
        "--label",
        "Label",
        "--exclude",
        "id,Flow ID,Timestamp,Attempted Category",
        "--model",
        "rf",
        "--trees",
        "30",
        "--split",
        "stratified",
        "--test-split",
        "0.25",
        "-o",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let j = json(&netlens(&args));
    let m = &j["evaluation"]["metrics"];
    assert_eq!(m["per_class"].as_array().unwrap().len(), 5);
    let f1 = m["macro_f1"].as_f64().unwrap();
    assert!(f1 > 0.95, "macro-F1 {f1}");
    // IP columns were dropped (default), with a reason in the report.
    let dropped = j["preprocessing"]["dropped_columns"].to_string();
    assert!(
        dropped.contains("Src IP") && dropped.contains("IP address"),
        "{dropped}"
    );
}

#[test]
fn linear_regression_and_cross_validation() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lin.csv");
    let mut s = String::from("x1,x2,noise,y\n");
    for i in 0..300 {
        let x1 = (i % 13) as f64 * 0.5;
        let x2 = ((i * 7) % 29) as f64;
        let e = (((i * 7919) % 101) as f64 - 50.0) / 100.0;
        s.push_str(&format!(
            "{x1},{x2},{e},{}\n",
            4.0 + 3.0 * x1 - 0.25 * x2 + e
        ));
    }
    std::fs::write(&p, s).unwrap();
    let model = dir.path().join("lin.nlm");
    let j = json(&netlens(&[
        "train",
        p.to_str().unwrap(),
        "--label",
        "y",
        "--model",
        "linear",
        "--test-split",
        "0.2",
        "-o",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]));
    let coef = j["coefficients"].as_array().unwrap();
    // y = 4 + 3 x1 − 0.25 x2 + 1·noise exactly: OLS recovers it.
    let get = |name: &str| {
        coef.iter().find(|c| c[0] == name).unwrap()[1]
            .as_f64()
            .unwrap()
    };
    assert!((get("(intercept)") - 4.0).abs() < 1e-9);
    assert!(
        (get("x1") - 3.0).abs() < 1e-9
            && (get("x2") + 0.25).abs() < 1e-9
            && (get("noise") - 1.0).abs() < 1e-9
    );
    assert!(j["evaluation"]["metrics"]["r2"].as_f64().unwrap() > 0.999_999);
    let j = json(&netlens(&[
        "evaluate",
        p.to_str().unwrap(),
        "--cv",
        "3",
        "--algorithm",
        "ridge",
        "--label",
        "y",
        "--format",
        "json",
    ]));
    assert_eq!(j["folds"].as_array().unwrap().len(), 3);
    assert!(j["mean"].as_f64().unwrap() > 0.99);
    // Bad arguments: non-zero exit, one-line reason.
    let out = netlens(&[
        "train",
        p.to_str().unwrap(),
        "--label",
        "nope",
        "--model",
        "linear",
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no column named \"nope\""));
}

/// On a netlens flow table (here gzip-compressed, labelled by rule), row ids,
/// absolute times and MACs are left out of the features by default, kept with
/// `--keep-identifiers`, and never second-guessed when `--features` is given.
#[test]
fn identifiers_are_left_out_of_default_features() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = |n: &str| dir.path().join(n).to_string_lossy().into_owned();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap");
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o
    };
    ok(netlens(&[
        "flows",
        sample.to_str().unwrap_or(""),
        "-q",
        "-o",
        &p("f.csv.gz"),
    ]));
    std::fs::write(
        p("rules.toml"),
        "[[rule]]\nlabel = \"scan\"\nsrc = [\"10.0.0.66\"]\n",
    )
    .expect("rules");
    ok(netlens(&[
        "label",
        &p("f.csv.gz"),
        "--rules",
        &p("rules.toml"),
        "-o",
        &p("l.csv.gz"),
    ]));
    let features = |extra: &[&str]| {
        let (table, m) = (p("l.csv.gz"), p("m.nlm"));
        let mut args = vec!["train", &table, "--label", "label", "--trees", "5"];
        args.extend_from_slice(&["-o", &m, "--format", "json"]);
        args.extend_from_slice(extra);
        let out = netlens(&args);
        let v = json(&out);
        let names: Vec<String> = v["features"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (names, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let is_identifier = |f: &String| {
        f == "id"
            || f.contains("_seen_")
            || ["src_mac", "dst_mac", "src_oui", "dst_oui"]
                .iter()
                .any(|p| f.starts_with(p))
    };
    let (default, note) = features(&[]);
    assert!(!default.is_empty());
    assert!(!default.iter().any(is_identifier), "{default:?}");
    assert!(
        note.contains("left out identifier and time columns") && note.contains("id,"),
        "{note}"
    );
    assert!(
        default.iter().any(|f| f == "bidirectional_duration_ms"),
        "durations stay: {default:?}"
    );
    let (kept, _) = features(&["--keep-identifiers"]);
    assert!(kept.iter().any(|f| f.contains("first_seen")), "{kept:?}");
    let (chosen, note) = features(&["--features", "id,dst_port"]);
    assert!(chosen.iter().any(|f| f == "id"), "{chosen:?}");
    assert!(!note.contains("left out identifier"), "{note}");
}

/// A supervised model without --label fails before reading anything, with a hint.
#[test]
fn supervised_training_without_label_says_what_to_give() {
    let dir = tempfile::tempdir().expect("tmp");
    let t = dir.path().join("t.csv");
    std::fs::write(&t, "a,b\n1,2\n3,4\n").expect("write");
    let out = netlens(&["train", t.to_str().unwrap_or(""), "-o", "/dev/null"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--label COLUMN is required") && err.contains("iforest"),
        "{err}"
    );
}
