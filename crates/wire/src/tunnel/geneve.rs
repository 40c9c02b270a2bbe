//! Geneve (RFC 8926): 8-byte base header, variable options (skipped), then
//! a payload named by EtherType (Ethernet 0x6558, IPv4, IPv6, ...).

use super::{BAD, TRUNC};
use crate::bytes::{be16, be32, hdr};
use crate::link::ethernet;
use crate::summary::TunnelKind;
use crate::{Ctx, Res};

/// Geneve header at `frame[off..]` (the UDP payload).
pub(crate) fn geneve(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if h[0] >> 6 != 0 {
        return Err(BAD);
    }
    let opt_len = usize::from(h[0] & 0x3f) * 4;
    let proto = be16(h[2], h[3]);
    let p = off + 8 + opt_len;
    if p > frame.len() {
        return Err(TRUNC);
    }
    ctx.out.tunnel = TunnelKind::Geneve;
    ctx.out.tunnel_id = be32(0, h[4], h[5], h[6]);
    ethernet::ethertype(ctx, proto, frame, p)
}
