"""Typed, format-independent results: what every reader returns and every exporter writes.

A benchmark result is a list of *components*: the subtask scores the benchmark averages (24 for
BBH, 4 metrics for IFEval, one pooled group for BBQ, the tasks of a LiveBench category). Keeping
them separate, with their per-item data when it exists, lets the scoring layer normalise per
subtask and bootstrap within each subtask without knowing which file format they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Items:
    """Per-item data of one component: its score is ``sum(num) / sum(den)``.

    ``den`` is None for a plain mean (one point per item). IFEval's instruction-level accuracy is a
    ratio (instructions followed / instructions) and therefore carries a denominator per prompt.
    ``ids`` name the items (``task:doc_id`` for lm-eval, ``question_id`` for LiveBench) and ``prompts``
    hold each item's prompt hash, so two runs can be paired item by item; ``details`` (prompt, response,
    gold) are read only when asked, for the per-item view of `sosbench compare`.
    """

    num: np.ndarray
    den: np.ndarray | None = None
    ids: tuple[str, ...] | None = None
    prompts: tuple[str | None, ...] | None = None
    details: tuple[dict[str, str], ...] | None = None

    def __len__(self) -> int:
        return int(self.num.shape[0])

    @property
    def value(self) -> float:
        den = float(len(self)) if self.den is None else float(self.den.sum())
        return float(self.num.sum()) / den if den else float("nan")

    @property
    def denominators(self) -> np.ndarray:
        """``den``, or one point per item."""
        return np.ones(len(self)) if self.den is None else self.den

    def subset(self, index: Sequence[int]) -> Items:
        """The items at ``index``, in that order (two runs aligned on the items both answered)."""
        at = np.asarray(index, dtype=np.intp)

        def pick(values: tuple | None) -> tuple | None:
            return None if values is None else tuple(values[i] for i in at)

        return Items(
            self.num[at],
            None if self.den is None else self.den[at],
            pick(self.ids),
            pick(self.prompts),
            pick(self.details),
        )

    @classmethod
    def concat(cls, parts: Sequence[Items]) -> Items:
        """The items of several logs pooled into one component (BBQ's 11 splits)."""
        dens = None if all(p.den is None for p in parts) else np.concatenate([p.denominators for p in parts])

        def joined(values: list[tuple | None]) -> tuple | None:
            return None if any(v is None for v in values) else tuple(x for v in values for x in v)  # type: ignore[union-attr]

        return cls(
            np.concatenate([p.num for p in parts]),
            dens,
            joined([p.ids for p in parts]),
            joined([p.prompts for p in parts]),
            joined([p.details for p in parts]),
        )


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
    version: str = ""  # the lm-eval task versions (JSON), or "" when the file records none

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
    """Everything read for one model: benchmark name -> result, plus where it came from.

    ``protocol`` and ``limit`` are what the run recorded (None when the input does not say): runs of
    different protocols or limits cannot be paired, and a ``limit`` run is marked in every output.
    """

    model: str
    benchmarks: dict[str, BenchmarkResult] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    protocol: str | None = None
    limit: int | float | None = None


def limit_text(limit: int | float | None) -> str | None:
    """How a ``--limit`` run is marked in every output ("30 items per task"); None for a full run."""
    if limit is None:
        return None
    if isinstance(limit, float) and limit < 1:
        return f"{limit:.0%} of the items per task"
    return f"{int(limit)} item{'' if int(limit) == 1 else 's'} per task"
