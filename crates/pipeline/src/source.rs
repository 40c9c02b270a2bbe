//! Packet sources: where [`crate::run_source`] gets its packets and its clock.
//!
//! A [`PacketSource`] yields [`SourceEvent`]s: a packet, an `Idle { now_ns }`
//! clock tick, or the end. Files never tick ([`CaptureReader`] only yields
//! packets and the end), so the file path is the old packet loop with one
//! more, never-taken match arm. Sources that run in real time tick:
//!
//! * [`LiveSource`] (feature `live`) wraps a libpcap [`LiveCapture`]: a read
//!   timeout without packets ticks with the packet clock advanced by the wall
//!   time since the latest packet, and while packets
//!   keep arriving it ticks with the latest packet's time at least every
//!   `tick` (so expired flows leave even on a link that is never quiet).
//! * [`PacedReplay`] releases the packets of a capture at their capture time
//!   relative to the first packet (scaled by a speed factor), ticking with
//!   the *capture-time* clock while it waits.
//!
//! Invariant of a tick: `now_ns` is a time the source has reached; packets
//! delivered later should not be older (a live kernel may still deliver a
//! slightly older one: the flow meter clamps it and counts it as out of
//! order). A source that waits never blocks longer than its tick between two
//! events, so the runner sees the stop flag at least that often.

use std::convert::Infallible;
use std::time::{Duration, Instant};

use netlens_capture::{CaptureReader, PacketRef};

/// One step of a packet source.
#[derive(Debug)]
pub enum SourceEvent<'a> {
    /// The next packet.
    Packet(PacketRef<'a>),
    /// No packet right now; the source's clock reached `now_ns` (ns since the epoch).
    Idle {
        /// The source's current time: flows idle since before it may expire.
        now_ns: i64,
    },
    /// No more packets will come.
    End,
}

/// Something that yields packets and clock ticks: a capture file, a live
/// interface, a paced replay.
pub trait PacketSource {
    /// Read failure (files report damage as warnings and never fail here).
    type Error;
    /// The next event. After `End`, every call returns `End` again.
    fn next_event(&mut self) -> Result<SourceEvent<'_>, Self::Error>;
}

impl PacketSource for CaptureReader {
    type Error = Infallible;
    #[inline]
    fn next_event(&mut self) -> Result<SourceEvent<'_>, Infallible> {
        Ok(match self.next_packet() {
            Some(p) => SourceEvent::Packet(p),
            None => SourceEvent::End,
        })
    }
}

/// Default time between two ticks of a real-time source.
pub const DEFAULT_TICK: Duration = Duration::from_millis(100);

/// Wall-clock time in ns since the epoch (0 if the clock is before 1970).
pub fn wall_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A capture replayed at its own pace: each packet is released when
/// `(packet time - first packet time) / speed` has passed on the wall clock
/// since the first packet was released.
///
/// While waiting it ticks (`Idle`) with the capture-time clock
/// `first time + elapsed × speed`, at least every [`DEFAULT_TICK`] of wall
/// time (never later than the next packet's time, so ticks do not overtake
/// packets); packets whose time is already past are released at once
/// (also out-of-order ones). Each packet is copied once into an internal
/// buffer (the reader's borrow cannot be held across waits), which costs
/// nothing at replay rates. Stopping: the runner checks its stop flag after
/// every event, and this source never sleeps longer than a tick.
pub struct PacedReplay {
    reader: CaptureReader,
    speed: f64,
    tick: Duration,
    /// Wall instant and capture time of the first released packet.
    start: Option<(Instant, i64)>,
    held: Option<Held>,
    buf: Vec<u8>,
    last_tick: Option<Instant>,
    done: bool,
}

#[derive(Clone, Copy)]
struct Held {
    ts_ns: i64,
    wire_len: u32,
    linktype: u32,
    source: u32,
    interface: u32,
}

impl PacedReplay {
    /// Replay `reader` at `speed` × real time (1.0 = as captured, 10.0 = ten
    /// times faster). A speed that is not a positive number is taken as 1.0;
    /// speeds are clamped to [1e-3, 1e9].
    pub fn new(reader: CaptureReader, speed: f64) -> PacedReplay {
        let speed = if speed > 0.0 {
            speed.clamp(1e-3, 1e9)
        } else {
            1.0
        };
        PacedReplay {
            reader,
            speed,
            tick: DEFAULT_TICK,
            start: None,
            held: None,
            buf: Vec::new(),
            last_tick: None,
            done: false,
        }
    }

    /// Tick at least every `tick` of wall time (clamped to 1 ms .. 10 s).
    pub fn with_tick(mut self, tick: Duration) -> PacedReplay {
        self.tick = tick.clamp(Duration::from_millis(1), Duration::from_secs(10));
        self
    }

    /// The speed factor in use.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The wrapped reader (for its statistics and warnings).
    pub fn reader_mut(&mut self) -> &mut CaptureReader {
        &mut self.reader
    }

    /// Give the reader back.
    pub fn into_inner(self) -> CaptureReader {
        self.reader
    }

    /// Capture-time clock now: first time + wall elapsed × speed.
    fn clock(&self, start: (Instant, i64)) -> i64 {
        let ns = start.0.elapsed().as_secs_f64() * self.speed * 1e9;
        let ns = if ns >= i64::MAX as f64 {
            i64::MAX
        } else {
            ns as i64
        };
        start.1.saturating_add(ns)
    }

