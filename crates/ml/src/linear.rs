//! Linear models (OLS, ridge, logistic) and k-means, fitted with smartcore.
//!
//! Only the fitted parameters are kept (coefficients, intercepts,
//! centroids), in plain structs: prediction is a dot product done here, and
//! model files never depend on smartcore's internal serialisation.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;

use crate::error::{MlError, Result, guard};
use crate::matrix::Matrix;

fn dense(x: &Matrix) -> Result<DenseMatrix<f64>> {
    DenseMatrix::new(x.n_rows, x.n_cols, x.data.clone(), true)
        .map_err(|e| MlError::Model(e.to_string()))
}

/// A fitted linear regression `y = intercept + coef · x`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearRegression {
    /// One coefficient per feature.
    pub coef: Vec<f64>,
    /// Intercept.
    pub intercept: f64,
    /// Ridge penalty (0 = ordinary least squares).
    pub alpha: f64,
}

impl LinearRegression {
    /// Ordinary least squares with intercept, solved by Householder QR on
    /// the design matrix (not the normal equations, to keep precision).
    pub fn fit_ols(x: &Matrix, y: &[f64]) -> Result<LinearRegression> {
        use smartcore::linear::linear_regression::{
            LinearRegression as Sm, LinearRegressionParameters, LinearRegressionSolverName,
        };
        check_xy(x, y.len())?;
        let m = dense(x)?;
        let y = y.to_vec();
        let model = guard("least squares", || {
            Sm::fit(
                &m,
                &y,
                LinearRegressionParameters::default().with_solver(LinearRegressionSolverName::QR),
            )
            .map_err(|e| MlError::Model(e.to_string()))
        })?;
        use smartcore::linalg::basic::arrays::Array;
        let c = model.coefficients();
        let coef: Vec<f64> = (0..x.n_cols).map(|i| *c.get((i, 0))).collect();
        let intercept = *model.intercept();
        finite_or_singular(LinearRegression {
            coef,
            intercept,
            alpha: 0.0,
        })
    }

    /// Ridge regression with an unpenalised intercept (as scikit-learn's
    /// `Ridge`): minimises ‖y − b − Xw‖² + α‖w‖². x and y are centred and
    /// each column scaled to unit norm internally (coefficients are mapped
    /// back), and the penalised least-squares problem is solved by
    /// Householder QR of the stacked matrix [X; √α·I] rather than by the
    /// normal equations, so columns of very different magnitude (epoch
    /// milliseconds ≈ 1e12 beside byte counts) do not break the solve.
    pub fn fit_ridge(x: &Matrix, y: &[f64], alpha: f64) -> Result<LinearRegression> {
        check_xy(x, y.len())?;
        if !(alpha >= 0.0 && alpha.is_finite()) {
            return Err(MlError::InvalidParameter("ridge alpha must be ≥ 0".into()));
        }
        let (n, p) = (x.n_rows, x.n_cols);
        let nf = n as f64;
        let means: Vec<f64> = (0..p).map(|c| x.col(c).iter().sum::<f64>() / nf).collect();
        let ymean = y.iter().sum::<f64>() / nf;
        // Stacked column-major matrix (n + p rows): centred, unit-norm
        // columns over √α / s_j on the diagonal (the penalty in the scaled
        // coordinates v_j = s_j w_j).
        let m = n + p;
        let mut scale = vec![1.0; p];
        let mut a: Vec<f64> = vec![0.0; m * p];
        for c in 0..p {
            let col = &mut a[c * m..(c + 1) * m];
            for (dst, v) in col.iter_mut().zip(x.col(c)) {
                *dst = v - means[c];
            }
            let norm = col[..n].iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 && norm.is_finite() {
                scale[c] = norm;
                col[..n].iter_mut().for_each(|v| *v /= norm);
            }
            col[n + c] = alpha.sqrt() / scale[c];
        }
        let mut b: Vec<f64> = y.iter().map(|v| v - ymean).collect();
        b.resize(m, 0.0);
        let v = lstsq_qr(&mut a, m, p, &mut b).ok_or_else(|| {
            MlError::Model(
                "ridge system is singular (collinear or constant features with alpha 0)".into(),
            )
        })?;
        let coef: Vec<f64> = v.iter().zip(&scale).map(|(v, s)| v / s).collect();
        let intercept = ymean - coef.iter().zip(&means).map(|(w, m)| w * m).sum::<f64>();
        finite_or_singular(LinearRegression {
            coef,
            intercept,
            alpha,
        })
    }

