"""The BentoML service: the model `build` stored, behind one batchable prediction API.

Requests are lists of records whose fields and checks come from schema.py (payloads.py), so a bad
payload gets HTTP 400 naming the field before it reaches the model. Concurrent requests are
merged into one model call (adaptive batching): a scikit-learn pipeline costs about the same for
1 row as for 64, so batching is where throughput comes from. A body that is not JSON (415) or is
larger than MAX_RECORDS records can be (413) is refused before it is read; a bad one (400) before
BentoML reads it, with at most MAX_ERRORS errors listed. Each refusal is one INFO log line naming
fields, never values. `/healthz`, `/livez`, `/readyz` and `/metrics` (Prometheus) are BentoML's own;
a ready service's `/readyz` says which models it serves. The request contract is the one stored
with the model (its schema.json), so a champion served from an older release keeps its own.

With SHADOW_TAG set, a second model (shadow.py) predicts every batch beside the champion, into the
same prediction-log rows, and answers no one; whatever it fails at is counted, never answered.

Run it with `{{ cookiecutter.project_slug }} serve`;
package it with `{{ cookiecutter.project_slug }} build`.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import json
import logging
import os

# One thread per worker for every numeric library: the workers already use the cores, and
# OpenMP threads on top of them stall the service (set before numpy or scikit-learn load).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from pathlib import Path  # noqa: E402
from typing import Annotated, Any  # noqa: E402

import bentoml  # noqa: E402
import pandas as pd  # noqa: E402
from bentoml.validators import ContentType  # noqa: E402
from pydantic import BaseModel, Field, ValidationError  # noqa: E402
from pydantic_core import from_json  # noqa: E402
from ruamel.yaml import YAML  # noqa: E402

from . import models, shadow  # noqa: E402
from . import service_metrics as metrics  # noqa: E402
from .errors import ProjectError  # noqa: E402
from .models import BENTO_NAME, MODEL_NAME, SERVING_FILE  # noqa: E402
from .payloads import MAX_RECORDS, Prediction, body_limit, record_model  # noqa: E402
from .shadow import Shadow, disagreements  # noqa: E402


def pinned_by_bento() -> dict[str, str]:
    """The environment a bento pins (its bento.yaml's envs: the model tags), when this module runs
    from one. Its image sets them; `bentoml serve <bento>` outside it takes a service's envs from
    the module as it imports it, which would otherwise find none and serve the latest model."""
    manifest = Path(__file__).resolve().parents[2] / "bento.yaml"  # <bento>/src/<package>/service.py
    if not manifest.is_file():
        return {}
    envs = YAML(typ="safe").load(manifest.read_text(encoding="utf-8")).get("envs") or []
    return {env["name"]: str(env["value"]) for env in envs if env.get("value")}


# Which stored models to serve: `serve` and `build` set the tags they stored; a bento pins them.
PINNED = pinned_by_bento()
MODEL_TAG = os.environ.get("MODEL_TAG") or PINNED.get("MODEL_TAG") or f"{MODEL_NAME}:latest"
# A stored model that predicts beside it (shadow.py), or none
SHADOW_TAG = os.environ.get("SHADOW_TAG") or PINNED.get("SHADOW_TAG") or None
WORKERS = int(os.environ.get("SERVICE_WORKERS", "2"))
# Requests in flight per worker; more get 429 at once. Each holds at most BODY_LIMIT bytes of body
# (2.8 MB for the sample schema) while it is read, so 64 bound a worker's bodies to ~180 MB, within
# the Kubernetes pod's 1 GiB beside the worker's ~300 MB. 64 is also the most concurrent clients
# the serving benchmark (and the concurrency test) sends: a worker never turns one of them away,
# and batching is saturated well before (BENCHMARKS.md).
IN_FLIGHT_PER_WORKER = 64
MAX_ERRORS = 10  # listed in a 400; the rest are counted (234k unknown keys once made a 36 MB 400)
logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)  # BentoML's server logs only its own loggers at INFO

stored = bentoml.models.get(MODEL_TAG)
info = models.read_info(Path(stored.path))
FEATURES = info.inputs
TRAINING = models.read_schema(Path(stored.path))  # the champion's own contract
Record = record_model(TRAINING, FEATURES, info.target)
COLUMNS = list(Record.model_fields)
Records = Annotated[list[Record], Field(min_length=1, max_length=MAX_RECORDS)]
# The media type stated up front: without it BentoML rebuilds the output's JSON schema on every
# response to find it (a third of a worker's time under load).
Predictions = Annotated[list[Prediction], ContentType("application/json")]
VERSION = str(stored.tag)  # every series of service_metrics carries it
DECISION = models.decision_rule(info)
VALUES = metrics.value_histogram(info.target_deciles) if not info.classes else None
metrics.LOG_FAILURES.labels(VERSION)  # served at 0 from the start, so a dashboard can alert on it
# This worker's models, as /readyz reports them: the shadow's state is set when the worker starts.
MODELS: dict[str, Any] = {"champion": VERSION, "shadow": None}


@bentoml.service(
    name=BENTO_NAME,
    workers=WORKERS,
    # BentoML divides max_concurrency among the workers
    traffic={"timeout": 30, "max_concurrency": IN_FLIGHT_PER_WORKER * WORKERS},
    # No OpenTelemetry spans for predictions (tracing is not exported by default; spans were used
    # only for the trace ids in access logs). BentoML keeps each request's context, spans included,
    # for the whole traffic timeout, and full garbage collections over them stalled the workers:
    # 1.7x the throughput at 32 concurrent requests. Remove this line when you export traces.
    tracing={"excluded_urls": ["/predict"]},
    # Baked into the bento's image: the model it was built with, one numeric thread per worker.
    envs=[
        {"name": "MODEL_TAG", "value": MODEL_TAG},
        *([{"name": "SHADOW_TAG", "value": SHADOW_TAG}] if SHADOW_TAG else []),  # "" reads as unset
        {"name": "OMP_NUM_THREADS", "value": "1"},
    ],
)
class Predictor:
    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        serving = json.loads(Path(self.model_ref.path_of(SERVING_FILE)).read_text(encoding="utf-8"))
        # skops, with the types trusted by params.yaml at the commit `build` ran at
        self.model, _ = models.load(Path(self.model_ref.path), serving.get("trusted_types", []))
        self.tag = str(self.model_ref.tag)
        self.classes = [str(c) for c in getattr(self.model, "classes_", [])]
        self.log = prediction_log(deployment_settings(serving), info.target)
        self.shadow = load_shadow(SHADOW_TAG)
        # Everything loaded so far (libraries, model) lives as long as the worker: keep it out of
        # the garbage collector's full passes, which otherwise stall all requests for 0.2-0.5 s.
        gc.freeze()

    # Concurrent requests are merged up to max_batch_size rows; max_latency_ms is a deadline
    # per request, so a tight one turns load into 503s: keep it generous.
    @bentoml.api(batchable=True, max_batch_size=128, max_latency_ms=10_000)
    def predict(self, records: Records) -> Predictions:
        """Predict each record: the class and class probabilities, or the value; and the model's tag."""
        sent = [r.__dict__ for r in records]
        frame = pd.DataFrame.from_records(sent, columns=COLUMNS)
        out = models.predict_frame(self.model, frame[FEATURES])
        values = out["prediction"].tolist()
        metrics.count_predictions(VERSION, values, VALUES)
        beside = out.join(self.shadow_columns(sent, out)) if SHADOW_TAG else out
        ids = self.logged(frame, beside) if self.log else [None] * len(frame)
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
                decision=DECISION,
                model=self.tag,
                prediction_id=i,
            )
            for v, p, i in zip(values, probabilities, ids, strict=True)
        ]

    def shadow_columns(self, sent: list[dict], out: pd.DataFrame) -> pd.DataFrame:
        """The shadow's log columns for this batch: empty where it refused a record, for all of it
        when it failed to load or raised (counted: the answers go out all the same)."""
        if self.shadow is None:
            return pd.DataFrame({shadow.TAG_COLUMN: pd.Series(pd.NA, index=out.index, dtype="string")})
        try:
            columns, refused = self.shadow.predict(sent, out.index)
        except Exception:
            logger.exception("the shadow %s failed on a batch of %d records", SHADOW_TAG, len(sent))
            metrics.SHADOW_FAILURES.labels(VERSION, SHADOW_TAG, "batch").inc()
            return self.shadow.empty(out.index)
        compared, differ = disagreements(out["prediction"], columns[f"{shadow.PREFIX}prediction"], info)
        metrics.count_shadow(VERSION, str(SHADOW_TAG), compared, differ, refused)
        return columns

    def logged(self, frame: pd.DataFrame, out: pd.DataFrame) -> list[str]:
        """The log rows' ids; a failed write is counted, and fails the batch (no answer unlogged)."""
        try:
            return self.log.write(frame, out, self.tag)
        except Exception:
            metrics.LOG_FAILURES.labels(VERSION).inc()
            raise


