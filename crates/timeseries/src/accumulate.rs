//! Per-interval accumulation of traffic statistics from a capture pipeline.
//!
//! The pipeline calls [`IntervalAccumulator::on_packet`] for every packet and,
//! if it tracks flows, [`IntervalAccumulator::on_flow`] once per finished
//! flow (or [`IntervalAccumulator::on_flow_start`] /
//! [`IntervalAccumulator::on_flow_end`] when start and end are separate
//! events) and [`IntervalAccumulator::on_app_bytes`];
//! [`IntervalAccumulator::finish`] returns an [`IntervalTable`] with one row
//! per interval from the first to the last interval seen (empty intervals
//! included).
//!
//! Invariants:
//! - Interval `k` covers `[k·interval, (k+1)·interval)` nanoseconds since
//!   the Unix epoch (aligned to the epoch; negative times allowed).
//! - Packet, byte and per-protocol byte counts are exact, whatever the
//!   arrival order (late packets are still counted in their interval).
//! - Rows are a dense array indexed by `k − first k`, grown at either end
//!   (packets arrive in time order, so growth is nearly always one row at
//!   the back); memory is proportional to the span from the earliest to the
//!   latest interval, as the output is. At most `max_intervals` rows: a
//!   packet that would widen the span beyond that (a far outlier timestamp)
//!   is not counted but counted in `dropped_packets`, and `finish` returns
//!   an error.
//! - The per-interval host and top-talker sketches exist only for the
//!   `open_intervals` most recent intervals (default 4); a packet older than
//!   that is counted exactly but not in the unique-host and top-talker
//!   columns (`late_packets` counts them); at most `max_open_flows` flows are
//!   tracked between [`IntervalAccumulator::on_flow_start`] and
//!   [`IntervalAccumulator::on_flow_end`] ([`IntervalAccumulator::on_flow`]
//!   needs no tracking), at most `max_apps` application names (others go to
//!   `other`).
//! - Addresses are identified in the sketches by a 64-bit key: injective for
//!   IPv4 (a bijective mix of the address); for IPv6 a hash of the 128 bits
//!   that never equals an IPv4 key, so two IPv6 addresses are merged only on
//!   a 64-bit collision (probability about n²/2⁶⁴ for n addresses in one
//!   interval, below 10⁻⁹ for a million).
//! - Unique hosts: exact up to 4,096 distinct addresses per interval, then a
//!   HyperLogLog estimate (2¹² registers, ≈1.6 % standard error);
//!   `hosts_exact` says which.
//! - Top talkers: space-saving summary (Metwally et al.) of source addresses
//!   by bytes with `4·top_n` counters per interval, kept in a min-heap with
//!   an address → counter map (update O(log(4·top_n)), no scan); each
//!   reported count is an upper bound whose overestimate is at most the
//!   reported `error`, and any address with more than 1/(4·top_n) of the
//!   interval's bytes is in the summary.
//! - Active flows in an interval: flows started at or before its end and not
//!   ended before its start (flows never ended stay active to the last row).

use std::collections::VecDeque;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Write;
use std::net::IpAddr;

// hashbrown tables keyed by `addr_key` values, which are already mixed: the
// pass-through hasher below makes a probe cost one multiply-free lookup.
use hashbrown::{HashMap, HashSet};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::series::{Column, Series, format_time};

const EXACT_HOSTS: usize = 4096;
const HLL_BITS: u32 = 12;
const HLL_REGS: usize = 1 << HLL_BITS;

/// Hasher for keys that are already uniformly mixed 64-bit values
/// ([`addr_key`]): passes them through instead of hashing them again.
#[derive(Default, Clone, Copy)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys use this hasher; fold anything else anyway.
        for b in bytes {
            self.0 = fmix64(self.0 ^ u64::from(*b));
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type KeyBuild = BuildHasherDefault<PassThrough>;

/// MurmurHash3's 64-bit finaliser: a bijection of `u64` with full avalanche
/// (fixed, so estimates are the same from run to run).
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// 64-bit key of an address (see module docs): IPv4 maps the 32 bits
/// tagged with bit 32 through the bijection [`fmix64`], so distinct IPv4
/// addresses have distinct keys; IPv6 maps a mix of its 128 bits with bit
/// 63 set, which no IPv4 pre-image has.
fn addr_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => fmix64(u64::from(u32::from(a)) | 1 << 32),
        IpAddr::V6(a) => {
            let v = u128::from(a);
            let folded = fmix64(v as u64) ^ (v >> 64) as u64;
            fmix64(folded | 1 << 63)
        }
    }
}

