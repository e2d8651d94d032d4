"""Paired bootstrap: vectorised metrics equal sklearn's, and the intervals behave as a gate needs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import bootstrap, evaluation

CLASSIFICATION = ["roc_auc", "log_loss", "f1", "precision", "recall", "accuracy"]
REGRESSION = ["rmse", "mae", "r2"]
STATS = {"resamples": 300, "confidence": 0.95, "seed": 7}


def binary_case(n: int = 600, skill: float = 1.0, seed: int = 0):
    """Labels "no"/"yes" and a model whose P(yes) is rounded to 0.05 (many ties, some exactly 0 and 1)."""
    rng = np.random.default_rng(seed)
    y = np.where(rng.random(n) < 0.3, "yes", "no")
    logit = skill * np.where(y == "yes", 1.0, -1.0) + rng.normal(0, 1.5, n)
    p_yes = np.round(1 / (1 + np.exp(-logit)) * 20) / 20
    p_yes[:5], p_yes[5:10] = 0.0, 1.0  # clipping by log loss
    prediction = np.where(p_yes > 0.5, "yes", "no")
    preds = pd.DataFrame({"prediction": prediction, "proba_no": 1 - p_yes, "proba_yes": p_yes})
    return pd.Series(y), preds, ["no", "yes"], "yes"


def multiclass_case(n: int = 600, seed: int = 1):
    """Three classes; probabilities are multiples of 0.1 (ties) and the predictions are partly wrong."""
    rng = np.random.default_rng(seed)
    classes = ["a", "b", "c"]
    y = rng.choice(classes, n, p=[0.5, 0.3, 0.2])
    tenths = rng.multinomial(10, [1 / 3] * 3, size=n)
    proba = tenths / 10
    prediction = np.where(rng.random(n) < 0.6, y, np.array(classes)[proba.argmax(axis=1)])
    preds = pd.DataFrame(proba, columns=evaluation.proba_columns(classes)).assign(prediction=prediction)
    return pd.Series(y), preds, classes, None


def regression_case(n: int = 600, noise: float = 1.0, seed: int = 2):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 10, n)
    return pd.Series(y), pd.DataFrame({"prediction": np.round(y + rng.normal(0, noise, n))}), [], None


def paired(y, champion, challenger, classes=(), positive=None, metrics=CLASSIFICATION, **stats) -> dict:
    """paired_bootstrap's results by metric name."""
    diffs = bootstrap.paired_bootstrap(y, champion, challenger, metrics, classes, positive, **(STATS | stats))
    return {diff["metric"]: diff for diff in diffs}


CASES = {
    "binary": (binary_case, CLASSIFICATION),
    "multiclass": (multiclass_case, CLASSIFICATION),
    "regression": (regression_case, REGRESSION),
}


@pytest.mark.parametrize("case", CASES)
def test_metrics_equal_sklearn_on_the_holdout_and_on_resamples(case):
    """Row 0 weights every row once; the other rows are bootstrap counts, checked on the repeated rows."""
    make, metrics = CASES[case]
    y, preds, classes, positive = make()
    rng = np.random.default_rng(3)
    counts = [np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y)) for _ in range(3)]
    weights = np.vstack([np.ones(len(y)), *counts])
    values = bootstrap.metric_values(y, preds, metrics, classes, positive, weights=weights)
    for b, row in enumerate(weights):
        repeated = np.repeat(np.arange(len(y)), row.astype(int))
        for metric in metrics:
            expected = evaluation.score(metric, y.iloc[repeated], preds.iloc[repeated], classes, positive)
            assert expected is not None
            assert values[metric][b] == pytest.approx(expected, abs=1e-9, rel=0), (metric, b)


