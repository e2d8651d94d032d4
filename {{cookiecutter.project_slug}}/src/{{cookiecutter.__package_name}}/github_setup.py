"""`setup-github`: the repository settings the workflows need, made with the GitHub CLI (`gh`).

Each step reads the current setting first and changes only what is missing, so running it again
changes nothing and says `already set`; `--dry-run` does only the reads and says what it would set
and what it keeps. A step that fails says why and which settings page to use instead; the other
steps still run. Nothing is ever loosened: an existing rule stricter than ours is kept as it is.

1. The `drift` label (drift.yml labels its issue and its pull request with it).
2. Branch protection of `main`. A new one requires the model review's check, `champion vs
   challenger`, from the GitHub Actions app only (a status another app or a personal token posts
   under the same name does not count; the workflow token's does, which train.yml posts for the
   drift job's dispatched review), on an up-to-date branch ("strict"); one approving review of the
   most recent push (its pusher cannot approve it); and it holds for admins too ("enforce_admins"):
   release.yml ships what reaches `main`, so an admin's unreviewed push should not get there
   either (a lone maintainer can untick "Do not allow bypassing the above settings" on purpose).
   An existing protection gains what it lacks of these (the check, pinned when it was not;
   strictness; one approval; the last push approved) and keeps the rest: more approvals, other
   checks each pinned as it was, its admin setting (reported when admins may bypass).
3. "Allow GitHub Actions to create and approve pull requests", only when drift.yml has no GitHub
   App (the variable DRIFT_APP_CLIENT_ID, of the repository or of the `drift` environment; an
   organization's variable is not looked at): without one, the workflow token opens the retraining
   pull request, which needs it. It also lets any workflow that may write pull requests approve
   one, an approval that counts toward the required reviews: the line says so. With an app it is
   left off (left on, with a warning, when someone turned it on). The default permissions of the
   workflow token stay as they are.
4. The `drift` environment (its secrets: DVC_REMOTE_WRITE_CONFIG, DRIFT_DATABASE_URL,
   DRIFT_APP_PRIVATE_KEY) and, when `.github/workflows/deploy.yml` exists (the kubernetes option),
   `production` (KUBE_CONFIG): deployments from `main` only. Reviewers and wait timers already set
   are kept; an environment already limited to protected branches is left so. `production` gets
   the required reviewers given with `--reviewer LOGIN` or `--reviewer ORG/TEAM` (added to those it
   has); one without any reviewer fails the step, naming the page to add them: every merge to
   `main` would otherwise deploy with no one approving.
5. The drift job's secrets are environment secrets: the step fails when one of them is a
   repository secret (any workflow of any branch can read those), saying how to move it. It never
   reads or writes a secret's value; the last lines say where each secret goes (`gh secret set`).

GitHub REST API routes called, through `gh api` (R is OWNER/NAME):

- GET repos/R/labels/drift (404: no label); POST repos/R/labels; PATCH repos/R/labels/drift
  ({name, color, description});
- GET repos/R/branches/main/protection (404 "Branch not protected": none); PUT the same route
  (the whole protection: a new one, or an existing one lacking required checks or reviews, as
  read plus ours); PATCH repos/R/branches/main/protection/required_status_checks ({strict,
  checks}); PATCH repos/R/branches/main/protection/required_pull_request_reviews
  ({required_approving_review_count, require_last_push_approval});
- GET repos/R/actions/variables/DRIFT_APP_CLIENT_ID and
  repos/R/environments/drift/variables/DRIFT_APP_CLIENT_ID (404: not set);
- GET and PUT repos/R/actions/permissions/workflow ({default_workflow_permissions,
  can_approve_pull_request_reviews}; PUT answers 204);
- GET repos/R/environments/NAME (404: none); PUT the same route ({deployment_branch_policy,
  reviewers, wait_timer, prevent_self_review}); GET users/LOGIN and orgs/ORG/teams/TEAM (the
  reviewers' ids);
- GET and POST repos/R/environments/NAME/deployment-branch-policies ({name: main, type: branch});
- GET repos/R/actions/secrets and repos/R/environments/drift/secrets (names only);

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
from typing import Any

from .errors import ProjectError

CHECK = "champion vs challenger"  # the model review job's name in train.yml
# The GitHub Actions app's id on github.com: the check must come from it. The REST API's
# `checks: [{context, app_id}]` pins a required check to one app; -1 means any app, and leaving
# app_id out means whichever app set it last, or any app when none has yet (a new repository).
# https://docs.github.com/en/rest/branches/branch-protection#update-branch-protection
ACTIONS_APP_ID = 15368
OUR_CHECK = {"context": CHECK, "app_id": ACTIONS_APP_ID}
MIN_REVIEWS = {"required_approving_review_count": 1, "require_last_push_approval": True}
BRANCH = "main"
APP_VARIABLE = "DRIFT_APP_CLIENT_ID"  # drift.yml: its GitHub App opens the retraining PR when set
DRIFT_SECRETS = ("DVC_REMOTE_WRITE_CONFIG", "DRIFT_DATABASE_URL", "DRIFT_APP_PRIVATE_KEY")
SECRETS = (  # where each secret goes (None: the repository), and when it is needed
    ("DVC_REMOTE_CONFIG", None, "with DVC: a read-only key; every workflow fetches the data with it"),
    ("DVC_REMOTE_WRITE_CONFIG", "drift", "with DVC: the write key; only drift.yml's retrain-data step"),
    ("DRIFT_DATABASE_URL", "drift", "when drift.source.kind is sql"),
    (
        "DRIFT_APP_PRIVATE_KEY",
        "drift",
        f"with a GitHub App (README), and `gh variable set {APP_VARIABLE} --env drift`",
    ),
    ("KUBE_CONFIG", "production", "the cluster's kubeconfig (deploy.yml)"),
)
REVIEWER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*)(?:/[A-Za-z0-9._-]+)?")  # LOGIN or ORG/TEAM
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


def detail(error: Any) -> str:
    return error if isinstance(error, str) else error.get("message") or json.dumps(error)


def api(route: str, method: str = "GET", body: object = None) -> Any:  # GitHub's JSON: read leniently
    """One REST call; the parsed answer (None when GitHub answers 204 No Content)."""
    args = ["api", route]
    if method != "GET":
        args += ["--method", method]
    if body is not None:
        args += ["--input", "-"]
    text = gh(args, body)
    return json.loads(text) if text.strip() else None


def api_or_none(route: str) -> Any:
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
NEW_RULES = (
    f'requires "{CHECK}" from GitHub Actions (app {ACTIONS_APP_ID}) on an up-to-date branch and '
    "1 approving review of the most recent push, for admins too"
)


def ensure_branch_protection(repo: str, dry_run: bool) -> str:
    route = f"repos/{repo}/branches/{BRANCH}/protection"
    current = read_protection(route)
    if current is None:
        if not dry_run:
            api(route, "PUT", new_protection())
        return f"would create ({NEW_RULES})" if dry_run else f"created ({NEW_RULES})"
    checks, check_changes = wanted_checks(current.get("required_status_checks"))
    reviews, review_changes = wanted_reviews(current.get("required_pull_request_reviews"))
    if not check_changes and not review_changes:
        return "already set"
    if not dry_run:
        write_protection(route, current, checks if check_changes else None, reviews or None)
    return updated(check_changes + review_changes, dry_run) + "; kept: " + ", ".join(kept_rules(current))


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


def new_protection() -> dict:
    """Our rules and nothing else (the API requires all four keys). Only `checks`, never `contexts`
    too: GitHub refuses a body with both (422, "More than one subschema in oneOf matched")."""
    return {
        "required_status_checks": {"strict": True, "checks": [OUR_CHECK]},
        "enforce_admins": True,
        "required_pull_request_reviews": dict(MIN_REVIEWS),
        "restrictions": None,
    }


def wanted_checks(checks: dict | None) -> tuple[dict, list[str]]:
    """The required checks with ours pinned to GitHub Actions and strict, and what that changes."""
    checks = checks or {}
    listed, changes = pinned_checks(checks), []
    ours = next((c for c in listed if c["context"] == CHECK), None)
    if ours is None:
        listed.append(dict(OUR_CHECK))
        changes.append(f'required check "{CHECK}" added, from GitHub Actions only (app {ACTIONS_APP_ID})')
    elif ours["app_id"] == -1:
        ours["app_id"] = ACTIONS_APP_ID
        changes.append(f'"{CHECK}" now from GitHub Actions only (app {ACTIONS_APP_ID}; was: any source)')
    if not checks.get("strict"):
        changes.append("branches must be up to date before merging")
    return {"strict": True, "checks": listed}, changes


def pinned_checks(checks: dict) -> list[dict]:
    """The existing checks as the API takes them, each still pinned to its app (-1: any app)."""
    if checks.get("checks") is None:
        return [{"context": name, "app_id": -1} for name in checks.get("contexts") or []]
    return [
        {"context": c["context"], "app_id": -1 if c.get("app_id") is None else c["app_id"]}
        for c in checks["checks"]
    ]


def wanted_reviews(reviews: dict | None) -> tuple[dict, list[str]]:
    """The review settings to PATCH so that at least ours hold (a higher count is kept), and what
    that changes."""
    count = (reviews or {}).get("required_approving_review_count", 0)
    patch, changes = {}, []
    if count < 1:
        patch["required_approving_review_count"] = 1
        changes.append("1 approving review required (was: " + ("none" if reviews is None else "0") + ")")
    if not (reviews or {}).get("require_last_push_approval"):
        patch["require_last_push_approval"] = True
        changes.append("the most recent push must be approved by someone other than its pusher")
    return patch, changes


def write_protection(route: str, current: dict, checks: dict | None, reviews: dict | None) -> None:
    """PATCH what changed; a protection without the block to PATCH (GitHub answers 404) is PUT back
    whole, as read plus ours."""
    missing = (checks and "required_status_checks" not in current) or (
        reviews and "required_pull_request_reviews" not in current
    )
    if missing:
        api(route, "PUT", protection_body(current, checks, reviews))
        return
    if checks:
        api(f"{route}/required_status_checks", "PATCH", checks)
    if reviews:
        api(f"{route}/required_pull_request_reviews", "PATCH", reviews)


def kept_rules(current: dict) -> list[str]:
    """What an update keeps of an existing protection, as the line names it."""
    kept = []
    count = (current.get("required_pull_request_reviews") or {}).get("required_approving_review_count", 0)
    if count > 1:
        kept.append(f"{count} approving reviews")
    others = [c for c in pinned_checks(current.get("required_status_checks") or {}) if c["context"] != CHECK]
    if others:
        kept.append("the checks " + ", ".join(f'"{c["context"]}"' for c in others) + " (each from its app)")
    if (current.get("enforce_admins") or {}).get("enabled"):
        kept.append("admins included")
    else:
        kept.append("admins may bypass these rules (enforce_admins off)")
    return [*kept, "its other rules"]


def protection_body(current: dict, checks: dict | None, reviews: dict | None) -> dict:
    """A PUT body that writes `current` (a GET answer) back as it is, with `checks` as its required
    checks and the `reviews` settings over its own (None: as they are)."""
    kept_reviews = reviews_body(current.get("required_pull_request_reviews"))
    body = {
        "required_status_checks": checks or unchanged_checks(current.get("required_status_checks")),
        "enforce_admins": bool((current.get("enforce_admins") or {}).get("enabled")),
        "required_pull_request_reviews": {**(kept_reviews or {}), **reviews} if reviews else kept_reviews,
        "restrictions": actors(current["restrictions"]) if current.get("restrictions") else None,
    }
    for flag in PROTECTION_FLAGS:
        if flag in current:
            body[flag] = bool(current[flag].get("enabled"))
    return body


def unchanged_checks(checks: dict | None) -> dict | None:
    return None if checks is None else {"strict": bool(checks.get("strict")), "checks": pinned_checks(checks)}


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
ALLOWS = (
    "any workflow whose token may write pull requests can also approve one, an approval that counts "
    "toward the required reviews"
)


def ensure_actions_can_open_prs(repo: str, dry_run: bool) -> str:
    route = f"repos/{repo}/actions/permissions/workflow"
    current = api(route)
    app = drift_app(repo)
    if app and current["can_approve_pull_request_reviews"]:
        return (
            f"left on, though not needed: {app} names the GitHub App that opens the retraining pull "
            f"request. Turn it off at https://github.com/{repo}/settings/actions: while on, {ALLOWS}"
        )
    if app:
        return f"left off: not needed, {app} names the GitHub App that opens the retraining pull request"
    if current["can_approve_pull_request_reviews"]:
        return "already set"
    kept = current["default_workflow_permissions"]  # what GITHUB_TOKEN may do by default: unchanged
    if not dry_run:
        api(route, "PUT", {"default_workflow_permissions": kept, "can_approve_pull_request_reviews": True})
    return updated(
        [
            f"allowed, because no GitHub App is set ({APP_VARIABLE}): the workflow token opens the "
            f"retraining pull request. The cost: {ALLOWS}; a GitHub App (README) needs none of this. "
            f"The workflow token's default permissions stay {kept!r}"
        ],
        dry_run,
    )


def drift_app(repo: str) -> str | None:
    """Where drift.yml's app is configured ("the repository variable ..."), or None."""
    places = {
        f"the repository variable {APP_VARIABLE}": f"repos/{repo}/actions/variables/{APP_VARIABLE}",
        f"the drift environment's variable {APP_VARIABLE}": (
            f"repos/{repo}/environments/drift/variables/{APP_VARIABLE}"
        ),
    }
    return next((where for where, route in places.items() if (api_or_none(route) or {}).get("value")), None)


