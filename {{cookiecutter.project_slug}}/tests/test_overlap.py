"""A fair review scores both models only on holdout rows neither trained on, whatever a PR changes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import write_small_params

from {{ cookiecutter.__package_name }} import (
    comparison,
    data,
    dates,
    evaluation,
    models,
    overlap,
    pr_comment,
    review,
    settings,
    training,
)


def table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["id", "x", "y"]).astype(str)


BASE = table([(1, "a", 0), (2, "b", 1), (3, "c", 0), (4, "d", 1)])
TRAINED = np.array([True, True, True, False])  # the champion held out row 4


def test_rows_the_champion_trained_on_are_left_out():
    head = BASE.copy()
    moved = np.array([True, False, False, True])  # a new salt put rows 1 and 4 in the holdout
    found = overlap.measure(BASE, TRAINED, head, moved, keys=[[]])
    assert found.keep.tolist() == [False, True]  # row 1 was trained on; row 4 was not
    assert found.left_out == {"same row": 1, "same key": 0, "edited row": 0}


def test_appended_rows_are_all_kept():
    head = pd.concat([BASE, table([(5, "e", 1), (6, "f", 0)])], ignore_index=True)
    found = overlap.measure(BASE, TRAINED, head, np.array([0, 0, 0, 1, 1, 1], bool), keys=[[]])
    assert found.keep.all() and sum(found.left_out.values()) == 0


def test_a_row_with_the_same_key_but_new_values_is_left_out():
    head = table([(1, "a", 1), (2, "b", 1), (3, "c", 0), (4, "d", 1)])  # row 1 relabelled
    found = overlap.measure(BASE, TRAINED, head, np.array([1, 0, 0, 1], bool), keys=[["id"]])
    assert found.keep.tolist() == [False, True]
    assert found.left_out["same key"] == 1


def test_an_edited_row_without_a_key_is_followed_through_the_diff():
    """Without a key a row's identity is its content: an edit makes a 'new' row the champion saw."""
    head = table([(1, "a", 0), (2, "B", 1), (3, "c", 0), (4, "d", 1), (5, "e", 0)])  # row 2 edited, 5 added
    found = overlap.measure(BASE, TRAINED, head, np.array([0, 1, 0, 1, 1], bool), keys=[[]])
    assert found.keep.tolist() == [False, True, True]
    assert found.left_out == {"same row": 0, "same key": 0, "edited row": 1}


def test_a_new_column_still_matches_rows_on_the_columns_both_files_have():
    head = BASE.assign(z="1")
    found = overlap.measure(BASE, TRAINED, head, np.array([1, 1, 0, 0], bool), keys=[[]])
    assert found.keep.tolist() == [False, False]


def test_without_a_record_of_trained_rows_every_base_row_counts():
    found = overlap.measure(BASE, None, BASE, np.array([0, 0, 0, 1], bool), keys=[[]])
    assert found.keep.tolist() == [False] and not found.trained_rows_known


def test_a_record_of_another_file_is_not_trusted():
    found = overlap.measure(BASE, np.array([False]), BASE, np.array([0, 0, 0, 1], bool), keys=[[]])
    assert found.keep.tolist() == [False]


def test_train_records_the_rows_it_trained_on(trained, params, metrics):
    rows = overlap.read_trained_rows(trained)
    frame = data.load_training_data(params)
    assert len(rows) == len(frame) and rows.sum() == metrics["train"]["rows"]
    assert not (rows & data.holdout_mask(frame, params)).any()


