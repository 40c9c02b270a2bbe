//! BSD loopback (`DLT_NULL`) and OpenBSD loop (`DLT_LOOP`) headers.
//!
//! Both carry a 4-byte address family. NULL stores it in the capturing
//! host's byte order, which the file does not record, so both byte orders are
//! tried; LOOP is network order, which the same test covers. etherparse has
//! no decoder for this header.

use super::TRUNC;
use crate::bytes::hdr;
use crate::error::DissectError;
use crate::{Ctx, Res, ip};

/// `AF_INET` on every BSD and Linux.
const AF_INET: u32 = 2;
/// `AF_INET6` on NetBSD/OpenBSD (24), FreeBSD (28) and macOS (30).
const AF_INET6: [u32; 3] = [24, 28, 30];

/// Loopback header at `frame[off..]`.
pub(crate) fn null(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    let le = u32::from_le_bytes(*h);
    let be = u32::from_be_bytes(*h);
    let off = off + 4;
    if le == AF_INET || be == AF_INET {
        ip::ipv4(ctx, frame, off)
    } else if AF_INET6.contains(&le) || AF_INET6.contains(&be) {
        ip::ipv6(ctx, frame, off)
    } else {
        Err(DissectError::NotIp(0))
    }
}
