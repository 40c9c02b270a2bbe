//! The per-flow feature table detectors are trained on and applied to.
//!
//! Full-flow set ([`FeatureSet::full`]): every numeric column of the flow
//! registry's `basic`, `meta`, `nfstream` and `cic` groups except
//! identifiers and absolute times (flow ids, source port, VLAN/tunnel ids,
//! first/last-seen timestamps, CIC's duplicated identity columns). The
//! destination port is kept (it names the service). Addresses, MACs and text
//! columns are never features, so a detector does not learn which hosts
//! were in its training captures.
//!
//! Early-flow set ([`FeatureSet::early`]): only what the first N packets
//! say: protocol, destination port, IP version, the number of packets seen
//! (≤ N) and the direction, size and gap of packets 1..N (`splt_*_i`, −1
//! where the flow had fewer packets).
//!
//! Host context ([`FeatureSet::context`], full-flow set only): what the
//! stream says around a flow rather than the flow alone: exponentially
//! decayed counts (time constant [`CONTEXT_TAU_S`] s) of the flows that ended
//! so far with the same destination address, the same source address and
//! the same address pair, and of the one-way ones among them (no reply
//! packet). A flood is many flows into one address, a scan many flows out
//! of one; a single flow of either looks like ordinary traffic. The counts
//! are computed by one [`HostContext`] per stream, fed every flow in the
//! order the meter emits them (training and detection alike), with memory
//! bounded by [`CONTEXT_MAX_HOSTS`] tracked keys per map.
//!
//! Related flows: a flow from B to A while A's recent two-way flows to B
//! still count at least [`CONTEXT_RELATED_MIN`] (decayed) belongs to a
//! conversation A started: a peer connecting back, a late packet or the
//! burst of bare RSTs a peer sends after the meter ended the connection at
//! its first RST (each such packet becomes a one-packet flow). It is not
//! fan-in into A nor fan-out of B, so it is left out of the maps; its row
//! reports the counts as if it were added (so a flow always counts itself),
//! and `ctx_related` gives that reverse count. Without this, a peer-to-peer
//! node's closed connections look like a flood into it. A flooder can hide
//! only from a host that held a two-way conversation with it in the last
//! ~30 s, and only while that count has not decayed.
//!
//! Invariant: the table has one row per flow in input order, then the
//! identity columns in [`ID_COLUMNS`] (never used as features).

use hashbrown::HashMap;

use netlens_flow::{Column, ColumnType, Flow, MeterConfig, Selection, Value};
use netlens_ml::matrix::Matrix;
use netlens_ml::preprocess::numeric_value;
use netlens_ml::table::{Column as TColumn, ColumnData, Table};

/// Identity columns appended to every table (excluded from features).
pub const ID_COLUMNS: [&str; 7] = [
    "id",
    "src_ip",
    "src_port",
    "dst_ip",
    "dst_port",
    "protocol",
    "bidirectional_first_seen_ms",
];

/// Registry columns that identify a flow rather than describe its behaviour.
const EXCLUDED: [&str; 10] = [
    "id",
    "expiration_id",
    "src_port",
    "vlan_id",
    "tunnel_id",
    "cic_flow_id",
    "cic_src_port",
    "cic_dst_port",
    "cic_protocol",
    "ip_version",
];

/// Names of the host-context features, in table order.
pub const CONTEXT_FEATURES: [&str; 8] = [
    "ctx_dst_flows",
    "ctx_dst_oneway",
    "ctx_dst_oneway_share",
    "ctx_src_flows",
    "ctx_src_oneway",
    "ctx_src_oneway_share",
    "ctx_pair_flows",
    "ctx_related",
];

/// Time constant of the host-context counts, seconds.
pub const CONTEXT_TAU_S: f64 = 10.0;

/// Decayed count of two-way flows from a flow's destination to its source
/// at or above which the flow is related (see the module docs): one such
/// flow that ended up to ~30 s earlier (e^-3 ≈ 0.05 with τ = 10 s).
pub const CONTEXT_RELATED_MIN: f64 = 0.05;

/// Keys tracked per host-context map before stale ones are dropped.
pub const CONTEXT_MAX_HOSTS: usize = 1 << 18;

