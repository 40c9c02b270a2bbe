//! One input source: format detection, record walking for pcap and pcapng.
//!
//! Invariants:
//! - A record is only delivered when it is complete; its bytes stay in the
//!   source's window until the next `advance`, so `head` offsets stay valid.
//! - Every length read from the input is checked against a fixed bound
//!   (`MAX_CAPLEN`, `MAX_PACKET_BLOCK_LEN`, `MAX_BLOCK_LEN`) *before* it is used to
//!   request bytes, so buffer growth is bounded whatever the input says.
//! - Damage that makes the record boundary unknowable (bad length, truncation)
//!   stops the source; damage inside a well-delimited pcapng block skips the block.
//!
//! Record parsing is delegated to pcap-parser; this module adds the framing
//! checks it leaves to callers (bounds before buffering, trailing length), the
//! Obsolete Packet Block (pcap-parser treats it as unknown), and timestamp
//! conversion (pcap-parser's `build_ts_resolution` rejects every power-of-two
//! resolution and reads `if_tsoffset` as little-endian even in big-endian sections).

use std::collections::HashMap;
use std::path::PathBuf;

use pcap_parser::pcapng::{Block, OptionCode, PcapNGOption};
use pcap_parser::traits::PcapNGPacketBlock;

use crate::bytes::Bytes;
use crate::error::{CaptureError, Warning, WarningKind};
use crate::stats::{FormatInfo, FormatKind, SourceStats};

/// Largest captured length accepted for one packet (256 KiB, like libpcap's maximum snaplen).
pub const MAX_CAPLEN: u32 = 256 * 1024;
/// Largest pcapng packet block accepted: the packet plus generous room for options.
const MAX_PACKET_BLOCK_LEN: usize = MAX_CAPLEN as usize + 64 * 1024;
/// Largest non-packet pcapng block accepted (name resolution, custom blocks, ...).
const MAX_BLOCK_LEN: usize = 16 * 1024 * 1024;
/// Interfaces accepted per pcapng section (bounds memory on hostile streams).
const MAX_INTERFACES: usize = 65_536;
/// Warnings kept per source before suppression.
const MAX_WARNINGS_PER_SOURCE: u32 = 50;

const SHB_TYPE: u32 = 0x0A0D_0D0A;
const IDB_TYPE: u32 = 0x0000_0001;
const OPB_TYPE: u32 = 0x0000_0002;
const SPB_TYPE: u32 = 0x0000_0003;
const EPB_TYPE: u32 = 0x0000_0006;
const BOM: u32 = 0x1A2B_3C4D;

/// What the first bytes of an input are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    Pcap,
    PcapNg,
    Gzip,
    Other,
}

/// Classify the first four bytes of an input.
pub(crate) fn sniff(b: &[u8]) -> Magic {
    match b {
        [0x1f, 0x8b, ..] => Magic::Gzip,
        [a, b, c, d, ..] => match u32::from_le_bytes([*a, *b, *c, *d]) {
            0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0xa1b2_cd34 | 0x34cd_b2a1 => {
                Magic::Pcap
            }
            SHB_TYPE => Magic::PcapNg,
            _ => Magic::Other,
        },
        _ => Magic::Other,
    }
}

/// Timestamp units of a pcapng interface.
#[derive(Debug, Clone, Copy)]
struct Iface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    units: u64,
    /// `if_tsoffset` in seconds.
    offset_s: i64,
    /// Slot in `SourceStats::linktypes`.
    lt_slot: usize,
}

/// Container-specific state.
enum Kind {
    Pcap {
        big_endian: bool,
        nanos: bool,
        modified: bool,
        lt_slot: usize,
        linktype: u32,
    },
    PcapNg {
        big_endian: bool,
        ifaces: Vec<Iface>,
        last_ts: i64,
    },
}

/// The packet currently at the head of a source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head {
    pub ts_ns: i64,
    pub wire_len: u32,
    pub linktype: u32,
    pub interface: u32,
    data_off: usize,
    data_len: usize,
}

/// A reader positioned inside one input.
pub(crate) struct Source {
    bytes: Bytes,
    kind: Kind,
    /// Byte offset of `bytes.window()[0]` in the (decompressed) input.
    offset: u64,
    /// Length of the head record, consumed by the next `advance`.
    pending: usize,
    pub head: Option<Head>,
    done: bool,
    warnings_emitted: u32,
    /// Link type -> slot in `SourceStats::linktypes` (a map: hostile files may
    /// declare many interfaces, and a linear search would make that quadratic).
    lt_index: HashMap<u32, usize>,
}

