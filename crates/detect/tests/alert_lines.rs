//! The streaming detection path (`Detector::write_alerts_once`: reused
//! buffers, columns the model never reads left uncomputed, hand-written
//! alert lines) gives exactly what the plain path gives: the same verdicts
//! and scores as the model applied to the full feature table, and the same
//! bytes as serde_json writing the alerts of `Detector::alerts_once`.

use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_detect::{DetectBuffers, Detector, EarlyDecisions, flows_to_table};
use netlens_flow::Flow;
use netlens_ml::model::Output;
use netlens_pipeline::RunConfig;

fn shared() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
}

/// The batches the pipeline hands over for one capture.
fn batches(path: &Path, det: &Detector) -> Vec<Vec<Flow>> {
    let mut reader = CaptureReader::open(
        &[Input::from_arg(&path.to_string_lossy())],
        &ReadOptions { sort_by_time: true },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let cfg = RunConfig {
        meter: det.feature_set().meter_config(),
        threads: 1,
        batch_packets: 8192,
    };
    let mut out = Vec::new();
    netlens_pipeline::run::<std::convert::Infallible>(
        &mut reader,
        &cfg,
        &mut [],
        &mut |flows| {
            out.push(flows.to_vec());
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| match e {});
    out
}

#[test]
fn streaming_alert_lines_equal_the_plain_path() {
    let model = repo("models/detector.nlm");
    let caps = [
        repo("data/sample/sample.pcap"),
        shared().join("labeled/attack-pcap/stopddos/amp.TCP.reflection.SYNACK.pcap"),
        shared().join("labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-WebDDoS.pcap"),
    ];
    let mut total_alerts = 0;
    for cap in &caps {
        // Three instances: a model with host-context features keeps state per
        // detector, and every flow must be observed once by each.
        let plain = Detector::load(&model, None).unwrap();
        let fast = Detector::load(&model, None).unwrap();
        let scorer = Detector::load(&model, None).unwrap();
        let (mut seen_plain, mut seen_fast) =
            (EarlyDecisions::default(), EarlyDecisions::default());
        let mut bufs = DetectBuffers::default();
        let (mut want, mut got) = (Vec::new(), Vec::new());
        let mut n_fast = 0;
        for flows in batches(cap, &plain) {
            // Reference verdicts: the model on the full table (every column
            // computed, identity columns included), through `transform`.
            let m = plain.model();
            let t = flows_to_table(&flows, plain.feature_set());
            let Output::Proba(p) = m.output(&m.features(&t).unwrap()).unwrap() else {
                panic!("not a classifier");
            };
            let benign = m.classes.iter().position(|c| c == "benign").unwrap();
            let k = m.classes.len();
            let classified = scorer.classify(&flows).unwrap();
            assert_eq!(classified.len(), flows.len());
            for (row, (_, score)) in p.chunks(k).zip(&classified) {
                assert_eq!(
                    score.to_bits(),
                    (1.0 - row[benign]).clamp(0.0, 1.0).to_bits()
                );
            }
            for a in plain.alerts_once(&flows, &mut seen_plain).unwrap() {
                want.extend(serde_json::to_string(&a).unwrap().bytes());
                want.push(b'\n');
            }
            n_fast += fast
                .write_alerts_once(&flows, &mut seen_fast, &mut bufs, &mut got)
                .unwrap();
        }
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want.clone()).unwrap(),
            "{}",
            cap.display()
        );
        let lines = want.iter().filter(|b| **b == b'\n').count();
        assert_eq!(n_fast, lines);
        assert_eq!(bufs.alerts_per_label.iter().sum::<u64>(), lines as u64);
        total_alerts += lines;
    }
    assert!(total_alerts > 1000, "{total_alerts} alerts");
}