    /// Predictions, one per row.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let mut out = vec![self.intercept; x.n_rows];
        for (c, w) in self.coef.iter().enumerate() {
            for (o, v) in out.iter_mut().zip(x.col(c)) {
                *o += w * v;
            }
        }
        out
    }
}

/// Least squares min ‖Av − b‖ for a column-major m × p matrix (m ≥ p) by
/// Householder QR; `a` and `b` are overwritten. None when R has a
/// (numerically) zero diagonal entry, i.e. A lacks full column rank.
fn lstsq_qr(a: &mut [f64], m: usize, p: usize, b: &mut [f64]) -> Option<Vec<f64>> {
    let mut rdiag = vec![0.0; p];
    for j in 0..p {
        let (done, rest) = a.split_at_mut((j + 1) * m);
        let col = &mut done[j * m..];
        let norm = col[j..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return None;
        }
        let alpha = if col[j] > 0.0 { -norm } else { norm };
        // v = x − αe₁ stored in col[j..]; H = I − 2vvᵀ/(vᵀv).
        col[j] -= alpha;
        let vtv = col[j..].iter().map(|v| v * v).sum::<f64>();
        rdiag[j] = alpha;
        if vtv == 0.0 {
            continue;
        }
        let v = &col[j..];
        rest.par_chunks_mut(m).for_each(|c| {
            let d = v.iter().zip(&c[j..]).map(|(a, b)| a * b).sum::<f64>() * 2.0 / vtv;
            c[j..].iter_mut().zip(v).for_each(|(x, vi)| *x -= d * vi);
        });
        let d = v.iter().zip(&b[j..]).map(|(a, b)| a * b).sum::<f64>() * 2.0 / vtv;
        b[j..].iter_mut().zip(v).for_each(|(x, vi)| *x -= d * vi);
    }
    let big = rdiag.iter().fold(0.0f64, |acc, r| acc.max(r.abs()));
    let tol = big * f64::EPSILON * m as f64;
    let mut w = vec![0.0; p];
    for j in (0..p).rev() {
        if rdiag[j].abs() <= tol {
            return None;
        }
        let mut s = b[j];
        for (k, wk) in w.iter().enumerate().skip(j + 1) {
            s -= a[k * m + j] * wk;
        }
        w[j] = s / rdiag[j];
    }
    Some(w)
}

fn finite_or_singular(m: LinearRegression) -> Result<LinearRegression> {
    if m.coef.iter().all(|c| c.is_finite()) && m.intercept.is_finite() {
        Ok(m)
    } else {
        Err(MlError::Model(
            "least-squares system is singular (collinear features); try ridge".into(),
        ))
    }
}

fn check_xy(x: &Matrix, n: usize) -> Result<()> {
    if x.n_rows == 0 || x.n_rows != n {
        return Err(MlError::InvalidInput(
            "empty training set or target length mismatch".into(),
        ));
    }
    if x.data.iter().any(|v| !v.is_finite()) {
        return Err(MlError::InvalidInput(
            "non-finite feature values reached the model".into(),
        ));
    }
    Ok(())
}

/// Fitted (multinomial) logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Number of classes of the task.
    pub n_classes: usize,
    /// Class ids the model saw (subset of `0..n_classes`, sorted).
    pub classes: Vec<u32>,
    /// Row-major weights: one row of `n_features` per entry of `classes`
    /// (a single row for the binary case: the logit of `classes[1]`).
    pub weights: Vec<f64>,
    /// Intercepts, one per weight row.
    pub intercepts: Vec<f64>,
    /// Number of features.
    pub n_features: usize,
}

