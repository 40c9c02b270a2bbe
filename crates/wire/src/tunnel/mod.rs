//! Tunnel decoders. etherparse has no GRE, ERSPAN, VXLAN, Geneve, GTP-U,
//! Teredo, AYIYA or CAPWAP support, so each header is decoded here in a few lines.
//!
//! Invariants: every decoder validates its header before touching the
//! summary's tunnel fields, sets `tunnel`/`tunnel_id` for the tunnel it
//! enters, and then decodes the payload. Decoders are called through
//! [`crate::Ctx::try_inner`], so any failure restores the outer packet.
//! IP-in-IP (protocols 4/41) is handled directly in `transport.rs`.

pub(crate) mod ayiya;
pub(crate) mod capwap;
pub(crate) mod geneve;
pub(crate) mod gre;
pub(crate) mod gtp;
pub(crate) mod teredo;
pub(crate) mod vxlan;

use crate::error::{DissectError, Layer};

/// Shorthand for a truncated tunnel header.
pub(crate) const TRUNC: DissectError = DissectError::Truncated(Layer::Tunnel);
/// Shorthand for a malformed tunnel header.
pub(crate) const BAD: DissectError = DissectError::Malformed(Layer::Tunnel);

#[cfg(test)]
mod tests {
    use crate::linktype::{ETHERNET, RAW};
    use crate::testutil::*;
    use crate::{DissectError, FragInfo, OuterFragment, PacketSummary, TunnelKind, tcp_flags};
    use std::net::IpAddr;

