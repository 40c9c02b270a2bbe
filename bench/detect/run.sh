#!/usr/bin/env bash
# Supervised detector on real captures, split by capture file.
#
# Attack captures: ../shared/data/labeled/ATTACK_LABELS.csv (class = category:
# scan, ddos, dos, exploit, ...). Benign captures: every capture under
# ../shared/data/pcap except those in ATTACK_LABELS.csv (they are in their
# attack class) and those bench/detect/not-benign.tsv excludes or moves to an
# attack class (reviewed list: crafted, fuzzed or attack traffic). The excluded
# captures form their own group "excluded", split and detected like the
# others but never trained on, so the false-positive rate can also be shown
# counting them as benign. Within each class the captures, sorted by path, go
# alternately to train and test (a class with one capture only trains), so no
# file is in both. Training options: TRAIN_OPTS (default: --benign-share 0.5
# --target-fpr 0.01 --context: balanced classes, host-context features, the
# threshold chosen by cross-validation on the train captures, grouped by file); CLASSES=merged trains on scan / flood (ddos+dos)
# / other instead of the categories. Train with `netlens train-detector`, run `netlens detect`
# on every test capture, and count per capture: recall = alerted flows /
# flows of an attack capture (whole-capture labels: background flows count as
# misses), false-positive rate = alerted flows / flows of a benign capture.
# Writes bench/detect/RESULTS.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="${NETLENS_SHARED_DATA:-$root/../shared/data}"
bin="${NETLENS_BIN:-}"
if [[ -z "$bin" ]]; then
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" cargo build --release -p netlens --manifest-path "$root/Cargo.toml" >&2
  bin="${CARGO_TARGET_DIR:-$root/target}/release/netlens"
fi
work="$(mktemp -d)"
# KEEP=DIR keeps the trained model, training log and split in DIR (for analysis).
trap 'if [[ -n "${KEEP:-}" ]]; then mkdir -p "$KEEP" && cp "$work"/detector.nlm* "$work"/train.log "$work"/split.tsv "$work"/results.tsv "$KEEP"/ 2>/dev/null; fi; rm -rf "$work"' EXIT
EARLY="${EARLY:-0}"
TRAIN_OPTS="${TRAIN_OPTS:---benign-share 0.5 --target-fpr 0.01 --context}"
CLASSES="${CLASSES:-category}"

python3 - "$data" "$work" "$here/not-benign.tsv" "$CLASSES" <<'PY'
import csv, os, sys
data, work, notben, classes = sys.argv[1:5]
by = {}
attack = set()
def add(cls, rel):
    by.setdefault(cls, []).append(os.path.join(data, rel))
    attack.add(rel)
with open(os.path.join(data, "labeled/ATTACK_LABELS.csv")) as f:
    for r in csv.DictReader(f):
        add(r["category"], r["path_relative_to_data"])
excluded = []
with open(notben) as f:
    for line in f:
        if line.startswith("#") or line.startswith("path\t") or not line.strip():
            continue
        rel, action = line.split("\t")[:2]
        if not os.path.exists(os.path.join(data, rel)):
            sys.exit(f"not-benign.tsv: {rel} does not exist")
        if rel in attack:
            continue
        if action.startswith("class:"):
            add(action[6:], rel)
        else:
            excluded.append(os.path.join(data, rel))
            attack.add(rel)
ben = []
for d, _, fs in os.walk(os.path.join(data, "pcap")):
    for n in fs:
        if n.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")):
            p = os.path.join(d, n)
            if os.path.relpath(p, data) not in attack:
                ben.append(p)
by["benign"] = ben
by["excluded"] = excluded
merge = {"scan": "scan", "ddos": "flood", "dos": "flood", "benign": "benign"}
with open(os.path.join(work, "split.tsv"), "w") as out:
    for cls, files in sorted(by.items()):
        for i, p in enumerate(sorted(files)):
            train_cls = cls if classes != "merged" else merge.get(cls, "other")
            out.write(f"{'train' if i % 2 == 0 else 'test'}\t{cls}\t{p}\t{train_cls}\n")
PY

args=()
while IFS=$'\t' read -r part cls path tcls; do
  [[ "$part" == train && "$cls" != excluded ]] || continue
  if [[ "$cls" == benign ]]; then args+=(--benign-capture "$path"); else args+=(--attack-capture "$path:$tcls"); fi
done < "$work/split.tsv"
start=$(date +%s.%N)
# shellcheck disable=SC2086
"$bin" train-detector "${args[@]}" $TRAIN_OPTS --early "$EARLY" -o "$work/detector.nlm" 2> "$work/train.log"
train_s=$(python3 -c "import time;print(round(time.time()-$start,1))")

: > "$work/results.tsv"
while IFS=$'\t' read -r part cls path _; do
  [[ "$part" == test ]] || continue
  early=(); [[ "$EARLY" != 0 ]] && early=(--early "$EARLY")
  if "$bin" detect --model "$work/detector.nlm" "${early[@]}" --format json -o "$work/alerts.jsonl" "$path" 2> "$work/det.err"; then
    summary=$(tail -n 1 "$work/det.err")
    printf '%s\t%s\t%s\n' "$cls" "$path" "$summary" >> "$work/results.tsv"
  else
    printf '%s\t%s\t{"error": true}\n' "$cls" "$path" >> "$work/results.tsv"
  fi
