//! Helpers shared by the packet-side commands: inputs, outputs, progress.

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use netlens_capture::{CaptureReader, Input, ReadOptions};
use netlens_pipeline::{PacketSource, SourceEvent};

/// Open the inputs named on the command line (`-` = stdin).
pub fn open_inputs(inputs: &[String], sort_by_time: bool) -> Result<CaptureReader> {
    let inputs: Vec<Input> = inputs.iter().map(|s| Input::from_arg(s)).collect();
    let reader = CaptureReader::open(&inputs, &ReadOptions { sort_by_time })?;
    Ok(reader)
}

/// Print reader warnings (truncation with byte offsets, skipped files) to
/// stderr. `-q` does not hide them: it only silences progress, and a
/// truncated input is something the user must hear about.
pub fn print_warnings(reader: &mut CaptureReader) {
    for w in reader.take_warnings() {
        eprintln!("netlens: warning: {w}");
    }
}

/// `println!` that returns the write error instead of panicking: a closed
/// stdout (`netlens evaluate ... | head`) then ends the command quietly
/// through `main`'s broken-pipe check.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($t)*)
    }};
}
pub(crate) use outln;

/// Open `path` for writing (`-` = stdout), buffered. A path ending in `.gz`
/// is written gzip-compressed (see `netlens_export::create_output`).
pub fn open_output(path: &str) -> Result<Box<dyn Write + Send>> {
    if path == "-" {
        return Ok(Box::new(BufWriter::with_capacity(
            1 << 16,
            std::io::stdout(),
        )));
    }
    let p = PathBuf::from(path);
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    netlens_export::create_output(&p).with_context(|| format!("cannot create {}", p.display()))
}

/// Resolve the table format from `--format` or the output's extension (CSV
/// by default; `x.csv.gz` and `x.jsonl.gz` are gzip-compressed text).
pub fn table_format(explicit: Option<&str>, output: &str) -> Result<netlens_export::Format> {
    let format = match explicit {
        Some(f) => netlens_export::Format::parse(f)
            .with_context(|| format!("unknown format '{f}' (expected csv, jsonl or parquet)"))?,
        None if output == "-" => netlens_export::Format::Csv,
        None => netlens_export::Format::from_path(Path::new(output))
            .unwrap_or(netlens_export::Format::Csv),
    };
    if format == netlens_export::Format::Parquet {
        check_parquet_name(output)?;
        if output == "-" && std::io::stdout().is_terminal() {
            bail!("Parquet is binary: give an output file with -o (or redirect stdout)");
        }
    }
    Ok(format)
}

/// A Parquet output must not be named `.gz`: Parquet compresses inside the
/// file, and readers would take the name for a gzip stream.
pub fn check_parquet_name(output: &str) -> Result<()> {
    netlens_export::check_parquet_name(Path::new(output)).map_err(anyhow::Error::msg)
}

/// Parse a duration in seconds: `120`, `1.5`, `90s`, `2m`, `1h`, `1d`.
pub fn parse_seconds(s: &str) -> Result<f64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1.0),
        Some((i, 'm')) => (&s[..i], 60.0),
        Some((i, 'h')) => (&s[..i], 3600.0),
        Some((i, 'd')) => (&s[..i], 86400.0),
        _ => (s, 1.0),
    };
    let v: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("invalid duration '{s}' (e.g. 120, 90s, 2m, 1h)"))?;
    if !v.is_finite() || v < 0.0 {
        bail!("invalid duration '{s}': must be a non-negative number");
    }
    Ok(v * mult)
}

/// Seconds → ns, saturating.
pub fn secs_to_ns(s: f64) -> i64 {
    let ns = s * 1e9;
    if ns >= i64::MAX as f64 {
        i64::MAX
    } else {
        ns as i64
    }
}

/// A packet-count spinner on stderr when stderr is a terminal (hidden otherwise).
pub fn packet_progress(quiet: bool) -> indicatif::ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// Resolve a flow feature group name (`basic`, `meta`, `nfstream`, `app`,
/// `splt`, `cic`) to its column names, for `--features` in the ML commands.
pub fn feature_groups(name: &str) -> Option<Vec<String>> {
    let g = netlens_flow::Group::ALL
        .into_iter()
        .find(|g| g.name() == name)?;
    Some(
        netlens_flow::COLUMNS
            .iter()
            .filter(|c| c.group == g)
            .map(|c| c.name.to_string())
            .collect(),
    )
}

