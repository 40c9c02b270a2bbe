//! [`CaptureReader`]: opens inputs and delivers packets, merged by time.
//!
//! Invariants: each source holds at most one undelivered head packet; the
//! heap holds exactly the sources that have a head (when merging); a
//! [`PacketRef`] borrows the reader, so its data stays valid until the next call.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use memmap2::Mmap;

use crate::bytes::{Backing, Bytes};
use crate::error::{CaptureError, Warning, WarningKind};
use crate::source::{Magic, Source, sniff};
use crate::stats::{ReadStats, SourceStats};

/// One packet as read from a capture; `data` borrows the reader's buffer or
/// memory map and is valid until the next call.
#[derive(Debug, Clone, Copy)]
pub struct PacketRef<'a> {
    /// Timestamp in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Original length on the wire (may exceed `data.len()` when the capture was truncated).
    pub wire_len: u32,
    /// Link type (LINKTYPE_* number) of the packet's interface.
    pub linktype: u32,
    /// Captured bytes.
    pub data: &'a [u8],
    /// Index into [`CaptureReader::sources`].
    pub source: u32,
    /// Interface number within the source (always 0 for classic pcap).
    pub interface: u32,
}

/// One input named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or a directory (walked recursively).
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Input {
    /// `-` means standard input, anything else a path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// How to read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Merge several inputs in timestamp order (default true); otherwise read them one after another.
    pub sort_by_time: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { sort_by_time: true }
    }
}

/// Reads packets from one or more captures.
pub struct CaptureReader {
    sources: Vec<Source>,
    stats: ReadStats,
    warnings: Vec<Warning>,
    sort_by_time: bool,
    /// Min-heap of (head timestamp, source index) when merging.
    heap: BinaryHeap<Reverse<(i64, u32)>>,
    /// Source whose head was delivered by the last call (to advance next time).
    delivered: Option<usize>,
    /// Current source when reading sequentially.
    cursor: usize,
    started: bool,
}

impl CaptureReader {
    /// Expand directories (recursively, sorted, only files that look like
    /// captures by magic number: pcap µs/ns both byte orders, pcapng, and
    /// gzip-compressed versions of these; non-captures found while walking a
    /// directory are skipped with a warning), open every input, and check each
    /// is a capture: an explicitly named file that is not a capture is an error
    /// naming the file.
    pub fn open(inputs: &[Input], opts: &ReadOptions) -> Result<CaptureReader, CaptureError> {
        if inputs.is_empty() {
            return Err(CaptureError::NoInput);
        }
        let mut r = CaptureReader::empty(opts);
        for input in inputs {
            match input {
                Input::Stdin => {
                    let stdin: Box<dyn Read + Send> = Box::new(io::stdin());
                    r.add_stream(stdin, "<stdin>".into(), None)?;
                }
                Input::Path(p) => {
                    let meta = std::fs::metadata(p).map_err(|e| io_err(p, e))?;
                    if meta.is_dir() {
                        r.add_dir(p)?;
                    } else {
                        r.add_file(p)?;
                    }
                }
            }
        }
        Ok(r)
    }

    /// Read one capture from any byte stream (stdin, tests, fuzzing); gzip is
    /// detected by magic number. The stream is read with one reused buffer.
    pub fn from_reader(
        reader: Box<dyn Read + Send>,
        name: String,
        opts: &ReadOptions,
    ) -> Result<CaptureReader, CaptureError> {
        let mut r = CaptureReader::empty(opts);
        r.add_stream(reader, name, None)?;
        Ok(r)
    }

    /// Read one capture held in memory (same code path as a memory-mapped file).
    pub fn from_bytes(
        data: Vec<u8>,
        name: String,
        opts: &ReadOptions,
    ) -> Result<CaptureReader, CaptureError> {
        let mut r = CaptureReader::empty(opts);
        if sniff(&data) == Magic::Gzip {
            r.add_stream(Box::new(Cursor::new(data)), name, None)?;
        } else {
            r.add_source(Bytes::mem(Backing::Owned(data)), name, None, false)?;
        }
        Ok(r)
    }

