//! Runner tests with a scripted source: packets, ticks and a stop request.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlens_capture::{CaptureReader, PacketRef, PcapWriter, ReadOptions};
use netlens_flow::{EndReason, Flow, MeterConfig};

use crate::{PacedReplay, PacketSource, RunConfig, SourceEvent, run_source};

const S: i64 = 1_000_000_000;

/// Ethernet + IPv4 + UDP frame from 10.0.0.`src`:`sport` to 10.0.0.`dst`:`dport`.
fn udp_frame(src: u8, sport: u16, dst: u8, dport: u16) -> Vec<u8> {
    let payload = b"netlens";
    let mut f = Vec::new();
    f.extend_from_slice(&[2, 0, 0, 0, 0, dst, 2, 0, 0, 0, 0, src, 0x08, 0x00]);
    let ip_len = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&ip_len.to_be_bytes());
    f.extend_from_slice(&[0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, src, 10, 0, 0, dst]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

enum Step {
    Pkt(i64, Vec<u8>),
    Idle(i64),
    /// Set the stop flag (as a Ctrl-C handler would) and tick.
    Stop(i64),
}

/// Replays a script; counts the events it delivered.
struct Scripted<'a> {
    steps: Vec<Step>,
    pos: usize,
    delivered: Rc<Cell<usize>>,
    stop: &'a AtomicBool,
}

impl PacketSource for Scripted<'_> {
    type Error = String;
    fn next_event(&mut self) -> Result<SourceEvent<'_>, String> {
        let Some(step) = self.steps.get(self.pos) else {
            return Ok(SourceEvent::End);
        };
        self.pos += 1;
        self.delivered.set(self.delivered.get() + 1);
        Ok(match step {
            Step::Pkt(ts, data) => SourceEvent::Packet(PacketRef {
                ts_ns: *ts,
                wire_len: data.len() as u32,
                linktype: 1,
                data,
                source: 0,
                interface: 0,
            }),
            Step::Idle(now_ns) => SourceEvent::Idle { now_ns: *now_ns },
            Step::Stop(now_ns) => {
                self.stop.store(true, Ordering::Relaxed);
                SourceEvent::Idle { now_ns: *now_ns }
            }
        })
    }
}

/// Run a script; returns (events delivered when each sink call happened, flows).
fn run_script(steps: Vec<Step>, threads: usize) -> (Vec<(usize, Vec<Flow>)>, crate::RunReport) {
    let stop = AtomicBool::new(false);
    let delivered = Rc::new(Cell::new(0));
    let mut src = Scripted {
        steps,
        pos: 0,
        delivered: delivered.clone(),
        stop: &stop,
    };
    let cfg = RunConfig {
        meter: MeterConfig {
            idle_timeout_ns: S,
            ..Default::default()
        },
        batch_packets: 1000,
        threads,
    };
    let mut calls = Vec::new();
    let report = run_source::<_, String>(
        &mut src,
        &cfg,
        &mut [],
        &mut |f| {
            calls.push((delivered.get(), f.to_vec()));
            Ok(())
        },
        &mut |_| {},
        Some(&stop),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    (calls, report)
}

#[test]
fn idle_tick_hands_out_expired_flows_at_once() {
    for threads in [1, 2] {
        let t0 = 1_700_000_000 * S;
        let (calls, report) = run_script(
            vec![
                Step::Pkt(t0, udp_frame(1, 1000, 2, 53)),
                Step::Pkt(t0 + S / 2, udp_frame(2, 53, 1, 1000)),
                Step::Pkt(t0 + S, udp_frame(3, 2000, 4, 123)),
                Step::Idle(t0 + 3 * S / 2),
                Step::Idle(t0 + 5 * S / 2),
                Step::Pkt(t0 + 3 * S, udp_frame(5, 3000, 6, 80)),
            ],
            threads,
        );
        assert_eq!(report.packets, 4);
        assert_eq!(calls.len(), 3, "threads={threads}");
        // After the first tick (4 events): only the first flow was idle 1 s.
        assert_eq!(calls[0].0, 4);
        assert_eq!(calls[0].1.len(), 1);
        let a = &calls[0].1[0];
        assert_eq!((a.src.port, a.dst.port), (1000, 53));
        assert_eq!((a.fwd.packets, a.bwd.packets), (1, 1));
        assert_eq!(a.end_reason, EndReason::Idle);
        // The second tick expires the NTP flow.
        assert_eq!(calls[1].0, 5);
        assert_eq!(calls[1].1[0].dst.port, 123);
        assert_eq!(calls[1].1[0].end_reason, EndReason::Idle);
        // The last flow ends with the input.
        assert_eq!(calls[2].1[0].dst.port, 80);
        assert_eq!(calls[2].1[0].end_reason, EndReason::EndOfInput);
        let ids: Vec<u64> = calls
            .iter()
            .flat_map(|c| c.1.iter().map(|f| f.id))
            .collect();
        assert_eq!(ids, vec![0, 1, 2]);
    }
}

#[test]
fn stop_flag_flushes_open_flows_and_reads_no_further() {
    for threads in [1, 2] {
        let t0 = 1_700_000_000 * S;
        let (calls, report) = run_script(
            vec![
                Step::Pkt(t0, udp_frame(1, 1000, 2, 53)),
                Step::Pkt(t0 + 1, udp_frame(3, 2000, 4, 123)),
                Step::Stop(t0 + 2),
                Step::Pkt(t0 + 3, udp_frame(5, 3000, 6, 80)),
            ],
            threads,
        );
        assert_eq!(report.packets, 2, "threads={threads}");
        let flows: Vec<&Flow> = calls.iter().flat_map(|c| &c.1).collect();
        assert_eq!(flows.len(), 2);
        assert!(flows.iter().all(|f| f.end_reason == EndReason::EndOfInput));
        assert_eq!(report.flows, 2);
    }
}

#[test]
fn source_errors_reach_the_caller() {
    struct Broken;
    impl PacketSource for Broken {
        type Error = String;
        fn next_event(&mut self) -> Result<SourceEvent<'_>, String> {
            Err("device went away".into())
        }
    }
    let e = run_source::<_, String>(
        &mut Broken,
        &RunConfig::default(),
        &mut [],
        &mut |_| Ok(()),
        &mut |_| {},
        None,
    )
    .err();
    assert_eq!(e.as_deref(), Some("device went away"));
}

