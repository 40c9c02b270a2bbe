//! Print one line per packet of a pcap/pcapng file as dissected by netlens-wire.
//!
//! `cargo run -p netlens-wire --example dump -- FILE [MAX]`

use netlens_wire::{PacketSummary, dissect};
use pcap_parser::pcapng::Block;
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::io::Write;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: dump FILE [MAX]");
        std::process::exit(2);
    };
    let max: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut reader = match create_reader(8 << 20, file) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{path}: {e:?}");
            std::process::exit(1);
        }
    };
    let (mut legacy_lt, mut if_lts, mut n) = (1u32, Vec::<u32>::new(), 0usize);
    let mut out = PacketSummary::default();
    let mut stdout = std::io::stdout().lock();
    while n < max {
        let (offset, block) = match reader.next() {
            Ok(x) => x,
            Err(PcapError::Incomplete(_)) => {
                if reader.refill().is_err() {
                    break;
                }
                continue;
            }
            Err(_) => break,
        };
        let pkt = match &block {
            PcapBlockOwned::LegacyHeader(h) => {
                legacy_lt = h.network.0 as u32;
                None
            }
            PcapBlockOwned::Legacy(b) => Some((legacy_lt, b.data as &[u8])),
            PcapBlockOwned::NG(Block::SectionHeader(_)) => {
                if_lts.clear();
                None
            }
            PcapBlockOwned::NG(Block::InterfaceDescription(i)) => {
                if_lts.push(i.linktype.0 as u32);
                None
            }
            PcapBlockOwned::NG(Block::EnhancedPacket(e)) => Some((
                if_lts.get(e.if_id as usize).copied().unwrap_or(u32::MAX),
                e.packet_data(),
            )),
            PcapBlockOwned::NG(Block::SimplePacket(s)) => {
                Some((if_lts.first().copied().unwrap_or(u32::MAX), s.packet_data()))
            }
            PcapBlockOwned::NG(_) => None,
        };
        if let Some((lt, data)) = pkt {
            n += 1;
            let written = match dissect(lt, data, &mut out) {
                Ok(()) => writeln!(
                    stdout,
                    "{n:>6} {} {}:{} > {}:{} proto {} len {} frag {:?} tunnel {}/{} vlan {} mpls {} flags {:#x} payload {}@{}",
                    out.ip_version,
                    out.src_ip,
                    out.src_port,
                    out.dst_ip,
                    out.dst_port,
                    out.protocol,
                    out.ip_len,
                    (
                        out.frag.is_fragment,
                        out.frag.offset,
                        out.frag.more,
                        out.frag.id
                    ),
                    out.tunnel.name(),
                    out.tunnel_id,
                    out.vlan_id,
                    out.mpls_depth,
                    out.tcp.flags,
                    out.payload_captured,
                    out.payload_offset
                ),
                Err(e) => writeln!(stdout, "{n:>6} lt {lt} error {} ({e})", e.reason()),
            };
            if written.is_err() {
                break; // stdout closed (e.g. piped into head)
            }
        }
        reader.consume(offset);
    }
}
