"""The shadow judged on live traffic: the champion's and the shadow's logged predictions for the same
requests, scored on the rows whose outcome came back, with the review's own statistics.

Both models predicted every logged request (service.py, shadow.py), so this is the review's paired
design on live rows: the metric catalogue in params, `bootstrap.paired_bootstrap`, and the gate's rule
and words (`comparison.verdict`: better, no significant change, worse), over all the labelled rows of
the deployment (the latest champion and shadow pair in the log) and per `monitor` window. Fewer than
`gate.min_rows` labelled rows is "too few labels", with an estimate of the rows still needed: the
interval narrows as one over the square root of the rows, so the one seen so far says how many rows
would make the current difference decisive. Entry points: `compare` (the JSON-ready record) and
`render` (its Markdown section).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from . import bootstrap, charts, comparison, evaluation, prediction_log, quality, reports
from .errors import DataError, ProjectError
from .pr_comment import number
from .records import MetricDiff, ModelInfo
from .settings import Params
from .shadow import PREFIX, TAG_COLUMN

TOO_FEW: Final = "too few labels"
ICONS = {
    comparison.BETTER: "✅",
    comparison.SAME: "➖",
    comparison.WORSE: "❌",
    TOO_FEW: "⏸️",
    comparison.NOT_COMPARABLE: "⚠️",
}  # the review's
OUTPUT_KEYS = {**comparison.OUTPUT_KEYS, TOO_FEW: "too-few"}
LEGEND = "Grey line: champion (answering) · blue line: shadow"


def compare(params: Params, rows: pd.DataFrame, info: ModelInfo, time_column: str) -> dict[str, Any] | None:
    """The online comparison of the deployment's champion and shadow on `rows` (the prediction log's,
    outcomes in the target column where known); None when no row carries a shadow's prediction."""
    if TAG_COLUMN not in rows.columns or rows[TAG_COLUMN].isna().all():
        return None
    pair = latest_pair(rows, time_column)
    ours = rows[(rows[prediction_log.MODEL_COLUMN] == pair[0]) & (rows[TAG_COLUMN] == pair[1])]
    missing = [c for c in logged_columns(info) if c not in ours.columns]
    if missing:  # nothing can be paired: every labelled row is unusable
        labelled = int(ours[info.target].notna().sum()) if info.target in ours.columns else 0
        y, champion, shadow, unusable = pd.Series(dtype=object), pd.DataFrame(), pd.DataFrame(), labelled
    else:
        y, champion, shadow, unusable = paired_rows(ours, info)
    names = [params.train.primary_metric, *(m for m in params.metrics if m != params.train.primary_metric)]
    gate = params.gate
    record: dict[str, Any] = {
        "champion": pair[0],
        "shadow": pair[1],
        "primary_metric": names[0],
        "direction": {m: evaluation.direction(m) for m in names},
        "gate": {
            "min_rows": gate.min_rows,
            "confidence": gate.confidence,
            "resamples": gate.resamples,
            "seed": gate.seed,
            "tolerance": gate.tolerance,
            "allowed_loss": None,
        },
        "rows": {"logged": len(ours), "labelled": len(y), "unusable": unusable},
        "span": span(ours.loc[y.index, time_column]) if len(y) else None,
        "metrics": [],
        "windows": [],
        "charts": [],
        "verdict": TOO_FEW,
        "needed": max(0, gate.min_rows - len(y)),
        "missing_columns": missing,
    }
    if missing:  # fails closed: no verdict, so nothing is promoted or reported worse
        record["verdict"], record["needed"] = comparison.NOT_COMPARABLE, None
    elif len(y) >= 2:
        diffs = paired(params, names, y, champion, shadow, info)
        before = diffs[0]["champion"]
        allowed = None if before is None else gate.allowed_loss(before)
        record["gate"]["allowed_loss"] = allowed
        record["metrics"] = diffs
        direction = evaluation.direction(names[0])
        if len(y) >= gate.min_rows:
            record["verdict"] = comparison.verdict(diffs[0], direction, allowed or 0.0)
        if record["verdict"] in {TOO_FEW, comparison.SAME}:
            total = rows_needed(diffs[0], direction, allowed or 0.0, len(y))
            record["needed"] = None if total is None else max(total, gate.min_rows) - len(y)
        sides = {"champion": champion, "challenger": shadow}
        record["charts"] = charts.review_charts(y, sides, info.classes, info.positive_class)
    record["windows"] = windows(params, names, ours.loc[y.index, time_column], y, champion, shadow, info)
    record["sentence"] = sentence(record)
    return record


