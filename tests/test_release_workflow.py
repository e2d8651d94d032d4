"""Tier 3: merge-to-release under act, against the fake GitHub (tests/fakes). A PR is reviewed by
train.yml, merged, and release.yml retrains at the merge commit, checks the model against that review
(found through the pull request of the commit and its train.yml run), builds the bento for real,
hands the image to (recorded) docker actions and the release to `gh`, with image.json recording the
image by digest, and deploys that digest (deploy.yml, with a recording kubectl). deploy.yml deploys
only this repository's image by digest: a release's image.json, the latest release's on a push that
changed the manifests, the named release's on a rollback; a release without the record is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from fakes.github import FakeGitHub, find_pull
from harness.act import act
from harness.params import QUICK, use_candidates
from harness.project import BIN, bake, commit, git_init, head_sha, run

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
# The tests on the merged PR share one review run: one worker builds it (scripts/test: --dist loadgroup).
ON_MERGED = pytest.mark.xdist_group("release-merged")
REPO = "Acme/Churn-Model"  # GitHub keeps the case; image names must be lower case
IMAGE = "ghcr.io/acme/churn-model"
ATTESTED = ["MODEL_CARD.md", "metrics.json", "my-ml-project.bento", "my-ml-project.cdx.json"]
RELEASED = [*ATTESTED, "image.json"]  # the image by digest, written once the image is pushed


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> dict:
    """A repo on GitHub as Acme/Churn-Model (deployed to Kubernetes) whose PR #7 was reviewed by
    train.yml, then merged."""
    tmp = tmp_path_factory.mktemp("release")
    project = bake(tmp / "repo", task="regression", deploy="kubernetes")
    use_candidates(project, QUICK)
    git_init(project)
    run(["git", "remote", "add", "origin", f"https://github.com/{REPO}.git"], project)
    github = FakeGitHub(tmp / "github", repo=REPO)
    main = head_sha(project)
    run(["git", "checkout", "-q", "-b", "more-data"], project)
    data = project / "data" / "bike-sharing-hour.csv"
    later = (project / "data" / "later" / "bike-sharing-hour.csv").read_text().splitlines()
    data.write_text(data.read_text() + "\n".join(later[1:101]) + "\n")
    head = commit(project, "100 more rows")
    payload = {
        "pull_request": {
            "number": 7,
            "base": {"sha": main, "ref": "main"},
            "head": {"sha": head, "ref": "more-data"},
        }
    }
    review = act(project, "train.yml", "pull_request", tmp / "review", payload, github=github)
    assert review.returncode == 0, review.log[-4000:]
    run(["git", "checkout", "-q", "main"], project)
    run(["git", "merge", "-q", "--ff-only", "more-data"], project)
    with github.transaction() as state:  # GitHub closes the merged pull request
        find_pull(state, 7).update(state="closed", merged=True, merge_commit_sha=head)
    return {"project": project, "tmp": tmp, "head": head, "github": github, "review_run": review.run_id}


def release(merged: dict, name: str, *act_args: str, visibility: str = "public", kubectl: Path | None = None):
    """release.yml for the merge; with `kubectl` (a recording one, first on PATH) and a cluster secret."""
    tmp = merged["tmp"]
    bentoml_home = f"BENTOML_HOME={tmp / name / 'bentoml'}"
    args = ("--env", bentoml_home, "--secret", "GITHUB_TOKEN=workflow-token", *act_args)
    env = None
    if kubectl:
        args, env = (*args, "--secret", "KUBE_CONFIG=apiVersion: v1"), {"PATH": f"{kubectl}{os.pathsep}{BIN}"}
    payload = {"ref": "refs/heads/main", "after": merged["head"], "repository": {"visibility": visibility}}
    return act(merged["project"], "release.yml", "push", tmp / name, payload, act_args=args, env=env,
               github=merged["github"])  # fmt: skip


def reviewed_metrics(merged: dict) -> Path:
    """The metrics the review uploaded, in its artifact on the fake GitHub."""
    review = merged["github"].artifact("model-review", run_id=merged["review_run"])
    return review / "challenger-metrics.json"


@ON_MERGED
def test_merge_publishes_image_and_release_with_the_model_card(merged, kubectl):
    """...and deploys the image by the digest the release recorded (a passing review vouched)."""
    github = merged["github"]
    done = release(merged, "first", kubectl=kubectl)
    assert done.returncode == 0, done.log[-6000:]
    sha = merged["head"]

    (build,) = done.calls("docker/build-push-action")
    assert build["tags"].split() == [f"ghcr.io/acme/churn-model:{sha}", "ghcr.io/acme/churn-model:latest"]
    assert build["context"] == "bento" and build["push"] == "true"  # the unpacked bento, model included
    (login,) = done.calls("docker/login-action")
    assert login["registry"] == "ghcr.io"

    # The review of the merged commit: its pull request, then that PR's train.yml run and artifact.
    calls = github.gh_calls()
    assert calls[:2] == [
        ["api", f"repos/{REPO}/commits/{sha}/pulls"],
        ["api", f"repos/{REPO}/actions/workflows/train.yml/runs?head_sha={sha}&per_page=100"],
    ]
    (download,) = [c for c in done.calls("actions/download-artifact") if c["name"] == "model-review"]
    assert download["run-id"] == str(merged["review_run"])

    (create,) = [c for c in calls if c[:2] == ["release", "create"]]
    tag = create[2]
    assert re.fullmatch(rf"model-\d{{4}}-\d{{2}}-\d{{2}}-{sha[:7]}", tag)
    assert create[-5:] == [f"dist/{name}" for name in RELEASED]
    assert create[create.index("--target") + 1] == sha and create[create.index("--repo") + 1] == REPO
    (published,) = github.releases()
    assert published["tag"] == tag and published["target"] == sha and published["title"] == tag
    assert published["assets"] == RELEASED
    assert not published["draft"] and not published["prerelease"]

    card = published["notes"]
    assert card == github.release_asset(tag, "MODEL_CARD.md").read_text()
    assert card.startswith("# Model card: my-ml-project-model:")
    assert "equal those pull request #7 reviewed" in card
    assert "Verdict: better; the review check: success." in card and "[!WARNING]" not in card
    assert "| rmse (primary) |" in card and " to " in card  # metrics with intervals
    assert f"docker run --rm -p 3000:3000 ghcr.io/acme/churn-model:{sha}" in card
    released = json.loads(github.release_asset(tag, "metrics.json").read_text())
    assert released["git"]["commit"] == sha
    uploaded = json.loads((github.artifact("release", run_id=done.run_id) / "metrics.json").read_text())
    assert uploaded == released
    assert_supply_chain(done, tag, merged["tmp"] / "first" / "released-bento")

    # image.json records the image by the digest the build pushed; deploy.yml applied exactly that.
    (pushed,) = done.outputs("docker/build-push-action")
    by_digest = f"{IMAGE}@{pushed['digest']}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", pushed["digest"])
    assert json.loads(github.release_asset(tag, "image.json").read_text()) == {"image": by_digest}
    applied = (kubectl / "calls.log").read_text()
    assert applied.startswith("apply -f -\n") and f"image: {by_digest}\n" in applied
    assert applied.endswith("rollout status deployment/my-ml-project --timeout 5m\n")
    assert f"The image: `{by_digest}`." in done.summary

    # The release kept its model as the champion of the next pull request on this commit: that
    # review restores it (main's cache, read from the PR's ref) and predicts, without training it.
    (saved,) = done.calls("actions/cache/save")
    assert saved == {"path": "artifacts/model", "key": f"champion-{sha}"}
    project = merged["project"]
    run(["git", "checkout", "-q", "-b", "deeper"], project)
    deeper = {"estimator": "hist_gradient_boosting", "params": {"max_iter": 20, "max_depth": 3}}
    use_candidates(project, {"hist_gradient_boosting": deeper})
    head = commit(project, "deeper trees")
    run(["git", "checkout", "-q", "main"], project)
    pull = {"number": 8, "base": {"sha": sha, "ref": "main"}, "head": {"sha": head, "ref": "deeper"}}
    payload = {"pull_request": pull}
    run(["git", "checkout", "-q", "deeper"], project)
    try:
        review = act(project, "train.yml", "pull_request", merged["tmp"] / "next", payload, github=github)
    finally:
        run(["git", "checkout", "-q", "main"], project)
    assert review.returncode == 0, review.log[-4000:]
    assert review.outputs("actions/cache/restore")[-1]["cache-hit"] == "true"
    comment = (github.artifact("model-review", run_id=review.run_id) / "comment.md").read_text()
    assert (
        f"Champion: restored from the cache main's release job wrote for {sha[:12]} (not retrained)"
        in comment
    )
    assert "Champion at" in review.log and "champion | " in review.log  # predicted in its own env...
    assert f"Champion at {sha[:12]}: train" not in review.log  # ...and not trained


def assert_supply_chain(done, tag: str, unpacked: Path) -> None:
    """The image is attested by the digest the build pushed (provenance and SBOM, both pushed to GHCR
    beside it), the four release files by their content; the SBOM lists what the bento installs, each
    requirement with its hashes, and the Dockerfile's uv is the one that exported them."""
    github = done.github
    (pushed,) = done.outputs("docker/build-push-action")
    digest = pushed["digest"]
    # each use's inputs (act declares the inputs of all its uses: the others are empty)
    provenance, sbom, files = ({k: v for k, v in c.items() if v} for c in done.calls("actions/attest"))
    pushed_beside = {"push-to-registry": "true", "create-storage-record": "false"}
    assert provenance == {"subject-name": IMAGE, "subject-digest": digest, **pushed_beside}
    bom_path = "dist/my-ml-project.cdx.json"
    assert sbom == {"subject-name": IMAGE, "subject-digest": digest, "sbom-path": bom_path, **pushed_beside}
    assert files["subject-path"].split() == [f"dist/{name}" for name in ATTESTED]

    attested = [a for a in github.state()["attestations"] if a["run"] == done.run_id]
    assert [(a["job"], a["predicateType"], a["registry"]) for a in attested] == [
        ("image", "https://slsa.dev/provenance/v1", IMAGE),
        ("image", "https://cyclonedx.org/bom", IMAGE),
        ("image", "https://slsa.dev/provenance/v1", None),
    ]
    image_subject = [{"name": IMAGE, "digest": {"sha256": digest.removeprefix("sha256:")}}]
    assert attested[0]["subject"] == attested[1]["subject"] == image_subject
    assert attested[2]["subject"] == [
        {
            "name": name,
            "digest": {"sha256": hashlib.sha256(github.release_asset(tag, name).read_bytes()).hexdigest()},
        }
        for name in ATTESTED
    ]
    workflow = attested[0]["predicate"]["buildDefinition"]["externalParameters"]["workflow"]
    assert workflow["path"] == ".github/workflows/release.yml" and workflow["ref"] == "refs/heads/main"
    assert {a["sigstore"] for a in attested} == {"public-good"}  # a public repository

    bom = json.loads(github.release_asset(tag, "my-ml-project.cdx.json").read_text())
    assert bom == attested[1]["predicate"]
    assert bom["bomFormat"] == "CycloneDX" and bom["metadata"]["component"]["name"] == "my-ml-project"
    unpacked.mkdir(parents=True)
    run(["tar", "-xJf", str(github.release_asset(tag, "my-ml-project.bento")), "-C", str(unpacked)], unpacked)
    text = (unpacked / "env" / "python" / "requirements.txt").read_text()
    requirements = re.sub(r"\s*\\\n\s*", " ", text).split("\n")  # one requirement a line
    pins = {tuple(r.split(";")[0].split()[0].split("==")) for r in requirements if r.strip()}
    assert pins == {(c["name"], c["version"]) for c in bom["components"]}
    unhashed = [r for r in requirements if r.strip() and "--hash=sha256:" not in r]
    assert unhashed == ["bentoml==1.4.39"]  # BentoML's own line; the exported one carries its hashes
    uv = str(BIN / "uv")
    version = re.match(r"uv (\S+)", run([uv, "--version"], unpacked).stdout).group(1)
    dockerfile = (unpacked / "env" / "docker" / "Dockerfile").read_text()
    base = rf"^FROM ghcr\.io/astral-sh/uv:{re.escape(version)}-python(3\.\d+)-trixie-slim "
    python = re.search(base, dockerfile, re.M).group(1)

    # The Dockerfile's install step, without Docker: uv checks every file against its hashes.
    assert "uv --directory $INSTALL_ROOT pip install -r $BENTO_PATH/env/python/requirements.txt" in dockerfile
    installed = install(unpacked, "requirements.txt", python)
    assert installed.returncode == 0, installed.stderr[-3000:]
    forged = "sha256:" + "0" * 64
    tampered = [re.sub(r"sha256:\w{64}", forged, r) if r.startswith("six==") else r for r in requirements]
    (unpacked / "env" / "python" / "tampered.txt").write_text("\n".join(tampered))
    refused = install(unpacked, "tampered.txt", python)
    assert refused.returncode != 0 and "Hash mismatch for `six==" in refused.stderr, refused.stderr[-3000:]


