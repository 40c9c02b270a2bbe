//! Arbitrary bytes as a capture: through the streamed path (as stdin would be)
//! and the in-memory path (as a memory-mapped file would be); drain every packet.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use netlens_capture::{CaptureReader, ReadOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions::default();
    let stream = Box::new(Cursor::new(data.to_vec()));
    if let Ok(mut r) = CaptureReader::from_reader(stream, "fuzz".into(), &opts) {
        while let Some(p) = r.next_packet() {
            std::hint::black_box(p.data.len());
        }
        let _ = r.take_warnings();
    }
    if let Ok(mut r) = CaptureReader::from_bytes(data.to_vec(), "fuzz".into(), &opts) {
        while r.next_packet().is_some() {}
    }
});
