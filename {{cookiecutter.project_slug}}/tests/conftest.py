"""Fixtures: a small, fast copy of the project (params + sample data) and a model trained on it once."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from support import explain, invoke, make_project, real_params

from {{ cookiecutter.__package_name }} import data, release, schema, settings

# Inside GitHub Actions the CLI appends to the job summary and the step outputs. The tests' reports
# and outputs must not land in the real CI job's (a test that checks them sets its own files), so
# they are unset before any fixture or subprocess runs.
for variable in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH"):
    os.environ.pop(variable, None)


@pytest.fixture(scope="session")
def project(tmp_path_factory) -> Path:
    """params.yaml of a small project shared by all tests that only read it (do not modify)."""
    return make_project(tmp_path_factory.mktemp("project"))


@pytest.fixture
def own_project(tmp_path) -> Path:
    """params.yaml of a small project of this test's own, free to modify."""
    return make_project(tmp_path / "project")


@pytest.fixture(scope="session")
def params(project):
    return settings.load_params(project)


@pytest.fixture(scope="session")
def sample(params):
    """The small project's training data, validated (coerced) as training sees it."""
    return data.validate(data.read_table(params.data_path), schema.TrainingData, "sample")


@pytest.fixture(scope="session")
def trained(project, tmp_path_factory) -> Path:
    """A model folder trained once through the CLI on the small project."""
    out = tmp_path_factory.mktemp("model") / "model"
    result = invoke("train", "--params", project, "--out", out)
    assert result.exit_code == 0, explain(result)
    return out


@pytest.fixture(scope="session")
def metrics(trained) -> dict:
    return json.loads((trained / "metrics.json").read_text(encoding="utf-8"))


# -- the service (test_service.py, test_shadow.py) ---------------------------------------------


@pytest.fixture(scope="session")
def store(tmp_path_factory, trained, params):
    """A BentoML home of the tests' own, holding the trained model; MODEL_TAG points at it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENTOML_HOME", str(tmp_path_factory.mktemp("bentoml")))
        patch.setenv("BENTOML_DO_NOT_TRACK", "true")
        tag = release.store_model(params, trained)
        patch.setenv("MODEL_TAG", tag)
        yield tag


@pytest.fixture(scope="session")
def service(store):
    """The service module, imported once MODEL_TAG names the stored model (it loads it on import)."""
    from {{ cookiecutter.__package_name }} import service

    return service


@pytest.fixture(scope="session")
def later(params) -> pd.DataFrame:
    """Real rows of the period after the training data."""
    real = real_params().data_path
    return data.read_table(real.parent / "later" / real.name).head(50)


@pytest.fixture(scope="session")
def rows(later, params) -> pd.DataFrame:
    """What a caller sends: the later rows without their outcome."""
    return later.drop(columns=[params.data.target])
