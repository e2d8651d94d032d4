"""`label` and the labels query: outcomes come back into the prediction log, or are joined from a
table of the team's own in the database. What the user sees: exit codes, the report's counts and
messages, and the table's contents after."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from support import ROOT, explain, invoke, real_params, write_table

from {{ cookiecutter.__package_name }} import (
    data,
    errors,
    labels,
    prediction_log,
    schema,
    settings,
    sources,
)

URL_ENV, TABLE = "TEST_LABELS_DB", "predictions"
PARAMS = real_params()
TARGET, TASK = PARAMS.data.target, PARAMS.task
# A valid outcome, another valid one, and invalid ones: (value, the check the report names).
if TASK == "classification":
    CLASSES = sorted(data.read_table(PARAMS.data_path)[TARGET].astype(str).unique())
    GOOD, OTHER = CLASSES[0], CLASSES[1]
    INVALID = [("maybe", "isin"), (3, "isin")]  # a value outside the classes; a number for a class
else:
    GOOD, OTHER = 12, 40
    INVALID = [("many", "coerce_dtype"), (-5, "greater_than_or_equal_to")]  # not a number; out of range


def shown(value) -> str | float | None:
    """A target as the tests compare it: a class as text, a number as a float, None if missing (the
    log's target column is text, and a column read back with missing values holds floats)."""
    if value is None or pd.isna(value):
        return None
    return str(value) if TASK == "classification" else float(value)


@dataclass
class Log:
    """A project whose params log predictions into SQLite, with `rows` predictions logged."""

    params: Path
    db: Path
    ids: list[str]
    rows: pd.DataFrame  # the logged requests (training rows without their target)

    def targets(self) -> dict[str, str | float | None]:
        """prediction_id -> the logged target (None: not labelled)."""
        with sqlite3.connect(self.db) as connection:
            found = connection.execute(f"SELECT prediction_id, {TARGET} FROM {TABLE}").fetchall()
        return {i: shown(v) for i, v in found}

    def table(self) -> pd.DataFrame:
        with sqlite3.connect(self.db) as connection:
            return pd.read_sql(f"SELECT * FROM {TABLE} ORDER BY prediction_id", connection)


def project_params(dest: Path, logging: dict | None = None, **changes) -> Path:
    raw = settings.read_yaml(ROOT / "params.yaml")
    raw["data"]["path"] = str(ROOT / raw["data"]["path"])
    raw["serving"]["log_predictions"] = logging
    for section, values in changes.items():
        raw[section] = {**raw[section], **values}
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "params.yaml").write_text(json.dumps(raw), encoding="utf-8")
    return dest / "params.yaml"


def logged(tmp_path: Path, monkeypatch, rows: int = 10, **changes) -> Log:
    """`rows` training rows logged as the service logs its predictions (request columns, no target)."""
    db = tmp_path / "log.db"
    monkeypatch.setenv(URL_ENV, f"sqlite:///{db}")
    params = project_params(tmp_path / "project", {"url_env": URL_ENV, "table": TABLE}, **changes)
    requests = data.read_table(PARAMS.data_path).head(rows).drop(columns=[TARGET])
    log = prediction_log.PredictionLog(f"sqlite:///{db}", TABLE, TARGET)
    predictions = pd.DataFrame({"prediction": [GOOD] * rows})
    ids = log.write(requests, predictions, "model:1", now=datetime(2026, 11, 2, tzinfo=UTC))
    log.close()
    return Log(params, db, ids, requests)


def label(log: Log, frame: pd.DataFrame, tmp_path: Path, name: str = "labels.csv"):
    path = write_table(frame, tmp_path / name)
    return invoke("label", path, "--params", log.params)


def counts(output: str) -> dict[str, int]:
    """The report's counts by name: `  relabelled:   1  ...` -> {"relabelled": 1}."""
    found = {}
    for line in output.splitlines():
        name, _, rest = line.strip().partition(":")
        words = rest.split()
        if line.startswith("  ") and words and words[0].replace(",", "").isdigit():
            found[name] = int(words[0].replace(",", ""))
    return found


