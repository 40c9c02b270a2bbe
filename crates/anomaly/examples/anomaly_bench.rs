//! Benchmark of the unsupervised detectors: ROC-AUC per attack capture
//! against unseen benign traffic, and Kitsune throughput per CPU-second.
//! Usage: anomaly_bench <shared data dir>  (prints Markdown to stdout).

use std::path::{Path, PathBuf};
use std::time::Instant;

use netlens_anomaly::eval::{auc, iforest_scores, kitsune_scores, train_iforest};
use netlens_anomaly::iforest::IforestConfig;
use netlens_anomaly::kitsune::{Kitsune, KitsuneConfig};
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

fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: anomaly_bench <shared data dir>");
        std::process::exit(2);
    };
    let d = Path::new(&dir);
    let p = |r: &str| d.join(r);
    let train = vec![p("pcap/nfstream/skype.pcap"), p("pcap/nfstream/pps.pcap")];
    let holdout = vec![
        p("pcap/nfstream/instagram.pcap"),
        p("pcap/ndpi/alexa-app.pcapng"),
    ];
    let attacks = [
        "labeled/attack-pcap/stopddos/pkt.TCP.synflood.spoofed.pcap",
        "labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-SynFlood.pcap",
        "labeled/attack-pcap/esnet/nmap_80_all.pcap",
        "labeled/attack-pcap/esnet/nmap_80_vanilla.pcap",
        "labeled/attack-pcap/esnet/nmap_80_w_service_detection.pcap",
        "labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap",
        "labeled/attack-pcap/chrissanders/synscan.pcapng",
    ];
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        let t = Instant::now();
        let m = train_iforest(&train, IforestConfig::default())?;
        let train_s = t.elapsed().as_secs_f64();
        let benign_if = iforest_scores(&m, &holdout)?;
        let mut det = Kitsune::new(KitsuneConfig::with_train_packets(5_600));
        kitsune_scores(&mut det, &train)?;
        let benign_k = kitsune_scores(&mut det.clone(), &holdout)?;
        let th = det.threshold().unwrap_or(f64::INFINITY);
        println!("## Score separation (trained on benign only)\n");
        println!(
            "Training: nfstream/skype.pcap + nfstream/pps.pcap. Benign hold-out: nfstream/instagram.pcap + ndpi/alexa-app.pcapng \
             ({} flows, {} packets scored). iforest: 200 trees × 256 rows, {} training flows, \
             threshold q0.995 = {:.4} (fit in {train_s:.2}s). Kitsune: trained on the first 5600 IP \
             packets (5626 in the training captures), threshold q0.999 of training scores = {th:.5}.\n",
            benign_if.len(),
            benign_k.len(),
            m.train_flows.1,
            m.threshold
        );
        let fpr = |v: &[f64], th: f64| {
            v.iter().filter(|s| **s > th).count() as f64 / v.len().max(1) as f64
        };
        println!(
            "Benign hold-out alert rate at the default threshold: iforest {:.3}, kitsune {:.3}.\n",
            fpr(&benign_if, m.threshold),
            fpr(&benign_k, th)
        );
        println!(
            "| attack capture | iforest flows | iforest ROC-AUC | iforest recall@thr | kitsune packets | kitsune ROC-AUC | kitsune recall@thr |"
        );
        println!("|---|---|---|---|---|---|---|");
        for a in attacks {
            let ai = iforest_scores(&m, &[p(a)])?;
            let ak = kitsune_scores(&mut det.clone(), &[p(a)])?;
            let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
            println!(
                "| {a} | {} | {} | {:.3} | {} | {} | {:.3} |",
                ai.len(),
                f(auc(&benign_if, &ai)),
                fpr(&ai, m.threshold),
                ak.len(),
                f(auc(&benign_k, &ak)),
                fpr(&ak, th)
            );
        }
        // Throughput: the detector alone over pre-dissected packets, on one thread.
        let pk = packets(&[p(attacks[0]), p(attacks[1])]);
        let mut d2 = det.clone();
        let wall = Instant::now();
        let c0 = cpu_seconds(&wall);
        let mut n = 0u64;
        let mut sink = 0.0;
        while wall.elapsed().as_secs_f64() < 3.0 {
            for (ts, len, s) in &pk {
                sink += d2.process(*ts, *len, s).unwrap_or(0.0);
                n += 1;
            }
        }
        let cpu = cpu_seconds(&wall) - c0;
        let wall_s = wall.elapsed().as_secs_f64();
        println!("\n## Kitsune throughput\n");
        println!(
            "Feature extraction + KitNET scoring, one thread, {n} packets (SYN-flood captures, repeated): \
             {:.0} packets per CPU-second ({:.0} per wall-second; CPU {cpu:.2}s, wall {wall_s:.2}s). \
             checksum {sink:.3}",
            n as f64 / cpu.max(1e-9),
            n as f64 / wall_s.max(1e-9)
        );
        let wall = Instant::now();
        let c0 = cpu_seconds(&wall);
        let s = kitsune_scores(&mut det.clone(), &[p(attacks[0])])?;
        let cpu = cpu_seconds(&wall) - c0;
        println!(
            "\nFull pass (read pcap + dissect + flow metering + Kitsune) over {}: {} packets in {cpu:.2} CPU-s = {:.0} packets per CPU-second.",
            attacks[0],
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
