//! CAPWAP data channel (RFC 5415, UDP 5247) carrying native IEEE 802.11
//! frames (RFC 5416), as sent by wireless access points to their controller.
//!
//! Only the data channel is decoded (the control channel on 5246 carries no
//! user packets). The CAPWAP header must have preamble type 0, the
//! "native frame" T bit and wireless binding 1 (IEEE 802.11). Cisco access
//! points send the 802.11 frame control field byte-swapped; like nDPI and
//! Wireshark's default, the frame is taken as swapped, and only data frames
//! (after the swap) are decoded.

use super::{BAD, TRUNC};
use crate::bytes::hdr;
use crate::link::wlan;
use crate::summary::TunnelKind;
use crate::{Ctx, Res};

/// CAPWAP data header at `frame[off..]` (the UDP payload).
pub(crate) fn capwap_data(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<4>(frame, off).ok_or(TRUNC)?;
    // Preamble: version 0, type 0 (a CAPWAP header; type 1 is DTLS).
    if h[0] != 0 {
        return Err(BAD);
    }
    let hlen = usize::from(h[1] >> 3) * 4;
    let wbid = (h[2] >> 1) & 0x1f;
    let native = h[2] & 0x01 != 0;
    if hlen < 8 || wbid != 1 || !native {
        return Err(BAD);
    }
    ctx.out.tunnel = TunnelKind::Capwap;
    ctx.out.tunnel_id = 0;
    wlan::ieee80211_swapped_fc(ctx, frame, off + hlen)
}
