//! One-pass collection of a capture (or flow table) into an interval table
//! and whole-input aggregates.
//!
//! Invariants:
//! - Every packet read is counted in the interval table (`packets`,
//!   `bytes`), in the packet-size histogram and in the totals, so the sum
//!   over intervals equals the packets/bytes `netlens stats` reports.
//!   Non-IP frames have no addresses: they are counted with the unspecified
//!   address `0.0.0.0` as source and destination and under protocol 0, so
//!   they land in `other_bytes` (and the unique-host columns count that
//!   address once).
//! - Flow events: a flow's `first_ns` starts it, its `last_ns` ends it; a
//!   TCP flow whose Zeek state is S0, REJ, RSTOS0 or SH (a SYN that got no
//!   SYN-ACK) is "SYN without answer".
//! - Per-application bytes are attributed per flow (port-based guess, see
//!   [`crate::apps`]) and spread over the intervals the flow spans in
//!   proportion to time (at most [`MAX_SPREAD`] intervals, else all at the
//!   flow's start): per-interval application bytes are an estimate, their
//!   totals are exact flow bytes.
//! - Memory is bounded: the accumulator's limits, the host/port tables of
//!   [`TrafficSummary`], fixed-size histograms and a per-second throughput
//!   map of at most [`MAX_SECONDS`] entries (beyond, only the interval table
//!   holds the throughput).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use netlens_capture::PacketRef;
use netlens_flow::Flow;
use netlens_pipeline::summary::TrafficSummary;
use netlens_pipeline::{PacketObserver, RunReport};
use netlens_timeseries::accumulate::AccumulatorLimits;
use netlens_timeseries::{IntervalAccumulator, IntervalTable};
use netlens_wire::{DissectError, PacketSummary};
use serde::{Deserialize, Serialize};

use crate::apps;
use crate::error::Result;

/// Most intervals an application's bytes are spread over.
pub const MAX_SPREAD: i64 = 10_000;
/// Most distinct seconds kept for the report's auto-interval throughput.
pub const MAX_SECONDS: usize = 4_000_000;

/// Upper bounds (inclusive) of the packet-size bins, bytes; a last bin
/// takes everything larger.
pub const PACKET_SIZE_BOUNDS: [u64; 7] = [64, 128, 256, 512, 1024, 1518, 9000];
/// Upper bounds (exclusive) of the flow-duration bins, seconds; a last bin
/// takes everything longer.
pub const DURATION_BOUNDS_S: [f64; 7] = [0.001, 0.01, 0.1, 1.0, 10.0, 60.0, 600.0];

/// Packets and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// TCP health counters over the whole input (also the counts of the
/// report's [`TcpHealth`](crate::data::TcpHealth)).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TcpCounters {
    /// TCP flows.
    pub flows: u64,
    /// Packets with SYN and no ACK.
    pub syn_packets: u64,
    /// Packets with SYN and ACK.
    pub synack_packets: u64,
    /// Packets with RST.
    pub rst_packets: u64,
    /// Flows in which a RST was seen (either side).
    pub rst_flows: u64,
    /// Flows whose SYN got no SYN-ACK (S0, REJ, RSTOS0, SH).
    pub unanswered_syn_flows: u64,
    /// Flows rejected by a RST to the SYN (REJ).
    pub rejected_flows: u64,
    /// Flows by Zeek-style connection state.
    pub conn_states: BTreeMap<String, u64>,
}

/// One flow as the collector needs it (from the meter or a flow table).
#[derive(Clone, Debug)]
pub struct FlowEvent {
    /// Unique id within the input (flow id).
    pub id: u64,
    /// First packet, ns since the epoch.
    pub first_ns: i64,
    /// Last packet, ns since the epoch.
    pub last_ns: i64,
    /// IP protocol.
    pub protocol: u8,
    /// Source port (0 without ports).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Bytes both ways.
    pub bytes: u64,
    /// Zeek-style TCP state, "" when unknown or not TCP.
    pub conn_state: String,
    /// Why the flow ended ("" when unknown).
    pub end_reason: String,
}

impl FlowEvent {
    /// From a metered flow.
    pub fn from_flow(f: &Flow) -> Self {
        let v = FlowView::of(f);
        FlowEvent {
            id: f.id,
            first_ns: v.first_ns,
            last_ns: v.last_ns,
            protocol: v.protocol,
            src_port: v.src_port,
            dst_port: v.dst_port,
            bytes: v.bytes,
            conn_state: v.conn_state.to_string(),
            end_reason: v.end_reason.to_string(),
        }
    }
}

