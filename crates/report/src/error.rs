//! The crate's error type.

use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while collecting, building or rendering.
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
    /// The timeseries crate failed (accumulation, forecast, anomaly).
    #[error(transparent)]
    Series(#[from] netlens_timeseries::Error),
    /// CSV reading or writing failed.
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    /// JSON encoding failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// Parquet/Arrow encoding failed.
    #[error("parquet: {0}")]
    Parquet(String),
    /// Drawing a chart failed.
    #[error("chart {name}: {message}")]
    Chart {
        /// Chart file stem.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The input is unusable (named column missing, no data, ...).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A size limit protecting memory or time was hit.
    #[error("limit exceeded: {0}")]
    Limit(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
