//! KitNET: an ensemble of small autoencoders with an output autoencoder,
//! trained online (Kitsune's anomaly detector).
//!
//! Phases, by packets seen:
//! 1. feature-mapping grace (`fm_grace` vectors): accumulate the sums needed
//!    for the correlation matrix of the features; at its end the features
//!    are clustered (single linkage on the distance 1 − |correlation|, via
//!    `kodama`) and the dendrogram is cut into groups of at most `max_group`
//!    features, one autoencoder per group.
//! 2. training grace (`ad_grace` vectors): each vector trains every
//!    ensemble member by one SGD step; the vector of their RMSEs trains the
//!    output autoencoder.
//! 3. execution: the score of a vector is the output autoencoder's RMSE.
//!
//! Each autoencoder has one sigmoid hidden layer of ⌈0.75·inputs⌉ units,
//! tied weights, a sigmoid output, inputs scaled to [0, 1] by the min/max
//! seen in training, and is trained on the squared reconstruction error.
//!
//! Invariants: the shapes are fixed once the mapper has run; non-finite
//! inputs are replaced by 0 before they reach any weight, so weights stay
//! finite.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// One denoising-free autoencoder with tied weights (f32 arithmetic).
///
/// The weights, activations and errors are `f32`: the inputs are scaled to
/// about [0, 1], so single precision loses nothing that matters for a
/// reconstruction error, and it halves memory traffic and lets the loops
/// below vectorise. The min/max scaling bounds stay `f64` (raw statistics
/// such as weights or variances can be large).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Autoencoder {
    n_in: usize,
    n_hidden: usize,
    /// Row-major `n_in × n_hidden`.
    w: Vec<f32>,
    hbias: Vec<f32>,
    vbias: Vec<f32>,
    lr: f32,
    min: Vec<f64>,
    max: Vec<f64>,
    // Scratch buffers (not model state).
    #[serde(skip)]
    x: Vec<f32>,
    #[serde(skip)]
    y: Vec<f32>,
    #[serde(skip)]
    z: Vec<f32>,
    #[serde(skip)]
    lh: Vec<f32>,
}

/// e^x in single precision, branch-free so that loops over it vectorise.
///
/// Written here because libm's `exp` is a function call per element (it was
/// about a fifth of Kitsune's time in a profile). Classic range reduction:
/// x = n·ln2 + r with |r| ≤ ln2/2, e^r by its degree-6 Taylor-like
/// polynomial (coefficients of the Cephes `expf` minimax fit), and 2^n built
/// in the exponent bits. Relative error below 2e-7 on [-87, 87]; inputs are
/// clamped to that range (the sigmoid is saturated there anyway).
#[inline(always)]
fn exp_f32(x: f32) -> f32 {
    let x = x.clamp(-87.0, 87.0);
    // Round to nearest without a libm call: adding 1.5·2^23 pushes the
    // fraction bits out of the mantissa.
    const MAGIC: f32 = 12_582_912.0;
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    // ln2 split in a part exact in f32 and a remainder.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let er = p * r * r + r + 1.0;
    // n is in [-126, 126] and sits in the low mantissa bits of t: 2^n is
    // built with integer operations only (no float→int conversion).
    let ni = t.to_bits().wrapping_sub(MAGIC.to_bits());
    let bits = ni.wrapping_add(127) << 23;
    er * f32::from_bits(bits)
}

/// Dot product with four independent partial sums: a plain `sum()` of f32
/// products is one dependent chain of additions (the compiler may not
/// reorder float sums), which made decoding latency-bound.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f32 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[inline(always)]
fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + exp_f32(-v))
}

impl Autoencoder {
    /// A new autoencoder for `n_in` inputs.
    pub fn new(n_in: usize, hidden_ratio: f64, lr: f64, rng: &mut StdRng) -> Autoencoder {
        let n_in = n_in.max(1);
        let n_hidden = ((n_in as f64 * hidden_ratio).ceil() as usize).max(1);
        let a = 1.0 / n_in as f32;
        let w = (0..n_in * n_hidden)
            .map(|_| rng.random_range(-a..a))
            .collect();
        Autoencoder {
            n_in,
            n_hidden,
            w,
            hbias: vec![0.0; n_hidden],
            vbias: vec![0.0; n_in],
            lr: lr as f32,
            min: vec![f64::INFINITY; n_in],
            max: vec![f64::NEG_INFINITY; n_in],
            x: vec![0.0; n_in],
            y: vec![0.0; n_hidden],
            z: vec![0.0; n_in],
            lh: vec![0.0; n_hidden],
        }
    }

