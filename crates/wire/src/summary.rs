//! The compact, owned result of dissecting one frame.
//!
//! Invariants: a [`PacketSummary`] never borrows the frame; offsets in it
//! (`payload_offset`) index into the frame that was dissected and satisfy
//! `payload_offset + payload_captured <= frame.len()`. All fields are reset by
//! [`PacketSummary::clear`], so one value can be reused for every packet
//! without allocation.

use std::net::{IpAddr, Ipv4Addr};

/// Kind of the innermost tunnel that was decoded to reach the inner flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// No tunnel: the flow is the outer packet.
    #[default]
    None,
    /// GRE (RFC 2784/2890); `tunnel_id` is the GRE key when present.
    Gre,
    /// ERSPAN type I/II/III carried in GRE; `tunnel_id` is the session id.
    Erspan,
    /// VXLAN (RFC 7348); `tunnel_id` is the VNI.
    Vxlan,
    /// Geneve (RFC 8926); `tunnel_id` is the VNI.
    Geneve,
    /// GTPv1-U; `tunnel_id` is the TEID.
    GtpU,
    /// IPv4/IPv6 in IPv4/IPv6 (protocols 4 and 41).
    IpInIp,
    /// Teredo (IPv6 in UDP/3544).
    Teredo,
    /// AYIYA (IPv4/IPv6 in UDP/5072).
    Ayiya,
    /// CAPWAP data channel (802.11 in UDP/5247).
    Capwap,
}

impl TunnelKind {
    /// Short lower-case name used in exports.
    pub fn name(self) -> &'static str {
        match self {
            TunnelKind::None => "",
            TunnelKind::Gre => "gre",
            TunnelKind::Erspan => "erspan",
            TunnelKind::Vxlan => "vxlan",
            TunnelKind::Geneve => "geneve",
            TunnelKind::GtpU => "gtpu",
            TunnelKind::IpInIp => "ipip",
            TunnelKind::Teredo => "teredo",
            TunnelKind::Ayiya => "ayiya",
            TunnelKind::Capwap => "capwap",
        }
    }
}

/// TCP header fields kept per packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// Flag bits in wire order: FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10
    /// URG=0x20 ECE=0x40 CWR=0x80 NS=0x100.
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Raw (unscaled) receive window.
    pub window: u16,
    /// MSS option value, 0 when absent.
    pub mss: u16,
    /// Window-scale option shift, `None` when absent.
    pub wscale: Option<u8>,
    /// SACK-permitted option present.
    pub sack_permitted: bool,
    /// Timestamp option present.
    pub has_timestamps: bool,
}

/// TCP flag constants for [`TcpInfo::flags`].
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u16 = 0x01;
    /// SYN.
    pub const SYN: u16 = 0x02;
    /// RST.
    pub const RST: u16 = 0x04;
    /// PSH.
    pub const PSH: u16 = 0x08;
    /// ACK.
    pub const ACK: u16 = 0x10;
    /// URG.
    pub const URG: u16 = 0x20;
    /// ECE.
    pub const ECE: u16 = 0x40;
    /// CWR.
    pub const CWR: u16 = 0x80;
    /// NS (ECN nonce, RFC 3540).
    pub const NS: u16 = 0x100;
}

/// IP fragmentation state of the (inner) IP packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FragInfo {
    /// True when this packet is a fragment (offset > 0 or more-fragments set,
    /// or an IPv6 fragment header that is not atomic).
    pub is_fragment: bool,
    /// Fragment offset in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
    /// Identification (16 bits for IPv4, 32 bits for IPv6).
    pub id: u32,
}

/// The fragmented outer IP datagram whose first fragment carried the decoded
/// tunnel. Its later fragments (same addresses, protocol and id) hold only
/// the rest of the same inner packet, not a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OuterFragment {
    /// Outer source address.
    pub src_ip: IpAddr,
    /// Outer destination address.
    pub dst_ip: IpAddr,
    /// Outer IP protocol (17 for UDP tunnels, 47 for GRE, 4/41 for IP-in-IP).
    pub protocol: u8,
    /// Outer fragment identification.
    pub id: u32,
}

