"""Pearson, Spearman and Kendall correlations with a seeded bootstrap CI over models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from sosbench.errors import SosbenchError
from sosbench.scoring import BOOTSTRAP_ROUNDS, MODEL_BOOTSTRAP


@dataclass(frozen=True)
class Correlation:
    """x versus y over n models; the CIs are 2.5/97.5 percentiles of the bootstrap over models."""

    x: str
    y: str
    n: int
    pearson: float
    spearman: float
    kendall: float
    pearson_ci: tuple[float, float]
    spearman_ci: tuple[float, float]
    kendall_ci: tuple[float, float]
    models: tuple[str, ...] = ()

    @property
    def ci_low(self) -> float:
        return self.pearson_ci[0]

    @property
    def ci_high(self) -> float:
        return self.pearson_ci[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "pearson": self.pearson,
            "spearman": self.spearman,
            "kendall": self.kendall,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pearson_ci": list(self.pearson_ci),
            "spearman_ci": list(self.spearman_ci),
            "kendall_ci": list(self.kendall_ci),
            "ci_kind": MODEL_BOOTSTRAP,
            "n": self.n,
            "models": list(self.models),
        }


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair (rounds x n); a constant row gives NaN, dropped from percentiles."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    num = (a * b).sum(axis=1)
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def rowwise_kendall(a: np.ndarray, b: np.ndarray, chunk_elements: int = 4_000_000) -> np.ndarray:
    """Kendall's tau-b of each row pair, vectorised (scipy's kendalltau is one pair per call).

    With s = sign(a_i - a_j) and t = sign(b_i - b_j) over pairs i < j, tau-b = sum(s t) /
    sqrt(sum(s^2) sum(t^2)): the numerator is concordant minus discordant pairs and each sum of
    squares counts the pairs not tied in that variable, which is scipy's tau-b. Bootstrap resamples
    repeat models, so ties are common and must be handled this way.
    """
    i, j = np.triu_indices(a.shape[1], k=1)
    out = np.empty(a.shape[0])
    step = max(1, chunk_elements // max(len(i), 1))
    for start in range(0, a.shape[0], step):
        stop = min(a.shape[0], start + step)
        s = np.sign(a[start:stop, i] - a[start:stop, j])
        t = np.sign(b[start:stop, i] - b[start:stop, j])
        den = np.sqrt((s * s).sum(axis=1) * (t * t).sum(axis=1))
        num = (s * t).sum(axis=1)
        out[start:stop] = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    return out


def _ci(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def correlate(
    x: np.ndarray | list[float],
    y: np.ndarray | list[float],
    *,
    x_name: str = "x",
    y_name: str = "y",
    models: tuple[str, ...] = (),
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> Correlation:
    """The three coefficients and their bootstrap CIs (models resampled with replacement, seeded)."""
    xa, ya = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xa.shape != ya.shape or xa.ndim != 1:
        raise SosbenchError(f"correlate {x_name} with {y_name}: need two equally long lists of numbers")
    n = int(xa.size)
    if n < 3:
        raise SosbenchError(f"correlate {x_name} with {y_name}: only {n} models have both scores (need 3)")
    pearson = float(stats.pearsonr(xa, ya).statistic)
    spearman = float(stats.spearmanr(xa, ya).statistic)
    kendall = float(stats.kendalltau(xa, ya).statistic)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(rounds, n))
    bx, by = xa[idx], ya[idx]
    boot_pearson = _rowwise_pearson(bx, by)
    boot_spearman = _rowwise_pearson(stats.rankdata(bx, axis=1), stats.rankdata(by, axis=1))
    boot_kendall = rowwise_kendall(bx, by)
    return Correlation(
        x_name,
        y_name,
        n,
        pearson,
        spearman,
        kendall,
        _ci(boot_pearson),
        _ci(boot_spearman),
        _ci(boot_kendall),
        models,
    )
