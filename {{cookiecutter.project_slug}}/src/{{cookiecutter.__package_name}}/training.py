"""Select a candidate by cross-validation on the train split, fit it, score it on the holdout.

Everything random is seeded from params and the split is a hash of each row,
so the same commit and data give the same model and the same metrics.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.utils._param_validation import InvalidParameterError  # raised by every estimator since 1.2

from . import data, evaluation, models, progress, schema
from .errors import ParamsError
from .settings import Params

LIBRARIES = ("numpy", "pandas", "pandera", "scikit-learn", "skops")


def resolve_positive_class(params: Params, classes: list) -> object:
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
    metric = params.train.primary_metric
    seed = params.train.seed
    folds_cls = StratifiedKFold if params.task == "classification" else KFold
    folds = folds_cls(n_splits=params.train.cv_folds, shuffle=True, random_state=seed)

    def scorer(estimator, X_val, y_val) -> float:
        value = evaluation.score(metric, y_val, models.predict_frame(estimator, X_val), classes, positive)
        return np.nan if value is None else value

    board = []
    for name, candidate in params.train.candidates.items():
        pipeline = models.build_pipeline(name, candidate, params.task, numeric, categorical, seed)
        scores = []
        with progress.step(f"Cross-validating {name} ({folds.n_splits} folds)") as candidate_note:
            # Fold by fold (as cross_validate does, sequentially) to say how far it is.
            for fold, (fit_rows, check_rows) in enumerate(folds.split(X, y), start=1):
                with progress.step(f"  {name} fold {fold}/{folds.n_splits}", announce=False) as note:
                    try:
                        model = clone(pipeline).fit(X.iloc[fit_rows], y.iloc[fit_rows])
                    except InvalidParameterError as err:  # a known parameter with a value it refuses
                        raise ParamsError(f"train.candidates.{name}.params: {err}") from None
                    scores.append(scorer(model, X.iloc[check_rows], y.iloc[check_rows]))
                    note["result"] = f"{metric} {scores[-1]:.4f}"
            candidate_note["result"] = f"{metric} {np.mean(scores):.4f} ± {np.std(scores):.4f}"
        board.append(
            {
                "candidate": name,
                "estimator": candidate.estimator,
                "mean": float(np.mean(scores)),
                "std": float(np.std(scores)),
                "scores": [float(s) for s in scores],
            }
        )
    direction = evaluation.DIRECTION[metric]
    # Best first; ties keep the order of params.yaml (a stable sort).
    return sorted(board, key=lambda row: -direction * row["mean"])


def train(params: Params, out_dir: Path) -> dict:
    """Train, save the winner to `out_dir` and return its metrics.json content."""
    with progress.step(f"Reading and validating {params.data_path.name}") as note:
        frame = data.load_training_data(params)
        note["result"] = f"{len(frame):,} rows"
    parts = data.split(frame, params)
    target = params.data.target
    numeric, categorical = data.feature_columns()
    features = numeric + categorical
    X_train, y_train = parts.train[features], parts.train[target]
    X_hold, y_hold = parts.holdout[features], parts.holdout[target]

    classes = sorted(frame[target].unique().tolist()) if params.task == "classification" else []
    positive = resolve_positive_class(params, classes) if classes else None
    leaderboard = cross_validation(params, X_train, y_train, classes, positive)
    chosen = leaderboard[0]["candidate"]
    candidate = params.train.candidates[chosen]
    model = models.build_pipeline(chosen, candidate, params.task, numeric, categorical, params.train.seed)
    with progress.step(f"Fitting {chosen} on the {len(X_train):,} training rows"):
        model.fit(X_train, y_train)

    holdout_preds = models.predict_frame(model, X_hold)
    metrics = {
        "task": params.task,
        "primary_metric": params.train.primary_metric,
        "chosen": chosen,
        "holdout": {
            "rows": len(X_hold),
            "metrics": evaluation.score_all(params.metrics, y_hold, holdout_preds, classes, positive),
        },
        "train": {"rows": len(X_train)},
        "cv": {
            "folds": params.train.cv_folds,
            "metric": params.train.primary_metric,
            "leaderboard": leaderboard,
        },
        "hashes": {
            "data": data.file_hash(params.data_path),
            "holdout": data.table_hash(parts.holdout),
            "schema": schema_hash(),
            "params": params_hash(params),
        },
        "git": git_state(params.root),
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
    )
    models.save(model, info, metrics, frame.index.isin(parts.train.index), out_dir)
    return metrics


def schema_hash() -> str:
    return hashlib.sha256(schema.TrainingData.to_schema().to_json().encode()).hexdigest()


def params_hash(params: Params) -> str:
    canonical = json.dumps(params.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def git_state(where: Path) -> dict:
    """The commit the model was trained at, and whether the work tree had uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    return {"commit": commit, "dirty": bool(git("status", "--porcelain")) if commit else None}


def versions() -> dict:
    found = {name: metadata.version(name) for name in LIBRARIES}
    return {"python": platform.python_version(), **found}
