//! The per-flow state kept by the meter, which is also the exported record.
//!
//! Invariants: `src` is the endpoint that sent the flow's first packet, except
//! that a TCP SYN-ACK seen first (the SYN was missed) puts its receiver in
//! `src` so the client is always `src`; `fwd` counts src→dst packets and
//! `bwd` dst→src packets; `first_ns <= last_ns`.

use std::net::IpAddr;

use netlens_wire::{TunnelKind, tcp_flags};

use crate::key::Endpoint;
use crate::stats::Running;

/// Why a flow was exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// No packet for `idle_timeout`.
    Idle,
    /// The flow lasted `active_timeout`; later packets start a new flow.
    Active,
    /// TCP: FIN in both directions followed by the final ACK.
    Fin,
    /// TCP: a RST was seen.
    Rst,
    /// The input ended while the flow was still open.
    EndOfInput,
    /// Removed to make room when the flow table was full.
    Evicted,
    /// Not an end: a copy of a flow still in the table, taken when it
    /// reached `MeterConfig::early_emit` packets. The same flow is exported
    /// again (with its real end reason) when it ends.
    Early,
}

impl EndReason {
    /// Name used in the `end_reason` column.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Idle => "idle",
            EndReason::Active => "active",
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::EndOfInput => "end_of_input",
            EndReason::Evicted => "evicted",
            EndReason::Early => "early",
        }
    }

    /// NFStream's `expiration_id`: 0 idle (NFStream also reports 0 for flows
    /// flushed at the end of input), 1 active, -1 custom (TCP termination,
    /// eviction and early snapshots, which NFStream does not have).
    pub fn expiration_id(self) -> i8 {
        match self {
            EndReason::Idle | EndReason::EndOfInput => 0,
            EndReason::Active => 1,
            EndReason::Fin | EndReason::Rst | EndReason::Evicted | EndReason::Early => -1,
        }
    }
}

/// Counters of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirCounters {
    /// Packets.
    pub packets: u64,
    /// Bytes under the configured accounting mode.
    pub bytes: u64,
    /// Transport payload bytes (declared by the IP header).
    pub payload_bytes: u64,
    /// Timestamp of the first packet (ns since the epoch), 0 when none.
    pub first_ns: i64,
    /// Timestamp of the last packet (ns since the epoch), 0 when none.
    pub last_ns: i64,
}

impl DirCounters {
    /// Duration between the first and last packet in ns.
    pub fn duration_ns(&self) -> i64 {
        self.last_ns.saturating_sub(self.first_ns)
    }
}

/// TCP connection tracking for termination and Zeek-style `conn_state`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpTrack {
    /// Originator sent a SYN (without ACK).
    pub syn_fwd: bool,
    /// Responder answered with SYN-ACK.
    pub synack_bwd: bool,
    /// A SYN-ACK was sent by the originator side (unusual; seen when the SYN was missed and no flip was done).
    pub synack_fwd: bool,
    /// FIN seen from src.
    pub fin_fwd: bool,
    /// FIN seen from dst.
    pub fin_bwd: bool,
    /// RST seen from src.
    pub rst_fwd: bool,
    /// RST seen from dst.
    pub rst_bwd: bool,
    /// Payload seen from src.
    pub data_fwd: bool,
    /// Payload seen from dst.
    pub data_bwd: bool,
    /// An ACK from src after the SYN-ACK completed the handshake.
    pub established: bool,
}

impl TcpTrack {
    /// Zeek-style connection state summary (S0, S1, SF, REJ, S2, S3, RSTO,
    /// RSTR, RSTOS0, RSTRH, SH, SHR, OTH), following Zeek's documented
    /// definitions in `base/protocols/conn/main.zeek`.
    pub fn conn_state(&self) -> &'static str {
        let syn = self.syn_fwd;
        let synack = self.synack_bwd;
        let est = syn && synack;
        if self.rst_fwd {
            if est || self.established {
                return "RSTO";
            }
            if syn && !synack {
                return "RSTOS0";
            }
            return "RSTO";
        }
        if self.rst_bwd {
            if syn && !synack {
                return "REJ";
            }
            if est || self.established {
                return "RSTR";
            }
            if self.synack_fwd || synack {
                return "RSTRH";
            }
            return "RSTR";
        }
        if !syn {
            if synack || self.synack_fwd {
                if self.fin_bwd && !self.fin_fwd {
                    return "SHR";
                }
                return "OTH";
            }
            return "OTH";
        }
        if !synack {
            if self.fin_fwd {
                return "SH";
            }
            return "S0";
        }
        match (self.fin_fwd, self.fin_bwd) {
            (true, true) => "SF",
            (true, false) => "S2",
            (false, true) => "S3",
            (false, false) => "S1",
        }
    }
}

