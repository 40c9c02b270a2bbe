//! Parquet output through the arrow/parquet crates.
//!
//! The Arrow schema is generated from the registry: `uint64`/`int64`/
//! `float64`/`string` map to the Arrow types of the same name, timestamps to
//! `Timestamp(Microsecond, "UTC")`, early-flow arrays to `List<Int64>` /
//! `List<Float64>`. Rows are buffered in column builders and written as a
//! record batch every `batch_rows` flows, so memory is bounded.

use std::io::Write;
use std::sync::Arc;

use arrow_array::builder::{
    Float64Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use netlens_flow::{Column, ColumnType, Flow, Selection, Value};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::{ExportError, FlowWriter, push_text};

/// Parquet writer settings.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    /// Flows per record batch.
    pub batch_rows: usize,
    /// Most flows per row group.
    pub row_group_rows: usize,
    /// Dictionary-encode the text columns (smaller files; numeric columns are never dictionary-encoded).
    pub dictionary: bool,
    /// Compression codec.
    pub compression: Compression,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            batch_rows: 65_536,
            row_group_rows: 262_144,
            dictionary: true,
            compression: Compression::SNAPPY,
        }
    }
}

enum Builder {
    U64(UInt64Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    ListI64(ListBuilder<Int64Builder>),
    ListF64(ListBuilder<Float64Builder>),
}

/// The Arrow schema for a selection of columns.
pub fn arrow_schema(sel: &Selection) -> Schema {
    Schema::new(
        sel.columns()
            .map(|c| arrow_field(c, sel.output_name(c)))
            .collect::<Vec<_>>(),
    )
}

fn arrow_field(c: &Column, name: &str) -> Field {
    let dt = match c.ty {
        ColumnType::U64 => DataType::UInt64,
        ColumnType::I64 => DataType::Int64,
        ColumnType::F64 => DataType::Float64,
        ColumnType::Str => DataType::Utf8,
        ColumnType::TimestampUs => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::ListI64 => DataType::List(Arc::new(Field::new("item", DataType::Int64, true))),
        ColumnType::ListF64 => {
            DataType::List(Arc::new(Field::new("item", DataType::Float64, true)))
        }
    };
    Field::new(name, dt, true)
}

fn builder(c: &Column, cap: usize) -> Builder {
    match c.ty {
        ColumnType::U64 => Builder::U64(UInt64Builder::with_capacity(cap)),
        ColumnType::I64 => Builder::I64(Int64Builder::with_capacity(cap)),
        ColumnType::F64 => Builder::F64(Float64Builder::with_capacity(cap)),
        ColumnType::Str => Builder::Str(StringBuilder::with_capacity(cap, cap * 16)),
        ColumnType::TimestampUs => {
            Builder::Ts(TimestampMicrosecondBuilder::with_capacity(cap).with_timezone("UTC"))
        }
        ColumnType::ListI64 => Builder::ListI64(ListBuilder::new(Int64Builder::new())),
        ColumnType::ListF64 => Builder::ListF64(ListBuilder::new(Float64Builder::new())),
    }
}

/// Accumulates flows into Arrow column builders and yields record batches
/// with the registry's schema (used by the Parquet writer and by bindings
/// that hand Arrow data to other tools, e.g. Python).
pub struct BatchBuilder {
    schema: Arc<Schema>,
    cols: Vec<&'static Column>,
    builders: Vec<Builder>,
    rows: usize,
    tmp: Vec<u8>,
}

/// Streaming Parquet writer.
pub(crate) struct ParquetWriter {
    w: ArrowWriter<Box<dyn Write + Send>>,
    batch: BatchBuilder,
    opts: ParquetOptions,
}

impl BatchBuilder {
    /// A builder for the selected columns, sized for about `capacity` rows.
    pub fn new(sel: &Selection, capacity: usize) -> BatchBuilder {
        let cols: Vec<&'static Column> = sel.columns().collect();
        let builders = cols
            .iter()
            .map(|c| builder(c, capacity.min(65_536)))
            .collect();
        BatchBuilder {
            schema: Arc::new(arrow_schema(sel)),
            cols,
            builders,
            rows: 0,
            tmp: Vec::with_capacity(64),
        }
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> Arc<Schema> {
        self.schema.clone()
    }

    /// Rows appended since the last `finish`.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row is pending.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Append one flow as a row.
    pub fn append(&mut self, f: &Flow) {
        for (c, b) in self.cols.iter().zip(self.builders.iter_mut()) {
            let v = c.value(f);
            match b {
                Builder::U64(b) => match v {
                    Value::U64(x) => b.append_value(x),
                    Value::I64(x) => b.append_value(u64::try_from(x).unwrap_or(0)),
                    _ => b.append_null(),
                },
                Builder::I64(b) => match v {
                    Value::I64(x) => b.append_value(x),
                    Value::U64(x) => b.append_value(i64::try_from(x).unwrap_or(i64::MAX)),
                    _ => b.append_null(),
                },
                Builder::F64(b) => match v {
                    Value::F64(x) => b.append_value(x),
                    _ => b.append_null(),
                },
                Builder::Str(b) => match v {
                    Value::Null => b.append_null(),
                    Value::Str(s) => b.append_value(s),
                    other => {
                        self.tmp.clear();
                        push_text(&mut self.tmp, &other);
                        b.append_value(String::from_utf8_lossy(&self.tmp));
                    }
                },
                Builder::Ts(b) => match v {
                    Value::TimestampUs(x) => b.append_value(x),
                    _ => b.append_null(),
                },
                Builder::ListI64(b) => match v {
                    Value::ListI8(xs) => {
                        for &x in xs {
                            b.values().append_value(i64::from(x));
                        }
                        b.append(true);
                    }
                    Value::ListI32(xs) => {
                        for &x in xs {
                            b.values().append_value(i64::from(x));
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                },
                Builder::ListF64(b) => match v {
                    Value::ListF64(xs) => {
                        b.values().append_slice(xs);
                        b.append(true);
                    }
                    _ => b.append(false),
                },
            }
        }
        self.rows += 1;
    }

    /// The rows appended so far as a record batch; the builder is then empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ExportError> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::U64(b) => Arc::new(b.finish()),
                    Builder::I64(b) => Arc::new(b.finish()),
                    Builder::F64(b) => Arc::new(b.finish()),
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Ts(b) => Arc::new(b.finish()),
                    Builder::ListI64(b) => Arc::new(b.finish()),
                    Builder::ListF64(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

impl ParquetWriter {
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        sel: &Selection,
        opts: ParquetOptions,
    ) -> Result<ParquetWriter, ExportError> {
        let batch = BatchBuilder::new(sel, opts.batch_rows);
        // Dictionary encoding pays off for text (addresses, MACs, names
        // repeat) but not for counters, timestamps and ids, which are mostly
        // distinct: building a dictionary for them only to fall back to
        // plain encoding costs about a fifth of the export time.
        let mut props = WriterProperties::builder()
            .set_compression(opts.compression)
            .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
            .set_dictionary_enabled(false)
            .set_created_by(concat!("netlens ", env!("CARGO_PKG_VERSION")).to_string());
        if opts.dictionary {
            for f in batch.schema().fields() {
                if matches!(f.data_type(), DataType::Utf8) {
                    props = props
                        .set_column_dictionary_enabled(ColumnPath::from(f.name().as_str()), true);
                }
            }
        }
        let props = props.build();
        let w = ArrowWriter::try_new(out, batch.schema(), Some(props))?;
        Ok(ParquetWriter { w, batch, opts })
    }

    fn flush_batch(&mut self) -> Result<(), ExportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = self.batch.finish()?;
        self.w.write(&batch)?;
        Ok(())
    }
}

impl FlowWriter for ParquetWriter {
    fn write(&mut self, flows: &[Flow]) -> Result<(), ExportError> {
        for f in flows {
            self.batch.append(f);
            if self.batch.len() >= self.opts.batch_rows {
                self.flush_batch()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush_batch()?;
        self.w.close()?;
        Ok(())
    }
}
