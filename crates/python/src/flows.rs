//! Flows from captures: a streaming reader of Arrow record batches and a
//! writer that produces exactly the CLI's files.
//!
//! The stream runs `netlens_pipeline::run` on a worker thread that builds
//! record batches of at most `batch_rows` flows with the export crate's
//! `BatchBuilder` (the registry's schema) and hands them over a channel of
//! capacity one. Invariant: memory held by a stream is bounded by the flow
//! table plus three batches (one being built, one queued, one being read),
//! whatever the capture's size; dropping the stream stops the worker at its
//! next hand-over.
//!
//! A live interface streams the same way: the pipeline ticks while no
//! packet arrives, so flows that expire reach Python without waiting for
//! traffic, and every hand-over with flows becomes a batch at once. It ends
//! when its duration is up, when the stream is closed, or on Ctrl-C
//! (KeyboardInterrupt while waiting): the capture then stops, every open
//! flow is flushed and the iteration ends normally.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_export::{BatchBuilder, ExportError, Format};
use netlens_flow::{Accounting, Flow, MeterConfig, Selection};
use netlens_pipeline::{RunConfig, RunReport};
use pyo3::prelude::*;
use pyo3_arrow::{PyRecordBatch, PySchema};

use crate::error::{Error, Result};

/// Meter, column and input settings shared by every flow entry point.
#[derive(Clone, Debug)]
pub struct FlowSettings {
    /// Columns.
    pub selection: Selection,
    /// Pipeline settings.
    pub run: RunConfig,
    /// Input paths.
    pub inputs: Vec<String>,
    /// Merge several inputs by timestamp.
    pub merge: bool,
}

/// Seconds (a Python float) → ns, rejecting negative and non-finite values.
pub fn seconds_to_ns(name: &str, s: f64) -> Result<i64> {
    if !s.is_finite() || s < 0.0 {
        return Err(Error::Invalid(format!(
            "{name} must be a non-negative number of seconds, got {s}"
        )));
    }
    let ns = s * 1e9;
    Ok(if ns >= i64::MAX as f64 {
        i64::MAX
    } else {
        ns as i64
    })
}

/// The metering options every flows entry point takes, in the order the
/// Python layer passes them as one tuple: (inputs, features, idle_timeout,
/// active_timeout, splt, accounting, tcp_termination, syn_ack_flip,
/// max_flows, threads, merge, (cic_names, cic_activity_timeout,
/// tcp_linger)); the last options are a nested tuple as pyo3 extracts
/// tuples of at most 12 items.
#[derive(FromPyObject)]
pub struct MeterArgs(
    Vec<String>,
    String,
    f64,
    f64,
    u16,
    String,
    bool,
    bool,
    usize,
    usize,
    bool,
    (bool, f64, f64),
);

/// Parse a feature spec as `netlens flows --features` (and `--cic-names`) does.
pub fn selection(features: &str, cic_names: bool) -> Result<Selection> {
    Ok(Selection::parse(features)
        .map_err(|e| Error::Invalid(e.to_string()))?
        .with_cic_names(cic_names))
}

