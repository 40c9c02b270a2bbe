//! The online per-packet detector: Kitsune-style features + [`KitNet`].
//!
//! Per IP packet, for each of the five decay rates of
//! [`incstat::LAMBDAS`], 23 features (115 in all):
//! - source MAC+IP, 1-D over frame sizes: weight, mean, std (3);
//! - source IP, 1-D over frame sizes (3);
//! - channel (IP pair), 2-D over frame sizes in both directions: weight,
//!   mean, std of this direction, magnitude, radius, covariance,
//!   correlation (7);
//! - channel jitter, 1-D over inter-arrival times of this direction (3);
//! - socket (addresses, ports, protocol), 2-D over frame sizes (7).
//!
//! Non-IP frames are counted and skipped. Each key table is a capped map
//! (approximate LRU eviction), so memory is bounded by
//! [`KitsuneConfig::max_keys`] per table.
//!
//! [`KitsuneObserver`] runs the detector inside the pipeline pass and
//! writes one alert per (5-tuple, second) with at least one packet over the
//! threshold, as soon as that second is over.

use std::net::IpAddr;

use hashbrown::HashMap;
use netlens_capture::PacketRef;
use netlens_pipeline::PacketObserver;
use netlens_wire::{DissectError, PacketSummary};

use crate::alert::{Alert, AlertWriter, TopFeature};
use crate::incstat::{Inc1, Inc2, LAMBDAS, SCALES};
use crate::kitnet::{KitNet, KitNetConfig, Step};
use crate::lru::CappedMap;

/// Features per packet.
pub const N_FEATURES: usize = 23 * SCALES;

/// Feature names in vector order (`<group>_l<λ>_<stat>`).
pub fn feature_names() -> Vec<String> {
    let one = ["w", "mean", "std"];
    let two = ["w", "mean", "std", "magnitude", "radius", "cov", "pcc"];
    let mut v = Vec::with_capacity(N_FEATURES);
    for l in LAMBDAS {
        for (g, names) in [
            ("mac_ip", &one[..]),
            ("ip", &one[..]),
            ("channel", &two[..]),
            ("jitter", &one[..]),
            ("socket", &two[..]),
        ] {
            for n in names {
                v.push(format!("{g}_l{l}_{n}"));
            }
        }
    }
    v
}

/// Settings of the online detector.
#[derive(Clone, Debug)]
pub struct KitsuneConfig {
    /// KitNET settings (grace periods, group size, learning rate).
    pub kitnet: KitNetConfig,
    /// Most keys tracked per statistics table.
    pub max_keys: usize,
    /// Quantile of the scores of the last training packets used as the
    /// alert threshold when no explicit threshold is given.
    pub threshold_quantile: f64,
    /// Explicit alert threshold on the score.
    pub threshold: Option<f64>,
}

impl KitsuneConfig {
    /// Train on the first `n` IP packets: a tenth (at most 5000) maps
    /// features, the rest trains the autoencoders.
    pub fn with_train_packets(n: u64) -> KitsuneConfig {
        let fm = (n / 10).clamp(1, 5_000).min(n);
        KitsuneConfig {
            kitnet: KitNetConfig {
                fm_grace: fm,
                ad_grace: n.saturating_sub(fm),
                ..KitNetConfig::default()
            },
            max_keys: 100_000,
            threshold_quantile: 0.999,
            threshold: None,
        }
    }
}

type Ip = u128;

fn ip_bits(ip: IpAddr) -> Ip {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a) ^ (1u128 << 127),
    }
}