/// Outcome of looking at one record.
enum Step {
    Packet(Head, usize),
    /// A packet whose head the step already stored in `Source::head`
    /// (classic pcap): returning the head by value and copying it again
    /// cost a store-forwarding stall per packet (a quarter of `advance`).
    Stored(usize),
    Skip(usize),
    End,
    Damage(String),
}

impl Source {
    /// Check the header of `bytes` and build a source; `gzip` only affects reporting.
    pub(crate) fn open(
        mut bytes: Bytes,
        name: String,
        path: Option<PathBuf>,
        gzip: bool,
    ) -> Result<(Source, SourceStats), CaptureError> {
        let n = bytes.ensure(4);
        let mut head4 = [0u8; 4];
        let take = n.min(4);
        if let (Some(dst), Some(src)) = (head4.get_mut(..take), bytes.window().get(..take)) {
            dst.copy_from_slice(src);
        }
        let head4 = head4.get(..take).unwrap_or(&[]);
        let magic = sniff(head4);
        let detail = || {
            if n == 0 {
                "empty file".to_string()
            } else {
                let hex: Vec<String> = head4.iter().map(|b| format!("{b:02x}")).collect();
                format!("starts with {}", hex.join(" "))
            }
        };
        if let Some(e) = bytes.take_error() {
            return Err(CaptureError::Io {
                path: name,
                source: e,
            });
        }
        match magic {
            Magic::Pcap => {
                if bytes.ensure(24) < 24 {
                    return Err(bad_header(name, "pcap file header truncated (< 24 bytes)"));
                }
                let hdr = match pcap_parser::parse_pcap_header(bytes.window()) {
                    Ok((_, h)) => h,
                    Err(_) => {
                        return Err(bad_header(
                            name,
                            "pcap magic not supported (big-endian modified pcap?)",
                        ));
                    }
                };
                let big_endian = hdr.is_bigendian();
                let modified = hdr.is_modified_format();
                let nanos = hdr.is_nanosecond_precision();
                // Bits 16..31 of the link-type field carry FCS information, not the type.
                let linktype = (hdr.network.0 as u32) & 0xFFFF;
                let kind_info = if modified {
                    FormatKind::PcapModified
                } else if nanos {
                    FormatKind::PcapNano
                } else {
                    FormatKind::PcapMicro
                };
                let mut stats = SourceStats::new(
                    name,
                    path,
                    FormatInfo {
                        kind: kind_info,
                        big_endian,
                        gzip,
                    },
                );
                let mut lt_index = HashMap::new();
                let lt_slot = linktype_slot(&mut lt_index, &mut stats, linktype);
                bytes.consume(24);
                let mut src = Source::new(
                    bytes,
                    Kind::Pcap {
                        big_endian,
                        nanos,
                        modified,
                        lt_slot,
                        linktype,
                    },
                    24,
                );
                src.lt_index = lt_index;
                Ok((src, stats))
            }
            Magic::PcapNg => {
                if bytes.ensure(12) < 12 {
                    return Err(bad_header(name, "pcapng section header truncated"));
                }
                let w = bytes.window();
                let bom = read_u32(w, 8, false);
                let big_endian = match bom {
                    BOM => false,
                    x if x == BOM.swap_bytes() => true,
                    _ => {
                        return Err(bad_header(
                            name,
                            "pcapng byte-order magic is neither 1a2b3c4d nor 4d3c2b1a",
                        ));
                    }
                };
                let stats = SourceStats::new(
                    name,
                    path,
                    FormatInfo {
                        kind: FormatKind::PcapNg,
                        big_endian,
                        gzip,
                    },
                );
                let src = Source::new(
                    bytes,
                    Kind::PcapNg {
                        big_endian,
                        ifaces: Vec::new(),
                        last_ts: 0,
                    },
                    0,
                );
                Ok((src, stats))
            }
            Magic::Gzip => Err(CaptureError::NotACapture {
                path: name,
                detail: "gzip data inside a gzip stream".into(),
            }),
            Magic::Other => Err(CaptureError::NotACapture {
                path: name,
                detail: detail(),
            }),
        }
    }

