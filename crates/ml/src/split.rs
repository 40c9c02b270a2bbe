//! Train/test splits and k-fold cross-validation indices.
//!
//! Invariant: every function returns disjoint index sets whose union is
//! `0..n`, and is deterministic for a given seed.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// How rows are divided into train and test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SplitMethod {
    /// Uniformly at random.
    Random,
    /// Random within each class, keeping class proportions.
    Stratified,
    /// Ordered by time: the earliest rows train, the latest test.
    Time,
}

fn groups(labels: &[u32]) -> Vec<Vec<usize>> {
    let k = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut g = vec![Vec::new(); k];
    for (i, &c) in labels.iter().enumerate() {
        g[c as usize].push(i);
    }
    g
}

/// Splits `0..n` into (train, test) with about `test_fraction` in test.
/// `labels` is needed for stratified splits, `order` (a sort key per row)
/// for time splits; missing ones fall back to a random split.
pub fn train_test(
    n: usize,
    test_fraction: f64,
    method: SplitMethod,
    seed: u64,
    labels: Option<&[u32]>,
    order: Option<&[f64]>,
) -> (Vec<usize>, Vec<usize>) {
    let f = test_fraction.clamp(0.0, 1.0);
    let mut rng = StdRng::seed_from_u64(seed);
    match (method, labels, order) {
        (SplitMethod::Time, _, Some(key)) => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by(|&a, &b| {
                let ka = key.get(a).copied().unwrap_or(f64::NAN);
                let kb = key.get(b).copied().unwrap_or(f64::NAN);
                ka.total_cmp(&kb).then(a.cmp(&b))
            });
            let n_test = (n as f64 * f).round() as usize;
            let test = idx.split_off(n - n_test.min(n));
            (idx, test)
        }
        (SplitMethod::Stratified, Some(y), _) => {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for mut g in groups(y) {
                g.shuffle(&mut rng);
                let n_test = (g.len() as f64 * f).round() as usize;
                let t = g.split_off(g.len() - n_test.min(g.len()));
                train.extend(g);
                test.extend(t);
            }
            train.sort_unstable();
            test.sort_unstable();
            (train, test)
        }
        _ => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(&mut rng);
            let n_test = (n as f64 * f).round() as usize;
            let mut test = idx.split_off(n - n_test.min(n));
            idx.sort_unstable();
            test.sort_unstable();
            (idx, test)
        }
    }
}

/// k folds as (train, test) pairs; stratified when `labels` is given.
pub fn kfold(
    n: usize,
    k: usize,
    seed: u64,
    labels: Option<&[u32]>,
) -> Vec<(Vec<usize>, Vec<usize>)> {
    let k = k.clamp(2, n.max(2));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; n];
    match labels {
        Some(y) => {
            // Deal each class's shuffled rows round-robin over the folds.
            let mut offset = 0;
            for mut g in groups(y) {
                g.shuffle(&mut rng);
                for (j, i) in g.iter().enumerate() {
                    fold_of[*i] = (j + offset) % k;
                }
                offset += g.len();
            }
        }
        None => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(&mut rng);
            for (j, i) in idx.iter().enumerate() {
                fold_of[*i] = j % k;
            }
        }
    }
    (0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| fold_of[i] == f);
            (train, test)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_partition_and_respect_their_rule() {
        let y: Vec<u32> = (0..100).map(|i| u32::from(i % 10 == 0)).collect();
        let (tr, te) = train_test(100, 0.2, SplitMethod::Stratified, 1, Some(&y), None);
        assert_eq!(tr.len() + te.len(), 100);
        assert_eq!(te.iter().filter(|&&i| y[i] == 1).count(), 2);
        let t: Vec<f64> = (0..100).map(|i| (99 - i) as f64).collect();
        let (tr, te) = train_test(100, 0.3, SplitMethod::Time, 1, None, Some(&t));
        assert_eq!(te.len(), 30);
        assert!(tr.iter().all(|&a| te.iter().all(|&b| t[a] < t[b])));
        let folds = kfold(100, 5, 3, Some(&y));
        let mut all: Vec<usize> = folds.iter().flat_map(|f| f.1.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(
            folds
                .iter()
                .all(|f| f.1.iter().filter(|&&i| y[i] == 1).count() == 2)
        );
    }
}
