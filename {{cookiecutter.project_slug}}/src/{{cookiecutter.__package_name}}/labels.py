"""`label`: outcomes come back into the prediction log, matched by prediction_id or data.row_key.

A label file (CSV or Parquet) has one row per outcome: the `prediction_id` the service returned
(or the training data's `data.row_key` columns) and the target. Each target is checked against
the schema's own target column (its type and checks, e.g. the classes); a row that fails is not
written and is shown in the same failure table `validate` prints.

One file is one transaction: the rows go into a temporary table in batches, then the database
joins it to the log, counts what each row would do and sets the targets with one UPDATE ... FROM.
Any error rolls all of it back, so a file is either recorded or not at all. A key given twice in
the file, or already labelled in the log with another value, takes the file's last value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import data, progress, schema
from .errors import DataError
from .settings import Params, PredictionLogging

if TYPE_CHECKING:
    from sqlalchemy import Connection, Table

ID = "prediction_id"  # what the service returns with each prediction and logs with it
BATCH_ROWS = 50_000  # rows sent to the database per INSERT into the temporary table
SQLITE_CACHE_KB = 131_072  # SQLite's page cache while labelling (its default is 2 MB)
BATCH_TABLE, STATUS_TABLE = "label_batch_", "label_statuses_"  # temporary tables of the transaction
ROW, VALUE, STATUS = "label_row_", "label_value_", "label_status_"
EXAMPLES = 5  # rows named per count
STATUSES = ("labelled", "unchanged", "relabelled", "unknown")


@dataclass(frozen=True)
class Outcome:
    """What `label` did with one file: counts of its rows, and a few row numbers (1 = first data row)."""

    file: str
    rows: int  # data rows in the file
    key: list[str]  # [prediction_id] or data.row_key
    table: str
    url_env: str
    counts: dict[str, int]  # STATUSES: rows newly labelled, same value, another value replaced, no match
    examples: dict[str, list[int]]  # per status: the first rows
    duplicates: int  # rows whose key comes again later in the file (the later row counts)
    updated: int  # logged predictions whose target changed
    failures: pd.DataFrame | None = field(default=None)  # pandera's failure cases of the invalid rows
    invalid: int = 0  # rows not written: they failed the schema's checks


def log_settings(params: Params) -> tuple[PredictionLogging, str]:
    """The prediction log params name and its URL; errors say what to set."""
    logging = params.serving.log_predictions
    if logging is None:
        raise DataError(
            "serving.log_predictions is null: `label` writes outcomes into the prediction log the "
            "service keeps; set serving.log_predictions in params.yaml to "
            "{url_env: PREDICTIONS_DATABASE_URL, table: predictions} (the service's own settings)"
        )
    url = os.environ.get(logging.url_env)
    if not url:
        raise DataError(
            f"serving.log_predictions.url_env: the environment variable {logging.url_env} is not set: "
            "export it with the SQLAlchemy URL of the database the service logs predictions to"
        )
    return logging, url


def label_file(params: Params, path: Path) -> Outcome:
    """Record the outcomes of `path` in the prediction log; one transaction, nothing written on error."""
    logging, url = log_settings(params)
    target = params.data.target
    with progress.step(f"Reading {path}") as note:
        frame = data.read_table(path, text=[ID])  # ids as written, whatever they look like
        note["result"] = f"{len(frame):,} rows"
    key = key_columns(frame, params, path)
    if target not in frame.columns:
        raise DataError(
            f"{path}: no column {target!r} (data.target): each row needs the outcome to record; "
            f"its columns: {list(frame.columns)}"
        )
    rows = frame[[*key, target]]
    del frame
    keyed = rows[key].notna().all(axis=1)
    repeated = rows.duplicated(key, keep="last") & keyed  # the file's last row of a key wins
    with progress.step("Checking the targets against the schema") as note:
        valid, failures = checked(rows[~repeated], key, target, str(path))
        note["result"] = f"{len(valid):,} valid"
    invalid = 0 if failures is None else len(data.failing_rows(failures))
    with progress.step(f"Writing the labels into {logging.table} (${logging.url_env})") as note:
        counts, examples, updated = write(url, logging, valid, key, target)
        note["result"] = f"{updated:,} predictions updated"
    return Outcome(
        file=str(path),
        rows=len(rows),
        key=key,
        table=logging.table,
        url_env=logging.url_env,
        counts=counts,
        examples=examples,
        duplicates=int(repeated.sum()),
        updated=updated,
        failures=failures,
        invalid=invalid,
    )


def key_columns(frame: pd.DataFrame, params: Params, path: Path) -> list[str]:
    """[prediction_id] when the file has it, else data.row_key; errors name the file and the columns."""
    if ID in frame.columns:
        return [ID]
    row_key, columns = params.data.row_key, list(frame.columns)
    if not row_key:
        raise DataError(
            f"{path}: no column {ID!r}: give each outcome the prediction_id the service returned with "
            f"its prediction (data.row_key is empty, so rows have no other key); its columns: {columns}"
        )
    missing = [c for c in row_key if c not in frame.columns]
    if len(missing) == len(row_key):
        raise DataError(
            f"{path}: neither a {ID!r} column (as the service returned it) nor the data.row_key "
            f"columns {row_key}; its columns: {columns}"
        )
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing} of data.row_key {row_key} (or give {ID!r} instead)"
        )
    return list(row_key)


def checked(rows: pd.DataFrame, key: list[str], target: str, source: str):
    """The rows whose key and target pass the schema's checks (coerced), and the failure cases (or None)."""
    import pandera.pandas as pa

    columns = schema.TrainingData.to_schema().columns
    check = pa.DataFrameSchema(
        {c: pa.Column(str) if c == ID else columns[c] for c in [*key, target]}, coerce=True
    ).update_column(target, nullable=False)
    try:
        return check.validate(rows, lazy=True), None
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases
    if failures["index"].isna().all():  # only failures of a whole column: no row to leave out
        from .errors import ValidationFailed

        raise ValidationFailed(source, failures, len(rows))
    # The rows that failed, once each: a value of the wrong type is a coerce_dtype failure of its row,
    # which pandera repeats as a dtype failure and as the column's checks failing as a whole (no row).
    repeated = failures["check"].astype(str).str.startswith("dtype(")
    failures = failures[failures["index"].notna() & ~repeated]
    try:
        return check.validate(rows.drop(index=data.failing_rows(failures)), lazy=True), failures
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as err:
        raise DataError(f"{source}: the labels cannot be used even without the failing rows: {err}") from None


