//! Agreement of netlens flows with ground truth produced by other tools on
//! the same captures: nDPI's `ndpiReader` (`.out` files), Zeek's `conn.log`
//! baselines and NFStream's expected CSVs, all in `../shared/data`.
//!
//! Flows are compared per conversation key (protocol + unordered endpoint
//! pair), summing packets over all flows of that key on both sides, so that
//! differences in timeout/termination policy do not count as disagreement;
//! what remains are real differences in decoding (tunnels, fragments, link
//! types). Each test prints its agreement rate and the classes of
//! differences, and asserts a floor measured on the current data.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_flow::{Flow, MeterConfig};
use netlens_pipeline::{RunConfig, run};

fn data_dir() -> PathBuf {
    std::env::var_os("NETLENS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn meter_flows(path: &Path, meter: MeterConfig) -> Option<Vec<Flow>> {
    let mut reader =
        CaptureReader::open(&[Input::Path(path.to_path_buf())], &ReadOptions::default()).ok()?;
    let mut flows = Vec::new();
    let cfg = RunConfig {
        meter,
        ..Default::default()
    };
    run::<std::convert::Infallible>(
        &mut reader,
        &cfg,
        &mut [],
        &mut |fs| {
            flows.extend_from_slice(fs);
            Ok(())
        },
        &mut |_| {},
    )
    .ok()?;
    Some(flows)
}

/// Conversation key: protocol, and the two (address, port) endpoints sorted.
type Key = (u8, (IpAddr, u16), (IpAddr, u16));

fn key(proto: u8, a: (IpAddr, u16), b: (IpAddr, u16)) -> Key {
    if a <= b { (proto, a, b) } else { (proto, b, a) }
}

fn parse_endpoint(s: &str) -> Option<(IpAddr, u16)> {
    // "1.2.3.4:80", "[2001:db8::1]:443", or "1.2.3.4" (no port)
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return Some((ip.parse().ok()?, port.parse().ok()?));
    }
    match s.rsplit_once(':') {
        Some((ip, port)) => Some((ip.parse().ok()?, port.parse().ok()?)),
        None => Some((s.parse().ok()?, 0)),
    }
}

fn ndpi_proto(name: &str) -> Option<u8> {
    Some(match name {
        "TCP" => 6,
        "UDP" => 17,
        "ICMP" => 1,
        "ICMPV6" => 58,
        "IGMP" => 2,
        "ESP" => 50,
        "AH" => 51,
        "SCTP" => 132,
        "VRRP" => 112,
        "PIM" => 103,
        "PGM" => 113,
        "OSPF" => 89,
        "GRE" => 47,
        other => other.parse().ok()?,
    })
}

/// One flow line of an nDPI `.out` file: key and (packets a→b, packets b→a).
fn parse_ndpi_out(text: &str) -> Vec<(Key, u64, u64)> {
    let mut v = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        // "<n>\t<PROTO> <ep> <-> <ep> [...]...[a pkts/b bytes <-> c pkts/d bytes]"
        let Some((num, rest)) = t.split_once('\t') else {
            continue;
        };
        if num.parse::<u32>().is_err() {
            continue;
        }
        let mut it = rest.split_whitespace();
        let (Some(p), Some(a), Some(arrow), Some(b)) = (it.next(), it.next(), it.next(), it.next())
        else {
            continue;
        };
        if arrow != "<->" && arrow != "->" {
            continue;
        }
        let (Some(proto), Some(a), Some(b)) = (ndpi_proto(p), parse_endpoint(a), parse_endpoint(b))
        else {
            continue;
        };
        let Some(pos) = rest.find(" pkts/") else {
            continue;
        };
        let head = &rest[..pos];
        let Some(open) = head.rfind('[') else {
            continue;
        };
        let seg = &rest[open + 1..];
        let Some(end) = seg.find(']') else { continue };
        let seg = &seg[..end];
        // "7 pkts/4845 bytes <-> 73 pkts/178280 bytes"
        let nums: Vec<u64> = seg
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .filter_map(|s| s.parse().ok())
            .collect();
        if nums.len() < 4 {
            continue;
        }
        v.push((key(proto, a, b), nums[0], nums[2]));
    }
    v
}

fn our_totals(flows: &[Flow]) -> HashMap<Key, u64> {
    let mut m = HashMap::new();
    for f in flows {
        *m.entry(key(
            f.protocol,
            (f.src_ip(), f.src.port),
            (f.dst_ip(), f.dst.port),
        ))
        .or_insert(0) += f.packets();
    }
    m
}

