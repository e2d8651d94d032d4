"""`compare`: the verdict, its reason, and the comment a reviewer reads, including every edge case."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import explain, invoke

from {{ cookiecutter.__package_name }} import (
    changes,
    comparison,
    evaluation,
    models,
    pr_comment,
    progress,
    records,
    review,
)


@pytest.fixture(scope="module")
def holdout(params, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("holdout") / "holdout.csv"
    review.write_holdout(params, path)
    return path


@pytest.fixture(scope="module")
def predictions(trained, holdout, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("preds") / "predictions.csv"
    models.predict_file(trained, holdout, out, [])
    return pd.read_csv(out)


def side(root: Path, trained: Path, preds: pd.DataFrame | None, status: str = "ok", **extra) -> Path:
    """A scored side as `score` leaves it: status.json and, when scored, model/ and predictions.csv."""
    if preds is not None:
        shutil.copytree(trained, root / "model")
        preds.to_csv(root / "predictions.csv", index=False)
    review.write_status(root, status, **extra)
    return root


@pytest.fixture(scope="module")
def good(holdout, params, trained) -> pd.DataFrame:
    """Near-perfect predictions of the holdout (built from its truth): clearly better than any model."""
    truth = pd.read_csv(holdout)[params.data.target]
    classes = json.loads((trained / "model.json").read_text())["classes"]
    if not classes:
        noise = np.random.default_rng(0).normal(0, 0.05 * truth.std(), len(truth))
        return pd.DataFrame({"prediction": truth + noise})
    good = pd.DataFrame({"prediction": truth})
    for c in classes:
        good[f"{evaluation.PROBA_PREFIX}{c}"] = np.where(truth == c, 0.8, 0.2 / (len(classes) - 1))
    return good


def degraded(preds: pd.DataFrame) -> pd.DataFrame:
    """The same predictions shuffled across rows: they then carry no information."""
    rng = np.random.default_rng(0)
    return preds.iloc[rng.permutation(len(preds))].reset_index(drop=True)


def run_compare(params, holdout, champion, challenger) -> tuple[dict, str]:
    record = comparison.compare(params, holdout, champion, challenger, base=None)
    return record, pr_comment.review_comment(record)


def test_identical_models_are_no_significant_change(params, holdout, trained, predictions, tmp_path):
    champion = side(tmp_path / "champion", trained, predictions)
    challenger = side(tmp_path / "challenger", trained, predictions)
    record, comment = run_compare(params, holdout, champion, challenger)
    assert record["verdict"] == "no significant change"
    primary = record["metrics"][0]
    assert primary["metric"] == params.train.primary_metric
    assert primary["delta"] == 0 and primary["low"] <= 0 <= primary["high"]
    assert comment.splitlines()[1] == "## ➖ Model review: no significant change"
    assert "not a significant change" in comment


def test_clearly_better_challenger(params, holdout, trained, good, tmp_path):
    record, comment = run_compare(
        params, holdout, side(tmp_path / "a", trained, degraded(good)), side(tmp_path / "b", trained, good)
    )
    assert record["verdict"] == "better"
    assert "## ✅ Model review: better" in comment
    assert "the interval excludes 0 on the better side" in comment
    label = evaluation.metric_label(params.train.primary_metric)
    assert f"| **{label}** (primary) |" in comment and "▲ better" in comment
    # At a glance: the interval plot puts the primary metric right of 0, and both models' curves follow.
    plot = comment.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert plot[1].startswith(label) and plot[1].endswith("▲ better")
    assert comment.count("```mermaid") == len(record["charts"]) == 2
    assert "Grey line: champion (base) · blue line: challenger (this PR)" in comment
    for chart in record["charts"]:
        assert {"champion", "challenger"} <= {s["name"] for s in chart["series"]}


def test_clearly_worse_challenger_fails_with_the_rule_named(params, holdout, trained, good, tmp_path):
    record, comment = run_compare(
        params, holdout, side(tmp_path / "a", trained, good), side(tmp_path / "b", trained, degraded(good))
    )
    assert record["verdict"] == "worse"
    assert "## ❌ Model review: worse" in comment
    tolerance = pr_comment.tolerance_text(
        record["gate"], evaluation.metric_label(params.train.primary_metric)
    )
    assert f"worse than the tolerance of {tolerance}, so this check fails" in comment


def test_tolerance_is_respected():
    """A regression the interval is sure of, but smaller than the tolerance, does not fail."""
    diff = records.MetricDiff(
        metric="roc_auc",
        champion=0.80,
        challenger=0.79,
        delta=-0.01,
        low=-0.015,
        high=-0.005,
        undefined_share=0.0,
    )
    assert comparison.verdict(diff, direction=1, tolerance=0.02) == "no significant change"
    assert comparison.verdict(diff, direction=1, tolerance=0.001) == "worse"
    # For a metric where lower is better, the same numbers are an improvement.
    assert comparison.verdict(diff, direction=-1, tolerance=0.001) == "better"


def test_no_champion(params, holdout, trained, predictions, tmp_path):
    champion = side(tmp_path / "a", trained, None, "missing", detail="abc123 has no project yet")
    record, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert record["verdict"] == "no champion"
    assert "## 🆕 Model review: no champion" in comment
    assert "No champion to compare with (abc123 has no project yet), so the check passes" in comment
    primary = record["metrics"][0]
    assert primary["champion"] is None and primary["challenger"] is not None
    assert primary["low"] <= primary["challenger"] <= primary["high"]
    assert "```text" not in comment  # no differences to plot
    assert "Blue line: challenger (this PR)" in comment and comment.count("```mermaid") == 2
    assert all("champion" not in {s["name"] for s in c["series"]} for c in record["charts"])


def test_champion_that_cannot_be_built_shows_the_error_tail(params, holdout, trained, predictions, tmp_path):
    log = "Traceback (most recent call last):\nValueError: boom at the base"
    champion = side(
        tmp_path / "a",
        trained,
        None,
        "failed",
        detail="`train` failed at abc123 (exit 1)",
        log_tail=log,
        ref="abc123",
    )
    record, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert record["verdict"] == "champion failed"  # fails the check: only a base without a project passes
    assert "## ❌ Model review: champion failed" in comment
    assert (
        "could not be scored: `train` failed at abc123 (exit 1)" in comment and "this check fails" in comment
    )
    assert "The champion could not be built at `abc123`: `train` failed at abc123 (exit 1)." in comment
    assert "ValueError: boom at the base" in comment


def test_a_champion_side_that_was_never_scored_fails(params, holdout, trained, predictions, tmp_path):
    """No status.json is a step that did not run or wrote elsewhere: failed, never "no champion"."""
    (tmp_path / "a").mkdir()
    record, comment = run_compare(params, holdout, tmp_path / "a", side(tmp_path / "b", trained, predictions))
    assert record["verdict"] == "champion failed"
    assert "status.json not found: was this side scored?" in comment


def test_rows_the_champions_schema_refuses_are_left_out_and_counted(
    params, holdout, trained, predictions, tmp_path
):
    """A PR that adds a category: the champion cannot answer those rows, so both sides are compared on
    the others, and the comment says how many were left out and which check refused them."""
    refused = [0, 5, 9]
    champion = side(tmp_path / "a", trained, predictions.drop(index=refused))
    checks = [{"column": "job", "check": "isin(['admin', ...])", "count": 3}]
    (champion / records.REFUSED_FILE).write_text(json.dumps({"rows": refused, "checks": checks}))
    record, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))

    # The same model on both sides: a zero difference proves each prediction met its own row.
    assert record["verdict"] == "no significant change" and record["metrics"][0]["delta"] == 0
    assert record["holdout"]["compared"] == len(predictions) - 3
    assert record["holdout"]["refused_by_champion"] == {"rows": 3, "checks": checks}
    assert "3 holdout rows were left out because the champion's schema refuses them " in comment
    assert "(`job` isin(['admin', ...]): 3)" in comment


def test_a_champion_that_refuses_too_many_rows_is_not_comparable(
    params, holdout, trained, predictions, tmp_path
):
    keep = params.gate.min_rows - 1
    champion = side(tmp_path / "a", trained, predictions.head(keep))
    refused = list(range(keep, len(predictions)))
    (champion / records.REFUSED_FILE).write_text(json.dumps({"rows": refused, "checks": []}))
    record, _ = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert record["verdict"] == "not comparable"


def test_champion_with_the_wrong_number_of_rows_is_not_compared(
    params, holdout, trained, predictions, tmp_path
):
    champion = side(tmp_path / "a", trained, predictions.head(5))
    record, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert record["verdict"] == "champion failed"
    assert f"the champion predicted 5 rows for a holdout of {len(predictions)}" in comment


def test_changed_holdout_is_warned_about(params, holdout, trained, predictions, tmp_path):
    champion = side(tmp_path / "a", trained, predictions)
    metrics = json.loads((champion / "model" / "metrics.json").read_text())
    metrics["hashes"]["holdout"] = "0" * 64
    (champion / "model" / "metrics.json").write_text(json.dumps(metrics))
    record, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert record["changes"]["holdout_changed"] is True
    assert "> [!WARNING]\n> The holdout changed between base and head" in comment
    assert "(**changed** from the base's)" in comment


def test_schema_change_lists_the_features(params, holdout, trained, predictions, tmp_path):
    champion = side(tmp_path / "a", trained, predictions)
    info = json.loads((champion / "model" / "model.json").read_text())
    removed = info["numeric"].pop()
    info["numeric"].append("old_feature")
    (champion / "model" / "model.json").write_text(json.dumps(info))
    _, comment = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    assert f"Schema: features added `{removed}`; removed `old_feature`" in comment


def test_undefined_metric_is_named_not_a_crash(params, holdout, trained, predictions, tmp_path):
    """A holdout where the target takes one value only: ranking metrics (ROC AUC, R²) are undefined."""
    frame = pd.read_csv(holdout)
    target = params.data.target
    only = frame[target].iloc[0]
    keep = (frame[target] == only).to_numpy()
    one_class = tmp_path / "holdout.csv"
    frame[keep].to_csv(one_class, index=False)
    preds = predictions[keep].reset_index(drop=True)
    few_rows_allowed = params.model_copy(update={"gate": params.gate.model_copy(update={"min_rows": 1})})
    record, comment = run_compare(
        few_rows_allowed,
        one_class,
        side(tmp_path / "a", trained, preds),
        side(tmp_path / "b", trained, preds),
    )
    undefined = [d["metric"] for d in record["metrics"] if d["delta"] is None]
    assert undefined, record["metrics"]
    assert "Undefined on this holdout: " + ", ".join(evaluation.metric_label(m) for m in undefined) in comment


def test_comment_stays_under_githubs_limit(params, holdout, trained, predictions, tmp_path):
    record, _ = run_compare(
        params,
        holdout,
        side(tmp_path / "a", trained, predictions),
        side(tmp_path / "b", trained, predictions),
    )
    record["changes"]["packages"] = [
        {"name": f"package-{i}" * 5, "base": "1.0", "head": "2.0"} for i in range(3000)
    ]
    record["changes"]["params"] = [{"key": f"k{i}", "base": "x" * 50, "head": "y" * 50} for i in range(500)]
    comment = pr_comment.review_comment(record)
    assert posted_length(comment) <= 65_536
    assert "Some sections were omitted to stay under GitHub's 65,536-character comment limit" in comment
    assert comment.splitlines()[1].startswith("## ➖ Model review")  # the verdict always survives


def posted_length(comment: str) -> int:
    """What GitHub receives: the comment and the sticky action's marker, in UTF-16 code units."""
    body = comment + "\n<!-- Sticky Pull Request Commentmodel-review -->"
    return len(body.encode("utf-16-le")) // 2


