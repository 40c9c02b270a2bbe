//! Build a large benchmark capture by replaying real captures with rewritten
//! addresses and shifted timestamps.
//!
//! ```text
//! make_bench_capture OUT.pcap MIN_PACKETS SNAPLEN INPUT...
//! ```
//!
//! Each round replays every Ethernet/IPv4 and Ethernet/IPv6 packet of the
//! inputs (in timestamp order), adds the round number to the second and third
//! bytes of every IPv4 address (and to bytes 2..4 of IPv6 addresses) so each
//! round's flows are new flows, and shifts time so rounds follow each other.
//! Packets are cut to SNAPLEN captured bytes (the on-the-wire length is kept),
//! as a headers-only capture would be. Stops after MIN_PACKETS packets.

use std::process::ExitCode;

use netlens_capture::{CaptureReader, Input, PcapWriter, ReadOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        eprintln!("usage: make_bench_capture OUT.pcap MIN_PACKETS SNAPLEN INPUT...");
        return ExitCode::FAILURE;
    }
    let (Ok(min_packets), Ok(snaplen)) = (args[1].parse::<u64>(), args[2].parse::<usize>()) else {
        eprintln!("MIN_PACKETS and SNAPLEN must be numbers");
        return ExitCode::FAILURE;
    };
    match build(&args[0], min_packets, snaplen, &args[3..]) {
        Ok((n, bytes)) => {
            eprintln!(
                "wrote {} packets, {} captured bytes to {}",
                n, bytes, args[0]
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_bench_capture: {e}");
            ExitCode::FAILURE
        }
    }
}

fn build(
    out: &str,
    min_packets: u64,
    snaplen: usize,
    inputs: &[String],
) -> Result<(u64, u64), String> {
    let file = std::fs::File::create(out).map_err(|e| format!("{out}: {e}"))?;
    let mut w = PcapWriter::new(
        std::io::BufWriter::with_capacity(1 << 20, file),
        1,
        snaplen as u32,
        false,
    )
    .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(65_536);
    let (mut n, mut bytes, mut round) = (0u64, 0u64, 0u32);
    let mut offset_ns: i64 = 0;
    let base_ns: i64 = 1_700_000_000_000_000_000;
    'rounds: while n < min_packets {
        let mut wrote = 0u64;
        for input in inputs {
            let mut r = CaptureReader::open(&[Input::from_arg(input)], &ReadOptions::default())
                .map_err(|e| e.to_string())?;
            let mut first = None::<i64>;
            let mut span = 0i64;
            while let Some(p) = r.next_packet() {
                if p.linktype != 1 || p.data.len() < 34 {
                    continue;
                }
                let et = u16::from_be_bytes([p.data[12], p.data[13]]);
                buf.clear();
                buf.extend_from_slice(&p.data[..p.data.len().min(snaplen)]);
                let add = (round + 1).to_be_bytes();
                match et {
                    0x0800 if buf.len() >= 34 => {
                        for base in [26usize, 30] {
                            buf[base + 1] = buf[base + 1].wrapping_add(add[2]);
                            buf[base + 2] = buf[base + 2].wrapping_add(add[3]);
                        }
                    }
                    0x86dd if buf.len() >= 54 => {
                        for base in [22usize, 38] {
                            buf[base + 2] = buf[base + 2].wrapping_add(add[2]);
                            buf[base + 3] = buf[base + 3].wrapping_add(add[3]);
                        }
                    }
                    _ => continue,
                }
                // Each input is re-based to start where the previous one ended;
                // odd clocks (captures spanning years) are squeezed into 10 minutes.
                let t0 = *first.get_or_insert(p.ts_ns);
                let rel = (p.ts_ns - t0).clamp(0, 600_000_000_000);
                span = span.max(rel);
                w.write_packet(base_ns + offset_ns + rel, &buf, p.wire_len)
                    .map_err(|e| e.to_string())?;
                n += 1;
                wrote += 1;
                bytes += buf.len() as u64;
                if n >= min_packets {
                    break 'rounds;
                }
            }
            offset_ns += span + 1_000_000;
        }
        if wrote == 0 {
            return Err("inputs contain no Ethernet IPv4/IPv6 packets".into());
        }
        round += 1;
    }
    w.finish().map_err(|e| e.to_string())?;
    Ok((n, bytes))
}
