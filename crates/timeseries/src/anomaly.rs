//! anomaly
