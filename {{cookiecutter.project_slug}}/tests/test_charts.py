"""Charts: the numbers behind each chart, and the Mermaid and text a reviewer's page renders.

That the Mermaid renders in a browser is checked by the template's `scripts/screenshots`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from support import pkg

charts = pkg("charts")


def row(label, delta, low, high, direction=1, tolerance=None):
    return {"label": label, "delta": delta, "low": low, "high": high, "direction": direction,
            "tolerance": tolerance}  # fmt: skip


def test_interval_plot_says_better_worse_or_unsure_at_a_glance():
    plot = charts.interval_plot([
        row("ROC AUC", 0.02, 0.01, 0.03, tolerance=0.005),
        row("log loss", 0.05, 0.03, 0.07, direction=-1),  # higher log loss is worse
        row("F1", 0.0, -0.01, 0.02),
        row("recall", None, None, None),
    ])  # fmt: skip
    header, better, worse, unsure, undefined = plot.splitlines()
    assert header.split() == ["worse", "0", "better"]
    zero = header.index("0")
    assert better.endswith("▲ better") and better.index("├") > zero and better[zero] == "│"
    assert "╎" in better[:zero]  # the tolerance, on the worse side
    assert worse.endswith("▼ worse") and worse.index("┤") < zero
    assert unsure.endswith("· unsure") and unsure.index("├") < zero < unsure.index("┤")
    assert "(undefined)" in undefined


def test_roc_and_precision_recall_curves_compare_both_models():
    rng = np.random.default_rng(0)
    y = pd.Series(rng.integers(0, 2, 2000)).map({0: "no", 1: "yes"})
    perfect = pd.DataFrame({"prediction": y, "proba_no": (y == "no") * 1.0, "proba_yes": (y == "yes") * 1.0})
    coin = rng.random(2000)
    noise = pd.DataFrame({"prediction": y, "proba_no": 1 - coin, "proba_yes": coin})
    roc, pr = charts.review_charts(y, {"champion": noise, "challenger": perfect}, ["no", "yes"], "yes")
    assert roc["title"] == "ROC curve, class yes"
    champion, challenger = (s["values"] for s in roc["series"])
    assert len(champion) == len(challenger) == len(charts.GRID)
    assert challenger[1] == 1.0  # a perfect model finds every positive at a 5% false positive rate
    assert abs(champion[10] - 0.5) < 0.05  # a coin is on the diagonal
    assert pr["series"][1]["values"] == [1.0] * len(charts.GRID)
    assert abs(np.mean(pr["series"][0]["values"][5:]) - (y == "yes").mean()) < 0.05


def test_multiclass_curves_are_micro_averaged():
    y = pd.Series(["a", "b", "c"] * 100)
    preds = pd.get_dummies(y, dtype=float).add_prefix("proba_").assign(prediction=y)
    roc, _ = charts.review_charts(y, {"challenger": preds}, ["a", "b", "c"], None)
    assert roc["title"] == "ROC curve, all classes (micro-average)"
    assert roc["series"][0]["values"][1] == 1.0


def test_regression_charts_show_predicted_vs_actual_and_the_residuals():
    rng = np.random.default_rng(1)
    y = pd.Series(rng.gamma(2.0, 50.0, 3000))
    sides = {
        "champion": pd.DataFrame({"prediction": y + rng.normal(0, 30, len(y))}),
        "challenger": pd.DataFrame({"prediction": y + rng.normal(0, 5, len(y))}),
    }
    fit, residuals = charts.review_charts(y, sides, [], None)
    ideal, champion, challenger = (s["values"] for s in fit["series"])
    assert [s["name"] for s in fit["series"]] == ["ideal", "champion", "challenger"]
    assert ideal == sorted(ideal) and len(fit["x"]["ticks"]) == 20
    assert np.abs(np.subtract(challenger, ideal)).mean() < np.abs(np.subtract(champion, ideal)).mean()
    for line in residuals["series"]:
        assert sum(line["values"]) == pytest.approx(100, abs=0.01)
    # the better model's residuals are concentrated in fewer bins
    assert max(residuals["series"][1]["values"]) > max(residuals["series"][0]["values"])


def test_distributions_bin_numbers_and_group_rare_categories():
    rng = np.random.default_rng(2)
    numbers = charts.distribution("balance", pd.Series(rng.normal(0, 1, 900)),
                                  pd.Series(rng.normal(1, 1, 300)), numeric=True)  # fmt: skip
    assert [s["kind"] for s in numbers["series"]] == ["bar", "line"]
    for side in numbers["series"]:
        assert len(side["values"]) == charts.BINS and sum(side["values"]) == pytest.approx(100, abs=0.01)
    many = pd.Series([f"city {i}" for i in range(40)] * 5)
    cities = charts.distribution("city", many, many.head(50), numeric=False)
    assert len(cities["x"]["ticks"]) == charts.BINS and cities["x"]["ticks"][-1] == "(other)"
    assert sum(cities["series"][0]["values"]) == pytest.approx(100)


def test_mermaid_is_a_code_block_github_renders_with_text_made_safe():
    spec = charts.distribution('say "hi" [now]', pd.Series(['a "b"', "c]"] * 5), pd.Series(["c]"] * 5),
                               numeric=False)  # fmt: skip
    block = charts.mermaid(spec)
    lines = block.splitlines()
    assert lines[0] == "```mermaid" and lines[-1] == "```" and "xychart-beta" in lines
    assert re.search(r'plotColorPalette: "#8c959f, #cf222e"', block)  # grey bars, red line
    title = next(line for line in lines if line.strip().startswith("title"))
    assert title.strip() == "title \"say 'hi' (now): reference vs current\""
    x_axis = next(line for line in lines if line.strip().startswith("x-axis"))
    assert x_axis.count('"') % 2 == 0 and "[" not in x_axis.split("[", 1)[1].rstrip("]")
    assert [line.split()[0] for line in lines if line.startswith("  bar") or line.startswith("  line")] == [
        "bar",
        "line",
    ]


def test_axis_labels_are_short_distinct_and_never_minus_zero():
    labels = charts.ticks(np.linspace(-2.08, 2.79, 15))
    assert labels[0] == "-2.1" and "0.0" in labels and "-0.0" not in labels
    assert len(set(labels)) == 15
    assert charts.ticks([1200.0, 5400.0, 9600.0]) == ["1200", "5400", "9600"]


def test_no_curves_when_the_holdout_has_one_class_or_no_probabilities():
    y = pd.Series(["no"] * 50)
    preds = pd.DataFrame({"prediction": y, "proba_no": 0.9, "proba_yes": 0.1})
    assert charts.review_charts(y, {"challenger": preds}, ["no", "yes"], "yes") == []
    mixed = pd.Series(["no", "yes"] * 25)
    assert (
        charts.review_charts(mixed, {"challenger": pd.DataFrame({"prediction": mixed})}, ["no", "yes"], "yes")
        == []
    )
