"""The answers the bake tests bake: few combinations in which every pair of option values occurs."""

from __future__ import annotations

import itertools
import json

from harness.project import TEMPLATE

CONFIG = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES = {k: v for k, v in CONFIG.items() if isinstance(v, list) and not k.startswith("_")}


def pairwise(choices: dict[str, list]) -> list[dict]:
    """Few combinations of the choices in which every pair of values of two questions occurs at least
    once (so every value occurs too): greedy, each step taking the combination that covers the most
    pairs not yet covered. 6 bakes instead of the product's 12, and still each interaction once."""
    product = [dict(zip(choices, values, strict=True)) for values in itertools.product(*choices.values())]

    def pairs(answers: dict) -> set:
        return {((a, answers[a]), (b, answers[b])) for a, b in itertools.combinations(answers, 2)}

    uncovered, chosen = set().union(*map(pairs, product)), []
    while uncovered:
        best = max(product, key=lambda answers: len(pairs(answers) & uncovered))
        chosen.append(best)
        uncovered -= pairs(best)
    return chosen or product[:1]


# The combinations the bake tests bake: each pair of option values at least once.
COMBINATIONS = pairwise(CHOICES)


def combo_id(answers: dict) -> str:
    return "-".join(str(v) for v in answers.values())
