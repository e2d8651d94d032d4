"""`setup-github` against a fake `gh` (fake_gh.py, put on PATH as `gh`) that answers the REST routes
the verb calls as GitHub does (statuses, bodies, gh's error output and exit codes) from a JSON
state, and records every call. The tests assert the state GitHub ends in, not only the calls made.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT, explain, invoke, run_fresh

from {{ cookiecutter.__package_name }} import github_setup, settings

REPO = "octo-org/churn-model"
CHECK = "champion vs challenger"
ADMIN_ONLY = "Must have admin rights to Repository."
SELECTED = {"protected_branches": False, "custom_branch_policies": True}  # deployments from listed branches
DRIFT_LABEL = {"name": "drift", "color": "d93f0b", "description": "The data drifted (drift.yml)"}
FAKE_GH = Path(__file__).with_name("fake_gh.py")


def fresh_state() -> dict:
    """What a repository has right after its first push."""
    return {
        "repo": REPO,
        "remote": True,
        "logged_in": True,
        "branches": ["main"],
        "labels": [
            {"name": "bug", "color": "d73a4a", "description": "Something isn't working"},
            {"name": "enhancement", "color": "a2eeef", "description": "New feature or request"},
        ],
        "protection": {},
        "actions": {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": False},
        "environments": {},
        "users": {"octocat": 1, "hubot": 7},
        "teams": {"octo-org/release-team": 42},
        "variables": {},  # repository variables: name -> value
        "secrets": [],  # repository secrets' names
        "forbidden": {},  # route prefix (after repos/OWNER/NAME/) -> [status, message]
        "calls": [],
    }


class FakeGitHub:
    """The fake's state file: preload it, run the verb, read back what GitHub holds and the calls."""

    def __init__(self, path: Path):
        self.path = path
        self.write(fresh_state())

    def read(self) -> dict:
        return json.loads(self.path.read_text())

    def write(self, state: dict) -> None:
        self.path.write_text(json.dumps(state, indent=1))

    def set(self, **values) -> None:
        self.write({**self.read(), **values})

    def settings(self) -> dict:
        """Everything GitHub holds, without the call log."""
        state = self.read()
        del state["calls"]
        return state

    def calls(self) -> list[dict]:
        return self.read()["calls"]

    def writes(self) -> list[dict]:
        return [c for c in self.calls() if c.get("method", "GET") != "GET"]

    def label(self, name: str) -> dict | None:
        return next((lb for lb in self.read()["labels"] if lb["name"] == name), None)


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project folder to run the verb in (the working directory), with no deploy.yml."""
    root = tmp_path / "project"
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "train.yml").write_text("name: Model review\n")
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def github(tmp_path, monkeypatch, project) -> FakeGitHub:
    """The fake gh first on PATH, over a fresh repository."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    gh = bin_dir / "gh"
    gh.write_text(f"#!{sys.executable}\n{FAKE_GH.read_text(encoding='utf-8')}")
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_STATE", str(tmp_path / "github.json"))
    return FakeGitHub(tmp_path / "github.json")


def environment(policy: dict | None, rules: list | None = None, policies: list | None = None, **more) -> dict:
    """An environment as the fake stores it: its deployment branch policy, protection rules,
    branches, and any `variables` ({name: value}) or `secrets` (names)."""
    return {
        "deployment_branch_policy": policy,
        "protection_rules": rules or [],
        "branch_policies": policies or [],
        **more,
    }


def with_deploy(project: Path) -> None:
    (project / ".github" / "workflows" / "deploy.yml").write_text("name: Deploy\n")


def outcomes(output: str) -> dict[str, str]:
    """Each step's outcome, by step name, from the verb's output."""
    steps = ("label", "branch protection", "Actions", "environment", "secrets of")
    return dict(line.split(": ", 1) for line in output.splitlines() if line.startswith(steps))


def run(*args):
    result = invoke("setup-github", *args)
    return result, outcomes(result.output)