#[test]
fn ndpi_packet_counts_agree() {
    let dir = data_dir().join("pcap-expected/ndpi");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("missing {}", dir.display())
    };
    let mut outs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    outs.sort();
    let (mut total, mut exact, mut exact_dir, mut missing, mut files) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut worst: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for out in outs {
        let Some(name) = out
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".out"))
        else {
            continue;
        };
        let pcap = data_dir().join("pcap/ndpi").join(name);
        let Ok(text) = std::fs::read_to_string(&out) else {
            continue;
        };
        let expected = parse_ndpi_out(&text);
        if expected.is_empty() {
            continue;
        }
        let Some(flows) = meter_flows(
            &pcap,
            MeterConfig {
                tcp_termination: false,
                ..Default::default()
            },
        ) else {
            continue;
        };
        files += 1;
        let ours = our_totals(&flows);
        let mut theirs: HashMap<Key, (u64, u64)> = HashMap::new();
        for (k, a, b) in &expected {
            let e = theirs.entry(*k).or_insert((0, 0));
            e.0 += a;
            e.1 += b;
        }
        let mut file_bad = 0;
        for (k, (a, b)) in &theirs {
            total += 1;
            match ours.get(k) {
                Some(&n) if n == a + b => {
                    exact += 1;
                    // Direction: sum of our src→dst packets for flows whose src is nDPI's first endpoint.
                    let fwd: u64 = flows
                        .iter()
                        .filter(|f| {
                            key(
                                f.protocol,
                                (f.src_ip(), f.src.port),
                                (f.dst_ip(), f.dst.port),
                            ) == *k
                        })
                        .map(|f| f.fwd.packets)
                        .sum();
                    if fwd == *a || fwd == *b {
                        exact_dir += 1;
                    }
                }
                Some(_) => file_bad += 1,
                None => {
                    missing += 1;
                    file_bad += 1;
                }
            }
        }
        if file_bad > 0 {
            worst.insert(name.to_string(), (file_bad, theirs.len() as u64));
        }
    }
    let rate = exact as f64 / total.max(1) as f64;
    println!(
        "nDPI agreement: {exact}/{total} conversations ({:.2} %) have identical packet counts over {files} captures; {exact_dir} of them also split identically by direction; {missing} nDPI conversations have no netlens flow with the same key",
        100.0 * rate
    );
    println!("captures with differences (differing/total conversations):");
    for (n, (bad, all)) in &worst {
        println!("  {n}: {bad}/{all}");
    }
    assert!(files > 400, "too few nDPI captures compared: {files}");
    assert!(rate >= 0.95, "nDPI agreement fell to {:.2} %", 100.0 * rate);
}

/// Connections of a conn.log, without the outer connections of tunnels
/// (those whose uid is listed in another connection's `tunnel_parents`):
/// netlens meters tunnelled packets as their inner flow only, by design.
/// Returns the connections and the number of outer tunnel connections left out.
fn parse_conn_log(text: &str) -> (Vec<(Key, u64, u64)>, u64) {
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("#fields\t"))
        .map(|f| f.split('\t').collect())
        .unwrap_or_default();
    let idx = |name: &str| fields.iter().position(|f| *f == name);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').collect())
        .collect();
    let parents: std::collections::HashSet<&str> = match idx("tunnel_parents") {
        Some(i) => rows
            .iter()
            .filter_map(|r| r.get(i))
            .flat_map(|c| c.split(','))
            .filter(|u| *u != "-")
            .collect(),
        None => Default::default(),
    };
    let mut v = Vec::new();
    let mut outer = 0;
    for cols in &rows {
        let get = |name: &str| idx(name).and_then(|i| cols.get(i)).copied();
        if get("uid").is_some_and(|u| parents.contains(u)) {
            outer += 1;
            continue;
        }
        let (Some(oh), Some(op), Some(rh), Some(rp), Some(proto), Some(opk), Some(rpk)) = (
            get("id.orig_h"),
            get("id.orig_p"),
            get("id.resp_h"),
            get("id.resp_p"),
            get("proto"),
            get("orig_pkts"),
            get("resp_pkts"),
        ) else {
            continue;
        };
        let (Ok(oh), Ok(rh)) = (oh.parse::<IpAddr>(), rh.parse::<IpAddr>()) else {
            continue;
        };
        let p = match proto {
            "tcp" => 6,
            "udp" => 17,
            "icmp" => 1, // ICMP and ICMPv6 alike; ports are type/code: compared by addresses only
            _ => continue,
        };
        let (op, rp) = if p == 1 {
            (0, 0)
        } else {
            (op.parse().unwrap_or(0), rp.parse().unwrap_or(0))
        };
        v.push((
            key(p, (oh, op), (rh, rp)),
            opk.parse().unwrap_or(0),
            rpk.parse().unwrap_or(0),
        ));
    }
    (v, outer)
}