impl LogisticRegression {
    /// Fits by L-BFGS with L2 penalty `alpha` (≈ 1/C of scikit-learn).
    pub fn fit(x: &Matrix, y: &[u32], n_classes: usize, alpha: f64) -> Result<LogisticRegression> {
        use smartcore::linalg::basic::arrays::Array;
        use smartcore::linear::logistic_regression::{
            LogisticRegression as Sm, LogisticRegressionParameters,
        };
        check_xy(x, y.len())?;
        let m = dense(x)?;
        let yv: Vec<u32> = y.to_vec();
        let model = guard("logistic regression", || {
            Sm::fit(
                &m,
                &yv,
                LogisticRegressionParameters::default().with_alpha(alpha),
            )
            .map_err(|e| MlError::Model(e.to_string()))
        })?;
        let classes = model.classes().clone();
        let coef = model.coefficients();
        let (rows, cols) = coef.shape();
        let mut weights = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                weights.push(*coef.get((r, c)));
            }
        }
        let ic = model.intercept();
        let intercepts = (0..rows).map(|r| *ic.get((r, 0))).collect();
        let out = LogisticRegression {
            n_classes,
            classes,
            weights,
            intercepts,
            n_features: x.n_cols,
        };
        out.validate()?;
        Ok(out)
    }

    /// Class probabilities, row-major `n_rows × n_classes`.
    pub fn predict_proba(&self, x: &Matrix) -> Vec<f64> {
        let k = self.n_classes;
        let p = self.n_features;
        let rows = self.intercepts.len();
        let mut out = vec![0.0; x.n_rows * k];
        out.par_chunks_mut(k).enumerate().for_each(|(r, o)| {
            let z: Vec<f64> = (0..rows)
                .map(|j| {
                    let w = self.weights.get(j * p..(j + 1) * p).unwrap_or(&[]);
                    self.intercepts[j]
                        + w.iter()
                            .enumerate()
                            .map(|(c, wc)| wc * x.get(r, c))
                            .sum::<f64>()
                })
                .collect();
            if rows == 1 {
                let p1 = 1.0 / (1.0 + (-z[0]).exp());
                if let (Some(&c0), Some(&c1)) = (self.classes.first(), self.classes.get(1)) {
                    o[c0 as usize] = 1.0 - p1;
                    o[c1 as usize] = p1;
                }
            } else {
                let mx = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e: Vec<f64> = z.iter().map(|v| (v - mx).exp()).collect();
                let s: f64 = e.iter().sum();
                for (cls, ev) in self.classes.iter().zip(e) {
                    o[*cls as usize] = ev / s;
                }
            }
        });
        out
    }

    /// Checks shapes (after fitting or loading).
    pub fn validate(&self) -> Result<()> {
        let rows = self.intercepts.len();
        let ok = self.classes.len() >= 2
            && self.classes.iter().all(|&c| (c as usize) < self.n_classes)
            && (rows == 1 && self.classes.len() == 2 || rows == self.classes.len())
            && self.weights.len() == rows * self.n_features;
        if ok {
            Ok(())
        } else {
            Err(MlError::ModelFile(
                "logistic regression shapes are inconsistent".into(),
            ))
        }
    }
}

/// Fitted k-means: centroids only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KMeans {
    /// Row-major `k × n_features` centroids.
    pub centroids: Vec<f64>,
    /// Number of features.
    pub n_features: usize,
    /// Number of clusters.
    pub k: usize,
}

impl KMeans {
    /// Lloyd's k-means (smartcore, k-means++ start); the stored centroids
    /// are the means of the final assignment.
    pub fn fit(x: &Matrix, k: usize, max_iter: usize, seed: u64) -> Result<KMeans> {
        use smartcore::cluster::kmeans::{KMeans as Sm, KMeansParameters};
        check_xy(x, x.n_rows)?;
        if k == 0 || k > x.n_rows {
            return Err(MlError::InvalidParameter(format!(
                "k = {k} must be in 1..=rows"
            )));
        }
        let m = dense(x)?;
        let mut params = KMeansParameters::default()
            .with_k(k)
            .with_max_iter(max_iter.max(1));
        params.seed = Some(seed);
        let assign: Vec<usize> = guard("k-means", || {
            let model: Sm<f64, usize, DenseMatrix<f64>, Vec<usize>> =
                Sm::fit(&m, params).map_err(|e| MlError::Model(e.to_string()))?;
            model.predict(&m).map_err(|e| MlError::Model(e.to_string()))
        })?;
        let p = x.n_cols;
        let mut sums = vec![0.0; k * p];
        let mut counts = vec![0usize; k];
        for (r, &a) in assign.iter().enumerate() {
            if a >= k {
                return Err(MlError::Model(
                    "k-means returned an out-of-range cluster".into(),
                ));
            }
            counts[a] += 1;
            for c in 0..p {
                sums[a * p + c] += x.get(r, c);
            }
        }
        for (j, &n) in counts.iter().enumerate() {
            for c in 0..p {
                sums[j * p + c] /= n.max(1) as f64;
            }
        }
        Ok(KMeans {
            centroids: sums,
            n_features: p,
            k,
        })
    }