impl FlowSettings {
    /// Validate the Python arguments the way `netlens flows` validates its options.
    pub fn new(args: MeterArgs) -> Result<FlowSettings> {
        let MeterArgs(
            inputs,
            features,
            idle_timeout,
            active_timeout,
            splt,
            accounting,
            tcp_termination,
            syn_ack_flip,
            max_flows,
            threads,
            merge,
            (cic_names, cic_activity_timeout, tcp_linger),
        ) = args;
        if inputs.is_empty() {
            return Err(Error::Invalid("no capture given".into()));
        }
        let mut spec = features.to_string();
        if splt > 0
            && !spec
                .split(',')
                .any(|p| p.trim() == "splt" || p.trim() == "all")
        {
            spec.push_str(",splt");
        }
        let selection = selection(&spec, cic_names)?;
        if selection.is_empty() {
            return Err(Error::Invalid("no feature column selected".into()));
        }
        let accounting = Accounting::parse(&accounting).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown accounting mode '{accounting}' (link, ip, transport, payload)"
            ))
        })?;
        let meter = MeterConfig {
            idle_timeout_ns: seconds_to_ns("idle_timeout", idle_timeout)?,
            active_timeout_ns: seconds_to_ns("active_timeout", active_timeout)?,
            tcp_termination,
            syn_ack_flip,
            capacity: max_flows.max(1),
            accounting,
            statistics: selection.needs_statistics(),
            splt,
            attribute_fragments: true,
            cic: selection.needs_cic(),
            app: selection.needs_app(),
            cic_activity_timeout_ns: seconds_to_ns("cic_activity_timeout", cic_activity_timeout)?,
            tcp_linger_ns: seconds_to_ns("tcp_linger", tcp_linger)?,
            // Everything else keeps the CLI's defaults.
            ..MeterConfig::default()
        };
        Ok(FlowSettings {
            selection,
            run: RunConfig {
                meter,
                threads: threads.max(1),
                ..Default::default()
            },
            inputs,
            merge,
        })
    }

    /// Open the inputs (errors name the offending file).
    pub fn open(&self) -> Result<CaptureReader> {
        let inputs: Vec<Input> = self.inputs.iter().map(|s| Input::from_arg(s)).collect();
        Ok(CaptureReader::open(
            &inputs,
            &ReadOptions {
                sort_by_time: self.merge,
            },
        )?)
    }
}

/// The run's report as JSON (packets, flows, skip reasons, warnings).
///
/// `warnings` are what the CLI prints as `netlens: warning: ...` (skipped
/// files, damaged or truncated captures); the packets of unsupported link
/// types are added to them in the CLI's words. The Python layer raises each
/// as a `netlens.CaptureWarning`. `extra` adds fields (a live capture's
/// counters).
pub fn report_json(
    report: &RunReport,
    warnings: &[String],
    extra: Option<(&str, serde_json::Value)>,
) -> String {
    let mut all = warnings.to_vec();
    for (lt, n) in &report.unsupported_linktypes {
        all.push(format!(
            "{n} packets of unsupported link type {lt} ({}) were counted but not decoded",
            netlens_wire::linktype::linktype_name(*lt)
        ));
    }
    let mut v = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("malformed".into(), report.malformed().into());
        o.insert("evicted".into(), report.meter.evicted.into());
        o.insert("warnings".into(), all.into());
        if let Some((k, x)) = extra {
            o.insert(k.into(), x);
        }
    }
    v.to_string()
}

/// The reader's warnings (skipped files, truncated or damaged captures) as text.
fn reader_warnings(reader: &mut CaptureReader) -> Vec<String> {
    reader
        .take_warnings()
        .iter()
        .map(|w| w.to_string())
        .collect()
}

enum Msg {
    Batch(RecordBatch),
    /// The run's report as JSON.
    Done(String),
    Failed(String),
}

/// Why the worker stopped early.
enum Stop {
    Closed,
    Export(ExportError),
    Live(String),
}

impl From<netlens_capture::live::LiveError> for Stop {
    fn from(e: netlens_capture::live::LiveError) -> Stop {
        Stop::Live(e.to_string())
    }
}

fn send_batch(tx: &SyncSender<Msg>, bb: &mut BatchBuilder) -> std::result::Result<(), Stop> {
    let b = bb.finish().map_err(Stop::Export)?;
    tx.send(Msg::Batch(b)).map_err(|_| Stop::Closed)
}

/// Append a hand-over's flows to the batch being built and send every full
/// batch; with `flush`, also send what is left (live captures deliver each
/// hand-over at once). Whole slices go in column by column (per-flow
/// appends lose most of the export crate's speed), cut at the row budget or
/// when a text/list column grows too large.
fn append_and_send(
    bb: &mut BatchBuilder,
    flows: &[Flow],
    rows: usize,
    tx: &SyncSender<Msg>,
    flush: bool,
) -> std::result::Result<(), Stop> {
    let mut rest = flows;
    while !rest.is_empty() {
        let take = rows.saturating_sub(bb.len()).clamp(1, rest.len());
        let (head, tail) = rest.split_at(take);
        bb.append_flows(head);
        rest = tail;
        if bb.len() >= rows || bb.is_full() {
            send_batch(tx, bb)?;
        }
    }
    if flush && !bb.is_empty() {
        send_batch(tx, bb)?;
    }
    Ok(())
}

