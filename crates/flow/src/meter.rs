//! The flow table: assigns packets to bidirectional flows and expires them.
//!
//! Invariants:
//! - Time comes only from packet timestamps (`now` is the largest timestamp
//!   seen; older timestamps are clamped to it, as NFStream does, so no
//!   duration is negative). Wall-clock time is never read.
//! - Every active flow is in the hash map and in the LRU list exactly once;
//!   the LRU list is ordered by last activity, so idle expiry only inspects
//!   its head: O(1) per packet when nothing expires.
//! - The table never holds more than `capacity` flows: a new flow in a full
//!   table evicts the least recently active one (counted in
//!   [`MeterStats::evicted`]).
//! - Every packet handed to [`FlowMeter::process`] is counted in exactly one
//!   flow, and every flow is eventually returned by [`FlowMeter::drain`]
//!   (after [`FlowMeter::finish`] at the latest).
//! - With [`MeterConfig::early_emit`] = N > 0, a flow that reaches N packets
//!   and is still active after its Nth packet also puts one copy of itself,
//!   marked [`EndReason::Early`], into the output at that moment; the flow
//!   itself stays in the table and is returned again when it ends. A
//!   snapshot therefore always precedes its flow's final record in the
//!   drained order. Snapshots are not counted in `flows_ended`. With N = 0
//!   (the default) no snapshot is ever produced.
//! - A TCP flow that completed its handshake and ended by FIN/RST stays in
//!   the table for `tcp_linger_ns` with its `end_reason` set (it lingers):
//!   later packets of its 5-tuple join it, except a SYN, which removes it
//!   and starts a new flow. It leaves at its deadline (or earlier by idle
//!   expiry, eviction or end of input) with its FIN/RST reason, eviction
//!   excepted. Only lingering flows have `end_reason` Fin or Rst in the table.

use hashbrown::HashMap;
use netlens_wire::{PacketSummary, tcp_flags};

use crate::flow::{DirCounters, EndReason, Flow, FlowStats, TcpTrack};
use crate::key::{Endpoint, FlowKey, KeyHasher};

const NIL: u32 = u32::MAX;

/// Which bytes of a packet count toward a flow's byte counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Accounting {
    /// The frame's length on the wire, link header included (NFStream's default).
    #[default]
    Link,
    /// The (inner) IP datagram length as declared by its header.
    Ip,
    /// IP length minus the IP header(s): transport header + payload.
    Transport,
    /// Transport payload only.
    Payload,
}

impl Accounting {
    /// Parse `link`, `ip`, `transport` or `payload`.
    pub fn parse(s: &str) -> Option<Accounting> {
        match s {
            "link" => Some(Accounting::Link),
            "ip" => Some(Accounting::Ip),
            "transport" => Some(Accounting::Transport),
            "payload" => Some(Accounting::Payload),
            _ => None,
        }
    }

    /// Bytes of this packet under the mode.
    #[inline]
    pub fn bytes(self, wire_len: u32, p: &PacketSummary) -> u64 {
        match self {
            Accounting::Link => u64::from(wire_len),
            Accounting::Ip => u64::from(p.ip_len),
            Accounting::Transport => u64::from(p.ip_len.saturating_sub(u32::from(p.ip_header_len))),
            Accounting::Payload => u64::from(p.l4_payload_len),
        }
    }
}

/// Flow meter settings.
#[derive(Clone, Debug)]
pub struct MeterConfig {
    /// Idle timeout in ns (default 120 s).
    pub idle_timeout_ns: i64,
    /// Active timeout in ns (default 1800 s).
    pub active_timeout_ns: i64,
    /// End TCP flows on FIN in both directions + final ACK, or on RST
    /// (default true; false mimics NFStream).
    pub tcp_termination: bool,
    /// A TCP SYN-ACK that starts a flow makes its receiver the source (default true).
    pub syn_ack_flip: bool,
    /// Maximum number of flows held at once (default 4 Mi).
    pub capacity: usize,
    /// Byte accounting mode.
    pub accounting: Accounting,
    /// Keep per-flow packet size / inter-arrival / flag statistics.
    pub statistics: bool,
    /// Keep the first N packets' direction/size/gap (0 = off).
    pub splt: u16,
    /// Attribute non-first IP fragments to their first fragment's ports
    /// (default true; a sharded pipeline does this once, before sharding).
    pub attribute_fragments: bool,
    /// Keep the CICFlowMeter feature state (the `cic` group).
    pub cic: bool,
    /// Inspect payloads for application metadata (the `app` group): TLS,
    /// QUIC, DNS, HTTP, SSH; bounded work per flow.
    pub app: bool,
    /// CICFlowMeter's activity timeout for Active/Idle periods, ns (default 5 s).
    pub cic_activity_timeout_ns: i64,
    /// Early snapshots: when a flow reaches this many packets (and its Nth
    /// packet did not end it), a copy of it marked [`EndReason::Early`] is
    /// output at once, for classifying long flows before they end (0 = off,
    /// the default). Usually equal to `splt`. The snapshot carries no
    /// application metadata (that is extracted when the flow ends).
    pub early_emit: u16,
    /// With `tcp_termination`: how long a TCP flow whose handshake completed
    /// stays in the table after its FIN/RST end, in ns (default 5 s, Zeek's
    /// `tcp_close_delay`/`tcp_reset_delay`; 0 = off). Stray packets of the
    /// same connection in that time (retransmitted RSTs and FINs, late
    /// ACKs) join it instead of each becoming a one-packet flow; a SYN
    /// starts a new flow at once. Flows that never completed a handshake
    /// (scans, SYN floods) end at once, so floods do not fill the table.
    pub tcp_linger_ns: i64,
}

