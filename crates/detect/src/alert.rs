//! The alert record shared by every netlens detector (supervised models and
//! unsupervised detectors), written one JSON object per line.

use serde::{Deserialize, Serialize};

/// A feature and this flow's value of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopFeature {
    /// Feature (column) name.
    pub name: String,
    /// The flow's raw value (null when missing).
    pub value: Option<f64>,
}

/// One flow classified as an attack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Which detector raised it, e.g. `model:detector.nlm`.
    pub detector: String,
    /// Flow start, RFC 3339 with microseconds (UTC).
    pub ts_start: String,
    /// Flow end, RFC 3339 with microseconds (UTC); for an early alert, the
    /// time of the packet the decision was made on (the flow goes on).
    pub ts_end: String,
    /// Source address.
    pub src_ip: String,
    /// Source port (0 when the protocol has none).
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: String,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Outer VLAN id (0 = none).
    pub vlan_id: u16,
    /// The predicted attack class.
    pub label: String,
    /// Attack probability in [0, 1] (1 − P(benign) for classifiers).
    pub score: f64,
    /// Flow id within the run (export order; an early snapshot and the
    /// flow's final record have different ids, so identify a flow by its
    /// addresses, ports, protocol and `ts_start`).
    pub flow_id: u64,
    /// Decided on an early snapshot of a flow still in progress (its first
    /// N packets, `--early N`) rather than when the flow ended.
    #[serde(default)]
    pub early: bool,
    /// Packets of the flow the decision was made on (≤ N for early alerts).
    #[serde(default)]
    pub packets: u64,
    /// The model's most important features with this flow's values (empty if unknown).
    pub top_features: Vec<TopFeature>,
}
