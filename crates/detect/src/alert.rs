//! The alert record: the one shared by every netlens detector, defined in
//! `netlens_export::alert` (the isolation forest and the online detector
//! write the same record).
//!
//! [`push_alert_line`] writes that record's JSON line from borrowed parts,
//! without building an [`Alert`]: on a flood most flows alert, and building
//! the record (seven `String`s and a `Vec` per alert) then serialising it
//! through serde cost more than classifying the flow. Why hand-written: the
//! line must stay byte-identical to what [`AlertWriter`] writes (serde_json,
//! compact), and serde offers no way to serialise borrowed parts into a
//! reused buffer without the owned record. Invariant: for any values, the
//! bytes equal `serde_json::to_string(&alert)` of the corresponding
//! [`Alert`] plus a newline (tested below): keys in declaration order,
//! numbers through serde_json's own formatter (shortest round-trip floats,
//! non-finite as null), strings that can hold arbitrary text (detector
//! name, label, feature names) escaped once by serde_json up front.

use std::net::IpAddr;

pub use netlens_export::alert::{Alert, AlertWriter, TopFeature};
use serde_json::ser::{CompactFormatter, Formatter};

/// `s` as a JSON string literal (quotes included), escaped as serde_json
/// escapes it: the form [`AlertLine`] takes its text fields in.
pub fn json_string(s: &str) -> String {
    // Serialising a &str cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// One alert's fields, borrowed, for [`push_alert_line`].
#[derive(Debug, Clone, Copy)]
pub struct AlertLine<'a> {
    /// Detector name as a JSON string literal ([`json_string`]).
    pub detector_json: &'a str,
    /// Flow start, µs since the epoch.
    pub ts_start_us: i64,
    /// Flow end, µs since the epoch.
    pub ts_end_us: i64,
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Outer VLAN id.
    pub vlan_id: u16,
    /// Label as a JSON string literal ([`json_string`]).
    pub label_json: &'a str,
    /// Score (non-finite: null).
    pub score: f64,
    /// Flow id, or null.
    pub flow_id: Option<u64>,
    /// Decided on an early snapshot.
    pub early: bool,
    /// Packets the decision was made on.
    pub packets: u64,
    /// Top feature names as JSON string literals ([`json_string`]).
    pub top_names_json: &'a [String],
    /// Their values, one per name (missing or non-finite: null).
    pub top_values: &'a [f64],
}

/// Append one number through serde_json's compact formatter (the same
/// digits `serde_json::to_string` writes). Writing to a `Vec` cannot fail.
fn push_u64(out: &mut Vec<u8>, v: u64) {
    let _ = CompactFormatter.write_u64(out, v);
}

/// A float as serde_json writes an `f64` (or `Option<f64>`): shortest
/// round-trip digits, null when not finite.
fn push_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let _ = CompactFormatter.write_f64(out, v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A small integer's decimal digits, pushed one by one (a port, a
/// protocol number: no copy through a scratch buffer).
fn push_small(out: &mut Vec<u8>, v: u16) {
    let mut started = false;
    for p in [10_000u16, 1000, 100, 10] {
        let d = v / p % 10;
        started |= d != 0;
        if started {
            out.push(b'0' + d as u8);
        }
    }
    out.push(b'0' + (v % 10) as u8);
}

/// Two decimal digits.
fn push2(out: &mut Vec<u8>, v: u32) {
    out.push(b'0' + (v / 10 % 10) as u8);
    out.push(b'0' + (v % 10) as u8);
}

/// Writes alert lines ([`AlertLineWriter::push`]), remembering the date
/// of the last timestamp: the alerts of a batch fall on one or two days,
/// and the calendar conversion is the costly part of a timestamp.
#[derive(Debug, Clone)]
pub struct AlertLineWriter {
    /// Day number (since the epoch) of `date`.
    day: i64,
    /// `YYYY-MM-DD` of `day`.
    date: [u8; 10],
}

impl Default for AlertLineWriter {
    fn default() -> Self {
        AlertLineWriter {
            // No timestamp maps to this day with a 4-digit year, so it is never a hit.
            day: i64::MIN,
            date: [0; 10],
        }
    }
}

impl AlertLineWriter {
    /// `us` as `"YYYY-MM-DDTHH:MM:SS.ffffffZ"` (quotes included), the text
    /// of `netlens_export::time::rfc3339_us`; years outside 0..=9999 take
    /// that function itself (its padding of wider years and signs).
    fn push_ts(&mut self, out: &mut Vec<u8>, us: i64) {
        out.push(b'"');
        let secs = us.div_euclid(1_000_000);
        let frac = us.rem_euclid(1_000_000) as u32;
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400) as u32;
        if days != self.day {
            let (y, m, d) = netlens_export::time::civil_from_days(days);
            if !(0..=9999).contains(&y) {
                netlens_export::time::push_rfc3339_us(out, us);
                out.push(b'"');
                return;
            }
            let y = y as u32;
            let mut date = Vec::with_capacity(10);
            push2(&mut date, y / 100);
            push2(&mut date, y % 100);
            date.push(b'-');
            push2(&mut date, m);
            date.push(b'-');
            push2(&mut date, d);
            if let Ok(date) = <[u8; 10]>::try_from(date) {
                self.date = date;
                self.day = days;
            }
        }
        out.extend_from_slice(&self.date);
        out.push(b'T');
        push2(out, sod / 3600);
        out.push(b':');
        push2(out, sod % 3600 / 60);
        out.push(b':');
        push2(out, sod % 60);
        out.push(b'.');
        push2(out, frac / 10_000);
        push2(out, frac / 100 % 100);
        push2(out, frac % 100);
        out.extend_from_slice(b"Z\"");
    }
}

