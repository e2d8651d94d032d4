"""The BentoML service: request records derived from the schema, predictions equal to the model's,
a 400 naming the field for every kind of bad input (at most MAX_ERRORS listed), 413 and 415 before
an oversized or non-JSON body is read, each refusal one log line without values, a bound on requests
in flight, no errors under concurrent load, the build; the README says what the service leaves to a
proxy."""

from __future__ import annotations

import json
import os
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pandera.pandas as pa
import pytest
from pydantic import ValidationError
from support import ROOT, dashboard_metrics, explain, invoke, payload, running

from {{ cookiecutter.__package_name }} import (
    cli,
    data,
    errors,
    models,
    payloads,
    release,
    retraining,
    schema,
    settings,
    sources,
)


@pytest.fixture(scope="session")
def server_log(tmp_path_factory) -> Path:
    """Where the server's output (its log) goes."""
    return tmp_path_factory.mktemp("serve") / "serve.log"


@pytest.fixture(scope="session")
def server(store, project, trained, server_log):
    """`<slug> serve` over real HTTP on loopback, in its own process."""
    command = [sys.executable, "-m", cli.__package__, "serve", "--params", project, "--model", trained]
    with running([*command, "--port", "{port}"], server_log) as client:
        yield client


# -- payloads.py: the pydantic model follows the schema ------------------------------------------


def test_record_fields_follow_the_schema(service):
    training = schema.TrainingData.to_schema()
    fields = service.Record.model_fields
    for name in service.FEATURES:
        assert fields[name].is_required(), name
    assert service.info.target not in fields
    extra = set(training.columns) - set(service.FEATURES) - {service.info.target}
    assert all(not fields[name].is_required() for name in extra)  # context columns: optional, logged


def test_each_schema_check_becomes_a_field_check():
    frame = pa.DataFrameSchema(
        {
            "n": pa.Column(int, pa.Check.in_range(0, 10)),
            "x": pa.Column(float, [pa.Check.ge(0), pa.Check.lt(1)], nullable=True),
            "colour": pa.Column(str, pa.Check.isin(["red", "green"])),
            "code": pa.Column(str, [pa.Check.str_matches(r"[A-Z]{2}\d"), pa.Check.str_length(3, 3)]),
        }
    )
    Record = payloads.record_model(frame, ["n", "x", "colour", "code"], target="y")
    good = {"n": 10, "x": 0.5, "colour": "red", "code": "AB1"}
    assert Record.model_validate(good).n == 10
    assert Record.model_validate(good | {"x": None}).x is None
    assert Record.model_validate_json(json.dumps(good | {"x": 0})).x == 0  # JSON integer for a float
    for bad, field in [
        ({"n": 11}, "n"),
        ({"n": "3"}, "n"),
        ({"x": -1}, "x"),
        ({"x": 1.0}, "x"),
        ({"colour": "blue"}, "colour"),
        ({"code": "xAB1"}, "code"),  # pandera matches from the start
        ({"code": "AB12"}, "code"),
        ({"extra": 1}, "extra"),
    ]:
        with pytest.raises(ValidationError) as caught:
            Record.model_validate(good | bad)
        assert [e["loc"] for e in caught.value.errors()] == [(field,)], bad


def test_a_check_the_service_cannot_express_fails_naming_the_column():
    frame = pa.DataFrameSchema({"n": pa.Column(int, pa.Check(lambda s: s > 0, name="positive"))})
    with pytest.raises(errors.ProjectError, match=r"column 'n'.*'positive'"):
        payloads.record_model(frame, ["n"], target="y")


# -- the service in-process --------------------------------------------------------------------


def test_in_process_predictions_equal_the_models(service, trained, rows):
    predictor = service.Predictor()
    answers = predictor.predict([service.Record.model_validate(r) for r in payload(rows)])
    model, _ = models.load(trained, [])
    features = data.validate(rows, schema.Features, "rows")
    expected = models.predict_frame(model, features)
    assert [a.prediction for a in answers] == expected["prediction"].tolist()
    assert {a.model for a in answers} == {predictor.tag}
    if predictor.classes:
        got = [[a.probabilities[c] for c in predictor.classes] for a in answers]
        assert got == expected.drop(columns="prediction").to_numpy().tolist()
    info = models.read_info(trained)
    if len(info.classes) == 2:  # the service decides at the model's tuned threshold, not at 0.5
        assert 0 < info.threshold < 0.5
        chosen = [a.probabilities[str(info.positive_class)] >= info.threshold for a in answers]
        assert [a.prediction == info.positive_class for a in answers] == chosen


