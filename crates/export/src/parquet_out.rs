//! Parquet output through the arrow/parquet crates.
//!
//! The Arrow schema is generated from the registry: `uint64`/`int64`/
//! `float64`/`string` map to the Arrow types of the same name, timestamps to
//! `Timestamp(Microsecond, "UTC")`, early-flow arrays to `List<Int64>` /
//! `List<Float64>`. Flows are converted column by column straight into Arrow
//! buffers and written as a record batch every `batch_rows` flows (earlier
//! when text or list data grows past a bound), so memory is bounded.
//!
//! Invariants: the values written are exactly those of [`Column::value`]
//! (text as the CSV writer formats it), whatever the batching, the thread
//! that encodes, or the writer properties; with `background` at most
//! `BACKGROUND_QUEUE` finished batches wait for the encoder thread.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow_array::{
    ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, RecordBatchOptions, StringArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{Buffer, NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Field, FieldRef, Schema, TimeUnit};
use netlens_flow::{Column, ColumnType, Fill, Flow, Selection, Value};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::{ExportError, FlowWriter, push_hex_bytes, push_ipv4, push_text};

/// Parquet writer settings.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    /// Flows per record batch. 16 Ki rows keep every column buffer at
    /// ≤ 128 KiB, which the allocator recycles from batch to batch; with
    /// 64 Ki rows the 512 KiB buffers were fresh pages for every batch and
    /// `--features all` took 13 % more CPU time (best of 3 runs each on a
    /// 1 M-packet prefix of the flows benchmark capture).
    pub batch_rows: usize,
    /// Most flows per row group.
    pub row_group_rows: usize,
    /// Dictionary-encode the text columns (smaller files; numeric columns are never dictionary-encoded).
    pub dictionary: bool,
    /// Compression codec.
    pub compression: Compression,
    /// Encode integer and timestamp columns as DELTA_BINARY_PACKED instead
    /// of PLAIN: counters, ports and timestamps are small or close together,
    /// so files are about 2.5 times smaller at the same encoding cost. Read
    /// by pyarrow, polars, DuckDB and Spark (≥ 3.3 vectorised).
    pub delta_integers: bool,
    /// Statistics level (min/max, null count) for the numeric columns.
    pub statistics: EnabledStatistics,
    /// Also keep statistics for text columns (lexicographic min/max of
    /// addresses rarely prune anything, and computing them is costly).
    pub text_statistics: bool,
    /// Encode and compress on a separate thread while the caller meters
    /// (the file is identical either way).
    pub background: bool,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            batch_rows: 16_384,
            row_group_rows: 262_144,
            dictionary: true,
            compression: Compression::SNAPPY,
            delta_integers: true,
            statistics: EnabledStatistics::Page,
            text_statistics: false,
            background: false,
        }
    }
}

/// The Arrow schema for a selection of columns.
pub fn arrow_schema(sel: &Selection) -> Schema {
    Schema::new(
        sel.columns()
            .map(|c| arrow_field(c, sel.output_name(c)))
            .collect::<Vec<_>>(),
    )
}

fn list_item(dt: DataType) -> FieldRef {
    Arc::new(Field::new("item", dt, true))
}

fn arrow_field(c: &Column, name: &str) -> Field {
    let dt = match c.ty {
        // Counts are written as signed 64-bit integers: Spark, Trino and
        // Hive read Parquet's UINT_64 as decimal(20, 0), and NFStream's
        // pandas tables hold int64. No count comes near 2^63 (values are
        // capped there all the same).
        ColumnType::U64 => DataType::Int64,
        ColumnType::I64 => DataType::Int64,
        ColumnType::F64 => DataType::Float64,
        ColumnType::Str => DataType::Utf8,
        ColumnType::TimestampUs => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        ColumnType::ListI64 => DataType::List(list_item(DataType::Int64)),
        ColumnType::ListF64 => DataType::List(list_item(DataType::Float64)),
    };
    Field::new(name, dt, true)
}

/// Flows converted per pass over the columns: a chunk of flows (about
/// 250 bytes each) stays in the L2 cache while every column reads it.
const CHUNK_FLOWS: usize = 1024;

/// A batch is cut early once a text or list column holds this many bytes or
/// list items, so 32-bit Arrow offsets cannot overflow and memory stays
/// bounded even with long strings or long `--splt` arrays.
const MAX_VAR_UNITS: usize = 1 << 26;

/// Values of one column for the rows of the current batch, in the layout of
/// the Arrow array they become (values, offsets for text and lists).
enum Buf {
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    Ts(Vec<i64>),
    Str { offsets: Vec<i32>, data: Vec<u8> },
    ListI64 { offsets: Vec<i32>, values: Vec<i64> },
    ListF64 { offsets: Vec<i32>, values: Vec<f64> },
}

