"""`train`: cross-validates every candidate, saves the best with its metrics, and is reproducible."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from support import PKG_NAME, ROOT, explain, invoke

from {{ cookiecutter.__package_name }} import (
    data,
    dates,
    errors,
    evaluation,
    models,
    schema,
    settings,
    training,
)


def test_writes_the_model_folder(trained):
    assert {p.name for p in trained.iterdir()} == {
        "model.skops",
        "model.json",
        "metrics.json",
        "trained-rows.npz",
        "schema.json",
    }


def test_holdout_metrics_cover_every_metric_in_params(metrics, params):
    holdout = metrics["holdout"]
    assert sorted(holdout["metrics"]) == sorted(params.metrics)
    assert all(isinstance(v, float) for v in holdout["metrics"].values()), holdout
    assert holdout["rows"] > 0 and metrics["train"]["rows"] > holdout["rows"]
    assert metrics["task"] == params.task and metrics["primary_metric"] == params.train.primary_metric


def test_leaderboard_ranks_every_candidate_best_first(metrics, params):
    board = metrics["cv"]["leaderboard"]
    assert sorted(row["candidate"] for row in board) == sorted(params.train.candidates)
    assert all(len(row["scores"]) == params.train.cv_folds for row in board)
    means = [row["mean"] * evaluation.direction(params.train.primary_metric) for row in board]
    assert means == sorted(means, reverse=True)
    assert metrics["chosen"] == board[0]["candidate"]
    assert metrics["cv"]["folds"] == params.train.cv_folds


def test_records_hashes_and_versions(metrics, params, sample):
    hashes = metrics["hashes"]
    assert hashes["data"] == hashlib.sha256(params.data_path.read_bytes()).hexdigest()
    assert hashes["holdout"] == data.table_hash(data.split(sample, params).holdout)
    assert hashes["schema"] == training.schema_hash()
    assert hashes["params"] == training.params_hash(params)
    assert set(metrics["versions"]) >= {"python", "numpy", "pandas", "scikit-learn", "skops"}


def test_model_json_describes_the_model(trained, metrics, params):
    info = json.loads((trained / "model.json").read_text(encoding="utf-8"))
    numeric, categorical = data.feature_columns()
    assert info["task"] == params.task and info["target"] == params.data.target
    assert (info["numeric"], info["categorical"]) == (numeric, categorical)
    assert info["candidate"] == metrics["chosen"]
    if params.task == "classification":
        assert len(info["classes"]) >= 2
        if len(info["classes"]) == 2:
            assert str(info["positive_class"]) == str(params.data.positive_class)
    else:
        assert info["classes"] == [] and info["positive_class"] is None


def test_prints_the_leaderboard_and_holdout(project, tmp_path, metrics):
    result = invoke("train", "--params", project, "--out", tmp_path / "again")
    assert result.exit_code == 0, explain(result)
    assert f"Cross-validated {metrics['primary_metric']}" in result.output
    assert f" * {metrics['chosen']}" in result.output
    assert f"Holdout ({metrics['holdout']['rows']} rows):" in result.output
    assert f"Saved the model and metrics.json to {tmp_path / 'again'}" in result.output
    # Progress goes to stderr (stdout keeps the results): every fold of every candidate, timed.
    progress = result.stderr.splitlines()
    assert all(re.match(r"\[ *\d+\.\ds\] ", line) for line in progress) and progress
    metric, folds = metrics["primary_metric"], metrics["cv"]["folds"]
    for row in metrics["cv"]["leaderboard"]:
        name = row["candidate"]
        assert any(line.endswith(f"] Cross-validating {name} ({folds} folds) …") for line in progress)
        for fold in range(1, folds + 1):
            assert any(
                re.search(rf"\]   {name} fold {fold}/{folds}: {metric} [\d.]+ \(", x) for x in progress
            )
    assert any(f"] Fitting {metrics['chosen']} on the " in line for line in progress)
    assert "Cross-validating" not in result.stdout


def test_training_twice_gives_identical_metrics(project, tmp_path, metrics):
    """Same commit, data and params: same split, model and numbers, even in a fresh interpreter."""
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(ROOT / "src")}
    code = f"from {PKG_NAME}.cli import main; main()"
    command = [sys.executable, "-c", code, "train", "--params", project, "--out", tmp_path / "again"]
    subprocess.run(command, check=True, capture_output=True, env=env)
    again = json.loads((tmp_path / "again" / "metrics.json").read_text(encoding="utf-8"))
    for section in ("holdout", "cv", "hashes", "chosen"):
        assert again[section] == metrics[section], section


def edit_params(params_path, edit) -> None:
    raw = settings.read_yaml(params_path)
    edit(raw)
    params_path.write_text(json.dumps(raw), encoding="utf-8")


def train_fails(params_path, out) -> str:
    """Run `train`, check it failed cleanly without writing a model, and return its output."""
    result = invoke("train", "--params", params_path, "--out", out)
    assert result.exit_code == 1, explain(result)
    assert isinstance(result.exception, SystemExit), explain(result)  # a message, not a traceback
    assert not out.exists()
    _, error, message = result.output.partition("error: ")  # after the progress lines
    return error + message if error else result.output  # or the validation table


def test_unknown_estimator_parameter_is_named(own_project, tmp_path):
    name = next(iter(settings.load_params(own_project).train.candidates))
    edit_params(own_project, lambda raw: raw["train"]["candidates"][name]["params"].update(n_estimatorz=10))
    output = train_fails(own_project, tmp_path / "model")
    assert output.startswith(f"error: train.candidates.{name}.params: ")
    assert "n_estimatorz" in output


def test_row_key_must_be_columns(own_project, tmp_path):
    edit_params(own_project, lambda raw: raw["data"].update(row_key=["no_such_column"]))
    output = train_fails(own_project, tmp_path / "model")
    assert output.startswith("error: data.row_key: ") and "no_such_column" in output


def test_target_must_be_a_column(own_project, tmp_path):
    edit_params(own_project, lambda raw: raw["data"].update(target="no_such_column"))
    output = train_fails(own_project, tmp_path / "model")
    assert output.startswith("error: data.target: ") and "no_such_column" in output


def test_missing_training_data(own_project, tmp_path):
    params = settings.load_params(own_project)
    params.data_path.unlink()
    assert train_fails(own_project, tmp_path / "model") == f"error: {params.data_path}: file not found\n"


def test_invalid_estimator_parameter_value_is_named(own_project, tmp_path):
    name = next(iter(settings.load_params(own_project).train.candidates))
    edit_params(own_project, lambda raw: raw["train"]["candidates"][name].update(params={"max_iter": -3}))
    output = train_fails(own_project, tmp_path / "model")
    assert output.startswith(f"error: train.candidates.{name}.params: ")
    assert "max_iter" in output


def test_data_violating_the_schema_stops_training_with_the_table(own_project, tmp_path):
    params = settings.load_params(own_project)
    frame = data.read_table(params.data_path)
    frame.assign(surprise=1).to_csv(params.data_path, index=False)
    output = train_fails(own_project, tmp_path / "model")
    assert "schema violation" in output
    assert re.search(r"^surprise +unexpected column \(not in the schema\) +1 ", output, re.MULTILINE)
    assert not (tmp_path / "model").exists()


def test_no_skill_is_scored_next_to_the_model(metrics, params, trained, sample):
    """A dummy model (class shares, or the mean) in CV and on the holdout: what "no skill" scores."""
    no_skill = metrics["no_skill"]
    assert sorted(no_skill["holdout"]) == sorted(params.metrics)
    assert len(no_skill["cv"]["scores"]) == params.train.cv_folds
    holdout = data.split(sample, params).holdout[params.data.target]
    train_rows = data.split(sample, params).train[params.data.target]
    if params.task == "classification":
        majority = train_rows.value_counts().idxmax()
        assert no_skill["answer"]["prediction"] == majority
        assert no_skill["holdout"]["accuracy"] == (holdout == majority).mean()
        if "roc_auc" in params.metrics:
            assert no_skill["holdout"]["roc_auc"] == 0.5 and no_skill["cv"]["mean"] == 0.5
    else:
        assert no_skill["answer"]["prediction"] == pytest.approx(train_rows.mean())
    result = invoke("train", "--params", params.file, "--out", trained.parent / "printed")
    assert re.search(r"^   \(no skill\) +[\d.]+ ± [\d.]+$", result.stdout, re.MULTILINE), result.stdout


def binary_project(own_project):
    """The own project, as binary classification (the regression template's tests skip)."""
    params = settings.load_params(own_project)
    if params.task != "classification" or params.data.positive_class is None:
        pytest.skip("binary classification only")
    return params


def test_a_tuned_threshold_is_stored_and_decides_predictions(own_project, tmp_path):
    params = binary_project(own_project)
    edit_params(own_project, lambda raw: raw["train"].update(threshold={"maximise": "f1"}))
    result = invoke("train", "--params", own_project, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text(encoding="utf-8"))
    info = json.loads((tmp_path / "model" / "model.json").read_text(encoding="utf-8"))
    chosen = metrics["cv"]["leaderboard"][0]
    assert info["threshold"] == metrics["threshold"] == chosen["threshold"] and 0 < info["threshold"] < 1
    assert metrics["threshold_maximises"] == "f1"
    assert f"Decision threshold: {info['threshold']:.2f} (maximises f1 across the folds)" in result.stdout
    # predict decides at the stored threshold
    holdout = tmp_path / "holdout.csv"
    data.write_table(data.read_table(params.data_path).head(300), holdout)
    output = tmp_path / "predictions.csv"
    arguments = [
        "--model",
        tmp_path / "model",
        "--input",
        holdout,
        "--output",
        output,
        "--params",
        own_project,
    ]
    done = invoke("predict", *arguments)
    assert done.exit_code == 0, explain(done)
    predicted = data.read_table(output)
    positive = info["positive_class"]
    expected = predicted[f"proba_{positive}"] >= info["threshold"]
    assert ((predicted["prediction"].astype(str) == str(positive)) == expected).all()


def test_a_fixed_threshold_is_used_as_given(own_project, tmp_path):
    binary_project(own_project)
    edit_params(own_project, lambda raw: raw["train"].update(threshold=0.3))
    result = invoke("train", "--params", own_project, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["threshold"] == 0.3 and metrics["threshold_maximises"] is None
    assert {row["threshold"] for row in metrics["cv"]["leaderboard"]} == {0.3}
    assert "Decision threshold: 0.30\n" in result.stdout


def test_any_estimator_by_import_path_and_any_sklearn_metric(own_project, tmp_path):
    params = settings.load_params(own_project)
    kind = "Classifier" if params.task == "classification" else "Regressor"
    metric = "balanced_accuracy" if params.task == "classification" else "mean_absolute_percentage_error"

    def own_model(raw):
        raw["train"]["candidates"] = {
            "extra_trees": {"estimator": f"sklearn.ensemble.ExtraTrees{kind}", "params": {"n_estimators": 20}}
        }
        raw["metrics"] = [metric, *raw["metrics"]]
        raw["train"]["primary_metric"] = metric

    edit_params(own_project, own_model)
    result = invoke("train", "--params", own_project, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["chosen"] == "extra_trees" and metrics["cv"]["metric"] == metric
    value = metrics["holdout"]["metrics"][metric]
    assert value is not None and value > 0
    assert f"   {metric:<20} {value:8.4f}" in result.stdout


def test_an_estimator_with_untrusted_types_names_them_and_where_to_allow_them(own_project, tmp_path):
    params = settings.load_params(own_project)
    kind = "Classifier" if params.task == "classification" else "Regressor"
    candidate = {"estimator": f"sklearn.neighbors.KNeighbors{kind}", "params": {"algorithm": "kd_tree"}}
    # Next to the others: it fails even when it would not win (it could win on other data).
    edit_params(own_project, lambda raw: raw["train"]["candidates"].update(knn=candidate))
    output = train_fails(own_project, tmp_path / "model")
    assert output.startswith("error: train.candidates.knn holds types that are not trusted yet: [")
    assert "sklearn.neighbors._kd_tree.KDTree" in output
    assert "add them to train.trusted_types in params.yaml" in output
    trusted = ["sklearn.neighbors._kd_tree.KDTree", "sklearn.metrics._dist_metrics.EuclideanDistance64"]
    edit_params(own_project, lambda raw: raw["train"].update(trusted_types=trusted))
    result = invoke("train", "--params", own_project, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)


def test_cross_validates_on_a_seeded_sample_and_fits_on_every_row(own_project, tmp_path):
    """train.cv_rows bounds the rows cross-validated on (by class); the chosen model fits on all."""
    params = settings.load_params(own_project)
    train_rows = data.split(data.load_training_data(params), params).train
    limit = len(train_rows) // 3
    edit_params(own_project, lambda raw: raw["train"].update(cv_rows=limit))
    runs = []
    for name in ("model", "again"):
        result = invoke("train", "--params", own_project, "--out", tmp_path / name)
        assert result.exit_code == 0, explain(result)
        runs.append(json.loads((tmp_path / name / "metrics.json").read_text(encoding="utf-8")))
    metrics = runs[0]
    assert metrics["cv"]["rows"] == limit and metrics["train"]["rows"] == len(train_rows)
    folds = metrics["cv"]["folds"]
    assert (
        f"({folds} folds of a {limit:,}-row sample of the {len(train_rows):,} training rows)" in result.stdout
    )
    assert f"Fitting {metrics['chosen']} on the {len(train_rows):,} training rows" in result.stderr
    assert runs[1]["cv"] == metrics["cv"] and runs[1]["holdout"] == metrics["holdout"]  # seeded
    if params.task == "classification":  # every class keeps its share of the rows
        y = train_rows[params.data.target]
        _, y_cv = training.cv_sample(settings.load_params(own_project), train_rows, y)
        assert (y_cv.value_counts(normalize=True) - y.value_counts(normalize=True)).abs().max() < 0.01


def test_a_saved_forest_predicts_on_one_core(own_project, tmp_path):
    """Ensembles fit on every core, but a service worker must not spread one row over threads."""
    params = settings.load_params(own_project)
    kind = "Classifier" if params.task == "classification" else "Regressor"
    forest = {"estimator": f"sklearn.ensemble.RandomForest{kind}", "params": {"n_estimators": 10}}
    edit_params(own_project, lambda raw: raw["train"].update(candidates={"forest": forest}))
    numeric, categorical = data.feature_columns()
    candidate = settings.load_params(own_project).train.candidates["forest"]
    built = models.build_pipeline("forest", candidate, params.task, numeric, categorical, seed=0)
    assert built[-1].n_jobs == -1
    result = invoke("train", "--params", own_project, "--out", tmp_path / "model")
    assert result.exit_code == 0, explain(result)
    model, _ = models.load(tmp_path / "model", [])
    final = model[-1]
    forest = final.estimator_ if hasattr(final, "threshold") else final  # a decision threshold wraps it
    assert type(forest).__name__ == f"RandomForest{kind}" and forest.n_jobs is None


def test_histogram_boosting_splits_on_categories_itself(params):
    """One code per category (not one column each), and the estimator told which columns they are."""
    numeric, categorical = data.feature_columns()
    candidate = settings.Candidate(estimator="hist_gradient_boosting", params={})
    pipeline = models.build_pipeline("hgb", candidate, params.task, numeric, categorical, seed=0)
    if not categorical:
        pytest.skip("no categorical features")
    sample = data.validate(data.read_table(params.data_path), schema.TrainingData, "sample")
    encoded = pipeline[:-1].fit_transform(sample[numeric + categorical])
    assert encoded.shape[1] == len(numeric) + len(categorical)
    assert pipeline[-1].categorical_features == list(range(len(categorical)))


# -- split.by: time ---------------------------------------------------------------------------


def by_time(own_project) -> settings.Params:
    raw = settings.read_yaml(own_project)
    raw["split"]["by"] = "time"
    own_project.write_text(json.dumps(raw), encoding="utf-8")
    return settings.load_params(own_project)


def test_a_time_split_holds_out_the_latest_rows(own_project):
    params = by_time(own_project)
    frame = data.load_training_data(params)
    column = params.data.time_column
    parts = data.split(frame, params)
    assert len(parts.holdout) == round(params.split.holdout_fraction * len(frame))
    times = {name: dates.utc_times(part[column], column) for name, part in vars(parts).items()}
    assert times["holdout"].min() >= times["train"].max()
    # Ties at the boundary go by file order: the later rows of the boundary's time are held out.
    boundary = frame[dates.utc_times(frame[column], column) == times["holdout"].min()].index
    held = boundary.isin(parts.holdout.index)
    assert list(held) == sorted(held)


def test_a_time_split_cross_validates_forward_and_says_which_period_each_side_covers(
    own_project, tmp_path, monkeypatch
):
    params = by_time(own_project)
    seen = {}
    real = training.cross_validation

    def spy(params, X, y, classes, positive):
        seen["rows"] = X.index
        return real(params, X, y, classes, positive)

    monkeypatch.setattr(training, "cross_validation", spy)
    metrics = training.train(params, tmp_path / "model")
    column = params.data.time_column
    frame = data.load_training_data(params)
    cv_times = dates.utc_times(frame.loc[seen["rows"], column], column)
    assert (cv_times[1:] >= cv_times[:-1]).all()  # in time order, which TimeSeriesSplit folds forward
    assert type(training.folds_for(params)).__name__ == "TimeSeriesSplit"
    assert metrics["split"] == "time"
    train, holdout = metrics["train"]["span"], metrics["holdout"]["span"]
    assert train["time_column"] == holdout["time_column"] == column
    assert train["first"] == frame[column].min() and holdout["last"] == frame[column].max()
    assert train["last"] <= holdout["first"]


def test_a_time_split_needs_a_time_column(own_project):
    raw = settings.read_yaml(own_project)
    raw["split"]["by"] = "time"
    raw["data"].pop("time_column")
    own_project.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(errors.ParamsError, match=r"split\.by: time needs data\.time_column"):
        settings.load_params(own_project)
