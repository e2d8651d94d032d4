"""Tier 3: the shadow loop, for both tasks, against the fake GitHub (tests/fakes), as a public
repository (bentos attested). A release's model is the champion, its bento built and attested by
release.yml; main names that release in `serving.champion_release` and release.yml (under act)
builds one bento with it answering and main's model as its shadow, fetched from the release with
gh. The bento is served, requests answered and logged with both predictions, their outcomes
recorded with `label`; drift.yml (under act) compares the two on those rows. A better shadow opens
ONE promotion pull request setting `champion_release: null`, and once it is merged release.yml
builds main's model alone; a worse one opens ONE issue labelled `shadow` and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fakes.github import FakeGitHub
from harness.act import FAKES, act
from harness.params import QUICK, edit_params, use_candidates
from harness.project import BIN, SLUG, UV, bake, cli, commit, git, git_init, head_sha, project_env, run
from harness.service import free_port, post

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
REPO = "acme/churn-model"
CHAMPION_RELEASE = "model-2026-12-01-abc1234"
BENTO = f"{SLUG}.bento"
CREATE_PR = "peter-evans/create-pull-request"
PUBLIC = {"repository": {"visibility": "public"}}  # bentos attested, and checked when fetched
REQUESTS = 1500  # labelled live rows: above gate.min_rows (200), enough to tell the two apart
# No skill at all: a constant answer (the training prior or mean), by import path. QUICK beats it on
# rows it never saw; what the test needs is a certain difference, not a good model.
NO_SKILL = {
    "classification": {
        "dummy": {"estimator": "sklearn.dummy.DummyClassifier", "params": {"strategy": "prior"}}
    },
    "regression": {"dummy": {"estimator": "sklearn.dummy.DummyRegressor", "params": {"strategy": "mean"}}},
}


def logging_project(root: Path, task: str, champion: dict) -> Path:
    """A baked project that logs its predictions to a SQL table, which its drift check reads."""
    project = bake(root, task=task)
    use_candidates(project, champion)

    def log_and_read_the_log(params: dict) -> None:
        params["serving"]["log_predictions"] = {"url_env": "PREDICTIONS_DATABASE_URL", "table": "predictions"}
        params["drift"]["source"] = {"kind": "sql", "url_env": "DRIFT_DATABASE_URL",
                                     "query": "SELECT * FROM predictions", "window_days": 30}  # fmt: skip

    edit_params(project, log_and_read_the_log)
    git_init(project)
    return project


def gh(github: FakeGitHub, *args: str) -> str:
    """The fake gh, as a workflow step or a person would call it."""
    env = {**os.environ, "FAKE_GITHUB": str(github.root), "GH_TOKEN": "person-token"}
    done = subprocess.run([str(FAKES / "bin" / "gh"), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def release_the_champion(project: Path, github: FakeGitHub, tmp: Path) -> None:
    """release.yml's bento of main's head, attested by its image job, published as the release
    CHAMPION_RELEASE."""
    _, bento = release_main(project, github, tmp, job="image")
    gh(github, "release", "create", CHAMPION_RELEASE, str(bento), "--repo", REPO, "--title", CHAMPION_RELEASE)


def release_main(project: Path, github: FakeGitHub, tmp: Path, job: str = "bento"):
    """release.yml's bento job for main's head (with `job="image"`, the image job after it, which
    attests the bento), in a public repository: a champion's bento is fetched only once its
    attestation is verified."""
    payload = {"ref": "refs/heads/main", "after": head_sha(project), **PUBLIC}
    args = (
        "--env",
        f"BENTOML_HOME={tmp / 'bentoml'}",
        "--secret",
        "GITHUB_TOKEN=workflow-token",
        "-j",
        job,
    )
    done = act(project, "release.yml", "push", tmp, payload, act_args=args, github=github)
    assert done.returncode == 0, done.log[-6000:]
    return done, github.artifact("release", run_id=done.run_id) / BENTO


def bento_manifest(bento: Path) -> dict:
    with tarfile.open(bento) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.removeprefix("./") == "bento.yaml"]
        return yaml.safe_load(archive.extractfile(member).read())  # type: ignore[union-attr]


def serve_bento(project: Path, bento: Path, tmp: Path, database: str):
    """The released bento imported into a fresh BentoML home and served from it (as its image
    would), logging to `database`; the server's process and port."""
    env = {"BENTOML_HOME": str(tmp / "serving-bentoml"), "PREDICTIONS_DATABASE_URL": database,
           "SERVICE_WORKERS": "1", "MODEL_TAG": "", "SHADOW_TAG": ""}  # fmt: skip
    imported = run([UV, "run", "--locked", "bentoml", "import", str(bento)], project, **env)
    tag = bento_manifest(bento)["name"] + ":" + bento_manifest(bento)["version"]
    assert tag in imported.stdout + imported.stderr
    port, log = free_port(), tmp / "serve.log"
    command = [UV, "run", "--locked", "bentoml", "serve", tag, "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(command, cwd=project, env=project_env(**env), stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while post(port, "/readyz") is None:
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.5)
    return server, port