/// Collects one input (see module docs).
#[derive(Debug)]
pub struct Collector {
    interval_s: i64,
    acc: IntervalAccumulator,
    /// Whole-input packet summary (protocols, hosts, ports).
    pub summary: TrafficSummary,
    packets: u64,
    bytes: u64,
    non_ip: Count,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    packet_sizes: [u64; PACKET_SIZE_BOUNDS.len() + 1],
    durations: [u64; DURATION_BOUNDS_S.len() + 1],
    single_packet_flows: u64,
    flows: u64,
    tcp: TcpCounters,
    /// Flows and bytes per application name, and the name's column in the
    /// accumulator (looked up once per name, not per flow).
    apps: BTreeMap<&'static str, (Count, usize)>,
    /// The last application seen (consecutive flows are mostly of the same
    /// one: no map lookup).
    last_app: Option<(&'static str, Count, usize)>,
    per_second: BTreeMap<i64, u64>,
    /// The second being counted and its bytes so far (packets arrive in
    /// time order: one map update per second instead of per packet).
    current_second: Option<(i64, u64)>,
    per_second_overflow: bool,
}

/// The fields of a flow the collector uses, borrowed (a metered [`Flow`]
/// needs no allocation to be counted).
struct FlowView<'a> {
    first_ns: i64,
    last_ns: i64,
    protocol: u8,
    src_port: u16,
    dst_port: u16,
    bytes: u64,
    conn_state: &'a str,
    end_reason: &'a str,
}

impl<'a> FlowView<'a> {
    /// The fields of a metered flow, borrowed (no allocation).
    fn of(f: &'a Flow) -> FlowView<'a> {
        FlowView {
            first_ns: f.first_ns,
            last_ns: f.last_ns,
            protocol: f.protocol,
            src_port: f.src.port,
            dst_port: f.dst.port,
            bytes: f.bytes(),
            conn_state: if f.protocol == 6 {
                f.tcp.conn_state()
            } else {
                ""
            },
            end_reason: f.end_reason.name(),
        }
    }
}

/// What a collection produced.
#[derive(Debug, Clone)]
pub struct Collected {
    /// The per-interval rows.
    pub table: IntervalTable,
    /// Whole-input packet summary.
    pub summary: TrafficSummary,
    /// Packets counted.
    pub packets: u64,
    /// Bytes counted.
    pub bytes: u64,
    /// Non-IP frames.
    pub non_ip: Count,
    /// First packet time, ns.
    pub first_ns: Option<i64>,
    /// Last packet time, ns.
    pub last_ns: Option<i64>,
    /// Packet counts per [`PACKET_SIZE_BOUNDS`] bin.
    pub packet_sizes: Vec<u64>,
    /// Flow counts per [`DURATION_BOUNDS_S`] bin (single-packet flows
    /// excluded).
    pub durations: Vec<u64>,
    /// Flows with a single packet (no duration).
    pub single_packet_flows: u64,
    /// Flows seen.
    pub flows: u64,
    /// TCP health.
    pub tcp: TcpCounters,
    /// Bytes per application (flow bytes).
    pub apps: BTreeMap<String, Count>,
    /// Bytes per second (Unix s → bytes), None when more than
    /// [`MAX_SECONDS`] distinct seconds were seen.
    pub per_second: Option<BTreeMap<i64, u64>>,
    /// Interval of `table`, seconds.
    pub interval_s: i64,
}

impl Collector {
    /// A collector with `interval_s` seconds per row and `top_n` talkers per
    /// interval.
    pub fn new(interval_s: i64, top_n: usize) -> Result<Self> {
        let limits = AccumulatorLimits {
            top_n: top_n.clamp(1, 1000),
            ..AccumulatorLimits::default()
        };
        Ok(Collector {
            interval_s,
            acc: IntervalAccumulator::with_limits(interval_s, limits)?,
            summary: TrafficSummary::default(),
            packets: 0,
            bytes: 0,
            non_ip: Count::default(),
            first_ns: None,
            last_ns: None,
            packet_sizes: [0; PACKET_SIZE_BOUNDS.len() + 1],
            durations: [0; DURATION_BOUNDS_S.len() + 1],
            single_packet_flows: 0,
            flows: 0,
            tcp: TcpCounters::default(),
            apps: BTreeMap::new(),
            last_app: None,
            per_second: BTreeMap::new(),
            current_second: None,
            per_second_overflow: false,
        })
    }

