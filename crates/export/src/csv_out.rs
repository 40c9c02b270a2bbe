//! CSV output: a header from the registry, then one row per flow.

use std::io::Write;

use netlens_flow::{Column, Flow, Selection};

use crate::{ExportError, FlowWriter, for_each_row, push_text};

/// Streaming CSV writer.
pub(crate) struct CsvWriter {
    w: csv::Writer<Box<dyn Write + Send>>,
    cols: Vec<&'static Column>,
    buf: Vec<u8>,
}

impl CsvWriter {
    pub(crate) fn new(
        out: Box<dyn Write + Send>,
        sel: &Selection,
    ) -> Result<CsvWriter, ExportError> {
        let cols: Vec<&'static Column> = sel.columns().collect();
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(out);
        w.write_record(cols.iter().map(|c| sel.output_name(c)))?;
        Ok(CsvWriter {
            w,
            cols,
            buf: Vec::with_capacity(64),
        })
    }
}

impl FlowWriter for CsvWriter {
    fn write(&mut self, flows: &[Flow]) -> Result<(), ExportError> {
        let (w, buf) = (&mut self.w, &mut self.buf);
        for_each_row(&self.cols, flows, |cells| {
            for cell in cells {
                buf.clear();
                push_text(buf, cell);
                w.write_field(&*buf)?;
            }
            w.write_record(None::<&[u8]>)?;
            Ok(())
        })
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.w.flush()?;
        Ok(())
    }
}
