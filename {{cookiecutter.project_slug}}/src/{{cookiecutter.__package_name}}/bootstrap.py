"""Bootstrap confidence intervals for holdout metrics, paired when two models are compared.

Paired: every resample draws one set of holdout rows and scores *both* models on it, so the interval
is of the difference (challenger - champion) on the same rows. Rows that are easy or hard for both
models move both scores together and cancel out, which makes the interval far tighter than two
separate intervals: one that excludes 0 means a real difference, not a lucky holdout.

A resample is a vector of bootstrap counts (how often each row was drawn). A built-in metric says in
the catalogue (evaluation.py) how it is computed from those counts for a whole chunk of resamples:
from weighted sums of per-row columns (one matrix product for all such metrics) or from the counts
themselves (ROC AUC: a sparse product), never a Python loop over resamples. With every count equal
to one the metrics equal sklearn's, as `evaluation.score` computes them. Other metrics of the
catalogue (any scikit-learn scorer) take the general path: each resample's rows are materialised and
scored one by one, on the same resamples, so they stay paired (see BENCHMARKS.md for what that costs).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from . import evaluation
from .evaluation import FromCounts, FromSums
from .records import MetricDiff

# Rows x resamples per chunk. 8 MB float64 matrices stay in cache and below malloc's mmap threshold,
# so buffers are reused; 5e6 cells (40 MB) measured twice as slow, mostly in page faults.
MAX_CELLS = 1_000_000


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
        low, high = (None, None) if before is None or after is None else _interval(samples, confidence)
        delta = None if before is None or after is None else after - before
        diffs.append(
            MetricDiff(
                metric=metric,
                champion=before,
                challenger=after,
                delta=delta,
                low=low,
                high=high,
                undefined_share=undefined,
            )
        )
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


def alone(
    y_true,
    preds: pd.DataFrame,
    metrics: Sequence[str],
    classes: Sequence = (),
    positive=None,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> list[MetricDiff]:
    """No champion: the challenger's values and their own intervals, in the comparison's shape."""
    found = absolute_bootstrap(
        y_true, preds, metrics, classes, positive, resamples=resamples, confidence=confidence, seed=seed
    )
    return [
        MetricDiff(metric=m, champion=None, challenger=v, delta=None, low=lo, high=hi, undefined_share=0.0)
        for m, (v, lo, hi) in found.items()
    ]


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
        data = self.data = (y, preds.reset_index(drop=True), classes, positive)
        self.how = {m: evaluation.metric(m, _task(classes)).vectorised for m in self.metrics}
        self.general = [m for m, how in self.how.items() if how is None]
        self.prepared = {m: how.prepare(*data) for m, how in self.how.items() if isinstance(how, FromCounts)}
        self.sums = _ColumnSums(_summed_columns(_task(classes)), data)

    def __call__(self, counts: np.ndarray) -> dict[str, np.ndarray]:
        sums = self.sums(counts)
        with np.errstate(divide="ignore", invalid="ignore"):  # undefined metrics become NaN, not warnings
            fast = {m: self.vectorised(m, sums, counts) for m in self.metrics if m not in self.general}
        return fast | {metric: self.one_by_one(metric, counts) for metric in self.general}

    def vectorised(self, metric: str, sums: dict[Callable, np.ndarray], counts: np.ndarray) -> np.ndarray:
        """The fast path, as the catalogue says: from the chunk's column sums, or from the counts."""
        how = self.how[metric]
        if isinstance(how, FromSums):
            return how.finish(*(sums[column] for column in how.columns))
        assert how is not None  # only metrics with a fast path come here
        return how.finish(self.prepared[metric], counts)

    def one_by_one(self, metric: str, counts: np.ndarray) -> np.ndarray:
        """The general path: score each resample's rows (row i repeated counts[i] times) with sklearn."""
        rows = np.arange(self.rows)
        draws = [np.repeat(rows, column.astype(int)) for column in counts.T]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # undefined metrics are NaN, not warnings
            on_rows = evaluation.metric(metric, _task(self.data[2])).on_rows
            assert on_rows is not None  # every metric without a fast path has one
            return on_rows(*self.data, draws)

    def full(self) -> dict[str, float | None]:
        """Each metric on the whole holdout, None when undefined."""
        values = self(np.ones((self.rows, 1)))
        return {m: None if np.isnan(v[0]) else float(v[0]) for m, v in values.items()}


class _ColumnSums:
    """Per-row columns side by side, each made once however many metrics use it: one matrix product
    gives every column's weighted sums for a whole chunk of resamples."""

    def __init__(self, makers: list[Callable], data: tuple):
        rows = len(data[0])
        columns = {make: column for make in makers if (column := _made(make, data)) is not None}
        blocks = [column.reshape(rows, -1) for column in columns.values()]
        self.matrix = np.hstack(blocks) if blocks else np.empty((rows, 0))
        edges = np.cumsum([0, *(block.shape[1] for block in blocks)])
        # Sums shaped as the column is: (B,) for one value a row, (k, B) for k values a row
        self.where = {
            make: start if column.ndim == 1 else slice(start, end)
            for (make, column), start, end in zip(columns.items(), edges[:-1], edges[1:], strict=True)
        }

    def __call__(self, counts: np.ndarray) -> dict[Callable, np.ndarray]:
        product = self.matrix.T @ counts
        return {make: product[where] for make, where in self.where.items()}


def _summed_columns(task: str) -> list[Callable]:
    """Every column the task's FromSums metrics sum, asked for or not, in evaluation.SUMS_ORDER (so
    a metric's last digit does not depend on the others asked for: see there)."""
    forms = [m.vectorised for m in evaluation.BUILT_IN.values() if m.task == task]
    used = [column for how in forms if isinstance(how, FromSums) for column in how.columns]
    return list(dict.fromkeys([*(c for c in evaluation.SUMS_ORDER if c in used), *used]))


def _made(make: Callable, data: tuple) -> np.ndarray | None:
    try:
        return np.asarray(make(*data), dtype=float)
    except KeyError:  # e.g. log loss of a classifier without probabilities; only its metric fails
        return None


def _check(y: np.ndarray, preds: pd.DataFrame, metrics: list[str], classes: list, positive) -> None:
    if not len(y) or len(preds) != len(y):
        raise ValueError(f"need a non-empty holdout and a prediction per row, got {len(y)} and {len(preds)}")
    for metric in metrics:
        evaluation.metric(metric, _task(classes))  # ValueError: unknown, or not for this task
    if len(classes) == 2 and positive not in classes:
        raise ValueError(f"binary classification needs a positive class among {classes}, got {positive!r}")


def _task(classes: list) -> str:
    return "classification" if classes else "regression"
