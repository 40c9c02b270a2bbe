//! Parquet input and output (behind the `parquet` cargo feature, because
//! arrow and parquet cost minutes of build time). Numeric Arrow columns
//! become [`ColumnData::Num`], strings and everything else become text; on
//! output, numbers are `Float64` (NaN written as null) and text is `Utf8`.

use std::path::Path;

use crate::error::{MlError, Result};
use crate::table::Table;
#[cfg(feature = "parquet")]
use crate::table::{Column, ColumnData};

/// Reads a whole Parquet file into a [`Table`].
#[cfg(feature = "parquet")]
pub fn read_parquet(path: &Path) -> Result<Table> {
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType;
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
    let schema = builder.schema().clone();
    let reader = builder
        .with_batch_size(65_536)
        .build()
        .map_err(|e| perr(e.to_string()))?;
    let names =
        crate::table::dedupe_names(schema.fields().iter().map(|f| f.name().clone()).collect());
    let mut cols: Vec<ColumnData> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
                ColumnData::Str(Vec::new())
            }
            t if t.is_numeric() || *t == DataType::Boolean => ColumnData::Num(Vec::new()),
            _ => ColumnData::Str(Vec::new()),
        })
        .collect();
    let mut n_rows = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| perr(e.to_string()))?;
        for (ci, col) in cols.iter_mut().enumerate() {
            let arr = batch.column(ci);
            let n = arr.len();
            macro_rules! push_prim {
                ($t:ty, $v:expr) => {{
                    let a = arr.as_primitive::<$t>();
                    for i in 0..n {
                        $v.push(if a.is_null(i) {
                            f64::NAN
                        } else {
                            a.value(i) as f64
                        });
                    }
                }};
            }
            match col {
                ColumnData::Num(v) => match arr.data_type() {
                    DataType::Float64 => push_prim!(Float64Type, v),
                    DataType::Float32 => push_prim!(Float32Type, v),
                    DataType::Int64 => push_prim!(Int64Type, v),
                    DataType::Int32 => push_prim!(Int32Type, v),
                    DataType::Int16 => push_prim!(Int16Type, v),
                    DataType::Int8 => push_prim!(Int8Type, v),
                    DataType::UInt64 => push_prim!(UInt64Type, v),
                    DataType::UInt32 => push_prim!(UInt32Type, v),
                    DataType::UInt16 => push_prim!(UInt16Type, v),
                    DataType::UInt8 => push_prim!(UInt8Type, v),
                    DataType::Boolean => {
                        let a = arr.as_boolean();
                        for i in 0..n {
                            v.push(if a.is_null(i) {
                                f64::NAN
                            } else if a.value(i) {
                                1.0
                            } else {
                                0.0
                            });
                        }
                    }
                    other => {
                        // Decimal/float16 and friends: go through the string cast.
                        let s = arrow_cast_text(arr.as_ref())
                            .ok_or_else(|| perr(format!("unsupported numeric type {other}")))?;
                        v.extend(s.iter().map(|x| x.parse::<f64>().unwrap_or(f64::NAN)));
                    }
                },
                ColumnData::Str(v) => {
                    let s = arrow_cast_text(arr.as_ref()).ok_or_else(|| {
                        perr(format!("unsupported column type {}", arr.data_type()))
                    })?;
                    v.extend(s);
                }
            }
        }
        n_rows += batch.num_rows();
    }
    Ok(Table {
        columns: names
            .into_iter()
            .zip(cols)
            .map(|(name, data)| Column { name, data })
            .collect(),
        n_rows,
        skipped_rows: 0,
    })
}

/// Text of a string-like Arrow array (None for other types).
#[cfg(feature = "parquet")]
fn arrow_cast_text(arr: &dyn arrow_array::Array) -> Option<Vec<String>> {
    use arrow_array::cast::AsArray;
    use arrow_schema::DataType;
    let n = arr.len();
    let get =
        |i: usize, f: &dyn Fn(usize) -> String| if arr.is_null(i) { String::new() } else { f(i) };
    match arr.data_type() {
        DataType::Utf8 => {
            let a = arr.as_string::<i32>();
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).to_string()))
                    .collect(),
            )
        }
        DataType::LargeUtf8 => {
            let a = arr.as_string::<i64>();
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).to_string()))
                    .collect(),
            )
        }
        DataType::Utf8View => {
            let a = arr.as_string_view();
            Some(
                (0..n)
                    .map(|i| get(i, &|i| a.value(i).to_string()))
                    .collect(),
            )
        }
        DataType::Dictionary(_, _) => None,
        _ => None,
    }
}

/// Rows per record batch (and row group) written by [`write_parquet`].
#[cfg(feature = "parquet")]
const WRITE_BATCH: usize = 65_536;

/// Writes `table` as Parquet (snappy) to `out`; `path` names the
/// destination in errors.
#[cfg(feature = "parquet")]
pub fn write_parquet<W: std::io::Write + Send>(table: &Table, out: W, path: &Path) -> Result<()> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let perr = |m: String| MlError::Parquet {
        path: path.to_path_buf(),
        message: m,
    };
    let schema = Arc::new(Schema::new(
        table
            .columns
            .iter()
            .map(|c| {
                let t = match c.data {
                    ColumnData::Num(_) => DataType::Float64,
                    ColumnData::Str(_) => DataType::Utf8,
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
            .map(|c| -> ArrayRef {
                match &c.data {
                    ColumnData::Num(v) => Arc::new(Float64Array::from_iter(
                        (start..end).map(|i| v.get(i).copied().filter(|x| !x.is_nan())),
                    )),
                    ColumnData::Str(v) => Arc::new(StringArray::from_iter_values(
                        (start..end).map(|i| v.get(i).map_or("", String::as_str)),
                    )),
                }
            })
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
pub fn write_parquet<W: std::io::Write + Send>(_table: &Table, _out: W, path: &Path) -> Result<()> {
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
        write_parquet(&t, std::fs::File::create(&path).unwrap(), &path).unwrap();
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
}
