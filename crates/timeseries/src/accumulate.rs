//! Per-interval accumulation of traffic statistics from a capture pipeline.
//!
//! The pipeline calls [`IntervalAccumulator::on_packet`] for every packet and,
//! if it tracks flows, [`IntervalAccumulator::on_flow_start`] /
//! [`IntervalAccumulator::on_flow_end`] and
//! [`IntervalAccumulator::on_app_bytes`]; [`IntervalAccumulator::finish`]
//! returns an [`IntervalTable`] with one row per interval from the first to
//! the last interval seen (empty intervals included).
//!
//! Invariants:
//! - Interval `k` covers `[k·interval, (k+1)·interval)` nanoseconds since
//!   the Unix epoch (aligned to the epoch; negative times allowed).
//! - Packet, byte and per-protocol byte counts are exact, whatever the
//!   arrival order (late packets are still counted in their interval).
//! - Memory is bounded: at most `max_intervals` rows (more is an error at
//!   `finish`, the packets beyond are counted in `dropped_packets`); the
//!   per-interval host sets and top-talker tables exist only for the
//!   `open_intervals` most recent intervals (default 4); a packet older than
//!   that is counted exactly but not in the unique-host and top-talker
//!   columns (`late_packets` counts them); at most `max_open_flows` flows are
//!   tracked between start and end, at most `max_apps` application names
//!   (others go to `other`).
//! - Unique hosts: exact up to 4,096 distinct addresses per interval, then a
//!   HyperLogLog estimate (2¹² registers, ≈1.6 % standard error);
//!   `hosts_exact` says which.
//! - Top talkers: space-saving summary (Metwally et al.) of source addresses
//!   by bytes with `4·top_n` counters per interval; each reported count is
//!   an upper bound whose overestimate is at most the reported `error`.
//! - Active flows in an interval: flows started at or before its end and not
//!   ended before its start (flows never ended stay active to the last row).

use std::collections::BTreeMap;
use std::hash::BuildHasher;

// hashbrown's default hasher (foldhash) instead of std's SipHash: these
// tables are probed for every packet, and SipHash was a third of the
// accumulator's cost (bench/timeseries/overhead.sh). Nothing here depends on
// iteration order (top talkers are sorted with a tie-break).
use hashbrown::{HashMap, HashSet};
use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::series::{Column, Series, format_time};

const EXACT_HOSTS: usize = 4096;
const HLL_BITS: u32 = 12;

/// Cardinality counter: exact set up to [`EXACT_HOSTS`], then HyperLogLog.
///
/// Why our own HLL: 40 lines with a fixed, deterministic hash; the crates
/// available pull generic hashing machinery we do not need.
#[derive(Debug, Clone)]
enum Distinct {
    Exact(HashSet<IpAddr>),
    Hll(Box<[u8; 1 << HLL_BITS]>),
}

fn hash_ip(ip: &IpAddr) -> u64 {
    // std's RandomState would make estimates differ run to run; use a fixed
    // SipHash key via the default hasher.
    std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
        .hash_one(ip)
}

impl Distinct {
    fn new() -> Self {
        Distinct::Exact(HashSet::new())
    }
    fn insert(&mut self, ip: IpAddr) {
        match self {
            Distinct::Exact(s) => {
                s.insert(ip);
                if s.len() > EXACT_HOSTS {
                    let mut regs = Box::new([0u8; 1 << HLL_BITS]);
                    for ip in s.iter() {
                        hll_add(&mut regs, hash_ip(ip));
                    }
                    *self = Distinct::Hll(regs);
                }
            }
            Distinct::Hll(regs) => hll_add(regs, hash_ip(&ip)),
        }
    }
    fn count(&self) -> (u64, bool) {
        match self {
            Distinct::Exact(s) => (s.len() as u64, true),
            Distinct::Hll(regs) => {
                let m = (1u32 << HLL_BITS) as f64;
                let alpha = 0.7213 / (1.0 + 1.079 / m);
                let mut sum = 0.0;
                let mut zeros = 0;
                for &r in regs.iter() {
                    sum += 2f64.powi(-i32::from(r));
                    if r == 0 {
                        zeros += 1;
                    }
                }
                let mut e = alpha * m * m / sum;
                if e <= 2.5 * m && zeros > 0 {
                    e = m * (m / f64::from(zeros)).ln();
                }
                (e.round() as u64, false)
            }
        }
    }
}

