"""The service's request and response models, derived from the pandera schema.

One contract, two enforcers: schema.py says what a valid row is, and this module turns the same
columns and checks into a pydantic model, so a bad request is refused field by field (HTTP 400
naming the field) before it reaches the model. A check this module cannot express fails at
start-up, naming the column, rather than being skipped. The same checks bound how long a record's
JSON can be, and so the largest body worth reading (`body_limit`).
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

import pandas as pd
import pandera.pandas as pa
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from . import dates
from .errors import ProjectError

MAX_RECORDS = 1000  # per request; a larger list gets 400 (split it, or use the `predict` verb)
# The body-size limit follows from MAX_RECORDS: a request never needs more than MAX_RECORDS of the
# longest records the schema allows, and a larger body is refused (413) before it is read (parsed
# JSON takes ~20 times its size in memory, and all of it is parsed before the record cap applies).
NUMBER_CHARS = 24  # the longest JSON number a client writes for a float64: -2.2250738585072014e-308
TEXT_CHARS = 1024  # a string column with no str_length or isin check in schema.py (bound it there)
# pandera check name -> pydantic Field arguments built from the check's statistics
BOUNDS = {
    "greater_than": lambda s: {"gt": s["min_value"]},
    "greater_than_or_equal_to": lambda s: {"ge": s["min_value"]},
    "less_than": lambda s: {"lt": s["max_value"]},
    "less_than_or_equal_to": lambda s: {"le": s["max_value"]},
    "in_range": lambda s: {
        "ge" if s["include_min"] else "gt": s["min_value"],
        "le" if s["include_max"] else "lt": s["max_value"],
    },
    "str_length": lambda s: (
        {"min_length": s["exact_value"], "max_length": s["exact_value"]}
        if s.get("exact_value") is not None
        else {"min_length": s["min_value"], "max_length": s["max_value"]}
    ),
    # pandera matches from the start of the string (re.match); pydantic searches
    "str_matches": lambda s: {
        "pattern": s["pattern"] if s["pattern"].startswith("^") else f"^(?:{s['pattern']})"
    },
}
RECORD_CONFIG = ConfigDict(
    extra="forbid",  # a misspelt or unexpected field is an error, not silently dropped
    strict=True,  # "42" is not a number; JSON integers are still accepted for float fields
    # pandera's regex dialect: schema patterns end with `\Z` (`$` also matches before a trailing
    # newline), which pydantic's default engine, Rust's regex, refuses
    regex_engine="python-re",
    frozen=True,
)


def python_type(column: pa.Column) -> type:
    dtype = column.dtype.type
    if pd.api.types.is_bool_dtype(dtype):
        return bool
    if pd.api.types.is_integer_dtype(dtype):
        return int
    if pd.api.types.is_float_dtype(dtype):
        return float
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return str
    raise ProjectError(f"schema column {column.name!r}: the service cannot accept dtype {column.dtype}")


def constraints(column: pa.Column) -> tuple[tuple | None, dict[str, Any], list[str]]:
    """A column's checks as (allowed values or None, pydantic Field bounds, checks with no translation)."""
    allowed, other = None, []
    bounds: dict[str, Any] = {}
    for check in column.checks:
        if check.name == "isin":
            allowed = tuple(check.statistics["allowed_values"])
        elif check.name in BOUNDS:
            bounds |= BOUNDS[check.name](check.statistics)
        elif check.name != "date":  # a validator (date_validator), not a bound
            other.append(check.name)
    return allowed, bounds, other


def date_validator(column: pa.Column) -> AfterValidator | None:
    """For a column schema.py declares a date: refuse a value that does not parse in its format."""
    formats = [check.statistics["format"] for check in column.checks if check.name == "date"]
    if not formats:
        return None

    def parses(value):
        if not is_date(value, formats[0]):
            raise ValueError(f"not a date or time in the format {formats[0]!r}")
        return value

    return AfterValidator(parses)


@functools.lru_cache(maxsize=65536)
def is_date(value, format: str) -> bool:
    """pandera's own date check on one value (so the two never disagree), remembered: requests repeat
    dates, and a value takes 0.25 ms to check alone (BentoML validates each record a second time)."""
    return bool(dates.date(pd.Series([value]), format=format).all())


def field_for(column: pa.Column, optional: bool) -> tuple[Any, Any]:
    """(annotation, Field) for one column: its type narrowed by its checks."""
    allowed, bounds, other = constraints(column)
    if other:
        raise ProjectError(
            f"schema column {column.name!r}: the service cannot check {other[0]!r} on requests; "
            f"express it with ge/le/gt/lt/isin/str_length/str_matches/date, or extend payloads.BOUNDS"
        )
    annotation: Any = Literal[allowed] if allowed else python_type(column)
    validator = date_validator(column)
    if validator is not None:
        annotation = Annotated[annotation, validator]
    if column.nullable or optional:
        annotation = annotation | None
    default = None if column.nullable or optional else ...
    return annotation, Field(default, description=column.description, **bounds)


def record_model(training: pa.DataFrameSchema, features: list[str], target: str) -> type[BaseModel]:
    """A request record: every feature (required), plus the training data's other columns except
    the target (optional; the model ignores them, the prediction log keeps them for retraining)."""
    if training.checks:
        names = [check.name for check in training.checks]
        raise ProjectError(f"schema: the service cannot check table-level checks {names} on requests")
    fields = {
        name: field_for(column, optional=name not in features)
        for name, column in training.columns.items()
        if name != target
    }
    return create_model("Record", __config__=RECORD_CONFIG, **fields)  # type: ignore[call-overload]


def longest_value(column: pa.Column) -> int:
    """Bytes of the longest JSON value the column's checks let through (numbers, booleans, null:
    NUMBER_CHARS)."""
    allowed, bounds, _ = constraints(column)
    if allowed:
        return max(len(json.dumps(str(value))) for value in allowed)
    if python_type(column) is str:
        return 2 + bounds.get("max_length", TEXT_CHARS)
    return NUMBER_CHARS


def body_limit(training: pa.DataFrameSchema, target: str) -> tuple[int, str]:
    """(the largest request body worth reading, the 413 message stating it). The longest record is
    its fields' quoted names and longest values; twice that leaves room for whitespace and escapes."""
    record = 2 + sum(
        len(json.dumps(name)) + 2 + longest_value(column)  # 2: the colon and the comma
        for name, column in training.columns.items()
        if name != target
    )
    limit = 2 * MAX_RECORDS * record
    return limit, (
        f"request body over {limit} bytes: at most {MAX_RECORDS} records of at most {record} bytes "
        f"of JSON each (their fields' longest values), twice over for whitespace; split the records "
        f"into several requests"
    )


class Prediction(BaseModel):
    """One answer per record, in the order sent."""

    prediction: str | int | float | bool = Field(description="the class, or the predicted value")
    probabilities: dict[str, float] | None = Field(
        default=None, description="classification: the probability of each class"
    )
    decision: str | None = Field(
        default=None,
        description="classification: how the probabilities became the prediction (the class, the "
        "probability it is read from, and the threshold)",
    )
    model: str = Field(description="the model's tag in the BentoML store: which model answered")
    prediction_id: str | None = Field(
        default=None, description="when predictions are logged: the key to attach the outcome to later"
    )
