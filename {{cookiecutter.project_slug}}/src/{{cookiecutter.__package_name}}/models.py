"""Candidate pipelines, and saving/loading a trained model without pickle.

A saved model is a folder: `model.skops` (skops format: loading it cannot run
arbitrary code), `model.json` (what the model expects and predicts), `schema.json` (the
training data's pandera schema at training time: the contract the service checks requests
against, so a champion served beside a newer shadow keeps its own), `metrics.json`
and `trained-rows.npz` (which rows of its data file it trained on, so a later review
can leave them out of its holdout).

Loading only accepts scikit-learn's types, TRUSTED_TYPES and the `train.trusted_types` of the
params.yaml in the checkout that loads it, never a list stored with the model: a model file cannot
vouch for itself, and a pull request that trusts a new type is reviewed like any other change.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import skops.io as sio
from sklearn.base import BaseEstimator, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from . import dates, overlap  # noqa: F401 (dates registers the check a stored schema may name)
from .calendar_terms import CalendarTerms
from .data import write_json
from .errors import ModelError, ParamsError
from .evaluation import proba_columns
from .records import META_FILE, METRICS_FILE, ModelInfo, Refused, read_info
from .settings import ALIASES, Candidate

IS_TASK = {"classification": is_classifier, "regression": is_regressor}
# Types skops cannot prove safe on its own, reviewed for scikit-learn's pipelines. A candidate
# that needs more fails at save time, naming the types to review and add to train.trusted_types.
TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
    # Histogram gradient boosting on native categories keeps a preprocessor of its own that calls
    # scikit-learn's check_array through a partial (skops checks the partial's function separately).
    "functools.partial",
    "sklearn.utils.validation.check_array",
    f"{__package__}.calendar_terms.CalendarTerms",  # train.calendar: this package's own transformer
]
MODEL_FILE = "model.skops"
SCHEMA_FILE = "schema.json"  # the training data's pandera schema, as pandera serialises it
# In BentoML's store (`build`): the service, its model, and the settings stored with the model.
BENTO_NAME = "{{ cookiecutter.project_slug }}"
MODEL_NAME = f"{BENTO_NAME}-model"
SERVING_FILE = "serving.json"  # params.serving and train.trusted_types, for service.py


def is_alias(params, name: str) -> bool:
    """Whether candidate `name` uses a built-in alias (whose types are reviewed here)."""
    return (params.task, params.train.candidates[name].estimator) in ALIASES


def estimator_class(name: str, candidate: Candidate, task: str) -> type[BaseEstimator]:
    """The candidate's estimator class, from its alias or import path, checked to fit the task."""
    where = f"train.candidates.{name}.estimator"
    module_name, _, class_name = ALIASES.get((task, candidate.estimator), candidate.estimator).rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name)
    except ModuleNotFoundError as err:
        top = (err.name or module_name).split(".")[0]
        raise ParamsError(
            f"{where}: cannot import {module_name} (add it to the project: `uv add {top}`)"
        ) from None
    except AttributeError:
        raise ParamsError(f"{where}: {module_name} has no {class_name}") from None
    if not (inspect.isclass(found) and hasattr(found, "fit") and hasattr(found, "get_params")):
        raise ParamsError(f"{where}: {candidate.estimator} is not a scikit-learn-compatible estimator")
    if not IS_TASK[task](found()):
        raise ParamsError(f"{where}: {candidate.estimator} is not a {task} estimator")
    return found


