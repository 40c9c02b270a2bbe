//! Compact prediction form shared by the random forest and boosting: every
//! tree flattened into 16-byte nodes, scored over blocks of rows in lockstep.
//!
//! Why in-house: both the old per-row traversal of [`crate::forest::Tree`]
//! (24-byte nodes, one row through all trees, a data-dependent branch per
//! level) and forust-ml's `predict` (one rayon pass and one `Vec` per tree,
//! column-major reads) spend most of their time waiting on dependent loads.
//! Here one tree advances a whole block of rows one level at a time with a
//! branch-free step, so the loads of different rows overlap: the first
//! [`TOP`] levels by comparing whole block columns (vectorised) and a
//! lookup table, the next levels by stepping every row, and the deep tail
//! by stepping a list of the rows still descending, compacted every few
//! levels (numbers in `bench/ml/RESULTS.md`).
//!
//! Invariants: the children of an inner node sit at `next` (left) and
//! `next + 1` (right); a row goes right when `x > threshold`, or when `x` is
//! NaN and the split sends NaN right. Features are renumbered densely: one
//! block-buffer column per (feature, NaN side) some split reads, NaN kept in
//! a NaN-left column (it fails `>`) and replaced by +inf in a NaN-right one
//! (a NaN-right threshold is below +inf), so the step is one comparison; a
//! node stores its column's offset in the block buffer. A leaf points to
//! itself (`next` = own slot), with threshold +inf, so stepping from a leaf
//! is a no-op; node `i`'s outputs are `outs[i * width..][..width]`. All
//! indices are checked when a tree is added, so scoring never indexes out
//! of range (the two unchecked reads in [`step`] and [`is_leaf`] rely on
//! this). Per row, tree outputs are summed in tree order starting from
//! `init`: the same floating-point operations as the per-row paths this
//! replaces, so results are bit-identical.

use std::sync::OnceLock;

use rayon::prelude::*;

use crate::matrix::Matrix;

/// Rows scored together: the block buffer holds `ROWS` values of every
/// column some split reads. 256 measured 2–3 % faster on the NSL-KDD
/// forest and equal on boosting and `netlens detect`; 128 keeps the buffer
/// per thread half as big.
const ROWS: usize = 128;
/// Inputs of at most this many blocks are scored on the calling thread: a
/// streaming detector predicts a few hundred rows at a time, and handing
/// them to rayon's workers cost more CPU time (wake-ups, the idle worker's
/// spinning) than the second core saved (measured on `netlens detect`,
/// 512-row calls: `sched_yield` calls 5.8 k → 13.5 k per 1 M packets).
const SEQUENTIAL_BLOCKS: usize = 4;
/// Trees no deeper than this step every row in order, without the list of
/// rows still descending (a depth-6 booster tree in one pass).
const SHALLOW: u32 = 6;
/// Levels stepped before the first compaction of the list of rows still
/// descending, and between later ones. On the NSL-KDD forest (mean path
/// 9.9, trees ≈ 21 deep) 10 then 4 measured 7 % faster than every 6
/// levels (9–11 then 4–5 within 1 %); every 2–8 levels from the start was
/// at best equal to every 6.
const FIRST_LEVELS: u32 = 10;
/// See [`FIRST_LEVELS`].
const LEVELS: u32 = 4;

/// One node. `key` is the offset of its column in the block buffer (dense
/// column index × [`ROWS`]).
#[derive(Debug, Clone, Copy)]
struct FlatNode {
    threshold: f64,
    key: u32,
    next: u32,
}

/// An inner node of a source tree, as given to [`FlatTrees::push_tree`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum SrcNode {
    /// Split: right when `x > threshold` (or NaN with `nan_right`).
    Split {
        feature: usize,
        threshold: f64,
        nan_right: bool,
        left: usize,
        right: usize,
    },
    /// Leaf whose outputs start at `values[value]` (`width` of them).
    Leaf { value: usize },
}