    fn ensure_scratch(&mut self) {
        if self.x.len() != self.n_in {
            self.x = vec![0.0; self.n_in];
            self.z = vec![0.0; self.n_in];
        }
        if self.y.len() != self.n_hidden {
            self.y = vec![0.0; self.n_hidden];
            self.lh = vec![0.0; self.n_hidden];
        }
    }

    fn normalise(&mut self, input: impl Iterator<Item = f64>, learn: bool) {
        for (((v, lo), hi), x) in input
            .zip(self.min.iter_mut())
            .zip(self.max.iter_mut())
            .zip(self.x.iter_mut())
        {
            let v = if v.is_finite() { v } else { 0.0 };
            if learn {
                *lo = lo.min(v);
                *hi = hi.max(v);
            }
            let span = *hi - *lo;
            *x = if span > 0.0 && span.is_finite() {
                ((v - *lo) / span) as f32
            } else {
                0.0
            };
        }
    }

    fn forward(&mut self) -> f64 {
        let n_h = self.n_hidden.max(1);
        // y = σ(Wᵀx + hbias), accumulated row by row (contiguous).
        self.y.copy_from_slice(&self.hbias);
        for (xi, row) in self.x.iter().zip(self.w.chunks_exact(n_h)) {
            for (y, w) in self.y.iter_mut().zip(row) {
                *y += xi * w;
            }
        }
        for y in self.y.iter_mut() {
            *y = sigmoid(*y);
        }
        // z = σ(Wy + vbias).
        for ((z, row), vb) in self
            .z
            .iter_mut()
            .zip(self.w.chunks_exact(n_h))
            .zip(&self.vbias)
        {
            *z = dot(row, &self.y) + vb;
        }
        for z in self.z.iter_mut() {
            *z = sigmoid(*z);
        }
        let err: f32 = self
            .x
            .iter()
            .zip(&self.z)
            .map(|(x, z)| (x - z) * (x - z))
            .sum();
        (f64::from(err) / self.n_in.max(1) as f64).sqrt()
    }

    /// One SGD step on `input`; returns the RMSE before the step.
    pub fn train(&mut self, input: impl Iterator<Item = f64>) -> f64 {
        self.ensure_scratch();
        self.normalise(input, true);
        let rmse = self.forward();
        let n_h = self.n_hidden.max(1);
        // Output error e = x − z; hidden error (Wᵀe) ⊙ y(1 − y).
        self.lh.fill(0.0);
        for ((x, z), row) in self.x.iter().zip(&self.z).zip(self.w.chunks_exact(n_h)) {
            let e = x - z;
            for (lh, w) in self.lh.iter_mut().zip(row) {
                *lh += e * w;
            }
        }
        for (lh, y) in self.lh.iter_mut().zip(&self.y) {
            *lh *= y * (1.0 - y);
        }
        let lr = self.lr;
        for (((x, z), row), vb) in self
            .x
            .iter()
            .zip(&self.z)
            .zip(self.w.chunks_exact_mut(n_h))
            .zip(self.vbias.iter_mut())
        {
            let e = x - z;
            for ((w, lh), y) in row.iter_mut().zip(&self.lh).zip(&self.y) {
                *w += lr * (x * lh + e * y);
            }
            *vb += lr * e;
        }
        for (hb, lh) in self.hbias.iter_mut().zip(&self.lh) {
            *hb += lr * lh;
        }
        rmse
    }

    /// RMSE of reconstructing `input` (no learning).
    pub fn execute(&mut self, input: impl Iterator<Item = f64>) -> f64 {
        self.ensure_scratch();
        self.normalise(input, false);
        self.forward()
    }

    /// Squared reconstruction error of each input of the last call.
    pub fn input_errors(&self) -> impl Iterator<Item = f64> + '_ {
        self.x
            .iter()
            .zip(&self.z)
            .map(|(x, z)| f64::from((x - z) * (x - z)))
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.n_in
    }
}

