"""scikit-learn side of crates/ml/examples/rf_parity.rs: random-forest
accuracy, mean single-tree accuracy and mean leaf count on a numeric
train/test pair (gen_synth.py). Usage:
[RF_DEDUP=1] sk_rf_parity.py TRAIN TEST TREES DEPTH|none [K=V,K=V ...]
where each further argument is a set of extra RandomForestClassifier
arguments (one more fit each), e.g. max_features=5,bootstrap=False."""
import ast
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

tr, te = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
ytr, yte = tr.pop("label").values, te.pop("label").values
Xtr, Xte = tr.values, te.values
if os.environ.get("RF_DEDUP"):
    # Columns identical to an earlier one, as netlens's preprocessing drops.
    _, keep = np.unique(Xtr, axis=1, return_index=True)
    keep = np.sort(keep)
    Xtr, Xte = Xtr[:, keep], Xte[:, keep]
    print(len(keep), "distinct features", file=sys.stderr)
trees = int(sys.argv[3])
depth = None if sys.argv[4] == "none" else int(sys.argv[4])
extra = [
    {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in a.split(","))}
    for a in sys.argv[5:]
]
for kw in [{}] + extra:
    t0 = time.perf_counter()
    m = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=2, random_state=0, **kw)
    m.fit(Xtr, ytr)
    fit = time.perf_counter() - t0
    acc = (m.predict(Xte) == yte).mean()
    per = np.mean([(e.predict(Xte) == yte).mean() for e in m.estimators_])
    leaves = np.mean([e.get_n_leaves() for e in m.estimators_])
    print(f"{kw} rf acc {acc:.4f}  mean tree acc {per:.4f}  fit {fit:.1f}s  mean leaves {leaves:.0f}", flush=True)