PROTECTION = "branch protection of main"
ACTIONS = "Actions may create and approve pull requests"
SECRETS = "secrets of the drift job"
PINNED = {"context": CHECK, "app_id": 15368}  # the GitHub Actions app
NEW_RULES = (
    f'requires "{CHECK}" from GitHub Actions (app 15368) on an up-to-date branch and 1 approving '
    "review of the most recent push, for admins too"
)
APP_CHECK_ROUTES = (  # where setup-github looks for drift.yml's app
    f"repos/{REPO}/actions/variables/DRIFT_APP_CLIENT_ID",
    f"repos/{REPO}/environments/drift/variables/DRIFT_APP_CLIENT_ID",
)


def reviewers_rule(*reviewers: tuple[str, dict]) -> dict:
    return {
        "id": 2,
        "type": "required_reviewers",
        "prevent_self_review": False,
        "reviewers": [{"type": kind, "reviewer": who} for kind, who in reviewers],
    }


def test_a_fresh_repository_gets_everything(github, project):
    with_deploy(project)
    result, said = run("--reviewer", "octocat")
    assert result.exit_code == 0, explain(result)
    assert github.calls()[0] == {"command": "repo view"}
    assert f"GitHub setup of {REPO}" in result.output

    assert github.label("drift") == {**DRIFT_LABEL, "default": False}
    protection = github.read()["protection"]["main"]
    assert protection["required_status_checks"] == {"strict": True, "contexts": [CHECK], "checks": [PINNED]}
    assert protection["enforce_admins"] == {"enabled": True}
    assert protection["required_pull_request_reviews"] == {
        "dismiss_stale_reviews": False,
        "require_code_owner_reviews": False,
        "required_approving_review_count": 1,
        "require_last_push_approval": True,
    }
    assert "restrictions" not in protection
    actions = {"default_workflow_permissions": "read", "can_approve_pull_request_reviews": True}
    assert github.read()["actions"] == actions
    for name in ("drift", "production"):
        env = github.read()["environments"][name]
        assert env["deployment_branch_policy"] == SELECTED
        assert [p["name"] for p in env["branch_policies"]] == ["main"]
    production = github.read()["environments"]["production"]["protection_rules"]
    assert production == [reviewers_rule(("User", {"id": 1, "login": "octocat"}))]

    assert said['label "drift"'] == "created"
    assert said[PROTECTION] == f"created ({NEW_RULES})"
    assert said[ACTIONS].startswith(
        "updated: allowed, because no GitHub App is set (DRIFT_APP_CLIENT_ID): the workflow token opens "
        "the retraining pull request. The cost: any workflow whose token may write pull requests can "
        "also approve one, an approval that counts toward the required reviews"
    )
    assert said['environment "drift"'] == "created (deployments from main only)"
    assert said['environment "production"'] == (
        "created (deployments from main only; required reviewers: octocat)"
    )
    assert said[SECRETS] == "none is a repository secret; the drift environment has none yet"


def test_a_second_run_changes_nothing(github, project):
    with_deploy(project)
    assert run("--reviewer", "octocat")[0].exit_code == 0
    before, calls_before = github.settings(), len(github.calls())

    result, said = run("--reviewer", "octocat")
    assert result.exit_code == 0, explain(result)
    assert said.pop(SECRETS).startswith("none is a repository secret")
    assert len(said) == 5
    assert set(said.values()) == {"already set"}, said
    assert github.settings() == before
    assert [c for c in github.calls()[calls_before:] if c.get("method", "GET") != "GET"] == []