/// One column being filled: its registry entry, values and validity.
struct ColBuf {
    col: &'static Column,
    buf: Buf,
    nulls: NullBufferBuilder,
    cap: usize,
    /// An empty buffer taken back from an encoded batch
    /// ([`BatchBuilder::recycle`]), used for the next batch instead of a
    /// fresh allocation.
    spare: Option<Buf>,
}

/// Offsets start at 0 (so an empty batch is a valid array).
fn new_offsets(cap: usize) -> Vec<i32> {
    let mut v = Vec::with_capacity(cap + 1);
    v.push(0);
    v
}

impl ColBuf {
    fn new(col: &'static Column, cap: usize) -> ColBuf {
        ColBuf {
            col,
            buf: ColBuf::empty(col.ty, cap),
            nulls: NullBufferBuilder::new(cap),
            cap,
            spare: None,
        }
    }

    /// The buffers of `arr`, this column's array of an encoded batch,
    /// emptied for reuse; None when they are shared or of another layout
    /// (then the next batch allocates, as without recycling).
    fn reclaim(ty: ColumnType, arr: ArrayRef) -> Option<Buf> {
        let data = arr.to_data();
        drop(arr);
        let bufs: Vec<Buffer> = data.buffers().to_vec();
        drop(data);
        let mut bufs = bufs.into_iter();
        let first = bufs.next()?;
        let second = bufs.next();
        // Drop the handles the iterator still holds, so each buffer is owned once.
        drop(bufs);
        macro_rules! fixed {
            ($variant:ident, $t:ty) => {{
                let mut v = first.into_vec::<$t>().ok()?;
                v.clear();
                Some(Buf::$variant(v))
            }};
        }
        match ty {
            ColumnType::U64 => fixed!(U64, u64),
            ColumnType::I64 => fixed!(I64, i64),
            ColumnType::F64 => fixed!(F64, f64),
            ColumnType::TimestampUs => fixed!(Ts, i64),
            ColumnType::Str => {
                let mut offsets = first.into_vec::<i32>().ok()?;
                let mut data = second?.into_vec::<u8>().ok()?;
                offsets.clear();
                offsets.push(0);
                data.clear();
                Some(Buf::Str { offsets, data })
            }
            // Lists (the per-packet sequences) are rare: not recycled.
            ColumnType::ListI64 | ColumnType::ListF64 => None,
        }
    }

    fn empty(ty: ColumnType, cap: usize) -> Buf {
        match ty {
            ColumnType::U64 => Buf::U64(Vec::with_capacity(cap)),
            ColumnType::I64 => Buf::I64(Vec::with_capacity(cap)),
            ColumnType::F64 => Buf::F64(Vec::with_capacity(cap)),
            ColumnType::TimestampUs => Buf::Ts(Vec::with_capacity(cap)),
            ColumnType::Str => Buf::Str {
                offsets: new_offsets(cap),
                data: Vec::with_capacity(cap * 12),
            },
            ColumnType::ListI64 => Buf::ListI64 {
                offsets: new_offsets(cap),
                values: Vec::new(),
            },
            ColumnType::ListF64 => Buf::ListF64 {
                offsets: new_offsets(cap),
                values: Vec::new(),
            },
        }
    }

    /// Bytes or list items held by a variable-length column (0 otherwise).
    fn var_units(&self) -> usize {
        match &self.buf {
            Buf::Str { data, .. } => data.len(),
            Buf::ListI64 { values, .. } => values.len(),
            Buf::ListF64 { values, .. } => values.len(),
            _ => 0,
        }
    }

    /// Append a number column's values for a chunk of flows with its typed
    /// reader ([`Fill`]); false, with nothing appended, for other columns
    /// and for a chunk with a null (read through [`ColBuf::fill`] then).
    fn fill_typed(&mut self, flows: &[Flow]) -> bool {
        fn typed<T>(
            v: &mut Vec<T>,
            read: fn(&[Flow], &mut Vec<T>) -> bool,
            flows: &[Flow],
        ) -> bool {
            let start = v.len();
            if read(flows, v) {
                return true;
            }
            v.truncate(start);
            false
        }
        let done = match (&mut self.buf, self.col.fill) {
            (Buf::U64(v), Fill::U64(read)) => typed(v, read, flows),
            (Buf::I64(v) | Buf::Ts(v), Fill::I64(read)) => typed(v, read, flows),
            (Buf::F64(v), Fill::F64(read)) => typed(v, read, flows),
            _ => false,
        };
        if done {
            self.nulls.append_n_non_nulls(flows.len());
        }
        done
    }