/// An address as its `Display` text, quoted (no character of it needs escaping).
fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    out.push(b'"');
    match ip {
        IpAddr::V4(v4) => {
            for (i, o) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if o >= 100 {
                    out.push(b'0' + o / 100);
                }
                if o >= 10 {
                    out.push(b'0' + o / 10 % 10);
                }
                out.push(b'0' + o % 10);
            }
        }
        IpAddr::V6(v6) => {
            use std::io::Write as _;
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
    out.push(b'"');
}

/// Append `a` as one JSON line (newline included): the bytes
/// [`AlertWriter::write`] writes for the same alert. A stream of alerts
/// should use one [`AlertLineWriter`].
pub fn push_alert_line(out: &mut Vec<u8>, a: &AlertLine<'_>) {
    AlertLineWriter::default().push(out, a);
}

impl AlertLineWriter {
    /// Append `a` as one JSON line (see [`push_alert_line`]).
    pub fn push(&mut self, out: &mut Vec<u8>, a: &AlertLine<'_>) {
        out.reserve(256 + a.detector_json.len() + a.label_json.len());
        out.extend_from_slice(b"{\"detector\":");
        out.extend_from_slice(a.detector_json.as_bytes());
        out.extend_from_slice(b",\"ts_start\":");
        self.push_ts(out, a.ts_start_us);
        out.extend_from_slice(b",\"ts_end\":");
        self.push_ts(out, a.ts_end_us);
        out.extend_from_slice(b",\"src_ip\":");
        push_ip(out, a.src_ip);
        out.extend_from_slice(b",\"src_port\":");
        push_small(out, a.src_port);
        out.extend_from_slice(b",\"dst_ip\":");
        push_ip(out, a.dst_ip);
        out.extend_from_slice(b",\"dst_port\":");
        push_small(out, a.dst_port);
        out.extend_from_slice(b",\"protocol\":");
        push_small(out, u16::from(a.protocol));
        out.extend_from_slice(b",\"vlan_id\":");
        push_small(out, a.vlan_id);
        out.extend_from_slice(b",\"label\":");
        out.extend_from_slice(a.label_json.as_bytes());
        out.extend_from_slice(b",\"score\":");
        push_f64(out, a.score);
        out.extend_from_slice(b",\"flow_id\":");
        match a.flow_id {
            Some(id) => push_u64(out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if a.early {
            b",\"early\":true"
        } else {
            b",\"early\":false"
        });
        out.extend_from_slice(b",\"packets\":");
        push_u64(out, a.packets);
        out.extend_from_slice(b",\"top_features\":[");
        for (i, name) in a.top_names_json.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b",\"value\":");
            push_f64(out, a.top_values.get(i).copied().unwrap_or(f64::NAN));
            out.push(b'}');
        }
        out.extend_from_slice(b"]}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written line and serde_json's for the same values.
    fn both(
        w: &mut AlertLineWriter,
        (detector, label): (&str, &str),
        ts: (i64, i64),
        ips: (&str, &str),
        score: f64,
        flow_id: Option<u64>,
        top: &[(&str, f64)],
    ) -> (String, String) {
        let (src, dst): (IpAddr, IpAddr) = (ips.0.parse().unwrap(), ips.1.parse().unwrap());
        let record = Alert {
            detector: detector.to_string(),
            ts_start: netlens_export::time::rfc3339_us(ts.0),
            ts_end: netlens_export::time::rfc3339_us(ts.1),
            src_ip: src.to_string(),
            src_port: 65535,
            dst_ip: dst.to_string(),
            dst_port: 0,
            protocol: 255,
            vlan_id: 4095,
            label: label.to_string(),
            score,
            flow_id,
            early: flow_id.is_none(),
            packets: u64::MAX,
            top_features: top
                .iter()
                .map(|(n, v)| TopFeature {
                    name: n.to_string(),
                    value: v.is_finite().then_some(*v),
                })
                .collect(),
        };
        let want = serde_json::to_string(&record).unwrap() + "\n";
        let names: Vec<String> = top.iter().map(|(n, _)| json_string(n)).collect();
        let values: Vec<f64> = top.iter().map(|(_, v)| *v).collect();
        let (dj, lj) = (json_string(detector), json_string(label));
        let mut got = b"left over from the previous line\n".to_vec();
        let before = got.len();
        w.push(
            &mut got,
            &AlertLine {
                detector_json: &dj,
                ts_start_us: ts.0,
                ts_end_us: ts.1,
                src_ip: src,
                src_port: 65535,
                dst_ip: dst,
                dst_port: 0,
                protocol: 255,
                vlan_id: 4095,
                label_json: &lj,
                score,
                flow_id,
                early: flow_id.is_none(),
                packets: u64::MAX,
                top_names_json: &names,
                top_values: &values,
            },
        );
        let got = String::from_utf8(got.split_off(before)).unwrap();
        (got, want)
    }

    #[test]
    fn small_integers_and_addresses_as_display_writes_them() {
        let mut out = Vec::new();
        for v in 0..=u16::MAX {
            out.clear();
            push_small(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
        for o in 0..=255u8 {
            let ip = IpAddr::from([o, 255 - o, o / 10, 0]);
            out.clear();
            push_ip(&mut out, ip);
            assert_eq!(out, format!("\"{ip}\"").as_bytes());
        }
    }

    #[test]
    fn hand_written_line_equals_serde_json() {
        let scores = [
            0.0,
            -0.0,
            1.0,
            0.6,
            0.6000000000000001,
            1.0 / 3.0,
            1e-7,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let ts = [
            (0, 0),
            (1_700_000_000_123_456, 1_700_000_001_000_001),
            (-1, -86_400_000_001),
            // Year 9999 and 10000, year −1 (the fallback path).
            (253_402_300_799_999_999, 253_402_300_800_000_000),
            (-62_198_755_200_000_000, -62_167_219_200_000_001),
            (i64::MAX / 1000, i64::MIN / 1000),
        ];
        let ips = [
            ("10.0.0.1", "255.255.255.255"),
            ("0.0.0.0", "192.168.100.9"),
            ("::", "2001:db8::1"),
            ("::ffff:1.2.3.4", "fe80::1:0:0:0:1"),
            ("1:2:3:4:5:6:7:8", "::1"),
        ];
        let names = [
            "model:detector.nlm",
            "quote\" back\\slash",
            "ctl \u{1}\u{8}\t\n\r\u{c}\u{1f}\u{7f} é 😀 </script>",
            "",
        ];
        let top = [
            ("bidirectional_packets", 3.0),
            ("x\"y", -0.0),
            ("nan", f64::NAN),
            ("inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("big", 1e300),
            ("tiny", -5e-324),
            ("int", 123456789012345680.0),
        ];
        let mut n = 0;
        // One writer throughout: its remembered date is hit and missed.
        let mut w = AlertLineWriter::default();
        for (i, score) in scores.iter().enumerate() {
            for (j, t) in ts.iter().enumerate() {
                let ip = ips[(i + j) % ips.len()];
                let det = names[i % names.len()];
                let label = names[(i + j + 1) % names.len()];
                let fid = if (i + j) % 3 == 0 {
                    None
                } else {
                    Some(u64::MAX - j as u64)
                };
                let k = (i + j) % (top.len() + 1);
                let (got, want) = both(&mut w, (det, label), *t, ip, *score, fid, &top[..k]);
                assert_eq!(got, want, "score {score}, ts {t:?}, ips {ip:?}");
                n += 1;
            }
        }
        assert_eq!(n, scores.len() * ts.len());
        // Negative zero keeps its sign, as serde_json writes it.
        let mut fresh = AlertLineWriter::default();
        let (got, _) = both(&mut fresh, ("d", "l"), (0, 0), ips[0], -0.0, Some(1), &[]);
        let mut plain = Vec::new();
        push_alert_line(
            &mut plain,
            &AlertLine {
                detector_json: "\"d\"",
                ts_start_us: 0,
                ts_end_us: 0,
                src_ip: "10.0.0.1".parse().unwrap(),
                src_port: 65535,
                dst_ip: "255.255.255.255".parse().unwrap(),
                dst_port: 0,
                protocol: 255,
                vlan_id: 4095,
                label_json: "\"l\"",
                score: -0.0,
                flow_id: Some(1),
                early: false,
                packets: u64::MAX,
                top_names_json: &[],
                top_values: &[],
            },
        );
        assert_eq!(String::from_utf8(plain).unwrap(), got);
        assert!(got.contains("\"score\":-0.0,"), "{got}");
        assert!(got.ends_with("\"top_features\":[]}\n"), "{got}");
    }
}
