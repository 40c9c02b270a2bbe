//! Time series for netlens: per-interval traffic accumulation, forecasting,
//! capacity planning, series anomaly detection and forecast charts.
//!
//! # Brief overview
//! - [`Series`] is a regular time series: a start time, a fixed interval and
//!   one or more named value columns of equal length. [`read_series_csv`]
//!   builds one from a CSV file (gaps, duplicates and unsorted rows are
//!   repaired by documented rules and reported in a [`ReadReport`]).
//! - [`IntervalAccumulator`] turns packet/flow callbacks from a capture
//!   pipeline into per-interval rows ([`IntervalTable`]) with exact packet and
//!   byte counts and bounded memory.
//! - [`forecast`] fits naive, seasonal-naive, linear (lags + calendar +
//!   trend) and Holt-Winters models, backtests them by rolling origin and picks
//!   the best; [`capacity`] says when a forecast crosses a capacity;
//!   [`anomaly`] flags anomalous intervals; [`chart`] renders SVG/PNG charts.
//!
//! Invariants: every timestamp is Unix time in seconds (UTC) unless a name
//! ends in `_ns`; intervals are whole seconds and > 0; no function panics on
//! input data: bad input returns [`Error`].
#![deny(missing_docs)]

pub mod accumulate;
pub mod anomaly;
pub mod capacity;
pub mod chart;
pub mod error;
pub mod forecast;
mod linalg;
mod optim;
pub mod series;
pub mod units;

pub use accumulate::{IntervalAccumulator, IntervalRow, IntervalTable};
pub use error::{Error, Result};
pub use series::{ReadOptions, ReadReport, Series, open_text, read_series_csv};

#[cfg(test)]
mod tests_support {
    use std::path::PathBuf;

    /// shared/data beside the workspace, or NETLENS_SHARED_DATA.
    pub fn data_dir() -> PathBuf {
        std::env::var_os("NETLENS_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            })
    }
}
