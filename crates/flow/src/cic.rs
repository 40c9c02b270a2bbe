//! The CICFlowMeter feature set (`cic`), computed correctly.
//!
//! [`CicState`] is the per-flow accumulator: the meter allocates one per flow
//! (only when the `cic` set is selected) and calls [`CicState::on_packet`] for
//! every packet of the flow, in time order, once the packet's direction is
//! known. [`CIC_COLUMNS`] lists the columns in the order of the CIC-IDS2017
//! (improved, Engelen et al. 2021) CSV files, each with a netlens snake_case
//! name and the exact CIC-IDS2017 header string (`cic_name`).
//!
//! Definitions follow CICFlowMeter's `BasicFlow` (what it meant to compute),
//! with its known bugs fixed; `docs/cic.md` lists every formula and every
//! difference. In short:
//! - "packet length" is the transport payload length declared by the IP
//!   header (CICFlowMeter's `getPayloadBytes`); "header length" is the
//!   transport header length (TCP with options, 8 for UDP, also over IPv6);
//! - times (durations, IATs, active/idle) are microseconds, as in
//!   CICFlowMeter, but computed from nanosecond timestamps without rounding
//!   the gaps (`f64` µs); `Flow Duration` is whole µs;
//! - every packet is counted exactly once, the first packet included;
//! - means, ratios and rates are `f64`, never integer-truncated; a rate over
//!   a zero duration is `Null` (undefined), not 0, NaN or -1.
//!
//! Invariants: `on_packet` is O(1) and allocation-free; no input value can
//! make it panic (all arithmetic on timestamps saturates, gaps are clamped at
//! 0); the sums of the active and idle periods equal the flow duration.

use std::net::{IpAddr, Ipv4Addr};

use netlens_wire::{PacketSummary, tcp_flags};

use crate::features::{ColumnType, Direction, Value};
use crate::stats::Running;

/// CICFlowMeter's default activity timeout: 5 s, in ns. A gap between two
/// packets of a flow longer than this ends an active period and is an idle period.
pub const DEFAULT_ACTIVITY_TIMEOUT_NS: i64 = 5_000_000_000;

/// A gap between two packets longer than this (1 s, CICFlowMeter's constant) starts a new subflow.
pub const SUBFLOW_GAP_NS: i64 = 1_000_000_000;

/// A gap between two data packets of one direction longer than this (1 s) breaks a bulk.
pub const BULK_GAP_NS: i64 = 1_000_000_000;

/// Consecutive data packets of one direction needed to form a bulk (CICFlowMeter: 4).
pub const BULK_MIN_PACKETS: u64 = 4;

const NS_PER_US: f64 = 1_000.0;
const NS_PER_S: f64 = 1_000_000_000.0;

/// Bulk detection state of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Bulk {
    /// Data packets in the current candidate run (0 = no run).
    run_packets: u64,
    /// Payload bytes in the current candidate run.
    run_bytes: u64,
    /// Time of the first data packet of the run.
    run_start_ns: i64,
    /// Time of the last data packet of the run.
    run_last_ns: i64,
    /// Completed bulks (runs that reached [`BULK_MIN_PACKETS`]).
    count: u64,
    /// Data packets inside bulks.
    packets: u64,
    /// Payload bytes inside bulks.
    bytes: u64,
    /// Sum over bulks of (last - first packet time), ns.
    duration_ns: i64,
}

impl Bulk {
    /// A data packet of this direction.
    fn data(&mut self, ts_ns: i64, size: u64) {
        if self.run_packets > 0 && ts_ns.saturating_sub(self.run_last_ns) > BULK_GAP_NS {
            self.run_packets = 0;
        }
        if self.run_packets == 0 {
            self.run_packets = 1;
            self.run_bytes = size;
            self.run_start_ns = ts_ns;
            self.run_last_ns = ts_ns;
            return;
        }
        self.run_packets += 1;
        self.run_bytes = self.run_bytes.saturating_add(size);
        if self.run_packets == BULK_MIN_PACKETS {
            self.count += 1;
            self.packets += self.run_packets;
            self.bytes = self.bytes.saturating_add(self.run_bytes);
            self.duration_ns = self.duration_ns.saturating_add(ts_ns.saturating_sub(self.run_start_ns).max(0));
        } else if self.run_packets > BULK_MIN_PACKETS {
            self.packets += 1;
            self.bytes = self.bytes.saturating_add(size);
            self.duration_ns = self.duration_ns.saturating_add(ts_ns.saturating_sub(self.run_last_ns).max(0));
        }
        self.run_last_ns = ts_ns;
    }

