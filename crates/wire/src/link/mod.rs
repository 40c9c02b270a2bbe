//! Link-layer decoders, one file per framing, and the link-type dispatch.
//!
//! Each decoder consumes its header and hands the rest of the frame to the
//! EtherType dispatch ([`ethernet::ethertype`]) or straight to the IP layer.
//! etherparse covers Ethernet II and VLAN tags (used in `ethernet.rs`), but
//! not null/loop, PPP, HDLC, SLL2, NFLOG, PPI, radiotap or 802.11 data
//! frames, so those small headers are decoded here by hand.

pub(crate) mod ethernet;
pub(crate) mod mpls;
pub(crate) mod nflog;
pub(crate) mod null;
pub(crate) mod ppp;
pub(crate) mod sll;
pub(crate) mod wlan;

use crate::error::{DissectError, Layer};
use crate::linktype as lt;
use crate::{Ctx, Res, ip};

/// Decode `frame[off..]` as a frame of link type `linktype`.
pub(crate) fn dissect_link(ctx: &mut Ctx, linktype: u32, frame: &[u8], off: usize) -> Res {
    match linktype {
        lt::ETHERNET => ethernet::ethernet(ctx, frame, off),
        lt::RAW | lt::RAW_LEGACY_12 | lt::RAW_LEGACY_14 => ip::ip_by_version(ctx, frame, off),
        lt::IPV4 => ip::ipv4(ctx, frame, off),
        lt::IPV6 => ip::ipv6(ctx, frame, off),
        lt::NULL | lt::LOOP => null::null(ctx, frame, off),
        lt::PPP | lt::PPP_HDLC => ppp::ppp(ctx, frame, off),
        lt::C_HDLC => ppp::cisco_hdlc(ctx, frame, off),
        lt::LINUX_SLL => sll::sll(ctx, frame, off),
        lt::LINUX_SLL2 => sll::sll2(ctx, frame, off),
        lt::NFLOG => nflog::nflog(ctx, frame, off),
        lt::PPI => wlan::ppi(ctx, frame, off),
        lt::IEEE802_11 => wlan::ieee80211(ctx, frame, off),
        lt::IEEE802_11_RADIOTAP => wlan::radiotap(ctx, frame, off),
        other => Err(DissectError::UnsupportedLinkType(other)),
    }
}

