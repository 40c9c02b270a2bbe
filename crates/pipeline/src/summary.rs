//! A quick-look traffic summary (`netlens stats`), gathered as an observer.
//!
//! Invariant: memory is bounded: at most `MAX_HOSTS` distinct addresses are
//! tracked for top talkers; traffic of addresses seen after the table is full
//! is added to `untracked_host_bytes` so totals still add up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hashbrown::HashMap;
use netlens_capture::PacketRef;
use netlens_wire::{DissectError, PacketSummary};

use crate::PacketObserver;

const MAX_HOSTS: usize = 1 << 20;

/// Packets and bytes of one class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    /// Packets.
    pub packets: u64,
    /// On-the-wire bytes.
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u64) {
        self.packets += 1;
        self.bytes += bytes;
    }
}

/// Per-packet traffic breakdown.
#[derive(Clone, Debug, Default)]
pub struct TrafficSummary {
    /// By link type number.
    pub linktypes: BTreeMap<u32, Count>,
    /// By IP version (4, 6).
    pub ip_versions: BTreeMap<u8, Count>,
    /// By inner IP protocol number.
    pub protocols: BTreeMap<u8, Count>,
    /// By tunnel kind name ("" = none).
    pub tunnels: BTreeMap<&'static str, Count>,
    /// Packets carrying an 802.1Q tag.
    pub vlan_tagged: Count,
    /// Bytes sent per source address.
    pub hosts: HashMap<IpAddr, Count>,
    /// Bytes of sources not tracked because the host table was full.
    pub untracked_host_bytes: u64,
    /// By destination port for TCP/UDP (only ports < 49152, the registered range).
    pub ports: HashMap<(u8, u16), Count>,
}

impl PacketObserver for TrafficSummary {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        let bytes = u64::from(pkt.wire_len);
        self.linktypes.entry(pkt.linktype).or_default().add(bytes);
        let Ok(s) = dissected else { return };
        self.ip_versions.entry(s.ip_version).or_default().add(bytes);
        self.protocols.entry(s.protocol).or_default().add(bytes);
        self.tunnels.entry(s.tunnel.name()).or_default().add(bytes);
        if s.vlan_depth > 0 {
            self.vlan_tagged.add(bytes);
        }
        if let Some(c) = self.hosts.get_mut(&s.src_ip) {
            c.add(bytes);
        } else if self.hosts.len() < MAX_HOSTS {
            self.hosts.entry(s.src_ip).or_default().add(bytes);
        } else {
            self.untracked_host_bytes += bytes;
        }
        if (s.protocol == 6 || s.protocol == 17) && s.ports_known {
            let port = s.dst_port.min(s.src_port);
            if port < 49152 && self.ports.len() < MAX_HOSTS {
                self.ports.entry((s.protocol, port)).or_default().add(bytes);
            }
        }
    }
}

impl TrafficSummary {
    /// The `n` source addresses that sent the most bytes, largest first.
    pub fn top_talkers(&self, n: usize) -> Vec<(IpAddr, Count)> {
        let mut v: Vec<(IpAddr, Count)> = self.hosts.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// The `n` (protocol, service port) pairs with the most bytes, largest first.
    /// The service port is the smaller of the two ports of a packet.
    pub fn top_ports(&self, n: usize) -> Vec<((u8, u16), Count)> {
        let mut v: Vec<((u8, u16), Count)> = self.ports.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// Conventional name of an IP protocol number.
pub fn protocol_name(p: u8) -> &'static str {
    match p {
        1 => "icmp",
        2 => "igmp",
        4 => "ipip",
        6 => "tcp",
        17 => "udp",
        41 => "ipv6",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        89 => "ospf",
        103 => "pim",
        112 => "vrrp",
        132 => "sctp",
        _ => "other",
    }
}
