//! VXLAN (RFC 7348): 8-byte header with the I flag and a 24-bit VNI, then
//! an Ethernet frame.

use super::{BAD, TRUNC};
use crate::bytes::{be32, hdr};
use crate::link::ethernet;
use crate::summary::TunnelKind;
use crate::{Ctx, Res};

/// VXLAN header at `frame[off..]` (the UDP payload).
pub(crate) fn vxlan(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if h[0] & 0x08 == 0 {
        return Err(BAD);
    }
    ctx.out.tunnel = TunnelKind::Vxlan;
    ctx.out.tunnel_id = be32(0, h[4], h[5], h[6]);
    ethernet::ethernet(ctx, frame, off + 8)
}
