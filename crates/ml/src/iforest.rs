//! Isolation forest (Liu, Ting & Zhou, 2008) for unsupervised anomaly scores.
//!
//! Why in-house: the only Rust crate (extended-isolation-forest) is
//! unmaintained since 2022 and fixes the feature count at compile time.
//!
//! Definition implemented: each tree is grown on `sample_size` rows drawn
//! without replacement, splitting on a uniformly chosen feature at a uniform
//! value between the node's minimum and maximum, up to depth
//! ceil(log2(sample_size)). The path length of x is the depth of its leaf
//! plus c(n_leaf), and the score is s(x) = 2^(−E[h(x)] / c(sample_size)),
//! with c(n) = 2·H(n−1) − 2(n−1)/n, H(i) ≈ ln(i) + γ. Scores are in (0, 1];
//! higher is more anomalous, and 0.5 is the paper's "no distinct anomaly".

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::matrix::Matrix;

/// Average path length of an unsuccessful BST search over n points.
pub fn c_factor(n: f64) -> f64 {
    if n <= 1.0 {
        0.0
    } else if n <= 2.0 {
        1.0
    } else {
        2.0 * ((n - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (n - 1.0) / n
    }
}

/// A node: internal (`feature >= 0`) or external with its sample size.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct INode {
    /// Split feature, or -1 for a leaf.
    pub feature: i32,
    /// Split value (left if `x < value`).
    pub value: f64,
    /// Left child.
    pub left: u32,
    /// Right child.
    pub right: u32,
    /// Training rows that reached this leaf.
    pub size: u32,
}

/// A fitted isolation forest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IsolationForest {
    /// Number of features.
    pub n_features: usize,
    /// Rows per tree.
    pub sample_size: usize,
    /// Trees (node 0 is each root).
    pub trees: Vec<Vec<INode>>,
}

fn grow(
    x: &Matrix,
    rows: &mut [usize],
    depth: usize,
    limit: usize,
    rng: &mut StdRng,
    out: &mut Vec<INode>,
) -> u32 {
    let id = out.len() as u32;
    let leaf = INode {
        feature: -1,
        value: 0.0,
        left: 0,
        right: 0,
        size: rows.len() as u32,
    };
    if depth >= limit || rows.len() <= 1 {
        out.push(leaf);
        return id;
    }
    // Features that are not constant in this node.
    let mut cand: Vec<(usize, f64, f64)> = Vec::new();
    for f in 0..x.n_cols {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &r in rows.iter() {
            let v = x.get(r, f);
            if v < lo {
                lo = v;
            }
            if v > hi {
                hi = v;
            }
        }
        if hi > lo {
            cand.push((f, lo, hi));
        }
    }
    if cand.is_empty() {
        out.push(leaf);
        return id;
    }
    let (f, lo, hi) = cand[rng.random_range(0..cand.len())];
    let value = rng.random_range(lo..hi);
    let mut i = 0;
    let mut j = rows.len();
    while i < j {
        if x.get(rows[i], f) < value {
            i += 1;
        } else {
            j -= 1;
            rows.swap(i, j);
        }
    }
    out.push(INode {
        feature: f as i32,
        value,
        left: 0,
        right: 0,
        size: rows.len() as u32,
    });
    let (l, r) = rows.split_at_mut(i);
    let li = grow(x, l, depth + 1, limit, rng, out);
    let ri = grow(x, r, depth + 1, limit, rng, out);
    if let Some(n) = out.get_mut(id as usize) {
        n.left = li;
        n.right = ri;
    }
    id
}

