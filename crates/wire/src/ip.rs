//! IPv4 and IPv6 (with the extension-header chain) via etherparse header
//! slices, then hand-off to the transport layer.
//!
//! Invariants:
//! - The IPv4 header checksum is not verified (Zeek and nDPI count such packets).
//! - A declared length of 0 (TSO/LRO captures, IPv6 jumbograms) means "the
//!   captured bytes"; any other declared length shorter than the header is
//!   `Malformed`.
//! - The transport layer only sees bytes up to the declared datagram end, so
//!   Ethernet padding is never taken as payload.
//! - At most [`MAX_EXT_HEADERS`] IPv6 extension headers are walked.

use crate::bytes::{be16, be32, hdr};
use crate::error::{DissectError, Layer};
use crate::summary::{FragInfo, TcpInfo};
use crate::transport::{self, L4};
use crate::{Ctx, Res};
use etherparse::err::{ipv4, ipv6};
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice};
use std::net::IpAddr;

/// Maximum IPv6 extension headers walked before giving up.
pub(crate) const MAX_EXT_HEADERS: u8 = 16;

/// IPv4 or IPv6, chosen by the version nibble of `frame[off]`.
pub(crate) fn ip_by_version(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    match frame.get(off).map(|b| b >> 4) {
        Some(4) => ipv4(ctx, frame, off),
        Some(6) => ipv6(ctx, frame, off),
        Some(_) => Err(DissectError::NotIp(0)),
        None => Err(DissectError::Truncated(Layer::Ipv4)),
    }
}

/// Reset the per-IP-packet fields before (re)filling them for an inner packet.
#[inline]
fn reset_ip(ctx: &mut Ctx) {
    let o = &mut *ctx.out;
    o.frag = FragInfo::default();
    o.tcp = TcpInfo::default();
    o.icmp_type = 0;
    o.icmp_code = 0;
    o.src_port = 0;
    o.dst_port = 0;
    o.ports_known = false;
    o.l4_header_len = 0;
    o.l4_payload_len = 0;
    o.payload_offset = 0;
    o.payload_captured = 0;
}

/// IPv4 header at `frame[off..]`.
pub(crate) fn ipv4(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let rest = frame.get(off..).unwrap_or(&[]);
    let h = Ipv4HeaderSlice::from_slice(rest).map_err(|e| match e {
        ipv4::HeaderSliceError::Len(_) => DissectError::Truncated(Layer::Ipv4),
        ipv4::HeaderSliceError::Content(_) => DissectError::Malformed(Layer::Ipv4),
    })?;
    let hl = h.slice().len();
    let total = match usize::from(h.total_len()) {
        0 => rest.len(),
        t if t < hl => return Err(DissectError::Malformed(Layer::Ipv4)),
        t => t,
    };
    reset_ip(ctx);
    let o = &mut *ctx.out;
    o.ip_version = 4;
    o.src_ip = IpAddr::V4(h.source_addr());
    o.dst_ip = IpAddr::V4(h.destination_addr());
    o.ttl = h.ttl();
    o.ip_len = total as u32;
    o.ip_header_len = hl as u16;
    let frag_off = u32::from(h.fragments_offset().value()) * 8;
    let more = h.more_fragments();
    if frag_off != 0 || more {
        o.frag = FragInfo {
            is_fragment: true,
            offset: frag_off,
            more,
            id: u32::from(h.identification()),
        };
    }
    let l4 = L4 {
        off: off + hl,
        end: off + total.min(rest.len()),
        declared: (total - hl) as u32,
        complete: total <= rest.len(),
        non_first_fragment: frag_off != 0,
    };
    transport::transport(ctx, frame, h.protocol().0, l4)
}

