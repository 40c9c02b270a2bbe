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
            self.duration_ns = self
                .duration_ns
                .saturating_add(ts_ns.saturating_sub(self.run_start_ns).max(0));
        } else if self.run_packets > BULK_MIN_PACKETS {
            self.packets += 1;
            self.bytes = self.bytes.saturating_add(size);
            self.duration_ns = self
                .duration_ns
                .saturating_add(ts_ns.saturating_sub(self.run_last_ns).max(0));
        }
        self.run_last_ns = ts_ns;
    }

    /// A data packet of the other direction interrupts the run.
    fn interrupt(&mut self) {
        self.run_packets = 0;
    }

    fn bytes_per_bulk(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.bytes as f64 / self.count as f64
        }
    }

    fn packets_per_bulk(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.packets as f64 / self.count as f64
        }
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
    first_ns: i64,
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
        Dir {
            init_win: -1,
            ..Dir::default()
        }
    }

    /// Sum of this direction's gaps, exactly: last minus first packet time, µs.
    fn iat_total_us(&self) -> f64 {
        gap_ns(self.first_ns, self.last_ns) as f64 / NS_PER_US
    }

    fn add(&mut self, ts_ns: i64, pkt: &PacketSummary) {
        let size = u64::from(pkt.l4_payload_len);
        if self.packets == 0 {
            self.first_ns = ts_ns;
            self.init_win = if pkt.protocol == 6 {
                i32::from(pkt.tcp.window)
            } else {
                -1
            };
            self.header_min = pkt.l4_header_len;
        } else {
            self.iat_us
                .push(gap_ns(self.last_ns, ts_ns) as f64 / NS_PER_US);
            self.header_min = self.header_min.min(pkt.l4_header_len);
        }
        self.last_ns = ts_ns;
        self.packets += 1;
        self.bytes = self.bytes.saturating_add(size);
        self.len.push(size as f64);
        self.header_bytes = self
            .header_bytes
            .saturating_add(u64::from(pkt.l4_header_len));
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

/// The CIC `Flow ID` text of a flow, built from the endpoint fields the
/// first time the column is read, not for every flow: detectors never read
/// it, and formatting it for each of a flood's flows cost ~2 % of `netlens
/// detect`. Equality ignores it, as it is a function of fields compared
/// anyway.
#[derive(Clone, Debug, Default)]
struct FlowIdText(std::sync::OnceLock<String>);

impl PartialEq for FlowIdText {
    fn eq(&self, _: &FlowIdText) -> bool {
        true
    }
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
    flow_id: FlowIdText,
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
            flow_id: FlowIdText::default(),
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
                self.active_us
                    .push(gap_ns(self.active_start_ns, self.last_ns) as f64 / NS_PER_US);
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
        let (this, other) = if fwd {
            (&mut self.fwd, &mut self.bwd)
        } else {
            (&mut self.bwd, &mut self.fwd)
        };
        this.add(ts_ns, pkt);
        if size > 0 {
            this.bulk.data(ts_ns, size);
            other.bulk.interrupt();
        }
    }

    fn first(&mut self, fwd: bool, ts_ns: i64, pkt: &PacketSummary) {
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
    }

    /// The `Flow ID` text, built on first read (see [`FlowIdText`]).
    fn flow_id(&self) -> &str {
        self.flow_id.0.get_or_init(|| {
            let mut t = String::new();
            write_flow_id(
                &mut t,
                self.src_ip,
                self.dst_ip,
                self.src_port,
                self.dst_port,
                self.protocol,
            );
            t
        })
    }

    fn duration_ns(&self) -> i64 {
        gap_ns(self.first_ns, self.last_ns)
    }

    fn duration_s(&self) -> f64 {
        self.duration_ns() as f64 / NS_PER_S
    }

    /// `x / duration in s`, `Null` for a zero-length (e.g. single-packet) flow.
    fn per_second(&self, x: f64) -> Value<'static> {
        if self.duration_ns() <= 0 {
            Value::Null
        } else {
            Value::F64(x / self.duration_s())
        }
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
        if self.subflows == 0 {
            0.0
        } else {
            x as f64 / self.subflows as f64
        }
    }

    fn avg(sum: u64, n: u64) -> f64 {
        if n == 0 { 0.0 } else { sum as f64 / n as f64 }
    }
}

/// `src_ip-dst_ip-src_port-dst_port-protocol` into `out` (cleared first).
/// IPv4 addresses and the numbers are formatted by hand: this runs once per
/// flow, and `core::fmt` took ~4 % of metering a SYN flood with the `cic`
/// set. IPv6 (rare, and with its zero-compression rules) uses `Display`.
fn write_flow_id(out: &mut String, src: IpAddr, dst: IpAddr, sport: u16, dport: u16, proto: u8) {
    fn num(out: &mut String, mut v: u32) {
        let mut digits = [0u8; 10];
        let mut i = digits.len();
        loop {
            i -= 1;
            if let Some(d) = digits.get_mut(i) {
                *d = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        for &d in digits.get(i..).unwrap_or(&[]) {
            out.push(char::from(d));
        }
    }
    fn ip(out: &mut String, a: IpAddr) {
        match a {
            IpAddr::V4(v4) => {
                for (i, o) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    num(out, u32::from(o));
                }
            }
            IpAddr::V6(v6) => {
                use std::fmt::Write as _;
                let _ = write!(out, "{v6}");
            }
        }
    }
    out.clear();
    out.reserve(47);
    ip(out, src);
    out.push('-');
    ip(out, dst);
    out.push('-');
    num(out, u32::from(sport));
    out.push('-');
    num(out, u32::from(dport));
    out.push('-');
    num(out, u32::from(proto));
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
    /// The reader over a run of flows, `Null` for flows without CIC state
    /// (see [`crate::features::ReadValues`]).
    pub read: crate::features::ReadValues,
    /// The reader over borrowed flows.
    pub read_refs: crate::features::ReadRefValues,
    /// The reader over borrowed flows, as numbers.
    pub read_f64: crate::features::ReadRefF64,
    /// The typed reader over a run of flows (see [`crate::features::Fill`]).
    pub fill: crate::features::Fill,
}

/// The value of `get` for a flow's CIC state, `Null` without one.
#[inline(always)]
fn of_flow<'a>(f: &'a crate::Flow, get: impl FnOnce(&'a CicState) -> Value<'a>) -> Value<'a> {
    match f.cic.as_deref() {
        Some(s) => get(s),
        None => Value::Null,
    }
}

