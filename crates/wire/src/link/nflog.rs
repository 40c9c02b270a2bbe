//! Linux NFLOG: a 4-byte header (family, version, resource id) followed by
//! TLVs; the TLV of type `NFULA_PAYLOAD` (9) holds the IP packet.
//!
//! TLV length and type are in the capturing host's byte order; little-endian
//! is tried first and big-endian when that reading is impossible. Lengths
//! include the 4-byte TLV header and TLVs are padded to 4 bytes. etherparse
//! has no NFLOG support. Invariant: the walk always advances by at least 4
//! bytes, so it terminates within `frame.len() / 4` steps.

use super::{BAD, TRUNC};
use crate::bytes::hdr;
use crate::error::DissectError;
use crate::{Ctx, Res, ip};

/// TLV type of the packet payload.
const NFULA_PAYLOAD: u16 = 9;
/// Linux AF_INET.
const AF_INET: u8 = 2;
/// Linux AF_INET6.
const AF_INET6: u8 = 10;

/// NFLOG record at `frame[off..]`.
pub(crate) fn nflog(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    let family = h[0];
    if h[1] != 0 {
        return Err(BAD);
    }
    let mut p = off + 4;
    loop {
        let t = hdr::<4>(frame, p).ok_or(TRUNC)?;
        let remaining = frame.len() - p;
        let le_len = usize::from(u16::from_le_bytes([t[0], t[1]]));
        let (len, ty) = if (4..=remaining).contains(&le_len) {
            (le_len, u16::from_le_bytes([t[2], t[3]]))
        } else {
            let be_len = usize::from(u16::from_be_bytes([t[0], t[1]]));
            if !(4..=remaining).contains(&be_len) {
                return Err(if le_len < 4 && be_len < 4 { BAD } else { TRUNC });
            }
            (be_len, u16::from_be_bytes([t[2], t[3]]))
        };
        // The high bits of the type are netlink flags (nested / byte order).
        if ty & 0x3fff == NFULA_PAYLOAD {
            let payload = frame.get(..p + len).unwrap_or(frame);
            return match family {
                AF_INET => ip::ipv4(ctx, payload, p + 4),
                AF_INET6 => ip::ipv6(ctx, payload, p + 4),
                _ => ip::ip_by_version(ctx, payload, p + 4),
            };
        }
        p += (len + 3) & !3;
        if p >= frame.len() {
            // Walked every TLV without finding a payload.
            return Err(DissectError::NotIp(0));
        }
    }
}
