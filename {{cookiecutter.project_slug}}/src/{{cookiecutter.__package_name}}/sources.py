"""Where current data comes from: files in the repository, or a database through SQLAlchemy.

The database URL is a secret: it is read from the environment variable params name, never from
the repository. Any SQLAlchemy URL works; SQLite (`sqlite:///path.db`) and PostgreSQL
(`postgresql+psycopg://user:password@host/db`) are tested.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .data import READERS, feature_columns, read_table
from .errors import DataError
from .settings import FileSource, Params, SqlSource

if TYPE_CHECKING:
    from sqlalchemy import Connection, TextClause

# The database's sample: rows whose number, hashed (Knuth's multiplicative hash) and turned by the
# seed, falls in the first sample_size / rows of the hash space.
MULTIPLIER, HASH_SPACE, ROW_NUMBER = 2_654_435_761, 2**32, "drift_sample_row_"


def describe(source: FileSource | SqlSource) -> str:
    """How to name the source in messages and reports (never the URL: it may hold a password)."""
    if isinstance(source, FileSource):
        return f"files {source.path}"
    return f"the database in ${source.url_env} (last {source.window_days} days)"


def load_current(params: Params) -> pd.DataFrame:
    """The current rows from the configured source: empty when there are none yet (not an error).

    A source that cannot be read (a corrupt file, an unset or unusable URL, a failing query) is an
    error that says which source and why.
    """
    source, labels = params.drift.source, labels_join(params)
    if isinstance(source, FileSource):
        return read_files(params.root, source)
    return read_sql(source, labels=labels)


def read_files(root: Path, source: FileSource) -> pd.DataFrame:
    """Every CSV/Parquet file the glob matches; none matching, or header-only files, is no rows."""
    matches = sorted(p for p in root.glob(source.path) if p.is_file())
    paths = [p for p in matches if p.suffix.lower() in READERS]
    if matches and not paths:
        names = ", ".join(p.name for p in matches[:5])
        raise DataError(f"drift.source.path: {source.path!r} matches no CSV or Parquet file, only {names}")
    if not paths:
        return pd.DataFrame()
    # Text features as pandas categories: a million rows of Python strings would take ~0.7 GB.
    categorical = feature_columns()[1]
    frames = [read_table(p, categorical=categorical, allow_empty=True) for p in paths]
    frame = pd.concat(frames, ignore_index=True)
    return frame.astype({c: "category" for c in categorical if c in frame.columns})


@dataclass(frozen=True)
class Current:
    """The drift check's current rows: all of them, or a sample drawn in the database."""

    rows: pd.DataFrame
    total: int  # rows in the source
    labelled: int | None = None  # when sampled: rows with the target in the whole source, counted there

    @property
    def sampled(self) -> bool:
        return len(self.rows) < self.total


def sample_current(params: Params) -> Current:
    """Current rows for the drift check. A database larger than `drift.sample_size` is sampled in
    the database (seeded), so only the sample is transferred; files are read whole (drift samples them)."""
    source, labels = params.drift.source, labels_join(params)
    if isinstance(source, FileSource):
        rows = read_files(params.root, source)
        return Current(rows, len(rows))
    with connect(source, labels=labels) as (connection, query):
        return sample_sql(connection, query, params.drift.sample_size, params.drift.seed, params.data.target)


def sample_sql(connection, query, size: int, seed: int, target: str) -> Current:
    """At most about `size` rows of the query, chosen in the database by a seeded hash of each row's
    number (evenly spread, deterministic for the query's row order), with the counts of the whole."""
    from sqlalchemy import func, literal_column, select

    names, window = selectable(connection, query)
    counts = [func.count(), func.count(window.c[target]) if target in names else literal_column("0")]
    total, labelled = connection.execute(select(*counts).select_from(window)).one()
    if total <= size:
        return Current(pd.read_sql(select(*window.c), connection), total)
    numbered = select(*window.c, func.row_number().over().label(ROW_NUMBER)).subquery("numbered")
    cutoff = int(size / total * HASH_SPACE)
    picked = select(*(numbered.c[name] for name in names)).where(
        (numbered.c[ROW_NUMBER] * MULTIPLIER + seed * MULTIPLIER % HASH_SPACE) % HASH_SPACE < cutoff
    )
    return Current(pd.read_sql(picked, connection), total, labelled)


