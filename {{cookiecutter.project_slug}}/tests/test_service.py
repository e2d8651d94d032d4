"""The BentoML service: request records derived from the schema, predictions equal to the model's,
a 400 naming the field for every kind of bad input, 413 and 415 before an oversized or non-JSON body
is read, no errors under concurrent load, the build."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pandera.pandas as pa
import pytest
from pydantic import ValidationError
from support import explain, invoke, pkg, real_params

data, models, records, release = pkg("data"), pkg("models"), pkg("records"), pkg("release")


@pytest.fixture(scope="session")
def store(tmp_path_factory, trained, params):
    """A BentoML home of the tests' own, holding the trained model; MODEL_TAG points at it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENTOML_HOME", str(tmp_path_factory.mktemp("bentoml")))
        patch.setenv("BENTOML_DO_NOT_TRACK", "true")
        tag = release.store_model(params, trained)
        patch.setenv("MODEL_TAG", tag)
        yield tag


@pytest.fixture(scope="session")
def service(store):
    return pkg("service")


@pytest.fixture(scope="session")
def later(params) -> pd.DataFrame:
    """Real rows of the period after the training data."""
    real = real_params().data_path
    return data.read_table(real.parent / "later" / real.name).head(50)


@pytest.fixture(scope="session")
def rows(later, params) -> pd.DataFrame:
    """What a caller sends: the later rows without their outcome."""
    return later.drop(columns=[params.data.target])


def payload(rows: pd.DataFrame) -> list[dict]:
    return json.loads(rows.to_json(orient="records"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def server(store, project, trained, tmp_path_factory):
    """`<slug> serve` over real HTTP on loopback, in its own process."""
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("w")
    command = [sys.executable, "-m", pkg("cli").__package__, "serve", "--params", project, "--model", trained]
    process = subprocess.Popen(
        [*map(str, command), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            wait_until_ready(client, process, Path(log.name))
            yield client
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def wait_until_ready(client: httpx.Client, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, f"the service exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"the service did not become ready:\n{log.read_text()}"
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


# -- records.py: the pydantic model follows the schema ------------------------------------------


def test_record_fields_follow_the_schema(service):
    training = pkg("schema").TrainingData.to_schema()
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
    Record = records.record_model(frame, ["n", "x", "colour", "code"], target="y")
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
    with pytest.raises(pkg("errors").ProjectError, match=r"column 'n'.*'positive'"):
        records.record_model(frame, ["n"], target="y")


# -- the service in-process --------------------------------------------------------------------


def test_in_process_predictions_equal_the_models(service, trained, rows):
    predictor = service.Predictor()
    answers = predictor.predict([service.Record.model_validate(r) for r in payload(rows)])
    model, _ = models.load(trained, [])
    features = data.validate(rows, pkg("schema").Features, "rows")
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
    with pytest.raises(pkg("errors").ProjectError, match="PREDICTION_LOG_TEST_URL is not set"):
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
    settings = pkg("settings")
    grown = settings.Params.model_validate(project)
    current = pkg("sources").load_current(grown)
    found = pkg("retraining").intake(grown, current, later.head(0))
    assert found.counts["addable"] == found.counts["labelled"] == len(rows)
    added = found.take(current)
    expected = data.validate(later, pkg("schema").TrainingData, "later")[list(added.columns)]
    pd.testing.assert_frame_equal(
        added.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )


# -- over HTTP ---------------------------------------------------------------------------------


def test_http_predictions_equal_in_process_ones(server, service, rows):
    response = server.post("/predict", json={"records": payload(rows)})
    assert response.status_code == 200, response.text
    expected = service.Predictor().predict([service.Record.model_validate(r) for r in payload(rows)])
    assert response.json() == [a.model_dump() for a in expected]


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
    many = (payload(rows) * records.MAX_RECORDS)[: records.MAX_RECORDS]
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


def test_probes_and_metrics_are_served(server):
    for path in ("/healthz", "/livez", "/readyz"):
        assert server.get(path).status_code == 200, path
    metrics = server.get("/metrics")
    assert metrics.status_code == 200 and "bentoml_service_request_total" in metrics.text


def test_64_concurrent_clients_get_no_errors(server, rows):
    """Bounded in time, not in requests: every answer must be a 200 with one prediction."""
    body = {"records": payload(rows.head(1))}
    statuses: list[int] = []
    stop = time.monotonic() + 3

    def client() -> None:
        with httpx.Client(base_url=str(server.base_url), timeout=60) as own:
            while time.monotonic() < stop:
                response = own.post("/predict", json=body)
                ok = response.status_code == 200 and len(response.json()) == 1
                statuses.append(200 if ok else response.status_code)

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
    built = pkg("settings").read_yaml(bento_yaml)
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
