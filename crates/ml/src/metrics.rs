//! Evaluation metrics.
//!
//! Written here rather than taken from smartcore because the report needs,
//! from one pass over a confusion matrix, per-class and weighted averages,
//! average precision (PR-AUC) and the false-positive rate at a threshold,
//! which smartcore's metrics module does not offer. Definitions follow
//! scikit-learn: ROC-AUC by the rank (Mann–Whitney) statistic with ties
//! averaged; PR-AUC as average precision Σ (Rₙ − Rₙ₋₁) Pₙ; zero-division → 0.

use serde::{Deserialize, Serialize};

/// Regression metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Rows evaluated.
    pub n: usize,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Mean residual (y − ŷ).
    pub residual_mean: f64,
    /// Standard deviation of residuals.
    pub residual_std: f64,
    /// Smallest residual.
    pub residual_min: f64,
    /// Largest residual.
    pub residual_max: f64,
}

/// Computes regression metrics.
pub fn regression(y: &[f64], pred: &[f64]) -> RegressionMetrics {
    let n = y.len().min(pred.len());
    let nf = n.max(1) as f64;
    let res: Vec<f64> = y.iter().zip(pred).map(|(a, b)| a - b).collect();
    let mae = res.iter().map(|r| r.abs()).sum::<f64>() / nf;
    let sse: f64 = res.iter().map(|r| r * r).sum();
    let ymean = y.iter().take(n).sum::<f64>() / nf;
    let sst: f64 = y.iter().take(n).map(|v| (v - ymean) * (v - ymean)).sum();
    let rmean = res.iter().sum::<f64>() / nf;
    let rvar = res.iter().map(|r| (r - rmean) * (r - rmean)).sum::<f64>() / nf;
    RegressionMetrics {
        n,
        mae,
        rmse: (sse / nf).sqrt(),
        r2: if sst > 0.0 { 1.0 - sse / sst } else { 0.0 },
        residual_mean: rmean,
        residual_std: rvar.sqrt(),
        residual_min: res.iter().copied().fold(f64::INFINITY, f64::min),
        residual_max: res.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Per-class figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Class name.
    pub class: String,
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F1 score.
    pub f1: f64,
    /// True rows of this class.
    pub support: usize,
}

/// Classification metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Rows evaluated.
    pub n: usize,
    /// Accuracy.
    pub accuracy: f64,
    /// Per-class precision/recall/F1.
    pub per_class: Vec<ClassMetrics>,
    /// Unweighted mean precision.
    pub macro_precision: f64,
    /// Unweighted mean recall.
    pub macro_recall: f64,
    /// Unweighted mean F1.
    pub macro_f1: f64,
    /// Support-weighted precision.
    pub weighted_precision: f64,
    /// Support-weighted recall.
    pub weighted_recall: f64,
    /// Support-weighted F1.
    pub weighted_f1: f64,
    /// `confusion[true][predicted]`.
    pub confusion: Vec<Vec<usize>>,
    /// ROC-AUC (binary: positive class; multi-class: macro one-vs-rest over
    /// classes present with both outcomes).
    pub roc_auc: Option<f64>,
    /// Average precision, same averaging as `roc_auc`.
    pub pr_auc: Option<f64>,
    /// Binary only: the decision threshold on the positive-class score.
    pub threshold: Option<f64>,
    /// Binary only: false-positive rate at `threshold`.
    pub fpr: Option<f64>,
}

fn safe_div(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// ROC-AUC of `scores` for binary `truth` (None if only one outcome).
pub fn roc_auc(truth: &[bool], scores: &[f64]) -> Option<f64> {
    let n = truth.len().min(scores.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut ranks = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            ranks[idx[k]] = avg;
        }
        i = j + 1;
    }
    let npos = truth.iter().take(n).filter(|t| **t).count() as f64;
    let nneg = n as f64 - npos;
    if npos == 0.0 || nneg == 0.0 {
        return None;
    }
    let rank_sum: f64 = (0..n).filter(|&k| truth[k]).map(|k| ranks[k]).sum();
    Some((rank_sum - npos * (npos + 1.0) / 2.0) / (npos * nneg))
}

