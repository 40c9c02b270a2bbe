//! The single registry of exported flow columns.
//!
//! Every column a flow export can contain is declared once in [`COLUMNS`]:
//! its name, feature group, type, unit, direction, definition and the
//! function that reads it from a [`Flow`]. The CSV header, the JSON Lines
//! keys, the Parquet schema and `docs/features.md` are all generated from it,
//! so they cannot drift apart.
//!
//! Each column has a per-flow reader ([`Column::value`]) and, generated from
//! the same expression, readers over a run of flows ([`Column::values`],
//! [`Column::values_of_refs`]) that column-wise consumers use.
//!
//! Invariants: column names are unique; the order of [`COLUMNS`] is the
//! output order (NFStream's order for the columns NFStream has); the run
//! readers give exactly the per-flow reader's values, flow by flow (tested
//! on real flows in `netlens-export`).

use std::net::IpAddr;

use crate::cic::{CIC_COLUMNS, CicColumn};
use crate::flow::{DirStats, Flow};
use crate::stats::Running;

/// Storage type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Unsigned 64-bit integer.
    U64,
    /// Signed 64-bit integer.
    I64,
    /// 64-bit float.
    F64,
    /// UTF-8 text (addresses, names).
    Str,
    /// Timestamp, microseconds since the Unix epoch, UTC.
    TimestampUs,
    /// List of signed integers (early-flow arrays).
    ListI64,
    /// List of floats (early-flow arrays).
    ListF64,
}

impl ColumnType {
    /// Name used in the documentation.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::U64 => "int64 (≥ 0)",
            ColumnType::I64 => "int64",
            ColumnType::F64 => "float64",
            ColumnType::Str => "string",
            ColumnType::TimestampUs => "timestamp[us, UTC]",
            ColumnType::ListI64 => "list<int64>",
            ColumnType::ListF64 => "list<float64>",
        }
    }
}

/// A column value borrowed from a flow; writers format it without allocating.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// Unsigned integer.
    U64(u64),
    /// Signed integer.
    I64(i64),
    /// Float.
    F64(f64),
    /// Static or borrowed text.
    Str(&'a str),
    /// IP address, formatted as text.
    Ip(IpAddr),
    /// MAC address, formatted `aa:bb:cc:dd:ee:ff`.
    Mac([u8; 6]),
    /// OUI: the first three bytes of a MAC, formatted `aa:bb:cc`.
    Oui([u8; 3]),
    /// Timestamp in µs since the epoch (UTC).
    TimestampUs(i64),
    /// Integer list.
    ListI8(&'a [i8]),
    /// Integer list.
    ListI32(&'a [i32]),
    /// Float list.
    ListF64(&'a [f64]),
    /// Missing.
    Null,
}

impl Value<'_> {
    /// The value as a number for models: integers, floats and timestamps
    /// (µs) as `f64`, anything else (text, addresses, lists, missing) NaN.
    #[inline(always)]
    pub fn as_f64(self) -> f64 {
        match self {
            Value::U64(x) => x as f64,
            Value::I64(x) => x as f64,
            Value::F64(x) => x,
            Value::TimestampUs(x) => x as f64,
            _ => f64::NAN,
        }
    }

    /// The value as a cell of a `u64` column (the Arrow export's
    /// conversion): `U64` as it is, a non-negative `I64`, a negative one as
    /// 0; anything else is a null (`None`).
    #[inline(always)]
    pub fn u64_cell(self) -> Option<u64> {
        match self {
            Value::U64(x) => Some(x),
            Value::I64(x) => Some(u64::try_from(x).unwrap_or(0)),
            _ => None,
        }
    }

    /// The value as a cell of an `i64` column: `I64`, or `U64` saturated.
    #[inline(always)]
    pub fn i64_cell(self) -> Option<i64> {
        match self {
            Value::I64(x) => Some(x),
            Value::U64(x) => Some(i64::try_from(x).unwrap_or(i64::MAX)),
            _ => None,
        }
    }

    /// The value as a cell of a float column: `F64` only.
    #[inline(always)]
    pub fn f64_cell(self) -> Option<f64> {
        match self {
            Value::F64(x) => Some(x),
            _ => None,
        }
    }

    /// The value as a cell of a timestamp column (µs): `TimestampUs` only.
    #[inline(always)]
    pub fn timestamp_cell(self) -> Option<i64> {
        match self {
            Value::TimestampUs(x) => Some(x),
            _ => None,
        }
    }
}

/// Feature groups that `--features` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// Flow identity and counters (NFStream's columns without statistics).
    Basic,
    /// netlens additions: end reason, µs timestamps, tunnel kind, TCP state.
    Meta,
    /// NFStream `statistical_analysis=True` statistics.
    Nfstream,
    /// Early-flow features (`--splt N`).
    Splt,
    /// The corrected CICFlowMeter feature set (see docs/cic.md).
    Cic,
    /// Application metadata from payloads (TLS, QUIC, DNS, HTTP, SSH) and a service guess.
    App,
}

impl Group {
    /// Name used on the command line and in docs.
    pub fn name(self) -> &'static str {
        match self {
            Group::Basic => "basic",
            Group::Meta => "meta",
            Group::Nfstream => "nfstream",
            Group::Splt => "splt",
            Group::Cic => "cic",
            Group::App => "app",
        }
    }

    /// All groups in documentation order.
    pub const ALL: [Group; 6] = [
        Group::Basic,
        Group::Meta,
        Group::Nfstream,
        Group::App,
        Group::Splt,
        Group::Cic,
    ];
}

