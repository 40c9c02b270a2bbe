//! A dense column-major `f64` matrix: the feature table handed to models.
//!
//! Invariant: `data.len() == n_rows * n_cols`; column `c` is
//! `data[c * n_rows .. (c + 1) * n_rows]`. Column-major suits both the
//! histogram binning of tree models and forust-ml's `Matrix`.

/// Dense column-major matrix.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    /// Number of rows (samples).
    pub n_rows: usize,
    /// Number of columns (features).
    pub n_cols: usize,
    /// Column-major values.
    pub data: Vec<f64>,
}

impl Matrix {
    /// Builds a matrix from columns of equal length (shorter ones are NaN-padded).
    pub fn from_columns(cols: Vec<Vec<f64>>, n_rows: usize) -> Matrix {
        let n_cols = cols.len();
        let mut data = Vec::with_capacity(n_rows.saturating_mul(n_cols));
        for mut c in cols {
            c.resize(n_rows, f64::NAN);
            data.extend(c);
        }
        Matrix {
            n_rows,
            n_cols,
            data,
        }
    }

    /// Builds from row-major rows (test helper and small inputs).
    pub fn from_rows(rows: &[Vec<f64>]) -> Matrix {
        let n_rows = rows.len();
        let n_cols = rows.first().map_or(0, |r| r.len());
        let cols = (0..n_cols)
            .map(|c| {
                rows.iter()
                    .map(|r| r.get(c).copied().unwrap_or(f64::NAN))
                    .collect()
            })
            .collect();
        Matrix::from_columns(cols, n_rows)
    }

    /// Column `c` (empty when out of range).
    pub fn col(&self, c: usize) -> &[f64] {
        let s = c.saturating_mul(self.n_rows);
        self.data.get(s..s + self.n_rows).unwrap_or(&[])
    }

    /// Value at row `r`, column `c` (NaN when out of range).
    #[inline]
    pub fn get(&self, r: usize, c: usize) -> f64 {
        self.data
            .get(c * self.n_rows + r)
            .copied()
            .unwrap_or(f64::NAN)
    }

    /// Row `r` copied into `out` (resized to `n_cols`).
    pub fn row_into(&self, r: usize, out: &mut Vec<f64>) {
        out.clear();
        out.extend((0..self.n_cols).map(|c| self.get(r, c)));
    }

    /// The rows at `idx`, in that order.
    pub fn take_rows(&self, idx: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(idx.len() * self.n_cols);
        for c in 0..self.n_cols {
            let col = self.col(c);
            data.extend(idx.iter().map(|&i| col.get(i).copied().unwrap_or(f64::NAN)));
        }
        Matrix {
            n_rows: idx.len(),
            n_cols: self.n_cols,
            data,
        }
    }

    /// Row-major copy of the values (for libraries that want rows).
    pub fn to_row_major(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.data.len());
        for r in 0..self.n_rows {
            out.extend((0..self.n_cols).map(|c| self.get(r, c)));
        }
        out
    }
}
