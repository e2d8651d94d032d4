"""The fakes the workflow tests run against (tests/fakes) refuse what the real tools refuse.

Each stub is run as act runs it (python3 stubs.py <action> with STUB_INPUTS, GITHUB_OUTPUT...),
each `gh` call as a workflow step makes it, on a throw-away git repository and fake GitHub.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from fakes import jq
from fakes.github import FakeGitHub
from harness.act import FAKES, act
from harness.project import git

pytestmark = pytest.mark.tier1

REPO = "acme/churn-model"
DRIFT_PATHS = "data/*.csv\ndata/*.parquet\ndata/manifest.json\n"
RETRAIN = {
    "token": "workflow-token",
    "branch": "retrain/drift",
    "title": "Retrain",
    "commit-message": "Add labelled rows",
    "labels": "drift",
    "delete-branch": "true",
}


@pytest.fixture
def github(tmp_path) -> FakeGitHub:
    return FakeGitHub(tmp_path / "github", repo=REPO)


@pytest.fixture
def repo(tmp_path) -> Path:
    """A checkout of acme/churn-model on main: data/train.csv and data/manifest.json committed."""
    path = tmp_path / "repo"
    (path / "data").mkdir(parents=True)
    (path / "data" / "train.csv").write_text("x,y\n1,2\n")
    (path / "data" / "manifest.json").write_text("{}\n")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-qm", "initial")
    git(path, "remote", "add", "origin", f"https://github.com/{REPO}.git")
    return path


def clean_env(github: FakeGitHub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GH_"))}
    return {**env, "FAKE_GITHUB": str(github.root), "GITHUB_REPOSITORY": REPO, **extra}


def stub(action: str, inputs: dict, cwd: Path, github: FakeGitHub, run_id: int = 1, **env: str):
    """Run a stub as act does: (completed process, the outputs it set)."""
    outputs = cwd.parent / f"outputs-{uuid.uuid4()}"
    outputs.write_text("")
    extra = {
        "STUB_INPUTS": json.dumps(inputs),
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_WORKSPACE": str(cwd),
        "GITHUB_RUN_ID": str(run_id),
        **env,
    }
    done = subprocess.run(
        [sys.executable, str(FAKES / "stubs.py"), action],
        cwd=cwd,
        env=clean_env(github, **extra),
        capture_output=True,
        text=True,
    )
    return done, parse_outputs(outputs.read_text())


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT's `name<<delimiter` blocks."""
    result, lines = {}, iter(text.splitlines())
    for line in lines:
        name, delimiter = line.split("<<", 1)
        value = []
        for inner in lines:
            if inner == delimiter:
                break
            value.append(inner)
        result[name] = "\n".join(value)
    return result


def gh(github: FakeGitHub, *args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    env = {"GH_TOKEN": "workflow-token", "GH_REPO": REPO, **env}
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, str(FAKES / "bin" / "gh"), *args],
        cwd=cwd or github.root,
        env=clean_env(github, **env),
        capture_output=True,
        text=True,
    )


def create_pull_request(repo: Path, github: FakeGitHub, **inputs: str):
    return stub("peter-evans/create-pull-request", {**RETRAIN, **inputs}, repo, github)


def add_rows(repo: Path, rows: str = "3,4\n") -> None:
    with open(repo / "data" / "train.csv", "a") as data:
        data.write(rows)
    (repo / "data" / "manifest.json").write_text(json.dumps({"rows": rows}) + "\n")


# ---- peter-evans/create-pull-request ------------------------------------------------------------
def test_an_add_path_matching_nothing_stages_nothing_and_the_action_fails(repo, github):
    """ONE `git add` with a pathspec that matches nothing (no parquet file) adds nothing at all."""
    add_rows(repo)

    done, outputs = create_pull_request(repo, github, **{"add-paths": DRIFT_PATHS})

    assert done.returncode == 1
    assert "fatal: pathspec 'data/*.parquet' did not match any files" in done.stdout
    assert "::error::Unexpected error: " in done.stdout
    assert outputs == {}  # the action sets its outputs only at the end
    assert github.pulls() == [] and github.branch_sha("retrain/drift") is None


def test_a_star_in_add_paths_also_matches_files_in_sub_folders(repo, github):
    add_rows(repo)
    (repo / "data" / "current").mkdir()
    (repo / "data" / "current" / "x.csv").write_text("x,y\n5,6\n")

    done, outputs = create_pull_request(repo, github, **{"add-paths": "data/*.csv"})

    assert done.returncode == 0, done.stdout
    assert outputs["pull-request-operation"] == "created"
    assert github.pull(1)["files"] == ["data/current/x.csv", "data/train.csv"]  # not the manifest


