"""The release's own checks: the model must be the one its pull request reviewed, and the model
card says what a user of the service needs (data, schema, metrics with intervals, how to call it)."""

from __future__ import annotations

import json
import shutil

import pytest
from support import explain, invoke, pkg

release, records, schema = pkg("release"), pkg("records"), pkg("schema")


@pytest.fixture
def reviewed(tmp_path, trained):
    """A review artifact as train.yml uploads it, for PR #12, made from the same model."""
    folder = tmp_path / "model-review"
    (folder / "challenger" / "model").mkdir(parents=True)
    shutil.copy(trained / "metrics.json", folder / "challenger" / "model" / "metrics.json")
    (folder / "pr-number").write_text("12\n")
    return folder


def tamper(reviewed, change) -> None:
    path = reviewed / "challenger" / "model" / "metrics.json"
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def test_same_model_matches_its_review(metrics, reviewed):
    assert release.check_review(metrics, reviewed) == {"status": "match", "pr": "12"}


def test_no_review_is_said_not_hidden(metrics, tmp_path):
    assert release.check_review(metrics, None)["status"] == "unreviewed"
    assert release.check_review(metrics, tmp_path / "missing")["status"] == "unreviewed"


def test_a_different_metric_fails_with_both_values(metrics, reviewed):
    metric = metrics["primary_metric"]
    released = metrics["holdout"]["metrics"][metric]

    def change(record):
        record["holdout"]["metrics"][metric] = released + 0.001

    tamper(reviewed, change)
    with pytest.raises(pkg("errors").ModelError) as caught:
        release.check_review(metrics, reviewed)
    message = str(caught.value)
    assert "pull request #12 reviewed" in message
    assert f"holdout {metric}: reviewed {released + 0.001!r}, released {released!r}" in message


def test_other_data_is_named_as_the_reason(metrics, reviewed):
    tamper(reviewed, lambda record: record["hashes"].update(data="0" * 64))
    with pytest.raises(pkg("errors").ModelError, match="data hash: reviewed 000000000000, released"):
        release.check_review(metrics, reviewed)


def test_model_card_cli_writes_the_card(project, trained, reviewed, tmp_path, params):
    out = tmp_path / "MODEL_CARD.md"
    result = invoke(
        "model-card", "--params", project, "--model", trained, "--reviewed", reviewed,
        "--image", "ghcr.io/acme/churn:abc123", "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, explain(result)
    assert "Holdout metrics equal to the reviewed ones" in result.output
    card = out.read_text()
    assert card.startswith(f"# Model card: {release.MODEL_NAME}:{release.model_version(trained)}")
    assert "equal those pull request #12 reviewed" in card
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
    chosen = json.loads((trained / "metrics.json").read_text())["chosen"]
    assert f"Candidate `{chosen}`" in card

    example = json.loads(card.split("```json\n")[1].split("```")[0])
    numeric, categorical = pkg("data").feature_columns()
    Record = records.record_model(schema.TrainingData.to_schema(), numeric + categorical, params.data.target)
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