fn hll_add(regs: &mut [u8; 1 << HLL_BITS], h: u64) {
    let idx = (h >> (64 - HLL_BITS)) as usize;
    let rest = h << HLL_BITS;
    let rank = (rest.leading_zeros() + 1).min(64 - HLL_BITS + 1) as u8;
    if let Some(r) = regs.get_mut(idx)
        && rank > *r
    {
        *r = rank;
    }
}

/// Space-saving top-k summary of byte counts per address.
#[derive(Debug, Clone, Default)]
struct SpaceSaving {
    cap: usize,
    items: HashMap<IpAddr, (u64, u64)>, // (count, error)
}

impl SpaceSaving {
    fn add(&mut self, ip: IpAddr, bytes: u64) {
        if let Some(e) = self.items.get_mut(&ip) {
            e.0 = e.0.saturating_add(bytes);
            return;
        }
        if self.items.len() < self.cap {
            self.items.insert(ip, (bytes, 0));
            return;
        }
        // Replace the minimum: its count becomes the new item's error.
        let min = self
            .items
            .iter()
            .min_by_key(|(_, v)| v.0)
            .map(|(k, v)| (*k, v.0));
        if let Some((k, c)) = min {
            self.items.remove(&k);
            self.items.insert(ip, (c.saturating_add(bytes), c));
        }
    }
    fn top(&self, n: usize) -> Vec<Talker> {
        let mut v: Vec<Talker> = self
            .items
            .iter()
            .map(|(ip, (c, e))| Talker {
                host: ip.to_string(),
                bytes: *c,
                error: *e,
            })
            .collect();
        v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.host.cmp(&b.host)));
        v.truncate(n);
        v
    }
}

/// One top talker of an interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Talker {
    /// Source address.
    pub host: String,
    /// Bytes sent (upper bound, see module docs).
    pub bytes: u64,
    /// Maximum overestimate of `bytes`.
    pub error: u64,
}

/// Counters of one interval (always exact, kept for every interval).
#[derive(Debug, Clone, Default)]
struct Counts {
    packets: u64,
    bytes: u64,
    tcp_bytes: u64,
    udp_bytes: u64,
    icmp_bytes: u64,
    other_bytes: u64,
    tcp_syn: u64,
    tcp_synack: u64,
    new_flows: u64,
    new_tcp_flows: u64,
    syn_only_flows: u64,
    ended_flows: u64,
    active_delta: i64,
    late_packets: u64,
    app_bytes: Vec<u64>,
    src_hosts: Option<(u64, bool)>,
    dst_hosts: Option<(u64, bool)>,
    top: Vec<Talker>,
}

/// Sketches of an open interval.
#[derive(Debug, Clone)]
struct Open {
    src: Distinct,
    dst: Distinct,
    talkers: SpaceSaving,
}

/// One output row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalRow {
    /// Interval start, Unix seconds.
    pub start: i64,
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
    /// Bits per second over the interval.
    pub bits_per_s: f64,
    /// Mean packet size in bytes (0 without packets).
    pub mean_packet_size: f64,
    /// Flows started.
    pub new_flows: u64,
    /// Flows active (see module docs).
    pub active_flows: u64,
    /// TCP flows started.
    pub new_tcp_flows: u64,
    /// TCP flows (started here) that ended having seen a SYN and no answer.
    pub syn_only_flows: u64,
    /// Packets with SYN set and ACK clear.
    pub tcp_syn: u64,
    /// Packets with SYN and ACK set.
    pub tcp_synack: u64,
    /// Distinct source addresses.
    pub src_hosts: u64,
    /// Distinct destination addresses.
    pub dst_hosts: u64,
    /// Whether the host counts are exact (false: HyperLogLog estimate or
    /// interval closed before any host was seen).
    pub hosts_exact: bool,
    /// TCP bytes.
    pub tcp_bytes: u64,
    /// UDP bytes.
    pub udp_bytes: u64,
    /// ICMP and ICMPv6 bytes.
    pub icmp_bytes: u64,
    /// Other IP protocols' bytes.
    pub other_bytes: u64,
    /// Bytes per application, in [`IntervalTable::apps`] order.
    pub app_bytes: Vec<u64>,
    /// Packets that arrived after the interval's sketches were closed.
    pub late_packets: u64,
    /// Top talkers by bytes.
    pub top_talkers: Vec<Talker>,
}

