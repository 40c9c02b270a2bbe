//! Frame builders and checks shared by the unit tests (test builds only).

use crate::{DissectError, PacketSummary, dissect};

/// Source MAC used by [`eth`].
pub const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// Destination MAC used by [`eth`].
pub const DST_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// Ethernet II frame.
pub fn eth(et: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&DST_MAC);
    v.extend_from_slice(&SRC_MAC);
    v.extend_from_slice(&et.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// IPv4 10.0.0.1 → 10.0.0.2 with options and fragment field.
pub fn ipv4_with(proto: u8, opts: &[u8], frag: u16, payload: &[u8]) -> Vec<u8> {
    let hl = 20 + opts.len();
    let total = (hl + payload.len()) as u16;
    let mut v = vec![0x40 | (hl / 4) as u8, 0];
    v.extend_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&[0x12, 0x34]);
    v.extend_from_slice(&frag.to_be_bytes());
    v.extend_from_slice(&[64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    v.extend_from_slice(opts);
    v.extend_from_slice(payload);
    v
}

/// IPv4 10.0.0.1 → 10.0.0.2.
pub fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_with(proto, &[], 0, payload)
}

/// IPv6 2001:db8::1 → 2001:db8::2; `payload` includes any extension headers.
pub fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x60, 0, 0, 0];
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 64]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v.extend_from_slice(payload);
    v
}

/// UDP header + payload.
pub fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// TCP header (seq 1000, ack 2000, window 512) with raw options (padded to 4).
pub fn tcp(sp: u16, dp: u16, flags: u16, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut o = opts.to_vec();
    while !o.len().is_multiple_of(4) {
        o.push(0);
    }
    let words = (20 + o.len()) / 4;
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&1000u32.to_be_bytes());
    v.extend_from_slice(&2000u32.to_be_bytes());
    v.push(((words as u8) << 4) | ((flags >> 8) as u8 & 1));
    v.push(flags as u8);
    v.extend_from_slice(&512u16.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&o);
    v.extend_from_slice(payload);
    v
}

/// A plain Ethernet / IPv4 / UDP 1234 → 53 frame with 4 payload bytes.
pub fn eth_v4_udp() -> Vec<u8> {
    eth(0x0800, &ipv4(17, &udp(1234, 53, b"abcd")))
}

/// Dissect into a fresh summary.
pub fn run(lt: u32, frame: &[u8]) -> Result<PacketSummary, DissectError> {
    let mut s = PacketSummary::default();
    dissect(lt, frame, &mut s).map(|()| s)
}

/// Dissect a frame that must decode.
pub fn ok(lt: u32, frame: &[u8]) -> PacketSummary {
    match run(lt, frame) {
        Ok(s) => s,
        Err(e) => panic!("expected success, got {e:?} for {frame:02x?}"),
    }
}

/// Every prefix of a valid frame decodes without panic; a prefix that cuts
/// into the headers never yields the full result (it is an error, or the
/// outer packet of a tunnel).
pub fn check_truncations(lt: u32, frame: &[u8]) {
    let full = ok(lt, frame);
    for i in 0..frame.len() {
        let r = run(lt, &frame[..i]);
        if i < full.payload_offset as usize
            && let Ok(s) = r
        {
            assert!(
                s.tunnel != full.tunnel
                    || s.payload_offset < full.payload_offset
                    || s.tunnel_id != full.tunnel_id,
                "prefix {i} decoded like the full frame"
            );
            assert_ne!(
                full.tunnel,
                crate::TunnelKind::None,
                "prefix {i} of an untunnelled frame decoded"
            );
        }
    }
}
