"""`retrain-data`: add the labelled current rows to the training data, for a retraining PR.

`intake` decides which current rows can be added and why the others cannot; `drift` counts with
it too, so the number the drift job reports is the number a retraining PR adds. Rows are
deduplicated by the row key (or their whole content without one), so running it twice adds
nothing the second time, and old rows are never rewritten: a CSV gets new lines at its end, the
pull request's diff shows exactly what was added, and the stable split keeps every old row on its
side. data/manifest.json records the rows, the file's hash and its date range.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import data, data_remote, reports, schema, sources
from .errors import DataError
from .settings import Params

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Intake:
    """Which current rows can join the training data, and why the others cannot."""

    rows: pd.Index  # labels of the current rows to add, in their order
    counts: dict[str, int]  # current, labelled, unlabelled, invalid, known, repeated, addable
    failures: pd.DataFrame | None  # pandera's failure cases of the labelled rows

    @classmethod
    def counted(cls, current: int, labelled: int) -> Intake:
        """Only counted in the database (the drift check's sample): every labelled row may be addable."""
        counts = {"current": current, "labelled": labelled, "unlabelled": current - labelled}
        return cls(pd.Index([]), {**counts, "addable": labelled, "counted": True}, None)

    def summary(self) -> dict:
        """JSON-ready: the counts and the failure table (as `validate` shows it)."""
        table = data.failure_summary(self.failures) if self.failures is not None else []
        return {**self.counts, "table": table}

    def take(self, current: pd.DataFrame) -> pd.DataFrame:
        """The rows to add, validated (coerced) as training rows."""
        columns = list(schema.TrainingData.to_schema().columns)
        return data.validate(current.loc[self.rows, columns], schema.TrainingData, "current rows to add")


def intake(params: Params, current: pd.DataFrame, training: pd.DataFrame) -> Intake:
    """The current rows that can be added to `training` (validated), and why the others cannot.

    A row needs the target (no outcome yet: it waits); it must match schema.TrainingData (the
    same contract as every training row: a category the schema does not list is refused, and the
    failure table names it); its row key (or content, without a key) must not be in the training
    data yet; and of current rows sharing a key only the last (the latest outcome) is added.
    Validated in chunks keeping only row labels and hashes, so large current data stays small.
    """
    target = params.data.target
    labelled = current[current[target].notna()] if target in current.columns else current.iloc[0:0]
    schema_columns = list(schema.TrainingData.to_schema().columns)
    columns = [c for c in schema_columns if c in labelled.columns]
    key = params.data.row_key or schema_columns
    labels: list[pd.Index] = []
    chunk_hashes: list[np.ndarray] = []
    failures: list[pd.DataFrame] = []
    for start in range(0, len(labelled), data.CHUNK_ROWS):
        chunk = labelled.iloc[start : start + data.CHUNK_ROWS][columns]
        valid, failed = data.valid_rows(chunk, schema.TrainingData, "labelled current rows")
        labels.append(valid.index)
        chunk_hashes.append(data.run_hashes(valid, key))
        if failed is not None:
            failures.append(failed)
    valid = pd.Index(np.concatenate(labels) if labels else [], dtype=labelled.index.dtype)
    hashes = np.concatenate(chunk_hashes) if chunk_hashes else np.array([], dtype=np.uint64)
    new = ~np.isin(hashes, data.run_hashes(training, key))
    last = ~pd.Series(hashes).duplicated(keep="last").to_numpy()
    counts = {
        "current": len(current),
        "labelled": len(labelled),
        "unlabelled": len(current) - len(labelled),
        "invalid": len(labelled) - len(valid),
        "known": int((~new).sum()),
        "repeated": int((new & ~last).sum()),
        "addable": int((new & last).sum()),
    }
    return Intake(valid[new & last], counts, pd.concat(failures) if failures else None)


def explain(params: Params, found: Intake, source: str, done: bool) -> str:
    """Markdown: how many labelled rows were (or can be) added, why others not, and the failure table."""
    table = ""
    if found.failures is not None:
        where = f"labelled current rows ({source})"
        table = reports.validation_report(where, found.counts["labelled"], found.failures)
    return reports.render(
        "intake.md.j2",
        c=found.counts,
        source=source,
        target=params.data.target,
        key=params.data.row_key,
        done=done,
        table=table,
    )


def append(path: Path, training: pd.DataFrame, rows: pd.DataFrame) -> None:
    """Add rows at the end; a CSV keeps every existing line byte for byte."""
    rows = rows[list(training.columns)]
    if path.suffix.lower() == ".csv":
        with path.open("a", encoding="utf-8", newline="") as fh:
            rows.to_csv(fh, header=False, index=False)
    else:
        data.write_table(pd.concat([training, rows], ignore_index=True), path)


def manifest(params: Params, frame: pd.DataFrame) -> dict:
    path = params.data_path
    record = {"file": params.data.path.as_posix(), "rows": len(frame), "sha256": data.file_hash(path)}
    column = params.data.time_column
    if column is not None:
        record |= {"time_column": column, "from": str(frame[column].min()), "to": str(frame[column].max())}
    return record


def changed_files(params: Params, staging: bool) -> list[str]:
    """The files retrain-data changes, relative to the folder holding params.yaml (the repository root):
    the data file, or its DVC pointer when DVC keeps it, and the manifest."""
    path = params.data_path
    if data_remote.tracked(path):
        path = data_remote.pointer(path)
    files = [
        Path(os.path.relpath(p.resolve(), params.root.resolve())).as_posix()
        for p in (path, manifest_path(params))
    ]
    outside = [f for f in files if f.startswith("../")]
    if staging and outside:
        raise DataError(
            f"retrain-data --stage: {outside} are outside the folder of params.yaml ({params.root})"
        )
    return files


def manifest_path(params: Params) -> Path:
    return params.data_path.parent / MANIFEST


def stage(params: Params, files: list[str], folder: Path) -> None:
    """Copy each changed file into `folder` at the same relative path, for the job that opens the PR."""
    folder.mkdir(parents=True, exist_ok=True)  # even when empty: the next job finds the folder
    for name in files:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(params.root / name, folder / name)


def retrain_data(
    params: Params, drift_report: Path | None, body_path: Path, stage_to: Path | None = None
) -> dict:
    """Append the addable current rows, refresh the manifest, write the PR body; return what changed.

    When nothing can be added no file changes, the manifest included; `files` lists the changed
    files relative to the params folder (copied into `stage_to` when given). `drift_report`: the
    monitor's folder, whose drift.json says why to retrain and whose summary.md the body quotes.
    """
    path = params.data_path
    files = changed_files(params, staging=stage_to is not None)  # checked before anything changes
    data.check_against_schema(params)
    training = data.read_table(path)
    validated = data.validate(training, schema.TrainingData, str(path))
    current = sources.load_current(params)
    found = intake(params, current, validated)
    before = after = manifest(params, training)
    if len(found.rows):
        append(path, training, found.take(current))
        after = manifest(params, data.read_table(path))
        data.write_json(manifest_path(params), after)
        if data_remote.tracked(path):  # the new version to the remote; the PR carries its pointer
            data_remote.push_new_version(params)
    files = files if len(found.rows) else []
    if stage_to is not None:
        stage(params, files, stage_to)
    why = explain(params, found, sources.describe(params.drift.source), done=True)
    change = {
        "added": len(found.rows),
        "files": files,
        "before": before,
        "after": after,
        "why": why,
        "split_by": params.split.by,
        "added_span": data.span(current.loc[found.rows], params) if len(found.rows) else None,
    }
    summary, reason = monitor_findings(drift_report)
    body = reports.render(
        "retrain-pr.md.j2", change=change, drift=summary, reason=reason, links=reports.links()
    )
    body_path.parent.mkdir(parents=True, exist_ok=True)
    body_path.write_text(body, encoding="utf-8")
    return change


def monitor_findings(folder: Path | None) -> tuple[str, str | None]:
    """The monitor's summary.md and its reason to retrain (from drift.json), when it ran."""
    if folder is None or not (folder / "summary.md").is_file():
        return "", None
    record = folder / "drift.json"
    reason = json.loads(record.read_text(encoding="utf-8")).get("why_retrain") if record.is_file() else None
    return (folder / "summary.md").read_text(encoding="utf-8"), reason