class BodyLimit:
    """Refuses a POST to an API route before its body is read: not application/json (415), or over
    `limit` bytes (413: by its Content-Length, or counted as a chunked body streams in).

    BentoML reads the whole body and parses all of it before the record cap applies, so one large
    body could take a worker's memory. Refusals close the connection, so the server does not go on
    reading what it will not use.
    """

    def __init__(self, app, paths: set[str], limit: int, message: str) -> None:
        self.app, self.paths, self.limit, self.message = app, paths, limit, message

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.paths:
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])  # ASGI header names are lower-case
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if media_type != b"application/json":
            return await refuse(
                scope, send, 415, JSON_ONLY, [error("unsupported_media_type", ["content-type"], JSON_ONLY)]
            )
        too_large = [error("body_too_large", ["body"], self.message)]
        if int(headers.get(b"content-length", 0)) > self.limit:  # the server checked it is a number
            return await refuse(scope, send, 413, self.message, too_large)
        received = 0

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                await refuse(scope, send, 413, self.message, too_large)  # the client's answer
                raise Refused  # and stop the app that is reading the body
            return message

        with contextlib.suppress(Refused):
            await self.app(scope, counted, send)


class Refused(BaseException):
    """A body over the limit, raised into the app's read: not an Exception, so BentoML's handler
    (which would log a traceback and answer 500 for any Exception) lets it through to BodyLimit."""


