"""Two runs aligned item by item, and their values through the scoring formula.

Only items both runs answered are paired (matched by id, checked to carry the same prompt). Each
benchmark's components are resampled with one index matrix for both models (the paired bootstrap),
independently (the unpaired CI), and under sign flips (the permutation null), and every array goes through
``scoring/_formula.py``, the same formula `sosbench score` applies to one model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.results import Items, ModelResults, read_paths
from sosbench.scoring import Aggregate, aggregate, benchmark_value, resample_means
from sosbench.suite import Benchmark, benchmarks

CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Part:
    """One component of a benchmark, both runs' items aligned on the items both answered."""

    column: str
    item_set: str
    base: Items
    cand: Items


@dataclass(frozen=True)
class Paired:
    bench: Benchmark
    parts: tuple[Part, ...]

    @property
    def columns(self) -> list[str]:
        return [p.column for p in self.parts]

    @property
    def sets(self) -> dict[str, list[Part]]:
        """item set -> its components (those on the same items share every resample)."""
        out: dict[str, list[Part]] = {}
        for part in self.parts:
            out.setdefault(part.item_set, []).append(part)
        return out

    @property
    def n(self) -> int:
        return sum(len(parts[0].base) for parts in self.sets.values())


def read_run(path: Path) -> ModelResults:
    """One model's results with their items (a run folder, or lm-eval results with samples logs)."""
    models = read_paths([path], item_details=True)
    if len(models) > 1:
        names = ", ".join(m.model for m in models[:4])
        raise SosbenchError(f"{path} holds {len(models)} models ({names}...): pass one run folder per side")
    if not any(r.has_items for r in models[0].benchmarks.values()):
        raise SosbenchError(
            f"{path}: no finished benchmark with per-item logs: compare needs samples logs "
            "(`sosbench run` keeps them; with lm-eval pass --log_samples)"
        )
    return models[0]


def _aligned(name: str, column: str, b: Items, c: Items) -> tuple[Items, Items]:
    """Both runs' items of one component, on the ids both have, checked to be the same prompts."""
    if b.ids is None or c.ids is None:
        raise SosbenchError(f"{name}: {column}: items without ids (no doc_id in the samples log): re-run it")
    shared = sorted(set(b.ids) & set(c.ids))
    if not shared:
        raise SosbenchError(f"{name}: {column}: the two runs share no items: were they run on the same data?")
    where_b = {d: i for i, d in enumerate(b.ids)}
    where_c = {d: i for i, d in enumerate(c.ids)}
    b, c = b.subset([where_b[d] for d in shared]), c.subset([where_c[d] for d in shared])
    for item, pb, pc in zip(shared, b.prompts or (), c.prompts or (), strict=False):
        if pb is not None and pc is not None and pb != pc:
            raise SosbenchError(
                f"{name}: item {item} has different prompts in the two runs: different chat template "
                "or few-shot setting? compare runs made with the same configuration"
            )
    return b, c


def _pair_benchmark(bench: Benchmark, base: ModelResults, cand: ModelResults) -> Paired:
    b_result, c_result = base.benchmarks[bench.name], cand.benchmarks[bench.name]
    if b_result.version != c_result.version:
        raise SosbenchError(
            f"{bench.name}: task versions differ ({b_result.version} vs {c_result.version}): "
            "re-run one of them"
        )
    parts: list[Part] = []
    sizes: dict[str, int] = {}
    for b, c in zip(b_result.components, c_result.components, strict=True):
        b_items, c_items = _aligned(bench.name, b.key, b.items, c.items)  # type: ignore[arg-type]
        if sizes.setdefault(b.item_set, len(b_items)) != len(b_items):
            raise SosbenchError(f"{bench.name}: components of {b.item_set} cover different items")
        parts.append(Part(b.column, b.item_set, b_items, c_items))
    return Paired(bench, tuple(parts))


def pair_runs(base: ModelResults, cand: ModelResults) -> tuple[list[Paired], list[str]]:
    """The shared benchmarks with per-item data, aligned item by item; runs that cannot be paired are
    refused."""
    if base.protocol != cand.protocol:
        raise SosbenchError(
            f"protocols differ ({base.model}: {base.protocol}, {cand.model}: {cand.protocol}): "
            "compare runs of the same protocol"
        )
    if base.limit != cand.limit:
        raise SosbenchError(
            f"--limit differs ({base.model}: {base.limit}, {cand.model}: {cand.limit}): compare runs with "
            "the same limit"
        )
    itemised = [{k for k, r in run.benchmarks.items() if r.has_items} for run in (base, cand)]
    shared = [b for b in benchmarks() if b.name in itemised[0] & itemised[1]]
    if not shared:
        raise SosbenchError(f"{base.model} and {cand.model} share no benchmark with per-item logs")
    notes = []
    only = sorted(itemised[0] ^ itemised[1])
    if only:
        notes.append(f"benchmarks in only one run, left out: {', '.join(only)}")
    no_items = sorted((set(base.benchmarks) | set(cand.benchmarks)) - itemised[0] - itemised[1])
    if no_items:
        notes.append(f"benchmarks without per-item logs, left out: {', '.join(no_items)}")
    return [_pair_benchmark(b, base, cand) for b in shared], notes


@dataclass(frozen=True)
class Values:
    """One quantity's values for base and candidate: points (0-d), paired and unpaired bootstrap rounds,
    and the sign-flip null; unpaired is None for factors (their rows give no unpaired CI)."""

    point: tuple[np.ndarray, np.ndarray]
    paired: tuple[np.ndarray, np.ndarray]
    null: tuple[np.ndarray, np.ndarray]
    unpaired: tuple[np.ndarray, np.ndarray] | None = None


