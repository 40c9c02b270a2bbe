//! Errors of the bindings and their mapping to Python exceptions.
//!
//! Invariant: the message of every Rust error reaches Python unchanged;
//! a missing input file becomes `FileNotFoundError`, other OS errors
//! `OSError`, damaged or foreign inputs `netlens.CaptureError`, bad
//! arguments `ValueError`, model problems `netlens.ModelError`.

use pyo3::PyErr;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyFileNotFoundError, PyOSError, PyValueError};

create_exception!(
    netlens,
    NetlensError,
    PyException,
    "Base class of netlens errors."
);
create_exception!(
    netlens,
    CaptureError,
    NetlensError,
    "A capture cannot be read (not a capture, damaged header, empty directory)."
);
create_exception!(
    netlens,
    ModelError,
    NetlensError,
    "A model cannot be trained, loaded or applied."
);

/// Errors raised by the bindings.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or reading a capture failed.
    #[error(transparent)]
    Capture(#[from] netlens_capture::CaptureError),
    /// Writing flows failed.
    #[error(transparent)]
    Export(#[from] netlens_export::ExportError),
    /// The machine-learning engine failed.
    #[error(transparent)]
    Ml(#[from] netlens_ml::error::MlError),
    /// The time-series engine failed.
    #[error(transparent)]
    Series(#[from] netlens_timeseries::Error),
    /// Gathering a series failed.
    #[error(transparent)]
    Report(#[from] netlens_report::Error),
    /// An Arrow operation failed.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// An output file could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A bad argument.
    #[error("{0}")]
    Invalid(String),
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        let msg = e.to_string();
        match e {
            Error::Capture(netlens_capture::CaptureError::Io { source, .. })
            | Error::Io { source, .. } => {
                if source.kind() == std::io::ErrorKind::NotFound {
                    PyFileNotFoundError::new_err(msg)
                } else {
                    PyOSError::new_err(msg)
                }
            }
            Error::Capture(_) => CaptureError::new_err(msg),
            Error::Ml(netlens_ml::error::MlError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                PyFileNotFoundError::new_err(msg)
            }
            Error::Ml(_) => ModelError::new_err(msg),
            Error::Invalid(_) => PyValueError::new_err(msg),
            Error::Export(_) | Error::Series(_) | Error::Report(_) | Error::Arrow(_) => {
                NetlensError::new_err(msg)
            }
        }
    }
}

/// Result with the bindings' error.
pub type Result<T> = std::result::Result<T, Error>;