/// Shorthand for a truncated link header.
pub(crate) const TRUNC: DissectError = DissectError::Truncated(Layer::Link);
/// Shorthand for a malformed link header.
pub(crate) const BAD: DissectError = DissectError::Malformed(Layer::Link);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn v4_udp() -> Vec<u8> {
        ipv4(17, &udp(1234, 53, b"abcd"))
    }

    fn assert_v4_udp(s: &crate::PacketSummary) {
        assert_eq!(s.ip_version, 4);
        assert_eq!(s.src_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(s.dst_ip, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(
            (s.protocol, s.src_port, s.dst_port, s.ports_known),
            (17, 1234, 53, true)
        );
        assert_eq!(
            (s.l4_header_len, s.l4_payload_len, s.payload_captured),
            (8, 4, 4)
        );
    }

    /// Decode, check the inner IPv4/UDP packet and every truncation.
    fn check(lt: u32, frame: &[u8]) -> crate::PacketSummary {
        let s = ok(lt, frame);
        assert_v4_udp(&s);
        assert_eq!(&frame[s.payload_offset as usize..][..4], b"abcd");
        check_truncations(lt, frame);
        s
    }

    #[test]
    fn ethernet() {
        let s = check(lt::ETHERNET, &eth_v4_udp());
        assert_eq!((s.src_mac, s.dst_mac), (SRC_MAC, DST_MAC));
        assert_eq!(s.payload_offset, 14 + 20 + 8);
    }

    #[test]
    fn raw_ip_variants() {
        for l in [lt::RAW, lt::RAW_LEGACY_12, lt::RAW_LEGACY_14, lt::IPV4] {
            check(l, &v4_udp());
        }
        let v6 = ipv6(17, &udp(1, 2, b"x"));
        for l in [lt::RAW, lt::IPV6] {
            assert_eq!(ok(l, &v6).ip_version, 6);
        }
        assert_eq!(run(lt::RAW, &[0x50; 40]), Err(DissectError::NotIp(0)));
        assert_eq!(
            run(lt::IPV4, &v6),
            Err(DissectError::Malformed(Layer::Ipv4))
        );
    }

    #[test]
    fn null_and_loop_both_byte_orders() {
        for (l, fam) in [
            (lt::NULL, 2u32.to_le_bytes()),
            (lt::NULL, 2u32.to_be_bytes()),
            (lt::LOOP, 2u32.to_be_bytes()),
        ] {
            check(l, &[&fam[..], &v4_udp()].concat());
        }
        for fam in [24u32, 28, 30] {
            let f = [&fam.to_le_bytes()[..], &ipv6(59, &[])].concat();
            assert_eq!(ok(lt::NULL, &f).ip_version, 6);
        }
        assert_eq!(
            run(lt::NULL, &[7, 0, 0, 0, 0x45]),
            Err(DissectError::NotIp(0))
        );
    }

    #[test]
    fn ppp_framings() {
        check(
            lt::PPP,
            &[&[0xff, 0x03, 0x00, 0x21][..], &v4_udp()].concat(),
        );
        check(lt::PPP, &[&[0x00, 0x21][..], &v4_udp()].concat());
        check(lt::PPP_HDLC, &[&[0xff, 0x03, 0x21][..], &v4_udp()].concat());
        // Cisco HDLC frames written with the PPP link type (nDPI's
        // BGP_Cisco_hdlc_slarp.pcap).
        check(
            lt::PPP,
            &[&[0x0f, 0x00, 0x08, 0x00][..], &v4_udp()].concat(),
        );
        check(
            lt::PPP_HDLC,
            &[&[0x8f, 0x00, 0x08, 0x00][..], &v4_udp()].concat(),
        );
        // SLARP (0x8035) is not IP.
        assert_eq!(
            run(lt::PPP, &[0x8f, 0x00, 0x80, 0x35, 0, 0, 0, 0]),
            Err(DissectError::NotIp(0x8035))
        );
        let lcp = [0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4];
        assert_eq!(run(lt::PPP, &lcp), Err(DissectError::NotIp(0)));
    }

    #[test]
    fn cisco_hdlc() {
        check(
            lt::C_HDLC,
            &[&[0x0f, 0x00, 0x08, 0x00][..], &v4_udp()].concat(),
        );
        assert_eq!(run(lt::C_HDLC, &[0x42, 0, 8, 0]), Err(BAD));
    }

    #[test]
    fn linux_sll_v1_v2() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&v4_udp());
        check(lt::LINUX_SLL, &sll);
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(&v4_udp());
        check(lt::LINUX_SLL2, &sll2);
        // Netlink capture: not IP even with an IP-looking protocol field.
        let mut nl = vec![0, 0, 0x03, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00];
        nl.extend_from_slice(&v4_udp());
        assert_eq!(run(lt::LINUX_SLL, &nl), Err(DissectError::NotIp(0)));
    }

    #[test]
    fn nflog_tlv_walk() {
        let pkt = v4_udp();
        let mut f = vec![2, 0, 0, 0];
        // A prefix TLV (type 1, 8 bytes), then a 5-byte TLV padded to 8.
        f.extend_from_slice(&[8, 0, 1, 0, 0x08, 0x00, 3, 0]);
        f.extend_from_slice(&[5, 0, 10, 0, b'p', 0, 0, 0]);
        f.extend_from_slice(&((pkt.len() + 4) as u16).to_le_bytes());
        f.extend_from_slice(&9u16.to_le_bytes());
        f.extend_from_slice(&pkt);
        check(lt::NFLOG, &f);
        // Big-endian TLV header (capture from a big-endian host).
        let mut b = vec![2, 0, 0, 0];
        b.extend_from_slice(&((pkt.len() + 4) as u16).to_be_bytes());
        b.extend_from_slice(&9u16.to_be_bytes());
        b.extend_from_slice(&pkt);
        check(lt::NFLOG, &b);
        // Zero-length TLV is malformed, not an endless loop.
        assert_eq!(run(lt::NFLOG, &[2, 0, 0, 0, 0, 0, 9, 0]), Err(BAD));
    }

    #[test]
    fn ppi_with_ethernet_and_raw() {
        let mut f = vec![0, 0, 8, 0, 1, 0, 0, 0];
        f.extend_from_slice(&eth_v4_udp());
        check(lt::PPI, &f);
        let mut r = vec![0, 0, 8, 0, 101, 0, 0, 0];
        r.extend_from_slice(&v4_udp());
        check(lt::PPI, &r);
        // PPI inside PPI is refused.
        assert_eq!(
            run(lt::PPI, &[0, 0, 8, 0, 192, 0, 0, 0, 0, 0, 8, 0, 1, 0, 0, 0]),
            Err(BAD)
        );
    }

    fn wlan_data(qos: bool, protected: bool) -> Vec<u8> {
        let fc0 = if qos { 0x88 } else { 0x08 };
        let fc1 = if protected { 0x41 } else { 0x01 };
        let mut f = vec![fc0, fc1, 0, 0];
        f.extend_from_slice(&[0x11; 18]); // three addresses
        f.extend_from_slice(&[0, 0]); // sequence control
        if qos {
            f.extend_from_slice(&[0, 0]);
        }
        f.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        f.extend_from_slice(&v4_udp());
        f
    }

    #[test]
    fn ieee80211_and_radiotap() {
        check(lt::IEEE802_11, &wlan_data(false, false));
        check(lt::IEEE802_11, &wlan_data(true, false));
        assert_eq!(
            run(lt::IEEE802_11, &wlan_data(false, true)),
            Err(DissectError::NotIp(0))
        );
        // Beacon (management) frame.
        assert_eq!(
            run(lt::IEEE802_11, &[0x80, 0, 0, 0]),
            Err(DissectError::NotIp(0))
        );
        let mut rt = vec![0, 0, 12, 0, 0x04, 0, 0, 0, 0, 0, 0, 0];
        rt.extend_from_slice(&wlan_data(true, false));
        check(lt::IEEE802_11_RADIOTAP, &rt);
    }

    #[test]
    fn unsupported_link_type() {
        assert_eq!(
            run(999, &eth_v4_udp()),
            Err(DissectError::UnsupportedLinkType(999))
        );
        assert_eq!(run(lt::ETHERNET, &[]), Err(TRUNC));
    }

    /// Random frames for every link type: never a panic (xorshift, fixed seed).
    #[test]
    fn random_bytes_every_link_type() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut buf = [0u8; 160];
        for _ in 0..20_000 {
            let len = (next() % 160) as usize;
            for b in buf.iter_mut().take(len) {
                *b = next() as u8;
            }
            // Bias towards plausible starts so deeper layers are reached.
            if len > 20 && next() % 2 == 0 {
                buf[12] = 0x08;
                buf[13] = 0x00;
                buf[14] = 0x45;
            }
            for l in crate::linktype::SUPPORTED {
                let _ = run(l, &buf[..len]);
            }
        }
    }
}
