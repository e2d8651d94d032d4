"""Model quality over time: the deployed model scored per time window on its labelled rows.

The scheduled check hands over the current rows (a time column and the target where the outcome is
known), the deployed model's predictions for the same rows (the catalogue's prediction table) and
the holdout values the model was reviewed at (its metrics.json). Each of the last `monitor.windows`
calendar windows (day, ISO week from Monday, or month, in UTC) is scored on its labelled rows with
every metric in params, each with the review's own bootstrap interval (`bootstrap.absolute_bootstrap`,
seeded from `gate`), and compared with the reviewed value.

The verdict is on the latest window that can be judged (at least `monitor.min_rows` labelled rows,
and the primary metric defined): **decayed** when the primary metric's whole interval is worse than
the reviewed value by more than the gate's tolerance (the gate's own rule, `comparison.verdict`;
a relative tolerance is relative to the reviewed value), else **holding**; "too few labels" when no
window can be judged, "no labels" when no scored row has an outcome. Entry points: `score_windows`
(the JSON-ready record) and `render` (its Markdown section).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import pandas as pd

from . import bootstrap, charts, dates, evaluation
from .errors import DataError
from .records import (
    Chart,
    MetricDiff,
    ModelInfo,
    QualityMetric,
    QualityRecord,
    QualityWindow,
    Series,
    Values,
)
from .settings import Params

DECAYED: Final = "decayed"
HOLDING: Final = "holding"
TOO_FEW: Final = "too few labels"
NO_LABELS: Final = "no labels"
ICONS = {DECAYED: "📉", HOLDING: "✅", TOO_FEW: "⏸️", NO_LABELS: "⏸️"}
WINDOW_WORDS = {"day": "calendar days", "week": "ISO weeks (Monday to Sunday)", "month": "calendar months"}
# Chart ticks, most informative first: the first that are distinct and fit under the chart are used.
TICK_FORMATS = {
    "day": ("%Y-%m-%d", "%m-%d"),
    "week": ("%Y-%m-%d", "%m-%d"),
    "month": ("%Y-%m", "%b %y", "%b"),
}
MIN_CHART_WINDOWS = 2  # a line needs two points


def score_windows(
    params: Params,
    frame: pd.DataFrame,
    predictions: pd.DataFrame,
    info: ModelInfo,
    reviewed: Values,
    time_column: str | None = None,
) -> QualityRecord:
    """The quality record of the last `monitor.windows` windows.

    `frame`: the current rows, with `time_column` (default `data.time_column`; the prediction log's is
    `logged_at`) and the target (`info.target`; NaN or None where the outcome is not known yet, and
    the column may be absent). `predictions`: the deployed model's prediction table for the same rows
    in the same order (`prediction`, and `proba_<class>` for classifiers). `reviewed`: the model's
    reviewed holdout metrics (metrics.json's `holdout.metrics`).
    """
    column = time_column or params.data.time_column
    if column is None:
        raise DataError("model quality needs a time column: set data.time_column in params.yaml")
    if column not in frame.columns:
        raise DataError(f"the current rows have no time column {column!r} (columns: {list(frame.columns)})")
    if len(predictions) != len(frame):
        raise ValueError(f"need one prediction per current row, got {len(predictions)} for {len(frame)}")
    monitor, gate = params.monitor, params.gate
    names = [params.train.primary_metric, *(m for m in params.metrics if m != params.train.primary_metric)]
    primary = names[0]
    before = reviewed.get(primary)
    allowed = None if before is None else gate.allowed_loss(before)

    days = dates.utc_times(frame[column], column)
    timed = ~np.isnat(days)
    windows, older = [], 0
    if timed.any():
        starts, index = window_index(days, timed, monitor.window, monitor.windows)
        older = int((timed & (index < 0)).sum())
        has_target = info.target in frame.columns
        y = frame[info.target].to_numpy() if has_target else np.full(len(frame), None)
        labelled = frame[info.target].notna().to_numpy() if has_target else np.zeros(len(frame), bool)
        in_window = np.where(timed, index, -1)  # rows without a time, or older: in no window
        order = np.argsort(in_window, kind="stable")  # each window's rows, in their original order
        bounds = np.searchsorted(in_window[order], np.arange(len(starts) + 1))
        for k, start in enumerate(starts):
            rows = order[bounds[k] : bounds[k + 1]]
            known = rows[labelled[rows]]
            window = new_window(start, monitor.window, len(known), len(rows) - len(known))
            if len(known) >= monitor.min_rows:
                window["metrics"] = window_metrics(
                    params, names, y[known], predictions.iloc[known], info, reviewed, allowed
                )
                window["status"], window["reason"] = judgement(window["metrics"][0])
                window["missing_classes"] = [c for c in info.classes if not (y[known] == c).any()]
            else:
                window["reason"] = (
                    f"{len(known):,} labelled rows, fewer than `monitor.min_rows` ({monitor.min_rows:,})"
                )
            windows.append(window)
        del windows[: max(0, int(index[timed].min()))]  # before the first row: not a period without data

    record: QualityRecord = {
        "verdict": NO_LABELS,
        "sentence": "",
        "judged_window": None,
        "primary_metric": primary,
        "direction": {m: evaluation.direction(m) for m in names},
        "reviewed": {m: reviewed.get(m) for m in names},
        "window": monitor.window,
        "time_column": column,
        "target": info.target,
        "model": None,
        "scored": None,
        "min_rows": monitor.min_rows,
        "gate": {
            "tolerance": gate.tolerance,
            "allowed_loss": allowed,
            "confidence": gate.confidence,
            "resamples": gate.resamples,
            "seed": gate.seed,
        },
        "rows": {
            "current": len(frame),
            "labelled": sum(w["labelled"] for w in windows),
            "unlabelled": sum(w["unlabelled"] for w in windows),
            "before": older,
            "no_time": int((~timed).sum()),
            "left_out": {},
        },
        "windows": windows,
        "chart": None,
        "report": None,
    }
    judged = [w for w in windows if w["status"] == "judged"]
    if judged:
        latest = judged[-1]
        record["verdict"] = DECAYED if latest["metrics"][0]["worse"] else HOLDING
        record["judged_window"] = latest["label"]
    elif record["rows"]["labelled"]:
        record["verdict"] = TOO_FEW
    record["sentence"] = sentence(record)
    record["chart"] = quality_chart(record)
    return record


# -- windows ----------------------------------------------------------------------------------


def in_window(frame: pd.DataFrame, time_column: str, window: QualityWindow) -> np.ndarray:
    """Which rows of `frame` fall in `window` (by `time_column`, as the windows were made)."""
    days = dates.utc_times(frame[time_column], time_column).astype("datetime64[D]")
    return (days >= np.datetime64(window["start"])) & (days <= np.datetime64(window["end"]))


def window_index(
    times: np.ndarray, timed: np.ndarray, window: str, count: int
) -> tuple[list[np.datetime64], np.ndarray]:
    """The first days of the last `count` windows ending at the latest row's window, and each row's
    window number among them (negative: older, not scored; rows without a time get -1)."""
    days = times.astype("datetime64[D]")
    if window == "month":
        unit = days.astype("datetime64[M]").astype(np.int64)
        step = 1
    else:
        unit = days.astype(np.int64)  # days since 1970-01-01, a Thursday
        if window == "week":
            unit = unit - (unit + 3) % 7  # back to the Monday
        step = 7 if window == "week" else 1
    last = unit[timed].max()
    index = np.where(timed, (unit - last) // step + count - 1, -1)
    firsts = [last - step * (count - 1 - k) for k in range(count)]
    if window == "month":
        return [np.datetime64(int(f), "M").astype("datetime64[D]") for f in firsts], index
    return [np.datetime64(int(f), "D") for f in firsts], index


def new_window(start: np.datetime64, window: str, labelled: int, unlabelled: int) -> QualityWindow:
    """A window with its counts, not scored yet."""
    return {
        "label": window_label(start, window),
        "start": str(start),
        "end": str(window_end(start, window)),
        "labelled": labelled,
        "unlabelled": unlabelled,
        "status": TOO_FEW,
        "reason": None,
        "metrics": [],
        "missing_classes": [],
    }


def window_end(start: np.datetime64, window: str) -> np.datetime64:
    """The window's last day."""
    if window == "month":
        return (start.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1
    return start + (6 if window == "week" else 0)


def window_label(start: np.datetime64, window: str) -> str:
    """'2010-09' (a month), '2010-09-06 – 2010-09-12' (a week), '2010-09-06' (a day)."""
    if window == "month":
        return str(start.astype("datetime64[M]"))
    if window == "week":
        return f"{start} – {window_end(start, window)}"
    return str(start)


# -- metrics per window -----------------------------------------------------------------------


def window_metrics(
    params: Params,
    names: list[str],
    y: np.ndarray,
    preds: pd.DataFrame,
    info: ModelInfo,
    reviewed: Values,
    allowed: float | None,
) -> list[QualityMetric]:
    """Every metric on one window's labelled rows with its interval, against the reviewed value."""
    found = bootstrap.absolute_bootstrap(
        y, preds, names, info.classes, info.positive_class, **params.gate.bootstrap_args()
    )
    scored = []
    for name in names:
        value, low, high = found[name]
        before = reviewed.get(name)
        tolerance = (allowed or 0.0) if name == names[0] else 0.0
        scored.append(
            QualityMetric(
                metric=name,
                value=value,
                low=low,
                high=high,
                reviewed=before,
                delta=None if value is None or before is None else value - before,
                worse=worse(name, low, high, before, tolerance),
                undefined=None if value is not None else why_undefined(name, y, info),
            )
        )
    return scored


def worse(
    metric: str, low: float | None, high: float | None, reviewed: float | None, tolerance: float
) -> bool:
    """The gate's rule (comparison.verdict): the whole interval worse than `reviewed` by more than
    `tolerance`, the interval read as one of the difference window - reviewed."""
    from .comparison import WORSE, verdict

    if low is None or high is None or reviewed is None:
        return False
    diff = MetricDiff(
        metric=metric,
        champion=reviewed,
        challenger=None,
        delta=None,
        low=low - reviewed,
        high=high - reviewed,
        undefined_share=0.0,
    )
    return verdict(diff, evaluation.direction(metric), tolerance) == WORSE


def why_undefined(metric: str, y: np.ndarray, info: ModelInfo) -> str:
    """Why the catalogue has no value for `metric` on these rows, in words."""
    label = evaluation.metric_label(metric)
    if info.classes:
        present = [c for c in info.classes if (y == c).any()]
        if len(present) < len(info.classes):
            needs = "both classes" if len(info.classes) == 2 else "every class"
            missing = ", ".join(str(c) for c in info.classes if c not in present)
            return f"{label} needs {needs}; no labelled row here is {missing}"
    elif len(y) and np.all(y == y[0]):
        return f"{label} needs a target that varies; every labelled row here has {y[0]}"
    return f"{label} is undefined on these rows"


def judgement(primary: QualityMetric) -> tuple[Literal["judged", "not judged"], str | None]:
    label = evaluation.metric_label(primary["metric"])
    if primary["value"] is None or primary["low"] is None or primary["high"] is None:
        return "not judged", primary["undefined"] or f"{label} has no interval on these rows"
    if primary["reviewed"] is None:
        return "not judged", f"the model's metrics.json records no reviewed {label}"
    return "judged", None


# -- words ------------------------------------------------------------------------------------


def decimals(reference: float | None) -> int:
    """Decimals for three significant digits of `reference` (a metric's reviewed value): 0.733, 35.0."""
    if not reference:
        return 3
    return max(0, 2 - int(np.floor(np.log10(abs(reference)))))


def number(value: float | None, places: int, sign: bool = False) -> str:
    """`value` with `places` decimals and a true minus sign: 0.733, −0.090, +27.9."""
    if value is None:
        return "undefined"
    text = f"{value:+.{places}f}" if sign else f"{value:.{places}f}"
    if float(text) == 0:
        text = text.replace("-", "").replace("+", "")  # never −0.000
    return text.replace("-", "−")


def level(record: QualityRecord) -> str:
    return f"{record['gate']['confidence']:.0%}"


def tolerance_text(record: QualityRecord) -> str:
    """The gate's tolerance as it was applied: in the metric's units, or relative to the reviewed value."""
    gate = record["gate"]
    if isinstance(gate["tolerance"], str) and gate["allowed_loss"] is not None:
        return f"{gate['tolerance']} of the reviewed value ({gate['allowed_loss']:.3g})"
    return f"{gate['tolerance']:g}" if isinstance(gate["tolerance"], float | int) else str(gate["tolerance"])


def windows_words(record: QualityRecord) -> str:
    count = len(record["windows"])
    return f"the last {count} {record['window']}s" if count != 1 else f"the last {record['window']}"


def evidence(record: QualityRecord) -> str:
    """The judged window's primary metric, its interval and rows, against the reviewed value."""
    primary = record["primary_metric"]
    window = next(w for w in record["windows"] if w["label"] == record["judged_window"])
    m = window["metrics"][0]
    places = decimals(m["reviewed"])
    said = (
        f"{evaluation.metric_label(primary)} in {window['label']} is {number(m['value'], places)} "
        f"({level(record)} interval {number(m['low'], places)}–{number(m['high'], places)}, "
        f"{window['labelled']:,} labelled rows)"
    )
    reviewed = number(m["reviewed"], places)
    if record["verdict"] == DECAYED:
        side = "below" if record["direction"][primary] > 0 else "above"
        return f"{said}, {side} the reviewed {reviewed} by more than the tolerance {tolerance_text(record)}"
    return (
        f"{said}, against the reviewed {reviewed}: not worse by more than the tolerance "
        f"{tolerance_text(record)} with {level(record)} confidence"
    )


def sentence(record: QualityRecord) -> str:
    """The verdict in one sentence, with its numbers."""
    if record["verdict"] == DECAYED:
        return f"{evidence(record)}: the model has decayed."
    if record["verdict"] == HOLDING:
        return f"{evidence(record)}, so the model is holding."
    if record["verdict"] == NO_LABELS:
        if not record["windows"]:
            return "There are no current rows with a time yet, so the model's quality cannot be scored."
        rows = record["rows"]["unlabelled"]
        return (
            f"None of the {rows:,} rows of {windows_words(record)} (by `{record['time_column']}`) has a "
            "known outcome yet, so the model's quality cannot be scored."
        )
    with_labels = [w for w in record["windows"] if w["labelled"]]
    unjudged = [w for w in with_labels if w["status"] == "not judged"]
    if unjudged:
        latest = unjudged[-1]
        return f"No window can be judged: in {latest['label']}, {latest['reason']}."
    most = max(with_labels, key=lambda w: w["labelled"])
    return (
        f"No window can be judged: none of {windows_words(record)} has `monitor.min_rows` "
        f"({record['min_rows']:,}) labelled rows (the most: {most['labelled']:,}, in {most['label']})."
    )


# -- the chart and the Markdown ---------------------------------------------------------------


def quality_chart(record: QualityRecord) -> Chart | None:
    """The primary metric per window with its interval (two light lines) and the reviewed level (a
    grey line): windows with a value only (a line cannot skip one), as many as have readable ticks."""
    points = [
        (w, w["metrics"][0])
        for w in record["windows"]
        if w["metrics"]
        and None not in (w["metrics"][0]["value"], w["metrics"][0]["low"], w["metrics"][0]["high"])
    ]
    primary = record["primary_metric"]
    reviewed = record["reviewed"][primary]
    starts = [pd.Timestamp(w["start"]) for w, _ in points]
    shown, ticks = chart_ticks(starts, record["window"])
    if shown < MIN_CHART_WINDOWS:
        return None
    points = points[-shown:]
    lines: list[Series] = [
        charts.series("low", [m["low"] for _, m in points]),  # type: ignore[misc]
        charts.series("high", [m["high"] for _, m in points]),  # type: ignore[misc]
    ]
    if reviewed is not None:
        lines.append(charts.series("reviewed", [reviewed] * len(points)))
    lines.append(charts.series("value", [m["value"] for _, m in points]))  # type: ignore[misc]
    label = evaluation.metric_label(primary)
    span = f"{points[0][0]['label'].split(' ')[0]} to {points[-1][0]['label'].split(' ')[-1]}"
    return charts.chart(
        f"{label} per {record['window']}",
        {"label": f"{record['window']}, {span} (UTC)", "ticks": ticks},
        {"label": f"{label}, {level(record)} interval", "range": charts.value_range(lines)},
        lines,
    )


def chart_ticks(starts: Sequence[pd.Timestamp], window: str) -> tuple[int, list[str]]:
    """How many of the latest windows the chart shows, and their ticks: all of them when some format
    gives distinct ticks that fit, else fewer."""
    for count in range(len(starts), 0, -1):
        for fmt in TICK_FORMATS[window]:
            ticks = [s.strftime(fmt) for s in starts[-count:]]
            if len(set(ticks)) == len(ticks) and charts.fits(ticks):
                return count, ticks
    return 0, []


def legend(record: QualityRecord) -> str:
    label = evaluation.metric_label(record["primary_metric"])
    shown = len(record["chart"]["x"].get("ticks", [])) if record["chart"] else 0
    valued = sum(1 for w in record["windows"] if w["metrics"] and w["metrics"][0]["value"] is not None)
    which = f" (the latest {shown} of the {valued} windows with a value)" if shown < valued else ""
    return (
        f"Blue line: {label} per {record['window']}{which} · light blue lines: its {level(record)} "
        "interval · grey line: the reviewed holdout value"
    )


def cell(metric: QualityMetric, places: int) -> str:
    """A table cell: the value (▼ when worse) over its interval and Δ, in small type."""
    if metric["value"] is None:
        return "undefined"
    mark = " ▼" if metric["worse"] else ""
    lines = [f"{number(metric['value'], places)}{mark}"]
    lines.append(f"<sub>{number(metric['low'], places)}–{number(metric['high'], places)}</sub>")
    if metric["delta"] is not None:
        lines.append(f"<sub>Δ {number(metric['delta'], places, sign=True)}</sub>")
    return "<br>".join(lines)


STATUS_WORDS = {"judged": "", TOO_FEW: "too few labels", "not judged": "not judged"}


def render(record: QualityRecord) -> str:
    """The record's Markdown section: verdict, chart, every metric per window, the counts."""
    from . import reports

    names = list(record["direction"])
    places = {m: decimals(record["reviewed"][m]) for m in names}
    rows, notes = [], []
    for w in record["windows"]:
        status = record["verdict"] if w["label"] == record["judged_window"] else STATUS_WORDS[w["status"]]
        name = f"**{w['label']}**" if w["label"] == record["judged_window"] else w["label"]
        cells = [cell(m, places[m["metric"]]) for m in w["metrics"]] or ["—"] * len(names)
        rows.append([name + (f"<br><sub>{status}</sub>" if status else ""), f"{w['labelled']:,}",
                     f"{w['unlabelled']:,}", *cells])  # fmt: skip
        notes += [f"{w['label']}: {m['undefined']}" for m in w["metrics"] if m["undefined"]]
        if w["missing_classes"] and any(evaluation.uses_labels(m["metric"]) for m in w["metrics"]):
            missing = ", ".join(map(str, w["missing_classes"]))
            notes.append(
                f"{w['label']}: no labelled row is {missing}, so metrics of predicted classes count 0/0 as 0 "
                "there (as the review does)"
            )
        if w["status"] == "not judged" and not w["metrics"][0]["undefined"]:
            notes.append(f"{w['label']}: not judged: {w['reason']}")
    primary = record["primary_metric"]
    header = [
        f"**{evaluation.metric_label(m)}**" if m == primary else evaluation.metric_label(m) for m in names
    ]
    return reports.render(
        "quality.md.j2",
        r=record,
        icon=ICONS[record["verdict"]],
        header=header,
        reviewed=[number(record["reviewed"][m], places[m]) for m in names],
        rows=rows,
        notes=notes,
        legend=legend(record),
        level=level(record),
        tolerance=tolerance_text(record),
        primary_label=evaluation.metric_label(primary),
        window_words=WINDOW_WORDS[record["window"]],
    )
