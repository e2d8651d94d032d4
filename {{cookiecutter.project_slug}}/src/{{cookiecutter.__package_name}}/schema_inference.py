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


@dataclass(frozen=True)
class Inferred:
    dtype: str  # int | float | str | bool
    args: list[str]  # pa.Field arguments: checks, enforced
    hint: str | None = None  # what was observed: for the reviewer, never checked
    usable: bool = True  # fit to be a feature


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


def schema_source(frame: pd.DataFrame, target: str, non_features: list[str], source: str) -> str:
    """The text of a schema module for `frame`: features first, then the target and other columns."""
    taken: set[str] = set()
    features: list[str] = []
    others: list[str] = []
    for column in frame.columns:
        role = "target" if column == target else "other" if column in non_features else "feature"
        found = describe(frame[column], role)
        note = {"target": "the target", "other": "not a feature (row key or ignored)"}.get(role)
        if role == "feature" and not found.usable:
            note = "too many distinct values: not used as a feature"
        comment = "; ".join(filter(None, [note, found.hint])) or None
        line = declaration(field_name(str(column), taken), str(column), found.dtype, found.args, comment)
        (features if role == "feature" and found.usable else others).append(line)
    if not features:
        raise ParamsError(f"{source}: no usable feature columns besides the target and excluded columns")
    return render("schema.py.j2", source=source, features=features, others=others)


def positive_class(target: pd.Series):
    """For a binary target, the rarer class: usually the one of interest."""
    counts = target.value_counts()
    if len(counts) != 2:
        return None
    value = counts.index[-1]
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
    doc: CommentedMap, data_path: str, target: str, task: str, row_key: list[str], positive, rows: int
) -> None:
    """Point params at the new data; a new task also resets the metrics and candidates.

    The data section is replaced rather than edited: its comments described the old data. The
    gate's tolerance and minimum rows are set for this data: the old ones were in its units and size.
    """
    section = CommentedMap(path=data_path, target=target, row_key=row_key)
    if positive is not None:  # quoted, so `yes`/`no` stay strings for every YAML reader
        quoted = DoubleQuotedScalarString(positive) if isinstance(positive, str) else positive
        section["positive_class"] = quoted
    section.yaml_set_start_comment("Written by infer-schema: review, then describe your data here.", indent=2)
    old_task, doc["task"], doc["data"] = doc.get("task"), task, section
    if "split" in doc:
        doc.yaml_set_comment_before_after_key("split", before="\n")
    if old_task != task:
        doc["metrics"] = list(DEFAULTS[task])
        doc["train"]["primary_metric"] = PRIMARY[task]
        doc["train"]["candidates"] = DEFAULT_CANDIDATES[task]
        doc["train"].pop("threshold", None)
        if positive is not None:  # binary: the class of interest is often rare; 0.5 would miss it
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
) -> dict:
    """Write schema.py and update params.yaml for `data_path`; return what was decided.

    Everything is read and checked before either file is written, so an error changes nothing.
    """
    from .data import read_table

    doc = read_params_document(params_path)
    frame = read_table(data_path)
    missing = [c for c in [target, *row_key, *ignore] if c not in frame.columns]
    if missing:
        raise ParamsError(f"{data_path}: columns {missing} not found; columns are {list(frame.columns)}")
    task = task or infer_task(frame[target])
    positive = positive_class(frame[target]) if task == "classification" else None
    relative = Path(os.path.relpath(Path(data_path).resolve(), params_path.resolve().parent)).as_posix()
    source = schema_source(frame, target, [*row_key, *ignore], source=relative)
    update_params(doc, relative, target, task, row_key, positive, len(frame))
    schema_path.write_text(source, encoding="utf-8")
    with params_path.open("w", encoding="utf-8") as fh:
        YAML().dump(doc, fh)
    return {"task": task, "positive_class": positive, "rows": len(frame), "columns": len(frame.columns)}
