//! Writes a report folder: `index.html` (self-contained apart from the chart
//! images it references relatively), `report.json` (the [`ReportData`]) and
//! PNG + SVG charts.
//!
//! Invariant: all text from the input (host names, file names, series
//! column names) is HTML-escaped; the page uses no script and no external
//! resource.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use netlens_timeseries::chart::{
    CapacityLine, ChartForecast, ChartHistory, ChartLabels, render_forecast_chart,
};
use netlens_timeseries::units;

use crate::charts::{self, BarChart, LineChart};
use crate::data::{Histogram, MixRow, ReportData};
use crate::error::{Error, Result};

/// What [`render`] wrote.
#[derive(Debug, Clone)]
pub struct RenderedReport {
    /// The HTML page.
    pub index: PathBuf,
    /// The JSON document.
    pub json: PathBuf,
    /// Chart files (SVG and PNG).
    pub charts: Vec<PathBuf>,
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A byte count for people: decimal units (1.50 MB), whole bytes below 1 kB.
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
        format!("{v:.2} {}", U.get(i).copied().unwrap_or(""))
    }
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut o = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            o.push('\u{202f}');
        }
        o.push(c);
    }
    o
}

fn value_h(v: f64, unit: &str) -> String {
    if unit == "bit/s" {
        return units::format_rate(v);
    }
    let (d, p) = charts::si_scale(v);
    format!("{:.2} {p}", v / d)
}

