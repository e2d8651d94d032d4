"""`train.calendar`: features derived from the time column inside the model, so `predict`, the
service and the review derive them the same way from the raw date a caller sends."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from support import PKG_NAME, ROOT, explain, invoke, write_table

from {{ cookiecutter.__package_name }} import (
    data,
    dates,
    errors,
    models,
    payloads,
    schema,
    settings,
    training,
)


@pytest.fixture
def time_in_features(params, tmp_path, monkeypatch):
    """schema.py as a team edits it for calendar terms: the time column's line moved into Features."""
    column = params.data.time_column
    source = (ROOT / "src" / PKG_NAME / "schema.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    (line,) = [line for line in lines if line.startswith(f"    {column}: Series[")]
    lines.remove(line)
    first = next(i for i, text in enumerate(lines) if text.startswith("    ") and ": Series[" in text)
    lines.insert(first, line)
    (tmp_path / "schema_with_time.py").write_text("\n".join(lines), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("schema_with_time", tmp_path / "schema_with_time.py")
    edited = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(edited)
    monkeypatch.setattr(schema, "Features", edited.Features)
    monkeypatch.setattr(schema, "TrainingData", edited.TrainingData)
    return column


def with_calendar(own_project, parts: list[str]) -> settings.Params:
    raw = settings.read_yaml(own_project)
    raw["train"]["calendar"] = parts
    own_project.write_text(json.dumps(raw), encoding="utf-8")
    return settings.load_params(own_project)


def test_the_model_derives_its_calendar_terms_from_the_raw_date(own_project, time_in_features, tmp_path):
    params = with_calendar(own_project, ["year", "month"])
    training.train(params, tmp_path / "model")
    model, info = models.load(tmp_path / "model", params.train.trusted_types)  # skops trusts the terms
    assert info.dates == [time_in_features] and time_in_features not in info.numeric + info.categorical
    holdout = data.split(data.load_training_data(params), params).holdout
    features = data.validate(holdout, schema.Features, "holdout")
    assert time_in_features in features  # what predict and the service pass the model
    predicted = models.predict_frame(model, features)
    # The terms are used: the same rows half a year later are predicted differently.
    times = pd.Series(dates.utc_times(features[time_in_features], time_in_features))
    later = (times + pd.DateOffset(months=6)).dt.strftime(dates.declared_formats()[time_in_features])
    moved = models.predict_frame(model, features.assign(**{time_in_features: later.to_numpy()}))
    numbers = predicted.select_dtypes("number").columns  # probabilities, or the predicted value
    assert not np.allclose(predicted[numbers], moved[numbers])


def test_calendar_terms_need_the_time_column_among_the_features(own_project, tmp_path):
    params = with_calendar(own_project, ["month"])
    with pytest.raises(errors.DataError, match=r"declare it in schema\.Features"):
        training.train(params, tmp_path / "model")


def test_the_service_refuses_a_bad_date_naming_the_field(params, time_in_features):
    record_model = payloads.record_model(
        schema.TrainingData.to_schema(), list(schema.Features.to_schema().columns), params.data.target
    )
    row = data.read_table(params.data_path).head(1).drop(columns=[params.data.target])
    record = json.loads(row.to_json(orient="records"))[0]
    record_model.model_validate(record)  # the sample's own date
    for bad in ["2099-13", "yesterday", f" {record[time_in_features]}"]:
        with pytest.raises(ValidationError) as refused:
            record_model.model_validate(record | {time_in_features: bad})
        (problem,) = refused.value.errors()
        assert problem["loc"] == (time_in_features,) and "not a date or time in the format" in problem["msg"]
    missing = {k: v for k, v in record.items() if k != time_in_features}
    with pytest.raises(ValidationError):
        record_model.model_validate(missing)  # a feature now: required


def test_calendar_terms_need_a_time_column(own_project):
    raw = settings.read_yaml(own_project)
    raw["train"]["calendar"] = ["month"]
    raw["split"]["by"] = "hash"  # a time split needs one too, and says so first
    raw["data"].pop("time_column")
    own_project.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(errors.ParamsError, match=r"train\.calendar needs data\.time_column"):
        settings.load_params(own_project)


def test_predict_refuses_a_bad_date_naming_the_column_and_row(own_project, time_in_features, tmp_path):
    params = with_calendar(own_project, ["month"])
    training.train(params, tmp_path / "model")
    rows = data.read_table(params.data_path).head(3).drop(columns=[params.data.target])
    rows[time_in_features] = rows[time_in_features].astype(object)
    rows.loc[1, time_in_features] = "2010-13"
    source = write_table(rows, tmp_path / "input.csv")
    out, refused = tmp_path / "predictions.csv", tmp_path / "refused.json"
    result = invoke("predict", "--model", tmp_path / "model", "--input", source, "--output", out)
    assert result.exit_code == 1 and time_in_features in result.output, explain(result)
    assert f"date(format={dates.declared_formats()[time_in_features]})" in result.output
    result = invoke("predict", "--model", tmp_path / "model", "--input", source, "--output", out,
                    "--refused", refused)  # fmt: skip
    assert result.exit_code == 0, explain(result)
    assert json.loads(refused.read_text())["rows"] == [1] and len(pd.read_csv(out)) == 2