fn mac_bits(m: [u8; 6]) -> u64 {
    m.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// The feature extractor (AfterImage-style damped statistics).
#[derive(Clone, Debug)]
pub struct Extractor {
    mac_ip: CappedMap<(u64, Ip), [Inc1; SCALES]>,
    ip: CappedMap<Ip, [Inc1; SCALES]>,
    channel: CappedMap<(Ip, Ip), [Inc2; SCALES]>,
    jitter: CappedMap<(Ip, Ip), ([Inc1; SCALES], f64)>,
    socket: CappedMap<(Ip, u16, Ip, u16, u8), [Inc2; SCALES]>,
    t0: Option<i64>,
}

impl Extractor {
    /// An extractor tracking at most `max_keys` keys per table.
    pub fn new(max_keys: usize) -> Extractor {
        Extractor {
            mac_ip: CappedMap::new(max_keys),
            ip: CappedMap::new(max_keys),
            channel: CappedMap::new(max_keys),
            jitter: CappedMap::new(max_keys),
            socket: CappedMap::new(max_keys),
            t0: None,
        }
    }

    /// Keys evicted from all tables so far.
    pub fn evicted(&self) -> u64 {
        self.mac_ip.evicted()
            + self.ip.evicted()
            + self.channel.evicted()
            + self.jitter.evicted()
            + self.socket.evicted()
    }

    /// Update the statistics with one packet and write its features into
    /// `out` (resized to [`N_FEATURES`]).
    pub fn update(&mut self, ts_ns: i64, size: f64, p: &PacketSummary, out: &mut Vec<f64>) {
        out.clear();
        out.resize(N_FEATURES, 0.0);
        // Seconds since the first packet keep full f64 precision.
        let t0 = *self.t0.get_or_insert(ts_ns);
        let t = ts_ns.saturating_sub(t0) as f64 * 1e-9;
        let src = ip_bits(p.src_ip);
        let dst = ip_bits(p.dst_ip);
        let (ch_key, ch_dir) = if src <= dst {
            ((src, dst), 0)
        } else {
            ((dst, src), 1)
        };
        let (sp, dp) = if p.ports_known {
            (p.src_port, p.dst_port)
        } else {
            (0, 0)
        };
        let (sock_key, sock_dir) = if (src, sp) <= (dst, dp) {
            ((src, sp, dst, dp, p.protocol), 0)
        } else {
            ((dst, dp, src, sp, p.protocol), 1)
        };
        let mut f = [[0.0f64; 23]; SCALES];
        {
            let s = self
                .mac_ip
                .get_or_insert_with(&(mac_bits(p.src_mac), src), Default::default);
            for (k, l) in LAMBDAS.iter().enumerate() {
                s[k].update(*l, t, size);
                f[k][0..3].copy_from_slice(&s[k].features());
            }
        }
        {
            let s = self.ip.get_or_insert_with(&src, Default::default);
            for (k, l) in LAMBDAS.iter().enumerate() {
                s[k].update(*l, t, size);
                f[k][3..6].copy_from_slice(&s[k].features());
            }
        }
        {
            let s = self.channel.get_or_insert_with(&ch_key, Default::default);
            for (k, l) in LAMBDAS.iter().enumerate() {
                s[k].update(*l, t, ch_dir, size);
                f[k][6..13].copy_from_slice(&s[k].features(ch_dir));
            }
        }
        {
            let (s, last) = self
                .jitter
                .get_or_insert_with(&(src, dst), || ([Inc1::default(); SCALES], f64::NAN));
            let gap = if last.is_nan() {
                0.0
            } else {
                (t - *last).max(0.0)
            };
            *last = t;
            for (k, l) in LAMBDAS.iter().enumerate() {
                s[k].update(*l, t, gap);
                f[k][13..16].copy_from_slice(&s[k].features());
            }
        }
        {
            let s = self.socket.get_or_insert_with(&sock_key, Default::default);
            for (k, l) in LAMBDAS.iter().enumerate() {
                s[k].update(*l, t, sock_dir, size);
                f[k][16..23].copy_from_slice(&s[k].features(sock_dir));
            }
        }
        for (dst, src) in out.chunks_mut(23).zip(f.iter()) {
            dst.copy_from_slice(src);
        }
    }
}

/// Extractor + KitNET + threshold.
#[derive(Clone, Debug)]
pub struct Kitsune {
    cfg: KitsuneConfig,
    fe: Extractor,
    net: KitNet,
    x: Vec<f64>,
    names: Vec<String>,
    /// Scores of training packets after the feature map (for the threshold).
    train_scores: Vec<f64>,
    threshold: Option<f64>,
    /// IP packets processed.
    pub packets: u64,
    /// Packets skipped (not IP or not dissectable).
    pub skipped: u64,
}

/// Most training scores kept for the threshold quantile.
const MAX_TRAIN_SCORES: usize = 1 << 20;

impl Kitsune {
    /// A fresh, untrained detector.
    pub fn new(cfg: KitsuneConfig) -> Kitsune {
        Kitsune {
            fe: Extractor::new(cfg.max_keys),
            net: KitNet::new(N_FEATURES, cfg.kitnet.clone()),
            threshold: cfg.threshold,
            cfg,
            x: Vec::with_capacity(N_FEATURES),
            names: feature_names(),
            train_scores: Vec::new(),
            packets: 0,
            skipped: 0,
        }
    }

    /// The alert threshold (explicit, or fixed at the end of training).
    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// Whether training is over.
    pub fn trained(&self) -> bool {
        self.net.trained()
    }

    /// Keys evicted from the statistics tables.
    pub fn evicted(&self) -> u64 {
        self.fe.evicted()
    }

    /// Feed one dissected packet; returns its score once trained.
    pub fn process(&mut self, ts_ns: i64, wire_len: u32, p: &PacketSummary) -> Option<f64> {
        self.packets += 1;
        self.fe.update(ts_ns, f64::from(wire_len), p, &mut self.x);
        let step = self.net.process(&self.x);
        match step {
            Step::Score(s) => Some(s),
            Step::Training(rmse) => {
                // Training RMSEs of the second half of the grace period
                // (the model has mostly converged) set the threshold.
                let half = self.cfg.kitnet.fm_grace + self.cfg.kitnet.ad_grace / 2;
                if let Some(s) = rmse.filter(|_| self.threshold.is_none())
                    && self.packets > half
                    && self.train_scores.len() < MAX_TRAIN_SCORES
                {
                    self.train_scores.push(s);
                }
                if self.net.trained() && self.threshold.is_none() {
                    self.threshold = Some(quantile(
                        &mut self.train_scores,
                        self.cfg.threshold_quantile,
                    ));
                    self.train_scores = Vec::new();
                }
                None
            }
        }
    }

    /// The top `k` features of the last scored packet, by reconstruction error.
    pub fn top_features(&self, k: usize) -> Vec<TopFeature> {
        self.net
            .top_features(k)
            .into_iter()
            .map(|(i, _)| TopFeature {
                name: self.names.get(i).cloned().unwrap_or_default(),
                value: self.x.get(i).copied().unwrap_or(f64::NAN),
            })
            .collect()
    }
}

/// The `q` quantile (nearest rank) of `v`; +∞ when `v` is empty.
pub fn quantile(v: &mut Vec<f64>, q: f64) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::INFINITY;
    }
    v.sort_by(f64::total_cmp);
    let i = ((q.clamp(0.0, 1.0) * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    v.get(i).copied().unwrap_or(f64::INFINITY)
}

/// Key of an alert bucket: the packet's directional 5-tuple and VLAN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct BucketKey {
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    proto: u8,
    vlan: u16,
}

