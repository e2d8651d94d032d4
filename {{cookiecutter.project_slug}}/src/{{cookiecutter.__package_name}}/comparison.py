"""Compare champion and challenger from their prediction files, decide the verdict, explain it.

Only prediction files are scored (both sides predicted the same holdout file), so the champion
can come from another commit, environment or library version. The verdict follows the gate in
params.yaml; everything the reviewer reads is in comparison.json and rendered by comment.md.j2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from . import (
    bootstrap,
    changes,
    charts,
    data,
    data_remote,
    evaluation,
    git,
    latest_period,
    overlap,
    progress,
    records,
    reports,
    review,
)
from .errors import DataError
from .records import (
    ComparisonRecord,
    Diagnostics,
    Label,
    MetricDiff,
    ModelInfo,
    Refused,
    Residuals,
    Status,
    TrainingRecord,
    Values,
)
from .settings import Params, parse_yaml

BETTER, SAME, WORSE = "better", "no significant change", "worse"
NO_CHAMPION, NOT_COMPARABLE = "no champion", "not comparable"
CHAMPION_FAILED = "champion failed"
OUTPUT_KEYS = {
    BETTER: "better",
    SAME: "unchanged",
    WORSE: "worse",
    NO_CHAMPION: "no-champion",
    NOT_COMPARABLE: "not-comparable",
    CHAMPION_FAILED: "champion-failed",
}
PASSING = {BETTER, SAME, NO_CHAMPION}  # every other verdict fails the check
MAX_CONFUSION_CLASSES = 12  # beyond this a confusion matrix no longer fits a comment
RESIDUAL_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


@dataclass(frozen=True)
class Scored:
    """What a side that was scored left: its model, predictions (indexed by holdout row) and records."""

    model: Path
    predictions: pd.DataFrame
    refused: Refused
    info: ModelInfo
    metrics: TrainingRecord


@dataclass(frozen=True)
class Side:
    status: Status
    scored: Scored | None = None  # None: the side failed, or there is no champion

    @property
    def ok(self) -> bool:
        return self.scored is not None


class BaseFiles(TypedDict):
    """The base commit's files: its params as written, its data as text, its DVC pointer's hash."""

    params: dict[str, Any] | None  # YAML as written, not validated: read leniently
    data: pd.DataFrame | None
    pointer: str | None


def verdict(diff: MetricDiff, direction: int, tolerance: float) -> str:
    """`worse` only when the whole interval lies beyond the tolerance on the bad side."""
    if diff["low"] is None or diff["high"] is None:
        return SAME
    low, high = sorted((direction * diff["low"], direction * diff["high"]))  # oriented: positive = better
    if high < -tolerance:
        return WORSE
    return BETTER if low > 0 else SAME


def load_side(side: Path, holdout_rows: int, role: str) -> Side:
    """A side as its folder holds it. Rows its schema refused (refused.json) have no prediction; a
    count that does not add up to the holdout is a failed side."""
    status = records.read_status(side)
    if status["status"] != "ok":
        return Side(status)
    model = side / review.MODEL_DIR
    refused = records.read_refused(side)
    predictions = data.read_table(side / review.PREDICTIONS, allow_empty=bool(refused["rows"]))
    if len(predictions) + len(refused["rows"]) != holdout_rows:
        detail = f"the {role} predicted {len(predictions)} rows for a holdout of {holdout_rows}"
        if refused["rows"]:
            detail += f" (and refused {len(refused['rows'])})"
        return Side({**status, "status": "failed", "detail": detail})
    predictions.index = pd.RangeIndex(holdout_rows).difference(refused["rows"])
    info, metrics = records.read_info(model), records.read_training_record(model)
    return Side(status, Scored(model, predictions, refused, info, metrics))


def compare(
    params: Params, holdout_path: Path, champion_dir: Path, challenger_dir: Path, base: str | None
) -> ComparisonRecord:
    """The comparison record (what comparison.json holds and the comment renders)."""
    holdout = data.read_table(holdout_path)
    challenger = load_side(challenger_dir, len(holdout), "challenger").scored
    if challenger is None or challenger.refused["rows"]:
        status = records.read_status(challenger_dir)
        detail = status["detail"] if challenger is None else "it refused rows of its own holdout"
        raise DataError(f"{challenger_dir}: the challenger was not scored: {detail}")
    champion = load_side(champion_dir, len(holdout), "champion")

    base_files = read_base(params, base, champion_dir)
    # The head's data as text, read once: to follow rows into the base's, and to count rows changed.
    head_text = (
        None if base_files["params"] is None else data.read_text(params.data_path, params.data_path.suffix)
    )
    fair = unseen_by_champion(params, base_files, head_text, champion.scored, len(holdout))
    refused = champion.scored.refused if champion.scored else records.Refused(rows=[], checks=[])
    keep = fair.keep.copy()
    keep[refused["rows"]] = False  # the champion cannot answer them: a new category, say
    info = challenger.info
    y = holdout[params.data.target][keep]
    names = [params.train.primary_metric, *(m for m in params.metrics if m != params.train.primary_metric)]
    gate = params.gate
    stats = gate.bootstrap_args()
    kept = np.flatnonzero(keep)
    scored = {"challenger": challenger.predictions.loc[kept]}
    allowed, latest = None, None
    if champion.scored is not None and keep.sum() >= gate.min_rows:
        scored = {"champion": champion.scored.predictions.loc[kept], **scored}
        with progress.step(f"Paired bootstrap: {gate.resamples:,} resamples of {keep.sum():,} rows"):
            diffs = bootstrap.paired_bootstrap(
                y, scored["champion"], scored["challenger"], names, info.classes, info.positive_class, **stats
            )
        before = diffs[0]["champion"]
        allowed = None if before is None else gate.allowed_loss(before)
        decided = verdict(diffs[0], evaluation.direction(names[0]), allowed or 0.0)
        drawn = charts.review_charts(y, scored, info.classes, info.positive_class)
        scored_y = y
        latest = latest_period.compare(
            params,
            holdout,
            keep,
            base_files["data"],
            champion.scored.predictions,
            challenger.predictions,
            info,
            names,
        )
    else:  # the challenger alone, on its whole holdout: for information
        everything = holdout[params.data.target]
        diffs = bootstrap.alone(
            everything, challenger.predictions, names, info.classes, info.positive_class, **stats
        )
        without = {"ok": NOT_COMPARABLE, "missing": NO_CHAMPION}  # a champion that failed fails the check
        decided = without.get(champion.status["status"], CHAMPION_FAILED)
        alone = {"challenger": challenger.predictions}
        drawn = charts.review_charts(everything, alone, info.classes, info.positive_class)
        scored_y = everything
    metrics = challenger.metrics
    return {
        "verdict": decided,
        "primary_metric": names[0],
        "direction": {m: evaluation.direction(m) for m in names},
        "gate": {**params.gate.model_dump(), "allowed_loss": allowed},  # type: ignore[typeddict-item]
        "metrics": diffs,
        "no_skill": no_skill(metrics, scored_y, names, info),
        "champion": {
            "status": champion.status,
            "chosen": champion.scored.metrics["chosen"] if champion.scored else None,
            "threshold": champion.scored.info.threshold if champion.scored else None,
        },
        "challenger": {
            "chosen": metrics["chosen"],
            "cv": metrics["cv"],
            "train_rows": metrics["train"]["rows"],
            "train_span": metrics["train"].get("span"),
            "threshold": info.threshold,
            "threshold_maximises": metrics.get("threshold_maximises"),
            "no_skill_cv": metrics["no_skill"]["cv"] if "no_skill" in metrics else None,
            "classes": info.classes,
            "positive_class": info.positive_class,
        },
        "holdout": {
            "rows": len(holdout),
            "hash": data.table_hash(holdout),
            "compared": int(keep.sum()),
            "left_out": fair.left_out,
            "refused_by_champion": {"rows": len(refused["rows"]), "checks": refused["checks"]},
            "trained_rows_known": fair.trained_rows_known,
            "split": params.split.by,
            "span": data.span(holdout, params),
        },
        "changes": changes.between(params, base, base_files, head_text, champion.scored, challenger),
        "charts": drawn,
        "diagnostics": diagnostics(y, scored.get("champion"), scored["challenger"], info.classes),
        "latest_period": latest,
        "links": reports.links(),
    }


def no_skill(record: TrainingRecord, y: pd.Series, names: list[str], info: ModelInfo) -> Values | None:
    """What the challenger's dummy model (its constant answer) scores on the rows compared."""
    if "no_skill" not in record:
        return None  # trained before the no-skill baseline existed
    answer = pd.DataFrame([record["no_skill"]["answer"]] * len(y))
    return evaluation.score_all(names, y, answer, info.classes, info.positive_class)


