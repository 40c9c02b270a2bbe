//! PPP (RFC 1661/1662), PPPoE session stage (RFC 2516) and Cisco HDLC.
//!
//! etherparse decodes none of these framings; each is a few fixed bytes.
//! Only the PPP protocols IPv4 (0x0021) and IPv6 (0x0057) carry flows; other
//! PPP protocols (LCP, IPCP, ...) are reported as non-IP.

use super::{TRUNC, ethernet};
use crate::bytes::{be16, hdr};
use crate::error::{DissectError, Layer};
use crate::{Ctx, Res, ip};

/// PPP protocol number of IPv4.
pub(crate) const PPP_IPV4: u16 = 0x0021;
/// PPP protocol number of IPv6.
pub(crate) const PPP_IPV6: u16 = 0x0057;
/// PPP protocol number of MPLS unicast.
const PPP_MPLS: u16 = 0x0281;

/// A PPP frame at `frame[off..]`, with or without the HDLC address/control
/// bytes (0xff 0x03) and with or without protocol-field compression.
///
/// Cisco routers' serial-line captures are often written with a PPP link
/// type although the frames are Cisco HDLC (as tcpdump and nDPI also
/// accept): a first byte 0x0f/0x8f followed by 0x00 cannot start a PPP frame
/// (an odd first protocol byte is only valid compressed, and 0x0f/0x8f are
/// not assigned), so such frames are decoded as Cisco HDLC.
pub(crate) fn ppp(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<2>(frame, off).ok_or(TRUNC)?;
    if (h[0] == 0x0f || h[0] == 0x8f) && h[1] == 0x00 {
        return cisco_hdlc(ctx, frame, off);
    }
    ppp_inner(ctx, frame, off, TRUNC)
}

/// PPP body shared by the PPP link types, PPPoE and PPTP; `trunc` is the
/// error reported when the PPP header is cut short.
pub(crate) fn ppp_inner(ctx: &mut Ctx, frame: &[u8], mut off: usize, trunc: DissectError) -> Res {
    let h = hdr::<2>(frame, off).ok_or(trunc)?;
    if h[0] == 0xff && h[1] == 0x03 {
        off += 2;
    }
    let first = *frame.get(off).ok_or(trunc)?;
    let (proto, len) = if first & 0x01 != 0 {
        // Protocol-field compression: a one-byte protocol (always odd).
        (u16::from(first), 1)
    } else {
        let p = hdr::<2>(frame, off).ok_or(trunc)?;
        (be16(p[0], p[1]), 2)
    };
    let off = off + len;
    match proto {
        PPP_IPV4 => ip::ipv4(ctx, frame, off),
        PPP_IPV6 => ip::ipv6(ctx, frame, off),
        PPP_MPLS => super::mpls::mpls(ctx, frame, off),
        _ => Err(DissectError::NotIp(0)),
    }
}

/// PPPoE session header (version 1, type 1, code 0) then PPP.
pub(crate) fn pppoe(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(DissectError::Truncated(Layer::Pppoe))?;
    if h[0] != 0x11 || h[1] != 0x00 {
        return Err(DissectError::Malformed(Layer::Pppoe));
    }
    let proto = be16(h[6], h[7]);
    let off = off + 8;
    match proto {
        PPP_IPV4 => ip::ipv4(ctx, frame, off),
        PPP_IPV6 => ip::ipv6(ctx, frame, off),
        _ => Err(DissectError::NotIp(ethernet::ET_PPPOE)),
    }
}

/// Cisco HDLC: address (0x0f unicast / 0x8f broadcast), control 0, EtherType.
pub(crate) fn cisco_hdlc(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    if (h[0] != 0x0f && h[0] != 0x8f) || h[1] != 0x00 {
        return Err(super::BAD);
    }
    ethernet::ethertype(ctx, be16(h[2], h[3]), frame, off + 4)
}
