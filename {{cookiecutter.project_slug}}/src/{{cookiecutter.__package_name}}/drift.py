"""`drift`: is the current data still like the training data? Evidently decides, column by column.

Column types come from the schema (never guessed). Current data is validated first: violations
are findings in the report and their rows are left out, not a crash. Each side is subsampled
(seeded) to `drift.sample_size` rows, so the check stays fast and its tests are not so
over-powered that every column "drifts" on large data. No current data yet, or too few rows to
judge, is a notice without a verdict (exit 0): a fresh repository's scheduled check stays green
and says what to configure. Evidently is imported here only: it takes seconds to import.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import charts, data, prediction_log, progress, records, reports, retraining, schema, sources
from .errors import DataError
from .records import Chart, ModelInfo, QualityRecord, Span
from .settings import Params


def usable_sample(current: pd.DataFrame, source: str, size: int, seed: int) -> tuple[pd.DataFrame, list, int]:
    """Validate every current row, chunk by chunk, but keep only a seeded sample of the valid ones.

    Returns the validated sample, pandera's failure cases (findings, not a crash) and how many rows
    were valid. Only one chunk and the sample are ever held as validated (Python) objects.
    """
    sampled = current.index.isin(current.sample(n=min(size, len(current)), random_state=seed).index)
    kept, failures, valid = [], [], 0
    for start in range(0, len(current), data.CHUNK_ROWS):
        rows = slice(start, start + data.CHUNK_ROWS)
        part, failed = data.valid_rows(current.iloc[rows], schema.Features, source, partial=True)
        valid += len(part)
        kept.append(part[part.index.isin(current.index[rows][sampled[rows]])])
        if failed is not None:
            failures.append(failed)
    return pd.concat(kept), failures, valid


def shift_concept(batch: pd.DataFrame, params: Params, share: float, seed: int) -> tuple[pd.DataFrame, str]:
    """Concept drift for demos and tests: the features stay as they are; among the rows whose first
    numeric feature is above its median, a `share` of them get another outcome (the next class, or
    twice the value). Returns the batch and what was changed, in words."""
    numeric, categorical = data.feature_columns()
    target, shifted = params.data.target, batch.copy()
    if numeric:
        column = numeric[0]
        condition = shifted[column] > shifted[column].median()
        where = f"{column} above its median ({shifted[column].median():g})"
    else:
        column = categorical[0]
        condition = shifted[column] == shifted[column].mode().iloc[0]
        where = f"{column} = {shifted[column].mode().iloc[0]}"
    rng = np.random.default_rng(seed)
    chosen = condition.to_numpy() & (rng.random(len(shifted)) < share)
    if params.task == "classification":
        classes = sorted(shifted[target].dropna().unique().tolist(), key=str)
        following = {c: classes[(i + 1) % len(classes)] for i, c in enumerate(classes)}
        shifted.loc[chosen, target] = shifted.loc[chosen, target].map(following)
        how = "another class"
    else:
        shifted.loc[chosen, target] = shifted.loc[chosen, target] * 2
        how = "twice the value"
    return shifted, f"{chosen.sum():,} rows ({share:.0%} of those with {where}) got {how}"


def sample(frame: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    return frame if len(frame) <= size else frame.sample(n=size, random_state=seed)


def run_evidently(reference: pd.DataFrame, current: pd.DataFrame, params: Params, html: Path) -> dict:
    """Evidently's drift report: per-column scores and flags, and the dataset-level verdict."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric, categorical = data.feature_columns()
    numeric = [c for c in numeric if c in current.columns]
    categorical = [c for c in categorical if c in current.columns]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    settings = params.drift
    options = {"method": settings.method, "threshold": settings.threshold}
    preset = DataDriftPreset(
        columns=numeric + categorical,
        drift_share=settings.drift_share,
        per_column_method=dict(settings.per_column_method) or None,
        per_column_threshold=dict(settings.per_column_threshold) or None,
        **{k: v for k, v in options.items() if v is not None},
    )
    with warnings.catch_warnings():  # a constant column (e.g. one year of data) makes its stat tests warn
        warnings.simplefilter("ignore", RuntimeWarning)
        snapshot = Report([preset], include_tests=True).run(  # current first, then reference
            Dataset.from_pandas(current[numeric + categorical], data_definition=definition),
            Dataset.from_pandas(reference[numeric + categorical], data_definition=definition),
        )
    html.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html))  # a pathlib.Path is silently ignored
    return summarise(snapshot.dict())