impl IsolationForest {
    /// Fits `n_trees` trees on samples of `sample_size` rows (NaN must have
    /// been imputed by preprocessing).
    pub fn fit(
        x: &Matrix,
        n_trees: usize,
        sample_size: usize,
        seed: u64,
    ) -> Result<IsolationForest> {
        if x.n_rows < 2 || n_trees == 0 || sample_size < 2 {
            return Err(MlError::InvalidInput(
                "isolation forest needs at least 2 rows, 1 tree and sample size ≥ 2".into(),
            ));
        }
        let psi = sample_size.min(x.n_rows);
        let limit = (psi as f64).log2().ceil() as usize;
        let trees = (0..n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng =
                    StdRng::seed_from_u64(seed.wrapping_mul(7_919).wrapping_add(t as u64));
                let mut rows = sample(&mut rng, x.n_rows, psi).into_vec();
                let mut nodes = Vec::new();
                grow(x, &mut rows, 0, limit, &mut rng, &mut nodes);
                nodes
            })
            .collect();
        Ok(IsolationForest {
            n_features: x.n_cols,
            sample_size: psi,
            trees,
        })
    }

    /// Path length of row `r` in one tree.
    fn path(tree: &[INode], x: &Matrix, r: usize) -> f64 {
        let mut i = 0usize;
        let mut depth = 0.0;
        for _ in 0..tree.len() {
            let Some(n) = tree.get(i) else { break };
            if n.feature < 0 {
                return depth + c_factor(n.size as f64);
            }
            depth += 1.0;
            i = if x.get(r, n.feature as usize) < n.value {
                n.left
            } else {
                n.right
            } as usize;
        }
        depth
    }

    /// Anomaly scores s(x) in (0, 1], one per row.
    pub fn score(&self, x: &Matrix) -> Vec<f64> {
        let c = c_factor(self.sample_size as f64).max(f64::MIN_POSITIVE);
        (0..x.n_rows)
            .into_par_iter()
            .map(|r| {
                let mean = self.trees.iter().map(|t| Self::path(t, x, r)).sum::<f64>()
                    / self.trees.len().max(1) as f64;
                2f64.powf(-mean / c)
            })
            .collect()
    }

    /// Checks a loaded forest.
    pub fn validate(&self) -> Result<()> {
        if self.trees.is_empty() {
            return Err(MlError::ModelFile("isolation forest without trees".into()));
        }
        for t in &self.trees {
            for (i, n) in t.iter().enumerate() {
                if n.feature >= 0
                    && ((n.feature as usize) >= self.n_features
                        || n.left as usize <= i
                        || n.right as usize <= i
                        || n.left as usize >= t.len()
                        || n.right as usize >= t.len())
                {
                    return Err(MlError::ModelFile(format!(
                        "isolation tree node {i} is inconsistent"
                    )));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_factor_matches_definition() {
        // c(256) from the paper's formula, computed independently.
        let h255: f64 = (1..=255).map(|i| 1.0 / i as f64).sum();
        let exact = 2.0 * h255 - 2.0 * 255.0 / 256.0;
        assert!(
            (c_factor(256.0) - exact).abs() < 0.01,
            "{} vs {exact}",
            c_factor(256.0)
        );
        assert_eq!(c_factor(2.0), 1.0);
        assert_eq!(c_factor(1.0), 0.0);
    }

    #[test]
    fn outliers_score_high_and_inliers_low() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut rows: Vec<Vec<f64>> = (0..1000)
            .map(|_| vec![rng.random_range(-1.0..1.0), rng.random_range(-1.0..1.0)])
            .collect();
        rows.push(vec![8.0, 8.0]);
        rows.push(vec![-9.0, 7.0]);
        let x = Matrix::from_rows(&rows);
        let f = IsolationForest::fit(&x, 100, 256, 1).unwrap();
        f.validate().unwrap();
        let s = f.score(&x);
        let inlier_mean = s[..1000].iter().sum::<f64>() / 1000.0;
        assert!(s[1000] > 0.7 && s[1001] > 0.7, "{} {}", s[1000], s[1001]);
        assert!(inlier_mean < 0.5, "{inlier_mean}");
        // A point isolated by the first split of every tree has h = 1, so
        // its score is bounded by 2^(-1/c(256)).
        assert!(s[1000] <= 2f64.powf(-1.0 / c_factor(256.0)) + 1e-12);
    }
}