    /// A data packet of the other direction interrupts the run.
    fn interrupt(&mut self) {
        self.run_packets = 0;
    }

    fn bytes_per_bulk(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.bytes as f64 / self.count as f64 }
    }

    fn packets_per_bulk(&self) -> f64 {
        if self.count == 0 { 0.0 } else { self.packets as f64 / self.count as f64 }
    }

    fn rate(&self) -> Value<'static> {
        if self.count == 0 {
            Value::F64(0.0)
        } else if self.duration_ns <= 0 {
            Value::Null
        } else {
            Value::F64(self.bytes as f64 / (self.duration_ns as f64 / NS_PER_S))
        }
    }
}

/// Per-direction CIC counters.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Dir {
    packets: u64,
    /// Transport payload bytes.
    bytes: u64,
    /// Transport payload lengths.
    len: Running,
    /// Gaps between consecutive packets of this direction, µs.
    iat_us: Running,
    last_ns: i64,
    /// Sum of transport header lengths.
    header_bytes: u64,
    /// Smallest transport header length (meaningful when `packets > 0`).
    header_min: u16,
    psh: u64,
    urg: u64,
    rst: u64,
    /// TCP window of this direction's first packet; -1 when none / not TCP.
    init_win: i32,
    /// Packets with at least one byte of transport payload.
    data_packets: u64,
    bulk: Bulk,
}

impl Dir {
    fn new() -> Dir {
        Dir { init_win: -1, ..Dir::default() }
    }

    fn add(&mut self, ts_ns: i64, pkt: &PacketSummary) {
        let size = u64::from(pkt.l4_payload_len);
        if self.packets == 0 {
            self.init_win = if pkt.protocol == 6 { i32::from(pkt.tcp.window) } else { -1 };
            self.header_min = pkt.l4_header_len;
        } else {
            self.iat_us.push(gap_ns(self.last_ns, ts_ns) as f64 / NS_PER_US);
            self.header_min = self.header_min.min(pkt.l4_header_len);
        }
        self.last_ns = ts_ns;
        self.packets += 1;
        self.bytes = self.bytes.saturating_add(size);
        self.len.push(size as f64);
        self.header_bytes = self.header_bytes.saturating_add(u64::from(pkt.l4_header_len));
        if size > 0 {
            self.data_packets += 1;
        }
        if pkt.protocol == 6 {
            let f = pkt.tcp.flags;
            self.psh += u64::from(f & tcp_flags::PSH != 0);
            self.urg += u64::from(f & tcp_flags::URG != 0);
            self.rst += u64::from(f & tcp_flags::RST != 0);
        }
    }
}

/// Gap between two timestamps in ns, never negative.
fn gap_ns(earlier: i64, later: i64) -> i64 {
    later.saturating_sub(earlier).max(0)
}

/// Per-flow CIC state; allocated once per flow only when the cic set is selected.
#[derive(Clone, Debug, PartialEq)]
pub struct CicState {
    activity_timeout_ns: i64,
    packets: u64,
    first_ns: i64,
    last_ns: i64,
    src_ip: IpAddr,
    dst_ip: IpAddr,
    src_port: u16,
    dst_port: u16,
    protocol: u8,
    icmp: Option<(u8, u8)>,
    flow_id: String,
    fwd: Dir,
    bwd: Dir,
    /// Payload lengths of all packets.
    len: Running,
    /// Gaps between consecutive packets of the flow, µs.
    iat_us: Running,
    /// Counts of FIN, SYN, RST, PSH, ACK, URG, CWR, ECE (CIC's column order).
    flags: [u64; 8],
    /// 1 + gaps longer than [`SUBFLOW_GAP_NS`] (0 before the first packet).
    subflows: u64,
    /// Completed active periods, µs (the open one is added when read).
    active_us: Running,
    /// Idle periods, µs.
    idle_us: Running,
    /// Start of the open active period.
    active_start_ns: i64,
}

impl Default for CicState {
    fn default() -> Self {
        CicState::empty(DEFAULT_ACTIVITY_TIMEOUT_NS)
    }
}

impl CicState {
    /// State whose first packet is `first`, sent in the forward (src→dst)
    /// direction, with the default activity timeout. For a flow whose first
    /// packet is backward (a SYN-ACK the meter flipped) use
    /// [`CicState::empty`] and [`CicState::on_packet`] with `fwd = false`.
    pub fn new(ts_ns: i64, first: &PacketSummary, wire_len: u32) -> CicState {
        let mut s = CicState::default();
        s.on_packet(true, ts_ns, first, wire_len);
        s
    }

