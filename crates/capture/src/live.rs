//! Live capture from a network interface through libpcap (feature `live`),
//! which is loaded when the first interface is opened ([`crate::libpcap`]).
//!
//! [`LiveCapture`] opens an interface with a snap length, a short read
//! timeout and (by default) immediate mode, and yields the same
//! [`PacketRef`]s as the file reader, so the dissector and the pipeline see
//! no difference. A read timeout without packets returns `Ok(None)`, which
//! lets a caller advance flow timeouts while the link is idle.
//!
//! Drops are reported separately: `kernel_dropped` / `interface_dropped`
//! come from libpcap (`pcap_stats`), `netlens_dropped` counts packets this
//! reader discarded (a captured length over [`crate::MAX_CAPLEN`] or an
//! impossible header).
//!
//! Invariant: every packet handed out satisfies `data.len() <= wire_len`
//! and `data.len() <= MAX_CAPLEN`.

use crate::libpcap::{Handle, Next, OpenError, Settings};
use crate::reader::PacketRef;
use crate::source::MAX_CAPLEN;

/// Why a live capture could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The interface does not exist.
    #[error("interface '{name}' does not exist (available: {available})")]
    NoSuchInterface {
        /// Interface asked for.
        name: String,
        /// Interfaces libpcap can see, comma separated.
        available: String,
    },
    /// The process may not capture (needs root or CAP_NET_RAW + CAP_NET_ADMIN).
    #[error(
        "no permission to capture on '{name}': {detail} (run as root, or grant the binary cap_net_raw,cap_net_admin=eip with setcap)"
    )]
    Permission {
        /// Interface.
        name: String,
        /// libpcap's message.
        detail: String,
    },
    /// Any other libpcap failure (or libpcap is not installed).
    #[error("live capture on '{name}': {detail}")]
    Pcap {
        /// Interface.
        name: String,
        /// libpcap's message.
        detail: String,
    },
}

/// Settings of a live capture.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// Interface name (`eth0`, `lo`, `any`).
    pub interface: String,
    /// Bytes kept per packet (at most [`MAX_CAPLEN`]).
    pub snaplen: u32,
    /// Read timeout in milliseconds: `next_packet` returns `Ok(None)` after it.
    pub timeout_ms: u32,
    /// Deliver packets as they arrive instead of buffering (libpcap immediate mode).
    pub immediate: bool,
    /// Put the interface into promiscuous mode.
    pub promiscuous: bool,
    /// Kernel buffer size in bytes (None = libpcap default).
    pub buffer_bytes: Option<u32>,
}

impl LiveConfig {
    /// Defaults for `interface`: snap length 65535, 100 ms timeout,
    /// immediate mode, promiscuous.
    pub fn new(interface: &str) -> LiveConfig {
        LiveConfig {
            interface: interface.to_string(),
            snaplen: 65_535,
            timeout_ms: 100,
            immediate: true,
            promiscuous: true,
            buffer_bytes: None,
        }
    }
}

/// Packet and drop counters of a live capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Packets handed out.
    pub packets: u64,
    /// Packets received by the kernel filter (libpcap `ps_recv`).
    pub kernel_received: u64,
    /// Packets the kernel dropped for lack of buffer space (`ps_drop`).
    pub kernel_dropped: u64,
    /// Packets the interface/driver dropped (`ps_ifdrop`).
    pub interface_dropped: u64,
    /// Packets this reader discarded as impossible.
    pub netlens_dropped: u64,
}

/// An open live capture.
pub struct LiveCapture {
    name: String,
    cap: Handle,
    linktype: u32,
    stats: LiveStats,
    timeout_ms: i32,
    /// The last packet, copied out of libpcap's ring (reused, grows to the
    /// snap length at most).
    buf: Vec<u8>,
}

/// Reads of an apparently ready descriptor that may come back empty before
/// `next_packet` reports the link idle.
const EMPTY_READS_BEFORE_IDLE: u32 = 3;

fn classify(name: &str, e: OpenError) -> LiveError {
    let name = name.to_string();
    match e {
        OpenError::NoSuchDevice => LiveError::NoSuchInterface {
            name,
            available: match crate::libpcap::device_names() {
                l if l.is_empty() => "none found".into(),
                l => l.join(", "),
            },
        },
        OpenError::Permission(detail) => LiveError::Permission { name, detail },
        OpenError::Other(detail) => LiveError::Pcap { name, detail },
    }
}

impl LiveCapture {
    /// Open and activate the interface.
    pub fn open(cfg: &LiveConfig) -> Result<LiveCapture, LiveError> {
        let name = cfg.interface.as_str();
        let snap = cfg.snaplen.clamp(64, MAX_CAPLEN);
        let cap = Handle::open(&Settings {
            device: name,
            snaplen: snap as i32,
            timeout_ms: cfg.timeout_ms.clamp(1, 60_000) as i32,
            promiscuous: cfg.promiscuous,
            immediate: cfg.immediate,
            buffer_bytes: cfg.buffer_bytes.map(|b| b.min(i32::MAX as u32) as i32),
        })
        .map_err(|e| classify(name, e))?;
        let linktype = u32::try_from(cap.datalink()).unwrap_or(u32::MAX);
        Ok(LiveCapture {
            name: name.to_string(),
            cap,
            linktype,
            stats: LiveStats::default(),
            timeout_ms: cfg.timeout_ms.clamp(1, 60_000) as i32,
            buf: Vec::new(),
        })
    }

