"""Tier 3: bring your own data. On data sets the project has never seen (scikit-learn's wine,
breast cancer and diabetes, each given an integer id column), the whole loop as a team would run
it: infer-schema, validate, train; the review of a params change (train.yml under act); drift on a
shifted, labelled batch whose ids and labels lie beyond every one seen (drift.yml under act); the
retraining pull request carrying exactly those rows, and its review; build; serve, answering one
request and refusing a bad one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes.github import FakeGitHub
from harness.act import act
from harness.params import edit_params
from harness.project import bake, cli, commit, git_init, head_sha, python, run
from harness.service import post, serving

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
BATCH = 600  # current rows: more than drift.min_rows (500), so the check gives a verdict
# Writes data/own.csv: the data set, an integer `row_id` first, the outcome as `target`.
WRITE_DATA = """
import sys
from sklearn import datasets
frame = getattr(datasets, f"load_{sys.argv[1]}")(as_frame=True).frame
frame.insert(0, "row_id", range(1, len(frame) + 1))
frame.to_csv("data/own.csv", index=False)
"""
# Writes data/current/batch.csv: rows resampled from the training data, features shifted by one
# standard deviation, ids after the largest one, and (for a numeric outcome) labels beyond the largest.
WRITE_BATCH = """
import sys
import pandas as pd
frame = pd.read_csv("data/own.csv")
batch = frame.sample(n=int(sys.argv[1]), replace=True, random_state=0).reset_index(drop=True)
features = [c for c in frame.columns if c not in ("row_id", "target")]
batch[features] = batch[features] + frame[features].std()
batch["row_id"] = range(frame["row_id"].max() + 1, frame["row_id"].max() + 1 + len(batch))
if sys.argv[2] == "regression":
    batch["target"] = batch["target"] + frame["target"].max()
