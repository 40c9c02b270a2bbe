//! Quick micro benchmark (no criterion): ns per `dissect` call for a few
//! typical frames, on one core.
//!
//! `cargo run --release -p netlens-wire --example dissect_bench`

use netlens_wire::{PacketSummary, dissect, linktype};
use std::hint::black_box;
use std::time::Instant;

/// Ethernet / IPv4 / TCP (ACK, timestamps option) with 100 payload bytes.
fn eth_ipv4_tcp() -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    let payload = 100usize;
    let total = (20 + 32 + payload) as u16;
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0x12,
        0x34,
        0x40,
        0,
        64,
        6,
        0,
        0,
    ]);
    f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(&[
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0x10, 0x01, 0xf5, 0, 0, 0, 0,
    ]);
    f.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    f.resize(f.len() + payload, 0x61);
    f
}

/// The same TCP packet carried in VXLAN over Ethernet / IPv4 / UDP.
fn vxlan(inner: &[u8]) -> Vec<u8> {
    let udp_len = (8 + 8 + inner.len()) as u16;
    let total = 20 + udp_len;
    let mut f = vec![2, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 3, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ]);
    f.extend_from_slice(&[192, 168, 0, 1, 192, 168, 0, 2]);
    f.extend_from_slice(&[
        0xc0,
        0x00,
        0x12,
        0xb5,
        (udp_len >> 8) as u8,
        udp_len as u8,
        0,
        0,
    ]);
    f.extend_from_slice(&[0x08, 0, 0, 0, 0, 0x10, 0x00, 0]);
    f.extend_from_slice(inner);
    f
}

/// On-CPU time of this thread in ns (Linux schedstat), so that other load on
/// a shared machine does not inflate the numbers; `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn measure(name: &str, lt: u32, frame: &[u8]) {
    let mut out = PacketSummary::default();
    let r = dissect(lt, frame, &mut out);
    assert_eq!(r.is_ok(), !name.contains("non-ip"), "{name}: {r:?}");
    let n = 20_000_000u32;
    let (start, cpu0) = (Instant::now(), cpu_ns());
    for _ in 0..n {
        let _ = black_box(dissect(black_box(lt), black_box(frame), &mut out));
    }
    let wall = start.elapsed().as_nanos() as f64 / f64::from(n);
    let cpu = match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / f64::from(n),
        _ => wall,
    };
    println!(
        "{name:<28} {cpu:6.1} ns/packet on-CPU ({:5.1} M packets/s), {wall:6.1} ns wall",
        1e3 / cpu
    );
}

fn main() {
    let tcp = eth_ipv4_tcp();
    measure("ethernet/ipv4/tcp", linktype::ETHERNET, &tcp);
    measure("raw ipv4/tcp", linktype::RAW, &tcp[14..]);
    measure(
        "vxlan + ethernet/ipv4/tcp",
        linktype::ETHERNET,
        &vxlan(&tcp),
    );
    measure("arp (non-ip)", linktype::ETHERNET, &{
        let mut a = tcp[..12].to_vec();
        a.extend_from_slice(&[0x08, 0x06]);
        a.resize(42, 0);
        a
    });
}