def test_a_comment_just_under_githubs_limit_still_fits_once_the_marker_is_added(
    params, holdout, trained, predictions, tmp_path
):
    """The edge: a comment of 65,500 characters fits GitHub's limit alone, but not with the marker the
    comment action appends; so it is trimmed too. Found by searching the size of one params change."""
    record, _ = run_compare(
        params,
        holdout,
        side(tmp_path / "a", trained, predictions),
        side(tmp_path / "b", trained, predictions),
    )

    def with_params(width: int) -> dict:
        changed = {**record["changes"], "params": [{"key": "k", "base": "x" * width, "head": "y"}]}
        return {**record, "changes": changed}

    low, high = 0, 70_000  # the width whose full comment is 65,500 characters long
    while low < high:
        middle = (low + high) // 2
        low, high = (
            (middle + 1, high)
            if len(pr_comment.render_comment(with_params(middle), set())) < 65_500
            else (low, middle)
        )
    edge = with_params(low)
    full = pr_comment.render_comment(edge, set())
    assert len(full) <= 65_536 < posted_length(full)  # fits alone, not with the marker

    comment = pr_comment.review_comment(edge)
    assert posted_length(comment) <= 65_536
    assert "Some sections were omitted" in comment


def test_cli_writes_the_files_and_the_verdict_output(project, holdout, trained, good, tmp_path, monkeypatch):
    champion = side(tmp_path / "a", trained, good)
    challenger = side(tmp_path / "b", trained, degraded(good))
    outputs, summary = tmp_path / "github_output", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = invoke(
        "compare",
        "--params",
        project,
        "--holdout",
        holdout,
        "--champion",
        champion,
        "--challenger",
        challenger,
        "--out",
        tmp_path / "pr",
    )
    assert result.exit_code == 0, explain(result)  # the workflow decides what a verdict means
    assert outputs.read_text() == "verdict=worse\n"
    comment = (tmp_path / "pr" / "comment.md").read_text()
    assert summary.read_text() == comment + "\n"
    assert json.loads((tmp_path / "pr" / "comparison.json").read_text())["verdict"] == "worse"