/// Which features a detector uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureSet {
    /// 0 = full-flow features; N > 0 = features of the first N packets only.
    pub early: u16,
    /// Add the host-context features (full-flow set only).
    pub context: bool,
}

impl FeatureSet {
    /// Full-flow features.
    pub fn full() -> FeatureSet {
        FeatureSet {
            early: 0,
            context: false,
        }
    }

    /// Features of the first `n` packets.
    pub fn early(n: u16) -> FeatureSet {
        FeatureSet {
            early: n,
            context: false,
        }
    }

    /// This set with the host-context features (ignored for the early set).
    pub fn with_context(self, context: bool) -> FeatureSet {
        FeatureSet {
            context: context && self.early == 0,
            ..self
        }
    }

    /// Meter settings that produce this feature set (timeouts left at defaults).
    pub fn meter_config(&self) -> MeterConfig {
        MeterConfig {
            statistics: self.early == 0,
            cic: self.early == 0,
            app: false,
            splt: self.early,
            ..MeterConfig::default()
        }
    }

    /// The registry columns used (full set only; empty for the early set).
    fn registry_columns(&self) -> Vec<&'static Column> {
        if self.early > 0 {
            return Vec::new();
        }
        let Ok(sel) = Selection::parse("basic,meta,nfstream,cic") else {
            return Vec::new();
        };
        sel.columns()
            .filter(|c| is_feature_column(c))
            .collect::<Vec<_>>()
    }

    /// Names of the feature columns this set produces, in table order.
    pub fn feature_names(&self) -> Vec<String> {
        if self.early == 0 {
            let mut v: Vec<String> = self
                .registry_columns()
                .iter()
                .map(|c| c.name.to_string())
                .collect();
            if self.context {
                v.extend(CONTEXT_FEATURES.iter().map(|s| s.to_string()));
            }
            return v;
        }
        let mut v = vec![
            "protocol".to_string(),
            "dst_port".to_string(),
            "ip_version".to_string(),
            "early_packets".to_string(),
        ];
        for i in 0..self.early {
            v.push(format!("splt_direction_{i}"));
            v.push(format!("splt_ps_{i}"));
            v.push(format!("splt_piat_ms_{i}"));
        }
        v
    }
}

/// Whether a registry column is a behavioural numeric feature.
fn is_feature_column(c: &Column) -> bool {
    matches!(c.ty, ColumnType::U64 | ColumnType::I64 | ColumnType::F64)
        && !EXCLUDED.contains(&c.name)
        && !c.name.ends_with("_seen_ms")
        && !c.name.ends_with("_seen_us")
        && !c.name.ends_with("first_seen")
        && !c.name.ends_with("last_seen")
}

fn splt(f: &Flow) -> Option<&netlens_flow::flow::Splt> {
    f.stats.as_deref().map(|s| s.splt())
}

fn reg(name: &str) -> Option<&'static Column> {
    Selection::parse(name).ok()?.columns().next()
}

/// One host-context row: the values of [`CONTEXT_FEATURES`] for a flow.
pub type ContextRow = [f64; CONTEXT_FEATURES.len()];

/// Decayed counts of one key.
#[derive(Debug, Default, Clone, Copy)]
struct Decayed {
    all: f64,
    oneway: f64,
    /// Time of the latest flow counted (ns); meaningless while `all == 0`.
    t: i64,
}

/// exp(−Δt / τ) for a gap `dt` in ns (saturated, so hostile timestamps
/// only make the factor 0 or 1).
fn decay(dt: i64) -> f64 {
    (-(dt.max(0) as f64) / (CONTEXT_TAU_S * 1e9)).exp()
}

impl Decayed {
    /// Add one flow ending at `t` (ns). Flows arrive roughly in end order;
    /// one older than the key's clock is added already decayed.
    fn add(&mut self, t: i64, oneway: bool) {
        let w = f64::from(u8::from(oneway));
        if self.all == 0.0 || t >= self.t {
            let k = if self.all == 0.0 {
                0.0
            } else {
                decay(t.saturating_sub(self.t))
            };
            self.all = self.all * k + 1.0;
            self.oneway = self.oneway * k + w;
            self.t = t;
        } else {
            let k = decay(self.t.saturating_sub(t));
            self.all += k;
            self.oneway += w * k;
        }
    }

