"""netlens models from Python.

``Model`` wraps a netlens model file (the ``.nlm`` files of ``netlens train``
and ``netlens predict``): models trained by the CLI load here and models
trained here load in the CLI. ``NetlensClassifier`` and ``NetlensRegressor``
are scikit-learn estimators (``fit``/``predict``/``predict_proba``/``score``/
``get_params``/``set_params``) over the same engine, so they drop into
sklearn pipelines, ``cross_val_score`` and grid searches.

scikit-learn is imported when one of the two estimator classes is first
used (``netlens.NetlensClassifier``, ``load_model``), not by ``import
netlens``: importing it takes seconds, and flows need none of it. The
classes are real subclasses of sklearn's ``BaseEstimator`` and mixins (so
tags, ``clone``, ``repr`` and meta-estimators behave as for sklearn's own),
built once on first access; without scikit-learn they get small stand-ins
with the same ``get_params``/``set_params``/``score``.

Data can be a pandas or polars DataFrame, a pyarrow Table/RecordBatch, a
``netlens.Flows`` object, a dict of columns or a 2-D numpy array (columns
named ``x0``, ``x1``, ... unless the model knows its input names).
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa

from . import _netlens


class _StandIns:
    """Stand-ins for sklearn's base classes when scikit-learn is not installed."""

    class BaseEstimator:
        """Minimal stand-in for sklearn's BaseEstimator (parameters = __init__ arguments)."""

        def get_params(self, deep: bool = True) -> Dict[str, Any]:
            import inspect

            names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
            return {n: getattr(self, n) for n in names}

        def set_params(self, **params: Any) -> Any:
            valid = self.get_params()
            for k, v in params.items():
                if k not in valid:
                    raise ValueError(f"invalid parameter {k!r} for {type(self).__name__}")
                setattr(self, k, v)
            return self

    class ClassifierMixin:
        """Accuracy as ``score``."""

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            return float(np.mean(np.asarray(self.predict(X)) == np.asarray(y)))

    class RegressorMixin:
        """R² as ``score``."""

        def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
            y = np.asarray(y, dtype=float)
            p = np.asarray(self.predict(X), dtype=float)
            ss = float(((y - y.mean()) ** 2).sum())
            return 1.0 - float(((y - p) ** 2).sum()) / ss if ss > 0 else 0.0


Data = Any

_LABEL = "__netlens_label__"


