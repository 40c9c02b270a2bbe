//! Helpers shared by the packet-side commands: inputs, outputs, progress.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use netlens_capture::{CaptureReader, Input, ReadOptions};

/// Open the inputs named on the command line (`-` = stdin).
pub fn open_inputs(inputs: &[String], sort_by_time: bool) -> Result<CaptureReader> {
    let inputs: Vec<Input> = inputs.iter().map(|s| Input::from_arg(s)).collect();
    let reader = CaptureReader::open(&inputs, &ReadOptions { sort_by_time })?;
    Ok(reader)
}

/// Print reader warnings (truncation with byte offsets, skipped files) to stderr.
pub fn print_warnings(reader: &mut CaptureReader, quiet: bool) {
    for w in reader.take_warnings() {
        if !quiet {
            eprintln!("netlens: warning: {w}");
        }
    }
}

/// Open `path` for writing (`-` = stdout), buffered.
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
    let f = File::create(&p).with_context(|| format!("cannot create {}", p.display()))?;
    Ok(Box::new(BufWriter::with_capacity(1 << 16, f)))
}

/// Resolve the table format from `--format` or the output's extension (CSV by default).
pub fn table_format(explicit: Option<&str>, output: &str) -> Result<netlens_export::Format> {
    if let Some(f) = explicit {
        return netlens_export::Format::parse(f)
            .with_context(|| format!("unknown format '{f}' (expected csv, jsonl or parquet)"));
    }
    if output == "-" {
        return Ok(netlens_export::Format::Csv);
    }
    Ok(netlens_export::Format::from_path(Path::new(output)).unwrap_or(netlens_export::Format::Csv))
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

/// Human-readable byte count.
pub fn human_bytes(b: u64) -> String {
    const U: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < U.len() {
        v /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} B")
    } else {
        format!("{v:.2} {}", U[i])
    }
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
