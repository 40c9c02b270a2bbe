//! In-memory tables loaded from CSV or Parquet.
//!
//! Invariants: every column of a [`Table`] has exactly `n_rows` values;
//! column names are unique (duplicates get `.1`, `.2`, … suffixes, as
//! pandas does) and trimmed of surrounding whitespace. Numeric columns hold
//! `f64`, with missing cells as NaN; `Infinity`/`NaN` spellings are parsed as
//! the corresponding floats and handled later by preprocessing.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{MlError, Result};

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers (missing = NaN).
    Num(Vec<f64>),
    /// Text (missing = empty string).
    Str(Vec<String>),
}

impl ColumnData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Num(v) => v.len(),
            ColumnData::Str(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `row` as text (numbers in shortest round-trip form).
    pub fn text(&self, row: usize) -> String {
        match self {
            ColumnData::Num(v) => v.get(row).map(|x| fmt_num(*x)).unwrap_or_default(),
            ColumnData::Str(v) => v.get(row).cloned().unwrap_or_default(),
        }
    }

    /// Converts to a text column.
    pub fn into_text(self) -> Vec<String> {
        match self {
            ColumnData::Num(v) => v.into_iter().map(fmt_num).collect(),
            ColumnData::Str(v) => v,
        }
    }

    /// Keeps only the rows at `idx` (in that order).
    pub fn take(&self, idx: &[usize]) -> ColumnData {
        match self {
            ColumnData::Num(v) => {
                ColumnData::Num(idx.iter().filter_map(|&i| v.get(i).copied()).collect())
            }
            ColumnData::Str(v) => {
                ColumnData::Str(idx.iter().filter_map(|&i| v.get(i).cloned()).collect())
            }
        }
    }
}

/// Formats a number the way it is written back to CSV.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        }
    } else {
        format!("{x}")
    }
}

/// A named column.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Unique, trimmed name.
    pub name: String,
    /// Values.
    pub data: ColumnData,
}

/// A table of named columns, all of the same length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The columns, in file order.
    pub columns: Vec<Column>,
    /// Number of rows.
    pub n_rows: usize,
    /// Malformed rows skipped while loading (wrong field count, bad UTF-8).
    pub skipped_rows: usize,
}

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Whether the first record is a header.
    pub has_header: bool,
    /// Column names to use (required names for header-less files; for files
    /// with a header they replace it). Missing names become `c<index>`.
    pub column_names: Option<Vec<String>>,
    /// Field delimiter.
    pub delimiter: u8,
    /// Stop after this many data rows (None = all).
    pub max_rows: Option<usize>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            column_names: None,
            delimiter: b',',
            max_rows: None,
        }
    }
}

/// Parses one cell as a number. `None` means "not a number" (text); empty
/// and NA-style cells are missing (NaN).
fn parse_cell(s: &str) -> Option<f64> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("na") || t.eq_ignore_ascii_case("null") {
        return Some(f64::NAN);
    }
    // Rust's parser accepts inf/infinity/nan in any case, which covers the
    // `Infinity`/`NaN` spellings of CIC-IDS2017 exports.
    t.parse::<f64>().ok()
}

/// The numbers of a text column when every cell reads as a number or is
/// missing (the CSV reader's typing rule); None when some cell is text.
pub fn text_as_numbers(v: &[String]) -> Option<Vec<f64>> {
    v.iter().map(|s| parse_cell(s)).collect()
}

/// A column under construction: numeric until a non-numeric cell appears.
enum Builder {
    Num(Vec<f64>),
    Str(Vec<String>),
}

impl Builder {
    fn push(&mut self, cell: &str) {
        match self {
            Builder::Num(v) => match parse_cell(cell) {
                Some(x) => v.push(x),
                None => {
                    let mut s: Vec<String> = std::mem::take(v).into_iter().map(fmt_num).collect();
                    s.push(cell.trim().to_string());
                    *self = Builder::Str(s);
                }
            },
            Builder::Str(v) => v.push(cell.trim().to_string()),
        }
    }
    fn finish(self) -> ColumnData {
        match self {
            Builder::Num(v) => ColumnData::Num(v),
            Builder::Str(v) => ColumnData::Str(v),
        }
    }
}

/// Makes names unique and trimmed (`a`, `a` → `a`, `a.1`).
pub fn dedupe_names(names: Vec<String>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(names.len());
    for (i, n) in names.into_iter().enumerate() {
        let mut base = n.trim().to_string();
        if base.is_empty() {
            base = format!("c{i}");
        }
        let mut name = base.clone();
        while let Some(k) = seen.get_mut(&name) {
            *k += 1;
            name = format!("{base}.{k}");
        }
        seen.insert(name.clone(), 0);
        out.push(name);
    }
    out
}