/// Send the last batch and the run's outcome (report or error) to Python.
fn finish(
    res: std::result::Result<RunReport, Stop>,
    bb: &mut BatchBuilder,
    tx: &SyncSender<Msg>,
    warnings: &[String],
    extra: Option<(&str, serde_json::Value)>,
) {
    let res = res.and_then(|r| {
        if bb.is_empty() {
            Ok(r)
        } else {
            send_batch(tx, bb).map(|()| r)
        }
    });
    let _ = match res {
        Ok(report) => tx.send(Msg::Done(report_json(&report, warnings, extra))),
        Err(Stop::Closed) => Ok(()),
        Err(Stop::Export(e)) => tx.send(Msg::Failed(e.to_string())),
        Err(Stop::Live(m)) => tx.send(Msg::Failed(m)),
    };
}

fn worker(mut reader: CaptureReader, settings: FlowSettings, rows: usize, tx: SyncSender<Msg>) {
    let mut bb = BatchBuilder::new(&settings.selection, rows);
    let res = netlens_pipeline::run(
        &mut reader,
        &settings.run,
        &mut [],
        &mut |flows: &[Flow]| append_and_send(&mut bb, flows, rows, &tx, false),
        &mut |_: &RunReport| {},
    );
    let warnings = reader_warnings(&mut reader);
    finish(res, &mut bb, &tx, &warnings, None);
}

/// Live counterpart of [`worker`]: meters `source` until `stop` is set and
/// hands every non-empty hand-over to Python as a batch at once.
fn live_worker(
    mut source: netlens_pipeline::LiveSource,
    settings: FlowSettings,
    rows: usize,
    tx: SyncSender<Msg>,
    stop: Arc<AtomicBool>,
) {
    let mut bb = BatchBuilder::new(&settings.selection, rows);
    let res = netlens_pipeline::run_source(
        &mut source,
        &settings.run,
        &mut [],
        &mut |flows: &[Flow]| append_and_send(&mut bb, flows, rows, &tx, true),
        &mut |_: &RunReport| {},
        Some(&stop),
    );
    let s = source.stats();
    // The counters the CLI prints after a live capture; drops are warnings.
    let mut warnings = Vec::new();
    if s.kernel_dropped + s.interface_dropped + s.netlens_dropped > 0 {
        warnings.push(format!(
            "live capture dropped packets: {} kernel drops, {} interface drops, {} netlens drops ({} packets captured)",
            s.kernel_dropped, s.interface_dropped, s.netlens_dropped, s.packets
        ));
    }
    let live = serde_json::json!({
        "packets": s.packets,
        "kernel_dropped": s.kernel_dropped,
        "interface_dropped": s.interface_dropped,
        "netlens_dropped": s.netlens_dropped,
    });
    finish(res, &mut bb, &tx, &warnings, Some(("live", live)));
}

/// An iterator of `pyarrow.RecordBatch`es of flows, metered while iterating.
#[pyclass(module = "netlens._netlens")]
pub struct FlowStream {
    rx: Mutex<Option<Receiver<Msg>>>,
    schema: SchemaRef,
    report: Mutex<Option<String>>,
    /// Stop flag of a live capture (None for files).
    stop: Option<Arc<AtomicBool>>,
}

impl Drop for FlowStream {
    fn drop(&mut self) {
        if let Some(s) = &self.stop {
            s.store(true, Ordering::SeqCst);
        }
    }
}

#[pymethods]
impl FlowStream {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        // Wait for the worker without holding the GIL. A live capture may
        // wait long: look at Python's signals every 100 ms, and on Ctrl-C
        // stop the capture and keep reading until its flows are flushed.
        let msg = loop {
            // None: the stream is closed or the worker is gone; Some(None): nothing yet.
            let got = py.detach(|| {
                let guard = self.rx.lock().ok()?;
                let rx = guard.as_ref()?;
                match rx.recv_timeout(Duration::from_millis(100)) {
                    Ok(m) => Some(Some(m)),
                    Err(RecvTimeoutError::Timeout) => Some(None),
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            });
            match got {
                None => break None,
                Some(Some(m)) => break Some(m),
                Some(None) => {
                    // A signal handler's error (KeyboardInterrupt) is taken
                    // once: a live capture stops and flushes, a file stream
                    // raises it.
                    if let Err(e) = py.check_signals() {
                        match &self.stop {
                            Some(s) => s.store(true, Ordering::SeqCst),
                            None => return Err(e),
                        }
                    }
                }
            }
        };
        match msg {
            Some(Msg::Batch(b)) => Ok(Some(PyRecordBatch::new(b).into_pyarrow(py)?.unbind())),
            Some(Msg::Done(report)) => {
                self.close(Some(report));
                Ok(None)
            }
            Some(Msg::Failed(m)) => {
                self.close(None);
                Err(crate::error::NetlensError::new_err(m))
            }
            None => {
                self.close(None);
                Ok(None)
            }
        }
    }

