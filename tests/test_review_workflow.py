"""Tier 3: the PR review loop under act. train.yml scores a PR branch against main in a throw-away
repo; pr-comment.yml posts its artifact as one sticky comment, updated (not duplicated) on re-runs.

Regression (bike sharing) is used because its candidates differ by a wide, certain margin, so
"better" and "worse" branches are unambiguous even on a 2-fold, quick training.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from act_runner import act
from conftest import bake, git_init, run

pytestmark = pytest.mark.slow
QUICK = {
    "hist_gradient_boosting": {
        "estimator": "hist_gradient_boosting",
        "params": {"max_iter": 20, "max_depth": 2},
    }
}
STRONG = {"hist_gradient_boosting": {"estimator": "hist_gradient_boosting", "params": {"max_iter": 200}}}
WEAK = {"linear": {"estimator": "linear", "params": {"alpha": 1.0}}}


def edit_params(project: Path, candidates: dict) -> None:
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["train"]["cv_folds"] = 2
    params["train"]["candidates"] = candidates
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def commit(project: Path, message: str) -> str:
    run(["git", "add", "-A"], project)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message], project)
    return run(["git", "rev-parse", "HEAD"], project).stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> tuple[Path, str]:
    """A baked regression project whose main trains a deliberately modest model."""
    project = bake(tmp_path_factory.mktemp("repo"), task="regression")
    edit_params(project, QUICK)
    git_init(project)
    return project, run(["git", "rev-parse", "HEAD"], project).stdout.strip()


def pull_request(repo, branch: str, change, tmp: Path, number: int):
    """Commit `change` on a new branch off main and run train.yml for it as PR `number`."""
    project, main = repo
    run(["git", "checkout", "-q", "-B", branch, main], project)
    change(project)
    head = commit(project, branch)
    payload = {
        "pull_request": {"number": number, "base": {"sha": main, "ref": "main"}, "head": {"sha": head}}
    }
    try:
        return act(project, "train.yml", "pull_request", tmp, payload, artifacts=tmp / "artifacts")
    finally:
        run(["git", "checkout", "-q", "main"], project)


def comment_run(tmp: Path, project: Path):
    payload = {"workflow_run": {"id": 4242, "event": "pull_request", "conclusion": "success"}}
    return act(project, "pr-comment.yml", "workflow_run", tmp, payload, artifacts=tmp / "artifacts")


def artifact(tmp: Path, name: str) -> str:
    return (tmp / "artifacts" / "model-review" / name).read_text()


def stronger_model_and_more_rows(project: Path) -> None:
    edit_params(project, STRONG)
    data = project / "data" / "bike-sharing-hour.csv"
    later = (project / "data" / "later" / "bike-sharing-hour.csv").read_text().splitlines()
    data.write_text(data.read_text() + "\n".join(later[1:51]) + "\n")  # 50 rows of July 2012


def test_better_pr_passes_and_its_comment_is_posted_once(repo, tmp_path):
    result = pull_request(repo, "better", stronger_model_and_more_rows, tmp_path, number=11)

    assert result.returncode == 0, result.log[-4000:]
    comment = artifact(tmp_path, "comment.md")
    assert "## ✅ Model review: better" in comment
    assert "RMSE went from" in comment and "so the challenger is better" in comment
    assert "Params: `train.candidates.hist_gradient_boosting.params.max_iter`: `20` → `200`" in comment
    assert "Training data: 13,003 → 13,053 rows (+50 added, −0 removed)" in comment
    assert "> The holdout changed between base and head" in comment  # some new rows joined it
    assert "Dependencies: uv.lock unchanged" in comment
    assert "## ✅ Model review: better" in result.summary  # the same text in the job summary
    assert artifact(tmp_path, "pr-number").strip() == "11"
    uploaded = tmp_path / "artifacts" / "model-review" / "challenger" / "model"
    assert (uploaded / "metrics.json").is_file()  # what release.yml checks the merged model against
    assert not (uploaded / "model.skops").exists()  # the model itself is not shipped around

    posted = comment_run(tmp_path, repo[0])
    assert posted.returncode == 0, posted.log[-3000:]
    (call,) = posted.calls("marocchino/sticky-pull-request-comment")
    assert call == {"header": "model-review", "number": "11", "path": "review/comment.md"}
    comments = json.loads((tmp_path / "artifacts" / "comments.json").read_text())
    assert comments == {"11/model-review": comment}
    assert posted.calls("sticky-comment-result") == [{"operation": "created", "key": "11/model-review"}]

    again = comment_run(tmp_path, repo[0])  # a re-run of the review updates the same comment
    assert again.calls("sticky-comment-result") == [{"operation": "updated", "key": "11/model-review"}]
    assert len(json.loads((tmp_path / "artifacts" / "comments.json").read_text())) == 1


def test_worse_pr_fails_after_uploading_its_comment(repo, tmp_path):
    result = pull_request(repo, "worse", lambda p: edit_params(p, WEAK), tmp_path, number=12)

    assert result.returncode != 0
    assert "The challenger is worse than the champion" in result.log
    comment = artifact(tmp_path, "comment.md")  # uploaded before the job failed
    assert "## ❌ Model review: worse" in comment and "so this check fails" in comment
    assert "Model: champion `hist_gradient_boosting`, challenger `linear`" in comment


def test_schema_breaking_pr_fails_validation_with_the_table_as_comment(repo, tmp_path):
    def break_schema(project: Path) -> None:  # a new row with humidity 5.0, outside [0, 1]
        data = project / "data" / "bike-sharing-hour.csv"
        header, *rows = data.read_text().splitlines()
        values = rows[-1].split(",")
        values[header.split(",").index("hum")] = "5.0"
        data.write_text("\n".join([header, *rows, ",".join(values)]) + "\n")

    result = pull_request(repo, "broken", break_schema, tmp_path, number=13)

    assert result.returncode != 0
    comment = artifact(tmp_path, "comment.md")
    assert "1 schema violation" in comment and "| hum | less_than_or_equal_to(1.0) | 1 | 5.0 |" in comment
    posted = comment_run(tmp_path, repo[0])
    comments = json.loads((tmp_path / "artifacts" / "comments.json").read_text())
    assert posted.returncode == 0 and comments["13/model-review"] == comment


def test_pr_comment_refuses_a_pr_number_that_is_not_an_integer(repo, tmp_path):
    review = tmp_path / "artifacts" / "model-review"
    review.mkdir(parents=True)
    (review / "pr-number").write_text("12; rm -rf /\n")
    (review / "comment.md").write_text("hello\n")
    posted = comment_run(tmp_path, repo[0])
    assert posted.returncode != 0
    assert "review/pr-number is not a pull request number" in posted.log
    assert posted.calls("marocchino/sticky-pull-request-comment") == []
