//! Arrow tables → the ml crate's [`Table`].
//!
//! Numeric and boolean columns become numbers (nulls → NaN), exactly what
//! the ml crate's CSV reader makes of the CLI's CSV cells. Every other type
//! becomes text in the CLI's CSV spelling: timestamps as RFC 3339 with six
//! fraction digits (`netlens_export::time`), lists as `[a,b]`, strings as
//! they are (nulls → empty). So a model scores a table built in Python
//! exactly as it scores the CSV `netlens flows` writes.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use netlens_ml::table::{Column, ColumnData, Table, dedupe_names};

use crate::error::{Error, Result};

/// Largest number of cells accepted in one table (guards the f64/String
/// buffers against absurd inputs; 2³⁴ cells is far above any real dataset).
const MAX_CELLS: u128 = 1 << 34;

fn is_numeric(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
            | DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Boolean
    )
}

fn push_num(arr: &dyn Array, out: &mut Vec<f64>) -> Result<()> {
    macro_rules! prim {
        ($t:ty) => {{
            let a = arr.as_primitive::<$t>();
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    a.value(i) as f64
                }
            }));
        }};
    }
    match arr.data_type() {
        DataType::Int8 => prim!(Int8Type),
        DataType::Int16 => prim!(Int16Type),
        DataType::Int32 => prim!(Int32Type),
        DataType::Int64 => prim!(Int64Type),
        DataType::UInt8 => prim!(UInt8Type),
        DataType::UInt16 => prim!(UInt16Type),
        DataType::UInt32 => prim!(UInt32Type),
        DataType::UInt64 => prim!(UInt64Type),
        DataType::Float32 => prim!(Float32Type),
        DataType::Float64 => prim!(Float64Type),
        DataType::Float16 => {
            let a = arr.as_primitive::<Float16Type>();
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    f64::NAN
                } else {
                    f64::from(a.value(i))
                }
            }));
        }
        DataType::Boolean => {
            let a = arr.as_boolean();
            out.extend((0..a.len()).map(|i| {
                if a.is_null(i) {
                    f64::NAN
                } else if a.value(i) {
                    1.0
                } else {
                    0.0
                }
            }));
        }
        other => {
            return Err(Error::Invalid(format!(
                "column type {other} is not numeric"
            )));
        }
    }
    Ok(())
}

fn ts_to_us(v: i64, unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1_000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v.div_euclid(1_000),
    }
}

fn push_text(arr: &dyn Array, out: &mut Vec<String>) -> Result<()> {
    let n = arr.len();
    match arr.data_type() {
        DataType::Utf8 => {
            let a = arr.as_string::<i32>();
            out.extend((0..n).map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).trim().to_string()
                }
            }));
        }
        DataType::LargeUtf8 => {
            let a = arr.as_string::<i64>();
            out.extend((0..n).map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).trim().to_string()
                }
            }));
        }
        DataType::Utf8View => {
            let a = arr.as_string_view();
            out.extend((0..n).map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).trim().to_string()
                }
            }));
        }
        DataType::Timestamp(unit, _) => {
            let unit = *unit;
            let ints = arrow_cast::cast(arr, &DataType::Int64)?;
            let a = ints
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::Invalid("timestamp column did not cast to int64".into()))?;
            out.extend((0..n).map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    netlens_export::time::rfc3339_us(ts_to_us(a.value(i), &unit))
                }
            }));
        }
        DataType::List(_) | DataType::LargeList(_) => {
            for i in 0..n {
                if arr.is_null(i) {
                    out.push(String::new());
                    continue;
                }
                let inner = match (arr.as_list_opt::<i32>(), arr.as_list_opt::<i64>()) {
                    (Some(l), _) => l.value(i),
                    (None, Some(l)) => l.value(i),
                    (None, None) => {
                        return Err(Error::Invalid(format!(
                            "unsupported list type {}",
                            arr.data_type()
                        )));
                    }
                };
                let mut s = String::from("[");
                if is_numeric(inner.data_type()) {
                    let mut v = Vec::with_capacity(inner.len());
                    push_num(inner.as_ref(), &mut v)?;
                    for (j, x) in v.iter().enumerate() {
                        if j > 0 {
                            s.push(',');
                        }
                        s.push_str(&netlens_ml::table::fmt_num(*x));
                    }
                } else {
                    let mut v = Vec::with_capacity(inner.len());
                    push_text(inner.as_ref(), &mut v)?;
                    s.push_str(&v.join(","));
                }
                s.push(']');
                out.push(s);
            }
        }
        DataType::Dictionary(_, _) => {
            // pandas categoricals arrive as dictionaries: decode to plain text.
            let plain = arrow_cast::cast(arr, &DataType::Utf8)?;
            push_text(plain.as_ref(), out)?;
        }
        DataType::Null => out.extend(std::iter::repeat_n(String::new(), n)),
        _ => {
            let plain = arrow_cast::cast(arr, &DataType::Utf8)?;
            push_text(plain.as_ref(), out)?;
        }
    }
    Ok(())
}

/// Convert record batches (all of one schema) to a [`Table`].
pub fn batches_to_table(schema: &arrow_schema::Schema, batches: &[RecordBatch]) -> Result<Table> {
    let n_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if (n_rows as u128).saturating_mul(schema.fields().len() as u128) > MAX_CELLS {
        return Err(Error::Invalid(format!(
            "table too large ({n_rows} rows × {} columns)",
            schema.fields().len()
        )));
    }
    let names = dedupe_names(schema.fields().iter().map(|f| f.name().clone()).collect());
    let mut columns = Vec::with_capacity(names.len());
    for (ci, (name, field)) in names.into_iter().zip(schema.fields().iter()).enumerate() {
        let data = if is_numeric(field.data_type()) {
            let mut v = Vec::with_capacity(n_rows);
            for b in batches {
                let arr = b
                    .columns()
                    .get(ci)
                    .ok_or_else(|| Error::Invalid("batch narrower than its schema".into()))?;
                push_num(arr.as_ref(), &mut v)?;
            }
            ColumnData::Num(v)
        } else {
            let mut v = Vec::with_capacity(n_rows);
            for b in batches {
                let arr = b
                    .columns()
                    .get(ci)
                    .ok_or_else(|| Error::Invalid("batch narrower than its schema".into()))?;
                push_text(arr.as_ref(), &mut v)?;
            }
            ColumnData::Str(v)
        };
        if data.len() != n_rows {
            return Err(Error::Invalid(format!(
                "column {:?} has {} values for {n_rows} rows",
                field.name(),
                data.len()
            )));
        }
        columns.push(Column { name, data });
    }
    Ok(Table {
        columns,
        n_rows,
        skipped_rows: 0,
    })
}
