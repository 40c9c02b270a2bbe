//! Ethernet II / 802.3 LLC-SNAP, 802.1Q/802.1ad tag stacks and the EtherType
//! dispatch shared by every framing that names its payload by EtherType.
//!
//! Invariants: only the outermost Ethernet header sets the MACs and only the
//! outermost VLAN tag sets `vlan_id`; at most [`MAX_VLAN_TAGS`] tags are
//! followed per Ethernet header.

use super::{TRUNC, mpls, ppp};
use crate::bytes::{be16, hdr};
use crate::error::{DissectError, Layer};
use crate::{Ctx, Res, ip};
use etherparse::{Ethernet2HeaderSlice, SingleVlanHeaderSlice};

/// EtherType IPv4.
pub(crate) const ET_IPV4: u16 = 0x0800;
/// EtherType IPv6.
pub(crate) const ET_IPV6: u16 = 0x86dd;
/// EtherType 802.1Q customer tag.
pub(crate) const ET_VLAN: u16 = 0x8100;
/// EtherType 802.1ad service tag.
pub(crate) const ET_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ EtherTypes.
const ET_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
/// EtherType MPLS unicast.
pub(crate) const ET_MPLS: u16 = 0x8847;
/// EtherType MPLS multicast.
pub(crate) const ET_MPLS_MC: u16 = 0x8848;
/// EtherType PPPoE session stage.
pub(crate) const ET_PPPOE: u16 = 0x8864;
/// Transparent Ethernet Bridging (Ethernet inside GRE/Geneve).
pub(crate) const ET_TEB: u16 = 0x6558;
/// Cisco VN-Tag: 4-byte tag, then the next EtherType.
const ET_VNTAG: u16 = 0x8926;
/// IEEE 802.1BR E-Tag: 6-byte tag, then the next EtherType.
const ET_ETAG: u16 = 0x893f;
/// Cisco FabricPath: 2 bytes (FTag, TTL), then a complete inner Ethernet frame.
const ET_FABRICPATH: u16 = 0x8903;
/// IEEE 802.1ah provider backbone bridging I-TAG: 4 bytes (flags, I-SID),
/// then a complete customer Ethernet frame.
const ET_PBB_ITAG: u16 = 0x88e7;

/// Maximum tags (VLAN, VN-Tag, E-Tag) followed in one Ethernet header.
pub(crate) const MAX_VLAN_TAGS: u8 = 8;

/// True for the EtherTypes of VLAN tags.
#[inline]
fn is_vlan(et: u16) -> bool {
    et == ET_VLAN || et == ET_QINQ || ET_QINQ_OLD.contains(&et)
}

/// Length of a tag that sits between an EtherType and the next one,
/// including that next EtherType; `None` when `et` is not such a tag.
#[inline]
fn tag_len(et: u16) -> Option<usize> {
    match et {
        ET_VNTAG => Some(6),
        ET_ETAG => Some(8),
        et if is_vlan(et) => Some(4),
        _ => None,
    }
}

/// Ethernet II (or 802.3 with LLC/SNAP) at `frame[off..]`.
pub(crate) fn ethernet(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let eth =
        Ethernet2HeaderSlice::from_slice(frame.get(off..).unwrap_or(&[])).map_err(|_| TRUNC)?;
    if !ctx.have_mac {
        ctx.have_mac = true;
        ctx.out.src_mac = eth.source();
        ctx.out.dst_mac = eth.destination();
    }
    let et = eth.ether_type().0;
    let off = off + 14;
    if et < 0x0600 {
        // 802.3 length field: an LLC header follows.
        return llc(ctx, frame, off);
    }
    ethertype(ctx, et, frame, off)
}

/// 802.2 LLC; only SNAP with an EtherType leads anywhere.
pub(crate) fn llc(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<3>(frame, off).ok_or(TRUNC)?;
    if h[0] != 0xaa || h[1] != 0xaa || h[2] != 0x03 {
        return Err(DissectError::NotIp(0));
    }
    let s = hdr::<5>(frame, off + 3).ok_or(TRUNC)?;
    ethertype(ctx, be16(s[3], s[4]), frame, off + 8)
}