/// Flattened trees with `width` outputs per leaf.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatTrees {
    n_features: usize,
    width: usize,
    /// (input column, NaN goes right) of each dense column index: the
    /// columns of the block buffer.
    used: Vec<(u32, bool)>,
    /// Dense index + 1 of each input column (0 = not read by any split).
    /// Per NaN side (left, right).
    dense: Vec<[u32; 2]>,
    nodes: Vec<FlatNode>,
    /// Outputs of node `i` at `outs[i * width..(i + 1) * width]` (zeros
    /// for inner nodes): one load per row and tree, no offset table.
    outs: Vec<f32>,
    /// (root node, depth, levels before the first compaction) of each tree.
    trees: Vec<(u32, u32, u32)>,
    /// Top levels of each tree of depth ≥ [`TOP`] (None otherwise).
    tops: Vec<Option<Box<Top>>>,
}

/// Levels of a tree resolved at once per block by [`Top`].
const TOP: u32 = 3;
/// Heap positions in the top [`TOP`] levels.
const TOP_NODES: usize = (1 << TOP) - 1;

/// The first [`TOP`] levels of a tree, resolved for a whole block column by
/// column: every row compares its value with the threshold of every node at
/// heap position `p` (bit `p` of the row's mask), and `table[mask]` is the
/// node the row reaches after `TOP` levels (or the leaf it stops at). The
/// comparisons run over contiguous columns (vectorised), where stepping
/// would be one dependent load chain per row and level.
#[derive(Debug, Clone)]
struct Top {
    /// Column offset of the node at each heap position (0 when the
    /// position lies below a leaf; its threshold is then +inf).
    key: [u32; TOP_NODES],
    threshold: [f64; TOP_NODES],
    table: [u32; 1 << TOP_NODES],
}

/// Per-block buffers, reused across the blocks one thread scores.
#[derive(Default)]
struct Scratch {
    /// Column-major block: value of dense feature `j` for row `k` at
    /// `j * ROWS + k`; always `used.len().max(1) * ROWS` long.
    cols: Vec<f64>,
    /// Current node of each row of the block (`ROWS` long); its leaf once
    /// the tree is done.
    at: Vec<u32>,
    /// Rows still descending: current node and row number.
    idx: Vec<u32>,
    rno: Vec<u32>,
}

impl FlatTrees {
    /// An empty set of trees over `n_features` inputs with `width` outputs.
    pub(crate) fn new(n_features: usize, width: usize) -> Self {
        FlatTrees {
            n_features,
            width: width.max(1),
            dense: vec![[0; 2]; n_features],
            ..Default::default()
        }
    }

    /// Appends a leaf placeholder node (self-loop, +inf threshold, zero outputs).
    fn push_placeholder(&mut self) {
        let s = self.nodes.len() as u32;
        self.nodes.push(FlatNode {
            threshold: f64::INFINITY,
            key: 0,
            next: s,
        });
        self.outs.extend(std::iter::repeat_n(0.0, self.width));
    }