/// Accumulates the sums of a correlation matrix over the grace vectors.
#[derive(Clone, Debug)]
struct CorrAccum {
    n: usize,
    count: f64,
    sum: Vec<f64>,
    /// Upper-triangular sums of products, row-major full `n × n` for simplicity.
    prod: Vec<f64>,
}

impl CorrAccum {
    fn new(n: usize) -> CorrAccum {
        CorrAccum {
            n,
            count: 0.0,
            sum: vec![0.0; n],
            prod: vec![0.0; n * n],
        }
    }

    fn add(&mut self, x: &[f64]) {
        self.count += 1.0;
        for (i, &xi) in x.iter().enumerate().take(self.n) {
            let xi = if xi.is_finite() { xi } else { 0.0 };
            if let Some(s) = self.sum.get_mut(i) {
                *s += xi;
            }
            let Some(row) = self.prod.get_mut(i * self.n..(i + 1) * self.n) else {
                continue;
            };
            for (p, &xj) in row.iter_mut().zip(x).skip(i) {
                let xj = if xj.is_finite() { xj } else { 0.0 };
                *p += xi * xj;
            }
        }
    }

    /// Condensed distance matrix 1 − |corr| (kodama's layout).
    fn distances(&self) -> Vec<f64> {
        let n = self.n;
        let c = self.count.max(1.0);
        let mean: Vec<f64> = self.sum.iter().map(|s| s / c).collect();
        let cov = |i: usize, j: usize| {
            let (a, b) = if i <= j { (i, j) } else { (j, i) };
            self.prod.get(a * n + b).copied().unwrap_or(0.0) / c
                - mean.get(a).copied().unwrap_or(0.0) * mean.get(b).copied().unwrap_or(0.0)
        };
        let mut d = Vec::with_capacity(n * n.saturating_sub(1) / 2);
        for i in 0..n {
            for j in i + 1..n {
                let den = (cov(i, i).max(0.0) * cov(j, j).max(0.0)).sqrt();
                let r = if den > 0.0 {
                    (cov(i, j) / den).clamp(-1.0, 1.0)
                } else {
                    0.0
                };
                let v = 1.0 - r.abs();
                d.push(if v.is_finite() { v } else { 1.0 });
            }
        }
        d
    }
}

/// Cuts a single-linkage dendrogram over `n` features into groups of at
/// most `max_group` features (Kitsune's rule: split a cluster into its two
/// children until each fits).
pub fn cluster_features(dist: &mut [f64], n: usize, max_group: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![vec![0]];
    }
    let dend = kodama::linkage(dist, n, kodama::Method::Single);
    // Node ids: 0..n leaves, n + k the k-th merge step.
    let steps = dend.steps();
    let size = |id: usize| {
        if id < n {
            1
        } else {
            steps.get(id - n).map_or(1, |s| s.size)
        }
    };
    let mut out = Vec::new();
    let mut stack = vec![n + steps.len() - 1];
    while let Some(id) = stack.pop() {
        if size(id) <= max_group.max(1) {
            // Collect the leaves under `id`.
            let mut leaves = Vec::new();
            let mut st = vec![id];
            while let Some(x) = st.pop() {
                if x < n {
                    leaves.push(x);
                } else if let Some(s) = steps.get(x - n) {
                    st.push(s.cluster1);
                    st.push(s.cluster2);
                }
            }
            leaves.sort_unstable();
            out.push(leaves);
        } else if let Some(s) = steps.get(id - n) {
            stack.push(s.cluster2);
            stack.push(s.cluster1);
        }
    }
    out.sort();
    out
}

/// The trained ensemble laid out for scoring: every member's inputs,
/// hidden units and outputs in shared contiguous buffers, so the sigmoids
/// of all members run in one vectorisable loop instead of thirty short
/// ones (scoring was dominated by per-member overhead).
#[derive(Clone, Debug, Default)]
struct Packed {
    /// Feature index of each packed input (group order).
    perm: Vec<usize>,
    /// Scaling: x = (v − lo) · scale (scale 0 for constant inputs).
    lo: Vec<f64>,
    scale: Vec<f64>,
    /// Per member: (input offset, inputs, hidden offset, hidden units,
    /// weight offset).
    members: Vec<(usize, usize, usize, usize, usize)>,
    w: Vec<f32>,
    hbias: Vec<f32>,
    vbias: Vec<f32>,
    x: Vec<f32>,
    h: Vec<f32>,
    z: Vec<f32>,
}