JSON_ONLY = "content-type must be application/json: send the records as a JSON body"


class ValidBodies:
    """Validates a POST to an API route as BentoML would, before BentoML reads it, and answers a bad
    one itself: a 400 listing at most MAX_ERRORS errors and counting the rest, logged as one line.

    BentoML answers all of pydantic's errors and logs each failure with its traceback, at ERROR.
    pydantic reports every unknown key of a record: one record of 234k keys (2.8 MB, within the
    body limit) made a 36 MB answer and 44 MB of log, and blocked a worker for 7 s while it grew by
    675 MB. So keys outside the schema are counted on the parsed JSON first, and pydantic only sees
    records whose keys are all known (at most MAX_RECORDS x fields errors). A valid body is parsed
    and validated again by BentoML: microseconds a record.
    """

    def __init__(self, app, inputs: dict[str, type[BaseModel]], fields: frozenset[str]) -> None:
        self.app, self.inputs, self.fields = app, inputs, fields

    async def __call__(self, scope, receive, send) -> None:
        api = scope["type"] == "http" and scope["method"] == "POST"
        model = self.inputs.get(scope["path"]) if api else None
        if model is None:
            return await self.app(scope, receive, send)
        body = await read_body(receive)
        if body is None:
            return  # the client left
        count, errors, records = body_errors(body or b"{}", model, self.fields)  # BentoML reads none as {}
        if count:
            plural = "" if count == 1 else "s"
            return await refuse(scope, send, 400, f"{count} validation error{plural}", errors, count)
        metrics.RECORDS.labels(VERSION).observe(records)
        await self.app(scope, replay(body, receive), send)


async def read_body(receive) -> bytes | None:
    """The whole request body (BodyLimit bounds it), or None when the client disconnects first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """An ASGI receive that gives the app the body already read, then waits as `receive` does."""
    sent = False

    async def again():
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again


def body_errors(
    body: bytes, model: type[BaseModel], fields: frozenset[str]
) -> tuple[int, list[dict[str, Any]], int]:
    """(how many errors a request body has, the first MAX_ERRORS of them, as pydantic words them;
    how many records it holds)."""
    try:
        parsed = from_json(body, cache_strings=False)
    except ValueError as problem:
        return 1, [error("json_invalid", [], f"Invalid JSON: {problem}")], 0
    records = parsed.get("records") if isinstance(parsed, dict) else None
    size = len(records) if isinstance(records, list) else 0
    count, errors = unknown_fields(parsed, fields)
    if count:
        return count, errors, size
    try:
        model.model_validate_json(body)
    except ValidationError as problems:
        listed = problems.errors(include_url=False, include_context=False, include_input=False)
        return problems.error_count(), [dict(e) for e in listed[:MAX_ERRORS]], size
    return 0, [], size


def unknown_fields(parsed: Any, fields: frozenset[str]) -> tuple[int, list[dict[str, Any]]]:
    """(how many keys outside the schema the records have, the first MAX_ERRORS). A body pydantic
    refuses for its shape or its number of records (one error each) is left to pydantic."""
    records = parsed.get("records") if isinstance(parsed, dict) else None  # predict's parameter
    if not isinstance(records, list) or len(records) > MAX_RECORDS:
        return 0, []
    count, errors = 0, list[dict[str, Any]]()
    for index, record in enumerate(records):
        if isinstance(record, dict) and not record.keys() <= fields:
            count += len(record) - len(record.keys() & fields)  # set operations: no loop per key
            unknown = (key for key in record if key not in fields)
            for key in itertools.islice(unknown, MAX_ERRORS - len(errors)):
                errors.append(error("extra_forbidden", ["records", index, shown(key)], EXTRA))
    return count, errors


EXTRA = "Extra inputs are not permitted"  # pydantic's words


def shown(key: str, width: int = 64) -> str:
    """An unknown key as a 400 and the log name it: a client's string, so cut short."""
    return key if len(key) <= width else key[: width - 3] + "..."


