"""`drift` and `simulate-drift`: the verdict on real data, findings instead of crashes, clear errors."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT, explain, invoke, pkg, write_table

data, settings, sources = pkg("data"), pkg("settings"), pkg("sources")


def realistic_project(dest: Path, source: dict | None = None) -> Path:
    """The project's own params and full training data (realistic sizes), current data under `dest`."""
    raw = settings.read_yaml(ROOT / "params.yaml")
    raw["data"]["path"] = str(ROOT / raw["data"]["path"])
    raw["drift"]["source"] = source or {"kind": "file", "path": "current/*.csv"}
    params = dest / "params.yaml"
    dest.mkdir(parents=True, exist_ok=True)
    params.write_text(json.dumps(raw), encoding="utf-8")
    return params


def run_drift(params: Path, out: Path, monkeypatch=None, github_output: Path | None = None):
    if monkeypatch and github_output:
        monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    return invoke("drift", "--params", params, "--out", out)


@pytest.fixture(scope="module")
def drifted(tmp_path_factory):
    """A later period of the real data (July 2009 on for the bank, July 2012 on for bikes)."""
    root = tmp_path_factory.mktemp("drifted")
    params = realistic_project(root)
    result = invoke(
        "simulate-drift", "--params", params, "--rows", "3000", "--out", root / "current" / "b.csv"
    )
    assert result.exit_code == 0, explain(result)
    result = run_drift(params, root / "out")
    assert result.exit_code == 0, explain(result)
    return root / "out", result


def test_undrifted_sample_of_the_reference_period_is_not_drift(tmp_path, monkeypatch):
    params = realistic_project(tmp_path)
    result = invoke("simulate-drift", "--params", params, "--period", "reference", "--rows", "5000",
                    "--no-labels", "--out", tmp_path / "current" / "a.csv")  # fmt: skip
    assert result.exit_code == 0, explain(result)
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert record["dataset_drift"] is False
    assert record["share"] < record["drift_share"]
    assert (tmp_path / "github_output").read_text() == "drift=false\nlabels=false\n"
    assert "## ✅ No data drift" in (tmp_path / "out" / "summary.md").read_text()


def test_later_period_drifts_and_names_the_columns(drifted):
    out, _ = drifted
    record = json.loads((out / "drift.json").read_text())
    assert record["dataset_drift"] is True
    named = [c for c, v in record["columns"].items() if v["drifted"]]
    assert len(named) == record["drifted"] > 0
    summary = (out / "summary.md").read_text()
    assert summary.startswith("## 🌊 Data drift")
    for column in named:
        assert f"| {column} | ⚠️ yes |" in summary
    assert record["sample_sizes"]["current"] == {"rows": 3000, "valid": 3000, "used": 3000}
    assert record["labelled_rows"] == 3000
    assert (out / "drift.html").stat().st_size > 100_000  # Evidently's self-contained report


def test_schema_violations_are_findings_not_a_crash(tmp_path):
    params = realistic_project(tmp_path)
    batch = data.read_table(pkg("settings").load_params(ROOT / "params.yaml").data_path).sample(
        800, random_state=1
    )
    numeric = data.feature_columns()[0][0]
    batch.iloc[:5, batch.columns.get_loc(numeric)] = -(10**9)
    write_table(batch, tmp_path / "current" / "bad.csv")
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert record["validation"]["failures"] == 5 and record["validation"]["rows_excluded"] == 5
    assert record["sample_sizes"]["current"]["valid"] == 795
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "### ⚠️ The current data violates the schema: 5 failing values, 5 rows left out" in summary
    assert f"| {numeric} | greater_than_or_equal_to" in summary


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "drift.source.path: no CSV or Parquet files match 'current/*.csv'"),
        ("header_only", "no data rows"),
        ("few_rows", "fewer than drift.min_rows"),
    ],
)
def test_missing_empty_or_too_little_current_data_is_a_clear_error(tmp_path, content, message):
    params = realistic_project(tmp_path)
    training = data.read_table(pkg("settings").load_params(ROOT / "params.yaml").data_path)
    if content == "header_only":
        write_table(training.head(0), tmp_path / "current" / "empty.csv")
    elif content == "few_rows":
        write_table(training.head(50), tmp_path / "current" / "few.csv")
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith("error: ") and message in result.output, explain(result)
    assert not (tmp_path / "out" / "drift.json").exists()  # no verdict


