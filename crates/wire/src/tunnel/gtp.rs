//! GTPv1-U (3GPP TS 29.281): T-PDU messages only, with the optional
//! sequence / N-PDU / next-extension word and extension headers, then an
//! IPv4 or IPv6 packet chosen by its version nibble.
//!
//! Invariant: at most [`MAX_EXT`] extension headers are followed, each at
//! least 4 bytes long.
//!
//! Off UDP port 2152 (like Zeek, which detects GTP on any port) a packet is
//! only taken as GTP-U when the GTP length fills the UDP payload exactly and
//! the inner IP header's total length fills the rest exactly.

use super::{BAD, TRUNC};
use crate::bytes::{be16, be32, hdr, upto};
use crate::error::DissectError;
use crate::summary::TunnelKind;
use crate::{Ctx, Res, ip};

/// Maximum GTP extension headers followed.
const MAX_EXT: u8 = 8;
/// GTP message type of user data.
const T_PDU: u8 = 0xff;

/// GTP-U header at `frame[off..]` (the UDP payload).
pub(crate) fn gtpu(ctx: &mut Ctx, frame: &[u8], off: usize, on_port: bool) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if h[0] >> 5 != 1 || h[0] & 0x10 == 0 {
        return Err(BAD);
    }
    if h[1] != T_PDU {
        // Echo, error indication, end marker ...: signalling, not user data.
        return Err(DissectError::NotIp(0));
    }
    let len = usize::from(be16(h[2], h[3]));
    if !on_port && off + 8 + len != frame.len() {
        return Err(BAD);
    }
    let teid = be32(h[4], h[5], h[6], h[7]);
    let frame = upto(frame, off + 8 + len);
    let mut p = off + 8;
    if h[0] & 0x07 != 0 {
        let o = hdr::<4>(frame, p).ok_or(TRUNC)?;
        let mut next = o[3];
        p += 4;
        let mut n = 0;
        while next != 0 {
            n += 1;
            if n > MAX_EXT {
                return Err(BAD);
            }
            let units = usize::from(*frame.get(p).ok_or(TRUNC)?);
            if units == 0 {
                return Err(BAD);
            }
            let elen = units * 4;
            next = *frame.get(p + elen - 1).ok_or(TRUNC)?;
            p += elen;
        }
    }
    if !on_port {
        let v = hdr::<6>(frame, p).ok_or(TRUNC)?;
        let declared = match v[0] >> 4 {
            4 => usize::from(be16(v[2], v[3])),
            6 => 40 + usize::from(be16(v[4], v[5])),
            _ => return Err(BAD),
        };
        if declared != frame.len() - p {
            return Err(BAD);
        }
    }
    ctx.out.tunnel = TunnelKind::GtpU;
    ctx.out.tunnel_id = teid;
    ip::ip_by_version(ctx, frame, p)
}
