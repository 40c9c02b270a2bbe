//! The per-flow feature table detectors are trained on and applied to.
//!
//! Full-flow set ([`FeatureSet::full`]): every numeric column of the flow
//! registry's `basic`, `meta`, `nfstream` and `cic` groups except
//! identifiers and absolute times (flow ids, source port, VLAN/tunnel ids,
//! first/last-seen timestamps, CIC's duplicated identity columns). The
//! destination port is kept (it names the service). Addresses, MACs and text
//! columns are never features, so a detector does not learn which hosts
//! were in its training captures.
//!
//! Early-flow set ([`FeatureSet::early`]): only what the first N packets
//! say: protocol, destination port, IP version, the number of packets seen
//! (≤ N) and the direction, size and gap of packets 1..N (`splt_*_i`, −1
//! where the flow had fewer packets).
//!
//! Invariant: the table has one row per flow in input order, then the
//! identity columns in [`ID_COLUMNS`] (never used as features).

use netlens_flow::{Column, ColumnType, Flow, MeterConfig, Selection, Value};
use netlens_ml::table::{Column as TColumn, ColumnData, Table};

/// Identity columns appended to every table (excluded from features).
pub const ID_COLUMNS: [&str; 7] = [
    "id",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bidirectional_first_seen_ms",
];

/// Registry columns that identify a flow rather than describe its behaviour.
const EXCLUDED: [&str; 10] = [
    "id",
    "expiration_id",
    "src_port",
    "vlan_id",
    "tunnel_id",
    "cic_flow_id",
    "cic_src_port",
    "cic_dst_port",
    "cic_protocol",
    "ip_version",
];

/// Which features a detector uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureSet {
    /// 0 = full-flow features; N > 0 = features of the first N packets only.
    pub early: u16,
}

impl FeatureSet {
    /// Full-flow features.
    pub fn full() -> FeatureSet {
        FeatureSet { early: 0 }
    }

    /// Features of the first `n` packets.
    pub fn early(n: u16) -> FeatureSet {
        FeatureSet { early: n }
    }

    /// Meter settings that produce this feature set (timeouts left at defaults).
    pub fn meter_config(&self) -> MeterConfig {
        MeterConfig {
            statistics: self.early == 0,
            cic: self.early == 0,
            app: false,
            splt: self.early,
            ..MeterConfig::default()
        }
    }

    /// The registry columns used (full set only; empty for the early set).
    fn registry_columns(&self) -> Vec<&'static Column> {
        if self.early > 0 {
            return Vec::new();
        }
        let Ok(sel) = Selection::parse("basic,meta,nfstream,cic") else {
            return Vec::new();
        };
        sel.columns()
            .filter(|c| is_feature_column(c))
            .collect::<Vec<_>>()
    }

    /// Names of the feature columns this set produces, in table order.
    pub fn feature_names(&self) -> Vec<String> {
        if self.early == 0 {
            return self
                .registry_columns()
                .iter()
                .map(|c| c.name.to_string())
                .collect();
        }
        let mut v = vec![
            "protocol".to_string(),
            "dst_port".to_string(),
            "ip_version".to_string(),
            "early_packets".to_string(),
        ];
        for i in 0..self.early {
            v.push(format!("splt_direction_{i}"));
            v.push(format!("splt_ps_{i}"));
            v.push(format!("splt_piat_ms_{i}"));
        }
        v
    }
}

/// Whether a registry column is a behavioural numeric feature.
fn is_feature_column(c: &Column) -> bool {
    matches!(c.ty, ColumnType::U64 | ColumnType::I64 | ColumnType::F64)
        && !EXCLUDED.contains(&c.name)
        && !c.name.ends_with("_seen_ms")
        && !c.name.ends_with("_seen_us")
        && !c.name.ends_with("first_seen")
        && !c.name.ends_with("last_seen")
}

fn num(v: Value<'_>) -> f64 {
    match v {
        Value::U64(x) => x as f64,
        Value::I64(x) => x as f64,
        Value::F64(x) => x,
        Value::TimestampUs(x) => x as f64,
        _ => f64::NAN,
    }
}

fn splt(f: &Flow) -> Option<&netlens_flow::flow::Splt> {
    f.stats.as_deref().map(|s| &s.splt)
}