    /// (nearest cluster, distance to it) per row.
    pub fn assign(&self, x: &Matrix) -> Vec<(u32, f64)> {
        let p = self.n_features;
        (0..x.n_rows)
            .into_par_iter()
            .map(|r| {
                let mut best = (0u32, f64::INFINITY);
                for j in 0..self.k {
                    let c = self.centroids.get(j * p..(j + 1) * p).unwrap_or(&[]);
                    let d: f64 = c
                        .iter()
                        .enumerate()
                        .map(|(i, m)| (x.get(r, i) - m).powi(2))
                        .sum();
                    if d < best.1 {
                        best = (j as u32, d);
                    }
                }
                (best.0, best.1.sqrt())
            })
            .collect()
    }

    /// Checks shapes after loading.
    pub fn validate(&self) -> Result<()> {
        if self.k == 0 || self.centroids.len() != self.k * self.n_features {
            return Err(MlError::ModelFile(
                "k-means centroids have the wrong shape".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Solves the normal equations (XᵀX)b = Xᵀy with an intercept column by
    /// Gaussian elimination with partial pivoting: an independent
    /// closed-form reference for the QR solver.
    #[allow(clippy::needless_range_loop)]
    fn closed_form(rows: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
        let p = rows[0].len() + 1;
        let mut a = vec![vec![0.0; p + 1]; p];
        for (r, yi) in rows.iter().zip(y) {
            let mut z = r.clone();
            z.push(1.0);
            for i in 0..p {
                for j in 0..p {
                    a[i][j] += z[i] * z[j];
                }
                a[i][p] += z[i] * yi;
            }
        }
        for i in 0..p {
            let piv = (i..p)
                .max_by(|&u, &v| a[u][i].abs().total_cmp(&a[v][i].abs()))
                .unwrap();
            a.swap(i, piv);
            for r in 0..p {
                if r != i {
                    let f = a[r][i] / a[i][i];
                    for c in i..=p {
                        a[r][c] -= f * a[i][c];
                    }
                }
            }
        }
        (0..p).map(|i| a[i][p] / a[i][i]).collect()
    }

    #[test]
    fn ols_matches_closed_form_to_1e8() {
        let mut rng = StdRng::seed_from_u64(42);
        let rows: Vec<Vec<f64>> = (0..500)
            .map(|_| {
                (0..5)
                    .map(|j| rng.random_range(-10.0..10.0) * (j + 1) as f64)
                    .collect()
            })
            .collect();
        let truth = [1.5, -2.0, 0.25, 3.0, -0.5];
        let y: Vec<f64> = rows
            .iter()
            .map(|r| {
                7.0 + r.iter().zip(truth).map(|(a, b)| a * b).sum::<f64>()
                    + rng.random_range(-1.0..1.0)
            })
            .collect();
        let m = LinearRegression::fit_ols(&Matrix::from_rows(&rows), &y).unwrap();
        let cf = closed_form(&rows, &y);
        for (a, b) in m.coef.iter().chain([&m.intercept]).zip(&cf) {
            assert!(((a - b) / b).abs() < 1e-8, "{a} vs {b}");
        }
    }

    #[test]
    fn ridge_zero_alpha_equals_ols_and_shrinks_with_alpha() {
        let mut rng = StdRng::seed_from_u64(1);
        let rows: Vec<Vec<f64>> = (0..200)
            .map(|_| vec![rng.random_range(0.0..1.0), rng.random_range(0.0..1.0)])
            .collect();
        let y: Vec<f64> = rows
            .iter()
            .map(|r| 3.0 + 2.0 * r[0] - r[1] + rng.random_range(-0.1..0.1))
            .collect();
        let x = Matrix::from_rows(&rows);
        let ols = LinearRegression::fit_ols(&x, &y).unwrap();
        let r0 = LinearRegression::fit_ridge(&x, &y, 0.0).unwrap();
        for (a, b) in ols.coef.iter().zip(&r0.coef) {
            assert!((a - b).abs() < 1e-8);
        }
        let r = LinearRegression::fit_ridge(&x, &y, 100.0).unwrap();
        assert!(r.coef[0].abs() < ols.coef[0].abs());
    }

    #[test]
    fn ridge_matches_the_closed_form_and_survives_epoch_columns() {
        // One feature: w = Σxc·yc / (Σxc² + α) exactly.
        let x1: Vec<f64> = (0..50).map(|i| (i % 7) as f64).collect();
        let y1: Vec<f64> = x1
            .iter()
            .enumerate()
            .map(|(i, v)| 2.0 * v + (i % 3) as f64)
            .collect();
        let (mx, my) = (x1.iter().sum::<f64>() / 50.0, y1.iter().sum::<f64>() / 50.0);
        let sxy: f64 = x1.iter().zip(&y1).map(|(a, b)| (a - mx) * (b - my)).sum();
        let sxx: f64 = x1.iter().map(|a| (a - mx) * (a - mx)).sum();
        let rows: Vec<Vec<f64>> = x1.iter().map(|v| vec![*v]).collect();
        let r = LinearRegression::fit_ridge(&Matrix::from_rows(&rows), &y1, 5.0).unwrap();
        assert!(
            (r.coef[0] - sxy / (sxx + 5.0)).abs() < 1e-12,
            "{}",
            r.coef[0]
        );
        // Flow-table shape: epoch milliseconds (~1.4e12), the same instant in
        // microseconds (an exact multiple), and an ordinary feature. The
        // normal equations lose α against 1e24-sized entries (Cholesky
        // reported "not positive definite"); the QR solve fits.
        let mut rng = StdRng::seed_from_u64(7);
        let rows: Vec<Vec<f64>> = (0..400)
            .map(|i| {
                let ms = 1.4e12 + i as f64 * 1000.0 + rng.random_range(0.0..500.0);
                vec![ms, ms * 1000.0, rng.random_range(0.0..100.0)]
            })
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| 5.0 * r[2] + 10.0).collect();
        let x = Matrix::from_rows(&rows);
        for alpha in [1.0, 100.0] {
            let m = LinearRegression::fit_ridge(&x, &y, alpha).unwrap();
            let pred = m.predict(&x);
            let ybar = y.iter().sum::<f64>() / y.len() as f64;
            let ss_res: f64 = y.iter().zip(&pred).map(|(a, b)| (a - b).powi(2)).sum();
            let ss_tot: f64 = y.iter().map(|a| (a - ybar).powi(2)).sum();
            assert!(
                1.0 - ss_res / ss_tot > 0.999,
                "alpha {alpha}: R² {}",
                1.0 - ss_res / ss_tot
            );
            assert!((m.coef[2] - 5.0).abs() < 0.01, "{:?}", m.coef);
        }
    }

    #[test]
    fn logistic_separates_and_kmeans_finds_clusters() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..600 {
            let c = (i % 3) as u32;
            let cx = [0.0, 4.0, -4.0][c as usize];
            rows.push(vec![
                cx + rng.random_range(-1.0..1.0),
                rng.random_range(-1.0..1.0),
            ]);
            y.push(c);
        }
        let x = Matrix::from_rows(&rows);
        let lr = LogisticRegression::fit(&x, &y, 3, 1.0).unwrap();
        let p = lr.predict_proba(&x);
        let acc = (0..600)
            .filter(|&r| {
                let row = &p[r * 3..r * 3 + 3];
                let best = (0..3).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
                best as u32 == y[r]
            })
            .count();
        assert!(acc > 590, "{acc}");
        let km = KMeans::fit(&x, 3, 50, 7).unwrap();
        let mut xs: Vec<f64> = (0..3).map(|j| km.centroids[j * 2]).collect();
        xs.sort_by(f64::total_cmp);
        assert!(
            (xs[0] + 4.0).abs() < 0.3 && xs[1].abs() < 0.3 && (xs[2] - 4.0).abs() < 0.3,
            "{xs:?}"
        );
    }
}
