//! Preprocessing pipeline: fitted on training rows only, then applied
//! unchanged to any other rows (no leakage).
//!
//! Invariants: [`Pipeline::fit`] looks only at the rows it is given; every
//! statistic used by [`Pipeline::transform`] (fill values, category levels,
//! scaling parameters, dropped columns) is stored in the pipeline and saved
//! with the model. `transform` never fails on unseen categories or
//! non-finite values: they map to "no level" and to the training fill values.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{MlError, Result};
use crate::matrix::Matrix;
use crate::table::{ColumnData, Table};

/// Numeric scaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Scaling {
    /// Leave values as they are (trees do not need scaling).
    #[default]
    None,
    /// Subtract the training mean, divide by the training standard deviation.
    Standard,
    /// Map the training range onto [0, 1].
    MinMax,
}

/// What to do with NaN / ±Infinity in numeric features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NonFinite {
    /// NaN → training median, +Inf → training maximum, -Inf → training minimum.
    #[default]
    Impute,
    /// Drop training rows that have any; at prediction time impute as above.
    DropRows,
}

/// Encoding of text (categorical) columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Encoding {
    /// One 0/1 feature per frequent level.
    #[default]
    OneHot,
    /// One feature: the level's index (unknown = -1).
    Ordinal,
}

/// Handling of IP-address columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum IpMode {
    /// Drop them (addresses rarely generalise across networks).
    #[default]
    Drop,
    /// Four numeric features: the first four address bytes.
    Octets,
    /// The /24 (IPv4) or /48 (IPv6) prefix as a categorical column.
    Subnet,
}

/// Preprocessing options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessConfig {
    /// Numeric scaling.
    pub scaling: Scaling,
    /// Non-finite value policy.
    pub non_finite: NonFinite,
    /// Categorical encoding.
    pub encoding: Encoding,
    /// IP-address handling.
    pub ip: IpMode,
    /// At most this many levels per categorical column (the most frequent;
    /// the rest share "other" = no level).
    pub max_levels: usize,
    /// Drop features that are constant on the training rows.
    pub drop_constant: bool,
    /// Drop features identical to an earlier feature on the training rows.
    pub drop_duplicate: bool,
}

impl Default for PreprocessConfig {
    fn default() -> Self {
        PreprocessConfig {
            scaling: Scaling::None,
            non_finite: NonFinite::Impute,
            encoding: Encoding::OneHot,
            ip: IpMode::Drop,
            max_levels: 64,
            drop_constant: true,
            drop_duplicate: true,
        }
    }
}

/// How one input column becomes zero or more features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Transform {
    /// A numeric feature.
    Numeric {
        /// Replacement for NaN.
        nan: f64,
        /// Replacement for +Inf.
        pos_inf: f64,
        /// Replacement for -Inf.
        neg_inf: f64,
        /// Subtracted before scaling.
        shift: f64,
        /// Divided by after shifting.
        scale: f64,
    },
    /// One-hot levels.
    OneHot(Vec<String>),
    /// Ordinal levels.
    Ordinal(Vec<String>),
    /// Four address-byte features.
    IpOctets,
    /// Subnet prefix, one-hot over these levels.
    IpSubnet(Vec<String>),
    /// Not used; the reason is reported.
    Dropped(String),
}

/// One value through a fitted [`Transform::Numeric`]: NaN and ±inf become
/// their fitted replacements, then the value is shifted and scaled.
#[inline]
pub fn numeric_value(x: f64, nan: f64, pos_inf: f64, neg_inf: f64, shift: f64, scale: f64) -> f64 {
    let x = if x.is_nan() {
        nan
    } else if x == f64::INFINITY {
        pos_inf
    } else if x == f64::NEG_INFINITY {
        neg_inf
    } else {
        x
    };
    (x - shift) / scale
}

/// One input column's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnPlan {
    /// Input column name.
    pub column: String,
    /// Its transform.
    pub transform: Transform,
}