def install(bento: Path, requirements: str, python: str):
    """What the bento's Dockerfile runs: a fresh virtual environment, then `uv pip install -r`."""
    uv, venv, listed = (
        str(BIN / "uv"),
        bento.parent / f"venv-{requirements}",
        bento / "env" / "python" / requirements,
    )
    run([uv, "venv", "-q", "--python", python, str(venv)], bento)
    command = [uv, "--directory", str(bento / "src"), "pip", "install", "-r", str(listed)]
    return run(command, bento, check=False, VIRTUAL_ENV=str(venv))


@ON_MERGED
def test_a_private_repository_builds_its_image_without_attestations(merged):
    """GitHub keeps attestations for public repositories only (and private ones on Enterprise Cloud,
    where the ATTESTATIONS variable says so): elsewhere the image job skips them, where the stub, as
    GitHub, would fail. The release job is left out: the first test published this commit's tag."""
    done = release(merged, "private", "-j", "image", visibility="private")
    assert done.returncode == 0, done.log[-6000:]
    assert done.outputs("docker/build-push-action") and done.calls("actions/attest") == []


@ON_MERGED
def test_release_fails_when_the_model_differs_from_the_review(merged):
    reviewed = reviewed_metrics(merged)
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
    with pytest.raises(FileNotFoundError):  # stopped before anything was handed to publishing
        merged["github"].artifact("release", run_id=done.run_id)


