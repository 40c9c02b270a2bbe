//! The dashboard's shared state: what the pipeline thread has seen so far,
//! and the JSON views the HTTP handlers serve from it.
//!
//! Invariants:
//! - Memory is bounded independently of the input: at most
//!   [`Limits::max_points`] seconds of throughput, [`Limits::max_hosts`]
//!   source addresses (later ones are summed in `untracked_host_bytes`),
//!   [`Limits::max_active`] active flows and [`Limits::max_alerts`] recent
//!   alerts (with exact totals).
//! - Every packet counted in `packets`/`bytes` is also in exactly one
//!   throughput second (packets older than the window land in its first
//!   second) and in exactly one protocol class (`non-ip` for frames that did
//!   not dissect), so the mix adds up to the totals.
//! - Time is capture time (Unix ns from the packet headers); for a live
//!   interface that is the wall clock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;

use netlens_capture::PacketRef;
use netlens_detect::Alert;
use netlens_flow::Flow;
use netlens_pipeline::RunReport;
use netlens_pipeline::summary::protocol_name;
use netlens_wire::{DissectError, PacketSummary};
use serde::Serialize;

/// Size bounds of the state.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Seconds of throughput kept.
    pub max_points: usize,
    /// Source addresses tracked for top talkers.
    pub max_hosts: usize,
    /// Active flows tracked.
    pub max_active: usize,
    /// Recent alerts kept.
    pub max_alerts: usize,
    /// Rows of the top-N tables.
    pub top_n: usize,
    /// A flow without packets for this long is no longer active (ns).
    pub idle_timeout_ns: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_points: 3600,
            max_hosts: 100_000,
            max_active: 200_000,
            max_alerts: 500,
            top_n: 10,
            idle_timeout_ns: 60_000_000_000,
        }
    }
}

/// Packets and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// On-the-wire bytes.
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u64) {
        self.packets += 1;
        self.bytes = self.bytes.saturating_add(bytes);
    }
}

/// Canonical (direction-independent) flow key: protocol and the two
/// endpoints, smaller first. VLAN and tunnel ids are not part of it, so the
/// count can merge flows the meter keeps apart (documented approximation).
type FlowKey = (u8, [u8; 16], u16, [u8; 16], u16);

fn addr16(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

fn key(protocol: u8, a: [u8; 16], ap: u16, b: [u8; 16], bp: u16) -> FlowKey {
    if (a, ap) <= (b, bp) {
        (protocol, a, ap, b, bp)
    } else {
        (protocol, b, bp, a, ap)
    }
}

#[derive(Clone, Debug)]
struct ActiveFlow {
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
    protocol: u8,
    first_ns: i64,
    last_ns: i64,
    count: Count,
}

/// How the dashboard is fed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceInfo {
    /// Capture file(s) or interface name.
    pub name: String,
    /// `replay` (a capture at its own pace) or `live` (an interface).
    pub mode: String,
    /// Replay speed factor (0 = as fast as possible).
    pub speed: f64,
    /// Detector in use, empty when detection is off.
    pub detector: String,
}

/// Everything the pipeline thread has reported (see module docs).
#[derive(Debug)]
pub struct Dashboard {
    limits: Limits,
    source: SourceInfo,
    started: std::time::Instant,
    finished: bool,
    error: Option<String>,
    warnings: Vec<String>,
    packets: u64,
    bytes: u64,
    first_ns: Option<i64>,
    last_ns: Option<i64>,
    flows_ended: u64,
    malformed: u64,
    tp_start: i64,
    tp: VecDeque<Count>,
    protocols: BTreeMap<&'static str, Count>,
    apps: BTreeMap<&'static str, Count>,
    hosts: HashMap<IpAddr, Count>,
    untracked_host_bytes: u64,
    active: HashMap<FlowKey, ActiveFlow>,
    active_untracked: u64,
    pruned_at_s: i64,
    alerts: VecDeque<Alert>,
    alerts_total: u64,
    alerts_by_label: BTreeMap<String, u64>,
    forecast: ForecastView,
}