/// Which direction a column describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Not directional (identity, metadata).
    None,
    /// Both directions together.
    Bidirectional,
    /// Source to destination.
    Src2Dst,
    /// Destination to source.
    Dst2Src,
}

impl Direction {
    /// Name used in docs.
    pub fn name(self) -> &'static str {
        match self {
            Direction::None => "-",
            Direction::Bidirectional => "both",
            Direction::Src2Dst => "src→dst",
            Direction::Dst2Src => "dst→src",
        }
    }
}

/// One exported column.
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Feature group.
    pub group: Group,
    /// Storage type.
    pub ty: ColumnType,
    /// Unit ("" when dimensionless).
    pub unit: &'static str,
    /// Direction described.
    pub direction: Direction,
    /// Exact definition.
    pub doc: &'static str,
    /// Reader (for columns not backed by a CIC column).
    pub get: for<'a> fn(&'a Flow) -> Value<'a>,
    /// The same reader over a run of flows (see [`Column::values`]).
    pub read: ReadValues,
    /// The same reader over borrowed flows (see [`Column::values_of_refs`]).
    pub read_refs: ReadRefValues,
    /// The same reader over borrowed flows, as numbers (see [`Column::f64s_of_refs`]).
    pub read_f64: ReadRefF64,
    /// The typed reader of a number column (see [`Fill`]).
    pub fill: Fill,
    /// The CICFlowMeter column this column reads, for the `cic` group.
    pub cic: Option<&'static CicColumn>,
}

/// Reads one column for every flow of a run into `out` (cleared first).
///
/// Generated per column with the reader inlined into the loop, so a run of
/// flows costs one indirect call instead of one per cell: an indirect call
/// per cell was 80 % of the time spent reading the `all` selection (8.8 ns
/// against 0.7 ns per cell on the 2-core test machine).
pub type ReadValues = for<'a> fn(&'a [Flow], &mut Vec<Value<'a>>);

/// [`ReadValues`] over borrowed flows (a selection of a batch).
pub type ReadRefValues = for<'a> fn(&[&'a Flow], &mut Vec<Value<'a>>);

/// [`ReadRefValues`] mapped through [`Value::as_f64`], generated with both
/// inlined so no `Value` is stored: a model's input matrix is filled from
/// it (converting stored `Value`s was ~6 % of `netlens detect` on a flood).
pub type ReadRefF64 = fn(&[&Flow], &mut Vec<f64>);

/// A number column's typed reader over a run of flows: appends one number
/// per flow to `out`, converted as the Arrow export converts a [`Value`]
/// for the column's type, and returns false if a flow had none (a null).
/// The export then drops what was appended and reads [`Column::values`]
/// instead. Generated per column like [`ReadValues`], so no `Value` is
/// stored and read back: with the batch builder's conversion that was about
/// a fifth of the time to build Arrow batches of the basic columns (200 →
/// 163 ns per flow).
#[derive(Clone, Copy)]
pub enum Fill {
    /// Not a number column: read [`Column::values`].
    None,
    /// `u64` numbers (`ColumnType::U64`).
    U64(fn(&[Flow], &mut Vec<u64>) -> bool),
    /// `i64` numbers (`ColumnType::I64`, and µs for `ColumnType::TimestampUs`).
    I64(fn(&[Flow], &mut Vec<i64>) -> bool),
    /// `f64` numbers (`ColumnType::F64`).
    F64(fn(&[Flow], &mut Vec<f64>) -> bool),
}

/// The [`Fill`] of a column of type `$ty` whose value for a flow is
/// `$val(&Flow) -> Value`, converting with the `Value::*_cell` function of
/// the type (the conversions the Arrow export applies to values).
macro_rules! fill_fn {
    (U64, $val:expr) => {
        $crate::features::fill_fn!(@ U64, u64, u64_cell, $val)
    };
    (I64, $val:expr) => {
        $crate::features::fill_fn!(@ I64, i64, i64_cell, $val)
    };
    (TimestampUs, $val:expr) => {
        $crate::features::fill_fn!(@ I64, i64, timestamp_cell, $val)
    };
    (F64, $val:expr) => {
        $crate::features::fill_fn!(@ F64, f64, f64_cell, $val)
    };
    ($other:ident, $val:expr) => {
        $crate::features::Fill::None
    };
    (@ $variant:ident, $t:ty, $cell:ident, $val:expr) => {
        $crate::features::Fill::$variant({
            fn fill(flows: &[$crate::Flow], out: &mut Vec<$t>) -> bool {
                $crate::features::fill_cells(flows, out, $val, Value::$cell)
            }
            fill
        })
    };
}
pub(crate) use fill_fn;