@pytest.mark.parametrize(
    "case",
    [
        "constant regression target",
        "positive class never predicted",
        "multiclass, one class never predicted nor present",
        "single row",
    ],
)
def test_degenerate_holdouts_match_evaluation(case):
    """Undefined metrics (None there, NaN here) and zero_division=0 as evaluation.score has them."""
    if case == "constant regression target":
        y, preds, classes, positive = pd.Series([0.1] * 10), pd.DataFrame({"prediction": range(10)}), [], None
    elif case == "positive class never predicted":
        y, preds, classes, positive = binary_case(n=50)
        preds["prediction"] = "no"
    elif case.startswith("multiclass"):
        y, preds, classes, positive = multiclass_case(n=50)
        y, preds["prediction"] = y.replace("c", "a"), preds["prediction"].replace("c", "b")
    else:
        y, preds, classes, positive = binary_case(n=1)
    metrics = CLASSIFICATION if classes else REGRESSION
    values = bootstrap.metric_values(y, preds, metrics, classes, positive)
    for metric in metrics:
        expected = evaluation.score(metric, y, preds, classes, positive)
        value = None if np.isnan(values[metric][0]) else values[metric][0]
        assert value == pytest.approx(expected, abs=1e-12), metric


def test_log_loss_clips_and_does_not_renormalise_like_sklearn():
    y, preds, classes, positive = binary_case(n=50)
    preds["proba_no"] = preds["proba_no"] * 0.9  # rows no longer sum to one
    value = bootstrap.metric_values(y, preds, ["log_loss"], classes, positive)["log_loss"][0]
    assert value == pytest.approx(evaluation.score("log_loss", y, preds, classes, positive), abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_identical_predictions_differ_by_exactly_zero(case):
    make, metrics = CASES[case]
    y, preds, classes, positive = make()
    for diff in bootstrap.paired_bootstrap(y, preds, preds.copy(), metrics, classes, positive, **STATS):
        assert (diff["delta"], diff["low"], diff["high"]) == (0.0, 0.0, 0.0), diff
        assert diff["champion"] == diff["challenger"] is not None
        assert diff["undefined_share"] == 0.0


def test_clearly_better_classifier_has_an_interval_on_the_right_side():
    y, champion, classes, positive = binary_case(skill=0.3)
    _, challenger, _, _ = binary_case(skill=3.0)  # same labels (same seed), far better scores
    diffs = paired(y, champion, challenger, classes, positive)
    for metric in ("accuracy", "roc_auc"):
        assert 0 < diffs[metric]["low"] <= diffs[metric]["delta"] <= diffs[metric]["high"], diffs[metric]
    assert diffs["log_loss"]["low"] <= diffs["log_loss"]["delta"] <= diffs["log_loss"]["high"] < 0
    assert diffs["accuracy"]["delta"] == pytest.approx(
        evaluation.score("accuracy", y, challenger) - evaluation.score("accuracy", y, champion)
    )


def test_clearly_better_regressor_has_an_interval_below_zero_for_rmse():
    y, champion, _, _ = regression_case(noise=5.0)
    challenger = pd.DataFrame({"prediction": y + np.random.default_rng(4).normal(0, 1.0, len(y))})
    diffs = paired(y, champion, challenger, metrics=REGRESSION)
    assert diffs["rmse"]["high"] < 0 and diffs["mae"]["high"] < 0
    assert diffs["r2"]["low"] > 0


def test_same_seed_same_result_other_seed_other_result():
    y, champion, classes, positive = binary_case(skill=0.5)
    _, challenger, _, _ = binary_case(skill=1.0)
    run = [paired(y, champion, challenger, classes, positive, seed=seed) for seed in (1, 1, 2)]
    assert run[0] == run[1]
    intervals = [[(d["low"], d["high"]) for d in diffs.values()] for diffs in run]
    assert intervals[0] != intervals[2]


def test_chunking_does_not_change_the_result(monkeypatch):
    """Memory is bounded by chunks of resamples; the chunk size must not change what is drawn."""
    y, champion, classes, positive = binary_case(n=200, skill=0.5)
    _, challenger, _, _ = binary_case(n=200, skill=1.0)
    whole = paired(y, champion, challenger, classes, positive)
    monkeypatch.setattr(bootstrap, "MAX_CELLS", 200 * 7)  # chunks of 7 resamples
    assert paired(y, champion, challenger, classes, positive) == whole


def test_single_class_holdout_gives_no_roc_auc_and_no_error():
    y, preds, classes, positive = binary_case(n=100)
    keep = (y == "no").to_numpy()
    y, preds = y[keep], preds[keep]
    diffs = paired(y, preds, preds, classes, positive)
    auc = diffs["roc_auc"]
    assert (auc["champion"], auc["challenger"], auc["delta"], auc["low"], auc["high"]) == (None,) * 5
    assert auc["undefined_share"] == 1.0
    assert diffs["accuracy"]["delta"] == 0.0 and diffs["log_loss"]["low"] == 0.0
    assert diffs["precision"]["champion"] == evaluation.score("precision", y, preds, classes, positive)


def test_resamples_missing_a_class_are_left_out_of_the_interval():
    """Four rows, one positive: about a third of the resamples draw no positive and have no ROC AUC."""
    y = pd.Series(["yes", "no", "no", "no"])
    p_yes = np.array([0.4, 0.5, 0.3, 0.2])  # the positive (first row) beats 2 of 3 negatives
    champion = pd.DataFrame({"prediction": ["no"] * 4, "proba_no": 1 - p_yes, "proba_yes": p_yes})
    challenger = champion.assign(proba_no=[0.1, 0.5, 0.7, 0.8], proba_yes=[0.9, 0.5, 0.3, 0.2])
    (auc,) = bootstrap.paired_bootstrap(y, champion, challenger, ["roc_auc"], ["no", "yes"], "yes", **STATS)
    assert 0.2 < auc["undefined_share"] < 0.5
    assert (auc["champion"], auc["challenger"]) == (pytest.approx(2 / 3), 1.0)
    assert auc["low"] is not None and auc["low"] <= auc["high"]


def test_absolute_bootstrap_brackets_the_holdout_value():
    y, preds, classes, positive = multiclass_case()
    result = bootstrap.absolute_bootstrap(y, preds, CLASSIFICATION, classes, positive, **STATS)
    for metric, (value, low, high) in result.items():
        assert value == pytest.approx(evaluation.score(metric, y, preds, classes, positive), abs=1e-9)
        assert low < value < high, metric


# Metrics outside the vectorised nine, by scikit-learn scorer name, with an independent oracle each.
def _oracles():
    from sklearn import metrics as skm

    return {
        "binary": {
            "average_precision": lambda y, p: skm.average_precision_score(y == "yes", p["proba_yes"]),
            "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p["prediction"]),
            "brier_score": lambda y, p: skm.brier_score_loss(y == "yes", p["proba_yes"]),
        },
        "multiclass": {
            "f1_macro": lambda y, p: skm.f1_score(y, p["prediction"], average="macro"),
            "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p["prediction"]),
        },
        "regression": {
            "mean_absolute_percentage_error": lambda y, p: skm.mean_absolute_percentage_error(
                y, p["prediction"]
            ),
            "median_absolute_error": lambda y, p: skm.median_absolute_error(y, p["prediction"]),
        },
    }


@pytest.mark.parametrize("case", CASES)
def test_scikit_learn_metrics_by_name_take_the_general_path(case):
    make, _ = CASES[case]
    y, preds, classes, positive = make(n=200)
    oracles = _oracles()[case]
    rng = np.random.default_rng(4)
    weights = np.vstack([np.ones(len(y)), np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))])
    values = bootstrap.metric_values(y, preds, list(oracles), classes, positive, weights=weights)
    for b, row in enumerate(weights):
        repeated = np.repeat(np.arange(len(y)), row.astype(int))
        for metric, oracle in oracles.items():
            expected = oracle(y.iloc[repeated].to_numpy(), preds.iloc[repeated].reset_index(drop=True))
            assert values[metric][b] == pytest.approx(expected, abs=1e-12), (metric, b)
    for metric in oracles:  # errors are reported positive, smaller is better
        assert evaluation.metric(metric, "classification" if classes else "regression").direction == (
            -1 if metric in {"brier_score", "mean_absolute_percentage_error", "median_absolute_error"} else 1
        )