/// Everything the flow meter needs to know about one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketSummary {
    /// Source MAC of the outermost Ethernet header (zero when none).
    pub src_mac: [u8; 6],
    /// Destination MAC of the outermost Ethernet header (zero when none).
    pub dst_mac: [u8; 6],
    /// Outermost 802.1Q VLAN id, 0 when untagged.
    pub vlan_id: u16,
    /// Number of VLAN tags seen (QinQ = 2).
    pub vlan_depth: u8,
    /// Number of MPLS labels popped.
    pub mpls_depth: u8,
    /// Innermost tunnel decoded.
    pub tunnel: TunnelKind,
    /// Tunnel identifier (VNI, TEID, GRE key, ERSPAN session); 0 when none.
    pub tunnel_id: u32,
    /// Set when the tunnel was decoded from the first fragment of a
    /// fragmented outer datagram (the outermost such datagram).
    pub outer_fragment: Option<OuterFragment>,
    /// 4 or 6 for the inner IP packet.
    pub ip_version: u8,
    /// Inner source address.
    pub src_ip: IpAddr,
    /// Inner destination address.
    pub dst_ip: IpAddr,
    /// Inner transport protocol number (after the IPv6 extension chain).
    pub protocol: u8,
    /// IPv4 TTL / IPv6 hop limit of the inner packet.
    pub ttl: u8,
    /// Inner IP datagram length as declared by its header (header + payload).
    pub ip_len: u32,
    /// Inner IP header length including IPv4 options / IPv6 extension headers.
    pub ip_header_len: u16,
    /// Fragmentation state of the inner packet.
    pub frag: FragInfo,
    /// Transport source port (0 for protocols without ports).
    pub src_port: u16,
    /// Transport destination port (0 for protocols without ports).
    pub dst_port: u16,
    /// False for non-first fragments and protocols whose ports could not be read.
    pub ports_known: bool,
    /// Transport header length (TCP incl. options, 8 for UDP, 8 for ICMP echo ...).
    pub l4_header_len: u16,
    /// Transport payload length as declared by the IP header
    /// (`ip_len - ip_header_len - l4_header_len`, saturating).
    pub l4_payload_len: u32,
    /// Offset of the transport payload in the frame.
    pub payload_offset: u32,
    /// Bytes of transport payload actually captured (may be less than
    /// `l4_payload_len` with a snap length).
    pub payload_captured: u32,
    /// TCP fields; meaningful when `protocol == 6`.
    pub tcp: TcpInfo,
    /// ICMP/ICMPv6 type; meaningful when `protocol` is 1 or 58.
    pub icmp_type: u8,
    /// ICMP/ICMPv6 code.
    pub icmp_code: u8,
}

impl Default for PacketSummary {
    fn default() -> Self {
        PacketSummary {
            src_mac: [0; 6],
            dst_mac: [0; 6],
            vlan_id: 0,
            vlan_depth: 0,
            mpls_depth: 0,
            tunnel: TunnelKind::None,
            tunnel_id: 0,
            outer_fragment: None,
            ip_version: 0,
            src_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            protocol: 0,
            ttl: 0,
            ip_len: 0,
            ip_header_len: 0,
            frag: FragInfo::default(),
            src_port: 0,
            dst_port: 0,
            ports_known: false,
            l4_header_len: 0,
            l4_payload_len: 0,
            payload_offset: 0,
            payload_captured: 0,
            tcp: TcpInfo::default(),
            icmp_type: 0,
            icmp_code: 0,
        }
    }
}

impl PacketSummary {
    /// Reset every field to its default so the value can be reused.
    pub fn clear(&mut self) {
        *self = PacketSummary::default();
    }

    /// The captured transport payload of `frame` (empty when out of range).
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = self.payload_offset as usize;
        let end = start.saturating_add(self.payload_captured as usize);
        frame.get(start..end).unwrap_or(&[])
    }
}
