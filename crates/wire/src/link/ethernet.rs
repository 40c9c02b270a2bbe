//! Ethernet II / 802.3 LLC-SNAP, 802.1Q/802.1ad tag stacks and the EtherType
//! dispatch shared by every framing that names its payload by EtherType.
//!
//! Invariants: only the outermost Ethernet header sets the MACs and only the
//! outermost VLAN tag sets `vlan_id`; at most [`MAX_VLAN_TAGS`] tags are
//! followed per Ethernet header.

use super::{TRUNC, mpls, ppp};
use crate::bytes::{be16, hdr};
use crate::error::{DissectError, Layer};
use crate::{Ctx, Res, ip};
use etherparse::{Ethernet2HeaderSlice, SingleVlanHeaderSlice};

/// EtherType IPv4.
pub(crate) const ET_IPV4: u16 = 0x0800;
/// EtherType IPv6.
pub(crate) const ET_IPV6: u16 = 0x86dd;
/// EtherType 802.1Q customer tag.
pub(crate) const ET_VLAN: u16 = 0x8100;
/// EtherType 802.1ad service tag.
pub(crate) const ET_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ EtherTypes.
const ET_QINQ_OLD: [u16; 3] = [0x9100, 0x9200, 0x9300];
/// EtherType MPLS unicast.
pub(crate) const ET_MPLS: u16 = 0x8847;
/// EtherType MPLS multicast.
pub(crate) const ET_MPLS_MC: u16 = 0x8848;
/// EtherType PPPoE session stage.
pub(crate) const ET_PPPOE: u16 = 0x8864;
/// Transparent Ethernet Bridging (Ethernet inside GRE/Geneve).
pub(crate) const ET_TEB: u16 = 0x6558;

/// Maximum VLAN tags followed in one Ethernet header.
pub(crate) const MAX_VLAN_TAGS: u8 = 8;

/// True for the EtherTypes of VLAN tags.
#[inline]
fn is_vlan(et: u16) -> bool {
    et == ET_VLAN || et == ET_QINQ || ET_QINQ_OLD.contains(&et)
}

/// Ethernet II (or 802.3 with LLC/SNAP) at `frame[off..]`.
pub(crate) fn ethernet(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let eth =
        Ethernet2HeaderSlice::from_slice(frame.get(off..).unwrap_or(&[])).map_err(|_| TRUNC)?;
    if !ctx.have_mac {
        ctx.have_mac = true;
        ctx.out.src_mac = eth.source();
        ctx.out.dst_mac = eth.destination();
    }
    let et = eth.ether_type().0;
    let off = off + 14;
    if et < 0x0600 {
        // 802.3 length field: an LLC header follows.
        return llc(ctx, frame, off);
    }
    ethertype(ctx, et, frame, off)
}

/// 802.2 LLC; only SNAP with an EtherType leads anywhere.
pub(crate) fn llc(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let h = hdr::<3>(frame, off).ok_or(TRUNC)?;
    if h[0] != 0xaa || h[1] != 0xaa || h[2] != 0x03 {
        return Err(DissectError::NotIp(0));
    }
    let s = hdr::<5>(frame, off + 3).ok_or(TRUNC)?;
    ethertype(ctx, be16(s[3], s[4]), frame, off + 8)
}

/// Dispatch `frame[off..]` by EtherType `et`.
pub(crate) fn ethertype(ctx: &mut Ctx, et: u16, frame: &[u8], off: usize) -> Res {
    match et {
        ET_IPV4 => ip::ipv4(ctx, frame, off),
        ET_IPV6 => ip::ipv6(ctx, frame, off),
        ET_MPLS | ET_MPLS_MC => mpls::mpls(ctx, frame, off),
        ET_PPPOE => ppp::pppoe(ctx, frame, off),
        // Only reachable from tunnels, which already count one nesting level.
        ET_TEB => ethernet(ctx, frame, off),
        et if is_vlan(et) => vlan(ctx, frame, off),
        other => Err(DissectError::NotIp(other)),
    }
}

/// A stack of VLAN tags starting at `frame[off..]`.
fn vlan(ctx: &mut Ctx, frame: &[u8], mut off: usize) -> Res {
    let mut tags = 0u8;
    loop {
        let tag = SingleVlanHeaderSlice::from_slice(frame.get(off..).unwrap_or(&[]))
            .map_err(|_| DissectError::Truncated(Layer::Vlan))?;
        if ctx.out.vlan_depth == 0 {
            ctx.out.vlan_id = tag.vlan_identifier().value();
        }
        ctx.out.vlan_depth = ctx.out.vlan_depth.saturating_add(1);
        tags += 1;
        off += 4;
        let et = tag.ether_type().0;
        if !is_vlan(et) {
            return ethertype(ctx, et, frame, off);
        }
        if tags >= MAX_VLAN_TAGS {
            return Err(DissectError::TooDeep);
        }
    }
}
