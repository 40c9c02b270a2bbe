//! netlens-python: the `netlens._netlens` extension module behind the
//! `netlens` Python package.
//!
//! # Brief overview
//! - [`flows`]: open captures and stream flows as Arrow record batches with
//!   the feature registry's schema (the same columns and values as the CLI),
//!   or write them to CSV/JSON Lines/Parquet with the CLI's writers.
//! - [`series`]: the per-interval traffic table of `netlens series`
//!   (the report crate's collector over the timeseries `IntervalAccumulator`).
//! - [`model`]: train, load, save, predict and evaluate netlens model files
//!   (the same files as `netlens train`/`predict`) on Arrow tables.
//! - [`convert`]: Arrow tables → the ml crate's `Table`, with the text forms
//!   the CLI's CSV files carry, so a model sees the same values from Python
//!   as from a CSV file.
//!
//! Invariants: no Python-facing function panics on input data; every error
//! surfaces as a Python exception carrying the Rust error's message; the
//! GIL is released while captures are read or models are fitted.

#![deny(missing_docs)]

pub mod convert;
pub mod error;
pub mod flows;
pub mod model;
pub mod series;

use pyo3::prelude::*;

/// The extension module `netlens._netlens`.
#[pymodule]
fn _netlens(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NetlensError", m.py().get_type::<error::NetlensError>())?;
    m.add("CaptureError", m.py().get_type::<error::CaptureError>())?;
    m.add("ModelError", m.py().get_type::<error::ModelError>())?;
    m.add_class::<flows::FlowStream>()?;
    m.add_function(wrap_pyfunction!(flows::open_flows, m)?)?;
    m.add_function(wrap_pyfunction!(flows::open_live_flows, m)?)?;
    m.add_function(wrap_pyfunction!(flows::flows_schema, m)?)?;
    m.add_function(wrap_pyfunction!(flows::write_flows, m)?)?;
    m.add_function(wrap_pyfunction!(flows::feature_columns, m)?)?;
    m.add_function(wrap_pyfunction!(flows::check_compression, m)?)?;
    m.add_function(wrap_pyfunction!(series::series, m)?)?;
    m.add_class::<model::Model>()?;
    Ok(())
}
