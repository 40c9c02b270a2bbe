//! Per-source reading statistics.
//!
//! Invariant: `packets` counts delivered packets only; damaged or skipped
//! records are counted in `corrupt_records`/`unknown_blocks`, never in `packets`.

use std::fmt;
use std::path::PathBuf;

/// Container format of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatKind {
    /// Classic pcap, microsecond timestamps.
    PcapMicro,
    /// Classic pcap, nanosecond timestamps.
    PcapNano,
    /// Kuznetzov's "modified" pcap (magic a1b2cd34, 24-byte record headers).
    PcapModified,
    /// pcapng (per-interface timestamp resolution).
    PcapNg,
}

/// Format details of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatInfo {
    /// Container format.
    pub kind: FormatKind,
    /// Byte order of the file header (for pcapng: of the first section).
    pub big_endian: bool,
    /// The file was gzip-compressed (offsets then refer to the decompressed stream).
    pub gzip: bool,
}

impl fmt::Display for FormatInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = match self.kind {
            FormatKind::PcapMicro => "pcap (µs)",
            FormatKind::PcapNano => "pcap (ns)",
            FormatKind::PcapModified => "pcap (modified)",
            FormatKind::PcapNg => "pcapng",
        };
        let e = if self.big_endian {
            "big-endian"
        } else {
            "little-endian"
        };
        write!(f, "{k}, {e}{}", if self.gzip { ", gzip" } else { "" })
    }
}

/// Statistics of one input source.
#[derive(Debug, Clone)]
pub struct SourceStats {
    /// Display name (path or `<stdin>`).
    pub name: String,
    /// Path, if the source is a file.
    pub path: Option<PathBuf>,
    /// Container format.
    pub format: FormatInfo,
    /// Packets delivered.
    pub packets: u64,
    /// Captured bytes delivered (sum of `data.len()`).
    pub bytes: u64,
    /// Original (on-the-wire) bytes of delivered packets.
    pub wire_bytes: u64,
    /// Link types seen, with the number of packets delivered for each.
    pub linktypes: Vec<(u32, u64)>,
    /// pcapng sections seen.
    pub sections: u32,
    /// pcapng interfaces described (all sections).
    pub interfaces: u32,
    /// Byte offset where reading stopped because of damage, if it did.
    pub truncated_at: Option<u64>,
    /// Records or blocks that were damaged and skipped (or stopped reading).
    pub corrupt_records: u64,
    /// pcapng blocks of a type this reader does not know, skipped.
    pub unknown_blocks: u64,
    /// pcapng blocks known but carrying no packet (statistics, name resolution, ...).
    pub other_blocks: u64,
    /// Simple Packet Blocks read (they carry no timestamp: the previous packet's is used).
    pub simple_packets: u64,
    /// Obsolete Packet Blocks read.
    pub obsolete_packets: u64,
    /// True once the source has been read to its end (or to its damage).
    pub finished: bool,
}

impl SourceStats {
    pub(crate) fn new(name: String, path: Option<PathBuf>, format: FormatInfo) -> SourceStats {
        SourceStats {
            name,
            path,
            format,
            packets: 0,
            bytes: 0,
            wire_bytes: 0,
            linktypes: Vec::new(),
            sections: 0,
            interfaces: 0,
            truncated_at: None,
            corrupt_records: 0,
            unknown_blocks: 0,
            other_blocks: 0,
            simple_packets: 0,
            obsolete_packets: 0,
            finished: false,
        }
    }
}

impl fmt::Display for SourceStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}; {} packets, {} bytes captured, {} on the wire; link types",
            self.name, self.format, self.packets, self.bytes, self.wire_bytes
        )?;
        for (lt, n) in &self.linktypes {
            write!(f, " {lt}×{n}")?;
        }
        if self.format.kind == FormatKind::PcapNg {
            write!(
                f,
                "; {} sections, {} interfaces, {} unknown blocks skipped",
                self.sections, self.interfaces, self.unknown_blocks
            )?;
        }
        if self.corrupt_records > 0 {
            write!(f, "; {} corrupt records", self.corrupt_records)?;
        }
        if let Some(off) = self.truncated_at {
            write!(f, "; stopped at byte offset {off}")?;
        }
        Ok(())
    }
}

/// Statistics of all sources of a [`crate::CaptureReader`].
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    /// One entry per source, in the order of `CaptureReader::sources()`.
    pub sources: Vec<SourceStats>,
    /// Files skipped while walking directories.
    pub skipped_files: u64,
}

impl ReadStats {
    /// Total packets delivered.
    pub fn packets(&self) -> u64 {
        self.sources.iter().map(|s| s.packets).sum()
    }

    /// Total captured bytes delivered.
    pub fn bytes(&self) -> u64 {
        self.sources.iter().map(|s| s.bytes).sum()
    }
}
