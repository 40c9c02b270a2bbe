//! Flow tables (netlens flow CSV) as input of series and reports.
//!
//! A flow record has no packet timestamps, only first/last seen and
//! counts, so its packets are *spread*: the `n` packets of a direction are
//! placed at evenly spaced times between the flow's first and last seen
//! (bytes shared evenly, the remainder on the first packet). Per-interval
//! packet and byte counts are therefore estimates for flows that cross an
//! interval boundary; totals are exact. TCP flags per packet are unknown
//! (the `tcp_syn`/`tcp_synack` columns stay 0), the TCP state comes from
//! `tcp_conn_state` when the table has it.
//!
//! Invariants: a row that cannot be parsed is counted in
//! [`FlowTableReport::bad_rows`] and skipped; the total number of packets
//! spread is bounded by [`MAX_SPREAD_PACKETS`] (a larger claim is an error,
//! not hours of work).

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use crate::collect::{Collector, FlowEvent};
use crate::error::{Error, Result};

/// Most packets spread over a whole flow table.
pub const MAX_SPREAD_PACKETS: u64 = 200_000_000;

/// What reading a flow table did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FlowTableReport {
    /// Rows read.
    pub rows: u64,
    /// Rows skipped because a required cell was missing or malformed.
    pub bad_rows: u64,
}

/// Whether the CSV header line looks like a netlens flow table.
pub fn is_flow_header(header: &str) -> bool {
    let cols: Vec<&str> = header
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    [
        "src_ip",
        "dst_ip",
        "protocol",
        "bidirectional_packets",
        "bidirectional_bytes",
    ]
    .iter()
    .all(|n| cols.contains(n))
        && (cols.contains(&"bidirectional_first_seen_ms")
            || cols.contains(&"bidirectional_first_seen_us"))
}

/// Reads a flow CSV file into `c`.
pub fn read_flow_csv(path: &Path, c: &mut Collector) -> Result<FlowTableReport> {
    let f = netlens_timeseries::open_text(path).map_err(|e| Error::io(path, e))?;
    read_flow_csv_from(f, c)
}

/// Reads a flow CSV stream into `c` (see module docs).
pub fn read_flow_csv_from<R: Read>(input: R, c: &mut Collector) -> Result<FlowTableReport> {
    let mut rd = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = rd.headers()?.clone();
    let idx: HashMap<&str, usize> = header
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    if !is_flow_header(&header.iter().collect::<Vec<_>>().join(",")) {
        return Err(Error::Invalid(
            "not a netlens flow table: needs src_ip, dst_ip, protocol, bidirectional_packets, bidirectional_bytes and bidirectional_first_seen_ms/_us".into(),
        ));
    }
    let (time_col, last_col, mult) = if idx.contains_key("bidirectional_first_seen_us") {
        (
            "bidirectional_first_seen_us",
            "bidirectional_last_seen_us",
            1_000i64,
        )
    } else {
        (
            "bidirectional_first_seen_ms",
            "bidirectional_last_seen_ms",
            1_000_000i64,
        )
    };
    let mut rep = FlowTableReport::default();
    let mut spread = 0u64;
    let mut rec = csv::StringRecord::new();
    loop {
        match rd.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if e.is_io_error() => return Err(e.into()),
            Err(_) => {
                rep.rows += 1;
                rep.bad_rows += 1;
                continue;
            }
        }
        rep.rows += 1;
        let get = |n: &str| idx.get(n).and_then(|i| rec.get(*i)).map(str::trim);
        let num = |n: &str| get(n).and_then(|v| v.parse::<u64>().ok());
        let int = |n: &str| get(n).and_then(|v| v.parse::<i64>().ok());
        let parsed = (|| {
            let src: IpAddr = get("src_ip")?.parse().ok()?;
            let dst: IpAddr = get("dst_ip")?.parse().ok()?;
            let protocol = u8::try_from(num("protocol")?).ok()?;
            let first = int(time_col)?.checked_mul(mult)?;
            let last = int(last_col)
                .and_then(|v| v.checked_mul(mult))
                .unwrap_or(first)
                .max(first);
            let packets = num("bidirectional_packets")?;
            let bytes = num("bidirectional_bytes")?;
            let fwd_p = num("src2dst_packets").unwrap_or(packets).min(packets);
            let fwd_b = num("src2dst_bytes").unwrap_or(bytes).min(bytes);
            Some((
                src, dst, protocol, first, last, packets, bytes, fwd_p, fwd_b,
            ))
        })();
        let Some((src, dst, protocol, first, last, packets, bytes, fwd_p, fwd_b)) = parsed else {
            rep.bad_rows += 1;
            continue;
        };
        spread = spread.saturating_add(packets);
        if spread > MAX_SPREAD_PACKETS {
            return Err(Error::Limit(format!(
                "the flow table claims more than {MAX_SPREAD_PACKETS} packets; build the series from the capture instead"
            )));
        }
        let port = |n: &str| num(n).and_then(|v| u16::try_from(v).ok()).unwrap_or(0);
        spread_direction(c, first, last, fwd_p, fwd_b, src, dst, protocol);
        spread_direction(
            c,
            first,
            last,
            packets - fwd_p,
            bytes - fwd_b,
            dst,
            src,
            protocol,
        );
        c.flow(&FlowEvent {
            id: rep.rows,
            first_ns: first,
            last_ns: last,
            protocol,
            src_port: port("src_port"),
            dst_port: port("dst_port"),
            bytes,
            conn_state: get("tcp_conn_state")
                .unwrap_or("")
                .chars()
                .take(8)
                .collect(),
            end_reason: get("end_reason").unwrap_or("").chars().take(16).collect(),
        });
    }
    if rep.rows == rep.bad_rows {
        return Err(Error::Invalid(format!(
            "no usable flow rows ({} rows, all malformed)",
            rep.rows
        )));
    }
    Ok(rep)
}

