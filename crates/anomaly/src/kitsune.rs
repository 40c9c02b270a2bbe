//! The online per-packet detector: Kitsune-style features + [`KitNet`].
//!
//! Per IP packet, for each of the five decay rates of
//! [`incstat::LAMBDAS`], [`PER_SCALE`] features (180 in all):
//! - source MAC+IP, 1-D over frame sizes: weight, mean, std (3);
//! - source IP host (8): weight, mean and std of frame sizes, then the
//!   damped share of its packets that are a TCP SYN without ACK, that open
//!   a socket not seen before, that go to a peer not seen before, and the
//!   damped *counts* of new sockets and new peers (fan-out: a port scan
//!   opens many sockets, a sweep meets many peers);
//! - channel (IP pair), 2-D over frame sizes in both directions: weight,
//!   mean, std of this direction, magnitude, radius, covariance,
//!   correlation (7);
//! - channel jitter, 1-D over inter-arrival times of this direction (3);
//! - socket (addresses, ports, protocol), 2-D over frame sizes (7);
//! - destination IP host (8): the same eight statistics as the source host,
//!   seen from the receiving side. A spoofed-source flood gives every
//!   packet a fresh source, so all per-source statistics look like the
//!   first packet of a benign connection; the destination sees the flood:
//!   its packet rate, SYN share and new-source count jump.
//!
//! "New socket" / "new peer" means the key was absent from the (capped)
//! socket / channel table: a damped distinct count over a bounded table
//! (a key evicted and seen again counts as new again, which only happens
//! when the table is full of more recent keys).
//!
//! Non-IP frames are counted and skipped. Each key table is a capped map
//! (approximate LRU eviction), so memory is bounded by
//! [`KitsuneConfig::max_keys`] per table. [`Kitsune::new_capture`] clears
//! the statistics (not the model) between unrelated captures.
//!
//! [`KitsuneObserver`] runs the detector inside the pipeline pass and
//! writes one alert per (5-tuple, second) with at least one packet over the
//! threshold, as soon as that second is over.

use std::net::IpAddr;

use hashbrown::HashMap;
use netlens_capture::PacketRef;
use netlens_pipeline::PacketObserver;
use netlens_wire::{DissectError, PacketSummary, tcp_flags};

use crate::alert::{Alert, AlertWriter, TopFeature};
use crate::incstat::{LAMBDAS, SCALES, decay_factors};
use crate::kitnet::{KitNet, KitNetConfig, Step};
use crate::lru::CappedMap;

/// Features per time scale.
pub const PER_SCALE: usize = 36;
/// Features per packet.
pub const N_FEATURES: usize = PER_SCALE * SCALES;

const HOST_NAMES: [&str; 8] = [
    "w",
    "mean",
    "std",
    "syn_share",
    "new_socket_share",
    "new_peer_share",
    "new_sockets",
    "new_peers",
];

