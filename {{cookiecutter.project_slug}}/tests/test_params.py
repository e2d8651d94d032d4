"""params.yaml: valid files load; every mistake is a ParamsError naming the file and the key.

The example files live in tests/params/. Each invalid one starts with
`# expect: <text>`: the error message must contain that text. The one that is
not YAML at all is named .txt, so that the check-yaml hook leaves it alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ROOT, explain, invoke

from {{ cookiecutter.__package_name }} import evaluation, settings
from {{ cookiecutter.__package_name }}.errors import ParamsError

EXAMPLES = Path(__file__).parent / "params"
VALID = sorted((EXAMPLES / "valid").glob("*.yaml"))
INVALID = sorted(p for p in (EXAMPLES / "invalid").iterdir() if p.suffix in {".yaml", ".txt"})


def expected_text(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: the first line must be `# expect: <text>`"
    return first.removeprefix("# expect: ")


def test_there_are_examples():
    assert len(VALID) >= 2 and len(INVALID) >= 10


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_params_load(path):
    params = settings.load_params(path)
    assert path.stem.startswith(params.task)
    assert params.train.primary_metric in params.metrics


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_params_name_the_problem(path):
    with pytest.raises(ParamsError) as caught:
        settings.load_params(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected_text(path) in message


def test_the_projects_own_params_load():
    params = settings.load_params(ROOT / "params.yaml")
    assert params.data_path.is_file()
    assert set(params.metrics) <= set(evaluation.DEFAULTS[params.task])


def test_data_path_is_relative_to_the_params_file(tmp_path, monkeypatch):
    copy = tmp_path / "elsewhere" / "params.yaml"
    copy.parent.mkdir()
    shutil.copy(ROOT / "params.yaml", copy)
    monkeypatch.chdir(tmp_path)
    params = settings.load_params(copy)
    assert params.data_path == copy.parent / params.data.path


def test_missing_params_file(tmp_path):
    with pytest.raises(ParamsError, match="file not found"):
        settings.load_params(tmp_path / "nope.yaml")


def test_params_are_frozen():
    params = settings.load_params(ROOT / "params.yaml")
    with pytest.raises(ValueError, match="frozen"):
        params.train.cv_folds = 3


def test_cli_shows_params_errors_as_one_line(tmp_path):
    bad = EXAMPLES / "invalid" / "cv_folds_one.yaml"
    result = invoke("train", "--params", bad, "--out", tmp_path / "model")
    assert result.exit_code == 1, explain(result)
    assert result.output.startswith("error: ")
    assert "train.cv_folds" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "model").exists()