/// What fitting found, for the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Non-finite cells per numeric column on the training rows.
    pub non_finite: Vec<(String, usize)>,
    /// Training rows dropped for non-finite values.
    pub dropped_rows: usize,
    /// Input columns dropped, with the reason.
    pub dropped_columns: Vec<(String, String)>,
    /// Output features dropped as constant.
    pub constant_features: Vec<String>,
    /// Output features dropped as duplicates (name, duplicate of).
    pub duplicate_features: Vec<(String, String)>,
}

/// A fitted preprocessing pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The configuration it was fitted with.
    pub config: PreprocessConfig,
    /// One plan per selected input column.
    pub plans: Vec<ColumnPlan>,
    /// Indices (into the expanded features) that are kept.
    pub keep: Vec<usize>,
    /// Names of the kept output features (the model's feature names).
    pub feature_names: Vec<String>,
    /// Fit report.
    pub report: FitReport,
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim().parse().ok()
}

fn subnet(s: &str) -> String {
    match parse_ip(s) {
        Some(IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Some(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        None => String::new(),
    }
}

fn octets(s: &str) -> [f64; 4] {
    match parse_ip(s) {
        Some(IpAddr::V4(a)) => a.octets().map(f64::from),
        Some(IpAddr::V6(a)) => {
            let o = a.octets();
            [o[0], o[1], o[2], o[3]].map(f64::from)
        }
        None => [f64::NAN; 4],
    }
}

/// Most frequent levels (ties broken by name for determinism).
fn top_levels<'a>(vals: impl Iterator<Item = &'a str>, max: usize) -> (Vec<String>, usize) {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in vals {
        *counts.entry(v).or_default() += 1;
    }
    let distinct = counts.len();
    let mut v: Vec<(&str, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    v.truncate(max);
    let mut levels: Vec<String> = v.into_iter().map(|(s, _)| s.to_string()).collect();
    levels.sort();
    (levels, distinct)
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, |a, b| a.total_cmp(b));
    *m
}

/// Values of a column as numbers (text parsed; unparsable = NaN).
fn as_numbers(data: &ColumnData) -> std::borrow::Cow<'_, [f64]> {
    match data {
        ColumnData::Num(v) => std::borrow::Cow::Borrowed(v),
        ColumnData::Str(v) => std::borrow::Cow::Owned(
            v.iter()
                .map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN))
                .collect(),
        ),
    }
}