/// The body of every [`Fill`] reader: `cell(get(flow))` for each flow into
/// `out`, the type's default for a null; false if there was a null.
#[inline(always)]
pub(crate) fn fill_cells<'a, T: Default>(
    flows: &'a [Flow],
    out: &mut Vec<T>,
    get: impl Fn(&'a Flow) -> Value<'a>,
    cell: impl Fn(Value<'a>) -> Option<T>,
) -> bool {
    let mut all = true;
    out.extend(flows.iter().map(|f| {
        cell(get(f)).unwrap_or_else(|| {
            all = false;
            T::default()
        })
    }));
    all
}

impl Column {
    /// The value of this column for a flow (`Null` when the flow lacks the state it needs).
    #[inline]
    pub fn value<'a>(&self, f: &'a Flow) -> Value<'a> {
        match self.cic {
            Some(cc) => match f.cic.as_deref() {
                Some(s) => (cc.get)(s),
                None => Value::Null,
            },
            None => (self.get)(f),
        }
    }

    /// This column's values for a run of flows, in order, into `out`
    /// (cleared first); equal to [`Column::value`] flow by flow. Column-wise
    /// consumers (Arrow batches, detectors) should prefer it.
    #[inline]
    pub fn values<'a>(&self, flows: &'a [Flow], out: &mut Vec<Value<'a>>) {
        (self.read)(flows, out)
    }

    /// [`Column::values`] for borrowed flows.
    #[inline]
    pub fn values_of_refs<'a>(&self, flows: &[&'a Flow], out: &mut Vec<Value<'a>>) {
        (self.read_refs)(flows, out)
    }

    /// [`Column::values_of_refs`] as numbers ([`Value::as_f64`]), into `out`
    /// (cleared first).
    #[inline]
    pub fn f64s_of_refs(&self, flows: &[&Flow], out: &mut Vec<f64>) {
        (self.read_f64)(flows, out)
    }

    /// The CIC-IDS2017 header name of a `cic` column.
    pub fn cic_name(&self) -> Option<&'static str> {
        self.cic.map(|c| c.cic_name)
    }
}

impl std::fmt::Debug for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name)
            .field("group", &self.group)
            .finish()
    }
}

const NS_PER_MS: i64 = 1_000_000;

fn ms(ns: i64) -> i64 {
    ns.div_euclid(NS_PER_MS)
}

fn us(ns: i64) -> i64 {
    ns.div_euclid(1_000)
}

fn oui(mac: [u8; 6]) -> [u8; 3] {
    [mac[0], mac[1], mac[2]]
}

#[inline(always)]
fn stat<'a>(f: &'a Flow, pick: impl FnOnce(&'a crate::flow::FlowStats) -> Value<'a>) -> Value<'a> {
    match f.stats.as_deref() {
        Some(s) => pick(s),
        None => Value::Null,
    }
}

fn ps_min(r: &Running) -> Value<'static> {
    Value::U64(r.min as u64)
}
fn ps_max(r: &Running) -> Value<'static> {
    Value::U64(r.max as u64)
}
fn f(v: f64) -> Value<'static> {
    Value::F64(v)
}
fn flag(d: &DirStats, i: usize) -> Value<'static> {
    Value::U64(u64::from(d.flags.get(i).copied().unwrap_or(0)))
}

macro_rules! col {
    ($name:expr, $group:ident, $ty:ident, $unit:expr, $dir:ident, $doc:expr, $get:expr) => {
        Column {
            name: $name,
            group: Group::$group,
            ty: ColumnType::$ty,
            unit: $unit,
            direction: Direction::$dir,
            doc: $doc,
            get: $get,
            read: {
                fn read<'a>(flows: &'a [Flow], out: &mut Vec<Value<'a>>) {
                    out.clear();
                    out.extend(flows.iter().map($get));
                }
                read
            },
            read_refs: {
                fn read<'a>(flows: &[&'a Flow], out: &mut Vec<Value<'a>>) {
                    out.clear();
                    out.extend(flows.iter().copied().map($get));
                }
                read
            },
            read_f64: {
                fn read(flows: &[&Flow], out: &mut Vec<f64>) {
                    out.clear();
                    out.extend(flows.iter().copied().map($get).map(Value::as_f64));
                }
                read
            },
            fill: fill_fn!($ty, $get),
            cic: None,
        }
    };
}

/// Per-direction NFStream statistic columns for one direction prefix.
macro_rules! nfstats {
    ($p:literal, $dir:ident, $field:ident) => {
        [
            col!(
                concat!($p, "_min_ps"),
                Nfstream,
                U64,
                "bytes",
                $dir,
                "Smallest packet size (accounting-mode bytes).",
                |x| stat(x, |s| ps_min(&s.$field.ps))
            ),
            col!(
                concat!($p, "_mean_ps"),
                Nfstream,
                F64,
                "bytes",
                $dir,
                "Mean packet size.",
                |x| stat(x, |s| f(s.$field.ps.mean))
            ),
            col!(
                concat!($p, "_stddev_ps"),
                Nfstream,
                F64,
                "bytes",
                $dir,
                "Sample standard deviation (n-1) of packet sizes; 0 with fewer than 2 packets.",
                |x| stat(x, |s| f(s.$field.ps.sample_stddev()))
            ),
            col!(
                concat!($p, "_max_ps"),
                Nfstream,
                U64,
                "bytes",
                $dir,
                "Largest packet size.",
                |x| stat(x, |s| ps_max(&s.$field.ps))
            ),
        ]
    };
}

macro_rules! nfpiat {
    ($p:literal, $dir:ident, $field:ident) => {
        [
            col!(concat!($p, "_min_piat_ms"), Nfstream, F64, "ms", $dir, "Smallest gap between consecutive packets (µs resolution; NFStream rounds to whole ms).", |x| stat(x, |s| f(s.$field.piat_ms.min))),
            col!(concat!($p, "_mean_piat_ms"), Nfstream, F64, "ms", $dir, "Mean gap between consecutive packets.", |x| stat(x, |s| f(s.$field.piat_ms.mean))),
            col!(concat!($p, "_stddev_piat_ms"), Nfstream, F64, "ms", $dir, "Sample standard deviation (n-1) of the gaps; 0 with fewer than 2 gaps.", |x| stat(x, |s| f(s.$field.piat_ms.sample_stddev()))),
            col!(concat!($p, "_max_piat_ms"), Nfstream, F64, "ms", $dir, "Largest gap between consecutive packets.", |x| stat(x, |s| f(s.$field.piat_ms.max))),
        ]
    };
}

