//! Score separation on real captures: both detectors, trained on the
//! training part of the benign corpus only (files split by
//! `eval::part_of`), thresholds calibrated on the validation part, must
//! keep the benign hold-out alert rate low and rank SYN-flood and scan
//! traffic above the hold-out. Floors sit below the measured values
//! (bench/anomaly/RESULTS.md) with margin.

use std::path::PathBuf;

use netlens_anomaly::eval::{
    Part, alert_rate, auc, benign_part, count_ip_packets, iforest_scores, kitsune_scores,
    train_iforest,
};
use netlens_anomaly::iforest::IforestConfig;
use netlens_anomaly::kitsune::{Kitsune, KitsuneConfig, quantile};

fn data() -> PathBuf {
    let d = std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        d.join("INDEX.csv").exists(),
        "shared test data not found at {} (set NETLENS_SHARED_DATA)",
        d.display()
    );
    d
}

/// (capture, iforest AUC floor, kitsune AUC floor).
const ATTACKS: &[(&str, f64, f64)] = &[
    (
        "labeled/attack-pcap/stopddos/pkt.TCP.synflood.spoofed.pcap",
        0.9,
        0.97,
    ),
    (
        "labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-SynFlood.pcap",
        0.95,
        0.95,
    ),
    (
        "labeled/attack-pcap/esnet/tcp_0_1000_20190821.pcap",
        0.95,
        0.93,
    ),
    (
        "labeled/attack-pcap/chrissanders/synscan.pcapng",
        0.95,
        0.93,
    ),
    ("labeled/attack-pcap/esnet/nmap_80_all.pcap", 0.85, 0.0),
];

/// Most hold-out benign units (flows / packets) over the calibrated threshold.
const MAX_FP: f64 = 0.02;

#[test]
fn iforest_separates_attacks_from_unseen_benign() {
    let d = data();
    let train = benign_part(&d, Part::Train).unwrap();
    assert!(train.len() > 300, "{} training files", train.len());
    let mut m = train_iforest(
        &train,
        IforestConfig {
            n_trees: 100,
            ..IforestConfig::default()
        },
    )
    .unwrap();
    let mut val = iforest_scores(&m, &benign_part(&d, Part::Validation).unwrap()).unwrap();
    m.threshold = quantile(&mut val, 0.99);
    let benign = iforest_scores(&m, &benign_part(&d, Part::Holdout).unwrap()).unwrap();
    let fp = alert_rate(&benign, m.threshold);
    eprintln!(
        "iforest: {} hold-out flows, alert rate {fp:.4}",
        benign.len()
    );
    assert!(benign.len() > 1000, "{}", benign.len());
    assert!(fp <= MAX_FP, "hold-out alert rate {fp}");
    for (cap, floor, _) in ATTACKS {
        let attack = iforest_scores(&m, &[d.join(cap)]).unwrap();
        let a = auc(&benign, &attack).unwrap();
        eprintln!("iforest {cap}: AUC {a:.4} ({} attack flows)", attack.len());
        assert!(a >= *floor, "{cap}: AUC {a} < {floor}");
    }
}

#[test]
fn kitsune_separates_attacks_from_unseen_benign() {
    let d = data();
    let train = benign_part(&d, Part::Train).unwrap();
    let n = count_ip_packets(&train);
    assert!(n > 30_000, "{n} training packets");
    let mut det = Kitsune::new(KitsuneConfig::with_train_packets(n));
    kitsune_scores(&mut det, &train).unwrap();
    assert!(det.trained(), "{} IP packets", det.packets);
    let mut val = kitsune_scores(
        &mut det.clone(),
        &benign_part(&d, Part::Validation).unwrap(),
    )
    .unwrap();
    let th = quantile(&mut val, 0.99);
    det.set_threshold(Some(th));
    let benign =
        kitsune_scores(&mut det.clone(), &benign_part(&d, Part::Holdout).unwrap()).unwrap();
    let fp = alert_rate(&benign, th);
    eprintln!(
        "kitsune: {} hold-out packets, alert rate {fp:.4}",
        benign.len()
    );
    assert!(benign.len() > 10_000);
    assert!(fp <= MAX_FP, "hold-out alert rate {fp}");
    for (cap, _, floor) in ATTACKS {
        let attack = kitsune_scores(&mut det.clone(), &[d.join(cap)]).unwrap();
        let a = auc(&benign, &attack).unwrap();
        eprintln!(
            "kitsune {cap}: AUC {a:.4} ({} attack packets)",
            attack.len()
        );
        assert!(a >= *floor, "{cap}: AUC {a} < {floor}");
    }
}