def test_score_at_an_unknown_ref_says_why(project, holdout, tmp_path):
    status = review.score_at_ref("no-such-ref", project, holdout, tmp_path / "champion")
    assert status["status"] == "failed"
    assert json.loads((tmp_path / "champion" / "status.json").read_text())["status"] == "failed"


def test_diagnostics_show_where_each_model_errs(params, holdout, trained, predictions, good, tmp_path):
    record, comment = run_compare(
        params, holdout, side(tmp_path / "a", trained, predictions), side(tmp_path / "b", trained, good)
    )
    diagnostics = record["diagnostics"]
    if "confusion" in diagnostics:
        assert "<summary>Confusion matrices: champion / challenger counts" in comment
        challenger = np.array(diagnostics["confusion"]["challenger"])
        assert challenger.sum() == len(predictions) and challenger.trace() == len(predictions)  # all right
    else:
        assert "<summary>Residuals on the holdout</summary>" in comment
        assert "| champion |" in comment and "| challenger |" in comment
        assert abs(diagnostics["residuals"]["challenger"]["quantiles"][2]) < abs(
            diagnostics["residuals"]["champion"]["quantiles"][4]
        )


def test_lock_changes_list_the_packages(params, holdout, trained, predictions, tmp_path):
    lock = 'version = 1\n[[package]]\nname = "{}"\nversion = "{}"\n[[package]]\nname = "{}"\nversion = "{}"\n'
    head = tmp_path / "uv.lock"
    head.write_text(lock.format("numpy", "2.1", "newlib", "1.0"))
    changed = changes.package_changes(lock.format("numpy", "2.0", "oldlib", "0.1"), head)
    assert changed == [
        {"name": "newlib", "base": None, "head": "1.0"},
        {"name": "numpy", "base": "2.0", "head": "2.1"},
        {"name": "oldlib", "base": "0.1", "head": None},
    ]
    assert changes.package_changes(head.read_text(), head) is None  # same lock: nothing to show

    same = side(tmp_path / "a", trained, predictions)
    record, _ = run_compare(params, holdout, same, side(tmp_path / "b", trained, predictions))
    record["changes"]["packages"] = changed
    comment = pr_comment.review_comment(record)
    assert "Dependencies: 3 locked packages changed" in comment
    assert "<summary>Locked packages that changed (3)</summary>" in comment
    assert "| numpy | 2.0 | 2.1 |" in comment and "| oldlib | 0.1 | (absent) |" in comment


