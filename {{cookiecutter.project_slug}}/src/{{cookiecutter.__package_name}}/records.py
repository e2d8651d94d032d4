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
from typing import Literal, NotRequired, TypeVar

from pydantic import JsonValue, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from .errors import ModelError

META_FILE, METRICS_FILE, COMPARISON_FILE = "model.json", "metrics.json", "comparison.json"
STATUS_FILE = "status.json"  # a review side's: whether it was scored
REFUSED_FILE = "refused.json"  # holdout rows the champion's schema refuses: left out of the comparison
# The challenger's training record, as compare copies it next to comparison.json: what the release
# checks its retrained model against (the review artifact holds records, never data or models).
REVIEWED_METRICS_FILE = "challenger-metrics.json"
Values = dict[str, float | None]  # metric name -> value (None: undefined on those rows)
Label = str | int | float | bool  # a class as the training data holds it
T = TypeVar("T")


@dataclass(frozen=True)
class ModelInfo:
    """What a saved model expects and predicts (model.json)."""

    task: str
    target: str
    numeric: list[str]
    categorical: list[str]
    candidate: str
    estimator: str
    estimator_params: dict[str, JsonValue]
    classes: list[Label] = field(default_factory=list)
    positive_class: Label | None = None
    threshold: float | None = None  # binary: the positive class's probability that predicts it
    dates: list[str] = field(default_factory=list)  # date columns its calendar terms come from
    target_deciles: list[float] = field(default_factory=list)  # regression: the training target's

    @property
    def inputs(self) -> list[str]:
        """The columns the model reads."""
        return self.numeric + self.categorical + self.dates


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
    answer: dict[str, Label]  # its constant prediction (and class probabilities) for every row


class Span(TypedDict):
    """The period some rows cover, by `data.time_column`, as the file writes the times."""

    time_column: str
    first: str
    last: str


class Rows(TypedDict):
    rows: int
    span: NotRequired[Span]  # with a time column


class Holdout(TypedDict):
    rows: int
    metrics: Values
    span: NotRequired[Span]


class GitState(TypedDict):
    commit: str | None  # None: not in a git repository
    dirty: bool | None  # uncommitted changes in the work tree


class TrainingRecord(TypedDict):
    """metrics.json: what a model was trained on and how it scored."""

    task: str
    primary_metric: str
    chosen: str
    holdout: Holdout
    train: Rows
    split: NotRequired[Literal["hash", "time"]]
    threshold: NotRequired[float | None]
    threshold_maximises: NotRequired[str | None]
    cv: CrossValidation
    no_skill: NotRequired[NoSkill]
    hashes: dict[str, str]
    git: GitState
    versions: dict[str, str]


class MetricDiff(TypedDict):
    """One metric, champion vs challenger. `delta` is challenger - champion, not direction-adjusted."""

    metric: str
    champion: float | None  # on the rows compared; None when undefined there (or no champion)
    challenger: float | None
    delta: float | None
    low: float | None  # percentile interval of delta (of the challenger's value, with no champion)
    high: float | None
    undefined_share: float  # share of resamples where the metric was undefined for either model


# -- a scored side of the review (review.py writes them; comparison.py reads them) ---------------


class Status(TypedDict):
    """status.json: whether a side was scored. "missing": the base has no project (no champion)."""

    status: Literal["ok", "failed", "missing"]
    detail: str
    log_tail: str
    ref: NotRequired[str | None]
    source: NotRequired[Literal["cache", "trained"]]  # the champion's model: restored or trained
    source_detail: NotRequired[str]


class CheckCount(TypedDict):
    column: str  # "(table)" for a check of the whole table
    check: str
    count: int


class Refused(TypedDict):
    """refused.json: holdout rows a side's schema refused (positions), and the checks they failed."""

    rows: list[int]
    checks: list[CheckCount]


# -- comparison.json's parts ------------------------------------------------------------------


