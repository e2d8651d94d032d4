"""Select a candidate by cross-validation on the train split, fit it, score it on the holdout.

Everything random is seeded from params and the split is a hash of each row,
so the same commit and data give the same model and the same metrics.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.utils import resample
from sklearn.utils._param_validation import InvalidParameterError  # raised by every estimator since 1.2

from . import data, dates, evaluation, git, models, progress, schema
from .calendar_terms import CalendarTerms
from .errors import ParamsError
from .records import Label
from .settings import Maximise, Params

LIBRARIES = ("numpy", "pandas", "pandera", "scikit-learn", "skops")


def resolve_positive_class(params: Params, classes: list[Label]) -> Label | None:
    """The positive class as the model sees it (params may say 1 where the labels are ints)."""
    if len(classes) != 2:
        return None
    wanted = params.data.positive_class
    if wanted is None:
        raise ParamsError(f"data.positive_class: required for binary classification; one of {classes}")
    matches = [c for c in classes if str(c) == str(wanted)]
    if not matches:
        raise ParamsError(f"data.positive_class: {wanted!r} is not a class of the target; one of {classes}")
    return matches[0]


def cross_validation(params: Params, X: pd.DataFrame, y: pd.Series, classes: list, positive) -> list[dict]:
    """Leaderboard of candidates on the train split: the primary metric's mean and std across folds."""
    numeric, categorical = data.feature_columns()
    setting = params.train.threshold if len(classes) == 2 else None
    order = list(params.train.candidates)
    board = []
    # Candidates by import path first: their first fold checks their types can be trusted (fail fast).
    for name in sorted(order, key=lambda name: models.is_alias(params, name)):
        candidate = params.train.candidates[name]
        seed = params.train.seed
        pipeline = models.build_pipeline(
            name, candidate, params.task, numeric, categorical, seed, calendar_for(params)
        )
        check = None if models.is_alias(params, name) else params.train.trusted_types
        row = cross_validate(params, name, pipeline, (X, y), classes, positive, setting, check)
        board.append({"candidate": name, "estimator": candidate.estimator, **row})
    direction = evaluation.direction(params.train.primary_metric)
    # Best first; ties keep the order of params.yaml.
    return sorted(board, key=lambda row: (-direction * row["mean"], order.index(row["candidate"])))


def cross_validate(
    params: Params, name: str, pipeline, train: tuple, classes: list, positive, setting, trusted=None
) -> dict:
    """The pipeline's fold scores on the train split, and the threshold they were scored at.

    `setting` {maximise: metric}: the threshold that maximises the metric on the out-of-fold
    predictions of all folds; a number: that threshold; None: the estimator's own decision.
    `trusted`: check on the first fold that the model holds only these (and scikit-learn's) types.
    """
    X, y = train
    metric, folds = params.train.primary_metric, folds_for(params)
    tuned = isinstance(setting, Maximise)
    known_per_fold = not (tuned and evaluation.uses_labels(metric))  # else: once the threshold is chosen
    out_of_fold = []
    with progress.step(f"Cross-validating {name} ({folds.n_splits} folds)") as candidate_note:
        # Fold by fold (as cross_validate does, sequentially) to say how far it is.
        for fold, (fit_rows, check_rows) in enumerate(folds.split(X, y), start=1):
            with progress.step(f"  {name} fold {fold}/{folds.n_splits}", announce=False) as note:
                try:
                    model = models.fit(clone(pipeline), X.iloc[fit_rows], y.iloc[fit_rows])
                except InvalidParameterError as err:  # a known parameter with a value it refuses
                    raise ParamsError(f"train.candidates.{name}.params: {err}") from None
                if fold == 1 and trusted is not None:
                    # Before the long part: a candidate that could win must be one we can save and load.
                    models.check_trusted(model, trusted, f"train.candidates.{name}")
                preds = models.predict_frame(model, X.iloc[check_rows])
                out_of_fold.append((y.iloc[check_rows], preds))
                if known_per_fold:
                    value = score_at(metric, *out_of_fold[-1], classes, positive, None if tuned else setting)
                    note["result"] = f"{metric} {value:.4f}"
        threshold = best_threshold(setting.maximise, out_of_fold, classes, positive) if tuned else setting
        scores = [score_at(metric, *fold, classes, positive, threshold) for fold in out_of_fold]
        at = "" if threshold is None else f" at threshold {threshold:.2f}"
        candidate_note["result"] = f"{metric} {np.mean(scores):.4f} ± {np.std(scores):.4f}{at}"
    return {
        "mean": float(np.mean(scores)),
        "std": float(np.std(scores)),
        "scores": [float(s) for s in scores],
        "threshold": threshold,
    }


