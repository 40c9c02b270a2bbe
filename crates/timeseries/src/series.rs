//! The [`Series`] type and its CSV/JSON input and output.
//!
//! Invariants of a [`Series`]: `interval > 0`; every column has exactly
//! `len()` values; point `i` is at `start + i * interval` (Unix seconds,
//! UTC); values are finite after reading (gaps are filled).
//!
//! Reading rules (all counted in [`ReadReport`]):
//! - time column: a header named `time`, `timestamp`, `date`, `datetime`,
//!   `ts` (any case), else the first column. Accepted cells: RFC 3339
//!   (`2005-06-07T07:00:00Z`, offsets honoured), `YYYY-MM-DD HH:MM[:SS[.f]]`
//!   and `YYYY-MM-DDTHH:MM[:SS[.f]]` (taken as UTC), `YYYY-MM-DD`, and Unix
//!   time as a number: seconds, or milliseconds when |value| >= 1e11.
//! - unsorted rows are sorted by time (`reordered` counts rows out of order).
//! - the interval is the most common positive difference between successive
//!   timestamps unless given; timestamps off the grid are snapped to the
//!   nearest slot (`snapped`).
//! - several rows in one slot (duplicate timestamps) are aggregated by
//!   [`DuplicatePolicy`] (default: mean) or rejected.
//! - empty or `NaN`/`null`/`NA` cells and missing slots are gaps, filled by
//!   [`GapFill`] (default: linear interpolation between the neighbours, the
//!   nearest value at the ends) or rejected; `filled` counts filled values.
//! - a non-numeric value is an error naming the line and column, except
//!   that, when the value columns are not named, a column whose first value
//!   is text is left out (`text_columns`).
//! - fewer than 2 rows is an error; more than [`MAX_POINTS`] slots is an
//!   error (memory bound).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::error::{Error, Result};

/// Largest number of slots a series may have (bounds memory: 8 bytes per
/// slot per column).
pub const MAX_POINTS: usize = 20_000_000;

/// A named column of values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// Column name (from the CSV header).
    pub name: String,
    /// One value per slot.
    pub values: Vec<f64>,
}

/// A regular time series: `start`, `interval`, named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Time of the first point, Unix seconds UTC.
    pub start: i64,
    /// Seconds between points, > 0.
    pub interval: i64,
    /// Value columns, all of the same length.
    pub columns: Vec<Column>,
}

impl Series {
    /// Builds a series, checking the invariants.
    pub fn new(start: i64, interval: i64, columns: Vec<Column>) -> Result<Self> {
        if interval <= 0 {
            return Err(Error::Invalid(format!(
                "interval must be > 0, got {interval}"
            )));
        }
        let len = columns.first().map_or(0, |c| c.values.len());
        if columns.iter().any(|c| c.values.len() != len) {
            return Err(Error::Invalid("columns differ in length".into()));
        }
        Ok(Self {
            start,
            interval,
            columns,
        })
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, |c| c.values.len())
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Time of point `i` (Unix seconds).
    pub fn time(&self, i: usize) -> i64 {
        self.start
            .saturating_add(self.interval.saturating_mul(i as i64))
    }

