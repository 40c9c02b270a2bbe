#!/usr/bin/env bash
# Prediction speed of saved models, binaries alternated so that all of them
# run under the same machine load (the machine is shared: compare within
# one run, and read rows per CPU-second before rows per second of wall time).
# Usage: bench/ml/predict_ab.sh MODEL.nlm ROUNDS THREADS BENCH_BINARY...
#   MODEL.nlm: a model written by `NETLENS_BENCH_DUMP=DIR bench nslkdd ...`
#   BENCH_BINARY: release builds of crates/ml/examples/bench (e.g. the
#   binary of the commit before a change and the one after it).
# Prints per call: binary, threads, rows per CPU-second, rows per second
# (best call), 1-minute load average.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${NETLENS_SHARED_DATA:-$root/../shared/data}"
kdd="$data/labeled/flows/nsl-kdd"
model=$1 rounds=$2 threads=$3
shift 3
for _ in $(seq "$rounds"); do
  for b in "$@"; do
    out=$(BENCH_NO_REF=1 RAYON_NUM_THREADS="$threads" "$b" predict "$model" "$kdd/KDDTest+.txt" "$kdd/Field_Names.csv" 2>/dev/null)
    cpu=$(sed -n 's/.*"rows_per_cpu_s":\([0-9]*\).*/\1/p' <<<"$out")
    wall=$(sed -n 's/.*"rows_per_s":\([0-9]*\).*/\1/p' <<<"$out")
    echo "$(basename "$b") threads=$threads rows_per_cpu_s=$cpu rows_per_s=$wall load=$(cut -d' ' -f1 /proc/loadavg)"
  done
done