impl Packed {
    fn new(groups: &[Vec<usize>], ensemble: &[Autoencoder]) -> Packed {
        let mut p = Packed::default();
        for (g, ae) in groups.iter().zip(ensemble) {
            let n_in = ae.n_in.min(g.len());
            let nh = ae.n_hidden.max(1);
            // Hidden layers padded to a multiple of 4 with zero weights, so
            // the inner loops run on whole 4-lane chunks. A padded unit is
            // σ(0) = 0.5 but has zero decoding weights: no effect on z.
            let nhp = nh.div_ceil(4) * 4;
            let w_off = p.w.len();
            p.members
                .push((p.perm.len(), n_in, p.hbias.len(), nhp, w_off));
            for (i, &f) in g.iter().enumerate().take(n_in) {
                p.perm.push(f);
                let lo = ae.min.get(i).copied().unwrap_or(0.0);
                let hi = ae.max.get(i).copied().unwrap_or(0.0);
                let span = hi - lo;
                let ok = span > 0.0 && span.is_finite() && lo.is_finite();
                p.lo.push(if ok { lo } else { 0.0 });
                p.scale.push(if ok { 1.0 / span } else { 0.0 });
                let row = ae.w.get(i * nh..(i + 1) * nh).unwrap_or(&[]);
                p.w.extend(row);
                p.w.extend(std::iter::repeat_n(0.0, nhp - row.len().min(nhp)));
            }
            p.hbias.extend(ae.hbias.iter().take(nh));
            p.hbias
                .extend(std::iter::repeat_n(0.0, nhp - ae.hbias.len().min(nh)));
            p.vbias.extend(ae.vbias.iter().take(n_in));
        }
        p.x = vec![0.0; p.perm.len()];
        p.z = vec![0.0; p.perm.len()];
        p.h = vec![0.0; p.hbias.len()];
        p
    }

    /// Scores every member on `v`, writing their RMSEs into `rmse`.
    fn score(&mut self, v: &[f64], rmse: &mut [f64]) {
        for (((x, &f), lo), sc) in self
            .x
            .iter_mut()
            .zip(&self.perm)
            .zip(&self.lo)
            .zip(&self.scale)
        {
            let v = v.get(f).copied().unwrap_or(0.0);
            let v = if v.is_finite() { v } else { 0.0 };
            *x = ((v - lo) * sc) as f32;
        }
        self.h.copy_from_slice(&self.hbias);
        for &(io, ni, ho, nh, wo) in &self.members {
            let (Some(x), Some(h), Some(w)) = (
                self.x.get(io..io + ni),
                self.h.get_mut(ho..ho + nh),
                self.w.get(wo..wo + ni * nh),
            ) else {
                continue;
            };
            for (xi, row) in x.iter().zip(w.chunks_exact(nh.max(1))) {
                for (hc, wc) in h.chunks_exact_mut(4).zip(row.chunks_exact(4)) {
                    for k in 0..4 {
                        hc[k] += xi * wc[k];
                    }
                }
            }
        }
        for h in self.h.iter_mut() {
            *h = sigmoid(*h);
        }
        self.z.copy_from_slice(&self.vbias);
        for &(io, ni, ho, nh, wo) in &self.members {
            let (Some(z), Some(h), Some(w)) = (
                self.z.get_mut(io..io + ni),
                self.h.get(ho..ho + nh),
                self.w.get(wo..wo + ni * nh),
            ) else {
                continue;
            };
            for (zi, row) in z.iter_mut().zip(w.chunks_exact(nh.max(1))) {
                *zi += dot(row, h);
            }
        }
        for z in self.z.iter_mut() {
            *z = sigmoid(*z);
        }
        for (r, &(io, ni, ..)) in rmse.iter_mut().zip(&self.members) {
            let (Some(x), Some(z)) = (self.x.get(io..io + ni), self.z.get(io..io + ni)) else {
                continue;
            };
            let e: f32 = x.iter().zip(z).map(|(a, b)| (a - b) * (a - b)).sum();
            *r = (f64::from(e) / ni.max(1) as f64).sqrt();
        }
    }
}