    /// The count decayed to `now`.
    fn at(&self, now: i64) -> f64 {
        self.all * decay(now.saturating_sub(self.t))
    }

    /// The count of flows with a reply, decayed to `now`.
    fn two_way_at(&self, now: i64) -> f64 {
        (self.all - self.oneway).max(0.0) * decay(now.saturating_sub(self.t))
    }
}

/// What [`bump`] would return for `key`, without changing `map`.
fn peek<K: std::hash::Hash + Eq>(
    map: &HashMap<K, Decayed>,
    key: &K,
    t: i64,
    oneway: bool,
) -> Decayed {
    let mut d = map.get(key).copied().unwrap_or_default();
    d.add(t, oneway);
    d
}

/// Update `key` in `map`, dropping stale keys when the map is full.
fn bump<K: std::hash::Hash + Eq>(
    map: &mut HashMap<K, Decayed>,
    key: K,
    t: i64,
    oneway: bool,
) -> Decayed {
    if map.len() >= CONTEXT_MAX_HOSTS && !map.contains_key(&key) {
        map.retain(|_, d| d.at(t) >= 0.01);
        if map.len() >= CONTEXT_MAX_HOSTS * 3 / 4 {
            // Still full of live keys (a flood from spoofed sources): start over
            // rather than grow without bound.
            map.clear();
        }
    }
    let d = map.entry(key).or_default();
    d.add(t, oneway);
    *d
}

/// Host-context state of one flow stream (see the module docs).
#[derive(Debug, Default)]
pub struct HostContext {
    dst: HashMap<[u8; 16], Decayed>,
    src: HashMap<[u8; 16], Decayed>,
    pair: HashMap<([u8; 16], [u8; 16]), Decayed>,
}

impl HostContext {
    /// Record a flow (in meter output order) and return its context row,
    /// counting the flow itself.
    pub fn observe(&mut self, f: &Flow) -> ContextRow {
        let oneway = f.bwd.packets == 0;
        let t = f.last_ns;
        let related = self
            .pair
            .get(&(f.dst.addr, f.src.addr))
            .map_or(0.0, |r| r.two_way_at(t));
        let (d, s, p) = if related >= CONTEXT_RELATED_MIN {
            // Part of a conversation the destination started: counted in its
            // own row, not remembered (see the module docs).
            (
                peek(&self.dst, &f.dst.addr, t, oneway),
                peek(&self.src, &f.src.addr, t, oneway),
                peek(&self.pair, &(f.src.addr, f.dst.addr), t, oneway),
            )
        } else {
            (
                bump(&mut self.dst, f.dst.addr, t, oneway),
                bump(&mut self.src, f.src.addr, t, oneway),
                bump(&mut self.pair, (f.src.addr, f.dst.addr), t, oneway),
            )
        };
        let share = |x: Decayed| if x.all > 0.0 { x.oneway / x.all } else { 0.0 };
        [
            d.all,
            d.oneway,
            share(d),
            s.all,
            s.oneway,
            share(s),
            p.all,
            related,
        ]
    }

    /// Keys tracked (destination, source and pair maps together).
    pub fn len(&self) -> usize {
        self.dst.len() + self.src.len() + self.pair.len()
    }

