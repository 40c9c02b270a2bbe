//! Decision trees and random forests (classification) on histogram-binned
//! features, trained in parallel over trees.
//!
//! Why in-house: smartcore's CART/RF (the best pure-Rust option measured,
//! see the crate survey) is single-threaded, about 3× slower than
//! scikit-learn per tree, and its forest has neither `predict_proba` nor
//! impurity importances; linfa's "random forest" samples features per tree,
//! not per split. Binning each feature into at most 256 quantile bins (as
//! LightGBM and scikit-learn's HistGradientBoosting do) makes split search
//! O(rows × features tried) per level and fixes all three issues.
//!
//! Invariants: a split sends `x <= threshold` (and NaN) left; thresholds are
//! midpoints between adjacent bin edges of the training data, so prediction
//! needs only the raw values. Leaf values are class-probability vectors that
//! sum to 1. Node indices in a tree always point to later nodes (no cycles),
//! which [`Tree::validate`] checks after loading a model file.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::flat::{FlatTrees, Lazy, SrcNode};
use crate::matrix::Matrix;

/// Maximum number of bins per feature (bin ids fit in a `u8`).
const MAX_BINS: usize = 256;

/// Hard depth limit: tree building recurses, so depth must stay bounded
/// whatever the data (scikit-learn's unlimited depth rarely exceeds 60).
pub const MAX_DEPTH: usize = 100;

/// Forest hyper-parameters (defaults follow scikit-learn's).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForestParams {
    /// Number of trees.
    pub n_trees: usize,
    /// Maximum depth (None = grow until pure or `min_samples_leaf`).
    pub max_depth: Option<usize>,
    /// Minimum (bootstrap-weighted) samples in a leaf.
    pub min_samples_leaf: usize,
    /// Features tried per split (None = all).
    pub max_features: Option<usize>,
    /// Train each tree on a bootstrap sample.
    pub bootstrap: bool,
    /// Random seed.
    pub seed: u64,
}

impl ForestParams {
    /// scikit-learn's RandomForestClassifier defaults: 100 trees,
    /// floor(sqrt(p)) features per split (its `max_features="sqrt"` rule,
    /// `max(1, int(sqrt(p)))`), bootstrap.
    pub fn random_forest(n_features: usize) -> Self {
        ForestParams {
            n_trees: 100,
            max_depth: None,
            min_samples_leaf: 1,
            max_features: Some(sqrt_features(n_features)),
            bootstrap: true,
            seed: 0,
        }
    }

    /// A single CART tree: all features, no bootstrap.
    pub fn single_tree() -> Self {
        ForestParams {
            n_trees: 1,
            max_depth: None,
            min_samples_leaf: 1,
            max_features: None,
            bootstrap: false,
            seed: 0,
        }
    }
}

/// floor(sqrt(p)), at least 1: the features tried per split by default
/// (exact for every `usize`, unlike a rounded float square root).
fn sqrt_features(p: usize) -> usize {
    p.isqrt().max(1)
}

/// One node; `feature < 0` marks a leaf whose probabilities start at
/// `leaf * n_classes` in [`Tree::leaf_values`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Node {
    /// Split feature, or -1 for a leaf.
    pub feature: i32,
    /// Split threshold (left if `x <= threshold`).
    pub threshold: f64,
    /// Left child index.
    pub left: u32,
    /// Right child index.
    pub right: u32,
    /// Leaf index (leaves only).
    pub leaf: u32,
}

/// A fitted classification tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tree {
    /// Nodes; 0 is the root.
    pub nodes: Vec<Node>,
    /// Concatenated class-probability vectors of the leaves.
    pub leaf_values: Vec<f32>,
}

/// A fitted forest (a single tree is a forest of one).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    /// Number of classes.
    pub n_classes: usize,
    /// Number of input features.
    pub n_features: usize,
    /// The trees.
    pub trees: Vec<Tree>,
    /// Mean decrease in impurity per feature, normalised to sum to 1.
    pub importances: Vec<f64>,
    /// Flattened trees for fast prediction, built on first use (so the
    /// public fields must not change after the first prediction). Not
    /// stored in model files.
    #[serde(skip)]
    flat: Lazy<Option<FlatTrees>>,
}

/// Per-feature bin edges; bin of x = number of edges < x.
struct Binned {
    n_rows: usize,
    /// Column-major bin ids.
    bins: Vec<u8>,
    /// Edge values (thresholds) per feature.
    edges: Vec<Vec<f64>>,
}

