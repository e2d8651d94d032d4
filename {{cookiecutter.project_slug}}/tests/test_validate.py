"""`validate`: exit 0 and a report when data matches the schema; else exit 1 and a table of what does not."""

from __future__ import annotations

import re

import pytest
from support import explain, invoke, write_table

from {{ cookiecutter.__package_name }} import data, dates, schema


def first_check(column: str) -> str:
    """The name of a column's first check, as the report shows it (e.g. `isin`)."""
    return schema.TrainingData.to_schema().columns[column].checks[0].name


@pytest.fixture(scope="module")
def raw(params):
    """The small project's training data as read from disk (not coerced)."""
    return data.read_table(params.data_path)


@pytest.fixture(scope="module")
def text_column():
    """A string column with a check (a category list or a pattern) that "bogus" fails."""
    columns = schema.TrainingData.to_schema().columns
    return next(name for name, c in columns.items() if str(c.dtype) in {"str", "string"} and c.checks)


@pytest.fixture(scope="module")
def date_column() -> str:
    """The sample schema's date column (the day, or the campaign's month)."""
    (column,) = dates.declared_formats()
    return column


ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def validate(path, tmp_path):
    report = tmp_path / "reports" / "validation.md"
    return invoke("validate", path, "--report", report), report


def table_row(output: str, column: str) -> list[str]:
    """The cells of the terminal table's row for `column` (cells are separated by 2+ spaces)."""
    return next(re.split(r"\s{2,}", line) for line in output.splitlines() if line.startswith(f"{column}  "))


def test_the_sample_matches(params, tmp_path):
    result, report = validate(params.data_path, tmp_path)
    assert result.exit_code == 0, explain(result)
    assert "rows match the schema" in result.output and f"Report: {report}" in result.output
    assert "rows match the schema" in report.read_text(encoding="utf-8")


def test_data_file_defaults_to_the_training_data_in_params(params, project, tmp_path):
    result = invoke("validate", "--params", project, "--report", tmp_path / "report.md")
    assert result.exit_code == 0, explain(result)
    assert f"{params.data_path}: {len(data.read_table(params.data_path)):,} rows match" in result.output


def test_violations_are_listed_by_column_and_check(raw, text_column, tmp_path):
    numeric = data.feature_columns()[0][0]
    bad = raw.copy()
    bad.loc[bad.index[0], numeric] = -5
    bad.loc[bad.index[2], text_column] = "bogus"
    path = write_table(bad, tmp_path / "bad.csv")

    result, report = validate(path, tmp_path)
    assert result.exit_code == 1, explain(result)
    out = result.output
    assert f"{path}: 2 schema violations in {len(bad):,} rows" in out
    # The terminal gets an aligned table: the value, and the row numbered from 1.
    cells = table_row(out, numeric)
    assert cells[1].startswith("greater_than_or_equal_to") and cells[2:] == ["1", "-5", "1"]
    text_cells = table_row(out, text_column)
    assert text_cells[1].startswith(first_check(text_column)) and text_cells[2:] == ["1", "bogus", "3"]
    assert "|" not in out
    # The report (and the job summary) get the same findings as Markdown.
    markdown = report.read_text(encoding="utf-8")
    assert f"| {numeric} | {cells[1]} | 1 | -5 | 1 |" in markdown
    assert f"| {text_column} | {first_check(text_column)}" in markdown and "| 1 | bogus | 3 |" in markdown


def test_a_date_must_parse_in_its_format_as_plain_ascii(raw, date_column):
    """A date is kept as written, so a lookalike would be another value (another row key, another
    category): a trailing newline, a leading space, another script's digits, or no such month."""
    valid = raw[date_column].iloc[0]
    lookalikes = [
        f"{valid}\n",
        f" {valid}",
        valid.translate(ARABIC_INDIC_DIGITS),
        f"{valid[:5]}13{valid[7:]}",
    ]
    rows = raw.head(5).assign(**{date_column: [valid, *lookalikes]})
    with pytest.raises(data.ValidationFailed) as failed:
        data.validate(rows, schema.TrainingData, "lookalikes")
    failures = failed.value.failures
    assert set(failures["column"]) == {date_column}
    assert sorted(failures["index"]) == [1, 2, 3, 4]
    assert set(failures["check"]) == {f"date(format={dates.declared_formats()[date_column]})"}


def test_extra_column_is_named(raw, tmp_path):
    path = write_table(raw.assign(surprise=1), tmp_path / "extra.csv")
    result, report = validate(path, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert table_row(result.output, "surprise")[1:3] == ["unexpected column (not in the schema)", "1"]
    assert "| surprise | unexpected column (not in the schema) | 1 |" in report.read_text(encoding="utf-8")


def test_missing_column_is_named(raw, tmp_path):
    dropped = data.feature_columns()[0][-1]
    path = write_table(raw.drop(columns=[dropped]), tmp_path / "missing.csv")
    result, _ = validate(path, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert table_row(result.output, dropped)[1:3] == ["missing column", "1"]


def test_parquet_is_read_too(raw, tmp_path):
    result, _ = validate(write_table(raw, tmp_path / "data.parquet"), tmp_path)
    assert result.exit_code == 0, explain(result)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "file is empty"),
        ("header_only.csv", "a,b\n", "no data rows"),
        ("data.txt", "a,b\n1,2\n", "unsupported format '.txt'"),
        ("broken.parquet", "not parquet", "cannot read"),
    ],
)
def test_unreadable_files_are_one_error_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result, report = validate(path, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith(f"error: {path}: {message}")
    assert not report.exists()


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    result, _ = validate(path, tmp_path)
    assert result.exit_code == 1, explain(result)
    assert result.output == f"error: {path}: file not found\n"


def test_reports_go_to_the_github_job_summary(params, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result, report = validate(params.data_path, tmp_path)
    assert result.exit_code == 0, explain(result)
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + report.read_text(encoding="utf-8") + "\n"


def test_report_escapes_pipes_in_values(raw, text_column, tmp_path):
    bad = raw.copy()
    bad.loc[bad.index[0], text_column] = "a|b"
    result, report = validate(write_table(bad, tmp_path / "pipe.csv"), tmp_path)
    assert result.exit_code == 1, explain(result)
    assert "a\\|b" in report.read_text(encoding="utf-8")  # Markdown keeps its table
    assert table_row(result.output, text_column)[3] == "a|b"  # the terminal shows the value as it is


def test_an_eager_schema_error_gets_the_same_table(raw):
    """pandera raises SchemaError (not SchemaErrors, its sibling) from eager checks: both must be reported."""
    import pandas as pd
    import pandera.pandas as pa

    class Eager(pa.DataFrameModel):
        @classmethod
        def validate(cls, frame, lazy=False):
            cases = pd.DataFrame({"index": [4, 9], "failure_case": ["x", "y"]})
            raise pa.errors.SchemaError(
                schema=None,
                data=frame,
                message="boom",
                failure_cases=cases,
                check="no_x",
                column_name="colour",
            )

    with pytest.raises(data.ValidationFailed) as failed:
        data.validate(raw, Eager, "eager.csv")
    summary = data.failure_summary(failed.value.failures)
    assert summary == [{"column": "colour", "check": "no_x", "count": 2, "examples": "x, y", "rows": "5, 10"}]
