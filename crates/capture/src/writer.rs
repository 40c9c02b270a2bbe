//! A classic-pcap writer (little-endian, µs or ns timestamps), optionally gzip-compressed.
//!
//! Written here rather than with pcap-parser's `serialize` feature because that
//! API (`ToVec`) allocates a fresh `Vec` for every record and pulls in
//! cookie-factory; a pcap record is a fixed 16-byte header plus the data, so a
//! direct writer is a few lines and allocation-free per packet.
//!
//! Invariant: every record written has `caplen <= snaplen` (when snaplen > 0)
//! and `caplen <= MAX_CAPLEN`, so the reader of this crate accepts the output.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::source::MAX_CAPLEN;

/// Writes packets to a classic pcap stream.
pub struct PcapWriter<W: Write> {
    out: W,
    snaplen: u32,
    nanosecond: bool,
    packets: u64,
}

impl<W: Write> PcapWriter<W> {
    /// Write the 24-byte file header and return the writer. `snaplen` 0 means
    /// "no limit" and is recorded as 262144.
    pub fn new(
        mut w: W,
        linktype: u32,
        snaplen: u32,
        nanosecond: bool,
    ) -> io::Result<PcapWriter<W>> {
        let snaplen = if snaplen == 0 { MAX_CAPLEN } else { snaplen };
        let magic: u32 = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut hdr = [0u8; 24];
        hdr[0..4].copy_from_slice(&magic.to_le_bytes());
        hdr[4..6].copy_from_slice(&2u16.to_le_bytes());
        hdr[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone and sigfigs stay 0.
        hdr[16..20].copy_from_slice(&snaplen.to_le_bytes());
        hdr[20..24].copy_from_slice(&linktype.to_le_bytes());
        w.write_all(&hdr)?;
        Ok(PcapWriter {
            out: w,
            snaplen,
            nanosecond,
            packets: 0,
        })
    }

    /// Write one packet; `data` beyond the snaplen is cut, `wire_len` is the
    /// original length (raised to the captured length if smaller).
    pub fn write_packet(&mut self, ts_ns: i64, data: &[u8], wire_len: u32) -> io::Result<()> {
        let cap = data
            .len()
            .min(self.snaplen as usize)
            .min(MAX_CAPLEN as usize);
        let sec = ts_ns.div_euclid(1_000_000_000);
        let sub_ns = ts_ns.rem_euclid(1_000_000_000);
        let sec = u32::try_from(sec).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {ts_ns} ns does not fit a pcap record (1970..2106)"),
            )
        })?;
        let frac = if self.nanosecond {
            sub_ns
        } else {
            sub_ns / 1_000
        } as u32;
        let mut hdr = [0u8; 16];
        hdr[0..4].copy_from_slice(&sec.to_le_bytes());
        hdr[4..8].copy_from_slice(&frac.to_le_bytes());
        hdr[8..12].copy_from_slice(&(cap as u32).to_le_bytes());
        hdr[12..16].copy_from_slice(&wire_len.max(cap as u32).to_le_bytes());
        self.out.write_all(&hdr)?;
        self.out.write_all(data.get(..cap).unwrap_or(data))?;
        self.packets += 1;
        Ok(())
    }

    /// Packets written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Flush and return the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A buffered file, gzip-compressed if its name ends in `.gz`.
pub enum FileSink {
    /// Plain file.
    Plain(BufWriter<File>),
    /// gzip-compressed file.
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for FileSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            FileSink::Plain(w) => w.write(buf),
            FileSink::Gzip(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            FileSink::Plain(w) => w.write_all(buf),
            FileSink::Gzip(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            FileSink::Plain(w) => w.flush(),
            FileSink::Gzip(w) => w.flush(),
        }
    }
}

impl FileSink {
    /// Finish the gzip trailer (if any) and flush to the file.
    pub fn close(self) -> io::Result<()> {
        match self {
            FileSink::Plain(mut w) => w.flush(),
            FileSink::Gzip(g) => g.finish()?.flush(),
        }
    }
}

impl PcapWriter<FileSink> {
    /// Create `path` (gzip-compressed if it ends in `.gz`) and write the header.
    pub fn create(
        path: &Path,
        linktype: u32,
        snaplen: u32,
        nanosecond: bool,
    ) -> io::Result<PcapWriter<FileSink>> {
        let f = BufWriter::with_capacity(256 * 1024, File::create(path)?);
        let gz = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
        let sink = if gz {
            FileSink::Gzip(GzEncoder::new(f, Compression::default()))
        } else {
            FileSink::Plain(f)
        };
        PcapWriter::new(sink, linktype, snaplen, nanosecond)
    }

    /// Flush everything (including the gzip trailer) and close the file.
    pub fn close(self) -> io::Result<()> {
        self.finish()?.close()
    }
}