impl std::fmt::Debug for CicColumn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CicColumn")
            .field("name", &self.name)
            .field("cic_name", &self.cic_name)
            .finish()
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
#[inline(always)]
fn icmp(s: &CicState, pick: impl FnOnce((u8, u8)) -> u8) -> Value<'static> {
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
            read: {
                fn read<'a>(flows: &'a [crate::Flow], out: &mut Vec<Value<'a>>) {
                    out.clear();
                    out.extend(flows.iter().map(|f| of_flow(f, $get)));
                }
                read
            },
            read_refs: {
                fn read<'a>(flows: &[&'a crate::Flow], out: &mut Vec<Value<'a>>) {
                    out.clear();
                    out.extend(flows.iter().map(|&f| of_flow(f, $get)));
                }
                read
            },
            read_f64: {
                fn read(flows: &[&crate::Flow], out: &mut Vec<f64>) {
                    out.clear();
                    out.extend(flows.iter().map(|&f| of_flow(f, $get).as_f64()));
                }
                read
            },
            fill: crate::features::fill_fn!($ty, |f| of_flow(f, $get)),
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
    cc!(
        "cic_flow_id",
        "Flow ID",
        Str,
        "",
        None,
        "`src_ip-dst_ip-src_port-dst_port-protocol` of the flow (src = sender of the first packet, or the client after a SYN-ACK flip).",
        |s| Value::Str(s.flow_id())
    ),
    cc!(
        "cic_src_ip",
        "Src IP",
        Str,
        "",
        None,
        "Source address.",
        |s| Value::Ip(s.src_ip)
    ),
    cc!(
        "cic_src_port",
        "Src Port",
        U64,
        "",
        None,
        "Source transport port (0 without ports).",
        |s| u(u64::from(s.src_port))
    ),
    cc!(
        "cic_dst_ip",
        "Dst IP",
        Str,
        "",
        None,
        "Destination address.",
        |s| Value::Ip(s.dst_ip)
    ),
    cc!(
        "cic_dst_port",
        "Dst Port",
        U64,
        "",
        None,
        "Destination transport port (0 without ports).",
        |s| u(u64::from(s.dst_port))
    ),
    cc!(
        "cic_protocol",
        "Protocol",
        U64,
        "",
        None,
        "IP protocol number.",
        |s| u(u64::from(s.protocol))
    ),
    cc!(
        "cic_timestamp",
        "Timestamp",
        TimestampUs,
        "UTC",
        Bidirectional,
        "Time of the first packet, UTC, µs precision.",
        |s| Value::TimestampUs(s.first_ns.div_euclid(1_000))
    ),
    cc!(
        "cic_flow_duration_us",
        "Flow Duration",
        I64,
        "µs",
        Bidirectional,
        "Last minus first packet time, whole µs (floor); 0 for a single packet.",
        |s| Value::I64(s.duration_ns() / 1_000)
    ),
    cc!(
        "cic_fwd_packets",
        "Total Fwd Packet",
        U64,
        "packets",
        Src2Dst,
        "Packets src→dst.",
        |s| u(s.fwd.packets)
    ),
    cc!(
        "cic_bwd_packets",
        "Total Bwd packets",
        U64,
        "packets",
        Dst2Src,
        "Packets dst→src.",
        |s| u(s.bwd.packets)
    ),
    cc!(
        "cic_fwd_bytes",
        "Total Length of Fwd Packet",
        U64,
        "bytes",
        Src2Dst,
        "Sum of transport payload lengths src→dst (declared by the IP header).",
        |s| u(s.fwd.bytes)
    ),
    cc!(
        "cic_bwd_bytes",
        "Total Length of Bwd Packet",
        U64,
        "bytes",
        Dst2Src,
        "Sum of transport payload lengths dst→src.",
        |s| u(s.bwd.bytes)
    ),
    cc!(
        "cic_fwd_len_max",
        "Fwd Packet Length Max",
        U64,
        "bytes",
        Src2Dst,
        "Largest transport payload length src→dst; 0 without packets.",
        |s| len_max(&s.fwd.len)
    ),
    cc!(
        "cic_fwd_len_min",
        "Fwd Packet Length Min",
        U64,
        "bytes",
        Src2Dst,
        "Smallest transport payload length src→dst; 0 without packets.",
        |s| len_min(&s.fwd.len)
    ),
    cc!(
        "cic_fwd_len_mean",
        "Fwd Packet Length Mean",
        F64,
        "bytes",
        Src2Dst,
        "Mean transport payload length src→dst; 0 without packets.",
        |s| fl(s.fwd.len.mean)
    ),
    cc!(
        "cic_fwd_len_std",
        "Fwd Packet Length Std",
        F64,
        "bytes",
        Src2Dst,
        "Sample standard deviation (n-1) of payload lengths src→dst; 0 with fewer than 2 packets.",
        |s| fl(s.fwd.len.sample_stddev())
    ),
    cc!(
        "cic_bwd_len_max",
        "Bwd Packet Length Max",
        U64,
        "bytes",
        Dst2Src,
        "Largest transport payload length dst→src; 0 without packets.",
        |s| len_max(&s.bwd.len)
    ),
    cc!(
        "cic_bwd_len_min",
        "Bwd Packet Length Min",
        U64,
        "bytes",
        Dst2Src,
        "Smallest transport payload length dst→src; 0 without packets.",
        |s| len_min(&s.bwd.len)
    ),
    cc!(
        "cic_bwd_len_mean",
        "Bwd Packet Length Mean",
        F64,
        "bytes",
        Dst2Src,
        "Mean transport payload length dst→src; 0 without packets.",
        |s| fl(s.bwd.len.mean)
    ),
    cc!(
        "cic_bwd_len_std",
        "Bwd Packet Length Std",
        F64,
        "bytes",
        Dst2Src,
        "Sample standard deviation (n-1) of payload lengths dst→src; 0 with fewer than 2 packets.",
        |s| fl(s.bwd.len.sample_stddev())
    ),
    cc!(
        "cic_flow_bytes_per_s",
        "Flow Bytes/s",
        F64,
        "bytes/s",
        Bidirectional,
        "(fwd + bwd payload bytes) / duration in s; null when the duration is 0.",
        |s| s.per_second((s.fwd.bytes + s.bwd.bytes) as f64)
    ),
    cc!(
        "cic_flow_packets_per_s",
        "Flow Packets/s",
        F64,
        "packets/s",
        Bidirectional,
        "Packets / duration in s; null when the duration is 0.",
        |s| s.per_second(s.packets as f64)
    ),
    cc!(
        "cic_flow_iat_mean_us",
        "Flow IAT Mean",
        F64,
        "µs",
        Bidirectional,
        "Mean gap between consecutive packets of the flow (n-1 gaps); 0 with fewer than 2 packets.",
        |s| fl(s.iat_us.mean)
    ),
    cc!(
        "cic_flow_iat_std_us",
        "Flow IAT Std",
        F64,
        "µs",
        Bidirectional,
        "Sample standard deviation (n-1) of the flow's gaps; 0 with fewer than 3 packets.",
        |s| fl(s.iat_us.sample_stddev())
    ),
    cc!(
        "cic_flow_iat_max_us",
        "Flow IAT Max",
        F64,
        "µs",
        Bidirectional,
        "Largest gap between consecutive packets; 0 with fewer than 2 packets.",
        |s| fl(s.iat_us.max)
    ),
    cc!(
        "cic_flow_iat_min_us",
        "Flow IAT Min",
        F64,
        "µs",
        Bidirectional,
        "Smallest gap between consecutive packets; 0 with fewer than 2 packets.",
        |s| fl(s.iat_us.min)
    ),
    cc!(
        "cic_fwd_iat_total_us",
        "Fwd IAT Total",
        F64,
        "µs",
        Src2Dst,
        "Sum of gaps between consecutive src→dst packets (= last - first src→dst packet time).",
        |s| fl(s.fwd.iat_total_us())
    ),
    cc!(
        "cic_fwd_iat_mean_us",
        "Fwd IAT Mean",
        F64,
        "µs",
        Src2Dst,
        "Mean gap between consecutive src→dst packets; 0 with fewer than 2.",
        |s| fl(s.fwd.iat_us.mean)
    ),
    cc!(
        "cic_fwd_iat_std_us",
        "Fwd IAT Std",
        F64,
        "µs",
        Src2Dst,
        "Sample standard deviation (n-1) of the src→dst gaps; 0 with fewer than 2 gaps.",
        |s| fl(s.fwd.iat_us.sample_stddev())
    ),
    cc!(
        "cic_fwd_iat_max_us",
        "Fwd IAT Max",
        F64,
        "µs",
        Src2Dst,
        "Largest src→dst gap; 0 with fewer than 2 packets.",
        |s| fl(s.fwd.iat_us.max)
    ),
    cc!(
        "cic_fwd_iat_min_us",
        "Fwd IAT Min",
        F64,
        "µs",
        Src2Dst,
        "Smallest src→dst gap; 0 with fewer than 2 packets.",
        |s| fl(s.fwd.iat_us.min)
    ),
    cc!(
        "cic_bwd_iat_total_us",
        "Bwd IAT Total",
        F64,
        "µs",
        Dst2Src,
        "Sum of gaps between consecutive dst→src packets.",
        |s| fl(s.bwd.iat_total_us())
    ),
    cc!(
        "cic_bwd_iat_mean_us",
        "Bwd IAT Mean",
        F64,
        "µs",
        Dst2Src,
        "Mean gap between consecutive dst→src packets; 0 with fewer than 2.",
        |s| fl(s.bwd.iat_us.mean)
    ),
    cc!(
        "cic_bwd_iat_std_us",
        "Bwd IAT Std",
        F64,
        "µs",
        Dst2Src,
        "Sample standard deviation (n-1) of the dst→src gaps; 0 with fewer than 2 gaps.",
        |s| fl(s.bwd.iat_us.sample_stddev())
    ),
    cc!(
        "cic_bwd_iat_max_us",
        "Bwd IAT Max",
        F64,
        "µs",
        Dst2Src,
        "Largest dst→src gap; 0 with fewer than 2 packets.",
        |s| fl(s.bwd.iat_us.max)
    ),
    cc!(
        "cic_bwd_iat_min_us",
        "Bwd IAT Min",
        F64,
        "µs",
        Dst2Src,
        "Smallest dst→src gap; 0 with fewer than 2 packets.",
        |s| fl(s.bwd.iat_us.min)
    ),
    cc!(
        "cic_fwd_psh",
        "Fwd PSH Flags",
        U64,
        "packets",
        Src2Dst,
        "src→dst TCP packets with PSH set (every packet, the first included).",
        |s| u(s.fwd.psh)
    ),
    cc!(
        "cic_bwd_psh",
        "Bwd PSH Flags",
        U64,
        "packets",
        Dst2Src,
        "dst→src TCP packets with PSH set.",
        |s| u(s.bwd.psh)
    ),
    cc!(
        "cic_fwd_urg",
        "Fwd URG Flags",
        U64,
        "packets",
        Src2Dst,
        "src→dst TCP packets with URG set.",
        |s| u(s.fwd.urg)
    ),
    cc!(
        "cic_bwd_urg",
        "Bwd URG Flags",
        U64,
        "packets",
        Dst2Src,
        "dst→src TCP packets with URG set.",
        |s| u(s.bwd.urg)
    ),
    cc!(
        "cic_fwd_rst",
        "Fwd RST Flags",
        U64,
        "packets",
        Src2Dst,
        "src→dst TCP packets with RST set.",
        |s| u(s.fwd.rst)
    ),
    cc!(
        "cic_bwd_rst",
        "Bwd RST Flags",
        U64,
        "packets",
        Dst2Src,
        "dst→src TCP packets with RST set.",
        |s| u(s.bwd.rst)
    ),
    cc!(
        "cic_fwd_header_bytes",
        "Fwd Header Length",
        U64,
        "bytes",
        Src2Dst,
        "Sum of transport header lengths src→dst (TCP incl. options, UDP 8, ICMP 8; IPv4 and IPv6 alike; IP headers excluded).",
        |s| u(s.fwd.header_bytes)
    ),
    cc!(
        "cic_bwd_header_bytes",
        "Bwd Header Length",
        U64,
        "bytes",
        Dst2Src,
        "Sum of transport header lengths dst→src.",
        |s| u(s.bwd.header_bytes)
    ),
    cc!(
        "cic_fwd_packets_per_s",
        "Fwd Packets/s",
        F64,
        "packets/s",
        Src2Dst,
        "src→dst packets / flow duration in s; null when the duration is 0.",
        |s| s.per_second(s.fwd.packets as f64)
    ),
    cc!(
        "cic_bwd_packets_per_s",
        "Bwd Packets/s",
        F64,
        "packets/s",
        Dst2Src,
        "dst→src packets / flow duration in s; null when the duration is 0.",
        |s| s.per_second(s.bwd.packets as f64)
    ),
    cc!(
        "cic_len_min",
        "Packet Length Min",
        U64,
        "bytes",
        Bidirectional,
        "Smallest transport payload length of the flow (each packet counted once).",
        |s| len_min(&s.len)
    ),
    cc!(
        "cic_len_max",
        "Packet Length Max",
        U64,
        "bytes",
        Bidirectional,
        "Largest transport payload length of the flow.",
        |s| len_max(&s.len)
    ),
    cc!(
        "cic_len_mean",
        "Packet Length Mean",
        F64,
        "bytes",
        Bidirectional,
        "Mean transport payload length over all packets.",
        |s| fl(s.len.mean)
    ),
    cc!(
        "cic_len_std",
        "Packet Length Std",
        F64,
        "bytes",
        Bidirectional,
        "Sample standard deviation (n-1) of payload lengths; 0 with fewer than 2 packets.",
        |s| fl(s.len.sample_stddev())
    ),
    cc!(
        "cic_len_var",
        "Packet Length Variance",
        F64,
        "bytes²",
        Bidirectional,
        "Sample variance (n-1) of payload lengths; 0 with fewer than 2 packets.",
        |s| fl(s.len.sample_variance())
    ),
    cc!(
        "cic_fin_count",
        "FIN Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with FIN set, both directions.",
        |s| u(s.flags[0])
    ),
    cc!(
        "cic_syn_count",
        "SYN Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with SYN set.",
        |s| u(s.flags[1])
    ),
    cc!(
        "cic_rst_count",
        "RST Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with RST set.",
        |s| u(s.flags[2])
    ),
    cc!(
        "cic_psh_count",
        "PSH Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with PSH set.",
        |s| u(s.flags[3])
    ),
    cc!(
        "cic_ack_count",
        "ACK Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with ACK set.",
        |s| u(s.flags[4])
    ),
    cc!(
        "cic_urg_count",
        "URG Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with URG set.",
        |s| u(s.flags[5])
    ),
    cc!(
        "cic_cwr_count",
        "CWR Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with CWR set (CICFlowMeter's docs call it CWE).",
        |s| u(s.flags[6])
    ),
    cc!(
        "cic_ece_count",
        "ECE Flag Count",
        U64,
        "packets",
        Bidirectional,
        "TCP packets with ECE set.",
        |s| u(s.flags[7])
    ),
    cc!(
        "cic_down_up_ratio",
        "Down/Up Ratio",
        F64,
        "",
        Bidirectional,
        "dst→src packets / src→dst packets (real division); 0 without src→dst packets.",
        |s| fl(CicState::avg(s.bwd.packets, s.fwd.packets))
    ),
    cc!(
        "cic_avg_packet_size",
        "Average Packet Size",
        F64,
        "bytes",
        Bidirectional,
        "Payload bytes / packets, both directions (= Packet Length Mean).",
        |s| fl(CicState::avg(s.fwd.bytes + s.bwd.bytes, s.packets))
    ),
    cc!(
        "cic_fwd_seg_size_avg",
        "Fwd Segment Size Avg",
        F64,
        "bytes",
        Src2Dst,
        "src→dst payload bytes / src→dst packets; 0 without packets.",
        |s| fl(CicState::avg(s.fwd.bytes, s.fwd.packets))
    ),
    cc!(
        "cic_bwd_seg_size_avg",
        "Bwd Segment Size Avg",
        F64,
        "bytes",
        Dst2Src,
        "dst→src payload bytes / dst→src packets; 0 without packets.",
        |s| fl(CicState::avg(s.bwd.bytes, s.bwd.packets))
    ),
    cc!(
        "cic_fwd_bytes_per_bulk",
        "Fwd Bytes/Bulk Avg",
        F64,
        "bytes",
        Src2Dst,
        "Payload bytes in src→dst bulks / number of src→dst bulks; 0 without bulks. A bulk: ≥4 consecutive src→dst data packets, gaps ≤1 s, no dst→src data packet in between.",
        |s| fl(s.fwd.bulk.bytes_per_bulk())
    ),
    cc!(
        "cic_fwd_packets_per_bulk",
        "Fwd Packet/Bulk Avg",
        F64,
        "packets",
        Src2Dst,
        "Data packets in src→dst bulks / number of src→dst bulks; 0 without bulks.",
        |s| fl(s.fwd.bulk.packets_per_bulk())
    ),
    cc!(
        "cic_fwd_bulk_rate",
        "Fwd Bulk Rate Avg",
        F64,
        "bytes/s",
        Src2Dst,
        "Payload bytes in src→dst bulks / summed bulk durations in s; 0 without bulks, null when the bulks last 0 s.",
        |s| s.fwd.bulk.rate()
    ),
    cc!(
        "cic_bwd_bytes_per_bulk",
        "Bwd Bytes/Bulk Avg",
        F64,
        "bytes",
        Dst2Src,
        "Payload bytes in dst→src bulks / number of dst→src bulks; 0 without bulks.",
        |s| fl(s.bwd.bulk.bytes_per_bulk())
    ),
    cc!(
        "cic_bwd_packets_per_bulk",
        "Bwd Packet/Bulk Avg",
        F64,
        "packets",
        Dst2Src,
        "Data packets in dst→src bulks / number of dst→src bulks; 0 without bulks.",
        |s| fl(s.bwd.bulk.packets_per_bulk())
    ),
    cc!(
        "cic_bwd_bulk_rate",
        "Bwd Bulk Rate Avg",
        F64,
        "bytes/s",
        Dst2Src,
        "Payload bytes in dst→src bulks / summed bulk durations in s; 0 without bulks, null when the bulks last 0 s.",
        |s| s.bwd.bulk.rate()
    ),
    cc!(
        "cic_subflow_fwd_packets",
        "Subflow Fwd Packets",
        F64,
        "packets",
        Src2Dst,
        "src→dst packets / number of subflows (1 + gaps > 1 s between consecutive packets).",
        |s| fl(s.subflow_avg(s.fwd.packets))
    ),
    cc!(
        "cic_subflow_fwd_bytes",
        "Subflow Fwd Bytes",
        F64,
        "bytes",
        Src2Dst,
        "src→dst payload bytes / number of subflows.",
        |s| fl(s.subflow_avg(s.fwd.bytes))
    ),
    cc!(
        "cic_subflow_bwd_packets",
        "Subflow Bwd Packets",
        F64,
        "packets",
        Dst2Src,
        "dst→src packets / number of subflows.",
        |s| fl(s.subflow_avg(s.bwd.packets))
    ),
    cc!(
        "cic_subflow_bwd_bytes",
        "Subflow Bwd Bytes",
        F64,
        "bytes",
        Dst2Src,
        "dst→src payload bytes / number of subflows.",
        |s| fl(s.subflow_avg(s.bwd.bytes))
    ),
    cc!(
        "cic_fwd_init_win",
        "FWD Init Win Bytes",
        I64,
        "bytes",
        Src2Dst,
        "Raw (unscaled) TCP window of the first src→dst packet; -1 when there is none or the flow is not TCP.",
        |s| Value::I64(i64::from(s.fwd.init_win))
    ),
    cc!(
        "cic_bwd_init_win",
        "Bwd Init Win Bytes",
        I64,
        "bytes",
        Dst2Src,
        "Raw TCP window of the first dst→src packet; -1 when there is none or the flow is not TCP.",
        |s| Value::I64(i64::from(s.bwd.init_win))
    ),
    cc!(
        "cic_fwd_act_data_packets",
        "Fwd Act Data Pkts",
        U64,
        "packets",
        Src2Dst,
        "src→dst packets with at least 1 byte of transport payload (the first packet included).",
        |s| u(s.fwd.data_packets)
    ),
    cc!(
        "cic_fwd_header_min",
        "Fwd Seg Size Min",
        U64,
        "bytes",
        Src2Dst,
        "Smallest transport header length src→dst (CICFlowMeter's min_seg_size_forward is a header length); 0 without packets.",
        |s| u(if s.fwd.packets == 0 {
            0
        } else {
            u64::from(s.fwd.header_min)
        })
    ),
    cc!(
        "cic_active_mean_us",
        "Active Mean",
        F64,
        "µs",
        Bidirectional,
        "Mean active period. The flow's packets are split at gaps longer than the activity timeout (default 5 s); an active period lasts from its first to its last packet (0 for a lone packet); the last one ends at the flow's last packet.",
        |s| fl(s.active().mean)
    ),
    cc!(
        "cic_active_std_us",
        "Active Std",
        F64,
        "µs",
        Bidirectional,
        "Sample standard deviation (n-1) of the active periods; 0 with fewer than 2.",
        |s| fl(s.active().sample_stddev())
    ),
    cc!(
        "cic_active_max_us",
        "Active Max",
        F64,
        "µs",
        Bidirectional,
        "Longest active period.",
        |s| fl(s.active().max)
    ),
    cc!(
        "cic_active_min_us",
        "Active Min",
        F64,
        "µs",
        Bidirectional,
        "Shortest active period.",
        |s| fl(s.active().min)
    ),
    cc!(
        "cic_idle_mean_us",
        "Idle Mean",
        F64,
        "µs",
        Bidirectional,
        "Mean idle period: the gaps longer than the activity timeout; 0 without one. Active + idle periods sum to Flow Duration.",
        |s| fl(s.idle_us.mean)
    ),
    cc!(
        "cic_idle_std_us",
        "Idle Std",
        F64,
        "µs",
        Bidirectional,
        "Sample standard deviation (n-1) of the idle periods; 0 with fewer than 2.",
        |s| fl(s.idle_us.sample_stddev())
    ),
    cc!(
        "cic_idle_max_us",
        "Idle Max",
        F64,
        "µs",
        Bidirectional,
        "Longest idle period; 0 without one.",
        |s| fl(s.idle_us.max)
    ),
    cc!(
        "cic_idle_min_us",
        "Idle Min",
        F64,
        "µs",
        Bidirectional,
        "Shortest idle period; 0 without one.",
        |s| fl(s.idle_us.min)
    ),
    cc!(
        "cic_icmp_code",
        "ICMP Code",
        I64,
        "",
        None,
        "ICMP/ICMPv6 code of the flow's first packet; -1 for other protocols.",
        |s| icmp(s, |tc| tc.1)
    ),
    cc!(
        "cic_icmp_type",
        "ICMP Type",
        I64,
        "",
        None,
        "ICMP/ICMPv6 type of the flow's first packet; -1 for other protocols.",
        |s| icmp(s, |tc| tc.0)
    ),
];