/// The accumulated table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalTable {
    /// Interval length, seconds.
    pub interval_s: f64,
    /// Application names (columns of `app_bytes`).
    pub apps: Vec<String>,
    /// One row per interval, consecutive.
    pub rows: Vec<IntervalRow>,
    /// Flows seen ending without a tracked start (or not tracked because
    /// `max_open_flows` was reached).
    pub untracked_flows: u64,
}

/// Limits of an [`IntervalAccumulator`].
#[derive(Debug, Clone, Copy)]
pub struct AccumulatorLimits {
    /// Maximum rows (intervals from first to last).
    pub max_intervals: usize,
    /// Recent intervals that keep host sets and top-talker summaries.
    pub open_intervals: usize,
    /// Flows tracked between start and end.
    pub max_open_flows: usize,
    /// Distinct application names.
    pub max_apps: usize,
    /// Top talkers reported per interval.
    pub top_n: usize,
}

impl Default for AccumulatorLimits {
    fn default() -> Self {
        Self {
            max_intervals: 2_000_000,
            open_intervals: 4,
            max_open_flows: 1_000_000,
            max_apps: 64,
            top_n: 5,
        }
    }
}

/// Builds per-interval rows from packet and flow events (see module docs).
#[derive(Debug)]
pub struct IntervalAccumulator {
    interval_ns: i64,
    limits: AccumulatorLimits,
    counts: BTreeMap<i64, Counts>,
    open: BTreeMap<i64, Open>,
    flows: HashMap<u64, i64>,
    apps: Vec<String>,
    app_index: HashMap<String, usize>,
    untracked_flows: u64,
    dropped_packets: u64,
    min_k: i64,
    max_k: i64,
}

impl IntervalAccumulator {
    /// New accumulator with `interval_s` seconds per row (> 0) and default
    /// limits.
    pub fn new(interval_s: i64) -> Result<Self> {
        Self::with_limits(interval_s, AccumulatorLimits::default())
    }

    /// New accumulator with explicit limits.
    pub fn with_limits(interval_s: i64, limits: AccumulatorLimits) -> Result<Self> {
        if interval_s <= 0 || interval_s > 365 * 86400 {
            return Err(Error::Invalid(format!(
                "interval must be 1 s .. 1 year, got {interval_s} s"
            )));
        }
        Ok(Self {
            interval_ns: interval_s * 1_000_000_000,
            limits,
            counts: BTreeMap::new(),
            open: BTreeMap::new(),
            flows: HashMap::new(),
            apps: Vec::new(),
            app_index: HashMap::new(),
            untracked_flows: 0,
            dropped_packets: 0,
            min_k: i64::MAX,
            max_k: i64::MIN,
        })
    }

    fn key(&self, ts_ns: i64) -> i64 {
        ts_ns.div_euclid(self.interval_ns)
    }

    /// Counts for interval `k`, or None if the row limit forbids a new row.
    fn counts_mut(&mut self, k: i64) -> Option<&mut Counts> {
        match self.counts.entry(k) {
            std::collections::btree_map::Entry::Occupied(e) => Some(e.into_mut()),
            std::collections::btree_map::Entry::Vacant(e) => {
                let lo = self.min_k.min(k);
                let hi = self.max_k.max(k);
                if (hi as i128 - lo as i128) >= self.limits.max_intervals as i128 {
                    return None;
                }
                self.min_k = lo;
                self.max_k = hi;
                Some(e.insert(Counts::default()))
            }
        }
    }

    /// Closes sketches older than the open window.
    fn close_old(&mut self) {
        while self.open.len() > self.limits.open_intervals.max(1) {
            let Some((k, o)) = self.open.pop_first() else {
                break;
            };
            if let Some(c) = self.counts.get_mut(&k) {
                c.src_hosts = Some(o.src.count());
                c.dst_hosts = Some(o.dst.count());
                c.top = o.talkers.top(self.limits.top_n);
            }
        }
    }