def cv_sample(params: Params, X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """At most `train.cv_rows` rows of the train split to cross-validate on: seeded, and by class,
    kept in the order given (time order, for forward cross-validation)."""
    limit = params.train.cv_rows
    if limit is None or len(X) <= limit:
        return X, y
    by_class = y if params.task == "classification" else None
    positions = resample(
        np.arange(len(X)), replace=False, n_samples=limit, stratify=by_class, random_state=params.train.seed
    )
    positions = np.sort(positions)
    return X.iloc[positions], y.iloc[positions]


def folds_for(params: Params):
    """Shuffled folds (by class for classification); by time, forward-chaining: each fold trains on
    the rows before the ones it validates on (the rows come in time order)."""
    if params.split.by == "time":
        return TimeSeriesSplit(n_splits=params.train.cv_folds)
    folds_cls = StratifiedKFold if params.task == "classification" else KFold
    return folds_cls(n_splits=params.train.cv_folds, shuffle=True, random_state=params.train.seed)


def score_at(metric: str, y: pd.Series, preds: pd.DataFrame, classes: list, positive, threshold) -> float:
    """`metric` of predictions whose classes are decided at `threshold` (NaN when undefined)."""
    value = evaluation.score(
        metric, y, evaluation.at_threshold(preds, threshold, classes, positive), classes, positive
    )
    return np.nan if value is None else value


def best_threshold(metric: str, out_of_fold: list[tuple], classes: list, positive) -> float:
    """The threshold (0.01 to 0.99) that maximises `metric` on the out-of-fold predictions."""
    # As booleans (True: positive): sklearn scores these ~20x faster than string labels.
    hit = pd.concat([y for y, _ in out_of_fold], ignore_index=True).to_numpy() == positive
    proba = pd.concat([p for _, p in out_of_fold], ignore_index=True)[f"{evaluation.PROBA_PREFIX}{positive}"]
    binary = pd.DataFrame({"proba_False": 1 - proba.to_numpy(), "proba_True": proba.to_numpy()})
    grid = np.round(np.arange(1, 100) / 100, 2)
    values = evaluation.direction(metric) * np.array(
        [score_at(metric, hit, binary, [False, True], True, t) for t in grid]
    )
    return float(grid[np.nanargmax(values)]) if not np.isnan(values).all() else 0.5


def no_skill(params: Params, cv: tuple, train: tuple, holdout: tuple, classes: list, positive) -> dict:
    """A dummy model (the class priors, or the mean): what "no skill" scores, in CV and on the holdout."""
    dummy = DummyClassifier() if classes else DummyRegressor()  # priors, or the mean
    pipeline = Pipeline([("preprocess", "passthrough"), ("estimator", dummy)])
    row = cross_validate(params, "no skill", pipeline, cv, classes, positive, setting=None)
    fitted = pipeline.fit(*train)
    answer = models.predict_frame(fitted, train[0].head(1))  # the same for every row
    return {
        "cv": {k: row[k] for k in ("mean", "std", "scores")},
        "holdout": evaluation.score_all(
            params.metrics, holdout[1], models.predict_frame(fitted, holdout[0]), classes, positive
        ),
        "answer": json.loads(answer.to_json(orient="records"))[0],
    }


def train(params: Params, out_dir: Path) -> dict:
    """Train, save the winner to `out_dir` and return its metrics.json content."""
    with progress.step(f"Reading and validating {params.data_path.name}") as note:
        frame = data.load_training_data(params)
        note["result"] = f"{len(frame):,} rows"
    parts = data.split(frame, params)  # by time, the train rows in time order (forward folds)
    target = params.data.target
    numeric, categorical = data.feature_columns()
    calendar = calendar_for(params)
    features = numeric + categorical + ([calendar[0]] if calendar else [])
    X_train, y_train = parts.train[features], parts.train[target]
    X_hold, y_hold = parts.holdout[features], parts.holdout[target]

    classes = sorted(frame[target].unique().tolist()) if params.task == "classification" else []
    positive = resolve_positive_class(params, classes) if classes else None
    X_cv, y_cv = cv_sample(params, X_train, y_train)
    leaderboard = cross_validation(params, X_cv, y_cv, classes, positive)
    baseline = no_skill(params, (X_cv, y_cv), (X_train, y_train), (X_hold, y_hold), classes, positive)
    chosen, threshold = leaderboard[0]["candidate"], leaderboard[0]["threshold"]
    candidate = params.train.candidates[chosen]
    model = models.build_pipeline(
        chosen, candidate, params.task, numeric, categorical, params.train.seed, calendar
    )
    model = models.with_threshold(model, threshold, positive)
    with progress.step(f"Fitting {chosen} on the {len(X_train):,} training rows"):
        models.fit(model, X_train, y_train)

    holdout_preds = models.predict_frame(model, X_hold)
    metrics = {
        "task": params.task,
        "primary_metric": params.train.primary_metric,
        "chosen": chosen,
        "holdout": {
            "rows": len(X_hold),
            "metrics": evaluation.score_all(params.metrics, y_hold, holdout_preds, classes, positive),
            **with_span(parts.holdout, params),
        },
        "train": {"rows": len(X_train), **with_span(parts.train, params)},
        "split": params.split.by,
        "threshold": threshold,
        "threshold_maximises": getattr(params.train.threshold, "maximise", None) if threshold else None,
        "cv": {
            "folds": params.train.cv_folds,
            "rows": len(X_cv),
            "metric": params.train.primary_metric,
            "leaderboard": leaderboard,
        },
        "no_skill": baseline,
        "hashes": {
            "data": data.file_hash(params.data_path),
            "holdout": data.table_hash(parts.holdout),
            "schema": schema_hash(),
            "params": params_hash(params),
        },
        "git": git.state(params.root),
        "versions": versions(),
    }
    info = models.ModelInfo(
        task=params.task,
        target=target,
        numeric=numeric,
        categorical=categorical,
        candidate=chosen,
        estimator=candidate.estimator,
        estimator_params=dict(candidate.params),
        classes=classes,
        positive_class=positive,
        threshold=threshold,
        dates=[calendar[0]] if calendar else [],
        target_deciles=deciles(y_train) if params.task == "regression" else [],
    )
    trained_rows = frame.index.isin(parts.train.index)
    models.save(
        model,
        info,
        metrics,
        trained_rows,
        out_dir,
        params.train.trusted_types,
        schema.TrainingData.to_schema(),
    )
    return metrics


def deciles(y: pd.Series) -> list[float]:
    """The training target's deciles (distinct, 4 significant digits): the buckets in which the
    service counts its predicted values, so a shift in them shows against training."""
    values = np.quantile(y.to_numpy(dtype=float), np.linspace(0.1, 0.9, 9))
    return sorted({float(f"{v:.4g}") for v in values})


def calendar_for(params: Params) -> tuple[str, CalendarTerms] | None:
    """The time column and the transformer of its `train.calendar` terms; None when there are none."""
    column = params.data.time_column
    if not params.train.calendar or column is None:  # settings.py refuses a calendar without one
        return None
    terms = CalendarTerms(format=dates.declared_formats()[column], parts=tuple(params.train.calendar))
    return column, terms


def with_span(frame: pd.DataFrame, params: Params) -> dict:
    """{"span": the period the rows cover}, or {} without a time column."""
    found = data.span(frame, params)
    return {"span": found} if found else {}


def schema_hash() -> str:
    return hashlib.sha256(schema.TrainingData.to_schema().to_json().encode()).hexdigest()


def params_hash(params: Params) -> str:
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def versions() -> dict:
    found = {name: metadata.version(name) for name in LIBRARIES}
    return {"python": platform.python_version(), **found}
