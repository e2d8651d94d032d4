"""`drift` and `simulate-drift`: the verdict on real data, findings instead of crashes, clear errors."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import ROOT, by_hash, explain, invoke, real_params, write_table

from {{ cookiecutter.__package_name }} import (
    charts,
    data,
    dates,
    drift,
    errors,
    evaluation,
    models,
    prediction_log,
    progress,
    records,
    reports,
    schema,
    settings,
    sources,
)


def realistic_project(dest: Path, source: dict | None = None, by_hash: bool = False) -> Path:
    """The project's own params and full training data (realistic sizes), current data under `dest`.

    `by_hash`: the hash split, for tests that need rows like those the model was reviewed on and
    never saw (its holdout: a random sample of the training period, so no drift). Under the
    project's time split, the unseen rows are the latest period: itself a change.
    """
    raw = settings.read_yaml(ROOT / "params.yaml")
    if by_hash:
        raw["split"]["by"] = "hash"
    raw["data"]["path"] = str(ROOT / raw["data"]["path"])
    raw["drift"]["source"] = source or {"kind": "file", "path": "current/*.csv"}
    params = dest / "params.yaml"
    dest.mkdir(parents=True, exist_ok=True)
    params.write_text(json.dumps(raw), encoding="utf-8")
    return params


def run_drift(params: Path, out: Path, monkeypatch=None, github_output: Path | None = None, model=None):
    """`monitor` (data drift only, unless `model` names the deployed model's folder)."""
    if monkeypatch and github_output:
        monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    model = model or out.parent / "no-model"
    return invoke("monitor", "--params", params, "--model", model, "--out", out)


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
    params = realistic_project(tmp_path, by_hash=True)
    result = invoke("simulate-drift", "--params", params, "--period", "reference", "--rows", "5000",
                    "--no-labels", "--out", tmp_path / "current" / "a.csv")  # fmt: skip
    assert result.exit_code == 0, explain(result)
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert record["dataset_drift"] is False
    assert record["share"] < record["drift_share"]
    # No labels: nothing to add, and no quality to score (no model given)
    assert (tmp_path / "github_output").read_text() == "drift=false\ndecayed=false\nlabels=0\n"
    assert "## ✅ No data drift" in (tmp_path / "out" / "summary.md").read_text()


def test_later_period_drifts_and_names_the_columns(drifted):
    out, _ = drifted
    record = json.loads((out / "drift.json").read_text())
    assert record["dataset_drift"] is True
    named = [c for c, v in record["columns"].items() if v["drifted"]]
    assert len(named) == record["drifted"] > 0
    summary = (out / "summary.md").read_text()
    assert summary.startswith("**Monitor**: data: drift; quality: not scored.")
    assert "\n## 🌊 Data drift" in summary
    for column in named:
        assert f"| {column} | ⚠️ yes |" in summary
    # The drifted features' distributions, reference vs current, drawn where the summary is read.
    shown = sorted(named)[: charts.MAX_DRIFT_CHARTS]
    assert [c["title"] for c in record["charts"]] == [f"{c}: reference vs current" for c in shown]
    assert summary.count("```mermaid") == len(shown) and "### Drifted features" in summary
    assert record["sample_sizes"]["current"] == {"rows": 3000, "read": 3000, "valid": 3000, "used": 3000}
    assert record["retraining"]["labelled"] == 3000 and record["addable_rows"] == 3000
    assert "**3,000** of the 3,000 labelled current rows (with `" in summary
    assert (out / "drift.html").stat().st_size > 100_000  # Evidently's self-contained report
    periods, column = record["periods"], real_params().data.time_column
    assert periods["current"]["time_column"] == periods["reference"]["time_column"] == column
    assert periods["current"]["first"] > periods["reference"]["last"]  # the later period
    current = f"`{column}` {periods['current']['first']} to {periods['current']['last']}"
    assert f"; {current}) with " in summary
    reference = f"`{column}` {periods['reference']['first']} to {periods['reference']['last']}"
    assert f"rows the model trained on ({reference})" in summary
    # The reference is the train split: under split.by: time it ends before the holdout begins.
    params = real_params()
    parts = data.split(data.load_training_data(params), params)
    assert periods["reference"] == data.span(parts.train, params)
    assert record["sample_sizes"]["reference"]["rows"] == len(parts.train)
    why = f"Retraining because the data drifted ({record['drifted']} of {len(record['columns'])} features, "
    assert record["why_retrain"].startswith(why) and "quality" not in record["why_retrain"]


def test_schema_violations_are_findings_not_a_crash(tmp_path):
    params = realistic_project(tmp_path)
    batch = data.read_table(settings.load_params(ROOT / "params.yaml").data_path).sample(800, random_state=1)
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


@pytest.mark.parametrize("content", [None, "header_only"], ids=["no file", "header only"])
def test_no_current_data_yet_is_a_notice_not_a_failure(tmp_path, monkeypatch, content):
    """A fresh repository: the weekly check stays green and says what to configure."""
    params = realistic_project(tmp_path)
    if content == "header_only":
        write_table(data.read_table(real_params().data_path).head(0), tmp_path / "current" / "empty.csv")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "job_summary.md"))
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    assert (tmp_path / "github_output").read_text() == "drift=false\ndecayed=false\nlabels=0\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "\n## ⏸️ No drift verdict: no current data yet" in summary
    assert "There is no current data in files current/*.csv" in summary
    for setting in ("`drift.source.path`", "`current/*.csv`", "`kind: sql`", "secret `DRIFT_DATABASE_URL`"):
        assert setting in summary
    assert summary in result.output  # the notice is what the terminal and the job summary show too
    assert (tmp_path / "job_summary.md").read_text() == summary + "\n"
    assert json.loads((tmp_path / "out" / "drift.json").read_text())["status"] == "no-data"
    assert not (tmp_path / "out" / "drift.html").exists()