@pytest.fixture(scope="module")
def kubernetes_repo(tmp_path_factory) -> Path:
    """A project baked for kubernetes, on GitHub as Acme/Churn-Model."""
    project = bake(tmp_path_factory.mktemp("k8s"), deploy="kubernetes")
    git_init(project)
    run(["git", "remote", "add", "origin", f"https://github.com/{REPO}.git"], project)
    return project


@pytest.fixture
def kubectl(tmp_path) -> Path:
    """A folder with a kubectl that records its calls and the manifests applied (in calls.log); this host
    has a real one, which must not be reached."""
    folder = tmp_path / "kubectl"
    folder.mkdir()
    script = f"""#!/usr/bin/env bash
printf '%s\\n' "$*" >> '{folder}/calls.log'
if [ "$*" = "apply -f -" ]; then cat >> '{folder}/calls.log'; fi
"""
    (folder / "kubectl").write_text(script)
    (folder / "kubectl").chmod(0o755)
    return folder


def deploy(project: Path, tmp: Path, event: str, payload: dict, kubectl: Path, *act_args: str, github=None):
    """deploy.yml for `event`, with the recording kubectl first on PATH (after the fake gh)."""
    github = github or FakeGitHub(tmp / "github", repo=REPO)
    return act(project, "deploy.yml", event, tmp / "act", payload, act_args=act_args, github=github,
               env={"PATH": f"{kubectl}{os.pathsep}{BIN}"})  # fmt: skip


