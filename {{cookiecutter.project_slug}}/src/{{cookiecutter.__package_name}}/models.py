"""Candidate pipelines, and saving/loading a trained model without pickle.

A saved model is a folder: `model.skops` (skops format: loading it cannot run
arbitrary code), `model.json` (what the model expects and predicts), `metrics.json`
and `trained-rows.npz` (which rows of its data file it trained on, so a later review
can leave them out of its holdout). Loading only accepts the types in TRUSTED_TYPES.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from . import overlap
from .data import write_json
from .errors import ModelError, ParamsError
from .evaluation import proba_columns
from .settings import Candidate

ESTIMATORS: dict[tuple[str, str], type[BaseEstimator]] = {
    ("classification", "linear"): LogisticRegression,
    ("classification", "random_forest"): RandomForestClassifier,
    ("classification", "hist_gradient_boosting"): HistGradientBoostingClassifier,
    ("regression", "linear"): Ridge,
    ("regression", "random_forest"): RandomForestRegressor,
    ("regression", "hist_gradient_boosting"): HistGradientBoostingRegressor,
}
# Types skops cannot prove safe on its own, reviewed for these pipelines. A new
# candidate that needs more fails at save time, naming the type to review.
TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
]
MODEL_FILE, META_FILE, METRICS_FILE = "model.skops", "model.json", "metrics.json"


def build_pipeline(
    name: str, candidate: Candidate, task: str, numeric: list[str], categorical: list[str], seed: int
) -> Pipeline:
    """Preprocessing (imputation, scaling, one-hot) plus the candidate's estimator."""
    estimator = ESTIMATORS[(task, candidate.estimator)]()
    allowed = estimator.get_params()
    unknown = sorted(set(candidate.params) - set(allowed))
    if unknown:
        raise ParamsError(
            f"train.candidates.{name}.params: unknown parameter(s) {unknown} for "
            f"{type(estimator).__name__}; expected some of {sorted(allowed)}"
        )
    if "random_state" in allowed:
        estimator.set_params(random_state=seed)
    estimator.set_params(**candidate.params)
    preprocess = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                categorical,
            ),
        ]
    )
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def predict_file(model_dir: Path, input_file: Path, output_file: Path) -> int:
    """Validate `input_file` against schema.Features, predict every row, write them in order."""
    from . import data, schema

    data.writer_for(output_file)  # fail before the work, not after
    frame = data.read_table(input_file)
    features = data.validate(frame, schema.Features, str(input_file))
    model, info = load(model_dir)
    check_features(info, *data.feature_columns())
    predictions = predict_frame(model, features)
    data.write_table(predictions, output_file)
    return len(predictions)


def predict_frame(model: Pipeline, features: pd.DataFrame) -> pd.DataFrame:
    """`prediction`, plus `proba_<class>` per class for classifiers."""
    # Preprocess once for both calls (what Pipeline.predict and .predict_proba each do first):
    # the ColumnTransformer is most of a small batch's time.
    estimator = model[-1]
    rows = model[:-1].transform(features)
    out = pd.DataFrame({"prediction": estimator.predict(rows)}, index=features.index)
    if hasattr(estimator, "predict_proba"):
        out[proba_columns(model.classes_)] = estimator.predict_proba(rows)
    return out


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


def save(model: Pipeline, info: ModelInfo, metrics: dict, trained_rows, out_dir: Path) -> None:
    """The model folder; `trained_rows` is True for each row of the data file the model trained on."""
    blob = sio.dumps(model)
    untrusted = sorted(set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(
            f"the model holds types not yet reviewed: {untrusted}; review them, then add to TRUSTED_TYPES"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(blob)
    write_json(out_dir / META_FILE, asdict(info))
    write_json(out_dir / METRICS_FILE, metrics)
    overlap.write_trained_rows(out_dir, trained_rows)


def load(model_dir: Path) -> tuple[Pipeline, ModelInfo]:
    """Load a model folder, refusing any type outside TRUSTED_TYPES."""
    model_dir = Path(model_dir)
    paths = [model_dir / MODEL_FILE, model_dir / META_FILE]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"{model_dir}: not a model folder (missing {missing}); run `train` first")
    blob = paths[0].read_bytes()
    untrusted = sorted(set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelError(f"{paths[0]}: refusing to load untrusted types {untrusted}")
    return sio.loads(blob, trusted=TRUSTED_TYPES), read_info(model_dir)


def read_info(model_dir: Path) -> ModelInfo:
    """What a model folder's model expects and predicts, without loading the model."""
    return ModelInfo(**json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8")))


def check_features(info: ModelInfo, numeric: list[str], categorical: list[str]) -> None:
    """The model must expect the features schema.py declares now (it may predate an infer-schema)."""
    expected, declared = set(info.numeric + info.categorical), set(numeric + categorical)
    if expected != declared or set(info.numeric) != set(numeric):
        raise ModelError(
            "the model was trained on other features than schema.Features declares "
            f"(only in the model: {sorted(expected - declared)}, "
            f"only in the schema: {sorted(declared - expected)}, "
            f"numeric in the model: {sorted(info.numeric)}); retrain it with `train`"
        )