def test_labels_by_prediction_id_count_new_unknown_duplicate_and_invalid_rows(tmp_path, monkeypatch):
    log = logged(tmp_path, monkeypatch)
    ids = log.ids
    bad, check = INVALID[0]
    frame = pd.DataFrame(
        {
            "prediction_id": [ids[0], ids[1], "no-such-id", ids[2], ids[0], ids[3]],
            TARGET: [OTHER, GOOD, GOOD, bad, GOOD, GOOD],  # ids[0] twice: the last row (GOOD) counts
        }
    )
    result = label(log, frame, tmp_path)
    assert result.exit_code == 1, explain(result)  # an invalid row: listed, not written
    assert counts(result.output) == {
        "labelled": 3,
        "already labelled": 0,
        "relabelled": 0,
        "unknown ids": 1,
        "duplicates": 1,
        "invalid": 1,
    }, result.output
    assert "no such prediction in the log: not written (row 3)" in result.output
    assert "3 logged predictions updated, in one transaction." in result.output
    # The failure table names the row (4), the column and the check, and only the failing value.
    table = next(line for line in result.output.splitlines() if line.startswith(f"{TARGET} "))
    assert check in table and str(bad) in table and table.split()[-1] == "4", result.output
    assert ids[1] not in result.output  # the report never shows the rows themselves
    after = log.targets()
    assert [after[i] for i in ids[:4]] == [shown(GOOD), shown(GOOD), None, shown(GOOD)]
    assert all(after[i] is None for i in ids[4:])


def test_relabels_take_the_last_value_and_say_so(tmp_path, monkeypatch):
    log = logged(tmp_path, monkeypatch)
    ids = log.ids
    first = label(log, pd.DataFrame({"prediction_id": ids[:3], TARGET: [GOOD] * 3}), tmp_path)
    assert first.exit_code == 0, explain(first)
    again = pd.DataFrame({"prediction_id": [ids[0], ids[1], ids[4]], TARGET: [GOOD, OTHER, OTHER]})
    result = label(log, again, tmp_path, "again.parquet")  # Parquet too
    assert result.exit_code == 0, explain(result)
    assert counts(result.output) == {
        "labelled": 1,
        "already labelled": 1,
        "relabelled": 1,
        "unknown ids": 0,
        "duplicates": 0,
        "invalid": 0,
    }, result.output
    assert "had another value: the last value wins (row 2)" in result.output
    assert "2 logged predictions updated" in result.output
    after = log.targets()
    assert [after[i] for i in ids[:5]] == [shown(GOOD), shown(OTHER), shown(GOOD), None, shown(OTHER)]