DIGEST = "sha256:" + "5e" * 32
OURS = f"{IMAGE}@{DIGEST}"
SECRET = ("--secret", "KUBE_CONFIG=apiVersion: v1")


@pytest.mark.parametrize(
    ("image", "secret", "message"),
    [
        (OURS, None, "The KUBE_CONFIG secret is not set"),
        (f"{IMAGE}:1a2b3c4", "apiVersion: v1", "not this repository's image by digest"),
        (f"{IMAGE}:1a2b3c4{DIGEST.replace('sha256', '@sha256')}", "apiVersion: v1", "not this repository's"),
        (f"{IMAGE}@{DIGEST}; rm -rf /", "apiVersion: v1", "not this repository's image by digest"),
        (f"docker.io/acme/churn-model@{DIGEST}", "apiVersion: v1", "not this repository's image by digest"),
        (f"{IMAGE}-evil@{DIGEST}", "apiVersion: v1", "not this repository's image by digest"),
    ],
    ids=["missing secret", "a tag", "tag and digest", "bad image", "another registry", "another repository"],
)
def test_deploy_refuses_to_start_without_what_it_needs(
    kubernetes_repo, tmp_path, kubectl, image, secret, message
):
    """release.yml calls deploy.yml with the image it recorded: a missing secret, or anything but this
    repository's image by digest (a tag can be moved), stops it, said plainly."""
    args = ("--secret", f"KUBE_CONFIG={secret}") if secret else ()
    done = deploy(kubernetes_repo, tmp_path, "workflow_call", {"inputs": {"image": image}}, kubectl, *args)
    assert done.returncode != 0
    assert message in done.log, done.log[-3000:]
    assert not (kubectl / "calls.log").exists()  # stopped before kubectl ran
    assert done.github.gh_calls() == []  # an image given: no release looked up