/// Cardinality counter: exact set up to [`EXACT_HOSTS`], then HyperLogLog.
///
/// Why our own HLL: 40 lines over keys we already have mixed; the crates
/// available pull generic hashing machinery we do not need.
#[derive(Debug, Clone)]
enum Sketch {
    Exact(HashSet<u64, KeyBuild>),
    Hll(Box<[u8; HLL_REGS]>),
}

/// A [`Sketch`] plus the last key inserted (a flood from or to one address
/// repeats the same key: skipping it saves a probe).
#[derive(Debug, Clone)]
struct Distinct {
    last: Option<u64>,
    sketch: Sketch,
}

impl Distinct {
    fn new() -> Self {
        Distinct {
            last: None,
            sketch: Sketch::Exact(HashSet::default()),
        }
    }

    fn insert(&mut self, key: u64) {
        if self.last == Some(key) {
            return;
        }
        self.last = Some(key);
        match &mut self.sketch {
            Sketch::Exact(s) => {
                s.insert(key);
                if s.len() > EXACT_HOSTS {
                    let mut regs = Box::new([0u8; HLL_REGS]);
                    for k in s.iter() {
                        hll_add(&mut regs, *k);
                    }
                    self.sketch = Sketch::Hll(regs);
                }
            }
            Sketch::Hll(regs) => hll_add(regs, key),
        }
    }

