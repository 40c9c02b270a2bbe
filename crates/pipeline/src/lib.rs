//! netlens-pipeline: read captures, dissect every packet and meter flows.
//!
//! # Brief overview
//! [`run`] drives a [`CaptureReader`] through
//! [`netlens_wire::dissect`] into a [`FlowMeter`] and hands expired flows to a
//! sink in batches, in a deterministic order (by the index of each flow's
//! first packet within a batch), with ids assigned in output order. Optional
//! [`PacketObserver`]s see every packet (for traffic summaries and time
//! series) without a second pass over the input.
//!
//! [`run_source`] does the same for any [`PacketSource`]: a file, a live
//! interface ([`LiveSource`], feature `live`) or a paced replay
//! ([`PacedReplay`]). Besides packets a source yields `Idle { now_ns }`
//! ticks: the meter advances to `now_ns` and the flows that expired are
//! handed to the sink at once, without waiting for the next packet or the
//! end of the batch. An optional stop flag (set by a Ctrl-C handler, a
//! timer, a server) is checked after every event; when it is set the run
//! ends as if the input had ended: every open flow is flushed with end
//! reason end-of-input and the report is returned, so sinks can finish
//! their files. Files never tick, so for them the loop is unchanged (the
//! source is a generic parameter, monomorphised per source type).
//!
//! Invariants: every packet read is either metered or counted under exactly
//! one skip reason in [`RunReport`]; the pipeline allocates nothing per
//! packet (the packet summary is reused and flows are allocated per flow).

#![deny(missing_docs)]

mod sharded;
pub mod source;
pub mod summary;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use netlens_capture::{CaptureReader, PacketRef};
use netlens_flow::{EndReason, Flow, FlowMeter, MeterConfig, MeterStats};
use netlens_wire::{DissectError, PacketSummary};

#[cfg(feature = "live")]
pub use source::LiveSource;
pub use source::{PacedReplay, PacketSource, SourceEvent};
pub use summary::TrafficSummary;

