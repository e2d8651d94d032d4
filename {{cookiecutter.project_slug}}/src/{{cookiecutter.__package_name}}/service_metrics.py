"""The service's own Prometheus metrics, served at /metrics beside BentoML's request metrics.

Written with prometheus_client, as BentoML 1.4 recommends (its `bentoml.metrics` is deprecated).
Under `serve`, BentoML sets PROMETHEUS_MULTIPROC_DIR before a worker imports this module, so each
worker writes its own files and /metrics sums them (tests/test_service.py checks this with two
workers). Every series carries `model_version`, the served model's tag. Label values are bounded:
a field outside the schema is counted as "(unknown)", never by the name a client sent.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

UNKNOWN_FIELD = "(unknown)"
RECORD_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

PREDICTIONS = Counter(
    "model_predictions", "Records answered, by predicted class (classification)", ["model_version", "class"]
)
RECORDS = Histogram(
    "model_request_records", "Records per valid request", ["model_version"], buckets=RECORD_BUCKETS
)
REFUSALS = Counter(
    "model_refusals",
    "Errors in refused requests (400, 413, 415), by status, reason and field",
    ["model_version", "status", "reason", "field"],
)
LOG_FAILURES = Counter(
    "model_prediction_log_failures", "Batches whose prediction-log write failed", ["model_version"]
)
SHADOW = ["model_version", "shadow_version"]
SHADOW_FAILURES = Counter(
    "model_shadow_failures",
    "What the shadow failed at: load (once per worker), batch (a batch it raised on), "
    "record (a record its own schema refuses)",
    [*SHADOW, "stage"],
)
SHADOW_COMPARED = Counter(
    "model_shadow_compared", "Records both the champion and the shadow predicted", SHADOW
)
SHADOW_DISAGREEMENTS = Counter(
    "model_shadow_disagreements",
    "Records on which the shadow disagrees: another class, or a value further apart than a tenth "
    "of the training target's 10%-90% range",
    SHADOW,
)


def value_histogram(buckets: Iterable[float]) -> Histogram:
    """Predicted values (regression), in buckets at the training target's deciles."""
    return Histogram(
        "model_predicted_value", "Predicted values (regression)", ["model_version"], buckets=tuple(buckets)
    )


def count_predictions(version: str, values: list, histogram: Histogram | None) -> None:
    if histogram is not None:
        observe = histogram.labels(version).observe
        for value in values:
            observe(value)
        return
    for label in set(values):
        PREDICTIONS.labels(version, str(label)).inc(values.count(label))


def count_shadow(version: str, shadow: str, compared: int, differ: int, refused: int) -> None:
    SHADOW_COMPARED.labels(version, shadow).inc(compared)
    SHADOW_DISAGREEMENTS.labels(version, shadow).inc(differ)
    if refused:
        SHADOW_FAILURES.labels(version, shadow, "record").inc(refused)


def count_refusal(version: str, status: int, errors: list[dict], fields: frozenset[str]) -> None:
    """One count per listed error: its pydantic type and the schema field it names."""
    for error in errors:
        REFUSALS.labels(version, str(status), error["type"], field_of(error["loc"], fields)).inc()


def field_of(loc: list, fields: frozenset[str]) -> str:
    """The schema field an error is about: records/3/age → age; body, content-type as they are."""
    names = [part for part in loc if isinstance(part, str) and part != "records"]
    if not names:
        return "body"
    name = names[-1]
    return name if name in fields or name in {"body", "content-type"} else UNKNOWN_FIELD
