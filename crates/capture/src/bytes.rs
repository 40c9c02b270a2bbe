//! Byte sources: a memory map (or owned buffer) or a streamed `Read` with one reused buffer.
//!
//! Invariants: `window()` is the unread part of the input that is currently
//! available; `ensure(n)` makes at least `n` bytes available unless the input
//! ends first; `consume(n)` requires `n <= window().len()`. The stream buffer
//! never grows beyond the largest `ensure` request, which callers bound
//! (see `MAX_BLOCK_LEN`), so no allocation is sized by input data.

use std::io::{self, Read};

use memmap2::Mmap;

/// Bytes read from a stream per `read` call (at least).
const READ_CHUNK: usize = 256 * 1024;

/// A memory map's pages this far behind the cursor are released to the
/// kernel, a chunk at a time (see [`Bytes::consume`]).
const RELEASE_CHUNK: usize = 16 << 20;

/// Whole-input backing for the in-memory path.
pub(crate) enum Backing {
    /// A read-only memory map of a plain file.
    Map(Mmap),
    /// An owned buffer (tests, `from_bytes`, empty files that cannot be mapped).
    Owned(Vec<u8>),
}

/// Hand the pages of `backing[from..to]` back to the kernel (a map only).
#[cold]
fn release(backing: &Backing, from: usize, to: usize) {
    #[cfg(unix)]
    if let Backing::Map(m) = backing {
        // SAFETY: MADV_DONTNEED on this read-only file mapping only drops
        // page-table entries: a later read of the range faults the same file
        // bytes in again, so no data changes and nothing can dangle (memmap2
        // marks the advice unchecked because on private writable or
        // anonymous mappings it discards data; this map has no such pages).
        // The range lies inside the map (`to` <= its length). Failure only
        // means the pages stay mapped.
        let _ = unsafe {
            m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, from, to - from)
        };
    }
    #[cfg(not(unix))]
    let _ = (backing, from, to);
}

impl Backing {
    fn as_slice(&self) -> &[u8] {
        match self {
            Backing::Map(m) => m,
            Backing::Owned(v) => v,
        }
    }
}

/// A source of bytes with a cursor.
pub(crate) enum Bytes {
    /// Everything is in memory; `pos` is the cursor; the map's pages before
    /// `released` have been handed back to the kernel.
    Mem {
        backing: Backing,
        pos: usize,
        released: usize,
    },
    /// Streamed input with a reused buffer; `buf[start..end]` is unread data.
    Stream {
        reader: Box<dyn Read + Send>,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        eof: bool,
        error: Option<io::Error>,
    },
}

impl Bytes {
    /// In-memory source.
    pub(crate) fn mem(backing: Backing) -> Bytes {
        Bytes::Mem {
            backing,
            pos: 0,
            released: 0,
        }
    }

    /// Streamed source.
    pub(crate) fn stream(reader: Box<dyn Read + Send>) -> Bytes {
        Bytes::Stream {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
            error: None,
        }
    }

    /// The unread bytes currently available.
    #[inline]
    pub(crate) fn window(&self) -> &[u8] {
        match self {
            Bytes::Mem { backing, pos, .. } => backing.as_slice().get(*pos..).unwrap_or(&[]),
            Bytes::Stream {
                buf, start, end, ..
            } => buf.get(*start..*end).unwrap_or(&[]),
        }
    }

    /// Try to make at least `need` bytes available; returns how many are available.
    ///
    /// The in-memory case is inlined at every call (two per packet); the
    /// stream refill lives in [`Bytes::refill`]: as one function the refill's
    /// register saves ran on every call, ≈ 8 % of the reading thread's time.
    #[inline(always)]
    pub(crate) fn ensure(&mut self, need: usize) -> usize {
        match self {
            Bytes::Mem { backing, pos, .. } => backing.as_slice().len().saturating_sub(*pos),
            Bytes::Stream {
                start, end, eof, ..
            } if *end - *start >= need || *eof => *end - *start,
            Bytes::Stream { .. } => self.refill(need),
        }
    }