class GateRecord(TypedDict):
    tolerance: float | str
    confidence: float
    resamples: int
    seed: int
    min_rows: int
    allowed_loss: float | None  # the tolerance in the primary metric's units; None: no champion value


class ChampionRecord(TypedDict):
    status: Status
    chosen: str | None
    threshold: float | None


class ChallengerRecord(TypedDict):
    chosen: str
    cv: CrossValidation
    train_rows: int
    train_span: Span | None  # the period the challenger trained on (with a time column)
    threshold: float | None
    threshold_maximises: str | None
    no_skill_cv: Scores | None
    classes: list[Label]
    positive_class: Label | None


class RefusedCount(TypedDict):
    rows: int
    checks: list[CheckCount]


class HoldoutRecord(TypedDict):
    rows: int
    hash: str
    compared: int
    left_out: dict[str, int]  # why -> rows the champion trained on, left out
    refused_by_champion: RefusedCount
    trained_rows_known: bool
    split: Literal["hash", "time"]
    span: Span | None  # the period the holdout covers (with a time column)


class DataChange(TypedDict):
    base_rows: int | None  # None: the base had no data file
    head_rows: int
    added: NotRequired[int]
    removed: NotRequired[int]
    columns_added: NotRequired[list[str]]
    columns_removed: NotRequired[list[str]]


class ParamChange(TypedDict):
    key: str  # dotted, e.g. train.candidates.linear.params.C
    base: JsonValue  # "(absent)" when the key is new
    head: JsonValue


class PackageChange(TypedDict):
    name: str
    base: str | None
    head: str | None


class DataVersion(TypedDict):
    base: str | None  # DVC content hashes
    head: str | None


class Changes(TypedDict):
    base: str | None
    holdout_changed: NotRequired[bool]
    features_added: NotRequired[list[str]]
    features_removed: NotRequired[list[str]]
    params: NotRequired[list[ParamChange]]
    data: NotRequired[DataChange]
    data_version: NotRequired[DataVersion]
    packages: NotRequired[list[PackageChange] | None]


class Axis(TypedDict):
    label: str
    ticks: NotRequired[list[str]]  # categories (bar charts)
    range: NotRequired[list[float]]  # [low, high] (line charts)


class Series(TypedDict):
    name: str
    kind: Literal["line", "bar"]
    values: list[float]


class Chart(TypedDict):
    title: str
    x: Axis
    y: Axis
    series: list[Series]


class Residuals(TypedDict):
    mean: float
    quantiles: list[float]


class Confusion(TypedDict):
    """Counts by actual class (rows) and predicted class (columns); the champion's None: none scored."""

    champion: list[list[int]] | None
    challenger: list[list[int]]


class ResidualPair(TypedDict):
    champion: Residuals | None
    challenger: Residuals


class Diagnostics(TypedDict, total=False):
    """Where the models err: confusion matrices (classification) or residual quantiles (regression)."""

    classes: list[str]
    confusion: Confusion
    quantiles: list[float]
    residuals: ResidualPair


class LatestPeriod(TypedDict):
    """The review on the holdout rows newer than the base's training data (latest_period.py)."""

    time_column: str
    champion_until: str  # the newest day of the base's training data (ISO)
    first: str  # the first and last day of the rows compared
    last: str
    rows: int
    min_rows: int  # gate.min_rows: fewer rows are counted, not compared
    metrics: list[MetricDiff]  # [] with too few rows
    verdict: str | None  # the gate's rule on these rows, for information; None: not compared


class ComparisonRecord(TypedDict):
    """comparison.json: a review's verdict and everything its comment shows."""

    verdict: str
    primary_metric: str
    direction: dict[str, int]
    gate: GateRecord
    metrics: list[MetricDiff]
    no_skill: NotRequired[Values | None]
    champion: ChampionRecord
    challenger: ChallengerRecord
    holdout: HoldoutRecord
    changes: Changes
    charts: NotRequired[list[Chart]]
    diagnostics: Diagnostics
    latest_period: NotRequired[LatestPeriod | None]  # None: no holdout row newer than the base's data
    links: dict[str, str]


