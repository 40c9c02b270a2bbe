#!/usr/bin/env bash
# Live capture on loopback: the highest UDP packet rate `netlens flows -i lo`
# sustains with zero kernel drops. A paced sender (bench/live/send.py) sends
# 64-byte datagrams at rising rates for DURATION seconds each; netlens
# captures with a BPF filter on the bench port and prints its drop counters.
# Needs root (or cap_net_raw,cap_net_admin). Usage:
#   bench/live/run.sh [RATES...]        (default: 5000 20000 50000 100000 200000 400000)
# Env: NETLENS=path/to/netlens (default: target/release/netlens, built if missing),
#      DURATION=seconds per rate (default 5).
set -euo pipefail
cd "$(dirname "$0")/../.."
NETLENS="${NETLENS:-target/release/netlens}"
DURATION="${DURATION:-5}"
if [ ! -x "$NETLENS" ]; then cargo build --release -p netlens; fi
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(5000 20000 50000 100000 200000 400000)
port=47999
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "%-10s %-10s %-10s %-10s %-8s %s\n" target_pps sent_pps captured kernel_drop if_drop flows
best=0
for r in "${rates[@]}"; do
  "$NETLENS" flows -i lo --bpf "udp and dst port $port" --idle-timeout 2 \
    --duration $((DURATION + 3)) -o "$out/flows.csv" 2>"$out/err" &
  pid=$!
  # Wait until the capture is open (the CSV header is written then).
  for _ in $(seq 100); do [ -s "$out/flows.csv" ] && break; sleep 0.1; done
  sent=$(python3 bench/live/send.py "$port" "$r" "$DURATION")
  wait "$pid"
  line=$(grep "packets captured" "$out/err")
  cap=$(echo "$line" | grep -oE '[0-9]+ packets captured' | grep -oE '^[0-9]+')
  kd=$(echo "$line" | grep -oE '[0-9]+ kernel drops' | grep -oE '^[0-9]+')
  id=$(echo "$line" | grep -oE '[0-9]+ interface drops' | grep -oE '^[0-9]+')
  fl=$(echo "$line" | grep -oE '[0-9]+ flows' | grep -oE '^[0-9]+')
  sent_pps=$(echo "$sent" | awk '{printf "%d", $1/$2}')
  printf "%-10s %-10s %-10s %-10s %-8s %s\n" "$r" "$sent_pps" "$cap" "$kd" "$id" "$fl"
  if [ "$kd" = 0 ] && [ "$cap" -ge "$(echo "$sent" | awk '{print $1}')" ]; then best=$sent_pps; fi
done
echo "highest sustained rate with 0 kernel drops: $best packets/s"
