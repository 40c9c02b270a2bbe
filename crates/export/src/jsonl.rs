//! JSON Lines output: one object per flow, keys from the registry.

use std::io::{BufWriter, Write};

use netlens_flow::{Column, ColumnType, Flow, Selection, Value};

use crate::{ExportError, FlowWriter, push_text};

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
        for f in flows {
            self.line.clear();
            self.line.push(b'{');
            for (i, c) in self.cols.iter().enumerate() {
                if i > 0 {
                    self.line.push(b',');
                }
                push_json_str(
                    &mut self.line,
                    self.names.get(i).copied().unwrap_or(c.name).as_bytes(),
                );
                self.line.push(b':');
                let v = c.value(f);
                self.tmp.clear();
                match v {
                    Value::Null => self.line.extend_from_slice(b"null"),
                    Value::F64(x) if !x.is_finite() => self.line.extend_from_slice(b"null"),
                    _ if matches!(c.ty, ColumnType::Str | ColumnType::TimestampUs) => {
                        push_text(&mut self.tmp, &v);
                        push_json_str(&mut self.line, &self.tmp);
                    }
                    _ => {
                        push_text(&mut self.tmp, &v);
                        self.line.extend_from_slice(&self.tmp);
                    }
                }
            }
            self.line.extend_from_slice(b"}\n");
            self.w.write_all(&self.line)?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        self.w.flush()?;
        Ok(())
    }
}