#[test]
fn zeek_conn_log_packet_counts_agree() {
    let root = data_dir();
    let Ok(map) = std::fs::read_to_string(root.join("pcap-expected/zeek/MAPPING.csv")) else {
        panic!("missing Zeek MAPPING.csv")
    };
    let (mut total, mut exact, mut logs, mut tunnels) = (0u64, 0u64, 0u64, 0u64);
    let mut diffs: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for line in map.lines().skip(1) {
        let mut parts = line.splitn(3, ',');
        let (Some(dir), Some(pcap)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(text) =
            std::fs::read_to_string(root.join("pcap-expected/zeek").join(dir).join("conn.log"))
        else {
            continue;
        };
        let (expected, outer) = parse_conn_log(&text);
        tunnels += outer;
        if expected.is_empty() {
            continue;
        }
        let Some(flows) = meter_flows(
            &root.join(pcap),
            MeterConfig {
                tcp_termination: false,
                ..Default::default()
            },
        ) else {
            continue;
        };
        logs += 1;
        let mut ours: HashMap<Key, u64> = HashMap::new();
        for f in &flows {
            let p = if f.protocol == 58 { 1 } else { f.protocol };
            let (sp, dp) = if p == 1 {
                (0, 0)
            } else {
                (f.src.port, f.dst.port)
            };
            *ours
                .entry(key(p, (f.src_ip(), sp), (f.dst_ip(), dp)))
                .or_insert(0) += f.packets();
        }
        let mut theirs: HashMap<Key, u64> = HashMap::new();
        for (k, a, b) in expected {
            *theirs.entry(k).or_insert(0) += a + b;
        }
        let mut bad = 0;
        for (k, n) in &theirs {
            total += 1;
            if ours.get(k) == Some(n) {
                exact += 1;
            } else {
                bad += 1;
            }
        }
        if bad > 0 {
            diffs.insert(format!("{dir} ({pcap})"), (bad, theirs.len() as u64));
        }
    }
    let rate = exact as f64 / total.max(1) as f64;
    println!(
        "Zeek agreement: {exact}/{total} connections ({:.2} %) have identical packet counts over {logs} conn.log baselines ({tunnels} outer tunnel connections left out: netlens meters the inner flow)",
        100.0 * rate
    );
    for (n, (bad, all)) in &diffs {
        println!("  {n}: {bad}/{all} differ");
    }
    assert!(logs > 50, "too few Zeek baselines compared: {logs}");
    assert!(rate >= 0.85, "Zeek agreement fell to {:.2} %", 100.0 * rate);
}

#[test]
fn nfstream_flow_sizes_agree() {
    // NFStream's expected CSVs list (packets, bytes) per flow without keys:
    // compare the multisets, in NFStream's mode (no TCP termination,
    // link-layer bytes, 120 s / 1800 s timeouts).
    let root = data_dir();
    let Ok(map) = std::fs::read_to_string(root.join("pcap-expected/nfstream/MAPPING.csv")) else {
        panic!("missing NFStream MAPPING.csv")
    };
    let (mut total, mut matched, mut files) = (0u64, 0u64, 0u64);
    let mut diffs = Vec::new();
    for line in map.lines().skip(1) {
        let mut parts = line.split(',');
        let (Some(csv_name), Some(pcap)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(mut rdr) =
            csv::Reader::from_path(root.join("pcap-expected/nfstream").join(csv_name))
        else {
            continue;
        };
        let mut theirs: HashMap<(u64, u64), i64> = HashMap::new();
        let mut n = 0;
        for rec in rdr.records().flatten() {
            let (Some(p), Some(b)) = (
                rec.get(1).and_then(|s| s.parse().ok()),
                rec.get(2).and_then(|s| s.parse().ok()),
            ) else {
                continue;
            };
            *theirs.entry((p, b)).or_insert(0) += 1;
            n += 1;
        }
        let Some(flows) = meter_flows(
            &root.join(pcap),
            MeterConfig {
                tcp_termination: false,
                syn_ack_flip: false,
                ..Default::default()
            },
        ) else {
            continue;
        };
        files += 1;
        let mut ours: HashMap<(u64, u64), i64> = HashMap::new();
        for f in &flows {
            *ours.entry((f.packets(), f.bytes())).or_insert(0) += 1;
        }
        let m: i64 = theirs
            .iter()
            .map(|(k, c)| (*c).min(ours.get(k).copied().unwrap_or(0)))
            .sum();
        total += n;
        matched += m as u64;
        if m < n as i64 {
            diffs.push(format!("{pcap}: {m}/{n} (ours {} flows)", flows.len()));
        }
    }
    let rate = matched as f64 / total.max(1) as f64;
    println!(
        "NFStream agreement: {matched}/{total} flows ({:.2} %) have an identical (packets, link bytes) flow in netlens over {files} captures",
        100.0 * rate
    );
    for d in &diffs {
        println!("  {d}");
    }
    assert!(files > 100, "too few NFStream captures compared: {files}");
    assert!(
        rate >= 0.90,
        "NFStream agreement fell to {:.2} %",
        100.0 * rate
    );
}
