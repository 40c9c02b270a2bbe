//! IEEE 802.11 data frames, the radiotap and PPI radio headers.
//!
//! Only unprotected data frames with an LLC/SNAP header lead to IP (of an
//! A-MSDU, the first subframe); every
//! management/control frame, null-data frame and encrypted frame is non-IP.
//! etherparse has no 802.11, radiotap or PPI support. The radio headers are
//! skipped using their own length fields; their contents are not needed.

use super::{BAD, TRUNC, ethernet};
use crate::bytes::{be16, hdr};
use crate::error::DissectError;
use crate::{Ctx, Res, linktype};

/// Radiotap header (version 0, length field little-endian) then 802.11.
pub(crate) fn radiotap(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    if h[0] != 0 {
        return Err(BAD);
    }
    let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
    if len < 8 {
        return Err(BAD);
    }
    ieee80211(ctx, frame, off + len)
}

/// PPI header (version 0, little-endian length and DLT) then the inner link type.
pub(crate) fn ppi(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if h[0] != 0 {
        return Err(BAD);
    }
    let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
    let dlt = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if len < 8 || dlt == linktype::PPI {
        return Err(BAD);
    }
    ctx.nested(|ctx| super::dissect_link(ctx, dlt, frame, off + len))
}

/// An 802.11 MAC frame at `frame[off..]`.
pub(crate) fn ieee80211(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let fc = hdr::<2>(frame, off).ok_or(TRUNC)?;
    mac_frame(ctx, frame, off, fc[0], fc[1])
}

/// An 802.11 MAC frame whose two frame-control bytes are swapped (Cisco
/// access points in CAPWAP).
pub(crate) fn ieee80211_swapped_fc(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let fc = hdr::<2>(frame, off).ok_or(TRUNC)?;
    mac_frame(ctx, frame, off, fc[1], fc[0])
}

/// The MAC frame at `frame[off..]` with frame control bytes `fc0`, `fc1`.
fn mac_frame(ctx: &mut Ctx, frame: &[u8], off: usize, fc0: u8, fc1: u8) -> Res {
    let ftype = (fc0 >> 2) & 0x3;
    let subtype = fc0 >> 4;
    if fc0 & 0x3 != 0 {
        // Protocol version must be 0.
        return Err(BAD);
    }
    if ftype != 2 || subtype & 0x4 != 0 || fc1 & 0x40 != 0 {
        // Not data, a null-data subtype, or protected (encrypted) payload.
        return Err(DissectError::NotIp(0));
    }
    let mut len = 24;
    if fc1 & 0x03 == 0x03 {
        len += 6; // fourth address (WDS)
    }
    let qos = subtype & 0x8 != 0;
    let mut amsdu = false;
    if qos {
        // QoS control: bit 7 of its first byte flags an A-MSDU payload.
        amsdu = frame.get(off + len).ok_or(TRUNC)? & 0x80 != 0;
        len += 2;
        if fc1 & 0x80 != 0 {
            len += 4; // HT control
        }
    }
    hdr::<24>(frame, off).ok_or(TRUNC)?;
    let mut off = off + len;
    if amsdu {
        // Only the first A-MSDU subframe is decoded: DA, SA, length, then
        // LLC. A summary describes one packet per frame.
        hdr::<14>(frame, off).ok_or(TRUNC)?;
        off += 14;
    }
    let llc = hdr::<8>(frame, off).ok_or(TRUNC)?;
    if llc[0] != 0xaa || llc[1] != 0xaa || llc[2] != 0x03 {
        return Err(DissectError::NotIp(0));
    }
    ethernet::ethertype(ctx, be16(llc[6], llc[7]), frame, off + 8)
}
