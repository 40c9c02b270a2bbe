//! Frames (etherparse's `PacketBuilder`, so checksums are right), the
//! time-ordered packet sink, and a TCP connection model with real seq/ack.
//!
//! Invariants: the sink writes packets in non-decreasing timestamp order as
//! long as no packet is pushed earlier than the last `flush_before` bound;
//! every conversation records its flow row (first/last packet times).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::IpAddr;

use etherparse::{PacketBuilder, TcpOptionElement, VlanId};
use netlens_capture::{FileSink, PcapWriter};

use crate::SynthError;

/// An endpoint: MAC as seen on the capture link and IP address.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Host {
    pub mac: [u8; 6],
    pub ip: IpAddr,
    /// IP TTL / hop limit of its packets as seen at the capture point.
    pub ttl: u8,
}

/// Transport part of a frame.
pub(crate) enum L4<'a> {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: Option<u32>,
        flags: u8,
        win: u16,
        opts: &'a [TcpOptionElement],
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    Echo {
        reply: bool,
        id: u16,
        seq: u16,
    },
}

pub(crate) const SYN: u8 = 0x02;
pub(crate) const FIN: u8 = 0x01;
pub(crate) const RST: u8 = 0x04;
pub(crate) const PSH: u8 = 0x08;

/// Build one Ethernet frame.
pub(crate) fn frame(
    src: &Host,
    dst: &Host,
    vlan: Option<u16>,
    l4: &L4<'_>,
    payload: &[u8],
) -> Result<Vec<u8>, SynthError> {
    let eth = PacketBuilder::ethernet2(src.mac, dst.mac);
    let ip = match (vlan, src.ip, dst.ip) {
        (None, IpAddr::V4(s), IpAddr::V4(d)) => eth.ipv4(s.octets(), d.octets(), src.ttl),
        (None, IpAddr::V6(s), IpAddr::V6(d)) => eth.ipv6(s.octets(), d.octets(), src.ttl),
        (Some(v), s, d) => {
            let id = VlanId::try_new(v).map_err(|e| SynthError::Build(e.to_string()))?;
            let step = eth.single_vlan(id);
            match (s, d) {
                (IpAddr::V4(s), IpAddr::V4(d)) => step.ipv4(s.octets(), d.octets(), src.ttl),
                (IpAddr::V6(s), IpAddr::V6(d)) => step.ipv6(s.octets(), d.octets(), src.ttl),
                _ => return Err(SynthError::Build("mixed IP versions".into())),
            }
        }
        _ => return Err(SynthError::Build("mixed IP versions".into())),
    };
    let mut out = Vec::with_capacity(64 + payload.len());
    let v6 = src.ip.is_ipv6();
    let res = match *l4 {
        L4::Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            win,
            opts,
        } => {
            let mut t = ip.tcp(sport, dport, seq, win);
            if flags & SYN != 0 {
                t = t.syn();
            }
            if flags & FIN != 0 {
                t = t.fin();
            }
            if flags & RST != 0 {
                t = t.rst();
            }
            if flags & PSH != 0 {
                t = t.psh();
            }
            if let Some(a) = ack {
                t = t.ack(a);
            }
            if !opts.is_empty() {
                t = t
                    .options(opts)
                    .map_err(|e| SynthError::Build(e.to_string()))?;
            }
            t.write(&mut out, payload)
        }
        L4::Udp { sport, dport } => ip.udp(sport, dport).write(&mut out, payload),
        L4::Echo { reply, id, seq } => match (v6, reply) {
            (false, false) => ip.icmpv4_echo_request(id, seq).write(&mut out, payload),
            (false, true) => ip.icmpv4_echo_reply(id, seq).write(&mut out, payload),
            (true, false) => ip.icmpv6_echo_request(id, seq).write(&mut out, payload),
            (true, true) => ip.icmpv6_echo_reply(id, seq).write(&mut out, payload),
        },
    };
    res.map_err(|e| SynthError::Build(e.to_string()))?;
    // Pad to the Ethernet minimum (60 bytes without FCS), as a NIC would.
    if out.len() < 60 {
        out.resize(60, 0);
    }
    Ok(out)
}

/// A packet waiting for its turn.
struct Pending {
    ts: i64,
    seq: u64,
    frame: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.ts, self.seq) == (o.ts, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.ts, self.seq).cmp(&(o.ts, o.seq))
    }
}