    fn release(&mut self) -> SourceEvent<'_> {
        self.last_tick.get_or_insert_with(Instant::now);
        match self.held.take() {
            Some(h) => SourceEvent::Packet(PacketRef {
                ts_ns: h.ts_ns,
                wire_len: h.wire_len,
                linktype: h.linktype,
                data: &self.buf,
                source: h.source,
                interface: h.interface,
            }),
            None => SourceEvent::End,
        }
    }
}

impl PacketSource for PacedReplay {
    type Error = Infallible;

    fn next_event(&mut self) -> Result<SourceEvent<'_>, Infallible> {
        if self.held.is_none() && !self.done {
            match self.reader.next_packet() {
                Some(p) => {
                    self.buf.clear();
                    self.buf.extend_from_slice(p.data);
                    self.held = Some(Held {
                        ts_ns: p.ts_ns,
                        wire_len: p.wire_len,
                        linktype: p.linktype,
                        source: p.source,
                        interface: p.interface,
                    });
                }
                None => self.done = true,
            }
        }
        let Some(h) = self.held else {
            return Ok(SourceEvent::End);
        };
        let start = *self.start.get_or_insert((Instant::now(), h.ts_ns));
        // Wall time after the start at which this packet is due.
        let offset_ns = (i128::from(h.ts_ns) - i128::from(start.1)).max(0) as f64;
        let due =
            Duration::try_from_secs_f64(offset_ns / self.speed / 1e9).unwrap_or(Duration::MAX);
        let elapsed = start.0.elapsed();
        if elapsed >= due {
            // Busy replay: still tick now and then so flows expire promptly.
            if self.last_tick.is_some_and(|t| t.elapsed() >= self.tick) {
                self.last_tick = Some(Instant::now());
                let now_ns = self.clock(start).min(h.ts_ns);
                return Ok(SourceEvent::Idle { now_ns });
            }
            return Ok(self.release());
        }
        std::thread::sleep((due - elapsed).min(self.tick));
        if start.0.elapsed() >= due {
            return Ok(self.release());
        }
        self.last_tick = Some(Instant::now());
        let now_ns = self.clock(start).min(h.ts_ns);
        Ok(SourceEvent::Idle { now_ns })
    }
}

#[cfg(feature = "live")]
pub use live::LiveSource;

#[cfg(feature = "live")]
mod live {
    use netlens_capture::live::{LiveCapture, LiveError, LiveStats};

    use super::{DEFAULT_TICK, PacketSource, SourceEvent, wall_now_ns};

    /// A live interface as a packet source.
    ///
    /// A read timeout ticks with the wall clock; while packets keep coming,
    /// it ticks with the latest packet's time once `tick` of packet time has
    /// passed since the previous tick, so flows are handed out on time on a
    /// busy link too (the runner only hands over expired flows every
    /// `batch_packets` packets or on a tick).
    pub struct LiveSource {
        cap: LiveCapture,
        tick_ns: i64,
        last_tick_ns: Option<i64>,
        last_ts_ns: i64,
        /// Wall instant of the latest packet: idle time is measured from it,
        /// so ticks follow the packets' clock even when the kernel's packet
        /// timestamps and the system clock disagree.
        last_pkt_at: Option<std::time::Instant>,
    }

    impl LiveSource {
        /// Wrap an open capture; ticks every [`DEFAULT_TICK`] at most.
        pub fn new(cap: LiveCapture) -> LiveSource {
            LiveSource {
                cap,
                tick_ns: DEFAULT_TICK.as_nanos() as i64,
                last_tick_ns: None,
                last_ts_ns: i64::MIN,
                last_pkt_at: None,
            }
        }

        /// The wrapped capture.
        pub fn capture_mut(&mut self) -> &mut LiveCapture {
            &mut self.cap
        }

        /// Packet and drop counters (reads the kernel's counters now).
        pub fn stats(&mut self) -> LiveStats {
            self.cap.stats()
        }
    }

    impl PacketSource for LiveSource {
        type Error = LiveError;

        fn next_event(&mut self) -> Result<SourceEvent<'_>, LiveError> {
            if let Some(t) = self.last_tick_ns
                && self.last_ts_ns.saturating_sub(t) >= self.tick_ns
            {
                self.last_tick_ns = Some(self.last_ts_ns);
                return Ok(SourceEvent::Idle {
                    now_ns: self.last_ts_ns,
                });
            }
            match self.cap.next_packet()? {
                Some(p) => {
                    self.last_ts_ns = self.last_ts_ns.max(p.ts_ns);
                    self.last_pkt_at = Some(std::time::Instant::now());
                    self.last_tick_ns.get_or_insert(p.ts_ns);
                    Ok(SourceEvent::Packet(p))
                }
                None => {
                    let now_ns = match self.last_pkt_at {
                        Some(at) => self.last_ts_ns.saturating_add(
                            i64::try_from(at.elapsed().as_nanos()).unwrap_or(i64::MAX),
                        ),
                        None => wall_now_ns(),
                    };
                    self.last_tick_ns = Some(now_ns);
                    Ok(SourceEvent::Idle { now_ns })
                }
            }
        }
    }
}
