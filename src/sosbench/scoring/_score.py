"""Benchmark, factor and Overall scores with analytic and bootstrap 95% confidence intervals.

The formula (docs/scoring.md, protocol 2.3's recommended reading) on a 0-1 scale:
benchmark = unweighted mean of its components (subtasks / metrics / LiveBench tasks), inverted for
WMDP; factor = unweighted mean of its benchmarks (registry factors); Overall = mean of the factors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sosbench.results import BenchmarkResult, Component, ModelResults, read_paths
from sosbench.scoring._baselines import check_normalization, normalize, random_baseline
from sosbench.scoring._bootstrap import component_rounds, percentile_ci
from sosbench.suite import FACTORS, Benchmark, benchmarks

Z95 = 1.959963984540054
OVERALL = "Overall"
FACTOR_NAMES = (*FACTORS, OVERALL)


@dataclass(frozen=True)
class BenchmarkScore:
    """One benchmark's score in [0, 1] (normalised if asked), its stderr and item count."""

    name: str
    factor: str
    score: float
    stderr: float | None
    n: int | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str | None
    source: str
    components: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "stderr": self.stderr,
            "n": self.n,
            "factor": self.factor,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_method": self.ci_method,
            "source": self.source,
        }


@dataclass(frozen=True)
class FactorScore:
    """A factor (or Overall): score, the reported 95% CI, both CI methods, and what is missing."""

    score: float | None
    ci_low: float | None
    ci_high: float | None
    complete: bool
    stderr: float | None = None
    analytic: tuple[float, float] | None = None
    bootstrap: tuple[float, float] | None = None
    missing: tuple[str, ...] = ()

    @property
    def ci_method(self) -> str | None:
        if self.bootstrap is not None:
            return "bootstrap"
        return "analytic" if self.analytic is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "complete": self.complete,
            "stderr": self.stderr,
            "ci_method": self.ci_method,
            "ci_analytic": list(self.analytic) if self.analytic else None,
            "ci_bootstrap": list(self.bootstrap) if self.bootstrap else None,
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class ModelScore:
    model: str
    benchmarks: dict[str, BenchmarkScore]
    factors: dict[str, FactorScore]
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "benchmarks": {k: v.to_json() for k, v in self.benchmarks.items()},
            "factors": {k: v.to_json() for k, v in self.factors.items()},
            "sources": list(self.sources),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class ScoreReport:
    """Scores of every model read, and the settings that produced them."""

    models: list[ModelScore]
    normalize: str = "none"
    allow_partial: bool = False
    bootstrap: int = 1000
    seed: int = 0

    @property
    def notes(self) -> list[str]:
        """Lines every output repeats: partial factors allowed, normalisation used."""
        out = []
        if self.allow_partial:
            out.append(
                "--allow-partial: a factor missing benchmarks is averaged over the ones present "
                "(marked complete=false); such scores are not comparable with complete ones"
            )
        if self.normalize == "baseline":
            out.append(
                "--normalize baseline: Open LLM Leaderboard v2 random-baseline normalisation per subtask"
            )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "models": [m.to_json() for m in self.models],
            "normalize": self.normalize,
            "allow_partial": self.allow_partial,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "notes": self.notes,
        }


def _component_stderr(comp: Component) -> float | None:
    if comp.stderr is not None:
        return comp.stderr
    if comp.items is not None and comp.items.den is None and len(comp.items) > 1:
        return float(np.std(comp.items.num, ddof=1) / math.sqrt(len(comp.items)))
    return None


def _benchmark_point(
    bench: Benchmark, result: BenchmarkResult, normalization: str
) -> tuple[float, float | None]:
    """Score and analytic stderr of one benchmark.

    Components on the same items (IFEval's metrics) are treated as perfectly correlated (their
    stderrs add linearly, and a missing one - lm-eval's "N/A" for instruction-level IFEval - takes the
    mean of the others); independent item sets add in quadrature.
    """
    values: list[float] = []
    groups: dict[str, list[float | None]] = {}
    count = len(result.components)
    for comp in result.components:
        base = random_baseline(bench.name, comp.column) if normalization == "baseline" else 0.0
        values.append(float(normalize(comp.value, base)))
        se = _component_stderr(comp)
        groups.setdefault(comp.item_set or comp.key, []).append(None if se is None else se / (1.0 - base))
    score = float(np.mean(values))
    if bench.score is not None and bench.score.invert:
        score = 1.0 - score
    variance = 0.0
    for ses in groups.values():
        known = [s for s in ses if s is not None]
        if not known:
            return score, None
        variance += (len(ses) / count * float(np.mean(known))) ** 2
    return score, math.sqrt(variance)


def _benchmark_rounds(
    bench: Benchmark, result: BenchmarkResult, normalization: str, rng: np.random.Generator, rounds: int
) -> np.ndarray:
    comp_rounds = component_rounds(result.components, rng, rounds)
    normed = [
        normalize(r, random_baseline(bench.name, c.column) if normalization == "baseline" else 0.0)
        for r, c in zip(comp_rounds, result.components, strict=True)
    ]
    out = np.mean(np.vstack(normed), axis=0)
    return 1.0 - out if bench.score is not None and bench.score.invert else out


def _analytic(score: float | None, se: float | None) -> tuple[float, float] | None:
    if score is None or se is None:
        return None
    return score - Z95 * se, score + Z95 * se


