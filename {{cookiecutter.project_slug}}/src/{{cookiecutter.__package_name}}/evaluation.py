"""The metric catalogue: every metric defined once (task, direction, label, how it is computed).

Metrics are computed from prediction tables, so any two models can be scored the same way. A
prediction table has a `prediction` column and, for classification, one `proba_<class>` column per
class (what `predict` writes). Settings, training, the bootstrap, the PR comment and `infer-schema`
all read this catalogue.

Nine metrics are built in (their bootstrap is vectorised in bootstrap.py). Any other name that
scikit-learn has a scorer for also works: `average_precision`, `balanced_accuracy`, or an error such
as `mean_absolute_percentage_error` (sklearn's `neg_` scorer, reported positive, smaller better).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

PROBA_PREFIX = "proba_"
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # classification or regression
    direction: int  # +1 when larger is better
    label: str  # as a reviewer reads it
    compute: Callable  # (y, preds, classes, positive) -> float
    fast: bool = False  # bootstrap.py has a vectorised path for it
    uses_labels: bool = False  # computed from the predicted class, so it moves with the threshold
    # (y, preds, classes, positive, draws) -> one value per array of row numbers in `draws`, NaN when
    # undefined: the general bootstrap path, preparing the predictions once for all resamples.
    on_rows: Callable | None = None


def proba_columns(classes: Sequence) -> list[str]:
    return [f"{PROBA_PREFIX}{c}" for c in classes]


def _sklearn_metrics():
    # Imported on first use: settings and `--help` need only the catalogue's names.
    from sklearn import metrics

    return metrics


def _label_metric(name: str) -> Callable:
    def metric(y, preds, classes, positive):
        fn = getattr(_sklearn_metrics(), name)
        if len(classes) == 2:
            return fn(y, preds["prediction"], pos_label=positive, zero_division=0)
        return fn(y, preds["prediction"], labels=list(classes), average="macro", zero_division=0)

    return metric


def _roc_auc(y, preds, classes, positive):
    skm = _sklearn_metrics()
    if len(classes) == 2:
        return skm.roc_auc_score(y == positive, preds[f"{PROBA_PREFIX}{positive}"])
    return skm.roc_auc_score(y, preds[proba_columns(classes)], multi_class="ovr", labels=list(classes))


def _log_loss(y, preds, classes, _):
    return _sklearn_metrics().log_loss(y, preds[proba_columns(classes)], labels=list(classes))


def _regression(name: str, **kwargs) -> Callable:
    return lambda y, preds, *_: getattr(_sklearn_metrics(), name)(y, preds["prediction"], **kwargs)


C, R = TASKS
BUILT_IN = {
    m.name: m
    for m in (
        Metric("roc_auc", C, 1, "ROC AUC", _roc_auc, fast=True),
        Metric("log_loss", C, -1, "log loss", _log_loss, fast=True),
        Metric("f1", C, 1, "F1", _label_metric("f1_score"), fast=True, uses_labels=True),
        Metric("precision", C, 1, "precision", _label_metric("precision_score"), fast=True, uses_labels=True),
        Metric("recall", C, 1, "recall", _label_metric("recall_score"), fast=True, uses_labels=True),
        Metric("accuracy", C, 1, "accuracy", _regression("accuracy_score"), fast=True, uses_labels=True),
        Metric("rmse", R, -1, "RMSE", _regression("root_mean_squared_error"), fast=True),
        Metric("mae", R, -1, "MAE", _regression("mean_absolute_error"), fast=True),
        # force_finite=False: R² of a constant target is undefined, not 0
        Metric("r2", R, 1, "R²", _regression("r2_score", force_finite=False), fast=True),
    )
}
# What `infer-schema` writes into a new params.yaml: every built-in metric, and the primary one.
DEFAULTS = {task: [m.name for m in BUILT_IN.values() if m.task == task] for task in TASKS}
PRIMARY = {"classification": "roc_auc", "regression": "rmse"}


def find(name: str, task: str) -> Metric:
    """The metric called `name` for `task`; ValueError naming the choices when there is none."""
    metric = _lookup(name)
    if metric is None:
        close = difflib.get_close_matches(name, names_for(task), n=3)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else "."
        raise ValueError(
            f"unknown metric {name!r}{hint} Use one of {DEFAULTS[task]} or a scikit-learn scorer name "
            "(sklearn.metrics.get_scorer_names(), without `neg_` for errors)"
        )
    if metric.task != task:
        raise ValueError(f"metric {name!r} is for {metric.task}, not {task}")
    return metric


@cache
def _sklearn_names() -> tuple[str, ...]:
    return tuple(_sklearn_metrics().get_scorer_names())


def names_for(task: str) -> list[str]:
    """Every metric name `task` can use: the built-in ones, then scikit-learn's."""
    found = [*BUILT_IN, *(n.removeprefix("neg_") for n in _sklearn_names())]
    return [n for n in dict.fromkeys(found) if getattr(_lookup(n), "task", None) == task]