done < "$work/split.tsv"

# OUT=FILE writes the tables there instead (experiments that should not replace RESULTS.md).
python3 - "$work" "${OUT:-$here/RESULTS${EARLY/#0/}.md}" "$train_s" "$EARLY" "$data" "$TRAIN_OPTS" "$CLASSES" <<'PY'
import json, os, sys
work, out, train_s, early, data, opts, classes = sys.argv[1:8]
rows = []
for line in open(os.path.join(work, "results.tsv")):
    cls, path, s = line.rstrip("\n").split("\t", 2)
    rows.append((cls, os.path.relpath(path, data), json.loads(s)))
agg = {}
def acc(key, s):
    a = agg.setdefault(key, [0, 0, 0, 0])
    a[0] += 1
    a[1] += s.get("flows", 0)
    a[2] += s.get("alerts", 0)
    a[3] += 1 if s.get("error") else 0
for cls, path, s in rows:
    acc(cls, s)
    if cls in ("ddos", "dos"):
        acc("= flood (ddos + dos)", s)
    if cls in ("benign", "excluded"):
        acc("= benign counting the excluded captures", s)
train_log = open(os.path.join(work, "train.log")).read().strip().splitlines()
L = []
L.append(f"# Supervised detector on real captures{' (early: first ' + early + ' packets)' if early != '0' else ''}\n")
L.append("Generated by `bench/detect/run.sh`. Split by capture file (alternate files of each class, sorted by path, train/test; never the same file in both). "
         "Classes are ATTACK_LABELS.csv categories; benign = captures under `pcap/` except the attack captures listed in ATTACK_LABELS.csv "
         "and those `bench/detect/not-benign.tsv` excludes (crafted, fuzzed or attack traffic; reviewed list with evidence) or moves to an attack class. "
         "The excluded captures (class `excluded`) are never trained on; their test half is detected to show the false-positive rate if they counted as benign. "
         "Whole-capture labels: every flow of an attack capture counts as the attack, so its benign background counts as missed (recall is a lower bound), "
         "and a benign capture's alerts are false positives even if the capture holds real attack traffic.\n")
L.append(f"Training: `netlens train-detector {opts}` (classes: {'scan / flood / other' if classes == 'merged' else 'ATTACK_LABELS categories'}), {train_s} s wall clock.\n")
L.append("| class | test captures | flows | alerted flows | rate | note |\n|---|---|---|---|---|---|")
for cls, (n, flows, alerts, err) in sorted(agg.items(), key=lambda kv: (kv[0].startswith("="), kv[0])):
    rate = alerts / flows if flows else float("nan")
    note = "false-positive rate" if "benign" in cls else ("alerted share (not benign, not attack)" if cls == "excluded" else "recall (flow level)")
    if err: note += f"; {err} capture(s) failed"
    L.append(f"| {cls} | {n} | {flows} | {alerts} | {rate:.4f} | {note} |")
note = json.load(open(os.path.join(work, "detector.nlm.json")))
th = note.get("threshold") or {}
if th:
    L.append(f"\nThreshold: {th.get('threshold', float('nan')):.4f} on the attack score 1 − P(benign), chosen by `--target-fpr {th.get('target_fpr')}`: "
             f"{th.get('folds')}-fold cross-validation on the train captures only, grouped by capture file; the lowest threshold at which at most "
             f"{100 * th.get('target_fpr', 0):.0f} % of the pooled out-of-fold benign flows alert (argmax would alert {100 * th.get('argmax_fpr', 0):.2f} % of them). "
             "Out-of-fold counts per class are in the training log below.")
ben = sorted(((s.get("alerts", 0), s.get("flows", 0), path) for cls, path, s in rows if cls == "benign"), reverse=True)
tot_f = sum(f for _, f, _ in ben)
tot_a = sum(a for a, _, _ in ben)
L.append("\n## Benign test captures with the most alerts\n\n| capture | flows | alerts | rate | benign FP rate without this capture |\n|---|---|---|---|---|")
for a, f, path in ben[:5]:
    rest = (tot_a - a) / (tot_f - f) if tot_f > f else float("nan")
    L.append(f"| {path} | {f} | {a} | {a / f if f else float('nan'):.3f} | {rest:.4f} |")
L.append(f"\n{sum(1 for a, _, _ in ben if a == 0)} of {len(ben)} benign test captures raise no alert.")
L.append("\n## Per test capture\n\n| class | capture | flows | alerts | rate | by label |\n|---|---|---|---|---|---|")
for cls, path, s in sorted(rows):
    f, a = s.get("flows", 0), s.get("alerts", 0)
    L.append(f"| {cls} | {path} | {f} | {a} | {a / f if f else float('nan'):.3f} | {json.dumps(s.get('alerts_by_label', {}))} |")
L.append("\n## Most important features (mean decrease in impurity)\n")
L.append(", ".join(f"{n} {v:.3f}" for n, v in note.get("importances", [])[:15]) + "\n")
L.append("\n## Training log\n\n```\n" + "\n".join(train_log) + "\n```\n")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L[:40]))
PY