    /// One packet: capture time (ns since the epoch), bytes as counted by
    /// the caller, addresses, IP protocol number, TCP flags (0 if not TCP).
    pub fn on_packet(
        &mut self,
        ts_ns: i64,
        bytes: u64,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        tcp_flags: u16,
    ) {
        let k = self.key(ts_ns);
        let Some(c) = self.counts_mut(k) else {
            self.dropped_packets += 1;
            return;
        };
        c.packets += 1;
        c.bytes = c.bytes.saturating_add(bytes);
        match protocol {
            6 => c.tcp_bytes = c.tcp_bytes.saturating_add(bytes),
            17 => c.udp_bytes = c.udp_bytes.saturating_add(bytes),
            1 | 58 => c.icmp_bytes = c.icmp_bytes.saturating_add(bytes),
            _ => c.other_bytes = c.other_bytes.saturating_add(bytes),
        }
        if protocol == 6 && tcp_flags & 0x02 != 0 {
            if tcp_flags & 0x10 != 0 {
                c.tcp_synack += 1;
            } else {
                c.tcp_syn += 1;
            }
        }
        // Fast path: the packet's interval is open (nearly always).
        if let Some(o) = self.open.get_mut(&k) {
            o.src.insert(src);
            o.dst.insert(dst);
            o.talkers.add(src, bytes);
            return;
        }
        let oldest_open = self.open.keys().next().copied();
        let may_open = self.open.len() < self.limits.open_intervals.max(1)
            || oldest_open.is_some_and(|o| k > o);
        if may_open {
            let cap = self.limits.top_n.max(1) * 4;
            let o = self.open.entry(k).or_insert_with(|| Open {
                src: Distinct::new(),
                dst: Distinct::new(),
                talkers: SpaceSaving {
                    cap,
                    items: HashMap::new(),
                },
            });
            o.src.insert(src);
            o.dst.insert(dst);
            o.talkers.add(src, bytes);
            self.close_old();
        } else if let Some(c) = self.counts.get_mut(&k) {
            c.late_packets += 1;
        }
    }

    /// A flow started (first packet at `ts_ns`).
    pub fn on_flow_start(&mut self, ts_ns: i64, key_hash: u64, protocol: u8) {
        let k = self.key(ts_ns);
        let track =
            self.flows.len() < self.limits.max_open_flows || self.flows.contains_key(&key_hash);
        let Some(c) = self.counts_mut(k) else { return };
        c.new_flows += 1;
        if protocol == 6 {
            c.new_tcp_flows += 1;
        }
        if track {
            c.active_delta += 1;
            if let Some(old) = self.flows.insert(key_hash, k) {
                // Same key restarted without an end: close the old one here.
                if let Some(c) = self.counts.get_mut(&(k + 1).max(old + 1)) {
                    c.active_delta -= 1;
                } else if let Some(c) = self.counts_mut((k + 1).max(old + 1)) {
                    c.active_delta -= 1;
                }
            }
        } else {
            self.untracked_flows += 1;
        }
    }

    /// A flow ended (last packet at `ts_ns`). `syn_only` is true for a TCP
    /// flow that saw a SYN and no reply (counted in its start interval).
    pub fn on_flow_end(&mut self, ts_ns: i64, key_hash: u64, protocol: u8, syn_only: bool) {
        let k = self.key(ts_ns);
        match self.flows.remove(&key_hash) {
            Some(start_k) => {
                let end_k = k.max(start_k);
                if protocol == 6
                    && syn_only
                    && let Some(c) = self.counts.get_mut(&start_k)
                {
                    c.syn_only_flows += 1;
                }
                if let Some(c) = self.counts_mut(end_k) {
                    c.ended_flows += 1;
                }
                // The flow is active through end_k; the decrement goes to
                // end_k + 1 (which may be past the last row: then ignored).
                if let Some(c) = self.counts_mut(end_k + 1) {
                    c.active_delta -= 1;
                }
            }
            None => {
                self.untracked_flows += 1;
                if protocol == 6
                    && syn_only
                    && let Some(c) = self.counts_mut(k)
                {
                    c.syn_only_flows += 1;
                }
            }
        }
    }

    /// Bytes attributed to an application (name given by the caller).
    pub fn on_app_bytes(&mut self, ts_ns: i64, app: &str, bytes: u64) {
        let idx = match self.app_index.get(app) {
            Some(i) => *i,
            None if self.apps.len() + 1 < self.limits.max_apps.max(2) => {
                self.apps.push(app.to_string());
                self.app_index.insert(app.to_string(), self.apps.len() - 1);
                self.apps.len() - 1
            }
            None => {
                // Last slot collects every further name.
                if !self.app_index.contains_key("other") {
                    self.apps.push("other".to_string());
                    self.app_index
                        .insert("other".to_string(), self.apps.len() - 1);
                }
                self.app_index.get("other").copied().unwrap_or(0)
            }
        };
        let k = self.key(ts_ns);
        if let Some(c) = self.counts_mut(k) {
            if c.app_bytes.len() <= idx {
                c.app_bytes.resize(idx + 1, 0);
            }
            if let Some(v) = c.app_bytes.get_mut(idx) {
                *v = v.saturating_add(bytes);
            }
        }
    }

