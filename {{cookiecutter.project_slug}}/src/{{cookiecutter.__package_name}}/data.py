"""Load tables, validate them against the schema, and split them stably.

The holdout split hashes each row's key (or its whole content), so membership
depends only on the row itself: appending rows never moves an old row between
train and holdout, and the same data always gives the same split.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import pandera.pandas as pa

from . import dates, schema
from .errors import DataError, ValidationFailed
from .records import Span
from .settings import Params

READERS = {".csv": pd.read_csv, ".parquet": pd.read_parquet}
WRITERS = {".csv": "to_csv", ".parquet": "to_parquet"}
MAX_EXAMPLES = 5
CHUNK_ROWS = 100_000  # rows validated at a time: large current data never exists as Python strings
TABLE_CHECKS = {
    "column_in_schema": "unexpected column (not in the schema)",
    "column_in_dataframe": "missing column",
}


def read_table(
    path: Path | str, categorical: Sequence[str] = (), allow_empty: bool = False, text: Sequence[str] = ()
) -> pd.DataFrame:
    """Read a CSV or Parquet file; errors say which file and why.

    `categorical` columns are read as pandas categories (small codes instead of Python strings).
    `text` columns are read as text whatever they look like (ids: `0123` or `1e5` stay as written).
    `allow_empty`: a header without rows is zero rows, not an error (current data not there yet).
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{path}: unsupported format {path.suffix!r}; use one of {sorted(READERS)}")
    if not path.is_file():
        from .data_remote import pointer

        if pointer(path).is_file():
            raise DataError(
                f"{path}: not here; it is kept by DVC ({pointer(path).name}): fetch it with `uv run dvc pull`"
            )
        raise DataError(f"{path}: file not found")
    try:
        dtypes = {c: "category" for c in categorical} | {c: "str" for c in text}
        frame = reader(path, dtype=dtypes) if dtypes and path.suffix.lower() == ".csv" else reader(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: file is empty") from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(f"{path}: cannot read: {err}") from None
    if frame.empty and not allow_empty:
        raise DataError(f"{path}: no data rows")
    return frame


def read_text(source: Path | bytes, suffix: str) -> pd.DataFrame:
    """A table's cells as the text in the file, no types inferred: to follow rows across commits."""
    content = io.BytesIO(source) if isinstance(source, bytes) else source
    if suffix.lower() == ".parquet":
        return pd.read_parquet(content).astype(str)
    return pd.read_csv(content, dtype=str, keep_default_na=False)


def writer_for(path: Path) -> str:
    """The DataFrame method that writes `path`; checked before any work is done."""
    method = WRITERS.get(Path(path).suffix.lower())
    if method is None:
        raise DataError(f"{path}: unsupported format {Path(path).suffix!r}; use one of {sorted(WRITERS)}")
    return method


def write_table(frame: pd.DataFrame, path: Path) -> None:
    method = writer_for(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    getattr(frame, method)(path, index=False)


def validate(frame: pd.DataFrame, model: type[pa.DataFrameModel], source: str) -> pd.DataFrame:
    """Validate lazily (every failure, not just the first) and return the coerced frame."""
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases
    except pa.errors.SchemaError as err:  # a sibling of SchemaErrors, not a subclass
        failures = (
            err.failure_cases
            if err.failure_cases is not None
            else pd.DataFrame({"failure_case": [None], "index": [None]})
        )
        failures = failures.assign(column=err.column_name, check=str(err.check or err.reason_code))
    raise ValidationFailed(source, failures, len(frame))


def valid_rows(
    frame: pd.DataFrame, model: type[pa.DataFrameModel], source: str, partial: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The rows of `frame` that pass `model` (coerced), and pandera's failure cases (None if none failed).

    A table-level failure (a missing column) fails every row, unless `partial`: then the columns of
    `model` that `frame` has are checked and the others are not required (at least one must be there).
    """
    try:
        return validate(frame, model, source), None
    except ValidationFailed as failed:
        failures = failed.failures
    checked = model.to_schema()
    if partial:
        present = [c for c in checked.columns if c in frame.columns]
        if not present:
            raise DataError(
                f"{source}: none of the schema's columns are in the data "
                f"(its columns: {list(frame.columns)}; the schema's: {list(checked.columns)})"
            )
        checked = checked.select_columns(present)
    elif failures["index"].isna().any():
        return frame.iloc[0:0], failures
    try:
        return checked.validate(frame.drop(index=failing_rows(failures)), lazy=True), failures
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as err:
        raise DataError(f"{source}: the data cannot be used even without the failing rows: {err}") from None


class FailedCheck(TypedDict):
    """One column's failed check in a validation report: how often, a few values, the first rows."""

    column: str
    check: str
    count: int
    examples: str
    rows: str  # 1-based row numbers, comma-separated ("-": table-level)


def failure_summary(failures: pd.DataFrame) -> list[FailedCheck]:
    """Group failure cases by column and check: count, a few examples, the first rows (1 = first data row)."""
    cases = failures.assign(failure_case=failures["failure_case"].astype(str))
    # Table-level failures name the offending column in failure_case: show it as the column.
    table_level = cases["check"].isin(TABLE_CHECKS)
    cases["column"] = cases["column"].where(~table_level, cases["failure_case"]).fillna("(table)").astype(str)
    cases["check"] = cases["check"].astype(str).replace(TABLE_CHECKS)
    summary: list[FailedCheck] = []
    for (column, check), group in cases.groupby(["column", "check"], sort=True):
        rows = np.sort(failing_rows(group))
        summary.append(
            {
                "column": str(column),
                "check": str(check),
                "count": len(group),
                "examples": ", ".join(group["failure_case"].unique()[:MAX_EXAMPLES]),
                "rows": ", ".join(str(i + 1) for i in rows[:MAX_EXAMPLES]) or "-",
            }
        )
    return summary


def check_against_schema(params: Params) -> None:
    """params.yaml and schema.py must agree on the target, the time column and the row key."""
    columns = list(schema.TrainingData.to_schema().columns)
    features = schema.Features.to_schema().columns
    target = params.data.target
    if target not in columns:
        raise DataError(f"data.target: {target!r} is not among schema.TrainingData's columns {columns}")
    if target in features:
        raise DataError(f"data.target: {target!r} is declared in schema.Features; a target is not a feature")
    time_column = params.data.time_column
    if time_column is not None and time_column not in columns:
        raise DataError(
            f"data.time_column: {time_column!r} is not among schema.TrainingData's columns {columns}"
        )
    if params.train.calendar and time_column not in features:
        raise DataError(
            f"train.calendar derives features from data.time_column {time_column!r}, which callers must then "
            "send: declare it in schema.Features (move its line up from TrainingData)"
        )
    if params.train.calendar and time_column not in dates.declared_formats():
        raise DataError(f"train.calendar: {time_column!r} is not declared a date in schema.py (date=...)")
    unknown = [c for c in params.data.row_key if c not in columns]
    if unknown:
        raise DataError(f"data.row_key: {unknown} are not among schema.TrainingData's columns {columns}")


def failing_rows(failures: pd.DataFrame) -> np.ndarray:
    """Row labels that failed a check (table-level failures, like a missing column, have none)."""
    return pd.to_numeric(failures["index"], errors="coerce").dropna().astype(int).unique()


def load_training_data(params: Params) -> pd.DataFrame:
    """The training table, validated against `schema.TrainingData`."""
    check_against_schema(params)
    frame = read_table(params.data_path)
    return validate(frame, schema.TrainingData, str(params.data_path))


def feature_columns() -> tuple[list[str], list[str]]:
    """(numeric, categorical) feature names, read from the schema: types are declared, never guessed.
    A date in schema.Features is not among them: the model reads it only for its calendar terms."""
    declared = dates.declared_formats()
    columns = {n: c for n, c in schema.Features.to_schema().columns.items() if n not in declared}
    numeric = [name for name, col in columns.items() if pd.api.types.is_numeric_dtype(col.dtype.type)]
    return numeric, [name for name in columns if name not in numeric]


def row_hashes(frame: pd.DataFrame, columns: list[str], salt: str) -> np.ndarray:
    """A 64-bit keyed hash per row of the given columns (canonical text, so stable across runs)."""
    text = frame[columns[0]].astype(str)
    for column in columns[1:]:
        text = text + "\x1f" + frame[column].astype(str)
    key = salt.encode()[:64]
    digests = (hashlib.blake2b(t.encode(), key=key, digest_size=8).digest() for t in text)
    return np.fromiter((int.from_bytes(d, "big") for d in digests), dtype=np.uint64, count=len(frame))


def run_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """A 64-bit hash per row of `columns`, to match rows within one run; never stored (pandas' own
    hash, vectorised: 10x faster than `row_hashes` at a million rows, but not promised stable)."""
    if frame.empty:
        return np.array([], dtype=np.uint64)
    return pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()


def holdout_mask(frame: pd.DataFrame, params: Params) -> np.ndarray:
    """True for rows in the holdout. By hash: the row's hash falls in the first `holdout_fraction` of
    the hash space (stable: a row keeps its side as rows are added). By time: the latest
    `holdout_fraction` of the rows by `data.time_column` (ties in file order)."""
    if params.split.by == "time":
        return latest_rows(time_order(frame, params), params.split.holdout_fraction)
    key = params.data.row_key or list(frame.columns)
    threshold = np.uint64(params.split.holdout_fraction * 2.0**64)
    return row_hashes(frame, key, params.split.salt) < threshold


def span(frame: pd.DataFrame, params: Params, column: str | None = None) -> Span | None:
    """The first and last time of `frame`'s rows by `column` (default `data.time_column`), as written;
    None without one."""
    column = column or params.data.time_column
    if column is None or column not in frame or frame.empty:
        return None
    times = pd.Series(dates.utc_times(frame[column], column))
    if times.isna().all():
        return None
    values = frame[column].reset_index(drop=True)
    return {"time_column": column, "first": str(values[times.idxmin()]), "last": str(values[times.idxmax()])}


def time_order(frame: pd.DataFrame, params: Params) -> np.ndarray:
    """Row positions from the earliest to the latest by `data.time_column`, ties (and rows without a
    time, first) in file order."""
    column = params.data.time_column
    if column is None:  # settings.py refuses split.by: time without one
        raise DataError("split.by: time needs data.time_column")
    times = dates.utc_times(frame[column], column)
    return np.argsort(times.view(np.int64), kind="stable")  # NaT is the smallest int64: first


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    holdout: pd.DataFrame


def latest_rows(order: np.ndarray, fraction: float) -> np.ndarray:
    """True for the last `fraction` of the rows in `order` (row positions, earliest first)."""
    mask = np.zeros(len(order), bool)
    mask[order[len(order) - round(fraction * len(order)) :]] = True
    return mask


def split(frame: pd.DataFrame, params: Params) -> Split:
    """The train and holdout rows. The holdout keeps file order (the review aligns it with the file);
    by time, the train rows come in time order, for forward cross-validation."""
    order = time_order(frame, params) if params.split.by == "time" else None
    if order is not None:
        mask = latest_rows(order, params.split.holdout_fraction)
    else:
        mask = holdout_mask(frame, params)
    if mask.all() or not mask.any():
        raise DataError(f"split: {len(frame)} rows give an empty train or holdout set; add data")
    train = frame.iloc[order[~mask[order]]] if order is not None else frame[~mask]
    return Split(train=train, holdout=frame[mask])


def table_hash(frame: pd.DataFrame) -> str:
    """Order-independent content hash of a table (the same rows in any order hash the same)."""
    hashes = np.sort(row_hashes(frame, list(frame.columns), salt="table-hash"))
    digest = hashlib.sha256(",".join(frame.columns).encode() + hashes.tobytes())
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
