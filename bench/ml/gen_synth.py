"""Synthetic benchmark table: correlated, heavy-tailed and noise features with a
non-linear binary target. Writes train.csv and test.csv (same generator for
netlens and scikit-learn). Usage: gen_synth.py OUTDIR ROWS [FEATURES]"""
import sys
import numpy as np

out, rows = sys.argv[1], int(sys.argv[2])
p = int(sys.argv[3]) if len(sys.argv) > 3 else 40
rng = np.random.default_rng(7)
n = rows + rows // 4
z = rng.standard_normal((n, 8))
cols = []
for j in range(p):
    kind = j % 4
    if kind == 0:
        cols.append(z[:, j % 8] + 0.3 * rng.standard_normal(n))
    elif kind == 1:
        cols.append(np.exp(0.8 * z[:, (j + 1) % 8]))  # log-normal
    elif kind == 2:
        cols.append(z[:, (j + 2) % 8] * z[:, (j + 3) % 8])
    else:
        cols.append(rng.standard_normal(n))  # noise
X = np.column_stack(cols).astype(np.float32).astype(np.float64)
logit = 1.5 * z[:, 0] - z[:, 1] * z[:, 2] + np.sin(2 * z[:, 3]) + 0.5 * np.abs(z[:, 4]) - 0.4
y = (logit + 0.5 * rng.standard_normal(n) > 0).astype(int)
names = [f"f{j}" for j in range(p)] + ["label"]
for name, sl in (("train", slice(0, rows)), ("test", slice(rows, n))):
    data = np.column_stack([X[sl], y[sl]])
    fmt = ["%.7g"] * p + ["%d"]
    np.savetxt(f"{out}/{name}.csv", data, delimiter=",", header=",".join(names), comments="", fmt=fmt)