def push_to_main(project: Path) -> dict:
    """The event of a merge that changed k8s.yaml."""
    return {"ref": "refs/heads/main", "after": head_sha(project)}


LATEST = f"repos/{REPO}/releases/latest"
TAG = "model-2026-01-05-1a2b3c4"
ASSET = 73010  # image.json's id among the release's assets


def released(github: FakeGitHub, route: str, tag: str, record: dict | None) -> list[list[str]]:
    """GitHub's answer for the release at `route` (its assets; image.json holding `record`, unless
    None: a release from before the record); returns the gh calls deploy.yml makes to read it."""
    assets = [{"id": ASSET - 1, "name": "MODEL_CARD.md"}, {"id": ASSET - 2, "name": "metrics.json"}]
    if record is not None:
        assets.append({"id": ASSET, "name": "image.json", "content_type": "application/json"})
        github.add_route(f"repos/{REPO}/releases/assets/{ASSET}", record)  # the file, as octet-stream
    release = {"tag_name": tag, "name": tag, "draft": False, "prerelease": False, "assets": assets}
    github.add_route(route, release)
    download = ["api", "-H", "Accept: application/octet-stream", f"repos/{REPO}/releases/assets/{ASSET}"]
    return [["api", route], [*download, "--jq", ".image"]]


def assert_applied(kubectl: Path, image: str) -> None:
    """kubectl applied k8s.yaml with `image` in place of the unreleased one, then waited for it."""
    calls = (kubectl / "calls.log").read_text()
    assert calls.startswith("apply -f -\n")
    assert f"image: {image}\n" in calls and "@sha256:" in image
    assert "image: my-ml-project:unreleased" not in calls
    assert calls.endswith("rollout status deployment/my-ml-project --timeout 5m\n")