/// IPv6 header and extension chain at `frame[off..]`.
pub(crate) fn ipv6(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let rest = frame.get(off..).unwrap_or(&[]);
    let h = Ipv6HeaderSlice::from_slice(rest).map_err(|e| match e {
        ipv6::HeaderSliceError::Len(_) => DissectError::Truncated(Layer::Ipv6),
        ipv6::HeaderSliceError::Content(_) => DissectError::Malformed(Layer::Ipv6),
    })?;
    let total = match usize::from(h.payload_length()) {
        0 => rest.len(),
        p => 40 + p,
    };
    reset_ip(ctx);
    let end = off + total.min(rest.len());
    let complete = total <= rest.len();
    let bounded = frame.get(..end).unwrap_or(frame);
    let o = &mut *ctx.out;
    o.ip_version = 6;
    o.src_ip = IpAddr::V6(h.source_addr());
    o.dst_ip = IpAddr::V6(h.destination_addr());
    o.ttl = h.hop_limit();
    o.ip_len = total as u32;

    // Own walker rather than etherparse's Ipv6ExtensionsSlice: that one keeps
    // reading headers after a non-first fragment header (whose payload is
    // fragment data, not headers) and hides the fragment fields we report.
    let trunc = if complete {
        DissectError::Malformed(Layer::Ipv6)
    } else {
        DissectError::Truncated(Layer::Ipv6)
    };
    let mut nh = h.next_header().0;
    let mut p = off + 40;
    let mut count = 0u8;
    let mut non_first = false;
    loop {
        let len = match nh {
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => {
                let e = hdr::<2>(bounded, p).ok_or(trunc)?;
                nh = e[0];
                (usize::from(e[1]) + 1) * 8
            }
            // Fragment header: 8 bytes.
            44 => {
                let f = hdr::<8>(bounded, p).ok_or(trunc)?;
                nh = f[0];
                let fo = be16(f[2], f[3]);
                let offset = u32::from(fo >> 3) * 8;
                let more = fo & 1 != 0;
                if offset != 0 || more {
                    o.frag = FragInfo {
                        is_fragment: true,
                        offset,
                        more,
                        id: be32(f[4], f[5], f[6], f[7]),
                    };
                }
                non_first = offset != 0;
                8
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => {
                let a = hdr::<2>(bounded, p).ok_or(trunc)?;
                nh = a[0];
                (usize::from(a[1]) + 2) * 4
            }
            _ => break,
        };
        if p + len > end {
            return Err(trunc);
        }
        p += len;
        count += 1;
        if non_first {
            break;
        }
        if count >= MAX_EXT_HEADERS {
            return Err(DissectError::TooDeep);
        }
    }
    let hl = p - off;
    o.ip_header_len = hl as u16;
    let l4 = L4 {
        off: p,
        end,
        declared: total.saturating_sub(hl) as u32,
        complete,
        non_first_fragment: non_first,
    };
    transport::transport(ctx, frame, nh, l4)
}

#[cfg(test)]
mod tests {
    use crate::error::{DissectError, Layer};
    use crate::linktype::{ETHERNET, RAW};
    use crate::summary::FragInfo;
    use crate::testutil::*;

    #[test]
    fn ipv4_options_and_header_len() {
        let opts = [0x94, 0x04, 0, 0]; // router alert
        let f = eth(0x0800, &ipv4_with(17, &opts, 0, &udp(5, 6, b"xyz")));
        let s = ok(ETHERNET, &f);
        assert_eq!(
            (
                s.ip_header_len,
                s.ip_len,
                s.ttl,
                s.src_port,
                s.l4_payload_len
            ),
            (24, 35, 64, 5, 3)
        );
        assert_eq!(s.payload_offset, 14 + 24 + 8);
        check_truncations(ETHERNET, &f);
    }

    #[test]
    fn ipv4_bad_lengths() {
        let mut p = ipv4(17, &udp(5, 6, b""));
        p[3] = 10; // total length < header length
        assert_eq!(run(RAW, &p), Err(DissectError::Malformed(Layer::Ipv4)));
        let mut p = ipv4(17, &udp(5, 6, b""));
        p[0] = 0x44; // IHL 4
        assert_eq!(run(RAW, &p), Err(DissectError::Malformed(Layer::Ipv4)));
        // Declared longer than captured (snap length): headers fine, payload short.
        let mut p = ipv4(17, &udp(5, 6, b"abcdef"));
        p[3] = 200;
        let s = ok(RAW, &p[..p.len() - 2]);
        assert_eq!(
            (s.ip_len, s.l4_payload_len, s.payload_captured),
            (200, 172, 4)
        );
        // Total length 0 (TSO capture): the captured bytes count.
        let mut p = ipv4(17, &udp(5, 6, b"abcdef"));
        p[2] = 0;
        p[3] = 0;
        assert_eq!(ok(RAW, &p).ip_len, p.len() as u32);
        // Declared datagram too short for the UDP header: malformed, not truncated.
        let mut p = ipv4(17, &udp(5, 6, b""));
        p[3] = 24;
        assert_eq!(run(RAW, &p), Err(DissectError::Malformed(Layer::Udp)));
    }

    #[test]
    fn ipv4_fragments() {
        // First fragment: MF set, ports still known.
        let first = ipv4_with(17, &[], 0x2000, &udp(5, 6, b"abcdefgh"));
        let s = ok(RAW, &first);
        assert_eq!(
            s.frag,
            FragInfo {
                is_fragment: true,
                offset: 0,
                more: true,
                id: 0x1234
            }
        );
        assert!(s.ports_known);
        assert_eq!(s.dst_port, 6);
        // Non-first fragment: offset 16 bytes, no transport header.
        let next = ipv4_with(17, &[], 2, b"later bytes");
        let s = ok(RAW, &next);
        assert_eq!(
            s.frag,
            FragInfo {
                is_fragment: true,
                offset: 16,
                more: false,
                id: 0x1234
            }
        );
        assert!(!s.ports_known);
        assert_eq!(
            (
                s.src_port,
                s.l4_header_len,
                s.l4_payload_len,
                s.payload_offset
            ),
            (0, 0, 11, 20)
        );
        // First fragment that ends inside the TCP header (options split off).
        let t = tcp(7, 8, 0x02, &[2, 4, 5, 0xb4, 1, 1, 1, 1, 1, 1, 1, 1], b"");
        let mut first = ipv4_with(6, &[], 0x2000, &t[..24]);
        let s = ok(RAW, &first);
        assert_eq!((s.src_port, s.dst_port, s.ports_known), (7, 8, true));
        // ... but unfragmented, the same bytes are a malformed TCP header.
        first[6] = 0;
        assert_eq!(run(RAW, &first), Err(DissectError::Malformed(Layer::Tcp)));
    }

    fn ext(nh: u8, len8: u8) -> Vec<u8> {
        let mut v = vec![nh, len8];
        v.resize((usize::from(len8) + 1) * 8, 0);
        v
    }

    #[test]
    fn ipv6_extension_chain() {
        // Hop-by-hop → routing → destination options → UDP.
        let mut body = ext(43, 0);
        body.extend_from_slice(&ext(60, 1));
        body.extend_from_slice(&ext(17, 0));
        body.extend_from_slice(&udp(7, 8, b"pp"));
        let f = eth(0x86dd, &ipv6(0, &body));
        let s = ok(ETHERNET, &f);
        assert_eq!(
            (s.protocol, s.ip_header_len, s.dst_port, s.l4_payload_len),
            (17, 40 + 32, 8, 2)
        );
        assert_eq!(s.ip_len, 40 + body.len() as u32);
        check_truncations(ETHERNET, &f);
        // Authentication header (len 4 → 24 bytes) then TCP.
        let mut ah = vec![6, 4];
        ah.resize(24, 0);
        ah.extend_from_slice(&tcp(1, 2, 0x10, &[], b""));
        let s = ok(RAW, &ipv6(51, &ah));
        assert_eq!((s.protocol, s.ip_header_len, s.tcp.flags), (6, 64, 0x10));
        // ESP ends the chain: protocol 50, ports 0 but "known".
        let s = ok(RAW, &ipv6(50, &[0; 16]));
        assert_eq!((s.protocol, s.src_port, s.ports_known), (50, 0, true));
        // Extension header longer than the datagram.
        let p = ipv6(60, &ext(17, 3)[..16]);
        assert_eq!(run(RAW, &p), Err(DissectError::Malformed(Layer::Ipv6)));
    }

    #[test]
    fn ipv6_fragments() {
        let frag = |nh: u8, off8: u16, more: bool| {
            let fo = (off8 << 3) | u16::from(more);
            let mut v = vec![nh, 0];
            v.extend_from_slice(&fo.to_be_bytes());
            v.extend_from_slice(&0xdead_beefu32.to_be_bytes());
            v
        };
        let first = ipv6(44, &[frag(17, 0, true), udp(9, 10, b"abcd")].concat());
        let s = ok(RAW, &first);
        assert_eq!(
            s.frag,
            FragInfo {
                is_fragment: true,
                offset: 0,
                more: true,
                id: 0xdead_beef
            }
        );
        assert_eq!(
            (s.protocol, s.dst_port, s.ports_known, s.ip_header_len),
            (17, 10, true, 48)
        );
        // Non-first fragment whose next header claims destination options:
        // the payload is not parsed as headers.
        let later = ipv6(44, &[frag(60, 3, false), vec![0xff; 12]].concat());
        let s = ok(RAW, &later);
        assert_eq!(
            s.frag,
            FragInfo {
                is_fragment: true,
                offset: 24,
                more: false,
                id: 0xdead_beef
            }
        );
        assert_eq!(
            (s.protocol, s.ports_known, s.l4_payload_len),
            (60, false, 12)
        );
        // Atomic fragment (offset 0, M = 0) is not a fragment.
        let atomic = ipv6(44, &[frag(17, 0, false), udp(9, 10, b"")].concat());
        let s = ok(RAW, &atomic);
        assert!(!s.frag.is_fragment);
        assert!(s.ports_known);
    }

    #[test]
    fn ipv6_extension_bound() {
        let mut body = Vec::new();
        for _ in 0..20 {
            body.extend_from_slice(&ext(60, 0));
        }
        assert_eq!(run(RAW, &ipv6(60, &body)), Err(DissectError::TooDeep));
    }
}