    /// Append the column's values for a chunk of flows (read with
    /// `Column::values`, one call per chunk). One column at a time: the
    /// value type is the same for every row, so the loop is
    /// branch-predictable and allocation-free.
    fn fill(&mut self, vals: &[Value<'_>]) {
        let nulls = &mut self.nulls;
        match &mut self.buf {
            Buf::U64(v) => fill_fixed(v, nulls, vals, Value::u64_cell),
            Buf::I64(v) => fill_fixed(v, nulls, vals, Value::i64_cell),
            Buf::F64(v) => fill_fixed(v, nulls, vals, Value::f64_cell),
            Buf::Ts(v) => fill_fixed(v, nulls, vals, Value::timestamp_cell),
            Buf::Str { offsets, data } => {
                for cell in vals {
                    let start = data.len();
                    match cell {
                        Value::Null => nulls.append_null(),
                        Value::Str(s) => {
                            data.extend_from_slice(s.as_bytes());
                            nulls.append_non_null();
                        }
                        Value::Ip(IpAddr::V4(a)) => {
                            push_ipv4(data, a.octets());
                            nulls.append_non_null();
                        }
                        Value::Mac(m) => {
                            push_hex_bytes(data, m);
                            nulls.append_non_null();
                        }
                        Value::Oui(m) => {
                            push_hex_bytes(data, m);
                            nulls.append_non_null();
                        }
                        _ => {
                            push_text(data, cell);
                            nulls.append_non_null();
                        }
                    }
                    push_offset(offsets, data, start, nulls);
                }
            }
            Buf::ListI64 { offsets, values } => {
                for v in vals {
                    let start = values.len();
                    match *v {
                        Value::ListI8(xs) => {
                            values.extend(xs.iter().map(|&x| i64::from(x)));
                            nulls.append_non_null();
                        }
                        Value::ListI32(xs) => {
                            values.extend(xs.iter().map(|&x| i64::from(x)));
                            nulls.append_non_null();
                        }
                        _ => nulls.append_null(),
                    }
                    push_offset(offsets, values, start, nulls);
                }
            }
            Buf::ListF64 { offsets, values } => {
                for v in vals {
                    let start = values.len();
                    match *v {
                        Value::ListF64(xs) => {
                            values.extend_from_slice(xs);
                            nulls.append_non_null();
                        }
                        _ => nulls.append_null(),
                    }
                    push_offset(offsets, values, start, nulls);
                }
            }
        }
    }

    /// The column as an Arrow array; the buffers are handed over without a
    /// copy and fresh ones are allocated for the next batch.
    fn finish(&mut self, field: &Field) -> Result<ArrayRef, ArrowError> {
        let next = match self.spare.take() {
            Some(b) => b,
            None => ColBuf::empty(self.col.ty, self.cap),
        };
        let buf = std::mem::replace(&mut self.buf, next);
        let nulls = self.nulls.finish();
        Ok(match buf {
            Buf::U64(mut v) => {
                // Reinterpreted as i64 (see `arrow_field`) after capping.
                for x in &mut v {
                    *x = (*x).min(i64::MAX as u64);
                }
                let len = v.len();
                let ints = ScalarBuffer::<i64>::new(Buffer::from_vec(v), 0, len);
                Arc::new(Int64Array::try_new(ints, nulls)?)
            }
            Buf::I64(v) => Arc::new(Int64Array::try_new(v.into(), nulls)?),
            Buf::F64(v) => Arc::new(Float64Array::try_new(v.into(), nulls)?),
            Buf::Ts(v) => {
                Arc::new(TimestampMicrosecondArray::try_new(v.into(), nulls)?.with_timezone("UTC"))
            }
            Buf::Str { offsets, data } => Arc::new(StringArray::try_new(
                offset_buffer(offsets)?,
                Buffer::from_vec(data),
                nulls,
            )?),
            Buf::ListI64 { offsets, values } => Arc::new(ListArray::try_new(
                list_field(field)?,
                offset_buffer(offsets)?,
                Arc::new(Int64Array::try_new(values.into(), None)?),
                nulls,
            )?),
            Buf::ListF64 { offsets, values } => Arc::new(ListArray::try_new(
                list_field(field)?,
                offset_buffer(offsets)?,
                Arc::new(Float64Array::try_new(values.into(), None)?),
                nulls,
            )?),
        })
    }
}

/// Append fixed-width values: `conv` gives the cell's value, `None` for a
/// null (stored as the type's default under a cleared validity bit). The
/// values go in first and the validity in bulk, in a second pass over the
/// chunk only when it has a null: one validity update per cell was most
/// of this loop's cost.
#[inline(always)]
fn fill_fixed<'a, T: Default>(
    v: &mut Vec<T>,
    nulls: &mut NullBufferBuilder,
    vals: &[Value<'a>],
    conv: impl Fn(Value<'a>) -> Option<T>,
) {
    v.reserve(vals.len());
    let mut any_null = false;
    for &cell in vals {
        match conv(cell) {
            Some(x) => v.push(x),
            None => {
                v.push(T::default());
                any_null = true;
            }
        }
    }
    if any_null {
        for &cell in vals {
            nulls.append(conv(cell).is_some());
        }
    } else {
        nulls.append_n_non_nulls(vals.len());
    }
}

/// Close the row that began at `start`: record the end offset, or, if it
/// does not fit a 32-bit offset, drop the row's data and make it null
/// (unreachable in practice: batches are cut at [`MAX_VAR_UNITS`]).
fn push_offset<T>(
    offsets: &mut Vec<i32>,
    data: &mut Vec<T>,
    start: usize,
    nulls: &mut NullBufferBuilder,
) {
    match i32::try_from(data.len()) {
        Ok(end) => offsets.push(end),
        Err(_) => {
            data.truncate(start);
            let len = nulls.len();
            if len > 0 {
                nulls.set_bit(len - 1, false);
            }
            offsets.push(i32::try_from(start).unwrap_or(i32::MAX));
        }
    }
}

/// Offsets built by [`push_offset`] start at 0 and never decrease; checked
/// here anyway so a bug surfaces as an error rather than a panic in Arrow.
fn offset_buffer(offsets: Vec<i32>) -> Result<OffsetBuffer<i32>, ArrowError> {
    if offsets.first() != Some(&0) || offsets.windows(2).any(|w| w[0] > w[1]) {
        return Err(ArrowError::InvalidArgumentError(
            "internal: invalid offsets".into(),
        ));
    }
    Ok(OffsetBuffer::new(ScalarBuffer::from(offsets)))
}

fn list_field(field: &Field) -> Result<FieldRef, ArrowError> {
    match field.data_type() {
        DataType::List(item) => Ok(item.clone()),
        other => Err(ArrowError::SchemaError(format!(
            "internal: list column {} has type {other}",
            field.name()
        ))),
    }
}

/// Accumulates flows into Arrow arrays and yields record batches with the
/// registry's schema (used by the Parquet writer and by bindings that hand
/// Arrow data to other tools, e.g. Python).
///
/// Flows are converted column by column over chunks of flows
/// ([`BatchBuilder::append_flows`]) straight into the Arrow buffers: numbers
/// are copied, text is formatted in place, nothing is allocated per cell.
pub struct BatchBuilder {
    schema: Arc<Schema>,
    cols: Vec<ColBuf>,
    rows: usize,
}

/// Streaming Parquet writer.
pub(crate) struct ParquetWriter {
    sink: Sink,
    batch: BatchBuilder,
    opts: ParquetOptions,
}

impl BatchBuilder {
    /// A builder for the selected columns, sized for about `capacity` rows.
    pub fn new(sel: &Selection, capacity: usize) -> BatchBuilder {
        let cap = capacity.clamp(1, 65_536);
        BatchBuilder {
            schema: Arc::new(arrow_schema(sel)),
            cols: sel.columns().map(|c| ColBuf::new(c, cap)).collect(),
            rows: 0,
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

    /// True when a text or list column has grown so large that the batch
    /// should be finished now, whatever its row count.
    pub fn is_full(&self) -> bool {
        self.cols.iter().any(|c| c.var_units() >= MAX_VAR_UNITS)
    }

    /// Append one flow as a row (prefer [`BatchBuilder::append_flows`]).
    pub fn append(&mut self, f: &Flow) {
        self.append_flows(std::slice::from_ref(f));
    }

    /// Append flows as rows, in order. The caller bounds the batch: call
    /// [`BatchBuilder::finish`] when [`BatchBuilder::len`] reaches its row
    /// budget or [`BatchBuilder::is_full`] says so.
    pub fn append_flows(&mut self, flows: &[Flow]) {
        let mut vals = Vec::with_capacity(flows.len().min(CHUNK_FLOWS));
        for chunk in flows.chunks(CHUNK_FLOWS) {
            for c in &mut self.cols {
                if !c.fill_typed(chunk) {
                    c.col.values(chunk, &mut vals);
                    c.fill(&vals);
                }
            }
            self.rows += chunk.len();
        }
    }

    /// The rows appended so far as a record batch; the builder is then empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ExportError> {
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.cols.len());
        for (c, field) in self.cols.iter_mut().zip(self.schema.fields()) {
            arrays.push(c.finish(field)?);
        }
        let rows = std::mem::take(&mut self.rows);
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            arrays,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?)
    }

    /// Take back the buffers of a batch that has been encoded, for the
    /// next batches. With the encoder on its own thread the arrays were
    /// freed there, and every batch here faulted in fresh pages (≈ 6 % of
    /// the reading thread with two metering threads, typical mix).
    pub fn recycle(&mut self, batch: RecordBatch) {
        let (_, arrays, _) = batch.into_parts();
        for (c, arr) in self.cols.iter_mut().zip(arrays) {
            if c.spare.is_none() {
                c.spare = ColBuf::reclaim(c.col.ty, arr);
            }
        }
    }
}

/// Where finished batches go: encoded on this thread, or sent to an encoder
/// thread (at most [`BACKGROUND_QUEUE`] batches wait, so memory is bounded).
enum Sink {
    Inline(Box<ArrowWriter<Box<dyn Write + Send>>>),
    Background {
        tx: Option<SyncSender<RecordBatch>>,
        handle: Option<JoinHandle<Result<(), ExportError>>>,
        /// Encoded batches coming back for [`BatchBuilder::recycle`].
        done: Receiver<RecordBatch>,
    },
}

/// Finished batches that may wait for the encoder thread.
const BACKGROUND_QUEUE: usize = 2;

impl ParquetWriter {
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        sel: &Selection,
        opts: ParquetOptions,
    ) -> Result<ParquetWriter, ExportError> {
        let batch = BatchBuilder::new(sel, opts.batch_rows);
        let props = writer_properties(&batch.schema(), &opts);
        let w = ArrowWriter::try_new(out, batch.schema(), Some(props))?;
        let sink = if opts.background {
            let (tx, rx) = sync_channel::<RecordBatch>(BACKGROUND_QUEUE);
            let (done_tx, done) = sync_channel::<RecordBatch>(BACKGROUND_QUEUE);
            let handle = std::thread::Builder::new()
                .name("netlens-parquet".into())
                .spawn(move || -> Result<(), ExportError> {
                    let mut w = w;
                    while let Ok(b) = rx.recv() {
                        w.write(&b)?;
                        // Never waits: a full return queue drops the batch here.
                        let _ = done_tx.try_send(b);
                    }
                    w.close()?;
                    Ok(())
                })?;
            Sink::Background {
                tx: Some(tx),
                handle: Some(handle),
                done,
            }
        } else {
            Sink::Inline(Box::new(w))
        };
        Ok(ParquetWriter { sink, batch, opts })
    }

