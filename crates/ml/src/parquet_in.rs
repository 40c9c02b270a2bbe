//! Parquet input and output (behind the `parquet` cargo feature, because
//! arrow and parquet cost minutes of build time).
//!
//! Input follows the CSV reader, so the same flows as CSV and as Parquet
//! give the same [`Table`]: numeric and boolean columns become numbers
//! (nulls → NaN); text is trimmed (nulls → empty) and, like a CSV column,
//! becomes numeric when every value reads as a number; timestamps become
//! RFC 3339 UTC text with six fraction digits and lists `[a,b,...]` text,
//! exactly as `netlens flows` writes them to CSV (training leaves both
//! kinds of column out of the default features: see
//! [`crate::select::default_exclusions`]). On output, numbers are `Float64`
//! (NaN written as null) and text is `Utf8`.

use std::path::Path;

use crate::error::{MlError, Result};
#[cfg(feature = "parquet")]
use crate::table::Column;
use crate::table::{ColumnData, Table};

/// Numbers of a numeric or boolean Arrow array (None for other types).
#[cfg(feature = "parquet")]
fn arrow_numbers(arr: &dyn arrow_array::Array) -> Option<Vec<f64>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType;
    let n = arr.len();
    macro_rules! prim {
        ($t:ty) => {{
            let a = arr.as_primitive_opt::<$t>()?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        f64::NAN
                    } else {
                        a.value(i) as f64
                    }
                })
                .collect()
        }};
    }
    Some(match arr.data_type() {
        DataType::Float64 => prim!(Float64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int8 => prim!(Int8Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::Float16 => {
            let a = arr.as_primitive_opt::<Float16Type>()?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        f64::NAN
                    } else {
                        f64::from(a.value(i))
                    }
                })
                .collect()
        }
        DataType::Boolean => {
            let a = arr.as_boolean_opt()?;
            (0..n)
                .map(|i| {
                    if a.is_null(i) {
                        f64::NAN
                    } else if a.value(i) {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect()
        }
        _ => return None,
    })
}

/// Whether a column of this type is read as numbers.
#[cfg(feature = "parquet")]
fn is_numeric(t: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType;
    matches!(
        t,
        DataType::Float64
            | DataType::Float32
            | DataType::Float16
            | DataType::Int64
            | DataType::Int32
            | DataType::Int16
            | DataType::Int8
            | DataType::UInt64
            | DataType::UInt32
            | DataType::UInt16
            | DataType::UInt8
            | DataType::Boolean
    )
}

/// Builds a [`Table`] from Arrow record batches of one schema, with the
/// conversions of the module docs: the one Arrow → table path, used for
/// Parquet files here and for Arrow/pandas/polars tables by the Python
/// package.
#[cfg(feature = "parquet")]
pub struct ArrowTableBuilder {
    names: Vec<String>,
    cols: Vec<ColumnData>,
    n_rows: usize,
}

#[cfg(feature = "parquet")]
impl ArrowTableBuilder {
    /// An empty table with the columns of `schema` (duplicate names made unique).
    pub fn new(schema: &arrow_schema::Schema) -> Self {
        let names =
            crate::table::dedupe_names(schema.fields().iter().map(|f| f.name().clone()).collect());
        let cols = schema
            .fields()
            .iter()
            .map(|f| {
                if is_numeric(f.data_type()) {
                    ColumnData::Num(Vec::new())
                } else {
                    ColumnData::Str(Vec::new())
                }
            })
            .collect();
        ArrowTableBuilder {
            names,
            cols,
            n_rows: 0,
        }
    }

    /// Appends one batch; the error names the column whose type no table
    /// column can hold (as a message for the caller's error type).
    pub fn push(&mut self, batch: &arrow_array::RecordBatch) -> std::result::Result<(), String> {
        if batch.num_columns() != self.cols.len() {
            return Err(format!(
                "a batch has {} columns, the schema {}",
                batch.num_columns(),
                self.cols.len()
            ));
        }
        for (ci, col) in self.cols.iter_mut().enumerate() {
            let arr = batch.column(ci);
            let name = self.names.get(ci).map_or("", String::as_str);
            let unsupported = || {
                format!(
                    "column {name:?} has a type netlens tables do not read ({})",
                    arr.data_type()
                )
            };
            match col {
                ColumnData::Num(v) => {
                    v.extend(arrow_numbers(arr.as_ref()).ok_or_else(unsupported)?)
                }
                ColumnData::Str(v) => v.extend(arrow_text(arr.as_ref()).ok_or_else(unsupported)?),
            }
        }
        self.n_rows += batch.num_rows();
        Ok(())
    }

    /// The table. As the CSV reader does, a text column whose values all
    /// read as numbers (or are missing) becomes numeric.
    pub fn finish(self) -> Table {
        self.finish_keeping_text(&[])
    }

    /// [`finish`](Self::finish), except that the text columns named in
    /// `keep` stay text even when every value reads as a number: labels
    /// given as text (`"01"`, `"02"`) keep their spelling.
    pub fn finish_keeping_text(self, keep: &[&str]) -> Table {
        let columns = self
            .names
            .into_iter()
            .zip(self.cols)
            .map(|(name, data)| {
                let data = match data {
                    ColumnData::Str(v) if keep.contains(&name.as_str()) => ColumnData::Str(v),
                    ColumnData::Str(v) => match crate::table::text_as_numbers(&v) {
                        Some(x) => ColumnData::Num(x),
                        None => ColumnData::Str(v),
                    },
                    num => num,
                };
                Column { name, data }
            })
            .collect();
        Table {
            columns,
            n_rows: self.n_rows,
            skipped_rows: 0,
        }
    }
}

/// Reads a whole Parquet file into a [`Table`].
#[cfg(feature = "parquet")]
pub fn read_parquet(path: &Path) -> Result<Table> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let perr = |m: String| MlError::Parquet {
        path: path.to_path_buf(),
        message: m,
    };
    let file = std::fs::File::open(path).map_err(|e| MlError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| perr(e.to_string()))?;
    let mut table = ArrowTableBuilder::new(builder.schema());
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(|e| perr(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| perr(e.to_string()))?;
        table.push(&batch).map_err(perr)?;
    }
    Ok(table.finish())
}

