//! Direction-agnostic flow keys.
//!
//! Invariant: `FlowKey::new(a, b)` and `FlowKey::new(b, a)` are equal for the
//! same endpoint pair, so both directions of a conversation find one entry.
//! IPv4 addresses are stored as IPv4-mapped IPv6 so a key has one layout; the
//! `ip_version` field keeps 4in6 look-alikes apart.

use std::net::{IpAddr, Ipv6Addr};

use netlens_wire::PacketSummary;

/// One endpoint of a conversation: address bytes (IPv4-mapped for v4) and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address as 16 bytes (IPv4 mapped into `::ffff:a.b.c.d`).
    pub addr: [u8; 16],
    /// Transport port (0 when the protocol has none).
    pub port: u16,
}

impl Endpoint {
    /// Build an endpoint from an address and port.
    pub fn new(ip: IpAddr, port: u16) -> Self {
        let addr = match ip {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        Endpoint { addr, port }
    }

    /// The address back as an `IpAddr` of the given IP version.
    pub fn ip(&self, ip_version: u8) -> IpAddr {
        let v6 = Ipv6Addr::from(self.addr);
        if ip_version == 4
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return IpAddr::V4(v4);
        }
        IpAddr::V6(v6)
    }
}

/// Bidirectional flow key: (VLAN, protocol, endpoint pair, tunnel id, IP version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The smaller endpoint (address, then port).
    pub lo: Endpoint,
    /// The larger endpoint.
    pub hi: Endpoint,
    /// Transport protocol number.
    pub protocol: u8,
    /// 4 or 6.
    pub ip_version: u8,
    /// Outermost VLAN id (0 untagged).
    pub vlan_id: u16,
    /// Tunnel identifier (0 when none).
    pub tunnel_id: u32,
}

impl FlowKey {
    /// Key of the conversation a dissected packet belongs to.
    pub fn from_summary(p: &PacketSummary) -> FlowKey {
        let a = Endpoint::new(p.src_ip, p.src_port);
        let b = Endpoint::new(p.dst_ip, p.dst_port);
        FlowKey::new(a, b, p.protocol, p.ip_version, p.vlan_id, p.tunnel_id)
    }

    /// Build a key from two endpoints in either order.
    pub fn new(
        a: Endpoint,
        b: Endpoint,
        protocol: u8,
        ip_version: u8,
        vlan_id: u16,
        tunnel_id: u32,
    ) -> FlowKey {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        FlowKey {
            lo,
            hi,
            protocol,
            ip_version,
            vlan_id,
            tunnel_id,
        }
    }

    /// A 64-bit hash that is the same for both directions and stable across
    /// runs and machines (used to shard flows over worker threads).
    pub fn shard_hash(&self) -> u64 {
        // FNV-1a over the canonical key bytes: stable and cheap; the shard
        // choice must not depend on a per-process random seed.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&self.lo.addr);
        eat(&self.lo.port.to_be_bytes());
        eat(&self.hi.addr);
        eat(&self.hi.port.to_be_bytes());
        eat(&[self.protocol, self.ip_version]);
        eat(&self.vlan_id.to_be_bytes());
        eat(&self.tunnel_id.to_be_bytes());
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn both_directions_give_one_key() {
        let a = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
        let b = Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 80);
        let k1 = FlowKey::new(a, b, 6, 4, 0, 0);
        let k2 = FlowKey::new(b, a, 6, 4, 0, 0);
        assert_eq!(k1, k2);
        assert_eq!(k1.shard_hash(), k2.shard_hash());
        let k3 = FlowKey::new(a, b, 6, 4, 7, 0);
        assert_ne!(k1, k3);
    }

    #[test]
    fn endpoint_round_trips_addresses() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9));
        assert_eq!(Endpoint::new(v4, 1).ip(4), v4);
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(v4);
        assert_eq!(Endpoint::new(v6, 1).ip(6), v6);
    }
}