/// Average precision of `scores` for binary `truth` (None without positives).
pub fn average_precision(truth: &[bool], scores: &[f64]) -> Option<f64> {
    let n = truth.len().min(scores.len());
    let npos = truth.iter().take(n).filter(|t| **t).count() as f64;
    if npos == 0.0 {
        return None;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < n {
        // All rows sharing a score form one threshold.
        let s = scores[idx[i]];
        while i < n && scores[idx[i]] == s {
            if truth[idx[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let recall = tp / npos;
        ap += (recall - prev_recall) * (tp / (tp + fp));
        prev_recall = recall;
    }
    Some(ap)
}

/// Classification metrics from true ids, predicted ids and (optionally)
/// row-major class scores `n × k`. For two classes, class 1 is positive.
pub fn classification(
    classes: &[String],
    truth: &[u32],
    pred: &[u32],
    scores: Option<&[f64]>,
    threshold: Option<f64>,
) -> ClassificationMetrics {
    let k = classes.len();
    let n = truth.len().min(pred.len());
    let mut confusion = vec![vec![0usize; k]; k];
    for (t, p) in truth.iter().zip(pred) {
        if let Some(cell) = confusion
            .get_mut(*t as usize)
            .and_then(|r| r.get_mut(*p as usize))
        {
            *cell += 1;
        }
    }
    let correct: usize = (0..k).map(|c| confusion[c][c]).sum();
    let mut per_class = Vec::with_capacity(k);
    for c in 0..k {
        let tp = confusion[c][c] as f64;
        let support: usize = confusion[c].iter().sum();
        let predicted: usize = confusion.iter().map(|r| r[c]).sum();
        let precision = safe_div(tp, predicted as f64);
        let recall = safe_div(tp, support as f64);
        per_class.push(ClassMetrics {
            class: classes[c].clone(),
            precision,
            recall,
            f1: safe_div(2.0 * precision * recall, precision + recall),
            support,
        });
    }
    // Macro averages over classes that occur in truth or predictions (as
    // scikit-learn does with its default `labels`).
    let present: Vec<&ClassMetrics> = per_class
        .iter()
        .enumerate()
        .filter(|(c, m)| m.support > 0 || confusion.iter().any(|r| r[*c] > 0))
        .map(|(_, m)| m)
        .collect();
    let np = present.len().max(1) as f64;
    let mean = |f: fn(&ClassMetrics) -> f64| present.iter().map(|m| f(m)).sum::<f64>() / np;
    let tot = n.max(1) as f64;
    let wmean = |f: fn(&ClassMetrics) -> f64| {
        per_class
            .iter()
            .map(|m| f(m) * m.support as f64)
            .sum::<f64>()
            / tot
    };
    let (mut roc, mut pr, mut fpr) = (None, None, None);
    if let Some(s) = scores.filter(|s| s.len() >= n * k && k >= 2) {
        let col = |c: usize| -> Vec<f64> { (0..n).map(|r| s[r * k + c]).collect() };
        if k == 2 {
            let t: Vec<bool> = truth.iter().take(n).map(|&c| c == 1).collect();
            let sc = col(1);
            roc = roc_auc(&t, &sc);
            pr = average_precision(&t, &sc);
        } else {
            let (mut rs, mut ps, mut m) = (0.0, 0.0, 0.0);
            for c in 0..k {
                let t: Vec<bool> = truth.iter().take(n).map(|&x| x as usize == c).collect();
                let sc = col(c);
                if let (Some(r), Some(p)) = (roc_auc(&t, &sc), average_precision(&t, &sc)) {
                    rs += r;
                    ps += p;
                    m += 1.0;
                }
            }
            if m > 0.0 {
                roc = Some(rs / m);
                pr = Some(ps / m);
            }
        }
    }
    if k == 2 {
        let fp = confusion[0][1] as f64;
        let tn = confusion[0][0] as f64;
        fpr = Some(safe_div(fp, fp + tn));
    }
    ClassificationMetrics {
        n,
        accuracy: safe_div(correct as f64, n as f64),
        macro_precision: mean(|m| m.precision),
        macro_recall: mean(|m| m.recall),
        macro_f1: mean(|m| m.f1),
        weighted_precision: wmean(|m| m.precision),
        weighted_recall: wmean(|m| m.recall),
        weighted_f1: wmean(|m| m.f1),
        per_class,
        confusion,
        roc_auc: roc,
        pr_auc: pr,
        threshold: if k == 2 { threshold } else { None },
        fpr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_and_ap_match_hand_computed_values() {
        // scikit-learn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75,
        // average_precision_score(...) = 0.8333…
        let t = [false, false, true, true];
        let s = [0.1, 0.4, 0.35, 0.8];
        assert!((roc_auc(&t, &s).unwrap() - 0.75).abs() < 1e-12);
        assert!((average_precision(&t, &s).unwrap() - 0.833_333_333_333_333_4).abs() < 1e-12);
        // Ties count half.
        assert!((roc_auc(&[false, true], &[0.5, 0.5]).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(roc_auc(&[true, true], &[0.1, 0.2]), None);
    }

    #[test]
    fn confusion_based_figures() {
        let classes: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let truth = [0, 0, 1, 1, 2, 2];
        let pred = [0, 1, 1, 1, 2, 0];
        let m = classification(&classes, &truth, &pred, None, None);
        assert!((m.accuracy - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(
            m.confusion,
            vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 1]]
        );
        // a: p=1/2 r=1/2; b: p=2/3 r=1; c: p=1 r=1/2
        assert!((m.macro_precision - (0.5 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
        assert!((m.per_class[1].f1 - 0.8).abs() < 1e-12);
        assert_eq!(m.fpr, None);
        let b = classification(&classes[..2], &[0, 0, 1, 1], &[0, 1, 1, 1], None, Some(0.5));
        assert_eq!(b.fpr, Some(0.5));
    }

    #[test]
    fn regression_figures() {
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]);
        assert!((m.mae - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m.r2 - 0.5).abs() < 1e-12);
        assert_eq!(m.residual_min, -1.0);
    }
}