    /// Packets not counted because the row limit was reached.
    pub fn dropped_packets(&self) -> u64 {
        self.dropped_packets
    }

    /// Finishes: one row per interval from the first to the last seen.
    /// Errors if packets were dropped by the row limit (the data span more
    /// than `max_intervals` intervals) or nothing was seen.
    pub fn finish(mut self) -> Result<IntervalTable> {
        if self.dropped_packets > 0 {
            return Err(Error::Limit(format!(
                "{} packets fall outside a span of {} intervals (timestamps far apart: use a longer interval)",
                self.dropped_packets, self.limits.max_intervals
            )));
        }
        self.limits.open_intervals = 0;
        while let Some((k, o)) = self.open.pop_first() {
            if let Some(c) = self.counts.get_mut(&k) {
                c.src_hosts = Some(o.src.count());
                c.dst_hosts = Some(o.dst.count());
                c.top = o.talkers.top(self.limits.top_n);
            }
        }
        let interval_s = self.interval_ns as f64 / 1e9;
        let napps = self.apps.len();
        let mut rows = Vec::new();
        // The last real interval: the decrement of a flow ending in the last
        // interval lands one past it and must not create a row.
        let last = self
            .counts
            .iter()
            .rev()
            .find(|(_, c)| {
                c.packets > 0 || c.new_flows > 0 || c.ended_flows > 0 || !c.app_bytes.is_empty()
            })
            .map(|(k, _)| *k);
        let first = self.counts.keys().next().copied();
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(IntervalTable {
                interval_s,
                apps: self.apps,
                rows,
                untracked_flows: self.untracked_flows,
            });
        };
        let mut active: i64 = 0;
        let empty = Counts::default();
        for k in first..=last {
            let c = self.counts.get(&k).unwrap_or(&empty);
            active += c.active_delta;
            let (src_hosts, e1) = c.src_hosts.unwrap_or((0, true));
            let (dst_hosts, e2) = c.dst_hosts.unwrap_or((0, true));
            let mut app_bytes = c.app_bytes.clone();
            app_bytes.resize(napps, 0);
            rows.push(IntervalRow {
                start: (k as i128 * self.interval_ns as i128 / 1_000_000_000) as i64,
                packets: c.packets,
                bytes: c.bytes,
                bits_per_s: c.bytes as f64 * 8.0 / interval_s,
                mean_packet_size: if c.packets > 0 {
                    c.bytes as f64 / c.packets as f64
                } else {
                    0.0
                },
                new_flows: c.new_flows,
                active_flows: active.max(0) as u64,
                new_tcp_flows: c.new_tcp_flows,
                syn_only_flows: c.syn_only_flows,
                tcp_syn: c.tcp_syn,
                tcp_synack: c.tcp_synack,
                src_hosts,
                dst_hosts,
                hosts_exact: e1 && e2 && c.late_packets == 0,
                tcp_bytes: c.tcp_bytes,
                udp_bytes: c.udp_bytes,
                icmp_bytes: c.icmp_bytes,
                other_bytes: c.other_bytes,
                app_bytes,
                late_packets: c.late_packets,
                top_talkers: c.top.clone(),
            });
        }
        Ok(IntervalTable {
            interval_s,
            apps: self.apps,
            rows,
            untracked_flows: self.untracked_flows,
        })
    }
}

/// Fixed numeric column names of [`IntervalTable::to_series`] and the CSV.
pub const NUMERIC_COLUMNS: [&str; 18] = [
    "packets",
    "bytes",
    "bits_per_s",
    "mean_packet_size",
    "new_flows",
    "active_flows",
    "new_tcp_flows",
    "syn_only_flows",
    "tcp_syn",
    "tcp_synack",
    "src_hosts",
    "dst_hosts",
    "tcp_bytes",
    "udp_bytes",
    "icmp_bytes",
    "other_bytes",
    "late_packets",
    "hosts_exact",
];