    /// Whether nothing has been observed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where one model input comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// A registry column.
    Registry(&'static Column),
    /// A host-context feature (index into [`ContextRow`]).
    Context(usize),
    /// A column the model never reads (filled with its NaN replacement).
    Unread,
}

/// One numeric model input: its source and the preprocessing it gets.
#[derive(Debug, Clone, Copy)]
struct DirectInput {
    source: Source,
    nan: f64,
    pos_inf: f64,
    neg_inf: f64,
    shift: f64,
    scale: f64,
    /// `shift` is +0.0 and `scale` 1.0 (no scaling, the tree models'
    /// default): `(x - 0.0) / 1.0` is `x` bit for bit (−0.0 included), so
    /// the subtraction and the division are skipped.
    identity: bool,
}

impl DirectInput {
    /// The preprocessing of `Transform::Numeric` (same result bit for bit).
    #[inline]
    fn apply(&self, x: f64) -> f64 {
        if self.identity {
            numeric_value(x, self.nan, self.pos_inf, self.neg_inf, 0.0, 1.0)
        } else {
            numeric_value(
                x,
                self.nan,
                self.pos_inf,
                self.neg_inf,
                self.shift,
                self.scale,
            )
        }
    }
}

/// A model's preprocessed input matrix computed straight from flows, one
/// input column at a time, without the feature table in between (on a
/// flood the table of a batch is megabytes written once and read once).
/// Only for a full-flow set and a preprocessing of numeric columns alone;
/// gives the matrix `pipeline.transform(refs_to_table_with(..))` gives,
/// except that inputs the model never reads hold their NaN replacement.
#[derive(Debug, Clone)]
pub struct DirectFeatures {
    inputs: Vec<DirectInput>,
    top: Vec<Source>,
}

impl DirectFeatures {
    /// The plan for `pipeline` over the features of `set`; `unread`
    /// (sorted) are columns the model never reads, `top` the columns whose
    /// raw values alerts list. `None` when the matrix cannot be built this
    /// way (early set, a non-numeric plan, a column the set lacks).
    pub fn new(
        set: FeatureSet,
        pipeline: &netlens_ml::preprocess::Pipeline,
        unread: &[String],
        top: &[String],
    ) -> Option<DirectFeatures> {
        use netlens_ml::preprocess::Transform;
        if set.early > 0 || pipeline.keep.len() != pipeline.feature_names.len() {
            return None;
        }
        let registry = set.registry_columns();
        let source = |name: &str| -> Option<Source> {
            if let Some(c) = registry.iter().find(|c| c.name == name) {
                return Some(Source::Registry(c));
            }
            CONTEXT_FEATURES
                .iter()
                .position(|c| set.context && *c == name)
                .map(Source::Context)
        };
        let used: Vec<_> = pipeline
            .plans
            .iter()
            .filter(|p| !matches!(p.transform, Transform::Dropped(_)))
            .collect();
        let mut inputs = Vec::with_capacity(pipeline.keep.len());
        for &e in &pipeline.keep {
            let plan = used.get(e)?;
            let Transform::Numeric {
                nan,
                pos_inf,
                neg_inf,
                shift,
                scale,
            } = plan.transform
            else {
                return None;
            };
            let src = source(&plan.column)?;
            let src = if unread
                .binary_search_by(|u| u.as_str().cmp(&plan.column))
                .is_ok()
            {
                Source::Unread
            } else {
                src
            };
            inputs.push(DirectInput {
                source: src,
                nan,
                pos_inf,
                neg_inf,
                shift,
                scale,
                identity: shift.to_bits() == 0 && scale == 1.0,
            });
        }
        // Plans whose feature is not kept still need their column in the set.
        if used.iter().any(|p| source(&p.column).is_none()) {
            return None;
        }
        let top = top.iter().map(|t| source(t)).collect::<Option<Vec<_>>>()?;
        Some(DirectFeatures { inputs, top })
    }