# ---- 4. environments, deployments from main only --------------------------------------------------
def ensure_environment(repo: str, name: str, dry_run: bool, reviewers: list[dict] | None = None) -> str:
    """`reviewers`: those to require (added to any it has); None for an environment without them."""
    route = f"repos/{repo}/environments/{name}"
    current = api_or_none(route)
    if current is None:
        line = create_environment(route, dry_run, reviewers or [])
    else:
        line = update_environment(route, current, dry_run, reviewers or [])
    if reviewers == [] and not reviewers_of(current):
        raise StepFailed(
            "no required reviewers, so every merge to main would deploy with no one approving: rerun "
            f"with --reviewer LOGIN (or ORG/TEAM), or add them at https://github.com/{repo}/settings/"
            f"environments → {name} → Required reviewers. The rest: {line}"
        )
    return line


def create_environment(route: str, dry_run: bool, reviewers: list[dict]) -> str:
    what = f"deployments from {BRANCH} only" + "".join(f"; {c}" for c in reviewer_changes(reviewers))
    if dry_run:
        return f"would create ({what})"
    body: dict = {"deployment_branch_policy": ONLY_SELECTED_BRANCHES}
    if reviewers:
        body["reviewers"] = [{"type": r["type"], "id": r["id"]} for r in reviewers]
    api(route, "PUT", body)
    add_branch_policy(route, [])
    return f"created ({what})"


