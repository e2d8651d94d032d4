"""`infer-schema`: write schema.py and point params.yaml at a new dataset.

Bringing your own data is: put the file in data/, run infer-schema, review the
diff of schema.py and params.yaml, train. Types come from the data. Checks are only
those that new rows must pass too: the observed range of a column is a review hint
(a comment), never a check, or every new id and every label beyond the largest seen
would be refused.
"""

from __future__ import annotations

import json
import keyword
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from ruamel.yaml import YAML, CommentedMap, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from . import dates
from .errors import ParamsError
from .evaluation import DEFAULTS, PRIMARY
from .reports import render

MAX_CATEGORIES = 50  # a text column with more distinct values is not used as a feature
MAX_CLASS_INTS = 10  # an integer target with at most this many values is a class label
MAX_HINT_VALUES = 8  # observed text values a hint comment lists; beyond, a count and a few examples
LINE_LENGTH = 110  # as ruff is configured in pyproject.toml
DEFAULT_CANDIDATES = {
    "classification": {
        "linear": {"estimator": "linear", "params": {"C": 1.0, "max_iter": 1000}},
        "random_forest": {
            "estimator": "random_forest",
            "params": {"n_estimators": 100, "min_samples_leaf": 5},
        },
        "hist_gradient_boosting": {"estimator": "hist_gradient_boosting", "params": {"max_iter": 200}},
    },
    "regression": {
        "linear": {"estimator": "linear", "params": {"alpha": 1.0}},
        "random_forest": {
            "estimator": "random_forest",
            "params": {"n_estimators": 100, "min_samples_leaf": 5},
        },
        "hist_gradient_boosting": {"estimator": "hist_gradient_boosting", "params": {"max_iter": 200}},
    },
}
# The gate for a new data set: ROC AUC is unit-free; an error's units are the target's, so relative.
TOLERANCE = {"classification": 0.005, "regression": "1%"}
MIN_COMPARABLE_ROWS = 200  # gate.min_rows, or half the expected holdout when the data is small
FEWEST_COMPARABLE_ROWS = 10
RESERVED = set(dir(pa.DataFrameModel)) | {"Config"}


def field_name(column: str, taken: set[str]) -> str:
    """A Python identifier for a column name (the real name goes into `alias`)."""
    name = re.sub(r"\W", "_", column).strip("_").lower() or "column"
    if name[0].isdigit() or keyword.iskeyword(name) or name in RESERVED:
        name = f"col_{name}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def literal(value) -> str:
    """A Python literal, formatted as ruff format would (double quotes)."""
    value = value.item() if hasattr(value, "item") else value
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


