"""A shadow beside the champion: it predicts the same records into the same prediction-log rows
through its own schema, answers no one, and never harms an answer (it fails to load, raises on a
batch, or refuses a record: the champion's answers go out, the failure is counted and said); a bento
built with serving.champion_release serves that release's model with this one as its shadow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from support import dashboard_metrics, explain, invoke, payload, running, write_small_params

from {{ cookiecutter.__package_name }} import cli, models, prediction_log, release, settings


@pytest.fixture(scope="session")
def shadow_model(project, tmp_path_factory) -> Path:
    """Another model of the same project: the linear candidate alone, strongly regularised."""
    raw = settings.read_yaml(project)
    linear = {
        "estimator": "linear",
        "params": {"alpha": 100.0} if raw["task"] == "regression" else {"C": 0.01},
    }
    raw["train"]["candidates"] = {"linear": linear}
    raw["data"]["path"] = str(project.parent / raw["data"]["path"])
    folder = tmp_path_factory.mktemp("shadow")
    params = write_small_params(raw, folder / "params.yaml")
    result = invoke("train", "--params", params, "--out", folder / "model")
    assert result.exit_code == 0, explain(result)
    return folder / "model"


def stored(params, folder: Path) -> str:
    return release.store_model(params, folder)


def doctored(source: Path, dest: Path, change) -> Path:
    """A copy of a model folder with `change(folder)` applied: a broken or narrowed shadow, under a
    tag of its own (a tag names the training record, which the change would not alter)."""
    folder = shutil.copytree(source, dest)
    change(folder)
    record = json.loads((folder / models.METRICS_FILE).read_text())
    (folder / models.METRICS_FILE).write_text(json.dumps({**record, "doctored": dest.name}))
    return folder


def stored_as_is(folder: Path, trusted: list[str], log_url_env: str | None = None) -> str:
    """Put a model folder into the store without the checks `store_model` makes (a broken one),
    with the settings `build` stores beside it: its trusted types, the prediction log's."""
    import bentoml

    tag = f"{models.MODEL_NAME}:{models.model_version(folder)}"
    logging = {"url_env": log_url_env, "table": "predictions"} if log_url_env else None
    with bentoml.models.create(tag) as entry:
        for name in (models.MODEL_FILE, models.META_FILE, models.SCHEMA_FILE, models.METRICS_FILE):
            shutil.copyfile(folder / name, entry.path_of(name))
        serving = {"trusted_types": trusted, "log_predictions": logging}
        Path(entry.path_of(models.SERVING_FILE)).write_text(json.dumps(serving))
    return tag


def logged(url: str, table: str = "predictions") -> pd.DataFrame:
    return pd.read_sql_table(table, sqlalchemy.create_engine(url))


def predictor_with_log(service, params, url: str, monkeypatch):
    monkeypatch.setenv("SHADOW_TEST_LOG_URL", url)
    predictor = service.Predictor()
    settings = {"log_predictions": {"url_env": "SHADOW_TEST_LOG_URL", "table": "predictions"}}
    predictor.log = service.prediction_log(settings, params.data.target)
    return predictor


def counter(metric, *labels: str) -> float:
    return metric.labels(*labels)._value.get()


def test_the_shadow_predicts_the_same_records_into_the_same_log_rows(
    service, store, shadow_model, params, rows, tmp_path, monkeypatch
):
    records = [service.Record.model_validate(r) for r in payload(rows)]
    alone = service.Predictor().predict(records)  # no shadow: the champion's answers, unlogged
    shadow_tag = stored(params, shadow_model)
    monkeypatch.setattr(service, "SHADOW_TAG", shadow_tag)
    url = f"sqlite:///{tmp_path / 'log.db'}"
    predictor = predictor_with_log(service, params, url, monkeypatch)
    compared = service.metrics.SHADOW_COMPARED
    before = counter(compared, store, shadow_tag)

    answers = predictor.predict(records)

    assert [a.prediction for a in answers] == [a.prediction for a in alone]
    assert {a.model for a in answers} == {store}  # the shadow answers no one
    log = logged(url)
    assert log["prediction_id"].tolist() == [a.prediction_id for a in answers]
    assert set(log["model_version"]) == {store} and set(log["shadow_model_version"]) == {shadow_tag}
    model, info = models.load(shadow_model, params.train.trusted_types)
    theirs = models.predict_frame(model, rows[info.inputs])
    assert log["shadow_prediction"].astype(str).tolist() == theirs["prediction"].astype(str).tolist()
    for column in theirs.columns.drop("prediction"):  # its probabilities, where there are any
        np.testing.assert_allclose(log[f"shadow_{column}"], theirs[column])
    assert counter(compared, store, shadow_tag) == before + len(rows)
    differ = (log["prediction"].astype(str) != log["shadow_prediction"].astype(str)).sum()
    if info.classes:  # regression counts values further apart than a tolerance: checked below
        assert service.metrics.SHADOW_DISAGREEMENTS.labels(store, shadow_tag)._value.get() >= differ


