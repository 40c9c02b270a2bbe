//! Gradient-boosted trees via forust-ml (log-loss; one booster per class,
//! one-vs-rest, for multi-class).
//!
//! Each fitted booster is stored as forust-ml's own JSON dump inside the
//! model file and reloaded with its `from_json`.

use forust_ml::gradientbooster::ImportanceMethod;
use forust_ml::objective::ObjectiveType;
use forust_ml::{GradientBooster, Matrix as FMatrix};
use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result, guard};
use crate::flat::{FlatTrees, Lazy, SrcNode};
use crate::matrix::Matrix;

/// Boosting hyper-parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GbtParams {
    /// Boosting rounds.
    pub iterations: usize,
    /// Learning rate.
    pub learning_rate: f32,
    /// Maximum tree depth.
    pub max_depth: usize,
    /// Random seed.
    pub seed: u64,
}

impl Default for GbtParams {
    fn default() -> Self {
        GbtParams {
            iterations: 100,
            learning_rate: 0.1,
            max_depth: 6,
            seed: 0,
        }
    }
}

/// Fitted boosters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gbt {
    /// Number of classes.
    pub n_classes: usize,
    /// Number of features.
    pub n_features: usize,
    /// forust-ml JSON of each booster: one (class 1 vs 0) for binary, one
    /// per class otherwise.
    pub boosters: Vec<String>,
    /// Total gain per feature, normalised to sum to 1.
    pub importances: Vec<f64>,
    /// Flattened boosters (trees, base score) for fast prediction, built on
    /// first use; a clone rebuilds them. Not stored in model files.
    #[serde(skip)]
    flat: Lazy<Option<Vec<(FlatTrees, f64)>>>,
}

/// Flattens one forust booster: per row, `base_score` plus the tree leaf
/// weights in tree order, exactly as forust's `predict` sums them. None when
/// a tree cannot be expressed (separate missing branch, non-NaN missing
/// value, non-finite split, malformed indices): the caller then uses
/// forust's own prediction.
fn flatten(b: &GradientBooster, n_features: usize) -> Option<(FlatTrees, f64)> {
    if !b.missing.is_nan() {
        return None;
    }
    let n_trees = b.prediction_iteration.unwrap_or(b.trees.len());
    let mut flat = FlatTrees::new(n_features, 1);
    for t in b.trees.get(..n_trees)? {
        let values: Vec<f32> = t.nodes.iter().map(|n| n.weight_value).collect();
        flat.push_tree(
            t.nodes.len(),
            |i| {
                let n = t.nodes.get(i)?;
                if n.is_leaf {
                    return Some(SrcNode::Leaf { value: i });
                }
                // forust goes left when x < split: for every f64 x that is
                // "not (x > the next float below split)", so `>` on
                // next_down gives the same side for all non-NaN inputs.
                let nan_right = if n.missing_node == n.right_child {
                    true
                } else if n.missing_node == n.left_child {
                    false
                } else {
                    return None;
                };
                if !n.split_value.is_finite() {
                    return None;
                }
                Some(SrcNode::Split {
                    feature: n.split_feature,
                    threshold: n.split_value.next_down(),
                    nan_right,
                    left: n.left_child,
                    right: n.right_child,
                })
            },
            &values,
        )?;
    }
    Some((flat, b.base_score))
}