def to_arrow_table(data: Data, names: Optional[Sequence[str]] = None) -> pa.Table:
    """Convert supported tabular data to a ``pyarrow.Table``."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    to_arrow = getattr(data, "to_arrow", None)
    if callable(to_arrow):  # netlens.Flows, polars.DataFrame
        t = to_arrow()
        return t if isinstance(t, pa.Table) else pa.table(t)
    mod = type(data).__module__
    if mod.startswith("pandas"):
        import pandas as pd

        if isinstance(data, pd.Series):
            data = data.to_frame()
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, dict):
        return pa.table(data)
    if hasattr(data, "__arrow_c_stream__"):
        return pa.table(data)
    arr = np.asarray(data)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"expected 2-D data (rows × columns), got an array of shape {arr.shape}")
    if names is None or len(names) != arr.shape[1]:
        names = [f"x{i}" for i in range(arr.shape[1])]
    if arr.dtype == object:
        return pa.table({n: pa.array(list(arr[:, i])) for i, n in enumerate(names)})
    return pa.table({n: np.ascontiguousarray(arr[:, i]) for i, n in enumerate(names)})


def _missing(v: Any) -> bool:
    """Whether a label value is missing (None or a float NaN)."""
    return v is None or (isinstance(v, float) and v != v)


class Model:
    """A trained netlens model (a netlens model file)."""

    def __init__(self, raw: "_netlens.Model") -> None:
        self._raw = raw

    @classmethod
    def train(cls, data: Data, model: str = "rf", *, label: Optional[str] = None, **options: Any) -> "Model":
        """Train on a table with ``netlens train``'s options (no hold-out: every row trains).

        ``model``: rf, gbt, logreg, tree, linear, ridge, iforest, kmeans.
        Options: benign / positive (lists of label values for a binary task),
        features / exclude (names, globs), time_column, scaling, non_finite,
        encoding, ip, n_trees, max_depth, max_features, iterations,
        learning_rate, gbt_depth, alpha, k, sample_size, threshold, seed,
        keep_identifiers.

        As ``netlens train``: without ``features``, identifier and absolute-time
        columns (``id``, MACs, ``first_seen``/``last_seen``, ``*_first_seen_ms``,
        ``Flow ID``, ``Timestamp``, ...) are left out unless
        ``keep_identifiers=True``, and list columns (``splt_*``) are left out;
        rows with no label value are left out with a ``UserWarning``; a
        ``benign``/``positive`` list that leaves one class is an error.
        """
        for key in ("benign", "positive", "features", "exclude"):
            v = options.get(key)
            if v is None:
                options.pop(key, None)
            elif isinstance(v, str):
                options[key] = [v]
            else:
                options[key] = [str(x) for x in v]
        return cls(_netlens.Model.train(to_arrow_table(data), model, label=label, **options))

    @classmethod
    def load(cls, path: Union[str, "os.PathLike[str]"]) -> "Model":
        """Load a model file (from ``netlens train`` or ``Model.save``)."""
        return cls(_netlens.Model.load(os.fspath(path)))

    @classmethod
    def from_bytes(cls, data: bytes) -> "Model":
        """Parse a model file's bytes."""
        return cls(_netlens.Model.from_bytes(data))

    def to_bytes(self) -> bytes:
        """The model file's bytes."""
        return self._raw.to_bytes()

    def __reduce__(self) -> Any:
        # pickle, joblib, copy.deepcopy and scikit-learn's parallel tools
        # go through the model file's bytes (the Rust object has no state
        # Python can see).
        return (Model.from_bytes, (self.to_bytes(),))

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the model file."""
        self._raw.save(os.fspath(path))

    def _table(self, data: Data) -> pa.Table:
        return to_arrow_table(data, names=self.input_columns)

    def predict(self, data: Data) -> np.ndarray:
        """Predicted class names (or values / cluster ids as text), as ``netlens predict``'s column."""
        pred, _ = self._raw.predict(self._table(data))
        return np.asarray(pred, dtype=object)

    def predict_scores(self, data: Data) -> np.ndarray:
        """``netlens predict``'s score column: P(attack) for binary tasks, P(predicted class),
        anomaly score, regression value or centroid distance."""
        _, score = self._raw.predict(self._table(data))
        return np.asarray(score, dtype=float)

    def predict_proba(self, data: Data) -> np.ndarray:
        """Class probabilities, rows × ``classes`` (classifiers; anomaly models give [1-s, s])."""
        kind, values, k = self._raw.output(self._table(data))
        v = np.asarray(values, dtype=float)
        if kind == "proba":
            return v.reshape(-1, k)
        if kind == "anomaly":
            return np.column_stack([1.0 - v, v])
        raise ModelTypeError(f"a {self.kind} model has no class probabilities")

    def evaluate(self, data: Data, permutation: bool = False) -> Dict[str, Any]:
        """Metrics on a labelled table (the CLI's evaluation JSON as a dict)."""
        return json.loads(self._raw.evaluate_json(self._table(data), permutation))

    @property
    def kind(self) -> str:
        """Model family (rf, gbt, logreg, tree, linear, ridge, iforest, kmeans)."""
        return self._raw.kind

    @property
    def classes(self) -> List[str]:
        """Class names, in probability-column order."""
        return self._raw.classes

    @property
    def label(self) -> Optional[str]:
        """Label column used in training."""
        return self._raw.label

    @property
    def threshold(self) -> Optional[float]:
        """Decision threshold on the positive-class / anomaly score."""
        return self._raw.threshold

    @property
    def input_columns(self) -> List[str]:
        """Columns the model reads."""
        return self._raw.input_columns

    @property
    def feature_names(self) -> List[str]:
        """Features after preprocessing (one-hot levels expanded)."""
        return self._raw.feature_names

    @property
    def info(self) -> Dict[str, Any]:
        """Training metadata and preprocessing report."""
        return json.loads(self._raw.info_json())

    def __repr__(self) -> str:
        return repr(self._raw)