/// Settings of a [`KitNet`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KitNetConfig {
    /// Vectors used to learn the feature map.
    pub fm_grace: u64,
    /// Vectors used to train the autoencoders after the map is learnt.
    pub ad_grace: u64,
    /// Largest feature group (autoencoder input size).
    pub max_group: usize,
    /// SGD learning rate.
    pub learning_rate: f64,
    /// Hidden units per input.
    pub hidden_ratio: f64,
    /// Seed of the weight initialisation.
    pub seed: u64,
}

impl Default for KitNetConfig {
    fn default() -> Self {
        KitNetConfig {
            fm_grace: 5_000,
            ad_grace: 50_000,
            max_group: 10,
            learning_rate: 0.1,
            hidden_ratio: 0.75,
            seed: 0,
        }
    }
}

/// What [`KitNet::process`] did with a vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Used for learning the feature map or training; during autoencoder
    /// training, the output autoencoder's RMSE before its update.
    Training(Option<f64>),
    /// Scored; the RMSE of the output autoencoder.
    Score(f64),
}

/// The online detector.
#[derive(Clone, Debug)]
pub struct KitNet {
    cfg: KitNetConfig,
    n: usize,
    seen: u64,
    corr: Option<CorrAccum>,
    groups: Vec<Vec<usize>>,
    ensemble: Vec<Autoencoder>,
    output: Option<Autoencoder>,
    rmse: Vec<f64>,
    packed: Option<Packed>,
}

impl KitNet {
    /// A detector for vectors of `n` features.
    pub fn new(n: usize, cfg: KitNetConfig) -> KitNet {
        KitNet {
            corr: Some(CorrAccum::new(n)),
            cfg,
            n,
            seen: 0,
            groups: Vec::new(),
            ensemble: Vec::new(),
            output: None,
            rmse: Vec::new(),
            packed: None,
        }
    }

    /// True once the training grace is over.
    pub fn trained(&self) -> bool {
        self.seen >= self.cfg.fm_grace + self.cfg.ad_grace
    }

    /// The feature groups (empty before the map is learnt).
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    fn build(&mut self) {
        let mut d = self.corr.take().map(|c| c.distances()).unwrap_or_default();
        self.groups = cluster_features(&mut d, self.n, self.cfg.max_group);
        let mut rng = StdRng::seed_from_u64(self.cfg.seed);
        self.ensemble = self
            .groups
            .iter()
            .map(|g| {
                Autoencoder::new(
                    g.len(),
                    self.cfg.hidden_ratio,
                    self.cfg.learning_rate,
                    &mut rng,
                )
            })
            .collect();
        self.output = Some(Autoencoder::new(
            self.groups.len(),
            self.cfg.hidden_ratio,
            self.cfg.learning_rate,
            &mut rng,
        ));
        self.rmse = vec![0.0; self.groups.len()];
    }

    /// Learn from or score one feature vector (`x.len()` should be `n`).
    pub fn process(&mut self, x: &[f64]) -> Step {
        self.seen = self.seen.saturating_add(1);
        if self.seen <= self.cfg.fm_grace {
            if let Some(c) = self.corr.as_mut() {
                c.add(x);
            }
            if self.seen == self.cfg.fm_grace {
                self.build();
            }
            return Step::Training(None);
        }
        if self.output.is_none() {
            // fm_grace == 0: map from no data (every feature uncorrelated).
            self.build();
        }
        let train = !self.trained() || self.seen == self.cfg.fm_grace + self.cfg.ad_grace;
        if train {
            for ((ae, g), r) in self
                .ensemble
                .iter_mut()
                .zip(&self.groups)
                .zip(self.rmse.iter_mut())
            {
                *r = ae.train(g.iter().map(|&i| x.get(i).copied().unwrap_or(0.0)));
            }
        } else {
            let p = self
                .packed
                .get_or_insert_with(|| Packed::new(&self.groups, &self.ensemble));
            p.score(x, &mut self.rmse);
        }
        let Some(out) = self.output.as_mut() else {
            return Step::Training(None);
        };
        if train {
            Step::Training(Some(out.train(self.rmse.iter().copied())))
        } else {
            Step::Score(out.execute(self.rmse.iter().copied()))
        }
    }

