"""Reproducing the paper's analyses from its artifacts: judge-vs-factor correlations, SFT-to-PO deltas,
the LiveBench roll-up check and the SFT data-size regression (protocol sections 4 and 5.3)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sosbench.analysis._artifacts import (
    LIVEBENCH_GROUPS,
    LIVEBENCH_TASKS,
    ArenaScore,
    MappedModel,
    PaperData,
    csv_rows,
    load_paper,
)
from sosbench.analysis._correlation import Correlation, correlate
from sosbench.analysis._judge_gain import judge_only_gain
from sosbench.results import livebench_benchmarks
from sosbench.scoring import (
    ANALYTIC,
    BOOTSTRAP_ROUNDS,
    FACTOR_NAMES,
    ModelScore,
    ScoreReport,
    score_models,
)

Z95 = 1.959963984540054
ARENA = "arena_hard"
LIVEBENCH_AVERAGE = "livebench_average"


@dataclass(frozen=True)
class Delta:
    """Change from an SFT checkpoint to its preference-optimised child (child minus parent)."""

    sft: str
    po: str
    method: str
    factors: dict[str, float | None]
    benchmarks: dict[str, float]
    arena_hard: float | None
    # Aggregates only (no per-item data in the artifacts), so the runs cannot be paired: analytic CIs of
    # the difference treat the two models as independent, se = sqrt(se_sft^2 + se_po^2).
    factor_ci: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    arena_hard_ci: tuple[float, float] | None = None

    @property
    def judge_only_gain(self) -> bool:
        """The judge-only gain (analysis/_judge_gain.py), on these analytic CIs."""
        return judge_only_gain(self.arena_hard_ci, self.factor_ci)

    def to_json(self) -> dict[str, Any]:
        return {
            "sft": self.sft,
            "po": self.po,
            "method": self.method,
            "factors": self.factors,
            "factor_ci": {f: list(ci) if ci else None for f, ci in self.factor_ci.items()},
            "ci_method": f"{ANALYTIC} (aggregates only: independent, not paired)",
            "arena_hard": self.arena_hard,
            "arena_hard_ci": list(self.arena_hard_ci) if self.arena_hard_ci else None,
            "judge_only_gain": self.judge_only_gain,
            "benchmarks": self.benchmarks,
        }


@dataclass(frozen=True)
class RollupCheck:
    """Whether livebench_groups.csv equals the means of livebench_tasks.csv (categories and average)."""

    n_models: int
    max_category_diff: float
    max_average_diff: float
    worst: tuple[str, str, float]
    tolerance: float
    skipped: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.max_category_diff <= self.tolerance and self.max_average_diff <= self.tolerance

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "n_models": self.n_models,
            "max_category_diff": self.max_category_diff,
            "max_average_diff": self.max_average_diff,
            "worst": list(self.worst),
            "tolerance": self.tolerance,
            "skipped": list(self.skipped),
            "aliases": self.aliases,
        }


@dataclass(frozen=True)
class Regression:
    """OLS of a factor score on log10(SFT examples) over the models whose SFT data size is known."""

    factor: str
    n: int
    slope: float
    intercept: float
    r2: float
    p_value: float
    points: tuple[tuple[str, float, float], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "factor": self.factor,
            "x": "log10(sft_examples)",
            "n": self.n,
            "slope": self.slope,
            "intercept": self.intercept,
            "r2": self.r2,
            "p_value": self.p_value,
            "points": [{"model": m, "sft_examples": x, "score": y} for m, x, y in self.points],
        }


@dataclass(frozen=True)
class PaperAnalysis:
    scores: ScoreReport
    data: PaperData
    correlations: list[Correlation]
    deltas: list[Delta]
    rollup: RollupCheck
    regressions: list[Regression]

    def to_json(self) -> dict[str, Any]:
        models = []
        for m in self.scores.models:
            entry = m.to_json()
            arena = self.data.arena_hard.get(m.model)
            entry["arena_hard"] = (
                {"score": arena.score, "ci_low": arena.low, "ci_high": arena.high} if arena else None
            )
            entry["livebench_average"] = self.data.livebench_average.get(m.model)
            models.append(entry)
        return {
            "models": models,
            "correlations": [c.to_json() for c in self.correlations],
            "deltas": [d.to_json() for d in self.deltas],
            "livebench_rollup": self.rollup.to_json(),
            "regressions": [r.to_json() for r in self.regressions],
            "mapping": [{k: v for k, v in vars(m).items() if v is not None} for m in self.data.mapping],
            "settings": {
                "bootstrap": self.scores.bootstrap,
                "seed": self.scores.seed,
                "normalize": self.scores.normalize,
            },
        }


def factor_value(model: ModelScore, factor: str) -> float | None:
    """A factor's score only when complete (incomplete factors never enter an analysis)."""
    f = model.factors[factor]
    return f.score if f.complete and f.score is not None else None


