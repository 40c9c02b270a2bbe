//! netlens-export: write flows as CSV, JSON Lines or Parquet.
//!
//! # Brief overview
//! [`open_writer`] returns a [`FlowWriter`] for a [`Format`] and a column
//! [`Selection`](netlens_flow::Selection). Flows are written in batches as the
//! meter expires them (streaming), so memory stays bounded by the batch size.
//! Every format takes its column names, types and order from the flow
//! feature registry, so all three carry the same table.
//!
//! Invariant: values are formatted straight into the output buffer; no
//! per-row `String` is built for CSV or JSON Lines.

#![deny(missing_docs)]

pub mod alert;
mod csv_out;
mod jsonl;
mod output;
mod parquet_out;
pub mod time;

use std::io::Write;
use std::path::Path;

use netlens_flow::{Flow, Selection};

pub use output::{create_output, format_path, is_gzip_path};
pub use parquet::basic::Compression;
pub use parquet::file::properties::EnabledStatistics;
pub use parquet_out::{BatchBuilder, ParquetOptions, arrow_schema};

/// Output table format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (one row group per batch of flows).
    Parquet,
}

impl Format {
    /// Parse `csv`, `jsonl` (or `json`, `ndjson`) and `parquet`.
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// Format implied by a file name's extension (`.csv`, `.jsonl`,
    /// `.parquet`), looking through a trailing `.gz` (`x.csv.gz` is CSV).
    pub fn from_path(p: &Path) -> Option<Format> {
        output::format_path(p)
            .extension()
            .and_then(|e| e.to_str())
            .and_then(Format::parse)
    }
}

/// Error while writing flows.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing to the output failed.
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    /// The CSV encoder failed.
    #[error("CSV encoding failed: {0}")]
    Csv(#[from] csv::Error),
    /// The Arrow/Parquet encoder failed.
    #[error("Parquet encoding failed: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Building an Arrow batch failed.
    #[error("Arrow batch failed: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

/// A streaming sink for flows.
pub trait FlowWriter {
    /// Write a batch of flows (in the order given).
    fn write(&mut self, flows: &[Flow]) -> Result<(), ExportError>;
    /// Flush buffers and write any footer; must be called once at the end.
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
}

/// Open a writer of `format` over `out` for the selected columns.
pub fn open_writer(
    format: Format,
    out: Box<dyn Write + Send>,
    selection: &Selection,
) -> Result<Box<dyn FlowWriter + Send>, ExportError> {
    Ok(match format {
        Format::Csv => Box::new(csv_out::CsvWriter::new(out, selection)?),
        Format::Jsonl => Box::new(jsonl::JsonlWriter::new(out, selection)),
        Format::Parquet => Box::new(parquet_out::ParquetWriter::new(
            out,
            selection,
            ParquetOptions::default(),
        )?),
    })
}

/// Settings of [`open_writer_with`] beyond format and columns.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriterOptions {
    /// Parquet only: encode and compress on a second thread, overlapping
    /// with the caller's metering (worth it when a core is free, e.g. with
    /// `--threads 2`; the file is the same).
    pub background: bool,
    /// Parquet only: the codec for column chunks (`None` = Snappy).
    pub compression: Option<Compression>,
}

/// Parse a Parquet codec name: `snappy`, `zstd[:LEVEL]` (1–22),
/// `lz4` (LZ4_RAW), `gzip[:LEVEL]` (0–9) or `none`.
pub fn parse_compression(s: &str) -> Result<Compression, String> {
    let (name, raw_level) = match s.split_once(':') {
        Some((n, l)) => (n.trim().to_ascii_lowercase(), Some(l.trim())),
        None => (s.trim().to_ascii_lowercase(), None),
    };
    let level = |min: u32, max: u32| -> Result<Option<u32>, String> {
        match raw_level {
            None => Ok(None),
            Some(l) => match l.parse::<u32>() {
                Ok(v) if (min..=max).contains(&v) => Ok(Some(v)),
                _ => Err(format!(
                    "compression level '{l}' for {name} is not a number from {min} to {max}"
                )),
            },
        }
    };
    let plain = |c: Compression| match raw_level {
        None => Ok(c),
        Some(_) => Err(format!("{name} takes no level")),
    };
    match name.as_str() {
        "snappy" => plain(Compression::SNAPPY),
        "lz4" | "lz4_raw" => plain(Compression::LZ4_RAW),
        "none" | "uncompressed" => plain(Compression::UNCOMPRESSED),
        "zstd" => match level(1, 22)? {
            None => Ok(Compression::ZSTD(Default::default())),
            Some(l) => parquet::basic::ZstdLevel::try_new(l as i32)
                .map(Compression::ZSTD)
                .map_err(|e| e.to_string()),
        },
        "gzip" => match level(0, 9)? {
            None => Ok(Compression::GZIP(Default::default())),
            Some(l) => parquet::basic::GzipLevel::try_new(l)
                .map(Compression::GZIP)
                .map_err(|e| e.to_string()),
        },
        _ => Err(format!(
            "unknown compression '{s}' (expected snappy, zstd[:LEVEL], lz4, gzip[:LEVEL] or none)"
        )),
    }
}