/// Dispatch `frame[off..]` by EtherType `et`.
pub(crate) fn ethertype(ctx: &mut Ctx, et: u16, frame: &[u8], off: usize) -> Res {
    match et {
        ET_IPV4 => ip::ipv4(ctx, frame, off),
        ET_IPV6 => ip::ipv6(ctx, frame, off),
        ET_MPLS | ET_MPLS_MC => mpls::mpls(ctx, frame, off),
        ET_PPPOE => ppp::pppoe(ctx, frame, off),
        // Only reachable from tunnels, which already count one nesting level.
        ET_TEB => ethernet(ctx, frame, off),
        // Provider/fabric encapsulations carrying a whole inner frame: one
        // nesting level each, so alternating stacks stay bounded.
        ET_FABRICPATH => {
            hdr::<2>(frame, off).ok_or(TRUNC)?;
            ctx.nested(|ctx| ethernet(ctx, frame, off + 2))
        }
        ET_PBB_ITAG => {
            hdr::<4>(frame, off).ok_or(TRUNC)?;
            ctx.nested(|ctx| ethernet(ctx, frame, off + 4))
        }
        et if tag_len(et).is_some() => tags(ctx, et, frame, off),
        other => Err(DissectError::NotIp(other)),
    }
}

/// A stack of VLAN / VN-Tag / E-Tag tags starting at `frame[off..]`, the
/// first of type `et`. Only VLAN tags count in `vlan_depth`/`vlan_id`.
fn tags(ctx: &mut Ctx, mut et: u16, frame: &[u8], mut off: usize) -> Res {
    let mut n = 0u8;
    while let Some(len) = tag_len(et) {
        if n >= MAX_VLAN_TAGS {
            return Err(DissectError::TooDeep);
        }
        n += 1;
        if is_vlan(et) {
            let tag = SingleVlanHeaderSlice::from_slice(frame.get(off..).unwrap_or(&[]))
                .map_err(|_| DissectError::Truncated(Layer::Vlan))?;
            if ctx.out.vlan_depth == 0 {
                ctx.out.vlan_id = tag.vlan_identifier().value();
            }
            ctx.out.vlan_depth = ctx.out.vlan_depth.saturating_add(1);
            et = tag.ether_type().0;
        } else {
            let next =
                hdr::<2>(frame, off + len - 2).ok_or(DissectError::Truncated(Layer::Vlan))?;
            et = be16(next[0], next[1]);
        }
        off += len;
    }
    ethertype(ctx, et, frame, off)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype::ETHERNET;
    use crate::testutil::*;

    fn tagged(tags: &[(u16, u16)], et: u16, payload: &[u8]) -> Vec<u8> {
        // tags: (tpid, vid); the first tpid goes in the Ethernet header.
        let mut body = Vec::new();
        for (i, (_, vid)) in tags.iter().enumerate() {
            body.extend_from_slice(&vid.to_be_bytes());
            let next = tags.get(i + 1).map(|t| t.0).unwrap_or(et);
            body.extend_from_slice(&next.to_be_bytes());
        }
        body.extend_from_slice(payload);
        eth(tags[0].0, &body)
    }

    #[test]
    fn single_vlan() {
        let f = tagged(&[(ET_VLAN, 0x2064)], ET_IPV4, &ipv4(17, &udp(1, 2, b"")));
        let s = ok(ETHERNET, &f);
        assert_eq!((s.vlan_id, s.vlan_depth, s.dst_port), (0x064, 1, 2));
        check_truncations(ETHERNET, &f);
    }

    #[test]
    fn qinq_keeps_outer_vlan() {
        let f = tagged(
            &[(ET_QINQ, 100), (ET_VLAN, 200)],
            ET_IPV6,
            &ipv6(17, &udp(1, 2, b"")),
        );
        let s = ok(ETHERNET, &f);
        assert_eq!((s.vlan_id, s.vlan_depth, s.ip_version), (100, 2, 6));
        let old = tagged(
            &[(0x9100, 7), (ET_VLAN, 8), (ET_VLAN, 9)],
            ET_IPV4,
            &ipv4(1, &[8, 0, 0, 0, 0, 0, 0, 0]),
        );
        assert_eq!(ok(ETHERNET, &old).vlan_depth, 3);
    }

    #[test]
    fn too_many_vlan_tags() {
        let tags: Vec<(u16, u16)> = (0..9).map(|i| (ET_VLAN, i)).collect();
        let f = tagged(&tags, ET_IPV4, &ipv4(17, &udp(1, 2, b"")));
        assert_eq!(run(ETHERNET, &f), Err(DissectError::TooDeep));
        let tags: Vec<(u16, u16)> = (0..8).map(|i| (ET_VLAN, i)).collect();
        let f = tagged(&tags, ET_IPV4, &ipv4(17, &udp(1, 2, b"")));
        assert_eq!(ok(ETHERNET, &f).vlan_depth, 8);
    }

    /// VN-Tag between two VLAN tags (bytes as in Zeek's vntag_vlan_sandwich
    /// trace), and a VN-Tag before a VLAN tag (suricata-verify decode-vntag).
    #[test]
    fn vntag_sandwich() {
        let ip = ipv4(6, &tcp(443, 56960, 0x12, &[], b""));
        let mut body = vec![0x00, 0xfa, 0x89, 0x26, 0x00, 0x00, 0x00, 0x33];
        body.extend_from_slice(&[0x81, 0x00, 0x00, 0xfa, 0x08, 0x00]);
        body.extend_from_slice(&ip);
        let f = eth(ET_VLAN, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.vlan_id, s.vlan_depth, s.src_port), (250, 2, 443));
        assert_eq!(s.payload_offset as usize, 14 + 4 + 6 + 4 + 20 + 20);
        check_truncations(ETHERNET, &f);
        let mut body = vec![0x00, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x0b, 0x08, 0x00];
        body.extend_from_slice(&ip);
        let f = eth(ET_VNTAG, &body);
        assert_eq!(ok(ETHERNET, &f).vlan_id, 11);
        check_truncations(ETHERNET, &f);
    }

    /// 802.1BR E-Tag, bytes from suricata-verify decode-etag-01.
    #[test]
    fn etag() {
        let mut body = vec![0x10, 0x00, 0x00, 0xd3, 0x00, 0x00, 0x08, 0x00];
        body.extend_from_slice(&ipv4(6, &tcp(443, 52566, 0x10, &[], b"x")));
        let f = eth(ET_ETAG, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.vlan_depth, s.protocol, s.src_port), (0, 6, 443));
        assert_eq!(s.payload(&f), b"x");
        check_truncations(ETHERNET, &f);
    }

    /// Tags of all kinds count against one bound.
    #[test]
    fn mixed_tag_stack_is_bounded() {
        let mut body = Vec::new();
        for _ in 0..5 {
            body.extend_from_slice(&[0x00, 0x00, 0x00, 0x00, 0x89, 0x3f]); // VN-Tag → E-Tag
            body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x89, 0x26]); // E-Tag → VN-Tag
        }
        body.extend_from_slice(&ipv4(17, &udp(1, 2, b"")));
        assert_eq!(
            run(ETHERNET, &eth(ET_VNTAG, &body)),
            Err(DissectError::TooDeep)
        );
    }

    /// Cisco FabricPath: outer MACs, 0x8903, FTag/TTL, inner Ethernet frame
    /// (layout of Zeek's cisco-fabric-path trace).
    #[test]
    fn fabricpath() {
        let mut body = vec![0x00, 0x00];
        body.extend_from_slice(&[0x63, 0x93, 0x70, 0xb7, 0xc7, 0x0c]);
        body.extend_from_slice(&[0x1a, 0xac, 0xfa, 0xe2, 0xa8, 0xf4, 0x08, 0x00]);
        body.extend_from_slice(&ipv4(17, &udp(0xdead, 0xbeef, b"")));
        let f = eth(ET_FABRICPATH, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.src_mac, s.dst_port), (SRC_MAC, 0xbeef));
        check_truncations(ETHERNET, &f);
        // Inner frame carrying ARP: still not IP.
        let mut arp = vec![0x00, 0x00];
        arp.extend_from_slice(&[0x11; 12]);
        arp.extend_from_slice(&[0x08, 0x06]);
        arp.extend_from_slice(&[0; 28]);
        assert_eq!(
            run(ETHERNET, &eth(ET_FABRICPATH, &arp)),
            Err(DissectError::NotIp(0x0806))
        );
    }

    /// 802.1ah PBB: B-VLAN, I-TAG, customer frame (layout of Zeek's pbb trace).
    #[test]
    fn pbb_itag() {
        let mut body = vec![0xef, 0xd3, 0x88, 0xe7, 0x00, 0x1e, 0xbb, 0x30];
        body.extend_from_slice(&[0x00, 0x1c, 0xeb, 0xaf, 0x52, 0x05]);
        body.extend_from_slice(&[0x00, 0x1c, 0xeb, 0xaf, 0x52, 0x01, 0x08, 0x00]);
        body.extend_from_slice(&ipv4(6, &tcp(49601, 49416, 0x02, &[], b"")));
        let f = eth(ET_VLAN, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.vlan_id, s.src_port, s.tcp.flags), (0xfd3, 49601, 0x02));
        check_truncations(ETHERNET, &f);
        // Nested I-TAGs are bounded by the nesting depth.
        let mut deep = Vec::new();
        for _ in 0..10 {
            deep.extend_from_slice(&[0, 0, 0, 0]);
            deep.extend_from_slice(&[0x11; 12]);
            deep.extend_from_slice(&ET_PBB_ITAG.to_be_bytes());
        }
        assert_eq!(
            run(ETHERNET, &eth(ET_PBB_ITAG, &deep)),
            Err(DissectError::TooDeep)
        );
    }

    #[test]
    fn llc_snap_and_non_ip() {
        let ip = ipv4(17, &udp(1, 2, b""));
        let mut body = vec![0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
        body.extend_from_slice(&ip);
        let f = eth(body.len() as u16, &body);
        assert_eq!(ok(ETHERNET, &f).dst_port, 2);
        // STP over 802.2 LLC.
        let stp = eth(38, &[0x42, 0x42, 0x03, 0, 0, 0]);
        assert_eq!(run(ETHERNET, &stp), Err(DissectError::NotIp(0)));
        let arp = eth(0x0806, &[0; 28]);
        assert_eq!(run(ETHERNET, &arp), Err(DissectError::NotIp(0x0806)));
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut f = eth(ET_IPV4, &ipv4(17, &udp(1, 2, b"ab")));
        f.resize(60, 0xee);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.ip_len, s.l4_payload_len, s.payload_captured), (30, 2, 2));
    }

    #[test]
    fn pppoe_session() {
        let ip = ipv4(6, &tcp(1, 80, 0x02, &[], b""));
        let mut body = vec![0x11, 0x00, 0x12, 0x34];
        body.extend_from_slice(&((ip.len() + 2) as u16).to_be_bytes());
        body.extend_from_slice(&[0x00, 0x21]);
        body.extend_from_slice(&ip);
        let f = eth(ET_PPPOE, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.protocol, s.dst_port, s.tcp.flags), (6, 80, 0x02));
        check_truncations(ETHERNET, &f);
        let lcp = eth(ET_PPPOE, &[0x11, 0, 0, 1, 0, 2, 0xc0, 0x21]);
        assert_eq!(run(ETHERNET, &lcp), Err(DissectError::NotIp(ET_PPPOE)));
        let bad = eth(ET_PPPOE, &[0x21, 0, 0, 1, 0, 2, 0x00, 0x21]);
        assert_eq!(
            run(ETHERNET, &bad),
            Err(DissectError::Malformed(Layer::Pppoe))
        );
    }
}