/// Statistics of one direction for the `nfstream` feature set.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DirStats {
    /// Packet sizes (accounting mode bytes).
    pub ps: Running,
    /// Packet inter-arrival times in milliseconds.
    pub piat_ms: Running,
    /// Counts of SYN, CWR, ECE, URG, ACK, PSH, RST, FIN flags (NFStream's order).
    pub flags: [u32; 8],
}

impl DirStats {
    /// Count the flags of one TCP packet.
    #[inline]
    pub fn count_flags(&mut self, f: u16) {
        const ORDER: [u16; 8] = [
            tcp_flags::SYN,
            tcp_flags::CWR,
            tcp_flags::ECE,
            tcp_flags::URG,
            tcp_flags::ACK,
            tcp_flags::PSH,
            tcp_flags::RST,
            tcp_flags::FIN,
        ];
        for (slot, bit) in self.flags.iter_mut().zip(ORDER) {
            *slot += u32::from(f & bit != 0);
        }
    }
}

/// Sequences of up to this many packets are kept inline in [`Splt`] (itself
/// boxed in the flow's statistics only when `splt > 0`), longer ones on the
/// heap.
pub const SPLT_INLINE: usize = 16;

/// A short sequence of values: inline up to `N`, on the heap beyond.
///
/// Written here rather than taken from a small-vector crate because it is
/// twenty lines and the capacity is fixed when the flow starts. It reads as
/// a slice (`Deref<Target = [T]>`). Why not a `Vec`: three `Vec`s were
/// three allocations (and frees) per flow and three more cache lines
/// touched by each of a flow's first N packets.
///
/// Invariant: `Inline { len, .. }` has `len <= N`; values past `len` are
/// unused.
#[derive(Clone)]
pub enum Seq<T: Copy + Default, const N: usize> {
    /// Up to `N` values in place.
    Inline {
        /// Values in use.
        len: u8,
        /// Storage; `buf[..len]` is the sequence.
        buf: [T; N],
    },
    /// More than `N` values may be held.
    Heap(Vec<T>),
}

impl<T: Copy + Default, const N: usize> Seq<T, N> {
    /// An empty sequence that will hold up to `cap` values without reallocating.
    pub fn with_capacity(cap: usize) -> Self {
        if cap <= N && N <= usize::from(u8::MAX) {
            Seq::Inline {
                len: 0,
                buf: [T::default(); N],
            }
        } else {
            Seq::Heap(Vec::with_capacity(cap))
        }
    }

    /// Append a value (an inline sequence that is full moves to the heap).
    #[inline]
    pub fn push(&mut self, x: T) {
        match self {
            Seq::Inline { len, buf } => {
                if let Some(slot) = buf.get_mut(usize::from(*len)) {
                    *slot = x;
                    *len += 1;
                } else {
                    let mut v = buf.to_vec();
                    v.push(x);
                    *self = Seq::Heap(v);
                }
            }
            Seq::Heap(v) => v.push(x),
        }
    }
}

impl<T: Copy + Default, const N: usize> Default for Seq<T, N> {
    fn default() -> Self {
        Seq::with_capacity(0)
    }
}

impl<T: Copy + Default, const N: usize> std::ops::Deref for Seq<T, N> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match self {
            Seq::Inline { len, buf } => buf.get(..usize::from(*len)).unwrap_or(&[]),
            Seq::Heap(v) => v,
        }
    }
}

impl<T: Copy + Default + std::fmt::Debug, const N: usize> std::fmt::Debug for Seq<T, N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq for Seq<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> PartialEq<Vec<T>> for Seq<T, N> {
    fn eq(&self, other: &Vec<T>) -> bool {
        **self == **other
    }
}

