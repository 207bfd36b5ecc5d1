"""Benchmark, factor and Overall scores with analytic and bootstrap 95% confidence intervals.

The formula itself (normalise, average, invert, factors, Overall, the partial rule) is
``scoring/_formula.py``, applied here to each model's point estimates and to independent bootstrap
resamples of its items; this module adds the analytic stderrs and picks the CI each row reports.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sosbench._defaults import BOOTSTRAP_ROUNDS
from sosbench.results import BenchmarkResult, Component, Items, ModelResults, limit_text, read_paths
from sosbench.scoring._baselines import check_normalization
from sosbench.scoring._bootstrap import component_rounds, percentile_ci
from sosbench.scoring._formula import (
    ANALYTIC,
    FACTOR_NAMES,
    ITEM_BOOTSTRAP,
    OVERALL,
    Aggregate,
    aggregate,
    baselines,
    benchmark_value,
)
from sosbench.suite import Benchmark, benchmarks

Z95 = 1.959963984540054


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
    ci_method: str | None  # the CI's kind: ITEM_BOOTSTRAP or ANALYTIC
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
    """A factor (or Overall): score, the reported 95% CI, both CI methods, and what it averaged."""

    score: float | None
    ci_low: float | None
    ci_high: float | None
    complete: bool
    stderr: float | None = None
    analytic: tuple[float, float] | None = None
    bootstrap: tuple[float, float] | None = None
    missing: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    partial: str | None = None  # "2 of 10 benchmarks" for a partial row (--allow-partial)

    @property
    def ci_method(self) -> str | None:
        if self.bootstrap is not None:
            return ITEM_BOOTSTRAP
        return ANALYTIC if self.analytic is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "complete": self.complete,
            "partial": self.partial,
            "stderr": self.stderr,
            "ci_method": self.ci_method,
            "ci_analytic": list(self.analytic) if self.analytic else None,
            "ci_bootstrap": list(self.bootstrap) if self.bootstrap else None,
            "members": list(self.members),
            "missing": list(self.missing),
        }


@dataclass(frozen=True)
class ModelScore:
    model: str
    benchmarks: dict[str, BenchmarkScore]
    factors: dict[str, FactorScore]
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    limit: int | float | None = None  # the run's --limit: its scores are not those of the full suite

    @property
    def limited(self) -> str | None:
        """'30 items per task' for a --limit run, else None."""
        return limit_text(self.limit)

    def marks(self) -> list[str]:
        """One line per thing a reader must know about this model's rows: a --limit run, partial factors."""
        out = []
        if self.limited:
            out.append(f"{self.model}: a --limit run ({self.limited}): not comparable with full runs")
        for name, f in self.factors.items():
            if f.partial:
                out.append(f"{self.model}: {name} is partial, over {f.partial}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "limit": self.limit,
            "items_per_task": self.limited,
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
    bootstrap: int = BOOTSTRAP_ROUNDS
    seed: int = 0

    @property
    def notes(self) -> list[str]:
        """Lines every output repeats: partial factors, --limit runs, normalisation used."""
        out = []
        if self.allow_partial:
            out.append(
                "--allow-partial: a factor missing benchmarks is averaged over the ones present "
                "(marked partial, complete=false); such scores are not comparable with complete ones"
            )
        for model in self.models:
            out += model.marks()
        if self.normalize == "baseline":
            out.append(
                "--normalize baseline: Open LLM Leaderboard v2 random-baseline normalisation per subtask"
            )
        return out

    def ci_note(self) -> str:
        """What the 95% CIs are, by the kinds that occur."""
        kinds = {f.ci_method for m in self.models for f in m.factors.values() if f.ci_method}
        kinds |= {b.ci_method for m in self.models for b in m.benchmarks.values() if b.ci_method}
        parts = []
        if ITEM_BOOTSTRAP in kinds:
            parts.append(
                f"{ITEM_BOOTSTRAP} ({self.bootstrap} rounds, seed {self.seed}) where per-item logs exist"
            )
        if ANALYTIC in kinds:
            parts.append(f"{ANALYTIC}s (+-1.96 se)" + (" elsewhere" if parts else ""))
        return "95% CIs: " + ("; ".join(parts) or "none (no stderr or per-item data)")

    def to_json(self) -> dict[str, Any]:
        return {
            "models": [m.to_json() for m in self.models],
            "normalize": self.normalize,
            "allow_partial": self.allow_partial,
            "bootstrap": self.bootstrap,
            "seed": self.seed,
            "notes": self.notes,
        }


def _items_stderr(items: Items) -> float | None:
    """The stderr of a component's mean from its items: the sample stderr of a mean, or of a ratio of
    sums (IFEval's instruction level, followed / total) by the delta method."""
    n = len(items)
    if n < 2:
        return None
    if items.den is None:
        return float(np.std(items.num, ddof=1) / math.sqrt(n))
    residual = items.num - items.value * items.den
    return float(math.sqrt(np.sum(residual**2) / (n * (n - 1))) / np.mean(items.den))


def _component_stderr(comp: Component) -> float | None:
    """lm-eval's stderr, else one from the items (lm-eval writes "N/A" for IFEval's instruction level)."""
    if comp.stderr is not None:
        return comp.stderr
    return _items_stderr(comp.items) if comp.items is not None else None


def _benchmark_stderr(bench: Benchmark, result: BenchmarkResult, normalization: str) -> float | None:
    """Analytic stderr of one benchmark.

    Components on the same items (IFEval's metrics) are treated as perfectly correlated (their
    stderrs add linearly, and a missing one takes the mean of the others); independent item sets add
    in quadrature.
    """
    groups: dict[str, list[float | None]] = {}
    chance = baselines(bench, [c.column for c in result.components], normalization)
    for comp, base in zip(result.components, chance, strict=True):
        se = _component_stderr(comp)
        groups.setdefault(comp.item_set or comp.key, []).append(None if se is None else se / (1.0 - base))
    variance = 0.0
    for ses in groups.values():
        known = [s for s in ses if s is not None]
        if not known:
            return None
        variance += (len(ses) / len(result.components) * float(np.mean(known))) ** 2
    return math.sqrt(variance)


def _analytic(score: float | None, se: float | None) -> tuple[float, float] | None:
    if score is None or se is None:
        return None
    return score - Z95 * se, score + Z95 * se


def _combined_stderr(ses: list[float | None]) -> float | None:
    """The stderr of a mean of independent parts: sqrt(sum se^2) / K; None when one is unknown."""
    if not ses or any(s is None for s in ses):
        return None
    return math.sqrt(sum(s * s for s in ses)) / len(ses)  # type: ignore[operator, misc]


def _benchmark_score(
    bench: Benchmark,
    result: BenchmarkResult,
    normalization: str,
    rng: np.random.Generator,
    rounds: int,
) -> tuple[BenchmarkScore, np.ndarray | None]:
    """One benchmark's score and CI, and its bootstrap rounds (None without a bootstrap)."""
    columns = [c.column for c in result.components]
    score = float(benchmark_value(bench, columns, [c.value for c in result.components], normalization))
    se = _benchmark_stderr(bench, result, normalization)
    draws = None
    if rounds and result.has_items:
        draws = benchmark_value(
            bench, columns, component_rounds(result.components, rng, rounds), normalization
        )
    elif rounds and se is not None:
        draws = rng.normal(score, se, size=rounds)  # no items: parametric draws (docs/scoring.md)
    if draws is not None and result.has_items:
        ci, method = percentile_ci(draws), ITEM_BOOTSTRAP
    else:
        ci, method = _analytic(score, se), ANALYTIC  # type: ignore[assignment]
    return (
        BenchmarkScore(
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
        ),
        draws,
    )


def _factor_score(
    name: str, point: Aggregate, rounds: Aggregate, ses: dict[str, float | None], show_rounds: bool
) -> FactorScore:
    """A factor or Overall: the formula's value, the analytic CI from ``ses`` (of its members), and the
    bootstrap CI where ``show_rounds`` (item-level data went into it)."""
    unit = "factors" if name == OVERALL else "benchmarks"
    if point.value is None:
        return FactorScore(None, None, None, False, missing=point.missing)
    score = float(point.value)
    se = _combined_stderr([ses[m] for m in point.members])
    analytic = _analytic(score, se)
    boot = percentile_ci(rounds.value) if show_rounds and rounds.value is not None else None
    shown = boot or analytic
    return FactorScore(
        score,
        shown[0] if shown else None,
        shown[1] if shown else None,
        point.complete,
        se,
        analytic,
        boot,
        point.missing,
        point.members,
        point.partial_text(unit),
    )


def score_model(
    results: ModelResults,
    *,
    allow_partial: bool = False,
    normalize: str | None = None,
    bootstrap: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> ModelScore:
    """Benchmark, factor and Overall scores of one model (the formula: ``scoring/_formula.py``)."""
    normalization = check_normalization(normalize)
    rng = np.random.default_rng(seed)
    rounds = bootstrap if any(r.has_items for r in results.benchmarks.values()) else 0
    bench_scores: dict[str, BenchmarkScore] = {}
    bench_rounds: dict[str, np.ndarray | None] = {}
    for bench in benchmarks():
        result = results.benchmarks.get(bench.name)
        if result is not None:
            bench_scores[bench.name], bench_rounds[bench.name] = _benchmark_score(
                bench, result, normalization, rng, rounds
            )
    points = aggregate({k: np.asarray(v.score) for k, v in bench_scores.items()}, allow_partial=allow_partial)
    draws = aggregate(bench_rounds, allow_partial=allow_partial)
    ses: dict[str, float | None] = {k: v.stderr for k, v in bench_scores.items()}
    factors: dict[str, FactorScore] = {}
    for name in FACTOR_NAMES:
        # A factor's bootstrap CI is reported only if item-level data went into it; its rounds still feed
        # Overall (parametric draws for a factor with no per-item data at all).
        from_items = name == OVERALL or any(results.benchmarks[m].has_items for m in points[name].members)
        factors[name] = _factor_score(name, points[name], draws[name], ses, from_items)
        ses[name] = factors[name].stderr
    return ModelScore(
        results.model,
        bench_scores,
        factors,
        tuple(results.sources),
        tuple(results.notes),
        results.limit,
    )


def score_models(
    models: Sequence[ModelResults],
    *,
    allow_partial: bool = False,
    normalize: str | None = None,
    bootstrap: int = BOOTSTRAP_ROUNDS,
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
    bootstrap: int = BOOTSTRAP_ROUNDS,
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