impl Dashboard {
    /// An empty dashboard for `source`.
    pub fn new(source: SourceInfo, limits: Limits) -> Self {
        Dashboard {
            limits,
            source,
            started: std::time::Instant::now(),
            finished: false,
            error: None,
            warnings: Vec::new(),
            packets: 0,
            bytes: 0,
            first_ns: None,
            last_ns: None,
            flows_ended: 0,
            malformed: 0,
            tp_start: 0,
            tp: VecDeque::new(),
            protocols: BTreeMap::new(),
            apps: BTreeMap::new(),
            hosts: HashMap::new(),
            untracked_host_bytes: 0,
            active: HashMap::new(),
            active_untracked: 0,
            pruned_at_s: i64::MIN,
            alerts: VecDeque::new(),
            alerts_total: 0,
            alerts_by_label: BTreeMap::new(),
            forecast: ForecastView::waiting("waiting for traffic"),
        }
    }

    /// Counts one packet (the pipeline observer path).
    pub fn on_packet(
        &mut self,
        pkt: &PacketRef<'_>,
        dissected: Result<&PacketSummary, DissectError>,
    ) {
        let bytes = u64::from(pkt.wire_len);
        let ts = pkt.ts_ns;
        self.packets += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.first_ns = Some(self.first_ns.map_or(ts, |t| t.min(ts)));
        self.last_ns = Some(self.last_ns.map_or(ts, |t| t.max(ts)));
        self.add_throughput(ts, bytes);
        let s = match dissected {
            Ok(s) => s,
            Err(e) => {
                if netlens_pipeline::is_malformed_reason(e.reason()) {
                    self.malformed += 1;
                }
                self.protocols.entry("non-ip").or_default().add(bytes);
                return;
            }
        };
        self.protocols
            .entry(protocol_name(s.protocol))
            .or_default()
            .add(bytes);
        let (sp, dp) = if s.ports_known {
            (s.src_port, s.dst_port)
        } else {
            (0, 0)
        };
        self.apps
            .entry(netlens_report::apps::guess(s.protocol, sp, dp))
            .or_default()
            .add(bytes);
        if let Some(c) = self.hosts.get_mut(&s.src_ip) {
            c.add(bytes);
        } else if self.hosts.len() < self.limits.max_hosts {
            self.hosts.entry(s.src_ip).or_default().add(bytes);
        } else {
            self.untracked_host_bytes = self.untracked_host_bytes.saturating_add(bytes);
        }
        let k = key(s.protocol, addr16(s.src_ip), sp, addr16(s.dst_ip), dp);
        if let Some(f) = self.active.get_mut(&k) {
            f.last_ns = f.last_ns.max(ts);
            f.count.add(bytes);
        } else if self.active.len() < self.limits.max_active {
            let mut count = Count::default();
            count.add(bytes);
            self.active.insert(
                k,
                ActiveFlow {
                    src: s.src_ip,
                    src_port: sp,
                    dst: s.dst_ip,
                    dst_port: dp,
                    protocol: s.protocol,
                    first_ns: ts,
                    last_ns: ts,
                    count,
                },
            );
        } else {
            self.active_untracked += 1;
        }
        self.prune(ts);
    }

    fn add_throughput(&mut self, ts_ns: i64, bytes: u64) {
        let sec = ts_ns.div_euclid(1_000_000_000);
        let max = self.limits.max_points.max(2);
        if self.tp.is_empty() {
            self.tp_start = sec;
            self.tp.push_back(Count::default());
        }
        let idx = sec.saturating_sub(self.tp_start);
        if idx < 0 {
            // Older than the window (out-of-order input): its first second.
            if let Some(c) = self.tp.front_mut() {
                c.add(bytes);
            }
            return;
        }
        let idx = idx as u64;
        if idx >= 2 * max as u64 {
            // A jump far beyond the window: start the window again.
            self.tp.clear();
            self.tp_start = sec;
            self.tp.push_back(Count::default());
        } else {
            while (self.tp.len() as u64) <= idx {
                self.tp.push_back(Count::default());
            }
        }
        let idx = sec.saturating_sub(self.tp_start) as usize;
        if let Some(c) = self.tp.get_mut(idx) {
            c.add(bytes);
        }
        while self.tp.len() > max {
            self.tp.pop_front();
            self.tp_start += 1;
        }
    }

