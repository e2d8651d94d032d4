"""Bootstrap confidence intervals for holdout metrics, paired when two models are compared.

Paired: every resample draws one set of holdout rows and scores *both* models on it, so the interval
is of the difference (challenger - champion) on the same rows. Rows that are easy or hard for both
models move both scores together and cancel out, which makes the interval far tighter than two
separate intervals: one that excludes 0 means a real difference, not a lucky holdout.

A resample is a vector of bootstrap counts (how often each row was drawn). Every metric is a
weighted statistic of per-row quantities, so a chunk of resamples is scored with a matrix product
(a sparse one for ROC AUC) instead of a Python loop. With every count equal to one the metrics
equal sklearn's, as `evaluation.score` computes them. Other metrics of the catalogue (any scikit-learn
scorer) take the general path: each resample's rows are materialised and scored one by one, on the
same resamples, so they stay paired (see BENCHMARKS.md for what that costs).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse  # a dependency of scikit-learn

from . import evaluation
from .evaluation import PROBA_PREFIX, proba_columns

# Rows x resamples per chunk. 8 MB float64 matrices stay in cache and below malloc's mmap threshold,
# so buffers are reused; 5e6 cells (40 MB) measured twice as slow, mostly in page faults.
MAX_CELLS = 1_000_000
MEANS = {"accuracy": "correct", "log_loss": "loss", "rmse": "squared", "mae": "absolute"}  # mean of column


@dataclass(frozen=True)
class MetricDiff:
    """One metric, champion vs challenger. `delta` is challenger - champion, not direction-adjusted."""

    metric: str
    champion: float | None  # on the full holdout; None when undefined there
    challenger: float | None
    delta: float | None
    low: float | None  # percentile interval of delta at the requested confidence
    high: float | None
    undefined_share: float  # share of resamples where the metric was undefined for either model


def paired_bootstrap(
    y_true,
    champion: pd.DataFrame,
    challenger: pd.DataFrame,
    metrics: Sequence[str],
    classes: Sequence = (),
    positive=None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> list[MetricDiff]:
    """Each metric's challenger - champion difference, with its interval over the same resampled rows."""
    scorers = [_Scorer(y_true, preds, metrics, classes, positive) for preds in (champion, challenger)]
    old_full, new_full = (scorer.full() for scorer in scorers)
    old, new = _resampled(scorers, resamples, confidence, seed)
    diffs = []
    for metric in scorers[0].metrics:
        samples = new[metric] - old[metric]
        before, after = old_full[metric], new_full[metric]
        undefined = float(np.isnan(samples).mean())
        if before is None or after is None:
            diffs.append(MetricDiff(metric, before, after, None, None, None, undefined))
        else:
            low, high = _interval(samples, confidence)
            diffs.append(MetricDiff(metric, before, after, after - before, low, high, undefined))
    return diffs


