"""Style-bias audit: does a judge's overall score track style more than substance?

Per judge folder, every criterion is scored (point estimates, no bootstrap needed) and, across the judged
models, each criterion's score is correlated with the overall score (Pearson and Spearman). The paper
finds style ~ overall at R ~ 1.0 for all four judges. When SOS-Bench run folders are given, the judge's
overall score is also correlated with each factor score (WK, IF, Safety) of the same models, matched by
exact model name; a factor missing some of its benchmarks (incomplete) is left out for that model.

The baseline is left out: its score is 50 for every criterion by construction and says nothing about the
judge. So are rewritten answer sets (``<model>@<kind>`` from ``judge perturb``): they are interventions, not
models. A model without a score for a criterion or factor is left out of that correlation only. Output
layout (read by the report)::

    {"judges": [{"judge": str, "n_models": int,
                 "criteria": {criterion: {"pearson": float, "spearman": float, "n": int}},
                 "factors": {factor: {"pearson": float, "spearman": float, "n": int}},
                 "scores": {model: {criterion: float}}}],
     "notes": [str]}

A correlation that is undefined (fewer than 3 models, or a constant column) is ``null``, with ``why`` beside
it; ``notes`` (top level) names the models whose partial factors were left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sosbench.errors import SosbenchError
from sosbench.judge._battles import OVERALL_CRITERION
from sosbench.judge._scores import ALL_CRITERIA, PERTURBED_SEPARATOR, ScoreOptions, score_judgments


def correlation(x: Sequence[float | None], y: Sequence[float | None]) -> dict[str, float | int | str | None]:
    """Pearson and Spearman of paired values (None where undefined, and ``why`` says why)."""
    from scipy import stats

    pairs = [(a, b) for a, b in zip(x, y, strict=True) if _finite(a) is not None and _finite(b) is not None]
    result: dict[str, float | int | str | None] = {"pearson": None, "spearman": None, "n": len(pairs)}
    if len(pairs) < 3:
        result["why"] = f"{len(pairs)} model{'' if len(pairs) == 1 else 's'} with both scores, 3 needed"
        return result
    a, b = np.array(pairs).T
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        result["why"] = "every model has the same score, so nothing varies to correlate"
        return result
    result["pearson"] = float(stats.pearsonr(a, b)[0])
    result["spearman"] = float(stats.spearmanr(a, b)[0])
    return result


def factor_scores(run_paths: list[Path]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """SOS-Bench factor scores per model from run folders, through the scoring layer, and a note per model
    whose partial factors are left out."""
    try:
        from sosbench.scoring import score_paths
    except ImportError as exc:
        raise SosbenchError("--runs needs sosbench.scoring.score_paths, which this install lacks") from exc
    report = score_paths(run_paths, allow_partial=True, bootstrap=0)
    scores: dict[str, dict[str, float]] = {}
    notes = []
    for entry in report.models:
        partial = []
        for name, factor in entry.factors.items():
            value = _finite(factor.score)
            # a factor without a score, or averaged over only some of its benchmarks, is left out (not zero,
            # not a partial mean that would not be comparable with complete ones)
            if value is not None and getattr(factor, "complete", False):
                scores.setdefault(entry.model, {})[name] = value
            else:
                gap = f"misses {', '.join(factor.missing)}" if factor.missing else f"over {factor.partial}"
                partial.append(f"{name} ({gap})")
        if partial:
            notes.append(
                f"{entry.model}: {', '.join(partial)} left out of the factor correlations: a partial run's "
                "factor is a mean over other benchmarks, not comparable with complete ones"
            )
    return scores, notes


def _finite(value: object) -> float | None:
    """A score as float, or None when it is missing or not a finite number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def audit_judges(
    judgment_dirs: list[Path], baseline: str = "gpt-4-0314", run_paths: list[Path] | None = None
) -> dict:
    """The audit of each judge folder (see the module docstring for the layout)."""
    factors, notes = factor_scores(run_paths) if run_paths else ({}, [])
    judges = []
    for directory in judgment_dirs:
        board = score_judgments(directory, ScoreOptions(baseline=baseline, criteria=ALL_CRITERIA, rounds=0))
        per_model: dict[str, dict[str, float]] = {}
        for result in board.results:
            for model, score in result.as_dict().items():
                value = _finite(score)
                if model != baseline and PERTURBED_SEPARATOR not in model and value is not None:
                    per_model.setdefault(model, {})[result.criterion] = value
        models = sorted(per_model)
        overall = [per_model[m].get(OVERALL_CRITERION, math.nan) for m in models]
        criteria = {
            r.criterion: correlation([per_model[m].get(r.criterion, math.nan) for m in models], overall)
            for r in board.results
            if r.criterion != OVERALL_CRITERION
        }
        factor_names = sorted({f for scores in factors.values() for f in scores})
        factor_corr = {
            name: correlation([factors.get(m, {}).get(name, math.nan) for m in models], overall)
            for name in factor_names
        }
        judges.append(
            {
                "judge": board.judge,
                "n_models": len(models),
                "criteria": criteria,
                "factors": factor_corr,
                "scores": per_model,
            }
        )
    return {"judges": judges, "notes": notes}
