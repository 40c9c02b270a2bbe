//! Input detection and one-pass collection of captures or flow tables.
//!
//! Kinds: `-`, directories and files starting with a pcap/pcapng magic are
//! captures; a text file whose header has the netlens flow columns is a flow
//! table; any other text file is a time series CSV; a gzip file is judged by
//! its decompressed start; anything else is handed to the capture reader,
//! which says why it cannot read it.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;

use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_flow::Flow;
use netlens_pipeline::{PacketObserver, RunConfig};

use crate::collect::{Collected, Collector, RunFacts};
use crate::data::InputInfo;
use crate::error::{Error, Result};
use crate::flowtable;

/// Lends a shared collector to the pipeline as its packet observer.
struct Shared<'a>(&'a RefCell<Collector>);

impl PacketObserver for Shared<'_> {
    fn on_packet(
        &mut self,
        pkt: &netlens_capture::PacketRef<'_>,
        dissected: std::result::Result<&netlens_wire::PacketSummary, netlens_wire::DissectError>,
    ) {
        if let Ok(mut c) = self.0.try_borrow_mut() {
            c.on_packet(pkt, dissected);
        }
    }
}

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A packet capture (pcap, pcapng, compressed, directory or stdin).
    Capture,
    /// A netlens flow CSV.
    FlowTable,
    /// A time series CSV (time column + value columns).
    Series,
}

impl InputKind {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Capture => "capture",
            InputKind::FlowTable => "flow table",
            InputKind::Series => "series",
        }
    }
}

/// Detects the kind of `arg` (see module docs).
pub fn detect(arg: &str) -> Result<InputKind> {
    if arg == "-" {
        return Ok(InputKind::Capture);
    }
    let p = Path::new(arg);
    if p.is_dir() {
        return Ok(InputKind::Capture);
    }
    // A gzip file is judged by its decompressed start: a compressed capture,
    // flow table (`flows.csv.gz`) or series.
    let mut f = netlens_timeseries::open_text(p).map_err(|e| Error::io(p, e))?;
    let mut head = [0u8; 4096];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // A damaged gzip stream: the capture reader reports it with its offset.
            Err(e)
                if e.kind() == std::io::ErrorKind::InvalidInput
                    || e.kind() == std::io::ErrorKind::InvalidData
                    || e.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                break;
            }
            Err(e) => return Err(Error::io(p, e)),
        }
    }
    let head = head.get(..n).unwrap_or(&[]);
    let magic = head
        .get(..4)
        .map(|m| u32::from_be_bytes([m[0], m[1], m[2], m[3]]));
    let capture_magic = matches!(
        magic,
        Some(0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 | 0x0a0d_0d0a)
    ) || head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    if capture_magic || head.is_empty() {
        return Ok(InputKind::Capture);
    }
    if head.starts_with(b"PAR1") {
        return Err(Error::Invalid(format!(
            "{arg} is a Parquet file; series and report read captures, flow tables as CSV (`netlens flows ... -o flows.csv`) and series CSVs"
        )));
    }
    let text = head.iter().all(|b| {
        *b == b'\n' || *b == b'\r' || *b == b'\t' || (0x20..0x7f).contains(b) || *b >= 0x80
    });
    // A file named as a capture is read as one, so a damaged or mistaken
    // `x.pcap` gets the capture reader's "not a capture file" error, not a
    // complaint about CSV columns.
    let named_capture = {
        let name = arg.to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        [".pcap", ".pcapng", ".cap", ".dmp"]
            .iter()
            .any(|e| name.ends_with(e))
    };
    if !text || named_capture {
        return Ok(InputKind::Capture);
    }
    let first_line = String::from_utf8_lossy(head);
    let first_line = first_line.lines().next().unwrap_or("");
    if flowtable::is_flow_header(first_line) {
        Ok(InputKind::FlowTable)
    } else {
        Ok(InputKind::Series)
    }
}

/// The result of [`gather`].
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The collection.
    pub collected: Collected,
    /// Pipeline facts (malformed packets, skip reasons).
    pub facts: RunFacts,
    /// The inputs with their kinds and remarks.
    pub inputs: Vec<InputInfo>,
    /// Reader warnings (truncation, corrupt records).
    pub warnings: Vec<String>,
}

/// Collects captures (merged by time) or flow tables into one collection
/// with `interval_s` rows and `top_n` talkers per row. `progress` gets the
/// packets read so far. All inputs must be captures or all flow tables.
pub fn gather(
    inputs: &[String],
    kind: InputKind,
    interval_s: i64,
    top_n: usize,
    cfg: &RunConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<Gathered> {
    let mut c = Collector::new(interval_s, top_n)?;
    let mut infos: Vec<InputInfo> = inputs
        .iter()
        .map(|i| InputInfo {
            name: i.clone(),
            kind: kind.name().into(),
            notes: Vec::new(),
        })
        .collect();
    match kind {
        InputKind::Series => Err(Error::Invalid(
            "a series input is not collected; read it with read_series_csv".into(),
        )),
        InputKind::FlowTable => {
            for (path, info) in inputs.iter().zip(infos.iter_mut()) {
                let rep = flowtable::read_flow_csv(Path::new(path), &mut c)?;
                info.notes.push(format!(
                    "{} flow rows, {} malformed rows skipped; packets are spread evenly over each flow's lifetime (per-interval counts are estimates).",
                    rep.rows, rep.bad_rows
                ));
                progress(rep.rows);
            }
            Ok(Gathered {
                collected: c.finish()?,
                facts: RunFacts::default(),
                inputs: infos,
                warnings: Vec::new(),
            })
        }
        InputKind::Capture => {
            let list: Vec<Input> = inputs.iter().map(|s| Input::from_arg(s)).collect();
            let mut reader = CaptureReader::open(&list, &ReadOptions { sort_by_time: true })
                .map_err(|e| Error::Invalid(e.to_string()))?;
            // The collector is both the packet observer and the flow sink;
            // the pipeline calls them one after the other, never nested.
            let cell = RefCell::new(c);
            let report = {
                let mut shared = Shared(&cell);
                let mut obs: [&mut dyn PacketObserver; 1] = [&mut shared];
                netlens_pipeline::run::<Error>(
                    &mut reader,
                    cfg,
                    &mut obs,
                    &mut |fs: &[Flow]| {
                        let mut c = cell
                            .try_borrow_mut()
                            .map_err(|_| Error::Invalid("collector busy".into()))?;
                        c.on_flows(fs);
                        Ok(())
                    },
                    &mut |r| progress(r.packets),
                )?
            };
            let c = cell.into_inner();
            let warnings: Vec<String> = reader
                .take_warnings()
                .into_iter()
                .map(|w| w.to_string())
                .collect();
            for (s, info) in reader.sources().iter().zip(infos.iter_mut()) {
                info.notes
                    .push(format!("{} ({}), {} packets", s.name, s.format, s.packets));
                if s.corrupt_records > 0 {
                    info.notes
                        .push(format!("{} corrupt records skipped", s.corrupt_records));
                }
                if let Some(at) = s.truncated_at {
                    info.notes.push(format!("truncated at byte {at}"));
                }
            }
            Ok(Gathered {
                collected: c.finish()?,
                facts: RunFacts::from_run(&report),
                inputs: infos,
                warnings,
            })
        }
    }
}