fn bin_features(x: &Matrix) -> Binned {
    let n = x.n_rows;
    let cols: Vec<(Vec<u8>, Vec<f64>)> = (0..x.n_cols)
        .into_par_iter()
        .map(|c| {
            let col = x.col(c);
            // Quantiles of (at most) 200k evenly spaced values.
            let step = (n / 200_000).max(1);
            let mut sample: Vec<f64> = col
                .iter()
                .step_by(step)
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            sample.sort_by(|a, b| a.total_cmp(b));
            sample.dedup();
            let distinct = sample.len();
            let cuts: Vec<f64> = if distinct <= MAX_BINS {
                sample
            } else {
                (0..MAX_BINS)
                    .map(|k| sample[(k * (distinct - 1)) / (MAX_BINS - 1)])
                    .collect::<Vec<_>>()
            };
            let mut cuts = cuts;
            cuts.dedup();
            // Edges between consecutive cut values: at most 255 of them.
            let edges: Vec<f64> = cuts
                .windows(2)
                .map(|w| w[0] + (w[1] - w[0]) / 2.0)
                .collect();
            let bins = col
                .iter()
                .map(|&v| {
                    if v.is_nan() {
                        0
                    } else {
                        edges.partition_point(|&e| e < v) as u8
                    }
                })
                .collect();
            (bins, edges)
        })
        .collect();
    let mut bins = Vec::with_capacity(n * x.n_cols);
    let mut edges = Vec::with_capacity(x.n_cols);
    for (b, e) in cols {
        bins.extend(b);
        edges.push(e);
    }
    Binned {
        n_rows: n,
        bins,
        edges,
    }
}

fn gini(counts: &[f64], total: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    1.0 - counts
        .iter()
        .map(|c| (c / total) * (c / total))
        .sum::<f64>()
}

struct Builder<'a> {
    data: &'a Binned,
    y: &'a [u32],
    n_classes: usize,
    params: &'a ForestParams,
    nodes: Vec<Node>,
    leaf_values: Vec<f32>,
    importance: Vec<f64>,
    /// Class histogram scratch space (`MAX_BINS × n_classes`).
    hist: Vec<f64>,
}

