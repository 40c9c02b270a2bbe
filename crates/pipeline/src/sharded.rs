//! Multi-threaded flow metering: one reader thread, N meter workers.
//!
//! The reading thread reads, clamps timestamps and picks each packet's
//! worker, the one that owns its flow, so every worker sees exactly what a
//! single meter would. For the common packet (plain TCP/UDP over untagged
//! Ethernet, see `netlens_wire::fast`) it reads the flow fields directly
//! (`shard_of_tuple`) and leaves the dissection to the worker, which gets
//! the frame's header bytes (plus up to `MAX_PAYLOAD_COPY` payload bytes
//! when application metadata is on): dissecting on the reading thread made
//! it the bottleneck. Every other packet, and every packet when observers
//! are attached (they need the summary in reading order), is dissected on
//! the reading thread, which also attributes IP fragments, and travels as
//! a summary (`shard_of_packet`). Both choices give the same worker for the
//! same flow (`netlens_wire::fast` states and tests the contract). Work moves in batches of
//! `batch_packets` packets; at the end of every batch each worker expires
//! idle flows up to the batch's latest time and returns what expired. The
//! flows of a batch from all workers are merged, sorted by first packet and
//! numbered exactly as the single-threaded path does, so the output does not
//! depend on the thread count (except when the flow table overflows:
//! capacity is split evenly over the workers).
//!
//! Ticks (`Idle` events of a live or paced source) and the stop flag: on a
//! tick the partial batches are sent at once with the tick's time as `now`
//! and every batch in flight is collected, so flows that expired are handed
//! to the sink without waiting for more packets; the stop flag ends the read
//! loop and takes the normal end-of-input path (files never tick, so their
//! batching is unchanged).
//!
//! Invariant: at most `MAX_INFLIGHT` batches are in flight, so memory is
//! bounded; packet buffers are recycled between batches.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use netlens_flow::{Flow, FlowMeter, FragTable, MeterConfig, MeterStats};
use netlens_wire::{DissectError, PacketSummary};

use crate::{PacketObserver, PacketSource, RunConfig, RunReport, SourceEvent, emit, stopped};

/// Six rather than three let the reading thread run further ahead of the
/// workers: about 3 % less wall time with two threads on both benchmark
/// mixes (alternated runs), for a few MB more buffered packets.
const MAX_INFLIGHT: usize = 6;

/// One packet on its way to a worker.
#[derive(Clone, Copy)]
struct Rec {
    ts: i64,
    index: u64,
    wire_len: u32,
    linktype: u32,
    /// Index of the packet's summary in `Batch::sums`, or [`RAW`]: the
    /// worker dissects the frame bytes itself.
    sum: u32,
    /// Length of the packet's bytes in the batch's arena, starting at
    /// `start`: the frame's first bytes for [`RAW`], else the payload
    /// (empty unless application metadata is on).
    len: u32,
    start: usize,
}

/// `Rec::sum` of a packet the worker dissects.
const RAW: u32 = u32::MAX;

/// Most payload bytes copied per packet for application-metadata inspection
/// (a TCP segment or QUIC datagram fits; longer payloads are cut).
const MAX_PAYLOAD_COPY: usize = 2048;

/// One batch of packets for a worker: records plus their payload bytes.
#[derive(Default)]
struct Batch {
    recs: Vec<Rec>,
    sums: Vec<PacketSummary>,
    arena: Vec<u8>,
    /// An empty flow buffer travelling back to the worker: the worker's
    /// meter takes it in exchange for its expired flows
    /// ([`FlowMeter::drain`] swaps with an empty vector), so flows are
    /// neither copied in the worker nor pushed into fresh allocations.
    spare: Vec<Flow>,
}

enum ToWorker {
    /// Meter the batch; with `flush`, then end every flow and restart the
    /// clock (a new stretch of input begins, see `crate::Segments`).
    Batch {
        batch: Batch,
        now: Option<i64>,
        flush: bool,
    },
    /// The last batch: meter it, then flush every flow (one reply, as the
    /// single-threaded path flushes the last batch and the table together).
    Finish { batch: Batch, now: Option<i64> },
}

