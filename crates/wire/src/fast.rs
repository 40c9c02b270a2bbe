//! Flow fields of the common packet without a full dissection.
//!
//! [`fast_tuple`] recognises the packets that make up most traffic (an
//! untagged Ethernet frame carrying an unfragmented IPv4 or IPv6 packet with
//! a complete TCP or UDP header, no IPv6 extension header, nothing that could
//! be a tunnel) and reads their flow fields directly. Everything else gets
//! `None`, and the caller dissects the frame as usual. A sharded flow meter
//! uses it to pick a packet's worker on the reading thread and leave the
//! full [`crate::dissect`] to the worker.
//!
//! Contract (tested against `dissect` on crafted, mutated and real frames):
//! when `fast_tuple` returns `Some(t)`, `dissect` of the same frame succeeds
//! and its summary has the same IP version, addresses, protocol and ports,
//! VLAN id 0 and tunnel id 0; it also succeeds, with the same fields, on the
//! frame cut after `t.header_end` bytes or anywhere beyond. So the choice is
//! deliberately conservative: any condition under which the dissector could
//! fail, follow a tunnel or read the ports elsewhere declines.

use std::net::{IpAddr, Ipv6Addr};

use crate::bytes::{be16, hdr};
use crate::linktype;
use crate::transport::{heuristic_tunnel_candidate, is_tunnel_port};

/// Flow fields of a plain TCP or UDP packet (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FastTuple {
    /// 4 or 6.
    pub ip_version: u8,
    /// Source address as 16 bytes (IPv4 mapped into `::ffff:a.b.c.d`, the
    /// layout of flow keys; plain bytes keep the reading thread's hash cheap).
    pub src_addr: [u8; 16],
    /// Destination address, like `src_addr`.
    pub dst_addr: [u8; 16],
    /// 6 (TCP) or 17 (UDP).
    pub protocol: u8,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Offset just past the TCP or UDP header: the bytes `dissect` needs.
    pub header_end: usize,
}

impl FastTuple {
    /// The source address.
    pub fn src_ip(&self) -> IpAddr {
        addr(self.ip_version, self.src_addr)
    }

    /// The destination address.
    pub fn dst_ip(&self) -> IpAddr {
        addr(self.ip_version, self.dst_addr)
    }
}

/// An address of `FastTuple` back as an `IpAddr`.
fn addr(ip_version: u8, a: [u8; 16]) -> IpAddr {
    let v6 = Ipv6Addr::from(a);
    match v6.to_ipv4_mapped() {
        Some(v4) if ip_version == 4 => IpAddr::V4(v4),
        _ => IpAddr::V6(v6),
    }
}

/// `a.b.c.d` as `::ffff:a.b.c.d`.
#[inline(always)]
fn mapped(b: &[u8; 4]) -> [u8; 16] {
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, b[0], b[1], b[2], b[3],
    ]
}

/// Flow fields of `frame` if it is a plain untagged-Ethernet TCP/UDP packet
/// over unfragmented IPv4 or extension-free IPv6, else `None`.
///
/// Always inlined: it runs once per packet on the reading thread, and
/// returning the tuple through memory from a call cost more than its work.
#[inline(always)]
pub fn fast_tuple(linktype: u32, frame: &[u8]) -> Option<FastTuple> {
    if linktype != linktype::ETHERNET {
        return None;
    }
    let eth = hdr::<14>(frame, 0)?;
    match be16(eth[12], eth[13]) {
        0x0800 => {
            let h = hdr::<20>(frame, 14)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let total = usize::from(be16(h[2], h[3]));
            // Version 4, a sane header length, a declared total length (0
            // means "take the capture length", as segmentation offload
            // writes), not a fragment (MF clear, offset 0).
            if h[0] >> 4 != 4 || ihl < 20 || total < ihl || be16(h[6], h[7]) & 0x3fff != 0 {
                return None;
            }
            let end = 14 + total.min(frame.len() - 14);
            let l4 = 14 + ihl;
            let src = mapped(&[h[12], h[13], h[14], h[15]]);
            let dst = mapped(&[h[16], h[17], h[18], h[19]]);
            l4_tuple(frame, 4, src, dst, h[9], l4, end)
        }
        0x86dd => {
            let h = hdr::<40>(frame, 14)?;
            let payload = usize::from(be16(h[4], h[5]));
            if h[0] >> 4 != 6 || payload == 0 {
                return None;
            }
            let end = 14 + (40 + payload).min(frame.len() - 14);
            let src = *hdr::<16>(h, 8)?;
            let dst = *hdr::<16>(h, 24)?;
            l4_tuple(frame, 6, src, dst, h[6], 14 + 40, end)
        }
        _ => None,
    }
}