def summarise(report: dict) -> dict:
    """Per-column score, method, threshold and flag, and the share of drifted columns."""
    columns, overall = {}, {}
    for metric in report["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            columns[config["column"]] = {
                "score": float(metric["value"]),
                "method": config["method"],
                "threshold": config["threshold"],
            }
        elif config["type"].endswith(":DriftedColumnsCount"):
            overall = {"drifted": int(metric["value"]["count"]), "share": float(metric["value"]["share"])}
    for test in report["tests"]:  # Report(include_tests=True): one test per column, FAIL = drifted
        test_params = test["metric_config"]["params"]
        if test_params["type"].endswith(":ValueDrift"):
            columns[test_params["column"]]["drifted"] = test["status"] == "FAIL"
    return {"columns": columns, **overall}


def distributions(reference: pd.DataFrame, current: pd.DataFrame, columns: dict) -> list[Chart]:
    """Reference vs current distribution charts of the drifted features (the first few, by name)."""
    numeric, _ = data.feature_columns()
    drifted = sorted(name for name, column in columns.items() if column["drifted"])
    return [
        charts.distribution(name, reference[name], current[name], name in numeric)
        for name in drifted[: charts.MAX_DRIFT_CHARTS]
    ]


def check(params: Params, out: Path, model_dir: Path | None = None, champion_dir: Path | None = None) -> dict:
    """Run the check, write drift.json and summary.md (and drift.html) to `out`, return the record.

    Data drift, and with `model_dir` (main's model) the deployed model's quality on the labelled
    current rows, window by window (`quality`: a QualityRecord, or None with `quality_note` saying
    why): from a prediction log, the answers the service gave, scored against the reviewed values of
    the model that gave them (main's, or `champion_dir`'s: serving.champion_release's, which answers
    beside a shadow); from files, main's model's predictions.

    `status` is "drift" or "no-drift" (the verdict), or no verdict and no error: "no-data" when the
    source has no current rows yet (a fresh repository) and "too-few-rows" when fewer than
    `drift.min_rows` rows match the schema (too noisy to judge; more data will come). A source that
    cannot be read, or current data without any feature column, is an error instead.
    `addable_rows` is what `retrain-data` would add (retraining.intake, the same rules), or, when the
    database was sampled, its labelled rows (counted there; retrain-data reads them to decide).
    """
    source = sources.describe(params.drift.source)
    (out / "drift.html").unlink(missing_ok=True)  # a report is only ever this run's
    with progress.step(f"Reading current data ({source})") as note:
        window = sources.sample_current(params)
        note["result"] = f"{len(window.rows):,} rows" + (f" of {window.total:,}" if window.sampled else "")
    if window.rows.empty:
        setup = params.drift.source.model_dump()
        record = {"status": "no-data", "source": source, "setup": setup, "dataset_drift": False}
        record |= {"quality": None, "quality_note": "no current rows", "addable_rows": 0, "online": None}
        return write_results(record, params, out, intake="")
    record, intake = data_drift(params, window, source, out)  # its frames are freed before quality's
    time = "logged_at" if "logged_at" in window.rows.columns else params.data.time_column
    keep = [time, prediction_log.MODEL_COLUMN]  # of the unlabelled rows: counted per window and model
    if window.sampled and model_dir is not None:  # quality counts every label, not the drift sample's
        window = sources.Current(window.rows.iloc[0:0], window.total)
        with progress.step("Reading every labelled row (and the others' times) from the database") as note:
            labelled, others = sources.labelled_and_others(params, keep)
            note["result"] = f"{len(labelled):,} labelled"
    else:
        labelled, others = split_labelled(window.rows, params.data.target, keep)
    record["quality"], record["quality_note"], page = model_quality(
        params, labelled, others, time, [d for d in (model_dir, champion_dir) if d], source
    )
    record["online"] = shadow_online(params, labelled, time, model_dir)
    if page:
        add_page(out / "drift.html", page)
    return write_results(record, params, out, intake=intake)