def build_pipeline(
    name: str,
    candidate: Candidate,
    task: str,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    calendar: tuple[str, CalendarTerms] | None = None,
) -> Pipeline:
    """Preprocessing (imputation, scaling, one-hot; `calendar`: a date column and the terms derived
    from it) plus the candidate's estimator."""
    cls = estimator_class(name, candidate, task)
    estimator = cls()
    allowed = estimator.get_params()
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())
    unknown = [] if takes_any else sorted(set(candidate.params) - set(allowed))
    if unknown:
        raise ParamsError(
            f"train.candidates.{name}.params: unknown parameter(s) {unknown} for "
            f"{type(estimator).__name__}; expected some of {sorted(allowed)}"
        )
    if "random_state" in allowed:
        estimator.set_params(random_state=seed)
    if fits_in_parallel(estimator):
        estimator.set_params(n_jobs=-1)  # members fit on every core (a random forest: 2x on 2); see `fit`
    estimator.set_params(**candidate.params)
    if "categorical_features" in allowed and "categorical_features" not in candidate.params:
        return native_categories(estimator, numeric, categorical, calendar)
    steps = [
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
    if calendar is not None:  # terms in [-1, 1] and the year: imputed and scaled like numbers
        terms = make_pipeline(calendar[1], SimpleImputer(strategy="median"), StandardScaler())
        steps.append(("calendar", terms, [calendar[0]]))
    return Pipeline([("preprocess", ColumnTransformer(steps)), ("estimator", estimator)])


def native_categories(
    estimator: BaseEstimator,
    numeric: list[str],
    categorical: list[str],
    calendar: tuple[str, CalendarTerms] | None = None,
) -> Pipeline:
    """For estimators that split on categories themselves (histogram gradient boosting): one code per
    category instead of one column per category, and missing values left to the estimator.

    2.6x faster than one-hot encoding at 800k rows, with the same accuracy (BENCHMARKS.md).
    """
    codes = OrdinalEncoder(
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,  # a category never seen in training: treated as missing
        max_categories=255,  # the most a histogram estimator can split on; the rarest share one code
    )
    steps = [("categorical", codes, categorical), ("numeric", "passthrough", numeric)]
    if calendar is not None:  # after the categories, whose positions the estimator is given
        steps.append(("calendar", calendar[1], [calendar[0]]))
    preprocess = ColumnTransformer(steps)
    estimator.set_params(categorical_features=list(range(len(categorical))) or None)
    return Pipeline([("preprocess", preprocess), ("estimator", estimator)])


def fit(pipeline: Pipeline, X: pd.DataFrame, y: pd.Series) -> Pipeline:
    """Fit on every core the estimator can use, then predict on one.

    One core: a random forest that spreads a service's one-row request over threads answers in 22 ms
    instead of 4, and its threads add up the trees' votes in no fixed order, so the same model's
    scores would differ in the last digits from run to run.
    """
    pipeline.fit(X, y)
    final = pipeline[-1]
    for estimator in (final, getattr(final, "estimator_", None)):  # and a threshold's fitted model
        if estimator is not None and fits_in_parallel(estimator):
            estimator.set_params(n_jobs=None)
    return pipeline


def fits_in_parallel(estimator) -> bool:
    """scikit-learn's ensembles (random forests, extra trees, bagging): members fit in parallel."""
    module = type(estimator).__module__
    return module.startswith("sklearn.ensemble") and "n_jobs" in estimator.get_params(deep=False)


def decision_rule(info: ModelInfo) -> str | None:
    """How a classifier's probabilities become its prediction, in words (None for a regression)."""
    if not info.classes:
        return None
    if info.threshold is None or info.positive_class is None:
        return "the most probable class"
    positive = info.positive_class
    (other,) = [c for c in info.classes if c != positive]
    return f"{positive} when P({positive}) is at least {info.threshold:.4g}, else {other}"


def with_threshold(pipeline: Pipeline, threshold: float | None, positive) -> Pipeline:
    """Binary classification: predict `positive` when its probability reaches `threshold`."""
    if threshold is None:
        return pipeline
    decide = FixedThresholdClassifier(pipeline.steps[-1][1], threshold=threshold, pos_label=positive)
    return Pipeline([*pipeline.steps[:-1], ("estimator", decide)])


def predict_file(
    model_dir: Path, input_file: Path, output_file: Path, trusted: list[str], refused: Path | None = None
) -> int:
    """Validate `input_file` against schema.Features, predict every row, write them in order.

    `refused`: instead of failing on rows the schema refuses, predict the others and record the
    refused rows' positions and the checks they failed there (what `compare` leaves out and counts).
    """
    from . import data, schema

    data.writer_for(output_file)  # fail before the work, not after
    frame = data.read_table(input_file)
    if refused is None:
        features = data.validate(frame, schema.Features, str(input_file))
    else:
        features, failures = data.valid_rows(frame, schema.Features, str(input_file))
        write_refused(refused, frame.index.difference(features.index), failures)
    model, info = load(model_dir, trusted)
    check_features(info, *data.feature_columns())
    predictions = predict_frame(model, features) if len(features) else pd.DataFrame({"prediction": []})
    data.write_table(predictions, output_file)
    return len(predictions)


def write_refused(path: Path, rows: pd.Index, failures: pd.DataFrame | None) -> None:
    """Positions of the rows the schema refused, and each failed check's count (no values: data stays out)."""
    from . import data

    checks = [] if failures is None else data.failure_summary(failures)
    record: Refused = {
        "rows": [int(i) for i in rows],
        "checks": [{"column": c["column"], "check": c["check"], "count": c["count"]} for c in checks],
    }
    data.write_json(path, record)


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


def save(
    model: Pipeline,
    info: ModelInfo,
    metrics: dict,
    trained_rows,
    out_dir: Path,
    trusted: list[str],
    contract: pa.DataFrameSchema,
) -> None:
    """The model folder; `trained_rows` is True for each row of the data file the model trained on,
    `contract` the schema of the data it trained on."""
    blob = check_trusted(model, trusted)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(blob)
    write_json(out_dir / META_FILE, asdict(info))
    (out_dir / SCHEMA_FILE).write_text(contract.to_json(indent=2), encoding="utf-8")
    write_json(out_dir / METRICS_FILE, metrics)
    overlap.write_trained_rows(out_dir, trained_rows)


def check_trusted(model, trusted: list[str], what: str = "the model") -> bytes:
    """The model in skops format; ModelError naming the types it holds that are not trusted yet."""
    blob = sio.dumps(model)
    untrusted = untrusted_types(blob, trusted)
    if untrusted:
        raise ModelError(
            f"{what} holds types that are not trusted yet: {untrusted}. Loading a model runs code of "
            "these types: once you have reviewed them (they should come from packages you depend on), "
            "add them to train.trusted_types in params.yaml:\n"
            f"  trusted_types: [{', '.join(sorted({*trusted, *untrusted}))}]"
        )
    return blob


def untrusted_types(blob: bytes, trusted: list[str]) -> list[str]:
    return sorted(set(sio.get_untrusted_types(data=blob)) - set(TRUSTED_TYPES) - set(trusted))


def load(model_dir: Path, trusted: list[str]) -> tuple[Pipeline, ModelInfo]:
    """Load a model folder, refusing any type outside TRUSTED_TYPES and `trusted` (params.yaml's)."""
    model_dir = Path(model_dir)
    paths = [model_dir / MODEL_FILE, model_dir / META_FILE]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelError(f"{model_dir}: not a model folder (missing {missing}); run `train` first")
    blob = paths[0].read_bytes()
    untrusted = untrusted_types(blob, trusted)
    if untrusted:
        raise ModelError(
            f"{paths[0]}: refusing to load types that train.trusted_types in params.yaml does not list: "
            f"{untrusted}"
        )
    return sio.loads(blob, trusted=[*TRUSTED_TYPES, *trusted]), read_info(model_dir)


def read_schema(model_dir: Path) -> pa.DataFrameSchema:
    """The schema of the data a model folder's model trained on (what its requests must meet)."""
    path = Path(model_dir) / SCHEMA_FILE
    if not path.is_file():
        raise ModelError(
            f"{model_dir}: no {SCHEMA_FILE} (the model predates models carrying their schema); "
            "retrain it with `train`"
        )
    return pa.DataFrameSchema.from_json(path.read_text(encoding="utf-8"))


def model_version(model_dir: Path) -> str:
    """The stored model's version: a hash of its training's record, so the same training always has
    the same tag. Not of model.skops: skops names the archive's members by object ids, so the same
    training writes other bytes each time. The record (the data, holdout, schema and params hashes,
    the commit, the chosen candidate, its holdout values), model.json and schema.json are
    deterministic, as the release relies on (release.check_review); the drift check's retrained
    model and the released one share a tag, so the log's answers can be matched to their model."""
    digest = hashlib.sha256()
    for name in (META_FILE, SCHEMA_FILE, METRICS_FILE):
        digest.update((Path(model_dir) / name).read_bytes())
    return digest.hexdigest()[:16]


def model_tag(model_dir: Path) -> str:
    """The model's tag in BentoML's store, the service's answers and the prediction log."""
    return f"{MODEL_NAME}:{model_version(model_dir)}"


def check_features(info: ModelInfo, numeric: list[str], categorical: list[str]) -> None:
    """The model must expect the features schema.py declares now (it may predate an infer-schema)."""
    from . import schema

    expected, declared = set(info.numeric + info.categorical), set(numeric + categorical)
    undeclared = sorted(set(info.dates) - set(schema.Features.to_schema().columns))
    if undeclared:
        raise ModelError(
            f"the model derives calendar terms from {undeclared}, which schema.Features does not declare; "
            "retrain it with `train`"
        )
    if expected != declared or set(info.numeric) != set(numeric):
        raise ModelError(
            "the model was trained on other features than schema.Features declares "
            f"(only in the model: {sorted(expected - declared)}, "
            f"only in the schema: {sorted(declared - expected)}, "
            f"numeric in the model: {sorted(info.numeric)}); retrain it with `train`"
        )
