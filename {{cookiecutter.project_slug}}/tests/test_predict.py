"""`predict`: one output row per input row, in order, the same as the model predicts in-process."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from support import explain, invoke, real_params, write_table

from {{ cookiecutter.__package_name }} import data, models, schema


@pytest.fixture(scope="module")
def rows(params) -> pd.DataFrame:
    """Rows to predict: the later period of the sample data if the project ships one, as users would."""
    later = real_params().data_path.parent / "later" / real_params().data_path.name
    source = later if later.is_file() else params.data_path
    return data.read_table(source).head(200)


def predict(model_dir, input_file, output_file):
    return invoke("predict", "--model", model_dir, "--input", input_file, "--output", output_file)


@pytest.fixture(scope="module")
def predicted(trained, rows, tmp_path_factory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("predict")
    result = predict(trained, write_table(rows, folder / "input.csv"), folder / "out" / "predictions.csv")
    assert result.exit_code == 0, explain(result)
    assert result.output == f"Wrote {len(rows)} predictions to {folder / 'out' / 'predictions.csv'}\n"
    return pd.read_csv(folder / "out" / "predictions.csv")


def in_process(model_dir, rows: pd.DataFrame) -> pd.DataFrame:
    model, _ = models.load(model_dir, [])
    return models.predict_frame(model, data.validate(rows, schema.Features, "test")).reset_index(drop=True)


def assert_same_predictions(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(got.columns) == list(expected.columns)
    if pd.api.types.is_numeric_dtype(expected["prediction"]):
        np.testing.assert_allclose(got["prediction"], expected["prediction"], rtol=1e-9)
    else:
        assert got["prediction"].astype(str).tolist() == expected["prediction"].astype(str).tolist()
    proba = [c for c in expected.columns if c.startswith("proba_")]
    np.testing.assert_allclose(got[proba].to_numpy(float), expected[proba].to_numpy(float), rtol=1e-9)


def test_one_prediction_per_row_in_order(predicted, rows, trained):
    assert len(predicted) == len(rows)
    assert_same_predictions(predicted, in_process(trained, rows))


def test_output_columns(predicted, params, trained):
    _, info = models.load(trained, [])
    if params.task == "classification":
        assert list(predicted.columns) == ["prediction", *(f"proba_{c}" for c in info.classes)]
        assert set(predicted["prediction"].astype(str)) <= {str(c) for c in info.classes}
        proba = predicted.filter(like="proba_")
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-9)
    else:
        assert list(predicted.columns) == ["prediction"]
        assert predicted["prediction"].notna().all()


def test_reversed_input_gives_reversed_output(trained, rows, predicted, tmp_path):
    reversed_rows = rows.iloc[::-1]
    result = predict(trained, write_table(reversed_rows, tmp_path / "in.csv"), tmp_path / "out.csv")
    assert result.exit_code == 0, explain(result)
    got = pd.read_csv(tmp_path / "out.csv")
    assert_same_predictions(got, predicted.iloc[::-1].reset_index(drop=True))


def test_extra_columns_are_ignored(trained, rows, predicted, params, tmp_path):
    features = list(schema.Features.to_schema().columns)
    only_features = rows[features]
    with_extras = rows.assign(customer_id=range(len(rows)))
    assert params.data.target in rows.columns  # the target is an extra column too
    for name, frame in [("features", only_features), ("extras", with_extras)]:
        result = predict(trained, write_table(frame, tmp_path / f"{name}.csv"), tmp_path / f"{name}.out.csv")
        assert result.exit_code == 0, explain(result)
        assert_same_predictions(pd.read_csv(tmp_path / f"{name}.out.csv"), predicted)


def test_parquet_in_and_out(trained, rows, predicted, tmp_path):
    result = predict(trained, write_table(rows, tmp_path / "in.parquet"), tmp_path / "out.parquet")
    assert result.exit_code == 0, explain(result)
    assert_same_predictions(pd.read_parquet(tmp_path / "out.parquet"), predicted)


def test_schema_violation_shows_the_table(trained, rows, tmp_path):
    numeric = data.feature_columns()[0][0]
    bad = rows.copy()
    bad.loc[bad.index[1], numeric] = -5
    result = predict(trained, write_table(bad, tmp_path / "bad.csv"), tmp_path / "out.csv")
    assert result.exit_code == 1, explain(result)
    assert re.search(rf"^{numeric} +greater_than_or_equal_to\S* +1 +-5 +2$", result.output, re.MULTILINE)
    assert not (tmp_path / "out.csv").exists()


def test_missing_feature_column_is_named(trained, rows, tmp_path):
    dropped = list(schema.Features.to_schema().columns)[-1]
    result = predict(
        trained, write_table(rows.drop(columns=[dropped]), tmp_path / "in.csv"), tmp_path / "o.csv"
    )
    assert result.exit_code == 1, explain(result)
    assert re.search(rf"^{dropped} +missing column +1 ", result.output, re.MULTILINE)


def test_missing_model_folder(rows, tmp_path):
    missing = tmp_path / "no-model"
    result = predict(missing, write_table(rows, tmp_path / "in.csv"), tmp_path / "out.csv")
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith(f"error: {missing}: not a model folder")
    assert "run `train` first" in result.output


def test_missing_input_file(trained, tmp_path):
    result = predict(trained, tmp_path / "nope.csv", tmp_path / "out.csv")
    assert result.exit_code == 1, explain(result)
    assert result.output == f"error: {tmp_path / 'nope.csv'}: file not found\n"


def test_unsupported_output_format(trained, rows, tmp_path):
    result = predict(trained, write_table(rows, tmp_path / "in.csv"), tmp_path / "out.json")
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith(f"error: {tmp_path / 'out.json'}: unsupported format '.json'")
    assert not (tmp_path / "out.json").exists()


def test_model_trained_on_another_schema_is_a_clear_error(trained, rows, tmp_path):
    """E.g. after `infer-schema` for new data, before retraining: the old model needs other columns."""
    old_model = tmp_path / "old-model"
    shutil.copytree(trained, old_model)
    info = json.loads((old_model / "model.json").read_text())
    info["numeric"] = [*info["numeric"], "retired_feature"]
    (old_model / "model.json").write_text(json.dumps(info))

    result = predict(old_model, write_table(rows, tmp_path / "in.csv"), tmp_path / "out.csv")
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), explain(result)  # a message, not a traceback
    assert result.output.startswith("error: the model was trained on other features"), explain(result)
    assert "only in the model: ['retired_feature']" in result.output
    assert "retrain it with `train`" in result.output
    assert not (tmp_path / "out.csv").exists()


def unknown_to_the_schema(column) -> object:
    """A value `column`'s checks refuse: a category never seen (`job=astronaut`), or one past the maximum."""
    for check in column.checks:
        allowed = check.statistics.get("allowed_values")
        if allowed is not None:
            return "astronaut" if isinstance(next(iter(allowed)), str) else max(allowed) + 1
        if check.statistics.get("max_value") is not None:
            return check.statistics["max_value"] + 1
    return None