def error(kind: str, loc: list, message: str) -> dict:
    return {"type": kind, "loc": loc, "msg": message}


async def refuse(scope, send, status: int, message: str, errors: list[dict], count: int = 1) -> None:
    """Answers in the shape of BentoML's 400s ({"error", "detail": [{type, loc, msg}]}), with a last
    entry counting the errors not listed, and logs one INFO line: where and what, never a value."""
    detail = list(errors)
    if count > len(errors):
        detail.append(error("more_errors", [], f"{count - len(errors)} more errors not listed"))
    body = json.dumps({"error": message, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status != 400:  # the body was not read: do not go on reading it
        headers.append((b"connection", b"close"))
    logger.info("refused %s %s: %d, %s", scope["method"], scope["path"], status, summary(errors, count))
    metrics.count_refusal(VERSION, status, errors, FIELDS)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def summary(errors: list[dict], count: int, shown_errors: int = 3) -> str:
    """'2 errors: records/0/age int_type, records/3/job literal_error': where and what, no values."""
    places = [f"{place(e['loc'])} {e['type']}" for e in errors[:shown_errors]]
    more = ", ..." if count > len(places) else ""
    return f"{count} error{'' if count == 1 else 's'}: {', '.join(places)}{more}"


def place(loc: list) -> str:
    """records/0/age; a client's key with its control and non-ASCII characters escaped (one line)."""
    return "/".join(map(str, loc)).encode("unicode_escape").decode("ascii") or "body"


def load_shadow(tag: str | None) -> Shadow | None:
    """The shadow named by SHADOW_TAG; None when there is none or it failed to load, which is said
    in the log and /readyz and counted: the champion serves all the same."""
    if not tag:
        return None
    try:
        loaded = Shadow.load(Path(bentoml.models.get(tag).path), tag)
    except Exception as problem:
        logger.exception("the shadow %s failed to load; serving the champion %s alone", tag, VERSION)
        metrics.SHADOW_FAILURES.labels(VERSION, tag, "load").inc()
        MODELS["shadow"] = {"tag": tag, "loaded": False, "error": f"{type(problem).__name__}: {problem}"}
        return None
    MODELS["shadow"] = {"tag": tag, "loaded": True}
    metrics.SHADOW_FAILURES.labels(VERSION, tag, "batch")  # served at 0 from the start
    return loaded


def deployment_settings(champion: dict) -> dict:
    """The settings stored with the model built at this commit (the shadow's when there is one:
    a champion from an older release carries its release's)."""
    if not SHADOW_TAG:
        return champion
    try:
        path = Path(bentoml.models.get(SHADOW_TAG).path_of(SERVING_FILE))
        return json.loads(path.read_text(encoding="utf-8"))
    except Exception:  # the shadow's loading says what is wrong with it
        logger.warning("the shadow %s has no readable serving settings; using the champion's", SHADOW_TAG)
        return champion


class ReadyDetails:
    """A ready service's /readyz answers which models this worker serves, as JSON, e.g.
    {"champion": "...", "shadow": {"tag": "...", "loaded": false, "error": "..."}}: a shadow that
    failed to load leaves the service ready, and says so here. Other answers pass unchanged."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/readyz":
            return await self.app(scope, receive, send)
        started: dict = {}

        async def detailed(message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                if message["status"] != 200:
                    await send(message)
                return
            if started["status"] != 200:
                return await send(message)
            if started.get("answered"):
                return
            started["answered"] = True
            body = json.dumps(MODELS).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, detailed)


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


FIELDS = frozenset(COLUMNS)
BODY_LIMIT, TOO_LARGE = body_limit(TRAINING, info.target)
API_INPUTS = {api.route: api.input_spec for api in Predictor.apis.values()}
# BentoML runs service middleware inside its own (metrics, access log, timeout), the first added
# outermost: refusals are counted in /metrics and access-logged like any answer; the probes and
# /metrics are not API routes.
Predictor.add_asgi_middleware(BodyLimit, paths=set(API_INPUTS), limit=BODY_LIMIT, message=TOO_LARGE)
Predictor.add_asgi_middleware(ValidBodies, inputs=API_INPUTS, fields=FIELDS)
Predictor.add_asgi_middleware(ReadyDetails)