    fn new(bytes: Bytes, kind: Kind, offset: u64) -> Source {
        Source {
            bytes,
            kind,
            offset,
            pending: 0,
            head: None,
            done: false,
            warnings_emitted: 0,
            lt_index: HashMap::new(),
        }
    }

    /// The captured bytes of the head packet (empty if there is none).
    #[inline]
    pub(crate) fn head_data(&self) -> &[u8] {
        match &self.head {
            Some(h) => self
                .bytes
                .window()
                .get(h.data_off..h.data_off + h.data_len)
                .unwrap_or(&[]),
            None => &[],
        }
    }

    /// Drop the current head and move to the next packet; returns false at the end.
    pub(crate) fn advance(&mut self, stats: &mut SourceStats, warnings: &mut Vec<Warning>) -> bool {
        if self.pending > 0 {
            self.bytes.consume(self.pending);
            self.offset += self.pending as u64;
            self.pending = 0;
        }
        self.head = None;
        if self.done {
            return false;
        }
        loop {
            let step = match self.kind {
                Kind::Pcap { .. } => self.step_pcap(stats),
                Kind::PcapNg { .. } => self.step_pcapng(stats, warnings),
            };
            let len = match step {
                Step::Packet(h, len) => {
                    self.head = Some(h);
                    len
                }
                Step::Stored(len) => len,
                Step::Skip(len) => {
                    self.bytes.consume(len);
                    self.offset += len as u64;
                    continue;
                }
                Step::End => {
                    if let Some(e) = self.bytes.take_error() {
                        self.damage(stats, warnings, format!("read error: {e}"));
                    }
                    self.finish(stats);
                    return false;
                }
                Step::Damage(reason) => {
                    // An I/O error explains the damage better than the symptom.
                    let reason = match self.bytes.take_error() {
                        Some(e) => format!("read error: {e}"),
                        None => reason,
                    };
                    self.damage(stats, warnings, reason);
                    self.finish(stats);
                    return false;
                }
            };
            stats.packets += 1;
            if let Some(h) = &self.head {
                stats.bytes += h.data_len as u64;
                stats.wire_bytes += u64::from(h.wire_len);
            }
            self.pending = len;
            return true;
        }
    }

    fn finish(&mut self, stats: &mut SourceStats) {
        self.done = true;
        stats.finished = true;
    }

    fn damage(&mut self, stats: &mut SourceStats, warnings: &mut Vec<Warning>, reason: String) {
        stats.truncated_at = Some(self.offset);
        stats.corrupt_records += 1;
        let kind = WarningKind::Truncated {
            offset: self.offset,
            packets_before: stats.packets,
            reason,
        };
        self.warn(stats, warnings, kind);
    }

    fn warn(&mut self, stats: &SourceStats, warnings: &mut Vec<Warning>, kind: WarningKind) {
        self.warnings_emitted += 1;
        let kind = match self.warnings_emitted {
            n if n < MAX_WARNINGS_PER_SOURCE => kind,
            n if n == MAX_WARNINGS_PER_SOURCE => WarningKind::Suppressed,
            _ => return,
        };
        warnings.push(Warning {
            source_name: stats.name.clone(),
            decompressed: stats.format.gzip,
            kind,
        });
    }

