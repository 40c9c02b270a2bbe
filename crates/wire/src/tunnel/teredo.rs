//! Teredo (RFC 4380): optional authentication and origin indicators, then
//! an IPv6 packet that must fill the UDP payload exactly.
//!
//! After qualification, Teredo clients talk to relays and peers on arbitrary
//! UDP ports, so (like Zeek) every UDP payload is a candidate. Off port 3544
//! the inner packet must additionally have a Teredo address (2001:0::/32) as
//! source or destination, which keeps false positives negligible.

use super::{BAD, TRUNC};
use crate::bytes::{be16, hdr};
use crate::summary::TunnelKind;
use crate::{Ctx, Res, ip};

/// Teredo payload at `frame[off..]`; `frame` ends at the UDP payload end.
pub(crate) fn teredo(ctx: &mut Ctx, frame: &[u8], off: usize, on_port: bool) -> Res {
    let mut p = off;
    let h = hdr::<4>(frame, p).ok_or(TRUNC)?;
    if h[0] == 0 && h[1] == 1 {
        // Authentication: id length, auth length, id, auth, nonce(8), confirmation(1).
        p += 4 + usize::from(h[2]) + usize::from(h[3]) + 9;
    }
    let h = hdr::<2>(frame, p).ok_or(TRUNC)?;
    if h[0] == 0 && h[1] == 0 {
        // Origin indication: 2 + port(2) + address(4).
        p += 8;
    }
    let v6 = hdr::<6>(frame, p).ok_or(TRUNC)?;
    if v6[0] >> 4 != 6 || 40 + usize::from(be16(v6[4], v6[5])) != frame.len() - p {
        return Err(BAD);
    }
    if !on_port {
        let a = hdr::<40>(frame, p).ok_or(TRUNC)?;
        let teredo_prefix = |i: usize| a.get(i..i + 4) == Some(&[0x20, 0x01, 0, 0][..]);
        if !teredo_prefix(8) && !teredo_prefix(24) {
            return Err(BAD);
        }
    }
    ctx.out.tunnel = TunnelKind::Teredo;
    ctx.out.tunnel_id = 0;
    ip::ipv6(ctx, frame, p)
}