const CSS: &str = r#"
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;margin:0;background:#f4f6f8;color:#1f2933}
header{background:#1f3a5f;color:#fff;padding:24px 40px}
header h1{margin:0 0 6px 0;font-size:26px}
header p{margin:2px 0;color:#cfd8e3;font-size:14px}
main{max-width:1160px;margin:0 auto;padding:20px 40px 40px}
section{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:18px 24px;margin:18px 0}
h2{font-size:19px;margin:0 0 12px 0;color:#1f3a5f}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{flex:1 1 150px;background:#f7f9fb;border:1px solid #e3e7ec;border-radius:5px;padding:10px 14px}
.card .v{font-size:20px;font-weight:bold;color:#1f3a5f}
.card .k{font-size:12px;color:#5b6b7c;text-transform:uppercase;letter-spacing:.04em}
figure{margin:8px 0 4px 0}
figure img{width:100%;border:1px solid #e3e7ec}
figcaption{font-size:13px;color:#52606d;margin-top:4px}
table{border-collapse:collapse;width:100%;font-size:14px;margin:6px 0}
th,td{padding:5px 10px;border-bottom:1px solid #e6e9ed;text-align:left}
th{background:#f0f3f6;color:#334e68;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.two{display:flex;gap:24px;flex-wrap:wrap}.two>div{flex:1 1 480px}
.note{font-size:13px;color:#52606d}
.warn{background:#fff8e6;border-left:4px solid #e8a33d;padding:8px 12px;font-size:14px}
.ok{background:#eef7ee;border-left:4px solid #4c9a52;padding:8px 12px;font-size:14px}
footer{font-size:12px;color:#7b8794;text-align:center;padding:10px}
"#;

fn figure(h: &mut String, stem: &str, alt: &str, caption: &str) {
    let _ = write!(
        h,
        "<figure><img src=\"{stem}.svg\" alt=\"{}\"><figcaption>{} (<a href=\"{stem}.png\">PNG</a>, <a href=\"{stem}.svg\">SVG</a>)</figcaption></figure>",
        esc(alt),
        esc(caption)
    );
}

fn mix_table(h: &mut String, rows: &[MixRow], name: &str, count: &str) {
    let _ = write!(
        h,
        "<table><tr><th>{name}</th><th class=n>{count}</th><th class=n>bytes</th><th class=n>share</th></tr>"
    );
    for r in rows {
        share_row(h, &r.name, r.count, r.bytes, r.share_pct);
    }
    h.push_str("</table>");
}

/// One table row: a name, a count, bytes and their share of all bytes.
fn share_row(h: &mut String, name: &str, count: u64, bytes: u64, share_pct: f64) {
    let _ = write!(
        h,
        "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{:.1} %</td></tr>",
        esc(name),
        num(count),
        human_bytes(bytes),
        share_pct
    );
}

fn mix_chart(
    dir: &Path,
    stem: &str,
    title: &str,
    rows: &[MixRow],
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    let top: Vec<&MixRow> = rows.iter().take(12).collect();
    let labels: Vec<String> = top.iter().map(|r| r.name.clone()).collect();
    let values: Vec<f64> = top.iter().map(|r| r.bytes as f64).collect();
    files.extend(charts::bar_chart(
        dir,
        stem,
        &BarChart {
            title,
            x_desc: "",
            y_desc: "B",
            labels: &labels,
            values: &values,
        },
    )?);
    Ok(())
}

fn hist_chart(
    dir: &Path,
    stem: &str,
    title: &str,
    x_desc: &str,
    hgm: &Histogram,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    let values: Vec<f64> = hgm.counts.iter().map(|c| *c as f64).collect();
    files.extend(charts::bar_chart(
        dir,
        stem,
        &BarChart {
            title,
            x_desc,
            y_desc: &hgm.counts_what,
            labels: &hgm.labels,
            values: &values,
        },
    )?);
    Ok(())
}

/// Every chart a report can draw (file stems; each is written as SVG and PNG).
const CHART_STEMS: [&str; 6] = [
    "throughput",
    "protocols",
    "applications",
    "packet_sizes",
    "flow_durations",
    "forecast",
];

/// Writes the report folder (see module docs).
pub fn render(d: &ReportData, out_dir: &Path) -> Result<RenderedReport> {
    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    // Charts of an earlier report in the same folder that this one does not
    // draw (no forecast this time, say) would otherwise stay beside it.
    for stem in CHART_STEMS {
        for ext in ["svg", "png"] {
            let p = out_dir.join(format!("{stem}.{ext}"));
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io(&p, e));
                }
                _ => {}
            }
        }
    }
    let mut files = Vec::new();
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&d.title)
    );
    let t = &d.totals;
    let inputs: Vec<String> = d
        .inputs
        .iter()
        .map(|i| format!("{} ({})", esc(&i.name), esc(&i.kind)))
        .collect();
    let _ = write!(
        h,
        "<header><h1>{}</h1><p>Inputs: {}</p>",
        esc(&d.title),
        inputs.join(", ")
    );
    match (&t.first, &t.last) {
        (Some(a), Some(b)) => {
            let _ = write!(
                h,
                "<p>Time span: {} → {} ({})</p>",
                esc(a),
                esc(b),
                units::format_duration(t.duration_s.round() as i64)
            );
        }
        _ => h.push_str("<p>Time span: no data</p>"),
    }
    let _ = write!(
        h,
        "<p>Generated by {}</p></header><main>",
        esc(&d.generator)
    );
    // Summary cards.
    h.push_str("<section><h2>Summary</h2><div class=cards>");
    let mut card = |k: &str, v: String| {
        let _ = write!(
            h,
            "<div class=card><div class=k>{k}</div><div class=v>{}</div></div>",
            esc(&v)
        );
    };
    if t.packets > 0 {
        card("packets", num(t.packets));
        card("bytes", human_bytes(t.bytes));
        card("flows", num(t.flows));
    }
    card("mean", value_h(t.mean_bits_per_s, &d.throughput.unit));
    card(
        &format!("peak ({})", units::format_duration(d.throughput.interval_s)),
        value_h(t.peak_bits_per_s, &d.throughput.unit),
    );
    card("anomalies", d.anomalies.events.len().to_string());
    h.push_str("</div>");
    if t.non_ip_packets > 0 || t.malformed_packets > 0 {
        let _ = write!(
            h,
            "<p class=note>{} non-IP frames and {} malformed/truncated packets are included in the packet and byte totals.</p>",
            num(t.non_ip_packets),
            num(t.malformed_packets)
        );
    }
    for n in &d.notes {
        let _ = write!(h, "<p class=warn>{}</p>", esc(n));
    }
    for i in &d.inputs {
        for n in &i.notes {
            let _ = write!(h, "<p class=note>{}: {}</p>", esc(&i.name), esc(n));
        }
    }
    h.push_str("</section>");
    // Throughput with anomalies.
    let tp = &d.throughput;
    if !tp.values.is_empty() {
        let marks: Vec<(usize, usize, usize)> = d
            .anomalies
            .events
            .iter()
            .map(|e| (e.start_index, e.end_index, e.peak_index))
            .collect();
        let title = if tp.name == "bits_per_s" {
            "Throughput".to_string()
        } else {
            tp.name.clone()
        };
        files.extend(charts::line_chart(
            out_dir,
            "throughput",
            &LineChart {
                title: &title,
                unit: &tp.unit,
                start: tp.start,
                interval: tp.interval_s,
                values: &tp.values,
                marks: &marks,
            },
        )?);
        h.push_str("<section><h2>Throughput over time</h2>");
        let cap = format!(
            "{} per {} interval ({} intervals, UTC). Shaded bands and circles mark anomalies found in this series.",
            if tp.name == "bits_per_s" {
                "Bits per second on the wire (all frames)".to_string()
            } else {
                format!("Column '{}'", tp.name)
            },
            units::format_duration(tp.interval_s),
            tp.values.len()
        );
        figure(&mut h, "throughput", "throughput chart", &cap);
        h.push_str("</section>");
    }
    // Anomalies.
    h.push_str("<section><h2>Anomalies</h2>");
    let _ = write!(h, "<p class=note>{}</p>", esc(&d.anomalies.status));
    if d.anomalies.events.is_empty() {
        if !d.anomalies.status.starts_with("Too short")
            && !d.anomalies.status.starts_with("No data")
        {
            h.push_str("<p class=ok>No anomaly above the threshold.</p>");
        }
    } else {
        h.push_str("<table><tr><th>from</th><th>to</th><th>peak at</th><th class=n>peak value</th><th class=n>score</th></tr>");
        for e in &d.anomalies.events {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{:.1}</td></tr>",
                esc(&e.start),
                esc(&e.end),
                esc(&e.peak),
                value_h(e.peak_value, &tp.unit),
                e.score
            );
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");
    // Alerts (optional section).
    if !d.alerts.is_empty() {
        h.push_str("<section><h2>Alerts</h2><table><tr><th>time</th><th>severity</th><th>kind</th><th>subject</th><th>detail</th></tr>");
        for a in &d.alerts {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&a.time),
                esc(&a.severity),
                esc(&a.kind),
                esc(&a.subject),
                esc(&a.detail)
            );
        }
        h.push_str("</table></section>");
    }
    // Protocol and application mix.
    if !d.protocols.is_empty() {
        mix_chart(
            out_dir,
            "protocols",
            "Protocol mix (bytes)",
            &d.protocols,
            &mut files,
        )?;
        h.push_str("<section><h2>Protocol mix</h2>");
        figure(
            &mut h,
            "protocols",
            "protocol mix",
            "Bytes per inner IP protocol (non-ip: frames without an IP layer), largest first.",
        );
        mix_table(&mut h, &d.protocols, "protocol", "packets");
        h.push_str("</section>");
    }
    if !d.applications.is_empty() {
        mix_chart(
            out_dir,
            "applications",
            "Application mix (bytes)",
            &d.applications,
            &mut files,
        )?;
        h.push_str("<section><h2>Application mix</h2>");
        let cap = format!(
            "Flow bytes per application, largest 12 shown. Method: {}.",
            d.application_method
        );
        figure(&mut h, "applications", "application mix", &cap);
        mix_table(&mut h, &d.applications, "application", "flows");
        h.push_str("</section>");
    }
    // Top talkers and ports.
    if !d.top_talkers.is_empty() || !d.top_ports.is_empty() {
        h.push_str("<section><h2>Top talkers and ports</h2><div class=two><div>");
        h.push_str("<p class=note>Source addresses by bytes sent.</p><table><tr><th>host</th><th class=n>packets</th><th class=n>bytes</th><th class=n>share</th></tr>");
        for r in &d.top_talkers {
            share_row(&mut h, &r.host, r.packets, r.bytes, r.share_pct);
        }
        h.push_str("</table></div><div><p class=note>Service ports (the lower port of each TCP/UDP packet, below 49152) by bytes.</p><table><tr><th>port</th><th>service</th><th class=n>packets</th><th class=n>bytes</th><th class=n>share</th></tr>");
        for r in &d.top_ports {
            let _ = write!(
                h,
                "<tr><td>{}/{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{:.1} %</td></tr>",
                r.port,
                esc(&r.protocol),
                esc(&r.service),
                num(r.packets),
                human_bytes(r.bytes),
                r.share_pct
            );
        }
        h.push_str("</table></div></div></section>");
    }
    // Distributions.
    if d.packet_sizes.is_some() || d.flow_durations.is_some() {
        h.push_str("<section><h2>Distributions</h2>");
        if let Some(ps) = &d.packet_sizes {
            hist_chart(
                out_dir,
                "packet_sizes",
                "Packet sizes",
                "bytes on the wire",
                ps,
                &mut files,
            )?;
            figure(
                &mut h,
                "packet_sizes",
                "packet size histogram",
                "Packets per frame-size bin (on-the-wire bytes, all frames).",
            );
        }
        if let Some(fd) = &d.flow_durations {
            hist_chart(
                out_dir,
                "flow_durations",
                "Flow durations",
                "first to last packet",
                fd,
                &mut files,
            )?;
            figure(
                &mut h,
                "flow_durations",
                "flow duration histogram",
                "Flows per duration bin (first to last packet; single-packet flows apart). Bins grow tenfold.",
            );
        }
        h.push_str("</section>");
    }
    // TCP health.
    if let Some(health) = &d.tcp {
        let tcp = &health.counts;
        h.push_str("<section><h2>TCP health</h2><div class=two><div><table>");
        let rows = [
            ("TCP flows", tcp.flows),
            ("SYN packets (no ACK)", tcp.syn_packets),
            ("SYN-ACK packets", tcp.synack_packets),
            ("RST packets", tcp.rst_packets),
            ("flows with a RST", tcp.rst_flows),
            (
                "SYNs without answer (S0, REJ, RSTOS0, SH)",
                tcp.unanswered_syn_flows,
            ),
            ("rejected by RST (REJ)", tcp.rejected_flows),
        ];
        for (k, v) in rows {
            let _ = write!(h, "<tr><td>{k}</td><td class=n>{}</td></tr>", num(v));
        }
        h.push_str("</table></div><div><table><tr><th>connection state (Zeek)</th><th class=n>flows</th></tr>");
        for (k, v) in &tcp.conn_states {
            let _ = write!(
                h,
                "<tr><td>{}</td><td class=n>{}</td></tr>",
                esc(k),
                num(*v)
            );
        }
        h.push_str("</table></div></div>");
        if tcp.flows > 0 && tcp.unanswered_syn_flows * 10 > tcp.flows {
            let _ = write!(
                h,
                "<p class=warn>{:.0} % of TCP flows never got a SYN-ACK: scanning, a SYN flood or unreachable services.</p>",
                100.0 * tcp.unanswered_syn_flows as f64 / tcp.flows as f64
            );
        }
        for n in &health.notes {
            let _ = write!(h, "<p class=note>{}</p>", esc(n));
        }
        h.push_str("</section>");
    }
    // Forecast.
    h.push_str("<section><h2>Forecast</h2>");
    let f = &d.forecast;
    if f.available {
        let labels = ChartLabels {
            title: format!("Forecast of {}", tp.name),
            y_label: tp.unit.clone(),
        };
        let svg = out_dir.join("forecast.svg");
        let png = out_dir.join("forecast.png");
        let history = if f.history.is_empty() {
            ChartHistory {
                start: tp.start,
                interval: tp.interval_s,
                values: &tp.values,
            }
        } else {
            ChartHistory {
                start: f.history_start,
                interval: f.history_interval_s,
                values: &f.history,
            }
        };
        // The threshold line only when it is near the data: a 1 Gbit/s line
        // over kbit/s traffic would flatten the chart to nothing.
        let peak = f
            .upper
            .iter()
            .chain(history.values)
            .copied()
            .fold(0.0, f64::max);
        let lines: Vec<CapacityLine> = f
            .capacity
            .iter()
            .filter(|c| c.threshold_bps <= 4.0 * peak)
            .map(|c| CapacityLine {
                value: c.threshold_bps,
                label: format!("threshold {}", units::format_rate(c.threshold_bps)),
            })
            .collect();
        render_forecast_chart(
            history,
            ChartForecast {
                start: f.start,
                interval: f.interval_s,
                point: &f.point,
                lower: &f.lower,
                upper: &f.upper,
                level: f.level,
                model: &f.model,
            },
            &lines,
            &labels,
            Some(&svg),
            Some(&png),
        )?;
        files.push(svg);
        files.push(png);
        let _ = write!(h, "<p>{}</p>", esc(&f.status));
        if let Some(c) = &f.capacity {
            let _ = write!(
                h,
                "<p><b>Capacity</b> ({}{} link, full at {}): {}</p>",
                if c.assumed { "assumed " } else { "" },
                esc(&units::format_rate(c.capacity_bps)),
                esc(&units::format_rate(c.threshold_bps)),
                esc(&c.message)
            );
        }
        if let Some(m) = f.mase {
            let _ = write!(
                h,
                "<p class=note>Backtest MASE of the chosen model: {m:.3} (below 1 beats the seasonal-naive forecast).</p>"
            );
        }
        figure(
            &mut h,
            "forecast",
            "forecast chart",
            "History and forecast with its prediction interval (shaded).",
        );
    } else {
        let _ = write!(h, "<p class=warn>{}</p>", esc(&f.status));
    }
    h.push_str("</section>");
    let _ = write!(
        h,
        "</main><footer>Numbers on this page are also in report.json. {}</footer></body></html>",
        esc(&d.generator)
    );
    let index = out_dir.join("index.html");
    std::fs::write(&index, h).map_err(|e| Error::io(&index, e))?;
    let json = out_dir.join("report.json");
    let text = serde_json::to_string_pretty(d)?;
    std::fs::write(&json, text).map_err(|e| Error::io(&json, e))?;
    Ok(RenderedReport {
        index,
        json,
        charts: files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_formats() {
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(num(1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.50 MB");
    }

    #[test]
    fn empty_report_renders_and_says_so() {
        let dir = tempfile::tempdir().expect("tmp");
        let c = crate::Collector::new(60, 5)
            .expect("c")
            .finish()
            .expect("finish");
        let d = crate::build_report(&c, &Default::default(), &Default::default()).expect("build");
        let r = render(&d, dir.path()).expect("render");
        let html = std::fs::read_to_string(r.index).expect("html");
        assert!(html.contains("no packets"), "{html}");
        assert!(r.json.exists());
    }
}