impl Default for MeterConfig {
    fn default() -> Self {
        MeterConfig {
            idle_timeout_ns: 120 * 1_000_000_000,
            active_timeout_ns: 1800 * 1_000_000_000,
            tcp_termination: true,
            syn_ack_flip: true,
            capacity: 4 << 20,
            accounting: Accounting::Link,
            statistics: false,
            splt: 0,
            attribute_fragments: true,
            cic: false,
            app: false,
            cic_activity_timeout_ns: crate::cic::DEFAULT_ACTIVITY_TIMEOUT_NS,
            early_emit: 0,
            tcp_linger_ns: 5 * 1_000_000_000,
        }
    }
}

/// Counters describing what the meter did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterStats {
    /// Packets assigned to flows.
    pub packets: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows exported, per end reason (same order as [`EndReason`] variants:
    /// idle, active, fin, rst, end_of_input, evicted).
    pub flows_ended: [u64; 6],
    /// Flows evicted because the table was full.
    pub evicted: u64,
    /// Largest number of simultaneously active flows.
    pub peak_active: u64,
    /// Non-first IP fragments attributed to their flow's ports.
    pub fragments_attributed: u64,
    /// Non-first IP fragments whose first fragment was not seen (metered with ports 0).
    pub fragments_unattributed: u64,
    /// Packets whose timestamp was older than the latest seen (clamped).
    pub out_of_order: u64,
    /// Early snapshots output ([`MeterConfig::early_emit`]).
    pub early_snapshots: u64,
}

impl MeterStats {
    /// Flows that ended for `reason` (early snapshots for [`EndReason::Early`]).
    pub fn ended(&self, reason: EndReason) -> u64 {
        match reason_index(reason) {
            Some(i) => self.flows_ended.get(i).copied().unwrap_or(0),
            None => self.early_snapshots,
        }
    }
}

/// Index into `flows_ended`; `None` for snapshots, which are not an end.
fn reason_index(r: EndReason) -> Option<usize> {
    match r {
        EndReason::Idle => Some(0),
        EndReason::Active => Some(1),
        EndReason::Fin => Some(2),
        EndReason::Rst => Some(3),
        EndReason::EndOfInput => Some(4),
        EndReason::Evicted => Some(5),
        EndReason::Early => None,
    }
}

struct Slot {
    flow: Flow,
    /// Payload inspector; its result moves into `flow.app` when the flow ends.
    app: Option<Box<netlens_appmeta::AppState>>,
}

/// A slot's neighbours in the LRU list (slot numbers, `NIL` at either end)
/// and the hash of its flow's key.
///
/// Kept apart from the slots, in an array of 16 bytes a slot: moving a flow
/// to the tail rewrites its two neighbours' links, and in the big slot array
/// (over 200 bytes a slot) those were two more cache misses per packet. The
/// hash lets removal and index growth find a flow's index entry without
/// rebuilding and rehashing its key.
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    hash: u64,
}

/// Fragment attribution key: (src, dst, protocol, IP id).
type FragKey = ([u8; 16], [u8; 16], u8, u32);

/// Most first-fragments remembered at once for port attribution.
const FRAG_TABLE_CAP: usize = 65_536;

/// Remembers the ports of first IP fragments so that later fragments of the
/// same datagram (which carry no transport header) join the right flow.
///
/// Invariant: holds at most `FRAG_TABLE_CAP` entries; when full it forgets
/// everything (later fragments of those datagrams are then unattributed and
/// counted), so memory stays bounded on fragment floods.
#[derive(Default)]
pub struct FragTable {
    map: HashMap<FragKey, (u16, u16)>,
    /// Non-first fragments given their first fragment's ports.
    pub attributed: u64,
    /// Non-first fragments whose first fragment was not seen (ports 0).
    pub unattributed: u64,
}

impl FragTable {
    /// The (source, destination) ports the packet should be metered with.
    pub fn attribute(&mut self, pkt: &PacketSummary) -> (u16, u16) {
        if !pkt.frag.is_fragment {
            return (pkt.src_port, pkt.dst_port);
        }
        let fk: FragKey = (
            Endpoint::new(pkt.src_ip, 0).addr,
            Endpoint::new(pkt.dst_ip, 0).addr,
            pkt.protocol,
            pkt.frag.id,
        );
        if pkt.ports_known {
            if pkt.frag.offset == 0 && pkt.frag.more {
                if self.map.len() >= FRAG_TABLE_CAP {
                    self.map.clear();
                }
                self.map.insert(fk, (pkt.src_port, pkt.dst_port));
            }
            return (pkt.src_port, pkt.dst_port);
        }
        let found = if pkt.frag.more {
            self.map.get(&fk).copied()
        } else {
            self.map.remove(&fk)
        };
        match found {
            Some(ports) => {
                self.attributed += 1;
                ports
            }
            None => {
                self.unattributed += 1;
                (0, 0)
            }
        }
    }