def test_dry_run_changes_nothing_and_says_what_it_would_do(github, project):
    with_deploy(project)
    before = github.settings()
    result, said = run("--dry-run", "--reviewer", "octocat", "--reviewer", "octo-org/release-team")
    assert result.exit_code == 0, explain(result)
    assert "dry run: nothing is changed" in result.output
    assert github.settings() == before
    assert github.writes() == []
    assert said['label "drift"'] == "would create"
    assert said[PROTECTION] == f"would create ({NEW_RULES})"
    assert said[ACTIONS].startswith("would update: allowed, because no GitHub App is set")
    assert "can also approve one" in said[ACTIONS]
    assert said['environment "drift"'] == "would create (deployments from main only)"
    assert said['environment "production"'] == (
        "would create (deployments from main only; required reviewers: octocat, octo-org/release-team)"
    )


def test_dry_run_of_a_partly_set_repository(github):
    state = github.read()
    state["labels"].append(DRIFT_LABEL)
    state["environments"]["drift"] = environment(None)
    github.write(state)
    before = github.settings()
    _, said = run("--dry-run")
    assert github.settings() == before
    assert said['label "drift"'] == "already set"
    assert said['environment "drift"'] == (
        "would update: deployments from selected branches only (were: all branches); "
        "branch main allowed to deploy"
    )


def existing_protection(checks: dict | None) -> dict:
    """Protection as GitHub returns it: two reviews, code owners, admins included, pushes restricted, ..."""
    protection = {
        "enforce_admins": {"enabled": True},
        "required_pull_request_reviews": {
            "dismiss_stale_reviews": True,
            "require_code_owner_reviews": True,
            "required_approving_review_count": 2,
            "require_last_push_approval": False,
            "dismissal_restrictions": {
                "users": [{"login": "octocat"}],
                "teams": [{"slug": "lead"}],
                "apps": [],
            },
        },
        "restrictions": {"users": [], "teams": [{"slug": "release-team"}], "apps": [{"slug": "renovate"}]},
        "required_linear_history": {"enabled": True},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
        "block_creations": {"enabled": False},
        "required_conversation_resolution": {"enabled": True},
        "lock_branch": {"enabled": False},
        "allow_fork_syncing": {"enabled": False},
        "required_signatures": {"enabled": True},
    }
    if checks is not None:
        protection["required_status_checks"] = checks
    return protection


def with_last_push_approval(protection: dict) -> dict:
    protection["required_pull_request_reviews"]["require_last_push_approval"] = True
    return protection


THEIRS = [{"context": "ci / tests", "app_id": 15368}, {"context": "lint", "app_id": None}]
KEPT = (
    '2 approving reviews, the checks "ci / tests", "lint" (each from its app), admins included, '
    "its other rules"
)


def test_existing_protection_keeps_its_checks_and_rules_and_gains_ours(github):
    checks = {"strict": False, "contexts": ["ci / tests", "lint"], "checks": THEIRS}
    github.set(protection={"main": existing_protection(checks)})

    result, said = run()
    assert result.exit_code == 0, explain(result)
    after = github.read()["protection"]["main"]
    assert after["required_status_checks"] == {
        "strict": True,
        "contexts": ["ci / tests", "lint", CHECK],
        "checks": [*THEIRS, PINNED],  # theirs each still pinned as it was; ours to GitHub Actions
    }
    del after["required_status_checks"]
    assert after == with_last_push_approval(existing_protection(None))  # two approvals kept
    assert said[PROTECTION] == (
        f'updated: required check "{CHECK}" added, from GitHub Actions only (app 15368); branches must '
        "be up to date before merging; the most recent push must be approved by someone other than its "
        f"pusher; kept: {KEPT}"
    )
    writes = [c for c in github.writes() if "protection" in c["route"]]
    assert [(c["method"], c["route"].rsplit("/", 1)[1]) for c in writes] == [
        ("PATCH", "required_status_checks"),
        ("PATCH", "required_pull_request_reviews"),
    ]
    assert writes[1]["body"] == {"require_last_push_approval": True}  # the count of 2 is not sent