def _combine(
    scores: list[float], ses: list[float | None], rounds: list[np.ndarray | None]
) -> tuple[float, float | None, tuple[float, float] | None, np.ndarray | None]:
    """Mean of parts, its analytic stderr, and its bootstrap rounds when every part has rounds."""
    score = float(np.mean(scores))
    se = None if any(s is None for s in ses) else math.sqrt(sum(s * s for s in ses)) / len(ses)  # type: ignore[operator, misc]
    stacked = None
    if rounds and all(r is not None for r in rounds):
        stacked = np.mean(np.vstack(rounds), axis=0)  # type: ignore[arg-type]
    return score, se, _analytic(score, se), stacked


def score_model(
    results: ModelResults,
    *,
    allow_partial: bool = False,
    normalize: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
) -> ModelScore:
    """Benchmark, factor and Overall scores of one model (see the module docstring for the formula)."""
    normalization = check_normalization(normalize)
    rng = np.random.default_rng(seed)
    suite = benchmarks()
    with_items = bootstrap > 0 and any(r.has_items for r in results.benchmarks.values())
    bench_scores: dict[str, BenchmarkScore] = {}
    bench_rounds: dict[str, np.ndarray | None] = {}
    for bench in suite:
        result = results.benchmarks.get(bench.name)
        if result is None:
            continue
        score, se = _benchmark_point(bench, result, normalization)
        rounds = None
        if with_items and result.has_items:
            rounds = _benchmark_rounds(bench, result, normalization, rng, bootstrap)
        elif with_items and se is not None:
            rounds = rng.normal(score, se, size=bootstrap)  # no items: parametric draw (docs/scoring.md)
        bench_rounds[bench.name] = rounds
        ci, method = (
            (percentile_ci(rounds), "bootstrap")
            if rounds is not None and result.has_items
            else (
                _analytic(score, se),
                "analytic",
            )
        )
        bench_scores[bench.name] = BenchmarkScore(
            bench.name,
            bench.factor,
            score,
            se,
            result.n,
            ci[0] if ci else None,
            ci[1] if ci else None,
            method if ci else None,
            result.source,
            {c.column: c.value for c in result.components},
        )
    factors: dict[str, FactorScore] = {}
    factor_rounds: dict[str, np.ndarray | None] = {}
    for factor in FACTORS:
        members = [b.name for b in suite if b.factor == factor and b.factor_average]
        present = [m for m in members if m in bench_scores]
        missing = tuple(m for m in members if m not in bench_scores)
        if not present or (missing and not allow_partial):
            factors[factor] = FactorScore(None, None, None, False, missing=missing)
            factor_rounds[factor] = None
            continue
        score, se, ci, rounds = _combine(
            [bench_scores[m].score for m in present],
            [bench_scores[m].stderr for m in present],
            [bench_rounds.get(m) for m in present],
        )
        # A factor's bootstrap CI is reported only if item-level data went into it; its rounds still
        # feed Overall (parametric draws for a factor with no per-item data at all).
        from_items = any(results.benchmarks[m].has_items for m in present)
        factors[factor] = _factor(score, se, ci, rounds if from_items else None, not missing, missing)
        factor_rounds[factor] = rounds
    factors[OVERALL] = _overall(factors, factor_rounds, allow_partial)
    return ModelScore(results.model, bench_scores, factors, tuple(results.sources), tuple(results.notes))


def _factor(
    score: float,
    se: float | None,
    ci: tuple[float, float] | None,
    rounds: np.ndarray | None,
    complete: bool,
    missing: tuple[str, ...],
) -> FactorScore:
    boot = percentile_ci(rounds) if rounds is not None else None
    shown = boot or ci
    return FactorScore(
        score, shown[0] if shown else None, shown[1] if shown else None, complete, se, ci, boot, missing
    )


def _overall(
    factors: dict[str, FactorScore], rounds: dict[str, np.ndarray | None], allow_partial: bool
) -> FactorScore:
    scored = [f for f in FACTORS if factors[f].score is not None]
    missing = tuple(f for f in FACTORS if factors[f].score is None)
    if not scored or (missing and not allow_partial):
        return FactorScore(None, None, None, False, missing=missing)
    score, se, ci, stacked = _combine(
        [factors[f].score for f in scored],  # type: ignore[misc]
        [factors[f].stderr for f in scored],
        [rounds[f] for f in scored],
    )
    complete = not missing and all(factors[f].complete for f in FACTORS)
    return _factor(score, se, ci, stacked, complete, missing)


def score_models(
    models: Sequence[ModelResults],
    *,
    allow_partial: bool = False,
    normalize: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    on_model: Callable[[int, int, str], None] | None = None,
) -> ScoreReport:
    """Score already-read results; ``on_model(i, total, name)`` reports progress."""
    normalization = check_normalization(normalize)
    scored = []
    for i, results in enumerate(models):
        if on_model is not None:
            on_model(i, len(models), results.model)
        scored.append(
            score_model(
                results, allow_partial=allow_partial, normalize=normalization, bootstrap=bootstrap, seed=seed
            )
        )
    return ScoreReport(scored, normalization, allow_partial, bootstrap, seed)


def score_paths(
    paths: Sequence[str | Path],
    *,
    allow_partial: bool = False,
    normalize: str | None = None,
    bootstrap: int = 1000,
    seed: int = 0,
    on_model: Callable[[int, int, str], None] | None = None,
) -> ScoreReport:
    """Read run folders / results files and score every model in them."""
    models = read_paths([Path(p) for p in paths])
    return score_models(
        models,
        allow_partial=allow_partial,
        normalize=normalize,
        bootstrap=bootstrap,
        seed=seed,
        on_model=on_model,
    )