    /// All timestamps.
    pub fn times(&self) -> Vec<i64> {
        (0..self.len()).map(|i| self.time(i)).collect()
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The named column, or the first one when `name` is `None`.
    pub fn pick(&self, name: Option<&str>) -> Result<&Column> {
        match name {
            Some(n) => self.column(n).ok_or_else(|| {
                let names: Vec<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
                Error::Invalid(format!(
                    "no column '{n}'; columns are: {}",
                    names.join(", ")
                ))
            }),
            None => self
                .columns
                .first()
                .ok_or_else(|| Error::Invalid("series has no value column".into())),
        }
    }

    /// Writes `timestamp,<columns...>` CSV with RFC 3339 UTC timestamps.
    pub fn write_csv<W: Write>(&self, out: W) -> Result<()> {
        let mut w = csv::Writer::from_writer(out);
        let mut header = vec!["timestamp".to_string()];
        header.extend(self.columns.iter().map(|c| c.name.clone()));
        w.write_record(&header)?;
        for i in 0..self.len() {
            let mut rec = vec![format_time(self.time(i))];
            for c in &self.columns {
                rec.push(c.values.get(i).map_or(String::new(), |v| v.to_string()));
            }
            w.write_record(&rec)?;
        }
        w.flush()?;
        Ok(())
    }

    /// Writes JSON: `{"start": "...", "interval_s": n, "timestamps": [...],
    /// "columns": [{"name": ..., "values": [...]}]}`.
    pub fn write_json<W: Write>(&self, out: W) -> Result<()> {
        #[derive(Serialize)]
        struct J<'a> {
            start: String,
            interval_s: i64,
            timestamps: Vec<String>,
            columns: &'a [Column],
        }
        let j = J {
            start: format_time(self.start),
            interval_s: self.interval,
            timestamps: self.times().into_iter().map(format_time).collect(),
            columns: &self.columns,
        };
        serde_json::to_writer(out, &j)?;
        Ok(())
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2005-06-07T07:00:00Z`).
pub fn format_time(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Formats Unix seconds for people: `2005-07-30 14:00 UTC`.
pub fn format_time_human(ts: i64) -> String {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Parses one timestamp cell into Unix seconds (see module docs).
pub fn parse_time(cell: &str) -> Option<i64> {
    let s = cell.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(v) = s.parse::<f64>() {
        if !v.is_finite() {
            return None;
        }
        let secs = if v.abs() >= 1e11 { v / 1000.0 } else { v };
        if secs.abs() > 1e13 {
            return None;
        }
        return Some(secs.round() as i64);
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc().timestamp());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
}

/// How rows that fall into the same slot are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicatePolicy {
    /// Mean of the values (default).
    #[default]
    Mean,
    /// Sum of the values (for counters split across rows).
    Sum,
    /// Last row in file order wins.
    Last,
    /// Reject the file.
    Error,
}

/// How missing values are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GapFill {
    /// Linear interpolation between neighbours; nearest value at the ends.
    #[default]
    Linear,
    /// Zero (for counters: nothing was seen).
    Zero,
    /// Reject the file.
    Error,
}

/// Options for [`read_series_csv`].
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Name of the time column (default: auto, see module docs).
    pub time_column: Option<String>,
    /// Value columns to keep (default: every other column).
    pub value_columns: Option<Vec<String>>,
    /// Interval in seconds (default: inferred).
    pub interval: Option<i64>,
    /// Duplicate handling.
    pub duplicates: DuplicatePolicy,
    /// Gap handling.
    pub gaps: GapFill,
}

/// What reading repaired.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReadReport {
    /// Data rows read.
    pub rows: usize,
    /// Rows that were out of time order (the file was sorted).
    pub reordered: usize,
    /// Rows aggregated into an already occupied slot.
    pub duplicates: usize,
    /// Rows whose time was off the grid and snapped to the nearest slot.
    pub snapped: usize,
    /// Values filled (missing cells plus missing slots, over all columns).
    pub filled: usize,
    /// Slots with no row at all.
    pub missing_slots: usize,
    /// The interval used, seconds.
    pub interval: i64,
    /// Whether the interval was inferred.
    pub interval_inferred: bool,
    /// Text columns left out (only when the value columns were not named).
    pub text_columns: Vec<String>,
}

/// Reads a series from a CSV file (see module docs for the rules).
pub fn read_series_csv(path: &Path, opts: &ReadOptions) -> Result<(Series, ReadReport)> {
    let f = open_text(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_series(f, opts)
}

/// Open a text file (CSV) for reading, decompressing it when it starts with
/// the gzip magic bytes (`series.csv.gz`, `flows.csv.gz`).
pub fn open_text(path: &Path) -> std::io::Result<Box<dyn Read + Send>> {
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(std::fs::File::open(path)?);
    if r.fill_buf()?.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)));
    }
    Ok(Box::new(r))
}

/// Reads a series from CSV text on any reader.
pub fn read_series<R: Read>(input: R, opts: &ReadOptions) -> Result<(Series, ReadReport)> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers: Vec<String> = rdr.headers()?.iter().map(|h| h.to_string()).collect();
    if headers.len() < 2 {
        return Err(Error::Invalid(
            "CSV needs a time column and at least one value column".into(),
        ));
    }
    // A first row of numbers only is data, not names: reading it as the
    // header would lose it and name columns after values.
    if headers
        .iter()
        .all(|h| !h.is_empty() && h.parse::<f64>().is_ok())
    {
        return Err(Error::Invalid(format!(
            "the first row ({}) holds numbers, not column names: add a header row such as `timestamp,value`",
            headers.join(",")
        )));
    }
    let time_idx = match &opts.time_column {
        Some(name) => headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Invalid(format!("no time column '{name}'")))?,
        None => headers
            .iter()
            .position(|h| {
                matches!(
                    h.to_ascii_lowercase().as_str(),
                    "time" | "timestamp" | "date" | "datetime" | "ts"
                )
            })
            .unwrap_or(0),
    };
    let mut value_idx: Vec<usize> = match &opts.value_columns {
        Some(names) => names
            .iter()
            .map(|n| {
                headers
                    .iter()
                    .position(|h| h == n)
                    .ok_or_else(|| Error::Invalid(format!("no column '{n}'")))
            })
            .collect::<Result<_>>()?,
        None => (0..headers.len()).filter(|&i| i != time_idx).collect(),
    };
    let time_name = headers.get(time_idx).cloned().unwrap_or_default();

    // rows: (time, line, values with NaN for missing)
    let mut rows: Vec<(i64, u64, Vec<f64>)> = Vec::new();
    let mut report = ReadReport::default();
    let mut last_t = i64::MIN;
    // Without named value columns, a column whose first value is text
    // (`netlens series`'s `top_talkers`) is left out rather than an error.
    let auto = opts.value_columns.is_none();
    let mut numeric = vec![false; value_idx.len()];
    let mut text = vec![false; value_idx.len()];
    for (k, rec) in rdr.records().enumerate() {
        let rec = rec?;
        let line = rec.position().map_or(k as u64 + 2, |p| p.line());
        if rec.iter().all(|c| c.is_empty()) {
            continue;
        }
        if rows.len() >= MAX_POINTS {
            return Err(Error::Limit(format!("more than {MAX_POINTS} rows")));
        }
        let tcell = rec.get(time_idx).unwrap_or("");
        let t = parse_time(tcell).ok_or_else(|| Error::Parse {
            line,
            column: time_name.clone(),
            message: format!("not a timestamp: '{tcell}'"),
        })?;
        let mut vals = Vec::with_capacity(value_idx.len());
        for (j, &vi) in value_idx.iter().enumerate() {
            let cell = rec.get(vi).unwrap_or("");
            let name = headers.get(vi).cloned().unwrap_or_default();
            if text.get(j).copied().unwrap_or(false) {
                vals.push(f64::NAN);
                continue;
            }
            let v = match cell.to_ascii_lowercase().as_str() {
                "" | "nan" | "na" | "null" | "none" => f64::NAN,
                _ => {
                    let parsed = cell.parse::<f64>();
                    if parsed.is_err() && auto && !numeric.get(j).copied().unwrap_or(true) {
                        if let Some(t) = text.get_mut(j) {
                            *t = true;
                        }
                        vals.push(f64::NAN);
                        continue;
                    }
                    let v: f64 = parsed.map_err(|_| Error::Parse {
                        line,
                        column: name.clone(),
                        message: format!("not a number: '{cell}'"),
                    })?;
                    if let Some(n) = numeric.get_mut(j) {
                        *n = true;
                    }
                    if !v.is_finite() {
                        return Err(Error::Parse {
                            line,
                            column: name,
                            message: format!("not a finite number: '{cell}'"),
                        });
                    }
                    v
                }
            };
            vals.push(v);
        }
        if t < last_t {
            report.reordered += 1;
        }
        last_t = last_t.max(t);
        rows.push((t, line, vals));
    }
    report.rows = rows.len();
    if text.iter().any(|&t| t) {
        let keep: Vec<bool> = text.iter().map(|&t| !t).collect();
        for (j, &vi) in value_idx.iter().enumerate() {
            if !keep.get(j).copied().unwrap_or(true) {
                report
                    .text_columns
                    .push(headers.get(vi).cloned().unwrap_or_default());
            }
        }
        let mut k = keep.iter();
        value_idx.retain(|_| k.next().copied().unwrap_or(true));
        for (_, _, vals) in rows.iter_mut() {
            let mut k = keep.iter();
            vals.retain(|_| k.next().copied().unwrap_or(true));
        }
        if value_idx.is_empty() {
            return Err(Error::Invalid(format!(
                "no numeric value column (text columns: {})",
                report.text_columns.join(", ")
            )));
        }
    }
    if rows.len() < 2 {
        return Err(Error::TooShort {
            what: "reading a series".into(),
            needed: 2,
            got: rows.len(),
        });
    }
    rows.sort_by_key(|r| r.0); // stable: file order kept within a timestamp
    let interval = match opts.interval {
        Some(i) if i > 0 => i,
        Some(i) => return Err(Error::Invalid(format!("interval must be > 0, got {i}"))),
        None => {
            report.interval_inferred = true;
            infer_interval(rows.iter().map(|r| r.0))?
        }
    };
    report.interval = interval;
    let (t0, t1) = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => unreachable_rows()?,
    };
    let span = (t1 as i128 - t0 as i128) / interval as i128 + 1;
    if span > MAX_POINTS as i128 {
        return Err(Error::Limit(format!(
            "{span} slots of {interval} s between first and last timestamp (max {MAX_POINTS})"
        )));
    }
    let n = span as usize;
    let ncol = value_idx.len();
    let mut sums = vec![vec![f64::NAN; n]; ncol];
    let mut counts = vec![vec![0u32; n]; ncol];
    let mut occupied = vec![false; n];
    for (t, line, vals) in &rows {
        let off = (t - t0) as f64 / interval as f64;
        let slot = off.round();
        if (off - slot).abs() > 1e-9 {
            report.snapped += 1;
        }
        let slot = (slot as usize).min(n - 1);
        if occupied.get(slot).copied().unwrap_or(false) {
            report.duplicates += 1;
            if opts.duplicates == DuplicatePolicy::Error {
                return Err(Error::Parse {
                    line: *line,
                    column: time_name.clone(),
                    message: format!("duplicate timestamp {}", format_time(*t)),
                });
            }
        }
        if let Some(o) = occupied.get_mut(slot) {
            *o = true;
        }
        for (c, v) in vals.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            let (Some(s), Some(k)) = (
                sums.get_mut(c).and_then(|s| s.get_mut(slot)),
                counts.get_mut(c).and_then(|s| s.get_mut(slot)),
            ) else {
                continue;
            };
            if opts.duplicates == DuplicatePolicy::Last || s.is_nan() {
                *s = *v;
                *k = 1;
            } else {
                *s += *v;
                *k += 1;
            }
        }
    }
    report.missing_slots = occupied.iter().filter(|o| !**o).count();
    let mut columns = Vec::with_capacity(ncol);
    for (c, &vi) in value_idx.iter().enumerate() {
        let mut values = sums.get(c).cloned().unwrap_or_default();
        if opts.duplicates == DuplicatePolicy::Mean
            && let Some(cnt) = counts.get(c)
        {
            for (v, k) in values.iter_mut().zip(cnt) {
                if *k > 1 {
                    *v /= f64::from(*k);
                }
            }
        }
        let name = headers.get(vi).cloned().unwrap_or_default();
        let missing = values.iter().filter(|v| v.is_nan()).count();
        if missing == values.len() {
            return Err(Error::Invalid(format!("column '{name}' has no values")));
        }
        if missing > 0 {
            if opts.gaps == GapFill::Error {
                return Err(Error::Invalid(format!(
                    "column '{name}' has {missing} missing values (gap filling disabled)"
                )));
            }
            fill_gaps(&mut values, opts.gaps);
            report.filled += missing;
        }
        columns.push(Column { name, values });
    }
    Ok((Series::new(t0, interval, columns)?, report))
}

fn unreachable_rows<T>() -> Result<T> {
    Err(Error::Invalid("no rows".into()))
}

/// The most common positive difference between successive sorted
/// timestamps (ties: the smaller). Errors when all timestamps are equal.
pub fn infer_interval(times: impl Iterator<Item = i64>) -> Result<i64> {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    let mut prev: Option<i64> = None;
    for t in times {
        if let Some(p) = prev
            && t > p
        {
            *counts.entry(t - p).or_default() += 1;
        }
        prev = Some(t);
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(d, _)| d)
        .ok_or_else(|| Error::Invalid("cannot infer an interval: all timestamps are equal".into()))
}

/// Fills NaN values in place by the rule (`Error` leaves them alone).
pub fn fill_gaps(values: &mut [f64], rule: GapFill) {
    match rule {
        GapFill::Error => {}
        GapFill::Zero => values
            .iter_mut()
            .filter(|v| v.is_nan())
            .for_each(|v| *v = 0.0),
        GapFill::Linear => {
            let known: Vec<usize> = (0..values.len())
                .filter(|&i| values.get(i).is_some_and(|v| !v.is_nan()))
                .collect();
            let (Some(&first), Some(&last)) = (known.first(), known.last()) else {
                return;
            };
            let fv = values.get(first).copied().unwrap_or(0.0);
            let lv = values.get(last).copied().unwrap_or(0.0);
            for v in values.iter_mut().take(first) {
                *v = fv;
            }
            for v in values.iter_mut().skip(last + 1) {
                *v = lv;
            }
            for w in known.windows(2) {
                let (a, b) = (w[0], w[1]);
                if b > a + 1 {
                    let va = values.get(a).copied().unwrap_or(0.0);
                    let vb = values.get(b).copied().unwrap_or(0.0);
                    for i in a + 1..b {
                        let f = (i - a) as f64 / (b - a) as f64;
                        if let Some(v) = values.get_mut(i) {
                            *v = va + f * (vb - va);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_first_row_is_not_taken_for_a_header() {
        let e = read_series("0,0.3848\n1,0.35\n".as_bytes(), &ReadOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("holds numbers, not column names"), "{e}");
    }

    fn read(text: &str) -> Result<(Series, ReadReport)> {
        read_series(text.as_bytes(), &ReadOptions::default())
    }

    #[test]
    fn parses_formats() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z"), Some(60));
        assert_eq!(parse_time("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_time("1970-01-01 00:00:30"), Some(30));
        assert_eq!(parse_time("1970-01-02"), Some(86400));
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000));
        assert_eq!(parse_time("1700000000000"), Some(1_700_000_000));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("inf"), None);
    }

    #[test]
    fn repairs_and_reports() {
        let csv = "timestamp,a,b\n\
                   1970-01-01 00:10:00,10,1\n\
                   1970-01-01 00:00:00,0,1\n\
                   1970-01-01 00:05:00,4,1\n\
                   1970-01-01 00:05:00,6,3\n\
                   1970-01-01 00:20:00,,1\n\
                   1970-01-01 00:25:00,25,1\n";
        let (s, r) = read(csv).expect("valid");
        assert_eq!(s.interval, 300);
        assert_eq!(s.start, 0);
        assert_eq!(s.len(), 6);
        assert_eq!(r.reordered, 3); // rows earlier than a row before them
        assert_eq!(r.duplicates, 1);
        assert_eq!(r.missing_slots, 1); // 00:15
        // a: 0,5(mean),10,gap->15,gap->20,25 ; b: 1,2,1,1,1,1
        let a = &s.columns[0].values;
        assert_eq!(a, &vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0]);
        assert_eq!(s.columns[1].values[1], 2.0);
        assert_eq!(r.filled, 3); // a@15, a@20, b@15
    }

    #[test]
    fn text_columns_are_left_out_unless_named() {
        // `netlens series` output: numbers plus a `top_talkers` text column.
        let csv = "timestamp,packets,top_talkers,bytes\n\
                   1970-01-01T00:00:00Z,5,10.0.0.1=300 10.0.0.2=100,400\n\
                   1970-01-01T00:01:00Z,7,,560\n\
                   1970-01-01T00:02:00Z,6,10.0.0.1=10,480\n";
        let (s, r) = read(csv).expect("valid");
        let names: Vec<&str> = s.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["packets", "bytes"]);
        assert_eq!(s.columns[1].values, vec![400.0, 560.0, 480.0]);
        assert_eq!(r.text_columns, ["top_talkers"]);
        // Named, a text column is still an error naming the line.
        let opts = ReadOptions {
            value_columns: Some(vec!["top_talkers".into()]),
            ..ReadOptions::default()
        };
        let err = read_series(csv.as_bytes(), &opts).expect_err("text");
        assert!(err.to_string().contains("top_talkers"), "{err}");
        // A numeric column that turns to text later stays an error.
        let err = read("time,v\n0,1\n60,x\n").expect_err("error");
        assert!(err.to_string().contains("line 3"), "{err}");
        // Only text: nothing to read.
        let err = read("time,who\n0,a\n60,b\n").expect_err("no numbers");
        assert!(err.to_string().contains("no numeric value column"), "{err}");
    }

    #[test]
    fn gzip_series_file_reads_like_plain() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let text = "time,v\n0,1\n60,2\n120,4\n";
        let gz = dir.path().join("s.csv.gz");
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).expect("create"),
            flate2::Compression::fast(),
        );
        e.write_all(text.as_bytes()).expect("write");
        e.finish().expect("finish");
        let (a, _) = read(text).expect("plain");
        let (b, _) = read_series_csv(&gz, &ReadOptions::default()).expect("gzip");
        assert_eq!(a.columns[0].values, b.columns[0].values);
        assert_eq!((a.start, a.interval), (b.start, b.interval));
    }

    #[test]
    fn errors_name_the_line() {
        let err = read("time,v\n0,1\n60,x\n").expect_err("error");
        let msg = err.to_string();
        assert!(msg.contains("line 3") && msg.contains("'v'"), "{msg}");
        let err = read("time,v\n0,1\nnope,2\n").expect_err("error");
        assert!(err.to_string().contains("line 3"));
        assert!(matches!(read("time,v\n0,1\n"), Err(Error::TooShort { .. })));
        assert!(read("time,v\n").is_err());
        assert!(read("").is_err());
        assert!(read("time,v\n0,1\n0,2\n").is_err()); // no positive interval
        // a huge span is a clear error, not an allocation
        assert!(matches!(
            read("time,v\n0,1\n1,1\n99999999999,1\n"),
            Err(Error::Limit(_))
        ));
        let strict = ReadOptions {
            duplicates: DuplicatePolicy::Error,
            ..Default::default()
        };
        assert!(read_series("t,v\n0,1\n0,2\n60,3\n".as_bytes(), &strict).is_err());
    }

    #[test]
    fn round_trip_csv() {
        let (s, _) = read("time,v\n0,1.5\n60,2\n120,3\n").expect("valid");
        let mut out = Vec::new();
        s.write_csv(&mut out).expect("write");
        let (s2, _) = read_series(out.as_slice(), &ReadOptions::default()).expect("reread");
        assert_eq!(s, s2);
        let mut j = Vec::new();
        s.write_json(&mut j).expect("json");
        let v: serde_json::Value = serde_json::from_slice(&j).expect("parse");
        assert_eq!(v["interval_s"], 60);
    }

    #[test]
    fn reads_real_files() {
        let dir = crate::tests_support::data_dir().join("timeseries");
        let (s, r) = read_series_csv(
            &dir.join("cortez-isp-traffic/internet-traffic-eu-transatlantic-hourly.csv"),
            &ReadOptions::default(),
        )
        .expect("cortez");
        assert_eq!(s.interval, 3600);
        assert_eq!(r.rows, 1231);
        assert!(s.len() >= 1231);
        let (s, _) = read_series_csv(
            &dir.join("nab-aws-cloudwatch/ec2_network_in_257a54.csv"),
            &ReadOptions::default(),
        )
        .expect("nab");
        assert_eq!(s.interval, 300);
        assert_eq!(s.columns[0].name, "value");
    }
}