def test_two_required_approvals_stay_two(github):
    checks = {"strict": True, "contexts": [CHECK], "checks": [PINNED]}
    github.set(protection={"main": existing_protection(checks)})
    result, said = run()
    assert result.exit_code == 0, explain(result)
    reviews = github.read()["protection"]["main"]["required_pull_request_reviews"]
    assert reviews["required_approving_review_count"] == 2
    assert reviews["require_last_push_approval"] is True
    assert said[PROTECTION] == (
        "updated: the most recent push must be approved by someone other than its pusher; "
        "kept: 2 approving reviews, admins included, its other rules"
    )
    assert run()[1][PROTECTION] == "already set"


def test_protection_without_required_checks_is_written_back_whole_with_ours(github):
    github.set(protection={"main": existing_protection(None)})
    result, said = run()
    assert result.exit_code == 0, explain(result)
    after = github.read()["protection"]["main"]
    assert after.pop("required_status_checks") == {"strict": True, "contexts": [CHECK], "checks": [PINNED]}
    assert after == with_last_push_approval(existing_protection(None))
    assert "kept: 2 approving reviews, admins included, its other rules" in said[PROTECTION]
    put = [c for c in github.writes() if "protection" in c["route"]]
    assert [c["method"] for c in put] == ["PUT"]
    assert "contexts" not in put[0]["body"]["required_status_checks"]  # GitHub refuses both


def test_protection_without_reviews_gains_one_approval_of_the_last_push(github):
    protection = existing_protection({"strict": True, "contexts": [CHECK], "checks": [PINNED]})
    del protection["required_pull_request_reviews"]
    protection["enforce_admins"] = {"enabled": False}
    github.set(protection={"main": protection})
    result, said = run()
    assert result.exit_code == 0, explain(result)
    after = github.read()["protection"]["main"]
    assert after.pop("required_pull_request_reviews") == {
        "dismiss_stale_reviews": False,
        "require_code_owner_reviews": False,
        "required_approving_review_count": 1,
        "require_last_push_approval": True,
    }
    assert after == {**protection, "required_status_checks": after["required_status_checks"]}
    assert after["required_status_checks"]["checks"] == [PINNED]
    assert said[PROTECTION] == (
        "updated: 1 approving review required (was: none); the most recent push must be approved by "
        "someone other than its pusher; kept: admins may bypass these rules (enforce_admins off), its "
        "other rules"
    )


def test_our_check_from_any_source_is_pinned_to_github_actions(github):
    theirs = [{"context": "lint", "app_id": None}, {"context": CHECK, "app_id": None}]
    checks = {"strict": True, "contexts": ["lint", CHECK], "checks": theirs}
    github.set(protection={"main": with_last_push_approval(existing_protection(checks))})
    result, said = run()
    assert result.exit_code == 0, explain(result)
    after = github.read()["protection"]["main"]["required_status_checks"]
    assert after["checks"] == [{"context": "lint", "app_id": None}, PINNED]
    assert said[PROTECTION].startswith(
        f'updated: "{CHECK}" now from GitHub Actions only (app 15368; was: any source); kept: '
    )


def test_dry_run_names_what_it_would_set_and_what_it_keeps(github):
    theirs = [{"context": "lint", "app_id": None}, {"context": CHECK, "app_id": None}]
    protection = existing_protection({"strict": True, "contexts": ["lint", CHECK], "checks": theirs})
    protection["enforce_admins"] = {"enabled": False}
    github.set(protection={"main": protection})
    before = github.settings()
    result, said = run("--dry-run")
    assert result.exit_code == 0, explain(result)
    assert github.settings() == before
    assert said[PROTECTION] == (
        f'would update: "{CHECK}" now from GitHub Actions only (app 15368; was: any source); the most '
        "recent push must be approved by someone other than its pusher; kept: 2 approving reviews, the "
        'checks "lint" (each from its app), admins may bypass these rules (enforce_admins off), its '
        "other rules"
    )


