"""Paired, item-level comparison of two runs: "did the candidate really get better than the base?".

Both runs answered the same items, so their outcomes are correlated; resampling items *jointly*
(one index matrix for both models) keeps that correlation and gives a narrower, correct CI for the
difference than treating the runs as independent. Every row (benchmark, factor, Overall, judge) is
computed from the same seeded resamples carried through the one scoring formula (``scoring/_formula.py``:
the point difference is exactly the difference of the two `sosbench score` values), and its p-value is
adjusted across all rows of the comparison. docs/compare.md states the method.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from sosbench._defaults import PERMUTATIONS
from sosbench.analysis._judge_gain import DEFINITION, judge_only_gain
from sosbench.analysis._judge_side import JudgeSide, judge_side
from sosbench.analysis._paired import (
    ITEM_VIEW_LIMIT,
    Paired,
    Values,
    aggregate_values,
    benchmark_values,
    differing_items,
    pair_runs,
    read_run,
)
from sosbench.errors import SosbenchError
from sosbench.results import ModelResults, limit_text
from sosbench.scoring import (
    BATTLE_BOOTSTRAP,
    BOOTSTRAP_ROUNDS,
    OVERALL,
    PAIRED_BOOTSTRAP,
    check_normalization,
    percentile_ci,
)
from sosbench.suite import FACTORS

ADJUSTMENTS = ("holm", "bh", "none")
POWER = 0.80
CHUNK_ELEMENTS = 4_000_000
NO_CHANGE = "no detectable change"


@dataclass(frozen=True)
class Row:
    """One compared quantity (0-1 scale): difference candidate - base, its CIs, test and verdict."""

    name: str
    kind: str  # benchmark | factor | judge
    factor: str
    n: int
    base: float
    candidate: float
    diff: float
    ci: tuple[float, float]
    ci_unpaired: tuple[float, float] | None
    test: str
    p: float
    mde: float
    lost: int | None = None  # right before, wrong after (or: score went down)
    gained: int | None = None  # wrong before, right after (or: score went up)
    p_tost: float | None = None
    p_adjusted: float = float("nan")
    p_tost_adjusted: float | None = None
    verdict: str = ""
    ci_kind: str = PAIRED_BOOTSTRAP
    partial: str | None = None  # "2 of 10 benchmarks": a factor row over the benchmarks both runs have

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["ci"] = list(self.ci)
        out["ci_unpaired"] = list(self.ci_unpaired) if self.ci_unpaired else None
        return out


@dataclass(frozen=True)
class Comparison:
    base: str
    candidate: str
    rows: tuple[Row, ...]
    alpha: float
    adjust: str
    margin: float | None
    rounds: int
    seed: int
    notes: tuple[str, ...] = ()
    judge_only_gain: bool = False
    differing_items: tuple[dict[str, Any], ...] = ()  # the first ITEM_VIEW_LIMIT of them
    differing_total: int = 0  # how many items the two runs score differently, all of them
    normalize: str = "none"
    limit: int | float | None = None

    @property
    def summary(self) -> str:
        """The finding in one line, with what "no detectable change" can and cannot mean at this n."""
        parts = []
        for verdict in ("better", "worse", "equivalent"):
            names = [r.name for r in self.rows if r.verdict == verdict]
            if names:
                within = f" within {self.margin:g} points" if verdict == "equivalent" else ""
                parts.append(f"{verdict}{within}: {', '.join(names)}")
        same = self.differing_total == 0 and all(r.kind != "judge" for r in self.rows)
        if not any(r.verdict in ("better", "worse") for r in self.rows):
            parts.insert(
                0, "no row changed" + (": the two runs score every shared item the same" if same else "")
            )
        if self.limit is not None:
            parts[0] += f" ({limit_text(self.limit)})"
        undetected = [r.mde * 100 for r in self.rows if r.verdict == NO_CHANGE]
        if undetected and not same:
            # A row whose items all agree has no variability and an MDE of 0: it says nothing about n.
            spread = [m for m in undetected if m > 0] or undetected
            low, high = round(min(spread)), round(max(spread))
            span = f"{low}" if low == high else f"{low}-{high}"
            parts.append(
                f"{len(undetected)} of {len(self.rows)} rows no detectable change: at this n only changes "
                f"above ~{span} points are detectable; no detectable change is not evidence of no change"
            )
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "candidate": self.candidate,
            "summary": self.summary,
            "rows": [r.to_json() for r in self.rows],
            "alpha": self.alpha,
            "adjust": self.adjust,
            "equivalence_margin": self.margin,
            "bootstrap": self.rounds,
            "seed": self.seed,
            "normalize": self.normalize,
            "limit": self.limit,
            "items_per_task": limit_text(self.limit),
            "judge_only_gain": self.judge_only_gain,
            "items_scored_differently": self.differing_total,
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------- statistics


def _is_binary(p: Paired) -> bool:
    """One component of 0/1 items (one point each): the case exact McNemar covers."""
    if len(p.parts) != 1:
        return False
    b, c = p.parts[0].base, p.parts[0].cand
    values = np.concatenate([b.num, c.num])
    return bool(np.all(np.isin(values, (0.0, 1.0))) and b.den is None and c.den is None)


def _flips(p: Paired) -> tuple[int, int]:
    """Items that got worse and better (for 0/1 items: right->wrong, wrong->right), on the first component of
    each item set."""
    lost = gained = 0
    for parts in p.sets.values():
        before = parts[0].base.num / parts[0].base.denominators
        after = parts[0].cand.num / parts[0].cand.denominators
        lost += int(np.sum(after < before))
        gained += int(np.sum(after > before))
    return lost, gained


def _permutation_p(observed: float, null: np.ndarray) -> float:
    return float((1 + np.sum(np.abs(null) >= abs(observed) - 1e-12)) / (1 + len(null)))


def _tost_p(diff: float, se: float, margin: float) -> float:
    """Two one-sided tests of |difference| < margin, normal approximation with the paired bootstrap SE."""
    if se <= 0:
        return 0.0 if abs(diff) < margin else 1.0
    return float(max(stats.norm.sf((diff + margin) / se), stats.norm.cdf((diff - margin) / se)))


def adjust_pvalues(p: Sequence[float], method: str) -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) across a comparison's rows."""
    values = np.asarray(p, dtype=float)
    if method == "none" or len(values) == 0:
        return values
    if method == "bh":
        return stats.false_discovery_control(values, method="bh")
    if method != "holm":
        raise SosbenchError(f"unknown --adjust {method!r}: use {', '.join(ADJUSTMENTS)}")
    order = np.argsort(values)
    scaled = np.minimum(1.0, np.maximum.accumulate(values[order] * (len(values) - np.arange(len(values)))))
    out = np.empty_like(values)
    out[order] = scaled
    return out