macro_rules! nfflags {
    ($p:literal, $dir:ident, $field:ident) => {
        [
            col!(
                concat!($p, "_syn_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with SYN set.",
                |x| stat(x, |s| flag(&s.$field, 0))
            ),
            col!(
                concat!($p, "_cwr_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with CWR set.",
                |x| stat(x, |s| flag(&s.$field, 1))
            ),
            col!(
                concat!($p, "_ece_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with ECE set.",
                |x| stat(x, |s| flag(&s.$field, 2))
            ),
            col!(
                concat!($p, "_urg_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with URG set.",
                |x| stat(x, |s| flag(&s.$field, 3))
            ),
            col!(
                concat!($p, "_ack_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with ACK set.",
                |x| stat(x, |s| flag(&s.$field, 4))
            ),
            col!(
                concat!($p, "_psh_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with PSH set.",
                |x| stat(x, |s| flag(&s.$field, 5))
            ),
            col!(
                concat!($p, "_rst_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with RST set.",
                |x| stat(x, |s| flag(&s.$field, 6))
            ),
            col!(
                concat!($p, "_fin_packets"),
                Nfstream,
                U64,
                "packets",
                $dir,
                "TCP packets with FIN set.",
                |x| stat(x, |s| flag(&s.$field, 7))
            ),
        ]
    };
}

const BASIC: [Column; 30] = [
    col!(
        "id",
        Basic,
        U64,
        "",
        None,
        "Flow number in export order, from 0.",
        |x| Value::U64(x.id)
    ),
    col!(
        "expiration_id",
        Basic,
        I64,
        "",
        None,
        "NFStream's code for why the flow ended: 0 idle timeout or end of input, 1 active timeout, -1 other (TCP FIN/RST termination, eviction). See `end_reason`.",
        |x| Value::I64(i64::from(x.end_reason.expiration_id()))
    ),
    col!(
        "src_ip",
        Basic,
        Str,
        "",
        None,
        "Source address: the sender of the first packet (the receiver of a SYN-ACK that opened the flow).",
        |x| Value::Ip(x.src_ip())
    ),
    col!(
        "src_mac",
        Basic,
        Str,
        "",
        None,
        "Source MAC address of the outermost Ethernet header (00:00:00:00:00:00 without one).",
        |x| Value::Mac(x.src_mac)
    ),
    col!(
        "src_oui",
        Basic,
        Str,
        "",
        None,
        "First three bytes of `src_mac`.",
        |x| Value::Oui(oui(x.src_mac))
    ),
    col!(
        "src_port",
        Basic,
        U64,
        "",
        None,
        "Source transport port (0 for protocols without ports).",
        |x| Value::U64(u64::from(x.src.port))
    ),
    col!(
        "dst_ip",
        Basic,
        Str,
        "",
        None,
        "Destination address.",
        |x| Value::Ip(x.dst_ip())
    ),
    col!(
        "dst_mac",
        Basic,
        Str,
        "",
        None,
        "Destination MAC address of the outermost Ethernet header.",
        |x| Value::Mac(x.dst_mac)
    ),
    col!(
        "dst_oui",
        Basic,
        Str,
        "",
        None,
        "First three bytes of `dst_mac`.",
        |x| Value::Oui(oui(x.dst_mac))
    ),
    col!(
        "dst_port",
        Basic,
        U64,
        "",
        None,
        "Destination transport port.",
        |x| Value::U64(u64::from(x.dst.port))
    ),
    col!(
        "protocol",
        Basic,
        U64,
        "",
        None,
        "IP protocol number of the innermost IP packet (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6, 132 SCTP, ...).",
        |x| Value::U64(u64::from(x.protocol))
    ),
    col!("ip_version", Basic, U64, "", None, "4 or 6.", |x| {
        Value::U64(u64::from(x.ip_version))
    }),
    col!(
        "vlan_id",
        Basic,
        U64,
        "",
        None,
        "Outermost 802.1Q VLAN id; 0 when untagged.",
        |x| Value::U64(u64::from(x.vlan_id))
    ),
    col!(
        "tunnel_id",
        Basic,
        U64,
        "",
        None,
        "Identifier of the innermost decoded tunnel: VXLAN/Geneve VNI, GTP-U TEID, GRE key, ERSPAN session; 0 when none. (NFStream puts a tunnel type code here.)",
        |x| Value::U64(u64::from(x.tunnel_id))
    ),
    col!(
        "bidirectional_first_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Bidirectional,
        "Timestamp of the first packet, whole milliseconds (floor).",
        |x| Value::I64(ms(x.first_ns))
    ),
    col!(
        "bidirectional_last_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Bidirectional,
        "Timestamp of the last packet, whole milliseconds (floor).",
        |x| Value::I64(ms(x.last_ns))
    ),
    col!(
        "bidirectional_duration_ms",
        Basic,
        I64,
        "ms",
        Bidirectional,
        "`bidirectional_last_seen_ms - bidirectional_first_seen_ms`.",
        |x| Value::I64(ms(x.last_ns) - ms(x.first_ns))
    ),
    col!(
        "bidirectional_packets",
        Basic,
        U64,
        "packets",
        Bidirectional,
        "Packets in both directions.",
        |x| Value::U64(x.packets())
    ),
    col!(
        "bidirectional_bytes",
        Basic,
        U64,
        "bytes",
        Bidirectional,
        "Bytes in both directions under the accounting mode (default: frame length on the link, as NFStream).",
        |x| Value::U64(x.bytes())
    ),
    col!(
        "src2dst_first_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Src2Dst,
        "First src→dst packet, whole ms; 0 when none.",
        |x| Value::I64(if x.fwd.packets > 0 {
            ms(x.fwd.first_ns)
        } else {
            0
        })
    ),
    col!(
        "src2dst_last_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Src2Dst,
        "Last src→dst packet, whole ms; 0 when none.",
        |x| Value::I64(if x.fwd.packets > 0 {
            ms(x.fwd.last_ns)
        } else {
            0
        })
    ),
    col!(
        "src2dst_duration_ms",
        Basic,
        I64,
        "ms",
        Src2Dst,
        "`src2dst_last_seen_ms - src2dst_first_seen_ms`.",
        |x| Value::I64(if x.fwd.packets > 0 {
            ms(x.fwd.last_ns) - ms(x.fwd.first_ns)
        } else {
            0
        })
    ),
    col!(
        "src2dst_packets",
        Basic,
        U64,
        "packets",
        Src2Dst,
        "Packets src→dst.",
        |x| Value::U64(x.fwd.packets)
    ),
    col!(
        "src2dst_bytes",
        Basic,
        U64,
        "bytes",
        Src2Dst,
        "Bytes src→dst (accounting mode).",
        |x| Value::U64(x.fwd.bytes)
    ),
    col!(
        "dst2src_first_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Dst2Src,
        "First dst→src packet, whole ms; 0 when none.",
        |x| Value::I64(if x.bwd.packets > 0 {
            ms(x.bwd.first_ns)
        } else {
            0
        })
    ),
    col!(
        "dst2src_last_seen_ms",
        Basic,
        I64,
        "ms since epoch",
        Dst2Src,
        "Last dst→src packet, whole ms; 0 when none.",
        |x| Value::I64(if x.bwd.packets > 0 {
            ms(x.bwd.last_ns)
        } else {
            0
        })
    ),
    col!(
        "dst2src_duration_ms",
        Basic,
        I64,
        "ms",
        Dst2Src,
        "`dst2src_last_seen_ms - dst2src_first_seen_ms`.",
        |x| Value::I64(if x.bwd.packets > 0 {
            ms(x.bwd.last_ns) - ms(x.bwd.first_ns)
        } else {
            0
        })
    ),
    col!(
        "dst2src_packets",
        Basic,
        U64,
        "packets",
        Dst2Src,
        "Packets dst→src.",
        |x| Value::U64(x.bwd.packets)
    ),
    col!(
        "dst2src_bytes",
        Basic,
        U64,
        "bytes",
        Dst2Src,
        "Bytes dst→src (accounting mode).",
        |x| Value::U64(x.bwd.bytes)
    ),
    col!(
        "end_reason",
        Basic,
        Str,
        "",
        None,
        "Why the flow ended: idle, active, fin (FIN both ways + final ACK), rst, end_of_input, evicted (after fin/rst, a connection that completed its handshake still takes its stray packets for `--tcp-linger`, 5 s); early for the copy of a still-open flow output at its Nth packet when early output is on (`netlens detect --early N`).",
        |x| Value::Str(x.end_reason.name())
    ),
];

const META: [Column; 10] = [
    col!(
        "first_seen",
        Meta,
        TimestampUs,
        "UTC",
        Bidirectional,
        "Timestamp of the first packet with µs precision (RFC 3339 in CSV/JSON, a UTC timestamp in Parquet).",
        |x| Value::TimestampUs(us(x.first_ns))
    ),
    col!(
        "last_seen",
        Meta,
        TimestampUs,
        "UTC",
        Bidirectional,
        "Timestamp of the last packet with µs precision.",
        |x| Value::TimestampUs(us(x.last_ns))
    ),
    col!(
        "bidirectional_first_seen_us",
        Meta,
        I64,
        "µs since epoch",
        Bidirectional,
        "Timestamp of the first packet, µs since the epoch.",
        |x| Value::I64(us(x.first_ns))
    ),
    col!(
        "bidirectional_last_seen_us",
        Meta,
        I64,
        "µs since epoch",
        Bidirectional,
        "Timestamp of the last packet, µs since the epoch.",
        |x| Value::I64(us(x.last_ns))
    ),
    col!(
        "bidirectional_duration_us",
        Meta,
        I64,
        "µs",
        Bidirectional,
        "Last minus first packet time, µs.",
        |x| Value::I64(us(x.last_ns) - us(x.first_ns))
    ),
    col!(
        "tunnel",
        Meta,
        Str,
        "",
        None,
        "Kind of the innermost decoded tunnel: gre, erspan, vxlan, geneve, gtpu, ipip, teredo, ayiya; empty when none.",
        |x| Value::Str(x.tunnel.name())
    ),
    col!(
        "src2dst_payload_bytes",
        Meta,
        U64,
        "bytes",
        Src2Dst,
        "Transport payload bytes src→dst, as declared by the IP header.",
        |x| Value::U64(x.fwd.payload_bytes)
    ),
    col!(
        "dst2src_payload_bytes",
        Meta,
        U64,
        "bytes",
        Dst2Src,
        "Transport payload bytes dst→src.",
        |x| Value::U64(x.bwd.payload_bytes)
    ),
    col!(
        "tcp_conn_state",
        Meta,
        Str,
        "",
        None,
        "TCP only: Zeek-style connection state (S0, S1, SF, REJ, S2, S3, RSTO, RSTR, RSTOS0, RSTRH, SH, SHR, OTH); empty for other protocols.",
        |x| Value::Str(if x.protocol == 6 {
            x.tcp.conn_state()
        } else {
            ""
        })
    ),
    col!(
        "icmp_type",
        Meta,
        I64,
        "",
        None,
        "ICMP/ICMPv6 type of the flow's first packet; -1 for other protocols.",
        |x| Value::I64(if x.protocol == 1 || x.protocol == 58 {
            i64::from(x.icmp_type_code.0)
        } else {
            -1
        })
    ),
];

fn app_meta(f: &Flow) -> Option<&netlens_appmeta::AppMeta> {
    f.app.as_deref()
}

#[inline(always)]
fn app_str<'a>(
    f: &'a Flow,
    pick: impl FnOnce(&'a netlens_appmeta::AppMeta) -> &'a Option<String>,
) -> Value<'a> {
    match app_meta(f).and_then(|m| pick(m).as_deref()) {
        Some(s) => Value::Str(s),
        None => Value::Null,
    }
}

const APP: [Column; 22] = [
    col!(
        "application_name",
        App,
        Str,
        "",
        None,
        "Application protocol: from payload inspection (tls, quic, http, dns, ssh, ...) or else guessed from the well-known port; empty when unknown.",
        |x| match app_meta(x) {
            Some(m) => Value::Str(m.service),
            None => Value::Null,
        }
    ),
    col!(
        "application_is_guessed",
        App,
        U64,
        "",
        None,
        "1 when `application_name` comes from the port number only, 0 when a payload parser recognised it (as NFStream).",
        |x| match app_meta(x) {
            Some(m) => Value::U64(u64::from(!m.service_from_payload)),
            None => Value::Null,
        }
    ),
    col!(
        "requested_server_name",
        App,
        Str,
        "",
        None,
        "Server name the client asked for: TLS/QUIC SNI, else HTTP Host, else DNS query name (NFStream's definition).",
        |x| match app_meta(x) {
            Some(m) => m
                .server_name
                .as_deref()
                .or(m.http_host.as_deref())
                .or(m.dns_query.as_deref())
                .map_or(Value::Null, Value::Str),
            None => Value::Null,
        }
    ),
    col!(
        "tls_sni",
        App,
        Str,
        "",
        None,
        "TLS or QUIC ClientHello server_name extension.",
        |x| app_str(x, |m| &m.server_name)
    ),
    col!(
        "tls_alpn",
        App,
        Str,
        "",
        None,
        "ALPN protocols offered by the client, comma separated.",
        |x| app_str(x, |m| &m.alpn)
    ),
    col!(
        "tls_version",
        App,
        Str,
        "",
        None,
        "Negotiated TLS version (ServerHello supported_versions, else the hello version), e.g. TLSv1.3.",
        |x| app_str(x, |m| &m.tls_version)
    ),
    col!(
        "client_fingerprint",
        App,
        Str,
        "",
        None,
        "JA3 client fingerprint: MD5 of the JA3 string (GREASE removed), as NFStream.",
        |x| app_str(x, |m| &m.ja3_hash)
    ),
    col!(
        "ja4",
        App,
        Str,
        "",
        None,
        "JA4 client fingerprint (FoxIO definition; `t` for TLS over TCP, `q` for QUIC).",
        |x| app_str(x, |m| &m.ja4)
    ),
    col!(
        "server_fingerprint",
        App,
        Str,
        "",
        None,
        "JA3S server fingerprint: MD5 of the JA3S string.",
        |x| app_str(x, |m| &m.ja3s_hash)
    ),
    col!(
        "quic_version",
        App,
        Str,
        "",
        None,
        "QUIC version of the client Initial (e.g. v1, v2, draft-29).",
        |x| app_str(x, |m| &m.quic_version)
    ),
    col!(
        "dns_query",
        App,
        Str,
        "",
        None,
        "First question name of the first DNS message.",
        |x| app_str(x, |m| &m.dns_query)
    ),
    col!(
        "dns_qtype",
        App,
        Str,
        "",
        None,
        "Type of that question (A, AAAA, TXT, ... or the number).",
        |x| app_str(x, |m| &m.dns_qtype)
    ),
    col!(
        "dns_rcode",
        App,
        Str,
        "",
        None,
        "Response code of the first DNS response (NOERROR, NXDOMAIN, ...).",
        |x| app_str(x, |m| &m.dns_rcode)
    ),
    col!(
        "http_method",
        App,
        Str,
        "",
        None,
        "Method of the first HTTP/1 request.",
        |x| app_str(x, |m| &m.http_method)
    ),
    col!(
        "http_host",
        App,
        Str,
        "",
        None,
        "Host header of the first HTTP/1 request.",
        |x| app_str(x, |m| &m.http_host)
    ),
    col!(
        "user_agent",
        App,
        Str,
        "",
        None,
        "User-Agent header of the first HTTP/1 request.",
        |x| app_str(x, |m| &m.http_user_agent)
    ),
    col!(
        "content_type",
        App,
        Str,
        "",
        None,
        "Content-Type of the first HTTP/1 response (else of the request).",
        |x| app_str(x, |m| &m.http_content_type)
    ),
    col!(
        "ssh_client_banner",
        App,
        Str,
        "",
        None,
        "SSH identification string sent by the client.",
        |x| app_str(x, |m| &m.ssh_client_banner)
    ),
    col!(
        "ssh_server_banner",
        App,
        Str,
        "",
        None,
        "SSH identification string sent by the server.",
        |x| app_str(x, |m| &m.ssh_server_banner)
    ),
    col!(
        "hassh",
        App,
        Str,
        "",
        None,
        "HASSH client fingerprint (MD5 of the client KEXINIT algorithm lists).",
        |x| app_str(x, |m| &m.hassh)
    ),
    col!(
        "hassh_server",
        App,
        Str,
        "",
        None,
        "HASSHServer fingerprint.",
        |x| app_str(x, |m| &m.hassh_server)
    ),
    col!(
        "app_parse_errors",
        App,
        U64,
        "",
        None,
        "Payloads that looked like a supported protocol but did not parse (truncated or malformed); the metadata then stays empty.",
        |x| match app_meta(x) {
            Some(m) => Value::U64(u64::from(m.parse_errors)),
            None => Value::Null,
        }
    ),
];

const SPLT: [Column; 3] = [
    col!(
        "splt_direction",
        Splt,
        ListI64,
        "",
        Bidirectional,
        "Direction of each of the first N packets: 0 src→dst, 1 dst→src (N = --splt; fewer when the flow is shorter).",
        |x| stat(x, |s| Value::ListI8(&s.splt().direction))
    ),
    col!(
        "splt_ps",
        Splt,
        ListI64,
        "bytes",
        Bidirectional,
        "Size of each of the first N packets (accounting mode).",
        |x| stat(x, |s| Value::ListI32(&s.splt().ps))
    ),
    col!(
        "splt_piat_ms",
        Splt,
        ListF64,
        "ms",
        Bidirectional,
        "Gap before each of the first N packets (0 for the first).",
        |x| stat(x, |s| Value::ListF64(&s.splt().piat_ms))
    ),
];

/// Every column in output order.
pub static COLUMNS: std::sync::LazyLock<Vec<Column>> = std::sync::LazyLock::new(|| {
    let mut v: Vec<Column> = Vec::with_capacity(120);
    v.extend(BASIC);
    v.extend(META);
    v.extend(nfstats!("bidirectional", Bidirectional, bidir));
    v.extend(nfstats!("src2dst", Src2Dst, fwd));
    v.extend(nfstats!("dst2src", Dst2Src, bwd));
    v.extend(nfpiat!("bidirectional", Bidirectional, bidir));
    v.extend(nfpiat!("src2dst", Src2Dst, fwd));
    v.extend(nfpiat!("dst2src", Dst2Src, bwd));
    v.extend(nfflags!("bidirectional", Bidirectional, bidir));
    v.extend(nfflags!("src2dst", Src2Dst, fwd));
    v.extend(nfflags!("dst2src", Dst2Src, bwd));
    v.extend(APP);
    v.extend(SPLT);
    v.extend(CIC_COLUMNS.iter().map(|c| Column {
        name: c.name,
        group: Group::Cic,
        ty: c.ty,
        unit: c.unit,
        direction: c.direction,
        doc: c.doc,
        get: |_| Value::Null,
        read: c.read,
        read_refs: c.read_refs,
        read_f64: c.read_f64,
        fill: c.fill,
        cic: Some(c),
    }));
    v
});

/// Error selecting columns.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelectError {
    /// The name is neither a group, a preset nor a column.
    #[error(
        "unknown feature or group '{0}' (presets: all, basic, nfstream, cic; groups: meta, app, splt; or a column name, see `netlens features`)"
    )]
    Unknown(String),
}

/// A chosen, ordered set of columns.
#[derive(Clone, Debug)]
pub struct Selection {
    idx: Vec<usize>,
    cic_names: bool,
}

impl Selection {
    /// Parse a comma list of presets (`all`), groups and column names.
    /// Columns keep registry order; duplicates are removed.
    pub fn parse(spec: &str) -> Result<Selection, SelectError> {
        let mut keep = vec![false; COLUMNS.len()];
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let groups: &[Group] = match part {
                "all" => &Group::ALL,
                "basic" => &[Group::Basic, Group::Meta],
                "nfstream" => &[Group::Basic, Group::Nfstream],
                "cic" => &[Group::Basic, Group::Cic],
                _ => &[],
            };
            if !groups.is_empty() {
                for (k, c) in keep.iter_mut().zip(COLUMNS.iter()) {
                    *k |= groups.contains(&c.group);
                }
                continue;
            }
            if let Some(g) = Group::ALL.iter().find(|g| g.name() == part) {
                for (k, c) in keep.iter_mut().zip(COLUMNS.iter()) {
                    *k |= c.group == *g;
                }
                continue;
            }
            match COLUMNS.iter().position(|c| c.name == part) {
                Some(i) => keep[i] = true,
                None => return Err(SelectError::Unknown(part.to_string())),
            }
        }
        Ok(Selection {
            idx: keep
                .iter()
                .enumerate()
                .filter(|(_, k)| **k)
                .map(|(i, _)| i)
                .collect(),
            cic_names: false,
        })
    }

    /// The selected columns in output order.
    pub fn columns(&self) -> impl Iterator<Item = &'static Column> + '_ {
        self.idx.iter().filter_map(|&i| COLUMNS.get(i))
    }

    /// Number of selected columns.
    pub fn len(&self) -> usize {
        self.idx.len()
    }

    /// True when nothing is selected.
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }

    /// Whether any selected column needs per-flow statistics.
    pub fn needs_statistics(&self) -> bool {
        self.columns().any(|c| matches!(c.group, Group::Nfstream))
    }

    /// Name `cic` columns by their CIC-IDS2017 header strings (`--cic-names`).
    ///
    /// A CIC name that differs from an earlier selected column's name only
    /// by case (`Protocol` next to `protocol`, the same value) drops that
    /// CIC column: Spark, DuckDB and SQL engines match names ignoring case,
    /// and Spark refuses such a table (`COLUMN_ALREADY_EXISTS`).
    pub fn with_cic_names(mut self, on: bool) -> Selection {
        self.cic_names = on;
        if on {
            let mut seen: Vec<String> = Vec::with_capacity(self.idx.len());
            let names: Vec<&'static str> = self.columns().map(|c| self.output_name(c)).collect();
            let mut keep = names.iter().map(|n| {
                let low = n.to_ascii_lowercase();
                let new = !seen.contains(&low);
                seen.push(low);
                new
            });
            self.idx.retain(|_| keep.next().unwrap_or(true));
        }
        self
    }

    /// The output name of a selected column (CIC-IDS2017 names when asked for).
    pub fn output_name(&self, c: &Column) -> &'static str {
        match (self.cic_names, c.cic_name()) {
            (true, Some(n)) => n,
            _ => c.name,
        }
    }

    /// Whether any selected column needs application metadata.
    pub fn needs_app(&self) -> bool {
        self.columns().any(|c| matches!(c.group, Group::App))
    }

    /// Whether any selected column needs the CICFlowMeter state.
    pub fn needs_cic(&self) -> bool {
        self.columns().any(|c| matches!(c.group, Group::Cic))
    }

    /// Whether any selected column needs the early-flow arrays.
    pub fn needs_splt(&self) -> bool {
        self.columns().any(|c| matches!(c.group, Group::Splt))
    }
}