impl Table {
    /// Reads a CSV file (`-` = standard input).
    pub fn from_csv_path(path: &Path, opts: &CsvOptions) -> Result<Table> {
        let io = |e| MlError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        if path == Path::new("-") {
            let rdr = maybe_gunzip(std::io::BufReader::new(std::io::stdin().lock())).map_err(io)?;
            Table::from_csv_reader(rdr, path, opts)
        } else {
            let f = std::fs::File::open(path).map_err(io)?;
            let rdr = maybe_gunzip(std::io::BufReader::new(f)).map_err(io)?;
            Table::from_csv_reader(rdr, path, opts)
        }
    }

    /// Reads CSV from any reader; `path` is only used in messages.
    pub fn from_csv_reader<R: Read>(rdr: R, path: &Path, opts: &CsvOptions) -> Result<Table> {
        let err = |m: String| MlError::Csv {
            path: path.to_path_buf(),
            message: m,
        };
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(opts.delimiter)
            .from_reader(rdr);
        let mut records = r.byte_records();
        let mut first: Option<csv::ByteRecord> = None;
        let header: Vec<String> = if opts.has_header {
            match records.next() {
                Some(Ok(h)) => h
                    .iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect(),
                Some(Err(e)) => return Err(err(format!("header: {e}"))),
                None => return Err(err("empty file (no header)".into())),
            }
        } else {
            match records.next() {
                Some(Ok(rec)) => {
                    let n = rec.len();
                    first = Some(rec);
                    (0..n).map(|i| format!("c{i}")).collect()
                }
                Some(Err(e)) => return Err(err(format!("first record: {e}"))),
                None => return Err(err("empty file".into())),
            }
        };
        let mut names = header;
        if let Some(given) = &opts.column_names {
            if given.len() > names.len() {
                return Err(err(format!(
                    "{} column names given for {} columns",
                    given.len(),
                    names.len()
                )));
            }
            for (i, n) in given.iter().enumerate() {
                if let Some(slot) = names.get_mut(i) {
                    *slot = n.clone();
                }
            }
        }
        let names = dedupe_names(names);
        let width = names.len();
        if width == 0 {
            return Err(err("no columns".into()));
        }
        let mut builders: Vec<Builder> = (0..width).map(|_| Builder::Num(Vec::new())).collect();
        let mut n_rows = 0usize;
        let mut skipped = 0usize;
        let max_rows = opts.max_rows.unwrap_or(usize::MAX);
        let handle = |rec: &csv::ByteRecord, builders: &mut [Builder]| -> bool {
            if rec.len() != width {
                // A trailing empty line or a torn row: counted and skipped.
                return false;
            }
            let mut cells = Vec::with_capacity(width);
            for f in rec.iter() {
                match std::str::from_utf8(f) {
                    Ok(s) => cells.push(s),
                    Err(_) => return false,
                }
            }
            for (b, c) in builders.iter_mut().zip(cells) {
                b.push(c);
            }
            true
        };
        if let Some(rec) = first {
            if handle(&rec, &mut builders) {
                n_rows += 1;
            } else {
                skipped += 1;
            }
        }
        for rec in records {
            if n_rows >= max_rows {
                break;
            }
            match rec {
                Ok(rec) => {
                    if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty()) {
                        continue; // blank line
                    }
                    if handle(&rec, &mut builders) {
                        n_rows += 1;
                    } else {
                        skipped += 1;
                    }
                }
                Err(e) => {
                    if e.is_io_error() {
                        return Err(err(e.to_string()));
                    }
                    skipped += 1;
                }
            }
        }
        let columns = names
            .into_iter()
            .zip(builders)
            .map(|(name, b)| Column {
                name,
                data: b.finish(),
            })
            .collect();
        Ok(Table {
            columns,
            n_rows,
            skipped_rows: skipped,
        })
    }

    /// Reads a table, choosing the format from the extension (`.parquet`/`.pq`
    /// → Parquet, anything else → CSV, gzip-compressed or not).
    pub fn from_path(path: &Path, opts: &CsvOptions) -> Result<Table> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("parquet") | Some("pq") => crate::parquet_in::read_parquet(path),
            Some("gz")
                if path
                    .file_stem()
                    .map(Path::new)
                    .and_then(Path::extension)
                    .is_some_and(|e| e.eq_ignore_ascii_case("parquet")) =>
            {
                Err(MlError::InvalidInput(format!(
                    "{}: a gzip-compressed Parquet file; decompress it first (Parquet compresses inside the file)",
                    path.display()
                )))
            }
            _ => Table::from_csv_path(path, opts),
        }
    }

    /// Loads several files and stacks them (columns matched by name). A
    /// file whose columns differ from the first file's is an error naming
    /// it and the columns it lacks or adds.
    pub fn from_paths(paths: &[PathBuf], opts: &CsvOptions) -> Result<Table> {
        let mut tables: Vec<Table> = Vec::with_capacity(paths.len());
        for p in paths {
            let t = Table::from_path(p, opts)?;
            if let (Some(first), Some(first_path)) = (tables.first(), paths.first()) {
                let names = |t: &Table| -> std::collections::BTreeSet<String> {
                    t.columns.iter().map(|c| c.name.clone()).collect()
                };
                let (a, b) = (names(first), names(&t));
                if a != b {
                    let list = |s: Vec<&String>| {
                        let n = s.len();
                        let mut v: Vec<String> = s.into_iter().take(8).cloned().collect();
                        if n > 8 {
                            v.push(format!("... ({n} in all)"));
                        }
                        v.join(", ")
                    };
                    let missing = list(a.difference(&b).collect());
                    let extra = list(b.difference(&a).collect());
                    return Err(MlError::Schema(format!(
                        "{} has other columns than {}: missing [{missing}], extra [{extra}]",
                        p.display(),
                        first_path.display()
                    )));
                }
            }
            tables.push(t);
        }
        Table::concat(tables)
    }

    /// Stacks tables with the same column names (in any order). A column that
    /// is numeric in one table and text in another becomes text.
    pub fn concat(tables: Vec<Table>) -> Result<Table> {
        let mut it = tables.into_iter();
        let Some(mut acc) = it.next() else {
            return Err(MlError::InvalidInput("no input tables".into()));
        };
        for t in it {
            if t.columns.len() != acc.columns.len() {
                return Err(MlError::Schema(format!(
                    "{} columns vs {} columns",
                    acc.columns.len(),
                    t.columns.len()
                )));
            }
            let mut by_name: HashMap<String, ColumnData> =
                t.columns.into_iter().map(|c| (c.name, c.data)).collect();
            for col in acc.columns.iter_mut() {
                let Some(other) = by_name.remove(&col.name) else {
                    return Err(MlError::Schema(format!(
                        "column {:?} missing in a later table",
                        col.name
                    )));
                };
                let mine = std::mem::replace(&mut col.data, ColumnData::Num(Vec::new()));
                col.data = match (mine, other) {
                    (ColumnData::Num(mut a), ColumnData::Num(b)) => {
                        a.extend(b);
                        ColumnData::Num(a)
                    }
                    (a, b) => {
                        let mut a = a.into_text();
                        a.extend(b.into_text());
                        ColumnData::Str(a)
                    }
                };
            }
            acc.n_rows += t.n_rows;
            acc.skipped_rows += t.skipped_rows;
        }
        Ok(acc)
    }

    /// Index of a column by exact name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// A column by name, or an error listing some available names.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.index_of(name)
            .and_then(|i| self.columns.get(i))
            .ok_or_else(|| MlError::NoSuchColumn {
                name: name.to_string(),
                available: self.name_summary(),
            })
    }

    /// The first few column names, for messages.
    pub fn name_summary(&self) -> String {
        let mut s: Vec<&str> = self
            .columns
            .iter()
            .take(12)
            .map(|c| c.name.as_str())
            .collect();
        if self.columns.len() > 12 {
            s.push("…");
        }
        s.join(", ")
    }

    /// A new table with only the rows at `idx`.
    pub fn take_rows(&self, idx: &[usize]) -> Table {
        Table {
            columns: self
                .columns
                .iter()
                .map(|c| Column {
                    name: c.name.clone(),
                    data: c.data.take(idx),
                })
                .collect(),
            n_rows: idx.iter().filter(|&&i| i < self.n_rows).count(),
            skipped_rows: 0,
        }
    }

    /// Writes the table as CSV.
    pub fn write_csv<W: std::io::Write>(&self, w: W) -> Result<()> {
        let mut wr = csv::Writer::from_writer(w);
        let ioerr = |e: csv::Error| MlError::Csv {
            path: PathBuf::from("<output>"),
            message: e.to_string(),
        };
        wr.write_record(self.columns.iter().map(|c| c.name.as_str()))
            .map_err(ioerr)?;
        let mut row: Vec<String> = Vec::with_capacity(self.columns.len());
        for i in 0..self.n_rows {
            row.clear();
            row.extend(self.columns.iter().map(|c| c.data.text(i)));
            wr.write_record(&row).map_err(ioerr)?;
        }
        wr.flush().map_err(|e| MlError::Io {
            path: PathBuf::from("<output>"),
            source: e,
        })?;
        Ok(())
    }
}