    /// Counts one packet of `bytes` at `ts_ns` (the packet path of both
    /// captures and flow tables).
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        ts_ns: i64,
        bytes: u64,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        tcp_flags: u16,
    ) {
        self.packets += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.first_ns = Some(self.first_ns.map_or(ts_ns, |t| t.min(ts_ns)));
        self.last_ns = Some(self.last_ns.map_or(ts_ns, |t| t.max(ts_ns)));
        let bin = PACKET_SIZE_BOUNDS
            .iter()
            .position(|b| bytes <= *b)
            .unwrap_or(PACKET_SIZE_BOUNDS.len());
        if let Some(c) = self.packet_sizes.get_mut(bin) {
            *c += 1;
        }
        if protocol == 6 {
            if tcp_flags & 0x02 != 0 {
                if tcp_flags & 0x10 != 0 {
                    self.tcp.synack_packets += 1;
                } else {
                    self.tcp.syn_packets += 1;
                }
            }
            if tcp_flags & 0x04 != 0 {
                self.tcp.rst_packets += 1;
            }
        }
        if !self.per_second_overflow {
            let sec = ts_ns.div_euclid(1_000_000_000);
            match &mut self.current_second {
                Some((s, v)) if *s == sec => *v = v.saturating_add(bytes),
                cur => {
                    if let Some((s, v)) = cur.replace((sec, bytes)) {
                        self.flush_second(s, v);
                    }
                }
            }
        }
        self.acc
            .on_packet(ts_ns, bytes, src, dst, protocol, tcp_flags);
    }

    /// Adds a finished second's bytes to the per-second map (or gives the
    /// map up beyond [`MAX_SECONDS`] distinct seconds).
    fn flush_second(&mut self, sec: i64, bytes: u64) {
        if self.per_second_overflow {
            return;
        }
        if let Some(v) = self.per_second.get_mut(&sec) {
            *v = v.saturating_add(bytes);
        } else if self.per_second.len() < MAX_SECONDS {
            self.per_second.insert(sec, bytes);
        } else {
            self.per_second_overflow = true;
            self.per_second = BTreeMap::new();
        }
    }

    /// Counts a batch of flows handed over by the pipeline sink.
    pub fn on_flows(&mut self, flows: &[Flow]) {
        for f in flows {
            self.count_flow(&FlowView::of(f));
        }
    }

    /// Counts one flow (see module docs).
    pub fn flow(&mut self, f: &FlowEvent) {
        self.count_flow(&FlowView {
            first_ns: f.first_ns,
            last_ns: f.last_ns,
            protocol: f.protocol,
            src_port: f.src_port,
            dst_port: f.dst_port,
            bytes: f.bytes,
            conn_state: &f.conn_state,
            end_reason: &f.end_reason,
        });
    }

    fn count_flow(&mut self, f: &FlowView<'_>) {
        self.flows += 1;
        let syn_only = f.protocol == 6 && matches!(f.conn_state, "S0" | "REJ" | "RSTOS0" | "SH");
        self.acc
            .on_flow(f.first_ns, f.last_ns.max(f.first_ns), f.protocol, syn_only);
        let dur_ns = f.last_ns.saturating_sub(f.first_ns).max(0);
        if dur_ns == 0 {
            self.single_packet_flows += 1;
        } else {
            let s = dur_ns as f64 / 1e9;
            let bin = DURATION_BOUNDS_S
                .iter()
                .position(|b| s < *b)
                .unwrap_or(DURATION_BOUNDS_S.len());
            if let Some(c) = self.durations.get_mut(bin) {
                *c += 1;
            }
        }
        if f.protocol == 6 {
            self.tcp.flows += 1;
            if syn_only {
                self.tcp.unanswered_syn_flows += 1;
            }
            if f.conn_state == "REJ" {
                self.tcp.rejected_flows += 1;
            }
            if f.conn_state.starts_with("RST") || f.conn_state == "REJ" || f.end_reason == "rst" {
                self.tcp.rst_flows += 1;
            }
            if let Some(n) = self.tcp.conn_states.get_mut(f.conn_state) {
                *n += 1;
            } else if !f.conn_state.is_empty() && self.tcp.conn_states.len() < 64 {
                self.tcp.conn_states.insert(f.conn_state.to_string(), 1);
            }
        }
        let app = apps::guess_flow(f.protocol, f.src_port, f.dst_port, f.conn_state);
        let column = match &mut self.last_app {
            Some((name, count, column)) if *name == app => {
                count.packets += 1; // flows, for the app mix
                count.bytes = count.bytes.saturating_add(f.bytes);
                *column
            }
            last => {
                let column = match self.apps.get(app) {
                    Some((_, column)) => *column,
                    None => self.acc.app_column(app),
                };
                let count = Count {
                    packets: 1,
                    bytes: f.bytes,
                };
                if let Some(prev) = last.replace((app, count, column)) {
                    Self::merge_app(&mut self.apps, prev);
                }
                column
            }
        };
        self.spread_app_bytes(column, f);
    }