def _resample(p: Paired, rng: np.random.Generator, rounds: int, paired: bool) -> tuple[list, list]:
    """Bootstrap means of every component of base and candidate (one index matrix for both if paired)."""
    base: dict[str, np.ndarray] = {}
    cand: dict[str, np.ndarray] = {}
    for parts in p.sets.values():
        items = [x.base for x in parts] + [x.cand for x in parts]
        means = (
            resample_means(items, rng, rounds)
            if paired
            else resample_means(items[: len(parts)], rng, rounds)
            + resample_means(items[len(parts) :], rng, rounds)
        )
        for k, part in enumerate(parts):
            base[part.column], cand[part.column] = means[k], means[len(parts) + k]
    return [base[c] for c in p.columns], [cand[c] for c in p.columns]


def _coins(rng: np.random.Generator, rows: int, n: int) -> np.ndarray:
    """A (rows, n) matrix of fair 0/1 coins, eight per random byte (the permutations' main cost)."""
    bits = np.unpackbits(np.frombuffer(rng.bytes((rows * n + 7) // 8), dtype=np.uint8))
    return bits[: rows * n].reshape(rows, n).astype(float)


def _sign_flips(p: Paired, rng: np.random.Generator, permutations: int) -> tuple[list, list]:
    """Component means under the null: each item's two outcomes swapped at random (one coin per item,
    shared by the components on the same items).

    A swap moves ``base - cand`` from one side's sums to the other's, so each permutation's sums are the
    observed sums plus a product with the swap matrix (one BLAS call instead of two gathers).
    """
    base: dict[str, np.ndarray] = {c: np.empty(permutations) for c in p.columns}
    cand: dict[str, np.ndarray] = {c: np.empty(permutations) for c in p.columns}
    for parts in p.sets.values():
        n = len(parts[0].base)
        step = max(1, CHUNK_ELEMENTS // max(n, 1))
        for start in range(0, permutations, step):
            stop = min(permutations, start + step)
            swap = _coins(rng, stop - start, n)
            for part in parts:
                b, c = part.base, part.cand
                moved_num = swap @ (b.num - c.num)
                moved_den = swap @ (b.denominators - c.denominators)
                b_num, b_den, c_num, c_den = (
                    b.num.sum(),
                    b.denominators.sum(),
                    c.num.sum(),
                    c.denominators.sum(),
                )
                cand[part.column][start:stop] = (c_num + moved_num) / (c_den + moved_den)
                base[part.column][start:stop] = (b_num - moved_num) / (b_den - moved_den)
    return [base[c] for c in p.columns], [cand[c] for c in p.columns]


def benchmark_values(
    p: Paired, rng: np.random.Generator, rounds: int, permutations: int, normalization: str
) -> Values:
    """Component values through the formula: the benchmark's score for base and candidate, four ways."""

    def value(parts: Sequence[np.ndarray | float]) -> np.ndarray:
        return benchmark_value(p.bench, p.columns, parts, normalization)

    def both(pair: tuple[list, list]) -> tuple[np.ndarray, np.ndarray]:
        return value(pair[0]), value(pair[1])

    points = ([x.base.value for x in p.parts], [x.cand.value for x in p.parts])
    paired = both(_resample(p, rng, rounds, paired=True))
    unpaired = both(_resample(p, rng, rounds, paired=False))
    return Values(both(points), paired, both(_sign_flips(p, rng, permutations)), unpaired)


def aggregate_values(
    values: dict[str, Values], allow_partial: bool
) -> dict[str, tuple[Values | None, Aggregate]]:
    """Factors and Overall through the formula, for points, paired rounds and the null, both models."""
    ways = {
        way: [
            aggregate({k: getattr(v, way)[side] for k, v in values.items()}, allow_partial=allow_partial)
            for side in (0, 1)
        ]
        for way in ("point", "paired", "null")
    }
    out: dict[str, tuple[Values | None, Aggregate]] = {}
    for name, agg in ways["point"][0].items():
        sides = {w: (ways[w][0][name].value, ways[w][1][name].value) for w in ways}
        out[name] = (None if agg.value is None else Values(**sides), agg)  # type: ignore[arg-type]
    return out


# The per-item view embeds every listed item in one HTML file: a bound keeps a BBQ-size comparison (58K items)
# readable and the file small; the total is always reported.
ITEM_VIEW_LIMIT = 2000


def differing_items(paired: list[Paired]) -> tuple[tuple[dict[str, Any], ...], int]:
    """The first ITEM_VIEW_LIMIT items whose score differs between the runs, and how many differ in all."""
    out: list[dict[str, Any]] = []
    total = 0
    none = {"prompt": "", "response": "", "gold": ""}
    for p in paired:
        for parts in p.sets.values():
            b, c = parts[0].base, parts[0].cand
            before, after = b.num / b.denominators, c.num / c.denominators
            differing = np.flatnonzero(before != after)
            total += len(differing)
            for i in differing[: max(0, ITEM_VIEW_LIMIT - len(out))]:
                shown_b = b.details[i] if b.details else none
                shown_c = c.details[i] if c.details else none
                out.append(
                    {
                        "benchmark": p.bench.name,
                        "item": b.ids[i] if b.ids else str(i),
                        "prompt": shown_b.get("prompt") or shown_c.get("prompt", ""),
                        "gold": shown_b.get("gold") or shown_c.get("gold", ""),
                        "base_response": shown_b.get("response", ""),
                        "candidate_response": shown_c.get("response", ""),
                        "base_score": float(before[i]),
                        "candidate_score": float(after[i]),
                    }
                )
    return tuple(out), total