/// Early-flow features: the first N packets' direction, size and gap.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Splt {
    /// 0 = src→dst, 1 = dst→src.
    pub direction: Seq<i8, SPLT_INLINE>,
    /// Packet size (accounting mode).
    pub ps: Seq<i32, SPLT_INLINE>,
    /// Inter-arrival time from the previous packet of the flow, ms (0 for the first).
    pub piat_ms: Seq<f64, SPLT_INLINE>,
}

impl Splt {
    /// Empty sequences that hold `n` packets without reallocating.
    pub fn with_capacity(n: usize) -> Splt {
        Splt {
            direction: Seq::with_capacity(n),
            ps: Seq::with_capacity(n),
            piat_ms: Seq::with_capacity(n),
        }
    }

    /// Packets recorded.
    #[inline]
    pub fn len(&self) -> usize {
        self.direction.len()
    }

    /// True when no packet is recorded.
    pub fn is_empty(&self) -> bool {
        self.direction.is_empty()
    }

    /// Record one packet.
    #[inline]
    pub fn push(&mut self, direction: i8, ps: i32, piat_ms: f64) {
        self.direction.push(direction);
        self.ps.push(ps);
        self.piat_ms.push(piat_ms);
    }
}

/// Optional statistics, allocated once per flow only when a feature set needs them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlowStats {
    /// Both directions.
    pub bidir: DirStats,
    /// src→dst.
    pub fwd: DirStats,
    /// dst→src.
    pub bwd: DirStats,
    /// Early-flow sequence, allocated only when `splt > 0` (its inline
    /// buffers are 240 bytes, which every flow with statistics would carry
    /// otherwise); read it with [`FlowStats::splt`].
    pub splt: Option<Box<Splt>>,
}

/// The sequence of a flow without one.
static NO_SPLT: Splt = Splt {
    direction: Seq::Inline {
        len: 0,
        buf: [0; SPLT_INLINE],
    },
    ps: Seq::Inline {
        len: 0,
        buf: [0; SPLT_INLINE],
    },
    piat_ms: Seq::Inline {
        len: 0,
        buf: [0.0; SPLT_INLINE],
    },
};

impl FlowStats {
    /// The early-flow sequence (empty when `splt` is 0).
    #[inline]
    pub fn splt(&self) -> &Splt {
        self.splt.as_deref().unwrap_or(&NO_SPLT)
    }
}

/// One bidirectional flow.
///
/// Field order is the memory order (`repr(C)`): the meter's per-packet
/// lookup and update read the key, the TCP state, the timestamps and the
/// counters, so those come first and share as few cache lines as the slot
/// allows; the id, the first packet's index, the MACs and the end reason
/// (written once) come last. 208 bytes, no padding inside.
#[derive(Clone, Debug, PartialEq)]
#[repr(C)]
pub struct Flow {
    /// Source endpoint (see module invariants).
    pub src: Endpoint,
    /// Destination endpoint.
    pub dst: Endpoint,
    /// Transport protocol number.
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// Outermost VLAN id.
    pub vlan_id: u16,
    /// Tunnel id (VNI, TEID, GRE key; 0 when none).
    pub tunnel_id: u32,
    /// TCP tracking (all false for other protocols).
    pub tcp: TcpTrack,
    /// ICMP type/code of the first ICMP packet (0 otherwise).
    pub icmp_type_code: (u8, u8),
    /// Last packet timestamp, ns since the epoch.
    pub last_ns: i64,
    /// First packet timestamp, ns since the epoch.
    pub first_ns: i64,
    /// src→dst counters.
    pub fwd: DirCounters,
    /// dst→src counters.
    pub bwd: DirCounters,
    /// Optional statistics.
    pub stats: Option<Box<FlowStats>>,
    /// CICFlowMeter feature state (only when the `cic` group is selected).
    pub cic: Option<Box<crate::cic::CicState>>,
    /// Application metadata (only when the `app` group is selected; filled
    /// in when the flow ends).
    pub app: Option<Box<netlens_appmeta::AppMeta>>,
    /// Export sequence number, assigned when the flow is written.
    pub id: u64,
    /// Global index of the flow's first packet in the input (orders output deterministically).
    pub first_packet_index: u64,
    /// MAC of `src` (first packet's source MAC, or its destination MAC after a flip).
    pub src_mac: [u8; 6],
    /// MAC of `dst`.
    pub dst_mac: [u8; 6],
    /// Innermost tunnel kind.
    pub tunnel: TunnelKind,
    /// Why the flow ended (meaningful once exported); [`EndReason::Early`]
    /// marks an early snapshot of a flow that is still active.
    pub end_reason: EndReason,
}