def test_exact_paths_open_a_pull_request_then_none_then_updated_then_closed(repo, github):
    paths = {"add-paths": "data/train.csv\ndata/manifest.json"}
    base = git(repo, "rev-parse", "HEAD").strip()
    add_rows(repo)
    (repo / "notes.md").write_text("not in add-paths\n")

    done, created = create_pull_request(repo, github, **paths)

    assert done.returncode == 0, done.stdout
    assert created["pull-request-operation"] == "created" and created["pull-request-number"] == "1"
    assert created["pull-request-url"] == f"https://github.com/{REPO}/pull/1"
    assert created["pull-request-head-sha"] == github.branch_sha("retrain/drift")
    pull = github.pull(1)
    assert pull["files"] == ["data/manifest.json", "data/train.csv"] and pull["labels"] == ["drift"]
    assert pull["base"] == {"ref": "main", "sha": base} and pull["token"] == "workflow-token"
    assert "+3,4" in github.pull_diff(1)
    assert "drift" in github.labels()  # REST add-labels creates a missing label
    # The repository is back where it was: on main at the same commit, the committed changes moved
    # to the pull request branch, the other changes (stashed meanwhile) still there.
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert git(repo, "rev-parse", "HEAD").strip() == base
    assert git(repo, "status", "--porcelain").splitlines() == ["?? notes.md"]

    add_rows(repo)  # the same change again: the branch is not touched
    done, same = create_pull_request(repo, github, **paths)
    assert same["pull-request-operation"] == "none" and same["pull-request-number"] == "1"
    assert same["pull-request-head-sha"] == created["pull-request-head-sha"]

    add_rows(repo, "7,8\n")
    done, updated = create_pull_request(repo, github, **paths)
    assert updated["pull-request-operation"] == "updated" and updated["pull-request-number"] == "1"
    assert "+7,8" in github.pull_diff(1) and len(github.pulls()) == 1

    done, closed = create_pull_request(repo, github, **paths)  # no change left: the branch goes
    assert closed["pull-request-operation"] == "closed" and "pull-request-number" not in closed
    assert github.branch_sha("retrain/drift") is None and github.pull(1)["state"] == "closed"


def test_a_missing_body_file_fails_before_anything_is_done(repo, github):
    add_rows(repo)
    done, _ = create_pull_request(repo, github, **{"add-paths": "data/train.csv", "body-path": "body.md"})
    assert done.returncode == 1 and "::error::File 'body.md' does not exist." in done.stdout
    assert git(repo, "status", "--porcelain").splitlines() == [" M data/manifest.json", " M data/train.csv"]


def test_an_input_the_stub_does_not_replay_fails_the_step(repo, github):
    done, _ = create_pull_request(repo, github, reviewers="octocat")
    assert done.returncode == 1 and "does not replay input `reviewers`" in done.stdout


# ---- gh -----------------------------------------------------------------------------------------
def test_issue_create_with_a_missing_label_fails_and_creates_nothing(github, tmp_path):
    (tmp_path / "summary.md").write_text("## Data drift\n")
    create = (
        "issue",
        "create",
        "--title",
        "Data drift",
        "--label",
        "drift",
        "--body-file",
        str(tmp_path / "summary.md"),
    )

    refused = gh(github, *create)

    assert refused.returncode == 1
    assert refused.stderr == "could not add label: 'drift' not found\n"
    assert github.issues() == []

    assert gh(github, "label", "create", "drift", "--force", "--color", "d93f0b").returncode == 0
    created = gh(github, *create)
    assert created.returncode == 0 and created.stdout == f"https://github.com/{REPO}/issues/1\n"
    (issue,) = github.issues()
    assert issue["labels"] == ["drift"] and issue["body"] == "## Data drift\n"


def test_issue_list_and_edit_find_and_update_the_open_issue(github, tmp_path):
    github.add_label("drift")
    query = (
        "issue",
        "list",
        "--label",
        "drift",
        "--state",
        "open",
        "--limit",
        "1",
        "--json",
        "number",
        "--jq",
        ".[0].number // empty",
    )
    assert gh(github, *query).stdout == ""  # none yet: empty output, exit 0
    github.add_issue("Other", labels=("bug",))
    number = github.add_issue("Data drift", labels=("drift",))

    assert gh(github, *query).stdout == f"{number}\n"
    (tmp_path / "new.md").write_text("updated\n")
    assert gh(github, "issue", "edit", str(number), "--body-file", str(tmp_path / "new.md")).returncode == 0
    assert github.issues()[1]["body"] == "updated\n"
    missing = gh(github, "issue", "edit", "99", "--body-file", str(tmp_path / "new.md"))
    assert (
        missing.returncode == 1
        and "Could not resolve to an issue or pull request with the number of 99" in (missing.stderr)
    )


