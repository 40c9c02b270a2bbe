//! Why a frame could not be reduced to an IP flow packet.
//!
//! The enum is `Copy` and never allocates, so counting reasons on the hot
//! path costs nothing.

/// Protocol layer at which dissection stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Link layer (Ethernet, SLL, SLL2, null, PPP, HDLC, ...).
    Link,
    /// 802.1Q / QinQ tag.
    Vlan,
    /// MPLS label stack.
    Mpls,
    /// PPPoE session header.
    Pppoe,
    /// IPv4 header.
    Ipv4,
    /// IPv6 header or extension chain.
    Ipv6,
    /// TCP header.
    Tcp,
    /// UDP header.
    Udp,
    /// ICMP / ICMPv6 header.
    Icmp,
    /// SCTP common header.
    Sctp,
    /// Tunnel header (GRE, ERSPAN, VXLAN, Geneve, GTP-U, Teredo, ...).
    Tunnel,
}

impl Layer {
    /// Lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Vlan => "vlan",
            Layer::Mpls => "mpls",
            Layer::Pppoe => "pppoe",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
            Layer::Icmp => "icmp",
            Layer::Sctp => "sctp",
            Layer::Tunnel => "tunnel",
        }
    }
}

/// Outcome of a frame that did not yield an IP packet summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum DissectError {
    /// The frame ended before a header of `layer` was complete.
    #[error("truncated {} header", .0.name())]
    Truncated(Layer),
    /// A header of `layer` had impossible field values.
    #[error("malformed {} header", .0.name())]
    Malformed(Layer),
    /// The capture's link type is not decoded by netlens.
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    /// A well-formed frame that carries no IP packet (ARP, LLDP, STP, ...);
    /// the value is the EtherType (or 0 when unknown).
    #[error("non-IP frame (ethertype 0x{0:04x})")]
    NotIp(u16),
    /// More nested encapsulations than the dissector follows.
    #[error("too many nested layers")]
    TooDeep,
}

impl DissectError {
    /// Stable, machine-readable reason label for counters and reports.
    pub fn reason(&self) -> &'static str {
        match self {
            DissectError::Truncated(l) => match l {
                Layer::Link => "truncated_link",
                Layer::Vlan => "truncated_vlan",
                Layer::Mpls => "truncated_mpls",
                Layer::Pppoe => "truncated_pppoe",
                Layer::Ipv4 => "truncated_ipv4",
                Layer::Ipv6 => "truncated_ipv6",
                Layer::Tcp => "truncated_tcp",
                Layer::Udp => "truncated_udp",
                Layer::Icmp => "truncated_icmp",
                Layer::Sctp => "truncated_sctp",
                Layer::Tunnel => "truncated_tunnel",
            },
            DissectError::Malformed(l) => match l {
                Layer::Link => "malformed_link",
                Layer::Vlan => "malformed_vlan",
                Layer::Mpls => "malformed_mpls",
                Layer::Pppoe => "malformed_pppoe",
                Layer::Ipv4 => "malformed_ipv4",
                Layer::Ipv6 => "malformed_ipv6",
                Layer::Tcp => "malformed_tcp",
                Layer::Udp => "malformed_udp",
                Layer::Icmp => "malformed_icmp",
                Layer::Sctp => "malformed_sctp",
                Layer::Tunnel => "malformed_tunnel",
            },
            DissectError::UnsupportedLinkType(_) => "unsupported_link_type",
            DissectError::NotIp(_) => "non_ip",
            DissectError::TooDeep => "too_many_layers",
        }
    }

    /// True when the frame was valid but simply not IP (not a defect).
    pub fn is_benign(&self) -> bool {
        matches!(
            self,
            DissectError::NotIp(_) | DissectError::UnsupportedLinkType(_)
        )
    }
}
