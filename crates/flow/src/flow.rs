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

/// Early-flow features: the first N packets' direction, size and gap.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Splt {
    /// 0 = src→dst, 1 = dst→src.
    pub direction: Vec<i8>,
    /// Packet size (accounting mode).
    pub ps: Vec<i32>,
    /// Inter-arrival time from the previous packet of the flow, ms (0 for the first).
    pub piat_ms: Vec<f64>,
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
    /// Early-flow sequence (empty unless `splt > 0`).
    pub splt: Splt,
}

/// One bidirectional flow.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    /// Export sequence number, assigned when the flow is written.
    pub id: u64,
    /// Global index of the flow's first packet in the input (orders output deterministically).
    pub first_packet_index: u64,
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
    /// Innermost tunnel kind.
    pub tunnel: TunnelKind,
    /// Tunnel id (VNI, TEID, GRE key; 0 when none).
    pub tunnel_id: u32,
    /// MAC of `src` (first packet's source MAC, or its destination MAC after a flip).
    pub src_mac: [u8; 6],
    /// MAC of `dst`.
    pub dst_mac: [u8; 6],
    /// First packet timestamp, ns since the epoch.
    pub first_ns: i64,
    /// Last packet timestamp, ns since the epoch.
    pub last_ns: i64,
    /// src→dst counters.
    pub fwd: DirCounters,
    /// dst→src counters.
    pub bwd: DirCounters,
    /// Why the flow ended (meaningful once exported); [`EndReason::Early`]
    /// marks an early snapshot of a flow that is still active.
    pub end_reason: EndReason,
    /// TCP tracking (all false for other protocols).
    pub tcp: TcpTrack,
    /// ICMP type/code of the first ICMP packet (0 otherwise).
    pub icmp_type_code: (u8, u8),
    /// Optional statistics.
    pub stats: Option<Box<FlowStats>>,
    /// CICFlowMeter feature state (only when the `cic` group is selected).
    pub cic: Option<Box<crate::cic::CicState>>,
    /// Application metadata (only when the `app` group is selected; filled
    /// in when the flow ends).
    pub app: Option<Box<netlens_appmeta::AppMeta>>,
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
    fn flag_counts_follow_nfstream_order() {
        let mut d = DirStats::default();
        d.count_flags(tcp_flags::SYN | tcp_flags::ACK);
        d.count_flags(tcp_flags::FIN | tcp_flags::ACK | tcp_flags::PSH);
        assert_eq!(d.flags, [1, 0, 0, 0, 2, 1, 0, 1]);
    }
}
