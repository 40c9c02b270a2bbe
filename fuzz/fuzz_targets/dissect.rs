//! Fuzz `netlens_wire::dissect`: the first two bytes pick a link type from
//! the supported list (plus one unsupported value), the rest is the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlens_wire::{PacketSummary, dissect, linktype::SUPPORTED};

fuzz_target!(|data: &[u8]| {
    let Some((sel, frame)) = data.split_first_chunk::<2>() else {
        return;
    };
    let i = usize::from(u16::from_le_bytes(*sel)) % (SUPPORTED.len() + 1);
    let lt = SUPPORTED.get(i).copied().unwrap_or(4242);
    let mut out = PacketSummary::default();
    if dissect(lt, frame, &mut out).is_ok() {
        let end = out.payload_offset as usize + out.payload_captured as usize;
        assert!(end <= frame.len(), "payload outside the frame");
    }
});
