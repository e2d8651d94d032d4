"""Dates in the data: kept as the file writes them, checked to parse, read as UTC times where time matters.

A date column stays the text (or epoch seconds) its file holds, so the holdout hash, the rows
`retrain-data` appends and a pull request's diff all see exactly what the file has. schema.py
declares the column's format with `pa.Field(date="%Y-%m-%d")`, a check registered here: a value
that does not parse in that format is refused like any other failed check (400 at the service,
a failure row in `validate`). `utc_times` reads a column as times, in the format its schema
declares, wherever time matters: the time split, quality windows, the latest period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandera import extensions

from .errors import DataError

ISO8601 = "ISO8601"  # pandas' name: '2010-09-06', '2010-09-06T12:00', '2010-09-06 12:00:00+02:00', ...
EPOCH = "epoch"  # seconds since 1970-01-01 UTC, as integers
OFFSET = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})\Z"  # an ISO time's zone: Z, +02:00, -0500


@extensions.register_check_method(statistics=["format"], check_type="vectorized")
def date(series: pd.Series, *, format: str) -> pd.Series:
    """Each value parses as a date or time in `format` (a strftime pattern, ISO8601 or epoch), and
    text is ASCII without surrounding spaces (pandas would read ' 2024-01-31' as a date, but as a
    row key or a category it is another value than '2024-01-31')."""
    ok = parse(series, format).notna()
    if format != EPOCH and not pd.api.types.is_numeric_dtype(series):
        text = series.astype(str)
        ok &= ~text.str.contains(r"[^\x00-\x7f]") & (text == text.str.strip())
    return ok | series.isna()


def parse(values: pd.Series, format: str) -> pd.Series:
    """`values` as UTC times (naive ones taken as UTC); NaT where a value does not parse."""
    if isinstance(values.dtype, pd.PeriodDtype):
        values = values.dt.to_timestamp()
    if format == EPOCH:
        seconds = pd.to_numeric(values, errors="coerce")
        return pd.to_datetime(seconds, unit="s", utc=True, errors="coerce")
    if pd.api.types.is_datetime64_any_dtype(values):  # already times (a database's timestamp column)
        return pd.to_datetime(values, utc=True)
    if format != ISO8601:
        return to_utc(values, format)
    # pandas reads a naive time next to one with an offset at that offset: parse each kind apart.
    aware = values.astype("string").str.contains(OFFSET, na=False).to_numpy(dtype=bool)
    if aware.all() or not aware.any():
        return to_utc(values, format)
    naive = to_utc(values.mask(aware), format)
    return naive.where(~aware, to_utc(values.where(aware), format).to_numpy())


def to_utc(values: pd.Series, format: str) -> pd.Series:
    try:
        return pd.to_datetime(values, format=format, utc=True, errors="coerce")
    except (TypeError, ValueError):  # e.g. numbers where text was expected
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")


def declared_formats() -> dict[str, str]:
    """Each schema column declared a date, with its format."""
    from . import schema

    columns = schema.TrainingData.to_schema().columns
    return {
        name: check.statistics["format"]
        for name, column in columns.items()
        for check in column.checks
        if check.name == "date"
    }


def utc_times(values: pd.Series, column: str) -> np.ndarray:
    """Each row's time as datetime64[ns] in UTC; NaT where missing.

    In the format schema.py declares for `column`; else ISO 8601 (dates, datetimes with or without
    a zone, 'YYYY-MM' periods as the month's first day), as the prediction log's `logged_at` is.
    """
    format = declared_formats().get(column, ISO8601)
    times = parse(values, format)
    bad = times.isna() & values.notna()
    if bad.any():
        examples = ", ".join(repr(v) for v in values[bad].unique()[:3])
        expected = "ISO 8601 ('2010-09-06', '2010-09-06 12:00:00+00:00') or 'YYYY-MM' for a month"
        raise DataError(
            f"time column {column!r}: {int(bad.sum()):,} values are not dates or times, e.g. {examples}; "
            f"expected {expected if format == ISO8601 else repr(format)}"
        )
    return times.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