/// Most open alert buckets; reaching it flushes them all early.
const MAX_BUCKETS: usize = 100_000;

/// Runs [`Kitsune`] on every packet of a pipeline pass and writes
/// aggregated alerts.
pub struct KitsuneObserver {
    /// The detector.
    pub det: Kitsune,
    out: AlertWriter,
    second: i64,
    buckets: HashMap<BucketKey, Alert>,
    /// The first write error; writing stops after it.
    pub error: Option<std::io::Error>,
    /// Packets over the threshold.
    pub anomalous_packets: u64,
}

impl KitsuneObserver {
    /// Observe with `det`, writing alerts to `out`.
    pub fn new(det: Kitsune, out: AlertWriter) -> KitsuneObserver {
        KitsuneObserver {
            det,
            out,
            second: i64::MIN,
            buckets: HashMap::new(),
            error: None,
            anomalous_packets: 0,
        }
    }

    fn flush_buckets(&mut self) {
        let mut v: Vec<Alert> = self.buckets.drain().map(|(_, a)| a).collect();
        v.sort_by_key(|a| a.ts_start_ns);
        if self.error.is_some() {
            return;
        }
        for a in &v {
            if let Err(e) = self.out.write(a) {
                self.error = Some(e);
                return;
            }
        }
        if let Err(e) = self.out.flush() {
            self.error = Some(e);
        }
    }

    /// Write the alerts still open; returns the writer's alert count or the
    /// first write error.
    pub fn finish(&mut self) -> std::io::Result<u64> {
        self.flush_buckets();
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.out.written()),
        }
    }
}