def test_label_create_without_force_refuses_an_existing_label(github):
    done = gh(github, "label", "create", "bug")
    assert done.returncode == 1 and 'label with name "bug" already exists' in done.stderr


def test_api_on_an_unknown_pull_request_is_a_404(github):
    done = gh(github, "api", f"repos/{REPO}/pulls/99", "--jq", ".head.sha")

    assert done.returncode == 1
    assert done.stderr == "gh: Not Found (HTTP 404)\n"
    assert json.loads(done.stdout)["message"] == "Not Found"  # the body is printed, --jq is not applied


def test_api_answers_pull_requests_by_number_and_by_commit(github):
    number = github.add_pull(head_sha="abc123", head_ref="more-data", base_sha="000111")

    assert gh(github, "api", f"repos/{REPO}/pulls/{number}", "--jq", ".head.sha").stdout == "abc123\n"
    by_commit = ("api", f"repos/{REPO}/commits/abc123/pulls", "--jq", '.[0].head.sha // ""')
    assert gh(github, *by_commit).stdout == "abc123\n"
    assert (
        gh(github, "api", f"repos/{REPO}/commits/fff999/pulls", "--jq", '.[0].head.sha // ""').stdout == "\n"
    )
    other_repo = gh(github, "api", "repos/someone/else/pulls/1")
    assert other_repo.returncode == 1 and other_repo.stderr == "gh: Not Found (HTTP 404)\n"


def test_run_list_finds_the_run_for_a_commit(github):
    github.add_run("train.yml", head_sha="abc123", run_id=4242, name="Model review")
    github.add_run("ci.yml", head_sha="abc123")
    query = (
        "run",
        "list",
        "--workflow",
        "train.yml",
        "--commit",
        "abc123",
        "--limit",
        "1",
        "--json",
        "databaseId",
        "--jq",
        '.[0].databaseId // ""',
    )

    assert gh(github, *query).stdout == "4242\n"
    other = gh(github, *[a if a != "abc123" else "fff999" for a in query])
    assert other.stdout == "\n"
    unknown = gh(github, "run", "list", "--workflow", "nope.yml")
    assert unknown.returncode == 1
    assert (
        unknown.stderr
        == f"HTTP 404: Not Found (https://api.github.com/repos/{REPO}/actions/workflows/nope.yml)\n"
    )
    fields = gh(github, "run", "list", "--json", "databaseId,event,status,conclusion,workflowName")
    assert json.loads(fields.stdout)[1] == {
        "databaseId": 4242,
        "event": "pull_request",
        "status": "completed",
        "conclusion": "success",
        "workflowName": "Model review",
    }


def test_workflow_run_needs_the_ref_on_github_and_a_dispatch_trigger(repo, github):
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "train.yml").write_text("name: Model review\non:\n  pull_request:\n  workflow_dispatch:\n")
    (workflows / "ci.yml").write_text("name: CI\non: [push]\n")

    early = gh(github, "workflow", "run", "train.yml", "--ref", "retrain/drift", cwd=repo, GH_REPO=None)
    assert early.returncode == 1 and "HTTP 422: No ref found for: retrain/drift" in early.stderr

    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "workflows")
    git(repo, "push", "-q", str(github.remote), "HEAD:refs/heads/retrain/drift")
    done = gh(github, "workflow", "run", "train.yml", "--ref", "retrain/drift", cwd=repo, GH_REPO=None)
    assert done.returncode == 0, done.stderr
    (run,) = github.runs()
    assert run["event"] == "workflow_dispatch" and run["headBranch"] == "retrain/drift"
    no_trigger = gh(github, "workflow", "run", "ci.yml", "--ref", "retrain/drift", cwd=repo)
    assert "Workflow does not have 'workflow_dispatch' trigger" in no_trigger.stderr


def test_gh_needs_a_token_and_a_repository(github, tmp_path):
    no_token = gh(github, "issue", "list", GH_TOKEN=None)
    assert no_token.returncode == 4 and "set the GH_TOKEN environment variable" in no_token.stderr
    not_a_repo = gh(github, "issue", "list", cwd=tmp_path, GH_REPO=None)
    assert not_a_repo.returncode == 1 and not_a_repo.stderr.startswith("failed to run git: fatal: not a git")