class ModelTypeError(TypeError):
    """The model family does not support the operation."""


def load_model(path: Union[str, "os.PathLike[str]"]) -> Union["NetlensClassifier", "NetlensRegressor", Model]:
    """Load a netlens model file as a fitted scikit-learn style estimator.

    Classifiers (rf, gbt, logreg, tree) give a ``NetlensClassifier``,
    regressions (linear, ridge) a ``NetlensRegressor``; anomaly and
    clustering models are returned as a plain ``Model``.
    """
    m = Model.load(path)
    if m.kind in ("linear", "ridge"):
        return _estimator_class("NetlensRegressor")._from_model(m)
    if m.kind in ("iforest", "kmeans"):
        return m
    return _estimator_class("NetlensClassifier")._from_model(m)


def _train_on_y(t: pa.Table, model: str, options: Dict[str, Any]) -> "Model":
    """Train on ``t`` whose label column is the estimator's ``y``; the
    engine's errors and warnings about it say ``y``, not the internal name,
    and bad data is a ``ValueError`` as scikit-learn users expect."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            m = Model.train(t, model, label=_LABEL, **options)
        except _netlens.ModelError as e:
            raise ValueError(str(e).replace(repr(_LABEL), "y").replace(_LABEL, "y")) from e
    for w in caught:
        warnings.warn_explicit(
            str(w.message).replace(repr(_LABEL), "y").replace(_LABEL, "y"),
            w.category,
            w.filename,
            w.lineno,
        )
    return m


class _NetlensEstimator:
    """What both estimators share (no sklearn base: see ``_estimator_class``)."""

    def _train_options(self) -> Dict[str, Any]:
        opts = dict(
            n_trees=self.n_trees,
            max_depth=self.max_depth,
            max_features=self.max_features,
            iterations=self.iterations,
            learning_rate=self.learning_rate,
            gbt_depth=self.gbt_depth,
            alpha=self.alpha,
            scaling=self.scaling,
            non_finite=self.non_finite,
            encoding=self.encoding,
            ip=self.ip,
            seed=self.random_state if self.random_state is not None else 0,
            keep_identifiers=bool(self.keep_identifiers),
        )
        if self.features is not None:
            opts["features"] = list(self.features)
        if self.exclude is not None:
            opts["exclude"] = list(self.exclude)
        return opts

    def _input_table(self, X: Data, fitting: bool) -> pa.Table:
        names = None if fitting else getattr(self, "feature_names_in_", None)
        shape = getattr(X, "shape", None)
        if not fitting and names is not None and shape is not None and len(shape) == 2 and not hasattr(X, "columns"):
            # Columns of an array are matched by position: a different
            # count would score the wrong columns silently.
            if shape[1] != len(names):
                raise ValueError(f"X has {shape[1]} features, but this estimator was fitted with {len(names)}")
        t = to_arrow_table(X, names=list(names) if names is not None else None)
        if _LABEL in t.column_names:
            raise ValueError(f"column name {_LABEL!r} is reserved")
        return t

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            try:
                from sklearn.exceptions import NotFittedError
            except ImportError:  # pragma: no cover
                NotFittedError = AttributeError  # type: ignore[misc, assignment]
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _set_inputs(self, t: pa.Table) -> None:
        self.feature_names_in_ = np.asarray(t.column_names, dtype=object)
        self.n_features_in_ = len(t.column_names)

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Write the fitted model as a netlens model file (loads in ``netlens predict``)."""
        self._check_fitted()
        self.model_.save(path)


