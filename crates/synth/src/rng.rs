//! Seeded, platform-independent randomness.
//!
//! Invariant: every value depends only on the seed and the call sequence.
//! ChaCha8 is specified bit-exactly; sampling uses integer arithmetic and
//! `libm` (pure-Rust, identical on every platform) for `ln`/`cos`, never the
//! platform's libm, so files are byte-identical across machines.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The generator's random source.
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    pub(crate) fn u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Uniform in `0..n` (0 if n == 0), by widening multiply (Lemire, without rejection:
    /// the bias is below 2^-32 for the small ranges used here).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        ((u64::from(self.0.next_u32()) * u64::from(n)) >> 32) as u32
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// Uniform in [0, 1) with 53 bits.
    pub(crate) fn f64(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Exponentially distributed with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * libm::log(1.0 - self.f64())
    }

    /// Log-normal-ish positive size around `median` (heavy right tail), clamped.
    pub(crate) fn size(&mut self, median: u32, lo: u32, hi: u32) -> u32 {
        // exp(N(0, 0.8)) approximated by the sum of uniforms (Irwin–Hall, 4 terms).
        let z = (self.f64() + self.f64() + self.f64() + self.f64() - 2.0) * 1.732;
        let v = f64::from(median) * libm::exp(0.8 * z);
        (v as u32).clamp(lo, hi)
    }

    /// Pick one element.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u32) as usize;
        &items[i.min(items.len() - 1)]
    }

    /// Fill `out` with random bytes.
    pub(crate) fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }
}
