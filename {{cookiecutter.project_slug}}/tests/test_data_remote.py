"""`data-remote` and `fetch-data` before DVC is installed, and how the project finds DVC's files.
(The template's tests move the data to a folder and to an S3 server, fetch it and retrain on it.)"""

from __future__ import annotations

import importlib.util

import pytest
from support import explain, invoke, pkg

data, data_remote = pkg("data"), pkg("data_remote")
POINTER = """outs:
- md5: 6a3a4d9b0489f6b7de25d711b8d0faa0
  size: 3483988
  hash: md5
  path: train.csv
"""


def test_fetch_data_does_nothing_when_git_keeps_the_data(own_project):
    result = invoke("fetch-data", "--params", own_project)
    assert result.exit_code == 0, explain(result)
    assert result.stdout.endswith("is in git: nothing to fetch.\n")


def test_an_unsupported_remote_is_named(own_project):
    result = invoke("data-remote", "ftp://example.com/data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert "unsupported scheme" in result.output and "'ftp://example.com/data'" in result.output


def test_without_dvc_the_verb_says_how_to_add_it(own_project):
    if importlib.util.find_spec("dvc") is not None:
        pytest.skip("DVC is installed in this project")
    result = invoke("data-remote", "s3://bucket/data", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert "DVC is not installed in this environment: uv add 'dvc[s3]'" in result.output
    assert not (own_project.parent / ".dvc").exists()


def test_data_kept_by_dvc_but_not_fetched_says_how_to_fetch_it(own_project):
    params = pkg("settings").load_params(own_project)
    data_remote.pointer(params.data_path).write_text(POINTER)
    params.data_path.unlink()
    result = invoke("validate", "--params", own_project)
    assert result.exit_code == 1, explain(result)
    assert f"{params.data_path}: not here; it is kept by DVC ({params.data_path.name}.dvc)" in result.output
    assert "`uv run dvc pull`" in result.output


def test_the_pointer_gives_the_content_hash_and_the_base_data(own_project):
    assert data_remote.content_hash(POINTER) == "6a3a4d9b0489f6b7de25d711b8d0faa0"
    assert data_remote.content_hash("not: [a pointer]") is None
    params = pkg("settings").load_params(own_project)
    root = own_project.parent
    assert data_remote.base_data(root, own_project.name) is None  # git keeps it
    data_remote.pointer(params.data_path).write_text(POINTER)
    assert data_remote.base_data(root, own_project.name) == params.data_path