@pytest.mark.parametrize(("status", "message"), [(403, ADMIN_ONLY), (404, "Not Found")])
def test_no_admin_rights_on_protection_is_reported_and_the_other_steps_still_run(github, status, message):
    github.set(forbidden={"branches/main/protection": [status, message]})
    result, said = run()
    assert result.exit_code == 1, explain(result)
    line = said[PROTECTION]
    assert line.startswith(f"failed: {message} (HTTP {status}): repository admin rights are needed")
    assert f"https://github.com/{REPO}/settings/branches" in line
    assert "Require approval of the most recent reviewable push" in line
    assert "Require branches to be up to date before merging" in line
    assert github.read()["protection"] == {}
    assert said['label "drift"'] == "created"
    assert said['environment "drift"'].startswith("created")
    assert github.read()["actions"]["can_approve_pull_request_reviews"] is True
    assert "1 step(s) failed" in result.output


def test_a_branch_not_pushed_yet_is_said_so(github):
    github.set(branches=[])
    result, said = run()
    assert result.exit_code == 1
    assert said[PROTECTION] == (
        "failed: `main` is not on GitHub yet (Branch not found (HTTP 404)): push it, "
        "then run setup-github again"
    )


# ---- the Actions setting, only without a GitHub App -------------------------------------------------
def with_app(github: FakeGitHub, where: str) -> str:
    """Configure drift.yml's app as the README says (the drift environment's variable) or as a
    repository variable; what the line calls that place."""
    state = github.read()
    if where == "environment":
        state["environments"]["drift"] = environment(SELECTED, variables={"DRIFT_APP_CLIENT_ID": "Iv23li"})
        github.write(state)
        return "the drift environment's variable DRIFT_APP_CLIENT_ID"
    state["variables"]["DRIFT_APP_CLIENT_ID"] = "Iv23li"
    github.write(state)
    return "the repository variable DRIFT_APP_CLIENT_ID"


@pytest.mark.parametrize("where", ["environment", "repository"])
def test_with_a_github_app_actions_may_not_approve_pull_requests(github, where):
    place = with_app(github, where)
    result, said = run()
    assert result.exit_code == 0, explain(result)
    assert github.read()["actions"]["can_approve_pull_request_reviews"] is False
    assert not [c for c in github.writes() if c["route"].endswith("actions/permissions/workflow")]
    assert said[ACTIONS] == (
        f"left off: not needed, {place} names the GitHub App that opens the retraining pull request"
    )


def test_with_a_github_app_an_allowed_setting_is_left_on_and_said_so(github):
    place = with_app(github, "environment")
    github.set(actions={"default_workflow_permissions": "read", "can_approve_pull_request_reviews": True})
    for args in (["--dry-run"], []):
        result, said = run(*args)
        assert result.exit_code == 0, explain(result)
        assert said[ACTIONS] == (
            f"left on, though not needed: {place} names the GitHub App that opens the retraining pull "
            f"request. Turn it off at https://github.com/{REPO}/settings/actions: while on, any workflow "
            "whose token may write pull requests can also approve one, an approval that counts toward "
            "the required reviews"
        )
    assert github.read()["actions"]["can_approve_pull_request_reviews"] is True


def test_without_an_app_both_places_are_looked_at(github):
    run("--dry-run")
    assert [c["route"] for c in github.calls() if "DRIFT_APP" in c.get("route", "")] == list(APP_CHECK_ROUTES)


# ---- environments: production's reviewers -----------------------------------------------------------
def test_production_without_reviewers_fails_and_says_where_to_add_them(github, project):
    with_deploy(project)
    for args, done in ((["--dry-run"], "would create"), ([], "created")):
        result, said = run(*args)
        assert result.exit_code == 1, explain(result)
        assert said['environment "production"'] == (
            "failed: no required reviewers, so every merge to main would deploy with no one approving: "
            "rerun with --reviewer LOGIN (or ORG/TEAM), or add them at "
            f"https://github.com/{REPO}/settings/environments → production → Required reviewers. "
            f"The rest: {done} (deployments from main only)"
        )
        assert "1 step(s) failed" in result.output
    assert github.read()["environments"]["production"]["deployment_branch_policy"] == SELECTED


