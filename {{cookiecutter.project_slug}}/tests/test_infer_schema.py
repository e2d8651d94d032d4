"""`infer-schema`: writes an importable schema module for new data and points params.yaml at it.

`infer-schema` overwrites the package's own schema.py, so these tests always
redirect it to a file in a temporary folder and check the real one is untouched.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from support import PKG_NAME, ROOT, explain, invoke, write_small_params, write_table

from {{ cookiecutter.__package_name }} import (
    data,
    errors,
    evaluation,
    schema,
    schema_inference,
    settings,
)

ROWS = 300
FEATURES = {"quantity", "unit price", "colour", "member", "amount"}  # with `churned` as the target


@pytest.fixture
def workspace(tmp_path) -> Path:
    """A folder with a copy of the project's params.yaml (comments and all) and a new dataset in data/."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(1, ROWS + 1),
            "quantity": rng.integers(1, 20, ROWS),
            "unit price": rng.normal(10, 2, ROWS).round(2),
            "colour": rng.choice(["red", "green", "blue"], ROWS),
            "member": rng.random(ROWS) < 0.5,
            "note": [f"free text {i}" for i in range(ROWS)],  # too many distinct values to be a feature
            "churned": np.where(rng.random(ROWS) < 0.2, "yes", "no"),  # "yes" is the rarer class
            "amount": rng.normal(100, 15, ROWS),  # a float: a regression target
        }
    )
    frame.loc[7, "unit price"] = np.nan
    (tmp_path / "data").mkdir()
    frame.to_csv(tmp_path / "data" / "new.csv", index=False)
    return tmp_path


def infer(
    workspace: Path, target: str, row_key=("id",), ignore=(), task=None, date_formats=None, time_column=None
) -> dict:
    return schema_inference.infer(
        workspace / "data" / "new.csv",
        target,
        workspace / "params.yaml",
        workspace / "schema.py",
        list(row_key),
        list(ignore),
        task,
        date_formats,
        time_column,
    )


