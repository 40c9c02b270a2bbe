//! netlens-anomaly: unsupervised anomaly detection on network traffic.
//!
//! Two detectors, both trained on traffic assumed to be clean:
//! - [`iforest`]: an isolation forest (the in-house one of `netlens-ml`)
//!   over numeric per-flow features ([`flowfeat`]), with a decision
//!   threshold set to a quantile of the training scores and saved in the
//!   model file.
//! - [`kitsune`]: an online per-packet detector in the spirit of Kitsune
//!   (Mirsky et al., NDSS 2018): damped incremental statistics
//!   ([`incstat`]) at five time scales feed an ensemble of small
//!   autoencoders ([`kitnet`]); it runs as a
//!   [`netlens_pipeline::PacketObserver`], so it shares the pass that
//!   meters flows.
//!
//! Both write [`alert::Alert`]s as JSON Lines in the format shared with the
//! supervised detector. [`eval`] measures score separation (ROC-AUC).
//!
//! Invariants: no input byte can cause a panic; every per-key table is
//! capped (least-recently-used keys are evicted), so memory is bounded
//! whatever the input.

#![deny(missing_docs)]

pub mod alert;
pub mod error;
pub mod eval;
pub mod flowfeat;
pub mod iforest;
pub mod incstat;
pub mod kitnet;
pub mod kitsune;
mod lru;

pub use alert::{Alert, AlertWriter, TopFeature};
pub use error::AnomalyError;
pub use iforest::{IforestConfig, IforestModel};
pub use kitsune::{Kitsune, KitsuneConfig, KitsuneObserver};
