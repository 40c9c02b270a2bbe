"""netlens models from Python: CLI ↔ Python model files, sklearn conventions, errors."""

import csv
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import netlens
from conftest import REPO, SAMPLE, SAMPLE_LABELS

FEATURES = ["bidirectional_*", "src2dst_*", "dst2src_*", "protocol", "dst_port"]


def label_index():
    labels = {}
    with open(SAMPLE_LABELS, newline="") as fh:
        for r in csv.DictReader(fh):
            k = (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["protocol"], r["first_seen_ms"])
            labels[k] = r["label"]
    return labels


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, cli):
    """The sample's flows as the CLI's CSV with a label column, and as pandas with the same labels."""
    d = tmp_path_factory.mktemp("ml")
    raw = d / "flows.csv"
    cli("flows", SAMPLE, "--features", "nfstream,first_seen", "-q", "-o", raw)
    idx = label_index()
    out = d / "labelled.csv"
    with open(raw, newline="") as fi, open(out, "w", newline="") as fo:
        r, w = csv.reader(fi), csv.writer(fo, lineterminator="\n")
        header = next(r)
        w.writerow(header + ["label"])
        pos = {n: header.index(n) for n in ("src_ip", "src_port", "dst_ip", "dst_port", "protocol", "first_seen")}
        for row in r:
            ms = str(int(pd.Timestamp(row[pos["first_seen"]]).value // 1_000_000))
            k = tuple(row[pos[n]] for n in ("src_ip", "src_port", "dst_ip", "dst_port", "protocol")) + (ms,)
            w.writerow(row + [idx.get(k, "benign")])
    df = netlens.flows(SAMPLE, features="nfstream,first_seen").to_pandas()
    ms = (df["first_seen"].astype("int64") // 1000).astype(str)
    df["label"] = [
        idx.get((a, str(b), c, str(e), str(p), m), "benign")
        for a, b, c, e, p, m in zip(df.src_ip, df.src_port, df.dst_ip, df.dst_port, df.protocol, ms)
    ]
    assert (df["label"] == "attack").sum() > 10 and (df["label"] == "benign").sum() > 10
    return d, out, df


def cli_predictions(cli, model, table, out):
    cli("predict", table, "--model", model, "-o", out)
    p = pd.read_csv(out)
    return p["prediction"].astype(str).to_numpy(), p["score"].to_numpy()


def test_python_model_runs_in_cli(cli, labelled):
    d, csv_path, df = labelled
    m = netlens.Model.train(df, "rf", label="label", benign=["benign"], features=FEATURES, n_trees=20, seed=1)
    assert m.classes == ["benign", "attack"]
    path = d / "py.nlm"
    m.save(path)
    pred, score = cli_predictions(cli, path, csv_path, d / "pred_py.csv")
    assert list(pred) == list(m.predict(df))
    np.testing.assert_allclose(score, m.predict_scores(df), rtol=1e-12)
    ev = m.evaluate(df)
    assert ev["metrics"]["accuracy"] > 0.9


def test_cli_model_runs_in_python(cli, labelled):
    d, csv_path, df = labelled
    path = d / "cli.nlm"
    cli("train", csv_path, "--model", "gbt", "--label", "label", "--benign", "benign",
        "--features", ",".join(FEATURES), "--iterations", "20", "--test-split", "0", "-o", path, "--format", "json")
    m = netlens.Model.load(path)
    assert m.kind == "gbt" and m.label == "label"
    pred, score = cli_predictions(cli, path, csv_path, d / "pred_cli.csv")
    assert list(pred) == list(m.predict(df))
    np.testing.assert_allclose(score, m.predict_scores(df), rtol=1e-9)
    # Also as a fitted sklearn-style estimator.
    est = netlens.load_model(path)
    # Sorted, as scikit-learn expects; the score is P(attack), column 0.
    assert list(est.classes_) == ["attack", "benign"]
    proba = est.predict_proba(df)
    assert proba.shape == (len(df), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 0], score, rtol=1e-9)


def test_same_training_in_cli_and_python(cli, labelled):
    d, csv_path, df = labelled
    path = d / "cli_rf.nlm"
    cli("train", csv_path, "--model", "rf", "--label", "label", "--benign", "benign", "--trees", "10",
        "--features", ",".join(FEATURES), "--test-split", "0", "-o", path, "--format", "json")
    py = netlens.Model.train(df, "rf", label="label", benign=["benign"], features=FEATURES, n_trees=10)
    assert py.feature_names == netlens.Model.load(path).feature_names
    assert list(py.predict(df)) == list(netlens.Model.load(path).predict(df))


def test_sklearn_conventions(labelled):
    sklearn = pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, _, df = labelled
    cols = [c for c in df.columns if c.startswith("bidirectional_")]
    X, y = df[cols], (df["label"] == "attack").astype(int).to_numpy()
    est = netlens.NetlensClassifier(model="tree", max_depth=6)
    assert est.get_params()["max_depth"] == 6
    est.set_params(max_depth=4)
    assert clone(est).get_params()["max_depth"] == 4
    est.fit(X, y)
    assert list(est.classes_) == [0, 1] and est.predict(X).dtype.kind in "iu"
    assert est.score(X, y) > 0.9
    scores = cross_val_score(netlens.NetlensClassifier(n_trees=10, random_state=0), X.to_numpy(), y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.8
    pipe = make_pipeline(StandardScaler(), netlens.NetlensClassifier(model="logreg")).fit(X.to_numpy(), y)
    assert pipe.score(X.to_numpy(), y) > 0.8
    reg = netlens.NetlensRegressor(model="ridge", alpha=1e-6)
    a = np.random.default_rng(0).normal(size=(200, 3))
    target = a @ np.array([1.0, -2.0, 0.5]) + 3.0
    assert reg.fit(a, target).score(a, target) > 0.999
    with pytest.raises(sklearn.exceptions.NotFittedError):
        netlens.NetlensClassifier().predict(X)


def test_model_errors(tmp_path, labelled):
    _, _, df = labelled
    with pytest.raises(FileNotFoundError):
        netlens.Model.load(tmp_path / "missing.nlm")
    junk = tmp_path / "junk.nlm"
    junk.write_bytes(b"NLMODEL\x01" + b"\x00" * 40)
    with pytest.raises(netlens.ModelError):
        netlens.Model.load(junk)
    with pytest.raises(netlens.ModelError, match="not a netlens model"):
        netlens.Model.from_bytes(b"hello, world")
    with pytest.raises(netlens.ModelError, match="no_such_column"):
        netlens.Model.train(df, "rf", label="no_such_column")
    with pytest.raises(ValueError, match="unknown model"):
        netlens.Model.train(df, "svm", label="label")
    m = netlens.Model.train(df, "tree", label="label", features=["bidirectional_packets"])
    with pytest.raises(netlens.ModelError):
        m.predict(df.drop(columns=["bidirectional_packets"]))
    assert netlens.Model.from_bytes(m.to_bytes()).predict(df).tolist() == m.predict(df).tolist()


def test_example_script_runs():
    p = subprocess.run([sys.executable, str(REPO / "examples" / "sklearn_interop.py")], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "netlens RF" in p.stdout and "identical predictions = True" in p.stdout


def test_bundled_detector_scores_a_flow_table():
    """The README's `load_model("models/detector-table.nlm")` scores a plain
    flow table (no host-context columns, which only the stream-order
    `netlens detect` computes for models/detector.nlm), and on the held-out
    sample it finds every attack flow and flags no benign one."""
    clf = netlens.load_model(REPO / "models" / "detector-table.nlm")
    df = netlens.flows(SAMPLE, features="all").to_pandas()
    pred = clf.predict(df)
    truth = {}
    with open(SAMPLE_LABELS, newline="") as fh:
        for r in csv.DictReader(fh):
            k = (r["src_ip"], int(r["src_port"]), r["dst_ip"], int(r["dst_port"]), int(r["protocol"]))
            truth[k] = r["label"] if r["label"] == "benign" else r["attack_type"]
    keys = zip(df["src_ip"], df["src_port"], df["dst_ip"], df["dst_port"], df["protocol"])
    checked = wrong = 0
    for (s, sp, d, dp, p), got in zip(keys, pred):
        want = truth.get((s, int(sp), d, int(dp), int(p))) or truth.get((d, int(dp), s, int(sp), int(p)))
        if want is not None:
            checked += 1
            wrong += want != got
    assert checked > 2000 and wrong == 0
    assert sorted(set(pred)) == ["benign", "dns_amplification", "portscan", "synflood"]


def test_identifier_columns_are_left_out_as_in_the_cli(cli, labelled):
    """Model.train and NetlensClassifier.fit leave out ids, MACs and absolute
    times like `netlens train` (one rule, in the ml crate), unless asked."""
    d, csv_path, df = labelled
    path = d / "cli_default.nlm"
    cli("train", csv_path, "--model", "tree", "--label", "label", "--test-split", "0", "-o", path,
        "--format", "json")
    ids = {"id", "src_mac", "dst_mac", "first_seen", "bidirectional_first_seen_ms", "src2dst_last_seen_ms"}
    py = netlens.Model.train(df, "tree", label="label")
    assert not ids & set(py.input_columns), py.input_columns
    assert py.input_columns == netlens.Model.load(path).input_columns
    kept = netlens.Model.train(df, "tree", label="label", keep_identifiers=True)
    assert {"id", "bidirectional_first_seen_ms"} <= set(kept.input_columns)
    est = netlens.NetlensClassifier(model="tree").fit(df.drop(columns="label"), df["label"])
    assert not ids & set(est.model_.input_columns)
    assert est.predict(df.drop(columns=["label", "id"])).shape == (len(df),)
    assert netlens.NetlensClassifier(keep_identifiers=True).get_params()["keep_identifiers"] is True


def test_label_mapping_and_missing_labels(labelled):
    _, _, df = labelled
    with pytest.raises(netlens.ModelError, match=r"benign values \[\"normal\"\].*\"attack\", \"benign\""):
        netlens.Model.train(df, "rf", label="label", n_trees=3, benign=["normal"])
    holes = df.copy()
    holes["label"] = holes["label"].astype(object)
    holes.loc[holes.index[::5], "label"] = None
    n = int(holes["label"].isna().sum())
    with pytest.warns(UserWarning, match=f"left out {n} row"):
        m = netlens.Model.train(holes, "tree", label="label", benign=["benign"])
    assert m.info["train_rows"] == len(df) - n
    X, y = holes.drop(columns="label"), holes["label"].to_numpy()
    with pytest.warns(UserWarning, match=f"left out {n} row"):
        est = netlens.NetlensClassifier(model="tree").fit(X, y)
    assert sorted(est.classes_) == ["attack", "benign"]


def test_ridge_fits_flow_tables_with_epoch_columns(labelled):
    """Epoch-millisecond columns (~1.7e12) used to break ridge's Cholesky
    solve ("not positive definite"); sklearn's Ridge fits the same data."""
    _, _, df = labelled
    X = df.select_dtypes("number").drop(columns=["bidirectional_bytes", "src2dst_bytes", "dst2src_bytes"])
    y = df["bidirectional_bytes"].astype(float)
    reg = netlens.NetlensRegressor(model="ridge", keep_identifiers=True).fit(X, y)
    assert "bidirectional_first_seen_ms" in reg.model_.input_columns
    assert reg.score(X, y) > 0.9


def test_import_netlens_does_not_import_sklearn():
    """`import netlens` stays fast: scikit-learn (seconds to import) is imported
    only when an estimator class is first used."""
    code = "import netlens, sys; print('sklearn' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"
    code = ("import netlens, sys; netlens.flows; netlens.Model; netlens.load_model; "
            "print('sklearn' in sys.modules); c = netlens.NetlensClassifier; print('sklearn' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "True"]


def test_estimators_are_sklearn_subclasses_built_once():
    import pickle

    sklearn_base = pytest.importorskip("sklearn.base")
    from sklearn.base import clone, is_classifier, is_regressor

    C, R = netlens.NetlensClassifier, netlens.NetlensRegressor
    assert C is netlens.ml.NetlensClassifier and R is netlens.ml.NetlensRegressor
    assert issubclass(C, sklearn_base.BaseEstimator) and issubclass(C, sklearn_base.ClassifierMixin)
    assert issubclass(R, sklearn_base.BaseEstimator) and issubclass(R, sklearn_base.RegressorMixin)
    assert C.__name__ == "NetlensClassifier" and C.__module__ == "netlens.ml" and "classifier" in C.__doc__
    e = C(n_trees=7)
    assert is_classifier(e) and is_regressor(R()) and repr(e) == "NetlensClassifier(n_trees=7)"
    back = pickle.loads(pickle.dumps(e))
    assert type(back) is C and back.get_params() == e.get_params()
    assert type(clone(e)) is C
    from netlens import NetlensClassifier

    assert NetlensClassifier is C and "NetlensRegressor" in dir(netlens)
    with pytest.raises(AttributeError):
        netlens.NoSuchThing


def test_estimators_work_without_sklearn():
    """Without scikit-learn the estimators get stand-in bases with the same API."""
    code = """
import sys
sys.modules["sklearn"] = None  # import sklearn -> ImportError
import numpy as np
import netlens
rng = np.random.default_rng(0)
X = rng.normal(size=(300, 3)); y = (X[:, 0] > 0).astype(int)
c = netlens.NetlensClassifier(model="tree", max_depth=3).fit(X, y)
assert c.score(X, y) > 0.95, c.score(X, y)
assert c.get_params()["max_depth"] == 3 and c.set_params(max_depth=2).max_depth == 2
r = netlens.NetlensRegressor(alpha=1e-6).fit(X, X @ np.array([1.0, 2.0, 3.0]))
assert r.score(X, X @ np.array([1.0, 2.0, 3.0])) > 0.999
assert not any(m == "sklearn" or m.startswith("sklearn.") for m in sys.modules if sys.modules[m] is not None)
print("ok")
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "model, kwargs, message",
    [
        ("rf", dict(threshold=2.0), r"threshold must be .* from 0 to 1, got 2"),
        ("rf", dict(threshold=-0.1), r"threshold must be"),
        ("rf", dict(threshold=float("nan")), r"threshold must be"),
        ("tree", dict(max_depth=0), r"max_depth must be at least 1"),
        ("rf", dict(max_features=0), r"max_features must be at least 1"),
        ("gbt", dict(gbt_depth=0), r"gbt_depth must be at least 1"),
        ("gbt", dict(iterations=0), r"iterations must be at least 1"),
        ("gbt", dict(learning_rate=0.0), r"learning_rate must be a positive number"),
    ],
)
def test_out_of_range_training_options_are_rejected(labelled, model, kwargs, message):
    _, _, df = labelled
    with pytest.raises(ValueError, match=message):
        netlens.Model.train(df, model, label="label", **kwargs)


def test_estimator_options_are_checked_too(labelled):
    _, _, df = labelled
    X, y = df[["bidirectional_packets", "bidirectional_bytes"]], df["label"]
    with pytest.raises(ValueError, match="max_depth must be at least 1"):
        netlens.NetlensClassifier(model="tree", max_depth=0).fit(X, y)
    # In-range values still train; threshold 0.3 is kept in the model.
    m = netlens.Model.train(df, "tree", label="label", benign=["benign"], threshold=0.3, max_depth=3)
    assert m.threshold == pytest.approx(0.3)


def test_classes_are_sorted_for_sklearn_and_probabilities_follow_them(labelled):
    # scikit-learn reads predict_proba's columns in sorted classes_ order;
    # the engine puts the benign class first and numbers by value.
    sklearn = pytest.importorskip("sklearn")
    from sklearn.metrics import roc_auc_score

    _, _, df = labelled
    X = df[[c for c in df.columns if c.startswith("bidirectional_")]]
    attack = (df["label"] == "attack").to_numpy()
    y = np.where(attack, 10, 2)
    est = netlens.NetlensClassifier(model="tree", max_depth=6).fit(X, y)
    assert list(est.classes_) == [2, 10]
    assert roc_auc_score(attack, est.predict_proba(X)[:, 1]) > 0.9
    text = netlens.NetlensClassifier(model="tree", max_depth=6).fit(X, df["label"])
    assert list(text.classes_) == ["attack", "benign"]
    assert roc_auc_score(attack, text.predict_proba(X)[:, 0]) > 0.9
    # Used as it is, an attack/benign label makes attack the positive class:
    # the score is P(attack), as `netlens predict --help` says.
    m = netlens.Model.train(df[[*X.columns, "label"]], "tree", label="label", max_depth=6)
    assert m.classes == ["benign", "attack"]


def test_models_and_estimators_pickle_and_arrays_are_checked(labelled):
    import copy
    import pickle

    _, _, df = labelled
    X = df[[c for c in df.columns if c.startswith("bidirectional_")]].to_numpy()
    y = df["label"].to_numpy()
    est = netlens.NetlensClassifier(model="tree", max_depth=4).fit(X, y)
    for clone in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        assert list(clone.predict(X)) == list(est.predict(X))
    m = netlens.Model.train(df[["bidirectional_packets", "bidirectional_bytes", "label"]], "tree", label="label")
    assert pickle.loads(pickle.dumps(m)).to_bytes() == m.to_bytes()
    # An array with another column count is refused, not scored by position.
    with pytest.raises(ValueError, match="features"):
        est.predict(np.hstack([X, X[:, :1]]))


def test_estimator_errors_name_y_and_series_checks_top():
    X = np.arange(20, dtype=float).reshape(10, 2)
    with pytest.raises(ValueError) as e:
        netlens.NetlensClassifier(model="tree").fit(X, np.zeros(10))
    assert "__netlens_label__" not in str(e.value) and "y" in str(e.value)
    with pytest.raises(ValueError, match="top"):
        netlens.series(SAMPLE, top=-1)


def test_text_labels_keep_their_spelling():
    """Labels given as text that read as numbers ('01', '02') come back as
    given, in classes_ and from predict, not as '1' and '2'."""
    from netlens.ml import NetlensClassifier

    X = np.random.RandomState(0).rand(80, 3)
    y = np.where(X[:, 0] > 0.5, "01", "02")
    clf = NetlensClassifier(model="tree").fit(X, y)
    assert list(clf.classes_) == ["01", "02"]
    assert set(clf.predict(X)) <= {"01", "02"}
    assert (clf.predict(X) == y).mean() > 0.9
