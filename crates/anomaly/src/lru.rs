//! A hash map with a hard capacity and approximate least-recently-used
//! eviction.
//!
//! Invariant: `len() <= cap` after every call. When an insert would exceed
//! the capacity, the least recently used half of the entries is dropped in
//! one pass (a selection on last-use stamps), so eviction costs O(1)
//! amortised per insert instead of the bookkeeping of an exact LRU list.

use std::hash::Hash;

use hashbrown::HashMap;

/// Capped map from keys to values with last-use stamps.
#[derive(Clone, Debug)]
pub struct CappedMap<K, V> {
    map: HashMap<K, (u64, V)>,
    cap: usize,
    clock: u64,
    evicted: u64,
    scratch: Vec<u64>,
}

impl<K: Hash + Eq + Clone, V> CappedMap<K, V> {
    /// A map holding at most `cap` (≥ 2) entries.
    pub fn new(cap: usize) -> Self {
        CappedMap {
            map: HashMap::new(),
            cap: cap.max(2),
            clock: 0,
            evicted: 0,
            scratch: Vec::new(),
        }
    }

    /// The value of `k`, created with `make` when absent, and whether it
    /// was created; marks it used.
    pub fn get_or_insert_with(&mut self, k: &K, make: impl FnOnce() -> V) -> (&mut V, bool) {
        self.clock += 1;
        let now = self.clock;
        // Only a full map needs the extra lookup.
        if self.map.len() >= self.cap && !self.map.contains_key(k) {
            self.evict_half();
        }
        let mut new = false;
        let e = self.map.entry(k.clone()).or_insert_with(|| {
            new = true;
            (now, make())
        });
        e.0 = now;
        (&mut e.1, new)
    }

    /// Drop every entry (the eviction count is kept).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// The value of `k` if present (does not mark it used).
    #[cfg(test)]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|(_, v)| v)
    }

    fn evict_half(&mut self) {
        self.scratch.clear();
        self.scratch.extend(self.map.values().map(|(t, _)| *t));
        let mid = self.scratch.len() / 2;
        let (_, m, _) = self.scratch.select_nth_unstable(mid);
        let cutoff = *m;
        let before = self.map.len();
        self.map.retain(|_, (t, _)| *t > cutoff);
        self.evicted += (before - self.map.len()) as u64;
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Entries evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_capacity_and_keeps_recent_keys() {
        let mut m: CappedMap<u32, u32> = CappedMap::new(100);
        for i in 0..10_000u32 {
            let (v, new) = m.get_or_insert_with(&i, || 0);
            *v += 1;
            assert_eq!(new, i != 7);
            // Key 7 stays hot.
            *m.get_or_insert_with(&7, || 0).0 += 1;
            assert!(m.len() <= 100);
        }
        assert!(m.get(&7).is_some());
        assert!(m.get(&9_999).is_some());
        assert!(m.get(&10).is_none());
        assert!(m.evicted() > 9_000);
    }
}