/// Text of an Arrow array in the CSV spelling of `netlens flows`: strings
/// trimmed (null → empty), timestamps as RFC 3339 UTC with six fraction
/// digits, lists as `[a,b,...]` (integers plain, floats in shortest
/// round-trip form with a fraction, e.g. `0.0`). None for other types.
#[cfg(feature = "parquet")]
fn arrow_text(arr: &dyn arrow_array::Array) -> Option<Vec<String>> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::{DataType, TimeUnit};
    let n = arr.len();
    let get =
        |i: usize, f: &dyn Fn(usize) -> String| if arr.is_null(i) { String::new() } else { f(i) };
    match arr.data_type() {
        DataType::Utf8 => {
            let a = arr.as_string_opt::<i32>()?;
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).trim().to_string()))
                    .collect(),
            )
        }
        DataType::LargeUtf8 => {
            let a = arr.as_string_opt::<i64>()?;
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).trim().to_string()))
                    .collect(),
            )
        }
        DataType::Utf8View => {
            let a = arr.as_string_view_opt()?;
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).trim().to_string()))
                    .collect(),
            )
        }
        DataType::Null => Some(vec![String::new(); n]),
        DataType::Timestamp(unit, _) => {
            type ToUs = fn(i64) -> i64;
            let (vals, per_us): (Vec<Option<i64>>, ToUs) = match unit {
                TimeUnit::Second => (
                    arr.as_primitive_opt::<TimestampSecondType>()?
                        .iter()
                        .collect(),
                    |v| v.saturating_mul(1_000_000),
                ),
                TimeUnit::Millisecond => (
                    arr.as_primitive_opt::<TimestampMillisecondType>()?
                        .iter()
                        .collect(),
                    |v| v.saturating_mul(1_000),
                ),
                TimeUnit::Microsecond => (
                    arr.as_primitive_opt::<TimestampMicrosecondType>()?
                        .iter()
                        .collect(),
                    |v| v,
                ),
                TimeUnit::Nanosecond => (
                    arr.as_primitive_opt::<TimestampNanosecondType>()?
                        .iter()
                        .collect(),
                    |v| v.div_euclid(1_000),
                ),
            };
            Some(
                vals.into_iter()
                    .map(|v| v.map_or_else(String::new, |v| crate::time::rfc3339_us(per_us(v))))
                    .collect(),
            )
        }
        DataType::List(_) | DataType::LargeList(_) => {
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                if arr.is_null(i) {
                    out.push(String::new());
                    continue;
                }
                let inner = match (arr.as_list_opt::<i32>(), arr.as_list_opt::<i64>()) {
                    (Some(l), _) => l.value(i),
                    (None, Some(l)) => l.value(i),
                    (None, None) => return None,
                };
                let float = matches!(
                    inner.data_type(),
                    DataType::Float16 | DataType::Float32 | DataType::Float64
                );
                let items: Vec<String> = if is_numeric(inner.data_type()) {
                    arrow_numbers(inner.as_ref())?
                        .into_iter()
                        .map(|x| {
                            if x.is_nan() {
                                "nan".to_string()
                            } else if float {
                                format!("{x:?}")
                            } else {
                                crate::table::fmt_num(x)
                            }
                        })
                        .collect()
                } else {
                    arrow_text(inner.as_ref())?
                };
                out.push(format!("[{}]", items.join(",")));
            }
            Some(out)
        }
        // Dictionaries (pandas categoricals), dates, decimals...: their text.
        _ => {
            let plain = arrow_cast::cast(arr, &DataType::Utf8).ok()?;
            arrow_text(plain.as_ref())
        }
    }
}