def _mde(se: float, alpha: float) -> float:
    """Smallest true difference found with 80% power by a two-sided level-alpha test at this SE."""
    return float((stats.norm.isf(alpha / 2) + stats.norm.ppf(POWER)) * se)


def _row(
    name: str,
    kind: str,
    factor: str,
    n: int,
    v: Values,
    alpha: float,
    margin: float | None,
    test: tuple[str, float] | None = None,
    **extra: Any,
) -> Row:
    """A row from its values: the point difference, paired CI, p (permutation unless ``test`` gives one)."""
    base, cand = float(v.point[0]), float(v.point[1])
    diff = cand - base
    rounds = v.paired[1] - v.paired[0]
    se = float(np.std(rounds, ddof=1))
    name_of_test, p_value = test or ("paired permutation", _permutation_p(diff, v.null[1] - v.null[0]))
    return Row(
        name,
        kind,
        factor,
        n,
        base,
        cand,
        diff,
        percentile_ci(rounds),
        percentile_ci(v.unpaired[1] - v.unpaired[0]) if v.unpaired else None,
        name_of_test,
        p_value,
        _mde(se, alpha),
        p_tost=None if margin is None else _tost_p(diff, se, margin),
        **extra,
    )


def _benchmark_row(p: Paired, v: Values, alpha: float, margin: float | None) -> Row:
    lost, gained = _flips(p)
    test = None
    if _is_binary(p):
        discordant = lost + gained
        test = (
            "exact McNemar",
            1.0 if discordant == 0 else float(stats.binomtest(gained, discordant).pvalue),
        )
    return _row(
        p.bench.name, "benchmark", p.bench.factor, p.n, v, alpha, margin, test, lost=lost, gained=gained
    )


def _verdicts(rows: list[Row], alpha: float, adjust: str) -> list[Row]:
    adjusted = adjust_pvalues([r.p for r in rows], adjust)
    tost = [r.p_tost for r in rows if r.p_tost is not None]
    tost_adjusted = iter(adjust_pvalues(tost, adjust)) if tost else iter(())
    out = []
    for row, p_adj in zip(rows, adjusted, strict=True):
        p_tost_adj = None if row.p_tost is None else float(next(tost_adjusted))
        if p_adj < alpha:
            verdict = "better" if row.diff > 0 else "worse"
        elif p_tost_adj is not None and p_tost_adj < alpha:
            verdict = "equivalent"
        else:
            verdict = NO_CHANGE
        out.append(replace(row, p_adjusted=float(p_adj), p_tost_adjusted=p_tost_adj, verdict=verdict))
    return out


