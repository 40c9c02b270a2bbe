//! Choosing the label and feature columns of a table.
//!
//! A feature pattern is, in this order of precedence: an exact column name,
//! a feature-group name known to the caller's resolver (for example the flow
//! registry's groups), or a glob (`*_piat_ms`, `Fwd*`). Every pattern must
//! match at least one column, so typos fail loudly.

use std::collections::{BTreeSet, HashMap};

use crate::error::{MlError, Result};
use crate::table::{ColumnData, Table};

/// Resolves a feature-group name to column names (None = not a group).
pub type GroupResolver<'a> = &'a dyn Fn(&str) -> Option<Vec<String>>;

/// A resolver backed by a map of group name → column names.
pub fn map_resolver(
    map: &HashMap<String, Vec<String>>,
) -> impl Fn(&str) -> Option<Vec<String>> + '_ {
    move |g| map.get(g).cloned()
}

/// Which columns are features.
#[derive(Debug, Clone, Default)]
pub struct FeatureSelection {
    /// Patterns to include (empty = every column not excluded).
    pub include: Vec<String>,
    /// Patterns to exclude (applied after `include`).
    pub exclude: Vec<String>,
}

fn expand(table: &Table, pat: &str, groups: GroupResolver<'_>) -> Result<Vec<String>> {
    if table.index_of(pat).is_some() {
        return Ok(vec![pat.to_string()]);
    }
    if let Some(cols) = groups(pat) {
        let present: Vec<String> = cols
            .into_iter()
            .filter(|c| table.index_of(c).is_some())
            .collect();
        if present.is_empty() {
            return Err(MlError::InvalidInput(format!(
                "feature group {pat:?} has no column in this table"
            )));
        }
        return Ok(present);
    }
    let g = glob::Pattern::new(pat)
        .map_err(|e| MlError::InvalidParameter(format!("bad feature pattern {pat:?}: {e}")))?;
    let hits: Vec<String> = table
        .columns
        .iter()
        .filter(|c| g.matches(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if hits.is_empty() {
        return Err(MlError::NoSuchColumn {
            name: pat.to_string(),
            available: table.name_summary(),
        });
    }
    Ok(hits)
}

/// The feature column names (in table order), never including `reserved`
/// columns (label, time column).
pub fn select_features(
    table: &Table,
    sel: &FeatureSelection,
    reserved: &[&str],
    groups: GroupResolver<'_>,
) -> Result<Vec<String>> {
    let mut chosen: BTreeSet<String> = BTreeSet::new();
    if sel.include.is_empty() {
        chosen.extend(table.columns.iter().map(|c| c.name.clone()));
    } else {
        for p in &sel.include {
            chosen.extend(expand(table, p, groups)?);
        }
    }
    for p in &sel.exclude {
        for c in expand(table, p, groups)? {
            chosen.remove(&c);
        }
    }
    for r in reserved {
        chosen.remove(*r);
    }
    let out: Vec<String> = table
        .columns
        .iter()
        .filter(|c| chosen.contains(&c.name))
        .map(|c| c.name.clone())
        .collect();
    if out.is_empty() {
        return Err(MlError::InvalidInput("no feature columns selected".into()));
    }
    Ok(out)
}

/// How the label column becomes class names.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum LabelMapping {
    /// Every distinct value is a class (multi-class).
    #[default]
    AsIs,
    /// Binary: these values are `benign`, everything else is `attack`.
    Benign(Vec<String>),
    /// Binary: these values are `attack`, everything else is `benign`.
    Positive(Vec<String>),
}

/// Class names of the binary mappings; index 1 (`attack`) is the positive class.
pub const BINARY_CLASSES: [&str; 2] = ["benign", "attack"];

/// Label values that name the benign class in the datasets netlens reads
/// (compared without case): netlens's and CIC's `benign`, NSL-KDD's
/// `normal`.
const BENIGN_NAMES: [&str; 2] = ["benign", "normal"];

/// Orders the classes of a label column used as it is: a benign-named
/// value first, so that in a two-class task the other one is the positive
/// class (`attack`/`benign` made `benign` positive in text order, its score
/// P(benign)); then numbers by value (`2` before `10`); then text.
pub fn sort_classes(classes: &mut [String]) {
    let key = |s: &String| {
        let benign = BENIGN_NAMES.iter().any(|b| s.eq_ignore_ascii_case(b));
        (
            !benign,
            s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        )
    };
    classes.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0)
            .then_with(|| match (ka.1, kb.1) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.cmp(b))
    });
}