def update_environment(route: str, current: dict, dry_run: bool, reviewers: list[dict]) -> str:
    policy = current.get("deployment_branch_policy") or {}
    new_reviewers = added_reviewers(current, reviewers)
    changes = reviewer_changes(new_reviewers)
    opened = not policy.get("protected_branches") and not policy.get("custom_branch_policies")
    if opened:
        changes.insert(0, "deployments from selected branches only (were: all branches)")
    if changes and not dry_run:
        new_policy = ONLY_SELECTED_BRANCHES if opened else policy
        api(route, "PUT", environment_body(current, new_policy, new_reviewers))
    if policy.get("protected_branches"):
        kept = "already set (deployments from protected branches only; left so)"
        return updated(changes, dry_run) if changes else kept
    policies = [] if dry_run and opened else list_branch_policies(route)
    if not any(p["name"] == BRANCH and p.get("type", "branch") == "branch" for p in policies):
        changes.append(f"branch {BRANCH} allowed to deploy")
        if not dry_run:
            add_branch_policy(route, policies)
    return updated(changes, dry_run) if changes else "already set"


def reviewer_changes(reviewers: list[dict]) -> list[str]:
    return ["required reviewers: " + ", ".join(r["name"] for r in reviewers)] if reviewers else []


def reviewers_of(environment: dict | None) -> list[dict]:
    """An environment's required reviewers as {type, id, name}."""
    rules = (environment or {}).get("protection_rules") or []
    return [
        {
            "type": r["type"],
            "id": r["reviewer"]["id"],
            "name": r["reviewer"].get("login") or r["reviewer"]["slug"],
        }
        for rule in rules
        if rule.get("type") == "required_reviewers"
        for r in rule["reviewers"]
    ]


