"""The release's own checks: the model must be the one its pull request reviewed, and the model
card says what a user of the service needs (data, schema, metrics with intervals, how to call it)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from support import explain, invoke

from {{ cookiecutter.__package_name }} import data, errors, models, payloads, release, schema


def write_verdict(reviewed: Path, verdict: str) -> None:
    """comparison.json with its verdict; the rest, which the release does not read, shaped otherwise (as
    by another version of the code)."""
    record = {"verdict": verdict, "primary_metric": "x", "gate": {}, "changes": None}
    (reviewed / "comparison.json").write_text(json.dumps(record))


@pytest.fixture
def reviewed(tmp_path, trained):
    """A review artifact as train.yml uploads it, made from the same model, whose verdict was `better`.

    Its pr-number names PR #99: the release must not believe it (the PR's code wrote it)."""
    folder = tmp_path / "model-review"
    folder.mkdir()
    shutil.copy(trained / "metrics.json", folder / "challenger-metrics.json")
    (folder / "pr-number").write_text("99 [click here](https://example.com)\n")
    write_verdict(folder, "better")
    return folder


def tamper(reviewed, change) -> None:
    path = reviewed / "challenger-metrics.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_same_model_matches_its_passing_review(metrics, reviewed):
    assert release.check_review(metrics, reviewed, 12, "success") == {
        "status": "match",
        "pr": 12,  # from GitHub's API, not the artifact's pr-number
        "conclusion": "success",
        "verdict": "better",
        "vouched": True,
    }


def test_a_review_that_failed_but_was_merged_is_not_vouched_for(metrics, reviewed):
    write_verdict(reviewed, "worse")
    found = release.check_review(metrics, reviewed, 12, "failure")
    assert found["status"] == "match" and found["verdict"] == "worse" and not found["vouched"]


def test_an_unknown_verdict_in_the_artifact_is_not_repeated(metrics, reviewed):
    write_verdict(reviewed, "better <script>")
    assert release.check_review(metrics, reviewed, 12, "success")["verdict"] is None


def test_no_review_is_said_not_hidden(metrics, tmp_path):
    for artifact in (None, tmp_path / "missing"):
        found = release.check_review(metrics, artifact, None, None)
        assert found["status"] == "unreviewed" and not found["vouched"]


def test_a_different_metric_fails_with_both_values(metrics, reviewed):
    metric = metrics["primary_metric"]
    released = metrics["holdout"]["metrics"][metric]

    def change(record):
        record["holdout"]["metrics"][metric] = released + 0.001

    tamper(reviewed, change)
    with pytest.raises(errors.ModelError) as caught:
        release.check_review(metrics, reviewed, 12, "success")
    message = str(caught.value)
    assert "pull request #12 reviewed" in message
    assert f"holdout {metric}: reviewed {released + 0.001!r}, released {released!r}" in message


def test_other_data_is_named_as_the_reason(metrics, reviewed):
    tamper(reviewed, lambda record: record["hashes"].update(data="0" * 64))
    with pytest.raises(errors.ModelError, match="data hash: reviewed 000000000000, released"):
        release.check_review(metrics, reviewed, 12, "success")


