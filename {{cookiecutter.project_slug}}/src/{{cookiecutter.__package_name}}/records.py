"""The JSON records the loop writes and reads back, typed, each with one reader.

model.json says what a saved model expects and predicts and metrics.json is its training record
(both written into the model folder by training.py); comparison.json is a review's record
(comparison.py). Readers check the shape, so a file from another version or a broken artifact is
named, not a KeyError later. Keys added since a file was written (a champion trained by older
code) are NotRequired, and model.json's unknown keys are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NotRequired

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from .errors import ModelError

META_FILE, METRICS_FILE, COMPARISON_FILE = "model.json", "metrics.json", "comparison.json"
# The challenger's training record, as compare copies it next to comparison.json: what the release
# checks its retrained model against (the review artifact holds records, never data or models).
REVIEWED_METRICS_FILE = "challenger-metrics.json"
Values = dict[str, float | None]  # metric name -> value (None: undefined on those rows)


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model expects and predicts (model.json)."""

    task: str
    target: str
    numeric: list[str]
    categorical: list[str]
    candidate: str
    estimator: str
    estimator_params: dict[str, Any]
    classes: list[Any] = field(default_factory=list)
    positive_class: Any = None
    threshold: float | None = None  # binary: the positive class's probability that predicts it


def read_info(model_dir: Path) -> ModelInfo:
    """What a model folder's model expects and predicts, without loading the model."""
    recorded = json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8"))
    known = {f.name for f in fields(ModelInfo)}  # a newer version's keys are not ours to read
    return ModelInfo(**{k: v for k, v in recorded.items() if k in known})


class LeaderboardRow(TypedDict):
    candidate: str
    estimator: str
    mean: float
    std: float
    scores: list[float]
    threshold: NotRequired[float | None]


class CrossValidation(TypedDict):
    folds: int
    rows: NotRequired[int]  # the rows cross-validated on (train.cv_rows), when recorded
    metric: str
    leaderboard: list[LeaderboardRow]


def cv_scope(cv: CrossValidation, train_rows: int) -> str:
    """What the candidates were cross-validated on, in words: "5 folds of the 32,315 training rows"."""
    rows = cv.get("rows", train_rows)
    sample = f"a {rows:,}-row sample of " if rows < train_rows else ""
    return f"{cv['folds']} folds of {sample}the {train_rows:,} training rows"


class Scores(TypedDict):
    mean: float
    std: float
    scores: list[float]


class NoSkill(TypedDict):
    cv: Scores
    holdout: Values
    answer: dict[str, Any]  # its constant prediction (and class probabilities) for every row


class Holdout(TypedDict):
    rows: int
    metrics: Values


class TrainingRecord(TypedDict):
    """metrics.json: what a model was trained on and how it scored."""

    task: str
    primary_metric: str
    chosen: str
    holdout: Holdout
    train: dict[str, int]
    threshold: NotRequired[float | None]
    threshold_maximises: NotRequired[str | None]
    cv: CrossValidation
    no_skill: NotRequired[NoSkill]
    hashes: dict[str, str]
    git: dict[str, Any]
    versions: dict[str, str]


class MetricDiff(TypedDict):
    metric: str
    champion: float | None
    challenger: float | None
    delta: float | None
    low: float | None
    high: float | None
    undefined_share: float


class ComparisonRecord(TypedDict):
    """comparison.json: a review's verdict and everything its comment shows."""

    verdict: str
    primary_metric: str
    direction: dict[str, int]
    gate: dict[str, Any]
    metrics: list[MetricDiff]
    no_skill: NotRequired[Values | None]
    champion: dict[str, Any]
    challenger: dict[str, Any]
    holdout: dict[str, Any]
    changes: dict[str, Any]
    charts: NotRequired[list[dict[str, Any]]]
    diagnostics: dict[str, Any]
    links: dict[str, str]


def read_training_record(folder: Path, name: str = METRICS_FILE) -> TrainingRecord:
    return _read(Path(folder) / name, TrainingRecord)


def read_comparison(folder: Path) -> ComparisonRecord:
    return _read(Path(folder) / COMPARISON_FILE, ComparisonRecord)


def _read(path: Path, shape: type):
    try:
        return TypeAdapter(shape).validate_python(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise ModelError(f"{path}: not found") from None
    except (ValueError, ValidationError) as err:  # JSONDecodeError is a ValueError
        raise ModelError(f"{path}: not a {shape.__name__} ({_first_line(err)})") from None


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        return f"{'.'.join(map(str, first['loc'])) or 'top level'}: {first['msg']}"
    return str(err).splitlines()[0]
