//! Per-interval traffic series from captures.
//!
//! One pass: the pipeline shows every dissected packet to an
//! [`IntervalAccumulator`] (packets, bytes by the wire length, protocol
//! bytes, TCP SYN/SYN-ACK, unique hosts) and hands it each finished flow's
//! start and end (new/active/SYN-only flows). A flow is "SYN-only" when it
//! is TCP, its initiator sent a SYN and no SYN-ACK or payload was seen in
//! either direction. Invariants are the accumulator's (exact counts, bounded
//! memory); the table has one row per interval, empty intervals included.

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use netlens_capture::PacketRef;
use netlens_flow::Flow;
use netlens_pipeline::PacketObserver;
use netlens_timeseries::IntervalAccumulator;
use netlens_wire::{DissectError, PacketSummary};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

use crate::error::{Error, Result};
use crate::flows::FlowSettings;

struct Observer<'a>(&'a RefCell<IntervalAccumulator>);

impl PacketObserver for Observer<'_> {
    fn on_packet(
        &mut self,
        pkt: &PacketRef<'_>,
        dissected: std::result::Result<&PacketSummary, DissectError>,
    ) {
        if let Ok(p) = dissected {
            let flags = if p.protocol == 6 { p.tcp.flags } else { 0 };
            self.0.borrow_mut().on_packet(
                pkt.ts_ns,
                u64::from(pkt.wire_len),
                p.src_ip,
                p.dst_ip,
                p.protocol,
                flags,
            );
        }
    }
}

fn syn_only(f: &Flow) -> bool {
    f.protocol == 6
        && f.tcp.syn_fwd
        && !f.tcp.synack_bwd
        && !f.tcp.synack_fwd
        && !f.tcp.data_fwd
        && !f.tcp.data_bwd
}

fn to_batch(t: &netlens_timeseries::IntervalTable) -> Result<RecordBatch> {
    let n = t.rows.len();
    let mut start = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut u: Vec<(&str, UInt64Builder)> = [
        "packets",
        "bytes",
        "new_flows",
        "active_flows",
        "new_tcp_flows",
        "syn_only_flows",
        "tcp_syn",
        "tcp_synack",
        "src_hosts",
        "dst_hosts",
        "tcp_bytes",
        "udp_bytes",
        "icmp_bytes",
        "other_bytes",
        "late_packets",
    ]
    .into_iter()
    .map(|s| (s, UInt64Builder::with_capacity(n)))
    .collect();
    let mut bps = Float64Builder::with_capacity(n);
    let mut mps = Float64Builder::with_capacity(n);
    let mut exact = BooleanBuilder::with_capacity(n);
    for r in &t.rows {
        start.append_value(r.start.saturating_mul(1_000_000));
        let vals = [
            r.packets,
            r.bytes,
            r.new_flows,
            r.active_flows,
            r.new_tcp_flows,
            r.syn_only_flows,
            r.tcp_syn,
            r.tcp_synack,
            r.src_hosts,
            r.dst_hosts,
            r.tcp_bytes,
            r.udp_bytes,
            r.icmp_bytes,
            r.other_bytes,
            r.late_packets,
        ];
        for ((_, b), v) in u.iter_mut().zip(vals) {
            b.append_value(v);
        }
        bps.append_value(r.bits_per_s);
        mps.append_value(r.mean_packet_size);
        exact.append_value(r.hosts_exact);
    }
    let mut fields = vec![Field::new(
        "start",
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(start.finish())];
    for (name, mut b) in u {
        fields.push(Field::new(name, DataType::UInt64, false));
        arrays.push(Arc::new(b.finish()));
    }
    fields.push(Field::new("bits_per_s", DataType::Float64, false));
    arrays.push(Arc::new(bps.finish()));
    fields.push(Field::new("mean_packet_size", DataType::Float64, false));
    arrays.push(Arc::new(mps.finish()));
    fields.push(Field::new("hosts_exact", DataType::Boolean, false));
    arrays.push(Arc::new(exact.finish()));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// Captures → one row per `interval` seconds: counts of packets, bytes,
/// flows and hosts (a `pyarrow.Table`).
#[pyfunction]
#[pyo3(signature = (inputs, interval, idle_timeout, active_timeout, merge))]
pub fn series<'py>(
    py: Python<'py>,
    inputs: Vec<String>,
    interval: i64,
    idle_timeout: f64,
    active_timeout: f64,
    merge: bool,
) -> PyResult<Bound<'py, PyAny>> {
    if interval <= 0 {
        return Err(Error::Invalid(format!(
            "interval must be a positive number of seconds, got {interval}"
        ))
        .into());
    }
    let s = FlowSettings::new(
        inputs,
        "basic",
        idle_timeout,
        active_timeout,
        0,
        "link",
        true,
        true,
        4 << 20,
        1,
        merge,
    )?;
    let mut reader = s.open()?;
    let batch: Result<RecordBatch> = py.detach(move || {
        // The observer and the flow sink run on this thread one after the
        // other, never at once: a RefCell shares the accumulator between them.
        let acc = RefCell::new(IntervalAccumulator::new(interval)?);
        let mut obs = Observer(&acc);
        let mut observers: [&mut dyn PacketObserver; 1] = [&mut obs];
        netlens_pipeline::run(
            &mut reader,
            &s.run,
            &mut observers,
            &mut |flows: &[Flow]| -> std::result::Result<(), Error> {
                let mut a = acc.borrow_mut();
                for f in flows {
                    a.on_flow_start(f.first_ns, f.id, f.protocol);
                    a.on_flow_end(f.last_ns, f.id, f.protocol, syn_only(f));
                }
                Ok(())
            },
            &mut |_| {},
        )?;
        let acc = acc.into_inner();
        to_batch(&acc.finish()?)
    });
    let batch = batch?;
    let schema = batch.schema();
    PyTable::try_new(vec![batch], schema)?.into_pyarrow(py)
}
