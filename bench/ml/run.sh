#!/usr/bin/env bash
# netlens-ml vs scikit-learn: same data, same hyper-parameters.
# Usage: bench/ml/run.sh [ROWS]   (ROWS of the synthetic table, default 1000000)
# Needs python3 with venv; installs scikit-learn into $VENV (default
# target/ml-bench-venv). Data come from ../shared/data (or $NETLENS_SHARED_DATA).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${NETLENS_SHARED_DATA:-$root/../shared/data}"
rows="${1:-1000000}"
venv="${VENV:-$root/target/ml-bench-venv}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q scikit-learn numpy pandas
fi
cargo build --release -p netlens-ml --example bench
bench="${CARGO_TARGET_DIR:-$root/target}/release/examples/bench"
kdd="$data/labeled/flows/nsl-kdd"

echo "== NSL-KDD (train KDDTrain+_20Percent, test KDDTest+), binary normal vs attack"
NETLENS_BENCH_DUMP="$work" "$bench" nslkdd "$kdd/KDDTrain+_20Percent.txt" "$kdd/KDDTest+.txt" "$kdd/Field_Names.csv" | tee "$work/kdd_rust.jsonl"
"$venv/bin/python" "$here/sk_bench.py" nslkdd "$kdd/KDDTrain+_20Percent.txt" "$kdd/KDDTest+.txt" "$kdd/Field_Names.csv" | tee "$work/kdd_sk.jsonl"

echo "== NSL-KDD prediction speed of the models above (1 and 2 threads)"
for m in rf gbt tree; do
  for t in 1 2; do
    echo -n "$m "
    "$here/predict_ab.sh" "$work/nslkdd-$m.nlm" 1 "$t" "$bench"
  done
done

echo "== NSL-KDD model selection on the training file (attack types held out), one KDDTest+ score"
"$bench" nslkdd-select "$kdd/KDDTrain+_20Percent.txt" "$kdd/KDDTest+.txt" "$kdd/Field_Names.csv" | tee "$work/kdd_select.jsonl"

echo "== CIC-IDS2017 improved sample, multi-class, stratified 80/20"
"$bench" cic "$data/labeled/flows/cicids2017-improved-sampled"

# Forest size on the synthetic table (both sides read these; 100 full-depth
# trees on 1 M rows do not finish in a reasonable time on 2 shared cores).
# The depth limit applies to the single tree too.
export BENCH_RF_TREES="${BENCH_RF_TREES:-20}" BENCH_RF_DEPTH="${BENCH_RF_DEPTH:-14}"
echo "== synthetic $rows x 40 (RF $BENCH_RF_TREES trees, depth $BENCH_RF_DEPTH)"
"$venv/bin/python" "$here/gen_synth.py" "$work" "$rows" 40
"$bench" synth "$work/train.csv" "$work/test.csv" tree,gbt,rf | tee "$work/syn_rust.jsonl"
BENCH_MODELS=tree,gbt,rf "$venv/bin/python" "$here/sk_bench.py" synth "$work/train.csv" "$work/test.csv" | tee "$work/syn_sk.jsonl"

"$venv/bin/python" "$here/compare.py" "$work/kdd_rust.jsonl" "$work/kdd_sk.jsonl" "NSL-KDD"
"$venv/bin/python" "$here/compare.py" "$work/syn_rust.jsonl" "$work/syn_sk.jsonl" "synthetic"