def live_traffic(project: Path, port: int, tmp: Path) -> pd.DataFrame:
    """REQUESTS rows spread over the latest fifth of the training data (its holdout: neither model
    trained on them), sent in batches of 100; their outcomes recorded with `label`, as a team's outcome feed
    would. The rows with their answers."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    target, time_column = params["data"]["target"], params["data"]["time_column"]
    rows = pd.read_csv(project / params["data"]["path"])
    holdout = rows.iloc[rows[time_column].argsort(kind="stable")].tail(round(len(rows) * 0.2))
    latest = holdout.iloc[:: max(1, len(holdout) // REQUESTS)].head(REQUESTS).reset_index(drop=True)
    answers = []
    for start in range(0, len(latest), 100):
        records = json.loads(
            latest.iloc[start : start + 100].drop(columns=[target]).to_json(orient="records")
        )
        status, body = post(port, "/predict", {"records": records})
        assert status == 200, body
        answers += json.loads(body)
    latest["prediction_id"] = [a["prediction_id"] for a in answers]
    latest[["prediction_id", target]].to_csv(tmp / "outcomes.csv", index=False)
    return latest.assign(model=[a["model"] for a in answers])


def said(log: str) -> str:
    """The lines of a drift check's log that say what it found (for a failed assertion)."""
    return "\n".join(
        line for line in log.splitlines() if any(w in line for w in ("hadow", "Monitor", "rror", "rows"))
    )


def run_drift(project: Path, tmp: Path, github: FakeGitHub, database: str):
    args = ("--secret", "GITHUB_TOKEN=workflow-token", "--secret", f"DRIFT_DATABASE_URL={database}")
    done = act(project, "drift.yml", "workflow_dispatch", tmp, PUBLIC, act_args=args, github=github)
    assert done.returncode == 0, done.log[-6000:]
    return done


def shadow_deployment(tmp: Path, task: str, champion: dict, shadow: dict):
    """Everything up to the drift check: released champion, main with the shadow, served, labelled."""
    github = FakeGitHub(tmp / "github", repo=REPO)
    project = logging_project(tmp / "repo", task, champion)
    release_the_champion(project, github, tmp / "champion")
    use_candidates(project, shadow)
    edit_params(project, lambda p: p["serving"].update(champion_release=CHAMPION_RELEASE))
    commit(project, "a new model, deployed as the champion's shadow")
    built, bento = release_main(project, github, tmp / "release")
    database = f"sqlite:///{tmp / 'predictions.db'}"
    server, port = serve_bento(project, bento, tmp, database)
    try:
        ready = json.loads(post(port, "/readyz")[1])
        sent = live_traffic(project, port, tmp)
    finally:
        server.terminate()
        server.wait(timeout=30)
    labelled = cli(project, "label", str(tmp / "outcomes.csv"), PREDICTIONS_DATABASE_URL=database)
    return github, project, built, bento, ready, sent, labelled, database


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_better_shadow_is_promoted_by_pull_request_and_then_answers_alone(tmp_path, task):
    github, project, built, bento, ready, sent, labelled, database = shadow_deployment(
        tmp_path, task, champion=NO_SKILL[task], shadow=QUICK
    )
    # release.yml fetched the release's bento with gh, checked its attestation (made by release.yml
    # when it built the champion), and built the champion with its shadow.
    (download,) = [call for call in github.gh_calls() if call[:2] == ["release", "download"]]
    assert download[2:7] == [CHAMPION_RELEASE, "--repo", REPO, "--pattern", BENTO]
    fetched = f"Fetched {CHAMPION_RELEASE}'s bento (its attestation verified) to "
    assert fetched in built.log
    manifest = bento_manifest(bento)
    envs = {e["name"]: e["value"] for e in manifest["envs"]}
    assert [m["tag"] for m in manifest["models"]] == [envs["MODEL_TAG"], envs["SHADOW_TAG"]]
    assert ready == {"champion": envs["MODEL_TAG"], "shadow": {"tag": envs["SHADOW_TAG"], "loaded": True}}
    assert set(sent["model"]) == {envs["MODEL_TAG"]}  # the shadow answered no one
    assert f"{REQUESTS:,}" in labelled.stdout

    checked = run_drift(project, tmp_path / "drift", github, database)

    assert "Shadow on live traffic: better." in checked.log, said(checked.log)
    assert "## ✅ Shadow on live traffic: better" in checked.summary
    # Quality scored the champion's answers against its own review, from its release's bento.
    assert len([c for c in github.gh_calls() if c[:2] == ["release", "download"]]) == 2
    assert fetched in checked.log
    signer = ["--signer-workflow", f"{REPO}/.github/workflows/release.yml"]
    assert len([c for c in github.gh_calls() if c[:2] == ["attestation", "verify"] and c[-2:] == signer]) == 2
    scored = f"Scored: the answers {envs['MODEL_TAG']} gave (serving.champion_release's model, from the"
    assert scored in checked.summary, checked.summary
    (call,) = [c for c in checked.calls(CREATE_PR) if c["branch"] == "shadow/promote"]
    assert call["add-paths"] == "params.yaml" and call["labels"] == "shadow"
    (pr,) = [p for p in github.pulls() if p["head"]["ref"] == "shadow/promote"]
    assert pr["files"] == ["params.yaml"] and pr["labels"] == ["shadow"]
    assert pr["body"].startswith(f"Promote the shadow `{envs['SHADOW_TAG']}` to champion")
    diff = github.pull_diff(pr["number"])
    assert f"-  champion_release: {CHAMPION_RELEASE}\n+  champion_release: null\n" in diff
    assert ["workflow", "run", "train.yml", "--ref", "shadow/promote", "-f", f"pr={pr['number']}"] in (
        github.gh_calls()
    )
    assert not [i for i in github.issues() if "shadow" in i["labels"]]

    # Merged: main names no champion release, and its next release is its own model alone.
    git(project, "fetch", "-q", str(github.remote), "shadow/promote")  # from the fake GitHub's remote
    git(project, "merge", "-q", "--ff-only", "FETCH_HEAD")
    assert yaml.safe_load((project / "params.yaml").read_text())["serving"]["champion_release"] is None
    promoted, alone = release_main(project, github, tmp_path / "promoted")
    assert "serving.champion_release is null: main's model answers alone; nothing to fetch" in promoted.log
    manifest = bento_manifest(alone)
    assert len(manifest["models"]) == 1 and "SHADOW_TAG" not in {e["name"] for e in manifest["envs"]}
    assert "shadow" not in manifest["labels"]


