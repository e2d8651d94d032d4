"""What the stubbed third-party actions do, replayed from their sources (tests/fakes/README.md).

harness/act.py's stub composite actions run `python3 stubs.py <owner/repo>` with the step's inputs as
JSON in $STUB_INPUTS and act's environment (GITHUB_OUTPUT, GITHUB_RUN_ID, GITHUB_SHA,
GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_WORKSPACE) plus $FAKE_GITHUB, the fake GitHub they
act on, and $ACT_WORKFLOW_FILE, the workflow act runs. A failure prints `::error::<message>` and
exits 1, as @actions/core's setFailed does. An input a stub does not replay fails the step instead
of being ignored. The version each stub replays is in versions.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from github import FakeGitHub, add_pull, ensure_label, find_pull, repo_from_url, take_id
from globber import glob, least_common_ancestor, parse_patterns, search_paths

NOTHING_TO_COMMIT = "nothing to commit, working tree clean"
CHERRYPICK_EMPTY = "The previous cherry-pick is now empty, possibly due to conflict resolution."
ARTIFACT_NOT_FOUND = (
    "Artifact not found for name: {name}\n"
    "        Please ensure that your artifact is not expired and the artifact was uploaded using a "
    "compatible version of toolkit/upload-artifact.\n"
    "        For more information, visit the GitHub Artifacts FAQ: "
    "https://github.com/actions/toolkit/blob/main/packages/artifact/docs/faq.md"
)
ARTIFACT_CONFLICT = (
    "Failed to CreateArtifact: Received non-retryable error: Failed request: (409) Conflict: "
    "an artifact with this name already exists on the workflow run"
)


class ActionFailed(Exception):
    """core.setFailed(message): the step fails with this message."""


class Inputs:
    """core.getInput / getBooleanInput over the JSON act hands the stub; `default` is action.yml's."""

    def __init__(self, action: str, values: dict):
        self.action, self.values = action, values

    def get(self, name: str, default: str = "") -> str:
        return (self.values.get(name) or "").strip() or default

    def required(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise ActionFailed(f"Input required and not supplied: {name}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name, str(default).lower())
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        raise ActionFailed(
            f'Input does not meet YAML 1.2 "Core Schema" specification: {name}\n'
            "Support boolean input list: `true | True | TRUE | false | False | FALSE`"
        )

    def array(self, name: str) -> list[str]:
        """create-pull-request's utils.getInputAsArray: split on commas and newlines, trim, drop empties."""
        text = self.get(name).replace(",", "\n")
        return [part.strip() for part in text.split("\n") if part.strip()]

    def not_replayed(self, *names: str) -> None:
        for name in names:
            if self.get(name) and self.get(name) != "false":
                raise ActionFailed(
                    f"the stub of {self.action} does not replay input `{name}`: see tests/fakes"
                )


def set_outputs(outputs: dict[str, str]) -> None:
    """core.setOutput for each; also logged for the test (ActRun.outputs) when run under act."""
    with open(os.environ["GITHUB_OUTPUT"], "a") as out:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    if os.environ.get("ACT_STUB_LOG"):
        with open(os.environ["ACT_STUB_LOG"], "a") as log:
            log.write(json.dumps({"action": os.environ["STUB_ACTION"], "outputs": outputs}) + "\n")


def workspace() -> Path:
    return Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd())


def run_id() -> int:
    return int(os.environ.get("GITHUB_RUN_ID") or 1)


# ---- actions/upload-artifact (src/upload/upload-artifact.ts, src/shared/search.ts) -----------
def upload_artifact(i: Inputs) -> None:
    i.not_replayed("compression-level")
    name, path = i.get("name", "artifact"), i.required("path")
    no_files = i.get("if-no-files-found", "warn")
    if no_files not in ("warn", "error", "ignore"):
        raise ActionFailed(
            f"Unrecognized if-no-files-found input. Provided: {no_files}. "
            "Available options: warn,error,ignore"
        )
    include_hidden, overwrite = i.boolean("include-hidden-files", False), i.boolean("overwrite", False)
    archive = i.boolean("archive", True)
    files = [f for f in glob(path, workspace(), include_hidden) if not os.path.isdir(f)]
    if not files:
        message = f"No files were found with the provided path: {path}. No artifacts will be uploaded."
        if no_files == "error":
            raise ActionFailed(message)
        print(f"::warning::{message}" if no_files == "warn" else message)
        return
    if not archive and len(files) > 1:
        raise ActionFailed(
            "When 'archive' is set to false, only a single file can be uploaded. "
            f"Found {len(files)} files to upload."
        )
    root = artifact_root(path, files)
    github = FakeGitHub.from_env()
    name = name if archive else os.path.basename(files[0])
    store = github.root / "artifacts" / str(run_id()) / name
    if store.exists() and not overwrite:
        raise ActionFailed(ARTIFACT_CONFLICT)
    shutil.rmtree(store, ignore_errors=True)
    for file in files:
        target = store / os.path.relpath(file, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
    print(f"With the provided path, there will be {len(files)} file{'s' if len(files) > 1 else ''} uploaded")
    with github.transaction() as state:
        artifact_id = take_id(state)
        repo = state["repo"]
    set_outputs(
        {
            "artifact-id": str(artifact_id),
            "artifact-url": f"https://github.com/{repo}/actions/runs/{run_id()}/artifacts/{artifact_id}",
            "artifact-digest": digest(store),
        }
    )


def artifact_root(path: str, files: list[str]) -> str:
    """Several search paths: their least common ancestor; one file named as is: its folder."""
    roots = search_paths(parse_patterns(path, workspace()))
    if len(roots) > 1:
        return least_common_ancestor(roots)
    if len(files) == 1 and roots[0] == files[0]:
        return os.path.dirname(files[0])
    return roots[0]


def digest(folder: Path) -> str:
    sha = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        sha.update(str(file.relative_to(folder)).encode() + file.read_bytes())
    return sha.hexdigest()


# ---- actions/download-artifact (src/download-artifact.ts) ------------------------------------
def download_artifact(i: Inputs) -> None:
    i.not_replayed("artifact-ids", "pattern", "skip-decompress")
    name, token = i.get("name"), i.get("github-token")
    path = Path(os.path.expanduser(i.get("path") or str(workspace())))
    path = path if path.is_absolute() else workspace() / path
    github = FakeGitHub.from_env()
    # run-id and repository only count with a token; without one the current run is searched.
    run = run_id()
    if token:
        repository = i.get("repository", os.environ.get("GITHUB_REPOSITORY", ""))
        if repository.lower() != github.repo.lower():
            raise ActionFailed("Unable to download artifact(s): Not Found")
        run = int(i.get("run-id") or run)
    runs = github.root / "artifacts" / str(run)
    found = [runs / name] if name else sorted(runs.glob("*"))
    if name and not found[0].is_dir():
        raise ActionFailed("Unable to download artifact(s): " + ARTIFACT_NOT_FOUND.format(name=name))
    merge = name or i.boolean("merge-multiple", False) or len(found) == 1
    for artifact in found:
        shutil.copytree(artifact, path if merge else path / artifact.name, dirs_exist_ok=True)
    print(f"Total of {len(found)} artifact(s) downloaded")
    set_outputs({"download-path": str(path)})


# ---- actions/create-github-app-token: records only, answers a token --------------------------
def create_github_app_token(i: Inputs) -> None:
    set_outputs({"token": "app-installation-token", "installation-id": "1", "app-slug": "fake-app"})


# ---- marocchino/sticky-pull-request-comment (src/main.ts, src/config.ts, src/comment.ts) ----
def js_number(text: str) -> float:
    """JavaScript's unary + on an input string: '' is 0, garbage is NaN."""
    text = text.strip()
    if not text:
        return 0
    try:
        return float(int(text, 0)) if text[:2].lower() in ("0x", "0o", "0b") else float(text)
    except ValueError:
        return float("nan")


def sticky_comment(i: Inputs) -> None:
    i.not_replayed(
        "append",
        "recreate",
        "delete",
        "only_create",
        "only_update",
        "hide",
        "hide_and_recreate",
        "hide_details",
        "skip_unchanged",
        "follow_symbolic_links",
    )
    event = (
        json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text())
        if os.environ.get("GITHUB_EVENT_PATH")
        else {}
    )
    candidates = [
        js_number(i.get("number_force")),
        (event.get("pull_request") or {}).get("number"),
        js_number(i.get("number")),
    ]
    number = next((n for n in candidates if n and n == n), candidates[-1])  # JavaScript's a || b || c
    if number != number or number < 1:  # NaN or not positive
        print("no pull request numbers given: skip step")
        return
    body = comment_body(i)
    if not body and i.boolean("ignore_empty", False):
        print("no body given: skip step by ignoreEmpty")
        return
    if not body:
        raise ActionFailed("Either message or path input is required")
    github = FakeGitHub.from_env()
    owner, name = i.get("owner"), i.get("repo")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    repo = f"{owner or repo.split('/')[0]}/{name or repo.split('/')[-1]}"
    header = f"<!-- Sticky Pull Request Comment{i.get('header')} -->"
    with github.transaction() as state:
        if repo.lower() != state["repo"].lower():
            raise ActionFailed(graphql_error(f"Could not resolve to a Repository with the name '{repo}'."))
        pull = find_pull(state, int(number)) if number == int(number) else None
        if pull is None:
            raise ActionFailed(
                graphql_error(f"Could not resolve to a PullRequest with the number of {number:g}.")
            )
        outputs = post_sticky(state, pull, f"{body}\n{header}", header)
    set_outputs(outputs)


def graphql_error(message: str) -> str:
    """How @octokit/graphql words a GraphQL error response."""
    return f"Request failed due to following response errors:\n - {message}"


def comment_body(i: Inputs) -> str:
    """The files the `path` glob matches, joined by newlines; else the `message` input."""
    if not i.get("path"):
        return i.get("message")
    files = glob(i.get("path"), workspace(), include_hidden=True, match_directories=False)
    return "\n".join(Path(f).read_text() for f in files)


def post_sticky(state: dict, pull: dict, body: str, header: str) -> dict:
    """Update this token's previous comment that carries the header, or create one."""
    viewer = "github-actions"  # the login GITHUB_TOKEN comments as
    for comment in pull["comments"]:
        if comment["author"] == viewer and not comment.get("minimized") and header in comment["body"]:
            comment["body"] = body
            return {"previous_comment_id": str(comment["id"])}
    comment = {"id": take_id(state), "author": viewer, "body": body}
    pull["comments"].append(comment)
    return {"previous_comment_id": "", "created_comment_id": str(comment["id"])}


# ---- peter-evans/create-pull-request (src/create-pull-request.ts, create-or-update-branch.ts) --
class Git:
    """git-command-manager.ts: runs git in the repository, echoing commands as the action logs them.

    `origin` is rewritten (url.<fake remote>.insteadOf) to the fake GitHub's bare repository, so the
    action's own fetch/push commands run unchanged.
    """

    def __init__(self, cwd: Path, origin_url: str, remote: Path):
        self.cwd = cwd
        self.config = ["-c", f"url.{remote}.insteadOf={origin_url}"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        print(f"[command]git {' '.join(args)}", flush=True)
        done = subprocess.run(["git", *self.config, *args], cwd=self.cwd, capture_output=True, text=True)
        sys.stdout.write(done.stdout + done.stderr)
        if check and done.returncode != 0:
            raise ActionFailed(f"The process '{shutil.which('git')}' failed with exit code {done.returncode}")
        return done

    def fetch(self, refspec: str, depth: int, check: bool = True) -> subprocess.CompletedProcess:
        """GitCommandManager.fetch: the action's one way to fetch a ref."""
        options = ["--no-tags", "--progress", "--no-recurse-submodules", "--force", f"--depth={depth}"]
        return self.run("-c", "protocol.version=2", "fetch", *options, "origin", refspec, check=check)

    def out(self, *args: str) -> str:
        return self.run(*args).stdout.strip()

    def checkout(self, ref: str, start_point: str | None = None) -> None:
        self.run("checkout", "--progress", *(["-B", ref, start_point] if start_point else [ref]), "--")

    def commits_ahead(self, branch1: str, branch2: str) -> int:
        return int(self.out("rev-list", "--right-only", "--count", f"{branch1}...{branch2}"))

    def commits_behind(self, branch1: str, branch2: str) -> int:
        return int(self.out("rev-list", "--left-only", "--count", f"{branch1}...{branch2}"))

    def has_diff(self, *args: str) -> bool:
        return self.run("diff", "--quiet", *args, check=False).returncode == 1

    def is_dirty(self, paths: list[str]) -> bool:
        """Untracked, unstaged or staged changes under the paths (git status accepts unmatched ones)."""
        spec = ["--", *paths]
        return (
            bool(self.out("status", "--porcelain", "-unormal", *spec))
            or self.has_diff(*spec)
            or self.has_diff("--staged", *spec)
        )


def create_pull_request(i: Inputs) -> None:
    i.not_replayed(
        "branch-token",
        "branch-suffix",
        "push-to-fork",
        "sign-commits",
        "signoff",
        "assignees",
        "reviewers",
        "team-reviewers",
        "milestone",
        "draft",
    )
    github = FakeGitHub.from_env()
    options = pull_request_options(i)
    repo_path = workspace() / i.get("path")
    origin_url = subprocess.run(
        ["git", "config", "--local", "--get", "remote.origin.url"],
        cwd=repo_path,
        capture_output=True,
        text=True,
    ).stdout.strip()
    repository = parse_remote(origin_url)
    if repository.lower() != github.repo.lower():
        raise ActionFailed(
            f"origin is {repository}, but the fake GitHub holds {github.repo} (see tests/fakes)"
        )
    git = Git(repo_path, origin_url, github.remote)
    as_actions_checkout_left_it(git, options["branch"])
    working_base, detached = working_base_and_type(git)
    if detached and not options["base"]:
        raise ActionFailed(
            "When the repository is checked out on a commit instead of a branch, "
            "the 'base' input must be supplied."
        )
    base = options["base"] or working_base
    if base == options["branch"]:
        raise ActionFailed(
            "The 'base' and 'branch' for a pull request must be different branches. Unable to continue."
        )
    result = create_or_update_branch(git, options, base, working_base, detached)
    set_outputs(publish(github, git, options, base, result))


def pull_request_options(i: Inputs) -> dict:
    """src/main.ts: inputs with action.yml's defaults; body-path replaces body."""
    token = i.get("token", os.environ.get("STUB_GITHUB_TOKEN", ""))
    if not token:
        raise ActionFailed("Input 'token' not supplied. Unable to continue.")
    body = i.get(
        "body",
        "Automated changes by [create-pull-request](https://github.com/peter-evans/"
        "create-pull-request) GitHub action",
    )
    if i.get("body-path"):
        body_path = workspace() / i.get("body-path")
        if not body_path.exists():
            raise ActionFailed(f"File '{i.get('body-path')}' does not exist.")
        body = body_path.read_text()
    actor = os.environ.get("GITHUB_ACTOR", "github-actions[bot]")
    author = parse_name_email(i.get("author", f"{actor} <{actor}@users.noreply.github.com>"))
    committer = parse_name_email(
        i.get("committer", "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>")
    )
    identity = [
        "-c",
        f"author.name={author[0]}",
        "-c",
        f"author.email={author[1]}",
        "-c",
        f"committer.name={committer[0]}",
        "-c",
        f"committer.email={committer[1]}",
    ]
    return {
        "token": token,
        "add_paths": i.array("add-paths"),
        "labels": i.array("labels"),
        "message": i.get("commit-message", "[create-pull-request] automated change"),
        "branch": i.get("branch", "create-pull-request/patch"),
        "base": i.get("base"),
        "delete_branch": i.boolean("delete-branch", False),
        "body": body[:65536],
        "title": i.get("title", "Changes by create-pull-request action"),
        "identity": identity,
    }


def parse_name_email(text: str) -> tuple[str, str]:
    name, _, rest = text.partition("<")
    if not name.strip() or not rest.endswith(">"):
        raise ActionFailed(f"The format of '{text}' is not a valid email address with display name")
    return name.strip(), rest[:-1]


def parse_remote(url: str) -> str:
    """git-config-helper.ts parseGitRemote: the owner/repo of origin, which must be a GitHub URL."""
    repository = repo_from_url(url)
    if not repository:
        raise ActionFailed(f"The format of '{url}' is not a valid GitHub repository URL")
    return repository


def as_actions_checkout_left_it(git: Git, branch: str) -> None:
    """Not the action: the state a runner is in when it starts. GitHub's copy of the checked-out
    branch is the commit the workflow runs on (GITHUB_SHA), fetched as origin/<branch>, and a fresh
    clone has no local copy of the pull request branch."""
    current = git.run("symbolic-ref", "HEAD", "--short", check=False).stdout.strip()
    if not current:
        return
    sha = os.environ.get("GITHUB_SHA") or "HEAD"
    if git.run("cat-file", "-e", f"{sha}^{{commit}}", check=False).returncode != 0:
        sha = "HEAD"
    git.run("push", "--force", "origin", f"{sha}:refs/heads/{current}")
    git.run("fetch", "--no-tags", "origin", f"+refs/heads/{current}:refs/remotes/origin/{current}")
    if (
        branch != current
        and git.run("rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False).stdout
    ):
        git.run("branch", "-D", branch)


def working_base_and_type(git: Git) -> tuple[str, bool]:
    """The checked-out branch, or the commit when HEAD is detached (True)."""
    ref = git.run("symbolic-ref", "HEAD", "--short", check=False)
    if ref.returncode == 0:
        return ref.stdout.strip(), False
    return git.out("rev-parse", "HEAD"), True


def create_or_update_branch(git: Git, options: dict, base: str, working_base: str, detached: bool) -> dict:
    """create-or-update-branch.ts createOrUpdateBranch, step by step."""
    branch, temp = options["branch"], str(uuid.uuid4())
    git.checkout(temp, "HEAD")
    commit_changes(git, options)
    stashed = git.out("stash", "push", "--include-untracked") != "No local changes to save"
    if not detached:
        git.checkout(working_base)
        git.run("reset", "--hard", f"origin/{working_base}")
    if working_base != base:
        rebase_onto_base(git, options, base, working_base, temp)
    temp_ahead = git.commits_ahead(base, temp)
    depth = temp_ahead + 10 if temp_ahead > 0 else 10
    fetched = git.fetch(f"{branch}:refs/remotes/origin/{branch}", depth, check=False).returncode == 0
    if not fetched:  # the pull request branch does not exist yet
        git.checkout(branch, temp)
        has_diff = git.commits_ahead(base, branch) > 0
        action = "created" if has_diff else "none"
    else:
        git.checkout(branch)
        if (
            git.has_diff(f"{branch}..{temp}")
            or git.commits_ahead(base, branch) != temp_ahead
            or temp_ahead <= 0
            or commits_have_diff(git, branch, temp, temp_ahead)
        ):
            git.checkout(branch, temp)
        remote = f"origin/{branch}"
        even = git.commits_ahead(remote, branch) == 0 and git.commits_behind(remote, branch) == 0
        action = "not-updated" if even else "updated"
        has_diff = git.commits_ahead(base, branch) > 0
    result = {
        "action": action,
        "has_diff": has_diff,
        "base_sha": git.out("rev-parse", base),
        "head_sha": git.out("rev-parse", branch),
    }
    git.run("branch", "--delete", "--force", temp)
    git.checkout(working_base)
    if stashed:
        git.run("stash", "pop")
    return result


def commit_changes(git: Git, options: dict) -> None:
    """ONE `git add` for all add-paths, its exit code ignored: a single pathspec that matches
    nothing makes git refuse the whole add, and then the commit has nothing staged."""
    if not git.is_dirty(options["add_paths"]):
        return
    print("Uncommitted changes found. Adding a commit.")
    paths = options["add_paths"]
    git.run("add", *(["--", *paths] if paths else ["-A"]), check=False)
    done = git.run(*options["identity"], "commit", "-m", options["message"], check=False)
    if done.returncode != 0 and NOTHING_TO_COMMIT not in done.stdout:
        raise ActionFailed(f"Unexpected error: {done.stderr}")


def rebase_onto_base(git: Git, options: dict, base: str, working_base: str, temp: str) -> None:
    """Commits made on the working base are cherry-picked onto the actual base."""
    git.fetch(f"{base}:{base}", depth=1)
    git.checkout(base)
    for commit in git.out("rev-list", "--reverse", f"{working_base}..{temp}", ".").split():
        picked = git.run(
            *options["identity"],
            "cherry-pick",
            "--strategy=recursive",
            "--strategy-option=theirs",
            commit,
            check=False,
        )
        if picked.returncode != 0 and CHERRYPICK_EMPTY not in picked.stderr:
            raise ActionFailed(f"Unexpected error: {picked.stderr}")
    git.checkout(temp, "HEAD")
    git.fetch(f"{base}:{base}", depth=1)


def commits_have_diff(git: Git, branch1: str, branch2: str, depth: int) -> bool:
    try:
        first = git.out("diff", "--stat", f"{branch1}..{branch1}~{depth}")
        second = git.out("diff", "--stat", f"{branch2}..{branch2}~{depth}")
    except ActionFailed:
        print("Failed optional check of commits diff; Skipping.")
        return False
    return first != second


def publish(github: FakeGitHub, git: Git, options: dict, base: str, result: dict) -> dict:
    """Push the branch, then create, update or (by deleting its branch) close the pull request."""
    branch = options["branch"]
    outputs = {
        "pull-request-branch": branch,
        "pull-request-operation": "none",
        "pull-request-head-sha": result["head_sha"],
    }
    if result["action"] in ("created", "updated"):
        git.run("push", "--force-with-lease", "origin", f"{branch}:refs/heads/{branch}")
    if result["has_diff"]:
        files = git.out("diff", "--name-only", f"{result['base_sha']}...{result['head_sha']}").splitlines()
        with github.transaction() as state:
            pull, created = create_or_update_pull(state, options, base, result, files)
            url = f"https://github.com/{state['repo']}/pull/{pull['number']}"
        outputs.update({"pull-request-number": str(pull["number"]), "pull-request-url": url})
        if created:
            outputs["pull-request-operation"] = "created"
        elif result["action"] == "updated":
            outputs["pull-request-operation"] = "updated"
    elif result["action"] in ("updated", "not-updated") and options["delete_branch"]:
        git.run("push", "--delete", "--force", "origin", f"refs/heads/{branch}")
        with github.transaction() as state:  # GitHub closes a pull request whose head branch is deleted
            for pull in state["pulls"]:
                if pull["head"]["ref"] == branch and pull["state"] == "open":
                    pull["state"] = "closed"
        outputs["pull-request-operation"] = "closed"
    outputs["pull-request-commits-verified"] = "false"
    return outputs


def create_or_update_pull(state: dict, options: dict, base: str, result: dict, files: list[str]):
    """github-helper.ts createOrUpdate: creating fails when an open pull request has the same head
    and base, and that one is updated instead; labels are added (the REST endpoint creates missing ones)."""
    head = {"ref": options["branch"], "sha": result["head_sha"], "repo": state["repo"]}
    existing = [
        p
        for p in state["pulls"]
        if p["state"] == "open"
        and p["head"]["ref"] == head["ref"]
        and p["head"]["repo"] == head["repo"]
        and p["base"]["ref"] == base
    ]
    if existing:
        pull, created = existing[0], False
    else:
        number = add_pull(state, None, options["title"], options["body"], head, {"ref": base, "sha": ""})
        pull, created = find_pull(state, number), True
    pull.update(title=options["title"], body=options["body"], files=files, token=options["token"])
    pull["head"]["sha"], pull["base"]["sha"] = result["head_sha"], result["base_sha"]
    for label in options["labels"]:
        name = ensure_label(state, label)["name"]
        if name not in pull["labels"]:
            pull["labels"].append(name)
    return pull, created


RESERVED = "another job may be creating this cache."
CACHE_MISS_FAILS = "Exiting as fail-on-cache-miss is set"


def cache_version(paths: list[str]) -> str:
    """@actions/cache getCacheVersion: the paths (and compression) are part of an entry's identity, so a
    restore that names other paths than the save misses."""
    return hashlib.sha256("|".join([*paths, "zstd-without-long"]).encode()).hexdigest()[:16]


def cache_entry(scope: str, key: str, paths: list[str]) -> Path:
    github = FakeGitHub.from_env()
    return github.root / "caches" / scope.replace("/", "%") / key.replace("/", "%") / cache_version(paths)


def cache_paths(i: Inputs) -> list[str]:
    """The `path` input, one literal path per line (files or folders under the workspace)."""
    paths = [p.strip() for p in i.required("path").splitlines() if p.strip()]
    if any(set(p) & set("*?[!~") for p in paths):
        raise ActionFailed(f"the stub of {i.action} does not replay glob patterns in `path`: see tests/fakes")
    return paths


def cache_scopes() -> list[str]:
    """GitHub's rule: a run restores caches of its own ref, then of the default branch (a pull
    request's runs can also read its base branch's: the default branch here). It saves to its own."""
    with FakeGitHub.from_env().transaction() as state:
        default = f"refs/heads/{state['default_branch']}"
    own = os.environ.get("GITHUB_REF", "")
    return [own] if own == default else [own, default]


def cache_save(i: Inputs) -> None:
    """save/action.yml (saveImpl.ts, toolkit saveCacheV2): failures are warnings, never the step's."""
    i.not_replayed("upload-chunk-size", "enableCrossOsArchive")
    if not os.environ.get("GITHUB_REF"):
        print(f"::warning::Event Validation Error: The event type {os.environ.get('GITHUB_EVENT_NAME')} "
              "is not supported because it's not tied to a branch or tag ref.")  # fmt: skip
        return
    key, paths = i.required("key"), cache_paths(i)
    found = [p for p in paths if (workspace() / p).exists()]
    if not found:
        print("::warning::Path Validation Error: Path(s) specified in the action for caching do(es) not "
              "exist, hence no cache is being saved.")  # fmt: skip
        print("::warning::Cache save failed.")
        return
    entry = cache_entry(cache_scopes()[0], key, paths)
    if entry.exists():  # CreateCacheEntry refuses a key+version its scope already has
        print(
            f"Failed to save: Unable to reserve cache with key {key}, another job may be creating this cache."
        )
        print("::warning::Cache save failed.")
        return
    for path in found:
        source, target = workspace() / path, entry / path
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    print(f"Cache saved with key: {key}")


def cache_restore(i: Inputs) -> None:
    """restore/action.yml (restoreImpl.ts with NullStateProvider): an exact key, or nothing."""
    i.not_replayed("restore-keys", "lookup-only", "enableCrossOsArchive")
    if not os.environ.get("GITHUB_REF"):
        print(f"::warning::Event Validation Error: The event type {os.environ.get('GITHUB_EVENT_NAME')} "
              "is not supported because it's not tied to a branch or tag ref.")  # fmt: skip
        return
    key, paths = i.required("key"), cache_paths(i)
    set_outputs({"cache-primary-key": key})
    entry = next((e for e in (cache_entry(s, key, paths) for s in cache_scopes()) if e.exists()), None)
    if entry is None:  # `cache-hit` deliberately left unset (actions/cache#1466)
        if i.boolean("fail-on-cache-miss", False):
            raise ActionFailed(
                f"Failed to restore cache entry. Exiting as fail-on-cache-miss is set. Input key: {key}"
            )
        print(f"Cache not found for input keys: {key}")
        return
    shutil.copytree(entry, workspace(), dirs_exist_ok=True)
    set_outputs({"cache-matched-key": key, "cache-hit": "true"})
    print(f"Cache restored from key: {key}")


# ---- the job's GITHUB_TOKEN, as the workflow declares it (GitHub's runtime, not an action's) -----
def running_job() -> tuple[str, dict, dict]:
    """(workflow path in the repository, workflow, job) of the running job: GITHUB_JOB of the workflow
    act runs (harness.act passes its file as ACT_WORKFLOW_FILE; the job may have no checkout)."""
    import yaml

    path, job = Path(os.environ.get("ACT_WORKFLOW_FILE", "")), os.environ.get("GITHUB_JOB", "")
    workflow = yaml.safe_load(path.read_text()) if path.is_file() else {}
    if job not in (workflow.get("jobs") or {}):
        raise ActionFailed(f"the stubs cannot find job {job!r} in {path}: run under harness.act.act()")
    return f".github/workflows/{path.name}", workflow, workflow["jobs"][job]


def token_permissions() -> dict[str, str]:
    """The job's `permissions`, else the workflow's; `read-all`/`write-all` grant every scope, and a
    scope not named is `none`. GitHub mints an OIDC token request URL only with `id-token: write`."""
    _, workflow, job = running_job()
    declared = job["permissions"] if "permissions" in job else workflow.get("permissions")
    if declared is None:
        raise ActionFailed(
            "the stubs do not model the repository's default token permissions: declare `permissions`"
        )
    if isinstance(declared, str):
        level = {"read-all": "read", "write-all": "write"}[declared]
        scopes = ("id-token", "attestations", "packages", "contents", "actions", "pull-requests")
        return dict.fromkeys(scopes, level)
    return dict(declared or {})


# ---- docker/login-action (src/main.ts, src/docker.ts): records who is logged in where ----------
def docker_login(i: Inputs) -> None:
    """loginStandard's checks; the login lasts for this job only (each job is a fresh runner)."""
    i.not_replayed("ecr", "scope", "registry-auth")
    username, password = i.get("username"), i.get("password")
    if not username and not password:
        raise ActionFailed("Username and password required")
    if not username:
        raise ActionFailed("Username required")
    if not password:
        raise ActionFailed("Password required")
    registry = i.get("registry") or "docker.io"
    with FakeGitHub.from_env().transaction() as state:
        login = {"run": run_id(), "job": os.environ.get("GITHUB_JOB", ""), "registry": registry}
        state.setdefault("docker_logins", []).append(login)
    print("Login Succeeded!")


def logged_in(registry: str) -> bool:
    """@sigstore/oci getRegistryCredentials: a docker config entry whose key contains the registry."""
    job = os.environ.get("GITHUB_JOB", "")
    logins = FakeGitHub.from_env().state().get("docker_logins", [])
    return any(x["run"] == run_id() and x["job"] == job and registry in x["registry"] for x in logins)


# ---- docker/build-push-action: builds nothing (no Docker engine), answers a digest --------------
def build_push(i: Inputs) -> None:
    """The build context and Dockerfile must exist, as buildx requires; the `digest` output, which is
    the pushed manifest's digest on GitHub, is a stand-in: the sha256 of the context's files."""
    context = workspace() / i.get("context", ".")
    dockerfile = workspace() / i.get("file") if i.get("file") else context / "Dockerfile"
    if not context.is_dir():
        raise ActionFailed(f"buildx failed with: ERROR: unable to prepare context: path {context} not found")
    if not dockerfile.is_file():
        raise ActionFailed(f"buildx failed with: ERROR: failed to read dockerfile: open {dockerfile}")
    found = f"sha256:{digest(context)}"
    tags = ",".join(tag.strip() for tag in i.get("tags").replace(",", "\n").splitlines() if tag.strip())
    metadata = {"containerimage.digest": found, "image.name": tags}
    set_outputs({"imageid": found, "digest": found, "metadata": json.dumps(metadata, indent=2)})


# ---- actions/attest v4.2.2 (src/main.ts, detect.ts, subject.ts, sbom.ts, attest.ts) ------------
DIGEST_LENGTHS = {"sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128, "sha512_224": 56, "sha512_256": 64}
MAX_SUBJECTS, MAX_SBOM_BYTES = 1024, 16 * 1024 * 1024
PRIVATE_REPOSITORY = (
    "Failed to persist attestation: Feature not available for user-owned private repositories. "
    "To enable this feature, please make this repository public."
)


def attest(i: Inputs) -> None:
    """Subjects, predicate and their checks as the action computes them; signing (Sigstore) and the
    attestations API are the fake GitHub's `attestations`, with a bundle that holds the statement."""
    i.not_replayed("subject-checksums", "predicate-type", "predicate", "predicate-path", "subject-version")
    i.not_replayed("private-signing")
    push, storage = i.boolean("push-to-registry", False), i.boolean("create-storage-record", True)
    show_summary = i.boolean("show-summary", True)
    if push and storage:
        raise ActionFailed(f"the stub of {i.action} does not replay storage records (create-storage-record)")
    event = json.loads(Path(os.environ["GITHUB_EVENT_PATH"]).read_text())
    visibility = (event.get("repository") or {}).get("visibility")
    permissions = token_permissions()
    if permissions.get("id-token") != "write":  # no ACTIONS_ID_TOKEN_REQUEST_URL
        raise ActionFailed(
            'missing "id-token" permission. Please add "permissions: id-token: write" to your workflow.'
        )
    subjects = attestation_subjects(i, downcase=push)
    if push and len(subjects) != 1:
        raise ActionFailed(
            f"push-to-registry requires exactly one subject but {len(subjects)} subjects were resolved"
        )
    if push and set(subjects[0]["digest"]) != {"sha256"}:
        algorithms = ", ".join(subjects[0]["digest"])
        raise ActionFailed(
            f"push-to-registry requires a subject with a SHA-256 digest but the subject has: {algorithms}"
        )
    predicate_type, predicate = attestation_predicate(i)
    if not os.environ.get("RUNNER_TEMP"):
        raise ActionFailed("Missing RUNNER_TEMP environment variable")
    bundle_path = Path(tempfile.mkdtemp(dir=os.environ["RUNNER_TEMP"])) / "attestation.json"
    set_outputs({"bundle-path": str(bundle_path)})
    if permissions.get("attestations") != "write":
        raise ActionFailed("Failed to persist attestation: Resource not accessible by integration")
    if visibility != "public":  # GitHub Enterprise Cloud's private repositories are not modelled
        raise ActionFailed(PRIVATE_REPOSITORY)
    image = None
    if push:
        image = bare_image_name(subjects[0]["name"])
        registry = image.split("/")[0]
        if not logged_in(registry):
            raise ActionFailed(f"No credentials found for registry {registry}")
        if registry == "ghcr.io" and permissions.get("packages") != "write":
            raise ActionFailed(f"pushing to {image} needs `packages: write` (the stub's words: a 403)")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": subjects,
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    bundle = {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "dsseEnvelope": {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
            "signatures": [{"sig": "stub"}],
        },
    }
    with FakeGitHub.from_env().transaction() as state:
        attestation_id = take_id(state)
        repo = state["repo"]
        signer = "public-good" if visibility == "public" else "github"  # the Sigstore instance
        record = {"id": attestation_id, "run": run_id(), "job": os.environ.get("GITHUB_JOB", "")}
        record.update(sigstore=signer, registry=image, bundle=bundle, certificate=signing_identity(repo))
        record.update(statement)
        state.setdefault("attestations", []).append(record)
    bundle_path.write_text(json.dumps(bundle) + "\n")
    with open(Path(os.environ["RUNNER_TEMP"]) / "created_attestation_paths.txt", "a") as paths:
        paths.write(f"{bundle_path}\n")
    if len(subjects) == 1:
        algorithm = sorted(subjects[0]["digest"])[0]  # formatSubjectDigest
        print(f"Attestation created for {subjects[0]['name']}@{algorithm}:{subjects[0]['digest'][algorithm]}")
    else:
        print(f"Attestation created for {len(subjects)} subjects")
    url = f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{repo}/attestations/{attestation_id}"
    set_outputs({"attestation-id": str(attestation_id), "attestation-url": url})
    if show_summary and os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as summary:
            summary.write(f'### Attestation Created\n\n- <a href="{url}">{url}</a>\n')


def signing_identity(repo: str) -> dict:
    """What the Fulcio certificate says of the signer (from the job's OIDC token; `gh attestation
    verify` checks it): the SAN and build signer are the workflow the job runs at the run's ref (the
    token's job_workflow_ref), the source repository and owner its repository's, the issuer Actions'."""
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    workflow = f"{server}/{repo}/{running_job()[0]}@{os.environ.get('GITHUB_REF', '')}"
    return {
        "subjectAlternativeName": workflow,
        "buildSignerURI": workflow,
        "sourceRepositoryURI": f"{server}/{repo}",
        "sourceRepositoryOwnerURI": f"{server}/{repo.split('/')[0]}",
        "issuer": "https://token.actions.githubusercontent.com",
    }


def attestation_subjects(i: Inputs, downcase: bool) -> list[dict]:
    """subject.ts subjectFromInputs: one of subject-path (globbed files, named by basename) or
    subject-digest with subject-name (lower-cased when pushed to a registry)."""
    path, digest_input, name = i.get("subject-path"), i.get("subject-digest"), i.get("subject-name")
    given = [x for x in (path, digest_input) if x]
    if not given:  # the runner's $GITHUB_ARTIFACTS_LIST is not modelled
        raise ActionFailed("One of subject-path, subject-digest, or subject-checksums must be provided")
    if len(given) > 1:
        raise ActionFailed("Only one of subject-path, subject-digest, or subject-checksums may be provided")
    if digest_input and not name:
        raise ActionFailed("subject-name must be provided when using subject-digest")
    name = name.lower() if downcase else name
    if digest_input:
        algorithm, _, hexdigest = digest_input.partition(":")
        if not _ or ":" in hexdigest or not algorithm or not hexdigest:
            raise ActionFailed('subject-digest must be in the format "algorithm:hex_digest"')
        if algorithm not in DIGEST_LENGTHS:
            raise ActionFailed(f'subject-digest has unsupported algorithm "{algorithm}"')
        if not all(c in "0123456789abcdefABCDEF" for c in hexdigest):
            raise ActionFailed("subject-digest has invalid hex digits")
        if len(hexdigest) != DIGEST_LENGTHS[algorithm]:
            raise ActionFailed(f'subject-digest has invalid length for algorithm "{algorithm}" '
                               f"(expected {DIGEST_LENGTHS[algorithm]}, got {len(hexdigest)})")  # fmt: skip
        return [{"name": name, "digest": {algorithm: hexdigest}}]
    patterns = [p.strip() for line in path.splitlines() for p in line.split(",") if p.strip()]
    files = [f for f in glob("\n".join(patterns), workspace(), include_hidden=True) if os.path.isfile(f)]
    if len(files) > MAX_SUBJECTS:
        raise ActionFailed(f"Too many subjects specified (>{MAX_SUBJECTS}). "
                           f"The maximum number of subjects is {MAX_SUBJECTS}.")  # fmt: skip
    subjects: list[dict] = []
    for file in files:
        sha = hashlib.sha256(Path(file).read_bytes()).hexdigest()  # streamed by the action
        subject = {"name": name or os.path.basename(file), "digest": {"sha256": sha}}
        if subject not in subjects:
            subjects.append(subject)
    if not subjects:
        raise ActionFailed(f"Could not find subject at path {path}")
    return subjects


def attestation_predicate(i: Inputs) -> tuple[str, dict]:
    """SBOM mode with sbom-path (sbom.ts: SPDX or CycloneDX JSON, at most 16 MB), else SLSA build
    provenance, whose claims GitHub's OIDC token carries: here taken from the run's environment."""
    sbom_path = i.get("sbom-path")
    if sbom_path:
        file = workspace() / sbom_path
        if not file.is_file():
            raise ActionFailed("SBOM file not found")
        if file.stat().st_size > MAX_SBOM_BYTES:
            raise ActionFailed(f"SBOM file exceeds maximum allowed size: {MAX_SBOM_BYTES} bytes")
        sbom = json.loads(file.read_text())
        if sbom.get("spdxVersion") and sbom.get("SPDXID"):
            return f"https://spdx.dev/Document/v{sbom['spdxVersion'].split('-')[1]}", sbom
        if sbom.get("bomFormat") and sbom.get("serialNumber") and sbom.get("specVersion"):
            return "https://cyclonedx.org/bom", sbom
        raise ActionFailed("Unsupported SBOM format. Must be valid SPDX or CycloneDX JSON.")
    server, repo = os.environ.get("GITHUB_SERVER_URL", "https://github.com"), os.environ["GITHUB_REPOSITORY"]
    workflow = running_job()[0]
    ref, sha = os.environ.get("GITHUB_REF", ""), os.environ.get("GITHUB_SHA", "")
    called = {"ref": ref, "repository": f"{server}/{repo}", "path": workflow}
    return "https://slsa.dev/provenance/v1", {
        "buildDefinition": {
            "buildType": "https://actions.github.io/buildtypes/workflow/v1",
            "externalParameters": {"workflow": called},
            "internalParameters": {"github": {"event_name": os.environ.get("GITHUB_EVENT_NAME", "")}},
            "resolvedDependencies": [{"uri": f"git+{server}/{repo}@{ref}", "digest": {"gitCommit": sha}}],
        },
        "runDetails": {
            "builder": {"id": f"{server}/{repo}/{workflow}@{ref}"},
            "metadata": {"invocationId": f"{server}/{repo}/actions/runs/{run_id()}/attempts/1"},
        },
    }


def bare_image_name(name: str) -> str:
    """artifacts.ts bareImageName: the reference without its digest, then without its tag."""
    ref = name.split("@")[0]
    slash, colon = ref.rfind("/"), ref.rfind(":")
    return ref[:colon] if colon > slash else ref


BEHAVIOURS = {
    "actions/attest": attest,
    "actions/cache/restore": cache_restore,
    "actions/cache/save": cache_save,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/create-github-app-token": create_github_app_token,
    "docker/build-push-action": build_push,
    "docker/login-action": docker_login,
    "marocchino/sticky-pull-request-comment": sticky_comment,
    "peter-evans/create-pull-request": create_pull_request,
}


def escape(message: str) -> str:
    """@actions/core's escaping of a workflow command's data."""
    return message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def main(action: str) -> int:
    os.environ["STUB_ACTION"] = action
    inputs = Inputs(action, json.loads(os.environ.get("STUB_INPUTS") or "{}"))
    behaviour = BEHAVIOURS.get(action)
    if behaviour is None:  # an action whose inputs are only recorded
        return 0
    try:
        behaviour(inputs)
    except ActionFailed as failure:
        print(f"::error::{escape(str(failure))}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
