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
from pathlib import Path

import pandas as pd

from . import charts, data, progress, reports, retraining, schema, sources
from .records import Chart
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


def check(params: Params, out: Path) -> dict:
    """Run the drift check, write drift.json and summary.md (and drift.html) to `out`, return the record.

    `status` is "drift" or "no-drift" (the verdict), or no verdict and no error: "no-data" when the
    source has no current rows yet (a fresh repository) and "too-few-rows" when fewer than
    `drift.min_rows` rows match the schema (too noisy to judge; more data will come). A source that
    cannot be read, or current data without any feature column, is an error instead.
    `addable_rows` is what `retrain-data` would add (retraining.intake, the same rules), or, when the
    database was sampled, its labelled rows (counted there; retrain-data reads them to decide).
    """
    source = sources.describe(params.drift.source)
    with progress.step(f"Reading current data ({source})") as note:
        window = sources.sample_current(params)
        current_raw = window.rows
        note["result"] = f"{len(current_raw):,} rows" + (f" of {window.total:,}" if window.sampled else "")
    if current_raw.empty:
        setup = params.drift.source.model_dump()
        record = {"status": "no-data", "source": source, "setup": setup, "dataset_drift": False}
        return write_results({**record, "addable_rows": 0}, params, out, intake="")
    size, seed = params.drift.sample_size, params.drift.seed
    with progress.step("Validating the current rows against the schema") as note:
        current, failures, valid = usable_sample(current_raw, source, size, seed)
        note["result"] = f"{valid:,} of {len(current_raw):,} usable"
    with progress.step("Reading the training data (the reference)"):
        reference = data.load_training_data(params)
    if window.sampled:  # what retrain-data would add is decided there, reading every labelled row
        found = retraining.Intake.counted(window.total, window.labelled or 0)
    else:
        with progress.step("Finding labelled rows to retrain on") as note:
            found = retraining.intake(params, current_raw, reference)
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
    }
    if valid < params.drift.min_rows:
        record |= {"status": "too-few-rows", "dataset_drift": False}
    else:
        reference_sample = sample(reference, size, seed)
        with progress.step(f"Evidently drift report ({len(reference_sample):,} vs {len(current):,} rows)"):
            result = run_evidently(reference_sample, current, params, out / "drift.html")
        drifted = result["share"] >= params.drift.drift_share
        status = "drift" if drifted else "no-drift"
        record |= {
            "status": status,
            "dataset_drift": drifted,
            "drift_share": params.drift.drift_share,
            **result,
            "charts": distributions(reference_sample, current, result["columns"]),
        }
    return write_results(record, params, out, intake=retraining.explain(params, found, source, done=False))


def write_results(record: dict, params: Params, out: Path, intake: str) -> dict:
    """Write drift.json and summary.md (also the GitHub job summary)."""
    out.mkdir(parents=True, exist_ok=True)
    data.write_json(out / "drift.json", record)
    summary = reports.render(
        "drift.md.j2", r=record, target=params.data.target, intake=intake, legend=charts.LEGEND["drift"]
    )
    reports.publish(summary, out / "summary.md")
    return record