def test_general_metrics_are_paired_like_the_fast_ones():
    y, champion, classes, positive = binary_case(skill=0.3)
    _, challenger, _, _ = binary_case(skill=3.0)
    metrics = ["roc_auc", "average_precision", "balanced_accuracy"]
    diffs = paired(y, champion, challenger, classes, positive, metrics=metrics)
    for metric in metrics:
        assert 0 < diffs[metric]["low"] <= diffs[metric]["delta"] <= diffs[metric]["high"], diffs[metric]
    same = paired(y, champion, champion.copy(), classes, positive, metrics=metrics)
    assert all((d["delta"], d["low"], d["high"]) == (0.0, 0.0, 0.0) for d in same.values())


# Each true-class probability's -ln is a short binary fraction (1/2, 9/16, 1, 2; each double is within
# 0.2 ulp of it, so any log rounds to it exactly). With them, and whole numbers for regression, every
# weighted sum the bootstrap makes is exact: the digits below hold whatever the CPU or BLAS.
EXACT_LOG_PROBA = [0.6065306597126334, 0.569782824730923, 0.36787944117144233, 0.1353352832366127]


def exact_case(task: str, model_seed: int):
    """100 rows, the same targets for every model seed."""
    n, rng, model = 100, np.random.default_rng(0), np.random.default_rng(model_seed)
    if task == "regression":
        y = rng.integers(80, 120, n)
        y[-1] -= y.sum() % n  # a whole mean: the centred targets (for R²) are whole numbers too
        prediction = y + model.integers(-6, 7, n)
        return pd.Series(y.astype(float)), pd.DataFrame({"prediction": prediction}), [], None
    classes = ["no", "yes"] if task == "binary" else ["a", "b", "c"]
    y = rng.choice(classes, n, p=[0.6, 0.4] if task == "binary" else [0.5, 0.3, 0.2])
    p_true = model.choice(EXACT_LOG_PROBA, n, p=[0.45, 0.3, 0.15, 0.1])[:, None]
    proba = np.where(y[:, None] == np.array(classes), p_true, (1 - p_true) / (len(classes) - 1))
    preds = pd.DataFrame(proba, columns=evaluation.proba_columns(classes))
    preds["prediction"] = np.array(classes)[proba.argmax(axis=1)]
    return pd.Series(y), preds, classes, ("yes" if task == "binary" else None)


