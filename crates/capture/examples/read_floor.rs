//! Read-only floor: how fast can captures be iterated, doing nothing per packet
//! but touching its length?
//!
//! ```text
//! cargo run --release -p netlens-capture --example read_floor -- FILE...
//! cargo run --release -p netlens-capture --example read_floor -- --generate OUT.pcap N
//! ```
//!
//! Prints one line per run: packets, bytes, seconds, packets/s, bytes/s.
//! `--generate` writes N small (60-byte) Ethernet packets with the crate's writer.

use std::process::ExitCode;
use std::time::Instant;

use netlens_capture::{CaptureReader, Input, PcapWriter, ReadOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--generate") {
        let (Some(out), Some(n)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
        else {
            eprintln!("usage: read_floor --generate OUT.pcap N");
            return ExitCode::FAILURE;
        };
        return match generate(out, n) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{out}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if args.is_empty() {
        eprintln!("usage: read_floor FILE... | --generate OUT.pcap N");
        return ExitCode::FAILURE;
    }
    let inputs: Vec<Input> = args.iter().map(|a| Input::from_arg(a)).collect();
    let t0 = Instant::now();
    let mut r = match CaptureReader::open(&inputs, &ReadOptions::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut packets, mut bytes, mut check) = (0u64, 0u64, 0u64);
    while let Some(p) = r.next_packet() {
        packets += 1;
        bytes += p.data.len() as u64;
        // Touch the first byte so the data is really read.
        check = check.wrapping_add(u64::from(p.data.first().copied().unwrap_or(0)));
    }
    let secs = t0.elapsed().as_secs_f64();
    for w in r.take_warnings() {
        eprintln!("warning: {w}");
    }
    println!(
        "packets={packets} bytes={bytes} seconds={secs:.3} packets_per_s={:.0} bytes_per_s={:.0} (check {check})",
        packets as f64 / secs,
        bytes as f64 / secs
    );
    ExitCode::SUCCESS
}

fn generate(out: &str, n: u64) -> std::io::Result<()> {
    let mut w = PcapWriter::create(std::path::Path::new(out), 1, 65535, false)?;
    let mut frame = [0u8; 60];
    frame[12] = 0x08; // IPv4 ethertype
    for i in 0..n {
        frame[59] = i as u8;
        w.write_packet(1_700_000_000_000_000_000 + (i as i64) * 1_000, &frame, 60)?;
    }
    w.close()
}
