//! The sharded (multi-threaded) pipeline produces exactly the flows of the
//! single-threaded one, in the same order with the same ids.

use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{RunConfig, run};

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn flows(paths: &[PathBuf], threads: usize, batch: usize, meter: MeterConfig) -> (Vec<Flow>, u64) {
    let inputs: Vec<Input> = paths.iter().cloned().map(Input::Path).collect();
    let mut r =
        CaptureReader::open(&inputs, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Vec::new();
    let cfg = RunConfig {
        meter,
        batch_packets: batch,
        threads,
    };
    let rep = run::<std::convert::Infallible>(
        &mut r,
        &cfg,
        &mut [],
        &mut |f| {
            out.extend_from_slice(f);
            Ok(())
        },
        &mut |_| {},
    )
    .unwrap_or_else(|e| match e {});
    (out, rep.meter.fragments_attributed)
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let d = data_dir();
    let sets: Vec<Vec<PathBuf>> = vec![
        vec![d.join("pcap/nfstream/skype.pcap")],
        vec![d.join("pcap/ndpi/1kxun.pcap")],
        vec![d.join("labeled/attack-pcap/stopddos/amp.dns.RRSIG.fragmented.pcap")],
        vec![
            d.join("pcap/zeek/tunnels/gtp/gtp8_teredo.pcap"),
            d.join("pcap/nfstream/pps.pcap"),
        ],
    ];
    let short = MeterConfig {
        idle_timeout_ns: 2_000_000_000,
        active_timeout_ns: 30_000_000_000,
        statistics: true,
        splt: 3,
        ..Default::default()
    };
    for paths in &sets {
        for meter in [MeterConfig::default(), short.clone()] {
            let (one, frag1) = flows(paths, 1, 257, meter.clone());
            assert!(!one.is_empty());
            for threads in [2, 3] {
                let (many, frag_n) = flows(paths, threads, 257, meter.clone());
                assert_eq!(one.len(), many.len(), "{paths:?} threads={threads}");
                assert_eq!(frag1, frag_n);
                for (a, b) in one.iter().zip(&many) {
                    assert_eq!(a, b, "{paths:?} threads={threads}");
                }
            }
        }
    }
}