# paired_bootstrap on exact_case(task, seed) vs exact_case(task, seed + 1), as the bootstrap computed
# it before each metric said in the catalogue how it is vectorised (issue #20): champion, challenger,
# low, high.
BEFORE_THE_CATALOGUE_SAID_HOW = """
binary roc_auc 0.4885954381752701 0.6050420168067226 -0.02945254077469584 0.2606262626262626
binary log_loss 0.7475 0.7 -0.16331250000000008 0.053874999999999916
binary f1 0.7115384615384616 0.7659574468085106 -0.05506017971927063 0.15838443929105828
binary precision 0.6727272727272727 0.8 0.02655453905700202 0.23658372548203055
binary recall 0.7551020408163265 0.7346938775510204 -0.17421739130434782 0.11338050314465412
binary accuracy 0.7 0.78 -0.030000000000000027 0.17999999999999994
multiclass roc_auc 0.9298880393300203 0.8180695934965807 -0.1897562563178989 -0.022184872842767482
multiclass log_loss 0.7025 0.823125 0.008500000000000023 0.22703125
multiclass f1 0.9340016469156135 0.8377998535405463 -0.16515140447579954 -0.019598263600700726
multiclass precision 0.9332347868933235 0.8525252525252526 -0.1336507064364207 -0.009236009737463257
multiclass recall 0.9382812802353032 0.8316885328379581 -0.178036341677646 -0.02669094231594226
multiclass accuracy 0.93 0.83 -0.16999999999999993 -0.019500000000000187
regression rmse 3.919183588453085 3.605551275463989 -0.7273790881376578 0.07726442883355411
regression mae 3.44 3.08 -0.8124999999999998 0.08049999999999989
regression r2 0.9173215631391969 0.9300247604693723 -0.003964847861485344 0.034698175298076436
"""