def test_release_create_needs_its_assets_and_a_new_tag(github, tmp_path):
    (tmp_path / "card.md").write_text("# Model card\n")
    release = (
        "release",
        "create",
        "model-1",
        "--repo",
        REPO,
        "--target",
        "abc123",
        "--title",
        "model-1",
        "--notes-file",
        str(tmp_path / "card.md"),
        str(tmp_path / "card.md"),
    )

    missing = gh(github, *release, str(tmp_path / "model.bento"))
    assert (
        missing.returncode == 1
        and missing.stderr == f"stat {tmp_path / 'model.bento'}: no such file or directory\n"
    )
    assert github.releases() == []

    assert gh(github, *release).returncode == 0
    (published,) = github.releases()
    assert published["notes"] == "# Model card\n" and published["target"] == "abc123"
    assert github.release_asset("model-1", "card.md").read_text() == "# Model card\n"
    again = gh(github, *release)
    assert (
        again.returncode == 1 and "a release with the same tag name already exists: model-1" in again.stderr
    )


NO_REPOSITORY = "Could not resolve to a Repository with the name '{}'."


def release_with_assets(github: FakeGitHub, tmp_path: Path, tag: str = "model-1", *flags: str) -> None:
    (tmp_path / "model.bento").write_text("bento\n")
    (tmp_path / "MODEL_CARD.md").write_text("# Model card\n")
    assets = (str(tmp_path / "model.bento"), str(tmp_path / "MODEL_CARD.md"))
    assert gh(github, "release", "create", tag, "--notes", "", *flags, *assets).returncode == 0


def test_release_download_copies_the_matching_assets_into_a_new_folder(github, tmp_path):
    release_with_assets(github, tmp_path)
    out = tmp_path / "fetched" / "champion"
    download = ("release", "download", "model-1", "--repo", REPO, "--pattern", "*.bento", "--dir", str(out))

    done = gh(github, *download)

    assert done.returncode == 0 and done.stdout == done.stderr == ""  # gh is silent off a terminal
    assert sorted(p.name for p in out.iterdir()) == ["model.bento"]
    assert (out / "model.bento").read_text() == "bento\n"
    # Go's filepath.Match, not fnmatch: `[^m]` is the negation, `[!x]` a class of `!` and `x`
    negated = gh(github, "release", "download", "model-1", "-p", "[^m]*", "-D", str(tmp_path / "neg"))
    assert negated.returncode == 0 and [p.name for p in (tmp_path / "neg").iterdir()] == ["MODEL_CARD.md"]
    bang = gh(github, "release", "download", "model-1", "-p", "[!x]*", "-D", str(tmp_path / "bang"))
    assert bang.returncode == 1 and bang.stderr == "no assets match the file pattern\n"


def test_release_download_refuses_an_existing_file_unless_told(github, tmp_path):
    release_with_assets(github, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.bento").write_text("older\n")
    download = ("release", "download", "model-1", "-p", "*.bento", "-p", "*.md", "--dir", str(out))

    refused = gh(github, *download)

    assert refused.returncode == 1
    assert refused.stderr == (
        f"{out / 'model.bento'} already exists (use `--clobber` to overwrite file or `--skip-existing` "
        "to skip file)\n"
    )
    assert (out / "model.bento").read_text() == "older\n"
    assert (out / "MODEL_CARD.md").read_text() == "# Model card\n"  # the other asset is downloaded
    skipped = gh(github, *download, "--skip-existing")
    assert skipped.returncode == 0 and (out / "model.bento").read_text() == "older\n"
    clobbered = gh(github, *download, "--clobber")
    assert clobbered.returncode == 0 and (out / "model.bento").read_text() == "bento\n"
    both = gh(github, *download, "--clobber", "--skip-existing")
    assert both.returncode == 1
    assert both.stderr.startswith("specify only one of `--clobber` or `--skip-existing`\n\nUsage:  ")


def test_release_download_of_a_missing_release_or_asset_fails_as_gh_does(github, tmp_path):
    release_with_assets(github, tmp_path)
    missing = gh(github, "release", "download", "model-2", "-p", "*.bento", "--dir", str(tmp_path / "x"))
    assert missing.returncode == 1 and missing.stderr == "release not found\n"
    nothing = gh(github, "release", "download", "model-1", "-p", "*.whl", "--dir", str(tmp_path / "x"))
    assert nothing.returncode == 1 and nothing.stderr == "no assets match the file pattern\n"
    assert not (tmp_path / "x").exists()
    other = gh(github, "release", "download", "model-1", "--repo", "someone/else", "-p", "*")
    assert other.returncode == 1
    assert other.stderr == f"GraphQL: {NO_REPOSITORY.format('someone/else')} (repository)\n"


def test_release_download_without_a_tag_needs_a_pattern_and_takes_the_latest_release(github, tmp_path):
    no_pattern = gh(github, "release", "download", "--dir", str(tmp_path / "x"))
    assert no_pattern.returncode == 1
    assert no_pattern.stderr == (
        "`--pattern` or `--archive` is required when downloading the latest release\n\n"
        "Usage:  gh release download [<tag>] [flags]\n"
    )
    assert gh(github, "release", "download", "-p", "*").stderr == "release not found\n"  # no release yet
    (tmp_path / "one").mkdir()
    release_with_assets(github, tmp_path / "one", "model-1")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "model.bento").write_text("newer\n")
    assets = [str(tmp_path / "two" / "model.bento")]
    assert gh(github, "release", "create", "model-2", "--notes", "", *assets).returncode == 0
    assert gh(github, "release", "create", "model-3", "--notes", "", "--prerelease", *assets).returncode == 0

    latest = gh(github, "release", "download", "-p", "*.bento", "--dir", str(tmp_path / "latest"))

    assert latest.returncode == 0 and (tmp_path / "latest" / "model.bento").read_text() == "newer\n"
    archive = gh(github, "release", "download", "model-1", "--archive", "zip")
    assert archive.returncode == 1 and "`--archive` is not replayed" in archive.stderr


