"""`setup-github`: the repository settings the workflows need, made with the GitHub CLI (`gh`).

Each step reads the current setting first and changes only what is missing, so running it again
changes nothing and says `already set`; `--dry-run` does only the reads and says what it would do.
A step that fails says why and which settings page to use instead; the other steps still run.

1. The `drift` label (drift.yml labels its issue and its pull request with it).
2. Branch protection of `main` requiring the model review's check, `champion vs challenger`, on an
   up-to-date branch ("strict"). Existing protection keeps every other rule: the check is added to
   its required checks (each keeps the app it is pinned to), or, when it requires none yet, the
   protection is written back as it was read plus the check.
3. "Allow GitHub Actions to create and approve pull requests" (the retraining pull request);
   the default permissions of the workflow token stay as they are.
4. The `drift` environment (its secrets: DRIFT_DATABASE_URL, DRIFT_APP_PRIVATE_KEY) and, when
   `.github/workflows/deploy.yml` exists (the kubernetes option), `production` (KUBE_CONFIG):
   deployments from `main` only. Reviewers and wait timers already set are kept; an environment
   already limited to protected branches is left so.

GitHub REST API routes called, through `gh api` (R is OWNER/NAME):

- GET repos/R/labels/drift (404: no label); POST repos/R/labels; PATCH repos/R/labels/drift
  ({name, color, description});
- GET repos/R/branches/main/protection (404 "Branch not protected": none); PUT the same route
  (the whole protection: a new one, or an existing one without required checks, as read);
  PATCH repos/R/branches/main/protection/required_status_checks ({strict, checks});
- GET and PUT repos/R/actions/permissions/workflow ({default_workflow_permissions,
  can_approve_pull_request_reviews}; PUT answers 204);
- GET repos/R/environments/NAME (404: none); PUT the same route ({deployment_branch_policy,
  reviewers, wait_timer, prevent_self_review});
- GET and POST repos/R/environments/NAME/deployment-branch-policies ({name: main, type: branch});

and `gh repo view --json nameWithOwner` to find R when `--repo` is not given. Everything except
the label needs admin rights to the repository. Only the standard library is imported here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ProjectError

CHECK = "champion vs challenger"  # the model review job's name in train.yml
BRANCH = "main"
LABEL = {"name": "drift", "color": "d93f0b", "description": "The data drifted (drift.yml)"}
ONLY_SELECTED_BRANCHES = {"protected_branches": False, "custom_branch_policies": True}
PROTECTION_FLAGS = (  # booleans of a protection, read as {"enabled": bool}, written as bool
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
REVIEW_SETTINGS = (
    "dismiss_stale_reviews",
    "require_code_owner_reviews",
    "required_approving_review_count",
    "require_last_push_approval",
)
INSTALL_GH = (
    "the GitHub CLI `gh` is not installed (or not on PATH): install it (https://cli.github.com; "
    "e.g. `brew install gh`, `sudo apt install gh`, `winget install GitHub.cli`), "
    "run `gh auth login`, then run setup-github again"
)
GH_TIMEOUT = 120  # seconds for one API call


class SetupError(ProjectError):
    """Nothing can be set up: gh is missing, not logged in, or the repository is unknown."""


class GitHubError(Exception):
    """`gh` failed: an HTTP status (None when gh gave none) and what GitHub or gh said."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status, self.message = status, message

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status})" if self.status else self.message


class StepFailed(Exception):
    """A step cannot go on, for a reason its message says in full."""