# -- model quality over time (quality.py) ------------------------------------------------------


class QualityMetric(TypedDict):
    """One metric on one window's labelled rows, against the value the model was reviewed at."""

    metric: str
    value: float | None  # None: undefined on these rows (`undefined` says why)
    low: float | None  # the bootstrap percentile interval of the value
    high: float | None
    reviewed: float | None  # the model's holdout value (metrics.json); None: not recorded
    delta: float | None  # value - reviewed, not direction-adjusted
    worse: bool  # the whole interval worse than reviewed (the primary metric: by more than the tolerance)
    undefined: str | None  # why the metric cannot be computed here, in words


class QualityWindow(TypedDict):
    label: str  # "2010-09" (a month), "2010-09-06 – 2010-09-12" (a week), "2010-09-06" (a day)
    start: str  # its first and last day (ISO, UTC)
    end: str
    labelled: int
    unlabelled: int
    status: Literal["judged", "too few labels", "not judged"]
    reason: str | None  # why it is not judged
    metrics: list[QualityMetric]  # the primary metric first; [] with too few labels
    missing_classes: list[Label]  # classes no labelled row of the window has (scored windows only)


class QualityGate(TypedDict):
    tolerance: float | str
    allowed_loss: float | None  # the tolerance in the primary metric's units; None: no reviewed value
    confidence: float
    resamples: int
    seed: int


class QualityRows(TypedDict):
    current: int  # every row handed in
    labelled: int  # in the windows scored
    unlabelled: int
    before: int  # older than the first window: not scored
    no_time: int  # no time: not scored
    left_out: dict[str, int]  # labelled rows not scored, by reason (answers read from a prediction log)


class QualityRecord(TypedDict):
    """The deployed model's quality per time window, and the verdict on the latest judged window."""

    verdict: Literal["decayed", "holding", "too few labels", "no labels"]
    sentence: str
    judged_window: str | None  # the label of the window the verdict is on
    primary_metric: str
    direction: dict[str, int]  # +1 when larger is better; the metrics in table order
    reviewed: Values
    window: Literal["day", "week", "month"]
    time_column: str
    target: str
    min_rows: int
    gate: QualityGate
    model: str | None  # the scored model's tag
    scored: str | None  # whose predictions were scored, in words
    rows: QualityRows
    windows: list[QualityWindow]  # oldest first
    chart: Chart | None  # None: fewer than two windows with a value
    report: str | None  # Evidently's page on the judged window (in drift.html), in words; None: none


def read_training_record(folder: Path, name: str = METRICS_FILE) -> TrainingRecord:
    return _read(Path(folder) / name, TrainingRecord)


def read_comparison(folder: Path) -> ComparisonRecord:
    return _read(Path(folder) / COMPARISON_FILE, ComparisonRecord)


class Verdict(TypedDict):
    verdict: str


def read_verdict(folder: Path) -> str:
    """A review's verdict, all a release reads of its comparison.json: the rest may be shaped by
    another version of this code (a PR reviewed before the project was updated, merged after)."""
    return _read(Path(folder) / COMPARISON_FILE, Verdict)["verdict"]


def read_status(side: Path) -> Status:
    """A side's status.json. Only `score` itself may say "missing" (the base has no project): a side
    with no status at all failed, so the review fails closed rather than passing without a champion."""
    path = side / STATUS_FILE
    if not path.is_file():
        return {"status": "failed", "detail": f"{path} not found: was this side scored?", "log_tail": ""}
    return _read(path, Status)


def read_refused(side: Path) -> Refused:
    """The holdout rows a side's schema refused (`predict --refused`); none when it wrote no file."""
    path = side / REFUSED_FILE
    if not path.is_file():
        return {"rows": [], "checks": []}
    return _read(path, Refused)


def _read(path: Path, shape: type[T]) -> T:
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