impl PacketObserver for KitsuneObserver {
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>) {
        let Ok(p) = dissected else {
            self.det.skipped += 1;
            return;
        };
        let sec = pkt.ts_ns.div_euclid(1_000_000_000);
        if sec > self.second {
            if !self.buckets.is_empty() {
                self.flush_buckets();
            }
            self.second = sec;
        }
        let Some(score) = self.det.process(pkt.ts_ns, pkt.wire_len, p) else {
            return;
        };
        let Some(th) = self.det.threshold() else {
            return;
        };
        // NaN scores never alert.
        if score.partial_cmp(&th) != Some(std::cmp::Ordering::Greater) {
            return;
        }
        self.anomalous_packets += 1;
        let (sport, dport) = if p.ports_known {
            (p.src_port, p.dst_port)
        } else {
            (0, 0)
        };
        let key = BucketKey {
            src: p.src_ip,
            sport,
            dst: p.dst_ip,
            dport,
            proto: p.protocol,
            vlan: p.vlan_id,
        };
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_BUCKETS {
            self.flush_buckets();
        }
        let top = || self.det.top_features(5);
        match self.buckets.get_mut(&key) {
            Some(a) => {
                a.ts_start_ns = a.ts_start_ns.min(pkt.ts_ns);
                a.ts_end_ns = a.ts_end_ns.max(pkt.ts_ns);
                if score > a.score {
                    a.score = score;
                    a.top_features = top();
                }
            }
            None => {
                let a = Alert {
                    detector: "kitsune",
                    ts_start_ns: pkt.ts_ns,
                    ts_end_ns: pkt.ts_ns,
                    src_ip: p.src_ip,
                    src_port: sport,
                    dst_ip: p.dst_ip,
                    dst_port: dport,
                    protocol: p.protocol,
                    vlan_id: p.vlan_id,
                    score,
                    flow_id: None,
                    top_features: top(),
                };
                self.buckets.insert(key, a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(src: &str, dst: &str, sport: u16, dport: u16) -> PacketSummary {
        PacketSummary {
            src_ip: src.parse().unwrap(),
            dst_ip: dst.parse().unwrap(),
            src_port: sport,
            dst_port: dport,
            ports_known: true,
            protocol: 6,
            ip_version: 4,
            ..PacketSummary::default()
        }
    }

    #[test]
    fn feature_vector_shape_and_names() {
        assert_eq!(feature_names().len(), N_FEATURES);
        assert_eq!(N_FEATURES, 115);
        let mut fe = Extractor::new(16);
        let mut x = Vec::new();
        let p = pkt("10.0.0.1", "10.0.0.2", 1000, 80);
        fe.update(1_000_000_000, 100.0, &p, &mut x);
        fe.update(1_500_000_000, 300.0, &p, &mut x);
        assert_eq!(x.len(), N_FEATURES);
        assert!(x.iter().all(|v| v.is_finite()));
        // λ = 5, source IP: w = 2^(-2.5) + 1, mean between 100 and 300.
        let w = 2f64.powf(-2.5) + 1.0;
        assert!((x[3] - w).abs() < 1e-9, "{}", x[3]);
        assert!((x[4] - (100.0 * 2f64.powf(-2.5) + 300.0) / w).abs() < 1e-9);
        // Jitter (gaps 0 then 0.5 s): mean 0.5/w at λ = 5, ≈ 0.25 at λ = 0.01.
        assert!((x[14] - 0.5 / w).abs() < 1e-9, "{}", x[14]);
        assert!(x[4 * 23 + 14] > 0.25 && x[4 * 23 + 14] < 0.251);
    }

    #[test]
    fn bounded_tables_under_a_spoofed_flood() {
        let mut k = Kitsune::new(KitsuneConfig {
            max_keys: 64,
            ..KitsuneConfig::with_train_packets(200)
        });
        for i in 0..5_000u32 {
            let src = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            let p = pkt(&src, "192.168.0.1", (i % 60_000) as u16, 80);
            k.process(i64::from(i) * 1_000_000, 60, &p);
        }
        assert!(k.fe.socket.len() <= 64 && k.fe.ip.len() <= 64);
        assert!(k.evicted() > 0);
        assert!(k.threshold().is_some_and(f64::is_finite));
    }

    #[test]
    fn quantile_nearest_rank() {
        let mut v = vec![5.0, 1.0, f64::NAN, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.5), 3.0);
        assert_eq!(quantile(&mut v, 1.0), 5.0);
        assert_eq!(quantile(&mut Vec::new(), 0.5), f64::INFINITY);
    }
}
