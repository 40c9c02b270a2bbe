"""scikit-learn side of the benchmark: same data, same hyper-parameters as
netlens. Prints one JSON object per model. Usage:
sk_bench.py nslkdd TRAIN TEST FIELDS  |  sk_bench.py synth TRAIN TEST"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score, recall_score
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier


# Forest size, shared with the netlens side (crates/ml/examples/bench.rs).
RF_TREES = int(os.environ.get("BENCH_RF_TREES", "100"))
RF_DEPTH = int(os.environ["BENCH_RF_DEPTH"]) if os.environ.get("BENCH_RF_DEPTH") else None


def load(kind, train, test, fields=None):
    if kind == "nslkdd":
        names = [l.split(",")[0].strip() for l in open(fields) if l.strip()] + ["attack", "difficulty"]
        tr = pd.read_csv(train, header=None, names=names)
        te = pd.read_csv(test, header=None, names=names)
        ytr = (tr.attack != "normal").astype(int).values
        yte = (te.attack != "normal").astype(int).values
        cat = ["protocol_type", "service", "flag"]
        both = pd.get_dummies(pd.concat([tr, te])[cat].astype(str))
        # Levels seen in training only (as netlens's one-hot does).
        seen = pd.get_dummies(tr[cat].astype(str)).columns
        both = both.reindex(columns=seen, fill_value=0)
        num = [c for c in names[:-2] if c not in cat]
        Xtr = np.hstack([tr[num].values, both.iloc[: len(tr)].values]).astype(float)
        Xte = np.hstack([te[num].values, both.iloc[len(tr):].values]).astype(float)
    else:
        tr = pd.read_csv(train)
        te = pd.read_csv(test)
        ytr, yte = tr.pop("label").values, te.pop("label").values
        Xtr, Xte = tr.values, te.values
    return Xtr, ytr, Xte, yte


def main():
    kind = sys.argv[1]
    Xtr, ytr, Xte, yte = load(kind, *sys.argv[2:])
    models = {
        "rf": lambda: RandomForestClassifier(n_estimators=RF_TREES, max_depth=RF_DEPTH, n_jobs=2, random_state=0),
        # netlens applies --max-depth to the single tree too.
        "tree": lambda: DecisionTreeClassifier(max_depth=RF_DEPTH, random_state=0),
        "gbt": lambda: HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_depth=6, early_stopping=False),
        "logreg": lambda: LogisticRegression(C=1.0, max_iter=1000),
    }
    only = os.environ.get("BENCH_MODELS") or (sys.argv[5] if kind == "nslkdd" and len(sys.argv) > 5 else None)
    for name, make in models.items():
        if only and name not in only.split(","):
            continue
        Xa, Xb = Xtr, Xte
        if name == "logreg":
            sc = StandardScaler().fit(Xtr)
            Xa, Xb = sc.transform(Xtr), sc.transform(Xte)
        m = make()
        t0 = time.perf_counter()
        m.fit(Xa, ytr)
        fit = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        p = m.predict(Xb)
        pred, pred_cpu = time.perf_counter() - t0, time.process_time() - c0
        print(json.dumps({
            "model": name, "fit_s": fit, "predict_s": pred, "rows_per_s": len(yte) / pred,
            "rows_per_cpu_s": len(yte) / max(pred_cpu, 1e-9),
            "accuracy": accuracy_score(yte, p), "precision": precision_score(yte, p),
            "recall": recall_score(yte, p),
        }), flush=True)


if __name__ == "__main__":
    main()
