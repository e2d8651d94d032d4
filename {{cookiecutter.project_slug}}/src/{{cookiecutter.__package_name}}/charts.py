"""Charts where reviewers look: the PR comment and the job summaries.

Two kinds, both plain text inside the Markdown, so they need no image host and work in private
repositories:
- Mermaid `xychart-beta` line and bar charts (curves, distributions). GitHub renders Mermaid code
  blocks in comments, Markdown files and job summaries. The chart has no legend, so the Markdown
  above it names the colours (LEGEND).
- An interval plot drawn with box characters, which reads the same in a terminal and a CI log.

The numbers are computed here (from prediction tables and data samples) into small JSON-ready
records that comparison.json and drift.json keep; `mermaid` and `interval_plot` draw them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Literal

import numpy as np
import pandas as pd

from .evaluation import PROBA_PREFIX, proba_columns
from .records import Axis, Chart, Series

GRID = np.linspace(0.0, 1.0, 21)  # where curves are sampled: enough for a smooth line, small in JSON
BINS = 15  # histogram bins (about: see trimmed_edges) and, at most, categories per distribution
# x-axis label characters side by side in a 640 px chart before labels run into each other (15 of 4,
# 12 of 5, 10 of 6: seen in scripts/screenshots); a category name is cut to no fewer than NAME_CHARACTERS.
AXIS_CHARACTERS = 60
NAME_CHARACTERS = 8
UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
MAX_DRIFT_CHARTS = 6
COLORS = {"champion": "#8c959f", "challenger": "#0969da", "ideal": "#d0d7de", "reference": "#8c959f",
          "current": "#cf222e", "reviewed": "#8c959f", "value": "#0969da", "low": "#80ccff",
          "high": "#80ccff"}  # fmt: skip
LEGEND = {
    "review": "Grey line: champion (base) · blue line: challenger (this PR)",
    "review-alone": "Blue line: challenger (this PR)",
    "drift": "Grey bars: training data (reference) · red line: current data",
}


def series(name: str, values: Iterable[float], kind: Literal["line", "bar"] = "line") -> Series:
    return {"name": name, "kind": kind, "values": [round(float(v), 4) for v in values]}


def chart(title: str, x: Axis, y: Axis, lines: list[Series]) -> Chart:
    return {"title": title, "x": x, "y": y, "series": lines}


# -- the review: champion vs challenger on the holdout ---------------------------------------


def review_charts(y: pd.Series, sides: dict[str, pd.DataFrame], classes: list, positive) -> list[Chart]:
    """ROC and precision-recall curves (classification), or predicted vs actual and the residuals."""
    if classes:
        scores = {name: class_scores(y, preds, classes, positive) for name, preds in sides.items()}
        scores = {name: s for name, s in scores.items() if s is not None}
        return [roc_chart(scores, positive, classes), precision_recall_chart(scores)] if scores else []
    actual = y.to_numpy(dtype=float)
    predicted = {name: preds["prediction"].to_numpy(dtype=float) for name, preds in sides.items()}
    return [predicted_vs_actual(actual, predicted), residual_chart(actual, predicted)]


def class_scores(y: pd.Series, preds: pd.DataFrame, classes: list, positive):
    """(is it the class, its probability): the positive class, or every class at once (micro-average).

    None when there is no curve to draw: no probabilities, or only one class in the holdout.
    """
    if len(classes) == 2:
        columns, truth = [f"{PROBA_PREFIX}{positive}"], np.asarray(y == positive)
    else:
        columns = proba_columns(classes)
        truth = (np.asarray(y)[:, None] == np.asarray(classes, dtype=object)[None, :]).ravel()
    if not set(columns) <= set(preds.columns) or y.nunique() < 2:
        return None
    return truth, preds[columns].to_numpy(dtype=float).ravel()


def roc_chart(scores: dict, positive, classes: list) -> Chart:
    from sklearn.metrics import roc_curve

    lines = []
    for name, (truth, score) in scores.items():
        fpr, tpr, _ = roc_curve(truth, score)
        lines.append(series(name, np.interp(GRID, fpr, tpr)))
    which = f"class {positive}" if len(classes) == 2 else "all classes (micro-average)"
    return chart(
        f"ROC curve, {which}",
        {"label": "false positive rate", "range": [0, 1]},
        {"label": "true positive rate", "range": [0, 1]},
        lines,
    )


def precision_recall_chart(scores: dict) -> Chart:
    """Interpolated precision: the best precision at this recall or more (the curve's upper envelope)."""
    from sklearn.metrics import precision_recall_curve

    lines = []
    for name, (truth, score) in scores.items():
        precision, recall, _ = precision_recall_curve(truth, score)
        lines.append(series(name, [precision[recall >= r].max() for r in GRID]))
    return chart(
        "Precision-recall curve",
        {"label": "recall", "range": [0, 1]},
        {"label": "precision", "range": [0, 1]},
        lines,
    )


def predicted_vs_actual(actual: np.ndarray, predicted: dict[str, np.ndarray]) -> Chart:
    """Mean prediction per slice of the holdout sorted by the actual value (twentieths, or fewer when
    their labels would not fit); the ideal line is y = x."""
    order = np.argsort(actual, kind="stable")
    for count in range(min(20, len(actual)), 0, -1):
        groups = np.array_split(order, count)
        means = [actual[g].mean() for g in groups]
        if fits(ticks(means)):
            break
    lines = [series("ideal", means)]
    lines += [series(name, [p[g].mean() for g in groups]) for name, p in predicted.items()]
    return chart(
        "Mean prediction by actual value",
        {"label": f"actual (mean of each of {count} equal slices of the holdout)", "ticks": ticks(means)},
        {"label": "mean prediction", "range": value_range(lines)},
        lines,
    )


def residual_chart(actual: np.ndarray, predicted: dict[str, np.ndarray]) -> Chart:
    residuals = {name: p - actual for name, p in predicted.items()}
    edges = trimmed_edges(np.concatenate(list(residuals.values())))
    lines = [series(name, shares(r, edges)) for name, r in residuals.items()]
    return chart(
        "Residuals (prediction − actual)",
        {"label": "residual (outer 1% on each side in the end bins)", "ticks": centres(edges)},
        {"label": "% of holdout rows", "range": [0, nice_top(lines)]},
        lines,
    )


# -- drift: reference vs current, per drifted feature ------------------------------------------


def distribution(name: str, reference: pd.Series, current: pd.Series, numeric: bool) -> Chart:
    """Share of rows per bin (numbers) or per category: bars for the reference, a line for current."""
    reference, current = reference.dropna(), current.dropna()
    pooled = pd.concat([reference, current])
    if numeric and pooled.nunique() > BINS:
        edges = trimmed_edges(pooled.to_numpy(dtype=float))
        names = centres(edges)
        counts = [shares(side.to_numpy(dtype=float), edges) for side in (reference, current)]
    else:
        categories = category_order(reference, current)
        names = [mermaid_text(c, min(18, AXIS_CHARACTERS // len(categories))) for c in categories]
        counts = [category_shares(side, categories) for side in (reference, current)]
    lines = [series("reference", counts[0], "bar"), series("current", counts[1])]
    return chart(
        f"{mermaid_text(name, 40)}: reference vs current",
        {"label": mermaid_text(name, 40), "ticks": names},
        {"label": "% of rows", "range": [0, nice_top(lines)]},
        lines,
    )


OTHER = "(other)"


def category_order(reference: pd.Series, current: pd.Series) -> list:
    """The most common categories on either side, as many as have readable labels (long names leave
    room for fewer); the rest are summed as '(other)'."""
    share = pd.concat([reference.value_counts(normalize=True), current.value_counts(normalize=True)], axis=1)
    ranked = share.fillna(0).max(axis=1).sort_values(ascending=False, kind="stable").index.tolist()
    longest = max((len(mermaid_text(c)) for c in ranked), default=1)
    room = min(BINS, AXIS_CHARACTERS // min(longest, NAME_CHARACTERS))
    return ranked if len(ranked) <= room else [*ranked[: room - 1], OTHER]


def category_shares(side: pd.Series, categories: list) -> list[float]:
    counts = side.value_counts()
    named = [c for c in categories if c is not OTHER]
    values = [float(counts.get(c, 0)) for c in named]
    if OTHER in categories:
        values.append(float(counts.drop(labels=named, errors="ignore").sum()))
    return [100 * v / max(len(side), 1) for v in values]


# -- helpers ----------------------------------------------------------------------------------


def trimmed_edges(values: np.ndarray) -> np.ndarray:
    """Equal bins over the middle 98% of the values (the outer 1% on each side go to the end bins).

    About BINS (one more when centring adds one), fewer when their labels would not fit; 1, 2 or
    5 × 10^k wide (at least 1 for whole numbers) and centred on multiples of that width, so each
    label is a short round number: 26, 27, 28 or 0, 2k, 4k.
    """
    low, high = np.quantile(values, [0.01, 0.99])
    if high <= low:  # nearly every value is the same: span them all
        low, high = float(np.min(values)), float(np.max(values))
    least = (high - low) / BINS or 0.1
    if np.all(np.mod(values, 1) == 0):  # counts, days, years: no bin between two whole numbers
        least = max(least, 1.0)
    for width in nice_widths(least):
        first = math.floor(low / width + 0.5)  # the bins holding `low` and `high`
        multiples = np.arange(first, max(first, math.ceil(high / width - 0.5)) + 1)
        if len(multiples) <= BINS + 1 and fits([compact(m * width, width) for m in multiples]):
            return (np.append(multiples, multiples[-1] + 1) - 0.5) * width
    raise AssertionError("unreachable: wide enough bins have short labels")


def nice_widths(least: float) -> Iterator[float]:
    """1, 2 and 5 × 10^k, from the first that is at least `least` upwards."""
    power = 10.0 ** math.floor(math.log10(least))
    while True:
        yield from (step * power for step in (1, 2, 5) if step * power >= least)
        power *= 10


def shares(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """% of values per bin; values beyond the edges count in the end bins."""
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    return list(100 * counts / max(len(values), 1))


def centres(edges: np.ndarray) -> list[str]:
    width = edges[1] - edges[0]
    return [compact(c, width) for c in (edges[:-1] + edges[1:]) / 2]


def ticks(values) -> list[str]:
    """Axis labels for uneven values: as precise as the spacing between them needs, and at least two
    significant digits on the largest (9.6k, not 10k)."""
    values = np.asarray(values, dtype=float)
    spacing = (values.max() - values.min()) / max(len(values) - 1, 1)
    if spacing <= 0:
        return [compact(v, 0.01) for v in values]
    largest = np.abs(values).max()
    step = min(10.0 ** math.floor(math.log10(spacing)), 10.0 ** (math.floor(math.log10(largest)) - 1))
    return [compact(v, max(step, 1e-4)) for v in values]


def compact(value: float, step: float) -> str:
    """`value` to the precision of `step`, in as few characters as it takes: 750, 1.5k, 12k, 3.4M.

    Ties go to the suffix (1.2k rather than 1200); a value of 1001 stays 1001.
    """
    texts = [plain(value, step)]
    texts += [plain(value / unit, step / unit) + suffix for unit, suffix in UNITS if abs(value) >= unit]
    return min(reversed(texts), key=len)


def plain(value: float, step: float) -> str:
    """`value` with the decimals `step` needs, without trailing zeros and never "-0"."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    text = f"{round(value, decimals) + 0.0:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fits(labels: list[str]) -> bool:
    """Whether the labels fit side by side under the chart (AXIS_CHARACTERS)."""
    return len(labels) * max(map(len, labels)) <= AXIS_CHARACTERS


def short(value: float) -> str:
    return f"{value:.3g}"


def mermaid_text(value, width: int = 18) -> str:
    """Text safe inside a Mermaid string: no quotes, brackets or line breaks, and short."""
    text = " ".join(str(value).replace('"', "'").replace("[", "(").replace("]", ")").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def value_range(lines: list[Series]) -> list[float]:
    values = [v for line in lines for v in line["values"]]
    low, high = min(values), max(values)
    pad = (high - low) * 0.05 or 1.0
    return [float(short(low - pad)), float(short(high + pad))]


def nice_top(lines: list[Series]) -> float:
    return float(short(max(max(line["values"]) for line in lines) * 1.1 or 1.0))


# -- drawing ----------------------------------------------------------------------------------


def mermaid(spec: Chart) -> str:
    """A Mermaid code block; series are drawn in order, coloured by name (see LEGEND)."""
    palette = ", ".join(COLORS[s["name"]] for s in spec["series"])
    x, y = spec["x"], spec["y"]
    if "ticks" in x:
        ticks = ", ".join(f'"{t}"' for t in x["ticks"])
        x_axis = f'x-axis "{mermaid_text(x["label"], 60)}" [{ticks}]'
    else:
        x_axis = f'x-axis "{mermaid_text(x["label"], 60)}" {x["range"][0]} --> {x["range"][1]}'
    lines = [
        "```mermaid",
        "---",
        "config:",
        "  xyChart:",
        "    width: 640",
        "    height: 360",
        "  themeVariables:",
        "    xyChart:",
        f'      plotColorPalette: "{palette}"',
        "---",
        "xychart-beta",
        f'  title "{mermaid_text(spec["title"], 60)}"',
        f"  {x_axis}",
        f'  y-axis "{mermaid_text(y["label"], 60)}" {figure(y["range"][0])} --> {figure(y["range"][1])}',
        *(f"  {s['kind']} [{', '.join(map(figure, s['values']))}]" for s in spec["series"]),
        "```",
    ]
    return "\n".join(lines)


def figure(value: float) -> str:
    """A number as Mermaid reads it: six significant digits, never an exponent (1.2e+06 is a syntax error)."""
    return np.format_float_positional(value + 0.0, precision=6, unique=False, fractional=False, trim="-")


def interval_plot(rows: list[dict], width: int = 31) -> str:
    """One line per metric: Δ (●) and its interval (├─┤) around 0 (│), oriented so right is better.

    Each row has `label`, `delta`, `low`, `high`, `direction` (+1 when larger is better) and
    optionally `tolerance` (drawn as ╎ on the worse side). Each metric is on its own scale.
    """
    centre = width // 2
    names = max(len(r["label"]) for r in rows)
    out = [f"{'':<{names}}  {'worse':<{centre}}0{'better':>{width - centre - 1}}"]
    for row in rows:
        if row["low"] is None or row["high"] is None or row["delta"] is None:
            out.append(f"{row['label']:<{names}}  {'(undefined)':^{width}}")
            continue
        low, high = sorted((row["direction"] * row["low"], row["direction"] * row["high"]))
        line = interval_line(low, high, row["direction"] * row["delta"], row.get("tolerance") or 0.0, width)
        word = "▲ better" if low > 0 else "▼ worse" if high < 0 else "· unsure"
        out.append(f"{row['label']:<{names}}  {line}  {word}")
    return "\n".join(out)


def interval_line(low: float, high: float, delta: float, tolerance: float, width: int) -> str:
    centre = width // 2
    scale = max(abs(low), abs(high), tolerance) or 1.0

    def at(value: float) -> int:
        return min(width - 1, max(0, round(centre + centre * value / scale)))

    cells = ["┄"] * width
    for i in range(at(low), at(high) + 1):
        cells[i] = "─"
    if tolerance:
        cells[at(-tolerance)] = "╎"
    cells[centre] = "│"
    cells[at(low)], cells[at(high)] = "├", "┤"
    cells[at(delta)] = "●"
    return "".join(cells)
