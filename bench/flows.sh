#!/usr/bin/env bash
# Packet-side benchmark: builds a large capture by replaying real captures
# from ../shared/data with rewritten addresses, then measures on it
#   (a) the read-only floor (iterate records),
#   (b) read + decode,
#   (c) read + decode + flow metering, 1 and 2 threads (in-process),
#   (c') the same plus Parquet export in process (1 thread; 2 metering
#        threads + the Parquet encoder thread),
#   (d) `netlens flows` to Parquet, end to end, 1 and 2 threads, with peak memory:
#       with the default columns (`basic`: 40 columns) and with exactly the
#       columns issue #2 sets its goal for (its export list plus the MACs:
#       20 columns, `$core_columns` below),
#   (e) the Parquet export alone on 1 M real flows held in memory, per flow,
#       under several writer settings (crates/export/examples/parquet_bench.rs).
# Figures are ratios measured in one run; the machine is shared, so compare
# ratios, not absolute numbers between runs.
#
# Usage: bench/flows.sh [MIN_PACKETS (default 10000000)] [SNAPLEN (default 192)]
# Env: MIX=flood (default) replays six application captures and the
#   CIC-DDoS2019 SYN flood: 3 packets per flow, a worst case for per-flow
#   work (export). MIX=typical leaves the flood out: the six application
#   captures alone, 18 packets per flow, closer to an access link.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${NETLENS_SHARED_DATA:-$(cd .. && pwd)/shared/data}"
min_packets="${1:-10000000}"
snaplen="${2:-192}"
out=bench/out
mkdir -p "$out"
mix="${MIX:-flood}"
case "$mix" in
  flood) big="$out/replay-${min_packets}-${snaplen}.pcap"; flood=("$data/labeled/attack-pcap/lucid-cicddos2019/CIC-DDoS-2019-SynFlood.pcap") ;;
  typical) big="$out/replay-typical-${min_packets}-${snaplen}.pcap"; flood=() ;;
  *) echo "MIX must be flood or typical" >&2; exit 2 ;;
esac
# Results of each mix in their own folder (the flood mix keeps bench/out).
res="$out"; [ "$mix" = typical ] && res="$out/typical"
mkdir -p "$res"

cargo build --release -q -p netlens -p netlens-pipeline -p netlens-export --examples --bins
bin="${CARGO_TARGET_DIR:-target}/release"

if [ ! -f "$big" ]; then
  echo "== building $big from real captures (replayed with rewritten addresses)"
  "$bin/examples/make_bench_capture" "$big" "$min_packets" "$snaplen" \
    "$data/pcap/nfstream/skype.pcap" \
    "$data/pcap/nfstream/pps.pcap" \
    "$data/pcap/nfstream/instagram.pcap" \
    "$data/pcap/ndpi/1kxun.pcap" \
    "$data/pcap/suricata-verify/tls/tls-subjectaltname/input.pcap" \
    "${flood[@]}" \
    "$data/pcap/ndpi/alexa-app.pcapng"
fi
ls -l "$big"
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== stages (in-process)"
"$bin/examples/stages" "$big" 1 2 | tee "$res/stages.csv"

# The columns issue #2 names for its throughput goal: NFStream's names for
# the flow key, timestamps and counters, and the MACs.
core_columns=src_ip,src_mac,src_port,dst_ip,dst_mac,dst_port,protocol,ip_version,vlan_id,tunnel_id
core_columns+=,bidirectional_first_seen_ms,bidirectional_last_seen_ms,bidirectional_duration_ms
core_columns+=,bidirectional_packets,bidirectional_bytes,src2dst_packets,src2dst_bytes
core_columns+=,dst2src_packets,dst2src_bytes,expiration_id
echo "== netlens flows -> Parquet (end to end)"
for th in 1 2; do
  /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak RSS" \
    "$bin/netlens" flows "$big" -q --threads "$th" -o "$res/flows-$th.parquet" 2> "$res/time-$th.txt"
  cat "$res/time-$th.txt"
done
echo "== netlens flows -> Parquet, the issue's 20 columns"
for th in 1 2; do
  /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak RSS" \
    "$bin/netlens" flows "$big" -q --threads "$th" --features "$core_columns" \
    -o "$res/flows-core-$th.parquet" 2> "$res/time-core-$th.txt"
  cat "$res/time-core-$th.txt"