impl Builder<'_> {
    fn make_leaf(&mut self, counts: &[f64]) -> u32 {
        let total: f64 = counts.iter().sum();
        let leaf = (self.leaf_values.len() / self.n_classes.max(1)) as u32;
        for c in counts {
            self.leaf_values
                .push(if total > 0.0 { (c / total) as f32 } else { 0.0 });
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            feature: -1,
            threshold: 0.0,
            left: 0,
            right: 0,
            leaf,
        });
        id
    }

    /// Builds the subtree over `rows` (each with weight `w[row]`); returns its node id.
    fn build(
        &mut self,
        rows: &mut [u32],
        w: &[u32],
        depth: usize,
        rng: &mut StdRng,
        feats: &mut [usize],
    ) -> u32 {
        let k = self.n_classes;
        let mut counts = vec![0.0; k];
        for &r in rows.iter() {
            counts[self.y[r as usize] as usize] += w[r as usize] as f64;
        }
        let total: f64 = counts.iter().sum();
        let parent_gini = gini(&counts, total);
        let min_leaf = self.params.min_samples_leaf.max(1) as f64;
        if parent_gini <= 0.0
            || total < 2.0 * min_leaf
            || depth >= self.params.max_depth.unwrap_or(MAX_DEPTH).min(MAX_DEPTH)
        {
            return self.make_leaf(&counts);
        }
        let mtry = self
            .params
            .max_features
            .unwrap_or(feats.len())
            .clamp(1, feats.len());
        // Best split: (impurity decrease, feature, bin).
        let mut best: Option<(f64, usize, usize)> = None;
        // Reused across nodes; all zero between uses.
        let mut hist = std::mem::take(&mut self.hist);
        hist.resize(MAX_BINS * k, 0.0);
        let mut left = vec![0.0; k];
        // Like scikit-learn, keep drawing features beyond mtry while none
        // has given a valid split.
        feats.shuffle(rng);
        for (tried, &f) in feats.iter().enumerate() {
            if tried >= mtry && best.is_some() {
                break;
            }
            if self.data.edges[f].is_empty() {
                continue;
            }
            let col = &self.data.bins[f * self.data.n_rows..(f + 1) * self.data.n_rows];
            // Occupied bin range: bins outside it cannot give a split, so
            // the scan below skips them (same result, far fewer steps in
            // the many small nodes of deep trees).
            let (mut lo, mut hi) = (MAX_BINS, 0usize);
            for &r in rows.iter() {
                let r = r as usize;
                let b = col[r] as usize;
                hist[b * k + self.y[r] as usize] += w[r] as f64;
                lo = lo.min(b);
                hi = hi.max(b);
            }
            left.iter_mut().for_each(|v| *v = 0.0);
            let mut nl = 0.0;
            for b in lo..hi {
                for c in 0..k {
                    left[c] += hist[b * k + c];
                    nl += hist[b * k + c];
                }
                let nr = total - nl;
                if nl < min_leaf {
                    continue;
                }
                if nr < min_leaf {
                    break;
                }
                // Gini of the right side without materialising its counts.
                let mut sq = 0.0;
                for (t, l) in counts.iter().zip(&left) {
                    let p = (t - l) / nr;
                    sq += p * p;
                }
                let child = (nl * gini(&left, nl) + nr * (1.0 - sq)) / total;
                let gain = parent_gini - child;
                if gain > 1e-12 && best.is_none_or(|(g, _, _)| gain > g) {
                    best = Some((gain, f, b));
                }
            }
            if lo <= hi {
                hist[lo * k..(hi + 1) * k].iter_mut().for_each(|h| *h = 0.0);
            }
        }
        self.hist = hist;
        let Some((gain, f, b)) = best else {
            return self.make_leaf(&counts);
        };
        if let Some(imp) = self.importance.get_mut(f) {
            *imp += gain * total;
        }
        let col = &self.data.bins[f * self.data.n_rows..(f + 1) * self.data.n_rows];
        // Partition rows in place: bin <= b goes left.
        let mut i = 0;
        let mut j = rows.len();
        while i < j {
            if col[rows[i] as usize] as usize <= b {
                i += 1;
            } else {
                j -= 1;
                rows.swap(i, j);
            }
        }
        let threshold = self.data.edges[f][b];
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            feature: f as i32,
            threshold,
            left: 0,
            right: 0,
            leaf: 0,
        });
        let (lrows, rrows) = rows.split_at_mut(i);
        let l = self.build(lrows, w, depth + 1, rng, feats);
        let r = self.build(rrows, w, depth + 1, rng, feats);
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.left = l;
            n.right = r;
        }
        id
    }
}

impl Tree {
    /// Class probabilities of one row (a slice of the leaf values).
    #[inline]
    fn leaf_of(&self, row: &[f64]) -> usize {
        let mut i = 0usize;
        // Bounded by the node count: validated trees always descend.
        for _ in 0..self.nodes.len() {
            let Some(n) = self.nodes.get(i) else { return 0 };
            if n.feature < 0 {
                return n.leaf as usize;
            }
            let v = row.get(n.feature as usize).copied().unwrap_or(f64::NAN);
            i = if v <= n.threshold || v.is_nan() {
                n.left
            } else {
                n.right
            } as usize;
        }
        0
    }

    /// Checks the structure of a loaded tree.
    pub fn validate(&self, n_features: usize, n_classes: usize) -> Result<()> {
        let n_leaves = self.leaf_values.len() / n_classes.max(1);
        if self.nodes.is_empty() || self.leaf_values.len() != n_leaves * n_classes {
            return Err(MlError::ModelFile(
                "tree with no nodes or ragged leaves".into(),
            ));
        }
        for (i, n) in self.nodes.iter().enumerate() {
            let ok = if n.feature < 0 {
                (n.leaf as usize) < n_leaves
            } else {
                (n.feature as usize) < n_features
                    && (n.left as usize) > i
                    && (n.right as usize) > i
                    && (n.left as usize) < self.nodes.len()
                    && (n.right as usize) < self.nodes.len()
            };
            if !ok {
                return Err(MlError::ModelFile(format!("tree node {i} is inconsistent")));
            }
        }
        Ok(())
    }
}