# ---- gh attestation verify, against what the attest stub stored ----------------------------------
ATTEST_WORKFLOW = {
    "name": "Release",
    "on": {"push": None},
    "jobs": {
        "bento": {"runs-on": "ubuntu-latest", "permissions": {"id-token": "write", "attestations": "write"}}
    },
}
SIGNER = ".github/workflows/release.yml@refs/heads/main"
NOT_FOUND = "HTTP 404: Not Found"
PUBLIC_GOOD_FAILED = '\nError: verifying with issuer "sigstore.dev"\n'


@pytest.fixture
def attested(repo, github, tmp_path) -> Path:
    """repo/dist/model.bento with a build-provenance attestation made by release.yml on main."""
    (repo / "dist").mkdir()
    (repo / "dist" / "model.bento").write_text("bento\n")
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "release.yml").write_text(yaml.safe_dump(ATTEST_WORKFLOW))
    (tmp_path / "event.json").write_text(json.dumps({"repository": {"visibility": "public"}}))
    (tmp_path / "runner").mkdir()
    done, _ = stub(
        "actions/attest",
        {"subject-path": "dist/model.bento"},
        repo,
        github,
        ACT_WORKFLOW_FILE=str(workflows / "release.yml"),
        GITHUB_JOB="bento",
        GITHUB_EVENT_PATH=str(tmp_path / "event.json"),
        GITHUB_REF="refs/heads/main",
        GITHUB_SHA="abc123",
        RUNNER_TEMP=str(tmp_path / "runner"),
    )
    assert done.returncode == 0, done.stdout
    return repo / "dist" / "model.bento"


def test_attestation_verify_passes_for_an_attested_file_of_the_repository(attested, github):
    digest = hashlib.sha256(attested.read_bytes()).hexdigest()

    quiet = gh(github, "attestation", "verify", str(attested), "--repo", REPO)
    shown = gh(github, "attestation", "verify", str(attested), "-R", REPO, GH_FORCE_TTY="200", NO_COLOR="1")

    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""  # gh logs only to a terminal
    assert shown.returncode == 0
    assert shown.stderr == (
        f"Loaded digest sha256:{digest} for file://{attested}\n"
        "Loaded 1 attestation from GitHub API\n"
        "✓ Verification succeeded!\n\n"
        f"sha256:{digest} was attested by:\n"
    )
    assert shown.stdout == (
        "REPO              PREDICATE_TYPE                  WORKFLOW\n"
        f"{REPO}  https://slsa.dev/provenance/v1  {SIGNER}\n"
    )
    signer = f"{REPO}/.github/workflows/release.yml"
    pinned = gh(github, "attestation", "verify", str(attested), "-R", REPO, "--signer-workflow", signer)
    assert pinned.returncode == 0, pinned.stderr


