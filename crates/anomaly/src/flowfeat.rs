//! Numeric per-flow features for the flow-level detector.
//!
//! The features are the numeric columns of the `nfstream` preset of the
//! flow column registry (counts, bytes, durations, packet-size and
//! inter-arrival statistics, TCP flag counts), minus identifiers, ports,
//! absolute timestamps and encapsulation ids, which describe *who* rather
//! than *how*. Each value `v` is mapped to sign(v)·ln(1 + |v|): the counts
//! are heavy-tailed, and isolation trees split uniformly between a node's
//! minimum and maximum. Missing values become 0.
//!
//! Context features ([`FlowContext`], in the spirit of the KDD'99
//! "time-based traffic features"): a single SYN of a scan looks like a
//! benign failed connection; what gives it away is the company it keeps.
//! For each flow, in order of first packet, damped counts (decay rates 5,
//! 0.5 and 0.05 per second)
//! of flows from the same source, to the same destination and between the
//! same pair, and the damped standard deviation of the destination ports
//! the source contacted and the share of its flows that got no answer,
//! are appended. Their tables are capped.
//!
//! Invariant: [`FlowFeatures::row`] always yields exactly
//! [`FlowFeatures::len`] finite values (plus [`CONTEXT_NAMES`] when a
//! context is given).

use netlens_flow::{COLUMNS, Column, ColumnType, Flow, Selection, Value};

use crate::error::{AnomalyError, Result};
use crate::incstat::Inc1;
use crate::lru::CappedMap;

/// Names of the context features, in order.
pub const CONTEXT_NAMES: [&str; 15] = [
    "ctx_src_flows_l5",
    "ctx_dst_flows_l5",
    "ctx_pair_flows_l5",
    "ctx_src_dst_port_std_l5",
    "ctx_src_unanswered_l5",
    "ctx_src_flows_l0.5",
    "ctx_dst_flows_l0.5",
    "ctx_pair_flows_l0.5",
    "ctx_src_dst_port_std_l0.5",
    "ctx_src_unanswered_l0.5",
    "ctx_src_flows_l0.05",
    "ctx_dst_flows_l0.05",
    "ctx_pair_flows_l0.05",
    "ctx_src_dst_port_std_l0.05",
    "ctx_src_unanswered_l0.05",
];

/// Decay rates of the context statistics (per second).
const CTX_LAMBDAS: [f64; 3] = [5.0, 0.5, 0.05];

type Multi = [Inc1; 3];

/// Damped per-host flow statistics over the flow stream.
#[derive(Clone, Debug)]
pub struct FlowContext {
    src: CappedMap<u128, (Multi, Multi, Multi)>,
    dst: CappedMap<u128, Multi>,
    pair: CappedMap<(u128, u128), Multi>,
}

impl FlowContext {
    /// A context tracking at most `max_keys` hosts/pairs per table.
    pub fn new(max_keys: usize) -> FlowContext {
        FlowContext {
            src: CappedMap::new(max_keys),
            dst: CappedMap::new(max_keys),
            pair: CappedMap::new(max_keys),
        }
    }

    /// Account `f` and append its context features (transformed) to `out`.
    pub fn push(&mut self, f: &Flow, out: &mut Vec<f64>) {
        let t = f.first_ns as f64 * 1e-9;
        let s = u128::from_be_bytes(f.src.addr);
        let d = u128::from_be_bytes(f.dst.addr);
        let mut v = [[0.0f64; 5]; 3];
        let unanswered = if f.bwd.packets == 0 { 1.0 } else { 0.0 };
        let ((cs, ports, un), _) = self.src.get_or_insert_with(&s, Default::default);
        for (k, l) in CTX_LAMBDAS.iter().enumerate() {
            cs[k].update(*l, t, 1.0);
            ports[k].update(*l, t, f64::from(f.dst.port));
            un[k].update(*l, t, unanswered);
            v[k][0] = cs[k].w;
            v[k][3] = ports[k].var().sqrt();
            v[k][4] = un[k].mean();
        }
        let (cd, _) = self.dst.get_or_insert_with(&d, Default::default);
        for (k, l) in CTX_LAMBDAS.iter().enumerate() {
            cd[k].update(*l, t, 1.0);
            v[k][1] = cd[k].w;
        }
        let (cp, _) = self.pair.get_or_insert_with(&(s, d), Default::default);
        for (k, l) in CTX_LAMBDAS.iter().enumerate() {
            cp[k].update(*l, t, 1.0);
            v[k][2] = cp[k].w;
        }
        out.extend(v.iter().flatten().map(|x| transform(*x)));
    }
}