struct FromWorker {
    flows: Vec<Flow>,
    batch: Batch,
    stats: Option<MeterStats>,
    /// Skip reasons of packets the worker failed to dissect (none while
    /// `netlens_wire::fast` keeps its contract; counted if it ever does not).
    rejected: Vec<&'static str>,
}

pub(crate) fn run<S, E>(
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
    let n = cfg.threads.max(2);
    let worker_cfg = MeterConfig {
        capacity: (cfg.meter.capacity / n).max(1),
        attribute_fragments: false,
        ..cfg.meter.clone()
    };
    let batch = cfg.batch_packets.max(1);
    std::thread::scope(|scope| {
        let mut to: Vec<mpsc::SyncSender<ToWorker>> = Vec::with_capacity(n);
        let mut from: Vec<mpsc::Receiver<FromWorker>> = Vec::with_capacity(n);
        for _ in 0..n {
            let (tx, rx) = mpsc::sync_channel::<ToWorker>(MAX_INFLIGHT + 1);
            let (btx, brx) = mpsc::channel::<FromWorker>();
            let wcfg = worker_cfg.clone();
            scope.spawn(move || worker(wcfg, rx, btx));
            to.push(tx);
            from.push(brx);
        }
        let mut report = RunReport::default();
        let mut frags = FragTable::default();
        let mut summary = PacketSummary::default();
        let mut skipped: hashbrown::HashMap<&'static str, u64> = hashbrown::HashMap::new();
        let mut rs = Replies {
            pools: (0..n).map(|_| Vec::new()).collect(),
            round: (0..n).map(|_| Vec::new()).collect(),
            ..Replies::default()
        };
        let mut cur: Vec<Batch> = (0..n)
            .map(|_| Batch {
                recs: Vec::with_capacity(batch / n + 16),
                ..Default::default()
            })
            .collect();
        let copy_payload = cfg.meter.app;
        let fast_path = observers.is_empty();
        let mut now: Option<i64> = None;
        let mut out_of_order = 0u64;
        // Packets left before the next hand-over (a countdown: a division per packet shows in profiles).
        let mut until_batch = batch;
        let mut segments = crate::Segments::default();

        // Take the workers' replies, one round per batch sent, until at most
        // `limit` rounds are still out; each round's flows go to the sink.
        let mut collect_until = |report: &mut RunReport,
                                 skipped: &mut hashbrown::HashMap<&'static str, u64>,
                                 rs: &mut Replies,
                                 limit: usize|
         -> Result<(), E> {
            while rs.inflight > limit {
                for (w, rx) in from.iter().enumerate() {
                    // A worker only disappears if it panicked; its flows are lost then.
                    if let Ok(mut msg) = rx.recv() {
                        // The worker's flows wait in `round`; the vector
                        // emptied by the last round goes back as its spare.
                        if let Some(slot) = rs.round.get_mut(w) {
                            std::mem::swap(slot, &mut msg.flows);
                        }
                        msg.batch.spare = msg.flows;
                        for reason in msg.rejected {
                            report.ip_packets = report.ip_packets.saturating_sub(1);
                            *skipped.entry(reason).or_insert(0) += 1;
                        }
                        msg.batch.recs.clear();
                        msg.batch.sums.clear();
                        msg.batch.arena.clear();
                        if let Some(p) = rs.pools.get_mut(w) {
                            p.push(msg.batch);
                        }
                        if let Some(st) = msg.stats {
                            rs.worker_stats.push(st);
                        }
                    }
                }
                emit(&mut rs.round, &mut rs.merged, report, sink)?;
                rs.inflight -= 1;
            }
            Ok(())
        };

        while !stopped(stop) {
            let pkt = match source.next_event() {
                Ok(SourceEvent::Packet(p)) => p,
                Ok(SourceEvent::Idle { now_ns }) => {
                    let t = now.map_or(now_ns, |n| n.max(now_ns));
                    now = Some(t);
                    send_batches(&to, &mut rs, &mut cur, now, false);
                    collect_until(&mut report, &mut skipped, &mut rs, 0)?;
                    progress(&report);
                    continue;
                }
                Ok(SourceEvent::End) => break,
                Err(e) => return Err(source_err(e)),
            };
            let index = report.count(&pkt);
            if segments.starts_new(&pkt) {
                // The packets so far, then every flow of the stretch, in
                // one round as the single-threaded path hands them over.
                send_batches(&to, &mut rs, &mut cur, now, true);
                collect_until(&mut report, &mut skipped, &mut rs, MAX_INFLIGHT - 1)?;
                now = None;
            }
            let ts = match now {
                Some(t) if pkt.ts_ns < t => {
                    out_of_order += 1;
                    t
                }
                _ => pkt.ts_ns,
            };
            now = Some(ts);
            if let Some(t) = fast_path
                .then(|| netlens_wire::fast_tuple(pkt.linktype, pkt.data))
                .flatten()
            {
                report.ip_packets += 1;
                let w = netlens_flow::key::shard_of_tuple(&t, n);
                if let Some(b) = cur.get_mut(w) {
                    let keep = if copy_payload {
                        t.header_end.saturating_add(MAX_PAYLOAD_COPY)
                    } else {
                        t.header_end
                    };
                    let f = pkt.data.get(..keep).unwrap_or(pkt.data);
                    let start = b.arena.len();
                    b.arena.extend_from_slice(f);
                    b.recs.push(Rec {
                        ts,
                        index,
                        wire_len: pkt.wire_len,
                        linktype: pkt.linktype,
                        sum: RAW,
                        len: f.len() as u32,
                        start,
                    });
                }
            } else {
                match crate::dissect_observed(&pkt, &mut summary, observers) {
                    Ok(()) => {
                        report.ip_packets += 1;
                        let (sp, dp) = frags.attribute(&summary);
                        summary.src_port = sp;
                        summary.dst_port = dp;
                        let w = netlens_flow::key::shard_of_packet(&summary, n);
                        if let Some(b) = cur.get_mut(w) {
                            let start = b.arena.len();
                            let mut len = 0;
                            if copy_payload {
                                let p = summary.payload(pkt.data);
                                let p = &p[..p.len().min(MAX_PAYLOAD_COPY)];
                                b.arena.extend_from_slice(p);
                                len = p.len() as u32;
                            }
                            b.recs.push(Rec {
                                ts,
                                index,
                                wire_len: pkt.wire_len,
                                linktype: pkt.linktype,
                                sum: b.sums.len() as u32,
                                len,
                                start,
                            });
                            b.sums.push(summary);
                        }
                    }
                    Err(e) => {
                        *skipped.entry(e.reason()).or_insert(0) += 1;
                        if let DissectError::UnsupportedLinkType(lt) = e {
                            *report.unsupported_linktypes.entry(lt).or_insert(0) += 1;
                        }
                    }
                }
            }
            until_batch -= 1;
            if until_batch == 0 {
                until_batch = batch;
                send_batches(&to, &mut rs, &mut cur, now, false);
                collect_until(&mut report, &mut skipped, &mut rs, MAX_INFLIGHT - 1)?;
                progress(&report);
            }
        }
        for (w, tx) in to.iter().enumerate() {
            let b = std::mem::take(&mut cur[w]);
            let _ = tx.send(ToWorker::Finish { batch: b, now });
        }
        rs.inflight += 1;
        collect_until(&mut report, &mut skipped, &mut rs, 0)?;
        drop(to);
        let mut m = MeterStats::default();
        for st in &rs.worker_stats {
            m.packets += st.packets;
            m.flows_created += st.flows_created;
            for (a, b) in m.flows_ended.iter_mut().zip(st.flows_ended) {
                *a += b;
            }
            m.evicted += st.evicted;
            m.peak_active += st.peak_active;
            m.early_snapshots += st.early_snapshots;
        }
        m.fragments_attributed = frags.attributed;
        m.fragments_unattributed = frags.unattributed;
        m.out_of_order = out_of_order;
        report.meter = m;
        report.skipped = skipped
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        progress(&report);
        Ok(report)
    })
}

