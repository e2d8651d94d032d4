"""Tier 3: drift.yml under act, against the fake GitHub (tests/fakes). Drift with labelled rows to add
opens ONE retraining PR carrying exactly the training data and its manifest (left alone by an identical
re-run), whose review is started by an app token or, without one, by an explicit dispatch; drift with
nothing to add opens ONE issue instead (creating the `drift` label a new repository lacks); no current
data at all is a green run whose summary says what to configure.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fakes.github import FakeGitHub
from harness.act import act
from harness.params import QUICK, edit_params, use_candidates
from harness.project import UV, bake, cli, commit, git_init, head_sha, run

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
REPO = "acme/churn-model"
DATA = "data/bank-marketing.csv"
CREATE_PR = "peter-evans/create-pull-request"
DISPATCH = ["workflow", "run", "train.yml", "--ref", "retrain/drift", "-f", "pr=1"]  # comment on PR #1
ISSUE_TITLE = "Drift or decay: no new labelled rows to retrain on"
CURRENT = "data/current/simulated.csv"
MONTH = r"20\d\d-\d\d"
ADDED = rf"Added \*\*1,500\*\* labelled rows \(`period` {MONTH} to {MONTH}\) to `data/bank-marketing\.csv`"


def drifted_repo(
    root: Path,
    labels: bool,
    period: str = "later",
    concept: str = "0",
    one_month: bool = False,
    task: str = "classification",
) -> Path:
    """A baked project with a later period of the sample data committed as its current data.

    `concept`: the share of rows above the first numeric feature's median whose outcome changes.
    `one_month`: every row in the latest month of the batch (one window of model quality)."""
    project = bake(root, task=task)
    use_candidates(project, QUICK)  # the monitor trains main's model when no release job kept one
    if period == "reference":  # rows like those the model was reviewed on, unseen and undrifted:
        edit_params(project, lambda p: p["split"].update(by="hash"))  # the hash split's holdout
    args = ["simulate-drift", "--rows", "1500", "--period", period, "--concept", concept]
    git_init(project)  # the CLI needs the project installed: use the template's own uv to run it
    cli(project, *args, *([] if labels else ["--no-labels"]))
    if one_month:
        time_column = yaml.safe_load((project / "params.yaml").read_text())["data"]["time_column"]
        batch = pd.read_csv(project / CURRENT)
        batch.assign(**{time_column: batch[time_column].max()}).to_csv(project / CURRENT, index=False)
    commit(project, "current data")
    return project


def new_github(tmp: Path) -> FakeGitHub:
    """A repository as GitHub creates it: the default labels only (no `drift` label)."""
    return FakeGitHub(tmp / "github", repo=REPO)


def run_drift(project: Path, tmp: Path, github: FakeGitHub, *act_args: str):
    args = ("--secret", "GITHUB_TOKEN=workflow-token", *act_args)
    return act(project, "drift.yml", "workflow_dispatch", tmp, {}, act_args=args, github=github)


def file_diffs(diff: str) -> dict[str, str]:
    """A unified diff cut into the diff of each file, keyed by its path."""
    parts = re.split(r"^diff --git a/\S+ b/(\S+)\n", diff, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def changed_lines(file_diff: str, sign: str) -> list[str]:
    return [
        line[1:]
        for line in file_diff.splitlines()
        if line.startswith(sign) and not line.startswith(("+++", "---"))
    ]


def test_drift_with_labels_opens_one_pr_with_exactly_the_training_data_and_dispatches_its_review(tmp_path):
    project = drifted_repo(tmp_path / "repo", labels=True)
    tracked = run(["git", "ls-files", "data/current"], project).stdout.split()
    assert tracked == ["data/current/simulated.csv"]  # committed current data must not ride along
    github = new_github(tmp_path)

    first = run_drift(project, tmp_path / "first", github)

    assert first.returncode == 0, first.log[-4000:]
    (call,) = first.calls(CREATE_PR)
    assert call["branch"] == "retrain/drift" and call["labels"] == "drift"
    assert call["add-paths"] == f"{DATA},data/manifest.json"  # the check job's `files` output
    (created,) = first.outputs(CREATE_PR)
    assert created["pull-request-operation"] == "created" and created["pull-request-number"] == "1"
    (pr,) = github.pulls()
    assert pr["number"] == 1 and pr["state"] == "open" and pr["labels"] == ["drift"]
    assert pr["head"]["ref"] == "retrain/drift" and pr["head"]["sha"] == github.branch_sha("retrain/drift")
    assert pr["base"] == {"ref": "main", "sha": head_sha(project)}
    assert pr["title"].startswith("Retrain on recent data (20")
    assert pr["token"] == "workflow-token"  # no app configured: the fallback token
    assert re.search(ADDED, pr["body"])  # with the period the rows cover
    assert "\n**Retraining because the data drifted (" in pr["body"]  # why, first, in one sentence
    assert "## 🌊 Data drift" in pr["body"]  # the drift summary, as in the job summary
    assert f"[Drift check run](https://github.com/{REPO}/actions/runs/{first.run_id})" in pr["body"]
    assert f"/actions/runs/{first.run_id}#artifacts)" in pr["body"]
    # The Evidently report is its own artifact, one HTML file that opens from the run page, linked
    # from the job summary and the PR; the report folder no longer carries a second copy.
    html = github.artifact("drift.html", run_id=first.run_id) / "drift.html"
    assert html.read_text().lstrip().lower().startswith("<!doctype html")
    assert not (github.artifact("drift-report", run_id=first.run_id) / "drift.html").exists()
    link = f"(https://github.com/{REPO}/actions/runs/{first.run_id}/artifacts/"
    assert f"[Open the Evidently drift report (drift.html)]{link}" in first.summary
    assert f"[the Evidently report (drift.html)]{link}" in pr["body"]
    assert pr["files"] == [DATA, "data/manifest.json"]  # exactly these: no current data, no reports
    diffs = file_diffs(github.pull_diff(1))
    assert sorted(diffs) == [DATA, "data/manifest.json"]
    assert len(changed_lines(diffs[DATA], "+")) == 1500 and changed_lines(diffs[DATA], "-") == []
    assert "new file mode" in diffs["data/manifest.json"]
    staged = github.artifact("retrain-data", run_id=first.run_id)  # what the check job handed over
    assert sorted(str(p.relative_to(staged)) for p in staged.rglob("*") if p.is_file()) == [
        DATA,
        "data/manifest.json",
    ]
    assert github.gh_calls() == [DISPATCH]
    (review,) = reviews = [r for r in github.runs() if r["workflow"] == "train.yml"]
    assert review["event"] == "workflow_dispatch" and review["status"] == "queued"
    assert review["headBranch"] == "retrain/drift" and review["headSha"] == pr["head"]["sha"]
    assert review["inputs"] == {"pr": "1"}  # so pr-comment.yml can post its review on the PR

    second = run_drift(project, tmp_path / "second", github)  # still drifting, the same rows to add

    assert second.returncode == 0, second.log[-4000:]
    (same,) = second.outputs(CREATE_PR)  # what the real action says: the branch already has them
    assert same["pull-request-operation"] == "none" and same["pull-request-number"] == "1"
    assert same["pull-request-head-sha"] == created["pull-request-head-sha"]
    (pr,) = github.pulls()
    assert pr["state"] == "open" and pr["files"] == [DATA, "data/manifest.json"]
    assert github.branch_sha("retrain/drift") == created["pull-request-head-sha"]
    assert github.gh_calls() == [DISPATCH]  # no second review of an unchanged branch
    assert [r for r in github.runs() if r["workflow"] == "train.yml"] == reviews


def test_with_an_app_configured_its_token_opens_the_pr_and_nothing_is_dispatched(tmp_path):
    project = drifted_repo(tmp_path / "repo", labels=True)
    github = new_github(tmp_path)

    result = run_drift(project, tmp_path / "act", github, "--var", "DRIFT_APP_CLIENT_ID=42", "--secret",
                       "DRIFT_APP_PRIVATE_KEY=pem")  # fmt: skip

    assert result.returncode == 0, result.log[-4000:]
    (app,) = result.calls("actions/create-github-app-token")
    assert app["client-id"] == "42" and app["permission-contents"] == "write"
    (pr,) = github.pulls()
    assert pr["token"] == "app-installation-token"
    assert pr["files"] == [DATA, "data/manifest.json"]
    assert github.gh_calls() == []  # the app's PR starts its own checks
    assert [r["databaseId"] for r in github.runs()] == [result.run_id]


def test_with_dvc_the_pr_carries_the_pointer_and_the_new_data_goes_to_the_remote(tmp_path):
    """The training data in a DVC remote (a folder): the check job fetches it into a fresh checkout,
    retrain-data pushes the new version, and the retraining PR changes only the pointer file."""
    project = drifted_repo(tmp_path / "repo", labels=True)
    run([UV, "add", "dvc[s3]"], project)
    cli(project, "data-remote", str(tmp_path / "remote"))
    commit(project, "training data in DVC")
    before = (project / f"{DATA}.dvc").read_text()
    stored = {p.name for p in (tmp_path / "remote").rglob("*") if p.is_file()}
    (project / DATA).unlink()  # as a workflow's checkout has it: the pointer, not the data
    shutil.rmtree(project / ".dvc" / "cache")
    github = new_github(tmp_path)

    result = run_drift(project, tmp_path / "act", github)

    assert result.returncode == 0, result.log[-4000:]
    assert f"Fetched {DATA} (the version {DATA}.dvc names) from DVC." in result.log
    (call,) = result.calls(CREATE_PR)
    assert call["add-paths"] == f"{DATA}.dvc,data/manifest.json"
    (pr,) = github.pulls()
    assert pr["files"] == [f"{DATA}.dvc", "data/manifest.json"]  # never the data itself
    assert re.search(ADDED, pr["body"])  # with the period the rows cover
    pointer = file_diffs(github.pull_diff(1))[f"{DATA}.dvc"]
    old_md5, new_md5 = (re.search(r"md5: (\w+)", line).group(1) for line in
                        (changed_lines(pointer, "-")[0], changed_lines(pointer, "+")[0]))  # fmt: skip
    assert f"md5: {old_md5}" in before and new_md5 != old_md5
    now_stored = {p.name for p in (tmp_path / "remote").rglob("*") if p.is_file()}
    assert now_stored - stored == {new_md5[2:]}  # the new version, in the remote


def test_drift_without_labels_creates_the_label_then_opens_and_updates_one_issue(tmp_path):
    project = drifted_repo(tmp_path / "repo", labels=False)
    github = new_github(tmp_path)
    assert "drift" not in github.labels()

    first = run_drift(project, tmp_path / "first", github)

    assert first.returncode == 0, first.log[-4000:]
    summary = (github.artifact("drift-report", run_id=first.run_id) / "summary.md").read_text()
    assert (
        summary.startswith("**Monitor**: data: drift; quality: no labels.")
        and "\n## 🌊 Data drift" in summary
    )
    (issue,) = github.issues()
    assert issue["title"] == ISSUE_TITLE and issue["labels"] == ["drift"] and issue["state"] == "open"
    report = f"[Open the Evidently drift report (drift.html)](https://github.com/{REPO}/actions/runs/"
    assert issue["body"].startswith(summary) and f"{report}{first.run_id}/artifacts/" in issue["body"]
    (label,) = [label for label in github.state()["labels"] if label["name"] == "drift"]
    assert label["color"] == "d93f0b" and label["description"] == "The data drifted (drift.yml)"
    label_create = ["label", "create", "drift", "--force", "--color", "d93f0b", "--description",
                    "The data drifted (drift.yml)"]  # fmt: skip
    issue_list = ["issue", "list", "--label", "drift", "--state", "open", "--limit", "1", "--json",
                  "number", "--jq", ".[0].number // empty"]  # fmt: skip
    create = ["issue", "create", "--title", ISSUE_TITLE, "--label", "drift", "--body-file"]
    calls = github.gh_calls()
    assert calls[:2] == [label_create, issue_list] and len(calls) == 3
    assert calls[2][:-1] == create and calls[2][-1].endswith("/issue.md")  # the summary and the link

    with github.transaction() as state:  # a stale body, so that the update is visible
        state["issues"][0]["body"] = "last week's summary"
    second = run_drift(project, tmp_path / "second", github)

    assert second.returncode == 0, second.log[-4000:]
    (issue,) = github.issues()  # the same issue, updated
    assert issue["number"] == 1 and issue["body"].startswith(summary)
    assert f"{report}{second.run_id}/artifacts/" in issue["body"]
    calls = github.gh_calls()[3:]
    assert calls[:2] == [label_create, issue_list] and calls[2][:4] == ["issue", "edit", "1", "--body-file"]
    assert github.pulls() == [] and first.calls(CREATE_PR) == second.calls(CREATE_PR) == []


def test_a_stable_month_opens_nothing(tmp_path):
    """E.g. after the retraining PR was merged: a month of current data like the training data, its
    outcomes known and predicted as well as in the review: no PR, no issue. (The regression project:
    the other tests of model quality here are classification's.)"""
    project = drifted_repo(
        tmp_path / "repo", labels=True, period="reference", one_month=True, task="regression"
    )
    github = new_github(tmp_path)

    result = run_drift(project, tmp_path / "act", github)

    assert result.returncode == 0, result.log[-4000:]
    assert "**Monitor**: data: no drift; quality: holding." in result.summary
    assert "## ✅ No data drift" in result.summary and "Model quality: holding" in result.summary
    assert result.calls(CREATE_PR) == []
    assert github.gh_calls() == [] and github.pulls() == [] and github.issues() == []


def test_concept_drift_alone_opens_the_retraining_pr(tmp_path):
    """The features as in training, the outcome changed for some rows: data drift sees nothing, the
    model's quality decays, and the labelled rows go to ONE retraining pull request."""
    project = drifted_repo(tmp_path / "repo", labels=True, period="reference", concept="0.6", one_month=True)
    github = new_github(tmp_path)

    result = run_drift(project, tmp_path / "act", github)

    assert result.returncode == 0, result.log[-4000:]
    assert "**Monitor**: data: no drift; quality: decayed." in result.summary
    assert "Train it when no release job kept it" in result.log  # no cache yet: main's model trained
    (pr,) = github.pulls()
    assert pr["head"]["ref"] == "retrain/drift" and pr["files"] == [DATA, "data/manifest.json"]
    assert "**Monitor**: data: no drift; quality: decayed." in pr["body"]
    assert "Model quality: decayed" in pr["body"] and "the model has decayed" in pr["body"]
    assert "\n**Retraining because the model's quality decayed: ROC AUC in " in pr["body"]
    assert github.gh_calls() == [DISPATCH] and github.issues() == []


def test_a_fresh_repository_without_current_data_passes_and_says_what_to_configure(tmp_path):
    """The scheduled check of a repository committed as baked: no data/current/ at all."""
    project = bake(tmp_path / "repo")
    git_init(project)
    assert not (project / "data" / "current").exists()
    github = new_github(tmp_path)

    result = run_drift(project, tmp_path / "act", github)

    assert result.returncode == 0, result.log[-4000:]
    assert "## ⏸️ No drift verdict: no current data yet" in result.summary
    assert "There is no current data in" in result.summary
    assert "`drift.source.path`" in result.summary and "DRIFT_DATABASE_URL" in result.summary
    assert "simulate-drift" in result.summary
    assert result.calls(CREATE_PR) == []
    assert github.pulls() == [] and github.issues() == []
    assert github.gh_calls() == []  # no gh issue / label call
    assert "drift" not in github.labels()
    with pytest.raises(FileNotFoundError):
        github.artifact("retrain-data")
    assert (github.artifact("drift-report", run_id=result.run_id) / "summary.md").is_file()