/// Sees every packet read, with its dissection outcome.
pub trait PacketObserver {
    /// Called once per packet, before the packet is metered.
    fn on_packet(&mut self, pkt: &PacketRef<'_>, dissected: Result<&PacketSummary, DissectError>);
}

/// Settings of a pipeline run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Flow meter settings.
    pub meter: MeterConfig,
    /// Packets between two hand-overs of expired flows to the sink.
    pub batch_packets: usize,
    /// Flow-metering threads: 1 meters on the reading thread; N > 1 shards
    /// flows over N workers by a direction-independent hash of their key.
    /// The output is identical for any thread count unless the flow table
    /// overflows (eviction works per shard).
    pub threads: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            meter: MeterConfig::default(),
            batch_packets: 8192,
            threads: 1,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunReport {
    /// Packets read from the inputs.
    pub packets: u64,
    /// On-the-wire bytes of those packets.
    pub wire_bytes: u64,
    /// Packets that reached the flow meter.
    pub ip_packets: u64,
    /// Packets not metered, by reason (`non_ip`, `truncated_tcp`, `unsupported_link_type`, ...).
    pub skipped: BTreeMap<String, u64>,
    /// Packets of link types the dissector does not decode, by link type.
    pub unsupported_linktypes: BTreeMap<u32, u64>,
    /// Timestamp of the earliest packet (ns), if any.
    pub first_ts_ns: Option<i64>,
    /// Timestamp of the latest packet (ns), if any.
    pub last_ts_ns: Option<i64>,
    /// Flows handed to the sink.
    pub flows: u64,
    /// Flow meter counters.
    #[serde(skip)]
    pub meter: MeterStats,
}

/// Whether a skip reason ([`DissectError::reason`]) is a defect of the packet
/// (malformed or truncated headers) rather than traffic netlens does not
/// meter (non-IP, unsupported link type).
pub fn is_malformed_reason(reason: &str) -> bool {
    reason.starts_with("truncated")
        || reason.starts_with("malformed")
        || reason == "too_many_layers"
}

impl RunReport {
    /// Packets skipped for a defect (malformed or truncated headers), not for being non-IP.
    pub fn malformed(&self) -> u64 {
        self.skipped
            .iter()
            .filter(|(k, _)| is_malformed_reason(k))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Read every packet of `reader`, meter flows and pass expired flows to
/// `sink` in batches. `observers` see every packet. `progress` is called
/// after every batch with the packets read so far.
pub fn run<E>(
    reader: &mut CaptureReader,
    cfg: &RunConfig,
    observers: &mut [&mut dyn PacketObserver],
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
    progress: &mut dyn FnMut(&RunReport),
) -> Result<RunReport, E> {
    drive(reader, cfg, observers, sink, progress, None, |e| match e {})
}

/// [`run`] over any [`PacketSource`]: packets are metered as from a file,
/// `Idle` ticks advance the meter and hand expired flows to `sink` at once,
/// and `stop` (checked after every event) ends the run cleanly: open flows
/// are flushed with end reason end-of-input. `progress` is also called
/// after every tick. Source errors end the run with `E::from(error)` (flows
/// still open are then not flushed).
pub fn run_source<S, E>(
    source: &mut S,
    cfg: &RunConfig,
    observers: &mut [&mut dyn PacketObserver],
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
    progress: &mut dyn FnMut(&RunReport),
    stop: Option<&AtomicBool>,
) -> Result<RunReport, E>
where
    S: PacketSource + ?Sized,
    E: From<S::Error>,
{
    drive(source, cfg, observers, sink, progress, stop, E::from)
}

/// True once the stop flag is set.
#[inline]
fn stopped(stop: Option<&AtomicBool>) -> bool {
    stop.is_some_and(|s| s.load(Ordering::Relaxed))
}

fn drive<S, E>(
    source: &mut S,
    cfg: &RunConfig,
    observers: &mut [&mut dyn PacketObserver],
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
    progress: &mut dyn FnMut(&RunReport),
    stop: Option<&AtomicBool>,
    source_err: impl Fn(S::Error) -> E,
) -> Result<RunReport, E>
where
    S: PacketSource + ?Sized,
{
    if cfg.threads > 1 {
        return sharded::run(source, cfg, observers, sink, progress, stop, source_err);
    }
    let mut meter = FlowMeter::new(cfg.meter.clone());
    let mut report = RunReport::default();
    let mut summary = PacketSummary::default();
    let mut out: Vec<Flow> = Vec::new();
    let mut skipped: hashbrown::HashMap<&'static str, u64> = hashbrown::HashMap::new();
    let batch = cfg.batch_packets.max(1) as u64;
    while !stopped(stop) {
        let pkt = match source.next_event() {
            Ok(SourceEvent::Packet(p)) => p,
            Ok(SourceEvent::Idle { now_ns }) => {
                meter.advance(now_ns);
                hand_over(&mut meter, &mut out, &mut report, sink)?;
                progress(&report);
                continue;
            }
            Ok(SourceEvent::End) => break,
            Err(e) => return Err(source_err(e)),
        };
        let index = report.count(&pkt);
        let res = dissect_observed(&pkt, &mut summary, observers);
        match res {
            Ok(()) => {
                report.ip_packets += 1;
                meter.process_with_payload(
                    pkt.ts_ns,
                    pkt.wire_len,
                    index,
                    &summary,
                    summary.payload(pkt.data),
                );
            }
            Err(e) => {
                *skipped.entry(e.reason()).or_insert(0) += 1;
                if let DissectError::UnsupportedLinkType(lt) = e {
                    *report.unsupported_linktypes.entry(lt).or_insert(0) += 1;
                }
                // Time still passes for idle expiry.
                meter.advance(pkt.ts_ns);
            }
        }
        if report.packets % batch == 0 {
            hand_over(&mut meter, &mut out, &mut report, sink)?;
            progress(&report);
        }
    }
    meter.finish();
    hand_over(&mut meter, &mut out, &mut report, sink)?;
    report.skipped = skipped
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    report.meter = meter.stats();
    progress(&report);
    Ok(report)
}

impl RunReport {
    /// Count a packet read; returns its index (0-based, in reading order).
    #[inline]
    fn count(&mut self, pkt: &PacketRef<'_>) -> u64 {
        let index = self.packets;
        self.packets += 1;
        self.wire_bytes += u64::from(pkt.wire_len);
        self.first_ts_ns = Some(self.first_ts_ns.map_or(pkt.ts_ns, |t| t.min(pkt.ts_ns)));
        self.last_ts_ns = Some(self.last_ts_ns.map_or(pkt.ts_ns, |t| t.max(pkt.ts_ns)));
        index
    }
}

/// Dissect a packet into `summary` and show the outcome to every observer.
#[inline]
fn dissect_observed(
    pkt: &PacketRef<'_>,
    summary: &mut PacketSummary,
    observers: &mut [&mut dyn PacketObserver],
) -> Result<(), DissectError> {
    let res = netlens_wire::dissect(pkt.linktype, pkt.data, summary);
    for o in observers.iter_mut() {
        o.on_packet(pkt, res.map(|()| &*summary));
    }
    res
}

/// Sort a batch of expired flows by first packet, number them and sink them.
fn emit<E>(
    out: &mut [Flow],
    report: &mut RunReport,
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
) -> Result<(), E> {
    if out.is_empty() {
        return Ok(());
    }
    sort_flows(out);
    for f in out.iter_mut() {
        f.id = report.flows;
        report.flows += 1;
    }
    sink(out)
}

/// Sort a batch of flows by first packet (an early snapshot before the final
/// record of its flow). The key is unique within a batch (a packet opens at
/// most one flow; a snapshot sorts before its flow's final record, as the
/// meter emits them), so an unstable sort gives the stable order. Flows are
/// large, and sorting them in place moved each one about log2(n) times (a
/// tenth of the reading thread's time on the flood mix): the keys are
/// sorted instead, and the permutation is applied with one swap per flow.
fn sort_flows(out: &mut [Flow]) {
    // First packet index, then the early snapshot (false) before the final
    // record (true), packed into one integer: packet indices stay far below
    // 2^63.
    let key = |f: &Flow| f.first_packet_index << 1 | u64::from(f.end_reason != EndReason::Early);
    if out.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
        return;
    }
    thread_local! {
        /// (key, position) pairs, kept from batch to batch: a fresh vector
        /// per batch was fresh pages to fault in on the reading thread.
        static ORDER: std::cell::RefCell<Vec<(u64, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // Positions are u32: a batch holds far fewer flows; a larger one keeps
    // its order (never reached: batches are cut by packets).
    if u32::try_from(out.len()).is_err() {
        return;
    }
    ORDER.with_borrow_mut(|order| {
        order.clear();
        order.extend(out.iter().enumerate().map(|(i, f)| (key(f), i as u32)));
        order.sort_unstable();
        // Cycle by cycle: position j receives the flow `order[j]` names;
        // a position is marked done by setting its entry's position to
        // u32::MAX.
        for i in 0..order.len() {
            if order[i].1 == u32::MAX {
                continue;
            }
            let mut j = i;
            loop {
                let k = order[j].1 as usize;
                order[j].1 = u32::MAX;
                if k == i {
                    break;
                }
                out.swap(j, k);
                j = k;
            }
        }
    });
}

fn hand_over<E>(
    meter: &mut FlowMeter,
    out: &mut Vec<Flow>,
    report: &mut RunReport,
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
) -> Result<(), E> {
    if meter.pending() == 0 {
        return Ok(());
    }
    out.clear();
    meter.drain(out);
    emit(out, report, sink)
}
