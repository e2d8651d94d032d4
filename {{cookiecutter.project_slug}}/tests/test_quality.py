"""Model quality over time: the deployed model scored per window on labelled rows, as a reviewer reads it.

The windows are built from the small project's holdout, scored with the model trained on it, so a
window of those rows scores exactly the reviewed value; flipping outcomes makes it decay.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter
from support import ROOT

from {{ cookiecutter.__package_name }} import (
    data,
    dates,
    drift,
    evaluation,
    models,
    quality,
    quality_report,
    records,
)
from {{ cookiecutter.__package_name }}.errors import DataError


@pytest.fixture(scope="module")
def scored(params, trained, sample):
    """The holdout the model was reviewed on, its predictions, the model's info and reviewed values."""
    model, info = models.load(trained, params.train.trusted_types)
    holdout = data.split(sample, params).holdout.reset_index(drop=True)
    preds = models.predict_frame(model, holdout[info.numeric + info.categorical])
    reviewed = records.read_training_record(trained)["holdout"]["metrics"]
    return holdout, preds, info, reviewed


def tuned(params, window="month", windows=12, min_rows=100, **gate):
    monitor = params.monitor.model_copy(update={"window": window, "windows": windows, "min_rows": min_rows})
    return params.model_copy(update={"monitor": monitor, "gate": params.gate.model_copy(update=gate)})


def flipped(y: pd.Series, info, share: float, seed: int = 0) -> pd.Series:
    """The outcome changed for a share of rows: the other class, or another row's target."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(y), int(share * len(y)), replace=False)
    y = y.copy()
    if info.classes:
        other = {c: next(o for o in info.classes if o != c) for c in info.classes}
        y.iloc[rows] = y.iloc[rows].map(other)
    else:
        y.iloc[rows] = rng.permutation(y.iloc[rows].to_numpy())
    return y


def written(params, month: str) -> str:
    """A month ('2010-11') as the time column writes a time: its first day in the schema's format."""
    column = params.data.time_column
    return pd.Timestamp(f"{month}-01").strftime(dates.declared_formats()[column])