def test_reviewers_are_users_and_teams_added_to_those_it_has(github, project):
    with_deploy(project)
    state = github.read()
    octocat = reviewers_rule(("User", {"id": 1, "login": "octocat"}))
    state["environments"]["production"] = environment(SELECTED, [octocat], [{"id": 1, "name": "main"}])
    github.write(state)

    result, said = run("--reviewer", "octocat", "--reviewer", "octo-org/release-team", "--reviewer", "HUBOT")
    assert result.exit_code == 0, explain(result)
    assert said['environment "production"'] == "updated: required reviewers: octo-org/release-team, hubot"
    rules = github.read()["environments"]["production"]["protection_rules"]
    assert rules == [
        reviewers_rule(
            ("User", {"id": 1, "login": "octocat"}),
            ("Team", {"id": 42, "slug": "release-team"}),
            ("User", {"id": 7, "login": "hubot"}),
        )
    ]


def test_an_unknown_reviewer_fails_the_production_step_only(github, project):
    with_deploy(project)
    result, said = run("--reviewer", "nobody")
    assert result.exit_code == 1, explain(result)
    assert said['environment "production"'] == (
        "failed: --reviewer nobody: GitHub knows no user of that name (or the token cannot see it)"
    )
    assert "production" not in github.read()["environments"]
    assert said['environment "drift"'].startswith("created")


@pytest.mark.parametrize(
    ("deploy", "reviewer", "said"),
    [
        (False, "octocat", "--reviewer sets who approves deployments to the production environment"),
        (True, "not a login", "--reviewer must be a GitHub LOGIN or ORG/TEAM"),
    ],
)
def test_a_reviewer_that_cannot_be_is_refused_before_any_call(github, project, deploy, reviewer, said):
    if deploy:
        with_deploy(project)
    result = invoke("setup-github", "--reviewer", reviewer)
    assert result.exit_code == 1
    assert f"error: {said}" in result.output
    assert github.calls() == []


@pytest.mark.parametrize("deploy", [False, True])
def test_production_environment_only_with_deploy_yml(github, project, deploy):
    if deploy:
        with_deploy(project)
    result, said = run(*(["--reviewer", "octocat"] if deploy else []))
    assert result.exit_code == 0, explain(result)
    assert ("production" in github.read()["environments"]) is deploy
    assert ('environment "production"' in said) is deploy


def test_an_existing_environment_keeps_its_reviewers_and_wait_timer(github, project):
    with_deploy(project)
    reviewers = {
        "id": 2,
        "type": "required_reviewers",
        "prevent_self_review": True,
        "reviewers": [
            {"type": "User", "reviewer": {"id": 1, "login": "octocat"}},
            {"type": "Team", "reviewer": {"id": 42, "slug": "release-team"}},
        ],
    }
    state = github.read()
    timer = {"id": 1, "type": "wait_timer", "wait_timer": 5}
    state["environments"]["production"] = environment(None, rules=[timer, reviewers])
    # a policy listed without its type is a branch policy
    state["environments"]["drift"] = environment(SELECTED, policies=[{"id": 1, "name": "main"}])
    github.write(state)

    result, said = run()
    assert result.exit_code == 0, explain(result)
    production = github.read()["environments"]["production"]
    assert production["protection_rules"] == [timer, reviewers]
    assert production["deployment_branch_policy"] == SELECTED
    assert [p["name"] for p in production["branch_policies"]] == ["main"]
    assert said['environment "production"'].startswith("updated: deployments from selected branches only")
    assert said['environment "drift"'] == "already set"