@pytest.mark.parametrize(("value", "check"), INVALID, ids=["wrong value", "wrong type"])
def test_a_target_the_schema_refuses_is_not_written(tmp_path, monkeypatch, value, check):
    log = logged(tmp_path, monkeypatch)
    frame = pd.DataFrame({"prediction_id": log.ids[:2], TARGET: [GOOD, value]})
    result = label(log, frame, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert counts(result.output)["labelled"] == 1 and counts(result.output)["invalid"] == 1
    assert "1 schema violation in 2 rows" in result.output and check in result.output
    assert "Fix the rows above and run `label` again" in result.output
    assert log.targets()[log.ids[1]] is None


def test_without_ids_the_row_key_matches(tmp_path, monkeypatch):
    """Outcomes by the training data's row key (here the key params name, or one made of columns the
    requests carry), for predictions whose id was not kept."""
    key = PARAMS.data.row_key or [PARAMS.data.time_column, *list(schema.Features.to_schema().columns)[:3]]
    log = logged(tmp_path, monkeypatch, data={"row_key": key})
    frame = log.rows[key].head(3).assign(**{TARGET: [GOOD, OTHER, GOOD]})
    seen = {tuple(row) for row in log.rows[key].astype(str).to_numpy()}
    later = data.read_table(PARAMS.data_path)[key].iloc[len(log.rows) :]
    unseen = later[[tuple(row) not in seen for row in later.astype(str).to_numpy()]].head(1)
    result = label(log, pd.concat([frame, unseen.assign(**{TARGET: GOOD})], ignore_index=True), tmp_path)
    assert result.exit_code == 0, explain(result)
    assert f"matched by data.row_key {key}" in result.output
    assert counts(result.output) | {"labelled": 3, "unknown keys": 1} == counts(result.output), result.output
    after = log.targets()
    assert [after[i] for i in log.ids[:3]] == [shown(GOOD), shown(OTHER), shown(GOOD)]


def test_a_failure_mid_file_writes_nothing(tmp_path, monkeypatch):
    """The database refuses one row of the last batch: the batches before it are rolled back too."""
    log = logged(tmp_path, monkeypatch)
    label(log, pd.DataFrame({"prediction_id": log.ids[:2], TARGET: [GOOD, GOOD]}), tmp_path, "first.csv")
    before = log.table()
    with sqlite3.connect(log.db) as connection:
        connection.execute(
            f"CREATE TRIGGER refuse BEFORE UPDATE ON {TABLE} WHEN NEW.prediction_id = '{log.ids[8]}' "
            "BEGIN SELECT RAISE(ABORT, 'the database refused this row'); END"
        )
    monkeypatch.setattr(labels, "BATCH_ROWS", 3)  # four batches
    frame = pd.DataFrame({"prediction_id": log.ids, TARGET: [OTHER] * len(log.ids)})
    result = label(log, frame, tmp_path)
    assert result.exit_code == 1, explain(result)
    last = result.output.strip().splitlines()[-1]
    assert last == (
        f"error: serving.log_predictions: table '{TABLE}' in ${URL_ENV}: writing the labels failed, so "
        "nothing was written: the database refused this row"
    ), result.output
    pd.testing.assert_frame_equal(log.table(), before)


def write_header_only(path: Path) -> None:
    path.write_text(f"prediction_id,{TARGET}\n")


def write_nothing(path: Path) -> None:
    path.write_text("")


def write_without_key(path: Path) -> None:
    pd.DataFrame({"id": ["a"], TARGET: [GOOD]}).to_csv(path, index=False)


def write_without_target(path: Path) -> None:
    pd.DataFrame({"prediction_id": ["a"], "outcome": [GOOD]}).to_csv(path, index=False)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (write_header_only, "labels.csv: no data rows"),
        (write_nothing, "labels.csv: file is empty"),
        (write_without_key, "labels.csv: "),  # the message depends on data.row_key: checked below
        (write_without_target, f"labels.csv: no column '{TARGET}' (data.target)"),
    ],
    ids=["header only", "empty file", "no key column", "no target column"],
)
def test_unusable_files_are_an_error_naming_the_file_and_column(tmp_path, monkeypatch, write, message):
    log = logged(tmp_path, monkeypatch)
    before = log.table()
    write(tmp_path / "labels.csv")
    result = invoke("label", tmp_path / "labels.csv", "--params", log.params)
    assert result.exit_code == 1, explain(result)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, result.output
    if write is write_without_key:
        row_key = PARAMS.data.row_key
        expected = (
            f"neither a 'prediction_id' column (as the service returned it) nor the data.row_key columns "
            f"{row_key}"
            if row_key
            else "no column 'prediction_id': give each outcome the prediction_id the service returned"
        )
        assert expected in last and "its columns: ['id', " in last, last
    pd.testing.assert_frame_equal(log.table(), before)


