//! Transport layer: TCP and UDP via etherparse slices, ICMP/ICMPv6 and SCTP
//! by hand, and the hand-off from UDP ports / IP protocols to tunnels.
//!
//! Invariants:
//! - `payload_offset + payload_captured <= frame.len()`, and the payload
//!   never extends past the declared IP datagram end.
//! - Non-first fragments report `ports_known = false` and no transport header.
//! - Tunnels named by a port or protocol number are also decoded in the
//!   first fragment of a fragmented datagram when the inner headers fit in
//!   it (Zeek reassembles first and then counts one inner packet per
//!   datagram); `outer_fragment` then names the datagram. Later fragments
//!   stay outer fragments. Heuristic tunnels (off-port GTP, Teredo) need the
//!   complete datagram and are not tried in fragments.

use crate::bytes::{be16, hdr, upto};
use crate::error::{DissectError, Layer};
use crate::summary::{OuterFragment, tcp_flags as f};
use crate::{Ctx, Res, ip, tunnel};
use etherparse::{TcpHeaderSlice, TcpOptionElement, UdpHeaderSlice, err::tcp};

/// Where the transport bytes of an IP packet are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct L4 {
    /// Offset of the transport header in the frame.
    pub off: usize,
    /// End of the captured part of the IP datagram in the frame.
    pub end: usize,
    /// Transport length (header + payload) declared by the IP header.
    pub declared: u32,
    /// The whole declared datagram was captured (a short header is then
    /// malformed rather than truncated).
    pub complete: bool,
    /// This is a fragment with offset > 0: no transport header.
    pub non_first_fragment: bool,
}

/// UDP port of VXLAN.
pub(crate) const PORT_VXLAN: u16 = 4789;
/// UDP port of Geneve.
pub(crate) const PORT_GENEVE: u16 = 6081;
/// UDP port of GTP-U.
pub(crate) const PORT_GTPU: u16 = 2152;
/// UDP port of Teredo.
pub(crate) const PORT_TEREDO: u16 = 3544;
/// UDP port of AYIYA.
pub(crate) const PORT_AYIYA: u16 = 5072;
/// UDP port of GRE-in-UDP (RFC 8086).
pub(crate) const PORT_GRE_UDP: u16 = 4754;
/// UDP port of the CAPWAP data channel.
pub(crate) const PORT_CAPWAP_DATA: u16 = 5247;

/// Record where the transport payload lies, given the header length.
#[inline]
fn set_payload(ctx: &mut Ctx, l4: &L4, hlen: usize) {
    let o = &mut *ctx.out;
    let start = (l4.off + hlen).min(l4.end);
    o.l4_header_len = hlen as u16;
    o.l4_payload_len = l4.declared.saturating_sub(hlen as u32);
    o.payload_offset = start as u32;
    o.payload_captured = (l4.end - start) as u32;
}

/// Try the tunnel decoder `f` on the payload of the current packet. In a
/// first fragment, the fragmented datagram is recorded in `outer_fragment`
/// (only for the outermost one) when the inner packet decodes.
#[inline]
fn enter(ctx: &mut Ctx, f: impl FnOnce(&mut Ctx) -> Res) -> Res {
    let o = &*ctx.out;
    let outer = o.frag.is_fragment.then_some(OuterFragment {
        src_ip: o.src_ip,
        dst_ip: o.dst_ip,
        protocol: o.protocol,
        id: o.frag.id,
    });
    ctx.try_inner(|ctx| {
        if ctx.out.outer_fragment.is_none() {
            ctx.out.outer_fragment = outer;
        }
        f(ctx)
    })
}

