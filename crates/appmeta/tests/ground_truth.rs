//! Agreement of SNI / JA3 / JA4 with nDPI's expected output, and QUIC
//! Initial decoding against Suricata's verify suite, on the shared captures.
//!
//! Flows are grouped here by a plain unordered 5-tuple map (the flow meter
//! is not used, so this test exercises only this crate plus capture/wire).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netlens_appmeta::{AppMeta, AppState};
use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_wire::PacketSummary;

fn shared_data() -> PathBuf {
    match std::env::var_os("NETLENS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Unordered flow key: protocol and the two endpoints, smaller first.
type Key = (u8, (IpAddr, u16), (IpAddr, u16));

fn key(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

struct FlowState {
    client: (IpAddr, u16),
    state: AppState,
}

/// Run every packet of `path` through per-flow [`AppState`]s.
fn flows_of(path: &Path) -> HashMap<Key, AppMeta> {
    let mut reader =
        CaptureReader::open(&[Input::Path(path.to_path_buf())], &ReadOptions::default())
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut flows: HashMap<Key, FlowState> = HashMap::new();
    let mut summary = PacketSummary::default();
    while let Some(pkt) = reader.next_packet() {
        summary.clear();
        if netlens_wire::dissect(pkt.linktype, pkt.data, &mut summary).is_err() {
            continue;
        }
        if !summary.ports_known || !(summary.protocol == 6 || summary.protocol == 17) {
            continue;
        }
        let src = (summary.src_ip, summary.src_port);
        let dst = (summary.dst_ip, summary.dst_port);
        let k = key(summary.protocol, src, dst);
        let f = flows.entry(k).or_insert_with(|| FlowState {
            client: src,
            state: AppState::new(summary.protocol, src.1, dst.1),
        });
        let payload = summary.payload(pkt.data);
        f.state.on_payload(src == f.client, payload);
    }
    flows
        .into_iter()
        .map(|(k, f)| (k, f.state.into_meta()))
        .collect()
}

/// One flow line of an nDPI `.out` file.
struct NdpiFlow {
    key: Key,
    sni: Option<String>,
    ja3c: Option<String>,
    ja4: Option<String>,
}

fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = s.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some((ip.parse().ok()?, port.parse().ok()?))
}

fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("[{name}: "))? + name.len() + 3;
    let end = line[start..].find(']')? + start;
    Some(line[start..end].to_string())
}

fn ndpi_flows(out: &Path) -> Vec<NdpiFlow> {
    let text = std::fs::read_to_string(out).unwrap_or_default();
    let mut v = Vec::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(_idx), Some(proto), Some(a), Some(_arrow), Some(b)) =
            (it.next(), it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        let proto = match proto {
            "TCP" => 6,
            "UDP" => 17,
            _ => continue,
        };
        let (Some(a), Some(b)) = (parse_endpoint(a), parse_endpoint(b)) else {
            continue;
        };
        v.push(NdpiFlow {
            key: key(proto, a, b),
            sni: field(line, "Hostname/SNI"),
            ja3c: field(line, "JA3C"),
            ja4: field(line, "JA4"),
        });
    }
    v
}

/// JA4 without the SNI flag and the ALPN characters (protocol, version,
/// counts and both hashes): the parts where nDPI follows FoxIO's definition.
/// nDPI's SNI flag and ALPN characters differ from FoxIO's text (see RESULTS.md).
fn ja4_core(j: &str) -> Option<String> {
    let (a, bc) = j.split_once('_')?;
    Some(format!("{}{}_{bc}", a.get(0..3)?, a.get(4..8)?))
}

#[derive(Default, Debug)]
struct Tally {
    n: usize,
    agree: usize,
    mismatches: Vec<String>,
}

impl Tally {
    fn add(&mut self, ok: bool, what: impl FnOnce() -> String) {
        self.n += 1;
        if ok {
            self.agree += 1;
        } else if self.mismatches.len() < 25 {
            self.mismatches.push(what());
        }
    }
    fn rate(&self) -> f64 {
        if self.n == 0 {
            1.0
        } else {
            self.agree as f64 / self.n as f64
        }
    }
}