def test_fewer_usable_rows_than_min_rows_is_no_verdict_not_a_failure(tmp_path, monkeypatch):
    params = realistic_project(tmp_path)
    training = data.read_table(real_params().data_path)
    write_table(training.head(50), tmp_path / "current" / "few.csv")
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    assert (tmp_path / "github_output").read_text() == "drift=false\ndecayed=false\nlabels=0\n"  # all known
    summary = (tmp_path / "out" / "summary.md").read_text()
    min_rows = settings.load_params(params).drift.min_rows
    assert (
        f"\n## ⏸️ No drift verdict: 50 usable current rows, fewer than `drift.min_rows` ({min_rows})"
        in summary
    )
    assert "- 50 already in the training data" in summary
    assert json.loads((tmp_path / "out" / "drift.json").read_text())["status"] == "too-few-rows"


def test_sql_source_without_rows_in_the_window_is_a_notice(tmp_path, monkeypatch):
    db = tmp_path / "current.db"
    old = (
        data.read_table(real_params().data_path)
        .head(10)
        .assign(logged_at=datetime.now(UTC) - timedelta(days=30))
    )
    with sqlite3.connect(db) as connection:
        old.to_sql("predictions", connection, index=False)
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    params = realistic_project(tmp_path / "project", sqlite_source(db))
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    assert (tmp_path / "github_output").read_text() == "drift=false\ndecayed=false\nlabels=0\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "no current data in the database in $TEST_DRIFT_DB (last 7 days)" in summary
    assert "returned no rows from the last 7 days (`drift.source.window_days`)" in summary
    assert "the secret `TEST_DRIFT_DB` (`drift.source.url_env`)" in summary


def write_corrupt(folder: Path) -> None:
    (folder / "current").mkdir(parents=True)
    (folder / "current" / "a.parquet").write_bytes(b"not parquet at all")


def write_other_format(folder: Path) -> None:
    (folder / "current").mkdir(parents=True)
    (folder / "current" / "a.json").write_text("{}")


def write_unrelated_columns(folder: Path) -> None:
    write_table(pd.DataFrame({"colour": ["red"] * 600}), folder / "current" / "a.csv")


@pytest.mark.parametrize(
    ("setup", "path", "message"),
    [
        (write_corrupt, "current/*", "current/a.parquet: cannot read"),
        (
            write_other_format,
            "current/*",
            "drift.source.path: 'current/*' matches no CSV or Parquet file, only a.json",
        ),
        (
            write_unrelated_columns,
            "current/*.csv",
            "none of the schema's columns are in the data (its columns: ['colour']",
        ),
    ],
    ids=["corrupt file", "not CSV or Parquet", "no feature column"],
)
def test_unreadable_current_files_are_an_error(tmp_path, setup, path, message):
    setup(tmp_path)
    params = realistic_project(tmp_path, {"kind": "file", "path": path})
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 1, explain(result)
    last = result.output.splitlines()[-1]  # after the progress lines, the error
    assert last.startswith("error: ") and message in last, explain(result)
    assert not (tmp_path / "out" / "drift.json").exists()  # no verdict, no notice


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "TEST_DRIFT_DB is not set: set the secret TEST_DRIFT_DB in the `drift` environment"),
        ("not a url", "$TEST_DRIFT_DB is not a usable SQLAlchemy URL"),
        ("sqlite:///{tmp}/empty.db", "the query on $TEST_DRIFT_DB failed: no such table: predictions"),
    ],
    ids=["missing secret", "bad URL", "failing query"],
)
def test_misconfigured_sql_source_is_an_error(tmp_path, monkeypatch, url, message):
    if url is None:
        monkeypatch.delenv("TEST_DRIFT_DB", raising=False)
    else:
        monkeypatch.setenv("TEST_DRIFT_DB", url.format(tmp=tmp_path))
    params = realistic_project(tmp_path / "project", sqlite_source(tmp_path / "none.db"))
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 1, explain(result)
    last = result.output.splitlines()[-1]
    assert last.startswith("error: drift.source") and message in last, explain(result)
    assert not (tmp_path / "out" / "drift.json").exists()


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


def test_a_large_sql_source_is_sampled_in_the_database(tmp_path, monkeypatch):
    """More rows than drift.sample_size: only about that many leave the database, seeded, evenly spread."""
    db, target, now = tmp_path / "current.db", real_params().data.target, datetime.now(UTC)
    rows = pd.DataFrame({"x": range(20_000), target: [None, 1, 0, None] * 5_000, "logged_at": now})
    old = pd.DataFrame({"x": [-1] * 500, target: 1, "logged_at": now - timedelta(days=30)})
    with sqlite3.connect(db) as connection:
        pd.concat([rows, old]).to_sql("predictions", connection, index=False)
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    project = realistic_project(tmp_path / "project", sqlite_source(db))

    def sample(seed: int, size: int = 2_000):
        raw = json.loads(project.read_text())
        raw["drift"] |= {"sample_size": size, "seed": seed}
        project.write_text(json.dumps(raw))
        return sources.sample_current(settings.load_params(project))

    window = sample(seed=0)
    assert window.sampled and window.total == 20_000 and window.labelled == 10_000  # counted in the database
    assert 1_900 <= len(window.rows) <= 2_100  # what the query transferred
    assert window.rows["x"].min() >= 0 and list(window.rows.columns) == ["x", target, "logged_at"]
    assert abs(window.rows["x"].mean() - 10_000) < 500  # spread over the whole window
    assert sample(seed=0).rows["x"].tolist() == window.rows["x"].tolist()  # seeded
    assert sample(seed=1).rows["x"].tolist() != window.rows["x"].tolist()
    everything = sample(seed=0, size=50_000)  # no larger than the sample: all of it
    assert not everything.sampled and sorted(everything.rows["x"]) == list(range(20_000))


