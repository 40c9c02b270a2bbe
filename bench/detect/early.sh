#!/usr/bin/env bash
# Early detection (`--early N`, default 8) on the real labelled captures.
#
# Same capture split as run.sh (alternate files of each ATTACK_LABELS.csv
# class train/test; benign = captures under pcap/ minus ATTACK_LABELS.csv and
# bench/detect/not-benign.tsv). Training options TRAIN_OPTS (default
# --benign-share 0.5 --target-fpr 0.01; --context needs full flows). Trains a detector on the
# first N packets of each flow (`train-detector --early N`) on the train half
# and runs `netlens detect --early N` on every test capture. Reports per class
# the alerted share of flows next to the full-flow detector's (taken from the
# table at the top of RESULTS.md, written by run.sh with the same split; set
# FULL=1 to train and run the full-flow detector here as well), and for every
# alert on an attack capture when it is decided, from the flow's first packet:
#   * early: an alert with "early": true is decided at the flow's Nth packet
#     (its ts_end); a flow that ends sooner is decided at its end;
#   * full flows: a flow is decided when it ends: at its last packet for
#     TCP FIN/RST termination, 120 s (the idle timeout) after its last packet
#     for idle expiry, at the end of the capture for flows still open then.
#     Flow ends come from `netlens flows` on the same capture.
# Replaces the "Early detection" section of RESULTS.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${NETLENS_SHARED_DATA:-$root/../shared/data}"
bin="${NETLENS_BIN:-}"
if [[ -z "$bin" ]]; then
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" cargo build --release -p netlens --manifest-path "$root/Cargo.toml" >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/release/netlens"
fi
N="${EARLY:-8}"
FULL="${FULL:-0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

TRAIN_OPTS="${TRAIN_OPTS:---benign-share 0.5 --target-fpr 0.01}"

# The split of run.sh (benign excludes ATTACK_LABELS.csv and not-benign.tsv);
# the excluded captures are left out here.
python3 - "$data" "$work" "$here/not-benign.tsv" <<'PY'
import csv, os, sys
data, work, notben = sys.argv[1:4]
by = {}
attack = set()
def add(cls, rel):
    by.setdefault(cls, []).append(os.path.join(data, rel))
    attack.add(rel)
with open(os.path.join(data, "labeled/ATTACK_LABELS.csv")) as f:
    for r in csv.DictReader(f):
        add(r["category"], r["path_relative_to_data"])
with open(notben) as f:
    for line in f:
        if line.startswith("#") or line.startswith("path\t") or not line.strip():
            continue
        rel, action = line.split("\t")[:2]
        if rel in attack:
            continue
        if action.startswith("class:"):
            add(action[6:], rel)
        else:
            attack.add(rel)
ben = []
for d, _, fs in os.walk(os.path.join(data, "pcap")):
    for n in fs:
        if n.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")):
            p = os.path.join(d, n)
            if os.path.relpath(p, data) not in attack:
                ben.append(p)
by["benign"] = ben
with open(os.path.join(work, "split.tsv"), "w") as out:
    for cls, files in sorted(by.items()):
        for i, p in enumerate(sorted(files)):
            out.write(f"{'train' if i % 2 == 0 else 'test'}\t{cls}\t{p}\n")
PY

args=()
while IFS=$'\t' read -r part cls path; do
  [[ "$part" == train ]] || continue
  if [[ "$cls" == benign ]]; then args+=(--benign-capture "$path"); else args+=(--attack-capture "$path:$cls"); fi
done < "$work/split.tsv"
modes=(early)
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$bin" train-detector "${args[@]}" $TRAIN_OPTS --early "$N" -o "$work/early.nlm" 2> "$work/train-early.log"
train_s=$(python3 -c "import time;print(round(time.time()-$start,1))")
if [[ "$FULL" == 1 ]]; then
  # shellcheck disable=SC2086
  "$bin" train-detector "${args[@]}" $TRAIN_OPTS -o "$work/full.nlm" 2> "$work/train-full.log"
  modes+=(full)
fi

: > "$work/results.tsv"
i=0
while IFS=$'\t' read -r part cls path; do
  [[ "$part" == test ]] || continue
  i=$((i + 1))
  fl=-
  if [[ "$cls" != benign ]]; then
    fl="$work/flows-$i.csv"
    "$bin" flows -q "$path" -o "$fl" 2> /dev/null || fl=-
  fi
  for mode in "${modes[@]}"; do
    extra=(); [[ "$mode" == early ]] && extra=(--early "$N")
    al="$work/alerts-$mode-$i.jsonl"
    if "$bin" detect --model "$work/$mode.nlm" "${extra[@]}" --format json -o "$al" "$path" 2> "$work/det.err"; then
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$cls" "$path" "$al" "$fl" "$(tail -n 1 "$work/det.err")" >> "$work/results.tsv"
    else
      printf '%s\t%s\t%s\t-\t-\t{"error": true}\n' "$mode" "$cls" "$path" >> "$work/results.tsv"
    fi
  done
done < "$work/split.tsv"

python3 - "$work" "$here/RESULTS.md" "$N" "$train_s" "$TRAIN_OPTS" <<'PY'
import csv, json, statistics, sys
from datetime import datetime, timezone
work, out, n, train_s, opts = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
IDLE_MS = 120_000

def ms(t):
    d = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(d.timestamp() * 1e6) // 1000

