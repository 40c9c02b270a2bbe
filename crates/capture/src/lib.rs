//! Reading packet captures robustly and fast, and writing simple pcap files.
//!
//! # Brief overview
//!
//! [`CaptureReader`] opens one or more [`Input`]s (files, directories walked
//! recursively, `-` for stdin, gzip-compressed files) and yields [`PacketRef`]s
//! merged in timestamp order. [`PcapWriter`] writes classic pcap (optionally gzip).
//!
//! ```no_run
//! use netlens_capture::{CaptureReader, Input, ReadOptions};
//! let inputs = [Input::from_arg("capture.pcapng")];
//! let mut r = CaptureReader::open(&inputs, &ReadOptions::default())?;
//! while let Some(p) = r.next_packet() {
//!     println!("{} {} bytes (link type {})", p.ts_ns, p.data.len(), p.linktype);
//! }
//! for w in r.take_warnings() {
//!     eprintln!("warning: {w}");
//! }
//! # Ok::<(), netlens_capture::CaptureError>(())
//! ```
//!
//! # Invariants
//!
//! - No byte sequence makes the reader panic or allocate more than a fixed
//!   bound per source (256 KiB per packet record, 16 MiB per pcapng block).
//! - Plain files are memory-mapped; gzip files and stdin are streamed through
//!   one reused buffer per source. No allocation happens per packet.
//! - A damaged source yields every complete packet before the damage, then a
//!   [`Warning`] with the byte offset (of the decompressed stream for gzip).
//! - `PacketRef::wire_len` is the original length; `data.len()` the captured length.
//! - Formats: pcap (µs, ns, both byte orders, little-endian "modified" pcap),
//!   pcapng (several sections, interfaces with their own link type,
//!   `if_tsresol` and `if_tsoffset`, EPB/SPB/OPB, both byte orders, unknown
//!   blocks skipped). SPBs have no timestamp: they get the previous packet's.

#![deny(missing_docs)]

mod bytes;
mod error;
mod reader;
mod source;
mod stats;
mod writer;

#[cfg(feature = "live")]
mod libpcap;
#[cfg(feature = "live")]
pub mod live;

pub use error::{CaptureError, Warning, WarningKind};
pub use reader::{CaptureReader, Input, PacketRef, ReadOptions};
pub use source::MAX_CAPLEN;
pub use stats::{FormatInfo, FormatKind, ReadStats, SourceStats};
pub use writer::{FileSink, PcapWriter};

#[cfg(test)]
mod tests;
