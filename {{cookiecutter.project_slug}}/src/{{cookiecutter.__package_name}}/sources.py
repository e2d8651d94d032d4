"""Where current data comes from: files in the repository, or a database through SQLAlchemy.

The database URL is a secret: it is read from the environment variable params name, never from
the repository. Any SQLAlchemy URL works; SQLite (`sqlite:///path.db`) and PostgreSQL
(`postgresql+psycopg://user:password@host/db`) are tested.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from .data import READERS, feature_columns, read_table
from .errors import DataError
from .settings import FileSource, Params, SqlSource

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
    source = params.drift.source
    return read_files(params.root, source) if isinstance(source, FileSource) else read_sql(source)


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
    source = params.drift.source
    if isinstance(source, FileSource):
        rows = read_files(params.root, source)
        return Current(rows, len(rows))
    with connect(source) as (connection, query):
        return sample_sql(connection, query, params.drift.sample_size, params.drift.seed, params.data.target)


def sample_sql(connection, query, size: int, seed: int, target: str) -> Current:
    """At most about `size` rows of the query, chosen in the database by a seeded hash of each row's
    number (evenly spread, deterministic for the query's row order), with the counts of the whole."""
    from sqlalchemy import column, func, literal_column, select

    probe: Any = select(literal_column("*")).select_from(query.columns().subquery("current_rows")).limit(0)
    names = list(connection.execute(probe).keys())
    window = query.columns(*(column(name) for name in names)).subquery("current_rows")
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


def read_sql(source: SqlSource, now: datetime | None = None) -> pd.DataFrame:
    """Every row the query returns (what retrain-data adds from)."""
    with connect(source, now) as (connection, query):
        return pd.read_sql(query, connection)


@contextmanager
def connect(source: SqlSource, now: datetime | None = None):
    """A connection to the source's database and its query with `:since` bound; errors name the source."""
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
    query = text(source.query.strip().rstrip(";"))  # a subquery of the sampling queries
    if ":since" in source.query:  # typed, so every database compares it as a timestamp
        query = query.bindparams(bindparam("since", value=since, type_=DateTime(timezone=True)))
    try:
        with engine.connect() as connection:
            yield connection, query
    except SQLAlchemyError as err:
        reason = getattr(err, "orig", None) or err  # the driver's own message, without SQLAlchemy's noise
        raise DataError(f"drift.source: the query on ${source.url_env} failed: {reason}") from None
    finally:
        engine.dispose()
