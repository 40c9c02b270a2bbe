//! A quick-look traffic summary (`netlens stats`), gathered as an observer.
//!
//! Invariant: memory is bounded: at most `MAX_HOSTS` distinct addresses are
//! tracked for top talkers; traffic of addresses seen after the table is full
//! is added to `untracked_host_bytes` so totals still add up.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hashbrown::HashMap;
use netlens_capture::PacketRef;
use netlens_wire::{DissectError, PacketSummary, tcp_flags};

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
///
/// The per-class tables are read through [`TrafficSummary::linktypes`],
/// [`TrafficSummary::ip_versions`], [`TrafficSummary::protocols`] and
/// [`TrafficSummary::tunnels`]; inside they are arrays and short lists, so a
/// packet costs array indexing instead of four ordered-map lookups (this
/// observer runs on every packet of `netlens series`, `report` and `analyze`).
#[derive(Clone, Debug)]
pub struct TrafficSummary {
    /// By link type number (few distinct values: a short list).
    linktypes: Vec<(u32, Count)>,
    /// By IP version byte.
    ip_versions: Box<[Count; 256]>,
    /// By inner IP protocol number.
    protocols: Box<[Count; 256]>,
    /// By tunnel kind name ("" = none); few distinct values.
    tunnels: Vec<(&'static str, Count)>,
    /// Packets carrying an 802.1Q tag.
    pub vlan_tagged: Count,
    /// Bytes sent per source address.
    pub hosts: HashMap<IpAddr, Count>,
    /// Bytes of sources not tracked because the host table was full.
    pub untracked_host_bytes: u64,
    /// By destination port for TCP/UDP (only ports < 49152, the registered range).
    pub ports: HashMap<(u8, u16), Count>,
}

impl Default for TrafficSummary {
    fn default() -> Self {
        TrafficSummary {
            linktypes: Vec::new(),
            ip_versions: Box::new([Count::default(); 256]),
            protocols: Box::new([Count::default(); 256]),
            tunnels: Vec::new(),
            vlan_tagged: Count::default(),
            hosts: HashMap::new(),
            untracked_host_bytes: 0,
            ports: HashMap::new(),
        }
    }
}

/// The count of `key` in a short list, appended when new.
fn short_entry<K: PartialEq + Copy>(list: &mut Vec<(K, Count)>, key: K) -> &mut Count {
    let i = match list.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            list.push((key, Count::default()));
            list.len() - 1
        }
    };
    // `i` indexes an element that exists (found, or pushed just above).
    &mut list[i].1
}

/// The non-empty entries of a table indexed by a byte.
fn byte_table(t: &[Count; 256]) -> BTreeMap<u8, Count> {
    (0..=u8::MAX)
        .zip(t.iter())
        .filter(|(_, c)| c.packets > 0)
        .map(|(k, c)| (k, *c))
        .collect()
}

impl PacketObserver for TrafficSummary {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        let bytes = u64::from(pkt.wire_len);
        short_entry(&mut self.linktypes, pkt.linktype).add(bytes);
        let Ok(s) = dissected else { return };
        self.ip_versions[usize::from(s.ip_version)].add(bytes);
        self.protocols[usize::from(s.protocol)].add(bytes);
        short_entry(&mut self.tunnels, s.tunnel.name()).add(bytes);
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
            let port = service_port(s);
            if port < 49152 && self.ports.len() < MAX_HOSTS {
                self.ports.entry((s.protocol, port)).or_default().add(bytes);
            }
        }
    }
}

impl TrafficSummary {
    /// Packets and bytes by link type number.
    pub fn linktypes(&self) -> BTreeMap<u32, Count> {
        self.linktypes.iter().copied().collect()
    }

    /// Packets and bytes of decoded packets by IP version (4, 6).
    pub fn ip_versions(&self) -> BTreeMap<u8, Count> {
        byte_table(&self.ip_versions)
    }

    /// Packets and bytes of decoded packets by inner IP protocol number.
    pub fn protocols(&self) -> BTreeMap<u8, Count> {
        byte_table(&self.protocols)
    }

