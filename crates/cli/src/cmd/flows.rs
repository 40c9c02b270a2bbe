//! `netlens flows`: captures in, one row per bidirectional flow out.

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_flow::{Accounting, MeterConfig, Selection};
use netlens_pipeline::{RunConfig, RunReport};

use crate::common;

/// Meter bidirectional flows in captures and write them as CSV, JSON Lines or Parquet.
///
/// Reads pcap and pcapng files (also gzip-compressed), whole directories and
/// stdin (`-`); several inputs are merged in timestamp order. Or captures live
/// from an interface (`-i eth0`) until Ctrl-C or `--duration`: CSV and JSON
/// Lines rows are flushed as flows end (`tail -f` works). Flows end on
/// idle timeout, active timeout, TCP FIN (both ways + final ACK) or RST, and
/// at the end of input (or of the capture); they are written as they end.
#[derive(Parser, Debug)]
#[command(
    after_help = "Examples:\n  netlens flows capture.pcap -o flows.parquet\n  netlens flows dir/ --features nfstream --splt 10 -o flows.csv\n  cat x.pcap.gz | netlens flows - --format jsonl | head\n  netlens flows -i eth0 --idle-timeout 30 -o live.csv   (Ctrl-C to stop)\n  netlens flows -i lo --bpf 'udp' --duration 1m -o lo.jsonl"
)]
pub struct Args {
    /// Capture files or directories; `-` reads stdin.
    #[arg(required_unless_present = "interface")]
    pub inputs: Vec<String>,
    /// Live capture options.
    #[command(flatten)]
    pub live: common::LiveArgs,
    /// Output path (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// Output format: csv, jsonl or parquet (default: from the output's extension, else csv; `x.csv.gz` and `x.jsonl.gz` are written gzip-compressed).
    #[arg(long)]
    pub format: Option<String>,
    /// Parquet codec: snappy (default; fast), zstd[:LEVEL] (smaller files), lz4, gzip[:LEVEL] or none.
    #[arg(long, value_name = "CODEC")]
    pub compression: Option<String>,
    /// Columns: presets (basic = the basic and meta groups; nfstream = the basic group + NFStream statistics; cic = the basic group + the corrected CICFlowMeter set; all = every group), groups (meta, app, splt; splt is empty without --splt N) or column names, comma separated. See `netlens features`.
    #[arg(long, default_value = "basic")]
    pub features: String,
    /// Name the cic columns by their CIC-IDS2017 CSV headers ("Flow Duration", "Total Fwd Packet", ...);
    /// CIC's "Protocol" is left out beside netlens's `protocol` (same value; case-insensitive readers
    /// such as Spark and DuckDB refuse names that differ only by case).
    #[arg(long)]
    pub cic_names: bool,
    /// CICFlowMeter activity timeout separating Active/Idle periods (cic set).
    #[arg(long, default_value = "5")]
    pub cic_activity_timeout: String,
    /// Keep the direction, size and gap of the first N packets of each flow (adds the splt columns).
    #[arg(long, default_value_t = 0)]
    pub splt: u16,
    /// Idle timeout: a flow with no packet for this long ends (seconds, or 90s/2m/1h).
    #[arg(long, default_value = "120")]
    pub idle_timeout: String,
    /// Active timeout: a flow this old ends and later packets start a new one.
    #[arg(long, default_value = "1800")]
    pub active_timeout: String,
    /// Do not end TCP flows on FIN/RST (NFStream's behaviour).
    #[arg(long)]
    pub no_tcp_termination: bool,
    /// After a TCP connection that completed its handshake ends by FIN/RST,
    /// keep it this long for its stray packets (retransmitted RSTs, late
    /// ACKs), as Zeek does; a SYN starts a new flow at once. 0 = end at once.
    #[arg(long, default_value = "5s", value_name = "SECONDS")]
    pub tcp_linger: String,
    /// Keep the first packet's sender as source even when it is a SYN-ACK.
    #[arg(long)]
    pub no_syn_ack_flip: bool,
    /// Most flows held at once; beyond it the least recently active flow is exported early (reason `evicted`).
    #[arg(long, default_value_t = 4 << 20)]
    pub max_flows: usize,
    /// Bytes counted per packet: link (frame length, as NFStream), ip, transport or payload.
    #[arg(long, default_value = "link")]
    pub accounting: String,
    /// Flow-metering threads (flows are sharded by key; the output is the same
    /// for any count unless --max-flows is reached, as the table is split
    /// between threads). Default: 2 when two or more cores are usable, else 1.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Read several inputs one after another instead of merging them by
    /// timestamp. An input that starts before the previous one ended is
    /// metered on its own clock: the open flows end with the previous input.
    #[arg(long)]
    pub no_merge: bool,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Meter settings from the command line.
pub fn meter_config(a: &Args, sel: &Selection) -> Result<MeterConfig> {
    Ok(MeterConfig {
        idle_timeout_ns: common::secs_to_ns(common::parse_seconds(&a.idle_timeout)?),
        active_timeout_ns: common::secs_to_ns(common::parse_seconds(&a.active_timeout)?),
        tcp_termination: !a.no_tcp_termination,
        syn_ack_flip: !a.no_syn_ack_flip,
        capacity: a.max_flows.max(1),
        accounting: Accounting::parse(&a.accounting).with_context(|| {
            format!(
                "unknown accounting mode '{}' (link, ip, transport, payload)",
                a.accounting
            )
        })?,
        statistics: sel.needs_statistics(),
        splt: a.splt,
        attribute_fragments: true,
        cic: sel.needs_cic(),
        app: sel.needs_app(),
        cic_activity_timeout_ns: common::secs_to_ns(common::parse_seconds(
            &a.cic_activity_timeout,
        )?),
        early_emit: 0,
        tcp_linger_ns: common::secs_to_ns(common::parse_seconds(&a.tcp_linger)?),
    })
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let mut spec = a.features.clone();
    if a.splt > 0
        && !spec
            .split(',')
            .any(|p| p.trim() == "splt" || p.trim() == "all")
    {
        spec.push_str(",splt");
    }
    let sel = Selection::parse(&spec)?.with_cic_names(a.cic_names);
    let format = common::table_format(a.format.as_deref(), &a.output)?;
    let threads = a.threads.unwrap_or_else(common::default_threads).max(1);
    let cfg = RunConfig {
        meter: meter_config(&a, &sel)?,
        threads,
        ..Default::default()
    };
    let mut input = common::PacketInput::open(&a.inputs, !a.no_merge, &a.live)?;
    let stop = input.stop_flag(&a.live)?;
    let compression = match &a.compression {
        None => None,
        Some(_) if format != netlens_export::Format::Parquet => {
            bail!(
                "--compression sets the Parquet codec; for CSV or JSON Lines name the output .csv.gz or .jsonl.gz"
            )
        }
        Some(c) => Some(netlens_export::parse_compression(c).map_err(anyhow::Error::msg)?),
    };
    // Encoding Parquet on its own thread overlaps compression with
    // metering; worth it only when there is a core to spare.
    let parquet = netlens_export::WriterOptions {
        background: threads > 1,
        compression,
    };
    let mut table = common::TableOut::open(format, &a.output, &sel, input.is_live(), parquet)?;
    let pb = common::packet_progress(a.quiet);
    let mut progress =
        |r: &RunReport| pb.set_message(format!("{} packets, {} flows", r.packets, r.flows));
    let report = match &mut input {
        // Files go through the reader directly (no per-packet dispatch).
        common::PacketInput::Files(reader) => netlens_pipeline::run(
            reader,
            &cfg,
            &mut [],
            &mut |flows| table.write(flows),
            &mut progress,
        ),
        live => netlens_pipeline::run_source(
            live,
            &cfg,
            &mut [],
            &mut |flows| table.write(flows),
            &mut progress,
            stop,
        ),
    }
    .with_context(|| format!("writing {}", a.output))?;
    pb.finish_and_clear();
    table
        .finish()
        .with_context(|| format!("writing {}", a.output))?;
    input.finish(report.flows, a.quiet);
    if !a.quiet {
        eprintln!(
            "netlens: {} packets ({} metered, {} non-IP, {} malformed), {} flows{}",
            report.packets,
            report.ip_packets,
            report.skipped.get("non_ip").copied().unwrap_or(0),
            report.malformed(),
            report.flows,
            if report.meter.evicted > 0 {
                format!(", {} evicted early (flow table full)", report.meter.evicted)
            } else {
                String::new()
            }
        );
        for (lt, n) in &report.unsupported_linktypes {
            eprintln!(
                "netlens: warning: {n} packets of unsupported link type {lt} ({}) were counted but not decoded",
                netlens_wire::linktype::linktype_name(*lt)
            );
        }
    }
    Ok(())
}