def refused_rows(rows: pd.DataFrame, positions: list[int]) -> tuple[pd.DataFrame, str]:
    """`rows` with one feature set, at `positions`, to a value the schema refuses; and that feature."""
    columns = schema.Features.to_schema().columns
    name, value = next((n, v) for n, c in columns.items() if (v := unknown_to_the_schema(c)) is not None)
    changed = rows.copy()
    changed[name] = changed[name].astype(object)
    changed.loc[positions, name] = value
    return changed, name


def test_refused_rows_are_listed_and_the_others_predicted(trained, rows, tmp_path):
    """What the champion does with rows its schema refuses: no answer for them, and the rest in order."""
    changed, column = refused_rows(rows.reset_index(drop=True), [3, 17])
    source = write_table(changed, tmp_path / "input.csv")
    out, refused = tmp_path / "predictions.csv", tmp_path / "refused.json"

    plain = predict(trained, source, out)
    assert plain.exit_code == 1 and column in plain.output  # without --refused: refused, as before

    result = invoke("predict", "--model", trained, "--input", source, "--output", out, "--refused", refused)
    assert result.exit_code == 0, explain(result)
    record = json.loads(refused.read_text())
    assert record["rows"] == [3, 17]
    assert [(c["column"], c["count"]) for c in record["checks"]] == [(column, 2)]
    assert "astronaut" not in refused.read_text()  # counts, never the values
    expected = in_process(trained, changed.drop(index=[3, 17]))
    assert_same_predictions(pd.read_csv(out), expected)


def test_every_row_refused_writes_no_predictions(trained, rows, tmp_path):
    changed, _ = refused_rows(rows.head(4).reset_index(drop=True), [0, 1, 2, 3])
    out, refused = tmp_path / "predictions.csv", tmp_path / "refused.json"
    source = write_table(changed, tmp_path / "input.csv")
    result = invoke("predict", "--model", trained, "--input", source, "--output", out, "--refused", refused)
    assert result.exit_code == 0, explain(result)
    assert json.loads(refused.read_text())["rows"] == [0, 1, 2, 3]
    assert out.read_text().strip() == "prediction"