def selectable(connection, query: TextClause) -> tuple[list[str], Any]:
    """The query's column names, and the query as a subquery to select from (its columns typed)."""
    from sqlalchemy import column, literal_column, select

    probe: Any = select(literal_column("*")).select_from(query.columns().subquery("current_rows")).limit(0)
    names = list(connection.execute(probe).keys())
    return names, query.columns(*(column(name) for name in names)).subquery("current_rows")


def labelled_and_others(params: Params, keep: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every labelled row of the SQL source, and of the others only the `keep` columns it has (the
    time, the answering model): what model quality scores when the drift sample was drawn in the
    database (every label counts, and the unlabelled rows are counted per window without moving
    their features out of the database)."""
    from sqlalchemy import false, select

    source, target = params.drift.source, params.data.target
    assert isinstance(source, SqlSource)
    with connect(source, labels=labels_join(params)) as (connection, query):
        names, window = selectable(connection, query)
        has_target = window.c[target].is_not(None) if target in names else false()
        labelled = read_compact(select(*window.c).where(has_target), connection)
        kept = [window.c[name] for name in keep if name in names]
        others = read_compact(select(*kept).where(~has_target), connection) if kept else pd.DataFrame()
    return labelled, others


def read_compact(statement, connection, chunk_rows: int = 50_000) -> pd.DataFrame:
    """A query's rows in chunks, text features as categories: 200k rows in Python strings at once
    would take several times the memory."""
    categorical = feature_columns()[1]
    chunks = [
        chunk.astype({c: "category" for c in categorical if c in chunk.columns})
        for chunk in pd.read_sql(statement, connection, chunksize=chunk_rows)
    ]
    return pd.concat(chunks, ignore_index=True) if chunks else pd.read_sql(statement, connection)


def read_sql(
    source: SqlSource, now: datetime | None = None, labels: LabelsJoin | None = None
) -> pd.DataFrame:
    """Every row the query returns (what retrain-data adds from), with `labels`' outcomes if given."""
    with connect(source, now, labels) as (connection, query):
        return pd.read_sql(query, connection)


@contextmanager
def connect(source: SqlSource, now: datetime | None = None, labels: LabelsJoin | None = None):
    """A connection to the source's database and its query with `:since` bound (joined to the labels
    query when given); errors name the source, or monitor.labels.query when that query fails."""
    from sqlalchemy import DateTime, bindparam, create_engine, text
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = os.environ.get(source.url_env)
    if not url:
        raise DataError(
            f"drift.source.url_env: the environment variable {source.url_env} is not set: set the secret "
            f"{source.url_env} in the `drift` environment (drift.yml passes DRIFT_DATABASE_URL to the job) "
            "or export it locally"
        )
    since = (now or datetime.now(UTC)) - timedelta(days=source.window_days)
    try:
        engine = create_engine(url)
    except (ArgumentError, ImportError) as err:
        raise DataError(f"drift.source: ${source.url_env} is not a usable SQLAlchemy URL: {err}") from None

    def bound(sql: str) -> TextClause:
        query = text(sql)  # a subquery of the sampling queries
        if ":since" in sql:  # typed, so every database compares it as a timestamp
            query = query.bindparams(bindparam("since", value=since, type_=DateTime(timezone=True)))
        return query

    try:
        with engine.connect() as connection:
            sql = source.query.strip().rstrip(";")
            if labels is not None:
                sql = with_labels(connection, sql, labels, bound, source.url_env)
            yield connection, bound(sql)
    except SQLAlchemyError as err:
        reason = getattr(err, "orig", None) or err  # the driver's own message, without SQLAlchemy's noise
        raise DataError(f"drift.source: the query on ${source.url_env} failed: {reason}") from None
    finally:
        engine.dispose()


@dataclass(frozen=True)
class LabelsJoin:
    """monitor.labels: outcomes kept in a table of the team's own, joined to the current rows in the
    database on prediction_id (or data.row_key)."""

    query: str
    target: str
    row_key: list[str]


LABELS_ID = "prediction_id"  # what the service returns and logs with each prediction


def labels_join(params: Params) -> LabelsJoin | None:
    """The labels query params set, if any; with current data from files it is an error (they carry
    the target themselves)."""
    labels = params.monitor.labels
    if labels is None:
        return None
    if isinstance(params.drift.source, FileSource):
        raise DataError(
            "monitor.labels.query is set but drift.source.kind is file: current data from files carries "
            "its target itself; remove monitor.labels, or read the current rows from the database the "
            "labels query runs on (drift.source.kind: sql)"
        )
    return LabelsJoin(labels.query, params.data.target, list(params.data.row_key))


def with_labels(
    connection: Connection, current: str, labels: LabelsJoin, bound: Callable[[str], TextClause], url_env: str
) -> str:
    """The current query with its target taken from the labels query, joined in the database:
    `SELECT c.<columns>, l.<target> FROM (<current>) c LEFT JOIN (<labels>) l ON <key>`. The labels
    query must return one row per key; a current row without one has no target (not labelled)."""
    from sqlalchemy import func, literal_column, select
    from sqlalchemy.exc import SQLAlchemyError

    quote = connection.dialect.identifier_preparer.quote
    where = f"monitor.labels.query: the query on ${url_env}"

    def columns_of(sql: str) -> list[str]:
        probe: Any = select(literal_column("*")).select_from(bound(sql).columns().subquery("probe")).limit(0)
        return list(connection.execute(probe).keys())

    def failed(err: SQLAlchemyError, what: str) -> DataError:
        reason = getattr(err, "orig", None) or err  # the driver's own message
        return DataError(f"{where} {what}: {reason}")

    current_columns = columns_of(current)  # a failure here is drift.source's: the caller says so
    labels_sql = labels.query.strip().rstrip(";")
    try:
        given = columns_of(labels_sql)
    except SQLAlchemyError as err:
        raise failed(err, "failed") from None
    if LABELS_ID in given:
        key = [LABELS_ID]
    elif labels.row_key and all(c in given for c in labels.row_key):
        key = labels.row_key
    else:
        raise DataError(
            f"{where} returns neither {LABELS_ID!r} nor the data.row_key columns {labels.row_key} to join "
            f"the current rows on; its columns: {given}"
        )
    if labels.target not in given:
        raise DataError(
            f"{where} returns no column {labels.target!r} (data.target); its columns: {given}. Name the "
            f"outcome so, e.g. SELECT {LABELS_ID}, outcome AS {labels.target} FROM outcomes"
        )
    missing = [c for c in key if c not in current_columns]
    if missing:
        raise DataError(
            f"drift.source.query returns no column(s) {missing} to join monitor.labels.query's outcomes on; "
            f"its columns: {current_columns}"
        )
    keys: list[Any] = [literal_column(f"l.{quote(c)}") for c in key]
    twice: Any = (
        select(literal_column("1"))
        .select_from(bound(labels_sql).columns().subquery("l"))
        .where(*(k.is_not(None) for k in keys))
        .group_by(*keys)
        .having(func.count() > 1)
        .limit(1)
    )
    try:
        repeated = connection.execute(twice).first()
    except SQLAlchemyError as err:
        raise failed(err, "failed") from None
    if repeated is not None:
        raise DataError(
            f"{where} returns more than one row for some {' + '.join(key)}: make it return one outcome per "
            "prediction (the latest, say), or every current row would count once per outcome"
        )
    chosen = [f"l.{quote(c)}" if c == labels.target else f"c.{quote(c)}" for c in current_columns]
    if labels.target not in current_columns:
        chosen.append(f"l.{quote(labels.target)}")
    on = " AND ".join(f"c.{quote(c)} = l.{quote(c)}" for c in key)
    sql = f"SELECT {', '.join(chosen)} FROM ({current}) AS c LEFT JOIN ({labels_sql}) AS l ON {on}"
    try:
        columns_of(sql)  # the join itself: on PostgreSQL, keys of different types fail here
    except SQLAlchemyError as err:
        raise failed(err, f"could not be joined to the current rows on {key}") from None
    return sql
