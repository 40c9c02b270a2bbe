//! AYIYA ("Anything In Anything", SixXS): 8-byte header, identity of
//! 2^idlen bytes and a signature of siglen*4 bytes, then the payload named by
//! its next-header field (IPv4 or IPv6). Only "forward" (opcode 1) packets
//! carry data.

use super::{BAD, TRUNC};
use crate::bytes::hdr;
use crate::error::DissectError;
use crate::summary::TunnelKind;
use crate::{Ctx, Res, ip};

/// AYIYA header at `frame[off..]` (the UDP payload).
pub(crate) fn ayiya(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    let id_len = 1usize << (h[0] >> 4);
    let sig_len = usize::from(h[1] >> 4) * 4;
    if h[2] & 0x0f != 1 {
        return Err(DissectError::NotIp(0));
    }
    let p = off + 8 + id_len + sig_len;
    if p > frame.len() {
        return Err(TRUNC);
    }
    ctx.out.tunnel = TunnelKind::Ayiya;
    ctx.out.tunnel_id = 0;
    match h[3] {
        4 => ip::ipv4(ctx, frame, p),
        41 => ip::ipv6(ctx, frame, p),
        _ => Err(BAD),
    }
}
