"""Charts: the numbers behind each chart, and the Mermaid and text a reviewer's page renders.

That the Mermaid renders in a browser is checked by the template's `scripts/screenshots`.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.__package_name }} import charts


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
    bins = len(numbers["x"]["ticks"])
    for side in numbers["series"]:
        assert len(side["values"]) == bins and sum(side["values"]) == pytest.approx(100, abs=0.01)
    assert numbers["x"]["ticks"] == ["-2", "-1.5", "-1", "-0.5", "0", "0.5", "1", "1.5", "2", "2.5", "3"]
    many = pd.Series([f"city {i}" for i in range(40)] * 5)
    cities = charts.distribution("city", many, many.head(50), numeric=False)
    assert 1 < len(cities["x"]["ticks"]) <= charts.BINS and cities["x"]["ticks"][-1] == "(other)"
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
    assert labels[0] == "-2.1" and "0" in labels and "-0" not in labels
    assert len(set(labels)) == 15
    assert charts.ticks([1200.0, 5400.0, 9600.0]) == ["1.2k", "5.4k", "9.6k"]


def test_no_curves_when_the_holdout_has_one_class_or_no_probabilities():
    y = pd.Series(["no"] * 50)
    preds = pd.DataFrame({"prediction": y, "proba_no": 0.9, "proba_yes": 0.1})
    assert charts.review_charts(y, {"challenger": preds}, ["no", "yes"], "yes") == []
    mixed = pd.Series(["no", "yes"] * 25)
    assert (
        charts.review_charts(mixed, {"challenger": pd.DataFrame({"prediction": mixed})}, ["no", "yes"], "yes")
        == []
    )


def test_labels_are_compact_round_numbers():
    assert charts.compact(1234, 100) == "1.2k" and charts.compact(3_400_000, 100_000) == "3.4M"
    assert charts.compact(12_500, 500) == "12.5k" and charts.compact(-1500, 500) == "-1.5k"
    assert charts.compact(2_000_000_000, 1e9) == "2B" and charts.compact(750, 50) == "750"
    assert charts.compact(1001, 1) == "1001"  # exact beats short: not 1.001k
    assert charts.compact(0.05, 0.05) == "0.05" and charts.compact(-0.01, 0.1) == "0"


LABEL = re.compile(r"-?\d+(\.\d+)?[kMBT]?")


@pytest.mark.parametrize("scale", [0.001, 1, 1_000, 1_000_000])
def test_a_wide_range_feature_has_a_readable_label_under_every_bin(scale):
    """Skewed like a bank balance (a long right tail, a few negatives): at any scale, every bin has a
    short round label, all of them fit under a 640 px chart, and bins share one round width."""
    rng = np.random.default_rng(3)
    values = pd.Series((rng.lognormal(7, 1.3, 4000) - 300) * scale)
    spec = charts.distribution("balance", values, values.sample(1000, random_state=0), numeric=True)
    labels = spec["x"]["ticks"]
    assert all(LABEL.fullmatch(t) for t in labels), labels
    assert len(labels) <= charts.BINS + 1 and len(set(labels)) == len(labels)
    longest = max(map(len, labels))
    assert longest * len(labels) <= charts.AXIS_CHARACTERS == 60, labels  # 15 of 4, 12 of 5, 10 of 6
    assert longest <= 6


def test_long_category_names_leave_room_for_fewer_categories_cut_readably():
    jobs = ["blue-collar", "management", "technician", "admin.", "services", "retired", "self-employed",
            "entrepreneur", "unemployed", "housemaid", "student", "unknown"]  # fmt: skip
    values = pd.Series([j for i, j in enumerate(jobs) for _ in range(20 - i)])
    labels = charts.distribution("job", values, values, numeric=False)["x"]["ticks"]
    assert labels[:3] == ["blue-co…", "managem…", "technic…"] and labels[-1] == "(other)"
    assert len(labels) * max(map(len, labels)) <= charts.AXIS_CHARACTERS
    months = pd.Series(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    assert len(charts.distribution("month", months, months, numeric=False)["x"]["ticks"]) == 12


def test_a_wide_range_target_has_fewer_slices_rather_than_crowded_labels():
    rng = np.random.default_rng(4)
    prices = rng.lognormal(12.5, 0.8, 3000)  # house prices: tens of thousands to millions
    fit = charts.predicted_vs_actual(prices, {"challenger": prices * 1.05})
    labels = fit["x"]["ticks"]
    assert all(LABEL.fullmatch(t) for t in labels) and any(t.endswith("k") for t in labels), labels
    assert len(labels) * max(map(len, labels)) <= charts.AXIS_CHARACTERS
    assert fit["x"]["label"] == f"actual (mean of each of {len(labels)} equal slices of the holdout)"


def test_large_values_are_written_without_an_exponent_mermaid_cannot_read():
    prices = np.random.default_rng(5).lognormal(13.5, 0.8, 3000)  # up to several millions
    block = charts.mermaid(charts.predicted_vs_actual(prices, {"challenger": prices * 1.05}))
    numbers = [line for line in block.splitlines() if line.startswith(("  line", "  y-axis"))]
    assert numbers and not any(re.search(r"\de[+-]?\d", line) for line in numbers), numbers