/// Decode the transport header of protocol `proto` described by `l4`.
pub(crate) fn transport(ctx: &mut Ctx, frame: &[u8], proto: u8, l4: L4) -> Res {
    ctx.out.protocol = proto;
    let l4 = L4 {
        off: l4.off.min(l4.end),
        ..l4
    };
    if l4.non_first_fragment {
        ctx.out.ports_known = false;
        set_payload(ctx, &l4, 0);
        return Ok(());
    }
    let seg = frame.get(l4.off..l4.end).unwrap_or(&[]);
    let short = |layer| {
        if l4.complete {
            DissectError::Malformed(layer)
        } else {
            DissectError::Truncated(layer)
        }
    };
    let r = match proto {
        6 => tcp(ctx, seg, &l4).map_err(|e| e.unwrap_or(short(Layer::Tcp))),
        17 => udp(ctx, frame, seg, &l4).map_err(|e| e.unwrap_or(short(Layer::Udp))),
        1 | 58 => fixed(ctx, seg, &l4, 8, Layer::Icmp).map(|h| {
            ctx.out.icmp_type = h[0];
            ctx.out.icmp_code = h[1];
        }),
        132 => fixed(ctx, seg, &l4, 12, Layer::Sctp).map(|h| {
            ctx.out.src_port = be16(h[0], h[1]);
            ctx.out.dst_port = be16(h[2], h[3]);
        }),
        _ => {
            ctx.out.ports_known = true;
            set_payload(ctx, &l4, 0);
            match proto {
                4 | 41 => {
                    let inner = upto(frame, l4.end);
                    enter(ctx, |ctx| {
                        ctx.out.tunnel = crate::TunnelKind::IpInIp;
                        ctx.out.tunnel_id = 0;
                        if proto == 4 {
                            ip::ipv4(ctx, inner, l4.off)
                        } else {
                            ip::ipv6(ctx, inner, l4.off)
                        }
                    })
                }
                47 => {
                    let inner = upto(frame, l4.end);
                    enter(ctx, |ctx| tunnel::gre::gre(ctx, inner, l4.off))
                }
                _ => Ok(()),
            }
        }
    };
    match r {
        // The first fragment of a datagram may end inside the transport
        // header: keep the packet (it is a valid fragment), ports unknown
        // unless both port fields made it into this fragment.
        Err(DissectError::Malformed(_) | DissectError::Truncated(_))
            if ctx.out.frag.more && l4.complete =>
        {
            let o = &mut *ctx.out;
            o.tcp = Default::default();
            match (proto, hdr::<4>(seg, 0)) {
                (6 | 17 | 132, Some(p)) => {
                    o.src_port = be16(p[0], p[1]);
                    o.dst_port = be16(p[2], p[3]);
                    o.ports_known = true;
                }
                _ => o.ports_known = false,
            }
            set_payload(ctx, &l4, 0);
            Ok(())
        }
        r => r,
    }
}

/// A transport header of fixed length `n >= 4` (ICMP, SCTP); returns its first 4 bytes.
fn fixed<'a>(
    ctx: &mut Ctx,
    seg: &'a [u8],
    l4: &L4,
    n: usize,
    layer: Layer,
) -> Result<&'a [u8; 4], DissectError> {
    let h = match hdr::<4>(seg, 0) {
        Some(h) if seg.len() >= n => h,
        _ if l4.complete => return Err(DissectError::Malformed(layer)),
        _ => return Err(DissectError::Truncated(layer)),
    };
    ctx.out.ports_known = true;
    set_payload(ctx, l4, n);
    Ok(h)
}

/// TCP header; `Err(None)` means "too short" (caller picks truncated/malformed).
fn tcp(ctx: &mut Ctx, seg: &[u8], l4: &L4) -> Result<(), Option<DissectError>> {
    let th = TcpHeaderSlice::from_slice(seg).map_err(|e| match e {
        tcp::HeaderSliceError::Len(_) => None,
        tcp::HeaderSliceError::Content(_) => Some(DissectError::Malformed(Layer::Tcp)),
    })?;
    let mut flags = 0u16;
    for (set, bit) in [
        (th.fin(), f::FIN),
        (th.syn(), f::SYN),
        (th.rst(), f::RST),
        (th.psh(), f::PSH),
        (th.ack(), f::ACK),
        (th.urg(), f::URG),
        (th.ece(), f::ECE),
        (th.cwr(), f::CWR),
        (th.ns(), f::NS),
    ] {
        if set {
            flags |= bit;
        }
    }
    let o = &mut *ctx.out;
    o.src_port = th.source_port();
    o.dst_port = th.destination_port();
    o.ports_known = true;
    o.tcp.flags = flags;
    o.tcp.seq = th.sequence_number();
    o.tcp.ack = th.acknowledgment_number();
    o.tcp.window = th.window_size();
    // Most segments after the handshake carry exactly NOP, NOP, Timestamp:
    // recognised directly, with the result the option walk below would
    // give (netlens flows on the typical mix: ~1.5 % less CPU).
    if let [1, 1, 8, 10, _, _, _, _, _, _, _, _] = th.options() {
        o.tcp.has_timestamps = true;
        let hlen = th.slice().len();
        set_payload(ctx, l4, hlen);
        return Ok(());
    }
    for opt in th.options_iterator() {
        match opt {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => o.tcp.mss = m,
            Ok(TcpOptionElement::WindowScale(s)) => o.tcp.wscale = Some(s),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => o.tcp.sack_permitted = true,
            Ok(TcpOptionElement::Timestamp(_, _)) => o.tcp.has_timestamps = true,
            Ok(_) => {}
            // A malformed option ends the option list; the header stays valid.
            Err(_) => break,
        }
    }
    let hlen = th.slice().len();
    set_payload(ctx, l4, hlen);
    Ok(())
}

