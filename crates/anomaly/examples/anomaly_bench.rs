//! Benchmark of the unsupervised detectors: ROC-AUC per attack capture
//! against unseen benign traffic, and Kitsune throughput per CPU-second.
//! Usage: anomaly_bench <shared data dir>  (prints Markdown to stdout).

use std::path::{Path, PathBuf};
use std::time::Instant;

use netlens_anomaly::eval::{
    NOT_BENIGN, Part, alert_rate, auc, benign_captures, benign_part, count_ip_packets,
    iforest_scores, kitsune_scores, train_iforest,
};
use netlens_anomaly::iforest::IforestConfig;
use netlens_anomaly::kitsune::{Kitsune, KitsuneConfig, quantile};
use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_wire::PacketSummary;

/// CPU time of this thread in seconds (Linux schedstat; wall clock elsewhere).
fn cpu_seconds(wall: &Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or_else(|| wall.elapsed().as_secs_f64(), |ns| ns * 1e-9)
}

fn packets(p: &[PathBuf]) -> Vec<(i64, u32, PacketSummary)> {
    let inputs: Vec<Input> = p.iter().map(|x| Input::Path(x.clone())).collect();
    let Ok(mut r) = CaptureReader::open(
        &inputs,
        &ReadOptions {
            sort_by_time: false,
        },
    ) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut s = PacketSummary::default();
    while let Some(pkt) = r.next_packet() {
        s.clear();
        if netlens_wire::dissect(pkt.linktype, pkt.data, &mut s).is_ok() {
            out.push((pkt.ts_ns, pkt.wire_len, s));
        }
    }
    out
}

const ATTACKS: &[&str] = &[
    "labeled/attack-pcap/stopddos/pkt.TCP.synflood.spoofed.pcap",
    "labeled/attack-pcap/stopddos/pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng",
    "labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-SynFlood.pcap",
    "labeled/attack-pcap/esnet/nmap_80_all.pcap",
    "labeled/attack-pcap/esnet/nmap_80_vanilla.pcap",
    "labeled/attack-pcap/esnet/nmap_80_w_service_detection.pcap",
    "labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap",
    "labeled/attack-pcap/esnet/udp_0_1000_20190821.pcap",
    "labeled/attack-pcap/chrissanders/synscan.pcapng",
    "pcap/ndpi/synscan.pcap",
    "pcap/ndpi/tcp_scan.pcapng",
];

