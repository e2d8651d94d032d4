"""The review on the latest period: the holdout rows newer than anything the champion trained on.

A retraining pull request exists because the world moved, and the frozen holdout is mostly the
past, where the old model may still look fine. So the review also compares both models, paired, on
the holdout rows whose `data.time_column` is later than the newest row of the base's training data:
neither model trained on them (they are holdout rows) and the champion never saw their period. Rows
left out of the main comparison (the champion trained on them, or refused them) stay left out.

The section informs the reviewer; the check stays decided on the whole holdout, where there are
enough rows to decide. A pull request that adds no newer rows has no such section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import bootstrap, dates, evaluation
from .records import LatestPeriod, ModelInfo
from .settings import Params


def compare(
    params: Params,
    holdout: pd.DataFrame,
    keep: np.ndarray,
    base_data: pd.DataFrame | None,
    champion: pd.DataFrame,
    challenger: pd.DataFrame,
    info: ModelInfo,
    names: list[str],
) -> LatestPeriod | None:
    """Champion vs challenger on the kept holdout rows newer than the base's training data; None
    without a time column, a base to date, or any newer row. `champion` and `challenger` are the
    sides' prediction tables, indexed by holdout row."""
    from . import comparison

    column = params.data.time_column
    if column is None or base_data is None or column not in holdout or column not in base_data:
        return None
    trained_until = dates.utc_times(base_data[column], column)
    times = dates.utc_times(holdout[column], column)
    if np.isnat(trained_until).all():
        return None
    until = trained_until[~np.isnat(trained_until)].max()
    newer = keep & ~np.isnat(times) & (times > until)
    if not newer.any():
        return None
    rows = np.flatnonzero(newer)
    period: LatestPeriod = {
        "time_column": column,
        "champion_until": day(until),
        "first": day(times[rows].min()),
        "last": day(times[rows].max()),
        "rows": len(rows),
        "min_rows": params.gate.min_rows,
        "metrics": [],
        "verdict": None,
    }
    if len(rows) < params.gate.min_rows:
        return period
    y = holdout[params.data.target].iloc[rows]
    period["metrics"] = diffs = bootstrap.paired_bootstrap(
        y,
        champion.loc[rows],
        challenger.loc[rows],
        names,
        info.classes,
        info.positive_class,
        **params.gate.bootstrap_args(),
    )
    before = diffs[0]["champion"]
    allowed = None if before is None else params.gate.allowed_loss(before)
    period["verdict"] = comparison.verdict(diffs[0], evaluation.direction(names[0]), allowed or 0.0)
    return period


def day(value: np.datetime64) -> str:
    return str(value.astype("datetime64[D]"))