def test_attestation_verify_fails_without_an_attestation_for_the_digest_in_the_repository(
    attested, github, tmp_path
):
    (tmp_path / "other.bento").write_text("not attested\n")
    digest = hashlib.sha256(b"not attested\n").hexdigest()
    url = f"https://api.github.com/repos/{REPO}/attestations/sha256:{digest}?per_page=30"

    unknown = gh(github, "attestation", "verify", str(tmp_path / "other.bento"), "--repo", REPO)

    assert unknown.returncode == 1
    assert unknown.stderr == f"\nError: failed to fetch attestations from {REPO}: {NOT_FOUND} ({url})\n"
    elsewhere = gh(github, "attestation", "verify", str(attested), "--repo", "someone/else")
    assert elsewhere.returncode == 1
    assert "failed to fetch attestations from someone/else: HTTP 404: Not Found" in elsewhere.stderr
    shown = gh(github, "attestation", "verify", str(tmp_path / "other.bento"), "-R", REPO,
               GH_FORCE_TTY="1", NO_COLOR="1")  # fmt: skip
    assert shown.stderr.startswith(
        f"Loaded digest sha256:{digest} for file://{tmp_path / 'other.bento'}\n"
        "✗ Loading attestations from GitHub API failed\n\nError: failed to fetch attestations"
    )
    missing = gh(github, "attestation", "verify", str(tmp_path / "nope.bento"), "--repo", REPO)
    assert missing.returncode == 1
    assert missing.stderr == (
        "\nError: failed to get open local artifact: "
        f"open {tmp_path / 'nope.bento'}: no such file or directory\n"
    )


def test_attestation_verify_checks_the_signer_and_the_sigstore_instance(attested, github):
    verify = ("attestation", "verify", str(attested), "--repo", REPO)

    other_workflow = gh(github, *verify, "--signer-workflow", f"{REPO}/.github/workflows/ci.yml")
    no_public_good = gh(github, *verify, "--no-public-good")
    wrong_issuer = gh(github, *verify, "--cert-oidc-issuer", "https://token.actions.example.com")

    assert other_workflow.returncode == 1 and other_workflow.stderr == PUBLIC_GOOD_FAILED
    assert no_public_good.returncode == 1 and no_public_good.stderr == PUBLIC_GOOD_FAILED
    assert wrong_issuer.returncode == 1
    assert wrong_issuer.stderr == (
        "\nError: expected Issuer to be https://token.actions.example.com, got "
        "https://token.actions.githubusercontent.com\n"
    )
    both = gh(github, *verify, "--signer-workflow", "x", "--cert-identity", "y")
    assert both.returncode == 1 and both.stderr == (
        "if any flags in the group [cert-identity cert-identity-regex signer-repo signer-workflow] are set "
        "none of the others can be; [cert-identity signer-workflow] were all set\n"
    )
    # v2.60.0 returns a nil error when --predicate-type filters every attestation out: exit 0
    sbom_only = gh(github, *verify, "--predicate-type", "https://spdx.dev/Document/v2.3")
    assert sbom_only.returncode == 0 and sbom_only.stderr == ""


def test_attestation_verify_needs_a_file_and_a_repository_and_refuses_the_rest(github, tmp_path):
    no_repo = gh(github, "attestation", "verify", str(tmp_path / "a.bento"))
    assert no_repo.returncode == 1
    assert no_repo.stderr == "at least one of the flags in the group [owner repo] is required\n"
    no_file = gh(github, "attestation", "verify", "--repo", REPO)
    assert no_file.returncode == 1 and no_file.stderr.startswith(
        "must specify file path or container image URI, as well as one of --owner or --repo\n\n"
        "Usage:  gh attestation verify [<file-path> | oci://<image-uri>] [--owner | --repo] [flags]\n"
    )
    bad_repo = gh(github, "attestation", "verify", "a.bento", "--repo", "acme")
    assert bad_repo.returncode == 1 and bad_repo.stderr == "invalid value provided for repo: acme\n"
    owner = gh(github, "attestation", "verify", "a.bento", "--owner", "acme")
    assert owner.returncode == 1 and "`--owner` is not replayed" in owner.stderr
    image = gh(github, "attestation", "verify", "oci://ghcr.io/acme/churn-model@sha256:00", "--repo", REPO)
    assert image.returncode == 1 and "(oci://) is not replayed" in image.stderr


@pytest.mark.parametrize(
    ("expression", "data", "outputs"),
    [
        (".[0].number // empty", [{"number": 7}], [7]),
        (".[0].number // empty", [], []),
        ('.[0].head.sha // ""', [], [""]),
        (".head.sha", {"head": {"sha": "abc"}}, ["abc"]),
        (".[].name", [{"name": "a"}, {"name": "b"}], ["a", "b"]),
        (".[0] | .databaseId", [{"databaseId": 1}], [1]),
        ("length", [1, 2], [2]),
    ],
)
def test_jq_subset(expression, data, outputs):
    assert jq.evaluate(expression, data) == outputs


def test_jq_refuses_what_it_does_not_know_and_indexing_the_wrong_type():
    with pytest.raises(jq.JqError, match="does not support"):
        jq.evaluate("map(.number)", [])
    with pytest.raises(jq.JqError, match="expected an object but got: array"):
        jq.evaluate(".head.sha", [])


