//! Labelling flow tables by rules (the way CIC datasets were labelled, but
//! written down and reproducible). The file format is documented in
//! `docs/labelling.md`.
//!
//! Invariants: rules are tried in file order and the first match wins;
//! every row gets exactly one label (the default when no rule matches); a
//! rule with no conditions matches every flow; a time window is half-open
//! `[start, end)` and tested against the flow's first-seen time.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use netlens_ml::table::{Column, ColumnData, Table};
use serde::Deserialize;

use crate::error::{DetectError, Result};

/// Largest rule file read (bytes).
pub const MAX_RULE_FILE: u64 = 16 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default = "default_label")]
    default_label: String,
    #[serde(default)]
    label_column: Option<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

fn default_label() -> String {
    "benign".into()
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a time: RFC 3339 text (\"2017-07-05T13:55:00Z\"), a TOML datetime or epoch ms"
)]
enum TimeVal {
    Ms(i64),
    Text(String),
    /// An unquoted TOML datetime (`start = 2017-07-05T13:55:00Z`).
    Toml(toml::value::Datetime),
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a port: a number from 0 to 65535 or a range such as \"8000-8100\""
)]
enum PortVal {
    One(u16),
    Range(String),
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a protocol: a number from 0 to 255 or a name such as \"tcp\""
)]
enum ProtoVal {
    Num(u8),
    Name(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    label: String,
    start: Option<TimeVal>,
    end: Option<TimeVal>,
    #[serde(default)]
    src: Vec<String>,
    #[serde(default)]
    dst: Vec<String>,
    #[serde(default)]
    src_port: Vec<PortVal>,
    #[serde(default)]
    dst_port: Vec<PortVal>,
    #[serde(default)]
    protocol: Vec<ProtoVal>,
    #[serde(default)]
    bidirectional: bool,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name shown in the match counts (defaults to `rule N`).
    pub name: String,
    /// Label given to matching flows.
    pub label: String,
    /// Window start, ms since the epoch (inclusive).
    pub start_ms: Option<i64>,
    /// Window end, ms since the epoch (exclusive).
    pub end_ms: Option<i64>,
    /// Source prefixes (empty = any).
    pub src: Vec<IpNet>,
    /// Destination prefixes (empty = any).
    pub dst: Vec<IpNet>,
    /// Source port ranges, inclusive (empty = any).
    pub src_port: Vec<(u16, u16)>,
    /// Destination port ranges, inclusive (empty = any).
    pub dst_port: Vec<(u16, u16)>,
    /// IP protocol numbers (empty = any).
    pub protocol: Vec<u8>,
    /// Also match with source and destination swapped.
    pub bidirectional: bool,
}

/// A rule file.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Label of flows no rule matches.
    pub default_label: String,
    /// Name of the label column written.
    pub label_column: String,
    /// Rules in priority order.
    pub rules: Vec<Rule>,
}

/// How many rows each rule labelled.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LabelReport {
    /// (rule name, label, rows matched) in rule order.
    pub per_rule: Vec<(String, String, usize)>,
    /// Rows no rule matched (given the default label).
    pub unmatched: usize,
    /// Rows whose addresses, ports or time could not be read (default label).
    pub unreadable: usize,
}

fn parse_time(t: &TimeVal) -> std::result::Result<i64, String> {
    match t {
        TimeVal::Ms(ms) => Ok(*ms),
        TimeVal::Text(s) => text_time(s.trim()),
        TimeVal::Toml(d) => text_time(&d.to_string()),
    }
}

/// RFC 3339 text; without a zone offset (a TOML local datetime) it is UTC.
fn text_time(s: &str) -> std::result::Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| d.timestamp_millis())
        .or_else(|e| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|d| d.and_utc().timestamp_millis())
                .map_err(|_| e)
        })
        .map_err(|e| {
            format!("bad time '{s}' (RFC 3339 like 2017-07-05T13:55:00Z, or epoch ms): {e}")
        })
}

