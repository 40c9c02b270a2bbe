//! MPLS label stacks (RFC 3032) and what follows the bottom label.
//!
//! etherparse has no MPLS support. The payload after the bottom-of-stack
//! label has no type field, so it is guessed like routers and Wireshark do:
//! first nibble 4 → IPv4, 6 → IPv6, 0 → pseudowire control word followed by
//! Ethernet, anything else → Ethernet without control word.
//! Invariant: at most [`MAX_LABELS`] labels are popped.

use crate::bytes::hdr;
use crate::error::{DissectError, Layer};
use crate::{Ctx, Res, ip};

/// Maximum MPLS labels popped before giving up with `TooDeep`.
pub(crate) const MAX_LABELS: u8 = 16;

/// MPLS label stack at `frame[off..]`.
pub(crate) fn mpls(ctx: &mut Ctx, frame: &[u8], mut off: usize) -> Res {
    let mut labels = 0u8;
    loop {
        let l = hdr::<4>(frame, off).ok_or(DissectError::Truncated(Layer::Mpls))?;
        labels += 1;
        ctx.out.mpls_depth = ctx.out.mpls_depth.saturating_add(1);
        off += 4;
        if l[2] & 0x01 != 0 {
            break;
        }
        if labels >= MAX_LABELS {
            return Err(DissectError::TooDeep);
        }
    }
    let first = *frame.get(off).ok_or(DissectError::Truncated(Layer::Mpls))?;
    match first >> 4 {
        4 => ip::ipv4(ctx, frame, off),
        6 => ip::ipv6(ctx, frame, off),
        // RFC 4385 pseudowire control word (first nibble 0), then Ethernet.
        0 => ctx.nested(|ctx| crate::link::ethernet::ethernet(ctx, frame, off + 4)),
        _ => ctx.nested(|ctx| crate::link::ethernet::ethernet(ctx, frame, off)),
    }
}