    /// State without packets; gaps longer than `activity_timeout_ns` separate
    /// active periods (CIC default [`DEFAULT_ACTIVITY_TIMEOUT_NS`]; values below 0 are taken as 0).
    pub fn empty(activity_timeout_ns: i64) -> CicState {
        CicState {
            activity_timeout_ns: activity_timeout_ns.max(0),
            packets: 0,
            first_ns: 0,
            last_ns: 0,
            src_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            src_port: 0,
            dst_port: 0,
            protocol: 0,
            icmp: None,
            flow_id: String::new(),
            fwd: Dir::new(),
            bwd: Dir::new(),
            len: Running::default(),
            iat_us: Running::default(),
            flags: [0; 8],
            subflows: 0,
            active_us: Running::default(),
            idle_us: Running::default(),
            active_start_ns: 0,
        }
    }

    /// The activity timeout in use, ns.
    pub fn activity_timeout_ns(&self) -> i64 {
        self.activity_timeout_ns
    }

    /// Packets seen in both directions.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Called for every packet of the flow after direction is decided (fwd =
    /// src→dst of the flow). `ts_ns` is non-decreasing (an older timestamp
    /// is treated as a zero gap). `wire_len` is not used by any CIC
    /// definition (they count transport payload); it keeps the call uniform
    /// with the other feature sets.
    pub fn on_packet(&mut self, fwd: bool, ts_ns: i64, pkt: &PacketSummary, _wire_len: u32) {
        if self.packets == 0 {
            self.first(fwd, ts_ns, pkt);
        } else {
            let gap = gap_ns(self.last_ns, ts_ns);
            self.iat_us.push(gap as f64 / NS_PER_US);
            if gap > SUBFLOW_GAP_NS {
                self.subflows += 1;
            }
            if gap > self.activity_timeout_ns {
                self.active_us.push(gap_ns(self.active_start_ns, self.last_ns) as f64 / NS_PER_US);
                self.idle_us.push(gap as f64 / NS_PER_US);
                self.active_start_ns = ts_ns;
            }
        }
        // Time never runs backwards inside the state.
        let ts_ns = ts_ns.max(self.last_ns);
        self.last_ns = ts_ns;
        self.packets += 1;
        let size = u64::from(pkt.l4_payload_len);
        self.len.push(size as f64);
        if pkt.protocol == 6 {
            const ORDER: [u16; 8] = [
                tcp_flags::FIN,
                tcp_flags::SYN,
                tcp_flags::RST,
                tcp_flags::PSH,
                tcp_flags::ACK,
                tcp_flags::URG,
                tcp_flags::CWR,
                tcp_flags::ECE,
            ];
            for (slot, bit) in self.flags.iter_mut().zip(ORDER) {
                *slot += u64::from(pkt.tcp.flags & bit != 0);
            }
        }
        let (this, other) = if fwd { (&mut self.fwd, &mut self.bwd) } else { (&mut self.bwd, &mut self.fwd) };
        this.add(ts_ns, pkt);
        if size > 0 {
            this.bulk.data(ts_ns, size);
            other.bulk.interrupt();
        }
    }

    fn first(&mut self, fwd: bool, ts_ns: i64, pkt: &PacketSummary) {
        use std::fmt::Write as _;
        self.first_ns = ts_ns;
        self.last_ns = ts_ns;
        self.active_start_ns = ts_ns;
        self.subflows = 1;
        let (src_ip, dst_ip, src_port, dst_port) = if fwd {
            (pkt.src_ip, pkt.dst_ip, pkt.src_port, pkt.dst_port)
        } else {
            (pkt.dst_ip, pkt.src_ip, pkt.dst_port, pkt.src_port)
        };
        self.src_ip = src_ip;
        self.dst_ip = dst_ip;
        self.src_port = src_port;
        self.dst_port = dst_port;
        self.protocol = pkt.protocol;
        if pkt.protocol == 1 || pkt.protocol == 58 {
            self.icmp = Some((pkt.icmp_type, pkt.icmp_code));
        }
        self.flow_id.clear();
        let _ = write!(self.flow_id, "{src_ip}-{dst_ip}-{src_port}-{dst_port}-{}", pkt.protocol);
    }

    fn duration_ns(&self) -> i64 {
        gap_ns(self.first_ns, self.last_ns)
    }

    fn duration_s(&self) -> f64 {
        self.duration_ns() as f64 / NS_PER_S
    }

