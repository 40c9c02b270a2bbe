//! Errors of the detection crate.
use std::path::PathBuf;

/// Result with [`DetectError`].
pub type Result<T> = std::result::Result<T, DetectError>;

/// What can go wrong labelling, training or detecting.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A rule file is malformed.
    #[error("rule file {path}: {msg}")]
    Rules {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A labels CSV is malformed.
    #[error("labels file {path}: {msg}")]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
    /// A flow table lacks a column the operation needs.
    #[error(
        "flow table has no column '{0}' (expected a netlens flow table with default column names)"
    )]
    MissingColumn(String),
    /// The model needs features this run does not produce.
    #[error("model {model} needs features this run does not produce: {missing}{hint}")]
    MissingFeatures {
        /// The model file name.
        model: String,
        /// Comma-separated missing feature names (first few).
        missing: String,
        /// A hint (e.g. about --early).
        hint: String,
        /// The model reads early-flow features of this many packets, which
        /// the run does not produce (`detect --early N` would).
        needs_early: Option<u16>,
    },
    /// The model is not a supervised classifier with a benign class.
    #[error("model {model} cannot be used as a detector: {msg}")]
    UnusableModel {
        /// The model file name.
        model: String,
        /// Why.
        msg: String,
    },
    /// Reading captures failed.
    #[error(transparent)]
    Capture(#[from] netlens_capture::CaptureError),
    /// The ML engine failed.
    #[error(transparent)]
    Ml(#[from] netlens_ml::error::MlError),
    /// Invalid argument.
    #[error("{0}")]
    Invalid(String),
}
