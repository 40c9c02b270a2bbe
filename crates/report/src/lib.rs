//! netlens-report: traffic time series and self-contained monitoring reports.
//!
//! # Brief overview
//! - [`Collector`] is a [`netlens_pipeline::PacketObserver`] plus a flow
//!   sink: it drives a [`netlens_timeseries::IntervalAccumulator`] (the
//!   per-interval series of `netlens series`) and gathers the whole-capture
//!   aggregates of a report (protocol/application mix, top talkers and
//!   ports, packet-size and flow-duration histograms, TCP health) in one
//!   pass. [`flowtable`] feeds a netlens flow CSV through the same
//!   collector.
//! - [`ReportData`] is the serialisable content of a report (every number
//!   of the HTML page is in it); [`build_report`] makes one from a finished
//!   collection (with anomaly detection and, when the data is long enough,
//!   a forecast), [`render`] writes `index.html`, `report.json` and the
//!   PNG/SVG charts into a folder.
//! - [`seriesout`] writes an interval table as CSV, JSON or Parquet.
//!
//! Invariants: no function panics on input data; memory is bounded
//! independently of the input size (see the limits in [`collect`]); every
//! total of a report is exact (sketches are only used per interval, as
//! documented in the timeseries crate).
#![deny(missing_docs)]

pub mod apps;
pub mod charts;
pub mod collect;
pub mod data;
pub mod error;
pub mod flowtable;
pub mod input;
pub mod render;
pub mod seriesout;

pub use collect::{Collected, Collector};
pub use data::{
    AlertRow, DEFAULT_CAPACITY_BPS, ReportData, ReportOptions, build_report,
    build_report_from_series,
};
pub use error::{Error, Result};
pub use render::{RenderedReport, human_bytes, render};

#[cfg(test)]
pub(crate) mod tests_support {
    use std::path::PathBuf;

    /// shared/data beside the workspace, or NETLENS_SHARED_DATA.
    pub fn data_dir() -> PathBuf {
        std::env::var_os("NETLENS_SHARED_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            })
    }

    /// The bundled sample capture.
    pub fn sample() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/sample/sample.pcap")
    }
}
