"""The pull-request comment (and job summary): the verdict in one sentence, the metrics table with
intervals and the no-skill floor, the decision threshold, charts, leaderboard and what changed.

Everything comes from comparison.json (`compare`'s record); comment.md.j2 lays it out.
"""

from __future__ import annotations

from . import charts, evaluation, records
from .records import (
    Changes,
    ComparisonRecord,
    DataVersion,
    Diagnostics,
    GateRecord,
    HoldoutRecord,
    MetricDiff,
    Span,
    Status,
)
from .reports import render

GITHUB_LIMIT = 65_536  # GitHub's maximum comment length, in characters
# pr-comment.yml's sticky-comment action appends its marker (header `model-review`) to the body.
STICKY_MARKER = "\n<!-- Sticky Pull Request Commentmodel-review -->"
COMMENT_LIMIT = GITHUB_LIMIT - len(STICKY_MARKER) - 100  # and a margin for line endings and the like
# Sections dropped, least important first, when the comment would exceed the limit.
OMITTABLE = ("diagnostics", "log_tail", "packages", "params", "charts", "leaderboard")
ICONS = {
    "better": "✅",
    "no significant change": "➖",
    "worse": "❌",
    "no champion": "🆕",
    "not comparable": "⚠️",
    "champion failed": "❌",
}
ABSOLUTE = {"no champion", "not comparable", "champion failed"}  # verdicts that show the challenger alone
NO_SKILL = {
    True: "No skill: a dummy model that always predicts the training split's most frequent class, "
    "with its class shares as probabilities, scored on the same rows.",
    False: "No skill: a dummy model that always predicts the training split's mean, scored on the same rows.",
}


def number(value, sign: bool = False) -> str:
    if value is None:
        return "undefined"
    return (f"{value:+.4f}" if sign else f"{value:.4f}").replace("-", "−")  # a true minus sign


def mark(diff: MetricDiff, direction: int) -> str:
    """▲ better / ▼ worse when the interval excludes 0 on that side; · otherwise."""
    if diff["low"] is None or diff["high"] is None:
        return "" if diff["champion"] is None else "undefined"
    low, high = sorted((direction * diff["low"], direction * diff["high"]))
    return "▲ better" if low > 0 else "▼ worse" if high < 0 else "·"


def sentence(record: ComparisonRecord) -> str:
    """The verdict in one sentence: the metric, the change, its interval and the rule applied."""
    if record["verdict"] in ABSOLUTE:
        return sentence_alone(record)
    primary = record["metrics"][0]
    label, level = evaluation.metric_label(primary["metric"]), f"{record['gate']['confidence']:.0%}"
    if primary["delta"] is None:
        return f"{label} is undefined on this holdout for a model: no verdict on it, so the check passes."
    change = (
        f"{label} went from {number(primary['champion'])} to {number(primary['challenger'])} "
        f"(Δ {number(primary['delta'], True)}, {level} CI {number(primary['low'], True)} to "
        f"{number(primary['high'], True)})"
    )
    tolerance = tolerance_text(record["gate"], label)
    if record["verdict"] == "better":
        return f"{change}: the interval excludes 0 on the better side, so the challenger is better."
    if record["verdict"] == "worse":
        return (
            f"{change}: the whole interval is worse than the tolerance of {tolerance}, so this check fails."
        )
    return (
        f"{change}: not a significant change. The check fails only when {label} is worse by more "
        f"than {tolerance} with {level} confidence."
    )


def sentence_alone(record: ComparisonRecord) -> str:
    """Why there is no paired verdict, and whether the check passes; then the challenger's own value."""
    primary = record["metrics"][0]
    label, level = evaluation.metric_label(primary["metric"]), f"{record['gate']['confidence']:.0%}"
    status = record["champion"]["status"]
    alone = (
        f"The challenger's {label} on the whole holdout is {number(primary['challenger'])} ({level} CI "
        f"{number(primary['low'])} to {number(primary['high'])})."
    )
    if record["verdict"] == "no champion":
        why = status.get("detail") or "the base has no model"
        return f"No champion to compare with ({why}), so the check passes. {alone}"
    if record["verdict"] == "champion failed":
        return (
            f"The champion (the base's model) could not be scored: {status['detail']}. Without it there is "
            f"no verdict, so this check fails. {alone} Fix what broke the base's model (its log is below), "
            "or have a maintainer review the change and merge it without this check."
        )
    holdout = record["holdout"]
    return (
        f"Not comparable: only {holdout['compared']:,} of the {holdout['rows']:,} holdout rows were not "
        f"in the champion's training data, fewer than `gate.min_rows` ({record['gate']['min_rows']:,}), "
        f"so there is no verdict and this check fails. {alone} Add data, lower `gate.min_rows`, or "
        "have a maintainer review the change and merge it without this check."
    )