    /// `x / duration in s`, `Null` for a zero-length (e.g. single-packet) flow.
    fn per_second(&self, x: f64) -> Value<'static> {
        if self.duration_ns() <= 0 { Value::Null } else { Value::F64(x / self.duration_s()) }
    }

    /// Active periods including the open one, which ends at the last packet.
    fn active(&self) -> Running {
        let mut r = self.active_us;
        if self.packets > 0 {
            r.push(gap_ns(self.active_start_ns, self.last_ns) as f64 / NS_PER_US);
        }
        r
    }

    fn subflow_avg(&self, x: u64) -> f64 {
        if self.subflows == 0 { 0.0 } else { x as f64 / self.subflows as f64 }
    }

    fn avg(sum: u64, n: u64) -> f64 {
        if n == 0 { 0.0 } else { sum as f64 / n as f64 }
    }
}

/// One column of the `cic` group.
pub struct CicColumn {
    /// netlens column name (snake_case, unique in the registry).
    pub name: &'static str,
    /// The exact header string of the CIC-IDS2017 (improved) CSV files.
    pub cic_name: &'static str,
    /// Storage type.
    pub ty: ColumnType,
    /// Unit ("" when dimensionless).
    pub unit: &'static str,
    /// Direction described.
    pub direction: Direction,
    /// Exact definition.
    pub doc: &'static str,
    /// Reader.
    pub get: for<'a> fn(&'a CicState) -> Value<'a>,
}

impl std::fmt::Debug for CicColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CicColumn").field("name", &self.name).field("cic_name", &self.cic_name).finish()
    }
}

fn u(x: u64) -> Value<'static> {
    Value::U64(x)
}
fn fl(x: f64) -> Value<'static> {
    Value::F64(x)
}
fn len_max(r: &Running) -> Value<'static> {
    Value::U64(r.max as u64)
}
fn len_min(r: &Running) -> Value<'static> {
    Value::U64(r.min as u64)
}
fn icmp(s: &CicState, pick: fn((u8, u8)) -> u8) -> Value<'static> {
    Value::I64(s.icmp.map_or(-1, |tc| i64::from(pick(tc))))
}

macro_rules! cc {
    ($name:literal, $cic:literal, $ty:ident, $unit:literal, $dir:ident, $doc:literal, $get:expr) => {
        CicColumn {
            name: $name,
            cic_name: $cic,
            ty: ColumnType::$ty,
            unit: $unit,
            direction: Direction::$dir,
            doc: $doc,
            get: $get,
        }
    };
}

/// Number of columns in [`CIC_COLUMNS`].
pub const CIC_COLUMN_COUNT: usize = 87;

