"""Which of this pull request's holdout rows the champion trained on: those are left out of the review.

The challenger never trained on the head's holdout (the split puts each row on one side). The
champion was trained at the base commit, on the base's data with the base's split, so a pull
request that changes the split (`salt`, `holdout_fraction`, `row_key`) or edits rows can move rows
the champion trained on into this holdout, where it would look far better than it is. The
champion's model folder records which rows of its data file it trained on (`trained-rows.npz`);
a head holdout row is left out when it is one of them:
- the same row: equal in every column both files have, compared as the text in the files;
- the same key: equal in the head's or the base's `row_key`, where both files have those columns;
- an edit: aligning the two files as `git diff` would pairs a changed row with the rows it
  replaced (this is how rows without a key are followed through an edit).
A champion without that record (trained before it existed) counts every base row as trained on.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import data

TRAINED_ROWS = "trained-rows.npz"  # in a model folder
REASONS = ("same row", "same key", "edited row")


@dataclass(frozen=True)
class Overlap:
    """The head holdout rows to keep, and how many were left out for each reason."""

    keep: np.ndarray  # one flag per head holdout row
    left_out: dict[str, int] = field(default_factory=dict)
    trained_rows_known: bool = True


def write_trained_rows(model_dir: Path, trained) -> None:
    np.savez_compressed(Path(model_dir) / TRAINED_ROWS, trained=np.asarray(trained, dtype=bool))


def read_trained_rows(model_dir: Path) -> np.ndarray | None:
    """Which data-file rows a model trained on; None for a model saved before this was recorded."""
    path = Path(model_dir) / TRAINED_ROWS
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:  # plain arrays only: never a pickle
        return saved["trained"]


def measure(
    base: pd.DataFrame,
    base_trained: np.ndarray | None,
    head: pd.DataFrame,
    head_holdout: np.ndarray,
    keys: list[list[str]],
) -> Overlap:
    """Compare the base's data file (`base`, text) with the head's (`head`, text).

    `base_trained` flags the base rows the champion trained on (None: unknown, so all of them);
    `head_holdout` flags the head rows in this holdout; `keys` are the row keys to match on.
    """
    trained = np.ones(len(base), bool) if base_trained is None else np.asarray(base_trained, bool)
    if len(trained) != len(base):  # the record is of another file: trust none of it
        trained = np.ones(len(base), bool)
    holdout = np.flatnonzero(head_holdout)
    common = [c for c in head.columns if c in base.columns]
    seen = {reason: np.zeros(len(holdout), bool) for reason in REASONS}
    if common and len(base):
        base_rows, head_rows = data.run_hashes(base, common), data.run_hashes(head, common)
        seen["same row"] = np.isin(head_rows[holdout], base_rows[trained])
        usable = [k for k in keys if k and set(k) <= set(common)]
        for key in usable:
            in_base = data.run_hashes(base, key)[trained]
            seen["same key"] |= np.isin(data.run_hashes(head, key)[holdout], in_base)
        if not usable:
            seen["edited row"] = edited(base_rows, trained, head_rows)[holdout]
    left_out, already = {}, np.zeros(len(holdout), bool)
    for reason in REASONS:  # each row counted once, under the first reason that applies
        fresh = seen[reason] & ~already
        left_out[reason] = int(fresh.sum())
        already |= fresh
    return Overlap(keep=~already, left_out=left_out, trained_rows_known=base_trained is not None)


def edited(base_rows: np.ndarray, trained: np.ndarray, head_rows: np.ndarray) -> np.ndarray:
    """Head rows that replace (edit) a trained base row, by aligning the files as a diff does."""
    flags = np.zeros(len(head_rows), bool)
    if np.isin(base_rows[trained], head_rows).all():
        return flags  # every trained row is still there unchanged: nothing was edited
    start = common_prefix(base_rows, head_rows)
    end = common_prefix(base_rows[start:][::-1], head_rows[start:][::-1])
    old, new = base_rows[start : len(base_rows) - end], head_rows[start : len(head_rows) - end]
    matcher = difflib.SequenceMatcher(None, old.tolist(), new.tolist(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and trained[start + i1 : start + i2].any():
            flags[start + j1 : start + j2] = True
    return flags


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    differ = np.flatnonzero(a[:n] != b[:n])
    return int(differ[0]) if len(differ) else n