#[allow(clippy::too_many_arguments)]
fn spread_direction(
    c: &mut Collector,
    first: i64,
    last: i64,
    packets: u64,
    bytes: u64,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
) {
    if packets == 0 {
        return;
    }
    let each = bytes / packets;
    let rem = bytes % packets;
    let span = (last - first) as f64;
    for i in 0..packets {
        let ts = if packets == 1 {
            first
        } else {
            first + (span * i as f64 / (packets - 1) as f64) as i64
        };
        let b = if i == 0 { each + rem } else { each };
        c.packet(ts, b, src, dst, protocol, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flows_and_skips_bad_rows() {
        let csv = "id,src_ip,src_port,dst_ip,dst_port,protocol,bidirectional_first_seen_ms,bidirectional_last_seen_ms,bidirectional_packets,bidirectional_bytes,src2dst_packets,src2dst_bytes,tcp_conn_state\n\
0,10.0.0.1,40000,10.0.0.2,443,6,1000,61000,10,1000,6,700,SF\n\
1,10.0.0.3,40001,10.0.0.2,80,6,2000,2000,1,60,1,60,S0\n\
2,not-an-ip,1,10.0.0.2,80,6,2000,2000,1,60,1,60,S0\n";
        let mut c = Collector::new(60, 3).expect("c");
        let rep = read_flow_csv_from(csv.as_bytes(), &mut c).expect("read");
        assert_eq!(rep.rows, 3);
        assert_eq!(rep.bad_rows, 1);
        let out = c.finish().expect("finish");
        assert_eq!(out.packets, 11);
        assert_eq!(out.bytes, 1060);
        assert_eq!(out.table.rows.iter().map(|r| r.bytes).sum::<u64>(), 1060);
        assert_eq!(out.table.rows.len(), 2);
        assert_eq!(out.tcp.unanswered_syn_flows, 1);
        assert_eq!(out.apps.get("tls").map(|c| c.bytes), Some(1000));
        let mut c = Collector::new(60, 3).expect("c");
        assert!(read_flow_csv_from("a,b\n1,2\n".as_bytes(), &mut c).is_err());
    }
}