    /// Adds one tree: `node(i)` describes source node `i` (0 is the root),
    /// `values` are its leaf outputs. Returns None when the source is not a
    /// well-formed tree (bad index, shared node, cycle, NaN threshold) or
    /// has a NaN-right split at +inf (neither source model makes one).
    pub(crate) fn push_tree(
        &mut self,
        n_src: usize,
        node: impl Fn(usize) -> Option<SrcNode>,
        values: &[f32],
    ) -> Option<()> {
        if n_src == 0 || self.nodes.len() + n_src > u32::MAX as usize / 2 {
            return None;
        }
        // On failure the set is left as it was (the caller drops it anyway).
        let root = self.nodes.len();
        // Breadth-first: (source node, flat slot, depth).
        let mut queue = std::collections::VecDeque::new();
        queue.push_back((0usize, root, 0u32));
        self.push_placeholder();
        let mut emitted = 1usize;
        let mut depth = 0u32;
        let (mut leaves, mut leaf_depths) = (0u64, 0u64);
        let w = self.width;
        while let Some((src, slot, d)) = queue.pop_front() {
            depth = depth.max(d);
            match node(src)? {
                SrcNode::Leaf { value } => {
                    leaves += 1;
                    leaf_depths += u64::from(d);
                    // Already a self-loop with +inf threshold.
                    let v = values.get(value..value.checked_add(w)?)?;
                    self.outs
                        .get_mut(slot * w..(slot + 1) * w)?
                        .copy_from_slice(v);
                }
                SrcNode::Split {
                    feature,
                    threshold,
                    nan_right,
                    left,
                    right,
                } => {
                    if feature >= self.n_features
                        || feature > u32::MAX as usize
                        || threshold.is_nan()
                        || (nan_right && threshold == f64::INFINITY)
                        || left >= n_src
                        || right >= n_src
                    {
                        return None;
                    }
                    emitted += 2;
                    // A tree has n_src - 1 child links at most; more means a
                    // shared node or a cycle.
                    if emitted > n_src {
                        return None;
                    }
                    let next = self.nodes.len();
                    self.push_placeholder();
                    self.push_placeholder();
                    let slot_of = self
                        .dense
                        .get_mut(feature)?
                        .get_mut(usize::from(nan_right))?;
                    if *slot_of == 0 {
                        // Column offsets (`dense × ROWS`) are u32.
                        if (self.used.len() + 1) * ROWS > u32::MAX as usize {
                            return None;
                        }
                        self.used.push((feature as u32, nan_right));
                        *slot_of = self.used.len() as u32;
                    }
                    *self.nodes.get_mut(slot)? = FlatNode {
                        threshold,
                        key: (*slot_of - 1) * ROWS as u32,
                        next: next as u32,
                    };
                    queue.push_back((left, next, d + 1));
                    queue.push_back((right, next + 1, d + 1));
                }
            }
        }
        // First compaction after the mean leaf depth (rounded up), at most
        // FIRST_LEVELS: a small tree's rows mostly finish well before 10
        // levels, and stepping them on leaves until then is wasted.
        let mean = leaf_depths.div_ceil(leaves.max(1));
        let first = (mean as u32).clamp(LEVELS, FIRST_LEVELS);
        self.trees.push((root as u32, depth, first));
        self.tops.push(if depth >= TOP {
            self.top(root as u32).map(Box::new)
        } else {
            None
        });
        Some(())
    }

    /// The [`Top`] of the tree rooted at `root` (None on a bad index).
    fn top(&self, root: u32) -> Option<Top> {
        let mut top = Top {
            key: [0; TOP_NODES],
            threshold: [f64::INFINITY; TOP_NODES],
            table: [0; 1 << TOP_NODES],
        };
        // Flat node at each heap position (None below a leaf).
        let mut at = [None::<u32>; TOP_NODES];
        at[0] = Some(root);
        for p in 0..TOP_NODES {
            let Some(i) = at[p] else { continue };
            let node = self.nodes.get(i as usize)?;
            if node.next == i {
                continue;
            }
            top.key[p] = node.key;
            top.threshold[p] = node.threshold;
            for c in 0..2 {
                if let Some(slot) = at.get_mut(2 * p + 1 + c) {
                    *slot = Some(node.next + c as u32);
                }
            }
        }
        for (mask, t) in top.table.iter_mut().enumerate() {
            let (mut i, mut p) = (root, 0usize);
            for _ in 0..TOP {
                let node = self.nodes.get(i as usize)?;
                if node.next == i {
                    break;
                }
                let right = (mask >> p) & 1;
                i = node.next + right as u32;
                p = 2 * p + 1 + right;
            }
            *t = i;
        }
        Some(top)
    }