    /// Packets and bytes of decoded packets by tunnel kind name ("" = none).
    pub fn tunnels(&self) -> BTreeMap<&'static str, Count> {
        self.tunnels.iter().copied().collect()
    }

    /// The `n` source addresses that sent the most bytes, largest first.
    pub fn top_talkers(&self, n: usize) -> Vec<(IpAddr, Count)> {
        let mut v: Vec<(IpAddr, Count)> = self.hosts.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// The `n` (protocol, service port) pairs with the most bytes, largest
    /// first (see [`service_port`]).
    pub fn top_ports(&self, n: usize) -> Vec<((u8, u16), Count)> {
        let mut v: Vec<((u8, u16), Count)> = self.ports.iter().map(|(k, c)| (*k, *c)).collect();
        v.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

/// The service port of a TCP/UDP packet: the destination of a SYN, the
/// source of a SYN-ACK (these say who is the server), else the smaller of
/// the two ports (servers mostly listen on low ports, clients on ephemeral
/// ones). Without the SYN rule a SYN flood from random source ports spreads
/// its bytes over whichever source port is lower than the target's.
pub fn service_port(s: &PacketSummary) -> u16 {
    if s.protocol == 6 && s.tcp.flags & tcp_flags::SYN != 0 {
        return if s.tcp.flags & tcp_flags::ACK != 0 {
            s.src_port
        } else {
            s.dst_port
        };
    }
    s.dst_port.min(s.src_port)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 + `proto` header stub from 10.0.0.`src`, or ARP when `proto` is None.
    fn frame(src: u8, proto: Option<u8>) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, src];
        match proto {
            None => {
                f.extend_from_slice(&[0x08, 0x06]);
                f.extend_from_slice(&[0u8; 28]);
            }
            Some(p) => {
                f.extend_from_slice(&[0x08, 0x00, 0x45, 0, 0, 28, 0, 1, 0, 0, 64, p, 0, 0]);
                f.extend_from_slice(&[10, 0, 0, src, 10, 0, 0, 1]);
                // 8 bytes: a UDP header, or the start of an ICMP message.
                f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0]);
            }
        }
        f
    }

    #[test]
    fn tables_count_every_packet_once_by_class() {
        let mut t = TrafficSummary::default();
        let frames = [
            (ETHERNET, frame(2, Some(17))),
            (ETHERNET, frame(2, Some(17))),
            (ETHERNET, frame(3, Some(1))),
            (ETHERNET, frame(4, None)),
        ];
        let mut wire_total = 0u64;
        for (lt, f) in &frames {
            let mut s = PacketSummary::default();
            let res = netlens_wire::dissect(*lt, f, &mut s);
            let pkt = PacketRef {
                ts_ns: 0,
                wire_len: f.len() as u32,
                linktype: *lt,
                data: f,
                source: 0,
                interface: 0,
            };
            wire_total += f.len() as u64;
            t.on_packet(&pkt, res.map(|()| &s));
        }
        let lt = t.linktypes();
        assert_eq!(lt.len(), 1);
        assert_eq!(
            lt.get(&1).map(|c| (c.packets, c.bytes)),
            Some((4, wire_total))
        );
        let p = t.protocols();
        assert_eq!(p.keys().copied().collect::<Vec<_>>(), vec![1, 17]);
        assert_eq!(p.get(&17).map(|c| c.packets), Some(2));
        assert_eq!(p.get(&1).map(|c| c.packets), Some(1));
        assert_eq!(t.ip_versions().get(&4).map(|c| c.packets), Some(3));
        assert_eq!(t.ip_versions().len(), 1);
        assert_eq!(t.tunnels().get("").map(|c| c.packets), Some(3));
        assert_eq!(t.hosts.len(), 2);
    }

    const ETHERNET: u32 = 1;

    #[test]
    fn service_port_follows_the_handshake() {
        let mut s = PacketSummary {
            protocol: 6,
            src_port: 443,
            dst_port: 25565,
            ..PacketSummary::default()
        };
        s.tcp.flags = tcp_flags::SYN;
        assert_eq!(service_port(&s), 25565, "a SYN names its destination");
        s.tcp.flags = tcp_flags::SYN | tcp_flags::ACK;
        assert_eq!(service_port(&s), 443, "a SYN-ACK names its source");
        s.tcp.flags = tcp_flags::ACK;
        assert_eq!(service_port(&s), 443, "otherwise the lower port");
        s.protocol = 17;
        s.tcp.flags = 0;
        assert_eq!(service_port(&s), 443);
    }
}