fn booster(p: &GbtParams) -> GradientBooster {
    GradientBooster::default()
        .set_objective_type(ObjectiveType::LogLoss)
        .set_iterations(p.iterations)
        .set_learning_rate(p.learning_rate)
        .set_max_depth(p.max_depth)
        .set_seed(p.seed)
        .set_parallel(true)
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

impl Gbt {
    /// Fits on class ids `y < n_classes`.
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, params: &GbtParams) -> Result<Gbt> {
        if x.n_rows == 0 || x.n_rows != y.len() || n_classes < 2 {
            return Err(MlError::InvalidInput(
                "empty training set, length mismatch or < 2 classes".into(),
            ));
        }
        let fm = FMatrix::new(&x.data, x.n_rows, x.n_cols);
        let targets: Vec<u32> = if n_classes == 2 {
            vec![1]
        } else {
            (0..n_classes as u32).collect()
        };
        let w = vec![1.0; x.n_rows];
        let mut boosters = Vec::with_capacity(targets.len());
        let mut importances = vec![0.0; x.n_cols];
        for t in targets {
            let yt: Vec<f64> = y.iter().map(|&c| f64::from(u8::from(c == t))).collect();
            let b = guard("gradient boosting", || {
                let mut b = booster(params);
                b.fit(&fm, &yt, &w, None)
                    .map_err(|e| MlError::Model(e.to_string()))?;
                Ok(b)
            })?;
            for (f, v) in b.calculate_feature_importance(ImportanceMethod::TotalGain, false) {
                if let Some(slot) = importances.get_mut(f) {
                    *slot += f64::from(v);
                }
            }
            boosters.push(b.json_dump().map_err(|e| MlError::Model(e.to_string()))?);
        }
        let s: f64 = importances.iter().sum();
        if s > 0.0 {
            importances.iter_mut().for_each(|v| *v /= s);
        }
        Ok(Gbt {
            n_classes,
            n_features: x.n_cols,
            boosters,
            importances,
            flat: Lazy::default(),
        })
    }

    /// Parses the stored boosters (done once per prediction call).
    pub fn load(&self) -> Result<Vec<GradientBooster>> {
        let expected = if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        };
        if self.boosters.len() != expected {
            return Err(MlError::ModelFile("wrong number of boosters".into()));
        }
        self.boosters
            .iter()
            .map(|j| {
                guard("loading booster", || {
                    GradientBooster::from_json(j)
                        .map_err(|e| MlError::ModelFile(format!("booster: {e}")))
                })
            })
            .collect()
    }

    /// Class probabilities, row-major `n_rows × n_classes`.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Vec<f64>> {
        let flat = self.flat.get_or_init(|| {
            let boosters = self.load().ok()?;
            boosters
                .iter()
                .map(|b| flatten(b, self.n_features))
                .collect()
        });
        match flat {
            Some(f) if x.n_cols == self.n_features => {
                let margins: Vec<Vec<f64>> =
                    f.iter().map(|(t, base)| t.predict_sum(x, *base)).collect();
                Ok(self.probabilities(&margins, x.n_rows))
            }
            _ => {
                let boosters = self.load()?;
                self.predict_with(&boosters, x)
            }
        }
    }

    /// Class probabilities with already parsed boosters.
    pub fn predict_with(&self, boosters: &[GradientBooster], x: &Matrix) -> Result<Vec<f64>> {
        let flat: Option<Vec<(FlatTrees, f64)>> = if x.n_cols == self.n_features {
            boosters
                .iter()
                .map(|b| flatten(b, self.n_features))
                .collect()
        } else {
            None
        };
        let margins = match flat {
            Some(f) => f.iter().map(|(t, base)| t.predict_sum(x, *base)).collect(),
            None => Self::margins_forust(boosters, x)?,
        };
        Ok(self.probabilities(&margins, x.n_rows))
    }

    /// Class probabilities through forust-ml's own `predict` (parsing the
    /// boosters on every call, as before the flattened path): the
    /// reference for tests and benchmarks. Same output, slower.
    pub fn predict_proba_forust(&self, x: &Matrix) -> Result<Vec<f64>> {
        let boosters = self.load()?;
        Ok(self.probabilities(&Self::margins_forust(&boosters, x)?, x.n_rows))
    }

    /// forust-ml's own prediction: the reference for the flattened path and
    /// the fallback when a booster cannot be flattened.
    fn margins_forust(boosters: &[GradientBooster], x: &Matrix) -> Result<Vec<Vec<f64>>> {
        let fm = FMatrix::new(&x.data, x.n_rows, x.n_cols);
        boosters
            .iter()
            .map(|b| guard("boosted prediction", || Ok(b.predict(&fm, true))))
            .collect()
    }

    /// Probabilities from per-booster margins.
    fn probabilities(&self, margins: &[Vec<f64>], n_rows: usize) -> Vec<f64> {
        let k = self.n_classes;
        let mut out = vec![0.0; n_rows * k];
        for (r, row) in out.chunks_mut(k.max(1)).enumerate() {
            if k == 2 {
                let p = margins
                    .first()
                    .and_then(|m| m.get(r))
                    .map_or(0.5, |z| sigmoid(*z));
                if let [a, b] = row {
                    *a = 1.0 - p;
                    *b = p;
                }
            } else {
                let mut s = 0.0;
                for (slot, m) in row.iter_mut().zip(margins) {
                    let p = m.get(r).map_or(0.0, |z| sigmoid(*z));
                    *slot = p;
                    s += p;
                }
                if s > 0.0 {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_prediction_is_bit_identical_to_forust() {
        let (x, y, xt) = crate::flat::testdata::nsl_kdd(4000, 3000);
        let g = Gbt::fit(
            &x,
            &y,
            2,
            &GbtParams {
                iterations: 20,
                ..GbtParams::default()
            },
        )
        .unwrap();
        let boosters = g.load().unwrap();
        let reference = Gbt::margins_forust(&boosters, &xt).unwrap();
        let flat = flatten(&boosters[0], g.n_features).unwrap();
        let fast = flat.0.predict_sum(&xt, flat.1);
        assert!(
            fast.iter()
                .zip(&reference[0])
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
        assert_eq!(
            g.predict_proba(&xt).unwrap(),
            g.probabilities(&reference, xt.n_rows)
        );
    }

    /// The flattened boosters against forust-ml's own prediction on rows
    /// at the edges of its split rule (values exactly at split values, one
    /// ulp either side, ±0.0, NaN, ±inf); trained with NaN cells so that
    /// some splits send missing values right.
    #[test]
    fn flattened_prediction_matches_forust_at_split_values_and_non_finite() {
        let (mut x, y, _) = crate::flat::testdata::nsl_kdd(3000, 0);
        for (i, v) in x.data.iter_mut().enumerate() {
            if i % 7 == 0 {
                *v = f64::NAN;
            }
        }
        let g = Gbt::fit(
            &x,
            &y,
            2,
            &GbtParams {
                iterations: 15,
                ..GbtParams::default()
            },
        )
        .unwrap();
        let boosters = g.load().unwrap();
        let mut by_feature: Vec<Vec<f64>> = vec![Vec::new(); g.n_features];
        let mut nan_right = 0;
        for n in boosters[0].trees.iter().flat_map(|t| &t.nodes) {
            if !n.is_leaf {
                by_feature[n.split_feature].push(n.split_value);
                nan_right += usize::from(n.missing_node == n.right_child);
            }
        }
        assert!(nan_right > 0, "no split sends NaN right: test too weak");
        let xt = crate::flat::testdata::edge_rows(&by_feature, 1000, 12);
        let reference = Gbt::margins_forust(&boosters, &xt).unwrap();
        let flat = flatten(&boosters[0], g.n_features).unwrap();
        let fast = flat.0.predict_sum(&xt, flat.1);
        assert_eq!(fast.len(), reference[0].len());
        assert!(
            fast.iter()
                .zip(&reference[0])
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn boosting_learns_threshold_and_roundtrips_json() {
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|i| vec![i as f64, ((i * 37) % 11) as f64])
            .collect();
        let y: Vec<u32> = (0..400).map(|i| u32::from(i >= 200)).collect();
        let x = Matrix::from_rows(&rows);
        let g = Gbt::fit(&x, &y, 2, &GbtParams::default()).unwrap();
        let p = g.predict_proba(&x).unwrap();
        let acc = (0..400)
            .filter(|&r| u32::from(p[r * 2 + 1] > 0.5) == y[r])
            .count();
        assert_eq!(acc, 400);
        assert!(g.importances[0] > 0.9);
        let mut bad = g.clone();
        bad.boosters[0].truncate(10);
        assert!(bad.predict_proba(&x).is_err());
    }
}