def _judge_row(judge: JudgeSide, alpha: float, margin: float | None) -> Row:
    d_r = (judge.cand_rounds - judge.base_rounds) / 100.0
    diff = (judge.candidate - judge.base) / 100.0
    se = float(np.std(d_r, ddof=1)) if len(d_r) > 1 else 0.0
    # Normal approximation with the bootstrap SE: percentile tails of a few hundred BT refits are too coarse.
    p_value = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else 1.0
    return Row(
        f"judge ({judge.judge})",
        "judge",
        "judge",
        judge.questions,
        judge.base / 100,
        judge.candidate / 100,
        diff,
        percentile_ci(d_r) if len(d_r) else (diff, diff),
        None,
        "bootstrap over battles",
        p_value,
        _mde(se, alpha),
        p_tost=None if margin is None else _tost_p(diff, se, margin),
        ci_kind=BATTLE_BOOTSTRAP,
    )


def _check_options(alpha: float, adjust: str, margin: float | None, rounds: int, permutations: int) -> None:
    if not 0 < alpha < 1:
        raise SosbenchError(f"--alpha must be between 0 and 1, not {alpha}")
    if margin is not None and margin <= 0:
        raise SosbenchError(f"--equivalence-margin must be positive (points), not {margin}")
    if adjust not in ADJUSTMENTS:
        raise SosbenchError(f"unknown --adjust {adjust!r}: use {', '.join(ADJUSTMENTS)}")
    if rounds < 100:
        raise SosbenchError(f"--bootstrap needs at least 100 rounds for a 95% CI, not {rounds}")
    if permutations < 100:
        raise SosbenchError(f"--permutations must be at least 100, not {permutations}")


def compare_runs(
    base: ModelResults,
    candidate: ModelResults,
    *,
    alpha: float = 0.05,
    adjust: str = "holm",
    margin: float | None = None,
    rounds: int = BOOTSTRAP_ROUNDS,
    permutations: int = PERMUTATIONS,
    seed: int = 0,
    judge: JudgeSide | None = None,
    allow_partial: bool = False,
    normalize: str | None = None,
    item_limit: int | None = ITEM_VIEW_LIMIT,
) -> Comparison:
    """Paired differences (candidate - base) per shared benchmark, per factor and Overall, and the judge's.

    The per-item view keeps the first ``item_limit`` (None: every) items scored differently, the judged
    questions first.
    """
    _check_options(alpha, adjust, margin, rounds, permutations)
    normalization = check_normalization(normalize)
    paired, notes = pair_runs(base, candidate)
    rng = np.random.default_rng(seed)
    margin01 = None if margin is None else margin / 100.0
    values = {p.bench.name: benchmark_values(p, rng, rounds, permutations, normalization) for p in paired}
    n = {p.bench.name: p.n for p in paired}
    rows = [_benchmark_row(p, values[p.bench.name], alpha, margin01) for p in paired]
    for name, (v, agg) in aggregate_values(values, allow_partial).items():
        unit = "factors" if name == OVERALL else "benchmarks"
        if v is None:
            if agg.missing:
                what = unit if len(agg.missing) > 1 else unit[:-1]
                notes.append(
                    f"{name}: {len(agg.missing)} {what} not in both runs ({', '.join(agg.missing)}), "
                    "no row (--allow-partial averages over the rest)"
                )
            continue
        n[name] = sum(n[m] for m in agg.members)
        partial = agg.partial_text(unit)
        if partial:
            notes.append(
                f"{name} is partial: over {partial} ({', '.join(agg.missing) or 'partial factors'} missing)"
            )
        rows.append(_row(name, "factor", name, n[name], v, alpha, margin01, partial=partial))
    if judge is not None:
        rows.append(_judge_row(judge, alpha, margin01))
    rows = _verdicts(rows, alpha, adjust)
    judge_row = next((r for r in rows if r.kind == "judge"), None)
    flagged = judge_row is not None and judge_only_gain(
        judge_row.ci, {r.name: r.ci for r in rows if r.kind == "factor" and r.name in FACTORS}
    )
    if flagged:
        notes.append(DEFINITION)
    judged = judge.items[:item_limit] if judge is not None else ()
    items, total = differing_items(paired, None if item_limit is None else item_limit - len(judged))
    return Comparison(
        base.model,
        candidate.model,
        tuple(rows),
        alpha,
        adjust,
        margin,
        rounds,
        seed,
        tuple(notes),
        flagged,
        judged + items,
        total + (len(judge.items) if judge is not None else 0),
        normalize=normalization,
        limit=base.limit,
    )


def compare_paths(
    base: Path,
    candidates: Sequence[Path],
    *,
    judgments: Path | None = None,
    baseline: str | None = None,
    **options: Any,
) -> list[Comparison]:
    """Each candidate against the base (one comparison each, p-values adjusted within it).

    ``baseline``: the judge's (``judge_side``: v0.1 default gpt-4-0314, v2.0 its category's own).
    """
    base_run = read_run(base)
    out = []
    for path in candidates:
        cand = read_run(path)
        side = None
        if judgments is not None:
            rounds, seed = options.get("rounds", BOOTSTRAP_ROUNDS), options.get("seed", 0)
            side = judge_side(judgments, base_run.model, cand.model, baseline, rounds, seed)
        out.append(compare_runs(base_run, cand, judge=side, **options))
    return out