/// Live-capture options shared by the packet-side commands (`flows`,
/// `detect`, `analyze`, `anomaly`).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LiveArgs {
    /// Capture live from this network interface instead of reading files (`lo`, `eth0`, `any`); stop with Ctrl-C or --duration.
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// Live: stop after this long (seconds, or 90s/2m/1h); otherwise at Ctrl-C.
    #[arg(long, requires = "interface")]
    pub duration: Option<String>,
    /// Live: bytes kept per packet.
    #[arg(long, default_value_t = 65_535, requires = "interface")]
    pub snaplen: u32,
    /// Live: do not put the interface into promiscuous mode.
    #[arg(long, requires = "interface")]
    pub no_promisc: bool,
    /// Live: capture only packets matching this BPF filter (tcpdump syntax, e.g. "tcp port 443").
    #[arg(long, value_name = "FILTER", requires = "interface")]
    pub bpf: Option<String>,
}

/// Set when the run should end: Ctrl-C / SIGTERM, or the end of `--duration`.
static STOP: AtomicBool = AtomicBool::new(false);

/// Install the Ctrl-C (and SIGTERM) handler once and start the `--duration`
/// timer; returns the flag the pipeline checks. A second Ctrl-C exits at
/// once (status 130) in case the clean shutdown hangs.
pub fn stop_flag(duration: Option<&str>) -> Result<&'static AtomicBool> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if INSTALLED.get().is_none() {
        ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        })
        .context("cannot install the Ctrl-C handler")?;
        let _ = INSTALLED.set(());
    }
    if let Some(d) = duration {
        let secs = parse_seconds(d)?;
        let wait = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
        std::thread::spawn(move || {
            std::thread::sleep(wait);
            STOP.store(true, Ordering::SeqCst);
        });
    }
    Ok(&STOP)
}

/// Where packets come from: capture files, or a live interface.
pub enum PacketInput {
    /// Capture files, directories or stdin.
    Files(CaptureReader),
    /// A live interface.
    #[cfg(feature = "live")]
    Live {
        /// Interface name.
        name: String,
        /// The capture.
        source: netlens_pipeline::LiveSource,
    },
}

impl PacketInput {
    /// Open the live interface of `live` if one is named, else the files.
    pub fn open(inputs: &[String], sort_by_time: bool, live: &LiveArgs) -> Result<PacketInput> {
        match &live.interface {
            None => Ok(PacketInput::Files(open_inputs(inputs, sort_by_time)?)),
            Some(iface) => {
                if !inputs.is_empty() {
                    bail!("give either capture files or --interface, not both");
                }
                open_live(iface, live)
            }
        }
    }

    /// The stop flag for this input: Ctrl-C / `--duration` for a live
    /// interface, none for files (they end by themselves).
    pub fn stop_flag(&self, live: &LiveArgs) -> Result<Option<&'static AtomicBool>> {
        if self.is_live() {
            Ok(Some(stop_flag(live.duration.as_deref())?))
        } else {
            Ok(None)
        }
    }

    /// True for a live interface.
    pub fn is_live(&self) -> bool {
        !matches!(self, PacketInput::Files(_))
    }

    /// Describe the input for reports: (name, kind, notes) per source.
    pub fn describe(&self) -> Vec<(String, String, String)> {
        match self {
            PacketInput::Files(r) => r
                .sources()
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        "capture".to_string(),
                        format!("{}, {} packets", s.format, s.packets),
                    )
                })
                .collect(),
            #[cfg(feature = "live")]
            PacketInput::Live { name, .. } => {
                vec![(name.clone(), "live".to_string(), "live capture".to_string())]
            }
        }
    }

    /// Reader warnings (files only), as text.
    pub fn warnings(&mut self) -> Vec<String> {
        match self {
            PacketInput::Files(r) => r
                .take_warnings()
                .into_iter()
                .map(|w| w.to_string())
                .collect(),
            #[cfg(feature = "live")]
            PacketInput::Live { .. } => Vec::new(),
        }
    }

    /// After a run: print reader warnings, or the live capture counters
    /// (packets, kernel/interface/netlens drops, flows) to stderr.
    pub fn finish(&mut self, flows: u64, quiet: bool) {
        match self {
            PacketInput::Files(r) => print_warnings(r),
            #[cfg(feature = "live")]
            PacketInput::Live { name, source } => {
                let s = source.stats();
                if !quiet {
                    eprintln!(
                        "netlens: live {name}: {} packets captured, {} kernel drops, {} interface drops, {} netlens drops, {flows} flows",
                        s.packets, s.kernel_dropped, s.interface_dropped, s.netlens_dropped
                    );
                }
            }
        }
    }
}

impl PacketSource for PacketInput {
    type Error = anyhow::Error;
    fn next_event(&mut self) -> Result<SourceEvent<'_>> {
        match self {
            PacketInput::Files(r) => match r.next_event() {
                Ok(ev) => Ok(ev),
                Err(e) => match e {},
            },
            #[cfg(feature = "live")]
            PacketInput::Live { source, .. } => Ok(source.next_event()?),
        }
    }
}