/// The TCP/UDP part of [`fast_tuple`]: `frame[l4..end]` is the captured transport segment.
#[inline(always)]
fn l4_tuple(
    frame: &[u8],
    ip_version: u8,
    src_addr: [u8; 16],
    dst_addr: [u8; 16],
    protocol: u8,
    l4: usize,
    end: usize,
) -> Option<FastTuple> {
    let seg = frame.get(l4..end)?;
    let (src_port, dst_port, hlen) = match protocol {
        6 => {
            let t = hdr::<20>(seg, 0)?;
            let hlen = usize::from(t[12] >> 4) * 4;
            if hlen < 20 || hlen > seg.len() {
                return None;
            }
            (be16(t[0], t[1]), be16(t[2], t[3]), hlen)
        }
        17 => {
            let u = hdr::<8>(seg, 0)?;
            let (sp, dp) = (be16(u[0], u[1]), be16(u[2], u[3]));
            if is_tunnel_port(sp, dp) || heuristic_tunnel_candidate(seg, 8) {
                return None;
            }
            (sp, dp, 8)
        }
        _ => return None,
    };
    Some(FastTuple {
        ip_version,
        src_addr,
        dst_addr,
        protocol,
        src_port,
        dst_port,
        header_end: l4 + hlen,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PacketSummary;
    use crate::testutil::*;

    /// The contract of the module docs, for one frame; returns whether the fast path answered.
    fn check(frame: &[u8]) -> bool {
        let Some(t) = fast_tuple(linktype::ETHERNET, frame) else {
            return false;
        };
        for cut in [
            frame.len(),
            t.header_end,
            t.header_end + 1,
            t.header_end + 7,
        ] {
            let f = &frame[..cut.min(frame.len())];
            let mut s = PacketSummary::default();
            let r = crate::dissect(linktype::ETHERNET, f, &mut s);
            assert!(r.is_ok(), "{r:?} for {frame:02x?} cut at {cut}");
            assert_eq!(
                (
                    s.ip_version,
                    s.src_ip,
                    s.dst_ip,
                    s.protocol,
                    s.src_port,
                    s.dst_port,
                    s.vlan_id,
                    s.tunnel_id
                ),
                (
                    t.ip_version,
                    t.src_ip(),
                    t.dst_ip(),
                    t.protocol,
                    t.src_port,
                    t.dst_port,
                    0,
                    0
                ),
                "{frame:02x?} cut at {cut}"
            );
        }
        true
    }

    fn frames() -> Vec<Vec<u8>> {
        let mut v = vec![
            eth(0x0800, &ipv4(6, &tcp(40000, 443, 0x18, &[], b"data"))),
            eth(0x0800, &ipv4(6, &tcp(1, 2, 0x02, &[2, 4, 5, 180], b""))),
            eth(0x0800, &ipv4(17, &udp(5353, 53, b"\x12\x34query"))),
            eth(0x86dd, &ipv6(6, &tcp(40000, 443, 0x10, &[], b"x"))),
            eth(0x86dd, &ipv6(17, &udp(40000, 443, b"\xc0quic"))),
        ];
        // Look-alikes the fast path must decline: tunnel ports (Teredo's 3544
        // is no trigger by itself, its payload test is), Teredo and
        // off-port GTP-U candidates, extension headers, fragments, VLANs.
        for (sp, dp) in [
            (1, 4789),
            (1, 6081),
            (2152, 1),
            (5072, 9),
            (5247, 1),
            (1, 4754),
        ] {
            v.push(eth(0x0800, &ipv4(17, &udp(sp, dp, b"\x08\0\0\0\0\0\0\0"))));
        }
        v.push(eth(0x0800, &ipv4(17, &udp(9, 9, b"\x60\0\0\0"))));
        v.push(eth(0x0800, &ipv4(17, &udp(9, 9, b"\0\x01"))));
        v.push(eth(0x0800, &ipv4(17, &udp(9, 9, b"\x30\xff\0\x04"))));
        v.push(eth(0x86dd, &ipv6(0, &[6, 0, 1, 4, 0, 0, 0, 0])));
        let mut frag = eth(0x0800, &ipv4(17, &udp(9, 9, b"abc")));
        frag[14 + 6] = 0x20;
        v.push(frag);
        v
    }

    #[test]
    fn plain_packets_match_the_dissector_and_tunnels_decline() {
        let f = frames();
        let answered: Vec<bool> = f.iter().map(|x| check(x)).collect();
        assert_eq!(&answered[..5], &[true; 5]);
        assert!(answered[5..].iter().all(|a| !a), "{answered:?}");
        // Other link types and VLAN tags are left to the dissector.
        assert!(fast_tuple(linktype::RAW, &f[0][14..]).is_none());
        let mut tagged = f[0][..12].to_vec();
        tagged.extend_from_slice(&[0x81, 0, 0, 5]);
        tagged.extend_from_slice(&f[0][12..]);
        assert!(fast_tuple(linktype::ETHERNET, &tagged).is_none());
    }

    #[test]
    fn mutated_frames_keep_the_contract() {
        // Byte mutations of every frame above (seeded xorshift): wherever the
        // fast path answers, the dissector agrees; a good share still answers.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut answered = 0;
        let mut total = 0;
        for base in frames() {
            for _ in 0..4000 {
                let mut f = base.clone();
                for _ in 0..1 + (x % 3) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x % f.len() as u64) as usize;
                    f[i] = (x >> 32) as u8;
                }
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if x.is_multiple_of(5) {
                    f.truncate((x >> 40) as usize % (f.len() + 1));
                }
                answered += usize::from(check(&f));
                total += 1;
            }
        }
        assert!(answered > total / 5, "{answered} of {total}");
    }
}
