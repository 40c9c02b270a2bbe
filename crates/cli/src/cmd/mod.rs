//! One module per subcommand: each exposes `Args` (clap) and `run(Args)`.
pub mod evaluate;
pub mod forecast;
pub mod predict;
pub mod train;
pub mod features;
pub mod flows;
pub mod stats;
pub mod synth;