    /// Forget all pending first fragments.
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// The flow table.
pub struct FlowMeter {
    cfg: MeterConfig,
    /// Index of active flows: slot numbers, hashed by the flow key (the key
    /// itself is derived from the slot, so the index costs ~5 bytes a flow).
    map: hashbrown::HashTable<u32>,
    hasher: KeyHasher,
    slots: Vec<Option<Slot>>,
    /// LRU links, indexed like `slots` (same length).
    links: Vec<Link>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    now_ns: i64,
    started: bool,
    expired: Vec<Flow>,
    stats: MeterStats,
    frags: FragTable,
    /// TCP flows that ended by FIN/RST and linger (see
    /// [`MeterConfig::tcp_linger_ns`]): (deadline, slot, the flow's
    /// `first_packet_index` to tell it from a later flow in the same slot),
    /// in deadline order since time only moves forward. A lingering flow is
    /// marked by its `end_reason` (Fin or Rst) while still in the table.
    lingering: std::collections::VecDeque<(i64, u32, u64)>,
}

impl FlowMeter {
    /// A meter with the given settings.
    pub fn new(cfg: MeterConfig) -> FlowMeter {
        FlowMeter {
            cfg,
            map: hashbrown::HashTable::new(),
            hasher: KeyHasher::default(),
            slots: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            now_ns: i64::MIN,
            started: false,
            expired: Vec::new(),
            stats: MeterStats::default(),
            frags: FragTable::default(),
            lingering: std::collections::VecDeque::new(),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &MeterConfig {
        &self.cfg
    }

    /// Counters so far.
    pub fn stats(&self) -> MeterStats {
        let mut s = self.stats.clone();
        s.fragments_attributed = self.frags.attributed;
        s.fragments_unattributed = self.frags.unattributed;
        s
    }

    /// Number of flows currently in the table.
    pub fn active_flows(&self) -> usize {
        self.map.len()
    }

    /// Latest packet time seen (ns), `None` before the first packet.
    pub fn now_ns(&self) -> Option<i64> {
        self.started.then_some(self.now_ns)
    }

    /// Account one dissected IP packet. `index` is the packet's position in
    /// the whole input (used to order output deterministically).
    pub fn process(&mut self, ts_ns: i64, wire_len: u32, index: u64, pkt: &PacketSummary) {
        self.process_with_payload(ts_ns, wire_len, index, pkt, &[]);
    }

    /// As [`FlowMeter::process`], also handing the packet's captured transport
    /// payload to the flow's application-metadata inspector (when enabled).
    pub fn process_with_payload(
        &mut self,
        ts_ns: i64,
        wire_len: u32,
        index: u64,
        pkt: &PacketSummary,
        payload: &[u8],
    ) {
        // Time only moves forward.
        let ts = if !self.started || ts_ns >= self.now_ns {
            self.started = true;
            self.now_ns = ts_ns;
            ts_ns
        } else {
            self.stats.out_of_order += 1;
            self.now_ns
        };
        self.expire_idle(ts);

        let (src_port, dst_port) = if self.cfg.attribute_fragments {
            self.frags.attribute(pkt)
        } else {
            (pkt.src_port, pkt.dst_port)
        };
        let a = Endpoint::new(pkt.src_ip, src_port);
        let b = Endpoint::new(pkt.dst_ip, dst_port);
        let key = FlowKey::new(
            a,
            b,
            pkt.protocol,
            pkt.ip_version,
            pkt.vlan_id,
            pkt.tunnel_id,
        );
        self.stats.packets += 1;

        let hash = self.hasher.hash(&key);
        let mut idx = {
            let slots = &self.slots;
            self.map
                .find(hash, |&i| slot_has_key(slots, i, &key))
                .copied()
        };
        if let Some(i) = idx {
            let (first, last, ended) = match self.slot(i) {
                Some(s) => (s.flow.first_ns, s.flow.last_ns, lingering(&s.flow)),
                None => (ts, ts, None),
            };
            let new_syn = pkt.protocol == 6
                && pkt.tcp.flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
            if let Some(reason) = ended.filter(|_| new_syn) {
                // A new connection on the 5-tuple of a lingering one.
                self.remove(i, reason);
                idx = None;
            } else if ts - last >= self.cfg.idle_timeout_ns {
                self.remove(i, EndReason::Idle);
                idx = None;
            } else if ts - first >= self.cfg.active_timeout_ns {
                self.remove(i, EndReason::Active);
                idx = None;
            }
        }
        let i = match idx {
            Some(i) => {
                self.touch(i);
                i
            }
            None => self.create(key, hash, a, ts, index, pkt),
        };
        let cfg_acc = self.cfg.accounting;
        let splt_cap = usize::from(self.cfg.splt);
        let term = self.cfg.tcp_termination;
        let early_emit = self.cfg.early_emit;
        let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::as_mut) else {
            return;
        };
        let flow = &mut slot.flow;
        let app_state = &mut slot.app;
        let fwd = a == flow.src && (a != flow.dst || b == flow.dst);
        let bytes = cfg_acc.bytes(wire_len, pkt);
        update_flow(flow, fwd, ts, bytes, pkt, splt_cap);
        // The option is tested first so that the fields (in a colder part
        // of the slot) are not read when the groups are off.
        if self.cfg.cic
            && let Some(c) = flow.cic.as_deref_mut()
        {
            c.on_packet(fwd, ts, pkt, wire_len);
        }
        if self.cfg.app
            && !payload.is_empty()
            && let Some(app) = app_state.as_deref_mut()
            && !app.done()
        {
            app.on_payload(fwd, payload);
        }
        let closing = lingering(flow).is_some();
        // One compare per packet when the option is off.
        let snapshot = early_emit != 0 && flow.packets() == u64::from(early_emit) && !closing;
        if term && pkt.protocol == 6 && !closing {
            let f = pkt.tcp.flags;
            let done = if f & tcp_flags::RST != 0 {
                Some(EndReason::Rst)
            } else if flow.tcp.fin_fwd
                && flow.tcp.fin_bwd
                && f & tcp_flags::ACK != 0
                && f & (tcp_flags::FIN | tcp_flags::SYN) == 0
            {
                Some(EndReason::Fin)
            } else {
                None
            };
            if let Some(reason) = done {
                // The final record says everything a snapshot would.
                if self.cfg.tcp_linger_ns > 0 && flow.tcp.established {
                    flow.end_reason = reason;
                    let deadline = ts.saturating_add(self.cfg.tcp_linger_ns);
                    self.lingering
                        .push_back((deadline, i, flow.first_packet_index));
                } else {
                    self.remove(i, reason);
                }
                return;
            }
        }
        if snapshot {
            self.snapshot(i);
        }
    }

    /// Output a copy of the active flow in slot `i`, marked early.
    #[cold]
    fn snapshot(&mut self, i: u32) {
        let Some(slot) = self.slot(i) else { return };
        let mut copy = slot.flow.clone();
        copy.end_reason = EndReason::Early;
        copy.app = None;
        self.stats.early_snapshots += 1;
        self.expired.push(copy);
    }

    /// Let time pass without a packet (e.g. a live capture's timer): expire
    /// idle flows up to `now_ns`.
    pub fn advance(&mut self, now_ns: i64) {
        if !self.started || now_ns > self.now_ns {
            self.started = true;
            self.now_ns = now_ns;
        }
        self.expire_idle(self.now_ns);
    }

    /// Export every remaining flow with reason end-of-input. The clock
    /// restarts: packets given afterwards start a new, independent stretch
    /// of time (the next input read without merging).
    pub fn finish(&mut self) {
        while self.head != NIL {
            self.remove(self.head, EndReason::EndOfInput);
        }
        self.lingering.clear();
        self.frags.clear();
        self.started = false;
        self.now_ns = i64::MIN;
    }

    /// Move the flows expired so far, and early snapshots, into `out` (in
    /// expiry order). An empty `out` trades buffers with the meter instead
    /// of copying every flow (flows are a few hundred bytes each), and the
    /// meter keeps `out`'s capacity for the next flows.
    pub fn drain(&mut self, out: &mut Vec<Flow>) {
        if out.is_empty() {
            std::mem::swap(out, &mut self.expired);
        } else {
            out.append(&mut self.expired);
        }
    }

    /// Number of expired flows waiting to be drained.
    pub fn pending(&self) -> usize {
        self.expired.len()
    }

    fn slot(&self, i: u32) -> Option<&Slot> {
        self.slots.get(i as usize).and_then(Option::as_ref)
    }

    fn expire_idle(&mut self, now: i64) {
        while let Some(&(deadline, i, id)) = self.lingering.front() {
            if deadline > now {
                break;
            }
            self.lingering.pop_front();
            // The entry is stale when its flow already left (a SYN, idle
            // expiry, eviction) and the slot was reused.
            let ended = self
                .slot(i)
                .filter(|s| s.flow.first_packet_index == id)
                .and_then(|s| lingering(&s.flow));
            if let Some(reason) = ended {
                self.remove(i, reason);
            }
        }
        while self.head != NIL {
            let Some(s) = self.slot(self.head) else { break };
            if now - s.flow.last_ns >= self.cfg.idle_timeout_ns {
                self.remove(self.head, EndReason::Idle);
            } else {
                break;
            }
        }
    }

    fn create(
        &mut self,
        key: FlowKey,
        hash: u64,
        a: Endpoint,
        ts: i64,
        index: u64,
        pkt: &PacketSummary,
    ) -> u32 {
        if self.map.len() >= self.cfg.capacity.max(1) && self.head != NIL {
            self.stats.evicted += 1;
            self.remove(self.head, EndReason::Evicted);
        }
        let flip = self.cfg.syn_ack_flip
            && pkt.protocol == 6
            && pkt.tcp.flags & (tcp_flags::SYN | tcp_flags::ACK | tcp_flags::RST)
                == (tcp_flags::SYN | tcp_flags::ACK);
        let b = if key.lo == a { key.hi } else { key.lo };
        let (src, dst, src_mac, dst_mac) = if flip {
            (b, a, pkt.dst_mac, pkt.src_mac)
        } else {
            (a, b, pkt.src_mac, pkt.dst_mac)
        };
        let stats = if self.cfg.statistics || self.cfg.splt > 0 {
            let mut s = Box::<FlowStats>::default();
            s.splt = (self.cfg.splt > 0)
                .then(|| Box::new(crate::flow::Splt::with_capacity(usize::from(self.cfg.splt))));
            Some(s)
        } else {
            None
        };
        let flow = Flow {
            id: 0,
            first_packet_index: index,
            src,
            dst,
            protocol: pkt.protocol,
            ip_version: pkt.ip_version,
            vlan_id: pkt.vlan_id,
            tunnel: pkt.tunnel,
            tunnel_id: pkt.tunnel_id,
            src_mac,
            dst_mac,
            first_ns: ts,
            last_ns: ts,
            fwd: DirCounters::default(),
            bwd: DirCounters::default(),
            end_reason: EndReason::EndOfInput,
            tcp: TcpTrack::default(),
            icmp_type_code: (pkt.icmp_type, pkt.icmp_code),
            stats,
            cic: self.cfg.cic.then(|| {
                Box::new(crate::cic::CicState::empty(
                    self.cfg.cic_activity_timeout_ns,
                ))
            }),
            app: None,
        };
        let app = self.cfg.app.then(|| {
            Box::new(netlens_appmeta::AppState::new(
                pkt.protocol,
                src.port,
                dst.port,
            ))
        });
        debug_assert!(flow_key(&flow) == key);
        let slot = Slot { flow, app };
        let link = Link {
            prev: self.tail,
            next: NIL,
            hash,
        };
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(slot);
                }
                if let Some(l) = self.links.get_mut(i as usize) {
                    *l = link;
                }
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.links.push(link);
                (self.slots.len() - 1) as u32
            }
        };
        if self.tail != NIL {
            if let Some(t) = self.links.get_mut(self.tail as usize) {
                t.next = i;
            }
        } else {
            self.head = i;
        }
        self.tail = i;
        {
            let links = &self.links;
            self.map
                .insert_unique(hash, i, |&j| links.get(j as usize).map_or(0, |l| l.hash));
        }
        self.stats.flows_created += 1;
        self.stats.peak_active = self.stats.peak_active.max(self.map.len() as u64);
        i
    }

    fn unlink(&mut self, i: u32) {
        let Link { prev, next, .. } = match self.links.get(i as usize) {
            Some(&l) => l,
            None => return,
        };
        if prev != NIL {
            if let Some(p) = self.links.get_mut(prev as usize) {
                p.next = next;
            }
        } else {
            self.head = next;
        }
        if next != NIL {
            if let Some(n) = self.links.get_mut(next as usize) {
                n.prev = prev;
            }
        } else {
            self.tail = prev;
        }
    }

    fn touch(&mut self, i: u32) {
        if self.tail == i {
            return;
        }
        self.unlink(i);
        let tail = self.tail;
        if let Some(s) = self.links.get_mut(i as usize) {
            s.prev = tail;
            s.next = NIL;
        }
        if tail != NIL {
            if let Some(t) = self.links.get_mut(tail as usize) {
                t.next = i;
            }
        } else {
            self.head = i;
        }
        self.tail = i;
    }

    fn remove(&mut self, i: u32, reason: EndReason) {
        self.unlink(i);
        let Some(slot) = self.slots.get_mut(i as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(i);
        let hash = self.links.get(i as usize).map_or(0, |l| l.hash);
        if let Ok(e) = self.map.find_entry(hash, |&j| j == i) {
            e.remove();
        }
        let mut flow = slot.flow;
        flow.app = slot.app.map(|a| Box::new(a.into_meta()));
        // A lingering flow ended by its FIN/RST, whatever removes it later
        // (idle expiry, end of input); eviction is still said.
        let reason = match (lingering(&flow), reason) {
            (Some(r), EndReason::Idle | EndReason::EndOfInput) => r,
            _ => reason,
        };
        flow.end_reason = reason;
        if let Some(n) = reason_index(reason).and_then(|r| self.stats.flows_ended.get_mut(r)) {
            *n += 1;
        }
        self.expired.push(flow);
    }
}