# --- through `compare`, in a git repository: base commit, then a pull request that changes the split


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    git(repo, *identity, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def one_forest(params_path: Path, **changes) -> Path:
    """Rewrite params: one random-forest candidate on both sides (so only the split differs)."""
    raw = settings.read_yaml(params_path)
    raw["train"]["candidates"] = {"random_forest": {"estimator": "random_forest", "params": {}}}
    for section, values in changes.items():
        raw[section] = {**raw[section], **values}
    return write_small_params(raw, params_path)


def review_pr(own_project: Path, tmp_path: Path, base_changes: dict, head_changes: dict, change_head=None):
    """Train the champion at a base commit, change params (and whatever `change_head` does) on a
    branch, compare as train.yml does: (the record, the comment)."""
    repo = own_project.parent
    git(repo, "init", "-q", "-b", "main")
    one_forest(own_project, **base_changes)
    base = commit(repo, "base")
    champion = tmp_path / "champion"
    training.train(settings.load_params(own_project), champion / review.MODEL_DIR)
    one_forest(own_project, **head_changes)
    if change_head:
        change_head()
    commit(repo, "the pull request")
    params = settings.load_params(own_project)
    holdout = tmp_path / "holdout.csv"
    review.write_holdout(params, holdout)
    models.predict_file(champion / review.MODEL_DIR, holdout, champion / review.PREDICTIONS, [])
    review.write_status(champion, "ok", ref=base)
    review.score_here(params, holdout, tmp_path / "challenger")
    record = comparison.compare(params, holdout, champion, tmp_path / "challenger", base)
    return record, pr_comment.review_comment(record)


def test_a_new_salt_is_judged_only_on_rows_neither_model_trained_on(own_project, tmp_path):
    """Same model, new salt: before, the champion predicted its own training rows and won by far."""
    by_hash = {"gate": {"min_rows": 20}, "split": {"by": "hash"}}
    record, comment = review_pr(own_project, tmp_path, by_hash, {"split": {"salt": "another-salt"}})
    holdout = record["holdout"]
    assert holdout["left_out"]["same row"] > 0.6 * holdout["rows"]  # ~80% were in the base's training set
    assert holdout["compared"] == holdout["rows"] - sum(holdout["left_out"].values())
    assert record["verdict"] in {"no significant change", "better"}, comment
    assert (
        f"{sum(holdout['left_out'].values()):,} of the {holdout['rows']:,} holdout rows were left out "
        "because the champion trained on them" in comment
    )
    assert f"resamples of the {holdout['compared']:,} holdout rows" in comment


def test_too_few_comparable_rows_is_not_comparable_and_fails(own_project, tmp_path, monkeypatch):
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    by_hash = {"split": {"by": "hash"}}
    record, comment = review_pr(own_project, tmp_path, by_hash, {"split": {"salt": "another-salt"}})
    assert record["verdict"] == "not comparable"
    assert comment.splitlines()[1] == "## ⚠️ Model review: not comparable"
    assert "fewer than `gate.min_rows` (200), so there is no verdict and this check fails" in comment
    assert comparison.OUTPUT_KEYS[record["verdict"]] == "not-comparable"


def test_the_params_diff_shows_only_what_the_file_changed(own_project, tmp_path):
    record, comment = review_pr(own_project, tmp_path, {"gate": {"min_rows": 20}}, {"gate": {"min_rows": 20}})
    assert record["changes"]["params"] == []
    assert record["latest_period"] is None and "On the latest period" not in comment  # no newer rows
    assert "Params: unchanged" in comment and "(absent)" not in comment


def test_a_relative_tolerance_is_applied_to_the_champion_and_named(own_project, tmp_path):
    changes = {"gate": {"min_rows": 20, "tolerance": "50%"}}
    record, comment = review_pr(own_project, tmp_path, changes, {**changes, "split": {"salt": "s2"}})
    champion = record["metrics"][0]["champion"]
    assert record["gate"]["allowed_loss"] == pytest.approx(abs(champion) / 2)
    label = evaluation.metric_label(record["primary_metric"])
    assert f"50% of the champion's {label} ({abs(champion) / 2:.4g})" in comment
    assert json.loads(json.dumps(record))  # comparison.json stays plain JSON


# --- the latest period: a retraining PR appends newer rows; both models are compared on them too


def split_by_time(params_path: Path, newer_share: float) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """The training rows before a time (the base's data), those from it on (what the PR appends),
    and the base's newest day."""
    params = settings.load_params(params_path)
    column = params.data.time_column
    frame = data.read_table(params.data_path)
    times = dates.utc_times(frame[column], column)
    cutoff = np.sort(times)[int(len(times) * (1 - newer_share))]
    until = str(times[times < cutoff].max().astype("datetime64[D]"))
    return frame[times < cutoff], frame[times >= cutoff], until


def newer_in_holdout(params_path: Path, base_rows: int) -> int:
    """How many of the appended rows (after the first `base_rows`) the head's split puts in the holdout."""
    params = settings.load_params(params_path)
    in_holdout = data.holdout_mask(data.load_training_data(params), params)
    return int(in_holdout[base_rows:].sum())


def review_retraining(own_project: Path, tmp_path: Path, base, newer, min_rows: int = 20) -> tuple[dict, str]:
    """The base trained on `base`, the PR appends `newer` (as retrain-data does); train.yml's review."""
    data_path = settings.load_params(own_project).data_path
    base.to_csv(data_path, index=False)
    gate = {"gate": {"min_rows": min_rows}}
    return review_pr(
        own_project, tmp_path, gate, gate, lambda: pd.concat([base, newer]).to_csv(data_path, index=False)
    )


def test_a_retraining_pr_is_also_compared_on_the_rows_after_the_champions_data(own_project, tmp_path):
    base, newer, until = split_by_time(own_project, newer_share=0.3)
    record, comment = review_retraining(own_project, tmp_path, base, newer)
    expected = newer_in_holdout(own_project, len(base))
    period = record["latest_period"]
    assert period["rows"] == expected > 20 and period["champion_until"] == until
    assert period["first"] > until and period["verdict"] in {"better", "worse", "no significant change"}
    assert [d["metric"] for d in period["metrics"]] == [d["metric"] for d in record["metrics"]]
    section = comment.split("### On the latest period\n\n")[1].split("\n###")[0]
    column = settings.load_params(own_project).data.time_column
    assert section.startswith(
        f"On the {expected:,} holdout rows newer than the champion's training data (its newest `{column}`: "
        f"{until}), from {period['first']} to {period['last']}, which neither model trained on, "
    )
    assert f"| **{evaluation.metric_label(record['primary_metric'])}** (primary) | " in section


def test_too_few_newer_rows_are_counted_not_compared(own_project, tmp_path):
    base, newer, _ = split_by_time(own_project, newer_share=0.1)
    pd.concat([base, newer]).to_csv(settings.load_params(own_project).data_path, index=False)
    expected = newer_in_holdout(own_project, len(base))
    # the whole holdout still has enough rows; the newer ones do not
    record, comment = review_retraining(own_project, tmp_path, base, newer, min_rows=expected + 1)
    assert record["verdict"] != "not comparable" and record["latest_period"]["verdict"] is None
    assert f"\n{expected:,} holdout rows (" in comment
    assert (
        f"fewer than `gate.min_rows` ({expected + 1:,}), so the models are not compared on them." in comment
    )


# --- split.by: time: the holdout is the latest period


def test_with_a_time_split_a_retraining_pr_is_judged_on_rows_the_champion_never_saw(own_project, tmp_path):
    base, newer, until = split_by_time(own_project, newer_share=0.3)
    data_path = settings.load_params(own_project).data_path
    base.to_csv(data_path, index=False)
    by_time = {"gate": {"min_rows": 20}, "split": {"by": "time"}}
    append = lambda: pd.concat([base, newer]).to_csv(data_path, index=False)  # noqa: E731
    record, comment = review_pr(own_project, tmp_path, by_time, by_time, append)
    holdout = record["holdout"]
    assert holdout["split"] == "time" and sum(holdout["left_out"].values()) == 0
    span = holdout["span"]
    assert span["first"] > until  # the appended 30% hold the latest 20%: all after the champion's data
    column = span["time_column"]
    assert (
        f"Holdout: {holdout['rows']:,} rows, `{column}` {span['first']} to {span['last']} "
        "(the latest rows by time), content hash" in comment
    )
    trained = record["challenger"]["train_span"]
    assert f"Challenger's training rows: {record['challenger']['train_rows']:,}, `{column}` " in comment
    assert trained["last"] <= span["first"]
    assert record["latest_period"]["rows"] == holdout["compared"]  # every compared row is newer


def test_with_a_time_split_a_larger_holdout_leaves_out_the_rows_the_champion_trained_on(
    own_project, tmp_path
):
    by_time = {"gate": {"min_rows": 20}, "split": {"by": "time"}}
    larger = {**by_time, "split": {"by": "time", "holdout_fraction": 0.3}}
    record, comment = review_pr(own_project, tmp_path, by_time, larger)
    holdout = record["holdout"]
    rows = len(data.read_table(settings.load_params(own_project).data_path))
    assert holdout["rows"] == round(0.3 * rows)
    assert holdout["compared"] <= round(0.2 * rows)  # only the base's own holdout: the latest 20%
    assert holdout["left_out"]["same row"] >= holdout["rows"] - round(0.2 * rows)
    assert "because the champion trained on them" in comment


def test_with_a_time_split_too_few_rows_the_champion_never_saw_is_not_comparable(own_project, tmp_path):
    base = {"split": {"by": "time", "holdout_fraction": 0.05}}
    record, comment = review_pr(own_project, tmp_path, base, {"split": {"holdout_fraction": 0.3}})
    assert record["holdout"]["compared"] < 200 and record["verdict"] == "not comparable"
    assert "fewer than `gate.min_rows` (200), so there is no verdict and this check fails" in comment
