"""Where current data comes from: files in the repository, or a database through SQLAlchemy.

The database URL is a secret: it is read from the environment variable params name, never from
the repository. Any SQLAlchemy URL works; SQLite (`sqlite:///path.db`) and PostgreSQL
(`postgresql+psycopg://user:password@host/db`) are tested.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from .data import READERS, feature_columns, read_table
from .errors import DataError
from .settings import FileSource, Params, SqlSource


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


def read_sql(source: SqlSource, now: datetime | None = None) -> pd.DataFrame:
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
    query = text(source.query)
    if ":since" in source.query:  # typed, so every database compares it as a timestamp
        query = query.bindparams(bindparam("since", value=since, type_=DateTime(timezone=True)))
    try:
        with engine.connect() as connection:
            return pd.read_sql(query, connection)
    except SQLAlchemyError as err:
        reason = getattr(err, "orig", None) or err  # the driver's own message, without SQLAlchemy's noise
        raise DataError(f"drift.source: the query on ${source.url_env} failed: {reason}") from None
    finally:
        engine.dispose()