def test_a_record_the_shadows_schema_refuses_gets_empty_shadow_columns(
    service, store, trained, params, rows, tmp_path, monkeypatch
):
    """The shadow reads the records through its own schema: here one that allows fewer values of a
    numeric feature than the champion's, as a pull request that narrows a range would."""
    info = models.read_info(trained)
    feature = info.numeric[0]
    limit = rows[feature].median().item()  # an int for an integer column, as its checks are
    limit = int(limit) if pd.api.types.is_integer_dtype(rows[feature]) else limit

    def narrowed(folder: Path) -> None:
        contract = json.loads((folder / models.SCHEMA_FILE).read_text())
        checks = contract["columns"][feature]
        checks.pop("less_than_or_equal_to", None)
        checks["less_than_or_equal_to"] = limit
        (folder / models.SCHEMA_FILE).write_text(json.dumps(contract))

    shadow_tag = stored(params, doctored(trained, tmp_path / "narrow", narrowed))
    monkeypatch.setattr(service, "SHADOW_TAG", shadow_tag)
    predictor = predictor_with_log(service, params, f"sqlite:///{tmp_path / 'log.db'}", monkeypatch)
    refused = (rows[feature] > limit).sum()
    assert 0 < refused < len(rows)

    answers = predictor.predict([service.Record.model_validate(r) for r in payload(rows)])

    assert len(answers) == len(rows)
    log = logged(f"sqlite:///{tmp_path / 'log.db'}")
    over = rows[feature].to_numpy() > limit
    assert log.loc[over, "shadow_prediction"].isna().all()
    assert log.loc[over, "shadow_model_version"].isna().all()
    assert log.loc[~over, "shadow_prediction"].notna().all()
    assert counter(service.metrics.SHADOW_FAILURES, store, shadow_tag, "record") == refused


def test_a_log_table_from_before_the_shadow_gains_its_columns(
    service, store, shadow_model, params, rows, tmp_path, monkeypatch
):
    """Rows logged before a shadow was deployed keep empty shadow columns; the table is altered,
    not refused (pandas appends only to a table that has every column)."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    records = [service.Record.model_validate(r) for r in payload(rows.head(5))]
    predictor_with_log(service, params, url, monkeypatch).predict(records)
    assert not any(c.startswith("shadow_") for c in logged(url).columns)

    monkeypatch.setattr(service, "SHADOW_TAG", stored(params, shadow_model))
    predictor_with_log(service, params, url, monkeypatch).predict(records)

    log = logged(url)
    assert len(log) == 10
    assert log["shadow_prediction"].head(5).isna().all() and log["shadow_prediction"].tail(5).notna().all()


def test_shadow_columns_another_worker_added_first_are_not_an_error(
    service, store, shadow_model, params, rows, tmp_path, monkeypatch
):
    """Two workers start logging a shadow at once: the other adds the columns between this one's look
    at the table and its ALTER TABLE; this one's rows are logged all the same."""
    url = f"sqlite:///{tmp_path / 'log.db'}"
    records = [service.Record.model_validate(r) for r in payload(rows.head(5))]
    predictor_with_log(service, params, url, monkeypatch).predict(records)
    monkeypatch.setattr(service, "SHADOW_TAG", stored(params, shadow_model))
    first, second = (predictor_with_log(service, params, url, monkeypatch) for _ in range(2))
    begin, raced = second.log.engine.begin, []

    def after_the_other_worker():
        if not raced:
            raced.append(first.predict(records))
        return begin()

    monkeypatch.setattr(second.log.engine, "begin", after_the_other_worker)
    second.predict(records)

    log = logged(url)
    assert raced and len(log) == 15
    assert log["shadow_prediction"].tail(10).notna().all()


# -- over HTTP: the shadow never harms an answer -----------------------------------------------


