"""Tier 3: merge-to-release under act. A PR is reviewed by train.yml, merged, and release.yml
retrains at the merge commit, checks the model against that review, builds the bento for real,
and hands the image and the GitHub Release to (recorded) docker actions and `gh`.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from act_runner import act
from conftest import BIN, bake, git_init, run
from test_review_workflow import QUICK, commit, edit_params

pytestmark = pytest.mark.slow
FAKE_GH = """#!/usr/bin/env bash
# Answers the release workflow's questions from files the test writes; records every call.
printf '%s\\n' "$*" >> "$ACT_ARTIFACTS/gh.log"
case "$1 $2" in
  "api "*) cat "$ACT_ARTIFACTS/pr-head" 2>/dev/null ;;
  "run list") cat "$ACT_ARTIFACTS/review-run" 2>/dev/null ;;
  "release create")
    while [ $# -gt 0 ]; do
      [ "$1" = "--notes-file" ] && cp "$2" "$ACT_ARTIFACTS/release-notes.md"
      shift
    done ;;
esac
exit 0
"""


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> dict:
    """A repo on GitHub as Acme/Churn-Model whose PR #7 was reviewed by train.yml, then merged."""
    tmp = tmp_path_factory.mktemp("release")
    project = bake(tmp / "repo", task="regression")
    edit_params(project, QUICK)
    git_init(project)
    run(["git", "remote", "add", "origin", "https://github.com/Acme/Churn-Model.git"], project)
    main = run(["git", "rev-parse", "HEAD"], project).stdout.strip()
    run(["git", "checkout", "-q", "-b", "more-data"], project)
    data = project / "data" / "bike-sharing-hour.csv"
    later = (project / "data" / "later" / "bike-sharing-hour.csv").read_text().splitlines()
    data.write_text(data.read_text() + "\n".join(later[1:101]) + "\n")
    head = commit(project, "100 more rows")
    payload = {"pull_request": {"number": 7, "base": {"sha": main, "ref": "main"}, "head": {"sha": head}}}
    review = act(project, "train.yml", "pull_request", tmp / "review", payload, artifacts=tmp / "artifacts")
    assert review.returncode == 0, review.log[-4000:]
    run(["git", "checkout", "-q", "main"], project)
    run(["git", "merge", "-q", "--ff-only", "more-data"], project)

    gh = tmp / "gh"
    gh.mkdir()
    (gh / "gh").write_text(FAKE_GH)
    (gh / "gh").chmod(0o755)
    (tmp / "artifacts" / "pr-head").write_text(head + "\n")
    (tmp / "artifacts" / "review-run").write_text("4242\n")
    return {"project": project, "tmp": tmp, "head": head, "gh": gh}


def release(merged: dict, name: str, *act_args: str):
    tmp = merged["tmp"]
    path = f"{merged['gh']}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"
    bentoml_home = f"BENTOML_HOME={tmp / name / 'bentoml'}"
    args = ("--env", bentoml_home, "--secret", "GITHUB_TOKEN=workflow-token", *act_args)
    payload = {"ref": "refs/heads/main", "after": merged["head"]}
    return act(merged["project"], "release.yml", "push", tmp / name, payload, artifacts=tmp / "artifacts",
               act_args=args, env={"PATH": path})  # fmt: skip


def test_merge_publishes_image_and_release_with_the_model_card(merged):
    done = release(merged, "first")
    assert done.returncode == 0, done.log[-6000:]
    sha = merged["head"]

    (build,) = done.calls("docker/build-push-action")
    assert build["tags"].split() == [f"ghcr.io/acme/churn-model:{sha}", "ghcr.io/acme/churn-model:latest"]
    assert build["context"] == "bento" and build["push"] == "true"  # the unpacked bento, model included
    (login,) = done.calls("docker/login-action")
    assert login["registry"] == "ghcr.io"

    gh_calls = (merged["tmp"] / "artifacts" / "gh.log").read_text().splitlines()
    (create,) = [c for c in gh_calls if c.startswith("release create")]
    tag = create.split()[2]
    assert re.fullmatch(rf"model-\d{{4}}-\d{{2}}-\d{{2}}-{sha[:7]}", tag)
    assert create.endswith("dist/MODEL_CARD.md dist/metrics.json dist/my-ml-project.bento")
    assert f"--target {sha}" in create

    card = (merged["tmp"] / "artifacts" / "release-notes.md").read_text()
    assert card.startswith("# Model card: my-ml-project-model:")
    assert "equal those pull request #7 reviewed" in card
    assert "| rmse (primary) |" in card and " to " in card  # metrics with intervals
    assert f"docker run --rm -p 3000:3000 ghcr.io/acme/churn-model:{sha}" in card
    released = json.loads((merged["tmp"] / "artifacts" / "release" / "metrics.json").read_text())
    assert released["git"]["commit"] == sha


def test_release_fails_when_the_model_differs_from_the_review(merged):
    reviewed = merged["tmp"] / "artifacts" / "model-review" / "challenger" / "model" / "metrics.json"
    record = json.loads(reviewed.read_text())
    honest = record["holdout"]["metrics"]["rmse"]
    record["holdout"]["metrics"]["rmse"] = honest + 1.0
    reviewed.write_text(json.dumps(record))
    try:
        done = release(merged, "tampered", "-j", "bento")
    finally:
        record["holdout"]["metrics"]["rmse"] = honest
        reviewed.write_text(json.dumps(record))
    assert done.returncode != 0
    assert "differs from the one pull request #7 reviewed" in done.log
    assert f"holdout rmse: reviewed {honest + 1.0!r}, released {honest!r}" in done.log


@pytest.fixture(scope="module")
def kubernetes_repo(tmp_path_factory) -> Path:
    project = bake(tmp_path_factory.mktemp("k8s"), deploy="kubernetes")
    git_init(project)
    return project


@pytest.mark.parametrize(
    ("image", "secret", "message"),
    [
        ("ghcr.io/acme/churn-model:abc123", None, "The KUBE_CONFIG secret is not set"),
        ("ghcr.io/acme/churn-model:abc; rm -rf /", "apiVersion: v1", "not an image reference"),
    ],
    ids=["missing secret", "bad image"],
)
def test_deploy_refuses_to_start_without_what_it_needs(kubernetes_repo, tmp_path, image, secret, message):
    """A rollback is deploy.yml run by hand: a missing secret or a malformed image stops it, said plainly."""
    args = ("--secret", f"KUBE_CONFIG={secret}") if secret else ()
    done = act(kubernetes_repo, "deploy.yml", "workflow_dispatch", tmp_path, {"inputs": {"image": image}},
               act_args=args)  # fmt: skip
    assert done.returncode != 0
    assert message in done.log
    assert "kubectl: command not found" not in done.log  # stopped before kubectl (absent here) ran
