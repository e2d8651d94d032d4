"""What a pull request changed between its base and head, for the comment's "What changed": data
rows added and removed, the holdout, features, params (as written in the file) and locked packages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import data, data_remote, git
from .records import Changes, DataChange, PackageChange, ParamChange
from .settings import Params, read_yaml

if TYPE_CHECKING:  # comparison.py imports this module
    from .comparison import BaseFiles, Scored


def between(
    params: Params,
    base: str | None,
    base_files: BaseFiles,
    head: pd.DataFrame | None,
    champion: Scored | None,
    challenger: Scored,
) -> Changes:
    """What differs between base and head: data rows, holdout, schema, params, locked packages."""
    found: Changes = {"base": base}
    head_hashes = challenger.metrics["hashes"]
    if champion is not None:
        base_holdout = champion.metrics["hashes"]["holdout"]
        found["holdout_changed"] = base_holdout != head_hashes["holdout"]
        base_features = set(champion.info.inputs)
        head_features = set(challenger.info.inputs)
        found["features_added"] = sorted(head_features - base_features)
        found["features_removed"] = sorted(base_features - head_features)
    if base_files["params"] is not None and head is not None:
        # Both sides as written in the file: the validated model would add defaults the file lacks.
        head_params = read_yaml(params.file)
        found["params"] = diff_mappings(flatten(base_files["params"]), flatten(head_params))
        found["data"] = data_change(base_files["data"], head)
    head_pointer = data_remote.pointer(params.data_path)
    if base_files["pointer"] or head_pointer.is_file():  # DVC keeps the data: its content hashes
        head_hash = data_remote.content_hash(head_pointer.read_text()) if head_pointer.is_file() else None
        found["data_version"] = {"base": base_files["pointer"], "head": head_hash}
    if base:
        project = params.root.resolve()
        found["packages"] = package_changes(git.show(base, project / "uv.lock"), project / "uv.lock")
    return found


def data_change(old: pd.DataFrame | None, head: pd.DataFrame) -> DataChange:
    """Rows added and removed (compared as text, so a re-typed column still counts as the same rows)."""
    if old is None:
        return {"head_rows": len(head), "base_rows": None}
    change: DataChange = {"base_rows": len(old), "head_rows": len(head)}
    if list(old.columns) == list(head.columns):
        old_rows, new_rows = (
            pd.Series(data.run_hashes(f, list(f.columns))).value_counts() for f in (old, head)
        )
        delta = new_rows.sub(old_rows, fill_value=0)
        change |= {"added": int(delta[delta > 0].sum()), "removed": int(-delta[delta < 0].sum())}
    else:
        change |= {
            "columns_added": sorted(set(head.columns) - set(old.columns)),
            "columns_removed": sorted(set(old.columns) - set(head.columns)),
        }
    return change


def package_changes(base_lock: str | None, head_lock: Path) -> list[PackageChange] | None:
    """Locked package versions that differ (None when the lock did not change)."""
    if base_lock is None or not head_lock.is_file():
        return None
    head_text = head_lock.read_text(encoding="utf-8")
    if base_lock == head_text:
        return None
    old, new = (
        {p["name"]: p.get("version", "") for p in tomllib.loads(text).get("package", [])}
        for text in (base_lock, head_text)
    )
    names = sorted(set(old) | set(new))
    return [{"name": n, "base": old.get(n), "head": new.get(n)} for n in names if old.get(n) != new.get(n)]


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in flatten(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def diff_mappings(old: dict[str, Any], new: dict[str, Any]) -> list[ParamChange]:
    keys = sorted(set(old) | set(new))
    missing = "(absent)"
    return [
        {"key": k, "base": old.get(k, missing), "head": new.get(k, missing)}
        for k in keys
        if old.get(k, missing) != new.get(k, missing)
    ]