    /// Sum over trees (in order, starting from `init`) of each row's leaf
    /// outputs: row-major `n_rows × width`.
    pub(crate) fn predict_sum(&self, x: &Matrix, init: f64) -> Vec<f64> {
        let w = self.width;
        let mut out = vec![init; x.n_rows * w];
        if x.n_cols != self.n_features {
            return out;
        }
        let block = |s: &mut Scratch, (chunk, o): (usize, &mut [f64])| {
            let start = chunk * ROWS;
            match self.width {
                1 => self.predict_block::<1>(s, x, start, o),
                2 => self.predict_block::<2>(s, x, start, o),
                _ => self.predict_block::<0>(s, x, start, o),
            }
        };
        if x.n_rows <= ROWS * SEQUENTIAL_BLOCKS {
            let mut s = Scratch::default();
            out.chunks_mut(ROWS * w)
                .enumerate()
                .for_each(|c| block(&mut s, c));
        } else {
            out.par_chunks_mut(ROWS * w)
                .enumerate()
                .for_each_init(Scratch::default, block);
        }
        out
    }

    /// Scores rows `start..start + out.len() / width` (at most [`ROWS`])
    /// into `out`. `W`: the width when known at compile time (1: boosting,
    /// 2: binary forest), 0 otherwise.
    fn predict_block<const W: usize>(
        &self,
        s: &mut Scratch,
        x: &Matrix,
        start: usize,
        out: &mut [f64],
    ) {
        let w = if W > 0 { W } else { self.width };
        let n = (out.len() / w).min(ROWS);
        let q = self.used.len().max(1);
        // Column-major copy of the block, only the features some split
        // reads: one contiguous copy per feature, and the rows of a block
        // read the same few features near the root, so those values share
        // cache lines. Rows past `n` are NaN (never stepped).
        s.cols.resize(q * ROWS, f64::NAN);
        for (&(c, nan_right), dst) in self.used.iter().zip(s.cols.chunks_exact_mut(ROWS)) {
            let (head, tail) = dst.split_at_mut(n);
            match x.col(c as usize).get(start..start + n) {
                Some(src) => head.copy_from_slice(src),
                None => head.fill(f64::NAN),
            }
            if nan_right {
                // Every threshold of such a split is below +inf (`push_tree`).
                for v in head.iter_mut() {
                    if v.is_nan() {
                        *v = f64::INFINITY;
                    }
                }
            }
            tail.fill(f64::NAN);
        }
        let cols: &[f64] = &s.cols;
        let nodes: &[FlatNode] = &self.nodes;
        s.at.resize(ROWS, 0);
        let at = &mut s.at[..n];
        let (idx, rno) = (&mut s.idx, &mut s.rno);
        let mut mask = [0u64; ROWS];
        for (&(root, depth, first), top) in self.trees.iter().zip(&self.tops) {
            // Levels already done for every row: the first `TOP` through
            // the tree's table (see [`Top`]), else none.
            let mut done = 0;
            if let Some(top) = top {
                mask.fill(0);
                for (p, (&key, &t)) in top.key.iter().zip(&top.threshold).enumerate() {
                    if let Some(col) = cols
                        .get(key as usize..)
                        .and_then(|c| c.first_chunk::<ROWS>())
                    {
                        for (m, &v) in mask.iter_mut().zip(col) {
                            *m |= u64::from(v > t) << p;
                        }
                    }
                }
                for (a, &m) in at.iter_mut().zip(&mask) {
                    *a = top.table[m as usize & ((1 << TOP_NODES) - 1)];
                }
                done = TOP;
            } else {
                at.iter_mut().for_each(|l| *l = root);
            }
            // Every inner step moves to a later slot, so `depth` levels
            // reach every leaf. A shallow tree (boosting) steps every row,
            // in order, with no list; a deep one steps every row for the
            // first levels (most rows finish there), then only the rows
            // still descending, listed and compacted every few levels.
            // Stepping a row that sits on a leaf is a no-op, so the list is
            // compacted in a separate pass: compacting inside the step loop
            // made every step wait for the previous one (measured 25 %
            // slower than no compaction at all), while stepping every row
            // until the deepest one is done did twice the steps needed (19
            // per row and tree on NSL-KDD against a mean path of 9.4).
            let levels = if depth <= SHALLOW {
                depth
            } else {
                first.min(depth)
            };
            for _ in done.min(levels)..levels {
                for (k, i) in at.iter_mut().enumerate() {
                    *i = step(nodes, cols, *i, k);
                }
            }
            let mut left = depth - levels;
            // Rows not on a leaf (node and row number); branch-free, since
            // whether a row is done is a coin flip for the branch predictor.
            idx.clear();
            rno.clear();
            if left > 0 {
                idx.resize(n, 0);
                rno.resize(n, 0);
                let mut m = 0usize;
                let (id, rn) = (&mut idx[..n], &mut rno[..n]);
                for (k, &i) in at.iter().enumerate() {
                    if let (Some(d), Some(r)) = (id.get_mut(m), rn.get_mut(m)) {
                        (*d, *r) = (i, k as u32);
                    }
                    m += usize::from(!is_leaf(nodes, i));
                }
                idx.truncate(m);
                rno.truncate(m);
            }
            while left > 0 && !idx.is_empty() {
                let levels = LEVELS.min(left);
                for _ in 0..levels {
                    for (i, &k) in idx.iter_mut().zip(rno.iter()) {
                        *i = step(nodes, cols, *i, k as usize);
                    }
                }
                left -= levels;
                if left == 0 {
                    // Every listed row is on its leaf now.
                    for (&i, &k) in idx.iter().zip(rno.iter()) {
                        if let Some(a) = at.get_mut(k as usize) {
                            *a = i;
                        }
                    }
                    break;
                }
                // Record every listed row's node (final for the rows on a
                // leaf) and keep the rows not on a leaf, in place: the
                // write position never passes the read position.
                let mut m = 0usize;
                let len = idx.len().min(rno.len());
                let (id, rn) = (&mut idx[..len], &mut rno[..len]);
                for j in 0..len {
                    let (i, k) = (id[j], rn[j]);
                    if let Some(a) = at.get_mut(k as usize) {
                        *a = i;
                    }
                    if let (Some(d), Some(r)) = (id.get_mut(m), rn.get_mut(m)) {
                        (*d, *r) = (i, k);
                    }
                    m += usize::from(!is_leaf(nodes, i));
                }
                idx.truncate(m);
                rno.truncate(m);
            }
            if W > 0 {
                // Width known at compile time: no loop, one range check.
                let (outs, _) = self.outs.as_chunks::<W>();
                let (acc, _) = out.as_chunks_mut::<W>();
                for (acc, &i) in acc.iter_mut().zip(at.iter()) {
                    if let Some(vals) = outs.get(i as usize) {
                        add_outputs(acc, vals);
                    }
                }
            } else {
                for (acc, &i) in out.chunks_exact_mut(w).zip(at.iter()) {
                    let off = i as usize * w;
                    if let Some(vals) = self.outs.get(off..off + w) {
                        for (a, v) in acc.iter_mut().zip(vals) {
                            *a += *v as f64;
                        }
                    }
                }
            }
        }
    }
}