/// Meter one batch; packets sent raw are dissected here (reasons of the
/// ones that fail go to `rejected`).
fn meter_batch(
    meter: &mut FlowMeter,
    b: &Batch,
    now: Option<i64>,
    scratch: &mut PacketSummary,
    rejected: &mut Vec<&'static str>,
) {
    for r in &b.recs {
        let bytes = b
            .arena
            .get(r.start..r.start.saturating_add(r.len as usize))
            .unwrap_or(&[]);
        if r.sum == RAW {
            match netlens_wire::dissect(r.linktype, bytes, scratch) {
                Ok(()) => {
                    let pay = scratch.payload(bytes);
                    meter.process_with_payload(r.ts, r.wire_len, r.index, scratch, pay);
                }
                Err(e) => rejected.push(e.reason()),
            }
        } else if let Some(s) = b.sums.get(r.sum as usize) {
            meter.process_with_payload(r.ts, r.wire_len, r.index, s, bytes);
        }
    }
    if let Some(t) = now {
        meter.advance(t);
    }
}

/// The reading thread's side of the workers' replies.
#[derive(Default)]
struct Replies {
    /// Emptied batches per worker, to fill again.
    pools: Vec<Vec<Batch>>,
    /// Each worker's flows of the current round of replies.
    round: Vec<Vec<Flow>>,
    /// The flows of the last round, merged in output order.
    merged: Vec<Flow>,
    /// Each worker's statistics, from its final reply.
    worker_stats: Vec<MeterStats>,
    /// Rounds of batches sent and not yet answered.
    inflight: usize,
}

