"""Edit a baked project's params.yaml as a pull request would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

# One small candidate: a review trains champion and challenger in seconds.
QUICK = {
    "hist_gradient_boosting": {
        "estimator": "hist_gradient_boosting",
        "params": {"max_iter": 20, "max_depth": 2},
    }
}


def edit_params(project: Path, edit: Callable[[dict], object]) -> None:
    """Apply `edit` to the parsed params.yaml and write it back, keys in their order."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    edit(params)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def use_candidates(project: Path, candidates: dict) -> None:
    """Train only these candidates, on 2 folds (the tests' reviews need speed, not a good model)."""
    edit_params(project, lambda params: params["train"].update(cv_folds=2, candidates=candidates))