batch.to_csv("data/current/batch.csv", index=False)
"""
DATASETS = {"wine": "classification", "breast_cancer": "classification", "diabetes": "regression"}


def review(project: Path, tmp: Path, github: FakeGitHub, base: str, head: str, number: int):
    payload = {
        "pull_request": {"number": number, "base": {"sha": base, "ref": "main"}, "head": {"sha": head}}
    }
    done = act(project, "train.yml", "pull_request", tmp, payload, github=github)
    return done, (github.artifact("model-review", done.run_id) / "comment.md").read_text()


@pytest.fixture(
    scope="module",  # one xdist group per data set: its tests share this fixture on one worker
    params=[pytest.param(name, marks=pytest.mark.xdist_group(f"own-data-{name}")) for name in DATASETS],
)
def own(request, tmp_path_factory) -> dict:
    """A baked project pointed at the data set by infer-schema, trained, committed on main."""
    name, task = request.param, DATASETS[request.param]
    tmp = tmp_path_factory.mktemp(name)
    project = bake(tmp / "repo")
    python(project, WRITE_DATA, name)
    out = cli(project, "infer-schema", "data/own.csv", "--target", "target", "--key", "row_id").stdout
    assert f"Inferred a {task} schema" in out
    assert "rows match the schema" in cli(project, "validate").stdout
    assert "Holdout" in cli(project, "train").stdout
    git_init(project)
    main = head_sha(project)
    return {"name": name, "project": project, "task": task, "tmp": tmp, "main": main,
            "github": FakeGitHub(tmp / "github", repo="acme/own-model")}  # fmt: skip


def test_inferred_schema_bounds_neither_the_key_nor_the_label_by_what_was_seen(own):
    schema = (own["project"] / "src" / "my_ml_project" / "schema.py").read_text()
    key = next(line for line in schema.splitlines() if line.strip().startswith("row_id:"))
    assert "le=" not in key.split("#")[0], key
    target = next(line for line in schema.splitlines() if line.strip().startswith("target:"))
    assert "le=" not in target.split("#")[0], target


def test_review_of_a_params_change(own):
    project, github = own["project"], own["github"]
    run(["git", "checkout", "-q", "-b", "more-trees"], project)

    def more_trees(params: dict) -> None:
        params["train"]["candidates"]["random_forest"]["params"]["n_estimators"] = 200

    edit_params(project, more_trees)
    head = commit(project, "more trees")
    try:
        done, comment = review(project, own["tmp"] / "review", github, own["main"], head, 1)
    finally:
        run(["git", "checkout", "-q", "main"], project)
    assert done.returncode == 0, done.log[-4000:]
    assert "Model review: " in comment.splitlines()[1]
    assert "not comparable" not in comment and "no champion" not in comment
    assert "`train.candidates.random_forest.params.n_estimators`: `100` → `200`" in comment
    # Both models charted, as the data's shape asks: multiclass curves are micro-averaged.
    first_chart = {"wine": "ROC curve, all classes (micro-average)", "breast_cancer": "ROC curve, class ",
                   "diabetes": "Mean prediction by actual value"}[own["name"]]  # fmt: skip
    assert f'title "{first_chart}' in comment and comment.count("```mermaid") == 2
    assert "Grey line: champion (base) · blue line: challenger (this PR)" in comment


def test_drift_retrains_on_new_ids_and_the_retraining_pr_is_reviewed(own, tmp_path):
    project, github, task = own["project"], own["github"], own["task"]
    data = project / "data" / "own.csv"
    rows_before = len(data.read_text().splitlines())
    (project / "data" / "current").mkdir()
    python(project, WRITE_BATCH, str(BATCH), task)
    main = commit(project, "current data")

    done = act(project, "drift.yml", "workflow_dispatch", tmp_path / "drift", github=github)

    assert done.returncode == 0, done.log[-4000:]
    (pull,) = [p for p in github.pulls() if p["head"]["ref"] == "retrain/drift"]
    assert sorted(pull["files"]) == ["data/manifest.json", "data/own.csv"]  # not data/current/
    assert f"Added **{BATCH:,}** labelled rows" in pull["body"]
    run(["git", "fetch", "-q", str(github.remote), "retrain/drift"], project)
    run(["git", "checkout", "-q", "FETCH_HEAD"], project)
    try:
        assert len(data.read_text().splitlines()) == rows_before + BATCH
        # The review the drift job dispatched (no app token): train.yml on the branch, for the PR.
        (queued,) = [r for r in github.runs() if r["workflow"] == "train.yml" and r["status"] == "queued"]
        inputs = {"base": main, **queued["inputs"]}
        reviewed = act(project, "train.yml", "workflow_dispatch", tmp_path / "review", {"inputs": inputs},
                       github=github)  # fmt: skip
    finally:
        run(["git", "checkout", "-q", "main"], project)
    assert reviewed.returncode == 0, reviewed.log[-4000:]
    comment = (github.artifact("model-review", reviewed.run_id) / "comment.md").read_text()
    assert f"(+{BATCH:,} added, −0 removed)" in comment
    (record,) = [r for r in github.runs() if r["databaseId"] == reviewed.run_id]
    event = {"id": reviewed.run_id, "event": "workflow_dispatch", "conclusion": record["conclusion"],
             "head_sha": record["headSha"], "head_repository": {"full_name": "acme/own-model"}}  # fmt: skip
    posted = act(project, "pr-comment.yml", "workflow_run", tmp_path / "comment", {"workflow_run": event},
                 github=github)  # fmt: skip
    assert posted.returncode == 0, posted.log[-4000:]
    (on_the_pr,) = github.comments(pull["number"])
    assert f"(+{BATCH:,} added, −0 removed)" in on_the_pr["body"]


def test_build_and_serve(own, tmp_path):
    project = own["project"]
    env = {"BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    assert "Built my-ml-project" in cli(project, "build", **env).stdout
    first = (
        "import pandas as pd; "
        "print(pd.read_csv('data/own.csv').drop(columns='target').head(1).to_json(orient='records'))"
    )
    record = json.loads(python(project, first).stdout)[0]
    with serving(project, tmp_path / "serve.log", **env) as port:
        good = post(port, "/predict", {"records": [record]})
        bad = post(port, "/predict", {"records": [{**record, "colour": "red"}]})
    assert good[0] == 200, good
    assert len(json.loads(good[1])) == 1
    assert bad[0] == 400 and "colour" in bad[1], bad