    /// The Arrow schema of the batches, as a `pyarrow.Schema`.
    #[getter]
    fn schema<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PySchema::new(self.schema.clone()).into_pyarrow(py)
    }

    /// The run's report as JSON once the stream is exhausted, else None.
    fn report_json(&self) -> Option<String> {
        self.report.lock().ok().and_then(|g| g.clone())
    }

    /// Stop reading (the worker ends at its next hand-over; a live capture stops).
    fn close_stream(&self) {
        if let Some(s) = &self.stop {
            s.store(true, Ordering::SeqCst);
        }
        self.close(None);
    }
}

impl FlowStream {
    fn close(&self, report: Option<String>) {
        if let Ok(mut g) = self.rx.lock() {
            *g = None;
        }
        if report.is_some()
            && let Ok(mut g) = self.report.lock()
        {
            *g = report;
        }
    }
}

/// Open captures and start metering; returns a stream of record batches of
/// at most `batch_rows` flows.
#[pyfunction]
#[pyo3(signature = (args, batch_rows))]
pub fn open_flows(args: MeterArgs, batch_rows: usize) -> PyResult<FlowStream> {
    if batch_rows == 0 {
        return Err(Error::Invalid("rows per batch must be at least 1".into()).into());
    }
    let s = FlowSettings::new(args)?;
    let reader = s.open()?;
    let schema = std::sync::Arc::new(netlens_export::arrow_schema(&s.selection));
    let (tx, rx) = sync_channel(1);
    std::thread::Builder::new()
        .name("netlens-flows".into())
        .spawn(move || worker(reader, s, batch_rows, tx))
        .map_err(|e| Error::Invalid(format!("cannot start the metering thread: {e}")))?;
    Ok(FlowStream {
        rx: Mutex::new(Some(rx)),
        schema,
        report: Mutex::new(None),
        stop: None,
    })
}

/// Capture from a live interface and meter it; returns a stream of record
/// batches that ends after `duration` seconds (None: until the stream is
/// closed or Ctrl-C).
#[pyfunction]
#[pyo3(signature = (args, batch_rows, duration=None, snaplen=65535, bpf=None, promiscuous=true))]
pub fn open_live_flows(
    args: MeterArgs,
    batch_rows: usize,
    duration: Option<f64>,
    snaplen: u32,
    bpf: Option<String>,
    promiscuous: bool,
) -> PyResult<FlowStream> {
    use netlens_capture::live::{LiveCapture, LiveConfig};
    if batch_rows == 0 {
        return Err(Error::Invalid("rows per batch must be at least 1".into()).into());
    }
    let wait = duration
        .map(|d| seconds_to_ns("duration", d).map(|ns| Duration::from_nanos(ns as u64)))
        .transpose()?;
    let interface = match args.0.as_slice() {
        [one] => one.clone(),
        _ => return Err(Error::Invalid("a live capture takes one interface name".into()).into()),
    };
    let s = FlowSettings::new(args)?;
    let mut cfg = LiveConfig::new(&interface);
    cfg.snaplen = snaplen;
    cfg.promiscuous = promiscuous;
    let mut cap = LiveCapture::open(&cfg).map_err(|e| Error::Invalid(e.to_string()))?;
    if let Some(f) = &bpf {
        cap.set_filter(f)
            .map_err(|e| Error::Invalid(e.to_string()))?;
    }
    let source = netlens_pipeline::LiveSource::new(cap);
    let schema = std::sync::Arc::new(netlens_export::arrow_schema(&s.selection));
    let stop = Arc::new(AtomicBool::new(false));
    if let Some(wait) = wait {
        let timer = stop.clone();
        std::thread::Builder::new()
            .name("netlens-live-timer".into())
            .spawn(move || {
                std::thread::sleep(wait);
                timer.store(true, Ordering::SeqCst);
            })
            .map_err(|e| Error::Invalid(format!("cannot start the timer thread: {e}")))?;
    }
    let (tx, rx) = sync_channel(1);
    let worker_stop = stop.clone();
    std::thread::Builder::new()
        .name("netlens-flows".into())
        .spawn(move || live_worker(source, s, batch_rows, tx, worker_stop))
        .map_err(|e| Error::Invalid(format!("cannot start the metering thread: {e}")))?;
    Ok(FlowStream {
        rx: Mutex::new(Some(rx)),
        schema,
        report: Mutex::new(None),
        stop: Some(stop),
    })
}

