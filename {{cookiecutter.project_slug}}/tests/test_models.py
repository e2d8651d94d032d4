"""Saved models: skops files load only with reviewed types; anything else is refused, naming the type."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from support import pkg

models, settings = pkg("models"), pkg("settings")
ModelError, ParamsError = pkg("errors").ModelError, pkg("errors").ParamsError


@pytest.fixture(scope="module")
def knn_pipeline():
    """A fitted pipeline holding types outside TRUSTED_TYPES (a KD-tree and its distance metric)."""
    X = np.random.default_rng(0).random((30, 3))
    return make_pipeline(KNeighborsClassifier(n_neighbors=3, algorithm="kd_tree")).fit(X, X[:, 0] > 0.5)


def untrusted_types(estimator) -> list[str]:
    found = sorted(set(sio.get_untrusted_types(data=sio.dumps(estimator))) - set(models.TRUSTED_TYPES))
    assert found, "the test needs a type outside TRUSTED_TYPES"
    return found


def test_trained_model_loads(trained, params):
    model, info = models.load(trained)
    assert info.candidate in params.train.candidates
    assert hasattr(model, "predict")


def test_untrusted_types_are_refused_on_load(trained, knn_pipeline, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    sio.dump(knn_pipeline, folder / models.MODEL_FILE)
    shutil.copy(trained / models.META_FILE, folder / models.META_FILE)

    with pytest.raises(ModelError) as caught:
        models.load(folder)
    message = str(caught.value)
    assert "refusing to load untrusted types" in message
    for name in untrusted_types(knn_pipeline):
        assert name in message


def test_untrusted_types_are_refused_on_save(knn_pipeline, trained, tmp_path):
    _, info = models.load(trained)
    with pytest.raises(ModelError) as caught:
        models.save(knn_pipeline, info, {}, [], tmp_path / "model")
    for name in untrusted_types(knn_pipeline):
        assert name in str(caught.value)
    assert not (tmp_path / "model").exists()


def test_incomplete_model_folder(trained, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(trained / models.MODEL_FILE, folder / models.MODEL_FILE)
    with pytest.raises(ModelError, match=r"missing \['model.json'\]"):
        models.load(folder)


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("estimator", ["linear", "random_forest", "hist_gradient_boosting"])
def test_every_candidate_saves_with_trusted_types_only(task, estimator, tmp_path):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.random(60), "colour": rng.choice(["red", "blue"], 60)})
    y = X["x"] > 0.5 if task == "classification" else X["x"] * 3
    candidate = settings.Candidate(estimator=estimator, params={"max_iter": 5} if "hist" in estimator else {})
    pipeline = models.build_pipeline("c", candidate, task, ["x"], ["colour"], seed=0).fit(X, y)
    info = models.ModelInfo(task, "y", ["x"], ["colour"], "c", estimator, {})
    models.save(pipeline, info, {"ok": True}, [True, False], tmp_path)
    loaded, loaded_info = models.load(tmp_path)
    assert loaded_info == info
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_unknown_estimator_parameter(params):
    candidate = settings.Candidate(estimator="random_forest", params={"n_estimatorz": 10})
    with pytest.raises(ParamsError, match=r"train\.candidates\.forest\.params: .*'n_estimatorz'"):
        models.build_pipeline("forest", candidate, params.task, ["a"], ["b"], seed=0)
