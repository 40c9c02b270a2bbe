//! The crate's error type. Every variant says what was wrong and, where it
//! applies, where (line number, column name).

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in netlens-timeseries.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An I/O error without a file name (e.g. writing to a stream).
    #[error("i/o error: {0}")]
    Stream(#[from] std::io::Error),
    /// The CSV reader or writer failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// JSON encoding/decoding failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A cell could not be parsed.
    #[error("line {line}: column '{column}': {message}")]
    Parse {
        /// 1-based line number in the input file (header is line 1).
        line: u64,
        /// Column name.
        column: String,
        /// What was wrong.
        message: String,
    },
    /// The input is structurally unusable (no rows, no value column, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The series is too short for the requested operation.
    #[error("series too short: {what} needs at least {needed} points, got {got}")]
    TooShort {
        /// What needed the points.
        what: String,
        /// Points needed.
        needed: usize,
        /// Points available.
        got: usize,
    },
    /// A size limit protecting memory was hit.
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// A text argument (duration, rate, threshold, ...) could not be parsed.
    #[error("cannot parse '{input}': {message}")]
    Argument {
        /// The text given.
        input: String,
        /// What was expected.
        message: String,
    },
    /// Numerical failure (singular system, non-finite result).
    #[error("numerical failure: {0}")]
    Numerical(String),
    /// Drawing a chart failed.
    #[error("chart: {0}")]
    Chart(String),
}
