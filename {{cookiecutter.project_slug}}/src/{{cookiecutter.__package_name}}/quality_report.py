"""Evidently's quality report on the latest judged window: the second page of drift.html.

Its tests are explicit and come from the gate: the primary metric must stay within the gate's
tolerance of the model's reviewed value. Evidently tests the window's point estimate, while the
check's verdict (quality.py) needs the whole bootstrap interval to be worse, so a noisy window can
fail here and still hold there: the summary's verdict is the one that opens a pull request. The
other metrics are shown without tests; Evidently's defaults (±20% of a reference, or a dummy
model) are switched off, as they would alert on nothing the review agreed to. Evidently is
imported here only: it takes seconds to import.
"""

from __future__ import annotations

import html
import warnings

import pandas as pd
from sklearn.exceptions import UndefinedMetricWarning

from . import evaluation
from .records import ModelInfo, QualityRecord, QualityWindow

# The catalogue's metrics that Evidently's presets test, by the preset's argument.
TEST_ARGUMENTS = {
    "classification": {
        "accuracy": "accuracy_tests",
        "precision": "precision_tests",
        "recall": "recall_tests",
        "f1": "f1score_tests",
        "roc_auc": "rocauc_tests",
        "log_loss": "logloss_tests",
        None: ("tpr_tests", "tnr_tests", "fpr_tests", "fnr_tests"),
    },
    "regression": {
        "rmse": "rmse_tests",
        "mae": "mae_tests",
        "r2": "r2score_tests",
        None: ("mean_error_tests", "mape_tests", "abs_max_error_tests"),
    },
}
BY_LABEL = (
    "f1score_by_label_tests",
    "precision_by_label_tests",
    "recall_by_label_tests",
    "rocauc_by_label_tests",
)


def page(
    record: QualityRecord, y: pd.Series, predictions: pd.DataFrame, info: ModelInfo
) -> tuple[str, bool | None]:
    """The standalone HTML of Evidently's quality preset on the judged window's labelled rows (their
    outcomes `y` and the model's prediction table), and whether its test passed (None: no test)."""
    from evidently import Dataset, Report

    task = "classification" if info.classes else "regression"
    frame, definition = dataset(y, predictions, info)
    report = Report([preset(task, record, info)], include_tests=True)
    with warnings.catch_warnings():  # a class never predicted: its precision is 0, as the table shows
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        snapshot = report.run(Dataset.from_pandas(frame, data_definition=definition), None)
    statuses = [test["status"] for test in snapshot.dict()["tests"]]
    passed = all(status == "SUCCESS" for status in statuses) if statuses else None
    return snapshot.get_html_str(as_iframe=False), passed


def dataset(y: pd.Series, predictions: pd.DataFrame, info: ModelInfo):
    """The window as Evidently reads it: labels as text (probability columns are named by class)."""
    from evidently import BinaryClassification, DataDefinition, MulticlassClassification, Regression

    target = info.target
    if not info.classes:
        frame = pd.DataFrame({target: y.to_numpy(), "prediction": predictions["prediction"].to_numpy()})
        return frame, DataDefinition(
            numerical_columns=[target, "prediction"],
            regression=[Regression(target=target, prediction="prediction")],
        )
    names = [str(c) for c in info.classes]
    frame = pd.DataFrame(
        {target: y.astype(str).to_numpy(), "prediction": predictions["prediction"].astype(str).to_numpy()}
    )
    for name, column in zip(names, evaluation.proba_columns(info.classes), strict=True):
        frame[name] = predictions[column].to_numpy()
    if len(names) == 2:
        positive = str(info.positive_class)
        task = BinaryClassification(
            target=target, prediction_labels="prediction", prediction_probas=positive, pos_label=positive
        )
    else:
        task = MulticlassClassification(
            target=target, prediction_labels="prediction", prediction_probas=names
        )
    return frame, DataDefinition(
        categorical_columns=[target, "prediction"], numerical_columns=names, classification=[task]
    )


def preset(task: str, record: QualityRecord, info: ModelInfo):
    """The task's preset, with the gate's test on the primary metric and no other test."""
    from evidently.presets import ClassificationPreset, RegressionPreset

    arguments = TEST_ARGUMENTS[task]
    tests: dict = {name: [] for name in arguments[None]}
    tests |= {argument: [] for metric, argument in arguments.items() if metric is not None}
    primary = record["primary_metric"]
    if primary in arguments and (condition := gate_condition(record)) is not None:
        tests[arguments[primary]] = [condition]
    if task == "regression":
        return RegressionPreset(**tests)
    return ClassificationPreset(
        **tests,
        **{name: {} for name in BY_LABEL},
        probas_threshold=info.threshold if len(info.classes) == 2 else None,
    )


def described(record: QualityRecord, window: QualityWindow, passed: bool | None) -> str:
    """The line the summary gives the page: where it is, what Evidently tests there, and how it went."""
    primary = record["primary_metric"]
    reviewed, allowed = record["reviewed"].get(primary), record["gate"]["allowed_loss"]
    test = ""
    if passed is not None and reviewed is not None and allowed is not None:
        sign, level = (
            ("≥", reviewed - allowed) if evaluation.direction(primary) > 0 else ("≤", reviewed + allowed)
        )
        test = (
            f"; its one test, {evaluation.metric_label(primary)} {sign} {level:.4g} (the reviewed value and "
            f"the gate's tolerance) on the window's point estimate, {'passed' if passed else 'failed'} "
            "(the verdict above reads the whole interval)"
        )
    return f"Evidently's quality report on {window['label']} is in `drift.html`{test}."


def gate_condition(record: QualityRecord):
    """The primary metric no worse than its reviewed value by more than the gate's tolerance."""
    from evidently.tests import gte, lte

    primary = record["primary_metric"]
    reviewed, allowed = record["reviewed"].get(primary), record["gate"]["allowed_loss"]
    if reviewed is None or allowed is None:
        return None
    if evaluation.direction(primary) > 0:
        return gte(reviewed - allowed)
    return lte(reviewed + allowed)


def combined(pages: list[tuple[str, str]]) -> str:
    """One HTML file of titled pages, each Evidently's own standalone page in an iframe (srcdoc), so
    each keeps its scripts and styles: the artifact is still one file that opens in a browser."""
    if len(pages) == 1:
        return pages[0][1]
    links = " · ".join(f'<a href="#page-{k}">{html.escape(title)}</a>' for k, (title, _) in enumerate(pages))
    sections = "\n".join(
        f'<h2 id="page-{k}">{html.escape(title)}</h2>\n'
        f'<iframe title="{html.escape(title)}" srcdoc="{html.escape(body, quote=True)}"></iframe>'
        for k, (title, body) in enumerate(pages)
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Monitor</title>\n'
        "<style>body{font-family:sans-serif;margin:1em}iframe{width:100%;height:90vh;border:1px solid #ccc}"
        "</style></head>\n"
        f"<body><nav>{links}</nav>\n{sections}\n</body></html>\n"
    )
