//! Dissects every capture under the shared data directory: no panics, an
//! outcome table, and specific facts about real tunnel captures checked
//! against the Zeek conn.log baselines in `pcap-expected/zeek`.

use netlens_wire::{PacketSummary, TunnelKind, dissect, linktype::linktype_name};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The shared data directory (`NETLENS_SHARED_DATA` overrides).
fn data_dir() -> PathBuf {
    match std::env::var_os("NETLENS_SHARED_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// Every capture file below `dir`, sorted.
fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if matches!(
            p.extension().and_then(|s| s.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            out.push(p);
        }
    }
    out.sort();
}

/// Read all records of a pcap or pcapng file as (link type, captured bytes).
/// Returns the records and whether the file ended with a read error.
fn read_packets(path: &Path) -> (Vec<(u32, Vec<u8>)>, bool) {
    let mut packets = Vec::new();
    let Ok(file) = std::fs::File::open(path) else {
        return (packets, true);
    };
    let Ok(mut reader) = create_reader(8 << 20, file) else {
        return (packets, true);
    };
    let mut legacy_lt = 1u32;
    let mut if_lts: Vec<u32> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => legacy_lt = h.network.0 as u32,
                    PcapBlockOwned::Legacy(b) => packets.push((legacy_lt, b.data.to_vec())),
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => if_lts.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        if_lts.push(idb.linktype.0 as u32)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let lt = if_lts.get(epb.if_id as usize).copied().unwrap_or(u32::MAX);
                        packets.push((lt, epb.packet_data().to_vec()));
                    }
                    PcapBlockOwned::NG(Block::SimplePacket(spb)) => {
                        let lt = if_lts.first().copied().unwrap_or(u32::MAX);
                        packets.push((lt, spb.packet_data().to_vec()));
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => return (packets, false),
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    return (packets, true);
                }
            }
            Err(_) => return (packets, true),
        }
    }
}

/// Dissect every packet of one capture.
fn dissect_file(path: &Path) -> Vec<(u32, Result<PacketSummary, netlens_wire::DissectError>)> {
    let (packets, _) = read_packets(path);
    let mut out = PacketSummary::default();
    packets
        .iter()
        .map(|(lt, data)| {
            let r = dissect(*lt, data, &mut out).map(|()| out);
            if r.is_ok() {
                let end = out.payload_offset as usize + out.payload_captured as usize;
                assert!(
                    end <= data.len(),
                    "{}: payload out of frame",
                    path.display()
                );
            }
            (*lt, r)
        })
        .collect()
}

#[test]
fn every_shared_capture_dissects_without_panic() {
    let dir = data_dir();
    let mut files = Vec::new();
    captures(&dir, &mut files);
    if files.is_empty() {
        panic!(
            "no captures found under {} (set NETLENS_SHARED_DATA)",
            dir.display()
        );
    }
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_lt: BTreeMap<(u32, &str), (u64, u64)> = BTreeMap::new();
    let mut tunnels: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut total, mut ok, mut read_errors) = (0u64, 0u64, 0u64);
    let mut fast_answered = 0u64;
    let mut out = PacketSummary::default();
    let start = std::time::Instant::now();
    for f in &files {
        let (packets, err) = read_packets(f);
        read_errors += u64::from(err);
        for (lt, data) in &packets {
            total += 1;
            let e = per_lt.entry((*lt, linktype_name(*lt))).or_default();
            e.0 += 1;
            let fast = netlens_wire::fast_tuple(*lt, data);
            fast_answered += u64::from(fast.is_some());
            match dissect(*lt, data, &mut out) {
                Ok(()) => {
                    // The fast path's contract: same flow fields as the dissector.
                    if let Some(t) = fast {
                        assert_eq!(
                            (
                                t.ip_version,
                                t.src_ip(),
                                t.dst_ip(),
                                t.protocol,
                                t.src_port,
                                t.dst_port
                            ),
                            (
                                out.ip_version,
                                out.src_ip,
                                out.dst_ip,
                                out.protocol,
                                out.src_port,
                                out.dst_port
                            ),
                            "fast path disagrees in {}",
                            f.display()
                        );
                        assert_eq!((out.vlan_id, out.tunnel_id), (0, 0), "{}", f.display());
                    }
                    ok += 1;
                    e.1 += 1;
                    *reasons.entry("ok".into()).or_default() += 1;
                    if out.tunnel != TunnelKind::None {
                        *tunnels.entry(out.tunnel.name()).or_default() += 1;
                    }
                    let end = out.payload_offset as usize + out.payload_captured as usize;
                    assert!(end <= data.len());
                }
                Err(err) => {
                    assert!(
                        fast.is_none(),
                        "fast path answered for a packet the dissector rejects ({err}) in {}",
                        f.display()
                    );
                    *reasons.entry(err.reason().into()).or_default() += 1
                }
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} files ({} with read errors), {total} packets, {ok} ok, {secs:.2}s",
        files.len(),
        read_errors
    );
    println!("{:<28} {:>10}", "outcome", "packets");
    for (r, n) in &reasons {
        println!("{r:<28} {n:>10}");
    }
    println!("{:<6} {:<22} {:>10} {:>10}", "lt", "name", "packets", "ok");
    for ((lt, name), (n, k)) in &per_lt {
        println!("{lt:<6} {name:<22} {n:>10} {k:>10}");
    }
    println!("tunnels: {tunnels:?}");
    println!("fast path answered for {fast_answered} of {total} packets");
    assert!(
        fast_answered * 2 > total,
        "the fast path should cover most real packets"
    );
    assert!(files.len() > 100, "expected the full shared corpus");
    // Nearly all real traffic is IP: a regression in a common path shows here.
    assert!(
        ok * 100 >= total * 90,
        "only {ok} of {total} packets dissected"
    );
    for kind in [
        "vxlan", "geneve", "gre", "erspan", "gtpu", "ipip", "teredo", "ayiya",
    ] {
        assert!(
            tunnels.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} packet decoded"
        );
    }
}