fn parse_net(s: &str) -> std::result::Result<IpNet, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("bad address or prefix '{s}'"))
}

fn parse_port(p: &PortVal) -> std::result::Result<(u16, u16), String> {
    match p {
        PortVal::One(x) => Ok((*x, *x)),
        PortVal::Range(s) => {
            let bad = || format!("bad port or range '{s}' (e.g. 80 or \"1000-2000\")");
            let (a, b) = match s.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (s.trim(), s.trim()),
            };
            let a: u16 = a.parse().map_err(|_| bad())?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            if a > b {
                return Err(bad());
            }
            Ok((a, b))
        }
    }
}

fn parse_proto(p: &ProtoVal) -> std::result::Result<u8, String> {
    match p {
        ProtoVal::Num(n) => Ok(*n),
        ProtoVal::Name(s) => match s.trim().to_ascii_lowercase().as_str() {
            "icmp" => Ok(1),
            "tcp" => Ok(6),
            "udp" => Ok(17),
            "gre" => Ok(47),
            "esp" => Ok(50),
            "icmpv6" | "ipv6-icmp" => Ok(58),
            "sctp" => Ok(132),
            other => other.parse().map_err(|_| {
                format!(
                    "unknown protocol '{s}' (tcp, udp, icmp, icmpv6, gre, esp, sctp or a number)"
                )
            }),
        },
    }
}

impl RuleSet {
    /// Parse a rule file's text (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<RuleSet> {
        let err = |msg: String| DetectError::Rules {
            path: path.to_path_buf(),
            msg,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut rules = Vec::with_capacity(raw.rules.len());
        for (i, r) in raw.rules.into_iter().enumerate() {
            let name = r.name.clone().unwrap_or_else(|| format!("rule {}", i + 1));
            let ctx = |m: String| err(format!("{name}: {m}"));
            let start_ms = r.start.as_ref().map(parse_time).transpose().map_err(ctx)?;
            let end_ms = r.end.as_ref().map(parse_time).transpose().map_err(ctx)?;
            if let (Some(s), Some(e)) = (start_ms, end_ms)
                && s >= e
            {
                return Err(ctx("start must be before end".into()));
            }
            let nets = |v: &[String]| {
                v.iter()
                    .map(|s| parse_net(s))
                    .collect::<std::result::Result<Vec<_>, _>>()
            };
            let ports = |v: &[PortVal]| {
                v.iter()
                    .map(parse_port)
                    .collect::<std::result::Result<Vec<_>, _>>()
            };
            rules.push(Rule {
                label: r.label.clone(),
                start_ms,
                end_ms,
                src: nets(&r.src).map_err(ctx)?,
                dst: nets(&r.dst).map_err(ctx)?,
                src_port: ports(&r.src_port).map_err(ctx)?,
                dst_port: ports(&r.dst_port).map_err(ctx)?,
                protocol: r
                    .protocol
                    .iter()
                    .map(parse_proto)
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(ctx)?,
                bidirectional: r.bidirectional,
                name,
            });
        }
        Ok(RuleSet {
            default_label: raw.default_label,
            label_column: raw.label_column.unwrap_or_else(|| "label".into()),
            rules,
        })
    }

