"""A baked project can take later template fixes with `cruft update`."""

from __future__ import annotations

import json
import shutil

import pytest

from harness.project import BIN, TEMPLATE, commit, git_init, head_sha, run

pytestmark = pytest.mark.tier1

IGNORE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "__pycache__", ".pytest_cache", ".ruff_cache", "demo"
)


def test_cruft_update_brings_a_template_fix(tmp_path):
    template = tmp_path / "template"
    shutil.copytree(TEMPLATE, template, ignore=IGNORE)
    git_init(template)
    first = head_sha(template)

    context = json.dumps({"project_name": "Churn Model", "task": "regression"})
    run([str(BIN / "cruft"), "create", str(template), "--no-input", "--extra-context", context], tmp_path)
    project = tmp_path / "churn-model"
    recorded = json.loads((project / ".cruft.json").read_text())
    assert recorded["commit"] == first
    assert recorded["context"]["cookiecutter"]["task"] == "regression"
    git_init(project)

    readme = template / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(readme.read_text() + "\nA fix from the template.\n")
    second = commit(template, "template fix")

    run([str(BIN / "cruft"), "update", "--skip-apply-ask", "--allow-untracked-files"], project)
    assert "A fix from the template." in (project / "README.md").read_text()
    assert json.loads((project / ".cruft.json").read_text())["commit"] == second
    # The answers survived the update: still the regression project.
    assert "bike-sharing-hour.csv" in (project / "params.yaml").read_text()