def test_drift_on_a_sampled_database_reports_what_it_read(drifted, tmp_path, monkeypatch):
    """The verdict from the database's sample; labelled rows counted there for the retraining PR."""
    batch = data.read_table(drifted[0].parent / "current" / "b.csv").assign(logged_at=datetime.now(UTC))
    with sqlite3.connect(tmp_path / "current.db") as connection:
        batch.to_sql("predictions", connection, index=False)
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{tmp_path / 'current.db'}")
    params = realistic_project(tmp_path / "project", sqlite_source(tmp_path / "current.db"))
    raw = json.loads(params.read_text())
    raw["drift"] |= {"sample_size": 1_000, "min_rows": 500}
    params.write_text(json.dumps(raw))
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output")
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text())
    current = record["sample_sizes"]["current"]
    assert current["rows"] == 3_000 and 900 <= current["read"] <= 1_100 and record["dataset_drift"] is True
    assert record["retraining"]["counted"] and record["addable_rows"] == 3_000
    assert (tmp_path / "github_output").read_text() == "drift=true\ndecayed=false\nlabels=3000\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert f"({current['read']:,} read, sampled in the database from 3,000)" in summary
    assert (
        "**3,000** of the 3,000 current rows in the database in $TEST_DRIFT_DB (last 7 days) have `"
        in summary
    )
    assert "3000 labelled rows may be added" in result.stdout


def test_sql_source_errors_name_the_variable_never_the_url(tmp_path, monkeypatch):
    source = settings.SqlSource.model_validate(sqlite_source(tmp_path / "none.db"))
    monkeypatch.delenv("TEST_DRIFT_DB", raising=False)
    with pytest.raises(errors.DataError, match="the environment variable TEST_DRIFT_DB is not set"):
        sources.read_sql(source)
    monkeypatch.setenv("TEST_DRIFT_DB", "sqlite:///" + str(tmp_path / "empty.db"))
    with pytest.raises(errors.DataError, match=r"the query on \$TEST_DRIFT_DB failed: no such table"):
        sources.read_sql(source)
    monkeypatch.setenv("TEST_DRIFT_DB", "postgresql+psycopg://user:s3cret@127.0.0.1:1/db")
    with pytest.raises(errors.DataError) as failed:
        sources.read_sql(source)
    assert "s3cret" not in str(failed.value)


