"""payloads.py: the service's request model refuses what the schema's patterns and dates refuse, and
nothing else.

pandera and the request model check the same pattern with two engines (pandas' `str.match`, and
pydantic's `pattern`), so these tests hold both to the same verdicts on values that slip through a
careless pattern: a trailing newline and digits of another script. A date is checked by the same
function on both sides (dates.date).
"""

from __future__ import annotations

import json

import pandas as pd
import pandera.pandas as pa
import pytest
from pydantic import ValidationError

from {{ cookiecutter.__package_name }} import data, dates, payloads, schema

ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"  # a pattern a team might write for a day


@pytest.fixture(scope="module")
def record_model(params):
    """The request model exactly as the service builds it from the project's schema."""
    features = list(schema.Features.to_schema().columns)
    return payloads.record_model(schema.TrainingData.to_schema(), features, params.data.target)


@pytest.fixture(scope="module")
def request_row(params) -> dict:
    """A valid record as a caller sends it (JSON), from the sample's first row."""
    row = data.read_table(params.data_path).head(1).drop(columns=[params.data.target])
    return json.loads(row.to_json(orient="records"))[0]


def lookalikes(value: str) -> list[str]:
    return [f"{value}\n", value.translate(ARABIC_INDIC_DIGITS), f" {value}", f"{value}0"]


def accepts(model, record: dict) -> bool:
    try:
        model.model_validate_json(json.dumps(record))
    except ValidationError as err:
        assert {e["loc"] for e in err.errors()} <= {(name,) for name in record}
        return False
    return True


def pandera_accepts(frame_schema: pa.DataFrameSchema, column: str, value: str) -> bool:
    try:
        frame_schema.validate(pd.DataFrame({column: [value]}))
    except pa.errors.SchemaError:
        return False
    return True


def date_columns() -> list[str]:
    return list(dates.declared_formats())


def test_the_sample_schema_has_a_date():
    assert date_columns(), "the sample schema declares its time column a date"


@pytest.mark.parametrize("column", date_columns())
def test_the_service_refuses_what_the_date_check_refuses(record_model, request_row, column):
    valid = request_row[column]
    assert accepts(record_model, request_row)
    for value in [*lookalikes(valid), f"{valid[:5]}13{valid[7:]}"]:
        assert not accepts(record_model, request_row | {column: value}), repr(value)


@pytest.mark.parametrize("pattern", [DATE, DATE.removeprefix("^")], ids=["anchored", "unanchored"])
def test_the_service_and_pandera_agree_on_a_pattern(pattern):
    frame_schema = pa.DataFrameSchema({"day": pa.Column(str, pa.Check.str_matches(pattern))})
    model = payloads.record_model(frame_schema, ["day"], target="y")
    for value in ["2024-01-31", *lookalikes("2024-01-31"), "x2024-01-31"]:
        by_pandera = pandera_accepts(frame_schema, "day", value)
        assert accepts(model, {"day": value}) == by_pandera, repr(value)
        assert by_pandera == (value == "2024-01-31"), repr(value)