/// Sends every worker its current batch (stamped with the reader's clock
/// `now`), replacing it with an emptied batch from that worker's pool, and
/// counts the round as in flight.
fn send_batches(
    to: &[mpsc::SyncSender<ToWorker>],
    rs: &mut Replies,
    cur: &mut [Batch],
    now: Option<i64>,
    flush: bool,
) {
    for ((tx, pool), slot) in to.iter().zip(rs.pools.iter_mut()).zip(cur.iter_mut()) {
        let b = std::mem::replace(slot, pool.pop().unwrap_or_default());
        let _ = tx.send(ToWorker::Batch {
            batch: b,
            now,
            flush,
        });
    }
    rs.inflight += 1;
}

fn worker(cfg: MeterConfig, rx: mpsc::Receiver<ToWorker>, tx: mpsc::Sender<FromWorker>) {
    let mut meter = FlowMeter::new(cfg);
    let mut scratch = PacketSummary::default();
    while let Ok(msg) = rx.recv() {
        let mut rejected = Vec::new();
        match msg {
            ToWorker::Batch {
                mut batch,
                now,
                flush,
            } => {
                meter_batch(&mut meter, &batch, now, &mut scratch, &mut rejected);
                if flush {
                    meter.finish();
                }
                let mut flows = std::mem::take(&mut batch.spare);
                meter.drain(&mut flows);
                if tx
                    .send(FromWorker {
                        flows,
                        batch,
                        stats: None,
                        rejected,
                    })
                    .is_err()
                {
                    return;
                }
            }
            ToWorker::Finish { batch, now } => {
                meter_batch(&mut meter, &batch, now, &mut scratch, &mut rejected);
                meter.finish();
                let mut flows = Vec::new();
                meter.drain(&mut flows);
                let _ = tx.send(FromWorker {
                    flows,
                    batch: Batch::default(),
                    stats: Some(meter.stats()),
                    rejected,
                });
                return;
            }
        }
    }
}