def added_reviewers(current: dict, reviewers: list[dict]) -> list[dict]:
    have = {(r["type"], r["id"]) for r in reviewers_of(current)}
    return [r for r in reviewers if (r["type"], r["id"]) not in have]


def environment_body(current: dict, policy: dict, new_reviewers: list[dict]) -> dict:
    """A PUT body with `policy` and `new_reviewers` that keeps the reviewers and wait timer it has
    (PUT drops whatever the body leaves out)."""
    body: dict = {"deployment_branch_policy": policy}
    reviewers = reviewers_of(current) + new_reviewers
    if reviewers:
        body["reviewers"] = [{"type": r["type"], "id": r["id"]} for r in reviewers]
    for rule in current.get("protection_rules") or []:
        if rule.get("type") == "wait_timer":
            body["wait_timer"] = rule["wait_timer"]
        elif rule.get("type") == "required_reviewers" and "prevent_self_review" in rule:
            body["prevent_self_review"] = rule["prevent_self_review"]
    return body


def list_branch_policies(route: str) -> list[dict]:
    return api(f"{route}/deployment-branch-policies?per_page=100")["branch_policies"]


def add_branch_policy(route: str, policies: list[dict]) -> None:
    if not any(p["name"] == BRANCH for p in policies):
        api(f"{route}/deployment-branch-policies", "POST", {"name": BRANCH, "type": "branch"})