def judge_correlations(
    scores: list[ModelScore],
    judge: dict[str, float],
    extra: dict[str, dict[str, float]] | None = None,
    *,
    x_name: str = ARENA,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> list[Correlation]:
    """Judge score versus each complete factor (and any extra per-model series), over shared models."""
    out = []
    series: dict[str, dict[str, float]] = {
        f: {m.model: v for m in scores if (v := factor_value(m, f)) is not None} for f in FACTOR_NAMES
    }
    series.update(extra or {})
    for name, values in series.items():
        common = [m for m in values if m in judge]
        if len(common) < 3:
            continue
        out.append(
            correlate(
                [judge[m] for m in common],
                [values[m] for m in common],
                x_name=x_name,
                y_name=name,
                models=tuple(common),
                rounds=rounds,
                seed=seed,
            )
        )
    return out


def _difference_ci(se_a: float | None, se_b: float | None, diff: float | None) -> tuple[float, float] | None:
    if diff is None or se_a is None or se_b is None:
        return None
    half = Z95 * math.hypot(se_a, se_b)
    return diff - half, diff + half


def _arena_se(score: ArenaScore | None) -> float | None:
    """The Arena-Hard bootstrap interval read back as a standard error (width / 2 / 1.96)."""
    if score is None or score.low is None or score.high is None:
        return None
    return (score.high - score.low) / (2 * Z95)


def po_deltas(
    scores: list[ModelScore],
    mapping: list[MappedModel],
    arena: dict[str, float],
    arena_intervals: dict[str, ArenaScore] | None = None,
) -> list[Delta]:
    """SFT -> preference optimisation deltas for every mapped PO model whose SFT parent is mapped too.

    ``arena_intervals`` (the artifact's Arena-Hard rows) add a CI to the judge's difference.
    """
    by_name = {m.model: m for m in scores}
    out = []
    for entry in mapping:
        if entry.stage != "po" or not entry.sft_parent:
            continue
        child, parent = by_name.get(entry.model), by_name.get(entry.sft_parent)
        if child is None or parent is None:
            continue
        factors = {}
        for f in FACTOR_NAMES:
            a, b = factor_value(child, f), factor_value(parent, f)
            factors[f] = None if a is None or b is None else a - b
        benches = {
            k: child.benchmarks[k].score - parent.benchmarks[k].score
            for k in child.benchmarks
            if k in parent.benchmarks
        }
        judge = (
            arena[entry.model] - arena[entry.sft_parent]
            if entry.model in arena and entry.sft_parent in arena
            else None
        )
        factor_ci = {
            f: _difference_ci(child.factors[f].stderr, parent.factors[f].stderr, factors[f])
            for f in FACTOR_NAMES
        }
        intervals = arena_intervals or {}
        judge_ci = _difference_ci(
            _arena_se(intervals.get(entry.model)), _arena_se(intervals.get(entry.sft_parent)), judge
        )
        out.append(
            Delta(
                entry.sft_parent,
                entry.model,
                entry.po_method or "",
                factors,
                benches,
                judge,
                factor_ci,
                judge_ci,
            )
        )
    return out


def livebench_rollup(folder: Path, mapping: list[MappedModel], tolerance: float = 0.051) -> RollupCheck:
    """Recompute categories (mean of tasks) and averages (mean of categories) and compare with the groups CSV.

    Tolerance 0.051 points: the groups CSV rounds to one decimal (0.05) and the task CSV to three
    (0.0005). Rows named differently in the two CSVs are matched through the mapping's aliases (e.g.
    mistral-7b-lima / mistral-lima).
    """
    groups = {r["model"]: r for r in csv_rows(folder / LIVEBENCH_GROUPS)}
    tasks = {r["model"]: r for r in csv_rows(folder / LIVEBENCH_TASKS)}
    aliases = {
        m.livebench_groups: m.livebench_tasks
        for m in mapping
        if m.livebench_groups and m.livebench_tasks and m.livebench_groups != m.livebench_tasks
    }
    cats = {c: b.livebench.tasks for c, b in livebench_benchmarks().items()}  # type: ignore[union-attr]
    worst = ("", "", 0.0)
    max_cat = max_avg = 0.0
    skipped, checked = [], 0
    for model, grow in groups.items():
        trow = tasks.get(aliases.get(model, model))
        if trow is None or any(not (trow.get(t) or "").strip() for ts in cats.values() for t in ts):
            skipped.append(model)
            continue
        checked += 1
        recomputed = {c: float(np.mean([float(trow[t]) for t in ts])) for c, ts in cats.items()}
        diffs = {c: abs(v - float(grow[c])) for c, v in recomputed.items()}
        diffs["average"] = abs(float(np.mean(list(recomputed.values()))) - float(grow["average"]))
        max_cat = max(max_cat, *(d for c, d in diffs.items() if c != "average"))
        max_avg = max(max_avg, diffs["average"])
        column = max(diffs, key=lambda c: diffs[c])
        if diffs[column] > worst[2]:
            worst = (model, column, diffs[column])
    return RollupCheck(checked, max_cat, max_avg, worst, tolerance, tuple(skipped), aliases)


def size_regressions(scores: list[ModelScore], mapping: list[MappedModel]) -> list[Regression]:
    """Each factor on log10(SFT examples), over the SFT models whose data size the mapping records."""
    sized = {m.model: m.sft_examples for m in mapping if m.sft_examples and m.stage == "sft"}
    out = []
    for f in FACTOR_NAMES:
        points = [
            (m.model, float(sized[m.model]), v)
            for m in scores
            if m.model in sized and (v := factor_value(m, f)) is not None
        ]
        if len(points) < 3:
            continue
        x = np.log10([p[1] for p in points])
        y = np.asarray([p[2] for p in points])
        if np.ptp(x) == 0:
            continue
        fit = stats.linregress(x, y)
        out.append(
            Regression(
                f,
                len(points),
                float(fit.slope),
                float(fit.intercept),
                float(fit.rvalue**2),
                float(fit.pvalue),
                tuple(points),
            )
        )
    return out


def paper_analysis(
    *,
    bootstrap: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
    normalize: str | None = None,
    folder: Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> PaperAnalysis:
    """Everything `sosbench paper` prints, recomputed from the artifacts."""
    step = on_step or (lambda _msg: None)
    step("reading the artifacts")
    data = load_paper(folder)
    step("scoring the artifact models")
    scores = score_models(data.models, normalize=normalize, bootstrap=bootstrap, seed=seed)
    arena = {m: a.score for m, a in data.arena_hard.items()}
    step("correlating Arena-Hard with the factors (bootstrap over models)")
    correlations = judge_correlations(
        scores.models, arena, {LIVEBENCH_AVERAGE: data.livebench_average}, rounds=bootstrap, seed=seed
    )
    step("deltas, LiveBench roll-up and data-size regressions")
    return PaperAnalysis(
        scores,
        data,
        correlations,
        po_deltas(scores.models, data.mapping, arena, data.arena_hard),
        livebench_rollup(data.folder, data.mapping),
        size_regressions(scores.models, data.mapping),
    )