def tolerance_text(gate: GateRecord, label: str) -> str:
    """`gate.tolerance` as the check applied it: in the metric's units, or relative to the champion."""
    tolerance = gate["tolerance"]
    if isinstance(tolerance, str):
        return f"{tolerance} of the champion's {label} ({gate['allowed_loss']:.4g})"
    return f"{tolerance:g}"


HOLDOUT_CHANGED = "The holdout changed between base and head (new data or a new split)"
NOT_COMPARABLE = "numbers from earlier comments on the base are not comparable"


def holdout_line(changes: Changes, holdout: HoldoutRecord) -> str | None:
    """One warning about which rows both models were scored on. A new split both changes the holdout
    and moves rows the champion trained on into it: one story, told once."""
    left_out = left_out_line(holdout)
    if not changes.get("holdout_changed"):
        return left_out
    if left_out is None:
        return f"{HOLDOUT_CHANGED}: both models were scored on this PR's holdout, so {NOT_COMPARABLE}."
    return f"{HOLDOUT_CHANGED}, so {NOT_COMPARABLE}. {left_out}"


def left_out_line(holdout: HoldoutRecord) -> str | None:
    """Why some holdout rows were not scored: the champion trained on them."""
    left = sum(holdout.get("left_out", {}).values())
    if not left:
        return None
    reasons = ", ".join(f"{reason}: {n:,}" for reason, n in holdout["left_out"].items() if n)
    line = (
        f"{left:,} of the {holdout['rows']:,} holdout rows were left out because the champion trained "
        f"on them ({reasons}); both models are scored on the other {holdout['compared']:,}."
    )
    if not holdout["trained_rows_known"]:
        line += (
            " The champion's record does not say which rows it trained on (it predates that record), "
            "so every row of the base's data counts as trained on."
        )
    return line


def refused_line(holdout: HoldoutRecord) -> str | None:
    """Holdout rows the champion's schema refuses (a new category, say): it has no answer for them."""
    refused = holdout.get("refused_by_champion") or {"rows": 0}
    if not refused["rows"]:
        return None
    checks = ", ".join(f"`{c['column']}` {c['check']}: {c['count']:,}" for c in refused["checks"])
    return (
        f"{refused['rows']:,} holdout rows were left out because the champion's schema refuses them "
        f"({checks}): the base's model cannot answer them, as its service would refuse them, so both "
        "models are compared on the rows both can answer."
    )


def version_line(version: DataVersion) -> str:
    """The training data's content hashes at base and head, from DVC's pointer files."""
    base, head = (f"`{h[:12]}`" if h else "none" for h in (version["base"], version["head"]))
    change = f"{base} → {head}" if version["base"] != version["head"] else f"{head}, unchanged"
    return f"Training data version (DVC, md5): {change}"


def data_lines(changes: Changes) -> list[str]:
    """The training data's rows at base and head, and its DVC version when DVC keeps it."""
    lines = []
    if "data" in changes:
        d = changes["data"]
        if d.get("base_rows") is None:
            lines.append(f"Training data: {d['head_rows']:,} rows (not in the base)")
        elif "added" in d:
            lines.append(
                f"Training data: {d['base_rows']:,} → {d['head_rows']:,} rows "
                f"(+{d['added']:,} added, −{d['removed']:,} removed)"
            )
        else:
            lines.append(
                f"Training data: {d['base_rows']:,} → {d['head_rows']:,} rows; columns added "
                f"{d['columns_added'] or 'none'}, removed {d['columns_removed'] or 'none'}"
            )
    if changes.get("data_version"):
        lines.append(version_line(changes["data_version"]))
    return lines


def span_text(span: Span | None) -> str:
    return f", `{span['time_column']}` {span['first']} to {span['last']}" if span else ""


def change_lines(record: ComparisonRecord, omit: set[str]) -> list[str]:
    changes = record["changes"]
    lines = data_lines(changes)
    holdout = record["holdout"]
    moved = " (**changed** from the base's)" if changes.get("holdout_changed") else ""
    period = span_text(holdout.get("span"))
    how = "the latest rows by time" if holdout.get("split") == "time" else "a stable hash split"
    lines.append(
        f"Holdout: {holdout['rows']:,} rows{period} ({how}), content hash `{holdout['hash'][:12]}`{moved}"
    )
    trained = record["challenger"]
    if trained.get("train_span"):
        lines.append(
            f"Challenger's training rows: {trained['train_rows']:,}{span_text(trained['train_span'])}"
        )
    if "features_added" in changes:
        added, removed = changes["features_added"], changes["features_removed"]
        if added or removed:
            lines.append(f"Schema: features added {codes(added)}; removed {codes(removed)}")
        else:
            lines.append("Schema: same features")
    params = changes.get("params")
    if params is not None:
        if not params:
            lines.append("Params: unchanged")
        elif "params" in omit:
            lines.append(f"Params: {len(params)} keys changed (listed in comparison.json)")
        else:
            lines += [f"Params: `{p['key']}`: `{p['base']}` → `{p['head']}`" for p in params]
    if "packages" in changes:
        packages = changes["packages"]
        lines.append(
            "Dependencies: uv.lock unchanged"
            if packages is None
            else f"Dependencies: {len(packages)} locked packages changed"
        )
    lines.append(
        f"Model: champion `{record['champion']['chosen'] or '-'}`, challenger "
        f"`{record['challenger']['chosen']}`"
    )
    return lines


