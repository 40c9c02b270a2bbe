//! Ground-truth labels for metered flows.
//!
//! Two sources: a labels CSV with one row per labelled flow
//! (`src_ip,src_port,dst_ip,dst_port,protocol,first_seen_ms,last_seen_ms,label,attack_type`,
//! the format of `data/sample/sample.labels.csv`), matched to flows by
//! 5-tuple in either direction (when several rows share a 5-tuple, the one
//! whose first-seen time is closest to the flow's wins); or one label for a
//! whole capture.
//!
//! The class of a row is its `attack_type` when present and the label is
//! not `benign`, else its `label` (so a multi-class detector learns
//! `benign`, `portscan`, `synflood`, ...).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;

use netlens_flow::{Flow, Selection, Value};

use crate::error::{DetectError, Result};

/// Rows read from a labels CSV at most (bounds memory on hostile input).
pub const MAX_LABEL_ROWS: usize = 20_000_000;

/// Canonical (direction-independent) 5-tuple.
type Key = (IpAddr, u16, IpAddr, u16, u8);

fn canon(a: IpAddr, ap: u16, b: IpAddr, bp: u16, proto: u8) -> Key {
    if (a, ap) <= (b, bp) {
        (a, ap, b, bp, proto)
    } else {
        (b, bp, a, ap, proto)
    }
}

/// Labels keyed by 5-tuple.
#[derive(Debug, Default)]
pub struct FlowLabels {
    map: HashMap<Key, Vec<(i64, String)>>,
    /// Rows that could not be parsed (skipped).
    pub bad_rows: usize,
    /// Rows loaded.
    pub rows: usize,
}

impl FlowLabels {
    /// Read a labels CSV.
    pub fn from_csv(path: &Path) -> Result<FlowLabels> {
        let err = |msg: String| DetectError::Labels {
            path: path.to_path_buf(),
            msg,
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(path)
            .map_err(|e| err(e.to_string()))?;
        let headers = rdr.headers().map_err(|e| err(e.to_string()))?.clone();
        let idx = |name: &str| headers.iter().position(|h| h.trim() == name);
        let need = |name: &str| idx(name).ok_or_else(|| err(format!("missing column '{name}'")));
        let (si, sp, di, dp, pr, lb) = (
            need("src_ip")?,
            need("src_port")?,
            need("dst_ip")?,
            need("dst_port")?,
            need("protocol")?,
            need("label")?,
        );
        let first = idx("first_seen_ms");
        let at = idx("attack_type");
        let mut out = FlowLabels::default();
        for rec in rdr.records() {
            if out.rows + out.bad_rows >= MAX_LABEL_ROWS {
                return Err(err(format!("more than {MAX_LABEL_ROWS} rows")));
            }
            let Ok(rec) = rec else {
                out.bad_rows += 1;
                continue;
            };
            let f = |i: usize| rec.get(i).unwrap_or("").trim();
            let parsed = (|| {
                let a: IpAddr = f(si).parse().ok()?;
                let ap: u16 = f(sp).parse().ok()?;
                let b: IpAddr = f(di).parse().ok()?;
                let bp: u16 = f(dp).parse().ok()?;
                let p: u8 = f(pr).parse().ok()?;
                Some(canon(a, ap, b, bp, p))
            })();
            let Some(key) = parsed else {
                out.bad_rows += 1;
                continue;
            };
            let label = f(lb);
            let attack_type = at.map(f).unwrap_or("");
            let class = if !attack_type.is_empty() && label != "benign" {
                attack_type
            } else {
                label
            };
            if class.is_empty() {
                out.bad_rows += 1;
                continue;
            }
            let t = first.and_then(|i| f(i).parse::<i64>().ok()).unwrap_or(0);
            out.map.entry(key).or_default().push((t, class.to_string()));
            out.rows += 1;
        }
        Ok(out)
    }

    /// The class of a flow, if labelled.
    pub fn class_of(&self, flow: &Flow) -> Option<&str> {
        let (a, b) = (ip_of(flow, true)?, ip_of(flow, false)?);
        let key = canon(a, flow.src.port, b, flow.dst.port, flow.protocol);
        let cands = self.map.get(&key)?;
        let t = flow.first_ns / 1_000_000;
        cands
            .iter()
            .min_by_key(|(ft, _)| (ft - t).unsigned_abs())
            .map(|(_, c)| c.as_str())
    }
}

fn ip_of(flow: &Flow, src: bool) -> Option<IpAddr> {
    let name = if src { "src_ip" } else { "dst_ip" };
    let col = Selection::parse(name).ok()?.columns().next()?;
    match col.value(flow) {
        Value::Ip(ip) => Some(ip),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_csv_and_counts_bad_rows() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            f,
            "src_ip,src_port,dst_ip,dst_port,protocol,first_seen_ms,last_seen_ms,label,attack_type"
        )
        .unwrap();
        writeln!(f, "10.0.0.1,1234,10.0.0.2,80,6,1000,2000,attack,portscan").unwrap();
        writeln!(f, "10.0.0.3,1234,10.0.0.2,80,6,1000,2000,benign,").unwrap();
        writeln!(f, "not-an-ip,1,2,3,4,5,6,attack,x").unwrap();
        let l = FlowLabels::from_csv(f.path()).unwrap();
        assert_eq!(l.rows, 2);
        assert_eq!(l.bad_rows, 1);
        // Either direction maps to the same key.
        let k1 = canon(
            "10.0.0.1".parse().unwrap(),
            1234,
            "10.0.0.2".parse().unwrap(),
            80,
            6,
        );
        let k2 = canon(
            "10.0.0.2".parse().unwrap(),
            80,
            "10.0.0.1".parse().unwrap(),
            1234,
            6,
        );
        assert_eq!(k1, k2);
        assert_eq!(l.map.get(&k1).unwrap()[0].1, "portscan");
    }

    #[test]
    fn missing_column_is_an_error() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "a,b\n1,2").unwrap();
        assert!(FlowLabels::from_csv(f.path()).is_err());
    }
}