    /// Drops flows idle for longer than the idle timeout (once per capture second).
    fn prune(&mut self, now_ns: i64) {
        let sec = now_ns.div_euclid(1_000_000_000);
        if sec <= self.pruned_at_s {
            return;
        }
        self.pruned_at_s = sec;
        let cutoff = now_ns.saturating_sub(self.limits.idle_timeout_ns);
        self.active.retain(|_, f| f.last_ns >= cutoff);
    }

    /// Flows the meter has ended (the pipeline sink path): no longer active.
    pub fn on_flows(&mut self, flows: &[Flow]) {
        for f in flows {
            self.flows_ended += 1;
            let k = key(f.protocol, f.src.addr, f.src.port, f.dst.addr, f.dst.port);
            self.active.remove(&k);
        }
    }

    /// Alerts raised by a detector.
    pub fn on_alerts(&mut self, alerts: Vec<Alert>) {
        for a in alerts {
            self.alerts_total += 1;
            if self.alerts_by_label.len() < 256 || self.alerts_by_label.contains_key(&a.label) {
                *self.alerts_by_label.entry(a.label.clone()).or_insert(0) += 1;
            }
            self.alerts.push_back(a);
            while self.alerts.len() > self.limits.max_alerts.max(1) {
                self.alerts.pop_front();
            }
        }
    }

    /// A warning to show on the page (bounded).
    pub fn warn(&mut self, msg: String) {
        if self.warnings.len() < 50 {
            self.warnings.push(msg);
        }
    }

    /// The input ended: `report` has the pipeline's final counts; every
    /// flow has been handed over, so none is active any more.
    pub fn finish(&mut self, report: &RunReport) {
        self.finished = true;
        self.flows_ended = self.flows_ended.max(report.flows);
        self.active.clear();
    }

    /// The pipeline failed.
    pub fn fail(&mut self, msg: String) {
        self.finished = true;
        self.error = Some(msg);
    }

    /// Whether the input has ended.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Packets counted so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Complete seconds of throughput (the last second is still filling
    /// unless the input has ended): start (Unix s) and bytes per second.
    pub fn complete_seconds(&self) -> (i64, Vec<f64>) {
        let n = if self.finished {
            self.tp.len()
        } else {
            self.tp.len().saturating_sub(1)
        };
        let v = self.tp.iter().take(n).map(|c| c.bytes as f64).collect();
        (self.tp_start, v)
    }

    /// Stores a new forecast.
    pub fn set_forecast(&mut self, f: ForecastView) {
        self.forecast = f;
    }

    fn active_count(&self) -> u64 {
        self.active.len() as u64
    }

    fn bps(c: &Count) -> f64 {
        c.bytes as f64 * 8.0
    }

    /// `/api/summary`.
    pub fn summary(&self) -> SummaryView {
        let (_, secs) = self.complete_seconds();
        let current = secs.last().copied().unwrap_or(0.0) * 8.0;
        // Over every second in the window, the one still filling included:
        // its bytes so far are a lower bound of its throughput.
        let peak = self.tp.iter().map(Self::bps).fold(0.0, f64::max);
        // `seconds`: whole seconds the capture touches. The average is the
        // mean of the per-second series over them, so it can never exceed
        // the peak second; bytes over the bare span overstated sub-second
        // captures (0.3 s of traffic read as 3.3 times its bytes per
        // second, above the peak).
        let (span_s, seconds) = match (self.first_ns, self.last_ns) {
            (Some(a), Some(b)) => (
                (b - a) as f64 / 1e9,
                b.div_euclid(1_000_000_000) - a.div_euclid(1_000_000_000) + 1,
            ),
            _ => (0.0, 0),
        };
        SummaryView {
            packets: self.packets,
            bytes: self.bytes,
            flows_ended: self.flows_ended,
            active_flows: self.active_count(),
            alerts: self.alerts_total,
            malformed: self.malformed,
            current_bps: current,
            peak_bps: peak,
            average_bps: if seconds > 0 {
                self.bytes as f64 * 8.0 / seconds as f64
            } else {
                0.0
            },
            capture_span_s: span_s,
            first_ts: self.first_ns.map(format_ns),
            last_ts: self.last_ns.map(format_ns),
            finished: self.finished,
        }
    }