def test_an_environment_limited_to_protected_branches_is_left_so(github):
    policy = {"protected_branches": True, "custom_branch_policies": False}
    state = github.read()
    state["environments"]["drift"] = environment(policy)
    github.write(state)
    _, said = run()
    assert said['environment "drift"'].startswith("already set (deployments from protected branches only")
    assert github.read()["environments"]["drift"]["deployment_branch_policy"] == policy


# ---- where the secrets go -----------------------------------------------------------------------------
@pytest.mark.parametrize("secret", ["DVC_REMOTE_WRITE_CONFIG", "DRIFT_APP_PRIVATE_KEY"])
def test_a_drift_secret_kept_as_a_repository_secret_fails_saying_how_to_move_it(github, secret):
    github.set(secrets=["DVC_REMOTE_CONFIG", secret])
    result, said = run()
    assert result.exit_code == 1, explain(result)
    assert said[SECRETS] == (
        f"failed: {secret} is a repository secret, which any workflow of any branch can read: move it "
        f"with `gh secret set {secret} --env drift`, then `gh secret delete {secret}`"
    )


@pytest.mark.parametrize("deploy", [False, True])
def test_the_output_says_where_each_secret_goes(github, project, deploy):
    if deploy:
        with_deploy(project)
    state = github.read()
    state["secrets"] = [
        "DVC_REMOTE_CONFIG"
    ]  # the read-only key is a repository secret: every workflow fetches
    state["environments"]["drift"] = environment(SELECTED, secrets=["DVC_REMOTE_WRITE_CONFIG"])
    github.write(state)
    result, said = run(*(["--reviewer", "octocat"] if deploy else []))
    assert result.exit_code == 0, explain(result)
    assert said[SECRETS] == "none is a repository secret; the drift environment has DVC_REMOTE_WRITE_CONFIG"
    commands = [line.split("#")[0].split() for line in result.output.splitlines() if line.startswith("  gh ")]
    assert commands == [
        ["gh", "secret", "set", "DVC_REMOTE_CONFIG"],
        ["gh", "secret", "set", "DVC_REMOTE_WRITE_CONFIG", "--env", "drift"],
        ["gh", "secret", "set", "DRIFT_DATABASE_URL", "--env", "drift"],
        ["gh", "secret", "set", "DRIFT_APP_PRIVATE_KEY", "--env", "drift"],
        *([["gh", "secret", "set", "KUBE_CONFIG", "--env", "production"]] if deploy else []),
    ]
    assert "gh variable set DRIFT_APP_CLIENT_ID --env drift" in result.output
    secret_reads = [
        c["route"] for c in github.calls() if c.get("route", "").split("?")[0].endswith("/secrets")
    ]
    assert secret_reads == [
        f"repos/{REPO}/actions/secrets?per_page=100",
        f"repos/{REPO}/environments/drift/secrets?per_page=100",
    ]


# ---- other --------------------------------------------------------------------------------------------
def test_gh_missing_says_how_to_install_it(tmp_path, monkeypatch, project):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = invoke("setup-github")
    assert result.exit_code == 1
    assert "`gh` is not installed" in result.output
    assert "https://cli.github.com" in result.output
    assert "gh auth login" in result.output


def test_not_logged_in_says_gh_auth_login(github):
    github.set(logged_in=False)
    result = invoke("setup-github")
    assert result.exit_code == 1
    assert "error: gh is not logged in: run `gh auth login`" in result.output
    assert github.writes() == []


def test_repository_not_found_asks_for_repo(github):
    github.set(remote=False)
    result = invoke("setup-github")
    assert result.exit_code == 1
    assert "could not tell which GitHub repository this is (gh said: no git remotes found)" in result.output
    assert "--repo OWNER/NAME" in result.output


def test_repo_option_names_the_repository(github):
    result, _ = run("--repo", REPO)
    assert result.exit_code == 0, explain(result)
    assert {"command": "repo view"} not in github.calls()
    assert all(c["route"].startswith(f"repos/{REPO}/") for c in github.calls())
    assert invoke("setup-github", "--repo", "not a repo").exit_code == 1


