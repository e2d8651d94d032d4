"""The BentoML service: the model `build` stored, behind one batchable prediction API.

Requests are lists of records whose fields and checks come from schema.py (records.py), so a bad
payload gets HTTP 400 naming the field before it reaches the model. Concurrent requests are
merged into one model call (adaptive batching): a scikit-learn pipeline costs about the same for
1 row as for 64, so batching is where throughput comes from. A body that is not JSON (415) or is
larger than MAX_RECORDS records can be (413) is refused before it is read. `/healthz`, `/livez`,
`/readyz` and `/metrics` (Prometheus) are BentoML's own.

Run it with `{{ cookiecutter.project_slug }} serve`; package it with `{{ cookiecutter.project_slug }} build`.
"""

from __future__ import annotations

import contextlib
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
from .models import BENTO_NAME, MODEL_NAME, SERVING_FILE  # noqa: E402
from .records import MAX_RECORDS, Prediction, body_limit, record_model  # noqa: E402

# Which stored model to serve: `serve` and `build` set the tag they stored; a bento pins it.
MODEL_TAG = os.environ.get("MODEL_TAG", f"{MODEL_NAME}:latest")
WORKERS = int(os.environ.get("SERVICE_WORKERS", "2"))

stored = bentoml.models.get(MODEL_TAG)
info = models.read_info(Path(stored.path))
FEATURES = info.numeric + info.categorical
TRAINING = schema.TrainingData.to_schema()
Record = record_model(TRAINING, FEATURES, info.target)
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
        serving = json.loads(Path(self.model_ref.path_of(SERVING_FILE)).read_text(encoding="utf-8"))
        # skops, with the types trusted by params.yaml at the commit `build` ran at
        self.model, _ = models.load(Path(self.model_ref.path), serving.get("trusted_types", []))
        self.tag = str(self.model_ref.tag)
        self.classes = [str(c) for c in getattr(self.model, "classes_", [])]
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


class BodyLimit:
    """Refuses a POST to an API route before its body is read: not application/json (415), or over
    `limit` bytes (413: by its Content-Length, or counted as a chunked body streams in).

    BentoML reads the whole body and parses all of it before the record cap applies, so one large
    body could take a worker's memory. Pure ASGI: the body passes through uncopied, nothing is held.
    Refusals close the connection, so the server does not go on reading what it will not use.
    """

    def __init__(self, app, paths: set[str], limit: int, message: str) -> None:
        self.app, self.paths, self.limit, self.message = app, paths, limit, message

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])  # ASGI header names are lower-case
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media_type != b"application/json":
            return await refuse(send, 415, "unsupported_media_type", "content-type", JSON_ONLY)
        if int(headers.get(b"content-length", 0)) > self.limit:  # the server checked it is a number
            return await refuse(send, 413, "body_too_large", "body", self.message)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                await refuse(send, 413, "body_too_large", "body", self.message)  # the client's answer
                raise Refused  # and stop the app that is reading the body
            return message

        with contextlib.suppress(Refused):
            await self.app(scope, counted, send)


class Refused(BaseException):
    """A body over the limit, raised into the app's read: not an Exception, so BentoML's handler
    (which would log a traceback and answer 500 for any Exception) lets it through to BodyLimit."""


JSON_ONLY = "content-type must be application/json: send the records as a JSON body"


async def refuse(send, status: int, kind: str, where: str, message: str) -> None:
    """An error in the shape of BentoML's 400s ({"error", "detail": [{type, loc, msg}]})."""
    detail = [{"type": kind, "loc": [where], "msg": message}]
    body = json.dumps({"error": message, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


BODY_LIMIT, TOO_LARGE = body_limit(TRAINING, info.target)
# BentoML runs service middleware inside its own (metrics, access log, timeout): refusals are
# counted in /metrics and logged like any answer; the probes and /metrics are not API routes.
Predictor.add_asgi_middleware(
    BodyLimit, paths={api.route for api in Predictor.apis.values()}, limit=BODY_LIMIT, message=TOO_LARGE
)


def prediction_log(settings: dict, target: str):
    """The SQL prediction log when params turned it on (serving.log_predictions), else None."""
    from .prediction_log import PredictionLog

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