#[test]
fn ndpi_sni_ja3_ja4_agreement() {
    let data = shared_data();
    let pcaps = data.join("pcap/ndpi");
    let expected = data.join("pcap-expected/ndpi");
    let mut names: Vec<_> = std::fs::read_dir(&expected)
        .unwrap_or_else(|e| {
            panic!(
                "shared data not found at {} ({e}); set NETLENS_SHARED_DATA",
                expected.display()
            )
        })
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".out"))
        .collect();
    names.sort();
    let (mut sni_t, mut sni_q, mut ja3_t, mut ja3_q) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let (mut ja4_t, mut ja4_q, mut ja4bc_t, mut ja4bc_q) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let mut files = 0;
    for name in names {
        let out = expected.join(&name);
        let flows = ndpi_flows(&out);
        if !flows.iter().any(|f| f.ja3c.is_some() || f.ja4.is_some()) {
            continue;
        }
        let pcap = pcaps.join(name.trim_end_matches(".out"));
        if !pcap.exists() {
            continue;
        }
        files += 1;
        let ours = flows_of(&pcap);
        for f in &flows {
            // Only flows where nDPI parsed a TLS/QUIC ClientHello (it printed a fingerprint).
            let Some(nja4) = &f.ja4 else { continue };
            let quic = nja4.starts_with('q');
            if nja4.starts_with('d') {
                continue; // DTLS is not decoded by this crate.
            }
            let m = ours.get(&f.key);
            let label = || format!("{name} {:?}", f.key);
            if let Some(sni) = &f.sni {
                let got = m.and_then(|m| m.server_name.clone());
                let t = if quic { &mut sni_q } else { &mut sni_t };
                t.add(got.as_deref() == Some(sni.as_str()), || {
                    format!("{} sni nDPI={sni} ours={got:?}", label())
                });
            }
            if let Some(ja3) = &f.ja3c {
                let got = m.and_then(|m| m.ja3_hash.clone());
                let t = if quic { &mut ja3_q } else { &mut ja3_t };
                t.add(got.as_deref() == Some(ja3.as_str()), || {
                    format!("{} ja3 nDPI={ja3} ours={got:?}", label())
                });
            }
            let got = m.and_then(|m| m.ja4.clone());
            let (t, tb) = if quic {
                (&mut ja4_q, &mut ja4bc_q)
            } else {
                (&mut ja4_t, &mut ja4bc_t)
            };
            t.add(got.as_deref() == Some(nja4.as_str()), || {
                format!("{} ja4 nDPI={nja4} ours={got:?}", label())
            });
            let ok = got
                .as_deref()
                .and_then(ja4_core)
                .is_some_and(|g| Some(g) == ja4_core(nja4));
            tb.add(ok, || {
                format!("{} ja4-core nDPI={nja4} ours={got:?}", label())
            });
        }
    }
    let report = |what: &str, t: &Tally| {
        println!("{what}: {}/{} = {:.1} %", t.agree, t.n, 100.0 * t.rate());
        for m in &t.mismatches {
            println!("    {m}");
        }
    };
    println!("nDPI captures with TLS/QUIC fingerprints: {files}");
    report("TLS SNI", &sni_t);
    report("TLS JA3C", &ja3_t);
    report("TLS JA4 (exact)", &ja4_t);
    report("TLS JA4 (without SNI flag and ALPN chars)", &ja4bc_t);
    report("QUIC SNI", &sni_q);
    report("QUIC JA3C", &ja3_q);
    report("QUIC JA4 (exact)", &ja4_q);
    report("QUIC JA4 (without SNI flag and ALPN chars)", &ja4bc_q);
    assert!(
        files > 50,
        "expected many nDPI captures with fingerprints, got {files}"
    );
    assert!(sni_t.n > 300 && ja3_t.n > 300 && ja4_t.n > 300);
    assert!(
        sni_t.rate() >= FLOOR_TLS_SNI,
        "TLS SNI agreement {:.3}",
        sni_t.rate()
    );
    assert!(
        ja3_t.rate() >= FLOOR_TLS_JA3,
        "TLS JA3 agreement {:.3}",
        ja3_t.rate()
    );
    assert!(
        ja4bc_t.rate() >= FLOOR_TLS_JA4,
        "TLS JA4 agreement {:.3}",
        ja4bc_t.rate()
    );
    assert!(sni_q.n > 50, "QUIC flows with SNI: {}", sni_q.n);
    assert!(
        sni_q.rate() >= FLOOR_QUIC_SNI,
        "QUIC SNI agreement {:.3}",
        sni_q.rate()
    );
    assert!(
        ja4bc_q.rate() >= FLOOR_QUIC_JA4,
        "QUIC JA4 agreement {:.3}",
        ja4bc_q.rate()
    );
}