    /// After a [`Step::Score`]: the features ranked by squared
    /// reconstruction error within their group, largest first, as
    /// `(feature index, error)`; at most `k`.
    pub fn top_features(&self, k: usize) -> Vec<(usize, f64)> {
        let mut all: Vec<(usize, f64)> = Vec::new();
        if let Some(p) = &self.packed {
            all.extend(
                p.perm.iter().copied().zip(
                    p.x.iter()
                        .zip(&p.z)
                        .map(|(x, z)| f64::from((x - z) * (x - z))),
                ),
            );
        } else {
            for (ae, g) in self.ensemble.iter().zip(&self.groups) {
                all.extend(g.iter().copied().zip(ae.input_errors()));
            }
        }
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(k);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        let mut x = -87.0f32;
        while x <= 87.0 {
            let want = f64::from(x).exp();
            let got = f64::from(exp_f32(x));
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "exp({x}) = {got}, want {want}"
            );
            x += 0.173;
        }
        assert!(exp_f32(1e6).is_finite() && exp_f32(-1e6) > 0.0);
        assert!(exp_f32(f32::NAN).is_nan() || exp_f32(f32::NAN).is_finite());
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-7);
    }

    #[test]
    fn clustering_groups_correlated_features() {
        // Features 0,1,2 move together; 3,4 move together, opposite phase.
        let mut acc = CorrAccum::new(5);
        for i in 0..200 {
            let a = (i as f64 * 0.1).sin();
            let b = (i as f64 * 0.37).cos();
            acc.add(&[a, 2.0 * a + 1.0, -a, b, 3.0 * b]);
        }
        let mut d = acc.distances();
        let g = cluster_features(&mut d, 5, 3);
        assert_eq!(g, vec![vec![0, 1, 2], vec![3, 4]]);
        let mut d = acc.distances();
        let g = cluster_features(&mut d, 5, 1);
        assert_eq!(g.len(), 5);
    }

    #[test]
    fn autoencoder_learns_and_flags_outliers() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut ae = Autoencoder::new(4, 0.75, 0.1, &mut rng);
        let mut r = StdRng::seed_from_u64(2);
        let mut first = 0.0;
        let mut last = 0.0;
        for i in 0..20_000 {
            let t: f64 = r.random_range(0.0..1.0);
            let v = [t, t, 1.0 - t, 0.5];
            let e = ae.train(v.iter().copied());
            if i < 100 {
                first += e;
            }
            if i >= 19_900 {
                last += e;
            }
        }
        assert!(
            last < first,
            "training did not reduce the error: {first} → {last}"
        );
        let normal = ae.execute([0.3, 0.3, 0.7, 0.5].into_iter());
        let odd = ae.execute([0.9, 0.1, 0.9, 0.5].into_iter());
        assert!(odd > 2.0 * normal, "{odd} vs {normal}");
    }

    #[test]
    fn kitnet_phases_and_finite_scores() {
        let cfg = KitNetConfig {
            fm_grace: 100,
            ad_grace: 1000,
            ..KitNetConfig::default()
        };
        let mut k = KitNet::new(6, cfg);
        let mut r = StdRng::seed_from_u64(3);
        for _ in 0..1100 {
            let t: f64 = r.random_range(0.0..1.0);
            assert!(matches!(
                k.process(&[t, t, t, 1.0 - t, f64::NAN, 2.0]),
                Step::Training(_)
            ));
        }
        assert!(k.trained());
        let Step::Score(normal) = k.process(&[0.5, 0.5, 0.5, 0.5, 0.0, 2.0]) else {
            panic!("not scored")
        };
        let Step::Score(odd) = k.process(&[0.9, 0.1, 0.5, 0.9, 0.0, 2.0]) else {
            panic!("not scored")
        };
        // The packed scoring path gives the member autoencoders' own scores.
        let v = [0.3, 0.2, 0.9, 0.1, 0.0, 2.0];
        let Step::Score(packed) = k.process(&v) else {
            panic!("not scored")
        };
        let mut rm = Vec::new();
        for (ae, g) in k.ensemble.iter_mut().zip(&k.groups) {
            rm.push(ae.execute(g.iter().map(|&i| v[i])));
        }
        let slow = k.output.as_mut().unwrap().execute(rm.into_iter());
        assert!(
            (packed - slow).abs() < 1e-5 * slow.max(1e-3),
            "{packed} vs {slow}"
        );
        assert!(normal.is_finite() && odd.is_finite());
        assert!(odd > normal, "{odd} vs {normal}");
        assert!(!k.top_features(3).is_empty());
    }
}