/// Rows per record batch (and row group) written by [`write_parquet`].
#[cfg(feature = "parquet")]
const WRITE_BATCH: usize = 65_536;

/// The Parquet type a column should be written as, when the caller knows
/// it (e.g. from the flow feature registry): a table read from CSV holds
/// every number as `f64` and times as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutType {
    /// 64-bit integers (counts, ports, ids).
    Int,
    /// Floating point.
    Float,
    /// UTF-8 text (also for a column that was empty, hence read as numbers).
    Text,
    /// Timestamps in µs, UTC (from RFC 3339 text).
    TimestampUs,
}

/// A column's data as the Arrow array of its output type (`rows` of it).
#[cfg(feature = "parquet")]
fn typed_array(
    data: &ColumnData,
    ty: OutType,
    rows: std::ops::Range<usize>,
) -> arrow_array::ArrayRef {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, StringArray, TimestampMicrosecondArray};
    let num = |v: &Vec<f64>, i: usize| v.get(i).copied().filter(|x| !x.is_nan());
    let text = |v: &Vec<String>, i: usize| v.get(i).filter(|s| !s.is_empty()).cloned();
    match (data, ty) {
        (ColumnData::Num(v), OutType::Int) => Arc::new(Int64Array::from_iter(
            rows.map(|i| num(v, i).map(|x| x as i64)),
        )),
        (ColumnData::Num(v), OutType::Text) => Arc::new(StringArray::from_iter(
            rows.map(|i| num(v, i).map(|x| x.to_string())),
        )),
        (ColumnData::Str(v), OutType::TimestampUs) => Arc::new(
            TimestampMicrosecondArray::from_iter(
                rows.map(|i| text(v, i).and_then(|s| crate::time::parse_rfc3339_us(&s))),
            )
            .with_timezone("UTC"),
        ),
        (ColumnData::Num(v), _) => Arc::new(Float64Array::from_iter(rows.map(|i| num(v, i)))),
        (ColumnData::Str(v), _) => Arc::new(StringArray::from_iter_values(
            rows.map(|i| v.get(i).map_or("", String::as_str)),
        )),
    }
}

/// The type a column is written as: the hint when the values allow it
/// without loss (integers only when every value is whole and in range,
/// timestamps only when every value parses), else Float64 / UTF-8.
pub fn output_type(data: &ColumnData, hint: Option<OutType>) -> OutType {
    const I64_SAFE: f64 = 9.2e18;
    match (data, hint) {
        (ColumnData::Num(v), Some(OutType::Int))
            if v.iter()
                .all(|x| x.is_nan() || (x.fract() == 0.0 && x.abs() < I64_SAFE)) =>
        {
            OutType::Int
        }
        (ColumnData::Num(_), Some(OutType::Text)) => OutType::Text,
        (ColumnData::Str(v), Some(OutType::TimestampUs))
            if v.iter()
                .all(|s| s.is_empty() || crate::time::parse_rfc3339_us(s).is_some()) =>
        {
            OutType::TimestampUs
        }
        (ColumnData::Num(_), _) => OutType::Float,
        (ColumnData::Str(_), _) => OutType::Text,
    }
}