/// One labelled flow (conversation), oriented from its initiator.
#[derive(Debug, Clone)]
pub(crate) struct FlowRow {
    pub src: IpAddr,
    pub sport: u16,
    pub dst: IpAddr,
    pub dport: u16,
    pub proto: u8,
    pub first_ns: i64,
    pub last_ns: i64,
    pub attack: Option<&'static str>,
}

/// Orders packets by time and writes them; only conversations still in
/// progress are held in memory.
pub(crate) struct Sink {
    heap: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    writer: PcapWriter<FileSink>,
    labels: csv::Writer<std::fs::File>,
    pub packets: u64,
    pub bytes: u64,
    pub flows: u64,
    pub attack_flows: u64,
    pub first_ts: Option<i64>,
    pub last_ts: i64,
}

impl Sink {
    pub(crate) fn new(
        writer: PcapWriter<FileSink>,
        mut labels: csv::Writer<std::fs::File>,
    ) -> Result<Sink, SynthError> {
        labels
            .write_record([
                "src_ip",
                "src_port",
                "dst_ip",
                "dst_port",
                "protocol",
                "first_seen_ms",
                "last_seen_ms",
                "label",
                "attack_type",
            ])
            .map_err(csv_err)?;
        Ok(Sink {
            heap: BinaryHeap::new(),
            seq: 0,
            writer,
            labels,
            packets: 0,
            bytes: 0,
            flows: 0,
            attack_flows: 0,
            first_ts: None,
            last_ts: 0,
        })
    }

    /// Queue a frame at `ts` (ns, rounded down to the µs the pcap stores).
    pub(crate) fn push(&mut self, ts: i64, frame: Vec<u8>) {
        let ts = ts - ts.rem_euclid(1000);
        self.seq += 1;
        self.heap.push(Reverse(Pending {
            ts,
            seq: self.seq,
            frame,
        }));
    }

    /// Write every queued packet earlier than `t`.
    pub(crate) fn flush_before(&mut self, t: i64) -> Result<(), SynthError> {
        while self.heap.peek().is_some_and(|Reverse(p)| p.ts < t) {
            let Some(Reverse(p)) = self.heap.pop() else {
                break;
            };
            self.writer
                .write_packet(p.ts, &p.frame, p.frame.len() as u32)
                .map_err(|e| SynthError::Io(e.to_string()))?;
            self.packets += 1;
            self.bytes += p.frame.len() as u64;
            self.first_ts.get_or_insert(p.ts);
            self.last_ts = p.ts;
        }
        Ok(())
    }

    /// Write one label row.
    pub(crate) fn label(&mut self, row: &FlowRow) -> Result<(), SynthError> {
        self.flows += 1;
        if row.attack.is_some() {
            self.attack_flows += 1;
        }
        let ms = |ns: i64| (ns.div_euclid(1000) / 1000).to_string();
        self.labels
            .write_record([
                row.src.to_string(),
                row.sport.to_string(),
                row.dst.to_string(),
                row.dport.to_string(),
                row.proto.to_string(),
                ms(row.first_ns),
                ms(row.last_ns),
                if row.attack.is_some() {
                    "attack"
                } else {
                    "benign"
                }
                .to_string(),
                row.attack.unwrap_or("").to_string(),
            ])
            .map_err(csv_err)
    }

    /// Write everything left and close both files.
    pub(crate) fn finish(mut self) -> Result<Sink, SynthError> {
        self.flush_before(i64::MAX)?;
        self.labels
            .flush()
            .map_err(|e| SynthError::Io(e.to_string()))?;
        Ok(self)
    }

    /// Close the pcap (gzip trailer, flush).
    pub(crate) fn close(self) -> Result<(), SynthError> {
        self.writer
            .close()
            .map_err(|e| SynthError::Io(e.to_string()))
    }
}

fn csv_err(e: csv::Error) -> SynthError {
    SynthError::Io(e.to_string())
}

/// A TCP connection between a client and a server as seen from a tap next to
/// the client: sequence and acknowledgement numbers follow the bytes sent.
pub(crate) struct Tcp {
    pub client: Host,
    pub server: Host,
    pub vlan: Option<u16>,
    pub cport: u16,
    pub sport: u16,
    /// Next sequence number of each side.
    cseq: u32,
    sseq: u32,
    /// Current time (ns).
    pub t: i64,
    /// Round-trip time (ns).
    pub rtt: i64,
    pub row: FlowRow,
    frames: Vec<(i64, Vec<u8>)>,
}

const MSS: usize = 1448;

