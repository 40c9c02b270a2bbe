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

/// Splits the packet stream where one input ends and the next starts
/// earlier in time, which only happens when inputs are read one after
/// another (`--no-merge`; merged inputs never go back in time at a switch).
/// Each such stretch is metered on its own: the meter is flushed and its
/// clock restarts, instead of clamping the later input's older timestamps
/// to the earlier one's last time (which gave its flows wrong times, zero
/// durations and merged flows across files).
#[derive(Default)]
pub(crate) struct Segments {
    source: Option<u32>,
    latest_ns: i64,
}

impl Segments {
    /// Whether `pkt` starts a new stretch (then the meter must be finished first).
    #[inline]
    pub(crate) fn starts_new(&mut self, pkt: &PacketRef<'_>) -> bool {
        let new = matches!(self.source, Some(s) if s != pkt.source) && pkt.ts_ns < self.latest_ns;
        if new || self.source.is_none() {
            self.latest_ns = pkt.ts_ns;
        } else {
            self.latest_ns = self.latest_ns.max(pkt.ts_ns);
        }
        self.source = Some(pkt.source);
        new
    }
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
    let mut out = HandOver::default();
    let mut skipped: hashbrown::HashMap<&'static str, u64> = hashbrown::HashMap::new();
    let batch = cfg.batch_packets.max(1) as u64;
    let mut segments = Segments::default();
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
        if segments.starts_new(&pkt) {
            meter.finish();
            hand_over(&mut meter, &mut out, &mut report, sink)?;
        }
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

/// Move the flows of `parts` into `out` ordered by first packet (see
/// [`gather_sorted`]), number them and sink them.
fn emit<E>(
    parts: &mut [Vec<Flow>],
    out: &mut Vec<Flow>,
    report: &mut RunReport,
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
) -> Result<(), E> {
    gather_sorted(parts, out);
    if out.is_empty() {
        return Ok(());
    }
    for f in out.iter_mut() {
        f.id = report.flows;
        report.flows += 1;
    }
    sink(out)
}

/// Order key of a flow in a batch: first packet index, then the early
/// snapshot (false) before the final record (true), packed into one
/// integer (packet indices stay far below 2^63). Unique within a batch: a
/// packet opens at most one flow, and a snapshot sorts before its flow's
/// final record, as the meter emits them.
fn order_key(f: &Flow) -> u64 {
    f.first_packet_index << 1 | u64::from(f.end_reason != EndReason::Early)
}

/// Move every flow of `parts` (the meter's expired flows, or one vector per
/// worker) into `out`, emptied first, sorted by [`order_key`]; `parts` are
/// left empty with their capacity. Flows are large (208 bytes): sorting them
/// in place moved each about log2(n) times, and applying a sorted key
/// permutation with swaps still read and wrote each flow twice, after the
/// workers' vectors had been appended into one (once more). Here the keys
/// are sorted and each flow is moved once, straight to its place; safe Rust
/// cannot move elements out of a vector in arbitrary order without writing
/// a placeholder into each hole, hence the few lines of `unsafe` below.
fn gather_sorted(parts: &mut [Vec<Flow>], out: &mut Vec<Flow>) {
    out.clear();
    if let [one] = parts
        && one.windows(2).all(|w| order_key(&w[0]) <= order_key(&w[1]))
    {
        std::mem::swap(one, out);
        return;
    }
    thread_local! {
        /// (key, part, position) triples, kept from batch to batch: a fresh
        /// vector per batch was fresh pages to fault in on the reading thread.
        static ORDER: std::cell::RefCell<Vec<(u64, u32, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let total: usize = parts.iter().map(Vec::len).sum();
    // Positions are u32: a batch holds far fewer flows; a larger one keeps
    // the workers' order (never reached: batches are cut by packets).
    if u32::try_from(total).is_err() || u32::try_from(parts.len()).is_err() {
        for p in parts.iter_mut() {
            out.append(p);
        }
        return;
    }
    ORDER.with_borrow_mut(|order| {
        order.clear();
        for (p, v) in parts.iter().enumerate() {
            order.extend(
                v.iter()
                    .enumerate()
                    .map(|(i, f)| (order_key(f), p as u32, i as u32)),
            );
        }
        order.sort_unstable_by_key(|e| e.0);
        out.reserve(total);
        let src: Vec<*const Flow> = parts.iter().map(|v| v.as_ptr()).collect();
        let dst = out.as_mut_ptr();
        // SAFETY: `order` names every (part, position) pair exactly once (it
        // was built by enumerating the parts; sorting permutes it), so each
        // flow is read exactly once, from inside its vector, and written to a
        // distinct slot below `total` <= `out`'s capacity. The parts' lengths
        // are set to 0 before the first read and `out`'s length to `total`
        // only after the last write, so a panic in between (none can occur:
        // the indices are in range) would leak flows, never drop one twice.
        // `set_len(0)` keeps the buffers, so the `src` pointers stay valid.
        unsafe {
            for v in parts.iter_mut() {
                v.set_len(0);
            }
            for (j, &(_, p, i)) in order.iter().enumerate() {
                std::ptr::copy_nonoverlapping(src[p as usize].add(i as usize), dst.add(j), 1);
            }
            out.set_len(total);
        }
    });
}

/// Hand the meter's expired flows, in output order, to the sink (`bufs`:
/// the drained flows and the sorted batch, recycled between calls).
fn hand_over<E>(
    meter: &mut FlowMeter,
    bufs: &mut HandOver,
    report: &mut RunReport,
    sink: &mut dyn FnMut(&[Flow]) -> Result<(), E>,
) -> Result<(), E> {
    if meter.pending() == 0 {
        return Ok(());
    }
    meter.drain(&mut bufs.drained[0]);
    emit(&mut bufs.drained, &mut bufs.sorted, report, sink)
}

/// Buffers of [`hand_over`].
#[derive(Default)]
struct HandOver {
    drained: [Vec<Flow>; 1],
    sorted: Vec<Flow>,
}