def own_training_data(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose training data is a copy of the real file in its own data/ (free to grow)."""
    real = real_params()
    training = tmp_path / "data" / real.data_path.name
    training.parent.mkdir(parents=True)
    training.write_bytes(real.data_path.read_bytes())
    params = realistic_project(tmp_path)
    raw = json.loads(params.read_text())
    raw["data"]["path"] = f"data/{training.name}"
    params.write_text(json.dumps(raw))
    return params, training


def retrain(tmp_path: Path, params: Path, *args):
    output = tmp_path / "github_output"
    output.unlink(missing_ok=True)
    result = invoke("retrain-data", "--params", params, "--drift-report", tmp_path / "none",
                    "--body", tmp_path / "pr-body.md", *args)  # fmt: skip
    assert result.exit_code == 0, explain(result)
    return result, output.read_text()


@pytest.fixture
def mixed_batch(tmp_path, monkeypatch):
    """300 new labelled rows, 20 the training data has, 5 unlabelled and 3 that break the schema."""
    real = real_params()
    params, training = own_training_data(tmp_path)
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name)
    new = later.head(300)
    already = data.read_table(real.data_path).head(20)
    unlabelled = later.iloc[300:305].assign(**{real.data.target: None})
    broken = later.iloc[305:308].copy()
    numeric = data.feature_columns()[0][0]
    broken[numeric] = -(10**9)
    write_table(pd.concat([new, already, unlabelled, broken]), tmp_path / "current" / "batch.csv")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    return params, training, new, numeric


def test_retrain_data_appends_new_labelled_rows_once_and_says_why_others_not(tmp_path, mixed_batch):
    """New rows go at the end (old lines untouched), the others are accounted for, a rerun changes nothing."""
    params, training, new, numeric = mixed_batch
    original = training.read_bytes()
    result, output = retrain(tmp_path, params)
    assert output == f"added=300\nfiles=data/{training.name},data/manifest.json\n"
    assert training.read_bytes().startswith(original)  # old lines byte for byte
    added = data.read_table(training).iloc[-300:].reset_index(drop=True)
    pd.testing.assert_frame_equal(added, new.reset_index(drop=True), check_dtype=False)
    target = real_params().data.target
    why = (
        f"**300** of the 323 labelled current rows (with `{target}`, of 328 read from files current/*.csv) "
        "were added to the "
        "training data. Left out:\n- 20 already in the training data"
    )
    no_target = f"5 current rows have no `{target}` yet (no outcome): they can be added once labelled."
    table = "### ❌ labelled current rows (files current/*.csv): 3 schema violations in 323 rows"
    failing = f"| {numeric} | greater_than_or_equal_to"
    body = (tmp_path / "pr-body.md").read_text()
    for text in (result.output, body):
        assert why in text and "- 3 fail the schema (table below)" in text and no_target in text
        assert table in text and failing in text and "| 3 | -1000000000 | 326, 327, 328 |" in text
    column = real_params().data.time_column
    added = f"(`{column}` {new[column].min()} to {new[column].max()})"
    assert f"Added **300** labelled rows {added} to `data/{training.name}`" in body
    assert "the holdout (`split.by: time`) moves to the newest rows, which the model on main never" in body
    manifest = json.loads((tmp_path / "data" / "manifest.json").read_text())
    assert manifest["rows"] == len(data.read_table(training))
    assert manifest["sha256"] == data.file_hash(training)

    grown, manifest_bytes = training.read_bytes(), (tmp_path / "data" / "manifest.json").read_bytes()
    result, output = retrain(tmp_path, params)
    assert output == "added=0\nfiles=\n"
    assert training.read_bytes() == grown  # idempotent
    assert (tmp_path / "data" / "manifest.json").read_bytes() == manifest_bytes  # not rewritten
    assert "No rows added" in result.output and "- 320 already in the training data" in result.output
    assert "No rows added: `data/" in (tmp_path / "pr-body.md").read_text()


def test_with_a_hash_split_the_pr_body_says_each_row_keeps_its_side(tmp_path, mixed_batch):
    params = mixed_batch[0]
    raw = json.loads(params.read_text())
    raw["split"]["by"] = "hash"
    params.write_text(json.dumps(raw))
    retrain(tmp_path, params)
    assert "every one keeps its side of the holdout split" in (tmp_path / "pr-body.md").read_text()


def test_drift_counts_the_rows_retrain_data_adds(tmp_path, mixed_batch):
    params, _, _, _ = mixed_batch
    result = run_drift(params, tmp_path / "out")
    assert result.exit_code == 0, explain(result)
    # 328 rows: no verdict
    assert (tmp_path / "github_output").read_text() == "drift=false\ndecayed=false\nlabels=300\n"
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert (
        "**300** of the 323 labelled current rows" in summary
        and "can be added to the training data" in summary
    )
    assert "- 3 fail the schema (table below)" in summary
    _, output = retrain(tmp_path, params)
    assert output.startswith("added=300\n")


def test_retrain_data_stages_exactly_the_files_it_changed(tmp_path, mixed_batch):
    """For a read-only job that hands the new data to the job that opens the pull request."""
    params, training, _, _ = mixed_batch
    stage = tmp_path / "staged"
    result, output = retrain(tmp_path, params, "--stage", stage)
    assert f"staged data/{training.name}, data/manifest.json in {stage}" in result.output
    staged = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    assert staged == sorted(output.removeprefix("added=300\nfiles=").strip().split(","))
    for name in staged:
        assert (stage / name).read_bytes() == (tmp_path / name).read_bytes()

    again = tmp_path / "again"
    _, output = retrain(tmp_path, params, "--stage", again)
    assert output == "added=0\nfiles=\n" and again.is_dir() and not any(again.iterdir())


@pytest.mark.parametrize("report", [None, "/artifacts/9"], ids=["no report", "report"])
def test_retrain_pr_body_links_the_run_inside_github_actions(tmp_path, mixed_batch, monkeypatch, report):
    """As drift.yml runs it: the run's links always, the one-file drift report when it was uploaded."""
    params, _, _, _ = mixed_batch
    run = "https://github.com/acme/churn/actions/runs/7"
    for key, value in (("GITHUB_SERVER_URL", "https://github.com"), ("GITHUB_REPOSITORY", "acme/churn"),
                       ("GITHUB_RUN_ID", "7")):  # fmt: skip
        monkeypatch.setenv(key, value)
    if report:
        monkeypatch.setenv("DRIFT_REPORT_URL", run + report)
    retrain(tmp_path, params)
    body = (tmp_path / "pr-body.md").read_text()
    assert f"[Drift check run]({run})" in body and f"[its artifacts]({run}#artifacts)" in body
    assert ("[the Evidently report (drift.html)](" in body) == bool(report)


def test_retrain_data_cannot_stage_data_outside_the_params_folder(tmp_path, monkeypatch):
    params = realistic_project(tmp_path / "project")  # its data.path is the real file, elsewhere
    before = real_params().data_path.read_bytes()
    result = invoke(
        "retrain-data", "--params", params, "--body", tmp_path / "b.md", "--stage", tmp_path / "s"
    )
    assert result.exit_code == 1
    assert (
        "error: retrain-data --stage: ['../" in result.output
        and "are outside the folder of params.yaml" in result.output
    )
    assert real_params().data_path.read_bytes() == before


def test_logged_predictions_round_trip_to_drift_and_retraining(tmp_path, monkeypatch, trained, params):
    """What the service logs, the drift job reads; labels recorded later make the rows trainable."""
    rows = data.read_table(params.data_path).head(40)
    features = data.validate(rows, schema.Features, "rows")
    model, _ = models.load(trained, [])
    predictions = models.predict_frame(model, features)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    target = params.data.target
    log = prediction_log.PredictionLog(url, "predictions", target)
    ids = log.write(features, predictions, "model:abc")

    monkeypatch.setenv("TEST_DRIFT_DB", url)
    source = settings.SqlSource.model_validate(sqlite_source(tmp_path / "log.db"))
    logged = sources.read_sql(source)
    assert len(logged) == 40 and set(logged["model_version"]) == {"model:abc"}
    assert logged["prediction"].tolist() == predictions["prediction"].tolist()
    assert logged[target].isna().all()  # no outcome yet: not usable for retraining
    validated = data.validate(logged, schema.Features, "logged")  # the service's columns come back
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
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    result = invoke("retrain-data", "--params", params, "--drift-report", tmp_path / "none",
                    "--body", tmp_path / "body.md")  # fmt: skip
    assert result.exit_code == 0, explain(result)
    assert (tmp_path / "github_output").read_text() == "added=0\nfiles=\n"
    assert "- 50 fail the schema (table below)" in result.output
    assert f"| {time_column} | missing column | 1 | {time_column} | - |" in result.output


def test_links_name_the_run_and_only_this_repositorys_report(monkeypatch):
    run = "https://github.com/acme/churn/actions/runs/7"
    for key, value in (("GITHUB_SERVER_URL", "https://github.com"), ("GITHUB_REPOSITORY", "acme/churn"),
                       ("GITHUB_RUN_ID", "7"), ("DRIFT_REPORT_URL", f"{run}/artifacts/9")):  # fmt: skip
        monkeypatch.setenv(key, value)
    assert reports.links() == {"run": run, "artifacts": f"{run}#artifacts", "report": f"{run}/artifacts/9"}
    monkeypatch.setenv("DRIFT_REPORT_URL", "https://evil.example/drift.html")
    assert "report" not in reports.links()


# -- monitor: data drift and model quality together --------------------------------------------


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Path:
    """The linear candidate trained on the full training data: its reviewed holdout values are
    measured on thousands of rows, as a real project's are (a small sample's would be noisy)."""
    params = realistic_project(tmp_path_factory.mktemp("deployed"), by_hash=True)
    raw = json.loads(params.read_text(encoding="utf-8"))
    raw["train"] |= {"candidates": {"linear": raw["train"]["candidates"]["linear"]}, "cv_folds": 2}
    params.write_text(json.dumps(raw), encoding="utf-8")
    out = params.parent / "model"
    result = invoke("train", "--params", params, "--out", out)
    assert result.exit_code == 0, explain(result)
    return out


def tag_of(model_dir: Path) -> str:
    return f"{models.MODEL_NAME}:{models.model_version(model_dir)}"


def monitored(tmp_path: Path, trained: Path, batch: pd.DataFrame, monkeypatch) -> tuple[str, str, dict]:
    """`monitor` on `batch` as the current data, scoring `trained`: (its output, GITHUB_OUTPUT, record)."""
    params = realistic_project(tmp_path, by_hash=True)
    raw = json.loads(params.read_text(encoding="utf-8"))
    raw["monitor"]["min_rows"] = 100  # a few thousand rows over a year's months
    params.write_text(json.dumps(raw), encoding="utf-8")
    write_table(batch, tmp_path / "current" / "batch.csv")
    result = run_drift(params, tmp_path / "out", monkeypatch, tmp_path / "github_output", model=trained)
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text(encoding="utf-8"))
    return said(result.output), (tmp_path / "github_output").read_text(), record


