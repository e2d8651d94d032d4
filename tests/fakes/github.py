"""A fake GitHub repository in a folder, shared by the fake `gh`, the action stubs and the tests.

    state.json              labels, issues and pull requests (ONE number sequence, as on GitHub),
                            their comments, workflow runs, commit statuses, releases, API routes a
                            test preloaded
    remote.git              the repository's git remote: branches the create-pull-request stub pushed
    artifacts/<run>/<name>  files the upload-artifact stub stored for workflow run <run>
    releases/<tag>/         assets of `gh release create`
    calls.jsonl             every `gh` call: its arguments and exit code

Tests build one with FakeGitHub(folder, repo=...), preload it (add_label, add_pull, add_run,
add_route), pass it to harness.act.act(github=...) and read it back (issues, pulls, comments,
releases, runs, statuses, gh_calls, artifact). Inside a run the fakes find it through $FAKE_GITHUB.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

# The labels GitHub gives every new repository.
DEFAULT_LABELS = [
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
]
DEFAULT_REPO = "octo-org/octo-repo"
GITHUB_URL = re.compile(
    r"^(?:https?://(?:.+@)?github\.com/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$", re.I
)


def repo_from_url(url: str) -> str | None:
    """owner/name of a github.com remote URL (https or ssh), else None."""
    match = GITHUB_URL.match(url.strip())
    return match.group(1) if match else None


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class FakeGitHub:
    """One fake repository; every change goes through transaction(), so parallel jobs can share it."""

    def __init__(self, root: Path | str, repo: str | None = None):
        self.root = Path(root)
        if repo is not None:
            with self.transaction(repo) as state:
                if state["repo"].lower() != repo.lower():
                    raise ValueError(f"{self.root} already holds {state['repo']}, not {repo}")

    @classmethod
    def from_env(cls) -> FakeGitHub:
        """The fake the current workflow run uses ($FAKE_GITHUB, set by harness.act.act())."""
        root = os.environ.get("FAKE_GITHUB")
        if not root:
            raise SystemExit("FAKE_GITHUB is not set: run under harness.act.act(), or set it to a folder")
        return cls(root)

    # ---- storage -------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def remote(self) -> Path:
        """The bare repository that plays the GitHub remote (created on first use)."""
        path = self.root / "remote.git"
        if not (path / "HEAD").exists():
            subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
        return path

    @contextmanager
    def transaction(self, repo: str | None = None):
        """The state, locked against other fakes, written back when the block ends without error."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._load(repo)
            yield state
            temporary = self.state_file.with_suffix(".tmp")
            temporary.write_text(json.dumps(state, indent=1))
            temporary.replace(self.state_file)

    def _load(self, repo: str | None) -> dict:
        if self.state_file.exists():
            return json.loads(self.state_file.read_text())
        repo = repo or os.environ.get("GITHUB_REPOSITORY") or DEFAULT_REPO
        labels = [{"name": n, "color": c, "description": d} for n, c, d in DEFAULT_LABELS]
        return {
            "repo": repo,
            "default_branch": "main",
            "next_number": 1,
            "next_id": 1001,
            "labels": labels,
            "issues": [],
            "pulls": [],
            "runs": [],
            "statuses": [],
            "releases": [],
            "routes": {},
        }

    def state(self) -> dict:
        with self.transaction() as state:
            return state

    @property
    def repo(self) -> str:
        return self.state()["repo"]

    # ---- preloading ----------------------------------------------------------------------
    def add_label(self, name: str, color: str = "ededed", description: str = "") -> None:
        with self.transaction() as state:
            ensure_label(state, name, color, description)

    def add_pull(
        self,
        head_sha: str,
        head_ref: str = "feature",
        base_ref: str = "main",
        base_sha: str = "",
        number: int | None = None,
        head_repo: str | None = None,
        title: str = "A pull request",
        state: str = "open",
        merge_commit_sha: str | None = None,
    ) -> int:
        """A pull request as GitHub has it; head_repo is the fork it comes from (default: this repo)."""
        with self.transaction() as data:
            number = add_pull(
                data,
                number=number,
                title=title,
                body="",
                head={"ref": head_ref, "sha": head_sha, "repo": head_repo or data["repo"]},
                base={"ref": base_ref, "sha": base_sha},
            )
            pull = find_pull(data, number)
            pull.update(
                state="closed" if state == "merged" else state,
                merged=state == "merged",
                merge_commit_sha=merge_commit_sha,
            )
            return number

    def add_issue(self, title: str, body: str = "", labels: tuple[str, ...] = (), state: str = "open") -> int:
        with self.transaction() as data:
            number = take_number(data)
            data["issues"].append(
                {
                    "number": number,
                    "title": title,
                    "body": body,
                    "state": state,
                    "labels": list(labels),
                    "comments": [],
                    "createdAt": now(),
                }
            )
            return number

    def add_run(
        self,
        workflow: str,
        head_sha: str,
        event: str = "pull_request",
        head_branch: str = "",
        status: str = "completed",
        conclusion: str = "success",
        run_id: int | None = None,
        name: str = "",
        actor: str = "octocat",
        head_repo: str | None = None,
    ) -> int:
        """A workflow run; `workflow` is its file name under .github/workflows/; `actor` triggered it,
        `head_repo` is where its head branch lives (a fork's, for a fork's pull request)."""
        with self.transaction() as data:
            run = (workflow, head_sha, event, head_branch, status, conclusion)
            return add_run(data, *run, run_id, name, actor, head_repo)

    def add_route(self, route: str, body, status: int = 200, method: str = "GET") -> None:
        """An answer for `gh api <route>` (route as gh gets it, e.g. repos/o/r/issues/3/comments)."""
        with self.transaction() as data:
            data["routes"][f"{method.upper()} {route.strip('/')}"] = {"status": status, "body": body}

    def attach(self, project: Path) -> str:
        """Give `project` the `origin` actions/checkout leaves (https://github.com/<repo>.git) if it has
        none; an origin naming another repository is refused. Returns the repository."""
        url = _git(project, "config", "--get", "remote.origin.url")
        with self.transaction(repo_from_url(url) if url else None) as state:
            repo = state["repo"]
        if not url:
            _git(project, "remote", "add", "origin", f"https://github.com/{repo}.git")
        elif (repo_from_url(url) or "").lower() != repo.lower():
            raise ValueError(f"{project} has origin {url}, but this fake GitHub holds {repo}")
        return repo

    def start_run(
        self,
        workflow: str,
        name: str,
        event: str,
        payload: dict,
        head_sha: str,
        head_branch: str,
        run_id: int | None = None,
    ) -> int:
        """A workflow run in progress; a pull_request event's pull request exists from then on."""
        with self.transaction() as state:
            pr = payload.get("pull_request")
            if event.startswith("pull_request") and pr and pr.get("number"):
                head = {
                    "ref": pr.get("head", {}).get("ref") or head_branch,
                    "sha": head_sha,
                    "repo": (pr.get("head", {}).get("repo") or {}).get("full_name") or state["repo"],
                }
                base = {
                    "ref": pr.get("base", {}).get("ref", "main"),
                    "sha": pr.get("base", {}).get("sha", ""),
                }
                pull = find_pull(state, pr["number"])
                if pull is None:
                    add_pull(
                        state,
                        pr["number"],
                        pr.get("title", "A pull request"),
                        pr.get("body") or "",
                        head,
                        base,
                    )
                else:
                    pull["head"]["sha"] = head_sha
            head_repo = (((pr or {}).get("head") or {}).get("repo") or {}).get("full_name")
            actor = (payload.get("sender") or {}).get("login", "octocat")
            run = (workflow, head_sha, event, head_branch, "in_progress", "")
            return add_run(state, *run, run_id, name, actor, head_repo)

    def finish_run(self, run_id: int, conclusion: str) -> None:
        with self.transaction() as data:
            for run in data["runs"]:
                if run["databaseId"] == run_id:
                    run.update(status="completed", conclusion=conclusion, updatedAt=now())

    # ---- reading back --------------------------------------------------------------------
    def labels(self) -> list[str]:
        return [label["name"] for label in self.state()["labels"]]

    def issues(self) -> list[dict]:
        return self.state()["issues"]

    def pulls(self) -> list[dict]:
        return self.state()["pulls"]

    def pull(self, number: int) -> dict:
        (pull,) = [p for p in self.pulls() if p["number"] == number]
        return pull

    def comments(self, number: int) -> list[dict]:
        """Comments on issue or pull request `number` (they share one numbering)."""
        state = self.state()
        for item in state["issues"] + state["pulls"]:
            if item["number"] == number:
                return item["comments"]
        raise KeyError(f"no issue or pull request #{number}")

    def runs(self) -> list[dict]:
        return self.state()["runs"]

    def releases(self) -> list[dict]:
        return self.state()["releases"]

    def statuses(self, sha: str) -> list[dict]:
        """The commit statuses of `sha`, newest first, as GET repos/R/commits/<sha>/statuses lists them
        (the PR's merge box shows the newest of each context)."""
        found = [s for s in self.state().get("statuses", []) if s["sha"] == sha.lower()]
        return sorted(found, key=lambda s: s["id"], reverse=True)

    def release_asset(self, tag: str, name: str) -> Path:
        return self.root / "releases" / tag / name

    def gh_calls(self) -> list[list[str]]:
        """Arguments of every `gh` call, in order."""
        log = self.root / "calls.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line)["args"] for line in lines]

    def artifact(self, name: str, run_id: int | None = None) -> Path:
        """The folder of artifact `name` of run `run_id` (default: the newest upload of that name)."""
        runs = self.root / "artifacts"
        found = sorted(runs.glob(f"*/{name}"), key=lambda p: int(p.parent.name))
        if run_id is not None:
            found = [p for p in found if p.parent.name == str(run_id)]
        if not found:
            raise FileNotFoundError(f"no artifact {name!r}" + (f" in run {run_id}" if run_id else ""))
        return found[-1]

    def branch_sha(self, branch: str) -> str | None:
        """Where `branch` points on the fake remote, or None."""
        done = subprocess.run(
            ["git", "-C", str(self.remote), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
        )
        return done.stdout.strip() or None

    def pull_diff(self, number: int) -> str:
        """The pull request's diff as GitHub shows it (merge base of base and head, to head)."""
        pull = self.pull(number)
        done = subprocess.run(
            ["git", "-C", str(self.remote), "diff", f"{pull['base']['sha']}...{pull['head']['sha']}"],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout


# ---- state helpers the fakes share (all take the state dict of a transaction) ----------------
def take_number(state: dict) -> int:
    """Issues and pull requests draw from ONE sequence, as on GitHub."""
    number = state["next_number"]
    state["next_number"] += 1
    return number


def take_id(state: dict) -> int:
    state["next_id"] += 1
    return state["next_id"]


def find_label(state: dict, name: str) -> dict | None:
    """Label names compare case-insensitively on GitHub."""
    return next((label for label in state["labels"] if label["name"].lower() == name.lower()), None)


def ensure_label(state: dict, name: str, color: str = "ededed", description: str = "") -> dict:
    label = find_label(state, name)
    if label is None:
        label = {"name": name, "color": color, "description": description}
        state["labels"].append(label)
    return label


def add_pull(state: dict, number: int | None, title: str, body: str, head: dict, base: dict) -> int:
    """An open pull request; `number` None takes the next number."""
    number = number or take_number(state)
    state["next_number"] = max(state["next_number"], number + 1)
    state["pulls"].append(
        {
            "number": number,
            "title": title,
            "body": body,
            "state": "open",
            "merged": False,
            "head": head,
            "base": base,
            "labels": [],
            "comments": [],
            "files": [],
            "merge_commit_sha": None,
            "createdAt": now(),
        }
    )
    return number


def find_pull(state: dict, number: int) -> dict | None:
    return next((p for p in state["pulls"] if p["number"] == number), None)


def add_run(
    state: dict,
    workflow: str,
    head_sha: str,
    event: str,
    head_branch: str,
    status: str,
    conclusion: str,
    run_id: int | None = None,
    name: str = "",
    actor: str = "octocat",
    head_repo: str | None = None,
) -> int:
    if run_id and any(run["databaseId"] == run_id for run in state["runs"]):
        raise ValueError(f"there is already a workflow run {run_id}")
    run_id = run_id or take_id(state)
    state["next_id"] = max(state["next_id"], run_id)
    state["runs"].append(
        {
            "databaseId": run_id,
            "workflow": workflow,
            "workflowName": name or workflow,
            "event": event,
            "headSha": head_sha,
            "headBranch": head_branch,
            "status": status,
            "conclusion": conclusion if status == "completed" else "",
            "number": len(state["runs"]) + 1,
            "actor": actor,
            "headRepository": head_repo or state["repo"],
            "createdAt": now(),
            "updatedAt": now(),
        }
    )
    return run_id


def pull_json(state: dict, pull: dict) -> dict:
    """A pull request as the REST API returns it (the fields the fakes know)."""
    url = f"https://github.com/{state['repo']}/pull/{pull['number']}"
    head, base = pull["head"], pull["base"]
    return {
        "number": pull["number"],
        "state": pull["state"],
        "title": pull["title"],
        "body": pull["body"],
        "html_url": url,
        "merged": pull["merged"],
        "merged_at": now() if pull["merged"] else None,
        "merge_commit_sha": pull.get("merge_commit_sha"),
        "labels": [{"name": name} for name in pull["labels"]],
        "head": {
            "ref": head["ref"],
            "sha": head["sha"],
            "label": f"{head['repo'].split('/')[0]}:{head['ref']}",
            "repo": {"full_name": head["repo"]},
        },
        "base": {"ref": base["ref"], "sha": base["sha"], "repo": {"full_name": state["repo"]}},
    }


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    return done.stdout.strip()


def run_json(state: dict, run: dict) -> dict:
    """A workflow run as the REST API returns it (GET actions/workflows/<file>/runs). `pull_requests`
    lists only open pull requests of this repository whose head is the run's: GitHub empties it once a
    pull request is closed or merged, and never fills it for forks (github/docs#22501)."""
    head_repo = run.get("headRepository", state["repo"])
    pulls = [
        {"number": p["number"], "head": {"ref": p["head"]["ref"], "sha": p["head"]["sha"]},
         "base": {"ref": p["base"]["ref"], "sha": p["base"]["sha"]}}
        for p in state["pulls"]
        if p["state"] == "open" and p["head"]["repo"] == state["repo"] == head_repo
        and (p["head"]["sha"], p["head"]["ref"]) == (run["headSha"], run["headBranch"])
    ]  # fmt: skip
    return {
        "id": run["databaseId"],
        "name": run["workflowName"],
        "path": f".github/workflows/{run['workflow']}",
        "event": run["event"],
        "status": run["status"],
        "conclusion": run["conclusion"] or None,
        "head_sha": run["headSha"],
        "head_branch": run["headBranch"],
        "run_number": run["number"],
        "created_at": run["createdAt"],
        "actor": {"login": run.get("actor", "octocat")},
        "triggering_actor": {"login": run.get("actor", "octocat")},
        "head_repository": {"full_name": head_repo},
        "pull_requests": pulls,
    }