def windows_of(params, scored, spec: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Current rows and predictions: for each time, the holdout's rows with that time (and a target
    transformed by spec[time], or the holdout's own when None)."""
    holdout, preds, info, _ = scored
    frames, predictions = [], []
    for when, change in spec.items():
        rows = holdout.copy()
        if change is not None:
            rows[info.target] = change(rows[info.target])
        rows[params.data.time_column] = written(params, when)
        frames.append(rows)
        predictions.append(preds)
    return pd.concat(frames, ignore_index=True), pd.concat(predictions, ignore_index=True)


def number(text: str) -> float:
    return float(text.replace("−", "-"))


def primary_label(params) -> str:
    return evaluation.metric_label(params.train.primary_metric)


def table_rows(markdown: str) -> dict[str, list[str]]:
    """The metrics table's rows by the window they are about (first cell, without bold or notes)."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[cells[0].split("<br>")[0].strip("*_")] = cells
    return rows


def mermaid_block(markdown: str) -> list[str]:
    start = markdown.index("```mermaid")
    return markdown[start : markdown.index("```", start + 3) + 3].splitlines()


def test_a_window_whose_outcomes_flipped_has_decayed(params, scored):
    holdout, _, info, reviewed = scored
    settings = tuned(params)
    frame, preds = windows_of(
        params, scored, {"2010-09": None, "2010-10": None, "2010-11": lambda y: flipped(y, info, 0.5)}
    )
    record = quality.score_windows(settings, frame, preds, info, reviewed)
    assert record["verdict"] == "decayed" and record["judged_window"] == "2010-11"
    label, primary = primary_label(params), record["windows"][-1]["metrics"][0]
    side = "below" if evaluation.direction(params.train.primary_metric) > 0 else "above"
    said = re.fullmatch(
        rf"{re.escape(label)} in 2010-11 is (\S+) \(95% interval (\S+)–(\S+), "
        rf"{len(holdout):,} labelled rows\), "
        rf"{side} the reviewed (\S+) by more than the tolerance (.+): the model has decayed\.",
        record["sentence"],
    )
    assert said, record["sentence"]
    value, low, high, before = map(number, said.groups()[:4])
    places = quality.decimals(reviewed[params.train.primary_metric])
    exact = (primary["value"], primary["low"], primary["high"], primary["reviewed"])
    for shown, expected in zip((value, low, high, before), exact, strict=True):
        assert shown == pytest.approx(expected, abs=0.51 * 10**-places)
    assert primary["worse"] and primary["delta"] == pytest.approx(primary["value"] - primary["reviewed"])

    markdown = quality.render(record)
    assert markdown.startswith("## 📉 Model quality: decayed\n\n" + record["sentence"])
    rows = table_rows(markdown)
    assert "▼" in rows["2010-11"][3] and "decayed" in rows["2010-11"][0]
    assert "▼" not in rows["2010-09"][3]  # the reviewed rows themselves: exactly the reviewed value
    assert rows["2010-09"][1:3] == [f"{len(holdout):,}", "0"]


def test_a_stable_window_is_holding_with_its_value_equal_to_the_reviewed_one(params, scored):
    _, _, info, reviewed = scored
    frame, preds = windows_of(params, scored, {"2010-10": None, "2010-11": None})
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    assert record["verdict"] == "holding" and record["judged_window"] == "2010-11"
    assert record["sentence"].endswith("with 95% confidence, so the model is holding.")
    for metric in record["windows"][-1]["metrics"]:
        assert metric["value"] == pytest.approx(reviewed[metric["metric"]])
        assert not metric["worse"] and metric["low"] <= metric["value"] <= metric["high"]
    markdown = quality.render(record)
    assert "▼" not in markdown.split("| _reviewed_")[1].split("<sub>Windows")[0]
    assert "Δ 0.0" in markdown and "Δ −0.0" not in markdown  # no negative zero
    json.dumps(record)  # JSON-ready
    TypeAdapter(records.QualityRecord).validate_python(record)


def test_too_few_labels_shows_the_counts_and_judges_the_latest_window_that_has_enough(params, scored):
    holdout, _, info, reviewed = scored
    few = len(holdout) - 60

    def unlabelled(y: pd.Series) -> pd.Series:
        return y.astype(object).where(np.arange(len(y)) >= few, None)  # 60 labelled rows

    frame, preds = windows_of(params, scored, {"2010-10": None, "2010-11": unlabelled})
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    latest = record["windows"][-1]
    assert (latest["labelled"], latest["unlabelled"], latest["status"]) == (60, few, "too few labels")
    assert latest["metrics"] == [] and "fewer than `monitor.min_rows` (100)" in latest["reason"]
    assert record["verdict"] == "holding" and record["judged_window"] == "2010-10"
    rows = table_rows(quality.render(record))
    assert rows["2010-11"][:3] == ["2010-11<br><sub>too few labels</sub>", "60", f"{few:,}"]
    assert set(rows["2010-11"][3:]) == {"—"}

    frame, preds = windows_of(params, scored, {"2010-10": unlabelled, "2010-11": unlabelled})
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    assert record["verdict"] == "too few labels" and record["judged_window"] is None
    assert record["sentence"] == (
        "No window can be judged: none of the last 2 months has `monitor.min_rows` (100) labelled rows "
        "(the most: 60, in 2010-10)."
    )
    assert record["chart"] is None
    assert quality.render(record).startswith("## ⏸️ Model quality: too few labels")


def test_a_window_with_one_class_names_what_cannot_be_computed_and_does_not_crash(params, scored):
    holdout, preds, info, reviewed = scored
    if info.classes:  # only the negative class
        negative = next(c for c in info.classes if c != info.positive_class)
        keep = (holdout[info.target] == negative).to_numpy()
        rows, expected = (
            holdout[keep].reset_index(drop=True),
            f"needs both classes; no labelled row here is {info.positive_class}",
        )
    else:  # a constant target
        keep = np.ones(len(holdout), bool)
        rows, expected = (
            holdout.assign(**{info.target: holdout[info.target].iloc[0]}),
            "needs a target that varies",
        )
    frame = rows.assign(**{params.data.time_column: written(params, "2010-11")})
    record = quality.score_windows(tuned(params), frame, preds[keep].reset_index(drop=True), info, reviewed)
    (window,) = record["windows"]
    undefined = {m["metric"]: m["undefined"] for m in window["metrics"] if m["value"] is None}
    defined = [m["metric"] for m in window["metrics"] if m["value"] is not None]
    assert undefined and defined  # what can be computed still is
    assert all(expected in why for why in undefined.values()), undefined
    markdown = quality.render(record)
    for metric, why in undefined.items():
        assert f"- 2010-11: {why}." in markdown
        assert evaluation.metric_label(metric) in why
    if info.classes and any(evaluation.uses_labels(m) for m in params.metrics):
        assert window["missing_classes"] == [info.positive_class]
        note = f"no labelled row is {info.positive_class}, so metrics of predicted classes count 0/0 as 0"
        assert note in markdown
    if params.train.primary_metric in undefined:
        assert window["status"] == "not judged" and record["verdict"] == "too few labels"
        assert (
            record["sentence"]
            == f"No window can be judged: in 2010-11, {undefined[params.train.primary_metric]}."
        )
    else:
        assert window["status"] == "judged" and record["verdict"] in ("holding", "decayed")


@pytest.mark.parametrize("target", ["empty", "absent"])
def test_no_labels_at_all_says_where_outcomes_come_from(params, scored, target):
    holdout, preds, info, reviewed = scored
    frame = holdout.assign(**{params.data.time_column: written(params, "2010-11"), info.target: None})
    if target == "absent":
        frame = frame.drop(columns=[info.target])
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    assert record["verdict"] == "no labels" and record["rows"]["labelled"] == 0
    assert record["sentence"] == (
        f"None of the {len(holdout):,} rows of the last month (by `{params.data.time_column}`) has a known "
        "outcome yet, so the model's quality cannot be scored."
    )
    markdown = quality.render(record)
    assert markdown.startswith("## ⏸️ Model quality: no labels")
    assert f"target column `{info.target}`" in markdown and "`label`" in markdown
    assert table_rows(markdown)["2010-11"][1:3] == ["0", f"{len(holdout):,}"]
    empty = quality.score_windows(tuned(params), frame.head(0), preds.head(0), info, reviewed)
    assert empty["verdict"] == "no labels" and empty["windows"] == []


def test_month_windows_are_the_latest_ones_with_older_rows_counted(params, scored):
    holdout, preds, info, reviewed = scored
    months = ["2009-12", "2010-01", "2010-03", "2010-04"]  # no row in 2010-02
    frame, preds = windows_of(params, scored, dict.fromkeys(months))
    record = quality.score_windows(tuned(params, windows=3), frame, preds, info, reviewed)
    labels = [w["label"] for w in record["windows"]]
    assert labels == ["2010-02", "2010-03", "2010-04"]
    assert [w["labelled"] for w in record["windows"]] == [0, len(holdout), len(holdout)]
    assert record["rows"]["before"] == 2 * len(holdout)
    assert (record["windows"][0]["start"], record["windows"][0]["end"]) == ("2010-02-01", "2010-02-28")
    assert f"{2 * len(holdout):,} older rows not scored" in quality.render(record)


def test_week_windows_run_monday_to_sunday_in_utc_from_datetimes(params, scored):
    holdout, preds, info, reviewed = scored
    n = len(holdout)
    times = [
        datetime(2010, 9, 8, 12, tzinfo=UTC),  # a Wednesday
        datetime(2010, 9, 12, 23, 30, tzinfo=UTC),  # Sunday night: the same week
        datetime(2010, 9, 13, 1, 0, tzinfo=UTC),  # Monday: the next week
    ]
    when = np.resize(np.array(times, dtype=object), n)
    week = tuned(params, window="week", min_rows=50)
    frame = holdout.assign(logged_at=pd.to_datetime(when))  # as the prediction log has them
    record = quality.score_windows(week, frame, preds, info, reviewed, time_column="logged_at")
    assert [w["label"] for w in record["windows"]] == ["2010-09-06 – 2010-09-12", "2010-09-13 – 2010-09-19"]
    assert [w["labelled"] for w in record["windows"]] == [(when != times[2]).sum(), (when == times[2]).sum()]
    # the same instants written as ISO text with another zone land in the same windows
    local = [t.astimezone(timezone(timedelta(hours=2))).isoformat() for t in when]  # 01:30+02:00 is Sunday
    moved = quality.score_windows(
        week, holdout.assign(logged_at=local), preds, info, reviewed, time_column="logged_at"
    )
    assert [w["labelled"] for w in moved["windows"]] == [w["labelled"] for w in record["windows"]]


def test_day_windows_from_naive_datetimes_taken_as_utc(params, scored):
    holdout, preds, info, reviewed = scored
    days = pd.to_datetime(["2010-09-06 00:00", "2010-09-06 23:59", "2010-09-07 00:01"])
    frame = holdout.assign(**{params.data.time_column: np.resize(days.to_numpy(), len(holdout))})
    record = quality.score_windows(tuned(params, window="day", min_rows=50), frame, preds, info, reviewed)
    assert [w["label"] for w in record["windows"]] == ["2010-09-06", "2010-09-07"]
    third = np.arange(len(holdout)) % 3 == 2
    assert [w["labelled"] for w in record["windows"]] == [(~third).sum(), third.sum()]


def shifted(params, scored, gap_share: float) -> tuple[dict, float]:
    """Reviewed values that lie `gap_share` beyond the stable window's interval, on its better side:
    the whole interval is worse than them, by that gap (in the metric's units)."""
    _, _, info, reviewed = scored
    frame, preds = windows_of(params, scored, {"2010-11": None})
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    primary = record["windows"][0]["metrics"][0]
    direction = evaluation.direction(params.train.primary_metric)
    bound = primary["high"] if direction > 0 else primary["low"]
    gap = abs(bound) * gap_share
    return {**reviewed, params.train.primary_metric: bound + direction * gap}, gap


@pytest.mark.parametrize(
    ("tolerance", "verdict"),
    [
        ("1%", "holding"),
        ("0.1%", "decayed"),
        ("absolute, twice the gap", "holding"),
        ("absolute, half", "decayed"),
    ],
)
def test_the_tolerance_is_the_gates_absolute_or_relative_to_the_reviewed_value(
    params, scored, tolerance, verdict
):
    _, _, info, _ = scored
    reviewed, gap = shifted(params, scored, 0.005)  # the interval is worse by 0.5% of the reviewed value
    if tolerance.startswith("absolute"):
        tolerance = 2 * gap if "twice" in tolerance else gap / 2
    frame, preds = windows_of(params, scored, {"2010-11": None})
    record = quality.score_windows(tuned(params, tolerance=tolerance), frame, preds, info, reviewed)
    assert record["verdict"] == verdict, record["sentence"]
    allowed = record["gate"]["allowed_loss"]
    if isinstance(tolerance, str):
        assert allowed == pytest.approx(
            abs(reviewed[params.train.primary_metric]) * float(tolerance[:-1]) / 100
        )
        assert f"the tolerance {tolerance} of the reviewed value ({allowed:.3g})" in record["sentence"]
    else:
        assert allowed == tolerance and f"the tolerance {tolerance:g}" in record["sentence"]


def test_the_chart_draws_the_primary_metric_its_interval_and_the_reviewed_level(params, scored):
    _, _, info, reviewed = scored
    months = {f"2010-{m:02d}": (lambda y, m=m: flipped(y, info, 0.04 * m, seed=m)) for m in range(1, 13)}
    frame, preds = windows_of(params, scored, months)
    record = quality.score_windows(tuned(params), frame, preds, info, reviewed)
    chart = record["chart"]
    names = [s["name"] for s in chart["series"]]
    assert names == ["low", "high", "reviewed", "value"]
    low, high, level, value = (s["values"] for s in chart["series"])
    assert len(chart["x"]["ticks"]) == len(value) == 12 and len(set(chart["x"]["ticks"])) == 12
    assert all(lo <= v <= hi for lo, v, hi in zip(low, value, high, strict=True))
    assert set(level) == {round(reviewed[params.train.primary_metric], 4)}
    bottom, top = chart["y"]["range"]
    assert bottom <= min(low + level) and top >= max(high + level)

    markdown = quality.render(record)
    block = mermaid_block(markdown)
    assert block[0] == "```mermaid" and block[-1] == "```" and "xychart-beta" in block
    x_axis = next(line for line in block if line.strip().startswith("x-axis"))
    assert x_axis.count('"') == 2 + 2 * 12  # the axis label and 12 quoted ticks
    lines = [line for line in block if line.startswith("  line [")]
    assert len(lines) == 4 and all(len(line.split(",")) == 12 for line in lines)
    assert not any(re.search(r"\de[+-]?\d", line) for line in block)  # Mermaid cannot read exponents
    palette = next(line for line in block if "plotColorPalette" in line)
    assert palette.count("#") == 4
    assert "Blue line: " + primary_label(params) in markdown


def test_bad_times_and_mismatched_predictions_are_named(params, scored):
    holdout, preds, info, reviewed = scored
    frame = holdout.assign(**{params.data.time_column: "last tuesday"})
    with pytest.raises(DataError, match=rf"time column '{params.data.time_column}'.*'last tuesday'"):
        quality.score_windows(tuned(params), frame, preds, info, reviewed)
    with pytest.raises(DataError, match="no time column 'logged_at'"):
        quality.score_windows(tuned(params), holdout, preds, info, reviewed, time_column="logged_at")
    with pytest.raises(ValueError, match="one prediction per current row"):
        quality.score_windows(tuned(params), holdout, preds.head(3), info, reviewed)


def test_the_samples_later_period_is_scored_month_by_month(params, trained):
    """data/later/: labelled months after the training period, scored with the trained model."""
    model, info = models.load(trained, params.train.trusted_types)
    later = data.read_table(next((ROOT / "data" / "later").iterdir()))
    preds = models.predict_frame(model, later[info.numeric + info.categorical])
    reviewed = records.read_training_record(trained)["holdout"]["metrics"]
    settings = tuned(params, min_rows=params.monitor.min_rows)
    record = quality.score_windows(settings, later, preds, info, reviewed)

    months = pd.to_datetime(later[params.data.time_column].astype(str)).dt.strftime("%Y-%m")
    counts = months.value_counts()
    latest = pd.Period(months.max(), "M")
    expected = [str(latest - k) for k in range(11, -1, -1)]
    expected = [m for m in expected if m >= months.min()]
    assert [w["label"] for w in record["windows"]] == expected
    assert [w["labelled"] for w in record["windows"]] == [int(counts.get(m, 0)) for m in expected]
    assert record["rows"]["before"] == int(counts[counts.index < expected[0]].sum())
    judged = [w for w in record["windows"] if w["status"] == "judged"]
    assert judged and record["verdict"] in ("decayed", "holding")
    assert record["judged_window"] == judged[-1]["label"]
    for window in judged:
        assert window["metrics"][0]["metric"] == params.train.primary_metric
        assert {m["metric"] for m in window["metrics"]} == set(params.metrics)
        for m in window["metrics"]:
            if m["value"] is not None:
                assert m["low"] <= m["value"] <= m["high"] and m["reviewed"] is not None
    markdown = quality.render(record)
    assert set(table_rows(markdown)) >= set(expected)
    assert "```mermaid" in markdown


# -- Evidently's quality page (drift.html) ------------------------------------------------------


@pytest.mark.parametrize("flip", [0.0, 0.6], ids=["as reviewed", "outcomes flipped"])
def test_evidentlys_page_tests_the_primary_metric_at_the_gates_level(params, scored, flip):
    """Evidently's one test is the gate's: it passes on rows scoring the reviewed value, and fails
    once outcomes flipped; the summary says which, and what it tested."""
    info = scored[2]
    change = (lambda y: flipped(y, info, flip)) if flip else None
    frame, preds = windows_of(params, scored, {"2010-11": change})
    record = quality.score_windows(tuned(params, tolerance=0.01), frame, preds, info, scored[3])
    (window,) = record["windows"]
    html, passed = quality_report.page(record, frame[info.target], preds, info)
    assert passed is (not flip) and "<html" in html.lower()
    line = quality_report.described(record, window, passed)
    sign = "≥" if evaluation.direction(params.train.primary_metric) > 0 else "≤"
    assert f"its one test, {primary_label(params)} {sign} " in line
    assert ("passed" if passed else "failed") + " (the verdict above reads the whole interval)" in line


def test_a_window_with_no_positive_prediction_still_makes_an_evidently_page(params, scored):
    """Precision is undefined when the model predicts no positive (as a model trained on an earlier
    period may): scikit-learn warns inside Evidently, and the page still comes (warnings fail here)."""
    _, preds, info, reviewed = scored
    if not info.classes:
        pytest.skip("classification only")
    negative = next(c for c in info.classes if c != info.positive_class)
    columns = dict(zip(info.classes, evaluation.proba_columns(info.classes), strict=True))
    scores = {columns[info.positive_class]: 0.01, columns[negative]: 0.99}
    never_positive = preds.assign(prediction=negative, **scores)
    frame, _ = windows_of(params, scored, {"2010-11": None})
    record = quality.score_windows(tuned(params), frame, never_positive, info, reviewed)
    html, passed = quality_report.page(record, frame[info.target], never_positive, info)
    assert "<html" in html.lower() and passed in {True, False}


def test_one_class_in_the_window_makes_no_evidently_page(params, scored):
    """Evidently's ROC AUC fails on one class: no page, and no crash (the table says what is undefined)."""
    holdout, preds, info, reviewed = scored
    if not info.classes:
        pytest.skip("classification only")
    keep = (holdout[info.target] != info.positive_class).to_numpy()
    frame = holdout[keep].reset_index(drop=True).assign(**{params.data.time_column: "2010-11"})
    kept = preds[keep].reset_index(drop=True)
    few = tuned(params, min_rows=10)  # and judged on accuracy, defined on one class: the window is judged
    judged_on_accuracy = few.model_copy(
        update={"train": few.train.model_copy(update={"primary_metric": "accuracy"})}
    )
    record = quality.score_windows(judged_on_accuracy, frame, kept, info, reviewed)
    assert record["judged_window"] == "2010-11"
    assert drift.evidently_quality(record, frame, kept, info, params.data.time_column) is None
    assert record["report"] is None


def test_the_pages_of_drift_html_are_one_file_each_page_intact():
    pages = [
        ("Data drift", '<html><p title="a&b">"drift"</p></html>'),
        ("Model quality in 2010-11", "<html>q</html>"),
    ]
    combined = quality_report.combined(pages)
    assert combined.count("<iframe") == 2 and '<h2 id="page-1">Model quality in 2010-11</h2>' in combined
    assert 'srcdoc="&lt;html&gt;&lt;p title=&quot;a&amp;b&quot;&gt;&quot;drift&quot;' in combined
    assert quality_report.combined(pages[:1]) == pages[0][1]  # one page: Evidently's file as it is