def key(a, ap, b, bp, p):
    return (a, int(ap), b, int(bp), int(p)) if (a, int(ap)) <= (b, int(bp)) else (b, int(bp), a, int(ap), int(p))

agg = {}      # (mode, cls) -> [captures, flows, alerts, errors, flows decided early]
dec = {}      # mode -> list of (delay_mode_ms, delay_full_ms, decided_early)
unmatched = 0
for line in open(f"{work}/results.tsv"):
    mode, cls, path, al, fl, s = line.rstrip("\n").split("\t", 5)
    s = json.loads(s)
    a = agg.setdefault((mode, cls), [0, 0, 0, 0, 0])
    a[0] += 1; a[1] += s.get("flows", 0); a[2] += s.get("alerts", 0); a[3] += 1 if s.get("error") else 0
    a[4] += s.get("decided_early", 0)
    if al == "-" or fl == "-" or cls == "benign":
        continue
    flows = {}
    end_ms = 0
    for r in csv.DictReader(open(fl)):
        first, last = int(r["bidirectional_first_seen_ms"]), int(r["bidirectional_last_seen_ms"])
        end_ms = max(end_ms, last)
        flows[(key(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["protocol"]), first)] = (last, r["end_reason"])
    for l in open(al):
        v = json.loads(l)
        first = ms(v["ts_start"])
        f = flows.get((key(v["src_ip"], v["src_port"], v["dst_ip"], v["dst_port"], v["protocol"]), first))
        if f is None:
            unmatched += 1
            continue
        last, why = f
        full_at = {"idle": last + IDLE_MS, "end_of_input": end_ms}.get(why, last)
        at = ms(v["ts_end"]) if v["early"] else full_at
        dec.setdefault(mode, []).append((at - first, full_at - first, bool(v["early"])))

def full_table():
    # The first table of RESULTS.md (run.sh, same split): class -> (captures, flows, alerts).
    rows = {}
    for l in open(out):
        c = [x.strip() for x in l.strip().strip("|").split("|")]
        if l.startswith("## "):
            break
        if len(c) == 6 and c[1].isdigit() and c[2].isdigit():
            rows[c[0]] = (int(c[1]), int(c[2]), int(c[3]))
    return rows

def q(x, p):
    return f"{sorted(x)[int(p * (len(x) - 1))] / 1000:.2f}" if x else "–"

full = {c: tuple(v[:3]) for (m, c), v in agg.items() if m == "full"} or full_table()
src = "this run (FULL=1)" if any(m == "full" for m, _ in agg) else "the table above (run.sh, same split)"
L = ["<!-- early.sh begin -->", f"## Early detection: first {n} packets vs full flows\n",
     f"Generated by `bench/detect/early.sh`: a detector trained with `train-detector --early {n} {opts}` on the same train "
     f"captures ({train_s} s), run with `detect --early {n}` on the same test captures. A flow is classified when its "
     f"{n}th packet arrives (the meter emits a snapshot; the alert is written with the next batch of 8192 packets) or "
     f"at its end if it ends sooner, one decision per flow. Full-flow numbers from {src}.\n",
     f"| class | test captures | flows | flows reaching {n} packets | alerted, full flows | rate, full | alerted, early | rate, early |",
     "|---|---|---|---|---|---|---|---|"]
for cls in sorted({c for _, c in agg}):
    e = agg.get(("early", cls), [0, 0, 0, 0, 0])
    f = full.get(cls, (0, 0, 0))
    rf = f[2] / f[1] if f[1] else float("nan"); re_ = e[2] / e[1] if e[1] else float("nan")
    err = f" ({e[3]} failed)" if e[3] else ""
    L.append(f"| {cls}{err} | {e[0]} | {e[1]} | {e[4]} | {f[2]} | {rf:.4f} | {e[2]} | {re_:.4f} |")
L.append("\nRate = alerted flows / flows: recall for attack classes, false-positive rate for benign "
         "(whole-capture labels, see the caveats above).\n")
d = dec.get("early", [])
de = [x for x in d if x[2]]
L.append(f"When the alerts of the early detector on attack captures are decided, in seconds after the flow's first "
         f"packet, against when the same flows would be decided by a full-flow detector (at their end: last packet for "
         f"FIN/RST, +120 s idle timeout for idle expiry, end of capture for open flows):\n")
L.append("| alerts | n | early: median | early: p90 | full flows: median | full flows: p90 | median gain |\n|---|---|---|---|---|---|---|")
for name, xs in [("all", d), (f"decided at packet {n}", de)]:
    gain = [b - a for a, b, _ in xs]
    L.append(f"| {name} | {len(xs)} | {q([a for a, _, _ in xs], .5)} | {q([a for a, _, _ in xs], .9)} | "
             f"{q([b for _, b, _ in xs], .5)} | {q([b for _, b, _ in xs], .9)} | {q(gain, .5)} |")
if unmatched:
    L.append(f"\n{unmatched} alerts could not be matched to an exported flow and are left out.")
L.append("<!-- early.sh end -->")
sec = "\n".join(L) + "\n"
text = open(out).read()
if "<!-- early.sh begin -->" in text:
    a = text.index("<!-- early.sh begin -->"); b = text.index("<!-- early.sh end -->") + len("<!-- early.sh end -->\n")
    text = text[:a] + sec + text[b:]
else:
    text = text.rstrip("\n") + "\n\n" + sec
open(out, "w").write(text)
print(sec)
PY
