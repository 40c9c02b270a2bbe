//! Capture N packets on an interface (default `lo`) and print a line per
//! packet plus drop counters. Needs the `live` feature and capture rights.
//! Usage: cargo run -p netlens-capture --features live --example live_lo -- [IFACE] [N]

use netlens_capture::live::{LiveCapture, LiveConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let iface = args.next().unwrap_or_else(|| "lo".to_string());
    let n: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
    let mut cap = match LiveCapture::open(&LiveConfig::new(&iface)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("live_lo: {e}");
            std::process::exit(1);
        }
    };
    let mut got = 0;
    let start = std::time::Instant::now();
    while got < n && start.elapsed().as_secs() < 30 {
        match cap.next_packet() {
            Ok(Some(p)) => {
                got += 1;
                println!(
                    "{} ts_ns={} wire_len={} caplen={}",
                    got,
                    p.ts_ns,
                    p.wire_len,
                    p.data.len()
                );
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("live_lo: {e}");
                std::process::exit(1);
            }
        }
    }
    let s = cap.stats();
    println!(
        "packets={} kernel_received={} kernel_dropped={} interface_dropped={} netlens_dropped={}",
        s.packets, s.kernel_received, s.kernel_dropped, s.interface_dropped, s.netlens_dropped
    );
}