def said(output: str) -> str:
    """The verb's own lines, without its progress lines (stderr, which the test runner mixes in)."""
    return "\n".join(line for line in output.splitlines() if not progress.STAMP.match(line))


def unseen_rows(rows: int = 4000) -> pd.DataFrame:
    """Holdout rows of the real training data, never trained on, as one window: their time is the
    latest of them (a random sample of the training period, where the model's review measured it)."""
    real = by_hash(real_params())
    holdout = data.split(data.load_training_data(real), real).holdout
    sample = holdout.sample(n=min(rows, len(holdout)), random_state=0)
    return sample.assign(**{real.data.time_column: sample[real.data.time_column].max()})


def test_concept_drift_alone_decays_quality_and_asks_to_retrain(tmp_path, deployed, monkeypatch):
    """The features as before, the outcome changed for some of them: the data check sees nothing."""
    params = realistic_project(tmp_path / "simulate", by_hash=True)
    out = tmp_path / "simulate" / "batch.csv"
    result = invoke(
        "simulate-drift", "--params", params, "--period", "reference", "--rows", "4000", "--concept", "0.6",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0 and "; concept drift: " in result.output, explain(result)
    batch = data.read_table(out)
    time_column = real_params().data.time_column
    batch[time_column] = batch[time_column].max()  # one window
    output, outputs, record = monitored(tmp_path / "check", deployed, batch, monkeypatch)
    assert output.splitlines()[0] == "**Monitor**: data: no drift; quality: decayed."
    assert outputs.startswith("drift=false\ndecayed=true\nlabels=")
    quality = record["quality"]
    assert quality["verdict"] == "decayed" and quality["judged_window"] in quality["sentence"]
    summary = (tmp_path / "check" / "out" / "summary.md").read_text(encoding="utf-8")
    assert summary.index("Model quality: decayed") < summary.index("No data drift")
    # Evidently's quality report on the judged window: the second page of the one-file artifact
    html = (tmp_path / "check" / "out" / "drift.html").read_text(encoding="utf-8")
    assert f'<h2 id="page-1">Model quality in {quality["judged_window"]}</h2>' in html
    assert "failed (the verdict above reads the whole interval)" in quality["report"]
    assert quality["report"] in summary
    # The retraining PR's body opens with why, in one sentence with the window's numbers.
    pr_params, _ = own_training_data(tmp_path / "pr")
    write_table(batch, tmp_path / "pr" / "current" / "batch.csv")
    body = tmp_path / "pr" / "body.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "pr" / "github_output"))
    result = invoke("retrain-data", "--params", pr_params, "--drift-report", tmp_path / "check" / "out",
                    "--body", body)  # fmt: skip
    assert result.exit_code == 0, explain(result)
    why = body.read_text(encoding="utf-8").split("\n\n")[1]
    label = evaluation.metric_label(real_params().train.primary_metric)
    assert why.startswith(
        f"**Retraining because the model's quality decayed: {label} in {quality['judged_window']} is "
    )
    assert "by more than the tolerance" in why and "data drifted" not in why


def test_unseen_rows_of_the_training_period_hold_their_quality(tmp_path, deployed, monkeypatch):
    output, outputs, record = monitored(tmp_path, deployed, unseen_rows(), monkeypatch)
    assert output.splitlines()[0] == "**Monitor**: data: no drift; quality: holding."
    assert outputs.startswith("drift=false\ndecayed=false\n")
    judged = [w for w in record["quality"]["windows"] if w["status"] == "judged"]
    assert judged and all(not w["metrics"][0]["worse"] for w in judged)


def test_feature_drift_with_the_same_outcomes_says_quality_holds(tmp_path, deployed, monkeypatch):
    """Covariate shift: the inputs move, the model's errors do not."""
    shifted = covariate_shift(unseen_rows(20000), deployed)
    output, _, record = monitored(tmp_path, deployed, shifted, monkeypatch)
    assert record["dataset_drift"] or record["drifted"] > 0
    assert record["quality"]["verdict"] == "holding", record["quality"]["sentence"]
    assert "quality: holding" in output.splitlines()[0]


def covariate_shift(rows: pd.DataFrame, trained: Path) -> pd.DataFrame:
    """Half the rows of each level of the model's own error, drawn with a weight rising with the
    rank of the first numeric feature: that feature's distribution moves, every error level keeps
    its share. (Drawn without the strata, a regression's errors move too: they grow with the target.)"""
    model, info = models.load(trained, real_params().train.trusted_types)
    predicted = models.predict_frame(model, rows[info.numeric + info.categorical])
    target = rows[real_params().data.target]
    if "proba_" in "".join(predicted.columns):  # classification: the outcome and the score's decile
        score = predicted.filter(like="proba_").iloc[:, 0]
        level = target.astype(str) + pd.qcut(score.rank(method="first"), 10, labels=False).astype(str)
    else:
        level = pd.qcut((target - predicted["prediction"]).abs().rank(method="first"), 20, labels=False)
    weights = rows[info.numeric[0]].rank(method="first") ** 2
    return rows.groupby(level, group_keys=False).apply(
        lambda group: group.sample(n=len(group) // 2, weights=weights[group.index], random_state=0)
    )


def test_current_data_without_outcomes_says_no_labels_and_what_to_configure(tmp_path, deployed, monkeypatch):
    batch = unseen_rows(1000).drop(columns=[real_params().data.target])
    output, outputs, record = monitored(tmp_path, deployed, batch, monkeypatch)
    assert output.splitlines()[0] == "**Monitor**: data: no drift; quality: no labels."
    assert outputs.startswith("drift=false\ndecayed=false\n")
    assert record["quality"]["rows"]["labelled"] == 0 and record["quality"]["rows"]["unlabelled"] == 1000
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "record the outcomes of logged predictions with the `label` verb" in summary


def test_without_a_model_the_check_scores_the_data_and_says_so(tmp_path, monkeypatch):
    params = realistic_project(tmp_path, by_hash=True)
    write_table(unseen_rows(1000), tmp_path / "current" / "batch.csv")
    result = run_drift(params, tmp_path / "out", model=tmp_path / "nowhere")
    assert result.exit_code == 0, explain(result)
    assert said(result.output).splitlines()[:2] == [
        "**Monitor**: data: no drift; quality: not scored.",
        f"No model at {tmp_path / 'nowhere'} (train writes one there): data drift only.",
    ]


def test_drift_is_the_old_name_of_monitor(tmp_path):
    params = realistic_project(tmp_path, by_hash=True)
    write_table(unseen_rows(600), tmp_path / "current" / "batch.csv")
    old = invoke("drift", "--params", params, "--model", tmp_path / "none", "--out", tmp_path / "a")
    new = invoke("monitor", "--params", params, "--model", tmp_path / "none", "--out", tmp_path / "b")
    assert old.exit_code == new.exit_code == 0, explain(old)
    assert said(old.output).replace(str(tmp_path / "a"), str(tmp_path / "b")) == said(new.output)
    assert (tmp_path / "a" / "summary.md").read_text() == (tmp_path / "b" / "summary.md").read_text()


def test_the_later_period_logged_labelled_month_by_month_scores_as_its_files_do(
    tmp_path, deployed, monkeypatch
):
    """As a team would run it: the later period's requests logged as the service logs them (each in
    its month), outcomes sent back month by month with `label`, and the check reading the log: the
    same windows, counts and numbers as the same rows scored from files by their time column."""
    real = real_params()
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name)
    months = later_months()
    params = logged_later_period(tmp_path / "log", deployed, monkeypatch)

    result = run_drift(params, tmp_path / "log" / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    from_log = json.loads((tmp_path / "log" / "out" / "drift.json").read_text(encoding="utf-8"))["quality"]
    write_table(later, tmp_path / "files" / "current" / "later.csv")
    result = run_drift(realistic_project(tmp_path / "files"), tmp_path / "files" / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    from_files = json.loads((tmp_path / "files" / "out" / "drift.json").read_text(encoding="utf-8"))[
        "quality"
    ]

    assert from_log["time_column"] == "logged_at" and from_files["time_column"] == real.data.time_column
    tag = tag_of(deployed)
    assert from_log["scored"] == f"the answers {tag} gave (main's model, from the prediction log)"
    assert from_files["scored"] == f"main's model ({tag_of(deployed)})"
    assert [w["label"] for w in from_log["windows"]] == [str(m) for m in np.unique(months)[-12:]]
    assert from_log["windows"] == from_files["windows"] and from_log["verdict"] == from_files["verdict"]
    assert from_log["rows"]["labelled"] == sum(w["labelled"] for w in from_log["windows"]) > 0


def test_a_database_sampled_for_drift_still_scores_every_label(tmp_path, deployed, monkeypatch):
    """Drift reads a sample drawn in the database; quality reads every labelled row (and only the
    others' times), so no label is lost to the sample and every window counts all its rows."""
    real = real_params()
    rows = unseen_rows(2400).drop(columns=[real.data.time_column])
    assert len(rows) == 2400
    db = tmp_path / "log.db"
    log = prediction_log.PredictionLog(f"sqlite:///{db}", "predictions", real.data.target)
    model, _ = models.load(deployed, real.train.trusted_types)
    requests = data.validate(rows.drop(columns=[real.data.target]), schema.Features, "requests")
    now = datetime.now(UTC)
    for week in range(3):  # 800 predictions a week, the first 500 of each labelled
        part = slice(week * 800, (week + 1) * 800)
        ids = log.write(requests[part], models.predict_frame(model, requests[part]), tag_of(deployed),
                        now=now - timedelta(days=7 * week))  # fmt: skip
        log.label(dict(zip(ids[:500], rows[real.data.target].iloc[part][:500], strict=True)))
    log.close()
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    params = realistic_project(tmp_path, sqlite_source(db) | {"window_days": 30})
    raw = json.loads(params.read_text(encoding="utf-8"))
    raw["drift"] |= {"sample_size": 500, "min_rows": 100}
    raw["monitor"] |= {"window": "week", "min_rows": 100}
    params.write_text(json.dumps(raw), encoding="utf-8")

    result = run_drift(params, tmp_path / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text(encoding="utf-8"))
    assert record["sample_sizes"]["current"]["read"] < 800  # drift: the database's sample
    counted = record["quality"]["rows"]
    assert (counted["labelled"], counted["unlabelled"]) == (1500, 900)
    assert [(w["labelled"], w["unlabelled"]) for w in record["quality"]["windows"][-3:]] == [(500, 300)] * 3


def logged_later_period(tmp_path: Path, deployed: Path, monkeypatch, answers: dict | None = None) -> Path:
    """params.yaml of a project whose drift source is a prediction log of the later period: each
    month's requests logged as the service logs them, answered by `deployed` (under its tag) or,
    for a month in `answers` ("2010-10": (tag, answer), where answer(requests) gives the prediction
    table or is None for `deployed`'s), and their outcomes sent back with `label`."""
    real = real_params()
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name)
    target, time_column = real.data.target, real.data.time_column
    months = dates.utc_times(later[time_column], time_column).astype("datetime64[M]")
    db = tmp_path / "log.db"
    monkeypatch.setenv("TEST_DRIFT_DB", f"sqlite:///{db}")
    params = realistic_project(tmp_path, sqlite_source(db) | {"window_days": 36500})  # years-old months
    raw = json.loads(params.read_text(encoding="utf-8"))
    raw["serving"]["log_predictions"] = {"url_env": "TEST_DRIFT_DB", "table": "predictions"}
    params.write_text(json.dumps(raw), encoding="utf-8")
    model, _ = models.load(deployed, real.train.trusted_types)
    log = prediction_log.PredictionLog(f"sqlite:///{db}", "predictions", target)
    for month in np.unique(months):
        rows = later[months == month]
        requests = data.validate(rows.drop(columns=[target]), schema.Features, "requests")
        tag, answer = (answers or {}).get(str(month), (tag_of(deployed), None))
        predicted = models.predict_frame(model, requests) if answer is None else answer(requests)
        at = pd.Timestamp(month).to_pydatetime().replace(day=15, tzinfo=UTC)
        ids = log.write(requests, predicted, tag, now=at)
        outcomes = write_table(pd.DataFrame({"prediction_id": ids, target: rows[target].to_numpy()}),
                               tmp_path / "outcomes" / f"{month}.csv")  # fmt: skip
        result = invoke("label", outcomes, "--params", params)
        assert result.exit_code == 0, explain(result)
    log.close()
    return params


def test_quality_scores_the_answers_the_service_gave_not_main_models_predictions(
    tmp_path, deployed, monkeypatch
):
    """The log's answers are what users got: answers worse than main's model would give now (here its
    predictions turned upside down, logged under its tag) are what decays."""
    model, info = models.load(deployed, real_params().train.trusted_types)

    def upside_down(requests: pd.DataFrame) -> pd.DataFrame:
        table = models.predict_frame(model, requests)
        if info.classes:  # the other class, and the probabilities swapped
            flipped = {a: b for a, b in zip(info.classes, reversed(info.classes), strict=True)}
            probas = [f"proba_{c}" for c in info.classes]
            table[probas] = table[probas[::-1]].to_numpy()
            return table.assign(prediction=table["prediction"].map(flipped))
        return table.assign(prediction=2 * table["prediction"].mean() - table["prediction"])

    flipped = [str(m) for m in later_months()[-2:]]  # the judged month is one of them
    params = logged_later_period(
        tmp_path, deployed, monkeypatch, {m: (tag_of(deployed), upside_down) for m in flipped}
    )
    result = run_drift(params, tmp_path / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    found = json.loads((tmp_path / "out" / "drift.json").read_text(encoding="utf-8"))["quality"]
    assert found["judged_window"] in flipped and found["verdict"] == "decayed", found["sentence"]
    assert found["model"] == tag_of(deployed)


def test_rows_another_model_answered_are_left_out_and_counted(tmp_path, deployed, monkeypatch):
    """After a rollout, the months the previous model answered are its, not the deployed model's."""
    months = [str(m) for m in later_months()]
    older = {m: ("my-model:previous", None) for m in months[:-3]}
    params = logged_later_period(tmp_path, deployed, monkeypatch, older)
    result = run_drift(params, tmp_path / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    found = json.loads((tmp_path / "out" / "drift.json").read_text(encoding="utf-8"))["quality"]
    assert found["windows"][0]["label"] == months[-3]
    assert sum(w["labelled"] for w in found["windows"]) == label_counts()[-3:].sum()
    left_out = found["rows"]["left_out"]["labelled rows another model answered"]
    assert left_out == label_counts()[: len(months) - 3].sum() > 0
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert f"{left_out:,} labelled rows another model answered left out" in summary


def test_answers_of_a_model_the_check_does_not_know_are_not_scored_and_it_says_whose(
    tmp_path, deployed, monkeypatch
):
    """Between a merge and its rollout (or a shadow deployment without its champion's bento), the
    answering model's reviewed values are unknown: no verdict, and the summary says which model."""
    months = [str(m) for m in later_months()]
    params = logged_later_period(tmp_path, deployed, monkeypatch, {months[-1]: ("my-model:elsewhere", None)})
    summary = not_scored(params, tmp_path, deployed)
    assert (
        "the prediction log's newest answers come from my-model:elsewhere; the check knows the reviewed "
        f"values of main's ({tag_of(deployed)}) only"
    ) in summary


def test_logged_answers_without_a_time_say_they_cannot_tell_which_model_answers(deployed):
    tag = tag_of(deployed)
    rows = pd.DataFrame(
        {"logged_at": [None, "soon"], prediction_log.MODEL_COLUMN: [tag, tag], "prediction": [1, 0]}
    )
    said = drift.logged_answers(rows, rows.iloc[0:0], "logged_at", [deployed])
    assert said == "no logged row has both a logged_at time and a model_version: which model answers now?"


def later_months(counts: bool = False) -> np.ndarray:
    """The later period's months, oldest first (with `counts`: its rows per month)."""
    real = real_params()
    later = data.read_table(real.data_path.parent / "later" / real.data_path.name)
    column = real.data.time_column
    months = np.unique(dates.utc_times(later[column], column).astype("datetime64[M]"), return_counts=counts)
    return months[1] if counts else months


def label_counts() -> np.ndarray:
    """The later period's rows per month, oldest first."""
    return later_months(counts=True)


def not_scored(params: Path, tmp_path: Path, deployed: Path) -> str:
    """`monitor` on `params`'s log, which quality cannot score: the summary saying why."""
    result = run_drift(params, tmp_path / "out", model=deployed)
    assert result.exit_code == 0, explain(result)
    record = json.loads((tmp_path / "out" / "drift.json").read_text(encoding="utf-8"))
    assert record["quality"] is None and not record["decayed"]
    assert said(result.output).splitlines()[0].endswith("quality: not scored.")
    return (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("dropped", ["logged_at", "a probability"])
def test_a_log_query_without_a_column_quality_needs_is_not_scored_and_names_it(
    tmp_path, deployed, monkeypatch, dropped
):
    """A drift.source query that leaves out a column quality reads: no verdict, and the summary says
    which column, rather than scoring what is left."""
    info = records.read_info(deployed)
    if dropped == "a probability" and not info.classes:
        pytest.skip("a regression logs no probabilities")
    params = logged_later_period(tmp_path, deployed, monkeypatch)
    dropped = dropped if dropped == "logged_at" else f"proba_{info.classes[-1]}"
    with sqlite3.connect(tmp_path / "log.db") as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(predictions)")]
    raw = json.loads(params.read_text(encoding="utf-8"))
    kept = ", ".join(f'"{c}"' for c in columns if c != dropped)
    raw["drift"]["source"]["query"] = f"SELECT {kept} FROM predictions WHERE logged_at >= :since"
    params.write_text(json.dumps(raw), encoding="utf-8")

    summary = not_scored(params, tmp_path, deployed)

    if dropped == "logged_at":
        time_column = real_params().data.time_column
        assert f"the labelled current rows have no {time_column} column to make windows of" in summary
    else:
        assert f"the prediction log has no {dropped} column for {tag_of(deployed)}'s answers" in summary
