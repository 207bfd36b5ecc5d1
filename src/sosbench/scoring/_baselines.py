"""Random baselines for `--normalize baseline` (Open LLM Leaderboard v2 rule), read from a data file."""

from __future__ import annotations

from typing import Any

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.results import scoring_constants

NORMALIZATIONS = ("none", "baseline")


def answer_choices() -> dict[str, Any]:
    """Benchmark -> number of answer choices (or subtask -> number; None = generative)."""
    return dict(scoring_constants().answer_choices)


def random_baseline(benchmark: str, column: str) -> float:
    """Chance level of one component: 1 / choices, 0 for generative tasks."""
    table = answer_choices()
    if benchmark not in table:
        raise SosbenchError(
            f"no random baseline for benchmark {benchmark!r}: "
            "add it to data/scoring/scoring.yaml (answer_choices)"
        )
    spec = table[benchmark]
    if isinstance(spec, dict):
        task = column.split("/", 1)[0]
        if task not in spec:
            raise SosbenchError(
                f"no random baseline for {benchmark} subtask {task!r} in data/scoring/scoring.yaml"
            )
        spec = spec[task]
    return 0.0 if spec is None else 1.0 / float(spec)


def normalize(values: np.ndarray | float, baseline: float) -> np.ndarray | float:
    """(x - b) / (1 - b), clipped at 0: chance performance scores 0, a perfect score stays 1."""
    if baseline <= 0.0:
        return values
    return np.maximum(0.0, (np.asarray(values) - baseline) / (1.0 - baseline))


def check_normalization(name: str | None) -> str:
    chosen = name or "none"
    if chosen not in NORMALIZATIONS:
        raise SosbenchError(f"unknown --normalize {name!r}: use {' or '.join(NORMALIZATIONS)}")
    return chosen