def find_reviewer(spec: str) -> dict:
    """A `--reviewer` (LOGIN or ORG/TEAM) as the environment API takes it: {type, id, name}."""
    org, _, team = spec.partition("/")
    found = api_or_none(f"orgs/{org}/teams/{team}" if team else f"users/{spec}")
    if found is None:
        kind = "team" if team else "user"
        raise StepFailed(
            f"--reviewer {spec}: GitHub knows no {kind} of that name (or the token cannot see it)"
        )
    return {"type": "Team" if team else "User", "id": found["id"], "name": spec if team else found["login"]}


# ---- 5. the drift job's secrets belong to its environment -----------------------------------------
def check_drift_secrets(repo: str, dry_run: bool) -> str:
    """Reads secret names only; changes nothing (a secret's value never passes through here)."""
    in_repository = secret_names(f"repos/{repo}/actions/secrets")
    exposed = [name for name in DRIFT_SECRETS if name in in_repository]
    if exposed:
        raise StepFailed(
            "; ".join(
                f"{name} is a repository secret, which any workflow of any branch can read: move it "
                f"with `gh secret set {name} --env drift`, then `gh secret delete {name}`"
                for name in exposed
            )
        )
    in_drift = secret_names(f"repos/{repo}/environments/drift/secrets")
    present = [name for name in DRIFT_SECRETS if name in in_drift]
    return "none is a repository secret; the drift environment has " + (", ".join(present) or "none yet")


def secret_names(route: str) -> set[str]:
    listed = api_or_none(f"{route}?per_page=100")  # 404: no such environment (yet)
    return {s["name"] for s in (listed or {}).get("secrets", [])}


# ---- the steps ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One setting: what it is, how to make it, and where to set it by hand (a page of the repository)."""

    name: str
    ensure: Callable[[str, bool], str]  # (repo, dry_run) -> the outcome
    page: str  # under https://github.com/OWNER/NAME/
    by_hand: str
    rights: str = "repository admin rights are needed"


