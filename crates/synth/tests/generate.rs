//! End-to-end checks of the generator: determinism, readability with the
//! capture crate, dissection with the wire crate, labels vs. packets, size.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_synth::{SynthConfig, generate};
use netlens_wire::{PacketSummary, dissect};

fn gen_into(dir: &Path, seed: u64) -> netlens_synth::SynthOutput {
    let mut cfg = SynthConfig::new(dir.join("s.pcap"));
    cfg.seed = seed;
    generate(&cfg).expect("generate")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let oa = gen_into(a.path(), 42);
    let ob = gen_into(b.path(), 42);
    let oc = gen_into(c.path(), 43);
    let read = |p: &Path| std::fs::read(p).unwrap();
    assert_eq!(read(&oa.pcap), read(&ob.pcap));
    assert_eq!(read(&oa.labels), read(&ob.labels));
    assert_ne!(read(&oa.pcap), read(&oc.pcap));
    assert_ne!(read(&oa.labels), read(&oc.labels));
}

/// Canonical (unordered) conversation key.
type Key = (IpAddr, u16, IpAddr, u16, u8);

fn canon(a: IpAddr, ap: u16, b: IpAddr, bp: u16, proto: u8) -> Key {
    if (a, ap) <= (b, bp) {
        (a, ap, b, bp, proto)
    } else {
        (b, bp, a, ap, proto)
    }
}

#[test]
fn sample_reads_dissects_and_matches_labels() {
    let dir = tempfile::tempdir().unwrap();
    let out = gen_into(dir.path(), 1);
    let size =
        std::fs::metadata(&out.pcap).unwrap().len() + std::fs::metadata(&out.labels).unwrap().len();
    assert!(size < 2 * 1024 * 1024, "sample is {size} bytes");
    assert!(out.packets > 3000, "{} packets", out.packets);

    let mut r = CaptureReader::open(&[Input::Path(out.pcap.clone())], &ReadOptions::default())
        .expect("open");
    let mut sum = PacketSummary::default();
    // key -> (first_ms, last_ms, packets)
    let mut seen: HashMap<Key, (i64, i64, u64)> = HashMap::new();
    let (mut n, mut last_ts, mut vlan, mut v6, mut icmp) = (0u64, 0i64, 0, 0, 0);
    while let Some(p) = r.next_packet() {
        n += 1;
        assert!(p.ts_ns >= last_ts, "packets out of order");
        last_ts = p.ts_ns;
        assert_eq!(p.linktype, 1);
        dissect(p.linktype, p.data, &mut sum)
            .unwrap_or_else(|e| panic!("packet {n} does not dissect: {e}"));
        vlan += usize::from(sum.vlan_id == 100);
        v6 += usize::from(sum.ip_version == 6);
        icmp += usize::from(sum.protocol == 1 || sum.protocol == 58);
        let (sp, dp) = if sum.protocol == 1 || sum.protocol == 58 {
            (0, 0)
        } else {
            (sum.src_port, sum.dst_port)
        };
        let k = canon(sum.src_ip, sp, sum.dst_ip, dp, sum.protocol);
        let ms = p.ts_ns / 1_000_000;
        let e = seen.entry(k).or_insert((ms, ms, 0));
        e.0 = e.0.min(ms);
        e.1 = e.1.max(ms);
        e.2 += 1;
    }
    assert!(r.take_warnings().is_empty());
    assert_eq!(n, out.packets);
    assert!(
        vlan > 0 && v6 > 0 && icmp > 0,
        "vlan {vlan} v6 {v6} icmp {icmp}"
    );

    let mut rdr = csv::Reader::from_path(&out.labels).unwrap();
    let mut labelled: HashMap<Key, (i64, i64)> = HashMap::new();
    let mut kinds: HashMap<String, u64> = HashMap::new();
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let ip = |i: usize| rec[i].parse::<IpAddr>().unwrap();
        let num = |i: usize| rec[i].parse::<i64>().unwrap();
        let k = canon(ip(0), num(1) as u16, ip(2), num(3) as u16, num(4) as u8);
        let label = &rec[7];
        assert!(label == "benign" || label == "attack");
        assert_eq!(label == "attack", !rec[8].is_empty());
        *kinds.entry(rec[8].to_string()).or_default() += 1;
        // ICMP rows carry ports 0/0, so two pings between the same hosts share
        // a key: merge them as a flow meter without timeouts would.
        let e = labelled.entry(k).or_insert((num(5), num(6)));
        e.0 = e.0.min(num(5));
        e.1 = e.1.max(num(6));
    }
    for k in ["", "portscan", "synflood", "dns_amplification"] {
        assert!(kinds.get(k).copied().unwrap_or(0) > 0, "no {k:?} rows");
    }
    // Every conversation in the capture has exactly one label row with its times.
    assert_eq!(labelled.len(), seen.len());
    for (k, (first, last, _)) in &seen {
        let (lf, ll) = labelled
            .get(k)
            .unwrap_or_else(|| panic!("no label row for {k:?}"));
        assert_eq!((first, last), (lf, ll), "times of {k:?}");
    }
}