/// A Parquet output must not be named `.gz`: Parquet compresses inside the
/// file, and readers would take the name for a gzip stream.
pub fn check_parquet_name(path: &Path) -> Result<(), String> {
    if is_gzip_path(path) {
        return Err(format!(
            "{}: Parquet is compressed inside the file; name the output without .gz",
            path.display()
        ));
    }
    Ok(())
}

/// [`open_writer`] with options.
pub fn open_writer_with(
    format: Format,
    out: Box<dyn Write + Send>,
    selection: &Selection,
    opts: WriterOptions,
) -> Result<Box<dyn FlowWriter + Send>, ExportError> {
    match format {
        Format::Parquet => open_parquet(out, selection, {
            let d = ParquetOptions::default();
            ParquetOptions {
                background: opts.background,
                compression: opts.compression.unwrap_or(d.compression),
                ..d
            }
        }),
        _ => open_writer(format, out, selection),
    }
}

/// A Parquet writer with explicit settings (codec, statistics, batch size).
pub fn open_parquet(
    out: Box<dyn Write + Send>,
    selection: &Selection,
    opts: ParquetOptions,
) -> Result<Box<dyn FlowWriter + Send>, ExportError> {
    Ok(Box::new(parquet_out::ParquetWriter::new(
        out, selection, opts,
    )?))
}

/// Rows read per column before they are written by the row-wise writers:
/// small, so the values of all columns (24 bytes each) stay in cache.
const ROW_CHUNK: usize = 64;

/// Call `row` with each flow's cells in column order. The values are read
/// column by column over chunks of [`ROW_CHUNK`] flows
/// (`Column::values`: one reader call per column and chunk, not per cell),
/// then handed over row by row (used by the CSV and JSON Lines writers).
pub(crate) fn for_each_row<'a>(
    cols: &[&'static netlens_flow::Column],
    flows: &'a [netlens_flow::Flow],
    mut row: impl FnMut(Cells<'_, 'a>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut vals: Vec<Vec<netlens_flow::Value<'a>>> = cols
        .iter()
        .map(|_| Vec::with_capacity(ROW_CHUNK.min(flows.len())))
        .collect();
    for chunk in flows.chunks(ROW_CHUNK) {
        for (c, v) in cols.iter().zip(vals.iter_mut()) {
            c.values(chunk, v);
        }
        for i in 0..chunk.len() {
            row(Cells {
                cols: vals.iter(),
                row: i,
            })?;
        }
    }
    Ok(())
}

/// One row's cells in column order (see [`for_each_row`]); a concrete
/// iterator, so the writers' per-cell loop makes no indirect call.
pub(crate) struct Cells<'v, 'a> {
    cols: std::slice::Iter<'v, Vec<netlens_flow::Value<'a>>>,
    row: usize,
}

impl<'v, 'a> Iterator for Cells<'v, 'a> {
    type Item = &'v netlens_flow::Value<'a>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        // Every column holds a value for every row of the chunk.
        self.cols.find_map(|v| v.get(self.row))
    }
}

