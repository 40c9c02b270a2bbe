//! CPU time of the running process, for the benchmark programs. They are
//! examples of different crates plus one stand-alone program, which cannot
//! share a module except by including this file with `#[path]`; a library
//! crate for one function was not worth it.

/// CPU seconds used by this process so far (user + system, all threads), from
/// `/proc/self/stat` in 10 ms ticks (0 where unavailable): the machines these
/// run on are shared, so CPU time is the fairer measure.
pub fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}
