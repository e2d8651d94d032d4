"""The model card: the release notes of a model (what it is for, its data, schema, holdout metrics
with intervals and the no-skill floor, its decision threshold, and how to call the service).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from . import data, models, payloads, records
from .release import PROJECT
from .settings import Params


def project_description() -> str:
    return tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["description"]


def model_card(params: Params, model_dir: Path, image: str | None, review: dict) -> str:
    """The release notes: what the model is for, its data, schema, metrics with intervals, how to call it."""
    from . import bootstrap, reports, schema
    from .retraining import manifest

    model, info = models.load(model_dir, params.train.trusted_types)
    metrics = records.read_training_record(model_dir)
    holdout = data.split(data.load_training_data(params), params).holdout
    predictions = models.predict_frame(model, holdout[info.inputs])
    gate = params.gate
    intervals = bootstrap.absolute_bootstrap(
        holdout[info.target], predictions, params.metrics, info.classes, info.positive_class,
        **gate.bootstrap_args(),
    )  # fmt: skip
    example = json.loads(holdout.head(1).drop(columns=[info.target]).to_json(orient="records"))
    return reports.render(
        "model-card.md.j2",
        description=project_description(),
        info=info,
        decision=models.decision_rule(info),
        shadow_of=params.serving.champion_release,
        metrics=metrics,
        intervals=intervals,
        confidence=gate.confidence,
        columns=schema_table(schema.TrainingData.to_schema(), info),
        training_data=manifest(params, data.read_table(params.data_path)),
        image=image,
        review=review,
        example=json.dumps({"records": example}, indent=2),
        model_tag=models.model_tag(model_dir),
        max_records=payloads.MAX_RECORDS,
        cv_scope=records.cv_scope(metrics["cv"], metrics["train"]["rows"]),
    )


BOUND_WORDS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥", "max_length": "length ≤"}


def schema_table(training, info: models.ModelInfo) -> list[dict]:
    """One row per column of the training data: its role, type and checks (as requests are checked)."""
    features = info.inputs
    rows = []
    for name, column in training.columns.items():
        role = "target" if name == info.target else "feature" if name in features else "not used"
        allowed, bounds, other = payloads.constraints(column)
        words = [f"one of {', '.join(map(str, allowed))}"] if allowed else []
        words += [f"matches `{v}`" if k == "pattern" else f"{BOUND_WORDS[k]} {v}" for k, v in bounds.items()]
        rows.append(
            {"name": name, "role": role, "dtype": str(column.dtype), "checks": "; ".join(words + other)}
        )
    return rows
