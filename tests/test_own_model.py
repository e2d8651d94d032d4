"""Tier 3: your own model. A team follows the project README's three steps to add LightGBM
(classification) or XGBoost (regression): `uv add`, a candidate in params.yaml, and the types that
`train` names under `train.trusted_types`; and adds a scikit-learn metric by name to `metrics`.
Then the whole loop runs for real: the pull request's
review (the commands train.yml runs, the champion in its own worktree and environment), a second
review whose champion is the boosted model itself, the release check (`model-card --reviewed`),
`build`, and the service answering over HTTP.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from harness.params import edit_params, use_candidates
from harness.project import UV, bake, cli, commit, git_init, head_sha, run
from harness.service import post, serving

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
LIGHTGBM = {"n_estimators": 30, "verbose": -1}
XGBOOST = {"n_estimators": 30, "max_depth": 4}
MODELS = {  # task, package, estimator, its params
    "lightgbm": ("classification", "lightgbm", "lightgbm.LGBMClassifier", LIGHTGBM),
    "xgboost": ("regression", "xgboost-cpu", "xgboost.XGBRegressor", XGBOOST),
}
METRIC = {"classification": "average_precision", "regression": "mean_absolute_percentage_error"}
TRUSTED = re.compile(r"^  trusted_types: \[(.*)\]$", re.MULTILINE)  # the line `train` asks to paste


def lock_versions(project: Path) -> dict[str, list[str]]:
    """Each locked package's versions (one per Python range where the lock splits)."""
    versions: dict[str, list[str]] = {}
    for entry in tomllib.loads((project / "uv.lock").read_text())["package"]:
        versions.setdefault(entry["name"], []).append(entry.get("version"))
    return versions


def review(project: Path, base: str, out: str, *cached: str) -> tuple[dict, str]:
    """The review as train.yml runs it: holdout, challenger here, champion at the base, compare."""
    holdout = f"{out}/holdout.csv"
    cli(project, "holdout", "--out", holdout)
    cli(project, "score", "--holdout", holdout, "--out", f"{out}/challenger")
    cli(project, "score", "--holdout", holdout, "--out", f"{out}/champion", "--ref", base, *cached)
    cli(project, "compare", "--holdout", holdout, "--champion", f"{out}/champion",
        "--challenger", f"{out}/challenger", "--base", base, "--out", out)  # fmt: skip
    record = json.loads((project / out / "comparison.json").read_text())
    return record, (project / out / "comment.md").read_text()


@pytest.fixture(
    scope="module",  # one xdist group per model: its tests share this fixture on one worker
    params=[pytest.param(name, marks=pytest.mark.xdist_group(f"own-model-{name}")) for name in MODELS],
)
def boosted(request, tmp_path_factory) -> dict:
    """A baked project on main, and a branch that adds the boosted model by the README's steps."""
    task, package, estimator, settings = MODELS[request.param]
    project = bake(tmp_path_factory.mktemp(request.param), task=task)
    # Lighter than the sample's defaults (one candidate, two folds): main's model is only the champion.
    use_candidates(project, {"linear": {"estimator": "linear"}})
    git_init(project)
    main = head_sha(project)
    run(["git", "checkout", "-q", "-b", "boosted"], project)
    # 1. the package, at the version the template's lock already pins for its optional extra
    locked = lock_versions(project)[package]
    run([UV, "add", package], project)
    assert lock_versions(project)[package] == locked
    dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(d.startswith(package) for d in dependencies)
    # 2. the candidate (alone here, so that it is the model the rest of the loop carries)
    candidate = {"estimator": estimator, "params": settings}
    edit_params(project, lambda p: p["train"].update(candidates={"boosted": candidate}))
    # 3. the types `train` names, pasted as it says
    refused = cli(project, "train", check=False)
    said = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "train.candidates.boosted holds types that are not trusted yet" in said
    (trusted,) = TRUSTED.findall(said)
    edit_params(project, lambda p: p["train"].update(trusted_types=trusted.split(", ")))
    # and a metric outside the built-in nine
    edit_params(project, lambda p: p["metrics"].append(METRIC[task]))
    head = commit(project, f"Add {estimator}")
    return {"project": project, "task": task, "estimator": estimator, "main": main, "head": head,
            "trusted": trusted.split(", ")}  # fmt: skip


def test_train_names_the_types_to_trust_and_nothing_else(boosted):
    module = boosted["estimator"].split(".")[0]
    assert any(name.startswith(f"{module}.") for name in boosted["trusted"])
    assert not any(name.startswith("sklearn.") for name in boosted["trusted"])


