#!/usr/bin/env bash
# Series-extraction overhead on the large benchmark capture built by
# bench/flows.sh (bench/out/replay-10000000-192.pcap; this script does not
# rebuild it). Runs `netlens flows`-equivalent work in one process with and
# without the series accumulator / report collector and reports CPU seconds
# (user + system) and ratios: see bench/timeseries/overhead/src/main.rs.
#
# Usage: bench/timeseries/overhead.sh [ROUNDS (default 3)] [INTERVAL_S (default 60)]
# Before/after of two builds: bench/timeseries/compare.sh.
# NL_BREAKDOWN=1 adds two modes: accumulator packet callbacks only, flow
# callbacks only.
set -euo pipefail
cd "$(dirname "$0")/../.."
big=bench/out/replay-10000000-192.pcap
[ -f "$big" ] || { echo "missing $big: run bench/flows.sh first" >&2; exit 1; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target}"
cargo build --release -q --manifest-path bench/timeseries/overhead/Cargo.toml
out="${TMPDIR:-/tmp}/netlens-ts-overhead.parquet"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$CARGO_TARGET_DIR/release/netlens-ts-overhead" "$big" "$out" "${1:-3}" "${2:-60}"
rm -f "$out"
