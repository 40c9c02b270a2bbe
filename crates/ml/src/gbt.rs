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
        let boosters = self.load()?;
        self.predict_with(&boosters, x)
    }

    /// Class probabilities with already parsed boosters.
    pub fn predict_with(&self, boosters: &[GradientBooster], x: &Matrix) -> Result<Vec<f64>> {
        let k = self.n_classes;
        let fm = FMatrix::new(&x.data, x.n_rows, x.n_cols);
        let margins: Vec<Vec<f64>> = boosters
            .iter()
            .map(|b| guard("boosted prediction", || Ok(b.predict(&fm, true))))
            .collect::<Result<_>>()?;
        let mut out = vec![0.0; x.n_rows * k];
        for r in 0..x.n_rows {
            let row = &mut out[r * k..(r + 1) * k];
            if k == 2 {
                let p = margins
                    .first()
                    .and_then(|m| m.get(r))
                    .map_or(0.5, |z| sigmoid(*z));
                row[0] = 1.0 - p;
                row[1] = p;
            } else {
                let mut s = 0.0;
                for (c, m) in margins.iter().enumerate() {
                    let p = m.get(r).map_or(0.0, |z| sigmoid(*z));
                    row[c] = p;
                    s += p;
                }
                if s > 0.0 {
                    row.iter_mut().for_each(|v| *v /= s);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
