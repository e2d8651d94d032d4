"""params.yaml, parsed into frozen pydantic models that refuse unknown keys.

Everything that changes a model lives in that one file; nothing here has a default
that silently changes results, so a typo is an error, not a different model.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML, YAMLError

from . import evaluation
from .errors import ParamsError

Task = Literal["classification", "regression"]
Name = Annotated[str, Field(min_length=1)]
# The short names params.yaml may use instead of an import path.
ALIASES: dict[tuple[str, str], str] = {  # (task, alias): import path
    ("classification", "linear"): "sklearn.linear_model.LogisticRegression",
    ("classification", "random_forest"): "sklearn.ensemble.RandomForestClassifier",
    ("classification", "hist_gradient_boosting"): "sklearn.ensemble.HistGradientBoostingClassifier",
    ("regression", "linear"): "sklearn.linear_model.Ridge",
    ("regression", "random_forest"): "sklearn.ensemble.RandomForestRegressor",
    ("regression", "hist_gradient_boosting"): "sklearn.ensemble.HistGradientBoostingRegressor",
}
ALIAS_NAMES = list(dict.fromkeys(alias for _, alias in ALIASES))
IMPORT_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")  # module.Class
ParamValue = int | float | str | bool | None
RELATIVE = re.compile(r"\d+(\.\d+)?\s*%")  # a tolerance relative to the champion, e.g. "1%"


class BootstrapArgs(TypedDict):
    resamples: int
    confidence: float
    seed: int


class Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Data(Strict):
    path: Path = Field(description="training data (CSV or Parquet), relative to params.yaml")
    target: Name
    row_key: list[Name] = Field(
        description="columns that identify a row; [] hashes the whole row (used by the holdout split)"
    )
    time_column: str | None = Field(default=None, description="when a row happened (not a feature)")
    positive_class: str | int | bool | None = Field(
        default=None, description="binary classification: the class of interest"
    )


class Split(Strict):
    by: Literal["hash", "time"] = Field(
        default="hash",
        description="hash: a stable random holdout by row key; time: the latest rows by data.time_column "
        "(cross-validation then trains on earlier rows and validates on later ones)",
    )
    holdout_fraction: float = Field(gt=0, lt=1)
    salt: Name = Field(description="changing it re-draws the holdout; keep it fixed")


class Candidate(Strict):
    estimator: Name = Field(
        description=f"one of {ALIAS_NAMES}, or a scikit-learn-compatible estimator by import path "
        "(e.g. sklearn.ensemble.ExtraTreesClassifier, lightgbm.LGBMClassifier)"
    )
    params: dict[str, ParamValue] = Field(default_factory=dict)

    @field_validator("estimator")
    @classmethod
    def _alias_or_import_path(cls, value: str) -> str:
        if value not in ALIAS_NAMES and IMPORT_PATH.fullmatch(value) is None:
            raise ValueError(f"{value!r}: use one of {ALIAS_NAMES} or an import path such as module.Class")
        return value


class Maximise(Strict):
    maximise: Name = Field(description="a metric that uses predicted classes, e.g. f1 or balanced_accuracy")


class Train(Strict):
    seed: int
    cv_folds: int = Field(ge=2, le=20)
    cv_rows: int | None = Field(
        default=None,
        ge=100,
        description="cross-validate on at most this many rows of the train split (a seeded sample, "
        "by class); the chosen candidate is then fit on all of them. null: every row",
    )
    primary_metric: Name
    threshold: float | Maximise | None = Field(
        default=None,
        description="binary classification: predict the positive class when its probability reaches "
        "this number, or the threshold that maximises a metric on the cross-validation folds",
    )
    calendar: list[Literal["year", "month", "day_of_week", "hour", "day_of_year"]] = Field(
        default_factory=list,
        description="features derived from data.time_column inside the model: the year, and month, day of "
        "week, hour or day of year as cyclic terms (the time column must then be in schema.Features)",
    )
    candidates: dict[Name, Candidate] = Field(min_length=1)
    trusted_types: list[Name] = Field(
        default_factory=list,
        description="types a saved model may hold beyond scikit-learn's (skops refuses the rest)",
    )

    @field_validator("threshold")
    @classmethod
    def _a_probability(cls, value: float | Maximise | None) -> float | Maximise | None:
        if isinstance(value, float) and not 0 < value < 1:
            raise ValueError(f"{value}: a threshold is a probability between 0 and 1 (exclusive)")
        return value


class Gate(Strict):
    """The pull-request check: fail only on a regression of the primary metric we are confident about."""

    tolerance: float | str = Field(
        description="how much worse the primary metric may get: in its own units (0.005) "
        "or relative to the champion's value ('1%')"
    )
    confidence: float = Field(gt=0.5, lt=1, description="level of the bootstrap confidence intervals")
    resamples: int = Field(ge=100, le=100_000)
    seed: int
    min_rows: int = Field(
        ge=1, description="fewer holdout rows that neither model trained on: 'not comparable', no verdict"
    )

    @field_validator("tolerance")
    @classmethod
    def _number_or_percentage(cls, value: float | str) -> float | str:
        if isinstance(value, str):
            if RELATIVE.fullmatch(value) is None:
                advice = "use a number in the metric's units (0.005) or a percentage ('1%')"
                raise ValueError(f"{value!r}: {advice}")
            return value.replace(" ", "")
        if value < 0:
            raise ValueError("must be 0 or more")
        return value

    def bootstrap_args(self) -> BootstrapArgs:
        """The bootstrap's keyword arguments: how many resamples, the interval's level, the seed."""
        return {"resamples": self.resamples, "confidence": self.confidence, "seed": self.seed}

    def allowed_loss(self, champion: float) -> float:
        """The tolerance in the metric's units, for a champion scoring `champion`."""
        if isinstance(self.tolerance, str):
            return abs(champion) * float(self.tolerance.rstrip("%")) / 100
        return self.tolerance


