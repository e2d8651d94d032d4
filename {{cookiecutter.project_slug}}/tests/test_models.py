"""Saved models: skops files load only with reviewed types; anything else is refused, naming the type.
Candidates: the aliases, any estimator by import path, and a binary decision threshold."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline

from {{ cookiecutter.__package_name }} import models, schema, settings
from {{ cookiecutter.__package_name }}.errors import ModelError, ParamsError

CONTRACT = schema.TrainingData.to_schema()


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
    model, info = models.load(trained, params.train.trusted_types)
    assert info.candidate in params.train.candidates
    assert hasattr(model, "predict")


def test_untrusted_types_are_refused_on_load(trained, knn_pipeline, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    sio.dump(knn_pipeline, folder / models.MODEL_FILE)
    shutil.copy(trained / models.META_FILE, folder / models.META_FILE)

    with pytest.raises(ModelError) as caught:
        models.load(folder, [])
    message = str(caught.value)
    assert "refusing to load types that train.trusted_types in params.yaml does not list" in message
    for name in untrusted_types(knn_pipeline):
        assert name in message


def test_types_trusted_by_params_save_and_load(trained, knn_pipeline, tmp_path):
    """A reviewed list in params.yaml (not the model folder) is what lets a new type load."""
    trusted = untrusted_types(knn_pipeline)
    _, info = models.load(trained, [])
    models.save(knn_pipeline, info, {}, [True], tmp_path / "model", trusted, CONTRACT)
    loaded, _ = models.load(tmp_path / "model", trusted)
    assert type(loaded[-1]) is KNeighborsClassifier
    with pytest.raises(ModelError, match=trusted[0]):  # another checkout that did not review them
        models.load(tmp_path / "model", trusted[1:])


def test_untrusted_types_are_refused_on_save(knn_pipeline, trained, tmp_path):
    _, info = models.load(trained, [])
    with pytest.raises(ModelError) as caught:
        models.save(knn_pipeline, info, {}, [], tmp_path / "model", [], CONTRACT)
    for name in untrusted_types(knn_pipeline):
        assert name in str(caught.value)
    assert "add them to train.trusted_types in params.yaml" in str(caught.value)
    assert not (tmp_path / "model").exists()


def test_a_model_folder_carries_the_schema_it_trained_on(trained, tmp_path):
    """The service checks requests against the model's own schema (a champion served beside a newer
    shadow keeps its own): the one schema.py declared at training, checks and formats included."""
    stored = models.read_schema(trained)
    assert stored == schema.TrainingData.to_schema()
    assert stored.columns.keys() == schema.TrainingData.to_schema().columns.keys()
    folder = shutil.copytree(trained, tmp_path / "old")
    (folder / models.SCHEMA_FILE).unlink()
    with pytest.raises(ModelError, match=r"old: no schema.json .*retrain it with `train`"):
        models.read_schema(folder)


def test_incomplete_model_folder(trained, tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    shutil.copy(trained / models.MODEL_FILE, folder / models.MODEL_FILE)
    with pytest.raises(ModelError, match=r"missing \['model.json'\]"):
        models.load(folder, [])


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize(
    "estimator",
    ["linear", "random_forest", "hist_gradient_boosting", "sklearn.ensemble.ExtraTrees{kind}"],
)
def test_every_candidate_saves_with_trusted_types_only(task, estimator, tmp_path):
    estimator = estimator.format(kind="Classifier" if task == "classification" else "Regressor")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.random(60), "colour": rng.choice(["red", "blue"], 60)})
    y = X["x"] > 0.5 if task == "classification" else X["x"] * 3
    candidate = settings.Candidate(estimator=estimator, params={"max_iter": 5} if "hist" in estimator else {})
    pipeline = models.fit(models.build_pipeline("c", candidate, task, ["x"], ["colour"], seed=0), X, y)
    info = models.ModelInfo(task, "y", ["x"], ["colour"], "c", estimator, {})
    models.save(pipeline, info, {"ok": True}, [True, False], tmp_path, [], CONTRACT)
    loaded, loaded_info = models.load(tmp_path, [])
    assert loaded_info == info
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def test_a_threshold_decides_the_class_and_is_saved_with_the_model(tmp_path):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"x": rng.random(400), "colour": rng.choice(["red", "blue"], 400)})
    y = np.where(X["x"] + rng.normal(0, 0.3, 400) > 1.1, "yes", "no")
    candidate = settings.Candidate(estimator="linear")
    pipeline = models.build_pipeline("c", candidate, "classification", ["x"], ["colour"], seed=0)
    low = models.with_threshold(pipeline, 0.1, "yes").fit(X, y)
    proba = models.predict_frame(low, X)
    np.testing.assert_array_equal(proba["prediction"] == "yes", proba["proba_yes"] >= 0.1)
    assert (proba["prediction"] == "yes").mean() > (pipeline.fit(X, y).predict(X) == "yes").mean()
    info = models.ModelInfo(
        "classification", "y", ["x"], ["colour"], "c", "linear", {}, ["no", "yes"], "yes", 0.1
    )
    models.save(low, info, {}, [True], tmp_path, [], CONTRACT)  # FixedThresholdClassifier needs no trust
    loaded, loaded_info = models.load(tmp_path, [])
    assert loaded_info.threshold == 0.1
    np.testing.assert_array_equal(loaded.predict(X), proba["prediction"])


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (
            "no_such_package.Model",
            r"cannot import no_such_package \(add it to the project: `uv add no_such_package`\)",
        ),
        ("sklearn.ensemble.NoSuchForest", "sklearn.ensemble has no NoSuchForest"),
        ("sklearn.preprocessing.StandardScaler", "is not a classification estimator"),
        ("sklearn.ensemble.RandomForestRegressor", "is not a classification estimator"),
        ("json.JSONDecoder", "is not a scikit-learn-compatible estimator"),
    ],
)
def test_an_estimator_that_cannot_be_used_is_named(estimator, message):
    candidate = settings.Candidate(estimator=estimator)
    with pytest.raises(ParamsError, match=rf"train\.candidates\.c\.estimator: .*{message}"):
        models.build_pipeline("c", candidate, "classification", ["x"], [], seed=0)


def test_unknown_estimator_parameter(params):
    candidate = settings.Candidate(estimator="random_forest", params={"n_estimatorz": 10})
    with pytest.raises(ParamsError, match=r"train\.candidates\.forest\.params: .*'n_estimatorz'"):
        models.build_pipeline("forest", candidate, params.task, ["a"], ["b"], seed=0)