/// The Arrow schema (a `pyarrow.Schema`) of the columns a feature spec selects.
#[pyfunction]
#[pyo3(signature = (features = "all", cic_names = false))]
pub fn flows_schema<'py>(
    py: Python<'py>,
    features: &str,
    cic_names: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let sel = selection(features, cic_names)?;
    PySchema::new(std::sync::Arc::new(netlens_export::arrow_schema(&sel))).into_pyarrow(py)
}

/// Meter captures and write the flows to `output` with the CLI's writers;
/// returns the run report as JSON.
#[pyfunction]
#[pyo3(signature = (args, output, format, compression = None))]
pub fn write_flows(
    py: Python<'_>,
    args: MeterArgs,
    output: String,
    format: Option<String>,
    compression: Option<String>,
) -> PyResult<String> {
    let s = FlowSettings::new(args)?;
    let format = match format.as_deref() {
        Some(f) => Format::parse(f).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown format '{f}' (expected csv, jsonl or parquet)"
            ))
        })?,
        None => Format::from_path(std::path::Path::new(&output)).unwrap_or(Format::Csv),
    };
    if format == Format::Parquet {
        netlens_export::check_parquet_name(std::path::Path::new(&output))
            .map_err(Error::Invalid)?;
    }
    let compression = match compression.as_deref() {
        None => None,
        Some(_) if format != Format::Parquet => {
            return Err(Error::Invalid(
                "compression sets the Parquet codec; for CSV or JSON Lines name the output .csv.gz or .jsonl.gz".into(),
            )
            .into());
        }
        Some(c) => Some(netlens_export::parse_compression(c).map_err(Error::Invalid)?),
    };
    let mut reader = s.open()?;
    let res: Result<String> = py.detach(move || {
        // A `.gz` name is written gzip-compressed, as by the CLI.
        let out = netlens_export::create_output(std::path::Path::new(&output)).map_err(|e| {
            Error::Io {
                path: output.clone(),
                source: e,
            }
        })?;
        let opts = netlens_export::WriterOptions {
            compression,
            ..Default::default()
        };
        let mut writer = netlens_export::open_writer_with(format, out, &s.selection, opts)?;
        let report = netlens_pipeline::run(
            &mut reader,
            &s.run,
            &mut [],
            &mut |f| writer.write(f),
            &mut |_| {},
        )?;
        writer.finish()?;
        let warnings = reader_warnings(&mut reader);
        Ok(report_json(&report, &warnings, None))
    });
    Ok(res?)
}

/// Check a Parquet codec spec as `netlens flows --compression` does
/// (`zstd:LEVEL` within 1..=22, `gzip:LEVEL` within 0..=9, no level for the
/// others); the error is the CLI's.
#[pyfunction]
pub fn check_compression(compression: &str) -> PyResult<()> {
    netlens_export::parse_compression(compression).map_err(Error::Invalid)?;
    Ok(())
}

/// Names of the columns a feature spec selects, in output order (the
/// CIC-IDS2017 headers for the cic columns with `cic_names`).
#[pyfunction]
#[pyo3(signature = (features = "all", cic_names = false))]
pub fn feature_columns(features: &str, cic_names: bool) -> PyResult<Vec<String>> {
    let sel = selection(features, cic_names)?;
    Ok(sel
        .columns()
        .map(|c| sel.output_name(c).to_string())
        .collect())
}