def data_drift(params: Params, window: sources.Current, source: str, out: Path) -> tuple[dict, str]:
    """The data half of the check: the record's drift fields (drift.html written), and the text saying
    which labelled rows `retrain-data` would add."""
    current_raw, size, seed = window.rows, params.drift.sample_size, params.drift.seed
    with progress.step("Validating the current rows against the schema") as note:
        current, failures, valid = usable_sample(current_raw, source, size, seed)
        note["result"] = f"{valid:,} of {len(current_raw):,} usable"
    with progress.step("Reading the training data (the reference: its train split)"):
        training = data.load_training_data(params)
        reference = data.split(training, params).train  # the rows and period the model learned from
    if window.sampled:  # what retrain-data would add is decided there, reading every labelled row
        found = retraining.Intake.counted(window.total, window.labelled or 0)
    else:
        with progress.step("Finding labelled rows to retrain on") as note:
            found = retraining.intake(params, current_raw, training)
            note["result"] = f"{found.counts['addable']:,} addable"
    record = {
        "source": source,
        "min_rows": params.drift.min_rows,
        "sample_sizes": {
            "reference": {"rows": len(reference), "used": min(len(reference), size)},
            "current": {"rows": window.total, "read": len(current_raw), "valid": valid, "used": len(current)},
        },
        "validation": {
            "failures": sum(len(f) for f in failures),
            "rows_excluded": len(current_raw) - valid,
            "table": data.failure_summary(pd.concat(failures)) if failures else [],
        },
        "retraining": found.summary(),
        "addable_rows": found.counts["addable"],
        "periods": {
            "reference": data.span(reference, params),
            "current": current_period(current_raw, params),
        },
    }
    if valid < params.drift.min_rows:
        record |= {"status": "too-few-rows", "dataset_drift": False}
    else:
        reference_sample = sample(reference, size, seed)
        with progress.step(f"Evidently drift report ({len(reference_sample):,} vs {len(current):,} rows)"):
            result = run_evidently(reference_sample, current, params, out / "drift.html")
        drifted = result["share"] >= params.drift.drift_share
        record |= {
            "status": "drift" if drifted else "no-drift",
            "dataset_drift": drifted,
            "drift_share": params.drift.drift_share,
            **result,
            "charts": distributions(reference_sample, current, result["columns"]),
        }
    return record, retraining.explain(params, found, source, done=False)


def current_period(current: pd.DataFrame, params: Params) -> Span | None:
    """The period the current rows cover: by the log's `logged_at`, else `data.time_column`."""
    try:
        return data.span(current, params, "logged_at" if "logged_at" in current else None)
    except DataError:  # times that do not parse: the schema's failure table already says so
        return None


def shadow_online(
    params: Params, labelled: pd.DataFrame, time_column: str | None, model_dir: Path | None
) -> dict | None:
    """Champion vs shadow on the labelled rows of the prediction log (online.py), when a shadow's
    predictions are logged there; main's model (the shadow's) gives the classes and the target."""
    from . import online

    if model_dir is None or time_column is None or time_column not in labelled.columns:
        return None
    if online.TAG_COLUMN not in labelled.columns:
        return None
    with progress.step("Comparing the champion and the shadow on the labelled live rows") as note:
        found = online.compare(params, labelled, records.read_info(model_dir), time_column)
        note["result"] = found["verdict"] if found else "no shadow predictions"
    return found


