//! Alerts of the unsupervised detectors.
//!
//! Detectors build a typed [`Alert`] (addresses and nanosecond times, so the
//! online detector can merge packets into it cheaply) and write it as the
//! record every netlens detector shares, [`netlens_export::alert::Alert`],
//! through [`AlertWriter`]: `label` is always `"anomaly"`, `early` false,
//! `flow_id` null unless the alert is about one exported flow.

use std::net::IpAddr;

pub use netlens_export::alert::AlertWriter;
use netlens_export::time::rfc3339_us;

/// One feature that contributed to an alert.
#[derive(Clone, Debug, PartialEq)]
pub struct TopFeature {
    /// Feature name.
    pub name: String,
    /// Feature value.
    pub value: f64,
}

/// One alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// `"iforest"` or `"kitsune"`.
    pub detector: &'static str,
    /// First packet covered, ns since the epoch.
    pub ts_start_ns: i64,
    /// Last packet covered, ns since the epoch.
    pub ts_end_ns: i64,
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port (0 without ports).
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Outermost VLAN id (0 untagged).
    pub vlan_id: u16,
    /// Anomaly score (higher is more anomalous).
    pub score: f64,
    /// Flow id in the flow export, when the alert is about one exported flow.
    pub flow_id: Option<u64>,
    /// Packets covered: the flow's, or the anomalous packets merged into it.
    pub packets: u64,
    /// Most telling features, most telling first.
    pub top_features: Vec<TopFeature>,
}

/// A finite number, or `None` (written as null).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Alert {
    /// The alert as the record shared by all detectors.
    pub fn to_record(&self) -> netlens_export::alert::Alert {
        netlens_export::alert::Alert {
            detector: self.detector.to_string(),
            ts_start: rfc3339_us(self.ts_start_ns.div_euclid(1000)),
            ts_end: rfc3339_us(self.ts_end_ns.div_euclid(1000)),
            src_ip: self.src_ip.to_string(),
            src_port: self.src_port,
            dst_ip: self.dst_ip.to_string(),
            dst_port: self.dst_port,
            protocol: self.protocol,
            vlan_id: self.vlan_id,
            label: "anomaly".to_string(),
            score: self.score,
            flow_id: self.flow_id,
            early: false,
            packets: self.packets,
            top_features: self
                .top_features
                .iter()
                .map(|t| netlens_export::alert::TopFeature {
                    name: t.name.clone(),
                    value: finite(t.value),
                })
                .collect(),
        }
    }

    /// The alert as one JSON object (no newline).
    pub fn to_json(&self) -> String {
        // Serialising plain data cannot fail; a non-finite score becomes null.
        serde_json::to_string(&self.to_record()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(score: f64) -> Alert {
        Alert {
            detector: "kitsune",
            ts_start_ns: 1_000_000_000,
            ts_end_ns: 2_000_000_000,
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: 1234,
            dst_ip: "::1".parse().unwrap(),
            dst_port: 80,
            protocol: 6,
            vlan_id: 0,
            score,
            flow_id: None,
            packets: 7,
            top_features: vec![TopFeature {
                name: "x".into(),
                value: 1.5,
            }],
        }
    }

    #[test]
    fn alert_json_has_exactly_the_shared_keys() {
        let v: serde_json::Value = serde_json::from_str(&alert(f64::NAN).to_json()).unwrap();
        let mut got: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut want = vec![
            "detector",
            "ts_start",
            "ts_end",
            "src_ip",
            "src_port",
            "dst_ip",
            "dst_port",
            "protocol",
            "vlan_id",
            "label",
            "score",
            "flow_id",
            "early",
            "packets",
            "top_features",
        ];
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(v["ts_start"], "1970-01-01T00:00:01.000000Z");
        assert_eq!(v["label"], "anomaly");
        assert!(v["score"].is_null());
        assert!(v["flow_id"].is_null());
        assert_eq!(v["packets"], 7);
        assert_eq!(v["top_features"][0]["name"], "x");
    }

    #[test]
    fn alert_reads_back_as_the_shared_record() {
        let a = alert(3.25);
        let back: netlens_export::alert::Alert = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(back, a.to_record());
        assert_eq!(back.src_ip, "10.0.0.1");
        assert_eq!(back.dst_ip, "::1");
        assert_eq!(back.top_features[0].value, Some(1.5));
    }
}