/// Find a column by netlens name or by CIC-IDS2017 header name.
pub fn column(name: &str) -> Option<&'static CicColumn> {
    CIC_COLUMNS
        .iter()
        .find(|c| c.name == name || c.cic_name == name)
}

/// The markdown table of the cic columns (both names, type, unit, direction,
/// definition), generated from [`CIC_COLUMNS`] for `docs/cic.md`.
pub fn markdown_table() -> String {
    use std::fmt::Write as _;
    let mut s = String::from(
        "| column | CIC-IDS2017 name | type | unit | direction | definition |\n|---|---|---|---|---|---|\n",
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_id_matches_display_formatting() {
        let cases: [(IpAddr, IpAddr, u16, u16, u8); 4] = [
            (
                "10.0.0.1".parse().unwrap(),
                "192.168.100.255".parse().unwrap(),
                0,
                65535,
                6,
            ),
            (
                "0.0.0.0".parse().unwrap(),
                "255.255.255.255".parse().unwrap(),
                9,
                10,
                255,
            ),
            (
                "2001:db8::1".parse().unwrap(),
                "::ffff:1.2.3.4".parse().unwrap(),
                443,
                51234,
                17,
            ),
            (
                "fe80::1".parse().unwrap(),
                "10.9.8.7".parse().unwrap(),
                100,
                1000,
                0,
            ),
        ];
        let mut got = String::from("stale");
        for (a, b, sp, dp, p) in cases {
            write_flow_id(&mut got, a, b, sp, dp, p);
            assert_eq!(got, format!("{a}-{b}-{sp}-{dp}-{p}"));
        }
    }
    use netlens_wire::TcpInfo;
    use netlens_wire::tcp_flags::{ACK, FIN, PSH, SYN};
    use std::net::Ipv4Addr;

    const MS: i64 = 1_000_000;
    const T0: i64 = 1_499_432_361_088_203_000; // 2017-07-07 12:59:21.088203 UTC

    fn tcp(fwd: bool, flags: u16, hdr: u16, payload: u32, window: u16) -> PacketSummary {
        let (a, b) = (
            IpAddr::V4(Ipv4Addr::new(192, 168, 10, 5)),
            IpAddr::V4(Ipv4Addr::new(192, 168, 10, 50)),
        );
        let (src_ip, dst_ip, src_port, dst_port) = if fwd {
            (a, b, 40000, 80)
        } else {
            (b, a, 80, 40000)
        };
        PacketSummary {
            ip_version: 4,
            src_ip,
            dst_ip,
            protocol: 6,
            src_port,
            dst_port,
            ports_known: true,
            ip_len: 20 + u32::from(hdr) + payload,
            ip_header_len: 20,
            l4_header_len: hdr,
            l4_payload_len: payload,
            tcp: TcpInfo {
                flags,
                window,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn get<'a>(s: &'a CicState, cic_name: &str) -> Value<'a> {
        match column(cic_name) {
            Some(c) => (c.get)(s),
            None => panic!("no column {cic_name}"),
        }
    }

    fn num(s: &CicState, cic_name: &str) -> f64 {
        match get(s, cic_name) {
            Value::U64(x) => x as f64,
            Value::I64(x) => x as f64,
            Value::F64(x) => x,
            v => panic!("{cic_name}: not a number: {v:?}"),
        }
    }

    fn close(s: &CicState, cic_name: &str, want: f64) {
        let got = num(s, cic_name);
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{cic_name}: got {got}, want {want}"
        );
    }

    /// Handshake, a 100-byte request, a 3,500-byte response in 4 segments,
    /// 7 s of silence, then FIN/FIN/ACK. Times in ms after T0.
    fn session() -> CicState {
        let pkts = [
            (0, tcp(true, SYN, 40, 0, 64240)),
            (10, tcp(false, SYN | ACK, 40, 0, 65160)),
            (20, tcp(true, ACK, 32, 0, 502)),
            (30, tcp(true, PSH | ACK, 32, 100, 502)),
            (40, tcp(false, ACK, 32, 1000, 509)),
            (50, tcp(false, ACK, 32, 1000, 509)),
            (60, tcp(false, ACK, 32, 1000, 509)),
            (70, tcp(false, PSH | ACK, 32, 500, 509)),
            (80, tcp(true, ACK, 32, 0, 501)),
            (7080, tcp(true, FIN | ACK, 32, 0, 501)),
            (7090, tcp(false, FIN | ACK, 32, 0, 509)),
            (7100, tcp(true, ACK, 32, 0, 501)),
        ];
        let mut s = CicState::default();
        for (t, p) in &pkts {
            let fwd = p.src_port == 40000;
            s.on_packet(fwd, T0 + t * MS, p, 66 + p.l4_payload_len);
        }
        s
    }

    #[test]
    fn hand_computed_tcp_session() {
        let s = session();
        assert_eq!(
            get(&s, "Flow ID"),
            Value::Str("192.168.10.5-192.168.10.50-40000-80-6")
        );
        assert_eq!(
            get(&s, "Timestamp"),
            Value::TimestampUs(1_499_432_361_088_203)
        );
        assert_eq!(get(&s, "Flow Duration"), Value::I64(7_100_000));
        assert_eq!(get(&s, "Total Fwd Packet"), Value::U64(6));
        assert_eq!(get(&s, "Total Bwd packets"), Value::U64(6));
        assert_eq!(get(&s, "Total Length of Fwd Packet"), Value::U64(100));
        assert_eq!(get(&s, "Total Length of Bwd Packet"), Value::U64(3500));
        assert_eq!(get(&s, "Fwd Packet Length Max"), Value::U64(100));
        assert_eq!(get(&s, "Fwd Packet Length Min"), Value::U64(0));
        close(&s, "Fwd Packet Length Mean", 100.0 / 6.0);
        // Squared deviations: (100 - 50/3)² + 5·(50/3)² = 25000/3; / (n-1 = 5).
        close(&s, "Fwd Packet Length Std", (25000.0f64 / 3.0 / 5.0).sqrt());
        close(&s, "Bwd Packet Length Mean", 3500.0 / 6.0);
        close(&s, "Flow Bytes/s", 3600.0 / 7.1);
        close(&s, "Flow Packets/s", 12.0 / 7.1);
        // 11 gaps: ten of 10 ms and one of 7 s.
        close(&s, "Flow IAT Mean", 7_100_000.0 / 11.0);
        close(&s, "Flow IAT Max", 7_000_000.0);
        close(&s, "Flow IAT Min", 10_000.0);
        // Fwd at 0, 20, 30, 80, 7080, 7100 ms.
        close(&s, "Fwd IAT Total", 7_100_000.0);
        close(&s, "Fwd IAT Mean", 1_420_000.0);
        close(&s, "Fwd IAT Min", 10_000.0);
        // Bwd at 10, 40, 50, 60, 70, 7090 ms.
        close(&s, "Bwd IAT Total", 7_080_000.0);
        close(&s, "Bwd IAT Max", 7_020_000.0);
        assert_eq!(
            (num(&s, "Fwd PSH Flags"), num(&s, "Bwd PSH Flags")),
            (1.0, 1.0)
        );
        assert_eq!(
            (num(&s, "Fwd URG Flags"), num(&s, "Bwd RST Flags")),
            (0.0, 0.0)
        );
        assert_eq!(get(&s, "Fwd Header Length"), Value::U64(40 + 5 * 32));
        assert_eq!(get(&s, "Bwd Header Length"), Value::U64(40 + 5 * 32));
        close(&s, "Fwd Packets/s", 6.0 / 7.1);
        assert_eq!(get(&s, "Packet Length Max"), Value::U64(1000));
        close(&s, "Packet Length Mean", 300.0);
        // Lengths: 1000 ×3, 500, 100 and 0 ×7 around the mean 300.
        let dev2 =
            3.0 * 700.0f64.powi(2) + 200.0f64.powi(2) + 200.0f64.powi(2) + 7.0 * 300.0f64.powi(2);
        close(&s, "Packet Length Variance", dev2 / 11.0);
        assert_eq!(
            ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "CWR", "ECE"]
                .map(|f| num(&s, &format!("{f} Flag Count"))),
            [2.0, 2.0, 0.0, 2.0, 11.0, 0.0, 0.0, 0.0]
        );
        close(&s, "Down/Up Ratio", 1.0);
        close(&s, "Average Packet Size", 300.0);
        close(&s, "Fwd Segment Size Avg", 100.0 / 6.0);
        // One backward bulk: 4 data packets at 40..70 ms, 3,500 bytes in 30 ms.
        close(&s, "Bwd Bytes/Bulk Avg", 3500.0);
        close(&s, "Bwd Packet/Bulk Avg", 4.0);
        close(&s, "Bwd Bulk Rate Avg", 3500.0 / 0.030);
        close(&s, "Fwd Bytes/Bulk Avg", 0.0);
        close(&s, "Fwd Bulk Rate Avg", 0.0);
        // The 7 s gap splits the flow into 2 subflows.
        close(&s, "Subflow Fwd Packets", 3.0);
        close(&s, "Subflow Fwd Bytes", 50.0);
        close(&s, "Subflow Bwd Bytes", 1750.0);
        assert_eq!(get(&s, "FWD Init Win Bytes"), Value::I64(64240));
        assert_eq!(get(&s, "Bwd Init Win Bytes"), Value::I64(65160));
        assert_eq!(get(&s, "Fwd Act Data Pkts"), Value::U64(1));
        assert_eq!(get(&s, "Fwd Seg Size Min"), Value::U64(32));
        // Active 0..80 ms and 7080..7100 ms, idle 7 s in between.
        close(&s, "Active Mean", 50_000.0);
        close(&s, "Active Std", (2.0 * 30_000.0f64.powi(2)).sqrt());
        close(&s, "Active Max", 80_000.0);
        close(&s, "Active Min", 20_000.0);
        close(&s, "Idle Mean", 7_000_000.0);
        close(&s, "Idle Std", 0.0);
        assert_eq!(get(&s, "ICMP Type"), Value::I64(-1));
    }

    #[test]
    fn bulks_are_interrupted_by_the_other_direction_and_averaged_without_truncation() {
        let mut s = CicState::default();
        let mut at = |t: i64, fwd: bool, payload: u32| {
            let p = tcp(fwd, ACK, 20, payload, 100);
            s.on_packet(fwd, t * MS, &p, 0);
        };
        for t in [0, 10, 20] {
            at(t, true, 100); // 3 packets, then interrupted: no bulk
        }
        at(25, false, 10);
        for t in [30, 40, 50, 60] {
            at(t, true, 100); // bulk 1: 4 packets, 30 ms
        }
        at(65, false, 0); // a pure ACK does not interrupt
        for t in [2060, 2070, 2080, 2090, 2100] {
            at(t, true, 100); // > 1 s later: bulk 2, 5 packets, 40 ms
        }
        close(&s, "Fwd Bytes/Bulk Avg", 450.0);
        close(&s, "Fwd Packet/Bulk Avg", 4.5);
        close(&s, "Fwd Bulk Rate Avg", 900.0 / 0.070);
        close(&s, "Bwd Packet/Bulk Avg", 0.0);
    }

    #[test]
    fn single_packet_flow_has_defined_values() {
        let p = PacketSummary {
            ip_version: 4,
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: 17,
            src_port: 5353,
            dst_port: 53,
            ports_known: true,
            ip_len: 28 + 30,
            ip_header_len: 20,
            l4_header_len: 8,
            l4_payload_len: 30,
            ..Default::default()
        };
        let s = CicState::new(T0, &p, 72);
        assert_eq!(s.packets(), 1);
        assert_eq!(get(&s, "Flow Duration"), Value::I64(0));
        assert_eq!(get(&s, "Flow Bytes/s"), Value::Null);
        assert_eq!(get(&s, "Fwd Packets/s"), Value::Null);
        close(&s, "Flow IAT Mean", 0.0);
        close(&s, "Packet Length Mean", 30.0);
        close(&s, "Active Mean", 0.0);
        close(&s, "Idle Max", 0.0);
        close(&s, "Subflow Fwd Bytes", 30.0);
        assert_eq!(get(&s, "FWD Init Win Bytes"), Value::I64(-1));
        assert_eq!(get(&s, "Bwd Init Win Bytes"), Value::I64(-1));
        assert_eq!(get(&s, "Fwd Header Length"), Value::U64(8));
        assert_eq!(get(&s, "Fwd Act Data Pkts"), Value::U64(1));
        assert_eq!(get(&s, "Bwd Packet Length Max"), Value::U64(0));
    }

    #[test]
    fn first_packet_backward_sets_identity_from_the_flow_source() {
        let mut s = CicState::empty(DEFAULT_ACTIVITY_TIMEOUT_NS);
        s.on_packet(false, 0, &tcp(false, SYN | ACK, 40, 0, 29200), 0);
        s.on_packet(true, MS, &tcp(true, ACK, 32, 0, 502), 0);
        assert_eq!(get(&s, "Src Port"), Value::U64(40000));
        assert_eq!(get(&s, "Dst Port"), Value::U64(80));
        assert_eq!(get(&s, "Bwd Init Win Bytes"), Value::I64(29200));
        assert_eq!(get(&s, "FWD Init Win Bytes"), Value::I64(502));
        assert_eq!(get(&s, "Total Bwd packets"), Value::U64(1));
    }

    #[test]
    fn activity_timeout_is_a_parameter() {
        let mut s = CicState::empty(500 * MS);
        for t in [0, 100, 1000, 1100] {
            s.on_packet(true, t * MS, &tcp(true, ACK, 20, 0, 1), 0);
        }
        assert_eq!(s.activity_timeout_ns(), 500 * MS);
        close(&s, "Idle Mean", 900_000.0);
        close(&s, "Active Mean", 100_000.0);
    }

    #[test]
    fn hostile_timestamps_never_panic_and_stay_consistent() {
        let mut s = CicState::default();
        let p = tcp(true, ACK, 20, 10, 1);
        for t in [i64::MAX, i64::MIN, 0, -5, i64::MAX, 3] {
            s.on_packet(t % 2 == 0, t, &p, u32::MAX);
        }
        for c in &CIC_COLUMNS {
            if let Value::F64(x) = (c.get)(&s) {
                assert!(!x.is_nan(), "{} is NaN", c.name);
            }
        }
        // Older timestamps are zero gaps: the duration is that of the first packet only.
        assert_eq!(get(&s, "Flow Duration"), Value::I64(0));
    }

    #[test]
    fn active_plus_idle_is_the_duration() {
        let s = session();
        let active = s.active();
        let total = active.sum() + s.idle_us.sum();
        assert!((total - 7_100_000.0).abs() < 1e-6);
    }

    #[test]
    fn docs_table_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/cic.md");
        let docs = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(
            docs.contains(&markdown_table()),
            "docs/cic.md is stale: paste netlens_flow::cic::markdown_table() under 'Columns'"
        );
    }

    #[test]
    fn names_are_unique_and_prefixed() {
        let mut names: Vec<_> = CIC_COLUMNS.iter().map(|c| c.name).collect();
        let mut cic: Vec<_> = CIC_COLUMNS.iter().map(|c| c.cic_name).collect();
        assert!(names.iter().all(|n| n.starts_with("cic_")));
        names.sort_unstable();
        names.dedup();
        cic.sort_unstable();
        cic.dedup();
        assert_eq!(
            (names.len(), cic.len()),
            (CIC_COLUMN_COUNT, CIC_COLUMN_COUNT)
        );
        assert!(markdown_table().lines().count() == CIC_COLUMN_COUNT + 2);
    }
}