/// `rdr` itself, or a gzip decoder over it when the stream starts with the
/// gzip magic bytes (`flows.csv.gz`, or a gzip stream on stdin).
fn maybe_gunzip<R: std::io::BufRead + 'static>(mut rdr: R) -> std::io::Result<Box<dyn Read>> {
    let head = rdr.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(rdr)))
    } else {
        Ok(Box::new(rdr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacking_names_the_file_and_columns_that_differ_and_surplus_names_fail() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, "x,y,label\n1,2,p\n").unwrap();
        std::fs::write(&b, "x,z,label\n1,2,p\n").unwrap();
        let e = Table::from_paths(&[a.clone(), b], &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("b.csv") && e.contains("missing [y]") && e.contains("extra [z]"),
            "{e}"
        );
        let opts = CsvOptions {
            has_header: false,
            column_names: Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]),
            ..Default::default()
        };
        let e = Table::from_path(&a, &opts).unwrap_err().to_string();
        assert!(e.contains("4 column names given for 3 columns"), "{e}");
    }

    fn load(s: &str, opts: &CsvOptions) -> Table {
        Table::from_csv_reader(s.as_bytes(), Path::new("t.csv"), opts).unwrap()
    }

    #[test]
    fn cic_quirks_are_handled() {
        let t = load(
            " a, b ,a,Label\n1,Infinity,NaN,X\n2,-inf,,Y\n3,4\n",
            &CsvOptions::default(),
        );
        let names: Vec<_> = t.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "a.1", "Label"]);
        assert_eq!(t.n_rows, 2);
        assert_eq!(t.skipped_rows, 1);
        match &t.columns[1].data {
            ColumnData::Num(v) => {
                assert_eq!(v[0], f64::INFINITY);
                assert_eq!(v[1], f64::NEG_INFINITY);
            }
            _ => panic!("b should be numeric"),
        }
        match &t.columns[2].data {
            ColumnData::Num(v) => assert!(v.iter().all(|x| x.is_nan())),
            _ => panic!("a.1 should be numeric"),
        }
        assert_eq!(
            t.columns[3].data,
            ColumnData::Str(vec!["X".into(), "Y".into()])
        );
    }

    #[test]
    fn gzip_csv_reads_like_plain_csv_and_gzip_parquet_is_refused() {
        use std::io::Write;
        let text = "a,b,Label\n1,2.5,X\n3,4,Y\n";
        let dir = tempfile::tempdir().expect("tempdir");
        let plain = dir.path().join("t.csv");
        std::fs::write(&plain, text).expect("write");
        let gz = dir.path().join("t.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).expect("create"),
            flate2::Compression::fast(),
        );
        enc.write_all(text.as_bytes()).expect("write");
        enc.finish().expect("finish");
        let opts = CsvOptions::default();
        let a = Table::from_path(&plain, &opts).expect("plain");
        let b = Table::from_path(&gz, &opts).expect("gzip");
        assert_eq!(a.n_rows, 2);
        assert_eq!(a.n_rows, b.n_rows);
        for (x, y) in a.columns.iter().zip(&b.columns) {
            assert_eq!((&x.name, &x.data), (&y.name, &y.data));
        }
        let err = Table::from_path(&dir.path().join("t.parquet.gz"), &opts)
            .expect_err("gzip Parquet is refused");
        assert!(err.to_string().contains("t.parquet.gz"), "{err}");
    }

    #[test]
    fn column_turns_text_midway() {
        let t = load("p\n6\n17\ntcp\n", &CsvOptions::default());
        assert_eq!(
            t.columns[0].data,
            ColumnData::Str(vec!["6".into(), "17".into(), "tcp".into()])
        );
    }

    #[test]
    fn headerless_with_names() {
        let opts = CsvOptions {
            has_header: false,
            column_names: Some(vec!["x".into()]),
            ..Default::default()
        };
        let t = load("1,a\n2,b\n", &opts);
        assert_eq!(t.n_rows, 2);
        assert_eq!(t.columns[0].name, "x");
        assert_eq!(t.columns[1].name, "c1");
    }

    #[test]
    fn garbage_does_not_panic() {
        let bytes: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let r = Table::from_csv_reader(&bytes[..], Path::new("g"), &CsvOptions::default());
        // Either an error or a table; never a panic.
        let _ = r;
        assert!(Table::from_csv_reader(&b""[..], Path::new("e"), &CsvOptions::default()).is_err());
    }

    #[test]
    fn concat_matches_by_name() {
        let a = load("x,y\n1,2\n", &CsvOptions::default());
        let b = load("y,x\nq,3\n", &CsvOptions::default());
        let t = Table::concat(vec![a, b]).unwrap();
        assert_eq!(t.n_rows, 2);
        assert_eq!(t.columns[0].data, ColumnData::Num(vec![1.0, 3.0]));
        assert_eq!(
            t.columns[1].data,
            ColumnData::Str(vec!["2".into(), "q".into()])
        );
    }
}