# ---- actions/upload-artifact and download-artifact ----------------------------------------------
def test_download_of_a_missing_artifact_fails(repo, github):
    done, _ = stub(
        "actions/download-artifact", {"name": "drift-report", "path": "reports/drift"}, repo, github
    )
    assert done.returncode == 1
    assert "::error::Unable to download artifact(s): Artifact not found for name: drift-report" in done.stdout


def test_upload_keeps_paths_under_the_search_root_minus_exclusions_and_hidden_files(repo, github):
    review = repo / "reports" / "pr"
    (review / "challenger" / "model").mkdir(parents=True)
    (review / "comment.md").write_text("hello\n")
    (review / ".cache").write_text("hidden\n")
    (review / "challenger" / "model" / "metrics.json").write_text("{}\n")
    (review / "challenger" / "model" / "model.skops").write_text("big\n")
    inputs = {"name": "model-review", "path": "reports/pr/\n!reports/pr/*/model/model.skops\n"}

    done, outputs = stub("actions/upload-artifact", inputs, repo, github, run_id=4242)

    assert done.returncode == 0, done.stdout
    stored = github.artifact("model-review")
    assert sorted(str(p.relative_to(stored)) for p in stored.rglob("*") if p.is_file()) == [
        "challenger/model/metrics.json",
        "comment.md",
    ]
    assert outputs["artifact-url"].endswith(f"/actions/runs/4242/artifacts/{outputs['artifact-id']}")
    again, _ = stub("actions/upload-artifact", inputs, repo, github, run_id=4242)
    assert again.returncode == 1 and "(409) Conflict" in again.stdout

    download = {"name": "model-review", "path": "review"}
    other_run, _ = stub("actions/download-artifact", download, repo, github, run_id=7)
    assert other_run.returncode == 1  # without a token only the current run is searched
    by_id, _ = stub(
        "actions/download-artifact",
        {**download, "run-id": "4242", "github-token": "t"},
        repo,
        github,
        run_id=7,
    )
    assert by_id.returncode == 0 and (repo / "review" / "comment.md").read_text() == "hello\n"


def test_upload_of_nothing_warns_and_stores_nothing(repo, github):
    done, outputs = stub(
        "actions/upload-artifact", {"name": "drift-report", "path": "reports/drift/"}, repo, github
    )
    assert done.returncode == 0 and outputs == {}
    assert "::warning::No files were found with the provided path: reports/drift/." in done.stdout
    with pytest.raises(FileNotFoundError):
        github.artifact("drift-report")


# ---- marocchino/sticky-pull-request-comment ----------------------------------------------------
def test_sticky_comment_needs_a_pull_request_and_is_updated_not_duplicated(repo, github):
    (repo / "comment.md").write_text("## Model review\n")
    comment = {"header": "model-review", "path": "comment.md"}

    not_a_pull, _ = stub("marocchino/sticky-pull-request-comment", {**comment, "number": "12"}, repo, github)
    assert not_a_pull.returncode == 1
    assert "Could not resolve to a PullRequest with the number of 12." in not_a_pull.stdout

    no_number, _ = stub("marocchino/sticky-pull-request-comment", {**comment, "number": ""}, repo, github)
    assert no_number.returncode == 0 and "no pull request numbers given: skip step" in no_number.stdout

    number = github.add_pull(head_sha="abc123")
    first, created = stub(
        "marocchino/sticky-pull-request-comment", {**comment, "number": str(number)}, repo, github
    )
    second, updated = stub(
        "marocchino/sticky-pull-request-comment", {**comment, "number": str(number)}, repo, github
    )
    assert first.returncode == 0 and second.returncode == 0
    (posted,) = github.comments(number)
    assert posted["body"] == "## Model review\n\n<!-- Sticky Pull Request Commentmodel-review -->"
    assert updated["previous_comment_id"] == created["created_comment_id"] == str(posted["id"])


