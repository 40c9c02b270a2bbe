//! Alerts in the JSON Lines format shared by all netlens detectors.
//!
//! One JSON object per line with exactly the keys `detector`, `ts_start`,
//! `ts_end` (RFC 3339, µs, UTC), `src_ip`, `src_port`, `dst_ip`,
//! `dst_port`, `protocol`, `vlan_id`, `label` (always `"anomaly"` here),
//! `score`, `flow_id` (number or null) and `top_features` (list of
//! `{"name", "value"}`). Non-finite numbers are written as null.

use std::io::Write;
use std::net::IpAddr;

use serde::Serialize;

/// One feature that contributed to an alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
    /// Most telling features, most telling first.
    pub top_features: Vec<TopFeature>,
}

#[derive(Serialize)]
struct Wire<'a> {
    detector: &'a str,
    ts_start: String,
    ts_end: String,
    src_ip: String,
    src_port: u16,
    dst_ip: String,
    dst_port: u16,
    protocol: u8,
    vlan_id: u16,
    label: &'a str,
    score: f64,
    flow_id: Option<u64>,
    top_features: &'a [TopFeature],
}

impl Alert {
    /// The alert as one JSON object (no newline).
    pub fn to_json(&self) -> String {
        let w = Wire {
            detector: self.detector,
            ts_start: rfc3339_us(self.ts_start_ns.div_euclid(1000)),
            ts_end: rfc3339_us(self.ts_end_ns.div_euclid(1000)),
            src_ip: self.src_ip.to_string(),
            src_port: self.src_port,
            dst_ip: self.dst_ip.to_string(),
            dst_port: self.dst_port,
            protocol: self.protocol,
            vlan_id: self.vlan_id,
            label: "anomaly",
            score: self.score,
            flow_id: self.flow_id,
            top_features: &self.top_features,
        };
        // Serialising plain data cannot fail; NaN/inf become null.
        serde_json::to_string(&w).unwrap_or_default()
    }
}

/// Writes alerts as JSON Lines, flushing after each batch so alerts are
/// visible as soon as they are decided.
pub struct AlertWriter {
    out: Box<dyn Write + Send>,
    written: u64,
}

impl AlertWriter {
    /// Wrap an output.
    pub fn new(out: Box<dyn Write + Send>) -> AlertWriter {
        AlertWriter { out, written: 0 }
    }

    /// Write one alert line.
    pub fn write(&mut self, a: &Alert) -> std::io::Result<()> {
        self.out.write_all(a.to_json().as_bytes())?;
        self.out.write_all(b"\n")?;
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

/// µs since the epoch → `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
///
/// Written here rather than depending on netlens-export (which pulls in
/// Arrow and Parquet) or chrono for one conversion.
pub fn rfc3339_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_values() {
        assert_eq!(rfc3339_us(0), "1970-01-01T00:00:00.000000Z");
        // 2020-02-29T12:34:56.789012Z
        assert_eq!(
            rfc3339_us(1_582_979_696_789_012),
            "2020-02-29T12:34:56.789012Z"
        );
        assert_eq!(rfc3339_us(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn alert_json_has_exactly_the_shared_keys() {
        let a = Alert {
            detector: "kitsune",
            ts_start_ns: 1_000_000_000,
            ts_end_ns: 2_000_000_000,
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: 1234,
            dst_ip: "::1".parse().unwrap(),
            dst_port: 80,
            protocol: 6,
            vlan_id: 0,
            score: f64::NAN,
            flow_id: None,
            top_features: vec![TopFeature {
                name: "x".into(),
                value: 1.5,
            }],
        };
        let v: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
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
            "top_features",
        ];
        let mut got = keys.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want);
        assert_eq!(v["ts_start"], "1970-01-01T00:00:01.000000Z");
        assert!(v["score"].is_null());
        assert_eq!(v["top_features"][0]["name"], "x");
    }
}
