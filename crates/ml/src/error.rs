//! The crate's error type. Every fallible public function returns [`Result`].

use std::path::PathBuf;

/// Errors of the machine-learning engine.
#[derive(Debug, thiserror::Error)]
pub enum MlError {
    /// An input file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A CSV table is malformed.
    #[error("CSV error in {path}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A Parquet file could not be read (or Parquet support is not compiled in).
    #[error("Parquet error in {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Tables given together do not have the same columns.
    #[error("schema mismatch: {0}")]
    Schema(String),
    /// A requested column does not exist.
    #[error("no column named {name:?} (available: {available})")]
    NoSuchColumn {
        /// The requested name.
        name: String,
        /// A short list of the available names.
        available: String,
    },
    /// The input is unusable for the requested operation (empty, one class, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A parameter is out of range.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
    /// A model library failed while fitting or predicting.
    #[error("model error: {0}")]
    Model(String),
    /// A model file is corrupted, truncated, foreign or of another version.
    #[error("bad model file: {0}")]
    ModelFile(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, MlError>;

/// Runs a third-party fit/predict call, turning a panic inside it into an error.
///
/// smartcore and forust-ml may `unwrap` internally on degenerate numeric
/// input (singular systems, empty classes); a model library's panic must not
/// take down the caller.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(MlError::Model(format!("{what} failed: {msg}")))
        }
    }
}