    /// Adds a run of flows of one application to the per-application map.
    fn merge_app(
        apps: &mut BTreeMap<&'static str, (Count, usize)>,
        (name, count, column): (&'static str, Count, usize),
    ) {
        let (e, _) = apps.entry(name).or_insert((Count::default(), column));
        e.packets += count.packets;
        e.bytes = e.bytes.saturating_add(count.bytes);
    }

    fn spread_app_bytes(&mut self, column: usize, f: &FlowView<'_>) {
        let iv = self.interval_s.saturating_mul(1_000_000_000);
        let (a, b) = (f.first_ns, f.last_ns.max(f.first_ns));
        let (ka, kb) = (a.div_euclid(iv), b.div_euclid(iv));
        if ka == kb || kb.saturating_sub(ka) > MAX_SPREAD || b == a {
            self.acc.on_app_column_bytes(a, column, f.bytes);
            return;
        }
        let total = (b - a) as f64;
        let mut given = 0u64;
        for k in ka..=kb {
            let lo = k.saturating_mul(iv).max(a);
            let hi = k.saturating_add(1).saturating_mul(iv).min(b);
            let part = if k == kb {
                f.bytes - given
            } else {
                ((hi - lo) as f64 / total * f.bytes as f64).floor() as u64
            };
            let part = part.min(f.bytes - given);
            given += part;
            if part > 0 {
                self.acc.on_app_column_bytes(lo, column, part);
            }
        }
    }

    /// Finishes the collection.
    pub fn finish(mut self) -> Result<Collected> {
        if let Some((s, v)) = self.current_second.take() {
            self.flush_second(s, v);
        }
        if let Some(last) = self.last_app.take() {
            Self::merge_app(&mut self.apps, last);
        }
        let table = self.acc.finish()?;
        Ok(Collected {
            table,
            summary: self.summary,
            packets: self.packets,
            bytes: self.bytes,
            non_ip: self.non_ip,
            first_ns: self.first_ns,
            last_ns: self.last_ns,
            packet_sizes: self.packet_sizes.to_vec(),
            durations: self.durations.to_vec(),
            single_packet_flows: self.single_packet_flows,
            flows: self.flows,
            tcp: self.tcp,
            apps: self
                .apps
                .into_iter()
                .map(|(k, (v, _))| (k.to_string(), v))
                .collect(),
            per_second: if self.per_second_overflow {
                None
            } else {
                Some(self.per_second)
            },
            interval_s: self.interval_s,
        })
    }
}

impl PacketObserver for Collector {
    fn on_packet(
        &mut self,
        pkt: &PacketRef<'_>,
        dissected: std::result::Result<&PacketSummary, DissectError>,
    ) {
        self.summary.on_packet(pkt, dissected);
        let bytes = u64::from(pkt.wire_len);
        match dissected {
            Ok(s) => {
                let flags = if s.protocol == 6 { s.tcp.flags } else { 0 };
                self.packet(pkt.ts_ns, bytes, s.src_ip, s.dst_ip, s.protocol, flags);
            }
            Err(_) => {
                self.non_ip.packets += 1;
                self.non_ip.bytes += bytes;
                let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                self.packet(pkt.ts_ns, bytes, none, none, 0, 0);
            }
        }
    }
}

/// Summary of a pipeline run kept for the report header.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunFacts {
    /// Packets skipped as malformed or truncated.
    pub malformed: u64,
    /// Packets not metered, by reason.
    pub skipped: BTreeMap<String, u64>,
}

