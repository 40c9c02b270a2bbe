//! The report's summary of the supervised alerts of `netlens analyze`,
//! built while the alerts stream to `alerts.jsonl`.
//!
//! Every alert counts: per class, and per (class, destination) group with
//! its flows, sources, ports, first time and strongest score. Memory is
//! bounded whatever the alert count: at most [`MAX_GROUPS`] groups (later
//! groups are counted in `ungrouped`), [`MAX_SOURCES`] distinct sources per
//! group (beyond it the text says "at least"), and the ports of a group are
//! a set of `u16`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use netlens_detect::Alert;
use netlens_report::AlertRow;

/// Groups kept for the report table.
const MAX_GROUPS: usize = 200;
/// Distinct sources remembered per group.
const MAX_SOURCES: usize = 1000;

/// One (class, destination) group.
#[derive(Default)]
struct Group {
    flows: u64,
    sources: BTreeSet<String>,
    ports: BTreeSet<u16>,
    first: String,
    max_score: f64,
    /// Top features of the strongest alert.
    top: String,
}

/// Running summary of the alerts (see module docs).
#[derive(Default)]
pub struct AlertSummary {
    /// Alerts per class, over all alerts.
    pub by_label: BTreeMap<String, u64>,
    /// Alerts seen.
    pub total: u64,
    /// Alerts whose group did not fit in the table.
    pub ungrouped: u64,
    index: HashMap<(String, String), usize>,
    groups: Vec<((String, String), Group)>,
}

impl AlertSummary {
    /// Count one alert.
    pub fn add(&mut self, al: &Alert) {
        self.total += 1;
        *self.by_label.entry(al.label.clone()).or_insert(0) += 1;
        let key = (al.label.clone(), al.dst_ip.clone());
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None if self.groups.len() < MAX_GROUPS => {
                self.index.insert(key.clone(), self.groups.len());
                self.groups.push((key, Group::default()));
                self.groups.len() - 1
            }
            None => {
                self.ungrouped += 1;
                return;
            }
        };
        let Some((_, g)) = self.groups.get_mut(i) else {
            return;
        };
        g.flows += 1;
        if g.sources.len() < MAX_SOURCES {
            g.sources.insert(al.src_ip.clone());
        }
        g.ports.insert(al.dst_port);
        if g.first.is_empty() || al.ts_start < g.first {
            g.first = al.ts_start.clone();
        }
        if g.flows == 1 || al.score > g.max_score {
            g.max_score = al.score;
            g.top = al
                .top_features
                .iter()
                .take(2)
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ");
        }
    }

    /// The per-class counts as `class: n, ...` (empty when there are none).
    pub fn label_text(&self) -> String {
        self.by_label
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The report table: one row per group, strongest first.
    pub fn rows(&self) -> Vec<AlertRow> {
        let mut order: Vec<&((String, String), Group)> = self.groups.iter().collect();
        order.sort_by(|(ka, a), (kb, b)| {
            b.max_score
                .total_cmp(&a.max_score)
                .then(b.flows.cmp(&a.flows))
                .then(ka.cmp(kb))
        });
        order
            .into_iter()
            .map(|((label, dst), g)| row(label, dst, g))
            .collect()
    }
}

fn row(label: &str, dst: &str, g: &Group) -> AlertRow {
    let src = match g.sources.len() {
        1 => g.sources.iter().next().cloned().unwrap_or_default(),
        n if n >= MAX_SOURCES => format!("at least {n} sources"),
        n => format!("{n} sources"),
    };
    let port_text = crate::common::ports_text(g.ports.iter().map(|&p| u64::from(p)));
    AlertRow {
        time: g.first.clone(),
        severity: if g.max_score >= 0.9 {
            "critical"
        } else {
            "warning"
        }
        .into(),
        kind: label.to_string(),
        subject: format!("{src} → {dst}"),
        detail: format!(
            "{} flow{}, destination port{} {port_text}; max score {:.2}{}",
            g.flows,
            if g.flows == 1 { "" } else { "s" },
            if g.ports.len() == 1 { "" } else { "s" },
            g.max_score,
            if g.top.is_empty() {
                String::new()
            } else {
                format!("; top features: {}", g.top)
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(label: &str, src: &str, dst: &str, port: u16, score: f64, ts: &str) -> Alert {
        Alert {
            detector: "model".into(),
            ts_start: ts.into(),
            ts_end: ts.into(),
            src_ip: src.into(),
            src_port: 40000,
            dst_ip: dst.into(),
            dst_port: port,
            protocol: 6,
            vlan_id: 0,
            label: label.into(),
            score,
            flow_id: None,
            early: false,
            packets: 1,
            top_features: Vec::new(),
        }
    }

    #[test]
    fn every_alert_counts_and_groups_stay_bounded() {
        let mut s = AlertSummary::default();
        // 6,000 flood alerts from spoofed sources to one host, then a scan.
        for i in 0..6000u32 {
            let src = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
            s.add(&alert(
                "ddos",
                &src,
                "192.0.2.1",
                80,
                0.8,
                "2026-01-01T00:00:01Z",
            ));
        }
        for p in 1..=20 {
            s.add(&alert(
                "portscan",
                "10.0.0.66",
                "192.0.2.9",
                p,
                0.95,
                "2026-01-01T00:00:00Z",
            ));
        }
        for d in 0..(MAX_GROUPS as u32 + 10) {
            s.add(&alert(
                "synflood",
                "10.0.0.7",
                &format!("198.51.100.{d}"),
                443,
                0.5,
                "2026-01-01T00:00:02Z",
            ));
        }
        assert_eq!(s.total, 6000 + 20 + MAX_GROUPS as u64 + 10);
        assert_eq!(s.by_label["ddos"], 6000);
        assert_eq!(s.by_label["synflood"], MAX_GROUPS as u64 + 10);
        assert_eq!(s.ungrouped, 12); // 200 groups: ddos, portscan and 198 synflood
        let rows = s.rows();
        assert_eq!(rows.len(), MAX_GROUPS);
        assert_eq!(rows[0].kind, "portscan"); // strongest first
        assert_eq!(rows[0].subject, "10.0.0.66 → 192.0.2.9");
        assert!(
            rows[0]
                .detail
                .starts_with("20 flows, destination ports 20 distinct ports (1–20)")
        );
        assert_eq!(rows[0].severity, "critical");
        assert_eq!(rows[1].kind, "ddos");
        assert_eq!(
            rows[1].subject,
            format!("at least {MAX_SOURCES} sources → 192.0.2.1")
        );
        assert!(
            rows[1]
                .detail
                .starts_with("6000 flows, destination port 80;"),
            "{}",
            rows[1].detail
        );
        assert_eq!(
            s.label_text(),
            format!("ddos: 6000, portscan: 20, synflood: {}", MAX_GROUPS + 10)
        );
    }
}