def test_model_card_cli_writes_the_card(project, trained, reviewed, tmp_path, params, monkeypatch):
    out, outputs = tmp_path / "MODEL_CARD.md", tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    result = invoke(
        "model-card", "--params", project, "--model", trained, "--reviewed", reviewed, "--pr", 12,
        "--review-conclusion", "success", "--image", "ghcr.io/acme/churn:abc123", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, explain(result)
    assert "Holdout metrics equal to the reviewed ones. Wrote" in result.output
    assert outputs.read_text() == "vouched=true\n"
    card = out.read_text()
    assert card.startswith(f"# Model card: {models.MODEL_NAME}:{models.model_version(trained)}")
    assert "equal those pull request #12 reviewed" in card
    assert "Verdict: better; the review check: success." in card
    assert "#99" not in card and "example.com" not in card and "[!WARNING]" not in card
    for section in (
        "## Intended use",
        "## Training data",
        "## Schema",
        "## Holdout metrics",
        "## Limitations",
    ):
        assert section in card
    for metric in params.metrics:
        assert f"| {metric}" in card
    assert "docker run --rm -p 3000:3000 ghcr.io/acme/churn:abc123" in card
    recorded = json.loads((trained / "metrics.json").read_text())
    assert f"Candidate `{recorded['chosen']}`" in card
    # The no-skill floor next to every metric, and the decision threshold of a binary classifier.
    for metric, floor in recorded["no_skill"]["holdout"].items():
        assert re.search(rf"^\| {metric}( \(primary\))? \| .* \| {floor:.4f} \|$", card, re.MULTILINE), metric
    assert f"| _no skill (baseline)_ | {recorded['no_skill']['cv']['mean']:.4f} ± " in card
    if recorded["threshold"] is not None:  # the rule in the same words as the service's answers
        rule = f"when P({params.data.positive_class}) is at least {recorded['threshold']:.4g}, else"
        assert f"**Decision:** {params.data.positive_class} {rule}" in card
    elif params.task == "classification":
        assert "**Decision:** the most probable class" in card
    else:
        assert "**Decision:**" not in card

    example = json.loads(card.split("```json\n")[1].split("```")[0])
    numeric, categorical = data.feature_columns()
    Record = payloads.record_model(schema.TrainingData.to_schema(), numeric + categorical, params.data.target)
    for record in example["records"]:
        Record.model_validate(record)  # the documented request is one the service accepts


def test_model_card_cli_refuses_a_model_that_differs_from_its_review(project, trained, reviewed, tmp_path):
    tamper(reviewed, lambda record: record.update(chosen="something-else"))
    result = invoke("model-card", "--params", project, "--model", trained, "--reviewed", reviewed,
                    "--out", tmp_path / "card.md")  # fmt: skip
    assert result.exit_code == 1
    assert "error: the model trained for release differs" in result.output
    assert "chosen candidate: reviewed something-else" in result.output
    assert not (tmp_path / "card.md").exists()


def test_a_merged_failing_review_is_released_as_a_warning_not_a_deploy(
    project, trained, reviewed, tmp_path, monkeypatch
):
    """Decision: a PR merged although its review failed is published (main is the truth) as a
    pre-release the card warns about, and is not deployed automatically."""
    write_verdict(reviewed, "worse")
    out, outputs = tmp_path / "MODEL_CARD.md", tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    result = invoke("model-card", "--params", project, "--model", trained, "--reviewed", reviewed,
                    "--pr", 12, "--review-conclusion", "failure", "--out", out)  # fmt: skip
    assert result.exit_code == 0, explain(result)
    assert "no passing review vouches for it: a pre-release, not deployed" in result.output
    assert outputs.read_text() == "vouched=false\n"
    card = out.read_text()
    assert "Verdict: worse; the review check: failure." in card
    warning = "> [!WARNING]\n> No passing review vouches for this model (its review check ended: failure)"
    assert warning in card


def test_model_card_cli_refuses_a_pr_that_is_not_a_number(project, trained, reviewed, tmp_path):
    result = invoke("model-card", "--params", project, "--model", trained, "--reviewed", reviewed,
                    "--pr", "12; rm -rf /", "--out", tmp_path / "card.md")  # fmt: skip
    assert result.exit_code == 2 and "Invalid value for '--pr'" in result.output


@pytest.mark.parametrize(
    "text", ['{"outcome": "better"}', '{"verdict": ["better"]}', "{not json", '{"verdict": "great"}']
)
def test_a_malformed_review_record_gives_no_verdict_not_a_crash(metrics, reviewed, text):
    (reviewed / "comparison.json").write_text(text)
    assert release.check_review(metrics, reviewed, 12, "success")["verdict"] is None


def test_only_the_verdict_of_the_review_record_is_read(metrics, reviewed):
    """A PR reviewed by an older version of the code (its record shaped otherwise) still has its verdict."""
    (reviewed / "comparison.json").write_text(json.dumps({"verdict": "better", "holdout": {"rows": 10}}))
    assert release.check_review(metrics, reviewed, 12, "success")["verdict"] == "better"
