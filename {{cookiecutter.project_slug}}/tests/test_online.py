"""The shadow on live traffic (online.py): the champion's and the shadow's logged predictions for the
same requests, compared on the labelled rows with the review's paired bootstrap, gate and words; too
few labels with an estimate of the rows still needed; what the check hands to the promotion pull
request and the issue; and the monitor verb reading a prediction log with a shadow's columns."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from ruamel.yaml import YAML
from support import ROOT, explain, invoke

from {{ cookiecutter.__package_name }} import (
    comparison,
    data,
    errors,
    evaluation,
    models,
    online,
    records,
    settings,
)

CHAMPION, SHADOW = "my-model:champion", "my-model:shadow"


def live_log(info: records.ModelInfo, rows: int, champion_noise: float, shadow_noise: float, seed: int = 0):
    """A prediction log of `rows` labelled requests over 12 weeks, both models' predictions beside
    each: the less noise a model's scores have, the better it is."""
    rng = np.random.default_rng(seed)
    logged_at = pd.Timestamp("2026-09-01", tz="UTC") + pd.to_timedelta(rng.uniform(0, 84, rows), unit="D")
    frame = pd.DataFrame({"logged_at": logged_at, "model_version": CHAMPION, online.TAG_COLUMN: SHADOW})
    if info.classes:
        positive = info.positive_class if info.positive_class is not None else info.classes[-1]
        (other,) = [c for c in info.classes if c != positive][:1] or [info.classes[0]]
        truth = rng.random(rows) < 0.3
        frame[info.target] = np.where(truth, positive, other)
        for prefix, noise in (("", champion_noise), (online.PREFIX, shadow_noise)):
            p = 1 / (1 + np.exp(-(2 * truth - 1 + rng.normal(0, noise, rows)) * 2))
            frame[f"{prefix}prediction"] = np.where(p >= 0.5, positive, other)
            for c in info.classes:
                frame[f"{prefix}proba_{c}"] = p if c == positive else (1 - p) / (len(info.classes) - 1)
    else:
        truth = rng.normal(100, 20, rows)
        frame[info.target] = truth
        for prefix, noise in (("", champion_noise), (online.PREFIX, shadow_noise)):
            frame[f"{prefix}prediction"] = truth + rng.normal(0, 20 * noise, rows)
    return frame


@pytest.fixture(scope="module")
def info(trained) -> records.ModelInfo:
    found = records.read_info(trained)
    return found if len(found.classes) <= 2 else pytest.skip("a binary classifier or a regression")


@pytest.mark.parametrize(
    ("champion_noise", "shadow_noise", "expected"),
    [(1.2, 0.6, comparison.BETTER), (0.6, 1.2, comparison.WORSE), (0.8, 0.8, comparison.SAME)],
)
def test_the_verdict_is_the_reviews_on_the_labelled_live_rows(
    params, info, champion_noise, shadow_noise, expected
):
    log = live_log(info, 3000, champion_noise, shadow_noise)
    found = online.compare(params, log, info, "logged_at")
    assert found["verdict"] == expected
    assert (found["champion"], found["shadow"]) == (CHAMPION, SHADOW)
    assert found["rows"] == {"logged": 3000, "labelled": 3000, "unusable": 0}
    primary = found["metrics"][0]
    assert primary["metric"] == params.train.primary_metric
    names = [m["metric"] for m in found["metrics"]]
    assert set(names) == {params.train.primary_metric, *params.metrics}
    direction = evaluation.direction(primary["metric"])
    if expected == comparison.BETTER:
        assert direction * min(primary["low"], primary["high"]) > 0
        assert found["sentence"].endswith("the shadow is better, with 95% confidence.")
    if expected == comparison.WORSE:
        assert "the shadow is worse by more than the gate's tolerance" in found["sentence"]
    label = evaluation.metric_label(primary["metric"])
    assert found["sentence"].startswith(f"{label}: shadow − champion = ")
    assert "on 3,000 labelled live rows" in found["sentence"]
    assert [w["label"] for w in found["windows"]] == ["2026-09", "2026-10", "2026-11"]
    assert sum(w["labelled"] for w in found["windows"]) == 3000
    assert len(found["charts"]) == 2  # the review's curves, champion and shadow