/// The feature reference page (`docs/features.md`), generated from the registry.
pub fn markdown_reference() -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    s.push_str("# Flow features\n\n");
    s.push_str("Generated from the feature registry (`crates/flow/src/features.rs`) by `netlens features --markdown`; do not edit by hand.\n\n");
    s.push_str("Select with `netlens flows --features LIST`, a comma list of presets, groups and column names. Presets: `basic` = the `basic` and `meta` groups; `nfstream` = the `basic` group and the `nfstream` group (no `meta`); `cic` = the `basic` group and the `cic` group (no `meta`); `all` = every group. The `splt` columns hold the first N packets with `--splt N` and are empty lists without it (also in `all`). With `--cic-names` the `cic` columns carry the CIC-IDS2017 CSV header names (shown in brackets below); their exact definitions and the CICFlowMeter bugs netlens fixes are in `docs/cic.md`. Directions: src is the sender of the flow's first packet.\n\n");
    for g in Group::ALL {
        let _ = writeln!(s, "## Group `{}`\n", g.name());
        s.push_str("| column | type | unit | direction | definition |\n|---|---|---|---|---|\n");
        for c in COLUMNS.iter().filter(|c| c.group == g) {
            let name = match c.cic_name() {
                Some(n) => format!("`{}` [{}]", c.name, n),
                None => format!("`{}`", c.name),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                name,
                c.ty.name(),
                c.unit,
                c.direction.name(),
                c.doc.replace('|', "\\|")
            );
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    /// `--cic-names` never writes two names that differ only by case
    /// (`protocol` and CIC's `Protocol`): case-insensitive readers refuse them.
    #[test]
    fn cic_names_are_unique_ignoring_case() {
        for spec in ["cic", "all", "basic,cic"] {
            let sel = Selection::parse(spec).expect("spec").with_cic_names(true);
            let mut names: Vec<String> = sel
                .columns()
                .map(|c| sel.output_name(c).to_ascii_lowercase())
                .collect();
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{spec}");
            assert!(sel.columns().any(|c| sel.output_name(c) == "protocol"));
            assert!(sel.columns().any(|c| sel.output_name(c) == "Flow Duration"));
        }
        // Without basic's `protocol`, CIC's `Protocol` stays.
        let sel = Selection::parse("cic_protocol")
            .expect("spec")
            .with_cic_names(true);
        assert_eq!(
            sel.columns()
                .map(|c| sel.output_name(c))
                .collect::<Vec<_>>(),
            ["Protocol"]
        );
    }

    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    #[test]
    fn selection_parses_groups_and_names() {
        let all = Selection::parse("all").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(all.len(), COLUMNS.len());
        let s = Selection::parse("src_ip,dst_ip,src_ip").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            s.columns().map(|c| c.name).collect::<Vec<_>>(),
            ["src_ip", "dst_ip"]
        );
        assert!(Selection::parse("nope").is_err());
        let nf = Selection::parse("nfstream").unwrap_or_else(|e| panic!("{e}"));
        assert!(nf.needs_statistics());
        assert!(!nf.needs_splt());
        assert_eq!(nf.columns().count(), 30 + 12 + 12 + 24);
    }
}