    fn flush_batch(&mut self) -> Result<(), ExportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        if let Sink::Background { done, .. } = &self.sink {
            while let Ok(b) = done.try_recv() {
                self.batch.recycle(b);
            }
        }
        let batch = self.batch.finish()?;
        match &mut self.sink {
            Sink::Inline(w) => {
                w.write(&batch)?;
                self.batch.recycle(batch);
            }
            Sink::Background { tx, handle, .. } => {
                let sent = tx.as_ref().is_some_and(|tx| tx.send(batch).is_ok());
                if !sent {
                    // The encoder stopped: report its error.
                    tx.take();
                    return join_encoder(handle.take());
                }
            }
        }
        Ok(())
    }
}

/// Wait for the encoder thread and return its outcome.
fn join_encoder(handle: Option<JoinHandle<Result<(), ExportError>>>) -> Result<(), ExportError> {
    match handle {
        Some(h) => match h.join() {
            Ok(r) => r,
            Err(_) => Err(ExportError::Io(std::io::Error::other(
                "the Parquet encoder thread panicked",
            ))),
        },
        None => Err(ExportError::Io(std::io::Error::other(
            "the Parquet encoder thread stopped",
        ))),
    }
}

/// Writer properties: compression, row-group size, and which columns get a
/// dictionary and statistics.
fn writer_properties(schema: &Schema, opts: &ParquetOptions) -> WriterProperties {
    // Dictionary encoding pays off for text (addresses, MACs, names
    // repeat) but not for counters, timestamps and ids, which are mostly
    // distinct: building a dictionary for them only to fall back to
    // plain encoding costs about a fifth of the export time.
    let mut props = WriterProperties::builder()
        .set_compression(opts.compression)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_dictionary_enabled(false)
        .set_statistics_enabled(opts.statistics)
        .set_created_by(concat!("netlens ", env!("CARGO_PKG_VERSION")).to_string());
    for f in schema.fields() {
        if opts.delta_integers && matches!(f.data_type(), DataType::Int64 | DataType::Timestamp(..))
        {
            props = props.set_column_encoding(
                ColumnPath::from(f.name().as_str()),
                Encoding::DELTA_BINARY_PACKED,
            );
        }
        if matches!(f.data_type(), DataType::Utf8) {
            let path = ColumnPath::from(f.name().as_str());
            if opts.dictionary {
                props = props.set_column_dictionary_enabled(path.clone(), true);
            }
            if !opts.text_statistics {
                props = props.set_column_statistics_enabled(path, EnabledStatistics::None);
            }
        }
    }
    props.build()
}