def sqlite_source(db: Path) -> dict:
    query = "SELECT * FROM predictions WHERE logged_at >= :since"
    return {"kind": "sql", "url_env": "TEST_DRIFT_DB", "query": query, "window_days": 7}


def test_sql_source_reads_only_the_time_window(tmp_path, monkeypatch):
    db = tmp_path / "current.db"
    now = datetime.now(UTC)
    rows = pd.DataFrame({"x": [1, 2, 3], "logged_at": [now - timedelta(days=d) for d in (1, 3, 30)]})
    with sqlite3.connect(db) as connection:
        rows.to_sql("predictions", connection, index=False)
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    source = settings.SqlSource.model_validate(sqlite_source(db))
    assert sorted(sources.read_sql(source)["x"]) == [1, 2]  # the 30-day-old row is outside the window


def test_sql_source_errors_name_the_variable_never_the_url(tmp_path, monkeypatch):
    source = settings.SqlSource.model_validate(sqlite_source(tmp_path / "none.db"))
    monkeypatch.delenv("TEST_DRIFT_DB", raising=False)
    with pytest.raises(pkg("errors").DataError, match="the environment variable TEST_DRIFT_DB is not set"):
        sources.read_sql(source)
    monkeypatch.setenv("TEST_DRIFT_DB", "sqlite:///" + str(tmp_path / "empty.db"))
    with pytest.raises(pkg("errors").DataError, match=r"the query on \$TEST_DRIFT_DB failed: no such table"):
        sources.read_sql(source)
    monkeypatch.setenv("TEST_DRIFT_DB", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db")
    with pytest.raises(pkg("errors").DataError) as failed:
        sources.read_sql(source)
    assert "s3cret" not in str(failed.value)


def test_retrain_data_appends_new_labelled_rows_once(tmp_path, monkeypatch):
    """New rows go at the end (old lines untouched), duplicates are skipped, a second run changes nothing."""
    real = pkg("settings").load_params(ROOT / "params.yaml")
    training = tmp_path / "data" / real.data_path.name
    training.parent.mkdir(parents=True)
    original = real.data_path.read_bytes()
    training.write_bytes(original)
    params = realistic_project(tmp_path)
    raw = json.loads(params.read_text())
    raw["data"]["path"] = f"data/{training.name}"
    params.write_text(json.dumps(raw))
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name).head(300)
    already = data.read_table(real.data_path).head(20)  # rows the training data has already
    unlabelled = later.head(5).assign(**{real.data.target: None})
    write_table(pd.concat([later, already, unlabelled]), tmp_path / "current" / "batch.csv")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))

    body = tmp_path / "pr-body.md"
    result = invoke(
        "retrain-data", "--params", params, "--drift-summary", tmp_path / "none.md", "--body", body
    )
    assert result.exit_code == 0, explain(result)
    grown = training.read_bytes()
    assert grown.startswith(original)  # old lines byte for byte
    added = data.read_table(training).iloc[-300:].reset_index(drop=True)
    pd.testing.assert_frame_equal(added, later.reset_index(drop=True), check_dtype=False)
    assert (tmp_path / "github_output").read_text() == "added=300\n"
    text = body.read_text()
    assert (
        "Added **300** labelled rows" in text and "20 current rows were already in the training data" in text
    )
    assert "5 were left out" in text
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["rows"] == len(data.read_table(training))
    assert manifest["sha256"] == data.file_hash(training)

    again = invoke(
        "retrain-data", "--params", params, "--drift-summary", tmp_path / "none.md", "--body", body
    )
    assert again.exit_code == 0, explain(again)
    assert training.read_bytes() == grown  # idempotent
    assert json.loads((tmp_path / "data" / "manifest.json").read_text()) == manifest
    assert "No new labelled rows" in body.read_text()