/// Column definitions of the cic group, in CIC-IDS2017 (improved) CSV order.
///
/// Left out of the CIC-IDS2017 header: `id`, `Label`, `Attempted Category`
/// (dataset labels, not features) and `Total TCP Flow Time` (a duration summed
/// over several flows of one TCP connection, which needs state across flows).
pub static CIC_COLUMNS: [CicColumn; CIC_COLUMN_COUNT] = [
    cc!("cic_flow_id", "Flow ID", Str, "", None, "`src_ip-dst_ip-src_port-dst_port-protocol` of the flow (src = sender of the first packet, or the client after a SYN-ACK flip).", |s| Value::Str(&s.flow_id)),
    cc!("cic_src_ip", "Src IP", Str, "", None, "Source address.", |s| Value::Ip(s.src_ip)),
    cc!("cic_src_port", "Src Port", U64, "", None, "Source transport port (0 without ports).", |s| u(u64::from(s.src_port))),
    cc!("cic_dst_ip", "Dst IP", Str, "", None, "Destination address.", |s| Value::Ip(s.dst_ip)),
    cc!("cic_dst_port", "Dst Port", U64, "", None, "Destination transport port (0 without ports).", |s| u(u64::from(s.dst_port))),
    cc!("cic_protocol", "Protocol", U64, "", None, "IP protocol number.", |s| u(u64::from(s.protocol))),
    cc!("cic_timestamp", "Timestamp", TimestampUs, "UTC", Bidirectional, "Time of the first packet, UTC, µs precision.", |s| Value::TimestampUs(s.first_ns.div_euclid(1_000))),
    cc!("cic_flow_duration_us", "Flow Duration", I64, "µs", Bidirectional, "Last minus first packet time, whole µs (floor); 0 for a single packet.", |s| Value::I64(s.duration_ns() / 1_000)),
    cc!("cic_fwd_packets", "Total Fwd Packet", U64, "packets", Src2Dst, "Packets src→dst.", |s| u(s.fwd.packets)),
    cc!("cic_bwd_packets", "Total Bwd packets", U64, "packets", Dst2Src, "Packets dst→src.", |s| u(s.bwd.packets)),
    cc!("cic_fwd_bytes", "Total Length of Fwd Packet", U64, "bytes", Src2Dst, "Sum of transport payload lengths src→dst (declared by the IP header).", |s| u(s.fwd.bytes)),
    cc!("cic_bwd_bytes", "Total Length of Bwd Packet", U64, "bytes", Dst2Src, "Sum of transport payload lengths dst→src.", |s| u(s.bwd.bytes)),
    cc!("cic_fwd_len_max", "Fwd Packet Length Max", U64, "bytes", Src2Dst, "Largest transport payload length src→dst; 0 without packets.", |s| len_max(&s.fwd.len)),
    cc!("cic_fwd_len_min", "Fwd Packet Length Min", U64, "bytes", Src2Dst, "Smallest transport payload length src→dst; 0 without packets.", |s| len_min(&s.fwd.len)),
    cc!("cic_fwd_len_mean", "Fwd Packet Length Mean", F64, "bytes", Src2Dst, "Mean transport payload length src→dst; 0 without packets.", |s| fl(s.fwd.len.mean)),
    cc!("cic_fwd_len_std", "Fwd Packet Length Std", F64, "bytes", Src2Dst, "Sample standard deviation (n-1) of payload lengths src→dst; 0 with fewer than 2 packets.", |s| fl(s.fwd.len.sample_stddev())),
    cc!("cic_bwd_len_max", "Bwd Packet Length Max", U64, "bytes", Dst2Src, "Largest transport payload length dst→src; 0 without packets.", |s| len_max(&s.bwd.len)),
    cc!("cic_bwd_len_min", "Bwd Packet Length Min", U64, "bytes", Dst2Src, "Smallest transport payload length dst→src; 0 without packets.", |s| len_min(&s.bwd.len)),
    cc!("cic_bwd_len_mean", "Bwd Packet Length Mean", F64, "bytes", Dst2Src, "Mean transport payload length dst→src; 0 without packets.", |s| fl(s.bwd.len.mean)),
    cc!("cic_bwd_len_std", "Bwd Packet Length Std", F64, "bytes", Dst2Src, "Sample standard deviation (n-1) of payload lengths dst→src; 0 with fewer than 2 packets.", |s| fl(s.bwd.len.sample_stddev())),
    cc!("cic_flow_bytes_per_s", "Flow Bytes/s", F64, "bytes/s", Bidirectional, "(fwd + bwd payload bytes) / duration in s; null when the duration is 0.", |s| s.per_second((s.fwd.bytes + s.bwd.bytes) as f64)),
    cc!("cic_flow_packets_per_s", "Flow Packets/s", F64, "packets/s", Bidirectional, "Packets / duration in s; null when the duration is 0.", |s| s.per_second(s.packets as f64)),
    cc!("cic_flow_iat_mean_us", "Flow IAT Mean", F64, "µs", Bidirectional, "Mean gap between consecutive packets of the flow (n-1 gaps); 0 with fewer than 2 packets.", |s| fl(s.iat_us.mean)),
    cc!("cic_flow_iat_std_us", "Flow IAT Std", F64, "µs", Bidirectional, "Sample standard deviation (n-1) of the flow's gaps; 0 with fewer than 3 packets.", |s| fl(s.iat_us.sample_stddev())),
    cc!("cic_flow_iat_max_us", "Flow IAT Max", F64, "µs", Bidirectional, "Largest gap between consecutive packets; 0 with fewer than 2 packets.", |s| fl(s.iat_us.max)),
    cc!("cic_flow_iat_min_us", "Flow IAT Min", F64, "µs", Bidirectional, "Smallest gap between consecutive packets; 0 with fewer than 2 packets.", |s| fl(s.iat_us.min)),
    cc!("cic_fwd_iat_total_us", "Fwd IAT Total", F64, "µs", Src2Dst, "Sum of gaps between consecutive src→dst packets (= last - first src→dst packet time).", |s| fl(s.fwd.iat_us.sum())),
    cc!("cic_fwd_iat_mean_us", "Fwd IAT Mean", F64, "µs", Src2Dst, "Mean gap between consecutive src→dst packets; 0 with fewer than 2.", |s| fl(s.fwd.iat_us.mean)),
    cc!("cic_fwd_iat_std_us", "Fwd IAT Std", F64, "µs", Src2Dst, "Sample standard deviation (n-1) of the src→dst gaps; 0 with fewer than 2 gaps.", |s| fl(s.fwd.iat_us.sample_stddev())),
    cc!("cic_fwd_iat_max_us", "Fwd IAT Max", F64, "µs", Src2Dst, "Largest src→dst gap; 0 with fewer than 2 packets.", |s| fl(s.fwd.iat_us.max)),
    cc!("cic_fwd_iat_min_us", "Fwd IAT Min", F64, "µs", Src2Dst, "Smallest src→dst gap; 0 with fewer than 2 packets.", |s| fl(s.fwd.iat_us.min)),
    cc!("cic_bwd_iat_total_us", "Bwd IAT Total", F64, "µs", Dst2Src, "Sum of gaps between consecutive dst→src packets.", |s| fl(s.bwd.iat_us.sum())),
    cc!("cic_bwd_iat_mean_us", "Bwd IAT Mean", F64, "µs", Dst2Src, "Mean gap between consecutive dst→src packets; 0 with fewer than 2.", |s| fl(s.bwd.iat_us.mean)),
    cc!("cic_bwd_iat_std_us", "Bwd IAT Std", F64, "µs", Dst2Src, "Sample standard deviation (n-1) of the dst→src gaps; 0 with fewer than 2 gaps.", |s| fl(s.bwd.iat_us.sample_stddev())),
    cc!("cic_bwd_iat_max_us", "Bwd IAT Max", F64, "µs", Dst2Src, "Largest dst→src gap; 0 with fewer than 2 packets.", |s| fl(s.bwd.iat_us.max)),
    cc!("cic_bwd_iat_min_us", "Bwd IAT Min", F64, "µs", Dst2Src, "Smallest dst→src gap; 0 with fewer than 2 packets.", |s| fl(s.bwd.iat_us.min)),
    cc!("cic_fwd_psh", "Fwd PSH Flags", U64, "packets", Src2Dst, "src→dst TCP packets with PSH set (every packet, the first included).", |s| u(s.fwd.psh)),
    cc!("cic_bwd_psh", "Bwd PSH Flags", U64, "packets", Dst2Src, "dst→src TCP packets with PSH set.", |s| u(s.bwd.psh)),
    cc!("cic_fwd_urg", "Fwd URG Flags", U64, "packets", Src2Dst, "src→dst TCP packets with URG set.", |s| u(s.fwd.urg)),
    cc!("cic_bwd_urg", "Bwd URG Flags", U64, "packets", Dst2Src, "dst→src TCP packets with URG set.", |s| u(s.bwd.urg)),
    cc!("cic_fwd_rst", "Fwd RST Flags", U64, "packets", Src2Dst, "src→dst TCP packets with RST set.", |s| u(s.fwd.rst)),
    cc!("cic_bwd_rst", "Bwd RST Flags", U64, "packets", Dst2Src, "dst→src TCP packets with RST set.", |s| u(s.bwd.rst)),
    cc!("cic_fwd_header_bytes", "Fwd Header Length", U64, "bytes", Src2Dst, "Sum of transport header lengths src→dst (TCP incl. options, UDP 8, ICMP 8; IPv4 and IPv6 alike; IP headers excluded).", |s| u(s.fwd.header_bytes)),
    cc!("cic_bwd_header_bytes", "Bwd Header Length", U64, "bytes", Dst2Src, "Sum of transport header lengths dst→src.", |s| u(s.bwd.header_bytes)),
    cc!("cic_fwd_packets_per_s", "Fwd Packets/s", F64, "packets/s", Src2Dst, "src→dst packets / flow duration in s; null when the duration is 0.", |s| s.per_second(s.fwd.packets as f64)),
    cc!("cic_bwd_packets_per_s", "Bwd Packets/s", F64, "packets/s", Dst2Src, "dst→src packets / flow duration in s; null when the duration is 0.", |s| s.per_second(s.bwd.packets as f64)),
    cc!("cic_len_min", "Packet Length Min", U64, "bytes", Bidirectional, "Smallest transport payload length of the flow (each packet counted once).", |s| len_min(&s.len)),
    cc!("cic_len_max", "Packet Length Max", U64, "bytes", Bidirectional, "Largest transport payload length of the flow.", |s| len_max(&s.len)),
    cc!("cic_len_mean", "Packet Length Mean", F64, "bytes", Bidirectional, "Mean transport payload length over all packets.", |s| fl(s.len.mean)),
    cc!("cic_len_std", "Packet Length Std", F64, "bytes", Bidirectional, "Sample standard deviation (n-1) of payload lengths; 0 with fewer than 2 packets.", |s| fl(s.len.sample_stddev())),
    cc!("cic_len_var", "Packet Length Variance", F64, "bytes²", Bidirectional, "Sample variance (n-1) of payload lengths; 0 with fewer than 2 packets.", |s| fl(s.len.sample_variance())),
    cc!("cic_fin_count", "FIN Flag Count", U64, "packets", Bidirectional, "TCP packets with FIN set, both directions.", |s| u(s.flags[0])),
    cc!("cic_syn_count", "SYN Flag Count", U64, "packets", Bidirectional, "TCP packets with SYN set.", |s| u(s.flags[1])),
    cc!("cic_rst_count", "RST Flag Count", U64, "packets", Bidirectional, "TCP packets with RST set.", |s| u(s.flags[2])),
    cc!("cic_psh_count", "PSH Flag Count", U64, "packets", Bidirectional, "TCP packets with PSH set.", |s| u(s.flags[3])),
    cc!("cic_ack_count", "ACK Flag Count", U64, "packets", Bidirectional, "TCP packets with ACK set.", |s| u(s.flags[4])),
    cc!("cic_urg_count", "URG Flag Count", U64, "packets", Bidirectional, "TCP packets with URG set.", |s| u(s.flags[5])),
    cc!("cic_cwr_count", "CWR Flag Count", U64, "packets", Bidirectional, "TCP packets with CWR set (CICFlowMeter's docs call it CWE).", |s| u(s.flags[6])),
    cc!("cic_ece_count", "ECE Flag Count", U64, "packets", Bidirectional, "TCP packets with ECE set.", |s| u(s.flags[7])),
    cc!("cic_down_up_ratio", "Down/Up Ratio", F64, "", Bidirectional, "dst→src packets / src→dst packets (real division); 0 without src→dst packets.", |s| fl(CicState::avg(s.bwd.packets, s.fwd.packets))),
    cc!("cic_avg_packet_size", "Average Packet Size", F64, "bytes", Bidirectional, "Payload bytes / packets, both directions (= Packet Length Mean).", |s| fl(CicState::avg(s.fwd.bytes + s.bwd.bytes, s.packets))),
    cc!("cic_fwd_seg_size_avg", "Fwd Segment Size Avg", F64, "bytes", Src2Dst, "src→dst payload bytes / src→dst packets; 0 without packets.", |s| fl(CicState::avg(s.fwd.bytes, s.fwd.packets))),
    cc!("cic_bwd_seg_size_avg", "Bwd Segment Size Avg", F64, "bytes", Dst2Src, "dst→src payload bytes / dst→src packets; 0 without packets.", |s| fl(CicState::avg(s.bwd.bytes, s.bwd.packets))),
    cc!("cic_fwd_bytes_per_bulk", "Fwd Bytes/Bulk Avg", F64, "bytes", Src2Dst, "Payload bytes in src→dst bulks / number of src→dst bulks; 0 without bulks. A bulk: ≥4 consecutive src→dst data packets, gaps ≤1 s, no dst→src data packet in between.", |s| fl(s.fwd.bulk.bytes_per_bulk())),
    cc!("cic_fwd_packets_per_bulk", "Fwd Packet/Bulk Avg", F64, "packets", Src2Dst, "Data packets in src→dst bulks / number of src→dst bulks; 0 without bulks.", |s| fl(s.fwd.bulk.packets_per_bulk())),
    cc!("cic_fwd_bulk_rate", "Fwd Bulk Rate Avg", F64, "bytes/s", Src2Dst, "Payload bytes in src→dst bulks / summed bulk durations in s; 0 without bulks, null when the bulks last 0 s.", |s| s.fwd.bulk.rate()),
    cc!("cic_bwd_bytes_per_bulk", "Bwd Bytes/Bulk Avg", F64, "bytes", Dst2Src, "Payload bytes in dst→src bulks / number of dst→src bulks; 0 without bulks.", |s| fl(s.bwd.bulk.bytes_per_bulk())),
    cc!("cic_bwd_packets_per_bulk", "Bwd Packet/Bulk Avg", F64, "packets", Dst2Src, "Data packets in dst→src bulks / number of dst→src bulks; 0 without bulks.", |s| fl(s.bwd.bulk.packets_per_bulk())),
    cc!("cic_bwd_bulk_rate", "Bwd Bulk Rate Avg", F64, "bytes/s", Dst2Src, "Payload bytes in dst→src bulks / summed bulk durations in s; 0 without bulks, null when the bulks last 0 s.", |s| s.bwd.bulk.rate()),
    cc!("cic_subflow_fwd_packets", "Subflow Fwd Packets", F64, "packets", Src2Dst, "src→dst packets / number of subflows (1 + gaps > 1 s between consecutive packets).", |s| fl(s.subflow_avg(s.fwd.packets))),
    cc!("cic_subflow_fwd_bytes", "Subflow Fwd Bytes", F64, "bytes", Src2Dst, "src→dst payload bytes / number of subflows.", |s| fl(s.subflow_avg(s.fwd.bytes))),
    cc!("cic_subflow_bwd_packets", "Subflow Bwd Packets", F64, "packets", Dst2Src, "dst→src packets / number of subflows.", |s| fl(s.subflow_avg(s.bwd.packets))),
    cc!("cic_subflow_bwd_bytes", "Subflow Bwd Bytes", F64, "bytes", Dst2Src, "dst→src payload bytes / number of subflows.", |s| fl(s.subflow_avg(s.bwd.bytes))),
    cc!("cic_fwd_init_win", "FWD Init Win Bytes", I64, "bytes", Src2Dst, "Raw (unscaled) TCP window of the first src→dst packet; -1 when there is none or the flow is not TCP.", |s| Value::I64(i64::from(s.fwd.init_win))),
    cc!("cic_bwd_init_win", "Bwd Init Win Bytes", I64, "bytes", Dst2Src, "Raw TCP window of the first dst→src packet; -1 when there is none or the flow is not TCP.", |s| Value::I64(i64::from(s.bwd.init_win))),
    cc!("cic_fwd_act_data_packets", "Fwd Act Data Pkts", U64, "packets", Src2Dst, "src→dst packets with at least 1 byte of transport payload (the first packet included).", |s| u(s.fwd.data_packets)),
    cc!("cic_fwd_header_min", "Fwd Seg Size Min", U64, "bytes", Src2Dst, "Smallest transport header length src→dst (CICFlowMeter's min_seg_size_forward is a header length); 0 without packets.", |s| u(if s.fwd.packets == 0 { 0 } else { u64::from(s.fwd.header_min) })),
    cc!("cic_active_mean_us", "Active Mean", F64, "µs", Bidirectional, "Mean active period. The flow's packets are split at gaps longer than the activity timeout (default 5 s); an active period lasts from its first to its last packet (0 for a lone packet); the last one ends at the flow's last packet.", |s| fl(s.active().mean)),
    cc!("cic_active_std_us", "Active Std", F64, "µs", Bidirectional, "Sample standard deviation (n-1) of the active periods; 0 with fewer than 2.", |s| fl(s.active().sample_stddev())),
    cc!("cic_active_max_us", "Active Max", F64, "µs", Bidirectional, "Longest active period.", |s| fl(s.active().max)),
    cc!("cic_active_min_us", "Active Min", F64, "µs", Bidirectional, "Shortest active period.", |s| fl(s.active().min)),
    cc!("cic_idle_mean_us", "Idle Mean", F64, "µs", Bidirectional, "Mean idle period: the gaps longer than the activity timeout; 0 without one. Active + idle periods sum to Flow Duration.", |s| fl(s.idle_us.mean)),
    cc!("cic_idle_std_us", "Idle Std", F64, "µs", Bidirectional, "Sample standard deviation (n-1) of the idle periods; 0 with fewer than 2.", |s| fl(s.idle_us.sample_stddev())),
    cc!("cic_idle_max_us", "Idle Max", F64, "µs", Bidirectional, "Longest idle period; 0 without one.", |s| fl(s.idle_us.max)),
    cc!("cic_idle_min_us", "Idle Min", F64, "µs", Bidirectional, "Shortest idle period; 0 without one.", |s| fl(s.idle_us.min)),
    cc!("cic_icmp_code", "ICMP Code", I64, "", None, "ICMP/ICMPv6 code of the flow's first packet; -1 for other protocols.", |s| icmp(s, |tc| tc.1)),
    cc!("cic_icmp_type", "ICMP Type", I64, "", None, "ICMP/ICMPv6 type of the flow's first packet; -1 for other protocols.", |s| icmp(s, |tc| tc.0)),
];

/// Find a column by netlens name or by CIC-IDS2017 header name.
pub fn column(name: &str) -> Option<&'static CicColumn> {
    CIC_COLUMNS.iter().find(|c| c.name == name || c.cic_name == name)
}

/// The markdown table of the cic columns (both names, type, unit, direction,
/// definition), generated from [`CIC_COLUMNS`] for `docs/cic.md`.
pub fn markdown_table() -> String {
    use std::fmt::Write as _;
    let mut s = String::from("| column | CIC-IDS2017 name | type | unit | direction | definition |\n|---|---|---|---|---|---|\n");
    for c in &CIC_COLUMNS {
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {} | {} |",
            c.name,
            c.cic_name,
            c.ty.name(),
            c.unit,
            c.direction.name(),
            c.doc.replace('|', "\\|")
        );
    }
    s
}