def serve_with_shadow(store: str, shadow_tag: str, log: Path, env: dict | None = None):
    """The service module served by BentoML with one worker, the shadow named by SHADOW_TAG."""
    env = {"MODEL_TAG": store, "SHADOW_TAG": shadow_tag, "SERVICE_WORKERS": "1", **(env or {})}
    command = [sys.executable, "-m", "bentoml", "serve", release.SERVICE, "--port", "{port}"]
    return running(command, log, env)


def prometheus_names(client) -> set[str]:
    """The names of the samples /metrics serves (a counter's with its _total)."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(client.get("/metrics").text)
    return {sample.name for family in families for sample in family.samples}


def scraped(client, name: str, **labels: str) -> float:
    """The sum of a metric's samples with these labels, from /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    return sum(
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def test_a_shadow_that_fails_to_load_leaves_the_service_answering(store, trained, params, rows, tmp_path):
    def truncated(folder: Path) -> None:
        blob = (folder / models.MODEL_FILE).read_bytes()
        (folder / models.MODEL_FILE).write_bytes(blob[: len(blob) // 2])

    broken = stored_as_is(doctored(trained, tmp_path / "broken", truncated), params.train.trusted_types)
    log = tmp_path / "serve.log"
    with serve_with_shadow(store, broken, log) as client:
        ready = client.get("/readyz")
        answer = client.post("/predict", json={"records": payload(rows.head(3))})
        failures = scraped(client, "model_shadow_failures_total", shadow_version=broken, stage="load")

    assert ready.status_code == 200
    details = ready.json()
    assert details["champion"] == store
    assert details["shadow"]["tag"] == broken and details["shadow"]["loaded"] is False
    assert details["shadow"]["error"]  # what went wrong, in words
    assert answer.status_code == 200 and {a["model"] for a in answer.json()} == {store}
    assert failures == 1  # one worker, loaded once
    assert f"the shadow {broken} failed to load; serving the champion {store} alone" in log.read_text()


def test_a_shadow_that_raises_on_a_batch_leaves_the_answers_and_empty_columns(
    store, trained, params, rows, tmp_path
):
    """A shadow whose model.json names an input its schema lacks raises on every batch."""

    def misnamed(folder: Path) -> None:
        meta = json.loads((folder / models.META_FILE).read_text())
        meta["numeric"] = [*meta["numeric"], "not_in_its_schema"]
        (folder / models.META_FILE).write_text(json.dumps(meta))

    # The log's settings come with the model built at this commit: the shadow's.
    failing = stored_as_is(
        doctored(trained, tmp_path / "failing", misnamed), params.train.trusted_types, "SHADOW_TEST_LOG_URL"
    )
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log = tmp_path / "serve.log"
    with serve_with_shadow(store, failing, log, {"SHADOW_TEST_LOG_URL": url}) as client:
        answers = [client.post("/predict", json={"records": payload(rows.iloc[[i]])}) for i in range(3)]
        failures = scraped(client, "model_shadow_failures_total", shadow_version=failing, stage="batch")
        compared = scraped(client, "model_shadow_compared_total", shadow_version=failing)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert failures == 3 and compared == 0
    assert f"the shadow {failing} failed on a batch of 1 records" in log.read_text()
    rows_logged = logged(url)
    assert rows_logged["prediction_id"].tolist() == [a.json()[0]["prediction_id"] for a in answers]
    shadow_columns = [c for c in rows_logged.columns if c.startswith("shadow_")]
    assert "shadow_prediction" in shadow_columns and rows_logged[shadow_columns].isna().all().all()


@pytest.fixture(scope="module")
def released(store, trained, project, tmp_path_factory) -> Path:
    """The trained model's bento as a release keeps it (the champion a shadow deployment names)."""
    bento = tmp_path_factory.mktemp("release") / "released.bento"
    result = invoke("build", "--params", project, "--model", trained, "--export", bento)
    assert result.exit_code == 0, explain(result)
    return bento


def test_a_bento_built_from_a_champion_release_serves_it_with_this_model_as_shadow(
    store, shadow_model, project, rows, released, tmp_path
):
    """release.yml's path: the champion's bento as released, then this commit's bento with
    serving.champion_release set, served from the bento (not from the source tree)."""
    runner = {"BENTOML_HOME": str(tmp_path / "fresh-runner")}  # as on a fresh runner: a process of its own
    params = with_release(project, tmp_path)
    build = [sys.executable, "-m", cli.__package__, "build", "--params", params, "--model", shadow_model]
    done = subprocess.run(
        [*map(str, build), "--champion-bento", str(released)],
        capture_output=True, text=True, env={**os.environ, **runner}, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    bento = done.stdout.strip().splitlines()[-1]
    shadow_tag = f"{models.MODEL_NAME}:{models.model_version(shadow_model)}"
    assert f"serving {store} (from model-2026-12-01-abc1234) with the shadow {shadow_tag}" in done.stdout

    command = [sys.executable, "-m", "bentoml", "serve", bento, "--port", "{port}"]
    clean = {**runner, "MODEL_TAG": "", "SHADOW_TAG": "", "SERVICE_WORKERS": "1"}  # the bento pins both
    with running(command, tmp_path / "serve.log", clean) as client:
        ready = client.get("/readyz").json()
        answers = client.post("/predict", json={"records": payload(rows)}).json()
        compared = scraped(
            client, "model_shadow_compared_total", model_version=store, shadow_version=shadow_tag
        )

    assert ready == {"champion": store, "shadow": {"tag": shadow_tag, "loaded": True}}
    assert {a["model"] for a in answers} == {store}
    assert compared == len(rows)


def test_monitor_scores_the_champions_logged_answers_against_its_own_review(
    store, trained, shadow_model, project, later, released, tmp_path, monkeypatch
):
    """With a shadow deployed, the champion answers: drift.yml hands its release's bento to
    `monitor`, whose quality section scores the champion's logged answers against the champion's
    reviewed values (main's model, the shadow, is judged by the online comparison). Without the
    bento, the check does not know the answering model's review, so quality is not scored."""
    params = with_release(project, tmp_path)
    raw = settings.read_yaml(params)
    target = raw["data"]["target"]
    url = f"sqlite:///{tmp_path / 'log.db'}"
    query = "SELECT * FROM predictions WHERE logged_at >= :since"
    raw["drift"]["source"] = {"kind": "sql", "url_env": "SHADOW_TEST_DB", "query": query, "window_days": 30}
    raw["monitor"] |= {"window": "month", "min_rows": 50}
    params.write_text(json.dumps(raw), encoding="utf-8")
    monkeypatch.setenv("SHADOW_TEST_DB", url)
    model, _ = models.load(trained, raw["train"]["trusted_types"])
    requests = later.drop(columns=[target])
    log = prediction_log.PredictionLog(url, "predictions", target)
    ids = log.write(requests, models.predict_frame(model, requests), store)
    log.label(dict(zip(ids, later[target], strict=True)))
    log.close()
    shadow_tag = f"{models.MODEL_NAME}:{models.model_version(shadow_model)}"

    alone = invoke("monitor", "--params", params, "--model", shadow_model, "--out", tmp_path / "alone")
    assert alone.exit_code == 0, explain(alone)
    assert json.loads((tmp_path / "alone" / "drift.json").read_text())["quality"] is None
    assert (
        f"the prediction log's newest answers come from {store}; the check knows the reviewed values of "
        f"main's ({shadow_tag}) only"
    ) in (tmp_path / "alone" / "summary.md").read_text()

    result = invoke("monitor", "--params", params, "--model", shadow_model, "--champion-bento", released,
                    "--out", tmp_path / "out")  # fmt: skip
    assert result.exit_code == 0, explain(result)
    quality = json.loads((tmp_path / "out" / "drift.json").read_text())["quality"]
    assert quality["model"] == store
    whose = "serving.champion_release's model, from the prediction log"
    assert quality["scored"] == f"the answers {store} gave ({whose})"
    reviewed = json.loads((trained / "metrics.json").read_text())["holdout"]["metrics"]
    assert quality["reviewed"] == {m: reviewed.get(m) for m in quality["direction"]}
    assert quality["rows"]["labelled"] == len(later)


def test_monitor_with_a_champion_bento_that_is_no_bento_says_so(store, trained, project, tmp_path):
    (tmp_path / "not.bento").write_text("not a bento")
    result = invoke("monitor", "--params", project, "--model", trained, "--champion-bento",
                    tmp_path / "not.bento", "--out", tmp_path / "out")  # fmt: skip
    assert result.exit_code == 1
    assert "not.bento is not a bento BentoML can read" in result.output


def test_build_refuses_a_champion_bento_params_do_not_name(store, shadow_model, project, tmp_path):
    result = invoke("build", "--params", project, "--model", shadow_model, "--champion-bento", tmp_path / "x")
    assert result.exit_code == 1
    assert "serving.champion_release is null in params.yaml, but --champion-bento" in result.output


def test_build_with_a_champion_release_needs_its_bento(store, shadow_model, project, tmp_path):
    params = with_release(project, tmp_path)
    result = invoke("build", "--params", params, "--model", shadow_model)
    assert result.exit_code == 1
    assert "no --champion-bento was given (download that release's bento)" in result.output
    (tmp_path / "not.bento").write_text("not a bento")
    result = invoke(
        "build", "--params", params, "--model", shadow_model, "--champion-bento", tmp_path / "not.bento"
    )
    assert result.exit_code == 1
    assert "not.bento is not a bento BentoML can read" in result.output


def test_serve_with_a_shadow_says_so_and_serves_the_dashboards_shadow_metrics(
    store, trained, shadow_model, project, rows, tmp_path
):
    command = [sys.executable, "-m", cli.__package__, "serve", "--params", project, "--model", trained]
    shadow_tag = f"{models.MODEL_NAME}:{models.model_version(shadow_model)}"
    log = tmp_path / "serve.log"
    one_worker = {"SERVICE_WORKERS": "1"}
    with running([*command, "--shadow", shadow_model, "--port", "{port}"], log, one_worker) as client:
        ready = client.get("/readyz").json()
        assert client.post("/predict", json={"records": payload(rows.head(3))}).status_code == 200
        served = prometheus_names(client)
    assert ready["shadow"] == {"tag": shadow_tag, "loaded": True}
    assert f"Serving {store} with the shadow {shadow_tag} on http://127.0.0.1:" in log.read_text()
    shadow_panels = {name for name in dashboard_metrics() if name.startswith("model_shadow_")}
    assert len(shadow_panels) == 3 and shadow_panels <= served, sorted(shadow_panels - served)


# -- fetch-champion: the release's bento for release.yml -----------------------------------------


def with_release(project: Path, tmp_path: Path) -> Path:
    raw = settings.read_yaml(project)
    raw["serving"]["champion_release"] = "model-2026-12-01-abc1234"
    raw["data"]["path"] = str(project.parent / raw["data"]["path"])
    return write_small_params(raw, tmp_path / "params.yaml")


def test_fetch_champion_fetches_nothing_without_a_release(project, tmp_path, monkeypatch):
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("PATH", "")  # no gh is called
    result = invoke("fetch-champion", "--params", project, "--repo", "acme/churn", "--out", tmp_path / "c")
    assert result.exit_code == 0, explain(result)
    assert "serving.champion_release is null: main's model answers alone; nothing to fetch" in result.output
    assert outputs.read_text() == "bento=\n" and not (tmp_path / "c").exists()


def test_fetch_champion_without_gh_says_so(project, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    result = invoke("fetch-champion", "--params", with_release(project, tmp_path), "--repo", "acme/churn")
    assert result.exit_code == 1
    assert "error: fetch-champion: gh (GitHub's CLI) is not on PATH" in result.output


def test_fetch_champion_names_the_release_gh_could_not_fetch(project, tmp_path, monkeypatch):
    """gh's own words (here a release that does not exist, as gh says it) reach the log."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "gh").write_text("#!/bin/sh\necho 'release not found' >&2\nexit 1\n")
    (folder / "gh").chmod(0o755)
    monkeypatch.setenv("PATH", str(folder))
    result = invoke("fetch-champion", "--params", with_release(project, tmp_path), "--repo", "acme/churn")
    assert result.exit_code == 1
    expected = (
        "error: fetch-champion: `gh release download` for model-2026-12-01-abc1234 failed: release not found"
    )
    assert expected in result.output


def test_the_model_card_of_a_shadow_release_says_so(project, trained, tmp_path):
    out = tmp_path / "MODEL_CARD.md"
    result = invoke(
        "model-card", "--params", with_release(project, tmp_path), "--model", trained, "--out", out
    )
    assert result.exit_code == 0, explain(result)
    card = out.read_text()
    assert "**Serving:** as a shadow. The release `model-2026-12-01-abc1234`'s model answers" in card
    assert "A pull request setting `champion_release: null` promotes it." in card


def test_serve_with_a_shadow_folder_that_is_no_model_says_train_first(store, project, trained, tmp_path):
    result = invoke("serve", "--params", project, "--model", trained, "--shadow", tmp_path / "nothing")
    assert result.exit_code == 1
    assert (
        f"{tmp_path / 'nothing'}: not a model folder" in result.output
        and "run `train` first" in result.output
    )