/// The default feature names: a compact behavioural set.
///
/// Isolation trees pick split features uniformly, so dozens of columns that
/// are all zero for short flows (inter-arrival and size statistics) would
/// dilute the few that tell short flows apart (flags, direction, context).
/// This set keeps one or two columns per aspect.
pub fn default_names() -> Vec<String> {
    [
        "protocol",
        "bidirectional_duration_ms",
        "src2dst_packets",
        "dst2src_packets",
        "bidirectional_mean_ps",
        "src2dst_syn_packets",
        "dst2src_ack_packets",
        "dst2src_rst_packets",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

const EXCLUDED: &[&str] = &[
    "id",
    "expiration_id",
    "src_port",
    "dst_port",
    "ip_version",
    "vlan_id",
    "tunnel_id",
];

/// Every numeric behavioural column of the `nfstream` preset (registry
/// order): counts, bytes, durations, size and inter-arrival statistics,
/// flag counts; no identifiers, ports, timestamps or encapsulation ids.
pub fn nfstream_names() -> Vec<String> {
    let Ok(sel) = Selection::parse("nfstream") else {
        return Vec::new();
    };
    sel.columns()
        .filter(|c| matches!(c.ty, ColumnType::U64 | ColumnType::I64 | ColumnType::F64))
        .filter(|c| !EXCLUDED.contains(&c.name))
        .filter(|c| !c.name.ends_with("_seen_ms"))
        .map(|c| c.name.to_string())
        .collect()
}

/// Resolved feature columns.
#[derive(Clone, Debug)]
pub struct FlowFeatures {
    cols: Vec<&'static Column>,
}

impl FlowFeatures {
    /// Resolve `names` against the column registry.
    pub fn new(names: &[String]) -> Result<FlowFeatures> {
        let cols = names
            .iter()
            .map(|n| {
                COLUMNS
                    .iter()
                    .find(|c| c.name == n)
                    .ok_or_else(|| AnomalyError::ModelFile(format!("unknown flow feature '{n}'")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(FlowFeatures { cols })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.cols.len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.cols.is_empty()
    }

    /// The untransformed value of feature `i` of `f` (NaN when missing).
    pub fn raw(&self, i: usize, f: &Flow) -> f64 {
        match self.cols.get(i).map(|c| c.value(f)) {
            Some(Value::U64(v)) => v as f64,
            Some(Value::I64(v)) => v as f64,
            Some(Value::F64(v)) => v,
            _ => f64::NAN,
        }
    }

    /// Append the transformed features of `f` to `out`.
    pub fn row(&self, f: &Flow, out: &mut Vec<f64>) {
        for i in 0..self.cols.len() {
            out.push(transform(self.raw(i, f)));
        }
    }
}

/// sign(v)·ln(1 + |v|), 0 for non-finite values.
pub fn transform(v: f64) -> f64 {
    if v.is_finite() {
        v.signum() * v.abs().ln_1p()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_numeric_behavioural_columns() {
        let names = nfstream_names();
        assert!(names.len() > 40, "{}", names.len());
        assert!(FlowFeatures::new(&default_names()).is_ok());
        assert!(names.iter().any(|n| n == "bidirectional_packets"));
        assert!(names.iter().any(|n| n == "src2dst_syn_packets"));
        assert!(
            !names
                .iter()
                .any(|n| n == "src_port" || n.ends_with("_seen_ms"))
        );
        let ff = FlowFeatures::new(&names).unwrap();
        assert_eq!(ff.len(), names.len());
        assert!(FlowFeatures::new(&["nope".to_string()]).is_err());
        assert_eq!(transform(0.0), 0.0);
        assert!((transform(-(std::f64::consts::E - 1.0)) + 1.0).abs() < 1e-12);
        assert_eq!(transform(f64::NAN), 0.0);
    }
}
