//! netlens-ml: the scikit-learn workflow on flow/feature tables.
#![deny(missing_docs)]
pub mod error;
mod flat;
pub mod forest;
pub mod gbt;
pub mod iforest;
pub mod linear;
pub mod matrix;
pub mod metrics;
pub mod model;
pub mod parquet_in;
pub mod preprocess;
pub mod select;
pub mod split;
pub mod table;
pub mod time;
