//! JSON Lines output: one object per flow, keys from the registry.

use std::io::{BufWriter, Write};

use netlens_flow::{Column, ColumnType, Flow, Selection, Value};

use crate::{ExportError, FlowWriter, for_each_row, push_text};

/// Streaming JSON Lines writer.
pub(crate) struct JsonlWriter {
    w: BufWriter<Box<dyn Write + Send>>,
    cols: Vec<&'static Column>,
    names: Vec<&'static str>,
    line: Vec<u8>,
    tmp: Vec<u8>,
}

impl JsonlWriter {
    pub(crate) fn new(out: Box<dyn Write + Send>, sel: &Selection) -> JsonlWriter {
        JsonlWriter {
            w: BufWriter::with_capacity(1 << 16, out),
            cols: sel.columns().collect(),
            names: sel.columns().map(|c| sel.output_name(c)).collect(),
            line: Vec::with_capacity(1024),
            tmp: Vec::with_capacity(64),
        }
    }
}

fn push_json_str(line: &mut Vec<u8>, s: &[u8]) {
    // serde_json escapes control characters and quotes correctly.
    let text = String::from_utf8_lossy(s);
    if serde_json::to_writer(&mut *line, &text).is_err() {
        line.extend_from_slice(b"\"\"");
    }
}

impl FlowWriter for JsonlWriter {
    fn write(&mut self, flows: &[Flow]) -> Result<(), ExportError> {
        let (line, tmp, names, w) = (&mut self.line, &mut self.tmp, &self.names, &mut self.w);
        for_each_row(&self.cols, flows, |cells| {
            line.clear();
            line.push(b'{');
            for (i, (c, v)) in self.cols.iter().zip(cells).enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                push_json_str(line, names.get(i).copied().unwrap_or(c.name).as_bytes());
                line.push(b':');
                tmp.clear();
                match *v {
                    Value::Null => line.extend_from_slice(b"null"),
                    Value::F64(x) if !x.is_finite() => line.extend_from_slice(b"null"),
                    _ if matches!(c.ty, ColumnType::Str | ColumnType::TimestampUs) => {
                        push_text(tmp, v);
                        push_json_str(line, tmp);
                    }
                    _ => {
                        push_text(tmp, v);
                        line.extend_from_slice(tmp);
                    }
                }
            }
            line.extend_from_slice(b"}\n");
            w.write_all(line)?;
            Ok(())
        })
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.w.flush()?;
        Ok(())
    }
}