def test_the_loop_with_it(boosted, tmp_path):
    """One story, its steps in order: each needs the one before, and pytest-xdist may hand separate
    tests of a module to different workers, each with its own fixture."""
    review_of_the_pr_that_adds_it(boosted)
    review_whose_champion_is_the_boosted_model(boosted)
    release_check_build_and_serve(boosted, tmp_path)
    a_review_reuses_the_champion_main_trained(boosted)


def review_of_the_pr_that_adds_it(boosted):
    project = boosted["project"]
    record, comment = review(project, boosted["main"], "reports/pr1")
    assert record["challenger"]["chosen"] == "boosted"
    assert record["champion"]["status"]["status"] == "ok"  # main's model, built with main's lock
    assert "Model review: " in comment.splitlines()[1] and "no skill" in comment
    assert f"`train.candidates.boosted.estimator`: `(absent)` → `{boosted['estimator']}`" in comment
    # `uv add` kept the version the template's lock pins for the optional extra: no package changed.
    assert "Locked packages that changed" not in comment
    assert_metric_row(comment, boosted["task"])


def assert_metric_row(comment: str, task: str) -> None:
    """The added metric has its row: both models' values, Δ, its interval and the no-skill value."""
    label = METRIC[task].replace("_", " ")
    (row,) = [line for line in comment.splitlines() if line.startswith(f"| {label} |")]
    assert "undefined" not in row and re.search(r"\[[−+]\d\.\d{4}, [−+]\d\.\d{4}\]", row), row


def review_whose_champion_is_the_boosted_model(boosted):
    """After the merge, the champion is trained at main in its own environment, trusting main's types."""
    project = boosted["project"]
    run(["git", "checkout", "-q", "main"], project)
    run(["git", "merge", "-q", "--ff-only", "boosted"], project)
    run(["git", "checkout", "-q", "-b", "more-trees"], project)
    edit_params(project, lambda p: p["train"]["candidates"]["boosted"]["params"].update(n_estimators=40))
    commit(project, "more trees")
    record, comment = review(project, boosted["head"], "reports/pr2")
    assert record["champion"]["status"]["status"] == "ok", record["champion"]
    assert record["champion"]["chosen"] == record["challenger"]["chosen"] == "boosted"
    assert record["verdict"] in {"better", "no significant change", "worse"}
    assert "`train.candidates.boosted.params.n_estimators`: `30` → `40`" in comment
    assert_metric_row(comment, boosted["task"])
    run(["git", "checkout", "-q", "main"], project)


def release_check_build_and_serve(boosted, tmp_path):
    """On main after the merge: retrain, match the review, card, bento, and a prediction over HTTP."""
    project = boosted["project"]
    cli(project, "train")
    checked = cli(project, "model-card", "--reviewed", "reports/pr1", "--pr", "1",
                  "--review-conclusion", "success", "--out", "dist/MODEL_CARD.md")  # fmt: skip
    assert "Holdout metrics equal to the reviewed ones" in checked.stdout
    assert "Candidate `boosted`" in (project / "dist/MODEL_CARD.md").read_text()
    env = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    built = cli(project, "build", **env)
    assert "Built my-ml-project" in built.stdout
    example = (project / "dist/MODEL_CARD.md").read_text().split("```json\n")[1].split("```")[0]
    with serving(project, tmp_path / "serve.log", **env) as port:
        answered = post(port, "/predict", json.loads(example))
    assert answered[0] == 200, answered
    (prediction,) = json.loads(answered[1])
    assert prediction["model"].startswith("my-ml-project-model:")
    if boosted["task"] == "classification":
        assert prediction["prediction"] in {"yes", "no"}


def a_review_reuses_the_champion_main_trained(boosted):
    """The release job's model of main's commit (artifacts/model, kept in a cache on GitHub) is the
    champion of the next PR on that commit: predicted in the base's worktree and environment with
    the base's trusted types, not trained again."""
    project = boosted["project"]
    main = head_sha(project)
    run(["git", "checkout", "-q", "-b", "fewer-trees"], project)
    edit_params(project, lambda p: p["train"]["candidates"]["boosted"]["params"].update(n_estimators=20))
    commit(project, "fewer trees")
    try:
        record, comment = review(project, main, "reports/pr3", "--cached", "artifacts/model")
    finally:
        run(["git", "checkout", "-q", "main"], project)
    status = record["champion"]["status"]
    assert status["status"] == "ok" and status["source"] == "cache", status
    restored = f"restored from the cache main's release job wrote for {main[:12]} (not retrained)"
    assert f"Champion: {restored}" in comment