def test_built_in_metrics_give_the_digits_they_gave_before():
    assert [-np.log(p) for p in EXACT_LOG_PROBA] == [1 / 2, 9 / 16, 1, 2], "log rounds otherwise here"
    seeds = {"binary": 1, "multiclass": 3, "regression": 5}
    for line in BEFORE_THE_CATALOGUE_SAID_HOW.strip().splitlines():
        task, metric, *numbers = line.split()
        champion, challenger, low, high = map(float, numbers)
        y, old, classes, positive = exact_case(task, seeds[task])
        new = exact_case(task, seeds[task] + 1)[1]
        stats = {"resamples": 200, "confidence": 0.9, "seed": 7}
        (diff,) = bootstrap.paired_bootstrap(y, old, new, [metric], classes, positive, **stats)
        got = (diff["champion"], diff["challenger"], diff["low"], diff["high"])
        assert got == (champion, challenger, low, high), line
        assert diff["delta"] == challenger - champion


@pytest.mark.parametrize("case", CASES)
def test_a_metric_gives_the_same_digits_whichever_others_are_asked_for(case):
    make, metrics = CASES[case]
    y, champion, classes, positive = make()
    challenger = champion.sample(frac=1, random_state=0).reset_index(drop=True)  # no skill
    together = paired(y, champion, challenger, classes, positive, metrics=metrics)
    for metric in metrics:
        alone = paired(y, champion, challenger, classes, positive, metrics=[metric])
        assert alone[metric] == together[metric]


def test_a_fast_metric_is_one_catalogue_entry(monkeypatch):
    """Two new entries take the vectorised path with bootstrap.py untouched: the square root of MAE from
    weighted sums, and max_error from the counts (the largest error among the rows drawn)."""

    def absolute_error(y, preds, *_):
        return abs(preds["prediction"].to_numpy() - y)

    def rows(y, *_):
        return np.ones(len(y))

    def general_path(*_):
        raise AssertionError("a metric with a vectorised form took the general path")

    def largest_drawn(errors, counts):
        return np.where(counts > 0, errors[:, None], 0).max(axis=0)

    y, preds, _, _ = regression_case(n=200)
    rng = np.random.default_rng(5)
    weights = np.vstack([np.ones(len(y)), np.bincount(rng.integers(0, len(y), len(y)), minlength=len(y))])
    sklearn_max_error = bootstrap.metric_values(y, preds, ["max_error"], weights=weights)["max_error"]

    root_mae = evaluation.Metric(
        "root_mae", "regression", -1, "√MAE", compute=general_path, on_rows=general_path,
        vectorised=evaluation.FromSums((absolute_error, rows), lambda total, n: np.sqrt(total / n)),
    )  # fmt: skip
    max_error = evaluation.Metric(
        "max_error", "regression", -1, "max error", compute=general_path, on_rows=general_path,
        vectorised=evaluation.FromCounts(absolute_error, largest_drawn),
    )  # fmt: skip
    catalogue = evaluation.BUILT_IN | {"root_mae": root_mae, "max_error": max_error}
    monkeypatch.setattr(evaluation, "BUILT_IN", catalogue)
    values = bootstrap.metric_values(y, preds, ["root_mae", "max_error", "rmse"], weights=weights)
    assert values["max_error"].tolist() == sklearn_max_error.tolist()  # the general path's numbers
    for b, row in enumerate(weights):
        repeated = np.repeat(np.arange(len(y)), row.astype(int))
        mae = evaluation.score("mae", y.iloc[repeated], preds.iloc[repeated])
        assert values["root_mae"][b] == pytest.approx(np.sqrt(mae), abs=1e-12, rel=0), b
        rmse = evaluation.score("rmse", y.iloc[repeated], preds.iloc[repeated])
        assert values["rmse"][b] == pytest.approx(rmse, abs=1e-9, rel=0), b