def import_schema(path: Path):
    spec = importlib.util.spec_from_file_location(f"inferred_schema_{abs(hash(path))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def comments(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("#")]


def test_writes_an_importable_schema(workspace):
    decided = infer(workspace, "churned")
    assert decided | {"notes": []} == {
        "task": "classification", "positive_class": "yes", "rows": ROWS, "columns": 8,
        "dates": {}, "time_column": None, "notes": [],
    }  # fmt: skip

    source = (workspace / "schema.py").read_text(encoding="utf-8")
    compile(source, "schema.py", "exec")
    inferred = import_schema(workspace / "schema.py")
    features = inferred.Features.to_schema().columns
    assert set(features) == FEATURES  # not the id, the free text or the target
    assert set(inferred.TrainingData.to_schema().columns) == FEATURES | {"id", "note", "churned"}
    assert 'alias="unit price"' in source and "unit_price: Series[float]" in source
    assert features["unit price"].nullable and not features["quantity"].nullable


def test_the_data_matches_its_inferred_schema(workspace):
    infer(workspace, "churned")
    inferred = import_schema(workspace / "schema.py")
    frame = data.read_table(workspace / "data" / "new.csv")
    assert len(data.validate(frame, inferred.TrainingData, "new.csv")) == ROWS
    assert list(data.validate(frame, inferred.Features, "new.csv").columns) == [
        "quantity", "unit price", "colour", "member", "amount"
    ]  # fmt: skip


def test_points_params_at_the_new_data(workspace):
    infer(workspace, "churned")
    params = settings.load_params(workspace / "params.yaml")
    assert params.task == "classification"
    assert params.data.path == Path("data/new.csv")
    assert params.data_path.is_file()
    assert (params.data.target, params.data.row_key, params.data.positive_class) == ("churned", ["id"], "yes")
    assert set(params.metrics) == set(evaluation.DEFAULTS["classification"])
    # The gate is set for this data: ROC AUC's own units, and a minimum its holdout can reach.
    rows = len((workspace / "data" / "new.csv").read_text(encoding="utf-8").splitlines()) - 1
    assert params.gate.tolerance == 0.005
    assert params.gate.min_rows == min(200, max(10, int(rows * params.split.holdout_fraction) // 2))


def comments_outside_data(path: Path) -> list[str]:
    """Comment lines of params.yaml except those inside the `data:` section (which describe the old data)."""
    found, section = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            section = line.split(":")[0]
        if line.strip().startswith("#") and section != "data":
            found.append(line.strip())
    return found


@pytest.mark.parametrize("target", ["churned", "amount"], ids=["same task", "task switch"])
def test_keeps_the_comments_outside_the_data_section(workspace, target):
    before = comments_outside_data(workspace / "params.yaml")
    infer(workspace, target)
    assert comments_outside_data(workspace / "params.yaml") == before
    text = (workspace / "params.yaml").read_text(encoding="utf-8")
    assert "# Written by infer-schema: review, then describe your data here." in text
    assert "\n\nsplit:" in text  # sections stay separated by a blank line


def test_cli_data_outside_the_project_folder(workspace, redirected_schema, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "new.csv"
    shutil.copy(workspace / "data" / "new.csv", outside)
    result = infer_cli(workspace, "--target", "churned", data_file=outside)
    assert result.exit_code == 0, explain(result)
    params = settings.load_params(workspace / "params.yaml")
    assert params.data_path.resolve() == outside.resolve()


def test_cli_missing_params_changes_nothing(workspace, redirected_schema):
    result = infer_cli(workspace, "--target", "churned", params_name="nope.yaml")
    assert result.exit_code == 1
    assert not redirected_schema.exists()
    assert result.output.startswith("error: ") and "nope.yaml: file not found" in result.output, explain(
        result
    )


def test_a_float_target_makes_a_regression(workspace):
    decided = infer(workspace, "amount")
    assert decided["task"] == "regression" and decided["positive_class"] is None
    params = settings.load_params(workspace / "params.yaml")
    assert params.task == "regression"
    assert params.metrics == ["rmse", "mae", "r2"] and params.train.primary_metric == "rmse"
    assert params.data.positive_class is None
    # An error's units are the target's: the tolerance is relative (1% of the champion's RMSE).
    assert params.gate.tolerance == "1%" and params.gate.allowed_loss(588.0) == pytest.approx(5.88)
    assert {c.estimator for c in params.train.candidates.values()} == {
        "linear", "random_forest", "hist_gradient_boosting"
    }  # fmt: skip
    features = import_schema(workspace / "schema.py").Features.to_schema().columns
    assert set(features) == FEATURES - {"amount"} | {"churned"}


def test_task_can_be_forced(workspace):
    assert infer(workspace, "quantity", task="classification")["task"] == "classification"
    assert infer(workspace, "quantity")["task"] == "regression"  # 19 distinct integers: a quantity


def infer_cli(workspace: Path, *args, data_file=None, params_name="params.yaml"):
    """Run `infer-schema` on the workspace's data (or `data_file`) with its params file (or `params_name`)."""
    data_file = data_file or workspace / "data" / "new.csv"
    return invoke("infer-schema", data_file, *args, "--params", workspace / params_name)


@pytest.fixture
def redirected_schema(workspace, monkeypatch) -> Path:
    """Make the CLI write schema.py into the workspace instead of over the package's own file."""
    target = workspace / "schema.py"
    monkeypatch.setattr(schema, "__file__", str(target))
    return target


def test_cli(workspace, redirected_schema):
    real_schema = ROOT / "src" / PKG_NAME / "schema.py"
    real_before = hashlib.sha256(real_schema.read_bytes()).hexdigest()
    params_path = workspace / "params.yaml"

    result = infer_cli(workspace, "--target", "churned", "--key", "id", "--ignore", "quantity")
    assert result.exit_code == 0, explain(result)
    assert f"Inferred a classification schema from {ROWS} rows x 8 columns." in result.output
    assert f"Wrote {redirected_schema} and updated {params_path}." in result.output

    inferred = import_schema(redirected_schema)
    assert set(inferred.Features.to_schema().columns) == FEATURES - {"quantity"}
    assert "quantity" in inferred.TrainingData.to_schema().columns
    assert settings.load_params(params_path).data.row_key == ["id"]
    assert hashlib.sha256(real_schema.read_bytes()).hexdigest() == real_before


def test_cli_unknown_column(workspace, redirected_schema):
    result = infer_cli(workspace, "--target", "nope")
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith("error: ") and "columns ['nope'] not found" in result.output
    assert not redirected_schema.exists()


def test_bring_your_own_data_end_to_end(workspace, monkeypatch, tmp_path):
    """infer-schema, then train and predict with the inferred schema, as the README's loop does."""
    infer(workspace, "churned")
    inferred = import_schema(workspace / "schema.py")
    monkeypatch.setattr(schema, "Features", inferred.Features)
    monkeypatch.setattr(schema, "TrainingData", inferred.TrainingData)
    params_path = write_small_params(settings.read_yaml(workspace / "params.yaml"), workspace / "params.yaml")

    result = invoke("train", "--params", params_path, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)
    result = invoke(
        "predict", "--model", tmp_path / "model", "--input", workspace / "data" / "new.csv",
        "--output", tmp_path / "predictions.csv",
    )  # fmt: skip
    assert result.exit_code == 0, explain(result)
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == ROWS
    assert list(predictions.columns) == ["prediction", "proba_no", "proba_yes"]


def test_new_ids_and_labels_beyond_the_largest_seen_are_valid_rows(workspace):
    """Only bounds that new rows must pass too are checks; the observed range is a hint comment."""
    infer(workspace, "amount")  # regression; `id` is the row key
    source = (workspace / "schema.py").read_text(encoding="utf-8")
    frame = data.read_table(workspace / "data" / "new.csv")
    assert (
        f"id: Series[int] = pa.Field()  # not a feature (row key or ignored); observed: 1 to {ROWS}" in source
    )
    assert "amount: Series[float] = pa.Field(ge=0)  # the target; observed: " in source
    assert "quantity: Series[int] = pa.Field(ge=0)  # observed: 1 to 19" in source
    assert not re.search(r"\ble=", source.split("class Features")[1])  # no observed maximum
    later = frame.assign(
        id=frame["id"] + ROWS,  # new ids
        amount=frame["amount"] + frame["amount"].max(),  # labels beyond the largest seen
        quantity=frame["quantity"] * 10,  # features beyond the observed range
    )
    inferred = import_schema(workspace / "schema.py")
    assert len(data.validate(later, inferred.TrainingData, "later")) == ROWS
    with pytest.raises(errors.ValidationFailed):  # a negative price or count stays refused
        data.validate(later.assign(amount=-1.0), inferred.TrainingData, "later")


def test_a_class_never_seen_is_a_valid_label_but_a_new_category_is_not_a_valid_feature(workspace):
    infer(workspace, "churned")
    source = (workspace / "schema.py").read_text(encoding="utf-8")
    assert 'churned: Series[str] = pa.Field()  # the target; observed: "no", "yes"' in source
    inferred = import_schema(workspace / "schema.py")
    frame = data.read_table(workspace / "data" / "new.csv")
    assert len(data.validate(frame.assign(churned="maybe"), inferred.TrainingData, "new class")) == ROWS
    with pytest.raises(errors.ValidationFailed) as failed:  # the model never saw purple
        data.validate(frame.assign(colour="purple"), inferred.TrainingData, "new category")
    assert set(failed.value.failures["column"]) == {"colour"}


def test_the_schema_says_which_bounds_are_checks_and_which_are_hints(workspace):
    infer(workspace, "churned")
    docstring = import_schema(workspace / "schema.py").__doc__
    assert "The arguments of `pa.Field(...)` are checks, enforced on every row" in docstring
    assert "Text after `observed:` in a comment is a hint, never checked" in docstring


def test_the_pattern_the_schema_suggests_matches_whole_values_in_ascii_digits(workspace):
    """infer-schema writes no pattern, but its module shows how to write one: the example must refuse
    a trailing newline (`$` matches before it) and digits of another script (`\\d` matches them)."""
    infer(workspace, "churned")
    docstring = import_schema(workspace / "schema.py").__doc__
    example = re.search(r'`str_matches=r"([^"]+)"`', docstring)
    assert example, docstring
    code = pa.DataFrameSchema({"code": pa.Column(str, pa.Check.str_matches(example[1]))})
    assert len(code.validate(pd.DataFrame({"code": ["AB1234"]}))) == 1
    for lookalike in ["AB1234\n", "AB١٢٣٤", "AB1234x"]:
        with pytest.raises(pa.errors.SchemaError):
            code.validate(pd.DataFrame({"code": [lookalike]}))


def test_long_names_and_hints_stay_ruff_clean(workspace, tmp_path):
    """Hints that do not fit after a declaration go above it, wrapped: the schema passes ruff."""
    long = "average monthly balance in euros over the last twelve months"
    frame = pd.DataFrame(
        {
            "id": [f"customer-{i:06d}-with-a-long-identifier" for i in range(60)],
            long: np.linspace(-1e6, 1e6, 60),
            "kind": ["k" * 60 + str(i % 3) for i in range(60)],
            "y": np.arange(60) % 2,
        }
    )
    frame.to_csv(workspace / "data" / "new.csv", index=False)
    infer(workspace, "y")
    ruff = [sys.executable, "-m", "ruff"]
    for command in (
        ["check", "--no-cache", "--isolated", "--line-length", "110"],
        ["format", "--check", "--isolated", "--line-length", "110"],
    ):
        done = subprocess.run(
            [*ruff, *command, str(workspace / "schema.py")], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
    inferred = import_schema(workspace / "schema.py")
    assert len(data.validate(frame, inferred.TrainingData, "new.csv")) == 60


def sklearn_frame(loader: str) -> pd.DataFrame:
    from sklearn import datasets

    frame = getattr(datasets, loader)(as_frame=True).frame
    frame.insert(0, "row_id", np.arange(1, len(frame) + 1))
    return frame


@pytest.mark.parametrize("loader", ["load_diabetes", "load_wine"])
def test_data_you_bring_can_be_retrained_on(loader, tmp_path, monkeypatch):
    """The whole loop on data the template never saw: infer-schema, validate, train; then a current
    batch with new ids, features beyond the observed range and (regression) labels beyond the
    largest seen drifts, is counted by `drift`, and is added by `retrain-data`."""
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    frame = sklearn_frame(loader)
    write_table(frame, tmp_path / "data" / "x.csv")
    monkeypatch.setattr(schema, "__file__", str(tmp_path / "schema.py"))
    result = invoke("infer-schema", tmp_path / "data" / "x.csv", "--target", "target", "--key", "row_id",
                    "--params", tmp_path / "params.yaml")  # fmt: skip
    assert result.exit_code == 0, explain(result)
    inferred = import_schema(tmp_path / "schema.py")
    monkeypatch.setattr(schema, "Features", inferred.Features)
    monkeypatch.setattr(schema, "TrainingData", inferred.TrainingData)
    raw = settings.read_yaml(tmp_path / "params.yaml")
    raw["drift"] |= {"source": {"kind": "file", "path": "data/current/*.csv"}, "min_rows": 100}
    multiclass = loader == "load_wine"
    if multiclass:
        raw["train"]["threshold"] = 0.3  # for two classes only: ignored, and `train` says so
    params = write_small_params(raw, tmp_path / "params.yaml")
    for verb in (["validate", "--report", tmp_path / "v.md"], ["train", "--out", tmp_path / "model"]):
        result = invoke(*verb, "--params", params)
        assert result.exit_code == 0, explain(result)
    ignored = "Decision threshold: none (train.threshold applies to two classes only; ignored)"
    assert (ignored in result.stdout) == multiclass

    batch = frame.sample(n=150, random_state=0)
    features = [c for c in frame.columns if c not in ("row_id", "target")]
    batch[features] = batch[features] * 1.5 + 1
    batch["row_id"] = np.arange(len(frame) + 1, len(frame) + 151)
    if loader == "load_diabetes":
        batch["target"] = batch["target"] + frame["target"].max()
    write_table(batch, tmp_path / "data" / "current" / "batch.csv")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    result = invoke("drift", "--params", params, "--model", tmp_path / "none", "--out", tmp_path / "drift")
    assert result.exit_code == 0, explain(result)
    assert (tmp_path / "github_output").read_text() == "drift=true\ndecayed=false\nlabels=150\n"
    result = invoke("retrain-data", "--params", params, "--body", tmp_path / "body.md")
    assert result.exit_code == 0, explain(result)
    assert (
        (tmp_path / "github_output").read_text().endswith("added=150\nfiles=data/x.csv,data/manifest.json\n")
    )
    grown = data.read_table(tmp_path / "data" / "x.csv")
    assert len(grown) == len(frame) + 150 and grown["row_id"].is_unique
    assert len(data.validate(grown, inferred.TrainingData, "grown")) == len(frame) + 150


# -- dates ------------------------------------------------------------------------------------

DATES = {  # column: (values, the format infer-schema must find)
    "day": (["2024-01-05", "2024-02-29", "2023-12-31"], "%Y-%m-%d"),
    "month": (["2024-01", "2023-12", "2024-11"], "%Y-%m"),
    "stamped": (["2024-01-05T10:00:00+02:00", "2024-01-05 23:59Z", "2024-02-01T08:30:00"], "ISO8601"),
    "paid": (["31/01/2024", "05/02/2024", "12/12/2023"], "%d/%m/%Y"),  # 31: day first
    "shipped": (["01.31.2024 14:30", "02.05.2024 09:00", "12.12.2023 23:15"], "%m.%d.%Y %H:%M"),
    "created_at": ([1_704_067_200, 1_706_745_600, 1_709_251_200], "epoch"),  # 2024: seconds since 1970
}


def with_columns(workspace: Path, **columns: list) -> pd.DataFrame:
    """The workspace's data with these columns added, each cycling through its values."""
    path = workspace / "data" / "new.csv"
    frame = pd.read_csv(path)
    for name, values in columns.items():
        frame[name] = [values[i % len(values)] for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return frame


def test_dates_are_found_checked_by_their_format_and_never_raw_features(workspace):
    with_columns(workspace, **{name: values for name, (values, _) in DATES.items()},
                 count=[1, 2, 3], code=["2024-01-05", "next week", "2024-02-01"])  # fmt: skip
    decided = infer(workspace, "churned")
    assert decided["dates"] == {name: format for name, (_, format) in DATES.items()}
    inferred = import_schema(workspace / "schema.py")
    assert set(inferred.Features.to_schema().columns) == FEATURES | {"count", "code"}
    source = (workspace / "schema.py").read_text(encoding="utf-8")
    assert 'day: Series[str] = pa.Field(date="%Y-%m-%d")  # a date, not a feature' in source
    assert 'created_at: Series[int] = pa.Field(date="epoch")' in source
    assert "observed: 2023-12-31 to 2024-02-29" in source  # the range as dates, not as text sorts
    assert "2024-02-29" not in source.split("class TrainingData")[0]  # no list of allowed dates
    frame = data.read_table(workspace / "data" / "new.csv")
    assert len(data.validate(frame, inferred.TrainingData, "new.csv")) == ROWS
    # A new day is valid (no categories); a value that is not a date in the column's format is not.
    later = frame.head(4).assign(day=["2031-07-14", "2024-02-30", "14/07/2031", "2024-1-5 "])
    with pytest.raises(data.ValidationFailed) as failed:
        data.validate(later, inferred.TrainingData, "later.csv")
    assert set(failed.value.failures["column"]) == {"day"} and sorted(failed.value.failures["index"]) == [
        1,
        2,
        3,
    ]
    # Several date columns: none is taken as the time column; the notes say how to choose.
    assert decided["time_column"] is None
    assert any("several date columns" in note and "--time-column" in note for note in decided["notes"])


def test_one_date_column_is_the_time_column_and_the_split_is_by_time(workspace, redirected_schema):
    with_columns(workspace, day=DATES["day"][0])
    result = infer_cli(workspace, "--target", "churned", "--key", "id")
    assert result.exit_code == 0, explain(result)
    assert "- `day` is the time column: the holdout is its latest period (split.by: time)" in result.output
    params = settings.load_params(workspace / "params.yaml")
    assert params.data.time_column == "day" and params.split.by == "time"
    assert "a date: the time column, not a feature" in redirected_schema.read_text(encoding="utf-8")


def test_without_a_date_the_split_stays_by_hash(workspace):
    infer(workspace, "churned")
    params = settings.load_params(workspace / "params.yaml")
    assert params.data.time_column is None and params.split.by == "hash"


def test_an_ambiguous_date_says_the_choice_and_the_flag_that_changes_it(workspace, redirected_schema):
    with_columns(workspace, day=["01/02/2024", "03/04/2024", "12/11/2023"])  # no field above 12
    result = infer_cli(workspace, "--target", "churned", "--key", "id")
    assert result.exit_code == 0, explain(result)
    said = (
        "- `day` is a date, no day above 12, so day-first (%d/%m/%Y) was chosen over month-first (%m/%d/%Y)"
    )
    assert said in result.output and "say otherwise with --date-format" in result.output
    changed = infer_cli(workspace, "--target", "churned", "--key", "id", "--date-format", "day=%m/%d/%Y")
    assert changed.exit_code == 0, explain(changed)
    assert 'pa.Field(date="%m/%d/%Y")' in redirected_schema.read_text(encoding="utf-8")
    assert "is a date, no day above 12" not in changed.output


def test_dates_in_mixed_formats_stay_text_and_the_note_says_how_to_declare_one(workspace, redirected_schema):
    with_columns(workspace, day=["2024-01-05", "05/01/2024", "2024-02-01"])
    result = infer_cli(workspace, "--target", "churned", "--key", "id")
    assert result.exit_code == 0, explain(result)
    said = "- `day` holds dates in more than one format (e.g. '2024-01-05', '05/01/2024'): kept as text"
    assert said in result.output and "declare one with --date-format day=FORMAT" in result.output
    params = settings.load_params(workspace / "params.yaml")
    assert params.data.time_column is None and params.split.by == "hash"
    assert "pa.Field(date=" not in redirected_schema.read_text(encoding="utf-8")


def test_a_wrong_date_format_or_time_column_changes_nothing(workspace, redirected_schema):
    with_columns(workspace, day=DATES["day"][0])
    params_before = (workspace / "params.yaml").read_bytes()
    wrong = infer_cli(workspace, "--target", "churned", "--date-format", "day=%d/%m/%Y")
    assert wrong.exit_code == 1
    assert "error: --date-format day=%d/%m/%Y: 300 values do not parse, e.g. '2024-01-05'" in wrong.output
    not_a_date = infer_cli(workspace, "--target", "churned", "--time-column", "colour")
    assert not_a_date.exit_code == 1
    assert "error: --time-column colour: not a date column (date columns: ['day']" in not_a_date.output
    malformed = infer_cli(workspace, "--target", "churned", "--date-format", "day")
    assert malformed.exit_code == 2 and "expected COLUMN=FORMAT" in malformed.output
    assert (workspace / "params.yaml").read_bytes() == params_before and not redirected_schema.exists()


# -- the positive class -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "share", "positive"),  # share: of rows with the second label
    [
        (["no", "yes"], 0.67, "yes"),  # the named class, though it is the majority
        (["No", "Yes"], 0.2, "Yes"),  # in any case
        ([0, 1], 0.7, 1),
        (["stayed", "churned"], 0.3, "churned"),  # no conventional name: the rarer class
    ],
)
def test_the_positive_class_is_the_one_named_so_else_the_rarer(workspace, labels, share, positive):
    frame = pd.read_csv(workspace / "data" / "new.csv")
    second = np.random.default_rng(1).random(len(frame)) < share
    frame["churned"] = np.where(second, labels[1], labels[0])
    frame.to_csv(workspace / "data" / "new.csv", index=False)
    decided = infer(workspace, "churned")
    assert decided["positive_class"] == positive
    (note,) = [note for note in decided["notes"] if note.startswith(f"positive class: {positive!r}")]
    reason = note.split(" (")[1].split(")")[0]  # e.g. "its name; 67% of rows"
    assert reason.startswith("its name; " if positive != "churned" else "the rarer class; ")
    assert settings.load_params(workspace / "params.yaml").data.positive_class == positive
    line = next(
        text for text in (workspace / "params.yaml").read_text().splitlines() if "positive_class:" in text
    )
    assert line.endswith(f"# chosen by infer-schema: {reason}")  # said in params.yaml too
