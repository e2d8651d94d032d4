"""What the stubbed third-party actions do, replayed from their sources (tests/fakes/README.md).

act_runner's stub composite actions run `python3 stubs.py <owner/repo>` with the step's inputs as
JSON in $STUB_INPUTS and act's environment (GITHUB_OUTPUT, GITHUB_RUN_ID, GITHUB_SHA,
GITHUB_EVENT_PATH, GITHUB_REPOSITORY, GITHUB_WORKSPACE) plus $FAKE_GITHUB, the fake GitHub they
act on. A failure prints `::error::<message>` and exits 1, as @actions/core's setFailed does. An
input a stub does not replay fails the step instead of being ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
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


BEHAVIOURS = {
    "actions/cache/restore": cache_restore,
    "actions/cache/save": cache_save,
    "actions/upload-artifact": upload_artifact,
    "actions/download-artifact": download_artifact,
    "actions/create-github-app-token": create_github_app_token,
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
