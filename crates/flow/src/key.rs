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

    /// A value ordered like `Endpoint`'s derived `Ord` (address bytes, then
    /// port), compared as two integers instead of byte by byte.
    #[inline(always)]
    fn rank(&self) -> (u128, u16) {
        (u128::from_be_bytes(self.addr), self.port)
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
        let (lo, hi) = if a.rank() <= b.rank() { (a, b) } else { (b, a) };
        FlowKey {
            lo,
            hi,
            protocol,
            ip_version,
            vlan_id,
            tunnel_id,
        }
    }
}

/// 64×64 → 128-bit multiply folded to 64 bits (high ^ low).
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Seeded hash of a [`FlowKey`] for the flow table's index.
///
/// Written here rather than taken from the table's default hasher (foldhash
/// through the derived `Hash`), which feeds the key field by field: a chain
/// of ten dependent multiply-folds per packet, 12 % of the meter's time on
/// the typical benchmark mix. This one folds three independent pairs of
/// 64-bit words and mixes the sum once. The seeds are random per table, as
/// the default hasher's are, so crafted traffic cannot aim at one bucket
/// without knowing them.
#[derive(Clone, Debug)]
pub struct KeyHasher {
    seeds: [u64; 7],
}

impl Default for KeyHasher {
    fn default() -> Self {
        use std::hash::BuildHasher as _;
        let state = std::collections::hash_map::RandomState::new();
        let mut seeds = [0u64; 7];
        for (i, s) in seeds.iter_mut().enumerate() {
            // Odd, so that no seed zeroes a product.
            *s = state.hash_one(i) | 1;
        }
        KeyHasher { seeds }
    }
}

impl KeyHasher {
    /// The hash of `key`.
    #[inline]
    pub fn hash(&self, key: &FlowKey) -> u64 {
        let k = &self.seeds;
        let lo = u128::from_le_bytes(key.lo.addr);
        let hi = u128::from_le_bytes(key.hi.addr);
        let small = u64::from(key.lo.port)
            | u64::from(key.hi.port) << 16
            | u64::from(key.protocol) << 32
            | u64::from(key.ip_version) << 40
            | u64::from(key.vlan_id) << 48;
        let x = fold_mul((lo as u64) ^ k[0], ((lo >> 64) as u64) ^ k[1]);
        let y = fold_mul((hi as u64) ^ k[2], ((hi >> 64) as u64) ^ k[3]);
        let z = fold_mul(small ^ k[4], u64::from(key.tunnel_id) ^ k[5]);
        fold_mul(
            x.wrapping_add(y).wrapping_add(z) ^ k[6],
            0x9e37_79b9_7f4a_7c15,
        )
    }
}

/// One endpoint's contribution to [`shard_of_packet`].
#[inline]
fn endpoint_hash(e: Endpoint) -> u64 {
    let x = u128::from_le_bytes(e.addr);
    fold_mul(
        (x as u64) ^ 0x243f_6a88_85a3_08d3,
        ((x >> 64) as u64) ^ (u64::from(e.port) << 7) ^ 0x1319_8a2e_0370_7344,
    )
}

/// The metering worker (of `n`, at least 1) for a dissected packet.
///
/// Every packet of a flow, in either direction, gets the same worker, and
/// the choice is stable across runs and machines: it depends only on the
/// fields of the packet's [`FlowKey`]. It is cheaper than building the key:
/// the two endpoints are hashed independently and added (a symmetric
/// combination, so no canonical ordering), then mixed with the other key
/// fields; three independent multiplies deep instead of a chain. The reading
/// thread runs this once per packet when metering is sharded.
#[inline]
pub fn shard_of_packet(p: &PacketSummary, n: usize) -> usize {
    shard_of(
        Endpoint::new(p.src_ip, p.src_port),
        Endpoint::new(p.dst_ip, p.dst_port),
        p.protocol,
        p.ip_version,
        p.vlan_id,
        p.tunnel_id,
        n,
    )
}

/// [`shard_of_packet`] for a packet read by [`netlens_wire::fast_tuple`]:
/// the same worker as the packet's dissected summary gets (VLAN and tunnel
/// id are 0 on that path).
#[inline(always)]
pub fn shard_of_tuple(t: &netlens_wire::FastTuple, n: usize) -> usize {
    shard_of(
        Endpoint {
            addr: t.src_addr,
            port: t.src_port,
        },
        Endpoint {
            addr: t.dst_addr,
            port: t.dst_port,
        },
        t.protocol,
        t.ip_version,
        0,
        0,
        n,
    )
}

