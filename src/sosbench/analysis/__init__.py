"""Analyses over many models: judge-versus-factor correlations with bootstrap CIs, the paper's
recomputation from its artifacts (deltas, LiveBench roll-up, SFT data-size regressions)."""

from sosbench.analysis._artifacts import (
    ArenaScore,
    MappedModel,
    PaperData,
    artifacts_dir,
    load_mapping,
    load_paper,
    read_arena_hard,
)
from sosbench.analysis._correlation import Correlation, correlate, rowwise_kendall
from sosbench.analysis._paper import (
    ARENA,
    LIVEBENCH_AVERAGE,
    Delta,
    PaperAnalysis,
    Regression,
    RollupCheck,
    factor_value,
    judge_correlations,
    livebench_rollup,
    paper_analysis,
    po_deltas,
    size_regressions,
)

__all__ = [
    "ARENA",
    "LIVEBENCH_AVERAGE",
    "ArenaScore",
    "Correlation",
    "Delta",
    "MappedModel",
    "PaperAnalysis",
    "PaperData",
    "Regression",
    "RollupCheck",
    "artifacts_dir",
    "correlate",
    "factor_value",
    "judge_correlations",
    "livebench_rollup",
    "load_mapping",
    "load_paper",
    "paper_analysis",
    "po_deltas",
    "read_arena_hard",
    "rowwise_kendall",
    "size_regressions",
]