fn reg(name: &str) -> Option<&'static Column> {
    Selection::parse(name).ok()?.columns().next()
}

/// Build the feature table of `flows` (plus the [`ID_COLUMNS`]).
pub fn flows_to_table(flows: &[Flow], set: FeatureSet) -> Table {
    let refs: Vec<&Flow> = flows.iter().collect();
    refs_to_table(&refs, set)
}

/// [`flows_to_table`] over borrowed flows (a selection of a batch).
pub fn refs_to_table(flows: &[&Flow], set: FeatureSet) -> Table {
    let n = flows.len();
    let mut columns: Vec<TColumn> = Vec::new();
    if set.early == 0 {
        for c in set.registry_columns() {
            columns.push(TColumn {
                name: c.name.to_string(),
                data: ColumnData::Num(flows.iter().map(|f| num(c.value(f))).collect()),
            });
        }
    } else {
        let k = usize::from(set.early);
        let proto = |f: &Flow| f64::from(f.protocol);
        columns.push(TColumn {
            name: "protocol".into(),
            data: ColumnData::Num(flows.iter().map(|f| proto(f)).collect()),
        });
        columns.push(TColumn {
            name: "dst_port".into(),
            data: ColumnData::Num(flows.iter().map(|f| f64::from(f.dst.port)).collect()),
        });
        columns.push(TColumn {
            name: "ip_version".into(),
            data: ColumnData::Num(flows.iter().map(|f| f64::from(f.ip_version)).collect()),
        });
        columns.push(TColumn {
            name: "early_packets".into(),
            data: ColumnData::Num(
                flows
                    .iter()
                    .map(|f| splt(f).map_or(0.0, |s| s.ps.len().min(k) as f64))
                    .collect(),
            ),
        });
        for i in 0..k {
            let get = |f: &Flow, which: u8| -> f64 {
                let Some(s) = splt(f) else { return -1.0 };
                let v = match which {
                    0 => s.direction.get(i).map(|d| f64::from(*d)),
                    1 => s.ps.get(i).map(|p| f64::from(*p)),
                    _ => s.piat_ms.get(i).copied(),
                };
                v.unwrap_or(-1.0)
            };
            for (which, name) in [(0u8, "direction"), (1, "ps"), (2, "piat_ms")] {
                columns.push(TColumn {
                    name: format!("splt_{name}_{i}"),
                    data: ColumnData::Num(flows.iter().map(|f| get(f, which)).collect()),
                });
            }
        }
    }
    // Identity columns, for labelling and alerts (not features).
    for name in ID_COLUMNS {
        if columns.iter().any(|c| c.name == name) {
            continue;
        }
        let Some(c) = reg(name) else { continue };
        let data = match c.ty {
            ColumnType::Str => ColumnData::Str(
                flows
                    .iter()
                    .map(|f| match c.value(f) {
                        Value::Ip(ip) => ip.to_string(),
                        Value::Str(s) => s.to_string(),
                        _ => String::new(),
                    })
                    .collect(),
            ),
            _ => ColumnData::Num(flows.iter().map(|f| num(c.value(f))).collect()),
        };
        columns.push(TColumn {
            name: name.to_string(),
            data,
        });
    }
    Table {
        columns,
        n_rows: n,
        skipped_rows: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_set_excludes_identifiers_and_times() {
        let names = FeatureSet::full().feature_names();
        assert!(names.len() > 50, "{}", names.len());
        for bad in [
            "id",
            "src_port",
            "src_ip",
            "dst_ip",
            "bidirectional_first_seen_ms",
            "cic_flow_id",
        ] {
            assert!(!names.iter().any(|n| n == bad), "{bad} is a feature");
        }
        assert!(names.iter().any(|n| n == "dst_port"));
        assert!(names.iter().any(|n| n == "bidirectional_packets"));
    }

    #[test]
    fn early_set_names_and_empty_table() {
        let set = FeatureSet::early(3);
        let names = set.feature_names();
        assert_eq!(names.len(), 4 + 9);
        let t = flows_to_table(&[], set);
        assert_eq!(t.n_rows, 0);
        for n in &names {
            assert!(t.index_of(n).is_some(), "{n}");
        }
        for n in ID_COLUMNS {
            assert!(t.index_of(n).is_some(), "{n}");
        }
        assert!(set.meter_config().splt == 3);
    }
}
