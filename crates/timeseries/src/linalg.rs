//! Ridge-regularised least squares solved by Householder QR (nalgebra).
//!
//! Why QR and not normal equations: lagged traffic values are strongly
//! collinear; forming XᵀX squares the condition number. Columns are
//! standardised first, and a tiny ridge (rows √λ·I appended to X) keeps R
//! non-singular when a feature is constant or duplicated.

use nalgebra::{DMatrix, DVector};

use crate::error::{Error, Result};

/// Fitted linear model: `y ≈ intercept + Σ coef_j · x_j` in original units.
#[derive(Debug, Clone)]
pub struct LinearFit {
    /// Intercept.
    pub intercept: f64,
    /// One coefficient per feature column.
    pub coef: Vec<f64>,
}

impl LinearFit {
    /// Prediction for one feature row.
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.intercept + self.coef.iter().zip(x).map(|(c, v)| c * v).sum::<f64>()
    }
}

/// Fits `y` on the rows of `x` (row-major, `p` features each, no intercept
/// column: it is added) with ridge `lambda` on standardised features.
pub fn ridge_qr(x: &[Vec<f64>], y: &[f64], lambda: f64) -> Result<LinearFit> {
    let n = y.len();
    let p = x.first().map_or(0, |r| r.len());
    if n != x.len() || n < p + 2 {
        return Err(Error::TooShort {
            what: "least squares".into(),
            needed: p + 2,
            got: n.min(x.len()),
        });
    }
    // Standardise features and target.
    let mut mean = vec![0.0; p];
    let mut sd = vec![0.0; p];
    for row in x {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    for row in x {
        for ((s, v), m) in sd.iter_mut().zip(row).zip(&mean) {
            *s += (v - m) * (v - m);
        }
    }
    sd.iter_mut().for_each(|s| {
        *s = (*s / n as f64).sqrt();
        if s.is_nan() || *s <= 1e-12 {
            *s = 1.0;
        }
    });
    let ym = y.iter().sum::<f64>() / n as f64;
    let ysd = {
        let v = y.iter().map(|v| (v - ym) * (v - ym)).sum::<f64>() / n as f64;
        if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 }
    };
    let rows = n + p;
    let sqrt_l = lambda.max(0.0).sqrt();
    let a = DMatrix::from_fn(rows, p, |i, j| {
        if i < n {
            x.get(i).and_then(|r| r.get(j)).map_or(0.0, |v| {
                (v - mean.get(j).copied().unwrap_or(0.0)) / sd.get(j).copied().unwrap_or(1.0)
            })
        } else if i - n == j {
            sqrt_l
        } else {
            0.0
        }
    });
    let b = DVector::from_fn(rows, |i, _| {
        if i < n {
            (y.get(i).copied().unwrap_or(0.0) - ym) / ysd
        } else {
            0.0
        }
    });
    if p == 0 {
        return Ok(LinearFit {
            intercept: ym,
            coef: Vec::new(),
        });
    }
    let qr = a.qr();
    let mut qtb = b;
    qr.q_tr_mul(&mut qtb); // applies Qᵀ without forming Q
    let r = qr.r();
    let qtb = qtb.rows(0, p).into_owned();
    let beta = r
        .solve_upper_triangular(&qtb)
        .ok_or_else(|| Error::Numerical("singular least-squares system".into()))?;
    let mut coef = Vec::with_capacity(p);
    let mut intercept = ym;
    for j in 0..p {
        let c = beta.get(j).copied().unwrap_or(0.0) * ysd / sd.get(j).copied().unwrap_or(1.0);
        intercept -= c * mean.get(j).copied().unwrap_or(0.0);
        coef.push(c);
    }
    if !intercept.is_finite() || coef.iter().any(|c| !c.is_finite()) {
        return Err(Error::Numerical(
            "non-finite regression coefficients".into(),
        ));
    }
    Ok(LinearFit { intercept, coef })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_exact_coefficients() {
        let x: Vec<Vec<f64>> = (0..50)
            .map(|i| vec![i as f64, ((i * 7) % 11) as f64, 1e9 + (i % 3) as f64])
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| 3.0 + 2.0 * r[0] - 0.5 * r[1] + 4.0 * (r[2] - 1e9))
            .collect();
        let f = ridge_qr(&x, &y, 0.0).expect("fit");
        assert!((f.coef[0] - 2.0).abs() < 1e-6, "{:?}", f.coef);
        assert!((f.coef[1] + 0.5).abs() < 1e-6);
        assert!((f.coef[2] - 4.0).abs() < 1e-4);
        assert!((f.predict(&x[7]) - y[7]).abs() < 1e-3);
    }

    #[test]
    fn duplicate_and_constant_columns_do_not_fail() {
        let x: Vec<Vec<f64>> = (0..30).map(|i| vec![i as f64, i as f64, 5.0]).collect();
        let y: Vec<f64> = (0..30).map(|i| 1.0 + i as f64).collect();
        let f = ridge_qr(&x, &y, 1e-6).expect("fit");
        assert!((f.predict(&[10.0, 10.0, 5.0]) - 11.0).abs() < 1e-3);
        assert!(ridge_qr(&x[..3], &y[..3], 0.0).is_err());
    }
}
