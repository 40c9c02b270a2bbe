//! The alert record shared by every netlens detector (supervised models,
//! the isolation forest and the Kitsune-style online detector), written one
//! JSON object per line by [`AlertWriter`].
//!
//! Invariant: every detector's alerts have exactly these keys, so one
//! reader handles all of them; non-finite scores and feature values are
//! written as null.

use serde::{Deserialize, Serialize};

/// A feature and this flow's value of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopFeature {
    /// Feature (column) name.
    pub name: String,
    /// The flow's raw value (null when missing).
    pub value: Option<f64>,
}

/// One alert: a flow (or, for the online detector, a group of packets of
/// one socket pair) judged an attack or an anomaly.
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
    /// addresses, ports, protocol and `ts_start`); null for alerts about
    /// packets rather than one exported flow.
    pub flow_id: Option<u64>,
    /// Decided on an early snapshot of a flow still in progress (its first
    /// N packets, `--early N`) rather than when the flow ended.
    #[serde(default)]
    pub early: bool,
    /// Packets the decision was made on: the flow's (≤ N for early alerts),
    /// or the alerting packets grouped into this alert.
    #[serde(default)]
    pub packets: u64,
    /// The model's most important features with this flow's values (empty if unknown).
    pub top_features: Vec<TopFeature>,
}

/// Writes alerts as JSON Lines; the caller flushes after each batch so
/// alerts are visible (and survive a crash) as soon as they are decided.
pub struct AlertWriter {
    out: Box<dyn std::io::Write + Send>,
    /// One line, serialised here first: serde_json writes token by token,
    /// and each token through the boxed writer cost a dynamic call.
    line: Vec<u8>,
    written: u64,
}

impl AlertWriter {
    /// Wrap an output.
    pub fn new(out: Box<dyn std::io::Write + Send>) -> AlertWriter {
        AlertWriter {
            out,
            line: Vec::with_capacity(512),
            written: 0,
        }
    }

    /// Write one alert line.
    pub fn write(&mut self, a: &Alert) -> std::io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, a).map_err(std::io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.written += 1;
        Ok(())
    }

    /// Flush the output.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Alerts written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}
