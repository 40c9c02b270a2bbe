//! `netlens stats`: a quick look at captures.

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::Parser;
use netlens_pipeline::summary::{TrafficSummary, protocol_name};
use netlens_pipeline::{PacketObserver, RunConfig, RunReport};
use serde_json::json;

use crate::common;

/// Summarise captures: packets, bytes, duration, link types, protocol mix,
/// malformed and skipped packets by reason, flows and top talkers.
#[derive(Parser, Debug)]
pub struct Args {
    /// Capture files or directories; `-` reads stdin.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Output path (`-` = stdout).
    #[arg(short, long, default_value = "-")]
    pub output: String,
    /// `text` or `json` (default: json when the output is named `.json` or
    /// `.json.gz`, else text).
    #[arg(long)]
    pub format: Option<String>,
    /// How many top talkers and ports to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// No progress on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Run the command.
pub fn run(a: Args) -> Result<()> {
    let json_out = match a.format.as_deref() {
        Some("json") => true,
        Some("text") => false,
        Some(f) => bail!("unknown format '{f}' for stats (text or json)"),
        None => netlens_export::format_path(std::path::Path::new(&a.output))
            .extension()
            .is_some_and(|e| e == "json"),
    };
    let mut reader = common::open_inputs(&a.inputs, true)?;
    let mut summary = TrafficSummary::default();
    let pb = common::packet_progress(a.quiet);
    let report = {
        let mut obs: [&mut dyn PacketObserver; 1] = [&mut summary];
        netlens_pipeline::run::<std::convert::Infallible>(
            &mut reader,
            &RunConfig::default(),
            &mut obs,
            &mut |_| Ok(()),
            &mut |r: &RunReport| pb.set_message(format!("{} packets", r.packets)),
        )
        .unwrap_or_else(|e| match e {})
    };
    pb.finish_and_clear();
    common::print_warnings(&mut reader);
    let sources: Vec<_> = reader
        .sources()
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "format": s.format.to_string(),
                "packets": s.packets,
                "truncated_at": s.truncated_at,
                "corrupt_records": s.corrupt_records,
            })
        })
        .collect();
    let duration_s = match (report.first_ts_ns, report.last_ts_ns) {
        (Some(a), Some(b)) => (b - a) as f64 / 1e9,
        _ => 0.0,
    };
    let lt: Vec<_> = summary
        .linktypes()
        .iter()
        .map(|(k, c)| json!({"linktype": k, "name": netlens_wire::linktype::linktype_name(*k), "packets": c.packets, "bytes": c.bytes}))
        .collect();
    let protos: Vec<_> = summary
        .protocols()
        .iter()
        .map(|(k, c)| json!({"protocol": k, "name": protocol_name(*k), "packets": c.packets, "bytes": c.bytes}))
        .collect();
    let talkers: Vec<_> = summary
        .top_talkers(a.top)
        .into_iter()
        .map(|(ip, c)| json!({"ip": ip.to_string(), "packets": c.packets, "bytes": c.bytes}))
        .collect();
    let ports: Vec<_> = summary
        .top_ports(a.top)
        .into_iter()
        .map(|((p, port), c)| json!({"protocol": protocol_name(p), "port": port, "packets": c.packets, "bytes": c.bytes}))
        .collect();
    let m = &report.meter;
    let doc = json!({
        "sources": sources,
        "packets": report.packets,
        "bytes": report.wire_bytes,
        "first_seen_us": report.first_ts_ns.map(|t| t / 1000),
        "last_seen_us": report.last_ts_ns.map(|t| t / 1000),
        "duration_s": duration_s,
        "ip_packets": report.ip_packets,
        "skipped": report.skipped,
        "malformed": report.malformed(),
        "linktypes": lt,
        "ip_versions": summary.ip_versions().iter().map(|(k, c)| (k.to_string(), json!({"packets": c.packets, "bytes": c.bytes}))).collect::<serde_json::Map<_, _>>(),
        "protocols": protos,
        "tunnels": summary.tunnels().iter().filter(|(k, _)| !k.is_empty()).map(|(k, c)| (k.to_string(), json!({"packets": c.packets, "bytes": c.bytes}))).collect::<serde_json::Map<_, _>>(),
        "vlan_tagged_packets": summary.vlan_tagged.packets,
        "flows": report.flows,
        "flows_by_end_reason": {
            "idle": m.flows_ended[0], "active": m.flows_ended[1], "fin": m.flows_ended[2],
            "rst": m.flows_ended[3], "end_of_input": m.flows_ended[4], "evicted": m.flows_ended[5],
        },
        "top_talkers": talkers,
        "top_ports": ports,
    });
    let mut out = common::open_output(&a.output)?;
    if json_out {
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &doc, &report, duration_s)?;
    }
    out.flush()
        .with_context(|| format!("writing {}", a.output))?;
    Ok(())
}

fn write_text(
    out: &mut dyn Write,
    doc: &serde_json::Value,
    r: &RunReport,
    duration_s: f64,
) -> Result<()> {
    let g = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    writeln!(
        out,
        "Packets      {:>12}   ({} on the wire)",
        r.packets,
        netlens_report::human_bytes(r.wire_bytes)
    )?;
    writeln!(out, "Duration     {:>12.3} s", duration_s)?;
    if duration_s > 0.0 {
        writeln!(
            out,
            "Mean rate    {:>12.0} pkt/s   {:.3} Mbit/s",
            r.packets as f64 / duration_s,
            r.wire_bytes as f64 * 8.0 / duration_s / 1e6
        )?;
    }
    writeln!(
        out,
        "IP packets   {:>12}   malformed {}, non-IP {}",
        r.ip_packets,
        r.malformed(),
        r.skipped.get("non_ip").copied().unwrap_or(0)
    )?;
    writeln!(out, "Flows        {:>12}", r.flows)?;
    writeln!(out, "\nLink types")?;
    for l in doc["linktypes"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {:<20} {:>10} packets",
            format!(
                "{} ({})",
                l["name"].as_str().unwrap_or(""),
                g(l, "linktype")
            ),
            g(l, "packets")
        )?;
    }
    writeln!(out, "\nProtocols")?;
    for p in doc["protocols"].as_array().into_iter().flatten() {
        let share = if r.wire_bytes > 0 {
            100.0 * g(p, "bytes") as f64 / r.wire_bytes as f64
        } else {
            0.0
        };
        writeln!(
            out,
            "  {:<10} {:>4} {:>10} packets {:>12} {:>6.1} %",
            p["name"].as_str().unwrap_or(""),
            g(p, "protocol"),
            g(p, "packets"),
            netlens_report::human_bytes(g(p, "bytes")),
            share
        )?;
    }
    if !r.skipped.is_empty() {
        writeln!(out, "\nSkipped packets by reason")?;
        for (k, v) in &r.skipped {
            writeln!(out, "  {k:<28} {v:>10}")?;
        }
    }
    writeln!(out, "\nTop talkers (by bytes sent)")?;
    for t in doc["top_talkers"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {:<40} {:>10} packets {:>12}",
            t["ip"].as_str().unwrap_or(""),
            g(t, "packets"),
            netlens_report::human_bytes(g(t, "bytes"))
        )?;
    }
    writeln!(out, "\nTop service ports")?;
    for t in doc["top_ports"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "  {:<4} {:>5}  {:>10} packets {:>12}",
            t["protocol"].as_str().unwrap_or(""),
            g(t, "port"),
            g(t, "packets"),
            netlens_report::human_bytes(g(t, "bytes"))
        )?;
    }
    Ok(())
}