/// `acc[j] += vals[j] as f64` for every `j`.
#[inline(always)]
fn add_outputs<const W: usize>(acc: &mut [f64; W], vals: &[f32; W]) {
    if let (Some(acc), Some(vals)) = (
        (acc as &mut [f64]).first_chunk_mut::<2>(),
        (vals as &[f32]).first_chunk::<2>(),
    ) && W == 2
    {
        // Written as whole pairs so that the compiler can convert and add
        // both with one instruction each (cvtps2pd, addpd on x86_64).
        let v = [vals[0] as f64, vals[1] as f64];
        *acc = [acc[0] + v[0], acc[1] + v[1]];
        return;
    }
    for (a, v) in acc.iter_mut().zip(vals) {
        *a += *v as f64;
    }
}

/// Whether node `i` is a leaf.
#[inline(always)]
fn is_leaf(nodes: &[FlatNode], i: u32) -> bool {
    debug_assert!((i as usize) < nodes.len());
    // SAFETY: callers pass nodes reached by `step`, which are in range
    // (see there).
    unsafe { nodes.get_unchecked(i as usize) }.next == i
}

/// The node after `i` for row `k` of the block in `cols`.
///
/// Unchecked indexing: this is the innermost operation of every prediction
/// (12 per row and tree on NSL-KDD), and the two bounds checks were a
/// third of its instructions (measured 11 % more forest rows per second
/// without them).
#[inline(always)]
fn step(nodes: &[FlatNode], cols: &[f64], i: u32, k: usize) -> u32 {
    debug_assert!((i as usize) < nodes.len());
    // SAFETY: `i` is a tree's root, an entry of its `Top::table` (nodes
    // reached from the root, built by `FlatTrees::top` with checked
    // indexing) or a value returned by this function: `next` or `next + 1`
    // of a node. `push_tree` appends both children of an inner node before
    // it stores `next`, and a leaf's `next` is its own slot, so every such
    // value is < `nodes.len()`.
    let node = unsafe { nodes.get_unchecked(i as usize) };
    debug_assert!((node.key as usize) + k < cols.len());
    // SAFETY: `key` is `dense × ROWS` with `dense < used.len()`
    // (`push_tree`), `k < ROWS` (callers step rows of one block), and
    // `cols` is `used.len().max(1) × ROWS` long (`predict_block`).
    let v = unsafe { *cols.get_unchecked(node.key as usize + k) };
    node.next + u32::from(v > node.threshold)
}