/// Writes a table as Parquet (snappy; `path` names the destination in errors), each column as the type `hint` gives for its
/// name where the values allow it (see [`OutType`]); other columns as
/// Float64 / UTF-8. Types depend on the hint, not on which values a table
/// happens to hold, so outputs of two runs read together.
#[cfg(feature = "parquet")]
pub fn write_parquet<W: std::io::Write + Send>(
    table: &Table,
    out: W,
    path: &Path,
    hint: &dyn Fn(&str) -> Option<OutType>,
) -> Result<()> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let perr = |m: String| MlError::Parquet {
        path: path.to_path_buf(),
        message: m,
    };
    let types: Vec<OutType> = table
        .columns
        .iter()
        .map(|c| output_type(&c.data, hint(&c.name)))
        .collect();
    let schema = Arc::new(Schema::new(
        table
            .columns
            .iter()
            .zip(&types)
            .map(|(c, t)| {
                let t = match t {
                    OutType::Int => DataType::Int64,
                    OutType::Float => DataType::Float64,
                    OutType::Text => DataType::Utf8,
                    OutType::TimestampUs => {
                        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                    }
                };
                Field::new(c.name.clone(), t, true)
            })
            .collect::<Vec<_>>(),
    ));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(WRITE_BATCH))
        .build();
    let mut w =
        ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|e| perr(e.to_string()))?;
    let mut start = 0;
    while start < table.n_rows {
        let end = (start + WRITE_BATCH).min(table.n_rows);
        let arrays: Vec<ArrayRef> = table
            .columns
            .iter()
            .zip(&types)
            .map(|(c, &t)| typed_array(&c.data, t, start..end))
            .collect();
        let batch =
            RecordBatch::try_new(schema.clone(), arrays).map_err(|e| perr(e.to_string()))?;
        w.write(&batch).map_err(|e| perr(e.to_string()))?;
        start = end;
    }
    w.close().map_err(|e| perr(e.to_string()))?;
    Ok(())
}

/// Parquet support is not compiled in: a clear error.
#[cfg(not(feature = "parquet"))]
pub fn write_parquet<W: std::io::Write + Send>(
    _table: &Table,
    _out: W,
    path: &Path,
    _hint: &dyn Fn(&str) -> Option<OutType>,
) -> Result<()> {
    Err(MlError::Parquet {
        path: path.to_path_buf(),
        message: "this build has no Parquet support (enable the `parquet` feature of netlens-ml)"
            .into(),
    })
}

/// Parquet support is not compiled in: a clear error.
#[cfg(not(feature = "parquet"))]
pub fn read_parquet(path: &Path) -> Result<Table> {
    Err(MlError::Parquet {
        path: path.to_path_buf(),
        message: "this build has no Parquet support (enable the `parquet` feature of netlens-ml)"
            .into(),
    })
}

#[cfg(all(test, feature = "parquet"))]
mod tests {
    use super::*;
    use crate::table::{Column, ColumnData};

    #[test]
    fn parquet_round_trip_keeps_numbers_text_and_missing_values() {
        let n = 70_000; // more than one batch / row group
        let t = Table {
            columns: vec![
                Column {
                    name: "x".into(),
                    data: ColumnData::Num(
                        (0..n)
                            .map(|i| {
                                if i % 10 == 3 {
                                    f64::NAN
                                } else {
                                    i as f64 * 0.5
                                }
                            })
                            .collect(),
                    ),
                },
                Column {
                    name: "prediction".into(),
                    data: ColumnData::Str((0..n).map(|i| format!("c{}", i % 3)).collect()),
                },
            ],
            n_rows: n,
            skipped_rows: 0,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        write_parquet(&t, std::fs::File::create(&path).unwrap(), &path, &|_| None).unwrap();
        let back = read_parquet(&path).unwrap();
        assert_eq!(back.n_rows, n);
        let (ColumnData::Num(a), ColumnData::Num(b)) = (&t.columns[0].data, &back.columns[0].data)
        else {
            panic!("x is not numeric after the round trip")
        };
        assert!(
            a.iter()
                .zip(b)
                .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        );
        assert_eq!(t.columns[1], back.columns[1]);
    }

    /// The hint decides a column's type only where the values allow it:
    /// integers when whole, timestamps when every value parses; an empty
    /// column read as numbers is text when the hint says text.
    #[test]
    fn output_type_follows_hint_without_loss() {
        use super::{OutType as O, output_type};
        let num = |v: &[f64]| ColumnData::Num(v.to_vec());
        let text = |v: &[&str]| ColumnData::Str(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(output_type(&num(&[1.0, f64::NAN]), Some(O::Int)), O::Int);
        assert_eq!(output_type(&num(&[1.5]), Some(O::Int)), O::Float);
        assert_eq!(output_type(&num(&[1.0]), None), O::Float);
        assert_eq!(output_type(&num(&[f64::NAN]), Some(O::Text)), O::Text);
        let ts = text(&["2026-03-02T13:00:11.625117Z", ""]);
        assert_eq!(output_type(&ts, Some(O::TimestampUs)), O::TimestampUs);
        assert_eq!(
            output_type(&text(&["7/7/2017 8:59"]), Some(O::TimestampUs)),
            O::Text
        );
    }
}