    /// Read and parse a rule file.
    pub fn load(path: &Path) -> Result<RuleSet> {
        let io = |e| DetectError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let len = std::fs::metadata(path).map_err(io)?.len();
        if len > MAX_RULE_FILE {
            return Err(DetectError::Rules {
                path: path.to_path_buf(),
                msg: format!("larger than {MAX_RULE_FILE} bytes"),
            });
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        RuleSet::parse(&text, path)
    }

    /// Index of the first rule matching a flow, if any.
    pub fn first_match(
        &self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        first_ms: i64,
    ) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.matches(src, sport, dst, dport, proto, first_ms))
    }

    /// Label every row of a netlens flow table (adds or replaces the label
    /// column) and count matches per rule.
    pub fn apply(&self, table: &mut Table) -> Result<LabelReport> {
        // A column with no values (a table of no flows, or all cells empty)
        // is read as numeric; it holds no address either way.
        static NO_TEXT: Vec<String> = Vec::new();
        let text = |name: &str| -> Result<&Vec<String>> {
            match &table
                .column(name)
                .map_err(|_| DetectError::MissingColumn(name.into()))?
                .data
            {
                ColumnData::Str(v) => Ok(v),
                ColumnData::Num(v) if v.iter().all(|x| x.is_nan()) => Ok(&NO_TEXT),
                ColumnData::Num(_) => {
                    Err(DetectError::MissingColumn(format!("{name} (as addresses)")))
                }
            }
        };
        let numc = |name: &str| -> Result<Vec<f64>> {
            match &table
                .column(name)
                .map_err(|_| DetectError::MissingColumn(name.into()))?
                .data
            {
                ColumnData::Num(v) => Ok(v.clone()),
                ColumnData::Str(v) => Ok(v
                    .iter()
                    .map(|s| s.trim().parse().unwrap_or(f64::NAN))
                    .collect()),
            }
        };
        let src = text("src_ip")?;
        let dst = text("dst_ip")?;
        let sport = numc("src_port")?;
        let dport = numc("dst_port")?;
        let proto = numc("protocol")?;
        // The time column is needed only when a rule has a time window.
        let first = if self
            .rules
            .iter()
            .any(|r| r.start_ms.is_some() || r.end_ms.is_some())
        {
            numc("bidirectional_first_seen_ms")?
        } else {
            vec![0.0; table.n_rows]
        };
        let mut counts = vec![0usize; self.rules.len()];
        let mut unmatched = 0;
        let mut unreadable = 0;
        let mut labels = Vec::with_capacity(table.n_rows);
        let as_u16 = |x: f64| (x.is_finite() && (0.0..=65535.0).contains(&x)).then_some(x as u16);
        let as_u8 = |x: f64| (x.is_finite() && (0.0..=255.0).contains(&x)).then_some(x as u8);
        for i in 0..table.n_rows {
            let row = (|| {
                Some((
                    src.get(i)?.trim().parse::<IpAddr>().ok()?,
                    as_u16(*sport.get(i)?)?,
                    dst.get(i)?.trim().parse::<IpAddr>().ok()?,
                    as_u16(*dport.get(i)?)?,
                    as_u8(*proto.get(i)?)?,
                    first.get(i).filter(|x| x.is_finite()).map(|x| *x as i64)?,
                ))
            })();
            let hit = match row {
                Some((s, sp, d, dp, p, t)) => self.first_match(s, sp, d, dp, p, t),
                None => {
                    unreadable += 1;
                    None
                }
            };
            match hit.and_then(|h| self.rules.get(h).map(|r| (h, r))) {
                Some((h, r)) => {
                    if let Some(c) = counts.get_mut(h) {
                        *c += 1;
                    }
                    labels.push(r.label.clone());
                }
                None => {
                    if row.is_some() {
                        unmatched += 1;
                    }
                    labels.push(self.default_label.clone());
                }
            }
        }
        let col = Column {
            name: self.label_column.clone(),
            data: ColumnData::Str(labels),
        };
        match table.index_of(&self.label_column) {
            Some(i) => {
                if let Some(c) = table.columns.get_mut(i) {
                    *c = col;
                }
            }
            None => table.columns.push(col),
        }
        Ok(LabelReport {
            per_rule: self
                .rules
                .iter()
                .zip(counts)
                .map(|(r, c)| (r.name.clone(), r.label.clone(), c))
                .collect(),
            unmatched,
            unreadable,
        })
    }
}

fn in_ports(v: &[(u16, u16)], p: u16) -> bool {
    v.is_empty() || v.iter().any(|(a, b)| (*a..=*b).contains(&p))
}

fn in_nets(v: &[IpNet], ip: IpAddr) -> bool {
    v.is_empty() || v.iter().any(|n| n.contains(&ip))
}