def test_the_same_statistics_as_the_review(params, info):
    """The online numbers are the review's paired bootstrap on these rows, nothing else."""
    from {{ cookiecutter.__package_name }} import bootstrap

    log = live_log(info, 800, 1.0, 0.7)
    found = online.compare(params, log, info, "logged_at")
    y, champion, shadow, _ = online.paired_rows(log, info)
    names = [m["metric"] for m in found["metrics"]]
    expected = bootstrap.paired_bootstrap(
        y, champion, shadow, names, info.classes, info.positive_class, **params.gate.bootstrap_args()
    )
    assert found["metrics"] == expected


def test_too_few_labels_says_how_many_more_are_needed(params, info):
    log = live_log(info, 3000, 1.2, 0.6)
    log.loc[log.index[120:], info.target] = None  # outcomes back for 120 requests only
    found = online.compare(params, log, info, "logged_at")
    assert found["verdict"] == online.TOO_FEW
    assert found["rows"]["labelled"] == 120 and found["rows"]["logged"] == 3000
    assert found["needed"] >= params.gate.min_rows - 120
    assert f"about {found['needed']:,} more labelled rows" in found["sentence"]
    assert "too few to judge (`gate.min_rows` is" in found["sentence"]


def diff(delta: float, low: float, high: float) -> records.MetricDiff:
    return records.MetricDiff(
        metric="m", champion=0.7, challenger=0.7 + delta, delta=delta, low=low, high=high, undefined_share=0.0
    )


@pytest.mark.parametrize(
    ("observed", "direction", "tolerance", "total"),
    [
        # better: the interval's half-width 0.03 must shrink below Δ = 0.02: (0.03 / 0.02)² x 400
        (diff(0.02, -0.01, 0.05), 1, 0.005, 900),
        # worse: below Δ's distance past the tolerance, 0.03 - 0.005: (0.03 / 0.025)² x 400
        (diff(-0.03, -0.06, 0.0), 1, 0.005, 576),
        # a metric where lower is better, Δ = -0.02 is an improvement
        (diff(-0.02, -0.05, 0.01), -1, 0.005, 900),
        (diff(0.0, -0.03, 0.03), 1, 0.005, None),  # no difference: no number of rows decides
        (diff(-0.004, -0.034, 0.026), 1, 0.005, None),  # within the tolerance: it can never be worse
    ],
)
def test_rows_needed_is_where_the_interval_narrows_past_the_difference(observed, direction, tolerance, total):
    """The interval narrows as one over the square root of the rows: the estimate is the rows at
    which the one seen so far, at the difference seen so far, would no longer include the boundary."""
    assert online.rows_needed(observed, direction, tolerance, 400) == total


def test_only_the_latest_pairs_labelled_rows_with_both_predictions_count(params, info):
    """Rows before the shadow (no shadow columns filled), of an earlier pair, or without an outcome
    are not compared; a class outside the model's is counted as unusable."""
    log = live_log(info, 1000, 1.0, 0.7)
    earlier = live_log(info, 300, 1.0, 0.7, seed=1).assign(
        logged_at=lambda f: f["logged_at"] - pd.Timedelta(days=200)
    )
    earlier[online.TAG_COLUMN] = "my-model:older-shadow"
    before = live_log(info, 200, 1.0, 0.7, seed=2).assign(
        logged_at=lambda f: f["logged_at"] - pd.Timedelta(days=300)
    )
    before[[c for c in before.columns if c.startswith(online.PREFIX)]] = None
    log.loc[log.index[:50], online.PREFIX + "prediction"] = None  # the shadow refused these
    if info.classes:
        log.loc[log.index[50:60], info.target] = "a class it never saw"
    found = online.compare(params, pd.concat([before, earlier, log], ignore_index=True), info, "logged_at")
    assert found["shadow"] == SHADOW
    assert found["rows"]["logged"] == 1000
    unusable = 50 + (10 if info.classes else 0)
    assert found["rows"] == {"logged": 1000, "labelled": 1000 - unusable, "unusable": unusable}


