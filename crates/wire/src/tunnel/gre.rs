//! GRE (RFC 2784 with RFC 2890 key/sequence), ERSPAN types I/II/III carried
//! in GRE, and PPTP's enhanced GRE (RFC 2637, version 1) with a PPP payload.
//!
//! Aruba's 802.11-in-GRE (protocol types 0x8200-0x8300) is decoded as an
//! 802.11 data frame.
//!
//! RFC 1701 source routing (R bit) is not supported: such packets stay outer
//! flows. The GRE key (or the PPTP call id) becomes the tunnel id; ERSPAN
//! replaces it with the 10-bit session id.

use super::{BAD, TRUNC};
use crate::bytes::{be16, be32, hdr};
use crate::error::DissectError;
use crate::link::{ethernet, ppp, wlan};
use crate::summary::TunnelKind;
use crate::{Ctx, Res, ip};

/// GRE protocol type of ERSPAN type I and II.
pub(crate) const ERSPAN_I_II: u16 = 0x88be;
/// GRE protocol type of ERSPAN type III.
pub(crate) const ERSPAN_III: u16 = 0x22eb;
/// GRE protocol type of PPP (PPTP).
const PPP: u16 = 0x880b;
/// Aruba access points tunnel raw 802.11 frames to their controller with
/// GRE protocol types in this range (as Zeek decodes them).
const ARUBA_WLAN: std::ops::RangeInclusive<u16> = 0x8200..=0x8300;

/// GRE header at `frame[off..]`.
pub(crate) fn gre(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    let flags = be16(h[0], h[1]);
    let proto = be16(h[2], h[3]);
    let (csum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    match flags & 0x7 {
        0 => {
            if routing {
                return Err(BAD);
            }
            let mut p = off + 4;
            if csum {
                p += 4;
            }
            let mut id = 0;
            if key {
                let k = hdr::<4>(frame, p).ok_or(TRUNC)?;
                id = be32(k[0], k[1], k[2], k[3]);
                p += 4;
            }
            if seq {
                p += 4;
            }
            if p > frame.len() {
                return Err(TRUNC);
            }
            ctx.out.tunnel = TunnelKind::Gre;
            ctx.out.tunnel_id = id;
            match proto {
                ERSPAN_I_II if !seq => {
                    // Type I: no ERSPAN header, the mirrored frame follows.
                    ctx.out.tunnel = TunnelKind::Erspan;
                    ctx.out.tunnel_id = 0;
                    ethernet::ethernet(ctx, frame, p)
                }
                ERSPAN_I_II => erspan2(ctx, frame, p),
                ERSPAN_III => erspan3(ctx, frame, p),
                _ if ARUBA_WLAN.contains(&proto) => wlan::ieee80211(ctx, frame, p),
                _ => ethernet::ethertype(ctx, proto, frame, p),
            }
        }
        1 => pptp(ctx, frame, off, flags, proto),
        _ => Err(BAD),
    }
}

/// ERSPAN type II header (8 bytes, version 1) then Ethernet.
fn erspan2(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if h[0] >> 4 != 1 {
        return Err(BAD);
    }
    ctx.out.tunnel = TunnelKind::Erspan;
    ctx.out.tunnel_id = u32::from(be16(h[2], h[3]) & 0x3ff);
    ethernet::ethernet(ctx, frame, off + 8)
}

/// ERSPAN type III header (12 bytes, version 2, optional 8-byte platform
/// sub-header) then Ethernet (frame type 0) or IP (frame type 2).
fn erspan3(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<12>(frame, off).ok_or(TRUNC)?;
    if h[0] >> 4 != 2 {
        return Err(BAD);
    }
    ctx.out.tunnel = TunnelKind::Erspan;
    ctx.out.tunnel_id = u32::from(be16(h[2], h[3]) & 0x3ff);
    let frame_type = (h[10] >> 2) & 0x1f;
    let p = off + 12 + if h[11] & 0x01 != 0 { 8 } else { 0 };
    match frame_type {
        0 => ethernet::ethernet(ctx, frame, p),
        2 => ip::ip_by_version(ctx, frame, p),
        _ => Err(BAD),
    }
}

/// PPTP enhanced GRE (version 1): key = payload length + call id, optional
/// sequence and acknowledgement numbers, then PPP.
fn pptp(ctx: &mut Ctx, frame: &[u8], off: usize, flags: u16, proto: u16) -> Res {
    let (key, seq, ack) = (
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
        flags & 0x0080 != 0,
    );
    if proto != PPP || !key {
        return Err(BAD);
    }
    let k = hdr::<4>(frame, off + 4).ok_or(TRUNC)?;
    let payload_len = be16(k[0], k[1]);
    let mut p = off + 8;
    if seq {
        p += 4;
    }
    if ack {
        p += 4;
    }
    if payload_len == 0 {
        // Acknowledgement-only packet: nothing inside.
        return Err(DissectError::NotIp(0));
    }
    ctx.out.tunnel = TunnelKind::Gre;
    ctx.out.tunnel_id = u32::from(be16(k[2], k[3]));
    ppp::ppp_inner(ctx, frame, p, TRUNC)
}