    /// Classic pcap: one record.
    #[inline]
    fn step_pcap(&mut self, stats: &mut SourceStats) -> Step {
        let Kind::Pcap {
            big_endian,
            nanos,
            modified,
            lt_slot,
            linktype,
        } = self.kind
        else {
            return Step::End;
        };
        let hdr_len = if modified { 24 } else { 16 };
        let avail = self.bytes.ensure(hdr_len);
        if avail == 0 {
            return Step::End;
        }
        if avail < hdr_len {
            return Step::Damage(format!(
                "record header needs {hdr_len} bytes, only {avail} remain"
            ));
        }
        let caplen = read_u32(self.bytes.window(), 8, big_endian);
        if caplen > MAX_CAPLEN {
            return Step::Damage(format!("captured length {caplen} exceeds 256 KiB"));
        }
        let total = hdr_len + caplen as usize;
        let avail = self.bytes.ensure(total);
        if avail < total {
            return Step::Damage(format!("record needs {total} bytes, only {avail} remain"));
        }
        let rec = self.bytes.window().get(..total).unwrap_or(&[]);
        let parsed = if modified {
            // pcap-parser only knows the little-endian modified format (checked at open).
            pcap_parser::parse_pcap_frame_modified(rec)
        } else if big_endian {
            pcap_parser::parse_pcap_frame_be(rec)
        } else {
            pcap_parser::parse_pcap_frame(rec)
        };
        let blk = match parsed {
            Ok((_, b)) => b,
            Err(e) => return Step::Damage(format!("unparsable record: {e:?}")),
        };
        let frac = if nanos {
            i64::from(blk.ts_usec)
        } else {
            i64::from(blk.ts_usec) * 1_000
        };
        self.head = Some(Head {
            ts_ns: i64::from(blk.ts_sec) * 1_000_000_000 + frac,
            wire_len: blk.origlen,
            linktype,
            interface: 0,
            data_off: hdr_len,
            data_len: caplen as usize,
        });
        if let Some(slot) = stats.linktypes.get_mut(lt_slot) {
            slot.1 += 1;
        }
        Step::Stored(total)
    }

    /// pcapng: one block.
    fn step_pcapng(&mut self, stats: &mut SourceStats, warnings: &mut Vec<Warning>) -> Step {
        let avail = self.bytes.ensure(12);
        if avail == 0 {
            return Step::End;
        }
        if avail < 12 {
            return Step::Damage(format!("block header needs 12 bytes, only {avail} remain"));
        }
        let w = self.bytes.window();
        if read_u32(w, 0, false) == SHB_TYPE {
            // A new section may switch the byte order.
            let be = match read_u32(w, 8, false) {
                BOM => false,
                x if x == BOM.swap_bytes() => true,
                _ => return Step::Damage("section header with bad byte-order magic".into()),
            };
            if let Kind::PcapNg { big_endian, .. } = &mut self.kind {
                *big_endian = be;
            }
        }
        let be = match &self.kind {
            Kind::PcapNg { big_endian, .. } => *big_endian,
            Kind::Pcap { .. } => return Step::End,
        };
        let btype = read_u32(w, 0, be);
        let blen_raw = read_u32(w, 4, be);
        let blen = blen_raw as usize;
        if blen < 12 || !blen.is_multiple_of(4) {
            return Step::Damage(format!("invalid block length {blen_raw}"));
        }
        let limit = match btype {
            EPB_TYPE | SPB_TYPE | OPB_TYPE => MAX_PACKET_BLOCK_LEN,
            _ => MAX_BLOCK_LEN,
        };
        if blen > limit {
            return Step::Damage(format!(
                "block length {blen} exceeds the {limit}-byte limit for block type {btype:#x}"
            ));
        }
        let avail = self.bytes.ensure(blen);
        if avail < blen {
            return Step::Damage(format!("block of {blen} bytes, only {avail} remain"));
        }
        let w = self.bytes.window().get(..blen).unwrap_or(&[]);
        if read_u32(w, blen - 4, be) != blen_raw {
            return Step::Damage("trailing block length differs from leading one".into());
        }
        let offset = self.offset;
        let parsed = if btype == OPB_TYPE {
            None
        } else if be {
            Some(pcap_parser::pcapng::parse_block_be(w))
        } else {
            Some(pcap_parser::pcapng::parse_block_le(w))
        };
        let lt_index = &mut self.lt_index;
        let Kind::PcapNg {
            ifaces, last_ts, ..
        } = &mut self.kind
        else {
            return Step::End;
        };
        let mut corrupt: Option<String> = None;
        let step = match parsed {
            None => {
                // Obsolete Packet Block (type 2): written by old tools, not decoded by
                // pcap-parser. Layout: if_id u16, drops u16, ts_high, ts_low, caplen,
                // origlen (u32 each), data padded to 4, options, trailing length.
                let if_id = u32::from(read_u16(w, 8, be));
                let ts = (u64::from(read_u32(w, 12, be)) << 32) | u64::from(read_u32(w, 16, be));
                let caplen = read_u32(w, 20, be);
                let origlen = read_u32(w, 24, be);
                stats.obsolete_packets += 1;
                packet_step(
                    ifaces,
                    last_ts,
                    stats,
                    if_id,
                    Some(ts),
                    caplen,
                    origlen,
                    28,
                    blen,
                    &mut corrupt,
                )
            }
            Some(Err(e)) => {
                corrupt = Some(format!("undecodable block type {btype:#x}: {e:?}"));
                if btype == IDB_TYPE && blen >= 20 {
                    // Keep interface numbering right even if the options are broken.
                    let linktype = u32::from(read_u16(w, 8, be));
                    let lt_slot = linktype_slot(lt_index, stats, linktype);
                    push_iface(
                        ifaces,
                        stats,
                        Iface {
                            linktype,
                            snaplen: read_u32(w, 12, be),
                            units: 1_000_000,
                            offset_s: 0,
                            lt_slot,
                        },
                    );
                }
                Step::Skip(blen)
            }
            Some(Ok((_, block))) => match block {
                Block::SectionHeader(_) => {
                    stats.sections += 1;
                    ifaces.clear();
                    Step::Skip(blen)
                }
                Block::InterfaceDescription(idb) => {
                    let linktype = u32::from(idb.linktype.0 as u16);
                    let (units, offset_s) = iface_time(&idb.options, be);
                    let lt_slot = linktype_slot(lt_index, stats, linktype);
                    if !push_iface(
                        ifaces,
                        stats,
                        Iface {
                            linktype,
                            snaplen: idb.snaplen,
                            units,
                            offset_s,
                            lt_slot,
                        },
                    ) {
                        corrupt = Some("too many interfaces in one section".into());
                    }
                    Step::Skip(blen)
                }
                Block::EnhancedPacket(epb) => {
                    let ts = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
                    packet_step(
                        ifaces,
                        last_ts,
                        stats,
                        epb.if_id,
                        Some(ts),
                        epb.caplen,
                        epb.origlen,
                        28,
                        blen,
                        &mut corrupt,
                    )
                }
                Block::SimplePacket(spb) => {
                    stats.simple_packets += 1;
                    // Captured length is min(original length, snaplen, bytes present).
                    let snap = ifaces.first().map(|i| i.snaplen).unwrap_or(0);
                    let mut cap = spb.packet_data().len() as u32;
                    if snap != 0 {
                        cap = cap.min(snap);
                    }
                    packet_step(
                        ifaces,
                        last_ts,
                        stats,
                        0,
                        None,
                        cap,
                        spb.origlen,
                        12,
                        blen,
                        &mut corrupt,
                    )
                }
                Block::Unknown(_) => {
                    stats.unknown_blocks += 1;
                    Step::Skip(blen)
                }
                _ => {
                    stats.other_blocks += 1;
                    Step::Skip(blen)
                }
            },
        };
        if let Some(reason) = corrupt {
            stats.corrupt_records += 1;
            self.warn(
                stats,
                warnings,
                WarningKind::CorruptBlock { offset, reason },
            );
        }
        step
    }
}