impl Pipeline {
    /// Fits on the training table's selected `features`. Returns the pipeline
    /// and the training rows to keep (all of them unless
    /// [`NonFinite::DropRows`]).
    pub fn fit(
        table: &Table,
        features: &[String],
        config: &PreprocessConfig,
    ) -> Result<(Pipeline, Vec<usize>)> {
        if table.n_rows == 0 {
            return Err(MlError::InvalidInput("training table has no rows".into()));
        }
        let mut report = FitReport::default();
        let mut bad_rows = vec![false; table.n_rows];
        let mut plans = Vec::with_capacity(features.len());
        for name in features {
            let col = table.column(name)?;
            let transform = match &col.data {
                ColumnData::Num(v) => {
                    let mut finite: Vec<f64> =
                        v.iter().copied().filter(|x| x.is_finite()).collect();
                    let nonfin = v.len() - finite.len();
                    if nonfin > 0 {
                        report.non_finite.push((name.clone(), nonfin));
                        if config.non_finite == NonFinite::DropRows {
                            for (b, x) in bad_rows.iter_mut().zip(v) {
                                if !x.is_finite() {
                                    *b = true;
                                }
                            }
                        }
                    }
                    if finite.is_empty() {
                        Transform::Dropped("no finite values".into())
                    } else {
                        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
                        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                        let med = median(&mut finite);
                        Transform::Numeric {
                            nan: med,
                            pos_inf: hi,
                            neg_inf: lo,
                            shift: 0.0,
                            scale: 1.0,
                        }
                    }
                }
                ColumnData::Str(v) => {
                    let nonempty: Vec<&str> = v
                        .iter()
                        .map(|s| s.as_str())
                        .filter(|s| !s.is_empty())
                        .collect();
                    let ips = nonempty
                        .iter()
                        .take(1000)
                        .filter(|s| parse_ip(s).is_some())
                        .count();
                    let sample = nonempty.len().min(1000);
                    if sample > 0 && ips * 10 >= sample * 9 {
                        match config.ip {
                            IpMode::Drop => Transform::Dropped("IP address (ip mode: drop)".into()),
                            IpMode::Octets => Transform::IpOctets,
                            IpMode::Subnet => {
                                let subs: Vec<String> = v.iter().map(|s| subnet(s)).collect();
                                let (levels, _) =
                                    top_levels(subs.iter().map(|s| s.as_str()), config.max_levels);
                                Transform::IpSubnet(levels)
                            }
                        }
                    } else {
                        let (levels, distinct) =
                            top_levels(v.iter().map(|s| s.as_str()), config.max_levels);
                        if distinct > config.max_levels && distinct * 2 > table.n_rows {
                            Transform::Dropped(format!(
                                "identifier-like text ({distinct} distinct values)"
                            ))
                        } else {
                            match config.encoding {
                                Encoding::OneHot => Transform::OneHot(levels),
                                Encoding::Ordinal => Transform::Ordinal(levels),
                            }
                        }
                    }
                }
            };
            if let Transform::Dropped(why) = &transform {
                report.dropped_columns.push((name.clone(), why.clone()));
            }
            plans.push(ColumnPlan {
                column: name.clone(),
                transform,
            });
        }
        let keep_rows: Vec<usize> = (0..table.n_rows).filter(|&i| !bad_rows[i]).collect();
        report.dropped_rows = table.n_rows - keep_rows.len();
        if keep_rows.is_empty() {
            return Err(MlError::InvalidInput(
                "every training row has a non-finite value; use impute instead of drop".into(),
            ));
        }
        let train = if report.dropped_rows > 0 {
            std::borrow::Cow::Owned(table.take_rows(&keep_rows))
        } else {
            std::borrow::Cow::Borrowed(table)
        };
        let mut pipe = Pipeline {
            config: config.clone(),
            plans,
            keep: Vec::new(),
            feature_names: Vec::new(),
            report,
        };
        // Expand the training rows without scaling, then decide which
        // features to keep and fit the scaling on the kept numeric ones.
        let (names, cols) = pipe.expand(&train)?;
        let mut keep = Vec::new();
        // Duplicate detection: hash each column, confirm by comparing values.
        let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, c) in cols.iter().enumerate() {
            let first = c.first().copied().unwrap_or(0.0);
            if config.drop_constant && c.iter().all(|x| *x == first) {
                pipe.report.constant_features.push(names[i].clone());
                continue;
            }
            if config.drop_duplicate {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                c.iter().for_each(|x| x.to_bits().hash(&mut h));
                let bucket = seen.entry(h.finish()).or_default();
                let same = |j: &usize| {
                    cols.get(*j)
                        .is_some_and(|o| o.iter().zip(c).all(|(a, b)| a.to_bits() == b.to_bits()))
                };
                if let Some(&j) = bucket.iter().find(|j| same(j)) {
                    pipe.report
                        .duplicate_features
                        .push((names[i].clone(), names[j].clone()));
                    continue;
                }
                bucket.push(i);
            }
            keep.push(i);
        }
        if keep.is_empty() {
            return Err(MlError::InvalidInput(
                "no usable features after preprocessing (all constant, duplicate or dropped)"
                    .into(),
            ));
        }
        // Scaling of numeric plans, from the training rows.
        if config.scaling != Scaling::None {
            let mut fi = 0usize;
            for plan in pipe.plans.iter_mut() {
                let width = plan_width(&plan.transform);
                if let Transform::Numeric { shift, scale, .. } = &mut plan.transform
                    && let Some(c) = cols.get(fi)
                {
                    let n = c.len().max(1) as f64;
                    let (s, k) = match config.scaling {
                        Scaling::Standard => {
                            let mean = c.iter().sum::<f64>() / n;
                            let var = c.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                            (mean, var.sqrt())
                        }
                        Scaling::MinMax => {
                            let lo = c.iter().copied().fold(f64::INFINITY, f64::min);
                            let hi = c.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            (lo, hi - lo)
                        }
                        Scaling::None => (0.0, 1.0),
                    };
                    *shift = s;
                    *scale = if k > 0.0 && k.is_finite() { k } else { 1.0 };
                }
                fi += width;
            }
        }
        pipe.feature_names = keep.iter().filter_map(|&i| names.get(i).cloned()).collect();
        pipe.keep = keep;
        Ok((pipe, keep_rows))
    }

    /// All expanded features (before `keep`), with names.
    fn expand(&self, table: &Table) -> Result<(Vec<String>, Vec<Vec<f64>>)> {
        let n = table.n_rows;
        let mut names = Vec::new();
        let mut cols: Vec<Vec<f64>> = Vec::new();
        for plan in &self.plans {
            let t = &plan.transform;
            if matches!(t, Transform::Dropped(_)) {
                continue;
            }
            let col = table.column(&plan.column).map_err(|_| {
                MlError::InvalidInput(format!(
                    "input lacks column {:?} that the model needs",
                    plan.column
                ))
            })?;
            match t {
                Transform::Numeric {
                    nan,
                    pos_inf,
                    neg_inf,
                    shift,
                    scale,
                } => {
                    let v = as_numbers(&col.data);
                    cols.push(
                        v.iter()
                            .map(|&x| numeric_value(x, *nan, *pos_inf, *neg_inf, *shift, *scale))
                            .collect(),
                    );
                    names.push(plan.column.clone());
                }
                Transform::OneHot(levels) | Transform::IpSubnet(levels) => {
                    let subnet_mode = matches!(t, Transform::IpSubnet(_));
                    let index: HashMap<&str, usize> = levels
                        .iter()
                        .enumerate()
                        .map(|(i, l)| (l.as_str(), i))
                        .collect();
                    let mut block = vec![vec![0.0; n]; levels.len()];
                    for r in 0..n {
                        let mut s = col.data.text(r);
                        if subnet_mode {
                            s = subnet(&s);
                        }
                        if let Some(&k) = index.get(s.trim())
                            && let Some(cell) = block.get_mut(k).and_then(|b| b.get_mut(r))
                        {
                            *cell = 1.0;
                        }
                    }
                    for l in levels {
                        names.push(format!("{}={}", plan.column, l));
                    }
                    cols.extend(block);
                }
                Transform::Ordinal(levels) => {
                    let index: HashMap<&str, usize> = levels
                        .iter()
                        .enumerate()
                        .map(|(i, l)| (l.as_str(), i))
                        .collect();
                    cols.push(
                        (0..n)
                            .map(|r| {
                                index
                                    .get(col.data.text(r).trim())
                                    .map_or(-1.0, |&k| k as f64)
                            })
                            .collect(),
                    );
                    names.push(plan.column.clone());
                }
                Transform::IpOctets => {
                    let mut block: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
                    for r in 0..n {
                        let o = octets(&col.data.text(r));
                        for (b, x) in block.iter_mut().zip(o) {
                            // Unparsable addresses become 0.0.0.0.
                            b.push(if x.is_nan() { 0.0 } else { x });
                        }
                    }
                    for k in 0..4 {
                        names.push(format!("{}#octet{}", plan.column, k + 1));
                    }
                    cols.extend(block);
                }
                Transform::Dropped(_) => {}
            }
        }
        Ok((names, cols))
    }

    /// Applies the fitted pipeline to any table that has the needed columns.
    pub fn transform(&self, table: &Table) -> Result<Matrix> {
        let (_, cols) = self.expand(table)?;
        let kept: Vec<Vec<f64>> = {
            let mut cols: Vec<Option<Vec<f64>>> = cols.into_iter().map(Some).collect();
            self.keep
                .iter()
                .map(|&i| cols.get_mut(i).and_then(|c| c.take()).unwrap_or_default())
                .collect()
        };
        if kept.len() != self.feature_names.len() {
            return Err(MlError::ModelFile(
                "pipeline keep list does not match its features".into(),
            ));
        }
        Ok(Matrix::from_columns(kept, table.n_rows))
    }

    /// [`Pipeline::transform`] into `out`, reusing its buffer: a stream
    /// transformed batch after batch keeps one allocation (and does not
    /// fault in fresh pages each batch). Same values as `transform`: when
    /// every used column is numeric (the flow detectors' case) the kept
    /// features are written straight into the matrix, otherwise this falls
    /// back to `transform`.
    pub fn transform_into(&self, table: &Table, out: &mut Matrix) -> Result<()> {
        let used: Vec<&ColumnPlan> = self
            .plans
            .iter()
            .filter(|p| !matches!(p.transform, Transform::Dropped(_)))
            .collect();
        if !used
            .iter()
            .all(|p| matches!(p.transform, Transform::Numeric { .. }))
        {
            *out = self.transform(table)?;
            return Ok(());
        }
        if self.keep.len() != self.feature_names.len() {
            return Err(MlError::ModelFile(
                "pipeline keep list does not match its features".into(),
            ));
        }
        // Every plan's column must exist, kept or not (as in `expand`).
        let mut cols = Vec::with_capacity(used.len());
        for plan in &used {
            cols.push(table.column(&plan.column).map_err(|_| {
                MlError::InvalidInput(format!(
                    "input lacks column {:?} that the model needs",
                    plan.column
                ))
            })?);
        }
        let n = table.n_rows;
        out.n_rows = n;
        out.n_cols = self.keep.len();
        out.data.clear();
        out.data.reserve(n.saturating_mul(self.keep.len()));
        for &e in &self.keep {
            // Each numeric plan expands to one feature, so expanded index =
            // index among the used plans.
            let (Some(plan), Some(col)) = (used.get(e), cols.get(e)) else {
                // `transform` takes a missing kept column as empty (NaN-padded).
                out.data.extend(std::iter::repeat_n(f64::NAN, n));
                continue;
            };
            let Transform::Numeric {
                nan,
                pos_inf,
                neg_inf,
                shift,
                scale,
            } = &plan.transform
            else {
                out.data.extend(std::iter::repeat_n(f64::NAN, n));
                continue;
            };
            let v = as_numbers(&col.data);
            let start = out.data.len();
            out.data.extend(
                v.iter()
                    .take(n)
                    .map(|&x| numeric_value(x, *nan, *pos_inf, *neg_inf, *shift, *scale)),
            );
            // Shorter columns are NaN-padded, as `Matrix::from_columns` does.
            out.data.resize(start + n, f64::NAN);
        }
        Ok(())
    }

    /// Input columns the pipeline reads.
    pub fn required_columns(&self) -> Vec<&str> {
        self.plans
            .iter()
            .filter(|p| !matches!(p.transform, Transform::Dropped(_)))
            .map(|p| p.column.as_str())
            .collect()
    }
}