def test_a_missing_row_key_column_is_named(tmp_path, monkeypatch):
    key = PARAMS.data.row_key or [PARAMS.data.time_column, next(iter(schema.Features.to_schema().columns))]
    log = logged(tmp_path, monkeypatch, data={"row_key": key})
    frame = log.rows[key[:1]].head(2).assign(**{TARGET: GOOD})
    result = label(log, frame, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert f"labels.csv: missing column(s) {key[1:]} of data.row_key {key} (or give 'prediction_id'" in (
        result.output
    )


def test_without_prediction_logging_label_says_what_to_set(tmp_path, monkeypatch):
    params = project_params(tmp_path)
    write_table(pd.DataFrame({"prediction_id": ["a"], TARGET: [GOOD]}), tmp_path / "labels.csv")
    result = invoke("label", tmp_path / "labels.csv", "--params", params)
    assert result.exit_code == 1, explain(result)
    assert "error: serving.log_predictions is null: `label` writes outcomes into the prediction log" in (
        result.output
    )
    assert "{url_env: PREDICTIONS_DATABASE_URL, table: predictions}" in result.output


def test_an_unset_database_variable_is_named(tmp_path, monkeypatch):
    log = logged(tmp_path, monkeypatch)
    monkeypatch.delenv(URL_ENV)
    result = label(log, pd.DataFrame({"prediction_id": log.ids[:1], TARGET: [GOOD]}), tmp_path)
    assert result.exit_code == 1, explain(result)
    assert (
        f"error: serving.log_predictions.url_env: the environment variable {URL_ENV} is not set"
        in result.output
    )


def test_a_log_without_the_table_yet_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(URL_ENV, f"sqlite:///{tmp_path / 'empty.db'}")
    params = project_params(tmp_path / "project", {"url_env": URL_ENV, "table": TABLE})
    write_table(pd.DataFrame({"prediction_id": ["a"], TARGET: [GOOD]}), tmp_path / "labels.csv")
    result = invoke("label", tmp_path / "labels.csv", "--params", params)
    assert result.exit_code == 1, explain(result)
    assert "no such table (the service creates it when it logs its first prediction)" in result.output


# Labels that live elsewhere: monitor.labels.query, joined to the current rows in the database.

CURRENT = "SELECT * FROM predictions WHERE logged_at >= :since"


def sql_source() -> dict:
    return {"kind": "sql", "url_env": URL_ENV, "query": CURRENT, "window_days": 100_000}


def outcomes(log: Log, frame: pd.DataFrame) -> None:
    with sqlite3.connect(log.db) as connection:
        frame.to_sql("outcomes", connection, index=False)


def with_labels_query(log: Log, query: str) -> settings.Params:
    raw = json.loads(log.params.read_text())
    raw["drift"]["source"] = sql_source()
    raw["monitor"]["labels"] = {"query": query}
    log.params.write_text(json.dumps(raw))
    return settings.load_params(log.params)


def test_the_labels_query_gives_the_current_rows_their_target(tmp_path, monkeypatch):
    log = logged(tmp_path, monkeypatch)
    label(log, pd.DataFrame({"prediction_id": log.ids[5:7], TARGET: [GOOD, GOOD]}), tmp_path)  # replaced
    outcomes(
        log,
        pd.DataFrame({"prediction_id": [*log.ids[:3], "elsewhere"], "outcome": [GOOD, OTHER, GOOD, OTHER]}),
    )
    params = with_labels_query(log, f'SELECT prediction_id, outcome AS "{TARGET}" FROM outcomes;')
    current = sources.load_current(params)
    assert len(current) == 10 and list(current.columns) == list(log.table().columns)  # same columns, order
    got = dict(zip(current["prediction_id"], current[TARGET], strict=True))
    assert [shown(got[i]) for i in log.ids[:7]] == [
        shown(GOOD), shown(OTHER), shown(GOOD), None, None, None, None
    ]  # fmt: skip
    sampled = sources.sample_current(params)  # what the scheduled check reads
    assert sampled.total == 10 and sampled.rows[TARGET].notna().sum() == 3


def test_the_labels_query_can_match_on_the_row_key(tmp_path, monkeypatch):
    key = PARAMS.data.row_key or [PARAMS.data.time_column, next(iter(schema.Features.to_schema().columns))]
    log = logged(tmp_path, monkeypatch, data={"row_key": key})
    outcomes(log, log.rows[key].head(2).assign(**{TARGET: [GOOD, OTHER]}).drop_duplicates(key))
    current = sources.load_current(with_labels_query(log, "SELECT * FROM outcomes"))
    got = dict(zip(current["prediction_id"], current[TARGET], strict=True))
    assert shown(got[log.ids[0]]) == shown(GOOD) and shown(got[log.ids[9]]) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT prediction_id, y FROM no_such_table", "failed: no such table: no_such_table"),
        ("SELECT 1 AS one", "returns neither 'prediction_id' nor the data.row_key columns"),
        ("SELECT prediction_id FROM outcomes", f"returns no column '{TARGET}' (data.target)"),
        (f'SELECT prediction_id, outcome AS "{TARGET}" FROM outcomes UNION ALL '
         f'SELECT prediction_id, outcome FROM outcomes', "returns more than one row for some prediction_id"),
    ],
    ids=["failing query", "no key", "no target", "two outcomes for one id"],
)  # fmt: skip
def test_a_failing_labels_query_is_an_error_naming_it(tmp_path, monkeypatch, query, message):
    log = logged(tmp_path, monkeypatch)
    outcomes(log, pd.DataFrame({"prediction_id": log.ids[:2], "outcome": [GOOD, OTHER]}))
    with_labels_query(log, query)
    result = invoke("drift", "--params", log.params, "--out", tmp_path / "out")
    assert result.exit_code == 1, explain(result)
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"error: monitor.labels.query: the query on ${URL_ENV}") and message in last, last
    assert not (tmp_path / "out" / "drift.json").exists()


def test_a_labels_query_with_current_data_from_files_is_an_error(tmp_path, monkeypatch):
    log = logged(tmp_path, monkeypatch)
    raw = json.loads(log.params.read_text())
    raw["monitor"]["labels"] = {"query": "SELECT prediction_id, y FROM outcomes"}
    log.params.write_text(json.dumps(raw))
    with pytest.raises(
        errors.DataError, match=r"monitor\.labels\.query is set but drift\.source\.kind is file"
    ):
        sources.load_current(settings.load_params(log.params))
    result = invoke("drift", "--params", log.params, "--out", tmp_path / "out")
    assert result.exit_code == 1 and "drift.source.kind is file" in result.output, explain(result)