def test_without_shadow_predictions_there_is_no_comparison(params, info):
    log = live_log(info, 100, 1.0, 1.0)
    log = log.drop(columns=[c for c in log.columns if c.startswith(online.PREFIX)])
    assert online.compare(params, log, info, "logged_at") is None
    log[online.TAG_COLUMN] = None
    assert online.compare(params, log, info, "logged_at") is None


def test_shadow_rows_without_a_time_are_named_not_guessed(params, info):
    """Which pair is deployed now is the newest shadow row's: with no time, the check says so."""
    log = live_log(info, 100, 1.0, 1.0).assign(logged_at=pd.NaT)
    with pytest.raises(errors.DataError, match="no row with a shadow's prediction has a logged_at time"):
        online.compare(params, log, info, "logged_at")


def test_the_section_shows_the_reviews_table_delta_plot_and_curves(params, info):
    found = online.compare(params, live_log(info, 2000, 1.2, 0.6), info, "logged_at")
    section = online.render(found)
    assert section.startswith("## ✅ Shadow on live traffic: better\n")
    assert found["sentence"] in section
    assert f"Champion (answering): `{CHAMPION}` · shadow: `{SHADOW}`" in section
    label = evaluation.metric_label(params.train.primary_metric)
    assert f"| **{label}** (primary) |" in section and "▲ better" in section
    assert "├" in section and "●" in section  # the Δ plot
    assert section.count("```mermaid") == 2
    assert "| 2026-11 |" in section


@pytest.fixture
def deployed(tmp_path) -> Path:
    """The project's params.yaml with a shadow deployed: serving.champion_release names a release."""
    written = (ROOT / "params.yaml").read_text()
    assert "  champion_release: null\n" in written
    path = tmp_path / "deployed" / "params.yaml"
    path.parent.mkdir()
    path.write_text(
        written.replace("  champion_release: null\n", "  champion_release: model-2026-12-01-abc1234\n")
    )
    return path


def test_a_better_shadow_hands_over_the_promotion(params, info, deployed, tmp_path):
    """params.yaml as the promotion pull request changes it: that one line, comments and all kept."""
    found = online.compare(params, live_log(info, 2000, 1.2, 0.6), info, "logged_at")
    said = online.hand_over(found, deployed, tmp_path / "out", SHADOW)
    assert (tmp_path / "out" / "promote" / "params.yaml").read_text() == (ROOT / "params.yaml").read_text()
    body = (tmp_path / "out" / "promote-pr.md").read_text()
    assert body.startswith(f"Promote the shadow `{SHADOW}` to champion")
    assert found["sentence"] in body and "serving.champion_release: null" in body
    assert "promotion pull request" in said
    assert not (tmp_path / "out" / "shadow-issue.md").exists()


def test_no_promotion_when_main_names_no_champion_release(params, info, project, tmp_path):
    found = online.compare(params, live_log(info, 2000, 1.2, 0.6), info, "logged_at")
    said = online.hand_over(found, project, tmp_path, SHADOW)
    assert "main names no champion release (serving.champion_release is null)" in said
    assert not tmp_path.joinpath("promote").exists()


def test_a_worse_shadow_hands_over_the_issue_only(params, info, deployed, tmp_path):
    found = online.compare(params, live_log(info, 2000, 0.6, 1.2), info, "logged_at")
    online.hand_over(found, deployed, tmp_path / "out", SHADOW)
    body = (tmp_path / "out" / "shadow-issue.md").read_text()
    assert body.startswith(f"The shadow `{SHADOW}` is **worse** than the champion `{CHAMPION}`")
    assert "Nothing changed on main" in body
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shadow-issue.md"]


