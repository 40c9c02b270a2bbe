//! Output files: a path ending in `.gz` is written gzip-compressed.
//!
//! pandas, polars, DuckDB and Spark take `flows.csv.gz` for a gzip stream by
//! its name, so a text table written under such a name must be compressed;
//! the format is chosen by the name without `.gz` ([`format_path`]).
//! Invariant: a gzip stream is finished exactly once, when its writer is
//! dropped; earlier write errors reach the caller as usual.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Whether `path` names a gzip file (extension `gz`, any case).
pub fn is_gzip_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// The name a format is chosen by: `path` without a trailing `.gz`.
pub fn format_path(path: &Path) -> PathBuf {
    if is_gzip_path(path) {
        path.with_extension("")
    } else {
        path.to_path_buf()
    }
}

/// Create `path` for writing, buffered; gzip-compressed when it ends in `.gz`.
pub fn create_output(path: &Path) -> io::Result<Box<dyn Write + Send>> {
    let f = File::create(path)?;
    if is_gzip_path(path) {
        let gz = GzOut {
            enc: Some(flate2::write::GzEncoder::new(
                f,
                flate2::Compression::default(),
            )),
            path: path.to_path_buf(),
        };
        return Ok(Box::new(BufWriter::with_capacity(1 << 16, gz)));
    }
    Ok(Box::new(BufWriter::with_capacity(1 << 16, f)))
}

/// A gzip stream into a file. `Write` has no fallible close, so the stream
/// is finished on drop and a failure there is reported on stderr.
struct GzOut {
    enc: Option<flate2::write::GzEncoder<File>>,
    path: PathBuf,
}

impl Write for GzOut {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.enc {
            Some(e) => e.write(b),
            None => Err(io::Error::other("gzip stream already finished")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.enc {
            Some(e) => e.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for GzOut {
    fn drop(&mut self) {
        if let Some(e) = self.enc.take()
            && let Err(err) = e.finish().and_then(|mut f| f.flush())
        {
            eprintln!(
                "netlens: error: finishing {} failed: {err}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn format_path_strips_only_gz() {
        assert_eq!(format_path(Path::new("d/x.csv.gz")), Path::new("d/x.csv"));
        assert_eq!(format_path(Path::new("x.jsonl.GZ")), Path::new("x.jsonl"));
        assert_eq!(format_path(Path::new("x.parquet")), Path::new("x.parquet"));
        assert_eq!(format_path(Path::new("gz")), Path::new("gz"));
        assert!(!is_gzip_path(Path::new("x.tgz")));
    }

    #[test]
    fn a_gz_output_is_one_complete_gzip_stream() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("t.csv.gz");
        let mut w = create_output(&p).expect("create");
        for i in 0..10_000 {
            writeln!(w, "{i},row").expect("write");
        }
        w.flush().expect("flush");
        drop(w);
        let raw = std::fs::read(&p).expect("read");
        assert_eq!(raw.get(..2), Some(&[0x1f, 0x8b][..]));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut text)
            .expect("a complete stream");
        assert_eq!(text.lines().count(), 10_000);
        assert_eq!(text.lines().last(), Some("9999,row"));

        let plain = dir.path().join("t.csv");
        let mut w = create_output(&plain).expect("create");
        w.write_all(b"a\n").expect("write");
        drop(w);
        assert_eq!(std::fs::read(&plain).expect("read"), b"a\n");
    }
}
