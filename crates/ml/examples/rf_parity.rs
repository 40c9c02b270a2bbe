//! Random-forest accuracy diagnostics on a numeric train/test pair (the
//! synthetic table of `bench/ml/gen_synth.py`): forest accuracy, mean
//! accuracy of a single tree and mean leaf count, to compare with
//! scikit-learn's `RandomForestClassifier` (`bench/ml/sk_rf_parity.py`
//! prints the same three figures). Fits `Forest` directly on all columns
//! but `label`, so both sides see the same feature matrix.
//!
//! `[RF_DEDUP=1] rf_parity TRAIN.csv TEST.csv TREES DEPTH|none [MIN_SAMPLES_LEAF]`

use std::path::Path;
use std::time::Instant;

use netlens_ml::forest::{Forest, ForestParams};
use netlens_ml::matrix::Matrix;
use netlens_ml::table::{ColumnData, CsvOptions, Table};

/// Features (all columns but `label`) and the 0/1 label of a CSV file.
fn load(path: &str) -> Result<(Matrix, Vec<u32>), Box<dyn std::error::Error>> {
    let t = Table::from_csv_path(Path::new(path), &CsvOptions::default())?;
    let mut cols = Vec::new();
    let mut y = Vec::new();
    for c in &t.columns {
        let ColumnData::Num(v) = &c.data else {
            return Err(format!("column {} is not numeric", c.name).into());
        };
        if c.name == "label" {
            y = v.iter().map(|&v| u32::from(v > 0.5)).collect();
        } else {
            cols.push(v.clone());
        }
    }
    Ok((Matrix::from_columns(cols, t.n_rows), y))
}

fn accuracy(f: &Forest, x: &Matrix, y: &[u32]) -> f64 {
    let p = f.predict_proba(x);
    let right = y
        .iter()
        .zip(p.chunks(2))
        .filter(|(c, r)| u32::from(r[1] > r[0]) == **c)
        .count();
    right as f64 / y.len().max(1) as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 5 {
        return Err("usage: rf_parity TRAIN TEST TREES DEPTH|none [MIN_SAMPLES_LEAF]".into());
    }
    let (mut x, y) = load(&a[1])?;
    let (mut xt, yt) = load(&a[2])?;
    // RF_DEDUP=1: drop columns identical to an earlier one on the training
    // rows, as `netlens train`'s default preprocessing does.
    if std::env::var_os("RF_DEDUP").is_some() {
        let keep: Vec<usize> = (0..x.n_cols)
            .filter(|&c| (0..c).all(|e| x.col(e) != x.col(c)))
            .collect();
        let pick = |m: &Matrix| {
            Matrix::from_columns(keep.iter().map(|&c| m.col(c).to_vec()).collect(), m.n_rows)
        };
        x = pick(&x);
        xt = pick(&xt);
        eprintln!("{} distinct features", x.n_cols);
    }
    let mut p = ForestParams::random_forest(x.n_cols);
    p.n_trees = a[3].parse()?;
    p.max_depth = a[4].parse().ok();
    if let Some(m) = a.get(5) {
        p.min_samples_leaf = m.parse()?;
    }
    let t0 = Instant::now();
    let f = Forest::fit(&x, &y, 2, &p)?;
    let fit = t0.elapsed().as_secs_f64();
    let acc = accuracy(&f, &xt, &yt);
    let mut tree_acc = 0.0;
    let mut leaves = 0usize;
    for t in &f.trees {
        let mut one = f.clone();
        one.trees = vec![t.clone()];
        tree_acc += accuracy(&one, &xt, &yt);
        leaves += t.nodes.iter().filter(|n| n.feature < 0).count();
    }
    let n = f.trees.len() as f64;
    println!(
        "rf acc {acc:.4}  mean tree acc {:.4}  fit {fit:.1}s  mean leaves {:.0}  ({} threads)",
        tree_acc / n,
        leaves as f64 / n,
        rayon::current_num_threads()
    );
    Ok(())
}