impl Flow {
    /// Source IP address.
    pub fn src_ip(&self) -> IpAddr {
        self.src.ip(self.ip_version)
    }
    /// Destination IP address.
    pub fn dst_ip(&self) -> IpAddr {
        self.dst.ip(self.ip_version)
    }
    /// Total packets.
    pub fn packets(&self) -> u64 {
        self.fwd.packets + self.bwd.packets
    }
    /// Total bytes (accounting mode).
    pub fn bytes(&self) -> u64 {
        self.fwd.bytes + self.bwd.bytes
    }
    /// Duration in ns.
    pub fn duration_ns(&self) -> i64 {
        self.last_ns.saturating_sub(self.first_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_states_follow_zeek_definitions() {
        let mut t = TcpTrack {
            syn_fwd: true,
            ..Default::default()
        };
        assert_eq!(t.conn_state(), "S0");
        t.rst_bwd = true;
        assert_eq!(t.conn_state(), "REJ");
        let mut t = TcpTrack {
            syn_fwd: true,
            synack_bwd: true,
            ..Default::default()
        };
        assert_eq!(t.conn_state(), "S1");
        t.fin_fwd = true;
        assert_eq!(t.conn_state(), "S2");
        t.fin_bwd = true;
        assert_eq!(t.conn_state(), "SF");
        let t = TcpTrack {
            syn_fwd: true,
            synack_bwd: true,
            rst_fwd: true,
            ..Default::default()
        };
        assert_eq!(t.conn_state(), "RSTO");
        let t = TcpTrack {
            syn_fwd: true,
            synack_bwd: true,
            rst_bwd: true,
            ..Default::default()
        };
        assert_eq!(t.conn_state(), "RSTR");
        assert_eq!(TcpTrack::default().conn_state(), "OTH");
        let t = TcpTrack {
            syn_fwd: true,
            fin_fwd: true,
            ..Default::default()
        };
        assert_eq!(t.conn_state(), "SH");
    }

    #[test]
    fn hot_fields_come_first_and_the_layout_has_no_holes() {
        use std::mem::{offset_of, size_of};
        assert_eq!(size_of::<Flow>(), 208);
        assert_eq!(offset_of!(Flow, tcp), 44);
        assert_eq!(offset_of!(Flow, last_ns), 56);
        assert_eq!(offset_of!(Flow, stats), 152);
        assert!(offset_of!(Flow, end_reason) < 208);
    }

    #[test]
    fn statistics_without_a_split_sequence_carry_no_buffers() {
        // The inline sequence buffers (240 bytes) live in their own box,
        // allocated only with `splt > 0`.
        let s = FlowStats::default();
        assert!(s.splt().is_empty() && s.splt.is_none());
        assert!(std::mem::size_of::<FlowStats>() <= 344);
    }

    #[test]
    fn splt_sequences_stay_inline_up_to_the_bound_and_spill_beyond() {
        let mut s = Splt::with_capacity(3);
        assert!(matches!(s.ps, Seq::Inline { .. }) && s.is_empty());
        for i in 0..3 {
            s.push(0, i, f64::from(i));
        }
        assert_eq!(s.ps, vec![0, 1, 2]);
        // Pushing past the inline bound moves the values to the heap.
        let mut q = Seq::<i32, 2>::with_capacity(2);
        for i in 0..5 {
            q.push(i);
        }
        assert!(matches!(q, Seq::Heap(_)));
        assert_eq!(q, vec![0, 1, 2, 3, 4]);
        let mut h = Seq::<i32, 2>::with_capacity(5);
        assert!(matches!(h, Seq::Heap(_)));
        for i in 0..5 {
            h.push(i);
        }
        assert_eq!(q, h, "equal as sequences whatever the storage");
        assert_eq!(format!("{h:?}"), "[0, 1, 2, 3, 4]");
    }

    #[test]
    fn flag_counts_follow_nfstream_order() {
        let mut d = DirStats::default();
        d.count_flags(tcp_flags::SYN | tcp_flags::ACK);
        d.count_flags(tcp_flags::FIN | tcp_flags::ACK | tcp_flags::PSH);
        assert_eq!(d.flags, [1, 0, 0, 0, 2, 1, 0, 1]);
    }
}