/// A lazily built prediction form kept beside a model's public fields. A
/// clone starts empty (so a cloned and then edited model never uses the
/// original's trees); it is never serialised.
pub(crate) struct Lazy<T>(OnceLock<T>);

impl<T> Lazy<T> {
    /// The value, built by `f` on first use.
    pub(crate) fn get_or_init(&self, f: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(f)
    }
}

impl<T> Default for Lazy<T> {
    fn default() -> Self {
        Lazy(OnceLock::new())
    }
}

impl<T> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        Lazy::default()
    }
}

impl<T> std::fmt::Debug for Lazy<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "built"
        } else {
            "not built"
        })
    }
}

/// NSL-KDD matrices shared by the equality tests of the forest and boosting.
#[cfg(test)]
pub(crate) mod testdata {
    use std::path::{Path, PathBuf};

    use crate::matrix::Matrix;
    use crate::table::{ColumnData, CsvOptions, Table};

    /// `../shared/data` beside the workspace, or `$NETLENS_SHARED_DATA`.
    pub(crate) fn shared_data() -> PathBuf {
        std::env::var_os("NETLENS_SHARED_DATA").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
            PathBuf::from,
        )
    }

    fn numeric(path: &Path, rows: usize) -> (Matrix, Vec<u32>) {
        let t = Table::from_csv_path(
            path,
            &CsvOptions {
                has_header: false,
                ..Default::default()
            },
        )
        .unwrap();
        let n = rows.min(t.n_rows);
        // Numeric feature columns (the label, column 41, is text; 42 is the difficulty).
        let cols: Vec<Vec<f64>> = t.columns[..41]
            .iter()
            .filter_map(|c| match &c.data {
                ColumnData::Num(v) => Some(v[..n].to_vec()),
                ColumnData::Str(_) => None,
            })
            .collect();
        let y = match &t.columns[41].data {
            ColumnData::Str(v) => v[..n].iter().map(|s| u32::from(s != "normal")).collect(),
            ColumnData::Num(_) => panic!("label column is not text"),
        };
        (Matrix::from_columns(cols, n), y)
    }

    /// `n` rows at the edges of the split rule `x > t`: each cell is one of
    /// its feature's thresholds `t`, one ulp either side of it, ±0.0, NaN,
    /// ±inf, or a value between the thresholds (seeded, so reproducible).
    pub(crate) fn edge_rows(thresholds: &[Vec<f64>], n: usize, seed: u64) -> Matrix {
        use rand::rngs::StdRng;
        use rand::seq::IndexedRandom;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(seed);
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|_| {
                thresholds
                    .iter()
                    .map(|ts| {
                        let t = ts.choose(&mut rng).copied().unwrap_or(0.0);
                        match rng.random_range(0..12) {
                            0..=2 => t,
                            3 => t.next_up(),
                            4 => t.next_down(),
                            5 => 0.0,
                            6 => -0.0,
                            7 => f64::NAN,
                            8 => f64::INFINITY,
                            9 => f64::NEG_INFINITY,
                            _ => t + rng.random_range(-1.0..1.0) * t.abs().max(1.0),
                        }
                    })
                    .collect()
            })
            .collect();
        Matrix::from_rows(&rows)
    }

    /// (train, train labels, test): the first rows of KDDTrain+_20Percent
    /// and KDDTest+, with NaN and ±inf written into some test cells.
    pub(crate) fn nsl_kdd(train_rows: usize, test_rows: usize) -> (Matrix, Vec<u32>, Matrix) {
        let dir = shared_data().join("labeled/flows/nsl-kdd");
        let (x, y) = numeric(&dir.join("KDDTrain+_20Percent.txt"), train_rows);
        let (mut xt, _) = numeric(&dir.join("KDDTest+.txt"), test_rows);
        for (i, v) in xt.data.iter_mut().enumerate() {
            match i % 97 {
                0 => *v = f64::NAN,
                1 => *v = f64::INFINITY,
                2 => *v = f64::NEG_INFINITY,
                _ => {}
            }
        }
        (x, y, xt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One split on feature 1 at 0.5 (NaN side `nan_right`), leaves 10 / 20.
    fn stump(nan_right: bool, threshold: f64) -> Option<FlatTrees> {
        let mut f = FlatTrees::new(2, 1);
        f.push_tree(
            3,
            |i| {
                Some(match i {
                    0 => SrcNode::Split {
                        feature: 1,
                        threshold,
                        nan_right,
                        left: 1,
                        right: 2,
                    },
                    1 => SrcNode::Leaf { value: 0 },
                    _ => SrcNode::Leaf { value: 1 },
                })
            },
            &[10.0, 20.0],
        )?;
        Some(f)
    }

    #[test]
    fn nan_side_follows_the_split_in_both_columns() {
        // The same feature split with NaN left and NaN right in one set:
        // two block columns, NaN kept in one and +inf in the other.
        let mut f = stump(false, 0.5).unwrap();
        let right = stump(true, 0.5).unwrap();
        let nodes = |i: usize| {
            Some(match i {
                0 => SrcNode::Split {
                    feature: 1,
                    threshold: 0.5,
                    nan_right: true,
                    left: 1,
                    right: 2,
                },
                1 => SrcNode::Leaf { value: 0 },
                _ => SrcNode::Leaf { value: 1 },
            })
        };
        f.push_tree(3, nodes, &[100.0, 200.0]).unwrap();
        assert_eq!(f.used.len(), 2);
        let rows: Vec<Vec<f64>> = [0.5, 0.5f64.next_up(), f64::NAN, f64::INFINITY, -0.0]
            .iter()
            .map(|&v| vec![7.0, v])
            .collect();
        let x = Matrix::from_rows(&rows);
        assert_eq!(
            f.predict_sum(&x, 1.0),
            vec![111.0, 221.0, 211.0, 221.0, 111.0]
        );
        assert_eq!(
            right.predict_sum(&x, 0.0),
            vec![10.0, 20.0, 20.0, 20.0, 10.0]
        );
    }

    #[test]
    fn nan_right_split_at_infinity_is_refused() {
        assert!(stump(true, f64::INFINITY).is_none());
        // NaN left at +inf: everything goes left.
        let f = stump(false, f64::INFINITY).unwrap();
        let x = Matrix::from_rows(&[vec![0.0, f64::INFINITY], vec![0.0, f64::NAN]]);
        assert_eq!(f.predict_sum(&x, 0.0), vec![10.0, 10.0]);
    }

    #[test]
    fn random_trees_match_a_plain_walk() {
        // Random shapes (leaves anywhere, also within the top levels),
        // NaN sides and edge values; every scoring path (top table,
        // stepping, lists) against walking the source nodes row by row.
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(5);
        let ts = [-1.0, 0.0, 0.5, 2.0, f64::NEG_INFINITY];
        let vals = [-1.0, -0.0, 0.0, 0.5, 0.7, 2.0, 3.0, f64::NAN, f64::INFINITY];
        let rows: Vec<Vec<f64>> = (0..700)
            .map(|_| {
                (0..4)
                    .map(|_| vals[rng.random_range(0..vals.len())])
                    .collect()
            })
            .collect();
        let x = Matrix::from_rows(&rows);
        let mut f = FlatTrees::new(4, 2);
        let mut want = vec![0.25f64; rows.len() * 2];
        for t in 0..30 {
            // Nodes in creation order: (node, children) with depth-first
            // growth up to 14 levels.
            let mut src: Vec<SrcNode> = Vec::new();
            let mut stack = vec![(0usize, 0u32)];
            src.push(SrcNode::Leaf { value: 0 });
            let mut leaves = 0usize;
            while let Some((i, d)) = stack.pop() {
                if d < 14 && rng.random_range(0..10) < if d < 2 { 8 } else { 6 } {
                    let (l, r) = (src.len(), src.len() + 1);
                    src.push(SrcNode::Leaf { value: 0 });
                    src.push(SrcNode::Leaf { value: 0 });
                    src[i] = SrcNode::Split {
                        feature: rng.random_range(0..4),
                        threshold: ts[rng.random_range(0..ts.len())],
                        nan_right: rng.random_range(0..2) == 1,
                        left: l,
                        right: r,
                    };
                    stack.push((l, d + 1));
                    stack.push((r, d + 1));
                } else {
                    src[i] = SrcNode::Leaf { value: 2 * leaves };
                    leaves += 1;
                }
            }
            let values: Vec<f32> = (0..2 * leaves)
                .map(|v| (t * 1000 + v) as f32 * 0.001)
                .collect();
            f.push_tree(src.len(), |i| src.get(i).copied(), &values)
                .unwrap();
            for (r, row) in rows.iter().enumerate() {
                let mut i = 0;
                let value = loop {
                    match src[i] {
                        SrcNode::Leaf { value } => break value,
                        SrcNode::Split {
                            feature,
                            threshold,
                            nan_right,
                            left,
                            right,
                        } => {
                            let v = row[feature];
                            i = if v > threshold || (nan_right && v.is_nan()) {
                                right
                            } else {
                                left
                            };
                        }
                    }
                };
                want[2 * r] += values[value] as f64;
                want[2 * r + 1] += values[value + 1] as f64;
            }
        }
        let got = f.predict_sum(&x, 0.25);
        assert!(
            got.iter()
                .zip(&want)
                .all(|(a, b)| a.to_bits() == b.to_bits())
        );
    }

    #[test]
    fn blocks_and_partial_blocks_score_every_row() {
        // More rows than the sequential limit (parallel path) and a
        // partial last block: every row gets its own leaf.
        let f = stump(false, 0.5).unwrap();
        let n = ROWS * SEQUENTIAL_BLOCKS * 2 + 37;
        let rows: Vec<Vec<f64>> = (0..n).map(|r| vec![0.0, (r % 2) as f64]).collect();
        let x = Matrix::from_rows(&rows);
        let want: Vec<f64> = (0..n)
            .map(|r| if r % 2 == 0 { 10.0 } else { 20.0 })
            .collect();
        assert_eq!(f.predict_sum(&x, 0.0), want);
    }
}