def read_base(params: Params, base: str | None, champion_dir: Path | None = None) -> BaseFiles:
    """The base commit's params (as written), training data (as text; None where absent) and, when
    DVC keeps the data, its pointer's content hash (the data itself: the champion's step fetched it)."""
    found: BaseFiles = {"params": None, "data": None, "pointer": None}
    if not base:
        return found
    project = params.root.resolve()
    text = git.show(base, project / params.file.name)
    if text is None:
        return found
    written = found["params"] = parse_yaml(text, f"{params.file.name} at {base}")
    path = project / written["data"]["path"]
    raw = git.show(base, path, binary=True)
    pointer = git.show(base, data_remote.pointer(path))
    if raw is None and pointer is not None:
        found["pointer"] = data_remote.content_hash(pointer)
        fetched = champion_dir / (review.BASE_DATA + path.suffix) if champion_dir else None
        raw = fetched.read_bytes() if fetched and fetched.is_file() else None
    if raw is not None:
        found["data"] = data.read_text(raw, path.suffix)
    return found


def unseen_by_champion(
    params: Params, base_files: BaseFiles, head: pd.DataFrame | None, champion: Scored | None, rows: int
) -> overlap.Overlap:
    """Which holdout rows both models can be scored on: those the champion did not train on."""
    everything = overlap.Overlap(keep=np.ones(rows, bool))
    if champion is not None and base_files["data"] is None and base_files["pointer"] is not None:
        raise DataError(
            "the base's training data is kept by DVC and the champion's step did not fetch it "
            f"({review.BASE_DATA}.* in the champion's folder): cannot tell which rows the champion trained on"
        )
    written = base_files["params"]
    if champion is None or base_files["data"] is None or written is None:
        return everything  # no champion, or no base to follow rows into (nothing to leave out)
    in_holdout = data.holdout_mask(data.load_training_data(params), params)
    if in_holdout.sum() != rows:
        raise DataError(f"the holdout file has {rows} rows, but the head's split gives {in_holdout.sum()}")
    keys = [list(params.data.row_key), list(written["data"].get("row_key") or [])]
    trained = overlap.read_trained_rows(champion.model)
    return overlap.measure(base_files["data"], trained, head, in_holdout, keys)


