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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linktype::ETHERNET;
    use crate::testutil::*;

    fn label(value: u32, bottom: bool) -> [u8; 4] {
        ((value << 12) | (u32::from(bottom) << 8) | 64).to_be_bytes()
    }

    #[test]
    fn label_stack_then_ip() {
        let mut body = Vec::new();
        body.extend_from_slice(&label(100, false));
        body.extend_from_slice(&label(200, true));
        body.extend_from_slice(&ipv6(17, &udp(1, 2, b"")));
        let f = eth(0x8847, &body);
        let s = ok(ETHERNET, &f);
        assert_eq!((s.mpls_depth, s.ip_version, s.dst_port), (2, 6, 2));
        check_truncations(ETHERNET, &f);
    }

    #[test]
    fn pseudowire_ethernet_with_control_word() {
        let inner = [
            &[0x02, 9, 9, 9, 9, 9, 0x02, 8, 8, 8, 8, 8, 0x08, 0x00][..],
            &ipv4(17, &udp(1, 2, b"")),
        ]
        .concat();
        let mut body = label(16, true).to_vec();
        body.extend_from_slice(&[0, 0, 0, 0]);
        body.extend_from_slice(&inner);
        let s = ok(ETHERNET, &eth(0x8847, &body));
        // Outer MACs are kept.
        assert_eq!((s.src_mac, s.ip_version, s.mpls_depth), (SRC_MAC, 4, 1));
        // Without control word (a destination MAC whose first nibble is
        // not 0, 4 or 6; a 0 nibble is read as a control word).
        let mut body = label(16, true).to_vec();
        body.push(0x5a);
        body.extend_from_slice(&inner[1..]);
        assert_eq!(ok(ETHERNET, &eth(0x8847, &body)).dst_port, 2);
    }

    #[test]
    fn endless_label_stack_is_bounded() {
        let body: Vec<u8> = (0..20).flat_map(|i| label(i, false)).collect();
        assert_eq!(
            run(ETHERNET, &eth(0x8847, &body)),
            Err(DissectError::TooDeep)
        );
        let body: Vec<u8> = (0..3).flat_map(|i| label(i, false)).collect();
        assert_eq!(
            run(ETHERNET, &eth(0x8847, &body)),
            Err(DissectError::Truncated(Layer::Mpls))
        );
    }
}
