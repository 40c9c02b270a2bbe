//! netlens-flow: bidirectional flow metering and the flow feature registry.
//!
//! # Brief overview
//! A [`FlowMeter`] takes dissected packets ([`netlens_wire::PacketSummary`])
//! with their timestamps and assigns them to bidirectional [`Flow`]s keyed by
//! [`FlowKey`] (VLAN, protocol, endpoint pair, tunnel id). Flows end on idle
//! or active timeout, TCP FIN/RST termination, eviction from a full table, or
//! the end of input, and are handed out by [`FlowMeter::drain`]. The
//! [`features`] module is the single registry of exported columns.

#![deny(missing_docs)]

pub mod cic;
pub mod features;
pub mod flow;
pub mod key;
pub mod meter;
pub mod stats;

pub use features::{COLUMNS, Column, ColumnType, Fill, Group, Selection, Value};
pub use flow::{DirCounters, EndReason, Flow, FlowStats, TcpTrack};
pub use key::{Endpoint, FlowKey};
pub use meter::{Accounting, FlowMeter, FragTable, MeterConfig, MeterStats};