def test_deploy_on_push_without_a_release_stops_green_and_deploys_nothing(kubernetes_repo, tmp_path, kubectl):
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    not_found = {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/releases/releases#get-the-latest-release",
        "status": "404",
    }
    github.add_route(LATEST, not_found, status=404)  # what GitHub answers a repository without releases

    done = deploy(kubernetes_repo, tmp_path, "push", push_to_main(kubernetes_repo), kubectl, github=github)

    assert done.returncode == 0, done.log[-3000:]
    assert "No release yet: nothing to deploy" in done.summary
    assert github.gh_calls() == [["api", LATEST]]
    assert "::set-output:: image=" not in done.log
    assert "The KUBE_CONFIG secret is not set" not in done.log  # the later steps are skipped
    assert not (kubectl / "calls.log").exists()


def test_deploy_on_push_applies_the_manifests_with_the_latest_releases_image_by_digest(
    kubernetes_repo, tmp_path, kubectl
):
    """A merge that changed only k8s.yaml: the latest release's image.json, never its commit's tag."""
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    reads = released(github, LATEST, TAG, {"image": OURS})

    done = deploy(kubernetes_repo, tmp_path, "push", push_to_main(kubernetes_repo), kubectl, *SECRET,
                  github=github)  # fmt: skip

    assert done.returncode == 0, done.log[-3000:]
    assert github.gh_calls() == reads
    assert_applied(kubectl, OURS)
    assert f"The image: `{OURS}` (release {TAG})." in done.summary


def test_a_rollback_deploys_the_named_releases_image_by_digest(kubernetes_repo, tmp_path, kubectl):
    """Run by hand with an earlier release's tag: that release's image.json."""
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    earlier, image = "model-2025-12-01-0f9e8d7", f"{IMAGE}@sha256:{'0a' * 32}"
    reads = released(github, f"repos/{REPO}/releases/tags/{earlier}", earlier, {"image": image})

    done = deploy(kubernetes_repo, tmp_path, "workflow_dispatch", {"inputs": {"release": earlier}}, kubectl,
                  *SECRET, github=github)  # fmt: skip

    assert done.returncode == 0, done.log[-3000:]
    assert github.gh_calls() == reads
    assert_applied(kubectl, image)


@pytest.mark.parametrize("event", ["push", "workflow_dispatch"])
def test_a_release_without_its_image_record_is_not_deployed(kubernetes_repo, tmp_path, kubectl, event):
    """A release from before image.json (its image only by tags, which can be moved) fails closed,
    whether it is the latest (a manifest-only merge) or named (a rollback)."""
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    route = LATEST if event == "push" else f"repos/{REPO}/releases/tags/{TAG}"
    reads = released(github, route, TAG, None)
    payload = push_to_main(kubernetes_repo) if event == "push" else {"inputs": {"release": TAG}}

    done = deploy(kubernetes_repo, tmp_path, event, payload, kubectl, *SECRET, github=github)

    assert done.returncode != 0
    message = f"release {TAG} has no image.json, the record of its image by digest: deploy a release that"
    assert message in done.log, done.log[-3000:]
    assert github.gh_calls() == reads[:1]  # nothing else looked up
    assert not (kubectl / "calls.log").exists()


@pytest.mark.parametrize(
    "record",
    [
        {"image": f"{IMAGE}:1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"},
        {"image": f"ghcr.io/someone/churn-model@{DIGEST}"},
        {"digest": DIGEST},
    ],
    ids=["a tag", "another repository", "no image"],
)
def test_deploy_refuses_a_release_record_that_is_not_this_repositorys_image_by_digest(
    kubernetes_repo, tmp_path, kubectl, record
):
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    reads = released(github, LATEST, TAG, record)

    done = deploy(kubernetes_repo, tmp_path, "push", push_to_main(kubernetes_repo), kubectl, *SECRET,
                  github=github)  # fmt: skip

    assert done.returncode != 0
    assert "not this repository's image by digest" in done.log, done.log[-3000:]
    assert github.gh_calls() == reads
    assert not (kubectl / "calls.log").exists()