def latest_pair(rows: pd.DataFrame, time_column: str) -> tuple[str, str]:
    """The champion and shadow of the newest row with a shadow: the deployment as it is now."""
    newest = prediction_log.newest(rows, time_column, TAG_COLUMN)
    if newest is None:
        raise DataError(
            f"no row with a shadow's prediction has a {time_column} time: which pair is deployed now?"
        )
    return str(newest[prediction_log.MODEL_COLUMN]), str(newest[TAG_COLUMN])


def logged_columns(info: ModelInfo) -> list[str]:
    """The log columns the comparison reads: both models' predictions (and probabilities of each of
    main's model's classes)."""
    columns = prediction_log.answer_columns(info.classes)
    return [*columns, *(PREFIX + c for c in columns)]


def paired_rows(rows: pd.DataFrame, info: ModelInfo) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, int]:
    """(outcomes, the champion's and the shadow's prediction tables) on the labelled rows both
    predicted, and how many labelled rows could not be used (no shadow prediction, an outcome or
    prediction outside the classes)."""
    labelled = rows[rows[info.target].notna()]
    both = labelled[labelled[f"{PREFIX}prediction"].notna()]
    y = prediction_log.as_classes(both[info.target], info.classes)
    champion = prediction_log.answers(both, info.classes)
    shadow = prediction_log.answers(both, info.classes, PREFIX)
    usable = y.notna() & champion["prediction"].notna() & shadow["prediction"].notna()
    return y[usable], champion[usable], shadow[usable], len(labelled) - int(usable.sum())


def paired(
    params: Params,
    names: list[str],
    y: pd.Series,
    champion: pd.DataFrame,
    shadow: pd.DataFrame,
    info: ModelInfo,
) -> list[MetricDiff]:
    return bootstrap.paired_bootstrap(
        y, champion, shadow, names, info.classes, info.positive_class, **params.gate.bootstrap_args()
    )


def rows_needed(diff: MetricDiff, direction: int, tolerance: float, rows: int) -> int | None:
    """Labelled rows in all for the interval to be decisive if the difference stays as it is (better:
    wholly above 0; worse: wholly below the tolerance); None when it cannot be at this difference."""
    if diff["delta"] is None or diff["low"] is None or diff["high"] is None:
        return None
    low, high = sorted((direction * diff["low"], direction * diff["high"]))
    delta, half = direction * diff["delta"], (high - low) / 2
    margin = delta if delta > 0 else -delta - tolerance
    if margin <= 0 or half <= 0:
        return None
    return math.ceil(rows * (half / margin) ** 2)


def span(times: pd.Series) -> dict[str, str]:
    parsed = pd.to_datetime(times, utc=True)
    return {"first": str(parsed.min().date()), "last": str(parsed.max().date())}


def windows(
    params: Params,
    names: list[str],
    times: pd.Series,
    y: pd.Series,
    champion: pd.DataFrame,
    shadow: pd.DataFrame,
    info: ModelInfo,
) -> list[dict[str, Any]]:
    """The comparison per `monitor` window (by the log's time), judged from `monitor.min_rows` rows."""
    if y.empty:
        return []
    days = pd.to_datetime(times, utc=True).dt.tz_localize(None).to_numpy()
    timed = ~np.isnat(days)
    starts, index = quality.window_index(days, timed, params.monitor.window, params.monitor.windows)
    found = []
    for k, start in enumerate(starts):
        rows = np.flatnonzero(index == k)
        window: dict[str, Any] = {
            "label": quality.window_label(start, params.monitor.window),
            "labelled": len(rows),
            "verdict": TOO_FEW,
            "metrics": [],
        }
        if len(rows) >= params.monitor.min_rows:
            diffs = paired(params, names, y.iloc[rows], champion.iloc[rows], shadow.iloc[rows], info)
            before = diffs[0]["champion"]
            allowed = None if before is None else params.gate.allowed_loss(before)
            window["metrics"] = diffs
            window["verdict"] = comparison.verdict(diffs[0], evaluation.direction(names[0]), allowed or 0.0)
        found.append(window)
    first = int(index[timed].min()) if timed.any() else 0
    return found[max(0, first) :]  # before the first row: not a period without data


def sentence(record: dict[str, Any]) -> str:
    """The verdict in one sentence with its numbers, as the review words it."""
    if record["verdict"] == comparison.NOT_COMPARABLE:
        return (
            f"Not comparable: the prediction log has no {', '.join(record['missing_columns'])} column(s) "
            "for this champion and shadow (their classes differ from main's model's), so neither is judged."
        )
    rows, level = record["rows"]["labelled"], f"{record['gate']['confidence']:.0%}"
    label = evaluation.metric_label(record["primary_metric"])
    needed = record["needed"]
    more = f"about {needed:,} more labelled rows" if needed else "more labelled rows"
    if not record["metrics"]:
        return f"{rows:,} labelled rows so far: the comparison needs {more} (`gate.min_rows`)."
    d = record["metrics"][0]
    shown = f"{label}: shadow − champion = {number(d['delta'], True)}"
    interval = f"{level} interval [{number(d['low'], True)}, {number(d['high'], True)}]"
    said = f"{shown} ({interval}) on {rows:,} labelled live rows"
    if record["verdict"] == TOO_FEW:
        return f"{said}: too few to judge (`gate.min_rows` is {record['gate']['min_rows']:,}); {more} needed."
    if record["verdict"] == comparison.SAME:
        settle = f"; if the difference holds, {more} would settle it" if needed else ""
        return f"{said}: no significant change{settle}."
    if record["verdict"] == comparison.BETTER:
        return f"{said}: the shadow is better, with {level} confidence."
    return f"{said}: the shadow is worse by more than the gate's tolerance, with {level} confidence."


