"""Which review vouches for a merge: the merged pull request's own train.yml runs, read from GitHub.

release.yml publishes a model as reviewed only when the review of exactly what was merged passed.
A run counts when it reviewed the pull request's head commit, from its head branch and repository,
and was started by the pull request itself (`pull_request`) or by the drift job's dispatch (the
workflow token's `github-actions[bot]`, the run's `actor` even when someone re-runs it; only
drift.yml dispatches reviews with it). A manual dispatch,
possibly against an old base, never counts.

GitHub's run objects do not say which pull request a run reviewed once it is merged: the runs API
empties `pull_requests` for closed pull requests and never fills it for forks
(https://github.com/github/docs/issues/22501). So the same head reviewed in another pull request
(into another branch, say) cannot be told apart, and every such review must have passed: one
failure anywhere means no vouching (fail closed). Cancelled and skipped runs are no evidence.
"""

from __future__ import annotations

import json

from .errors import ProjectError

WORKFLOW = "train.yml"
DISPATCHER = "github-actions[bot]"  # who dispatches with GITHUB_TOKEN: the drift job's review
NO_EVIDENCE = {"cancelled", "skipped"}


def merged_pull(pulls: list[dict], sha: str) -> dict | None:
    """The pull request merged as commit `sha` (GitHub lists every one the commit belongs to)."""
    merged = [p for p in pulls if p.get("merged_at") and p.get("merge_commit_sha") == sha]
    return merged[0] if merged else None


def counts(run: dict, pull: dict) -> bool:
    """Whether `run` reviewed `pull`'s head as that pull request (or its drift dispatch) would."""
    head = pull["head"]
    if (run["head_sha"], run["head_branch"]) != (head["sha"], head["ref"]):
        return False
    if (run.get("head_repository") or {}).get("full_name") != head["repo"]["full_name"]:
        return False
    if run["event"] == "pull_request":
        return True
    same_repository = head["repo"]["full_name"] == pull["base"]["repo"]["full_name"]
    # `actor` is who dispatched it: a re-run (by anyone) keeps it, and the same inputs.
    dispatcher = (run.get("actor") or {}).get("login")
    return run["event"] == "workflow_dispatch" and same_repository and dispatcher == DISPATCHER


def own_review(pull: dict, runs: list[dict]) -> dict:
    """The run whose artifact the release checks, its conclusion, and why, in one sentence."""
    evidence = sorted(
        (
            r
            for r in runs
            if r["status"] == "completed" and counts(r, pull) and r["conclusion"] not in NO_EVIDENCE
        ),
        key=lambda r: r["id"],
    )
    if not evidence:
        return {"run_id": None, "conclusion": None, "why": f"no review of #{pull['number']}'s head finished"}
    failed = [r for r in evidence if r["conclusion"] != "success"]
    chosen = (failed or evidence)[-1]
    why = (
        f"{len(failed)} of {len(evidence)} reviews of its head did not pass (run {chosen['id']}: "
        f"{chosen['conclusion']})"
        if failed
        else f"run {chosen['id']} ({chosen['event']}) passed"
    )
    return {"run_id": chosen["id"], "conclusion": chosen["conclusion"], "why": why}


def merged_review(repo: str, sha: str) -> dict:
    """The merged pull request of commit `sha` and its own review, through `gh api`."""
    pull = merged_pull(gh_api(f"repos/{repo}/commits/{sha}/pulls"), sha)
    if pull is None:
        return {"pr": None, "run_id": None, "conclusion": None, "why": f"{sha[:12]} merged no pull request"}
    route = f"repos/{repo}/actions/workflows/{WORKFLOW}/runs?head_sha={pull['head']['sha']}&per_page=100"
    return {"pr": pull["number"], **own_review(pull, gh_api(route)["workflow_runs"])}


def gh_api(route: str):
    """GitHub's answer to `gh api ROUTE`, through setup-github's gh wrapper (its timeout and login checks)."""
    from .github_setup import GitHubError, gh

    try:
        return json.loads(gh(["api", route]))
    except GitHubError as err:
        raise ProjectError(f"gh api {route} failed: {err}") from None