def write(
    url: str, logging: PredictionLogging, rows: pd.DataFrame, key: list[str], target: str
) -> tuple[dict[str, int], dict[str, list[int]], int]:
    """In one transaction: the rows into a temporary table in batches, each counted against the log,
    and the log's targets set from them by one UPDATE ... FROM. Returns (counts, examples, updated)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    where = f"serving.log_predictions: table {logging.table!r} in ${logging.url_env}"
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":  # a bigger page cache: the UPDATE rewrites many pages
                connection.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KB}")
            log = logged_table(connection, logging.table, [*key, target], where)
            batch = fill_batch(connection, log, rows, key, target)
            counts, examples = classify(connection, log, batch, key, target)
            updated = set_targets(connection, log, batch, key, target)
            batch.drop(connection)
    except SQLAlchemyError as err:
        reason = getattr(err, "orig", None) or err  # the driver's message, without SQLAlchemy's noise
        raise DataError(f"{where}: writing the labels failed, so nothing was written: {reason}") from None
    finally:
        engine.dispose()
    return counts, examples, updated


def logged_table(connection: Connection, name: str, needed: list[str], where: str) -> Table:
    """The log's table, reflected; it must have the key and target columns."""
    from sqlalchemy import MetaData, Table, inspect

    if not inspect(connection).has_table(name):
        raise DataError(f"{where}: no such table (the service creates it when it logs its first prediction)")
    log = Table(name, MetaData(), autoload_with=connection)
    missing = [c for c in needed if c not in log.c]
    if missing:
        advice = "" if ID in needed else f" (the requests did not send them: label by {ID!r} instead)"
        raise DataError(f"{where}: has no column(s) {missing} to match these labels{advice}")
    return log


def batch_key(i: int) -> str:
    return f"label_key_{i}_"  # the temporary table's own names: safe as bind parameters on any driver


