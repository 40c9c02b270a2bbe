//! Linux cooked capture headers SLL (16 bytes) and SLL2 (20 bytes).
//!
//! etherparse decodes SLL v1 but not SLL2; both are fixed-size and decoded
//! here the same way for symmetry. The protocol field is an EtherType, except
//! for a few Linux pseudo-values (802.3, 802.2 LLC, CAN, ...) which are not IP,
//! and ARPHRD_NETLINK (824) frames which carry netlink messages.

use super::{TRUNC, ethernet};
use crate::bytes::{be16, hdr};
use crate::error::DissectError;
use crate::{Ctx, Res};

/// ARPHRD value of netlink captures (protocol field is not an EtherType).
const ARPHRD_NETLINK: u16 = 824;

/// Linux SLL v1 at `frame[off..]`.
pub(crate) fn sll(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<16>(frame, off).ok_or(TRUNC)?;
    let arphrd = be16(h[2], h[3]);
    let proto = be16(h[14], h[15]);
    next(ctx, arphrd, proto, frame, off + 16)
}

/// Linux SLL v2 at `frame[off..]`.
pub(crate) fn sll2(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<20>(frame, off).ok_or(TRUNC)?;
    let proto = be16(h[0], h[1]);
    let arphrd = be16(h[8], h[9]);
    next(ctx, arphrd, proto, frame, off + 20)
}

/// Common tail of SLL and SLL2.
fn next(ctx: &mut Ctx, arphrd: u16, proto: u16, frame: &[u8], off: usize) -> Res {
    if arphrd == ARPHRD_NETLINK {
        return Err(DissectError::NotIp(0));
    }
    match proto {
        // Linux pseudo-protocols below 0x0600: 802.3 (1), AX.25 (2), 802.2 (4), CAN (0xc) ...
        0x0004 => ethernet::llc(ctx, frame, off),
        p if p < 0x0600 => Err(DissectError::NotIp(p)),
        p => ethernet::ethertype(ctx, p, frame, off),
    }
}