/// UDP ports on which [`udp`] hands the payload to a tunnel decoder (keep
/// in step with the port tests in `udp`; `crate::fast` relies on it).
#[inline]
pub(crate) fn is_tunnel_port(sp: u16, dp: u16) -> bool {
    matches!(dp, PORT_VXLAN | PORT_GENEVE | PORT_GRE_UDP)
        || matches!(sp, PORT_GTPU | PORT_AYIYA | PORT_CAPWAP_DATA)
        || matches!(dp, PORT_GTPU | PORT_AYIYA | PORT_CAPWAP_DATA)
}

/// The UDP payload at `buf[poff..]` starts like a GTP-U T-PDU.
#[inline]
fn gtp_lookalike(buf: &[u8], poff: usize) -> bool {
    hdr::<2>(buf, poff).is_some_and(|h| h[0] & 0xf8 == 0x30 && h[1] == 0xff)
}

/// The UDP payload at `buf[poff..]` starts like Teredo (an IPv6 version
/// nibble or an indicator's zero byte).
#[inline]
fn teredo_candidate(buf: &[u8], poff: usize) -> bool {
    buf.get(poff).is_some_and(|b| b >> 4 == 6 || *b == 0)
}

/// [`udp`] may try a heuristic tunnel (off-port GTP-U, Teredo) on the
/// payload at `buf[poff..]`.
#[inline]
pub(crate) fn heuristic_tunnel_candidate(buf: &[u8], poff: usize) -> bool {
    gtp_lookalike(buf, poff) || teredo_candidate(buf, poff)
}

/// UDP header, then tunnels by port; `Err(None)` means "too short".
fn udp(ctx: &mut Ctx, frame: &[u8], seg: &[u8], l4: &L4) -> Result<(), Option<DissectError>> {
    let uh = UdpHeaderSlice::from_slice(seg).map_err(|_| None)?;
    let (sp, dp) = (uh.source_port(), uh.destination_port());
    let o = &mut *ctx.out;
    o.src_port = sp;
    o.dst_port = dp;
    o.ports_known = true;
    set_payload(ctx, l4, 8);
    // Only first fragments get here (see `transport`).
    let frag = ctx.out.frag.is_fragment;
    // Bound tunnel payloads by the UDP length when it is sane.
    let ulen = usize::from(uh.length());
    let end = if ulen >= 8 && l4.off + ulen <= l4.end {
        l4.off + ulen
    } else {
        l4.end
    };
    let inner = upto(frame, end);
    let poff = l4.off + 8;
    let r = if dp == PORT_VXLAN {
        enter(ctx, |ctx| tunnel::vxlan::vxlan(ctx, inner, poff))
    } else if dp == PORT_GENEVE {
        enter(ctx, |ctx| tunnel::geneve::geneve(ctx, inner, poff))
    } else if dp == PORT_GTPU || sp == PORT_GTPU {
        enter(ctx, |ctx| tunnel::gtp::gtpu(ctx, inner, poff, true))
    } else if dp == PORT_AYIYA || sp == PORT_AYIYA {
        enter(ctx, |ctx| tunnel::ayiya::ayiya(ctx, inner, poff))
    } else if dp == PORT_GRE_UDP {
        enter(ctx, |ctx| tunnel::gre::gre(ctx, inner, poff))
    } else if dp == PORT_CAPWAP_DATA || sp == PORT_CAPWAP_DATA {
        enter(ctx, |ctx| tunnel::capwap::capwap_data(ctx, inner, poff))
    } else if frag {
        // Heuristic tunnels check lengths against the whole datagram.
        Ok(())
    } else if gtp_lookalike(inner, poff) {
        // GTP-U T-PDU look-alike on another port (operators remap ports).
        ctx.try_inner(|ctx| tunnel::gtp::gtpu(ctx, inner, poff, false))
    } else if teredo_candidate(inner, poff) {
        // Teredo candidates: IPv6 version nibble, or an indicator (0x00 0x0X).
        let on_port = dp == PORT_TEREDO || sp == PORT_TEREDO;
        ctx.try_inner(|ctx| tunnel::teredo::teredo(ctx, inner, poff, on_port))
    } else {
        Ok(())
    };
    r.map_err(Some)
}

#[cfg(test)]
mod tests {
    use crate::error::{DissectError, Layer};
    use crate::linktype::{ETHERNET, RAW};
    use crate::summary::tcp_flags as f;
    use crate::testutil::*;