    fn empty(opts: &ReadOptions) -> CaptureReader {
        CaptureReader {
            sources: Vec::new(),
            stats: ReadStats::default(),
            warnings: Vec::new(),
            sort_by_time: opts.sort_by_time,
            heap: BinaryHeap::new(),
            delivered: None,
            cursor: 0,
            started: false,
        }
    }

    /// Next packet in timestamp order across inputs (per-file order when
    /// `sort_by_time` is false). `None` at the end of all inputs.
    pub fn next_packet(&mut self) -> Option<PacketRef<'_>> {
        if !self.started {
            self.start();
        }
        let idx = if self.sort_by_time {
            match self.delivered.take() {
                // Fast path: the source just read usually stays the earliest
                // (always, with one input), so skip the heap round trip.
                Some(i) if self.advance(i) => {
                    let ts = self.sources.get(i).and_then(|s| s.head).map(|h| h.ts_ns);
                    match (ts, self.heap.peek()) {
                        (Some(t), Some(Reverse((top_ts, top_i))))
                            if (t, i as u32) > (*top_ts, *top_i) =>
                        {
                            self.heap.push(Reverse((t, i as u32)));
                            let Reverse((_, j)) = self.heap.pop()?;
                            j as usize
                        }
                        _ => i,
                    }
                }
                _ => {
                    let Reverse((_, i)) = self.heap.pop()?;
                    i as usize
                }
            }
        } else {
            if let Some(i) = self.delivered.take() {
                self.advance(i);
            }
            loop {
                let i = self.cursor;
                let src = self.sources.get(i)?;
                if src.head.is_some() {
                    break i;
                }
                self.cursor += 1;
                if self.cursor < self.sources.len() {
                    self.advance(self.cursor);
                }
            }
        };
        self.delivered = Some(idx);
        let src = self.sources.get(idx)?;
        let h = src.head?;
        Some(PacketRef {
            ts_ns: h.ts_ns,
            wire_len: h.wire_len,
            linktype: h.linktype,
            data: src.head_data(),
            source: idx as u32,
            interface: h.interface,
        })
    }

    /// Per-source statistics.
    pub fn stats(&self) -> &ReadStats {
        &self.stats
    }

    /// The sources, in the order `PacketRef::source` indexes them.
    pub fn sources(&self) -> &[SourceStats] {
        &self.stats.sources
    }

    /// Warnings since the last call.
    pub fn take_warnings(&mut self) -> Vec<Warning> {
        std::mem::take(&mut self.warnings)
    }

    fn start(&mut self) {
        self.started = true;
        if self.sort_by_time {
            self.heap.reserve(self.sources.len());
            for i in 0..self.sources.len() {
                self.advance_into_heap(i);
            }
        } else if !self.sources.is_empty() {
            self.advance(0);
        }
    }

    fn advance(&mut self, i: usize) -> bool {
        match (self.sources.get_mut(i), self.stats.sources.get_mut(i)) {
            (Some(src), Some(st)) => src.advance(st, &mut self.warnings),
            _ => false,
        }
    }

    fn advance_into_heap(&mut self, i: usize) {
        if self.advance(i)
            && let Some(h) = self.sources.get(i).and_then(|s| s.head)
        {
            self.heap.push(Reverse((h.ts_ns, i as u32)));
        }
    }

    fn add_source(
        &mut self,
        bytes: Bytes,
        name: String,
        path: Option<PathBuf>,
        gzip: bool,
    ) -> Result<(), CaptureError> {
        let (src, st) = Source::open(bytes, name, path, gzip)?;
        self.sources.push(src);
        self.stats.sources.push(st);
        Ok(())
    }

    /// A stream that may be gzip-compressed.
    fn add_stream(
        &mut self,
        mut reader: Box<dyn Read + Send>,
        name: String,
        path: Option<PathBuf>,
    ) -> Result<(), CaptureError> {
        let (magic, n) = read_prefix(&mut reader).map_err(|e| CaptureError::Io {
            path: name.clone(),
            source: e,
        })?;
        let prefix = magic.get(..n).unwrap_or(&[]).to_vec();
        let replay: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
        if sniff(&magic[..n.min(4)]) == Magic::Gzip {
            let dec: Box<dyn Read + Send> = Box::new(MultiGzDecoder::new(replay));
            self.add_source(Bytes::stream(dec), name, path, true)
        } else {
            self.add_source(Bytes::stream(replay), name, path, false)
        }
    }

    /// A named file: memory-mapped if plain, streamed if gzip.
    fn add_file(&mut self, p: &Path) -> Result<(), CaptureError> {
        let name = p.display().to_string();
        let mut f = File::open(p).map_err(|e| io_err(p, e))?;
        let (magic, n) = read_prefix(&mut f).map_err(|e| io_err(p, e))?;
        if sniff(&magic[..n]) == Magic::Gzip {
            let f = File::open(p).map_err(|e| io_err(p, e))?;
            let dec: Box<dyn Read + Send> = Box::new(MultiGzDecoder::new(f));
            return self.add_source(Bytes::stream(dec), name, Some(p.to_path_buf()), true);
        }
        let len = f.metadata().map_err(|e| io_err(p, e))?.len();
        let backing = if len == 0 {
            Backing::Owned(Vec::new())
        } else {
            // SAFETY: the map is read-only and private to this reader. If another
            // process truncates the file while it is mapped, reads may fault
            // (SIGBUS); that is the accepted cost of zero-copy reading, as in every
            // mmap-based capture tool. All parsing is bounds-checked.
            let map = unsafe { Mmap::map(&f) }.map_err(|e| io_err(p, e))?;
            #[cfg(unix)]
            {
                // Advice only; failure does not matter.
                let _ = map.advise(memmap2::Advice::Sequential);
            }
            Backing::Map(map)
        };
        self.add_source(Bytes::mem(backing), name, Some(p.to_path_buf()), false)
    }

    /// Walk a directory recursively in sorted order, adding every capture.
    fn add_dir(&mut self, dir: &Path) -> Result<(), CaptureError> {
        let before = self.sources.len();
        let walker = walkdir::WalkDir::new(dir)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let name = e
                        .path()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| dir.display().to_string());
                    self.skip(name, e.to_string());
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            let p = entry.path();
            match looks_like_capture(p) {
                Ok(true) => {
                    if let Err(e) = self.add_file(p) {
                        self.skip(p.display().to_string(), e.to_string());
                    }
                }
                Ok(false) => self.skip(p.display().to_string(), "not a capture file".into()),
                Err(e) => self.skip(p.display().to_string(), e.to_string()),
            }
        }
        if self.sources.len() == before {
            return Err(CaptureError::EmptyDirectory {
                path: dir.display().to_string(),
            });
        }
        Ok(())
    }

    fn skip(&mut self, name: String, reason: String) {
        self.stats.skipped_files += 1;
        self.warnings.push(Warning {
            source_name: name,
            decompressed: false,
            kind: WarningKind::Skipped { reason },
        });
    }
}

/// True if the file starts with a capture magic (looking inside gzip).
fn looks_like_capture(p: &Path) -> io::Result<bool> {
    let mut f = File::open(p)?;
    let (magic, n) = read_prefix(&mut f)?;
    Ok(match sniff(&magic[..n]) {
        Magic::Pcap | Magic::PcapNg => true,
        Magic::Gzip => {
            let mut dec = MultiGzDecoder::new(File::open(p)?);
            match read_prefix(&mut dec) {
                Ok((m, n)) => matches!(sniff(&m[..n]), Magic::Pcap | Magic::PcapNg),
                Err(_) => false,
            }
        }
        Magic::Other => false,
    })
}

/// Read up to 4 bytes (fewer only at end of input).
fn read_prefix<R: Read + ?Sized>(r: &mut R) -> io::Result<([u8; 4], usize)> {
    let mut buf = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((buf, n))
}

fn io_err(p: &Path, e: io::Error) -> CaptureError {
    CaptureError::Io {
        path: p.display().to_string(),
        source: e,
    }
}