    /// Keep only packets matching a BPF filter expression (tcpdump syntax,
    /// compiled and applied in the kernel by libpcap).
    pub fn set_filter(&mut self, expr: &str) -> Result<(), LiveError> {
        self.cap.set_filter(expr).map_err(|e| LiveError::Pcap {
            name: self.name.clone(),
            detail: format!("invalid filter '{expr}': {e}"),
        })
    }

    /// LINKTYPE_* of the interface.
    pub fn linktype(&self) -> u32 {
        self.linktype
    }

    /// The next packet, or `Ok(None)` when no packet arrived within the read
    /// timeout (or the packet read was discarded and counted in
    /// `netlens_dropped`).
    ///
    /// `Ok(None)` means the link really was quiet for the timeout: a
    /// non-blocking libpcap read can come back empty while packets are
    /// waiting in the ring (at a ring-block boundary), so an empty read is
    /// followed by a `poll()` and, when the descriptor is ready, another
    /// read. Reporting those empty reads as idle let the caller's idle clock
    /// run ahead of packets still in the ring (under load, a flow could
    /// expire before its last packets were read). The packet is copied out
    /// of the ring into a reused buffer so the retry loop needs no unsafe
    /// borrow tricks.
    pub fn next_packet(&mut self) -> Result<Option<PacketRef<'_>>, LiveError> {
        let fd = self.cap.selectable_fd();
        let mut empty = 0u32;
        let h = loop {
            match self.cap.next() {
                Ok(Next::Packet(h, data)) => {
                    if data.len() > MAX_CAPLEN as usize
                        || data.len() as u64 > u64::from(h.len.max(h.caplen))
                    {
                        self.stats.netlens_dropped += 1;
                        return Ok(None);
                    }
                    self.buf.clear();
                    self.buf.extend_from_slice(data);
                    break h;
                }
                Ok(Next::Empty) => {
                    empty += 1;
                    if empty > EMPTY_READS_BEFORE_IDLE {
                        return Ok(None);
                    }
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLIN,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd for the duration of the call.
                    let ready = unsafe { libc::poll(&mut pfd, 1, self.timeout_ms) };
                    // 0: quiet for the whole timeout; < 0: interrupted (a
                    // signal such as Ctrl-C) — either way let the caller run.
                    if ready <= 0 {
                        return Ok(None);
                    }
                }
                Err(detail) => {
                    return Err(LiveError::Pcap {
                        name: self.name.clone(),
                        detail,
                    });
                }
            }
        };
        // time_t/suseconds_t are i32 on some targets.
        #[allow(clippy::useless_conversion)]
        let ts_ns = i64::from(h.ts.tv_sec)
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(h.ts.tv_usec).saturating_mul(1000));
        self.stats.packets += 1;
        let data = self.buf.as_slice();
        Ok(Some(PacketRef {
            ts_ns,
            wire_len: h.len.max(data.len() as u32),
            linktype: self.linktype,
            data,
            source: 0,
            interface: 0,
        }))
    }

    /// Counters, with the kernel's drop counts read now.
    pub fn stats(&mut self) -> LiveStats {
        if let Some((received, dropped, if_dropped)) = self.cap.stats() {
            self.stats.kernel_received = u64::from(received);
            self.stats.kernel_dropped = u64::from(dropped);
            self.stats.interface_dropped = u64::from(if_dropped);
        }
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::{Duration, Instant};

    #[test]
    fn missing_interface_is_a_clear_error() {
        let e = LiveCapture::open(&LiveConfig::new("netlens-no-such-if0"))
            .err()
            .expect("opening a missing interface must fail");
        let msg = e.to_string();
        assert!(msg.contains("netlens-no-such-if0"), "{msg}");
    }

    /// Needs CAP_NET_RAW on `lo` (root in CI); without it the error must say so.
    #[test]
    fn captures_udp_sent_to_loopback() {
        let mut cap = match LiveCapture::open(&LiveConfig::new("lo")) {
            Ok(c) => c,
            Err(e @ LiveError::Permission { .. }) => {
                eprintln!("skipping: {e}");
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rx.local_addr().unwrap().port();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let marker = b"netlens-live-test";
        let want = 5;
        let sender = std::thread::spawn(move || {
            for _ in 0..50 {
                let _ = tx.send_to(marker, ("127.0.0.1", port));
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = 0;
        let port_be = port.to_be_bytes();
        while seen < want && Instant::now() < deadline {
            if let Some(p) = cap.next_packet().unwrap() {
                assert!(p.data.len() <= p.wire_len as usize);
                let hit = p.data.windows(marker.len()).any(|w| w == marker)
                    && p.data.windows(2).any(|w| w == port_be);
                if hit {
                    seen += 1;
                    assert_eq!(p.linktype, 1, "lo is Ethernet-framed on Linux");
                    assert!(p.ts_ns > 1_600_000_000_000_000_000);
                }
            }
        }
        sender.join().unwrap();
        assert!(seen >= want, "saw {seen} of {want} packets");
        let s = cap.stats();
        assert!(s.packets >= want as u64);
        assert_eq!(s.netlens_dropped, 0);
    }
}