@pytest.mark.parametrize(("champion_noise", "shadow_noise"), [(1.2, 0.6), (0.6, 1.2)])
def test_a_verdict_on_a_shadow_main_has_replaced_promotes_and_reports_nothing(
    params, info, deployed, tmp_path, champion_noise, shadow_noise
):
    """A merge since released a newer model as the shadow: the verdict is on the one it replaced
    (the latest pair logged before the rollout), so it must not promote main's model unjudged."""
    found = online.compare(params, live_log(info, 2000, champion_noise, shadow_noise), info, "logged_at")
    assert found["verdict"] in {comparison.BETTER, comparison.WORSE}
    said = online.hand_over(found, deployed, tmp_path / "out", "my-model:merged-since")
    assert said == (
        f"the shadow judged ({SHADOW}) is no longer main's model (my-model:merged-since): main's is judged "
        "on its own rows once released as the shadow, so nothing is promoted or reported"
    )
    assert not (tmp_path / "out").exists()


def test_monitor_compares_the_shadow_in_a_prediction_log(own_project, trained, info, tmp_path, monkeypatch):
    """The scheduled check's verb on a SQL prediction log with a shadow's columns: the verdict as a
    step output, its section in the summary, the promotion's files."""
    main_model = f"{models.MODEL_NAME}:{models.model_version(trained)}"
    requests = data.read_table(settings.load_params(own_project).data_path).drop(columns=[info.target])
    log = pd.concat([requests.sample(2000, replace=True, random_state=0).reset_index(drop=True),
                     live_log(info, 2000, 1.2, 0.6)], axis=1)  # fmt: skip
    log[online.TAG_COLUMN] = main_model  # main's model is the shadow being served
    recent = pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=1)
    log["logged_at"] = recent - pd.to_timedelta(np.linspace(0, 60, len(log)), unit="D")
    url = f"sqlite:///{tmp_path / 'log.db'}"
    log.to_sql("predictions", sqlalchemy.create_engine(url), index=False)
    raw = settings.read_yaml(own_project)
    query = "SELECT * FROM predictions"
    raw["drift"]["source"] = {"kind": "sql", "url_env": "ONLINE_TEST_DB", "query": query, "window_days": 90}
    raw["serving"]["champion_release"] = "model-2026-12-01-abc1234"  # the deployment: a shadow
    with own_project.open("w") as written:
        YAML().dump(raw, written)
    monkeypatch.setenv("ONLINE_TEST_DB", url)
    outputs = tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    out = tmp_path / "report"
    result = invoke("monitor", "--params", own_project, "--model", trained, "--out", out)
    assert result.exit_code == 0, explain(result)
    assert "Shadow on live traffic: better." in result.output
    assert "shadow=better" in outputs.read_text().splitlines()
    summary = (out / "summary.md").read_text()
    assert summary.splitlines()[0].endswith("; shadow: better.")
    assert "## ✅ Shadow on live traffic: better" in summary
    assert json.loads((out / "drift.json").read_text())["online"]["verdict"] == "better"
    assert (out / "promote" / "params.yaml").is_file() and (out / "promote-pr.md").is_file()


def test_a_log_without_the_columns_main_models_classes_need_is_not_comparable(
    params, info, deployed, tmp_path
):
    """Fails closed: a champion or shadow whose classes differ from main's model's leaves the log
    without some probability column; nothing is judged, promoted or reported worse, and it says why."""
    if not info.classes:
        pytest.skip("classes only")
    log = live_log(info, 2000, 1.2, 0.6).drop(columns=[f"{online.PREFIX}proba_{info.classes[0]}"])
    found = online.compare(params, log, info, "logged_at")
    assert found["verdict"] == comparison.NOT_COMPARABLE and found["metrics"] == []
    assert found["sentence"].startswith(
        f"Not comparable: the prediction log has no {online.PREFIX}proba_{info.classes[0]} column(s)"
    )
    assert found["rows"]["unusable"] == 2000
    assert online.render(found).startswith("## ⚠️ Shadow on live traffic: not comparable\n")
    assert online.hand_over(found, deployed, tmp_path / "out", SHADOW) == ""
    assert not (tmp_path / "out").exists()