/// The FIN/RST end of a flow that lingers in the table after it (see
/// [`MeterConfig::tcp_linger_ns`]); None for an active flow, whose
/// `end_reason` stays at its initial `EndOfInput` until it leaves.
#[inline]
fn lingering(f: &Flow) -> Option<EndReason> {
    matches!(f.end_reason, EndReason::Fin | EndReason::Rst).then_some(f.end_reason)
}

/// The index key of a flow (both directions map to it).
fn flow_key(f: &Flow) -> FlowKey {
    FlowKey::new(
        f.src,
        f.dst,
        f.protocol,
        f.ip_version,
        f.vlan_id,
        f.tunnel_id,
    )
}

/// Whether slot `i` holds the flow of `key`: the same as comparing
/// `flow_key` of its flow with `key`, without ordering the endpoints.
#[inline]
fn slot_has_key(slots: &[Option<Slot>], i: u32, key: &FlowKey) -> bool {
    let Some(Some(s)) = slots.get(i as usize) else {
        return false;
    };
    let f = &s.flow;
    f.protocol == key.protocol
        && f.ip_version == key.ip_version
        && f.vlan_id == key.vlan_id
        && f.tunnel_id == key.tunnel_id
        && ((f.src == key.lo && f.dst == key.hi) || (f.src == key.hi && f.dst == key.lo))
}