def diagnostics(
    y: pd.Series, champion: pd.DataFrame | None, challenger: pd.DataFrame, classes: list[Label]
) -> Diagnostics:
    """Where the models err: confusion matrices (classification) or residual quantiles (regression)."""
    if classes:
        if len(classes) > MAX_CONFUSION_CLASSES:
            return {}
        return {
            "classes": [str(c) for c in classes],
            "confusion": {
                "champion": None if champion is None else confusion(y, champion["prediction"], classes),
                "challenger": confusion(y, challenger["prediction"], classes),
            },
        }
    return {
        "quantiles": list(RESIDUAL_QUANTILES),
        "residuals": {
            "champion": None if champion is None else residuals(y, champion["prediction"]),
            "challenger": residuals(y, challenger["prediction"]),
        },
    }


def confusion(y: pd.Series, predicted: pd.Series, classes: list[Label]) -> list[list[int]]:
    """Counts by actual class (rows) and predicted class (columns)."""
    table = pd.crosstab(
        pd.Categorical(y, classes), pd.Categorical(predicted.to_numpy(), classes), dropna=False
    )
    return table.reindex(index=classes, columns=classes, fill_value=0).astype(int).to_numpy().tolist()


def residuals(y: pd.Series, predicted: pd.Series) -> Residuals:
    error = predicted.to_numpy(dtype=float) - y.to_numpy(dtype=float)
    return {
        "mean": float(error.mean()),
        "quantiles": [float(q) for q in pd.Series(error).quantile(RESIDUAL_QUANTILES)],
    }