fn plan_width(t: &Transform) -> usize {
    match t {
        Transform::Numeric { .. } | Transform::Ordinal(_) => 1,
        Transform::OneHot(l) | Transform::IpSubnet(l) => l.len(),
        Transform::IpOctets => 4,
        Transform::Dropped(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::CsvOptions;
    use std::path::Path;

    fn table(s: &str) -> Table {
        Table::from_csv_reader(s.as_bytes(), Path::new("t"), &CsvOptions::default()).unwrap()
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn no_leakage_statistics_come_from_train_only() {
        let train = table("x,p\n1,tcp\n2,udp\n3,tcp\n");
        // The test rows have a very different range and an unseen level.
        let test = table("x,p\n100,icmp\nNaN,tcp\n");
        let cfg = PreprocessConfig {
            scaling: Scaling::Standard,
            ..Default::default()
        };
        let (p, _) = Pipeline::fit(&train, &names(&["x", "p"]), &cfg).unwrap();
        let m = p.transform(&test).unwrap();
        assert_eq!(p.feature_names, ["x", "p=tcp", "p=udp"]);
        let sd = (2.0f64 / 3.0).sqrt();
        assert!((m.get(0, 0) - (100.0 - 2.0) / sd).abs() < 1e-12);
        // NaN → training median (2) → standardised 0.
        assert!(m.get(1, 0).abs() < 1e-12);
        // Unseen level: no one-hot bit set.
        assert_eq!((m.get(0, 1), m.get(0, 2)), (0.0, 0.0));
        assert_eq!((m.get(1, 1), m.get(1, 2)), (1.0, 0.0));
        // Refitting on train+test would change the scaling: the pipeline did not.
        let both = table("x,p\n1,tcp\n2,udp\n3,tcp\n100,icmp\n");
        let (p2, _) = Pipeline::fit(&both, &names(&["x", "p"]), &cfg).unwrap();
        assert_ne!(p2.plans[0], p.plans[0]);
    }

    #[test]
    fn non_finite_constant_duplicate_and_ip() {
        let t =
            table("a,b,c,ip,k\n1,Infinity,1,10.0.0.1,5\n2,3,2,10.0.1.9,5\n3,1,3,192.168.1.1,5\n");
        let cfg = PreprocessConfig {
            ip: IpMode::Octets,
            ..Default::default()
        };
        let (p, rows) = Pipeline::fit(&t, &names(&["a", "b", "c", "ip", "k"]), &cfg).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(p.report.non_finite, vec![("b".to_string(), 1)]);
        assert_eq!(p.report.constant_features, ["k"]);
        assert_eq!(
            p.report.duplicate_features,
            vec![("c".to_string(), "a".to_string())]
        );
        let m = p.transform(&t).unwrap();
        let bi = p.feature_names.iter().position(|n| n == "b").unwrap();
        assert_eq!((m.get(0, bi), m.get(2, bi)), (3.0, 1.0));
        let o1 = p
            .feature_names
            .iter()
            .position(|n| n == "ip#octet1")
            .unwrap();
        assert_eq!(m.get(2, o1), 192.0);
        let cfg = PreprocessConfig {
            non_finite: NonFinite::DropRows,
            ..Default::default()
        };
        let (p, rows) = Pipeline::fit(&t, &names(&["a", "b", "ip"]), &cfg).unwrap();
        assert_eq!(rows, [1, 2]);
        assert_eq!(p.report.dropped_rows, 1);
        assert_eq!(p.report.dropped_columns.len(), 1, "ip dropped by default");
    }

    #[test]
    fn transform_into_matches_transform_and_reuses_its_buffer() {
        let train = table("a,b,k,c\n1,Infinity,5,1\n2,3,5,2\nNaN,1,5,3\n4,-Infinity,5,9\n");
        let cfg = PreprocessConfig {
            scaling: Scaling::Standard,
            ..Default::default()
        };
        let (p, _) = Pipeline::fit(&train, &names(&["a", "b", "k", "c"]), &cfg).unwrap();
        let mut m = Matrix::default();
        for t in [
            &train,
            &table("a,b,k,c\n-0,NaN,1,7\n"),
            &table("c,b,a,k\n1,2,3,4\n5,Infinity,NaN,8\n9,10,11,12\n"),
        ] {
            p.transform_into(t, &mut m).unwrap();
            let want = p.transform(t).unwrap();
            assert_eq!((m.n_rows, m.n_cols), (want.n_rows, want.n_cols));
            let bits = |d: &[f64]| d.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&m.data), bits(&want.data));
        }
        // Text columns take the general path, with the same result.
        let t = table("x,p\n1,tcp\n2,udp\n3,tcp\n");
        let (p, _) = Pipeline::fit(&t, &names(&["x", "p"]), &cfg).unwrap();
        p.transform_into(&t, &mut m).unwrap();
        assert_eq!(m, p.transform(&t).unwrap());
        let e = p.transform_into(&table("x\n1\n"), &mut m).unwrap_err();
        assert!(e.to_string().contains("\"p\""), "{e}");
    }

    #[test]
    fn missing_column_at_apply_time_is_an_error() {
        let t = table("a,b\n1,2\n2,1\n");
        let (p, _) = Pipeline::fit(&t, &names(&["a", "b"]), &PreprocessConfig::default()).unwrap();
        let other = table("a\n1\n");
        let e = p.transform(&other).unwrap_err().to_string();
        assert!(e.contains("\"b\""), "{e}");
    }
}