/// Alert-threshold quantile of the validation scores.
const Q: f64 = 0.99;

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: anomaly_bench <shared data dir>");
        std::process::exit(2);
    };
    let d = Path::new(&dir);
    let p = |r: &str| d.join(r);
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let all = benign_captures(d)?;
        let train = benign_part(d, Part::Train)?;
        let val = benign_part(d, Part::Validation)?;
        let holdout = benign_part(d, Part::Holdout)?;
        let (n_train, n_val, n_hold) = (
            count_ip_packets(&train),
            count_ip_packets(&val),
            count_ip_packets(&holdout),
        );
        println!(
            "## Benign corpus
"
        );
        println!(
            "{} benign captures: every capture under `pcap/` not listed in \
             `labeled/ATTACK_LABELS.csv` and whose path contains none of {:?} \
             (fuzzed, truncated, malformed, evasion tests, crafted TCP flag permutations). \
             Split by file on CRC-32(path) mod 10 (`netlens_anomaly::eval::part_of`): \
             train {} files / {n_train} IP packets, validation {} files / {n_val}, \
             hold-out {} files / {n_hold}. No file is in two parts; each file is processed \
             with fresh per-host statistics.\n",
            all.len(),
            NOT_BENIGN,
            train.len(),
            val.len(),
            holdout.len()
        );

        let t = Instant::now();
        let mut m = train_iforest(&train, IforestConfig::default())?;
        let train_s = t.elapsed().as_secs_f64();
        let mut val_if = iforest_scores(&m, &val)?;
        let th_train = m.threshold;
        m.threshold = quantile(&mut val_if, Q);
        let benign_if = iforest_scores(&m, &holdout)?;

        let t = Instant::now();
        let mut det = Kitsune::new(KitsuneConfig::with_train_packets(n_train));
        kitsune_scores(&mut det, &train)?;
        let ktrain_s = t.elapsed().as_secs_f64();
        let sizes = det.ensemble_sizes();
        let mut val_k = kitsune_scores(&mut det.clone(), &val)?;
        let th = quantile(&mut val_k, Q);
        det.set_threshold(Some(th));
        let benign_k = kitsune_scores(&mut det.clone(), &holdout)?;

        println!("## Score separation (trained on benign only)\n");
        println!(
            "iforest: 200 trees × 256 rows on {} training flows (fit in {train_s:.1}s); \
             threshold = q{Q} of the {} validation flow scores = {:.4} (q0.995 of training \
             scores would be {th_train:.4}). Kitsune: {} features, trained on all {n_train} \
             training IP packets in one pass ({ktrain_s:.1}s), {} autoencoders of {}–{} inputs; \
             threshold = q{Q} of the {} validation packet scores = {th:.5}.\n",
            m.train_flows.1,
            val_if.len(),
            m.threshold,
            netlens_anomaly::kitsune::N_FEATURES,
            sizes.len(),
            sizes.iter().min().unwrap_or(&0),
            sizes.iter().max().unwrap_or(&0),
            val_k.len(),
        );
        println!(
            "**Benign hold-out alert rate** at these thresholds: iforest {:.4} of {} flows, \
             kitsune {:.4} of {} packets.\n",
            alert_rate(&benign_if, m.threshold),
            benign_if.len(),
            alert_rate(&benign_k, th),
            benign_k.len()
        );
        println!(
            "| attack capture | iforest flows | iforest ROC-AUC | iforest recall@thr | kitsune packets | kitsune ROC-AUC | kitsune recall@thr |"
        );
        println!("|---|---|---|---|---|---|---|");
        let speed_only = std::env::var_os("ANOMALY_BENCH_SPEED_ONLY").is_some();
        for a in ATTACKS.iter().filter(|_| !speed_only) {
            let ai = iforest_scores(&m, &[p(a)])?;
            let ak = kitsune_scores(&mut det.clone(), &[p(a)])?;
            let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
            println!(
                "| {a} | {} | {} | {:.3} | {} | {} | {:.3} |",
                ai.len(),
                f(auc(&benign_if, &ai)),
                alert_rate(&ai, m.threshold),
                ak.len(),
                f(auc(&benign_k, &ak)),
                alert_rate(&ak, th)
            );
        }
        // Throughput: the detector alone over pre-dissected packets, on one thread.
        println!("\n## Kitsune throughput\n");
        let pk = packets(&[p(ATTACKS[0]), p(ATTACKS[2])]);
        let benign_pk = packets(&holdout);
        let mut sink = 0.0;
        for (what, set) in [
            (
                "SYN-flood captures (every packet a new socket), repeated",
                &pk,
            ),
            ("benign hold-out captures, repeated", &benign_pk),
        ] {
            let mut d2 = det.clone();
            let wall = Instant::now();
            let c0 = cpu_seconds(&wall);
            let mut n = 0u64;
            let secs = if speed_only { 12.0 } else { 3.0 };
            while wall.elapsed().as_secs_f64() < secs {
                d2.new_capture();
                for (ts, len, s) in set {
                    sink += d2.process(*ts, *len, s).unwrap_or(0.0);
                    n += 1;
                }
            }
            let cpu = cpu_seconds(&wall) - c0;
            let wall_s = wall.elapsed().as_secs_f64();
            println!(
                "Feature extraction + KitNET scoring, one thread, {n} packets of {what}: \
                 **{:.0} packets per CPU-second** ({:.0} per wall-second; CPU {cpu:.2}s, wall {wall_s:.2}s). \
                 checksum {sink:.3}\n",
                n as f64 / cpu.max(1e-9),
                n as f64 / wall_s.max(1e-9)
            );
        }
        let mut fe = netlens_anomaly::kitsune::Extractor::new(100_000);
        let mut x = Vec::new();
        let wall = Instant::now();
        let c0 = cpu_seconds(&wall);
        let mut n = 0u64;
        while wall.elapsed().as_secs_f64() < 1.0 {
            fe.clear();
            for (ts, len, s) in &pk {
                fe.update(*ts, f64::from(*len), s, &mut x);
                sink += x.first().copied().unwrap_or(0.0);
                std::hint::black_box(&x);
                n += 1;
            }
        }
        let cpu = cpu_seconds(&wall) - c0;
        println!(
            "Feature extraction alone (SYN floods): {:.0} packets per CPU-second ({sink:.1}).",
            n as f64 / cpu.max(1e-9)
        );
        let wall = Instant::now();
        let c0 = cpu_seconds(&wall);
        let s = kitsune_scores(&mut det.clone(), &[p(ATTACKS[0])])?;
        let cpu = cpu_seconds(&wall) - c0;
        println!(
            "\nFull pass (read pcap + dissect + flow metering + Kitsune) over {}: {} packets in {cpu:.2} CPU-s = {:.0} packets per CPU-second.",
            ATTACKS[0],
            s.len(),
            s.len() as f64 / cpu.max(1e-9)
        );
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("anomaly_bench: {e}");
        std::process::exit(1);
    }
}
