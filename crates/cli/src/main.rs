//! `netlens`: the command-line front end. Thin: every command parses its
//! arguments, calls the library crates and prints; no analysis logic lives
//! here.

mod cmd;
mod common;

use std::process::ExitCode;

/// mimalloc instead of the system allocator: flows with every feature group
/// allocate and free several small blocks each (statistics, packet lists,
/// application metadata), and glibc malloc spent about 15 % of `netlens flows
/// --features all` on the flood mix in chunk bookkeeping.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc v3's `mi_option_e` (include/mimalloc.h).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keep freed pages instead of returning them to the OS after 1 s
/// (mimalloc v3's default). The Parquet writer frees and reallocates its large
/// column buffers at every row group; once returned, each comes back as
/// fresh pages the kernel must zero again, which was ~6 % of `netlens flows`
/// on the typical mix (`clear_page_erms`). The cost is memory held after
/// use: peak RSS on that run went from 191 to 205 MB.
/// `MIMALLOC_PURGE_DELAY` in the environment still decides when set.
fn keep_freed_pages() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option; mimalloc reads it
        // at each purge decision, so changing it at any time is allowed.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

use clap::{Parser, Subcommand};

/// Network traffic analysis with machine learning.
#[derive(Parser, Debug)]
#[command(name = "netlens", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One variant per subcommand; each wraps the `Args` of its module in `cmd`.
#[derive(Subcommand, Debug)]
enum Command {
    // Register new subcommands here (one line each) and in `run` below.
    /// The main job: captures in, one report folder out (monitoring, alerts, forecast, flow table).
    Analyze(cmd::analyze::Args),
    /// Meter bidirectional flows in captures and export them (CSV, JSON Lines, Parquet).
    Flows(cmd::flows::Args),
    /// Unsupervised anomaly detection: isolation forest on flows, Kitsune-style online packet detector.
    Anomaly(cmd::anomaly::Args),
    /// Label the flows of a flow table by rules (time windows, CIDR prefixes, ports, protocol).
    Label(cmd::label::Args),
    /// Train a flow detector (random forest) from labelled captures in one step.
    TrainDetector(cmd::train_detector::Args),
    /// Detect attacks in captures with a trained flow model; alerts as JSON Lines.
    Detect(cmd::detect::Args),
    /// Quick look at captures: packets, protocols, malformed packets, flows, top talkers.
    Stats(cmd::stats::Args),
    /// List the flow features (columns) netlens can export.
    Features(cmd::features::Args),
    /// Generate the deterministic, labelled sample capture.
    Synth(cmd::synth::Args),
    /// Train a model on flow/feature tables and save it.
    Train(cmd::train::Args),
    /// Evaluate a saved model on labelled tables, or cross-validate.
    Evaluate(cmd::evaluate::Args),
    /// Score a table with a saved model (adds prediction and score columns).
    Predict(cmd::predict::Args),
    /// Forecast a time series CSV: backtest models, capacity check, chart.
    Forecast(cmd::forecast::Args),
    /// Per-interval time series (packets, bytes, flows, hosts, protocols, apps, talkers) from captures or flow tables.
    Series(cmd::series::Args),
    /// Monitoring report folder: HTML page, PNG/SVG charts and report.json.
    Report(cmd::report::Args),
    /// Live web dashboard of a capture replayed at its own pace (page + JSON API).
    Serve(cmd::serve::Args),
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // One arm per subcommand.
        Command::Analyze(a) => cmd::analyze::run(a),
        Command::Flows(a) => cmd::flows::run(a),
        Command::Anomaly(a) => cmd::anomaly::run(a),
        Command::Label(a) => cmd::label::run(a),
        Command::TrainDetector(a) => cmd::train_detector::run(a),
        Command::Detect(a) => cmd::detect::run(a),
        Command::Stats(a) => cmd::stats::run(a),
        Command::Features(a) => cmd::features::run(a),
        Command::Synth(a) => cmd::synth::run(a),
        Command::Train(a) => cmd::train::run(a),
        Command::Evaluate(a) => cmd::evaluate::run(a),
        Command::Predict(a) => cmd::predict::run(a),
        Command::Forecast(a) => cmd::forecast::run(a),
        Command::Series(a) => cmd::series::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Serve(a) => cmd::serve::run(a),
    }
}

fn main() -> ExitCode {
    keep_freed_pages();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (e.g. `netlens flows x.pcap | head`) is not a failure.
            let broken_pipe = err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                    || e.to_string().contains("Broken pipe")
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("netlens: error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each said once. Library errors
/// put their source in their own message (so that Python users and
/// `to_string` see the reason), and anyhow's `{:#}` would then print that
/// reason twice ("x.pcap: No such file…: No such file…").
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        // "reading x.csv" + "x.csv: bad row" → "reading x.csv: bad row".
        let text = match text.split_once(": ") {
            Some((head, rest)) if !head.is_empty() && line.ends_with(head) => rest,
            _ => &text,
        };
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::MI_OPTION_PURGE_DELAY;
    use super::one_line;

    #[test]
    fn one_line_says_each_cause_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(netlens_capture::CaptureError::Io {
            path: "x.pcap".into(),
            source: io,
        })
        .context("reading inputs");
        assert_eq!(one_line(&err), "reading inputs: x.pcap: no such file");
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(one_line(&plain), "outer: inner");
        let path = anyhow::anyhow!("s.csv: row 3: not a number").context("reading s.csv");
        assert_eq!(one_line(&path), "reading s.csv: row 3: not a number");
    }

    /// `MI_OPTION_PURGE_DELAY` must still name mimalloc's purge delay (v3's
    /// default is 1000 ms, src/options.c): a reordered option enum in a new
    /// mimalloc would otherwise set some other option.
    #[test]
    fn purge_delay_option_index_is_right() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads a process-wide option.
        let v = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(v, 1000, "option {MI_OPTION_PURGE_DELAY} is not purge_delay");
    }
}