#[inline]
fn update_flow(
    flow: &mut Flow,
    fwd: bool,
    ts: i64,
    bytes: u64,
    pkt: &PacketSummary,
    splt_cap: usize,
) {
    let prev_last = flow.last_ns;
    let first_packet = flow.fwd.packets + flow.bwd.packets == 0;
    flow.last_ns = ts;
    let dir = if fwd { &mut flow.fwd } else { &mut flow.bwd };
    let dir_prev_last = dir.last_ns;
    let dir_first = dir.packets == 0;
    if dir_first {
        dir.first_ns = ts;
    }
    dir.last_ns = ts;
    dir.packets += 1;
    dir.bytes += bytes;
    dir.payload_bytes += u64::from(pkt.l4_payload_len);
    let is_tcp = pkt.protocol == 6;
    if is_tcp {
        let f = pkt.tcp.flags;
        let t = &mut flow.tcp;
        let syn = f & tcp_flags::SYN != 0;
        let ack = f & tcp_flags::ACK != 0;
        if fwd {
            if syn && !ack {
                t.syn_fwd = true;
            }
            if syn && ack {
                t.synack_fwd = true;
            }
            if f & tcp_flags::FIN != 0 {
                t.fin_fwd = true;
            }
            if f & tcp_flags::RST != 0 {
                t.rst_fwd = true;
            }
            if pkt.l4_payload_len > 0 {
                t.data_fwd = true;
            }
            if ack && !syn && t.synack_bwd {
                t.established = true;
            }
        } else {
            if syn && ack {
                t.synack_bwd = true;
            }
            if f & tcp_flags::FIN != 0 {
                t.fin_bwd = true;
            }
            if f & tcp_flags::RST != 0 {
                t.rst_bwd = true;
            }
            if pkt.l4_payload_len > 0 {
                t.data_bwd = true;
            }
        }
    }
    if let Some(st) = flow.stats.as_deref_mut() {
        let size = bytes as f64;
        st.bidir.ps.push(size);
        if !first_packet {
            st.bidir.piat_ms.push((ts - prev_last) as f64 / 1e6);
        }
        let d = if fwd { &mut st.fwd } else { &mut st.bwd };
        d.ps.push(size);
        if !dir_first {
            d.piat_ms.push((ts - dir_prev_last) as f64 / 1e6);
        }
        if is_tcp {
            d.count_flags(pkt.tcp.flags);
            st.bidir.count_flags(pkt.tcp.flags);
        }
        if let Some(sp) = st.splt.as_deref_mut()
            && sp.len() < splt_cap
        {
            sp.push(
                if fwd { 0 } else { 1 },
                i32::try_from(bytes).unwrap_or(i32::MAX),
                if first_packet {
                    0.0
                } else {
                    (ts - prev_last) as f64 / 1e6
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlens_wire::{PacketSummary, TcpInfo};
    use std::net::{IpAddr, Ipv4Addr};

    const S: i64 = 1_000_000_000;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn tcp(src: u8, sport: u16, dst: u8, dport: u16, flags: u16, payload: u32) -> PacketSummary {
        PacketSummary {
            ip_version: 4,
            src_ip: ip(src),
            dst_ip: ip(dst),
            protocol: 6,
            src_port: sport,
            dst_port: dport,
            ports_known: true,
            ip_len: 40 + payload,
            ip_header_len: 20,
            l4_header_len: 20,
            l4_payload_len: payload,
            tcp: TcpInfo {
                flags,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn udp(src: u8, sport: u16, dst: u8, dport: u16) -> PacketSummary {
        PacketSummary {
            ip_version: 4,
            src_ip: ip(src),
            dst_ip: ip(dst),
            protocol: 17,
            src_port: sport,
            dst_port: dport,
            ports_known: true,
            ip_len: 28,
            ip_header_len: 20,
            l4_header_len: 8,
            ..Default::default()
        }
    }

    fn run(m: &mut FlowMeter, pkts: &[(i64, PacketSummary)]) -> Vec<Flow> {
        for (i, (t, p)) in pkts.iter().enumerate() {
            m.process(*t, 60, i as u64, p);
        }
        m.finish();
        let mut out = Vec::new();
        m.drain(&mut out);
        out
    }

    use netlens_wire::tcp_flags::{ACK, FIN, PSH, RST, SYN};

    fn handshake_and_close() -> Vec<(i64, PacketSummary)> {
        vec![
            (0, tcp(1, 40000, 2, 80, SYN, 0)),
            (S / 100, tcp(2, 80, 1, 40000, SYN | ACK, 0)),
            (2 * S / 100, tcp(1, 40000, 2, 80, ACK, 0)),
            (3 * S / 100, tcp(1, 40000, 2, 80, PSH | ACK, 100)),
            (4 * S / 100, tcp(2, 80, 1, 40000, PSH | ACK, 1000)),
            (5 * S / 100, tcp(1, 40000, 2, 80, FIN | ACK, 0)),
            (6 * S / 100, tcp(2, 80, 1, 40000, FIN | ACK, 0)),
            (7 * S / 100, tcp(1, 40000, 2, 80, ACK, 0)),
        ]
    }

    #[test]
    fn tcp_session_ends_on_fin_both_ways_and_final_ack() {
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &handshake_and_close());
        assert_eq!(flows.len(), 1);
        let f = &flows[0];
        assert_eq!(f.end_reason, EndReason::Fin);
        assert_eq!((f.fwd.packets, f.bwd.packets), (5, 3));
        assert_eq!(f.src_ip(), ip(1));
        assert_eq!(f.src.port, 40000);
        assert_eq!(f.tcp.conn_state(), "SF");
        assert_eq!(f.fwd.payload_bytes, 100);
        assert_eq!(f.bwd.payload_bytes, 1000);
        assert_eq!(f.bytes(), 8 * 60);
    }

    #[test]
    fn packets_after_termination_start_a_new_flow_and_nfstream_mode_keeps_one() {
        let mut pkts = handshake_and_close();
        pkts.push((8 * S / 100, tcp(2, 80, 1, 40000, ACK, 0)));
        let mut m = FlowMeter::new(MeterConfig {
            tcp_linger_ns: 0,
            ..Default::default()
        });
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[1].end_reason, EndReason::EndOfInput);
        let mut m = FlowMeter::new(MeterConfig {
            tcp_termination: false,
            ..Default::default()
        });
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].packets(), 9);
        assert_eq!(flows[0].end_reason, EndReason::EndOfInput);
    }

    #[test]
    fn a_closed_connection_lingers_for_stray_packets() {
        // Within the linger time a late ACK joins the ended flow, which
        // keeps its FIN reason; after it, a packet starts a new flow.
        let mut pkts = handshake_and_close();
        pkts.push((8 * S / 100, tcp(2, 80, 1, 40000, ACK, 0)));
        pkts.push((7 * S, tcp(2, 80, 1, 40000, ACK, 0)));
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 2, "{flows:?}");
        assert_eq!(
            (flows[0].packets(), flows[0].end_reason),
            (9, EndReason::Fin)
        );
        assert_eq!((flows[1].packets(), flows[1].first_ns), (1, 7 * S));
        // An established connection reset by its server, then a burst of
        // repeated RSTs (ndpi/ethereum.pcap): one flow, not one per RST.
        let mut pkts = handshake_and_close();
        pkts.truncate(5);
        for k in 0..5 {
            pkts.push((5 * S / 100 + k, tcp(2, 80, 1, 40000, RST, 0)));
        }
        // A SYN on the same ports is a new connection at once.
        pkts.push((6 * S / 100, tcp(1, 40000, 2, 80, SYN, 0)));
        let flows = run(&mut FlowMeter::new(MeterConfig::default()), &pkts);
        assert_eq!(flows.len(), 2, "{flows:?}");
        assert_eq!(
            (flows[0].packets(), flows[0].end_reason),
            (10, EndReason::Rst)
        );
        assert_eq!(
            (flows[1].packets(), flows[1].end_reason),
            (1, EndReason::EndOfInput)
        );
        // Never established (a scan probe answered by RST): ends at once,
        // and a repeated probe is a flow of its own.
        let pkts = vec![
            (0, tcp(1, 40000, 2, 81, SYN, 0)),
            (1, tcp(2, 81, 1, 40000, RST | ACK, 0)),
            (2, tcp(2, 81, 1, 40000, RST | ACK, 0)),
        ];
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 2, "{flows:?}");
        assert_eq!(m.active_flows(), 0);
    }

    #[test]
    fn rst_terminates() {
        let pkts = vec![
            (0, tcp(1, 1234, 2, 22, SYN, 0)),
            (S / 10, tcp(2, 22, 1, 1234, RST | ACK, 0)),
        ];
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].end_reason, EndReason::Rst);
        assert_eq!(flows[0].tcp.conn_state(), "REJ");
    }

    #[test]
    fn syn_ack_first_flips_direction() {
        let pkts = vec![
            (0, tcp(2, 80, 1, 40000, SYN | ACK, 0)),
            (S / 100, tcp(1, 40000, 2, 80, ACK, 0)),
        ];
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 1);
        let f = &flows[0];
        assert_eq!(f.src_ip(), ip(1));
        assert_eq!(f.dst.port, 80);
        assert_eq!((f.fwd.packets, f.bwd.packets), (1, 1));
        let mut m = FlowMeter::new(MeterConfig {
            syn_ack_flip: false,
            ..Default::default()
        });
        let flows = run(&mut m, &pkts);
        assert_eq!(flows[0].src_ip(), ip(2));
    }

    #[test]
    fn idle_timeout_splits_flows_by_packet_time() {
        let pkts = vec![
            (0, udp(1, 5353, 2, 53)),
            (119 * S, udp(2, 53, 1, 5353)),
            (239 * S, udp(1, 5353, 2, 53)), // exactly 120 s after the last: new flow
        ];
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].end_reason, EndReason::Idle);
        assert_eq!(flows[0].packets(), 2);
        assert_eq!(flows[1].packets(), 1);
    }

    #[test]
    fn idle_flows_expire_while_other_traffic_flows() {
        let mut m = FlowMeter::new(MeterConfig::default());
        m.process(0, 60, 0, &udp(1, 1000, 2, 53));
        m.process(10 * S, 60, 1, &udp(3, 1000, 4, 53));
        m.process(125 * S, 60, 2, &udp(3, 1000, 4, 53));
        let mut out = Vec::new();
        m.drain(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].src_ip(), ip(1));
        assert_eq!(out[0].end_reason, EndReason::Idle);
        assert_eq!(m.active_flows(), 1);
    }

    #[test]
    fn active_timeout_cuts_long_flows() {
        let mut m = FlowMeter::new(MeterConfig {
            active_timeout_ns: 10 * S,
            ..Default::default()
        });
        let pkts: Vec<_> = (0..25).map(|i| (i * S, udp(1, 1000, 2, 53))).collect();
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 3);
        assert_eq!(flows[0].end_reason, EndReason::Active);
        assert_eq!(flows[0].packets(), 10);
        assert_eq!(flows.iter().map(Flow::packets).sum::<u64>(), 25);
    }

    #[test]
    fn full_table_evicts_least_recent_and_counts() {
        let mut m = FlowMeter::new(MeterConfig {
            capacity: 2,
            ..Default::default()
        });
        let pkts = vec![
            (0, udp(1, 1, 9, 53)),
            (1, udp(2, 1, 9, 53)),
            (2, udp(1, 1, 9, 53)),
            (3, udp(3, 1, 9, 53)), // evicts host 2's flow
        ];
        let flows = run(&mut m, &pkts);
        assert_eq!(m.stats().evicted, 1);
        assert_eq!(flows[0].src_ip(), ip(2));
        assert_eq!(flows[0].end_reason, EndReason::Evicted);
        assert_eq!(flows.iter().map(Flow::packets).sum::<u64>(), 4);
    }

    #[test]
    fn out_of_order_timestamps_are_clamped() {
        let mut m = FlowMeter::new(MeterConfig::default());
        let pkts = vec![(10 * S, udp(1, 1, 2, 2)), (5 * S, udp(2, 2, 1, 1))];
        let flows = run(&mut m, &pkts);
        assert_eq!(m.stats().out_of_order, 1);
        assert_eq!(flows[0].duration_ns(), 0);
    }

    #[test]
    fn fragments_follow_their_first_fragment() {
        let mut first = udp(1, 5000, 2, 53);
        first.frag = netlens_wire::FragInfo {
            is_fragment: true,
            offset: 0,
            more: true,
            id: 77,
        };
        let mut rest = udp(1, 0, 2, 0);
        rest.ports_known = false;
        rest.frag = netlens_wire::FragInfo {
            is_fragment: true,
            offset: 1480,
            more: false,
            id: 77,
        };
        let mut m = FlowMeter::new(MeterConfig::default());
        let flows = run(&mut m, &[(0, first), (1, rest)]);
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].packets(), 2);
        assert_eq!(m.stats().fragments_attributed, 1);
    }

    #[test]
    fn statistics_match_nfstream_definitions() {
        let mut m = FlowMeter::new(MeterConfig {
            statistics: true,
            splt: 3,
            ..Default::default()
        });
        let pkts = handshake_and_close();
        for (i, (t, p)) in pkts.iter().enumerate() {
            let len = 54 + p.l4_payload_len;
            m.process(*t, len, i as u64, p);
        }
        m.finish();
        let mut out = Vec::new();
        m.drain(&mut out);
        let s = out[0]
            .stats
            .as_deref()
            .unwrap_or_else(|| panic!("stats missing"));
        assert_eq!(s.bidir.ps.n, 8);
        assert_eq!(s.bidir.ps.max, 1054.0);
        assert_eq!(s.bidir.piat_ms.n, 7);
        assert!((s.bidir.piat_ms.mean - 10.0).abs() < 1e-9);
        assert_eq!(s.fwd.flags[0], 1); // one SYN from the client
        assert_eq!(s.bwd.flags[0], 1); // the SYN-ACK
        assert_eq!(s.bidir.flags[4], 7); // ACKs
        assert_eq!(s.splt().direction, vec![0, 1, 0]);
        assert_eq!(s.splt().ps, vec![54, 54, 54]);
    }

    #[test]
    fn early_snapshot_at_exactly_n_packets_matches_the_final_flow() {
        let cfg = MeterConfig {
            splt: 4,
            early_emit: 4,
            ..Default::default()
        };
        let mut m = FlowMeter::new(cfg);
        // A 8-packet TCP session and a 2-packet UDP flow (ends below N).
        let mut pkts = handshake_and_close();
        pkts.insert(1, (S / 200, udp(3, 53, 4, 5353)));
        pkts.push((S, udp(4, 5353, 3, 53)));
        let mut seen = Vec::new();
        for (i, (t, p)) in pkts.iter().enumerate() {
            m.process(*t, 60 + p.l4_payload_len, i as u64, p);
            let mut out = Vec::new();
            m.drain(&mut out);
            seen.extend(out.into_iter().map(|f| (i, f)));
        }
        m.finish();
        let mut out = Vec::new();
        m.drain(&mut out);
        seen.extend(out.into_iter().map(|f| (pkts.len(), f)));
        let snaps: Vec<_> = seen
            .iter()
            .filter(|(_, f)| f.end_reason == EndReason::Early)
            .collect();
        assert_eq!(snaps.len(), 1, "only the TCP flow reaches 4 packets");
        let (at, snap) = snaps[0];
        // Output right after the 4th TCP packet (input index 4: the UDP packet is index 1).
        assert_eq!(*at, 4);
        assert_eq!(snap.packets(), 4);
        assert_eq!(snap.last_ns, 3 * S / 100);
        let finals: Vec<_> = seen
            .iter()
            .filter(|(_, f)| f.protocol == 6 && f.end_reason != EndReason::Early)
            .collect();
        assert_eq!(finals.len(), 1);
        let (fat, fin) = finals[0];
        assert!(fat > at, "the snapshot precedes the final record");
        assert_eq!(fin.end_reason, EndReason::Fin);
        assert_eq!(fin.packets(), 8);
        assert_eq!(fin.first_packet_index, snap.first_packet_index);
        let (ss, fs) = match (snap.stats.as_deref(), fin.stats.as_deref()) {
            (Some(a), Some(b)) => (a, b),
            _ => panic!("splt missing"),
        };
        assert_eq!(ss.splt(), fs.splt(), "identical first-N sequences");
        assert_eq!(ss.splt().ps, vec![60, 60, 60, 160]);
        assert_eq!(m.stats().early_snapshots, 1);
        assert_eq!(m.stats().ended(EndReason::Early), 1);
        assert_eq!(m.stats().flows_ended.iter().sum::<u64>(), 2);
        // UDP: ended below N, one record only.
        assert_eq!(seen.iter().filter(|(_, f)| f.protocol == 17).count(), 1);
    }

    #[test]
    fn no_snapshot_when_off_or_when_the_nth_packet_ends_the_flow() {
        let mut m = FlowMeter::new(MeterConfig {
            splt: 4,
            ..Default::default()
        });
        let flows = run(&mut m, &handshake_and_close());
        assert_eq!(flows.len(), 1);
        assert_eq!(m.stats().early_snapshots, 0);
        // The 8th packet (final ACK) ends the flow: the final record suffices.
        let mut m = FlowMeter::new(MeterConfig {
            splt: 8,
            early_emit: 8,
            ..Default::default()
        });
        let flows = run(&mut m, &handshake_and_close());
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].end_reason, EndReason::Fin);
        // A long UDP flow gives one snapshot, not one per later packet.
        let mut m = FlowMeter::new(MeterConfig {
            splt: 3,
            early_emit: 3,
            ..Default::default()
        });
        let pkts: Vec<_> = (0..50).map(|i| (i * S / 10, udp(1, 1000, 2, 53))).collect();
        let flows = run(&mut m, &pkts);
        assert_eq!(flows.len(), 2);
        assert_eq!(flows[0].end_reason, EndReason::Early);
        assert_eq!(flows[0].packets(), 3);
        assert_eq!(flows[1].packets(), 50);
    }
}
