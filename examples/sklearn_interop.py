"""netlens ↔ scikit-learn, notebook style.

Meter flows from a labelled capture with netlens, train a scikit-learn
random forest and a netlens random forest on the same features, compare
them on held-out flows and with cross-validation, then save the netlens
model and reload it (the same file works with `netlens predict`).

    python examples/sklearn_interop.py [capture.pcap labels.csv]

Defaults to the bundled data/sample/sample.pcap and its labels. Exits
non-zero if either model is no better than predicting the majority class.
"""

# %% Imports and inputs
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import cross_val_score, train_test_split

import netlens

repo = Path(__file__).resolve().parents[1]
pcap = Path(sys.argv[1]) if len(sys.argv) > 2 else repo / "data" / "sample" / "sample.pcap"
labels_csv = Path(sys.argv[2]) if len(sys.argv) > 2 else repo / "data" / "sample" / "sample.labels.csv"

# %% Flows with NFStream-style statistics, straight into pandas
t0 = time.perf_counter()
flows = netlens.flows(pcap, features="nfstream,first_seen").to_pandas()
print(f"{len(flows)} flows × {flows.shape[1]} columns from {pcap.name} in {time.perf_counter() - t0:.2f} s")

# %% Attach the ground-truth labels (keyed by 5-tuple and first-packet time)
labels = pd.read_csv(labels_csv)
flows["first_seen_ms"] = flows["first_seen"].astype("int64") // 1000
key = ["src_ip", "src_port", "dst_ip", "dst_port", "protocol", "first_seen_ms"]
df = flows.merge(labels[key + ["label"]], on=key, how="inner")
print(f"{len(df)} labelled flows; classes: {df['label'].value_counts().to_dict()}")

# %% Features: the numeric flow statistics (no addresses, ports, ids or times)
skip = {"id", "src_port", "dst_port", "first_seen_ms", "vlan_id", "tunnel_id"}
features = [c for c in df.columns if df[c].dtype.kind in "iuf" and c not in skip]
X = df[features].to_numpy(dtype=float)
y = df["label"].to_numpy()
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)

# %% scikit-learn random forest
sk = RandomForestClassifier(n_estimators=50, random_state=0).fit(X_tr, y_tr)
sk_pred = sk.predict(X_te)

# %% netlens random forest, used exactly like a scikit-learn estimator
nl = netlens.NetlensClassifier(model="rf", n_trees=50, random_state=0).fit(X_tr, y_tr)
nl_pred = nl.predict(X_te)

majority = max(np.mean(y_te == c) for c in np.unique(y_te))
print(f"{'model':<22}{'accuracy':>9}{'macro-F1':>10}")
print(f"{'majority class':<22}{majority:>9.4f}{'':>10}")
for name, p in [("scikit-learn RF", sk_pred), ("netlens RF", nl_pred)]:
    print(f"{name:<22}{accuracy_score(y_te, p):>9.4f}{f1_score(y_te, p, average='macro'):>10.4f}")
print(f"agreement between the two: {np.mean(sk_pred == nl_pred):.4f}")

# %% 3-fold cross-validation of both through sklearn's own machinery
for name, est in [("scikit-learn RF", RandomForestClassifier(n_estimators=30, random_state=0)),
                  ("netlens RF", netlens.NetlensClassifier(n_trees=30, random_state=0))]:
    s = cross_val_score(est, X, y, cv=3)
    print(f"cv accuracy {name:<16} {s.mean():.4f} ± {s.std():.4f}")

# %% Save the netlens model; reload it (also usable as `netlens predict --model FILE`)
with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "rf.nlm"
    nl.save(path)
    back = netlens.load_model(path)
    same = np.array_equal(back.predict(X_te), nl_pred)
    print(f"reloaded model {back.model_!r}: identical predictions = {same}")

# %% Check
ok = (
    accuracy_score(y_te, sk_pred) > majority
    and accuracy_score(y_te, nl_pred) > majority
    and same
)
sys.exit(0 if ok else 1)