    /// Inner Ethernet frame: IPv6 TCP 1111 → 80 SYN.
    fn inner_eth() -> Vec<u8> {
        let mut f = vec![0x0a, 1, 1, 1, 1, 1, 0x0a, 2, 2, 2, 2, 2, 0x86, 0xdd];
        f.extend_from_slice(&ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in")));
        f
    }

    fn inner_v4() -> Vec<u8> {
        ipv4(6, &tcp(2222, 443, tcp_flags::ACK, &[], b"in"))
    }

    fn over_udp(dp: u16, payload: &[u8]) -> Vec<u8> {
        eth(0x0800, &ipv4(17, &udp(50000, dp, payload)))
    }

    fn assert_inner_v6(s: &PacketSummary) {
        assert_eq!(
            (s.ip_version, s.protocol, s.src_port, s.dst_port),
            (6, 6, 1111, 80)
        );
        assert_eq!(s.tcp.flags, tcp_flags::SYN);
        assert_eq!((s.l4_payload_len, s.payload_captured), (2, 2));
    }

    fn assert_inner_v4(s: &PacketSummary) {
        assert_eq!(
            (s.ip_version, s.protocol, s.src_port, s.dst_port),
            (4, 6, 2222, 443)
        );
    }

    /// Decode, check tunnel kind/id, outer MACs and every truncation.
    fn tunnel(lt: u32, f: &[u8], kind: TunnelKind, id: u32) -> PacketSummary {
        let s = ok(lt, f);
        assert_eq!((s.tunnel, s.tunnel_id), (kind, id));
        assert_eq!(s.payload(f), b"in");
        if lt == ETHERNET {
            assert_eq!(s.src_mac, SRC_MAC);
        }
        check_truncations(lt, f);
        s
    }

    /// The outer packet is the flow.
    fn outer(lt: u32, f: &[u8], proto: u8) {
        let s = ok(lt, f);
        assert_eq!((s.tunnel, s.protocol), (TunnelKind::None, proto));
    }

    #[test]
    fn gre_with_checksum_key_sequence() {
        let mut g = vec![
            0xb0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0x30, 0x39, 0, 0, 0, 1,
        ];
        g.extend_from_slice(&inner_v4());
        let s = tunnel(
            ETHERNET,
            &eth(0x0800, &ipv4(47, &g)),
            TunnelKind::Gre,
            12345,
        );
        assert_inner_v4(&s);
        let mut plain = vec![0, 0, 0x86, 0xdd];
        plain.extend_from_slice(&ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in")));
        tunnel(RAW, &ipv4(47, &plain), TunnelKind::Gre, 0);
        // Transparent Ethernet bridging.
        let mut teb = vec![0x20, 0x00, 0x65, 0x58, 0, 0, 0, 7];
        teb.extend_from_slice(&inner_eth());
        assert_inner_v6(&tunnel(
            ETHERNET,
            &eth(0x0800, &ipv4(47, &teb)),
            TunnelKind::Gre,
            7,
        ));
        // RFC 1701 routing present: stays the outer GRE packet.
        let mut r = vec![0x40, 0x00, 0x08, 0x00, 0, 0, 0, 0];
        r.extend_from_slice(&inner_v4());
        outer(RAW, &ipv4(47, &r), 47);
    }

    #[test]
    fn gre_in_udp() {
        let mut g = vec![0x00, 0x00, 0x08, 0x00];
        g.extend_from_slice(&inner_v4());
        assert_inner_v4(&tunnel(ETHERNET, &over_udp(4754, &g), TunnelKind::Gre, 0));
    }

    /// Aruba GRE (protocol 0x8240) carrying an 802.11 QoS data frame whose
    /// payload is an A-MSDU (layout of Zeek's gre-aruba-amsdu trace).
    #[test]
    fn aruba_gre_amsdu() {
        let ip = inner_v4();
        let mut g = vec![0x00, 0x00, 0x82, 0x40];
        g.extend_from_slice(&[0x88, 0x02, 0x00, 0x00]); // QoS data, from DS
        g.extend_from_slice(&[0x66; 18]); // three addresses
        g.extend_from_slice(&[0x00, 0x00, 0x80, 0x00]); // sequence, QoS (A-MSDU)
        g.extend_from_slice(&[0x66; 12]); // subframe DA, SA
        g.extend_from_slice(&((ip.len() + 8) as u16).to_be_bytes());
        g.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        g.extend_from_slice(&ip);
        let f = eth(0x0800, &ipv4(47, &g));
        assert_inner_v4(&tunnel(ETHERNET, &f, TunnelKind::Gre, 0));
        // Without the A-MSDU bit the subframe header is not skipped: the
        // bytes then do not start with LLC/SNAP and the outer GRE packet stays.
        let mut plain = g.clone();
        plain[28] = 0;
        outer(ETHERNET, &eth(0x0800, &ipv4(47, &plain)), 47);
    }

    #[test]
    fn erspan_types() {
        let mut t1 = vec![0x00, 0x00, 0x88, 0xbe];
        t1.extend_from_slice(&inner_eth());
        assert_inner_v6(&tunnel(RAW, &ipv4(47, &t1), TunnelKind::Erspan, 0));
        let mut t2 = vec![
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 5, 0x10, 0x64, 0x01, 0x2a, 0, 0, 0, 0,
        ];
        t2.extend_from_slice(&inner_eth());
        assert_inner_v6(&tunnel(RAW, &ipv4(47, &t2), TunnelKind::Erspan, 0x12a));
        let mut t3 = vec![0x10, 0x00, 0x22, 0xeb, 0, 0, 0, 5];
        t3.extend_from_slice(&[0x20, 0x00, 0x00, 0x09, 1, 2, 3, 4, 0, 0, 0x00, 0x01]);
        t3.extend_from_slice(&[0x08; 8]); // platform-specific sub-header
        t3.extend_from_slice(&inner_eth());
        assert_inner_v6(&tunnel(RAW, &ipv4(47, &t3), TunnelKind::Erspan, 9));
        // Wrong ERSPAN version: outer packet.
        t2[8] = 0x30;
        outer(RAW, &ipv4(47, &t2), 47);
    }

    #[test]
    fn pptp_enhanced_gre() {
        let ppp = [&[0xff, 0x03, 0x00, 0x21][..], &inner_v4()].concat();
        let mut g = vec![0x30, 0x01, 0x88, 0x0b];
        g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
        g.extend_from_slice(&[0x40, 0x01, 0, 0, 0, 9]);
        g.extend_from_slice(&ppp);
        assert_inner_v4(&tunnel(RAW, &ipv4(47, &g), TunnelKind::Gre, 0x4001));
        // Ack-only PPTP GRE packet: the outer packet.
        outer(
            RAW,
            &ipv4(47, &[0x20, 0x81, 0x88, 0x0b, 0, 0, 0x40, 0x01, 0, 0, 0, 1]),
            47,
        );
    }

    #[test]
    fn vxlan() {
        let mut v = vec![0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0];
        v.extend_from_slice(&inner_eth());
        let s = tunnel(ETHERNET, &over_udp(4789, &v), TunnelKind::Vxlan, 0x123456);
        assert_inner_v6(&s);
        // I flag clear: outer UDP.
        v[0] = 0;
        outer(ETHERNET, &over_udp(4789, &v), 17);
        // Inner ARP: outer UDP, not an error.
        let mut arp = vec![0x08, 0, 0, 0, 0, 0, 1, 0];
        arp.extend_from_slice(&eth(0x0806, &[0; 28]));
        outer(ETHERNET, &over_udp(4789, &arp), 17);
    }

    /// A tunnel in the first fragment of a fragmented outer datagram is
    /// decoded when the inner headers fit (Zeek reassembles, then counts one
    /// inner packet per datagram); later fragments stay outer fragments.
    #[test]
    fn tunnel_in_first_outer_fragment() {
        let mut v = vec![0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0];
        v.extend_from_slice(&inner_eth());
        // The UDP length covers the whole datagram, of which only the first
        // fragment (all but 1 byte of the inner payload) was captured.
        let mut u = udp(1, 4789, &v);
        u.pop();
        let frag = eth(0x0800, &ipv4_with(17, &[], 0x2000, &u));
        let s = ok(ETHERNET, &frag);
        assert_eq!((s.tunnel, s.tunnel_id), (TunnelKind::Vxlan, 0x123456));
        assert_eq!(s.frag, FragInfo::default());
        assert_eq!((s.l4_payload_len, s.payload_captured), (2, 1));
        assert_eq!(
            s.outer_fragment,
            Some(OuterFragment {
                src_ip: "10.0.0.1".parse().unwrap(),
                dst_ip: "10.0.0.2".parse().unwrap(),
                protocol: 17,
                id: 0x1234,
            })
        );
        check_truncations(ETHERNET, &frag);
        // Inner headers cut by the fragment boundary: the outer fragment.
        let short = eth(0x0800, &ipv4_with(17, &[], 0x2000, &u[..8 + 8 + 14 + 30]));
        let s = ok(ETHERNET, &short);
        assert_eq!(
            (s.tunnel, s.outer_fragment, s.dst_port),
            (TunnelKind::None, None, 4789)
        );
        assert!(s.frag.is_fragment);
        // A later fragment: outer, ports unknown.
        let rest = eth(0x0800, &ipv4_with(17, &[], 0x00b9, &[0x6e]));
        let s = ok(ETHERNET, &rest);
        assert_eq!(
            (s.tunnel, s.ports_known, s.frag.offset),
            (TunnelKind::None, false, 1480)
        );
        // GRE in a first fragment.
        let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 5];
        g.extend_from_slice(&inner_v4());
        g.pop();
        let s = ok(RAW, &ipv4_with(47, &[], 0x2000, &g));
        assert_eq!((s.tunnel, s.tunnel_id), (TunnelKind::Gre, 5));
        assert_eq!(s.outer_fragment.map(|o| o.protocol), Some(47));
        // Heuristic tunnels are not tried in fragments.
        let s = ok(
            ETHERNET,
            &eth(
                0x0800,
                &ipv4_with(17, &[], 0x2000, &udp(40000, 40000, &teredo_v6(true))),
            ),
        );
        assert_eq!(s.tunnel, TunnelKind::None);
    }

    #[test]
    fn geneve() {
        let mut g = vec![0x02, 0x00, 0x65, 0x58, 0, 0x0b, 0x7d, 0];
        g.extend_from_slice(&[0x01, 0x02, 0x03, 0x01, 9, 9, 9, 9]); // one option
        g.extend_from_slice(&inner_eth());
        assert_inner_v6(&tunnel(
            ETHERNET,
            &over_udp(6081, &g),
            TunnelKind::Geneve,
            2941,
        ));
        let mut ip = vec![0x00, 0x00, 0x08, 0x00, 0, 0, 1, 0];
        ip.extend_from_slice(&inner_v4());
        assert_inner_v4(&tunnel(
            ETHERNET,
            &over_udp(6081, &ip),
            TunnelKind::Geneve,
            1,
        ));
        ip[0] = 0x40; // version 1
        outer(ETHERNET, &over_udp(6081, &ip), 17);
    }

    #[test]
    fn gtp_u() {
        let inner = inner_v4();
        let mut g = vec![0x34, 0xff];
        g.extend_from_slice(&((inner.len() + 8) as u16).to_be_bytes());
        g.extend_from_slice(&0xcafe_f00du32.to_be_bytes());
        g.extend_from_slice(&[0, 0, 0, 0x85]); // seq, N-PDU, next: PDU session container
        g.extend_from_slice(&[1, 0x09, 0x01, 0x00]); // 4-byte extension, no next
        g.extend_from_slice(&inner);
        assert_inner_v4(&tunnel(
            ETHERNET,
            &over_udp(2152, &g),
            TunnelKind::GtpU,
            0xcafe_f00d,
        ));
        let mut plain = vec![0x30, 0xff, 0, 0, 0, 0, 0, 42];
        plain.extend_from_slice(&ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in")));
        let len = (plain.len() - 8) as u16;
        plain[2..4].copy_from_slice(&len.to_be_bytes());
        assert_inner_v6(&tunnel(
            ETHERNET,
            &over_udp(2152, &plain),
            TunnelKind::GtpU,
            42,
        ));
        // Echo request: signalling, the outer UDP packet is the flow.
        outer(
            ETHERNET,
            &over_udp(2152, &[0x32, 0x01, 0, 4, 0, 0, 0, 0, 0, 1, 0, 0]),
            17,
        );
        // Another UDP port: accepted only when all lengths agree exactly.
        assert_inner_v4(&tunnel(
            ETHERNET,
            &over_udp(9999, &g),
            TunnelKind::GtpU,
            0xcafe_f00d,
        ));
        let mut loose = g.clone();
        loose.push(0);
        outer(ETHERNET, &over_udp(9999, &loose), 17);
        // Zero-length extension header.
        let mut bad = g.clone();
        bad[12] = 0;
        outer(ETHERNET, &over_udp(2152, &bad), 17);
    }

    #[test]
    fn ip_in_ip_all_combinations() {
        let v6 = ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in"));
        assert_inner_v4(&tunnel(RAW, &ipv4(4, &inner_v4()), TunnelKind::IpInIp, 0));
        assert_inner_v6(&tunnel(RAW, &ipv4(41, &v6), TunnelKind::IpInIp, 0));
        assert_inner_v4(&tunnel(RAW, &ipv6(4, &inner_v4()), TunnelKind::IpInIp, 0));
        assert_inner_v6(&tunnel(RAW, &ipv6(41, &v6), TunnelKind::IpInIp, 0));
        // Protocol 41 carrying garbage: outer packet.
        outer(RAW, &ipv4(41, &[0x45; 30]), 41);
    }

    #[test]
    fn nesting_depth_is_bounded() {
        let mut p = inner_v4();
        for _ in 0..7 {
            p = ipv4(4, &p);
        }
        assert_inner_v4(&ok(RAW, &p));
        let mut p = inner_v4();
        for _ in 0..12 {
            p = ipv4(4, &p);
        }
        assert_eq!(run(RAW, &p), Err(DissectError::TooDeep));
    }

    #[test]
    fn innermost_tunnel_wins() {
        let mut v = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
        v.extend_from_slice(&inner_eth());
        let mut g = vec![0x20, 0x00, 0x08, 0x00, 0, 0, 0, 5];
        g.extend_from_slice(&ipv4(17, &udp(1, 4789, &v)));
        let s = tunnel(ETHERNET, &eth(0x0800, &ipv4(47, &g)), TunnelKind::Vxlan, 42);
        assert_inner_v6(&s);
    }

    fn teredo_v6(src_teredo: bool) -> Vec<u8> {
        let mut p = ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in"));
        if src_teredo {
            p[8..12].copy_from_slice(&[0x20, 0x01, 0, 0]);
        }
        p
    }

    #[test]
    fn teredo() {
        let mut t = vec![0x00, 0x00, 0xf2, 0x27, 0x3f, 0x57, 0x7d, 0x5c]; // origin indication
        t.extend_from_slice(&teredo_v6(false));
        assert_inner_v6(&tunnel(
            ETHERNET,
            &over_udp(3544, &t),
            TunnelKind::Teredo,
            0,
        ));
        let mut a = vec![0x00, 0x01, 2, 1, b'i', b'd', b'a'];
        a.extend_from_slice(&[0; 9]); // nonce + confirmation
        a.extend_from_slice(&teredo_v6(false));
        assert_inner_v6(&tunnel(
            ETHERNET,
            &over_udp(3544, &a),
            TunnelKind::Teredo,
            0,
        ));
        // Off port 3544, only with a Teredo address inside.
        assert_inner_v6(&tunnel(
            ETHERNET,
            &over_udp(40000, &teredo_v6(true)),
            TunnelKind::Teredo,
            0,
        ));
        outer(ETHERNET, &over_udp(40000, &teredo_v6(false)), 17);
        // Length inconsistent with the UDP payload.
        let mut long = teredo_v6(false);
        long.push(0);
        outer(ETHERNET, &over_udp(3544, &long), 17);
    }

    /// CAPWAP data with a byte-swapped 802.11 frame control (layout of
    /// nDPI's capwap.pcap: header 00 20 43 20 ..., frame 01 08 2c 00 ...).
    #[test]
    fn capwap_data() {
        let mut c = vec![
            0x00, 0x20, 0x43, 0x20, 0, 0, 0, 0, 0x01, 0x04, 0xee, 0x4f, 0, 0, 0, 0,
        ];
        c.extend_from_slice(&[0x01, 0x08, 0x2c, 0x00]); // FC swapped: data, to DS
        c.extend_from_slice(&[0x58; 18]);
        c.extend_from_slice(&[0x00, 0x00]);
        c.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00]);
        c.extend_from_slice(&inner_v4());
        let f = eth(0x0800, &ipv4(17, &udp(12380, 5247, &c)));
        assert_inner_v4(&tunnel(ETHERNET, &f, TunnelKind::Capwap, 0));
        // Also from the controller's side (source port 5247).
        let f = eth(0x0800, &ipv4(17, &udp(5247, 12380, &c)));
        assert_inner_v4(&ok(ETHERNET, &f));
        // A management frame (swapped FC 00 40: probe request) stays outer.
        let mut m = c.clone();
        m[16..18].copy_from_slice(&[0x00, 0x40]);
        outer(ETHERNET, &eth(0x0800, &ipv4(17, &udp(12380, 5247, &m))), 17);
        // DTLS-protected data channel (preamble type 1) stays outer.
        let mut d = c.clone();
        d[0] = 0x01;
        outer(ETHERNET, &eth(0x0800, &ipv4(17, &udp(12380, 5247, &d))), 17);
        // The control channel is not decoded.
        outer(ETHERNET, &eth(0x0800, &ipv4(17, &udp(12380, 5246, &c))), 17);
    }

    #[test]
    fn ayiya() {
        let mut a = vec![0x41, 0x52, 0x11, 41, 0, 0, 0, 0];
        a.extend_from_slice(&[7; 16]); // identity (2^4 bytes)
        a.extend_from_slice(&[8; 20]); // signature (5 words)
        a.extend_from_slice(&ipv6(6, &tcp(1111, 80, tcp_flags::SYN, &[], b"in")));
        let s = tunnel(ETHERNET, &over_udp(5072, &a), TunnelKind::Ayiya, 0);
        assert_inner_v6(&s);
        assert_eq!(s.dst_ip, "2001:db8::2".parse::<IpAddr>().unwrap());
        a[2] = 0x10; // opcode 0 (nop)
        outer(ETHERNET, &over_udp(5072, &a), 17);
    }
}
