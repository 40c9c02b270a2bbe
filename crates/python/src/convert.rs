//! Arrow tables → the ml crate's [`Table`].
//!
//! The conversion is the ml crate's (`netlens_ml::parquet_in::ArrowTableBuilder`,
//! the one that also reads Parquet files): numeric and boolean columns
//! become numbers (nulls → NaN), everything else text in the CLI's CSV
//! spelling (timestamps RFC 3339 with six fraction digits, lists `[a,b]`,
//! categoricals decoded), and text columns that are all numbers become
//! numeric as in a CSV. So a model scores a table built in Python exactly
//! as it scores the CSV or Parquet `netlens flows` writes.

use arrow_array::RecordBatch;
use netlens_ml::parquet_in::ArrowTableBuilder;
use netlens_ml::table::Table;

use crate::error::{Error, Result};

/// Largest number of cells accepted in one table (guards the f64/String
/// buffers against absurd inputs; 2³⁴ cells is far above any real dataset).
const MAX_CELLS: u128 = 1 << 34;

/// Convert record batches (all of one schema) to a [`Table`].
pub fn batches_to_table(schema: &arrow_schema::Schema, batches: &[RecordBatch]) -> Result<Table> {
    let n_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if (n_rows as u128).saturating_mul(schema.fields().len() as u128) > MAX_CELLS {
        return Err(Error::Invalid(format!(
            "table too large ({n_rows} rows × {} columns)",
            schema.fields().len()
        )));
    }
    let mut table = ArrowTableBuilder::new(schema);
    for b in batches {
        table.push(b).map_err(Error::Invalid)?;
    }
    // The label column the estimators append (`_LABEL` in netlens/ml.py)
    // holds labels as text: "01" must stay "01", not become the number 1.
    Ok(table.finish_keeping_text(&[LABEL_COLUMN]))
}

/// Name of the label column `netlens.ml` estimators append to `X`.
const LABEL_COLUMN: &str = "__netlens_label__";
