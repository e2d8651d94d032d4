"""The BentoML service: the model `build` stored, behind one batchable prediction API.

Requests are lists of records whose fields and checks come from schema.py (records.py), so a bad
payload gets HTTP 400 naming the field before it reaches the model. Concurrent requests are
merged into one model call (adaptive batching): a scikit-learn pipeline costs about the same for
1 row as for 64, so batching is where throughput comes from. `/healthz`, `/livez`, `/readyz` and
`/metrics` (Prometheus) are BentoML's own.

Run it with `{{ cookiecutter.project_slug }} serve`; package it with `{{ cookiecutter.project_slug }} build`.
"""

from __future__ import annotations

import gc
import json
import os

# One thread per worker for every numeric library: the workers already use the cores, and
# OpenMP threads on top of them stall the service (set before numpy or scikit-learn load).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import bentoml  # noqa: E402
import pandas as pd  # noqa: E402
from bentoml.validators import ContentType  # noqa: E402
from pydantic import Field  # noqa: E402

from . import models, schema  # noqa: E402
from .errors import ProjectError  # noqa: E402
from .records import MAX_RECORDS, Prediction, record_model  # noqa: E402
from .release import BENTO_NAME, MODEL_NAME, SERVING_FILE  # noqa: E402

# Which stored model to serve: `serve` and `build` set the tag they stored; a bento pins it.
MODEL_TAG = os.environ.get("MODEL_TAG", f"{MODEL_NAME}:latest")
WORKERS = int(os.environ.get("SERVICE_WORKERS", "2"))

stored = bentoml.models.get(MODEL_TAG)
info = models.read_info(Path(stored.path))
FEATURES = info.numeric + info.categorical
Record = record_model(schema.TrainingData.to_schema(), FEATURES, info.target)
COLUMNS = list(Record.model_fields)
Records = Annotated[list[Record], Field(min_length=1, max_length=MAX_RECORDS)]
# The media type stated up front: without it BentoML rebuilds the output's JSON schema on every
# response to find it (a third of a worker's time under load).
Predictions = Annotated[list[Prediction], ContentType("application/json")]


@bentoml.service(
    name=BENTO_NAME,
    workers=WORKERS,
    traffic={"timeout": 30},
    # No OpenTelemetry spans for predictions (tracing is not exported by default; spans were used
    # only for the trace ids in access logs). BentoML keeps each request's context, spans included,
    # for the whole traffic timeout, and full garbage collections over them stalled the workers:
    # 1.7x the throughput at 32 concurrent requests. Remove this line when you export traces.
    tracing={"excluded_urls": ["/predict"]},
    # Baked into the bento's image: the model it was built with, one numeric thread per worker.
    envs=[{"name": "MODEL_TAG", "value": MODEL_TAG}, {"name": "OMP_NUM_THREADS", "value": "1"}],
)
class Predictor:
    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        self.model, _ = models.load(Path(self.model_ref.path))  # skops, trusted types only
        self.tag = str(self.model_ref.tag)
        self.classes = [str(c) for c in getattr(self.model, "classes_", [])]
        serving = json.loads(Path(self.model_ref.path_of(SERVING_FILE)).read_text(encoding="utf-8"))
        self.log = prediction_log(serving, info.target)
        # Everything loaded so far (libraries, model) lives as long as the worker: keep it out of
        # the garbage collector's full passes, which otherwise stall all requests for 0.2-0.5 s.
        gc.freeze()

    # Concurrent requests are merged up to max_batch_size rows; max_latency_ms is a deadline
    # per request, so a tight one turns load into 503s: keep it generous.
    @bentoml.api(batchable=True, max_batch_size=128, max_latency_ms=10_000)
    def predict(self, records: Records) -> Predictions:
        """Predict each record: the class and class probabilities, or the value; and the model's tag."""
        frame = pd.DataFrame.from_records([r.__dict__ for r in records], columns=COLUMNS)
        out = models.predict_frame(self.model, frame[FEATURES])
        ids = self.log.write(frame, out, self.tag) if self.log else [None] * len(frame)
        values = out["prediction"].tolist()
        if not self.classes:
            return [
                Prediction(prediction=v, model=self.tag, prediction_id=i)
                for v, i in zip(values, ids, strict=True)
            ]
        probabilities = out.drop(columns="prediction").to_numpy().tolist()
        return [
            Prediction(
                prediction=v,
                probabilities=dict(zip(self.classes, p, strict=True)),
                model=self.tag,
                prediction_id=i,
            )
            for v, p, i in zip(values, probabilities, ids, strict=True)
        ]


def prediction_log(settings: dict, target: str):
    """The SQL prediction log when params turned it on (serving.log_predictions), else None."""
    from .sources import PredictionLog

    logging = settings.get("log_predictions")
    if not logging:
        return None
    url = os.environ.get(logging["url_env"])
    if not url:
        raise ProjectError(
            f"serving.log_predictions: the environment variable {logging['url_env']} is not set "
            "(the database URL for the prediction log)"
        )
    return PredictionLog(url, logging["table"], target)