    fn count(&self) -> (u64, bool) {
        match &self.sketch {
            Sketch::Exact(s) => (s.len() as u64, true),
            Sketch::Hll(regs) => {
                let m = HLL_REGS as f64;
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

fn hll_add(regs: &mut [u8; HLL_REGS], h: u64) {
    let idx = (h >> (64 - HLL_BITS)) as usize;
    let rest = h << HLL_BITS;
    let rank = (rest.leading_zeros() + 1).min(64 - HLL_BITS + 1) as u8;
    if let Some(r) = regs.get_mut(idx)
        && rank > *r
    {
        *r = rank;
    }
}

/// One counter of the space-saving summary.
#[derive(Debug, Clone)]
struct Slot {
    key: u64,
    ip: IpAddr,
    count: u64,
    error: u64,
}

/// Space-saving top-k summary of byte counts per address: the counters sit
/// in stable slots; `heap` is a binary min-heap of slot numbers by count
/// (`pos` is each slot's place in it) and `index` maps an address key to
/// its slot, so an update is a probe plus a sift of at most log₂(cap)
/// levels.
///
/// Why our own: the weighted updates and the min-replacement need this exact
/// layout; the sketch crates available count unit increments or hash with
/// their own (per-process random) hashers.
#[derive(Debug, Clone)]
struct SpaceSaving {
    cap: usize,
    index: HashMap<u64, u32, KeyBuild>,
    slots: Vec<Slot>,
    heap: Vec<u32>,
    pos: Vec<u32>,
}

impl SpaceSaving {
    fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, u32::MAX as usize);
        SpaceSaving {
            cap,
            index: HashMap::default(),
            slots: Vec::new(),
            heap: Vec::new(),
            pos: Vec::new(),
        }
    }

    fn count_at(&self, heap_pos: usize) -> u64 {
        self.heap
            .get(heap_pos)
            .and_then(|s| self.slots.get(*s as usize))
            .map_or(u64::MAX, |s| s.count)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        for p in [a, b] {
            if let Some(&s) = self.heap.get(p)
                && let Some(q) = self.pos.get_mut(s as usize)
            {
                *q = p as u32;
            }
        }
    }

    fn sift_down(&mut self, mut p: usize) {
        loop {
            let (l, r) = (2 * p + 1, 2 * p + 2);
            let mut m = p;
            if l < self.heap.len() && self.count_at(l) < self.count_at(m) {
                m = l;
            }
            if r < self.heap.len() && self.count_at(r) < self.count_at(m) {
                m = r;
            }
            if m == p {
                return;
            }
            self.swap(p, m);
            p = m;
        }
    }

    fn sift_up(&mut self, mut p: usize) {
        while p > 0 {
            let parent = (p - 1) / 2;
            if self.count_at(p) >= self.count_at(parent) {
                return;
            }
            self.swap(p, parent);
            p = parent;
        }
    }

    fn add(&mut self, key: u64, ip: IpAddr, bytes: u64) {
        if let Some(&s) = self.index.get(&key) {
            let s = s as usize;
            if let Some(slot) = self.slots.get_mut(s) {
                slot.count = slot.count.saturating_add(bytes);
            }
            if let Some(&p) = self.pos.get(s) {
                self.sift_down(p as usize);
            }
            return;
        }
        if self.slots.len() < self.cap {
            let s = self.slots.len() as u32;
            self.slots.push(Slot {
                key,
                ip,
                count: bytes,
                error: 0,
            });
            self.pos.push(self.heap.len() as u32);
            self.heap.push(s);
            self.index.insert(key, s);
            self.sift_up(self.heap.len() - 1);
            return;
        }
        // Replace the minimum: its count becomes the new item's error.
        let Some(&s) = self.heap.first() else { return };
        let Some(slot) = self.slots.get_mut(s as usize) else {
            return;
        };
        let min = slot.count;
        let old = slot.key;
        *slot = Slot {
            key,
            ip,
            count: min.saturating_add(bytes),
            error: min,
        };
        self.index.remove(&old);
        self.index.insert(key, s);
        self.sift_down(0);
    }

    fn top(&self, n: usize) -> Vec<Talker> {
        let mut v: Vec<Talker> = self
            .slots
            .iter()
            .map(|s| Talker {
                host: s.ip.to_string(),
                bytes: s.count,
                error: s.error,
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
    k: i64,
    src: Distinct,
    dst: Distinct,
    talkers: SpaceSaving,
}

impl Open {
    fn add(&mut self, src: IpAddr, dst: IpAddr, bytes: u64) {
        let sk = addr_key(src);
        self.src.insert(sk);
        self.dst.insert(addr_key(dst));
        self.talkers.add(sk, src, bytes);
    }
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

/// Interval of the last timestamp looked up, so that the common case (the
/// next timestamp falls in the same interval) costs two comparisons instead
/// of a 64-bit division.
#[derive(Debug, Clone, Copy)]
struct KeyCache {
    lo: i64,
    hi: i64,
    k: i64,
}

impl KeyCache {
    fn new() -> Self {
        // Empty range: the first lookup computes.
        KeyCache {
            lo: i64::MAX,
            hi: i64::MIN,
            k: 0,
        }
    }

    #[inline]
    fn key(&mut self, ts_ns: i64, interval_ns: i64) -> i64 {
        if ts_ns >= self.lo && ts_ns < self.hi {
            return self.k;
        }
        let k = ts_ns.div_euclid(interval_ns);
        match k
            .checked_mul(interval_ns)
            .and_then(|lo| Some((lo, lo.checked_add(interval_ns)?)))
        {
            Some((lo, hi)) => *self = KeyCache { lo, hi, k },
            None => *self = KeyCache::new(),
        }
        k
    }
}

/// Builds per-interval rows from packet and flow events (see module docs).
#[derive(Debug)]
pub struct IntervalAccumulator {
    interval_ns: i64,
    limits: AccumulatorLimits,
    /// Interval number of `rows[0]`.
    base_k: i64,
    rows: VecDeque<Counts>,
    /// Open sketches, ascending by interval, at most
    /// `max(open_intervals, 1)`.
    open: Vec<Open>,
    packet_key: KeyCache,
    flow_key: KeyCache,
    flows: HashMap<u64, i64>,
    apps: Vec<String>,
    app_index: HashMap<String, usize>,
    untracked_flows: u64,
    dropped_packets: u64,
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
            base_k: 0,
            rows: VecDeque::new(),
            open: Vec::new(),
            packet_key: KeyCache::new(),
            flow_key: KeyCache::new(),
            flows: HashMap::new(),
            apps: Vec::new(),
            app_index: HashMap::new(),
            untracked_flows: 0,
            dropped_packets: 0,
        })
    }

    /// Interval number of a flow event's timestamp.
    fn flow_k(&mut self, ts_ns: i64) -> i64 {
        self.flow_key.key(ts_ns, self.interval_ns)
    }

    /// Existing counts of interval `k`.
    fn row(&mut self, k: i64) -> Option<&mut Counts> {
        let off = k.checked_sub(self.base_k)?;
        self.rows.get_mut(usize::try_from(off).ok()?)
    }

    /// Counts for interval `k`, created (with the empty rows between) if
    /// needed, or None if the row limit forbids widening the span.
    #[inline]
    fn counts_mut(&mut self, k: i64) -> Option<&mut Counts> {
        let len = self.rows.len();
        if let Some(off) = k.checked_sub(self.base_k)
            && let Ok(i) = usize::try_from(off)
            && i < len
        {
            return self.rows.get_mut(i);
        }
        self.grow(k)
    }

    #[cold]
    fn grow(&mut self, k: i64) -> Option<&mut Counts> {
        let max = self.limits.max_intervals as i128;
        let len = self.rows.len();
        if len == 0 {
            if max < 1 {
                return None;
            }
            self.base_k = k;
            self.rows.push_back(Counts::default());
            return self.rows.back_mut();
        }
        let lo = i128::from(self.base_k);
        let hi = lo + len as i128 - 1;
        let k128 = i128::from(k);
        if k128.max(hi) - k128.min(lo) >= max {
            return None;
        }
        if k128 < lo {
            let add = (lo - k128) as usize;
            self.rows.reserve(add);
            for _ in 0..add {
                self.rows.push_front(Counts::default());
            }
            self.base_k = k;
            self.rows.front_mut()
        } else {
            let new_len = (k128 - lo + 1) as usize;
            self.rows.resize_with(new_len, Counts::default);
            self.rows.back_mut()
        }
    }

    /// Stores an open interval's sketch results in its row.
    fn close(&mut self, o: Open) {
        let top_n = self.limits.top_n;
        if let Some(c) = self.row(o.k) {
            c.src_hosts = Some(o.src.count());
            c.dst_hosts = Some(o.dst.count());
            c.top = o.talkers.top(top_n);
        }
    }

    /// One packet: capture time (ns since the epoch), bytes as counted by
    /// the caller, addresses, IP protocol number, TCP flags (0 if not TCP).
    #[inline]
    pub fn on_packet(
        &mut self,
        ts_ns: i64,
        bytes: u64,
        src: IpAddr,
        dst: IpAddr,
        protocol: u8,
        tcp_flags: u16,
    ) {
        let k = self.packet_key.key(ts_ns, self.interval_ns);
        let Some(c) = self.counts_mut(k) else {
            self.dropped_packets += 1;
            return;
        };
        c.packets += 1;
        c.bytes = c.bytes.saturating_add(bytes);
        let per_proto = match protocol {
            6 => &mut c.tcp_bytes,
            17 => &mut c.udp_bytes,
            1 | 58 => &mut c.icmp_bytes,
            _ => &mut c.other_bytes,
        };
        *per_proto = per_proto.saturating_add(bytes);
        if protocol == 6 && tcp_flags & 0x02 != 0 {
            if tcp_flags & 0x10 != 0 {
                c.tcp_synack += 1;
            } else {
                c.tcp_syn += 1;
            }
        }
        // Fast path: the packet's interval is the newest open one (nearly
        // always: packets arrive in time order).
        if let Some(o) = self.open.last_mut()
            && o.k == k
        {
            o.add(src, dst, bytes);
            return;
        }
        self.packet_sketch_slow(k, src, dst, bytes);
    }

    #[cold]
    fn packet_sketch_slow(&mut self, k: i64, src: IpAddr, dst: IpAddr, bytes: u64) {
        let at = self.open.partition_point(|o| o.k < k);
        if let Some(o) = self.open.get_mut(at)
            && o.k == k
        {
            o.add(src, dst, bytes);
            return;
        }
        let max_open = self.limits.open_intervals.max(1);
        let may_open = self.open.len() < max_open || self.open.first().is_some_and(|o| k > o.k);
        if !may_open {
            if let Some(c) = self.row(k) {
                c.late_packets += 1;
            }
            return;
        }
        let mut o = Open {
            k,
            src: Distinct::new(),
            dst: Distinct::new(),
            talkers: SpaceSaving::new(self.limits.top_n.max(1).saturating_mul(4)),
        };
        o.add(src, dst, bytes);
        self.open.insert(at, o);
        while self.open.len() > max_open {
            let o = self.open.remove(0);
            self.close(o);
        }
    }

    /// A whole flow at once (first and last packet times): the same counts
    /// as [`Self::on_flow_start`] followed by [`Self::on_flow_end`], in O(1)
    /// and without tracking the flow. `syn_only` is true for a TCP flow that
    /// saw a SYN and no reply (counted in its start interval).
    #[inline]
    pub fn on_flow(&mut self, first_ns: i64, last_ns: i64, protocol: u8, syn_only: bool) {
        let start_k = self.flow_k(first_ns);
        let end_k = self.flow_k(last_ns).max(start_k);
        let Some(c) = self.counts_mut(start_k) else {
            self.untracked_flows += 1;
            return;
        };
        c.new_flows += 1;
        c.active_delta += 1;
        if protocol == 6 {
            c.new_tcp_flows += 1;
            if syn_only {
                c.syn_only_flows += 1;
            }
        }
        if let Some(c) = self.counts_mut(end_k) {
            c.ended_flows += 1;
        }
        // The flow is active through end_k; the decrement goes to end_k + 1
        // (which may be past the last row: then ignored at `finish`).
        if let Some(c) = self.counts_mut(end_k.saturating_add(1)) {
            c.active_delta -= 1;
        }
    }

    /// A flow started (first packet at `ts_ns`).
    pub fn on_flow_start(&mut self, ts_ns: i64, key_hash: u64, protocol: u8) {
        let k = self.flow_k(ts_ns);
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
                let at = k.max(old).saturating_add(1);
                if let Some(c) = self.counts_mut(at) {
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
        let k = self.flow_k(ts_ns);
        match self.flows.remove(&key_hash) {
            Some(start_k) => {
                let end_k = k.max(start_k);
                if protocol == 6
                    && syn_only
                    && let Some(c) = self.row(start_k)
                {
                    c.syn_only_flows += 1;
                }
                if let Some(c) = self.counts_mut(end_k) {
                    c.ended_flows += 1;
                }
                if let Some(c) = self.counts_mut(end_k.saturating_add(1)) {
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

    /// Column of application `app` in the table (registered on first use;
    /// beyond `max_apps` names, the `other` column). Callers that attribute
    /// bytes to the same few names over and over look the column up once
    /// and use [`Self::on_app_column_bytes`].
    pub fn app_column(&mut self, app: &str) -> usize {
        match self.app_index.get(app) {
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
        }
    }

    /// Bytes attributed to an application (name given by the caller).
    pub fn on_app_bytes(&mut self, ts_ns: i64, app: &str, bytes: u64) {
        let idx = self.app_column(app);
        self.on_app_column_bytes(ts_ns, idx, bytes);
    }

    /// Bytes attributed to the application column `column` (from
    /// [`Self::app_column`]; an unknown column is ignored).
    pub fn on_app_column_bytes(&mut self, ts_ns: i64, column: usize, bytes: u64) {
        if column >= self.apps.len() {
            return;
        }
        let k = self.flow_k(ts_ns);
        if let Some(c) = self.counts_mut(k) {
            if c.app_bytes.len() <= column {
                c.app_bytes.resize(column + 1, 0);
            }
            if let Some(v) = c.app_bytes.get_mut(column) {
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
        for o in std::mem::take(&mut self.open) {
            self.close(o);
        }
        let interval_s = self.interval_ns as f64 / 1e9;
        let napps = self.apps.len();
        // The last real interval: the decrement of a flow ending in the last
        // interval lands one past it and must not create a row.
        let last = self.rows.iter().rposition(|c| {
            c.packets > 0 || c.new_flows > 0 || c.ended_flows > 0 || !c.app_bytes.is_empty()
        });
        let mut rows = Vec::with_capacity(last.map_or(0, |l| l + 1));
        let mut active: i64 = 0;
        for (i, c) in self
            .rows
            .into_iter()
            .take(last.map_or(0, |l| l + 1))
            .enumerate()
        {
            let k = self.base_k.saturating_add(i as i64);
            active += c.active_delta;
            let (src_hosts, e1) = c.src_hosts.unwrap_or((0, true));
            let (dst_hosts, e2) = c.dst_hosts.unwrap_or((0, true));
            let mut app_bytes = c.app_bytes;
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
                top_talkers: c.top,
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
    fn on_flow_matches_start_and_end() {
        let mut a = IntervalAccumulator::new(10).expect("acc");
        let mut b = IntervalAccumulator::new(10).expect("acc");
        let mut s = 11u64;
        for id in 0..5_000u64 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let first = ((s >> 20) % 600) as i64 * S / 7;
            let last = first + ((s >> 40) % 50) as i64 * S;
            let proto = [6u8, 17][(s >> 12) as usize % 2];
            let syn_only = proto == 6 && (s >> 5).is_multiple_of(3);
            a.on_flow(first, last, proto, syn_only);
            b.on_flow_start(first, id, proto);
            b.on_flow_end(last, id, proto, syn_only);
        }
        let (ta, tb) = (a.finish().expect("a"), b.finish().expect("b"));
        assert_eq!(ta, tb);
        assert!(ta.rows.iter().any(|r| r.active_flows > r.new_flows));
        assert_eq!(ta.rows.iter().map(|r| r.new_flows).sum::<u64>(), 5_000);
    }

    #[test]
    fn rows_grow_both_ways_and_outliers_are_bounded() {
        let limits = AccumulatorLimits {
            max_intervals: 100,
            ..AccumulatorLimits::default()
        };
        let mut acc = IntervalAccumulator::with_limits(1, limits).expect("acc");
        acc.on_packet(50 * S, 10, ip(0, 1), ip(0, 2), 6, 0);
        acc.on_packet(10 * S, 20, ip(0, 1), ip(0, 2), 6, 0); // earlier: grows front
        acc.on_packet(109 * S, 30, ip(0, 1), ip(0, 2), 17, 0); // span 100: ok
        assert_eq!(acc.dropped_packets(), 0);
        acc.on_packet(110 * S, 40, ip(0, 1), ip(0, 2), 17, 0); // span 101: dropped
        acc.on_packet(9 * S, 40, ip(0, 1), ip(0, 2), 17, 0); // dropped
        assert_eq!(acc.dropped_packets(), 2);
        let mut acc = IntervalAccumulator::with_limits(1, limits).expect("acc");
        acc.on_packet(50 * S, 10, ip(0, 1), ip(0, 2), 6, 0);
        acc.on_packet(10 * S, 20, ip(0, 1), ip(0, 2), 6, 0);
        acc.on_packet(-50 * S, 5, ip(0, 1), ip(0, 2), 6, 0); // span 101: dropped
        acc.on_packet(59 * S + 1, 30, ip(0, 1), ip(0, 2), 17, 0);
        let t = acc.finish();
        assert!(t.is_err());
        let mut acc = IntervalAccumulator::with_limits(1, limits).expect("acc");
        acc.on_packet(50 * S, 10, ip(0, 1), ip(0, 2), 6, 0);
        acc.on_packet(10 * S, 20, ip(0, 1), ip(0, 2), 6, 0);
        acc.on_packet(59 * S + 1, 30, ip(0, 1), ip(0, 2), 17, 0);
        let t = acc.finish().expect("finish");
        assert_eq!(t.rows.len(), 50);
        assert_eq!(t.rows.first().map(|r| (r.start, r.bytes)), Some((10, 20)));
        assert_eq!(t.rows.get(40).map(|r| (r.start, r.bytes)), Some((50, 10)));
        assert_eq!(
            t.rows.last().map(|r| (r.start, r.udp_bytes)),
            Some((59, 30))
        );
        // Extreme timestamps are counted, not a panic or overflow.
        let mut acc = IntervalAccumulator::new(1).expect("acc");
        acc.on_packet(i64::MIN, 1, ip(0, 0), ip(0, 0), 6, 0);
        acc.on_packet(i64::MIN + 1, 1, ip(0, 0), ip(0, 0), 6, 0);
        acc.on_flow(i64::MIN, i64::MAX, 6, true);
        let t = acc.finish();
        assert!(t.is_ok(), "{t:?}");
    }

    #[test]
    fn space_saving_matches_exact_counts_and_bounds() {
        // Heavy hitters among many light sources: the summary must hold
        // every address above 1/cap of the bytes, each count an upper bound
        // within its error, and with room for all it must be exact.
        let mut exact: std::collections::HashMap<IpAddr, u64> = Default::default();
        let mut ss = SpaceSaving::new(20);
        let mut big = SpaceSaving::new(10_000);
        let mut s = 3u64;
        let mut total = 0u64;
        for i in 0..100_000u32 {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let a = if i % 4 == 0 {
                IpAddr::V4(Ipv4Addr::new(192, 168, 0, (s >> 62) as u8))
            } else {
                IpAddr::V4(Ipv4Addr::from((s >> 32) as u32 % 5_000))
            };
            let b = 40 + (s >> 50) % 1400;
            total += b;
            *exact.entry(a).or_default() += b;
            ss.add(addr_key(a), a, b);
            big.add(addr_key(a), a, b);
        }
        assert!(exact.len() < 10_000);
        for slot in &big.slots {
            assert_eq!(exact.get(&slot.ip), Some(&slot.count));
            assert_eq!(slot.error, 0);
        }
        assert_eq!(big.slots.len(), exact.len());
        for slot in &ss.slots {
            let t = exact.get(&slot.ip).copied().unwrap_or(0);
            assert!(
                slot.count >= t && slot.count - slot.error <= t,
                "{slot:?} true {t}"
            );
        }
        for (a, b) in &exact {
            if *b > total / 20 {
                assert!(ss.slots.iter().any(|x| x.ip == *a), "{a} {b}");
            }
        }
        // The heap invariant holds and `pos` is its inverse.
        for p in 1..ss.heap.len() {
            assert!(ss.count_at((p - 1) / 2) <= ss.count_at(p));
        }
        for (p, s) in ss.heap.iter().enumerate() {
            assert_eq!(ss.pos.get(*s as usize).copied(), Some(p as u32));
        }
        // The 4 heavy sources (6 % of the bytes each) outrank any light one
        // (at most 1/20 of the bytes plus its own).
        let top = ss.top(4);
        assert_eq!(top.len(), 4);
        assert!(top.iter().all(|t| t.host.starts_with("192.168.0.")));
    }

    #[test]
    fn address_keys_are_distinct() {
        let mut seen = HashSet::<u64>::new();
        for i in 0..200_000u32 {
            assert!(seen.insert(addr_key(IpAddr::V4(Ipv4Addr::from(
                i.wrapping_mul(2_654_435_761)
            )))));
        }
        for i in 0..200_000u128 {
            let a = std::net::Ipv6Addr::from((0x2001_0db8u128 << 96) | i << 7);
            assert!(seen.insert(addr_key(IpAddr::V6(a))));
        }
        // The unique-host count is exact below the switch and close above.
        let mut d = Distinct::new();
        for i in 0..4_000u32 {
            d.insert(addr_key(IpAddr::V4(Ipv4Addr::from(i))));
            d.insert(addr_key(IpAddr::V4(Ipv4Addr::from(i))));
        }
        assert_eq!(d.count(), (4_000, true));
        for i in 4_000..200_000u32 {
            d.insert(addr_key(IpAddr::V4(Ipv4Addr::from(i))));
        }
        let (n, exact) = d.count();
        assert!(!exact);
        // 2^12 registers: 1.6 % standard error; 5 % is three of them.
        assert!((n as f64 / 200_000.0 - 1.0).abs() < 0.05, "{n}");
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
