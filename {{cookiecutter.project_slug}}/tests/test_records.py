"""The JSON records read back (metrics.json, comparison.json): their shape is checked on reading, a
broken file is named with the key at fault, and a record written before newer keys existed reads."""

from __future__ import annotations

import json
import shutil

import pytest

from {{ cookiecutter.__package_name }} import records
from {{ cookiecutter.__package_name }}.errors import ModelError


def test_a_trained_model_record_reads_back(trained, metrics):
    assert records.read_training_record(trained) == metrics


def test_a_record_from_before_the_threshold_and_no_skill_still_reads(trained, tmp_path):
    older = json.loads((trained / "metrics.json").read_text())
    for key in ("threshold", "threshold_maximises", "no_skill"):
        older.pop(key)
    (tmp_path / "metrics.json").write_text(json.dumps(older))
    assert "no_skill" not in records.read_training_record(tmp_path)


@pytest.mark.parametrize(
    ("break_it", "message"),
    [
        (lambda record: record.pop("holdout"), "holdout: Field required"),
        (lambda record: record["cv"].update(folds="five"), "cv.folds: Input should be a valid integer"),
    ],
    ids=["missing key", "wrong type"],
)
def test_a_broken_record_is_named_with_the_key(trained, tmp_path, break_it, message):
    record = json.loads((trained / "metrics.json").read_text())
    break_it(record)
    (tmp_path / "metrics.json").write_text(json.dumps(record))
    with pytest.raises(ModelError, match=rf"metrics.json: not a TrainingRecord \({message}"):
        records.read_training_record(tmp_path)


def test_missing_and_unparsable_files_are_named(trained, tmp_path):
    with pytest.raises(ModelError, match=r"comparison.json: not found"):
        records.read_comparison(tmp_path)
    shutil.copy(trained / "metrics.json", tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"metrics.json: not a TrainingRecord \(Expecting property name"):
        records.read_training_record(tmp_path)
