"""Tier 3: day one. A project baked and committed as is, in a new GitHub repository with nothing
configured (no labels beyond GitHub's defaults, no current data, no secrets but GITHUB_TOKEN): its
first push releases, its model review runs, and its weekly drift check is green without opening a
pull request or an issue. (`tests/test_ci_workflow.py` runs ci.yml on the same kind of bake.)
"""

from __future__ import annotations

import os

import pytest

from fakes.github import FakeGitHub
from harness.act import act
from harness.project import bake, git_init, head_sha

# One worker builds the fresh repository and runs its three workflows.
pytestmark = [pytest.mark.slow, pytest.mark.tier3, pytest.mark.xdist_group("fresh")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("fresh")
    project = bake(tmp / "repo")
    git_init(project)
    sha = head_sha(project)
    return {"project": project, "tmp": tmp, "sha": sha, "github": FakeGitHub(tmp / "github", repo="acme/new")}


def test_the_weekly_drift_check_is_green_and_says_what_to_configure(fresh):
    done = act(fresh["project"], "drift.yml", "schedule", fresh["tmp"] / "drift", {}, github=fresh["github"])
    assert done.returncode == 0, done.log[-4000:]
    assert "drift.source" in done.summary  # what to configure
    assert fresh["github"].pulls() == [] and fresh["github"].issues() == []


@pytest.fixture(scope="module")
def first_push(fresh):
    """release.yml on the first push: it also keeps its model as the champion of reviews on that commit."""
    tmp = fresh["tmp"] / "release"
    env = ("--env", f"BENTOML_HOME={tmp / 'bentoml'}")
    payload = {"ref": "refs/heads/main", "after": fresh["sha"]}
    return act(fresh["project"], "release.yml", "push", tmp, payload, act_args=env, github=fresh["github"],
               env={"PATH": os.environ["PATH"]})  # fmt: skip


def test_the_first_push_is_a_pre_release_whose_card_says_it_was_not_reviewed(fresh, first_push):
    assert first_push.returncode == 0, first_push.log[-4000:]
    (release,) = fresh["github"].releases()
    card = fresh["github"].release_asset(release["tag"], "MODEL_CARD.md").read_text()
    assert "no pull-request review was found for this commit" in card
    assert release["prerelease"]  # no passing review vouches for it: published, not deployed
    assert "> [!WARNING]\n> No passing review vouches for this model (it was not reviewed)" in card


def test_the_model_review_runs_on_the_first_commit(fresh, first_push):
    """The first review of that commit predicts with the champion the first push kept, as a team's
    first pull request would, and trains only the challenger."""
    payload = {"inputs": {"base": fresh["sha"]}}
    done = act(fresh["project"], "train.yml", "workflow_dispatch", fresh["tmp"] / "review", payload,
               github=fresh["github"])  # fmt: skip
    assert done.returncode == 0, done.log[-4000:]
    comment = (fresh["github"].artifact("model-review", done.run_id) / "comment.md").read_text()
    assert "Model review: no significant change" in comment  # the same commit on both sides
    assert "restored from the cache main's release job wrote" in comment
