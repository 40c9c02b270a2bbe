//! netlens-web: the live dashboard of `netlens serve`.
//!
//! # Brief overview
//! - [`state::Dashboard`] holds what the pipeline has seen so far
//!   (throughput per second, protocol/application mix, top talkers, active
//!   flows, recent alerts, the forecast, status) within fixed memory bounds,
//!   and renders the JSON views the endpoints serve.
//! - [`feed`] runs the pipeline (capture → flows → detector) into a
//!   [`feed::SharedState`], replaying captures at their own pace, and
//!   refreshes the throughput forecast periodically.
//! - [`server`] is the axum router: the page and its two assets (embedded
//!   in the binary, no file system access, so no path traversal), the JSON
//!   endpoints under `/api/`, and the bearer-token check.
//!
//! Invariants: the HTTP side only reads the state; no request can make the
//! server read a file or allocate more than the bounded views; a token,
//! when set, guards every route.
#![deny(missing_docs)]

pub mod error;
pub mod feed;
pub mod server;
pub mod state;

pub use error::WebError;
pub use feed::{FeedConfig, SharedState, replay, run_feed, run_forecaster};
pub use server::{ServerConfig, router, serve_blocking};
pub use state::{Dashboard, Limits, SourceInfo};
