"""Tier 3: the PR review loop under act, against the fake GitHub (tests/fakes). train.yml scores a PR
branch against main in a throw-away repo; pr-comment.yml, triggered by that run, downloads its artifact
and posts it as one sticky comment on the pull request, updated (not duplicated) on re-runs. The drift
job's dispatched review of its retraining PR sets the PR's required check as a commit status.

Regression (bike sharing) is used, with candidates that differ by a wide, certain margin on its
latest months (the time split's holdout), so "better" and "worse" branches are unambiguous even on
a 2-fold, quick training.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fakes.github import FakeGitHub
from harness.act import FAKES, act
from harness.params import QUICK, edit_params, use_candidates
from harness.project import UV, bake, cli, commit, git_init, head_sha, run

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
REPO = "acme/bike-model"
STICKY = "marocchino/sticky-pull-request-comment"
STRONG = {"hist_gradient_boosting": {"estimator": "hist_gradient_boosting", "params": {"max_iter": 200}}}
# A linear model all but flattened by its penalty: RMSE 236 on the time holdout against QUICK's 190.
WEAK = {"linear": {"estimator": "linear", "params": {"alpha": 100000.0}}}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    """A baked regression project whose main trains a deliberately modest model."""
    project = bake(tmp_path_factory.mktemp("repo"), task="regression")
    use_candidates(project, QUICK)
    git_init(project)
    return project, head_sha(project)


def pull_request(repo, branch: str, change, tmp: Path, github: FakeGitHub, number: int):
    """Commit `change` on a new branch off main and run train.yml for it as PR `number`."""
    project, main = repo
    run(["git", "checkout", "-q", "-B", branch, main], project)
    change(project)
    head = commit(project, branch)
    payload = {
        "pull_request": {
            "number": number,
            "base": {"sha": main, "ref": "main"},
            "head": {"sha": head, "ref": branch},
        }
    }
    try:
        return act(project, "train.yml", "pull_request", tmp / "review", payload, github=github)
    finally:
        run(["git", "checkout", "-q", "main"], project)


def comment_run(project: Path, tmp: Path, github: FakeGitHub, review_run: int):
    """pr-comment.yml for the completed train.yml run `review_run`, as GitHub triggers it."""
    (reviewed,) = [r for r in github.runs() if r["databaseId"] == review_run]
    payload = {
        "workflow_run": {
            "id": review_run,
            "event": reviewed["event"],
            "conclusion": reviewed["conclusion"],
            "head_sha": reviewed["headSha"],
            "head_repository": {"full_name": github.state()["repo"]},
        }
    }
    return act(project, "pr-comment.yml", "workflow_run", tmp, payload, github=github)


def sticky(comment: str) -> str:
    """The body the sticky-comment action posts: the file, then its header marker."""
    return f"{comment}\n<!-- Sticky Pull Request Commentmodel-review -->"


def stronger_model_and_more_rows(project: Path) -> None:
    use_candidates(project, STRONG)
    data = project / "data" / "bike-sharing-hour.csv"
    later = (project / "data" / "later" / "bike-sharing-hour.csv").read_text().splitlines()
    data.write_text(data.read_text() + "\n".join(later[1:51]) + "\n")  # 50 rows of July 2012


REVIEW_RECORDS = {"pr-number", "comment.md", "comparison.json", "challenger-metrics.json"}


def assert_records_only(review: Path) -> None:
    """The artifact anyone with read access can download: the records the comment and the release read,
    never data (the holdout, predictions, the base's data kept by DVC) or a model."""
    files = {str(p.relative_to(review)) for p in review.rglob("*") if p.is_file()}
    assert files == REVIEW_RECORDS
    assert set(json.loads((review / "challenger-metrics.json").read_text())["hashes"]) >= {"data", "holdout"}


@pytest.fixture
def github(tmp_path) -> FakeGitHub:
    return FakeGitHub(tmp_path / "github", repo=REPO)


def test_better_pr_passes_and_its_comment_is_posted_once(repo, tmp_path, github):
    result = pull_request(repo, "better", stronger_model_and_more_rows, tmp_path, github, number=11)

    assert result.returncode == 0, result.log[-4000:]
    review = github.artifact("model-review", run_id=result.run_id)
    comment = (review / "comment.md").read_text()
    assert "## ✅ Model review: better" in comment
    assert "RMSE went from" in comment and "so the challenger is better" in comment
    assert "Params: `train.candidates.hist_gradient_boosting.params.max_iter`: `20` → `200`" in comment
    assert "Training data: 13,003 → 13,053 rows (+50 added, −0 removed)" in comment
    assert "> The holdout changed between base and head" in comment  # some new rows joined it
    assert "Dependencies: uv.lock unchanged" in comment
    assert "## ✅ Model review: better" in result.summary  # the same text in the job summary
    assert comment.count("```mermaid") == 2 and "Mean prediction by actual value" in comment
    # The log says what runs: each fold with its score and time, and the champion's own run, live.
    assert re.search(
        r"\[ *\d+\.\ds\]   hist_gradient_boosting fold 2/2: rmse [\d.]+ \(\d+\.\d s\)", result.log
    )
    assert "champion | Cross-validating hist_gradient_boosting" in result.log
    assert not re.search(r"champion \| \[ *\d+\.\ds\]", result.log)  # one timestamp a line, the review's
    assert (review / "pr-number").read_text().strip() == "11"
    assert_records_only(review)
    assert github.state()["statuses"] == []  # a pull_request run's own check run is the PR's check

    posted = comment_run(repo[0], tmp_path / "comment", github, result.run_id)
    assert posted.returncode == 0, posted.log[-3000:]
    (call,) = posted.calls(STICKY)
    assert call == {"header": "model-review", "number": "11", "path": "review/comment.md"}
    (download,) = posted.calls("actions/download-artifact")  # the triggering run's artifact
    assert download["name"] == "model-review" and download["run-id"] == str(result.run_id)
    (on_pr,) = github.comments(11)
    assert on_pr["body"] == sticky(comment) and on_pr["author"] == "github-actions"
    (created,) = posted.outputs(STICKY)
    assert created == {"previous_comment_id": "", "created_comment_id": str(on_pr["id"])}

    again = comment_run(repo[0], tmp_path / "again", github, result.run_id)  # a re-run updates it
    assert again.returncode == 0, again.log[-3000:]
    (updated,) = again.outputs(STICKY)
    assert updated == {"previous_comment_id": str(on_pr["id"])}
    assert github.comments(11) == [on_pr]


def test_a_data_change_in_dvc_is_reviewed_against_the_base_version(tmp_path, github):
    """The training data in a DVC remote (a folder): the PR adds rows (a new pointer), the review job
    fetches the head's version, the champion's worktree the base's, and the comment shows both."""
    project = bake(tmp_path / "repo", task="regression")
    use_candidates(project, QUICK)
    git_init(project)
    run([UV, "add", "dvc[s3]"], project)
    cli(project, "data-remote", str(tmp_path / "remote"))
    main = commit(project, "training data in DVC")
    base_md5 = re.search(r"md5: (\w+)", (project / "data" / "bike-sharing-hour.csv.dvc").read_text())[1]
    run(["git", "checkout", "-q", "-b", "more-rows"], project)
    stronger_model_and_more_rows(project)  # what a team does after editing the data:
    run([UV, "run", "--locked", "dvc", "add", "data/bike-sharing-hour.csv"], project)
    run([UV, "run", "--locked", "dvc", "push"], project)
    head = commit(project, "50 more rows")
    head_md5 = re.search(r"md5: (\w+)", (project / "data" / "bike-sharing-hour.csv.dvc").read_text())[1]
    (project / "data" / "bike-sharing-hour.csv").unlink()  # a workflow's checkout: pointers only
    shutil.rmtree(project / ".dvc" / "cache")
    payload = {"pull_request": {"number": 12, "base": {"sha": main, "ref": "main"},
                                "head": {"sha": head, "ref": "more-rows"}}}  # fmt: skip

    result = act(project, "train.yml", "pull_request", tmp_path / "review", payload, github=github)

    assert result.returncode == 0, result.log[-4000:]
    assert "Fetched data/bike-sharing-hour.csv" in result.log
    assert re.search(r"Champion at \w+: fetch the data \(DVC\)", result.log)
    review = github.artifact("model-review", run_id=result.run_id)
    assert_records_only(review)  # the base's data, fetched for the champion, stayed in RUNNER_TEMP
    comment = (review / "comment.md").read_text()
    assert "## ✅ Model review: better" in comment
    assert f"Training data version (DVC, md5): `{base_md5[:12]}` → `{head_md5[:12]}`" in comment
    assert "Training data: 13,003 → 13,053 rows (+50 added, −0 removed)" in comment


def test_worse_pr_fails_after_uploading_its_comment(repo, tmp_path, github):
    result = pull_request(repo, "worse", lambda p: use_candidates(p, WEAK), tmp_path, github, number=12)

    assert result.returncode != 0
    assert "The challenger is worse than the champion" in result.log
    (run_record,) = github.runs()
    assert run_record["databaseId"] == result.run_id and run_record["conclusion"] == "failure"
    comment = (github.artifact("model-review", run_id=result.run_id) / "comment.md").read_text()
    assert "## ❌ Model review: worse" in comment and "so this check fails" in comment  # uploaded first
    assert "Model: champion `hist_gradient_boosting`, challenger `linear`" in comment

    posted = comment_run(repo[0], tmp_path / "comment", github, result.run_id)  # a failed review too
    assert posted.returncode == 0, posted.log[-3000:]
    assert [c["body"] for c in github.comments(12)] == [sticky(comment)]


def test_pr_that_cannot_be_compared_fails_after_uploading_its_comment(repo, tmp_path, github):
    """Fewer fair holdout rows than gate.min_rows: no verdict, and the check fails (train.yml's last step)."""

    def demand_more_rows(project: Path) -> None:
        edit_params(project, lambda p: p["gate"].update(min_rows=1_000_000))  # more than the whole holdout

    result = pull_request(repo, "uncomparable", demand_more_rows, tmp_path, github, number=14)

    assert result.returncode != 0
    assert "Too few holdout rows that the champion did not train on" in result.log
    assert "The challenger is worse" not in result.log
    comment = (github.artifact("model-review", run_id=result.run_id) / "comment.md").read_text()
    assert "## ⚠️ Model review: not comparable" in comment
    assert "fewer than `gate.min_rows` (1,000,000), so there is no verdict and this check fails" in comment
    posted = comment_run(repo[0], tmp_path / "comment", github, result.run_id)
    assert posted.returncode == 0, posted.log[-3000:]
    assert [c["body"] for c in github.comments(14)] == [sticky(comment)]


def test_a_new_category_is_left_out_of_the_comparison_not_a_way_around_it(repo, tmp_path, github):
    """A PR that widens a check (a third year, `yr` 2) and adds rows with it: the champion's schema
    refuses those rows, so they are left out and counted, and the rest are compared: the gate still
    judges the PR (before, the champion's predict failed and "no champion" passed the check)."""

    def a_new_year(project: Path) -> None:
        schema = project / "src" / "my_ml_project" / "schema.py"
        text = schema.read_text()
        assert "yr: Series[int] = pa.Field(ge=0, le=1)" in text
        schema.write_text(text.replace("pa.Field(ge=0, le=1)", "pa.Field(ge=0, le=2)", 1))
        data = project / "data" / "bike-sharing-hour.csv"
        header, *later = (project / "data" / "later" / "bike-sharing-hour.csv").read_text().splitlines()
        year = header.split(",").index("yr")
        moved = [",".join("2" if i == year else v for i, v in enumerate(r.split(","))) for r in later[:400]]
        data.write_text(data.read_text() + "\n".join(moved) + "\n")

    result = pull_request(repo, "new-year", a_new_year, tmp_path, github, number=17)

    assert result.returncode == 0, result.log[-4000:]
    review = github.artifact("model-review", run_id=result.run_id)
    record = json.loads((review / "comparison.json").read_text())
    refused = record["holdout"]["refused_by_champion"]
    assert record["verdict"] in {"no significant change", "better"} and refused["rows"] > 40
    assert record["holdout"]["compared"] == record["holdout"]["rows"] - refused["rows"]
    comment = (review / "comment.md").read_text()
    said = f"{refused['rows']:,} holdout rows were left out because the champion's schema refuses them"
    assert said in comment
    assert "(`yr` less_than_or_equal_to(1): " in comment


def test_a_champion_that_cannot_be_trained_fails_the_check(repo, tmp_path, github):
    """Only a base without a project passes without a champion: a base whose model fails fails closed."""
    project, main = repo
    run(["git", "checkout", "-q", "-B", "broken-main", main], project)
    gone = {"gone": {"estimator": "no_such_package.Model", "params": {}}}
    edit_params(project, lambda p: p["train"].update(candidates=gone))
    broken = commit(project, "a candidate that cannot be imported")
    run(["git", "checkout", "-q", "-B", "fix"], project)
    use_candidates(project, QUICK)
    head = commit(project, "fix")
    payload = {"pull_request": {"number": 18, "base": {"sha": broken, "ref": "main"},
                                "head": {"sha": head, "ref": "fix"}}}  # fmt: skip
    try:  # act reviews the checked-out tree, as actions/checkout would leave it
        result = act(project, "train.yml", "pull_request", tmp_path / "review", payload, github=github)
    finally:
        run(["git", "checkout", "-q", "main"], project)

    assert result.returncode != 0, result.log[-4000:]
    assert "The champion (the base's model) could not be trained, loaded or scored" in result.log
    review = github.artifact("model-review", run_id=result.run_id)
    assert_records_only(review)
    comment = (review / "comment.md").read_text()
    assert "## ❌ Model review: champion failed" in comment
    assert "could not be scored: `train` failed at" in comment and "so this check fails" in comment
    assert "no_such_package" in comment  # the champion's log tail says why


def test_pr_that_changes_the_split_is_judged_on_rows_neither_model_trained_on(repo, tmp_path, github):
    """A larger holdout reaches back into rows the champion trained on (the tenth before its own
    holdout, under the time split): they are left out, not scored."""

    def larger_holdout(project: Path) -> None:
        edit_params(project, lambda p: p["split"].update(holdout_fraction=0.3))

    result = pull_request(repo, "larger-holdout", larger_holdout, tmp_path, github, number=15)

    assert result.returncode == 0, result.log[-4000:]
    review = github.artifact("model-review", run_id=result.run_id)
    record = json.loads((review / "comparison.json").read_text())
    holdout = record["holdout"]
    assert holdout["split"] == "time"
    assert record["verdict"] in {"no significant change", "better"}  # the same model on both sides
    assert holdout["left_out"]["same row"] > 0.3 * holdout["rows"]  # a third were the base's training rows
    comment = (review / "comment.md").read_text()
    left = sum(holdout["left_out"].values())
    assert holdout["compared"] == holdout["rows"] - left
    said = f"{left:,} of the {holdout['rows']:,} holdout rows were left out because the champion trained"
    assert said in comment
    assert "Params: `split.holdout_fraction`: `0.2` → `0.3`" in comment


def test_pr_that_cannot_change_the_model_passes_without_a_review(repo, tmp_path, github):
    """The check is required, so it must report on every PR: a docs-only one skips the review job."""

    def edit_readme(project: Path) -> None:
        (project / "README.md").write_text((project / "README.md").read_text() + "\nA note.\n")

    result = pull_request(repo, "docs", edit_readme, tmp_path, github, number=16)

    assert result.returncode == 0, result.log[-4000:]
    assert "the model cannot change, so there is nothing to review" in result.summary
    assert "champion vs challenger" not in result.log  # the review job was skipped, not run
    with pytest.raises(FileNotFoundError):
        github.artifact("model-review", run_id=result.run_id)

    posted = comment_run(repo[0], tmp_path / "comment", github, result.run_id)
    assert posted.returncode == 0, posted.log[-3000:]
    assert "has no model-review artifact (the review was skipped" in posted.log
    assert posted.calls(STICKY) == [] and github.comments(16) == []


def test_schema_breaking_pr_fails_validation_with_the_table_as_comment(repo, tmp_path, github):
    def break_schema(project: Path) -> None:  # a new row with humidity 5.0, outside [0, 1]
        data = project / "data" / "bike-sharing-hour.csv"
        header, *rows = data.read_text().splitlines()
        values = rows[-1].split(",")
        values[header.split(",").index("hum")] = "5.0"
        data.write_text("\n".join([header, *rows, ",".join(values)]) + "\n")

    result = pull_request(repo, "broken", break_schema, tmp_path, github, number=13)

    assert result.returncode != 0
    comment = (github.artifact("model-review", run_id=result.run_id) / "comment.md").read_text()
    assert "1 schema violation" in comment and "| hum | less_than_or_equal_to(1.0) | 1 | 5.0 |" in comment
    posted = comment_run(repo[0], tmp_path / "comment", github, result.run_id)
    assert posted.returncode == 0, posted.log[-3000:]
    assert [c["body"] for c in github.comments(13)] == [sticky(comment)]


def test_pr_comment_refuses_a_pr_number_that_is_not_an_integer(repo, tmp_path, github):
    """A review artifact is data from the PR's code: a crafted pr-number is refused, nothing posted."""
    project, main = repo
    number = github.add_pull(head_sha=main, head_ref="crafted", number=12)
    review_run = github.add_run("train.yml", head_sha=main, head_branch="crafted", run_id=4242)
    review = github.root / "artifacts" / str(review_run) / "model-review"  # as upload-artifact stores it
    review.mkdir(parents=True)
    (review / "pr-number").write_text("12; rm -rf /\n")
    (review / "comment.md").write_text("hello\n")

    posted = comment_run(project, tmp_path / "comment", github, review_run)

    assert posted.returncode != 0
    assert "review/pr-number is not a pull request number" in posted.log
    assert posted.calls(STICKY) == []
    assert github.comments(number) == []


def test_pr_comment_refuses_an_artifact_that_names_another_pull_request(repo, tmp_path, github):
    """A fork's review artifact naming another open PR: its head is not the run's, so nothing is posted."""
    project, main = repo
    other = github.add_pull(head_sha="1" * 40, head_ref="someone-elses", number=11)
    forked = github.add_pull(head_sha=main, head_ref="fork-branch", number=12)
    review_run = github.add_run("train.yml", head_sha=main, head_branch="fork-branch", run_id=4343)
    review = github.root / "artifacts" / str(review_run) / "model-review"  # as upload-artifact stores it
    review.mkdir(parents=True)
    (review / "pr-number").write_text(f"{other}\n")
    (review / "comment.md").write_text("## ✅ Model review: better (a fake verdict)\n")

    posted = comment_run(project, tmp_path / "comment", github, review_run)

    assert posted.returncode != 0
    assert f"names pull request #{other}, whose head is {REPO}@{'1' * 40}" in posted.log
    assert f"but this review ran on {REPO}@{main}: nothing posted" in posted.log
    assert posted.calls(STICKY) == []
    assert github.comments(other) == [] and github.comments(forked) == []


# ---- the drift job's dispatched review: the required check as a commit status on the PR's head ----
DRIFT_DISPATCHER = "github-actions[bot]"  # the actor of a dispatch made with GITHUB_TOKEN
CHECK = "champion vs challenger"  # the check setup-github requires


def dispatched(repo, branch: str, change, tmp: Path, github: FakeGitHub, number: int,
               actor: str = DRIFT_DISPATCHER, job: str | None = None):  # fmt: skip
    """train.yml as drift.yml dispatches it for its retraining PR `number` (`gh workflow run train.yml
    --ref BRANCH -f pr=N` with GITHUB_TOKEN): the branch pushed to GitHub, the open PR, then the run
    (main as the base, which act's clone has no origin/main for). Returns (run, the PR's head)."""
    project, main = repo
    run(["git", "checkout", "-q", "-B", branch, main], project)
    change(project)
    head = commit(project, branch)
    run(["git", "push", "-q", "-f", str(github.remote), f"{branch}:refs/heads/{branch}"], project)
    github.add_pull(head_sha=head, head_ref=branch, base_sha=main, number=number)
    payload = {"inputs": {"pr": str(number), "base": main}, "sender": {"login": actor}}
    try:
        done = act(project, "train.yml", "workflow_dispatch", tmp / "review", payload, job=job,
                   act_args=("--actor", actor), github=github)  # fmt: skip
    finally:
        run(["git", "checkout", "-q", "main"], project)
    return done, head


def required_check(project: Path) -> str:
    """The check setup-github requires: the review job's name."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "train.yml").read_text())
    return workflow["jobs"]["review"]["name"]


def test_the_drift_jobs_dispatched_review_sets_the_required_check_on_the_prs_head(repo, tmp_path, github):
    """A retraining PR opened with GITHUB_TOKEN starts no workflow and its dispatched review is not
    attached to it: the review posts the check on the PR's head as a commit status of the same name,
    pending while it runs (linking the run), then success for a passing review."""
    result, head = dispatched(repo, "retrain/drift", stronger_model_and_more_rows, tmp_path, github, 21)

    assert result.returncode == 0, result.log[-4000:]
    assert github.pull(21)["head"]["sha"] == head
    done, running = github.statuses(head)  # newest first: the merge box shows the newest
    assert (running["state"], running["description"]) == ("pending", "The model review is running")
    assert (done["state"], done["description"]) == ("success", "Passed: better")
    for status in (done, running):
        assert status["context"] == required_check(repo[0]) == CHECK
        assert status["target_url"] == f"https://github.com/{REPO}/actions/runs/{result.run_id}"
        assert status["creator"]["login"] == DRIFT_DISPATCHER  # the workflow token's bot
    posts = [c for c in github.gh_calls() if c[:2] == ["api", f"repos/{REPO}/statuses/{head}"]]
    assert len(posts) == 2  # one from each status job, none from the jobs that run the project


def test_a_worse_dispatched_review_fails_the_retraining_prs_check(repo, tmp_path, github):
    result, head = dispatched(repo, "retrain/drift", lambda p: use_candidates(p, WEAK), tmp_path, github, 22)

    assert result.returncode != 0
    assert "The challenger is worse than the champion" in result.log
    done, running = github.statuses(head)
    assert running["state"] == "pending"
    assert (done["state"], done["context"]) == ("failure", CHECK)
    assert done["description"] == "Failed (verdict: worse): see the comment on the pull request"


@pytest.mark.parametrize("actor", ["octocat", DRIFT_DISPATCHER])
def test_only_the_drift_jobs_dispatch_posts_a_status(repo, tmp_path, github, actor):
    """A person's dispatch (which may name any base) never sets the check. The pending job alone: quick."""

    def weaker(project: Path) -> None:
        use_candidates(project, WEAK)

    result, head = dispatched(repo, "a-branch", weaker, tmp_path, github, 23, actor=actor, job="pending")

    assert result.returncode == 0, result.log[-4000:]
    assert [s["state"] for s in github.statuses(head)] == (["pending"] if actor == DRIFT_DISPATCHER else [])


def test_the_fake_refuses_a_status_as_github_does(tmp_path, github):
    """POST repos/R/statuses/SHA on the fake GitHub: 403 without `statuses: write` in the job, 422 for a
    commit GitHub does not have, a state outside the four and a description over 140 characters."""
    project = tmp_path / "repo"
    project.mkdir()
    (project / "README.md").write_text("A commit GitHub has.\n")
    git_init(project)
    sha = head_sha(project)
    run(["git", "push", "-q", str(github.remote), "HEAD:refs/heads/main"], project)
    workflow = tmp_path / "workflow.yml"
    jobs = {"reads": {"permissions": {"contents": "read"}}, "writes": {"permissions": {"statuses": "write"}}}
    workflow.write_text(yaml.safe_dump({"jobs": jobs}))

    def post(job: str, *fields: str, commit: str = sha) -> subprocess.CompletedProcess:
        env = {"FAKE_GITHUB": str(github.root), "GH_TOKEN": "github-token", "GITHUB_JOB": job,
               "ACT_WORKFLOW_FILE": str(workflow)}  # fmt: skip
        gh = [sys.executable, str(FAKES / "bin" / "gh"), "api", f"repos/{REPO}/statuses/{commit}"]
        return run([*gh, "-f", f"context={CHECK}", *fields], project, check=False, **env)

    refused = {
        "Resource not accessible by integration (HTTP 403)": post("reads", "-f", "state=success"),
        f"No commit found for SHA: {'0' * 40} (HTTP 422)": post("writes", "-f", "state=on", commit="0" * 40),
        "Validation Failed (HTTP 422)": post("writes", "-f", "state=passed"),
    }
    for message, done in refused.items():
        assert done.returncode == 1 and done.stderr == f"gh: {message}\n", done.stderr
    assert json.loads(refused["Validation Failed (HTTP 422)"].stdout)["errors"][0]["message"] == (
        "state is not included in the list"
    )
    long = post("writes", "-f", "state=success", "-f", f"description={'x' * 141}")
    assert "description is too long (maximum is 140 characters)" in long.stdout and long.returncode == 1
    assert github.statuses(sha) == []

    created = post("writes", "-f", "state=failure")
    assert created.returncode == 0, created.stderr
    (status,) = github.statuses(sha)
    assert json.loads(created.stdout) == {k: v for k, v in status.items() if k != "sha"}
    assert (status["state"], status["context"], status["description"]) == ("failure", CHECK, None)
