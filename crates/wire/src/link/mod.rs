//! Link-layer decoders, one file per framing, and the link-type dispatch.
//!
//! Each decoder consumes its header and hands the rest of the frame to the
//! EtherType dispatch ([`ethernet::ethertype`]) or straight to the IP layer.
//! etherparse covers Ethernet II and VLAN tags (used in `ethernet.rs`), but
//! not null/loop, PPP, HDLC, SLL2, NFLOG, PPI, radiotap or 802.11 data
//! frames, so those small headers are decoded here by hand.

pub(crate) mod ethernet;
pub(crate) mod mpls;
pub(crate) mod nflog;
pub(crate) mod null;
pub(crate) mod ppp;
pub(crate) mod sll;
pub(crate) mod wlan;

use crate::error::{DissectError, Layer};
use crate::linktype as lt;
use crate::{Ctx, Res, ip};

/// Decode `frame[off..]` as a frame of link type `linktype`.
pub(crate) fn dissect_link(ctx: &mut Ctx, linktype: u32, frame: &[u8], off: usize) -> Res {
    match linktype {
        lt::ETHERNET => ethernet::ethernet(ctx, frame, off),
        lt::RAW | lt::RAW_LEGACY_12 | lt::RAW_LEGACY_14 => ip::ip_by_version(ctx, frame, off),
        lt::IPV4 => ip::ipv4(ctx, frame, off),
        lt::IPV6 => ip::ipv6(ctx, frame, off),
        lt::NULL | lt::LOOP => null::null(ctx, frame, off),
        lt::PPP | lt::PPP_HDLC => ppp::ppp(ctx, frame, off),
        lt::C_HDLC => ppp::cisco_hdlc(ctx, frame, off),
        lt::LINUX_SLL => sll::sll(ctx, frame, off),
        lt::LINUX_SLL2 => sll::sll2(ctx, frame, off),
        lt::NFLOG => nflog::nflog(ctx, frame, off),
        lt::PPI => wlan::ppi(ctx, frame, off),
        lt::IEEE802_11 => wlan::ieee80211(ctx, frame, off),
        lt::IEEE802_11_RADIOTAP => wlan::radiotap(ctx, frame, off),
        other => Err(DissectError::UnsupportedLinkType(other)),
    }
}

/// Shorthand for a truncated link header.
pub(crate) const TRUNC: DissectError = DissectError::Truncated(Layer::Link);
/// Shorthand for a malformed link header.
pub(crate) const BAD: DissectError = DissectError::Malformed(Layer::Link);
