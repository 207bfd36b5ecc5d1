"""Typed, format-independent results: what every reader returns and every exporter writes.

A benchmark result is a list of *components*: the subtask scores the benchmark averages (24 for
BBH, 4 metrics for IFEval, one pooled group for BBQ, the tasks of a LiveBench category). Keeping
them separate, with their per-item data when it exists, lets the scoring layer normalise per
subtask and bootstrap within each subtask without knowing which file format they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Items:
    """Per-item data of one component: its score is ``sum(num) / sum(den)``.

    ``den`` is None for a plain mean (one point per item). IFEval's instruction-level accuracy is a
    ratio (instructions followed / instructions) and therefore carries a denominator per prompt.
    """

    num: np.ndarray
    den: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.num.shape[0])

    @property
    def value(self) -> float:
        den = float(len(self)) if self.den is None else float(self.den.sum())
        return float(self.num.sum()) / den if den else float("nan")


@dataclass(frozen=True)
class Component:
    """One averaged part of a benchmark (a subtask metric, a pooled group, a LiveBench task).

    ``value`` is in [0, 1] and not yet inverted or normalised. ``column`` names the part in the
    artifact layouts (an eleuther_wandb.csv column or a LiveBench task/category). Components with the
    same ``item_set`` were measured on the same items (IFEval's four metrics), so they are resampled
    together and their standard errors are not independent.
    """

    key: str
    column: str
    value: float
    stderr: float | None = None
    n: int | None = None
    items: Items | None = None
    item_set: str = ""


@dataclass(frozen=True)
class BenchmarkResult:
    """The raw result of one registry benchmark for one model, and the file it came from."""

    name: str
    components: tuple[Component, ...]
    source: str

    @property
    def n(self) -> int | None:
        """Items scored (distinct item sets counted once), or None when unknown."""
        seen: dict[str, int | None] = {}
        for c in self.components:
            seen.setdefault(c.item_set or c.key, c.n)
        if any(v is None for v in seen.values()):
            return None
        return int(sum(v for v in seen.values() if v is not None))

    @property
    def has_items(self) -> bool:
        return all(c.items is not None for c in self.components)


@dataclass
class ModelResults:
    """Everything read for one model: benchmark name -> result, plus where it came from."""

    model: str
    benchmarks: dict[str, BenchmarkResult] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