impl LabelMapping {
    /// Maps one raw label to its class name.
    pub fn map(&self, raw: &str) -> String {
        let raw = raw.trim();
        match self {
            LabelMapping::AsIs => raw.to_string(),
            LabelMapping::Benign(v) => {
                BINARY_CLASSES[usize::from(!v.iter().any(|b| b == raw))].to_string()
            }
            LabelMapping::Positive(v) => {
                BINARY_CLASSES[usize::from(v.iter().any(|b| b == raw))].to_string()
            }
        }
    }
}

/// Columns that identify a row, a moment or a host of one capture rather
/// than describe its traffic: netlens's `id` and absolute first/last-seen
/// times, MAC addresses and their vendor prefixes (`src_oui`/`dst_oui`:
/// in a lab capture the attacking machines' vendor gives the label away),
/// and the CIC-IDS2017 `Flow ID` / `Timestamp` (names or globs). A model trained on them learns when and where an attack
/// happened in this capture (IP addresses are handled by the `ip` option).
/// Durations are kept.
pub const IDENTIFIER_COLUMNS: &[&str] = &[
    "id",
    "cic_flow_id",
    "Flow ID",
    "Timestamp",
    "first_seen",
    "last_seen",
    "src_mac",
    "dst_mac",
    "src_oui",
    "dst_oui",
    "*_first_seen_ms",
    "*_last_seen_ms",
    "*_first_seen_us",
    "*_last_seen_us",
];

/// Columns left out of the features when none are chosen explicitly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultExclusions {
    /// Identifier and absolute-time columns ([`IDENTIFIER_COLUMNS`]);
    /// empty when identifiers are kept.
    pub identifiers: Vec<String>,
    /// Text columns holding lists (`[a,b,...]`, as netlens writes the
    /// `splt_*` columns): a list is not a category, so they are never
    /// features unless chosen explicitly.
    pub lists: Vec<String>,
}

impl DefaultExclusions {
    /// All the excluded names.
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.identifiers.iter().chain(&self.lists)
    }
}

/// Whether every non-empty value of a text column is a `[...]` list (and
/// at least one value is).
fn is_list_column(v: &[String]) -> bool {
    let mut any = false;
    for s in v {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        if !(s.starts_with('[') && s.ends_with(']')) {
            return false;
        }
        any = true;
    }
    any
}

/// The columns of `table` that training leaves out when no features are
/// chosen: identifier/time columns (unless `keep_identifiers`) and list
/// columns. `reserved` columns (label, time column) are never listed. The
/// one rule shared by `netlens train`/`evaluate --cv` and the Python API.
pub fn default_exclusions(
    table: &Table,
    reserved: &[&str],
    keep_identifiers: bool,
) -> DefaultExclusions {
    let pats: Vec<glob::Pattern> = IDENTIFIER_COLUMNS
        .iter()
        .filter_map(|p| glob::Pattern::new(p).ok())
        .collect();
    let mut out = DefaultExclusions::default();
    for c in &table.columns {
        if reserved.contains(&c.name.as_str()) {
            continue;
        }
        if !keep_identifiers && pats.iter().any(|p| p.matches(&c.name)) {
            out.identifiers.push(c.name.clone());
        } else if let ColumnData::Str(v) = &c.data
            && is_list_column(v)
        {
            out.lists.push(c.name.clone());
        }
    }
    out
}

/// Whether a raw label value is missing (empty after trimming; CSV `NA`
/// cells and nulls read as empty).
pub fn is_missing_label(raw: &str) -> bool {
    raw.trim().is_empty()
}

