#!/usr/bin/env bash
# Feature-set throughput of `netlens flows` and NFStream on the same capture,
# in the same run.
#
#   netlens flows CAPTURE -o x.parquet --threads 1 --features basic | nfstream |
#       nfstream --splt 10 --no-tcp-termination (NFStream's settings) | cic | all
#   NFStream: NFStreamer(statistical_analysis=True, splt_analysis=10,
#       n_meters=1, n_dissections=0), flows iterated in Python
#       (n_dissections=0 because netlens's nfstream set does no nDPI
#       dissection; pass NFSTREAM_DISSECTIONS=20 for NFStream's default).
#
# Figures are packets per CPU-second (user + sys from /usr/bin/time, children
# included, so NFStream's metering process counts) and per wall-second, with
# peak RSS. The capture is read once before the runs so every run reads it
# from the page cache.
#
# Usage: bench/nfstream/run.sh [CAPTURE (default bench/out/replay-10000000-192.pcap)] [PREFIX_PACKETS (default 1000000)]
#   CAPTURE is built by bench/flows.sh. A prefix of PREFIX_PACKETS packets is
#   cut from it (bench/out/prefix-N-<capture name>) and measured too (0 = skip).
# Env: NETLENS_BIN (default: build target/release/netlens), PYTHON (a Python
#   with nfstream; default target/nfcmp-venv/bin/python, else python3),
#   SKIP_NFSTREAM=1, SKIP_FULL_NFSTREAM=1 (NFStream on the prefix only).
set -euo pipefail
cd "$(dirname "$0")/../.."
big="${1:-bench/out/replay-10000000-192.pcap}"
prefix_n="${2:-1000000}"
out=bench/out/nfcmp
mkdir -p "$out"
if [ ! -f "$big" ]; then
  echo "missing $big: run bench/flows.sh first (it builds the capture)" >&2
  exit 1
fi
if [ -z "${NETLENS_BIN:-}" ]; then
  cargo build --release -q -p netlens
  NETLENS_BIN="${CARGO_TARGET_DIR:-target}/release/netlens"
fi
if [ -z "${PYTHON:-}" ]; then
  if [ -x target/nfcmp-venv/bin/python ]; then PYTHON=target/nfcmp-venv/bin/python; else PYTHON=python3; fi
fi
have_nfstream=0
if [ -z "${SKIP_NFSTREAM:-}" ] && "$PYTHON" -c 'import nfstream' 2>/dev/null; then have_nfstream=1; fi

caps=("$big")
if [ "$prefix_n" -gt 0 ]; then
  pre="bench/out/prefix-$prefix_n-$(basename "$big")"
  if [ ! -f "$pre" ]; then
    # Classic pcap: 24-byte header, then records of a 16-byte header + data.
    "$PYTHON" - "$big" "$pre" "$prefix_n" <<'PY'
import struct, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f, open(dst, "wb") as o:
    hdr = f.read(24)
    e = "<" if hdr[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    o.write(hdr)
    for _ in range(n):
        rh = f.read(16)
        if len(rh) < 16:
            break
        incl = struct.unpack_from(e + "I", rh, 8)[0]
        o.write(rh + f.read(incl))
PY
  fi
  caps+=("$pre")
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== netlens: $NETLENS_BIN ($(git rev-parse --short HEAD)), NFStream: $("$PYTHON" -c 'import nfstream; print(nfstream.__version__)' 2>/dev/null || echo absent)"

tf="%e %U %S %M"
results="$out/results.csv"
# TABLE_ONLY=1: print the table of an earlier run's results.csv (rows may have
# been appended by hand, e.g. NFStream on the full capture run separately).
[ -n "${TABLE_ONLY:-}" ] && caps=()
[ -z "${TABLE_ONLY:-}" ] && echo "capture,tool,setting,packets,flows,wall_s,cpu_s,peak_rss_kib" > "$results"

for cap in "${caps[@]}"; do
  cat "$cap" > /dev/null # page cache
  cname=$(basename "$cap")
  packets=""
  for set in basic nfstream nfstream+splt10 cic all; do
    case "$set" in
      nfstream+splt10) args=(--features nfstream --splt 10 --no-tcp-termination) ;;
      *) args=(--features "$set") ;;
    esac
    /usr/bin/time -f "$tf" -o "$out/time.txt" \
      "$NETLENS_BIN" flows "$cap" --threads 1 "${args[@]}" -o "$out/flows-$set.parquet" 2> "$out/stderr.txt"
    read -r wall user sys rss < <(tail -1 "$out/time.txt")
    # "netlens: N packets (...), M flows"
    line=$(grep '^netlens: [0-9]* packets' "$out/stderr.txt" | tail -1)
    packets=$(sed -E 's/^netlens: ([0-9]+) packets.*/\1/' <<< "$line")
    flows=$(sed -E 's/.*, ([0-9]+) flows.*/\1/' <<< "$line")
    cpu=$(python3 -c "print(round($user + $sys, 2))")
    echo "$cname,netlens,$set,$packets,$flows,$wall,$cpu,$rss" | tee -a "$results"
  done
  if [ "$have_nfstream" = 1 ] && { [ "$cap" != "$big" ] || [ -z "${SKIP_FULL_NFSTREAM:-}" ]; }; then
    /usr/bin/time -f "$tf" -o "$out/time.txt" "$PYTHON" - "$cap" "${NFSTREAM_DISSECTIONS:-0}" > "$out/nf.txt" <<'PY'
import sys
from nfstream import NFStreamer
s = NFStreamer(source=sys.argv[1], statistical_analysis=True, splt_analysis=10,
               n_meters=1, n_dissections=int(sys.argv[2]))
print(sum(1 for _ in s))
PY
    read -r wall user sys rss < <(tail -1 "$out/time.txt")
    cpu=$(python3 -c "print(round($user + $sys, 2))")
    echo "$cname,nfstream,stats+splt10 n_dissections=${NFSTREAM_DISSECTIONS:-0},$packets,$(cat "$out/nf.txt"),$wall,$cpu,$rss" | tee -a "$results"
  fi
done

python3 - "$results" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print("\n| capture | tool | setting | packets | flows | wall s | CPU s | M packets per CPU-s | M packets per wall-s | peak RSS MiB | NFStream CPU-s / this CPU-s |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
nf = {r["capture"]: float(r["cpu_s"]) for r in rows if r["tool"] == "nfstream"}
for r in rows:
    # /usr/bin/time has 10 ms resolution
    p, cpu, wall = int(r["packets"]), max(float(r["cpu_s"]), 0.01), max(float(r["wall_s"]), 0.01)
    ratio = f"{nf[r['capture']] / cpu:.1f} ×" if r["capture"] in nf and r["tool"] == "netlens" else ""
    print(f"| {r['capture']} | {r['tool']} | {r['setting']} | {p:,} | {int(r['flows']):,} | {wall:.2f} | {cpu:.2f} | "
          f"{p / cpu / 1e6:.2f} | {p / wall / 1e6:.2f} | {int(r['peak_rss_kib']) / 1024:.0f} | {ratio} |")
PY