def test_score_at_a_base_without_the_project_is_no_champion(project, holdout, tmp_path):
    """The first PR of a repository: the base commit has no project, so there is no champion."""
    repo = tmp_path / "repo"
    shutil.copytree(project.parent, repo)

    def git(*args):
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "empty")
    first = git("rev-parse", "HEAD")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "the project")

    status = review.score_at_ref(first, repo / project.name, holdout, tmp_path / "champion")
    assert status["status"] == "missing"
    assert status["detail"] == f"{first} has no project yet: nothing to compare with"
    assert len(git("worktree", "list").splitlines()) == 1  # the temporary worktree is gone


def test_comment_shows_no_skill_and_the_decision_threshold(params, holdout, trained, predictions, tmp_path):
    champion = side(tmp_path / "champion", trained, predictions)
    challenger = side(tmp_path / "challenger", trained, predictions)
    record, comment = run_compare(params, holdout, champion, challenger)
    metrics = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    info = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    assert "| metric | champion (base) | challenger (this PR) | Δ | 95% CI of Δ | | no skill |" in comment
    assert sorted(record["no_skill"]) == sorted(params.metrics)
    primary = params.train.primary_metric
    row = next(
        line for line in comment.splitlines() if line.startswith(f"| **{evaluation.metric_label(primary)}**")
    )
    assert row.endswith(f" | {pr_comment.number(record['no_skill'][primary])} |")
    no_skill_cv = metrics["no_skill"]["cv"]
    assert f"| _no skill (baseline)_ | {no_skill_cv['mean']:.4f} ± {no_skill_cv['std']:.4f} | |" in comment
    if len(info["classes"]) == 2:
        threshold = f"{info['threshold']:.2f}" if info["threshold"] is not None else "0.5"
        decision = (
            f"Decision threshold: the challenger predicts `{info['positive_class']}` from a probability"
        )
        assert f"{decision} of {threshold}" in comment
        assert "the champion from" in comment
        assert "most frequent class" in comment
    else:
        assert "Decision threshold" not in comment