/// Rows (among `rows`) whose label is present, and how many lack one.
pub fn labelled_rows(table: &Table, label: &str, rows: &[usize]) -> Result<(Vec<usize>, usize)> {
    let col = table.column(label)?;
    let kept: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&i| !is_missing_label(&col.data.text(i)))
        .collect();
    let missing = rows.len() - kept.len();
    Ok((kept, missing))
}

/// Number of rows of `table` without a label value.
pub fn missing_labels(table: &Table, label: &str) -> Result<usize> {
    let col = table.column(label)?;
    Ok((0..table.n_rows)
        .filter(|&i| is_missing_label(&col.data.text(i)))
        .count())
}

/// Class names of the label column after mapping, one per row.
pub fn label_strings(table: &Table, label: &str, mapping: &LabelMapping) -> Result<Vec<String>> {
    let col = table.column(label)?;
    Ok((0..table.n_rows)
        .map(|i| mapping.map(&col.data.text(i)))
        .collect())
}

/// Numeric regression target; non-finite values are an error.
pub fn label_numbers(table: &Table, label: &str) -> Result<Vec<f64>> {
    let col = table.column(label)?;
    match &col.data {
        ColumnData::Num(v) => {
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(MlError::InvalidInput(format!(
                    "regression target {label:?} has a missing or non-finite value at row {i}"
                )));
            }
            Ok(v.clone())
        }
        ColumnData::Str(_) => Err(MlError::InvalidInput(format!(
            "regression target {label:?} is not numeric"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{CsvOptions, Table};
    use std::path::Path;

    fn t() -> Table {
        Table::from_csv_reader(
            &b"fwd_piat_ms,bwd_piat_ms,bytes,Label\n1,2,3,x\n"[..],
            Path::new("t"),
            &CsvOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn names_globs_groups() {
        let t = t();
        let none = |_: &str| None;
        let s = FeatureSelection {
            include: vec!["*_piat_ms".into()],
            exclude: vec![],
        };
        assert_eq!(
            select_features(&t, &s, &["Label"], &none).unwrap(),
            ["fwd_piat_ms", "bwd_piat_ms"]
        );
        let mut m = HashMap::new();
        m.insert(
            "volume".to_string(),
            vec!["bytes".to_string(), "absent".to_string()],
        );
        let r = map_resolver(&m);
        let s = FeatureSelection {
            include: vec!["volume".into(), "fwd_piat_ms".into()],
            exclude: vec![],
        };
        assert_eq!(
            select_features(&t, &s, &[], &r).unwrap(),
            ["fwd_piat_ms", "bytes"]
        );
        let s = FeatureSelection {
            include: vec![],
            exclude: vec!["b*".into()],
        };
        assert_eq!(
            select_features(&t, &s, &["Label"], &none).unwrap(),
            ["fwd_piat_ms"]
        );
        let s = FeatureSelection {
            include: vec!["nope*".into()],
            exclude: vec![],
        };
        assert!(select_features(&t, &s, &[], &none).is_err());
    }

    #[test]
    fn classes_put_benign_first_and_numbers_in_value_order() {
        let order = |v: &[&str]| {
            let mut c: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            sort_classes(&mut c);
            c
        };
        assert_eq!(order(&["attack", "benign"]), ["benign", "attack"]);
        assert_eq!(order(&["normal", "anomaly"]), ["normal", "anomaly"]);
        assert_eq!(
            order(&["DDoS", "BENIGN", "PortScan"]),
            ["BENIGN", "DDoS", "PortScan"]
        );
        assert_eq!(order(&["10", "2", "1", "0"]), ["0", "1", "2", "10"]);
        assert_eq!(order(&["b", "10", "a", "9"]), ["9", "10", "a", "b"]);
    }

    #[test]
    fn binary_mappings() {
        let b = LabelMapping::Benign(vec!["normal".into()]);
        assert_eq!(b.map("normal"), "benign");
        assert_eq!(b.map("neptune"), "attack");
        let p = LabelMapping::Positive(vec!["DDoS".into()]);
        assert_eq!(p.map("DDoS"), "attack");
        assert_eq!(p.map("BENIGN"), "benign");
    }
}
