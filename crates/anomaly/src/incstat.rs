//! Damped incremental statistics (Kitsune's "AfterImage" statistics).
//!
//! A 1-D statistic keeps the decayed weight `w`, linear sum `ls` and
//! squared sum `ss` of a stream; before each update every sum is multiplied
//! by `2^(-λ·Δt)` where Δt is the time since the last update, so the
//! statistic summarises roughly the last `1/λ` seconds. Mean = ls/w,
//! variance = |ss/w − mean²|.
//!
//! A 2-D statistic links two 1-D streams (the two directions of a channel
//! or socket) and keeps a decayed sum of residual products `sr` with its
//! own weight; as defined in the Kitsune paper (Mirsky et al., NDSS 2018,
//! table 1): magnitude = √(μa² + μb²), radius = √(σa⁴ + σb⁴),
//! covariance = sr / w_sr, correlation = cov / (σa·σb) (0 when undefined).
//!
//! Invariants: timestamps going backwards never increase a weight (Δt is
//! clamped at 0); every value returned is finite for finite inputs.

/// The five decay rates (per second) of Kitsune.
pub const LAMBDAS: [f64; 5] = [5.0, 3.0, 1.0, 0.1, 0.01];
/// Number of time scales.
pub const SCALES: usize = LAMBDAS.len();

/// The decay factors `2^(-λ·dt)` of every scale of [`LAMBDAS`] (all 1 when
/// `dt ≤ 0`), from a single `exp2`: with f = 2^(-0.01·dt), the other rates
/// are the powers f^10, f^100, f^300 and f^500 (relative error ~1e-13).
#[inline]
pub fn decay_factors(dt: f64) -> [f64; SCALES] {
    if dt <= 0.0 || dt.is_nan() {
        return [1.0; SCALES];
    }
    let f001 = (-0.01 * dt).exp2();
    let p2 = f001 * f001;
    let p8 = (p2 * p2) * (p2 * p2);
    let f01 = p8 * p2;
    let q2 = f01 * f01;
    let q8 = (q2 * q2) * (q2 * q2);
    let f1 = q8 * q2;
    let f3 = f1 * f1 * f1;
    let f5 = f3 * f1 * f1;
    [f5, f3, f1, f01, f001]
}

#[inline]
fn decay(lambda: f64, dt: f64) -> f64 {
    if dt <= 0.0 {
        1.0
    } else {
        (-lambda * dt).exp2()
    }
}

/// One damped 1-D statistic.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inc1 {
    /// Decayed weight.
    pub w: f64,
    ls: f64,
    ss: f64,
    last_t: f64,
    /// Last residual `x − mean` (used by the 2-D covariance).
    pub last_res: f64,
}

impl Inc1 {
    /// Decay to time `t` and add `x`.
    #[inline]
    pub fn update(&mut self, lambda: f64, t: f64, x: f64) {
        let f = decay(lambda, t - self.last_t);
        if t > self.last_t {
            self.last_t = t;
        }
        self.w = self.w * f + 1.0;
        self.ls = self.ls * f + x;
        self.ss = self.ss * f + x * x;
        self.last_res = x - self.mean();
    }

    /// Decayed mean (0 when empty).
    #[inline]
    pub fn mean(&self) -> f64 {
        if self.w > 0.0 { self.ls / self.w } else { 0.0 }
    }

    /// Decayed variance (0 when empty).
    #[inline]
    pub fn var(&self) -> f64 {
        if self.w > 0.0 {
            let m = self.mean();
            (self.ss / self.w - m * m).abs()
        } else {
            0.0
        }
    }

    /// `[w, mean, std]`.
    #[inline]
    pub fn features(&self) -> [f64; 3] {
        [self.w, self.mean(), self.var().sqrt()]
    }
}

/// Two linked directional streams with a decayed residual covariance.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inc2 {
    /// The two directions (index 0 = from the lower endpoint).
    pub dir: [Inc1; 2],
    sr: f64,
    w_sr: f64,
    last_t: f64,
}