impl FlowWriter for ParquetWriter {
    fn write(&mut self, mut flows: &[Flow]) -> Result<(), ExportError> {
        let rows = self.opts.batch_rows.max(1);
        while !flows.is_empty() {
            let room = rows.saturating_sub(self.batch.len()).max(1);
            let (now, later) = flows.split_at(room.min(CHUNK_FLOWS).min(flows.len()));
            self.batch.append_flows(now);
            if self.batch.len() >= rows || self.batch.is_full() {
                self.flush_batch()?;
            }
            flows = later;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.flush_batch()?;
        match self.sink {
            Sink::Inline(w) => {
                w.close()?;
                Ok(())
            }
            Sink::Background { tx, handle, .. } => {
                drop(tx);
                join_encoder(handle)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use arrow_array::Array;
    use arrow_array::builder::{
        ArrayBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
        TimestampMicrosecondBuilder,
    };
    use netlens_flow::{FlowMeter, MeterConfig};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    fn data_dir() -> PathBuf {
        std::env::var_os("NETLENS_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
    }

    use std::path::Path;

    /// Flows of a real capture with every feature group on, in export order.
    fn flows(rel: &str, sel: &Selection) -> Vec<Flow> {
        let path = data_dir().join(rel);
        let mut r = netlens_capture::CaptureReader::open(
            &[netlens_capture::Input::from_arg(&path.to_string_lossy())],
            &netlens_capture::ReadOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut m = FlowMeter::new(MeterConfig {
            statistics: sel.needs_statistics(),
            app: sel.needs_app(),
            cic: sel.needs_cic(),
            splt: 8,
            ..MeterConfig::default()
        });
        let mut s = netlens_wire::PacketSummary::default();
        let mut index = 0;
        while let Some(p) = r.next_packet() {
            s.clear();
            if netlens_wire::dissect(p.linktype, p.data, &mut s).is_ok() {
                m.process_with_payload(p.ts_ns, p.wire_len, index, &s, s.payload(p.data));
            }
            index += 1;
        }
        m.finish();
        let mut out = Vec::new();
        m.drain(&mut out);
        out.sort_by_key(|f| f.first_packet_index);
        for (i, f) in out.iter_mut().enumerate() {
            f.id = i as u64;
        }
        assert!(out.len() > 50, "{rel}: only {} flows", out.len());
        out
    }

    /// The straightforward row-by-row conversion through Arrow's builders
    /// (the implementation this module replaced): the reference the fast
    /// column-wise path must match value for value.
    fn reference(sel: &Selection, flows: &[Flow]) -> RecordBatch {
        let schema = Arc::new(arrow_schema(sel));
        let mut builders: Vec<Box<dyn ArrayBuilder>> = sel
            .columns()
            .map(|c| -> Box<dyn ArrayBuilder> {
                match c.ty {
                    ColumnType::U64 | ColumnType::I64 => Box::new(Int64Builder::new()),
                    ColumnType::F64 => Box::new(Float64Builder::new()),
                    ColumnType::Str => Box::new(StringBuilder::new()),
                    ColumnType::TimestampUs => {
                        Box::new(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
                    }
                    ColumnType::ListI64 => Box::new(ListBuilder::new(Int64Builder::new())),
                    ColumnType::ListF64 => Box::new(ListBuilder::new(Float64Builder::new())),
                }
            })
            .collect();
        for f in flows {
            for (c, b) in sel.columns().zip(builders.iter_mut()) {
                let v = c.value(f);
                let any = b.as_any_mut();
                if let Some(b) = any.downcast_mut::<Int64Builder>() {
                    match v {
                        Value::I64(x) => b.append_value(x),
                        Value::U64(x) => b.append_value(x.min(i64::MAX as u64) as i64),
                        _ => b.append_null(),
                    }
                } else if let Some(b) = any.downcast_mut::<Float64Builder>() {
                    match v {
                        Value::F64(x) => b.append_value(x),
                        _ => b.append_null(),
                    }
                } else if let Some(b) = any.downcast_mut::<StringBuilder>() {
                    match v {
                        Value::Null => b.append_null(),
                        other => {
                            let mut t = Vec::new();
                            push_text(&mut t, &other);
                            b.append_value(String::from_utf8_lossy(&t));
                        }
                    }
                } else if let Some(b) = any.downcast_mut::<TimestampMicrosecondBuilder>() {
                    match v {
                        Value::TimestampUs(x) => b.append_value(x),
                        _ => b.append_null(),
                    }
                } else if let Some(b) = any.downcast_mut::<ListBuilder<Int64Builder>>() {
                    match v {
                        Value::ListI8(xs) => {
                            xs.iter()
                                .for_each(|&x| b.values().append_value(i64::from(x)));
                            b.append(true);
                        }
                        Value::ListI32(xs) => {
                            xs.iter()
                                .for_each(|&x| b.values().append_value(i64::from(x)));
                            b.append(true);
                        }
                        _ => b.append(false),
                    }
                } else if let Some(b) = any.downcast_mut::<ListBuilder<Float64Builder>>() {
                    match v {
                        Value::ListF64(xs) => {
                            b.values().append_slice(xs);
                            b.append(true);
                        }
                        _ => b.append(false),
                    }
                }
            }
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| b.finish()).collect();
        RecordBatch::try_new(schema, arrays).unwrap_or_else(|e| panic!("{e}"))
    }

    fn all_features() -> Selection {
        Selection::parse("all").unwrap_or_else(|e| panic!("{e}"))
    }

    fn assert_same(a: &RecordBatch, b: &RecordBatch) {
        assert_eq!(a.schema(), b.schema());
        assert_eq!(a.num_rows(), b.num_rows());
        for (i, f) in a.schema().fields().iter().enumerate() {
            assert_eq!(
                a.column(i).to_data(),
                b.column(i).to_data(),
                "column {} differs",
                f.name()
            );
        }
    }

    #[test]
    fn column_wise_batches_equal_the_row_wise_reference() {
        let sel = all_features();
        for rel in ["pcap/nfstream/skype.pcap", "pcap/ndpi/alexa-app.pcapng"] {
            let flows = flows(rel, &sel);
            let want = reference(&sel, &flows);
            // In one call, in odd-sized pieces, and row by row.
            let mut bb = BatchBuilder::new(&sel, 100);
            bb.append_flows(&flows);
            let first = bb.finish().unwrap_or_else(|e| panic!("{e}"));
            assert_same(&first, &want);
            // An encoded batch gives its buffers back (all but the lists),
            // and the next batches, built in them, are the same.
            bb.recycle(first);
            for c in &bb.cols {
                let list = matches!(c.col.ty, ColumnType::ListI64 | ColumnType::ListF64);
                assert_eq!(
                    c.spare.is_some(),
                    !list,
                    "{}: buffer not reclaimed",
                    c.col.name
                );
            }
            for piece in flows.chunks(7) {
                bb.append_flows(piece);
            }
            assert_same(&bb.finish().unwrap_or_else(|e| panic!("{e}")), &want);
            for f in &flows {
                bb.append(f);
            }
            let got = bb.finish().unwrap_or_else(|e| panic!("{e}"));
            assert_same(&got, &want);
            // The capture exercises nulls, text, lists and timestamps.
            for name in ["src_ip", "splt_ps", "first_seen", "tls_sni"] {
                let col = got
                    .column_by_name(name)
                    .unwrap_or_else(|| panic!("no {name}"));
                assert!(col.len() > col.null_count(), "{rel}: {name} all null");
            }
            assert!(bb.is_empty());
        }
    }

    /// The registry's per-run readers (what the batches are built from, and
    /// the numeric one detectors fill their matrices from) give every
    /// column's value exactly as the per-flow reader does, including the
    /// Null (NaN) of flows that lack a feature's state.
    #[test]
    fn run_readers_equal_the_per_flow_reader_for_every_column() {
        let sel = all_features();
        let mut flows = flows("pcap/nfstream/skype.pcap", &sel);
        // A flow without statistics, CIC or application state: every
        // feature-group reader must give Null, not a default.
        let mut bare = flows.first().cloned().unwrap_or_else(|| panic!("no flows"));
        (bare.stats, bare.cic, bare.app) = (None, None, None);
        flows.push(bare);
        let refs: Vec<&Flow> = flows.iter().collect();
        let (mut vals, mut of_refs, mut nums) = (Vec::new(), Vec::new(), Vec::new());
        for c in netlens_flow::COLUMNS.iter() {
            c.values(&flows, &mut vals);
            c.values_of_refs(&refs, &mut of_refs);
            c.f64s_of_refs(&refs, &mut nums);
            let want: Vec<Value<'_>> = flows.iter().map(|f| c.value(f)).collect();
            assert_eq!(vals.len(), want.len(), "{}", c.name);
            assert_eq!(of_refs.len(), want.len(), "{}", c.name);
            // The numeric reader is the value reader through `as_f64`, bit for bit.
            let want_nums: Vec<u64> = want.iter().map(|v| v.as_f64().to_bits()).collect();
            let got_nums: Vec<u64> = nums.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got_nums, want_nums, "{} (f64s)", c.name);
            for (i, ((a, r), b)) in vals.iter().zip(&of_refs).zip(&want).enumerate() {
                // NaN != NaN: compare floats by bits.
                let same = |x: &Value<'_>| match (x, b) {
                    (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
                    _ => x == b,
                };
                assert!(same(a), "{} row {i}: {a:?} vs {b:?}", c.name);
                assert!(same(r), "{} row {i} (refs): {r:?} vs {b:?}", c.name);
            }
            check_typed_fill(c, &flows, &want);
        }
    }

    /// A number column's typed reader gives, as bits, what the Arrow export
    /// makes of its values, and says "null" exactly when a value is one.
    fn check_typed_fill(c: &Column, flows: &[Flow], want: &[Value<'_>]) {
        // The export's conversion per buffer type (the `Value::*_cell`
        // functions `ColBuf::fill` applies), as bits.
        let conv = |v: &Value<'_>| -> Option<u64> {
            match c.ty {
                ColumnType::U64 => v.u64_cell(),
                ColumnType::I64 => v.i64_cell().map(|x| x as u64),
                ColumnType::TimestampUs => v.timestamp_cell().map(|x| x as u64),
                ColumnType::F64 => v.f64_cell().map(f64::to_bits),
                _ => None,
            }
        };
        let mut got: Vec<u64> = Vec::new();
        let all = match c.fill {
            Fill::None => {
                assert!(
                    matches!(
                        c.ty,
                        ColumnType::Str | ColumnType::ListI64 | ColumnType::ListF64
                    ),
                    "{}: a number column without a typed reader",
                    c.name
                );
                return;
            }
            Fill::U64(read) => read(flows, &mut got),
            Fill::I64(read) => {
                let mut v = Vec::new();
                let all = read(flows, &mut v);
                got = v.into_iter().map(|x| x as u64).collect();
                all
            }
            Fill::F64(read) => {
                let mut v = Vec::new();
                let all = read(flows, &mut v);
                got = v.into_iter().map(f64::to_bits).collect();
                all
            }
        };
        let want: Vec<Option<u64>> = want.iter().map(conv).collect();
        assert_eq!(
            all,
            want.iter().all(Option::is_some),
            "{} (typed, nulls)",
            c.name
        );
        assert_eq!(got.len(), want.len(), "{} (typed)", c.name);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            if let Some(w) = w {
                assert_eq!(g, w, "{} row {i} (typed)", c.name);
            }
        }
    }

    fn read_back(bytes: Vec<u8>) -> Vec<RecordBatch> {
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .and_then(|b| b.with_batch_size(1 << 20).build())
            .unwrap_or_else(|e| panic!("{e}"));
        reader
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// A `Write` into a shared buffer, so the file can be read after the writer is gone.
    #[derive(Clone, Default)]
    struct Shared(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            match self.0.lock() {
                Ok(mut v) => v.extend_from_slice(b),
                Err(_) => return Err(std::io::Error::other("poisoned")),
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn parquet_round_trips_under_every_setting() {
        let sel = all_features();
        let flows = flows("pcap/nfstream/skype.pcap", &sel);
        let want = reference(&sel, &flows);
        let base = ParquetOptions {
            batch_rows: 100,
            row_group_rows: 250,
            ..ParquetOptions::default()
        };
        let variants = [
            base.clone(),
            ParquetOptions {
                background: true,
                ..base.clone()
            },
            ParquetOptions {
                delta_integers: false,
                dictionary: false,
                text_statistics: true,
                compression: Compression::UNCOMPRESSED,
                ..base.clone()
            },
            ParquetOptions::default(),
        ];
        let mut files = Vec::new();
        for opts in variants {
            let out = Shared::default();
            let mut w = crate::open_parquet(Box::new(out.clone()), &sel, opts)
                .unwrap_or_else(|e| panic!("{e}"));
            for piece in flows.chunks(33) {
                w.write(piece).unwrap_or_else(|e| panic!("{e}"));
            }
            w.finish().unwrap_or_else(|e| panic!("{e}"));
            let bytes = out.0.lock().map(|v| v.clone()).unwrap_or_default();
            let batches = read_back(bytes.clone());
            let got = arrow_select_concat(&want.schema(), &batches);
            assert_same(&got, &want);
            files.push(bytes);
        }
        // The encoder thread does not change a byte.
        assert_eq!(files[0], files[1]);
    }

    fn arrow_select_concat(schema: &Arc<Schema>, batches: &[RecordBatch]) -> RecordBatch {
        // One batch is asked for (batch size 1 M), so there is exactly one.
        assert_eq!(batches.len(), 1);
        let b = batches[0].clone();
        // The reader restores the Arrow schema stored in the file.
        assert_eq!(&b.schema(), schema);
        b
    }

    #[test]
    fn encoder_thread_reports_write_errors() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk full"))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sel = Selection::parse("basic").unwrap_or_else(|e| panic!("{e}"));
        let flows = flows("pcap/nfstream/skype.pcap", &sel);
        for background in [false, true] {
            let opts = ParquetOptions {
                batch_rows: 10,
                background,
                ..ParquetOptions::default()
            };
            let res = crate::open_parquet(Box::new(Broken), &sel, opts).and_then(|mut w| {
                w.write(&flows)?;
                w.finish()
            });
            assert!(res.is_err(), "background={background}: error lost");
        }
    }
}