def test_the_no_skill_row_is_what_always_answering_the_majority_scores(params, holdout, trained, predictions):
    """Accuracy of no skill = the share of the training split's most frequent answer on the compared rows."""
    metrics, info = records.read_training_record(trained), models.read_info(trained)
    y = pd.read_csv(holdout)[params.data.target]
    scored = comparison.no_skill(metrics, y, list(params.metrics), info)
    if info.classes:
        assert scored["accuracy"] == pytest.approx((y == metrics["no_skill"]["answer"]["prediction"]).mean())
    else:
        assert scored["mae"] == pytest.approx((y - metrics["no_skill"]["answer"]["prediction"]).abs().mean())


def test_a_cached_champion_is_used_only_when_trained_at_that_very_commit(trained, tmp_path):
    """main's release job caches its model per commit; a review reuses it only for that commit."""
    record = json.loads((trained / "metrics.json").read_text(encoding="utf-8"))
    cached = tmp_path / "cached"
    shutil.copytree(trained, cached)

    def trained_at(commit, dirty=False):
        (cached / "metrics.json").write_text(
            json.dumps({**record, "git": {"commit": commit, "dirty": dirty}})
        )

    sha = "a" * 40
    trained_at(sha)
    assert review.usable_cache(cached, sha) == (
        True,
        f"restored from the cache main's release job wrote for {sha[:12]}",
    )
    assert review.usable_cache(None, sha) == (False, "")
    trained_at("b" * 40)
    assert review.usable_cache(cached, sha) == (
        False,
        f"the cached champion was trained at {'b' * 12}, not {sha[:12]}",
    )
    trained_at(sha, dirty=True)
    assert not review.usable_cache(cached, sha)[0]
    assert review.usable_cache(tmp_path / "nothing", sha)[1].startswith(f"no cached champion for {sha[:12]}")