impl Tcp {
    pub(crate) fn new(
        client: Host,
        server: Host,
        vlan: Option<u16>,
        (cport, sport): (u16, u16),
        isn: (u32, u32),
        t: i64,
        rtt: i64,
    ) -> Tcp {
        Tcp {
            client,
            server,
            vlan,
            cport,
            sport,
            cseq: isn.0,
            sseq: isn.1,
            t,
            rtt,
            row: FlowRow {
                src: client.ip,
                sport: cport,
                dst: server.ip,
                dport: sport,
                proto: 6,
                first_ns: t,
                last_ns: t,
                attack: None,
            },
            frames: Vec::new(),
        }
    }

    /// Emit one segment from the client (`true`) or the server.
    pub(crate) fn seg(
        &mut self,
        from_client: bool,
        flags: u8,
        payload: &[u8],
        opts: &[TcpOptionElement],
    ) -> Result<(), SynthError> {
        let (src, dst, sp, dp, seq, ack, win) = if from_client {
            (
                self.client,
                self.server,
                self.cport,
                self.sport,
                self.cseq,
                self.sseq,
                502,
            )
        } else {
            (
                self.server,
                self.client,
                self.sport,
                self.cport,
                self.sseq,
                self.cseq,
                501,
            )
        };
        let syn_only = flags & SYN != 0 && from_client;
        let win = if flags & SYN != 0 {
            if from_client { 64_240 } else { 65_160 }
        } else {
            win
        };
        let f = frame(
            &src,
            &dst,
            self.vlan,
            &L4::Tcp {
                sport: sp,
                dport: dp,
                seq,
                ack: if syn_only || flags & RST != 0 && ack == 0 {
                    None
                } else {
                    Some(ack)
                },
                flags,
                win,
                opts,
            },
            payload,
        )?;
        let adv = payload.len() as u32 + u32::from(flags & (SYN | FIN) != 0);
        if from_client {
            self.cseq = self.cseq.wrapping_add(adv);
        } else {
            self.sseq = self.sseq.wrapping_add(adv);
        }
        self.row.last_ns = self.row.last_ns.max(self.t);
        self.frames.push((self.t, f));
        Ok(())
    }

    /// SYN, SYN/ACK, ACK with MSS, SACK-permitted and window-scale options.
    pub(crate) fn handshake(&mut self) -> Result<(), SynthError> {
        let opts = [
            TcpOptionElement::MaximumSegmentSize(1460),
            TcpOptionElement::SelectiveAcknowledgementPermitted,
            TcpOptionElement::Noop,
            TcpOptionElement::WindowScale(7),
        ];
        self.seg(true, SYN, &[], &opts)?;
        self.t += self.rtt;
        self.seg(false, SYN, &[], &opts)?;
        self.t += 30_000;
        self.seg(true, 0, &[], &[])
    }

    /// Send `data` in MSS-sized segments; the peer acknowledges every second
    /// segment and the last one.
    pub(crate) fn send(&mut self, from_client: bool, data: &[u8]) -> Result<(), SynthError> {
        let chunks: Vec<&[u8]> = data.chunks(MSS).collect();
        let n = chunks.len();
        for (i, c) in chunks.into_iter().enumerate() {
            let last = i + 1 == n;
            self.seg(from_client, if last { PSH } else { 0 }, c, &[])?;
            if i % 2 == 1 || last {
                let t0 = self.t;
                // The ACK from the far side reaches the tap one RTT later; from
                // the near side almost at once.
                self.t += if from_client { self.rtt } else { 40_000 };
                self.seg(!from_client, 0, &[], &[])?;
                self.t = t0;
            }
            // Serialisation gap between back-to-back segments.
            self.t += 120_000;
        }
        Ok(())
    }

    /// FIN/ACK from one side, FIN/ACK back, final ACK.
    pub(crate) fn close(&mut self, client_first: bool) -> Result<(), SynthError> {
        self.seg(client_first, FIN, &[], &[])?;
        self.t += if client_first { self.rtt } else { 50_000 };
        self.seg(!client_first, FIN, &[], &[])?;
        self.t += if client_first { 40_000 } else { self.rtt };
        self.seg(client_first, 0, &[], &[])
    }

    /// RST/ACK from one side.
    pub(crate) fn reset(&mut self, from_client: bool) -> Result<(), SynthError> {
        self.seg(from_client, RST, &[], &[])
    }

    /// Hand the frames to the sink and the flow row to the labels.
    pub(crate) fn commit(self, sink: &mut Sink) -> Result<(), SynthError> {
        for (t, f) in self.frames {
            sink.push(t, f);
        }
        sink.label(&self.row)
    }
}
