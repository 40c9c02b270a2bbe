//! netlens-detect: supervised attack detection on flows.
//!
//! * [`rules`]: label flow tables by reproducible rules (time windows,
//!   addresses/CIDR prefixes, ports, protocol; first match wins).
//! * [`labels`]: labels for captures (a 5-tuple labels CSV or a
//!   whole-capture label) matched to metered flows in either direction.
//! * [`features`]: the numeric per-flow feature set a detector is trained
//!   on (identifiers and timestamps excluded), full-flow or early-flow,
//!   optionally with host context (decayed per-address flow counts of the stream).
//! * [`training`]: labelled captures to a model, with class balancing and a
//!   decision threshold chosen by cross-validation grouped by capture file.
//! * [`detector`]: a loaded model checked against the features a run
//!   produces, classifying batches of flows into [`alert::Alert`]s; with
//!   early snapshots from the meter (`MeterConfig::early_emit`), one
//!   decision per flow at its Nth packet ([`detector::EarlyDecisions`]).
//!
//! Invariant: training and detection read every feature through the same
//! code ([`features::fill_table`], behind [`features::flows_to_table`]), so
//! a model never sees a column computed differently from the way it was
//! trained. Streaming detection may skip the table
//! ([`features::DirectFeatures`]: the same registry readers and host-context
//! rows, the pipeline's numeric transform applied on the way into the input
//! matrix); `tests/alert_lines.rs` checks on real captures that both give
//! the same scores and alerts.
#![deny(missing_docs)]

pub mod alert;
pub mod detector;
pub mod error;
pub mod features;
pub mod labels;
pub mod rules;
pub mod training;

pub use alert::Alert;
pub use detector::{DetectBuffers, Detector, EarlyDecisions};
pub use error::{DetectError, Result};
pub use features::{FeatureSet, flows_to_table};