def absolute_bootstrap(
    y_true,
    preds: pd.DataFrame,
    metrics: Sequence[str],
    classes: Sequence = (),
    positive=None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> dict[str, tuple[float | None, float | None, float | None]]:
    """No champion to compare with: each metric's (value, low, high), the interval of the metric itself."""
    scorer = _Scorer(y_true, preds, metrics, classes, positive)
    full = scorer.full()
    (samples,) = _resampled([scorer], resamples, confidence, seed)
    intervals = {m: (None, None) if full[m] is None else _interval(samples[m], confidence) for m in full}
    return {m: (full[m], *intervals[m]) for m in full}


def metric_values(
    y_true,
    preds: pd.DataFrame,
    metrics: Sequence[str],
    classes: Sequence = (),
    positive=None,
    weights: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Each metric under each row of `weights` ((B, n) counts; None: every row once); NaN: undefined."""
    scorer = _Scorer(y_true, preds, metrics, classes, positive)
    weights = np.ones((1, scorer.rows)) if weights is None else np.atleast_2d(weights)
    return scorer(np.ascontiguousarray(weights.T, dtype=float))


def _interval(samples: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile interval over the resamples where the metric was defined."""
    if np.isnan(samples).all():
        return None, None
    low, high = np.nanpercentile(samples, [50 * (1 - confidence), 50 * (1 + confidence)])
    return float(low), float(high)


def _resampled(scorers: list[_Scorer], resamples: int, confidence: float, seed: int) -> list[dict]:
    """Each scorer's (resamples,) values per metric, all scorers seeing the same resamples."""
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError(f"need resamples >= 1 and 0 < confidence < 1, got {resamples} and {confidence}")
    n, rng = scorers[0].rows, np.random.default_rng(seed)
    chunk = max(1, min(resamples, MAX_CELLS // n))
    sizes = [min(chunk, resamples - start) for start in range(0, resamples, chunk)]
    parts: list[list[dict]] = [[] for _ in scorers]
    # Draw the next chunk in a thread while this one is scored (numpy releases the GIL): a single
    # worker keeps the draws in order, so results stay seeded, and at most two chunks are in memory.
    with ThreadPoolExecutor(max_workers=1) as drawer:
        pending = drawer.submit(_bootstrap_counts, rng, n, sizes[0])
        for size in [*sizes[1:], 0]:
            counts = pending.result()
            if size:
                pending = drawer.submit(_bootstrap_counts, rng, n, size)
            for scorer, part in zip(scorers, parts, strict=True):
                part.append(scorer(counts))
    return [{m: np.concatenate([p[m] for p in part]) for m in scorers[0].metrics} for part in parts]


def _bootstrap_counts(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """(n, size) float counts: [i, b] is how often row i was drawn, with replacement, in resample b.

    Rows by resamples, so that the sparse products for ROC AUC read contiguous memory.
    """
    draws = rng.integers(0, n, size=(size, n))
    draws += np.arange(size)[:, None] * n  # each resample counts into its own n bins: one bincount
    counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
    return np.ascontiguousarray(counts.T, dtype=float)


class _Scorer:
    """One model's predictions, prepared once; called with (n, B) counts, each metric's (B,) values."""

    def __init__(self, y_true, preds: pd.DataFrame, metrics: Sequence[str], classes: Sequence, positive):
        y, classes, self.metrics = np.asarray(y_true), list(classes), list(metrics)
        _check(y, preds, self.metrics, classes, positive)
        self.rows = len(y)
        self.general = [m for m in self.metrics if not evaluation.find(m, _task(classes)).fast]
        self.replay = (y, preds.reset_index(drop=True), classes, positive)
        columns = _label_columns(y, preds, classes, positive) if classes else _regression_columns(y, preds)
        columns = {name: np.asarray(col, dtype=float).reshape(self.rows, -1) for name, col in columns.items()}
        self.matrix = np.hstack(list(columns.values()))  # one product gives every weighted sum
        edges = np.cumsum([0] + [col.shape[1] for col in columns.values()])
        self.slices = {name: slice(a, b) for name, a, b in zip(columns, edges[:-1], edges[1:], strict=True)}
        self.auc = _auc_groupings(y, preds, classes, positive) if "roc_auc" in self.metrics else []

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        product = self.matrix.T @ counts
        sums = {name: product[where] for name, where in self.slices.items()}
        with np.errstate(divide="ignore", invalid="ignore"):  # undefined metrics become NaN, not warnings
            fast = {m: _finish(m, sums, counts, self.auc) for m in self.metrics if m not in self.general}
        return fast | {metric: self.one_by_one(metric, counts) for metric in self.general}

    def one_by_one(self, metric: str, counts: np.ndarray) -> np.ndarray:
        """The general path: score each resample's rows (row i repeated counts[i] times) with sklearn."""
        rows = np.arange(self.rows)
        draws = [np.repeat(rows, column.astype(int)) for column in counts.T]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics are NaN, not warnings
            return evaluation.find(metric, _task(self.replay[2])).on_rows(*self.replay, draws)

    def full(self) -> dict[str, float | None]:
        """Each metric on the whole holdout, None when undefined."""
        values = self(np.ones((self.rows, 1)))
        return {m: None if np.isnan(v[0]) else float(v[0]) for m, v in values.items()}


def _check(y: np.ndarray, preds: pd.DataFrame, metrics: list[str], classes: list, positive) -> None:
    if not len(y) or len(preds) != len(y):
        raise ValueError(f"need a non-empty holdout and a prediction per row, got {len(y)} and {len(preds)}")
    for metric in metrics:
        evaluation.find(metric, _task(classes))  # ValueError: unknown, or not for this task
    if len(classes) == 2 and positive not in classes:
        raise ValueError(f"binary classification needs a positive class among {classes}, got {positive!r}")


def _task(classes: list) -> str:
    return "classification" if classes else "regression"


def _label_columns(y: np.ndarray, preds: pd.DataFrame, classes: list, positive) -> dict[str, np.ndarray]:
    """Per-row 0/1 indicators (and log loss) whose weighted sums give the classification metrics."""
    prediction = np.asarray(preds["prediction"])
    targets = [positive] if len(classes) == 2 else classes  # binary: the positive class; else macro
    actual = np.column_stack([y == c for c in targets])
    predicted = np.column_stack([prediction == c for c in targets])
    columns = {"rows": np.ones(len(y)), "correct": prediction == y}
    columns |= {"actual": actual, "predicted": predicted, "hits": actual & predicted}
    if set(proba_columns(classes)) <= set(preds.columns):
        columns["loss"] = _log_loss_per_row(y, preds, classes)
    return columns


def _log_loss_per_row(y: np.ndarray, preds: pd.DataFrame, classes: list) -> np.ndarray:
    proba = preds[proba_columns(classes)].to_numpy()
    proba = proba if proba.dtype.kind == "f" else proba.astype(float)
    # As sklearn: clip to [eps, 1 - eps] of the probabilities' dtype. Since sklearn 1.5 (the project
    # needs >= 1.7) rows that do not sum to one only warn there and are not renormalised, so not here.
    eps = np.finfo(proba.dtype).eps
    clipped = np.clip(proba, eps, 1 - eps).astype(float)
    truth = y[:, None] == np.asarray(classes, dtype=object)[None, :]
    return -(np.log(clipped) * truth).sum(axis=1)


def _regression_columns(y: np.ndarray, preds: pd.DataFrame) -> dict[str, np.ndarray]:
    y = y.astype(float)
    error = np.asarray(preds["prediction"], dtype=float) - y
    centred = y - y.mean()  # centring first keeps the one-pass sum of squares accurate
    columns = {"rows": np.ones(len(y)), "squared": error**2, "absolute": abs(error)}
    return columns | {"y": centred, "y2": centred**2}


def _finish(metric: str, sums: dict[str, np.ndarray], counts: np.ndarray, auc: list) -> np.ndarray:
    """One metric per resample from the weighted sums (zero_division=0, as in evaluation.py)."""
    rows = sums["rows"][0]
    if metric in MEANS:
        mean = sums[MEANS[metric]][0] / rows
        return np.sqrt(mean) if metric == "rmse" else mean
    if metric == "r2":
        return _r2(sums["squared"][0], sums["y"][0], sums["y2"][0], rows)
    if metric == "roc_auc":
        return np.mean([_auc(counts, grouping) for grouping in auc], axis=0)  # macro over classes
    hits, predicted, actual = sums["hits"], sums["predicted"], sums["actual"]
    if metric == "precision":
        num, den = hits, predicted
    elif metric == "recall":
        num, den = hits, actual
    else:  # f1 = 2 TP / (2 TP + FP + FN)
        num, den = 2 * hits, predicted + actual
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0).mean(axis=0)  # macro over classes


def _r2(residual: np.ndarray, centred: np.ndarray, centred_sq: np.ndarray, rows: np.ndarray) -> np.ndarray:
    total = centred_sq - centred**2 / rows  # weighted sum of squares around the resample's own mean
    # R2 of a constant target is undefined (evaluation.py asks sklearn for force_finite=False)
    return np.where(total > 1e-12 * centred_sq, 1 - residual / total, np.nan)


def _auc_groupings(y: np.ndarray, preds: pd.DataFrame, classes: list, positive) -> list:
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
    values = np.unique(score[is_positive])
    if not len(values) or is_positive.all():
        return None  # a single class in the holdout: undefined in every resample too
    k = np.searchsorted(values, score)  # distinct positive scores strictly below each row's score
    tied = values[np.minimum(k, len(values) - 1)] == score
    group = np.where(is_positive, k, len(values) + 2 * k + tied)
    n = len(score)
    return sparse.csr_array((np.ones(n), (group, np.arange(n))), shape=(3 * len(values) + 1, n))


def _auc(counts: np.ndarray, grouping: sparse.csr_array | None) -> np.ndarray:
    """Weighted Mann-Whitney: the share of (positive, negative) pairs ranked right, ties counting half."""
    if grouping is None:
        return np.full(counts.shape[1], np.nan)
    sums = grouping @ counts
    groups = len(sums) // 3
    positive, negative = sums[:groups], sums[groups:]
    up_to = np.cumsum(negative, axis=0)  # negatives scoring at most each group's score
    wins = (positive * (up_to[1::2] - 0.5 * negative[1::2])).sum(axis=0)
    return wins / (positive.sum(axis=0) * up_to[-1])  # NaN when a resample lacks either class