/// Append the text form of a value to `buf` (used by CSV and JSON writers).
pub(crate) fn push_text(buf: &mut Vec<u8>, v: &netlens_flow::Value<'_>) {
    use netlens_flow::Value;
    use std::io::Write as _;
    match *v {
        Value::U64(x) => buf.extend_from_slice(itoa::Buffer::new().format(x).as_bytes()),
        Value::I64(x) => buf.extend_from_slice(itoa::Buffer::new().format(x).as_bytes()),
        Value::F64(x) => push_f64(buf, x),
        Value::Str(s) => buf.extend_from_slice(s.as_bytes()),
        Value::Ip(std::net::IpAddr::V4(v4)) => push_ipv4(buf, v4.octets()),
        Value::Ip(ip) => {
            let _ = write!(buf, "{ip}");
        }
        Value::Mac(m) => push_hex_bytes(buf, &m),
        Value::Oui(m) => push_hex_bytes(buf, &m),
        Value::TimestampUs(us) => time::push_rfc3339_us(buf, us),
        Value::ListI8(xs) => push_list(buf, xs.iter().map(|&x| i64::from(x))),
        Value::ListI32(xs) => push_list(buf, xs.iter().map(|&x| i64::from(x))),
        Value::ListF64(xs) => {
            buf.push(b'[');
            for (i, &x) in xs.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                push_f64(buf, x);
            }
            buf.push(b']');
        }
        Value::Null => {}
    }
}

/// Decimal text of every byte value: up to three digits and the length.
const DEC: [([u8; 3], u8); 256] = {
    let mut t = [([0u8; 3], 0u8); 256];
    let mut i = 0;
    while i < 256 {
        let (h, te, o) = ((i / 100) as u8, ((i / 10) % 10) as u8, (i % 10) as u8);
        t[i] = if i >= 100 {
            ([b'0' + h, b'0' + te, b'0' + o], 3)
        } else if i >= 10 {
            ([b'0' + te, b'0' + o, 0], 2)
        } else {
            ([b'0' + o, 0, 0], 1)
        };
        i += 1;
    }
    t
};

/// Dotted-quad text, as `Ipv4Addr`'s `Display`. Hand-formatted: it runs
/// twice per exported flow, and the fmt machinery is several times slower
/// than a table lookup per octet. The text is written straight into room
/// made at the end of `buf` and cut back to its length: built in a scratch
/// array and copied, it cost a call to `memcpy` per piece, or (copied whole)
/// a stall loading 16 bytes just written one by one.
#[inline]
pub(crate) fn push_ipv4(buf: &mut Vec<u8>, octets: [u8; 4]) {
    // 15 bytes of text at most, plus room for the last group's 3 bytes.
    let n = with_room::<16>(buf, |out| {
        let mut n = 0;
        for (i, o) in octets.into_iter().enumerate() {
            if i > 0 {
                if let Some(c) = out.get_mut(n) {
                    *c = b'.';
                }
                n += 1;
            }
            let (digits, len) = DEC[usize::from(o)];
            if let Some(dst) = out.get_mut(n..n + 3) {
                dst.copy_from_slice(&digits);
            }
            n += usize::from(len);
        }
        n
    });
    debug_assert!(n <= 15);
}

/// Append `N` zero bytes to `buf`, let `write` fill them and say how many
/// it used, and cut the rest off again; returns that count.
#[inline(always)]
fn with_room<const N: usize>(
    buf: &mut Vec<u8>,
    write: impl FnOnce(&mut [u8; N]) -> usize,
) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; N]);
    let n = match buf
        .get_mut(start..)
        .and_then(|s| <&mut [u8; N]>::try_from(s).ok())
    {
        Some(out) => write(out).min(N),
        None => 0,
    };
    buf.truncate(start + n);
    n
}

/// `aa:bb:cc...` lower-case hex, colon separated (MACs and OUIs: at most 8
/// bytes are formatted, which covers both).
#[inline]
pub(crate) fn push_hex_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    with_room::<24>(buf, |out| {
        let mut n = 0;
        for (i, b) in bytes.iter().take(8).enumerate() {
            let sep = usize::from(i > 0);
            if let Some(dst) = out.get_mut(n..n + sep + 2) {
                if sep == 1 {
                    dst[0] = b':';
                }
                dst[sep] = HEX[usize::from(b >> 4)];
                dst[sep + 1] = HEX[usize::from(b & 0x0f)];
            }
            n += sep + 2;
        }
        n
    });
}

fn push_list(buf: &mut Vec<u8>, xs: impl Iterator<Item = i64>) {
    buf.push(b'[');
    for (i, x) in xs.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(itoa::Buffer::new().format(x).as_bytes());
    }
    buf.push(b']');
}