def steps(root: Path, reviewers: tuple[str, ...] = ()) -> list[Step]:
    """The steps for the project at `root` (production only with deploy.yml, the kubernetes option)."""
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
            f"a rule for `{BRANCH}`: 'Require a pull request before merging' with 1 approval and "
            "'Require approval of the most recent reviewable push'; 'Require status checks to pass "
            f"before merging' with '{CHECK}' from GitHub Actions, and 'Require branches to be up to "
            "date before merging'; 'Do not allow bypassing the above settings'",
        ),
        Step(
            "Actions may create and approve pull requests",
            ensure_actions_can_open_prs,
            "settings/actions",
            "Workflow permissions → 'Allow GitHub Actions to create and approve pull requests', only "
            f"without a GitHub App ({APP_VARIABLE}) (in an organization, its owners may have to allow it "
            "first in the organization's settings)",
        ),
        environment_step("drift", lambda repo, dry_run: ensure_environment(repo, "drift", dry_run)),
        *(
            [
                environment_step(
                    "production",
                    lambda repo, dry_run: ensure_environment(
                        repo, "production", dry_run, [find_reviewer(spec) for spec in reviewers]
                    ),
                    " and its 'Required reviewers'",
                )
            ]
            if has_production(root)
            else []
        ),
        Step(
            "secrets of the drift job",
            check_drift_secrets,
            "settings/secrets/actions",
            f"{', '.join(DRIFT_SECRETS)} belong to the environment `drift`, not to 'Repository secrets'",
        ),
    ]


def environment_step(name: str, ensure: Callable[[str, bool], str], more: str = "") -> Step:
    return Step(
        f'environment "{name}"',
        ensure,
        "settings/environments",
        f"New environment `{name}`, 'Deployment branches and tags' → 'Selected branches and tags' → "
        f"add the branch `{BRANCH}`{more}",
    )


def has_production(root: Path) -> bool:
    return (root / ".github" / "workflows" / "deploy.yml").is_file()


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


def setup(
    repo: str | None, dry_run: bool, root: Path, echo: Callable[[str], None], reviewers: tuple[str, ...] = ()
) -> int:
    """Run every step, echoing one line per step, then where each secret goes; the exit code: 1 when
    any step failed. `reviewers`: the production environment's required reviewers to add."""
    check_reviewers(reviewers, root)
    require_gh()
    repo = find_repo(repo)
    echo(f"GitHub setup of {repo}" + (" (dry run: nothing is changed)" if dry_run else ""))
    failed = 0
    for step in steps(root, reviewers):
        line, step_failed = outcome(step, repo, dry_run)
        failed += step_failed
        echo(f"{step.name}: {line}")
    if failed:
        echo(f"{failed} step(s) failed: see above.")
    for line in secrets_help(has_production(root)):
        echo(line)
    echo("What this command cannot do: see README.md, 'After your first push'.")
    return 1 if failed else 0


def check_reviewers(reviewers: tuple[str, ...], root: Path) -> None:
    if reviewers and not has_production(root):
        raise SetupError(
            "--reviewer sets who approves deployments to the production environment, which only a "
            "project with .github/workflows/deploy.yml has"
        )
    for spec in reviewers:
        if not REVIEWER.fullmatch(spec):
            raise SetupError(
                f"--reviewer must be a GitHub LOGIN or ORG/TEAM (octocat, octo-org/ml), not {spec!r}"
            )


def secrets_help(production: bool) -> list[str]:
    """Where each secret goes: the drift job's in its environment, out of other workflows' reach."""
    listed = [(name, env, why) for name, env, why in SECRETS if env != "production" or production]
    commands = [f"gh secret set {name}" + (f" --env {env}" if env else "") for name, env, _ in listed]
    width = max(map(len, commands))
    return [
        "Secrets, which you set (this command never reads or writes their values):",
        *(f"  {command:<{width}}  # {why}" for command, (_, _, why) in zip(commands, listed, strict=True)),
    ]
