"""The metric catalogue: every metric defined once (task, direction, label, how it is computed).

Metrics are computed from prediction tables, so any two models can be scored the same way. A
prediction table has a `prediction` column and, for classification, one `proba_<class>` column per
class (what `predict` writes). Settings, training, the bootstrap, the PR comment and `infer-schema`
all read this catalogue.

Nine metrics are built in, each with its vectorised form: how the bootstrap computes it for a whole
chunk of resamples at once (`FromSums`, `FromCounts`), so a new fast metric is one catalogue entry.
Any other name that scikit-learn has a scorer for also works: `average_precision`,
`balanced_accuracy`, or an error such as `mean_absolute_percentage_error` (sklearn's `neg_` scorer,
reported positive, smaller better); the bootstrap replays its predictions once per resample.
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
    from scipy import sparse

PROBA_PREFIX = "proba_"
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class FromSums:
    """A metric the bootstrap computes from weighted sums of per-row columns.

    Each of `columns` makes a per-row array, (n,) or (n, k), from (y, preds, classes, positive).
    The bootstrap weights every row by its count in each resample and sums, for all metrics' columns
    in one matrix product (a column shared by several metrics is made and summed once). `finish`
    gets the sums in the order of `columns`, (B,) or (k, B) each, and returns the metric's (B,)
    values: NaN where undefined, warnings about it silenced.
    """

    columns: tuple[Callable, ...]
    finish: Callable[..., np.ndarray]


@dataclass(frozen=True)
class FromCounts:
    """A metric the bootstrap computes from the counts themselves (ROC AUC ranks rows: no sum does).

    `prepare(y, preds, classes, positive)` runs once per model; `finish(prepared, counts)` turns an
    (n, B) matrix of counts (row i drawn counts[i, b] times in resample b) into (B,) values.
    """

    prepare: Callable
    finish: Callable[..., np.ndarray]


@dataclass(frozen=True)
class Metric:
    name: str
    task: str  # classification or regression
    direction: int  # +1 when larger is better
    label: str  # as a reviewer reads it
    compute: Callable  # (y, preds, classes, positive) -> float
    uses_labels: bool = False  # computed from the predicted class, so it moves with the threshold
    # How the bootstrap computes it for a chunk of resamples at once; None: the general path below.
    vectorised: FromSums | FromCounts | None = None
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


# Per-row columns for FromSums, from (y, preds, classes, positive). With every row counted once
# their sums give sklearn's values, as `compute` has them.
def _rows(y, *_) -> np.ndarray:
    return np.ones(len(y))


def _correct(y, preds, *_) -> np.ndarray:
    return np.asarray(preds["prediction"]) == y


def _averaged_classes(classes: list, positive) -> list:
    return [positive] if len(classes) == 2 else classes  # binary: the positive class; else macro


def _actual(y, preds, classes, positive) -> np.ndarray:
    return np.column_stack([y == c for c in _averaged_classes(classes, positive)])


def _predicted(y, preds, classes, positive) -> np.ndarray:
    prediction = np.asarray(preds["prediction"])
    return np.column_stack([prediction == c for c in _averaged_classes(classes, positive)])


def _hits(y, preds, classes, positive) -> np.ndarray:
    return _actual(y, preds, classes, positive) & _predicted(y, preds, classes, positive)


def _log_loss_per_row(y, preds, classes, _) -> np.ndarray:
    proba = preds[proba_columns(classes)].to_numpy()
    proba = proba if proba.dtype.kind == "f" else proba.astype(float)
    # As sklearn: clip to [eps, 1 - eps] of the probabilities' dtype. Since sklearn 1.5 (the project
    # needs >= 1.7) rows that do not sum to one only warn there and are not renormalised, so not here.
    eps = np.finfo(proba.dtype).eps
    clipped = np.clip(proba, eps, 1 - eps).astype(float)
    truth = y[:, None] == np.asarray(classes, dtype=object)[None, :]
    return -(np.log(clipped) * truth).sum(axis=1)


def _error(y, preds) -> np.ndarray:
    return np.asarray(preds["prediction"], dtype=float) - y.astype(float)


def _squared_error(y, preds, *_) -> np.ndarray:
    return _error(y, preds) ** 2


def _absolute_error(y, preds, *_) -> np.ndarray:
    return abs(_error(y, preds))


def _centred(y, *_) -> np.ndarray:
    y = y.astype(float)
    return y - y.mean()  # centring first keeps the one-pass sum of squares in _r2 accurate


def _centred_squared(y, *_) -> np.ndarray:
    return _centred(y) ** 2


# The bootstrap sums every column of a task's FromSums metrics, always in this order, a new metric's
# own columns after these: BLAS sums a column in an order that depends on its place in the matrix,
# so one place keeps a metric's last digits the same whichever metrics are asked for.
SUMS_ORDER = (
    *(_rows, _correct, _actual, _predicted, _hits, _log_loss_per_row),  # classification
    *(_squared_error, _absolute_error, _centred, _centred_squared),  # regression
)


# FromSums finishes: weighted sums -> one value per resample (zero_division=0, as `compute`).
def _mean(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return total / rows


def _root_mean(total: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return np.sqrt(total / rows)


def _macro_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0).mean(axis=0)  # macro over classes


def _f1(hits: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return _macro_ratio(2 * hits, predicted + actual)  # 2 TP / (2 TP + FP + FN)


def _r2(residual: np.ndarray, centred: np.ndarray, centred_sq: np.ndarray, rows: np.ndarray) -> np.ndarray:
    total = centred_sq - centred**2 / rows  # weighted sum of squares around the resample's own mean
    # R2 of a constant target is undefined (force_finite=False in the catalogue)
    return np.where(total > 1e-12 * centred_sq, 1 - residual / total, np.nan)


# ROC AUC as FromCounts: a weighted Mann-Whitney statistic per one-vs-rest grouping of the rows.
def _auc_groupings(y, preds, classes, positive) -> list:
    """One score grouping per one-vs-rest ROC AUC (binary: the positive class only)."""
    if len(classes) == 2:
        return [_auc_grouping(y == positive, preds[f"{PROBA_PREFIX}{positive}"].to_numpy(dtype=float))]
    proba = preds[proba_columns(classes)].to_numpy(dtype=float)
    if not np.allclose(1, proba.sum(axis=1)):
        return [None]  # sklearn refuses multiclass ROC AUC on scores that are not probabilities
    return [_auc_grouping(y == c, proba[:, k]) for k, c in enumerate(classes)]


def _auc_grouping(is_positive: np.ndarray, score: np.ndarray) -> sparse.csr_array | None:
    """(3G + 1, n) 0/1 matrix: `grouping @ counts` sums each resample's counts by score group.

    G is the number of distinct positive scores v_0 < ... < v_G-1 (sorted once). Group k holds the
    positives scoring v_k; group G + 2k the negatives scoring between v_k-1 and v_k; group G + 2k + 1
    the negatives tied with v_k; the last group the negatives above every positive. The sparse
    product is a per-group sum for all resamples at once (3x faster than gather + np.add.reduceat).
    """
    from scipy import sparse  # a dependency of scikit-learn; only the bootstrap needs it

    values = np.unique(score[is_positive])
    if not len(values) or is_positive.all():
        return None  # a single class in the holdout: undefined in every resample too
    k = np.searchsorted(values, score)  # distinct positive scores strictly below each row's score
    tied = values[np.minimum(k, len(values) - 1)] == score
    group = np.where(is_positive, k, len(values) + 2 * k + tied)
    n = len(score)
    return sparse.csr_array((np.ones(n), (group, np.arange(n))), shape=(3 * len(values) + 1, n))


def _macro_auc(groupings: list, counts: np.ndarray) -> np.ndarray:
    return np.mean([_weighted_auc(grouping, counts) for grouping in groupings], axis=0)


def _weighted_auc(grouping: sparse.csr_array | None, counts: np.ndarray) -> np.ndarray:
    """Weighted Mann-Whitney: the share of (positive, negative) pairs ranked right, ties counting half."""
    if grouping is None:
        return np.full(counts.shape[1], np.nan)
    sums = grouping @ counts
    groups = len(sums) // 3
    positive, negative = sums[:groups], sums[groups:]
    up_to = np.cumsum(negative, axis=0)  # negatives scoring at most each group's score
    wins = (positive * (up_to[1::2] - 0.5 * negative[1::2])).sum(axis=0)
    return wins / (positive.sum(axis=0) * up_to[-1])  # NaN when a resample lacks either class


C, R = TASKS
# A table, one metric per two lines: what it is, then how the bootstrap computes it (`vectorised`).
# fmt: off
BUILT_IN = {m.name: m for m in (
    Metric("roc_auc", C, 1, "ROC AUC", _roc_auc,
           vectorised=FromCounts(_auc_groupings, _macro_auc)),
    Metric("log_loss", C, -1, "log loss", _log_loss,
           vectorised=FromSums((_log_loss_per_row, _rows), _mean)),
    Metric("f1", C, 1, "F1", _label_metric("f1_score"), uses_labels=True,
           vectorised=FromSums((_hits, _predicted, _actual), _f1)),
    Metric("precision", C, 1, "precision", _label_metric("precision_score"), uses_labels=True,
           vectorised=FromSums((_hits, _predicted), _macro_ratio)),
    Metric("recall", C, 1, "recall", _label_metric("recall_score"), uses_labels=True,
           vectorised=FromSums((_hits, _actual), _macro_ratio)),
    Metric("accuracy", C, 1, "accuracy", _regression("accuracy_score"), uses_labels=True,
           vectorised=FromSums((_correct, _rows), _mean)),
    Metric("rmse", R, -1, "RMSE", _regression("root_mean_squared_error"),
           vectorised=FromSums((_squared_error, _rows), _root_mean)),
    Metric("mae", R, -1, "MAE", _regression("mean_absolute_error"),
           vectorised=FromSums((_absolute_error, _rows), _mean)),
    # force_finite=False: R² of a constant target is undefined, not 0
    Metric("r2", R, 1, "R²", _regression("r2_score", force_finite=False),
           vectorised=FromSums((_squared_error, _centred, _centred_squared, _rows), _r2)),
)}
# fmt: on

# What `infer-schema` writes into a new params.yaml: every built-in metric, and the primary one.
DEFAULTS = {task: [m.name for m in BUILT_IN.values() if m.task == task] for task in TASKS}
PRIMARY = {"classification": "roc_auc", "regression": "rmse"}


def metric(name: str, task: str) -> Metric:
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
        assert proba is not None  # classification: the probabilities are there
        proba = proba[:, [classes.index(c) for c in classes if c != positive] + [classes.index(positive)]]
        classes = [False, True]

    class Replay(ClassifierMixin if classes else RegressorMixin, BaseEstimator):  # type: ignore[misc]
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


def metric_label(name: str) -> str:
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