def fill_batch(connection: Connection, log: Table, rows: pd.DataFrame, key: list[str], target: str) -> Table:
    """A temporary table of the rows (key, value, file row), typed like the log's columns, filled in
    batches through the driver's executemany (SQLAlchemy's per-row processing would take 4x longer)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert
    from sqlalchemy.types import NullType

    def column_type(name: str):
        kind = log.c[name].type
        return String() if isinstance(kind, NullType) else kind  # an untyped SQLite column

    def as_logged(name: str) -> list:
        # Text columns get text (a number logged into a TEXT target stays comparable), the others
        # Python's own ints and floats, which every driver can send.
        values = rows[name].astype(str) if isinstance(column_type(name), String) else rows[name]
        return values.astype(object).tolist()

    batch = Table(
        BATCH_TABLE,
        MetaData(),
        *(Column(batch_key(i), column_type(c), primary_key=True) for i, c in enumerate(key)),
        Column(VALUE, column_type(target)),
        Column(ROW, Integer, nullable=False),
        prefixes=["TEMPORARY"],
    )
    batch.create(connection)
    columns = {batch_key(i): as_logged(c) for i, c in enumerate(key)}
    columns |= {VALUE: as_logged(target), ROW: (rows.index.to_numpy() + 1).tolist()}
    statement = insert(batch).compile(dialect=connection.dialect)
    names = list(statement.positiontup or []) if statement.positional else list(columns)
    cursor = connection.connection.cursor()  # the transaction's own DBAPI connection
    try:
        for start in range(0, len(rows), BATCH_ROWS):
            chunk = zip(*(columns[name][start : start + BATCH_ROWS] for name in names), strict=True)
            rows_ = list(chunk)
            values = rows_ if statement.positional else [dict(zip(names, v, strict=True)) for v in rows_]
            cursor.executemany(str(statement), values)
    finally:
        cursor.close()
    return batch


def joined(log: Table, batch: Table, key: list[str]):
    from sqlalchemy import and_

    return and_(*(log.c[c] == batch.c[batch_key(i)] for i, c in enumerate(key)))


def classify(
    connection: Connection, log: Table, batch: Table, key: list[str], target: str
) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Each row's status (one join of the batch to the log, kept in a temporary table), then per
    status how many rows and the first few."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, case, func, insert, select

    matched = func.count(log.c[key[0]])
    empty = func.sum(case((log.c[key[0]].is_not(None) & log.c[target].is_(None), 1), else_=0))
    other = func.sum(case((log.c[target] != batch.c[VALUE], 1), else_=0))
    status = case(
        (matched == 0, "unknown"), (other > 0, "relabelled"), (empty > 0, "labelled"), else_="unchanged"
    )
    per_row = (
        select(batch.c[ROW], status)
        .select_from(batch.outerjoin(log, joined(log, batch, key)))
        .group_by(batch.c[ROW])
    )
    statuses = Table(
        STATUS_TABLE,
        MetaData(),
        Column(ROW, Integer, primary_key=True),
        Column(STATUS, String(10), nullable=False),
        prefixes=["TEMPORARY"],
    )
    statuses.create(connection)
    connection.execute(insert(statuses).from_select([ROW, STATUS], per_row))
    totals = select(statuses.c[STATUS], func.count()).group_by(statuses.c[STATUS])
    counts = dict.fromkeys(STATUSES, 0) | {name: n for name, n in connection.execute(totals)}
    examples: dict[str, list[int]] = {}
    for name in STATUSES:
        first = select(statuses.c[ROW]).where(statuses.c[STATUS] == name).order_by(statuses.c[ROW])
        examples[name] = list(connection.execute(first.limit(EXAMPLES)).scalars()) if counts[name] else []
    statuses.drop(connection)
    return counts, examples


def set_targets(connection: Connection, log: Table, batch: Table, key: list[str], target: str) -> int:
    """One UPDATE ... FROM: each logged prediction the batch names gets its value, if it differs."""
    from sqlalchemy import or_, update

    differs = or_(log.c[target].is_(None), log.c[target] != batch.c[VALUE])
    statement = update(log).where(joined(log, batch, key), differs).values({target: batch.c[VALUE]})
    return connection.execute(statement).rowcount


def report_text(outcome: Outcome) -> str:
    """The terminal's report: one line per count, then the failure table of the invalid rows."""
    from .reports import validation_text

    by = ID if outcome.key == [ID] else f"data.row_key {outcome.key}"
    counts, examples = outcome.counts, outcome.examples

    def rows(status: str) -> str:
        shown = ", ".join(str(r) for r in examples[status])
        more = ", …" if counts[status] > len(examples[status]) else ""
        return f"row{'s' * (counts[status] > 1)} {shown}{more}" if shown else ""

    def named(status: str) -> str:
        return f" ({rows(status)})" if counts[status] else ""

    below = " (below)" if outcome.invalid else ""
    entries = [
        ("labelled", counts["labelled"], "outcome recorded"),
        ("already labelled", counts["unchanged"], "with the same value: unchanged"),
        ("relabelled", counts["relabelled"], f"had another value: the last value wins{named('relabelled')}"),
        (
            f"unknown {'ids' if outcome.key == [ID] else 'keys'}",
            counts["unknown"],
            f"no such prediction in the log: not written{named('unknown')}",
        ),
        ("duplicates", outcome.duplicates, "the same key again later in the file: its last row counts"),
        ("invalid", outcome.invalid, "not written: they fail the schema's checks" + below),
    ]
    width = max(len(name) for name, _, _ in entries) + 1
    lines = [
        f"{outcome.file}: {outcome.rows:,} rows, matched by {by} to the prediction log "
        f"(table {outcome.table} in ${outcome.url_env})",
        *(f"  {name + ':':<{width}} {n:>9,}  {note}" for name, n, note in entries),
        f"{outcome.updated:,} logged prediction{'s' * (outcome.updated != 1)} updated, in one transaction.",
    ]
    if outcome.failures is not None:
        lines += ["", validation_text(outcome.file, outcome.rows, outcome.failures)]
        lines.append("Fix the rows above and run `label` again: rows already recorded count as unchanged.")
    return "\n".join(lines)