def test_logging_on_without_its_secret_fails_at_start_naming_the_variable(service, monkeypatch):
    monkeypatch.delenv("PREDICTION_LOG_TEST_URL", raising=False)
    settings = {"log_predictions": {"url_env": "PREDICTION_LOG_TEST_URL", "table": "predictions"}}
    with pytest.raises(errors.ProjectError, match="PREDICTION_LOG_TEST_URL is not set"):
        service.prediction_log(settings, "y")


def test_logged_predictions_reach_the_drift_source_and_retraining(
    service, rows, later, tmp_path, monkeypatch, params
):
    """Predictions logged by the service are the drift job's SQL source; labelled later, they are
    training rows (the request carried the training data's other columns, e.g. the time)."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    monkeypatch.setenv("PREDICTION_LOG_TEST_URL", url)
    predictor = service.Predictor()
    predictor.log = service.prediction_log(
        {"log_predictions": {"url_env": "PREDICTION_LOG_TEST_URL", "table": "predictions"}},
        params.data.target,
    )
    answers = predictor.predict([service.Record.model_validate(r) for r in payload(rows)])
    ids = [a.prediction_id for a in answers]
    assert len(set(ids)) == len(rows) and None not in ids

    outcomes = later[params.data.target].tolist()
    assert predictor.log.label(dict(zip(ids, outcomes, strict=True))) == len(rows)
    predictor.log.close()

    sql = {
        "kind": "sql",
        "url_env": "PREDICTION_LOG_TEST_URL",
        "query": "SELECT * FROM predictions",
        "window_days": 7,
    }
    project = json.loads(json.dumps(params.model_dump(mode="json")))
    project["drift"]["source"] = sql
    project["data"]["path"] = str(tmp_path / "training.csv")
    later.head(0).to_csv(tmp_path / "training.csv", index=False)  # an empty training file to grow
    grown = settings.Params.model_validate(project)
    current = sources.load_current(grown)
    found = retraining.intake(grown, current, later.head(0))
    assert found.counts["addable"] == found.counts["labelled"] == len(rows)
    added = found.take(current)
    expected = data.validate(later, schema.TrainingData, "later")[list(added.columns)]
    pd.testing.assert_frame_equal(
        added.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# -- over HTTP ---------------------------------------------------------------------------------


def test_http_predictions_equal_in_process_ones(server, service, rows):
    response = server.post("/predict", json={"records": payload(rows)})
    assert response.status_code == 200, response.text
    expected = service.Predictor().predict([service.Record.model_validate(r) for r in payload(rows)])
    assert response.json() == [a.model_dump() for a in expected]


def test_the_answer_says_the_decision_rule_in_words(server, service, rows):
    answers = server.post("/predict", json={"records": payload(rows.head(20))}).json()
    info = service.info
    if not info.classes:
        assert {answer["decision"] for answer in answers} == {None}
        return
    positive, threshold = str(info.positive_class), info.threshold
    (negative,) = [str(c) for c in info.classes if str(c) != positive]
    rule = f"{positive} when P({positive}) is at least {threshold:.4g}, else {negative}"
    for answer in answers:
        assert answer["decision"] == rule
        assert (answer["prediction"] == positive) == (answer["probabilities"][positive] >= threshold)


def bad_inputs(good: dict, service) -> list[tuple[str, object, str, str]]:
    """(what, body, the field the 400 must name, what it must say about it)."""
    numeric, categorical = service.info.numeric, service.info.categorical
    first = numeric[0]
    cases = [
        (
            "missing field",
            {"records": [{k: v for k, v in good.items() if k != first}]},
            first,
            "Field required",
        ),
        ("wrong type", {"records": [good | {first: "many"}]}, first, "Input should be a valid"),
        ("out of range", {"records": [good | {first: 10**12}]}, first, "Input should be less than"),
        (
            "unknown field",
            {"records": [good | {"surprise": 1}]},
            "surprise",
            "Extra inputs are not permitted",
        ),
        ("empty list", {"records": []}, "records", "List should have at least 1 item"),
        (
            "oversized batch",
            {"records": [good] * (service.MAX_RECORDS + 1)},
            "records",
            f"List should have at most {service.MAX_RECORDS} items",
        ),
        ("no records key", {"rows": [good]}, "records", "Field required"),
        ("not a list", {"records": good}, "records", "Input should be a valid array"),
    ]
    if categorical:
        unknown = {"records": [good | {categorical[0]: "no-such"}]}
        cases.append(("unknown category", unknown, categorical[0], "Input should be '"))
    return cases


def test_bad_input_gets_400_naming_the_field_and_the_problem(server, service, rows):
    good = payload(rows)[0]
    for what, body, field, problem in bad_inputs(good, service):
        response = server.post("/predict", json=body)
        assert response.status_code == 400, (what, response.status_code, response.text[:300])
        said = {(str(e["loc"][-1]) if e["loc"] else "", e["msg"]) for e in response.json()["detail"]}
        assert any(where == field and msg.startswith(problem) for where, msg in said), (what, said)


def test_malformed_json_gets_400(server):
    response = server.post("/predict", content=b'{"records": [', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "json" in response.text.lower()


# -- body size and type: refused before the body is read ---------------------------------------

JSON = {"content-type": "application/json"}


def padded(rows: pd.DataFrame, size: int, chunk: int = 1 << 16):
    """Chunks of a valid body of MAX_RECORDS real records, padded with spaces to `size` bytes."""
    many = (payload(rows) * payloads.MAX_RECORDS)[: payloads.MAX_RECORDS]
    body = json.dumps({"records": many}).encode()
    assert len(body) <= size
    yield body
    for start in range(len(body), size, chunk):
        yield b" " * min(chunk, size - start)


def test_a_body_over_the_limit_gets_413_naming_it(server, service, rows):
    response = server.post("/predict", content=b"".join(padded(rows, service.BODY_LIMIT + 1)), headers=JSON)
    assert response.status_code == 413, response.text[:300]
    error = response.json()
    assert error["error"].startswith(
        f"request body over {service.BODY_LIMIT} bytes: at most {service.MAX_RECORDS} records of"
    )
    assert error["detail"] == [{"type": "body_too_large", "loc": ["body"], "msg": error["error"]}]


def test_a_chunked_body_over_the_limit_gets_413_before_it_ends(server, service, rows):
    size, sent = 20 * service.BODY_LIMIT, []

    def stream():
        for chunk in padded(rows, size):
            sent.append(len(chunk))
            yield chunk

    response = server.post("/predict", content=stream(), headers=JSON)
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.status_code == 413, response.text[:300]
    assert f"over {service.BODY_LIMIT} bytes" in response.json()["error"]
    assert sum(sent) < size  # answered and closed: the rest of the stream was never read


def test_a_body_at_the_limit_within_the_record_cap_is_served(server, service, rows):
    response = server.post("/predict", content=b"".join(padded(rows, service.BODY_LIMIT)), headers=JSON)
    assert response.status_code == 200, response.text[:300]
    assert len(response.json()) == service.MAX_RECORDS


def test_a_body_that_is_not_json_gets_415(server, rows):
    body = json.dumps({"records": payload(rows.head(1))}).encode()
    for headers in ({"content-type": "text/plain"}, {}):
        response = server.post("/predict", content=body, headers=headers)
        assert response.status_code == 415, (headers, response.status_code, response.text[:300])
        assert "content-type must be application/json" in response.json()["error"]
    charset = {"content-type": "application/json; charset=utf-8"}
    response = server.post("/predict", content=body, headers=charset)
    assert response.status_code == 200, response.text[:300]


# -- refusals: short answers, one log line each, no values -------------------------------------


def test_a_record_of_many_unknown_keys_gets_a_short_400_naming_them(server, service, rows):
    """What a reviewer sent: one record of 234k unknown keys within the body limit got a 36 MB 400
    (pydantic lists each key). Here 100,000 keys."""
    count = 100_000
    record = payload(rows)[0] | {f"unknown{i}": 0 for i in range(count)}
    body = json.dumps({"records": [record]}).encode()
    assert len(body) <= service.BODY_LIMIT
    response = server.post("/predict", content=body, headers=JSON)
    assert response.status_code == 400, response.text[:300]
    assert len(response.content) < 2_000  # kilobytes, where listing every key would take ~10 MB
    assert response.json()["error"] == f"{count} validation errors"
    *listed, more = response.json()["detail"]
    assert [e["loc"] for e in listed] == [["records", 0, f"unknown{i}"] for i in range(service.MAX_ERRORS)]
    assert {e["msg"] for e in listed} == {"Extra inputs are not permitted"}
    assert more == {
        "type": "more_errors",
        "loc": [],
        "msg": f"{count - service.MAX_ERRORS} more errors not listed",
    }


def test_an_unknown_key_is_named_cut_short(server, rows):
    long_key = "k" * 100_000
    response = server.post("/predict", json={"records": [payload(rows)[0] | {long_key: 0}]})
    assert response.status_code == 400
    [unknown] = response.json()["detail"]
    assert unknown["loc"] == ["records", 0, "k" * 61 + "..."]


def test_errors_beyond_the_first_are_counted_not_listed(server, service):
    """The largest request with every record empty: a missing-field error per feature per record."""
    response = server.post("/predict", json={"records": [{}] * service.MAX_RECORDS})
    assert response.status_code == 400
    total = service.MAX_RECORDS * len(service.FEATURES)
    assert response.json()["error"] == f"{total} validation errors"
    *listed, more = response.json()["detail"]
    assert len(listed) == service.MAX_ERRORS
    assert {e["type"] for e in listed} == {"missing"} and {e["loc"][1] for e in listed} == {0}
    assert more["msg"] == f"{total - service.MAX_ERRORS} more errors not listed"


SECRET = "do-not-log-7f3a9"  # a value sent that no log line may show


def refusals(rows: pd.DataFrame, service) -> list[tuple[str, dict, bytes, int, str]]:
    """(what, headers, body, status, where the log line says the problem is), SECRET among the
    values sent."""
    good, first, categorical = payload(rows)[0], service.info.numeric[0], service.info.categorical

    def body(record: dict) -> bytes:
        return json.dumps({"records": [good, record]}).encode()

    cases = [
        ("wrong type", JSON, body(good | {first: SECRET}), 400, f"records/1/{first} "),
        ("unknown field", JSON, body(good | {"surprise": SECRET}), 400, "records/1/surprise "),
        (
            "unknown field across lines",
            JSON,
            body(good | {"sur\nprise": SECRET}),
            400,
            "records/1/sur\\nprise ",
        ),
        ("malformed JSON", JSON, body(good | {first: SECRET})[:-2], 400, "body json_invalid"),
        ("not JSON", {"content-type": "text/plain"}, body(good | {first: SECRET}), 415, "content-type "),
        (
            "too large",
            JSON,
            body(good | {first: SECRET * (service.BODY_LIMIT // len(SECRET))}),
            413,
            "body body_too_large",
        ),
    ]
    if categorical:
        cases.append(
            (
                "unknown category",
                JSON,
                body(good | {categorical[0]: SECRET}),
                400,
                f"records/1/{categorical[0]} ",
            )
        )
    return cases


def log_lines_after(log: Path, offset: int, wanted: str, count: int) -> list[str]:
    """The log's lines after `offset` once `count` of them contain `wanted` (at most 30 s later:
    a loaded CI runner)."""
    deadline = time.monotonic() + 30
    while True:
        with log.open("rb") as stream:
            stream.seek(offset)
            lines = stream.read().decode().splitlines()
        if sum(wanted in line for line in lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def test_each_refusal_is_one_info_line_without_values_or_traceback(server, server_log, service, rows):
    offset = server_log.stat().st_size
    cases = refusals(rows, service)
    for what, headers, body, status, _ in cases:
        response = server.post("/predict", content=body, headers=headers)
        assert response.status_code == status, (what, response.status_code, response.text[:300])
    lines = log_lines_after(server_log, offset, "refused POST /predict", len(cases))
    refused = [line for line in lines if "refused POST /predict" in line]
    assert len(refused) == len(cases), "\n".join(lines)
    for (what, *_, status, where), line in zip(cases, refused, strict=True):
        assert "[INFO]" in line and f": {status}, " in line and where in line, (what, line)
    assert not [line for line in lines if SECRET in line or "Traceback" in line or "[ERROR]" in line]


def held_uploads(server: httpx.Client, count: int) -> list[socket.socket]:
    """`count` connections, each with a POST /predict whose body never ends."""
    url = server.base_url
    head = (
        f"POST /predict HTTP/1.1\r\nhost: {url.host}\r\ncontent-type: application/json\r\n"
        "content-length: 1000\r\n\r\n{"
    ).encode()
    held = []
    for _ in range(count):
        held.append(socket.create_connection((url.host, url.port)))
        held[-1].sendall(head)
    return held


def answers(connections: list[socket.socket], wanted: int, seconds: float = 30) -> list[int]:
    """The status of each connection answered within `seconds`, waiting until `wanted` have been,
    then half a second more for any others."""
    statuses, deadline = [], time.monotonic() + seconds
    with selectors.DefaultSelector() as selector:
        for connection in connections:
            selector.register(connection, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if len(statuses) >= wanted:
                deadline = min(deadline, time.monotonic() + 0.5)
            for key, _ in selector.select(timeout=0.1):
                reply = key.fileobj.recv(64)  # b"HTTP/1.1 429 ...", or b"" when closed unanswered
                statuses.append(int(reply.split()[1]) if reply else 0)
                selector.unregister(key.fileobj)
    return statuses


def test_requests_in_flight_are_bounded_per_worker(server, service, rows):
    """Uploads that never finish hold a worker's slots: past IN_FLIGHT_PER_WORKER it answers 429 at
    once, whichever worker the connections land on, so the bodies it holds stay bounded."""
    bound = service.IN_FLIGHT_PER_WORKER * service.WORKERS
    held = held_uploads(server, 2 * bound)
    try:
        statuses = answers(held, wanted=len(held) - bound)
    finally:
        for connection in held:
            connection.close()
    assert len(statuses) >= len(held) - bound and set(statuses) == {429}, sorted(set(statuses))
    response = server.post("/predict", json={"records": payload(rows.head(1))})  # slots freed
    assert response.status_code == 200, response.text[:300]


def test_probes_and_metrics_are_served(server):
    for path in ("/healthz", "/livez", "/readyz"):
        assert server.get(path).status_code == 200, path
    metrics = server.get("/metrics")
    assert metrics.status_code == 200 and "bentoml_service_request_total" in metrics.text


def scraped(server: httpx.Client) -> dict[tuple[str, tuple], float]:
    """/metrics as {(sample name, its labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(server.get("/metrics").text)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families for s in f.samples}


def change(before: dict, after: dict, name: str, **labels: str) -> float:
    """How much the series named `name` with these labels grew, summed."""

    def total(snapshot: dict) -> float:
        return sum(v for (n, ls), v in snapshot.items() if n == name and labels.items() <= dict(ls).items())

    return total(after) - total(before)


def test_the_services_own_metrics_sum_over_its_workers(server, service, rows):
    """20 requests of 3 records from parallel connections (both workers answer), and refusals:
    /metrics counts records, predictions and refusals by field, with the model's version; a key
    outside the schema is counted as (unknown), never by its name."""
    before = scraped(server)
    body = {"records": payload(rows.head(3))}

    def send(_: int) -> int:
        with httpx.Client(base_url=str(server.base_url), timeout=60) as own:
            return own.post("/predict", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(send, range(20))) == [200] * 20
    record, numeric = payload(rows.head(1))[0], service.info.numeric[0]
    assert server.post("/predict", json={"records": [record | {numeric: "abc"}]}).status_code == 400
    assert server.post("/predict", json={"records": [record | {"colour_x": 1}]}).status_code == 400
    assert server.post("/predict", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    after = scraped(server)

    version = {"model_version": service.VERSION}
    assert change(before, after, "model_request_records_count", **version) == 20
    assert change(before, after, "model_request_records_sum", **version) == 60
    predicted = "model_predictions_total" if service.info.classes else "model_predicted_value_count"
    assert change(before, after, predicted, **version) == 60
    refused = {"name": "model_refusals_total", **version}
    assert change(before, after, **refused, status="400", field=numeric) == 1
    assert change(before, after, **refused, status="400", reason="extra_forbidden", field="(unknown)") == 1
    assert change(before, after, **refused, status="415", field="content-type") == 1
    assert not any("colour_x" in str(labels) for _, labels in after)


def test_every_metric_the_grafana_dashboard_queries_is_served(server, rows):
    assert server.post("/predict", json={"records": payload(rows.head(2))}).status_code == 200
    assert server.post("/predict", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    dashboard = json.loads((ROOT / "monitoring" / "grafana" / "dashboards" / "service.json").read_text())
    # The shadow's are served by a service with a shadow: test_shadow.py checks those.
    queried = {name for name in dashboard_metrics() if not name.startswith("model_shadow_")}
    served = {name for name, _ in scraped(server)}
    assert len(queried) >= 7 and queried <= served, sorted(queried - served)
    sources = {json.dumps(panel["datasource"]) for panel in dashboard["panels"]}
    assert sources == {'{"type": "prometheus", "uid": "${datasource}"}'}  # the dashboard's variable


def test_a_failed_log_write_is_counted_and_fails_the_batch(service, rows):
    predictor = service.Predictor()

    class Unreachable:
        def write(self, *args):
            raise OSError("the database is down")

    predictor.log = Unreachable()
    failures = service.metrics.LOG_FAILURES.labels(service.VERSION)
    before = failures._value.get()
    with pytest.raises(OSError):
        predictor.predict([service.Record.model_validate(r) for r in payload(rows.head(2))])
    assert failures._value.get() == before + 1


def test_64_concurrent_clients_get_no_errors(server, rows):
    """Every client sends at least once, then for 3 s: every answer must be a 200 with one prediction."""
    body = {"records": payload(rows.head(1))}
    statuses: list[int] = []
    stop = time.monotonic() + 3

    def client() -> None:
        # At least one request each: on a loaded runner a thread may start after `stop`.
        with httpx.Client(base_url=str(server.base_url), timeout=60) as own:
            while True:
                response = own.post("/predict", json=body)
                ok = response.status_code == 200 and len(response.json()) == 1
                statuses.append(200 if ok else response.status_code)
                if time.monotonic() >= stop:
                    return

    threads = [threading.Thread(target=client) for _ in range(64)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) >= 64
    assert set(statuses) == {200}, sorted(set(statuses))


# -- build -------------------------------------------------------------------------------------


def test_build_makes_a_bento_pinning_the_model(store, trained, project, tmp_path):
    archive = tmp_path / "service.bento"
    result = invoke("build", "--params", project, "--model", trained, "--export", archive)
    assert result.exit_code == 0, explain(result)
    bento_tag = result.output.strip().splitlines()[-1]
    name, version = bento_tag.split(":")
    bento_yaml = Path(os.environ["BENTOML_HOME"]) / "bentos" / name / version / "bento.yaml"
    built = settings.read_yaml(bento_yaml)
    assert [m["tag"] for m in built["models"]] == [store]
    assert {"name": "MODEL_TAG", "value": store, "stage": "all"} in built["envs"]
    assert archive.stat().st_size > 0


@pytest.mark.parametrize("verb", ["build", "serve"])
def test_without_a_model_says_train_first(store, project, tmp_path, verb):
    result = invoke(verb, "--params", project, "--model", tmp_path / "nothing")
    assert result.exit_code == 1
    assert "not a model folder" in result.output and "run `train` first" in result.output


def test_build_without_uv_says_so(store, trained, project, monkeypatch):
    monkeypatch.setenv("PATH", "")
    result = invoke("build", "--params", project, "--model", trained)
    assert result.exit_code == 1
    assert "error: build: uv is not on PATH" in result.output


def test_build_outside_a_checkout_says_so(store, trained, project, monkeypatch, tmp_path):
    monkeypatch.setattr(release, "PROJECT", tmp_path)
    result = invoke("build", "--params", project, "--model", trained)
    assert result.exit_code == 1
    assert f"error: build: no uv.lock in {tmp_path}; build from a checkout of the project" in result.output


# -- what the README promises about serving ---------------------------------------------------


def test_the_readme_says_what_the_service_leaves_to_a_proxy():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    serving = " ".join(text.split("## The service and releases")[1].split("\n## ")[0].split())
    for promise in (
        "It has no authentication",
        "no rate limits",
        "no timeout on headers",
        "any client that can call `/predict` can also write rows into the prediction log",
        "the drift check trusts that table",
        "a reverse proxy or ingress in front",
        "a read-only database role for `DRIFT_DATABASE_URL`",
        "a retention for the log",
    ):
        assert promise in serving, promise
