"""Nonparametric bootstrap over items, vectorised over rounds.

Each component (subtask) is resampled within itself; components measured on the same items
(IFEval's four metrics) share one resample so their correlation is kept. numpy does the work on an
index matrix (rounds x items), in chunks of rounds so 58k-item BBQ never needs gigabytes; a 0/1
component with one point per item uses the exactly equivalent binomial draw (the count of ones
in a resample of n items with replacement is Binomial(n, p)), which is far cheaper.
"""

from __future__ import annotations

import numpy as np

from sosbench.results import Component, Items

CHUNK_ELEMENTS = 4_000_000


def _is_binary_mean(items: Items) -> bool:
    return items.den is None and bool(np.all((items.num == 0.0) | (items.num == 1.0)))


def resample_means(items: list[Items], rng: np.random.Generator, rounds: int) -> list[np.ndarray]:
    """Per-round means of components that share their items (one index matrix for all of them).

    `sosbench compare` passes both models' components of one item set together: that one index matrix is
    the paired bootstrap.
    """
    n = len(items[0])
    if len(items) == 1 and _is_binary_mean(items[0]):
        return [rng.binomial(n, items[0].value, size=rounds) / n]
    out = [np.empty(rounds) for _ in items]
    step = max(1, CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, rounds, step):
        stop = min(rounds, start + step)
        idx = rng.integers(0, n, size=(stop - start, n))
        for means, it in zip(out, items, strict=True):
            num = it.num[idx].sum(axis=1)
            den = it.den[idx].sum(axis=1) if it.den is not None else np.full(stop - start, float(n))
            means[start:stop] = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    return out


def component_rounds(
    components: tuple[Component, ...], rng: np.random.Generator, rounds: int
) -> list[np.ndarray]:
    """Bootstrap means of every component (in order); all components must carry items."""
    by_set: dict[str, list[int]] = {}
    for i, comp in enumerate(components):
        by_set.setdefault(comp.item_set or comp.key, []).append(i)
    result: list[np.ndarray | None] = [None] * len(components)
    for indices in by_set.values():
        group = [components[i].items for i in indices]
        sizes = {len(g) for g in group if g is not None}
        if len(sizes) != 1:
            # Same item set but different lengths (should not happen): resample each on its own.
            for i in indices:
                result[i] = resample_means([components[i].items], rng, rounds)[0]  # type: ignore[list-item]
            continue
        for i, means in zip(indices, resample_means(group, rng, rounds), strict=True):  # type: ignore[arg-type]
            result[i] = means
    return result  # type: ignore[return-value]


def percentile_ci(rounds: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.nanpercentile(rounds, [tail, 100.0 - tail])
    return float(low), float(high)
