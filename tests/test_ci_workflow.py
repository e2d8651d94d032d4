"""Tier 3: the generated ci.yml, run under act in a throw-away repo, passes on good data and fails on bad."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from harness.act import act
from harness.project import bake, git_init, run

pytestmark = [pytest.mark.slow, pytest.mark.tier3]
PR_EVENT = {"pull_request": {"number": 7, "head": {"ref": "feature"}, "base": {"ref": "main"}}}


def test_ci_passes_on_the_baked_project(tmp_path):
    project = bake(tmp_path / "repo")
    git_init(project)

    result = act(project, "ci.yml", "pull_request", tmp_path, PR_EVENT)

    assert result.returncode == 0, result.log[-3000:]
    for job in ("pre-commit", "tests", "validate data"):
        assert re.search(rf"\[CI/{job}\s*\] 🏁  Job succeeded", result.log), job
    assert "rows match the schema" in result.summary
    # The project's tests run the CLI, which writes reports and outputs: none may reach the CI job's.
    assert "drift" not in result.summary.lower() and "verdict" not in result.summary
    assert not re.search(r"\[CI/tests\s*\].*set-output", result.log)
    # act runs actions/checkout itself (the local repo); zizmor checks persist-credentials statically.
    assert result.calls("astral-sh/setup-uv") == [{"enable-cache": "true"}] * 3


def test_ci_validate_fails_on_bad_data_with_the_table_in_the_summary(tmp_path):
    project = bake(tmp_path / "repo")
    data_file = project / "data" / "bank-marketing.csv"
    data = pd.read_csv(data_file)
    data.loc[10, "marital"] = "it's complicated"
    data.to_csv(data_file, index=False)
    git_init(project)

    result = act(project, "ci.yml", "pull_request", tmp_path, PR_EVENT, job="validate")

    assert result.returncode != 0
    assert "[CI/validate data] 🏁  Job failed" in result.log
    assert "1 schema violation in 40394 rows" in result.summary
    assert "| marital | isin(" in result.summary and "it's complicated" in result.summary
    assert run(["git", "status", "--porcelain"], project).stdout == ""  # the job changed nothing in the repo