done
echo "== Parquet export alone (1 M flows in memory, basic columns)"
"$bin/examples/parquet_bench" "$big" 1000000 basic | tee "$res/parquet-bench.csv"
packets=$(grep '^read,' "$res/stages.csv" | cut -d, -f3)
flows=$("$bin/netlens" stats "$big" --format json -q | python3 -c 'import json,sys; print(json.load(sys.stdin)["flows"])' 2>/dev/null || echo "?")
python3 - "$res" "$packets" <<'PY'
import sys, re
out, packets = sys.argv[1], int(sys.argv[2])
rows = {}
for line in open(f"{out}/stages.csv"):
    p = line.split("#")[0].strip().split(",")
    if len(p) >= 7 and p[0] != "stage":
        rows[(p[0], p[1])] = (float(p[5]), float(p[6]))  # (per wall s, per CPU s)
def timing(th):
    t = open(f"{out}/time-{th}.txt").read()
    m = re.search(r"([0-9.]+) s wall, ([0-9.]+) s user, ([0-9.]+) s sys, ([0-9]+) KiB peak", t)
    return float(m.group(1)), float(m.group(2)) + float(m.group(3)), int(m.group(4))
w1, c1, m1 = timing(1); w2, c2, m2 = timing(2)
cw1, cc1, _ = timing("core-1"); cw2, _, _ = timing("core-2")
rd, dec = rows[("read", "1")][1], rows[("read+dissect", "1")][1]
print("\nPer CPU-second (the machine is shared; wall-clock figures in bench/out/):\n")
print("| measure | packets/s per CPU-s | ratio |")
print("|---|---|---|")
print(f"| (a) read only (floor) | {rd/1e6:.2f} M | 1.00 |")
print(f"| (b) read + decode | {dec/1e6:.2f} M | {dec/rd:.2f} × (a) |")
if ("read+dissect+meter", "1") in rows:
    v = rows[("read+dissect+meter", "1")][1]
    print(f"| read + decode + meter (no export) | {v/1e6:.2f} M | {v/dec:.2f} × (b) |")
if ("read+dissect+meter+parquet", "1") in rows:
    v = rows[("read+dissect+meter+parquet", "1")][1]
    print(f"| (c) read + decode + meter + Parquet, in process | {v/1e6:.2f} M | {v/dec:.2f} × (b) |")
print(f"| (c) `netlens flows` → Parquet, 1 thread (basic, 40 columns) | {packets/c1/1e6:.2f} M | {packets/c1/dec:.2f} × (b) |")
print(f"| (c) `netlens flows` → Parquet, 1 thread (the issue's 20 columns) | {packets/cc1/1e6:.2f} M | {packets/cc1/dec:.2f} × (b) |")
print("\nWall clock, 1 vs 2 metering threads:\n")
if ("read+dissect+meter", "2") in rows:
    a, b = rows[("read+dissect+meter", "1")][0], rows[("read+dissect+meter", "2")][0]
    print(f"- in-process metering: {a/1e6:.2f} M → {b/1e6:.2f} M packets/s ({b/a:.2f} ×)")
if ("read+dissect+meter+parquet", "2") in rows:
    a, b = rows[("read+dissect+meter+parquet", "1")][0], rows[("read+dissect+meter+parquet", "2")][0]
    print(f"- in-process meter + Parquet (2 meter threads + encoder thread): {a/1e6:.2f} M → {b/1e6:.2f} M packets/s ({b/a:.2f} ×)")
print(f"- `netlens flows` → Parquet (basic): {packets/w1/1e6:.2f} M → {packets/w2/1e6:.2f} M packets/s ({w1/w2:.2f} ×)")
print(f"- `netlens flows` → Parquet (the issue's 20 columns): {packets/cw1/1e6:.2f} M → {packets/cw2/1e6:.2f} M packets/s ({cw1/cw2:.2f} ×)")
print(f"\npeak RSS: {m1/1024:.0f} MiB (1 thread), {m2/1024:.0f} MiB (2 threads)")
PY
echo "flows: $flows"