# ---- gh -------------------------------------------------------------------------------------------
def gh(args: list[str], body: object = None) -> str:
    """Run `gh ARGS` (the JSON `body` on its standard input) and return its output."""
    try:
        done = subprocess.run(
            ["gh", *args],
            input="" if body is None else json.dumps(body),
            capture_output=True,
            text=True,
            timeout=GH_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise SetupError(INSTALL_GH) from None
    except subprocess.TimeoutExpired:
        raise GitHubError(None, f"`gh {' '.join(args[:2])}` gave no answer in {GH_TIMEOUT} s") from None
    if done.returncode == 4:  # gh's exit code for "not authenticated"
        raise SetupError(f"gh is not logged in: run `gh auth login` (or set GH_TOKEN). gh said: {said(done)}")
    if done.returncode != 0:
        error = github_error(done)
        if error.status == 401:
            raise SetupError(f"GitHub refused gh's token ({error}): run `gh auth login` again")
        raise error
    return done.stdout


def said(done: subprocess.CompletedProcess) -> str:
    """gh's error output on one line."""
    return " ".join(done.stderr.split()) or f"exit code {done.returncode}"


def github_error(done: subprocess.CompletedProcess) -> GitHubError:
    """The status and message of a failed `gh api`: it prints GitHub's JSON body on standard output
    and `gh: <message> (HTTP <status>)` (or `gh: HTTP <status>`) on standard error."""
    found = re.search(r"\bHTTP (\d{3})\b", done.stderr)
    status = int(found.group(1)) if found else None
    try:
        body = json.loads(done.stdout)
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        errors = body.get("errors") or []  # what failed validation: strings or objects
        errors = [errors] if isinstance(errors, str) else errors
        message = ": ".join([body["message"], *(detail(e) for e in errors)])
    else:
        message = re.sub(r"^gh:\s*|\s*\(?HTTP \d{3}\)?$", "", said(done)) or "no message"
    return GitHubError(status, " ".join(message.split()))


def detail(error: object) -> str:
    return error if isinstance(error, str) else error.get("message") or json.dumps(error)


def api(route: str, method: str = "GET", body: object = None) -> object:
    """One REST call; the parsed answer (None when GitHub answers 204 No Content)."""
    args = ["api", route]
    if method != "GET":
        args += ["--method", method]
    if body is not None:
        args += ["--input", "-"]
    text = gh(args, body)
    return json.loads(text) if text.strip() else None


def api_or_none(route: str) -> object:
    """GET `route`, or None when GitHub says 404 (it does not exist)."""
    try:
        return api(route)
    except GitHubError as error:
        if error.status == 404:
            return None
        raise


def require_gh() -> None:
    if shutil.which("gh") is None:
        raise SetupError(INSTALL_GH)


def find_repo(repo: str | None) -> str:
    """OWNER/NAME: `repo` as given, else the one gh finds from this folder's git remote."""
    if repo is None:
        try:
            repo = gh(["repo", "view", "--json", "nameWithOwner", "--jq", ".nameWithOwner"]).strip()
        except GitHubError as error:
            raise SetupError(
                f"could not tell which GitHub repository this is (gh said: {error}): "
                "pass --repo OWNER/NAME, or run it in a clone whose remote is on GitHub"
            ) from None
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise SetupError(f"--repo must be OWNER/NAME, e.g. octo-org/churn-model, not {repo!r}")
    return repo


# ---- 1. the drift label ---------------------------------------------------------------------------
def ensure_label(repo: str, dry_run: bool) -> str:
    label = api_or_none(f"repos/{repo}/labels/{LABEL['name']}")
    if label is None:
        if not dry_run:
            api(f"repos/{repo}/labels", "POST", LABEL)
        return "would create" if dry_run else "created"
    changes = []
    if label["color"].lower() != LABEL["color"]:
        changes.append(f"color {label['color']} → {LABEL['color']}")
    if (label.get("description") or "") != LABEL["description"]:
        changes.append(f"description {LABEL['description']!r}")
    if not changes:
        return "already set"
    if not dry_run:
        update = {"color": LABEL["color"], "description": LABEL["description"]}
        api(f"repos/{repo}/labels/{LABEL['name']}", "PATCH", update)
    return updated(changes, dry_run)


def updated(changes: list[str], dry_run: bool) -> str:
    return ("would update: " if dry_run else "updated: ") + "; ".join(changes)


# ---- 2. branch protection of main -----------------------------------------------------------------
def ensure_branch_protection(repo: str, dry_run: bool) -> str:
    route = f"repos/{repo}/branches/{BRANCH}/protection"
    current = read_protection(route)
    wanted = f'requires "{CHECK}" on an up-to-date branch'
    if current is None:
        if not dry_run:
            api(route, "PUT", minimal_protection())
        return f"would create ({wanted})" if dry_run else f"created ({wanted})"
    checks = current.get("required_status_checks")
    if checks is None:  # protected, but with no required checks: PATCH would 404, so PUT it all back
        if not dry_run:
            api(route, "PUT", protection_body(current, required_checks_block()))
        return updated([f"now {wanted}; its other rules kept"], dry_run)
    patch, changes = status_checks_patch(checks)
    if not patch:
        return "already set"
    if not dry_run:
        api(f"{route}/required_status_checks", "PATCH", patch)
    return updated(changes, dry_run)


def read_protection(route: str) -> dict | None:
    """The branch's protection, or None when it has none (404 "Branch not protected")."""
    try:
        return api(route)
    except GitHubError as error:
        if error.status == 404 and "not protected" in error.message.lower():
            return None
        if error.status == 404 and "branch not found" in error.message.lower():
            raise StepFailed(
                f"`{BRANCH}` is not on GitHub yet ({error}): push it, then run setup-github again"
            ) from None
        raise


def required_checks_block() -> dict:
    return {"strict": True, "contexts": [CHECK]}


def minimal_protection() -> dict:
    """Protection that requires the check and nothing else (all four keys are required by the API)."""
    return {
        "required_status_checks": required_checks_block(),
        "enforce_admins": False,
        "required_pull_request_reviews": None,
        "restrictions": None,
    }


def status_checks_patch(checks: dict) -> tuple[dict, list[str]]:
    """The PATCH body adding the check and strictness to existing required checks, and what it changes."""
    patch, changes = {}, []
    if CHECK not in check_names(checks):
        patch["checks"] = [*pinned_checks(checks), {"context": CHECK}]
        changes.append(f'required check "{CHECK}" added')
    if not checks.get("strict"):
        patch["strict"] = True
        changes.append("branches must be up to date before merging")
    return patch, changes


def check_names(checks: dict) -> set[str]:
    return {c["context"] for c in checks.get("checks") or []} | set(checks.get("contexts") or [])


def pinned_checks(checks: dict) -> list[dict]:
    """The existing checks as the API takes them, each still pinned to its app (-1: any app)."""
    if checks.get("checks") is None:
        return [{"context": name, "app_id": -1} for name in checks.get("contexts") or []]
    return [
        {"context": c["context"], "app_id": -1 if c.get("app_id") is None else c["app_id"]}
        for c in checks["checks"]
    ]


def protection_body(current: dict, status_checks: dict) -> dict:
    """A PUT body that writes `current` (a GET answer) back as it is, with `status_checks` required."""
    body = {
        "required_status_checks": status_checks,
        "enforce_admins": bool((current.get("enforce_admins") or {}).get("enabled")),
        "required_pull_request_reviews": reviews_body(current.get("required_pull_request_reviews")),
        "restrictions": actors(current["restrictions"]) if current.get("restrictions") else None,
    }
    for flag in PROTECTION_FLAGS:
        if flag in current:
            body[flag] = bool(current[flag].get("enabled"))
    return body


def reviews_body(reviews: dict | None) -> dict | None:
    if reviews is None:
        return None
    body = {key: reviews[key] for key in REVIEW_SETTINGS if key in reviews}
    for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
        if reviews.get(key):
            body[key] = actors(reviews[key])
    return body


def actors(read: dict) -> dict:
    """Users, teams and apps as the API writes them (logins and slugs), from how it reads them."""
    return {
        "users": [u["login"] for u in read.get("users") or []],
        "teams": [t["slug"] for t in read.get("teams") or []],
        "apps": [a["slug"] for a in read.get("apps") or []],
    }


# ---- 3. Actions may create and approve pull requests ----------------------------------------------
def ensure_actions_can_open_prs(repo: str, dry_run: bool) -> str:
    route = f"repos/{repo}/actions/permissions/workflow"
    current = api(route)
    if current["can_approve_pull_request_reviews"]:
        return "already set"
    kept = current["default_workflow_permissions"]  # what GITHUB_TOKEN may do by default: unchanged
    if not dry_run:
        api(route, "PUT", {"default_workflow_permissions": kept, "can_approve_pull_request_reviews": True})
    return updated([f"allowed (the workflow token's default permissions stay {kept!r})"], dry_run)


# ---- 4. environments, deployments from main only --------------------------------------------------
def ensure_environment(repo: str, name: str, dry_run: bool) -> str:
    route = f"repos/{repo}/environments/{name}"
    current = api_or_none(route)
    if current is None:
        if dry_run:
            return f"would create (deployments from {BRANCH} only)"
        api(route, "PUT", {"deployment_branch_policy": ONLY_SELECTED_BRANCHES})
        add_branch_policy(route, [])
        return f"created (deployments from {BRANCH} only)"
    policy = current.get("deployment_branch_policy")
    if policy and policy.get("protected_branches"):
        return "already set (deployments from protected branches only; left so)"
    changes = []
    if not (policy and policy.get("custom_branch_policies")):
        changes.append("deployments from selected branches only (were: all branches)")
        if not dry_run:
            api(route, "PUT", environment_body(current))
    policies = [] if dry_run and changes else list_branch_policies(route)
    if not any(p["name"] == BRANCH and p.get("type", "branch") == "branch" for p in policies):
        changes.append(f"branch {BRANCH} allowed to deploy")
        if not dry_run:
            add_branch_policy(route, policies)
    return updated(changes, dry_run) if changes else "already set"


def environment_body(current: dict) -> dict:
    """A PUT body limiting deployments to selected branches that keeps the reviewers and wait timer."""
    body: dict = {"deployment_branch_policy": ONLY_SELECTED_BRANCHES}
    for rule in current.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            body["wait_timer"] = rule["wait_timer"]
        elif rule.get("type") == "required_reviewers":
            body["reviewers"] = [{"type": r["type"], "id": r["reviewer"]["id"]} for r in rule["reviewers"]]
            if "prevent_self_review" in rule:
                body["prevent_self_review"] = rule["prevent_self_review"]
    return body


def list_branch_policies(route: str) -> list[dict]:
    return api(f"{route}/deployment-branch-policies?per_page=100")["branch_policies"]


def add_branch_policy(route: str, policies: list[dict]) -> None:
    if not any(p["name"] == BRANCH for p in policies):
        api(f"{route}/deployment-branch-policies", "POST", {"name": BRANCH, "type": "branch"})


# ---- the steps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One setting: what it is, how to make it, and where to set it by hand (a page of the repository)."""

    name: str
    ensure: Callable[[str, bool], str]  # (repo, dry_run) -> the outcome
    page: str  # under https://github.com/OWNER/NAME/
    by_hand: str
    rights: str = "repository admin rights are needed"


def steps(root: Path) -> list[Step]:
    """The steps for the project at `root` (production only with deploy.yml, the kubernetes option)."""
    environments = ["drift"]
    if (root / ".github" / "workflows" / "deploy.yml").is_file():
        environments.append("production")
    return [
        Step(
            f'label "{LABEL["name"]}"',
            ensure_label,
            "labels",
            f"New label `{LABEL['name']}`, color #{LABEL['color']}",
            rights="write access to the repository is needed",
        ),
        Step(
            f"branch protection of {BRANCH}",
            ensure_branch_protection,
            "settings/branches",
            f"a rule for `{BRANCH}`: 'Require status checks to pass before merging' with "
            f"'{CHECK}', and 'Require branches to be up to date before merging'",
        ),
        Step(
            "Actions may create and approve pull requests",
            ensure_actions_can_open_prs,
            "settings/actions",
            "Workflow permissions → 'Allow GitHub Actions to create and approve pull requests' "
            "(in an organization, its owners may have to allow it first in the organization's settings)",
        ),
        *(
            Step(
                f'environment "{name}"',
                lambda repo, dry_run, name=name: ensure_environment(repo, name, dry_run),
                "settings/environments",
                f"New environment `{name}`, 'Deployment branches and tags' → 'Selected branches and "
                f"tags' → add the branch `{BRANCH}`",
            )
            for name in environments
        ),
    ]


def outcome(step: Step, repo: str, dry_run: bool) -> tuple[str, bool]:
    """The step's one-line outcome and whether it failed."""
    try:
        return step.ensure(repo, dry_run), False
    except StepFailed as failure:
        return f"failed: {failure}", True
    except GitHubError as error:
        why = str(error)
        if error.status == 403:
            why += f": {step.rights}"
        elif error.status == 404:  # what a token may not see, GitHub says is not there
            why += f": {step.rights} (GitHub says Not Found to those without them)"
        return f"failed: {why}; set it by hand at https://github.com/{repo}/{step.page}: {step.by_hand}", True


def project_root(start: Path) -> Path:
    """The nearest folder from `start` up that has .github/workflows (else `start`)."""
    start = start.resolve()
    return next((p for p in (start, *start.parents) if (p / ".github" / "workflows").is_dir()), start)


def setup(repo: str | None, dry_run: bool, root: Path, echo: Callable[[str], None]) -> int:
    """Run every step, echoing one line per step; the exit code: 1 when any step failed."""
    require_gh()
    repo = find_repo(repo)
    echo(f"GitHub setup of {repo}" + (" (dry run: nothing is changed)" if dry_run else ""))
    failed = 0
    for step in steps(root):
        line, step_failed = outcome(step, repo, dry_run)
        failed += step_failed
        echo(f"{step.name}: {line}")
    if failed:
        echo(f"{failed} step(s) failed: see above.")
    echo("What this command cannot do: see README.md, 'After your first push'.")
    return 1 if failed else 0