def split_labelled(current: pd.DataFrame, target: str, keep: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The current rows with an outcome, and of the others only the `keep` columns they have."""
    known = current[target].notna() if target in current.columns else pd.Series(False, index=current.index)
    return current[known], current.loc[~known, [c for c in keep if c in current.columns]]


@dataclass
class Scored:
    """What model quality scores: the labelled rows (`time_column` and the target, read as the
    model's classes), the model's prediction table for them (same order), the others' times, the
    model, its reviewed holdout values, and the rows left out, by reason."""

    labelled: pd.DataFrame
    predictions: pd.DataFrame
    others: pd.Series
    info: ModelInfo
    reviewed: dict
    model: str
    how: str  # whose predictions, in words
    left_out: dict[str, int]


def model_quality(
    params: Params, labelled: pd.DataFrame, others: pd.DataFrame, time_column: str | None,
    folders: list[Path], source: str,
) -> tuple[QualityRecord | None, str, tuple[str, str] | None]:  # fmt: skip
    """The deployed model scored per window on the `labelled` current rows, or why not; and
    Evidently's quality page on the judged window (title, HTML), if there is one.

    `folders`: main's model, then serving.champion_release's when one answers beside a shadow.
    Rows are windowed by `time_column`: the prediction log's `logged_at` when the rows have it, else
    data.time_column; `others` holds the unlabelled rows' times, counted per window.
    """
    from . import quality

    if not folders:
        return None, "no model given (`--model`): the check scores only the data", None
    if time_column is None:
        return None, "no time column to make windows of: set data.time_column in params.yaml", None
    if time_column not in labelled.columns:
        return None, (
            f"the labelled current rows have no {time_column} column to make windows of"
            " (drift.source's query must keep the prediction log's logged_at, or data.time_column)"
        ), None  # fmt: skip
    if prediction_log.answered(labelled) or prediction_log.answered(others):
        scored = logged_answers(labelled, others, time_column, folders)
    else:
        scored = main_predictions(params, labelled, others, time_column, folders[0], source)
    if isinstance(scored, str):
        return None, scored, None
    target = scored.info.target
    # Labelled rows first, then the others: only the labelled are scored, in their own order.
    rows = pd.concat(
        [scored.labelled.reindex(columns=[time_column, target]), scored.others.to_frame()], ignore_index=True
    )
    with progress.step(f"Scoring {scored.how} on {len(scored.labelled):,} labelled current rows"):
        found = quality.score_windows(
            params,
            rows,
            scored.predictions.reset_index(drop=True).reindex(rows.index),
            scored.info,
            scored.reviewed,
            time_column=time_column,
        )
    found["model"], found["scored"] = scored.model, scored.how
    found["rows"]["left_out"] = scored.left_out
    page = evidently_quality(found, scored.labelled, scored.predictions, scored.info, time_column)
    return found, "", page


def main_predictions(
    params: Params,
    labelled: pd.DataFrame,
    others: pd.DataFrame,
    time_column: str,
    model_dir: Path,
    source: str,
) -> Scored:
    """Main's model predicts the labelled rows the schema accepts (current data files carry no
    answers); the refused ones are counted in the validation findings above."""
    from . import models

    if len(labelled):
        # The schema's columns only: a log's own columns (prediction_id, logged_at) are not data.
        columns = [c for c in schema.TrainingData.to_schema().columns if c in labelled.columns]
        with progress.step("Validating the labelled current rows"):
            valid, _ = data.valid_rows(labelled[columns], schema.TrainingData, source, partial=True)
        if time_column not in valid.columns and time_column in labelled.columns:
            valid[time_column] = labelled.loc[valid.index, time_column]
        labelled = valid
    model, info = models.load(model_dir, params.train.trusted_types)
    tag = models.model_tag(model_dir)
    with progress.step(f"Predicting {len(labelled):,} labelled current rows with main's model"):
        features = labelled[info.inputs]
        predictions = models.predict_frame(model, features) if len(features) else pd.DataFrame(index=[])
    return Scored(
        labelled=labelled,
        predictions=predictions,
        others=others.get(time_column, pd.Series(dtype=object, name=time_column)),
        info=info,
        reviewed=records.read_training_record(model_dir)["holdout"]["metrics"],
        model=tag,
        how=f"main's model ({tag})",
        left_out={},
    )


def logged_answers(
    labelled: pd.DataFrame, others: pd.DataFrame, time_column: str, folders: list[Path]
) -> Scored | str:
    """The answers the service logged, of the model that answers now (the newest row's), scored
    against that model's reviewed values: it must be one of `folders`, else why not, in words."""
    from . import models

    column = prediction_log.MODEL_COLUMN
    timed = others.reindex(columns=[time_column, column])
    row = prediction_log.newest(
        pd.concat([labelled.reindex(columns=timed.columns), timed]), time_column, column
    )
    if row is None:
        return f"no logged row has both a {time_column} time and a {column}: which model answers now?"
    tag = str(row[column])
    known = {models.model_tag(f): f for f in folders}
    if tag not in known:
        whose = [
            f"{'main' if f == folders[0] else 'serving.champion_release'}'s ({t})" for t, f in known.items()
        ]
        return (
            f"the prediction log's newest answers come from {tag}; the check knows the reviewed values "
            f"of {' and '.join(whose)} only, so it scores the deployed model once one of those answers "
            "(deploy main's model, or name the release that answers in serving.champion_release)"
        )
    folder = known[tag]
    info = records.read_info(folder)
    needed = prediction_log.answer_columns(info.classes)
    missing = [c for c in needed if c not in labelled.columns]
    if missing and len(labelled):
        return f"the prediction log has no {', '.join(missing)} column for {tag}'s answers"
    ours = (
        labelled[labelled[column] == tag]
        if len(labelled)
        else labelled.reindex(columns=[time_column, column, *needed, info.target])
    )
    y = prediction_log.as_classes(ours[info.target], info.classes)
    predictions = prediction_log.answers(ours, info.classes)
    usable = y.notna() & predictions.notna().all(axis=1)
    rows = ours[[time_column]].assign(**{info.target: y})
    where = "main's model" if folder == folders[0] else "serving.champion_release's model"
    return Scored(
        labelled=rows[usable],
        predictions=predictions[usable],
        others=timed.loc[timed[column] == tag, time_column],
        info=info,
        reviewed=records.read_training_record(folder)["holdout"]["metrics"],
        model=tag,
        how=f"the answers {tag} gave ({where}, from the prediction log)",
        left_out={
            "labelled rows another model answered": len(labelled) - len(ours),
            "no answer or an outcome outside the model's classes": int((~usable).sum()),
        },
    )


def evidently_quality(
    found: QualityRecord, labelled: pd.DataFrame, predictions: pd.DataFrame, info: ModelInfo, time_column: str
) -> tuple[str, str] | None:
    """Evidently's quality page on the judged window, and a line saying so in the record; None when
    no window is judged or a class is missing there (Evidently's ROC AUC fails on one class)."""
    from . import quality, quality_report

    judged = [w for w in found["windows"] if w["label"] == found["judged_window"]]
    if not judged or judged[0]["missing_classes"]:
        return None
    window = judged[0]
    rows = quality.in_window(labelled, time_column, window)
    with progress.step(f"Evidently quality report ({window['label']}, {rows.sum():,} labelled rows)"):
        html, passed = quality_report.page(
            found, labelled.loc[rows, info.target], predictions.loc[rows], info
        )
    found["report"] = quality_report.described(found, window, passed)
    return f"Model quality in {window['label']}", html


def add_page(html: Path, page: tuple[str, str]) -> None:
    """drift.html becomes the data drift page (if the data were judged) and then `page`."""
    from . import quality_report

    pages = [("Data drift", html.read_text(encoding="utf-8"))] if html.exists() else []
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_text(quality_report.combined([*pages, page]), encoding="utf-8")


def write_results(record: dict, params: Params, out: Path, intake: str) -> dict:
    """Write drift.json and summary.md (also the GitHub job summary): the headline, data drift, quality."""
    from . import quality

    out.mkdir(parents=True, exist_ok=True)
    record["decayed"] = record["quality"] is not None and record["quality"]["verdict"] == quality.DECAYED
    record["why_retrain"] = why_retrain(record)
    data.write_json(out / "drift.json", record)
    drift = reports.render(
        "drift.md.j2", r=record, target=params.data.target, intake=intake, legend=charts.LEGEND["drift"]
    )
    from . import online

    found = record["quality"]
    not_scored = f"## ⏸️ Model quality: not scored\n\n{record['quality_note']}.\n"
    scored = quality.render(found) if found else not_scored
    shadow_section = f"{online.render(record['online'])}\n" if record.get("online") else ""
    reports.publish(f"{headline(record)}\n\n{scored}\n{shadow_section}{drift}", out / "summary.md")
    return record


def headline(record: dict) -> str:
    """What the check found, in one line: data drift and model quality, and so whether to retrain."""
    data_word = {"drift": "drift", "no-drift": "no drift"}.get(record["status"], "no verdict")
    quality_word = record["quality"]["verdict"] if record["quality"] else "not scored"
    shadow_word = f"; shadow: {record['online']['verdict']}" if record.get("online") else ""
    return f"**Monitor**: data: {data_word}; quality: {quality_word}{shadow_word}."


def why_retrain(record: dict) -> str | None:
    """Why the retraining pull request opens, in one sentence with the numbers; None: no reason."""
    from . import quality

    reasons = []
    if record["dataset_drift"]:
        share = f"{record['share']:.0%}, from {record['drift_share']:.0%} counts as drift"
        reasons.append(
            f"the data drifted ({record['drifted']} of {len(record['columns'])} features, {share})"
        )
    if record["decayed"]:
        reasons.append(f"the model's quality decayed: {quality.evidence(record['quality'])}")
    return f"Retraining because {' and '.join(reasons)}." if reasons else None