    /// `/api/throughput`.
    pub fn throughput(&self) -> ThroughputView {
        ThroughputView {
            start: self.tp_start,
            interval_s: 1,
            bits_per_s: self.tp.iter().map(Self::bps).collect(),
            packets_per_s: self.tp.iter().map(|c| c.packets).collect(),
            last_complete: if self.finished {
                self.tp.len()
            } else {
                self.tp.len().saturating_sub(1)
            },
        }
    }

    /// `/api/mix`.
    pub fn mix(&self) -> MixView {
        let rows = |m: &BTreeMap<&'static str, Count>| {
            let mut v: Vec<MixRow> = m
                .iter()
                .map(|(k, c)| MixRow {
                    name: (*k).to_string(),
                    packets: c.packets,
                    bytes: c.bytes,
                    share: if self.bytes > 0 {
                        c.bytes as f64 / self.bytes as f64
                    } else {
                        0.0
                    },
                })
                .collect();
            v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
            v
        };
        MixView {
            total_bytes: self.bytes,
            protocols: rows(&self.protocols),
            applications: rows(&self.apps),
        }
    }

    /// `/api/talkers`.
    pub fn talkers(&self) -> TalkersView {
        let mut v: Vec<(&IpAddr, &Count)> = self.hosts.iter().collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
        TalkersView {
            hosts_tracked: self.hosts.len() as u64,
            untracked_bytes: self.untracked_host_bytes,
            top: v
                .into_iter()
                .take(self.limits.top_n)
                .map(|(ip, c)| TalkerRow {
                    address: ip.to_string(),
                    packets: c.packets,
                    bytes: c.bytes,
                    share: if self.bytes > 0 {
                        c.bytes as f64 / self.bytes as f64
                    } else {
                        0.0
                    },
                })
                .collect(),
        }
    }

    /// `/api/flows`.
    pub fn flows(&self) -> FlowsView {
        let mut v: Vec<&ActiveFlow> = self.active.values().collect();
        v.sort_by(|a, b| {
            b.count
                .bytes
                .cmp(&a.count.bytes)
                .then(a.first_ns.cmp(&b.first_ns))
        });
        FlowsView {
            active: self.active_count(),
            not_tracked: self.active_untracked,
            ended: self.flows_ended,
            idle_timeout_s: self.limits.idle_timeout_ns as f64 / 1e9,
            top: v
                .into_iter()
                .take(self.limits.top_n)
                .map(|f| FlowRow {
                    protocol: protocol_name(f.protocol).to_string(),
                    src: f.src.to_string(),
                    src_port: f.src_port,
                    dst: f.dst.to_string(),
                    dst_port: f.dst_port,
                    packets: f.count.packets,
                    bytes: f.count.bytes,
                    duration_s: (f.last_ns - f.first_ns).max(0) as f64 / 1e9,
                })
                .collect(),
        }
    }

    /// `/api/alerts`: the newest first.
    pub fn alerts(&self) -> AlertsView {
        AlertsView {
            total: self.alerts_total,
            by_label: self.alerts_by_label.clone(),
            recent: self.alerts.iter().rev().take(100).cloned().collect(),
        }
    }

    /// `/api/forecast`.
    pub fn forecast(&self) -> ForecastView {
        self.forecast.clone()
    }

    /// `/api/status`.
    pub fn status(&self) -> StatusView {
        StatusView {
            source: self.source.clone(),
            uptime_s: self.started.elapsed().as_secs_f64(),
            packets: self.packets,
            capture_time: self.last_ns.map(format_ns),
            replay_position_s: match (self.first_ns, self.last_ns) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                _ => 0.0,
            },
            finished: self.finished,
            error: self.error.clone(),
            warnings: self.warnings.clone(),
        }
    }
}

