"""Scores: benchmarks on a 0-1 scale, factors (WK, IF, Safety) and Overall with 95% confidence intervals
(analytic from stderrs, and a seeded bootstrap over items), optional random-baseline normalisation."""

from sosbench.scoring._baselines import NORMALIZATIONS, answer_choices, normalize, random_baseline
from sosbench.scoring._bootstrap import component_rounds, percentile_ci
from sosbench.scoring._render import factor_cell, to_csv
from sosbench.scoring._score import (
    FACTOR_NAMES,
    OVERALL,
    BenchmarkScore,
    FactorScore,
    ModelScore,
    ScoreReport,
    score_model,
    score_models,
    score_paths,
)

__all__ = [
    "FACTOR_NAMES",
    "NORMALIZATIONS",
    "OVERALL",
    "BenchmarkScore",
    "FactorScore",
    "ModelScore",
    "ScoreReport",
    "answer_choices",
    "component_rounds",
    "factor_cell",
    "normalize",
    "percentile_ci",
    "random_baseline",
    "score_model",
    "score_models",
    "score_paths",
    "to_csv",
]