    /// The stream case of [`Bytes::ensure`] when the buffer holds too little.
    #[inline(never)]
    fn refill(&mut self, need: usize) -> usize {
        let Bytes::Stream {
            reader,
            buf,
            start,
            end,
            eof,
            error,
        } = self
        else {
            return self.window().len();
        };
        let avail = *end - *start;
        // Move the unread tail to the front, then grow (bounded by `need`) and fill.
        buf.copy_within(*start..*end, 0);
        *end = avail;
        *start = 0;
        // Grow geometrically up to READ_CHUNK (small inputs stay cheap),
        // beyond it only as far as the caller's bounded request.
        let want = need.max((buf.len() * 2).clamp(4096, READ_CHUNK));
        if buf.len() < want {
            buf.resize(want, 0);
        }
        while *end < need {
            match reader.read(&mut buf[*end..]) {
                Ok(0) => {
                    *eof = true;
                    break;
                }
                Ok(n) => *end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    *error = Some(e);
                    *eof = true;
                    break;
                }
            }
        }
        *end - *start
    }

    /// Mark `n` bytes as read. A memory map's pages behind the cursor are
    /// released every [`RELEASE_CHUNK`] bytes: unmapping a 1 GB capture's
    /// page-table entries at the end took ≈ 30 ms on one thread after all
    /// other work was done (the kernel's work on 250 k pages); spread over
    /// the run it overlaps with the metering threads, and the reader's
    /// resident memory stays small.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        match self {
            Bytes::Mem {
                backing,
                pos,
                released,
            } => {
                *pos = (*pos + n).min(backing.as_slice().len());
                if *pos - *released >= RELEASE_CHUNK {
                    release(backing, *released, *pos);
                    *released = *pos;
                }
            }
            Bytes::Stream { start, end, .. } => {
                *start = (*start + n).min(*end);
            }
        }
    }

    /// An I/O error met while streaming, if any (taken once).
    pub(crate) fn take_error(&mut self) -> Option<io::Error> {
        match self {
            Bytes::Mem { .. } => None,
            Bytes::Stream { error, .. } => error.take(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that returns one byte per call, to exercise refills.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.get(self.1), out.first_mut()) {
                (Some(b), Some(o)) => {
                    *o = *b;
                    self.1 += 1;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn stream_refills_and_compacts() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut b = Bytes::stream(Box::new(Trickle(data.clone(), 0)));
        let mut got = Vec::new();
        loop {
            let n = b.ensure(7);
            if n == 0 {
                break;
            }
            let take = n.min(7);
            got.extend_from_slice(&b.window()[..take]);
            b.consume(take);
        }
        assert_eq!(got, data);
    }

    #[test]
    fn a_map_reads_the_same_bytes_after_releasing_pages_behind_the_cursor() {
        // Two and a half release chunks of a known pattern, read in steps
        // that do not divide the chunk or the page size: every window starts
        // with the right bytes, including the page the last release cut.
        let len = RELEASE_CHUNK * 5 / 2 + 123;
        let byte = |i: usize| (i % 251) as u8;
        let data: Vec<u8> = (0..len).map(byte).collect();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        // SAFETY: the temporary file is private to this test and not changed while mapped.
        let map = unsafe { Mmap::map(&f) }.unwrap();
        let mut b = Bytes::mem(Backing::Map(map));
        let mut at = 0;
        let mut releases = 0;
        while b.ensure(1) > 0 {
            let w = b.window();
            assert_eq!(w.len(), len - at);
            assert_eq!(&w[..w.len().min(64)], &data[at..at + w.len().min(64)]);
            let step = w.len().min(1_000_003);
            b.consume(step);
            at += step;
            if let Bytes::Mem { released, .. } = &b
                && *released == at
            {
                releases += 1;
            }
        }
        assert_eq!(at, len);
        assert_eq!(releases, 2);
    }

    #[test]
    fn mem_window_and_consume() {
        let mut b = Bytes::mem(Backing::Owned(vec![1, 2, 3]));
        assert_eq!(b.ensure(10), 3);
        b.consume(2);
        assert_eq!(b.window(), &[3]);
        b.consume(5);
        assert_eq!(b.window(), &[] as &[u8]);
    }
}