/// The shard hash of a key's fields (see [`shard_of_packet`]).
#[inline(always)]
fn shard_of(
    a: Endpoint,
    b: Endpoint,
    protocol: u8,
    ip_version: u8,
    vlan_id: u16,
    tunnel_id: u32,
    n: usize,
) -> usize {
    let small = u64::from(protocol)
        | u64::from(ip_version) << 8
        | u64::from(vlan_id) << 16
        | u64::from(tunnel_id) << 32;
    let h = fold_mul(
        endpoint_hash(a).wrapping_add(endpoint_hash(b)) ^ 0xa409_3822_299f_31d0,
        small ^ 0x082e_fa98_ec4e_6c89,
    );
    ((u128::from(h) * n.max(1) as u128) >> 64) as usize
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
        let k3 = FlowKey::new(a, b, 6, 4, 7, 0);
        assert_ne!(k1, k3);
    }

    #[test]
    fn packet_shards_follow_the_flow_key() {
        // Both directions, and every packet with the same key, get the same
        // worker; workers are used evenly; the choice is pinned.
        let mut counts = [0u32; 3];
        for i in 0..30_000u32 {
            let [x, y, z, w] = i.to_be_bytes();
            let mut p = PacketSummary {
                src_ip: IpAddr::V4(Ipv4Addr::new(10, x, y, z)),
                dst_ip: IpAddr::V4(Ipv4Addr::new(192, 168, 0, w)),
                src_port: 1024 + u16::from(w),
                dst_port: 443,
                protocol: 6,
                ip_version: 4,
                vlan_id: u16::from(z % 3),
                tunnel_id: u32::from(y % 2),
                ..PacketSummary::default()
            };
            let s = shard_of_packet(&p, 3);
            counts[s] += 1;
            std::mem::swap(&mut p.src_ip, &mut p.dst_ip);
            std::mem::swap(&mut p.src_port, &mut p.dst_port);
            assert_eq!(shard_of_packet(&p, 3), s, "{p:?}");
        }
        for c in counts {
            assert!((f64::from(c) - 10_000.0).abs() < 300.0, "{counts:?}");
        }
        let p = PacketSummary {
            src_ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst_ip: "2001:db8::1"
                .parse()
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            ..PacketSummary::default()
        };
        assert_eq!(shard_of_packet(&p, 1), 0);
        assert_eq!(shard_of_packet(&p, 0), 0);
        assert!(shard_of_packet(&p, 7) < 7);
        assert_eq!(shard_of_packet(&p, 1 << 30), 369_251_539, "pinned bucket");
    }

    #[test]
    fn tuple_shards_equal_packet_shards() {
        // A packet read by the wire crate's fast path goes to the worker its
        // dissected summary would go to, for IPv4 and IPv6.
        for (a, b) in [("10.0.0.1", "192.168.7.9"), ("2001:db8::1", "fe80::2")] {
            let (a, b): (IpAddr, IpAddr) = (
                a.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                b.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            );
            let v = if a.is_ipv4() { 4 } else { 6 };
            let p = PacketSummary {
                src_ip: a,
                dst_ip: b,
                src_port: 40_000,
                dst_port: 443,
                protocol: 17,
                ip_version: v,
                ..PacketSummary::default()
            };
            let t = netlens_wire::FastTuple {
                ip_version: v,
                src_addr: Endpoint::new(a, 0).addr,
                dst_addr: Endpoint::new(b, 0).addr,
                protocol: 17,
                src_port: 40_000,
                dst_port: 443,
                header_end: 42,
            };
            assert_eq!((t.src_ip(), t.dst_ip()), (a, b));
            for n in [2, 3, 8, 1 << 30] {
                assert_eq!(shard_of_tuple(&t, n), shard_of_packet(&p, n));
            }
        }
    }

    #[test]
    fn rank_orders_like_the_derived_ord() {
        let eps: Vec<Endpoint> = [
            "10.0.0.1",
            "10.0.0.2",
            "9.255.255.255",
            "2001:db8::1",
            "::1",
        ]
        .iter()
        .filter_map(|a| a.parse::<IpAddr>().ok())
        .flat_map(|ip| [0u16, 80, 65535].map(|p| Endpoint::new(ip, p)))
        .collect();
        assert_eq!(eps.len(), 15);
        for a in &eps {
            for b in &eps {
                assert_eq!(a.rank().cmp(&b.rank()), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn key_hash_spreads_keys_and_sees_every_field() {
        let h = KeyHasher::default();
        let base = FlowKey::new(
            Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000),
            Endpoint::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 443),
            6,
            4,
            0,
            0,
        );
        let mut changed = [base; 6];
        changed[0].lo.addr[15] ^= 1;
        changed[1].hi.addr[0] ^= 1;
        changed[2].lo.port ^= 1;
        changed[3].protocol = 17;
        changed[4].vlan_id = 1;
        changed[5].tunnel_id = 1;
        for c in changed {
            assert_ne!(h.hash(&c), h.hash(&base), "{c:?}");
        }
        // Sequential client ports (a scan, a busy NAT) fill the index's
        // buckets evenly: low bits pick the bucket, the top 7 the tag.
        let mut buckets = [0u32; 64];
        let mut tags = std::collections::HashSet::new();
        for p in 0..64_000u16 {
            let mut k = base;
            k.lo.port = p;
            let x = h.hash(&k);
            buckets[(x & 63) as usize] += 1;
            tags.insert(x >> 57);
        }
        assert!(
            buckets.iter().all(|&n| (800..1200).contains(&n)),
            "{buckets:?}"
        );
        assert_eq!(tags.len(), 128);
    }

    #[test]
    fn endpoint_round_trips_addresses() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9));
        assert_eq!(Endpoint::new(v4, 1).ip(4), v4);
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(v4);
        assert_eq!(Endpoint::new(v6, 1).ip(6), v6);
    }
}