fn capture(pkts: &[(i64, Vec<u8>)]) -> CaptureReader {
    let mut w = PcapWriter::new(Vec::new(), 1, 0, true).unwrap_or_else(|e| panic!("{e}"));
    for (ts, d) in pkts {
        w.write_packet(*ts, d, d.len() as u32)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let bytes = w.finish().unwrap_or_else(|e| panic!("{e}"));
    CaptureReader::from_bytes(bytes, "mem".into(), &ReadOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn paced_replay_keeps_capture_time_and_ticks_while_waiting() {
    let t0 = 1_600_000_000 * S;
    // 0.8 s of capture at speed 4 = 0.2 s of wall time.
    let pkts = vec![
        (t0, udp_frame(1, 1, 2, 2)),
        (t0 + 4 * S / 10, udp_frame(1, 1, 2, 2)),
        (t0 + 8 * S / 10, udp_frame(3, 3, 4, 4)),
    ];
    let mut src = PacedReplay::new(capture(&pkts), 4.0).with_tick(Duration::from_millis(20));
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut ticks = Vec::new();
    loop {
        match src.next_event() {
            Ok(SourceEvent::Packet(p)) => {
                seen.push((p.ts_ns, start.elapsed(), p.data.to_vec()));
            }
            Ok(SourceEvent::Idle { now_ns }) => ticks.push(now_ns),
            Ok(SourceEvent::End) => break,
            Err(e) => match e {},
        }
    }
    assert_eq!(seen.len(), 3);
    for ((ts, at, data), (want_ts, want_data)) in seen.iter().zip(&pkts) {
        assert_eq!(ts, want_ts);
        assert_eq!(data, want_data);
        let due = Duration::from_nanos(((ts - t0) / 4) as u64);
        assert!(
            *at + Duration::from_millis(2) >= due,
            "released early: {at:?} < {due:?}"
        );
        assert!(
            *at < due + Duration::from_millis(400),
            "released late: {at:?}"
        );
    }
    // Ticks run on the capture clock, in order, within the capture's span.
    assert!(ticks.len() >= 4, "{ticks:?}");
    assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{ticks:?}");
    assert!(ticks.iter().all(|t| (t0..=t0 + 8 * S / 10).contains(t)));
    // The end is sticky.
    assert!(matches!(src.next_event(), Ok(SourceEvent::End)));
}

#[test]
fn paced_replay_expires_flows_while_waiting_and_honours_stop() {
    let t0 = 1_600_000_000 * S;
    // A 1 s idle timeout, a 2 s gap at speed 20 (0.1 s wall): the first flow
    // is handed out by a tick before the second packet arrives.
    let pkts = vec![
        (t0, udp_frame(1, 1, 2, 2)),
        (t0 + 2 * S, udp_frame(3, 3, 4, 4)),
    ];
    let mut src = PacedReplay::new(capture(&pkts), 20.0).with_tick(Duration::from_millis(10));
    let cfg = RunConfig {
        meter: MeterConfig {
            idle_timeout_ns: S,
            ..Default::default()
        },
        ..Default::default()
    };
    let mut flows: Vec<Flow> = Vec::new();
    let report = run_source::<_, std::convert::Infallible>(
        &mut src,
        &cfg,
        &mut [],
        &mut |f| {
            flows.extend_from_slice(f);
            Ok(())
        },
        &mut |_| {},
        None,
    )
    .unwrap_or_else(|e| match e {});
    assert_eq!(report.packets, 2);
    assert_eq!(flows.len(), 2);
    assert_eq!(flows[0].end_reason, EndReason::Idle);
    assert_eq!(flows[1].end_reason, EndReason::EndOfInput);

    // A slow replay (10 s gap at real time) stops within a tick or two.
    let pkts = vec![
        (t0, udp_frame(1, 1, 2, 2)),
        (t0 + 10 * S, udp_frame(3, 3, 4, 4)),
    ];
    let mut src = PacedReplay::new(capture(&pkts), 1.0).with_tick(Duration::from_millis(20));
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let mut flows: Vec<Flow> = Vec::new();
    let report = run_source::<_, std::convert::Infallible>(
        &mut src,
        &cfg,
        &mut [],
        &mut |f| {
            flows.extend_from_slice(f);
            Ok(())
        },
        &mut |_| {
            if start.elapsed() > Duration::from_millis(150) {
                stop.store(true, Ordering::Relaxed);
            }
        },
        Some(&stop),
    )
    .unwrap_or_else(|e| match e {});
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(report.packets, 1);
    assert_eq!(flows.len(), 1);
    assert_eq!(flows[0].end_reason, EndReason::EndOfInput);
}

#[test]
fn gathering_a_batch_by_keys_equals_sorting_the_flows() {
    // 300 real flows (one UDP packet each), scrambled by a fixed
    // permutation, with a third turned into early snapshots of the flow
    // before them; gather_sorted gives the order a plain sort by key gives,
    // from one vector or split over several (the workers' replies), and
    // leaves the parts empty.
    let steps = (0..300u16)
        .map(|i| Step::Pkt(i64::from(i), udp_frame(1, 1000 + i, 2, 53)))
        .collect();
    let (calls, _) = run_script(steps, 1);
    let mut flows: Vec<Flow> = calls.into_iter().flat_map(|(_, f)| f).collect();
    assert_eq!(flows.len(), 300);
    for i in (1..flows.len()).step_by(3) {
        flows[i].first_packet_index = flows[i - 1].first_packet_index;
        flows[i].end_reason = EndReason::Early;
    }
    let scrambled: Vec<Flow> = (0..flows.len())
        .map(|i| flows[(i * 7 + 3) % flows.len()].clone())
        .collect();
    let mut expected = scrambled.clone();
    expected.sort_by_key(|f| (f.first_packet_index, f.end_reason != EndReason::Early));
    let mut out = vec![flows[0].clone()];
    for cut in [vec![], vec![0, 300], vec![120, 121, 299]] {
        let mut parts = Vec::new();
        let mut from = 0;
        for c in cut.iter().copied().chain([300]) {
            parts.push(scrambled[from..c].to_vec());
            from = c;
        }
        crate::gather_sorted(&mut parts, &mut out);
        assert!(out == expected, "parts cut at {cut:?}");
        assert!(parts.iter().all(Vec::is_empty));
    }
    // Already sorted input stays as it is (one part is taken whole).
    let mut parts = [expected.clone()];
    crate::gather_sorted(&mut parts, &mut out);
    assert!(out == expected);
    assert!(parts[0].is_empty());
}
