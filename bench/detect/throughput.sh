#!/usr/bin/env bash
# Detection throughput: `netlens detect` (capture → flows with every feature
# group → preprocessing → random forest → alerts) on the large benchmark
# captures that bench/flows.sh builds.
#
#   flood:   bench/out/replay-10000000-192.pcap (MIX=flood, 3 packets/flow)
#   typical: bench/out/replay-typical-10000000-192.pcap (MIX=typical, 18 packets/flow)
#
# Model: the bundled models/detector.nlm (random forest, 50 trees, depth ≤ 24,
# on 114 numeric columns of the basic/meta/nfstream/cic groups) unless
# MODEL=path is given. One metering thread. Prints packets per CPU-second
# (user + sys) and per wall-second, flows and alerts; the machine is shared,
# so CPU-seconds are the measure.
#
# Usage: bench/detect/throughput.sh [CAPTURE...]
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${NETLENS_BIN:-}" ]; then
  cargo build --release -q -p netlens
  NETLENS_BIN="${CARGO_TARGET_DIR:-target}/release/netlens"
fi
caps=("$@")
if [ ${#caps[@]} -eq 0 ]; then
  caps=(bench/out/replay-10000000-192.pcap bench/out/replay-typical-10000000-192.pcap)
fi
model=()
[ -n "${MODEL:-}" ] && model=(--model "$MODEL")
out=bench/out/detect
mkdir -p "$out"
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); netlens $(git rev-parse --short HEAD)"
echo
echo "| capture | packets | flows | alerts | CPU s | wall s | M packets per CPU-s | M packets per wall-s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|"
for cap in "${caps[@]}"; do
  if [ ! -f "$cap" ]; then
    echo "missing $cap: run bench/flows.sh (MIX=flood or MIX=typical) first" >&2
    exit 1
  fi
  cat "$cap" > /dev/null # page cache
  # The previous run's alerts (1.5 GB on the flood mix) are deleted first:
  # truncating them on open would charge freeing their page cache (~0.1 s
  # of system time) to this run.
  rm -f "$out/alerts.jsonl"
  /usr/bin/time -f "%e %U %S %M" -o "$out/time.txt" \
    "$NETLENS_BIN" detect "${model[@]}" --threads 1 "$cap" -o "$out/alerts.jsonl" 2> "$out/stderr.txt"
  read -r wall user sys rss < <(tail -1 "$out/time.txt")
  python3 - "$cap" "$out/stderr.txt" "$out/alerts.jsonl" "$wall" "$user" "$sys" "$rss" <<'PY'
import re, sys, os
cap, err, alerts, wall, user, sys_, rss = sys.argv[1:]
text = open(err).read()
m = re.search(r"(\d+) packets", text)
f = re.search(r"(\d+) flows", text)
packets = int(m.group(1)) if m else 0
flows = int(f.group(1)) if f else 0
n_alerts = sum(1 for _ in open(alerts))
cpu = float(user) + float(sys_)
print(f"| {os.path.basename(cap)} | {packets:,} | {flows:,} | {n_alerts:,} | {cpu:.2f} | {float(wall):.2f} | "
      f"{packets / cpu / 1e6:.2f} | {packets / float(wall) / 1e6:.2f} | {int(rss) / 1024:.0f} |")
PY
done
