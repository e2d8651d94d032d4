"""Which review vouches for a merge (release.yml's find-review): exactly the merged pull request's."""

from __future__ import annotations

import pytest

from {{ cookiecutter.__package_name }} import errors, github_setup, review_run

HEAD = "a" * 40
PULL = {
    "number": 7,
    "merged_at": "2026-12-01T10:00:00Z",
    "merge_commit_sha": "m" * 40,
    "head": {"sha": HEAD, "ref": "more-data", "repo": {"full_name": "acme/model"}},
    "base": {"ref": "main", "repo": {"full_name": "acme/model"}},
}


def run(run_id: int, event: str = "pull_request", conclusion: str = "success", **changes) -> dict:
    record = {
        "id": run_id,
        "event": event,
        "status": "completed",
        "conclusion": conclusion,
        "head_sha": HEAD,
        "head_branch": "more-data",
        "head_repository": {"full_name": "acme/model"},
        "actor": {"login": "octocat"},
        "triggering_actor": {"login": "octocat"},
        "pull_requests": [],  # GitHub empties it once the pull request is merged
    }
    return {**record, **changes}


def test_the_pull_requests_own_run_vouches():
    found = review_run.own_review(PULL, [run(1)])
    assert found == {"run_id": 1, "conclusion": "success", "why": "run 1 (pull_request) passed"}


def test_a_manual_dispatch_never_counts_whatever_it_concluded():
    runs = [run(1, conclusion="failure"), run(2, "workflow_dispatch"), run(3, "workflow_dispatch")]
    assert review_run.own_review(PULL, runs)["conclusion"] == "failure"
    assert review_run.own_review(PULL, runs[1:])["run_id"] is None


def test_any_failed_review_of_the_head_means_no_vouching():
    """Another pull request of the same head (into another branch) cannot be told apart: fail closed."""
    found = review_run.own_review(PULL, [run(1), run(2, conclusion="failure"), run(3)])
    assert found["run_id"] == 2 and found["conclusion"] == "failure"
    assert found["why"] == "1 of 3 reviews of its head did not pass (run 2: failure)"


def test_cancelled_and_unfinished_runs_are_no_evidence():
    runs = [run(1), run(2, conclusion="cancelled"), run(3, status="in_progress", conclusion=None)]
    assert review_run.own_review(PULL, runs)["run_id"] == 1


def test_runs_of_another_head_branch_or_fork_do_not_count():
    runs = [
        run(1, head_sha="b" * 40),
        run(2, head_branch="elsewhere"),
        run(3, head_repository={"full_name": "someone/fork"}),
    ]
    assert review_run.own_review(PULL, runs)["run_id"] is None


def test_the_drift_jobs_dispatch_vouches_for_a_retraining_pr_and_a_persons_does_not():
    retraining = {**PULL, "head": {**PULL["head"], "ref": "retrain/drift"}}
    bot = run(5, "workflow_dispatch", head_branch="retrain/drift", actor={"login": "github-actions[bot]"})
    person = run(6, "workflow_dispatch", head_branch="retrain/drift")
    assert review_run.own_review(retraining, [bot, person])["run_id"] == 5
    rerun = {**bot, "triggering_actor": {"login": "octocat"}}  # someone re-ran the drift job's review
    assert review_run.own_review(retraining, [rerun])["run_id"] == 5
    assert review_run.own_review(retraining, [person])["run_id"] is None


def test_a_forks_dispatch_does_not_count():
    fork = {**PULL, "head": {**PULL["head"], "repo": {"full_name": "someone/fork"}}}
    dispatched = run(5, "workflow_dispatch", head_repository={"full_name": "someone/fork"},
                     actor={"login": "github-actions[bot]"})  # fmt: skip
    assert review_run.own_review(fork, [dispatched])["run_id"] is None


def test_the_merged_pull_request_is_the_one_merged_as_this_commit():
    other = {**PULL, "number": 8, "merge_commit_sha": "z" * 40}
    unmerged = {**PULL, "number": 9, "merged_at": None}
    assert review_run.merged_pull([other, unmerged, PULL], "m" * 40)["number"] == 7
    assert review_run.merged_pull([other, unmerged], "m" * 40) is None


def test_a_failed_api_call_names_the_route_and_what_github_said(monkeypatch):

    def refuse(args):
        raise github_setup.GitHubError(404, "Not Found")

    monkeypatch.setattr(github_setup, "gh", refuse)
    with pytest.raises(errors.ProjectError) as refused:
        review_run.merged_review("acme/model", "m" * 40)
    assert (
        str(refused.value) == f"gh api repos/acme/model/commits/{'m' * 40}/pulls failed: Not Found (HTTP 404)"
    )