class FileSource(Strict):
    kind: Literal["file"]
    path: Name = Field(description="glob of CSV/Parquet files, relative to params.yaml")


class SqlSource(Strict):
    kind: Literal["sql"]
    url_env: Name = Field(
        description="environment variable holding the SQLAlchemy URL (a secret, never in git)"
    )
    query: Name = Field(description="SQL selecting the current rows; `:since` is bound to now - window_days")
    window_days: int = Field(ge=1)


class Drift(Strict):
    """The scheduled check of current data against the training data (Evidently)."""

    source: FileSource | SqlSource = Field(discriminator="kind")
    min_rows: int = Field(ge=1, description="fewer current rows than this: no verdict")
    sample_size: int = Field(ge=100, description="each side is subsampled to at most this many rows")
    seed: int
    drift_share: float = Field(gt=0, le=1, description="dataset drift when this share of columns drifted")
    method: str | None = Field(
        default=None, description="Evidently stat test for every column; null: by type"
    )
    threshold: float | None = None
    per_column_method: dict[Name, str] = Field(default_factory=dict)
    per_column_threshold: dict[Name, float] = Field(default_factory=dict)


class Labels(Strict):
    query: Name = Field(
        description="SQL on drift.source's database returning the outcomes: prediction_id (or the "
        "data.row_key columns) and the target; joined to the current rows in the database"
    )


class Monitor(Strict):
    """Model quality over time, in the scheduled check: the deployed model scored on labelled rows."""

    window: Literal["day", "week", "month"] = Field(
        description="quality is scored per window of the log's logged_at (or data.time_column for files)"
    )
    windows: int = Field(ge=1, le=1000, description="how many of the latest windows are scored")
    min_rows: int = Field(ge=1, description="fewer labelled rows in a window: 'too few labels', not judged")
    labels: Labels | None = Field(
        default=None, description="outcomes kept in a table of your own; null: the target column"
    )


class PredictionLogging(Strict):
    url_env: Name = Field(description="environment variable holding the SQLAlchemy URL (a secret)")
    table: Name = Field(description="the table to append to; the drift job's SQL source can read it")


class Serving(Strict):
    """The BentoML service (service.py); `build` stores these settings with the model."""

    log_predictions: PredictionLogging | None = Field(description="null: predictions are not logged")
    champion_release: str | None = Field(
        default=None,
        pattern=r"^model-[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{7}$",
        description="a release's tag (model-YYYY-MM-DD-abc1234): its model answers, and this commit's "
        "model predicts beside it as the shadow (release.yml); null: this commit's model answers",
    )


class Params(Strict):
    task: Task
    data: Data
    split: Split
    train: Train
    metrics: list[Name] = Field(min_length=1)
    gate: Gate
    drift: Drift
    monitor: Monitor
    serving: Serving
    _file: Path = PrivateAttr(default=Path("params.yaml"))

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names: list[str], info: ValidationInfo) -> list[str]:
        if "task" in info.data:  # else the task's own error says what is wrong
            for name in names:
                evaluation.metric(name, info.data["task"])  # ValueError naming the metric and the choices
        return names

    @property
    def file(self) -> Path:
        """The params file these were loaded from."""
        return self._file

    @property
    def root(self) -> Path:
        """The folder holding params.yaml: relative paths in it start here."""
        return self._file.parent

    @property
    def data_path(self) -> Path:
        return self.root / self.data.path

    @model_validator(mode="after")
    def _metrics_fit_the_task(self) -> Params:
        if self.train.primary_metric not in self.metrics:
            raise ValueError(
                f"train.primary_metric {self.train.primary_metric!r} must be one of metrics {self.metrics}"
            )
        if self.split.by == "time" and self.data.time_column is None:
            raise ValueError("split.by: time needs data.time_column (the date column the split orders by)")
        if self.train.calendar and self.data.time_column is None:
            raise ValueError("train.calendar needs data.time_column (the date its terms are derived from)")
        if self.task == "regression" and self.data.positive_class is not None:
            raise ValueError("data.positive_class only applies to classification; remove it")
        threshold = self.train.threshold
        if self.task == "regression" and threshold is not None:
            raise ValueError("train.threshold only applies to classification; remove it")
        if (
            isinstance(threshold, Maximise)
            and not evaluation.metric(threshold.maximise, self.task).uses_labels
        ):
            raise ValueError(
                f"train.threshold.maximise: {threshold.maximise!r} does not use predicted classes, so "
                "no threshold changes it; use e.g. f1, recall or balanced_accuracy"
            )
        return self


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; errors name the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML text (plain data only: the safe loader); errors name `where` and the line."""
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as err:
        raise ParamsError(f"{where}: not valid YAML: {err}") from None


def load_params(path: Path | str = "params.yaml") -> Params:
    """Load and validate params; relative paths in them are relative to the file's folder."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections (task, data, split, train, metrics)")
    try:
        params = Params.model_validate(raw)
    except ValidationError as err:
        raise ParamsError(f"{path}: invalid params\n{format_errors(err)}") from None
    params._file = path
    return params


def format_errors(err: ValidationError) -> str:
    """One line per problem: the key path, what was wrong, and the value given."""
    lines = []
    for e in err.errors():
        where = ".".join(str(part) for part in e["loc"]) or "(top level)"
        given = "" if e["type"] in {"missing", "value_error"} else f" (got {e['input']!r})"
        lines.append(f"  {where}: {e['msg']}{given}")
    return "\n".join(lines)