impl IntervalRow {
    fn numeric(&self) -> [f64; 18] {
        [
            self.packets as f64,
            self.bytes as f64,
            self.bits_per_s,
            self.mean_packet_size,
            self.new_flows as f64,
            self.active_flows as f64,
            self.new_tcp_flows as f64,
            self.syn_only_flows as f64,
            self.tcp_syn as f64,
            self.tcp_synack as f64,
            self.src_hosts as f64,
            self.dst_hosts as f64,
            self.tcp_bytes as f64,
            self.udp_bytes as f64,
            self.icmp_bytes as f64,
            self.other_bytes as f64,
            self.late_packets as f64,
            if self.hosts_exact { 1.0 } else { 0.0 },
        ]
    }
}

impl IntervalTable {
    /// Converts to a [`Series`] (numeric columns, then `app:<name>` byte
    /// columns) for forecasting. Errors on an empty table.
    pub fn to_series(&self) -> Result<Series> {
        let first = self
            .rows
            .first()
            .ok_or_else(|| Error::Invalid("no intervals".into()))?;
        let mut cols: Vec<Column> = NUMERIC_COLUMNS
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                values: Vec::with_capacity(self.rows.len()),
            })
            .collect();
        for (i, a) in self.apps.iter().enumerate() {
            cols.push(Column {
                name: format!("app:{a}"),
                values: self
                    .rows
                    .iter()
                    .map(|r| r.app_bytes.get(i).copied().unwrap_or(0) as f64)
                    .collect(),
            });
        }
        for r in &self.rows {
            for (c, v) in cols.iter_mut().zip(r.numeric()) {
                c.values.push(v);
            }
        }
        Series::new(first.start, self.interval_s.round().max(1.0) as i64, cols)
    }

    /// Writes CSV: `timestamp`, the numeric columns, `app:<name>` columns
    /// and `top_talkers` as `host=bytes` joined by spaces.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut header: Vec<String> = vec!["timestamp".into()];
        header.extend(NUMERIC_COLUMNS.iter().map(|s| s.to_string()));
        header.extend(self.apps.iter().map(|a| format!("app:{a}")));
        header.push("top_talkers".into());
        w.write_record(&header)?;
        for r in &self.rows {
            let mut rec = vec![format_time(r.start)];
            rec.extend(r.numeric().iter().map(|v| v.to_string()));
            rec.extend(
                (0..self.apps.len()).map(|i| r.app_bytes.get(i).copied().unwrap_or(0).to_string()),
            );
            rec.push(
                r.top_talkers
                    .iter()
                    .map(|t| format!("{}={}", t.host, t.bytes))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            w.write_record(&rec)?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes the table as JSON.
    pub fn write_json<W: Write>(&self, out: W) -> Result<()> {
        serde_json::to_writer(out, self)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const S: i64 = 1_000_000_000;

    fn ip(a: u8, b: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, a, b))
    }

    #[test]
    fn counts_are_exact_and_aligned() {
        let mut acc = IntervalAccumulator::new(60).expect("acc");
        let mut total_p = 0u64;
        let mut total_b = 0u64;
        let mut s = 7u64;
        // 10 minutes of packets, slightly out of order, plus very late ones.
        for i in 0..20_000i64 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = ((s >> 40) % 5) as i64 * S;
            let ts = 1_700_000_000 * S + i * 30_000_000 - jitter;
            let b = 40 + (s >> 50) % 1400;
            let proto = [6u8, 17, 1, 47][(s >> 20) as usize % 4];
            acc.on_packet(
                ts,
                b,
                ip((s >> 8) as u8, (s >> 16) as u8),
                ip(0, 1),
                proto,
                if proto == 6 { 0x02 } else { 0 },
            );
            total_p += 1;
            total_b += b;
        }
        acc.on_packet(1_700_000_000 * S, 100, ip(9, 9), ip(9, 9), 6, 0x12); // late
        total_p += 1;
        total_b += 100;
        let t = acc.finish().expect("finish");
        assert_eq!(t.rows.iter().map(|r| r.packets).sum::<u64>(), total_p);
        assert_eq!(t.rows.iter().map(|r| r.bytes).sum::<u64>(), total_b);
        let proto_sum: u64 = t
            .rows
            .iter()
            .map(|r| r.tcp_bytes + r.udp_bytes + r.icmp_bytes + r.other_bytes)
            .sum();
        assert_eq!(proto_sum, total_b);
        assert!(t.rows.iter().all(|r| r.start % 60 == 0));
        assert!(t.rows.windows(2).all(|w| w[1].start - w[0].start == 60));
        assert!(t.rows.iter().map(|r| r.late_packets).sum::<u64>() >= 1);
        let r = &t.rows[3];
        assert!((r.bits_per_s - r.bytes as f64 * 8.0 / 60.0).abs() < 1e-9);
        assert!(r.src_hosts > 100 && r.src_hosts <= 4096, "{}", r.src_hosts);
        assert_eq!(r.dst_hosts, 1);
        assert_eq!(r.top_talkers.len(), 5);
        assert!(r.top_talkers.windows(2).all(|w| w[0].bytes >= w[1].bytes));
    }

    #[test]
    fn flows_active_and_syn_only() {
        let mut acc = IntervalAccumulator::new(10).expect("acc");
        let a = ip(1, 1);
        for k in 0..5 {
            acc.on_packet(k * 10 * S, 60, a, a, 6, 0);
        }
        acc.on_flow_start(0, 1, 6); // lives 0..=2
        acc.on_flow_start(5 * S, 2, 17); // never ends
        acc.on_flow_start(11 * S, 3, 6); // syn only, ends in 1
        acc.on_flow_end(15 * S, 3, 6, true);
        acc.on_flow_end(25 * S, 1, 6, false);
        acc.on_flow_end(25 * S, 99, 6, false); // unknown
        let t = acc.finish().expect("finish");
        let active: Vec<u64> = t.rows.iter().map(|r| r.active_flows).collect();
        assert_eq!(active, vec![2, 3, 2, 1, 1]);
        let new: Vec<u64> = t.rows.iter().map(|r| r.new_flows).collect();
        assert_eq!(new, vec![2, 1, 0, 0, 0]);
        assert_eq!(t.rows[1].syn_only_flows, 1);
        assert_eq!(t.rows[0].new_tcp_flows, 1);
        assert_eq!(t.untracked_flows, 1);
    }

    #[test]
    fn hll_estimate_and_apps_and_limits() {
        let mut acc = IntervalAccumulator::new(1).expect("acc");
        for i in 0..50_000u32 {
            let src = IpAddr::V4(Ipv4Addr::from(i));
            acc.on_packet(0, 1, src, src, 17, 0);
        }
        for i in 0..100 {
            acc.on_app_bytes(0, &format!("app{i}"), 10);
        }
        let t = acc.finish().expect("finish");
        let r = &t.rows[0];
        assert!(!r.hosts_exact);
        let err = (r.src_hosts as f64 - 50_000.0).abs() / 50_000.0;
        assert!(err < 0.06, "estimate {} err {err}", r.src_hosts);
        assert_eq!(t.apps.len(), 64);
        assert_eq!(r.app_bytes.iter().sum::<u64>(), 1000);
        // A wild timestamp is a clear error, not a huge allocation.
        let mut acc = IntervalAccumulator::new(1).expect("acc");
        acc.on_packet(0, 1, ip(0, 0), ip(0, 0), 6, 0);
        acc.on_packet(i64::MAX, 1, ip(0, 0), ip(0, 0), 6, 0);
        assert!(acc.finish().is_err());
        assert!(IntervalAccumulator::new(0).is_err());
        // CSV/JSON/Series writers.
        let mut acc = IntervalAccumulator::new(60).expect("acc");
        acc.on_packet(0, 10, ip(0, 0), ip(0, 1), 6, 0);
        acc.on_packet(125 * S, 10, ip(0, 0), ip(0, 1), 6, 0);
        let t = acc.finish().expect("finish");
        assert_eq!(t.rows.len(), 3);
        let mut out = Vec::new();
        t.write_csv(&mut out).expect("csv");
        let text = String::from_utf8(out).expect("utf8");
        assert!(text.starts_with("timestamp,packets,bytes,bits_per_s"));
        assert_eq!(text.lines().count(), 4);
        let s = t.to_series().expect("series");
        assert_eq!(
            s.column("packets").map(|c| c.values.clone()),
            Some(vec![1.0, 0.0, 1.0])
        );
        let mut j = Vec::new();
        t.write_json(&mut j).expect("json");
    }
}