/// Feature names in vector order (`<group>_l<λ>_<stat>`).
pub fn feature_names() -> Vec<String> {
    let one = ["w", "mean", "std"];
    let two = ["w", "mean", "std", "magnitude", "radius", "cov", "pcc"];
    let mut v = Vec::with_capacity(N_FEATURES);
    for l in LAMBDAS {
        for (g, names) in [
            ("mac_ip", &one[..]),
            ("src", &HOST_NAMES[..]),
            ("channel", &two[..]),
            ("jitter", &one[..]),
            ("socket", &two[..]),
            ("dst", &HOST_NAMES[..]),
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
    /// IP packets scored after training, assumed clean, whose score
    /// quantile becomes the alert threshold (no alerts meanwhile). With 0,
    /// the scores of the second half of training are used instead.
    pub calibrate_packets: u64,
    /// Quantile of the calibration (or late training) scores used as the
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
            calibrate_packets: 0,
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

/// Damped weight, linear and squared sums at every scale, one clock.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    last_t: f64,
    w: [f64; SCALES],
    ls: [f64; SCALES],
    ss: [f64; SCALES],
}

impl Sums {
    /// Decay to `t` (returns the factors used) and add `x`.
    #[inline]
    // Parallel per-scale arrays: one index reads clearer than a zip of five.
    #[allow(clippy::needless_range_loop)]
    fn update(&mut self, t: f64, x: f64) -> [f64; SCALES] {
        let f = decay_factors(t - self.last_t);
        if t > self.last_t {
            self.last_t = t;
        }
        for k in 0..SCALES {
            self.w[k] = self.w[k] * f[k] + 1.0;
            self.ls[k] = self.ls[k] * f[k] + x;
            self.ss[k] = self.ss[k] * f[k] + x * x;
        }
        f
    }

    #[inline]
    fn mean_var(&self, k: usize) -> (f64, f64) {
        let w = self.w[k];
        if w > 0.0 {
            let m = self.ls[k] / w;
            (m, (self.ss[k] / w - m * m).abs())
        } else {
            (0.0, 0.0)
        }
    }
}

/// A host: frame-size sums plus damped counts of SYN-only packets, new
/// sockets and new peers (sharing the clock and decay of `s`).
#[derive(Clone, Copy, Debug, Default)]
struct Host {
    s: Sums,
    syn: [f64; SCALES],
    new_sock: [f64; SCALES],
    new_peer: [f64; SCALES],
}

impl Host {
    #[inline]
    // Parallel per-scale arrays: one index reads clearer than a zip of five.
    #[allow(clippy::needless_range_loop)]
    fn update(&mut self, t: f64, x: f64, syn: bool, new_sock: bool, new_peer: bool) {
        let f = self.s.update(t, x);
        let (a, b, c) = (
            f64::from(u8::from(syn)),
            f64::from(u8::from(new_sock)),
            f64::from(u8::from(new_peer)),
        );
        for k in 0..SCALES {
            self.syn[k] = self.syn[k] * f[k] + a;
            self.new_sock[k] = self.new_sock[k] * f[k] + b;
            self.new_peer[k] = self.new_peer[k] * f[k] + c;
        }
    }

    #[inline]
    fn write(&self, k: usize, out: &mut [f64]) {
        let w = self.s.w[k];
        let (m, v) = self.s.mean_var(k);
        let inv = if w > 0.0 { 1.0 / w } else { 0.0 };
        let vals = [
            w,
            m,
            v.sqrt(),
            self.syn[k] * inv,
            self.new_sock[k] * inv,
            self.new_peer[k] * inv,
            self.new_sock[k],
            self.new_peer[k],
        ];
        for (o, v) in out.iter_mut().zip(vals) {
            *o = v;
        }
    }
}

/// One direction of a 2-D statistic: sums plus the last residual.
#[derive(Clone, Copy, Debug, Default)]
struct Dir {
    s: Sums,
    res: [f64; SCALES],
}

/// Two linked directions with a decayed residual-product sum
/// (see [`crate::incstat`] for the definitions).
#[derive(Clone, Copy, Debug, Default)]
struct Pair {
    dir: [Dir; 2],
    last_t: f64,
    sr: [f64; SCALES],
    w_sr: [f64; SCALES],
}

impl Pair {
    #[inline]
    // Parallel per-scale arrays: one index reads clearer than a zip of five.
    #[allow(clippy::needless_range_loop)]
    fn update(&mut self, t: f64, d: usize, x: f64) {
        let f = decay_factors(t - self.last_t);
        if t > self.last_t {
            self.last_t = t;
        }
        let (da, db) = {
            let [p, q] = &mut self.dir;
            if d & 1 == 0 { (p, q) } else { (q, p) }
        };
        da.s.update(t, x);
        for k in 0..SCALES {
            let (m, _) = da.s.mean_var(k);
            da.res[k] = x - m;
            self.sr[k] = self.sr[k] * f[k] + da.res[k] * db.res[k];
            self.w_sr[k] = self.w_sr[k] * f[k] + 1.0;
        }
    }

    #[inline]
    fn write(&self, k: usize, d: usize, out: &mut [f64]) {
        let (a, b) = if d & 1 == 0 {
            (&self.dir[0], &self.dir[1])
        } else {
            (&self.dir[1], &self.dir[0])
        };
        let (ma, va) = a.s.mean_var(k);
        let (mb, vb) = b.s.mean_var(k);
        let cov = if self.w_sr[k] > 0.0 {
            self.sr[k] / self.w_sr[k]
        } else {
            0.0
        };
        let sa = va.sqrt();
        let den = sa * vb.sqrt();
        let pcc = if den > 0.0 { cov / den } else { 0.0 };
        let vals = [
            a.s.w[k],
            ma,
            sa,
            (ma * ma + mb * mb).sqrt(),
            (va * va + vb * vb).sqrt(),
            cov,
            pcc,
        ];
        for (o, v) in out.iter_mut().zip(vals) {
            *o = v;
        }
    }
}

/// A channel's 2-D statistics and per-direction (inter-arrival sums, last arrival).
type ChannelEntry = (Pair, [(Sums, f64); 2]);

/// Offsets of the groups inside one scale's features.
const OFF_MAC: usize = 0;
const OFF_SRC: usize = 3;
const OFF_CHAN: usize = 11;
const OFF_JIT: usize = 18;
const OFF_SOCK: usize = 21;
const OFF_DST: usize = 28;

/// The feature extractor (AfterImage-style damped statistics).
#[derive(Clone, Debug)]
pub struct Extractor {
    mac_ip: CappedMap<(u64, Ip), Sums>,
    src: CappedMap<Ip, Host>,
    dst: CappedMap<Ip, Host>,
    /// Channel statistics, and per direction the inter-arrival sums and
    /// the last arrival time (NaN before the first): one lookup for both.
    channel: CappedMap<(Ip, Ip), ChannelEntry>,
    socket: CappedMap<(Ip, u16, Ip, u16, u8), Pair>,
    t0: Option<i64>,
}

impl Extractor {
    /// An extractor tracking at most `max_keys` keys per table.
    pub fn new(max_keys: usize) -> Extractor {
        Extractor {
            mac_ip: CappedMap::new(max_keys),
            src: CappedMap::new(max_keys),
            dst: CappedMap::new(max_keys),
            channel: CappedMap::new(max_keys),
            socket: CappedMap::new(max_keys),
            t0: None,
        }
    }

    /// Forget every statistic (start of an unrelated capture).
    pub fn clear(&mut self) {
        self.mac_ip.clear();
        self.src.clear();
        self.dst.clear();
        self.channel.clear();
        self.socket.clear();
        self.t0 = None;
    }

    /// Keys evicted from all tables so far.
    pub fn evicted(&self) -> u64 {
        self.mac_ip.evicted()
            + self.src.evicted()
            + self.dst.evicted()
            + self.channel.evicted()
            + self.socket.evicted()
    }

    /// Update the statistics with one packet and write its features into
    /// `out` (resized to [`N_FEATURES`]).
    pub fn update(&mut self, ts_ns: i64, size: f64, p: &PacketSummary, out: &mut Vec<f64>) {
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
        let syn =
            p.protocol == 6 && p.tcp.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
        {
            let (s, _) = self
                .mac_ip
                .get_or_insert_with(&(mac_bits(p.src_mac), src), Default::default);
            s.update(t, size);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                let (m, v) = s.mean_var(k);
                o[OFF_MAC] = s.w[k];
                o[OFF_MAC + 1] = m;
                o[OFF_MAC + 2] = v.sqrt();
            }
        }
        let new_peer = {
            let ((s, jit), new) = self.channel.get_or_insert_with(&ch_key, || {
                (Pair::default(), [(Sums::default(), f64::NAN); 2])
            });
            s.update(t, ch_dir, size);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                s.write(k, ch_dir, &mut o[OFF_CHAN..OFF_CHAN + 7]);
            }
            // Jitter of this direction (src → dst).
            let (js, last) = &mut jit[ch_dir & 1];
            let gap = if last.is_nan() {
                0.0
            } else {
                (t - *last).max(0.0)
            };
            *last = t;
            js.update(t, gap);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                let (m, v) = js.mean_var(k);
                o[OFF_JIT] = js.w[k];
                o[OFF_JIT + 1] = m;
                o[OFF_JIT + 2] = v.sqrt();
            }
            new
        };
        let new_sock = {
            let (s, new) = self.socket.get_or_insert_with(&sock_key, Default::default);
            s.update(t, sock_dir, size);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                s.write(k, sock_dir, &mut o[OFF_SOCK..OFF_SOCK + 7]);
            }
            new
        };
        {
            let (s, _) = self.src.get_or_insert_with(&src, Default::default);
            s.update(t, size, syn, new_sock, new_peer);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                s.write(k, &mut o[OFF_SRC..OFF_SRC + 8]);
            }
        }
        {
            let (s, _) = self.dst.get_or_insert_with(&dst, Default::default);
            s.update(t, size, syn, new_sock, new_peer);
            for (k, o) in out.chunks_exact_mut(PER_SCALE).enumerate() {
                s.write(k, &mut o[OFF_DST..OFF_DST + 8]);
            }
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

    /// The alert threshold (explicit, or fixed after training/calibration).
    pub fn threshold(&self) -> Option<f64> {
        self.threshold
    }

    /// Set (or clear) the alert threshold, e.g. a quantile of scores of
    /// separate clean validation traffic.
    pub fn set_threshold(&mut self, th: Option<f64>) {
        self.threshold = th;
    }

    /// Whether training is over.
    pub fn trained(&self) -> bool {
        self.net.trained()
    }

    /// Keys evicted from the statistics tables.
    pub fn evicted(&self) -> u64 {
        self.fe.evicted()
    }

    /// Input sizes of the ensemble's autoencoders (empty before the
    /// feature map is learnt).
    pub fn ensemble_sizes(&self) -> Vec<usize> {
        self.net.groups().iter().map(Vec::len).collect()
    }

    /// Forget the traffic statistics (keep the model): call between
    /// unrelated captures so one's hosts and clock do not leak into the next.
    pub fn new_capture(&mut self) {
        self.fe.clear();
    }

    /// Feed one dissected packet; returns its score once trained.
    pub fn process(&mut self, ts_ns: i64, wire_len: u32, p: &PacketSummary) -> Option<f64> {
        self.packets += 1;
        self.fe.update(ts_ns, f64::from(wire_len), p, &mut self.x);
        let step = self.net.process(&self.x);
        let grace = self.cfg.kitnet.fm_grace + self.cfg.kitnet.ad_grace;
        match step {
            Step::Score(s) => {
                let end = grace.saturating_add(self.cfg.calibrate_packets);
                if self.threshold.is_none() && self.cfg.calibrate_packets > 0 {
                    if self.train_scores.len() < MAX_TRAIN_SCORES {
                        self.train_scores.push(s);
                    }
                    if self.packets >= end {
                        self.fix_threshold();
                    }
                }
                Some(s)
            }
            Step::Training(rmse) => {
                // Without a calibration period, training RMSEs of the second
                // half of the grace period (the model has mostly converged)
                // set the threshold.
                let half = self.cfg.kitnet.fm_grace + self.cfg.kitnet.ad_grace / 2;
                if self.cfg.calibrate_packets == 0
                    && let Some(s) = rmse.filter(|_| self.threshold.is_none())
                    && self.packets > half
                    && self.train_scores.len() < MAX_TRAIN_SCORES
                {
                    self.train_scores.push(s);
                }
                if self.net.trained() && self.threshold.is_none() && self.cfg.calibrate_packets == 0
                {
                    self.fix_threshold();
                }
                None
            }
        }
    }

    fn fix_threshold(&mut self) {
        self.threshold = Some(quantile(
            &mut self.train_scores,
            self.cfg.threshold_quantile,
        ));
        self.train_scores = Vec::new();
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
            if let Err(e) = self.out.write(&a.to_record()) {
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
                a.packets += 1;
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
                    packets: 1,
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
        assert_eq!(N_FEATURES, 180);
        assert_eq!(feature_names()[OFF_DST + 7], "dst_l5_new_peers");
        assert_eq!(feature_names()[PER_SCALE + OFF_JIT], "jitter_l3_w");
        let mut fe = Extractor::new(16);
        let mut x = Vec::new();
        let p = pkt("10.0.0.1", "10.0.0.2", 1000, 80);
        fe.update(1_000_000_000, 100.0, &p, &mut x);
        fe.update(1_500_000_000, 300.0, &p, &mut x);
        assert_eq!(x.len(), N_FEATURES);
        assert!(x.iter().all(|v| v.is_finite()));
        // λ = 5, source IP: w = 2^(-2.5) + 1, mean between 100 and 300.
        let d = 2f64.powf(-2.5);
        let w = d + 1.0;
        assert!((x[OFF_SRC] - w).abs() < 1e-9, "{}", x[OFF_SRC]);
        assert!((x[OFF_SRC + 1] - (100.0 * d + 300.0) / w).abs() < 1e-9);
        // One new socket and one new peer, at the first packet: decayed counts.
        assert!((x[OFF_SRC + 6] - d).abs() < 1e-9, "{}", x[OFF_SRC + 6]);
        assert!((x[OFF_SRC + 7] - d).abs() < 1e-9);
        assert!((x[OFF_SRC + 4] - d / w).abs() < 1e-9);
        assert_eq!(x[OFF_SRC + 3], 0.0);
        // Jitter (gaps 0 then 0.5 s): mean 0.5/w at λ = 5, ≈ 0.25 at λ = 0.01.
        assert!(
            (x[OFF_JIT + 1] - 0.5 / w).abs() < 1e-9,
            "{}",
            x[OFF_JIT + 1]
        );
        let j = 4 * PER_SCALE + OFF_JIT + 1;
        assert!(x[j] > 0.25 && x[j] < 0.251, "{}", x[j]);
        // A SYN from a new source to the same destination, same instant:
        // the destination sees two new peers, half its packets SYN-only.
        let mut syn = pkt("10.0.0.3", "10.0.0.2", 2000, 80);
        syn.tcp.flags = tcp_flags::SYN;
        fe.update(1_500_000_000, 60.0, &syn, &mut x);
        let dst = &x[OFF_DST..OFF_DST + 8];
        assert!((dst[0] - (w + 1.0)).abs() < 1e-9, "{dst:?}");
        assert!((dst[3] - 1.0 / (w + 1.0)).abs() < 1e-9, "{dst:?}");
        assert!((dst[7] - (d + 1.0)).abs() < 1e-9, "{dst:?}");
        assert_eq!(x[OFF_SRC + 3], 1.0);
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
        assert!(k.fe.socket.len() <= 64 && k.fe.src.len() <= 64 && k.fe.dst.len() <= 64);
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