/// Index of `linktype` in `stats.linktypes`, adding it with a zero count if new.
fn linktype_slot(index: &mut HashMap<u32, usize>, stats: &mut SourceStats, linktype: u32) -> usize {
    *index.entry(linktype).or_insert_with(|| {
        stats.linktypes.push((linktype, 0));
        stats.linktypes.len() - 1
    })
}

/// Add an interface unless the section already has too many.
fn push_iface(ifaces: &mut Vec<Iface>, stats: &mut SourceStats, iface: Iface) -> bool {
    if ifaces.len() >= MAX_INTERFACES {
        return false;
    }
    ifaces.push(iface);
    stats.interfaces += 1;
    true
}

/// Build the step for a pcapng packet whose data starts at `data_off` in the block.
#[allow(clippy::too_many_arguments)]
fn packet_step(
    ifaces: &[Iface],
    last_ts: &mut i64,
    stats: &mut SourceStats,
    if_id: u32,
    ts: Option<u64>,
    caplen: u32,
    origlen: u32,
    data_off: usize,
    blen: usize,
    corrupt: &mut Option<String>,
) -> Step {
    let Some(iface) = ifaces.get(if_id as usize) else {
        *corrupt = Some(format!("packet refers to undeclared interface {if_id}"));
        return Step::Skip(blen);
    };
    if caplen > MAX_CAPLEN {
        return Step::Damage(format!("captured length {caplen} exceeds 256 KiB"));
    }
    // Data must fit between the block header and the trailing length field.
    if data_off + caplen as usize > blen.saturating_sub(4) {
        *corrupt = Some(format!("captured length {caplen} exceeds its block"));
        return Step::Skip(blen);
    }
    let ts_ns = match ts {
        Some(t) => to_ns(t, iface.units, iface.offset_s),
        None => *last_ts,
    };
    *last_ts = ts_ns;
    if let Some(slot) = stats.linktypes.get_mut(iface.lt_slot) {
        slot.1 += 1;
    }
    Step::Packet(
        Head {
            ts_ns,
            wire_len: origlen,
            linktype: iface.linktype,
            interface: if_id,
            data_off,
            data_len: caplen as usize,
        },
        blen,
    )
}