def test_a_worse_shadow_opens_one_issue_and_nothing_else(tmp_path):
    github, project, _, _, _, _, _, database = shadow_deployment(
        tmp_path, "classification", champion=QUICK, shadow=NO_SKILL["classification"]
    )
    main = head_sha(project)

    checked = run_drift(project, tmp_path / "drift", github, database)
    again = run_drift(project, tmp_path / "again", github, database)

    assert "Shadow on live traffic: worse." in checked.log, said(checked.log)
    assert not [
        c for c in checked.calls(CREATE_PR) + again.calls(CREATE_PR) if c["branch"] == "shadow/promote"
    ]
    assert github.branch_sha("shadow/promote") is None and head_sha(project) == main
    (issue,) = [i for i in github.issues() if "shadow" in i["labels"]]  # updated, not opened twice
    assert issue["title"] == "The shadow is worse than the champion on live traffic"
    assert issue["body"].startswith("The shadow `")
    assert (
        "is **worse** than the champion" in issue["body"]
        and "## ❌ Shadow on live traffic: worse" in issue["body"]
    )
    assert "shadow" in github.labels()


@pytest.mark.parametrize(
    ("asset", "refused"),
    [
        ("notes.md", "`gh release download`"),  # no bento in the release
        (BENTO, "`gh attestation verify`"),  # a bento release.yml never attested
    ],
)
def test_fetch_champion_refuses_a_release_without_an_attested_bento(tmp_path, asset, refused):
    """gh's own refusal names what is wrong (the fake replays gh's messages): fetch-champion fails
    closed, so nothing is built or scored with a champion it could not check."""
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    project = bake(tmp_path / "repo")
    edit_params(project, lambda p: p["serving"].update(champion_release=CHAMPION_RELEASE))
    git_init(project)
    (tmp_path / asset).write_text("not what release.yml built")
    gh(github, "release", "create", CHAMPION_RELEASE, str(tmp_path / asset), "--repo", REPO)
    env = {
        "FAKE_GITHUB": str(github.root),
        "GH_TOKEN": "t",
        "PATH": f"{FAKES / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
        "ATTESTED": "true",  # what drift.yml and release.yml set in a public repository
    }
    done = cli(project, "fetch-champion", "--repo", REPO, check=False, **env)
    assert done.returncode == 1
    said = done.stdout + done.stderr
    assert f"fetch-champion: {refused} for {CHAMPION_RELEASE} failed: " in said, said
    if asset == BENTO:
        assert f"failed to fetch attestations from {REPO}: HTTP 404: Not Found" in said, said
    shutil.rmtree(tmp_path / "github")