impl RunFacts {
    /// From a pipeline report.
    pub fn from_run(r: &RunReport) -> Self {
        RunFacts {
            malformed: r.malformed(),
            skipped: r.skipped.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlens_pipeline::RunConfig;

    /// Run the bundled sample through a collector (as packet observer), then
    /// hand it the flows with `feed`.
    fn run_sample(
        interval: i64,
        feed: impl FnOnce(&mut Collector, &[Flow]),
    ) -> (Collected, RunReport) {
        let path = crate::tests_support::sample();
        let mut reader = netlens_capture::CaptureReader::open(
            &[netlens_capture::Input::from_arg(
                path.to_str().unwrap_or_default(),
            )],
            &netlens_capture::ReadOptions { sort_by_time: true },
        )
        .expect("open sample");
        let mut c = Collector::new(interval, 5).expect("collector");
        let mut flows = Vec::new();
        let report = {
            let mut obs: [&mut dyn PacketObserver; 1] = [&mut c];
            netlens_pipeline::run::<std::convert::Infallible>(
                &mut reader,
                &RunConfig::default(),
                &mut obs,
                &mut |fs: &[Flow]| {
                    flows.extend_from_slice(fs);
                    Ok(())
                },
                &mut |_| {},
            )
            .unwrap_or_else(|e| match e {})
        };
        feed(&mut c, &flows);
        (c.finish().expect("finish"), report)
    }

    /// The owned path: one `FlowEvent` per flow.
    fn feed_events(c: &mut Collector, flows: &[Flow]) {
        for f in flows {
            c.flow(&FlowEvent::from_flow(f));
        }
    }

    fn collect_sample(interval: i64) -> (Collected, RunReport) {
        run_sample(interval, feed_events)
    }

    /// The sink path (`on_flows`, borrowed fields) counts exactly what the
    /// owned path (`flow(&FlowEvent)`) counts.
    #[test]
    fn on_flows_equals_flow_events() {
        let (a, _) = run_sample(60, |c, flows| c.on_flows(flows));
        let (b, _) = run_sample(60, feed_events);
        assert!(a.flows > 0);
        assert_eq!(format!("{:?}", a.table), format!("{:?}", b.table));
        assert_eq!(
            (a.flows, a.single_packet_flows, &a.durations, &a.apps),
            (b.flows, b.single_packet_flows, &b.durations, &b.apps)
        );
        assert_eq!(format!("{:?}", a.tcp), format!("{:?}", b.tcp));
        assert_eq!(a.per_second, b.per_second);
    }

    #[test]
    fn sample_totals_are_exact() {
        let (c, r) = collect_sample(60);
        assert_eq!(c.packets, r.packets);
        assert_eq!(c.bytes, r.wire_bytes);
        assert_eq!(
            c.table.rows.iter().map(|x| x.packets).sum::<u64>(),
            r.packets
        );
        assert_eq!(
            c.table.rows.iter().map(|x| x.bytes).sum::<u64>(),
            r.wire_bytes
        );
        assert_eq!(
            c.table.rows.iter().map(|x| x.new_flows).sum::<u64>(),
            r.flows
        );
        assert_eq!(c.flows, r.flows);
        assert_eq!(c.packet_sizes.iter().sum::<u64>(), r.packets);
        assert_eq!(
            c.durations.iter().sum::<u64>() + c.single_packet_flows,
            r.flows
        );
        // Application bytes are the flow bytes: every IP byte, and they add
        // up per interval to the totals.
        let app_total: u64 = c.apps.values().map(|v| v.bytes).sum();
        let row_apps: u64 = c.table.rows.iter().flat_map(|x| x.app_bytes.iter()).sum();
        assert_eq!(app_total, row_apps);
        assert_eq!(app_total, r.wire_bytes - c.non_ip.bytes);
        // The sample has a SYN flood and a port scan: unanswered SYNs exist.
        assert!(c.tcp.unanswered_syn_flows > 10, "{:?}", c.tcp);
        assert!(
            c.table.rows.iter().map(|x| x.syn_only_flows).sum::<u64>()
                == c.tcp.unanswered_syn_flows
        );
        let ps = c.per_second.as_ref().expect("per second");
        assert_eq!(ps.values().sum::<u64>(), r.wire_bytes);
    }

    #[test]
    fn flow_spreading_keeps_totals() {
        let mut c = Collector::new(10, 3).expect("c");
        let s = 1_000_000_000i64;
        c.packet(
            0,
            100,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            6,
            0x02,
        );
        c.packet(
            35 * s,
            100,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            6,
            0x14,
        );
        let f = FlowEvent {
            id: 1,
            first_ns: 0,
            last_ns: 35 * s,
            protocol: 6,
            src_port: 50000,
            dst_port: 22,
            bytes: 1001,
            conn_state: "RSTO".into(),
            end_reason: "rst".into(),
        };
        c.flow(&f);
        let out = c.finish().expect("finish");
        assert_eq!(out.table.apps, vec!["ssh".to_string()]);
        let per: Vec<u64> = out
            .table
            .rows
            .iter()
            .map(|r| r.app_bytes.first().copied().unwrap_or(0))
            .collect();
        assert_eq!(per.iter().sum::<u64>(), 1001);
        assert_eq!(per.len(), 4);
        assert!(per[0] > 250 && per[3] < per[0], "{per:?}");
        assert_eq!(out.tcp.rst_flows, 1);
        assert_eq!(out.tcp.rst_packets, 1);
        assert_eq!(out.tcp.syn_packets, 1);
        assert_eq!(out.durations[5], 1);
    }
}
