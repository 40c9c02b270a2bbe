//! Running statistics used by the per-flow feature sets.
//!
//! Invariant: updates are O(1), allocation-free, and numerically stable
//! (Welford's algorithm); an empty accumulator reports zeros, never NaN.

/// Count, min, max, mean and sum of squared deviations of a stream of values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Running {
    /// Number of values seen.
    pub n: u64,
    /// Smallest value (0 when empty).
    pub min: f64,
    /// Largest value (0 when empty).
    pub max: f64,
    /// Arithmetic mean (0 when empty).
    pub mean: f64,
    /// Sum of squared deviations from the mean (Welford's M2).
    pub m2: f64,
}

impl Running {
    /// Add one value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        if self.n == 1 {
            self.min = x;
            self.max = x;
            self.mean = x;
            self.m2 = 0.0;
            return;
        }
        if x < self.min {
            self.min = x;
        }
        if x > self.max {
            self.max = x;
        }
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Sample standard deviation (divides by n-1); 0 with fewer than two values.
    pub fn sample_stddev(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0).sqrt()
        }
    }

    /// Population standard deviation (divides by n); 0 when empty.
    pub fn population_stddev(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            (self.m2 / self.n as f64).max(0.0).sqrt()
        }
    }

    /// Sample variance (n-1); 0 with fewer than two values.
    pub fn sample_variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).max(0.0)
        }
    }

    /// Sum of all values.
    pub fn sum(&self) -> f64 {
        self.mean * self.n as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass_formulas() {
        let xs = [60.0, 1514.0, 60.0, 590.0, 40.0, 1514.0, 66.0];
        let mut r = Running::default();
        for &x in &xs {
            r.push(x);
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
        assert_eq!(r.n, 7);
        assert_eq!(r.min, 40.0);
        assert_eq!(r.max, 1514.0);
        assert!((r.mean - mean).abs() < 1e-9);
        assert!((r.sample_stddev() - var.sqrt()).abs() < 1e-9);
        assert!((r.sum() - xs.iter().sum::<f64>()).abs() < 1e-6);
    }

    #[test]
    fn empty_and_single_are_zero_not_nan() {
        let mut r = Running::default();
        assert_eq!(r.sample_stddev(), 0.0);
        r.push(5.0);
        assert_eq!(r.sample_stddev(), 0.0);
        assert_eq!(r.population_stddev(), 0.0);
        assert_eq!((r.min, r.max, r.mean), (5.0, 5.0, 5.0));
    }
}