/// Shortest round-trip text for a float; integers print without a fraction
/// part only when they are whole (e.g. `60.0` → `60.0`), NaN/inf as `nan`/`inf`.
pub(crate) fn push_f64(buf: &mut Vec<u8>, x: f64) {
    if x.is_finite() {
        buf.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    } else if x.is_nan() {
        buf.extend_from_slice(b"nan");
    } else if x > 0.0 {
        buf.extend_from_slice(b"inf");
    } else {
        buf.extend_from_slice(b"-inf");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlens_flow::Value;

    fn text(v: Value<'_>) -> String {
        let mut b = Vec::new();
        push_text(&mut b, &v);
        String::from_utf8(b).unwrap_or_default()
    }

    #[test]
    fn ipv4_and_hex_match_display() {
        for a in 0..=255u8 {
            for b in [0u8, 7, 10, 99, 100, 255] {
                let ip = std::net::Ipv4Addr::new(a, b, 255 - a, a / 3);
                assert_eq!(text(Value::Ip(ip.into())), ip.to_string());
            }
        }
        let mac = [0xffu8, 0x00, 0x0a, 0xa0, 0x5e, 0x01];
        let want = mac
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(text(Value::Mac(mac)), want);
        assert_eq!(text(Value::Oui([0xab, 0x01, 0x0c])), "ab:01:0c");
    }

    #[test]
    fn compression_names_and_levels() {
        let ok = |s: &str| parse_compression(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(ok("snappy"), Compression::SNAPPY);
        assert_eq!(ok("LZ4"), Compression::LZ4_RAW);
        assert_eq!(ok("none"), Compression::UNCOMPRESSED);
        assert_eq!(ok("zstd"), Compression::ZSTD(Default::default()));
        assert!(matches!(ok("zstd:19"), Compression::ZSTD(l) if l.compression_level() == 19));
        assert!(matches!(ok("gzip:0"), Compression::GZIP(l) if l.compression_level() == 0));
        for bad in [
            "brotli", "zstd:0", "zstd:23", "gzip:10", "zstd:x", "snappy:1", "",
        ] {
            assert!(parse_compression(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Format::from_path(Path::new("a/x.csv.gz")),
            Some(Format::Csv)
        );
        assert_eq!(
            Format::from_path(Path::new("x.jsonl.gz")),
            Some(Format::Jsonl)
        );
        assert_eq!(Format::from_path(Path::new("x.gz")), None);
    }

    #[test]
    fn appended_text_keeps_what_the_buffer_held() {
        // The formatters make fixed-size room at the end, write, and cut back.
        let mut buf = b"x".to_vec();
        let mut want = String::from("x");
        for a in [0u8, 9, 10, 99, 100, 255] {
            let ip = std::net::Ipv4Addr::new(a, 255 - a, 1, a);
            push_text(&mut buf, &Value::Ip(ip.into()));
            want.push_str(&ip.to_string());
            push_text(&mut buf, &Value::Mac([a, 1, 2, 3, 4, 255]));
            want.push_str(&format!("{a:02x}:01:02:03:04:ff"));
            push_text(&mut buf, &Value::Oui([a, 0, 16]));
            want.push_str(&format!("{a:02x}:00:10"));
        }
        assert_eq!(String::from_utf8(buf).unwrap_or_default(), want);
    }

    #[test]
    fn formats_values_like_the_standard_library() {
        let v4 = std::net::IpAddr::from([192, 0, 2, 10]);
        assert_eq!(text(Value::Ip(v4)), "192.0.2.10");
        assert_eq!(
            text(Value::Ip(std::net::IpAddr::from([0, 0, 0, 0]))),
            "0.0.0.0"
        );
        let v6: std::net::IpAddr = "2001:db8::1".parse().unwrap_or(v4);
        assert_eq!(text(Value::Ip(v6)), "2001:db8::1");
        assert_eq!(
            text(Value::Mac([0x02, 0, 0x5e, 0xab, 0xcd, 0xef])),
            "02:00:5e:ab:cd:ef"
        );
        assert_eq!(text(Value::Oui([0xff, 0x0a, 0x00])), "ff:0a:00");
        assert_eq!(text(Value::F64(1.5)), "1.5");
        assert_eq!(text(Value::F64(f64::NAN)), "nan");
        assert_eq!(text(Value::ListI8(&[0, 1, 0])), "[0,1,0]");
        assert_eq!(text(Value::ListF64(&[0.0, 2.5])), "[0.0,2.5]");
        assert_eq!(text(Value::TimestampUs(0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(text(Value::Null), "");
    }
}
