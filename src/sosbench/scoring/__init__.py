"""Scores: benchmarks on a 0-1 scale, factors (WK, IF, Safety) and Overall with 95% confidence intervals
(analytic from stderrs, and a seeded bootstrap over items), optional random-baseline normalisation.

The formula is ``scoring/_formula.py``, over arrays of bootstrap rounds: `score` applies it to independent
resamples, `compare` (sosbench.analysis) to paired ones.
"""

from sosbench._defaults import BOOTSTRAP_ROUNDS
from sosbench.scoring._baselines import (
    NORMALIZATIONS,
    answer_choices,
    check_normalization,
    normalize,
    random_baseline,
)
from sosbench.scoring._bootstrap import component_rounds, percentile_ci, resample_means
from sosbench.scoring._formula import (
    ANALYTIC,
    BATTLE_BOOTSTRAP,
    FACTOR_NAMES,
    ITEM_BOOTSTRAP,
    MODEL_BOOTSTRAP,
    OVERALL,
    PAIRED_BOOTSTRAP,
    Aggregate,
    aggregate,
    benchmark_value,
    factor_members,
)
from sosbench.scoring._render import factor_cell, to_csv
from sosbench.scoring._score import (
    BenchmarkScore,
    FactorScore,
    ModelScore,
    ScoreReport,
    score_model,
    score_models,
    score_paths,
)

__all__ = [
    "ANALYTIC",
    "BATTLE_BOOTSTRAP",
    "BOOTSTRAP_ROUNDS",
    "FACTOR_NAMES",
    "ITEM_BOOTSTRAP",
    "MODEL_BOOTSTRAP",
    "NORMALIZATIONS",
    "OVERALL",
    "PAIRED_BOOTSTRAP",
    "Aggregate",
    "BenchmarkScore",
    "FactorScore",
    "ModelScore",
    "ScoreReport",
    "aggregate",
    "answer_choices",
    "benchmark_value",
    "check_normalization",
    "component_rounds",
    "factor_cell",
    "factor_members",
    "normalize",
    "percentile_ci",
    "random_baseline",
    "resample_means",
    "score_model",
    "score_models",
    "score_paths",
    "to_csv",
]
