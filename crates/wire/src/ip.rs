//! IPv4 and IPv6 (with the extension-header chain) via etherparse header
//! slices, then hand-off to the transport layer.
//!
//! Invariants:
//! - The IPv4 header checksum is not verified (Zeek and nDPI count such packets).
//! - A declared length of 0 (TSO/LRO captures, IPv6 jumbograms) means "the
//!   captured bytes"; any other declared length shorter than the header is
//!   `Malformed`.
//! - The transport layer only sees bytes up to the declared datagram end, so
//!   Ethernet padding is never taken as payload.
//! - At most [`MAX_EXT_HEADERS`] IPv6 extension headers are walked.

use crate::bytes::{be16, be32, hdr};
use crate::error::{DissectError, Layer};
use crate::summary::{FragInfo, TcpInfo};
use crate::transport::{self, L4};
use crate::{Ctx, Res};
use etherparse::err::{ipv4, ipv6};
use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice};
use std::net::IpAddr;

/// Maximum IPv6 extension headers walked before giving up.
pub(crate) const MAX_EXT_HEADERS: u8 = 16;

/// IPv4 or IPv6, chosen by the version nibble of `frame[off]`.
pub(crate) fn ip_by_version(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    match frame.get(off).map(|b| b >> 4) {
        Some(4) => ipv4(ctx, frame, off),
        Some(6) => ipv6(ctx, frame, off),
        Some(_) => Err(DissectError::NotIp(0)),
        None => Err(DissectError::Truncated(Layer::Ipv4)),
    }
}

/// Reset the per-IP-packet fields before (re)filling them for an inner packet.
#[inline]
fn reset_ip(ctx: &mut Ctx) {
    let o = &mut *ctx.out;
    o.frag = FragInfo::default();
    o.tcp = TcpInfo::default();
    o.icmp_type = 0;
    o.icmp_code = 0;
    o.src_port = 0;
    o.dst_port = 0;
    o.ports_known = false;
    o.l4_header_len = 0;
    o.l4_payload_len = 0;
    o.payload_offset = 0;
    o.payload_captured = 0;
}

/// IPv4 header at `frame[off..]`.
pub(crate) fn ipv4(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let rest = frame.get(off..).unwrap_or(&[]);
    let h = Ipv4HeaderSlice::from_slice(rest).map_err(|e| match e {
        ipv4::HeaderSliceError::Len(_) => DissectError::Truncated(Layer::Ipv4),
        ipv4::HeaderSliceError::Content(_) => DissectError::Malformed(Layer::Ipv4),
    })?;
    let hl = h.slice().len();
    let total = match usize::from(h.total_len()) {
        0 => rest.len(),
        t if t < hl => return Err(DissectError::Malformed(Layer::Ipv4)),
        t => t,
    };
    reset_ip(ctx);
    let o = &mut *ctx.out;
    o.ip_version = 4;
    o.src_ip = IpAddr::V4(h.source_addr());
    o.dst_ip = IpAddr::V4(h.destination_addr());
    o.ttl = h.ttl();
    o.ip_len = total as u32;
    o.ip_header_len = hl as u16;
    let frag_off = u32::from(h.fragments_offset().value()) * 8;
    let more = h.more_fragments();
    if frag_off != 0 || more {
        o.frag = FragInfo {
            is_fragment: true,
            offset: frag_off,
            more,
            id: u32::from(h.identification()),
        };
    }
    let l4 = L4 {
        off: off + hl,
        end: off + total.min(rest.len()),
        declared: (total - hl) as u32,
        complete: total <= rest.len(),
        non_first_fragment: frag_off != 0,
    };
    transport::transport(ctx, frame, h.protocol().0, l4)
}

/// IPv6 header and extension chain at `frame[off..]`.
pub(crate) fn ipv6(ctx: &mut Ctx, frame: &[u8], off: usize) -> Res {
    let rest = frame.get(off..).unwrap_or(&[]);
    let h = Ipv6HeaderSlice::from_slice(rest).map_err(|e| match e {
        ipv6::HeaderSliceError::Len(_) => DissectError::Truncated(Layer::Ipv6),
        ipv6::HeaderSliceError::Content(_) => DissectError::Malformed(Layer::Ipv6),
    })?;
    let total = match usize::from(h.payload_length()) {
        0 => rest.len(),
        p => 40 + p,
    };
    reset_ip(ctx);
    let end = off + total.min(rest.len());
    let complete = total <= rest.len();
    let bounded = frame.get(..end).unwrap_or(frame);
    let o = &mut *ctx.out;
    o.ip_version = 6;
    o.src_ip = IpAddr::V6(h.source_addr());
    o.dst_ip = IpAddr::V6(h.destination_addr());
    o.ttl = h.hop_limit();
    o.ip_len = total as u32;

    // Own walker rather than etherparse's Ipv6ExtensionsSlice: that one keeps
    // reading headers after a non-first fragment header (whose payload is
    // fragment data, not headers) and hides the fragment fields we report.
    let trunc = if complete {
        DissectError::Malformed(Layer::Ipv6)
    } else {
        DissectError::Truncated(Layer::Ipv6)
    };
    let mut nh = h.next_header().0;
    let mut p = off + 40;
    let mut count = 0u8;
    let mut non_first = false;
    loop {
        let len = match nh {
            // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
            0 | 43 | 60 => {
                let e = hdr::<2>(bounded, p).ok_or(trunc)?;
                nh = e[0];
                (usize::from(e[1]) + 1) * 8
            }
            // Fragment header: 8 bytes.
            44 => {
                let f = hdr::<8>(bounded, p).ok_or(trunc)?;
                nh = f[0];
                let fo = be16(f[2], f[3]);
                let offset = u32::from(fo >> 3) * 8;
                let more = fo & 1 != 0;
                if offset != 0 || more {
                    o.frag = FragInfo {
                        is_fragment: true,
                        offset,
                        more,
                        id: be32(f[4], f[5], f[6], f[7]),
                    };
                }
                non_first = offset != 0;
                8
            }
            // Authentication header: (len + 2) * 4 bytes.
            51 => {
                let a = hdr::<2>(bounded, p).ok_or(trunc)?;
                nh = a[0];
                (usize::from(a[1]) + 2) * 4
            }
            _ => break,
        };
        if p + len > end {
            return Err(trunc);
        }
        p += len;
        count += 1;
        if non_first {
            break;
        }
        if count >= MAX_EXT_HEADERS {
            return Err(DissectError::TooDeep);
        }
    }
    let hl = p - off;
    o.ip_header_len = hl as u16;
    let l4 = L4 {
        off: p,
        end,
        declared: total.saturating_sub(hl) as u32,
        complete,
        non_first_fragment: non_first,
    };
    transport::transport(ctx, frame, nh, l4)
}