// Floors set a little under the measured rates (see RESULTS.md: 99.5 %,
// 99.8 %, 99.4 %, 97.0 %, 97.2 %). JA4 floors apply to the parts where
// nDPI follows FoxIO's definition ([`ja4_core`]).
const FLOOR_TLS_SNI: f64 = 0.98;
const FLOOR_TLS_JA3: f64 = 0.98;
const FLOOR_TLS_JA4: f64 = 0.97;
const FLOOR_QUIC_SNI: f64 = 0.95;
const FLOOR_QUIC_JA4: f64 = 0.95;

/// All metas of a Suricata-verify capture that decoded a QUIC ClientHello.
fn suricata_quic(test: &str) -> Vec<AppMeta> {
    let dir = shared_data().join("pcap/suricata-verify").join(test);
    let pcap = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "pcap"))
        .unwrap_or_else(|| panic!("no pcap in {}", dir.display()));
    flows_of(&pcap)
        .into_values()
        .filter(|m| m.service == "quic" && m.ja4.is_some())
        .collect()
}

#[test]
fn suricata_verify_quic() {
    let ietf = suricata_quic("quic-ietf");
    assert!(ietf.iter().any(|m| {
        m.server_name.as_deref() == Some("msquic.net")
            && m.alpn
                .as_deref()
                .is_some_and(|a| a.split(',').next() == Some("h3-29"))
    }));
    let v2 = suricata_quic("quic-v2");
    assert!(v2.iter().any(|m| m.quic_version.as_deref() == Some("v2")
        && m.alpn.as_deref().is_some_and(|a| a.starts_with("h3"))));
    let frag = suricata_quic("quic-frag");
    assert!(
        frag.iter()
            .any(|m| m.alpn.as_deref().is_some_and(|a| a.starts_with("h3")))
    );
    let unordered = suricata_quic("quic-frag-unordered");
    assert!(
        unordered
            .iter()
            .any(|m| m.server_name.as_deref() == Some("mastodon.social"))
    );
    let gap = suricata_quic("quic-frag-middle-gap");
    assert!(
        gap.iter()
            .any(|m| m.server_name.as_deref() == Some("optimizationguide-pa.googleapis.com"))
    );
    for t in [
        "quic-frag-wait",
        "quic-initial-not-first",
        "quic-retry",
        "quic-retry-multiple",
        "quic-ack3",
    ] {
        assert!(!suricata_quic(t).is_empty(), "{t}: no ClientHello decoded");
    }
    let ja4 = suricata_quic("ja4-quic");
    assert!(!ja4.is_empty());
    for m in &ja4 {
        assert_eq!(
            m.ja4.as_deref(),
            Some("q13d0310h3_55b375c5d22e_cd85d2d88918")
        );
    }
    let both = shared_data().join("pcap/suricata-verify/ja4-tls-quic/input.pcap");
    let metas: Vec<AppMeta> = flows_of(&both).into_values().collect();
    assert!(
        metas
            .iter()
            .any(|m| m.ja4.as_deref() == Some("t13d1516h2_8daaf6152771_e5627efa2ab1"))
    );
    assert!(
        metas
            .iter()
            .any(|m| m.ja4.as_deref() == Some("q13d0310h3_55b375c5d22e_cd85d2d88918"))
    );
}

#[test]
fn suricata_verify_tls_fragmented_client_hello() {
    let p =
        shared_data().join("pcap/suricata-verify/tls/tls-client-hello-frag-01/dump_mtu300.pcap");
    let metas: Vec<AppMeta> = flows_of(&p).into_values().collect();
    assert!(
        metas
            .iter()
            .any(|m| m.server_name.as_deref() == Some("www.google.com"))
    );
}