/// Path of a capture relative to the data directory.
fn cap(rel: &str) -> PathBuf {
    data_dir().join(rel)
}

/// Unordered conversation key: protocol and the two (address, port) ends.
type Key = (u8, (IpAddr, u16), (IpAddr, u16));

fn key(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    // ICMP has no ports; Zeek puts type/code there, we compare addresses only.
    let (a, b) = if proto == 1 || proto == 58 {
        ((a.0, 0), (b.0, 0))
    } else {
        (a, b)
    };
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

/// Packet counts per inner conversation from a Zeek conn.log (connections
/// that have tunnel parents), summed over connections with the same key.
fn zeek_inner_conns(baseline: &str) -> HashMap<Key, u64> {
    let path = data_dir()
        .join("pcap-expected/zeek")
        .join(baseline)
        .join("conn.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields: Vec<&str> = Vec::new();
    let mut conns = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#fields\t") {
            fields = rest.split('\t').collect();
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let get = |name: &str| {
            fields
                .iter()
                .position(|f| *f == name)
                .and_then(|i| cols.get(i))
                .copied()
        };
        if get("tunnel_parents").unwrap_or("-") == "-" {
            continue;
        }
        let proto = match get("proto") {
            Some("tcp") => 6,
            Some("udp") => 17,
            Some("icmp") => {
                if get("id.orig_h").is_some_and(|h| h.contains(':')) {
                    58
                } else {
                    1
                }
            }
            _ => continue,
        };
        let addr = |n: &str| get(n).and_then(|s| s.parse::<IpAddr>().ok());
        let port = |n: &str| get(n).and_then(|s| s.parse::<u16>().ok());
        let (Some(oh), Some(op), Some(rh), Some(rp)) = (
            addr("id.orig_h"),
            port("id.orig_p"),
            addr("id.resp_h"),
            port("id.resp_p"),
        ) else {
            continue;
        };
        let pk: u64 = ["orig_pkts", "resp_pkts"]
            .iter()
            .filter_map(|n| get(n).and_then(|s| s.parse::<u64>().ok()))
            .sum();
        *conns.entry(key(proto, (oh, op), (rh, rp))).or_default() += pk;
    }
    conns
}

/// Our per-conversation packet counts (tunnelled packets only).
fn our_inner_conns(rel: &str) -> HashMap<Key, u64> {
    let mut m = HashMap::new();
    for (_, r) in dissect_file(&cap(rel)) {
        if let Ok(s) = r
            && s.tunnel != TunnelKind::None
        {
            *m.entry(key(
                s.protocol,
                (s.src_ip, s.src_port),
                (s.dst_ip, s.dst_port),
            ))
            .or_default() += 1;
        }
    }
    m
}

/// Inner connections Zeek reports that we do not find with the same packet
/// count, as (key, zeek packets, our packets).
fn zeek_mismatches(baseline: &str, rel: &str) -> Vec<(Key, u64, u64)> {
    let zeek = zeek_inner_conns(baseline);
    let ours = our_inner_conns(rel);
    zeek.iter()
        .filter(|(k, n)| ours.get(*k) != Some(*n))
        .map(|(k, n)| (*k, *n, ours.get(k).copied().unwrap_or(0)))
        .collect()
}

/// Every inner connection Zeek reports is found with the same packet count.
fn check_against_zeek(baseline: &str, rel: &str) {
    assert!(
        !zeek_inner_conns(baseline).is_empty(),
        "{baseline}: no tunnelled connections"
    );
    let m = zeek_mismatches(baseline, rel);
    assert!(
        m.is_empty(),
        "{baseline}: mismatched inner conversations {m:?}"
    );
}

#[test]
#[ignore = "exploratory report over every tunnel baseline"]
fn zeek_all_tunnel_baselines_report() {
    let map = std::fs::read_to_string(data_dir().join("pcap-expected/zeek/MAPPING.csv"))
        .unwrap_or_default();
    for line in map.lines().skip(1) {
        let mut it = line.split(',');
        let (Some(b), Some(rel)) = (it.next(), it.next()) else {
            continue;
        };
        if !data_dir()
            .join("pcap-expected/zeek")
            .join(b)
            .join("conn.log")
            .exists()
            || zeek_inner_conns(b).is_empty()
        {
            continue;
        }
        let m = zeek_mismatches(b, rel);
        println!("{b:<50} {} mismatches {m:?}", m.len());
    }
}

#[test]
fn zeek_tunnel_baselines_match() {
    for (baseline, rel) in [
        ("core.tunnels.vxlan", "pcap/zeek/tunnels/vxlan.pcap"),
        ("core.tunnels.geneve", "pcap/zeek/tunnels/geneve.pcap"),
        ("core.tunnels.gre", "pcap/zeek/tunnels/gre-sample.pcap"),
        ("core.tunnels.gre-pptp", "pcap/zeek/tunnels/gre-pptp.pcap"),
        ("core.tunnels.teredo", "pcap/zeek/tunnels/Teredo.pcap"),
        ("core.tunnels.ayiya", "pcap/zeek/tunnels/ayiya3.pcap"),
        (
            "core.tunnels.gtp.opt_header",
            "pcap/zeek/tunnels/gtp/gtp6_gtp_0x32.pcap",
        ),
        (
            "core.tunnels.gtp.inner_ipv6",
            "pcap/zeek/tunnels/gtp/gtp7_ipv6.pcap",
        ),
        ("core.erspanII", "pcap/zeek/erspanII.pcap"),
        ("core.erspanIII", "pcap/zeek/erspanIII.pcap"),
        (
            "core.tunnels.geneve-ipv6",
            "pcap/zeek/tunnels/geneve-ipv6.pcap",
        ),
        ("core.erspanI", "pcap/zeek/erspanI.pcap"),
        (
            "core.tunnels.analyzer-confirmation",
            "pcap/zeek/tunnels/vxlan-encapsulated-http.pcap",
        ),
        (
            "core.tunnels.ayiya-large-identity",
            "pcap/zeek/tunnels/ayiya-large-identity.pcap",
        ),
        (
            "core.tunnels.geneve-47101",
            "pcap/zeek/tunnels/geneve-47101.pcap",
        ),
        (
            "core.tunnels.geneve-many-options",
            "pcap/zeek/tunnels/geneve-many-options.pcap",
        ),
        (
            "core.tunnels.gre-in-gre",
            "pcap/zeek/tunnels/gre-within-gre.pcap",
        ),
        (
            "core.tunnels.gre-over-udp",
            "pcap/zeek/tunnels/gre-over-udp-4754.pcap",
        ),
        (
            "core.tunnels.teredo_bubble_with_payload",
            "pcap/zeek/tunnels/teredo_bubble_with_payload.pcap",
        ),
        // Inner packets decoded from the first of two outer IP fragments.
        (
            "core.tunnels.gtp.different_dl_and_ul",
            "pcap/zeek/tunnels/gtp/gtp2_different_udp_port.pcap",
        ),
    ] {
        check_against_zeek(baseline, rel);
    }
}

/// Successful summaries of one capture, in order.
fn summaries(rel: &str) -> Vec<Option<PacketSummary>> {
    dissect_file(&cap(rel))
        .into_iter()
        .map(|(_, r)| r.ok())
        .collect()
}

#[test]
fn vxlan_capture_facts() {
    // Bytes checked by hand: VXLAN header 08 00 00 00 00 00 7b 00 (VNI 123),
    // inner ICMP echo 10.0.0.1 <-> 10.0.0.2; the first two packets carry ARP
    // inside VXLAN and stay outer UDP/4789 packets.
    let s = summaries("pcap/zeek/tunnels/vxlan.pcap");
    assert_eq!(s.len(), 10);
    let inner: Vec<_> = s
        .iter()
        .flatten()
        .filter(|p| p.tunnel == TunnelKind::Vxlan)
        .collect();
    assert_eq!(inner.len(), 8);
    for p in &inner {
        assert_eq!((p.tunnel_id, p.protocol), (123, 1));
        let ends = [p.src_ip.to_string(), p.dst_ip.to_string()];
        assert!(ends.contains(&"10.0.0.1".to_string()) && ends.contains(&"10.0.0.2".to_string()));
    }
    let first = s[0].expect("outer packet");
    assert_eq!(
        (first.tunnel, first.protocol, first.dst_port),
        (TunnelKind::None, 17, 4789)
    );
}

#[test]
fn gtp_and_ip_in_ip_capture_facts() {
    let s = summaries("pcap/zeek/tunnels/gtp/gtp6_gtp_0x32.pcap");
    let p = s[0].expect("first GTP packet");
    assert_eq!((p.tunnel, p.tunnel_id), (TunnelKind::GtpU, 0x760d_3bb0));
    assert_eq!(
        (
            p.src_ip.to_string(),
            p.src_port,
            p.dst_ip.to_string(),
            p.dst_port,
            p.tcp.flags
        ),
        (
            "10.222.10.10".to_string(),
            44960,
            "173.194.69.188".to_string(),
            5228,
            0x02
        )
    );
    // nDPI's expected output for these captures lists the inner flows.
    let p = summaries("pcap/ndpi/4in4tunnel.pcap")[0].expect("4in4");
    assert_eq!(
        (p.tunnel, p.protocol, p.src_port, p.dst_port),
        (TunnelKind::IpInIp, 17, 62367, 17000)
    );
    // QinQ 1624/505: the outermost VLAN is kept (nDPI shows the inner one).
    assert_eq!((p.vlan_id, p.vlan_depth), (1624, 2));
    let p = summaries("pcap/ndpi/4in6tunnel.pcap")[0].expect("4in6");
    assert_eq!(
        (p.tunnel, p.src_ip.to_string(), p.dst_port),
        (TunnelKind::IpInIp, "192.168.0.1".to_string(), 443)
    );
    let p = summaries("pcap/ndpi/gre.pcapng")[0].expect("gre");
    assert_eq!(
        (p.tunnel, p.src_port, p.dst_port, p.vlan_id),
        (TunnelKind::Gre, 5060, 5060, 142)
    );
    // A UDP flow that merely looks like GTP stays an outer flow.
    for p in summaries("pcap/ndpi/gtp_false_positive.pcapng")
        .into_iter()
        .flatten()
    {
        assert_eq!(p.tunnel, TunnelKind::None);
    }
}

/// Packet counts per conversation (all packets, tunnelled or not).
fn all_conns(rel: &str) -> HashMap<Key, u64> {
    let mut m = HashMap::new();
    for s in summaries(rel).into_iter().flatten() {
        *m.entry(key(
            s.protocol,
            (s.src_ip, s.src_port),
            (s.dst_ip, s.dst_port),
        ))
        .or_default() += 1;
    }
    m
}

fn conn(proto: u8, a: (&str, u16), b: (&str, u16)) -> Key {
    let ip = |s: &str| s.parse::<IpAddr>().expect("address literal");
    key(proto, (ip(a.0), a.1), (ip(b.0), b.1))
}

#[test]
fn layer2_encapsulation_capture_facts() {
    // Zeek conn.log baselines: every TCP/UDP connection of the FabricPath
    // trace, the PBB TCP connection, the VN-Tag-in-VLAN segment.
    let fp = all_conns("pcap/zeek/cisco-fabric-path.pcap");
    let zeek = zeek_all_conns("core.cisco-fabric-path");
    assert_eq!(zeek.len(), 32);
    for (k, n) in &zeek {
        assert_eq!(fp.get(k), Some(n), "FabricPath {k:?}");
    }
    let pbb = all_conns("pcap/zeek/pbb.pcap");
    let k = conn(6, ("10.199.249.11", 49601), ("10.199.249.12", 49416));
    assert_eq!(pbb.get(&k), Some(&8));
    // VLAN, VN-Tag, VLAN, then a TCP header cut by the snap length: the
    // stack decodes down to TCP (Zeek logs the connection with 0 packets).
    let vn = dissect_file(&cap("pcap/zeek/vntag_vlan_sandwich_clean.pcap"));
    assert_eq!(vn.len(), 1);
    assert_eq!(
        vn[0].1.map(|_| ()).map_err(|e| e.reason()),
        Err("truncated_tcp")
    );
    // suricata-verify: E-Tag and VN-Tag frames decode to IPv4/TCP.
    for rel in [
        "pcap/suricata-verify/decode-etag-01/input.pcap",
        "pcap/suricata-verify/decode-etag-02/input.pcap",
        "pcap/suricata-verify/decode-vntag-01/input.pcap",
    ] {
        let s = summaries(rel);
        assert!(
            !s.is_empty() && s.iter().all(|p| p.is_some_and(|p| p.ip_version == 4)),
            "{rel}"
        );
    }
    // nDPI: Cisco HDLC under the PPP link type carries one BGP session of 14 packets.
    let bgp = all_conns("pcap/ndpi/BGP_Cisco_hdlc_slarp.pcap");
    assert_eq!(
        bgp.get(&conn(6, ("100.16.1.2", 18324), ("100.16.1.1", 179))),
        Some(&14)
    );
}

#[test]
fn capwap_and_aruba_capture_facts() {
    // nDPI's capwap.pcap: the inner DHCP flow of 5 packets, decoded from
    // CAPWAP data with a byte-swapped 802.11 frame control.
    let c = all_conns("pcap/ndpi/capwap.pcap");
    assert_eq!(
        c.get(&conn(17, ("0.0.0.0", 68), ("255.255.255.255", 67))),
        Some(&5)
    );
    // Zeek's gre-aruba-amsdu: the first A-MSDU subframe's TCP segment.
    let p = summaries("pcap/zeek/tunnels/gre-aruba-amsdu.pcap")[0].expect("Aruba frame");
    assert_eq!(
        (p.tunnel, p.src_port, p.dst_port),
        (TunnelKind::Gre, 443, 49392)
    );
}

#[test]
fn gtp_in_outer_fragments_capture_facts() {
    // 40 first fragments; 36 complete datagrams (Zeek: 68 inner packets), 4
    // whose second fragment is missing: decoded from the first fragment too.
    let s = summaries("pcap/zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap");
    let from_frag = s
        .iter()
        .flatten()
        .filter(|p| p.outer_fragment.is_some() && p.tunnel == TunnelKind::GtpU)
        .count();
    assert_eq!(from_frag, 40);
    let k = conn(6, ("10.131.47.185", 1923), ("79.101.110.141", 80));
    assert_eq!(
        all_conns("pcap/zeek/tunnels/gtp/gtp1_gn_normal_incl_fragmentation.pcap").get(&k),
        Some(&72)
    );
}

/// Packet counts of every TCP/UDP connection of a Zeek conn.log.
fn zeek_all_conns(baseline: &str) -> HashMap<Key, u64> {
    let path = data_dir()
        .join("pcap-expected/zeek")
        .join(baseline)
        .join("conn.log");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .map(|f| f.split('\t').collect())
        .unwrap_or_default();
    let mut m = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let get = |n: &str| {
            fields
                .iter()
                .position(|f| *f == n)
                .and_then(|i| cols.get(i))
                .copied()
        };
        let proto = match get("proto") {
            Some("tcp") => 6,
            Some("udp") => 17,
            _ => continue,
        };
        let (Some(oh), Some(op), Some(rh), Some(rp), Some(a), Some(b)) = (
            get("id.orig_h"),
            get("id.orig_p"),
            get("id.resp_h"),
            get("id.resp_p"),
            get("orig_pkts"),
            get("resp_pkts"),
        ) else {
            continue;
        };
        let (Ok(op), Ok(rp), Ok(a), Ok(b)) =
            (op.parse(), rp.parse(), a.parse::<u64>(), b.parse::<u64>())
        else {
            continue;
        };
        *m.entry(conn(proto, (oh, op), (rh, rp))).or_default() += a + b;
    }
    m
}
