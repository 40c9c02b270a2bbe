//! Early snapshots from the meter give exactly the features a detector
//! trained with `--early N` saw for the same flow, on real captures, with
//! one and with several metering threads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_detect::features::refs_to_table;
use netlens_detect::{EarlyDecisions, FeatureSet};
use netlens_flow::{EndReason, Flow};
use netlens_ml::table::ColumnData;
use netlens_pipeline::RunConfig;

fn shared() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

fn captures() -> Vec<PathBuf> {
    vec![
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap"),
        shared().join("labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-WebDDoS.pcap"),
    ]
}

/// Every record the pipeline hands over, in order, and the batch it came in.
fn meter(path: &Path, set: FeatureSet, early_emit: u16, threads: usize) -> Vec<(usize, Flow)> {
    let mut reader = CaptureReader::open(
        &[Input::from_arg(&path.to_string_lossy())],
        &ReadOptions { sort_by_time: true },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut meter = set.meter_config();
    meter.early_emit = early_emit;
    let cfg = RunConfig {
        meter,
        threads,
        batch_packets: 1000,
    };
    let mut out = Vec::new();
    let mut batch = 0;
    netlens_pipeline::run::<std::convert::Infallible>(
        &mut reader,
        &cfg,
        &mut [],
        &mut |flows| {
            out.extend(flows.iter().map(|f| (batch, f.clone())));
            batch += 1;
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| match e {});
    out
}

fn feature_row(f: &Flow, set: FeatureSet) -> Vec<(String, f64)> {
    let t = refs_to_table(&[f], set);
    set.feature_names()
        .into_iter()
        .map(|n| {
            let v = match t.column(&n).map(|c| &c.data) {
                Ok(ColumnData::Num(v)) => v.first().copied().unwrap_or(f64::NAN),
                _ => f64::NAN,
            };
            (n, v)
        })
        .collect()
}

#[test]
fn snapshot_features_equal_training_features_for_the_same_flow() {
    let n = 8;
    let set = FeatureSet::early(n);
    for path in captures() {
        // The training view: flows metered without snapshots.
        let train: HashMap<u64, Flow> = meter(&path, set, 0, 1)
            .into_iter()
            .map(|(_, f)| (f.first_packet_index, f))
            .collect();
        for threads in [1, 2] {
            let recs = meter(&path, set, n, threads);
            let snaps: Vec<&(usize, Flow)> = recs
                .iter()
                .filter(|(_, f)| f.end_reason == EndReason::Early)
                .collect();
            let finals = recs.len() - snaps.len();
            assert_eq!(finals, train.len(), "{}: same flows", path.display());
            let long = train
                .values()
                .filter(|f| f.packets() > u64::from(n))
                .count();
            assert!(long > 0, "{}: needs flows longer than N", path.display());
            // Every flow reaching N packets has one snapshot, unless its Nth
            // packet ended it (TCP FIN/RST termination).
            let expected = train
                .values()
                .filter(|f| {
                    f.packets() > u64::from(n)
                        || (f.packets() == u64::from(n)
                            && !matches!(f.end_reason, EndReason::Fin | EndReason::Rst))
                })
                .count();
            assert_eq!(snaps.len(), expected, "{}", path.display());
            for (batch, s) in &snaps {
                assert_eq!(s.packets(), u64::from(n));
                let t = train
                    .get(&s.first_packet_index)
                    .unwrap_or_else(|| panic!("snapshot without a flow"));
                assert_eq!(feature_row(s, set), feature_row(t, set), "flow {s:?}");
                // The final record comes later (or in the same batch, after it).
                let fin = recs
                    .iter()
                    .position(|(_, f)| {
                        f.end_reason != EndReason::Early
                            && f.first_packet_index == s.first_packet_index
                    })
                    .and_then(|i| recs.get(i))
                    .unwrap_or_else(|| panic!("no final record"));
                assert!(fin.0 >= *batch);
                assert_eq!(fin.1.packets(), t.packets());
            }
            eprintln!(
                "{} threads={threads}: {} flows, {} snapshots",
                path.display(),
                train.len(),
                snaps.len()
            );
        }
    }
}

#[test]
fn one_decision_per_flow_even_when_snapshot_and_final_share_a_batch() {
    let set = FeatureSet::early(4);
    let path = captures().remove(0);
    let recs: Vec<Flow> = meter(&path, set, 4, 1)
        .into_iter()
        .map(|(_, f)| f)
        .collect();
    let snaps = recs
        .iter()
        .filter(|f| f.end_reason == EndReason::Early)
        .count();
    let flows = recs.len() - snaps;
    assert!(snaps > 100, "{snaps}");
    // One record at a time, in output order.
    let mut d = EarlyDecisions::default();
    let mut decided = 0;
    for r in &recs {
        decided += d.select(std::slice::from_ref(r)).len();
    }
    assert_eq!(decided, flows);
    assert_eq!(d.finals_skipped as usize, snaps);
    assert_eq!(d.open(), 0);
    // All in one batch with every final record before its snapshot.
    let mut reversed = recs.clone();
    reversed.reverse();
    let mut d = EarlyDecisions::default();
    let picked = d.select(&reversed);
    assert_eq!(picked.len(), flows);
    assert_eq!(
        picked
            .iter()
            .filter(|f| f.end_reason == EndReason::Early)
            .count(),
        snaps
    );
    assert_eq!(d.open(), 0);
}
