//! Fuzz `netlens_wire::fast_tuple` against its contract: whenever the fast
//! path answers for an Ethernet frame, `dissect` succeeds on the frame and on
//! the frame cut just past the transport header (what the sharded reader
//! hands a worker), with the same flow fields, untagged and untunnelled.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlens_wire::{PacketSummary, dissect, fast_tuple, linktype};

fuzz_target!(|frame: &[u8]| {
    let Some(t) = fast_tuple(linktype::ETHERNET, frame) else {
        return;
    };
    assert!(t.header_end <= frame.len(), "header end outside the frame");
    for cut in [frame.len(), t.header_end] {
        let f = &frame[..cut];
        let mut s = PacketSummary::default();
        let r = dissect(linktype::ETHERNET, f, &mut s);
        assert!(r.is_ok(), "{r:?} cut at {cut}");
        assert_eq!(
            (s.ip_version, s.src_ip, s.dst_ip, s.protocol, s.src_port, s.dst_port),
            (t.ip_version, t.src_ip(), t.dst_ip(), t.protocol, t.src_port, t.dst_port),
            "cut at {cut}"
        );
        assert_eq!((s.vlan_id, s.tunnel_id), (0, 0), "cut at {cut}");
    }
});