def codes(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names) or "none"


def review_comment(record: ComparisonRecord) -> str:
    """The PR comment (and job summary), trimmed section by section to fit GitHub's limit."""
    for n in range(len(OMITTABLE) + 1):
        text = render_comment(record, set(OMITTABLE[:n]))
        if length(text) <= COMMENT_LIMIT:
            return text
    note = "\n\n_(truncated to GitHub's comment limit; see comparison.json in the artifact)_\n"
    while length(text) > COMMENT_LIMIT - len(note):
        text = text[: len(text) - (length(text) - COMMENT_LIMIT + len(note))]
    return text + note


def length(text: str) -> int:
    """Characters as the longest count GitHub may use: UTF-16 code units (an emoji outside the basic
    plane, like 🆕, is two; Python's len counts it once)."""
    return len(text.encode("utf-16-le")) // 2


def metric_rows(record: ComparisonRecord, diffs: list[MetricDiff], alone: bool = False) -> list[dict]:
    """The metrics table's cells, one row per metric."""
    return [
        {
            "label": evaluation.metric_label(d["metric"]),
            "champion": "-" if d["champion"] is None and alone else number(d["champion"]),
            "challenger": number(d["challenger"]),
            "delta": "-" if alone else number(d["delta"], True),
            "ci": ("-" if d["low"] is None else f"[{number(d['low'], True)}, {number(d['high'], True)}]"),
            "mark": "" if alone else mark(d, record["direction"][d["metric"]]),
            "no_skill": number((record.get("no_skill") or {}).get(d["metric"])),
        }
        for d in diffs
    ]


def latest_period_text(record: ComparisonRecord) -> str | None:
    """What the section "On the latest period" says before its table; None: no such section."""
    period = record.get("latest_period")
    if not period:
        return None
    rows, span = period["rows"], f"{period['first']} to {period['last']}"
    newer = (
        f"newer than the champion's training data (its newest `{period['time_column']}`: "
        f"{period['champion_until']})"
    )
    if period["verdict"] is None:
        return (
            f"{rows:,} holdout rows ({span}) are {newer}: fewer than `gate.min_rows` "
            f"({period['min_rows']:,}), so the models are not compared on them."
        )
    words = {
        "better": "the challenger is better",
        "worse": "the challenger is worse",
        "no significant change": "there is no significant change",
    }[period["verdict"]]
    return (
        f"On the {rows:,} holdout rows {newer}, from {span}, which neither model trained on, {words} by "
        f"the gate's rule ({evaluation.metric_label(record['primary_metric'])}, paired bootstrap). "
        "For information: the check is decided on the whole holdout, above."
    )


def render_comment(record: ComparisonRecord, omit: set[str]) -> str:
    level = f"{record['gate']['confidence']:.0%}"
    alone = record["verdict"] in ABSOLUTE
    rows = metric_rows(record, record["metrics"], alone)
    latest = record.get("latest_period")
    cv = record["challenger"]["cv"]
    holdout, status = record["holdout"], record["champion"]["status"]
    warnings = [holdout_line(record["changes"], holdout)]
    if status["status"] == "failed":
        warnings.append(f"The champion could not be built at `{status.get('ref')}`: {status['detail']}.")
    warnings = [line for line in (*warnings, refused_line(holdout)) if line]
    return render(
        "comment.md.j2",
        icon=ICONS[record["verdict"]],
        verdict=record["verdict"],
        sentence=sentence(record),
        warnings=warnings,
        level=level,
        metrics=rows,
        latest=latest_period_text(record),
        latest_rows=metric_rows(record, latest["metrics"]) if latest else [],
        undefined=[
            evaluation.metric_label(d["metric"])
            for d in record["metrics"]
            if d["challenger"] is None or (not alone and d["delta"] is None)
        ],
        cv={
            "scope": records.cv_scope(cv, record["challenger"]["train_rows"]),
            "metric_label": evaluation.metric_label(cv["metric"]),
            "leaderboard": [
                {"candidate": r["candidate"], "score": f"{r['mean']:.4f} ± {r['std']:.4f}"}
                for r in cv["leaderboard"]
            ],
        },
        no_skill=record["challenger"].get("no_skill_cv"),
        decision=decision_line(record),
        no_skill_note=None
        if record.get("no_skill") is None
        else NO_SKILL[bool(record["challenger"]["classes"])],
        chosen=record["challenger"]["chosen"],
        changes=change_lines(record, omit),
        packages=record["changes"].get("packages"),
        log_tail=status.get("log_tail", ""),
        diagnostics=diagnostic_tables(record["diagnostics"]) if "diagnostics" not in omit else None,
        intervals=None if alone else interval_rows(record),
        charts=[] if "charts" in omit else record.get("charts", []),
        legend=charts.LEGEND["review-alone" if alone else "review"],
        omit=sorted(omit),
        footer=footer(record, level),
    )