def test_logged_predictions_round_trip_to_drift_and_retraining(tmp_path, monkeypatch, trained, params):
    """What the service logs, the drift job reads; labels recorded later make the rows trainable."""
    models = pkg("models")
    rows = data.read_table(params.data_path).head(40)
    features = data.validate(rows, pkg("schema").Features, "rows")
    model, _ = models.load(trained)
    predictions = models.predict_frame(model, features)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    target = params.data.target
    log = sources.PredictionLog(url, "predictions", target)
    ids = log.write(features, predictions, "model:abc")

    monkeypatch.setenv("TEST_DRIFT_DB", url)
    source = settings.SqlSource.model_validate(sqlite_source(tmp_path / "log.db"))
    logged = sources.read_sql(source)
    assert len(logged) == 40 and set(logged["model_version"]) == {"model:abc"}
    assert logged["prediction"].tolist() == predictions["prediction"].tolist()
    assert logged[target].isna().all()  # no outcome yet: not usable for retraining
    validated = data.validate(logged, pkg("schema").Features, "logged")  # the service's columns come back
    pd.testing.assert_frame_equal(
        validated.reset_index(drop=True), features.reset_index(drop=True), check_dtype=False
    )

    assert log.label(dict(zip(ids[:10], rows[target][:10], strict=True))) == 10
    log.close()
    labelled = sources.read_sql(source)
    assert labelled[target].notna().sum() == 10


def test_configured_stat_tests_are_used_per_column(tmp_path):
    params = realistic_project(tmp_path)
    raw = json.loads(params.read_text())
    numeric = data.feature_columns()[0]
    raw["drift"]["per_column_method"] = {numeric[0]: "psi", numeric[1]: "ks"}
    raw["drift"]["per_column_threshold"] = {numeric[0]: 0.25}
    params.write_text(json.dumps(raw))
    result = invoke(
        "simulate-drift", "--params", params, "--rows", "1000", "--out", tmp_path / "current" / "a.csv"
    )
    assert result.exit_code == 0, explain(result)
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 0, explain(result)
    columns = json.loads((tmp_path / "out" / "drift.json").read_text())["columns"]
    assert columns[numeric[0]]["method"].lower() == "psi" and columns[numeric[0]]["threshold"] == 0.25
    assert columns[numeric[1]]["method"].lower() in {"ks", "k-s p_value"}
    defaults = {"Wasserstein distance (normed)", "Jensen-Shannon distance"}  # chosen per column
    assert columns[numeric[2]]["method"] in defaults


def test_retrain_data_names_the_training_columns_current_rows_lack(tmp_path, monkeypatch):
    """Labelled rows without a training column (here the time column) cannot become training rows."""
    db = tmp_path / "current.db"
    params = realistic_project(tmp_path / "project", sqlite_source(db))
    time_column = settings.load_params(params).data.time_column
    real = settings.load_params(ROOT / "params.yaml")
    rows = data.read_table(real.data_path.parent / "later" / real.data_path.name).head(50)
    rows = rows.drop(columns=[time_column]).assign(logged_at=datetime.now(UTC))
    with sqlite3.connect(db) as connection:
        rows.to_sql("predictions", connection, index=False)
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    result = invoke("retrain-data", "--params", params, "--drift-summary", tmp_path / "none.md",
                    "--body", tmp_path / "body.md")  # fmt: skip
    assert result.exit_code == 1
    assert f"error: retrain-data: the current data lacks training columns ['{time_column}']" in result.output