impl Forest {
    /// Fits on `x` with class ids `y` (< `n_classes`).
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, params: &ForestParams) -> Result<Forest> {
        if x.n_rows == 0 || x.n_rows != y.len() {
            return Err(MlError::InvalidInput(
                "empty training set or label length mismatch".into(),
            ));
        }
        if x.n_rows > u32::MAX as usize {
            return Err(MlError::InvalidInput("more than 2^32 training rows".into()));
        }
        if n_classes == 0 || y.iter().any(|&c| c as usize >= n_classes) {
            return Err(MlError::InvalidInput("class id out of range".into()));
        }
        if params.n_trees == 0 {
            return Err(MlError::InvalidParameter(
                "n_trees must be at least 1".into(),
            ));
        }
        let data = bin_features(x);
        let n = x.n_rows;
        let p = x.n_cols;
        let fitted: Vec<(Tree, Vec<f64>)> = (0..params.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = StdRng::seed_from_u64(
                    params.seed.wrapping_mul(1_000_003).wrapping_add(t as u64),
                );
                let mut w = vec![0u32; n];
                if params.bootstrap {
                    for _ in 0..n {
                        w[rng.random_range(0..n)] += 1;
                    }
                } else {
                    w.iter_mut().for_each(|v| *v = 1);
                }
                let mut rows: Vec<u32> = (0..n as u32).filter(|&r| w[r as usize] > 0).collect();
                let mut b = Builder {
                    data: &data,
                    y,
                    n_classes,
                    params,
                    nodes: Vec::new(),
                    leaf_values: Vec::new(),
                    importance: vec![0.0; p],
                    hist: Vec::new(),
                };
                let mut feats: Vec<usize> = (0..p).collect();
                b.build(&mut rows, &w, 0, &mut rng, &mut feats);
                let s: f64 = b.importance.iter().sum();
                let imp = if s > 0.0 {
                    b.importance.iter().map(|v| v / s).collect()
                } else {
                    b.importance
                };
                (
                    Tree {
                        nodes: b.nodes,
                        leaf_values: b.leaf_values,
                    },
                    imp,
                )
            })
            .collect();
        let mut importances = vec![0.0; p];
        let mut trees = Vec::with_capacity(fitted.len());
        for (t, imp) in fitted {
            for (a, b) in importances.iter_mut().zip(&imp) {
                *a += b;
            }
            trees.push(t);
        }
        let s: f64 = importances.iter().sum();
        if s > 0.0 {
            importances.iter_mut().for_each(|v| *v /= s);
        }
        Ok(Forest {
            n_classes,
            n_features: p,
            trees,
            importances,
            flat: Lazy::default(),
        })
    }

    /// The flattened trees (None when a tree is malformed or has a NaN
    /// threshold: prediction then takes the per-row path).
    fn flat(&self) -> Option<&FlatTrees> {
        self.flat
            .get_or_init(|| {
                let k = self.n_classes;
                let mut flat = FlatTrees::new(self.n_features, k);
                for t in &self.trees {
                    flat.push_tree(
                        t.nodes.len(),
                        |i| {
                            let n = t.nodes.get(i)?;
                            Some(if n.feature < 0 {
                                SrcNode::Leaf {
                                    value: (n.leaf as usize).checked_mul(k)?,
                                }
                            } else {
                                SrcNode::Split {
                                    feature: n.feature as usize,
                                    threshold: n.threshold,
                                    nan_right: false,
                                    left: n.left as usize,
                                    right: n.right as usize,
                                }
                            })
                        },
                        &t.leaf_values,
                    )?;
                }
                Some(flat)
            })
            .as_ref()
    }

    /// Class probabilities, row-major `n_rows × n_classes` (mean of the
    /// trees' leaf distributions).
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let inv = 1.0 / self.trees.len().max(1) as f64;
        if x.n_cols == self.n_features
            && let Some(flat) = self.flat()
        {
            let mut out = flat.predict_sum(x, 0.0);
            out.iter_mut().for_each(|a| *a *= inv);
            return out;
        }
        self.predict_proba_rows(x)
    }

    /// The per-row path: one row through every tree. The reference for the
    /// flattened path (tests and benchmarks), and the fallback when
    /// flattening fails. Same output as [`Forest::predict_proba`], slower.
    pub fn predict_proba_rows(&self, x: &Matrix) -> Vec<f64> {
        let k = self.n_classes;
        let mut out = vec![0.0; x.n_rows * k];
        let inv = 1.0 / self.trees.len().max(1) as f64;
        out.par_chunks_mut(k * 1024)
            .enumerate()
            .for_each(|(chunk, o)| {
                let start = chunk * 1024;
                // Gather each row once from the column-major matrix so tree
                // traversal reads a small contiguous buffer.
                let mut buf = Vec::with_capacity(x.n_cols);
                for (j, row) in o.chunks_mut(k).enumerate() {
                    x.row_into(start + j, &mut buf);
                    for t in &self.trees {
                        let leaf = t.leaf_of(&buf);
                        if let Some(vals) = t.leaf_values.get(leaf * k..(leaf + 1) * k) {
                            for (a, v) in row.iter_mut().zip(vals) {
                                *a += *v as f64;
                            }
                        }
                    }
                    row.iter_mut().for_each(|a| *a *= inv);
                }
            });
        out
    }

    /// Checks a loaded forest.
    pub fn validate(&self) -> Result<()> {
        if self.trees.is_empty() || self.n_classes == 0 {
            return Err(MlError::ModelFile("forest without trees or classes".into()));
        }
        self.trees
            .iter()
            .try_for_each(|t| t.validate(self.n_features, self.n_classes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::IndexedRandom;

    /// Two interleaved spirals are not linearly separable; a forest must
    /// still learn them.
    fn xor_data(n: usize, seed: u64) -> (Matrix, Vec<u32>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n {
            let a: f64 = rng.random_range(-1.0..1.0);
            let b: f64 = rng.random_range(-1.0..1.0);
            let noise: f64 = rng.random_range(-1.0..1.0);
            rows.push(vec![a, b, noise]);
            y.push(u32::from((a > 0.0) ^ (b > 0.0)));
        }
        (Matrix::from_rows(&rows), y)
    }

    #[test]
    fn forest_learns_xor_and_importances_make_sense() {
        let (x, y) = xor_data(2000, 1);
        let (xt, yt) = xor_data(1000, 2);
        let mut p = ForestParams::random_forest(3);
        p.n_trees = 30;
        let f = Forest::fit(&x, &y, 2, &p).unwrap();
        f.validate().unwrap();
        let pr = f.predict_proba(&xt);
        let acc = yt
            .iter()
            .enumerate()
            .filter(|(i, c)| u32::from(pr[i * 2 + 1] > 0.5) == **c)
            .count() as f64
            / yt.len() as f64;
        assert!(acc > 0.95, "accuracy {acc}");
        assert!(pr.chunks(2).all(|r| (r[0] + r[1] - 1.0).abs() < 1e-6));
        assert!(f.importances[2] < f.importances[0] && f.importances[2] < f.importances[1]);
    }

    #[test]
    fn flattened_prediction_is_bit_identical_on_nsl_kdd() {
        let (x, y, xt) = crate::flat::testdata::nsl_kdd(6000, 4000);
        let mut p = ForestParams::random_forest(x.n_cols);
        p.n_trees = 15;
        let f = Forest::fit(&x, &y, 2, &p).unwrap();
        let fast = f.predict_proba(&xt);
        let slow = f.predict_proba_rows(&xt);
        assert_eq!(fast.len(), slow.len());
        assert!(
            fast.iter()
                .zip(&slow)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        // Fewer columns than the model: the per-row path's NaN semantics.
        let narrow = Matrix::from_columns((0..3).map(|c| xt.col(c).to_vec()).collect(), 50);
        assert_eq!(f.predict_proba(&narrow).len(), 100);
    }

    /// The bundled detector (models/detector.nlm, written before the
    /// flattened path existed) still loads and scores identically through
    /// both paths, on rows built around its own split thresholds.
    #[test]
    fn bundled_detector_model_scores_identically() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/detector.nlm");
        let m = crate::model::TrainedModel::load(&path).unwrap();
        let crate::model::Estimator::Forest(f) = &m.estimator else {
            panic!("the bundled detector is not a forest")
        };
        let mut by_feature: Vec<Vec<f64>> = vec![Vec::new(); f.n_features];
        for n in f.trees.iter().flat_map(|t| &t.nodes) {
            if n.feature >= 0 {
                by_feature[n.feature as usize].push(n.threshold);
            }
        }
        let mut rng = StdRng::seed_from_u64(9);
        let rows: Vec<Vec<f64>> = (0..3000)
            .map(|_| {
                by_feature
                    .iter()
                    .map(|t| match (t.choose(&mut rng), rng.random_range(0..20)) {
                        (_, 0) => f64::NAN,
                        (Some(v), 1) => *v,
                        (Some(v), _) => v + rng.random_range(-1.0..1.0) * v.abs().max(1.0),
                        (None, _) => rng.random_range(0.0..100.0),
                    })
                    .collect()
            })
            .collect();
        let x = Matrix::from_rows(&rows);
        let fast = f.predict_proba(&x);
        let slow = f.predict_proba_rows(&x);
        assert!(
            fast.iter()
                .zip(&slow)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert!(fast.chunks(f.n_classes).any(|r| r[0] > 0.5));
        assert!(fast.chunks(f.n_classes).any(|r| r[0] < 0.5));
    }

    /// The flattened trees against the unflattened per-row tree walk on
    /// rows at the edges of the split rule (values exactly at thresholds,
    /// one ulp either side, ±0.0, NaN, ±inf), over several row blocks
    /// and a partial last one.
    #[test]
    fn flattened_prediction_matches_tree_walk_at_thresholds_and_non_finite() {
        let (mut x, y) = xor_data(3000, 4);
        // A count-like column (0, 1, 2, ...) gives thresholds at x.5 and
        // rows at 0.0 / -0.0.
        let counts: Vec<f64> = (0..x.n_rows).map(|r| (r % 5) as f64).collect();
        x = Matrix::from_columns(
            (0..x.n_cols)
                .map(|c| x.col(c).to_vec())
                .chain([counts])
                .collect(),
            x.n_rows,
        );
        let mut p = ForestParams::random_forest(x.n_cols);
        p.n_trees = 12;
        p.max_features = Some(x.n_cols);
        let f = Forest::fit(&x, &y, 2, &p).unwrap();
        let mut by_feature: Vec<Vec<f64>> = vec![Vec::new(); f.n_features];
        for n in f.trees.iter().flat_map(|t| &t.nodes) {
            if n.feature >= 0 {
                by_feature[n.feature as usize].push(n.threshold);
            }
        }
        assert!(by_feature.iter().all(|t| !t.is_empty()));
        let xt = crate::flat::testdata::edge_rows(&by_feature, 1000, 11);
        let fast = f.predict_proba(&xt);
        let slow = f.predict_proba_rows(&xt);
        assert_eq!(fast.len(), slow.len());
        for (r, (a, b)) in fast.chunks(2).zip(slow.chunks(2)).enumerate() {
            assert!(
                a.iter().zip(b).all(|(a, b)| a.to_bits() == b.to_bits()),
                "row {r}: {a:?} vs {b:?} for {:?}",
                (0..xt.n_cols).map(|c| xt.get(r, c)).collect::<Vec<_>>()
            );
        }
        // The rows reach different leaves (not all scored alike).
        assert!(fast.chunks(2).any(|r| r[1] > 0.9) && fast.chunks(2).any(|r| r[1] < 0.1));

        // Three classes: leaf outputs of a width not fixed at compile time.
        let y3: Vec<u32> = y
            .iter()
            .enumerate()
            .map(|(r, c)| c + u32::from(x.get(r, 2) > 0.5))
            .collect();
        let f3 = Forest::fit(&x, &y3, 3, &p).unwrap();
        let fast = f3.predict_proba(&xt);
        let slow = f3.predict_proba_rows(&xt);
        assert_eq!(fast.len(), 3 * xt.n_rows);
        assert!(
            fast.iter()
                .zip(&slow)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert!(fast.chunks(3).any(|r| r[2] > 0.5));
    }

    #[test]
    fn default_max_features_is_floor_sqrt_like_scikit_learn() {
        // 24 features: sqrt = 4.9; scikit-learn tries 4 (rounding gave 5).
        for (p, want) in [(1, 1), (3, 1), (4, 2), (24, 4), (40, 6), (122, 11), (0, 1)] {
            assert_eq!(
                ForestParams::random_forest(p).max_features,
                Some(want),
                "p = {p}"
            );
        }
    }

    #[test]
    fn single_tree_fits_training_data_exactly() {
        let (x, y) = xor_data(500, 3);
        let f = Forest::fit(&x, &y, 2, &ForestParams::single_tree()).unwrap();
        let pr = f.predict_proba(&x);
        let wrong = y
            .iter()
            .enumerate()
            .filter(|(i, c)| u32::from(pr[i * 2 + 1] > 0.5) != **c)
            .count();
        assert_eq!(wrong, 0);
        let mut bad = f.clone();
        bad.trees[0].nodes[0].left = 0;
        if bad.trees[0].nodes[0].feature >= 0 {
            assert!(bad.validate().is_err());
        }
    }
}
