"""Side-by-side table of netlens and scikit-learn JSON lines."""
import json
import sys

rust = {j["model"]: j for j in map(json.loads, open(sys.argv[1])) if "model" in j}
sk = {j["model"]: j for j in map(json.loads, open(sys.argv[2])) if "model" in j}
print(f"\n{sys.argv[3]}")
print(f"{'model':8} {'acc netlens':>11} {'acc sklearn':>11} {'fit s (nl/sk)':>16} {'fit ratio':>9} {'pred rows/s nl':>15} {'sk':>12} {'per CPU-s nl':>13} {'sk':>12}")
for m, r in rust.items():
    s = sk.get(m)
    if not s:
        continue
    print(f"{m:8} {r['accuracy']:11.4f} {s['accuracy']:11.4f} {r['fit_s']:7.2f}/{s['fit_s']:<8.2f} "
          f"{r['fit_s'] / s['fit_s']:9.2f} {r['rows_per_s']:15.0f} {s['rows_per_s']:12.0f} "
          f"{r.get('rows_per_cpu_s', 0):13.0f} {s.get('rows_per_cpu_s', 0):12.0f}")