    #[test]
    fn nop_nop_timestamp_fast_path_equals_the_option_walk() {
        // A data segment with the common NOP, NOP, Timestamp options, and the
        // same options in another order (taking the general walk): the
        // summaries agree, timestamps seen, nothing else set.
        let common = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2];
        let reordered = [8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1];
        let flags = f::PSH | f::ACK;
        let fa = eth(0x0800, &ipv4(6, &tcp(40000, 443, flags, &common, b"data")));
        let fb = eth(
            0x0800,
            &ipv4(6, &tcp(40000, 443, flags, &reordered, b"data")),
        );
        let (a, b) = (ok(ETHERNET, &fa), ok(ETHERNET, &fb));
        assert!(a.tcp.has_timestamps);
        assert_eq!(
            (a.tcp.mss, a.tcp.wscale, a.tcp.sack_permitted),
            (0, None, false)
        );
        assert_eq!(a.tcp, b.tcp);
        assert_eq!(
            (a.l4_header_len, a.l4_payload_len, a.payload_captured),
            (32, 4, 4)
        );
        assert_eq!(
            (b.l4_header_len, b.l4_payload_len, b.payload_captured),
            (32, 4, 4)
        );
        assert_eq!(a.payload(&fa), b"data");
        check_truncations(ETHERNET, &fa);
    }

    #[test]
    fn tcp_flags_and_options() {
        let opts = [
            2, 4, 0x05, 0xb4, // MSS 1460
            1, 3, 3, 7, // NOP, window scale 7
            4, 2, // SACK permitted
            8, 10, 0, 0, 0, 1, 0, 0, 0, 0, // timestamps
        ];
        let flags = f::SYN | f::ECE | f::CWR | f::NS;
        let frame = eth(0x0800, &ipv4(6, &tcp(40000, 443, flags, &opts, b"hello")));
        let s = ok(ETHERNET, &frame);
        assert_eq!((s.src_port, s.dst_port, s.protocol), (40000, 443, 6));
        assert_eq!(s.tcp.flags, flags);
        assert_eq!((s.tcp.seq, s.tcp.ack, s.tcp.window), (1000, 2000, 512));
        assert_eq!(
            (
                s.tcp.mss,
                s.tcp.wscale,
                s.tcp.sack_permitted,
                s.tcp.has_timestamps
            ),
            (1460, Some(7), true, true)
        );
        assert_eq!(
            (s.l4_header_len, s.l4_payload_len, s.payload_captured),
            (40, 5, 5)
        );
        assert_eq!(s.payload(&frame), b"hello");
        check_truncations(ETHERNET, &frame);
    }

    #[test]
    fn tcp_bad_headers() {
        let mut t = tcp(1, 2, f::ACK, &[], b"");
        t[12] = 0x40; // data offset 4
        assert_eq!(
            run(RAW, &ipv4(6, &t)),
            Err(DissectError::Malformed(Layer::Tcp))
        );
        // A broken option list ends the options, the packet stays.
        let s = ok(RAW, &ipv4(6, &tcp(1, 2, f::ACK, &[2, 9, 0, 0], b"")));
        assert_eq!(s.tcp.mss, 0);
        let t = tcp(1, 2, f::ACK, &[], b"");
        let mut p = ipv4(6, &t);
        p[3] = 200; // declared longer than captured
        assert_eq!(run(RAW, &p[..30]), Err(DissectError::Truncated(Layer::Tcp)));
    }

    #[test]
    fn icmp_sctp_and_other_protocols() {
        let s = ok(RAW, &ipv4(1, &[8, 0, 0, 0, 0, 1, 0, 1, b'x']));
        assert_eq!(
            (
                s.icmp_type,
                s.icmp_code,
                s.src_port,
                s.ports_known,
                s.l4_header_len
            ),
            (8, 0, 0, true, 8)
        );
        let s = ok(RAW, &ipv6(58, &[135, 0, 0, 0, 0, 0, 0, 0]));
        assert_eq!((s.protocol, s.icmp_type), (58, 135));
        assert_eq!(
            run(RAW, &ipv4(1, &[3, 1, 0, 0])),
            Err(DissectError::Malformed(Layer::Icmp))
        );
        let mut sctp = vec![0x0b, 0x59, 0x0b, 0x5a, 0, 0, 0, 1, 0, 0, 0, 0];
        sctp.extend_from_slice(&[1, 0, 0, 4]);
        let s = ok(RAW, &ipv4(132, &sctp));
        assert_eq!(
            (s.src_port, s.dst_port, s.l4_header_len, s.l4_payload_len),
            (2905, 2906, 12, 4)
        );
        let s = ok(RAW, &ipv4(89, &[1, 2, 3]));
        assert_eq!(
            (s.protocol, s.src_port, s.ports_known, s.l4_payload_len),
            (89, 0, true, 3)
        );
    }

    #[test]
    fn udp_truncated_and_malformed() {
        let p = ipv4(17, &udp(1, 2, b"abc"));
        let mut short = p.clone();
        short[3] = 25;
        assert_eq!(
            run(RAW, &short[..25]),
            Err(DissectError::Malformed(Layer::Udp))
        );
        let mut long = p;
        long[3] = 99;
        assert_eq!(
            run(RAW, &long[..25]),
            Err(DissectError::Truncated(Layer::Udp))
        );
    }
}