def decision_line(record: ComparisonRecord) -> str | None:
    """Binary classification: the positive class's probability from which each side predicts it."""
    challenger = record["challenger"]
    if len(challenger.get("classes") or []) != 2:
        return None

    def at(threshold) -> str:
        return "0.5 (the estimator's default)" if threshold is None else f"{threshold:.2f}"

    tuned = challenger.get("threshold_maximises")
    how = f", chosen to maximise {evaluation.metric_label(tuned)} across the folds" if tuned else ""
    line = (
        f"Decision threshold: the challenger predicts `{challenger['positive_class']}` from a probability "
        f"of {at(challenger['threshold'])}{how}"
    )
    if record["champion"]["status"]["status"] == "ok":
        line += f"; the champion from {at(record['champion'].get('threshold'))}"
    moved = [
        evaluation.metric_label(d["metric"]) for d in record["metrics"] if evaluation.uses_labels(d["metric"])
    ]
    return line + (f". It moves {', '.join(moved)}." if moved else ".")


def interval_rows(record: ComparisonRecord) -> str:
    """The metrics' Δ and intervals as a text plot; the primary metric shows the gate's tolerance."""
    rows = [
        {**d, "label": evaluation.metric_label(d["metric"]), "direction": record["direction"][d["metric"]]}
        for d in record["metrics"]
    ]
    rows[0]["tolerance"] = record["gate"]["allowed_loss"]
    return charts.interval_plot(rows)


def diagnostic_tables(diagnostics: Diagnostics) -> dict | None:
    """Markdown-ready rows: a confusion matrix with `champion / challenger` counts, or residual quantiles."""
    if "confusion" in diagnostics:
        classes, matrices = diagnostics["classes"], diagnostics["confusion"]
        old, new = matrices["champion"], matrices["challenger"]
        cells = range(len(classes))
        rows = [
            [actual, *(f"{'-' if old is None else f'{old[i][j]:,}'} / {new[i][j]:,}" for j in cells)]
            for i, actual in enumerate(classes)
        ]
        return {
            "title": "Confusion matrices: champion / challenger counts (rows: actual, columns: predicted)",
            "header": ["actual \\ predicted", *classes],
            "rows": rows,
        }
    if "residuals" in diagnostics:
        header = [
            "residual (prediction − actual)",
            *(f"p{round(q * 100)}" for q in diagnostics["quantiles"]),
            "mean",
        ]
        pair = diagnostics["residuals"]
        rows = [
            [name, *(number(q) for q in side["quantiles"]), number(side["mean"])]
            for name, side in (("champion", pair["champion"]), ("challenger", pair["challenger"]))
            if side is not None
        ]
        return {"title": "Residuals on the holdout", "header": header, "rows": rows}
    return None


def footer(record: ComparisonRecord, level: str) -> str:
    """Links to the run and its artifacts, and how the intervals were made."""
    links = record["links"]
    parts = [
        f"[{name}]({links[key]})"
        for name, key in (("Workflow run", "run"), ("Artifacts", "artifacts"))
        if key in links
    ]
    status = record["champion"]["status"]
    if status["status"] == "ok" and status.get("source"):
        parts.append(f"Champion: {champion_source(status)}")
    gate, holdout = record["gate"], record["holdout"]
    alone = record["verdict"] in ABSOLUTE
    rows = holdout["rows"] if alone else holdout["compared"]
    parts.append(
        f"{'Bootstrap' if alone else 'Paired bootstrap'}: {gate['resamples']:,} resamples of the "
        f"{rows:,} holdout rows "
        f"(seed {gate['seed']}); Δ = challenger − champion; "
        f"▲ better, ▼ worse, · no significant change at {level}"
    )
    return " · ".join(parts)


def champion_source(status: Status) -> str:
    """Whether the champion was trained in this run or restored from main's cache, and why."""
    ref = (status.get("ref") or "")[:12]
    if status["source"] == "cache":
        return f"{status['source_detail']} (not retrained)"
    why = f"; {status['source_detail']}" if status.get("source_detail") else ""
    return f"trained at `{ref}` in this run{why}"
