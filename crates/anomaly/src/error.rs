//! Errors of the anomaly detectors.

use std::path::PathBuf;

/// Anything that can go wrong training, loading or scoring a detector.
#[derive(Debug, thiserror::Error)]
pub enum AnomalyError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing alerts failed.
    #[error("writing alerts: {0}")]
    Write(#[from] std::io::Error),
    /// A model file is not valid (wrong magic, version, checksum, content).
    #[error("anomaly model file: {0}")]
    ModelFile(String),
    /// Not enough or unusable training data.
    #[error("training: {0}")]
    Training(String),
    /// An invalid setting.
    #[error("invalid setting: {0}")]
    Config(String),
    /// The ML engine failed.
    #[error(transparent)]
    Ml(#[from] netlens_ml::error::MlError),
}

/// Result with [`AnomalyError`].
pub type Result<T> = std::result::Result<T, AnomalyError>;