# Text dates by their shape: the format is only taken when every value has the shape and parses.
DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
CLOCK = r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?"
ISO_SHAPES = [
    (re.compile(r"[0-9]{4}-[0-9]{2}"), "%Y-%m"),
    (re.compile(DAY), "%Y-%m-%d"),
    (re.compile(DAY + CLOCK), dates.ISO8601),
]
# 31/12/2024, 12.31.2024, 1-2-2024 14:30: day-first or month-first, told apart by a field above 12.
DAY_MONTH = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4})( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?")
TIME_NAME = re.compile(r"(^|_)(time|timestamp|ts|epoch|date|datetime)($|_)|_at$", re.IGNORECASE)
EPOCH_RANGE = (1e8, 4.1e9)  # seconds: 1973 to 2099
DATE_SAMPLE = 10_000  # distinct values looked at to detect a date


@dataclass(frozen=True)
class DateFound:
    format: str
    ambiguous: str | None = None  # what could not be told from the data, and the choice made


def detect_date(series: pd.Series) -> DateFound | None:
    """The column's date format, when every value is a date of one shape (or, for an integer column
    named like a time, epoch seconds in a plausible range); None otherwise."""
    values = series.dropna()
    if values.empty or pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        low, high = values.min(), values.max()
        named = TIME_NAME.search(str(series.name)) is not None
        return DateFound(dates.EPOCH) if named and EPOCH_RANGE[0] <= low and high <= EPOCH_RANGE[1] else None
    if pd.api.types.is_numeric_dtype(series):
        return None
    text = pd.Series(values.astype(str).unique()[:DATE_SAMPLE])
    found = iso_shape(text) or day_month_shape(text)
    if found is None or not dates.date(text, format=found.format).all():
        return None
    return found


def iso_shape(text: pd.Series) -> DateFound | None:
    for shape, format in ISO_SHAPES:
        if text.map(lambda value, shape=shape: shape.fullmatch(value) is not None).all():
            return DateFound(format)
    return None


def day_month_shape(text: pd.Series) -> DateFound | None:
    """Day-first or month-first dates, with one separator and one time-of-day form throughout."""
    parts = text.str.extract(DAY_MONTH.pattern + r"\Z")
    if parts[0].isna().any() or parts[1].nunique() != 1 or parts[4].isna().nunique() != 1:
        return None
    first, second, separator = parts[0].astype(int), parts[2].astype(int), parts[1].iloc[0]
    clock = "" if parts[4].isna().all() else (" %H:%M:%S" if parts[5].notna().all() else " %H:%M")
    if clock == " %H:%M" and parts[5].notna().any():
        return None
    day_first = f"%d{separator}%m{separator}%Y{clock}"
    month_first = f"%m{separator}%d{separator}%Y{clock}"
    if (first > 12).any() and (second > 12).any():
        return None
    if (first > 12).any():
        return DateFound(day_first)
    if (second > 12).any():
        return DateFound(month_first)
    said = f"no day above 12, so day-first ({day_first}) was chosen over month-first ({month_first})"
    return DateFound(day_first, ambiguous=said)


@dataclass(frozen=True)
class Inferred:
    dtype: str  # int | float | str | bool
    args: list[str]  # pa.Field arguments: checks, enforced
    hint: str | None = None  # what was observed: for the reviewer, never checked
    usable: bool = True  # fit to be a feature
    note: str | None = None  # what the column is, when it is not a plain feature


def describe(series: pd.Series, role: str = "feature") -> Inferred:
    """Type, nullability and the checks that new rows must pass too; what was seen goes to `hint`.

    `role` is "feature", "target" or "other" (row key, ignored). Numbers get `ge=0` when no value
    is negative (a count, a price), never the observed maximum. Text features get their
    categories (`isin`): the model and the service know no others, so a new one must be added by
    hand. The target gets no categories (a class never seen is still a valid training row) and
    other columns no checks at all (every new row has a new id).
    """
    values = series.dropna()
    nullable = ["nullable=True"] if series.isna().any() else []
    if pd.api.types.is_bool_dtype(series):
        return Inferred("bool", nullable)
    if pd.api.types.is_numeric_dtype(series):
        dtype = "int" if pd.api.types.is_integer_dtype(series) else "float"
        if values.empty:
            return Inferred(dtype, nullable)
        low, high = values.min(), values.max()
        bound = ["ge=0"] if role != "other" and low >= 0 else []
        return Inferred(dtype, bound + nullable, f"observed: {literal(low)} to {literal(high)}")
    categories = sorted(values.astype(str).unique())
    if role == "feature" and len(categories) <= MAX_CATEGORIES:
        return Inferred("str", [f"isin={json.dumps(categories, ensure_ascii=False)}", *nullable])
    shown = ", ".join(literal(c) for c in categories[:MAX_HINT_VALUES])
    if len(categories) > MAX_HINT_VALUES:
        examples = ", ".join(literal(c) for c in categories[:3])
        shown = f"{len(categories)} distinct values, e.g. {examples}"
    return Inferred("str", nullable, f"observed: {shown}", usable=len(categories) <= MAX_CATEGORIES)


def declaration(field: str, column: str, dtype: str, args: list[str], comment: str | None) -> str:
    """One `name: Series[type] = pa.Field(...)` line, wrapped like ruff format when long.

    The comment trails the first line when it fits, else it goes above, wrapped.
    """
    if field != column:
        args = [*args, f"alias={literal(column)}"]
    head = f"    {field}: Series[{dtype}] = pa.Field("
    lines = [f"{head}{', '.join(args)})"]
    if len(lines[0]) > LINE_LENGTH:
        lines = [head]
        for arg in args:
            key, _, value = arg.partition("=")
            if value.startswith("["):
                items = (f"            {literal(v)}," for v in json.loads(value))
                lines += [f"        {key}=[", *items, "        ],"]
            else:
                lines.append(f"        {arg},")
        lines.append("    )")
    if comment and len(f"{lines[0]}  # {comment}") <= LINE_LENGTH:
        lines[0] += f"  # {comment}"
    elif comment:
        lines[:0] = [
            f"    # {line}" for line in textwrap.wrap(comment, LINE_LENGTH - 6, break_on_hyphens=False)
        ]
    return "\n".join(lines)


def infer_task(target: pd.Series) -> str:
    if pd.api.types.is_float_dtype(target):
        return "regression"
    if pd.api.types.is_integer_dtype(target):
        return "classification" if target.nunique() <= MAX_CLASS_INTS else "regression"
    return "classification"


def schema_source(
    frame: pd.DataFrame,
    target: str,
    non_features: list[str],
    source: str,
    date_formats: dict[str, str] | None = None,
    time_column: str | None = None,
) -> str:
    """The text of a schema module for `frame`: features first, then the target and other columns
    (dates among them: `date_formats` maps each date column to its format)."""
    date_formats = date_formats or {}
    taken: set[str] = set()
    features: list[str] = []
    others: list[str] = []
    for column in frame.columns:
        role = "target" if column == target else "other" if column in non_features else "feature"
        if column in date_formats:
            found = describe_date(frame[column], date_formats[column], column == time_column)
        else:
            found = describe(frame[column], role)
        note = {"target": "the target", "other": "not a feature (row key or ignored)"}.get(role)
        if column in date_formats:
            note = f"{note}; {found.note}" if role == "other" else found.note
        elif role == "feature" and not found.usable:
            note = "too many distinct values: not used as a feature"
        comment = "; ".join(filter(None, [note, found.hint])) or None
        line = declaration(field_name(str(column), taken), str(column), found.dtype, found.args, comment)
        (features if role == "feature" and found.usable else others).append(line)
    if not features:
        raise ParamsError(f"{source}: no usable feature columns besides the target and excluded columns")
    package = __name__.rpartition(".")[0]
    return render("schema.py.j2", source=source, features=features, others=others, package=package)


def describe_date(series: pd.Series, format: str, is_time_column: bool) -> Inferred:
    """A date: its type as the file has it, checked to parse in `format`; never a raw feature."""
    dtype = "int" if format == dates.EPOCH else "str"
    nullable = ["nullable=True"] if series.isna().any() else []
    times = dates.parse(series, format)
    hint = None
    if times.notna().any():
        hint = f"observed: {series[times.idxmin()]} to {series[times.idxmax()]}"
    note = "a date: the time column, not a feature" if is_time_column else "a date, not a feature"
    return Inferred(dtype, [f"date={literal(format)}", *nullable], hint, usable=False, note=note)


def find_dates(frame: pd.DataFrame, target: str, declared: dict[str, str]) -> dict[str, DateFound]:
    """Each date column (the target aside): detected, or as `declared` (--date-format), checked."""
    found: dict[str, DateFound] = {}
    for column in frame.columns:
        if column == target:
            continue
        if column in declared:
            parsed = dates.date(frame[column], format=declared[column])
            if not parsed.all():
                examples = ", ".join(repr(v) for v in frame[column][~parsed].unique()[:3])
                raise ParamsError(
                    f"--date-format {column}={declared[column]}: {int((~parsed).sum()):,} values do not "
                    f"parse, e.g. {examples}"
                )
            found[column] = DateFound(declared[column])
        elif (detected := detect_date(frame[column])) is not None:
            found[column] = detected
    return found


def mixed_dates(frame: pd.DataFrame, skip: list[str]) -> list[str]:
    """Notes on text columns whose values are all dates, but in more than one format: not dates."""
    notes = []
    shapes = [shape for shape, _ in ISO_SHAPES] + [DAY_MONTH]
    for column in frame.columns.difference(skip, sort=False):
        if pd.api.types.is_numeric_dtype(frame[column]) or frame[column].isna().all():
            continue
        text = pd.Series(frame[column].dropna().astype(str).unique()[:DATE_SAMPLE])
        if text.map(lambda value: any(s.fullmatch(value) for s in shapes)).all():
            examples = ", ".join(repr(v) for v in text[:2])
            notes.append(
                f"`{column}` holds dates in more than one format (e.g. {examples}): kept as text, not a "
                f"date; write one format, or declare one with --date-format {column}=FORMAT (values in "
                "another format then fail validation)"
            )
    return notes


POSITIVE_LABELS = ("yes", "true", "1", "positive")  # what a binary target's class of interest is called


def positive_class(target: pd.Series):
    """For a binary target, the class conventionally called positive (yes, true, 1, positive, in any
    case), else the rarer class: usually the one of interest."""
    counts = target.value_counts()
    if len(counts) != 2:
        return None
    named = [value for value in counts.index if str(value).strip().lower() in POSITIVE_LABELS]
    value = named[0] if len(named) == 1 else counts.index[-1]
    return value.item() if hasattr(value, "item") else value


def read_params_document(params_path: Path) -> CommentedMap:
    """params.yaml as an editable document that keeps its comments."""
    try:
        doc = YAML().load(params_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(f"{params_path}: file not found") from None
    except YAMLError as err:
        raise ParamsError(f"{params_path}: not valid YAML: {err}") from None
    if not isinstance(doc, CommentedMap) or not {"data", "train"} <= set(doc):
        raise ParamsError(f"{params_path}: expected the sections task, data, split, train and metrics")
    return doc


def update_params(
    doc: CommentedMap,
    data_path: str,
    target: str,
    task: str,
    row_key: list[str],
    positive: tuple[object, str | None],
    rows: int,
    time_column: str | None = None,
) -> None:
    """Point params at the new data; a new task also resets the metrics and candidates.

    The data section is replaced rather than edited: its comments described the old data. The
    gate's tolerance and minimum rows are set for this data: the old ones were in its units and size.
    With a time column the split is by time (the holdout is the latest period), else by hash.
    """
    section = CommentedMap(path=data_path, target=target, row_key=row_key)
    if time_column is not None:
        section["time_column"] = time_column
    value, reason = positive  # the positive class (None for regression), and why it was chosen
    if value is not None:  # quoted, so `yes`/`no` stay strings for every YAML reader
        section["positive_class"] = DoubleQuotedScalarString(value) if isinstance(value, str) else value
        section.yaml_add_eol_comment(f"chosen by infer-schema: {reason}", "positive_class")
    section.yaml_set_start_comment("Written by infer-schema: review, then describe your data here.", indent=2)
    old_task, doc["task"], doc["data"] = doc.get("task"), task, section
    if "split" in doc:
        doc["split"]["by"] = "time" if time_column is not None else "hash"
        doc.yaml_set_comment_before_after_key("split", before="\n")
    if old_task != task:
        doc["metrics"] = list(DEFAULTS[task])
        doc["train"]["primary_metric"] = PRIMARY[task]
        doc["train"]["candidates"] = DEFAULT_CANDIDATES[task]
        doc["train"].pop("threshold", None)
        if value is not None:  # binary: the class of interest is often rare; 0.5 would miss it
            doc["train"].insert(
                list(doc["train"]).index("primary_metric") + 1, "threshold", {"maximise": "f1"}
            )
    if "gate" in doc:
        holdout = int(rows * doc.get("split", {}).get("holdout_fraction", 0.2))
        doc["gate"]["tolerance"] = TOLERANCE[task]
        doc["gate"]["min_rows"] = min(MIN_COMPARABLE_ROWS, max(FEWEST_COMPARABLE_ROWS, holdout // 2))


def infer(
    data_path: Path,
    target: str,
    params_path: Path,
    schema_path: Path,
    row_key: list[str],
    ignore: list[str],
    task: str | None = None,
    date_formats: dict[str, str] | None = None,
    time_column: str | None = None,
) -> dict:
    """Write schema.py and update params.yaml for `data_path`; return what was decided, and `notes`
    saying what the data left open (an ambiguous date, several time columns, the positive class).

    Everything is read and checked before either file is written, so an error changes nothing.
    """
    from .data import read_table

    doc = read_params_document(params_path)
    frame = read_table(data_path)
    named = [target, *row_key, *ignore, *(date_formats or {}), *([time_column] if time_column else [])]
    missing = [c for c in named if c not in frame.columns]
    if missing:
        raise ParamsError(f"{data_path}: columns {missing} not found; columns are {list(frame.columns)}")
    task = task or infer_task(frame[target])
    positive = positive_class(frame[target]) if task == "classification" else None
    found = find_dates(frame, target, date_formats or {})
    time_column, notes = choose_time_column(found, time_column)
    notes += [
        f"`{c}` is a date, {d.ambiguous}: say otherwise with --date-format"
        for c, d in found.items()
        if d.ambiguous
    ]
    notes += mixed_dates(frame, [target, *found])
    reason = positive_reason(frame[target], positive) if positive is not None else None
    if reason is not None:
        notes.append(
            f"positive class: {positive!r} ({reason}): data.positive_class in params.yaml says which "
            "class the probabilities and the threshold are about"
        )
    relative = Path(os.path.relpath(Path(data_path).resolve(), params_path.resolve().parent)).as_posix()
    formats = {column: date.format for column, date in found.items()}
    source = schema_source(frame, target, [*row_key, *ignore], relative, formats, time_column)
    update_params(doc, relative, target, task, row_key, (positive, reason), len(frame), time_column)
    schema_path.write_text(source, encoding="utf-8")
    with params_path.open("w", encoding="utf-8") as fh:
        YAML().dump(doc, fh)
    return {
        "task": task,
        "positive_class": positive,
        "rows": len(frame),
        "columns": len(frame.columns),
        "dates": formats,
        "time_column": time_column,
        "notes": notes,
    }


def choose_time_column(found: dict[str, DateFound], wanted: str | None) -> tuple[str | None, list[str]]:
    """The time column: the one asked for (a date column), else the only date column; and notes."""
    if wanted is not None:
        if wanted not in found:
            raise ParamsError(
                f"--time-column {wanted}: not a date column (date columns: {sorted(found) or 'none'}; "
                "declare one with --date-format COLUMN=FORMAT)"
            )
        return wanted, []
    if len(found) == 1:
        (column,) = found
        return column, [f"`{column}` is the time column: the holdout is its latest period (split.by: time)"]
    if found:
        columns = ", ".join(f"`{c}`" for c in found)
        return None, [f"several date columns ({columns}): choose the time column with --time-column"]
    return None, []


def positive_reason(target: pd.Series, positive) -> str:
    """Why `positive` was chosen, and its share: 'its name; 24% of rows'."""
    share = (target.astype(str) == str(positive)).mean()
    why = "its name" if str(positive).strip().lower() in POSITIVE_LABELS else "the rarer class"
    return f"{why}; {share:.0%} of rows"