impl Rule {
    fn one_way(&self, src: IpAddr, sport: u16, dst: IpAddr, dport: u16) -> bool {
        in_nets(&self.src, src)
            && in_nets(&self.dst, dst)
            && in_ports(&self.src_port, sport)
            && in_ports(&self.dst_port, dport)
    }

    /// Whether a flow matches this rule.
    pub fn matches(
        &self,
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        proto: u8,
        first_ms: i64,
    ) -> bool {
        if !self.protocol.is_empty() && !self.protocol.contains(&proto) {
            return false;
        }
        if self.start_ms.is_some_and(|s| first_ms < s) || self.end_ms.is_some_and(|e| first_ms >= e)
        {
            return false;
        }
        self.one_way(src, sport, dst, dport)
            || (self.bidirectional && self.one_way(dst, dport, src, sport))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
default_label = "benign"
[[rule]]
name = "scan"
label = "portscan"
src = ["10.0.0.66"]
dst = ["10.0.0.0/24"]
protocol = ["tcp"]
start = "2026-03-02T12:00:00Z"
end = "2026-03-02T13:00:00Z"
[[rule]]
name = "dns"
label = "dns_amp"
src = ["192.0.2.0/24"]
src_port = [53]
protocol = ["udp"]
bidirectional = true
[[rule]]
name = "late"
label = "late"
dst_port = ["8000-8100"]
"#;

    type Row<'a> = (&'a str, u16, &'a str, u16, u8, i64);

    fn table(rows: &[Row<'_>]) -> Table {
        let s = |f: &dyn Fn(&Row<'_>) -> String| ColumnData::Str(rows.iter().map(f).collect());
        let n = |f: &dyn Fn(&Row<'_>) -> f64| ColumnData::Num(rows.iter().map(f).collect());
        Table {
            columns: vec![
                Column {
                    name: "src_ip".into(),
                    data: s(&|r| r.0.to_string()),
                },
                Column {
                    name: "src_port".into(),
                    data: n(&|r| f64::from(r.1)),
                },
                Column {
                    name: "dst_ip".into(),
                    data: s(&|r| r.2.to_string()),
                },
                Column {
                    name: "dst_port".into(),
                    data: n(&|r| f64::from(r.3)),
                },
                Column {
                    name: "protocol".into(),
                    data: n(&|r| f64::from(r.4)),
                },
                Column {
                    name: "bidirectional_first_seen_ms".into(),
                    data: n(&|r| r.5 as f64),
                },
            ],
            n_rows: rows.len(),
            skipped_rows: 0,
        }
    }

    #[test]
    fn first_match_wins_windows_prefixes_and_directions() {
        let rs = RuleSet::parse(RULES, Path::new("t.toml")).unwrap();
        let t0 = 1_772_452_800_000; // 2026-03-02T12:00:00Z
        let mut t = table(&[
            ("10.0.0.66", 40000, "10.0.0.5", 22, 6, t0 + 10), // scan
            ("10.0.0.66", 40000, "10.0.0.5", 22, 6, t0 - 1),  // before window
            ("10.0.0.66", 40000, "10.0.0.5", 22, 6, t0 + 3_600_000), // end is exclusive
            ("10.0.0.66", 40000, "10.0.1.5", 22, 6, t0 + 10), // outside prefix
            ("10.0.0.9", 5353, "192.0.2.7", 53, 17, 0),       // reversed dns: bidirectional
            ("192.0.2.7", 53, "10.0.0.9", 5353, 6, 0),        // dns rule wants udp
            ("10.0.0.66", 40000, "10.0.0.5", 8080, 6, t0 + 10), // scan beats late
            ("10.0.0.1", 1, "10.0.0.2", 8100, 6, 0),          // late
            ("garbage", 1, "10.0.0.2", 8100, 6, 0),           // unreadable
        ]);
        let rep = rs.apply(&mut t).unwrap();
        let labels = match &t.column("label").unwrap().data {
            ColumnData::Str(v) => v.clone(),
            _ => panic!(),
        };
        assert_eq!(
            labels,
            [
                "portscan", "benign", "benign", "benign", "dns_amp", "benign", "portscan", "late",
                "benign"
            ]
        );
        assert_eq!(rep.per_rule[0].2, 2);
        assert_eq!(rep.per_rule[1].2, 1);
        assert_eq!(rep.per_rule[2].2, 1);
        assert_eq!(rep.unmatched, 4);
        assert_eq!(rep.unreadable, 1);
    }

    #[test]
    fn empty_tables_and_tables_without_times_are_labelled() {
        // No flows: every column reads as an empty numeric column.
        let rs = RuleSet::parse(RULES, Path::new("t.toml")).unwrap();
        let mut t = table(&[]);
        for c in &mut t.columns {
            c.data = ColumnData::Num(Vec::new());
        }
        let rep = rs.apply(&mut t).unwrap();
        assert_eq!((rep.unmatched, rep.unreadable), (0, 0));
        assert!(t.column("label").is_ok());
        // No rule has a time window: the time column is not needed.
        let untimed = RuleSet::parse(
            "default_label = \"benign\"\n[[rule]]\nname = \"web\"\nlabel = \"web\"\ndst_port = [80]\n",
            Path::new("u.toml"),
        )
        .unwrap();
        let mut t = table(&[("10.0.0.1", 40000, "10.0.0.2", 80, 6, 0)]);
        t.columns
            .retain(|c| c.name != "bidirectional_first_seen_ms");
        untimed.apply(&mut t).unwrap();
        assert_eq!(
            t.column("label").unwrap().data,
            ColumnData::Str(vec!["web".into()])
        );
    }

    #[test]
    fn toml_datetimes_and_readable_value_errors() {
        let rule =
            |field: &str| format!("default_label = \"b\"\n[[rule]]\nlabel = \"x\"\n{field}\n");
        let a = RuleSet::parse(&rule("start = 2026-03-02T12:00:00Z"), Path::new("a.toml")).unwrap();
        let b = RuleSet::parse(
            &rule("start = \"2026-03-02T12:00:00Z\""),
            Path::new("b.toml"),
        )
        .unwrap();
        assert_eq!(a.rules[0].start_ms, b.rules[0].start_ms);
        let local =
            RuleSet::parse(&rule("start = 2026-03-02T12:00:00"), Path::new("c.toml")).unwrap();
        assert_eq!(local.rules[0].start_ms, b.rules[0].start_ms);
        for (field, says) in [
            ("dst_port = [70000]", "a port: a number"),
            ("protocol = [300]", "a protocol: a number"),
            ("start = true", "a time: RFC 3339"),
        ] {
            let e = RuleSet::parse(&rule(field), Path::new("e.toml"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(says) && !e.contains("untagged"), "{field}: {e}");
        }
    }

    #[test]
    fn bad_rule_files_are_errors() {
        for bad in [
            "[[rule]]\nlabel = \"x\"\nsrc = [\"10.0.0.300\"]",
            "[[rule]]\nlabel = \"x\"\ndst_port = [\"90-80\"]",
            "[[rule]]\nlabel = \"x\"\nprotocol = [\"bogus\"]",
            "[[rule]]\nlabel = \"x\"\nstart = \"yesterday\"",
            "[[rule]]\nlabel = \"x\"\nstart = 10\nend = 5",
            "[[rule]]\nlabel = \"x\"\ntypo = 1",
            "[[rule]]\nname = \"no label\"",
        ] {
            assert!(RuleSet::parse(bad, Path::new("b.toml")).is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_columns_are_reported() {
        let rs = RuleSet::parse("", Path::new("e.toml")).unwrap();
        let mut t = Table {
            columns: vec![],
            n_rows: 0,
            skipped_rows: 0,
        };
        assert!(matches!(
            rs.apply(&mut t),
            Err(DetectError::MissingColumn(_))
        ));
    }
}