@cache
def _from_sklearn(name: str) -> Metric | None:
    """A scikit-learn scorer as a catalogue entry: `neg_` scorers are errors, reported positive."""
    names = _sklearn_names()
    sign = 1 if name in names else -1 if f"neg_{name}" in names else 0
    if not sign:
        return None
    scorer = _sklearn_metrics().get_scorer(name if sign == 1 else f"neg_{name}")
    module = getattr(getattr(scorer, "_score_func", None), "__module__", "")
    if not module.endswith(("_regression", "_classification", "_ranking")):
        return None  # clustering and other scorers do not score predictions against a target
    task = "regression" if module.endswith("_regression") else "classification"
    uses_labels = getattr(scorer, "_response_method", "predict") == "predict"

    def on_rows(y, preds, classes, positive, draws) -> np.ndarray:
        estimator, y = _replay(y, preds, classes, positive)
        values = []
        for rows in draws:
            try:
                values.append(sign * scorer(estimator, rows[:, None], y[rows]))
            except ValueError:  # undefined on these rows (e.g. a single class)
                values.append(np.nan)
        return np.asarray(values, dtype=float)

    def compute(y, preds, classes, positive):
        return on_rows(y, preds, classes, positive, [np.arange(len(y))])[0]

    label = name.replace("_", " ")
    return Metric(name, task, sign, label, compute, uses_labels=uses_labels, on_rows=on_rows)


def _replay(y, preds: pd.DataFrame, classes: list, positive) -> tuple:
    """(estimator, y) for a sklearn scorer called with X = row numbers (a column): the estimator
    answers with those rows' stored predictions, so one replay serves every resample.

    Binary targets become booleans (True: the positive class), as sklearn's scorers expect `pos_label=1`.
    """
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    prediction = np.asarray(preds["prediction"])
    proba = preds[proba_columns(classes)].to_numpy(dtype=float) if classes else None
    if len(classes) == 2:
        y, prediction = np.asarray(y) == positive, prediction == positive
        proba = proba[:, [classes.index(c) for c in classes if c != positive] + [classes.index(positive)]]
        classes = [False, True]

    class Replay(ClassifierMixin if classes else RegressorMixin, BaseEstimator):
        classes_ = np.asarray(classes)

        def predict(self, X):
            return prediction[X[:, 0]]

        if proba is not None:

            def predict_proba(self, X):
                return proba[X[:, 0]]

    return Replay(), np.asarray(y)


def at_threshold(preds: pd.DataFrame, threshold: float | None, classes: Sequence, positive) -> pd.DataFrame:
    """Binary predictions decided at `threshold` (as FixedThresholdClassifier does); None: unchanged."""
    if threshold is None or len(classes) != 2:
        return preds
    (negative,) = [c for c in classes if c != positive]
    chosen = preds[f"{PROBA_PREFIX}{positive}"].to_numpy() >= threshold
    return preds.assign(prediction=np.where(chosen, positive, negative))


def score(name: str, y_true, preds: pd.DataFrame, classes: Sequence = (), positive=None) -> float | None:
    """One metric; None when it is undefined on this data (e.g. ROC AUC with a single class present)."""
    metric = _entry(name)
    y = np.asarray(y_true)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics are reported as None, not warned about
        try:
            value = float(metric.compute(y, preds.reset_index(drop=True), list(classes), positive))
        except (ValueError, KeyError):
            return None
    return value if np.isfinite(value) else None


def score_all(names: Sequence[str], y_true, preds, classes: Sequence = (), positive=None) -> dict:
    return {name: score(name, y_true, preds, classes, positive) for name in names}


def direction(name: str) -> int:
    return _entry(name).direction


def label(name: str) -> str:
    return _entry(name).label


def uses_labels(name: str) -> bool:
    """Whether the metric is computed from predicted classes (so a decision threshold moves it)."""
    return _entry(name).uses_labels


def _lookup(name: str) -> Metric | None:
    return BUILT_IN.get(name) or _from_sklearn(name)


def _entry(name: str) -> Metric:
    metric = _lookup(name)
    if metric is None:
        raise KeyError(f"unknown metric {name!r}")
    return metric