@pytest.mark.parametrize(
    ("release", "message"),
    [
        ("model-2020-01-01-0000000", "cannot read the release model-2020-01-01-0000000"),
        ("../../../user", "not a release tag: '../../../user'"),
        ("", "not a release tag: ''"),
    ],
    ids=["unknown", "not a tag", "empty"],
)
def test_deploy_refuses_a_rollback_to_no_release(kubernetes_repo, tmp_path, kubectl, release, message):
    github = FakeGitHub(tmp_path / "github", repo=REPO)
    route = f"repos/{REPO}/releases/tags/{release}"
    not_found = {
        "message": "Not Found",
        "documentation_url": "https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name",
        "status": "404",
    }
    github.add_route(route, not_found, status=404)

    done = deploy(kubernetes_repo, tmp_path, "workflow_dispatch", {"inputs": {"release": release}}, kubectl,
                  *SECRET, github=github)  # fmt: skip

    assert done.returncode != 0
    assert message in done.log, done.log[-3000:]
    assert github.gh_calls() == ([["api", route]] if release.startswith("model-") else [])
    assert not (kubectl / "calls.log").exists()


def find_review(merged: dict, tmp: Path, change) -> dict:
    """release.yml's first job alone, on a copy of the fake GitHub that `change` edits: its outputs."""
    github = FakeGitHub(tmp / "github", repo=REPO)
    shutil.copytree(merged["github"].root, github.root, dirs_exist_ok=True)
    change(github)
    args = ("--secret", "GITHUB_TOKEN=workflow-token")
    payload = {"ref": "refs/heads/main", "after": merged["head"]}
    done = act(merged["project"], "release.yml", "push", tmp / "run", payload, job="review", act_args=args,
               github=github)  # fmt: skip
    assert done.returncode == 0, done.log[-4000:]
    return dict(re.findall(r"::set-output:: (pr|run-id|conclusion)=(.*)", done.log))


@ON_MERGED
def test_only_the_merged_pull_requests_own_review_vouches(merged, tmp_path):
    """A manual run (maybe against an old base) never counts; a failed review of the same head in
    another pull request (into another branch, say) means no vouching: GitHub's runs do not say
    which pull request they reviewed once it is merged, so every review of that head must pass."""
    head, own = merged["head"], str(merged["review_run"])
    nothing_else = find_review(merged, tmp_path / "own", lambda github: None)
    assert nothing_else == {"pr": "7", "run-id": own, "conclusion": "success"}

    def manual_runs(github):
        github.add_run("train.yml", head, "workflow_dispatch", "more-data", conclusion="success")
        github.add_run("train.yml", head, "workflow_dispatch", "more-data", conclusion="failure")

    assert find_review(merged, tmp_path / "manual", manual_runs) == nothing_else

    def another_pull_request_failed(github):
        github.add_run("train.yml", head, "pull_request", "more-data", conclusion="failure", run_id=9001)

    found = find_review(merged, tmp_path / "other", another_pull_request_failed)
    assert found == {"pr": "7", "run-id": "9001", "conclusion": "failure"}


@ON_MERGED
def test_a_retraining_pr_is_vouched_for_by_the_drift_jobs_dispatch_only(merged, tmp_path):
    """The retraining PR's review is dispatched by the drift job with the workflow token; a person's
    dispatch of the same branch does not count."""
    head = merged["head"]

    def retraining_pr(github, dispatcher: str):
        with github.transaction() as state:
            state["runs"] = [r for r in state["runs"] if r["workflow"] != "train.yml"]
            find_pull(state, 7)["head"]["ref"] = "retrain/drift"
        github.add_run("train.yml", head, "workflow_dispatch", "retrain/drift", run_id=9100, actor=dispatcher)

    found = find_review(merged, tmp_path / "bot", lambda github: retraining_pr(github, "github-actions[bot]"))
    assert found == {"pr": "7", "run-id": "9100", "conclusion": "success"}
    found = find_review(merged, tmp_path / "person", lambda github: retraining_pr(github, "octocat"))
    assert found == {"pr": "7", "run-id": "", "conclusion": ""}
