"""Times as users' data has them: aware and naive timestamps in one column, rows without a time,
mixed formats; what validate, the split and infer-schema make of each."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import data, dates, errors, schema


def with_time_column(params, column: str):
    return params.model_copy(update={"data": params.data.model_copy(update={"time_column": column})})


def test_aware_and_naive_times_order_as_utc(params, sample):
    """A naive time is read as UTC; one with an offset is converted: 23:30 at UTC-5 is 04:30 UTC."""
    values = ["2024-03-01T23:30:00-05:00", "2024-03-02T03:00:00", "2024-03-02T04:00:00+00:00", "2024-03-02"]
    assert dates.date(pd.Series(values), format=dates.ISO8601).all()
    times = dates.utc_times(pd.Series(values), "when")  # a column the schema does not declare: ISO 8601
    assert list(np.argsort(times, kind="stable")) == [3, 1, 2, 0]
    rows = sample.head(20).assign(when=[values[i % 4] for i in range(20)])
    parts = data.split(rows, with_time_column(params, "when"))
    assert set(parts.holdout["when"]) == {values[0]}  # the latest instant, whatever its notation


def test_rows_without_a_time_are_trained_on_never_held_out(params, sample):
    column = params.data.time_column
    latest = pd.Series(dates.utc_times(sample[column], column), index=sample.index).nlargest(10).index
    gaps = sample.copy()
    gaps.loc[latest, column] = None  # the latest rows lost their time
    parts = data.split(gaps, params)
    assert set(latest) <= set(parts.train.index)
    assert data.span(gaps, params) == data.span(gaps.drop(index=latest), params)
    # The sample's time column is required: validate names it and the rows.
    with pytest.raises(data.ValidationFailed) as failed:
        data.validate(gaps, schema.TrainingData, "gaps.csv")
    assert set(failed.value.failures["column"]) == {column}
    assert sorted(failed.value.failures["index"]) == sorted(latest)


def test_a_time_that_does_not_parse_stops_the_split_naming_the_column(params, sample):
    column = params.data.time_column
    rows = sample.head(30).copy()
    rows[column] = rows[column].astype(object)
    rows.loc[rows.index[:2], column] = "soon"
    with pytest.raises(
        errors.DataError, match=rf"time column '{column}': 2 values are not dates or times, e.g. 'soon'"
    ):
        data.split(rows, params)