class _Classifier(_NetlensEstimator):
    """scikit-learn classifier backed by a netlens model (rf, gbt, logreg or tree).

    Labels may be any hashable values; they are compared as text by the
    engine and returned in their original type. ``random_state`` is the seed.
    Numeric arrays become columns ``x0 … x{n-1}``; DataFrames keep their names.
    Missing labels (None, NaN) leave their rows out of training (with a
    warning). Identifier and time columns (``id``, MACs, ``first_seen``, ...)
    are not features unless ``keep_identifiers=True`` or ``features`` is given,
    as in ``netlens train``.
    """

    _estimator_type = "classifier"

    def __init__(
        self,
        model: str = "rf",
        n_trees: int = 100,
        max_depth: Optional[int] = None,
        max_features: Optional[int] = None,
        iterations: int = 100,
        learning_rate: float = 0.1,
        gbt_depth: int = 6,
        alpha: float = 1.0,
        scaling: Optional[str] = None,
        non_finite: str = "impute",
        encoding: str = "onehot",
        ip: str = "drop",
        features: Optional[Sequence[str]] = None,
        exclude: Optional[Sequence[str]] = None,
        random_state: Optional[int] = None,
        keep_identifiers: bool = False,
    ) -> None:
        self.model = model
        self.n_trees = n_trees
        self.max_depth = max_depth
        self.max_features = max_features
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.gbt_depth = gbt_depth
        self.alpha = alpha
        self.scaling = scaling
        self.non_finite = non_finite
        self.encoding = encoding
        self.ip = ip
        self.features = features
        self.exclude = exclude
        self.random_state = random_state
        self.keep_identifiers = keep_identifiers

    def fit(self, X: Data, y: Any) -> "NetlensClassifier":
        """Fit on features ``X`` and labels ``y``."""
        if self.model not in ("rf", "gbt", "logreg", "tree"):
            raise ValueError(f"NetlensClassifier model must be rf, gbt, logreg or tree, not {self.model!r}")
        t = self._input_table(X, fitting=True)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != t.num_rows:
            raise ValueError(f"y must be 1-D with one label per row ({t.num_rows}), got shape {y.shape}")
        self._set_inputs(t)
        # Missing labels (None, NaN) stay missing: the engine leaves those
        # rows out with a warning, as `netlens train` does.
        text = [None if _missing(v) else str(v) for v in y.tolist()]
        back = {}
        for s, v in zip(text, y.tolist()):
            if s is not None:
                back.setdefault(s, v)
        m = _train_on_y(t.append_column(_LABEL, pa.array(text, pa.string())), self.model, self._train_options())
        self._adopt(m, back)
        return self

    def _adopt(self, m: Model, back: Optional[Dict[str, Any]]) -> None:
        self.model_ = m
        names = m.classes
        back = back or {c: c for c in names}
        self._back = back
        values = [back.get(c, c) for c in names]
        # scikit-learn expects classes_ sorted (np.unique order) and reads
        # predict_proba's columns in that order; the engine orders classes
        # its own way (benign first, so the other class is the positive one).
        try:
            order = sorted(range(len(values)), key=lambda i: values[i])
        except TypeError:  # labels of mixed types: keep the engine's order
            order = list(range(len(values)))
        self._proba_order = np.asarray(order, dtype=np.intp)
        self.classes_ = np.asarray([values[i] for i in order])

    @classmethod
    def _from_model(cls, m: Model) -> "NetlensClassifier":
        est = cls(model=m.kind)
        est._adopt(m, None)
        est.feature_names_in_ = np.asarray(m.input_columns, dtype=object)
        est.n_features_in_ = len(m.input_columns)
        return est

    def predict(self, X: Data) -> np.ndarray:
        """Predicted labels (binary tasks use the model's threshold on P(positive))."""
        self._check_fitted()
        pred = self.model_.predict(self._input_table(X, fitting=False))
        return np.asarray([self._back.get(p, p) for p in pred], dtype=self.classes_.dtype)

    def predict_proba(self, X: Data) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order (sorted, as scikit-learn expects)."""
        self._check_fitted()
        p = np.asarray(self.model_.predict_proba(self._input_table(X, fitting=False)))
        return p[:, self._proba_order] if p.ndim == 2 else p


class _Regressor(_NetlensEstimator):
    """scikit-learn regressor backed by a netlens linear or ridge model."""

    _estimator_type = "regressor"

    def __init__(
        self,
        model: str = "ridge",
        alpha: float = 1.0,
        scaling: Optional[str] = None,
        non_finite: str = "impute",
        encoding: str = "onehot",
        ip: str = "drop",
        features: Optional[Sequence[str]] = None,
        exclude: Optional[Sequence[str]] = None,
        random_state: Optional[int] = None,
        keep_identifiers: bool = False,
    ) -> None:
        self.model = model
        self.alpha = alpha
        self.scaling = scaling
        self.non_finite = non_finite
        self.encoding = encoding
        self.ip = ip
        self.features = features
        self.exclude = exclude
        self.random_state = random_state
        self.keep_identifiers = keep_identifiers

    # Tree options do not apply to linear models; the engine ignores them.
    n_trees = 100
    max_depth = None
    max_features = None
    iterations = 100
    learning_rate = 0.1
    gbt_depth = 6

    def fit(self, X: Data, y: Any) -> "NetlensRegressor":
        """Fit on features ``X`` and numeric targets ``y``."""
        if self.model not in ("linear", "ridge"):
            raise ValueError(f"NetlensRegressor model must be linear or ridge, not {self.model!r}")
        t = self._input_table(X, fitting=True)
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 or len(y) != t.num_rows:
            raise ValueError(f"y must be 1-D with one value per row ({t.num_rows}), got shape {y.shape}")
        self._set_inputs(t)
        self.model_ = _train_on_y(t.append_column(_LABEL, pa.array(y)), self.model, self._train_options())
        return self

    @classmethod
    def _from_model(cls, m: Model) -> "NetlensRegressor":
        est = cls(model=m.kind)
        est.model_ = m
        est.feature_names_in_ = np.asarray(m.input_columns, dtype=object)
        est.n_features_in_ = len(m.input_columns)
        return est

    def predict(self, X: Data) -> np.ndarray:
        """Predicted values."""
        self._check_fitted()
        return self.model_.predict_scores(self._input_table(X, fitting=False))


#: The estimator classes, built on first use by ``_estimator_class``.
_CLASSES: Dict[str, type] = {}

#: Public name → (implementation, sklearn mixin name).
_ESTIMATORS: Dict[str, Tuple[type, str]] = {
    "NetlensClassifier": (_Classifier, "ClassifierMixin"),
    "NetlensRegressor": (_Regressor, "RegressorMixin"),
}


def _estimator_class(name: str) -> type:
    """``NetlensClassifier`` or ``NetlensRegressor``: the implementation class
    under sklearn's mixin and ``BaseEstimator`` (imported now, the first time),
    or under the stand-ins without scikit-learn. Built once, so the class is
    the same object every time (isinstance and pickle work)."""
    cls = _CLASSES.get(name)
    if cls is None:
        try:
            import sklearn.base as bases
        except ImportError:
            bases = _StandIns  # type: ignore[assignment]
        impl, mixin = _ESTIMATORS[name]
        ns = {"__module__": __name__, "__qualname__": name, "__doc__": impl.__doc__}
        cls = type(name, (getattr(bases, mixin), impl, bases.BaseEstimator), ns)
        _CLASSES[name] = cls
    return cls


if TYPE_CHECKING:
    NetlensClassifier = _Classifier
    NetlensRegressor = _Regressor


def __getattr__(name: str) -> Any:
    """``NetlensClassifier``/``NetlensRegressor`` on first access (imports scikit-learn then)."""
    if name in _ESTIMATORS:
        return _estimator_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(list(globals()) + list(_ESTIMATORS))