/// Convert a pcapng timestamp in `units` per second (plus an offset in seconds) to ns.
#[inline]
fn to_ns(ts: u64, units: u64, offset_s: i64) -> i64 {
    let base: i128 = match units {
        1_000_000 => i128::from(ts) * 1_000,
        1_000_000_000 => i128::from(ts),
        0 => 0,
        u => i128::from(ts) * 1_000_000_000 / i128::from(u),
    };
    let ns = base + i128::from(offset_s) * 1_000_000_000;
    ns.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Units per second and offset (seconds) from an IDB's options.
fn iface_time(options: &[PcapNGOption<'_>], be: bool) -> (u64, i64) {
    let mut units = 1_000_000u64;
    let mut offset_s = 0i64;
    for opt in options {
        let v = opt.value();
        match opt.code {
            OptionCode::IfTsresol => {
                if let Some(&r) = v.first() {
                    let n = u32::from(r & 0x7f);
                    let u = if r & 0x80 == 0 {
                        10u64.checked_pow(n)
                    } else {
                        1u64.checked_shl(n).filter(|_| n < 64)
                    };
                    // An impossible resolution keeps the microsecond default.
                    if let Some(u) = u {
                        units = u;
                    }
                }
            }
            OptionCode::IfTsoffset => {
                if let Some(b) = v.get(..8).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
                    offset_s = if be {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
            }
            _ => {}
        }
    }
    (units, offset_s)
}

fn bad_header(name: String, detail: &str) -> CaptureError {
    CaptureError::BadHeader {
        path: name,
        detail: detail.to_string(),
    }
}

/// Read a u32 at `off`, or 0 if out of range (callers check lengths first).
#[inline]
fn read_u32(b: &[u8], off: usize, be: bool) -> u32 {
    match b
        .get(off..off + 4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
    {
        Some(a) if be => u32::from_be_bytes(a),
        Some(a) => u32::from_le_bytes(a),
        None => 0,
    }
}

/// Read a u16 at `off`, or 0 if out of range.
#[inline]
fn read_u16(b: &[u8], off: usize, be: bool) -> u16 {
    match b
        .get(off..off + 2)
        .and_then(|s| <[u8; 2]>::try_from(s).ok())
    {
        Some(a) if be => u16::from_be_bytes(a),
        Some(a) => u16::from_le_bytes(a),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_magics() {
        assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), Magic::Pcap);
        assert_eq!(sniff(&[0xa1, 0xb2, 0xc3, 0xd4]), Magic::Pcap);
        assert_eq!(sniff(&[0x4d, 0x3c, 0xb2, 0xa1]), Magic::Pcap);
        assert_eq!(sniff(&[0x0a, 0x0d, 0x0d, 0x0a]), Magic::PcapNg);
        assert_eq!(sniff(&[0x1f, 0x8b, 0x08, 0x00]), Magic::Gzip);
        assert_eq!(sniff(b"id,b"), Magic::Other);
        assert_eq!(sniff(&[0xd4]), Magic::Other);
    }

    #[test]
    fn timestamp_units() {
        assert_eq!(to_ns(5, 1_000_000, 0), 5_000);
        assert_eq!(to_ns(5, 1_000_000_000, 1), 1_000_000_005);
        assert_eq!(to_ns(3, 1000, 0), 3_000_000);
        // 2^-10 s units
        assert_eq!(to_ns(1024, 1024, 0), 1_000_000_000);
        assert_eq!(to_ns(u64::MAX, 1, 0), i64::MAX);
        assert_eq!(to_ns(0, 1, i64::MIN), i64::MIN);
    }
}
