"""Calendar features of the time column, derived inside the fitted pipeline (`train.calendar`).

The model takes the raw date, as the file and the service's callers write it, so `predict`, the
service and the review all derive the same terms from it. Cyclic parts are the sine and cosine of
their angle on their cycle, so December sits next to January and Sunday next to Monday; the
year is a plain number (a trend).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from . import dates

CYCLES = {  # part: (its value from the times, the length of its cycle)
    "month": (lambda t: t.dt.month - 1, 12),
    "day_of_week": (lambda t: t.dt.dayofweek, 7),
    "hour": (lambda t: t.dt.hour + t.dt.minute / 60, 24),
    "day_of_year": (lambda t: t.dt.dayofyear - 1, 365.25),
}


class CalendarTerms(TransformerMixin, BaseEstimator):
    """One date column (in `format`, as schema.py declares it) to its calendar `parts` as numbers;
    NaN where the date is missing."""

    def __init__(self, format: str = dates.ISO8601, parts: tuple[str, ...] = ("month",)):
        self.format = format
        self.parts = parts

    def fit(self, X, y=None):
        self.n_features_in_ = 1
        return self

    def transform(self, X) -> np.ndarray:
        column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X)[:, 0])
        times = dates.parse(column.reset_index(drop=True), self.format).dt.tz_convert(None)
        terms = []
        for part in self.parts:
            if part == "year":
                terms.append(times.dt.year.to_numpy(dtype=float))
                continue
            value, period = CYCLES[part]
            angle = 2 * np.pi * value(times).to_numpy(dtype=float) / period
            terms += [np.sin(angle), np.cos(angle)]
        return np.column_stack(terms)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        names = [[p] if p == "year" else [f"{p}_sin", f"{p}_cos"] for p in self.parts]
        return np.array([name for pair in names for name in pair], dtype=object)