def test_a_reused_champion_is_only_predicted_and_the_comment_says_so(monkeypatch, tmp_path):
    ran = []

    def stream(command, *_, **__):  # records which CLI verb the champion's environment would run
        ran.append(command[command.index("-m") + 2])
        return 0, []

    monkeypatch.setattr(review, "stream", stream)
    monkeypatch.setattr(review.shutil, "which", lambda name: f"/usr/bin/{name}")
    why = "restored from the cache main's release job wrote for abc"
    status = review.run_base(
        tmp_path, "params.yaml", tmp_path / "h.csv", tmp_path / "out", "abc", reuse=True, why=why
    )
    assert ran == ["predict"] and status["source"] == "cache"
    assert pr_comment.champion_source(status) == f"{why} (not retrained)"
    ran.clear()
    status = review.run_base(tmp_path, "params.yaml", tmp_path / "h.csv", tmp_path / "out", "abc" * 5)
    assert ran == ["train", "predict"] and status["source"] == "trained"
    assert pr_comment.champion_source(status) == f"trained at `{'abc' * 4}` in this run"


def warnings_of(comment: str) -> list[str]:
    return [block.split("\n")[0] for block in comment.split("> [!WARNING]\n")[1:]]


def test_a_new_split_is_one_warning_saying_which_rows_were_scored(
    params, holdout, trained, predictions, tmp_path
):
    """A new salt changes the holdout and moves rows the champion trained on into it: one cause, so one
    warning, which says both what changed and which rows both models were scored on."""
    champion = side(tmp_path / "a", trained, predictions)
    record, _ = run_compare(params, holdout, champion, side(tmp_path / "b", trained, predictions))
    rows = record["holdout"]["rows"]
    record["changes"]["holdout_changed"] = True
    record["holdout"].update(left_out={"same row": 30, "same key": 0}, compared=rows - 30)
    (warning,) = warnings_of(pr_comment.review_comment(record))
    assert warning.startswith(
        "> The holdout changed between base and head (new data or a new split), so numbers from earlier "
        f"comments on the base are not comparable. 30 of the {rows:,} holdout rows were left out because the "
        f"champion trained on them (same row: 30); both models are scored on the other {rows - 30:,}."
    )
    assert warning.count("both models") == 1
    record["holdout"].update(left_out={"same row": 0}, compared=rows)  # a new split of new rows only
    (warning,) = warnings_of(pr_comment.review_comment(record))
    assert "both models were scored on this PR's holdout" in warning and "left out" not in warning
    record["changes"]["holdout_changed"] = False
    record["holdout"].update(left_out={"same row": 30}, compared=rows - 30)  # edited rows, same holdout
    (warning,) = warnings_of(pr_comment.review_comment(record))
    assert warning.startswith(f"> 30 of the {rows:,} holdout rows were left out")


def test_a_streamed_champion_line_has_one_timestamp(monkeypatch, capsys):
    """The champion's CLI stamps its own progress lines; relayed into the review's log they carry only
    the review's stamp (one clock), while the comment's log tail keeps them as the champion printed them."""
    monkeypatch.setattr(progress, "_state", {"on": True, "began": time.monotonic(), "console": None})
    champion = (
        f"from {progress.__name__} import enable, say; enable(); say('Cross-validating linear (5 folds) …')"
    )
    code, log = review.stream([sys.executable, "-c", champion], Path.cwd(), dict(os.environ), "champion | ")
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 0 and len(re.findall(r"\[ *\d+\.\ds\]", line)) == 1, line
    assert re.fullmatch(r"\[ *\d+\.\ds\] champion \| Cross-validating linear \(5 folds\) …", line)
    assert re.fullmatch(r"\[ *\d+\.\ds\] Cross-validating linear \(5 folds\) …", log[-1])
