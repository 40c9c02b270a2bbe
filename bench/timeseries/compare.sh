#!/usr/bin/env bash
# Before/after comparison of two builds of the series-overhead program
# (bench/timeseries/overhead), measured back to back: the two binaries run
# one round each in turn, ROUNDS times, so load changes hit both alike.
# Prints per binary and mode the minimum and median CPU seconds (user +
# system) and the ratio of the minimum to the same binary's `flows` minimum.
#
# Usage: bench/timeseries/compare.sh BEFORE_BIN AFTER_BIN [ROUNDS (default 3)] [INTERVAL_S (default 60)]
# Build each binary from its own checkout with
#   cargo build --release --manifest-path bench/timeseries/overhead/Cargo.toml
# and copy target/release/netlens-ts-overhead away before building the other.
set -euo pipefail
cd "$(dirname "$0")/../.."
before=$1 after=$2 rounds=${3:-3} interval=${4:-60}
big=bench/out/replay-10000000-192.pcap
[ -f "$big" ] || { echo "missing $big: run bench/flows.sh first" >&2; exit 1; }
out="${TMPDIR:-/tmp}/netlens-ts-compare.parquet"
log="${TMPDIR:-/tmp}/netlens-ts-compare.log"
: > "$log"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$rounds"); do
  for which in before after; do
    bin=$before; [ "$which" = after ] && bin=$after
    # One round per call; the program's stderr has one line per mode:
    # "round 0 MODE: ... , C CPU s, W wall s".
    # NL_BREAKDOWN (inherited when set) adds the accumulator breakdown modes.
    "$bin" "$big" "$out" 1 "$interval" 2>&1 >/dev/null \
      | sed -n "s/^round 0 \(.*\): .*, \([0-9.]*\) CPU s, .*/$which\t\1\t\2/p" >> "$log"
  done
done
rm -f "$out"
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$log" <<'PY'
import sys, statistics
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
cpu = {}
for which, mode, c in rows:
    cpu.setdefault((which, mode), []).append(float(c))
modes = list(dict.fromkeys(m for _, m, _ in rows))
print("| mode | before: CPU s min (median) | ratio | after: CPU s min (median) | ratio |")
print("|---|---|---|---|---|")
for m in modes:
    cells = []
    for w in ("before", "after"):
        v = cpu.get((w, m), [])
        base = min(cpu.get((w, "flows"), [float("nan")]))
        if v:
            cells += [f"{min(v):.2f} ({statistics.median(v):.2f})", f"{min(v)/base:.3f}"]
        else:
            cells += ["-", "-"]
    print(f"| {m} | " + " | ".join(cells) + " |")
print(f"\n{len(rows)} runs: " + ", ".join(f"{w} {m} {v}" for (w, m), v in cpu.items()))
PY