/// RFC 3339 UTC with milliseconds.
fn format_ns(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let ms = ns.rem_euclid(1_000_000_000) / 1_000_000;
    let base = netlens_timeseries::series::format_time(secs);
    match base.strip_suffix('Z') {
        Some(b) => format!("{b}.{ms:03}Z"),
        None => base,
    }
}

/// Totals and rates.
#[derive(Clone, Debug, Serialize)]
pub struct SummaryView {
    /// Packets seen.
    pub packets: u64,
    /// On-the-wire bytes.
    pub bytes: u64,
    /// Flows the meter has ended.
    pub flows_ended: u64,
    /// Flows active now (5-tuples seen within the idle timeout and not ended).
    pub active_flows: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Packets with malformed or truncated headers.
    pub malformed: u64,
    /// Throughput of the last complete second, bit/s.
    pub current_bps: f64,
    /// Highest one-second throughput, bit/s.
    pub peak_bps: f64,
    /// Mean of the per-second throughput over the whole seconds the capture
    /// touches (at most the peak), bit/s.
    pub average_bps: f64,
    /// From the first to the last packet, seconds.
    pub capture_span_s: f64,
    /// First packet time.
    pub first_ts: Option<String>,
    /// Latest packet time.
    pub last_ts: Option<String>,
    /// Whether the input has ended.
    pub finished: bool,
}

/// Per-second throughput.
#[derive(Clone, Debug, Serialize)]
pub struct ThroughputView {
    /// Unix second of the first point.
    pub start: i64,
    /// Seconds per point.
    pub interval_s: i64,
    /// Bits per second.
    pub bits_per_s: Vec<f64>,
    /// Packets per second.
    pub packets_per_s: Vec<u64>,
    /// Points before this index are complete (the last may still fill).
    pub last_complete: usize,
}

/// One class of a traffic mix.
#[derive(Clone, Debug, Serialize)]
pub struct MixRow {
    /// Protocol or application name.
    pub name: String,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Share of all bytes (0..1).
    pub share: f64,
}

/// Protocol and application mix by bytes.
#[derive(Clone, Debug, Serialize)]
pub struct MixView {
    /// All bytes.
    pub total_bytes: u64,
    /// By IP protocol (`non-ip` for frames that did not dissect).
    pub protocols: Vec<MixRow>,
    /// By application (port-based guess, per packet).
    pub applications: Vec<MixRow>,
}

/// One top talker.
#[derive(Clone, Debug, Serialize)]
pub struct TalkerRow {
    /// Source address.
    pub address: String,
    /// Packets sent.
    pub packets: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Share of all bytes (0..1).
    pub share: f64,
}

/// Top source addresses by bytes sent.
#[derive(Clone, Debug, Serialize)]
pub struct TalkersView {
    /// Addresses tracked.
    pub hosts_tracked: u64,
    /// Bytes of addresses not tracked (table full).
    pub untracked_bytes: u64,
    /// Largest first.
    pub top: Vec<TalkerRow>,
}

/// One active flow.
#[derive(Clone, Debug, Serialize)]
pub struct FlowRow {
    /// Protocol name.
    pub protocol: String,
    /// Address of the first packet's sender.
    pub src: String,
    /// Its port.
    pub src_port: u16,
    /// The other address.
    pub dst: String,
    /// Its port.
    pub dst_port: u16,
    /// Packets both ways.
    pub packets: u64,
    /// Bytes both ways.
    pub bytes: u64,
    /// First to latest packet, seconds.
    pub duration_s: f64,
}

/// Active flows.
#[derive(Clone, Debug, Serialize)]
pub struct FlowsView {
    /// Flows active now.
    pub active: u64,
    /// Packets of new flows not tracked because the table was full.
    pub not_tracked: u64,
    /// Flows ended so far.
    pub ended: u64,
    /// Idle timeout, seconds.
    pub idle_timeout_s: f64,
    /// Largest active flows by bytes.
    pub top: Vec<FlowRow>,
}

/// Alerts.
#[derive(Clone, Debug, Serialize)]
pub struct AlertsView {
    /// Alerts raised so far.
    pub total: u64,
    /// By predicted class.
    pub by_label: BTreeMap<String, u64>,
    /// The newest alerts (at most 100), newest first.
    pub recent: Vec<Alert>,
}

