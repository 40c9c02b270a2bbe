//! Per-interval traffic series, exactly as `netlens series -o x.parquet`
//! computes and encodes them: the report crate gathers captures (or netlens
//! flow CSV tables) through its collector, and its Parquet writer encodes
//! the interval table into memory, which Python reads with pyarrow.
//!
//! Invariant: the columns and values are those of the CLI's Parquet output
//! for the same inputs, interval and `top`.

use netlens_pipeline::RunConfig;
use netlens_report::input::{self, InputKind};
use netlens_report::seriesout::{self, SeriesFormat};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::error::{Error, Result};

fn gather_parquet(inputs: &[String], interval: &str, top: usize) -> Result<(Vec<u8>, Vec<String>)> {
    if inputs.is_empty() {
        return Err(Error::Invalid("no input given".into()));
    }
    let interval_s = netlens_timeseries::units::parse_duration(interval)
        .map_err(|e| Error::Invalid(format!("invalid interval '{interval}': {e}")))?;
    let mut kinds = Vec::with_capacity(inputs.len());
    for i in inputs {
        if !std::path::Path::new(i).exists() {
            return Err(Error::Io {
                path: i.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
        kinds.push(input::detect(i)?);
    }
    let kind = kinds.first().copied().unwrap_or(InputKind::Capture);
    if kinds.iter().any(|k| *k != kind) {
        return Err(Error::Invalid(
            "inputs mix captures, flow tables and series; give one kind at a time".into(),
        ));
    }
    if kind == InputKind::Series {
        return Err(Error::Invalid(
            "this input is already a series; read it with pandas or pyarrow".into(),
        ));
    }
    let g = input::gather(
        inputs,
        kind,
        interval_s,
        top,
        &RunConfig::default(),
        &mut |_| {},
    )?;
    if g.collected.packets == 0 {
        return Err(Error::Invalid(
            "no packets in the input: nothing to put in a series".into(),
        ));
    }
    let mut buf = Vec::new();
    seriesout::write_table(&g.collected.table, SeriesFormat::Parquet, &mut buf)?;
    Ok((buf, g.warnings))
}

/// Captures (or netlens flow CSV tables) → the per-interval table as
/// Parquet bytes, plus reader warnings.
#[pyfunction]
#[pyo3(signature = (inputs, interval = "1m", top = 5))]
pub fn series<'py>(
    py: Python<'py>,
    inputs: Vec<String>,
    interval: &str,
    top: usize,
) -> PyResult<(Bound<'py, PyBytes>, Vec<String>)> {
    let interval = interval.to_string();
    let (bytes, warnings) = py.detach(move || gather_parquet(&inputs, &interval, top))?;
    Ok((PyBytes::new(py, &bytes), warnings))
}