def test_a_label_of_another_color_and_an_allowed_actions_setting(github):
    state = github.read()
    state["labels"].append({"name": "drift", "color": "FFFFFF", "description": ""})
    state["actions"] = {"default_workflow_permissions": "write", "can_approve_pull_request_reviews": True}
    github.write(state)
    _, said = run()
    assert said['label "drift"'] == (
        "updated: color FFFFFF → d93f0b; description 'The data drifted (drift.yml)'"
    )
    assert github.label("drift")["color"] == "d93f0b"
    assert said[ACTIONS] == "already set"
    assert github.read()["actions"]["default_workflow_permissions"] == "write"


def test_other_failures_keep_githubs_message_and_the_page(github):
    github.set(forbidden={"actions/permissions/workflow": [409, "Conflict: set by the organization"]})
    result, said = run()
    assert result.exit_code == 1
    assert said[ACTIONS] == (
        "failed: Conflict: set by the organization (HTTP 409); set it by hand at "
        f"https://github.com/{REPO}/settings/actions: Workflow permissions → 'Allow GitHub Actions to "
        "create and approve pull requests', only without a GitHub App (DRIFT_APP_CLIENT_ID) (in an "
        "organization, its owners may have to allow it first in the organization's settings)"
    )


@pytest.mark.parametrize(
    ("stdout", "stderr", "said"),
    [
        (
            '{"message": "Validation Failed", "errors": [{"resource": "Label", "code": "already_exists"}]}',
            "gh: Validation Failed (HTTP 422)\n",
            'Validation Failed: {"resource": "Label", "code": "already_exists"} (HTTP 422)',
        ),
        (
            '{"message": "Invalid request.\\n\\nNo subschema matched.", "errors": ["x is not a key"]}',
            "gh: x is not a key (Invalid request.)\n",  # gh's own words when errors is a string
            "Invalid request. No subschema matched.: x is not a key",
        ),
        ("<html>Bad gateway</html>", "gh: HTTP 502\n", "no message (HTTP 502)"),
    ],
)
def test_github_errors_lose_nothing(stdout, stderr, said):
    done = subprocess.CompletedProcess(["gh", "api"], 1, stdout=stdout, stderr=stderr)
    assert str(github_setup.github_error(done)) == said


def test_the_names_are_those_the_workflows_use():
    setup, workflows = github_setup, ROOT / ".github" / "workflows"
    train = settings.read_yaml(workflows / "train.yml")
    assert train["jobs"]["review"]["name"] == setup.CHECK == CHECK  # the check GitHub reports
    drift_text = (workflows / "drift.yml").read_text(encoding="utf-8")
    label = setup.LABEL
    assert f'--color {label["color"]} --description "{label["description"]}"' in drift_text
    assert f"vars.{setup.APP_VARIABLE} != ''" in drift_text  # the app drift.yml uses when it is set


def test_the_drift_secrets_are_read_only_by_jobs_of_the_drift_environment():
    """The secrets setup-github says go to the drift environment are read only by its jobs: no
    workflow assumes them to be repository secrets."""
    setup, workflows = github_setup, ROOT / ".github" / "workflows"
    jobs = [job for path in workflows.glob("*.yml") for job in settings.read_yaml(path)["jobs"].values()]
    for name in setup.DRIFT_SECRETS:
        readers = [job for job in jobs if re.search(rf"\bsecrets\.{name}\b", json.dumps(job))]
        assert readers, name
        assert {job.get("environment") for job in readers} == {"drift"}, name
    assert [env for name, env, _ in setup.SECRETS if name in setup.DRIFT_SECRETS] == ["drift"] * 3


def test_help_imports_nothing_heavy():
    output, loaded = run_fresh(["setup-github", "--help"])
    assert loaded == "[]"
    assert "--dry-run" in output
    assert "--reviewer" in output