# ---- the stubs and gh wired into act -----------------------------------------------------------
WORKFLOW = {
    "name": "Retrain",
    "on": {"workflow_dispatch": None},
    "jobs": {
        "retrain": {
            "runs-on": "ubuntu-latest",
            "steps": [
                {"uses": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"},
                {"run": "printf '5,6\\n' >> data/train.csv"},
                {
                    "id": "pr",
                    "uses": "peter-evans/create-pull-request@5f6978faf089d4d20b00c7766989d076bb2fc7f1",
                    "with": {**RETRAIN, "token": "${{ github.token }}", "add-paths": "data/train.csv"},
                },
                {
                    "if": "steps.pr.outputs.pull-request-operation == 'created'",
                    "env": {"GH_TOKEN": "${{ github.token }}"},
                    "run": "gh workflow run retrain.yml --ref retrain/drift",
                },
            ],
        }
    },
}


def test_under_act_a_stub_opens_the_pull_request_and_gh_dispatches_on_its_branch(repo, github, tmp_path):
    workflows = repo / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "retrain.yml").write_text(yaml.safe_dump(WORKFLOW, sort_keys=False))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "workflow")

    done = act(
        repo,
        "retrain.yml",
        "workflow_dispatch",
        tmp_path / "act",
        github=github,
        act_args=("--secret", "GITHUB_TOKEN=workflow-token"),
    )

    assert done.returncode == 0, done.log[-3000:]
    (outputs,) = done.outputs("peter-evans/create-pull-request")
    assert outputs["pull-request-operation"] == "created" and outputs["pull-request-number"] == "1"
    assert github.pull(1)["files"] == ["data/train.csv"] and github.pull(1)["token"] == "workflow-token"
    assert github.gh_calls() == [["workflow", "run", "retrain.yml", "--ref", "retrain/drift"]]
    act_run, dispatched = github.runs()
    assert act_run["databaseId"] == done.run_id and act_run["conclusion"] == "success"
    assert dispatched["headSha"] == github.branch_sha("retrain/drift")


# -- actions/cache/save and /restore: main writes, pull requests read ---------------------------------
MAIN, PULL = {"GITHUB_REF": "refs/heads/main"}, {"GITHUB_REF": "refs/pull/7/merge"}
CACHE = {"path": "artifacts/model", "key": "champion-abc"}


def model_folder(root: Path, text: str) -> Path:
    (root / "artifacts" / "model").mkdir(parents=True, exist_ok=True)
    (root / "artifacts" / "model" / "model.json").write_text(text)
    return root


def test_a_cache_main_saved_is_restored_in_a_pull_request_run(tmp_path, github):
    saved, _ = stub(
        "actions/cache/save", CACHE, model_folder(tmp_path / "main", "trained at abc"), github, **MAIN
    )
    assert saved.returncode == 0 and "Cache saved with key: champion-abc" in saved.stdout
    (tmp_path / "pr").mkdir()
    restored, outputs = stub("actions/cache/restore", CACHE, tmp_path / "pr", github, **PULL)
    assert restored.returncode == 0 and "Cache restored from key: champion-abc" in restored.stdout
    assert outputs == {
        "cache-primary-key": "champion-abc",
        "cache-matched-key": "champion-abc",
        "cache-hit": "true",
    }
    assert (tmp_path / "pr" / "artifacts" / "model" / "model.json").read_text() == "trained at abc"


def test_a_pull_requests_cache_is_not_mains_and_a_key_is_saved_once(tmp_path, github):
    """A PR run saves to its own ref: main never reads it; a second save of a key only warns."""
    pr = model_folder(tmp_path / "pr", "forged")
    assert stub("actions/cache/save", CACHE, pr, github, **PULL)[0].returncode == 0
    (tmp_path / "main").mkdir()
    restored, outputs = stub("actions/cache/restore", CACHE, tmp_path / "main", github, **MAIN)
    assert "Cache not found for input keys: champion-abc" in restored.stdout and "cache-hit" not in outputs
    again, _ = stub("actions/cache/save", CACHE, pr, github, **PULL)
    assert again.returncode == 0 and "Unable to reserve cache with key champion-abc" in again.stdout
    assert "::warning::Cache save failed." in again.stdout


def test_cache_edge_cases_warn_or_miss_as_the_action_does(tmp_path, github):
    (tmp_path / "empty").mkdir()
    missing, _ = stub("actions/cache/save", CACHE, tmp_path / "empty", github, **MAIN)
    assert missing.returncode == 0 and "::warning::Path Validation Error" in missing.stdout
    stub("actions/cache/save", CACHE, model_folder(tmp_path / "main", "x"), github, **MAIN)
    other_path, _ = stub(
        "actions/cache/restore", {**CACHE, "path": "elsewhere"}, tmp_path / "empty", github, **MAIN
    )
    assert "Cache not found" in other_path.stdout  # the paths are part of the entry's version
    failing, _ = stub("actions/cache/restore", {**CACHE, "key": "nope", "fail-on-cache-miss": "true"},
                      tmp_path / "empty", github, **MAIN)  # fmt: skip
    assert failing.returncode == 1 and "::error::Failed to restore cache entry." in failing.stdout
    refused, _ = stub(
        "actions/cache/restore", {**CACHE, "restore-keys": "champion-"}, tmp_path / "empty", github, **MAIN
    )
    assert refused.returncode == 1 and "does not replay input `restore-keys`" in refused.stdout