def render(record: dict[str, Any]) -> str:
    """The comparison's Markdown section: verdict, the review's table, Δ plot and curves, windows."""
    from .pr_comment import metric_rows

    rows = metric_rows(record, record["metrics"]) if record["metrics"] else []  # type: ignore[arg-type]
    plot = None
    if record["metrics"]:
        plotted = [
            {
                **d,
                "label": evaluation.metric_label(d["metric"]),
                "direction": record["direction"][d["metric"]],
            }
            for d in record["metrics"]
        ]
        plotted[0]["tolerance"] = record["gate"]["allowed_loss"]
        plot = charts.interval_plot(plotted)
    return reports.render(
        "online.md.j2",
        r=record,
        icon=ICONS[record["verdict"]],
        rows=rows,
        plot=plot,
        legend=LEGEND,
        level=f"{record['gate']['confidence']:.0%}",
        window_rows=[
            {
                "label": w["label"],
                "labelled": w["labelled"],
                "verdict": w["verdict"],
                "cells": metric_rows(record, w["metrics"])[0] if w["metrics"] else None,  # type: ignore[arg-type]
            }
            for w in record["windows"]
        ],
    )


# -- what the scheduled check hands to the jobs that write -------------------------------------

PROMOTION_DIR = "promote"  # under the report folder: params.yaml as the promotion PR changes it
PROMOTION_BODY, ISSUE_BODY = "promote-pr.md", "shadow-issue.md"


def hand_over(record: dict[str, Any], params_path: Path, out: Path, main_model: str) -> str:
    """The files the workflow's writing jobs use, by verdict, and what they mean in one line.

    better: params.yaml with `serving.champion_release: null` and the promotion PR's body; worse:
    the issue's body. Only when the shadow judged is `main_model` (main's model's tag, which names
    its training): a model merged since is released as the new shadow and judged afresh on its own
    rows, so a verdict on the one it replaces promotes or reports nothing."""
    from .settings import load_params

    for stale in (out / PROMOTION_DIR / "params.yaml", out / PROMOTION_BODY, out / ISSUE_BODY):
        stale.unlink(missing_ok=True)  # a report folder holds this run's hand-over only
    verdict = record["verdict"]
    if verdict in {comparison.BETTER, comparison.WORSE} and record["shadow"] != main_model:
        return (
            f"the shadow judged ({record['shadow']}) is no longer main's model ({main_model}): main's is "
            "judged on its own rows once released as the shadow, so nothing is promoted or reported"
        )
    if verdict == comparison.WORSE:
        write(out / ISSUE_BODY, reports.render("shadow-issue.md.j2", r=record, section=render(record)))
        return f"the shadow is worse: {out / ISSUE_BODY} is the issue's body"
    if verdict != comparison.BETTER:
        return ""
    if load_params(params_path).serving.champion_release is None:
        return (
            "the shadow is better, and main names no champion release (serving.champion_release is "
            "null): main's model already answers alone once released"
        )
    promoted = out / PROMOTION_DIR / "params.yaml"
    write(promoted, without_champion_release(params_path))
    write(out / PROMOTION_BODY, reports.render("promote-pr.md.j2", r=record, section=render(record)))
    return f"the shadow is better: {promoted} and {out / PROMOTION_BODY} make the promotion pull request"


RELEASE_LINE = re.compile(r"^(\s*champion_release:[ \t]*)(['\"]?)model-[0-9-]+-[0-9a-f]{7}\2", re.MULTILINE)


def without_champion_release(params_path: Path) -> str:
    """params.yaml as written, with its one `champion_release: <tag>` line set to null: a text edit,
    so the pull request's diff is that line (a YAML round trip would restyle the file)."""
    from .settings import parse_yaml

    text = params_path.read_text(encoding="utf-8")
    promoted, count = RELEASE_LINE.subn(r"\1null", text)
    if count != 1 or (parse_yaml(promoted, str(params_path)).get("serving") or {}).get("champion_release"):
        raise ProjectError(
            f"{params_path}: found no single `champion_release: <release tag>` line to set to null"
        )
    return promoted


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
