"""A fake `gh` for the setup-github tests, run as a script (the tests put it first on PATH as `gh`).

Routes are those of the REST API (docs.github.com/rest), answers as GitHub gives them, from the
JSON state in $FAKE_GH_STATE, where every call is recorded; an error prints GitHub's JSON body on
stdout and `gh: <message> (HTTP <status>)` on stderr and exits 1, as gh does; not logged in is gh's
message and exit code 4. A command, flag or route it does not model fails loudly (exit 1,
"fake gh: ...").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

DOCS = "https://docs.github.com/rest"
REVIEW_SETTINGS = (
    "dismiss_stale_reviews",
    "require_code_owner_reviews",
    "required_approving_review_count",
    "require_last_push_approval",
    "dismissal_restrictions",
    "bypass_pull_request_allowances",
)
FLAGS = (
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
)
NOT_LOGGED_IN = (
    "To get started with GitHub CLI, please run:  gh auth login\n"
    "Alternatively, populate the GH_TOKEN environment variable with a GitHub API authentication token.\n"
)


class Exit(Exception):
    def __init__(self, code, stderr, stdout=""):
        super().__init__(stderr)
        self.code, self.stderr, self.stdout = code, stderr, stdout


class HttpError(Exception):
    def __init__(self, status, message, **extra):
        super().__init__(message)
        self.status, self.body = status, dict(message=message, documentation_url=DOCS, **extra)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Exit(1, f"{message}\n")


def invalid(what):
    return HttpError(422, "Invalid request.\n\n" + what)


def check_keys(body, allowed, required=()):
    if not isinstance(body, dict):
        raise invalid("the body must be an object")
    for key in required:
        if key not in body:
            raise invalid(f'"{key}" wasn\'t supplied.')
    for key in body:
        if key not in allowed:
            raise invalid(f'"{key}" is not a permitted key.')


def actors(written):
    return {
        "users": [{"login": u} for u in written.get("users", [])],
        "teams": [{"slug": t} for t in written.get("teams", [])],
        "apps": [{"slug": a} for a in written.get("apps", [])],
    }


def one_of_checks_or_contexts(checks):
    """GitHub takes `checks` or `contexts`, not both (422 "More than one subschema in oneOf matched",
    github.com/ossf/allstar/issues/155); `checks` alone is enough (google/go-github#2976)."""
    if ("checks" in checks) == ("contexts" in checks):
        raise invalid(
            'More than one subschema in "oneOf" matched.'
            if "checks" in checks
            else '"contexts" wasn\'t supplied.'
        )


def read_checks(written):
    """Required checks as GitHub stores them: contexts get any app; app_id -1 means any app."""
    if "checks" in written:
        checks = [
            dict(context=c["context"], app_id=None if c.get("app_id", -1) == -1 else c["app_id"])
            for c in written["checks"]
        ]
    else:
        checks = [dict(context=c, app_id=None) for c in written["contexts"]]
    return checks, [c["context"] for c in checks]


# ---- labels ----------------------------------------------------------------------------------------
def find_label(state, name):
    return next((lb for lb in state["labels"] if lb["name"].lower() == name.lower()), None)


def labels(state, method, rest, body):
    if rest == "labels" and method == "POST":
        check_keys(body, ("name", "color", "description"), ("name",))
        if find_label(state, body["name"]):
            raise HttpError(
                422, "Validation Failed", errors=[dict(resource="Label", code="already_exists", field="name")]
            )
        if not re.fullmatch(r"[0-9a-fA-F]{6}", body.get("color", "ededed")):
            raise invalid("color must be a hex colour")
        label = dict(
            name=body["name"],
            color=body.get("color", "ededed"),
            description=body.get("description"),
            default=False,
        )
        state["labels"].append(label)
        return 201, label
    found = re.fullmatch(r"labels/([^/]+)", rest)
    label = find_label(state, found.group(1)) if found else None
    if found and label is None:
        raise HttpError(404, "Not Found")
    if found and method == "GET":
        return 200, label
    if found and method == "PATCH":
        check_keys(body, ("new_name", "color", "description"))
        label.update(body)
        if "new_name" in body:
            label["name"] = label.pop("new_name")
        return 200, label
    return None


# ---- branch protection -------------------------------------------------------------------------------
def protection(state, method, rest, body):
    subs = "/required_status_checks|/required_pull_request_reviews"
    found = re.fullmatch(rf"branches/([^/]+)/protection({subs})?", rest)
    if not found:
        return None
    branch, sub = found.groups()
    if branch not in state["branches"]:
        raise HttpError(404, "Branch not found")
    current = state["protection"].get(branch)
    if not sub:
        return whole_protection(state, branch, current, method, body)
    if method != "PATCH":
        return None
    if sub == "/required_pull_request_reviews":
        return patched_reviews(current, body)
    return patched_status_checks(current, body)


def whole_protection(state, branch, current, method, body):
    if method == "GET":
        if current is None:
            raise HttpError(404, "Branch not protected")
        return 200, current
    if method == "PUT":
        state["protection"][branch] = written_protection(body, current or {})
        return 200, state["protection"][branch]
    return None


def patched_reviews(current, body):
    if current is None or "required_pull_request_reviews" not in current:
        raise HttpError(404, "Pull request reviews not enabled")
    check_keys(body, REVIEW_SETTINGS)
    current["required_pull_request_reviews"].update(body)
    return 200, current["required_pull_request_reviews"]


def patched_status_checks(current, body):
    if current is None:
        raise HttpError(404, "Branch not protected")
    if "required_status_checks" not in current:
        raise HttpError(404, "Required status checks not enabled")
    check_keys(body, ("strict", "contexts", "checks"))
    if "checks" in body and "contexts" in body:
        one_of_checks_or_contexts(body)
    checks = current["required_status_checks"]
    if "strict" in body:
        checks["strict"] = body["strict"]
    if "checks" in body or "contexts" in body:
        checks["checks"], checks["contexts"] = read_checks(body)
    return 200, checks


def written_protection(body, before):
    """PUT replaces the protection: what the body leaves out is off (as on GitHub)."""
    keys = ("required_status_checks", "enforce_admins", "required_pull_request_reviews", "restrictions")
    check_keys(body, (*keys, *FLAGS), keys)
    after = dict(enforce_admins=dict(enabled=bool(body["enforce_admins"])))
    checks = body["required_status_checks"]
    if checks is not None:
        check_keys(checks, ("strict", "contexts", "checks"), ("strict",))
        one_of_checks_or_contexts(checks)
        listed, names = read_checks(checks)
        after["required_status_checks"] = dict(strict=checks["strict"], contexts=names, checks=listed)
    reviews = body["required_pull_request_reviews"]
    if reviews is not None:
        check_keys(reviews, REVIEW_SETTINGS)
        after["required_pull_request_reviews"] = dict(
            dismiss_stale_reviews=reviews.get("dismiss_stale_reviews", False),
            require_code_owner_reviews=reviews.get("require_code_owner_reviews", False),
            required_approving_review_count=reviews.get("required_approving_review_count", 1),
            require_last_push_approval=reviews.get("require_last_push_approval", False),
        )
        for key in ("dismissal_restrictions", "bypass_pull_request_allowances"):
            if reviews.get(key):
                after["required_pull_request_reviews"][key] = actors(reviews[key])
    if body["restrictions"] is not None:
        check_keys(body["restrictions"], ("users", "teams", "apps"), ("users", "teams"))
        after["restrictions"] = actors(body["restrictions"])
    for flag in FLAGS:
        after[flag] = dict(enabled=bool(body.get(flag, False)))
    if "required_signatures" in before:  # its own endpoint; PUT leaves it
        after["required_signatures"] = before["required_signatures"]
    return after


# ---- Actions permissions --------------------------------------------------------------------------
def actions(state, method, rest, body):
    if rest != "actions/permissions/workflow":
        return None
    if method == "GET":
        return 200, state["actions"]
    if method == "PUT":
        check_keys(body, ("default_workflow_permissions", "can_approve_pull_request_reviews"))
        if body.get("default_workflow_permissions", "read") not in ("read", "write"):
            raise invalid("default_workflow_permissions must be read or write")
        state["actions"].update(body)
        return 204, None
    return None


# ---- environments ---------------------------------------------------------------------------------
def environment_json(name, env):
    rules = list(env["protection_rules"])
    if env["deployment_branch_policy"]:
        rules.append(dict(id=3, type="branch_policy"))
    return dict(name=name, deployment_branch_policy=env["deployment_branch_policy"], protection_rules=rules)


def environments(state, method, rest, body):
    found = re.fullmatch(r"environments/([^/]+)(/deployment-branch-policies)?", rest)
    if not found:
        return None
    name, sub = found.groups()
    env = state["environments"].get(name)
    if not sub and method == "PUT":
        return 200, environment_json(name, written_environment(state, name, body or {}, env))
    if env is None:
        raise HttpError(404, "Not Found")
    if sub:
        return branch_policies(env, method, body)
    return (200, environment_json(name, env)) if method == "GET" else None


def branch_policies(env, method, body):
    if method == "GET":
        return 200, dict(total_count=len(env["branch_policies"]), branch_policies=env["branch_policies"])
    if method != "POST":
        return None
    check_keys(body, ("name", "type"), ("name",))
    if not (env["deployment_branch_policy"] or {}).get("custom_branch_policies"):
        raise HttpError(404, "Not Found")
    kind = body.get("type", "branch")
    listed = env["branch_policies"]
    same = [p for p in listed if p["name"] == body["name"] and p.get("type", kind) == kind]
    if same:  # 303 to the existing policy, which gh follows
        return 200, same[0]
    policy = dict(id=len(env["branch_policies"]) + 1, name=body["name"], type=kind)
    env["branch_policies"].append(policy)
    return 200, policy


def written_environment(state, name, body, before):
    """PUT sets the environment's protection rules to what the body says (a left-out rule is gone)."""
    check_keys(body, ("wait_timer", "prevent_self_review", "reviewers", "deployment_branch_policy"))
    policy = body.get("deployment_branch_policy")
    if policy is not None:
        check_keys(
            policy,
            ("protected_branches", "custom_branch_policies"),
            ("protected_branches", "custom_branch_policies"),
        )
        if policy["protected_branches"] == policy["custom_branch_policies"]:
            raise invalid("exactly one of protected_branches and custom_branch_policies must be true")
    rules = []
    if body.get("wait_timer"):
        rules.append(dict(id=1, type="wait_timer", wait_timer=body["wait_timer"]))
    if body.get("reviewers"):
        reviewers = [
            dict(type=r["type"], reviewer=account(state, r["type"], r["id"])) for r in body["reviewers"]
        ]
        rules.append(
            dict(
                id=2,
                type="required_reviewers",
                reviewers=reviewers,
                prevent_self_review=body.get("prevent_self_review", False),
            )
        )
    env = dict(before or {}, deployment_branch_policy=policy, protection_rules=rules)
    env.setdefault("branch_policies", [])
    state["environments"][name] = env
    return env


# ---- variables and secrets (names; a secret's value is never readable) ------------------------------
def variables(state, method, rest, body):
    found = re.fullmatch(r"(?:actions|environments/([^/]+))/variables/([^/]+)", rest)
    if not found or method != "GET":
        return None
    env_name, name = found.groups()
    where = state if env_name is None else state["environments"].get(env_name, {})
    if name not in where.get("variables", {}):
        raise HttpError(404, "Not Found")
    return 200, dict(name=name, value=where["variables"][name])


def secrets(state, method, rest, body):
    found = re.fullmatch(r"(?:actions|environments/([^/]+))/secrets", rest)
    if not found or method != "GET":
        return None
    env_name = found.group(1)
    if env_name is not None and env_name not in state["environments"]:
        raise HttpError(404, "Not Found")
    names = (state if env_name is None else state["environments"][env_name]).get("secrets", [])
    return 200, dict(total_count=len(names), secrets=[dict(name=n) for n in names])


# ---- users and teams ------------------------------------------------------------------------------
def account(state, kind, number):
    """A reviewer as an environment lists it: a user by login, a team by slug."""
    if kind == "User":
        return next(dict(id=i, login=login) for login, i in state["users"].items() if i == number)
    return next(dict(id=i, slug=slug.partition("/")[2]) for slug, i in state["teams"].items() if i == number)


def people(state, path):
    user = re.fullmatch(r"users/([^/]+)", path)
    team = re.fullmatch(r"orgs/([^/]+)/teams/([^/]+)", path)
    if user and user.group(1).lower() in {u.lower() for u in state["users"]}:
        login = next(u for u in state["users"] if u.lower() == user.group(1).lower())
        return dict(login=login, id=state["users"][login], type="User")
    if team and f"{team.group(1)}/{team.group(2)}" in state["teams"]:
        return dict(slug=team.group(2), id=state["teams"][f"{team.group(1)}/{team.group(2)}"])
    raise HttpError(404, "Not Found")


# ---- gh api / gh repo view ----------------------------------------------------------------------------
ROUTES = (labels, protection, actions, variables, secrets, environments)


def api(state, argv):
    parser = Parser(prog="gh api", add_help=False, allow_abbrev=False)
    parser.add_argument("route")
    parser.add_argument("-X", "--method")
    parser.add_argument("--input")
    args = parser.parse_args(argv)
    if args.input not in (None, "-"):
        raise Exit(1, "fake gh: --input is modelled for - (standard input) only\n")
    body = json.loads(sys.stdin.read()) if args.input == "-" else None
    method = (args.method or ("POST" if args.input else "GET")).upper()
    state["calls"].append(dict(method=method, route=args.route, body=body))
    path = args.route.strip("/").partition("?")[0]
    found = re.fullmatch(r"repos/([^/]+/[^/]+)/(.+)", path)
    try:
        if re.match(r"(users|orgs)/", path):
            return json.dumps(people(state, path))
        if not found or found.group(1).lower() != state["repo"].lower():
            raise HttpError(404, "Not Found")
        rest = found.group(2)
        for prefix, (status, message) in state["forbidden"].items():
            if rest.startswith(prefix):
                raise HttpError(status, message)
        for route in ROUTES:
            answer = route(state, method, rest, body)
            if answer is not None:
                status, answer_body = answer
                return "" if status == 204 else json.dumps(answer_body)
        raise Exit(1, f"fake gh: {method} {path} is not modelled\n")
    except HttpError as error:
        raise Exit(1, f"gh: {error} (HTTP {error.status})\n", json.dumps(error.body)) from None


def repo_view(state, argv):
    parser = Parser(prog="gh repo view", add_help=False, allow_abbrev=False)
    parser.add_argument("--json", required=True)
    parser.add_argument("--jq", required=True)
    args = parser.parse_args(argv)
    if (args.json, args.jq) != ("nameWithOwner", ".nameWithOwner"):
        raise Exit(1, "fake gh: only --json nameWithOwner --jq .nameWithOwner is modelled\n")
    state["calls"].append(dict(command="repo view"))
    if not state["remote"]:
        raise Exit(1, "no git remotes found\n")
    return state["repo"] + "\n"


def main(argv):
    state_file = Path(os.environ["FAKE_GH_STATE"])
    state = json.loads(state_file.read_text())
    try:
        if not state["logged_in"]:
            raise Exit(4, NOT_LOGGED_IN)
        if argv[:1] == ["api"]:
            out = api(state, argv[1:])
        elif argv[:2] == ["repo", "view"]:
            out = repo_view(state, argv[2:])
        else:
            raise Exit(1, f"fake gh: `gh {' '.join(argv[:2])}` is not modelled\n")
        code = 0
    except Exit as done:
        out, code = done.stdout, done.code
        sys.stderr.write(done.stderr)
    sys.stdout.write(out)
    state_file.write_text(json.dumps(state, indent=1))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
