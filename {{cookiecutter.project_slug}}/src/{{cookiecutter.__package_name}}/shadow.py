"""The shadow: a second model that predicts every batch the champion answers, and answers no one.

Its predictions go into the champion's prediction-log row (the `shadow_` columns), so once outcomes
come back the scheduled check compares the two on the same rows with the review's paired bootstrap
(`monitor`). The shadow keeps its own contract: the records reach it through its own schema and
trusted types, and one its schema refuses gets empty shadow columns. It never harms an answer: the
service catches whatever it raises, counts it and answers with the champion alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError
from sklearn.pipeline import Pipeline

from . import models
from .evaluation import proba_columns
from .payloads import record_model
from .records import ModelInfo

PREFIX = "shadow_"  # its columns in the prediction log: shadow_model_version, shadow_prediction, ...
TAG_COLUMN = f"{PREFIX}model_version"
# Regression: the two disagree on a record when their values differ by more than this share of the
# training target's 10%-90% range (classification: when the classes differ).
VALUE_TOLERANCE = 0.1


@dataclass(frozen=True)
class Shadow:
    tag: str
    model: Pipeline
    info: ModelInfo
    record: type[BaseModel]  # a record as its own schema accepts it

    @classmethod
    def load(cls, model_dir: Path, tag: str) -> Shadow:
        """The shadow from its stored folder, with the types trusted when it was stored."""
        serving = json.loads((model_dir / models.SERVING_FILE).read_text(encoding="utf-8"))
        model, info = models.load(model_dir, serving.get("trusted_types", []))
        return cls(tag, model, info, record_model(models.read_schema(model_dir), info.inputs, info.target))

    def predict(self, records: list[dict], index: pd.Index) -> tuple[pd.DataFrame, int]:
        """(its log columns for each record: empty for records its schema refuses; how many it refused)."""
        accepted: dict[int, dict] = {}
        for position, record in enumerate(records):
            try:
                accepted[position] = self.record.model_validate(record).__dict__
            except ValidationError:
                continue
        if not accepted:
            return self.empty(index), len(records)
        frame = pd.DataFrame.from_records(list(accepted.values()), columns=list(self.record.model_fields))
        out = models.predict_frame(self.model, frame[self.info.inputs])
        out.columns = [PREFIX + name for name in out.columns]
        if len(accepted) == len(records):  # the usual batch: no empty columns to fill (a third of its time)
            out.index = index
            out.insert(0, TAG_COLUMN, self.tag)
            return out, 0
        columns = self.empty(index)
        rows = index[list(accepted)]
        for name in out.columns:
            columns.loc[rows, name] = out[name].to_numpy()
        columns.loc[rows, TAG_COLUMN] = self.tag
        return columns, len(records) - len(accepted)

    def empty(self, index: pd.Index) -> pd.DataFrame:
        """Its log columns with nothing in them (as a batch it failed on is logged), typed as filled
        ones are: the prediction-log table may be created from such a batch."""
        classes = getattr(self.model, "classes_", None)
        prediction = "Float64" if classes is None else pd.Series(classes).convert_dtypes().dtype
        columns = pd.DataFrame(index=index)
        columns[TAG_COLUMN] = pd.Series(pd.NA, index=index, dtype="string")
        columns[f"{PREFIX}prediction"] = pd.Series(pd.NA, index=index, dtype=prediction)
        for name in proba_columns(classes) if classes is not None else []:
            columns[PREFIX + name] = np.nan
        return columns


def disagreements(champion: pd.Series, shadow: pd.Series, info: ModelInfo) -> tuple[int, int]:
    """(records both predicted, records on which they disagree: other classes, or values further
    apart than VALUE_TOLERANCE of the training target's 10%-90% range)."""
    both = shadow.notna().to_numpy()
    mine, theirs = champion.to_numpy()[both], shadow.to_numpy()[both]
    if info.classes:
        differ = np.array([str(a) != str(b) for a, b in zip(mine, theirs, strict=True)], dtype=bool)
    else:
        spread = (info.target_deciles[-1] - info.target_deciles[0]) if info.target_deciles else 0.0
        differ = np.abs(mine.astype(float) - theirs.astype(float)) > VALUE_TOLERANCE * spread
    return int(both.sum()), int(differ.sum())