    /// Fill `out` with the input matrix of `flows` (`context`: their
    /// host-context rows when the set has host context) and `top_raw` with
    /// the raw values of the top features, one column each.
    pub fn fill(
        &self,
        flows: &[&Flow],
        context: &[ContextRow],
        out: &mut Matrix,
        top_raw: &mut Vec<Vec<f64>>,
    ) {
        let n = flows.len();
        out.n_rows = n;
        out.n_cols = self.inputs.len();
        out.data.clear();
        out.data.reserve(n.saturating_mul(self.inputs.len()));
        let ctx = |i: usize| {
            context
                .iter()
                .map(move |r| r.get(i).copied().unwrap_or(0.0))
                .chain(std::iter::repeat(0.0))
                .take(n)
        };
        let mut vals = Vec::with_capacity(n);
        for input in &self.inputs {
            match input.source {
                Source::Registry(c) => {
                    // One reader call per column, not per cell, straight to
                    // numbers (no `Value` stored per cell).
                    c.f64s_of_refs(flows, &mut vals);
                    let start = out.data.len();
                    out.data
                        .extend(vals.iter().take(n).map(|&x| input.apply(x)));
                    out.data.resize(start + n, input.apply(f64::NAN));
                }
                Source::Context(i) => out.data.extend(ctx(i).map(|x| input.apply(x))),
                Source::Unread => {
                    let v = input.apply(f64::NAN);
                    out.data.extend(std::iter::repeat_n(v, n));
                }
            }
        }
        top_raw.resize_with(self.top.len(), Vec::new);
        for (src, col) in self.top.iter().zip(top_raw.iter_mut()) {
            col.clear();
            match *src {
                Source::Registry(c) => {
                    c.f64s_of_refs(flows, &mut vals);
                    col.extend(vals.iter().take(n).copied());
                }
                Source::Context(i) => col.extend(ctx(i)),
                Source::Unread => {}
            }
            col.resize(n, f64::NAN);
        }
    }
}

/// Build the feature table of `flows` (plus the [`ID_COLUMNS`]).
pub fn flows_to_table(flows: &[Flow], set: FeatureSet) -> Table {
    let refs: Vec<&Flow> = flows.iter().collect();
    refs_to_table(&refs, set)
}

/// [`flows_to_table`] over borrowed flows (a selection of a batch). With
/// host context, the counts see only these flows; a stream should use
/// [`refs_to_table_with`] and one [`HostContext`].
pub fn refs_to_table(flows: &[&Flow], set: FeatureSet) -> Table {
    refs_to_table_with(flows, set, None)
}

/// [`refs_to_table`] with the host-context rows of `flows` (from
/// [`HostContext::observe`], one per flow); `None` computes them over
/// `flows` alone. Ignored when the set has no host context.
pub fn refs_to_table_with(
    flows: &[&Flow],
    set: FeatureSet,
    context: Option<&[ContextRow]>,
) -> Table {
    let mut t = Table::default();
    fill_table(flows, set, context, true, &[], &mut t);
    t
}

/// Set column `i` of `t` (columns are filled in order, so `i` is at most
/// the column count) to the numeric column `name` with `values`, reusing
/// the buffer (and name) a previous batch left there.
fn set_num(t: &mut Table, i: usize, name: &str, values: impl Iterator<Item = f64>) {
    let old = t
        .columns
        .get_mut(i)
        .map(|c| std::mem::replace(&mut c.data, ColumnData::Num(Vec::new())));
    let mut v = match old {
        Some(ColumnData::Num(v)) => v,
        _ => Vec::new(),
    };
    v.clear();
    v.extend(values);
    match t.columns.get_mut(i) {
        Some(c) => {
            if c.name != name {
                c.name = name.to_string();
            }
            c.data = ColumnData::Num(v);
        }
        None => t.columns.push(TColumn {
            name: name.to_string(),
            data: ColumnData::Num(v),
        }),
    }
}

/// Fill `table` with the feature table of `flows` (see
/// [`refs_to_table_with`]), reusing the columns a previous call left in it
/// when they have the same names, so a stream classified batch after batch
/// does not allocate (nor fault in fresh pages) per batch. `ids`: append
/// the [`ID_COLUMNS`] too; detection leaves them out (a model never reads
/// them, and the address text columns cost a string per flow). `unread`
/// (sorted): registry columns the caller's model never reads, filled with
/// NaN instead of being computed (the table keeps its layout).
pub fn fill_table(
    flows: &[&Flow],
    set: FeatureSet,
    context: Option<&[ContextRow]>,
    ids: bool,
    unread: &[String],
    table: &mut Table,
) {
    let n = flows.len();
    let mut k = 0usize;
    if set.early == 0 {
        let mut vals = Vec::with_capacity(n);
        for c in set.registry_columns() {
            if unread.binary_search_by(|u| u.as_str().cmp(c.name)).is_ok() {
                set_num(table, k, c.name, std::iter::repeat_n(f64::NAN, n));
                k += 1;
                continue;
            }
            // One reader call per column, not per cell, straight to numbers
            // (see `Column::f64s_of_refs`).
            c.f64s_of_refs(flows, &mut vals);
            set_num(table, k, c.name, vals.iter().copied());
            k += 1;
        }
        if set.context {
            let local: Vec<ContextRow>;
            let rows = match context {
                Some(r) if r.len() == n => r,
                _ => {
                    let mut hc = HostContext::default();
                    local = flows.iter().map(|f| hc.observe(f)).collect();
                    &local
                }
            };
            for (i, name) in CONTEXT_FEATURES.iter().enumerate() {
                set_num(
                    table,
                    k,
                    name,
                    rows.iter().map(|r| r.get(i).copied().unwrap_or(0.0)),
                );
                k += 1;
            }
        }
    } else {
        let e = usize::from(set.early);
        set_num(
            table,
            k,
            "protocol",
            flows.iter().map(|f| f64::from(f.protocol)),
        );
        set_num(
            table,
            k + 1,
            "dst_port",
            flows.iter().map(|f| f64::from(f.dst.port)),
        );
        set_num(
            table,
            k + 2,
            "ip_version",
            flows.iter().map(|f| f64::from(f.ip_version)),
        );
        set_num(
            table,
            k + 3,
            "early_packets",
            flows
                .iter()
                .map(|f| splt(f).map_or(0.0, |s| s.ps.len().min(e) as f64)),
        );
        k += 4;
        let mut name = String::new();
        for i in 0..e {
            let get = |f: &Flow, which: u8| -> f64 {
                let Some(s) = splt(f) else { return -1.0 };
                let v = match which {
                    0 => s.direction.get(i).map(|d| f64::from(*d)),
                    1 => s.ps.get(i).map(|p| f64::from(*p)),
                    _ => s.piat_ms.get(i).copied(),
                };
                v.unwrap_or(-1.0)
            };
            for (which, part) in [(0u8, "direction"), (1, "ps"), (2, "piat_ms")] {
                use std::fmt::Write as _;
                name.clear();
                let _ = write!(name, "splt_{part}_{i}");
                set_num(table, k, &name, flows.iter().map(|f| get(f, which)));
                k += 1;
            }
        }
    }
    if ids {
        // Identity columns, for labelling and alerts (not features).
        for name in ID_COLUMNS {
            if table.columns.iter().take(k).any(|c| c.name == name) {
                continue;
            }
            let Some(c) = reg(name) else { continue };
            let data = match c.ty {
                ColumnType::Str => ColumnData::Str(
                    flows
                        .iter()
                        .map(|f| match c.value(f) {
                            Value::Ip(ip) => ip.to_string(),
                            Value::Str(s) => s.to_string(),
                            _ => String::new(),
                        })
                        .collect(),
                ),
                _ => ColumnData::Num(flows.iter().map(|f| c.value(f).as_f64()).collect()),
            };
            let col = TColumn {
                name: name.to_string(),
                data,
            };
            match table.columns.get_mut(k) {
                Some(slot) => *slot = col,
                None => table.columns.push(col),
            }
            k += 1;
        }
    }
    table.columns.truncate(k);
    table.n_rows = n;
    table.skipped_rows = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_set_excludes_identifiers_and_times() {
        let names = FeatureSet::full().feature_names();
        assert!(names.len() > 50, "{}", names.len());
        for bad in [
            "id",
            "src_port",
            "src_ip",
            "dst_ip",
            "bidirectional_first_seen_ms",
            "cic_flow_id",
        ] {
            assert!(!names.iter().any(|n| n == bad), "{bad} is a feature");
        }
        assert!(names.iter().any(|n| n == "dst_port"));
        assert!(names.iter().any(|n| n == "bidirectional_packets"));
    }

    #[test]
    fn early_set_names_and_empty_table() {
        let set = FeatureSet::early(3);
        let names = set.feature_names();
        assert_eq!(names.len(), 4 + 9);
        let t = flows_to_table(&[], set);
        assert_eq!(t.n_rows, 0);
        for n in &names {
            assert!(t.index_of(n).is_some(), "{n}");
        }
        for n in ID_COLUMNS {
            assert!(t.index_of(n).is_some(), "{n}");
        }
        assert!(set.meter_config().splt == 3);
    }

    #[test]
    fn host_context_counts_floods_and_decays() {
        let mut f = Flow {
            id: 0,
            first_packet_index: 0,
            src: netlens_flow::key::Endpoint {
                addr: [1; 16],
                port: 1000,
            },
            dst: netlens_flow::key::Endpoint {
                addr: [2; 16],
                port: 80,
            },
            protocol: 6,
            ip_version: 6,
            vlan_id: 0,
            tunnel: Default::default(),
            tunnel_id: 0,
            src_mac: [0; 6],
            dst_mac: [0; 6],
            first_ns: 0,
            last_ns: 0,
            fwd: Default::default(),
            bwd: Default::default(),
            end_reason: netlens_flow::EndReason::Idle,
            tcp: Default::default(),
            icmp_type_code: (0, 0),
            stats: None,
            cic: None,
            app: None,
        };
        let mut hc = HostContext::default();
        // Ten one-way flows into one address from ten sources within a millisecond.
        let mut last = ContextRow::default();
        for i in 0..10u8 {
            f.src.addr = [i; 16];
            f.last_ns = i64::from(i) * 100_000;
            last = hc.observe(&f);
        }
        assert!((last[0] - 10.0).abs() < 0.01, "{last:?}");
        assert!((last[1] - 10.0).abs() < 0.01);
        assert!((last[2] - 1.0).abs() < 1e-3);
        assert!((last[3] - 1.0).abs() < 1e-9, "each source sent one flow");
        // A flow with a reply, a minute later: the flood has decayed away.
        f.bwd.packets = 1;
        f.last_ns = 60_000_000_000;
        let r = hc.observe(&f);
        assert!(r[0] < 1.1 && r[0] >= 1.0, "{r:?}");
        assert!(r[1] < 0.1);
        // An out-of-order (older) flow is added decayed, never negative.
        f.last_ns = 0;
        let r = hc.observe(&f);
        assert!(r[0] > 1.0 && r[0].is_finite());
        assert_eq!(
            hc.len(),
            1 + 10 + 10,
            "one destination, ten sources, ten pairs"
        );
        // A peer-to-peer exchange: A ([7]) holds a two-way flow with B ([8]),
        // then B sends A twenty bare one-packet flows (RSTs after the close):
        // related, so they neither pile up on A nor on B, and say so.
        let mut hc = HostContext::default();
        f.src.addr = [7; 16];
        f.dst.addr = [8; 16];
        f.bwd.packets = 3;
        f.last_ns = 1_000_000_000;
        let r = hc.observe(&f);
        assert!(r[7] == 0.0, "nothing related yet: {r:?}");
        f.src.addr = [8; 16];
        f.dst.addr = [7; 16];
        f.bwd.packets = 0;
        for i in 0..20 {
            f.last_ns = 1_000_000_000 + i * 1000;
            let r = hc.observe(&f);
            assert!(r[0] < 1.01 && r[1] < 1.01 && r[6] < 1.01, "{r:?}");
            assert!(r[7] > 0.99, "{r:?}");
        }
        // A one-way flood into A from C ([9]) still counts up.
        f.src.addr = [9; 16];
        for i in 0..20 {
            f.last_ns = 1_000_100_000 + i * 1000;
            last = hc.observe(&f);
        }
        assert!(last[0] > 19.9 && last[7] == 0.0, "{last:?}");
        // A minute later B's flows into A are no longer related.
        f.src.addr = [8; 16];
        f.last_ns = 61_000_000_000;
        let r = hc.observe(&f);
        assert!(r[7] < CONTEXT_RELATED_MIN, "{r:?}");
        assert_eq!(
            hc.len(),
            2 + 3 + 3,
            "dst [8],[7]; src [7],[9],[8]; three pairs"
        );
        // The set names them; the early set never has them.
        let names = FeatureSet::full().with_context(true).feature_names();
        assert!(
            CONTEXT_FEATURES
                .iter()
                .all(|c| names.iter().any(|n| n == c))
        );
        assert!(!FeatureSet::early(4).with_context(true).context);
        // A table without given rows computes them over its own flows.
        let t = refs_to_table(&[&f, &f], FeatureSet::full().with_context(true));
        match &t.column("ctx_pair_flows").unwrap().data {
            ColumnData::Num(v) => assert_eq!(v, &vec![1.0, 2.0]),
            ColumnData::Str(_) => panic!("text column"),
        }
    }
}
