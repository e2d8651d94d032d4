"""The holdout split: by time, the latest rows; by hash, a random holdout stable as data grows.
Both are the same on the same data and partition the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support import by_hash, real_params

from {{ cookiecutter.__package_name }} import data, errors, schema


def coerced(frame: pd.DataFrame) -> pd.DataFrame:
    """As training sees a table: validated against the schema, which also fixes the dtypes."""
    return data.validate(frame.reset_index(drop=True), schema.TrainingData, "test")


@pytest.fixture(scope="module")
def new_rows() -> pd.DataFrame:
    """The last rows of the real data, as if they had just been collected."""
    return data.read_table(real_params().data_path).tail(500)


def with_row_key(params, row_key: list[str]):
    return params.model_copy(update={"data": params.data.model_copy(update={"row_key": row_key})})


def test_appending_rows_never_moves_existing_rows_by_hash(params, sample, new_rows):
    params = by_hash(params)
    grown = coerced(pd.concat([sample, new_rows], ignore_index=True))
    before = data.holdout_mask(sample, params)
    after = data.holdout_mask(grown, params)
    assert np.array_equal(after[: len(sample)], before)
    assert after[len(sample) :].any()  # the new rows are split too, not all sent to one side


def test_same_data_same_split(params, sample):
    again = coerced(data.read_table(params.data_path))
    assert np.array_equal(data.holdout_mask(sample, params), data.holdout_mask(again, params))


def test_row_order_does_not_matter_by_hash(params, sample):
    params = by_hash(params)
    shuffled = sample.sample(frac=1, random_state=0)
    mask = pd.Series(data.holdout_mask(sample, params), index=sample.index)
    assert np.array_equal(data.holdout_mask(shuffled, params), mask.loc[shuffled.index].to_numpy())


def test_holdout_fraction_is_respected(params):
    real = coerced(data.read_table(real_params().data_path))
    share = data.holdout_mask(real, params).mean()
    assert share == pytest.approx(params.split.holdout_fraction, abs=0.02)


def test_the_salt_redraws_the_hash_holdout(params, sample):
    params = by_hash(params)
    resalted = params.model_copy(update={"split": params.split.model_copy(update={"salt": "another"})})
    assert not np.array_equal(data.holdout_mask(sample, params), data.holdout_mask(sample, resalted))


def test_with_a_row_key_only_the_key_decides_the_hash_split(params, sample):
    params = by_hash(params)
    target = params.data.target
    key = params.data.row_key or [c for c in sample.columns if c != target][:2]
    keyed = with_row_key(params, key)
    relabelled = sample.assign(**{target: sample[target].sample(frac=1, random_state=1).to_numpy()})
    assert not relabelled[target].equals(sample[target])
    assert np.array_equal(data.holdout_mask(relabelled, keyed), data.holdout_mask(sample, keyed))

    rekeyed = sample.assign(**{key[0]: sample[key[0]].sample(frac=1, random_state=2).to_numpy()})
    assert not np.array_equal(data.holdout_mask(rekeyed, keyed), data.holdout_mask(sample, keyed))


def test_split_partitions_the_rows(params, sample):
    parts = data.split(sample, params)
    assert len(parts.train) + len(parts.holdout) == len(sample)
    assert set(parts.train.index).isdisjoint(parts.holdout.index)
    assert len(parts.train) > len(parts.holdout) > 0


def test_too_few_rows_to_split(params, sample):
    hashed = by_hash(params)
    one_side = sample[~data.holdout_mask(sample, hashed)].head(3)
    with pytest.raises(errors.DataError, match="empty train or holdout"):
        data.split(one_side, hashed)
    with pytest.raises(errors.DataError, match="2 rows give an empty train or holdout set; add data"):
        data.split(sample.head(2), params)  # by time: 20% of 2 rows is no row


def test_table_hash_ignores_row_order(sample):
    shuffled = sample.sample(frac=1, random_state=0)
    assert data.table_hash(shuffled) == data.table_hash(sample)
    assert data.table_hash(shuffled.reset_index(drop=True)) == data.table_hash(sample)


def test_table_hash_sees_content(params, sample):
    target = params.data.target
    relabelled = sample.assign(**{target: sample[target].sample(frac=1, random_state=1).to_numpy()})
    assert data.table_hash(relabelled) != data.table_hash(sample)
    assert data.table_hash(sample.head(-1)) != data.table_hash(sample)
    assert data.table_hash(pd.concat([sample, sample.head(1)])) != data.table_hash(sample)
