//! One module per subcommand: each exposes `Args` (clap) and `run(Args)`.
pub mod analyze;
pub mod analyze_unsup;
pub mod anomaly;
pub mod detect;
pub mod evaluate;
pub mod features;
pub mod flows;
pub mod forecast;
pub mod label;
pub mod predict;
pub mod report;
pub mod series;
pub mod serve;
pub mod stats;
pub mod synth;
pub mod train;
pub mod train_detector;