#[cfg(feature = "live")]
fn open_live(iface: &str, a: &LiveArgs) -> Result<PacketInput> {
    use netlens_capture::live::{LiveCapture, LiveConfig};
    let mut cfg = LiveConfig::new(iface);
    cfg.snaplen = a.snaplen;
    cfg.promiscuous = !a.no_promisc;
    let mut cap = LiveCapture::open(&cfg)?;
    if let Some(f) = &a.bpf {
        cap.set_filter(f)?;
    }
    Ok(PacketInput::Live {
        name: iface.to_string(),
        source: netlens_pipeline::LiveSource::new(cap),
    })
}

#[cfg(not(feature = "live"))]
fn open_live(_iface: &str, _a: &LiveArgs) -> Result<PacketInput> {
    bail!(
        "this netlens was built without live capture (rebuild with the `live` feature, on by default)"
    )
}

/// A flow table being written. For a live run CSV and JSON Lines go out
/// per batch and are flushed, so `tail -f` sees flows as they end.
///
/// The export writers keep their own buffers and have no flush, so a
/// streaming table writes each batch through a fresh writer into memory
/// and appends the bytes (dropping the repeated CSV header line). Parquet
/// cannot be appended to and is written whole at the end.
pub struct TableOut {
    format: netlens_export::Format,
    sel: netlens_flow::Selection,
    out: Box<dyn Write + Send>,
    whole: Option<Box<dyn netlens_export::FlowWriter + Send>>,
}

/// An in-memory `Write` whose bytes can be taken out after its writer is gone.
#[derive(Clone, Default)]
struct SharedBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => {
                v.extend_from_slice(b);
                Ok(b.len())
            }
            Err(_) => Err(std::io::Error::other("buffer lock poisoned")),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TableOut {
    /// Open `path` (`-` = stdout) as a table of `format`; `streaming` flushes
    /// every batch; `parquet` sets the Parquet encoder thread and codec.
    pub fn open(
        format: netlens_export::Format,
        path: &str,
        sel: &netlens_flow::Selection,
        streaming: bool,
        parquet: netlens_export::WriterOptions,
    ) -> Result<TableOut> {
        let out = open_output(path)?;
        let streamable = matches!(
            format,
            netlens_export::Format::Csv | netlens_export::Format::Jsonl
        );
        if streaming && streamable {
            let mut t = TableOut {
                format,
                sel: sel.clone(),
                out,
                whole: None,
            };
            t.append(&[], true)?;
            Ok(t)
        } else {
            let w = netlens_export::open_writer_with(format, out, sel, parquet)?;
            Ok(TableOut {
                format,
                sel: sel.clone(),
                out: Box::new(std::io::sink()),
                whole: Some(w),
            })
        }
    }

    fn append(&mut self, flows: &[netlens_flow::Flow], header: bool) -> Result<()> {
        let buf = SharedBuf::default();
        let mut w = netlens_export::open_writer(self.format, Box::new(buf.clone()), &self.sel)?;
        w.write(flows)?;
        w.finish()?;
        let bytes = match buf.0.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => bail!("table buffer lock poisoned"),
        };
        let body = if !header && self.format == netlens_export::Format::Csv {
            match bytes.iter().position(|&b| b == b'\n') {
                Some(i) => bytes.get(i + 1..).unwrap_or(&[]),
                None => &[],
            }
        } else {
            &bytes[..]
        };
        self.out.write_all(body)?;
        self.out.flush()?;
        Ok(())
    }

    /// Write a batch of flows.
    pub fn write(&mut self, flows: &[netlens_flow::Flow]) -> Result<()> {
        match &mut self.whole {
            Some(w) => Ok(w.write(flows)?),
            None if flows.is_empty() => Ok(()),
            None => self.append(flows, false),
        }
    }

    /// Finish the table (footer, flush).
    pub fn finish(mut self) -> Result<()> {
        match self.whole.take() {
            Some(w) => Ok(w.finish()?),
            None => Ok(self.out.flush()?),
        }
    }
}

/// Default flow-metering threads: 2 when at least two cores are usable
/// (one reads and feeds, the workers meter; more did not pay on the
/// benchmark machine's two cores), else 1. Python's `netlens.flows` uses
/// the same rule.
pub fn default_threads() -> usize {
    match std::thread::available_parallelism() {
        Ok(n) if n.get() >= 2 => 2,
        _ => 1,
    }
}

/// Destination ports for a report line: up to five listed in order, else
/// how many there are and their range.
pub fn ports_text(ports: impl IntoIterator<Item = u64>) -> String {
    let mut p: Vec<u64> = ports.into_iter().collect();
    p.sort_unstable();
    p.dedup();
    match (p.first(), p.last()) {
        (Some(lo), Some(hi)) if p.len() > 5 => format!("{} distinct ports ({lo}–{hi})", p.len()),
        _ => p.iter().map(u64::to_string).collect::<Vec<_>>().join(", "),
    }
}