/// Throughput forecast.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastView {
    /// Whether a forecast is available.
    pub available: bool,
    /// Why not, or remarks.
    pub note: String,
    /// Model used.
    pub model: String,
    /// Unix second of the first forecast point.
    pub start: i64,
    /// Seconds per point.
    pub interval_s: i64,
    /// Forecast, bit/s.
    pub point: Vec<f64>,
    /// Lower bound of the prediction interval, bit/s.
    pub lower: Vec<f64>,
    /// Upper bound, bit/s.
    pub upper: Vec<f64>,
    /// Prediction interval level.
    pub level: f64,
    /// Seconds of history the forecast was fitted on.
    pub history_points: usize,
    /// Backtest mean absolute error of the chosen model, bit/s (when backtested).
    pub backtest_mae: Option<f64>,
}

impl ForecastView {
    /// No forecast yet, because of `note`.
    pub fn waiting(note: &str) -> Self {
        ForecastView {
            available: false,
            note: note.to_string(),
            model: String::new(),
            start: 0,
            interval_s: 1,
            point: Vec::new(),
            lower: Vec::new(),
            upper: Vec::new(),
            level: 0.0,
            history_points: 0,
            backtest_mae: None,
        }
    }
}

/// Source and progress.
#[derive(Clone, Debug, Serialize)]
pub struct StatusView {
    /// What feeds the dashboard.
    pub source: SourceInfo,
    /// Seconds since the server started.
    pub uptime_s: f64,
    /// Packets so far.
    pub packets: u64,
    /// Capture time of the latest packet.
    pub capture_time: Option<String>,
    /// Capture seconds replayed so far (first to latest packet).
    pub replay_position_s: f64,
    /// Whether the input has ended.
    pub finished: bool,
    /// The pipeline's error, if it failed.
    pub error: Option<String>,
    /// Input warnings.
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn pkt(ts_s: f64, len: u32) -> PacketRef<'static> {
        PacketRef {
            ts_ns: (ts_s * 1e9) as i64,
            wire_len: len,
            linktype: 1,
            data: &[],
            source: 0,
            interface: 0,
        }
    }

    fn tcp(src: u8, sport: u16, dst: u8, dport: u16) -> PacketSummary {
        PacketSummary {
            ip_version: 4,
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, src)),
            dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, dst)),
            protocol: 6,
            src_port: sport,
            dst_port: dport,
            ports_known: true,
            ..PacketSummary::default()
        }
    }

    fn dash(limits: Limits) -> Dashboard {
        Dashboard::new(SourceInfo::default(), limits)
    }

    #[test]
    fn totals_mix_and_throughput_add_up() {
        let mut d = dash(Limits::default());
        let a = tcp(1, 40000, 2, 443);
        let b = tcp(2, 443, 1, 40000);
        d.on_packet(&pkt(100.1, 100), Ok(&a));
        d.on_packet(&pkt(100.5, 1500), Ok(&b));
        d.on_packet(&pkt(102.2, 60), Ok(&a));
        d.on_packet(&pkt(102.3, 42), Err(DissectError::NotIp(0x0806)));
        let s = d.summary();
        assert_eq!((s.packets, s.bytes), (4, 1702));
        let tp = d.throughput();
        assert_eq!(tp.start, 100);
        assert_eq!(tp.packets_per_s, vec![2, 0, 2]);
        assert_eq!(tp.bits_per_s, vec![1600.0 * 8.0, 0.0, 102.0 * 8.0]);
        // The last second may still fill.
        assert_eq!(tp.last_complete, 2);
        assert_eq!(s.current_bps, 0.0);
        assert_eq!(s.peak_bps, 12800.0);
        // The mean of the three seconds touched, not bytes over the 2.2 s span.
        assert_eq!(s.average_bps, 1702.0 * 8.0 / 3.0);
        let mut short = dash(Limits::default());
        short.on_packet(&pkt(100.1, 100), Ok(&a));
        short.on_packet(&pkt(100.4, 1500), Ok(&b));
        let s = short.summary();
        assert!(
            s.average_bps <= s.peak_bps,
            "{} > {}",
            s.average_bps,
            s.peak_bps
        );
        assert_eq!(s.peak_bps, 1600.0 * 8.0);
        let mix = d.mix();
        let total: u64 = mix.protocols.iter().map(|r| r.bytes).sum();
        assert_eq!(total, 1702);
        assert_eq!(mix.protocols[0].name, "tcp");
        assert!(
            mix.protocols
                .iter()
                .any(|r| r.name == "non-ip" && r.bytes == 42)
        );
        assert_eq!(mix.applications[0].name, "tls");
        // One bidirectional flow is active.
        assert_eq!(d.flows().active, 1);
        assert_eq!(d.flows().top[0].packets, 3);
        let t = d.talkers();
        assert_eq!(t.top[0].address, "10.0.0.2");
        assert_eq!(t.top[0].bytes, 1500);
    }

    #[test]
    fn memory_stays_bounded() {
        let mut d = dash(Limits {
            max_points: 10,
            max_hosts: 3,
            max_active: 4,
            max_alerts: 2,
            ..Limits::default()
        });
        for i in 0..50u8 {
            d.on_packet(&pkt(f64::from(i), 10), Ok(&tcp(i, 1000, 200, 80)));
        }
        assert_eq!(d.throughput().bits_per_s.len(), 10);
        assert_eq!(d.throughput().start, 40);
        let t = d.talkers();
        assert_eq!(t.hosts_tracked, 3);
        assert_eq!(t.untracked_bytes, 470);
        assert!(d.flows().active <= 4);
        // A jump of years restarts the window instead of filling it.
        d.on_packet(&pkt(1e9, 10), Ok(&tcp(1, 1, 2, 2)));
        assert_eq!(d.throughput().bits_per_s.len(), 1);
        // Packets older than the window land in its first second.
        d.on_packet(&pkt(5.0, 10), Ok(&tcp(1, 1, 2, 2)));
        assert_eq!(d.throughput().packets_per_s, vec![2]);
    }

    #[test]
    fn idle_flows_expire_and_ended_flows_leave() {
        let mut d = dash(Limits {
            idle_timeout_ns: 5_000_000_000,
            ..Limits::default()
        });
        d.on_packet(&pkt(0.0, 10), Ok(&tcp(1, 1000, 2, 80)));
        d.on_packet(&pkt(1.0, 10), Ok(&tcp(3, 1000, 2, 80)));
        assert_eq!(d.flows().active, 2);
        d.on_packet(&pkt(5.5, 10), Ok(&tcp(3, 1000, 2, 80)));
        assert_eq!(d.flows().active, 1, "the first flow idled out");
        d.finish(&RunReport::default());
        assert_eq!(d.flows().active, 0);
        assert!(d.summary().finished);
    }

    #[test]
    fn alerts_ring_keeps_totals() {
        let mut d = dash(Limits {
            max_alerts: 2,
            ..Limits::default()
        });
        // Built from JSON so fields added to the schema with defaults keep this test valid.
        let al = |label: &str, id: u64| -> Alert {
            serde_json::from_value(serde_json::json!({
                "detector": "t", "ts_start": "", "ts_end": "",
                "src_ip": "10.0.0.1", "src_port": 1, "dst_ip": "10.0.0.2", "dst_port": 2,
                "protocol": 6, "vlan_id": 0, "label": label, "score": 0.9,
                "flow_id": id, "top_features": []
            }))
            .unwrap_or_else(|e| panic!("alert schema: {e}"))
        };
        d.on_alerts(vec![al("scan", 1), al("scan", 2), al("ddos", 3)]);
        let v = d.alerts();
        assert_eq!(v.total, 3);
        assert_eq!(v.recent.len(), 2);
        assert_eq!(v.recent[0].flow_id, Some(3), "newest first");
        assert_eq!(v.by_label.get("scan"), Some(&2));
    }

    #[test]
    fn timestamps_format_with_milliseconds() {
        assert_eq!(
            format_ns(1_000_000_000_123_456_789),
            "2001-09-09T01:46:40.123Z"
        );
    }
}
