"""The prediction log: one SQL row per prediction the service makes, labelled later (SQLAlchemy).

The drift job reads it back as its SQL source (sources.py), so drift sees what production saw.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pandas as pd


class PredictionLog:
    """A SQL table with one row per prediction: id, time, model tag, the request's columns, the
    prediction, and the target (empty until `label` fills it in when the outcome is known).

    The drift job's SQL source reads this table, so it sees what production saw; labelled rows
    carry every training column the caller sent, so `retrain-data` can add them to the training data.
    """

    def __init__(self, url: str, table: str, target: str):
        from sqlalchemy import create_engine

        self.engine, self.table, self.target = create_engine(url), table, target
        self.columns: frozenset[str] = frozenset()  # the table has these (add_columns checked)

    def write(
        self, records: pd.DataFrame, predictions: pd.DataFrame, model: str, now: datetime | None = None
    ) -> list[str]:
        """Append one row per prediction; returns their ids, the key for labels later."""
        from sqlalchemy import DateTime

        ids = [uuid4().hex for _ in range(len(records))]
        rows = pd.concat([records.reset_index(drop=True), predictions.reset_index(drop=True)], axis=1)
        rows.insert(0, "prediction_id", ids)
        rows.insert(1, "logged_at", now or datetime.now(UTC))
        rows.insert(2, "model_version", model)
        rows[self.target] = None
        self.add_columns(rows)
        rows.to_sql(
            self.table,
            self.engine,
            if_exists="append",
            index=False,
            dtype={"logged_at": DateTime(timezone=True)},
        )
        return ids

    def add_columns(self, rows: pd.DataFrame) -> None:
        """Add the columns `rows` has and the table lacks (a new feature, the shadow's), once per
        set of columns: pandas appends only to a table with every column already there."""
        names = frozenset(rows.columns)
        if names <= self.columns:
            return
        from sqlalchemy import inspect, text
        from sqlalchemy.exc import DBAPIError

        with self.engine.connect() as connection:
            if not inspect(connection).has_table(self.table):
                return  # to_sql creates it with them all
            present = {column["name"] for column in inspect(connection).get_columns(self.table)}
        quote = self.engine.dialect.identifier_preparer.quote
        for name in sorted(names - present):
            kind = sql_type(rows[name]).compile(dialect=self.engine.dialect)
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        text(f"ALTER TABLE {quote(self.table)} ADD COLUMN {quote(name)} {kind}")
                    )
            except DBAPIError:  # another worker added it first
                with self.engine.connect() as connection:
                    if name not in {c["name"] for c in inspect(connection).get_columns(self.table)}:
                        raise
        self.columns = names

    def label(self, labels: dict[str, object]) -> int:
        """Set the target of logged predictions by id; returns how many rows were labelled."""
        from sqlalchemy import MetaData, Table, bindparam, update

        logged = Table(self.table, MetaData(), autoload_with=self.engine)
        statement = (
            update(logged)
            .where(logged.c.prediction_id == bindparam("id"))
            .values({self.target: bindparam("label")})
        )
        with self.engine.begin() as connection:
            done = connection.execute(statement, [{"id": i, "label": v} for i, v in labels.items()])
        return done.rowcount

    def close(self) -> None:
        self.engine.dispose()


def sql_type(values: pd.Series):
    """The SQL type pandas' to_sql gives such a column when it creates the table."""
    from sqlalchemy import BigInteger, Boolean, DateTime, Float, Text

    if pd.api.types.is_bool_dtype(values.dtype):
        return Boolean()
    if pd.api.types.is_integer_dtype(values.dtype):
        return BigInteger()
    if pd.api.types.is_float_dtype(values.dtype):
        return Float(precision=53)
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return DateTime(timezone=True)
    return Text()


# -- read back (the scheduled check) ----------------------------------------------------------

MODEL_COLUMN = "model_version"  # the answering model's tag


def answered(rows: pd.DataFrame) -> bool:
    """Whether `rows` come from a prediction log: each carries the answering model and its answer."""
    return {MODEL_COLUMN, "prediction"} <= set(rows.columns)


def newest(rows: pd.DataFrame, time_column: str, column: str) -> pd.Series | None:
    """The newest row (by `time_column`) of those with `column` set: the deployment as it is now;
    None when no row has both."""
    kept = rows[rows[column].notna()].reset_index(drop=True)
    times = pd.to_datetime(kept[time_column], utc=True, errors="coerce")
    return None if times.isna().all() else kept.iloc[times.idxmax()]


def as_classes(values: pd.Series, classes: list) -> pd.Series:
    """Logged values as a model's classes (NaN: none of them), matched by their text: the database
    typed the column, so an integer class in a column with NULLs comes back as 1.0. Without classes
    (a regression), as numbers."""
    if not classes:
        return pd.to_numeric(values, errors="coerce")
    spelled = {str(c): c for c in classes}
    spelled |= {str(float(c)): c for c in classes if isinstance(c, int | float) and not isinstance(c, bool)}
    return values.astype(str).map(spelled)


def answer_columns(classes: list) -> list[str]:
    """A model's answer in the log: `prediction`, and `proba_<class>` per class."""
    from .evaluation import proba_columns

    return ["prediction", *(proba_columns(classes) if classes else [])]


def answers(rows: pd.DataFrame, classes: list, prefix: str = "") -> pd.DataFrame:
    """A model's logged prediction table, as the metric catalogue reads one; `prefix` picks the
    shadow's columns."""
    columns = answer_columns(classes)
    table = rows[[prefix + c for c in columns]].set_axis(columns, axis=1)
    table["prediction"] = as_classes(table["prediction"], classes)
    return table