impl Inc2 {
    /// Add `x` at time `t` to direction `d` (0 or 1) and update the covariance.
    #[inline]
    pub fn update(&mut self, lambda: f64, t: f64, d: usize, x: f64) {
        let d = d & 1;
        let f = decay(lambda, t - self.last_t);
        if t > self.last_t {
            self.last_t = t;
        }
        self.sr *= f;
        self.w_sr *= f;
        let (a, b) = if d == 0 { (0, 1) } else { (1, 0) };
        if let Some(s) = self.dir.get_mut(a) {
            s.update(lambda, t, x);
        }
        let ra = self.dir.get(a).map_or(0.0, |s| s.last_res);
        let rb = self.dir.get(b).map_or(0.0, |s| s.last_res);
        self.sr += ra * rb;
        self.w_sr += 1.0;
    }

    /// `[w, mean, std]` of direction `d` then `[magnitude, radius, cov, pcc]`.
    #[inline]
    pub fn features(&self, d: usize) -> [f64; 7] {
        let [a, b] = if d & 1 == 0 {
            [self.dir[0], self.dir[1]]
        } else {
            [self.dir[1], self.dir[0]]
        };
        let [w, m, s] = a.features();
        let (va, vb) = (a.var(), b.var());
        let (ma, mb) = (a.mean(), b.mean());
        let cov = if self.w_sr > 0.0 {
            self.sr / self.w_sr
        } else {
            0.0
        };
        let den = va.sqrt() * vb.sqrt();
        let pcc = if den > 0.0 { cov / den } else { 0.0 };
        [
            w,
            m,
            s,
            (ma * ma + mb * mb).sqrt(),
            (va * va + vb * vb).sqrt(),
            cov,
            pcc,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_factors_match_exp2() {
        assert_eq!(LAMBDAS, [5.0, 3.0, 1.0, 0.1, 0.01]);
        for dt in [0.0, 1e-9, 1e-4, 0.01, 0.3, 1.0, 7.5, 100.0, 1e4, 1e7, -3.0] {
            let f = decay_factors(dt);
            for (l, g) in LAMBDAS.iter().zip(f) {
                let want = decay(*l, dt);
                assert!(
                    (g - want).abs() <= 1e-12 * want.max(1e-300) || (g - want).abs() < 1e-300,
                    "dt {dt} λ {l}: {g} vs {want}"
                );
            }
        }
    }

    #[test]
    fn no_decay_gives_plain_mean_and_std() {
        let mut s = Inc1::default();
        for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
            s.update(1.0, 0.0, x);
        }
        let [w, m, sd] = s.features();
        assert_eq!(w, 8.0);
        assert!((m - 5.0).abs() < 1e-12);
        assert!((sd - 2.0).abs() < 1e-12);
    }

    #[test]
    fn weight_halves_after_one_half_life() {
        let mut s = Inc1::default();
        s.update(1.0, 10.0, 3.0);
        s.update(1.0, 11.0, 3.0);
        // 1 * 2^-1 + 1
        assert!((s.w - 1.5).abs() < 1e-12);
        // Time going backwards does not inflate the weight.
        s.update(1.0, 5.0, 3.0);
        assert!((s.w - 2.5).abs() < 1e-12);
    }

    #[test]
    fn correlated_directions_have_positive_covariance() {
        let mut c = Inc2::default();
        for i in 0..200 {
            let x = if i % 4 < 2 { 100.0 } else { 1000.0 };
            c.update(0.01, i as f64 * 0.01, 0, x);
            c.update(0.01, i as f64 * 0.01 + 0.001, 1, x * 2.0);
        }
        let f = c.features(0);
        assert!(f[5] > 0.0, "{f:?}");
        assert!(f[6] > 0.0 && f[6] <= 1.0 + 1e-9, "{f:?}");
        assert!(f.iter().all(|v| v.is_finite()));
    }
}
